package sqlstore

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// ---- device authentications (PingOne's MFA-only flow)

const deviceAuthCols = `id, environment_id, application_id, user_id, status, version, data, created_at, updated_at, expires_at`

func scanDeviceAuth(r scanner) (store.DeviceAuthentication, error) {
	var d store.DeviceAuthentication
	var data string
	var c, u, e int64
	err := r.Scan(&d.ID, &d.EnvironmentID, &d.ApplicationID, &d.UserID, &d.Status, &d.Version, &data, &c, &u, &e)
	d.Data, d.CreatedAt, d.UpdatedAt, d.ExpiresAt = []byte(data), fromMS(c), fromMS(u), fromMS(e)
	return d, err
}

func (s *SQLStore) CreateDeviceAuthentication(ctx context.Context, d *store.DeviceAuthentication) error {
	_, err := s.exec(ctx, `INSERT INTO device_authentications (`+deviceAuthCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.EnvironmentID, d.ApplicationID, d.UserID, d.Status, d.Version, jsonText(d.Data), ms(d.CreatedAt), ms(d.UpdatedAt), ms(d.ExpiresAt))
	return mapErr(err, "device authentication", "id")
}

func (s *SQLStore) GetDeviceAuthentication(ctx context.Context, envID, id string) (*store.DeviceAuthentication, error) {
	return one(ctx, s, scanDeviceAuth, `SELECT `+deviceAuthCols+` FROM device_authentications WHERE environment_id = ? AND id = ?`, envID, id)
}

// UpdateDeviceAuthentication is one conditional statement: of two steps
// that read the same version, one writes and the other learns it lost.
func (s *SQLStore) UpdateDeviceAuthentication(ctx context.Context, d *store.DeviceAuthentication) error {
	res, err := s.exec(ctx, `UPDATE device_authentications SET status = ?, version = version + 1, data = ?, updated_at = ?, expires_at = ?
 WHERE environment_id = ? AND id = ? AND version = ?`,
		d.Status, jsonText(d.Data), ms(d.UpdatedAt), ms(d.ExpiresAt), d.EnvironmentID, d.ID, d.Version)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 1 {
		d.Version++
		return nil
	}
	if _, err := s.GetDeviceAuthentication(ctx, d.EnvironmentID, d.ID); err != nil {
		return err
	}
	return store.ErrConflict
}
