package outbound

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// recorder is a TCP listener that counts the connections made to it and
// keeps what they sent: where a refused request must not arrive.
type recorder struct {
	ln    net.Listener
	conns atomic.Int32
	mu    sync.Mutex
	got   bytes.Buffer
}

func newRecorder(t *testing.T) *recorder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r.conns.Add(1)
			go func() {
				defer c.Close()
				c.SetReadDeadline(time.Now().Add(2 * time.Second))
				b := make([]byte, 4096)
				n, _ := c.Read(b)
				r.mu.Lock()
				r.got.Write(b[:n])
				r.mu.Unlock()
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return r
}

func (r *recorder) port() string {
	_, p, _ := net.SplitHostPort(r.ln.Addr().String())
	return p
}

func (r *recorder) received() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got.String()
}

// fakeDNS answers A and AAAA queries for names from a table, NXDOMAIN for
// the rest; the resolver it returns asks only it.
func fakeDNS(t *testing.T, names map[string][]string) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	table := map[string][]netip.Addr{}
	for n, as := range names {
		for _, a := range as {
			table[n] = append(table[n], netip.MustParseAddr(a))
		}
	}
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp := dnsAnswer(buf[:n], table); resp != nil {
				pc.WriteTo(resp, from)
			}
		}
	}()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", pc.LocalAddr().String())
	}}
}

func dnsAnswer(q []byte, table map[string][]netip.Addr) []byte {
	if len(q) < 13 {
		return nil
	}
	var labels []string
	i := 12
	for i < len(q) && q[i] != 0 {
		l := int(q[i])
		if i+1+l > len(q) {
			return nil
		}
		labels = append(labels, string(q[i+1:i+1+l]))
		i += 1 + l
	}
	end := i + 5 // the root label, QTYPE, QCLASS
	if end > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[i+1:])
	addrs, known := table[strings.ToLower(strings.Join(labels, "."))]
	var answers [][]byte
	for _, a := range addrs {
		if (qtype == 1 && a.Is4()) || (qtype == 28 && a.Is6() && !a.Is4In6()) || (qtype == 28 && a.Is4In6()) {
			rr := []byte{0xc0, 12, 0, byte(qtype), 0, 1, 0, 0, 0, 60}
			raw := a.AsSlice()
			rr = binary.BigEndian.AppendUint16(rr, uint16(len(raw)))
			answers = append(answers, append(rr, raw...))
		}
	}
	rcode := byte(0)
	if !known {
		rcode = 3
	}
	out := append([]byte{}, q[0], q[1], 0x85, 0x80|rcode, 0, 1)
	out = binary.BigEndian.AppendUint16(out, uint16(len(answers)))
	out = append(out, 0, 0, 0, 0)
	out = append(out, q[12:end]...)
	for _, a := range answers {
		out = append(out, a...)
	}
	return out
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestRefusals: every form of an address only Gatehouse can reach is
// refused before a connection is made, whether the URL names it or a
// name resolves to it, and the request's secret goes nowhere.
func TestRefusals(t *testing.T) {
	rec := newRecorder(t)
	p := rec.port()
	res := fakeDNS(t, map[string][]string{
		"loop.test":     {"127.0.0.1"},
		"ten.test":      {"10.0.0.1"},
		"metadata.test": {"169.254.169.254"},
		"v6.test":       {"::1"},
		"both.test":     {"10.1.2.3", "fd00::1"},
	})
	c := New(Options{Resolver: res, Log: quiet()})
	const (
		https   = "outbound requests must use https"
		numeric = "outbound requests may not name a host by a number other than a dotted-quad IPv4 address"
		reach   = "outbound requests may not reach "
	)
	cases := []struct {
		url  string
		rule string
		addr string // the address refused at dial time; "" for the URL
	}{
		{"http://127.0.0.1:" + p + "/token", https, ""},
		{"http://example.com/", https, ""},
		{"ftp://127.0.0.1:" + p + "/", https, ""},
		{"https://127.0.0.1:" + p + "/token", reach + "a loopback address", "127.0.0.1:" + p},
		{"https://127.0.0.2:" + p + "/token", reach + "a loopback address", "127.0.0.2:" + p},
		{"https://localhost:" + p + "/token", reach + "a loopback address", "127.0.0.1:" + p},
		{"https://loop.test:" + p + "/token", reach + "a loopback address", "127.0.0.1:" + p},
		{"https://LOOP.test:" + p + "/token", reach + "a loopback address", "127.0.0.1:" + p},
		{"https://[::1]:" + p + "/token", reach + "a loopback address", "[::1]:" + p},
		{"https://v6.test:" + p + "/token", reach + "a loopback address", "[::1]:" + p},
		{"https://[::ffff:127.0.0.1]:" + p + "/token", reach + "a loopback address", "127.0.0.1:" + p},
		{"https://[64:ff9b::7f00:1]:" + p + "/token", reach + "a loopback address (NAT64)", "[64:ff9b::7f00:1]:" + p},
		{"https://0.0.0.0:" + p + "/token", reach + "an unspecified address", "0.0.0.0:" + p},
		{"https://[::]:" + p + "/token", reach + "an unspecified address", "[::]:" + p},
		{"https://10.0.0.1/jwks", reach + "a private address", "10.0.0.1:443"},
		{"https://ten.test/jwks", reach + "a private address", "10.0.0.1:443"},
		{"https://both.test/jwks", reach + "a private address", "10.1.2.3:443"},
		{"https://192.168.0.1/jwks", reach + "a private address", "192.168.0.1:443"},
		{"https://172.16.5.4:8443/jwks", reach + "a private address", "172.16.5.4:8443"},
		{"https://[fd00::1]/jwks", reach + "a private (unique local) address", "[fd00::1]:443"},
		{"https://169.254.169.254/latest/meta-data/", reach + "a link-local address", "169.254.169.254:443"},
		{"https://metadata.test/latest/meta-data/", reach + "a link-local address", "169.254.169.254:443"},
		{"https://[fe80::1%25lo]:" + p + "/", reach + "a link-local address", "[fe80::1%lo]:" + p},
		{"https://100.64.0.1/", reach + "a shared (CGNAT) address", "100.64.0.1:443"},
		{"https://224.0.0.1/", reach + "a multicast address", "224.0.0.1:443"},
		{"https://255.255.255.255/", reach + "the broadcast address", "255.255.255.255:443"},
		{"https://2130706433:" + p + "/jwks", numeric, ""},
		{"https://127.1:" + p + "/jwks", numeric, ""},
		{"https://0x7f.0.0.1:" + p + "/jwks", numeric, ""},
		{"https://0177.0.0.1:" + p + "/jwks", numeric, ""},
	}
	for _, tc := range cases {
		t.Run(tc.url, func(t *testing.T) {
			req, err := http.NewRequest("POST", tc.url, strings.NewReader("client_secret=s3cret"))
			if err != nil {
				t.Fatal(err)
			}
			req.SetBasicAuth("client", "s3cret")
			resp, err := c.Do(req)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("the request was sent: %d", resp.StatusCode)
			}
			re, ok := Refused(err)
			if !ok {
				t.Fatalf("error %v is not a refusal", err)
			}
			if re.Rule != tc.rule || re.Addr != tc.addr {
				t.Errorf("refused %q at %q, want %q at %q", re.Rule, re.Addr, tc.rule, tc.addr)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the error carries the secret: %v", err)
			}
		})
	}
	if n := rec.conns.Load(); n != 0 {
		t.Errorf("the local listener had %d connections (%q), want none", n, rec.received())
	}
}

// TestRefusalURL: errors and logs name the URL without its credentials
// or query.
func TestRefusalURL(t *testing.T) {
	var log bytes.Buffer
	c := New(Options{Log: slog.New(slog.NewTextHandler(&log, nil))})
	_, err := c.HTTP().Get("https://user:pw@127.0.0.1:1/path?token=abc#frag")
	re, ok := Refused(err)
	if !ok {
		t.Fatalf("error %v is not a refusal", err)
	}
	if re.URL != "https://127.0.0.1:1/path" {
		t.Errorf("URL %q", re.URL)
	}
	if want := "outbound request to https://127.0.0.1:1/path refused: outbound requests may not reach a loopback address (127.0.0.1:1)"; re.Error() != want {
		t.Errorf("error %q, want %q", re.Error(), want)
	}
	// (http.Client's own *url.Error around it names the URL as given,
	// its password masked.)
	for _, leak := range []string{"pw", "abc", "frag"} {
		if strings.Contains(log.String(), leak) || strings.Contains(re.Error(), leak) {
			t.Errorf("%q leaked: %v / %s", leak, re, log.String())
		}
	}
	if !strings.Contains(log.String(), `msg="outbound request refused" url=https://127.0.0.1:1/path addr=127.0.0.1:1 rule="outbound requests may not reach a loopback address"`) {
		t.Errorf("log: %s", log.String())
	}
}

// TestAllowPrivate: the operator's opt-in restores plain http and private
// addresses (as before the guard).
func TestAllowPrivate(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "plain") }))
	t.Cleanup(plain.Close)
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "tls") }))
	t.Cleanup(tlsSrv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(tlsSrv.Certificate())
	_, tlsPort, _ := net.SplitHostPort(tlsSrv.Listener.Addr().String())
	// httptest's certificate names example.com, which resolves here to
	// the server.
	res := fakeDNS(t, map[string][]string{"example.com": {"127.0.0.1"}})
	named := "https://example.com:" + tlsPort

	for _, tc := range []struct {
		name  string
		opts  Options
		url   string
		allow bool
	}{
		{"plain http to loopback, guarded", Options{}, plain.URL, false},
		{"plain http to loopback, allowed", Options{AllowPrivate: true}, plain.URL, true},
		{"https to a name of a loopback address, guarded", Options{RootCAs: roots, Resolver: res}, named, false},
		{"https to a name of a loopback address, allowed", Options{AllowPrivate: true, RootCAs: roots, Resolver: res}, named, true},
		{"https to 127.0.0.1, allowed", Options{AllowPrivate: true, RootCAs: roots}, tlsSrv.URL, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Log = quiet()
			resp, err := New(tc.opts).HTTP().Get(tc.url)
			if !tc.allow {
				if _, ok := Refused(err); !ok {
					t.Fatalf("got %v, want a refusal", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("status %d", resp.StatusCode)
			}
		})
	}
}

// TestAllowList: an allowed address passes, over plain http too; every
// other is refused as ever, another port of the same host included.
func TestAllowList(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	t.Cleanup(srv.Close)
	rec := newRecorder(t)
	c := New(Options{Allow: []netip.AddrPort{netip.MustParseAddrPort(srv.Listener.Addr().String())}, Log: quiet()})
	resp, err := c.HTTP().Get(srv.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, u := range []string{"http://127.0.0.1:" + rec.port(), "https://127.0.0.1:" + rec.port(), "https://localhost:" + rec.port()} {
		if _, err := c.HTTP().Get(u); err == nil {
			t.Errorf("%s was reached", u)
		} else if _, ok := Refused(err); !ok {
			t.Errorf("%s: %v is not a refusal", u, err)
		}
	}
	if n := rec.conns.Load(); n != 0 {
		t.Errorf("%d connections to a refused port", n)
	}
}

// TestRedirects: each hop is checked like the first request; a POST is
// never redirected; redirects are bounded.
func TestRedirects(t *testing.T) {
	rec := newRecorder(t)
	p := rec.port()
	var hits atomic.Int32
	mux := http.NewServeMux()
	to := func(target string, code int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, target, code) }
	}
	mux.HandleFunc("/loopback", to("https://127.0.0.1:"+p+"/jwks", http.StatusFound))
	mux.HandleFunc("/localhost", to("https://localhost:"+p+"/jwks", http.StatusMovedPermanently))
	mux.HandleFunc("/private", to("https://10.0.0.1/jwks", http.StatusTemporaryRedirect))
	mux.HandleFunc("/metadata", to("https://169.254.169.254/latest/meta-data/", http.StatusSeeOther))
	mux.HandleFunc("/plain", to("http://127.0.0.1:"+p+"/jwks", http.StatusFound))
	mux.HandleFunc("/numeric", to("https://2130706433:"+p+"/jwks", http.StatusFound))
	mux.HandleFunc("/token", to("/final", http.StatusTemporaryRedirect))
	mux.HandleFunc("/same", to("/final", http.StatusFound))
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	mux.HandleFunc("/final", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "final") })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c := New(Options{Allow: []netip.AddrPort{netip.MustParseAddrPort(srv.Listener.Addr().String())}, Log: quiet()})

	refused := func(path, method, rule string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader("client_secret=s3cret"))
		_, err := c.Do(req)
		re, ok := Refused(err)
		if !ok {
			t.Errorf("%s %s: %v, want a refusal", method, path, err)
			return
		}
		if re.Rule != rule {
			t.Errorf("%s %s: rule %q, want %q", method, path, re.Rule, rule)
		}
	}
	refused("/loopback", "GET", "outbound requests may not reach a loopback address")
	refused("/localhost", "GET", "outbound requests may not reach a loopback address")
	refused("/private", "GET", "outbound requests may not reach a private address")
	refused("/metadata", "GET", "outbound requests may not reach a link-local address")
	refused("/plain", "GET", "outbound requests must use https")
	refused("/numeric", "GET", "outbound requests may not name a host by a number other than a dotted-quad IPv4 address")
	refused("/token", "POST", "outbound requests do not follow redirects of a POST")
	refused("/same", "POST", "outbound requests do not follow redirects of a POST")
	if n := rec.conns.Load(); n != 0 {
		t.Errorf("redirect targets had %d connections", n)
	}

	resp, err := c.HTTP().Get(srv.URL + "/same")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "final" {
		t.Errorf("allowed redirect: %q", b)
	}

	_, err = c.HTTP().Get(srv.URL + "/loop")
	if err == nil || !strings.Contains(err.Error(), "stopped after 5 redirects") {
		t.Errorf("redirect loop: %v", err)
	}
	if n := hits.Load(); n != MaxRedirects+1 {
		t.Errorf("redirect loop made %d requests, want %d", n, MaxRedirects+1)
	}
}

// TestResponseSize: a body up to the bound reads whole; one byte more
// fails clearly, whether the length is declared or not.
func TestResponseSize(t *testing.T) {
	const limit = 1000
	mux := http.NewServeMux()
	chunked := func(n int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			// Flushing first leaves the length undeclared (chunked).
			w.(http.Flusher).Flush()
			w.Write(bytes.Repeat([]byte("a"), n))
		}
	}
	mux.HandleFunc("/exact", chunked(limit))
	mux.HandleFunc("/over", chunked(limit+1))
	mux.HandleFunc("/huge", chunked(10*limit))
	mux.HandleFunc("/declared", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(1<<30))
		w.Write([]byte("a"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c := New(Options{AllowPrivate: true, MaxResponseBytes: limit, Log: quiet()})

	for _, tc := range []struct {
		path    string
		read    int
		tooBig  bool
		atFetch bool // refused before the body is read
	}{
		{path: "/exact", read: limit},
		{path: "/over", read: limit, tooBig: true},
		{path: "/huge", read: limit, tooBig: true},
		{path: "/declared", tooBig: true, atFetch: true},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp, err := c.HTTP().Get(srv.URL + tc.path)
			if tc.atFetch {
				te, ok := TooLarge(err)
				if !ok || te.Limit != limit || te.URL != srv.URL+tc.path {
					t.Fatalf("got %v, want a TooLargeError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if len(b) != tc.read {
				t.Errorf("read %d bytes, want %d", len(b), tc.read)
			}
			te, ok := TooLarge(err)
			if ok != tc.tooBig || (ok && te.Error() != "outbound response from "+srv.URL+tc.path+" is over 1000 bytes") {
				t.Errorf("read error %v, want too large %v", err, tc.tooBig)
			}
			if !tc.tooBig && err != nil {
				t.Errorf("read error %v", err)
			}
		})
	}
}

// TestTimeout: a server that never answers costs the request's bound, not
// more.
func TestTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(srv.Close)
	c := New(Options{AllowPrivate: true, Timeout: time.Minute, Log: quiet()}).WithTimeout(200 * time.Millisecond)
	start := time.Now()
	_, err := c.HTTP().Get(srv.URL)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("got %v, want a timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the request took %v", d)
	}
}

// TestNoProxyFromEnvironment: HTTPS_PROXY and HTTP_PROXY are not used:
// through a proxy, the check would see only the proxy's address.
func TestNoProxyFromEnvironment(t *testing.T) {
	proxy := newRecorder(t)
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:"+proxy.port())
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:"+proxy.port())
	t.Setenv("NO_PROXY", "")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "direct") }))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	// A name, not 127.0.0.1: Go never proxies requests to loopback
	// addresses, so only a name shows whether the environment is read.
	res := fakeDNS(t, map[string][]string{"svc.test": {"127.0.0.1"}})
	c := New(Options{AllowPrivate: true, Resolver: res, Log: quiet()})
	if p := c.hc.Transport.(*guard).base.Proxy; p != nil {
		t.Fatal("the transport has a proxy function")
	}
	resp, err := c.HTTP().Get("http://svc.test:" + port + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "direct" || proxy.conns.Load() != 0 {
		t.Errorf("answer %q, %d connections to the proxy", b, proxy.conns.Load())
	}
}
