package authsvc_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// Application settings the management API accepts are served: includeX5t
// puts the signing certificate's thumbprint in every token's header, and
// wildcard redirect and post-logout URIs match as PingOne documents them,
// and corsSettings let a single-page app read the token endpoint's answers.
func TestServedApplicationSettings(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			fx := &grantFixture{s: s, env: s.Admin.EnvironmentID, org: s.OrganizationID(t), redirect: fxRedirect, postLogout: fxPostLogout}
			fx.user = fx.createUser(t, fx.env, map[string]any{"username": "x5t.user", "email": "x5t@example.com"})["id"].(string)
			t.Run("includeX5t", fx.testIncludeX5t)
			t.Run("wildcard redirect URIs", fx.testWildcardRedirects)
			t.Run("corsSettings at the token endpoint", fx.testTokenCORS)
		})
	}
}

// jwtHeader decodes a JWT's protected header.
func jwtHeader(t *testing.T, raw string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[0])
	if err != nil {
		t.Fatalf("header: %v", err)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatalf("header: %v", err)
	}
	return h
}

func (fx *grantFixture) testIncludeX5t(t *testing.T) {
	iss := fx.issuer(fx.env)
	jr := do(t, fx.s, apptest.Request{Method: "GET", URL: iss + "/jwks"})
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	jr.Decode(t, &set)
	x5tOf := map[string]any{}
	for _, k := range set.Keys {
		x5tOf[k["kid"].(string)] = k["x5t"]
	}
	web := func(name string, x5t bool) map[string]any {
		return map[string]any{"name": name, "enabled": true, "protocol": "OPENID_CONNECT", "type": "WEB_APP",
			"grantTypes": []string{"AUTHORIZATION_CODE"}, "responseTypes": []string{"CODE"}, "redirectUris": []string{fxRedirect},
			"tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC", "includeX5t": x5t}
	}
	with := fx.createClient(t, fx.env, web("With x5t", true))
	without := fx.createClient(t, fx.env, web("Without x5t", false))
	worker := fx.createClient(t, fx.env, map[string]any{"name": "Worker with x5t", "enabled": true, "protocol": "OPENID_CONNECT", "type": "WORKER",
		"grantTypes": []string{"CLIENT_CREDENTIALS"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC", "includeX5t": true})

	provider, err := oidc.NewProvider(context.Background(), iss)
	if err != nil {
		t.Fatalf("go-oidc discovery: %v", err)
	}
	for _, c := range []struct {
		name   string
		client oauthClient
		x5t    bool
	}{{"includeX5t true", with, true}, {"includeX5t false", without, false}} {
		t.Run(c.name, func(t *testing.T) {
			toks, _, _ := fx.signedOn(t, c.client, fx.user, fxGrant(""))
			for name, raw := range map[string]string{"access token": toks.Access, "ID token": toks.ID} {
				h := jwtHeader(t, raw)
				x5t, has := h["x5t"]
				switch {
				case c.x5t && (!has || x5t != x5tOf[h["kid"].(string)] || x5t == nil):
					t.Errorf("%s header x5t = %v, want the JWKS key's %v", name, x5t, x5tOf[h["kid"].(string)])
				case !c.x5t && has:
					t.Errorf("%s header has x5t %v without includeX5t", name, x5t)
				}
			}
			// The tokens still verify for relying parties and the
			// endpoints that read them.
			idt, err := provider.Verifier(&oidc.Config{ClientID: c.client.id}).Verify(context.Background(), toks.ID)
			if err != nil {
				t.Fatalf("go-oidc rejects the ID token: %v", err)
			}
			if err := idt.VerifyAccessToken(toks.Access); err != nil {
				t.Errorf("at_hash: %v", err)
			}
			if !fx.active(t, c.client, toks.Access) {
				t.Error("introspection says the access token is not active")
			}
		})
	}
	t.Run("client_credentials", func(t *testing.T) {
		tok := fx.s.TokenFor(t, fx.env, worker.id, worker.secret)
		h := jwtHeader(t, tok)
		if h["x5t"] == nil || h["x5t"] != x5tOf[h["kid"].(string)] {
			t.Errorf("header x5t = %v, want %v", h["x5t"], x5tOf[h["kid"].(string)])
		}
		// The worker holds its creator's roles: the token works at the
		// management API.
		r := do(t, fx.s, apptest.Request{Method: "GET", URL: "/environments/" + fx.env, Token: tok})
		if r.Status != http.StatusOK {
			t.Errorf("management API with the x5t token: %d %s", r.Status, r.Body)
		}
	})
}

func (fx *grantFixture) testWildcardRedirects(t *testing.T) {
	app := fx.createClient(t, fx.env, map[string]any{"name": "Wildcards", "enabled": true, "protocol": "OPENID_CONNECT", "type": "WEB_APP",
		"grantTypes": []string{"AUTHORIZATION_CODE"}, "responseTypes": []string{"CODE"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC",
		"allowWildcardInRedirectUris": true, "redirectUris": []string{"https://app.example.com/th*/callback"},
		"postLogoutRedirectUris": []string{"https://app.example.com/bye/*"}})
	iss := fx.issuer(fx.env)
	par := func(redirect string) *apptest.Response {
		kv := []string{"response_type", "code", "client_id", app.id, "scope", "openid"}
		if redirect != "" {
			kv = append(kv, "redirect_uri", redirect)
		}
		return fx.clientPost(t, fx.env, "/as/par", app, kv...)
	}
	for _, c := range []struct {
		redirect string
		status   int
		err      string
	}{
		{"https://app.example.com/this/callback", http.StatusCreated, ""},
		{"https://app.example.com/that/callback", http.StatusCreated, ""},
		{"https://app.example.com/oidc/callback", http.StatusBadRequest, "The redirect_uri is not registered for the application."},
		{"https://evil.example.com/this/callback", http.StatusBadRequest, "The redirect_uri is not registered for the application."},
		{"https://app.example.com/th/../callback", http.StatusBadRequest, "The redirect_uri is not registered for the application."},
		// The one registered URI is a pattern: it is no default.
		{"", http.StatusBadRequest, "A value is required for redirect_uri."},
	} {
		t.Run("PAR "+c.redirect, func(t *testing.T) {
			r := par(c.redirect)
			if r.Status != c.status {
				t.Fatalf("status = %d, want %d: %s", r.Status, c.status, r.Body)
			}
			if c.err != "" {
				if m := r.JSON(t); m["error"] != "invalid_request" || m["error_description"] != c.err {
					t.Errorf("answer = %v, want invalid_request %q", m, c.err)
				}
			}
		})
	}
	t.Run("signoff", func(t *testing.T) {
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		signoff := func(plr string) *http.Response {
			q := url.Values{"client_id": {app.id}, "post_logout_redirect_uri": {plr}, "state": {"s1"}}
			resp, err := c.Get(iss + "/signoff?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp
		}
		if r := signoff("https://app.example.com/bye/now"); r.StatusCode != http.StatusFound || r.Header.Get("Location") != "https://app.example.com/bye/now?state=s1" {
			t.Errorf("matching post-logout URI: %d %q", r.StatusCode, r.Header.Get("Location"))
		}
		if r := signoff("https://app.example.com/elsewhere"); r.StatusCode != http.StatusBadRequest {
			t.Errorf("post-logout URI outside the pattern: %d, want 400", r.StatusCode)
		}
	})
}

func (fx *grantFixture) testTokenCORS(t *testing.T) {
	const allowed = "https://spa.example.com"
	spa := func(name string, cors any) map[string]any {
		b := map[string]any{"name": name, "enabled": true, "protocol": "OPENID_CONNECT", "type": "SINGLE_PAGE_APP",
			"grantTypes": []string{"AUTHORIZATION_CODE", "REFRESH_TOKEN"}, "responseTypes": []string{"CODE"}, "redirectUris": []string{fxRedirect},
			"tokenEndpointAuthMethod": "NONE", "pkceEnforcement": "S256_REQUIRED"}
		if cors != nil {
			b["corsSettings"] = cors
		}
		return b
	}
	withCORS := fx.createClient(t, fx.env, spa("SPA with CORS", map[string]any{"behavior": "ALLOW_SPECIFIC_ORIGINS", "origins": []string{allowed}}))
	noOrigins := fx.createClient(t, fx.env, spa("SPA allowing no origins", map[string]any{"behavior": "ALLOW_NO_ORIGINS"}))
	noCORS := fx.createClient(t, fx.env, spa("SPA without CORS", nil))
	post := func(path, origin string, kv ...string) *apptest.Response {
		return do(t, fx.s, apptest.Request{Method: "POST", URL: fx.s.URL + "/" + fx.env + path, ContentType: formType, Body: form(kv...),
			Headers: http.Header{"Origin": {origin}}})
	}
	redeem := func(c oauthClient, origin string) *apptest.Response {
		sid, _ := fx.session(t, fx.env, fx.user)
		v := newVerifier()
		g := fxGrant(v)
		g.Scope, g.Audience = "openid offline_access", nil
		code := fx.code(t, codeSpec{app: c.id, user: fx.user, session: sid, grant: g})
		return post("/as/token", origin, "grant_type", "authorization_code", "code", code, "redirect_uri", fxRedirect,
			"code_verifier", v, "client_id", c.id)
	}
	wantCORS := func(t *testing.T, r *apptest.Response, status int, acao string) {
		t.Helper()
		if r.Status != status {
			t.Fatalf("status = %d, want %d: %s", r.Status, status, r.Body)
		}
		if got := r.Header.Get("Access-Control-Allow-Origin"); got != acao {
			t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, acao)
		}
		if acao != "" && r.Header.Get("Access-Control-Allow-Credentials") != "" {
			t.Error("credentials are allowed: the token endpoint needs no cookie")
		}
	}
	t.Run("allowed origin", func(t *testing.T) {
		r := redeem(withCORS, allowed)
		wantCORS(t, r, http.StatusOK, allowed)
		if !slices.Contains(r.Header.Values("Vary"), "Origin") {
			t.Errorf("Vary = %v, want Origin", r.Header.Values("Vary"))
		}
		var tok tokens
		r.Decode(t, &tok)
		// Refreshing and revoking from the page are readable too.
		wantCORS(t, post("/as/token", allowed, "grant_type", "refresh_token", "refresh_token", tok.Refresh, "client_id", withCORS.id), http.StatusOK, allowed)
		wantCORS(t, post("/as/revoke", allowed, "token", tok.Access, "client_id", withCORS.id), http.StatusOK, allowed)
	})
	t.Run("an error of the allowed origin's client", func(t *testing.T) {
		r := post("/as/token", allowed, "grant_type", "authorization_code", "code", "no-such-code", "redirect_uri", fxRedirect,
			"code_verifier", newVerifier(), "client_id", withCORS.id)
		wantCORS(t, r, http.StatusBadRequest, allowed)
	})
	t.Run("another origin", func(t *testing.T) {
		wantCORS(t, redeem(withCORS, "https://evil.example.com"), http.StatusOK, "")
	})
	t.Run("ALLOW_NO_ORIGINS", func(t *testing.T) {
		wantCORS(t, redeem(noOrigins, allowed), http.StatusOK, "")
	})
	t.Run("no corsSettings", func(t *testing.T) {
		wantCORS(t, redeem(noCORS, allowed), http.StatusOK, "")
	})
	t.Run("a client that did not authenticate", func(t *testing.T) {
		wantCORS(t, post("/as/token", allowed, "grant_type", "authorization_code", "code", "x", "client_id", uuid.NewString()), http.StatusUnauthorized, "")
	})
}
