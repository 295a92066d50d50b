package httpx_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
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

// issueWith signs a server certificate for name (a DNS name or an IP
// address) with the CA key in dir, as whoever got hold of that key could.
func issueWith(t *testing.T, dir, name string) *x509.Certificate {
	t.Helper()
	ca, _ := readCert(t, filepath.Join(dir, httpx.DevCAFile))
	kb, err := os.ReadFile(filepath.Join(dir, httpx.DevCAKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := pem.Decode(kb)
	caKey, err := x509.ParsePKCS8PrivateKey(p.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	if ip := net.ParseIP(name); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{name}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return cert
}

// verifyUnder verifies cert for name against the CA in dir alone.
func verifyUnder(t *testing.T, dir string, cert *x509.Certificate, name string) error {
	t.Helper()
	ca, _ := readCert(t, filepath.Join(dir, httpx.DevCAFile))
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	_, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: name})
	return err
}

func TestDevCertificate(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	d, err := httpx.EnsureDevCertificate(dir, "gatehouse.test", now)
	if err != nil || !d.NewCA || !d.NewCert || d.ReplacedCA != "" {
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
	if !ca.IsCA || !ca.MaxPathLenZero || !strings.HasPrefix(ca.Subject.CommonName, "Gatehouse development CA ") ||
		!strings.HasSuffix(ca.Subject.CommonName, " for gatehouse.test") {
		t.Fatalf("CA %+v", ca.Subject)
	}
	if len(ca.ExtKeyUsage) != 1 || ca.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth || !ca.PermittedDNSDomainsCritical ||
		fmt.Sprint(ca.PermittedDNSDomains, ca.ExcludedIPRanges) != "[gatehouse.test] [0.0.0.0/0 ::/0]" {
		t.Fatalf("CA's limits: %v %v %v %v", ca.ExtKeyUsage, ca.PermittedDNSDomainsCritical, ca.PermittedDNSDomains, ca.ExcludedIPRanges)
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

	// The same host a day later, in capitals or with a final dot too:
	// nothing new.
	for _, host := range []string{"gatehouse.test", "GATEHOUSE.TEST", "gatehouse.test."} {
		d, err = httpx.EnsureDevCertificate(dir, host, now.Add(24*time.Hour))
		if err != nil || d.NewCA || d.NewCert {
			t.Fatalf("again as %s: %+v %v", host, d, err)
		}
	}
	if _, b := readCert(t, d.CertFile); !bytes.Equal(b, leafPEM) {
		t.Fatal("the leaf was replaced")
	}

	// A leaf near expiry, or one some other CA issued, is replaced by one
	// from this CA.
	other := t.TempDir()
	if _, err := httpx.EnsureDevCertificate(other, "gatehouse.test", now); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		now  time.Time
		prep func()
	}{
		{"near expiry", now.Add(380 * 24 * time.Hour), func() {}},
		{"issued by another CA", now, func() {
			for _, f := range []string{httpx.DevCertFile, httpx.DevCertKeyFile} {
				b, _ := os.ReadFile(filepath.Join(other, f))
				os.WriteFile(filepath.Join(dir, f), b, 0o600)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.prep()
			_, before := readCert(t, d.CertFile)
			d, err := httpx.EnsureDevCertificate(dir, "gatehouse.test", c.now)
			if err != nil || d.NewCA || !d.NewCert {
				t.Fatalf("%+v %v", d, err)
			}
			if _, b := readCert(t, d.CAFile); !bytes.Equal(b, caPEM) {
				t.Fatal("the CA was replaced")
			}
			if _, b := readCert(t, d.CertFile); bytes.Equal(b, before) {
				t.Fatal("the leaf was not replaced")
			}
			if err := verifies(t, dir, "gatehouse.test", c.now); err != nil {
				t.Fatal(err)
			}
		})
	}

	// Another host: a CA limited to it replaces the one limited to the
	// previous host, and issues the certificate.
	for _, host := range []string{"other.test", "127.0.0.1", "::1", "gatehouse.test"} {
		t.Run("host "+host, func(t *testing.T) {
			_, before := readCert(t, d.CAFile)
			d, err := httpx.EnsureDevCertificate(dir, host, now)
			if err != nil || !d.NewCA || !d.NewCert || d.ReplacedCA != "it could not issue a certificate for "+host {
				t.Fatalf("%+v %v", d, err)
			}
			if _, b := readCert(t, d.CAFile); bytes.Equal(b, before) {
				t.Fatal("the CA was not replaced")
			}
			if err := verifies(t, dir, host, now); err != nil {
				t.Fatal(err)
			}
			leaf, _ := readCert(t, d.CertFile)
			if len(leaf.IPAddresses)+len(leaf.DNSNames) != 1 {
				t.Fatalf("SANs %v %v", leaf.DNSNames, leaf.IPAddresses)
			}
			if d, err := httpx.EnsureDevCertificate(dir, host, now); err != nil || d.NewCA || d.NewCert {
				t.Fatalf("again: %+v %v", d, err)
			}
		})
	}

	// A CA that names no host (as made before CAs were limited) is
	// replaced.
	unlimited(t, dir, now)
	if d, err := httpx.EnsureDevCertificate(dir, "gatehouse.test", now); err != nil || !d.NewCA || !d.NewCert ||
		d.ReplacedCA != "it could not issue a certificate for gatehouse.test" {
		t.Fatalf("unlimited CA: %+v %v", d, err)
	}
	if err := verifies(t, dir, "gatehouse.test", now); err != nil {
		t.Fatal(err)
	}

	// A CA near its end is replaced; a damaged one is an error, never
	// silently replaced (clients trust it).
	late := now.Add(10*365*24*time.Hour - 10*24*time.Hour)
	if d, err := httpx.EnsureDevCertificate(dir, "gatehouse.test", late); err != nil || !d.NewCA || !d.NewCert ||
		d.ReplacedCA != "it was near its end" {
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

// unlimited writes a ten-year CA without name constraints to dir.
func unlimited(t *testing.T, dir string, now time.Time) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Gatehouse development CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true, MaxPathLenZero: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	os.WriteFile(filepath.Join(dir, httpx.DevCAFile), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(filepath.Join(dir, httpx.DevCAKeyFile), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
}

// TestDevCANameConstraints: what the development CA's key can sign is
// trusted for the base URL's host alone (and, for a DNS name, the names
// under it): a leaked key is no use against any other site.
func TestDevCANameConstraints(t *testing.T) {
	cases := []struct {
		host    string
		trusted []string
		refused []string
	}{
		{"gatehouse.test", []string{"gatehouse.test", "api.gatehouse.test"},
			[]string{"other.test", "www.example.com", "gatehouse.test.example.com", "xgatehouse.test", "127.0.0.1", "10.0.0.1", "::1"}},
		{"localhost", []string{"localhost"}, []string{"example.com", "127.0.0.1", "::1"}},
		{"127.0.0.1", []string{"127.0.0.1"}, []string{"127.0.0.2", "10.0.0.1", "::1", "::ffff:127.0.0.2", "localhost", "example.com"}},
		{"::1", []string{"::1"}, []string{"::2", "127.0.0.1", "localhost", "example.com"}},
	}
	for _, c := range cases {
		t.Run(c.host, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := httpx.EnsureDevCertificate(dir, c.host, time.Now()); err != nil {
				t.Fatal(err)
			}
			for _, name := range c.trusted {
				if err := verifyUnder(t, dir, issueWith(t, dir, name), name); err != nil {
					t.Errorf("%s: %v", name, err)
				}
			}
			for _, name := range c.refused {
				err := verifyUnder(t, dir, issueWith(t, dir, name), name)
				if _, ok := err.(x509.CertificateInvalidError); !ok {
					t.Errorf("%s: trusted (%v)", name, err)
				}
			}
		})
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
