package storetest

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func testMeta(t *testing.T, s store.Store) {
	ctx := t.Context()
	if v, err := s.GetMeta(ctx, "missing"); err == nil || v != "" {
		t.Errorf("GetMeta(missing) = %q, %v; want \"\", ErrNotFound", v, err)
	} else {
		wantErr(t, err, store.ErrNotFound, "GetMeta(missing)")
	}

	must(t, s.InsertMeta(ctx, "install.id", "first"), "InsertMeta")
	wantErr(t, s.InsertMeta(ctx, "install.id", "second"), store.ErrConflict, "InsertMeta on an existing key")
	if v, err := s.GetMeta(ctx, "install.id"); err != nil || v != "first" {
		t.Errorf("GetMeta after a refused InsertMeta = %q, %v; want first", v, err)
	}

	must(t, s.PutMeta(ctx, "install.id", "third"), "PutMeta over an existing key")
	if v, err := s.GetMeta(ctx, "install.id"); err != nil || v != "third" {
		t.Errorf("GetMeta after PutMeta = %q, %v; want third", v, err)
	}
	must(t, s.PutMeta(ctx, "fresh", ""), "PutMeta of a new key")
	if v, err := s.GetMeta(ctx, "fresh"); err != nil || v != "" {
		t.Errorf("GetMeta(fresh) = %q, %v; want the empty value", v, err)
	}
	wantErr(t, s.InsertMeta(ctx, "fresh", "x"), store.ErrConflict, "InsertMeta on a key PutMeta wrote")
}

func testOrganizations(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := newOrg(t, s)
	b := &store.Organization{ID: newID(), Name: "Internal", Type: "INTERNAL", CreatedAt: now().Add(-time.Hour), UpdatedAt: now()}
	must(t, s.CreateOrganization(ctx, b), "CreateOrganization")

	for _, want := range []*store.Organization{a, b} {
		got, err := s.GetOrganization(ctx, want.ID)
		must(t, err, "GetOrganization")
		checkRecord(t, "GetOrganization", got, want)
	}
	_, err := s.GetOrganization(ctx, newID())
	wantErr(t, err, store.ErrNotFound, "GetOrganization(unknown)")

	dup := *a
	dup.Name = "Duplicate"
	wantErr(t, s.CreateOrganization(ctx, &dup), store.ErrConflict, "CreateOrganization with a taken id")

	list, err := s.ListOrganizations(ctx)
	must(t, err, "ListOrganizations")
	checkSet(t, "ListOrganizations", list, *a, *b)
}

func testLicenses(t *testing.T, s store.Store) {
	ctx := t.Context()
	orgA, orgB := newOrg(t, s), newOrg(t, s)
	a1 := newLicense(t, s, orgA.ID)
	a2 := mkLicense(orgA.ID)
	a2.Name, a2.Package, a2.Status, a2.Data = "Future", "GLOBAL", "FUTURE", nil // empty data reads back as {}
	must(t, s.CreateLicense(ctx, a2), "CreateLicense without data")
	b1 := newLicense(t, s, orgB.ID)

	for _, want := range []*store.License{a1, a2, b1} {
		got, err := s.GetLicense(ctx, want.OrganizationID, want.ID)
		must(t, err, "GetLicense")
		checkRecord(t, "GetLicense", got, want)
	}
	_, err := s.GetLicense(ctx, orgB.ID, a1.ID)
	wantErr(t, err, store.ErrNotFound, "GetLicense with another organization's id")
	_, err = s.GetLicense(ctx, orgA.ID, newID())
	wantErr(t, err, store.ErrNotFound, "GetLicense(unknown)")

	list, err := s.ListLicenses(ctx, orgA.ID)
	must(t, err, "ListLicenses(A)")
	checkSet(t, "ListLicenses(A)", list, *a1, *a2)
	list, err = s.ListLicenses(ctx, orgB.ID)
	must(t, err, "ListLicenses(B)")
	checkSet(t, "ListLicenses(B)", list, *b1)
	list, err = s.ListLicenses(ctx, newID())
	must(t, err, "ListLicenses(unknown)")
	checkSet(t, "ListLicenses(unknown)", list)

	wantErr(t, s.CreateLicense(ctx, mkLicense(newID())), store.ErrReferenced, "CreateLicense in an unknown organization")

	// Environments per license: an organization's own, one query.
	newEnvIn(t, s, orgA.ID, a1.ID, "A1 one")
	newEnvIn(t, s, orgA.ID, a1.ID, "A1 two")
	newEnvIn(t, s, orgA.ID, a2.ID, "A2 one")
	newEnvIn(t, s, orgB.ID, b1.ID, "B1 one")
	for _, c := range []struct {
		orgID string
		want  map[string]int
	}{{orgA.ID, map[string]int{a1.ID: 2, a2.ID: 1}}, {orgB.ID, map[string]int{b1.ID: 1}}, {newID(), map[string]int{}}} {
		got, err := s.CountEnvironmentsByLicense(ctx, c.orgID)
		must(t, err, "CountEnvironmentsByLicense")
		if !maps.Equal(got, c.want) {
			t.Errorf("CountEnvironmentsByLicense = %v, want %v", got, c.want)
		}
	}
}

func testEnvironments(t *testing.T, s store.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	lic := newLicense(t, s, org.ID)

	// A time in another zone with sub-millisecond digits comes back in UTC,
	// cut to the millisecond.
	created := time.Date(2024, 2, 29, 23, 59, 58, 123456789, time.FixedZone("IST", 5*3600+1800))
	e := &store.Environment{
		ID: newID(), OrganizationID: org.ID, Name: "Production", Description: "the real one",
		Type: "PRODUCTION", Region: "EU", LicenseID: lic.ID, Status: "ACTIVE",
		Data:      json.RawMessage(`{"icon": {"href": "https://example.com/i.png"}, "billOfMaterials": {"products": [{"type": "PING_ONE_BASE", "description": "base"}]}, "n": 1.5, "ok": true, "none": null, "s": "é\"\\"}`),
		CreatedAt: created, UpdatedAt: created.Add(time.Millisecond),
	}
	must(t, s.CreateEnvironment(ctx, e), "CreateEnvironment")
	want := *e
	want.CreatedAt = time.Date(2024, 2, 29, 18, 29, 58, 123000000, time.UTC)
	want.UpdatedAt = time.Date(2024, 2, 29, 18, 29, 58, 124000000, time.UTC)
	got, err := s.GetEnvironment(ctx, e.ID)
	must(t, err, "GetEnvironment")
	checkRecord(t, "GetEnvironment", got, want)

	// Empty Data is stored as an empty object.
	bare := mkEnv(org.ID, lic.ID, "Bare")
	bare.Data = nil
	must(t, s.CreateEnvironment(ctx, bare), "CreateEnvironment without data")
	gotBare, err := s.GetEnvironment(ctx, bare.ID)
	must(t, err, "GetEnvironment(bare)")
	checkRecord(t, "GetEnvironment(bare)", gotBare, bare)
	if string(gotBare.Data) != "{}" {
		t.Errorf("empty Data reads back as %q, want {}", gotBare.Data)
	}

	list, total, err := s.ListEnvironments(ctx, org.ID, store.Page{})
	must(t, err, "ListEnvironments")
	if total != 2 {
		t.Errorf("ListEnvironments total = %d, want 2", total)
	}
	checkSet(t, "ListEnvironments", list, want, *bare)

	// Update every mutable field.
	lic2 := newLicense(t, s, org.ID)
	upd := *got
	upd.Name, upd.Description, upd.Type, upd.Region = "Prod NA", "", "SANDBOX", "NA"
	upd.LicenseID, upd.Status = lic2.ID, "DELETE_PENDING"
	upd.Data = json.RawMessage(`{"icon":{"href":"https://example.com/other.png"}}`)
	upd.UpdatedAt = now().Add(time.Hour)
	must(t, s.UpdateEnvironment(ctx, &upd), "UpdateEnvironment")
	got2, err := s.GetEnvironment(ctx, e.ID)
	must(t, err, "GetEnvironment after update")
	checkRecord(t, "GetEnvironment after update", got2, upd)
	if got2.UpdatedAt.Equal(got.UpdatedAt) {
		t.Errorf("UpdatedAt did not change on update: %s", got2.UpdatedAt)
	}
	if !got2.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("CreatedAt changed on update: %s, want %s", got2.CreatedAt, want.CreatedAt)
	}

	// Unknown ids.
	_, err = s.GetEnvironment(ctx, newID())
	wantErr(t, err, store.ErrNotFound, "GetEnvironment(unknown)")
	ghost := mkEnv(org.ID, lic.ID, "Ghost")
	wantErr(t, s.UpdateEnvironment(ctx, ghost), store.ErrNotFound, "UpdateEnvironment(unknown)")
	wantErr(t, s.DeleteEnvironment(ctx, newID()), store.ErrNotFound, "DeleteEnvironment(unknown)")
	wantErr(t, s.CreateEnvironment(ctx, mkEnv(newID(), lic.ID, "Orphan")), store.ErrReferenced, "CreateEnvironment in an unknown organization")
	dup := mkEnv(org.ID, lic.ID, "Dup")
	dup.ID = e.ID
	wantErr(t, s.CreateEnvironment(ctx, dup), store.ErrConflict, "CreateEnvironment with a taken id")

	// Delete.
	must(t, s.DeleteEnvironment(ctx, e.ID), "DeleteEnvironment")
	_, err = s.GetEnvironment(ctx, e.ID)
	wantErr(t, err, store.ErrNotFound, "GetEnvironment after delete")
	wantErr(t, s.DeleteEnvironment(ctx, e.ID), store.ErrNotFound, "DeleteEnvironment twice")
	list, total, err = s.ListEnvironments(ctx, org.ID, store.Page{})
	must(t, err, "ListEnvironments after delete")
	if total != 1 {
		t.Errorf("ListEnvironments total after delete = %d, want 1", total)
	}
	checkSet(t, "ListEnvironments after delete", list, *bare)
}

func testEnvironmentPaging(t *testing.T, s store.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	lic := newLicense(t, s, org.ID)
	const n = 25
	byName := map[string]*store.Environment{}
	var all []string
	for i := range n {
		e := newEnvIn(t, s, org.ID, lic.ID, fmt.Sprintf("Env-%02d", i))
		byName[fmt.Sprintf("env-%02d", i)] = e
		all = append(all, e.ID)
	}
	slices.Sort(all)
	// Another organization's environment never shows.
	other := newEnv(t, s)

	// Cursor paging: every environment exactly once, in id order.
	var seen []string
	after := ""
	for pageNo := 0; ; pageNo++ {
		if pageNo > n {
			t.Fatalf("paging does not end")
		}
		items, total, err := s.ListEnvironments(ctx, org.ID, store.Page{After: after, Limit: 10})
		must(t, err, "ListEnvironments page")
		if total != n {
			t.Errorf("page %d: total = %d, want %d", pageNo, total, n)
		}
		if wantLen := min(10, n-len(seen)); len(items) != wantLen {
			t.Fatalf("page %d: %d items, want %d", pageNo, len(items), wantLen)
		}
		if len(items) == 0 {
			break
		}
		for _, e := range items {
			if e.OrganizationID != org.ID {
				t.Errorf("page %d lists %s of organization %s", pageNo, e.ID, e.OrganizationID)
			}
			seen = append(seen, e.ID)
		}
		after = items[len(items)-1].ID
	}
	if !slices.Equal(seen, all) {
		t.Errorf("paging collected\n%v\nwant (each once, in id order)\n%v", seen, all)
	}

	// No limit: the whole collection in one page.
	items, total, err := s.ListEnvironments(ctx, org.ID, store.Page{})
	must(t, err, "ListEnvironments without a limit")
	if total != n || !slices.Equal(ids(items), all) {
		t.Errorf("ListEnvironments without a limit = %d items (total %d), want all %d in id order", len(items), total, n)
	}

	// IDs restricts; ids of another organization stay out.
	pick := []string{byName["env-03"].ID, byName["env-17"].ID, byName["env-21"].ID}
	items, total, err = s.ListEnvironments(ctx, org.ID, store.Page{IDs: append(slices.Clone(pick), other.ID)})
	must(t, err, "ListEnvironments with IDs")
	slices.Sort(pick)
	if total != 3 || !slices.Equal(ids(items), pick) {
		t.Errorf("ListEnvironments with IDs = %v (total %d), want %v (total 3)", ids(items), total, pick)
	}
	items, total, err = s.ListEnvironments(ctx, org.ID, store.Page{IDs: []string{}})
	must(t, err, "ListEnvironments with empty IDs")
	if total != 0 || len(items) != 0 {
		t.Errorf("ListEnvironments with empty IDs = %d items (total %d), want none", len(items), total)
	}

	// A filter narrows and counts.
	items, total, err = s.ListEnvironments(ctx, org.ID, store.Page{Filter: filter(t, `name eq "env-07"`)})
	must(t, err, "ListEnvironments filtered by name")
	if total != 1 || len(items) != 1 {
		t.Fatalf("ListEnvironments filtered by name eq env-07: %d items (total %d), want 1", len(items), total)
	}
	checkRecord(t, "ListEnvironments filtered by name", items[0], byName["env-07"])

	// A filter with paging: env-10 … env-24 are 15.
	var want []string
	for i := 10; i < n; i++ {
		want = append(want, byName[fmt.Sprintf("env-%02d", i)].ID)
	}
	slices.Sort(want)
	p := store.Page{Filter: filter(t, `name ge "env-10"`), Limit: 10}
	first, total, err := s.ListEnvironments(ctx, org.ID, p)
	must(t, err, "ListEnvironments where, page 1")
	if total != 15 || len(first) != 10 {
		t.Fatalf("where, page 1: %d items (total %d), want 10 (total 15)", len(first), total)
	}
	p.After = first[len(first)-1].ID
	second, total, err := s.ListEnvironments(ctx, org.ID, p)
	must(t, err, "ListEnvironments where, page 2")
	if total != 15 || len(second) != 5 {
		t.Fatalf("where, page 2: %d items (total %d), want 5 (total 15)", len(second), total)
	}
	if got := append(ids(first), ids(second)...); !slices.Equal(got, want) {
		t.Errorf("where pages = %v, want %v", got, want)
	}

	// A filter and IDs together.
	items, total, err = s.ListEnvironments(ctx, org.ID, store.Page{
		Filter: filter(t, `name eq "env-03" or name eq "env-04"`),
		IDs:    []string{byName["env-03"].ID, byName["env-05"].ID},
	})
	must(t, err, "ListEnvironments where and IDs")
	if total != 1 || len(items) != 1 || items[0].ID != byName["env-03"].ID {
		t.Errorf("where and IDs = %v (total %d), want just env-03 %s", ids(items), total, byName["env-03"].ID)
	}

	// A filter that matches nothing.
	items, total, err = s.ListEnvironments(ctx, org.ID, store.Page{Filter: filter(t, `name eq "nope"`)})
	must(t, err, "ListEnvironments where nothing")
	if total != 0 || len(items) != 0 {
		t.Errorf("where nothing = %d items (total %d), want none", len(items), total)
	}
}

func testEnvironmentDeleteCascades(t *testing.T, s store.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	lic := newLicense(t, s, org.ID)
	envA := newEnvIn(t, s, org.ID, lic.ID, "Doomed")
	envB := newEnvIn(t, s, org.ID, lic.ID, "Survivor")

	pop := newPopulation(t, s, envA.ID, "Staff")
	app := newApp(t, s, envA.ID, "Worker A")
	raA := newRA(t, s, envA.ID, app.ID, "role-env-admin", "ENVIRONMENT", envA.ID)
	res := newResource(t, s, envA.ID, "api")
	scope := newScope(t, s, envA.ID, res.ID, "read")
	pp := newPasswordPolicy(t, s, envA.ID, "Standard")
	sop := newSignOnPolicy(t, s, envA.ID, "Single_Factor")
	act := newAction(t, s, envA.ID, sop.ID, "LOGIN", 1)
	key := newKey(t, s, envA.ID, "signing", "SIGNING")
	theme := newTheme(t, s, envA.ID, "default", true)

	// An actor of envB holds a role over envA and one over envB.
	appB := newApp(t, s, envB.ID, "Worker B")
	raOverA := newRA(t, s, envB.ID, appB.ID, "role-env-admin", "ENVIRONMENT", envA.ID)
	raOverB := newRA(t, s, envB.ID, appB.ID, "role-env-admin", "ENVIRONMENT", envB.ID)
	popB := newPopulation(t, s, envB.ID, "Staff")

	must(t, s.DeleteEnvironment(ctx, envA.ID), "DeleteEnvironment")

	gone := func(what string, err error) {
		t.Helper()
		wantErr(t, err, store.ErrNotFound, what+" after the environment was deleted")
	}
	checkGone := func() {
		t.Helper()
		_, err := s.GetEnvironment(ctx, envA.ID)
		gone("GetEnvironment", err)
		_, err = s.GetPopulation(ctx, envA.ID, pop.ID)
		gone("GetPopulation", err)
		_, err = s.GetApplication(ctx, envA.ID, app.ID)
		gone("GetApplication", err)
		_, err = s.GetRoleAssignment(ctx, envA.ID, app.ID, raA.ID)
		gone("GetRoleAssignment", err)
		_, err = s.GetResource(ctx, envA.ID, res.ID)
		gone("GetResource", err)
		_, err = s.GetScope(ctx, envA.ID, res.ID, scope.ID)
		gone("GetScope", err)
		_, err = s.GetPasswordPolicy(ctx, envA.ID, pp.ID)
		gone("GetPasswordPolicy", err)
		_, err = s.GetSignOnPolicy(ctx, envA.ID, sop.ID)
		gone("GetSignOnPolicy", err)
		_, err = s.GetSignOnPolicyAction(ctx, envA.ID, sop.ID, act.ID)
		gone("GetSignOnPolicyAction", err)
		_, err = s.GetKey(ctx, envA.ID, key.ID)
		gone("GetKey", err)
		_, err = s.GetTheme(ctx, envA.ID, theme.ID)
		gone("GetTheme", err)
		_, err = s.GetRoleAssignment(ctx, envB.ID, appB.ID, raOverA.ID)
		gone("GetRoleAssignment of another environment's actor over it", err)

		pops, total, err := s.ListPopulations(ctx, envA.ID, store.Page{})
		must(t, err, "ListPopulations")
		if total != 0 || len(pops) != 0 {
			t.Errorf("ListPopulations after delete: %d (total %d), want none", len(pops), total)
		}
		apps, err := s.ListApplications(ctx, envA.ID)
		must(t, err, "ListApplications")
		checkSet(t, "ListApplications after delete", apps)
		ras, err := s.ListRoleAssignments(ctx, envA.ID, app.ID)
		must(t, err, "ListRoleAssignments")
		checkSet(t, "ListRoleAssignments after delete", ras)
		rs, err := s.ListResources(ctx, envA.ID)
		must(t, err, "ListResources")
		checkSet(t, "ListResources after delete", rs)
		scs, err := s.ListScopes(ctx, envA.ID, res.ID)
		must(t, err, "ListScopes")
		checkSet(t, "ListScopes after delete", scs)
		pps, err := s.ListPasswordPolicies(ctx, envA.ID)
		must(t, err, "ListPasswordPolicies")
		checkSet(t, "ListPasswordPolicies after delete", pps)
		sops, err := s.ListSignOnPolicies(ctx, envA.ID)
		must(t, err, "ListSignOnPolicies")
		checkSet(t, "ListSignOnPolicies after delete", sops)
		acts, err := s.ListSignOnPolicyActions(ctx, envA.ID, sop.ID)
		must(t, err, "ListSignOnPolicyActions")
		checkSet(t, "ListSignOnPolicyActions after delete", acts)
		keys, err := s.ListKeys(ctx, envA.ID)
		must(t, err, "ListKeys")
		checkSet(t, "ListKeys after delete", keys)
	}
	checkGone()

	// The rows are gone, not merely hidden: an environment created again
	// with the same id starts empty.
	again := mkEnv(org.ID, lic.ID, "Reborn")
	again.ID = envA.ID
	must(t, s.CreateEnvironment(ctx, again), "CreateEnvironment with the deleted id")
	_, err := s.GetEnvironment(ctx, envA.ID)
	must(t, err, "GetEnvironment(reborn)")
	func() {
		t.Helper()
		_, err := s.GetPopulation(ctx, envA.ID, pop.ID)
		gone("GetPopulation (reborn environment)", err)
		_, err = s.GetApplication(ctx, envA.ID, app.ID)
		gone("GetApplication (reborn environment)", err)
		_, err = s.GetRoleAssignment(ctx, envB.ID, appB.ID, raOverA.ID)
		gone("GetRoleAssignment over the reborn environment", err)
		_, err = s.GetKey(ctx, envA.ID, key.ID)
		gone("GetKey (reborn environment)", err)
		_, err = s.GetDefaultTheme(ctx, envA.ID)
		gone("GetDefaultTheme (reborn environment)", err)
	}()

	// The other environment keeps its own rows.
	_, err = s.GetEnvironment(ctx, envB.ID)
	must(t, err, "GetEnvironment(B)")
	ras, err := s.ListRoleAssignments(ctx, envB.ID, appB.ID)
	must(t, err, "ListRoleAssignments(B)")
	checkSet(t, "ListRoleAssignments of the other environment's actor", ras, *raOverB)
	gotApp, err := s.GetApplication(ctx, envB.ID, appB.ID)
	must(t, err, "GetApplication(B)")
	checkRecord(t, "GetApplication(B)", gotApp, appB)
	gotPop, err := s.GetPopulation(ctx, envB.ID, popB.ID)
	must(t, err, "GetPopulation(B)")
	checkRecord(t, "GetPopulation(B)", gotPop, popB)
}
