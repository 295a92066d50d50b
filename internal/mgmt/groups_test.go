package mgmt_test

import (
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/roles"
)

// Bodies as PingOne's SDK (management.Group) marshals them: name always,
// the optional members when set; population as {"id"}. Membership and
// nesting POSTs send {"id": groupId} (GroupMembership, GroupNesting).

func groupBody(name string) map[string]any {
	return map[string]any{"name": name, "description": "The " + name, "externalId": "ext-" + name,
		"customData": map[string]any{"groupOwner": "Tom Jones", "securityGroup": true}}
}

// groupAPI calls one environment's group and user endpoints.
type groupAPI struct{ cfgAPI }

func (c groupAPI) create(t *testing.T, body map[string]any) string {
	t.Helper()
	return checkID(t, c.ok(t, "POST", "/groups", body, http.StatusCreated), "id")
}

func (c groupAPI) user(t *testing.T, name, pop string) string {
	t.Helper()
	body := map[string]any{"username": name}
	if pop != "" {
		body["population"] = map[string]any{"id": pop}
	}
	return checkID(t, c.ok(t, "POST", "/users", body, http.StatusCreated), "id")
}

// ids lists a collection and returns its items' ids, sorted.
func (c groupAPI) ids(t *testing.T, path, collection string) []string {
	t.Helper()
	var out []string
	for _, it := range c.list(t, path, collection) {
		out = append(out, it["id"].(string))
	}
	slices.Sort(out)
	return out
}

func sortedIDs(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

func TestGroupsAsSDK(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			c := groupAPI{newCfgAPI(t, s, "Groups")}
			other := groupAPI{newCfgAPI(t, s, "Other groups")}
			t.Run("CRUD", func(t *testing.T) { testGroupCRUD(t, c, other) })
			t.Run("Memberships", func(t *testing.T) { testGroupMembershipsAPI(t, c, other) })
			t.Run("RoleAssignments", func(t *testing.T) { testGroupRoleAssignmentsAPI(t, c) })
		})
	}
}

func testGroupCRUD(t *testing.T, c, other groupAPI) {
	envHref := c.s.APIPath + "/environments/" + c.env
	pop := newPop(t, c.s, c.env, "Group people")

	created := c.ok(t, "POST", "/groups", groupBody("Managers"), http.StatusCreated)
	id := checkID(t, created, "id")
	wantFields(t, created, map[string]any{"name": "Managers", "description": "The Managers", "externalId": "ext-Managers",
		"customData": map[string]any{"groupOwner": "Tom Jones", "securityGroup": true}, "environment.id": c.env,
		"population": nil, "directMemberCounts.users": 0, "totalMemberCounts": nil, "userFilter": nil,
		"_links.self.href": envHref + "/groups/" + id, "_links.environment.href": envHref})
	got := c.ok(t, "GET", "/groups/"+id, nil, http.StatusOK)
	if !cfgSameJSON(got, created) {
		t.Errorf("GET differs from POST:\n%v\n%v", got, created)
	}
	wantFields(t, c.ok(t, "GET", "/groups/"+id+"?include=totalMemberCounts", nil, http.StatusOK),
		map[string]any{"directMemberCounts.users": 0, "totalMemberCounts.users": 0})

	// A population group; the minimal body.
	popGroup := c.ok(t, "POST", "/groups", map[string]any{"name": "Local", "population": map[string]any{"id": pop},
		"userFilter": `title eq "Manager"`}, http.StatusCreated)
	popGroupID := checkID(t, popGroup, "id")
	wantFields(t, popGroup, map[string]any{"population.id": pop, "_links.population.href": envHref + "/populations/" + pop,
		"userFilter": `title eq "Manager"`, "description": nil, "externalId": nil, "customData": nil})

	// A PUT of what GET returned changes nothing (nodrift), for both.
	for _, gid := range []string{id, popGroupID} {
		before := c.ok(t, "GET", "/groups/"+gid, nil, http.StatusOK)
		put := c.ok(t, "PUT", "/groups/"+gid, before, http.StatusOK)
		after := c.ok(t, "GET", "/groups/"+gid, nil, http.StatusOK)
		if !cfgSameJSON(put, before) || !cfgSameJSON(after, before) {
			t.Errorf("PUT of GET changed group %s:\n%v\n%v\n%v", gid, before, put, after)
		}
	}
	// PUT replaces: what it leaves out goes; the population stays.
	put := c.ok(t, "PUT", "/groups/"+popGroupID, map[string]any{"name": "Local team"}, http.StatusOK)
	wantFields(t, put, map[string]any{"name": "Local team", "userFilter": nil, "population.id": pop})

	// Lists: filters PingOne documents, paging through _links.next.
	for i := range 3 {
		c.create(t, map[string]any{"name": "Paged " + string(rune('A'+i))})
	}
	list := c.ok(t, "GET", "/groups?filter="+url.QueryEscape(`name sw "paged"`)+"&limit=2", nil, http.StatusOK)
	wantFields(t, list, map[string]any{"count": 3, "size": 2})
	next, _ := get(list, "_links.next.href").(string)
	if next == "" {
		t.Fatalf("no next link: %v", list)
	}
	rest := c.ok(t, "GET", next, nil, http.StatusOK)
	wantFields(t, rest, map[string]any{"size": 1, "_links.next": nil})
	for _, tc := range []struct{ f, want string }{
		{`name eq "managers"`, id},
		{`externalId eq "ext-Managers"`, id},
		{`population.id eq "` + pop + `"`, popGroupID},
		{`(name eq "Managers") and (externalId sw "ext")`, id},
		{`id eq "` + popGroupID + `"`, popGroupID},
	} {
		l := c.ok(t, "GET", "/groups?filter="+url.QueryEscape(tc.f), nil, http.StatusOK)
		items, _ := get(l, "_embedded.groups").([]any)
		if len(items) != 1 || items[0].(map[string]any)["id"] != tc.want {
			t.Errorf("filter %s: %v", tc.f, l)
		}
		wantFields(t, items[0].(map[string]any), map[string]any{"directMemberCounts.users": 0, "totalMemberCounts": nil})
	}

	// The error matrix of the group resource.
	for _, tc := range []struct {
		name, method, path string
		body               any
		want               wantErr
	}{
		{"name taken, any case", "POST", "/groups", map[string]any{"name": "MANAGERS"}, cfgNotUnique("name")},
		{"population group named as an environment group", "POST", "/groups",
			map[string]any{"name": "managers", "population": map[string]any{"id": pop}}, cfgNotUnique("name")},
		{"no name", "POST", "/groups", map[string]any{"description": "x"}, cfgRequired("name")},
		{"blank name", "POST", "/groups", map[string]any{"name": "  "}, cfgRequired("name")},
		{"unknown population", "POST", "/groups", map[string]any{"name": "X", "population": map[string]any{"id": uuid.NewString()}},
			cfgBadValue("population.id")},
		{"population without id", "POST", "/groups", map[string]any{"name": "X", "population": map[string]any{}}, cfgRequired("population.id")},
		{"customData not an object", "POST", "/groups", map[string]any{"name": "X", "customData": []any{1}}, cfgBadValue("customData")},
		{"bad userFilter", "POST", "/groups", map[string]any{"name": "X", "userFilter": `title eq`},
			wantErr{400, "INVALID_DATA", "INVALID_FILTER", "userFilter"}},
		{"name of the wrong type", "POST", "/groups", map[string]any{"name": 5}, wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "name"}},
		{"malformed JSON", "POST", "/groups", `{"name":`, wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", ""}},
		{"moving a group", "PUT", "/groups/" + id, map[string]any{"name": "Managers", "population": map[string]any{"id": pop}},
			cfgBadValue("population.id")},
		{"renaming onto a taken name", "PUT", "/groups/" + popGroupID, map[string]any{"name": "Managers"}, cfgNotUnique("name")},
		{"unknown group", "GET", "/groups/" + uuid.NewString(), nil, cfgNotFound},
		{"another environment's group", "GET", "/groups/" + id, nil, cfgNotFound},
		{"bad filter", "GET", "/groups?filter=" + url.QueryEscape(`description eq "x"`), nil,
			wantErr{400, "INVALID_REQUEST", "INVALID_FILTER", "filter"}},
		{"bad include", "GET", "/groups/" + id + "?include=everything", nil, wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "include"}},
		{"bad limit", "GET", "/groups?limit=0", nil, wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "limit"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := c
			if tc.name == "another environment's group" {
				api = other
			}
			api.fail(t, tc.method, tc.path, tc.body, tc.want)
		})
	}
	// Wrong content type.
	r := doNo5xx(t, c.s, apptest.Request{Method: "POST", URL: c.url("/groups"), Token: c.tok, Body: `{"name":"X"}`, ContentType: "text/plain"})
	checkAnswer(t, r, wantErr{415, "INVALID_REQUEST", "INVALID_VALUE", "Content-Type"})

	// Delete: 204, then 404; another environment cannot.
	other.fail(t, "DELETE", "/groups/"+popGroupID, nil, cfgNotFound)
	must(t, c.do(t, "DELETE", "/groups/"+popGroupID, nil), http.StatusNoContent)
	c.fail(t, "GET", "/groups/"+popGroupID, nil, cfgNotFound)
	c.fail(t, "DELETE", "/groups/"+popGroupID, nil, cfgNotFound)
}

func testGroupMembershipsAPI(t *testing.T, c, other groupAPI) {
	popA := newPop(t, c.s, c.env, "Members A")
	popB := newPop(t, c.s, c.env, "Members B")
	ann := c.user(t, "ann", popA)
	bob := c.user(t, "bob", popB)
	stranger := other.user(t, "stranger", "")
	all := c.create(t, map[string]any{"name": "All"})
	sales := c.create(t, map[string]any{"name": "Sales", "population": map[string]any{"id": popA}})
	emea := c.create(t, map[string]any{"name": "EMEA", "population": map[string]any{"id": popA}})
	foreign := other.create(t, map[string]any{"name": "Foreign"})

	// Users join groups: 201 with the membership.
	m := c.ok(t, "POST", "/users/"+ann+"/memberOfGroups", map[string]any{"id": sales}, http.StatusCreated)
	wantFields(t, m, map[string]any{"id": sales, "name": "Sales", "type": "DIRECT", "environment.id": c.env,
		"_links.self.href": c.s.APIPath + c.url("/users/"+ann+"/memberOfGroups/"+sales)})
	c.ok(t, "POST", "/users/"+ann+"/memberOfGroups", map[string]any{"id": emea}, http.StatusCreated)
	c.ok(t, "POST", "/users/"+bob+"/memberOfGroups", map[string]any{"id": all}, http.StatusCreated)

	// Sales nested in All: ann is in All through it.
	n := c.ok(t, "POST", "/groups/"+sales+"/memberOfGroups", map[string]any{"id": all}, http.StatusCreated)
	wantFields(t, n, map[string]any{"id": all, "type": "DIRECT",
		"_links.self.href": c.s.APIPath + c.url("/groups/"+sales+"/memberOfGroups/"+all)})
	if got := c.ids(t, "/groups/"+sales+"/memberOfGroups", "groupMemberships"); !slices.Equal(got, []string{all}) {
		t.Errorf("Sales is in %v, want All", got)
	}
	exp := c.ok(t, "GET", "/groups/"+sales+"/memberOfGroups/"+all+"?expand=group", nil, http.StatusOK)
	wantFields(t, exp, map[string]any{"id": all, "_embedded.group.name": "All"})

	// The user's memberships: direct and indirect, with PingOne's filters
	// and expand=group.
	if got := c.ids(t, "/users/"+ann+"/memberOfGroups", "groupMemberships"); !slices.Equal(got, sortedIDs(all, sales, emea)) {
		t.Errorf("ann's groups %v", got)
	}
	l := c.ok(t, "GET", "/users/"+ann+"/memberOfGroups?expand=group&limit=100&filter="+url.QueryEscape(`type eq "INDIRECT"`), nil, http.StatusOK)
	items := get(l, "_embedded.groupMemberships").([]any)
	if len(items) != 1 {
		t.Fatalf("indirect memberships: %v", l)
	}
	wantFields(t, items[0].(map[string]any), map[string]any{"id": all, "name": "All", "type": "INDIRECT",
		"_embedded.group.id": all, "_embedded.group.name": "All", "_embedded.group.environment.id": c.env})
	if got := c.ids(t, "/users/"+ann+"/memberOfGroups?filter="+url.QueryEscape(`type eq "DIRECT"`), "groupMemberships"); !slices.Equal(got, sortedIDs(sales, emea)) {
		t.Errorf("ann's direct groups %v", got)
	}
	one := c.ok(t, "GET", "/users/"+ann+"/memberOfGroups/"+all+"?expand=group", nil, http.StatusOK)
	wantFields(t, one, map[string]any{"id": all, "type": "INDIRECT", "_embedded.group.name": "All"})
	c.fail(t, "GET", "/users/"+bob+"/memberOfGroups/"+sales, nil, cfgNotFound)

	// Counts.
	wantFields(t, c.ok(t, "GET", "/groups/"+all+"?include=totalMemberCounts", nil, http.StatusOK),
		map[string]any{"directMemberCounts.users": 1, "totalMemberCounts.users": 2})

	// GET /users?filter=memberOfGroups[id eq "…"]: nested members too.
	users := func(f string) []string {
		t.Helper()
		return c.ids(t, "/users?filter="+url.QueryEscape(f), "users")
	}
	if got := users(`memberOfGroups[id eq "` + all + `"]`); !slices.Equal(got, sortedIDs(ann, bob)) {
		t.Errorf("members of All: %v", got)
	}
	if got := users(`memberOfGroups[id eq "` + all + `"] and username eq "bob"`); !slices.Equal(got, []string{bob}) {
		t.Errorf("bob in All: %v", got)
	}
	if got := users(`memberOfGroups[id eq "` + foreign + `"]`); len(got) != 0 {
		t.Errorf("members of another environment's group: %v", got)
	}
	c.fail(t, "GET", "/users?filter="+url.QueryEscape(`memberOfGroups[name eq "All"]`), nil, wantErr{400, "INVALID_REQUEST", "INVALID_FILTER", "filter"})

	// The error matrix of memberships and nesting.
	for _, tc := range []struct {
		name, method, path string
		body               any
		want               wantErr
	}{
		{"duplicate membership", "POST", "/users/" + ann + "/memberOfGroups", map[string]any{"id": sales}, cfgNotUnique("id")},
		{"unknown group", "POST", "/users/" + ann + "/memberOfGroups", map[string]any{"id": uuid.NewString()}, cfgBadValue("id")},
		{"another environment's group", "POST", "/users/" + ann + "/memberOfGroups", map[string]any{"id": foreign}, cfgBadValue("id")},
		{"not a group id", "POST", "/users/" + ann + "/memberOfGroups", map[string]any{"id": "x"}, cfgBadValue("id")},
		{"another population's group", "POST", "/users/" + bob + "/memberOfGroups", map[string]any{"id": sales}, cfgBadValue("id")},
		{"no id", "POST", "/users/" + ann + "/memberOfGroups", map[string]any{}, cfgRequired("id")},
		{"malformed body", "POST", "/users/" + ann + "/memberOfGroups", `[`, wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", ""}},
		{"another environment's user", "POST", "/users/" + stranger + "/memberOfGroups", map[string]any{"id": all}, cfgNotFound},
		{"unknown user", "GET", "/users/" + uuid.NewString() + "/memberOfGroups", nil, cfgNotFound},
		{"bad expand", "GET", "/users/" + ann + "/memberOfGroups?expand=population", nil, wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "expand"}},
		{"bad membership filter", "GET", "/users/" + ann + "/memberOfGroups?filter=" + url.QueryEscape(`type gt "A"`), nil,
			wantErr{400, "INVALID_REQUEST", "INVALID_FILTER", "filter"}},
		{"removing a membership that is not", "DELETE", "/users/" + bob + "/memberOfGroups/" + sales, nil, cfgNotFound},
		{"nesting in itself", "POST", "/groups/" + all + "/memberOfGroups", map[string]any{"id": all}, cfgBadValue("id")},
		{"nesting cycle", "POST", "/groups/" + all + "/memberOfGroups", map[string]any{"id": sales}, cfgBadValue("id")},
		{"duplicate nesting", "POST", "/groups/" + sales + "/memberOfGroups", map[string]any{"id": all}, cfgNotUnique("id")},
		{"nesting in another environment's group", "POST", "/groups/" + all + "/memberOfGroups", map[string]any{"id": foreign}, cfgBadValue("id")},
		{"an environment group in a population group", "POST", "/groups/" + all + "/memberOfGroups", map[string]any{"id": emea}, cfgBadValue("id")},
		{"nesting of an unknown group", "POST", "/groups/" + uuid.NewString() + "/memberOfGroups", map[string]any{"id": all}, cfgNotFound},
		{"unnesting what is not nested", "DELETE", "/groups/" + emea + "/memberOfGroups/" + all, nil, cfgNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) { c.fail(t, tc.method, tc.path, tc.body, tc.want) })
	}
	other.fail(t, "GET", "/users/"+ann+"/memberOfGroups", nil, cfgNotFound)
	other.fail(t, "DELETE", "/users/"+ann+"/memberOfGroups/"+sales, nil, cfgNotFound)
	other.fail(t, "GET", "/groups/"+sales+"/memberOfGroups", nil, cfgNotFound)

	// Leaving: a membership, a nesting; deleting a group ends both.
	must(t, c.do(t, "DELETE", "/groups/"+sales+"/memberOfGroups/"+all, nil), http.StatusNoContent)
	if got := c.ids(t, "/users/"+ann+"/memberOfGroups", "groupMemberships"); !slices.Equal(got, sortedIDs(sales, emea)) {
		t.Errorf("ann's groups after unnesting %v", got)
	}
	must(t, c.do(t, "DELETE", "/users/"+ann+"/memberOfGroups/"+emea, nil), http.StatusNoContent)
	must(t, c.do(t, "DELETE", "/groups/"+sales, nil), http.StatusNoContent)
	if got := c.ids(t, "/users/"+ann+"/memberOfGroups", "groupMemberships"); len(got) != 0 {
		t.Errorf("ann's groups after the deletes %v", got)
	}
	// Deleting a user ends its memberships.
	must(t, c.do(t, "DELETE", "/users/"+bob, nil), http.StatusNoContent)
	wantFields(t, c.ok(t, "GET", "/groups/"+all+"?include=totalMemberCounts", nil, http.StatusOK),
		map[string]any{"directMemberCounts.users": 0, "totalMemberCounts.users": 0})
}

func testGroupRoleAssignmentsAPI(t *testing.T, c groupAPI) {
	g := c.create(t, map[string]any{"name": "Admins"})
	base := "/groups/" + g + "/roleAssignments"
	ra := c.ok(t, "POST", base, map[string]any{"role": map[string]any{"id": roles.IdentityDataAdmin.ID},
		"scope": map[string]any{"id": c.env, "type": "ENVIRONMENT"}}, http.StatusCreated)
	raID := checkID(t, ra, "id")
	wantFields(t, ra, map[string]any{"group.id": g, "role.id": roles.IdentityDataAdmin.ID, "scope.type": "ENVIRONMENT",
		"scope.id": c.env, "environment.id": c.env, "readOnly": false, "user": nil,
		"_links.self.href": c.s.APIPath + c.url(base+"/"+raID)})
	if got := c.ids(t, base, "roleAssignments"); !slices.Equal(got, []string{raID}) {
		t.Errorf("group role assignments %v", got)
	}
	c.fail(t, "POST", base, map[string]any{"role": map[string]any{"id": roles.IdentityDataAdmin.ID},
		"scope": map[string]any{"id": c.env, "type": "APPLICATION"}}, cfgBadValue("scope.type"))
	c.fail(t, "POST", base, map[string]any{"role": map[string]any{"id": uuid.NewString()},
		"scope": map[string]any{"id": c.env, "type": "ENVIRONMENT"}}, cfgBadValue("role.id"))
	c.fail(t, "POST", base, map[string]any{"scope": map[string]any{"id": c.env, "type": "ENVIRONMENT"}}, cfgRequired("role.id"))
	c.fail(t, "GET", "/groups/"+uuid.NewString()+"/roleAssignments", nil, cfgNotFound)
	// Deleting the group takes its role assignments.
	must(t, c.do(t, "DELETE", "/groups/"+g, nil), http.StatusNoContent)
	c.fail(t, "GET", base+"/"+raID, nil, cfgNotFound)
}

// TestGroupRaces: two nestings that would close a cycle, at once, many
// times: one of each pair wins; 50 adds of one membership: one 201, the
// others PingOne's uniqueness error.
func TestGroupRaces(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			c := groupAPI{newCfgAPI(t, s, "Group races")}
			for round := range 5 {
				a := c.create(t, map[string]any{"name": "A" + string(rune('0'+round))})
				bb := c.create(t, map[string]any{"name": "B" + string(rune('0'+round))})
				var ab, ba *apptest.Response
				var wg sync.WaitGroup
				start := make(chan struct{})
				wg.Go(func() { <-start; ab = c.do(t, "POST", "/groups/"+a+"/memberOfGroups", map[string]any{"id": bb}) })
				wg.Go(func() { <-start; ba = c.do(t, "POST", "/groups/"+bb+"/memberOfGroups", map[string]any{"id": a}) })
				close(start)
				wg.Wait()
				if (ab.Status == http.StatusCreated) == (ba.Status == http.StatusCreated) {
					t.Fatalf("round %d: %d and %d, want one 201", round, ab.Status, ba.Status)
				}
				for _, r := range []*apptest.Response{ab, ba} {
					if r.Status != http.StatusCreated {
						checkAnswer(t, r, cfgBadValue("id"))
					}
				}
			}

			u := c.user(t, "racer", "")
			g := c.create(t, map[string]any{"name": "Raced"})
			const n = 50
			res := make([]*apptest.Response, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() { <-start; res[i] = c.do(t, "POST", "/users/"+u+"/memberOfGroups", map[string]any{"id": g}) })
			}
			close(start)
			wg.Wait()
			won := 0
			for _, r := range res {
				if r.Status == http.StatusCreated {
					won++
					continue
				}
				checkAnswer(t, r, cfgNotUnique("id"))
			}
			if won != 1 {
				t.Errorf("%d adds answered 201, want 1", won)
			}
		})
	}
}

// TestPopulationScopedGroups: an actor whose role reaches one population
// sees and changes that population's groups and memberships alone.
func TestPopulationScopedGroups(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			admin := groupAPI{newCfgAPI(t, s, "Scoped groups")}
			p1 := newPop(t, s, admin.env, "P1")
			p2 := newPop(t, s, admin.env, "P2")
			g1 := admin.create(t, map[string]any{"name": "G1", "population": map[string]any{"id": p1}})
			g2 := admin.create(t, map[string]any{"name": "G2", "population": map[string]any{"id": p2}})
			ge := admin.create(t, map[string]any{"name": "Everyone"})
			u1 := admin.user(t, "u1", p1)
			u2 := admin.user(t, "u2", p2)
			admin.ok(t, "POST", "/users/"+u1+"/memberOfGroups", map[string]any{"id": ge}, http.StatusCreated)
			admin.ok(t, "POST", "/users/"+u2+"/memberOfGroups", map[string]any{"id": g2}, http.StatusCreated)

			pa := admin
			pa.tok = s.Token(t, s.CreateWorker(t, admin.env, "CLIENT_SECRET_BASIC", [3]string{roles.IdentityDataAdmin.ID, roles.ScopePopulation, p1}))
			if got := pa.ids(t, "/groups", "groups"); !slices.Equal(got, []string{g1}) {
				t.Errorf("population admin lists %v, want G1 alone", got)
			}
			for _, r := range []struct{ method, path string }{
				{"GET", "/groups/" + g2}, {"GET", "/groups/" + ge}, {"DELETE", "/groups/" + g2}, {"GET", "/groups/" + g2 + "/memberOfGroups"},
				{"GET", "/users/" + u2 + "/memberOfGroups"}, {"DELETE", "/users/" + u2 + "/memberOfGroups/" + g2},
			} {
				pa.fail(t, r.method, r.path, nil, cfgNotFound)
			}
			pa.fail(t, "PUT", "/groups/"+g2, map[string]any{"name": "Mine"}, cfgNotFound)
			// Joining: its users to its groups only.
			pa.ok(t, "POST", "/users/"+u1+"/memberOfGroups", map[string]any{"id": g1}, http.StatusCreated)
			pa.fail(t, "POST", "/users/"+u1+"/memberOfGroups", map[string]any{"id": g2}, cfgBadValue("id"))
			pa.fail(t, "POST", "/users/"+u1+"/memberOfGroups", map[string]any{"id": ge}, cfgBadValue("id"))
			// Its user's environment-wide group is beyond it.
			if got := pa.ids(t, "/users/"+u1+"/memberOfGroups", "groupMemberships"); !slices.Equal(got, []string{g1}) {
				t.Errorf("population admin sees u1 in %v, want G1 alone", got)
			}
			// Creating: in P1 only.
			pa.ok(t, "POST", "/groups", map[string]any{"name": "G1b", "population": map[string]any{"id": p1}}, http.StatusCreated)
			pa.fail(t, "POST", "/groups", map[string]any{"name": "G2b", "population": map[string]any{"id": p2}},
				wantErr{403, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""})
			pa.fail(t, "POST", "/groups", map[string]any{"name": "Env"}, wantErr{403, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""})
			// G2 and its membership are unchanged.
			wantFields(t, admin.ok(t, "GET", "/groups/"+g2+"?include=totalMemberCounts", nil, http.StatusOK),
				map[string]any{"name": "G2", "directMemberCounts.users": 1})

			// A reader of another environment's population sees nothing here.
			ro := admin
			ro.tok = s.Token(t, s.CreateWorker(t, admin.env, "CLIENT_SECRET_BASIC", [3]string{roles.IdentityDataReadOnly.ID, roles.ScopePopulation, p1}))
			ro.fail(t, "POST", "/groups", map[string]any{"name": "G1c", "population": map[string]any{"id": p1}},
				wantErr{403, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""})
			if got := ro.ids(t, "/groups", "groups"); len(got) != 2 {
				t.Errorf("population reader lists %v, want P1's two", got)
			}
		})
	}
}

// TestGroupIsolation: two environments with groups of one name never see,
// change or reach each other's groups, nestings or memberships.
func TestGroupIsolation(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			a := groupAPI{newCfgAPI(t, s, "Group isolation A")}
			bb := groupAPI{newCfgAPI(t, s, "Group isolation B")}
			ga := a.create(t, map[string]any{"name": "Staff"})
			gb := bb.create(t, map[string]any{"name": "Staff"}) // the same name is fine elsewhere
			ua := a.user(t, "same", "")
			ub := bb.user(t, "same", "")
			a.ok(t, "POST", "/users/"+ua+"/memberOfGroups", map[string]any{"id": ga}, http.StatusCreated)
			bb.ok(t, "POST", "/users/"+ub+"/memberOfGroups", map[string]any{"id": gb}, http.StatusCreated)
			before := adminGet(t, s, "/environments/"+bb.env+"/groups/"+gb+"?include=totalMemberCounts")

			if got := a.ids(t, "/groups", "groups"); !slices.Equal(got, []string{ga}) {
				t.Errorf("A lists %v", got)
			}
			if got := a.ids(t, "/groups?filter="+url.QueryEscape(`id eq "`+gb+`"`), "groups"); len(got) != 0 {
				t.Errorf("A finds B's group by id: %v", got)
			}
			for _, r := range []struct {
				method, path string
				body         any
				want         wantErr
			}{
				{"GET", "/groups/" + gb, nil, cfgNotFound},
				{"PUT", "/groups/" + gb, map[string]any{"name": "Taken"}, cfgNotFound},
				{"DELETE", "/groups/" + gb, nil, cfgNotFound},
				{"POST", "/groups/" + gb + "/memberOfGroups", map[string]any{"id": ga}, cfgNotFound},
				{"POST", "/groups/" + ga + "/memberOfGroups", map[string]any{"id": gb}, cfgBadValue("id")},
				{"GET", "/groups/" + gb + "/roleAssignments", nil, cfgNotFound},
				{"POST", "/users/" + ua + "/memberOfGroups", map[string]any{"id": gb}, cfgBadValue("id")},
				{"POST", "/users/" + ub + "/memberOfGroups", map[string]any{"id": ga}, cfgNotFound},
				{"GET", "/users/" + ub + "/memberOfGroups", nil, cfgNotFound},
				{"GET", "/users/" + ua + "/memberOfGroups/" + gb, nil, cfgNotFound},
				{"DELETE", "/users/" + ub + "/memberOfGroups/" + gb, nil, cfgNotFound},
			} {
				a.fail(t, r.method, r.path, r.body, r.want)
			}
			if got := a.ids(t, "/users?filter="+url.QueryEscape(`memberOfGroups[id eq "`+gb+`"]`), "users"); len(got) != 0 {
				t.Errorf("A's users in B's group: %v", got)
			}
			if after := adminGet(t, s, "/environments/"+bb.env+"/groups/"+gb+"?include=totalMemberCounts"); string(after) != string(before) {
				t.Errorf("B's group changed:\n%s\n%s", before, after)
			}
			// Deleting A takes A's groups alone.
			must(t, doNo5xx(t, s, apptest.Request{Method: "DELETE", URL: "/environments/" + a.env, Token: s.AdminToken(t)}), http.StatusNoContent)
			if after := adminGet(t, s, "/environments/"+bb.env+"/groups/"+gb+"?include=totalMemberCounts"); string(after) != string(before) {
				t.Errorf("B's group changed by A's delete:\n%s\n%s", before, after)
			}
		})
	}
}
