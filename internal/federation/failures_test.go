package federation_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// fakeOP is an OpenID provider reduced to what Gatehouse calls: a JWKS
// with one RSA key and a token endpoint whose answer each test sets per
// authorization code, so that ID tokens can be wrong in one way each.
type fakeOP struct {
	srv     *httptest.Server
	key     *rsa.PrivateKey
	mu      sync.Mutex
	answers map[string]http.HandlerFunc // token endpoint, by code
	info    map[string]http.HandlerFunc // userinfo, by access token
	// requests are the token requests, by code, with how the client
	// authenticated: basic, post or none.
	requests map[string]tokenRequest
}

type tokenRequest struct {
	auth string
	form url.Values
}

const (
	fakeClientID = "gatehouse-rp"
	fakeKID      = "k1"
	// fakeSecret is long enough to be an HS256 key (alg confusion).
	fakeSecret = "fake-secret-of-the-gatehouse-rp-client"
)

func startFakeOP(t *testing.T) *fakeOP {
	t.Helper()
	op := &fakeOP{key: rsaKey(t), answers: map[string]http.HandlerFunc{}, info: map[string]http.HandlerFunc{},
		requests: map[string]tokenRequest{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &op.key.PublicKey, KeyID: fakeKID, Algorithm: "RS256", Use: "sig"}}}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(set)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		auth := "none"
		id, secret, basic := r.BasicAuth()
		switch {
		case basic:
			auth = "basic"
		case r.PostForm.Has("client_secret"):
			auth, id, secret = "post", r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		default:
			id, secret = r.PostForm.Get("client_id"), fakeSecret
		}
		if id != fakeClientID || secret != fakeSecret {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":"invalid_client"}`))
			return
		}
		code := r.PostForm.Get("code")
		op.mu.Lock()
		h := op.answers[code]
		op.requests[code] = tokenRequest{auth: auth, form: r.PostForm}
		op.mu.Unlock()
		if h == nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"invalid_grant","error_description":"unknown code"}`))
			return
		}
		h(w, r)
	})
	mux.HandleFunc("GET /userinfo", func(w http.ResponseWriter, r *http.Request) {
		op.mu.Lock()
		h := op.info[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
		op.mu.Unlock()
		if h == nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		h(w, r)
	})
	op.srv = httptest.NewServer(mux)
	t.Cleanup(op.srv.Close)
	return op
}

func rsaKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// answer sets what the token endpoint returns for code.
func (op *fakeOP) answer(code string, h http.HandlerFunc) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.answers[code] = h
}

// userinfo sets what the userinfo endpoint returns for the access token
// of code.
func (op *fakeOP) userinfo(code string, h http.HandlerFunc) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.info["at-"+code] = h
}

// request is the token request made with code.
func (op *fakeOP) request(code string) tokenRequest {
	op.mu.Lock()
	defer op.mu.Unlock()
	return op.requests[code]
}

// tokens answers a token response carrying idToken; the access token is
// "at-" and the code.
func tokens(idToken string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		body := map[string]any{"access_token": "at-" + r.PostForm.Get("code"), "token_type": "Bearer", "expires_in": 300}
		if idToken != "" {
			body["id_token"] = idToken
		}
		json.NewEncoder(w).Encode(body)
	}
}

// claims are a valid ID token's claims for the sign-on with nonce.
func (op *fakeOP) claims(nonce string) map[string]any {
	now := time.Now().Unix()
	return map[string]any{"iss": op.srv.URL, "sub": "ext-1", "aud": fakeClientID, "iat": now, "exp": now + 300, "nonce": nonce,
		"email": "ext-1@example.org"}
}

// sign makes a compact RS256 JWS of claims with key under kid.
func sign(t *testing.T, key *rsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// closedURL is an address nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// expectError checks a PingOne error body member for member; its id is a
// fresh UUID.
func expectError(t *testing.T, r *reply, status int, want map[string]any) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s answered %d, want %d: %s", r.url, r.status, status, r.body)
	}
	got := r.object(t)
	if id, _ := got["id"].(string); uuid.Validate(id) != nil {
		t.Errorf("error id %q is not a UUID", got["id"])
	}
	delete(got, "id")
	if !jsonEqual(got, want) {
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		t.Errorf("%s error body\n got %s\nwant %s", r.url, gj, wj)
	}
}

func invalidRequest(target, code, message string) map[string]any {
	return map[string]any{"code": "INVALID_REQUEST", "message": "The request could not be completed. The request was malformed or invalid.",
		"details": []any{map[string]any{"code": code, "target": target, "message": message}}}
}

var (
	badState = invalidRequest("state", "INVALID_VALUE",
		"The state does not match a sign-on in progress: it is unknown, was already used, or has expired.")
	otherBrowser = map[string]any{"code": "ACCESS_FAILED", "message": "The request could not be completed. The flow belongs to another browser session.",
		"details": []any{map[string]any{"code": "INVALID_TOKEN", "target": "Cookie", "message": "Send the ST cookie that /as/authorize set when it started this flow."}}}
)

// fedFixture is a destination environment with the fake provider and the
// providers the failures need, all of them offered by its LOGIN action but
// unoffered and the other environment's.
type fedFixture struct {
	d                                            *rp
	op                                           *fakeOP
	fake, down, off, flaky, unoffered, elsewhere string
	// info has a userinfo endpoint; posting, public and pkce other
	// tokenEndpointAuthMethod and pkceMethod settings.
	info, posting, public, pkce string
}

func newFedFixture(t *testing.T, dsn string) *fedFixture {
	s := apptest.Start(t, apptest.Options{DSN: dsn, FederationTimeout: 300 * time.Millisecond})
	x := &fedFixture{d: &rp{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{})}, op: startFakeOP(t)}
	x.fake = x.d.addProvider(t, "Fake", x.providerBody(x.op.srv.URL+"/token"))
	x.down = x.d.addProvider(t, "Down", x.providerBody(closedURL(t)+"/token"))
	off := x.providerBody(x.op.srv.URL + "/token")
	off["enabled"] = false
	x.off = x.d.addProvider(t, "Off", off)
	x.flaky = x.d.addProvider(t, "Flaky", x.providerBody(x.op.srv.URL+"/token"))
	x.unoffered = x.d.addProvider(t, "Unoffered", x.providerBody(x.op.srv.URL+"/token"))
	other := &rp{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{})}
	x.elsewhere = other.addProvider(t, "Elsewhere", x.providerBody(x.op.srv.URL+"/token"))
	info := x.providerBody(x.op.srv.URL + "/token")
	info["userInfoEndpoint"] = x.op.srv.URL + "/userinfo"
	x.info = x.d.addProvider(t, "Info", info)
	posting := x.providerBody(x.op.srv.URL + "/token")
	posting["tokenEndpointAuthMethod"] = "CLIENT_SECRET_POST"
	x.posting = x.d.addProvider(t, "Posting", posting)
	public := x.providerBody(x.op.srv.URL + "/token")
	public["tokenEndpointAuthMethod"] = "NONE"
	x.public = x.d.addProvider(t, "Public", public)
	pkce := x.providerBody(x.op.srv.URL + "/token")
	pkce["pkceMethod"] = "S256"
	x.pkce = x.d.addProvider(t, "Pkce", pkce)
	var offered []map[string]string
	for _, id := range []string{x.fake, x.down, x.off, x.flaky, x.info, x.posting, x.public, x.pkce} {
		offered = append(offered, map[string]string{"id": id})
	}
	x.d.usePolicy(t, map[string]any{"type": "LOGIN", "priority": 1, "socialProviders": offered})
	return x
}

func (x *fedFixture) providerBody(tokenEndpoint string) map[string]any {
	return map[string]any{"clientId": fakeClientID, "clientSecret": fakeSecret, "issuer": x.op.srv.URL,
		"authorizationEndpoint": x.op.srv.URL + "/authorize", "tokenEndpoint": tokenEndpoint, "jwksEndpoint": x.op.srv.URL + "/jwks"}
}

// pending is a sign-on sent to a provider: the browser, its flow, and
// the state and nonce the provider got.
type pending struct {
	a                    *agent
	flowID, state, nonce string
	appState             string
}

// begin starts a browser's sign-on (by redirects, as a web application
// does) and sends it to provider idp.
func (x *fedFixture) begin(t *testing.T, idp string) *pending {
	t.Helper()
	p := &pending{a: newAgent(t), appState: "app-" + uuid.NewString()[:8]}
	l := p.a.get(x.d.oauth().AuthCodeURL(p.appState)).location(t)
	p.flowID = l.Query().Get("flowId")
	authz := p.a.get(x.authenticateURL(idp, p.flowID)).location(t)
	p.state, p.nonce = authz.Query().Get("state"), authz.Query().Get("nonce")
	if p.state == "" || p.nonce == "" {
		t.Fatalf("authorization request %s", authz)
	}
	return p
}

func (x *fedFixture) authenticateURL(idp, flowID string) string {
	return x.d.base() + "/rp/authenticate?" + url.Values{"providerId": {idp}, "flowId": {flowID}}.Encode()
}

func (x *fedFixture) callback(q url.Values) string { return x.d.callbackURL() + "?" + q.Encode() }

// flow reads the browser's flow.
func (x *fedFixture) flow(t *testing.T, p *pending) map[string]any {
	t.Helper()
	r := p.a.get(x.d.base() + "/flows/" + p.flowID)
	expectStatus(t, r, http.StatusOK)
	return r.object(t)
}

// TestCallbackFailures: what a provider can get wrong ends the flow
// (FAILED, with the error the application then gets from resume).
func TestCallbackFailures(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newFedFixture(t, be.DSN(t))
			op := x.op
			other := rsaKey(t)
			expired := time.Now().Add(-time.Hour).Unix()
			invalid := "The ID token of the identity provider Fake is not valid: "
			cases := []struct {
				name     string
				provider string
				// token is the token endpoint's answer for the sign-on with nonce.
				token func(nonce string) http.HandlerFunc
				// query replaces the callback's code.
				query url.Values
				// userinfo is the userinfo endpoint's answer (provider Info).
				userinfo      http.HandlerFunc
				before        func(t *testing.T)
				code, message string
			}{
				{name: "nonce mismatch", token: func(nonce string) http.HandlerFunc {
					c := op.claims(nonce)
					c["nonce"] = "not-" + nonce
					return tokens(sign(t, op.key, fakeKID, c))
				}, code: "server_error", message: "The ID token of the identity provider Fake does not carry the nonce of this sign-on."},
				{name: "no nonce", token: func(nonce string) http.HandlerFunc {
					c := op.claims(nonce)
					delete(c, "nonce")
					return tokens(sign(t, op.key, fakeKID, c))
				}, code: "server_error", message: "The ID token of the identity provider Fake does not carry the nonce of this sign-on."},
				{name: "wrong issuer", token: func(nonce string) http.HandlerFunc {
					c := op.claims(nonce)
					c["iss"] = "https://impostor.example"
					return tokens(sign(t, op.key, fakeKID, c))
				}, code: "server_error", message: invalid + fmt.Sprintf("oidc: id token issued by a different provider, expected %q got %q", op.srv.URL, "https://impostor.example")},
				{name: "key not in the JWKS", token: func(nonce string) http.HandlerFunc {
					return tokens(sign(t, other, "k2", op.claims(nonce)))
				}, code: "server_error", message: invalid + "failed to verify signature: failed to verify id token signature"},
				{name: "forged with the provider's kid", token: func(nonce string) http.HandlerFunc {
					return tokens(sign(t, other, fakeKID, op.claims(nonce)))
				}, code: "server_error", message: invalid + "failed to verify signature: failed to verify id token signature"},
				{name: "expired", token: func(nonce string) http.HandlerFunc {
					c := op.claims(nonce)
					c["iat"], c["exp"] = expired-300, expired
					return tokens(sign(t, op.key, fakeKID, c))
				}, code: "server_error", message: invalid + fmt.Sprintf("oidc: token is expired (Token Expiry: %v)", time.Unix(expired, 0))},
				{name: "wrong audience", token: func(nonce string) http.HandlerFunc {
					c := op.claims(nonce)
					c["aud"] = "another-client"
					return tokens(sign(t, op.key, fakeKID, c))
				}, code: "server_error", message: invalid + `oidc: expected audience "gatehouse-rp" got ["another-client"]`},
				{name: "HS256 with the client secret", token: func(nonce string) http.HandlerFunc {
					signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte(fakeSecret)}, nil)
					if err != nil {
						t.Fatal(err)
					}
					payload, _ := json.Marshal(op.claims(nonce))
					jws, err := signer.Sign(payload)
					if err != nil {
						t.Fatal(err)
					}
					raw, _ := jws.CompactSerialize()
					return tokens(raw)
				}, code: "server_error", message: invalid + `oidc: malformed jwt: unexpected signature algorithm "HS256"; expected ["RS256" "RS384" "RS512" "PS256" "PS384" "PS512" "ES256" "ES384" "ES512"]`},
				{name: "userinfo of another subject", provider: x.info, token: func(nonce string) http.HandlerFunc {
					return tokens(sign(t, op.key, fakeKID, op.claims(nonce)))
				}, userinfo: func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					w.Write([]byte(`{"sub":"ext-2","email":"someone.else@example.org"}`))
				}, code: "server_error", message: "The identity provider's userinfo names another subject than its ID token."},
				{name: "userinfo fails", provider: x.info, token: func(nonce string) http.HandlerFunc {
					return tokens(sign(t, op.key, fakeKID, op.claims(nonce)))
				}, userinfo: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) },
					code: "temporarily_unavailable", message: "The userinfo endpoint of the identity provider Info failed: status 502"},
				{name: "userinfo not JSON", provider: x.info, token: func(nonce string) http.HandlerFunc {
					return tokens(sign(t, op.key, fakeKID, op.claims(nonce)))
				}, userinfo: func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>maintenance</html>")) },
					code: "temporarily_unavailable", message: "The userinfo endpoint of the identity provider Info failed: the response is not a JSON object"},
				{name: "no subject", token: func(nonce string) http.HandlerFunc {
					c := op.claims(nonce)
					delete(c, "sub")
					return tokens(sign(t, op.key, fakeKID, c))
				}, code: "server_error", message: "The ID token of the identity provider Fake has no subject."},
				{name: "no ID token", token: func(string) http.HandlerFunc { return tokens("") },
					code: "server_error", message: "The identity provider Fake returned no ID token."},
				{name: "code refused", token: func(string) http.HandlerFunc { return nil },
					code: "access_denied", message: "The identity provider Fake refused the authorization code (invalid_grant)."},
				{name: "provider down", provider: x.down,
					code: "temporarily_unavailable", message: "The identity provider Down could not be reached."},
				{name: "provider timeout", token: func(string) http.HandlerFunc {
					// Blocks until Gatehouse gives up (FederationTimeout): no clock in the test.
					return func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
				}, code: "temporarily_unavailable", message: "The identity provider Fake could not be reached: the request timed out."},
				{name: "access_denied from the provider", query: url.Values{"error": {"access_denied"}, "error_description": {"The user cancelled."}},
					code: "access_denied", message: "The identity provider Fake answered access_denied: The user cancelled."},
				{name: "error without description", query: url.Values{"error": {"login_required"}},
					code: "access_denied", message: "The identity provider Fake answered login_required."},
				{name: "no code", query: url.Values{},
					code: "access_denied", message: "The identity provider Fake sent no authorization code."},
				{name: "linked user disabled", token: func(nonce string) http.HandlerFunc {
					c := op.claims(nonce)
					c["sub"] = "ext-disabled"
					return tokens(sign(t, op.key, fakeKID, c))
				}, before: func(t *testing.T) {
					fx := x.d.fx
					id := x.d.s.CreateUser(t, fx.EnvID, fx.PopulationID, "off."+uuid.NewString()[:8], "", "Dis", "Abled", fx.Password)
					r := x.d.s.Do(t, apptest.Request{Method: "POST", URL: x.d.envPath() + "/users/" + id + "/linkedAccounts", Token: x.d.s.AdminToken(t),
						ContentType: "application/vnd.pingidentity.account.link+json",
						Body:        map[string]any{"identityProvider": map[string]string{"id": x.fake}, "externalId": "ext-disabled"}})
					if r.Status != http.StatusCreated {
						t.Fatalf("link: %d %s", r.Status, r.Body)
					}
					x.d.api(t, "PUT", x.d.envPath()+"/users/"+id+"/enabled", map[string]any{"enabled": false}, http.StatusOK)
				}, code: "access_denied", message: "The user account is disabled or locked."},
				{name: "provider disabled during sign-on", provider: x.flaky, before: func(t *testing.T) {
					body := x.providerBody(x.op.srv.URL + "/token")
					body["name"], body["type"], body["enabled"], body["scopes"], body["tokenEndpointAuthMethod"] = "Flaky", "OPENID_CONNECT", false, []string{"openid"}, "CLIENT_SECRET_BASIC"
					delete(body, "clientSecret")
					x.d.api(t, "PUT", x.d.envPath()+"/identityProviders/"+x.flaky, body, http.StatusOK)
				}, code: "access_denied", message: "The identity provider Flaky is disabled."},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					idp := tc.provider
					if idp == "" {
						idp = x.fake
					}
					p := x.begin(t, idp)
					code := "code-" + uuid.NewString()
					if tc.token != nil {
						op.answer(code, tc.token(p.nonce))
					}
					if tc.userinfo != nil {
						op.userinfo(code, tc.userinfo)
					}
					q := url.Values{"code": {code}}
					if tc.query != nil {
						q = tc.query
					}
					q.Set("state", p.state)
					if tc.before != nil {
						tc.before(t)
					}
					// Back to the sign-on page, which shows the failure.
					l := p.a.get(x.callback(q)).location(t)
					if l.String() != x.d.base()+"/signon/?flowId="+p.flowID {
						t.Fatalf("callback sent the browser to %s", l)
					}
					fl := x.flow(t, p)
					expectFields(t, "flow", fl, map[string]any{"status": "FAILED", "error": map[string]any{"code": tc.code, "message": tc.message},
						"_links": map[string]any{"self": map[string]any{"href": x.d.base() + "/flows/" + p.flowID},
							"signOnPage": map[string]any{"href": x.d.base() + "/signon/?flowId=" + p.flowID}}})
					// The application hears of it from resume, once.
					cb := p.a.get(x.d.base() + "/as/resume?flowId=" + p.flowID).location(t)
					want := url.Values{"error": {tc.code}, "error_description": {tc.message}, "state": {p.appState}}
					if got := cb.Scheme + "://" + cb.Host + cb.Path; got != x.d.fx.RedirectURI || !jsonEqual(cb.Query(), want) {
						t.Errorf("resume sent the browser to %s, want %s?%s", cb, x.d.fx.RedirectURI, want.Encode())
					}
					expectStatus(t, p.a.get(x.d.base()+"/as/resume?flowId="+p.flowID), http.StatusNotFound)
				})
			}
		})
	}
}

// TestCallbackRejections: callbacks that name no sign-on of this browser
// are refused with PingOne's error body and leave the flow as it was.
func TestCallbackRejections(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newFedFixture(t, be.DSN(t))
			valid := func(t *testing.T, p *pending) string {
				code := "code-" + uuid.NewString()
				x.op.answer(code, tokens(sign(t, x.op.key, fakeKID, x.op.claims(p.nonce))))
				return code
			}
			cases := []struct {
				name string
				// reject is the refused callback's query, and who sends it.
				reject func(t *testing.T, p *pending) (*agent, url.Values)
				status int
				body   map[string]any
				// consumed: the refused callback used the sign-on up.
				consumed bool
			}{
				{name: "unknown state", reject: func(t *testing.T, p *pending) (*agent, url.Values) {
					return p.a, url.Values{"code": {valid(t, p)}, "state": {uuid.NewString() + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}
				}, status: 400, body: badState},
				{name: "state without a flow", reject: func(t *testing.T, p *pending) (*agent, url.Values) {
					return p.a, url.Values{"code": {valid(t, p)}, "state": {"forged"}}
				}, status: 400, body: badState},
				{name: "tampered random part", reject: func(t *testing.T, p *pending) (*agent, url.Values) {
					b := []byte(p.state)
					if b[len(b)-1] = 'A'; p.state[len(b)-1] == 'A' {
						b[len(b)-1] = 'B'
					}
					return p.a, url.Values{"code": {valid(t, p)}, "state": {string(b)}}
				}, status: 400, body: badState},
				{name: "no state", reject: func(t *testing.T, p *pending) (*agent, url.Values) {
					return p.a, url.Values{"code": {valid(t, p)}}
				}, status: 400, body: invalidRequest("state", "REQUIRED_VALUE", "A value is required for state.")},
				{name: "without the flow's cookie", reject: func(t *testing.T, p *pending) (*agent, url.Values) {
					return newAgent(t), url.Values{"code": {valid(t, p)}, "state": {p.state}}
				}, status: 401, body: otherBrowser},
				{name: "superseded by a later rp/authenticate", reject: func(t *testing.T, p *pending) (*agent, url.Values) {
					first := p.state
					authz := p.a.get(x.authenticateURL(x.fake, p.flowID)).location(t)
					p.state, p.nonce = authz.Query().Get("state"), authz.Query().Get("nonce")
					return p.a, url.Values{"code": {valid(t, p)}, "state": {first}}
				}, status: 400, body: badState},
				{name: "replayed", reject: func(t *testing.T, p *pending) (*agent, url.Values) {
					q := url.Values{"code": {valid(t, p)}, "state": {p.state}}
					p.a.get(x.callback(q)).location(t)
					return p.a, q
				}, status: 400, body: badState, consumed: true},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					p := x.begin(t, x.fake)
					who, q := tc.reject(t, p)
					expectError(t, who.get(x.callback(q)), tc.status, tc.body)
					if tc.consumed {
						expectFields(t, "flow", x.flow(t, p), map[string]any{"status": "ACCOUNT_LINKING_REQUIRED"})
						return
					}
					// The sign-on is still there for the real callback.
					expectFields(t, "flow", x.flow(t, p), map[string]any{"status": "USERNAME_PASSWORD_REQUIRED"})
					l := p.a.get(x.callback(url.Values{"code": {valid(t, p)}, "state": {p.state}})).location(t)
					if l.String() != x.d.base()+"/signon/?flowId="+p.flowID {
						t.Fatalf("callback sent the browser to %s", l)
					}
					expectFields(t, "flow", x.flow(t, p), map[string]any{"status": "ACCOUNT_LINKING_REQUIRED",
						"_embedded.identityProvider": map[string]any{"id": x.fake, "type": "OPENID_CONNECT", "name": "Fake"}})
				})
			}
		})
	}
}

// TestAuthenticateRejections: /rp/authenticate refuses providers the
// flow cannot use, with PingOne's error body.
func TestAuthenticateRejections(t *testing.T) {
	x := newFedFixture(t, "")
	a := newAgent(t)
	flowID := a.get(x.d.oauth().AuthCodeURL("s")).location(t).Query().Get("flowId")
	noSuch := invalidRequest("providerId", "INVALID_VALUE", "The environment has no such identity provider.")
	cases := []struct {
		name   string
		a      *agent
		query  url.Values
		status int
		body   map[string]any
	}{
		{name: "disabled provider", query: url.Values{"providerId": {x.off}, "flowId": {flowID}},
			status: 400, body: map[string]any{"code": "REQUEST_FAILED", "message": "The identity provider Off is disabled."}},
		{name: "another environment's provider", query: url.Values{"providerId": {x.elsewhere}, "flowId": {flowID}}, status: 400, body: noSuch},
		{name: "unknown provider", query: url.Values{"providerId": {uuid.NewString()}, "flowId": {flowID}}, status: 400, body: noSuch},
		{name: "provider id not a UUID", query: url.Values{"providerId": {"facebook"}, "flowId": {flowID}}, status: 400, body: noSuch},
		{name: "provider not offered", query: url.Values{"providerId": {x.unoffered}, "flowId": {flowID}}, status: 400,
			body: invalidRequest("providerId", "INVALID_VALUE", "The flow does not offer this identity provider in its status USERNAME_PASSWORD_REQUIRED.")},
		{name: "without the flow's cookie", a: newAgent(t), query: url.Values{"providerId": {x.fake}, "flowId": {flowID}}, status: 401, body: otherBrowser},
		{name: "unknown flow", query: url.Values{"providerId": {x.fake}, "flowId": {uuid.NewString()}}, status: 404,
			body: map[string]any{"code": "NOT_FOUND", "message": "The flow was not found. It may have expired: flows expire after 15 minutes of inactivity."}},
		{name: "no parameters", query: url.Values{}, status: 400, body: map[string]any{"code": "INVALID_REQUEST",
			"message": "The request could not be completed. The request was malformed or invalid.", "details": []any{
				map[string]any{"code": "REQUIRED_VALUE", "target": "providerId", "message": "A value is required for providerId."},
				map[string]any{"code": "REQUIRED_VALUE", "target": "flowId", "message": "A value is required for flowId."}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			who := tc.a
			if who == nil {
				who = a
			}
			expectError(t, who.get(x.d.base()+"/rp/authenticate?"+tc.query.Encode()), tc.status, tc.body)
		})
	}
	// None of it touched the flow.
	fl := x.flow(t, &pending{a: a, flowID: flowID})
	expectFields(t, "flow", fl, map[string]any{"status": "USERNAME_PASSWORD_REQUIRED"})
	var offered []string
	for _, sp := range jpath(fl, "_embedded.socialProviders").([]any) {
		offered = append(offered, jstr(sp, "name"))
	}
	// Off is disabled: offered by the policy, not shown.
	if !jsonEqual(offered, []string{"Fake", "Down", "Flaky", "Info", "Posting", "Public", "Pkce"}) {
		t.Errorf("socialProviders %v", offered)
	}
}

// TestFailedPiFlow: a pi.flow client reads the failure from the flow the
// callback sends it to, and resume answers the OAuth error as JSON.
func TestFailedPiFlow(t *testing.T) {
	x := newFedFixture(t, "")
	a := newAgent(t)
	fl := x.d.startPiFlow(t, a, "pi", "verifier-verifier-verifier-verifier-verifier-43")
	flowID := jstr(fl, "id")
	authz := a.get(x.authenticateURL(x.fake, flowID)).location(t)
	q := url.Values{"error": {"access_denied"}, "state": {authz.Query().Get("state")}}
	if l := a.get(x.callback(q)).location(t).String(); l != x.d.base()+"/flows/"+flowID {
		t.Fatalf("callback sent the client to %s", l)
	}
	r := a.get(x.d.base() + "/flows/" + flowID)
	expectStatus(t, r, http.StatusOK)
	expectFields(t, "flow", r.object(t), map[string]any{"status": "FAILED",
		"error": map[string]any{"code": "access_denied", "message": "The identity provider Fake answered access_denied."}})
	r = a.get(x.d.base() + "/as/resume?flowId=" + flowID)
	expectStatus(t, r, http.StatusBadRequest)
	if !jsonEqual(r.object(t), map[string]any{"error": "access_denied", "error_description": "The identity provider Fake answered access_denied."}) {
		t.Errorf("resume: %s", r.body)
	}
	// A provider answer Gatehouse cannot use fails the flow with
	// server_error; resume still answers 400: retrying cannot help, and
	// PingOne's SDK retries 500s.
	fl = x.d.startPiFlow(t, a, "pi2", "verifier-verifier-verifier-verifier-verifier-43")
	flowID = jstr(fl, "id")
	authz = a.get(x.authenticateURL(x.fake, flowID)).location(t)
	code := "code-" + uuid.NewString()
	x.op.answer(code, tokens(""))
	a.get(x.callback(url.Values{"code": {code}, "state": {authz.Query().Get("state")}})).location(t)
	r = a.get(x.d.base() + "/as/resume?flowId=" + flowID)
	expectStatus(t, r, http.StatusBadRequest)
	if !jsonEqual(r.object(t), map[string]any{"error": "server_error", "error_description": "The identity provider Fake returned no ID token."}) {
		t.Errorf("resume: %s", r.body)
	}
}

// TestTokenRequests: the code is redeemed as the provider's
// tokenEndpointAuthMethod and pkceMethod say, and userinfo's claims join
// the ID token's.
func TestTokenRequests(t *testing.T) {
	x := newFedFixture(t, "")
	cases := []struct {
		name     string
		provider func() string
		auth     string
		pkce     bool
	}{
		{name: "CLIENT_SECRET_BASIC", provider: func() string { return x.fake }, auth: "basic"},
		{name: "CLIENT_SECRET_POST", provider: func() string { return x.posting }, auth: "post"},
		{name: "NONE", provider: func() string { return x.public }, auth: "none"},
		{name: "pkceMethod S256", provider: func() string { return x.pkce }, auth: "basic", pkce: true},
		{name: "userinfo", provider: func() string { return x.info }, auth: "basic"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := newAgent(t)
			flowID := a.get(x.d.oauth().AuthCodeURL("s")).location(t).Query().Get("flowId")
			authz := a.get(x.authenticateURL(tc.provider(), flowID)).location(t)
			aq := authz.Query()
			if tc.pkce != (aq.Get("code_challenge_method") == "S256") || tc.pkce != (aq.Get("code_challenge") != "") {
				t.Errorf("authorization request %s: PKCE %v wanted", authz, tc.pkce)
			}
			code := "code-" + uuid.NewString()
			sub := "ext-" + uuid.NewString()[:8]
			c := x.op.claims(aq.Get("nonce"))
			c["sub"] = sub
			x.op.answer(code, tokens(sign(t, x.op.key, fakeKID, c)))
			x.op.userinfo(code, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(`{"sub":"` + sub + `","given_name":"Info"}`))
			})
			l := a.get(x.callback(url.Values{"code": {code}, "state": {aq.Get("state")}})).location(t)
			if l.String() != x.d.base()+"/signon/?flowId="+flowID {
				t.Fatalf("callback sent the browser to %s", l)
			}
			got := x.op.request(code)
			want := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {x.d.callbackURL()}}
			switch tc.auth {
			case "post":
				want.Set("client_id", fakeClientID)
				want.Set("client_secret", fakeSecret)
			case "none":
				want.Set("client_id", fakeClientID)
			}
			if tc.pkce {
				v := got.form.Get("code_verifier")
				if oauth2.S256ChallengeFromVerifier(v) != aq.Get("code_challenge") {
					t.Errorf("code_verifier %q does not match code_challenge %q", v, aq.Get("code_challenge"))
				}
				want.Set("code_verifier", v)
			}
			if got.auth != tc.auth || !jsonEqual(got.form, want) {
				t.Errorf("token request: %s %v, want %s %v", got.auth, got.form, tc.auth, want)
			}
			fl := x.flow(t, &pending{a: a, flowID: flowID})
			expectFields(t, "flow", fl, map[string]any{"status": "ACCOUNT_LINKING_REQUIRED", "_embedded.identityProvider.id": tc.provider()})
		})
	}
}
