package mgmt_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/accesstoken"
	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/mgmt"
)

// TestDependsOnATokenVerifier: the management API accepts tokens through
// accesstoken.Verifier, so building it pulls in nothing of what issues
// them (the auth service, the sign-on flows, the mail senders).
func TestDependsOnATokenVerifier(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/gatehouse-id/gatehouse/internal/accesstoken") {
		t.Errorf("mgmt does not depend on accesstoken: %v", deps)
	}
	for _, p := range []string{"authsvc", "flow", "notify", "federation", "session"} {
		if slices.Contains(deps, "github.com/gatehouse-id/gatehouse/internal/"+p) {
			t.Errorf("mgmt depends on internal/%s", p)
		}
	}
}

// verifierFunc is a Verifier that answers as a test says.
type verifierFunc func(raw string) (*accesstoken.Claims, error)

func (f verifierFunc) VerifyAccessToken(_ context.Context, raw string) (*accesstoken.Claims, error) {
	return f(raw)
}

// TestAuthenticateThroughTheVerifier: whatever Verifier the API is given
// decides alone whether a token holds; the API then needs the token's
// application to exist (a WORKER, for a user's token, whose user must
// exist) and its roles, or the user's, to allow the request.
func TestAuthenticateThroughTheVerifier(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	env := s.Admin.EnvironmentID
	admin := &accesstoken.Claims{ClientID: s.Admin.ClientID, Subject: s.Admin.ClientID, Env: env}
	goneID := uuid.NewString()
	gone := &accesstoken.Claims{ClientID: goneID, Subject: goneID, Env: env}
	// A user's token of a WORKER acts as the user; one of another type of
	// application, or naming no user, is refused whatever the verifier
	// says, as is an application's own token in a session.
	users := s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + env + "/users?filter=username%20eq%20%22admin%22", Token: s.AdminToken(t)})
	adminID := users.JSON(t)["_embedded"].(map[string]any)["users"].([]any)[0].(map[string]any)["id"].(string)
	web := s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + env + "/applications", Token: s.AdminToken(t), Body: map[string]any{
		"name": "web", "type": "WEB_APP", "protocol": "OPENID_CONNECT", "enabled": true, "grantTypes": []string{"AUTHORIZATION_CODE"},
		"responseTypes": []string{"CODE"}, "redirectUris": []string{"https://app.example.com/cb"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"}})
	if web.Status != http.StatusCreated {
		t.Fatalf("web application: %d %s", web.Status, web.Body)
	}
	adminUser := &accesstoken.Claims{ClientID: s.Admin.ConsoleClientID, Subject: adminID, Env: env, SessionID: uuid.NewString()}
	webUser := &accesstoken.Claims{ClientID: web.JSON(t)["id"].(string), Subject: adminID, Env: env}
	user := &accesstoken.Claims{ClientID: s.Admin.ClientID, Subject: uuid.NewString(), Env: env}
	inSession := &accesstoken.Claims{ClientID: s.Admin.ClientID, Subject: s.Admin.ClientID, Env: env, SessionID: uuid.NewString()}
	cases := []struct {
		name    string
		answer  func() (*accesstoken.Claims, error)
		status  int
		code    string // PingOne error code; "" for success
		details []string
	}{
		{name: "verified admin", answer: func() (*accesstoken.Claims, error) { return admin, nil }, status: 200},
		{name: "refused", answer: func() (*accesstoken.Claims, error) { return nil, accesstoken.ErrInvalid },
			status: 401, code: "ACCESS_FAILED", details: []string{"INVALID_TOKEN"}},
		{name: "refused, wrapped", answer: func() (*accesstoken.Claims, error) { return nil, fmt.Errorf("expired: %w", accesstoken.ErrInvalid) },
			status: 401, code: "ACCESS_FAILED", details: []string{"INVALID_TOKEN"}},
		{name: "verifier failed", answer: func() (*accesstoken.Claims, error) { return nil, errors.New("store down") },
			status: 500, code: "UNEXPECTED_ERROR"},
		{name: "application deleted since", answer: func() (*accesstoken.Claims, error) { return gone, nil },
			status: 401, code: "ACCESS_FAILED", details: []string{"INVALID_TOKEN"}},
		{name: "the administrator's token from the console", answer: func() (*accesstoken.Claims, error) { return adminUser, nil }, status: 200},
		{name: "the administrator's token from a web application", answer: func() (*accesstoken.Claims, error) { return webUser, nil },
			status: 401, code: "ACCESS_FAILED", details: []string{"INVALID_TOKEN"}},
		{name: "a token of no user", answer: func() (*accesstoken.Claims, error) { return user, nil },
			status: 401, code: "ACCESS_FAILED", details: []string{"INVALID_TOKEN"}},
		{name: "a session's token", answer: func() (*accesstoken.Claims, error) { return inSession, nil },
			status: 401, code: "ACCESS_FAILED", details: []string{"INVALID_TOKEN"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got string
			api := &mgmt.API{Store: s.Store, Keys: s.Keys, Sealer: s.Sealer, APIPath: s.APIPath,
				Tokens: verifierFunc(func(raw string) (*accesstoken.Claims, error) { got = raw; return c.answer() })}
			mux := http.NewServeMux()
			api.Routes(mux)
			req := httptest.NewRequest("GET", "/v1/environments/"+env, nil)
			req.Header.Set("Authorization", "Bearer  the-token ")
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			if got != "the-token" {
				t.Errorf("verifier saw %q, want the trimmed token", got)
			}
			resp := &apptest.Response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
			if resp.Status != c.status {
				t.Fatalf("status = %d, want %d: %s", resp.Status, c.status, resp.Body)
			}
			body := resp.JSON(t)
			if c.code == "" {
				if body["id"] != env {
					t.Errorf("id = %v, want %s", body["id"], env)
				}
				return
			}
			if body["code"] != c.code {
				t.Errorf("code = %v, want %s", body["code"], c.code)
			}
			var details []string
			if ds, ok := body["details"].([]any); ok {
				for _, d := range ds {
					details = append(details, d.(map[string]any)["code"].(string))
				}
			}
			if !slices.Equal(details, c.details) {
				t.Errorf("details = %v, want %v", details, c.details)
			}
		})
	}
}
