package wire

import "encoding/json"

// MFADevice is a user's MFA device (PingOne's users/{id}/devices). A
// TOTP device's secret and keyUri are in the creation's response only,
// as are a FIDO2 device's publicKeyCredentialCreationOptions (a JSON
// string, as PingOne sends them).
type MFADevice struct {
	Links       Links  `json:"_links"`
	ID          string `json:"id"`
	Environment Ref    `json:"environment"`
	User        Ref    `json:"user"`
	Type        string `json:"type"`
	Status      string `json:"status"`
	Nickname    string `json:"nickname,omitempty"`
	Email       string `json:"email,omitempty"`
	Phone       string `json:"phone,omitempty"`
	Secret      string `json:"secret,omitempty"`
	KeyURI      string `json:"keyUri,omitempty"`
	// RP is a FIDO2 device's relying party.
	RP                                 *MFADeviceRP `json:"rp,omitempty"`
	PublicKeyCredentialCreationOptions string       `json:"publicKeyCredentialCreationOptions,omitempty"`
	CreatedAt                          Time         `json:"createdAt"`
	UpdatedAt                          Time         `json:"updatedAt"`
}

// MFADeviceRP is a FIDO2 device's relying party.
type MFADeviceRP struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// MFADeviceRequest is a device to create. The members the server sets
// (id, environment, createdAt, _links…) are ignored, as PingOne's SDK
// sends them back; policy names the device authentication policy.
type MFADeviceRequest struct {
	Type     *string     `json:"type"`
	Status   *string     `json:"status"`
	Nickname *string     `json:"nickname"`
	Email    *string     `json:"email"`
	Phone    *string     `json:"phone"`
	Policy   *RefRequest `json:"policy"`
	// RP is a FIDO2 device's relying party, as PingOne's create asks it.
	RP *struct {
		ID   *string `json:"id"`
		Name *string `json:"name"`
	} `json:"rp"`
}

// MFADeviceActivateRequest is the body of a device's activation: the
// passcode of an OTP device, or the origin and the attestation (the
// PublicKeyCredential JSON, as a JSON string as PingOne takes it, or as
// the object) of a FIDO2 device.
type MFADeviceActivateRequest struct {
	OTP         *string         `json:"otp"`
	Origin      *string         `json:"origin"`
	Attestation json.RawMessage `json:"attestation"`
}

// MFADeviceNicknameRequest is the body of PUT …/devices/{id}/nickname.
type MFADeviceNicknameRequest struct {
	Nickname *string `json:"nickname"`
}

// MFADeviceOrderRequest is the body of a device order: the user's
// devices, first to last.
type MFADeviceOrderRequest struct {
	Order []RefRequest `json:"order"`
}
