// Package mgmt serves PingOne's management API v1 under {apiPath}. Handlers
// decode, apply the domain's rules (users: identity; passwords:
// credential; the resource's own checks here), write through the store and
// encode PingOne's shapes; every request is authenticated by a bearer
// token (through an accesstoken.Verifier) and authorised by the actor's
// role assignments.
package mgmt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/accesstoken"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// MaxBodyBytes bounds every management request body.
const MaxBodyBytes = 1 << 20

// API is the management API.
type API struct {
	Store   store.Store
	Keys    *keys.Manager
	Sealer  *secrets.Sealer
	Tokens  accesstoken.Verifier
	APIPath string // base URL + "/v1"
	// Credentials holds the password rules the sign-on flows share; nil
	// means a service over Store with the default hasher.
	Credentials *credential.Service
	// RequestsPerClient, when set, bounds each client's requests (keyed
	// as authsvc.ClientKey names it, so the token endpoint shares it).
	RequestsPerClient *ratelimit.Limiter
	// Config, when set, serves what every request reads and seldom
	// changes (the actor's application and role assignments, the path's
	// environment) from memory; nil reads them from Store (and the MFA
	// configuration from a cache of the API's own: see config).
	Config *config.Cache
	// MFA holds the rules of users' MFA devices; MFAPolicies gives the
	// MFA settings and device authentication policies they run under
	// (nil: PingOne's defaults).
	MFA         *mfa.Service
	MFAPolicies MFAPolicies
	// FIDO2Policies gives the FIDO2 policies FIDO2 devices register
	// under (nil: the configuration's).
	FIDO2Policies FIDO2Policies
	// Audit records every write as an activity (see audit.go); nil
	// records nothing.
	Audit audit.Recorder

	ownConfig     *config.Cache
	ownConfigOnce sync.Once
}

// config is the configuration cache; an API built without one gets its
// own over Store.
func (a *API) config() *config.Cache {
	if a.Config != nil {
		return a.Config
	}
	a.ownConfigOnce.Do(func() { a.ownConfig = config.New(a.Store, config.Options{}) })
	return a.ownConfig
}

type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle adapts a handler that returns an error: one place turns errors into
// PingOne's body.
func (a *API) handle(h handlerFunc) http.Handler {
	return a.authenticate(a.audited(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			wire.WriteErrorCtx(r.Context(), w, err)
		}
	})))
}

// Routes registers every management route on mux.
func (a *API) Routes(mux *http.ServeMux) { a.routes(mux) }

// router is where the routes are registered: a ServeMux, or in a test one
// that also keeps the patterns (a ServeMux cannot list them).
type router interface {
	Handle(pattern string, handler http.Handler)
}

func (a *API) routes(mux router) {
	a.organizationRoutes(mux)
	a.environmentRoutes(mux)
	a.populationRoutes(mux)
	a.userRoutes(mux)
	a.applicationRoutes(mux)
	a.configRoutes(mux)
	a.identityProviderRoutes(mux)
	a.linkedAccountRoutes(mux)
	a.brandingRoutes(mux)
	a.themeRoutes(mux)
	a.mfaDeviceRoutes(mux)
	a.notificationRoutes(mux)
	a.mfaConfigRoutes(mux)
	a.fido2PolicyRoutes(mux)
	a.agreementRoutes(mux)
	a.sessionRoutes(mux)
	a.groupRoutes(mux)
	a.schemaRoutes(mux)
	a.activityRoutes(mux)
	a.subscriptionRoutes(mux)
}

// Actor is who a request acts as: the WORKER application named by the
// token, with its role assignments; or, with a user's token issued to a
// WORKER application (PingOne's user-based grants), that user, with the
// user's role assignments (direct, and those of the groups it belongs to).
type Actor struct {
	Claims      *accesstoken.Claims
	Assignments []store.RoleAssignment
	// Name is the application's, for the activities its writes record.
	Name string
	// UserID and Username name the user a user's token acts as; both are
	// empty for an application's own token.
	UserID, Username string
	// populationID is the user's, for the activities its writes record.
	populationID string
}

// isUser says whether the actor is a user (a user's token), not an
// application.
func (ac *Actor) isUser() bool { return ac.UserID != "" }

// is says whether the actor is the application or user id of envID: what
// it may always read of itself (its role assignments).
func (ac *Actor) is(k roleActor, envID, id string) bool {
	if ac.Claims.Env != envID {
		return false
	}
	if ac.isUser() {
		return k.Type == userActor.Type && ac.UserID == id
	}
	return k.Type == applicationActor.Type && ac.Claims.ClientID == id
}

type actorKey struct{}

func actorFrom(ctx context.Context) *Actor { return ctx.Value(actorKey{}).(*Actor) }

// authenticate verifies the bearer token and loads the actor. A token whose
// application was deleted or disabled stops working at once, as does a
// user's token whose user was.
func (a *API) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			if raw, ok = strings.CutPrefix(r.Header.Get("Authorization"), "bearer "); !ok {
				wire.WriteErrorCtx(r.Context(), w, wire.Unauthorized())
				return
			}
		}
		claims, err := a.Tokens.VerifyAccessToken(r.Context(), strings.TrimSpace(raw))
		if err != nil {
			if errors.Is(err, accesstoken.ErrInvalid) {
				err = wire.Unauthorized()
			}
			wire.WriteErrorCtx(r.Context(), w, err)
			return
		}
		actor, err := a.loadActor(r, claims)
		if err != nil {
			wire.WriteErrorCtx(r.Context(), w, err)
			return
		}
		ctx := context.WithValue(r.Context(), actorKey{}, actor)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// loadActor finds who claims act as: the application, or the user of a
// user's token (then the application must be a WORKER, whatever verifier
// is wired in). Refusals are 401.
func (a *API) loadActor(r *http.Request, claims *accesstoken.Claims) (*Actor, error) {
	userToken := claims.Subject != claims.ClientID
	if !userToken && claims.SessionID != "" {
		// An application's own token belongs to no session.
		return nil, wire.Unauthorized()
	}
	// Each user of a console shares its application: a user's token
	// counts against a key of its own, so one administrator cannot use
	// up the others' requests.
	key := claims.Env + "/" + claims.ClientID
	if userToken {
		key += "/" + claims.Subject
	}
	if ok, wait := a.RequestsPerClient.Allow(key, time.Now()); !ok {
		return nil, &ratelimit.Error{What: "Too many requests from this client.", RetryAfter: wait}
	}
	// Reads take the actor from the configuration cache; writes from
	// the store, as pathEnvironment does: on another node the cache
	// may lag a write by up to a second, and a write authorized by a
	// role already taken away can make it permanent (a new worker
	// inherits its creator's roles, an actor assigns the roles it
	// holds).
	cached := r.Method == http.MethodGet || r.Method == http.MethodHead
	app, err := a.actorApplication(r.Context(), claims.Env, claims.ClientID, cached)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (!app.Enabled || (userToken && app.Type != "WORKER"))) {
		return nil, wire.Unauthorized()
	}
	if err != nil {
		return nil, err
	}
	actor := &Actor{Claims: claims, Name: app.Name}
	if !userToken {
		if actor.Assignments, err = a.actorRoles(r.Context(), claims.Env, claims.ClientID, cached); err != nil {
			return nil, err
		}
		return actor, nil
	}
	// Users are not configuration: the store, on every request.
	u, err := a.Store.GetUser(r.Context(), claims.Env, claims.Subject)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !u.Enabled) {
		return nil, wire.Unauthorized()
	}
	if err != nil {
		return nil, err
	}
	actor.UserID, actor.Username, actor.populationID = u.ID, u.Username, u.PopulationID
	if actor.Assignments, err = a.userRoles(r.Context(), claims.Env, u.ID, cached); err != nil {
		return nil, err
	}
	return actor, nil
}

// actorApplication is the actor's application, or store.ErrNotFound. The
// cache forgets an application on this node when it is written, and on
// others within a second: a disabled application is refused at once here,
// within that second there (reads only: cached is false for writes, which
// read the store).
func (a *API) actorApplication(ctx context.Context, envID, appID string, cached bool) (*store.Application, error) {
	if a.Config != nil && cached {
		app, err := a.Config.Application(ctx, envID, appID)
		if err == nil {
			return &app.Application, nil
		}
		if !errors.Is(err, config.ErrDamaged) {
			return nil, err
		}
		// Settings that do not decode do not matter here: the record does.
	}
	return a.Store.GetApplication(ctx, envID, appID)
}

// actorRoles are the actor's role assignments; role assignment writes are
// configuration writes, so a removed role is gone from the cache when the
// write returns (on other nodes within a second). The slice is shared:
// nothing may change it. Only reads (cached) take them from the cache.
func (a *API) actorRoles(ctx context.Context, envID, actorID string, cached bool) ([]store.RoleAssignment, error) {
	if a.Config != nil && cached {
		return a.Config.RoleAssignments(ctx, envID, actorID)
	}
	return a.Store.ListRoleAssignments(ctx, envID, actorID)
}

// userRoles are a user actor's role assignments: its own, then those of
// every group it belongs to, directly or through nested groups (PingOne:
// "the user's role assignments are used", groups' included). Memberships
// are read from the store on every request: adding a user to a group is
// no configuration write, and a removal must count at once.
func (a *API) userRoles(ctx context.Context, envID, userID string, cached bool) ([]store.RoleAssignment, error) {
	own, err := a.actorRoles(ctx, envID, userID, cached)
	if err != nil {
		return nil, err
	}
	groups, err := a.Store.UserGroups(ctx, envID, userID)
	if err != nil || len(groups) == 0 {
		return own, err
	}
	// A new slice: own may be the cache's.
	out := slices.Clone(own)
	for _, g := range groups {
		ras, err := a.actorRoles(ctx, envID, g.ID, cached)
		if err != nil {
			return nil, err
		}
		out = append(out, ras...)
	}
	return out, nil
}

// pathEnvironment is the environment the path names. Reads take it from the
// cache. Writes read the store: they write the environment, or what hangs
// on it, back, and must not start from what another node's write made up
// to a second old.
func (a *API) pathEnvironment(r *http.Request) (*store.Environment, error) {
	id := r.PathValue("envID")
	if a.Config != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		e, err := a.Config.Environment(r.Context(), id)
		if err == nil {
			// A copy: handlers may change what they are given, the
			// cache's value is shared.
			rec := e.Environment
			return &rec, nil
		}
		if !errors.Is(err, config.ErrDamaged) {
			return nil, err
		}
		// Settings that do not decode fail only what reads them.
	}
	return a.Store.GetEnvironment(r.Context(), id)
}

// environment loads the environment named in the path and checks that the
// actor holds perm over it. An unknown environment is 404 before any
// permission check: PingOne's clients read 403 as "retry", 404 as "gone".
func (a *API) environment(r *http.Request, perm string) (*store.Environment, error) {
	env, err := a.pathEnvironment(r)
	if err != nil {
		return nil, err
	}
	if !roles.Allowed(actorFrom(r.Context()).Assignments, perm, roles.Target{OrgID: env.OrganizationID, EnvID: env.ID}) {
		return nil, wire.Forbidden()
	}
	return env, nil
}

// requireOrg checks perm at the organization level.
func requireOrg(r *http.Request, perm, orgID string) error {
	if !roles.Allowed(actorFrom(r.Context()).Assignments, perm, roles.Target{OrgID: orgID}) {
		return wire.Forbidden()
	}
	return nil
}

// contentType picks the request's media type among the accepted ones.
// PingOne's SDK sends two Content-Type values on some calls
// (application/json and a vendor type): an accepted vendor type wins over
// application/json, and an endpoint that takes only JSON still finds it.
// It returns "" when no value is accepted.
func contentType(r *http.Request, accepted []string) string {
	picked := ""
	for _, v := range r.Header.Values("Content-Type") {
		for _, part := range strings.Split(v, ",") {
			mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil || !slices.Contains(accepted, mt) {
				continue
			}
			if strings.HasPrefix(mt, "application/vnd.pingidentity.") {
				return mt
			}
			if picked == "" {
				picked = mt
			}
		}
	}
	return picked
}

// decode reads a JSON body of one of the accepted media types (default
// application/json) into v, after wire.CheckJSON: text that is not UTF-8
// and nesting too deep are refused, not decoded.
func decode(r *http.Request, v any, accepted ...string) error {
	if len(accepted) == 0 {
		accepted = []string{"application/json"}
	}
	if contentType(r, accepted) == "" {
		return wire.UnsupportedMediaType(r.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return wire.TooLarge(MaxBodyBytes)
		}
		return wire.InvalidRequest(wire.InvalidValue("", "The request body could not be read."))
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return wire.InvalidRequest(wire.InvalidValue("", "A request body is required."))
	}
	if err := wire.CheckJSON(body); err != nil {
		return err
	}
	// A JSON null would decode into nothing and leave the zero request: a
	// PUT of null would then reset a resource whose members are all
	// optional (session settings) instead of being refused as an array is.
	if string(bytes.TrimSpace(body)) == "null" {
		return wire.InvalidRequest(wire.InvalidValue("", "Invalid value for attribute: expected an object."))
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return wire.InvalidRequest(wire.InvalidValue("", "Unexpected data after the JSON body."))
	}
	// PostgreSQL cannot store NUL in text (it would fail as a 500, and
	// SQLite would keep it): refuse it on both, naming the field.
	if bytes.Contains(body, []byte(`\u0000`)) {
		var generic any
		if json.Unmarshal(body, &generic) == nil {
			if path, found := nulPath(generic, ""); found {
				return wire.InvalidData(wire.InvalidValue(path, "The value must not contain NUL characters."))
			}
		}
	}
	return nil
}

// nulPath finds a string (or member name) holding NUL in a decoded JSON
// value and returns its path as details name it: license.id, products[0].type.
func nulPath(v any, path string) (string, bool) {
	switch v := v.(type) {
	case string:
		return path, strings.IndexByte(v, 0) >= 0
	case []any:
		for i, e := range v {
			if p, ok := nulPath(e, path+"["+itoa(i)+"]"); ok {
				return p, true
			}
		}
	case map[string]any:
		names := make([]string, 0, len(v))
		for k := range v {
			names = append(names, k)
		}
		sortStrings(names)
		for _, k := range names {
			p := k
			if path != "" {
				p = path + "." + k
			}
			if strings.IndexByte(k, 0) >= 0 {
				return path, true
			}
			if p, ok := nulPath(v[k], p); ok {
				return p, true
			}
		}
	}
	return "", false
}

func jsonError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return wire.InvalidRequest(wire.InvalidValue("", fmt.Sprintf("Malformed JSON at offset %d.", se.Offset)))
	case errors.As(err, &te):
		target := te.Field
		return wire.InvalidRequest(wire.InvalidValue(target, fmt.Sprintf("Invalid value for attribute: expected %s.", jsonKind(te.Type.Kind().String()))))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return wire.InvalidRequest(wire.InvalidValue("", "Malformed JSON: unexpected end of input."))
	default:
		return wire.InvalidRequest(wire.InvalidValue("", "Malformed JSON."))
	}
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "int", "int64", "int32", "float64", "float32":
		return "a number"
	case "slice":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	}
	return k
}

// listParams reads limit and cursor.
func listParams(q url.Values) (store.Page, error) {
	p := store.Page{Limit: 100}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			min, max := int64(1), int64(1000)
			return p, wire.InvalidRequest(wire.Detail{Code: wire.DetailInvalidValue, Target: "limit",
				Message: "limit must be a whole number from 1 to 1000.", InnerError: &wire.InnerError{RangeMinimumValue: &min, RangeMaximumValue: &max}})
		}
		p.Limit = n
	}
	if c := q.Get("cursor"); c != "" {
		after, ok := wire.DecodeCursor(c)
		if !ok {
			return p, wire.InvalidRequest(wire.InvalidValue("cursor", "The cursor is not valid."))
		}
		p.After = after
	}
	return p, nil
}

// listBody builds a list envelope with absolute self and next links; more
// says whether a page follows (handlers ask the store for one row beyond the
// limit to know).
func listBody(base string, q url.Values, name string, items any, lastID string, more bool, size, total int) wire.List {
	links := wire.Links{"self": {Href: wire.SelfHref(base, q)}}
	if more {
		links["next"] = wire.Href{Href: wire.NextHref(base, q, lastID)}
	}
	return wire.List{Links: links, Embedded: map[string]any{name: items}, Count: total, Size: size}
}

// str returns *p or "".
func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func oneOf(v string, allowed []string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}

func itoa(i int) string { return strconv.Itoa(i) }

func sortStrings(s []string) { slices.Sort(s) }

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only fixed wire types are marshalled here
	}
	return b
}
