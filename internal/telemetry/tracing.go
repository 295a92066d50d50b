package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// ServiceName is the service.name spans carry unless OTEL_SERVICE_NAME or
// OTEL_RESOURCE_ATTRIBUTES name another.
const ServiceName = "gatehouse"

// instrumentation names the tracer (the instrumentation scope).
const instrumentation = "github.com/gatehouse-id/gatehouse"

// tracing is set while an exporting provider is installed. The
// instrumented paths test it first, so that with tracing off a request
// costs one atomic load per would-be span and nothing else: no context,
// no span, no attribute.
var tracing atomic.Bool

// Tracing reports whether spans are being recorded and exported.
func Tracing() bool { return tracing.Load() }

// tracer is the installed provider's tracer (a no-op one while tracing
// is off), looked up once rather than per span.
var tracer atomic.Pointer[trace.Tracer]

func init() {
	t := trace.Tracer(noop.NewTracerProvider().Tracer(instrumentation))
	tracer.Store(&t)
}

// Tracer is the tracer every package starts its spans with; test Tracing
// first.
func Tracer() trace.Tracer { return *tracer.Load() }

// Propagator reads and writes W3C trace context (traceparent,
// tracestate). Not baggage: Gatehouse uses none, and a caller's baggage
// header would otherwise be read into the request's context and sent on,
// as it came, to the identity providers and webhook receivers Gatehouse
// calls for a tenant (W3C Baggage: untrusted baggage is not to be
// propagated).
var Propagator propagation.TextMapPropagator = propagation.TraceContext{}

// Configured reports whether the environment asks for traces: an OTLP
// endpoint is named (OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), the SDK is not disabled
// (OTEL_SDK_DISABLED=true) and the traces exporter is not "none".
func Configured(getenv func(string) string) bool {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return false
	}
	if e := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); e != "" && !strings.EqualFold(e, "otlp") {
		// "none", or an exporter this build does not carry.
		return false
	}
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// StartTracing installs a tracer provider exporting over OTLP/HTTP
// (protobuf) when the standard variables ask for it (see Configured), and
// returns what flushes and stops it. Otherwise it installs nothing: the
// global provider stays otel's no-op one, and shutdown does nothing.
//
// Everything else is the SDK's own environment handling: the endpoint,
// headers, timeout, compression and TLS of OTEL_EXPORTER_OTLP_*,
// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER and
// OTEL_TRACES_SAMPLER_ARG (default: parentbased_always_on), OTEL_BSP_*
// for the batching. OTEL_EXPORTER_OTLP_PROTOCOL may only be http/protobuf
// (the default): this build carries no gRPC exporter.
func StartTracing(ctx context.Context, log *slog.Logger) (shutdown func(context.Context) error, err error) {
	nothing := func(context.Context) error { return nil }
	if !Configured(os.Getenv) {
		return nothing, nil
	}
	for _, v := range []string{"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"} {
		if p := os.Getenv(v); p != "" && p != "http/protobuf" {
			return nothing, fmt.Errorf("%s=%s: only http/protobuf is supported", v, p)
		}
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nothing, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", ServiceName)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(), // after the default name, so that the variables win
	)
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nothing, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(Propagator)
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("OpenTelemetry", "err", err)
	}))
	t := tp.Tracer(instrumentation)
	tracer.Store(&t)
	tracing.Store(true)
	log.Info("tracing: exporting spans over OTLP/HTTP", "endpoint", endpoint())
	return func(ctx context.Context) error {
		// Stop starting spans first, then flush what was recorded.
		tracing.Store(false)
		np := noop.NewTracerProvider()
		t := np.Tracer(instrumentation)
		tracer.Store(&t)
		otel.SetTracerProvider(np)
		return tp.Shutdown(ctx)
	}, nil
}

func endpoint() string {
	if e := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"); e != "" {
		return e
	}
	return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
}
