package wire

import "encoding/json"

// Flows of the auth service, as PingOne's flow API shapes them. Members
// are in the order PingOne prints them (the seed's resume response).

// The statuses of a flow and the actions of the flow API, as PingOne names
// them. Each status and action belongs to the sign-on method that runs it
// (internal/flow/methods); COMPLETED, FAILED and session.reset belong to
// the engine (internal/flow). An action is selected by its media type,
// application/vnd.pingidentity.<action>+json.
const (
	StatusUsernamePasswordRequired = "USERNAME_PASSWORD_REQUIRED"
	StatusPasswordRequired         = "PASSWORD_REQUIRED"
	StatusMustChangePassword       = "MUST_CHANGE_PASSWORD"
	StatusPasswordExpired          = "PASSWORD_EXPIRED"
	StatusSignOnRequired           = "SIGN_ON_REQUIRED"
	StatusRecoveryCodeRequired     = "RECOVERY_CODE_REQUIRED"
	StatusVerificationCodeRequired = "VERIFICATION_CODE_REQUIRED"
	StatusExternalAuthRequired     = "EXTERNAL_AUTHENTICATION_REQUIRED"
	StatusAccountLinkingRequired   = "ACCOUNT_LINKING_REQUIRED"
	// The device authorization grant's statuses: the user code, then the
	// user's consent to the device.
	StatusDAGUserCodeRequired = "DAG_USER_CODE_REQUIRED"
	StatusDAGConsentRequired  = "DAG_CONSENT_REQUIRED"

	ActionUsernamePasswordCheck    = "usernamePassword.check"
	ActionPasswordReset            = "password.reset"
	ActionUserLookup               = "user.lookup"
	ActionPasswordForgot           = "password.forgot"
	ActionPasswordSendRecoveryCode = "password.sendRecoveryCode"
	ActionPasswordRecover          = "password.recover"
	ActionUserRegister             = "user.register"
	ActionUserVerify               = "user.verify"
	ActionUserSendVerificationCode = "user.sendVerificationCode"
	ActionDeviceUserCodeVerify     = "deviceAuthGrant.userCode.verify"
	ActionDeviceConsent            = "deviceAuthGrant.consent"
)

type FlowUserName struct {
	Given  string `json:"given,omitempty"`
	Family string `json:"family,omitempty"`
}

// FlowUser is the flow's user. Before the user has authenticated only the
// username typed is shown, so that a flow never tells whether it exists.
type FlowUser struct {
	ID       string        `json:"id,omitempty"`
	Username string        `json:"username"`
	Name     *FlowUserName `json:"name,omitempty"`
}

type FlowApplication struct {
	Name string `json:"name"`
	Icon *Icon  `json:"icon,omitempty"`
}

// SocialProvider is an external identity provider a flow offers.
type SocialProvider struct {
	ID    string `json:"id"`
	Type  string `json:"type"`
	Name  string `json:"name"`
	Links Links  `json:"_links,omitempty"`
}

type FlowEmbedded struct {
	User            *FlowUser        `json:"user,omitempty"`
	Application     *FlowApplication `json:"application,omitempty"`
	PasswordPolicy  json.RawMessage  `json:"passwordPolicy,omitempty"`
	SocialProviders []SocialProvider `json:"socialProviders,omitempty"`
	// IdentityProvider is the provider of EXTERNAL_AUTHENTICATION_REQUIRED
	// (with its authenticate link) and of ACCOUNT_LINKING_REQUIRED.
	IdentityProvider *SocialProvider `json:"identityProvider,omitempty"`
	// UserCode pre-fills DAG_USER_CODE_REQUIRED when the user came with
	// the device's verification_uri_complete (a Gatehouse addition: PingOne
	// pre-fills its hosted page the same way).
	UserCode string `json:"userCode,omitempty"`
	// Devices are the user's MFA devices (DEVICE_SELECTION_REQUIRED,
	// OTP_REQUIRED); DeviceRegistration what a user without one may
	// register (DEVICE_REGISTRATION_REQUIRED, a Gatehouse addition).
	Devices            []FlowDevice            `json:"devices,omitempty"`
	DeviceRegistration *FlowDeviceRegistration `json:"deviceRegistration,omitempty"`
	// PromptText and Attributes: PROFILE_DATA_REQUIRED; Agreement:
	// AGREEMENT_CONSENT_REQUIRED (flowactions.go).
	PromptText string                 `json:"promptText,omitempty"`
	Attributes []FlowProfileAttribute `json:"attributes,omitempty"`
	Agreement  *FlowAgreement         `json:"agreement,omitempty"`
}

// AuthorizeResponse is what resume returns to a pi.flow client: the
// authorization response's parameters under their OAuth names, as a
// redirect would carry them (the code, and for implicit and hybrid
// response types the tokens; PingOne's clients read
// authorizeResponse.access_token and authorizeResponse.id_token).
type AuthorizeResponse struct {
	Code        string `json:"code,omitempty"`
	AccessToken string `json:"access_token,omitempty"`
	TokenType   string `json:"token_type,omitempty"`
	ExpiresIn   int    `json:"expires_in,omitempty"`
	Scope       string `json:"scope,omitempty"`
	IDToken     string `json:"id_token,omitempty"`
	State       string `json:"state,omitempty"`
}

type Flow struct {
	Links             Links              `json:"_links"`
	Embedded          *FlowEmbedded      `json:"_embedded,omitempty"`
	ID                string             `json:"id"`
	Environment       Ref                `json:"environment"`
	Session           *Ref               `json:"session,omitempty"`
	ResumeURL         string             `json:"resumeUrl"`
	Status            string             `json:"status"`
	CreatedAt         Time               `json:"createdAt"`
	ExpiresAt         Time               `json:"expiresAt"`
	AuthorizeResponse *AuthorizeResponse `json:"authorizeResponse,omitempty"`
	// BypassAllowed and SelectedDevice: the MFA statuses (OTP_REQUIRED
	// names the device its passcode went to), as PingOne prints them.
	BypassAllowed  *bool `json:"bypassAllowed,omitempty"`
	SelectedDevice *Ref  `json:"selectedDevice,omitempty"`
	// PublicKeyCredentialRequestOptions (ASSERTION_REQUIRED, and
	// SIGN_ON_REQUIRED when a passkey may sign on without a username) and
	// PublicKeyCredentialCreationOptions (FIDO2_ACTIVATION_REQUIRED) are
	// the options for navigator.credentials.get and .create, as PingOne
	// prints them: a JSON string, binary members as arrays of signed
	// bytes.
	PublicKeyCredentialRequestOptions  string `json:"publicKeyCredentialRequestOptions,omitempty"`
	PublicKeyCredentialCreationOptions string `json:"publicKeyCredentialCreationOptions,omitempty"`
	// Error says why a FAILED flow failed (a Gatehouse addition: PingOne
	// documents no body for it, and the sign-on page must say something).
	Error *FlowError `json:"error,omitempty"`
}

type FlowError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// The MULTI_FACTOR_AUTHENTICATION action's statuses and actions
// (internal/flow/methods/otp). DEVICE_SELECTION_REQUIRED lists the user's
// devices (_embedded.devices) and takes device.select; OTP_REQUIRED names
// the device a passcode was sent to (selectedDevice) and takes otp.check,
// and device.select again: the same device resends its passcode, another
// one switches to it. DEVICE_REGISTRATION_REQUIRED and device.register are
// Gatehouse additions (PingOne's public flow API has no enrolment during
// sign-on): a user without devices, whose policy lets them pair one,
// registers a TOTP app or their email address, then activates it with
// otp.check in OTP_REQUIRED.
const (
	StatusDeviceSelectionRequired    = "DEVICE_SELECTION_REQUIRED"
	StatusOTPRequired                = "OTP_REQUIRED"
	StatusDeviceRegistrationRequired = "DEVICE_REGISTRATION_REQUIRED"

	ActionDeviceSelect   = "device.select"
	ActionOTPCheck       = "otp.check"
	ActionDeviceRegister = "device.register"

	// Detail codes of a refused passcode: wrong (innerError
	// failuresRemaining), expired (a new one must be sent), or the user's
	// MFA locked (innerError secondsUntilUnlock).
	DetailInvalidOTP = "INVALID_OTP"
	DetailOTPExpired = "OTP_EXPIRED"
	DetailMFALocked  = "LOCKED"
	// DetailNoUsableDevices: the user has no device the policy allows and
	// may not pair one.
	DetailNoUsableDevices = "NO_USABLE_DEVICES"
)

// FIDO2 in flows (internal/flow/methods/fido2). ASSERTION_REQUIRED asks
// for an assertion of the selected FIDO2 device (selectedDevice,
// publicKeyCredentialRequestOptions) and takes assertion.check
// {"origin","assertion","compatibility"}, and device.select when the user
// has another device. FIDO2_ACTIVATION_REQUIRED and device.activate are
// Gatehouse additions (the FIDO2 device registered during sign-on:
// publicKeyCredentialCreationOptions, then {"origin","attestation"}, the
// body of PingOne's device activation). compatibility is what the browser
// can do: WebAuthn with a platform authenticator, WebAuthn with security
// keys only, or no WebAuthn.
const (
	StatusAssertionRequired       = "ASSERTION_REQUIRED"
	StatusFIDO2ActivationRequired = "FIDO2_ACTIVATION_REQUIRED"

	ActionAssertionCheck = "assertion.check"
	ActionDeviceActivate = "device.activate"

	CompatibilityFull            = "FULL"
	CompatibilitySecurityKeyOnly = "SECURITY_KEY_ONLY"
	CompatibilityNone            = "NONE"
)

// Compatibilities are the values of compatibility (assertion.check,
// device.select).
var Compatibilities = []string{CompatibilityFull, CompatibilitySecurityKeyOnly, CompatibilityNone}

// FlowDevice is one of the user's MFA devices as a flow shows it: its
// email address or phone number masked (PingOne shows "*******01").
// Properties carry a TOTP device's secret and key URI only while the
// device being registered in this flow awaits its first code.
type FlowDevice struct {
	ID          string                `json:"id"`
	Type        string                `json:"type"`
	Status      string                `json:"status"`
	Nickname    string                `json:"nickname,omitempty"`
	UserRetries int                   `json:"userRetries"`
	Email       string                `json:"email,omitempty"`
	Phone       string                `json:"phone,omitempty"`
	Properties  *FlowDeviceProperties `json:"properties,omitempty"`
}

// FlowDeviceProperties are a new TOTP device's secret (base32, for manual
// entry) and its otpauth:// key URI (for a QR code).
type FlowDeviceProperties struct {
	Secret string `json:"secret"`
	KeyURI string `json:"keyUri"`
}

// FlowDeviceRegistration is what DEVICE_REGISTRATION_REQUIRED offers: the
// device types the user may register (TOTP, EMAIL), and the user's email
// address, masked, that an EMAIL device would use.
type FlowDeviceRegistration struct {
	Types []string `json:"types"`
	Email string   `json:"email,omitempty"`
}
