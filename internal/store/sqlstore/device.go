package sqlstore

import (
	"context"
	"encoding/json"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// ---- device authorizations (RFC 8628)

const deviceCols = `device_code_hash, user_code_hash, environment_id, application_id, status, user_id, session_id, data, poll_interval, last_polled_at, created_at, expires_at`

func scanDevice(r scanner) (store.DeviceAuthorization, error) {
	var x store.DeviceAuthorization
	var data string
	var polled, c, e int64
	err := r.Scan(&x.DeviceCodeHash, &x.UserCodeHash, &x.EnvironmentID, &x.ApplicationID, &x.Status, &x.UserID, &x.SessionID,
		&data, &x.Interval, &polled, &c, &e)
	x.Data, x.CreatedAt, x.ExpiresAt = []byte(data), fromMS(c), fromMS(e)
	if polled != 0 {
		x.LastPolledAt = fromMS(polled)
	}
	return x, err
}

// polledMS is a poll time as stored: 0 for none.
func polledMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return ms(t)
}

func (s *SQLStore) CreateDeviceAuthorization(ctx context.Context, x *store.DeviceAuthorization) error {
	_, err := s.exec(ctx, `INSERT INTO device_authorizations (`+deviceCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		x.DeviceCodeHash, x.UserCodeHash, x.EnvironmentID, x.ApplicationID, x.Status, x.UserID, x.SessionID, jsonText(x.Data),
		x.Interval, polledMS(x.LastPolledAt), ms(x.CreatedAt), ms(x.ExpiresAt))
	return mapErr(err, "device authorization", "user_code")
}

func (s *SQLStore) GetDeviceAuthorization(ctx context.Context, envID, deviceCodeHash string) (*store.DeviceAuthorization, error) {
	return one(ctx, s, scanDevice, `SELECT `+deviceCols+` FROM device_authorizations WHERE environment_id = ? AND device_code_hash = ?`, envID, deviceCodeHash)
}

// GetDeviceAuthorizationByUserCode reads through the
// (environment_id, user_code_hash) unique constraint's index.
func (s *SQLStore) GetDeviceAuthorizationByUserCode(ctx context.Context, envID, userCodeHash string) (*store.DeviceAuthorization, error) {
	return one(ctx, s, scanDevice, `SELECT `+deviceCols+` FROM device_authorizations WHERE environment_id = ? AND user_code_hash = ?`, envID, userCodeHash)
}

// deviceConditional runs an update that must change one row; when it changes
// none, ErrNotFound if the row is gone and ErrConflict if it is there in
// another state.
func (s *SQLStore) deviceConditional(ctx context.Context, envID, deviceCodeHash, query string, a ...any) error {
	res, err := s.exec(ctx, query, a...)
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
	if _, err := s.GetDeviceAuthorization(ctx, envID, deviceCodeHash); err != nil {
		return err
	}
	return store.ErrConflict
}

func (s *SQLStore) DecideDeviceAuthorization(ctx context.Context, envID, deviceCodeHash, status, userID, sessionID string, data json.RawMessage) error {
	return s.deviceConditional(ctx, envID, deviceCodeHash,
		`UPDATE device_authorizations SET status = ?, user_id = ?, session_id = ?, data = ? WHERE environment_id = ? AND device_code_hash = ? AND status = ?`,
		status, userID, sessionID, jsonText(data), envID, deviceCodeHash, store.DevicePending)
}

func (s *SQLStore) PollDeviceAuthorization(ctx context.Context, envID, deviceCodeHash string, prevPolledAt, polledAt time.Time, interval int) error {
	return s.deviceConditional(ctx, envID, deviceCodeHash,
		`UPDATE device_authorizations SET last_polled_at = ?, poll_interval = ? WHERE environment_id = ? AND device_code_hash = ? AND last_polled_at = ?`,
		polledMS(polledAt), interval, envID, deviceCodeHash, polledMS(prevPolledAt))
}

func (s *SQLStore) RedeemDeviceAuthorization(ctx context.Context, envID, deviceCodeHash string) error {
	return s.deviceConditional(ctx, envID, deviceCodeHash,
		`UPDATE device_authorizations SET status = ? WHERE environment_id = ? AND device_code_hash = ? AND status = ?`,
		store.DeviceRedeemed, envID, deviceCodeHash, store.DeviceApproved)
}
