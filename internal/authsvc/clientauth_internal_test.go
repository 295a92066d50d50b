package authsvc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// authFixture is a Service on a real store with one environment.
type authFixture struct {
	svc        *Service
	env, other string
}

func newAuthFixture(t *testing.T, dsn string) *authFixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key := make([]byte, 32)
	rand.Read(key)
	sealer, err := secrets.New(key)
	if err != nil {
		t.Fatal(err)
	}
	now := store.Now()
	org := &store.Organization{ID: uuid.NewString(), Name: "Org", Type: "TRIAL", CreatedAt: now, UpdatedAt: now}
	lic := &store.License{ID: uuid.NewString(), OrganizationID: org.ID, Name: "License", Package: "TRIAL", Status: "ACTIVE",
		Data: json.RawMessage(`{}`), CreatedAt: now, UpdatedAt: now}
	if err := st.CreateOrganization(ctx, org); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateLicense(ctx, lic); err != nil {
		t.Fatal(err)
	}
	f := &authFixture{svc: &Service{Store: st, Config: config.New(st, config.Options{}), Sealer: sealer, AuthPath: "https://gatehouse.example",
		Keys: keys.NewManager(st, sealer, time.Hour)}}
	for _, id := range []*string{&f.env, &f.other} {
		*id = uuid.NewString()
		env := &store.Environment{ID: *id, OrganizationID: org.ID, Name: "Env " + (*id)[:8], Type: "SANDBOX", Region: "EU",
			LicenseID: lic.ID, Status: "ACTIVE", Data: json.RawMessage(`{}`), CreatedAt: now, UpdatedAt: now}
		if err := st.CreateEnvironment(ctx, env); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// app creates an application; it returns its id and secret ("" for NONE).
func (f *authFixture) app(t *testing.T, envID, typ, method string, enabled bool, data string) (id, secret string) {
	t.Helper()
	now := store.Now()
	id = uuid.NewString()
	a := &store.Application{ID: id, EnvironmentID: envID, Name: typ + "-" + id[:8], Protocol: "OPENID_CONNECT", Type: typ,
		Enabled: enabled, TokenEndpointAuthMethod: method, Data: json.RawMessage(data), CreatedAt: now, UpdatedAt: now}
	if method != methodNone {
		secret = secrets.Random(48)
		a.SecretSealed = f.svc.Sealer.Seal([]byte(secret), "app:"+id)
	}
	if err := f.svc.Store.CreateApplication(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	return id, secret
}

func newTokenRequest(form url.Values, hdr http.Header) *http.Request {
	r := httptest.NewRequest("POST", "/as/token", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		r.Header[k] = v
	}
	return r
}

func signAssertion(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(sig).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestAuthenticateClientMethods checks which method authenticateClient
// reports, NONE above all: no grant serves public clients yet, so only
// this test sees them authenticate.
func TestAuthenticateClientMethods(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub := jose.JSONWebKey{Key: &ec.PublicKey, KeyID: "k1", Use: "sig"}
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub}})
	pkData, _ := json.Marshal(map[string]any{"grantTypes": []string{"CLIENT_CREDENTIALS"}, "jwks": string(jwks)})
	const codeData = `{"grantTypes":["AUTHORIZATION_CODE","REFRESH_TOKEN"]}`
	const ccData = `{"grantTypes":["CLIENT_CREDENTIALS"]}`

	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := newAuthFixture(t, b.DSN(t))
			native, _ := f.app(t, f.env, "NATIVE_APP", methodNone, true, codeData)
			spa, _ := f.app(t, f.env, "SINGLE_PAGE_APP", methodNone, true, codeData)
			disabled, _ := f.app(t, f.env, "NATIVE_APP", methodNone, false, codeData)
			elsewhere, _ := f.app(t, f.other, "NATIVE_APP", methodNone, true, codeData)
			basicW, basicSecret := f.app(t, f.env, "WORKER", methodBasic, true, ccData)
			postW, postSecret := f.app(t, f.env, "WORKER", methodPost, true, ccData)
			hsW, hsSecret := f.app(t, f.env, "WORKER", methodSecretJWT, true, ccData)
			pkW, _ := f.app(t, f.env, "WORKER", methodPrivateKeyJWT, true, string(pkData))
			// Settings no write of Gatehouse's makes: grantTypes not a list.
			damaged, damagedSecret := f.app(t, f.env, "WORKER", methodBasic, true, `{"grantTypes":"CLIENT_CREDENTIALS"}`)

			assertion := func(id string) map[string]any {
				return map[string]any{"iss": id, "sub": id, "aud": f.svc.Issuer(f.env) + "/token",
					"exp": time.Now().Add(time.Minute).Unix(), "jti": uuid.NewString()}
			}
			jwtForm := func(raw string, kv ...string) url.Values {
				v := url.Values{"client_assertion_type": {jwtBearer}, "client_assertion": {raw}}
				for i := 0; i < len(kv); i += 2 {
					v.Set(kv[i], kv[i+1])
				}
				return v
			}
			basicHdr := func(id, secret string) http.Header {
				return http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))}}
			}
			generic := "Client authentication failed."

			cases := []struct {
				name   string
				form   url.Values
				hdr    http.Header
				app    string // the client authenticated, "" for a failure
				method string
				// the failure
				status    int
				code      string
				desc      string
				basicAuth bool
			}{
				{name: "NATIVE_APP with NONE", form: url.Values{"client_id": {native}}, app: native, method: methodNone},
				{name: "SINGLE_PAGE_APP with NONE", form: url.Values{"client_id": {spa}}, app: spa, method: methodNone},
				{name: "public client sending an empty client_secret", form: url.Values{"client_id": {spa}, "client_secret": {""}}, app: spa, method: methodNone},
				{name: "public client sending a secret", form: url.Values{"client_id": {native}, "client_secret": {"guess"}},
					status: 401, code: "invalid_client", desc: generic},
				{name: "public client over Basic", form: url.Values{}, hdr: basicHdr(native, ""),
					status: 401, code: "invalid_client", desc: generic, basicAuth: true},
				{name: "confidential client with client_id alone", form: url.Values{"client_id": {basicW}},
					status: 401, code: "invalid_client", desc: generic},
				{name: "disabled public client", form: url.Values{"client_id": {disabled}}, status: 401, code: "invalid_client", desc: generic},
				{name: "public client of another environment", form: url.Values{"client_id": {elsewhere}}, status: 401, code: "invalid_client", desc: generic},
				{name: "unknown client", form: url.Values{"client_id": {uuid.NewString()}}, status: 401, code: "invalid_client", desc: generic},
				{name: "client id in braces", form: url.Values{"client_id": {"{" + native + "}"}}, status: 401, code: "invalid_client", desc: generic},
				{name: "client id with a NUL", form: url.Values{"client_id": {native[:35] + "\x00"}}, status: 401, code: "invalid_client", desc: generic},
				{name: "no client at all", form: url.Values{}, status: 401, code: "invalid_client", desc: generic},
				{name: "damaged settings", form: url.Values{}, hdr: basicHdr(damaged, damagedSecret),
					status: 401, code: "invalid_client", desc: generic, basicAuth: true},
				{name: "CLIENT_SECRET_BASIC", form: url.Values{}, hdr: basicHdr(basicW, basicSecret), app: basicW, method: methodBasic},
				{name: "CLIENT_SECRET_POST", form: url.Values{"client_id": {postW}, "client_secret": {postSecret}}, app: postW, method: methodPost},
				{name: "CLIENT_SECRET_JWT", form: jwtForm(signAssertion(t, jose.HS256, []byte(hsSecret), "", assertion(hsW))), app: hsW, method: methodSecretJWT},
				{name: "PRIVATE_KEY_JWT", form: jwtForm(signAssertion(t, jose.ES256, ec, "k1", assertion(pkW)), "client_id", pkW), app: pkW, method: methodPrivateKeyJWT},
				{name: "Basic and client_id naming another client", form: url.Values{"client_id": {postW}}, hdr: basicHdr(basicW, basicSecret),
					status: 401, code: "invalid_client", desc: "client_id does not match the client of the Authorization header.", basicAuth: true},
				{name: "a public client's id in an assertion", form: jwtForm(signAssertion(t, jose.HS256, []byte(hsSecret), "", assertion(native))),
					status: 401, code: "invalid_client", desc: generic},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					got, oe := f.svc.authenticateClient(newTokenRequest(c.form, c.hdr), f.env, c.form)
					if c.app != "" {
						if oe != nil {
							t.Fatalf("failed: %v", oe)
						}
						if got.app.ID != c.app || got.method != c.method {
							t.Fatalf("client %s method %s, want %s %s", got.app.ID, got.method, c.app, c.method)
						}
						return
					}
					if oe == nil {
						t.Fatalf("authenticated %s with %s", got.app.ID, got.method)
					}
					if oe.status != c.status || oe.code != c.code || oe.description != c.desc || oe.basicAuth != c.basicAuth {
						t.Fatalf("got %d %s %q basic=%v, want %d %s %q basic=%v", oe.status, oe.code, oe.description, oe.basicAuth,
							c.status, c.code, c.desc, c.basicAuth)
					}
				})
			}
		})
	}
}

// jwksServer serves a swappable key set and counts what it was asked.
type jwksServer struct {
	*httptest.Server
	mu     sync.Mutex
	body   []byte
	status int
	hits   atomic.Int32
}

func newJWKSServer(t *testing.T) *jwksServer {
	js := &jwksServer{status: http.StatusOK}
	js.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		js.hits.Add(1)
		js.mu.Lock()
		defer js.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(js.status)
		w.Write(js.body)
	}))
	t.Cleanup(js.Close)
	return js
}

func (js *jwksServer) serve(status int, body []byte) {
	js.mu.Lock()
	js.status, js.body = status, body
	js.mu.Unlock()
}

func keySet(t *testing.T, kids ...string) []byte {
	t.Helper()
	var set jose.JSONWebKeySet
	for _, kid := range kids {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Use: "sig", Algorithm: "ES256"})
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func kidsOf(set *jose.JSONWebKeySet) string {
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.KeyID)
	}
	return strings.Join(kids, ",")
}

// TestClientJWKSCache walks the jwksUrl cache through a clock it is
// handed: cached for five minutes, refetched early only on request and at
// most every ten seconds, the last good set kept when a fetch fails.
func TestClientJWKSCache(t *testing.T) {
	ctx := context.Background()
	js := newJWKSServer(t)
	cache := newJWKSCache(js.Client())
	t0 := time.Unix(1_700_000_000, 0)

	steps := []struct {
		name    string
		serve   []byte // what the server answers from this step on (nil: unchanged)
		status  int
		at      time.Duration
		refresh bool
		kids    string // the set returned; "" for an error
		hits    int32  // requests the server has had after the step
	}{
		{name: "first use fetches", serve: keySet(t, "a"), status: 200, at: 0, kids: "a", hits: 1},
		{name: "fresh set is cached", serve: keySet(t, "b"), status: 200, at: time.Minute, kids: "a", hits: 1},
		{name: "unknown kid refetches", at: time.Minute, refresh: true, kids: "b", hits: 2},
		{name: "a second refetch within 10s waits", serve: keySet(t, "c"), status: 200, at: time.Minute + 9*time.Second, refresh: true, kids: "b", hits: 2},
		{name: "after 10s it may refetch", at: time.Minute + 10*time.Second, refresh: true, kids: "c", hits: 3},
		{name: "still fresh", at: 6 * time.Minute, kids: "c", hits: 3},
		{name: "stale after five minutes", serve: keySet(t, "d"), status: 200, at: 6*time.Minute + 10*time.Second, kids: "d", hits: 4},
		{name: "failed fetch keeps the last good set", serve: []byte(`oops`), status: 500, at: 20 * time.Minute, kids: "d", hits: 5},
		{name: "no retry within 10s of a failure", at: 20*time.Minute + time.Second, kids: "d", hits: 5},
	}
	for _, st := range steps {
		if st.serve != nil {
			js.serve(st.status, st.serve)
		}
		set, err := cache.get(ctx, js.URL, t0.Add(st.at), st.refresh)
		switch {
		case st.kids == "" && err == nil:
			t.Errorf("%s: got set %s, want an error", st.name, kidsOf(set))
		case st.kids != "" && (err != nil || kidsOf(set) != st.kids):
			t.Errorf("%s: got %v %v, want keys %s", st.name, set, err, st.kids)
		}
		if h := js.hits.Load(); h != st.hits {
			t.Errorf("%s: server hit %d times, want %d", st.name, h, st.hits)
		}
	}

	// Sets that never were good are errors.
	for _, c := range []struct {
		name   string
		status int
		body   []byte
	}{
		{"server error", 500, []byte(`{}`)},
		{"not found", 404, keySet(t, "x")},
		{"not JSON", 200, []byte(`<html>`)},
		{"no keys", 200, []byte(`{"keys":[]}`)},
		{"too large", 200, []byte(`{"keys":[],"pad":"` + strings.Repeat("a", jwksMaxBytes) + `"}`)},
	} {
		bad := newJWKSServer(t)
		bad.serve(c.status, c.body)
		if set, err := newJWKSCache(bad.Client()).get(ctx, bad.URL, t0, false); err == nil {
			t.Errorf("%s: got set %s, want an error", c.name, kidsOf(set))
		}
	}

	// Concurrent misses for one URL make one request.
	many := newJWKSServer(t)
	many.serve(200, keySet(t, "m"))
	mc := newJWKSCache(many.Client())
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if set, err := mc.get(ctx, many.URL, t0, false); err != nil || kidsOf(set) != "m" {
				t.Errorf("concurrent get: %v %v", set, err)
			}
		})
	}
	wg.Wait()
	if h := many.hits.Load(); h != 1 {
		t.Errorf("20 concurrent misses made %d requests, want 1", h)
	}
}

// TestJWKSCacheSweep: a URL unused for jwksCacheFor leaves the cache when
// another comes, so jwksUrl changes cannot grow it without bound.
func TestJWKSCacheSweep(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"keys":[]}`))
	}))
	defer srv.Close()
	c := newJWKSCache(srv.Client())
	now := time.Now()
	for i := range 3 {
		c.get(context.Background(), srv.URL+"/old/"+string(rune('a'+i)), now, false)
	}
	c.get(context.Background(), srv.URL+"/fresh", now.Add(jwksCacheFor-time.Second), false)
	if n := len(c.entries); n != 4 {
		t.Fatalf("%d entries before any is stale, want 4", n)
	}
	c.get(context.Background(), srv.URL+"/new", now.Add(jwksCacheFor), false)
	var got []string
	for u := range c.entries {
		got = append(got, strings.TrimPrefix(u, srv.URL))
	}
	if len(got) != 2 || c.entries[srv.URL+"/fresh"] == nil || c.entries[srv.URL+"/new"] == nil {
		t.Fatalf("entries %v, want /fresh and /new", got)
	}
}
