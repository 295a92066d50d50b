package mfa

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/config"
)

// Configured reads an environment's MFA settings and device
// authentication policies from the configuration cache, as the domain
// takes them.
type Configured struct{ Config *config.Cache }

// Settings are envID's MFA settings (PingOne's defaults when never set).
func (c Configured) Settings(ctx context.Context, envID string) (*Settings, error) {
	w, err := c.Config.MFASettings(ctx, envID)
	if err != nil {
		return nil, err
	}
	return SettingsOf(w), nil
}

// Policy is the device authentication policy id ("" = the environment's
// default); store.ErrNotFound when envID has no such policy.
func (c Configured) Policy(ctx context.Context, envID, id string) (*Policy, error) {
	w, err := c.Config.DeviceAuthenticationPolicy(ctx, envID, id)
	if err != nil {
		return nil, err
	}
	return PolicyOf(w), nil
}

// Method is the settings of device type typ in policy policyID ("" = the
// environment's default).
func (c Configured) Method(ctx context.Context, envID, policyID, typ string) (MethodPolicy, error) {
	p, err := c.Policy(ctx, envID, policyID)
	if err != nil {
		return MethodPolicy{}, err
	}
	return p.Method(typ), nil
}
