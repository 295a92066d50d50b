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

func mkGroup(envID, popID, name string) *store.Group {
	ts := now()
	return &store.Group{ID: newID(), EnvironmentID: envID, PopulationID: popID, Name: name, ExternalID: "ext-" + name,
		Data: json.RawMessage(`{"description":"the ` + name + `","customData":{"k":[1,true]}}`), CreatedAt: ts, UpdatedAt: ts}
}

func newGroup(t *testing.T, s store.Store, envID, popID, name string) *store.Group {
	t.Helper()
	g := mkGroup(envID, popID, name)
	must(t, s.CreateGroup(t.Context(), g), "CreateGroup "+name)
	return g
}

func testGroupSuite(t *testing.T, s store.Store) {
	for _, tc := range []struct {
		name string
		run  func(*testing.T, store.Store)
	}{
		{"CRUD", testGroups},
		{"Names", testGroupNames},
		{"Filters", testGroupFilters},
		{"Memberships", testGroupMemberships},
		{"Nesting", testGroupNesting},
		{"RoleAssignments", testGroupRoleAssignments},
		{"Deletes", testGroupDeletes},
		{"MembershipRace", testGroupMembershipRace},
		{"NestingRace", testGroupNestingRace},
		{"PopulationMoveRace", testGroupPopulationMoveRace},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, s) })
	}
}

func testGroups(t *testing.T, s store.Store) {
	ctx := t.Context()
	e, pop := envWithPop(t, s)
	other, _ := envWithPop(t, s)
	g1 := newGroup(t, s, e.ID, "", "Admins")
	g2 := mkGroup(e.ID, pop.ID, "Staff")
	g2.ExternalID, g2.Data = "", nil
	must(t, s.CreateGroup(ctx, g2), "CreateGroup without optional fields")

	for _, want := range []*store.Group{g1, g2} {
		got, err := s.GetGroup(ctx, e.ID, want.ID)
		must(t, err, "GetGroup")
		checkRecord(t, "GetGroup", got, want)
		_, err = s.GetGroup(ctx, other.ID, want.ID)
		wantErr(t, err, store.ErrNotFound, "GetGroup from another environment")
	}
	list, total, err := s.ListGroups(ctx, e.ID, store.Page{})
	must(t, err, "ListGroups")
	if total != 2 {
		t.Errorf("ListGroups total = %d, want 2", total)
	}
	checkSet(t, "ListGroups", list, *g1, *g2)
	list, total, err = s.ListGroups(ctx, e.ID, store.Page{PopulationIDs: []string{pop.ID}})
	must(t, err, "ListGroups of a population")
	if total != 1 {
		t.Errorf("ListGroups of a population total = %d, want 1", total)
	}
	checkSet(t, "ListGroups of a population", list, *g2)
	list, _, err = s.ListGroups(ctx, other.ID, store.Page{})
	must(t, err, "ListGroups of another environment")
	checkSet(t, "ListGroups of another environment", list)

	upd := *g2
	upd.Name, upd.ExternalID, upd.Data = "Employees", "x-1", json.RawMessage(`{"userFilter":"title eq \"Manager\""}`)
	upd.PopulationID = "" // the population stays
	upd.UpdatedAt = now().Add(time.Minute)
	must(t, s.UpdateGroup(ctx, &upd), "UpdateGroup")
	got, err := s.GetGroup(ctx, e.ID, g2.ID)
	must(t, err, "GetGroup after update")
	upd.PopulationID = pop.ID
	checkRecord(t, "GetGroup after update", got, upd)

	wantErr(t, s.UpdateGroup(ctx, mkGroup(e.ID, "", "Ghost")), store.ErrNotFound, "UpdateGroup(unknown)")
	foreign := *g1
	foreign.EnvironmentID = other.ID
	wantErr(t, s.UpdateGroup(ctx, &foreign), store.ErrNotFound, "UpdateGroup from another environment")
	wantErr(t, s.DeleteGroup(ctx, other.ID, g1.ID), store.ErrNotFound, "DeleteGroup from another environment")
	wantErr(t, s.CreateGroup(ctx, mkGroup(e.ID, newID(), "Nowhere")), store.ErrReferenced, "CreateGroup in an unknown population")
	_, otherPop := envWithPop(t, s)
	wantErr(t, s.CreateGroup(ctx, mkGroup(e.ID, otherPop.ID, "Foreign")), store.ErrReferenced, "CreateGroup in another environment's population")
	wantErr(t, s.CreateGroup(ctx, mkGroup(newID(), "", "Orphans")), store.ErrReferenced, "CreateGroup in an unknown environment")

	must(t, s.DeleteGroup(ctx, e.ID, g1.ID), "DeleteGroup")
	_, err = s.GetGroup(ctx, e.ID, g1.ID)
	wantErr(t, err, store.ErrNotFound, "GetGroup after delete")
	wantErr(t, s.DeleteGroup(ctx, e.ID, g1.ID), store.ErrNotFound, "DeleteGroup twice")
}

// testGroupNames: PingOne's name rule — a population group may reuse the
// name of another population's group, never an environment-wide group's,
// whatever the case.
func testGroupNames(t *testing.T, s store.Store) {
	ctx := t.Context()
	e, popA := envWithPop(t, s)
	popB := newPopulation(t, s, e.ID, "Partners")
	other, _ := envWithPop(t, s)

	newGroup(t, s, e.ID, "", "Everyone")
	wantUnique(t, s.CreateGroup(ctx, mkGroup(e.ID, "", "EVERYONE")), "group", "name", "environment group twice")
	wantUnique(t, s.CreateGroup(ctx, mkGroup(e.ID, popA.ID, "everyone")), "group", "name", "population group named as an environment group")
	newGroup(t, s, other.ID, "", "Everyone") // another environment may

	a := newGroup(t, s, e.ID, popA.ID, "Sales")
	newGroup(t, s, e.ID, popB.ID, "sales") // another population may
	wantUnique(t, s.CreateGroup(ctx, mkGroup(e.ID, popA.ID, "SALES")), "group", "name", "population group twice")
	wantUnique(t, s.CreateGroup(ctx, mkGroup(e.ID, "", "Sales")), "group", "name", "environment group named as a population group")

	ren := *a
	ren.Name = "everyone"
	wantUnique(t, s.UpdateGroup(ctx, &ren), "group", "name", "rename onto an environment group")
	ren.Name = "SALES" // its own name in another case
	must(t, s.UpdateGroup(ctx, &ren), "UpdateGroup to its own name in another case")

	// Many writers of one name: one wins.
	const n = 10
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		pop := ""
		if i%2 == 1 {
			pop = popB.ID
		}
		wg.Go(func() {
			<-start
			errs[i] = s.CreateGroup(ctx, mkGroup(e.ID, pop, "Contended"))
		})
	}
	close(start)
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case errors.Is(err, store.ErrConflict):
		default:
			t.Errorf("creator %d: %v", i, err)
		}
	}
	if won != 1 {
		t.Errorf("%d creators of one name succeeded, want 1", won)
	}
}

func testGroupFilters(t *testing.T, s store.Store) {
	ctx := t.Context()
	e, pop := envWithPop(t, s)
	a := newGroup(t, s, e.ID, "", "Alpha")
	b := newGroup(t, s, e.ID, pop.ID, "Beta")
	c := newGroup(t, s, e.ID, "", "alphabet")
	for _, tc := range []struct {
		f    string
		want []*store.Group
	}{
		{`name eq "ALPHA"`, []*store.Group{a}},
		{`name sw "alpha"`, []*store.Group{a, c}},
		{`id eq "` + b.ID + `"`, []*store.Group{b}},
		{`externalId eq "ext-Beta"`, []*store.Group{b}},
		{`population.id eq "` + pop.ID + `"`, []*store.Group{b}},
		{`name co "ph" and not (externalId eq "ext-Alpha")`, []*store.Group{c}},
	} {
		got, total, err := s.ListGroups(ctx, e.ID, store.Page{Filter: filter(t, tc.f)})
		must(t, err, tc.f)
		want := []string{}
		for _, g := range tc.want {
			want = append(want, g.ID)
		}
		slices.Sort(want)
		if !slices.Equal(ids(got), want) || total != len(want) {
			t.Errorf("%s: %v (total %d), want %v", tc.f, ids(got), total, want)
		}
	}
	for _, f := range []string{`description eq "x"`, `name gt 1`, `id co "a"`} {
		if _, _, err := s.ListGroups(ctx, e.ID, store.Page{Filter: filter(t, f)}); err == nil {
			t.Errorf("%s: no error", f)
		}
	}
}

func testGroupMemberships(t *testing.T, s store.Store) {
	ctx := t.Context()
	e, popA := envWithPop(t, s)
	popB := newPopulation(t, s, e.ID, "Partners")
	other, otherPop := envWithPop(t, s)
	ann := newUser(t, s, e.ID, popA.ID, "ann")
	bob := newUser(t, s, e.ID, popB.ID, "bob")
	stranger := newUser(t, s, other.ID, otherPop.ID, "stranger")
	all := newGroup(t, s, e.ID, "", "All")
	sales := newGroup(t, s, e.ID, popA.ID, "Sales")
	emea := newGroup(t, s, e.ID, popA.ID, "EMEA")
	foreign := newGroup(t, s, other.ID, "", "Foreign")
	at := now()

	must(t, s.AddGroupMember(ctx, e.ID, ann.ID, emea.ID, at), "AddGroupMember emea")
	must(t, s.AddGroupMember(ctx, e.ID, ann.ID, sales.ID, at), "AddGroupMember sales")
	must(t, s.AddGroupMember(ctx, e.ID, bob.ID, all.ID, at), "AddGroupMember bob all")
	wantUnique(t, s.AddGroupMember(ctx, e.ID, ann.ID, sales.ID, at), "groupMembership", "id", "AddGroupMember twice")
	wantErr(t, s.AddGroupMember(ctx, e.ID, bob.ID, sales.ID, at), store.ErrGroupPopulation, "a user in another population's group")
	wantErr(t, s.AddGroupMember(ctx, e.ID, ann.ID, foreign.ID, at), store.ErrNotFound, "another environment's group")
	wantErr(t, s.AddGroupMember(ctx, e.ID, stranger.ID, all.ID, at), store.ErrNotFound, "another environment's user")
	wantErr(t, s.AddGroupMember(ctx, other.ID, stranger.ID, all.ID, at), store.ErrNotFound, "a group through another environment")
	wantErr(t, s.AddGroupMember(ctx, e.ID, newID(), all.ID, at), store.ErrNotFound, "an unknown user")

	// Sales is in All: ann belongs to All through it.
	must(t, s.NestGroup(ctx, e.ID, sales.ID, all.ID, at), "NestGroup sales in all")
	got, err := s.UserGroups(ctx, e.ID, ann.ID)
	must(t, err, "UserGroups")
	want := []store.UserGroup{{ID: all.ID, Name: "All"}, {ID: emea.ID, Name: "EMEA", Direct: true}, {ID: sales.ID, Name: "Sales", Direct: true}}
	if !slices.Equal(got, want) {
		t.Errorf("UserGroups = %+v, want %+v", got, want)
	}
	// A group reached directly and through nesting is direct.
	must(t, s.AddGroupMember(ctx, e.ID, ann.ID, all.ID, at), "AddGroupMember ann all")
	got, err = s.UserGroups(ctx, e.ID, ann.ID)
	must(t, err, "UserGroups")
	want[0].Direct = true
	if !slices.Equal(got, want) {
		t.Errorf("UserGroups = %+v, want %+v", got, want)
	}
	must(t, s.RemoveGroupMember(ctx, e.ID, ann.ID, all.ID), "RemoveGroupMember")
	wantErr(t, s.RemoveGroupMember(ctx, e.ID, ann.ID, all.ID), store.ErrNotFound, "RemoveGroupMember twice")
	wantErr(t, s.RemoveGroupMember(ctx, other.ID, ann.ID, sales.ID), store.ErrNotFound, "RemoveGroupMember through another environment")
	got, err = s.UserGroups(ctx, other.ID, ann.ID)
	must(t, err, "UserGroups through another environment")
	if len(got) != 0 {
		t.Errorf("UserGroups through another environment = %+v, want none", got)
	}

	// The paged listing: by id, filtered on type, id and name.
	page, total, err := s.ListUserGroupsPage(ctx, e.ID, ann.ID, store.Page{})
	must(t, err, "ListUserGroupsPage")
	if total != 3 || len(page) != 3 || !slices.IsSortedFunc(page, func(a, b store.UserGroup) int { return cmpString(a.ID, b.ID) }) {
		t.Errorf("ListUserGroupsPage = %+v (total %d), want 3 by id", page, total)
	}
	for _, tc := range []struct {
		f    string
		want []string
	}{
		{`type eq "DIRECT"`, []string{emea.ID, sales.ID}},
		{`type eq "INDIRECT"`, []string{all.ID}},
		{`id eq "` + all.ID + `"`, []string{all.ID}},
		{`name eq "emea"`, []string{emea.ID}},
	} {
		page, total, err := s.ListUserGroupsPage(ctx, e.ID, ann.ID, store.Page{Filter: filter(t, tc.f)})
		must(t, err, tc.f)
		slices.Sort(tc.want)
		if !slices.Equal(ids(page), tc.want) || total != len(tc.want) {
			t.Errorf("ListUserGroupsPage %s = %v (total %d), want %v", tc.f, ids(page), total, tc.want)
		}
	}
	page, _, err = s.ListUserGroupsPage(ctx, e.ID, ann.ID, store.Page{Limit: 2})
	must(t, err, "ListUserGroupsPage limit 2")
	rest, _, err := s.ListUserGroupsPage(ctx, e.ID, ann.ID, store.Page{Limit: 2, After: page[1].ID})
	must(t, err, "ListUserGroupsPage next")
	if len(page) != 2 || len(rest) != 1 {
		t.Errorf("pages of 2: %d then %d", len(page), len(rest))
	}

	// Counts: All has bob directly, ann through Sales.
	counts, err := s.CountGroupMembers(ctx, e.ID, []string{all.ID, sales.ID, emea.ID, foreign.ID}, true)
	must(t, err, "CountGroupMembers")
	wantCounts := map[string]store.GroupMemberCounts{all.ID: {Direct: 1, Total: 2}, sales.ID: {Direct: 1, Total: 1}, emea.ID: {Direct: 1, Total: 1}}
	if len(counts) != len(wantCounts) {
		t.Errorf("CountGroupMembers = %v, want %v", counts, wantCounts)
	}
	for id, w := range wantCounts {
		if counts[id] != w {
			t.Errorf("CountGroupMembers[%s] = %+v, want %+v", id, counts[id], w)
		}
	}
	counts, err = s.CountGroupMembers(ctx, e.ID, []string{all.ID}, false)
	must(t, err, "CountGroupMembers direct")
	if counts[all.ID] != (store.GroupMemberCounts{Direct: 1}) {
		t.Errorf("CountGroupMembers direct = %+v", counts[all.ID])
	}

	// The users filter: members directly or through a nested group.
	for _, tc := range []struct {
		f    string
		want []string
	}{
		{`memberOfGroups[id eq "` + all.ID + `"]`, []string{ann.ID, bob.ID}},
		{`memberOfGroups[id eq "` + sales.ID + `"]`, []string{ann.ID}},
		{`memberOfGroups[id eq "` + foreign.ID + `"]`, []string{}},
		{`memberOfGroups[id eq "` + all.ID + `"] and username eq "bob"`, []string{bob.ID}},
		{`not (memberOfGroups[id eq "` + emea.ID + `"])`, []string{bob.ID}},
	} {
		users, total, err := s.ListUsers(ctx, e.ID, store.Page{Filter: filter(t, tc.f)})
		must(t, err, tc.f)
		slices.Sort(tc.want)
		if !slices.Equal(ids(users), tc.want) || total != len(tc.want) {
			t.Errorf("ListUsers %s = %v (total %d), want %v", tc.f, ids(users), total, tc.want)
		}
	}
	if _, _, err := s.ListUsers(ctx, e.ID, store.Page{Filter: filter(t, `memberOfGroups[name eq "All"]`)}); err == nil {
		t.Error("memberOfGroups[name eq …]: no error")
	}

	// A user who changes population leaves the groups of the one left.
	moved := *ann
	moved.PopulationID, moved.UpdatedAt = popB.ID, now()
	must(t, s.UpdateUser(ctx, &moved), "UpdateUser to another population")
	got, err = s.UserGroups(ctx, e.ID, ann.ID)
	must(t, err, "UserGroups after moving")
	if len(got) != 0 {
		t.Errorf("UserGroups after moving = %+v, want none", got)
	}
	must(t, s.AddGroupMember(ctx, e.ID, ann.ID, all.ID, at), "AddGroupMember after moving")
	moved.UpdatedAt = now()
	must(t, s.UpdateUser(ctx, &moved), "UpdateUser in place")
	got, err = s.UserGroups(ctx, e.ID, ann.ID)
	must(t, err, "UserGroups after an update")
	if len(got) != 1 || got[0].ID != all.ID {
		t.Errorf("UserGroups after an update = %+v, want All", got)
	}

	// Deleting the user ends its memberships.
	must(t, s.DeleteUser(ctx, e.ID, bob.ID), "DeleteUser")
	counts, err = s.CountGroupMembers(ctx, e.ID, []string{all.ID}, true)
	must(t, err, "CountGroupMembers after DeleteUser")
	if counts[all.ID] != (store.GroupMemberCounts{Direct: 1, Total: 1}) {
		t.Errorf("CountGroupMembers after DeleteUser = %+v, want ann alone", counts[all.ID])
	}
}

func testGroupNesting(t *testing.T, s store.Store) {
	ctx := t.Context()
	e, popA := envWithPop(t, s)
	popB := newPopulation(t, s, e.ID, "Partners")
	other, _ := envWithPop(t, s)
	a := newGroup(t, s, e.ID, "", "A")
	b := newGroup(t, s, e.ID, "", "B")
	c := newGroup(t, s, e.ID, "", "C")
	pa := newGroup(t, s, e.ID, popA.ID, "PA")
	pa2 := newGroup(t, s, e.ID, popA.ID, "PA2")
	pb := newGroup(t, s, e.ID, popB.ID, "PB")
	foreign := newGroup(t, s, other.ID, "", "Foreign")
	at := now()

	must(t, s.NestGroup(ctx, e.ID, a.ID, b.ID, at), "A in B")
	must(t, s.NestGroup(ctx, e.ID, b.ID, c.ID, at), "B in C")
	wantErr(t, s.NestGroup(ctx, e.ID, a.ID, a.ID, at), store.ErrGroupCycle, "A in A")
	wantErr(t, s.NestGroup(ctx, e.ID, b.ID, a.ID, at), store.ErrGroupCycle, "B in A")
	wantErr(t, s.NestGroup(ctx, e.ID, c.ID, a.ID, at), store.ErrGroupCycle, "C in A")
	wantUnique(t, s.NestGroup(ctx, e.ID, a.ID, b.ID, at), "groupNesting", "id", "A in B twice")
	must(t, s.NestGroup(ctx, e.ID, a.ID, c.ID, at), "A in C as well")
	wantErr(t, s.NestGroup(ctx, e.ID, a.ID, foreign.ID, at), store.ErrNotFound, "A in another environment's group")
	wantErr(t, s.NestGroup(ctx, other.ID, foreign.ID, a.ID, at), store.ErrNotFound, "through another environment")

	// Population groups: PA may go into A or PA2, nothing into PA but
	// PA's own population's groups.
	must(t, s.NestGroup(ctx, e.ID, pa.ID, a.ID, at), "PA in A")
	must(t, s.NestGroup(ctx, e.ID, pa.ID, pa2.ID, at), "PA in PA2")
	wantErr(t, s.NestGroup(ctx, e.ID, pb.ID, pa.ID, at), store.ErrGroupPopulation, "PB in PA")
	d := newGroup(t, s, e.ID, "", "D")
	wantErr(t, s.NestGroup(ctx, e.ID, d.ID, pa.ID, at), store.ErrGroupPopulation, "D in PA")
	wantErr(t, s.NestGroup(ctx, e.ID, b.ID, pa.ID, at), store.ErrGroupCycle, "B in PA (PA is in A, A in B)")

	got, err := s.GetGroupNesting(ctx, e.ID, a.ID, b.ID)
	must(t, err, "GetGroupNesting")
	checkRecord(t, "GetGroupNesting", got, &store.GroupNesting{GroupID: a.ID, ParentID: b.ID, EnvironmentID: e.ID, CreatedAt: at})
	_, err = s.GetGroupNesting(ctx, other.ID, a.ID, b.ID)
	wantErr(t, err, store.ErrNotFound, "GetGroupNesting through another environment")
	list, err := s.ListGroupNestings(ctx, e.ID, a.ID)
	must(t, err, "ListGroupNestings")
	wantParents := []string{b.ID, c.ID}
	slices.Sort(wantParents)
	gotParents := []string{}
	for _, n := range list {
		gotParents = append(gotParents, n.ParentID)
	}
	if !slices.Equal(gotParents, wantParents) {
		t.Errorf("ListGroupNestings = %v, want %v", gotParents, wantParents)
	}

	must(t, s.UnnestGroup(ctx, e.ID, b.ID, c.ID), "UnnestGroup")
	wantErr(t, s.UnnestGroup(ctx, e.ID, b.ID, c.ID), store.ErrNotFound, "UnnestGroup twice")
	must(t, s.NestGroup(ctx, e.ID, c.ID, b.ID, at), "C in B once B left C")
	wantErr(t, s.NestGroup(ctx, e.ID, b.ID, a.ID, at), store.ErrGroupCycle, "B in A still")
}

func testGroupRoleAssignments(t *testing.T, s store.Store) {
	ctx := t.Context()
	adminRoles := []string{newID(), newID()}
	e, pop := envWithPop(t, s)
	ann := newUser(t, s, e.ID, pop.ID, "ann")
	bob := newUser(t, s, e.ID, pop.ID, "bob")
	cat := newUser(t, s, e.ID, pop.ID, "cat")
	admins := newGroup(t, s, e.ID, "", "Admins")
	leads := newGroup(t, s, e.ID, "", "Leads")
	at := now()
	must(t, s.NestGroup(ctx, e.ID, leads.ID, admins.ID, at), "Leads in Admins")
	must(t, s.AddGroupMember(ctx, e.ID, bob.ID, leads.ID, at), "bob in Leads")

	has := func(u *store.User) bool {
		t.Helper()
		ok, err := s.UserHasRoleAssignment(ctx, e.ID, u.ID, adminRoles)
		must(t, err, "UserHasRoleAssignment")
		return ok
	}
	if has(ann) || has(bob) || has(cat) {
		t.Fatal("a role before any assignment")
	}
	// Only the roles asked for count: cat holds another one.
	other := mkRA(e.ID, cat.ID, newID(), "ENVIRONMENT", e.ID)
	other.ActorType = "USER"
	must(t, s.CreateRoleAssignment(ctx, other), "CreateRoleAssignment of another role")
	if has(cat) {
		t.Error("cat counted with a role not asked for")
	}
	if ok, err := s.UserHasRoleAssignment(ctx, e.ID, cat.ID, nil); err != nil || ok {
		t.Errorf("no roles asked: %v, %v; want false", ok, err)
	}
	ra := mkRA(e.ID, admins.ID, adminRoles[0], "ENVIRONMENT", e.ID)
	ra.ActorType = "GROUP"
	must(t, s.CreateRoleAssignment(ctx, ra), "CreateRoleAssignment of a group")
	direct := mkRA(e.ID, ann.ID, adminRoles[1], "ENVIRONMENT", e.ID)
	direct.ActorType = "USER"
	must(t, s.CreateRoleAssignment(ctx, direct), "CreateRoleAssignment of a user")
	if !has(ann) || !has(bob) || has(cat) {
		t.Errorf("ann %v bob %v cat %v, want true true false", has(ann), has(bob), has(cat))
	}
	ok, err := s.UserHasRoleAssignment(ctx, newID(), bob.ID, adminRoles)
	must(t, err, "UserHasRoleAssignment through another environment")
	if ok {
		t.Error("a role through another environment")
	}
	// Deleting the group takes its role assignments.
	must(t, s.DeleteGroup(ctx, e.ID, admins.ID), "DeleteGroup")
	if has(bob) {
		t.Error("bob keeps a deleted group's role")
	}
	_, err = s.GetRoleAssignment(ctx, e.ID, admins.ID, ra.ID)
	wantErr(t, err, store.ErrNotFound, "a deleted group's role assignment")
}

// testGroupDeletes: what goes with a group, a population, an environment.
func testGroupDeletes(t *testing.T, s store.Store) {
	ctx := t.Context()
	e, popA := envWithPop(t, s)
	popB := newPopulation(t, s, e.ID, "Partners")
	ann := newUser(t, s, e.ID, popA.ID, "ann")
	all := newGroup(t, s, e.ID, "", "All")
	mid := newGroup(t, s, e.ID, "", "Mid")
	pb := newGroup(t, s, e.ID, popB.ID, "PB")
	pbChild := newGroup(t, s, e.ID, popB.ID, "PBChild")
	at := now()
	must(t, s.AddGroupMember(ctx, e.ID, ann.ID, mid.ID, at), "ann in Mid")
	must(t, s.NestGroup(ctx, e.ID, mid.ID, all.ID, at), "Mid in All")
	must(t, s.NestGroup(ctx, e.ID, pbChild.ID, pb.ID, at), "PBChild in PB")
	must(t, s.NestGroup(ctx, e.ID, pb.ID, all.ID, at), "PB in All")

	must(t, s.DeleteGroup(ctx, e.ID, mid.ID), "DeleteGroup Mid")
	got, err := s.UserGroups(ctx, e.ID, ann.ID)
	must(t, err, "UserGroups")
	if len(got) != 0 {
		t.Errorf("UserGroups after the group's delete = %+v", got)
	}
	list, err := s.ListGroupNestings(ctx, e.ID, mid.ID)
	must(t, err, "ListGroupNestings")
	if len(list) != 0 {
		t.Errorf("nestings of a deleted group: %+v", list)
	}

	// A population's delete takes its groups and their nestings.
	must(t, s.DeletePopulation(ctx, e.ID, popB.ID), "DeletePopulation")
	for _, g := range []*store.Group{pb, pbChild} {
		_, err := s.GetGroup(ctx, e.ID, g.ID)
		wantErr(t, err, store.ErrNotFound, "a deleted population's group")
	}
	_, total, err := s.ListGroups(ctx, e.ID, store.Page{})
	must(t, err, "ListGroups")
	if total != 1 {
		t.Errorf("%d groups after the population's delete, want 1", total)
	}
	// A population with users is still refused, its groups kept.
	pa := newGroup(t, s, e.ID, popA.ID, "PA")
	wantErr(t, s.DeletePopulation(ctx, e.ID, popA.ID), store.ErrReferenced, "DeletePopulation with users")
	_, err = s.GetGroup(ctx, e.ID, pa.ID)
	must(t, err, "a refused population delete keeps its groups")

	must(t, s.AddGroupMember(ctx, e.ID, ann.ID, pa.ID, at), "ann in PA")
	must(t, s.NestGroup(ctx, e.ID, pa.ID, all.ID, at), "PA in All")
	must(t, s.DeleteEnvironment(ctx, e.ID), "DeleteEnvironment with groups")
	_, err = s.GetGroup(ctx, e.ID, all.ID)
	wantErr(t, err, store.ErrNotFound, "a deleted environment's group")
}

// testGroupMembershipRace: 50 adds of one membership, one wins.
func testGroupMembershipRace(t *testing.T, s store.Store) {
	ctx := t.Context()
	e, pop := envWithPop(t, s)
	ann := newUser(t, s, e.ID, pop.ID, "ann")
	g := newGroup(t, s, e.ID, "", "G")
	const n = 50
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = s.AddGroupMember(ctx, e.ID, ann.ID, g.ID, now())
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
		case errors.As(err, &ue) && ue.Resource == "groupMembership":
		default:
			t.Errorf("adder %d: %v", i, err)
		}
	}
	if won != 1 {
		t.Errorf("%d adds succeeded, want 1", won)
	}
}

// testGroupNestingRace: A in B and B in A at once, many times over: one of
// each pair wins, and no cycle is ever stored.
func testGroupNestingRace(t *testing.T, s store.Store) {
	ctx := t.Context()
	e, _ := envWithPop(t, s)
	for round := range 10 {
		a := newGroup(t, s, e.ID, "", "A"+string(rune('0'+round)))
		b := newGroup(t, s, e.ID, "", "B"+string(rune('0'+round)))
		var errAB, errBA error
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Go(func() { <-start; errAB = s.NestGroup(ctx, e.ID, a.ID, b.ID, now()) })
		wg.Go(func() { <-start; errBA = s.NestGroup(ctx, e.ID, b.ID, a.ID, now()) })
		close(start)
		wg.Wait()
		if (errAB == nil) == (errBA == nil) {
			t.Fatalf("round %d: A in B: %v, B in A: %v; want exactly one", round, errAB, errBA)
		}
		for _, err := range []error{errAB, errBA} {
			if err != nil && !errors.Is(err, store.ErrGroupCycle) {
				t.Errorf("round %d: loser's error %v, want ErrGroupCycle", round, err)
			}
		}
	}
}

// testGroupPopulationMoveRace: a user joining a population's group while
// moving to another population never ends a member of the group of the
// population left (PingOne removes a user who changes population from the
// old population's groups): either the join sees the move and is refused,
// or the move sees the join and ends it.
func testGroupPopulationMoveRace(t *testing.T, s store.Store) {
	ctx := t.Context()
	e, popA := envWithPop(t, s)
	popB := newPopulation(t, s, e.ID, "B")
	g := newGroup(t, s, e.ID, popA.ID, "A's")
	for i := range 30 {
		u := newUser(t, s, e.ID, popA.ID, fmt.Sprintf("mover-%d", i))
		moved := *u
		moved.PopulationID, moved.UpdatedAt = popB.ID, now()
		var wg sync.WaitGroup
		start := make(chan struct{})
		var joinErr, moveErr error
		wg.Go(func() {
			<-start
			joinErr = s.AddGroupMember(ctx, e.ID, u.ID, g.ID, now())
		})
		wg.Go(func() {
			<-start
			moveErr = s.UpdateUser(ctx, &moved)
		})
		close(start)
		wg.Wait()
		must(t, moveErr, "UpdateUser (move)")
		if joinErr != nil && !errors.Is(joinErr, store.ErrGroupPopulation) {
			t.Fatalf("AddGroupMember beside a move: %v", joinErr)
		}
		groups, err := s.UserGroups(ctx, e.ID, u.ID)
		must(t, err, "UserGroups")
		if len(groups) != 0 {
			t.Fatalf("round %d: a user of population B is a member of population A's group (join err %v)", i, joinErr)
		}
	}
}
