package mgmt_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

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
			for _, r := range []struct{ name, path string }{
				{"population", env + "/populations/" + popID},
				{"populations-50", env + "/populations"},
				{"theme", env + "/themes/" + themeID},
				{"themes", env + "/themes"},
				{"application", env + "/applications/" + app.JSON(b)["id"].(string)},
				{"environment", env},
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
