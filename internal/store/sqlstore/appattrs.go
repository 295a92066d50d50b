package sqlstore

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// ---- application attribute mappings

const aattrCols = `id, environment_id, application_id, name, value, mapping_type, required, id_token, user_info, oidc_scopes, name_format, created_at, updated_at`

func scanAAttr(r scanner) (store.ApplicationAttribute, error) {
	var x store.ApplicationAttribute
	var scopes string
	var c, u int64
	err := r.Scan(&x.ID, &x.EnvironmentID, &x.ApplicationID, &x.Name, &x.Value, &x.MappingType, &x.Required, &x.IDToken, &x.UserInfo, &scopes, &x.NameFormat, &c, &u)
	if err == nil && scopes != "" && scopes != "[]" {
		err = json.Unmarshal([]byte(scopes), &x.OIDCScopes)
	}
	x.CreatedAt, x.UpdatedAt = fromMS(c), fromMS(u)
	return x, err
}

func scopesJSON(ids []string) string {
	if len(ids) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(ids)
	return string(b)
}

func (s *SQLStore) CreateApplicationAttribute(ctx context.Context, x *store.ApplicationAttribute) error {
	return s.configWrite(ctx, x.EnvironmentID, func(t *SQLStore) error {
		_, err := t.exec(ctx, `INSERT INTO application_attributes (`+aattrCols+`, name_lc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			x.ID, x.EnvironmentID, x.ApplicationID, x.Name, x.Value, x.MappingType, x.Required, x.IDToken, x.UserInfo, scopesJSON(x.OIDCScopes),
			x.NameFormat, ms(x.CreatedAt), ms(x.UpdatedAt), strings.ToLower(x.Name))
		return mapErr(err, "applicationAttribute", "name")
	})
}

func (s *SQLStore) GetApplicationAttribute(ctx context.Context, envID, appID, id string) (*store.ApplicationAttribute, error) {
	return one(ctx, s, scanAAttr, `SELECT `+aattrCols+` FROM application_attributes WHERE environment_id = ? AND application_id = ? AND id = ?`, envID, appID, id)
}

func (s *SQLStore) ListApplicationAttributes(ctx context.Context, envID, appID string) ([]store.ApplicationAttribute, error) {
	return many(ctx, s, scanAAttr, `SELECT `+aattrCols+` FROM application_attributes WHERE environment_id = ? AND application_id = ? ORDER BY name_lc, id`, envID, appID)
}

func (s *SQLStore) UpdateApplicationAttribute(ctx context.Context, x *store.ApplicationAttribute) error {
	return s.configWrite(ctx, x.EnvironmentID, func(t *SQLStore) error {
		err := t.execOne(ctx, `UPDATE application_attributes SET name = ?, name_lc = ?, value = ?, required = ?, id_token = ?, user_info = ?, oidc_scopes = ?, name_format = ?, updated_at = ?
 WHERE environment_id = ? AND application_id = ? AND id = ?`,
			x.Name, strings.ToLower(x.Name), x.Value, x.Required, x.IDToken, x.UserInfo, scopesJSON(x.OIDCScopes), x.NameFormat, ms(x.UpdatedAt),
			x.EnvironmentID, x.ApplicationID, x.ID)
		return mapErr(err, "applicationAttribute", "name")
	})
}

func (s *SQLStore) DeleteApplicationAttribute(ctx context.Context, envID, appID, id string) error {
	return s.configWrite(ctx, envID, func(t *SQLStore) error {
		return t.execOne(ctx, `DELETE FROM application_attributes WHERE environment_id = ? AND application_id = ? AND id = ?`, envID, appID, id)
	})
}
