package wire

import "encoding/json"

// Applications (OIDC), their secret, resource grants and sign-on policy
// assignments, as PingOne's management API shapes them.

type Icon struct {
	ID   string `json:"id"`
	Href string `json:"href"`
}

type CorsSettings struct {
	Behavior string   `json:"behavior"`
	Origins  []string `json:"origins,omitempty"`
}

type AccessControlRole struct {
	Type string `json:"type"`
}

type AccessControlGroup struct {
	Type   string `json:"type"`
	Groups []Ref  `json:"groups"`
}

type AccessControl struct {
	Role  *AccessControlRole  `json:"role,omitempty"`
	Group *AccessControlGroup `json:"group,omitempty"`
}

// ApplicationData is the long tail of an application kept in its JSON
// column; responses embed it. grantTypes keeps its name: the token
// endpoint reads it. Booleans are always written, false included: PingOne
// returns them, and its Terraform provider reads an absent one as null
// where its plan said false.
type ApplicationData struct {
	Description                                   string          `json:"description,omitempty"`
	HiddenFromAppPortal                           bool            `json:"hiddenFromAppPortal"`
	LoginPageURL                                  string          `json:"loginPageUrl,omitempty"`
	HomePageURL                                   string          `json:"homePageUrl,omitempty"`
	Icon                                          *Icon           `json:"icon,omitempty"`
	AccessControl                                 *AccessControl  `json:"accessControl,omitempty"`
	AssignActorRoles                              bool            `json:"assignActorRoles"`
	Mobile                                        json.RawMessage `json:"mobile,omitempty"`
	ResponseTypes                                 []string        `json:"responseTypes,omitempty"`
	GrantTypes                                    []string        `json:"grantTypes"`
	RedirectURIs                                  []string        `json:"redirectUris,omitempty"`
	PostLogoutRedirectURIs                        []string        `json:"postLogoutRedirectUris,omitempty"`
	AllowWildcardInRedirectURIs                   bool            `json:"allowWildcardInRedirectUris"`
	PkceEnforcement                               string          `json:"pkceEnforcement,omitempty"`
	RequestScopesForMultipleResourcesEnabled      bool            `json:"requestScopesForMultipleResourcesEnabled"`
	RefreshTokenDuration                          *int            `json:"refreshTokenDuration,omitempty"`
	RefreshTokenRollingDuration                   *int            `json:"refreshTokenRollingDuration,omitempty"`
	RefreshTokenRollingGracePeriodDuration        *int            `json:"refreshTokenRollingGracePeriodDuration,omitempty"`
	AdditionalRefreshTokenReplayProtectionEnabled *bool           `json:"additionalRefreshTokenReplayProtectionEnabled,omitempty"`
	IdpSignoff                                    bool            `json:"idpSignoff"`
	DevicePathID                                  string          `json:"devicePathId,omitempty"`
	DeviceCustomVerificationURI                   string          `json:"deviceCustomVerificationUri,omitempty"`
	DeviceTimeout                                 int             `json:"deviceTimeout,omitempty"`
	DevicePollingInterval                         int             `json:"devicePollingInterval,omitempty"`
	ParRequirement                                string          `json:"parRequirement,omitempty"`
	ParTimeout                                    int             `json:"parTimeout,omitempty"`
	InitiateLoginURI                              string          `json:"initiateLoginUri,omitempty"`
	TargetLinkURI                                 string          `json:"targetLinkUri,omitempty"`
	CorsSettings                                  *CorsSettings   `json:"corsSettings,omitempty"`
	Jwks                                          string          `json:"jwks,omitempty"`
	JwksURL                                       string          `json:"jwksUrl,omitempty"`
	RequireSignedRequestObject                    bool            `json:"requireSignedRequestObject"`
	SupportUnsignedRequestObject                  bool            `json:"supportUnsignedRequestObject"`
	IncludeX5t                                    bool            `json:"includeX5t"`
	OpSessionCheckEnabled                         bool            `json:"opSessionCheckEnabled"`
	// RefreshTokenType is kept as set: Gatehouse's refresh tokens are
	// opaque, and JSON_WEB_TOKEN is refused when configured.
	RefreshTokenType string `json:"refreshTokenType,omitempty"`
}

// Application is an OIDC application. protocol, type, enabled, name and
// tokenEndpointAuthMethod are always present: PingOne's SDK picks the Go
// type by protocol and type, and its non-pointer fields need the rest.
type Application struct {
	Links                   Links  `json:"_links"`
	Environment             Ref    `json:"environment"`
	ID                      string `json:"id"`
	Name                    string `json:"name"`
	Enabled                 bool   `json:"enabled"`
	Type                    string `json:"type"`
	Protocol                string `json:"protocol"`
	CreatedAt               Time   `json:"createdAt"`
	UpdatedAt               Time   `json:"updatedAt"`
	ClientID                string `json:"clientId"`
	TokenEndpointAuthMethod string `json:"tokenEndpointAuthMethod"`
	ApplicationData
}

// ApplicationRequest is a POST or PUT body. Read-only members the SDK
// echoes back (id, clientId, _links, createdAt…) are not listed, so they
// are ignored.
type ApplicationRequest struct {
	Name                                          *string         `json:"name"`
	Description                                   *string         `json:"description"`
	Enabled                                       *bool           `json:"enabled"`
	Protocol                                      *string         `json:"protocol"`
	Type                                          *string         `json:"type"`
	HiddenFromAppPortal                           *bool           `json:"hiddenFromAppPortal"`
	LoginPageURL                                  *string         `json:"loginPageUrl"`
	HomePageURL                                   *string         `json:"homePageUrl"`
	Icon                                          *Icon           `json:"icon"`
	AccessControl                                 *AccessControl  `json:"accessControl"`
	AssignActorRoles                              *bool           `json:"assignActorRoles"`
	Mobile                                        json.RawMessage `json:"mobile"`
	GrantTypes                                    []string        `json:"grantTypes"`
	ResponseTypes                                 []string        `json:"responseTypes"`
	RedirectURIs                                  []string        `json:"redirectUris"`
	PostLogoutRedirectURIs                        []string        `json:"postLogoutRedirectUris"`
	AllowWildcardInRedirectURIs                   *bool           `json:"allowWildcardInRedirectUris"`
	TokenEndpointAuthMethod                       *string         `json:"tokenEndpointAuthMethod"`
	PkceEnforcement                               *string         `json:"pkceEnforcement"`
	RequestScopesForMultipleResourcesEnabled      *bool           `json:"requestScopesForMultipleResourcesEnabled"`
	RefreshTokenDuration                          *int            `json:"refreshTokenDuration"`
	RefreshTokenRollingDuration                   *int            `json:"refreshTokenRollingDuration"`
	RefreshTokenRollingGracePeriodDuration        *int            `json:"refreshTokenRollingGracePeriodDuration"`
	AdditionalRefreshTokenReplayProtectionEnabled *bool           `json:"additionalRefreshTokenReplayProtectionEnabled"`
	IdpSignoff                                    *bool           `json:"idpSignoff"`
	DevicePathID                                  *string         `json:"devicePathId"`
	DeviceCustomVerificationURI                   *string         `json:"deviceCustomVerificationUri"`
	DeviceTimeout                                 *int            `json:"deviceTimeout"`
	DevicePollingInterval                         *int            `json:"devicePollingInterval"`
	ParRequirement                                *string         `json:"parRequirement"`
	ParTimeout                                    *int            `json:"parTimeout"`
	InitiateLoginURI                              *string         `json:"initiateLoginUri"`
	TargetLinkURI                                 *string         `json:"targetLinkUri"`
	CorsSettings                                  *CorsSettings   `json:"corsSettings"`
	Jwks                                          *string         `json:"jwks"`
	JwksURL                                       *string         `json:"jwksUrl"`
	RequireSignedRequestObject                    *bool           `json:"requireSignedRequestObject"`
	SupportUnsignedRequestObject                  *bool           `json:"supportUnsignedRequestObject"`
	IncludeX5t                                    *bool           `json:"includeX5t"`
	OpSessionCheckEnabled                         *bool           `json:"opSessionCheckEnabled"`
	// Members Gatehouse does not serve: read so that a value that would
	// change runtime behaviour is refused, never silently dropped.
	RefreshTokenType *string         `json:"refreshTokenType"`
	Signing          json.RawMessage `json:"signing"`
	Kerberos         json.RawMessage `json:"kerberos"`
	// A SAML application's members (PingOne's SDK ApplicationSAML). Flat, not an
	// embedded struct, so that a decoding error names the member alone.
	AcsURLs                                      []string                   `json:"acsUrls"`
	AssertionDuration                            *int                       `json:"assertionDuration"`
	AssertionSigned                              *bool                      `json:"assertionSigned"`
	ResponseSigned                               *bool                      `json:"responseSigned"`
	DefaultTargetURL                             *string                    `json:"defaultTargetUrl"`
	EnableRequestedAuthnContext                  *bool                      `json:"enableRequestedAuthnContext"`
	EnableAlwaysAcceptAcsURLInSignedAuthnRequest *bool                      `json:"enableAlwaysAcceptAcsUrlInSignedAuthnRequest"`
	IdpSigning                                   *SAMLSigningRequest        `json:"idpSigning"`
	NameIDFormat                                 *string                    `json:"nameIdFormat"`
	SessionNotOnOrAfterDuration                  *int                       `json:"sessionNotOnOrAfterDuration"`
	SloBinding                                   *string                    `json:"sloBinding"`
	SloEndpoint                                  *string                    `json:"sloEndpoint"`
	SloResponseEndpoint                          *string                    `json:"sloResponseEndpoint"`
	SloWindow                                    *int                       `json:"sloWindow"`
	SpEntityID                                   *string                    `json:"spEntityId"`
	SpVerification                               *SAMLSPVerificationRequest `json:"spVerification"`
	// spEncryption and virtualServerIdSettings are read to be refused:
	// assertion encryption and virtual server ids are not served.
	SpEncryption            json.RawMessage `json:"spEncryption"`
	VirtualServerIDSettings json.RawMessage `json:"virtualServerIdSettings"`
}

// SAMLSigningRequest is idpSigning (of an application) or spSigning (of an
// identity provider) as a request sends it.
type SAMLSigningRequest struct {
	Key       *RefRequest `json:"key"`
	Algorithm *string     `json:"algorithm"`
}

// SAMLSPVerificationRequest is a SAML application's spVerification as a
// request sends it.
type SAMLSPVerificationRequest struct {
	AuthnRequestSigned *bool        `json:"authnRequestSigned"`
	Certificates       []RefRequest `json:"certificates"`
}

// ApplicationSAML is a SAML application as PingOne's SDK model
// ApplicationSAML reads it: the members every application has, and its
// SAML settings with PingOne's defaults filled in (assertionSigned true,
// responseSigned false, sloBinding HTTP_POST…). No OpenID Connect member
// appears on it.
type ApplicationSAML struct {
	Links               Links          `json:"_links"`
	Environment         Ref            `json:"environment"`
	ID                  string         `json:"id"`
	Name                string         `json:"name"`
	Description         string         `json:"description,omitempty"`
	Enabled             bool           `json:"enabled"`
	Type                string         `json:"type"`
	Protocol            string         `json:"protocol"`
	CreatedAt           Time           `json:"createdAt"`
	UpdatedAt           Time           `json:"updatedAt"`
	HiddenFromAppPortal bool           `json:"hiddenFromAppPortal"`
	LoginPageURL        string         `json:"loginPageUrl,omitempty"`
	HomePageURL         string         `json:"homePageUrl,omitempty"`
	Icon                *Icon          `json:"icon,omitempty"`
	AccessControl       *AccessControl `json:"accessControl,omitempty"`
	CorsSettings        *CorsSettings  `json:"corsSettings,omitempty"`
	ApplicationSAMLData
}

type PreviousSecret struct {
	Secret    string `json:"secret"`
	ExpiresAt Time   `json:"expiresAt"`
	LastUsed  *Time  `json:"lastUsed,omitempty"`
}

type ApplicationSecret struct {
	Links       Links           `json:"_links"`
	Environment Ref             `json:"environment"`
	Secret      string          `json:"secret"`
	Previous    *PreviousSecret `json:"previous,omitempty"`
}

// PreviousSecretRequest's expiresAt is a string so that a bad timestamp
// is an INVALID_VALUE naming it, not malformed JSON.
type PreviousSecretRequest struct {
	ExpiresAt *string `json:"expiresAt"`
}

// ApplicationSecretRequest is the optional body of POST …/secret.
type ApplicationSecretRequest struct {
	Previous *PreviousSecretRequest `json:"previous"`
}

type ApplicationGrant struct {
	Links       Links  `json:"_links"`
	ID          string `json:"id"`
	Environment Ref    `json:"environment"`
	Application Ref    `json:"application"`
	Resource    Ref    `json:"resource"`
	Scopes      []Ref  `json:"scopes"`
	CreatedAt   Time   `json:"createdAt"`
	UpdatedAt   Time   `json:"updatedAt"`
}

type ApplicationGrantRequest struct {
	Resource *Ref  `json:"resource"`
	Scopes   []Ref `json:"scopes"`
}

type SignOnPolicyAssignment struct {
	Links        Links  `json:"_links"`
	ID           string `json:"id"`
	Environment  Ref    `json:"environment"`
	Application  Ref    `json:"application"`
	SignOnPolicy Ref    `json:"signOnPolicy"`
	Priority     int    `json:"priority"`
}

type SignOnPolicyAssignmentRequest struct {
	Priority     *int `json:"priority"`
	SignOnPolicy *Ref `json:"signOnPolicy"`
}
