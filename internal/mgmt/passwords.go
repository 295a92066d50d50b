package mgmt

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/password"
	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Password media types. PingOne's SDK sends POST …/password with two
// Content-Type values (application/json and one of these); contentType
// picks the vendor one.
const (
	ctPasswordSet   = "application/vnd.pingidentity.password.set+json"
	ctPasswordReset = "application/vnd.pingidentity.password.reset+json"
	ctPasswordCheck = "application/vnd.pingidentity.password.check+json"
	// PingOne writes it password.forceChange; media types compare without
	// case, and contentType sees them lower-cased.
	ctPasswordForceChange = "application/vnd.pingidentity.password.forcechange"
)

// detailLockedPw is the detail code of a check refused because the
// password is locked.
const detailLockedPw = "PASSWORD_LOCKED_OUT"

// maxPasswordBytes bounds what is hashed: a password policy allows at most
// 255 characters, and hashing megabytes would be a cheap way to burn CPU.
const maxPasswordBytes = 1024

func (a *API) passwordRoutes(mux router, user string) {
	mux.Handle("GET "+user+"/password", a.handle(a.getPassword))
	mux.Handle("PUT "+user+"/password", a.handle(a.putPassword))
	mux.Handle("POST "+user+"/password", a.handle(a.postPassword))
}

// policyError is PingOne's answer to a password its policy rejects: one
// INVALID_VALUE detail per failed rule, aimed at the field that carried the
// password.
func policyError(target string, vs []password.Violation) error {
	details := make([]wire.Detail, len(vs))
	for i, v := range vs {
		details[i] = wire.InvalidValue(target, v.Message)
	}
	return wire.InvalidData(details...)
}

func (a *API) renderPasswordState(ctx context.Context, acc *credential.Account, now time.Time, expand bool) (wire.PasswordState, error) {
	u, pw, pp := acc.User, acc.Password, acc.PolicyRecord
	envHref := a.APIPath + "/environments/" + u.EnvironmentID
	userHref := a.userHref(u.EnvironmentID, u.ID)
	self := userHref + "/password"
	out := wire.PasswordState{
		Links: wire.Links{"self": {Href: self}, "environment": {Href: envHref}, "user": {Href: userHref},
			"password.check": {Href: self}, "password.reset": {Href: self}, "password.set": {Href: self}, "password.recover": {Href: self}},
		Environment: wire.Ref{ID: u.EnvironmentID}, User: wire.Ref{ID: u.ID}, Status: acc.Status(now),
	}
	if pp != nil {
		out.PasswordPolicy = &wire.Ref{ID: pp.ID}
		out.Links["passwordPolicy"] = wire.Href{Href: envHref + "/passwordPolicies/" + pp.ID}
	}
	if pw != nil {
		out.LastChangedAt = wire.TimePtr(pw.LastChangedAt)
		if pw.FailedCount > 0 {
			n := pw.FailedCount
			out.FailedLoginCount = &n
		}
		if credential.PasswordLocked(pw, now) {
			secs := credential.SecondsUntil(pw.LockedUntil, now)
			out.SecondsUntilUnlock = &secs
		}
	}
	if expand && pp != nil {
		counts, err := a.Store.CountPopulationsByPasswordPolicy(ctx, u.EnvironmentID)
		if err != nil {
			return out, err
		}
		pol, err := config.DecodePasswordPolicy(pp)
		if err != nil {
			return out, err
		}
		out.Embedded = map[string]any{"passwordPolicy": a.renderPasswordPolicy(pol, counts[pp.ID])}
	}
	return out, nil
}

// credentials is the password service, made from the API's store when the
// host set none.
func (a *API) credentials() *credential.Service {
	if a.Credentials != nil {
		return a.Credentials
	}
	return &credential.Service{Store: a.Store}
}

func (a *API) getPassword(w http.ResponseWriter, r *http.Request) error {
	env, _, err := a.userScope(r, roles.ReadUser)
	if err != nil {
		return err
	}
	expand := false
	if v := r.URL.Query().Get("expand"); v != "" {
		if v != "passwordPolicy" {
			return wire.InvalidRequest(wire.Detail{Code: wire.DetailInvalidValue, Target: "expand",
				Message: "Unsupported expand value.", InnerError: &wire.InnerError{AllowedValues: []string{"passwordPolicy"}}})
		}
		expand = true
	}
	acc, err := a.credentials().Load(r.Context(), a.Store, env.ID, r.PathValue("userID"))
	if err != nil {
		return err
	}
	out, err := a.renderPasswordState(r.Context(), acc, store.Now(), expand)
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, out)
	return nil
}

func (a *API) putPassword(w http.ResponseWriter, r *http.Request) error {
	env, _, err := a.userScope(r, roles.WriteUser)
	if err != nil {
		return err
	}
	switch contentType(r, []string{ctPasswordSet, ctPasswordReset}) {
	case ctPasswordSet:
		return a.setPassword(w, r, env)
	case ctPasswordReset:
		return a.resetPassword(w, r, env)
	}
	return wire.UnsupportedMediaType(r.Header.Get("Content-Type"))
}

func (a *API) postPassword(w http.ResponseWriter, r *http.Request) error {
	env, _, err := a.userScope(r, roles.WriteUser)
	if err != nil {
		return err
	}
	switch contentType(r, []string{ctPasswordCheck, ctPasswordForceChange, ctPasswordForceChange + "+json"}) {
	case ctPasswordCheck:
		return a.checkPassword(w, r, env)
	case ctPasswordForceChange, ctPasswordForceChange + "+json":
		return a.forceChangePassword(w, r, env)
	}
	return wire.UnsupportedMediaType(r.Header.Get("Content-Type"))
}

func (a *API) writePasswordState(w http.ResponseWriter, r *http.Request, env *store.Environment, userID string) error {
	acc, err := a.credentials().Load(r.Context(), a.Store, env.ID, userID)
	if err != nil {
		return err
	}
	out, err := a.renderPasswordState(r.Context(), acc, store.Now(), false)
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, out)
	return nil
}

// setPassword is an administrator's set: a cleartext value meets the
// policy unless bypassPolicy, a pre-encoded one is stored as it is.
func (a *API) setPassword(w http.ResponseWriter, r *http.Request, env *store.Environment) error {
	var req wire.PasswordSetRequest
	if err := decode(r, &req, ctPasswordSet); err != nil {
		return err
	}
	if req.Value == nil || *req.Value == "" {
		return wire.InvalidData(wire.Required("value"))
	}
	if len(*req.Value) > maxPasswordBytes {
		return wire.InvalidData(sizeLimit("value", maxPasswordBytes))
	}
	ctx := r.Context()
	now := store.Now()
	creds := a.credentials()
	acc, err := creds.Load(ctx, a.Store, env.ID, r.PathValue("userID"))
	if err != nil {
		return err
	}
	hash := *req.Value
	if !password.IsEncoded(hash) {
		if req.BypassPolicy == nil || !*req.BypassPolicy {
			vs, err := creds.CheckNew(ctx, acc, *req.Value, "", false, now)
			if err != nil {
				return err
			}
			if len(vs) > 0 {
				return policyError("value", vs)
			}
		}
		if hash, err = creds.Hash(ctx, *req.Value); err != nil {
			return err
		}
	}
	status := credential.StatusOK
	if req.ForceChange != nil && *req.ForceChange {
		status = credential.StatusMustChange
	}
	if _, err := creds.SetPassword(ctx, acc.User, hash, status, now); err != nil {
		return err
	}
	return a.writePasswordState(w, r, env, acc.User.ID)
}

// resetPassword is a self-service change when currentPassword is given
// (checked, counted as a failure when wrong, then the policy in full) and
// an administrator's reset otherwise (not checked against the policy, and
// the user must change it at next sign-on), as PingOne documents.
func (a *API) resetPassword(w http.ResponseWriter, r *http.Request, env *store.Environment) error {
	var req wire.PasswordResetRequest
	if err := decode(r, &req, ctPasswordReset); err != nil {
		return err
	}
	if req.NewPassword == nil || *req.NewPassword == "" {
		return wire.InvalidData(wire.Required("newPassword"))
	}
	if len(*req.NewPassword) > maxPasswordBytes {
		return wire.InvalidData(sizeLimit("newPassword", maxPasswordBytes))
	}
	ctx := r.Context()
	now := store.Now()
	creds := a.credentials()
	acc, err := creds.Load(ctx, a.Store, env.ID, r.PathValue("userID"))
	if err != nil {
		return err
	}
	status := credential.StatusMustChange
	if req.CurrentPassword != nil {
		if err := credential.SelfServiceAllowed(acc.User); err != nil {
			return credentialError(err, "", now)
		}
		if acc.Password != nil {
			if err := creds.Verify(ctx, acc, *req.CurrentPassword, now); err != nil {
				return credentialError(err, "currentPassword", now)
			}
		}
		vs, err := creds.CheckNew(ctx, acc, *req.NewPassword, *req.CurrentPassword, true, now)
		if err != nil {
			return err
		}
		if len(vs) > 0 {
			return policyError("newPassword", vs)
		}
		status = credential.StatusOK
	}
	hash, err := creds.Hash(ctx, *req.NewPassword)
	if err != nil {
		return err
	}
	if _, err := creds.SetPassword(ctx, acc.User, hash, status, now); err != nil {
		return err
	}
	return a.writePasswordState(w, r, env, acc.User.ID)
}

// credentialError turns the credential service's refusals into PingOne's
// answers; target is the field that carried the password.
func credentialError(err error, target string, now time.Time) error {
	var wrong *credential.WrongPasswordError
	var locked *credential.LockedError
	switch {
	case errors.Is(err, credential.ErrExternalUser):
		return wire.RequestFailed("Users who authenticate with an external identity provider cannot use password self-service.")
	case errors.Is(err, credential.ErrNoPassword):
		return wire.RequestFailed("The user has no password (status NO_PASSWORD).")
	case errors.As(err, &locked) && locked.JustLocked:
		return wire.InvalidData(wire.InvalidValue(target, fmt.Sprintf(
			"The password is not correct. Too many failed attempts: the password is locked for %d seconds.", locked.SecondsUntil(now))))
	case errors.As(err, &locked):
		return wire.InvalidData(wire.Detail{Code: detailLockedPw, Target: target,
			Message: fmt.Sprintf("The password is locked after too many failed attempts. It unlocks in %d seconds.", locked.SecondsUntil(now))})
	case errors.As(err, &wrong):
		msg := "The password is not correct."
		if wrong.Remaining >= 0 {
			msg += fmt.Sprintf(" %d attempt(s) remain before the password is locked.", wrong.Remaining)
		}
		return wire.InvalidData(wire.InvalidValue(target, msg))
	}
	return err
}

// checkPassword is password.check: 200 with the password state when the
// password is right (also when it must be changed or has expired), 400
// otherwise.
func (a *API) checkPassword(w http.ResponseWriter, r *http.Request, env *store.Environment) error {
	var req wire.PasswordCheckRequest
	if err := decode(r, &req, ctPasswordCheck); err != nil {
		return err
	}
	if req.Password == nil {
		return wire.InvalidData(wire.Required("password"))
	}
	ctx := r.Context()
	now := store.Now()
	creds := a.credentials()
	acc, err := creds.Load(ctx, a.Store, env.ID, r.PathValue("userID"))
	if err != nil {
		return err
	}
	if err := credential.SelfServiceAllowed(acc.User); err != nil {
		return credentialError(err, "", now)
	}
	if acc.Password == nil {
		return credentialError(credential.ErrNoPassword, "", now)
	}
	if len(*req.Password) > maxPasswordBytes {
		return wire.InvalidData(sizeLimit("password", maxPasswordBytes))
	}
	if err := creds.Verify(ctx, acc, *req.Password, now); err != nil {
		return credentialError(err, "password", now)
	}
	return a.writePasswordState(w, r, env, acc.User.ID)
}

// forceChangePassword makes the user change the password at next sign-on.
func (a *API) forceChangePassword(w http.ResponseWriter, r *http.Request, env *store.Environment) error {
	ctx := r.Context()
	err := a.Store.Tx(ctx, func(tx store.Store) error {
		u, err := tx.GetUser(ctx, env.ID, r.PathValue("userID"))
		if err != nil {
			return err
		}
		pw, err := tx.GetUserPassword(ctx, env.ID, u.ID)
		if errors.Is(err, store.ErrNotFound) {
			return credentialError(credential.ErrNoPassword, "", store.Now())
		}
		if err != nil {
			return err
		}
		pw.Status, pw.UpdatedAt = credential.StatusMustChange, store.Now()
		return tx.PutUserPassword(ctx, pw)
	})
	if err != nil {
		return err
	}
	return a.writePasswordState(w, r, env, r.PathValue("userID"))
}
