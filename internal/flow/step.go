package flow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/password"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Step is one change to a flow: an action of the flow API, or a provider's
// answer at the relying party's callback. Methods move the flow through
// it and save it; the engine signs the user on.
type Step struct {
	*View
	// Now is the step's time, for every check and record it makes.
	Now time.Time
	// token is the new ST value once the step signed the user on.
	token string
	// given is what the step hands the rendering of its answer (Hand).
	given map[string]any
}

func (e *Engine) newStep(f *store.Flow) (*Step, error) {
	v, err := e.view(f)
	if err != nil {
		return nil, err
	}
	return &Step{View: v, Now: e.now()}, nil
}

// Step runs an action on a flow loaded by Load. It returns the new ST
// cookie value when the step signed the user on ("" otherwise).
func (e *Engine) Step(ctx context.Context, f *store.Flow, act string, body []byte) (string, error) {
	s, err := e.step(ctx, f, act, body)
	if s == nil {
		return "", err
	}
	return s.token, err
}

// step is Step, returning the step run (nil when none ran).
func (e *Engine) step(ctx context.Context, f *store.Flow, act string, body []byte) (*Step, error) {
	s, err := e.newStep(f)
	if err != nil {
		return nil, err
	}
	ok, allowed := e.offersAction(s.View, act)
	if !allowed {
		return nil, notAllowed(act, f.Status, ok)
	}
	if act == ActionSessionReset {
		return s, s.reset(ctx, body)
	}
	m := e.reg.byAction[act]
	if _, ok := m.(Collector); ok {
		// What the user gives is kept for the sign-on's user: a session
		// that ended while the flow waited (idle, revoked) signs nobody
		// on, so the sign-on starts over rather than write for it.
		ended, err := s.sessionEnded(ctx)
		if err != nil || ended {
			if err == nil {
				err = s.startOver(ctx)
			}
			return s, err
		}
	}
	var g *checkGuard
	if c, ok := m.(SecretChecker); ok && c.ChecksSecret(act) {
		if g, err = e.Limits.beforeCheck(ctx, s.View, body, s.Now); err != nil {
			return nil, err
		}
	}
	// A flow that has seen wrong passwords waits behind fresh ones for
	// the password pool: guessing must not slow everyone's sign-on.
	prio := s.st.Wrong
	if s.st.Refused {
		prio++
	}
	err = m.Run(password.WithPriority(ctx, prio), s, act, body)
	g.after(err, s.Now)
	if errors.Is(err, password.ErrBusy) && !s.st.Refused {
		e.markRefused(ctx, f)
	}
	return s, err
}

// Hand gives the rendering of the flow API's answer to this step what the
// step has read for it (the devices a status lists), under key, so that
// the answer need not read it again. Only that answer sees it (Handed): a
// later read of the flow reads afresh.
func (s *Step) Hand(key string, val any) {
	if s.given == nil {
		s.given = map[string]any{}
	}
	s.given[key] = val
}

// markRefused records that the password pool refused one of f's checks
// (see state.Refused). It reads the flow again, so that nothing the action
// had changed before it was refused is saved; a flow that moved on
// meanwhile is left as it is.
func (e *Engine) markRefused(ctx context.Context, f *store.Flow) {
	cur, err := e.Store.GetFlow(ctx, f.EnvironmentID, f.ID)
	if err != nil {
		return
	}
	s, err := e.newStep(cur)
	if err != nil {
		return
	}
	s.st.Refused = true
	if err := s.Save(ctx); err != nil && !errors.Is(err, ErrFlowNotFound) {
		e.Logger().DebugContext(ctx, "counting a refused password check", "flow", f.ID, "err", err)
	}
}

// Do runs fn as a step on f, outside the flow API: the external identity
// provider's callback moves flows through it. It returns the new ST
// cookie value when fn signed the user on.
func (e *Engine) Do(ctx context.Context, f *store.Flow, fn func(s *Step) error) (string, error) {
	s, err := e.newStep(f)
	if err != nil {
		return "", err
	}
	err = fn(s)
	return s.token, err
}

// SetStatus moves the flow to status.
func (s *Step) SetStatus(status string) { s.Flow.Status = status }

// Fail ends the flow: resume reports code and description to the
// application.
func (s *Step) Fail(ctx context.Context, code, description string) error {
	s.st.Error, s.st.ErrorDescription = code, description
	s.SetStatus(StatusFailed)
	return s.Save(ctx)
}

// PasswordFailed counts a failed password check (a wrong password, or one
// for a locked password) in the flow and reports whether the flow has now
// had as many as the engine allows: then it has failed, and resume
// reports access_denied. The caller saves the flow.
func (s *Step) PasswordFailed() (failed bool) {
	s.st.Wrong++
	max := s.e.MaxPasswordAttempts
	if max == 0 {
		max = DefaultMaxPasswordAttempts
	}
	if max < 0 || s.st.Wrong < max {
		return false
	}
	s.st.Error, s.st.ErrorDescription = "access_denied", fmt.Sprintf("The sign-on failed: %d wrong passwords were tried in it.", s.st.Wrong)
	s.SetStatus(StatusFailed)
	return true
}

// FirstFactor is the method of the flow's action when it runs as the
// first factor (see FirstFactor): nil when the action is not a
// FirstFactor, or an earlier action has signed the flow's user on.
func (s *Step) FirstFactor() FirstFactor {
	a := s.st.action()
	if a == nil || s.st.SignedOn != "" {
		return nil
	}
	ff, _ := s.e.reg.byType[a.Type].(FirstFactor)
	return ff
}

// Identify records the username the user gave, whether or not it names a
// user (see Identifier); "" forgets it.
func (s *Step) Identify(username string) { s.st.Username = username }

// Save writes the flow: its status, state and methods' states, and slides
// its expiry. Two steps racing on one flow cannot both save: the loser
// gets REQUEST_FAILED and changes nothing.
func (s *Step) Save(ctx context.Context) error { return s.saveIn(ctx, s.e.Store) }

// SaveIn is Save inside tx, a transaction of the step's own (one that
// counts a wrong password, say).
func (s *Step) SaveIn(ctx context.Context, tx store.Store) error { return s.saveIn(ctx, tx) }

func (s *Step) saveIn(ctx context.Context, st store.Store) error {
	if err := s.admit(ctx, st); err != nil {
		return err
	}
	if err := s.encodeStates(); err != nil {
		return err
	}
	b, err := json.Marshal(s.st)
	if err != nil {
		return err
	}
	s.Flow.Data, s.Flow.UpdatedAt, s.Flow.ExpiresAt = b, s.Now, s.Now.Add(FlowIdle)
	err = st.UpdateFlow(ctx, s.Flow)
	if errors.Is(err, store.ErrConflict) {
		return wire.RequestFailed("The flow changed while this request ran: read it again and retry.")
	}
	if errors.Is(err, store.ErrNotFound) {
		return ErrFlowNotFound
	}
	return err
}

// Account loads the flow's user, or else the user named username; nil
// when there is none (the method then acts as if there were, so that
// answers do not tell which usernames exist).
func (s *Step) Account(ctx context.Context, username string) (*credential.Account, error) {
	var a *credential.Account
	var err error
	switch {
	case s.Flow.UserID != "":
		a, err = s.e.Credentials.Load(ctx, s.e.Store, s.Flow.EnvironmentID, s.Flow.UserID)
	case username != "":
		a, err = s.e.Credentials.LoadByUsername(ctx, s.Flow.EnvironmentID, username)
	default:
		return nil, nil
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return a, err
}

// UserAccount loads the flow's user, who must exist: ErrFlowNotFound when
// the flow has none or the user is gone.
func (s *Step) UserAccount(ctx context.Context) (*credential.Account, error) {
	if s.Flow.UserID == "" {
		return nil, ErrFlowNotFound
	}
	a, err := s.Account(ctx, "")
	if err == nil && a == nil {
		return nil, ErrFlowNotFound
	}
	return a, err
}

// LoadUser loads the flow's user, who must exist, as UserAccount does but
// without the password and its policy, which methods proving a device do
// not use: ErrFlowNotFound when the flow has none or the user is gone.
func (s *Step) LoadUser(ctx context.Context) (*store.User, error) {
	if s.Flow.UserID == "" {
		return nil, ErrFlowNotFound
	}
	u, err := s.e.Store.GetUser(ctx, s.Flow.EnvironmentID, s.Flow.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrFlowNotFound
	}
	return u, err
}

// Authenticated moves on once the user has proven who they are with amr:
// a method that must hold the sign-on first (an email to verify) holds
// it; otherwise the sign-on completes.
func (s *Step) Authenticated(ctx context.Context, u *store.User, amr ...string) error {
	for _, m := range s.e.reg.methods {
		h, ok := m.(Holder)
		if !ok {
			continue
		}
		status, err := h.Hold(ctx, s, u)
		if err != nil {
			return err
		}
		if status != "" {
			s.Flow.UserID = u.ID
			s.HoldAs(status, amr...)
			return s.Save(ctx)
		}
	}
	return s.Complete(ctx, u, amr, nil)
}

// HoldAs holds the sign-on of the flow's user in status, remembering how
// the user authenticated (amr) until Release.
func (s *Step) HoldAs(status string, amr ...string) {
	s.st.Held = amr
	s.SetStatus(status)
}

// Release completes a sign-on held by HoldAs, with the methods the user
// authenticated with then.
func (s *Step) Release(ctx context.Context, u *store.User) error {
	amr := s.st.Held
	s.st.Held = nil
	return s.Complete(ctx, u, amr, nil)
}

// Complete signs u on in the flow's browser: the methods that take part
// in completing (Completer) and also, when set, run in the same
// transaction as the session's renewal (or creation, or replacement when
// it was another user's); the cookie value rotates; and the flow moves
// past the policy actions the new sign-on satisfies.
func (s *Step) Complete(ctx context.Context, u *store.User, amr []string, also func(tx store.Store) error) error {
	var token string
	prior := s.Flow.SessionID
	life, err := s.e.sessionLifetimes(ctx, s.Flow.EnvironmentID)
	if err != nil {
		return err
	}
	err = s.e.Store.Tx(ctx, func(tx store.Store) error {
		if also != nil {
			if err := also(tx); err != nil {
				return err
			}
		}
		methods := append([]string(nil), amr...)
		for _, m := range s.e.reg.methods {
			c, ok := m.(Completer)
			if !ok {
				continue
			}
			more, err := c.Completing(ctx, s, tx, u)
			if err != nil {
				return err
			}
			methods = append(methods, more...)
		}
		sess, tok, err := session.SignOn(ctx, tx, s.Flow.EnvironmentID, s.Flow.Binding, u.ID, methods, life, s.Now)
		if err != nil {
			return err
		}
		token = tok
		// The flow's amr is every method this flow has signed on its user
		// with (a policy may ask for several, one action after another).
		if s.st.SignedOn != u.ID {
			s.st.SignedOn, s.st.AMR = u.ID, nil
		}
		s.st.AuthTime = s.Now.Unix()
		for _, m := range methods {
			if !slices.Contains(s.st.AMR, m) {
				s.st.AMR = append(s.st.AMR, m)
			}
		}
		s.Flow.UserID, s.Flow.SessionID, s.Flow.Binding = u.ID, sess.ID, sess.TokenHash
		s.advance(sess)
		return s.saveIn(ctx, tx)
	})
	if err != nil {
		return err
	}
	s.token = token
	if s.Flow.Status != StatusFailed { // else refused by accessControl (admit)
		typ := audit.SessionCreated
		if s.Flow.SessionID == prior {
			typ = audit.SessionUpdated
		}
		s.Record(ctx, Outcome{Type: typ, User: u})
	}
	return s.enter(ctx, u)
}

// Pass moves the flow past its current action without signing u on again
// (an MFA action that a user whose MFA is disabled, or who has no device
// under noDevicesMode BYPASS, passes): the flow keeps its sign-on's time
// and methods, and the session its time and token. The flow goes on to
// the next action the session does not satisfy.
func (s *Step) Pass(ctx context.Context, u *store.User) error {
	sess, err := session.ByID(ctx, s.e.Store, s.Flow.EnvironmentID, s.Flow.SessionID, s.Now)
	if err != nil {
		return err
	}
	if sess != nil && sess.UserID != u.ID {
		sess = nil // another user's: it satisfies nothing of this sign-on
	}
	s.advance(sess)
	if err := s.Save(ctx); err != nil {
		return err
	}
	return s.enter(ctx, u)
}

// advance moves past the action just done: to the first later one that
// sess (judged as the sign-on allows) does not satisfy, or to what a
// Confirmer asks, or COMPLETED; the methods' state of the action is
// dropped.
func (s *Step) advance(sess *store.Session) {
	s.st.Step++
	s.Flow.Status = s.e.firstStatus(s.st, s.judged(sess), s.Now)
	s.st.Held = nil
	s.resetMethods()
	if s.Flow.Status == StatusCompleted {
		s.Flow.Status = s.e.confirm(s.View)
	}
}

// judged is the session the flow's later actions are judged against. A
// sign-on forced anew (prompt=login, max_age) counts only what this flow
// has proved: the session's amr keeps the methods of earlier sign-ons (an
// old "mfa"), which must not waive an action the user was asked to pass
// again.
func (s *Step) judged(sess *store.Session) *store.Session {
	if sess == nil || !s.st.ForceAuth {
		return sess
	}
	j := *sess
	j.AMR = nil
	for _, m := range sess.AMR {
		if slices.Contains(s.st.AMR, m) {
			j.AMR = append(j.AMR, m)
		}
	}
	return &j
}

// enter lets the method of the action the flow has just reached decide
// its first status when it depends on the user (Entrant).
func (s *Step) enter(ctx context.Context, u *store.User) error {
	if s.Flow.Status == StatusCompleted || s.Flow.Status == StatusFailed {
		return nil
	}
	a := s.st.action()
	if a == nil {
		return nil
	}
	en, ok := s.e.reg.byType[a.Type].(Entrant)
	if !ok || s.Flow.Status != s.e.reg.byType[a.Type].BeginStatus(a) {
		return nil
	}
	if _, ok := en.(Collector); ok {
		if refused, err := s.admitCollector(ctx, u); refused || err != nil {
			return err
		}
	}
	return en.Enter(ctx, s, u)
}

// reset is session.reset: the sign-on starts over at the policy's first
// action, and the session's earlier sign-on no longer counts.
func (s *Step) reset(ctx context.Context, body []byte) error {
	if _, err := Fields(body, nil); err != nil {
		return err
	}
	return s.startOver(ctx)
}

// startOver moves the flow back to the policy's first action, for
// whoever is at the browser.
func (s *Step) startOver(ctx context.Context) error {
	s.resetMethods()
	s.st.Step, s.st.ForceAuth = 0, true
	s.st.SignedOn, s.st.AuthTime, s.st.AMR, s.st.Held = "", 0, nil, nil
	s.Flow.UserID = ""
	s.Flow.Status = s.e.firstStatus(s.st, nil, s.Now)
	if err := s.Save(ctx); err != nil {
		return err
	}
	return s.enter(ctx, nil)
}

// sessionEnded reports whether the flow has signed its user on through a
// session that has since ended (idle or maximum lifetime, signed off,
// ended through the API) or now belongs to someone else.
func (s *Step) sessionEnded(ctx context.Context) (bool, error) {
	if s.st.SignedOn == "" || s.Flow.SessionID == "" {
		return false, nil
	}
	sess, err := session.ByID(ctx, s.e.Store, s.Flow.EnvironmentID, s.Flow.SessionID, s.Now)
	if err != nil {
		return false, err
	}
	return sess == nil || sess.UserID != s.st.SignedOn, nil
}
