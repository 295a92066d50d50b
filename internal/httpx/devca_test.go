package httpx_test

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
)

func readCert(t *testing.T, path string) (*x509.Certificate, []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := pem.Decode(b)
	if p == nil {
		t.Fatalf("%s: no PEM", path)
	}
	c, err := x509.ParseCertificate(p.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c, b
}

// verifies tells whether the leaf in dir is valid for host at now, issued
// by the CA in dir, and loads as a TLS key pair.
func verifies(t *testing.T, dir, host string, now time.Time) error {
	t.Helper()
	ca, _ := readCert(t, filepath.Join(dir, httpx.DevCAFile))
	leaf, _ := readCert(t, filepath.Join(dir, httpx.DevCertFile))
	if _, err := httpx.LoadCertificates(filepath.Join(dir, httpx.DevCertFile), filepath.Join(dir, httpx.DevCertKeyFile)); err != nil {
		return err
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: host, CurrentTime: now})
	return err
}

func TestDevCertificate(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	d, err := httpx.EnsureDevCertificate(dir, "gatehouse.test", now)
	if err != nil || !d.NewCA || !d.NewCert {
		t.Fatalf("first: %+v %v", d, err)
	}
	if d.CAFile != filepath.Join(dir, httpx.DevCAFile) || d.CertFile != filepath.Join(dir, httpx.DevCertFile) ||
		d.KeyFile != filepath.Join(dir, httpx.DevCertKeyFile) {
		t.Fatalf("files %+v", d)
	}
	for name, mode := range map[string]os.FileMode{httpx.DevCAFile: 0o644, httpx.DevCAKeyFile: 0o600,
		httpx.DevCertFile: 0o644, httpx.DevCertKeyFile: 0o600} {
		if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.Mode().Perm() != mode {
			t.Fatalf("%s: %v %v", name, err, st.Mode())
		}
	}
	ca, caPEM := readCert(t, d.CAFile)
	leaf, leafPEM := readCert(t, d.CertFile)
	if !ca.IsCA || !ca.MaxPathLenZero || !strings.HasPrefix(ca.Subject.CommonName, "Gatehouse development CA ") {
		t.Fatalf("CA %+v", ca.Subject)
	}
	if len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != "gatehouse.test" || len(leaf.IPAddresses) != 0 || leaf.IsCA ||
		leaf.NotAfter.Sub(now) > 398*24*time.Hour {
		t.Fatalf("leaf %v %v %v", leaf.DNSNames, leaf.IPAddresses, leaf.NotAfter)
	}
	if err := verifies(t, dir, "gatehouse.test", now); err != nil {
		t.Fatal(err)
	}
	if verifies(t, dir, "other.test", now) == nil {
		t.Fatal("the leaf verifies for another host")
	}

	// The same host a day later: nothing new.
	d, err = httpx.EnsureDevCertificate(dir, "gatehouse.test", now.Add(24*time.Hour))
	if err != nil || d.NewCA || d.NewCert {
		t.Fatalf("again: %+v %v", d, err)
	}
	if _, b := readCert(t, d.CertFile); !bytes.Equal(b, leafPEM) {
		t.Fatal("the leaf was replaced")
	}

	cases := []struct {
		name string
		host string
		now  time.Time
	}{
		{"another host", "other.test", now},
		{"an IP address", "127.0.0.1", now},
		{"an IPv6 address", "::1", now},
		{"near expiry", "::1", now.Add(380 * 24 * time.Hour)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, before := readCert(t, d.CertFile)
			d, err := httpx.EnsureDevCertificate(dir, c.host, c.now)
			if err != nil || d.NewCA || !d.NewCert {
				t.Fatalf("%+v %v", d, err)
			}
			if _, b := readCert(t, d.CAFile); !bytes.Equal(b, caPEM) {
				t.Fatal("the CA was replaced")
			}
			if _, b := readCert(t, d.CertFile); bytes.Equal(b, before) {
				t.Fatal("the leaf was not replaced")
			}
			if err := verifies(t, dir, c.host, c.now); err != nil {
				t.Fatal(err)
			}
			leaf, _ := readCert(t, d.CertFile)
			if len(leaf.IPAddresses)+len(leaf.DNSNames) != 1 {
				t.Fatalf("SANs %v %v", leaf.DNSNames, leaf.IPAddresses)
			}
		})
	}

	// A leaf some other CA issued is replaced by one from this CA.
	other := t.TempDir()
	if _, err := httpx.EnsureDevCertificate(other, "gatehouse.test", now); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{httpx.DevCertFile, httpx.DevCertKeyFile} {
		b, _ := os.ReadFile(filepath.Join(other, f))
		os.WriteFile(filepath.Join(dir, f), b, 0o600)
	}
	if d, err := httpx.EnsureDevCertificate(dir, "gatehouse.test", now); err != nil || !d.NewCert || d.NewCA {
		t.Fatalf("foreign leaf: %+v %v", d, err)
	}
	if err := verifies(t, dir, "gatehouse.test", now); err != nil {
		t.Fatal(err)
	}

	// A CA near its end is replaced; a damaged one is an error, never
	// silently replaced (clients trust it).
	late := now.Add(10*365*24*time.Hour - 10*24*time.Hour)
	if d, err := httpx.EnsureDevCertificate(dir, "gatehouse.test", late); err != nil || !d.NewCA || !d.NewCert {
		t.Fatalf("expiring CA: %+v %v", d, err)
	}
	if err := verifies(t, dir, "gatehouse.test", late); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, httpx.DevCAKeyFile), []byte("damaged"), 0o600)
	_, caNow := readCert(t, filepath.Join(dir, httpx.DevCAFile))
	if _, err := httpx.EnsureDevCertificate(dir, "gatehouse.test", late); err == nil || !strings.Contains(err.Error(), "to make a new CA") {
		t.Fatalf("damaged CA key: %v", err)
	}
	if _, b := readCert(t, filepath.Join(dir, httpx.DevCAFile)); !bytes.Equal(b, caNow) {
		t.Fatal("a damaged CA was replaced")
	}
	if _, err := httpx.EnsureDevCertificate(t.TempDir(), "", now); err == nil {
		t.Fatal("no host accepted")
	}
}

// TestDevCertificateConcurrentStarts: starts that share a directory and run
// at once end with one CA, made by one of them, and a certificate it
// issued; none fails.
func TestDevCertificateConcurrentStarts(t *testing.T) {
	now := time.Now()
	for round := range 10 {
		dir := t.TempDir()
		results := make([]httpx.DevTLS, 6)
		errs := make([]error, len(results))
		var wg sync.WaitGroup
		for i := range results {
			wg.Go(func() { results[i], errs[i] = httpx.EnsureDevCertificate(dir, "gatehouse.test", now) })
		}
		wg.Wait()
		newCA := 0
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d, start %d: %v", round, i, err)
			}
			if results[i].NewCA {
				newCA++
			}
		}
		if newCA != 1 {
			t.Fatalf("round %d: %d starts made a CA", round, newCA)
		}
		if err := verifies(t, dir, "gatehouse.test", now); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if d, err := httpx.EnsureDevCertificate(dir, "gatehouse.test", now); err != nil || d.NewCA || d.NewCert {
			t.Fatalf("round %d, the next start: %+v %v", round, d, err)
		}
	}
}
