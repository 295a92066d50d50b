package mfa

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Proofs of a device other than a passcode (a FIDO2 assertion) are
// bounded as passcodes are: the same MFA lockout of the user, the same
// failure count and cool-down of the device (the policy's method settings
// as OTPFailures and CoolDown).

// Blocked is LOCKED (an *OTPError with until when) while u's MFA is
// locked or device d cools down; nil otherwise.
func (s *Service) Blocked(ctx context.Context, u *store.User, d *store.MFADevice) error {
	return s.refuseLocked(ctx, u, d, s.now())
}

// Failed counts a failed proof of device d as a wrong passcode counts:
// into u's MFA lockout and into c.Failures (c holds d's failures so far),
// which at m.OTPFailures voids c and cools d down for m.CoolDown. It
// returns the *OTPError a wrong passcode gets: INVALID_OTP with the
// attempts remaining, or LOCKED.
func (s *Service) Failed(ctx context.Context, u *store.User, d *store.MFADevice, m MethodPolicy, st *Settings, c *Challenge) error {
	return s.wrong(ctx, u, d, m, st, c, s.now())
}
