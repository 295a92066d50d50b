package storetest

import (
	"encoding/json"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func testApplications(t *testing.T, s store.Store) {
	ctx := t.Context()
	envA, envB := newEnv(t, s), newEnv(t, s)
	a1 := newApp(t, s, envA.ID, "Worker")
	a2 := mkApp(envA.ID, "Portal")
	a2.Type, a2.Enabled, a2.TokenEndpointAuthMethod, a2.SecretSealed, a2.Data = "SINGLE_PAGE_APP", false, "NONE", nil, nil
	must(t, s.CreateApplication(ctx, a2), "CreateApplication without a secret")
	b1 := newApp(t, s, envB.ID, "Worker")

	for _, want := range []*store.Application{a1, a2, b1} {
		got, err := s.GetApplication(ctx, want.EnvironmentID, want.ID)
		must(t, err, "GetApplication")
		checkRecord(t, "GetApplication", got, want)
	}

	list, err := s.ListApplications(ctx, envA.ID)
	must(t, err, "ListApplications(A)")
	checkSet(t, "ListApplications(A)", list, *a1, *a2)
	list, err = s.ListApplications(ctx, envB.ID)
	must(t, err, "ListApplications(B)")
	checkSet(t, "ListApplications(B)", list, *b1)

	upd := *a1
	upd.Name, upd.Protocol, upd.Type, upd.Enabled = "Worker 2", "OPENID_CONNECT", "WEB_APP", false
	upd.TokenEndpointAuthMethod = "CLIENT_SECRET_POST"
	upd.SecretSealed = []byte{0xff, 0x00, 'r', 'o', 't', 'a', 't', 'e', 'd'}
	upd.Data = json.RawMessage(`{"grantTypes":["AUTHORIZATION_CODE"],"redirectUris":["https://app.example.com/cb"]}`)
	upd.UpdatedAt = now().Add(time.Minute)
	must(t, s.UpdateApplication(ctx, &upd), "UpdateApplication")
	got, err := s.GetApplication(ctx, envA.ID, a1.ID)
	must(t, err, "GetApplication after update")
	checkRecord(t, "GetApplication after update", got, upd)

	_, err = s.GetApplication(ctx, envA.ID, newID())
	wantErr(t, err, store.ErrNotFound, "GetApplication(unknown)")
	wantErr(t, s.UpdateApplication(ctx, mkApp(envA.ID, "Ghost")), store.ErrNotFound, "UpdateApplication(unknown)")
	wantErr(t, s.DeleteApplication(ctx, envA.ID, newID()), store.ErrNotFound, "DeleteApplication(unknown)")
	wantErr(t, s.CreateApplication(ctx, mkApp(newID(), "Orphan")), store.ErrReferenced, "CreateApplication in an unknown environment")

	must(t, s.DeleteApplication(ctx, envA.ID, a1.ID), "DeleteApplication")
	_, err = s.GetApplication(ctx, envA.ID, a1.ID)
	wantErr(t, err, store.ErrNotFound, "GetApplication after delete")
	wantErr(t, s.DeleteApplication(ctx, envA.ID, a1.ID), store.ErrNotFound, "DeleteApplication twice")
	list, err = s.ListApplications(ctx, envA.ID)
	must(t, err, "ListApplications after delete")
	checkSet(t, "ListApplications after delete", list, *a2)
}

func testApplicationIsolation(t *testing.T, s store.Store) {
	ctx := t.Context()
	envA, envB := newEnv(t, s), newEnv(t, s)
	a := newApp(t, s, envA.ID, "Worker")

	_, err := s.GetApplication(ctx, envB.ID, a.ID)
	wantErr(t, err, store.ErrNotFound, "GetApplication(envB, id of envA)")
	hijack := *a
	hijack.EnvironmentID, hijack.Name, hijack.SecretSealed = envB.ID, "Hijacked", []byte("stolen")
	wantErr(t, s.UpdateApplication(ctx, &hijack), store.ErrNotFound, "UpdateApplication(envB, id of envA)")
	wantErr(t, s.DeleteApplication(ctx, envB.ID, a.ID), store.ErrNotFound, "DeleteApplication(envB, id of envA)")

	got, err := s.GetApplication(ctx, envA.ID, a.ID)
	must(t, err, "GetApplication after foreign writes")
	checkRecord(t, "application after foreign writes", got, a)
	list, err := s.ListApplications(ctx, envB.ID)
	must(t, err, "ListApplications(B)")
	checkSet(t, "ListApplications(B)", list)
}

func testApplicationDeleteRoleAssignments(t *testing.T, s store.Store) {
	ctx := t.Context()
	env := newEnv(t, s)
	doomed := newApp(t, s, env.ID, "Doomed")
	kept := newApp(t, s, env.ID, "Kept")
	ra1 := newRA(t, s, env.ID, doomed.ID, "role-env-admin", "ENVIRONMENT", env.ID)
	ra2 := newRA(t, s, env.ID, doomed.ID, "role-org-admin", "ORGANIZATION", env.OrganizationID)
	raKept := newRA(t, s, env.ID, kept.ID, "role-env-admin", "ENVIRONMENT", env.ID)

	must(t, s.DeleteApplication(ctx, env.ID, doomed.ID), "DeleteApplication")
	for _, ra := range []*store.RoleAssignment{ra1, ra2} {
		_, err := s.GetRoleAssignment(ctx, env.ID, doomed.ID, ra.ID)
		wantErr(t, err, store.ErrNotFound, "GetRoleAssignment of a deleted application")
	}
	list, err := s.ListRoleAssignments(ctx, env.ID, doomed.ID)
	must(t, err, "ListRoleAssignments of a deleted application")
	checkSet(t, "ListRoleAssignments of a deleted application", list)

	list, err = s.ListRoleAssignments(ctx, env.ID, kept.ID)
	must(t, err, "ListRoleAssignments of the other application")
	checkSet(t, "ListRoleAssignments of the other application", list, *raKept)

	// The same grants can be made again (the unique key is free).
	newRA(t, s, env.ID, doomed.ID, "role-env-admin", "ENVIRONMENT", env.ID)
}

func testRoleAssignments(t *testing.T, s store.Store) {
	ctx := t.Context()
	envA, envB := newEnv(t, s), newEnv(t, s)
	actor := newApp(t, s, envA.ID, "Worker")
	other := newApp(t, s, envA.ID, "Other")

	ra1 := newRA(t, s, envA.ID, actor.ID, "role-env-admin", "ENVIRONMENT", envA.ID)
	ra2 := mkRA(envA.ID, actor.ID, "role-identity-admin", "POPULATION", newID())
	ra2.ActorType, ra2.ReadOnly = "USER", true
	must(t, s.CreateRoleAssignment(ctx, ra2), "CreateRoleAssignment read-only")
	// The same role over another scope is another assignment.
	ra3 := newRA(t, s, envA.ID, actor.ID, "role-env-admin", "ENVIRONMENT", envB.ID)
	raOther := newRA(t, s, envA.ID, other.ID, "role-env-admin", "ENVIRONMENT", envA.ID)

	for _, want := range []*store.RoleAssignment{ra1, ra2, ra3, raOther} {
		got, err := s.GetRoleAssignment(ctx, want.EnvironmentID, want.ActorID, want.ID)
		must(t, err, "GetRoleAssignment")
		checkRecord(t, "GetRoleAssignment", got, want)
	}
	list, err := s.ListRoleAssignments(ctx, envA.ID, actor.ID)
	must(t, err, "ListRoleAssignments")
	checkSet(t, "ListRoleAssignments", list, *ra1, *ra2, *ra3)
	list, err = s.ListRoleAssignments(ctx, envB.ID, actor.ID)
	must(t, err, "ListRoleAssignments(envB, actor of envA)")
	checkSet(t, "ListRoleAssignments(envB, actor of envA)", list)

	dup := mkRA(envA.ID, actor.ID, "role-env-admin", "ENVIRONMENT", envA.ID)
	wantErr(t, s.CreateRoleAssignment(ctx, dup), store.ErrConflict, "CreateRoleAssignment duplicate")
	wantErr(t, s.CreateRoleAssignment(ctx, mkRA(newID(), actor.ID, "r", "ENVIRONMENT", envA.ID)), store.ErrReferenced, "CreateRoleAssignment in an unknown environment")

	_, err = s.GetRoleAssignment(ctx, envA.ID, other.ID, ra1.ID)
	wantErr(t, err, store.ErrNotFound, "GetRoleAssignment with another actor")
	_, err = s.GetRoleAssignment(ctx, envB.ID, actor.ID, ra1.ID)
	wantErr(t, err, store.ErrNotFound, "GetRoleAssignment with another environment")
	wantErr(t, s.DeleteRoleAssignment(ctx, envA.ID, other.ID, ra1.ID), store.ErrNotFound, "DeleteRoleAssignment with another actor")
	wantErr(t, s.DeleteRoleAssignment(ctx, envB.ID, actor.ID, ra1.ID), store.ErrNotFound, "DeleteRoleAssignment with another environment")
	wantErr(t, s.DeleteRoleAssignment(ctx, envA.ID, actor.ID, newID()), store.ErrNotFound, "DeleteRoleAssignment(unknown)")

	must(t, s.DeleteRoleAssignment(ctx, envA.ID, actor.ID, ra1.ID), "DeleteRoleAssignment")
	_, err = s.GetRoleAssignment(ctx, envA.ID, actor.ID, ra1.ID)
	wantErr(t, err, store.ErrNotFound, "GetRoleAssignment after delete")
	wantErr(t, s.DeleteRoleAssignment(ctx, envA.ID, actor.ID, ra1.ID), store.ErrNotFound, "DeleteRoleAssignment twice")
	list, err = s.ListRoleAssignments(ctx, envA.ID, actor.ID)
	must(t, err, "ListRoleAssignments after delete")
	checkSet(t, "ListRoleAssignments after delete", list, *ra2, *ra3)
	// With the first gone, the grant may be made again.
	must(t, s.CreateRoleAssignment(ctx, dup), "CreateRoleAssignment after the duplicate was deleted")
}

// withDevicePath is app with devicePathId path in its data, as the
// management API writes it.
func withDevicePath(t *testing.T, app *store.Application, path string) *store.Application {
	t.Helper()
	var d map[string]any
	must(t, json.Unmarshal(app.Data, &d), "application data")
	d["devicePathId"] = path
	b, err := json.Marshal(d)
	must(t, err, "application data")
	app.Data = b
	return app
}

// testApplicationDevicePath: a devicePathId is unique in its environment
// (a UniqueError on devicePathId, and nothing written); another
// environment may use it, applications without one never clash, and a
// path given up is free again.
func testApplicationDevicePath(t *testing.T, s store.Store) {
	ctx := t.Context()
	envA, envB := newEnv(t, s), newEnv(t, s)
	tv := withDevicePath(t, mkApp(envA.ID, "TV"), "tv")
	must(t, s.CreateApplication(ctx, tv), "CreateApplication with a devicePathId")
	plainA, plainB := newApp(t, s, envA.ID, "Plain"), newApp(t, s, envA.ID, "Plain too") // neither has one
	must(t, s.CreateApplication(ctx, withDevicePath(t, mkApp(envB.ID, "TV"), "tv")), "the same devicePathId in another environment")

	wantUnique(t, s.CreateApplication(ctx, withDevicePath(t, mkApp(envA.ID, "Copy"), "tv")), "application", "devicePathId", "CreateApplication with a taken devicePathId")
	taker := *plainA
	withDevicePath(t, &taker, "tv")
	wantUnique(t, s.UpdateApplication(ctx, &taker), "application", "devicePathId", "UpdateApplication to a taken devicePathId")
	// The path's case is its own: "TV" is another path.
	must(t, s.CreateApplication(ctx, withDevicePath(t, mkApp(envA.ID, "Upper"), "TV")), "CreateApplication with the devicePathId in capitals")

	list, err := s.ListApplications(ctx, envA.ID)
	must(t, err, "ListApplications")
	if len(list) != 4 {
		t.Fatalf("%d applications after the refused writes, want 4", len(list))
	}
	got, err := s.GetApplication(ctx, envA.ID, plainA.ID)
	must(t, err, "GetApplication")
	checkRecord(t, "application whose update was refused", got, plainA)

	// An application keeps its own path when written again.
	again := *tv
	again.Name = "TV 2"
	must(t, s.UpdateApplication(ctx, &again), "UpdateApplication keeping its devicePathId")
	// Given up, the path is free for another.
	must(t, s.UpdateApplication(ctx, withDevicePath(t, &again, "tv-old")), "UpdateApplication to another devicePathId")
	must(t, s.UpdateApplication(ctx, &taker), "UpdateApplication to a freed devicePathId")
	must(t, s.DeleteApplication(ctx, envA.ID, taker.ID), "DeleteApplication")
	must(t, s.UpdateApplication(ctx, withDevicePath(t, plainB, "tv")), "UpdateApplication to a devicePathId freed by a delete")
}

// testApplicationDevicePathRace: two transactions that give one
// devicePathId to two applications: the second waits for the first (on
// PostgreSQL, on the unique index) and then fails with a UniqueError,
// writing nothing; so do many concurrent creates but one.
func testApplicationDevicePathRace(t *testing.T, s store.Store) {
	ctx := t.Context()
	env := newEnv(t, s)
	first, second := newApp(t, s, env.ID, "First"), newApp(t, s, env.ID, "Second")
	wrote, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	defer free() // a failed check must not leave the first transaction open
	errs := make(chan error, 1)
	go func() {
		errs <- s.Tx(ctx, func(tx store.Store) error {
			up := *first
			if err := tx.UpdateApplication(ctx, withDevicePath(t, &up, "tv")); err != nil {
				close(wrote)
				return err
			}
			close(wrote)
			<-release // hold the transaction open while the other writes
			return nil
		})
	}()
	<-wrote
	secondDone := make(chan error, 1)
	go func() {
		secondDone <- s.Tx(ctx, func(tx store.Store) error {
			up := *second
			up.Name = "Second, renamed"
			if err := tx.UpdateApplication(ctx, withDevicePath(t, &up, "tv")); err != nil {
				return err
			}
			// Written only if the path was free: a half-done write must not
			// survive the refusal.
			return tx.CreateRoleAssignment(ctx, mkRA(env.ID, second.ID, "role-env-admin", "ENVIRONMENT", env.ID))
		})
	}()
	select {
	case err := <-secondDone:
		t.Fatalf("the second transaction ended (%v) before the first committed", err)
	case <-time.After(300 * time.Millisecond):
	}
	free()
	must(t, <-errs, "the first transaction")
	wantUnique(t, <-secondDone, "application", "devicePathId", "the second transaction")
	got, err := s.GetApplication(ctx, env.ID, second.ID)
	must(t, err, "GetApplication")
	checkRecord(t, "the losing application", got, second)
	ras, err := s.ListRoleAssignments(ctx, env.ID, second.ID)
	must(t, err, "ListRoleAssignments")
	checkSet(t, "the losing transaction's role assignments", ras)

	const n = 10
	start := make(chan struct{})
	created := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			created[i] = s.CreateApplication(ctx, withDevicePath(t, mkApp(env.ID, "Racer"), "racer"))
		})
	}
	close(start)
	wg.Wait()
	won := 0
	for i, err := range created {
		if err == nil {
			won++
			continue
		}
		wantUnique(t, err, "application", "devicePathId", "racer "+strconv.Itoa(i))
	}
	if won != 1 {
		t.Errorf("%d racers took the devicePathId, want exactly 1", won)
	}
	list, err := s.ListApplications(ctx, env.ID)
	must(t, err, "ListApplications")
	if len(list) != 3 {
		t.Errorf("%d applications after the race, want 3", len(list))
	}
}
