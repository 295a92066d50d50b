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
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

const formType = "application/x-www-form-urlencoded"

// do sends r; no token endpoint request may answer 5xx.
func do(t testing.TB, s *apptest.Server, r apptest.Request) *apptest.Response {
	t.Helper()
	resp := s.Do(t, r)
	if resp.Status >= 500 {
		t.Fatalf("%s %s answered %d: %s", r.Method, r.URL, resp.Status, resp.Body)
	}
	return resp
}

// basic is an RFC 6749 §2.3.1 Authorization header: the credentials are
// form-urlencoded before base64.
func basic(id, secret string) http.Header {
	raw := url.QueryEscape(id) + ":" + url.QueryEscape(secret)
	return http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(raw))}}
}

// tokenCase is one call of the token endpoint.
type tokenCase struct {
	name  string
	env   string // environment in the path
	body  string
	ctype string      // default form-urlencoded
	hdr   http.Header // e.g. Basic credentials
	// status and error (an RFC 6749 code; "" = success)
	status  int
	err     string
	wwwAuth bool // WWW-Authenticate must be present (Basic was used)
}

func form(kv ...string) string {
	v := url.Values{}
	for i := 0; i < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v.Encode()
}

// TestTokenEndpoint drives POST /{envId}/as/token through every outcome on
// SQLite, and checks an issued token as a relying party would.
func TestTokenEndpoint(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	env := s.Admin.EnvironmentID
	other := createEnv(t, s, "Token other")

	basicW := s.CreateWorker(t, env, "CLIENT_SECRET_BASIC", [3]string{roles.EnvironmentAdmin.ID, roles.ScopeEnvironment, env})
	postW := s.CreateWorker(t, env, "CLIENT_SECRET_POST", [3]string{roles.EnvironmentAdmin.ID, roles.ScopeEnvironment, env})
	otherW := s.CreateWorker(t, other, "CLIENT_SECRET_BASIC")
	disabledW := s.CreateWorker(t, env, "CLIENT_SECRET_BASIC")
	app, err := s.Store.GetApplication(ctx, env, disabledW.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	app.Enabled = false
	if err := s.Store.UpdateApplication(ctx, app); err != nil {
		t.Fatal(err)
	}
	noGrantW := s.CreateWorker(t, env, "CLIENT_SECRET_BASIC")
	app, err = s.Store.GetApplication(ctx, env, noGrantW.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	app.Data = json.RawMessage(`{"grantTypes":["AUTHORIZATION_CODE"]}`)
	if err := s.Store.UpdateApplication(ctx, app); err != nil {
		t.Fatal(err)
	}

	cc := form("grant_type", "client_credentials")
	postCreds := func(w apptest.Worker) string {
		return form("grant_type", "client_credentials", "client_id", w.ClientID, "client_secret", w.Secret)
	}
	unknownID := uuid.NewString()

	cases := []tokenCase{
		{name: "client_secret_basic", body: cc, hdr: basic(basicW.ClientID, basicW.Secret), status: 200},
		{name: "client_secret_post", body: postCreds(postW), status: 200},
		{name: "client_secret_basic with a charset on the form", body: cc, ctype: formType + "; charset=UTF-8",
			hdr: basic(basicW.ClientID, basicW.Secret), status: 200},
		{name: "BASIC worker using post", body: postCreds(basicW), status: 401, err: "invalid_client"},
		{name: "POST worker using basic", body: cc, hdr: basic(postW.ClientID, postW.Secret), status: 401, err: "invalid_client", wwwAuth: true},
		{name: "wrong secret with basic", body: cc, hdr: basic(basicW.ClientID, basicW.Secret+"x"), status: 401, err: "invalid_client", wwwAuth: true},
		{name: "wrong secret with post", body: form("grant_type", "client_credentials", "client_id", postW.ClientID, "client_secret", "nope"),
			status: 401, err: "invalid_client"},
		{name: "empty secret with basic", body: cc, hdr: basic(basicW.ClientID, ""), status: 401, err: "invalid_client", wwwAuth: true},
		{name: "no client credentials", body: cc, status: 401, err: "invalid_client"},
		{name: "unknown client id", body: cc, hdr: basic(unknownID, basicW.Secret), status: 401, err: "invalid_client", wwwAuth: true},
		{name: "non-uuid client id", body: cc, hdr: basic("not-a-client", basicW.Secret), status: 401, err: "invalid_client", wwwAuth: true},
		{name: "non-uuid client id with post", body: form("grant_type", "client_credentials", "client_id", "x\x00y", "client_secret", "s"),
			status: 401, err: "invalid_client"},
		{name: "client of another environment", body: cc, hdr: basic(otherW.ClientID, otherW.Secret), status: 401, err: "invalid_client", wwwAuth: true},
		{name: "unknown environment", env: uuid.NewString(), body: cc, hdr: basic(basicW.ClientID, basicW.Secret), status: 401, err: "invalid_client", wwwAuth: true},
		{name: "unknown environment with post", env: uuid.NewString(), body: postCreds(postW), status: 401, err: "invalid_client"},
		{name: "malformed environment id", env: "not-an-env", body: cc, hdr: basic(basicW.ClientID, basicW.Secret), status: 401, err: "invalid_client", wwwAuth: true},
		{name: "malformed Basic header", body: cc, hdr: http.Header{"Authorization": {"Basic !!!"}}, status: 401, err: "invalid_client", wwwAuth: true},
		{name: "Basic header without a colon", body: cc, hdr: http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(basicW.ClientID))}},
			status: 401, err: "invalid_client", wwwAuth: true},
		{name: "disabled application", body: cc, hdr: basic(disabledW.ClientID, disabledW.Secret), status: 401, err: "invalid_client", wwwAuth: true},
		{name: "application without client_credentials", body: cc, hdr: basic(noGrantW.ClientID, noGrantW.Secret), status: 400, err: "unauthorized_client"},
		{name: "unsupported grant_type", body: form("grant_type", "password", "username", "u", "password", "p"),
			hdr: basic(basicW.ClientID, basicW.Secret), status: 400, err: "unsupported_grant_type"},
		{name: "missing grant_type", body: "", hdr: basic(basicW.ClientID, basicW.Secret), status: 400, err: "invalid_request"},
		{name: "repeated grant_type", body: form("grant_type", "client_credentials", "grant_type", "client_credentials"),
			hdr: basic(basicW.ClientID, basicW.Secret), status: 400, err: "invalid_request"},
		{name: "repeated client_id", body: form("grant_type", "client_credentials", "client_id", postW.ClientID, "client_id", postW.ClientID,
			"client_secret", postW.Secret), status: 400, err: "invalid_request"},
		{name: "two authentication methods", body: postCreds(basicW), hdr: basic(basicW.ClientID, basicW.Secret), status: 400, err: "invalid_request"},
		{name: "JSON body", body: `{"grant_type":"client_credentials"}`, ctype: "application/json",
			hdr: basic(basicW.ClientID, basicW.Secret), status: 400, err: "invalid_request"},
		{name: "no Content-Type", body: cc, ctype: "-", hdr: basic(basicW.ClientID, basicW.Secret), status: 400, err: "invalid_request"},
		{name: "scope on a worker", body: form("grant_type", "client_credentials", "scope", "openid"),
			hdr: basic(basicW.ClientID, basicW.Secret), status: 400, err: "invalid_scope"},
		{name: "oversized form", body: cc + "&pad=" + strings.Repeat("a", 70<<10), hdr: basic(basicW.ClientID, basicW.Secret),
			status: 400, err: "invalid_request"},
	}

	var issued []string
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := c.env
			if e == "" {
				e = env
			}
			ct := c.ctype
			if ct == "" {
				ct = formType
			}
			r := do(t, s, apptest.Request{Method: "POST", URL: s.URL + "/" + e + "/as/token", Body: c.body, ContentType: ct, Headers: c.hdr})
			if r.Status != c.status {
				t.Fatalf("status = %d, want %d: %s", r.Status, c.status, r.Body)
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", cc)
			}
			var body map[string]any
			r.Decode(t, &body)
			if c.err == "" {
				if body["token_type"] != "Bearer" || body["expires_in"] != float64(3600) {
					t.Errorf("token response = %s", r.Body)
				}
				if tok, _ := body["access_token"].(string); tok == "" {
					t.Errorf("no access_token: %s", r.Body)
				} else {
					issued = append(issued, tok)
				}
				if p := r.Header.Get("Pragma"); p != "no-cache" {
					t.Errorf("Pragma = %q, want no-cache", p)
				}
				return
			}
			// RFC 6749 §5.2, never PingOne's platform error shape.
			keys := make([]string, 0, len(body))
			for k := range body {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if !slices.Equal(keys, []string{"error", "error_description"}) {
				t.Errorf("error members = %v, want error and error_description: %s", keys, r.Body)
			}
			if body["error"] != c.err {
				t.Errorf("error = %v, want %s", body["error"], c.err)
			}
			if d, _ := body["error_description"].(string); d == "" {
				t.Error("empty error_description")
			}
			if got := r.Header.Get("WWW-Authenticate"); c.wwwAuth != (got != "") {
				t.Errorf("WWW-Authenticate = %q, want present: %v", got, c.wwwAuth)
			} else if c.wwwAuth && !strings.HasPrefix(got, "Basic") {
				t.Errorf("WWW-Authenticate = %q, want the Basic scheme", got)
			}
		})
	}

	if len(issued) != 3 {
		t.Fatalf("issued %d tokens, want 3", len(issued))
	}
	verifyAsRelyingParty(t, s, env, basicW.ClientID, issued[0])
	verifyAsRelyingParty(t, s, env, postW.ClientID, issued[1])

	// Each environment signs with its own key and names itself.
	verifyAsRelyingParty(t, s, other, otherW.ClientID, s.Token(t, otherW))
}

// createEnv creates an environment through the management API.
func createEnv(t testing.TB, s *apptest.Server, name string) string {
	t.Helper()
	r := do(t, s, apptest.Request{Method: "POST", URL: "/environments", Token: s.AdminToken(t),
		Body: map[string]any{"name": name, "type": "SANDBOX", "region": "NA", "license": map[string]any{"id": s.LicenseID(t)}}})
	if r.Status != http.StatusCreated {
		t.Fatalf("create environment: %d %s", r.Status, r.Body)
	}
	return r.JSON(t)["id"].(string)
}

// verifyAsRelyingParty checks raw the way a resource server would: keys
// from the JWKS, RS256 only, then every claim exactly.
func verifyAsRelyingParty(t *testing.T, s *apptest.Server, envID, clientID, raw string) {
	t.Helper()
	iss := s.URL + "/" + envID + "/as"

	jr := do(t, s, apptest.Request{Method: "GET", URL: iss + "/jwks"})
	if jr.Status != http.StatusOK || jr.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("jwks: %d %q %s", jr.Status, jr.Header.Get("Content-Type"), jr.Body)
	}
	var set jose.JSONWebKeySet
	jr.Decode(t, &set)
	var rawSet struct {
		Keys []map[string]any `json:"keys"`
	}
	jr.Decode(t, &rawSet)

	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("parse token: %v", err)
	}
	if len(tok.Headers) != 1 {
		t.Fatalf("%d headers", len(tok.Headers))
	}
	h := tok.Headers[0]
	if h.Algorithm != "RS256" {
		t.Errorf("alg = %s, want RS256", h.Algorithm)
	}
	if typ := h.ExtraHeaders[jose.HeaderType]; typ != "JWT" {
		t.Errorf("typ = %v, want JWT", typ)
	}
	matches := set.Key(h.KeyID)
	if h.KeyID == "" || len(matches) != 1 {
		t.Fatalf("kid %q matches %d JWKS keys", h.KeyID, len(matches))
	}
	for _, k := range rawSet.Keys {
		if k["kid"] != h.KeyID {
			continue
		}
		if k["kty"] != "RSA" || k["use"] != "sig" {
			t.Errorf("JWKS key kty %v use %v, want RSA sig", k["kty"], k["use"])
		}
		if x5c, _ := k["x5c"].([]any); len(x5c) == 0 {
			t.Errorf("JWKS key has no x5c: %v", k)
		}
		if _, ok := k["d"]; ok {
			t.Error("JWKS publishes a private key")
		}
	}
	key := matches[0]
	if len(key.Certificates) == 0 {
		t.Error("JWKS key has no certificate chain")
	}

	var claims map[string]any
	var std jwt.Claims
	if err := tok.Claims(key.Key, &claims, &std); err != nil {
		t.Fatalf("signature does not verify with the JWKS key: %v", err)
	}
	if err := std.ValidateWithLeeway(jwt.Expected{Issuer: iss, AnyAudience: jwt.Audience{"https://api.pingone.com"}, Time: time.Now()}, 0); err != nil {
		t.Errorf("standard claims: %v", err)
	}
	names := make([]string, 0, len(claims))
	for k := range claims {
		names = append(names, k)
	}
	slices.Sort(names)
	if want := []string{"aud", "client_id", "env", "exp", "iat", "iss", "jti", "org", "sub"}; !slices.Equal(names, want) {
		t.Errorf("claims = %v, want %v", names, want)
	}
	if claims["iss"] != iss {
		t.Errorf("iss = %v, want %s", claims["iss"], iss)
	}
	if claims["sub"] != clientID || claims["client_id"] != clientID {
		t.Errorf("sub %v client_id %v, want %s", claims["sub"], claims["client_id"], clientID)
	}
	if aud, ok := claims["aud"].([]any); !ok || len(aud) != 1 || aud[0] != "https://api.pingone.com" {
		t.Errorf("aud = %#v, want the array [https://api.pingone.com]", claims["aud"])
	}
	if claims["env"] != envID {
		t.Errorf("env = %v, want %s", claims["env"], envID)
	}
	if claims["org"] != s.OrganizationID(t) {
		t.Errorf("org = %v, want %s", claims["org"], s.OrganizationID(t))
	}
	iat, _ := claims["iat"].(float64)
	exp, _ := claims["exp"].(float64)
	if exp-iat != 3600 {
		t.Errorf("exp - iat = %v, want 3600", exp-iat)
	}
	if now := float64(time.Now().Unix()); iat > now+5 || iat < now-60 {
		t.Errorf("iat = %v, now %v", iat, now)
	}
	if jti, _ := claims["jti"].(string); uuid.Validate(jti) != nil || len(jti) != 36 {
		t.Errorf("jti = %v, want a uuid", claims["jti"])
	}

	// Discovery names the same issuer and JWKS.
	dr := do(t, s, apptest.Request{Method: "GET", URL: iss + "/.well-known/openid-configuration"})
	if dr.Status != http.StatusOK || dr.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("discovery: %d %q %s", dr.Status, dr.Header.Get("Content-Type"), dr.Body)
	}
	d := dr.JSON(t)
	if d["issuer"] != iss || d["jwks_uri"] != iss+"/jwks" || d["token_endpoint"] != iss+"/token" {
		t.Errorf("discovery issuer %v jwks_uri %v token_endpoint %v", d["issuer"], d["jwks_uri"], d["token_endpoint"])
	}
}

// TestJWKSAndDiscoveryOfUnknownEnvironment: no keys or metadata for
// environments that do not exist, in PingOne's 404 shape.
func TestJWKSAndDiscoveryOfUnknownEnvironment(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	for _, env := range []string{uuid.NewString(), "not-an-env", "%00", "%FF"} {
		for _, p := range []string{"/as/jwks", "/as/.well-known/openid-configuration"} {
			r := do(t, s, apptest.Request{Method: "GET", URL: s.URL + "/" + env + p})
			if r.Status != http.StatusNotFound || r.JSON(t)["code"] != "NOT_FOUND" {
				t.Errorf("%s%s: %d %s", env, p, r.Status, r.Body)
			}
		}
	}
}

// TestTokenPostgres is the happy path on PostgreSQL: both client
// authentication methods, then the token verified against the JWKS.
func TestTokenPostgres(t *testing.T) {
	s := apptest.Start(t, apptest.Options{DSN: sqltest.Postgres(t)})
	env := s.Admin.EnvironmentID
	for _, method := range []string{"CLIENT_SECRET_BASIC", "CLIENT_SECRET_POST"} {
		w := s.CreateWorker(t, env, method, [3]string{roles.EnvironmentAdmin.ID, roles.ScopeEnvironment, env})
		req := apptest.Request{Method: "POST", URL: s.URL + "/" + env + "/as/token", ContentType: formType}
		if method == "CLIENT_SECRET_BASIC" {
			req.Body, req.Headers = form("grant_type", "client_credentials"), basic(w.ClientID, w.Secret)
		} else {
			req.Body = form("grant_type", "client_credentials", "client_id", w.ClientID, "client_secret", w.Secret)
		}
		r := do(t, s, req)
		if r.Status != http.StatusOK || r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("%s: %d %s", method, r.Status, r.Body)
		}
		body := r.JSON(t)
		if body["token_type"] != "Bearer" || body["expires_in"] != float64(3600) {
			t.Errorf("%s: %s", method, r.Body)
		}
		verifyAsRelyingParty(t, s, env, w.ClientID, body["access_token"].(string))
		// And x/oauth2, as PingOne's SDK uses it, gets one too.
		if tok := s.Token(t, w); tok == "" {
			t.Errorf("%s: x/oauth2 got no token", method)
		}
	}
}
