package sqlstore

import (
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/provision"
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

// TestMigrationThemes: migration 9 gives every environment that existed
// before it a default theme, the one a new environment gets, and puts every
// population on it (populations could name any theme id before, and none
// named a theme that existed).
func TestMigrationThemes(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := t.Context()
			db, err := open(b.DSN(t))
			if err != nil {
				t.Fatal(err)
			}
			s := &SQLStore{db: db}
			t.Cleanup(func() { s.Close() })
			if err := db.migrateTo(ctx, 8); err != nil {
				t.Fatal(err)
			}
			envs := []*store.Environment{newTestEnv(t, s), newTestEnv(t, s)}
			popID := uuid.NewString()
			if _, err := db.writer.db.ExecContext(ctx, db.rebind(`INSERT INTO populations (id, environment_id, name, name_lc, description, is_default, password_policy_id, data, created_at, updated_at)
 VALUES (?, ?, 'Staff', 'staff', '', ?, '', ?, 0, 0)`), popID, envs[0].ID, true, `{"preferredLanguage":"en","theme":{"id":"`+uuid.NewString()+`"}}`); err != nil {
				t.Fatal(err)
			}

			if err := db.migrate(ctx); err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, e := range envs {
				th, err := s.GetDefaultTheme(ctx, e.ID)
				if err != nil {
					t.Fatalf("GetDefaultTheme(%s): %v", e.ID, err)
				}
				if id, err := uuid.Parse(th.ID); err != nil || id.Version() != 4 || th.ID != id.String() || seen[th.ID] {
					t.Errorf("theme id %q: want a new random UUID in lower case (%v)", th.ID, err)
				}
				seen[th.ID] = true
				if th.Template != provision.DefaultThemeTemplate || !th.Default || !th.CreatedAt.Equal(e.CreatedAt) || !th.UpdatedAt.Equal(e.CreatedAt) {
					t.Errorf("theme %+v: want the default template, default, as old as its environment (%v)", th, e.CreatedAt)
				}
				var got, want any
				if err := errors.Join(json.Unmarshal(th.Data, &got), json.Unmarshal(provisionTheme(t), &want)); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("migrated theme configuration %s, want what a new environment gets: %s", th.Data, provisionTheme(t))
				}
				if _, total, err := s.ListThemes(ctx, e.ID, store.Page{}); err != nil || total != 1 {
					t.Errorf("ListThemes: %d themes, %v; want 1", total, err)
				}
			}
			pop, err := s.GetPopulation(ctx, envs[0].ID, popID)
			if err != nil {
				t.Fatal(err)
			}
			def, _ := s.GetDefaultTheme(ctx, envs[0].ID)
			if pop.ThemeID != "" || pop.EffectiveThemeID != def.ID {
				t.Errorf("migrated population: theme %q effective %q, want none and the default %s", pop.ThemeID, pop.EffectiveThemeID, def.ID)
			}
		})
	}
}

func provisionTheme(t *testing.T) []byte {
	t.Helper()
	b, err := json.Marshal(provision.DefaultTheme)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMigrationDevicePath: migration 15 indexes the devicePathId of the
// applications that exist before it (one per environment, any number
// without one), and from then on refuses a second one in an environment.
func TestMigrationDevicePath(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := t.Context()
			db, err := open(b.DSN(t))
			if err != nil {
				t.Fatal(err)
			}
			s := &SQLStore{db: db}
			t.Cleanup(func() { s.Close() })
			if err := db.migrateTo(ctx, 14); err != nil {
				t.Fatal(err)
			}
			now := time.Now().UTC().Truncate(time.Millisecond)
			app := func(envID, data string) *store.Application {
				return &store.Application{ID: uuid.NewString(), EnvironmentID: envID, Name: "App", Protocol: "OPENID_CONNECT", Type: "NATIVE_APP",
					Enabled: true, TokenEndpointAuthMethod: "NONE", Data: json.RawMessage(data), CreatedAt: now, UpdatedAt: now}
			}
			envA, envB := newTestEnv(t, s), newTestEnv(t, s)
			for _, a := range []*store.Application{app(envA.ID, `{"devicePathId":"tv"}`), app(envB.ID, `{"devicePathId":"tv"}`),
				app(envA.ID, `{}`), app(envA.ID, `{"grantTypes":["DEVICE_CODE"]}`), app(envA.ID, ``)} {
				if err := s.CreateApplication(ctx, a); err != nil {
					t.Fatal(err)
				}
			}
			if err := db.migrate(ctx); err != nil {
				t.Fatal(err)
			}
			err = s.CreateApplication(ctx, app(envA.ID, `{"devicePathId":"tv"}`))
			var ue *store.UniqueError
			if !errors.As(err, &ue) || ue.Resource != "application" || ue.Field != "devicePathId" {
				t.Fatalf("a second devicePathId tv after the migration: %v", err)
			}
			if err := s.CreateApplication(ctx, app(envA.ID, `{"devicePathId":"tv2"}`)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Migration 0017 gives every environment made before it the default
// device authentication policy a new environment gets.
func TestMigrationDeviceAuthenticationPolicies(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := t.Context()
			db, err := open(b.DSN(t))
			if err != nil {
				t.Fatal(err)
			}
			s := &SQLStore{db: db}
			t.Cleanup(func() { s.Close() })
			if err := db.migrateTo(ctx, 16); err != nil {
				t.Fatal(err)
			}
			envs := []*store.Environment{newTestEnv(t, s), newTestEnv(t, s)}
			if err := db.migrate(ctx); err != nil {
				t.Fatal(err)
			}
			want, err := json.Marshal(provision.DefaultDeviceAuthenticationPolicy())
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, e := range envs {
				p, err := s.GetDefaultDeviceAuthenticationPolicy(ctx, e.ID)
				if err != nil {
					t.Fatalf("GetDefaultDeviceAuthenticationPolicy(%s): %v", e.ID, err)
				}
				if id, err := uuid.Parse(p.ID); err != nil || id.Version() != 4 || p.ID != id.String() || seen[p.ID] {
					t.Errorf("policy id %q: want a new random UUID in lower case (%v)", p.ID, err)
				}
				seen[p.ID] = true
				if p.Name != provision.DefaultDeviceAuthenticationPolicyName || !p.CreatedAt.Equal(e.CreatedAt) || !p.UpdatedAt.Equal(e.CreatedAt) {
					t.Errorf("policy %+v: want %q, as old as its environment (%v)", p, provision.DefaultDeviceAuthenticationPolicyName, e.CreatedAt)
				}
				var gotV, wantV any
				if err := errors.Join(json.Unmarshal(p.Data, &gotV), json.Unmarshal(want, &wantV)); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(gotV, wantV) {
					t.Errorf("migrated policy %s, want what a new environment gets: %s", p.Data, want)
				}
				if ps, err := s.ListDeviceAuthenticationPolicies(ctx, e.ID); err != nil || len(ps) != 1 {
					t.Errorf("ListDeviceAuthenticationPolicies: %d, %v; want 1", len(ps), err)
				}
				// The name is taken whatever its case, as for a policy made by the API.
				dup := &store.DeviceAuthenticationPolicy{ID: uuid.NewString(), EnvironmentID: e.ID, Name: "DEFAULT mfa POLICY", Data: json.RawMessage(`{}`)}
				var ue *store.UniqueError
				if err := s.CreateDeviceAuthenticationPolicy(ctx, dup); !errors.As(err, &ue) || ue.Field != "name" {
					t.Errorf("a second %q: %v, want a name uniqueness error", dup.Name, err)
				}
			}
		})
	}
}

// Migration 0021 names the environment's default device authentication
// policy on the MULTI_FACTOR_AUTHENTICATION actions that name none (the
// Multi_Factor policy's action of environments made before 0017), and
// leaves every other action alone.
func TestMigrationMFAActionPolicy(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := t.Context()
			db, err := open(b.DSN(t))
			if err != nil {
				t.Fatal(err)
			}
			s := &SQLStore{db: db}
			t.Cleanup(func() { s.Close() })
			if err := db.migrateTo(ctx, 20); err != nil {
				t.Fatal(err)
			}
			now := time.Now().UTC().Truncate(time.Millisecond)
			env, bare := newTestEnv(t, s), newTestEnv(t, s)
			def := &store.DeviceAuthenticationPolicy{ID: uuid.NewString(), EnvironmentID: env.ID, Name: "Default MFA Policy", Default: true,
				Data: json.RawMessage(`{}`), CreatedAt: now, UpdatedAt: now}
			other := &store.DeviceAuthenticationPolicy{ID: uuid.NewString(), EnvironmentID: env.ID, Name: "Other", Data: json.RawMessage(`{}`), CreatedAt: now, UpdatedAt: now}
			if err := errors.Join(s.CreateDeviceAuthenticationPolicy(ctx, def), s.CreateDeviceAuthenticationPolicy(ctx, other)); err != nil {
				t.Fatal(err)
			}
			type act struct {
				env, typ, data, want string
			}
			acts := []act{
				{env.ID, "MULTI_FACTOR_AUTHENTICATION", `{"noDevicesMode":"BLOCK"}`, `{"noDevicesMode":"BLOCK","deviceAuthenticationPolicy":{"id":"` + def.ID + `"}}`},
				{env.ID, "MULTI_FACTOR_AUTHENTICATION", `{}`, `{"deviceAuthenticationPolicy":{"id":"` + def.ID + `"}}`},
				{env.ID, "MULTI_FACTOR_AUTHENTICATION", `{"deviceAuthenticationPolicy":{"id":""}}`, `{"deviceAuthenticationPolicy":{"id":"` + def.ID + `"}}`},
				{env.ID, "MULTI_FACTOR_AUTHENTICATION", `{"deviceAuthenticationPolicy":{"id":"` + other.ID + `"},"noDevicesMode":"BYPASS"}`,
					`{"deviceAuthenticationPolicy":{"id":"` + other.ID + `"},"noDevicesMode":"BYPASS"}`},
				{env.ID, "LOGIN", `{"registration":{"enabled":false}}`, `{"registration":{"enabled":false}}`},
				// No default policy in this environment: nothing to name.
				{bare.ID, "MULTI_FACTOR_AUTHENTICATION", `{"noDevicesMode":"BLOCK"}`, `{"noDevicesMode":"BLOCK"}`},
			}
			ids := make([]*store.SignOnPolicyAction, len(acts))
			pols := map[string]string{}
			for i, a := range acts {
				if pols[a.env] == "" {
					p := &store.SignOnPolicy{ID: uuid.NewString(), EnvironmentID: a.env, Name: "Multi_Factor", CreatedAt: now, UpdatedAt: now}
					if err := s.CreateSignOnPolicy(ctx, p); err != nil {
						t.Fatal(err)
					}
					pols[a.env] = p.ID
				}
				ids[i] = &store.SignOnPolicyAction{ID: uuid.NewString(), EnvironmentID: a.env, SignOnPolicyID: pols[a.env], Type: a.typ, Priority: i + 1,
					Data: json.RawMessage(a.data), CreatedAt: now, UpdatedAt: now}
				if err := s.CreateSignOnPolicyAction(ctx, ids[i]); err != nil {
					t.Fatal(err)
				}
			}
			if err := db.migrate(ctx); err != nil {
				t.Fatal(err)
			}
			for i, a := range acts {
				got, err := s.GetSignOnPolicyAction(ctx, a.env, pols[a.env], ids[i].ID)
				if err != nil {
					t.Fatal(err)
				}
				var gotV, wantV any
				if err := errors.Join(json.Unmarshal(got.Data, &gotV), json.Unmarshal([]byte(a.want), &wantV)); err != nil {
					t.Fatalf("%s: %v", got.Data, err)
				}
				if !reflect.DeepEqual(gotV, wantV) {
					t.Errorf("action %d (%s %s) = %s, want %s", i, a.typ, a.data, got.Data, a.want)
				}
			}
		})
	}
}

// Migration 0022 gives every environment made before it the FIDO2
// policies a new environment gets, Passkeys the default.
func TestMigrationFIDO2Policies(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := t.Context()
			db, err := open(b.DSN(t))
			if err != nil {
				t.Fatal(err)
			}
			s := &SQLStore{db: db}
			t.Cleanup(func() { s.Close() })
			if err := db.migrateTo(ctx, 21); err != nil {
				t.Fatal(err)
			}
			envs := []*store.Environment{newTestEnv(t, s), newTestEnv(t, s)}
			// Device authentication policies: the default gets PingOne's
			// fido2 member, unless it has one; the others are left alone.
			now := time.Now().UTC().Truncate(time.Millisecond)
			daps := []struct {
				env        string
				def        bool
				data, want string
			}{
				{envs[0].ID, true, `{"sms":{"enabled":true}}`, `{"sms":{"enabled":true},"fido2":{"enabled":true,"pairingDisabled":false,` +
					`"promptForNicknameOnPairing":false,"fido2PolicyId":null,"failure":{"count":3,"coolDown":{"duration":2,"timeUnit":"MINUTES"}}}}`},
				{envs[0].ID, false, `{"sms":{"enabled":false}}`, `{"sms":{"enabled":false}}`},
				{envs[1].ID, true, `{"fido2":{"enabled":false}}`, `{"fido2":{"enabled":false}}`},
			}
			ids := make([]string, len(daps))
			for i, d := range daps {
				ids[i] = uuid.NewString()
				if err := s.CreateDeviceAuthenticationPolicy(ctx, &store.DeviceAuthenticationPolicy{ID: ids[i], EnvironmentID: d.env,
					Name: "P" + strconv.Itoa(i), Default: d.def, Data: json.RawMessage(d.data), CreatedAt: now, UpdatedAt: now}); err != nil {
					t.Fatal(err)
				}
			}
			if err := db.migrate(ctx); err != nil {
				t.Fatal(err)
			}
			for i, d := range daps {
				p, err := s.GetDeviceAuthenticationPolicy(ctx, d.env, ids[i])
				if err != nil {
					t.Fatal(err)
				}
				var gotV, wantV any
				if err := errors.Join(json.Unmarshal(p.Data, &gotV), json.Unmarshal([]byte(d.want), &wantV)); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(gotV, wantV) {
					t.Errorf("device authentication policy %d after the migration = %s, want %s", i, p.Data, d.want)
				}
			}
			defaults := provision.DefaultFIDO2Policies()
			seen := map[string]bool{}
			for _, e := range envs {
				ps, err := s.ListFIDO2Policies(ctx, e.ID)
				if err != nil || len(ps) != len(defaults) {
					t.Fatalf("ListFIDO2Policies(%s): %d, %v; want %d", e.ID, len(ps), err, len(defaults))
				}
				byName := map[string]store.FIDO2Policy{}
				for _, p := range ps {
					byName[p.Name] = p
				}
				for _, d := range defaults {
					p, ok := byName[d.Name]
					if !ok {
						t.Errorf("no %q policy among %+v", d.Name, ps)
						continue
					}
					if id, err := uuid.Parse(p.ID); err != nil || id.Version() != 4 || p.ID != id.String() || seen[p.ID] {
						t.Errorf("policy id %q: want a new random UUID in lower case (%v)", p.ID, err)
					}
					seen[p.ID] = true
					if p.Default != d.Default || !p.CreatedAt.Equal(e.CreatedAt) || !p.UpdatedAt.Equal(e.CreatedAt) {
						t.Errorf("policy %+v: want default %v, as old as its environment (%v)", p, d.Default, e.CreatedAt)
					}
					want, err := json.Marshal(d.Data)
					if err != nil {
						t.Fatal(err)
					}
					var gotV, wantV any
					if err := errors.Join(json.Unmarshal(p.Data, &gotV), json.Unmarshal(want, &wantV)); err != nil {
						t.Fatal(err)
					}
					if !reflect.DeepEqual(gotV, wantV) {
						t.Errorf("migrated %q %s, want what a new environment gets: %s", d.Name, p.Data, want)
					}
				}
				def, err := s.GetDefaultFIDO2Policy(ctx, e.ID)
				if err != nil || def.Name != "Passkeys" {
					t.Errorf("GetDefaultFIDO2Policy = %+v, %v; want Passkeys", def, err)
				}
				// The names are taken whatever their case, as for a policy made by the API.
				dup := &store.FIDO2Policy{ID: uuid.NewString(), EnvironmentID: e.ID, Name: "SECURITY keys", Data: json.RawMessage(`{}`)}
				var ue *store.UniqueError
				if err := s.CreateFIDO2Policy(ctx, dup); !errors.As(err, &ue) || ue.Field != "name" {
					t.Errorf("a second %q: %v, want a name uniqueness error", dup.Name, err)
				}
			}
		})
	}
}
