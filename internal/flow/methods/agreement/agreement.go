// Package agreement is the sign-on method of PingOne's AGREEMENT action:
// once an earlier action has signed the user on, a user whose consent to
// the action's agreement does not hold (never given, revoked, expired,
// or a later revision asks again) is shown the current revision in their
// language (AGREEMENT_CONSENT_REQUIRED); user.consent {"accept": true}
// records the consent (the user's agreementConsents), and a refusal
// fails the flow, unless the action's disableDeclineOption takes the
// choice away. A user whose consent holds passes. The rules of which
// revision, language and consent count live in internal/agreement.
package agreement

import (
	"context"
	"encoding/json"
	"errors"

	agree "github.com/gatehouse-id/gatehouse/internal/agreement"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Name keys the method's state in flows.
const Name = "agreement"

// ActionType is the sign-on policy action the method runs.
const ActionType = "AGREEMENT"

// Method is the AGREEMENT method.
type Method struct{}

// State is the prompt shown, so that the consent recorded is to the
// revision the user read, not one that became effective meanwhile. The
// text is read again when the flow is rendered.
type State struct {
	AgreementID string `json:"agreementId,omitempty"`
	LanguageID  string `json:"languageId,omitempty"`
	RevisionID  string `json:"revisionId,omitempty"`
	Locale      string `json:"locale,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
}

func (*Method) Name() string { return Name }

func (*Method) Statuses() []flow.Status {
	return []flow.Status{{Name: wire.StatusAgreementConsentRequired, Authenticated: true}}
}

func (*Method) Actions() []string { return []string{wire.ActionUserConsent} }

func (*Method) Begins() []string { return []string{ActionType} }

// Collects: what the user gives outlives the sign-on, so a user the
// application refuses is refused before being asked (flow.Collector).
func (*Method) Collects() {}

func (*Method) BeginStatus(*flow.PolicyAction) string { return wire.StatusAgreementConsentRequired }

// SatisfiedBy: never by a session alone; the user's consent decides
// (Enter), at every sign-on, so that a new revision asks again.
func (*Method) SatisfiedBy(*flow.PolicyAction, *store.Session) bool { return false }

func (*Method) Offers(v *flow.View) []string {
	if v.Status() == wire.StatusAgreementConsentRequired {
		return []string{wire.ActionUserConsent}
	}
	return nil
}

// Enter shows u the agreement when their consent does not hold, or
// passes the action.
func (m *Method) Enter(ctx context.Context, s *flow.Step, u *store.User) error {
	if u == nil {
		return s.Fail(ctx, "invalid_request", "The sign-on policy asks for consent to an agreement before any of its actions has signed the user on.")
	}
	a := s.Action()
	id := ""
	if a.Settings.Agreement != nil {
		id = a.Settings.Agreement.ID
	}
	// PingOne's order: the user's languages, then the browser's.
	locales := append(agree.UserLocales(u), s.Request().Languages...)
	p, err := agree.Pending(ctx, s.Engine().Store, s.Flow.EnvironmentID, id, u.ID, locales, s.Now)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return s.Fail(ctx, "server_error", "The sign-on policy names an agreement that does not exist.")
	case errors.Is(err, agree.ErrNoContent):
		return s.Fail(ctx, "server_error", "The sign-on policy's agreement has no language with a revision in force.")
	case err != nil:
		return err
	case p == nil:
		return s.Pass(ctx, u)
	case s.Silent():
		// Consent needs the user (prompt=none: login_required).
		return nil
	}
	st, err := flow.MethodState[State](s.View, Name)
	if err != nil {
		return err
	}
	*st = State{AgreementID: p.AgreementID, LanguageID: p.LanguageID, RevisionID: p.RevisionID, Locale: p.Locale, DisplayName: p.DisplayName}
	s.SetStatus(wire.StatusAgreementConsentRequired)
	return s.Save(ctx)
}

// declineAllowed reports whether the action lets the user decline.
func declineAllowed(a *flow.PolicyAction) bool {
	return a == nil || a.Settings.DisableDeclineOption == nil || !*a.Settings.DisableDeclineOption
}

// Run is user.consent.
func (m *Method) Run(ctx context.Context, s *flow.Step, action string, body []byte) error {
	var raw map[string]json.RawMessage
	if err := flow.Decode(body, &raw); err != nil {
		return err
	}
	b, ok := raw["accept"]
	if !ok || string(b) == "null" {
		return wire.InvalidData(wire.Required("accept"))
	}
	var accept bool
	if err := json.Unmarshal(b, &accept); err != nil {
		return wire.InvalidData(wire.InvalidValue("accept", "accept must be true or false."))
	}
	u, err := s.LoadUser(ctx)
	if err != nil {
		return err
	}
	if !accept {
		if !declineAllowed(s.Action()) {
			return wire.InvalidData(wire.InvalidValue("accept", "The agreement must be accepted to continue: the sign-on policy does not offer to decline it."))
		}
		return s.Fail(ctx, "access_denied", "The user did not accept the agreement.")
	}
	st, err := flow.MethodState[State](s.View, Name)
	if err != nil {
		return err
	}
	p := &agree.Prompt{AgreementID: st.AgreementID, LanguageID: st.LanguageID, RevisionID: st.RevisionID}
	err = agree.Accept(ctx, s.Engine().Store, s.Flow.EnvironmentID, u.ID, p, s.Now)
	if errors.Is(err, store.ErrNotFound) {
		// The agreement or its revision went away meanwhile: ask anew.
		return m.Enter(ctx, s, u)
	}
	if err != nil {
		return err
	}
	return s.Pass(ctx, u)
}

// Embed adds the agreement shown: its current revision's text, in the
// language picked for the user.
func (*Method) Embed(ctx context.Context, v *flow.View, out *wire.FlowEmbedded) error {
	if v.Status() != wire.StatusAgreementConsentRequired {
		return nil
	}
	st, err := flow.MethodState[State](v, Name)
	if err != nil || st.RevisionID == "" {
		return err
	}
	r, err := v.Engine().Store.GetAgreementRevision(ctx, v.Flow.EnvironmentID, st.AgreementID, st.LanguageID, st.RevisionID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // gone since: user.consent asks anew
	}
	if err != nil {
		return err
	}
	out.Agreement = &wire.FlowAgreement{ID: st.AgreementID, Name: st.DisplayName, Language: wire.Ref{ID: st.LanguageID}, Locale: st.Locale,
		Revision: wire.Ref{ID: st.RevisionID}, ContentType: r.ContentType, Text: r.Text, DeclineAllowed: declineAllowed(v.Action())}
	return nil
}
