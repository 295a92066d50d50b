package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/identity"
	"github.com/gatehouse-id/gatehouse/internal/password"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// metaConsole records the administrator user and the console application,
// so a later start never makes others. A database bootstrapped before
// they existed has metaAdmin and not this: its next start makes them once.
const metaConsole = "bootstrap.console"

// ConsoleName is the console application's name.
const ConsoleName = "Gatehouse Console"

// DefaultAdminUsername is the administrator user's username unless
// GATEHOUSE_ADMIN_USERNAME says otherwise.
const DefaultAdminUsername = "admin"

type consoleRecord struct {
	ClientID string `json:"clientId"`
	UserID   string `json:"userId"`
	Username string `json:"username"`
}

// ConsoleURL is where the console is served under base.
func ConsoleURL(base string) string { return base + "/console/" }

// bootstrapConsole makes, once, the administrator user (a one-time
// password it must change at its first sign-on, and the bootstrap
// worker's role assignments) and the console application (a WORKER whose
// tokens act only as the users signed on to it: PKCE, no secret, no roles
// of its own) in the Administrators environment; and on every start keeps
// the application's redirect URIs at the base URL's console. It fills
// admin's console members; created says this start made them (then
// admin.Password is the one-time password, the only time it is known).
func bootstrapConsole(ctx context.Context, st store.Store, cfg Config, admin *Admin) (created bool, err error) {
	admin.ConsoleURL = ConsoleURL(cfg.BaseURL)
	v, err := st.GetMeta(ctx, metaConsole)
	if err == nil {
		var rec consoleRecord
		if err := json.Unmarshal([]byte(v), &rec); err != nil {
			return false, fmt.Errorf("console record: %w", err)
		}
		admin.ConsoleClientID, admin.Username = rec.ClientID, rec.Username
		return false, syncConsoleURIs(ctx, st, admin.EnvironmentID, rec.ClientID, admin.ConsoleURL)
	} else if !errors.Is(err, store.ErrNotFound) {
		return false, err
	}

	username := cfg.AdminUsername
	if username == "" {
		username = DefaultAdminUsername
	} else if !identity.ValidUsername(username) {
		return false, errors.New("GATEHOUSE_ADMIN_USERNAME is not a valid username (1 to 128 letters, numbers, punctuation, symbols or spaces)")
	}
	plain := cfg.AdminPassword
	if plain == "" {
		plain = secrets.Random(15)
	} else if utf8.RuneCountInString(plain) < 8 || len(plain) > 255 {
		return false, errors.New("GATEHOUSE_ADMIN_PASSWORD must be 8 to 255 characters")
	}
	// Hashed before the transaction: SQLite's one writer would wait on it.
	hash, err := password.Default.Hash(ctx, plain)
	if err != nil {
		return false, err
	}
	var rec adminRecord
	if v, err := st.GetMeta(ctx, metaAdmin); err != nil {
		return false, err
	} else if err := json.Unmarshal([]byte(v), &rec); err != nil {
		return false, fmt.Errorf("bootstrap record: %w", err)
	}
	envID := rec.EnvironmentID
	now := store.Now()
	user := identity.New(envID, now)
	user.Username = username
	// MFA on: the console's policy asks for a second factor as soon as
	// the administrator has a device (and lets one without pass).
	user.MFAEnabled = true
	user.Data = mustJSONBytes(map[string]any{"name": map[string]string{"given": "Gatehouse", "family": "Administrator"}})
	app := consoleApplication(envID, admin.ConsoleURL, now)
	crec := consoleRecord{ClientID: app.ID, UserID: user.ID, Username: username}
	err = st.Tx(ctx, func(tx store.Store) error {
		// The record goes first: two nodes starting at once race here,
		// and the loser's transaction fails on the meta key.
		if err := tx.InsertMeta(ctx, metaConsole, string(mustJSONBytes(crec))); err != nil {
			return err
		}
		pops, _, err := tx.ListPopulations(ctx, envID, store.Page{Limit: 1000})
		if err != nil {
			return err
		}
		i := slices.IndexFunc(pops, func(p store.Population) bool { return p.Default })
		if i < 0 {
			return errors.New("the Administrators environment has no default population")
		}
		user.PopulationID = pops[i].ID
		if err := identity.Claim(ctx, tx, user); err != nil {
			return err
		}
		if err := tx.CreateUser(ctx, user); err != nil {
			return err
		}
		if err := tx.PutUserPassword(ctx, &store.UserPassword{UserID: user.ID, EnvironmentID: envID, Hash: hash,
			Status: credential.StatusMustChange, LastChangedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		// The administrator holds what the bootstrap worker holds
		// (Environment Admin over the organization, and whatever else a
		// database made by another version gave it).
		ras, err := tx.ListRoleAssignments(ctx, envID, rec.ClientID)
		if err != nil {
			return err
		}
		for _, ra := range ras {
			if err := tx.CreateRoleAssignment(ctx, &store.RoleAssignment{ID: uuid.NewString(), EnvironmentID: envID,
				ActorType: "USER", ActorID: user.ID, RoleID: ra.RoleID, ScopeType: ra.ScopeType, ScopeID: ra.ScopeID,
				ReadOnly: ra.ReadOnly, CreatedAt: now}); err != nil {
				return err
			}
		}
		if err := tx.CreateApplication(ctx, app); err != nil {
			return err
		}
		return consoleSignOnPolicy(ctx, tx, envID, app.ID, now)
	})
	if errors.Is(err, store.ErrConflict) {
		// Another node won the race: use what it made. Any other conflict
		// (a user of this name made, on an older database, before the
		// console existed) would fail again on every try: say so, once.
		if _, merr := st.GetMeta(ctx, metaConsole); errors.Is(merr, store.ErrNotFound) {
			return false, fmt.Errorf("the Administrators environment already has a user named %q: set GATEHOUSE_ADMIN_USERNAME to another username for the console's administrator: %w", username, err)
		}
		return bootstrapConsole(ctx, st, cfg, admin)
	}
	if err != nil {
		return false, err
	}
	admin.ConsoleClientID, admin.Username, admin.Password = app.ID, username, plain
	return true, nil
}

// consoleApplication is the console's application: a WORKER (so that the
// PingOne API takes its users' tokens, with their roles) signing users on
// with the authorization code and PKCE, a public client (the console runs
// in the browser and keeps no secret), holding no role of its own.
func consoleApplication(envID, consoleURL string, now time.Time) *store.Application {
	d := wire.ApplicationData{
		Description:            "The Gatehouse admin console: administrators sign on to it and it calls the API with their tokens.",
		GrantTypes:             []string{"AUTHORIZATION_CODE", "REFRESH_TOKEN"},
		ResponseTypes:          []string{"CODE"},
		RedirectURIs:           []string{consoleURL},
		PostLogoutRedirectURIs: []string{consoleURL},
		PkceEnforcement:        "S256_REQUIRED",
	}
	return &store.Application{ID: uuid.NewString(), EnvironmentID: envID, Name: ConsoleName, Protocol: "OPENID_CONNECT",
		Type: "WORKER", Enabled: true, TokenEndpointAuthMethod: "NONE", Data: mustJSONBytes(d), CreatedAt: now, UpdatedAt: now}
}

// syncConsoleURIs points the console application's redirect and
// post-logout URIs at consoleURL when the base URL changed since they were
// set (as authPath in the bootstrap file follows it). An application an
// administrator deleted stays deleted.
func syncConsoleURIs(ctx context.Context, st store.Store, envID, appID, consoleURL string) error {
	app, err := st.GetApplication(ctx, envID, appID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	var d map[string]json.RawMessage
	if err := json.Unmarshal(app.Data, &d); err != nil {
		return fmt.Errorf("console application: %w", err)
	}
	want := mustJSONBytes([]string{consoleURL})
	if string(d["redirectUris"]) == string(want) && string(d["postLogoutRedirectUris"]) == string(want) {
		return nil
	}
	// Only these two members change: whatever else an administrator set
	// is kept as stored.
	d["redirectUris"], d["postLogoutRedirectUris"] = want, want
	app.Data = mustJSONBytes(d)
	app.UpdatedAt = store.Now()
	return st.UpdateApplication(ctx, app)
}

// ConsolePolicyName is the sign-on policy the console application signs
// administrators on with.
const ConsolePolicyName = "Gatehouse_Console"

// consoleSignOnPolicy makes the console's sign-on policy and assigns it
// to the console application: a password, then a second factor for an
// administrator who has an MFA device (noDevicesMode BYPASS: one who has
// none yet signs on with the password, so the first start is not locked
// out), with the environment's default MFA policy. It is an ordinary
// policy: administrators may change it, as PingOne's admin sign-on policy.
func consoleSignOnPolicy(ctx context.Context, tx store.Store, envID, appID string, now time.Time) error {
	// The policy of an earlier console (deleted since, with its
	// application) is the one to use again: a second would clash on
	// its name.
	policies, err := tx.ListSignOnPolicies(ctx, envID)
	if err != nil {
		return err
	}
	if i := slices.IndexFunc(policies, func(p store.SignOnPolicy) bool { return p.Name == ConsolePolicyName }); i >= 0 {
		return tx.CreateSignOnPolicyAssignment(ctx, &store.SignOnPolicyAssignment{ID: uuid.NewString(), EnvironmentID: envID,
			ApplicationID: appID, SignOnPolicyID: policies[i].ID, Priority: 1, CreatedAt: now, UpdatedAt: now})
	}
	dap, err := tx.GetDefaultDeviceAuthenticationPolicy(ctx, envID)
	if err != nil {
		return fmt.Errorf("the Administrators environment's default MFA policy: %w", err)
	}
	sop := &store.SignOnPolicy{ID: uuid.NewString(), EnvironmentID: envID, Name: ConsolePolicyName,
		Description: "Administrators sign on to the console with a password, then a second factor when they have an MFA device.",
		CreatedAt:   now, UpdatedAt: now}
	if err := tx.CreateSignOnPolicy(ctx, sop); err != nil {
		return err
	}
	actions := []store.SignOnPolicyAction{
		{Type: "LOGIN", Priority: 1, Data: mustJSONBytes(map[string]any{
			"recovery": map[string]bool{"enabled": true}, "registration": map[string]bool{"enabled": false}})},
		{Type: "MULTI_FACTOR_AUTHENTICATION", Priority: 2, Data: mustJSONBytes(map[string]any{
			"deviceAuthenticationPolicy": map[string]string{"id": dap.ID}, "noDevicesMode": "BYPASS"})},
	}
	for _, a := range actions {
		a.ID, a.EnvironmentID, a.SignOnPolicyID, a.CreatedAt, a.UpdatedAt = uuid.NewString(), envID, sop.ID, now, now
		if err := tx.CreateSignOnPolicyAction(ctx, &a); err != nil {
			return err
		}
	}
	return tx.CreateSignOnPolicyAssignment(ctx, &store.SignOnPolicyAssignment{ID: uuid.NewString(), EnvironmentID: envID,
		ApplicationID: appID, SignOnPolicyID: sop.ID, Priority: 1, CreatedAt: now, UpdatedAt: now})
}
