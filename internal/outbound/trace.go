package outbound

import (
	"net/http"

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
		trace.WithAttributes(attribute.String("http.request.method", req.Method), attribute.String("server.address", req.URL.Hostname())))
	defer span.End()
	// A RoundTripper must not change the caller's request.
	req = req.Clone(ctx)
	telemetry.Propagator.Inject(ctx, propagation.HeaderCarrier(req.Header))
	resp, err := g.roundTrip(req)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "")
		return nil, err
	}
	span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
	if resp.StatusCode >= 500 {
		span.SetStatus(codes.Error, http.StatusText(resp.StatusCode))
	}
	return resp, nil
}
