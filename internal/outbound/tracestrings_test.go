package outbound

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"unicode/utf8"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/gatehouse-id/gatehouse/internal/telemetry"
)

// TestTraceStringsUTF8: a tenant's URL may name a host that is not UTF-8
// once unescaped (https://%ff%fe.example/); its client span carries the
// host and the error made valid UTF-8, so that the span, and every other
// span of its batch, is still exported (OTLP's protobuf refuses strings
// that are not UTF-8 and fails the whole batch).
func TestTraceStringsUTF8(t *testing.T) {
	var mu sync.Mutex
	var names []string
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			t.Errorf("collector: %v", err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					for _, kv := range s.Attributes {
						if kv.Key == "server.address" {
							names = append(names, kv.Value.GetStringValue())
						}
					}
					for _, ev := range s.Events {
						for _, kv := range ev.Attributes {
							if v := kv.Value.GetStringValue(); !utf8.ValidString(v) {
								t.Errorf("event attribute %s is not UTF-8: %q", kv.Key, v)
							}
						}
					}
				}
			}
		}
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	}))
	t.Cleanup(collector.Close)
	dest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(dest.Close)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	stop, err := telemetry.StartTracing(context.Background(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	c := New(Options{AllowPrivate: true, Log: quiet()})
	for _, u := range []string{"https://%ff%fe.example/x", dest.URL + "/ok"} {
		req, err := http.NewRequest("GET", u, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res, err := c.Do(req); err == nil {
			res.Body.Close()
		}
	}
	if err := stop(context.Background()); err != nil {
		t.Errorf("flushing the spans: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(names) != 2 {
		t.Fatalf("exported server.address %q, want both requests' spans", names)
	}
	for _, n := range names {
		if !utf8.ValidString(n) {
			t.Errorf("server.address %q is not UTF-8", n)
		}
	}
}
