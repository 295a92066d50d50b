package sqlstore

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Themes are cached configuration (the sign-on page reads the default
// theme), so every write bumps the environment's version.

const themeCols = `id, environment_id, template, is_default, data, created_at, updated_at`

func scanTheme(r scanner) (store.Theme, error) {
	var x store.Theme
	var data string
	var c, u int64
	err := r.Scan(&x.ID, &x.EnvironmentID, &x.Template, &x.Default, &data, &c, &u)
	x.Data, x.CreatedAt, x.UpdatedAt = []byte(data), fromMS(c), fromMS(u)
	return x, err
}

func (s *SQLStore) CreateTheme(ctx context.Context, x *store.Theme) error {
	return s.configWrite(ctx, x.EnvironmentID, func(t *SQLStore) error {
		_, err := t.exec(ctx, `INSERT INTO themes (`+themeCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			x.ID, x.EnvironmentID, x.Template, x.Default, jsonText(x.Data), ms(x.CreatedAt), ms(x.UpdatedAt))
		return mapErr(err, "theme", "default")
	})
}

func (s *SQLStore) GetTheme(ctx context.Context, envID, id string) (*store.Theme, error) {
	return one(ctx, s, scanTheme, `SELECT `+themeCols+` FROM themes WHERE environment_id = ? AND id = ?`, envID, id)
}

func (s *SQLStore) GetDefaultTheme(ctx context.Context, envID string) (*store.Theme, error) {
	return one(ctx, s, scanTheme, `SELECT `+themeCols+` FROM themes WHERE environment_id = ? AND is_default`, envID)
}

// themeList is GET /themes.
var themeList = &listing[store.Theme]{cols: themeCols, from: `FROM themes WHERE environment_id = ?`, id: "id", byID: "themes_env",
	scan: scanTheme, filter: &filterSchema{attrs: map[string]filterAttr{
		"id":       {column: "id"},
		"default":  {column: "is_default", kind: boolAttr},
		"template": {column: "template", ops: []string{"eq", "ne"}},
	}}}

func (s *SQLStore) ListThemes(ctx context.Context, envID string, p store.Page) ([]store.Theme, int, error) {
	return page(ctx, s, themeList, p, envID)
}

func (s *SQLStore) UpdateTheme(ctx context.Context, x *store.Theme) error {
	return s.configWrite(ctx, x.EnvironmentID, func(t *SQLStore) error {
		err := t.execOne(ctx, `UPDATE themes SET template = ?, is_default = ?, data = ?, updated_at = ? WHERE environment_id = ? AND id = ?`,
			x.Template, x.Default, jsonText(x.Data), ms(x.UpdatedAt), x.EnvironmentID, x.ID)
		return mapErr(err, "theme", "default")
	})
}

func (s *SQLStore) DeleteTheme(ctx context.Context, envID, id string) error {
	return s.configWrite(ctx, envID, func(t *SQLStore) error {
		if err := t.execOne(ctx, `DELETE FROM themes WHERE environment_id = ? AND id = ?`, envID, id); err != nil {
			return err
		}
		_, err := t.exec(ctx, `UPDATE populations SET theme_id = '' WHERE environment_id = ? AND theme_id = ?`, envID, id)
		return err
	})
}

func (s *SQLStore) ClearDefaultTheme(ctx context.Context, envID, keepID string) error {
	return s.configWrite(ctx, envID, func(t *SQLStore) error {
		_, err := t.exec(ctx, `UPDATE themes SET is_default = ? WHERE environment_id = ? AND id <> ? AND is_default`, false, envID, keepID)
		return err
	})
}

func (s *SQLStore) LockThemes(ctx context.Context, envID string) error {
	return s.lockEnvironment(ctx, "themes", envID)
}
