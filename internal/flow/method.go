package flow

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// A Method is one way of signing on, or one step a sign-on policy asks
// for: username and password, identifier first, password recovery,
// registration, an external identity provider, and next one-time
// passcodes, TOTP and FIDO2. The engine knows methods only through this
// interface and the optional ones below: it asks every method which of
// its actions a flow allows, runs an action through the method that owns
// it, and lets methods hold, complete and describe the flow. Adding a
// method is writing one (a package under internal/flow/methods) and
// registering it; nothing in the engine switches on a method.
type Method interface {
	// Name keys the method's own state in the flow (see MethodState).
	Name() string
	// Statuses are the flow statuses the method owns: no two methods own
	// one.
	Statuses() []Status
	// Actions are the flow API actions the method runs; no two methods
	// run one.
	Actions() []string
	// Offers lists the actions the flow allows now that this method
	// contributes, in the order _links and errors show them. A method may
	// offer another's action in a status it owns (account linking asks for
	// the local password).
	Offers(v *View) []string
	// Run runs one of the method's actions; the engine has checked that
	// the flow allows it.
	Run(ctx context.Context, s *Step, action string, body []byte) error
}

// Status is a flow status a method owns.
type Status struct {
	Name string
	// Authenticated: in this status the user has proven who they are, so
	// the flow may show the user's id and name.
	Authenticated bool
	// SignOn: in this status the user is asked to sign on (a username, a
	// password), so other methods offer their ways in beside it: password
	// recovery, external identity providers. AsksUsername: the user has
	// not said who they are yet, so registration is offered too.
	SignOn, AsksUsername bool
}

// Beginner is a method that runs sign-on policy actions of some types
// (LOGIN, IDENTIFIER_FIRST, …): a flow reaching such an action starts in
// the status BeginStatus gives.
type Beginner interface {
	Begins() []string
	BeginStatus(a *PolicyAction) string
}

// Satisfier is a Beginner that decides whether a session satisfies its
// policy actions when they have no condition (a second factor wants its
// own method in the session's amr). Without it, any live session does:
// single sign-on.
type Satisfier interface {
	SatisfiedBy(a *PolicyAction, sess *store.Session) bool
}

// Entrant is a Beginner whose action's first status depends on the user
// it signs on (their MFA devices, say): once a flow reaches its action,
// after an earlier action signed u on or at the start with a session that
// names u, Enter moves the flow on: it sets a status and saves, fails the
// flow, or passes the action (Complete with no more methods). u is nil
// when no earlier action has signed anyone on.
type Entrant interface {
	Enter(ctx context.Context, s *Step, u *store.User) error
}

// FirstFactor is an Entrant that can sign a user on alone, its action
// first in the policy or after actions that signed nobody on (PingOne's
// MFA-only, passwordless, sign-on policy): Enter(nil) then asks who the
// user is in SIGN_ON_REQUIRED, and user.lookup hands Identify the username
// typed and the user it names (nil when none). Identify moves the flow on
// as Enter does; it must answer a username that names nobody exactly as
// one whose user cannot sign on this way.
type FirstFactor interface {
	Entrant
	Identify(ctx context.Context, s *Step, username string, u *store.User) error
}

// Decorator is a method that adds to the flow JSON outside _embedded (the
// device an MFA passcode was sent to).
type Decorator interface {
	Decorate(ctx context.Context, v *View, out *wire.Flow) error
}

// Holder is a method that may hold a sign-on after the user has
// authenticated and before it completes (an email address to verify,
// say). Hold returns the status to hold the flow in, or "" to let it go
// on; a method that holds has saved its own state on s.
type Holder interface {
	Hold(ctx context.Context, s *Step, u *store.User) (status string, err error)
}

// Confirmer is a method that asks something more of a signed-on user once
// the sign-on policy is satisfied and before the flow completes (a
// device's user code and the user's consent to it). Confirm returns the
// status to ask in, or "" to let the flow complete; a method that asks
// moves the flow to COMPLETED itself (SetStatus and Save) when answered.
type Confirmer interface {
	Confirm(v *View) string
}

// Completer is a method that takes part in completing a sign-on, inside
// its transaction (linking an external identity, say). It returns the
// authentication methods to add to the sign-on's amr.
type Completer interface {
	Completing(ctx context.Context, s *Step, tx store.Store, u *store.User) (amr []string, err error)
}

// Embedder is a method that adds to the flow's _embedded (the identity
// providers offered, the password policy a new password must meet).
type Embedder interface {
	Embed(ctx context.Context, v *View, out *wire.FlowEmbedded) error
}

// Resetter is a method whose state outlives a sign-on started over
// (session.reset) or completed: Reset keeps what must survive. The state
// of a method without Reset is dropped then.
type Resetter interface {
	Reset(v *View)
}

// registry is the engine's index of its methods.
type registry struct {
	methods  []Method
	byAction map[string]Method
	byType   map[string]Beginner
	byStatus map[string]Status
}

// Register adds methods to the engine, in the order their actions are
// offered. A second method claiming an action, a status or a policy
// action type is a programming error.
func (e *Engine) Register(ms ...Method) {
	r := &e.reg
	if r.byAction == nil {
		r.byAction, r.byType, r.byStatus = map[string]Method{}, map[string]Beginner{}, map[string]Status{}
	}
	for _, m := range ms {
		for _, a := range m.Actions() {
			if _, dup := r.byAction[a]; dup || a == ActionSessionReset {
				panic(fmt.Sprintf("flow: action %s registered twice", a))
			}
			r.byAction[a] = m
		}
		for _, st := range m.Statuses() {
			if _, dup := r.byStatus[st.Name]; dup || st.Name == StatusCompleted || st.Name == StatusFailed {
				panic(fmt.Sprintf("flow: status %s registered twice", st.Name))
			}
			r.byStatus[st.Name] = st
		}
		if b, ok := m.(Beginner); ok {
			for _, t := range b.Begins() {
				if _, dup := r.byType[t]; dup {
					panic(fmt.Sprintf("flow: policy action type %s registered twice", t))
				}
				r.byType[t] = b
			}
		}
		r.methods = append(r.methods, m)
	}
}

// allowed lists the actions the flow allows now: what the methods offer,
// then session.reset. Statuses no method owns (COMPLETED, FAILED) allow
// nothing.
func (e *Engine) allowed(v *View) []string {
	if _, owned := e.reg.byStatus[v.Flow.Status]; !owned {
		return nil
	}
	var out []string
	for _, m := range e.reg.methods {
		for _, a := range m.Offers(v) {
			// A method may offer another's action (account linking asks for
			// a password): only when that method is registered too.
			if e.reg.byAction[a] != nil {
				out = append(out, a)
			}
		}
	}
	return append(out, ActionSessionReset)
}

// authenticated reports whether the user has proven who they are in
// status: the flow may then show the user.
func (e *Engine) authenticated(status string) bool {
	return status == StatusCompleted || e.reg.byStatus[status].Authenticated
}

// View is a flow as methods read it: the record, the engine's state, and
// each method's state.
type View struct {
	Flow *store.Flow
	e    *Engine
	st   *state
	// states are the method states read so far, by name: a step writes
	// them back when it saves.
	states map[string]any
	// user is the flow's user, once Render has loaded it.
	user *store.User
	// handed is what the step whose answer is being rendered handed it
	// (Step.Hand).
	handed map[string]any
}

func (e *Engine) view(f *store.Flow) (*View, error) {
	var st state
	if err := json.Unmarshal(f.Data, &st); err != nil {
		return nil, fmt.Errorf("flow %s: %w", f.ID, err)
	}
	if st.Version != stateVersion {
		return nil, ErrFlowNotFound
	}
	return &View{Flow: f, e: e, st: &st, states: map[string]any{}}, nil
}

// Engine is the engine running the flow (its store, credentials, notifier).
func (v *View) Engine() *Engine { return v.e }

// Status is the flow's status.
func (v *View) Status() string { return v.Flow.Status }

// Action is the sign-on policy action the flow is at; nil once every
// action is done.
func (v *View) Action() *PolicyAction { return v.st.action() }

// Request is the authorize request the flow serves.
func (v *View) Request() *Request { return &v.st.Request }

// Identifier is the username the user gave (user.lookup,
// password.forgot): kept alike whether or not it names a user, so that
// answers do not tell which usernames exist. Flow.UserID names the user
// when there is one.
func (v *View) Identifier() string { return v.st.Username }

// SigningOn reports whether the flow's status asks the user to sign on
// (Status.SignOn).
func (v *View) SigningOn() bool { return v.e.reg.byStatus[v.Flow.Status].SignOn }

// AsksUsername reports whether the flow's status asks the user who they
// are (Status.AsksUsername).
func (v *View) AsksUsername() bool { return v.e.reg.byStatus[v.Flow.Status].AsksUsername }

// Silent reports whether the flow must not reach the user (prompt=none):
// an Entrant then decides only whether its action passes, and sends
// nothing (a passcode); a flow that still asks something of the user is
// answered with login_required.
func (v *View) Silent() bool { return v.st.Request.Prompt == "none" }

// Identified reports whether the flow already knows whom it signs on: a
// user, or a username that names none (PASSWORD_REQUIRED, recovery).
func (v *View) Identified() bool { return v.Flow.UserID != "" || v.st.Username != "" }

// SignedOn is the user the flow's completed actions (or, for a flow
// started on a session, the session) signed on; "" when none has. A
// factor proven by another user is not a factor of this one.
func (v *View) SignedOn() string { return v.st.SignedOn }

// SignedOnWith is the amr of the sign-on SignedOn names: every method the
// flow (or the session it rides on) has signed its user on with.
func (v *View) SignedOnWith() []string { return slices.Clone(v.st.AMR) }

// unproven reports whether the flow's user was named but has proven
// nothing yet: a first factor (FirstFactor) is under way. Its statuses
// (the devices to choose from) are Authenticated for a second factor; a
// first one shows only the username typed.
func (v *View) unproven() bool {
	a := v.st.action()
	if a == nil || v.Flow.UserID == "" || v.st.SignedOn == v.Flow.UserID {
		return false
	}
	_, ff := v.e.reg.byType[a.Type].(FirstFactor)
	return ff
}

// User is the flow's user while rendering a status in which the user has
// authenticated (for Embedders); nil elsewhere, or when the flow has none.
func (v *View) User() *store.User { return v.user }

// Handed is what the step whose answer is being rendered handed it under
// key (Step.Hand); nil elsewhere (a GET, the step itself).
func (v *View) Handed(key string) any { return v.handed[key] }

// MethodState is the state a method keeps in the flow under name, decoded
// once per step: a zero T when the flow has none. Changes are saved with
// the step.
func MethodState[T any](v *View, name string) (*T, error) {
	if p, ok := v.states[name]; ok {
		t, ok := p.(*T)
		if !ok {
			return nil, fmt.Errorf("flow: method state %s read as two types", name)
		}
		return t, nil
	}
	t := new(T)
	if raw, ok := v.st.Methods[name]; ok {
		if err := json.Unmarshal(raw, t); err != nil {
			return nil, fmt.Errorf("flow %s: state of %s: %w", v.Flow.ID, name, err)
		}
	}
	v.states[name] = t
	return t, nil
}

// encodeStates writes the method states read back into the flow's state;
// an empty one is left out.
func (v *View) encodeStates() error {
	for name, p := range v.states {
		b, err := json.Marshal(p)
		if err != nil {
			return err
		}
		if string(b) == "{}" || string(b) == "null" {
			delete(v.st.Methods, name)
			continue
		}
		if v.st.Methods == nil {
			v.st.Methods = map[string]json.RawMessage{}
		}
		v.st.Methods[name] = b
	}
	return nil
}

// resetMethods drops every method's state but what Resetters keep, and
// the identifier typed: the sign-on starts over or has completed.
func (v *View) resetMethods() {
	keep := map[string]bool{}
	for _, m := range v.e.reg.methods {
		if r, ok := m.(Resetter); ok {
			r.Reset(v)
			keep[m.Name()] = true
		}
	}
	for name := range v.states {
		if !keep[name] {
			delete(v.states, name)
		}
	}
	for name := range v.st.Methods {
		if !keep[name] {
			delete(v.st.Methods, name)
		}
	}
	v.st.Username = ""
}

// offersAction reports whether act is among the actions the flow allows.
func (e *Engine) offersAction(v *View, act string) ([]string, bool) {
	ok := e.allowed(v)
	return ok, slices.Contains(ok, act)
}
