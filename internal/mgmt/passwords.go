package mgmt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

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

// Password statuses, as PingOne names them.
const (
	pwOK           = "OK"
	pwNone         = "NO_PASSWORD"
	pwMustChange   = "MUST_CHANGE_PASSWORD"
	pwExpired      = "PASSWORD_EXPIRED"
	pwLockedOut    = "PASSWORD_LOCKED_OUT"
	detailLockedPw = "PASSWORD_LOCKED_OUT"
)

// maxPasswordBytes bounds what is hashed: a password policy allows at most
// 255 characters, and hashing megabytes would be a cheap way to burn CPU.
const maxPasswordBytes = 1024

func (a *API) passwordRoutes(mux *http.ServeMux, user string) {
	mux.Handle("GET "+user+"/password", a.handle(a.getPassword))
	mux.Handle("PUT "+user+"/password", a.handle(a.putPassword))
	mux.Handle("POST "+user+"/password", a.handle(a.postPassword))
}

// effectivePolicy is the password policy that governs a population's users:
// its own, else the environment's default, else no rules at all.
func (a *API) effectivePolicy(ctx context.Context, st store.Store, envID, populationID string) (*store.PasswordPolicy, *password.Policy, error) {
	pp, err := st.EffectivePasswordPolicy(ctx, envID, populationID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &password.Policy{}, nil
	}
	if err != nil {
		return nil, nil, err
	}
	pol, err := password.ParsePolicy(pp.ID, pp.Data)
	if err != nil {
		return nil, nil, err
	}
	return pp, pol, nil
}

func userProfile(u *store.User) password.Profile {
	var d wire.UserData
	_ = json.Unmarshal(u.Data, &d)
	return password.Profile{Username: u.Username, Email: u.Email, GivenName: u.GivenName, FamilyName: u.FamilyName, Nickname: d.Nickname}
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

// passwordStatus is the status PingOne reports: a lockout wins, then a
// forced change, then expiry.
func passwordStatus(pw *store.UserPassword, pol *password.Policy, now time.Time) string {
	switch {
	case pw == nil:
		return pwNone
	case pwLocked(pw, now):
		return pwLockedOut
	case pw.Status == pwMustChange:
		return pwMustChange
	case pol.Expired(pw.LastChangedAt, now):
		return pwExpired
	}
	return pwOK
}

func pwLocked(pw *store.UserPassword, now time.Time) bool {
	return !pw.LockedUntil.IsZero() && pw.LockedUntil.After(now)
}

func (a *API) renderPasswordState(ctx context.Context, u *store.User, pw *store.UserPassword, pp *store.PasswordPolicy, pol *password.Policy,
	now time.Time, expand bool) (wire.PasswordState, error) {
	envHref := a.APIPath + "/environments/" + u.EnvironmentID
	userHref := a.userHref(u.EnvironmentID, u.ID)
	self := userHref + "/password"
	out := wire.PasswordState{
		Links: wire.Links{"self": {Href: self}, "environment": {Href: envHref}, "user": {Href: userHref},
			"password.check": {Href: self}, "password.reset": {Href: self}, "password.set": {Href: self}, "password.recover": {Href: self}},
		Environment: wire.Ref{ID: u.EnvironmentID}, User: wire.Ref{ID: u.ID}, Status: passwordStatus(pw, pol, now),
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
		if pwLocked(pw, now) {
			secs := secondsUntil(pw.LockedUntil, now)
			out.SecondsUntilUnlock = &secs
		}
	}
	if expand && pp != nil {
		counts, err := a.Store.CountPopulationsByPasswordPolicy(ctx, u.EnvironmentID)
		if err != nil {
			return out, err
		}
		out.Embedded = map[string]any{"passwordPolicy": a.renderPasswordPolicy(pp, counts[pp.ID])}
	}
	return out, nil
}

// userPassword loads the path's user, its password state (nil: none) and
// its policy.
func (a *API) userPassword(ctx context.Context, st store.Store, envID, userID string) (*store.User, *store.UserPassword, *store.PasswordPolicy, *password.Policy, error) {
	u, err := st.GetUser(ctx, envID, userID)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	pw, err := st.GetUserPassword(ctx, envID, userID)
	if errors.Is(err, store.ErrNotFound) {
		pw, err = nil, nil
	}
	if err != nil {
		return nil, nil, nil, nil, err
	}
	pp, pol, err := a.effectivePolicy(ctx, st, envID, u.PopulationID)
	return u, pw, pp, pol, err
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
	u, pw, pp, pol, err := a.userPassword(r.Context(), a.Store, env.ID, r.PathValue("userID"))
	if err != nil {
		return err
	}
	out, err := a.renderPasswordState(r.Context(), u, pw, pp, pol, store.Now(), expand)
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

// newPasswordCheck applies the policy to a new cleartext password: the
// rules on the password itself, minAgeDays for a self-service change that
// is not forced, and the history (which costs one hash per remembered
// password, so it runs last and only when the policy has the rule).
func (a *API) newPasswordCheck(ctx context.Context, u *store.User, cur *store.UserPassword, pol *password.Policy, value, current string,
	self bool, now time.Time) ([]password.Violation, error) {
	vs := pol.Check(value, userProfile(u), current)
	if self && cur != nil && cur.Status != pwMustChange && !pol.Expired(cur.LastChangedAt, now) {
		if v := pol.TooYoung(cur.LastChangedAt, now); v != nil {
			vs = append(vs, *v)
		}
	}
	if n := pol.HistoryCount(); n > 0 && cur != nil {
		hashes := []string{cur.Hash}
		for _, h := range keptHistory(cur.History, pol, now) {
			if len(hashes) == n {
				break
			}
			hashes = append(hashes, h.Hash)
		}
		used, err := password.Default.MatchesAny(ctx, value, hashes)
		if err != nil {
			return nil, err
		}
		if used {
			vs = append(vs, pol.HistoryViolation())
		}
	}
	return vs, nil
}

// keptHistory drops entries older than the policy's retention.
func keptHistory(h []store.PasswordHistoryEntry, pol *password.Policy, now time.Time) []store.PasswordHistoryEntry {
	keep := pol.HistoryRetention()
	var out []store.PasswordHistoryEntry
	for _, e := range h {
		if keep == 0 || now.Sub(e.ChangedAt) <= keep {
			out = append(out, e)
		}
	}
	return out
}

// storeNewPassword writes hash as the user's password in one transaction:
// the old one joins the history (as long as the policy remembers), failures
// and a password lockout end, and an account locked by that lockout opens.
func (a *API) storeNewPassword(ctx context.Context, u *store.User, hash, status string, now time.Time) (*store.UserPassword, error) {
	var pw *store.UserPassword
	err := a.Store.Tx(ctx, func(tx store.Store) error {
		// Every transaction locks the user before its password (on
		// PostgreSQL), so that two of them never wait on each other.
		u, err := tx.GetUser(ctx, u.EnvironmentID, u.ID)
		if err != nil {
			return err
		}
		cur, err := tx.GetUserPassword(ctx, u.EnvironmentID, u.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		_, pol, err := a.effectivePolicy(ctx, tx, u.EnvironmentID, u.PopulationID)
		if err != nil {
			return err
		}
		pw = &store.UserPassword{UserID: u.ID, EnvironmentID: u.EnvironmentID, Hash: hash, Status: status, LastChangedAt: now, UpdatedAt: now}
		if cur != nil {
			if n := pol.HistoryCount(); n > 1 {
				hist := append([]store.PasswordHistoryEntry{{Hash: cur.Hash, ChangedAt: cur.LastChangedAt}}, keptHistory(cur.History, pol, now)...)
				pw.History = hist[:min(len(hist), n-1)]
			}
		}
		if err := tx.PutUserPassword(ctx, pw); err != nil {
			return err
		}
		return openPasswordLockout(ctx, tx, u, now)
	})
	return pw, err
}

// openPasswordLockout unlocks an account that a password lockout locked
// (an administrator's lock, with no unlock time, stays).
func openPasswordLockout(ctx context.Context, tx store.Store, u *store.User, now time.Time) error {
	if u.AccountStatus != "LOCKED" || u.UnlockAt.IsZero() {
		return nil
	}
	u.AccountStatus, u.LockedAt, u.UnlockAt, u.UpdatedAt = "OK", time.Time{}, time.Time{}, now
	return tx.UpdateUserAccount(ctx, u.EnvironmentID, u.ID, u.AccountStatus, u.LockedAt, u.UnlockAt, now)
}

func (a *API) writePasswordState(w http.ResponseWriter, r *http.Request, env *store.Environment, userID string) error {
	u, pw, pp, pol, err := a.userPassword(r.Context(), a.Store, env.ID, userID)
	if err != nil {
		return err
	}
	out, err := a.renderPasswordState(r.Context(), u, pw, pp, pol, store.Now(), false)
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
	u, cur, _, pol, err := a.userPassword(ctx, a.Store, env.ID, r.PathValue("userID"))
	if err != nil {
		return err
	}
	hash := *req.Value
	if !password.IsEncoded(hash) {
		if req.BypassPolicy == nil || !*req.BypassPolicy {
			vs, err := a.newPasswordCheck(ctx, u, cur, pol, *req.Value, "", false, now)
			if err != nil {
				return err
			}
			if len(vs) > 0 {
				return policyError("value", vs)
			}
		}
		if hash, err = password.Default.Hash(ctx, *req.Value); err != nil {
			return err
		}
	}
	status := pwOK
	if req.ForceChange != nil && *req.ForceChange {
		status = pwMustChange
	}
	if _, err := a.storeNewPassword(ctx, u, hash, status, now); err != nil {
		return err
	}
	return a.writePasswordState(w, r, env, u.ID)
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
	u, cur, _, pol, err := a.userPassword(ctx, a.Store, env.ID, r.PathValue("userID"))
	if err != nil {
		return err
	}
	status := pwMustChange
	if req.CurrentPassword != nil {
		if err := selfServiceAllowed(u); err != nil {
			return err
		}
		if cur != nil {
			if err := a.verifyCounting(ctx, u, cur, pol, *req.CurrentPassword, "currentPassword", now); err != nil {
				return err
			}
		}
		vs, err := a.newPasswordCheck(ctx, u, cur, pol, *req.NewPassword, *req.CurrentPassword, true, now)
		if err != nil {
			return err
		}
		if len(vs) > 0 {
			return policyError("newPassword", vs)
		}
		status = pwOK
	}
	hash, err := password.Default.Hash(ctx, *req.NewPassword)
	if err != nil {
		return err
	}
	if _, err := a.storeNewPassword(ctx, u, hash, status, now); err != nil {
		return err
	}
	return a.writePasswordState(w, r, env, u.ID)
}

// selfServiceAllowed refuses password self-service to users of an external
// identity provider, as PingOne does.
func selfServiceAllowed(u *store.User) error {
	if u.IdentityProviderType != "PING_ONE" && u.IdentityProviderID != "" {
		return wire.RequestFailed("Users who authenticate with an external identity provider cannot use password self-service.")
	}
	return nil
}

func lockedOutError(target string, until, now time.Time) error {
	return wire.InvalidData(wire.Detail{Code: detailLockedPw, Target: target,
		Message: fmt.Sprintf("The password is locked after too many failed attempts. It unlocks in %d seconds.", secondsUntil(until, now))})
}

// verifyCounting checks plain against the user's password. A wrong one is
// counted atomically; the failure that reaches the policy's lockout count
// locks the password and the account until the lockout ends. A right one
// clears earlier failures.
func (a *API) verifyCounting(ctx context.Context, u *store.User, pw *store.UserPassword, pol *password.Policy, plain, target string, now time.Time) error {
	if pwLocked(pw, now) {
		return lockedOutError(target, pw.LockedUntil, now)
	}
	ok, err := password.Default.Verify(ctx, plain, pw.Hash)
	if errors.Is(err, password.ErrMalformed) {
		// A stored value that is not a hash Gatehouse knows matches nothing.
		ok, err = false, nil
	}
	if err != nil {
		return err
	}
	if ok {
		if pw.FailedCount == 0 && pw.LockedUntil.IsZero() && !(u.AccountStatus == "LOCKED" && !u.UnlockAt.IsZero()) {
			return nil // the common case writes nothing
		}
		return a.Store.Tx(ctx, func(tx store.Store) error {
			u, err := tx.GetUser(ctx, u.EnvironmentID, u.ID) // the user before the password, as everywhere
			if err != nil {
				return err
			}
			if err := tx.ClearPasswordFailures(ctx, u.EnvironmentID, u.ID); err != nil {
				return err
			}
			if u.UnlockAt.IsZero() || u.UnlockAt.After(now) {
				return nil
			}
			return openPasswordLockout(ctx, tx, u, now)
		})
	}
	lockAfter, lockFor := pol.LockoutAfter()
	var after *store.UserPassword
	err = a.Store.Tx(ctx, func(tx store.Store) error {
		u, err := tx.GetUser(ctx, u.EnvironmentID, u.ID) // the user before the password, as everywhere
		if err != nil {
			return err
		}
		if after, err = tx.RecordPasswordFailure(ctx, u.EnvironmentID, u.ID, lockAfter, lockFor, now); err != nil {
			return err
		}
		if pwLocked(after, now) && !accountLocked(u, now) {
			return tx.UpdateUserAccount(ctx, u.EnvironmentID, u.ID, "LOCKED", now, after.LockedUntil, now)
		}
		return nil
	})
	if err != nil {
		return err
	}
	msg := "The password is not correct."
	switch {
	case pwLocked(after, now):
		msg += fmt.Sprintf(" Too many failed attempts: the password is locked for %d seconds.", secondsUntil(after.LockedUntil, now))
	case lockAfter > 0:
		msg += fmt.Sprintf(" %d attempt(s) remain before the password is locked.", lockAfter-after.FailedCount)
	}
	return wire.InvalidData(wire.InvalidValue(target, msg))
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
	u, cur, _, pol, err := a.userPassword(ctx, a.Store, env.ID, r.PathValue("userID"))
	if err != nil {
		return err
	}
	if err := selfServiceAllowed(u); err != nil {
		return err
	}
	if cur == nil {
		return wire.RequestFailed("The user has no password (status NO_PASSWORD).")
	}
	if len(*req.Password) > maxPasswordBytes {
		return wire.InvalidData(sizeLimit("password", maxPasswordBytes))
	}
	if err := a.verifyCounting(ctx, u, cur, pol, *req.Password, "password", now); err != nil {
		return err
	}
	return a.writePasswordState(w, r, env, u.ID)
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
			return wire.RequestFailed("The user has no password (status NO_PASSWORD).")
		}
		if err != nil {
			return err
		}
		pw.Status, pw.UpdatedAt = pwMustChange, store.Now()
		return tx.PutUserPassword(ctx, pw)
	})
	if err != nil {
		return err
	}
	return a.writePasswordState(w, r, env, r.PathValue("userID"))
}
