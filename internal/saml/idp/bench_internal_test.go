package idp

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// BenchmarkMakeResponse is the cost of one answer at resume: the
// assertion, and its RSA-2048 signatures (assertion, or assertion and
// response).
func BenchmarkMakeResponse(b *testing.B) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "idp"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	cert, _ := x509.ParseCertificate(der)
	s := &Service{AuthPath: "https://gatehouse.example.com"}
	sess := &saml.Session{NameID: "joey", NameIDFormat: unspecifiedNameID, CreateTime: time.Now(),
		CustomAttributes: []saml.Attribute{{Name: "email", NameFormat: unspecifiedNameFormat, Values: []saml.AttributeValue{{Type: "xs:string", Value: "joey@example.com"}}}}}
	for _, both := range []bool{false, true} {
		name := "assertion"
		if both {
			name = "assertion+response"
		}
		b.Run(name, func(b *testing.B) {
			app := &config.Application{SAML: wire.ApplicationSAMLData{AssertionDuration: 60, SpEntityID: "https://sp.example.com", ResponseSigned: &both}}
			r := httptest.NewRequest("GET", "/", nil)
			for b.Loop() {
				idp := s.provider("env", nil)
				idp.Signer, idp.Certificate, idp.SignatureMethod = key, cert, dsig.RSASHA256SignatureMethod
				req := &saml.IdpAuthnRequest{IDP: idp, HTTPRequest: r, Request: saml.AuthnRequest{ID: "id-1"},
					ServiceProviderMetadata: &saml.EntityDescriptor{EntityID: "https://sp.example.com"}, SPSSODescriptor: &saml.SPSSODescriptor{},
					ACSEndpoint: &saml.IndexedEndpoint{Binding: saml.HTTPPostBinding, Location: "https://sp.example.com/acs"}, Now: time.Now()}
				if err := s.makeResponse(req, app, sess); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
