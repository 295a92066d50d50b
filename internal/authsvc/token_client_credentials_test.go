package authsvc_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/roles"
)

// ccEnv is an environment with two custom resources, applications of
// several types with the CLIENT_CREDENTIALS grant, and an admin token.
type ccEnv struct {
	s              *apptest.Server
	fx             *apptest.SignOn
	admin, envPath string
}

func (e *ccEnv) create(t testing.TB, path string, body map[string]any) string {
	t.Helper()
	r := e.s.Do(t, apptest.Request{Method: "POST", URL: e.envPath + path, Token: e.admin, Body: body})
	if r.Status != http.StatusCreated {
		t.Fatalf("POST %s: %d %s", path, r.Status, r.Body)
	}
	return r.JSON(t)["id"].(string)
}

// resource creates a custom resource with scopes and returns its id and
// the scope ids by name.
func (e *ccEnv) resource(t testing.TB, name, audience string, ttl int, scopes ...string) (string, map[string]string) {
	t.Helper()
	id := e.create(t, "/resources", map[string]any{"name": name, "audience": audience, "accessTokenValiditySeconds": ttl})
	ids := map[string]string{}
	for _, sc := range scopes {
		ids[sc] = e.create(t, "/resources/"+id+"/scopes", map[string]any{"name": sc})
	}
	return id, ids
}

// app creates an application of typ and returns its client_credentials
// configuration (no scopes yet).
func (e *ccEnv) app(t *testing.T, typ string, grantTypes ...string) clientcredentials.Config {
	t.Helper()
	body := map[string]any{"enabled": true, "name": typ + "-cc", "type": typ, "protocol": "OPENID_CONNECT",
		"grantTypes": grantTypes, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"}
	if slices.Contains(grantTypes, "AUTHORIZATION_CODE") {
		body["responseTypes"] = []string{"CODE"}
		body["redirectUris"] = []string{"https://app.example.com/cb"}
	}
	id := e.create(t, "/applications", body)
	sec := e.s.Do(t, apptest.Request{Method: "GET", URL: e.envPath + "/applications/" + id + "/secret", Token: e.admin})
	if sec.Status != http.StatusOK {
		t.Fatalf("secret: %s", sec.Body)
	}
	return clientcredentials.Config{ClientID: id, ClientSecret: sec.JSON(t)["secret"].(string),
		TokenURL: e.s.URL + "/" + e.fx.EnvID + "/as/token", AuthStyle: oauth2.AuthStyleInHeader}
}

func (e *ccEnv) grant(t testing.TB, appID, resID string, scopeIDs ...string) {
	t.Helper()
	var scopes []map[string]string
	for _, id := range scopeIDs {
		scopes = append(scopes, map[string]string{"id": id})
	}
	e.create(t, "/applications/"+appID+"/grants", map[string]any{"resource": map[string]string{"id": resID}, "scopes": scopes})
}

// verified checks raw's signature with the environment's JWKS (go-oidc,
// without its audience check: access tokens are not ID tokens) and
// returns its claims.
func (e *ccEnv) verified(t *testing.T, raw string) map[string]any {
	t.Helper()
	ctx := context.Background()
	provider, err := oidc.NewProvider(ctx, e.s.URL+"/"+e.fx.EnvID+"/as")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := provider.Verifier(&oidc.Config{SkipClientIDCheck: true}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("access token: %v", err)
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

// tokenError is the token endpoint's error for c asking for scope.
func (e *ccEnv) tokenError(t *testing.T, c clientcredentials.Config, scope string) (int, map[string]any) {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	if scope != "" {
		form.Set("scope", scope)
	}
	r := e.s.Do(t, apptest.Request{Method: "POST", URL: c.TokenURL, ContentType: formType, Body: form.Encode(), Headers: basic(c.ClientID, c.ClientSecret)})
	return r.Status, r.JSON(t)
}

// TestClientCredentialsCustomResource: applications of every type that
// PingOne gives the CLIENT_CREDENTIALS grant get, through x/oauth2, a
// token for the custom resource whose scopes they were granted and
// requested, with its audience and lifetime; scopes not granted, of two
// resources, or about a user are invalid_scope; a WORKER keeps its
// PingOne API token when it asks for no scope.
func TestClientCredentialsCustomResource(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			fx := s.NewSignOn(t, apptest.SignOnOptions{})
			e := &ccEnv{s: s, fx: fx, admin: s.AdminToken(t), envPath: "/environments/" + fx.EnvID}
			ctx := context.Background()
			orders, orderScopes := e.resource(t, "Orders", "https://api.orders.example.com", 600, "orders:read", "orders:write", "orders:admin")
			billing, billingScopes := e.resource(t, "Billing", "https://billing.example.com", 1800, "billing:read")
			web := e.app(t, "WEB_APP", "AUTHORIZATION_CODE", "CLIENT_CREDENTIALS")
			svc := e.app(t, "SERVICE", "CLIENT_CREDENTIALS")
			e.grant(t, web.ClientID, orders, orderScopes["orders:read"], orderScopes["orders:write"])
			e.grant(t, svc.ClientID, billing, billingScopes["billing:read"])
			issuer := s.URL + "/" + fx.EnvID + "/as"

			check := func(name string, c clientcredentials.Config, scopes []string, aud, scope string, ttl float64) {
				t.Helper()
				c.Scopes = scopes
				tok, err := c.Token(ctx)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if got, _ := tok.Extra("scope").(string); got != scope {
					t.Errorf("%s: response scope %q, want %q", name, got, scope)
				}
				if got, _ := tok.Extra("expires_in").(float64); got != ttl {
					t.Errorf("%s: expires_in %v, want %v", name, got, ttl)
				}
				claims := e.verified(t, tok.AccessToken)
				jti, _ := claims["jti"].(string)
				iat, _ := claims["iat"].(float64)
				want := map[string]any{"iss": issuer, "sub": c.ClientID, "client_id": c.ClientID, "aud": []any{aud}, "scope": scope,
					"jti": jti, "iat": iat, "exp": iat + ttl}
				if jti == "" || iat == 0 || !jsonEqual(claims, want) {
					t.Errorf("%s: claims %v, want %v", name, claims, want)
				}
				// The application itself introspects its token.
				r := s.Do(t, apptest.Request{Method: "POST", URL: issuer + "/introspect", ContentType: formType,
					Body: url.Values{"token": {tok.AccessToken}}.Encode(), Headers: basic(c.ClientID, c.ClientSecret)})
				wantIntro := map[string]any{"active": true, "token_type": "Bearer", "scope": scope, "client_id": c.ClientID, "sub": c.ClientID,
					"aud": []any{aud}, "iss": issuer, "jti": jti, "iat": iat, "exp": iat + ttl}
				if got := r.JSON(t); r.Status != http.StatusOK || !jsonEqual(got, wantIntro) {
					t.Errorf("%s: introspection %d %v, want %v", name, r.Status, got, wantIntro)
				}
			}
			check("web app, one scope", web, []string{"orders:read"}, "https://api.orders.example.com", "orders:read", 600)
			check("web app, both granted scopes", web, []string{"orders:write", "orders:read"}, "https://api.orders.example.com", "orders:write orders:read", 600)
			// PingOne: no scope gives every scope granted of the one custom resource.
			check("web app, no scope", web, nil, "https://api.orders.example.com", "orders:read orders:write", 600)
			check("service app", svc, []string{"billing:read"}, "https://billing.example.com", "billing:read", 1800)

			// A worker with no scope keeps its PingOne API token; with a
			// granted custom scope it gets that resource's.
			w := s.CreateWorker(t, fx.EnvID, "CLIENT_SECRET_BASIC", [3]string{roles.EnvironmentAdmin.ID, roles.ScopeEnvironment, fx.EnvID})
			worker := clientcredentials.Config{ClientID: w.ClientID, ClientSecret: w.Secret, TokenURL: web.TokenURL, AuthStyle: oauth2.AuthStyleInHeader}
			wt, err := worker.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			wc := e.verified(t, wt.AccessToken)
			if !jsonEqual(wc["aud"], []any{pingOneAud}) || wc["env"] != fx.EnvID || wc["scope"] != nil || wc["sub"] != w.ClientID {
				t.Errorf("worker token without scope: %v", wc)
			}
			if r := s.Do(t, apptest.Request{Method: "GET", URL: e.envPath + "/applications", Token: wt.AccessToken}); r.Status != http.StatusOK {
				t.Errorf("worker token on the management API: %d %s", r.Status, r.Body)
			}
			e.grant(t, w.ClientID, billing, billingScopes["billing:read"])
			check("worker, custom scope", worker, []string{"billing:read"}, "https://billing.example.com", "billing:read", 1800)

			// Errors, exactly.
			bad := e.app(t, "WEB_APP", "AUTHORIZATION_CODE")
			e.grant(t, svc.ClientID, orders, orderScopes["orders:read"])
			lone := e.app(t, "SERVICE", "CLIENT_CREDENTIALS")
			errs := []struct {
				name   string
				c      clientcredentials.Config
				scope  string
				status int
				want   map[string]any
			}{
				{"scope not granted", web, "orders:admin", 400, map[string]any{"error": "invalid_scope",
					"error_description": "The scope orders:admin is not granted to the application."}},
				{"unknown scope", web, "nope", 400, map[string]any{"error": "invalid_scope",
					"error_description": "The scope nope is not granted to the application."}},
				{"scopes of two resources", svc, "billing:read orders:read", 400, map[string]any{"error": "invalid_scope",
					"error_description": "May not request scopes for multiple resources."}},
				{"no scope, two resources granted", svc, "", 400, map[string]any{"error": "invalid_scope",
					"error_description": "The application holds scopes of more than one resource: request the scopes of one."}},
				{"no scope, nothing granted", lone, "", 400, map[string]any{"error": "invalid_scope",
					"error_description": "No scope was requested and the application holds no custom resource's scopes."}},
				{"an openid scope", web, "openid orders:read", 400, map[string]any{"error": "invalid_scope",
					"error_description": "The scope openid is about a user; client_credentials tokens have none."}},
				{"without the grant type", bad, "orders:read", 400, map[string]any{"error": "unauthorized_client",
					"error_description": "The application does not have the client_credentials grant type."}},
			}
			for _, c := range errs {
				status, got := e.tokenError(t, c.c, c.scope)
				if status != c.status || !jsonEqual(got, c.want) {
					t.Errorf("%s: %d %v, want %d %v", c.name, status, got, c.status, c.want)
				}
			}
			// x/oauth2 surfaces the error as a RetrieveError.
			web.Scopes = []string{"orders:admin"}
			_, err = web.Token(ctx)
			var re *oauth2.RetrieveError
			if !errors.As(err, &re) || re.ErrorCode != "invalid_scope" {
				t.Errorf("x/oauth2 error: %v", err)
			}
		})
	}
}
