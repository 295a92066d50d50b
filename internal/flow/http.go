package flow

import (
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// maxActionBytes bounds an action's body.
const maxActionBytes = 16 << 10

// Routes registers the flow API.
func (e *Engine) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{envID}/flows/{flowID}", e.get)
	mux.HandleFunc("POST /{envID}/flows/{flowID}", e.post)
	mux.HandleFunc("OPTIONS /{envID}/flows/{flowID}", e.preflight)
}

// load reads the path's environment and flow for this browser.
func (e *Engine) load(r *http.Request) (*store.Flow, error) {
	envID := r.PathValue("envID")
	if _, err := e.Config.Environment(r.Context(), envID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, wire.NotFound("")
		}
		return nil, err
	}
	return e.Load(r.Context(), envID, r.PathValue("flowID"), e.Cookies.Token(r))
}

func (e *Engine) get(w http.ResponseWriter, r *http.Request) {
	f, err := e.load(r)
	if err != nil {
		wire.WriteErrorCtx(r.Context(), w, err)
		return
	}
	e.allowCORS(w, r, f)
	e.write(w, r, f, "", nil)
}

func (e *Engine) post(w http.ResponseWriter, r *http.Request) {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	act := ""
	if err == nil {
		act = e.actionFor(mt)
	}
	if act == "" {
		wire.WriteErrorCtx(r.Context(), w, wire.UnsupportedMediaType(ct))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxActionBytes)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			wire.WriteErrorCtx(r.Context(), w, wire.TooLarge(maxActionBytes))
			return
		}
		wire.WriteErrorCtx(r.Context(), w, wire.InvalidRequest(wire.Detail{Code: wire.DetailInvalidValue, Message: "The request body could not be read."}))
		return
	}
	f, err := e.load(r)
	if err != nil {
		wire.WriteErrorCtx(r.Context(), w, err)
		return
	}
	// Before the step: an allowed page must also read the step's errors.
	e.allowCORS(w, r, f)
	s, err := e.step(r.Context(), f, act, body)
	if err != nil {
		wire.WriteErrorCtx(r.Context(), w, err)
		return
	}
	e.write(w, r, f, s.token, s.given)
}

// write answers with the flow; handed is what the step just run handed
// its answer (Step.Hand).
func (e *Engine) write(w http.ResponseWriter, r *http.Request, f *store.Flow, token string, handed map[string]any) {
	out, err := e.render(r.Context(), f, nil, handed)
	if err != nil {
		wire.WriteErrorCtx(r.Context(), w, err)
		return
	}
	if token != "" {
		e.Cookies.Set(w, f.EnvironmentID, token)
	}
	w.Header().Set("Cache-Control", "no-store")
	wire.Write(w, http.StatusOK, out)
}
