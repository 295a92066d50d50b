package authsvc_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// testApplicationGone: once its application is disabled or deleted, a
// user's tokens stop working at once wherever they are read — userinfo,
// introspection (by the resource server the token is for), the refresh
// grant — as the management API already refuses a disabled or deleted
// application's own tokens. An application deleted and made again under
// the same id (and secret) does not bring them back.
func (fx *grantFixture) testApplicationGone(t *testing.T) {
	ctx := context.Background()
	rs := fx.createClient(t, fx.env, map[string]any{"name": "Gone RS", "enabled": true, "protocol": "OPENID_CONNECT", "type": "WORKER",
		"grantTypes": []string{"CLIENT_CREDENTIALS"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"})
	appBody := func(name string, enabled bool) map[string]any {
		return map[string]any{"name": name, "enabled": enabled, "protocol": "OPENID_CONNECT", "type": "WEB_APP",
			"grantTypes": []string{"AUTHORIZATION_CODE", "REFRESH_TOKEN"}, "responseTypes": []string{"CODE"},
			"redirectUris": []string{fxRedirect}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"}
	}
	appPath := func(id string) string { return "/environments/" + fx.env + "/applications/" + id }
	admin := fx.s.AdminToken(t)
	userinfo := func(tok string) *apptest.Response {
		return do(t, fx.s, apptest.Request{Method: "GET", URL: fx.issuer(fx.env) + "/userinfo", Headers: http.Header{"Authorization": {"Bearer " + tok}}})
	}

	cases := []struct {
		name string
		end  func(t *testing.T, app oauthClient, name string)
		// refresh is the refresh grant's error afterwards: the client no
		// longer authenticates, or (made again) the token is gone.
		refreshStatus int
		refreshError  string
	}{
		{"disabled", func(t *testing.T, app oauthClient, name string) {
			r := do(t, fx.s, apptest.Request{Method: "PUT", URL: appPath(app.id), Token: admin, Body: appBody(name, false)})
			if r.Status != http.StatusOK {
				t.Fatalf("disable: %d %s", r.Status, r.Body)
			}
		}, http.StatusUnauthorized, "invalid_client"},
		{"deleted", func(t *testing.T, app oauthClient, name string) {
			r := do(t, fx.s, apptest.Request{Method: "DELETE", URL: appPath(app.id), Token: admin})
			if r.Status != http.StatusNoContent {
				t.Fatalf("delete: %d %s", r.Status, r.Body)
			}
		}, http.StatusUnauthorized, "invalid_client"},
		{"deleted and made again under its id", func(t *testing.T, app oauthClient, name string) {
			rec, err := fx.s.Store.GetApplication(ctx, fx.env, app.id)
			if err != nil {
				t.Fatal(err)
			}
			r := do(t, fx.s, apptest.Request{Method: "DELETE", URL: appPath(app.id), Token: admin})
			if r.Status != http.StatusNoContent {
				t.Fatalf("delete: %d %s", r.Status, r.Body)
			}
			// Tokens carry iat in seconds: the new application is made in
			// a later second than the tokens, as it would be in practice.
			time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
			rec.CreatedAt, rec.UpdatedAt = store.Now(), store.Now()
			if err := fx.s.Store.CreateApplication(ctx, rec); err != nil {
				t.Fatal(err)
			}
		}, http.StatusBadRequest, "invalid_grant"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := "Gone " + c.name
			app := fx.createClient(t, fx.env, appBody(name, true))
			g := fxGrant("")
			g.Audience = []string{pingOneAud, rs.id}
			tok, _, _ := fx.signedOn(t, app, fx.user, g)
			if r := userinfo(tok.Access); r.Status != http.StatusOK {
				t.Fatalf("userinfo before: %d %s", r.Status, r.Body)
			}
			if !fx.active(t, rs, tok.Access) || !fx.active(t, app, tok.Access) || !fx.active(t, app, tok.Refresh) {
				t.Fatal("the tokens are not active before the application goes")
			}

			c.end(t, app, name)

			r := userinfo(tok.Access)
			wantOAuthError(t, r, http.StatusUnauthorized, "invalid_token")
			if got, want := r.Header.Get("WWW-Authenticate"),
				`Bearer error="invalid_token", error_description="The application of the access token is disabled or no longer exists."`; got != want {
				t.Errorf("WWW-Authenticate = %q, want %q", got, want)
			}
			for _, tk := range []string{tok.Access, tok.Refresh} {
				if got := fx.introspect(t, fx.env, rs, tk); len(got) != 1 || got["active"] != false {
					t.Errorf("introspected by the resource server: %v, want exactly {\"active\":false}", got)
				}
			}
			wantOAuthError(t, fx.tokenReq(t, fx.env, app, "grant_type", "refresh_token", "refresh_token", tok.Refresh), c.refreshStatus, c.refreshError)
			r = fx.clientPost(t, fx.env, "/as/introspect", app, "token", tok.Access)
			if c.refreshError == "invalid_client" {
				wantOAuthError(t, r, http.StatusUnauthorized, "invalid_client")
			} else if got := r.JSON(t); r.Status != http.StatusOK || len(got) != 1 || got["active"] != false {
				t.Errorf("introspected by the application made again: %d %s, want exactly {\"active\":false}", r.Status, r.Body)
			}
		})
	}

	t.Run("disabled user", func(t *testing.T) {
		// What held for users at userinfo holds at introspection too. A
		// refresh token whose session ended makes no token at all (PingOne
		// judges refresh tokens by their session).
		u := fx.createUser(t, fx.env, map[string]any{"username": "dora", "email": "dora@example.com"})["id"].(string)
		withSession, _, _ := fx.signedOn(t, fx.web, u, fxGrant(""))
		first, sid, _ := fx.signedOn(t, fx.web, u, fxGrant(""))
		if err := fx.s.Store.DeleteSession(ctx, fx.env, sid); err != nil {
			t.Fatal(err)
		}
		r := fx.tokenReq(t, fx.env, fx.web, "grant_type", "refresh_token", "refresh_token", first.Refresh)
		wantOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
		if !fx.active(t, fx.web, withSession.Access) {
			t.Fatal("a token is not active before the user is disabled")
		}
		r = do(t, fx.s, apptest.Request{Method: "PUT", URL: "/environments/" + fx.env + "/users/" + u + "/enabled", Token: admin,
			Body: map[string]any{"enabled": false}})
		if r.Status != http.StatusOK {
			t.Fatalf("disable user: %d %s", r.Status, r.Body)
		}
		for _, tk := range []string{withSession.Access} {
			if got := fx.introspect(t, fx.env, fx.web, tk); len(got) != 1 || got["active"] != false {
				t.Errorf("a disabled user's token introspects as %v", got)
			}
			wantOAuthError(t, userinfo(tk), http.StatusUnauthorized, "invalid_token")
		}
	})
}
