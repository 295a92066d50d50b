package sqlstore

import (
	"context"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// ---- identity providers

const idpCols = `id, environment_id, name, type, enabled, client_secret_sealed, data, created_at, updated_at`

func scanIDP(r scanner) (store.IdentityProvider, error) {
	var p store.IdentityProvider
	var data string
	var c, u int64
	err := r.Scan(&p.ID, &p.EnvironmentID, &p.Name, &p.Type, &p.Enabled, &p.ClientSecretSealed, &data, &c, &u)
	p.Data, p.CreatedAt, p.UpdatedAt = []byte(data), fromMS(c), fromMS(u)
	return p, err
}

func (s *SQLStore) CreateIdentityProvider(ctx context.Context, p *store.IdentityProvider) error {
	return s.configWrite(ctx, p.EnvironmentID, func(t *SQLStore) error {
		_, err := t.exec(ctx, `INSERT INTO identity_providers (id, environment_id, name, name_lc, type, enabled, client_secret_sealed, data, created_at, updated_at)
 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.ID, p.EnvironmentID, p.Name, strings.ToLower(p.Name), p.Type, p.Enabled, p.ClientSecretSealed, jsonText(p.Data), ms(p.CreatedAt), ms(p.UpdatedAt))
		return mapErr(err, "identity provider", "name")
	})
}

// GetIdentityProvider, inside Tx, locks the row: a provider's delete and
// the writes that name it (sign-on actions, links) serialise on it.
func (s *SQLStore) GetIdentityProvider(ctx context.Context, envID, id string) (*store.IdentityProvider, error) {
	return one(ctx, s, scanIDP, `SELECT `+idpCols+` FROM identity_providers WHERE environment_id = ? AND id = ?`+s.forUpdate(), envID, id)
}

func (s *SQLStore) ListIdentityProviders(ctx context.Context, envID string) ([]store.IdentityProvider, error) {
	return many(ctx, s, scanIDP, `SELECT `+idpCols+` FROM identity_providers WHERE environment_id = ? ORDER BY id`, envID)
}

func (s *SQLStore) UpdateIdentityProvider(ctx context.Context, p *store.IdentityProvider) error {
	return s.configWrite(ctx, p.EnvironmentID, func(t *SQLStore) error {
		err := t.execOne(ctx, `UPDATE identity_providers SET name = ?, name_lc = ?, type = ?, enabled = ?, client_secret_sealed = ?, data = ?, updated_at = ?
 WHERE environment_id = ? AND id = ?`,
			p.Name, strings.ToLower(p.Name), p.Type, p.Enabled, p.ClientSecretSealed, jsonText(p.Data), ms(p.UpdatedAt), p.EnvironmentID, p.ID)
		return mapErr(err, "identity provider", "name")
	})
}

func (s *SQLStore) DeleteIdentityProvider(ctx context.Context, envID, id string) error {
	return s.configWrite(ctx, envID, func(t *SQLStore) error {
		return t.execOne(ctx, `DELETE FROM identity_providers WHERE environment_id = ? AND id = ?`, envID, id)
	})
}

// ---- attribute mappings

const idpAttrCols = `id, environment_id, identity_provider_id, name, value, update_policy, mapping_type, created_at, updated_at`

func scanIDPAttr(r scanner) (store.IdentityProviderAttribute, error) {
	var a store.IdentityProviderAttribute
	var c, u int64
	err := r.Scan(&a.ID, &a.EnvironmentID, &a.IdentityProviderID, &a.Name, &a.Value, &a.Update, &a.MappingType, &c, &u)
	a.CreatedAt, a.UpdatedAt = fromMS(c), fromMS(u)
	return a, err
}

func (s *SQLStore) CreateIdentityProviderAttribute(ctx context.Context, a *store.IdentityProviderAttribute) error {
	return s.configWrite(ctx, a.EnvironmentID, func(t *SQLStore) error {
		_, err := t.exec(ctx, `INSERT INTO identity_provider_attributes (`+idpAttrCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.EnvironmentID, a.IdentityProviderID, a.Name, a.Value, a.Update, a.MappingType, ms(a.CreatedAt), ms(a.UpdatedAt))
		return mapErr(err, "attribute mapping", "name")
	})
}

func (s *SQLStore) GetIdentityProviderAttribute(ctx context.Context, envID, idpID, id string) (*store.IdentityProviderAttribute, error) {
	return one(ctx, s, scanIDPAttr, `SELECT `+idpAttrCols+` FROM identity_provider_attributes WHERE environment_id = ? AND identity_provider_id = ? AND id = ?`, envID, idpID, id)
}

func (s *SQLStore) ListIdentityProviderAttributes(ctx context.Context, envID, idpID string) ([]store.IdentityProviderAttribute, error) {
	return many(ctx, s, scanIDPAttr, `SELECT `+idpAttrCols+` FROM identity_provider_attributes WHERE environment_id = ? AND identity_provider_id = ? ORDER BY name`, envID, idpID)
}

func (s *SQLStore) UpdateIdentityProviderAttribute(ctx context.Context, a *store.IdentityProviderAttribute) error {
	return s.configWrite(ctx, a.EnvironmentID, func(t *SQLStore) error {
		err := t.execOne(ctx, `UPDATE identity_provider_attributes SET name = ?, value = ?, update_policy = ?, mapping_type = ?, updated_at = ?
 WHERE environment_id = ? AND identity_provider_id = ? AND id = ?`,
			a.Name, a.Value, a.Update, a.MappingType, ms(a.UpdatedAt), a.EnvironmentID, a.IdentityProviderID, a.ID)
		return mapErr(err, "attribute mapping", "name")
	})
}

func (s *SQLStore) DeleteIdentityProviderAttribute(ctx context.Context, envID, idpID, id string) error {
	return s.configWrite(ctx, envID, func(t *SQLStore) error {
		return t.execOne(ctx, `DELETE FROM identity_provider_attributes WHERE environment_id = ? AND identity_provider_id = ? AND id = ?`, envID, idpID, id)
	})
}

// ---- linked accounts

const linkCols = `id, environment_id, user_id, identity_provider_id, external_id, created_at, updated_at`

func scanLink(r scanner) (store.LinkedAccount, error) {
	var l store.LinkedAccount
	var c, u int64
	err := r.Scan(&l.ID, &l.EnvironmentID, &l.UserID, &l.IdentityProviderID, &l.ExternalID, &c, &u)
	l.CreatedAt, l.UpdatedAt = fromMS(c), fromMS(u)
	return l, err
}

func (s *SQLStore) CreateLinkedAccount(ctx context.Context, l *store.LinkedAccount) error {
	_, err := s.exec(ctx, `INSERT INTO linked_accounts (`+linkCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		l.ID, l.EnvironmentID, l.UserID, l.IdentityProviderID, l.ExternalID, ms(l.CreatedAt), ms(l.UpdatedAt))
	return mapErr(err, "linked account", "externalId")
}

func (s *SQLStore) GetLinkedAccount(ctx context.Context, envID, userID, id string) (*store.LinkedAccount, error) {
	return one(ctx, s, scanLink, `SELECT `+linkCols+` FROM linked_accounts WHERE environment_id = ? AND user_id = ? AND id = ?`, envID, userID, id)
}

func (s *SQLStore) ListLinkedAccounts(ctx context.Context, envID, userID string) ([]store.LinkedAccount, error) {
	return many(ctx, s, scanLink, `SELECT `+linkCols+` FROM linked_accounts WHERE environment_id = ? AND user_id = ? ORDER BY id`, envID, userID)
}

func (s *SQLStore) DeleteLinkedAccount(ctx context.Context, envID, userID, id string) error {
	return s.execOne(ctx, `DELETE FROM linked_accounts WHERE environment_id = ? AND user_id = ? AND id = ?`, envID, userID, id)
}

func (s *SQLStore) FindLinkedAccount(ctx context.Context, envID, idpID, externalID string) (*store.LinkedAccount, error) {
	return one(ctx, s, scanLink, `SELECT `+linkCols+` FROM linked_accounts WHERE environment_id = ? AND identity_provider_id = ? AND external_id = ?`, envID, idpID, externalID)
}
