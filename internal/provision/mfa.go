package provision

import (
	"encoding/json"

	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// DefaultDeviceAuthenticationPolicyName is the name of the device
// authentication policy every environment is made with.
const DefaultDeviceAuthenticationPolicyName = "Default MFA Policy"

// offlineDefault is PingOne's default for an SMS, voice or email method:
// passcodes valid 30 minutes, 6 digits, 3 wrong ones block the device
// with no cool-down.
func offlineDefault(enabled bool) wire.OfflineDevicePolicy {
	return wire.OfflineDevicePolicy{Enabled: enabled, PromptForNicknameOnPairing: new(bool), OTP: wire.OfflineDeviceOTP{
		LifeTime:  wire.TimePeriod{Duration: 30, TimeUnit: "MINUTES"},
		Failure:   wire.OTPFailure{Count: 3, CoolDown: wire.TimePeriod{Duration: 0, TimeUnit: "MINUTES"}},
		OTPLength: 6,
	}}
}

// DefaultDeviceAuthenticationPolicy is what PingOne's default MFA policy
// holds: in a new PingOne environment it enables email, TOTP and FIDO2
// (with the environment's default FIDO2 policy) and disables SMS and
// voice (which need a paid phone provider). Migrations 0017 and 0022 write
// the same document (as JSON) for the environments made before them; a
// test holds the two equal.
func DefaultDeviceAuthenticationPolicy() wire.DeviceAuthenticationPolicyData {
	return wire.DeviceAuthenticationPolicyData{
		Authentication:        wire.MFADeviceSelection{DeviceSelection: "DEFAULT_TO_FIRST"},
		NewDeviceNotification: "NONE",
		SMS:                   offlineDefault(false),
		Voice:                 offlineDefault(false),
		Email:                 offlineDefault(true),
		TOTP: wire.TOTPPolicy{Enabled: true, PromptForNicknameOnPairing: new(bool), PasscodeGracePeriod: 5,
			OTP: wire.TOTPOTP{Failure: wire.OTPFailure{Count: 3, CoolDown: wire.TimePeriod{Duration: 2, TimeUnit: "MINUTES"}}}},
		Mobile: json.RawMessage(`{"enabled":true,"otp":{"failure":{"count":3,"coolDown":{"duration":2,"timeUnit":"MINUTES"}}}}`),
		FIDO2: wire.FIDO2MethodPolicy{Enabled: true, PromptForNicknameOnPairing: new(bool),
			Failure: wire.OTPFailure{Count: 3, CoolDown: wire.TimePeriod{Duration: 2, TimeUnit: "MINUTES"}}},
	}
}

// multiFactorAction is the MULTI_FACTOR_AUTHENTICATION action of the
// Multi_Factor sign-on policy: the environment's default device
// authentication policy, blocking a user without a usable device.
func multiFactorAction(dapID string) json.RawMessage {
	return mustJSON(map[string]any{"deviceAuthenticationPolicy": map[string]string{"id": dapID}, "noDevicesMode": "BLOCK"})
}
