package storetest

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func mkTheme(envID, template string) *store.Theme {
	ts := now()
	return &store.Theme{ID: newID(), EnvironmentID: envID, Template: template,
		Data:      json.RawMessage(`{"name":"Theme ` + template + `","logoType":"NONE","backgroundType":"DEFAULT","buttonColor":"#2996CC"}`),
		CreatedAt: ts, UpdatedAt: ts}
}

func newTheme(t *testing.T, s store.Store, envID, template string, def bool) *store.Theme {
	t.Helper()
	x := mkTheme(envID, template)
	x.Default = def
	must(t, s.CreateTheme(t.Context(), x), "CreateTheme "+template)
	return x
}

func testThemes(t *testing.T, s store.Store) {
	ctx := t.Context()
	env, other := newEnv(t, s), newEnv(t, s)
	def := newTheme(t, s, env.ID, "default", true)
	focus := newTheme(t, s, env.ID, "focus", false)
	foreign := newTheme(t, s, other.ID, "slate", true)

	for _, want := range []*store.Theme{def, focus} {
		got, err := s.GetTheme(ctx, env.ID, want.ID)
		must(t, err, "GetTheme")
		checkRecord(t, "GetTheme", got, want)
	}
	got, err := s.GetDefaultTheme(ctx, env.ID)
	must(t, err, "GetDefaultTheme")
	checkRecord(t, "GetDefaultTheme", got, def)
	list, total, err := s.ListThemes(ctx, env.ID, store.Page{})
	must(t, err, "ListThemes")
	if total != 2 {
		t.Errorf("ListThemes total = %d, want 2", total)
	}
	checkSet(t, "ListThemes", list, *def, *focus)
	list, total, err = s.ListThemes(ctx, env.ID, store.Page{Filter: filter(t, `default eq true`)})
	must(t, err, "ListThemes default eq true")
	if total != 1 {
		t.Errorf("ListThemes(default eq true) total = %d, want 1", total)
	}
	checkSet(t, "ListThemes(default eq true)", list, *def)
	page1, _, err := s.ListThemes(ctx, env.ID, store.Page{Limit: 1})
	must(t, err, "ListThemes limit 1")
	page2, _, err := s.ListThemes(ctx, env.ID, store.Page{Limit: 1, After: page1[0].ID})
	must(t, err, "ListThemes after the first")
	if len(page1) != 1 || len(page2) != 1 || page1[0].ID >= page2[0].ID {
		t.Errorf("pages of one: %v then %v", page1, page2)
	}

	upd := *focus
	upd.Template, upd.Data, upd.UpdatedAt = "mural", json.RawMessage(`{"name":"Mural","logoType":"NONE"}`), now().Add(time.Minute)
	must(t, s.UpdateTheme(ctx, &upd), "UpdateTheme")
	got, err = s.GetTheme(ctx, env.ID, focus.ID)
	must(t, err, "GetTheme after update")
	checkRecord(t, "GetTheme after update", got, upd)

	// Another environment's theme is not there: not to read, write or delete.
	_, err = s.GetTheme(ctx, env.ID, foreign.ID)
	wantErr(t, err, store.ErrNotFound, "GetTheme(env, id of other)")
	hijack := *foreign
	hijack.EnvironmentID = env.ID
	wantErr(t, s.UpdateTheme(ctx, &hijack), store.ErrNotFound, "UpdateTheme(env, id of other)")
	wantErr(t, s.DeleteTheme(ctx, env.ID, foreign.ID), store.ErrNotFound, "DeleteTheme(env, id of other)")
	got, err = s.GetTheme(ctx, other.ID, foreign.ID)
	must(t, err, "GetTheme(other) after foreign writes")
	checkRecord(t, "theme after foreign writes", got, foreign)

	_, err = s.GetTheme(ctx, env.ID, newID())
	wantErr(t, err, store.ErrNotFound, "GetTheme(unknown)")
	_, err = s.GetDefaultTheme(ctx, newID())
	wantErr(t, err, store.ErrNotFound, "GetDefaultTheme(unknown environment)")
	wantErr(t, s.CreateTheme(ctx, mkTheme(newID(), "split")), store.ErrReferenced, "CreateTheme in an unknown environment")

	must(t, s.DeleteTheme(ctx, env.ID, focus.ID), "DeleteTheme")
	_, err = s.GetTheme(ctx, env.ID, focus.ID)
	wantErr(t, err, store.ErrNotFound, "GetTheme after delete")
	wantErr(t, s.DeleteTheme(ctx, env.ID, focus.ID), store.ErrNotFound, "DeleteTheme twice")

	// Deleting the environment takes its themes along.
	must(t, s.DeleteEnvironment(ctx, env.ID), "DeleteEnvironment")
	_, err = s.GetTheme(ctx, env.ID, def.ID)
	wantErr(t, err, store.ErrNotFound, "GetTheme after the environment was deleted")
	if _, err := s.GetTheme(ctx, other.ID, foreign.ID); err != nil {
		t.Errorf("another environment's theme after a delete: %v", err)
	}
}

// testThemeDefault: one default per environment, moved by clearing the
// others first.
func testThemeDefault(t *testing.T, s store.Store) {
	ctx := t.Context()
	env, other := newEnv(t, s), newEnv(t, s)
	first := newTheme(t, s, env.ID, "default", true)
	elsewhere := newTheme(t, s, other.ID, "default", true)

	second := mkTheme(env.ID, "focus")
	second.Default = true
	wantErr(t, s.CreateTheme(ctx, second), store.ErrConflict, "CreateTheme of a second default")
	second.Default = false
	must(t, s.CreateTheme(ctx, second), "CreateTheme")
	promote := *second
	promote.Default = true
	wantErr(t, s.UpdateTheme(ctx, &promote), store.ErrConflict, "UpdateTheme to a second default")

	must(t, s.ClearDefaultTheme(ctx, env.ID, first.ID), "ClearDefaultTheme keeping the default")
	if got, err := s.GetDefaultTheme(ctx, env.ID); err != nil || got.ID != first.ID {
		t.Errorf("ClearDefaultTheme(env, default's id): default %v %v, want %s", got, err, first.ID)
	}
	must(t, s.ClearDefaultTheme(ctx, env.ID, second.ID), "ClearDefaultTheme")
	must(t, s.UpdateTheme(ctx, &promote), "UpdateTheme to default after clearing")
	for _, c := range []struct {
		envID, id string
		want      bool
	}{{env.ID, first.ID, false}, {env.ID, second.ID, true}, {other.ID, elsewhere.ID, true}} {
		got, err := s.GetTheme(ctx, c.envID, c.id)
		must(t, err, "GetTheme")
		if got.Default != c.want {
			t.Errorf("theme %s Default = %v, want %v", got.Template, got.Default, c.want)
		}
	}
}

// testPopulationThemes: a population shows the theme it names while that
// theme exists, else its environment's default theme; deleting a theme sends
// the populations naming it back to the default.
func testPopulationThemes(t *testing.T, s store.Store) {
	ctx := t.Context()
	env, other := newEnv(t, s), newEnv(t, s)

	bare := newPopulation(t, s, env.ID, "Before any theme")
	if got, err := s.GetPopulation(ctx, env.ID, bare.ID); err != nil || got.ThemeID != "" || got.EffectiveThemeID != "" {
		t.Fatalf("population of an environment without themes: %+v %v", got, err)
	}

	def := newTheme(t, s, env.ID, "default", true)
	focus := newTheme(t, s, env.ID, "focus", false)
	foreign := newTheme(t, s, other.ID, "slate", true)

	named := mkPopulation(env.ID, "Named")
	named.ThemeID = focus.ID
	must(t, s.CreatePopulation(ctx, named), "CreatePopulation naming a theme")
	// A write racing a delete could leave a name that names nothing; so
	// could a theme of another environment, which the API refuses.
	dangling := mkPopulation(env.ID, "Dangling")
	dangling.ThemeID = foreign.ID
	must(t, s.CreatePopulation(ctx, dangling), "CreatePopulation naming another environment's theme")

	want := map[string][2]string{ // population id → ThemeID, EffectiveThemeID
		bare.ID: {"", def.ID}, named.ID: {focus.ID, focus.ID}, dangling.ID: {foreign.ID, def.ID},
	}
	check := func(when string) {
		t.Helper()
		for id, w := range want {
			got, err := s.GetPopulation(ctx, env.ID, id)
			must(t, err, "GetPopulation")
			if got.ThemeID != w[0] || got.EffectiveThemeID != w[1] {
				t.Errorf("%s: population %s theme %q effective %q, want %q %q", when, got.Name, got.ThemeID, got.EffectiveThemeID, w[0], w[1])
			}
		}
		list, _, err := s.ListPopulations(ctx, env.ID, store.Page{})
		must(t, err, "ListPopulations")
		for _, got := range list {
			if w := want[got.ID]; got.ThemeID != w[0] || got.EffectiveThemeID != w[1] {
				t.Errorf("%s: listed population %s theme %q effective %q, want %q %q", when, got.Name, got.ThemeID, got.EffectiveThemeID, w[0], w[1])
			}
		}
	}
	check("named")

	upd := *bare
	upd.ThemeID, upd.UpdatedAt = focus.ID, now().Add(time.Minute)
	must(t, s.UpdatePopulation(ctx, &upd), "UpdatePopulation naming a theme")
	want[bare.ID] = [2]string{focus.ID, focus.ID}
	check("after an update")

	must(t, s.DeleteTheme(ctx, env.ID, focus.ID), "DeleteTheme")
	want[bare.ID], want[named.ID] = [2]string{"", def.ID}, [2]string{"", def.ID}
	check("after the theme was deleted")

	// A new default is every unnamed population's theme at once.
	split := newTheme(t, s, env.ID, "split", false)
	must(t, s.ClearDefaultTheme(ctx, env.ID, split.ID), "ClearDefaultTheme")
	promoted := *split
	promoted.Default = true
	must(t, s.UpdateTheme(ctx, &promoted), "UpdateTheme to default")
	want[bare.ID], want[named.ID], want[dangling.ID] = [2]string{"", split.ID}, [2]string{"", split.ID}, [2]string{foreign.ID, split.ID}
	check("after the default moved")
}

// testThemeLock: transactions that take LockThemes for one environment run
// one after the other. Each moves the default as the API does (read the
// default, clear the others, flag its own theme): every one succeeds, the
// later ones having read the default the earlier ones left, and exactly
// one default remains.
func testThemeLock(t *testing.T, s store.Store) {
	ctx := t.Context()
	env := newEnv(t, s)
	newTheme(t, s, env.ID, "default", true)
	must(t, s.LockThemes(ctx, env.ID), "LockThemes outside a transaction")

	const n = 4
	themes := make([]*store.Theme, n)
	for i := range themes {
		themes[i] = newTheme(t, s, env.ID, "focus", false)
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	read := make([]string, n)
	start := make(chan struct{})
	for i, th := range themes {
		wg.Go(func() {
			<-start
			errs[i] = s.Tx(ctx, func(tx store.Store) error {
				if err := tx.LockThemes(ctx, env.ID); err != nil {
					return err
				}
				def, err := tx.GetDefaultTheme(ctx, env.ID)
				if err != nil {
					return err
				}
				read[i] = def.ID
				// Hold the lock a moment: without it the others read
				// this same default meanwhile.
				time.Sleep(30 * time.Millisecond)
				if err := tx.ClearDefaultTheme(ctx, env.ID, th.ID); err != nil {
					return err
				}
				x := *th
				x.Default = true
				return tx.UpdateTheme(ctx, &x)
			})
		})
	}
	close(start)
	wg.Wait()
	seen := map[string]bool{}
	for i, err := range errs {
		must(t, err, "a locked default switch")
		if seen[read[i]] {
			t.Errorf("two locked writers read the same default %s: the lock did not hold", read[i])
		}
		seen[read[i]] = true
	}
	list, total, err := s.ListThemes(ctx, env.ID, store.Page{Filter: filter(t, `default eq true`)})
	must(t, err, "ListThemes default eq true")
	if total != 1 || len(list) != 1 {
		t.Errorf("%d default themes after the switches, want 1", total)
	}
}
