// Package config is an environment's configuration as the runtime reads it:
// the environment, its applications, resources, sign-on policies, identity
// providers and default branding theme, each with its settings (the record's JSON column)
// decoded once into PingOne's typed shape.
//
// A Decode function per kind decodes that kind's settings for the
// management API (on the records it reads from the store) and for the
// Cache (on what it loads). Password policies are decoded in two more
// places, each into its own shape: credential.EffectivePolicy parses the
// rules a password is checked against (password.ParsePolicy), and the
// flow engine's View.PasswordPolicy reads the column into a map to embed
// the policy in a flow as stored. A record whose settings do not decode is
// an error (ErrDamaged here) the caller reports; nothing falls back to
// defaults silently. A catalog keeps that error with its record, so that
// it fails only the lookups that use the record.
//
// Views are read-only. The Cache hands the same values to every request,
// so nothing may change a view, its slices or its maps.
package config

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-id/gatehouse/internal/mapping"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// ErrDamaged marks a stored record whose settings do not decode into their
// PingOne shape: no write of Gatehouse's makes one, so it is reported as
// the server's own failure rather than served with defaults.
var ErrDamaged = errors.New("config: stored settings do not decode")

// decodeInto is the one JSON decode of a settings column. An empty column
// is the zero value: records written before a kind had settings have none.
func decodeInto[T any](settings *T, kind, id string, data json.RawMessage) error {
	if len(data) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, settings); err != nil {
		return fmt.Errorf("%w: %s %s: %w", ErrDamaged, kind, id, err)
	}
	return nil
}

// decoded is a view once its settings decoded, or the error.
func decoded[V any](v *V, err error) (*V, error) {
	if err != nil {
		return nil, err
	}
	return v, nil
}

// DecodeAll decodes every record of a list, failing on the first damaged
// one: a list must not quietly drop or default a row.
func DecodeAll[R, V any](recs []R, decode func(*R) (*V, error)) ([]V, error) {
	out := make([]V, len(recs))
	for i := range recs {
		v, err := decode(&recs[i])
		if err != nil {
			return nil, err
		}
		out[i] = *v
	}
	return out, nil
}

// Environment is an environment with its settings.
type Environment struct {
	store.Environment
	Settings wire.EnvironmentData
	// Branding is what the hosted sign-on page shows: the stored branding,
	// or none when it breaks a rule the management API enforces.
	Branding wire.BrandingSettings
	// Sessions is how long the environment's sessions live: the stored
	// settings, or the defaults when there are none or they break a rule
	// the management API enforces.
	Sessions wire.SessionSettings
}

func DecodeEnvironment(e *store.Environment) (*Environment, error) {
	out := &Environment{Environment: *e}
	if err := decodeInto(&out.Settings, "environment", e.ID, e.Data); err != nil {
		return nil, err
	}
	out.Branding = wire.ShownBranding(out.Settings.Branding)
	out.Sessions = wire.DefaultSessionSettings()
	if s := out.Settings.Sessions; s != nil && s.Valid() {
		out.Sessions = *s
	}
	return out, nil
}

// Application is an application with its OIDC settings. Its record keeps
// the sealed client secret.
type Application struct {
	store.Application
	Settings wire.ApplicationData
	// SAML is a SAML application's own settings (zero for the others),
	// read from the same data.
	SAML wire.ApplicationSAMLData
	// InlineKeys is Settings.Jwks parsed once, as the application is
	// cached: client assertions and request objects are verified with it
	// on every request. Nil when there is no jwks or it does not parse.
	InlineKeys *jose.JSONWebKeySet
}

func DecodeApplication(a *store.Application) (*Application, error) {
	out := &Application{Application: *a}
	err := decodeInto(&out.Settings, "application", a.ID, a.Data)
	if err == nil && a.Protocol == wire.ProtocolSAML {
		err = decodeInto(&out.SAML, "application", a.ID, a.Data)
	}
	out, err = decoded(out, err)
	if err == nil && out.Settings.Jwks != "" {
		var set jose.JSONWebKeySet
		if json.Unmarshal([]byte(out.Settings.Jwks), &set) == nil {
			out.InlineKeys = &set
		}
	}
	return out, err
}

// Resource is a resource with its settings.
type Resource struct {
	store.Resource
	Settings wire.ResourceData
}

func DecodeResource(r *store.Resource) (*Resource, error) {
	out := &Resource{Resource: *r}
	return decoded(out, decodeInto(&out.Settings, "resource", r.ID, r.Data))
}

// Scope is a resource's scope with its settings.
type Scope struct {
	store.Scope
	Settings wire.ScopeData
}

func DecodeScope(s *store.Scope) (*Scope, error) {
	out := &Scope{Scope: *s}
	return decoded(out, decodeInto(&out.Settings, "scope", s.ID, s.Data))
}

// SignOnPolicyAction is a sign-on policy action with the fields of its
// type and its condition.
type SignOnPolicyAction struct {
	store.SignOnPolicyAction
	Settings wire.SignOnPolicyActionData
}

func DecodeSignOnPolicyAction(a *store.SignOnPolicyAction) (*SignOnPolicyAction, error) {
	out := &SignOnPolicyAction{SignOnPolicyAction: *a}
	return decoded(out, decodeInto(&out.Settings, "sign-on policy action", a.ID, a.Data))
}

// IdentityProvider is an external identity provider with its settings.
// Its record keeps the sealed client secret.
type IdentityProvider struct {
	store.IdentityProvider
	Settings wire.IdentityProviderData
	// SAML is a SAML provider's own settings (zero for the others), read
	// from the same data.
	SAML wire.IdentityProviderSAMLData
}

func DecodeIdentityProvider(p *store.IdentityProvider) (*IdentityProvider, error) {
	out := &IdentityProvider{IdentityProvider: *p}
	err := decodeInto(&out.Settings, "identity provider", p.ID, p.Data)
	if err == nil && p.Type == wire.IDPTypeSAML {
		err = decodeInto(&out.SAML, "identity provider", p.ID, p.Data)
	}
	return decoded(out, err)
}

// Theme is a branding theme with its configuration, and what the hosted
// sign-on page takes from it: only what the management API would accept.
type Theme struct {
	store.Theme
	Settings wire.ThemeConfiguration
	Look     wire.ThemeLook
}

func DecodeTheme(t *store.Theme) (*Theme, error) {
	out := &Theme{Theme: *t}
	if err := decodeInto(&out.Settings, "theme", t.ID, t.Data); err != nil {
		return nil, err
	}
	out.Look = wire.LookOf(t.Template, out.Settings)
	return out, nil
}

// PasswordPolicy is a password policy with its rules as the management
// API shows them.
type PasswordPolicy struct {
	store.PasswordPolicy
	Settings wire.PasswordPolicyRules
}

func DecodePasswordPolicy(p *store.PasswordPolicy) (*PasswordPolicy, error) {
	out := &PasswordPolicy{PasswordPolicy: *p}
	return decoded(out, decodeInto(&out.Settings, "password policy", p.ID, p.Data))
}

// ---- catalogs: what the runtime reads of an environment as a whole

// A catalog keeps a damaged record (settings that do not decode) as its
// error, next to the records that decoded: a lookup that uses the record
// answers that error, and the rest of the environment goes on working.
// One bad row must not fail every sign-on of the environment, and must not
// be served with defaults either.

// Resources is an environment's resources with their scopes and attribute
// mappings.
type Resources struct {
	byID   map[string]*Resource
	openID string // the id of the OPENID_CONNECT resource, "" when none
	scopes map[string][]Scope
	// mappings are the attribute mappings with their expressions
	// compiled; scopeByID indexes every decoded scope.
	mappings  map[string][]ResourceMapping
	scopeByID map[string]*Scope
	// damaged are the decode errors of damaged resources by their id;
	// damagedScopes those of damaged scopes by their resource's id.
	damaged       map[string]error
	damagedScopes map[string]error
}

// newResources decodes and indexes what the store listed.
func newResources(recs []store.Resource, scopeRecs []store.Scope, attrs []store.ResourceAttribute) *Resources {
	c := &Resources{byID: make(map[string]*Resource, len(recs)), scopes: map[string][]Scope{},
		damaged: map[string]error{}, damagedScopes: map[string]error{}}
	known := make(map[string]bool, len(recs))
	for i := range recs {
		known[recs[i].ID] = true
		// The type is a column of its own: a damaged openid resource is
		// still known as the environment's openid resource.
		if recs[i].Type == "OPENID_CONNECT" {
			c.openID = recs[i].ID
		}
		r, err := DecodeResource(&recs[i])
		if err != nil {
			c.damaged[recs[i].ID] = err
			continue
		}
		c.byID[r.ID] = r
	}
	// The lists are read one after the other: a resource created between
	// them may have scopes here and no record. Leaving those out keeps
	// every scope's resource at hand; the write moved the version, so the
	// catalog is not kept for long.
	for i := range scopeRecs {
		resID := scopeRecs[i].ResourceID
		if !known[resID] {
			continue
		}
		s, err := DecodeScope(&scopeRecs[i])
		if err != nil {
			c.damagedScopes[resID] = errors.Join(c.damagedScopes[resID], err)
			continue
		}
		c.scopes[resID] = append(c.scopes[resID], *s)
	}
	c.scopeByID = map[string]*Scope{}
	for resID := range c.scopes {
		for i := range c.scopes[resID] {
			c.scopeByID[c.scopes[resID][i].ID] = &c.scopes[resID][i]
		}
	}
	c.mappings = map[string][]ResourceMapping{}
	for _, a := range attrs {
		if known[a.ResourceID] {
			c.mappings[a.ResourceID] = append(c.mappings[a.ResourceID], ResourceMapping{ResourceAttribute: a, Expr: compiled(a.Value)})
		}
	}
	return c
}

// ResourceMapping is a resource's attribute mapping with its expression
// compiled once, when the catalog is loaded.
type ResourceMapping struct {
	store.ResourceAttribute
	// Expr is nil when the stored value does not compile (written before
	// the management API checked expressions): it yields nothing.
	Expr *mapping.Expr
}

// ApplicationMapping is an application's attribute mapping with its
// expression compiled.
type ApplicationMapping struct {
	store.ApplicationAttribute
	Expr *mapping.Expr // nil as in ResourceMapping
}

func compiled(value string) *mapping.Expr {
	e, err := mapping.Compile(value)
	if err != nil {
		return nil
	}
	return e
}

// Mappings are a resource's attribute mappings by name, compiled, or the
// error of the resource when damaged.
func (c *Resources) Mappings(resourceID string) ([]ResourceMapping, error) {
	if err := c.damaged[resourceID]; err != nil {
		return nil, err
	}
	return c.mappings[resourceID], nil
}

// ScopeByID is the scope id names, whatever its resource; nil when none
// (or when its resource's scopes are damaged).
func (c *Resources) ScopeByID(id string) *Scope { return c.scopeByID[id] }

// Resource is the resource id names, nil when there is none, or the error
// of a damaged one.
func (c *Resources) Resource(id string) (*Resource, error) {
	if err := c.damaged[id]; err != nil {
		return nil, err
	}
	return c.byID[id], nil
}

// OpenID is the environment's openid resource (type OPENID_CONNECT), nil
// when it has none, or the error of a damaged one.
func (c *Resources) OpenID() (*Resource, error) {
	if c.openID == "" {
		return nil, nil
	}
	return c.Resource(c.openID)
}

// Scopes are a resource's scopes by id, or the error of the resource or
// of one of its scopes when damaged: which scopes a resource offers is
// unknown while one of them does not decode.
func (c *Resources) Scopes(resourceID string) ([]Scope, error) {
	if err := cmp.Or(c.damaged[resourceID], c.damagedScopes[resourceID]); err != nil {
		return nil, err
	}
	return c.scopes[resourceID], nil
}

// SignOnPolicies is an environment's sign-on policies with their actions.
type SignOnPolicies struct {
	byID    map[string]*store.SignOnPolicy
	def     *store.SignOnPolicy
	actions map[string][]SignOnPolicyAction
	// damaged are the decode errors of damaged actions by their policy's
	// id.
	damaged map[string]error
}

// newSignOnPolicies decodes and indexes what the store listed.
func newSignOnPolicies(ps []store.SignOnPolicy, recs []store.SignOnPolicyAction) *SignOnPolicies {
	c := &SignOnPolicies{byID: make(map[string]*store.SignOnPolicy, len(ps)), actions: map[string][]SignOnPolicyAction{}, damaged: map[string]error{}}
	for i := range ps {
		c.byID[ps[i].ID] = &ps[i]
		if ps[i].Default {
			c.def = &ps[i]
		}
	}
	for i := range recs {
		polID := recs[i].SignOnPolicyID
		a, err := DecodeSignOnPolicyAction(&recs[i])
		if err != nil {
			c.damaged[polID] = errors.Join(c.damaged[polID], err)
			continue
		}
		c.actions[polID] = append(c.actions[polID], *a)
	}
	return c
}

// Policy is the policy id names, or nil.
func (c *SignOnPolicies) Policy(id string) *store.SignOnPolicy { return c.byID[id] }

// Default is the environment's default policy, or nil when it has none.
func (c *SignOnPolicies) Default() *store.SignOnPolicy { return c.def }

// Actions are a policy's actions by ascending priority, or the error of a
// damaged one: a policy runs all its actions or none.
func (c *SignOnPolicies) Actions(policyID string) ([]SignOnPolicyAction, error) {
	if err := c.damaged[policyID]; err != nil {
		return nil, err
	}
	return c.actions[policyID], nil
}
