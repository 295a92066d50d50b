package provision

import "github.com/gatehouse-id/gatehouse/internal/wire"

// DefaultFIDO2Policy is one of the FIDO2 policies every environment is
// made with.
type DefaultFIDO2Policy struct {
	Name    string
	Default bool
	Data    wire.FIDO2PolicyData
}

// DefaultFIDO2Policies are PingOne's out-of-the-box FIDO2 policies:
// "Passkeys", the default (synced or device-bound, discoverable, user
// verified, no attestation), and "Security Keys" (roaming keys, attested,
// checked against the metadata service in audit only, so that a key
// without metadata still registers). Both leave the relying party to
// Gatehouse (the base URL's host). Migration 0022 writes the same
// documents (as JSON) for the environments made before it; a test holds
// them equal.
func DefaultFIDO2Policies() []DefaultFIDO2Policy {
	displayName := wire.FIDO2UserDisplayNameAttributes{Attributes: []wire.FIDO2UserAttribute{
		{Name: "name", SubAttributes: []wire.FIDO2UserAttribute{{Name: "given"}, {Name: "family"}}},
		{Name: "username"},
	}}
	timeout := wire.TimePeriod{Duration: 2, TimeUnit: "MINUTES"}
	return []DefaultFIDO2Policy{
		{Name: "Passkeys", Default: true, Data: wire.FIDO2PolicyData{
			Description:                   "Passkeys FIDO Policy",
			AttestationRequirements:       "NONE",
			AuthenticatorAttachment:       "BOTH",
			BackupEligibility:             wire.FIDO2BackupEligibility{Allow: true},
			DeviceDisplayName:             "fidoPolicy.deviceDisplayName01",
			DiscoverableCredentials:       "REQUIRED",
			MDSAuthenticatorsRequirements: wire.FIDO2MDSRequirements{Option: "NONE"},
			UserDisplayNameAttributes:     displayName,
			UserVerification:              wire.FIDO2UserVerification{Option: "REQUIRED", EnforceDuringAuthentication: true},
			UserPresenceTimeout:           timeout,
		}},
		{Name: "Security Keys", Data: wire.FIDO2PolicyData{
			Description:                   "Security Keys FIDO Policy",
			AttestationRequirements:       "DIRECT",
			AuthenticatorAttachment:       "CROSS_PLATFORM",
			BackupEligibility:             wire.FIDO2BackupEligibility{Allow: false},
			DeviceDisplayName:             "fidoPolicy.deviceDisplayName02",
			DiscoverableCredentials:       "DISCOURAGED",
			MDSAuthenticatorsRequirements: wire.FIDO2MDSRequirements{Option: "AUDIT_ONLY"},
			UserDisplayNameAttributes:     displayName,
			UserVerification:              wire.FIDO2UserVerification{Option: "DISCOURAGED"},
			UserPresenceTimeout:           timeout,
		}},
	}
}
