package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

func TestConfigured(t *testing.T) {
	for _, c := range []struct {
		name string
		env  map[string]string
		want bool
	}{
		{"nothing set", nil, false},
		{"endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, true},
		{"traces endpoint", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, true},
		{"service name only", map[string]string{"OTEL_SERVICE_NAME": "gatehouse"}, false},
		{"SDK disabled", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "TRUE"}, false},
		{"SDK not disabled", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "false"}, true},
		{"exporter none", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, false},
		{"exporter otlp", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "otlp"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Configured(func(k string) string { return c.env[k] }); got != c.want {
				t.Errorf("Configured = %v, want %v", got, c.want)
			}
		})
	}
}

func TestStartTracingUnset(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	stop, err := StartTracing(context.Background(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer stop(context.Background())
	if Tracing() {
		t.Fatal("tracing on without an endpoint")
	}
	if _, span := Tracer().Start(context.Background(), "x"); span.SpanContext().IsValid() {
		t.Fatal("the tracer makes real spans without an endpoint")
	}
}

func TestStartTracingRefusesGRPC(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
	if _, err := StartTracing(context.Background(), slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("OTEL_EXPORTER_OTLP_PROTOCOL=grpc accepted by an HTTP-only build")
	}
	if Tracing() {
		t.Fatal("tracing on after a refused start")
	}
}

func TestLogHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(LogHandler(slog.NewJSONHandler(&buf, nil))).With("component", "test")
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	traced := trace.ContextWithSpanContext(context.Background(),
		trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}))
	for _, c := range []struct {
		name       string
		ctx        context.Context
		trace, spn any
	}{
		{"span in context", traced, "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"},
		{"no span", context.Background(), nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			buf.Reset()
			log.InfoContext(c.ctx, "request", "status", 200)
			var line map[string]any
			if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
				t.Fatal(err)
			}
			if line["trace_id"] != c.trace || line["span_id"] != c.spn || line["component"] != "test" || line["status"] != 200.0 {
				t.Errorf("line %v: want trace_id %v span_id %v beside the record's own attributes", line, c.trace, c.spn)
			}
		})
	}
}
