package mgmt_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// BenchmarkUserPagesHTTP is GET /users?filter=…&limit=100 over an
// environment of 20,000 users, through the whole handler (token check,
// store, JSON), on SQLite and PostgreSQL:
//
//	broad        username sw "u": every user matches, the first page
//	broad-next   the same filter's next-page links, followed from random users
//	sw-1000      username sw "user00NN": 1,000 matches
//	email        email eq "…": one match
//
// Seeding writes the users through the store, one at a time (about a
// minute on PostgreSQL). Run it with, for example:
//
//	go test -run '^$' -bench UserPagesHTTP -benchtime 1000x ./internal/mgmt/
func BenchmarkUserPagesHTTP(b *testing.B) {
	const n = 20_000
	for _, be := range apptest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			s := apptest.Start(b, apptest.Options{DSN: be.DSN(b)})
			tok := s.AdminToken(b)
			envID := newEnv(b, s, "Pages", "SANDBOX")
			ids := seedPageUsers(b, s.Store, envID, newPop(b, s, envID, "Everyone"), n)
			users := "/v1/environments/" + envID + "/users?limit=100&filter="
			rng := rand.New(rand.NewPCG(5, 6))
			for _, c := range []struct {
				name  string
				path  func() string
				count int
			}{
				{"broad", func() string { return users + url.QueryEscape(`username sw "u"`) }, n},
				{"broad-next", func() string {
					return users + url.QueryEscape(`username sw "u"`) + "&cursor=" + url.QueryEscape(wire.EncodeCursor(ids[rng.IntN(n-200)]))
				}, n},
				{"sw-1000", func() string {
					return users + url.QueryEscape(fmt.Sprintf(`username sw "user00%02d"`, rng.IntN(n/1000)))
				}, 1000},
				{"email", func() string {
					return users + url.QueryEscape(fmt.Sprintf(`email eq "user%07d@example.com"`, rng.IntN(n)))
				}, 1},
			} {
				b.Run(c.name, func(b *testing.B) {
					d := make([]time.Duration, 0, b.N)
					start := time.Now()
					for b.Loop() {
						t0 := time.Now()
						req := httptest.NewRequest(http.MethodGet, c.path(), nil)
						req.Header.Set("Authorization", "Bearer "+tok)
						rec := httptest.NewRecorder()
						s.Handler.ServeHTTP(rec, req)
						d = append(d, time.Since(t0))
						if rec.Code != http.StatusOK {
							b.Fatalf("GET %s: %d %s", req.URL, rec.Code, rec.Body)
						}
					}
					b.ReportMetric(float64(len(d))/time.Since(start).Seconds(), "pages/s")
					slices.Sort(d)
					b.ReportMetric(float64(d[len(d)/2])/1e6, "p50-ms")
				})
			}
		})
	}
}

// seedPageUsers creates n users named user0000000 onwards in popID and
// returns their ids in id order (the order pages follow).
func seedPageUsers(b *testing.B, st store.Store, envID, popID string, n int) []string {
	ctx := context.Background()
	ids := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 4 {
				now := store.Now()
				ids[i] = uuid.NewString()
				name := fmt.Sprintf("user%07d", i)
				if err := st.CreateUser(ctx, &store.User{ID: ids[i], EnvironmentID: envID, PopulationID: popID, Username: name,
					Email: name + "@example.com", Enabled: true, AccountStatus: "OK", LifecycleStatus: "ACCOUNT_OK",
					IdentityProviderType: "PING_ONE", VerifyStatus: "NOT_INITIATED", CreatedAt: now, UpdatedAt: now}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	slices.Sort(ids)
	return ids
}
