// Package usernamepassword is the sign-on method of PingOne's LOGIN
// action: a username and a password (USERNAME_PASSWORD_REQUIRED, or
// PASSWORD_REQUIRED once the user is identified), and the password change
// a password that must change or has expired asks for. Wrong passwords
// count and lock per the password policy; a username that names no user
// is answered exactly as a wrong password for a real one. A flow fails
// after the engine's cap of failed checks.
package usernamepassword

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/telemetry"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Name keys the method's state in flows.
const Name = "password"

// Method is the username and password method.
type Method struct{}

// errFlowFailed ends an action whose failed check failed the flow: the
// answer is the flow, FAILED.
var errFlowFailed = errors.New("usernamepassword: the flow failed")

func (*Method) Name() string { return Name }

func (*Method) Statuses() []flow.Status {
	return []flow.Status{
		{Name: wire.StatusUsernamePasswordRequired, SignOn: true, AsksUsername: true},
		{Name: wire.StatusPasswordRequired, SignOn: true},
		{Name: wire.StatusMustChangePassword, Authenticated: true},
		{Name: wire.StatusPasswordExpired, Authenticated: true},
	}
}

func (*Method) Actions() []string {
	return []string{wire.ActionUsernamePasswordCheck, wire.ActionPasswordReset}
}

func (*Method) Begins() []string { return []string{"LOGIN"} }

// ChecksSecret: both actions check a password the user types.
func (*Method) ChecksSecret(string) bool { return true }

func (*Method) BeginStatus(*flow.PolicyAction) string { return wire.StatusUsernamePasswordRequired }

func (*Method) Offers(v *flow.View) []string {
	switch v.Status() {
	case wire.StatusUsernamePasswordRequired, wire.StatusPasswordRequired:
		return []string{wire.ActionUsernamePasswordCheck}
	case wire.StatusMustChangePassword, wire.StatusPasswordExpired:
		return []string{wire.ActionPasswordReset}
	}
	return nil
}

func (m *Method) Run(ctx context.Context, s *flow.Step, action string, body []byte) error {
	var err error
	if action == wire.ActionPasswordReset {
		err = m.reset(ctx, s, body)
	} else {
		err = m.check(ctx, s, body)
	}
	if errors.Is(err, errFlowFailed) {
		return nil
	}
	return err
}

// Embed shows the rules a new password must meet where one is typed.
func (*Method) Embed(ctx context.Context, v *flow.View, out *wire.FlowEmbedded) error {
	switch v.Status() {
	case wire.StatusMustChangePassword, wire.StatusPasswordExpired:
		pp, err := v.PasswordPolicy(ctx)
		out.PasswordPolicy = pp
		return err
	}
	return nil
}

// check is usernamePassword.check.
func (m *Method) check(ctx context.Context, s *flow.Step, body []byte) error {
	bound := s.Identified()
	required := []string{"username", "password"}
	if bound {
		required = required[1:] // the user is known: a password will do
	}
	req, err := flow.Fields(body, required, "username")
	if err != nil {
		return err
	}
	username := strings.TrimSpace(req["username"])
	a, err := s.Account(ctx, username)
	if err != nil {
		return err
	}
	if bound && username != "" {
		if err := SameUser(s, a, username); err != nil {
			return err
		}
	}
	if username == "" {
		username = s.Identifier()
	}
	if err := m.verify(ctx, s, a, username, req["password"], "password"); err != nil {
		return err
	}
	return Accept(ctx, s, a)
}

// SameUser checks that a username sent to a flow that already knows its
// user names that user.
func SameUser(s *flow.Step, a *credential.Account, username string) error {
	known := s.Identifier()
	if a != nil {
		known = a.User.Username
	}
	if !strings.EqualFold(known, username) {
		return wire.InvalidData(wire.InvalidValue("username", "The username does not match the user this flow is signing on."))
	}
	return nil
}

// Accept moves on after a right password: a forced change or an expired
// password first, then whatever the sign-on still needs (the methods that
// hold it), then it completes.
func Accept(ctx context.Context, s *flow.Step, a *credential.Account) error {
	u := a.User
	if !u.Enabled {
		return wire.InvalidData(wire.Detail{Code: wire.DetailInvalidCredentials, Target: "password", Message: "The user account is disabled."})
	}
	if credential.AccountLocked(u, s.Now) {
		return wire.InvalidData(wire.Detail{Code: "ACCOUNT_LOCKED", Target: "username", Message: "The user account is locked. An administrator must unlock it."})
	}
	s.Flow.UserID = u.ID
	switch credential.Status(a.Password, a.Policy, s.Now) {
	case credential.StatusMustChange:
		s.SetStatus(wire.StatusMustChangePassword)
		return s.Save(ctx)
	case credential.StatusExpired:
		s.SetStatus(wire.StatusPasswordExpired)
		return s.Save(ctx)
	}
	return s.Authenticated(ctx, u, "pwd")
}

// reset is password.reset: the current password and a new one.
func (m *Method) reset(ctx context.Context, s *flow.Step, body []byte) error {
	req, err := flow.Fields(body, []string{"currentPassword", "newPassword"})
	if err != nil {
		return err
	}
	a, err := s.UserAccount(ctx)
	if err != nil {
		return err
	}
	if err := m.verify(ctx, s, a, a.User.Username, req["currentPassword"], "currentPassword"); err != nil {
		return err
	}
	return SetNew(ctx, s, a, req["newPassword"], req["currentPassword"], true)
}

// SetNew checks and stores a new password for the flow's user, then
// accepts it as a right password: recovery and password.reset end here.
// current and self are the password being replaced and whether the user
// is the one changing it (the policy's rules on both).
func SetNew(ctx context.Context, s *flow.Step, a *credential.Account, plain, current string, self bool) error {
	creds := s.Engine().Credentials
	vs, err := creds.CheckNew(ctx, a, plain, current, self, s.Now)
	if err != nil {
		return err
	}
	if len(vs) > 0 {
		return flow.PasswordRejected("newPassword", vs)
	}
	hash, err := creds.Hash(ctx, plain)
	if err != nil {
		return err
	}
	if _, err := creds.SetPassword(ctx, a.User, hash, credential.StatusOK, s.Now); err != nil {
		return err
	}
	s.Record(ctx, flow.Outcome{Type: audit.PasswordReset, User: a.User})
	a, err = creds.Load(ctx, s.Engine().Store, a.User.EnvironmentID, a.User.ID)
	if err != nil {
		return err
	}
	return Accept(ctx, s, a)
}

// verify checks a password the way usernamePassword.check and
// password.reset do; target names the field in errors, username is the
// name the user gave (it keys the count when a names no one, which is
// answered as a wrong password for a real user: see
// credential.VerifyUnknown).
func (m *Method) verify(ctx context.Context, s *flow.Step, a *credential.Account, username, plain, target string) error {
	// A failed attempt counts toward the flow's cap, and it is activity:
	// it slides the flow's expiry (for every username alike, else the
	// expiresAt a later GET shows would tell which usernames exist). The
	// flow is saved in the transaction that counts a wrong password.
	failed, saved := false, false
	save := func(tx store.Store) error {
		failed, saved = s.PasswordFailed(), true
		return s.SaveIn(ctx, tx)
	}
	creds := s.Engine().Credentials
	var err error
	if a == nil || a.Password == nil {
		err = creds.VerifyUnknown(ctx, s.Flow.EnvironmentID, strings.TrimSpace(username), plain, s.Now, save)
	} else {
		err = creds.Verify(ctx, a, plain, s.Now, save)
	}
	var wrong *credential.WrongPasswordError
	var locked *credential.LockedError
	if !errors.As(err, &wrong) && !errors.As(err, &locked) {
		if err == nil && a != nil {
			s.Record(ctx, flow.Outcome{Type: audit.PasswordCheckSucceeded, Method: flow.MetricPassword, Result: flow.ResultSuccess, User: a.User})
		}
		return err
	}
	recordFailure(ctx, s, a, username, locked)
	if !saved { // locked already: nothing was counted, the flow is saved alone
		if err := save(s.Engine().Store); err != nil {
			return err
		}
	}
	switch {
	case failed:
		return errFlowFailed
	case wrong != nil:
		if target == "password" {
			return invalidCredentials(wrong.Remaining)
		}
		return wire.InvalidData(wire.InvalidValue(target, "The current password is not correct."))
	}
	return lockedOut(target, locked.Until, s.Now)
}

// recordFailure records a refused password: wrong, or locked (by this
// attempt or before it).
func recordFailure(ctx context.Context, s *flow.Step, a *credential.Account, username string, locked *credential.LockedError) {
	o := flow.Outcome{Type: audit.PasswordCheckFailed, Method: flow.MetricPassword, Result: flow.ResultFailure,
		Failure: "The username or password is not correct."}
	if a != nil {
		o.User = a.User
	} else {
		o.Username = strings.TrimSpace(username)
	}
	if locked != nil {
		o.Result, o.Failure = flow.ResultLocked, "The password is locked."
	}
	s.Record(ctx, o)
	if locked != nil && locked.JustLocked && a != nil {
		telemetry.Lockouts.WithLabelValues(flow.MetricPassword).Inc()
		s.Record(ctx, flow.Outcome{Type: audit.UserLocked, User: a.User})
	}
}

func invalidCredentials(remaining int) error {
	d := wire.Detail{Code: wire.DetailInvalidCredentials, Target: "password", Message: "The username or password is not correct."}
	if remaining >= 0 {
		d.InnerError = &wire.InnerError{FailuresRemaining: &remaining}
		d.Message += fmt.Sprintf(" %d attempt(s) remain before the password is locked.", remaining)
	}
	return wire.InvalidData(d)
}

func lockedOut(target string, until, now time.Time) error {
	secs := max(credential.SecondsUntil(until, now), 1)
	return wire.InvalidData(wire.Detail{Code: wire.DetailPasswordLockedOut, Target: target,
		Message:    fmt.Sprintf("Too many failed attempts: the password is locked. Try again in %d seconds.", secs),
		InnerError: &wire.InnerError{SecondsUntilUnlock: &secs}})
}
