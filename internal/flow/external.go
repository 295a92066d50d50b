package flow

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/identity"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// The flow's side of external identity provider sign-on. internal/federation
// talks to the provider; these methods move the flow.

// ExternalStart is what /rp/authenticate sends to the provider.
type ExternalStart struct {
	State, Nonce, Verifier string
	// ACRValues come from an IDENTITY_PROVIDER action.
	ACRValues string
	// LoginHint is the authorize request's, passed on.
	LoginHint string
}

// offers reports whether the flow's current action offers providerID.
func (st *state) offers(status, providerID string) bool {
	a := st.action()
	if a == nil {
		return false
	}
	switch status {
	case StatusUsernamePasswordRequired, StatusSignOnRequired, StatusPasswordRequired:
		return slices.Contains(a.SocialProviders, providerID)
	case StatusExternalAuthRequired:
		return a.IdentityProvider == providerID
	}
	return false
}

// BeginExternal starts a sign-on at providerID for the flow: it keeps the
// state (by hash), nonce and PKCE verifier the callback will need. The
// state starts with the flow id, so the callback finds the flow without an
// index, and its random rest proves it.
func (e *Engine) BeginExternal(ctx context.Context, f *store.Flow, providerID string) (*ExternalStart, error) {
	st, err := decodeState(f)
	if err != nil {
		return nil, err
	}
	if !st.offers(f.Status, providerID) {
		return nil, wire.InvalidRequest(wire.InvalidValue("providerId", "The flow does not offer this identity provider in its status "+f.Status+"."))
	}
	now := e.now()
	x := &ExternalStart{State: f.ID + "." + secrets.Random(32), Nonce: secrets.Random(32), Verifier: secrets.Random(48), LoginHint: st.Request.LoginHint}
	if a := st.action(); a.Type == "IDENTITY_PROVIDER" {
		x.ACRValues = a.ACRValues
	}
	st.External = &external{ProviderID: providerID, StateHash: session.HashToken(x.State), Nonce: x.Nonce, Verifier: x.Verifier,
		ExpiresAt: now.Add(FlowIdle).UnixMilli()}
	s := &step{e: e, f: f, st: st, now: now}
	if err := s.save(ctx, e.Store); err != nil {
		return nil, err
	}
	return x, nil
}

// ExternalPending is the provider sign-on a callback completes.
type ExternalPending struct {
	ProviderID, Nonce, Verifier string
}

// ErrExternalState answers a callback whose state names no provider
// sign-on in progress: forged, replayed, or from another browser.
var ErrExternalState = wire.InvalidRequest(wire.InvalidValue("state",
	"The state does not match a sign-on in progress: it is unknown, was already used, or has expired."))

// ExternalCallback finds the flow a callback's state names, for this
// browser, and consumes its provider sign-on: a replayed callback finds
// nothing.
func (e *Engine) ExternalCallback(ctx context.Context, envID, stateParam, token string) (*store.Flow, *ExternalPending, error) {
	flowID, _, ok := strings.Cut(stateParam, ".")
	if !ok {
		return nil, nil, ErrExternalState
	}
	f, err := e.Load(ctx, envID, flowID, token)
	if errors.Is(err, ErrFlowNotFound) {
		return nil, nil, ErrExternalState
	}
	if err != nil {
		return nil, nil, err
	}
	st, err := decodeState(f)
	if err != nil {
		return nil, nil, err
	}
	now := e.now()
	x := st.External
	if x == nil || !secrets.Equal(x.StateHash, session.HashToken(stateParam)) || now.UnixMilli() >= x.ExpiresAt {
		return nil, nil, ErrExternalState
	}
	st.External = nil
	s := &step{e: e, f: f, st: st, now: now}
	if err := s.save(ctx, e.Store); err != nil {
		// A concurrent replay lost the race on the flow's version.
		return nil, nil, ErrExternalState
	}
	return f, &ExternalPending{ProviderID: x.ProviderID, Nonce: x.Nonce, Verifier: x.Verifier}, nil
}

// ExternalFailed ends the flow: the provider refused the user or could not
// be used. Resume reports code and description to the application.
func (e *Engine) ExternalFailed(ctx context.Context, f *store.Flow, code, description string) error {
	st, err := decodeState(f)
	if err != nil {
		return err
	}
	st.Error, st.ErrorDescription = code, description
	f.Status = StatusFailed
	return (&step{e: e, f: f, st: st, now: e.now()}).save(ctx, e.Store)
}

// ExternalSignOn signs on the user an external identity is linked to,
// applying the provider's attribute mappings. It returns the new ST value.
func (e *Engine) ExternalSignOn(ctx context.Context, f *store.Flow, u *store.User, attrs []MappedAttribute) (string, error) {
	st, err := decodeState(f)
	if err != nil {
		return "", err
	}
	if !u.Enabled || credential.AccountLocked(u, e.now()) {
		return "", e.ExternalFailed(ctx, f, "access_denied", "The user account is disabled or locked.")
	}
	s := &step{e: e, f: f, st: st, now: e.now()}
	err = s.complete(ctx, u, []string{"fed"}, func(tx store.Store) error {
		return applyAttributes(ctx, tx, u.EnvironmentID, u.ID, attrs, s.now)
	})
	return s.token, err
}

// ExternalLinkRequired asks the user to prove a local account, which the
// external identity will then be linked to (ACCOUNT_LINKING_REQUIRED).
func (e *Engine) ExternalLinkRequired(ctx context.Context, f *store.Flow, id ExternalIdentity) error {
	st, err := decodeState(f)
	if err != nil {
		return err
	}
	st.Pending = &id
	st.Username = ""
	f.UserID = ""
	f.Status = StatusAccountLinkingRequired
	return (&step{e: e, f: f, st: st, now: e.now()}).save(ctx, e.Store)
}

// RegisterPopulation is where the flow's current action registers new
// users ("" when it does not register them).
func RegisterPopulation(f *store.Flow) (register bool, populationID string) {
	st, err := decodeState(f)
	if err != nil || st.action() == nil {
		return false, ""
	}
	a := st.action()
	return a.Register, a.RegisterPopulation
}

// PiFlow reports whether the flow's client drives it itself.
func PiFlow(f *store.Flow) bool {
	st, err := decodeState(f)
	return err == nil && st.Request.PiFlow()
}

// ---- user attributes from providers

// applyAttributes writes mapped attributes to the user at sign-on, by
// their update rules. The username never changes at sign-on: it is how
// the user is known locally.
func applyAttributes(ctx context.Context, tx store.Store, envID, userID string, attrs []MappedAttribute, now time.Time) error {
	if len(attrs) == 0 {
		return nil
	}
	u, err := tx.GetUser(ctx, envID, userID)
	if err != nil {
		return err
	}
	changed, err := identity.ApplyAttributes(u, attrs, false)
	if err != nil || !changed {
		return err
	}
	u.UpdatedAt = now
	return tx.UpdateUser(ctx, u)
}
