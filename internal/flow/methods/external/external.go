// Package external is the flow's side of signing on at an external
// identity provider, whatever its protocol: the providers a policy action
// offers (socialProviders, or an IDENTITY_PROVIDER action:
// EXTERNAL_AUTHENTICATION_REQUIRED), the provider sign-on in progress
// (bound to the flow by a one-time state), and what the provider's answer
// leads to: the linked user signs on, a new user registered just in time
// signs on, or the user proves a local account to link
// (ACCOUNT_LINKING_REQUIRED). internal/federation speaks the protocols
// and calls this package; what a protocol must remember between its
// redirect and its callback (a nonce, a PKCE verifier) rides along
// opaque.
package external

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/identity"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Name keys the method's state in flows.
const Name = "external"

// Method is external identity provider sign-on.
type Method struct {
	flows *flow.Engine
}

// New returns the method of the engine it will be registered with.
func New(flows *flow.Engine) *Method { return &Method{flows: flows} }

// Attribute is a user attribute a provider's mapping gives: Name is the
// user attribute's path (username, name.given…).
type Attribute = identity.Attribute

// Identity is a user as an external identity provider vouched for them,
// with the attributes its mappings give.
type Identity struct {
	ProviderID string      `json:"providerId"`
	Subject    string      `json:"subject"`
	Attributes []Attribute `json:"attributes,omitempty"`
}

// state is the provider sign-on in progress, and the external identity
// waiting for the user to prove a local account.
type state struct {
	Attempt *attempt  `json:"attempt,omitempty"`
	Link    *Identity `json:"link,omitempty"`
}

func (*Method) Name() string { return Name }

func (*Method) Statuses() []flow.Status {
	return []flow.Status{{Name: wire.StatusExternalAuthRequired}, {Name: wire.StatusAccountLinkingRequired}}
}

// Offers: linking asks for the local account's password.
func (*Method) Offers(v *flow.View) []string {
	if v.Status() == wire.StatusAccountLinkingRequired {
		return []string{wire.ActionUsernamePasswordCheck}
	}
	return nil
}

// Actions: none of the flow API; a provider sign-on runs through the
// relying party's endpoints (Begin, Callback).
func (*Method) Actions() []string { return nil }

func (*Method) Run(context.Context, *flow.Step, string, []byte) error {
	return errors.New("external: no flow API action")
}

// Begins: an IDENTITY_PROVIDER action sends the user to its provider.
func (*Method) Begins() []string { return []string{"IDENTITY_PROVIDER"} }

func (*Method) BeginStatus(*flow.PolicyAction) string { return wire.StatusExternalAuthRequired }

// offered lists the providers the flow offers now, and whether it offers
// one alone (an IDENTITY_PROVIDER action) rather than beside a password.
func offered(v *flow.View) (ids []string, single bool) {
	a := v.Action()
	if a == nil {
		return nil, false
	}
	switch {
	case v.Status() == wire.StatusExternalAuthRequired:
		if a.Settings.IdentityProvider != nil {
			return []string{a.Settings.IdentityProvider.ID}, true
		}
	case v.SigningOn():
		for _, sp := range a.Settings.SocialProviders {
			ids = append(ids, sp.ID)
		}
		return ids, false
	}
	return nil, false
}

// Embed lists the providers offered, with their authenticate links, or
// the provider whose account is being linked. Disabled or deleted
// providers are left out.
func (m *Method) Embed(ctx context.Context, v *flow.View, out *wire.FlowEmbedded) error {
	ids, single := offered(v)
	if v.Status() == wire.StatusAccountLinkingRequired {
		st, err := flow.MethodState[state](v, Name)
		if err != nil {
			return err
		}
		if st.Link != nil {
			ids, single = []string{st.Link.ProviderID}, true
		}
	}
	if len(ids) == 0 {
		return nil
	}
	f := v.Flow
	for _, id := range ids {
		p, err := m.flows.Config.IdentityProvider(ctx, f.EnvironmentID, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if !p.Enabled {
			continue
		}
		sp := wire.SocialProvider{ID: p.ID, Type: p.Type, Name: p.Name}
		if f.Status != wire.StatusAccountLinkingRequired {
			sp.Links = wire.Links{"authenticate": {Href: m.authenticateURL(f.EnvironmentID, p.ID, f.ID)}}
		}
		if single {
			out.IdentityProvider = &sp
		} else {
			out.SocialProviders = append(out.SocialProviders, sp)
		}
	}
	return nil
}

// authenticateURL is where a browser starts a sign-on at a provider
// (internal/federation serves it).
func (m *Method) authenticateURL(envID, providerID, flowID string) string {
	return m.flows.AuthPath + "/" + envID + "/rp/authenticate?" + url.Values{"providerId": {providerID}, "flowId": {flowID}}.Encode()
}

// Completing links the external identity waiting for a local account to
// the user who just proved it, applying the provider's attributes, in the
// sign-on's transaction.
func (*Method) Completing(ctx context.Context, s *flow.Step, tx store.Store, u *store.User) ([]string, error) {
	st, err := flow.MethodState[state](s.View, Name)
	if err != nil || st.Link == nil {
		return nil, err
	}
	p := st.Link
	err = tx.CreateLinkedAccount(ctx, &store.LinkedAccount{ID: uuid.NewString(), EnvironmentID: u.EnvironmentID, UserID: u.ID,
		IdentityProviderID: p.ProviderID, ExternalID: p.Subject, CreatedAt: s.Now, UpdatedAt: s.Now})
	var ue *store.UniqueError
	if errors.As(err, &ue) {
		return nil, wire.RequestFailed("The external account was linked to a user while this sign-on ran: sign on again.")
	}
	if err != nil {
		return nil, err
	}
	if err := applyAttributes(ctx, tx, u.EnvironmentID, u.ID, p.Attributes, s.Now); err != nil {
		return nil, err
	}
	s.Record(ctx, flow.Outcome{Type: audit.AccountLinked, User: u,
		Resources: []store.ActivityResource{{ID: p.ProviderID, Type: audit.ResIdentityProvider, EnvironmentID: u.EnvironmentID}}})
	return []string{"fed"}, nil
}

// attempt is a sign-on at a provider in progress: what the callback must
// find to accept the provider's answer.
type attempt struct {
	ProviderID string          `json:"providerId"`
	StateHash  string          `json:"stateHash"`
	ExpiresAt  int64           `json:"expiresAt"` // unix ms
	Protocol   json.RawMessage `json:"protocol,omitempty"`
}

// Begun is a provider sign-on the flow now waits for: the state the
// provider must send back, and what the flow passes on to the provider.
type Begun struct {
	State string
	// ACRValues come from an IDENTITY_PROVIDER action.
	ACRValues string
	// LoginHint is the authorize request's.
	LoginHint string
}

// Begin starts a sign-on at providerID for the flow, if the flow offers
// that provider now. start is the protocol's part: given the state the
// provider must send back and what the flow passes on, it returns what
// the protocol must find again at the callback, which the flow keeps
// with the state's hash. The state starts with the flow id, so that the
// callback finds the flow without an index, and its random rest proves
// it.
func (m *Method) Begin(ctx context.Context, f *store.Flow, providerID string, start func(b *Begun) (remember any, err error)) error {
	_, err := m.flows.Do(ctx, f, func(s *flow.Step) error {
		ids, _ := offered(s.View)
		if !slices.Contains(ids, providerID) {
			return wire.InvalidRequest(wire.InvalidValue("providerId", "The flow does not offer this identity provider in its status "+f.Status+"."))
		}
		st, err := flow.MethodState[state](s.View, Name)
		if err != nil {
			return err
		}
		b := &Begun{State: f.ID + "." + secrets.Random(32), LoginHint: s.Request().LoginHint}
		if a := s.Action(); a.Type == "IDENTITY_PROVIDER" {
			b.ACRValues = a.Settings.AcrValues
		}
		remember, err := start(b)
		if err != nil {
			return err
		}
		raw, err := json.Marshal(remember)
		if err != nil {
			return err
		}
		st.Attempt = &attempt{ProviderID: providerID, StateHash: session.HashToken(b.State), ExpiresAt: s.Now.Add(flow.FlowIdle).UnixMilli(),
			Protocol: raw}
		return s.Save(ctx)
	})
	return err
}

// Attempt is the provider sign-on a callback completes.
type Attempt struct {
	ProviderID string
	// Protocol is what Begin was given.
	Protocol json.RawMessage
}

// ErrState answers a callback whose state names no provider sign-on in
// progress: forged, replayed, or from another browser.
var ErrState = wire.InvalidRequest(wire.InvalidValue("state",
	"The state does not match a sign-on in progress: it is unknown, was already used, or has expired."))

// Callback finds the flow a callback's state names, for this browser, and
// consumes its provider sign-on: a replayed callback finds nothing.
func (m *Method) Callback(ctx context.Context, envID, stateParam, token string) (*store.Flow, *Attempt, error) {
	flowID, _, ok := strings.Cut(stateParam, ".")
	if !ok {
		return nil, nil, ErrState
	}
	f, err := m.flows.Load(ctx, envID, flowID, token)
	if errors.Is(err, flow.ErrFlowNotFound) {
		return nil, nil, ErrState
	}
	if err != nil {
		return nil, nil, err
	}
	var out *Attempt
	_, err = m.flows.Do(ctx, f, func(s *flow.Step) error {
		st, err := flow.MethodState[state](s.View, Name)
		if err != nil {
			return err
		}
		x := st.Attempt
		if x == nil || !secrets.Equal(x.StateHash, session.HashToken(stateParam)) || s.Now.UnixMilli() >= x.ExpiresAt {
			return ErrState
		}
		st.Attempt = nil
		if err := s.Save(ctx); err != nil {
			// A concurrent replay lost the race on the flow's version.
			return ErrState
		}
		out = &Attempt{ProviderID: x.ProviderID, Protocol: x.Protocol}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return f, out, nil
}

// Fail ends the flow: the provider refused the user or could not be
// used. Resume reports code and description to the application.
func (m *Method) Fail(ctx context.Context, f *store.Flow, code, description string) error {
	return m.flows.Fail(ctx, f, code, description)
}

// SignOn signs on the user an external identity is linked to (or was
// just registered for), applying the provider's attribute mappings. It
// returns the new ST value.
func (m *Method) SignOn(ctx context.Context, f *store.Flow, idp store.ActivityResource, u *store.User, attrs []Attribute) (string, error) {
	return m.flows.Do(ctx, f, func(s *flow.Step) error {
		o := flow.Outcome{Type: audit.ExternalAuthSucceeded, Method: flow.MetricExternal, Result: flow.ResultSuccess, User: u,
			Resources: []store.ActivityResource{idp}}
		if !u.Enabled || credential.AccountLocked(u, s.Now) {
			o.Type, o.Result, o.Failure = audit.ExternalAuthFailed, flow.ResultFailure, "The user account is disabled or locked."
			s.Record(ctx, o)
			return s.Fail(ctx, "access_denied", o.Failure)
		}
		s.Record(ctx, o)
		return s.Complete(ctx, u, []string{"fed"}, func(tx store.Store) error {
			return applyAttributes(ctx, tx, u.EnvironmentID, u.ID, attrs, s.Now)
		})
	})
}

// LinkRequired asks the user to prove a local account, which the external
// identity will then be linked to (ACCOUNT_LINKING_REQUIRED).
func (m *Method) LinkRequired(ctx context.Context, f *store.Flow, id Identity) error {
	_, err := m.flows.Do(ctx, f, func(s *flow.Step) error {
		st, err := flow.MethodState[state](s.View, Name)
		if err != nil {
			return err
		}
		st.Link = &id
		s.Identify("")
		s.Flow.UserID = ""
		s.SetStatus(wire.StatusAccountLinkingRequired)
		return s.Save(ctx)
	})
	return err
}

// Registration reports whether the flow's current action registers new
// users just in time, and where ("" = the environment's default).
func (m *Method) Registration(f *store.Flow) (bool, string, error) {
	v, err := m.flows.View(f)
	if err != nil || v.Action() == nil {
		return false, "", err
	}
	on, pop := v.Action().Registration()
	return on, pop, nil
}

// applyAttributes writes mapped attributes to the user at sign-on, by
// their update rules. The username never changes at sign-on: it is how
// the user is known locally.
func applyAttributes(ctx context.Context, tx store.Store, envID, userID string, attrs []Attribute, now time.Time) error {
	if len(attrs) == 0 {
		return nil
	}
	u, err := tx.GetUser(ctx, envID, userID)
	if err != nil {
		return err
	}
	changed, err := identity.ApplyAttributes(ctx, tx, u, attrs, false)
	if err != nil || !changed {
		return err
	}
	u.UpdatedAt = now
	return tx.UpdateUser(ctx, u)
}
