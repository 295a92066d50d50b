package authsvc_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/authsvc"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// The user grants (authorization_code, refresh_token) and the endpoints
// that read their tokens (userinfo, introspect, revoke, signoff) run on
// one server per backend. Authorization codes are written straight to the
// store, as resume writes them, so these tests do not depend on a sign-on.

// TestUserTokens runs every user-token area on SQLite and PostgreSQL.
func TestUserTokens(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			// No audit log: its writes, off the request path, would land among
			// the statements "introspection queries" counts.
			fx := newGrantFixture(t, apptest.Start(t, apptest.Options{DSN: be.DSN(t), Audit: audit.Options{Disabled: true}}))
			t.Run("discovery", fx.testDiscovery)
			t.Run("authorization_code", fx.testCodeExchange)
			t.Run("code claims", fx.testCodeClaims)
			t.Run("code replay", fx.testCodeReplay)
			t.Run("concurrent redemption", fx.testConcurrentRedemption)
			t.Run("refresh_token", fx.testRefresh)
			t.Run("refresh grace period", fx.testRefreshGrace)
			t.Run("userinfo", fx.testUserinfo)
			t.Run("introspect", fx.testIntrospect)
			t.Run("application disabled or deleted", fx.testApplicationGone)
			t.Run("revoke", fx.testRevoke)
			t.Run("signoff", fx.testSignoff)
			t.Run("attribute mappings", fx.testMappings)
			t.Run("cached tokens", fx.testCachedTokens)
			t.Run("introspection queries", fx.testIntrospectionQueries)
		})
	}
}

// oauthClient is an application made for a test; secret is "" for a
// public client.
type oauthClient struct {
	id, secret string
}

// grantFixture is one server with two environments, their applications
// and users.
type grantFixture struct {
	s          *apptest.Server
	env, org   string
	other      string // a second environment
	web        oauthClient
	web2       oauthClient // another confidential client, without REFRESH_TOKEN
	native     oauthClient // public (NONE)
	graceApp   oauthClient // refreshTokenRollingGracePeriodDuration 60
	worker     oauthClient // client_credentials only
	otherWeb   oauthClient // in other
	user       string
	userUpdAt  time.Time
	user2      string
	otherUser  string
	redirect   string
	postLogout string
}

const (
	fxRedirect   = "https://app.example.com/callback"
	fxPostLogout = "https://app.example.com/signed-off?from=gatehouse"
	pingOneAud   = "https://api.pingone.com"
)

func newGrantFixture(t testing.TB, s *apptest.Server) *grantFixture {
	t.Helper()
	fx := &grantFixture{s: s, env: s.Admin.EnvironmentID, org: s.OrganizationID(t), redirect: fxRedirect, postLogout: fxPostLogout}
	fx.other = createEnv(t, s, "User tokens other")
	web := func(name string, grants []string, kv ...any) map[string]any {
		b := map[string]any{"name": name, "enabled": true, "protocol": "OPENID_CONNECT", "type": "WEB_APP",
			"grantTypes": grants, "responseTypes": []string{"CODE"}, "redirectUris": []string{fxRedirect},
			"postLogoutRedirectUris": []string{fxPostLogout}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"}
		for i := 0; i < len(kv); i += 2 {
			b[kv[i].(string)] = kv[i+1]
		}
		return b
	}
	codeRefresh := []string{"AUTHORIZATION_CODE", "REFRESH_TOKEN"}
	fx.web = fx.createClient(t, fx.env, web("Web", codeRefresh))
	fx.web2 = fx.createClient(t, fx.env, web("Web 2", []string{"AUTHORIZATION_CODE"}))
	fx.native = fx.createClient(t, fx.env, web("Native", codeRefresh, "type", "NATIVE_APP", "tokenEndpointAuthMethod", "NONE"))
	fx.graceApp = fx.createClient(t, fx.env, web("Grace", codeRefresh, "refreshTokenRollingGracePeriodDuration", 60))
	fx.worker = fx.createClient(t, fx.env, map[string]any{"name": "Worker", "enabled": true, "protocol": "OPENID_CONNECT", "type": "WORKER",
		"grantTypes": []string{"CLIENT_CREDENTIALS"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"})
	fx.otherWeb = fx.createClient(t, fx.other, web("Other web", codeRefresh))

	u := fx.createUser(t, fx.env, map[string]any{
		"username": "ada", "email": "ada@example.com",
		"name":     map[string]any{"given": "Ada", "family": "Lovelace", "middle": "King", "formatted": "Ada King Lovelace"},
		"nickname": "Countess", "locale": "en-GB", "timezone": "Europe/London", "primaryPhone": "+44 20 7946 0000",
		"photo":   map[string]any{"href": "https://img.example.com/ada.png"},
		"address": map[string]any{"streetAddress": "12 St James's Square", "locality": "London", "region": "LDN", "postalCode": "SW1Y 4JH", "countryCode": "GB"},
	})
	fx.user = u["id"].(string)
	var err error
	if fx.userUpdAt, err = time.Parse(time.RFC3339, u["updatedAt"].(string)); err != nil {
		t.Fatal(err)
	}
	fx.user2 = fx.createUser(t, fx.env, map[string]any{"username": "charles", "email": "charles@example.com"})["id"].(string)
	fx.otherUser = fx.createUser(t, fx.other, map[string]any{"username": "ada", "email": "ada@example.org"})["id"].(string)
	return fx
}

func (fx *grantFixture) createClient(t testing.TB, envID string, body map[string]any) oauthClient {
	t.Helper()
	tok := fx.s.AdminToken(t)
	r := do(t, fx.s, apptest.Request{Method: "POST", URL: "/environments/" + envID + "/applications", Token: tok, Body: body})
	if r.Status != http.StatusCreated {
		t.Fatalf("create application %v: %d %s", body["name"], r.Status, r.Body)
	}
	c := oauthClient{id: r.JSON(t)["id"].(string)}
	if body["tokenEndpointAuthMethod"] == "NONE" {
		return c
	}
	r = do(t, fx.s, apptest.Request{Method: "GET", URL: "/environments/" + envID + "/applications/" + c.id + "/secret", Token: tok})
	if r.Status != http.StatusOK {
		t.Fatalf("read secret: %d %s", r.Status, r.Body)
	}
	c.secret = r.JSON(t)["secret"].(string)
	return c
}

func (fx *grantFixture) createUser(t testing.TB, envID string, body map[string]any) map[string]any {
	t.Helper()
	tok := fx.s.AdminToken(t)
	r := do(t, fx.s, apptest.Request{Method: "POST", URL: "/environments/" + envID + "/users", Token: tok, Body: body})
	if r.Status != http.StatusCreated {
		t.Fatalf("create user: %d %s", r.Status, r.Body)
	}
	u := r.JSON(t)
	r = do(t, fx.s, apptest.Request{Method: "PUT", URL: "/environments/" + envID + "/users/" + u["id"].(string) + "/password", Token: tok,
		ContentType: "application/vnd.pingidentity.password.set+json", Body: map[string]any{"value": "Correct-Horse-7", "forceChange": false}})
	if r.Status != http.StatusOK {
		t.Fatalf("set password: %d %s", r.Status, r.Body)
	}
	return u
}

// session signs userID on in envID and returns the session id and the ST
// cookie value.
func (fx *grantFixture) session(t testing.TB, envID, userID string) (id, cookie string) {
	t.Helper()
	now := store.Now()
	cookie = session.NewToken()
	sess := &store.Session{ID: session.NewID(), EnvironmentID: envID, UserID: userID, TokenHash: session.HashToken(cookie),
		AuthTime: now, AMR: []string{"pwd"}, Data: json.RawMessage(`{}`), CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(30 * 24 * time.Hour)}
	if err := fx.s.Store.CreateSession(context.Background(), sess); err != nil {
		t.Fatal(err)
	}
	return sess.ID, cookie
}

// codeSpec is an authorization code as resume would write it.
type codeSpec struct {
	env, app, user, session string
	grant                   authsvc.GrantData
	createdAt               time.Time // default now
}

// grant is the GrantData of a typical sign-on: openid with every profile
// scope, PKCE S256 for verifier, the redirect URI and a nonce.
func fxGrant(verifier string) authsvc.GrantData {
	g := authsvc.GrantData{RedirectURI: fxRedirect, Scope: "openid profile email address phone", Audience: []string{pingOneAud},
		Nonce: "n-0S6_WzA2Mj", AuthTime: time.Now().Add(-time.Minute).Unix(), ACR: "Single_Factor", AMR: []string{"pwd"}, AccessTokenTTL: 3600}
	if verifier != "" {
		g.CodeChallenge, g.CodeChallengeMethod = s256(verifier), "S256"
	}
	return g
}

func s256(verifier string) string {
	h := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

func newVerifier() string { return strings.Repeat("v", 11) + uuid.NewString() } // 47 unreserved characters

func sha256Hex(v string) string {
	h := sha256.Sum256([]byte(v))
	return hex.EncodeToString(h[:])
}

// code stores an authorization code and returns its value.
func (fx *grantFixture) code(t testing.TB, c codeSpec) string {
	t.Helper()
	if c.env == "" {
		c.env = fx.env
	}
	created := c.createdAt
	if created.IsZero() {
		created = store.Now()
	}
	data, err := json.Marshal(c.grant)
	if err != nil {
		t.Fatal(err)
	}
	value := uuid.NewString()
	err = fx.s.Store.CreateAuthCode(context.Background(), &store.AuthCode{CodeHash: sha256Hex(value), EnvironmentID: c.env, ApplicationID: c.app,
		UserID: c.user, SessionID: c.session, GrantID: uuid.NewString(), Data: data, CreatedAt: created, ExpiresAt: created.Add(10 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	return value
}

// tokenReq posts a token request for client c: Basic for a confidential
// client, client_id in the body for a public one.
func (fx *grantFixture) tokenReq(t testing.TB, envID string, c oauthClient, kv ...string) *apptest.Response {
	t.Helper()
	return fx.clientPost(t, envID, "/as/token", c, kv...)
}

func (fx *grantFixture) clientPost(t testing.TB, envID, path string, c oauthClient, kv ...string) *apptest.Response {
	t.Helper()
	req := apptest.Request{Method: "POST", URL: fx.s.URL + "/" + envID + path, ContentType: formType}
	if c.secret != "" {
		req.Headers = basic(c.id, c.secret)
	} else {
		kv = append(kv, "client_id", c.id)
	}
	req.Body = form(kv...)
	return do(t, fx.s, req)
}

// tokens is a successful token response.
type tokens struct {
	Access  string `json:"access_token"`
	Type    string `json:"token_type"`
	Expires int    `json:"expires_in"`
	Scope   string `json:"scope"`
	Refresh string `json:"refresh_token"`
	ID      string `json:"id_token"`
}

// exchange redeems a code and insists on success.
func (fx *grantFixture) exchange(t testing.TB, envID string, c oauthClient, code, verifier string) tokens {
	t.Helper()
	kv := []string{"grant_type", "authorization_code", "code", code, "redirect_uri", fxRedirect}
	if verifier != "" {
		kv = append(kv, "code_verifier", verifier)
	}
	r := fx.tokenReq(t, envID, c, kv...)
	if r.Status != http.StatusOK {
		t.Fatalf("code exchange: %d %s", r.Status, r.Body)
	}
	var out tokens
	r.Decode(t, &out)
	return out
}

// signedOn makes a session and a code for user at client c, and exchanges
// it.
func (fx *grantFixture) signedOn(t testing.TB, c oauthClient, user string, g authsvc.GrantData) (tokens, string, string) {
	t.Helper()
	sid, cookie := fx.session(t, fx.env, user)
	v := newVerifier()
	g.CodeChallenge, g.CodeChallengeMethod = s256(v), "S256"
	code := fx.code(t, codeSpec{app: c.id, user: user, session: sid, grant: g})
	return fx.exchange(t, fx.env, c, code, v), sid, cookie
}

func (fx *grantFixture) introspect(t testing.TB, envID string, c oauthClient, tok string) map[string]any {
	t.Helper()
	r := fx.clientPost(t, envID, "/as/introspect", c, "token", tok)
	if r.Status != http.StatusOK {
		t.Fatalf("introspect: %d %s", r.Status, r.Body)
	}
	return r.JSON(t)
}

func (fx *grantFixture) active(t testing.TB, c oauthClient, tok string) bool {
	t.Helper()
	return fx.introspect(t, fx.env, c, tok)["active"] == true
}

// payload decodes a JWT's claims without verifying it (the tests verify
// signatures through go-oidc, introspection and userinfo).
func payload(t testing.TB, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", raw)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func keysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// wantOAuthError checks an RFC 6749 error answer exactly.
func wantOAuthError(t testing.TB, r *apptest.Response, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d: %s", r.Status, status, r.Body)
	}
	body := r.JSON(t)
	if got := keysOf(body); !slices.Equal(got, []string{"error", "error_description"}) {
		t.Errorf("error members = %v: %s", got, r.Body)
	}
	if body["error"] != code {
		t.Errorf("error = %v, want %s: %s", body["error"], code, r.Body)
	}
	if d, _ := body["error_description"].(string); d == "" {
		t.Errorf("empty error_description: %s", r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
}

// signRaw signs claims with envID's key as Gatehouse would, for tokens
// the server cannot be made to issue (expired ones).
func (fx *grantFixture) signRaw(t testing.TB, envID string, claims any) string {
	t.Helper()
	tok, err := fx.s.Keys.Sign(context.Background(), envID, claims)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (fx *grantFixture) issuer(envID string) string { return fx.s.URL + "/" + envID + "/as" }

func (fx *grantFixture) testDiscovery(t *testing.T) {
	r := do(t, fx.s, apptest.Request{Method: "GET", URL: fx.issuer(fx.env) + "/.well-known/openid-configuration"})
	if r.Status != http.StatusOK {
		t.Fatalf("discovery: %d %s", r.Status, r.Body)
	}
	d := r.JSON(t)
	iss := fx.issuer(fx.env)
	for k, want := range map[string]string{"userinfo_endpoint": iss + "/userinfo", "introspection_endpoint": iss + "/introspect",
		"revocation_endpoint": iss + "/revoke", "end_session_endpoint": iss + "/signoff", "token_endpoint": iss + "/token",
		"pushed_authorization_request_endpoint": iss + "/par", "device_authorization_endpoint": iss + "/device_authorization"} {
		if d[k] != want {
			t.Errorf("%s = %v, want %s", k, d[k], want)
		}
	}
	if d["require_pushed_authorization_requests"] != false {
		t.Errorf("require_pushed_authorization_requests = %v", d["require_pushed_authorization_requests"])
	}
	strs := func(k string) []string {
		var out []string
		for _, v := range d[k].([]any) {
			out = append(out, v.(string))
		}
		return out
	}
	if got := strs("grant_types_supported"); !slices.Equal(got, []string{"authorization_code", "client_credentials", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code", "urn:ietf:params:oauth:grant-type:token-exchange", "implicit"}) {
		t.Errorf("grant_types_supported = %v", got)
	}
	if got := strs("response_types_supported"); !slices.Equal(got, []string{"code", "id_token", "token", "id_token token", "code id_token", "code token", "code id_token token"}) {
		t.Errorf("response_types_supported = %v", got)
	}
	if d["request_parameter_supported"] != true || d["request_uri_parameter_supported"] != false {
		t.Errorf("request_parameter_supported = %v, request_uri_parameter_supported = %v", d["request_parameter_supported"], d["request_uri_parameter_supported"])
	}
	if got, want := strs("request_object_signing_alg_values_supported"), []string{"HS256", "HS384", "HS512", "RS256", "RS384", "RS512",
		"PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "none"}; !slices.Equal(got, want) {
		t.Errorf("request_object_signing_alg_values_supported = %v, want %v", got, want)
	}
	for _, c := range []string{"sub", "sid", "at_hash", "email", "address", "updated_at"} {
		if !slices.Contains(strs("claims_supported"), c) {
			t.Errorf("claims_supported lacks %s", c)
		}
	}
	// Every advertised endpoint answers something other than 404/405.
	for _, ep := range []string{"userinfo_endpoint", "introspection_endpoint", "revocation_endpoint", "end_session_endpoint", "pushed_authorization_request_endpoint"} {
		u, _ := url.Parse(d[ep].(string))
		m := "POST"
		if ep == "userinfo_endpoint" || ep == "end_session_endpoint" {
			m = "GET"
		}
		r := do(t, fx.s, apptest.Request{Method: m, URL: u.String(), Body: "", ContentType: formType})
		if r.Status == http.StatusNotFound || r.Status == http.StatusMethodNotAllowed {
			t.Errorf("%s %s: %d", m, ep, r.Status)
		}
	}
}
