package httpx_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
)

type tlsServer struct {
	srv   *httpx.Server
	addr  string
	ca    *apptest.TestCA
	certs *httpx.Certificates
	done  chan error
}

// startTLS serves h over TLS for https://gatehouse.test on 127.0.0.1.
func startTLS(t *testing.T, h http.Handler, to httpx.Timeouts) *tlsServer {
	t.Helper()
	dir := t.TempDir()
	ca := apptest.NewTestCA(t)
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	ca.Issue(t, "gatehouse.test", cert, key)
	certs, err := httpx.LoadCertificates(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := httpx.NewServer(httpx.ServerOptions{Handler: h, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		TLS: certs, BaseURL: "https://gatehouse.test", Timeouts: to})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &tlsServer{srv: srv, addr: ln.Addr().String(), ca: ca, certs: certs, done: make(chan error, 1)}
	go func() { s.done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-s.done
	})
	return s
}

func (s *tlsServer) client() *http.Client {
	proxy, _ := url.Parse("http://" + s.addr)
	return &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxy), TLSClientConfig: &tls.Config{RootCAs: s.ca.Pool}}}
}

// closedWithin reads c until it ends and says how long that took; a
// connection the server never closes fails the test.
func closedWithin(t *testing.T, c net.Conn, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	c.SetReadDeadline(start.Add(limit))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server kept the connection open for %v", limit)
	}
	return time.Since(start)
}

// TestServerBoundsConnections: a connection that sends nothing, a CONNECT
// that never finishes its header, and a tunnel that never starts TLS are
// each closed after their timeout.
func TestServerBoundsConnections(t *testing.T) {
	s := startTLS(t, http.NotFoundHandler(), httpx.Timeouts{Peek: 300 * time.Millisecond, ReadHeader: 300 * time.Millisecond})
	cases := []struct {
		name, send string
		tunnel     bool
	}{
		{"nothing sent", "", false},
		{"a CONNECT header never finished", "CONNECT gatehouse.test:443 HTTP/1.1\r\nHost: gate", false},
		{"a tunnel that never starts TLS", "CONNECT gatehouse.test:443 HTTP/1.1\r\nHost: gatehouse.test:443\r\n\r\n", true},
		{"a TLS handshake never finished", "\x16\x03\x01", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", s.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			io.WriteString(conn, c.send)
			if c.tunnel {
				resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: "CONNECT"})
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("CONNECT: %v %v", err, resp)
				}
			}
			if d := closedWithin(t, conn, 5*time.Second); d < 200*time.Millisecond {
				t.Fatalf("closed after %v, before the timeout", d)
			}
		})
	}
}

// earlyConn sends a CONNECT in the same write as what follows (a TLS
// ClientHello), without waiting for the proxy's answer, and reads the
// answer before handing on what follows it.
type earlyConn struct {
	net.Conn
	r       *bufio.Reader
	connect []byte
	status  int
}

func (c *earlyConn) Write(p []byte) (int, error) {
	if c.connect != nil {
		_, err := c.Conn.Write(append(c.connect, p...))
		c.connect = nil
		return len(p), err
	}
	return c.Conn.Write(p)
}

func (c *earlyConn) Read(p []byte) (int, error) {
	if c.status == 0 {
		resp, err := http.ReadResponse(c.r, &http.Request{Method: "CONNECT"})
		if err != nil {
			return 0, err
		}
		c.status = resp.StatusCode
	}
	return c.r.Read(p)
}

func TestServerTunnels(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			entered <- struct{}{}
			<-release
		}
		io.WriteString(w, "host="+r.Host+" tls="+r.TLS.ServerName)
	})
	s := startTLS(t, h, httpx.Timeouts{})

	t.Run("HTTPS_PROXY client", func(t *testing.T) {
		resp, err := s.client().Get("https://gatehouse.test/x")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "host=gatehouse.test tls=gatehouse.test" {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
	})
	t.Run("TLS on the port itself", func(t *testing.T) {
		tr := &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{RootCAs: s.ca.Pool, ServerName: "gatehouse.test"}}
		resp, err := (&http.Client{Transport: tr}).Get("https://" + s.addr + "/x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
			t.Fatalf("%d %s", resp.StatusCode, resp.Proto)
		}
	})
	t.Run("ClientHello in the CONNECT's packet", func(t *testing.T) {
		raw, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		raw.SetDeadline(time.Now().Add(5 * time.Second))
		ec := &earlyConn{Conn: raw, r: bufio.NewReader(raw), connect: []byte("CONNECT gatehouse.test:443 HTTP/1.1\r\nHost: gatehouse.test:443\r\n\r\n")}
		tc := tls.Client(ec, &tls.Config{RootCAs: s.ca.Pool, ServerName: "gatehouse.test"})
		io.WriteString(tc, "GET /early HTTP/1.1\r\nHost: gatehouse.test\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(tc), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 100))
		if ec.status != 200 || resp.StatusCode != 200 || !strings.HasPrefix(string(b), "host=gatehouse.test") {
			t.Fatalf("%d %d %s", ec.status, resp.StatusCode, b)
		}
	})

	// Shutdown waits for a request in flight through a tunnel.
	got := make(chan string, 1)
	go func() {
		resp, err := s.client().Get("https://gatehouse.test/slow")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-entered
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shut <- s.srv.Shutdown(ctx)
	}()
	select {
	case err := <-shut:
		t.Fatalf("shutdown returned with a tunnelled request in flight: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := net.DialTimeout("tcp", s.addr, time.Second); err == nil {
		t.Error("still accepting while shutting down")
	}
	close(release)
	if b := <-got; b != "host=gatehouse.test tls=gatehouse.test" {
		t.Fatalf("the request in flight: %s", b)
	}
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
	if err := <-s.done; !errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("serve: %v", err)
	}
	s.done <- nil // for the cleanup
}

func TestCertificatesReload(t *testing.T) {
	dir := t.TempDir()
	ca := apptest.NewTestCA(t)
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if _, err := httpx.LoadCertificates(cert, key); err == nil {
		t.Fatal("missing files loaded")
	}
	first := ca.Issue(t, "gatehouse.test", cert, key)
	certs, err := httpx.LoadCertificates(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	serving := func() string {
		c, _ := certs.GetCertificate(nil)
		return c.Leaf.SerialNumber.String()
	}
	if serving() != first.String() {
		t.Fatal("not serving the certificate loaded")
	}
	otherCert, otherKey, _ := ca.IssuePEM(t, "gatehouse.test")
	goodCert, goodKey, _ := ca.IssuePEM(t, "gatehouse.test")
	bad := []struct{ name, cert, key string }{
		{"a key of another certificate", string(otherCert), string(goodKey)},
		{"no key", string(goodCert), ""},
		{"a key where the certificate goes", string(otherKey), string(otherKey)},
		{"a certificate cut short", string(goodCert[:len(goodCert)/2]), string(goodKey)},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			os.WriteFile(cert, []byte(b.cert), 0o644)
			os.WriteFile(key, []byte(b.key), 0o600)
			if err := certs.Reload(); err == nil {
				t.Fatal("reloaded")
			}
			if serving() != first.String() {
				t.Fatal("the certificate changed")
			}
		})
	}
	renewed := ca.Issue(t, "gatehouse.test", cert, key)
	if err := certs.Reload(); err != nil || serving() != renewed.String() {
		t.Fatalf("reload: %v, serving %s", err, serving())
	}
}

func TestServerNeedsHTTPSBase(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	apptest.NewTestCA(t).Issue(t, "gatehouse.test", cert, key)
	certs, err := httpx.LoadCertificates(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	for _, base := range []string{"http://gatehouse.test", "https://", "gatehouse.test"} {
		if _, err := httpx.NewServer(httpx.ServerOptions{Handler: http.NotFoundHandler(), Log: slog.Default(), TLS: certs, BaseURL: base}); err == nil {
			t.Errorf("base URL %q accepted", base)
		}
	}
}

// TestServerPlainRedirect: a plain GET or HEAD on the TLS port is sent to
// the same path and query on the base URL, whatever form its target takes,
// and never to another host.
func TestServerPlainRedirect(t *testing.T) {
	s := startTLS(t, http.NotFoundHandler(), httpx.Timeouts{})
	cases := []struct{ name, method, target, want string }{
		{"a path and query", "GET", "/v1/environments?limit=1", "https://gatehouse.test/v1/environments?limit=1"},
		{"HEAD", "HEAD", "/healthz", "https://gatehouse.test/healthz"},
		{"absolute form", "GET", "http://other.example/x?y=1", "https://gatehouse.test/x?y=1"},
		{"two slashes", "GET", "//other.example/x", "https://gatehouse.test//other.example/x"},
		{"absolute form without slashes", "GET", "http:.other.example/x", "https://gatehouse.test/"},
		{"absolute form, opaque with userinfo", "GET", "http:8443@other.example/x", "https://gatehouse.test/"},
		{"asterisk", "GET", "*", "https://gatehouse.test/"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			method := c.method
			conn, err := net.Dial("tcp", s.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(conn, method+" "+c.target+" HTTP/1.1\r\nHost: gatehouse.test\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != c.want {
				t.Fatalf("%s %s: %d Location %q, want 308 %q", method, c.target, resp.StatusCode, resp.Header.Get("Location"), c.want)
			}
		})
	}
}

// syncLog collects log lines for a test to wait on.
type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), s)
}

// TestCertificatesWatchSeesAWriteInProgress: a renewal that rewrites the
// certificate in place can be caught half written, and its last write can
// leave the modification time as it was (file times are coarse): the watch
// still loads the finished file.
func TestCertificatesWatchSeesAWriteInProgress(t *testing.T) {
	dir := t.TempDir()
	ca := apptest.NewTestCA(t)
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	first := ca.Issue(t, "gatehouse.test", cert, key)
	certs, err := httpx.LoadCertificates(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncLog
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go certs.Watch(ctx, 10*time.Millisecond, slog.New(slog.NewTextHandler(&logs, nil)))
	serving := func() string {
		c, _ := certs.GetCertificate(nil)
		return c.Leaf.SerialNumber.String()
	}

	newCert, newKey, renewed := ca.IssuePEM(t, "gatehouse.test")
	stamp := time.Now().Add(time.Minute).Truncate(time.Second)
	write := func(path string, b []byte) {
		t.Helper()
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, stamp, stamp); err != nil {
			t.Fatal(err)
		}
	}
	write(key, newKey)
	write(cert, newCert[:len(newCert)/2])
	for deadline := time.Now().Add(5 * time.Second); logs.count("TLS certificate not reloaded") == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the watch did not try the half-written pair")
		}
	}
	if serving() != first.String() {
		t.Fatal("a half-written certificate replaced the one served")
	}
	write(cert, newCert)
	for deadline := time.Now().Add(5 * time.Second); serving() != renewed.String(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("serving %s, not the finished renewal %s", serving(), renewed)
		}
	}
}

// TestCertificatesWatchFollowsASwappedLink: Kubernetes renews a secret
// volume by writing a new directory and swapping a link to it; the files
// named are links through that one. The renewed files here have the old
// ones' times and sizes, as files written within one tick of the clock
// file times use can: only their identity tells them apart.
func TestCertificatesWatchFollowsASwappedLink(t *testing.T) {
	dir := t.TempDir()
	ca := apptest.NewTestCA(t)
	stamp := time.Now().Truncate(time.Second)
	var sizes [2]int
	version := func(name string) *big.Int {
		t.Helper()
		if err := os.Mkdir(filepath.Join(dir, name), 0o700); err != nil {
			t.Fatal(err)
		}
		for range 100 {
			certPEM, keyPEM, sn := ca.IssuePEM(t, "gatehouse.test")
			if sizes[0] != 0 && (len(certPEM) != sizes[0] || len(keyPEM) != sizes[1]) {
				continue
			}
			sizes = [2]int{len(certPEM), len(keyPEM)}
			for f, b := range map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM} {
				path := filepath.Join(dir, name, f)
				if err := os.WriteFile(path, b, 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Chtimes(path, stamp, stamp); err != nil {
					t.Fatal(err)
				}
			}
			return sn
		}
		t.Fatal("no certificate of the same size")
		return nil
	}
	point := func(name string) {
		t.Helper()
		tmp := filepath.Join(dir, "..data_tmp")
		if err := os.Symlink(name, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	first := version("..v1")
	point("..v1")
	for _, f := range []string{"tls.crt", "tls.key"} {
		if err := os.Symlink(filepath.Join("..data", f), filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	certs, err := httpx.LoadCertificates(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go certs.Watch(ctx, 10*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if got := certs.Leaf().SerialNumber; got.Cmp(first) != 0 {
		t.Fatalf("serving %s, want %s", got, first)
	}
	renewed := version("..v2")
	point("..v2")
	for deadline := time.Now().Add(5 * time.Second); certs.Leaf().SerialNumber.Cmp(renewed) != 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("serving %s after the swap, want %s", certs.Leaf().SerialNumber, renewed)
		}
	}
}

// TestServerConnectTargets: only the base URL's host and port, however
// spelled, is tunnelled, and the tunnel ends at the TLS server in the
// process; every other form of target is refused.
func TestServerConnectTargets(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "in process") })
	s := startTLS(t, h, httpx.Timeouts{})
	cases := []struct {
		target, host string
		status       int
	}{
		{"gatehouse.test:443", "gatehouse.test:443", 200},
		{"GATEHOUSE.test:443", "", 200},
		{"gatehouse.test:0443", "", 200},
		{"gatehouse.test:443", "example.com:443", 200}, // the Host header does not count
		{"example.com:443", "gatehouse.test:443", 403},
		{"gatehouse.test.:443", "", 403},
		{"gatehouse.test", "", 403},
		{"gatehouse.test:8443", "", 403},
		{"gatehouse.test:65979", "", 403},
		{"http://gatehouse.test:443", "", 403},
		{"/gatehouse.test:443", "gatehouse.test:443", 403},
		{"127.0.0.1:443", "", 403},
		{"[::1]:443", "", 403},
		{"[::ffff:127.0.0.1]:443", "", 403},
		{s.addr, s.addr, 403},
		{"gatehouse%2etest:443", "", 400},
	}
	for _, c := range cases {
		t.Run(c.target+" Host "+c.host, func(t *testing.T) {
			conn, err := net.Dial("tcp", s.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			req := "CONNECT " + c.target + " HTTP/1.1\r\n"
			if c.host != "" {
				req += "Host: " + c.host + "\r\n"
			}
			io.WriteString(conn, req+"\r\n")
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, &http.Request{Method: "CONNECT"})
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != c.status {
				t.Fatalf("%d, want %d", resp.StatusCode, c.status)
			}
			if c.status != 200 {
				return
			}
			tc := tls.Client(&prefixed{conn, br}, &tls.Config{RootCAs: s.ca.Pool, ServerName: "gatehouse.test"})
			io.WriteString(tc, "GET / HTTP/1.1\r\nHost: gatehouse.test\r\n\r\n")
			resp, err = http.ReadResponse(bufio.NewReader(tc), nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			if string(b) != "in process" {
				t.Fatalf("through the tunnel: %d %s", resp.StatusCode, b)
			}
		})
	}
}

// prefixed reads what a bufio.Reader holds before the connection's rest.
type prefixed struct {
	net.Conn
	r *bufio.Reader
}

func (p *prefixed) Read(b []byte) (int, error) { return p.r.Read(b) }
