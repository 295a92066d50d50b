package sqlstore

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/scim"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// TestPagesAcrossPlans pages through filters from every user to one with
// limits small enough that page walks the id index (and, for the sparser
// filters, gives up the walk and finishes with the filter's index), and
// large enough that it sorts the matches at once: following the cursors
// must give the same users in the same order as a single page of all of
// them, with the same total on every page, on both databases.
func TestPagesAcrossPlans(t *testing.T) {
	const n = 1000
	filters := []string{
		``,
		`username sw "u"`,         // every user
		`username sw "USER00001"`, // 100, spread over the id order
		`username sw "user000010"`,
		`email eq "user0000500@example.com"`,
		`name.family eq "smith"`, // about 100, no order in common with ids
		`username co "7"`,        // 271, no index serves it
		`username sw "nobody"`,
	}
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := t.Context()
			s := openStore(t, b.DSN(t))
			envID, _ := seedUsers(t, s, n)
			// A second population holding about a third of the users.
			popB := &store.Population{ID: uuid.NewString(), EnvironmentID: envID, Name: "B", CreatedAt: store.Now(), UpdatedAt: store.Now()}
			if err := s.CreatePopulation(ctx, popB); err != nil {
				t.Fatal(err)
			}
			if _, err := s.db.writer.db.ExecContext(ctx, s.db.rebind(`UPDATE users SET population_id = ? WHERE environment_id = ? AND email_lc LIKE '%3%'`), popB.ID, envID); err != nil {
				t.Fatal(err)
			}
			var popA string
			if err := s.db.writer.db.QueryRowContext(ctx, s.db.rebind(`SELECT id FROM populations WHERE environment_id = ? AND is_default`), envID).Scan(&popA); err != nil {
				t.Fatal(err)
			}

			for _, filter := range filters {
				for _, pops := range [][]string{nil, {popB.ID}, {popA, popB.ID}} {
					var e scim.Expr
					if filter != "" {
						var err error
						if e, err = scim.Parse(filter); err != nil {
							t.Fatal(err)
						}
					}
					all, total, err := s.ListUsers(ctx, envID, store.Page{Filter: e, PopulationIDs: pops, Limit: n + 1})
					if err != nil {
						t.Fatalf("%s: %v", filter, err)
					}
					if total != len(all) {
						t.Fatalf("%s in %d populations: total %d, %d users", filter, len(pops), total, len(all))
					}
					want := ids(all)
					if !slices.IsSorted(want) {
						t.Fatalf("%s: not in id order", filter)
					}
					for _, limit := range []int{1, 7, 40} {
						if limit == 1 && len(want) > 150 {
							continue // a page per user: slow, and limit 7 walks these already
						}
						t.Run(fmt.Sprintf("%s/%d-populations/limit-%d", filter, len(pops), limit), func(t *testing.T) {
							var got []string
							after := ""
							for pages := 0; ; pages++ {
								if pages > len(want)+1 {
									t.Fatalf("%d pages for %d users: the cursor does not advance", pages, len(want))
								}
								items, pageTotal, err := s.ListUsers(ctx, envID, store.Page{Filter: e, PopulationIDs: pops, After: after, Limit: limit})
								if err != nil {
									t.Fatal(err)
								}
								if pageTotal != total {
									t.Fatalf("after %q: total %d, want %d", after, pageTotal, total)
								}
								if len(items) > limit {
									t.Fatalf("after %q: %d items, limit %d", after, len(items), limit)
								}
								got = append(got, ids(items)...)
								if len(items) < limit {
									break
								}
								after = items[len(items)-1].ID
							}
							if !slices.Equal(got, want) {
								t.Errorf("paged %d users, want %d; first difference at %d", len(got), len(want), firstDiff(got, want))
							}
						})
					}
				}
			}
		})
	}
}

// TestPopulationPagesAcrossPlans: the plans are page's, not the users
// list's: populations paged by a filter that walks their id index give the
// populations of a single page too.
func TestPopulationPagesAcrossPlans(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := t.Context()
			s := openStore(t, b.DSN(t))
			envID, _ := seedUsers(t, s, 0)
			for i := range 300 {
				now := store.Now()
				if err := s.CreatePopulation(ctx, &store.Population{ID: uuid.NewString(), EnvironmentID: envID, Name: fmt.Sprintf("Pop %03d", i),
					CreatedAt: now, UpdatedAt: now}); err != nil {
					t.Fatal(err)
				}
			}
			for _, filter := range []string{`name sw "pop"`, `name sw "pop 1"`, `name sw "pop 01"`} {
				e, err := scim.Parse(filter)
				if err != nil {
					t.Fatal(err)
				}
				all, total, err := s.ListPopulations(ctx, envID, store.Page{Filter: e, Limit: 1000})
				if err != nil || total != len(all) {
					t.Fatalf("%s: %d populations, total %d, %v", filter, len(all), total, err)
				}
				var got []string
				for after := ""; ; {
					items, pageTotal, err := s.ListPopulations(ctx, envID, store.Page{Filter: e, After: after, Limit: 3})
					if err != nil || pageTotal != total {
						t.Fatalf("%s after %q: total %d, want %d, %v", filter, after, pageTotal, total, err)
					}
					for _, p := range items {
						got = append(got, p.ID)
					}
					if len(items) < 3 || len(got) > total {
						break
					}
					after = items[len(items)-1].ID
				}
				want := make([]string, len(all))
				for i, p := range all {
					want[i] = p.ID
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s: paged %d populations, want %d; first difference at %d", filter, len(got), len(want), firstDiff(got, want))
				}
			}
		})
	}
}

// touch writes something unrelated to users through the store, which
// forgets every remembered total.
func touch(t *testing.T, s *SQLStore, envID string) {
	t.Helper()
	if _, err := s.exec(t.Context(), `UPDATE environments SET updated_at = updated_at WHERE id = ?`, envID); err != nil {
		t.Fatal(err)
	}
}

// TestBroadPageWalks: on SQLite a page of a filter matching far more users
// than the page holds, whose index SQLite would read and sort, is read by
// walking the id index instead (a count, a probe of the window and the
// walk); a narrow filter, or one whose index yields id order already, is
// one read after the count. (Whether SQLite sorts is asked once per query
// text, so the first page of each runs one more statement.) PostgreSQL
// plans pages itself.
func TestBroadPageWalks(t *testing.T) {
	s := openStore(t, sqltest.SQLite(t))
	envID, _ := seedUsers(t, s, 3000)
	var popID string
	if err := s.db.writer.db.QueryRowContext(t.Context(), `SELECT id FROM populations WHERE environment_id = ?`, envID).Scan(&popID); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		filter  string
		queries int64
	}{
		{`username sw "u"`, 3},
		{`username sw "user00001"`, 2},
		{`email eq "user0000001@example.com"`, 2},
		{`enabled eq true`, 2},
		{`population.id eq "` + popID + `"`, 2},
		{`username co "1"`, 2},
	} {
		t.Run(tc.filter, func(t *testing.T) {
			e, err := scim.Parse(tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			list := func() int64 {
				q0 := s.Queries()
				if _, _, err := s.ListUsers(t.Context(), envID, store.Page{Filter: e, Limit: 101}); err != nil {
					t.Fatal(err)
				}
				return s.Queries() - q0
			}
			list() // learns the plan
			// The total is remembered until the next write: the same
			// page again runs one statement less.
			if q := list(); q != tc.queries-1 {
				t.Errorf("repeated: %d queries, want %d", q, tc.queries-1)
			}
			touch(t, s, envID)
			if q := list(); q != tc.queries {
				t.Errorf("after a write: %d queries, want %d", q, tc.queries)
			}
		})
	}
}

func ids(users []store.User) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.ID
	}
	return out
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestTotalsFollowWrites: a remembered total never outlives a write that
// has returned — a rename, a create, a delete, a committed transaction —
// and a rolled-back transaction changes nothing; under concurrent writes
// the total after the last one is exact. (PostgreSQL remembers no totals.)
func TestTotalsFollowWrites(t *testing.T) {
	for _, dsn := range []string{sqltest.SQLite(t), "sqlite::memory:"} {
		s := openStore(t, dsn)
		ctx := t.Context()
		envID, ids := seedUsers(t, s, 1000) // whole batches of 1,000
		f, err := scim.Parse(`username sw "u"`)
		if err != nil {
			t.Fatal(err)
		}
		total := func() int {
			t.Helper()
			_, n, err := s.ListUsers(ctx, envID, store.Page{Filter: f, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		want := func(step string, n int) {
			t.Helper()
			for range 2 { // counted, then remembered
				if got := total(); got != n {
					t.Fatalf("%s: total %d, want %d", step, got, n)
				}
			}
		}
		want("seeded", 1000)

		u, err := s.GetUser(ctx, envID, ids[0])
		if err != nil {
			t.Fatal(err)
		}
		u.Username = "zed"
		if err := s.UpdateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		want("renamed out of the filter", 999)

		newUser := func(name string) *store.User {
			c := *u
			c.ID, c.Username, c.Email = uuid.NewString(), name, name+"@example.com"
			return &c
		}
		if err := s.CreateUser(ctx, newUser("u-created")); err != nil {
			t.Fatal(err)
		}
		want("created", 1000)
		if err := s.DeleteUser(ctx, envID, ids[1]); err != nil {
			t.Fatal(err)
		}
		want("deleted", 999)

		errRollback := errors.New("roll back")
		err = s.Tx(ctx, func(tx store.Store) error {
			if err := tx.CreateUser(ctx, newUser("u-rolled-back")); err != nil {
				return err
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatal(err)
		}
		want("rolled back", 999)
		if err := s.Tx(ctx, func(tx store.Store) error { return tx.CreateUser(ctx, newUser("u-committed")) }); err != nil {
			t.Fatal(err)
		}
		want("committed", 1000)

		var wg sync.WaitGroup
		stop := make(chan struct{})
		for range 2 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
						total()
					}
				}
			})
		}
		var writers sync.WaitGroup
		for w := range 4 {
			writers.Go(func() {
				for i := range 25 {
					if err := s.CreateUser(ctx, newUser(fmt.Sprintf("u-concurrent-%d-%d", w, i))); err != nil {
						t.Error(err)
					}
				}
			})
		}
		writers.Wait()
		close(stop)
		wg.Wait()
		want("after concurrent writes", 1100)
	}
}
