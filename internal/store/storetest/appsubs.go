package storetest

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// testApplicationSubresources covers what hangs off an application: the
// previous secret, paged listing, role-scope resolution, resource grants
// and sign-on policy assignments.
func testApplicationSubresources(t *testing.T, s store.Store) {
	t.Run("PreviousSecret", func(t *testing.T) { testPreviousSecret(t, s) })
	t.Run("ApplicationsPage", func(t *testing.T) { testApplicationsPage(t, s) })
	t.Run("ResolveRoleScopes", func(t *testing.T) { testResolveRoleScopes(t, s) })
	t.Run("Grants", func(t *testing.T) { testGrants(t, s) })
	t.Run("GrantCascades", func(t *testing.T) { testGrantCascades(t, s) })
	t.Run("SignOnPolicyAssignments", func(t *testing.T) { testSignOnPolicyAssignments(t, s) })
}

func testPreviousSecret(t *testing.T, s store.Store) {
	ctx := t.Context()
	envA, envB := newEnv(t, s), newEnv(t, s)
	app := newApp(t, s, envA.ID, "Rotating")
	other := newApp(t, s, envA.ID, "Bystander")
	first := slices.Clone(app.SecretSealed)

	prev, err := s.GetApplicationPreviousSecret(ctx, envA.ID, app.ID)
	must(t, err, "GetApplicationPreviousSecret before any rotation")
	if prev != nil {
		t.Fatalf("previous secret before any rotation: %+v", prev)
	}

	// Rotate keeping the old secret for an hour.
	second := []byte("sealed-second\x00\xff")
	until := now().Add(time.Hour)
	must(t, s.RotateApplicationSecret(ctx, envA.ID, app.ID, second, until), "RotateApplicationSecret keeping the previous")
	got, err := s.GetApplication(ctx, envA.ID, app.ID)
	must(t, err, "GetApplication after rotation")
	if !bytes.Equal(got.SecretSealed, second) {
		t.Errorf("SecretSealed after rotation = %x, want %x", got.SecretSealed, second)
	}
	want := *app
	want.SecretSealed = second
	checkRecord(t, "application after rotation (only the secret changes)", got, &want)
	prev, err = s.GetApplicationPreviousSecret(ctx, envA.ID, app.ID)
	must(t, err, "GetApplicationPreviousSecret")
	checkRecord(t, "previous secret", prev, &store.PreviousSecret{Sealed: first, ExpiresAt: until})

	// A replace of the application keeps the previous secret.
	upd := *got
	upd.Name, upd.UpdatedAt = "Rotating 2", now().Add(time.Minute)
	must(t, s.UpdateApplication(ctx, &upd), "UpdateApplication")
	prev, err = s.GetApplicationPreviousSecret(ctx, envA.ID, app.ID)
	must(t, err, "GetApplicationPreviousSecret after UpdateApplication")
	checkRecord(t, "previous secret after UpdateApplication", prev, &store.PreviousSecret{Sealed: first, ExpiresAt: until})

	// lastUsed is written at most once a minute.
	t0 := now()
	must(t, s.TouchApplicationPreviousSecret(ctx, envA.ID, app.ID, t0), "TouchApplicationPreviousSecret")
	must(t, s.TouchApplicationPreviousSecret(ctx, envA.ID, app.ID, t0.Add(30*time.Second)), "TouchApplicationPreviousSecret within the minute")
	prev, err = s.GetApplicationPreviousSecret(ctx, envA.ID, app.ID)
	must(t, err, "GetApplicationPreviousSecret after touch")
	checkRecord(t, "previous secret after two touches in a minute", prev, &store.PreviousSecret{Sealed: first, ExpiresAt: until, LastUsed: t0})
	t1 := t0.Add(2 * time.Minute)
	must(t, s.TouchApplicationPreviousSecret(ctx, envA.ID, app.ID, t1), "TouchApplicationPreviousSecret later")
	prev, err = s.GetApplicationPreviousSecret(ctx, envA.ID, app.ID)
	must(t, err, "GetApplicationPreviousSecret after a later touch")
	checkRecord(t, "previous secret after a later touch", prev, &store.PreviousSecret{Sealed: first, ExpiresAt: until, LastUsed: t1})

	// Another environment reaches none of it.
	wantErr(t, s.RotateApplicationSecret(ctx, envB.ID, app.ID, []byte("x"), until), store.ErrNotFound, "RotateApplicationSecret(envB)")
	_, err = s.GetApplicationPreviousSecret(ctx, envB.ID, app.ID)
	wantErr(t, err, store.ErrNotFound, "GetApplicationPreviousSecret(envB)")
	wantErr(t, s.ClearApplicationPreviousSecret(ctx, envB.ID, app.ID), store.ErrNotFound, "ClearApplicationPreviousSecret(envB)")
	must(t, s.TouchApplicationPreviousSecret(ctx, envB.ID, app.ID, t1.Add(time.Hour)), "TouchApplicationPreviousSecret(envB) is a no-op")
	prev, err = s.GetApplicationPreviousSecret(ctx, envA.ID, app.ID)
	must(t, err, "GetApplicationPreviousSecret after foreign writes")
	checkRecord(t, "previous secret after foreign writes", prev, &store.PreviousSecret{Sealed: first, ExpiresAt: until, LastUsed: t1})
	_, err = s.GetApplicationPreviousSecret(ctx, envA.ID, newID())
	wantErr(t, err, store.ErrNotFound, "GetApplicationPreviousSecret(unknown)")

	// The bystander has none.
	if prev, err := s.GetApplicationPreviousSecret(ctx, envA.ID, other.ID); err != nil || prev != nil {
		t.Errorf("bystander's previous secret = %+v, %v", prev, err)
	}

	// Rotating again without keeping drops the previous and its lastUsed.
	third := []byte("sealed-third")
	must(t, s.RotateApplicationSecret(ctx, envA.ID, app.ID, third, time.Time{}), "RotateApplicationSecret dropping the previous")
	if prev, err := s.GetApplicationPreviousSecret(ctx, envA.ID, app.ID); err != nil || prev != nil {
		t.Errorf("previous after a rotation without keeping = %+v, %v", prev, err)
	}
	// Keep, then clear.
	must(t, s.RotateApplicationSecret(ctx, envA.ID, app.ID, []byte("sealed-fourth"), until), "RotateApplicationSecret")
	prev, err = s.GetApplicationPreviousSecret(ctx, envA.ID, app.ID)
	must(t, err, "GetApplicationPreviousSecret")
	checkRecord(t, "previous secret after the fourth rotation", prev, &store.PreviousSecret{Sealed: third, ExpiresAt: until})
	must(t, s.ClearApplicationPreviousSecret(ctx, envA.ID, app.ID), "ClearApplicationPreviousSecret")
	if prev, err := s.GetApplicationPreviousSecret(ctx, envA.ID, app.ID); err != nil || prev != nil {
		t.Errorf("previous after clear = %+v, %v", prev, err)
	}
	wantErr(t, s.RotateApplicationSecret(ctx, envA.ID, newID(), third, until), store.ErrNotFound, "RotateApplicationSecret(unknown)")
}

func testApplicationsPage(t *testing.T, s store.Store) {
	ctx := t.Context()
	envA, envB := newEnv(t, s), newEnv(t, s)
	var apps []store.Application
	for i := range 5 {
		a := mkApp(envA.ID, "App")
		if i%2 == 1 {
			a.Type = "WEB_APP"
		}
		must(t, s.CreateApplication(ctx, a), "CreateApplication")
		apps = append(apps, *a)
	}
	newApp(t, s, envB.ID, "App")
	slices.SortFunc(apps, func(a, b store.Application) int { return cmpString(a.ID, b.ID) })

	page1, total, err := s.ListApplicationsPage(ctx, envA.ID, store.Page{Limit: 2})
	must(t, err, "ListApplicationsPage")
	if total != 5 {
		t.Errorf("total = %d, want 5", total)
	}
	checkList(t, "page 1", page1, apps[0], apps[1])
	page2, _, err := s.ListApplicationsPage(ctx, envA.ID, store.Page{Limit: 2, After: page1[1].ID})
	must(t, err, "ListApplicationsPage page 2")
	checkList(t, "page 2", page2, apps[2], apps[3])
	page3, _, err := s.ListApplicationsPage(ctx, envA.ID, store.Page{Limit: 2, After: page2[1].ID})
	must(t, err, "ListApplicationsPage page 3")
	checkList(t, "page 3", page3, apps[4])

	var web []store.Application
	for _, a := range apps {
		if a.Type == "WEB_APP" {
			web = append(web, a)
		}
	}
	got, total, err := s.ListApplicationsPage(ctx, envA.ID, store.Page{Limit: 10, Filter: filter(t, `type eq "WEB_APP"`)})
	must(t, err, "ListApplicationsPage filtered")
	if total != len(web) {
		t.Errorf("filtered total = %d, want %d", total, len(web))
	}
	checkList(t, "filtered", got, web...)
	got, total, err = s.ListApplicationsPage(ctx, newID(), store.Page{Limit: 10})
	must(t, err, "ListApplicationsPage(unknown environment)")
	if total != 0 {
		t.Errorf("unknown environment total = %d", total)
	}
	checkList(t, "unknown environment", got)
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func testResolveRoleScopes(t *testing.T, s store.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	lic := newLicense(t, s, org.ID)
	envA := newEnvIn(t, s, org.ID, lic.ID, "A")
	envB := newEnvIn(t, s, org.ID, lic.ID, "B")
	popA := newPopulation(t, s, envA.ID, "Staff")
	appB := newApp(t, s, envB.ID, "Worker")
	foreign := newEnv(t, s) // another organization
	foreignPop := newPopulation(t, s, foreign.ID, "Staff")
	foreignApp := newApp(t, s, foreign.ID, "Worker")

	got, err := s.ResolveRoleScopes(ctx, org.ID, []string{envA.ID, envB.ID, popA.ID, appB.ID, foreign.ID, foreignPop.ID, foreignApp.ID, newID(), org.ID})
	must(t, err, "ResolveRoleScopes")
	want := map[string]store.RoleScope{
		envA.ID: {Type: "ENVIRONMENT", EnvironmentID: envA.ID},
		envB.ID: {Type: "ENVIRONMENT", EnvironmentID: envB.ID},
		popA.ID: {Type: "POPULATION", EnvironmentID: envA.ID},
		appB.ID: {Type: "APPLICATION", EnvironmentID: envB.ID},
	}
	if len(got) != len(want) {
		t.Errorf("ResolveRoleScopes = %v, want %v", got, want)
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("ResolveRoleScopes[%s] = %+v, want %+v", id, got[id], w)
		}
	}
	got, err = s.ResolveRoleScopes(ctx, org.ID, nil)
	must(t, err, "ResolveRoleScopes(nil)")
	if got == nil || len(got) != 0 {
		t.Errorf("ResolveRoleScopes(nil) = %v, want an empty map", got)
	}
}

func mkGrant(envID, appID, resourceID string, scopeIDs ...string) *store.ApplicationGrant {
	ts := now()
	return &store.ApplicationGrant{ID: newID(), EnvironmentID: envID, ApplicationID: appID, ResourceID: resourceID,
		ScopeIDs: scopeIDs, CreatedAt: ts, UpdatedAt: ts}
}

func testGrants(t *testing.T, s store.Store) {
	ctx := t.Context()
	envA, envB := newEnv(t, s), newEnv(t, s)
	app := newApp(t, s, envA.ID, "Web")
	other := newApp(t, s, envA.ID, "Other")
	api := newResource(t, s, envA.ID, "api")
	read, write, admin := newScope(t, s, envA.ID, api.ID, "read"), newScope(t, s, envA.ID, api.ID, "write"), newScope(t, s, envA.ID, api.ID, "admin")
	openid := newResource(t, s, envA.ID, "openid")
	profile := newScope(t, s, envA.ID, openid.ID, "profile")

	// Scopes come back in the order given, not by id.
	g1 := mkGrant(envA.ID, app.ID, api.ID, write.ID, read.ID)
	must(t, s.CreateApplicationGrant(ctx, g1), "CreateApplicationGrant")
	g2 := mkGrant(envA.ID, app.ID, openid.ID, profile.ID)
	must(t, s.CreateApplicationGrant(ctx, g2), "CreateApplicationGrant openid")
	g3 := mkGrant(envA.ID, other.ID, api.ID, admin.ID)
	must(t, s.CreateApplicationGrant(ctx, g3), "CreateApplicationGrant for the other application")

	for _, w := range []*store.ApplicationGrant{g1, g2, g3} {
		got, err := s.GetApplicationGrant(ctx, w.EnvironmentID, w.ApplicationID, w.ID)
		must(t, err, "GetApplicationGrant")
		checkRecord(t, "GetApplicationGrant", got, w)
	}
	list, err := s.ListApplicationGrants(ctx, envA.ID, app.ID)
	must(t, err, "ListApplicationGrants")
	checkSet(t, "ListApplicationGrants", list, *g1, *g2)
	list, err = s.ListApplicationGrants(ctx, envB.ID, app.ID)
	must(t, err, "ListApplicationGrants(envB)")
	checkSet(t, "ListApplicationGrants(envB)", list)

	// One grant per (application, resource).
	wantUnique(t, s.CreateApplicationGrant(ctx, mkGrant(envA.ID, app.ID, api.ID, admin.ID)), "grant", "resource.id", "second grant of a resource")
	list, err = s.ListApplicationGrants(ctx, envA.ID, app.ID)
	must(t, err, "ListApplicationGrants after the refused duplicate")
	checkSet(t, "ListApplicationGrants after the refused duplicate", list, *g1, *g2)
	// References must exist.
	wantErr(t, s.CreateApplicationGrant(ctx, mkGrant(envA.ID, app.ID, newID(), read.ID)), store.ErrReferenced, "grant of an unknown resource")
	wantErr(t, s.CreateApplicationGrant(ctx, mkGrant(envA.ID, newID(), api.ID, read.ID)), store.ErrReferenced, "grant of an unknown application")
	bad := mkGrant(envA.ID, app.ID, newResource(t, s, envA.ID, "spare").ID, newID())
	wantErr(t, s.CreateApplicationGrant(ctx, bad), store.ErrReferenced, "grant of an unknown scope")
	_, err = s.GetApplicationGrant(ctx, envA.ID, app.ID, bad.ID)
	wantErr(t, err, store.ErrNotFound, "a grant refused half-way is not there")

	// Replace the scopes.
	upd := *g1
	upd.ScopeIDs, upd.UpdatedAt = []string{admin.ID, write.ID, read.ID}, now().Add(time.Minute)
	must(t, s.UpdateApplicationGrant(ctx, &upd), "UpdateApplicationGrant")
	got, err := s.GetApplicationGrant(ctx, envA.ID, app.ID, g1.ID)
	must(t, err, "GetApplicationGrant after update")
	checkRecord(t, "grant after update", got, &upd)

	// Isolation: the wrong environment or application finds nothing.
	_, err = s.GetApplicationGrant(ctx, envB.ID, app.ID, g1.ID)
	wantErr(t, err, store.ErrNotFound, "GetApplicationGrant(envB)")
	_, err = s.GetApplicationGrant(ctx, envA.ID, other.ID, g1.ID)
	wantErr(t, err, store.ErrNotFound, "GetApplicationGrant(other application)")
	hijack := upd
	hijack.EnvironmentID, hijack.ScopeIDs = envB.ID, []string{read.ID}
	wantErr(t, s.UpdateApplicationGrant(ctx, &hijack), store.ErrNotFound, "UpdateApplicationGrant(envB)")
	hijack = upd
	hijack.ApplicationID, hijack.ScopeIDs = other.ID, []string{read.ID}
	wantErr(t, s.UpdateApplicationGrant(ctx, &hijack), store.ErrNotFound, "UpdateApplicationGrant(other application)")
	wantErr(t, s.DeleteApplicationGrant(ctx, envB.ID, app.ID, g1.ID), store.ErrNotFound, "DeleteApplicationGrant(envB)")
	wantErr(t, s.DeleteApplicationGrant(ctx, envA.ID, other.ID, g1.ID), store.ErrNotFound, "DeleteApplicationGrant(other application)")
	got, err = s.GetApplicationGrant(ctx, envA.ID, app.ID, g1.ID)
	must(t, err, "GetApplicationGrant after foreign writes")
	checkRecord(t, "grant after foreign writes", got, &upd)

	must(t, s.DeleteApplicationGrant(ctx, envA.ID, app.ID, g1.ID), "DeleteApplicationGrant")
	_, err = s.GetApplicationGrant(ctx, envA.ID, app.ID, g1.ID)
	wantErr(t, err, store.ErrNotFound, "GetApplicationGrant after delete")
	wantErr(t, s.DeleteApplicationGrant(ctx, envA.ID, app.ID, g1.ID), store.ErrNotFound, "DeleteApplicationGrant twice")
	// The resource is free again.
	must(t, s.CreateApplicationGrant(ctx, mkGrant(envA.ID, app.ID, api.ID, read.ID)), "grant of the resource after the first was deleted")
}

func testGrantCascades(t *testing.T, s store.Store) {
	ctx := t.Context()
	env := newEnv(t, s)
	app := newApp(t, s, env.ID, "Web")
	api := newResource(t, s, env.ID, "api")
	read, write := newScope(t, s, env.ID, api.ID, "read"), newScope(t, s, env.ID, api.ID, "write")
	g := mkGrant(env.ID, app.ID, api.ID, read.ID, write.ID)
	must(t, s.CreateApplicationGrant(ctx, g), "CreateApplicationGrant")

	// A deleted scope leaves every grant.
	must(t, s.DeleteScope(ctx, env.ID, api.ID, read.ID), "DeleteScope")
	got, err := s.GetApplicationGrant(ctx, env.ID, app.ID, g.ID)
	must(t, err, "GetApplicationGrant after a scope was deleted")
	if !slices.Equal(got.ScopeIDs, []string{write.ID}) {
		t.Errorf("scopes after deleting one = %v, want [%s]", got.ScopeIDs, write.ID)
	}
	// A grant whose scopes are all gone still lists, with none.
	must(t, s.DeleteScope(ctx, env.ID, api.ID, write.ID), "DeleteScope")
	got, err = s.GetApplicationGrant(ctx, env.ID, app.ID, g.ID)
	must(t, err, "GetApplicationGrant with no scopes left")
	if got.ScopeIDs == nil || len(got.ScopeIDs) != 0 {
		t.Errorf("scopes = %#v, want an empty slice", got.ScopeIDs)
	}
	// A deleted resource takes its grants.
	must(t, s.DeleteResource(ctx, env.ID, api.ID), "DeleteResource")
	_, err = s.GetApplicationGrant(ctx, env.ID, app.ID, g.ID)
	wantErr(t, err, store.ErrNotFound, "grant of a deleted resource")

	// A deleted application takes its grants and assignments.
	api2 := newResource(t, s, env.ID, "api2")
	g2 := mkGrant(env.ID, app.ID, api2.ID, newScope(t, s, env.ID, api2.ID, "read").ID)
	must(t, s.CreateApplicationGrant(ctx, g2), "CreateApplicationGrant")
	sop := newSignOnPolicy(t, s, env.ID, "Policy")
	sa := mkSOPA(env.ID, app.ID, sop.ID, 1)
	must(t, s.CreateSignOnPolicyAssignment(ctx, sa), "CreateSignOnPolicyAssignment")
	must(t, s.DeleteApplication(ctx, env.ID, app.ID), "DeleteApplication")
	_, err = s.GetApplicationGrant(ctx, env.ID, app.ID, g2.ID)
	wantErr(t, err, store.ErrNotFound, "grant of a deleted application")
	_, err = s.GetSignOnPolicyAssignment(ctx, env.ID, app.ID, sa.ID)
	wantErr(t, err, store.ErrNotFound, "sign-on policy assignment of a deleted application")
	// …and the resource can be deleted afterwards.
	must(t, s.DeleteResource(ctx, env.ID, api2.ID), "DeleteResource after its grant's application was deleted")

	// Deleting the environment takes everything.
	app2 := newApp(t, s, env.ID, "Web 2")
	api3 := newResource(t, s, env.ID, "api3")
	g3 := mkGrant(env.ID, app2.ID, api3.ID, newScope(t, s, env.ID, api3.ID, "read").ID)
	must(t, s.CreateApplicationGrant(ctx, g3), "CreateApplicationGrant")
	must(t, s.CreateSignOnPolicyAssignment(ctx, mkSOPA(env.ID, app2.ID, sop.ID, 1)), "CreateSignOnPolicyAssignment")
	must(t, s.DeleteEnvironment(ctx, env.ID), "DeleteEnvironment")
	list, err := s.ListApplicationGrants(ctx, env.ID, app2.ID)
	must(t, err, "ListApplicationGrants of a deleted environment")
	checkSet(t, "grants of a deleted environment", list)
	sl, err := s.ListSignOnPolicyAssignments(ctx, env.ID, app2.ID)
	must(t, err, "ListSignOnPolicyAssignments of a deleted environment")
	checkSet(t, "sign-on policy assignments of a deleted environment", sl)
}

func mkSOPA(envID, appID, policyID string, priority int) *store.SignOnPolicyAssignment {
	ts := now()
	return &store.SignOnPolicyAssignment{ID: newID(), EnvironmentID: envID, ApplicationID: appID, SignOnPolicyID: policyID,
		Priority: priority, CreatedAt: ts, UpdatedAt: ts}
}

func testSignOnPolicyAssignments(t *testing.T, s store.Store) {
	ctx := t.Context()
	envA, envB := newEnv(t, s), newEnv(t, s)
	app := newApp(t, s, envA.ID, "Web")
	other := newApp(t, s, envA.ID, "Other")
	p1, p2, p3 := newSignOnPolicy(t, s, envA.ID, "One"), newSignOnPolicy(t, s, envA.ID, "Two"), newSignOnPolicy(t, s, envA.ID, "Three")

	a2 := mkSOPA(envA.ID, app.ID, p2.ID, 2)
	must(t, s.CreateSignOnPolicyAssignment(ctx, a2), "CreateSignOnPolicyAssignment priority 2")
	a1 := mkSOPA(envA.ID, app.ID, p1.ID, 1)
	must(t, s.CreateSignOnPolicyAssignment(ctx, a1), "CreateSignOnPolicyAssignment priority 1")
	// The other application may use the same policy and priority.
	ao := mkSOPA(envA.ID, other.ID, p1.ID, 1)
	must(t, s.CreateSignOnPolicyAssignment(ctx, ao), "CreateSignOnPolicyAssignment for the other application")

	list, err := s.ListSignOnPolicyAssignments(ctx, envA.ID, app.ID)
	must(t, err, "ListSignOnPolicyAssignments")
	checkList(t, "ListSignOnPolicyAssignments by priority", list, *a1, *a2)
	for _, w := range []*store.SignOnPolicyAssignment{a1, a2, ao} {
		got, err := s.GetSignOnPolicyAssignment(ctx, w.EnvironmentID, w.ApplicationID, w.ID)
		must(t, err, "GetSignOnPolicyAssignment")
		checkRecord(t, "GetSignOnPolicyAssignment", got, w)
	}

	wantUnique(t, s.CreateSignOnPolicyAssignment(ctx, mkSOPA(envA.ID, app.ID, p3.ID, 1)), "signOnPolicyAssignment", "priority", "duplicate priority")
	wantUnique(t, s.CreateSignOnPolicyAssignment(ctx, mkSOPA(envA.ID, app.ID, p1.ID, 3)), "signOnPolicyAssignment", "signOnPolicy.id", "duplicate policy")
	wantErr(t, s.CreateSignOnPolicyAssignment(ctx, mkSOPA(envA.ID, app.ID, newID(), 5)), store.ErrReferenced, "unknown policy")
	upd := *a2
	upd.Priority = 1
	wantUnique(t, s.UpdateSignOnPolicyAssignment(ctx, &upd), "signOnPolicyAssignment", "priority", "update onto a taken priority")
	upd = *a2
	upd.SignOnPolicyID = p1.ID
	wantUnique(t, s.UpdateSignOnPolicyAssignment(ctx, &upd), "signOnPolicyAssignment", "signOnPolicy.id", "update onto an assigned policy")

	upd = *a2
	upd.SignOnPolicyID, upd.Priority, upd.UpdatedAt = p3.ID, 7, now().Add(time.Minute)
	must(t, s.UpdateSignOnPolicyAssignment(ctx, &upd), "UpdateSignOnPolicyAssignment")
	got, err := s.GetSignOnPolicyAssignment(ctx, envA.ID, app.ID, a2.ID)
	must(t, err, "GetSignOnPolicyAssignment after update")
	checkRecord(t, "assignment after update", got, &upd)

	// Isolation.
	_, err = s.GetSignOnPolicyAssignment(ctx, envB.ID, app.ID, a1.ID)
	wantErr(t, err, store.ErrNotFound, "GetSignOnPolicyAssignment(envB)")
	_, err = s.GetSignOnPolicyAssignment(ctx, envA.ID, other.ID, a1.ID)
	wantErr(t, err, store.ErrNotFound, "GetSignOnPolicyAssignment(other application)")
	hijack := *a1
	hijack.EnvironmentID, hijack.Priority = envB.ID, 9
	wantErr(t, s.UpdateSignOnPolicyAssignment(ctx, &hijack), store.ErrNotFound, "UpdateSignOnPolicyAssignment(envB)")
	wantErr(t, s.DeleteSignOnPolicyAssignment(ctx, envB.ID, app.ID, a1.ID), store.ErrNotFound, "DeleteSignOnPolicyAssignment(envB)")
	wantErr(t, s.DeleteSignOnPolicyAssignment(ctx, envA.ID, other.ID, a1.ID), store.ErrNotFound, "DeleteSignOnPolicyAssignment(other application)")
	list, err = s.ListSignOnPolicyAssignments(ctx, envB.ID, app.ID)
	must(t, err, "ListSignOnPolicyAssignments(envB)")
	checkList(t, "ListSignOnPolicyAssignments(envB)", list)

	// A deleted policy leaves the applications it was assigned to.
	must(t, s.DeleteSignOnPolicy(ctx, envA.ID, p1.ID), "DeleteSignOnPolicy")
	list, err = s.ListSignOnPolicyAssignments(ctx, envA.ID, app.ID)
	must(t, err, "ListSignOnPolicyAssignments after the policy was deleted")
	checkList(t, "assignments after the policy was deleted", list, upd)
	list, err = s.ListSignOnPolicyAssignments(ctx, envA.ID, other.ID)
	must(t, err, "ListSignOnPolicyAssignments(other) after the policy was deleted")
	checkList(t, "other's assignments after the policy was deleted", list)

	must(t, s.DeleteSignOnPolicyAssignment(ctx, envA.ID, app.ID, a2.ID), "DeleteSignOnPolicyAssignment")
	wantErr(t, s.DeleteSignOnPolicyAssignment(ctx, envA.ID, app.ID, a2.ID), store.ErrNotFound, "DeleteSignOnPolicyAssignment twice")
	_, err = s.GetSignOnPolicyAssignment(ctx, envA.ID, app.ID, a2.ID)
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetSignOnPolicyAssignment after delete: %v", err)
	}
}
