package keys_test

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
)

func TestParseDN(t *testing.T) {
	ok := []struct {
		dn              string
		cn              string
		ou, o, l, st, c []string
		extraNames      int
	}{
		{dn: "CN=x, OU=Ping, O=Ping, L=, ST=, C=US", cn: "x", ou: []string{"Ping"}, o: []string{"Ping"}, c: []string{"US"}},
		{dn: "cn=Lower Case,o=Example", cn: "Lower Case", o: []string{"Example"}},
		{dn: "CN=Only", cn: "Only"},
		{dn: "O=No CN, OU=a, OU=b, L=Paris, ST=IDF, C=fr", o: []string{"No CN"}, ou: []string{"a", "b"}, l: []string{"Paris"}, st: []string{"IDF"}, c: []string{"FR"}},
		{dn: `CN=Comma\, Inc, O=x`, cn: "Comma, Inc", o: []string{"x"}},
		{dn: "CN=mail, E=admin@example.com", cn: "mail", extraNames: 1},
	}
	for _, c := range ok {
		n, err := keys.ParseDN(c.dn)
		if err != nil {
			t.Errorf("ParseDN(%q): %v", c.dn, err)
			continue
		}
		if n.CommonName != c.cn || !slices.Equal(n.OrganizationalUnit, c.ou) || !slices.Equal(n.Organization, c.o) ||
			!slices.Equal(n.Locality, c.l) || !slices.Equal(n.Province, c.st) || !slices.Equal(n.Country, c.c) || len(n.ExtraNames) != c.extraNames {
			t.Errorf("ParseDN(%q) = %+v", c.dn, n)
		}
	}
	for _, dn := range []string{"", "just a name", "CN=", "CN=, O=", "FOO=bar", "CN=a, CN=b", "C=USA", "CN=x,, O=y", "=x"} {
		if _, err := keys.ParseDN(dn); !errors.Is(err, keys.ErrBadDN) {
			t.Errorf("ParseDN(%q) = %v, want ErrBadDN", dn, err)
		}
	}
}

// The certificate names the subject asked for, carries the usage, and its
// PEM and status read back.
func TestGeneratedCertificate(t *testing.T) {
	sealer, _ := secrets.New(make([]byte, 32))
	now := time.Now().UTC().Truncate(time.Millisecond)
	for _, c := range []struct {
		spec  keys.Spec
		usage x509.KeyUsage
	}{
		{keys.Spec{Name: "sig", Algorithm: "EC", KeyLength: 384, SignatureAlgorithm: "SHA384withECDSA", SubjectDN: "CN=Signer, O=Example, C=US",
			UsageType: "SIGNING", ValidityDays: 10}, x509.KeyUsageDigitalSignature},
		{keys.Spec{Name: "enc", Algorithm: "RSA", KeyLength: 2048, SignatureAlgorithm: "SHA256withRSA", SubjectDN: "CN=Encrypter",
			UsageType: "ENCRYPTION", ValidityDays: 10}, x509.KeyUsageKeyEncipherment},
	} {
		k, err := keys.Generate("env", c.spec, sealer, now)
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode(keys.CertificatePEM(k))
		if block == nil || block.Type != "CERTIFICATE" {
			t.Fatalf("%s: PEM", c.spec.Name)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := keys.ParseDN(c.spec.SubjectDN)
		if cert.Subject.CommonName != want.CommonName || !slices.Equal(cert.Subject.Country, want.Country) || cert.KeyUsage != c.usage {
			t.Errorf("%s: subject %v usage %v", c.spec.Name, cert.Subject, cert.KeyUsage)
		}
		for at, status := range map[time.Time]string{now.Add(-time.Second): "NOT_YET_VALID", now: "VALID", now.AddDate(0, 0, 10): "EXPIRED"} {
			if got := keys.Status(k, at); got != status {
				t.Errorf("%s: Status at %s = %s, want %s", c.spec.Name, at, got, status)
			}
		}
	}
	// A DN that does not parse still yields a certificate, named after the key.
	k, err := keys.Generate("env", keys.Spec{Name: "fallback", Algorithm: "EC", KeyLength: 256, SignatureAlgorithm: "SHA256withECDSA",
		SubjectDN: "not a DN", UsageType: "SIGNING", ValidityDays: 1}, sealer, now)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(k.Certificate)
	if cert.Subject.CommonName != "fallback" {
		t.Errorf("fallback subject %v", cert.Subject)
	}
}
