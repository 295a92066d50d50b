package flow

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Links of a flow.
func (e *Engine) FlowURL(envID, flowID string) string {
	return e.AuthPath + "/" + envID + "/flows/" + flowID
}

func (e *Engine) SignOnPageURL(envID, flowID string) string {
	return e.AuthPath + "/" + envID + "/signon/?flowId=" + url.QueryEscape(flowID)
}

func (e *Engine) ResumeURL(envID, flowID string) string {
	return e.AuthPath + "/" + envID + "/as/resume?flowId=" + url.QueryEscape(flowID)
}

// authenticated statuses come after the user proved who they are: the
// flow may show the user's id and name.
func authenticated(status string) bool {
	switch status {
	case StatusCompleted, StatusMustChangePassword, StatusPasswordExpired, StatusVerificationCodeRequired:
		return true
	}
	return false
}

// Render is the flow as PingOne's flow API returns it; ar is the
// authorization response resume adds for pi.flow clients.
func (e *Engine) Render(ctx context.Context, f *store.Flow, ar *wire.AuthorizeResponse) (*wire.Flow, error) {
	st, err := decodeState(f)
	if err != nil {
		return nil, err
	}
	self := e.FlowURL(f.EnvironmentID, f.ID)
	out := &wire.Flow{
		Links:             wire.Links{"self": {Href: self}, "signOnPage": {Href: e.SignOnPageURL(f.EnvironmentID, f.ID)}},
		ID:                f.ID,
		Environment:       wire.Ref{ID: f.EnvironmentID},
		ResumeURL:         e.ResumeURL(f.EnvironmentID, f.ID),
		Status:            f.Status,
		CreatedAt:         wire.Time(f.CreatedAt),
		ExpiresAt:         wire.Time(f.ExpiresAt),
		Embedded:          &wire.FlowEmbedded{Application: &wire.FlowApplication{Name: st.AppName}},
		AuthorizeResponse: ar,
	}
	for _, a := range allowed(f.Status, st.action()) {
		out.Links[a] = wire.Href{Href: self}
	}
	if f.SessionID != "" {
		out.Session = &wire.Ref{ID: f.SessionID}
	}
	var u *store.User
	if f.UserID != "" {
		u, err = e.Store.GetUser(ctx, f.EnvironmentID, f.UserID)
		if errors.Is(err, store.ErrNotFound) {
			u, err = nil, nil
		}
		if err != nil {
			return nil, err
		}
	}
	switch {
	case u != nil && authenticated(f.Status):
		fu := &wire.FlowUser{ID: u.ID, Username: u.Username}
		if u.GivenName != "" || u.FamilyName != "" {
			fu.Name = &wire.FlowUserName{Given: u.GivenName, Family: u.FamilyName}
		}
		out.Embedded.User = fu
	case st.Username != "":
		out.Embedded.User = &wire.FlowUser{Username: st.Username}
	}
	if err := e.renderProviders(ctx, f, st, out.Embedded); err != nil {
		return nil, err
	}
	if f.Status == StatusFailed {
		out.Error = &wire.FlowError{Code: st.Error, Message: st.ErrorDescription}
	}
	if needsPolicy(f.Status, st.action()) {
		popID := ""
		if u != nil {
			popID = u.PopulationID
		}
		pp, _, err := e.Credentials.EffectivePolicy(ctx, e.Store, f.EnvironmentID, popID)
		if err != nil {
			return nil, err
		}
		if pp != nil {
			out.Embedded.PasswordPolicy = renderPolicy(pp)
		}
	}
	return out, nil
}

// AuthenticateURL is where a browser starts a sign-on at a provider.
func (e *Engine) AuthenticateURL(envID, providerID, flowID string) string {
	return e.AuthPath + "/" + envID + "/rp/authenticate?" + url.Values{"providerId": {providerID}, "flowId": {flowID}}.Encode()
}

// renderProviders embeds the identity providers the status offers: the
// action's socialProviders, the IDENTITY_PROVIDER action's provider, or
// the provider whose account is being linked. Disabled or deleted
// providers are left out.
func (e *Engine) renderProviders(ctx context.Context, f *store.Flow, st *state, emb *wire.FlowEmbedded) error {
	a := st.action()
	var ids []string
	single := ""
	switch {
	case f.Status == StatusAccountLinkingRequired && st.Pending != nil:
		single = st.Pending.ProviderID
	case f.Status == StatusExternalAuthRequired && a != nil:
		single = a.IdentityProvider
	case a != nil && (f.Status == StatusUsernamePasswordRequired || f.Status == StatusSignOnRequired || f.Status == StatusPasswordRequired):
		ids = a.SocialProviders
	}
	if single != "" {
		ids = []string{single}
	}
	if len(ids) == 0 {
		return nil
	}
	all, err := e.Store.ListIdentityProviders(ctx, f.EnvironmentID)
	if err != nil {
		return err
	}
	for _, id := range ids {
		for _, p := range all {
			if p.ID != id || !p.Enabled {
				continue
			}
			sp := wire.SocialProvider{ID: p.ID, Type: p.Type, Name: p.Name}
			if f.Status != StatusAccountLinkingRequired {
				sp.Links = wire.Links{"authenticate": {Href: e.AuthenticateURL(f.EnvironmentID, p.ID, f.ID)}}
			}
			if single != "" {
				emb.IdentityProvider = &sp
			} else {
				emb.SocialProviders = append(emb.SocialProviders, sp)
			}
		}
	}
	return nil
}

// needsPolicy: the statuses where the user types a new password show the
// rules it must meet.
func needsPolicy(status string, a *action) bool {
	switch status {
	case StatusMustChangePassword, StatusPasswordExpired, StatusRecoveryCodeRequired:
		return true
	case StatusUsernamePasswordRequired, StatusSignOnRequired:
		return a != nil && a.Register
	}
	return false
}

func renderPolicy(pp *store.PasswordPolicy) json.RawMessage {
	m := map[string]any{}
	_ = json.Unmarshal(pp.Data, &m)
	m["id"], m["environment"], m["name"], m["default"] = pp.ID, wire.Ref{ID: pp.EnvironmentID}, pp.Name, pp.Default
	b, _ := json.Marshal(m)
	return b
}
