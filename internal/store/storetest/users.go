package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// testUserSuite runs the users' and passwords' conformance tests. Each
// works in environments of its own, so they share the suite's store.
func testUserSuite(t *testing.T, s store.Store) {
	for _, tc := range []struct {
		name string
		run  func(*testing.T, store.Store)
	}{
		{"Users", testUsers},
		{"UserUniqueness", testUserUniqueness},
		{"UserIsolation", testUserIsolation},
		{"UserPaging", testUserPaging},
		{"UserPopulationRestriction", testUserPopulationRestriction},
		{"UserPopulations", testUserPopulations},
		{"UserEnvironmentDelete", testUserEnvironmentDelete},
		{"UserAccount", testUserAccount},
		{"UserPasswords", testUserPasswords},
		{"PasswordFailures", testPasswordFailures},
		{"FailureCounts", testFailureCounts},
		{"ConcurrentUsernames", testConcurrentUsernames},
		{"ConcurrentPasswordFailures", testConcurrentPasswordFailures},
		{"UserTx", testUserTx},
		{"UserLookups", testUserLookups},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, s) })
	}
}

func mkUser(envID, popID, username string) *store.User {
	ts := now()
	return &store.User{
		ID: newID(), EnvironmentID: envID, PopulationID: popID, Username: username,
		Email: username + "@Example.com", GivenName: "Given-" + username, FamilyName: "Family-" + username, ExternalID: "ext-" + username,
		Enabled: true, AccountStatus: "OK", LifecycleStatus: "ACCOUNT_OK", IdentityProviderType: "PING_ONE", VerifyStatus: "NOT_INITIATED",
		Data:      json.RawMessage(`{"name":{"middle":"Q","formatted":"Mr Q"},"address":{"countryCode":"US"},"custom":{"accountId":"5","tags":["a","b"]}}`),
		CreatedAt: ts, UpdatedAt: ts,
	}
}

func newUser(t *testing.T, s store.Store, envID, popID, username string) *store.User {
	t.Helper()
	u := mkUser(envID, popID, username)
	must(t, s.CreateUser(t.Context(), u), "CreateUser "+username)
	return u
}

// envWithPop is an environment with one population, as users need.
func envWithPop(t *testing.T, s store.Store) (*store.Environment, *store.Population) {
	t.Helper()
	e := newEnv(t, s)
	return e, newPopulation(t, s, e.ID, "Staff")
}

func testUsers(t *testing.T, s store.Store) {
	ctx := t.Context()
	e, pop := envWithPop(t, s)
	pop2 := newPopulation(t, s, e.ID, "Contractors")
	u := newUser(t, s, e.ID, pop.ID, "Alice")
	bare := &store.User{ID: newID(), EnvironmentID: e.ID, PopulationID: pop.ID, Username: "bob", AccountStatus: "OK",
		LifecycleStatus: "ACCOUNT_OK", IdentityProviderType: "PING_ONE", VerifyStatus: "NOT_INITIATED", CreatedAt: now(), UpdatedAt: now()}
	must(t, s.CreateUser(ctx, bare), "CreateUser without optional fields")

	for _, want := range []*store.User{u, bare} {
		got, err := s.GetUser(ctx, e.ID, want.ID)
		must(t, err, "GetUser")
		checkRecord(t, "GetUser", got, want)
	}
	for _, name := range []string{"Alice", "alice", "ALICE"} {
		got, err := s.GetUserByUsername(ctx, e.ID, name)
		must(t, err, "GetUserByUsername "+name)
		checkRecord(t, "GetUserByUsername "+name, got, u)
	}
	_, err := s.GetUserByUsername(ctx, e.ID, "Alic")
	wantErr(t, err, store.ErrNotFound, "GetUserByUsername(prefix)")

	list, total, err := s.ListUsers(ctx, e.ID, store.Page{})
	must(t, err, "ListUsers")
	if total != 2 {
		t.Errorf("ListUsers total = %d, want 2", total)
	}
	checkSet(t, "ListUsers", list, *u, *bare)

	upd := *u
	upd.PopulationID, upd.Username, upd.Email, upd.GivenName, upd.FamilyName, upd.ExternalID = pop2.ID, "alice.renamed", "", "Ally", "", ""
	upd.Enabled, upd.LifecycleStatus, upd.IdentityProviderType, upd.IdentityProviderID = false, "VERIFICATION_REQUIRED", "OPENID_CONNECT", newID()
	upd.MFAEnabled, upd.VerifyStatus, upd.Data = true, "ENABLED", json.RawMessage(`{"title":"Manager"}`)
	upd.UpdatedAt = now().Add(time.Minute)
	// UpdateUser leaves the account lock alone, whatever the record says.
	upd.AccountStatus, upd.LockedAt = "LOCKED", now()
	must(t, s.UpdateUser(ctx, &upd), "UpdateUser")
	got, err := s.GetUser(ctx, e.ID, u.ID)
	must(t, err, "GetUser after update")
	upd.AccountStatus, upd.LockedAt = "OK", time.Time{}
	checkRecord(t, "GetUser after update", got, upd)
	_, err = s.GetUserByUsername(ctx, e.ID, "Alice")
	wantErr(t, err, store.ErrNotFound, "GetUserByUsername(old name)")
	if _, err := s.GetUserByUsername(ctx, e.ID, "ALICE.RENAMED"); err != nil {
		t.Errorf("GetUserByUsername(new name): %v", err)
	}

	_, err = s.GetUser(ctx, e.ID, newID())
	wantErr(t, err, store.ErrNotFound, "GetUser(unknown)")
	wantErr(t, s.UpdateUser(ctx, mkUser(e.ID, pop.ID, "ghost")), store.ErrNotFound, "UpdateUser(unknown)")
	wantErr(t, s.DeleteUser(ctx, e.ID, newID()), store.ErrNotFound, "DeleteUser(unknown)")
	wantErr(t, s.CreateUser(ctx, mkUser(newID(), pop.ID, "orphan")), store.ErrReferenced, "CreateUser in an unknown environment")
	wantErr(t, s.CreateUser(ctx, mkUser(e.ID, newID(), "homeless")), store.ErrReferenced, "CreateUser in an unknown population")
	moved := *bare
	moved.PopulationID = newID()
	wantErr(t, s.UpdateUser(ctx, &moved), store.ErrReferenced, "UpdateUser to an unknown population")

	must(t, s.DeleteUser(ctx, e.ID, u.ID), "DeleteUser")
	_, err = s.GetUser(ctx, e.ID, u.ID)
	wantErr(t, err, store.ErrNotFound, "GetUser after delete")
	wantErr(t, s.DeleteUser(ctx, e.ID, u.ID), store.ErrNotFound, "DeleteUser twice")
	list, total, err = s.ListUsers(ctx, e.ID, store.Page{})
	must(t, err, "ListUsers after delete")
	if total != 1 {
		t.Errorf("ListUsers total after delete = %d, want 1", total)
	}
	checkSet(t, "ListUsers after delete", list, *bare)
}

func testUserUniqueness(t *testing.T, s store.Store) {
	ctx := t.Context()
	eA, popA := envWithPop(t, s)
	eB, popB := envWithPop(t, s)
	newUser(t, s, eA.ID, popA.ID, "Joe.Smith")
	for _, name := range []string{"joe.smith", "JOE.SMITH", "Joe.Smith"} {
		wantUnique(t, s.CreateUser(ctx, mkUser(eA.ID, popA.ID, name)), "user", "username", "CreateUser "+name+" after Joe.Smith")
	}
	newUser(t, s, eB.ID, popB.ID, "joe.smith") // another environment may use the name

	other := newUser(t, s, eA.ID, popA.ID, "other")
	taken := *other
	taken.Username = "JOE.smith"
	wantUnique(t, s.UpdateUser(ctx, &taken), "user", "username", "UpdateUser to a taken username")
	self := *other
	self.Username = "OTHER" // a user may change the case of its own name
	must(t, s.UpdateUser(ctx, &self), "UpdateUser changing case")
}

func testUserIsolation(t *testing.T, s store.Store) {
	ctx := t.Context()
	eA, popA := envWithPop(t, s)
	eB, popB := envWithPop(t, s)
	ua := newUser(t, s, eA.ID, popA.ID, "same")
	ub := newUser(t, s, eB.ID, popB.ID, "same")

	_, err := s.GetUser(ctx, eB.ID, ua.ID)
	wantErr(t, err, store.ErrNotFound, "GetUser(A's user under B)")
	got, err := s.GetUserByUsername(ctx, eB.ID, "same")
	must(t, err, "GetUserByUsername in B")
	if got.ID != ub.ID {
		t.Errorf("GetUserByUsername in B found %s, want B's %s", got.ID, ub.ID)
	}
	hijack := *ua
	hijack.EnvironmentID, hijack.Username = eB.ID, "hijacked"
	wantErr(t, s.UpdateUser(ctx, &hijack), store.ErrNotFound, "UpdateUser(A's user under B)")
	wantErr(t, s.UpdateUserAccount(ctx, eB.ID, ua.ID, "LOCKED", now(), time.Time{}, now()), store.ErrNotFound, "UpdateUserAccount(A's user under B)")
	wantErr(t, s.DeleteUser(ctx, eB.ID, ua.ID), store.ErrNotFound, "DeleteUser(A's user under B)")
	got, err = s.GetUser(ctx, eA.ID, ua.ID)
	must(t, err, "GetUser(A's user) after B's attempts")
	checkRecord(t, "A's user after B's attempts", got, ua)

	list, total, err := s.ListUsers(ctx, eA.ID, store.Page{Filter: filter(t, `username eq "same"`)})
	must(t, err, "ListUsers A")
	if total != 1 || len(list) != 1 || list[0].ID != ua.ID {
		t.Errorf("ListUsers(A, username same) = %v (total %d), want only A's", ids(list), total)
	}
	list, _, err = s.ListUsers(ctx, eA.ID, store.Page{IDs: []string{ub.ID}})
	must(t, err, "ListUsers A by B's id")
	if len(list) != 0 {
		t.Errorf("ListUsers(A, ids [B's user]) = %v, want none", ids(list))
	}

	// Passwords too.
	pw := mkPassword(eA.ID, ua.ID)
	must(t, s.PutUserPassword(ctx, pw), "PutUserPassword A")
	_, err = s.GetUserPassword(ctx, eB.ID, ua.ID)
	wantErr(t, err, store.ErrNotFound, "GetUserPassword(A's user under B)")
	cross := mkPassword(eB.ID, ua.ID)
	wantErr(t, s.PutUserPassword(ctx, cross), store.ErrNotFound, "PutUserPassword(A's user under B)")
	_, err = s.RecordPasswordFailure(ctx, eB.ID, ua.ID, 5, time.Minute, 0, now())
	wantErr(t, err, store.ErrNotFound, "RecordPasswordFailure(A's user under B)")
	got2, err := s.GetUserPassword(ctx, eA.ID, ua.ID)
	must(t, err, "GetUserPassword A")
	checkPassword(t, "A's password after B's attempts", got2, pw)
}

func testUserPaging(t *testing.T, s store.Store) {
	ctx := t.Context()
	e, pop := envWithPop(t, s)
	var all []string
	byName := map[string]*store.User{}
	for _, name := range []string{"anna", "annabel", "bert", "Anne", "carl", "annika"} {
		u := newUser(t, s, e.ID, pop.ID, name)
		all = append(all, u.ID)
		byName[name] = u
	}
	slices.Sort(all)
	other, otherPop := envWithPop(t, s)
	newUser(t, s, other.ID, otherPop.ID, "anna")

	var seen []string
	p := store.Page{Limit: 4}
	for range 3 {
		items, total, err := s.ListUsers(ctx, e.ID, p)
		must(t, err, "ListUsers page")
		if total != 6 {
			t.Errorf("ListUsers page total = %d, want 6", total)
		}
		if len(items) == 0 {
			break
		}
		seen = append(seen, ids(items)...)
		p.After = items[len(items)-1].ID
	}
	if !slices.Equal(seen, all) {
		t.Errorf("paging collected %v, want %v", seen, all)
	}

	// The lower-cased columns filters use.
	for _, c := range []struct {
		filter string
		want   []string
	}{
		{`username sw "ann"`, []string{"anna", "annabel", "Anne", "annika"}},
		{`email eq "bert@example.com"`, []string{"bert"}},
		{`name.given eq "given-anne"`, []string{"Anne"}},
		{`name.family eq "family-carl"`, []string{"carl"}},
		{`externalId eq "ext-annika"`, []string{"annika"}},
		{`population.id eq "` + pop.ID + `" and enabled eq true`, []string{"anna", "annabel", "bert", "Anne", "carl", "annika"}},
		{`account.status eq "LOCKED"`, nil},
		{`createdAt ge "` + time.Now().Add(-time.Hour).Format(time.RFC3339Nano) + `"`, []string{"anna", "annabel", "bert", "Anne", "carl", "annika"}},
	} {
		items, total, err := s.ListUsers(ctx, e.ID, store.Page{Filter: filter(t, c.filter)})
		must(t, err, "ListUsers filtered by "+c.filter)
		var want []store.User
		for _, n := range c.want {
			want = append(want, *byName[n])
		}
		if total != len(want) {
			t.Errorf("ListUsers filtered by %s: total %d, want %d", c.filter, total, len(want))
		}
		checkSet(t, "ListUsers filtered by "+c.filter, items, want...)
	}
}

func testUserPopulations(t *testing.T, s store.Store) {
	ctx := t.Context()
	e, pop := envWithPop(t, s)
	empty := newPopulation(t, s, e.ID, "Empty")
	for i := range 3 {
		newUser(t, s, e.ID, pop.ID, fmt.Sprintf("member-%d", i))
	}
	n, err := s.CountUsers(ctx, e.ID, pop.ID)
	must(t, err, "CountUsers")
	if n != 3 {
		t.Errorf("CountUsers = %d, want 3", n)
	}
	got, err := s.GetPopulation(ctx, e.ID, pop.ID)
	must(t, err, "GetPopulation")
	if got.UserCount != 3 {
		t.Errorf("population UserCount = %d, want 3", got.UserCount)
	}
	list, _, err := s.ListPopulations(ctx, e.ID, store.Page{})
	must(t, err, "ListPopulations")
	for _, p := range list {
		want := map[string]int{pop.ID: 3, empty.ID: 0}[p.ID]
		if p.UserCount != want {
			t.Errorf("ListPopulations %s UserCount = %d, want %d", p.Name, p.UserCount, want)
		}
	}
	wantErr(t, s.DeletePopulation(ctx, e.ID, pop.ID), store.ErrReferenced, "DeletePopulation with users")
	must(t, s.DeletePopulation(ctx, e.ID, empty.ID), "DeletePopulation without users")
}

func testUserEnvironmentDelete(t *testing.T, s store.Store) {
	ctx := t.Context()
	e, pop := envWithPop(t, s)
	keep, keepPop := envWithPop(t, s)
	u := newUser(t, s, e.ID, pop.ID, "doomed")
	must(t, s.PutUserPassword(ctx, mkPassword(e.ID, u.ID)), "PutUserPassword")
	k := newUser(t, s, keep.ID, keepPop.ID, "survivor")
	must(t, s.PutUserPassword(ctx, mkPassword(keep.ID, k.ID)), "PutUserPassword")

	must(t, s.DeleteEnvironment(ctx, e.ID), "DeleteEnvironment with users")
	_, err := s.GetUser(ctx, e.ID, u.ID)
	wantErr(t, err, store.ErrNotFound, "GetUser after the environment was deleted")
	_, err = s.GetUserPassword(ctx, e.ID, u.ID)
	wantErr(t, err, store.ErrNotFound, "GetUserPassword after the environment was deleted")
	if _, err := s.GetUserPassword(ctx, keep.ID, k.ID); err != nil {
		t.Errorf("the other environment's password: %v", err)
	}
}

func testUserAccount(t *testing.T, s store.Store) {
	ctx := t.Context()
	e, pop := envWithPop(t, s)
	u := newUser(t, s, e.ID, pop.ID, "lockme")
	at, until, up := now(), now().Add(15*time.Minute), now().Add(time.Second)
	must(t, s.UpdateUserAccount(ctx, e.ID, u.ID, "LOCKED", at, until, up), "UpdateUserAccount lock")
	got, err := s.GetUser(ctx, e.ID, u.ID)
	must(t, err, "GetUser")
	want := *u
	want.AccountStatus, want.LockedAt, want.UnlockAt, want.UpdatedAt = "LOCKED", at, until, up
	checkRecord(t, "locked user", got, want)
	must(t, s.UpdateUserAccount(ctx, e.ID, u.ID, "OK", time.Time{}, time.Time{}, up), "UpdateUserAccount unlock")
	got, err = s.GetUser(ctx, e.ID, u.ID)
	must(t, err, "GetUser")
	if got.AccountStatus != "OK" || !got.LockedAt.IsZero() || !got.UnlockAt.IsZero() {
		t.Errorf("unlocked user: %s %v %v", got.AccountStatus, got.LockedAt, got.UnlockAt)
	}
	wantErr(t, s.UpdateUserAccount(ctx, e.ID, newID(), "OK", time.Time{}, time.Time{}, up), store.ErrNotFound, "UpdateUserAccount(unknown)")
}

func mkPassword(envID, userID string) *store.UserPassword {
	ts := now()
	return &store.UserPassword{
		UserID: userID, EnvironmentID: envID, Hash: "$argon2id$v=19$m=19456,t=3,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2g",
		Status: "OK", LastChangedAt: ts,
		History:   []store.PasswordHistoryEntry{{Hash: "old-2", ChangedAt: ts.Add(-time.Hour)}, {Hash: "old-1", ChangedAt: ts.Add(-48 * time.Hour)}},
		UpdatedAt: ts,
	}
}

func checkPassword(t *testing.T, what string, got, want *store.UserPassword) {
	t.Helper()
	g, w := *got, *want
	gh, wh := g.History, w.History
	g.History, w.History = nil, nil
	checkRecord(t, what, &g, &w)
	if len(gh) != len(wh) {
		t.Errorf("%s: %d history entries, want %d", what, len(gh), len(wh))
		return
	}
	for i := range gh {
		if gh[i].Hash != wh[i].Hash || !gh[i].ChangedAt.Equal(wh[i].ChangedAt) || gh[i].ChangedAt.Location() != time.UTC {
			t.Errorf("%s: history[%d] = %+v, want %+v", what, i, gh[i], wh[i])
		}
	}
}

func testUserPasswords(t *testing.T, s store.Store) {
	ctx := t.Context()
	e, pop := envWithPop(t, s)
	u := newUser(t, s, e.ID, pop.ID, "pw")
	_, err := s.GetUserPassword(ctx, e.ID, u.ID)
	wantErr(t, err, store.ErrNotFound, "GetUserPassword before any")

	p := mkPassword(e.ID, u.ID)
	must(t, s.PutUserPassword(ctx, p), "PutUserPassword insert")
	got, err := s.GetUserPassword(ctx, e.ID, u.ID)
	must(t, err, "GetUserPassword")
	checkPassword(t, "GetUserPassword", got, p)

	repl := *p
	repl.Hash, repl.Status, repl.LastChangedAt, repl.FailedCount, repl.LockedUntil = "$2a$04$replaced", "MUST_CHANGE_PASSWORD", now().Add(time.Minute), 2, now().Add(time.Hour)
	repl.History = nil
	must(t, s.PutUserPassword(ctx, &repl), "PutUserPassword replace")
	got, err = s.GetUserPassword(ctx, e.ID, u.ID)
	must(t, err, "GetUserPassword after replace")
	checkPassword(t, "GetUserPassword after replace", got, &repl)

	wantErr(t, s.PutUserPassword(ctx, mkPassword(e.ID, newID())), store.ErrNotFound, "PutUserPassword(unknown user)")
	must(t, s.DeleteUser(ctx, e.ID, u.ID), "DeleteUser")
	_, err = s.GetUserPassword(ctx, e.ID, u.ID)
	wantErr(t, err, store.ErrNotFound, "GetUserPassword after the user was deleted")
}

func testPasswordFailures(t *testing.T, s store.Store) {
	ctx := t.Context()
	e, pop := envWithPop(t, s)
	u := newUser(t, s, e.ID, pop.ID, "guess")
	_, err := s.RecordPasswordFailure(ctx, e.ID, u.ID, 3, time.Minute, 0, now())
	wantErr(t, err, store.ErrNotFound, "RecordPasswordFailure without a password")
	must(t, s.PutUserPassword(ctx, mkPassword(e.ID, u.ID)), "PutUserPassword")

	t0 := now()
	for i, want := range []struct {
		count  int
		locked bool
	}{{1, false}, {2, false}, {3, true}} {
		got, err := s.RecordPasswordFailure(ctx, e.ID, u.ID, 3, time.Minute, 0, t0)
		must(t, err, "RecordPasswordFailure")
		if got.FailedCount != want.count || got.LockedUntil.IsZero() == want.locked {
			t.Fatalf("failure %d: count %d lockedUntil %v; want count %d locked %v", i+1, got.FailedCount, got.LockedUntil, want.count, want.locked)
		}
		if want.locked && !got.LockedUntil.Equal(t0.Add(time.Minute)) {
			t.Errorf("lockedUntil = %v, want %v", got.LockedUntil, t0.Add(time.Minute))
		}
	}
	// After the lock ran out, counting starts again and the lock is gone.
	later := t0.Add(2 * time.Minute)
	got, err := s.RecordPasswordFailure(ctx, e.ID, u.ID, 3, time.Minute, 0, later)
	must(t, err, "RecordPasswordFailure after the lock")
	if got.FailedCount != 1 || !got.LockedUntil.IsZero() {
		t.Errorf("after the lock ran out: count %d lockedUntil %v, want 1 and none", got.FailedCount, got.LockedUntil)
	}
	must(t, s.ClearPasswordFailures(ctx, e.ID, u.ID), "ClearPasswordFailures")
	got2, err := s.GetUserPassword(ctx, e.ID, u.ID)
	must(t, err, "GetUserPassword")
	if got2.FailedCount != 0 || !got2.LockedUntil.IsZero() || got2.Hash != mkPassword(e.ID, u.ID).Hash {
		t.Errorf("after ClearPasswordFailures: %+v", got2)
	}
	must(t, s.ClearPasswordFailures(ctx, e.ID, u.ID), "ClearPasswordFailures with nothing to clear")
	must(t, s.ClearPasswordFailures(ctx, e.ID, newID()), "ClearPasswordFailures for an unknown user")
	// No lockout rule: failures only count.
	for range 5 {
		got, err = s.RecordPasswordFailure(ctx, e.ID, u.ID, 0, 0, 0, later)
		must(t, err, "RecordPasswordFailure without lockout")
	}
	if got.FailedCount != 5 || !got.LockedUntil.IsZero() {
		t.Errorf("without lockout: count %d lockedUntil %v", got.FailedCount, got.LockedUntil)
	}
}

// testConcurrentUsernames: of many creators of one username (in varying
// case), exactly one wins and the rest see the uniqueness error.
func testConcurrentUsernames(t *testing.T, s store.Store) {
	ctx := t.Context()
	e, pop := envWithPop(t, s)
	const n = 20
	start := make(chan struct{})
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		name := "contended"
		if i%2 == 1 {
			name = "CONTENDED"
		}
		wg.Go(func() {
			<-start
			errs[i] = s.CreateUser(ctx, mkUser(e.ID, pop.ID, name))
		})
	}
	close(start)
	wg.Wait()
	won := 0
	for i, err := range errs {
		var ue *store.UniqueError
		switch {
		case err == nil:
			won++
		case errors.As(err, &ue) && ue.Field == "username":
		default:
			t.Errorf("creator %d: %v, want nil or a username UniqueError", i, err)
		}
	}
	if won != 1 {
		t.Errorf("%d creators succeeded, want exactly 1", won)
	}
	_, total, err := s.ListUsers(ctx, e.ID, store.Page{})
	must(t, err, "ListUsers")
	if total != 1 {
		t.Errorf("%d users after the race, want 1", total)
	}
}

// testConcurrentPasswordFailures: concurrent failures all count.
func testConcurrentPasswordFailures(t *testing.T, s store.Store) {
	ctx := t.Context()
	e, pop := envWithPop(t, s)
	u := newUser(t, s, e.ID, pop.ID, "storm")
	must(t, s.PutUserPassword(ctx, mkPassword(e.ID, u.ID)), "PutUserPassword")
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = s.RecordPasswordFailure(ctx, e.ID, u.ID, 100, time.Minute, 0, now())
		})
	}
	wg.Wait()
	for _, err := range errs {
		must(t, err, "RecordPasswordFailure")
	}
	got, err := s.GetUserPassword(ctx, e.ID, u.ID)
	must(t, err, "GetUserPassword")
	if got.FailedCount != n {
		t.Errorf("FailedCount = %d after %d concurrent failures", got.FailedCount, n)
	}
}

// testUserTx: a user and its password written in one transaction vanish
// together when it rolls back; reads inside see the writes.
func testUserTx(t *testing.T, s store.Store) {
	ctx := t.Context()
	e, pop := envWithPop(t, s)
	u := mkUser(e.ID, pop.ID, "tx-user")
	boom := errors.New("boom")
	err := s.Tx(ctx, func(tx store.Store) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		if err := tx.PutUserPassword(ctx, mkPassword(e.ID, u.ID)); err != nil {
			return err
		}
		if _, err := tx.GetUser(ctx, e.ID, u.ID); err != nil {
			return err
		}
		if _, err := tx.RecordPasswordFailure(ctx, e.ID, u.ID, 3, time.Minute, 0, now()); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Tx = %v, want boom", err)
	}
	_, err = s.GetUser(ctx, e.ID, u.ID)
	wantErr(t, err, store.ErrNotFound, "GetUser after rollback")
	_, err = s.GetUserPassword(ctx, e.ID, u.ID)
	wantErr(t, err, store.ErrNotFound, "GetUserPassword after rollback")

	must(t, s.Tx(ctx, func(tx store.Store) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return tx.PutUserPassword(ctx, mkPassword(e.ID, u.ID))
	}), "Tx commit")
	if _, err := s.GetUserPassword(ctx, e.ID, u.ID); err != nil {
		t.Errorf("GetUserPassword after commit: %v", err)
	}
}

func testUserLookups(t *testing.T, s store.Store) {
	ctx := t.Context()
	e, pop := envWithPop(t, s)
	other, otherPop := envWithPop(t, s)

	_, err := s.ResolvePopulation(ctx, e.ID, "")
	wantErr(t, err, store.ErrNotFound, "ResolvePopulation(default) without a default")
	def := mkPopulation(e.ID, "Default")
	def.Default = true
	must(t, s.CreatePopulation(ctx, def), "CreatePopulation default")
	for _, c := range []struct{ id, want string }{{"", def.ID}, {pop.ID, pop.ID}, {def.ID, def.ID}} {
		got, err := s.ResolvePopulation(ctx, e.ID, c.id)
		if err != nil || got != c.want {
			t.Errorf("ResolvePopulation(%q) = %q, %v; want %q", c.id, got, err, c.want)
		}
	}
	_, err = s.ResolvePopulation(ctx, e.ID, otherPop.ID)
	wantErr(t, err, store.ErrNotFound, "ResolvePopulation(another environment's population)")
	_, err = s.ResolvePopulation(ctx, e.ID, newID())
	wantErr(t, err, store.ErrNotFound, "ResolvePopulation(unknown)")

	// The population's policy, else the environment's default.
	std := mkPasswordPolicy(e.ID, "Standard")
	std.Default = true
	must(t, s.CreatePasswordPolicy(ctx, std), "CreatePasswordPolicy default")
	basic := newPasswordPolicy(t, s, e.ID, "Basic")
	newPasswordPolicy(t, s, other.ID, "Other default") // not default, other environment

	withBasic := mkPopulation(e.ID, "Basic users")
	withBasic.PasswordPolicyID = basic.ID
	must(t, s.CreatePopulation(ctx, withBasic), "CreatePopulation with Basic")
	withNone := mkPopulation(e.ID, "No policy")
	withNone.PasswordPolicyID = ""
	must(t, s.CreatePopulation(ctx, withNone), "CreatePopulation without policy")
	withGone := mkPopulation(e.ID, "Gone policy") // mkPopulation names a policy that does not exist
	must(t, s.CreatePopulation(ctx, withGone), "CreatePopulation with a missing policy")
	withForeign := mkPopulation(e.ID, "Foreign policy")
	otherStd := newPasswordPolicy(t, s, other.ID, "Foreign")
	withForeign.PasswordPolicyID = otherStd.ID
	must(t, s.CreatePopulation(ctx, withForeign), "CreatePopulation with another environment's policy")

	for _, c := range []struct {
		pop  *store.Population
		want string
	}{{withBasic, basic.ID}, {withNone, std.ID}, {withGone, std.ID}, {withForeign, std.ID}} {
		got, err := s.EffectivePasswordPolicy(ctx, e.ID, c.pop.ID)
		if err != nil || got.ID != c.want {
			t.Errorf("EffectivePasswordPolicy(%s) = %v, %v; want %s", c.pop.Name, got, err, c.want)
		}
		if c.want == std.ID {
			checkRecord(t, "EffectivePasswordPolicy", got, std)
		}
	}
	// Another environment's population is not this environment's.
	got, err := s.EffectivePasswordPolicy(ctx, e.ID, otherPop.ID)
	if err != nil || got.ID != std.ID {
		t.Errorf("EffectivePasswordPolicy(another environment's population) = %v, %v; want the default", got, err)
	}
	// No default and no population policy: nothing.
	_, err = s.EffectivePasswordPolicy(ctx, other.ID, otherPop.ID)
	wantErr(t, err, store.ErrNotFound, "EffectivePasswordPolicy without any policy")
}
