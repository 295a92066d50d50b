package sqlstore

import (
	"context"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// ---- device authentication policies and MFA settings (migration 0017)

const dapCols = `id, environment_id, name, is_default, data, created_at, updated_at`

func scanDAP(r scanner) (store.DeviceAuthenticationPolicy, error) {
	var x store.DeviceAuthenticationPolicy
	var data string
	var c, u int64
	err := r.Scan(&x.ID, &x.EnvironmentID, &x.Name, &x.Default, &data, &c, &u)
	x.Data, x.CreatedAt, x.UpdatedAt = []byte(data), fromMS(c), fromMS(u)
	return x, err
}

// dapErr names what a unique violation hit: the name (PostgreSQL names
// the constraint device_authentication_policies_name, SQLite its column
// name_lc) or else the one-default index.
func dapErr(err error) error {
	if err != nil && !strings.Contains(err.Error(), "name") {
		return mapErr(err, "deviceAuthenticationPolicy", "default")
	}
	return mapErr(err, "deviceAuthenticationPolicy", "name")
}

func (s *SQLStore) CreateDeviceAuthenticationPolicy(ctx context.Context, x *store.DeviceAuthenticationPolicy) error {
	return s.configWrite(ctx, x.EnvironmentID, func(t *SQLStore) error {
		_, err := t.exec(ctx, `INSERT INTO device_authentication_policies (`+dapCols+`, name_lc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			x.ID, x.EnvironmentID, x.Name, x.Default, jsonText(x.Data), ms(x.CreatedAt), ms(x.UpdatedAt), strings.ToLower(x.Name))
		return dapErr(err)
	})
}

func (s *SQLStore) GetDeviceAuthenticationPolicy(ctx context.Context, envID, id string) (*store.DeviceAuthenticationPolicy, error) {
	return one(ctx, s, scanDAP, `SELECT `+dapCols+` FROM device_authentication_policies WHERE environment_id = ? AND id = ?`+s.forUpdate(), envID, id)
}

func (s *SQLStore) GetDefaultDeviceAuthenticationPolicy(ctx context.Context, envID string) (*store.DeviceAuthenticationPolicy, error) {
	return one(ctx, s, scanDAP, `SELECT `+dapCols+` FROM device_authentication_policies WHERE environment_id = ? AND is_default`, envID)
}

func (s *SQLStore) ListDeviceAuthenticationPolicies(ctx context.Context, envID string) ([]store.DeviceAuthenticationPolicy, error) {
	return many(ctx, s, scanDAP, `SELECT `+dapCols+` FROM device_authentication_policies WHERE environment_id = ? ORDER BY id`, envID)
}

func (s *SQLStore) UpdateDeviceAuthenticationPolicy(ctx context.Context, x *store.DeviceAuthenticationPolicy) error {
	return s.configWrite(ctx, x.EnvironmentID, func(t *SQLStore) error {
		err := t.execOne(ctx, `UPDATE device_authentication_policies SET name = ?, name_lc = ?, is_default = ?, data = ?, updated_at = ? WHERE environment_id = ? AND id = ?`,
			x.Name, strings.ToLower(x.Name), x.Default, jsonText(x.Data), ms(x.UpdatedAt), x.EnvironmentID, x.ID)
		return dapErr(err)
	})
}

func (s *SQLStore) DeleteDeviceAuthenticationPolicy(ctx context.Context, envID, id string) error {
	return s.configWrite(ctx, envID, func(t *SQLStore) error {
		return t.execOne(ctx, `DELETE FROM device_authentication_policies WHERE environment_id = ? AND id = ?`, envID, id)
	})
}

func (s *SQLStore) ClearDefaultDeviceAuthenticationPolicy(ctx context.Context, envID, keepID string) error {
	return s.configWrite(ctx, envID, func(t *SQLStore) error {
		_, err := t.exec(ctx, `UPDATE device_authentication_policies SET is_default = ? WHERE environment_id = ? AND id <> ? AND is_default`, false, envID, keepID)
		return err
	})
}

func scanMFASettings(r scanner) (store.MFASettings, error) {
	var x store.MFASettings
	var data string
	var u int64
	err := r.Scan(&x.EnvironmentID, &data, &u)
	x.Data, x.UpdatedAt = []byte(data), fromMS(u)
	return x, err
}

func (s *SQLStore) GetMFASettings(ctx context.Context, envID string) (*store.MFASettings, error) {
	return one(ctx, s, scanMFASettings, `SELECT environment_id, data, updated_at FROM mfa_settings WHERE environment_id = ?`, envID)
}

func (s *SQLStore) PutMFASettings(ctx context.Context, x *store.MFASettings) error {
	return s.configWrite(ctx, x.EnvironmentID, func(t *SQLStore) error {
		_, err := t.exec(ctx, `INSERT INTO mfa_settings (environment_id, data, updated_at) VALUES (?, ?, ?)
 ON CONFLICT (environment_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`,
			x.EnvironmentID, jsonText(x.Data), ms(x.UpdatedAt))
		// A missing environment fails the reference: ErrReferenced is
		// ErrNotFound to the caller.
		if err = mapErr(err, "mfaSettings", "environmentId"); err == store.ErrReferenced {
			return store.ErrNotFound
		}
		return err
	})
}

func (s *SQLStore) DeleteMFASettings(ctx context.Context, envID string) error {
	return s.configWrite(ctx, envID, func(t *SQLStore) error {
		_, err := t.exec(ctx, `DELETE FROM mfa_settings WHERE environment_id = ?`, envID)
		return err
	})
}

// LockDeviceAuthenticationPolicies takes envID's device authentication
// policy lock for the rest of the transaction (PostgreSQL; SQLite runs
// one writer at a time already).
func (s *SQLStore) LockDeviceAuthenticationPolicies(ctx context.Context, envID string) error {
	return s.lockEnvironment(ctx, "deviceAuthenticationPolicies", envID)
}
