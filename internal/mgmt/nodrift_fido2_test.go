package mgmt_test

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// What PingOne always returns of a FIDO2 policy (and dapAlways of a
// device authentication policy's fido2 member); a PUT of either changes
// nothing.

var (
	fido2PolicyAlways = []string{"_links.self.href", "_links.environment.href", "id", "environment.id", "name", "default",
		"attestationRequirements", "authenticatorAttachment", "backupEligibility.allow", "backupEligibility.enforceDuringAuthentication",
		"deviceDisplayName", "discoverableCredentials", "mdsAuthenticatorsRequirements.option",
		"mdsAuthenticatorsRequirements.enforceDuringAuthentication", "relyingPartyId", "userDisplayNameAttributes.attributes[].name",
		"userVerification.option", "userVerification.enforceDuringAuthentication", "userPresenceTimeout.duration",
		"userPresenceTimeout.timeUnit", "createdAt", "updatedAt"}
)

func init() {
	fido2Named := func(name string) func(t *testing.T, s *apptest.Server, tok, envID string) string {
		return func(t *testing.T, s *apptest.Server, tok, envID string) string {
			base := "/environments/" + envID + "/fido2Policies"
			return base + "/" + driftNamed(t, s, tok, base, "fido2Policies", name)
		}
	}
	registerDrift(
		driftCase{name: "FIDO2 policy", always: fido2PolicyAlways, volatile: []string{"updatedAt"},
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				base := "/environments/" + envID + "/fido2Policies"
				return base + "/" + driftCreate(t, s, tok, base, fido2Body("Drift FIDO2"))["id"].(string)
			}},
		driftCase{name: "FIDO2 policy of the required members", always: fido2PolicyAlways, volatile: []string{"updatedAt"},
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				base := "/environments/" + envID + "/fido2Policies"
				return base + "/" + driftCreate(t, s, tok, base, fido2Minimal("Drift minimal FIDO2"))["id"].(string)
			}},
		driftCase{name: "FIDO2 policy Passkeys", always: fido2PolicyAlways, volatile: []string{"updatedAt"}, create: fido2Named("Passkeys")},
		driftCase{name: "FIDO2 policy Security Keys", always: fido2PolicyAlways, volatile: []string{"updatedAt"}, create: fido2Named("Security Keys")},
		driftCase{name: "device authentication policy naming a FIDO2 policy", always: dapAlways, volatile: []string{"updatedAt"},
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				keys := driftNamed(t, s, tok, "/environments/"+envID+"/fido2Policies", "fido2Policies", "Security Keys")
				base := "/environments/" + envID + "/deviceAuthenticationPolicies"
				body := dapWithFIDO2("Drift FIDO2 MFA", map[string]any{"enabled": true, "fido2PolicyId": keys,
					"failure": map[string]any{"count": 4, "coolDown": map[string]any{"duration": 150, "timeUnit": "SECONDS"}}})
				return base + "/" + driftCreate(t, s, tok, base, body)["id"].(string)
			}},
	)
}
