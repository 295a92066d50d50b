package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/provision"
	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// metaAdmin records the bootstrap admin, so a later start never makes
// another.
const metaAdmin = "bootstrap.admin"

// metaKeyCheck holds a value sealed with the master key: a start with the
// wrong key fails at once instead of on the first token request.
const metaKeyCheck = "masterkey.check"

// Admin is the bootstrap file's content.
type Admin struct {
	EnvironmentID string `json:"environmentId"`
	ClientID      string `json:"clientId"`
	ClientSecret  string `json:"clientSecret"`
	AuthPath      string `json:"authPath"`
	APIPath       string `json:"apiPath"`
	// CAFile is the development CA's certificate (with TLS in development
	// mode), for SSL_CERT_FILE.
	CAFile string `json:"caFile,omitempty"`
	// ConsoleURL is the admin console; ConsoleClientID its application
	// (a WORKER of the Administrators environment).
	ConsoleURL      string `json:"consoleUrl"`
	ConsoleClientID string `json:"consoleClientId"`
	// Username is the administrator user's; Password its one-time
	// password, known only to the start that made it (and written to the
	// bootstrap file and the log then): the first sign-on changes it.
	Username string `json:"username"`
	Password string `json:"password,omitempty"`
}

type adminRecord struct {
	OrganizationID string `json:"organizationId"`
	EnvironmentID  string `json:"environmentId"`
	ClientID       string `json:"clientId"`
}

func checkMasterKey(ctx context.Context, st store.Store, sealer *secrets.Sealer) error {
	const plain = "gatehouse"
	v, err := st.GetMeta(ctx, metaKeyCheck)
	if errors.Is(err, store.ErrNotFound) {
		return st.PutMeta(ctx, metaKeyCheck, string(mustJSONBytes(sealer.Seal([]byte(plain), metaKeyCheck))))
	}
	if err != nil {
		return err
	}
	var sealed []byte
	if err := json.Unmarshal([]byte(v), &sealed); err != nil {
		return fmt.Errorf("master key check: %w", err)
	}
	if got, err := sealer.Open(sealed, metaKeyCheck); err != nil || string(got) != plain {
		return errors.New("the master key does not match this database: start with the key it was created with (GATEHOUSE_MASTER_KEY or the master key file)")
	}
	return nil
}

func mustJSONBytes(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// bootstrap creates, on the first start with an empty store, the
// organization, its license, the Administrators environment and a WORKER
// application holding Environment Admin over the organization. It returns
// the admin's credentials, read back from the store on later starts.
func bootstrap(ctx context.Context, st store.Store, sealer *secrets.Sealer, cfg Config) (*Admin, bool, error) {
	if v, err := st.GetMeta(ctx, metaAdmin); err == nil {
		var rec adminRecord
		if err := json.Unmarshal([]byte(v), &rec); err != nil {
			return nil, false, fmt.Errorf("bootstrap record: %w", err)
		}
		app, err := st.GetApplication(ctx, rec.EnvironmentID, rec.ClientID)
		if err != nil {
			return nil, false, fmt.Errorf("bootstrap admin application: %w", err)
		}
		secret, err := sealer.Open(app.SecretSealed, "app:"+app.ID)
		if err != nil {
			return nil, false, err
		}
		return &Admin{EnvironmentID: rec.EnvironmentID, ClientID: rec.ClientID, ClientSecret: string(secret),
			AuthPath: cfg.BaseURL, APIPath: cfg.BaseURL + "/v1"}, false, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, false, err
	}

	clientID := cfg.AdminClientID
	if clientID == "" {
		clientID = uuid.NewString()
	} else if uuid.Validate(clientID) != nil || len(clientID) != 36 {
		return nil, false, errors.New("GATEHOUSE_ADMIN_CLIENT_ID must be a UUID (PingOne's clients check the format)")
	}
	secret := cfg.AdminClientSecret
	if secret == "" {
		secret = secrets.Random(48)
	} else if len(secret) < 16 {
		return nil, false, errors.New("GATEHOUSE_ADMIN_CLIENT_SECRET must be at least 16 characters")
	}

	now := store.Now()
	org := &store.Organization{ID: uuid.NewString(), Name: "Gatehouse", Type: "INTERNAL", CreatedAt: now, UpdatedAt: now}
	lic := &store.License{ID: uuid.NewString(), OrganizationID: org.ID, Name: "Gatehouse", Package: "GLOBAL", Status: "ACTIVE",
		Data: mustJSONBytes(map[string]any{"environments": map[string]any{
			"allowProduction": true, "allowCustomDomain": false, "max": 10000,
			"regions": []string{"NORTH_AMERICA", "EU", "AP", "CA", "AU", "SG"},
		}}), CreatedAt: now, UpdatedAt: now}
	env := &store.Environment{ID: uuid.NewString(), OrganizationID: org.ID, Name: "Administrators",
		Description: "Holds the administrators of this Gatehouse organization.", Type: "PRODUCTION", Region: "NA",
		LicenseID: lic.ID, Status: "ACTIVE", CreatedAt: now, UpdatedAt: now,
		Data: mustJSONBytes(map[string]any{"billOfMaterials": map[string]any{
			"products":  []map[string]string{{"id": uuid.NewString(), "type": "PING_ONE_BASE", "description": "PingOne Base"}},
			"createdAt": now.Format("2006-01-02T15:04:05.000Z"), "updatedAt": now.Format("2006-01-02T15:04:05.000Z"),
		}})}
	key, err := keys.Generate(env.ID, keys.DefaultSigning(), sealer, now)
	if err != nil {
		return nil, false, err
	}
	app := &store.Application{ID: clientID, EnvironmentID: env.ID, Name: "Gatehouse Admin", Protocol: "OPENID_CONNECT",
		Type: "WORKER", Enabled: true, TokenEndpointAuthMethod: "CLIENT_SECRET_BASIC",
		SecretSealed: sealer.Seal([]byte(secret), "app:"+clientID),
		Data: mustJSONBytes(map[string]any{"description": "Bootstrap administrator (Environment Admin over the organization).",
			"grantTypes": []string{"CLIENT_CREDENTIALS"}}),
		CreatedAt: now, UpdatedAt: now}
	err = st.Tx(ctx, func(tx store.Store) error {
		// The record goes first: two nodes starting on one empty database
		// race here, and the loser's transaction fails on the meta key.
		rec := adminRecord{OrganizationID: org.ID, EnvironmentID: env.ID, ClientID: clientID}
		if err := tx.InsertMeta(ctx, metaAdmin, string(mustJSONBytes(rec))); err != nil {
			return err
		}
		if err := tx.CreateOrganization(ctx, org); err != nil {
			return err
		}
		if err := tx.CreateLicense(ctx, lic); err != nil {
			return err
		}
		if err := provision.NewEnvironment(ctx, tx, env, key); err != nil {
			return err
		}
		if err := tx.CreateApplication(ctx, app); err != nil {
			return err
		}
		return tx.CreateRoleAssignment(ctx, &store.RoleAssignment{ID: uuid.NewString(), EnvironmentID: env.ID,
			ActorType: "APPLICATION", ActorID: app.ID, RoleID: roles.EnvironmentAdmin.ID,
			ScopeType: roles.ScopeOrganization, ScopeID: org.ID, ReadOnly: true, CreatedAt: now})
	})
	if errors.Is(err, store.ErrConflict) {
		// Another node won the race: use its admin.
		return bootstrap(ctx, st, sealer, cfg)
	}
	if err != nil {
		return nil, false, err
	}
	return &Admin{EnvironmentID: env.ID, ClientID: clientID, ClientSecret: secret, AuthPath: cfg.BaseURL, APIPath: cfg.BaseURL + "/v1"}, true, nil
}

// writeBootstrapFile writes the admin credentials (mode 0600). An existing
// file is left alone unless this start created the admin.
func writeBootstrapFile(path string, a *Admin, created bool) (bool, error) {
	if path == "" {
		return false, nil
	}
	if !created {
		if _, err := os.Stat(path); err == nil {
			return false, nil
		}
	}
	b, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return false, err
	}
	return true, replaceFile(path, append(b, '\n'))
}
