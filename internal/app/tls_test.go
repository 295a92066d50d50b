package app_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// adminCall gets an admin token with client and lists environments with
// it, both at base: the two things a PingOne client does first.
func adminCall(t *testing.T, client *http.Client, base string, admin map[string]string) {
	t.Helper()
	cc := clientcredentials.Config{ClientID: admin["clientId"], ClientSecret: admin["clientSecret"],
		TokenURL: base + "/" + admin["environmentId"] + "/as/token"}
	tok, err := cc.Token(context.WithValue(context.Background(), oauth2.HTTPClient, client))
	if err != nil {
		t.Fatalf("client_credentials at %s: %v", cc.TokenURL, err)
	}
	req, _ := http.NewRequest("GET", base+"/v1/environments", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Count int `json:"count"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != 200 || body.Count != 1 || resp.TLS == nil {
		t.Fatalf("GET /v1/environments: %d count %d tls %v", resp.StatusCode, body.Count, resp.TLS != nil)
	}
}

func readJSONFile(t *testing.T, path string) (map[string]string, []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, b)
	}
	return m, b
}

func adminOf(s *apptest.Server) map[string]string {
	return map[string]string{"environmentId": s.Admin.EnvironmentID, "clientId": s.Admin.ClientID, "clientSecret": s.Admin.ClientSecret}
}

func TestTLSWithGivenFiles(t *testing.T) {
	dir := t.TempDir()
	ca := apptest.NewTestCA(t)
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	ca.Issue(t, "127.0.0.1", cert, key)
	s := apptest.Start(t, apptest.Options{TLSCertFile: cert, TLSKeyFile: key, RootCAs: ca.Pool})
	if !strings.HasPrefix(s.URL, "https://127.0.0.1:") {
		t.Fatalf("base URL %s", s.URL)
	}
	// A client that trusts only the test CA.
	client := apptest.TLSClient(ca.Pool, s.URL, s.Addr)
	resp, err := client.Get(s.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Fatalf("/healthz: %d", resp.StatusCode)
	}
	adminCall(t, client, s.URL, adminOf(s))
	// The system's roots do not know the test CA: the certificate served
	// is the one given.
	if _, err := http.Get(s.URL + "/healthz"); !errors.As(err, new(x509.UnknownAuthorityError)) {
		t.Fatalf("a client without the CA: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, httpx.DevCAFile)); err == nil {
		t.Fatal("a development CA was made with given files")
	}
}

// TestTLSDevelopmentCA starts without TLS, then with --tls-dev three times:
// the CA is made beside the database, named in the bootstrap file (added to
// the existing file, nothing else in it changed), reused on the next start,
// and replaced by one for the new host when the base URL's host changes.
func TestTLSDevelopmentCA(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			dsn := b.DSN(t)
			bootDir := t.TempDir()
			devDir := bootDir
			if b.Name == "sqlite" {
				// Beside the database, not the bootstrap file.
				devDir = filepath.Dir(strings.TrimPrefix(dsn, "sqlite:"))
			}
			key := make([]byte, 32)
			rand.Read(key)
			bootFile := filepath.Join(bootDir, "gatehouse-admin.json")
			opts := apptest.Options{DSN: dsn, MasterKey: key, Dir: bootDir}

			plain := apptest.Start(t, opts)
			before, beforeRaw := readJSONFile(t, bootFile)
			plain.Stop()
			if before["caFile"] != "" {
				t.Fatalf("caFile without TLS: %v", before)
			}

			opts.TLSDev = true
			s := apptest.Start(t, opts)
			after, afterRaw := readJSONFile(t, bootFile)
			caFile := filepath.Join(devDir, httpx.DevCAFile)
			if after["caFile"] != caFile {
				t.Fatalf("caFile %q, want %q", after["caFile"], caFile)
			}
			// caFile appended and the base URL brought up to date (the
			// https one), the rest byte for byte as it was.
			quoted, _ := json.Marshal(caFile)
			want := strings.NewReplacer(
				`"authPath": "`+plain.URL+`"`, `"authPath": "`+s.URL+`"`,
				`"apiPath": "`+plain.URL+`/v1"`, `"apiPath": "`+s.URL+`/v1"`,
				`"consoleUrl": "`+plain.URL+`/console/"`, `"consoleUrl": "`+s.URL+`/console/"`,
			).Replace(strings.TrimSuffix(string(beforeRaw), "\n}\n")) + ",\n  \"caFile\": " + string(quoted) + "\n}\n"
			if plain.URL == s.URL || !strings.HasPrefix(s.URL, "https://") {
				t.Fatalf("base URLs %s and %s: the test needs the second to be another, https one", plain.URL, s.URL)
			}
			if string(afterRaw) != want {
				t.Fatalf("bootstrap file:\n%s\nwant:\n%s", afterRaw, want)
			}
			delete(after, "caFile")
			if len(after) != len(before) || len(before) != 9 {
				t.Fatalf("bootstrap file changed beyond caFile and the base URL:\n%v\n%v", before, after)
			}
			before["authPath"], before["apiPath"], before["consoleUrl"] = s.URL, s.URL+"/v1", s.URL+"/console/"
			for k, v := range before {
				if after[k] != v {
					t.Fatalf("bootstrap file's %s: %q, want %q", k, after[k], v)
				}
			}
			if st, err := os.Stat(bootFile); err != nil || st.Mode().Perm() != 0o600 {
				t.Fatalf("bootstrap file mode: %v %v", err, st.Mode())
			}
			for name, mode := range map[string]os.FileMode{httpx.DevCAFile: 0o644, httpx.DevCAKeyFile: 0o600,
				httpx.DevCertFile: 0o644, httpx.DevCertKeyFile: 0o600} {
				st, err := os.Stat(filepath.Join(devDir, name))
				if err != nil || st.Mode().Perm() != mode {
					t.Fatalf("%s: %v mode %v, want %v", name, err, st.Mode().Perm(), mode)
				}
			}
			caPEM, err := os.ReadFile(caFile)
			if err != nil {
				t.Fatal(err)
			}
			roots := x509.NewCertPool()
			if !roots.AppendCertsFromPEM(caPEM) {
				t.Fatal("caFile holds no certificate")
			}
			// A client trusting only that CA (what SSL_CERT_FILE does).
			adminCall(t, apptest.TLSClient(roots, s.URL, s.Addr), s.URL, adminOf(s))
			leaf1 := apptest.ServedCertificate(t, s.Addr, "127.0.0.1", roots)
			s.Stop()

			// Same host: the same CA and the same certificate.
			s = apptest.Start(t, opts)
			if b, _ := os.ReadFile(caFile); string(b) != string(caPEM) {
				t.Fatal("the CA changed on restart")
			}
			if s.Admin.CAFile != caFile {
				t.Fatalf("caFile %q", s.Admin.CAFile)
			}
			leaf2 := apptest.ServedCertificate(t, s.Addr, "127.0.0.1", roots)
			if !leaf2.Equal(leaf1) {
				t.Fatal("the certificate was issued again for the same host")
			}
			adminCall(t, apptest.TLSClient(roots, s.URL, s.Addr), s.URL, adminOf(s))
			s.Stop()

			// Another host: the CA can issue for its own host only, so a
			// new one, at the same path, issues the certificate (reached
			// through CONNECT since gatehouse.test resolves nowhere). The
			// old CA is not trusted for it.
			opts.BaseURL = "https://gatehouse.test"
			s = apptest.Start(t, opts)
			caPEM3, err := os.ReadFile(caFile)
			if err != nil || string(caPEM3) == string(caPEM) {
				t.Fatalf("the CA did not change with the host: %v", err)
			}
			if after, _ := readJSONFile(t, bootFile); after["caFile"] != caFile {
				t.Fatalf("caFile %q, want %q", after["caFile"], caFile)
			}
			c, err := tls.Dial("tcp", s.Addr, &tls.Config{ServerName: "gatehouse.test", RootCAs: roots})
			if err == nil {
				c.Close()
				t.Fatal("the previous host's CA is trusted for the new host")
			}
			roots3 := x509.NewCertPool()
			roots3.AppendCertsFromPEM(caPEM3)
			leaf3 := apptest.ServedCertificate(t, s.Addr, "gatehouse.test", roots3)
			if leaf3.Equal(leaf1) || len(leaf3.DNSNames) != 1 || leaf3.DNSNames[0] != "gatehouse.test" || len(leaf3.IPAddresses) != 0 {
				t.Fatalf("certificate for gatehouse.test: %v %v", leaf3.DNSNames, leaf3.IPAddresses)
			}
			adminCall(t, apptest.TLSClient(roots3, s.URL, s.Addr), s.URL, adminOf(s))
		})
	}
}

// TestTLSReloadOnFileChange renews the certificate files under a running
// server: the watch serves the new pair, keeps the current one when the new
// files do not make a pair, and picks up the next good pair.
func TestTLSReloadOnFileChange(t *testing.T) {
	dir := t.TempDir()
	ca := apptest.NewTestCA(t)
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	first := ca.Issue(t, "127.0.0.1", cert, key)
	s := apptest.Start(t, apptest.Options{TLSCertFile: cert, TLSKeyFile: key, RootCAs: ca.Pool, TLSReloadInterval: 20 * time.Millisecond})
	served := func() string { return apptest.ServedCertificate(t, s.Addr, "127.0.0.1", ca.Pool).SerialNumber.String() }
	waitServed := func(want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for served() != want {
			if time.Now().After(deadline) {
				t.Fatalf("serving %s, want %s", served(), want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if got := served(); got != first.String() {
		t.Fatalf("serving %s, want %s", got, first)
	}

	renewed := ca.Issue(t, "127.0.0.1", cert, key)
	waitServed(renewed.String())

	// A certificate with another pair's key, then garbage: neither loads.
	otherCert, _, _ := ca.IssuePEM(t, "127.0.0.1")
	os.WriteFile(cert, otherCert, 0o644)
	time.Sleep(300 * time.Millisecond)
	if got := served(); got != renewed.String() {
		t.Fatalf("a mismatched pair replaced the certificate: %s", got)
	}
	if err := s.ReloadTLS("test"); err == nil {
		t.Fatal("reload of a mismatched pair succeeded")
	}
	os.WriteFile(key, []byte("not a key"), 0o600)
	time.Sleep(300 * time.Millisecond)
	if got := served(); got != renewed.String() {
		t.Fatalf("a broken key replaced the certificate: %s", got)
	}
	adminCall(t, s.Client, s.URL, adminOf(s))

	third := ca.Issue(t, "127.0.0.1", cert, key)
	waitServed(third.String())
}

// connectRaw sends a CONNECT for target over a fresh connection to addr
// and returns the response.
func connectRaw(t *testing.T, addr, target, host string) (*http.Response, []byte) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "CONNECT "+target+" HTTP/1.1\r\nHost: "+host+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: "CONNECT"})
	if err != nil {
		t.Fatalf("CONNECT %s: %v", target, err)
	}
	var body []byte
	if resp.StatusCode != 200 {
		body, _ = io.ReadAll(resp.Body)
	}
	return resp, body
}

// TestConnect is how PingOne's Terraform provider reaches Gatehouse: it
// speaks https to a dotted host name without a port, through
// HTTPS_PROXY=http://<listen address>. Only that host and port are
// tunnelled, to the TLS server in the process; anything else is 403 and
// no connection is made.
func TestConnect(t *testing.T) {
	dir := t.TempDir()
	ca := apptest.NewTestCA(t)
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	ca.Issue(t, "gatehouse.test", cert, key)
	s := apptest.Start(t, apptest.Options{TLSCertFile: cert, TLSKeyFile: key, RootCAs: ca.Pool, BaseURL: "https://gatehouse.test"})

	tr := &http.Transport{Proxy: http.ProxyURL(mustURL(t, "http://"+s.Addr)), TLSClientConfig: &tls.Config{RootCAs: ca.Pool}}
	client := &http.Client{Transport: tr}
	adminCall(t, client, "https://gatehouse.test", adminOf(s))
	tr.CloseIdleConnections()

	// A service that records whether anything connected to it.
	var accepts atomic.Int32
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	go func() {
		for {
			c, err := inner.Accept()
			if err != nil {
				return
			}
			accepts.Add(1)
			c.Close()
		}
	}()

	cases := []struct{ name, target, host string }{
		{"another host", "example.com:443", "example.com:443"},
		{"the base host on another port", "gatehouse.test:8443", "gatehouse.test:8443"},
		{"the listener's own address", s.Addr, s.Addr},
		{"an internal service", inner.Addr().String(), inner.Addr().String()},
		{"the database", "127.0.0.1:5432", "127.0.0.1:5432"},
		{"no port", "gatehouse.test", "gatehouse.test"},
		{"another host with the base host in Host", "example.com:443", "gatehouse.test:443"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := connectRaw(t, s.Addr, c.target, c.host)
			var e struct{ ID, Code, Message string }
			json.Unmarshal(body, &e)
			if resp.StatusCode != 403 || e.Code != "ACCESS_FAILED" || e.ID == "" ||
				!strings.Contains(e.Message, "gatehouse.test:443") || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("CONNECT %s: %d %s", c.target, resp.StatusCode, body)
			}
		})
	}
	t.Run("the base host in capitals", func(t *testing.T) {
		resp, _ := connectRaw(t, s.Addr, "GATEHOUSE.TEST:443", "GATEHOUSE.TEST:443")
		if resp.StatusCode != 200 {
			t.Fatalf("CONNECT: %d", resp.StatusCode)
		}
	})
	time.Sleep(200 * time.Millisecond)
	if n := accepts.Load(); n != 0 {
		t.Fatalf("the internal service saw %d connections", n)
	}
	// The recorder does record.
	if c, err := net.Dial("tcp", inner.Addr().String()); err == nil {
		c.Close()
	}
	for deadline := time.Now().Add(5 * time.Second); accepts.Load() != 1; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the recorder records nothing")
		}
	}

	// Plain requests that are not CONNECT: GET is sent to https, the rest
	// is told to use https.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get("http://" + s.Addr + "/v1/environments?limit=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 308 || resp.Header.Get("Location") != "https://gatehouse.test/v1/environments?limit=1" {
		t.Fatalf("plain GET: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = http.Post("http://"+s.Addr+"/"+s.Admin.EnvironmentID+"/as/token", "application/x-www-form-urlencoded",
		strings.NewReader("grant_type=client_credentials"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var e struct{ ID, Code, Message string }
	json.Unmarshal(body, &e)
	if resp.StatusCode != 400 || e.Code != "INVALID_REQUEST" || e.ID == "" || !strings.Contains(e.Message, "https://gatehouse.test") {
		t.Fatalf("plain POST: %d %s", resp.StatusCode, body)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
