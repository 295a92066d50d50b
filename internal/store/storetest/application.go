package storetest

import (
	"encoding/json"
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
