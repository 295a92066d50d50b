package authsvc_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/audit"
)

// TestAuditAddsNoStatements: auditing adds no store statement to a
// client_credentials token or a headless sign-on: the same requests run
// the same statements with the audit log off and on, and with it on
// the activities are stored later, by the log's writer, a batch at a
// time (its FlushInterval is an hour here, so that nothing is written
// while the requests are counted; Flush then writes them).
func TestAuditAddsNoStatements(t *testing.T) {
	type cost struct{ token, signOn int64 }
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			costs := map[string]cost{}
			for _, mode := range []string{"off", "on"} {
				s := apptest.Start(t, apptest.Options{DSN: be.DSN(t),
					Audit: audit.Options{Disabled: mode == "off", FlushInterval: time.Hour}})
				fx := s.NewSignOn(t, apptest.SignOnOptions{})
				env := s.Admin.EnvironmentID
				// The first of each fills the server's caches; the fewest of
				// the next three is the request's own cost (a purge loop's
				// statement may land in one of them).
				measure := func(fn func()) int64 {
					fn()
					least := int64(-1)
					for range 3 {
						q0 := s.Queries()
						fn()
						if n := s.Queries() - q0; least < 0 || n < least {
							least = n
						}
					}
					return least
				}
				var c cost
				c.token = measure(func() { s.TokenFor(t, env, s.Admin.ClientID, s.Admin.ClientSecret) })
				c.signOn = measure(func() { headlessSignOn(t, s, fx) })
				costs[mode] = c
				if mode == "on" {
					q0 := s.Queries()
					if err := s.Audit.Flush(t.Context()); err != nil {
						t.Fatal(err)
					}
					// Everything queued since the start: the fixture's writes, 4
					// tokens and 4 sign-ons.
					n := s.Queries() - q0
					if n == 0 {
						t.Fatal("audit on: Flush stored nothing (no activity was recorded)")
					}
					t.Logf("audit on: the queued activities stored in %d statements", n)
				}
			}
			t.Logf("statements per request, audit off %+v, on %+v", costs["off"], costs["on"])
			if costs["on"] != costs["off"] {
				t.Errorf("statements per request: audit on %+v, off %+v; want the same", costs["on"], costs["off"])
			}
		})
	}
}

// headlessSignOn is one whole pi.flow sign-on: authorize, the password
// check, resume, and the code exchanged for tokens.
func headlessSignOn(t testing.TB, s *apptest.Server, fx *apptest.SignOn) {
	t.Helper()
	bc := newBenchClient(t)
	base := s.URL + "/" + fx.EnvID
	authURL := base + "/as/authorize?" + url.Values{"response_type": {"code"}, "client_id": {fx.AppID}, "redirect_uri": {fx.RedirectURI},
		"scope": {"openid profile"}, "response_mode": {"pi.flow"}}.Encode()
	var fl struct {
		ID                string `json:"id"`
		Status            string `json:"status"`
		ResumeURL         string `json:"resumeUrl"`
		AuthorizeResponse struct{ Code string }
	}
	bc.do("GET", authURL, "", "", [2]string{}, &fl)
	creds := `{"username":"` + fx.Username + `","password":"` + fx.Password + `"}`
	if st := bc.do("POST", base+"/flows/"+fl.ID, ctUsernamePassword, creds, [2]string{}, &fl); st != 200 || fl.Status != "COMPLETED" {
		t.Fatalf("check: %d %s", st, fl.Status)
	}
	bc.do("GET", fl.ResumeURL, "", "", [2]string{}, &fl)
	var tok struct {
		IDToken string `json:"id_token"`
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {fl.AuthorizeResponse.Code}, "redirect_uri": {fx.RedirectURI}}.Encode()
	if st := bc.do("POST", base+"/as/token", "application/x-www-form-urlencoded", form, [2]string{fx.AppID, fx.AppSecret}, &tok); st != 200 || tok.IDToken == "" {
		t.Fatalf("token: %d", st)
	}
}
