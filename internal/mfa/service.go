package mfa

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Service holds the rules of users' MFA devices and one-time passcodes;
// the management API, the sign-on flow's MFA method and device
// authentications all go through it.
type Service struct {
	Store  store.Store
	Sealer *secrets.Sealer // seals TOTP secrets at rest
	Sender Sender          // delivers email, SMS and voice passcodes
	Now    func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Errors of device management; the management API turns them into
// PingOne's errors.
var (
	// ErrTooManyDevices: the user has the MFA settings' maximum of
	// devices (pairing.maxAllowedDevices), whatever their status.
	ErrTooManyDevices = errors.New("mfa: the user has the maximum number of devices")
	// ErrNotActivationRequired: activation of a device that is active.
	ErrNotActivationRequired = errors.New("mfa: the device does not require activation")
	// ErrNoPairingCode: a pairing code was asked of a device that has
	// none to send (a TOTP device, or an active one).
	ErrNoPairingCode = errors.New("mfa: the device has no pairing code to send")
)

// InputError is a device request that breaks a rule: Target names the
// attribute, Required says it is missing (else its value is invalid).
type InputError struct {
	Target   string
	Required bool
	Message  string
	// Allowed lists the allowed values when there is a list.
	Allowed []string
}

func (e *InputError) Error() string { return "mfa: " + e.Target + ": " + e.Message }

// Devices returns the user's devices in the user's order.
func (s *Service) Devices(ctx context.Context, envID, userID string) ([]store.MFADevice, error) {
	return s.Store.ListMFADevices(ctx, envID, userID)
}

// Device returns one of the user's devices; store.ErrNotFound when the
// device is not the user's (another user's or environment's included).
func (s *Service) Device(ctx context.Context, envID, userID, deviceID string) (*store.MFADevice, error) {
	return s.Store.GetMFADevice(ctx, envID, userID, deviceID)
}

// Locked returns until when the user's MFA is locked; zero when it is not.
func (s *Service) Locked(ctx context.Context, envID, userID string) (time.Time, error) {
	l, err := s.Store.GetMFALockout(ctx, envID, userID)
	if err != nil {
		return time.Time{}, err
	}
	if l.LockedUntil.After(s.now()) {
		return l.LockedUntil, nil
	}
	return time.Time{}, nil
}
