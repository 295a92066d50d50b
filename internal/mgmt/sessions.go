package mgmt

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// A user's sessions (PingOne's User Sessions API: read them, end one) and
// the environment's session settings (idle timeout, maximum lifetime).
// Ending a session ends its SSO and revokes every grant made in it, as a
// sign-off does. The settings ride in the environment's JSON under
// "sessions", beside branding.

const sessionsKey = "sessions"

func (a *API) sessionRoutes(mux router) {
	base := "/v1/environments/{envID}/users/{userID}/sessions"
	mux.Handle("GET "+base, a.handle(a.listUserSessions))
	mux.Handle("GET "+base+"/{sessionID}", a.handle(a.getUserSession))
	mux.Handle("DELETE "+base+"/{sessionID}", a.handle(a.deleteUserSession))
	settings := "/v1/environments/{envID}/sessionSettings"
	mux.Handle("GET "+settings, a.handle(a.getSessionSettings))
	mux.Handle("PUT "+settings, a.handle(a.updateSessionSettings))
}

func (a *API) renderUserSession(s *store.Session) wire.UserSession {
	user := a.userHref(s.EnvironmentID, s.UserID)
	amr := s.AMR
	if amr == nil {
		amr = []string{}
	}
	return wire.UserSession{
		Links: wire.Links{"self": {Href: user + "/sessions/" + s.ID}, "environment": {Href: a.APIPath + "/environments/" + s.EnvironmentID},
			"user": {Href: user}},
		ID: s.ID, Environment: wire.Ref{ID: s.EnvironmentID}, User: wire.Ref{ID: s.UserID},
		CreatedAt: wire.Time(s.CreatedAt), ActiveAt: wire.Time(s.LastUsedAt),
		LastSignOn: wire.UserSessionSignOn{At: wire.Time(s.AuthTime), Authenticators: amr},
		ExpiresAt:  wire.Time(s.ExpiresAt),
	}
}

func (a *API) listUserSessions(w http.ResponseWriter, r *http.Request) error {
	env, _, err := a.userScope(r, roles.ReadUser)
	if err != nil {
		return err
	}
	userID := r.PathValue("userID")
	if _, err := a.Store.GetUser(r.Context(), env.ID, userID); err != nil {
		return err
	}
	sessions, err := a.Store.ListUserSessions(r.Context(), env.ID, userID)
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, wholeList(a.userHref(env.ID, userID)+"/sessions", "sessions", renderAll(sessions, a.renderUserSession)))
	return nil
}

func (a *API) getUserSession(w http.ResponseWriter, r *http.Request) error {
	env, _, err := a.userScope(r, roles.ReadUser)
	if err != nil {
		return err
	}
	s, err := a.Store.GetSession(r.Context(), env.ID, r.PathValue("sessionID"))
	if err != nil {
		return err
	}
	if s.UserID != r.PathValue("userID") {
		return store.ErrNotFound // another user's session is not this user's
	}
	wire.Write(w, http.StatusOK, a.renderUserSession(s))
	return nil
}

// deleteUserSession ends the session: the browser's SSO ends with it and
// every grant made in it is revoked (its refresh tokens, the access
// tokens they and its codes issued).
func (a *API) deleteUserSession(w http.ResponseWriter, r *http.Request) error {
	env, _, err := a.userScope(r, roles.WriteUser)
	if err != nil {
		return err
	}
	if err := a.Store.EndUserSession(r.Context(), env.ID, r.PathValue("userID"), r.PathValue("sessionID"), store.Now()); err != nil {
		return err
	}
	wire.NoContent(w)
	return nil
}

func (a *API) renderSessionSettings(envID string, s wire.SessionSettings) wire.SessionSettingsResponse {
	envHref := a.APIPath + "/environments/" + envID
	return wire.SessionSettingsResponse{
		Links:       wire.Links{"self": {Href: envHref + "/sessionSettings"}, "environment": {Href: envHref}},
		Environment: wire.Ref{ID: envID}, SessionSettings: s,
	}
}

func (a *API) getSessionSettings(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	return writeDecoded(w, http.StatusOK, env, config.DecodeEnvironment, func(e *config.Environment) wire.SessionSettingsResponse {
		return a.renderSessionSettings(e.ID, e.Sessions)
	})
}

// updateSessionSettings replaces the settings: a member left out takes its
// default. Sessions live by the new settings from their next use or
// sign-on; an expiry already set is kept until then.
func (a *API) updateSessionSettings(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	var req wire.SessionSettingsRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	set, details := req.Normalize()
	if len(details) > 0 {
		return wire.InvalidData(details...)
	}
	if err := a.putEnvironmentKey(r.Context(), env.ID, sessionsKey, set, set == wire.DefaultSessionSettings()); err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, a.renderSessionSettings(env.ID, set))
	return nil
}

// putEnvironmentKey sets one key of envID's data (branding, session
// settings) to v, or removes it when remove. It reads the environment again
// inside the transaction (locked on PostgreSQL) and rewrites only that key,
// so that a concurrent write of another key (billOfMaterials, icon, the
// other settings) is neither lost nor overwritten.
func (a *API) putEnvironmentKey(ctx context.Context, envID, key string, v any, remove bool) error {
	return a.Store.Tx(ctx, func(tx store.Store) error {
		cur, err := tx.GetEnvironment(ctx, envID)
		if err != nil {
			return err
		}
		data, err := withEnvironmentKey(cur.Data, key, v, remove)
		if err != nil {
			return err
		}
		cur.Data = data
		return tx.UpdateEnvironment(ctx, cur)
	})
}

// withEnvironmentKey returns data with key set to v, or removed when
// remove; every other key keeps its bytes.
func withEnvironmentKey(data json.RawMessage, key string, v any, remove bool) (json.RawMessage, error) {
	m := map[string]json.RawMessage{}
	if len(data) > 0 && string(data) != "null" {
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, errors.Join(errors.New("mgmt: environment data is not a JSON object"), err)
		}
		if m == nil {
			m = map[string]json.RawMessage{}
		}
	}
	if remove {
		delete(m, key)
	} else {
		m[key] = mustJSON(v)
	}
	return mustJSON(m), nil
}
