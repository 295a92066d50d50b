package outbound

import (
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse-id/gatehouse/internal/telemetry"
)

// tracedRoundTrip runs the request in a client span (until the response
// headers arrive) and sends the trace on in traceparent, as OpenTelemetry's
// HTTP clients do. The span names the host, never the path or query,
// which may carry codes or tokens.
func (g *guard) tracedRoundTrip(req *http.Request) (*http.Response, error) {
	ctx, span := telemetry.Tracer().Start(req.Context(), req.Method, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("http.request.method", req.Method), attribute.String("server.address", validUTF8(req.URL.Hostname()))))
	defer span.End()
	// A RoundTripper must not change the caller's request.
	req = req.Clone(ctx)
	telemetry.Propagator.Inject(ctx, propagation.HeaderCarrier(req.Header))
	resp, err := g.roundTrip(req)
	if err != nil {
		// The error may quote the host: as the attribute above.
		if msg := err.Error(); utf8.ValidString(msg) {
			span.RecordError(err)
		} else {
			span.RecordError(errors.New(validUTF8(msg)))
		}
		span.SetStatus(codes.Error, "")
		return nil, err
	}
	span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
	if resp.StatusCode >= 500 {
		span.SetStatus(codes.Error, http.StatusText(resp.StatusCode))
	}
	return resp, nil
}

// validUTF8 is s as a span may carry it: a tenant's URL may unescape to a
// host that is not UTF-8 (https://%ff.example/), and OTLP's protobuf
// refuses such a string, failing the export of the whole batch.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
