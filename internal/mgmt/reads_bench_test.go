package mgmt_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// What the reads PingOne's Terraform provider makes on every refresh cost,
// in time and in statements (a list must not cost a statement per row):
//
//	go test -run '^$' -bench Reads ./internal/mgmt/
func BenchmarkReads(b *testing.B) {
	for _, be := range apptest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			s := apptest.Start(b, apptest.Options{DSN: be.DSN(b)})
			tok := s.AdminToken(b)
			envID := newEnv(b, s, "Reads", "SANDBOX")
			env := "/v1/environments/" + envID
			var popID string
			for i := range 50 {
				popID = newPop(b, s, envID, fmt.Sprintf("Population %02d", i))
			}
			app := s.Do(b, apptest.Request{Method: http.MethodPost, URL: "/environments/" + envID + "/applications", Token: tok,
				Body: map[string]any{"name": "Web", "enabled": true, "protocol": "OPENID_CONNECT", "type": "WEB_APP",
					"grantTypes": []string{"AUTHORIZATION_CODE"}, "responseTypes": []string{"CODE"},
					"redirectUris": []string{"https://app.example.com/cb"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"}})
			if app.Status != http.StatusCreated {
				b.Fatalf("create application: %d %s", app.Status, app.Body)
			}
			themes := s.Do(b, apptest.Request{Method: http.MethodGet, URL: "/environments/" + envID + "/themes", Token: tok})
			if themes.Status != http.StatusOK {
				b.Fatalf("list themes: %d %s", themes.Status, themes.Body)
			}
			themeID := get(themes.JSON(b), "_embedded.themes").([]any)[0].(map[string]any)["id"].(string)
			userID := newBenchUser(b, s, tok, envID, popID)
			for _, r := range []struct{ name, path string }{
				{"population", env + "/populations/" + popID},
				{"populations-50", env + "/populations"},
				{"theme", env + "/themes/" + themeID},
				{"themes", env + "/themes"},
				{"application", env + "/applications/" + app.JSON(b)["id"].(string)},
				{"environment", env},
				{"user", env + "/users/" + userID},
			} {
				b.Run(r.name, func(b *testing.B) {
					b.ReportAllocs()
					q0 := s.Queries()
					defer func() { b.ReportMetric(float64(s.Queries()-q0)/float64(b.N), "queries/op") }()
					for b.Loop() {
						req := httptest.NewRequest(http.MethodGet, r.path, nil)
						req.Header.Set("Authorization", "Bearer "+tok)
						rec := httptest.NewRecorder()
						s.Handler.ServeHTTP(rec, req)
						if rec.Code != http.StatusOK {
							b.Fatalf("GET %s: %d %s", r.path, rec.Code, rec.Body)
						}
					}
				})
			}
		})
	}
}

// newBenchUser creates a user with a filled-in profile, as a directory
// sync makes them, and returns its id.
func newBenchUser(b *testing.B, s *apptest.Server, tok, envID, popID string) string {
	b.Helper()
	r := s.Do(b, apptest.Request{Method: http.MethodPost, URL: "/environments/" + envID + "/users", Token: tok,
		Body: map[string]any{"username": "ada.lovelace", "email": "ada@example.com", "population": map[string]any{"id": popID},
			"name":  map[string]any{"given": "Ada", "family": "Lovelace", "formatted": "Ada Lovelace"},
			"title": "Analyst", "locale": "en-GB", "mobilePhone": "+44 20 7946 0000", "externalId": "E-1815",
			"address": map[string]any{"locality": "London", "countryCode": "GB"}}})
	if r.Status != http.StatusCreated {
		b.Fatalf("create user: %d %s", r.Status, r.Body)
	}
	return r.JSON(b)["id"].(string)
}

// A user GET over HTTP, as PingOne's SDK sends it, from parallel clients on
// the server's own cores: the figure the goal (8,000/s on two cores)
// is about. Run with -cpu 2 (or the machine's cores) to compare:
//
//	go test -run '^$' -bench UserGetHTTP -cpu 2 ./internal/mgmt/
func BenchmarkUserGetHTTP(b *testing.B) {
	for _, be := range apptest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			s := apptest.Start(b, apptest.Options{DSN: be.DSN(b)})
			tok := s.AdminToken(b)
			envID := newEnv(b, s, "Reads", "SANDBOX")
			popID := newPop(b, s, envID, "Staff")
			url := s.APIPath + "/environments/" + envID + "/users/" + newBenchUser(b, s, tok, envID, popID)
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			defer client.CloseIdleConnections()
			// The server is set up once; b.Run repeats only the requests.
			b.Run("get", func(b *testing.B) {
				b.ReportAllocs()
				q0 := s.Queries()
				start := time.Now()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						req, _ := http.NewRequest(http.MethodGet, url, nil)
						req.Header.Set("Authorization", "Bearer "+tok)
						req.Header.Set("User-Agent", apptest.SDKUserAgent)
						resp, err := client.Do(req)
						if err != nil {
							b.Fatal(err)
						}
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != http.StatusOK {
							b.Fatalf("GET user: %d", resp.StatusCode)
						}
					}
				})
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
				b.ReportMetric(float64(s.Queries()-q0)/float64(b.N), "queries/op")
			})
		})
	}
}
