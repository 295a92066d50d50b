package flow

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Cross-origin use of the flow API follows the flow's application's
// corsSettings: a custom sign-on page (the application's loginPageUrl) on
// one of its origins may read and step the flow with the browser's
// cookies. Without such settings no other origin may: the flow API stays
// same-origin, which is also what keeps it safe from cross-site requests
// (its POSTs need a vendor media type, so a browser must ask first).

// allowedOrigin reports whether the application lets origin call the
// flow API.
func (e *Engine) allowedOrigin(ctx context.Context, envID, appID, origin string) bool {
	if origin == "" {
		return false
	}
	app, err := e.Config.Application(ctx, envID, appID)
	if err != nil || !app.Enabled {
		return false
	}
	return OriginAllowed(app.Settings.CorsSettings, origin)
}

// OriginAllowed reports whether an application's corsSettings let origin
// call PingOne's Authorization and Authentication APIs: only
// ALLOW_SPECIFIC_ORIGINS names any, and no settings allow none.
func OriginAllowed(cs *wire.CorsSettings, origin string) bool {
	if cs == nil || cs.Behavior != "ALLOW_SPECIFIC_ORIGINS" || origin == "" {
		return false
	}
	for _, o := range cs.Origins {
		if originMatches(o, origin) {
			return true
		}
	}
	return false
}

// originMatches compares an Origin header with a configured origin, which
// may start its host with "*." for any subdomain.
func originMatches(pattern, origin string) bool {
	p, err1 := url.Parse(strings.TrimSuffix(pattern, "/"))
	o, err2 := url.Parse(origin)
	if err1 != nil || err2 != nil || p.Scheme != o.Scheme || o.Path != "" || o.User != nil {
		return false
	}
	if p.Port() != o.Port() {
		return false
	}
	ph, oh := strings.ToLower(p.Hostname()), strings.ToLower(o.Hostname())
	if rest, ok := strings.CutPrefix(ph, "*."); ok {
		return strings.HasSuffix(oh, "."+rest)
	}
	return ph == oh
}

// allowCORS adds the headers that let an allowed origin read the answer.
func (e *Engine) allowCORS(w http.ResponseWriter, r *http.Request, f *store.Flow) {
	origin := r.Header.Get("Origin")
	w.Header().Add("Vary", "Origin")
	if origin != "" && e.allowedOrigin(r.Context(), f.EnvironmentID, f.ApplicationID, origin) {
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Set("Access-Control-Allow-Credentials", "true")
	}
}

// preflight answers a browser's CORS preflight for a flow. It needs no
// cookie (browsers send none), so it reads the flow only for its
// application; an unknown flow or origin gets no CORS headers, which the
// browser takes as a refusal.
func (e *Engine) preflight(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Vary", "Origin")
	envID, flowID, origin := r.PathValue("envID"), r.PathValue("flowID"), r.Header.Get("Origin")
	if uuid.Validate(flowID) == nil && len(flowID) == 36 && origin != "" {
		if f, err := e.Store.GetFlow(r.Context(), envID, flowID); err == nil && e.allowedOrigin(r.Context(), envID, f.ApplicationID, origin) {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Allow-Credentials", "true")
			w.Header().Set("Access-Control-Allow-Methods", "GET, POST")
			w.Header().Set("Access-Control-Allow-Headers", "Content-Type, Accept, Authorization, X-Requested-With")
			w.Header().Set("Access-Control-Max-Age", "600")
		}
	}
	w.WriteHeader(http.StatusNoContent)
}
