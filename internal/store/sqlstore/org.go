package sqlstore

import (
	"context"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func (s *SQLStore) GetMeta(ctx context.Context, key string) (string, error) {
	v, err := one(ctx, s, func(r scanner) (string, error) {
		var v string
		return v, r.Scan(&v)
	}, `SELECT value FROM meta WHERE key = ?`, key)
	if err != nil {
		return "", err
	}
	return *v, nil
}

func (s *SQLStore) PutMeta(ctx context.Context, key, value string) error {
	_, err := s.exec(ctx, `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

func (s *SQLStore) InsertMeta(ctx context.Context, key, value string) error {
	_, err := s.exec(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)`, key, value)
	return mapErr(err, "meta", "key")
}

// ---- organizations and licenses

const orgCols = `id, name, type, created_at, updated_at`

func scanOrg(r scanner) (store.Organization, error) {
	var o store.Organization
	var c, u int64
	err := r.Scan(&o.ID, &o.Name, &o.Type, &c, &u)
	o.CreatedAt, o.UpdatedAt = fromMS(c), fromMS(u)
	return o, err
}

func (s *SQLStore) CreateOrganization(ctx context.Context, o *store.Organization) error {
	_, err := s.exec(ctx, `INSERT INTO organizations (`+orgCols+`) VALUES (?, ?, ?, ?, ?)`,
		o.ID, o.Name, o.Type, ms(o.CreatedAt), ms(o.UpdatedAt))
	return mapErr(err, "organization", "id")
}

func (s *SQLStore) GetOrganization(ctx context.Context, id string) (*store.Organization, error) {
	return one(ctx, s, scanOrg, `SELECT `+orgCols+` FROM organizations WHERE id = ?`, id)
}

func (s *SQLStore) ListOrganizations(ctx context.Context) ([]store.Organization, error) {
	return many(ctx, s, scanOrg, `SELECT `+orgCols+` FROM organizations ORDER BY id`)
}

const licenseCols = `id, organization_id, name, package, status, data, created_at, updated_at`

func scanLicense(r scanner) (store.License, error) {
	var l store.License
	var data string
	var c, u int64
	err := r.Scan(&l.ID, &l.OrganizationID, &l.Name, &l.Package, &l.Status, &data, &c, &u)
	l.Data, l.CreatedAt, l.UpdatedAt = []byte(data), fromMS(c), fromMS(u)
	return l, err
}

func (s *SQLStore) CreateLicense(ctx context.Context, l *store.License) error {
	_, err := s.exec(ctx, `INSERT INTO licenses (`+licenseCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		l.ID, l.OrganizationID, l.Name, l.Package, l.Status, jsonText(l.Data), ms(l.CreatedAt), ms(l.UpdatedAt))
	return mapErr(err, "license", "id")
}

func (s *SQLStore) GetLicense(ctx context.Context, orgID, id string) (*store.License, error) {
	return one(ctx, s, scanLicense, `SELECT `+licenseCols+` FROM licenses WHERE organization_id = ? AND id = ?`, orgID, id)
}

func (s *SQLStore) ListLicenses(ctx context.Context, orgID string) ([]store.License, error) {
	return many(ctx, s, scanLicense, `SELECT `+licenseCols+` FROM licenses WHERE organization_id = ? ORDER BY id`, orgID)
}

func (s *SQLStore) CountEnvironmentsByLicense(ctx context.Context, orgID string) (map[string]int, error) {
	return countBy(ctx, s, `SELECT license_id, COUNT(*) FROM environments WHERE organization_id = ? GROUP BY license_id`, orgID)
}

// ---- environments

const envCols = `id, organization_id, name, description, type, region, license_id, status, data, created_at, updated_at`

func scanEnv(r scanner) (store.Environment, error) {
	var e store.Environment
	var data string
	var c, u int64
	err := r.Scan(&e.ID, &e.OrganizationID, &e.Name, &e.Description, &e.Type, &e.Region, &e.LicenseID, &e.Status, &data, &c, &u)
	e.Data, e.CreatedAt, e.UpdatedAt = []byte(data), fromMS(c), fromMS(u)
	return e, err
}

// CreateEnvironment inserts the environment with its configuration
// version row, at 0: bumps only ever update that row (see version.go).
func (s *SQLStore) CreateEnvironment(ctx context.Context, e *store.Environment) error {
	return s.Tx(ctx, func(tx store.Store) error {
		t := tx.(*SQLStore)
		_, err := t.exec(ctx, `INSERT INTO environments (`+envCols+`, name_lc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.ID, e.OrganizationID, e.Name, e.Description, e.Type, e.Region, e.LicenseID, e.Status, jsonText(e.Data),
			ms(e.CreatedAt), ms(e.UpdatedAt), strings.ToLower(e.Name))
		if err != nil {
			return mapErr(err, "environment", "id")
		}
		_, err = t.exec(ctx, `INSERT INTO config_versions (environment_id, version) VALUES (?, 0)`, e.ID)
		return err
	})
}

// GetEnvironment locks the row inside a PostgreSQL transaction, so that
// read-modify-writes of the data column do not lose each other's keys. NO KEY
// UPDATE is the lock an UPDATE takes anyway: it does not block the foreign
// key checks of rows being added to the environment.
func (s *SQLStore) GetEnvironment(ctx context.Context, id string) (*store.Environment, error) {
	q := `SELECT ` + envCols + ` FROM environments WHERE id = ?`
	if s.tx != nil && s.db.dialect == dialectPostgres {
		q += ` FOR NO KEY UPDATE`
	}
	return one(ctx, s, scanEnv, q, id)
}

// environmentList is GET /environments, an organization's environments.
var environmentList = &listing[store.Environment]{cols: envCols, from: `FROM environments WHERE organization_id = ?`, id: "id", byID: "environments_org",
	scan: scanEnv, filter: &filterSchema{attrs: map[string]filterAttr{
		"id":              {column: "id"},
		"name":            {column: "name_lc", fold: true},
		"type":            {column: "type", ops: []string{"eq", "ne"}},
		"region":          {column: "region", ops: []string{"eq", "ne"}},
		"license.id":      {column: "license_id", ops: []string{"eq", "ne"}},
		"organization.id": {column: "organization_id", ops: []string{"eq", "ne"}},
		"createdAt":       {column: "created_at", kind: timeAttr},
		"updatedAt":       {column: "updated_at", kind: timeAttr},
	}}}

func (s *SQLStore) ListEnvironments(ctx context.Context, orgID string, p store.Page) ([]store.Environment, int, error) {
	return page(ctx, s, environmentList, p, orgID)
}

func (s *SQLStore) UpdateEnvironment(ctx context.Context, e *store.Environment) error {
	return s.configWrite(ctx, e.ID, func(t *SQLStore) error {
		err := t.execOne(ctx, `UPDATE environments SET name = ?, name_lc = ?, description = ?, type = ?, region = ?, license_id = ?, status = ?, data = ?, updated_at = ? WHERE id = ?`,
			e.Name, strings.ToLower(e.Name), e.Description, e.Type, e.Region, e.LicenseID, e.Status, jsonText(e.Data), ms(e.UpdatedAt), e.ID)
		return mapErr(err, "environment", "name")
	})
}

// DeleteEnvironment removes the environment with everything in it; role
// assignments that other actors hold over it go too.
func (s *SQLStore) DeleteEnvironment(ctx context.Context, id string) error {
	return s.Tx(ctx, func(tx store.Store) error {
		t := tx.(*SQLStore)
		// Actors of other environments lose the roles they held over this
		// one: their environments' configuration changes too.
		holders, err := many(ctx, t, func(r scanner) (string, error) {
			var env string
			return env, r.Scan(&env)
		}, `DELETE FROM role_assignments WHERE scope_id = ? RETURNING environment_id`, id)
		if err != nil {
			return err
		}
		for _, env := range holders {
			if env != id {
				t.changes.touch(env)
			}
		}
		// Users first: their population reference is not a cascade.
		if _, err := t.exec(ctx, `DELETE FROM users WHERE environment_id = ?`, id); err != nil {
			return err
		}
		// Themes before the environment row: their table references
		// environments after config_versions does (see version.go).
		if _, err := t.exec(ctx, `DELETE FROM themes WHERE environment_id = ?`, id); err != nil {
			return err
		}
		// Notification settings and template contents likewise (0019).
		for _, table := range []string{"phone_delivery_settings", "template_contents"} {
			if _, err := t.exec(ctx, `DELETE FROM `+table+` WHERE environment_id = ?`, id); err != nil {
				return err
			}
		}
		// Application attribute mappings likewise (migration 0013).
		if _, err := t.exec(ctx, `DELETE FROM application_attributes WHERE environment_id = ?`, id); err != nil {
			return err
		}
		// Made after config_versions too; its writers bump no version, but
		// the delete keeps one order for every later table.
		if _, err := t.exec(ctx, `DELETE FROM unknown_user_failures WHERE environment_id = ?`, id); err != nil {
			return err
		}
		if _, err := t.exec(ctx, `DELETE FROM pushed_requests WHERE environment_id = ?`, id); err != nil {
			return err
		}
		if _, err := t.exec(ctx, `DELETE FROM device_authorizations WHERE environment_id = ?`, id); err != nil {
			return err
		}
		// Device authentications (migration 0020) likewise; deleting the
		// users above took those of users already.
		if _, err := t.exec(ctx, `DELETE FROM device_authentications WHERE environment_id = ?`, id); err != nil {
			return err
		}
		// MFA configuration (migration 0017) likewise.
		if _, err := t.exec(ctx, `DELETE FROM device_authentication_policies WHERE environment_id = ?`, id); err != nil {
			return err
		}
		if _, err := t.exec(ctx, `DELETE FROM mfa_settings WHERE environment_id = ?`, id); err != nil {
			return err
		}
		// FIDO2 policies (migration 0022) likewise.
		if _, err := t.exec(ctx, `DELETE FROM fido2_policies WHERE environment_id = ?`, id); err != nil {
			return err
		}
		// Agreements (migration 0025) likewise, consents before what they
		// name.
		for _, table := range []string{"agreement_consents", "agreement_revisions", "agreement_languages", "agreements"} {
			if _, err := t.exec(ctx, `DELETE FROM `+table+` WHERE environment_id = ?`, id); err != nil {
				return err
			}
		}
		// Groups (migration 0023) likewise, after the users: their
		// memberships and nestings go with them.
		if _, err := t.exec(ctx, `DELETE FROM groups WHERE environment_id = ?`, id); err != nil {
			return err
		}
		// The user schema (migration 0024) likewise; deleting the users
		// above took the values they claimed.
		if _, err := t.exec(ctx, `DELETE FROM schema_attributes WHERE environment_id = ?`, id); err != nil {
			return err
		}
		// Webhook subscriptions (migration 0028) likewise, dead letters
		// first.
		for _, table := range []string{"subscription_dead_letters", "subscriptions"} {
			if _, err := t.exec(ctx, `DELETE FROM `+table+` WHERE environment_id = ?`, id); err != nil {
				return err
			}
		}
		// Certificates (migration 0029) likewise.
		if _, err := t.exec(ctx, `DELETE FROM certificates WHERE environment_id = ?`, id); err != nil {
			return err
		}
		// Audit activities (migration 0027) likewise; their resources go
		// with them.
		if _, err := t.exec(ctx, `DELETE FROM activities WHERE environment_id = ?`, id); err != nil {
			return err
		}
		if err := t.execOne(ctx, `DELETE FROM environments WHERE id = ?`, id); err != nil {
			return mapErr(err, "environment", "id")
		}
		t.changes.delete(id)
		return nil
	})
}
