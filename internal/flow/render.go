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
