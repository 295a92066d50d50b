package deviceauth

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/telemetry"
)

// recordCheck records a passcode check of a device authentication: right
// (oe nil) or refused, and counts it as the flows' checks are counted.
// justLocked: this refusal locked the user's MFA.
func (s *Service) recordCheck(ctx context.Context, d *store.DeviceAuthentication, u *store.User, dev *store.MFADevice, oe *mfa.OTPError, justLocked bool) {
	method, result := "otp", "success"
	if dev.Type == mfa.TypeTOTP {
		method = "totp"
	}
	typ := audit.OTPCheckSuccess
	why := ""
	if oe != nil {
		typ, result, why = audit.OTPCheckFailed, "failure", "The passcode is not correct."
		switch oe.Reason {
		case mfa.ReasonLocked:
			result, why = "locked", "Multi-factor authentication is locked."
		case mfa.ReasonExpired, mfa.ReasonUsed:
			why = "The passcode has expired."
		}
	}
	telemetry.SignOns.WithLabelValues(method, result).Inc()
	if justLocked {
		telemetry.Lockouts.WithLabelValues("mfa").Inc()
	}
	if s.Audit == nil {
		return
	}
	devRes := store.ActivityResource{ID: dev.ID, Name: dev.Type, Type: audit.ResDevice, EnvironmentID: u.EnvironmentID, PopulationID: u.PopulationID}
	rec := func(typ string) *store.Activity {
		a := audit.NewActivity(d.EnvironmentID, typ)
		a.Client = audit.ClientActor(d.EnvironmentID, d.ApplicationID, "")
		a.User = audit.UserActor(u)
		a.Resources = []store.ActivityResource{audit.UserResource(u), devRes}
		return a
	}
	a := rec(typ)
	if why != "" {
		audit.Failure(a, why)
	}
	s.Audit.Record(ctx, a)
	if justLocked {
		s.Audit.Record(ctx, rec(audit.DeviceLocked))
	}
}
