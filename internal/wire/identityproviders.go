package wire

// PingOne's external identity providers, their attribute mappings and the
// accounts users have linked to them.

// IdentityProviderIcon is an icon or login button icon: an image id and
// its URL.
type IdentityProviderIcon struct {
	ID   string `json:"id"`
	Href string `json:"href"`
}

// IdentityProviderRegistration names the population just-in-time
// registration creates users in.
type IdentityProviderRegistration struct {
	Population *Ref `json:"population,omitempty"`
}

// IdentityProviderData is what an OPENID_CONNECT provider keeps beyond its
// name, type and enabled flag: it is the provider's JSON column, under
// PingOne's names, and the runtime reads it to talk to the provider. The
// client secret is not here: the store keeps it sealed on its own, and only
// the management API's read of a provider opens it.
type IdentityProviderData struct {
	Description             string                        `json:"description,omitempty"`
	Registration            *IdentityProviderRegistration `json:"registration,omitempty"`
	Icon                    *IdentityProviderIcon         `json:"icon,omitempty"`
	LoginButtonIcon         *IdentityProviderIcon         `json:"loginButtonIcon,omitempty"`
	ClientID                string                        `json:"clientId"`
	AuthorizationEndpoint   string                        `json:"authorizationEndpoint"`
	TokenEndpoint           string                        `json:"tokenEndpoint"`
	UserInfoEndpoint        string                        `json:"userInfoEndpoint,omitempty"`
	JwksEndpoint            string                        `json:"jwksEndpoint"`
	Issuer                  string                        `json:"issuer"`
	DiscoveryEndpoint       string                        `json:"discoveryEndpoint,omitempty"`
	Scopes                  []string                      `json:"scopes"`
	TokenEndpointAuthMethod string                        `json:"tokenEndpointAuthMethod"`
	PkceMethod              string                        `json:"pkceMethod"`
}

// IdentityProvider is the identity provider resource. PingOne's SDK decodes
// it as a oneOf told apart by type; name, enabled and type are always sent.
// clientSecret is always there too, in clear, as PingOne returns it: the
// SDK's OPENID_CONNECT model holds it as a plain string and PingOne's
// Terraform provider reads it back into its state (its import tests verify
// the value), so a provider without it would be planned for replacement on
// every run.
type IdentityProvider struct {
	Links       Links          `json:"_links"`
	Embedded    map[string]any `json:"_embedded,omitempty"`
	ID          string         `json:"id"`
	Environment Ref            `json:"environment"`
	Name        string         `json:"name"`
	Enabled     bool           `json:"enabled"`
	Type        string         `json:"type"`
	IdentityProviderData
	ClientSecret string `json:"clientSecret"`
	CreatedAt    Time   `json:"createdAt"`
	UpdatedAt    Time   `json:"updatedAt"`
}

type IdentityProviderIconRequest struct {
	ID   *string `json:"id"`
	Href *string `json:"href"`
}

// IdentityProviderRequest is a create or replace body. A replace that
// sends the clientSecret a read returned keeps the secret working; one
// that leaves it out or sends it empty keeps the stored secret.
type IdentityProviderRequest struct {
	Name         *string `json:"name"`
	Description  *string `json:"description"`
	Enabled      *Bool   `json:"enabled"`
	Type         *string `json:"type"`
	Registration *struct {
		Population *RefRequest `json:"population"`
	} `json:"registration"`
	Icon                    *IdentityProviderIconRequest `json:"icon"`
	LoginButtonIcon         *IdentityProviderIconRequest `json:"loginButtonIcon"`
	ClientID                *string                      `json:"clientId"`
	ClientSecret            *string                      `json:"clientSecret"`
	AuthorizationEndpoint   *string                      `json:"authorizationEndpoint"`
	TokenEndpoint           *string                      `json:"tokenEndpoint"`
	UserInfoEndpoint        *string                      `json:"userInfoEndpoint"`
	JwksEndpoint            *string                      `json:"jwksEndpoint"`
	Issuer                  *string                      `json:"issuer"`
	DiscoveryEndpoint       *string                      `json:"discoveryEndpoint"`
	Scopes                  []string                     `json:"scopes"`
	TokenEndpointAuthMethod *string                      `json:"tokenEndpointAuthMethod"`
	PkceMethod              *string                      `json:"pkceMethod"`
	// A SAML provider's members (PingOne's SDK IdentityProviderSAML). Flat, not an
	// embedded struct, so that a decoding error names the member alone.
	// authnRequestSigned is a Bool: PingOne's "test a SAML application
	// connection" workflow sends it as the string "false".
	AuthnRequestSigned *Bool   `json:"authnRequestSigned"`
	IdpEntityID        *string `json:"idpEntityId"`
	IdpVerification    *struct {
		Certificates []RefRequest `json:"certificates"`
	} `json:"idpVerification"`
	SpEntityID          *string             `json:"spEntityId"`
	SpSigning           *SAMLSigningRequest `json:"spSigning"`
	SsoBinding          *string             `json:"ssoBinding"`
	SsoEndpoint         *string             `json:"ssoEndpoint"`
	SloBinding          *string             `json:"sloBinding"`
	SloEndpoint         *string             `json:"sloEndpoint"`
	SloResponseEndpoint *string             `json:"sloResponseEndpoint"`
	SloWindow           *int                `json:"sloWindow"`
}

// IdentityProviderSAML is a SAML provider as PingOne's SDK model
// IdentityProviderSAML reads it: no OpenID Connect member (no client
// secret) appears on it.
type IdentityProviderSAML struct {
	Links           Links                         `json:"_links"`
	Embedded        map[string]any                `json:"_embedded,omitempty"`
	ID              string                        `json:"id"`
	Environment     Ref                           `json:"environment"`
	Name            string                        `json:"name"`
	Description     string                        `json:"description,omitempty"`
	Enabled         bool                          `json:"enabled"`
	Type            string                        `json:"type"`
	Registration    *IdentityProviderRegistration `json:"registration,omitempty"`
	Icon            *IdentityProviderIcon         `json:"icon,omitempty"`
	LoginButtonIcon *IdentityProviderIcon         `json:"loginButtonIcon,omitempty"`
	IdentityProviderSAMLData
	CreatedAt Time `json:"createdAt"`
	UpdatedAt Time `json:"updatedAt"`
}

// IdentityProviderAttribute is an attribute mapping of a provider. It always
// carries identityProvider{id}: PingOne's SDK decodes attribute lists as a
// oneOf told apart by that object.
type IdentityProviderAttribute struct {
	Links            Links  `json:"_links"`
	ID               string `json:"id"`
	Environment      Ref    `json:"environment"`
	IdentityProvider Ref    `json:"identityProvider"`
	Name             string `json:"name"`
	Value            string `json:"value"`
	Update           string `json:"update"`
	MappingType      string `json:"mappingType"`
	CreatedAt        Time   `json:"createdAt"`
	UpdatedAt        Time   `json:"updatedAt"`
}

type IdentityProviderAttributeRequest struct {
	Name   *string `json:"name"`
	Value  *string `json:"value"`
	Update *string `json:"update"`
}

// LinkedAccount ties a user to the identity an external provider knows the
// user by (externalId).
type LinkedAccount struct {
	Links            Links  `json:"_links"`
	ID               string `json:"id"`
	Environment      Ref    `json:"environment"`
	User             Ref    `json:"user"`
	IdentityProvider Ref    `json:"identityProvider"`
	ExternalID       string `json:"externalId"`
	CreatedAt        Time   `json:"createdAt"`
	UpdatedAt        Time   `json:"updatedAt"`
}

// LinkedAccountAttribute is a user attribute a link writes: its value, and
// whether it replaces a value the user has (ALWAYS) or only fills an empty
// one (EMPTY_ONLY).
type LinkedAccountAttribute struct {
	Value  *string `json:"value"`
	Update *string `json:"update"`
}

// LinkedAccountRequest is application/vnd.pingidentity.account.link+json.
type LinkedAccountRequest struct {
	IdentityProvider *RefRequest                       `json:"identityProvider"`
	ExternalID       *string                           `json:"externalId"`
	Attributes       map[string]LinkedAccountAttribute `json:"attributes"`
}
