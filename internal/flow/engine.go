// Package flow is PingOne's sign-on flow engine: a flow follows the
// actions of a sign-on policy, each run by a sign-on method (registered
// with Register; see Method), through the statuses the methods own. The
// engine picks the policy, starts flows, stores them with a version
// check, checks that an action (chosen by vendor media type) is allowed,
// signs the user on in the browser's session when the policy is
// satisfied, and renders the flow JSON clients read.
package flow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/access"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Engine runs flows.
type Engine struct {
	Store store.Store
	// Config serves the sign-on policies and applications a flow reads.
	Config      *config.Cache
	Credentials *credential.Service
	Notifier    notify.Notifier
	AuthPath    string // base URL, no trailing slash
	Cookies     session.Cookies
	Now         func() time.Time
	Log         *slog.Logger
	// Limits bound flows started and failed secret checks; nil is none.
	Limits *Limits
	// MaxPasswordAttempts caps the failed password checks of one flow
	// (wrong or locked, for known and unknown usernames alike): the one
	// that reaches it fails the flow. Each costs a password hash, so a
	// flow must not be a way to make unbounded guesses. 0 means
	// DefaultMaxPasswordAttempts; negative, no cap.
	MaxPasswordAttempts int
	// Audit records the outcome of every sign-on step (see audit.go); nil
	// records nothing.
	Audit audit.Recorder

	reg registry
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now().UTC().Truncate(time.Millisecond)
	}
	return store.Now()
}

// Logger is the engine's logger.
func (e *Engine) Logger() *slog.Logger {
	if e.Log != nil {
		return e.Log
	}
	return slog.Default()
}

// StartError is why authorize cannot start a flow: an OAuth error code
// and description, which authsvc redirects with or writes as JSON.
type StartError struct {
	Code        string // login_required, invalid_request, …
	Description string
}

func (e *StartError) Error() string { return e.Code + ": " + e.Description }

// Start is what authorize knows when it starts a flow.
type Start struct {
	Env     *store.Environment
	App     *store.Application
	Request Request
	// ACRValues are the policy names the client asked for, in order.
	ACRValues []string
	// Token is the browser's ST cookie value ("" when it has none).
	Token string
}

// Started is a new flow and the ST cookie value to set (the browser's own
// when it had one: the flow is bound to it).
type Started struct {
	Flow  *store.Flow
	Token string
}

// Start creates a flow for an authorize request. A live session that
// satisfies every action of the policy completes the flow at once.
func (e *Engine) Start(ctx context.Context, in Start) (*Started, error) {
	now := e.now()
	pols, err := e.Config.SignOnPolicies(ctx, in.Env.ID)
	if err != nil {
		return nil, err
	}
	pol, err := e.policy(ctx, pols, in.Env.ID, in.App.ID, in.ACRValues)
	if err != nil {
		return nil, err
	}
	// A damaged action fails the flows of its policy only; authorize
	// logs the error as any other of Gatehouse's own.
	acts, err := pols.Actions(pol.ID)
	if err != nil {
		return nil, err
	}
	if len(acts) == 0 {
		return nil, &StartError{"invalid_request", fmt.Sprintf("The sign-on policy %s has no actions.", pol.Name)}
	}
	st := &state{Version: stateVersion, Request: in.Request, AppName: in.App.Name, PolicyID: pol.ID, PolicyName: pol.Name}
	for _, a := range acts {
		if e.reg.byType[a.Type] == nil {
			return nil, &StartError{"invalid_request", fmt.Sprintf("The sign-on policy %s uses the action type %s, which Gatehouse does not support yet.", pol.Name, a.Type)}
		}
		st.Actions = append(st.Actions, PolicyAction{ID: a.ID, Type: a.Type, Settings: a.Settings})
	}
	req := &in.Request
	token := in.Token
	if token == "" {
		token = session.NewToken()
	}
	f := &store.Flow{ID: uuid.NewString(), EnvironmentID: in.Env.ID, ApplicationID: in.App.ID, Binding: session.HashToken(token),
		CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(FlowIdle)}
	sess, sessUser, err := e.liveSession(ctx, in.Env.ID, in.Token, now)
	if err != nil {
		return nil, err
	}
	if req.Prompt == "login" {
		st.ForceAuth = true
	}
	if sess != nil && req.MaxAge != nil && now.Sub(sess.AuthTime) > time.Duration(*req.MaxAge)*time.Second {
		st.ForceAuth = true
	}
	if st.ForceAuth {
		sess = nil
	}
	f.Status = e.firstStatus(st, sess, now)
	// The action reached depends on the user (MFA): it begins for the
	// session's user, who the session says has passed the earlier actions
	// (or, at the policy's first action, who the browser's session names).
	// Any other action asks whoever is at the browser: the flow is not
	// bound to the session's user, so that another person may sign on.
	entrant := false
	if a := st.action(); a != nil && f.Status != StatusCompleted {
		_, entrant = e.reg.byType[a.Type].(Entrant)
	}
	if sess != nil && entrant {
		f.UserID, f.SessionID = sess.UserID, sess.ID
		st.SignedOn, st.AuthTime, st.AMR = sess.UserID, sess.AuthTime.Unix(), sess.AMR
	}
	refused := false
	if f.Status == StatusCompleted {
		f.UserID, f.SessionID = sess.UserID, sess.ID
		st.AuthTime, st.AMR = sess.AuthTime.Unix(), sess.AMR
		f.Status = e.confirm(&View{Flow: f, e: e, st: st, states: map[string]any{}})
		if f.Status == StatusCompleted {
			ok, err := e.admits(ctx, e.Store, in.Env.ID, in.App.ID, f.UserID)
			if err != nil {
				return nil, err
			}
			if !ok {
				st.refuse()
				f.Status = StatusFailed
				refused = true
			}
		}
	} else if req.Prompt == "none" && (sess == nil || !entrant) {
		return nil, errLoginRequired
	}
	// Limited last: a request refused for its own faults costs no token.
	source, release, err := e.Limits.startFlow(ctx, e.Store, in.Env.ID, now)
	if err != nil {
		return nil, err
	}
	st.Source = source
	if f.Data, err = json.Marshal(st); err != nil {
		release()
		return nil, err
	}
	if err := e.Store.CreateFlow(ctx, f); err != nil {
		release()
		return nil, err
	}
	switch {
	case refused:
		u := sessUser
		if u == nil {
			u = userByID(f.EnvironmentID, f.UserID)
		}
		e.record(ctx, f, in.App.Name, Outcome{Type: audit.UserAccessDenied, User: u, Failure: access.Description})
	case f.Status == StatusCompleted:
		// Single sign-on: the session signs the user on again.
		e.record(ctx, f, in.App.Name, Outcome{Method: MetricSession, Result: ResultSuccess})
	}
	if entrant {
		var u *store.User
		if sess != nil {
			u = sessUser
		}
		// Under prompt=none the Entrant decides without reaching the user
		// (View.Silent): it may pass its action (MFA disabled, BYPASS);
		// anything it would ask of the user is login_required.
		tok, err := e.Do(ctx, f, func(s *Step) error { return s.enter(ctx, u) })
		if err != nil {
			return nil, err
		}
		if tok != "" {
			token = tok
		}
		// A flow that failed (the application refuses the user) reports
		// its own error, as one single sign-on completes at once does.
		if req.Prompt == "none" && f.Status != StatusCompleted && f.Status != StatusFailed {
			if err := e.Finish(ctx, f); err != nil && !errors.Is(err, ErrFlowNotFound) {
				return nil, err
			}
			return nil, errLoginRequired
		}
	}
	return &Started{Flow: f, Token: token}, nil
}

// errLoginRequired answers prompt=none when the user would have to act.
var errLoginRequired = &StartError{"login_required", "The user must sign on: there is no session that satisfies the sign-on policy."}

// confirm is the status of a flow whose sign-on policy is satisfied:
// what the first Confirmer asks, or COMPLETED.
func (e *Engine) confirm(v *View) string {
	for _, m := range e.reg.methods {
		if c, ok := m.(Confirmer); ok {
			if status := c.Confirm(v); status != "" {
				return status
			}
		}
	}
	return StatusCompleted
}

// sessionLifetimes is how long envID's sessions live.
func (e *Engine) sessionLifetimes(ctx context.Context, envID string) (session.Lifetimes, error) {
	env, err := e.Config.Environment(ctx, envID)
	if err != nil {
		return session.Lifetimes{}, err
	}
	return session.LifetimesOf(env.Sessions), nil
}

// liveSession is the session the browser's token names, if it is live
// and its user can still sign on. A flow that finds it uses it: its idle
// timeout starts over.
func (e *Engine) liveSession(ctx context.Context, envID, token string, now time.Time) (*store.Session, *store.User, error) {
	sess, err := session.ByToken(ctx, e.Store, envID, token, now)
	if sess == nil || err != nil {
		return nil, nil, err
	}
	u, err := e.Store.GetUser(ctx, envID, sess.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if !u.Enabled || credential.AccountLocked(u, now) {
		return nil, nil, nil
	}
	life, err := e.sessionLifetimes(ctx, envID)
	if err != nil {
		return nil, nil, err
	}
	if err := session.Touch(ctx, e.Store, sess, life, now); errors.Is(err, session.ErrEnded) {
		return nil, nil, nil
	} else if err != nil {
		return nil, nil, err
	}
	return sess, u, nil
}

// policy picks the sign-on policy: the first of acr_values that names a
// policy assigned to the application, else the application's
// highest-priority assignment, else the environment's default.
func (e *Engine) policy(ctx context.Context, pols *config.SignOnPolicies, envID, appID string, acr []string) (*store.SignOnPolicy, error) {
	assigned, err := e.Config.SignOnPolicyAssignments(ctx, envID, appID)
	if err != nil {
		return nil, err
	}
	def := pols.Default()
	if len(acr) > 0 {
		// PingOne: acr_values name sign-on policies assigned to the
		// application; the default policy counts when none is assigned.
		for _, name := range acr {
			for _, a := range assigned {
				if p := pols.Policy(a.SignOnPolicyID); p != nil && p.Name == name {
					return p, nil
				}
			}
			if len(assigned) == 0 && def != nil && def.Name == name {
				return def, nil
			}
		}
		return nil, &StartError{"invalid_request", "acr_values names no sign-on policy assigned to the application."}
	}
	for _, a := range assigned {
		if p := pols.Policy(a.SignOnPolicyID); p != nil {
			return p, nil
		}
	}
	if def == nil {
		return nil, &StartError{"invalid_request", "The environment has no default sign-on policy."}
	}
	return def, nil
}

// firstStatus runs the policy from st.Step: actions the session satisfies
// are skipped; the first that is not decides the status.
func (e *Engine) firstStatus(st *state, sess *store.Session, now time.Time) string {
	for ; st.Step < len(st.Actions); st.Step++ {
		a := &st.Actions[st.Step]
		b := e.reg.byType[a.Type]
		if sess != nil && e.satisfied(b, a, sess, now) {
			continue
		}
		return b.BeginStatus(a)
	}
	return StatusCompleted
}

// satisfied reports whether sess satisfies policy action a: its
// condition decides; without one, the method that runs it does, or any
// session does (single sign-on).
func (e *Engine) satisfied(b Beginner, a *PolicyAction, sess *store.Session, now time.Time) bool {
	// A method that decides (a second factor wants its own method in the
	// session's amr) decides first; then the condition, as for any action.
	if s, ok := b.(Satisfier); ok && !s.SatisfiedBy(a, sess) {
		return false
	}
	return !mustRun(a.Settings.Condition, sess, now)
}

// mustRun evaluates an action's condition against a session: true when the
// action must run. Without a condition a session satisfies a sign-on
// action (single sign-on). Conditions Gatehouse cannot evaluate run the
// action: asking for a password too often is safe, too rarely is not.
func mustRun(raw json.RawMessage, sess *store.Session, now time.Time) bool {
	if len(raw) == 0 || string(raw) == "null" {
		return false
	}
	var c map[string]json.RawMessage
	if json.Unmarshal(raw, &c) != nil {
		return true
	}
	if v, ok := c["or"]; ok {
		var subs []json.RawMessage
		if json.Unmarshal(v, &subs) != nil || len(subs) == 0 {
			return true
		}
		for _, s := range subs {
			if mustRun(s, sess, now) {
				return true
			}
		}
		return false
	}
	if v, ok := c["and"]; ok {
		var subs []json.RawMessage
		if json.Unmarshal(v, &subs) != nil || len(subs) == 0 {
			return true
		}
		for _, s := range subs {
			if !mustRun(s, sess, now) {
				return false
			}
		}
		return true
	}
	var since struct {
		SecondsSince string `json:"secondsSince"`
		Greater      *int64 `json:"greater"`
	}
	if json.Unmarshal(raw, &since) != nil || since.Greater == nil {
		return true
	}
	var at time.Time
	switch since.SecondsSince {
	case "${session.lastSignOn.withAuthenticator.pwd.at}", "${session.lastSignOn.withAuthenticator.mfa.at}":
		// The method's own time: a later sign-on with another method
		// does not renew it.
		method := strings.TrimSuffix(strings.TrimPrefix(since.SecondsSince, "${session.lastSignOn.withAuthenticator."), ".at}")
		var ok bool
		if at, ok = session.MethodAt(sess, method); !ok {
			return true
		}
	case "${session.lastSignOn.at}":
		at = sess.AuthTime
	default:
		return true
	}
	return now.Sub(at) > time.Duration(*since.Greater)*time.Second
}

// ErrFlowNotFound answers an unknown or expired flow, as PingOne does.
var ErrFlowNotFound = wire.NotFound("The flow was not found. It may have expired: flows expire after 15 minutes of inactivity.")

// errBinding answers a flow request from another browser than the one that
// started the flow.
var errBinding = &wire.Error{Status: 401, Code: wire.CodeAccessFailed,
	Message: "The request could not be completed. The flow belongs to another browser session.",
	Details: []wire.Detail{{Code: wire.DetailInvalidToken, Target: "Cookie",
		Message: "Send the ST cookie that /as/authorize set when it started this flow."}}}

// Load reads a flow for the request's browser: ErrFlowNotFound when it is
// unknown or expired, errBinding when another browser started it.
func (e *Engine) Load(ctx context.Context, envID, flowID, token string) (*store.Flow, error) {
	if uuid.Validate(flowID) != nil || len(flowID) != 36 {
		return nil, ErrFlowNotFound
	}
	f, err := e.Store.GetFlow(ctx, envID, flowID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrFlowNotFound
	}
	if err != nil {
		return nil, err
	}
	if !f.ExpiresAt.After(e.now()) {
		return nil, ErrFlowNotFound
	}
	if token == "" || session.HashToken(token) != f.Binding {
		return nil, errBinding
	}
	return f, nil
}

// RequestOf returns the authorize request a flow serves, and the policy
// name (the acr of its tokens) and its sign-on's time and methods.
func RequestOf(f *store.Flow) (req *Request, acr string, authTime time.Time, amr []string, err error) {
	var st state
	if err := json.Unmarshal(f.Data, &st); err != nil {
		return nil, "", time.Time{}, nil, fmt.Errorf("flow %s: %w", f.ID, err)
	}
	return &st.Request, st.PolicyName, time.Unix(st.AuthTime, 0).UTC(), st.AMR, nil
}

// FailureOf returns the OAuth error a FAILED flow reports.
func FailureOf(f *store.Flow) (code, description string, err error) {
	var st state
	if err := json.Unmarshal(f.Data, &st); err != nil {
		return "", "", fmt.Errorf("flow %s: %w", f.ID, err)
	}
	if st.Error == "" {
		return "access_denied", "The sign-on failed.", nil
	}
	return st.Error, st.ErrorDescription, nil
}

// PiFlow reports whether the flow's client drives it itself.
func PiFlow(f *store.Flow) (bool, error) {
	req, _, _, _, err := RequestOf(f)
	if err != nil {
		return false, err
	}
	return req.PiFlow(), nil
}

// Fail ends the flow: resume reports code and description to the
// application.
func (e *Engine) Fail(ctx context.Context, f *store.Flow, code, description string) error {
	_, err := e.Do(ctx, f, func(s *Step) error { return s.Fail(ctx, code, description) })
	return err
}

// View reads a flow as methods see it.
func (e *Engine) View(f *store.Flow) (*View, error) { return e.view(f) }

// Finish ends a COMPLETED or FAILED flow once resume has answered: a flow
// gives one authorization response only.
func (e *Engine) Finish(ctx context.Context, f *store.Flow) error {
	err := e.Store.DeleteFlow(ctx, f.EnvironmentID, f.ID)
	if errors.Is(err, store.ErrNotFound) {
		// Another resume got there first: this one must not answer.
		return ErrFlowNotFound
	}
	if err == nil && e.Limits != nil {
		var st struct {
			Source string `json:"source"`
		}
		_ = json.Unmarshal(f.Data, &st) // a flow without one gives nothing back
		e.Limits.finishFlow(f.EnvironmentID, st.Source, e.now())
	}
	return err
}

// actionFor maps a Content-Type to an action name ("" when it names none).
// PingOne documents password.sendRecoveryCode both with and without +json.
func (e *Engine) actionFor(mediaType string) string {
	mt := strings.ToLower(mediaType)
	const prefix = "application/vnd.pingidentity."
	if !strings.HasPrefix(mt, prefix) {
		return ""
	}
	name := strings.TrimSuffix(strings.TrimPrefix(mt, prefix), "+json")
	if name == strings.ToLower(ActionSessionReset) {
		return ActionSessionReset
	}
	for a := range e.reg.byAction {
		if strings.ToLower(a) == name {
			return a
		}
	}
	return ""
}
