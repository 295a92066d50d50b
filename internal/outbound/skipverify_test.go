package outbound

import (
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

// TestSkipTLSVerify: a server whose certificate no root vouches for is
// refused by the client and reached by SkipTLSVerify's; the address rules
// still hold for the latter; a trusted root passes without it.
func TestSkipTLSVerify(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	t.Cleanup(srv.Close)
	allow := []netip.AddrPort{netip.MustParseAddrPort(srv.Listener.Addr().String())}
	c := New(Options{Allow: allow, Log: quiet()})

	_, err := c.HTTP().Get(srv.URL)
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("verifying client: err = %v, want x509.UnknownAuthorityError", err)
	}
	resp, err := c.SkipTLSVerify().Do(mustGet(t, srv.URL))
	if err != nil {
		t.Fatalf("SkipTLSVerify: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("SkipTLSVerify: status %d", resp.StatusCode)
	}
	// The skip is per client: the verifying client still refuses (no
	// connection made without verification is shared with it).
	if _, err := c.HTTP().Get(srv.URL); !errors.As(err, &unknown) {
		t.Errorf("verifying client after a skipping request: err = %v", err)
	}
	// The guard holds: another loopback port is refused before any dial.
	rec := newRecorder(t)
	if _, err := c.SkipTLSVerify().WithTimeout(0).Do(mustGet(t, "https://127.0.0.1:"+rec.port())); err == nil {
		t.Error("SkipTLSVerify reached a loopback address not allowed")
	} else if _, ok := Refused(err); !ok {
		t.Errorf("SkipTLSVerify to a loopback address: %v is not a refusal", err)
	}
	if n := rec.conns.Load(); n != 0 {
		t.Errorf("%d connections to a refused port", n)
	}
	// A root that vouches for the server passes with verification.
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	trusting := New(Options{Allow: allow, RootCAs: pool, Log: quiet()})
	resp, err = trusting.HTTP().Get(srv.URL)
	if err != nil {
		t.Fatalf("trusting client: %v", err)
	}
	resp.Body.Close()
	// WithTimeout keeps the skip's transport apart too.
	if _, err := trusting.WithTimeout(5e9).SkipTLSVerify().Do(mustGet(t, srv.URL)); err != nil {
		t.Errorf("WithTimeout().SkipTLSVerify(): %v", err)
	}
}

func mustGet(t *testing.T, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}
