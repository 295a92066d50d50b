package sqlstore

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// TestMigrationVerifyStatus: migration 8 gives users that email
// verification marked VERIFIED (not one of PingOne's verifyStatus values)
// NOT_INITIATED again, and leaves the others alone.
func TestMigrationVerifyStatus(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := t.Context()
			s := openStore(t, b.DSN(t))
			now := time.Now().UTC().Truncate(time.Millisecond)
			env := newTestEnv(t, s)
			pop := &store.Population{ID: uuid.NewString(), EnvironmentID: env.ID, Name: "Pop", Default: true, Data: json.RawMessage(`{}`),
				CreatedAt: now, UpdatedAt: now}
			if err := s.CreatePopulation(ctx, pop); err != nil {
				t.Fatal(err)
			}
			statuses := map[string]string{"VERIFIED": "NOT_INITIATED", "ENABLED": "ENABLED", "NOT_INITIATED": "NOT_INITIATED"}
			ids := map[string]string{}
			for before := range statuses {
				u := &store.User{ID: uuid.NewString(), EnvironmentID: env.ID, PopulationID: pop.ID, Username: "u-" + before, Enabled: true,
					AccountStatus: "OK", LifecycleStatus: "ACCOUNT_OK", IdentityProviderType: "PING_ONE", VerifyStatus: before,
					Data: json.RawMessage(`{}`), CreatedAt: now, UpdatedAt: now}
				if err := s.CreateUser(ctx, u); err != nil {
					t.Fatal(err)
				}
				ids[before] = u.ID
			}
			// Run migration 8 again over these rows, as an upgrade would.
			if _, err := s.db.writer.db.ExecContext(ctx, s.db.rebind(`DELETE FROM schema_migrations WHERE version = ?`), 8); err != nil {
				t.Fatal(err)
			}
			if err := s.db.migrate(ctx); err != nil {
				t.Fatal(err)
			}
			for before, want := range statuses {
				u, err := s.GetUser(ctx, env.ID, ids[before])
				if err != nil || u.VerifyStatus != want {
					t.Errorf("verifyStatus %s after the migration: %v %v, want %s", before, u.VerifyStatus, err, want)
				}
			}
		})
	}
}
