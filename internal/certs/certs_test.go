package certs_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/smallstep/pkcs7"

	"github.com/gatehouse-id/gatehouse/internal/certs"
)

// issued is a certificate and its key.
type issued struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// issue makes a certificate for subject, signed by parent (self-signed
// when parent is nil), valid from notBefore to notAfter.
func issue(t testing.TB, subject string, key crypto.Signer, parent *issued, ca bool, notBefore, notAfter time.Time) issued {
	t.Helper()
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	tmpl := &x509.Certificate{
		SerialNumber: serial, NotBefore: notBefore, NotAfter: notAfter,
		Subject:               pkix.Name{CommonName: subject, Organization: []string{"Partner"}, Country: []string{"US"}},
		BasicConstraintsValid: true, IsCA: ca, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	parentCert, parentKey := tmpl, key
	if parent != nil {
		parentCert, parentKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, key.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return issued{cert: c, key: key}
}

func rsaKey(t testing.TB, bits int) crypto.Signer {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func ecKey(t testing.TB, curve elliptic.Curve) crypto.Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pemOf(typ string, der ...[]byte) []byte {
	var out []byte
	for _, d := range der {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: d})...)
	}
	return out
}

func p7Of(t testing.TB, der ...[]byte) []byte {
	t.Helper()
	out, err := pkcs7.DegenerateCertificate(bytes.Join(der, nil))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRead(t *testing.T) {
	now := time.Now()
	day := 24 * time.Hour
	root := issue(t, "Partner Root", rsaKey(t, 2048), nil, true, now.Add(-day), now.Add(365*day))
	inter := issue(t, "Partner Issuing", ecKey(t, elliptic.P384()), &root, true, now.Add(-day), now.Add(365*day))
	leaf := issue(t, "sp.partner.example", rsaKey(t, 2048), &inter, false, now.Add(-day), now.Add(90*day))
	self := issue(t, "Self", ecKey(t, elliptic.P256()), nil, false, now.Add(-day), now.Add(90*day))
	other := issue(t, "Other", rsaKey(t, 2048), nil, false, now.Add(-day), now.Add(90*day))
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(self.key)
	ecDER, _ := x509.MarshalECPrivateKey(self.key.(*ecdsa.PrivateKey))
	pkcs1 := x509.MarshalPKCS1PrivateKey(other.key.(*rsa.PrivateKey))

	tests := []struct {
		name string
		file []byte
		want *x509.Certificate
		err  error
	}{
		{"PEM", pemOf("CERTIFICATE", self.cert.Raw), self.cert, nil},
		{"PEM with CRLF and text around it", append(append([]byte("subject=CN = Self\r\n"), bytes.ReplaceAll(pemOf("CERTIFICATE", self.cert.Raw), []byte("\n"), []byte("\r\n"))...), "\r\n"...), self.cert, nil},
		{"DER", self.cert.Raw, self.cert, nil},
		{"PKCS#7 DER", p7Of(t, self.cert.Raw), self.cert, nil},
		{"PKCS#7 PEM", pemOf("PKCS7", p7Of(t, self.cert.Raw)), self.cert, nil},
		{"the same certificate twice", pemOf("CERTIFICATE", self.cert.Raw, self.cert.Raw), self.cert, nil},
		{"a chain, leaf first", pemOf("CERTIFICATE", leaf.cert.Raw, inter.cert.Raw, root.cert.Raw), leaf.cert, nil},
		{"a chain, root first", pemOf("CERTIFICATE", root.cert.Raw, inter.cert.Raw, leaf.cert.Raw), leaf.cert, nil},
		{"a chain in PKCS#7", p7Of(t, inter.cert.Raw, leaf.cert.Raw, root.cert.Raw), leaf.cert, nil},
		{"a certificate and its issuer", pemOf("CERTIFICATE", inter.cert.Raw, root.cert.Raw), inter.cert, nil},

		{"empty", nil, nil, certs.ErrEmpty},
		{"blank", []byte(" \n\t\r\n"), nil, certs.ErrEmpty},
		{"too large", append(pemOf("CERTIFICATE", self.cert.Raw), bytes.Repeat([]byte{' '}, certs.MaxFileBytes)...), nil, certs.ErrTooLarge},
		{"garbage", []byte("not a certificate at all"), nil, certs.ErrUnreadable},
		{"random bytes", bytes.Repeat([]byte{0x30, 0x82, 0xff}, 40), nil, certs.ErrUnreadable},
		{"truncated DER", self.cert.Raw[:len(self.cert.Raw)-10], nil, certs.ErrUnreadable},
		{"DER with trailing data", append(append([]byte{}, self.cert.Raw...), 0, 0), nil, certs.ErrUnreadable},
		{"PEM of broken base64", []byte("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"), nil, certs.ErrUnreadable},
		{"PEM of a broken certificate", pemOf("CERTIFICATE", []byte("nope")), nil, certs.ErrUnreadable},
		{"PEM of another type", pemOf("PUBLIC KEY", []byte{1, 2, 3}), nil, certs.ErrUnreadable},
		{"PEM of a request", pemOf("CERTIFICATE REQUEST", []byte{1, 2, 3}), nil, certs.ErrUnreadable},
		{"PKCS#7 with no certificate", p7Of(t), nil, certs.ErrNone},
		{"PKCS#8 key", pemOf("PRIVATE KEY", pkcs8), nil, certs.ErrPrivateKey},
		{"PKCS#1 key", pemOf("RSA PRIVATE KEY", pkcs1), nil, certs.ErrPrivateKey},
		{"SEC 1 key", pemOf("EC PRIVATE KEY", ecDER), nil, certs.ErrPrivateKey},
		{"encrypted key", pemOf("ENCRYPTED PRIVATE KEY", []byte{1, 2, 3}), nil, certs.ErrPrivateKey},
		{"certificate then its key", append(pemOf("CERTIFICATE", self.cert.Raw), pemOf("PRIVATE KEY", pkcs8)...), nil, certs.ErrPrivateKey},
		{"key then its certificate", append(pemOf("EC PRIVATE KEY", ecDER), pemOf("CERTIFICATE", self.cert.Raw)...), nil, certs.ErrPrivateKey},
		{"certificate, then a key in broken PEM", append(pemOf("CERTIFICATE", self.cert.Raw), "-----BEGIN PRIVATE KEY-----\n!!\n-----END PRIVATE KEY-----\n"...), nil, certs.ErrPrivateKey},
		{"DER PKCS#8 key", pkcs8, nil, certs.ErrPrivateKey},
		{"DER PKCS#1 key", pkcs1, nil, certs.ErrPrivateKey},
		{"DER SEC 1 key", ecDER, nil, certs.ErrPrivateKey},
		{"two unrelated certificates", pemOf("CERTIFICATE", self.cert.Raw, other.cert.Raw), nil, certs.ErrUnrelated},
		{"two unrelated certificates in PKCS#7", p7Of(t, self.cert.Raw, other.cert.Raw), nil, certs.ErrUnrelated},
		{"a chain and a stranger", pemOf("CERTIFICATE", leaf.cert.Raw, inter.cert.Raw, other.cert.Raw), nil, certs.ErrUnrelated},
		{"too many certificates", pemOf("CERTIFICATE", slices.Repeat([][]byte{self.cert.Raw}, certs.MaxChain+1)...), nil, certs.ErrTooMany},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := certs.Read(tt.file)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Read = %v, want %v", err, tt.err)
			}
			if tt.want != nil && (got == nil || !bytes.Equal(got.Raw, tt.want.Raw)) {
				t.Fatalf("Read picked %v, want %s", got, tt.want.Subject)
			}
			var refused certs.Error
			if err != nil && !errors.As(err, &refused) {
				t.Fatalf("Read's error %T is not a certs.Error", err)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	now := time.Now()
	day := 24 * time.Hour
	rsa3072 := issue(t, "RSA Partner", rsaKey(t, 3072), nil, false, now.Add(-day), now.Add(day))
	p384 := issue(t, "", ecKey(t, elliptic.P384()), nil, false, now.Add(-day), now.Add(day))
	p521 := issue(t, "EC Partner", ecKey(t, elliptic.P521()), nil, false, now.Add(-day), now.Add(day))
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	ed := issue(t, "Ed Partner", edKey, nil, false, now.Add(-day), now.Add(day))

	info, err := certs.Describe(rsa3072.cert)
	if err != nil {
		t.Fatal(err)
	}
	want := certs.Info{Name: "RSA Partner", Algorithm: "RSA", KeyLength: 3072, SignatureAlgorithm: "SHA256withRSA",
		SubjectDN: "CN=RSA Partner, O=Partner, C=US", IssuerDN: "CN=RSA Partner, O=Partner, C=US", SerialNumber: rsa3072.cert.SerialNumber.String()}
	if info != want {
		t.Errorf("Describe(RSA 3072) = %+v, want %+v", info, want)
	}
	// No common name: the name is the subject DN.
	info, err = certs.Describe(p384.cert)
	if err != nil || info.Algorithm != "EC" || info.KeyLength != 384 || info.SignatureAlgorithm != "SHA384withECDSA" ||
		info.Name != "O=Partner, C=US" || info.SubjectDN != "O=Partner, C=US" {
		t.Errorf("Describe(P-384) = %+v, %v", info, err)
	}
	info, err = certs.Describe(p521.cert)
	if err != nil || info.KeyLength != 521 || info.SignatureAlgorithm != "SHA512withECDSA" {
		t.Errorf("Describe(P-521) = %+v, %v", info, err)
	}
	if _, err := certs.Describe(ed.cert); !errors.Is(err, certs.ErrKeyType) {
		t.Errorf("Describe(Ed25519) = %v, want ErrKeyType", err)
	}
}

func TestSignatureAlgorithm(t *testing.T) {
	for alg, want := range map[x509.SignatureAlgorithm]string{
		x509.SHA256WithRSA: "SHA256withRSA", x509.SHA512WithRSA: "SHA512withRSA", x509.ECDSAWithSHA256: "SHA256withECDSA",
		x509.SHA1WithRSA: "SHA1withRSA", x509.SHA256WithRSAPSS: "SHA256withRSAandMGF1", x509.PureEd25519: "Ed25519",
	} {
		if got := certs.SignatureAlgorithm(alg); got != want {
			t.Errorf("SignatureAlgorithm(%v) = %q, want %q", alg, got, want)
		}
	}
}

func TestCheckValidity(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	c := issue(t, "Window", ecKey(t, elliptic.P256()), nil, false, now, now.Add(time.Hour)).cert
	for _, tt := range []struct {
		at   time.Time
		want error
	}{
		{now.Add(-time.Second), certs.ErrNotYet},
		{now, nil},
		{now.Add(time.Hour), nil},
		{now.Add(time.Hour + time.Second), certs.ErrExpired},
	} {
		if err := certs.CheckValidity(c, tt.at); !errors.Is(err, tt.want) {
			t.Errorf("CheckValidity at %s = %v, want %v", tt.at.Sub(now), err, tt.want)
		}
	}
	for _, tt := range []struct {
		at   time.Time
		want string
	}{{now.Add(-time.Second), "NOT_YET_VALID"}, {now, "VALID"}, {now.Add(2 * time.Hour), "EXPIRED"}} {
		if got := certs.Status(c.NotBefore, c.NotAfter, tt.at); got != tt.want {
			t.Errorf("Status at %s = %s, want %s", tt.at.Sub(now), got, tt.want)
		}
	}
}

// TestExports: what PEM and PKCS7 write reads back as the same
// certificate, through Read and through the PKCS#7 library.
func TestExports(t *testing.T) {
	now := time.Now()
	c := issue(t, "Export", rsaKey(t, 2048), nil, false, now.Add(-time.Hour), now.Add(time.Hour)).cert
	block, rest := pem.Decode(certs.PEM(c.Raw))
	if block == nil || block.Type != "CERTIFICATE" || !bytes.Equal(block.Bytes, c.Raw) || len(rest) != 0 {
		t.Fatalf("PEM = %v", block)
	}
	p7, err := certs.PKCS7(c.Raw)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := pkcs7.Parse(p7)
	if err != nil || len(parsed.Certificates) != 1 || !bytes.Equal(parsed.Certificates[0].Raw, c.Raw) {
		t.Fatalf("PKCS7 parses as %v, %v", parsed, err)
	}
	for name, file := range map[string][]byte{"PEM": certs.PEM(c.Raw), "PKCS7": p7} {
		got, err := certs.Read(file)
		if err != nil || !bytes.Equal(got.Raw, c.Raw) {
			t.Errorf("Read(%s export) = %v", name, err)
		}
	}
}

// FuzzRead: no upload makes Read panic, and whatever it accepts is a
// certificate that parses on its own.
func FuzzRead(f *testing.F) {
	now := time.Now()
	c := issue(f, "Fuzz", ecKey(f, elliptic.P256()), nil, false, now.Add(-time.Hour), now.Add(time.Hour)).cert
	f.Add(c.Raw)
	f.Add(pemOf("CERTIFICATE", c.Raw))
	f.Add(p7Of(f, c.Raw))
	f.Add(pemOf("PKCS7", p7Of(f, c.Raw)))
	f.Add([]byte("-----BEGIN PKCS7-----\nMAA=\n-----END PKCS7-----\n"))
	f.Add([]byte{0x30, 0x80, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02, 0xa0, 0x80, 0x30, 0x80})
	f.Fuzz(func(t *testing.T, file []byte) {
		got, err := certs.Read(file)
		if err != nil {
			var refused certs.Error
			if !errors.As(err, &refused) {
				t.Fatalf("error %T %v is not a certs.Error", err, err)
			}
			return
		}
		if _, err := x509.ParseCertificate(got.Raw); err != nil {
			t.Fatalf("accepted a certificate that does not parse: %v", err)
		}
	})
}
