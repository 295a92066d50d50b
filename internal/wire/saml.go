package wire

// SAML settings of applications and identity providers, under PingOne's
// names (its SDK's ApplicationSAML and IdentityProviderSAML). They are kept
// in the same JSON column as the settings every application or provider
// has (ApplicationData, IdentityProviderData), beside them.

// SAML protocol and binding names as PingOne's API spells them.
const (
	ProtocolSAML = "SAML"
	IDPTypeSAML  = "SAML"

	SAMLBindingPost     = "HTTP_POST"
	SAMLBindingRedirect = "HTTP_REDIRECT"
)

// SAMLSigning names the key that signs, and with which algorithm
// (SHA256withRSA…; empty: the key's own).
type SAMLSigning struct {
	Key       Ref    `json:"key"`
	Algorithm string `json:"algorithm,omitempty"`
}

// SAMLCertificates lists certificates (ids of /certificates) trusted to
// verify a partner's signatures.
type SAMLCertificates struct {
	Certificates []Ref `json:"certificates"`
}

// SAMLSPVerification is how a SAML application's AuthnRequests are
// verified: whether they must be signed, and by which certificates.
type SAMLSPVerification struct {
	AuthnRequestSigned bool  `json:"authnRequestSigned"`
	Certificates       []Ref `json:"certificates"`
}

// ApplicationSAMLData is what a SAML application keeps beyond the
// settings every application has (name, description, icon, access
// control… in ApplicationData).
type ApplicationSAMLData struct {
	// AcsURLs are the service provider's assertion consumer services; the
	// first is the default. A response is only ever sent to one of them.
	AcsURLs []string `json:"acsUrls"`
	// AssertionDuration is the assertion's validity in seconds.
	AssertionDuration int `json:"assertionDuration"`
	// AssertionSigned (PingOne's default true) and ResponseSigned (default
	// false) say what the identity provider signs. Pointers: absent takes
	// the default.
	AssertionSigned *bool `json:"assertionSigned,omitempty"`
	ResponseSigned  *bool `json:"responseSigned,omitempty"`
	// DefaultTargetURL is the RelayState of an IdP-initiated sign-on that
	// names none (applicationUrl overrides it).
	DefaultTargetURL string `json:"defaultTargetUrl,omitempty"`
	// EnableRequestedAuthnContext is kept as sent and shown only when it
	// was: PingOne returns it only when set (Terraform's
	// enable_requested_authn_context is Optional, not Computed).
	EnableRequestedAuthnContext                  *bool `json:"enableRequestedAuthnContext,omitempty"`
	EnableAlwaysAcceptAcsURLInSignedAuthnRequest bool  `json:"enableAlwaysAcceptAcsUrlInSignedAuthnRequest"`
	// IdpSigning names the key (of /keys, usage SIGNING) that signs;
	// absent: the environment's default signing key.
	IdpSigning *SAMLSigning `json:"idpSigning,omitempty"`
	// NameIDFormat is the Subject's NameID format (a URN); empty means
	// unspecified, and is then not shown (PingOne returns nameIdFormat only
	// when set: Terraform's nameid_format is Optional, not Computed).
	NameIDFormat                string `json:"nameIdFormat,omitempty"`
	SessionNotOnOrAfterDuration *int   `json:"sessionNotOnOrAfterDuration,omitempty"`
	// Single logout is stored, not yet served.
	SloBinding          string `json:"sloBinding,omitempty"`
	SloEndpoint         string `json:"sloEndpoint,omitempty"`
	SloResponseEndpoint string `json:"sloResponseEndpoint,omitempty"`
	SloWindow           *int   `json:"sloWindow,omitempty"`
	// SpEntityID names the service provider in its AuthnRequests: unique
	// within the environment.
	SpEntityID     string              `json:"spEntityId"`
	SpVerification *SAMLSPVerification `json:"spVerification,omitempty"`
}

// IdentityProviderSAMLData is what a SAML identity provider keeps beyond
// the settings every provider has (description, registration, icons in
// IdentityProviderData).
type IdentityProviderSAMLData struct {
	// AuthnRequestSigned: Gatehouse signs its AuthnRequests (with
	// SpSigning's key, else the environment's default signing key).
	AuthnRequestSigned bool `json:"authnRequestSigned"`
	// IdpEntityID is the Issuer the provider's responses must carry.
	IdpEntityID string `json:"idpEntityId"`
	// IdpVerification lists the certificates trusted to verify its
	// signatures.
	IdpVerification SAMLCertificates `json:"idpVerification"`
	// SpEntityID is Gatehouse's entity id towards this provider: the
	// Issuer of its AuthnRequests and the audience it expects.
	SpEntityID string       `json:"spEntityId"`
	SpSigning  *SAMLSigning `json:"spSigning,omitempty"`
	// SsoBinding (HTTP_POST | HTTP_REDIRECT) and SsoEndpoint are where the
	// browser takes the AuthnRequest.
	SsoBinding  string `json:"ssoBinding"`
	SsoEndpoint string `json:"ssoEndpoint"`
	// Single logout is stored, not yet served.
	SloBinding          string `json:"sloBinding,omitempty"`
	SloEndpoint         string `json:"sloEndpoint,omitempty"`
	SloResponseEndpoint string `json:"sloResponseEndpoint,omitempty"`
	SloWindow           *int   `json:"sloWindow,omitempty"`
}
