package mgmt

import (
	"context"
	"regexp"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// SAML identity providers: Gatehouse is their service provider. Their
// settings are PingOne's (its SDK's IdentityProviderSAML), kept in the
// provider's JSON column beside the members every provider has, under
// PingOne's names (wire.IdentityProviderSAMLData), where the SAML runtime
// reads them through config.IdentityProvider.SAML. The certificates that
// verify the provider's signatures (idpVerification.certificates) must be
// SIGNING certificates of the environment, and the key Gatehouse signs its
// AuthnRequests with (spSigning.key), when named, one of its SIGNING keys.

// samlAssertionRE is a SAML provider's mapping value: one placeholder of
// the assertion, ${samlAssertion.subject} (the NameID) or
// ${samlAssertion.<attribute name>}; attribute names may be URIs
// (urn:oid:0.9.2342.19200300.100.1.3, http://schemas…/emailaddress).
var samlAssertionRE = regexp.MustCompile(`^\$\{samlAssertion\.[A-Za-z0-9_:./-]+\}$`)

// samlProviderRecord is what a SAML provider keeps in its JSON column: the
// members every provider has, under the names IdentityProviderData reads,
// and its SAML settings. No OpenID Connect member is written.
type samlProviderRecord struct {
	Description     string                             `json:"description,omitempty"`
	Registration    *wire.IdentityProviderRegistration `json:"registration,omitempty"`
	Icon            *wire.IdentityProviderIcon         `json:"icon,omitempty"`
	LoginButtonIcon *wire.IdentityProviderIcon         `json:"loginButtonIcon,omitempty"`
	wire.IdentityProviderSAMLData
}

func (a *API) renderSAMLProvider(p *config.IdentityProvider) wire.IdentityProviderSAML {
	self := a.idpHref(p.EnvironmentID, p.ID)
	d := p.SAML
	if d.IdpVerification.Certificates == nil {
		d.IdpVerification.Certificates = []wire.Ref{}
	}
	if d.SloBinding == "" {
		d.SloBinding = wire.SAMLBindingPost
	}
	s := p.Settings
	return wire.IdentityProviderSAML{
		Links: wire.Links{"self": {Href: self}, "environment": {Href: a.APIPath + "/environments/" + p.EnvironmentID},
			"attributes": {Href: self + "/attributes"}},
		ID: p.ID, Environment: wire.Ref{ID: p.EnvironmentID}, Name: p.Name, Description: s.Description, Enabled: p.Enabled,
		Type: p.Type, Registration: s.Registration, Icon: s.Icon, LoginButtonIcon: s.LoginButtonIcon,
		IdentityProviderSAMLData: d, CreatedAt: wire.Time(p.CreatedAt), UpdatedAt: wire.Time(p.UpdatedAt),
	}
}

// refuseSAMLProviderMembers refuses SAML settings on an OPENID_CONNECT
// provider's body.
func refuseSAMLProviderMembers(v *appValidator, req *wire.IdentityProviderRequest) {
	s := req
	for _, m := range []struct {
		name string
		set  bool
	}{
		{"idpEntityId", s.IdpEntityID != nil}, {"idpVerification", s.IdpVerification != nil}, {"spEntityId", s.SpEntityID != nil},
		{"spSigning", s.SpSigning != nil}, {"ssoBinding", s.SsoBinding != nil}, {"ssoEndpoint", s.SsoEndpoint != nil},
		{"authnRequestSigned", s.AuthnRequestSigned != nil},
	} {
		if m.set {
			v.add(wire.InvalidValue(m.name, m.name+" applies to SAML identity providers only."))
		}
	}
}

// validateSAMLProvider checks a SAML provider's own members into d, with
// the environment's certificates and keys; current is the provider's
// settings on a replace (nil on create).
func validateSAMLProvider(ctx context.Context, st store.Store, envID string, v *appValidator, req *wire.IdentityProviderRequest, d, current *wire.IdentityProviderSAMLData) error {
	// As for SAML applications: the certificates and key named below are
	// read under the key lock their deletes take.
	if err := st.LockKeys(ctx, envID); err != nil {
		return err
	}
	nonEmpty := func(s *string) bool { return s != nil && *s != "" }
	for _, m := range []struct {
		name string
		set  bool
	}{
		{"clientId", nonEmpty(req.ClientID)}, {"clientSecret", nonEmpty(req.ClientSecret)},
		{"authorizationEndpoint", nonEmpty(req.AuthorizationEndpoint)}, {"tokenEndpoint", nonEmpty(req.TokenEndpoint)},
		{"userInfoEndpoint", nonEmpty(req.UserInfoEndpoint)}, {"jwksEndpoint", nonEmpty(req.JwksEndpoint)},
		{"issuer", nonEmpty(req.Issuer)}, {"discoveryEndpoint", nonEmpty(req.DiscoveryEndpoint)},
		{"scopes", len(req.Scopes) > 0}, {"tokenEndpointAuthMethod", nonEmpty(req.TokenEndpointAuthMethod)},
		{"pkceMethod", nonEmpty(req.PkceMethod)},
	} {
		if m.set {
			v.add(wire.InvalidValue(m.name, m.name+" applies to OPENID_CONNECT identity providers only."))
		}
	}
	s := req
	d.IdpEntityID = v.entityID("idpEntityId", s.IdpEntityID)
	d.SpEntityID = v.entityID("spEntityId", s.SpEntityID)
	d.SsoEndpoint = v.idpURL("ssoEndpoint", s.SsoEndpoint, true)
	d.SsoBinding = v.enum("ssoBinding", s.SsoBinding, samlBindings, true)
	d.AuthnRequestSigned = s.AuthnRequestSigned != nil && bool(*s.AuthnRequestSigned)
	if s.IdpVerification == nil {
		v.add(wire.Required("idpVerification.certificates"))
	} else {
		certs, err := v.certificates(ctx, st, envID, "idpVerification.certificates", s.IdpVerification.Certificates, true)
		if err != nil {
			return err
		}
		d.IdpVerification.Certificates = certs
	}
	if s.SpSigning != nil {
		var was *wire.SAMLSigning
		if current != nil {
			was = current.SpSigning
		}
		k, err := v.signingKey(ctx, st, envID, "spSigning", s.SpSigning, was)
		if err != nil {
			return err
		}
		// Unlike an application's idpSigning (whose algorithm Terraform
		// requires), a provider's spSigning.algorithm is Optional and not
		// Computed in Terraform's saml block: filled in when left out, it
		// would fail the apply. It is kept as sent; absent, the key's own
		// algorithm signs.
		if k != nil && (s.SpSigning.Algorithm == nil || *s.SpSigning.Algorithm == "") {
			k.Algorithm = ""
		}
		d.SpSigning = k
	}
	d.SloBinding, d.SloEndpoint, d.SloResponseEndpoint, d.SloWindow = v.slo(s.SloBinding, s.SloEndpoint, s.SloResponseEndpoint, s.SloWindow, true)
	return nil
}
