package config

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// MFA configuration: device authentication policies and MFA settings, as
// the management API renders them (without links). The values are shared
// by every reader: never modify them.

// DefaultFIDO2Method is PingOne's fido2 member of a device authentication
// policy that leaves it out: disabled, the environment's default FIDO2
// policy, 3 failures block for 2 minutes.
func DefaultFIDO2Method() wire.FIDO2MethodPolicy {
	return wire.FIDO2MethodPolicy{Failure: wire.OTPFailure{Count: 3, CoolDown: wire.TimePeriod{Duration: 2, TimeUnit: "MINUTES"}}}
}

// DecodeDeviceAuthenticationPolicy reads a stored policy in PingOne's
// shape (without links). A policy stored before FIDO2 was served has no
// fido2 member, or one kept as sent: what it lacks reads as the default.
func DecodeDeviceAuthenticationPolicy(p *store.DeviceAuthenticationPolicy) (*wire.DeviceAuthenticationPolicy, error) {
	out := &wire.DeviceAuthenticationPolicy{ID: p.ID, Environment: wire.Ref{ID: p.EnvironmentID}, Name: p.Name, Default: p.Default,
		CreatedAt: wire.Time(p.CreatedAt), UpdatedAt: wire.Time(p.UpdatedAt)}
	out.FIDO2 = DefaultFIDO2Method()
	if err := json.Unmarshal(p.Data, &out.DeviceAuthenticationPolicyData); err != nil {
		return nil, fmt.Errorf("config: device authentication policy %s: %w", p.ID, err)
	}
	def := DefaultFIDO2Method().Failure
	if f := &out.FIDO2.Failure; f.Count == 0 {
		f.Count = def.Count
	}
	if f := &out.FIDO2.Failure.CoolDown; f.TimeUnit == "" {
		*f = def.CoolDown
	}
	return out, nil
}

// DeviceAuthenticationPolicy is the policy id of envID, or its default
// when id is ""; store.ErrNotFound when there is no such policy.
func (c *Cache) DeviceAuthenticationPolicy(ctx context.Context, envID, id string) (*wire.DeviceAuthenticationPolicy, error) {
	return oneOrDefault(ctx, c, envID, id, kindDeviceAuthPolicies, c.st.ListDeviceAuthenticationPolicies, DecodeDeviceAuthenticationPolicy,
		func(p *wire.DeviceAuthenticationPolicy) (string, bool) { return p.ID, p.Default })
}

// DefaultMFASettings are PingOne's MFA settings of an environment that
// never set them (or reset them): 5 devices a user, no MFA lockout set,
// no phone extensions, MFA on for new users.
func DefaultMFASettings() wire.MFASettings {
	return wire.MFASettings{
		Pairing:        wire.MFAPairing{MaxAllowedDevices: 5, PairingKeyFormat: "ALPHANUMERIC"},
		Users:          wire.MFAUsers{MfaEnabled: true},
		Authentication: wire.MFADeviceSelection{DeviceSelection: "DEFAULT_TO_FIRST"},
	}
}

// DecodeMFASettings reads stored settings; nil (none stored) gives the
// defaults.
func DecodeMFASettings(envID string, m *store.MFASettings) (*wire.MFASettings, error) {
	out := DefaultMFASettings()
	if m != nil {
		if err := json.Unmarshal(m.Data, &out); err != nil {
			return nil, fmt.Errorf("config: MFA settings of %s: %w", envID, err)
		}
		out.UpdatedAt = wire.TimePtr(m.UpdatedAt)
	}
	out.Environment = &wire.Ref{ID: envID}
	out.Links = nil
	return &out, nil
}

// MFASettings are envID's MFA settings, the defaults when never set.
func (c *Cache) MFASettings(ctx context.Context, envID string) (*wire.MFASettings, error) {
	return get(ctx, c, envID, entryKey{kindMFASettings, ""}, func(ctx context.Context) (*wire.MFASettings, error) {
		m, err := c.st.GetMFASettings(ctx, envID)
		if errors.Is(err, store.ErrNotFound) {
			m, err = nil, nil
		}
		if err != nil {
			return nil, err
		}
		return DecodeMFASettings(envID, m)
	})
}

// NewUsersMFAEnabled is the mfaEnabled a user created in envID gets when
// its creation does not say: the MFA settings' users.mfaEnabled (PingOne's
// default: true).
func (c *Cache) NewUsersMFAEnabled(ctx context.Context, envID string) (bool, error) {
	s, err := c.MFASettings(ctx, envID)
	if err != nil {
		return false, err
	}
	return s.Users.MfaEnabled, nil
}
