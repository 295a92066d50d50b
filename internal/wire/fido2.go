package wire

// PingOne's FIDO2 policies (…/fido2Policies): how passkeys and security
// keys are registered and asserted. Responses carry every member PingOne
// always returns; description and publicKeyCredentialHints only when set,
// as the Terraform provider holds them optional and not computed.

// FIDO2BackupEligibility is whether backed-up (synced) credentials may
// register, and whether the flag is checked again at each assertion.
type FIDO2BackupEligibility struct {
	Allow                       bool `json:"allow"`
	EnforceDuringAuthentication bool `json:"enforceDuringAuthentication"`
}

// FIDO2AuthenticatorRef names an authenticator by its MDS identifier (an
// AAGUID for FIDO2 authenticators).
type FIDO2AuthenticatorRef struct {
	ID string `json:"id"`
}

// FIDO2MDSRequirements are the checks against the FIDO metadata service.
type FIDO2MDSRequirements struct {
	Option                      string                  `json:"option"`
	EnforceDuringAuthentication bool                    `json:"enforceDuringAuthentication"`
	AllowedAuthenticators       []FIDO2AuthenticatorRef `json:"allowedAuthenticators,omitempty"`
}

// FIDO2UserAttribute is a user attribute the credential's user display
// name is made of; name takes subattributes (given, family, formatted).
type FIDO2UserAttribute struct {
	Name          string               `json:"name"`
	SubAttributes []FIDO2UserAttribute `json:"subAttributes,omitempty"`
}

type FIDO2UserDisplayNameAttributes struct {
	Attributes []FIDO2UserAttribute `json:"attributes"`
}

type FIDO2UserVerification struct {
	Option                      string `json:"option"`
	EnforceDuringAuthentication bool   `json:"enforceDuringAuthentication"`
}

// FIDO2PolicyData is what a FIDO2 policy holds besides its identity, its
// name and its default flag: stored as one JSON document. An empty
// RelyingPartyID leaves the relying party to Gatehouse: the host of the
// environment's base URL (the management API renders that host).
type FIDO2PolicyData struct {
	Description                   string                         `json:"description,omitempty"`
	AttestationRequirements       string                         `json:"attestationRequirements"`
	AuthenticatorAttachment       string                         `json:"authenticatorAttachment"`
	BackupEligibility             FIDO2BackupEligibility         `json:"backupEligibility"`
	DeviceDisplayName             string                         `json:"deviceDisplayName"`
	DiscoverableCredentials       string                         `json:"discoverableCredentials"`
	MDSAuthenticatorsRequirements FIDO2MDSRequirements           `json:"mdsAuthenticatorsRequirements"`
	RelyingPartyID                string                         `json:"relyingPartyId"`
	UserDisplayNameAttributes     FIDO2UserDisplayNameAttributes `json:"userDisplayNameAttributes"`
	UserVerification              FIDO2UserVerification          `json:"userVerification"`
	UserPresenceTimeout           TimePeriod                     `json:"userPresenceTimeout"`
	PublicKeyCredentialHints      []string                       `json:"publicKeyCredentialHints,omitempty"`
}

// FIDO2Policy is …/fido2Policies/{id}.
type FIDO2Policy struct {
	Links       Links  `json:"_links,omitempty"`
	ID          string `json:"id"`
	Environment Ref    `json:"environment"`
	Name        string `json:"name"`
	Default     bool   `json:"default"`
	FIDO2PolicyData
	// Embedded answers ?expand=deviceAuthenticationPolicies.
	Embedded  *FIDO2PolicyEmbedded `json:"_embedded,omitempty"`
	CreatedAt Time                 `json:"createdAt"`
	UpdatedAt Time                 `json:"updatedAt"`
}

// FIDO2PolicyEmbedded lists the device authentication policies that use
// a FIDO2 policy (PingOne's _embedded.deviceAuthenticationPolicies: the
// SDK's model has no member for them, so they travel under _embedded).
type FIDO2PolicyEmbedded struct {
	DeviceAuthenticationPolicies []FIDO2PolicyUse `json:"deviceAuthenticationPolicies"`
}

// FIDO2PolicyUse is a device authentication policy that uses a FIDO2
// policy.
type FIDO2PolicyUse struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// FIDO2PolicyRequest is a POST or PUT of a FIDO2 policy, as the SDK's
// FIDO2Policy model marshals it. The members the server sets are ignored.
type FIDO2PolicyRequest struct {
	Name                    *string `json:"name"`
	Description             *string `json:"description"`
	Default                 *Bool   `json:"default"`
	AttestationRequirements *string `json:"attestationRequirements"`
	AuthenticatorAttachment *string `json:"authenticatorAttachment"`
	BackupEligibility       *struct {
		Allow                       *Bool `json:"allow"`
		EnforceDuringAuthentication *Bool `json:"enforceDuringAuthentication"`
	} `json:"backupEligibility"`
	DeviceDisplayName             *string `json:"deviceDisplayName"`
	DiscoverableCredentials       *string `json:"discoverableCredentials"`
	MDSAuthenticatorsRequirements *struct {
		Option                      *string `json:"option"`
		EnforceDuringAuthentication *Bool   `json:"enforceDuringAuthentication"`
		AllowedAuthenticators       []struct {
			ID *string `json:"id"`
		} `json:"allowedAuthenticators"`
	} `json:"mdsAuthenticatorsRequirements"`
	RelyingPartyID            *string `json:"relyingPartyId"`
	UserDisplayNameAttributes *struct {
		Attributes []FIDO2UserAttributeRequest `json:"attributes"`
	} `json:"userDisplayNameAttributes"`
	UserVerification *struct {
		Option                      *string `json:"option"`
		EnforceDuringAuthentication *Bool   `json:"enforceDuringAuthentication"`
	} `json:"userVerification"`
	UserPresenceTimeout      *TimePeriodRequest `json:"userPresenceTimeout"`
	PublicKeyCredentialHints []*string          `json:"publicKeyCredentialHints"`
}

type FIDO2UserAttributeRequest struct {
	Name          *string                     `json:"name"`
	SubAttributes []FIDO2UserAttributeRequest `json:"subAttributes"`
}

// ---- the fido2 member of a device authentication policy

// FIDO2MethodPolicy is the fido2 member of a device authentication
// policy. FIDO2PolicyID nil is the environment's default FIDO2 policy.
// PromptForNicknameOnPairing is absent unless sent, as for the other
// methods (the Terraform provider holds it optional and not computed).
type FIDO2MethodPolicy struct {
	Enabled                    bool       `json:"enabled"`
	PairingDisabled            bool       `json:"pairingDisabled"`
	PromptForNicknameOnPairing *bool      `json:"promptForNicknameOnPairing,omitempty"`
	FIDO2PolicyID              *string    `json:"fido2PolicyId"`
	Failure                    OTPFailure `json:"failure"`
}

// FIDO2MethodRequest is the fido2 member as sent.
type FIDO2MethodRequest struct {
	Enabled                    *Bool              `json:"enabled"`
	PairingDisabled            *Bool              `json:"pairingDisabled"`
	PromptForNicknameOnPairing *Bool              `json:"promptForNicknameOnPairing"`
	FIDO2PolicyID              *string            `json:"fido2PolicyId"`
	Failure                    *OTPFailureRequest `json:"failure"`
}
