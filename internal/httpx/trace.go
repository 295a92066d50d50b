package httpx

import (
	"net/http"
	"strings"
	"unicode/utf8"

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
		attribute.String("url.path", spanPath(r.URL.Path)),
		attribute.String("gatehouse.request_id", requestID),
	}
	if template != "" {
		// The template alone: the method is an attribute of its own.
		attrs = append(attrs, attribute.String("http.route", template))
	}
	ctx, span := telemetry.Tracer().Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
	return r.WithContext(ctx), span
}

// maxSpanPath bounds the url.path a span carries: the path is the
// caller's, up to the server's header limit, and a span waits in the
// exporter's queue with thousands of others.
const maxSpanPath = 1024

// spanPath is path as a span may carry it: valid UTF-8 (OTLP's protobuf
// refuses any other string, and one such span fails the export of its
// whole batch) and at most maxSpanPath bytes, cut on a character boundary.
func spanPath(path string) string {
	if !utf8.ValidString(path) {
		path = strings.ToValidUTF8(path, "\uFFFD")
	}
	if len(path) <= maxSpanPath {
		return path
	}
	cut := maxSpanPath
	for cut > 0 && !utf8.RuneStart(path[cut]) {
		cut--
	}
	return path[:cut]
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
