package authsvc

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/accesstoken"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/identity"
	"github.com/gatehouse-id/gatehouse/internal/mapping"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// The profile claims of ID tokens and userinfo come from the attribute
// mappings of the environment's openid resource, released per granted
// scope as OpenID Connect Core §5.4 assigns them.

// scopeClaims is which scope releases each standard claim. address.* claims
// (PingOne maps the parts of the address separately) go with "address".
var scopeClaims = map[string]string{
	"name": "profile", "given_name": "profile", "family_name": "profile", "middle_name": "profile", "nickname": "profile",
	"preferred_username": "profile", "profile": "profile", "picture": "profile", "website": "profile", "gender": "profile",
	"birthdate": "profile", "zoneinfo": "profile", "locale": "profile", "updated_at": "profile",
	"email": "email", "email_verified": "email",
	"address":      "address",
	"phone_number": "phone", "phone_number_verified": "phone",
}

// claimsSupported is discovery's claims_supported: what Gatehouse itself
// sets, then the standard claims the openid resource can map.
var claimsSupported = func() []string {
	out := []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "at_hash", "c_hash", "env", "org"}
	profile := make([]string, 0, len(scopeClaims))
	for k := range scopeClaims {
		profile = append(profile, k)
	}
	slices.Sort(profile)
	return append(out, profile...)
}()

// releasedBy reports whether a claim mapped under name is released by the
// granted scopes. Claims outside the standard set (custom mappings of the
// openid resource) go with openid itself.
func releasedBy(name string, scopes []string) bool {
	if strings.HasPrefix(name, "address.") {
		name = "address"
	}
	sc, ok := scopeClaims[name]
	if !ok {
		sc = "openid"
	}
	return slices.Contains(scopes, sc)
}

// openIDMappings are the attribute mappings of envID's openid resource,
// with the catalog they come from; none when the environment has no such
// resource. A failure is logged here: ID tokens and userinfo answer it as
// server_error and say no more.
func (s *Service) openIDMappings(ctx context.Context, envID string) ([]config.ResourceMapping, *config.Resources, error) {
	catalog, err := s.Config.Resources(ctx, envID)
	var r *config.Resource
	if err == nil {
		r, err = catalog.OpenID()
	}
	var attrs []config.ResourceMapping
	if err == nil && r != nil {
		attrs, err = catalog.Mappings(r.ID)
	}
	if err != nil {
		slog.ErrorContext(ctx, "claims: the openid resource's attribute mappings cannot be read", "environment", envID, "err", err)
		return nil, nil, err
	}
	return attrs, catalog, nil
}

// Where a profile claim goes.
const (
	forIDToken = iota
	forUserInfo
)

// mappingData is what expressions read: the user's document (nil for a
// client's own token) and the application.
func mappingData(app *config.Application, u *store.User) (*mapping.Data, error) {
	d := &mapping.Data{Client: map[string]any{"id": app.ID, "name": app.Name}}
	if u != nil {
		doc, err := identity.Document(u)
		if err != nil {
			return nil, err
		}
		d.User = doc
	}
	return d, nil
}

// addGroups puts the groups u belongs to, directly or through nested
// groups (PingOne's members of a nested group are members of the groups
// it is in), into d's user document as memberOfGroupNames and
// memberOfGroupIDs: one query, made only for a mapping that names them,
// and once for all the tokens of one response (withGroupsOnce). A user in
// no group has neither, so that the claim is left out.
func (s *Service) addGroups(ctx context.Context, envID string, d *mapping.Data, u *store.User) error {
	if u == nil || d.User == nil {
		return nil
	}
	gs, err := s.userGroups(ctx, envID, u.ID)
	if err != nil || len(gs) == 0 {
		return err
	}
	names, ids := make([]any, len(gs)), make([]any, len(gs))
	for i, g := range gs {
		names[i], ids[i] = g.Name, g.ID
	}
	d.User[mapping.GroupNames], d.User[mapping.GroupIDs] = names, ids
	return nil
}

// groupsOnce holds a user's groups once read, for the rest of a response.
type groupsOnce struct {
	userID string
	groups []store.UserGroup
	read   bool
}

type groupsOnceKey struct{}

// withGroupsOnce lets the claims of every token of one response (an access
// token's resource mappings, then the ID token's) share one read of the
// user's groups.
func withGroupsOnce(ctx context.Context) context.Context {
	return context.WithValue(ctx, groupsOnceKey{}, &groupsOnce{})
}

func (s *Service) userGroups(ctx context.Context, envID, userID string) ([]store.UserGroup, error) {
	once, _ := ctx.Value(groupsOnceKey{}).(*groupsOnce)
	if once != nil && once.read && once.userID == userID {
		return once.groups, nil
	}
	gs, err := s.Store.UserGroups(ctx, envID, userID)
	if err != nil {
		return nil, err
	}
	if once != nil {
		once.userID, once.groups, once.read = userID, gs, true
	}
	return gs, nil
}

// reserved reports whether a mapping may not set the claim name (the
// management API refuses such mappings; older ones are left out here).
func reserved(name string) bool { return mapping.Reserved(name) }

// setClaim puts v under name; address.* parts go into the address object.
func setClaim(out map[string]any, name string, v any) {
	if part, isAddr := strings.CutPrefix(name, "address."); isAddr {
		addr, _ := out["address"].(map[string]any)
		if addr == nil {
			addr = map[string]any{}
			out["address"] = addr
		}
		addr[part] = v
		return
	}
	out[name] = v
}

// profileClaims are u's claims released by scopes for an ID token or for
// userinfo: the openid resource's mappings per scope, then app's own
// mappings. PingOne releases an application's mapping whatever the scopes
// (with openid), or, when it names oidcScopes, only with one of them; it
// overrides the openid resource's mapping of the same name. Mappings that
// resolve to nothing are left out.
func (s *Service) profileClaims(ctx context.Context, envID string, app *config.Application, u *store.User, scopes []string, target int) (map[string]any, error) {
	out := map[string]any{}
	if !slices.Contains(scopes, "openid") {
		return out, nil
	}
	attrs, catalog, err := s.openIDMappings(ctx, envID)
	if err != nil {
		return nil, err
	}
	appAttrs, err := s.Config.ApplicationAttributes(ctx, envID, app.ID)
	if err != nil {
		slog.ErrorContext(ctx, "claims: the application's attribute mappings cannot be read", "environment", envID, "application", app.ID, "err", err)
		return nil, err
	}
	wanted := func(idToken, userInfo bool) bool {
		return (target == forIDToken && idToken) || (target == forUserInfo && userInfo)
	}
	// The user's document is built once, and only if a mapping is
	// released.
	var data *mapping.Data
	groups := false
	eval := func(e *mapping.Expr) (any, bool, error) {
		if e == nil {
			return nil, false, nil
		}
		if data == nil {
			d, err := mappingData(app, u)
			if err != nil {
				return nil, false, err
			}
			data = d
		}
		if e.Roots()&mapping.RootGroups != 0 && !groups {
			if err := s.addGroups(ctx, envID, data, u); err != nil {
				return nil, false, err
			}
			groups = true
		}
		v, ok := e.Eval(data)
		return v, ok, nil
	}
	overridden := func(name string) bool {
		return slices.ContainsFunc(appAttrs, func(a config.ApplicationMapping) bool {
			return a.MappingType != "CORE" && a.Name == name
		})
	}
	for _, a := range attrs {
		if !wanted(a.IDToken, a.UserInfo) || reserved(a.Name) || !releasedBy(a.Name, scopes) || overridden(a.Name) {
			continue
		}
		v, ok, err := eval(a.Expr)
		if err != nil {
			return nil, err
		}
		if ok {
			setClaim(out, a.Name, v)
		}
	}
	for _, a := range appAttrs {
		// The CORE mapping is sub: Gatehouse's subject stays the user's id.
		if a.MappingType == "CORE" || !wanted(a.IDToken, a.UserInfo) || reserved(a.Name) || !scopeReleases(catalog, a.OIDCScopes, scopes) {
			continue
		}
		v, ok, err := eval(a.Expr)
		switch {
		case err != nil:
			return nil, err
		case ok:
			setClaim(out, a.Name, v)
		case a.Required && target == forIDToken:
			return nil, &missingClaimError{name: a.Name}
		}
	}
	return out, nil
}

// missingClaimError: an application mapping marked required yields
// nothing for the user. PingOne then refuses the ID token rather than
// leave the claim out, as it does for a mapping not required; userinfo is
// not concerned (PingOne documents the rule for ID tokens only).
type missingClaimError struct{ name string }

func (e *missingClaimError) Error() string {
	return "claims: required claim " + e.name + " has no value"
}

func (e *missingClaimError) description() string {
	return "The application requires the claim " + e.name + ", which has no value for the user."
}

// mintFailure is the token endpoint's answer to a failed mintUserTokens:
// invalid_grant when the user lacks a required claim (the grant cannot
// yield an ID token, and retrying will not change that), else
// server_error.
func mintFailure(err error) *oauthError {
	var mc *missingClaimError
	if errors.As(err, &mc) {
		return invalidGrant(mc.description())
	}
	return serverError()
}

// scopeReleases says whether an application mapping limited to the scopes
// ids is released by the granted scope names; no ids release it always.
func scopeReleases(catalog *config.Resources, ids, granted []string) bool {
	if len(ids) == 0 {
		return true
	}
	for _, id := range ids {
		if sc := catalog.ScopeByID(id); sc != nil && slices.Contains(granted, sc.Name) {
			return true
		}
	}
	return false
}

// resourceClaims are the claims the custom resources of an access token
// map (PingOne's resource attributes): those of the resources app was
// granted whose audience the token carries. A user's token evaluates
// every mapping against the user; a client's own token (u nil) only those
// that read no user — ${client.id}, literals, the request context — as a
// client_credentials token has no user to read. The CORE sub mapping and
// reserved claims never override what Gatehouse sets.
func (s *Service) resourceClaims(ctx context.Context, envID string, app *config.Application, aud []string, u *store.User) (map[string]any, error) {
	var user func() (*store.User, error)
	if u != nil {
		user = func() (*store.User, error) { return u, nil }
	}
	return s.resourceClaimsOf(ctx, envID, app, aud, user)
}

// resourceClaimsOf is resourceClaims with the user read only if a mapping
// reads one: a token exchange knows its subject by id alone, and most
// resources map no user attribute. user is nil for a client's own token;
// it may answer a nil user (the subject is an application), and then the
// mappings that read a user are left out as for a client.
func (s *Service) resourceClaimsOf(ctx context.Context, envID string, app *config.Application, aud []string, user func() (*store.User, error)) (map[string]any, error) {
	catalog, err := s.Config.Resources(ctx, envID)
	if err != nil {
		return nil, err
	}
	grants, err := s.Config.ApplicationGrants(ctx, envID, app.ID)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	var data *mapping.Data
	var u *store.User
	groups := false
	for _, g := range grants {
		r, err := catalog.Resource(g.ResourceID)
		if err != nil {
			return nil, err
		}
		if r == nil || r.Type != "CUSTOM" || !slices.Contains(aud, r.Audience) {
			continue
		}
		attrs, err := catalog.Mappings(r.ID)
		if err != nil {
			return nil, err
		}
		for _, a := range attrs {
			if a.Type == "CORE" || a.Expr == nil || reserved(a.Name) {
				continue
			}
			if a.Expr.Roots()&mapping.RootUser != 0 {
				if user == nil {
					continue
				}
				if u == nil {
					if u, err = user(); err != nil {
						return nil, err
					}
					data = nil // read again, with the user
				}
				if u == nil {
					user = nil
					continue
				}
			}
			if data == nil {
				if data, err = mappingData(app, u); err != nil {
					return nil, err
				}
				groups = false
			}
			if a.Expr.Roots()&mapping.RootGroups != 0 && !groups && u != nil {
				if err := s.addGroups(ctx, envID, data, u); err != nil {
					return nil, err
				}
				groups = true
			}
			if v, ok := a.Expr.Eval(data); ok {
				if out == nil {
					out = map[string]any{}
				}
				setClaim(out, a.Name, v)
			}
		}
	}
	return out, nil
}

// withClaims is an access token's claims and the custom claims its
// resources map, marshalled as one object. The custom claims never hold a
// name the fixed claims use (resourceClaims leaves reserved names out).
type withClaims struct {
	accesstoken.Claims
	extra map[string]any
}

func (c withClaims) MarshalJSON() ([]byte, error) {
	fixed, err := json.Marshal(c.Claims)
	if err != nil || len(c.extra) == 0 {
		return fixed, err
	}
	extra, err := json.Marshal(c.extra)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(fixed)+len(extra))
	out = append(out, fixed[:len(fixed)-1]...)
	out = append(out, ',')
	return append(out, extra[1:]...), nil
}
