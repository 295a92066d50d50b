package mgmt_test

import (
	"net/http"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// What PingOne always returns of the MFA configuration, and a PUT of it
// changes nothing.

var (
	offlineAlways = []string{"enabled", "pairingDisabled", "promptForNicknameOnPairing", "otp.lifeTime.duration", "otp.lifeTime.timeUnit",
		"otp.failure.count", "otp.failure.coolDown.duration", "otp.failure.coolDown.timeUnit", "otp.otpLength"}
	dapAlways = joinPaths([]string{"_links.self.href", "_links.environment.href", "id", "environment.id", "name", "default", "forSignOnPolicy",
		"authentication.deviceSelection", "newDeviceNotification", "ignoreUserLock", "createdAt", "updatedAt", "mobile.enabled",
		"totp.enabled", "totp.pairingDisabled", "totp.promptForNicknameOnPairing", "totp.passcodeGracePeriod", "totp.otp.failure.count",
		"totp.otp.failure.coolDown.duration", "totp.otp.failure.coolDown.timeUnit", "fido2.enabled", "fido2.pairingDisabled",
		"fido2.fido2PolicyId", "fido2.failure.count", "fido2.failure.coolDown.duration", "fido2.failure.coolDown.timeUnit"},
		prefixed("sms.", offlineAlways), prefixed("voice.", offlineAlways), prefixed("email.", offlineAlways))
	mfaSettingsAlways = []string{"_links.self.href", "_links.environment.href", "environment.id", "pairing.maxAllowedDevices",
		"pairing.pairingKeyFormat", "phoneExtensions.enabled", "users.mfaEnabled", "authentication.deviceSelection"}
)

func prefixed(p string, paths []string) []string {
	out := make([]string, len(paths))
	for i, x := range paths {
		out[i] = p + x
	}
	return out
}

func init() {
	registerDrift(
		driftCase{name: "device authentication policy", always: dapAlways, volatile: []string{"updatedAt"},
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				base := "/environments/" + envID + "/deviceAuthenticationPolicies"
				return base + "/" + driftCreate(t, s, tok, base, policyBody("Drift MFA"))["id"].(string)
			}},
		driftCase{name: "device authentication policy Default MFA Policy", always: dapAlways, volatile: []string{"updatedAt"},
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				base := "/environments/" + envID + "/deviceAuthenticationPolicies"
				return base + "/" + driftNamed(t, s, tok, base, "deviceAuthenticationPolicies", "Default MFA Policy")
			}},
		driftCase{name: "MFA settings", always: joinPaths(mfaSettingsAlways, []string{"lockout.failureCount", "lockout.durationSeconds", "updatedAt"}),
			volatile: []string{"updatedAt"},
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				url := "/environments/" + envID + "/mfaSettings"
				must(t, s.Do(t, apptest.Request{Method: "PUT", URL: url, Token: tok, Body: map[string]any{
					"pairing": map[string]any{"maxAllowedDevices": 7, "pairingKeyFormat": "NUMERIC"},
					"lockout": map[string]any{"failureCount": 13, "durationSeconds": 8}}}), http.StatusOK)
				return url
			}},
		driftCase{name: "MFA settings never set", always: mfaSettingsAlways,
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				return "/environments/" + envID + "/mfaSettings"
			}},
	)
}
