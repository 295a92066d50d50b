package sqlstore

import (
	"context"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Phone delivery settings and template contents are cached configuration
// (every notification reads them), so every write bumps the environment's
// version.

const phoneCols = `id, environment_id, provider, data, secret, created_at, updated_at`

func scanPhone(r scanner) (store.PhoneDeliverySettings, error) {
	var x store.PhoneDeliverySettings
	var data string
	var c, u int64
	err := r.Scan(&x.ID, &x.EnvironmentID, &x.Provider, &data, &x.Secret, &c, &u)
	x.Data, x.CreatedAt, x.UpdatedAt = []byte(data), fromMS(c), fromMS(u)
	return x, err
}

func (s *SQLStore) CreatePhoneDeliverySettings(ctx context.Context, x *store.PhoneDeliverySettings) error {
	return s.configWrite(ctx, x.EnvironmentID, func(t *SQLStore) error {
		_, err := t.exec(ctx, `INSERT INTO phone_delivery_settings (`+phoneCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			x.ID, x.EnvironmentID, x.Provider, jsonText(x.Data), nonNil(x.Secret), ms(x.CreatedAt), ms(x.UpdatedAt))
		return mapErr(err, "phoneDeliverySettings", "id")
	})
}

func (s *SQLStore) GetPhoneDeliverySettings(ctx context.Context, envID, id string) (*store.PhoneDeliverySettings, error) {
	return one(ctx, s, scanPhone, `SELECT `+phoneCols+` FROM phone_delivery_settings WHERE environment_id = ? AND id = ?`, envID, id)
}

func (s *SQLStore) ListPhoneDeliverySettings(ctx context.Context, envID string) ([]store.PhoneDeliverySettings, error) {
	return many(ctx, s, scanPhone, `SELECT `+phoneCols+` FROM phone_delivery_settings WHERE environment_id = ? ORDER BY created_at, id`, envID)
}

func (s *SQLStore) UpdatePhoneDeliverySettings(ctx context.Context, x *store.PhoneDeliverySettings) error {
	return s.configWrite(ctx, x.EnvironmentID, func(t *SQLStore) error {
		return t.execOne(ctx, `UPDATE phone_delivery_settings SET provider = ?, data = ?, secret = ?, updated_at = ? WHERE environment_id = ? AND id = ?`,
			x.Provider, jsonText(x.Data), nonNil(x.Secret), ms(x.UpdatedAt), x.EnvironmentID, x.ID)
	})
}

func (s *SQLStore) DeletePhoneDeliverySettings(ctx context.Context, envID, id string) error {
	return s.configWrite(ctx, envID, func(t *SQLStore) error {
		return t.execOne(ctx, `DELETE FROM phone_delivery_settings WHERE environment_id = ? AND id = ?`, envID, id)
	})
}

const contentCols = `id, environment_id, template, delivery_method, locale, variant, data, created_at, updated_at`

func scanContent(r scanner) (store.TemplateContent, error) {
	var x store.TemplateContent
	var data string
	var c, u int64
	err := r.Scan(&x.ID, &x.EnvironmentID, &x.Template, &x.DeliveryMethod, &x.Locale, &x.Variant, &data, &c, &u)
	x.Data, x.CreatedAt, x.UpdatedAt = []byte(data), fromMS(c), fromMS(u)
	return x, err
}

func (s *SQLStore) CreateTemplateContent(ctx context.Context, x *store.TemplateContent) error {
	return s.configWrite(ctx, x.EnvironmentID, func(t *SQLStore) error {
		_, err := t.exec(ctx, `INSERT INTO template_contents (id, environment_id, template, delivery_method, locale, locale_lc, variant, variant_lc, data, created_at, updated_at)
 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			x.ID, x.EnvironmentID, x.Template, x.DeliveryMethod, x.Locale, strings.ToLower(x.Locale), x.Variant, strings.ToLower(x.Variant),
			jsonText(x.Data), ms(x.CreatedAt), ms(x.UpdatedAt))
		return mapErr(err, "templateContent", "locale")
	})
}

func (s *SQLStore) GetTemplateContent(ctx context.Context, envID, template, id string) (*store.TemplateContent, error) {
	return one(ctx, s, scanContent, `SELECT `+contentCols+` FROM template_contents WHERE environment_id = ? AND template = ? AND id = ?`,
		envID, template, id)
}

func (s *SQLStore) ListTemplateContents(ctx context.Context, envID, template string) ([]store.TemplateContent, error) {
	return many(ctx, s, scanContent, `SELECT `+contentCols+` FROM template_contents WHERE environment_id = ? AND template = ?
 ORDER BY delivery_method, locale_lc, variant_lc, id`, envID, template)
}

func (s *SQLStore) UpdateTemplateContent(ctx context.Context, x *store.TemplateContent) error {
	return s.configWrite(ctx, x.EnvironmentID, func(t *SQLStore) error {
		err := t.execOne(ctx, `UPDATE template_contents SET delivery_method = ?, locale = ?, locale_lc = ?, variant = ?, variant_lc = ?, data = ?, updated_at = ?
 WHERE environment_id = ? AND template = ? AND id = ?`,
			x.DeliveryMethod, x.Locale, strings.ToLower(x.Locale), x.Variant, strings.ToLower(x.Variant), jsonText(x.Data), ms(x.UpdatedAt),
			x.EnvironmentID, x.Template, x.ID)
		return mapErr(err, "templateContent", "locale")
	})
}

func (s *SQLStore) DeleteTemplateContent(ctx context.Context, envID, template, id string) error {
	return s.configWrite(ctx, envID, func(t *SQLStore) error {
		return t.execOne(ctx, `DELETE FROM template_contents WHERE environment_id = ? AND template = ? AND id = ?`, envID, template, id)
	})
}

// nonNil keeps a NOT NULL blob column from receiving NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
