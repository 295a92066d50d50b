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

// changeLog records what WatchConfig reports.
type changeLog struct {
	mu  sync.Mutex
	got []store.ConfigChange
}

func watch(s store.Store) *changeLog {
	l := &changeLog{}
	s.WatchConfig(func(c store.ConfigChange) {
		l.mu.Lock()
		l.got = append(l.got, c)
		l.mu.Unlock()
	})
	return l
}

// take returns what was reported since the last take.
func (l *changeLog) take() []store.ConfigChange {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.got
	l.got = nil
	return out
}

func version(t *testing.T, s store.Store, envID string) int64 {
	t.Helper()
	v, err := s.ConfigVersion(t.Context(), envID)
	must(t, err, "ConfigVersion")
	return v
}

// testConfigVersions: every write of cached configuration moves its
// environment's version in its own transaction and is reported once
// committed; other environments, other writes and rolled-back
// transactions move nothing.
func testConfigVersions(t *testing.T, s store.Store) {
	t.Run("EveryWrite", func(t *testing.T) { testConfigVersionWrites(t, s) })
	t.Run("OtherWrites", func(t *testing.T) { testConfigVersionOtherWrites(t, s) })
	t.Run("Transactions", func(t *testing.T) { testConfigVersionTx(t, s) })
	t.Run("WriteFailingHalfway", func(t *testing.T) { testConfigVersionHalfway(t, s) })
	t.Run("EnvironmentDelete", func(t *testing.T) { testConfigVersionDelete(t, s) })
}

func testConfigVersionWrites(t *testing.T, s store.Store) {
	ctx := t.Context()
	env, bystander := newEnv(t, s), newEnv(t, s)
	_, err := s.ConfigVersion(ctx, newID())
	wantErr(t, err, store.ErrNotFound, "ConfigVersion(unknown environment)")

	app := mkApp(env.ID, "App")
	res := mkResource(env.ID, "api")
	sc := mkScope(env.ID, res.ID, "read")
	attr := mkResourceAttribute(env.ID, res.ID, "tenant", "${user.id}")
	appAttr := mkApplicationAttribute(env.ID, app.ID, "tenant", "${user.id}")
	grant := mkGrant(env.ID, app.ID, res.ID, sc.ID)
	pol := mkSignOnPolicy(env.ID, "Policy")
	act := mkAction(env.ID, pol.ID, "LOGIN", 1)
	sopa := mkSOPA(env.ID, app.ID, pol.ID, 1)
	idp := mkIDP(env.ID, "Provider")
	idpAttr := mkIDPAttr(env.ID, idp.ID, "email", "email")
	theme := mkTheme(env.ID, "focus")
	key := mkKey(env.ID, "Signing", "SIGNING")
	later := func() time.Time { return now().Add(time.Minute) }
	// Role assignments are configuration (the management API caches the
	// actor's); a user's go with the user.
	ra := mkRA(env.ID, app.ID, newID(), "ENVIRONMENT", env.ID)
	holder := newUser(t, s, env.ID, newPopulation(t, s, env.ID, "Staff").ID, "holder")
	scoped := newEnv(t, s)

	steps := []struct {
		name  string
		write func() error
	}{
		{"UpdateEnvironment", func() error {
			e := *env
			e.Description, e.UpdatedAt = "changed", later()
			return s.UpdateEnvironment(ctx, &e)
		}},
		{"CreateApplication", func() error { return s.CreateApplication(ctx, app) }},
		{"UpdateApplication", func() error {
			a := *app
			a.Enabled, a.UpdatedAt = false, later()
			return s.UpdateApplication(ctx, &a)
		}},
		{"CreateRoleAssignment", func() error { return s.CreateRoleAssignment(ctx, ra) }},
		{"DeleteRoleAssignment", func() error { return s.DeleteRoleAssignment(ctx, env.ID, app.ID, ra.ID) }},
		{"CreateRoleAssignment of a user over another environment", func() error {
			return s.CreateRoleAssignment(ctx, mkRA(env.ID, holder.ID, newID(), "ENVIRONMENT", scoped.ID))
		}},
		{"RotateApplicationSecret keeping the previous", func() error {
			return s.RotateApplicationSecret(ctx, env.ID, app.ID, []byte("second"), now().Add(time.Hour))
		}},
		{"ClearApplicationPreviousSecret", func() error { return s.ClearApplicationPreviousSecret(ctx, env.ID, app.ID) }},
		{"RotateApplicationSecret dropping the previous", func() error {
			return s.RotateApplicationSecret(ctx, env.ID, app.ID, []byte("third"), time.Time{})
		}},
		{"CreateResource", func() error { return s.CreateResource(ctx, res) }},
		{"UpdateResource", func() error {
			r := *res
			r.AccessTokenValiditySeconds, r.UpdatedAt = 60, later()
			return s.UpdateResource(ctx, &r)
		}},
		{"CreateScope", func() error { return s.CreateScope(ctx, sc) }},
		{"UpdateScope", func() error {
			x := *sc
			x.Description, x.UpdatedAt = "changed", later()
			return s.UpdateScope(ctx, &x)
		}},
		{"CreateResourceAttribute", func() error { return s.CreateResourceAttribute(ctx, attr) }},
		{"UpdateResourceAttribute", func() error {
			a := *attr
			a.Value, a.UpdatedAt = "${user.email}", later()
			return s.UpdateResourceAttribute(ctx, &a)
		}},
		{"CreateApplicationAttribute", func() error { return s.CreateApplicationAttribute(ctx, appAttr) }},
		{"UpdateApplicationAttribute", func() error {
			a := *appAttr
			a.Value, a.UpdatedAt = "${user.email}", later()
			return s.UpdateApplicationAttribute(ctx, &a)
		}},
		{"CreateApplicationGrant", func() error { return s.CreateApplicationGrant(ctx, grant) }},
		{"UpdateApplicationGrant", func() error {
			g := *grant
			g.ScopeIDs, g.UpdatedAt = []string{}, later()
			return s.UpdateApplicationGrant(ctx, &g)
		}},
		{"CreateSignOnPolicy", func() error { return s.CreateSignOnPolicy(ctx, pol) }},
		{"UpdateSignOnPolicy", func() error {
			p := *pol
			p.Default, p.UpdatedAt = true, later()
			return s.UpdateSignOnPolicy(ctx, &p)
		}},
		{"ClearDefaultSignOnPolicy", func() error { return s.ClearDefaultSignOnPolicy(ctx, env.ID, newID()) }},
		{"CreateSignOnPolicyAction", func() error { return s.CreateSignOnPolicyAction(ctx, act) }},
		{"UpdateSignOnPolicyAction", func() error {
			a := *act
			a.Data, a.UpdatedAt = json.RawMessage(`{"recovery":{"enabled":false}}`), later()
			return s.UpdateSignOnPolicyAction(ctx, &a)
		}},
		{"CreateSignOnPolicyAssignment", func() error { return s.CreateSignOnPolicyAssignment(ctx, sopa) }},
		{"UpdateSignOnPolicyAssignment", func() error {
			a := *sopa
			a.Priority, a.UpdatedAt = 2, later()
			return s.UpdateSignOnPolicyAssignment(ctx, &a)
		}},
		{"CreateIdentityProvider", func() error { return s.CreateIdentityProvider(ctx, idp) }},
		{"UpdateIdentityProvider", func() error {
			p := *idp
			p.Enabled, p.UpdatedAt = false, later()
			return s.UpdateIdentityProvider(ctx, &p)
		}},
		{"CreateIdentityProviderAttribute", func() error { return s.CreateIdentityProviderAttribute(ctx, idpAttr) }},
		{"UpdateIdentityProviderAttribute", func() error {
			a := *idpAttr
			a.Update, a.UpdatedAt = "ALWAYS", later()
			return s.UpdateIdentityProviderAttribute(ctx, &a)
		}},
		{"CreateTheme", func() error { return s.CreateTheme(ctx, theme) }},
		{"UpdateTheme", func() error {
			x := *theme
			x.Default, x.UpdatedAt = true, later()
			return s.UpdateTheme(ctx, &x)
		}},
		{"ClearDefaultTheme", func() error { return s.ClearDefaultTheme(ctx, env.ID, newID()) }},
		{"CreateKey", func() error { return s.CreateKey(ctx, key) }},
		{"UpdateKey", func() error {
			k := *key
			k.Default, k.UpdatedAt = true, later()
			return s.UpdateKey(ctx, &k)
		}},
		{"ClearDefaultKey", func() error { return s.ClearDefaultKey(ctx, env.ID, "SIGNING", newID()) }},
		{"DeleteKey", func() error { return s.DeleteKey(ctx, env.ID, key.ID) }},
		{"DeleteTheme", func() error { return s.DeleteTheme(ctx, env.ID, theme.ID) }},
		{"DeleteIdentityProviderAttribute", func() error { return s.DeleteIdentityProviderAttribute(ctx, env.ID, idp.ID, idpAttr.ID) }},
		{"DeleteIdentityProvider", func() error { return s.DeleteIdentityProvider(ctx, env.ID, idp.ID) }},
		{"DeleteSignOnPolicyAssignment", func() error { return s.DeleteSignOnPolicyAssignment(ctx, env.ID, app.ID, sopa.ID) }},
		{"DeleteSignOnPolicyAction", func() error { return s.DeleteSignOnPolicyAction(ctx, env.ID, pol.ID, act.ID) }},
		{"DeleteSignOnPolicy", func() error { return s.DeleteSignOnPolicy(ctx, env.ID, pol.ID) }},
		{"DeleteApplicationGrant", func() error { return s.DeleteApplicationGrant(ctx, env.ID, app.ID, grant.ID) }},
		{"DeleteResourceAttribute", func() error { return s.DeleteResourceAttribute(ctx, env.ID, res.ID, attr.ID) }},
		{"DeleteApplicationAttribute", func() error { return s.DeleteApplicationAttribute(ctx, env.ID, app.ID, appAttr.ID) }},
		{"DeleteScope", func() error { return s.DeleteScope(ctx, env.ID, res.ID, sc.ID) }},
		{"DeleteResource", func() error { return s.DeleteResource(ctx, env.ID, res.ID) }},
		{"DeleteApplication", func() error { return s.DeleteApplication(ctx, env.ID, app.ID) }},
	}
	log := watch(s)
	other := version(t, s, bystander.ID)
	for _, st := range steps {
		before := version(t, s, env.ID)
		log.take()
		if err := st.write(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		after := version(t, s, env.ID)
		if after <= before {
			t.Errorf("%s: version %d → %d, want it to grow", st.name, before, after)
		}
		if got, want := log.take(), []store.ConfigChange{{EnvironmentID: env.ID, Version: after}}; !slices.Equal(got, want) {
			t.Errorf("%s: reported %+v, want %+v", st.name, got, want)
		}
	}
	if v := version(t, s, bystander.ID); v != other {
		t.Errorf("another environment's version moved from %d to %d", other, v)
	}

	// Deleting an environment deletes the roles held over it: their
	// holders' environment changes with it.
	before := version(t, s, env.ID)
	log.take()
	must(t, s.DeleteEnvironment(ctx, scoped.ID), "DeleteEnvironment held over")
	after := version(t, s, env.ID)
	if got, want := log.take(), []store.ConfigChange{{EnvironmentID: env.ID, Version: after}, {EnvironmentID: scoped.ID, Deleted: true}}; after <= before || !slices.Equal(got, want) {
		t.Errorf("DeleteEnvironment held over: version %d → %d, reported %+v, want %+v", before, after, got, want)
	}
	newRA(t, s, env.ID, holder.ID, newID(), "ENVIRONMENT", env.ID)
	before = version(t, s, env.ID)
	must(t, s.DeleteUser(ctx, env.ID, holder.ID), "DeleteUser")
	if got := version(t, s, env.ID); got <= before {
		t.Errorf("DeleteUser of a user who held a role: version %d → %d, want it to grow", before, got)
	}

	wantUnmoved(t, s, log, env.ID, "failed writes", func() {
		wantErr(t, s.UpdateResource(ctx, mkResource(env.ID, "ghost")), store.ErrNotFound, "UpdateResource(unknown)")
		wantErr(t, s.DeleteApplication(ctx, env.ID, newID()), store.ErrNotFound, "DeleteApplication(unknown)")
		wantErr(t, s.UpdateTheme(ctx, mkTheme(env.ID, "slate")), store.ErrNotFound, "UpdateTheme(unknown)")
		wantErr(t, s.DeleteTheme(ctx, env.ID, newID()), store.ErrNotFound, "DeleteTheme(unknown)")
		wantErr(t, s.DeleteKey(ctx, env.ID, newID()), store.ErrNotFound, "DeleteKey(unknown)")
	})
}

// wantUnmoved runs fn and checks that it neither moved envID's version
// nor reported a change.
func wantUnmoved(t *testing.T, s store.Store, log *changeLog, envID, what string, fn func()) {
	t.Helper()
	before := version(t, s, envID)
	log.take()
	fn()
	if v := version(t, s, envID); v != before {
		t.Errorf("%s moved the version from %d to %d", what, before, v)
	}
	if got := log.take(); len(got) != 0 {
		t.Errorf("%s reported %+v", what, got)
	}
}

// testConfigVersionOtherWrites: what no node caches leaves the version
// alone, so that sign-ons and user administration never empty a cache
// (a user's roles aside).
func testConfigVersionOtherWrites(t *testing.T, s store.Store) {
	ctx := t.Context()
	env := newEnv(t, s)
	app := newApp(t, s, env.ID, "App")
	must(t, s.RotateApplicationSecret(ctx, env.ID, app.ID, []byte("second"), now().Add(time.Hour)), "RotateApplicationSecret")
	wantUnmoved(t, s, watch(s), env.ID, "writes of uncached records", func() {
		pop := newPopulation(t, s, env.ID, "People")
		newUser(t, s, env.ID, pop.ID, "someone")
		newPasswordPolicy(t, s, env.ID, "Strict")
		// A user without roles: user administration leaves caches alone.
		must(t, s.DeleteUser(ctx, env.ID, newUser(t, s, env.ID, pop.ID, "another").ID), "DeleteUser")
		must(t, s.TouchApplicationPreviousSecret(ctx, env.ID, app.ID, now()), "TouchApplicationPreviousSecret")
	})
}

func testConfigVersionTx(t *testing.T, s store.Store) {
	ctx := t.Context()
	envA, envB := newEnv(t, s), newEnv(t, s)
	log := watch(s)
	errBoom := errors.New("boom")

	wantUnmoved(t, s, log, envA.ID, "a rolled-back transaction", func() {
		err := s.Tx(ctx, func(tx store.Store) error {
			if err := tx.CreateResource(ctx, mkResource(envA.ID, "rolled back")); err != nil {
				return fmt.Errorf("CreateResource in tx: %w", err)
			}
			if err := tx.CreateApplication(ctx, mkApp(envA.ID, "rolled back")); err != nil {
				return fmt.Errorf("CreateApplication in tx: %w", err)
			}
			return errBoom
		})
		if !errors.Is(err, errBoom) {
			t.Fatalf("Tx = %v, want the callback's error", err)
		}
	})
	wantUnmoved(t, s, log, envA.ID, "a transaction that panicked", func() {
		defer func() { _ = recover() }()
		_ = s.Tx(ctx, func(tx store.Store) error {
			if err := tx.CreateResource(ctx, mkResource(envA.ID, "panicked")); err != nil {
				return err
			}
			panic("boom")
		})
	})

	t.Run("Commit", func(t *testing.T) {
		beforeA, beforeB := version(t, s, envA.ID), version(t, s, envB.ID)
		log.take()
		var inside []store.ConfigChange
		must(t, s.Tx(ctx, func(tx store.Store) error {
			for _, name := range []string{"one", "two"} {
				if err := tx.CreateResource(ctx, mkResource(envA.ID, name)); err != nil {
					return err
				}
			}
			if err := tx.CreateSignOnPolicy(ctx, mkSignOnPolicy(envB.ID, "B")); err != nil {
				return err
			}
			// Nothing is reported before the commit: another node could
			// not see the write yet either.
			inside = log.take()
			return nil
		}), "Tx")
		if len(inside) != 0 {
			t.Errorf("reported inside the transaction: %+v", inside)
		}
		afterA, afterB := version(t, s, envA.ID), version(t, s, envB.ID)
		if afterA <= beforeA || afterB <= beforeB {
			t.Errorf("versions after the commit: A %d → %d, B %d → %d; want both to grow", beforeA, afterA, beforeB, afterB)
		}
		got := log.take()
		slices.SortFunc(got, func(x, y store.ConfigChange) int { return cmpString(x.EnvironmentID, y.EnvironmentID) })
		want := []store.ConfigChange{{EnvironmentID: envA.ID, Version: afterA}, {EnvironmentID: envB.ID, Version: afterB}}
		slices.SortFunc(want, func(x, y store.ConfigChange) int { return cmpString(x.EnvironmentID, y.EnvironmentID) })
		if !slices.Equal(got, want) {
			t.Errorf("reported %+v, want one change per environment %+v", got, want)
		}
	})
}

// testConfigVersionHalfway: a write of several statements that fails after
// its first inside a transaction whose caller commits anyway. What the
// commit keeps must move the version: SQLite keeps the statements before
// the failed one; PostgreSQL aborts the transaction, whose commit then
// fails and moves nothing.
func testConfigVersionHalfway(t *testing.T, s store.Store) {
	ctx := t.Context()
	env := newEnv(t, s)
	app := newApp(t, s, env.ID, "App")
	res := newResource(t, s, env.ID, "api")
	grant := mkGrant(env.ID, app.ID, res.ID, newScope(t, s, env.ID, res.ID, "read").ID)
	must(t, s.CreateApplicationGrant(ctx, grant), "CreateApplicationGrant")
	log := watch(s)
	before := version(t, s, env.ID)
	log.take()
	// The grant is updated, its scopes dropped, then a scope that does not
	// exist fails it.
	halfway := *grant
	halfway.ScopeIDs, halfway.UpdatedAt = []string{newID()}, now().Add(time.Minute)
	err := s.Tx(ctx, func(tx store.Store) error {
		if err := tx.UpdateApplicationGrant(ctx, &halfway); err == nil {
			t.Fatal("UpdateApplicationGrant with a scope that does not exist succeeded")
		}
		return nil
	})
	after, reported := version(t, s, env.ID), log.take()
	stored, gerr := s.GetApplicationGrant(ctx, env.ID, app.ID, grant.ID)
	must(t, gerr, "GetApplicationGrant")
	if err != nil {
		if after != before || len(reported) != 0 || len(stored.ScopeIDs) != 1 {
			t.Errorf("a transaction whose commit failed (%v): version %d → %d, reported %+v, grant scopes %v; want nothing changed",
				err, before, after, reported, stored.ScopeIDs)
		}
		return
	}
	if len(stored.ScopeIDs) != 0 {
		t.Fatalf("the commit kept nothing of the write (scopes %v): the test proves nothing", stored.ScopeIDs)
	}
	if want := []store.ConfigChange{{EnvironmentID: env.ID, Version: after}}; after <= before || !slices.Equal(reported, want) {
		t.Errorf("a committed half of a write: version %d → %d, reported %+v; want it to grow, reported once", before, after, reported)
	}
}

func testConfigVersionDelete(t *testing.T, s store.Store) {
	ctx := t.Context()
	env := newEnv(t, s)
	newResource(t, s, env.ID, "api")
	log := watch(s)
	must(t, s.DeleteEnvironment(ctx, env.ID), "DeleteEnvironment")
	if got, want := log.take(), []store.ConfigChange{{EnvironmentID: env.ID, Deleted: true}}; !slices.Equal(got, want) {
		t.Errorf("reported %+v, want %+v", got, want)
	}
	_, err := s.ConfigVersion(ctx, env.ID)
	wantErr(t, err, store.ErrNotFound, "ConfigVersion of a deleted environment")
}

// testEnvironmentCatalogs: the one-query lists a cache loads an
// environment's catalogs with hold every resource's scopes and
// attributes and every policy's actions, in the documented order, and
// nothing of another environment.
func testEnvironmentCatalogs(t *testing.T, s store.Store) {
	ctx := t.Context()
	envA, envB := newEnv(t, s), newEnv(t, s)
	r1, r2 := newResource(t, s, envA.ID, "orders"), newResource(t, s, envA.ID, "billing")
	rB := newResource(t, s, envB.ID, "orders")
	var scopes []store.Scope
	for _, r := range []*store.Resource{r1, r2} {
		for _, n := range []string{"read", "write"} {
			scopes = append(scopes, *newScope(t, s, envA.ID, r.ID, n))
		}
	}
	newScope(t, s, envB.ID, rB.ID, "read")
	slices.SortFunc(scopes, func(x, y store.Scope) int {
		if c := cmpString(x.ResourceID, y.ResourceID); c != 0 {
			return c
		}
		return cmpString(x.ID, y.ID)
	})
	gotScopes, err := s.ListEnvironmentScopes(ctx, envA.ID)
	must(t, err, "ListEnvironmentScopes")
	checkList(t, "ListEnvironmentScopes", gotScopes, scopes...)

	var attrs []store.ResourceAttribute
	for _, r := range []*store.Resource{r1, r2} {
		for _, n := range []string{"zone", "Account", "beta"} {
			a := mkResourceAttribute(envA.ID, r.ID, n, "${user.id}")
			must(t, s.CreateResourceAttribute(ctx, a), "CreateResourceAttribute")
			attrs = append(attrs, *a)
		}
	}
	must(t, s.CreateResourceAttribute(ctx, mkResourceAttribute(envB.ID, rB.ID, "zone", "${user.id}")), "CreateResourceAttribute B")
	var wantAttrs []store.ResourceAttribute
	for _, r := range []*store.Resource{r1, r2} {
		per, err := s.ListResourceAttributes(ctx, envA.ID, r.ID)
		must(t, err, "ListResourceAttributes")
		wantAttrs = append(wantAttrs, per...)
	}
	slices.SortStableFunc(wantAttrs, func(x, y store.ResourceAttribute) int { return cmpString(x.ResourceID, y.ResourceID) })
	gotAttrs, err := s.ListEnvironmentResourceAttributes(ctx, envA.ID)
	must(t, err, "ListEnvironmentResourceAttributes")
	checkList(t, "ListEnvironmentResourceAttributes", gotAttrs, wantAttrs...)
	checkSet(t, "ListEnvironmentResourceAttributes (every one)", gotAttrs, attrs...)

	p1, p2 := newSignOnPolicy(t, s, envA.ID, "one"), newSignOnPolicy(t, s, envA.ID, "two")
	pB := newSignOnPolicy(t, s, envB.ID, "one")
	var acts []store.SignOnPolicyAction
	for _, p := range []*store.SignOnPolicy{p1, p2} {
		for _, prio := range []int{3, 1, 2} {
			acts = append(acts, *newAction(t, s, envA.ID, p.ID, "LOGIN", prio))
		}
	}
	newAction(t, s, envB.ID, pB.ID, "LOGIN", 1)
	slices.SortFunc(acts, func(x, y store.SignOnPolicyAction) int {
		if c := cmpString(x.SignOnPolicyID, y.SignOnPolicyID); c != 0 {
			return c
		}
		return x.Priority - y.Priority
	})
	gotActs, err := s.ListEnvironmentSignOnPolicyActions(ctx, envA.ID)
	must(t, err, "ListEnvironmentSignOnPolicyActions")
	checkList(t, "ListEnvironmentSignOnPolicyActions", gotActs, acts...)

	empty := newEnv(t, s)
	for what, n := range map[string]func() (int, error){
		"ListEnvironmentScopes": func() (int, error) { x, err := s.ListEnvironmentScopes(ctx, empty.ID); return len(x), err },
		"ListEnvironmentResourceAttributes": func() (int, error) {
			x, err := s.ListEnvironmentResourceAttributes(ctx, empty.ID)
			return len(x), err
		},
		"ListEnvironmentSignOnPolicyActions": func() (int, error) {
			x, err := s.ListEnvironmentSignOnPolicyActions(ctx, empty.ID)
			return len(x), err
		},
	} {
		if got, err := n(); err != nil || got != 0 {
			t.Errorf("%s(empty environment) = %d items, %v; want none", what, got, err)
		}
	}
}
