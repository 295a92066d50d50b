package config

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// The MFA configuration is cached like the rest: a hit reads nothing, a
// write through this node is seen at once, the default is the policy
// flagged so, another environment's policy is not found.
func TestCacheMFAConfiguration(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b.DSN(t), Options{})
			ctx := context.Background()
			envID := f.env.ID
			now := store.Now()

			if _, err := f.c.DeviceAuthenticationPolicy(ctx, envID, ""); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("default of an environment without policies: %v, want ErrNotFound", err)
			}
			def := &store.DeviceAuthenticationPolicy{ID: uuid.NewString(), EnvironmentID: envID, Name: "Default MFA Policy", Default: true,
				Data: json.RawMessage(`{"sms":{"enabled":true,"otp":{"lifeTime":{"duration":5,"timeUnit":"MINUTES"}}}}`), CreatedAt: now, UpdatedAt: now}
			must(t, f.st.CreateDeviceAuthenticationPolicy(ctx, def))
			strict := &store.DeviceAuthenticationPolicy{ID: uuid.NewString(), EnvironmentID: envID, Name: "Strict",
				Data: json.RawMessage(`{"sms":{"enabled":false},"totp":{"enabled":true}}`), CreatedAt: now, UpdatedAt: now}
			must(t, f.st.CreateDeviceAuthenticationPolicy(ctx, strict))

			p, err := f.c.DeviceAuthenticationPolicy(ctx, envID, "")
			must(t, err)
			if p.ID != def.ID || !p.Default || !p.SMS.Enabled || p.SMS.OTP.LifeTime.Duration != 5 || p.Environment.ID != envID {
				t.Errorf("default = %+v, want %s with its settings", p, def.ID)
			}
			if n := f.queries(func() {
				p, err = f.c.DeviceAuthenticationPolicy(ctx, envID, strict.ID)
			}); n != 0 || err != nil || p.Name != "Strict" || !p.TOTP.Enabled || p.SMS.Enabled {
				t.Errorf("Strict from a warm cache: %+v, %v after %d queries; want it after none", p, err, n)
			}
			if _, err := f.c.DeviceAuthenticationPolicy(ctx, envID, uuid.NewString()); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("unknown id: %v, want ErrNotFound", err)
			}
			other := f.newEnv(t, f.env.OrganizationID, f.env.LicenseID)
			if _, err := f.c.DeviceAuthenticationPolicy(ctx, other.ID, strict.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("another environment's policy: %v, want ErrNotFound", err)
			}

			// Moving the default is seen at once.
			must(t, f.st.Tx(ctx, func(tx store.Store) error {
				if err := tx.ClearDefaultDeviceAuthenticationPolicy(ctx, envID, strict.ID); err != nil {
					return err
				}
				s := *strict
				s.Default = true
				return tx.UpdateDeviceAuthenticationPolicy(ctx, &s)
			}))
			if p, err := f.c.DeviceAuthenticationPolicy(ctx, envID, ""); err != nil || p.ID != strict.ID {
				t.Errorf("default after the move: %+v, %v; want Strict", p, err)
			}

			// MFA settings: PingOne's defaults until set, and again after a
			// reset.
			s, err := f.c.MFASettings(ctx, envID)
			must(t, err)
			if s.Pairing.MaxAllowedDevices != 5 || s.Lockout != nil || !s.Users.MfaEnabled || s.Environment.ID != envID {
				t.Errorf("settings never set = %+v, want the defaults", s)
			}
			must(t, f.st.PutMFASettings(ctx, &store.MFASettings{EnvironmentID: envID, UpdatedAt: now,
				Data: json.RawMessage(`{"pairing":{"maxAllowedDevices":2,"pairingKeyFormat":"NUMERIC"},"lockout":{"failureCount":4,"durationSeconds":60}}`)}))
			s, err = f.c.MFASettings(ctx, envID)
			must(t, err)
			if s.Pairing.MaxAllowedDevices != 2 || s.Lockout == nil || s.Lockout.FailureCount != 4 || *s.Lockout.DurationSeconds != 60 {
				t.Errorf("settings after a write = %+v", s)
			}
			must(t, f.st.DeleteMFASettings(ctx, envID))
			if s, err = f.c.MFASettings(ctx, envID); err != nil || s.Pairing.MaxAllowedDevices != 5 || s.Lockout != nil {
				t.Errorf("settings after a reset = %+v, %v; want the defaults", s, err)
			}
		})
	}
}
