package outbound

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel/propagation"

	"github.com/gatehouse-id/gatehouse/internal/telemetry"
)

// TestTraceparent: while tracing is on, an outbound request carries the
// trace on (traceparent of the caller's trace, from a client span of its
// own); off, it carries nothing.
func TestTraceparent(t *testing.T) {
	got := make(chan string, 1)
	dest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("traceparent")
	}))
	t.Cleanup(dest.Close)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) }))
	t.Cleanup(collector.Close)
	c := New(Options{AllowPrivate: true, Log: quiet()})
	call := func(ctx context.Context) string {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, "GET", dest.URL+"/callback?code=secret", nil)
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if req.Header.Get("traceparent") != "" {
			t.Error("the caller's request was changed")
		}
		return <-got
	}
	if tp := call(context.Background()); tp != "" {
		t.Errorf("tracing off: traceparent %q", tp)
	}

	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	stop, err := telemetry.StartTracing(context.Background(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer stop(context.Background())
	ctx, parent := telemetry.Tracer().Start(context.Background(), "caller")
	defer parent.End()
	tp := call(ctx)
	sc := parent.SpanContext()
	// 00-<trace id>-<span id>-<flags>: the caller's trace, another span.
	if len(tp) != 55 || tp[3:35] != sc.TraceID().String() || tp[36:52] == sc.SpanID().String() {
		t.Errorf("traceparent %q, want trace %s from a span of its own (not %s)", tp, sc.TraceID(), sc.SpanID())
	}
}

// TestNoCallerBaggage: an outbound request started while serving a
// caller carries the trace on, never the caller's baggage header: what a
// client of Gatehouse puts there is not passed to the identity providers
// and webhook receivers of a tenant.
func TestNoCallerBaggage(t *testing.T) {
	got := make(chan http.Header, 1)
	dest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got <- r.Header.Clone() }))
	t.Cleanup(dest.Close)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) }))
	t.Cleanup(collector.Close)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	stop, err := telemetry.StartTracing(context.Background(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer stop(context.Background())
	// The context a server span starts from: what the caller sent.
	in := http.Header{}
	in.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	in.Set("baggage", "role=admin,tenant=other")
	ctx := telemetry.Propagator.Extract(context.Background(), propagation.HeaderCarrier(in))
	ctx, span := telemetry.Tracer().Start(ctx, "server")
	defer span.End()
	req, _ := http.NewRequestWithContext(ctx, "GET", dest.URL+"/x", nil)
	res, err := New(Options{AllowPrivate: true, Log: quiet()}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	h := <-got
	if b := h.Get("baggage"); b != "" {
		t.Errorf("the caller's baggage went out: %q", b)
	}
	if tp := h.Get("traceparent"); len(tp) != 55 || tp[3:35] != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("traceparent %q, want the caller's trace carried on", tp)
	}
}
