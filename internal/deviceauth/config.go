package deviceauth

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/mfa"
)

// policy is the environment's device authentication policy id (its
// default for ""): Policy's when set, else the configuration cache's.
func (s *Service) policy(ctx context.Context, envID, id string) (*mfa.Policy, error) {
	if s.Policy != nil {
		return s.Policy(ctx, envID, id)
	}
	return mfa.Configured{Config: s.Config}.Policy(ctx, envID, id)
}

// settings are the environment's MFA settings (PingOne's defaults when
// never set): Settings' when set, else the configuration cache's.
func (s *Service) settings(ctx context.Context, envID string) (*mfa.Settings, error) {
	if s.Settings != nil {
		return s.Settings(ctx, envID)
	}
	return mfa.Configured{Config: s.Config}.Settings(ctx, envID)
}
