package flow

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/identity"
	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/password"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// maxPasswordBytes bounds what is hashed (a policy allows 255 characters).
const maxPasswordBytes = 1024

// Detail codes of sign-on errors, as PingOne's clients match on them.
const (
	DetailInvalidCredentials = "INVALID_CREDENTIALS"
	DetailPasswordLockedOut  = "PASSWORD_LOCKED_OUT"
)

// step is one action's run: the flow and its state, loaded and checked.
type step struct {
	e   *Engine
	f   *store.Flow
	st  *state
	now time.Time
	// token is set when the step signed the user on: the new ST value.
	token string
}

// Step runs an action on a flow loaded by Load. It returns the new ST
// cookie value when the step signed the user on ("" otherwise).
func (e *Engine) Step(ctx context.Context, f *store.Flow, act string, body []byte) (string, error) {
	st, err := decodeState(f)
	if err != nil {
		return "", err
	}
	ok := false
	for _, a := range allowed(f.Status, st.action()) {
		ok = ok || a == act
	}
	if !ok {
		return "", notAllowed(act, f.Status, allowed(f.Status, st.action()))
	}
	s := &step{e: e, f: f, st: st, now: e.now()}
	err = actions[act](s, ctx, body)
	return s.token, err
}

// actions runs each action; allowed has already checked the status.
var actions = map[string]func(*step, context.Context, []byte) error{
	ActionUsernamePasswordCheck:    (*step).usernamePasswordCheck,
	ActionUserLookup:               (*step).userLookup,
	ActionSessionReset:             (*step).sessionReset,
	ActionPasswordForgot:           (*step).passwordForgot,
	ActionPasswordSendRecoveryCode: (*step).sendRecoveryCode,
	ActionPasswordRecover:          (*step).passwordRecover,
	ActionPasswordReset:            (*step).passwordReset,
	ActionUserRegister:             (*step).userRegister,
	ActionUserVerify:               (*step).userVerify,
	ActionUserSendVerificationCode: (*step).sendVerificationCode,
}

func notAllowed(act, status string, ok []string) error {
	types := make([]string, len(ok))
	for i, a := range ok {
		types[i] = MediaType(a)
	}
	d := wire.Detail{Code: wire.DetailInvalidValue, Target: "Content-Type",
		Message: fmt.Sprintf("The action %s is not allowed when the flow status is %s.", act, status)}
	if len(ok) == 0 {
		// No allowedValues to list: an empty innerError object would only
		// puzzle clients.
		d.Message = fmt.Sprintf("The flow status is %s: it takes no more actions.", status)
	} else {
		d.InnerError = &wire.InnerError{AllowedValues: types}
	}
	return wire.InvalidRequest(d)
}

// decodeBody reads an action's JSON object.
func decodeBody(body []byte, v any) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		body = []byte("{}")
	}
	// A NUL reaches no query: PostgreSQL refuses it in text, and that
	// must be the client's 400, not a 500.
	if bytes.IndexByte(body, 0) >= 0 || bytes.Contains(body, []byte(`\u0000`)) {
		return wire.InvalidData(wire.Detail{Code: wire.DetailInvalidValue, Message: "The request body must not contain NUL characters."})
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil || dec.More() {
		return wire.InvalidRequest(wire.Detail{Code: wire.DetailInvalidValue, Message: "The request body must be a JSON object."})
	}
	return nil
}

func requireField(target string, v *string) *wire.Detail {
	if v == nil || *v == "" {
		d := wire.Required(target)
		return &d
	}
	return nil
}

func requireAll(fields map[string]*string, order ...string) error {
	var ds []wire.Detail
	for _, k := range order {
		if d := requireField(k, fields[k]); d != nil {
			ds = append(ds, *d)
		}
	}
	for _, k := range order {
		if v := fields[k]; v != nil && len(*v) > maxPasswordBytes {
			ds = append(ds, wire.Detail{Code: wire.DetailSizeLimit, Target: k, Message: fmt.Sprintf("%s is longer than %d bytes.", k, maxPasswordBytes)})
		}
	}
	if len(ds) > 0 {
		return wire.InvalidData(ds...)
	}
	return nil
}

// save writes the flow's state and status and slides its expiry.
func (s *step) save(ctx context.Context, st store.Store) error {
	b, err := json.Marshal(s.st)
	if err != nil {
		return err
	}
	s.f.Data, s.f.UpdatedAt, s.f.ExpiresAt = b, s.now, s.now.Add(FlowIdle)
	err = st.UpdateFlow(ctx, s.f)
	if errors.Is(err, store.ErrConflict) {
		return wire.RequestFailed("The flow changed while this request ran: read it again and retry.")
	}
	if errors.Is(err, store.ErrNotFound) {
		return ErrFlowNotFound
	}
	return err
}

func invalidCredentials(remaining int) error {
	d := wire.Detail{Code: DetailInvalidCredentials, Target: "password", Message: "The username or password is not correct."}
	if remaining >= 0 {
		d.InnerError = &wire.InnerError{FailuresRemaining: &remaining}
		d.Message += fmt.Sprintf(" %d attempt(s) remain before the password is locked.", remaining)
	}
	return wire.InvalidData(d)
}

func lockedOut(target string, until, now time.Time) error {
	secs := max(credential.SecondsUntil(until, now), 1)
	return wire.InvalidData(wire.Detail{Code: DetailPasswordLockedOut, Target: target,
		Message:    fmt.Sprintf("Too many failed attempts: the password is locked. Try again in %d seconds.", secs),
		InnerError: &wire.InnerError{SecondsUntilUnlock: &secs}})
}

// account loads the flow's user, or the user named username; nil when
// there is none (the caller then acts as if there were).
func (s *step) account(ctx context.Context, username string) (*credential.Account, error) {
	var a *credential.Account
	var err error
	switch {
	case s.f.UserID != "":
		a, err = s.e.Credentials.Load(ctx, s.e.Store, s.f.EnvironmentID, s.f.UserID)
	case username != "":
		a, err = s.e.Credentials.LoadByUsername(ctx, s.f.EnvironmentID, username)
	default:
		return nil, nil
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return a, err
}

// verifyPassword checks a password the way usernamePassword.check and
// password.reset do; target names the field in errors, username is the
// name the user gave (it keys the count when a names no one).
func (s *step) verifyPassword(ctx context.Context, a *credential.Account, username, plain, target string) error {
	if a == nil || a.Password == nil {
		return s.phantomFailure(ctx, username, target)
	}
	err := s.e.Credentials.Verify(ctx, a, plain, s.now)
	var wrong *credential.WrongPasswordError
	var locked *credential.LockedError
	if errors.As(err, &wrong) || errors.As(err, &locked) {
		// A failed attempt is activity: it slides the flow's expiry, as a
		// phantom failure (which must save its count) does. Otherwise the
		// expiresAt a later GET shows would tell which usernames exist.
		if err := s.save(ctx, s.e.Store); err != nil {
			return err
		}
	}
	switch {
	case errors.As(err, &wrong):
		if target == "password" {
			return invalidCredentials(wrong.Remaining)
		}
		return wire.InvalidData(wire.InvalidValue(target, "The current password is not correct."))
	case errors.As(err, &locked):
		return lockedOut(target, locked.Until, s.now)
	}
	return err
}

// phantomFailure answers a password for a username that names no user (or
// a user without a password) exactly as a wrong one: the same hashing
// time, and a failure count in the flow, per username as a real user's is
// per user, that locks like the environment's default password policy
// would.
func (s *step) phantomFailure(ctx context.Context, username, target string) error {
	if err := s.e.Credentials.VerifyUnknown(ctx); err != nil {
		return err
	}
	_, pol, err := s.e.Credentials.EffectivePolicy(ctx, s.e.Store, s.f.EnvironmentID, "")
	if err != nil {
		return err
	}
	after, lockFor := pol.LockoutAfter()
	p := s.st.phantom(strings.ToLower(username), s.now)
	if p.LockedUntil > s.now.UnixMilli() {
		// Saved like a real user's locked attempt: see verifyPassword.
		if err := s.save(ctx, s.e.Store); err != nil {
			return err
		}
		return lockedOut(target, time.UnixMilli(p.LockedUntil), s.now)
	}
	if p.LockedUntil != 0 {
		// A lock that has run out starts a fresh count, as the store's does.
		p.Failures, p.LockedUntil = 0, 0
	}
	p.Failures++
	remaining := -1
	if after > 0 {
		remaining = after - p.Failures
		if remaining <= 0 {
			p.LockedUntil = s.now.Add(lockFor).UnixMilli()
		}
	}
	if err := s.save(ctx, s.e.Store); err != nil {
		return err
	}
	if after > 0 && remaining <= 0 {
		return lockedOut(target, s.now.Add(lockFor), s.now)
	}
	if target != "password" {
		return wire.InvalidData(wire.InvalidValue(target, "The current password is not correct."))
	}
	return invalidCredentials(remaining)
}

func (s *step) usernamePasswordCheck(ctx context.Context, body []byte) error {
	var req struct {
		Username *string `json:"username"`
		Password *string `json:"password"`
	}
	if err := decodeBody(body, &req); err != nil {
		return err
	}
	fields := map[string]*string{"username": req.Username, "password": req.Password}
	order := []string{"username", "password"}
	bound := s.f.UserID != "" || s.st.Username != ""
	if bound {
		order = []string{"password"} // PASSWORD_REQUIRED: the user is known
	}
	if err := requireAll(fields, order...); err != nil {
		return err
	}
	username := ""
	if req.Username != nil {
		username = strings.TrimSpace(*req.Username)
	}
	a, err := s.account(ctx, username)
	if err != nil {
		return err
	}
	if bound && username != "" {
		// A username sent with a bound user must name that user.
		known := s.st.Username
		if a != nil {
			known = a.User.Username
		}
		if !strings.EqualFold(known, username) {
			return wire.InvalidData(wire.InvalidValue("username", "The username does not match the user this flow is signing on."))
		}
	}
	if username == "" {
		username = s.st.Username
	}
	if err := s.verifyPassword(ctx, a, username, *req.Password, "password"); err != nil {
		return err
	}
	return s.passwordAccepted(ctx, a)
}

// passwordAccepted moves on after a right password: a forced change or an
// expired password first, then verification of a new account, then the
// sign-on completes.
func (s *step) passwordAccepted(ctx context.Context, a *credential.Account) error {
	u := a.User
	if !u.Enabled {
		return wire.InvalidData(wire.Detail{Code: DetailInvalidCredentials, Target: "password", Message: "The user account is disabled."})
	}
	if credential.AccountLocked(u, s.now) {
		return wire.InvalidData(wire.Detail{Code: "ACCOUNT_LOCKED", Target: "username", Message: "The user account is locked. An administrator must unlock it."})
	}
	s.f.UserID = u.ID
	switch credential.Status(a.Password, a.Policy, s.now) {
	case credential.StatusMustChange:
		s.f.Status = StatusMustChangePassword
		return s.save(ctx, s.e.Store)
	case credential.StatusExpired:
		s.f.Status = StatusPasswordExpired
		return s.save(ctx, s.e.Store)
	}
	if u.LifecycleStatus == "VERIFICATION_REQUIRED" && u.Email != "" {
		if err := s.sendCode(ctx, u, "verification"); err != nil {
			return err
		}
		s.f.Status = StatusVerificationCodeRequired
		return s.save(ctx, s.e.Store)
	}
	if s.st.Pending != nil {
		// ACCOUNT_LINKING_REQUIRED: the password proved the local account;
		// the external identity is linked to it as the sign-on completes.
		p := *s.st.Pending
		return s.complete(ctx, u, []string{"pwd", "fed"}, func(tx store.Store) error {
			if err := tx.CreateLinkedAccount(ctx, &store.LinkedAccount{ID: uuid.NewString(), EnvironmentID: u.EnvironmentID, UserID: u.ID,
				IdentityProviderID: p.ProviderID, ExternalID: p.Subject, CreatedAt: s.now, UpdatedAt: s.now}); err != nil {
				var ue *store.UniqueError
				if errors.As(err, &ue) {
					return wire.RequestFailed("The external account was linked to a user while this sign-on ran: sign on again.")
				}
				return err
			}
			return applyAttributes(ctx, tx, u.EnvironmentID, u.ID, p.Attributes, s.now)
		})
	}
	return s.complete(ctx, u, []string{"pwd"}, nil)
}

// complete signs the user on: the browser's session is renewed for this
// user (or replaced when it was another user's), its token rotates, and the
// flow moves past the actions the new sign-on satisfies.
// also, when set, runs in the same transaction.
func (s *step) complete(ctx context.Context, u *store.User, methods []string, also func(tx store.Store) error) error {
	var token string
	err := s.e.Store.Tx(ctx, func(tx store.Store) error {
		if also != nil {
			if err := also(tx); err != nil {
				return err
			}
		}
		sess, tok, err := session.SignOn(ctx, tx, s.f.EnvironmentID, s.f.Binding, u.ID, methods, s.now)
		if err != nil {
			return err
		}
		token = tok
		s.st.AuthTime, s.st.AMR = s.now.Unix(), methods
		s.st.Step++
		s.f.Status = s.e.firstStatus(s.st, sess, s.now)
		s.f.UserID, s.f.SessionID, s.f.Binding = u.ID, sess.ID, sess.TokenHash
		s.st.Recovery, s.st.Verification, s.st.Username, s.st.Pending, s.st.External = nil, nil, "", nil, nil
		return s.save(ctx, tx)
	})
	if err != nil {
		return err
	}
	s.token = token
	return nil
}

func (s *step) userLookup(ctx context.Context, body []byte) error {
	var req struct {
		Username *string `json:"username"`
	}
	if err := decodeBody(body, &req); err != nil {
		return err
	}
	if err := requireAll(map[string]*string{"username": req.Username}, "username"); err != nil {
		return err
	}
	username := strings.TrimSpace(*req.Username)
	a, err := s.account(ctx, username)
	if err != nil {
		return err
	}
	s.st.Username = username
	if a != nil {
		s.f.UserID = a.User.ID
	}
	s.f.Status = StatusPasswordRequired
	return s.save(ctx, s.e.Store)
}

func (s *step) sessionReset(ctx context.Context, body []byte) error {
	var req map[string]any
	if err := decodeBody(body, &req); err != nil {
		return err
	}
	s.st.Step, s.st.Username, s.st.Recovery, s.st.Verification, s.st.Pending, s.st.External = 0, "", nil, nil, nil, nil
	s.st.ForceAuth = true
	s.f.UserID = ""
	s.f.Status = s.e.firstStatus(s.st, nil, s.now)
	return s.save(ctx, s.e.Store)
}

// ---- recovery and verification codes

// newCode is an 8-digit one-time code.
func newCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(100_000_000))
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf("%08d", n.Int64())
}

func (s *step) codeHash(kind, code string) string {
	return session.HashToken(s.f.ID + ":" + kind + ":" + code)
}

// sendCode makes a code of kind (recovery or verification) for u, keeps
// its hash in the flow and sends it. With no user (a username that names
// none) it keeps a hash that no code matches and sends nothing.
func (s *step) sendCode(ctx context.Context, u *store.User, kind string) error {
	code := newCode()
	cs := &codeState{Hash: s.codeHash(kind, code), ExpiresAt: s.now.Add(CodeLifetime).UnixMilli()}
	if u == nil || u.Email == "" {
		cs.Hash = session.HashToken(secrets.Random(32))
	} else if s.e.Notifier != nil {
		msg := notify.Message{Kind: kind, To: u.Email, EnvironmentID: u.EnvironmentID, UserID: u.ID, Code: code}
		if kind == "recovery" {
			msg.Subject = "Your password recovery code"
			msg.Text = fmt.Sprintf("Hello %s,\n\nYour password recovery code is %s. It expires in %d minutes.\n", u.Username, code, int(CodeLifetime.Minutes()))
		} else {
			msg.Subject = "Verify your email address"
			msg.Text = fmt.Sprintf("Hello %s,\n\nYour verification code is %s. It expires in %d minutes.\n", u.Username, code, int(CodeLifetime.Minutes()))
		}
		if err := s.e.Notifier.Notify(ctx, msg); err != nil {
			s.e.log().ErrorContext(ctx, "sending a code failed", "kind", kind, "user", u.ID, "err", err)
			return &wire.Error{Status: 503, Code: "SERVICE_UNAVAILABLE", Message: "The code could not be sent. Try again later."}
		}
	}
	if kind == "recovery" {
		s.st.Recovery = cs
	} else {
		s.st.Verification = cs
	}
	return nil
}

// checkCode compares a code with the flow's; a wrong one counts, and the
// fifth voids the code.
func (s *step) checkCode(ctx context.Context, cs *codeState, kind, code, target string) error {
	if cs == nil || cs.Attempts >= maxCodeAttempts || s.now.UnixMilli() >= cs.ExpiresAt {
		return wire.InvalidData(wire.InvalidValue(target, "The code has expired or was used too many times: send a new one."))
	}
	// The attempt is counted, and saved with the flow's version check,
	// before the code is compared: of guesses sent in parallel only the
	// one whose save wins is compared at all.
	cs.Attempts++
	if err := s.save(ctx, s.e.Store); err != nil {
		return err
	}
	if secrets.Equal(cs.Hash, s.codeHash(kind, code)) {
		return nil
	}
	return wire.InvalidData(wire.InvalidValue(target, fmt.Sprintf("The code is not correct. %d attempt(s) remain.", maxCodeAttempts-cs.Attempts)))
}

func (s *step) passwordForgot(ctx context.Context, body []byte) error {
	var req struct {
		Username *string `json:"username"`
	}
	if err := decodeBody(body, &req); err != nil {
		return err
	}
	username := ""
	if req.Username != nil {
		username = strings.TrimSpace(*req.Username)
	}
	bound := s.f.UserID != "" || s.st.Username != ""
	if username == "" && !bound {
		return wire.InvalidData(wire.Required("username"))
	}
	typed := username
	if username == "" {
		username = s.st.Username
	}
	a, err := s.account(ctx, username)
	if err != nil {
		return err
	}
	if bound && typed != "" {
		// As in usernamePassword.check: a username sent with a bound user
		// must name that user (account loads the bound one regardless).
		known := s.st.Username
		if a != nil {
			known = a.User.Username
		}
		if !strings.EqualFold(known, typed) {
			return wire.InvalidData(wire.InvalidValue("username", "The username does not match the user this flow is signing on."))
		}
	}
	var u *store.User
	if a != nil && a.User.IdentityProviderID == "" && a.User.Enabled {
		u = a.User
		s.f.UserID = u.ID
		if username == "" {
			username = u.Username
		}
	}
	s.st.Username = username
	if err := s.sendCode(ctx, u, "recovery"); err != nil {
		return err
	}
	s.f.Status = StatusRecoveryCodeRequired
	return s.save(ctx, s.e.Store)
}

func (s *step) sendRecoveryCode(ctx context.Context, body []byte) error {
	var req map[string]any
	if err := decodeBody(body, &req); err != nil {
		return err
	}
	a, err := s.account(ctx, "")
	if err != nil {
		return err
	}
	var u *store.User
	if a != nil {
		u = a.User
	}
	if err := s.sendCode(ctx, u, "recovery"); err != nil {
		return err
	}
	return s.save(ctx, s.e.Store)
}

// policyViolations is PingOne's answer to a new password the policy
// rejects: INVALID_VALUE on the field, the rules in unsatisfiedRequirements.
func policyViolations(target string, vs []password.Violation) error {
	rules := make([]string, 0, len(vs))
	msgs := make([]string, 0, len(vs))
	for _, v := range vs {
		if !slices.Contains(rules, v.Rule) {
			rules = append(rules, v.Rule)
		}
		msgs = append(msgs, v.Message)
	}
	return wire.InvalidData(wire.Detail{Code: wire.DetailInvalidValue, Target: target, Message: strings.Join(msgs, " "),
		InnerError: &wire.InnerError{UnsatisfiedRequirements: rules}})
}

// newPassword checks and stores a new password for the flow's user, then
// signs the user on.
func (s *step) newPassword(ctx context.Context, a *credential.Account, plain, current string, self bool) error {
	vs, err := s.e.Credentials.CheckNew(ctx, a, plain, current, self, s.now)
	if err != nil {
		return err
	}
	if len(vs) > 0 {
		return policyViolations("newPassword", vs)
	}
	hash, err := s.e.Credentials.Hash(ctx, plain)
	if err != nil {
		return err
	}
	if _, err := s.e.Credentials.SetPassword(ctx, a.User, hash, credential.StatusOK, s.now); err != nil {
		return err
	}
	a, err = s.e.Credentials.Load(ctx, s.e.Store, a.User.EnvironmentID, a.User.ID)
	if err != nil {
		return err
	}
	return s.passwordAccepted(ctx, a)
}

func (s *step) passwordRecover(ctx context.Context, body []byte) error {
	var req struct {
		RecoveryCode *string `json:"recoveryCode"`
		NewPassword  *string `json:"newPassword"`
	}
	if err := decodeBody(body, &req); err != nil {
		return err
	}
	if err := requireAll(map[string]*string{"recoveryCode": req.RecoveryCode, "newPassword": req.NewPassword}, "recoveryCode", "newPassword"); err != nil {
		return err
	}
	if err := s.checkCode(ctx, s.st.Recovery, "recovery", strings.TrimSpace(*req.RecoveryCode), "recoveryCode"); err != nil {
		return err
	}
	a, err := s.account(ctx, "")
	if err != nil {
		return err
	}
	if a == nil {
		// Unreachable: a phantom's code matches nothing.
		return ErrFlowNotFound
	}
	return s.newPassword(ctx, a, *req.NewPassword, "", false)
}

func (s *step) passwordReset(ctx context.Context, body []byte) error {
	var req struct {
		CurrentPassword *string `json:"currentPassword"`
		NewPassword     *string `json:"newPassword"`
	}
	if err := decodeBody(body, &req); err != nil {
		return err
	}
	if err := requireAll(map[string]*string{"currentPassword": req.CurrentPassword, "newPassword": req.NewPassword}, "currentPassword", "newPassword"); err != nil {
		return err
	}
	a, err := s.account(ctx, "")
	if err != nil {
		return err
	}
	if a == nil {
		return ErrFlowNotFound
	}
	if err := s.verifyPassword(ctx, a, a.User.Username, *req.CurrentPassword, "currentPassword"); err != nil {
		return err
	}
	return s.newPassword(ctx, a, *req.NewPassword, *req.CurrentPassword, true)
}

// ---- registration

func (s *step) userRegister(ctx context.Context, body []byte) error {
	var req struct {
		Username *string `json:"username"`
		Email    *string `json:"email"`
		Password *string `json:"password"`
		Name     *struct {
			Given  string `json:"given"`
			Family string `json:"family"`
		} `json:"name"`
	}
	if err := decodeBody(body, &req); err != nil {
		return err
	}
	if err := requireAll(map[string]*string{"username": req.Username, "email": req.Email, "password": req.Password}, "username", "email", "password"); err != nil {
		return err
	}
	reg := identity.Registration{Username: strings.TrimSpace(*req.Username), Email: strings.TrimSpace(*req.Email)}
	if req.Name != nil {
		reg.GivenName, reg.FamilyName = req.Name.Given, req.Name.Family
	}
	u, err := identity.Register(ctx, s.e.Store, s.f.EnvironmentID, s.st.action().RegisterPopulation, reg, s.now)
	if errors.Is(err, identity.ErrNoPopulation) {
		return wire.RequestFailed("Registration has no population to put new users in.")
	}
	if err != nil {
		return err
	}
	_, pol, err := s.e.Credentials.EffectivePolicy(ctx, s.e.Store, s.f.EnvironmentID, u.PopulationID)
	if err != nil {
		return err
	}
	vs, err := s.e.Credentials.CheckNew(ctx, &credential.Account{User: u, Policy: pol}, *req.Password, "", false, s.now)
	if err != nil {
		return err
	}
	if len(vs) > 0 {
		return policyViolations("password", vs)
	}
	hash, err := s.e.Credentials.Hash(ctx, *req.Password)
	if err != nil {
		return err
	}
	err = s.e.Store.Tx(ctx, func(tx store.Store) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return tx.PutUserPassword(ctx, &store.UserPassword{UserID: u.ID, EnvironmentID: u.EnvironmentID, Hash: hash, Status: credential.StatusOK,
			LastChangedAt: s.now, UpdatedAt: s.now})
	})
	var ue *store.UniqueError
	if errors.As(err, &ue) {
		return wire.InvalidData(wire.Detail{Code: wire.DetailUniqueness, Target: "username", Message: "The username is already in use."})
	}
	if err != nil {
		return err
	}
	s.f.UserID = u.ID
	if err := s.sendCode(ctx, u, "verification"); err != nil {
		return err
	}
	s.f.Status = StatusVerificationCodeRequired
	return s.save(ctx, s.e.Store)
}

func (s *step) userVerify(ctx context.Context, body []byte) error {
	var req struct {
		VerificationCode *string `json:"verificationCode"`
	}
	if err := decodeBody(body, &req); err != nil {
		return err
	}
	if err := requireAll(map[string]*string{"verificationCode": req.VerificationCode}, "verificationCode"); err != nil {
		return err
	}
	if err := s.checkCode(ctx, s.st.Verification, "verification", strings.TrimSpace(*req.VerificationCode), "verificationCode"); err != nil {
		return err
	}
	var u *store.User
	err := s.e.Store.Tx(ctx, func(tx store.Store) error {
		var err error
		if u, err = tx.GetUser(ctx, s.f.EnvironmentID, s.f.UserID); err != nil {
			return err
		}
		identity.EmailVerified(u, s.now)
		return tx.UpdateUser(ctx, u)
	})
	if errors.Is(err, store.ErrNotFound) {
		return ErrFlowNotFound
	}
	if err != nil {
		return err
	}
	return s.complete(ctx, u, []string{"pwd"}, nil)
}

func (s *step) sendVerificationCode(ctx context.Context, body []byte) error {
	var req map[string]any
	if err := decodeBody(body, &req); err != nil {
		return err
	}
	u, err := s.e.Store.GetUser(ctx, s.f.EnvironmentID, s.f.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return ErrFlowNotFound
	}
	if err != nil {
		return err
	}
	if err := s.sendCode(ctx, u, "verification"); err != nil {
		return err
	}
	return s.save(ctx, s.e.Store)
}
