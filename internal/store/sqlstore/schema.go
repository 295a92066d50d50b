package sqlstore

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// ---- user schema (migration 0024)

const schemaAttrCols = `id, environment_id, name, schema_type, data, created_at, updated_at`

func scanSchemaAttribute(r scanner) (store.SchemaAttribute, error) {
	var x store.SchemaAttribute
	var data string
	var c, u int64
	err := r.Scan(&x.ID, &x.EnvironmentID, &x.Name, &x.SchemaType, &data, &c, &u)
	x.Data, x.CreatedAt, x.UpdatedAt = []byte(data), fromMS(c), fromMS(u)
	return x, err
}

func (s *SQLStore) CreateSchemaAttribute(ctx context.Context, a *store.SchemaAttribute) error {
	return s.configWrite(ctx, a.EnvironmentID, func(t *SQLStore) error {
		_, err := t.exec(ctx, `INSERT INTO schema_attributes (`+schemaAttrCols+`, name_lc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.EnvironmentID, a.Name, a.SchemaType, jsonText(a.Data), ms(a.CreatedAt), ms(a.UpdatedAt), lc(a.Name))
		return mapErr(err, "schemaAttribute", "name")
	})
}

func (s *SQLStore) GetSchemaAttribute(ctx context.Context, envID, id string) (*store.SchemaAttribute, error) {
	return one(ctx, s, scanSchemaAttribute, `SELECT `+schemaAttrCols+` FROM schema_attributes WHERE environment_id = ? AND id = ?`+s.forUpdate(), envID, id)
}

func (s *SQLStore) ListSchemaAttributes(ctx context.Context, envID string) ([]store.SchemaAttribute, error) {
	return many(ctx, s, scanSchemaAttribute, `SELECT `+schemaAttrCols+` FROM schema_attributes WHERE environment_id = ? ORDER BY name_lc`, envID)
}

func (s *SQLStore) UpdateSchemaAttribute(ctx context.Context, a *store.SchemaAttribute) error {
	return s.configWrite(ctx, a.EnvironmentID, func(t *SQLStore) error {
		return mapErr(t.execOne(ctx, `UPDATE schema_attributes SET data = ?, updated_at = ? WHERE environment_id = ? AND id = ?`,
			jsonText(a.Data), ms(a.UpdatedAt), a.EnvironmentID, a.ID), "schemaAttribute", "name")
	})
}

func (s *SQLStore) DeleteSchemaAttribute(ctx context.Context, envID, id string) error {
	return s.configWrite(ctx, envID, func(t *SQLStore) error {
		// The claimed values go by the foreign key's cascade; deleting
		// them first keeps SQLite and PostgreSQL to one order.
		if _, err := t.exec(ctx, `DELETE FROM user_unique_values WHERE environment_id = ? AND attribute_id = ?`, envID, id); err != nil {
			return err
		}
		return t.execOne(ctx, `DELETE FROM schema_attributes WHERE environment_id = ? AND id = ?`, envID, id)
	})
}

func (s *SQLStore) LockSchema(ctx context.Context, envID string) error {
	return s.lockEnvironment(ctx, "schema", envID)
}

func (s *SQLStore) ClaimUniqueValues(ctx context.Context, envID, attrID, name string, vals map[string]string) error {
	return s.Tx(ctx, func(tx store.Store) error {
		t := tx.(*SQLStore)
		if _, err := t.exec(ctx, `DELETE FROM user_unique_values WHERE environment_id = ? AND attribute_id = ?`, envID, attrID); err != nil {
			return err
		}
		for v, userID := range vals {
			if _, err := t.exec(ctx, `INSERT INTO user_unique_values (environment_id, attribute_id, value, user_id) VALUES (?, ?, ?, ?)`,
				envID, attrID, v, userID); err != nil {
				return mapErr(err, "user", name)
			}
		}
		return nil
	})
}

// scanPage is how many users ScanUsers reads at a time.
const scanPage = 500

func (s *SQLStore) ScanUsers(ctx context.Context, envID string, fn func([]store.User) error) error {
	after := ""
	for {
		us, err := many(ctx, s, scanUser, `SELECT `+userCols+` FROM users u WHERE u.environment_id = ? AND u.id > ? ORDER BY u.id LIMIT ?`,
			envID, after, scanPage)
		if err != nil || len(us) == 0 {
			return err
		}
		if err := fn(us); err != nil {
			return err
		}
		if len(us) < scanPage {
			return nil
		}
		after = us[len(us)-1].ID
	}
}

// claimUserValues replaces the values u claims of unique attributes with
// u.Unique (nil: leaves them). A value another user holds is a UniqueError
// naming the attribute.
func (t *SQLStore) claimUserValues(ctx context.Context, u *store.User) error {
	if u.Unique == nil {
		return nil
	}
	if _, err := t.exec(ctx, `DELETE FROM user_unique_values WHERE user_id = ?`, u.ID); err != nil {
		return err
	}
	for _, v := range u.Unique {
		if _, err := t.exec(ctx, `INSERT INTO user_unique_values (environment_id, attribute_id, value, user_id) VALUES (?, ?, ?, ?)`,
			u.EnvironmentID, v.AttributeID, v.Value, u.ID); err != nil {
			return mapErr(err, "user", v.Name)
		}
	}
	return nil
}
