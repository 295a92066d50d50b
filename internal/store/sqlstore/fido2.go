package sqlstore

import (
	"context"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// ---- FIDO2 policies (migration 0022)

const fido2PolicyCols = `id, environment_id, name, is_default, data, created_at, updated_at`

func scanFIDO2Policy(r scanner) (store.FIDO2Policy, error) {
	var x store.FIDO2Policy
	var data string
	var c, u int64
	err := r.Scan(&x.ID, &x.EnvironmentID, &x.Name, &x.Default, &data, &c, &u)
	x.Data, x.CreatedAt, x.UpdatedAt = []byte(data), fromMS(c), fromMS(u)
	return x, err
}

// fido2PolicyErr names what a unique violation hit, as dapErr does.
func fido2PolicyErr(err error) error {
	if err != nil && !strings.Contains(err.Error(), "name") {
		return mapErr(err, "fido2Policy", "default")
	}
	return mapErr(err, "fido2Policy", "name")
}

func (s *SQLStore) CreateFIDO2Policy(ctx context.Context, x *store.FIDO2Policy) error {
	return s.configWrite(ctx, x.EnvironmentID, func(t *SQLStore) error {
		_, err := t.exec(ctx, `INSERT INTO fido2_policies (`+fido2PolicyCols+`, name_lc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			x.ID, x.EnvironmentID, x.Name, x.Default, jsonText(x.Data), ms(x.CreatedAt), ms(x.UpdatedAt), strings.ToLower(x.Name))
		return fido2PolicyErr(err)
	})
}

func (s *SQLStore) GetFIDO2Policy(ctx context.Context, envID, id string) (*store.FIDO2Policy, error) {
	return one(ctx, s, scanFIDO2Policy, `SELECT `+fido2PolicyCols+` FROM fido2_policies WHERE environment_id = ? AND id = ?`+s.forUpdate(), envID, id)
}

func (s *SQLStore) GetDefaultFIDO2Policy(ctx context.Context, envID string) (*store.FIDO2Policy, error) {
	return one(ctx, s, scanFIDO2Policy, `SELECT `+fido2PolicyCols+` FROM fido2_policies WHERE environment_id = ? AND is_default`, envID)
}

func (s *SQLStore) ListFIDO2Policies(ctx context.Context, envID string) ([]store.FIDO2Policy, error) {
	return many(ctx, s, scanFIDO2Policy, `SELECT `+fido2PolicyCols+` FROM fido2_policies WHERE environment_id = ? ORDER BY id`, envID)
}

func (s *SQLStore) UpdateFIDO2Policy(ctx context.Context, x *store.FIDO2Policy) error {
	return s.configWrite(ctx, x.EnvironmentID, func(t *SQLStore) error {
		err := t.execOne(ctx, `UPDATE fido2_policies SET name = ?, name_lc = ?, is_default = ?, data = ?, updated_at = ? WHERE environment_id = ? AND id = ?`,
			x.Name, strings.ToLower(x.Name), x.Default, jsonText(x.Data), ms(x.UpdatedAt), x.EnvironmentID, x.ID)
		return fido2PolicyErr(err)
	})
}

func (s *SQLStore) DeleteFIDO2Policy(ctx context.Context, envID, id string) error {
	return s.configWrite(ctx, envID, func(t *SQLStore) error {
		return t.execOne(ctx, `DELETE FROM fido2_policies WHERE environment_id = ? AND id = ?`, envID, id)
	})
}

func (s *SQLStore) ClearDefaultFIDO2Policy(ctx context.Context, envID, keepID string) error {
	return s.configWrite(ctx, envID, func(t *SQLStore) error {
		_, err := t.exec(ctx, `UPDATE fido2_policies SET is_default = ? WHERE environment_id = ? AND id <> ? AND is_default`, false, envID, keepID)
		return err
	})
}

// LockFIDO2Policies takes envID's FIDO2 policy lock for the rest of the
// transaction (PostgreSQL; SQLite runs one writer at a time already).
func (s *SQLStore) LockFIDO2Policies(ctx context.Context, envID string) error {
	return s.lockEnvironment(ctx, "fido2Policies", envID)
}
