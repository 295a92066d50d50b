package wire

// Device authentications (PingOne's {authPath}/{envId}/deviceAuthentications):
// an MFA-only flow for one user that an application runs without
// authorize. Members are in the order PingOne's examples print them.

// DeviceAuthenticationRequest is what starts one: the user, and
// optionally the device authentication policy (else the environment's
// default) and the device to use (else the policy's device selection
// decides).
type DeviceAuthenticationRequest struct {
	User           *Ref                        `json:"user"`
	Policy         *Ref                        `json:"policy,omitempty"`
	SelectedDevice *DeviceAuthenticationSelect `json:"selectedDevice,omitempty"`
}

// DeviceAuthenticationSelect names a device of the user. PingOne also
// takes oneTime (a device given in the request, never paired), which
// Gatehouse does not serve.
type DeviceAuthenticationSelect struct {
	ID      string         `json:"id"`
	OneTime map[string]any `json:"oneTime,omitempty"`
}

// DeviceAuthentication is a device authentication as PingOne returns it.
// _links offer the actions its status takes; _embedded.devices are the
// user's devices the policy allows, their email address or phone number
// masked.
type DeviceAuthentication struct {
	Links          Links                         `json:"_links"`
	Embedded       *DeviceAuthenticationEmbedded `json:"_embedded,omitempty"`
	ID             string                        `json:"id"`
	Environment    Ref                           `json:"environment"`
	Status         string                        `json:"status"`
	Policy         Ref                           `json:"policy"`
	SelectedDevice *Ref                          `json:"selectedDevice,omitempty"`
	User           Ref                           `json:"user"`
	// Error says why a FAILED one failed.
	Error     *FlowError `json:"error,omitempty"`
	CreatedAt Time       `json:"createdAt"`
	UpdatedAt Time       `json:"updatedAt"`
}

type DeviceAuthenticationEmbedded struct {
	Devices []DeviceAuthenticationDevice `json:"devices"`
}

// DeviceAuthenticationDevice is one of the user's devices, masked.
type DeviceAuthenticationDevice struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Status   string `json:"status"`
	Nickname string `json:"nickname,omitempty"`
	Email    string `json:"email,omitempty"`
	Phone    string `json:"phone,omitempty"`
}
