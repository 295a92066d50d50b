package federation_test

import (
	"crypto/rand"
	"encoding/base64"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// internalService is a listener standing for what only Gatehouse can
// reach: it counts connections and keeps the bytes sent to it.
type internalService struct {
	ln    net.Listener
	conns atomic.Int32
	mu    sync.Mutex
	got   []byte
}

func startInternalService(t *testing.T) *internalService {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	is := &internalService{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			is.conns.Add(1)
			go func() {
				defer c.Close()
				c.SetReadDeadline(time.Now().Add(time.Second))
				b := make([]byte, 4096)
				n, _ := c.Read(b)
				is.mu.Lock()
				is.got = append(is.got, b[:n]...)
				is.mu.Unlock()
			}()
		}
	}()
	return is
}

// head is the start of what the service received (a plain http request's
// headers, or a TLS handshake).
func (is *internalService) head() string {
	is.mu.Lock()
	defer is.mu.Unlock()
	if len(is.got) > 400 {
		return string(is.got[:400])
	}
	return string(is.got)
}

func (is *internalService) port() string {
	_, p, _ := net.SplitHostPort(is.ln.Addr().String())
	return p
}

// TestOutboundGuard reproduces the server-side request forgery through an
// identity provider's endpoints, on SQLite and PostgreSQL. With the guard
// on (as in production), a token, JWKS or userinfo endpoint at a loopback
// or private address, by any name, over plain http, or behind a redirect,
// is not called: the flow fails with a message naming the rule, and the
// internal service never sees a connection, so the provider's client
// secret (sent in a Basic header) and the user's access token stay home.
// The fake provider itself is an address the test lets through, so that
// the calls after the token request are reached. The operator's opt-in
// restores the sign-on with a provider on 127.0.0.1 over http.
func TestOutboundGuard(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			op := startFakeOP(t)
			internal := startInternalService(t)
			ip := "127.0.0.1:" + internal.port()
			mux := op.srv.Config.Handler.(*http.ServeMux)
			mux.HandleFunc("POST /token-moved", func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "https://"+ip+"/token", http.StatusTemporaryRedirect)
			})
			mux.HandleFunc("GET /jwks-moved", func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "https://"+ip+"/jwks", http.StatusFound)
			})
			mux.HandleFunc("POST /token-huge", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Content-Length", strconv.Itoa(2<<20))
				w.Write([]byte(`{"access_token":"`))
			})

			opts := apptest.Options{DSN: be.DSN(t), MasterKey: make([]byte, 32), Dir: t.TempDir()}
			rand.Read(opts.MasterKey)
			guarded := opts
			guarded.GuardOutbound = true
			guarded.OutboundAllow = []netip.AddrPort{netip.MustParseAddrPort(op.srv.Listener.Addr().String())}
			s := apptest.Start(t, guarded)
			x := &fedFixture{d: &rp{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{})}, op: op}
			provider := func(name string, kv ...string) string {
				body := x.providerBody(op.srv.URL + "/token")
				for i := 0; i < len(kv); i += 2 {
					body[kv[i]] = kv[i+1]
				}
				return x.d.addProvider(t, name, body)
			}

			const stopped = "The request to the %s of the identity provider %s was stopped: "
			cases := []struct {
				name, provider string
				// tokens: the provider's token endpoint answers an ID token.
				tokens  bool
				message string
			}{
				{name: "plain http token endpoint", provider: provider("Plain", "tokenEndpoint", "http://"+ip+"/token"),
					message: "The request to the token endpoint of the identity provider Plain was stopped: outbound requests must use https."},
				{name: "loopback token endpoint", provider: provider("Loopback", "tokenEndpoint", "https://"+ip+"/token"),
					message: "The request to the token endpoint of the identity provider Loopback was stopped: outbound requests may not reach a loopback address."},
				{name: "a name of a loopback address", provider: provider("Named", "tokenEndpoint", "https://localhost:"+internal.port()+"/token"),
					message: "The request to the token endpoint of the identity provider Named was stopped: outbound requests may not reach a loopback address."},
				{name: "IPv6 loopback", provider: provider("Six", "tokenEndpoint", "https://[::1]:"+internal.port()+"/token"),
					message: "The request to the token endpoint of the identity provider Six was stopped: outbound requests may not reach a loopback address."},
				{name: "private token endpoint", provider: provider("Private", "tokenEndpoint", "https://10.0.0.1/token"),
					message: "The request to the token endpoint of the identity provider Private was stopped: outbound requests may not reach a private address."},
				{name: "decimal host", provider: provider("Decimal", "tokenEndpoint", "https://2130706433:"+internal.port()+"/token"),
					message: "The request to the token endpoint of the identity provider Decimal was stopped: outbound requests may not name a host by a number other than a dotted-quad IPv4 address."},
				{name: "token request redirected", provider: provider("Moved", "tokenEndpoint", op.srv.URL+"/token-moved"),
					message: "The request to the token endpoint of the identity provider Moved was stopped: outbound requests do not follow redirects of a POST."},
				{name: "oversized token response", provider: provider("Huge", "tokenEndpoint", op.srv.URL+"/token-huge"),
					message: "The token endpoint of the identity provider Huge answered with more than 1048576 bytes."},
				{name: "loopback JWKS endpoint", provider: provider("Keys", "jwksEndpoint", "https://"+ip+"/jwks"), tokens: true,
					message: "The request to the JWKS endpoint of the identity provider Keys was stopped: outbound requests may not reach a loopback address."},
				{name: "JWKS redirected to loopback", provider: provider("KeysMoved", "jwksEndpoint", op.srv.URL+"/jwks-moved"), tokens: true,
					message: "The request to the JWKS endpoint of the identity provider KeysMoved was stopped: outbound requests may not reach a loopback address."},
				{name: "loopback userinfo endpoint", provider: provider("Info", "userInfoEndpoint", "https://"+ip+"/userinfo"), tokens: true,
					message: "The request to the userinfo endpoint of the identity provider Info was stopped: outbound requests may not reach a loopback address."},
			}
			local := provider("Local")
			offered := []map[string]string{{"id": local}}
			for _, c := range cases {
				offered = append(offered, map[string]string{"id": c.provider})
			}
			x.d.usePolicy(t, map[string]any{"type": "LOGIN", "priority": 1, "socialProviders": offered})

			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					p := x.begin(t, tc.provider)
					code := "code-" + uuid.NewString()
					if tc.tokens {
						op.answer(code, tokens(sign(t, op.key, fakeKID, op.claims(p.nonce))))
					}
					l := p.a.get(x.callback(url.Values{"code": {code}, "state": {p.state}})).location(t)
					if l.String() != x.d.base()+"/signon/?flowId="+p.flowID {
						t.Fatalf("callback sent the browser to %s", l)
					}
					expectFields(t, "flow", x.flow(t, p), map[string]any{"status": "FAILED",
						"error": map[string]any{"code": "server_error", "message": tc.message}})
					cb := p.a.get(x.d.base() + "/as/resume?flowId=" + p.flowID).location(t)
					want := url.Values{"error": {"server_error"}, "error_description": {tc.message}, "state": {p.appState}}
					if !jsonEqual(cb.Query(), want) {
						t.Errorf("resume sent the browser to %s, want %s", cb, want.Encode())
					}
				})
			}
			if n := internal.conns.Load(); n != 0 {
				t.Errorf("the internal service had %d connections; it received %q", n, internal.head())
			}

			// The opt-in (the default of apptest) restores what the guard
			// stops: the sign-on with a provider on 127.0.0.1 over http, and
			// the attack, the client secret sent to the internal service.
			s.Stop()
			open := apptest.Start(t, opts)
			y := &fedFixture{d: &rp{s: open, fx: x.d.fx}, op: op}
			p := y.begin(t, local)
			code := "code-" + uuid.NewString()
			op.answer(code, tokens(sign(t, op.key, fakeKID, op.claims(p.nonce))))
			if l := p.a.get(y.callback(url.Values{"code": {code}, "state": {p.state}})).location(t); l.String() != y.d.base()+"/signon/?flowId="+p.flowID {
				t.Fatalf("callback sent the browser to %s", l)
			}
			expectFields(t, "flow", y.flow(t, p), map[string]any{"status": "ACCOUNT_LINKING_REQUIRED", "_embedded.identityProvider.id": local})
			if got := op.request(code); got.auth != "basic" {
				t.Errorf("the provider got the token request as %q, want basic", got.auth)
			}

			p = y.begin(t, cases[0].provider)
			p.a.get(y.callback(url.Values{"code": {"code-" + uuid.NewString()}, "state": {p.state}})).location(t)
			basic := "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(fakeClientID+":"+fakeSecret))
			if got := internal.head(); internal.conns.Load() == 0 || !strings.Contains(got, basic) {
				t.Errorf("with the opt-in the internal service got %q, want the token request with %q", got, basic)
			}
		})
	}
}
