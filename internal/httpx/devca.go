package httpx

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The development CA's files, in the directory it is kept in.
const (
	DevCAFile      = "gatehouse-dev-ca.pem"
	DevCAKeyFile   = "gatehouse-dev-ca-key.pem"
	DevCertFile    = "gatehouse-dev-cert.pem"
	DevCertKeyFile = "gatehouse-dev-key.pem"
	// devLockFile serialises starts that share the directory.
	devLockFile = "gatehouse-dev-ca.lock"
)

const (
	devCAValidity = 10 * 365 * 24 * time.Hour
	// devLeafValidity stays under the 398 days some TLS clients accept for
	// a server certificate, whoever issued it.
	devLeafValidity = 397 * 24 * time.Hour
	// devRenewBefore is how long before expiry a start replaces a
	// certificate, so that a running server does not reach expiry soon.
	devRenewBefore = 30 * 24 * time.Hour
	// devCARenewBefore replaces the CA while it can still cover a whole
	// certificate's life.
	devCARenewBefore = devLeafValidity + devRenewBefore
)

// DevTLS is where the development CA and the certificate it issued are, and
// what this start had to make.
type DevTLS struct {
	CAFile, CertFile, KeyFile string
	NewCA, NewCert            bool
	// ReplacedCA says why the CA that was there was replaced by a new one
	// (clients that trusted it must trust the new one); "" if it was not.
	ReplacedCA string
}

// EnsureDevCertificate makes sure dir holds a development CA and a
// certificate for host (a DNS name or an IP address) issued by it.
//
// The CA can issue for host alone (name constraints: a DNS name and the
// names under it, or that one IP address), so that its key, if it leaks,
// cannot be used against any other site a machine that trusts it visits.
// It is made once and reused while the host stays the same, so that a
// client told to trust it once keeps trusting the server; another host gets
// a new CA. The certificate is issued again when it does not name host, is
// near expiry, or was not issued by the CA. Private keys are written with
// mode 0600.
func EnsureDevCertificate(dir, host string, now time.Time) (DevTLS, error) {
	d := DevTLS{CAFile: filepath.Join(dir, DevCAFile), CertFile: filepath.Join(dir, DevCertFile), KeyFile: filepath.Join(dir, DevCertKeyFile)}
	if host == "" {
		return d, errors.New("development TLS: the base URL has no host")
	}
	// One spelling of the name: clients verify a certificate for
	// "gatehouse.test." against "gatehouse.test", and a name constraint
	// cannot end in a dot.
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	// Two starts at once (two nodes, or a restart that overlaps) would
	// each make a CA, and could leave one's key beside the other's
	// certificate: one at a time, the second finds what the first made.
	unlock, err := lockFile(filepath.Join(dir, devLockFile))
	if err != nil {
		return d, fmt.Errorf("development TLS: %w", err)
	}
	defer unlock()
	caKeyFile := filepath.Join(dir, DevCAKeyFile)
	ca, caKey, replace, err := loadDevCA(d.CAFile, caKeyFile, host, now)
	if errors.Is(err, fs.ErrNotExist) || replace != "" {
		ca, caKey, err = makeDevCA(d.CAFile, caKeyFile, host, now)
		d.NewCA, d.ReplacedCA = true, replace
	}
	if err != nil {
		return d, fmt.Errorf("development CA: %w", err)
	}
	if d.NewCA || !devCertValid(d.CertFile, d.KeyFile, ca, host, now) {
		if err := issueDevCert(d.CertFile, d.KeyFile, ca, caKey, host, now); err != nil {
			return d, fmt.Errorf("development certificate: %w", err)
		}
		d.NewCert = true
	}
	return d, nil
}

// loadDevCA reads the CA. fs.ErrNotExist means there is none: make one.
// A CA that cannot serve (too close to its end to issue a whole
// certificate, or not limited to host) comes with why it is to be
// replaced. A CA that is there but does not load is an error, not a reason
// to replace it silently: clients trust it.
func loadDevCA(certFile, keyFile, host string, now time.Time) (*x509.Certificate, crypto.Signer, string, error) {
	_, errC := os.Stat(certFile)
	_, errK := os.Stat(keyFile)
	if errors.Is(errC, fs.ErrNotExist) && errors.Is(errK, fs.ErrNotExist) {
		return nil, nil, "", fs.ErrNotExist
	}
	cert, key, err := loadPair(certFile, keyFile)
	if err != nil {
		return nil, nil, "", fmt.Errorf("%w (remove %s and %s to make a new CA)", err, certFile, keyFile)
	}
	switch {
	case !cert.IsCA:
		return nil, nil, "it is not a CA", nil
	case !now.Add(devCARenewBefore).Before(cert.NotAfter):
		return nil, nil, "it was near its end", nil
	case !devCAFor(cert, host):
		return nil, nil, "it could not issue a certificate for " + host, nil
	}
	return cert, key, "", nil
}

// constrainDevCA limits what a CA made from tmpl can issue to host. A
// name constraint leaves the kinds of name it does not mention free: a CA
// for a DNS name excludes every IP address, and one for an IP address
// permits only DNS names under "invalid", which no one can use (RFC 2606).
func constrainDevCA(tmpl *x509.Certificate, host string) {
	tmpl.PermittedDNSDomainsCritical = true
	if ip := net.ParseIP(host); ip != nil {
		if ip4 := ip.To4(); ip4 != nil {
			ip = ip4
		}
		tmpl.PermittedIPRanges = []*net.IPNet{{IP: ip, Mask: net.CIDRMask(8*len(ip), 8*len(ip))}}
		tmpl.PermittedDNSDomains = []string{"invalid"}
		return
	}
	tmpl.PermittedDNSDomains = []string{host}
	tmpl.ExcludedIPRanges = []*net.IPNet{
		{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)},
		{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)},
	}
}

// devCAFor tells whether ca is limited to host exactly as constrainDevCA
// limits a new one.
func devCAFor(ca *x509.Certificate, host string) bool {
	var want x509.Certificate
	constrainDevCA(&want, host)
	return constraintsOf(ca) == constraintsOf(&want)
}

func constraintsOf(c *x509.Certificate) string {
	return fmt.Sprint(c.PermittedDNSDomainsCritical, c.PermittedDNSDomains, c.ExcludedDNSDomains,
		c.PermittedIPRanges, c.ExcludedIPRanges, c.PermittedEmailAddresses, c.ExcludedEmailAddresses,
		c.PermittedURIDomains, c.ExcludedURIDomains)
}

func loadPair(certFile, keyFile string) (*x509.Certificate, crypto.Signer, error) {
	cb, err := os.ReadFile(certFile)
	if err != nil {
		return nil, nil, err
	}
	kb, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, nil, err
	}
	cp, _ := pem.Decode(cb)
	kp, _ := pem.Decode(kb)
	if cp == nil || cp.Type != "CERTIFICATE" || kp == nil || kp.Type != "PRIVATE KEY" {
		return nil, nil, fmt.Errorf("%s or %s is not the PEM expected", certFile, keyFile)
	}
	cert, err := x509.ParseCertificate(cp.Bytes)
	if err != nil {
		return nil, nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(kp.Bytes)
	if err != nil {
		return nil, nil, err
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok || !key.PublicKey.Equal(cert.PublicKey) {
		return nil, nil, fmt.Errorf("the key in %s does not belong to %s", keyFile, certFile)
	}
	return cert, key, nil
}

func makeDevCA(certFile, keyFile, host string, now time.Time) (*x509.Certificate, crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, nil, err
	}
	// The serial in the name tells one machine's CA from another's in a
	// trust store, the host what it is for. It issues server certificates
	// only.
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{Organization: []string{"Gatehouse development"},
			CommonName: "Gatehouse development CA " + serial.Text(16)[:8] + " for " + host},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(devCAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	constrainDevCA(tmpl, host)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	// The key first: a CA certificate without its key would block the
	// next start.
	if err := writeKey(keyFile, key); err != nil {
		return nil, nil, err
	}
	if err := writePEM(certFile, "CERTIFICATE", der, 0o644); err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

// devCertValid tells whether the certificate on disk can be served for host
// for at least devRenewBefore more.
func devCertValid(certFile, keyFile string, ca *x509.Certificate, host string, now time.Time) bool {
	cert, _, err := loadPair(certFile, keyFile)
	if err != nil || !now.Add(devRenewBefore).Before(cert.NotAfter) || !bytes.Equal(cert.RawIssuer, ca.RawSubject) {
		return false
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	_, err = cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: host, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	return err == nil
}

func issueDevCert(certFile, keyFile string, ca *x509.Certificate, caKey crypto.Signer, host string, now time.Time) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := randomSerial()
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{Organization: []string{"Gatehouse development"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(devLeafValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	// No common name for an IP address: OpenSSL checks a common name that
	// looks like a DNS name against the CA's DNS constraint, which a
	// dotted IP address would fail.
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{host}
		tmpl.Subject.CommonName = host
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	if err := writeKey(keyFile, key); err != nil {
		return err
	}
	return writePEM(certFile, "CERTIFICATE", der, 0o644)
}

func randomSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return writePEM(path, "PRIVATE KEY", der, 0o600)
}

// writePEM replaces path in one rename, so that a reader (the certificate
// watch) never sees half a file, and sets mode whatever the umask.
func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	os.Remove(tmp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	err = pem.Encode(f, &pem.Block{Type: typ, Bytes: der})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, mode)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
