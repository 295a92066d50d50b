// Package saml is SAML 2.0 as a federation protocol: Gatehouse is the
// service provider of identity providers of type SAML. The AuthnRequest
// goes by the provider's ssoBinding (HTTP-Redirect or HTTP-POST), signed
// when the provider asks for it; the provider's Response comes back to
// PingOne's assertion consumer service, {authPath}/{envId}/saml20/sp/acs,
// where crewjam/saml verifies it (signature by a certificate the provider
// trusts, issuer, destination, recipient, audience, validity with bounded
// skew, InResponseTo, replay of the assertion id) and its NameID and
// attributes become the identity the flow goes on with, exactly as an
// OpenID Connect provider's claims do. All XML signature handling is
// crewjam's (with goxmldsig); what this package adds is the bounds and
// refusals before a message reaches it.
package saml

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/gatehouse-id/gatehouse/internal/federation"
	"github.com/gatehouse-id/gatehouse/internal/flow/methods/external"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Protocol is SAML 2.0, Gatehouse the service provider.
type Protocol struct {
	Store store.Store
	Keys  *keys.Manager
	// AuthPath is the base URL, no trailing slash.
	AuthPath string
	// AllowSHA1 accepts partners' SHA-1 signatures and digests
	// (--saml-allow-sha1); off, they are refused.
	AllowSHA1 bool
	Log       *slog.Logger
	// Now is the clock of every time check (nil: time.Now).
	Now func() time.Time
}

var (
	_ federation.Protocol = (*Protocol)(nil)
	_ federation.Router   = (*Protocol)(nil)
)

// MaxResponseBytes bounds a posted ACS form: a signed Response with a
// few certificates and attributes is a few kilobytes; base64 adds a
// third.
const MaxResponseBytes = 256 << 10

func (*Protocol) Types() []string { return []string{wire.IDPTypeSAML} }

// Callback names the protocol; its answers come to the ACS, not to
// /rp/callback/saml (which finds no RelayState there and refuses).
func (*Protocol) Callback() string { return "saml" }

// ACSURL is the assertion consumer service of an environment (PingOne's
// path): the Destination and Recipient every Response must carry.
func (p *Protocol) ACSURL(envID string) string {
	return p.AuthPath + "/" + envID + "/saml20/sp/acs"
}

// MetadataURL is the service provider metadata for one provider.
func (p *Protocol) MetadataURL(envID, idpID string) string {
	return p.AuthPath + "/" + envID + "/saml20/sp/metadata/" + idpID
}

func (p *Protocol) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Protocol) log() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.Default()
}

// remembered is what the ACS checks the Response against: the id of the
// AuthnRequest it must answer. An IdP-initiated sign-on has no request:
// the ACS verified its Response before the flow began, and the flow keeps
// what it asserted.
type remembered struct {
	RequestID   string                `json:"requestId,omitempty"`
	Unsolicited *federation.Assertion `json:"unsolicited,omitempty"`
}

// Start builds the AuthnRequest. RelayState is the flow's state: the ACS
// finds the flow by it.
func (p *Protocol) Start(ctx context.Context, prov *federation.Provider, b *external.Begun, _ federation.Hints) (federation.Redirect, any, error) {
	sp, err := p.serviceProvider(ctx, prov)
	var f *federation.Failure
	if errors.As(err, &f) {
		// The provider cannot be used as configured: the browser stays.
		return federation.Redirect{}, nil, wire.RequestFailed(f.Description)
	}
	if err != nil {
		return federation.Redirect{}, nil, err
	}
	c := &prov.SAML
	dest, err := url.Parse(c.SsoEndpoint)
	if err != nil || (dest.Scheme != "https" && dest.Scheme != "http") || dest.Host == "" {
		return federation.Redirect{}, nil, wire.RequestFailed("The identity provider's SSO endpoint is not a valid URL.")
	}
	binding := crewjam.HTTPRedirectBinding
	if c.SsoBinding == wire.SAMLBindingPost {
		binding = crewjam.HTTPPostBinding
	}
	req, err := sp.MakeAuthenticationRequest(c.SsoEndpoint, binding, crewjam.HTTPPostBinding)
	if err != nil {
		return federation.Redirect{}, nil, fmt.Errorf("identity provider %s AuthnRequest: %w", prov.ID, err)
	}
	rem := remembered{RequestID: req.ID}
	if binding == crewjam.HTTPRedirectBinding {
		// Redirect signs the query (SigAlg, Signature) when the provider
		// wants signed requests.
		u, err := req.Redirect(b.State, sp)
		if err != nil {
			return federation.Redirect{}, nil, fmt.Errorf("identity provider %s AuthnRequest: %w", prov.ID, err)
		}
		return federation.Redirect{URL: u.String()}, rem, nil
	}
	// HTTP-POST: MakeAuthenticationRequest signed the XML already.
	d := etree.NewDocument()
	d.SetRoot(req.Element())
	doc, err := d.WriteToBytes()
	if err != nil {
		return federation.Redirect{}, nil, err
	}
	return federation.Redirect{URL: c.SsoEndpoint, Form: url.Values{
		"SAMLRequest": {base64.StdEncoding.EncodeToString(doc)},
		"RelayState":  {b.State},
	}}, rem, nil
}

// State is the RelayState of a posted Response.
func (*Protocol) State(r *http.Request) string {
	if r.Method != http.MethodPost {
		return ""
	}
	return r.PostFormValue("RelayState")
}

// Finish verifies the Response posted to the ACS, which must answer the
// AuthnRequest Start sent.
func (p *Protocol) Finish(ctx context.Context, prov *federation.Provider, r *http.Request, raw json.RawMessage) (*federation.Assertion, error) {
	var rem remembered
	if err := json.Unmarshal(raw, &rem); err != nil {
		return nil, fmt.Errorf("identity provider %s sign-on state: %w", prov.ID, err)
	}
	switch {
	case rem.Unsolicited != nil:
		return rem.Unsolicited, nil
	case rem.RequestID == "":
		return nil, fmt.Errorf("identity provider %s sign-on state: no request id", prov.ID)
	}
	return p.verify(ctx, prov, r, []string{rem.RequestID}, false)
}

// verify checks a posted Response (r's form, parsed) for provider prov:
// SP-initiated it must answer one of requestIDs; IdP-initiated
// (unsolicited) it must answer none.
func (p *Protocol) verify(ctx context.Context, prov *federation.Provider, r *http.Request, requestIDs []string, unsolicited bool) (*federation.Assertion, error) {
	sp, err := p.serviceProvider(ctx, prov)
	if err != nil {
		return nil, err
	}
	certs, err := p.trusted(ctx, prov)
	if err != nil {
		return nil, err
	}
	var kds []crewjam.KeyDescriptor
	for _, cert := range certs {
		kds = append(kds, crewjam.KeyDescriptor{Use: "signing", KeyInfo: crewjam.KeyInfo{X509Data: crewjam.X509Data{
			X509Certificates: []crewjam.X509Certificate{{Data: base64.StdEncoding.EncodeToString(cert.Raw)}}}}})
	}
	sp.IDPMetadata.IDPSSODescriptors[0].KeyDescriptors = kds
	sp.AllowIDPInitiated = unsolicited
	sp.ReplayCache = &replayCache{ctx: ctx, st: p.Store, envID: prov.EnvironmentID, providerID: prov.ID}
	// The Response is checked against the ACS's own URL, whatever
	// the request's Host was.
	acs, _ := url.Parse(p.ACSURL(prov.EnvironmentID))
	rr := r.Clone(ctx)
	rr.URL = acs
	as, err := sp.ParseResponse(rr, requestIDs)
	if err != nil {
		return nil, p.refused(ctx, prov, err)
	}
	if as.Subject == nil || as.Subject.NameID == nil || strings.TrimSpace(as.Subject.NameID.Value) == "" {
		return nil, failure("server_error", "The assertion of the identity provider %s names no subject.", prov.Name)
	}
	subject := as.Subject.NameID.Value
	claims := map[string]any{}
	for _, st := range as.AttributeStatements {
		for _, a := range st.Attributes {
			if len(a.Values) == 0 {
				continue
			}
			// A mapping reads one value: the first.
			claims[a.Name] = a.Values[0].Value
			if a.FriendlyName != "" {
				if _, taken := claims[a.FriendlyName]; !taken {
					claims[a.FriendlyName] = a.Values[0].Value
				}
			}
		}
	}
	return &federation.Assertion{Subject: subject, Claims: claims}, nil
}

// refused turns crewjam's verdict on a Response into the flow's failure.
// crewjam hides the reason behind a fixed message; the reason's kind is
// told to the user and the application, the detail goes to the log.
func (p *Protocol) refused(ctx context.Context, prov *federation.Provider, err error) error {
	var bad crewjam.ErrBadStatus
	if errors.As(err, &bad) {
		return failure("access_denied", "The identity provider %s did not sign the user on (status %s).", prov.Name, bad.Status)
	}
	cause := err
	var ire *crewjam.InvalidResponseError
	if errors.As(err, &ire) && ire.PrivateErr != nil {
		cause = ire.PrivateErr
		if errors.As(cause, &bad) {
			return failure("access_denied", "The identity provider %s did not sign the user on (status %s).", prov.Name, bad.Status)
		}
	}
	p.log().InfoContext(ctx, "SAML response refused", "environmentId", prov.EnvironmentID, "providerId", prov.ID, "err", cause)
	why := "it is not valid"
	if cause.Error() == "signature element not present" {
		// crewjam's error for an unsigned message where one is required
		// is unexported (and unclassified): its text is all there is.
		why = "its signature is missing or not valid"
	}
	for _, k := range reasons {
		if errors.Is(cause, k.err) {
			why = k.why
			break
		}
	}
	return failure("server_error", "The SAML response of the identity provider %s was refused: %s.", prov.Name, why)
}

// reasons name crewjam's refusals, most specific first.
var reasons = []struct {
	err error
	why string
}{
	{crewjam.ErrAssertionReplayed, "the assertion was already used"},
	{crewjam.ErrUntrustedCertificate, "it is not signed by a certificate the provider trusts"},
	{crewjam.ErrCertificateNotValidNow, "its signing certificate is expired or not yet valid"},
	{crewjam.ErrUnsupported, "it uses an algorithm or element that is not accepted"},
	{crewjam.ErrInvalidSignature, "its signature is missing or not valid"},
	{crewjam.ErrIssuerMismatch, "its issuer is not the provider's entity ID"},
	{crewjam.ErrDestinationMismatch, "its destination or recipient is not this service provider's ACS URL"},
	{crewjam.ErrAudienceMismatch, "its audience is not this service provider's entity ID"},
	{crewjam.ErrRequestIDMismatch, "it does not answer the request of this sign-on"},
	{crewjam.ErrExpired, "it has expired"},
	{crewjam.ErrNotYetValid, "it is not valid yet"},
	{crewjam.ErrMissingElement, "a required element is missing"},
	{crewjam.ErrMalformedMessage, "it is malformed"},
}

func failure(code, format string, a ...any) *federation.Failure {
	return &federation.Failure{Code: code, Description: fmt.Sprintf(format, a...)}
}

// serviceProvider is crewjam's service provider for one identity
// provider: its entity ID and ACS, the provider's entity ID and SSO
// endpoint as its metadata (verify adds the trusted certificates), and
// the key that signs AuthnRequests.
func (p *Protocol) serviceProvider(ctx context.Context, prov *federation.Provider) (*crewjam.ServiceProvider, error) {
	c := &prov.SAML
	envID := prov.EnvironmentID
	acs, err := url.Parse(p.ACSURL(envID))
	if err != nil {
		return nil, err
	}
	md, err := url.Parse(p.MetadataURL(envID, prov.ID))
	if err != nil {
		return nil, err
	}
	entityID := c.SpEntityID
	if entityID == "" {
		entityID = md.String()
	}
	keyID := ""
	if c.SpSigning != nil {
		keyID = c.SpSigning.Key.ID
	}
	kp, err := p.Keys.KeyPair(ctx, envID, keyID)
	if errors.Is(err, keys.ErrNoKey) {
		return nil, failure("server_error", "The signing key of the identity provider %s is missing.", prov.Name)
	}
	if err != nil {
		return nil, err
	}
	binding := crewjam.HTTPRedirectBinding
	if c.SsoBinding == wire.SAMLBindingPost {
		binding = crewjam.HTTPPostBinding
	}
	sp := &crewjam.ServiceProvider{
		EntityID:    entityID,
		Key:         kp.Signer,
		Certificate: kp.Certificate,
		AcsURL:      *acs,
		MetadataURL: *md,
		IDPMetadata: &crewjam.EntityDescriptor{EntityID: c.IdpEntityID, IDPSSODescriptors: []crewjam.IDPSSODescriptor{{
			SSODescriptor: crewjam.SSODescriptor{RoleDescriptor: crewjam.RoleDescriptor{
				ProtocolSupportEnumeration: "urn:oasis:names:tc:SAML:2.0:protocol"}},
			SingleSignOnServices: []crewjam.Endpoint{{Binding: binding, Location: c.SsoEndpoint}},
		}}},
		AuthnNameIDFormat:                crewjam.UnspecifiedNameIDFormat,
		AssertionConsumerServiceBindings: []string{crewjam.HTTPPostBinding},
		RejectSHA1Signatures:             !p.AllowSHA1,
		RejectUnknownConditions:          true,
		LimitRelayStateLength:            true,
	}
	if p.Now != nil {
		sp.Clock = dsig.NewFakeClockAt(p.Now())
	}
	if c.AuthnRequestSigned {
		// spSigning.algorithm, when set, is what the administrator chose
		// (the management API checked that it fits the key); else the
		// key's own.
		alg := kp.SignatureAlgorithm
		if c.SpSigning != nil && c.SpSigning.Algorithm != "" {
			alg = c.SpSigning.Algorithm
		}
		sp.SignatureMethod = signatureMethod(alg)
	}
	return sp, nil
}

// signatureMethod is the XML signature method of a signature algorithm
// as PingOne names it (SHA256withRSA…).
func signatureMethod(alg string) string {
	switch alg {
	case "SHA384withRSA":
		return dsig.RSASHA384SignatureMethod
	case "SHA512withRSA":
		return dsig.RSASHA512SignatureMethod
	case "SHA256withECDSA":
		return dsig.ECDSASHA256SignatureMethod
	case "SHA384withECDSA":
		return dsig.ECDSASHA384SignatureMethod
	case "SHA512withECDSA":
		return dsig.ECDSASHA512SignatureMethod
	}
	return dsig.RSASHA256SignatureMethod
}

// trusted are the provider's verification certificates; one that is gone
// or unreadable fails the sign-on rather than narrowing the trust.
func (p *Protocol) trusted(ctx context.Context, prov *federation.Provider) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for _, ref := range prov.SAML.IdpVerification.Certificates {
		c, err := p.Store.GetCertificate(ctx, prov.EnvironmentID, ref.ID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, failure("server_error", "A verification certificate of the identity provider %s is missing.", prov.Name)
		}
		if err != nil {
			return nil, err
		}
		cert, err := x509.ParseCertificate(c.Certificate)
		if err != nil {
			return nil, failure("server_error", "A verification certificate of the identity provider %s cannot be read.", prov.Name)
		}
		out = append(out, cert)
	}
	if len(out) == 0 {
		return nil, failure("server_error", "The identity provider %s has no verification certificate.", prov.Name)
	}
	return out, nil
}

// replayCache records accepted assertion ids in the store, for every
// node: an assertion is accepted once until it expires.
type replayCache struct {
	ctx               context.Context
	st                store.Store
	envID, providerID string
}

func (c *replayCache) Consume(id string, expiresAt time.Time) error {
	h := sha256.Sum256([]byte(id))
	err := c.st.UseOnce(c.ctx, c.envID, "saml-assertion:"+c.providerID+":"+hex.EncodeToString(h[:]), expiresAt)
	if errors.Is(err, store.ErrConflict) {
		return crewjam.ErrAssertionReplayed
	}
	return err
}

// decodeResponse checks a posted SAMLResponse before anything parses it
// for meaning (the ACS bounds its size): base64, and plain XML with a
// Response at its root, without a document type, entities, comments or
// processing instructions (crewjam's round-trip check refuses what
// encoding/xml would change, not these).
func decodeResponse(v string) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
	if err != nil {
		return nil, errors.New("SAMLResponse is not base64")
	}
	d := xml.NewDecoder(bytes.NewReader(raw))
	d.Strict = true
	root, depth := false, 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, errors.New("SAMLResponse is not well-formed XML")
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, errors.New("SAMLResponse must not carry a DOCTYPE or entity declarations")
		case xml.Comment:
			// Canonicalization drops comments from what a signature
			// covers, so a comment can split a signed NameID into a value
			// that reads as another user's; no identity provider needs
			// one.
			return nil, errors.New("SAMLResponse must not carry XML comments")
		case xml.ProcInst:
			if t.Target != "xml" {
				return nil, errors.New("SAMLResponse must not carry processing instructions")
			}
		case xml.StartElement:
			if depth == 0 {
				if root {
					// One document, one root: a second is a wrapping attempt.
					return nil, errors.New("SAMLResponse is not well-formed XML")
				}
				if t.Name.Local != "Response" || t.Name.Space != "urn:oasis:names:tc:SAML:2.0:protocol" {
					return nil, errors.New("SAMLResponse is not a SAML 2.0 Response")
				}
				root = true
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				return nil, errors.New("SAMLResponse is not well-formed XML")
			}
		}
	}
	if !root {
		return nil, errors.New("SAMLResponse is not a SAML 2.0 Response")
	}
	return raw, nil
}
