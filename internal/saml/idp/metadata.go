package idp

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"net/http"

	"github.com/crewjam/saml"

	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// metadata is PingOne's saml20/metadata/{appId}: the IdP as one SAML
// application sees it — the environment's entity id, the SSO service in
// both bindings and the certificate of the key that signs for the
// application.
func (s *Service) metadata(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	env, err := s.Config.Environment(ctx, r.PathValue("envID"))
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	app, err := s.samlApp(ctx, env.ID, r.PathValue("appID"))
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	keyID := ""
	if sg := app.SAML.IdpSigning; sg != nil {
		keyID = sg.Key.ID
	}
	kp, err := s.Keys.KeyPair(ctx, env.ID, keyID)
	if errors.Is(err, keys.ErrNoKey) {
		s.errorPage(w, r, wire.NotFound("The application's signing key was not found."))
		return
	}
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	idp := s.provider(env.ID, nil)
	idp.Certificate = kp.Certificate
	format := app.SAML.NameIDFormat
	if format == "" {
		format = unspecifiedNameID
	}
	idp.NameIDFormats = []saml.NameIDFormat{saml.NameIDFormat(format)}
	idp.WantAuthnRequestsSigned = app.SAML.SpVerification != nil && app.SAML.SpVerification.AuthnRequestSigned
	md := idp.Metadata()
	// Gatehouse decrypts nothing (assertion encryption is not served):
	// the signing key is published for signing only.
	for i := range md.IDPSSODescriptors {
		d := &md.IDPSSODescriptors[i]
		kept := d.KeyDescriptors[:0]
		for _, k := range d.KeyDescriptors {
			if k.Use != "encryption" {
				kept = append(kept, k)
			}
		}
		d.KeyDescriptors = kept
	}
	b, err := xml.MarshalIndent(md, "", "  ")
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(xml.Header))
	w.Write(b)
}

func encodeCert(c *x509.Certificate) string { return base64.StdEncoding.EncodeToString(c.Raw) }
