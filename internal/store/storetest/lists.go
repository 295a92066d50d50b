package storetest

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/scim"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// lister is one list seen through its ids, so that the lists of different
// records share one table.
type lister func(store.Page) ([]string, int, error)

func idsOf[T any](items []T, total int, err error) ([]string, int, error) {
	return ids(items), total, err
}

// testListFilters runs filters on every list that takes one: the attributes
// each list offers, case folding, the operators and their combinations, and
// the errors of a filter the list does not take, which the management API
// passes to clients as they are (message, supportedAttributes,
// supportedOperators).
func testListFilters(t *testing.T, s store.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	lic := newLicense(t, s, org.ID)
	env := func(name, typ, region string) *store.Environment {
		e := mkEnv(org.ID, lic.ID, name)
		e.Type, e.Region = typ, region
		must(t, s.CreateEnvironment(ctx, e), "CreateEnvironment "+name)
		return e
	}
	prod, sand := env("Prod EU", "PRODUCTION", "EU"), env("Sandbox NA", "SANDBOX", "NA")
	elsewhere := newEnv(t, s) // another organization's

	staff, contractors := mkPopulation(sand.ID, "Staff"), mkPopulation(sand.ID, "Contractors")
	staff.Default = true
	for _, p := range []*store.Population{staff, contractors} {
		must(t, s.CreatePopulation(ctx, p), "CreatePopulation "+p.Name)
	}
	newPopulation(t, s, prod.ID, "Staff")

	worker, web := mkApp(sand.ID, "Worker"), mkApp(sand.ID, "Web")
	web.Type, web.Enabled = "WEB_APP", false
	for _, a := range []*store.Application{worker, web} {
		must(t, s.CreateApplication(ctx, a), "CreateApplication "+a.Name)
	}
	newApp(t, s, prod.ID, "Worker")

	ann, bob := mkUser(sand.ID, staff.ID, "ann"), mkUser(sand.ID, contractors.ID, "Bob")
	bob.Enabled, bob.MFAEnabled, bob.IdentityProviderID = false, true, "idp-1"
	for _, u := range []*store.User{ann, bob} {
		must(t, s.CreateUser(ctx, u), "CreateUser "+u.Username)
	}
	newUser(t, s, prod.ID, newPopulation(t, s, prod.ID, "Others").ID, "ann")

	envs := func(p store.Page) ([]string, int, error) { return idsOf(s.ListEnvironments(ctx, org.ID, p)) }
	pops := func(p store.Page) ([]string, int, error) { return idsOf(s.ListPopulations(ctx, sand.ID, p)) }
	apps := func(p store.Page) ([]string, int, error) { return idsOf(s.ListApplicationsPage(ctx, sand.ID, p)) }
	users := func(p store.Page) ([]string, int, error) { return idsOf(s.ListUsers(ctx, sand.ID, p)) }
	past, future := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), time.Now().Add(time.Hour).UTC().Format(time.RFC3339)

	for _, c := range []struct {
		list   string
		of     lister
		filter string
		want   []string
	}{
		{"environments", envs, `name eq "PROD eu"`, []string{prod.ID}},
		{"environments", envs, `name sw "S"`, []string{sand.ID}},
		{"environments", envs, `type eq "PRODUCTION"`, []string{prod.ID}},
		{"environments", envs, `region ne "EU"`, []string{sand.ID}},
		{"environments", envs, `organization.id eq "` + org.ID + `"`, []string{prod.ID, sand.ID}},
		{"environments", envs, `license.id eq "` + lic.ID + `" and not (type eq "SANDBOX")`, []string{prod.ID}},
		{"environments", envs, `id eq "` + prod.ID + `" or id eq "` + elsewhere.ID + `"`, []string{prod.ID}},
		{"environments", envs, `createdAt le "` + future + `"`, []string{prod.ID, sand.ID}},
		{"environments", envs, `updatedAt gt "` + future + `"`, nil},

		{"populations", pops, `name eq "STAFF"`, []string{staff.ID}},
		{"populations", pops, `name co "TRACT"`, []string{contractors.ID}},
		{"populations", pops, `default eq true`, []string{staff.ID}},
		{"populations", pops, `passwordPolicy.id eq "` + contractors.PasswordPolicyID + `"`, []string{contractors.ID}},
		{"populations", pops, `passwordPolicy.id ne "` + contractors.PasswordPolicyID + `"`, []string{staff.ID}},
		{"populations", pops, `id eq "` + staff.ID + `" and createdAt ge "` + past + `"`, []string{staff.ID}},

		{"applications", apps, `type eq "WEB_APP"`, []string{web.ID}},
		{"applications", apps, `enabled eq false`, []string{web.ID}},
		{"applications", apps, `protocol eq "OPENID_CONNECT" and id ne "` + web.ID + `"`, []string{worker.ID}},
		{"applications", apps, `not (enabled eq true) or type eq "WORKER"`, []string{worker.ID, web.ID}},
		{"applications", apps, `updatedAt lt "` + past + `"`, nil},

		{"users", users, `username eq "ANN"`, []string{ann.ID}},
		{"users", users, `email ew "@EXAMPLE.COM"`, []string{ann.ID, bob.ID}},
		{"users", users, `name.family co "bob"`, []string{bob.ID}},
		{"users", users, `externalId sw "ext-a"`, []string{ann.ID}},
		{"users", users, `population.id eq "` + contractors.ID + `"`, []string{bob.ID}},
		{"users", users, `mfaEnabled eq true and enabled eq false`, []string{bob.ID}},
		{"users", users, `identityProvider.id pr`, []string{bob.ID}},
		{"users", users, `identityProvider.id ne "idp-1"`, []string{ann.ID}},
		{"users", users, `lifecycle.status eq "ACCOUNT_OK" and account.status eq "OK"`, []string{ann.ID, bob.ID}},
		{"users", users, `identityProvider.type eq "PING_ONE" and not (verifyStatus ne "NOT_INITIATED")`, []string{ann.ID, bob.ID}},
		{"users", users, `createdAt gt "` + past + `" and updatedAt lt "` + future + `"`, []string{ann.ID, bob.ID}},
	} {
		got, total, err := c.of(store.Page{Filter: filter(t, c.filter)})
		must(t, err, c.list+" filtered by "+c.filter)
		want := slices.Sorted(slices.Values(c.want))
		if total != len(want) || !slices.Equal(got, want) {
			t.Errorf("%s filtered by %s = %v (total %d), want %v", c.list, c.filter, got, total, want)
		}
	}

	scalar := []string{"eq", "ne", "gt", "ge", "lt", "le", "pr"}
	for _, c := range []struct {
		list   string
		of     lister
		filter string
		want   scim.Error
	}{
		{"environments", envs, `colour eq "red"`, scim.Error{Message: `Unsupported attribute "colour" in filter`,
			SupportedAttributes: []string{"createdAt", "id", "license.id", "name", "organization.id", "region", "type", "updatedAt"}}},
		{"environments", envs, `TYPE sw "SAND"`, scim.Error{Message: `Unsupported operator "sw" for attribute "type"`,
			SupportedOperators: []string{"eq", "ne"}}},
		{"environments", envs, `createdAt co "2024"`, scim.Error{Message: `Unsupported operator "co" for attribute "createdAt"`,
			SupportedOperators: scalar}},
		{"environments", envs, `createdAt gt "yesterday"`, scim.Error{
			Message: `Attribute "createdAt" expects an RFC 3339 date-time such as "2024-01-02T03:04:05.000Z"`}},
		{"populations", pops, `username eq "a"`, scim.Error{Message: `Unsupported attribute "username" in filter`,
			SupportedAttributes: []string{"createdAt", "default", "id", "name", "passwordPolicy.id", "updatedAt"}}},
		{"populations", pops, `default eq "yes"`, scim.Error{Message: `Attribute "default" expects a boolean value (true or false)`}},
		{"populations", pops, `name eq "\u0000"`, scim.Error{Message: `Filter values must not contain NUL characters`}},
		{"applications", apps, `name eq "x"`, scim.Error{Message: `Unsupported attribute "name" in filter`,
			SupportedAttributes: []string{"createdAt", "enabled", "id", "protocol", "type", "updatedAt"}}},
		{"applications", apps, `enabled co "x"`, scim.Error{Message: `Unsupported operator "co" for attribute "enabled"`,
			SupportedOperators: []string{"eq", "ne", "pr"}}},
		{"users", users, `name eq "x"`, scim.Error{Message: `Unsupported attribute "name" in filter`,
			SupportedAttributes: []string{"account.status", "createdAt", "email", "enabled", "externalId", "id", "identityProvider.id",
				"identityProvider.type", "lifecycle.status", "memberOfGroups", "mfaEnabled", "name.family", "name.given", "population.id", "updatedAt",
				"username", "verifyStatus"}}},
		{"users", users, `externalId co "x"`, scim.Error{Message: `Unsupported operator "co" for attribute "externalId"`,
			SupportedOperators: []string{"eq", "ne", "sw", "pr"}}},
		{"users", users, `username gt null`, scim.Error{Message: `Operator "gt" cannot be used with null (attribute "username")`}},
		{"users", users, `username eq 5`, scim.Error{Message: `Attribute "username" expects a string value`}},
	} {
		// An empty IDs list could be answered without reading anything; the
		// filter is refused all the same.
		for _, p := range []store.Page{{}, {IDs: []string{}}} {
			p.Filter = filter(t, c.filter)
			got, total, err := c.of(p)
			var se *scim.Error
			if !errors.As(err, &se) {
				t.Errorf("%s filtered by %s (IDs %v) = %v (total %d), %v; want *scim.Error %q", c.list, c.filter, p.IDs, got, total, err, c.want.Message)
				continue
			}
			if !reflect.DeepEqual(*se, c.want) {
				t.Errorf("%s filtered by %s: error %#v, want %#v", c.list, c.filter, *se, c.want)
			}
		}
	}
}

// testUserPopulationRestriction lists the users of some populations only,
// as for an actor whose roles reach only those.
func testUserPopulationRestriction(t *testing.T, s store.Store) {
	ctx := t.Context()
	e := newEnv(t, s)
	popA, popB, popC := newPopulation(t, s, e.ID, "A"), newPopulation(t, s, e.ID, "B"), newPopulation(t, s, e.ID, "C")
	a1, a2 := newUser(t, s, e.ID, popA.ID, "anna"), newUser(t, s, e.ID, popA.ID, "arne")
	b1 := newUser(t, s, e.ID, popB.ID, "alba")
	c1 := newUser(t, s, e.ID, popC.ID, "carl")
	other, otherPop := envWithPop(t, s)
	newUser(t, s, other.ID, otherPop.ID, "anna")

	sorted := func(us ...*store.User) []string {
		out := []string{}
		for _, u := range us {
			out = append(out, u.ID)
		}
		slices.Sort(out)
		return out
	}
	for _, c := range []struct {
		what string
		page store.Page
		want []string
	}{
		{"two populations", store.Page{PopulationIDs: []string{popA.ID, popC.ID}}, sorted(a1, a2, c1)},
		{"one population, named twice", store.Page{PopulationIDs: []string{popB.ID, popB.ID}}, sorted(b1)},
		{"and a filter", store.Page{PopulationIDs: []string{popA.ID, popC.ID}, Filter: filter(t, `username sw "a"`)}, sorted(a1, a2)},
		{"and a filter on another population", store.Page{PopulationIDs: []string{popA.ID}, Filter: filter(t, `population.id eq "`+popB.ID+`"`)}, sorted()},
		{"and IDs", store.Page{PopulationIDs: []string{popA.ID, popC.ID}, IDs: []string{a1.ID, b1.ID}}, sorted(a1)},
		{"another environment's population", store.Page{PopulationIDs: []string{otherPop.ID}}, sorted()},
		{"no population", store.Page{PopulationIDs: []string{}}, sorted()},
		{"no restriction", store.Page{}, sorted(a1, a2, b1, c1)},
	} {
		got, total, err := s.ListUsers(ctx, e.ID, c.page)
		must(t, err, "ListUsers restricted to "+c.what)
		if total != len(c.want) || !slices.Equal(ids(got), c.want) {
			t.Errorf("ListUsers restricted to %s = %v (total %d), want %v", c.what, ids(got), total, c.want)
		}
	}

	// Paging keeps the restriction and its count.
	want := sorted(a1, a2, c1)
	p := store.Page{PopulationIDs: []string{popC.ID, popA.ID}, Limit: 2}
	first, total, err := s.ListUsers(ctx, e.ID, p)
	must(t, err, "ListUsers restricted, page 1")
	p.After = first[len(first)-1].ID
	second, total2, err := s.ListUsers(ctx, e.ID, p)
	must(t, err, "ListUsers restricted, page 2")
	if got := append(ids(first), ids(second)...); total != 3 || total2 != 3 || len(first) != 2 || !slices.Equal(got, want) {
		t.Errorf("restricted pages = %v then %v (totals %d, %d), want %v (total 3)", ids(first), ids(second), total, total2, want)
	}

	// Only users belong to populations: the other lists refuse the
	// restriction rather than list everything.
	restricted := store.Page{PopulationIDs: []string{popA.ID}}
	for what, list := range map[string]lister{
		"ListEnvironments":     func(p store.Page) ([]string, int, error) { return idsOf(s.ListEnvironments(ctx, e.OrganizationID, p)) },
		"ListPopulations":      func(p store.Page) ([]string, int, error) { return idsOf(s.ListPopulations(ctx, e.ID, p)) },
		"ListApplicationsPage": func(p store.Page) ([]string, int, error) { return idsOf(s.ListApplicationsPage(ctx, e.ID, p)) },
	} {
		if got, total, err := list(restricted); err == nil {
			t.Errorf("%s with PopulationIDs = %v (total %d), want an error", what, got, total)
		}
	}
}
