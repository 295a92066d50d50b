package sqlstore

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// newTestEnv creates an organization, a license and an environment.
func newTestEnv(t *testing.T, s *SQLStore) *store.Environment {
	t.Helper()
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Millisecond)
	org := &store.Organization{ID: uuid.NewString(), Name: "Org", Type: "TRIAL", CreatedAt: now, UpdatedAt: now}
	lic := &store.License{ID: uuid.NewString(), OrganizationID: org.ID, Name: "L", Package: "TRIAL", Status: "ACTIVE",
		Data: json.RawMessage(`{}`), CreatedAt: now, UpdatedAt: now}
	env := &store.Environment{ID: uuid.NewString(), OrganizationID: org.ID, Name: "Env", Type: "SANDBOX", Region: "EU",
		LicenseID: lic.ID, Status: "ACTIVE", Data: json.RawMessage(`{}`), CreatedAt: now, UpdatedAt: now}
	if err := errors.Join(s.CreateOrganization(ctx, org), s.CreateLicense(ctx, lic), s.CreateEnvironment(ctx, env)); err != nil {
		t.Fatal(err)
	}
	return env
}

// versionRow is envID's config_versions row: its version, or false when
// it has none.
func versionRow(t *testing.T, s *SQLStore, envID string) (int64, bool) {
	t.Helper()
	var v int64
	err := s.db.writer.db.QueryRowContext(t.Context(), s.db.rebind(`SELECT version FROM config_versions WHERE environment_id = ?`), envID).Scan(&v)
	if err != nil {
		return 0, false
	}
	return v, true
}

// Every environment has its version row, at 0 until its configuration is
// written, so that a bump never inserts it: from its creation, and from
// migration 7 for those that existed before it.
func TestConfigVersionRow(t *testing.T) {
	cases := []struct {
		name string
		// before turns the database into what it was before migration 7
		// (nil: as it is).
		before func(t *testing.T, s *SQLStore)
	}{
		{"Created", nil},
		{"Migrated", func(t *testing.T, s *SQLStore) {
			for _, q := range []string{`DROP INDEX sign_on_policy_actions_env`, `DROP TABLE config_versions`, `DELETE FROM schema_migrations WHERE version = 7`} {
				if _, err := s.db.writer.db.ExecContext(t.Context(), q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
		}},
	}
	for _, b := range sqltest.Backends() {
		for _, tc := range cases {
			t.Run(b.Name+"/"+tc.name, func(t *testing.T) {
				s := openStore(t, b.DSN(t))
				envs := []*store.Environment{newTestEnv(t, s), newTestEnv(t, s)}
				if tc.before != nil {
					tc.before(t, s)
					if err := s.db.migrate(t.Context()); err != nil {
						t.Fatal(err)
					}
				}
				for _, e := range envs {
					if v, ok := versionRow(t, s, e.ID); !ok || v != 0 {
						t.Errorf("environment %s: version %d (row %v), want a row at 0", e.ID, v, ok)
					}
					if v, err := s.ConfigVersion(t.Context(), e.ID); err != nil || v != 0 {
						t.Errorf("ConfigVersion = %d, %v; want 0", v, err)
					}
				}
			})
		}
	}
}

// A transaction that holds a row of an environment and then writes its
// configuration, while the environment is being deleted: the delete's
// cascade waits for the transaction's row, so the transaction's version
// bump must not wait for the delete (on PostgreSQL, a bump that inserted
// the version row waited on the environment row for its foreign key
// check: a deadlock, and one of the two failed). Both succeed, whether the
// row held is one the cascade reaches before config_versions (a
// population) or a theme, whose table the delete empties first.
func TestConfigWriteDuringEnvironmentDelete(t *testing.T) {
	cases := []struct {
		name string
		// hold creates a row of env and returns a write of it, the write
		// that makes the delete wait.
		hold func(t *testing.T, s *SQLStore, env *store.Environment) func(tx *SQLStore) error
	}{
		{"population", func(t *testing.T, s *SQLStore, env *store.Environment) func(tx *SQLStore) error {
			now := time.Now().UTC().Truncate(time.Millisecond)
			pop := &store.Population{ID: uuid.NewString(), EnvironmentID: env.ID, Name: "People", Data: json.RawMessage(`{}`), CreatedAt: now, UpdatedAt: now}
			if err := s.CreatePopulation(t.Context(), pop); err != nil {
				t.Fatal(err)
			}
			// Populations are not cached configuration: no version row is
			// touched yet.
			return func(tx *SQLStore) error {
				p := *pop
				p.Description = "held"
				return tx.UpdatePopulation(t.Context(), &p)
			}
		}},
		{"theme", func(t *testing.T, s *SQLStore, env *store.Environment) func(tx *SQLStore) error {
			now := time.Now().UTC().Truncate(time.Millisecond)
			th := &store.Theme{ID: uuid.NewString(), EnvironmentID: env.ID, Template: "focus", Data: json.RawMessage(`{}`), CreatedAt: now, UpdatedAt: now}
			if err := s.CreateTheme(t.Context(), th); err != nil {
				t.Fatal(err)
			}
			return func(tx *SQLStore) error {
				x := *th
				x.Template = "slate"
				return tx.UpdateTheme(t.Context(), &x)
			}
		}},
		{"signing key", func(t *testing.T, s *SQLStore, env *store.Environment) func(tx *SQLStore) error {
			now := time.Now().UTC().Truncate(time.Millisecond)
			k := &store.Key{ID: uuid.NewString(), EnvironmentID: env.ID, Name: "Signing", Algorithm: "RSA", KeyLength: 2048,
				SignatureAlgorithm: "SHA256withRSA", UsageType: "SIGNING", SerialNumber: "1", StartsAt: now, ExpiresAt: now.AddDate(1, 0, 0),
				Certificate: []byte{1}, PrivateKeySealed: []byte{1}, CreatedAt: now, UpdatedAt: now}
			if err := s.CreateKey(t.Context(), k); err != nil {
				t.Fatal(err)
			}
			// A key write is itself a configuration write.
			return func(tx *SQLStore) error {
				x := *k
				x.Name = "held"
				return tx.UpdateKey(t.Context(), &x)
			}
		}},
	}
	for _, b := range sqltest.Backends() {
		for _, tc := range cases {
			t.Run(b.Name+"/"+tc.name, func(t *testing.T) {
				ctx := t.Context()
				s := openStore(t, b.DSN(t))
				env := newTestEnv(t, s)
				hold := tc.hold(t, s, env)
				deleted := make(chan error, 1)
				err := s.Tx(ctx, func(tx store.Store) error {
					t1 := tx.(*SQLStore)
					// A row the delete reaches...
					if err := hold(t1); err != nil {
						return err
					}
					// ...and a write of cached configuration.
					if err := t1.ClearDefaultSignOnPolicy(ctx, env.ID, uuid.NewString()); err != nil {
						return err
					}
					go func() { deleted <- s.DeleteEnvironment(ctx, env.ID) }()
					return waitBlocked(t, t1)
				})
				if err != nil {
					t.Errorf("the configuration write: %v", err)
				}
				if err := <-deleted; err != nil {
					t.Errorf("DeleteEnvironment: %v", err)
				}
				if _, err := s.ConfigVersion(ctx, env.ID); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("ConfigVersion of the deleted environment: %v, want ErrNotFound", err)
				}
			})
		}
	}
}

// waitBlocked returns once another session waits for tx's locks
// (PostgreSQL), or after a moment (SQLite, where the other session waits
// for the one writer and cannot be observed).
func waitBlocked(t *testing.T, tx *SQLStore) error {
	t.Helper()
	if tx.db.dialect != dialectPostgres {
		time.Sleep(100 * time.Millisecond)
		return nil
	}
	ctx := t.Context()
	var pid int
	if err := tx.tx.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		return err
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var n int
		if err := tx.db.reader.db.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))`, pid).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
	}
	return errors.New("the delete never waited for the transaction")
}

// config_versions is the last table PostgreSQL cascades an environment's
// delete to: a writer's bump then never waits on a row the delete took
// while the delete waits on the writer (see version.go). A migration that
// adds a table referencing environments breaks this and must say how it
// keeps the delete and writers apart: emptiedFirst names the tables
// DeleteEnvironment empties itself before it deletes the environment row,
// so that their cascade finds nothing to wait for.
func TestConfigVersionsCascadeLast(t *testing.T) {
	emptiedFirst := map[string]bool{"themes": true, "unknown_user_failures": true, "pushed_requests": true, "device_authorizations": true, "application_attributes": true,
		"phone_delivery_settings": true, "template_contents": true,
		"device_authentication_policies": true, "mfa_settings": true, "device_authentications": true, "fido2_policies": true,
		"agreements": true, "agreement_languages": true, "agreement_revisions": true, "agreement_consents": true, "groups": true,
		"schema_attributes": true, "activities": true, "subscriptions": true, "subscription_dead_letters": true,
		"certificates": true}
	s := openStore(t, sqltest.Postgres(t))
	// The triggers that cascade a delete of environments, in the order
	// PostgreSQL fires them (by name).
	rows, err := s.db.reader.db.QueryContext(t.Context(), `SELECT c.conrelid::regclass::text FROM pg_trigger t JOIN pg_constraint c ON c.oid = t.tgconstraint
 WHERE t.tgrelid = 'environments'::regclass AND c.confdeltype = 'c' AND t.tgfoid = 'pg_catalog."RI_FKey_cascade_del"'::regproc ORDER BY t.tgname`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var order []string
	for rows.Next() {
		var table string
		if err := rows.Scan(&table); err != nil {
			t.Fatal(err)
		}
		if !emptiedFirst[table] {
			order = append(order, table)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(order) < 2 || order[len(order)-1] != "config_versions" {
		t.Errorf("an environment's delete cascades to %v; want config_versions last", order)
	}
}
