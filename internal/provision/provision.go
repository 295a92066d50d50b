// Package provision creates what PingOne puts in every new environment: the
// Default population, the Standard, Basic and Passphrase password policies,
// the openid and PingOne API resources with their scopes, the Single_Factor
// and Multi_Factor sign-on policies, the "Ping Default" branding theme, the
// default device authentication policy ("Default MFA Policy") and a
// default signing key. The admin
// bootstrap and POST /environments share it, so both produce the same thing.
package provision

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// PingOneAPIAudience is the audience of tokens for the PingOne API resource,
// as PingOne sets it.
const PingOneAPIAudience = "https://api.pingone.com"

// Names of the system resources (PingOne's Terraform provider looks them up
// by name).
const (
	OpenIDResource  = "openid"
	PingOneResource = "PingOne API"
)

// OpenIDScopes are the openid resource's predefined scopes.
var OpenIDScopes = []struct{ Name, Description string }{
	{"openid", "Signals an OpenID Connect request."},
	{"profile", "Access to the user's default profile claims."},
	{"email", "Access to the email and email_verified claims."},
	{"address", "Access to the address claim."},
	{"phone", "Access to the phone_number and phone_number_verified claims."},
	{"offline_access", "Allows a refresh token to be issued."},
}

// PingOneScopes are the self-service scopes of the PingOne API resource.
var PingOneScopes = []struct{ Name, Description string }{
	{"p1:read:user", "Read the user's own profile."},
	{"p1:update:user", "Update the user's own profile."},
	{"p1:read:userPassword", "Read the user's own password state."},
	{"p1:reset:userPassword", "Reset the user's own password."},
	{"p1:validate:userPassword", "Validate the user's own password."},
	{"p1:read:sessions", "Read the user's own sessions."},
	{"p1:delete:sessions", "Delete the user's own sessions."},
	{"p1:read:userLinkedAccounts", "Read the user's own linked accounts."},
	{"p1:delete:userLinkedAccounts", "Delete the user's own linked accounts."},
}

// OpenIDClaims are the openid resource's PREDEFINED attribute mappings with
// the values PingOne maps them to (an empty value maps nothing). PingOne's
// Terraform provider resets them to exactly these.
var OpenIDClaims = []struct{ Name, Value string }{
	{"address.country", "${user.address.countryCode}"},
	{"address.formatted", ""},
	{"address.locality", "${user.address.locality}"},
	{"address.postal_code", "${user.address.postalCode}"},
	{"address.region", "${user.address.region}"},
	{"address.street_address", "${user.address.streetAddress}"},
	{"birthdate", ""},
	{"email", "${user.email}"},
	{"email_verified", ""},
	{"family_name", "${user.name.family}"},
	{"gender", ""},
	{"given_name", "${user.name.given}"},
	{"locale", "${user.locale}"},
	{"middle_name", "${user.name.middle}"},
	{"name", "${user.name.formatted}"},
	{"nickname", "${user.nickname}"},
	{"phone_number", "${user.primaryPhone}"},
	{"phone_number_verified", ""},
	{"picture", "${user.photo.href}"},
	{"preferred_username", "${user.username}"},
	{"profile", ""},
	{"updated_at", "${#datetime.toUnixTimestamp(user.updatedAt)}"},
	{"website", ""},
	{"zoneinfo", "${user.timezone}"},
}

// DefaultResourceAttributes are the mappings PingOne makes with a resource:
// a CORE sub for a custom resource, the standard claims for openid.
func DefaultResourceAttributes(res *store.Resource, ts time.Time) []store.ResourceAttribute {
	mk := func(name, value, typ string) store.ResourceAttribute {
		return store.ResourceAttribute{ID: uuid.NewString(), EnvironmentID: res.EnvironmentID, ResourceID: res.ID, Name: name, Value: value,
			Type: typ, IDToken: true, UserInfo: true, CreatedAt: ts, UpdatedAt: ts}
	}
	switch res.Type {
	case "CUSTOM":
		return []store.ResourceAttribute{mk("sub", "${user.id}", "CORE")}
	case "OPENID_CONNECT":
		out := make([]store.ResourceAttribute, len(OpenIDClaims))
		for i, c := range OpenIDClaims {
			out[i] = mk(c.Name, c.Value, "PREDEFINED")
		}
		return out
	}
	return nil
}

var specialChars = "~!@#$%^&*()-_=+[]{}|;:,.<>/?"

func minChars(n int) map[string]int {
	return map[string]int{
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ": n, "abcdefghijklmnopqrstuvwxyz": n, "0123456789": n, specialChars: n,
	}
}

// PasswordPolicies are PingOne's three built-in policies, as PingOne returns them.
var PasswordPolicies = []struct {
	Name    string
	Default bool
	Data    map[string]any
}{
	{"Standard", true, map[string]any{
		"description":           "A standard policy that incorporates industry best practices",
		"excludesProfileData":   true,
		"notSimilarToCurrent":   true,
		"excludesCommonlyUsed":  true,
		"maxAgeDays":            182,
		"minAgeDays":            1,
		"maxRepeatedCharacters": 2,
		"minUniqueCharacters":   5,
		"history":               map[string]int{"count": 6, "retentionDays": 365},
		"lockout":               map[string]int{"failureCount": 5, "durationSeconds": 900},
		"length":                map[string]int{"min": 8, "max": 255},
		"minCharacters":         minChars(1),
	}},
	{"Basic", false, map[string]any{
		"description":          "A basic policy that requires a minimum length and character variety",
		"excludesProfileData":  false,
		"notSimilarToCurrent":  false,
		"excludesCommonlyUsed": true,
		"lockout":              map[string]int{"failureCount": 5, "durationSeconds": 900},
		"length":               map[string]int{"min": 8, "max": 255},
		"minCharacters":        minChars(1),
	}},
	{"Passphrase", false, map[string]any{
		"description":          "A policy that encourages the use of passphrases",
		"excludesProfileData":  true,
		"notSimilarToCurrent":  true,
		"excludesCommonlyUsed": true,
		"minComplexity":        7,
		"lockout":              map[string]int{"failureCount": 5, "durationSeconds": 900},
		"length":               map[string]int{"min": 8, "max": 255},
	}},
}

// DefaultThemeTemplate and DefaultTheme are the theme every environment
// starts with as its default: PingOne's "Ping Default", with the values
// PingOne's Terraform provider gives it when it recreates it (the name is
// how the provider finds it). The schema migration that gave existing
// environments theirs writes the same.
const DefaultThemeTemplate = "default"

var DefaultTheme = wire.ThemeConfiguration{
	Name: "Ping Default", LogoType: wire.ThemeLogoNone, BackgroundType: wire.ThemeBackgroundDefault, BackgroundColor: "#ededed",
	BodyTextColor: "#686f77", ButtonColor: "#007CBA", ButtonTextColor: "#ffffff", CardColor: "#ffffff",
	HeadingTextColor: "#686f77", LinkTextColor: "#007CBA",
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// NewEnvironment writes env and its default contents through tx. key is the
// environment's first signing key, generated by the caller outside the
// transaction (RSA generation takes long enough to matter while SQLite's one
// writer waits).
func NewEnvironment(ctx context.Context, tx store.Store, env *store.Environment, key *store.Key) error {
	now := env.CreatedAt
	if err := tx.CreateEnvironment(ctx, env); err != nil {
		return err
	}
	var standardID string
	for _, p := range PasswordPolicies {
		pp := &store.PasswordPolicy{ID: uuid.NewString(), EnvironmentID: env.ID, Name: p.Name, Default: p.Default,
			Data: mustJSON(p.Data), CreatedAt: now, UpdatedAt: now}
		if err := tx.CreatePasswordPolicy(ctx, pp); err != nil {
			return err
		}
		if p.Default {
			standardID = pp.ID
		}
	}
	theme := &store.Theme{ID: uuid.NewString(), EnvironmentID: env.ID, Template: DefaultThemeTemplate, Default: true,
		Data: mustJSON(DefaultTheme), CreatedAt: now, UpdatedAt: now}
	if err := tx.CreateTheme(ctx, theme); err != nil {
		return err
	}
	pop := &store.Population{ID: uuid.NewString(), EnvironmentID: env.ID, Name: "Default", Description: "Default population",
		Default: true, PasswordPolicyID: standardID, Data: mustJSON(map[string]any{"preferredLanguage": "en"}), CreatedAt: now, UpdatedAt: now}
	if err := tx.CreatePopulation(ctx, pop); err != nil {
		return err
	}
	resources := []struct {
		name, typ, desc string
		scopes          []struct{ Name, Description string }
	}{
		{OpenIDResource, "OPENID_CONNECT", "OpenID Connect resource", OpenIDScopes},
		{PingOneResource, "PINGONE_API", "The PingOne platform API", PingOneScopes},
	}
	for _, r := range resources {
		res := &store.Resource{ID: uuid.NewString(), EnvironmentID: env.ID, Name: r.name, Type: r.typ, Audience: PingOneAPIAudience,
			Description: r.desc, AccessTokenValiditySeconds: 3600, Data: json.RawMessage(`{}`), CreatedAt: now, UpdatedAt: now}
		if err := tx.CreateResource(ctx, res); err != nil {
			return err
		}
		for _, attr := range DefaultResourceAttributes(res, now) {
			if err := tx.CreateResourceAttribute(ctx, &attr); err != nil {
				return err
			}
		}
		for _, sc := range r.scopes {
			if err := tx.CreateScope(ctx, &store.Scope{ID: uuid.NewString(), EnvironmentID: env.ID, ResourceID: res.ID, Name: sc.Name,
				Description: sc.Description, Data: json.RawMessage(`{}`), CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
		}
	}
	dap := &store.DeviceAuthenticationPolicy{ID: uuid.NewString(), EnvironmentID: env.ID, Name: DefaultDeviceAuthenticationPolicyName,
		Default: true, Data: mustJSON(DefaultDeviceAuthenticationPolicy()), CreatedAt: now, UpdatedAt: now}
	if err := tx.CreateDeviceAuthenticationPolicy(ctx, dap); err != nil {
		return err
	}
	for _, f := range DefaultFIDO2Policies() {
		if err := tx.CreateFIDO2Policy(ctx, &store.FIDO2Policy{ID: uuid.NewString(), EnvironmentID: env.ID, Name: f.Name, Default: f.Default,
			Data: mustJSON(f.Data), CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
	}
	login := mustJSON(map[string]any{"recovery": map[string]bool{"enabled": true}, "registration": map[string]bool{"enabled": false}})
	policies := []struct {
		name, desc string
		def        bool
		actions    []store.SignOnPolicyAction
	}{
		{"Single_Factor", "A sign-on policy that requires primary username and password", true,
			[]store.SignOnPolicyAction{{Type: "LOGIN", Priority: 1, Data: login}}},
		{"Multi_Factor", "A sign-on policy that requires username and password followed by a second factor", false,
			[]store.SignOnPolicyAction{{Type: "LOGIN", Priority: 1, Data: login},
				{Type: "MULTI_FACTOR_AUTHENTICATION", Priority: 2, Data: multiFactorAction(dap.ID)}}},
	}
	for _, p := range policies {
		sop := &store.SignOnPolicy{ID: uuid.NewString(), EnvironmentID: env.ID, Name: p.name, Description: p.desc, Default: p.def,
			CreatedAt: now, UpdatedAt: now}
		if err := tx.CreateSignOnPolicy(ctx, sop); err != nil {
			return err
		}
		for _, a := range p.actions {
			a.ID, a.EnvironmentID, a.SignOnPolicyID, a.CreatedAt, a.UpdatedAt = uuid.NewString(), env.ID, sop.ID, now, now
			if err := tx.CreateSignOnPolicyAction(ctx, &a); err != nil {
				return err
			}
		}
	}
	return tx.CreateKey(ctx, key)
}
