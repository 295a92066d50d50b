// Package mfa is PingOne MFA's domain: the MFA settings of an environment,
// device authentication policies, users' MFA devices and the one-time
// passcodes (sent by email, SMS or voice, or computed by a TOTP app) that
// prove a device. The sign-on flow's MULTI_FACTOR_AUTHENTICATION method,
// device authentications and the management API all use it; FIDO2 comes
// as one more device type.
package mfa

import (
	"context"
	"fmt"
	"time"
)

// Device types (PingOne's device "type").
const (
	TypeEmail = "EMAIL"
	TypeSMS   = "SMS"
	TypeVoice = "VOICE"
	TypeTOTP  = "TOTP"
	TypeFIDO2 = "FIDO2"
)

// Device statuses.
const (
	StatusActive             = "ACTIVE"
	StatusActivationRequired = "ACTIVATION_REQUIRED"
)

// Purposes of a one-time passcode: the notification template it is sent
// with.
const (
	PurposeAuthentication = "strong_authentication"
	PurposePairing        = "device_pairing"
)

// MethodPolicy is one device type's settings in a device authentication
// policy, as durations and counts.
type MethodPolicy struct {
	Enabled           bool
	PairingDisabled   bool
	PromptForNickname bool
	// OTPLifetime is how long a sent passcode stays valid.
	OTPLifetime time.Duration
	// OTPFailures wrong passcodes block the device for CoolDown.
	OTPFailures int
	CoolDown    time.Duration
	// FIDO2PolicyID is the FIDO2 policy of the FIDO2 method ("" = the
	// environment's default).
	FIDO2PolicyID string
}

// Policy is a device authentication policy as a flow runs it.
type Policy struct {
	ID, Name string
	// Methods holds the settings of each device type, by type.
	Methods map[string]MethodPolicy
	// Selection is authentication.deviceSelection: DEFAULT_TO_FIRST,
	// PROMPT_TO_SELECT or ALWAYS_DISPLAY_DEVICES (PingOne's
	// EnumMFADevicePolicySelection).
	Selection string
}

// Device selection of a policy (authentication.deviceSelection): the
// first device gets its passcode at once; the user chooses unless there is
// one device; the user always chooses.
const (
	SelectDefaultToFirst = "DEFAULT_TO_FIRST"
	SelectPromptToSelect = "PROMPT_TO_SELECT"
	SelectAlwaysDisplay  = "ALWAYS_DISPLAY_DEVICES"
)

// SendsFirst reports whether, with n usable devices, the first gets its
// passcode at once instead of the user choosing.
func (p *Policy) SendsFirst(n int) bool {
	return p.Selection == "" || p.Selection == SelectDefaultToFirst || (p.Selection == SelectPromptToSelect && n == 1)
}

// Method returns the settings of device type typ; a type the policy does
// not name is disabled.
func (p *Policy) Method(typ string) MethodPolicy { return p.Methods[typ] }

// Settings are an environment's MFA settings.
type Settings struct {
	// MaxDevices is pairing.maxAllowedDevices: a user's devices, counted
	// whatever their status.
	MaxDevices int
	// LockoutFailures wrong passcodes in a row lock the user's MFA for
	// LockoutDuration (lockout.failureCount, lockout.durationSeconds).
	LockoutFailures int
	LockoutDuration time.Duration
}

// Challenge is a passcode the user must enter for one device: one sent
// by email, SMS or voice (Hash is the passcode's hash) or one a TOTP app
// computes (Hash is ""). A flow keeps it in its state; it is single use.
type Challenge struct {
	DeviceID  string `json:"deviceId"`
	Purpose   string `json:"purpose"`
	Hash      string `json:"hash,omitempty"`
	ExpiresAt int64  `json:"expiresAt,omitempty"` // unix seconds; 0 for TOTP
	// Failures counts the wrong passcodes entered against it.
	Failures int `json:"failures,omitempty"`
	// SentAt is when the passcode was last sent (resends are spaced).
	SentAt int64 `json:"sentAt,omitempty"`
	// Used marks a challenge spent: by its right passcode, or voided by
	// too many wrong ones.
	Used bool `json:"used,omitempty"`
}

// Reasons a passcode is refused.
const (
	ReasonInvalid = "INVALID_OTP" // wrong
	ReasonExpired = "OTP_EXPIRED"
	ReasonLocked  = "LOCKED" // the user's MFA or the device is locked
	ReasonUsed    = "OTP_USED"
)

// OTPError is a refused passcode: why, how many tries are left before a
// lock, and until when a lock lasts.
type OTPError struct {
	Reason    string
	Remaining int
	Until     time.Time
}

func (e *OTPError) Error() string {
	if e.Reason == ReasonLocked {
		return fmt.Sprintf("mfa: locked until %s", e.Until.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("mfa: %s (%d attempts remaining)", e.Reason, e.Remaining)
}

// Enrolment is what a new TOTP device shows once: the secret for manual
// entry and the otpauth:// key URI a QR code carries.
type Enrolment struct {
	Secret string
	KeyURI string
}

// OTP is a one-time passcode to deliver by email, SMS or voice, worded by
// the environment's notification template of its purpose.
type OTP struct {
	EnvironmentID string
	UserID        string
	Channel       string // EMAIL | SMS | VOICE (the device type)
	To            string // an email address, or a phone number in E.164
	// Template is PingOne's template name: PurposeAuthentication or
	// PurposePairing.
	Template string
	Locale   string // "" = the environment's default
	// Variant names a template content variant ("" for none).
	Variant string
	Code    string
	// Vars are the template's other variables (user.username, …).
	Vars map[string]string
}

// Sender delivers one-time passcodes. The senders (SMTP, the log, phone
// providers) live in internal/notify; the management API must not depend
// on them, so the port is here.
type Sender interface {
	SendOTP(ctx context.Context, m OTP) error
}
