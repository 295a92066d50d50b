package sqlstore

import (
	"context"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// ---- resources and scopes

const resCols = `id, environment_id, name, type, audience, description, access_token_validity_seconds, data, created_at, updated_at`

func scanRes(r scanner) (store.Resource, error) {
	var x store.Resource
	var data string
	var c, u int64
	err := r.Scan(&x.ID, &x.EnvironmentID, &x.Name, &x.Type, &x.Audience, &x.Description, &x.AccessTokenValiditySeconds, &data, &c, &u)
	x.Data, x.CreatedAt, x.UpdatedAt = []byte(data), fromMS(c), fromMS(u)
	return x, err
}

func (s *SQLStore) CreateResource(ctx context.Context, x *store.Resource) error {
	return s.configWrite(ctx, x.EnvironmentID, func(t *SQLStore) error {
		_, err := t.exec(ctx, `INSERT INTO resources (`+resCols+`, name_lc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			x.ID, x.EnvironmentID, x.Name, x.Type, x.Audience, x.Description, x.AccessTokenValiditySeconds, jsonText(x.Data), ms(x.CreatedAt), ms(x.UpdatedAt), strings.ToLower(x.Name))
		return mapErr(err, "resource", "name")
	})
}

func (s *SQLStore) GetResource(ctx context.Context, envID, id string) (*store.Resource, error) {
	return one(ctx, s, scanRes, `SELECT `+resCols+` FROM resources WHERE environment_id = ? AND id = ?`, envID, id)
}

func (s *SQLStore) ListResources(ctx context.Context, envID string) ([]store.Resource, error) {
	return many(ctx, s, scanRes, `SELECT `+resCols+` FROM resources WHERE environment_id = ? ORDER BY id`, envID)
}

func (s *SQLStore) UpdateResource(ctx context.Context, x *store.Resource) error {
	return s.configWrite(ctx, x.EnvironmentID, func(t *SQLStore) error {
		err := t.execOne(ctx, `UPDATE resources SET name = ?, name_lc = ?, type = ?, audience = ?, description = ?, access_token_validity_seconds = ?, data = ?, updated_at = ?
 WHERE environment_id = ? AND id = ?`,
			x.Name, strings.ToLower(x.Name), x.Type, x.Audience, x.Description, x.AccessTokenValiditySeconds, jsonText(x.Data), ms(x.UpdatedAt), x.EnvironmentID, x.ID)
		return mapErr(err, "resource", "name")
	})
}

func (s *SQLStore) DeleteResource(ctx context.Context, envID, id string) error {
	return s.configWrite(ctx, envID, func(t *SQLStore) error {
		return t.execOne(ctx, `DELETE FROM resources WHERE environment_id = ? AND id = ?`, envID, id)
	})
}

const scopeCols = `id, environment_id, resource_id, name, description, data, created_at, updated_at`

func scanScope(r scanner) (store.Scope, error) {
	var x store.Scope
	var data string
	var c, u int64
	err := r.Scan(&x.ID, &x.EnvironmentID, &x.ResourceID, &x.Name, &x.Description, &data, &c, &u)
	x.Data, x.CreatedAt, x.UpdatedAt = []byte(data), fromMS(c), fromMS(u)
	return x, err
}

func (s *SQLStore) CreateScope(ctx context.Context, x *store.Scope) error {
	return s.configWrite(ctx, x.EnvironmentID, func(t *SQLStore) error {
		_, err := t.exec(ctx, `INSERT INTO scopes (`+scopeCols+`, name_lc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			x.ID, x.EnvironmentID, x.ResourceID, x.Name, x.Description, jsonText(x.Data), ms(x.CreatedAt), ms(x.UpdatedAt), strings.ToLower(x.Name))
		return mapErr(err, "scope", "name")
	})
}

func (s *SQLStore) GetScope(ctx context.Context, envID, resourceID, id string) (*store.Scope, error) {
	return one(ctx, s, scanScope, `SELECT `+scopeCols+` FROM scopes WHERE environment_id = ? AND resource_id = ? AND id = ?`, envID, resourceID, id)
}

func (s *SQLStore) ListScopes(ctx context.Context, envID, resourceID string) ([]store.Scope, error) {
	return many(ctx, s, scanScope, `SELECT `+scopeCols+` FROM scopes WHERE environment_id = ? AND resource_id = ? ORDER BY id`, envID, resourceID)
}

func (s *SQLStore) ListEnvironmentScopes(ctx context.Context, envID string) ([]store.Scope, error) {
	return many(ctx, s, scanScope, `SELECT `+scopeCols+` FROM scopes WHERE environment_id = ? ORDER BY resource_id, id`, envID)
}

func (s *SQLStore) UpdateScope(ctx context.Context, x *store.Scope) error {
	return s.configWrite(ctx, x.EnvironmentID, func(t *SQLStore) error {
		err := t.execOne(ctx, `UPDATE scopes SET name = ?, name_lc = ?, description = ?, data = ?, updated_at = ? WHERE environment_id = ? AND resource_id = ? AND id = ?`,
			x.Name, strings.ToLower(x.Name), x.Description, jsonText(x.Data), ms(x.UpdatedAt), x.EnvironmentID, x.ResourceID, x.ID)
		return mapErr(err, "scope", "name")
	})
}

func (s *SQLStore) DeleteScope(ctx context.Context, envID, resourceID, id string) error {
	return s.configWrite(ctx, envID, func(t *SQLStore) error {
		return t.execOne(ctx, `DELETE FROM scopes WHERE environment_id = ? AND resource_id = ? AND id = ?`, envID, resourceID, id)
	})
}

// ---- password policies

const ppCols = `id, environment_id, name, is_default, data, created_at, updated_at`

func scanPP(r scanner) (store.PasswordPolicy, error) {
	var x store.PasswordPolicy
	var data string
	var c, u int64
	err := r.Scan(&x.ID, &x.EnvironmentID, &x.Name, &x.Default, &data, &c, &u)
	x.Data, x.CreatedAt, x.UpdatedAt = []byte(data), fromMS(c), fromMS(u)
	return x, err
}

func (s *SQLStore) CreatePasswordPolicy(ctx context.Context, x *store.PasswordPolicy) error {
	_, err := s.exec(ctx, `INSERT INTO password_policies (`+ppCols+`, name_lc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		x.ID, x.EnvironmentID, x.Name, x.Default, jsonText(x.Data), ms(x.CreatedAt), ms(x.UpdatedAt), strings.ToLower(x.Name))
	return mapErr(err, "passwordPolicy", "name")
}

func (s *SQLStore) GetPasswordPolicy(ctx context.Context, envID, id string) (*store.PasswordPolicy, error) {
	return one(ctx, s, scanPP, `SELECT `+ppCols+` FROM password_policies WHERE environment_id = ? AND id = ?`, envID, id)
}

func (s *SQLStore) ListPasswordPolicies(ctx context.Context, envID string) ([]store.PasswordPolicy, error) {
	return many(ctx, s, scanPP, `SELECT `+ppCols+` FROM password_policies WHERE environment_id = ? ORDER BY id`, envID)
}

func (s *SQLStore) UpdatePasswordPolicy(ctx context.Context, x *store.PasswordPolicy) error {
	err := s.execOne(ctx, `UPDATE password_policies SET name = ?, name_lc = ?, is_default = ?, data = ?, updated_at = ? WHERE environment_id = ? AND id = ?`,
		x.Name, strings.ToLower(x.Name), x.Default, jsonText(x.Data), ms(x.UpdatedAt), x.EnvironmentID, x.ID)
	return mapErr(err, "passwordPolicy", "name")
}

func (s *SQLStore) DeletePasswordPolicy(ctx context.Context, envID, id string) error {
	return s.execOne(ctx, `DELETE FROM password_policies WHERE environment_id = ? AND id = ?`, envID, id)
}

// ---- sign-on policies and their actions

const sopCols = `id, environment_id, name, description, is_default, created_at, updated_at`

func scanSOP(r scanner) (store.SignOnPolicy, error) {
	var x store.SignOnPolicy
	var c, u int64
	err := r.Scan(&x.ID, &x.EnvironmentID, &x.Name, &x.Description, &x.Default, &c, &u)
	x.CreatedAt, x.UpdatedAt = fromMS(c), fromMS(u)
	return x, err
}

func (s *SQLStore) CreateSignOnPolicy(ctx context.Context, x *store.SignOnPolicy) error {
	return s.configWrite(ctx, x.EnvironmentID, func(t *SQLStore) error {
		_, err := t.exec(ctx, `INSERT INTO sign_on_policies (`+sopCols+`, name_lc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			x.ID, x.EnvironmentID, x.Name, x.Description, x.Default, ms(x.CreatedAt), ms(x.UpdatedAt), strings.ToLower(x.Name))
		return mapErr(err, "signOnPolicy", "name")
	})
}

func (s *SQLStore) GetSignOnPolicy(ctx context.Context, envID, id string) (*store.SignOnPolicy, error) {
	return one(ctx, s, scanSOP, `SELECT `+sopCols+` FROM sign_on_policies WHERE environment_id = ? AND id = ?`, envID, id)
}

func (s *SQLStore) ListSignOnPolicies(ctx context.Context, envID string) ([]store.SignOnPolicy, error) {
	return many(ctx, s, scanSOP, `SELECT `+sopCols+` FROM sign_on_policies WHERE environment_id = ? ORDER BY id`, envID)
}

func (s *SQLStore) UpdateSignOnPolicy(ctx context.Context, x *store.SignOnPolicy) error {
	return s.configWrite(ctx, x.EnvironmentID, func(t *SQLStore) error {
		err := t.execOne(ctx, `UPDATE sign_on_policies SET name = ?, name_lc = ?, description = ?, is_default = ?, updated_at = ? WHERE environment_id = ? AND id = ?`,
			x.Name, strings.ToLower(x.Name), x.Description, x.Default, ms(x.UpdatedAt), x.EnvironmentID, x.ID)
		return mapErr(err, "signOnPolicy", "name")
	})
}

func (s *SQLStore) DeleteSignOnPolicy(ctx context.Context, envID, id string) error {
	return s.configWrite(ctx, envID, func(t *SQLStore) error {
		return t.execOne(ctx, `DELETE FROM sign_on_policies WHERE environment_id = ? AND id = ?`, envID, id)
	})
}

const actCols = `id, environment_id, sign_on_policy_id, type, priority, data, created_at, updated_at`

func scanAct(r scanner) (store.SignOnPolicyAction, error) {
	var x store.SignOnPolicyAction
	var data string
	var c, u int64
	err := r.Scan(&x.ID, &x.EnvironmentID, &x.SignOnPolicyID, &x.Type, &x.Priority, &data, &c, &u)
	x.Data, x.CreatedAt, x.UpdatedAt = []byte(data), fromMS(c), fromMS(u)
	return x, err
}

func (s *SQLStore) CreateSignOnPolicyAction(ctx context.Context, x *store.SignOnPolicyAction) error {
	return s.configWrite(ctx, x.EnvironmentID, func(t *SQLStore) error {
		_, err := t.exec(ctx, `INSERT INTO sign_on_policy_actions (`+actCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			x.ID, x.EnvironmentID, x.SignOnPolicyID, x.Type, x.Priority, jsonText(x.Data), ms(x.CreatedAt), ms(x.UpdatedAt))
		return mapErr(err, "signOnPolicyAction", "id")
	})
}

func (s *SQLStore) GetSignOnPolicyAction(ctx context.Context, envID, policyID, id string) (*store.SignOnPolicyAction, error) {
	return one(ctx, s, scanAct, `SELECT `+actCols+` FROM sign_on_policy_actions WHERE environment_id = ? AND sign_on_policy_id = ? AND id = ?`, envID, policyID, id)
}

func (s *SQLStore) ListSignOnPolicyActions(ctx context.Context, envID, policyID string) ([]store.SignOnPolicyAction, error) {
	return many(ctx, s, scanAct, `SELECT `+actCols+` FROM sign_on_policy_actions WHERE environment_id = ? AND sign_on_policy_id = ? ORDER BY priority, id`, envID, policyID)
}

func (s *SQLStore) ListEnvironmentSignOnPolicyActions(ctx context.Context, envID string) ([]store.SignOnPolicyAction, error) {
	return many(ctx, s, scanAct, `SELECT `+actCols+` FROM sign_on_policy_actions WHERE environment_id = ? ORDER BY sign_on_policy_id, priority, id`, envID)
}

func (s *SQLStore) UpdateSignOnPolicyAction(ctx context.Context, x *store.SignOnPolicyAction) error {
	return s.configWrite(ctx, x.EnvironmentID, func(t *SQLStore) error {
		return t.execOne(ctx, `UPDATE sign_on_policy_actions SET type = ?, priority = ?, data = ?, updated_at = ? WHERE environment_id = ? AND sign_on_policy_id = ? AND id = ?`,
			x.Type, x.Priority, jsonText(x.Data), ms(x.UpdatedAt), x.EnvironmentID, x.SignOnPolicyID, x.ID)
	})
}

func (s *SQLStore) DeleteSignOnPolicyAction(ctx context.Context, envID, policyID, id string) error {
	return s.configWrite(ctx, envID, func(t *SQLStore) error {
		return t.execOne(ctx, `DELETE FROM sign_on_policy_actions WHERE environment_id = ? AND sign_on_policy_id = ? AND id = ?`, envID, policyID, id)
	})
}

// ---- keys

const keyCols = `id, environment_id, name, algorithm, key_length, signature_algorithm, subject_dn, issuer_dn, usage_type, is_default, serial_number, starts_at, expires_at, certificate, private_key_sealed, created_at, updated_at`

func scanKey(r scanner) (store.Key, error) {
	var k store.Key
	var st, ex, c, u int64
	err := r.Scan(&k.ID, &k.EnvironmentID, &k.Name, &k.Algorithm, &k.KeyLength, &k.SignatureAlgorithm, &k.SubjectDN, &k.IssuerDN, &k.UsageType, &k.Default,
		&k.SerialNumber, &st, &ex, &k.Certificate, &k.PrivateKeySealed, &c, &u)
	k.StartsAt, k.ExpiresAt, k.CreatedAt, k.UpdatedAt = fromMS(st), fromMS(ex), fromMS(c), fromMS(u)
	return k, err
}

// Signing keys are cached by every node (keys.Manager follows the
// configuration version): each write of them is a configuration write.

func (s *SQLStore) CreateKey(ctx context.Context, k *store.Key) error {
	return s.configWrite(ctx, k.EnvironmentID, func(t *SQLStore) error {
		_, err := t.exec(ctx, `INSERT INTO signing_keys (`+keyCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			k.ID, k.EnvironmentID, k.Name, k.Algorithm, k.KeyLength, k.SignatureAlgorithm, k.SubjectDN, k.IssuerDN, k.UsageType, k.Default,
			k.SerialNumber, ms(k.StartsAt), ms(k.ExpiresAt), k.Certificate, k.PrivateKeySealed, ms(k.CreatedAt), ms(k.UpdatedAt))
		return mapErr(err, "key", "default")
	})
}

func (s *SQLStore) GetKey(ctx context.Context, envID, id string) (*store.Key, error) {
	return one(ctx, s, scanKey, `SELECT `+keyCols+` FROM signing_keys WHERE environment_id = ? AND id = ?`, envID, id)
}

func (s *SQLStore) ListKeys(ctx context.Context, envID string) ([]store.Key, error) {
	return many(ctx, s, scanKey, `SELECT `+keyCols+` FROM signing_keys WHERE environment_id = ? ORDER BY created_at, id`, envID)
}

func (s *SQLStore) UpdateKey(ctx context.Context, k *store.Key) error {
	return s.configWrite(ctx, k.EnvironmentID, func(t *SQLStore) error {
		err := t.execOne(ctx, `UPDATE signing_keys SET name = ?, usage_type = ?, is_default = ?, updated_at = ? WHERE environment_id = ? AND id = ?`,
			k.Name, k.UsageType, k.Default, ms(k.UpdatedAt), k.EnvironmentID, k.ID)
		return mapErr(err, "key", "default")
	})
}

func (s *SQLStore) DeleteKey(ctx context.Context, envID, id string) error {
	return s.configWrite(ctx, envID, func(t *SQLStore) error {
		return t.execOne(ctx, `DELETE FROM signing_keys WHERE environment_id = ? AND id = ?`, envID, id)
	})
}

// ---- certificates

const certCols = `id, environment_id, name, algorithm, key_length, signature_algorithm, subject_dn, issuer_dn, usage_type, serial_number, starts_at, expires_at, certificate, created_at, updated_at`

func scanCert(r scanner) (store.Certificate, error) {
	var c store.Certificate
	var st, ex, cr, u int64
	err := r.Scan(&c.ID, &c.EnvironmentID, &c.Name, &c.Algorithm, &c.KeyLength, &c.SignatureAlgorithm, &c.SubjectDN, &c.IssuerDN, &c.UsageType,
		&c.SerialNumber, &st, &ex, &c.Certificate, &cr, &u)
	c.StartsAt, c.ExpiresAt, c.CreatedAt, c.UpdatedAt = fromMS(st), fromMS(ex), fromMS(cr), fromMS(u)
	return c, err
}

func (s *SQLStore) CreateCertificate(ctx context.Context, c *store.Certificate) error {
	return s.configWrite(ctx, c.EnvironmentID, func(t *SQLStore) error {
		_, err := t.exec(ctx, `INSERT INTO certificates (`+certCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.EnvironmentID, c.Name, c.Algorithm, c.KeyLength, c.SignatureAlgorithm, c.SubjectDN, c.IssuerDN, c.UsageType,
			c.SerialNumber, ms(c.StartsAt), ms(c.ExpiresAt), c.Certificate, ms(c.CreatedAt), ms(c.UpdatedAt))
		return mapErr(err, "certificate", "")
	})
}

func (s *SQLStore) GetCertificate(ctx context.Context, envID, id string) (*store.Certificate, error) {
	return one(ctx, s, scanCert, `SELECT `+certCols+` FROM certificates WHERE environment_id = ? AND id = ?`, envID, id)
}

func (s *SQLStore) ListCertificates(ctx context.Context, envID string) ([]store.Certificate, error) {
	return many(ctx, s, scanCert, `SELECT `+certCols+` FROM certificates WHERE environment_id = ? ORDER BY created_at, id`, envID)
}

func (s *SQLStore) DeleteCertificate(ctx context.Context, envID, id string) error {
	return s.configWrite(ctx, envID, func(t *SQLStore) error {
		return t.execOne(ctx, `DELETE FROM certificates WHERE environment_id = ? AND id = ?`, envID, id)
	})
}
