// Package httpx holds the middleware every request passes through: request
// id, recovery, access log, metrics, and the router wrapper that answers
// unknown routes and wrong methods in PingOne's error shape. It also holds
// the listener (Server): plain HTTP, or TLS with certificates reloaded in
// place (Certificates, EnsureDevCertificate) and CONNECT to the base URL
// tunnelled to the TLS server on the same port.
package httpx

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse-id/gatehouse/internal/telemetry"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// recorder captures the status and size of a response.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h, ok := r.ResponseWriter.(http.Hijacker); ok {
		return h.Hijack()
	}
	return nil, nil, errors.New("hijack not supported")
}

type requestIDKey struct{}

// validRequestID reports whether a caller's X-Request-Id may be taken as
// the request's id: 1 to 128 visible ASCII characters. The id goes into
// the logs, the trace (where one string that is not UTF-8 fails the
// export of the whole batch it is in) and audit activities (a column
// PostgreSQL refuses bytes that are not UTF-8 in), so anything else is
// replaced by a fresh id rather than carried.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

// RequestID returns the request's correlation id.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// Metrics are the server's Prometheus collectors.
type Metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// NewMetrics registers the HTTP collectors on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_http_requests_total", Help: "HTTP requests by route template, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gatehouse_http_request_duration_seconds", Help: "HTTP request latency by route template and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

// Router wraps mux: it routes, labels metrics by route template, and turns
// the mux's own 404 and 405 answers into PingOne error bodies. Unmatched
// requests are labelled "unmatched" so that scanning random paths cannot
// grow the metric's label set. Each of inner (outermost first) wraps
// what serves a request inside the request id, log, metrics and panic
// recovery, so what it answers is logged and counted like any answer.
func Router(mux *http.ServeMux, m *Metrics, log *slog.Logger, inner ...func(http.Handler) http.Handler) http.Handler {
	wrap := func(h http.Handler) http.Handler {
		for i := len(inner) - 1; i >= 0; i-- {
			h = inner[i](h)
		}
		return h
	}
	matched := wrap(mux)
	unmatched := wrap(pingOneFallback(mux))
	badPath := wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { wire.WriteError(w, wire.NotFound("")) }))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = uuid.NewString()
		}
		w.Header().Set("X-Request-Id", id)
		r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id))
		rec := &recorder{ResponseWriter: w}

		// mux.Handler only looks the route up (it sets no path values), so
		// the request itself still goes through mux.ServeHTTP.
		_, pattern := mux.Handler(r)
		route := pattern
		h := matched
		if pattern == "" {
			route = "unmatched"
			h = unmatched
		} else if !utf8.ValidString(r.URL.Path) || strings.IndexByte(r.URL.Path, 0) >= 0 {
			// Ids are UUIDs: a path segment that is not UTF-8 or holds a NUL
			// names nothing, and PostgreSQL would refuse it as a query
			// argument (a 500) rather than find nothing.
			route = "unmatched"
			h = badPath
		}
		var span trace.Span
		if telemetry.Tracing() {
			r, span = startSpan(r, route, id)
		}
		func() {
			defer func() {
				if v := recover(); v != nil {
					if v == http.ErrAbortHandler {
						panic(v)
					}
					log.ErrorContext(r.Context(), "panic", "requestId", id, "panic", v)
					if rec.status == 0 {
						wire.WriteError(rec, wire.Unexpected())
					}
				}
			}()
			h.ServeHTTP(rec, r)
		}()
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		d := time.Since(start)
		if m != nil {
			m.requests.WithLabelValues(route, r.Method, strconv.Itoa(rec.status)).Inc()
			m.latency.WithLabelValues(route, r.Method).Observe(d.Seconds())
		}
		log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("requestId", id), slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.String("route", route), slog.Int("status", rec.status), slog.Int("bytes", rec.bytes),
			slog.Duration("duration", d))
		if span != nil {
			endSpan(span, rec.status)
		}
	})
}

// fallbackWriter lets the mux's own not-found and method-not-allowed
// handlers run (they set Allow and do path-cleaning redirects) while
// replacing their plain-text bodies.
type fallbackWriter struct {
	w        http.ResponseWriter
	replaced bool
}

func (f *fallbackWriter) Header() http.Header { return f.w.Header() }

func (f *fallbackWriter) WriteHeader(code int) {
	switch code {
	case http.StatusNotFound:
		f.replaced = true
		f.w.Header().Del("X-Content-Type-Options")
		wire.WriteError(f.w, wire.NotFound(""))
	case http.StatusMethodNotAllowed:
		f.replaced = true
		wire.WriteError(f.w, wire.MethodNotAllowed(f.w.Header().Get("Allow")))
	default:
		f.w.WriteHeader(code)
	}
}

func (f *fallbackWriter) Write(b []byte) (int, error) {
	if f.replaced {
		return len(b), nil
	}
	return f.w.Write(b)
}

func pingOneFallback(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&fallbackWriter{w: w}, r)
	})
}
