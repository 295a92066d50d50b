package main_test

import (
	"context"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

func waitReadyTLS(t *testing.T, p *proc, client *http.Client, base string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			t.Fatalf("gatehouse exited: %v\n%s", p.err, p.stderr)
		default:
		}
		resp, err := client.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 && resp.TLS != nil {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("gatehouse not ready over https\n%s", p.stderr)
}

// adminOverTLS gets an admin token and reads the admin environment with
// client, trusting only the CA it was given.
func adminOverTLS(t *testing.T, client *http.Client, a adminFile) {
	t.Helper()
	cc := clientcredentials.Config{ClientID: a.ClientID, ClientSecret: a.ClientSecret, TokenURL: a.AuthPath + "/" + a.EnvironmentID + "/as/token"}
	tok, err := cc.Token(context.WithValue(context.Background(), oauth2.HTTPClient, client))
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	req, _ := http.NewRequest("GET", a.APIPath+"/environments/"+a.EnvironmentID, nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET environment: %d", resp.StatusCode)
	}
}

func TestTLSFlags(t *testing.T) {
	sqliteMemory := []string{"--db", "sqlite::memory:"}
	badStarts(t, t.TempDir(), sqliteMemory, []badStart{
		{"certificate without key", nil, []string{"--tls-cert", "cert.pem"}, "--tls-cert and --tls-key go together"},
		{"key without certificate", []string{"GATEHOUSE_TLS_KEY=key.pem"}, nil, "--tls-cert and --tls-key go together"},
		{"development and given files", nil, []string{"--tls-dev", "--tls-cert", "cert.pem", "--tls-key", "key.pem"},
			"use --tls-dev or --tls-cert with --tls-key, not both"},
		{"development and given files by env", []string{"GATEHOUSE_TLS_DEV=true", "GATEHOUSE_TLS_CERT=cert.pem", "GATEHOUSE_TLS_KEY=key.pem"}, nil,
			"use --tls-dev or --tls-cert with --tls-key, not both"},
		{"not a boolean", []string{"GATEHOUSE_TLS_DEV=yes"}, nil, `GATEHOUSE_TLS_DEV must be true or false, not "yes"`},
		{"http base URL", nil, []string{"--tls-dev", "--base-url", "http://127.0.0.1:8080"}, "--base-url must be https://"},
		{"missing files", nil, []string{"--tls-cert", "missing-cert.pem", "--tls-key", "missing-key.pem"}, "missing-cert.pem"},
	})
}

// TestTLSGivenFilesAndSIGHUP serves given files (from the env vars) at the
// default base URL, https:// + the listen address, and swaps in a renewed
// pair on SIGHUP: the log must say the signal, not the file watch, loaded
// it (the renewed files also keep the old modification times, which slows
// the watch down).
func TestTLSGivenFilesAndSIGHUP(t *testing.T) {
	dir := t.TempDir()
	ca := apptest.NewTestCA(t)
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	first := ca.Issue(t, "127.0.0.1", cert, key)
	addr := freeAddr(t)
	base := "https://" + addr
	p := start(t, dir, []string{"GATEHOUSE_TLS_CERT=" + cert, "GATEHOUSE_TLS_KEY=" + key}, "--listen", addr)
	client := apptest.TLSClient(ca.Pool, base, addr)
	waitReadyTLS(t, p, client, base)
	admin, raw := readAdmin(t, filepath.Join(dir, "gatehouse-admin.json"))
	if admin.AuthPath != base || admin.APIPath != base+"/v1" || strings.Contains(string(raw), "caFile") {
		t.Fatalf("bootstrap file: %s", raw)
	}
	adminOverTLS(t, client, admin)
	served := func() string { return apptest.ServedCertificate(t, addr, "127.0.0.1", ca.Pool).SerialNumber.String() }
	if got := served(); got != first.String() {
		t.Fatalf("serving %s, want %s", got, first)
	}

	keepTimes := func(write func()) {
		t.Helper()
		stc, _ := os.Stat(cert)
		stk, _ := os.Stat(key)
		write()
		os.Chtimes(cert, stc.ModTime(), stc.ModTime())
		os.Chtimes(key, stk.ModTime(), stk.ModTime())
	}
	hupUntil := func(log string, n int) {
		t.Helper()
		p.cmd.Process.Signal(syscall.SIGHUP)
		for deadline := time.Now().Add(10 * time.Second); strings.Count(p.stderr.String(), log) < n; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in the log:\n%s", log, p.stderr)
			}
		}
	}
	var renewed string
	keepTimes(func() { renewed = ca.Issue(t, "127.0.0.1", cert, key).String() })
	hupUntil("TLS certificate reloaded (SIGHUP)", 1)
	if got := served(); got != renewed {
		t.Fatalf("after SIGHUP serving %s, want %s", got, renewed)
	}

	// A certificate whose key is another's: the current pair stays.
	other, _, _ := ca.IssuePEM(t, "127.0.0.1")
	keepTimes(func() { os.WriteFile(cert, other, 0o644) })
	hupUntil("TLS certificate not reloaded (SIGHUP)", 1)
	if got := served(); got != renewed {
		t.Fatalf("after a bad pair serving %s, want %s", got, renewed)
	}
	adminOverTLS(t, client, admin)
	stop(t, p)
}

// TestTLSDevBinary: --tls-dev keeps its CA beside the database and names it
// in the bootstrap file and the log; a client trusting only that CA works,
// on a restart too (GATEHOUSE_TLS_DEV), and a new CA for a base URL whose
// host resolves nowhere works through CONNECT (the HTTPS_PROXY case).
func TestTLSDevBinary(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "data"), 0o700)
	addr := freeAddr(t)
	base := "https://" + addr
	args := []string{"--listen", addr, "--db", "sqlite:data/gatehouse.db"}
	p := start(t, dir, nil, append(args, "--tls-dev")...)
	caFile := filepath.Join(dir, "data", "gatehouse-dev-ca.pem")
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(p.stderr.String(), "SSL_CERT_FILE="+caFile); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no SSL_CERT_FILE hint in the log:\n%s", p.stderr)
		}
	}
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	client := apptest.TLSClient(roots, base, addr)
	waitReadyTLS(t, p, client, base)
	admin, raw := readAdmin(t, filepath.Join(dir, "gatehouse-admin.json"))
	if admin.AuthPath != base || !strings.Contains(string(raw), `"caFile": "`+caFile+`"`) {
		t.Fatalf("bootstrap file: %s", raw)
	}
	adminOverTLS(t, client, admin)
	stop(t, p)

	// The same host again: the same CA.
	p = start(t, dir, []string{"GATEHOUSE_TLS_DEV=true"}, args...)
	waitReadyTLS(t, p, client, base)
	if b, _ := os.ReadFile(caFile); string(b) != string(caPEM) {
		t.Fatal("the CA changed on restart")
	}
	adminOverTLS(t, client, admin)
	stop(t, p)

	// Another host: the CA is limited to its host, so a new one replaces
	// it at the same path (what SSL_CERT_FILE names), and the log says so.
	p = start(t, dir, []string{"GATEHOUSE_TLS_DEV=true", "GATEHOUSE_BASE_URL=https://gatehouse.test"}, args...)
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(p.stderr.String(), "gatehouse listening"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not listening:\n%s", p.stderr)
		}
	}
	if !strings.Contains(p.stderr.String(), "made a new CA, replacing the one there (it could not issue a certificate for gatehouse.test)") {
		t.Fatalf("no word of the new CA in the log:\n%s", p.stderr)
	}
	caPEM2, err := os.ReadFile(caFile)
	if err != nil || string(caPEM2) == string(caPEM) {
		t.Fatalf("the CA did not change with the host: %v", err)
	}
	roots = x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM2)
	client = apptest.TLSClient(roots, "https://gatehouse.test", addr)
	if client.Transport.(*http.Transport).Proxy == nil {
		t.Fatal("the client does not use the listener as its proxy")
	}
	waitReadyTLS(t, p, client, "https://gatehouse.test")
	admin.AuthPath, admin.APIPath = "https://gatehouse.test", "https://gatehouse.test/v1"
	adminOverTLS(t, client, admin)
	stop(t, p)
}
