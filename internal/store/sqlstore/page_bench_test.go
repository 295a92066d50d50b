package sqlstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/scim"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// BenchmarkUserPages measures pages of 100 users in an environment of
// 20,000, on SQLite and on PostgreSQL, for filters from the broadest to the
// narrowest:
//
//	broad        username sw "u": every user matches, the first page
//	broad-after  the same filter from a random cursor (a next-page link)
//	sw-1000      username sw "user00NN": 1,000 matches
//	sw-10        username sw "user00NNNN": 10 matches
//	email        email eq "…": one match
//
// Each reports pages/s alongside p50 and p99 in ms, and the process's CPU
// ms per page, steadier than those on a busy machine. Run it with, for
// example:
//
//	go test -run '^$' -bench UserPages -benchtime 2000x ./internal/store/sqlstore/
func BenchmarkUserPages(b *testing.B) {
	const n = 20_000
	for _, be := range sqltest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			ctx := context.Background()
			s, err := Open(ctx, be.DSN(b))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			envID, ids := seedUsers(b, s, n)
			rng := rand.New(rand.NewPCG(3, 4))

			for _, c := range []struct {
				name       string
				filter     func() (filter, after string)
				wantTotal  int
				wantMaxLen int
			}{
				{"broad", func() (string, string) { return `username sw "u"`, "" }, n, 101},
				{"broad-after", func() (string, string) { return `username sw "U"`, ids[rng.IntN(n-200)] }, n, 101},
				{"sw-1000", func() (string, string) { return fmt.Sprintf(`username sw "user00%02d"`, rng.IntN(n/1000)), "" }, 1000, 101},
				{"sw-10", func() (string, string) { return fmt.Sprintf(`username sw "user00%04d"`, rng.IntN(n/10)), "" }, 10, 10},
				{"email", func() (string, string) { return fmt.Sprintf(`email eq "USER%07d@example.com"`, rng.IntN(n)), "" }, 1, 1},
			} {
				b.Run(c.name, func(b *testing.B) {
					measurePages(b, func() error {
						filter, after := c.filter()
						items, total, err := listAfter(ctx, s, envID, filter, after, 100)
						if err == nil && (total != c.wantTotal || len(items) != c.wantMaxLen) {
							err = fmt.Errorf("%s after %q: %d items, total %d", filter, after, len(items), total)
						}
						return err
					})
				})
			}
		})
	}
}

// listAfter is listFiltered from a cursor.
func listAfter(ctx context.Context, s *SQLStore, envID, filter, after string, limit int) ([]store.User, int, error) {
	e, err := scim.Parse(filter)
	if err != nil {
		return nil, 0, err
	}
	return s.ListUsers(ctx, envID, store.Page{Filter: e, After: after, Limit: limit + 1})
}

// measurePages is measure with the rate as well, and the CPU time of the
// process per page (SQLite's work; PostgreSQL's is in its server).
func measurePages(b *testing.B, op func() error) {
	b.Helper()
	start := time.Now()
	c0 := processCPU()
	measure(b, op)
	b.ReportMetric((processCPU()-c0)/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pages/s")
}

// seedUsers creates an environment of n users named user0000000 onwards
// and returns it with the users' ids in id order. PostgreSQL is analyzed
// after the load, as autovacuum would soon do.
func seedUsers(b testing.TB, s *SQLStore, n int) (string, []string) {
	ctx := context.Background()
	envID := seedBenchUsers(b, s, n)
	if s.db.dialect == dialectPostgres {
		if _, err := s.db.writer.db.ExecContext(ctx, "ANALYZE"); err != nil {
			b.Fatal(err)
		}
	}
	ids, err := many(ctx, s, func(r scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	}, `SELECT id FROM users WHERE environment_id = ? ORDER BY id`, envID)
	if err != nil {
		b.Fatal(err)
	}
	return envID, ids
}
