package flow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// ResumeURL is where a flow started with req returns when it ends.
func (e *Engine) ResumeURL(envID, flowID string, req *Request) string {
	return e.AuthPath + "/" + envID + "/" + req.ResumePath() + "?flowId=" + url.QueryEscape(flowID)
}

// Render is the flow as PingOne's flow API returns it; ar is the
// authorization response resume adds for pi.flow clients.
func (e *Engine) Render(ctx context.Context, f *store.Flow, ar *wire.AuthorizeResponse) (*wire.Flow, error) {
	return e.render(ctx, f, ar, nil)
}

// render is Render answering a step that handed it handed (Step.Hand).
func (e *Engine) render(ctx context.Context, f *store.Flow, ar *wire.AuthorizeResponse, handed map[string]any) (*wire.Flow, error) {
	v, err := e.view(f)
	if err != nil {
		return nil, err
	}
	v.handed = handed
	self := e.FlowURL(f.EnvironmentID, f.ID)
	out := &wire.Flow{
		Links:             wire.Links{"self": {Href: self}, "signOnPage": {Href: e.SignOnPageURL(f.EnvironmentID, f.ID)}},
		ID:                f.ID,
		Environment:       wire.Ref{ID: f.EnvironmentID},
		ResumeURL:         e.ResumeURL(f.EnvironmentID, f.ID, &v.st.Request),
		Status:            f.Status,
		CreatedAt:         wire.Time(f.CreatedAt),
		ExpiresAt:         wire.Time(f.ExpiresAt),
		Embedded:          &wire.FlowEmbedded{Application: &wire.FlowApplication{Name: v.st.AppName}},
		AuthorizeResponse: ar,
	}
	for _, a := range e.allowed(v) {
		out.Links[a] = wire.Href{Href: self}
	}
	if f.SessionID != "" {
		out.Session = &wire.Ref{ID: f.SessionID}
	}
	// The user is read only where the flow shows it: elsewhere (after
	// user.lookup, say) the read would make a known username's answer
	// slower than an unknown one's.
	if e.authenticated(f.Status) {
		if err := v.loadUser(ctx); err != nil {
			return nil, err
		}
	}
	switch u := v.user; {
	case u != nil && e.authenticated(f.Status) && !v.unproven():
		fu := &wire.FlowUser{ID: u.ID, Username: u.Username}
		if u.GivenName != "" || u.FamilyName != "" {
			fu.Name = &wire.FlowUserName{Given: u.GivenName, Family: u.FamilyName}
		}
		out.Embedded.User = fu
	case v.st.Username != "":
		out.Embedded.User = &wire.FlowUser{Username: v.st.Username}
	}
	for _, m := range e.reg.methods {
		if em, ok := m.(Embedder); ok {
			if err := em.Embed(ctx, v, out.Embedded); err != nil {
				return nil, err
			}
		}
	}
	for _, m := range e.reg.methods {
		if d, ok := m.(Decorator); ok {
			if err := d.Decorate(ctx, v, out); err != nil {
				return nil, err
			}
		}
	}
	if f.Status == StatusFailed {
		out.Error = &wire.FlowError{Code: v.st.Error, Message: v.st.ErrorDescription}
	}
	return out, nil
}

// PasswordPolicy is the password policy a new password of the flow's
// user (else of a new user) must meet, as the flow embeds it.
func (v *View) PasswordPolicy(ctx context.Context) (json.RawMessage, error) {
	if err := v.loadUser(ctx); err != nil {
		return nil, err
	}
	popID := ""
	if v.user != nil {
		popID = v.user.PopulationID
	}
	pp, _, err := v.e.Credentials.EffectivePolicy(ctx, v.e.Store, v.Flow.EnvironmentID, popID)
	if err != nil || pp == nil {
		return nil, err
	}
	m := map[string]any{}
	if err := json.Unmarshal(pp.Data, &m); err != nil {
		return nil, fmt.Errorf("password policy %s: %w", pp.ID, err)
	}
	m["id"], m["environment"], m["name"], m["default"] = pp.ID, wire.Ref{ID: pp.EnvironmentID}, pp.Name, pp.Default
	return json.Marshal(m)
}

// loadUser reads the flow's user, once; none when the flow has none or
// the user is gone.
func (v *View) loadUser(ctx context.Context) error {
	if v.user != nil || v.Flow.UserID == "" {
		return nil
	}
	u, err := v.e.Store.GetUser(ctx, v.Flow.EnvironmentID, v.Flow.UserID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	v.user = u
	return nil
}
