package mgmt_test

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// BenchmarkUserGetAfterGrowth is issue 13's first finding: on one running
// server, the rate of GET /users/{id} on a fresh environment and again after
// 20,000 user creates; after/fresh should stay near 1.
//
// On PostgreSQL the fresh phase runs with statistics taken while the tables
// are small (analyzeSchema). Each pooled connection then caches a generic
// plan for the user read that scans the table sequentially; nothing
// replans it while the table grows unless the table is analyzed again.
// The figures need a quiet server: a cache reset in PostgreSQL replans
// every statement, and a server shared with tests that create and drop
// schemas resets caches every few seconds, hiding the slowdown. Point
// GATEHOUSE_TEST_POSTGRES at a server of your own. The scenario runs once
// whatever b.N is, so run it with -benchtime 1x:
//
//	go test -run '^$' -bench UserGetAfterGrowth -benchtime 1x ./internal/mgmt/
func BenchmarkUserGetAfterGrowth(b *testing.B) {
	const (
		fresh   = 20
		grow    = 20_000
		gets    = 4_000
		workers = 4
	)
	for _, be := range apptest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			dsn := be.DSN(b)
			s := apptest.Start(b, apptest.Options{DSN: dsn})
			tok := s.AdminToken(b)
			envID := newEnv(b, s, "Growth", "SANDBOX")
			popID := newPop(b, s, envID, "Growth")
			users := "/v1/environments/" + envID + "/users"

			ids := createUsersConcurrently(b, s, tok, users, popID, 0, fresh, workers)
			analyzeSchema(b, dsn)
			freshRate, freshP50, freshP99 := getRate(b, s, tok, users, ids, gets, workers)
			logTableStats(b, dsn, "fresh")
			start := time.Now()
			ids = append(ids, createUsersConcurrently(b, s, tok, users, popID, fresh, grow, workers)...)
			b.Logf("%d creates in %v", grow, time.Since(start).Round(time.Millisecond))
			logTableStats(b, dsn, "grown")
			afterRate, afterP50, afterP99 := getRate(b, s, tok, users, ids, gets, workers)
			logTableStats(b, dsn, "after")

			b.ReportMetric(freshRate, "get/s-fresh")
			b.ReportMetric(afterRate, "get/s-after")
			b.ReportMetric(afterRate/freshRate, "after/fresh")
			b.ReportMetric(freshP50, "p50-ms-fresh")
			b.ReportMetric(afterP50, "p50-ms-after")
			b.ReportMetric(freshP99, "p99-ms-fresh")
			b.ReportMetric(afterP99, "p99-ms-after")
		})
	}
}

// serve runs one request through the server's handler in process, so the
// figures are the server's and not the loopback's.
func serve(s *apptest.Server, method, url, tok string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	s.Handler.ServeHTTP(rec, req)
	return rec
}

// createUsersConcurrently creates users first…first+n-1 with workers
// requests in flight and returns their ids.
func createUsersConcurrently(b *testing.B, s *apptest.Server, tok, users, popID string, first, n, workers int) []string {
	b.Helper()
	ids := make([]string, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				name := fmt.Sprintf("grow%06d", first+i)
				body, _ := json.Marshal(map[string]any{"username": name, "email": name + "@example.com",
					"population": map[string]string{"id": popID}})
				rec := serve(s, http.MethodPost, users, tok, body)
				if rec.Code != http.StatusCreated {
					errs <- fmt.Errorf("create %s: %d %s", name, rec.Code, rec.Body)
					return
				}
				var u struct{ ID string }
				if err := json.Unmarshal(rec.Body.Bytes(), &u); err != nil {
					errs <- err
					return
				}
				ids[i] = u.ID
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	return ids
}

// getRate reads n random users of ids with workers requests in flight and
// returns the rate (per second) and the median and 99th percentile latency
// in ms.
func getRate(b *testing.B, s *apptest.Server, tok, users string, ids []string, n, workers int) (rate, p50, p99 float64) {
	b.Helper()
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 13))
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				rec := serve(s, http.MethodGet, users+"/"+ids[rng.IntN(len(ids))], tok, nil)
				lat[i] = time.Since(t0)
				if rec.Code != http.StatusOK {
					errs <- fmt.Errorf("get: %d %s", rec.Code, rec.Body)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	slices.Sort(lat)
	ms := func(q float64) float64 { return float64(lat[int(q*float64(n-1))]) / 1e6 }
	return float64(n) / elapsed.Seconds(), ms(0.50), ms(0.99)
}

// logTableStats logs how PostgreSQL has read and analyzed the users table:
// sequential scans that grow with the gets are plans made for a tiny table.
func logTableStats(b *testing.B, dsn, when string) {
	b.Helper()
	if !strings.HasPrefix(dsn, "postgres") {
		return
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	// The statistics collector publishes a backend's counts when it goes idle.
	time.Sleep(time.Second)
	var seq, seqRead, idx, live, mod, analyzes int64
	err = db.QueryRow(`SELECT seq_scan, seq_tup_read, COALESCE(idx_scan, 0), n_live_tup, n_mod_since_analyze,
 analyze_count + autoanalyze_count FROM pg_stat_user_tables WHERE relname = 'users' AND schemaname = current_schema()`).
		Scan(&seq, &seqRead, &idx, &live, &mod, &analyzes)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%s: users seq_scan %d (rows read %d), idx_scan %d, live %d, modified since analyze %d, analyzes %d",
		when, seq, seqRead, idx, live, mod, analyzes)
}

// analyzeSchema takes statistics of every table while they are small, as
// autovacuum does after a table's first 50 changes, an operator's ANALYZE
// or VACUUM does, and any database-wide ANALYZE on a shared server: from
// then on PostgreSQL no longer assumes that a table it knows nothing about
// may be large.
func analyzeSchema(b *testing.B, dsn string) {
	b.Helper()
	if !strings.HasPrefix(dsn, "postgres") {
		return
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT tablename FROM pg_tables WHERE schemaname = current_schema()`)
	if err != nil {
		b.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			b.Fatal(err)
		}
		tables = append(tables, t)
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	for _, t := range tables {
		if _, err := db.Exec(`ANALYZE ` + t); err != nil {
			b.Fatal(err)
		}
	}
}
