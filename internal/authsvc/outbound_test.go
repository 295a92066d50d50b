package authsvc_test

import (
	"crypto/rand"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// connCounter is a listener that only counts the connections made to it:
// the internal service a refused jwksUrl names.
func connCounter(t *testing.T) (port string, conns *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	conns = &atomic.Int32{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			c.Close()
		}
	}()
	_, port, _ = net.SplitHostPort(ln.Addr().String())
	return port, conns
}

// TestJwksURLGuard reproduces the server-side request forgery through an
// application's jwksUrl, on SQLite and PostgreSQL: with the guard on (as
// in production) a jwksUrl at a loopback, private, link-local or
// unspecified address, in any spelling, or one that redirects there, is
// refused before a connection is made, and the client authentication
// fails with a message that says so. The operator's opt-in restores the
// fetch.
func TestJwksURLGuard(t *testing.T) {
	k := newAssertionKeys(t)
	ecPub := jose.JSONWebKey{Key: &k.ec.PublicKey, KeyID: "ec-1", Use: "sig", Algorithm: "ES256"}
	port, conns := connCounter(t)
	internal := "127.0.0.1:" + port

	// keys is a key server the guard lets through (an allowed address),
	// which serves the keys or redirects elsewhere; other serves the same
	// keys from an address the guard refuses.
	mux := http.NewServeMux()
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(jwksOf(t, ecPub)))
	})
	for path, target := range map[string]string{
		"/to-loopback": "https://" + internal + "/jwks",
		"/to-private":  "https://10.0.0.1/jwks",
		"/to-metadata": "https://169.254.169.254/latest/meta-data/",
		"/to-http":     "http://" + internal + "/jwks",
	} {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, target, http.StatusFound) })
	}
	keys := httptest.NewTLSServer(mux)
	t.Cleanup(keys.Close)
	other := httptest.NewTLSServer(mux)
	t.Cleanup(other.Close)
	roots := x509.NewCertPool()
	roots.AddCert(keys.Certificate())
	allowed := netip.MustParseAddrPort(keys.Listener.Addr().String())

	const (
		reach   = "The application's jwksUrl was not fetched: outbound requests may not reach "
		numeric = "The application's jwksUrl was not fetched: outbound requests may not name a host by a number other than a dotted-quad IPv4 address."
		https   = "The application's jwksUrl was not fetched: outbound requests must use https."
	)
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			opts := apptest.Options{DSN: b.DSN(t), MasterKey: make([]byte, 32), Dir: t.TempDir(), OutboundRootCAs: roots}
			rand.Read(opts.MasterKey)
			guarded := opts
			guarded.GuardOutbound, guarded.OutboundAllow = true, []netip.AddrPort{allowed}
			s := apptest.Start(t, guarded)
			env := s.Admin.EnvironmentID
			tokenURL := s.URL + "/" + env + "/as/token"
			cases := []struct {
				name, jwksURL string
				status        int
				desc          string
			}{
				{"loopback", "https://" + internal + "/jwks", 401, reach + "a loopback address."},
				{"loopback without a port", "https://127.0.0.1/jwks", 401, reach + "a loopback address."},
				{"private", "https://10.0.0.1/jwks", 401, reach + "a private address."},
				{"IPv6 loopback", "https://[::1]:" + port + "/jwks", 401, reach + "a loopback address."},
				{"IPv4-mapped loopback", "https://[::ffff:127.0.0.1]:" + port + "/jwks", 401, reach + "a loopback address."},
				{"decimal", "https://2130706433:" + port + "/jwks", 401, numeric},
				{"short form", "https://127.1:" + port + "/jwks", 401, numeric},
				{"a name of a loopback address", "https://localhost:" + port + "/jwks", 401, reach + "a loopback address."},
				{"cloud metadata", "https://169.254.169.254/latest/meta-data/", 401, reach + "a link-local address."},
				{"unspecified", "https://0.0.0.0:" + port + "/jwks", 401, reach + "an unspecified address."},
				{"CGNAT", "https://100.64.0.1/jwks", 401, reach + "a shared (CGNAT) address."},
				{"redirect to loopback", keys.URL + "/to-loopback", 401, reach + "a loopback address."},
				{"redirect to private", keys.URL + "/to-private", 401, reach + "a private address."},
				{"redirect to metadata", keys.URL + "/to-metadata", 401, reach + "a link-local address."},
				{"redirect to http", keys.URL + "/to-http", 401, https},
				{"unlisted local key server", other.URL + "/jwks", 401, reach + "a loopback address."},
				{"allowed key server", keys.URL + "/jwks", 200, ""},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					id, _ := createClientApp(t, s, env, assertionWorker(c.name, "PRIVATE_KEY_JWT", "jwksUrl", c.jwksURL))
					body := assertionForm(signJWT(t, jose.ES256, k.ec, "ec-1", assertionClaims(tokenURL, id)))
					r := do(t, s, apptest.Request{Method: "POST", URL: tokenURL, Body: body, ContentType: formType})
					checkClientAuthAnswer(t, r, c.status, "invalid_client", c.desc, false)
				})
			}
			if n := conns.Load(); n != 0 {
				t.Errorf("the internal listener had %d connections, want none", n)
			}

			// The opt-in restores the fetch from a local key server.
			s.Stop()
			open := apptest.Start(t, opts)
			id, _ := createClientApp(t, open, env, assertionWorker("opt-in", "PRIVATE_KEY_JWT", "jwksUrl", other.URL+"/jwks"))
			body := assertionForm(signJWT(t, jose.ES256, k.ec, "ec-1", assertionClaims(open.URL+"/"+env+"/as/token", id)))
			r := do(t, open, apptest.Request{Method: "POST", URL: open.URL + "/" + env + "/as/token", Body: body, ContentType: formType})
			checkClientAuthAnswer(t, r, http.StatusOK, "", "", false)
		})
	}
}
