package httpx

import (
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse-id/gatehouse/internal/telemetry"
)

// startSpan starts the request's server span, continuing the trace the
// caller's traceparent names, and returns the request carrying it. The
// span is named by the route template (bounded, unlike the path), as
// OpenTelemetry's HTTP conventions ask: "{method} {route}".
func startSpan(r *http.Request, route, requestID string) (*http.Request, trace.Span) {
	ctx := telemetry.Propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	name, template := route, route
	if route == "unmatched" {
		name, template = r.Method, ""
	} else if _, t, ok := strings.Cut(route, " "); ok {
		template = t
	} else {
		// A pattern without a method serves them all.
		name = r.Method + " " + route
	}
	attrs := []attribute.KeyValue{
		attribute.String("http.request.method", r.Method),
		attribute.String("url.path", r.URL.Path),
		attribute.String("gatehouse.request_id", requestID),
	}
	if template != "" {
		// The template alone: the method is an attribute of its own.
		attrs = append(attrs, attribute.String("http.route", template))
	}
	ctx, span := telemetry.Tracer().Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
	return r.WithContext(ctx), span
}

// endSpan records the answer's status: a server error marks the span
// failed, a client error does not (the server did its job).
func endSpan(span trace.Span, status int) {
	span.SetAttributes(attribute.Int("http.response.status_code", status))
	if status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
	span.End()
}
