package mgmt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/identity"
	"github.com/gatehouse-id/gatehouse/internal/password"
	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Media types of the user endpoints.
const (
	ctJSON          = "application/json"
	ctUserImport    = "application/vnd.pingidentity.user.import+json"
	ctAccountLock   = "application/vnd.pingidentity.account.lock+json"
	ctAccountUnlock = "application/vnd.pingidentity.account.unlock+json"
)

// maxAttribute is the size limit of a free-text value, a user
// attribute's or another resource's.
const maxAttribute = identity.MaxAttribute

func (a *API) userRoutes(mux router) {
	base := "/v1/environments/{envID}/users"
	one := base + "/{userID}"
	mux.Handle("GET "+base, a.handle(a.listUsers))
	mux.Handle("POST "+base, a.handle(a.createUser))
	mux.Handle("GET "+one, a.handle(a.getUser))
	mux.Handle("PUT "+one, a.handle(a.replaceUser))
	mux.Handle("PATCH "+one, a.handle(a.patchUser))
	mux.Handle("DELETE "+one, a.handle(a.deleteUser))
	mux.Handle("POST "+one, a.handle(a.userAccountAction))
	mux.Handle("GET "+one+"/enabled", a.handle(getUserPart(a, a.renderEnabled)))
	mux.Handle("PUT "+one+"/enabled", a.handle(putUserFlag(a, "enabled", func(u *store.User, v bool) { u.Enabled = v }, a.renderEnabled)))
	mux.Handle("GET "+one+"/population", a.handle(getUserPart(a, a.renderUserPopulation)))
	mux.Handle("PUT "+one+"/population", a.handle(a.putUserPopulation))
	mux.Handle("GET "+one+"/mfaEnabled", a.handle(getUserPart(a, a.renderMFAEnabled)))
	mux.Handle("PUT "+one+"/mfaEnabled", a.handle(putUserFlag(a, "mfaEnabled", func(u *store.User, v bool) { u.MFAEnabled = v }, a.renderMFAEnabled)))
	a.passwordRoutes(mux, one)
	a.roleAssignmentRoutes(mux, userActor)
}

var userActor = roleActor{Type: "USER", Segment: "users", Param: "userID", Field: "user",
	Exists: func(ctx context.Context, st store.Store, envID, id string) error {
		_, err := st.GetUser(ctx, envID, id)
		return err
	}}

// ---- rendering

func (a *API) userHref(envID, id string) string {
	return a.APIPath + "/environments/" + envID + "/users/" + id
}

func (a *API) renderUser(u *store.User, now time.Time) wire.User {
	envHref := a.APIPath + "/environments/" + u.EnvironmentID
	self := envHref + "/users/" + u.ID
	// The password links share one string.
	pw := wire.Href{Href: self + "/password"}
	links := wire.Links{
		"self": {Href: self}, "environment": {Href: envHref}, "population": {Href: envHref + "/populations/" + u.PopulationID},
		"devices": {Href: self + "/devices"}, "roleAssignments": {Href: self + "/roleAssignments"},
		"password": pw, "password.reset": pw, "password.set": pw, "password.check": pw, "password.recover": pw,
		"linkedAccounts": {Href: self + "/linkedAccounts"}, "account.sendVerificationCode": {Href: self},
		"memberOfGroups": {Href: self + "/memberOfGroups"},
	}
	// A damaged row still renders its columns: one such user must not
	// fail a whole list. Writes (PATCH) check the profile themselves.
	d, _ := identity.Decode(u)
	prof := d.UserProfile
	var name wire.UserName
	if prof.Name != nil {
		name = *prof.Name
	}
	name.Given, name.Family = u.GivenName, u.FamilyName
	prof.Name = nil
	if name != (wire.UserName{}) {
		prof.Name = &name
	}
	return wire.User{
		Links: links, ID: u.ID, Environment: wire.Ref{ID: u.EnvironmentID}, Account: userAccount(u, now),
		CreatedAt: wire.Time(u.CreatedAt), Email: u.Email, Enabled: u.Enabled, ExternalID: u.ExternalID,
		IdentityProvider: wire.UserIdentityProvider{Type: u.IdentityProviderType, ID: u.IdentityProviderID},
		Lifecycle:        wire.UserLifecycle{Status: u.LifecycleStatus}, MFAEnabled: u.MFAEnabled,
		Population: wire.Ref{ID: u.PopulationID}, UpdatedAt: wire.Time(u.UpdatedAt), Username: u.Username,
		VerifyStatus: u.VerifyStatus, UserProfile: prof, Custom: d.Custom,
	}
}

// userAccount is the account's state. canAuthenticate is false when the
// account is locked or the user disabled, as PingOne's data model says;
// PingOne's Terraform provider plans it from enabled and reads it back.
func userAccount(u *store.User, now time.Time) wire.UserAccount {
	if !credential.AccountLocked(u, now) {
		return wire.UserAccount{CanAuthenticate: u.Enabled, Status: identity.AccountOK}
	}
	acc := wire.UserAccount{Status: identity.AccountLocked, LockedAt: wire.TimePtr(u.LockedAt), UnlockAt: wire.TimePtr(u.UnlockAt)}
	if !u.UnlockAt.IsZero() {
		secs := credential.SecondsUntil(u.UnlockAt, now)
		acc.SecondsUntilUnlock = &secs
	}
	return acc
}

// expandPopulation reads ?expand=; population is the one expansion users
// have.
func expandPopulation(r *http.Request) (bool, error) {
	v := r.URL.Query().Get("expand")
	if v == "" {
		return false, nil
	}
	for _, part := range strings.Split(v, ",") {
		if strings.TrimSpace(part) != "population" {
			return false, wire.InvalidRequest(wire.Detail{Code: wire.DetailInvalidValue, Target: "expand",
				Message: "Unsupported expand value.", InnerError: &wire.InnerError{AllowedValues: []string{"population"}}})
		}
	}
	return true, nil
}

// populationsByID loads the populations of a page of users in one query.
func (a *API) populationsByID(ctx context.Context, envID string, users []store.User) (map[string]*store.Population, error) {
	var ids []string
	for _, u := range users {
		if !slices.Contains(ids, u.PopulationID) {
			ids = append(ids, u.PopulationID)
		}
	}
	out := map[string]*store.Population{}
	if len(ids) == 0 {
		return out, nil
	}
	pops, _, err := a.Store.ListPopulations(ctx, envID, store.Page{IDs: ids, Limit: len(ids)})
	if err != nil {
		return nil, err
	}
	for i := range pops {
		out[pops[i].ID] = &pops[i]
	}
	return out, nil
}

func (a *API) embedPopulation(out *wire.User, pops map[string]*store.Population) {
	if p := pops[out.Population.ID]; p != nil {
		out.Embedded = map[string]any{"population": a.renderPop(p)}
	}
}

// ---- reading the body

// userKnown are the members of wire.UserRequest; userReadOnly are members
// PingOne's SDK echoes back that are ignored. Everything else is a custom
// attribute.
var (
	userKnown    = jsonNames(reflect.TypeFor[wire.UserRequest]())
	userReadOnly = map[string]bool{"id": true, "environment": true, "createdAt": true, "updatedAt": true, "_links": true,
		"_embedded": true, "account": true, "emailVerified": true, "lastSignOn": true, "memberOfGroupIDs": true, "memberOfGroupNames": true}
)

func jsonNames(t reflect.Type) map[string]bool {
	out := map[string]bool{}
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		out[name] = true
	}
	return out
}

func decodeUser(r *http.Request, accepted ...string) (*identity.Input, error) {
	var raw map[string]json.RawMessage
	if err := decode(r, &raw, accepted...); err != nil {
		return nil, err
	}
	return parseUser(raw)
}

// parseUser splits a user body into PingOne's attributes and the custom
// ones.
func parseUser(raw map[string]json.RawMessage) (*identity.Input, error) {
	in := &identity.Input{Custom: map[string]json.RawMessage{}}
	known := map[string]json.RawMessage{}
	var details []wire.Detail
	names := make([]string, 0, len(raw))
	for k := range raw {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		v := raw[k]
		switch {
		case userKnown[k]:
			known[k] = v
		case userReadOnly[k]:
		case string(bytes.TrimSpace(v)) == "null":
			// An absent custom attribute.
		default:
			if d := identity.CheckCustomName(k); d != nil {
				details = append(details, *d)
				continue
			}
			in.Custom[k] = v
		}
	}
	if len(details) > 0 {
		return nil, wire.InvalidData(details...)
	}
	if err := json.Unmarshal(mustJSON(known), &in.UserRequest); err != nil {
		return nil, jsonError(err)
	}
	return in, nil
}

func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}

// shown drops from out the custom attributes the schema does not show:
// those of disabled attributes and of deleted ones (PingOne returns
// neither; a write drops them for good).
func shown(sch *identity.Schema, out *wire.User) {
	for name := range out.Custom {
		if a := sch.Attribute(name); a == nil || a.SchemaType != wire.SchemaCustom || !a.Enabled {
			delete(out.Custom, name)
		}
	}
}

// ---- handlers

func (a *API) listUsers(w http.ResponseWriter, r *http.Request) error {
	env, scope, err := a.userScope(r, roles.ReadUser)
	if err != nil {
		return err
	}
	expand, err := expandPopulation(r)
	if err != nil {
		return err
	}
	now := store.Now()
	var pops map[string]*store.Population
	// A filter may compare the schema's custom attributes; the schema also
	// says which custom attributes a user shows.
	sch, err := a.config().UserSchema(r.Context(), env.ID)
	if err != nil {
		return err
	}
	custom := sch.Filterable()
	list, err := pageOf(r, a.APIPath+"/environments/"+env.ID+"/users", "users", nil,
		func(p store.Page) ([]store.User, int, error) {
			p.Custom = custom
			users, total, err := a.Store.ListUsers(r.Context(), env.ID, scope.restrict(p))
			if err == nil && expand {
				pops, err = a.populationsByID(r.Context(), env.ID, users)
			}
			return users, total, err
		},
		func(u *store.User) string { return u.ID },
		func(u *store.User) any {
			out := a.renderUser(u, now)
			shown(sch, &out)
			if expand {
				a.embedPopulation(&out, pops)
			}
			return out
		})
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, list)
	return nil
}

func (a *API) getUser(w http.ResponseWriter, r *http.Request) error {
	env, _, err := a.userScope(r, roles.ReadUser)
	if err != nil {
		return err
	}
	expand, err := expandPopulation(r)
	if err != nil {
		return err
	}
	ids, names, err := includeGroups(r)
	if err != nil {
		return err
	}
	u, err := a.Store.GetUser(r.Context(), env.ID, r.PathValue("userID"))
	if err != nil {
		return err
	}
	out := a.renderUser(u, store.Now())
	sch, err := a.config().UserSchema(r.Context(), env.ID)
	if err != nil {
		return err
	}
	shown(sch, &out)
	if ids || names {
		if err := a.addUserGroups(r.Context(), &out, ids, names); err != nil {
			return err
		}
	}
	if expand {
		pops, err := a.populationsByID(r.Context(), env.ID, []store.User{*u})
		if err != nil {
			return err
		}
		a.embedPopulation(&out, pops)
	}
	wire.Write(w, http.StatusOK, out)
	return nil
}

// createUser serves both content types PingOne accepts: plain JSON and the
// import type, which Terraform always uses. Either may carry a password
// and a lifecycle. The user and its password are written in one
// transaction; the password is hashed before it, outside SQLite's one
// writer.
func (a *API) createUser(w http.ResponseWriter, r *http.Request) error {
	env, scope, err := a.userScope(r, roles.WriteUser)
	if err != nil {
		return err
	}
	in, err := decodeUser(r, ctJSON, ctUserImport)
	if err != nil {
		return err
	}
	ctx := r.Context()
	now := store.Now()
	u := identity.New(env.ID, now)
	// A user's mfaEnabled, unless the request sets it, is the MFA
	// settings' default for new users.
	if u.MFAEnabled, err = a.config().NewUsersMFAEnabled(ctx, env.ID); err != nil {
		return err
	}
	if err := identity.Apply(ctx, a.Store, env.ID, in, u); err != nil {
		return err
	}
	if !scope.allows(u.PopulationID) {
		return wire.Forbidden()
	}
	var pw *store.UserPassword
	// A password without a value (PingOne's external gateway passwords
	// carry none) sets nothing: Gatehouse has no gateways.
	if imp := in.Password; imp != nil && imp.Value != nil {
		if pw, err = a.importPassword(ctx, u, imp, now); err != nil {
			return err
		}
	}
	err = a.Store.Tx(ctx, func(tx store.Store) error {
		if err := identity.Claim(ctx, tx, u); err != nil {
			return err
		}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		if pw != nil {
			return tx.PutUserPassword(ctx, pw)
		}
		return nil
	})
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusCreated, a.renderUser(u, now))
	return nil
}

// importPassword turns a create body's password into the user's password
// state: a pre-encoded value is kept as it is, a cleartext one is checked
// against the population's policy and hashed.
func (a *API) importPassword(ctx context.Context, u *store.User, imp *wire.UserPasswordImport, now time.Time) (*store.UserPassword, error) {
	if *imp.Value == "" {
		return nil, wire.InvalidData(wire.Required("password.value"))
	}
	value := *imp.Value
	if len(value) > maxPasswordBytes {
		return nil, wire.InvalidData(sizeLimit("password.value", maxPasswordBytes))
	}
	hash := value
	if !password.IsEncoded(value) {
		creds := a.credentials()
		_, pol, err := creds.EffectivePolicy(ctx, a.Store, u.EnvironmentID, u.PopulationID)
		if err != nil {
			return nil, err
		}
		prof, err := credential.Profile(u)
		if err != nil {
			return nil, err
		}
		if vs := pol.Check(value, prof, ""); len(vs) > 0 {
			return nil, policyError("password.value", vs)
		}
		if hash, err = creds.Hash(ctx, value); err != nil {
			return nil, err
		}
	}
	status := "OK"
	if imp.ForceChange != nil && *imp.ForceChange {
		status = "MUST_CHANGE_PASSWORD"
	}
	return &store.UserPassword{UserID: u.ID, EnvironmentID: u.EnvironmentID, Hash: hash, Status: status, LastChangedAt: now, UpdatedAt: now}, nil
}

// modifyUser runs a read-modify-write of the path's user in one
// transaction (the read locks the row on PostgreSQL). The user must be in
// scope (else 404), and stay in it (else 403: fn moved it out of reach).
func (a *API) modifyUser(r *http.Request, env *store.Environment, scope *popScope, fn func(tx store.Store, u *store.User) error) (*store.User, error) {
	ctx := r.Context()
	var u *store.User
	err := a.Store.Tx(ctx, func(tx store.Store) error {
		var err error
		if u, err = tx.GetUser(ctx, env.ID, r.PathValue("userID")); err != nil {
			return err
		}
		if err := scope.reach(u); err != nil {
			return err
		}
		if err := fn(tx, u); err != nil {
			return err
		}
		if !scope.allows(u.PopulationID) {
			return wire.Forbidden()
		}
		u.UpdatedAt = store.Now()
		return tx.UpdateUser(ctx, u)
	})
	return u, err
}

func (a *API) replaceUser(w http.ResponseWriter, r *http.Request) error {
	env, scope, err := a.userScope(r, roles.WriteUser)
	if err != nil {
		return err
	}
	in, err := decodeUser(r)
	if err != nil {
		return err
	}
	u, err := a.modifyUser(r, env, scope, func(tx store.Store, u *store.User) error {
		return identity.Apply(r.Context(), tx, env.ID, in, u)
	})
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, a.renderUser(u, store.Now()))
	return nil
}

// patchUser merges the body into the user as a JSON merge patch (RFC 7386:
// members replace, objects merge, null removes) and validates the result
// like a replace.
func (a *API) patchUser(w http.ResponseWriter, r *http.Request) error {
	env, scope, err := a.userScope(r, roles.WriteUser)
	if err != nil {
		return err
	}
	var patch map[string]json.RawMessage
	if err := decode(r, &patch); err != nil {
		return err
	}
	u, err := a.modifyUser(r, env, scope, func(tx store.Store, u *store.User) error {
		// The merge starts from the rendered user: a stored profile that
		// cannot be read would be lost.
		if _, err := identity.Decode(u); err != nil {
			return err
		}
		merged := mergePatch(mustJSON(a.renderUser(u, store.Now())), mustJSON(patch))
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(merged, &raw); err != nil {
			return err
		}
		in, err := parseUser(raw)
		if err != nil {
			return err
		}
		return identity.Apply(r.Context(), tx, env.ID, in, u)
	})
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, a.renderUser(u, store.Now()))
	return nil
}

// mergePatch applies patch to target as RFC 7386 describes.
func mergePatch(target, patch json.RawMessage) json.RawMessage {
	var p map[string]json.RawMessage
	if json.Unmarshal(patch, &p) != nil || p == nil {
		return patch
	}
	var t map[string]json.RawMessage
	if json.Unmarshal(target, &t) != nil || t == nil {
		t = map[string]json.RawMessage{}
	}
	for k, v := range p {
		if string(bytes.TrimSpace(v)) == "null" {
			delete(t, k)
			continue
		}
		t[k] = mergePatch(t[k], v)
	}
	return mustJSON(t)
}

func (a *API) deleteUser(w http.ResponseWriter, r *http.Request) error {
	env, _, err := a.userScope(r, roles.WriteUser)
	if err != nil {
		return err
	}
	if err := a.Store.DeleteUser(r.Context(), env.ID, r.PathValue("userID")); err != nil {
		return err
	}
	wire.NoContent(w)
	return nil
}

// userAccountAction is POST /users/{id} with the account.lock or
// account.unlock media type; the body, if any, is not needed. Unlocking
// also ends a password lockout, as PingOne's does.
func (a *API) userAccountAction(w http.ResponseWriter, r *http.Request) error {
	env, scope, err := a.userScope(r, roles.WriteUser)
	if err != nil {
		return err
	}
	ct := contentType(r, []string{ctAccountLock, ctAccountUnlock})
	if ct == "" {
		return wire.UnsupportedMediaType(r.Header.Get("Content-Type"))
	}
	ctx := r.Context()
	now := store.Now()
	var u *store.User
	err = a.Store.Tx(ctx, func(tx store.Store) error {
		var err error
		if u, err = tx.GetUser(ctx, env.ID, r.PathValue("userID")); err != nil {
			return err
		}
		if err := scope.reach(u); err != nil {
			return err
		}
		if ct == ctAccountLock {
			u.AccountStatus, u.LockedAt, u.UnlockAt = identity.AccountLocked, now, time.Time{}
		} else {
			u.AccountStatus, u.LockedAt, u.UnlockAt = identity.AccountOK, time.Time{}, time.Time{}
			if err := tx.ClearPasswordFailures(ctx, env.ID, u.ID); err != nil {
				return err
			}
		}
		u.UpdatedAt = now
		return tx.UpdateUserAccount(ctx, env.ID, u.ID, u.AccountStatus, u.LockedAt, u.UnlockAt, now)
	})
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, a.renderUser(u, now))
	return nil
}

// ---- sub-resources

func (a *API) subLinks(u *store.User, name string) wire.Links {
	self := a.userHref(u.EnvironmentID, u.ID)
	return wire.Links{"self": {Href: self + "/" + name}, "user": {Href: self}}
}

func (a *API) renderEnabled(u *store.User) wire.UserEnabled {
	return wire.UserEnabled{Links: a.subLinks(u, "enabled"), Enabled: u.Enabled}
}

func (a *API) renderUserPopulation(u *store.User) wire.UserPopulation {
	links := a.subLinks(u, "population")
	links["population"] = wire.Href{Href: a.APIPath + "/environments/" + u.EnvironmentID + "/populations/" + u.PopulationID}
	return wire.UserPopulation{Links: links, ID: u.PopulationID}
}

func (a *API) putUserPopulation(w http.ResponseWriter, r *http.Request) error {
	env, scope, err := a.userScope(r, roles.WriteUser)
	if err != nil {
		return err
	}
	var req wire.UserPopulationRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.ID == nil || *req.ID == "" {
		return wire.InvalidData(wire.Required("id"))
	}
	u, err := a.modifyUser(r, env, scope, func(tx store.Store, u *store.User) error {
		id, err := identity.ResolvePopulation(r.Context(), tx, env.ID, *req.ID)
		if errors.Is(err, identity.ErrNoPopulation) {
			return wire.InvalidData(wire.InvalidValue("id", "The population does not exist in this environment."))
		}
		u.PopulationID = id
		return err
	})
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, a.renderUserPopulation(u))
	return nil
}

func (a *API) renderMFAEnabled(u *store.User) wire.UserMFAEnabled {
	return wire.UserMFAEnabled{Links: a.subLinks(u, "mfaEnabled"), MFAEnabled: u.MFAEnabled}
}

// getUserPart serves the read of a user sub-resource (enabled,
// population, mfaEnabled).
func getUserPart[R any](a *API, render func(*store.User) R) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		env, _, err := a.userScope(r, roles.ReadUser)
		if err != nil {
			return err
		}
		u, err := a.Store.GetUser(r.Context(), env.ID, r.PathValue("userID"))
		if err != nil {
			return err
		}
		wire.Write(w, http.StatusOK, render(u))
		return nil
	}
}

// putUserFlag serves PUT of a one-boolean sub-resource ({"enabled": …},
// {"mfaEnabled": …}). Other members (the _links the SDK echoes) are ignored.
func putUserFlag[R any](a *API, name string, set func(*store.User, bool), render func(*store.User) R) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		env, scope, err := a.userScope(r, roles.WriteUser)
		if err != nil {
			return err
		}
		var req map[string]json.RawMessage
		if err := decode(r, &req); err != nil {
			return err
		}
		raw, ok := req[name]
		if !ok || string(raw) == "null" {
			return wire.InvalidData(wire.Required(name))
		}
		var v bool
		if err := json.Unmarshal(raw, &v); err != nil {
			return wire.InvalidRequest(wire.InvalidValue(name, "Invalid value for attribute: expected a boolean."))
		}
		u, err := a.modifyUser(r, env, scope, func(_ store.Store, u *store.User) error {
			set(u, v)
			return nil
		})
		if err != nil {
			return err
		}
		wire.Write(w, http.StatusOK, render(u))
		return nil
	}
}
