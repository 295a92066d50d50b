package mgmt_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// What acting as an administrator user (the console's token) costs over
// acting as a worker application with the same roles, per /v1 read:
// the user, its session and its groups' roles are read on every request
// (users are not configuration), where the worker's come from the cache.
//
//	go test -run '^$' -bench UserActor ./internal/mgmt/
func BenchmarkUserActor(b *testing.B) {
	for _, be := range apptest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			s := apptest.Start(b, apptest.Options{DSN: be.DSN(b)})
			worker := s.AdminToken(b)
			tok, _ := s.ConsoleSignOn(b, s.Admin.Username, s.Admin.Password, "Blue-Harbor-Lantern-42!")
			path := "/v1/environments/" + s.Admin.EnvironmentID
			for _, c := range []struct{ name, token string }{{"worker", worker}, {"user", tok.AccessToken}} {
				b.Run(c.name, func(b *testing.B) {
					b.ReportAllocs()
					q0 := s.Queries()
					defer func() { b.ReportMetric(float64(s.Queries()-q0)/float64(b.N), "queries/op") }()
					for b.Loop() {
						req := httptest.NewRequest(http.MethodGet, path, nil)
						req.Header.Set("Authorization", "Bearer "+c.token)
						rec := httptest.NewRecorder()
						s.Handler.ServeHTTP(rec, req)
						if rec.Code != http.StatusOK {
							b.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
						}
					}
				})
			}
		})
	}
}
