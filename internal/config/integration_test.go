package config_test

import (
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/audit"
)

// The configuration cache as a client sees it, through the whole server:
// what the management API changes takes effect at once on the node that
// made the change, and within a second on another node of the same
// database; a warm authorize reads almost nothing from the store.

// authorizeFor starts a pi.flow authorize of fx's application.
func authorizeFor(t *testing.T, s *apptest.Server, fx *apptest.SignOn, redirectURI string) *apptest.Response {
	t.Helper()
	q := url.Values{"response_type": {"code"}, "client_id": {fx.AppID}, "redirect_uri": {redirectURI}, "scope": {"openid profile"},
		"response_mode": {"pi.flow"}}
	return s.Do(t, apptest.Request{Method: "GET", URL: s.URL + "/" + fx.EnvID + "/as/authorize?" + q.Encode()})
}

// authorizeOutcome is "started" for a flow waiting for the user, or the
// PingOne error an authorize refused with: "CODE detail target".
func authorizeOutcome(t *testing.T, r *apptest.Response) string {
	t.Helper()
	var body struct {
		Status  string `json:"status"`
		Code    string `json:"code"`
		Details []struct{ Code, Target string }
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("authorize: %d %s", r.Status, r.Body)
	}
	switch {
	case r.Status == http.StatusOK && body.Status == "USERNAME_PASSWORD_REQUIRED":
		return "started"
	case r.Status == http.StatusBadRequest && len(body.Details) == 1:
		return body.Code + " " + body.Details[0].Code + " " + body.Details[0].Target
	}
	t.Fatalf("authorize: unexpected answer %d %s", r.Status, r.Body)
	return ""
}

// appBody is the PUT body of fx's application with changes.
func appBody(fx *apptest.SignOn, changes map[string]any) map[string]any {
	body := map[string]any{"enabled": true, "name": fx.AppName, "type": "WEB_APP", "protocol": "OPENID_CONNECT",
		"grantTypes": []string{"AUTHORIZATION_CODE", "REFRESH_TOKEN"}, "responseTypes": []string{"CODE"},
		"redirectUris": []string{fx.RedirectURI}, "postLogoutRedirectUris": []string{"https://app.example.com/logout"},
		"tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC", "pkceEnforcement": "OPTIONAL"}
	for k, v := range changes {
		body[k] = v
	}
	return body
}

func putApp(t *testing.T, s *apptest.Server, fx *apptest.SignOn, changes map[string]any) {
	t.Helper()
	r := s.Do(t, apptest.Request{Method: "PUT", URL: "/environments/" + fx.EnvID + "/applications/" + fx.AppID, Token: s.AdminToken(t),
		Body: appBody(fx, changes)})
	if r.Status != http.StatusOK {
		t.Fatalf("PUT application: %d %s", r.Status, r.Body)
	}
}

// worker is a WORKER application of env made through the management API.
type worker struct{ id, secret string }

func newWorker(t *testing.T, s *apptest.Server, envID string) worker {
	t.Helper()
	r := s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + envID + "/applications", Token: s.AdminToken(t), Body: map[string]any{
		"name": "worker", "type": "WORKER", "protocol": "OPENID_CONNECT", "enabled": true, "grantTypes": []string{"CLIENT_CREDENTIALS"},
		"tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC", "assignActorRoles": false}})
	if r.Status != http.StatusCreated {
		t.Fatalf("create worker: %d %s", r.Status, r.Body)
	}
	w := worker{id: r.JSON(t)["id"].(string)}
	r = s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + envID + "/applications/" + w.id + "/secret", Token: s.AdminToken(t)})
	if r.Status != http.StatusOK {
		t.Fatalf("read secret: %d %s", r.Status, r.Body)
	}
	w.secret = r.JSON(t)["secret"].(string)
	return w
}

// tokenStatus is the status and OAuth error of a client_credentials grant.
func tokenStatus(t *testing.T, s *apptest.Server, envID, id, secret string) string {
	t.Helper()
	req, err := http.NewRequest("POST", s.URL+"/"+envID+"/as/token", strings.NewReader("grant_type=client_credentials"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error string `json:"error"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	if body.Error == "" {
		return http.StatusText(resp.StatusCode)
	}
	return http.StatusText(resp.StatusCode) + " " + body.Error
}

const (
	started         = "started"
	refusedClient   = "INVALID_REQUEST INVALID_VALUE client_id"
	refusedRedirect = "INVALID_REQUEST INVALID_VALUE redirect_uri"
	tokenOK         = "OK"
	tokenRefused    = "Unauthorized invalid_client"
)

// Disabling an application, removing a redirect URI and rotating a secret
// take effect on the node that made the change before its response
// returns, however warm the cache.
func TestSecurityEditsImmediate(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			fx := s.NewSignOn(t, apptest.SignOnOptions{})
			other := "https://app.example.com/other"
			putApp(t, s, fx, map[string]any{"redirectUris": []string{fx.RedirectURI, other}})
			w := newWorker(t, s, fx.EnvID)

			warm := func() {
				t.Helper()
				for _, ru := range []string{fx.RedirectURI, other} {
					if got := authorizeOutcome(t, authorizeFor(t, s, fx, ru)); got != started {
						t.Fatalf("authorize to %s before the edits: %s", ru, got)
					}
				}
				if got := tokenStatus(t, s, fx.EnvID, w.id, w.secret); got != tokenOK {
					t.Fatalf("token before the edits: %s", got)
				}
			}

			warm()
			putApp(t, s, fx, map[string]any{"redirectUris": []string{fx.RedirectURI}})
			if got := authorizeOutcome(t, authorizeFor(t, s, fx, other)); got != refusedRedirect {
				t.Errorf("authorize to a removed redirect URI: %s, want %s", got, refusedRedirect)
			}
			if got := authorizeOutcome(t, authorizeFor(t, s, fx, fx.RedirectURI)); got != started {
				t.Errorf("authorize to the kept redirect URI: %s", got)
			}

			putApp(t, s, fx, map[string]any{"enabled": false})
			if got := authorizeOutcome(t, authorizeFor(t, s, fx, fx.RedirectURI)); got != refusedClient {
				t.Errorf("authorize of a disabled application: %s, want %s", got, refusedClient)
			}
			putApp(t, s, fx, map[string]any{"enabled": true})
			if got := authorizeOutcome(t, authorizeFor(t, s, fx, fx.RedirectURI)); got != started {
				t.Errorf("authorize of the enabled application again: %s", got)
			}

			// Rotation without keeping the previous secret: the old one
			// stops at once, the new one works.
			old := w.secret
			r := s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + fx.EnvID + "/applications/" + w.id + "/secret", Token: s.AdminToken(t)})
			if r.Status != http.StatusOK {
				t.Fatalf("rotate: %d %s", r.Status, r.Body)
			}
			w.secret = r.JSON(t)["secret"].(string)
			if got := tokenStatus(t, s, fx.EnvID, w.id, old); got != tokenRefused {
				t.Errorf("token with the rotated-out secret: %s, want %s", got, tokenRefused)
			}
			if got := tokenStatus(t, s, fx.EnvID, w.id, w.secret); got != tokenOK {
				t.Errorf("token with the new secret: %s", got)
			}

			// Rotation keeping the previous secret, then ending it early.
			old = w.secret
			r = s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + fx.EnvID + "/applications/" + w.id + "/secret", Token: s.AdminToken(t),
				Body: map[string]any{"previous": map[string]any{"expiresAt": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}}})
			if r.Status != http.StatusOK {
				t.Fatalf("rotate keeping the previous: %d %s", r.Status, r.Body)
			}
			if got := tokenStatus(t, s, fx.EnvID, w.id, old); got != tokenOK {
				t.Errorf("token with the kept previous secret: %s", got)
			}
			r = s.Do(t, apptest.Request{Method: "DELETE", URL: "/environments/" + fx.EnvID + "/applications/" + w.id + "/secret", Token: s.AdminToken(t)})
			if r.Status != http.StatusNoContent {
				t.Fatalf("end the previous secret: %d %s", r.Status, r.Body)
			}
			if got := tokenStatus(t, s, fx.EnvID, w.id, old); got != tokenRefused {
				t.Errorf("token with an ended previous secret: %s, want %s", got, tokenRefused)
			}
		})
	}
}

// Two nodes on one database: a write through one node's management API is
// seen at once there and within a second on the other.
func TestTwoNodes(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			dsn := be.DSN(t)
			key := make([]byte, 32)
			rand.Read(key)
			a := apptest.Start(t, apptest.Options{DSN: dsn, MasterKey: key})
			b := apptest.Start(t, apptest.Options{DSN: dsn, MasterKey: key})
			fx := a.NewSignOn(t, apptest.SignOnOptions{})
			for name, s := range map[string]*apptest.Server{"a": a, "b": b} {
				if got := authorizeOutcome(t, authorizeFor(t, s, fx, fx.RedirectURI)); got != started {
					t.Fatalf("authorize on %s before the write: %s", name, got)
				}
			}

			edits := []struct {
				name  string
				write func()
				want  string
			}{
				{"disable", func() { putApp(t, a, fx, map[string]any{"enabled": false}) }, refusedClient},
				{"enable", func() { putApp(t, a, fx, map[string]any{"enabled": true}) }, started},
				{"change redirect URIs", func() { putApp(t, a, fx, map[string]any{"redirectUris": []string{"https://app.example.com/new"}}) }, refusedRedirect},
			}
			for _, e := range edits {
				// b's cache holds the application before each write.
				authorizeOutcome(t, authorizeFor(t, b, fx, fx.RedirectURI))
				e.write()
				written := time.Now()
				if got := authorizeOutcome(t, authorizeFor(t, a, fx, fx.RedirectURI)); got != e.want {
					t.Errorf("%s: the writing node answers %s, want %s at once", e.name, got, e.want)
				}
				for {
					got := authorizeOutcome(t, authorizeFor(t, b, fx, fx.RedirectURI))
					if got == e.want {
						break
					}
					// A second, and the time a loaded machine takes to
					// answer the request that sees it.
					if time.Since(written) > 1750*time.Millisecond {
						t.Fatalf("%s: the other node still answers %s %v after the write", e.name, got, time.Since(written))
					}
					time.Sleep(25 * time.Millisecond)
				}
				t.Logf("%s: seen by the other node after %v", e.name, time.Since(written).Round(time.Millisecond))
			}
		})
	}
}

// A warm authorize reads the environment, the application, its grants,
// the resources and the sign-on policy from memory: it only creates the
// flow (the session lookup needs no query without a cookie).
func TestWarmAuthorizeQueries(t *testing.T) {
	const most = 1
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			// No audit log: its writes, off the request path, would land
			// among the statements counted.
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t), Audit: audit.Options{Disabled: true}})
			fx := s.NewSignOn(t, apptest.SignOnOptions{})
			authorizeOutcome(t, authorizeFor(t, s, fx, fx.RedirectURI)) // cold
			least := int64(1 << 30)
			for range 5 {
				q0 := s.Queries()
				if got := authorizeOutcome(t, authorizeFor(t, s, fx, fx.RedirectURI)); got != started {
					t.Fatalf("authorize: %s", got)
				}
				n := s.Queries() - q0
				least = min(least, n)
				// A second may have passed: one version check more.
				if n > most+1 {
					t.Errorf("warm authorize: %d store queries, want at most %d (+1 for a version check)", n, most)
				}
			}
			if least > most {
				t.Errorf("warm authorize: at least %d store queries, want at most %d", least, most)
			}
			t.Logf("warm authorize: %d store queries", least)
		})
	}
}
