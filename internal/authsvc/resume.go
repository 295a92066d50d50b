package authsvc

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// CodeLifetime is an authorization code's life (PingOne: 10 minutes).
const CodeLifetime = 10 * time.Minute

// resume returns a finished flow to the application: its authorization
// response (or error) by the flow's response mode. A flow still in
// progress goes back to the sign-on page.
func (s *Service) resume(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	env, err := s.Config.Environment(ctx, r.PathValue("envID"))
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	id := r.URL.Query().Get("flowId")
	if id == "" {
		s.errorPage(w, r, wire.InvalidRequest(wire.Required("flowId")))
		return
	}
	f, err := s.Flows.Load(ctx, env.ID, id, s.Cookies.Token(r))
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	s.answer(w, r, &env.Environment, f)
}

// answer ends a flow: a COMPLETED one gets what its response type lists
// (issueAuthorization), a FAILED one its error; any other goes back to
// the sign-on page (pi.flow clients get the flow, which says what it
// still needs).
func (s *Service) answer(w http.ResponseWriter, r *http.Request, env *store.Environment, f *store.Flow) {
	ctx := r.Context()
	req, acr, authTime, amr, err := flow.RequestOf(f)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	if req.ResumePath() != flow.ResumeAS {
		// Another protocol's flow (a SAML sign-on) is answered by its own
		// resume, which knows where its answer may go.
		s.errorPage(w, r, wire.InvalidRequest(wire.InvalidValue("flowId", "The flow resumes at "+req.ResumePath()+", not as/resume.")))
		return
	}
	if req.Device() && (f.Status == flow.StatusCompleted || f.Status == flow.StatusFailed) {
		s.answerDevice(w, r, env, f, acr, authTime, amr)
		return
	}
	switch f.Status {
	case flow.StatusCompleted:
	case flow.StatusFailed:
		if err := s.Flows.Finish(ctx, f); err != nil {
			s.errorPage(w, r, err)
			return
		}
		code, desc, err := flow.FailureOf(f)
		if err != nil {
			s.errorPage(w, r, err)
			return
		}
		s.clientError(w, r, f, req, code, desc)
		return
	default:
		if req.PiFlow() {
			out, err := s.Flows.Render(ctx, f, nil)
			if err != nil {
				s.errorPage(w, r, err)
				return
			}
			wire.Write(w, http.StatusOK, out)
			return
		}
		http.Redirect(w, r, s.Flows.SignOnPageURL(env.ID, f.ID), http.StatusFound)
		return
	}
	app, err := s.Config.Application(ctx, env.ID, f.ApplicationID)
	if err != nil || !app.Enabled {
		if err == nil || errors.Is(err, store.ErrNotFound) {
			s.Flows.Finish(ctx, f)
			s.clientError(w, r, f, req, "unauthorized_client", "The application was disabled or deleted during sign-on.")
			return
		}
		s.errorPage(w, r, err)
		return
	}
	// Rendered before the flow goes: the pi.flow answer is the flow.
	out, err := s.Flows.Render(ctx, f, nil)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	// Deleting the flow is what makes the answer single: of two resumes
	// racing, only one deletes it.
	if err := s.Flows.Finish(ctx, f); err != nil {
		s.errorPage(w, r, err)
		return
	}
	res, err := s.issueAuthorization(ctx, env, app, f, req, acr, authTime, amr)
	var ae *authzError
	if errors.As(err, &ae) {
		s.authorizeError(w, r, s.redirectOf(app, req), req, ae)
		return
	}
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	if req.PiFlow() {
		out.AuthorizeResponse = res.wire(req.State)
		w.Header().Set("Cache-Control", "no-store")
		wire.Write(w, http.StatusOK, out)
		return
	}
	s.sendToClient(w, r, s.redirectOf(app, req), req.ResponseMode, res.params(req.State))
}

// redirectOf is where a flow's answer goes: the redirect_uri it was
// started with, or the application's first one.
func (s *Service) redirectOf(app *config.Application, req *flow.Request) string {
	if req.RedirectURI != "" {
		return req.RedirectURI
	}
	return defaultRedirect(app.Settings.RedirectURIs)
}

func (s *Service) clientError(w http.ResponseWriter, r *http.Request, f *store.Flow, req *flow.Request, code, desc string) {
	app, err := s.Config.Application(r.Context(), f.EnvironmentID, f.ApplicationID)
	redirect := ""
	if err == nil {
		redirect = s.redirectOf(app, req)
	}
	s.authorizeError(w, r, redirect, req, &authzError{code: code, description: desc})
}

// ---- pages

var errorTmpl = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign-on error</title></head>
<body><main><h1>Sign-on could not continue</h1><p>{{.Message}}</p>{{range .Details}}<p>{{.Message}}</p>{{end}}
<p>Error id: <code>{{.ID}}</code></p></main></body></html>
`))

// errorPage answers an error that must not go to a redirect URI: the
// PingOne error JSON, or an HTML page when a browser asks for one.
func (s *Service) errorPage(w http.ResponseWriter, r *http.Request, err error) {
	if !strings.Contains(r.Header.Get("Accept"), "text/html") {
		wire.WriteErrorCtx(r.Context(), w, err)
		return
	}
	var e *wire.Error
	if !errors.As(err, &e) {
		rec := &captureWriter{header: http.Header{}}
		wire.WriteErrorCtx(r.Context(), rec, err)
		e = wire.Unexpected()
		e.Status = rec.status
	}
	if e.ID == "" {
		c := *e
		c.ID = uuid.NewString()
		e = &c
	}
	if e.Status == 0 {
		e.Status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	w.Header().Set("X-Frame-Options", "DENY")
	w.WriteHeader(e.Status)
	errorTmpl.Execute(w, e)
}

// captureWriter records the status another writer chose.
type captureWriter struct {
	header http.Header
	status int
}

func (c *captureWriter) Header() http.Header         { return c.header }
func (c *captureWriter) Write(b []byte) (int, error) { return len(b), nil }
func (c *captureWriter) WriteHeader(s int)           { c.status = s }

// formPost is response_mode=form_post (OAuth 2.0 Form Post Response Mode).
func formPost(w http.ResponseWriter, action string, params url.Values) {
	httpx.FormPost(w, action, params)
}
