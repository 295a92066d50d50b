package authsvc

import (
	"context"
	"errors"
	"html/template"
	"mime"
	"net/http"
	"net/url"

	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// signedOffPage is what a browser sees when no application asked to get
// it back. No script, no external resources.
var signedOffPage = template.Must(template.New("signoff").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Signed off</title>
</head>
<body>
<main>
<h1>You have signed off</h1>
<p>You can close this window.</p>
</main>
</body>
</html>
`))

// signoff is OpenID Connect RP-Initiated Logout as PingOne serves it: it
// ends the session the ST cookie names (revoking every grant made in it)
// and clears the cookies, then sends the browser to the application's
// registered post_logout_redirect_uri, or shows a signed-off page. Every
// check runs before anything ends: a refused request changes nothing.
func (s *Service) signoff(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	envID := r.PathValue("envID")
	env, err := s.Config.Environment(ctx, envID)
	if err != nil {
		wire.WriteErrorCtx(ctx, w, err)
		return
	}
	params, err := signoffParams(w, r)
	if err != nil {
		wire.WriteErrorCtx(ctx, w, err)
		return
	}
	now := s.now()
	sess, err := session.Current(ctx, s.Store, s.Cookies, r, env.ID, now)
	if err != nil {
		wire.WriteErrorCtx(ctx, w, err)
		return
	}
	app, err := s.signoffApplication(ctx, env.ID, params, sess)
	if err != nil {
		wire.WriteErrorCtx(ctx, w, err)
		return
	}
	target := ""
	if plr := params.Get("post_logout_redirect_uri"); plr != "" {
		if app == nil {
			wire.WriteErrorCtx(ctx, w, wire.InvalidRequest(wire.Detail{Code: wire.DetailRequiredValue, Target: "id_token_hint",
				Message: "post_logout_redirect_uri needs id_token_hint or client_id to name the application."}))
			return
		}
		u, err := url.Parse(plr)
		if err != nil || !redirectAllowed(app.Settings.PostLogoutRedirectURIs, app.Settings.AllowWildcardInRedirectURIs, plr) {
			wire.WriteErrorCtx(ctx, w, wire.InvalidRequest(wire.InvalidValue("post_logout_redirect_uri",
				"post_logout_redirect_uri is not one of the application's postLogoutRedirectUris.")))
			return
		}
		if st := params.Get("state"); st != "" {
			q := u.Query()
			q.Set("state", st)
			u.RawQuery = q.Encode()
		}
		target = u.String()
	}
	if sess != nil {
		if err := session.End(ctx, s.Store, env.ID, sess.ID, now); err != nil {
			wire.WriteErrorCtx(ctx, w, err)
			return
		}
		s.recordSignedOff(ctx, env.ID, sess, app)
	}
	s.Cookies.Clear(w, env.ID)
	w.Header().Set("Cache-Control", "no-store")
	if target != "" {
		http.Redirect(w, r, target, http.StatusFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_ = signedOffPage.Execute(w, nil)
}

// signoffParams are the query's parameters, and on POST those of a form
// body too. A parameter may be sent once.
func signoffParams(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	if r.Method == http.MethodPost {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		} else {
			r.Body = http.NoBody
		}
	}
	if err := r.ParseForm(); err != nil {
		return nil, wire.InvalidRequest(wire.InvalidValue("body", "The request is not a valid form."))
	}
	for k, v := range r.Form {
		if len(v) > 1 {
			return nil, wire.InvalidRequest(wire.InvalidValue(k, "The parameter "+k+" is repeated."))
		}
	}
	return r.Form, nil
}

// idTokenHint is what signoff reads of an id_token_hint.
type idTokenHint struct {
	Issuer   string       `json:"iss"`
	Subject  string       `json:"sub"`
	Audience jwt.Audience `json:"aud"`
}

// signoffApplication is the application the request names, through its
// id_token_hint or client_id; nil when it names none. The hint must be an
// ID token this environment signed (expired is fine: it is a hint), for
// an application that exists and is enabled, about the user of the
// session being ended.
func (s *Service) signoffApplication(ctx context.Context, envID string, params url.Values, sess *store.Session) (*config.Application, error) {
	clientID := params.Get("client_id")
	bad := func(target, msg string) error { return wire.InvalidRequest(wire.InvalidValue(target, msg)) }
	if raw := params.Get("id_token_hint"); raw != "" {
		tok, err := keys.Parse(raw)
		if err != nil {
			return nil, bad("id_token_hint", "id_token_hint is not a signed JWT.")
		}
		var h idTokenHint
		if err := s.Keys.Verify(ctx, envID, tok, &h); err != nil {
			if errors.Is(err, keys.ErrInvalidToken) {
				return nil, bad("id_token_hint", "id_token_hint was not signed by this environment.")
			}
			return nil, err
		}
		if h.Issuer != s.Issuer(envID) {
			return nil, bad("id_token_hint", "id_token_hint was not issued by this environment.")
		}
		if len(h.Audience) != 1 || !validID(h.Audience[0]) {
			return nil, bad("id_token_hint", "id_token_hint is not an ID token of an application.")
		}
		if clientID != "" && clientID != h.Audience[0] {
			return nil, bad("client_id", "client_id is not the audience of id_token_hint.")
		}
		if sess != nil && h.Subject != sess.UserID {
			return nil, bad("id_token_hint", "id_token_hint is about another user than the session's.")
		}
		clientID = h.Audience[0]
	} else if clientID == "" {
		return nil, nil
	}
	target := "client_id"
	if params.Get("id_token_hint") != "" {
		target = "id_token_hint"
	}
	if !validID(clientID) {
		return nil, bad(target, "The application does not exist or is disabled.")
	}
	app, err := s.Config.Application(ctx, envID, clientID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !app.Enabled) {
		return nil, bad(target, "The application does not exist or is disabled.")
	}
	if err != nil {
		return nil, err
	}
	return app, nil
}
