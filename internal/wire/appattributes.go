package wire

// ApplicationAttribute is an application's attribute mapping, as PingOne's
// /applications/{id}/attributes answers it. The CORE sub mapping carries
// no idToken, userInfo or oidcScopes: they do not apply to it; nor does a
// SAML application's mapping.
type ApplicationAttribute struct {
	Links       Links    `json:"_links"`
	ID          string   `json:"id"`
	Environment Ref      `json:"environment"`
	Application Ref      `json:"application"`
	Name        string   `json:"name"`
	Value       string   `json:"value"`
	Required    bool     `json:"required"`
	MappingType string   `json:"mappingType"`
	IDToken     *bool    `json:"idToken,omitempty"`
	UserInfo    *bool    `json:"userInfo,omitempty"`
	OIDCScopes  []string `json:"oidcScopes,omitempty"`
	// NameFormat is a SAML application's attribute NameFormat (a URN).
	NameFormat string `json:"nameFormat,omitempty"`
	CreatedAt  Time   `json:"createdAt"`
	UpdatedAt  Time   `json:"updatedAt"`
}

// ApplicationAttributeRequest is the body of a create or replace. The
// read-only fields (id, mappingType, _links…) the SDK sends back are
// ignored.
type ApplicationAttributeRequest struct {
	Name       *string  `json:"name"`
	Value      *string  `json:"value"`
	Required   *bool    `json:"required"`
	IDToken    *bool    `json:"idToken"`
	UserInfo   *bool    `json:"userInfo"`
	OIDCScopes []string `json:"oidcScopes"`
	NameFormat *string  `json:"nameFormat"`
}
