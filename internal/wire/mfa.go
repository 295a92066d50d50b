package wire

import "encoding/json"

// PingOne MFA shapes of an environment's configuration: its MFA settings
// and its device authentication policies ("MFA policies"). Responses carry
// every member PingOne always returns, false and 0 included, so that the
// SDK's models and the Terraform provider read what they wrote.

// ---- MFA settings

// MFASettings is …/mfaSettings.
type MFASettings struct {
	Links           Links              `json:"_links,omitempty"`
	Environment     *Ref               `json:"environment,omitempty"`
	Pairing         MFAPairing         `json:"pairing"`
	Lockout         *MFALockout        `json:"lockout,omitempty"`
	PhoneExtensions MFAEnabled         `json:"phoneExtensions"`
	Users           MFAUsers           `json:"users"`
	Authentication  MFADeviceSelection `json:"authentication"`
	UpdatedAt       *Time              `json:"updatedAt,omitempty"`
}

type MFAPairing struct {
	MaxAllowedDevices int    `json:"maxAllowedDevices"`
	PairingKeyFormat  string `json:"pairingKeyFormat"`
}

// MFALockout is absent until set: PingOne then returns none, and the
// Terraform provider checks that it does not.
type MFALockout struct {
	FailureCount    int  `json:"failureCount"`
	DurationSeconds *int `json:"durationSeconds,omitempty"`
}

type MFAEnabled struct {
	Enabled bool `json:"enabled"`
}

type MFAUsers struct {
	MfaEnabled bool `json:"mfaEnabled"`
}

type MFADeviceSelection struct {
	DeviceSelection string `json:"deviceSelection"`
}

// MFASettingsRequest is a PUT of …/mfaSettings: absent members keep
// PingOne's defaults.
type MFASettingsRequest struct {
	Pairing *struct {
		MaxAllowedDevices *Int    `json:"maxAllowedDevices"`
		PairingKeyFormat  *string `json:"pairingKeyFormat"`
	} `json:"pairing"`
	Lockout *struct {
		FailureCount    *Int `json:"failureCount"`
		DurationSeconds *Int `json:"durationSeconds"`
	} `json:"lockout"`
	PhoneExtensions *struct {
		Enabled *Bool `json:"enabled"`
	} `json:"phoneExtensions"`
	Users *struct {
		MfaEnabled *Bool `json:"mfaEnabled"`
	} `json:"users"`
	Authentication *struct {
		DeviceSelection *string `json:"deviceSelection"`
	} `json:"authentication"`
}

// ---- device authentication policies

// TimePeriod is a {duration, timeUnit} pair (MINUTES or SECONDS).
type TimePeriod struct {
	Duration int    `json:"duration"`
	TimeUnit string `json:"timeUnit"`
}

type OTPFailure struct {
	Count    int        `json:"count"`
	CoolDown TimePeriod `json:"coolDown"`
}

type OfflineDeviceOTP struct {
	LifeTime  TimePeriod `json:"lifeTime"`
	Failure   OTPFailure `json:"failure"`
	OTPLength int        `json:"otpLength"`
}

// OfflineDevicePolicy is the sms, voice and email member of a policy.
// PromptForNicknameOnPairing is absent unless sent (or part of the
// provisioned default): Terraform's pingone_mfa_device_policy holds it
// Optional and not Computed, and checks it stays absent when not set.
type OfflineDevicePolicy struct {
	Enabled                    bool             `json:"enabled"`
	PairingDisabled            bool             `json:"pairingDisabled"`
	PromptForNicknameOnPairing *bool            `json:"promptForNicknameOnPairing,omitempty"`
	OTP                        OfflineDeviceOTP `json:"otp"`
}

type TOTPOTP struct {
	Failure OTPFailure `json:"failure"`
}

// TOTPPolicy is the totp member of a policy.
type TOTPPolicy struct {
	Enabled                    bool              `json:"enabled"`
	PairingDisabled            bool              `json:"pairingDisabled"`
	PromptForNicknameOnPairing *bool             `json:"promptForNicknameOnPairing,omitempty"`
	PasscodeGracePeriod        int               `json:"passcodeGracePeriod"`
	URIParameters              map[string]string `json:"uriParameters,omitempty"`
	OTP                        TOTPOTP           `json:"otp"`
}

// DeviceAuthenticationPolicyData is what a policy holds besides its
// identity: stored as one JSON document. The methods Gatehouse does not
// serve yet (mobile, oathToken, whatsApp, rememberMe, a notification
// policy) are kept as sent.
type DeviceAuthenticationPolicyData struct {
	Authentication        MFADeviceSelection  `json:"authentication"`
	NewDeviceNotification string              `json:"newDeviceNotification"`
	IgnoreUserLock        bool                `json:"ignoreUserLock"`
	SMS                   OfflineDevicePolicy `json:"sms"`
	Voice                 OfflineDevicePolicy `json:"voice"`
	Email                 OfflineDevicePolicy `json:"email"`
	TOTP                  TOTPPolicy          `json:"totp"`
	Mobile                json.RawMessage     `json:"mobile"`
	FIDO2                 FIDO2MethodPolicy   `json:"fido2"`
	OathToken             json.RawMessage     `json:"oathToken,omitempty"`
	WhatsApp              json.RawMessage     `json:"whatsApp,omitempty"`
	RememberMe            json.RawMessage     `json:"rememberMe,omitempty"`
	NotificationsPolicy   json.RawMessage     `json:"notificationsPolicy,omitempty"`
}

// DeviceAuthenticationPolicy is …/deviceAuthenticationPolicies/{id}.
type DeviceAuthenticationPolicy struct {
	Links       Links  `json:"_links,omitempty"`
	ID          string `json:"id"`
	Environment Ref    `json:"environment"`
	Name        string `json:"name"`
	Default     bool   `json:"default"`
	// ForSignOnPolicy is deprecated by PingOne and always false; the
	// SDK's model requires it.
	ForSignOnPolicy bool `json:"forSignOnPolicy"`
	DeviceAuthenticationPolicyData
	CreatedAt Time `json:"createdAt"`
	UpdatedAt Time `json:"updatedAt"`
}

type TimePeriodRequest struct {
	Duration *Int    `json:"duration"`
	TimeUnit *string `json:"timeUnit"`
}

type OTPFailureRequest struct {
	Count    *Int               `json:"count"`
	CoolDown *TimePeriodRequest `json:"coolDown"`
}

type OfflineDeviceRequest struct {
	Enabled                    *Bool `json:"enabled"`
	PairingDisabled            *Bool `json:"pairingDisabled"`
	PromptForNicknameOnPairing *Bool `json:"promptForNicknameOnPairing"`
	OTP                        *struct {
		LifeTime  *TimePeriodRequest `json:"lifeTime"`
		Failure   *OTPFailureRequest `json:"failure"`
		OTPLength *Int               `json:"otpLength"`
	} `json:"otp"`
}

type TOTPRequest struct {
	Enabled                    *Bool             `json:"enabled"`
	PairingDisabled            *Bool             `json:"pairingDisabled"`
	PromptForNicknameOnPairing *Bool             `json:"promptForNicknameOnPairing"`
	PasscodeGracePeriod        *Int              `json:"passcodeGracePeriod"`
	URIParameters              map[string]string `json:"uriParameters"`
	OTP                        *struct {
		Failure *OTPFailureRequest `json:"failure"`
	} `json:"otp"`
}

// DeviceAuthenticationPolicyRequest is a POST or PUT of a policy, as the
// SDK's DeviceAuthenticationPolicy model marshals it.
type DeviceAuthenticationPolicyRequest struct {
	Name           *string `json:"name"`
	Default        *Bool   `json:"default"`
	Authentication *struct {
		DeviceSelection *string `json:"deviceSelection"`
	} `json:"authentication"`
	NewDeviceNotification *string               `json:"newDeviceNotification"`
	IgnoreUserLock        *Bool                 `json:"ignoreUserLock"`
	SMS                   *OfflineDeviceRequest `json:"sms"`
	Voice                 *OfflineDeviceRequest `json:"voice"`
	Email                 *OfflineDeviceRequest `json:"email"`
	TOTP                  *TOTPRequest          `json:"totp"`
	Mobile                json.RawMessage       `json:"mobile"`
	FIDO2                 *FIDO2MethodRequest   `json:"fido2"`
	OathToken             json.RawMessage       `json:"oathToken"`
	WhatsApp              json.RawMessage       `json:"whatsApp"`
	RememberMe            json.RawMessage       `json:"rememberMe"`
	NotificationsPolicy   json.RawMessage       `json:"notificationsPolicy"`
}

// RefID is the id of a {"id": …} object kept as sent ("" when it has
// none), such as an MFA action's deviceAuthenticationPolicy.
func RefID(raw json.RawMessage) string {
	var r Ref
	_ = json.Unmarshal(raw, &r)
	return r.ID
}
