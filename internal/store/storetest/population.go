package storetest

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func testPopulations(t *testing.T, s store.Store) {
	ctx := t.Context()
	e := newEnv(t, s)
	p1 := newPopulation(t, s, e.ID, "Staff")
	p2 := mkPopulation(e.ID, "Contractors")
	p2.Description, p2.PasswordPolicyID, p2.Data = "", "", nil
	must(t, s.CreatePopulation(ctx, p2), "CreatePopulation without optional fields")

	for _, want := range []*store.Population{p1, p2} {
		got, err := s.GetPopulation(ctx, e.ID, want.ID)
		must(t, err, "GetPopulation")
		checkRecord(t, "GetPopulation", got, want) // UserCount 0
	}
	list, total, err := s.ListPopulations(ctx, e.ID, store.Page{})
	must(t, err, "ListPopulations")
	if total != 2 {
		t.Errorf("ListPopulations total = %d, want 2", total)
	}
	checkSet(t, "ListPopulations", list, *p1, *p2)

	n, err := s.CountUsers(ctx, e.ID, p1.ID)
	must(t, err, "CountUsers")
	if n != 0 {
		t.Errorf("CountUsers of a new population = %d, want 0", n)
	}
	n, err = s.CountUsers(ctx, e.ID, newID())
	must(t, err, "CountUsers(unknown population)")
	if n != 0 {
		t.Errorf("CountUsers(unknown population) = %d, want 0", n)
	}

	upd := *p1
	upd.Name, upd.Description, upd.PasswordPolicyID = "Employees", "everyone on payroll", newID()
	upd.Data = json.RawMessage(`{"preferredLanguage":"fr"}`)
	upd.UpdatedAt = now().Add(time.Minute)
	must(t, s.UpdatePopulation(ctx, &upd), "UpdatePopulation")
	got, err := s.GetPopulation(ctx, e.ID, p1.ID)
	must(t, err, "GetPopulation after update")
	checkRecord(t, "GetPopulation after update", got, upd)

	_, err = s.GetPopulation(ctx, e.ID, newID())
	wantErr(t, err, store.ErrNotFound, "GetPopulation(unknown)")
	wantErr(t, s.UpdatePopulation(ctx, mkPopulation(e.ID, "Ghost")), store.ErrNotFound, "UpdatePopulation(unknown)")
	wantErr(t, s.DeletePopulation(ctx, e.ID, newID()), store.ErrNotFound, "DeletePopulation(unknown)")
	wantErr(t, s.CreatePopulation(ctx, mkPopulation(newID(), "Orphans")), store.ErrReferenced, "CreatePopulation in an unknown environment")

	must(t, s.DeletePopulation(ctx, e.ID, p1.ID), "DeletePopulation")
	_, err = s.GetPopulation(ctx, e.ID, p1.ID)
	wantErr(t, err, store.ErrNotFound, "GetPopulation after delete")
	wantErr(t, s.DeletePopulation(ctx, e.ID, p1.ID), store.ErrNotFound, "DeletePopulation twice")
	list, total, err = s.ListPopulations(ctx, e.ID, store.Page{})
	must(t, err, "ListPopulations after delete")
	if total != 1 {
		t.Errorf("ListPopulations total after delete = %d, want 1", total)
	}
	checkSet(t, "ListPopulations after delete", list, *p2)
}

func testPopulationUniqueness(t *testing.T, s store.Store) {
	ctx := t.Context()
	envA, envB := newEnv(t, s), newEnv(t, s)
	staff := newPopulation(t, s, envA.ID, "Staff")

	wantUnique(t, s.CreatePopulation(ctx, mkPopulation(envA.ID, "staff")), "population", "name", "CreatePopulation staff after Staff")
	wantUnique(t, s.CreatePopulation(ctx, mkPopulation(envA.ID, "STAFF")), "population", "name", "CreatePopulation STAFF after Staff")
	newPopulation(t, s, envB.ID, "staff") // another environment may use the name

	other := newPopulation(t, s, envA.ID, "Other")
	taken := *other
	taken.Name, taken.UpdatedAt = "sTaFf", now().Add(time.Minute)
	wantUnique(t, s.UpdatePopulation(ctx, &taken), "population", "name", "UpdatePopulation to a taken name")
	got, err := s.GetPopulation(ctx, envA.ID, other.ID)
	must(t, err, "GetPopulation after a refused rename")
	checkRecord(t, "GetPopulation after a refused rename", got, other)

	// Renaming a population to its own name in another case is no conflict.
	recased := *staff
	recased.Name = "STAFF"
	must(t, s.UpdatePopulation(ctx, &recased), "UpdatePopulation to its own name recased")

	_, total, err := s.ListPopulations(ctx, envA.ID, store.Page{})
	must(t, err, "ListPopulations")
	if total != 2 {
		t.Errorf("ListPopulations(A) total = %d, want 2", total)
	}
}

func testPopulationIsolation(t *testing.T, s store.Store) {
	ctx := t.Context()
	envA, envB := newEnv(t, s), newEnv(t, s)
	pa := newPopulation(t, s, envA.ID, "Staff")
	pb := newPopulation(t, s, envB.ID, "Guests")

	_, err := s.GetPopulation(ctx, envB.ID, pa.ID)
	wantErr(t, err, store.ErrNotFound, "GetPopulation(envB, id of envA)")

	hijack := *pa
	hijack.EnvironmentID, hijack.Name, hijack.UpdatedAt = envB.ID, "Hijacked", now().Add(time.Minute)
	wantErr(t, s.UpdatePopulation(ctx, &hijack), store.ErrNotFound, "UpdatePopulation(envB, id of envA)")
	wantErr(t, s.DeletePopulation(ctx, envB.ID, pa.ID), store.ErrNotFound, "DeletePopulation(envB, id of envA)")

	got, err := s.GetPopulation(ctx, envA.ID, pa.ID)
	must(t, err, "GetPopulation(envA) after foreign writes")
	checkRecord(t, "population after foreign writes", got, pa)

	list, total, err := s.ListPopulations(ctx, envB.ID, store.Page{})
	must(t, err, "ListPopulations(B)")
	if total != 1 {
		t.Errorf("ListPopulations(B) total = %d, want 1", total)
	}
	checkSet(t, "ListPopulations(B)", list, *pb)
	list, total, err = s.ListPopulations(ctx, envB.ID, store.Page{IDs: []string{pa.ID, pb.ID}})
	must(t, err, "ListPopulations(B) with IDs of both")
	if total != 1 {
		t.Errorf("ListPopulations(B) with IDs total = %d, want 1", total)
	}
	checkSet(t, "ListPopulations(B) with IDs of both", list, *pb)
	n, err := s.CountUsers(ctx, envB.ID, pa.ID)
	must(t, err, "CountUsers(envB, population of envA)")
	if n != 0 {
		t.Errorf("CountUsers(envB, population of envA) = %d, want 0", n)
	}
}

func testPopulationDefault(t *testing.T, s store.Store) {
	ctx := t.Context()
	env, other := newEnv(t, s), newEnv(t, s)
	p1 := mkPopulation(env.ID, "First")
	p1.Default = true
	must(t, s.CreatePopulation(ctx, p1), "CreatePopulation default")
	otherDefault := mkPopulation(other.ID, "Elsewhere")
	otherDefault.Default = true
	must(t, s.CreatePopulation(ctx, otherDefault), "CreatePopulation default in another environment")

	second := mkPopulation(env.ID, "Second")
	second.Default = true
	wantErr(t, s.CreatePopulation(ctx, second), store.ErrConflict, "CreatePopulation of a second default")

	p2 := newPopulation(t, s, env.ID, "Second")
	promote := *p2
	promote.Default = true
	wantErr(t, s.UpdatePopulation(ctx, &promote), store.ErrConflict, "UpdatePopulation to a second default")

	// Clearing keeps keepID: with keepID the default itself, nothing changes.
	must(t, s.ClearDefaultPopulation(ctx, env.ID, p1.ID), "ClearDefaultPopulation keeping the default")
	got, err := s.GetPopulation(ctx, env.ID, p1.ID)
	must(t, err, "GetPopulation")
	if !got.Default {
		t.Errorf("ClearDefaultPopulation(env, default's id) cleared the default")
	}

	// The move: clear every other default, then set the new one.
	must(t, s.ClearDefaultPopulation(ctx, env.ID, p2.ID), "ClearDefaultPopulation")
	must(t, s.UpdatePopulation(ctx, &promote), "UpdatePopulation to default after clearing")
	for _, c := range []struct {
		envID, id string
		want      bool
	}{{env.ID, p1.ID, false}, {env.ID, p2.ID, true}, {other.ID, otherDefault.ID, true}} {
		got, err := s.GetPopulation(ctx, c.envID, c.id)
		must(t, err, "GetPopulation")
		if got.Default != c.want {
			t.Errorf("population %s Default = %v, want %v", got.Name, got.Default, c.want)
		}
	}
	list, _, err := s.ListPopulations(ctx, env.ID, store.Page{})
	must(t, err, "ListPopulations")
	defaults := 0
	for _, p := range list {
		if p.Default {
			defaults++
		}
	}
	if defaults != 1 {
		t.Errorf("%d default populations, want 1", defaults)
	}
}

func testPopulationPaging(t *testing.T, s store.Store) {
	ctx := t.Context()
	env := newEnv(t, s)
	var all []string
	byName := map[string]*store.Population{}
	for _, name := range []string{"Alpha", "Bravo", "Charlie", "Delta", "Echo"} {
		p := newPopulation(t, s, env.ID, name)
		all = append(all, p.ID)
		byName[name] = p
	}
	slices.Sort(all)
	newPopulation(t, s, newEnv(t, s).ID, "Alpha")

	var seen []string
	p := store.Page{Limit: 2}
	for range 4 {
		items, total, err := s.ListPopulations(ctx, env.ID, p)
		must(t, err, "ListPopulations page")
		if total != 5 {
			t.Errorf("ListPopulations page total = %d, want 5", total)
		}
		if len(items) == 0 {
			break
		}
		for _, it := range items {
			if it.UserCount != 0 {
				t.Errorf("population %s UserCount = %d, want 0", it.Name, it.UserCount)
			}
		}
		seen = append(seen, ids(items)...)
		p.After = items[len(items)-1].ID
	}
	if !slices.Equal(seen, all) {
		t.Errorf("paging collected %v, want %v", seen, all)
	}

	items, total, err := s.ListPopulations(ctx, env.ID, store.Page{Filter: filter(t, `name eq "charlie"`)})
	must(t, err, "ListPopulations filtered by name")
	if total != 1 || len(items) != 1 {
		t.Fatalf("ListPopulations filtered by name eq charlie: %d items (total %d), want 1", len(items), total)
	}
	checkRecord(t, "ListPopulations filtered by name", items[0], byName["Charlie"])

	items, total, err = s.ListPopulations(ctx, env.ID, store.Page{IDs: []string{byName["Bravo"].ID, byName["Echo"].ID}})
	must(t, err, "ListPopulations with IDs")
	checkSet(t, "ListPopulations with IDs", items, *byName["Bravo"], *byName["Echo"])
	if total != 2 {
		t.Errorf("ListPopulations with IDs total = %d, want 2", total)
	}
	items, total, err = s.ListPopulations(ctx, env.ID, store.Page{IDs: []string{}})
	must(t, err, "ListPopulations with empty IDs")
	if total != 0 || len(items) != 0 {
		t.Errorf("ListPopulations with empty IDs = %d items (total %d), want none", len(items), total)
	}
}
