package authsvc

import (
	"context"
	"encoding/json"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/identity"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
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

// reservedClaims are set by Gatehouse; no mapping may override them.
var reservedClaims = []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "auth_time", "nonce", "acr", "amr", "azp",
	"sid", "at_hash", "c_hash", "client_id", "scope", "env", "org"}

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

// openIDAttributes are the attribute mappings of envID's openid resource;
// none when the environment has no such resource. A failure is logged
// here: ID tokens and userinfo answer it as server_error and say no more.
func (s *Service) openIDAttributes(ctx context.Context, envID string) ([]store.ResourceAttribute, error) {
	catalog, err := s.Config.Resources(ctx, envID)
	var r *config.Resource
	if err == nil {
		r, err = catalog.OpenID()
	}
	var attrs []store.ResourceAttribute
	if err == nil && r != nil {
		attrs, err = catalog.Attributes(r.ID)
	}
	if err != nil {
		slog.ErrorContext(ctx, "claims: the openid resource's attribute mappings cannot be read", "environment", envID, "err", err)
		return nil, err
	}
	return attrs, nil
}

// Where a profile claim goes.
const (
	forIDToken = iota
	forUserInfo
)

// profileClaims are u's claims released by scopes for an ID token or for
// userinfo, as the openid resource maps them. Mappings that resolve to
// nothing are left out.
func (s *Service) profileClaims(ctx context.Context, envID string, u *store.User, scopes []string, target int) (map[string]any, error) {
	out := map[string]any{}
	if !slices.Contains(scopes, "openid") {
		return out, nil
	}
	attrs, err := s.openIDAttributes(ctx, envID)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	for _, a := range attrs {
		if (target == forIDToken && !a.IDToken) || (target == forUserInfo && !a.UserInfo) {
			continue
		}
		if slices.Contains(reservedClaims, a.Name) || strings.HasPrefix(a.Name, "p1.") || !releasedBy(a.Name, scopes) {
			continue
		}
		if doc == nil {
			if doc, err = identity.Document(u); err != nil {
				return nil, err
			}
		}
		v, ok := evalMapping(a.Value, doc)
		if !ok {
			continue
		}
		if part, isAddr := strings.CutPrefix(a.Name, "address."); isAddr {
			addr, _ := out["address"].(map[string]any)
			if addr == nil {
				addr = map[string]any{}
				out["address"] = addr
			}
			addr[part] = v
			continue
		}
		out[a.Name] = v
	}
	return out, nil
}

var placeholderRE = regexp.MustCompile(`\$\{([^}]*)\}`)

// evalMapping evaluates an attribute mapping's value against a user
// document: a literal stands for itself; a value that is one ${…} keeps
// the type of what it references (a boolean, a number, an object); text
// around placeholders makes a string. It reports false when the mapping
// yields nothing: no value, an unknown attribute, or an expression this
// evaluator does not support (PingOne's mappings are SpEL; Gatehouse
// understands attribute paths and #datetime.toUnixTimestamp).
func evalMapping(value string, doc map[string]any) (any, bool) {
	if value == "" {
		return nil, false
	}
	locs := placeholderRE.FindAllStringSubmatchIndex(value, -1)
	if len(locs) == 0 {
		return value, true
	}
	if len(locs) == 1 && locs[0][0] == 0 && locs[0][1] == len(value) {
		v, ok := evalExpr(value[locs[0][2]:locs[0][3]], doc)
		if t, isTime := v.(time.Time); isTime {
			return t.UTC().Format(wire.TimeFormat), ok
		}
		return v, ok
	}
	var b strings.Builder
	prev, found := 0, false
	for _, l := range locs {
		b.WriteString(value[prev:l[0]])
		if v, ok := evalExpr(value[l[2]:l[3]], doc); ok {
			b.WriteString(stringify(v))
			found = true
		}
		prev = l[1]
	}
	b.WriteString(value[prev:])
	if !found {
		return nil, false
	}
	return b.String(), true
}

func stringify(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case time.Time:
		return x.UTC().Format(wire.TimeFormat)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// evalExpr evaluates one placeholder's body.
func evalExpr(expr string, doc map[string]any) (any, bool) {
	expr = strings.TrimSpace(expr)
	if arg, ok := strings.CutPrefix(expr, "#datetime.toUnixTimestamp("); ok {
		arg, ok = strings.CutSuffix(arg, ")")
		if !ok {
			return nil, false
		}
		v, ok := lookup(strings.TrimSpace(arg), doc)
		if !ok {
			return nil, false
		}
		switch t := v.(type) {
		case time.Time:
			return t.Unix(), true
		case string:
			if p, err := time.Parse(time.RFC3339Nano, t); err == nil {
				return p.Unix(), true
			}
		}
		return nil, false
	}
	return lookup(expr, doc)
}

// lookup resolves user.a.b… in doc. Empty strings and nulls are nothing.
func lookup(path string, doc map[string]any) (any, bool) {
	rest, ok := strings.CutPrefix(path, "user.")
	if !ok || rest == "" {
		return nil, false
	}
	var cur any = doc
	for part := range strings.SplitSeq(rest, ".") {
		m, isMap := cur.(map[string]any)
		if !isMap {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	switch v := cur.(type) {
	case nil:
		return nil, false
	case string:
		return v, v != ""
	case time.Time:
		return v, !v.IsZero()
	}
	return cur, true
}
