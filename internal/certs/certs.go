// Package certs reads the certificates administrators upload (PingOne's
// /certificates) and writes them back out as PingOne exports them. An
// uploaded certificate is trusted as it is, pinned, to verify what a
// partner signs (a SAML service provider's AuthnRequests, a SAML identity
// provider's responses): Gatehouse never builds a path to a root with it,
// so what matters is that the file holds exactly one certificate to pin,
// with no private key beside it.
package certs

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"strings"
	"time"

	"github.com/smallstep/pkcs7"
)

// MaxFileBytes bounds an uploaded file. A certificate is a few kilobytes;
// a chain of ten a few dozen.
const MaxFileBytes = 64 << 10

// MaxChain bounds how many certificates one file may carry (the
// certificate and the ones that issued it).
const MaxChain = 10

// Error is why a file is refused, written for the administrator who
// uploaded it (the management API puts it in its error's detail).
type Error string

func (e Error) Error() string { return string(e) }

// Reasons a file is refused.
const (
	ErrEmpty      = Error("The file is empty.")
	ErrTooLarge   = Error("The file is too large for a certificate.")
	ErrPrivateKey = Error("The file holds a private key. Upload the certificate alone: a certificate trusted to verify a partner's signatures never needs its key.")
	ErrUnreadable = Error("The file is not a certificate: upload an X.509 certificate as PEM or DER, or a PKCS#7 (.p7b) file, PEM or DER.")
	ErrNone       = Error("The file holds no certificate.")
	ErrTooMany    = Error("The file holds too many certificates.")
	ErrUnrelated  = Error("The file holds several certificates that are not one chain: upload one certificate, optionally with the certificates that issued it.")
	ErrKeyType    = Error("The certificate's public key is neither RSA nor EC: only RSA and EC keys can verify signatures here.")
	ErrNotYet     = Error("The certificate is not yet valid: a certificate can be uploaded from its notBefore date on.")
	ErrExpired    = Error("The certificate has expired.")
)

// Read parses an uploaded file: one X.509 certificate as DER or PEM, PEM
// with several CERTIFICATE blocks, or PKCS#7 certificates-only (.p7b) as
// DER or PEM. A file with several certificates must be one chain: the
// certificate that issued none of the others is the one returned, and
// every other one must have issued one of them. Anything holding a private
// key is refused, whatever else it holds.
func Read(file []byte) (*x509.Certificate, error) {
	switch {
	case len(bytes.TrimSpace(file)) == 0:
		return nil, ErrEmpty
	case len(file) > MaxFileBytes:
		return nil, ErrTooLarge
	}
	ders, err := split(file)
	if err != nil {
		return nil, err
	}
	return leaf(ders)
}

// split returns the DER of every certificate in file.
func split(file []byte) ([][]byte, error) {
	if !bytes.Contains(file, []byte("-----BEGIN")) {
		if isPrivateKey(file) {
			return nil, ErrPrivateKey
		}
		if c, err := x509.ParseCertificate(file); err == nil {
			return [][]byte{c.Raw}, nil
		}
		return fromPKCS7(file)
	}
	var ders [][]byte
	rest := file
	for {
		block, next := pem.Decode(rest)
		if block == nil {
			break
		}
		rest = next
		switch {
		case strings.Contains(block.Type, "PRIVATE KEY"):
			return nil, ErrPrivateKey
		case block.Type == "CERTIFICATE" || block.Type == "X509 CERTIFICATE":
			ders = append(ders, block.Bytes)
		case block.Type == "PKCS7" || block.Type == "CERTIFICATES":
			more, err := fromPKCS7(block.Bytes)
			if err != nil {
				return nil, err
			}
			ders = append(ders, more...)
		default:
			return nil, ErrUnreadable
		}
		if len(ders) > MaxChain {
			return nil, ErrTooMany
		}
	}
	// Text outside PEM blocks (openssl's human-readable dump before a
	// certificate) is ignored, but nothing may hide a key there.
	if bytes.Contains(file, []byte("PRIVATE KEY-----")) {
		return nil, ErrPrivateKey
	}
	if len(bytes.TrimSpace(rest)) > 0 && len(ders) == 0 {
		return nil, ErrUnreadable
	}
	if len(ders) == 0 {
		return nil, ErrNone
	}
	return ders, nil
}

// isPrivateKey reports whether der is a private key in one of the
// encodings keys are found in (PKCS#8, PKCS#1, SEC 1).
func isPrivateKey(der []byte) bool {
	if _, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return true
	}
	if _, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return true
	}
	_, err := x509.ParseECPrivateKey(der)
	return err == nil
}

// fromPKCS7 reads the certificates of a PKCS#7 SignedData (a .p7b); the
// signed content and any signatures are ignored, as a .p7b carries none.
func fromPKCS7(der []byte) (ders [][]byte, err error) {
	// The parser reads BER from an unauthenticated upload: whatever it
	// trips on is a file that is not a certificate, never a crash.
	defer func() {
		if recover() != nil {
			ders, err = nil, ErrUnreadable
		}
	}()
	p7, err := pkcs7.Parse(der)
	if err != nil {
		return nil, ErrUnreadable
	}
	if len(p7.Certificates) == 0 {
		return nil, ErrNone
	}
	if len(p7.Certificates) > MaxChain {
		return nil, ErrTooMany
	}
	out := make([][]byte, len(p7.Certificates))
	for i, c := range p7.Certificates {
		out[i] = c.Raw
	}
	return out, nil
}

// leaf parses ders (duplicates count once) and picks the one certificate
// no other was issued by; several candidates, or a certificate that issued
// none of the others, mean the file is not one chain.
func leaf(ders [][]byte) (*x509.Certificate, error) {
	var certs []*x509.Certificate
	for _, der := range ders {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, ErrUnreadable
		}
		dup := false
		for _, seen := range certs {
			dup = dup || bytes.Equal(seen.Raw, c.Raw)
		}
		if !dup {
			certs = append(certs, c)
		}
	}
	if len(certs) == 1 {
		return certs[0], nil
	}
	issued := make([]bool, len(certs)) // issued[i]: certs[i] signed another
	for i, issuer := range certs {
		for j, c := range certs {
			if i != j && bytes.Equal(c.RawIssuer, issuer.RawSubject) && c.CheckSignatureFrom(issuer) == nil {
				issued[i] = true
			}
		}
	}
	var found *x509.Certificate
	for i, c := range certs {
		if issued[i] {
			continue
		}
		if found != nil {
			return nil, ErrUnrelated
		}
		found = c
	}
	if found == nil {
		return nil, ErrUnrelated
	}
	return found, nil
}

// Info is what PingOne's certificate resource says about a certificate.
type Info struct {
	Name               string // the subject's common name, else its DN
	Algorithm          string // RSA | EC
	KeyLength          int    // the modulus' bits, or the curve's
	SignatureAlgorithm string // as PingOne names it: SHA256withRSA…
	SubjectDN          string
	IssuerDN           string
	SerialNumber       string // decimal
}

// Describe says what c is, or ErrKeyType for a key that is neither RSA
// nor EC (nothing Gatehouse verifies with could use it).
func Describe(c *x509.Certificate) (Info, error) {
	info := Info{
		SignatureAlgorithm: SignatureAlgorithm(c.SignatureAlgorithm),
		SubjectDN:          DN(c.RawSubject, c.Subject),
		IssuerDN:           DN(c.RawIssuer, c.Issuer),
		SerialNumber:       c.SerialNumber.String(),
	}
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		info.Algorithm, info.KeyLength = "RSA", k.N.BitLen()
	case *ecdsa.PublicKey:
		info.Algorithm, info.KeyLength = "EC", k.Curve.Params().BitSize
	default:
		return info, ErrKeyType
	}
	info.Name = strings.TrimSpace(c.Subject.CommonName)
	if info.Name == "" {
		info.Name = info.SubjectDN
	}
	return info, nil
}

// CheckValidity refuses a certificate outside its validity period at now:
// PingOne takes an upload from its notBefore to its notAfter only.
func CheckValidity(c *x509.Certificate, now time.Time) error {
	switch {
	case now.Before(c.NotBefore):
		return ErrNotYet
	case now.After(c.NotAfter):
		return ErrExpired
	}
	return nil
}

// Status is a certificate's state at now, in PingOne's words.
func Status(startsAt, expiresAt, now time.Time) string {
	switch {
	case now.Before(startsAt):
		return "NOT_YET_VALID"
	case now.After(expiresAt):
		return "EXPIRED"
	}
	return "VALID"
}

// signatureAlgorithms names certificate signatures as PingOne (Java) does.
var signatureAlgorithms = map[x509.SignatureAlgorithm]string{
	x509.SHA256WithRSA:    "SHA256withRSA",
	x509.SHA384WithRSA:    "SHA384withRSA",
	x509.SHA512WithRSA:    "SHA512withRSA",
	x509.ECDSAWithSHA256:  "SHA256withECDSA",
	x509.ECDSAWithSHA384:  "SHA384withECDSA",
	x509.ECDSAWithSHA512:  "SHA512withECDSA",
	x509.SHA1WithRSA:      "SHA1withRSA",
	x509.ECDSAWithSHA1:    "SHA1withECDSA",
	x509.MD5WithRSA:       "MD5withRSA",
	x509.SHA256WithRSAPSS: "SHA256withRSAandMGF1",
	x509.SHA384WithRSAPSS: "SHA384withRSAandMGF1",
	x509.SHA512WithRSAPSS: "SHA512withRSAandMGF1",
}

// SignatureAlgorithm is how the certificate was signed, in PingOne's
// spelling. The algorithm an issuer signed a pinned certificate with
// matters to nothing Gatehouse verifies, so none is refused here (SHA-1
// XML signatures are refused where they are checked).
func SignatureAlgorithm(a x509.SignatureAlgorithm) string {
	if n, ok := signatureAlgorithms[a]; ok {
		return n
	}
	return a.String()
}

// DN writes a distinguished name as PingOne shows it: most specific
// first, ", " between attributes ("CN=Partner, O=Example, C=US"). raw is
// the DER the certificate holds, so attributes keep their order; name is
// the fallback when raw does not parse.
func DN(raw []byte, name pkix.Name) string {
	var seq pkix.RDNSequence
	if rest, err := asn1.Unmarshal(raw, &seq); err != nil || len(rest) > 0 {
		return name.String()
	}
	parts := make([]string, 0, len(seq))
	for i := len(seq) - 1; i >= 0; i-- {
		parts = append(parts, pkix.RDNSequence{seq[i]}.String())
	}
	return strings.Join(parts, ", ")
}

// PEM is a certificate (DER) as PEM: what PingOne answers for
// Accept: application/x-x509-ca-cert.
func PEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// PKCS7 is a certificate (DER) as a degenerate, certificates-only PKCS#7
// SignedData in DER: what PingOne answers for
// Accept: application/x-pkcs7-certificates (a .p7b file).
func PKCS7(der []byte) ([]byte, error) {
	return pkcs7.DegenerateCertificate(der)
}
