package wire

// MFADevice is a user's MFA device (PingOne's users/{id}/devices). A
// TOTP device's secret and keyUri are in the creation's response only.
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
	CreatedAt   Time   `json:"createdAt"`
	UpdatedAt   Time   `json:"updatedAt"`
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
}

// MFADeviceActivateRequest is the body of a device's activation.
type MFADeviceActivateRequest struct {
	OTP *string `json:"otp"`
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
