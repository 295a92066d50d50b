package httpx_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/telemetry"
)

// startTracing turns tracing on, exporting to a collector that discards.
func startTracing(tb testing.TB) {
	col := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) }))
	tb.Cleanup(col.Close)
	tb.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", col.URL)
	stop, err := telemetry.StartTracing(context.Background(), slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { stop(context.Background()) })
}

// TestRouterSpan: with tracing on, the handler runs in the request's
// server span, a child of the caller's traceparent; off, in none.
func TestRouterSpan(t *testing.T) {
	var got trace.SpanContext
	mux := http.NewServeMux()
	mux.HandleFunc("GET /envs/{id}", func(w http.ResponseWriter, r *http.Request) {
		got = trace.SpanContextFromContext(r.Context())
	})
	h := httpx.Router(mux, nil, slog.New(slog.DiscardHandler))
	serve := func() {
		req := httptest.NewRequest("GET", "/envs/42", nil)
		req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	serve()
	if got.IsValid() {
		t.Errorf("tracing off: the handler runs in span %v", got)
	}
	startTracing(t)
	serve()
	if got.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || got.SpanID().String() == "00f067aa0ba902b7" || !got.IsSampled() {
		t.Errorf("tracing on: span %s/%s, want a sampled child in the caller's trace", got.TraceID(), got.SpanID())
	}
}

// What the router costs a request with tracing off (no spans: the same
// allocations as before tracing existed) and on (a sampled server span,
// exported):
//
//	go test -run '^$' -bench RouterTracing -benchmem ./internal/httpx/
func BenchmarkRouterTracing(b *testing.B) {
	for _, mode := range []string{"off", "on"} {
		b.Run(mode, func(b *testing.B) {
			if mode == "on" {
				startTracing(b)
			}
			mux := http.NewServeMux()
			mux.HandleFunc("GET /envs/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
			h := httpx.Router(mux, httpx.NewMetrics(prometheus.NewRegistry()), slog.New(slog.NewJSONHandler(io.Discard, nil)))
			req := httptest.NewRequest("GET", "/envs/42", nil)
			w := httptest.NewRecorder()
			for b.Loop() {
				h.ServeHTTP(w, req)
			}
		})
	}
}

// TestRouterSpanPath: the server span's url.path is the caller's path made
// valid UTF-8 (OTLP's protobuf refuses other strings, failing the export
// of the whole batch the span is in) and bounded, cut on a character.
func TestRouterSpanPath(t *testing.T) {
	startTracing(t)
	var got string
	capture := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got = ""
			if s, ok := trace.SpanFromContext(r.Context()).(interface{ Attributes() []attribute.KeyValue }); ok {
				for _, kv := range s.Attributes() {
					if kv.Key == "url.path" {
						got = kv.Value.AsString()
					}
				}
			}
			next.ServeHTTP(w, r)
		})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /envs/{id}", func(w http.ResponseWriter, r *http.Request) {})
	h := httpx.Router(mux, nil, slog.New(slog.DiscardHandler), capture)
	long := "/envs/" + strings.Repeat("é", 2000)
	cases := []struct{ target, want string }{
		{"/envs/42", "/envs/42"},
		{"/envs/%ff%fe", "/envs/\uFFFD"},
		{"/nowhere/%c3", "/nowhere/\uFFFD"},
		{long, long[:1024]}, // 6 + 509×2 = 1024: a whole character
		{"/envs/x" + strings.Repeat("é", 2000), ("/envs/x" + strings.Repeat("é", 2000))[:1023]}, // not half of one
	}
	for _, tc := range cases {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", tc.target, nil))
		if got != tc.want {
			t.Errorf("%.40s…: url.path = %.40q… (%d bytes), want %.40q… (%d bytes)", tc.target, got, len(got), tc.want, len(tc.want))
		}
		if !utf8.ValidString(got) {
			t.Errorf("%.40s…: url.path is not UTF-8", tc.target)
		}
	}
}
