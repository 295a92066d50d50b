package app

import (
	"context"
	"errors"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/flow/methods/fido2"
	"github.com/gatehouse-id/gatehouse/internal/flow/methods/otp"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// wireMFAFlow gives the sign-on flow's MULTI_FACTOR_AUTHENTICATION method
// the MFA domain and the cached MFA configuration.
func wireMFAFlow(m *otp.Method, f *fido2.Method, svc *mfa.Service, conf *config.Cache) {
	cfg := mfa.Configured{Config: conf}
	m.MFA = svc
	m.Register = func(ctx context.Context, u *store.User, typ string, s *mfa.Settings, mp mfa.MethodPolicy) (*store.MFADevice, *mfa.Enrolment, error) {
		in := mfa.DeviceInput{Type: typ, Status: mfa.StatusActivationRequired, SignOn: true}
		if typ == mfa.TypeEmail {
			in.Email = u.Email
		}
		return svc.CreateDevice(ctx, u, in, s, mp)
	}
	m.Policy = func(ctx context.Context, envID, id string) (*mfa.Policy, error) {
		p, err := cfg.Policy(ctx, envID, id)
		if errors.Is(err, store.ErrNotFound) && id != "" {
			// The action names a policy deleted since: the default runs.
			p, err = cfg.Policy(ctx, envID, "")
		}
		return p, err
	}
	m.Settings = cfg.Settings
	f.MFA, f.Config, f.FIDO2Policy = svc, m.Config, conf.FIDO2Policy
}
