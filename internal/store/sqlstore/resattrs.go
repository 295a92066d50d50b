package sqlstore

import (
	"context"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// ---- resource attributes

const rattrCols = `id, environment_id, resource_id, name, value, type, id_token, user_info, created_at, updated_at`

func scanRAttr(r scanner) (store.ResourceAttribute, error) {
	var x store.ResourceAttribute
	var c, u int64
	err := r.Scan(&x.ID, &x.EnvironmentID, &x.ResourceID, &x.Name, &x.Value, &x.Type, &x.IDToken, &x.UserInfo, &c, &u)
	x.CreatedAt, x.UpdatedAt = fromMS(c), fromMS(u)
	return x, err
}

func (s *SQLStore) CreateResourceAttribute(ctx context.Context, x *store.ResourceAttribute) error {
	return s.configWrite(ctx, x.EnvironmentID, func(t *SQLStore) error {
		_, err := t.exec(ctx, `INSERT INTO resource_attributes (`+rattrCols+`, name_lc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			x.ID, x.EnvironmentID, x.ResourceID, x.Name, x.Value, x.Type, x.IDToken, x.UserInfo, ms(x.CreatedAt), ms(x.UpdatedAt), strings.ToLower(x.Name))
		return mapErr(err, "resourceAttribute", "name")
	})
}

func (s *SQLStore) GetResourceAttribute(ctx context.Context, envID, resourceID, id string) (*store.ResourceAttribute, error) {
	return one(ctx, s, scanRAttr, `SELECT `+rattrCols+` FROM resource_attributes WHERE environment_id = ? AND resource_id = ? AND id = ?`, envID, resourceID, id)
}

func (s *SQLStore) ListResourceAttributes(ctx context.Context, envID, resourceID string) ([]store.ResourceAttribute, error) {
	return many(ctx, s, scanRAttr, `SELECT `+rattrCols+` FROM resource_attributes WHERE environment_id = ? AND resource_id = ? ORDER BY name_lc, id`, envID, resourceID)
}

func (s *SQLStore) ListEnvironmentResourceAttributes(ctx context.Context, envID string) ([]store.ResourceAttribute, error) {
	return many(ctx, s, scanRAttr, `SELECT `+rattrCols+` FROM resource_attributes WHERE environment_id = ? ORDER BY resource_id, name_lc, id`, envID)
}

func (s *SQLStore) UpdateResourceAttribute(ctx context.Context, x *store.ResourceAttribute) error {
	return s.configWrite(ctx, x.EnvironmentID, func(t *SQLStore) error {
		err := t.execOne(ctx, `UPDATE resource_attributes SET name = ?, name_lc = ?, value = ?, type = ?, id_token = ?, user_info = ?, updated_at = ?
 WHERE environment_id = ? AND resource_id = ? AND id = ?`,
			x.Name, strings.ToLower(x.Name), x.Value, x.Type, x.IDToken, x.UserInfo, ms(x.UpdatedAt), x.EnvironmentID, x.ResourceID, x.ID)
		return mapErr(err, "resourceAttribute", "name")
	})
}

func (s *SQLStore) DeleteResourceAttribute(ctx context.Context, envID, resourceID, id string) error {
	return s.configWrite(ctx, envID, func(t *SQLStore) error {
		return t.execOne(ctx, `DELETE FROM resource_attributes WHERE environment_id = ? AND resource_id = ? AND id = ?`, envID, resourceID, id)
	})
}

// ---- defaults and guards of the configuration records

func (s *SQLStore) ClearDefaultPasswordPolicy(ctx context.Context, envID, keepID string) error {
	_, err := s.exec(ctx, `UPDATE password_policies SET is_default = ? WHERE environment_id = ? AND id <> ? AND is_default`, false, envID, keepID)
	return err
}

func (s *SQLStore) CountPopulationsByPasswordPolicy(ctx context.Context, envID string) (map[string]int, error) {
	return countBy(ctx, s, `SELECT password_policy_id, COUNT(*) FROM populations WHERE environment_id = ? GROUP BY password_policy_id`, envID)
}

func (s *SQLStore) ClearDefaultSignOnPolicy(ctx context.Context, envID, keepID string) error {
	return s.configWrite(ctx, envID, func(t *SQLStore) error {
		_, err := t.exec(ctx, `UPDATE sign_on_policies SET is_default = ? WHERE environment_id = ? AND id <> ? AND is_default`, false, envID, keepID)
		return err
	})
}

// LockSignOnPolicy takes the policy's row lock on PostgreSQL, so that
// writers of one policy's actions (which check priorities before writing)
// run one after the other. SQLite transactions already hold the one writer.
func (s *SQLStore) LockSignOnPolicy(ctx context.Context, envID, id string) error {
	q := `SELECT id FROM sign_on_policies WHERE environment_id = ? AND id = ?`
	if s.db.dialect == dialectPostgres && s.tx != nil {
		q += ` FOR UPDATE`
	}
	_, err := one(ctx, s, func(r scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	}, q, envID, id)
	return err
}

func (s *SQLStore) ClearDefaultKey(ctx context.Context, envID, usageType, keepID string) error {
	return s.configWrite(ctx, envID, func(t *SQLStore) error {
		_, err := t.exec(ctx, `UPDATE signing_keys SET is_default = ? WHERE environment_id = ? AND usage_type = ? AND id <> ? AND is_default`, false, envID, usageType, keepID)
		return err
	})
}

func (s *SQLStore) LockKeys(ctx context.Context, envID string) error {
	return s.lockEnvironment(ctx, "keys", envID)
}
