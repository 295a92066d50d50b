package app

import (
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authsvc"
	"github.com/gatehouse-id/gatehouse/internal/deviceauth"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/mgmt"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// applyLimits gives the auth service, the flow engine, the management
// API and the device authentications their rate limits (cfg.Limits, else ratelimit.Defaults()) and
// returns the middleware every request passes first: its source address
// (X-Forwarded-For believed from cfg.TrustedProxies only), then the
// per-address limit on all requests when one is set.
func applyLimits(cfg Config, auth *authsvc.Service, flows *flow.Engine, api *mgmt.API, devAuth *deviceauth.Service) []func(http.Handler) http.Handler {
	lc := ratelimit.Defaults()
	if cfg.Limits != nil {
		lc = *cfg.Limits
	}
	perClient := ratelimit.New(lc.RequestsPerClient, lc.MaxKeys)
	auth.Limits = authsvc.NewLimits(lc)
	auth.Limits.RequestsPerClient = perClient
	api.RequestsPerClient = perClient
	flows.Limits = flow.NewLimits(lc)
	devAuth.Limits = deviceauth.NewLimits(lc)
	mw := []func(http.Handler) http.Handler{httpx.WithSource(cfg.TrustedProxies)}
	if l := ratelimit.New(lc.RequestsPerAddress, lc.MaxKeys); l != nil {
		mw = append(mw, limitRequests(l))
	}
	return mw
}

// limitRequests bounds all requests per source address, but the probes
// and metrics an orchestrator scrapes.
func limitRequests(l *ratelimit.Limiter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/healthz", "/readyz", "/metrics":
				next.ServeHTTP(w, r)
				return
			}
			ok, wait := l.Allow(httpx.SourceKey(httpx.SourceOf(r)), time.Now())
			if ok {
				next.ServeHTTP(w, r)
				return
			}
			e := &ratelimit.Error{What: "Too many requests from this address.", RetryAfter: wait}
			if authServicePath(r.URL.Path) {
				authsvc.WriteLimited(w, e)
				return
			}
			wire.WriteErrorCtx(r.Context(), w, wire.RequestLimited(e.What, e.Seconds(), time.Now()))
		})
	}
}

// authServicePath reports whether path is under /{envId}/as/, where
// errors are OAuth's.
func authServicePath(path string) bool {
	_, rest, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	return strings.HasPrefix(rest, "as/")
}
