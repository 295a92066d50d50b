package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// ---- users' MFA devices and MFA lockout

const mfaDeviceCols = `id, environment_id, user_id, type, status, nickname, email, phone, secret, totp_step, sort_order, data, created_at, updated_at, credential_id`

func scanMFADevice(r scanner) (store.MFADevice, error) {
	var d store.MFADevice
	var data string
	var cred sql.NullString
	var c, u int64
	err := r.Scan(&d.ID, &d.EnvironmentID, &d.UserID, &d.Type, &d.Status, &d.Nickname, &d.Email, &d.Phone, &d.Secret,
		&d.TOTPStep, &d.Order, &data, &c, &u, &cred)
	d.Data, d.CreatedAt, d.UpdatedAt, d.CredentialID = []byte(data), fromMS(c), fromMS(u), cred.String
	if len(d.Secret) == 0 {
		d.Secret = nil
	}
	return d, err
}

func (s *SQLStore) CreateMFADevice(ctx context.Context, d *store.MFADevice) error {
	// The INSERT … SELECT writes nothing (ErrNotFound) when the user is
	// not envID's.
	err := s.execOne(ctx, `INSERT INTO mfa_devices (`+mfaDeviceCols+`) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
 WHERE EXISTS (SELECT 1 FROM users WHERE environment_id = ? AND id = ?)`,
		d.ID, d.EnvironmentID, d.UserID, d.Type, d.Status, d.Nickname, d.Email, d.Phone, d.Secret, d.TOTPStep, d.Order,
		jsonText(d.Data), ms(d.CreatedAt), ms(d.UpdatedAt), credentialID(d.CredentialID), d.EnvironmentID, d.UserID)
	if err = mfaDeviceErr(err); errors.Is(err, store.ErrReferenced) {
		return store.ErrNotFound
	}
	return err
}

// credentialID stores "" (no credential) as NULL, which the unique index
// on credentials skips.
func credentialID(id string) any {
	if id == "" {
		return nil
	}
	return id
}

// mfaDeviceErr names what a unique violation hit: the credential (its
// index is mfa_devices_credential on PostgreSQL, its column credential_id
// on SQLite) or else the id.
func mfaDeviceErr(err error) error {
	if err != nil && strings.Contains(err.Error(), "credential") {
		return mapErr(err, "device", "credentialId")
	}
	return mapErr(err, "device", "id")
}

// GetMFADeviceByCredential locks the row inside a transaction, as
// GetMFADevice does.
func (s *SQLStore) GetMFADeviceByCredential(ctx context.Context, envID, credentialID string) (*store.MFADevice, error) {
	if credentialID == "" {
		return nil, store.ErrNotFound
	}
	return one(ctx, s, scanMFADevice, `SELECT `+mfaDeviceCols+` FROM mfa_devices WHERE environment_id = ? AND credential_id = ?`+s.forUpdate(), envID, credentialID)
}

// GetMFADevice locks the row inside a transaction (see forUpdate), so
// that read-modify-writes of one device's data take turns.
func (s *SQLStore) GetMFADevice(ctx context.Context, envID, userID, id string) (*store.MFADevice, error) {
	return one(ctx, s, scanMFADevice, `SELECT `+mfaDeviceCols+` FROM mfa_devices WHERE environment_id = ? AND user_id = ? AND id = ?`+s.forUpdate(), envID, userID, id)
}

func (s *SQLStore) ListMFADevices(ctx context.Context, envID, userID string) ([]store.MFADevice, error) {
	return many(ctx, s, scanMFADevice, `SELECT `+mfaDeviceCols+` FROM mfa_devices WHERE environment_id = ? AND user_id = ?
 ORDER BY CASE WHEN sort_order = 0 THEN 1 ELSE 0 END, sort_order, created_at, id`, envID, userID)
}

func (s *SQLStore) CountMFADevices(ctx context.Context, envID, userID string) (int, error) {
	n, err := one(ctx, s, func(r scanner) (int, error) {
		var n int
		return n, r.Scan(&n)
	}, `SELECT COUNT(*) FROM mfa_devices WHERE environment_id = ? AND user_id = ?`, envID, userID)
	if err != nil {
		return 0, err
	}
	return *n, nil
}

func (s *SQLStore) UpdateMFADevice(ctx context.Context, d *store.MFADevice) error {
	err := s.execOne(ctx, `UPDATE mfa_devices SET type = ?, status = ?, nickname = ?, email = ?, phone = ?, secret = ?, sort_order = ?, data = ?, updated_at = ?, credential_id = ?
 WHERE environment_id = ? AND user_id = ? AND id = ?`,
		d.Type, d.Status, d.Nickname, d.Email, d.Phone, d.Secret, d.Order, jsonText(d.Data), ms(d.UpdatedAt), credentialID(d.CredentialID),
		d.EnvironmentID, d.UserID, d.ID)
	return mfaDeviceErr(err)
}

// SetMFADeviceNickname writes the nickname alone, so that a rename never
// carries back a status or data read before a concurrent write.
func (s *SQLStore) SetMFADeviceNickname(ctx context.Context, envID, userID, id, nickname string, at time.Time) error {
	return s.execOne(ctx, `UPDATE mfa_devices SET nickname = ?, updated_at = ? WHERE environment_id = ? AND user_id = ? AND id = ?`,
		nickname, ms(at), envID, userID, id)
}

func (s *SQLStore) DeleteMFADevice(ctx context.Context, envID, userID, id string) error {
	return s.execOne(ctx, `DELETE FROM mfa_devices WHERE environment_id = ? AND user_id = ? AND id = ?`, envID, userID, id)
}

func (s *SQLStore) SetMFADeviceOrder(ctx context.Context, envID, userID string, ids []string) error {
	return s.Tx(ctx, func(tx store.Store) error {
		t := tx.(*SQLStore)
		if _, err := t.exec(ctx, `UPDATE mfa_devices SET sort_order = 0 WHERE environment_id = ? AND user_id = ? AND sort_order <> 0`, envID, userID); err != nil {
			return err
		}
		for i, id := range ids {
			if err := t.execOne(ctx, `UPDATE mfa_devices SET sort_order = ? WHERE environment_id = ? AND user_id = ? AND id = ?`, i+1, envID, userID, id); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *SQLStore) AdvanceMFATOTPStep(ctx context.Context, envID, userID, id string, step int64) error {
	res, err := s.exec(ctx, `UPDATE mfa_devices SET totp_step = ? WHERE environment_id = ? AND user_id = ? AND id = ? AND totp_step < ?`,
		step, envID, userID, id, step)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 1 {
		return nil
	}
	if _, err := s.GetMFADevice(ctx, envID, userID, id); err != nil {
		return err
	}
	return store.ErrConflict
}

func scanMFALockout(r scanner) (store.MFALockout, error) {
	var l store.MFALockout
	var until int64
	err := r.Scan(&l.EnvironmentID, &l.UserID, &l.Failures, &until)
	if until != 0 {
		l.LockedUntil = fromMS(until)
	}
	return l, err
}

func (s *SQLStore) GetMFALockout(ctx context.Context, envID, userID string) (*store.MFALockout, error) {
	l, err := one(ctx, s, scanMFALockout, `SELECT environment_id, user_id, failures, locked_until FROM mfa_lockouts WHERE environment_id = ? AND user_id = ?`, envID, userID)
	if errors.Is(err, store.ErrNotFound) {
		return &store.MFALockout{EnvironmentID: envID, UserID: userID}, nil
	}
	return l, err
}

// RecordMFAFailure is one upsert: the count and the lock move in the same
// statement, so concurrent wrong codes are all counted and one of them
// locks. A lock that ran out counts as no failures.
func (s *SQLStore) RecordMFAFailure(ctx context.Context, envID, userID string, lockAfter int, lockFor time.Duration, now time.Time) (*store.MFALockout, error) {
	if lockAfter <= 0 {
		lockAfter = 1 << 30
	}
	n, until := ms(now), ms(now.Add(lockFor))
	firstFailures, firstUntil := 1, int64(0)
	if lockAfter <= 1 {
		firstFailures, firstUntil = 0, until
	}
	// fresh is the count the new failure adds to.
	const fresh = `(CASE WHEN mfa_lockouts.locked_until <> 0 AND mfa_lockouts.locked_until <= ? THEN 0 ELSE mfa_lockouts.failures END)`
	q := `INSERT INTO mfa_lockouts (user_id, environment_id, failures, locked_until, updated_at)
 SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM users WHERE environment_id = ? AND id = ?)
 ON CONFLICT (user_id) DO UPDATE SET
 failures = CASE WHEN ` + fresh + ` + 1 >= ? THEN 0 ELSE ` + fresh + ` + 1 END,
 locked_until = CASE WHEN ` + fresh + ` + 1 >= ? THEN ? WHEN mfa_lockouts.locked_until <> 0 AND mfa_lockouts.locked_until <= ? THEN 0 ELSE mfa_lockouts.locked_until END,
 updated_at = ?
 WHERE mfa_lockouts.environment_id = ?
 RETURNING environment_id, user_id, failures, locked_until`
	if s.tx == nil {
		defer s.db.reads.writing()()
	}
	r, err := s.prepared(ctx, s.db.writer, q)
	if err != nil {
		return nil, err
	}
	rows, err := r.query(ctx, []any{userID, envID, firstFailures, firstUntil, n, envID, userID,
		n, lockAfter, n, n, lockAfter, until, n, n, envID})
	list, err := collect(rows, err, scanMFALockout)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, store.ErrNotFound
	}
	return &list[0], nil
}

func (s *SQLStore) ClearMFAFailures(ctx context.Context, envID, userID string) error {
	_, err := s.exec(ctx, `DELETE FROM mfa_lockouts WHERE environment_id = ? AND user_id = ?`, envID, userID)
	return err
}
