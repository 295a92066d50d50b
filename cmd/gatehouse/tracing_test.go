package main_test

import (
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// TestTracingFlushedOnShutdown: the binary exports spans to the collector
// OTEL_EXPORTER_OTLP_ENDPOINT names, and what it still holds when SIGTERM
// comes (here everything: the batch delay is a minute) reaches the
// collector before it exits; the log line of a traced request names its
// trace.
func TestTracingFlushedOnShutdown(t *testing.T) {
	var mu sync.Mutex
	var spans []*tracepb.Span
	col := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req coltracepb.ExportTraceServiceRequest
		if r.URL.Path != "/v1/traces" || proto.Unmarshal(body, &req) != nil {
			http.Error(w, "not OTLP traces", http.StatusBadRequest)
			return
		}
		mu.Lock()
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				spans = append(spans, ss.Spans...)
			}
		}
		mu.Unlock()
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	}))
	defer col.Close()
	received := func() []*tracepb.Span {
		mu.Lock()
		defer mu.Unlock()
		return append([]*tracepb.Span(nil), spans...)
	}

	dir := t.TempDir()
	addr := freeAddr(t)
	p := start(t, dir, []string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + col.URL, "OTEL_BSP_SCHEDULE_DELAY=60000",
		"GATEHOUSE_BOOTSTRAP_FILE=admin.json", "GATEHOUSE_DB=sqlite:data.db"}, "serve", "--listen", addr)
	waitReady(t, p, "http://"+addr)
	a, _ := readAdmin(t, filepath.Join(dir, "admin.json"))
	token(t, a)
	if n := len(received()); n != 0 {
		t.Fatalf("%d spans exported before the batch delay: the test cannot tell a flush", n)
	}
	stop(t, p)

	var tok *tracepb.Span
	for _, sp := range received() {
		if sp.Name == "POST /{envID}/as/token" {
			tok = sp
		}
	}
	if tok == nil {
		t.Fatalf("no token span among %d flushed on shutdown", len(received()))
	}
	found := false
	for _, l := range strings.Split(p.stderr.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "request" && strings.HasSuffix(m["path"].(string), "/as/token") {
			found = true
			if m["trace_id"] != hex.EncodeToString(tok.TraceId) || m["span_id"] != hex.EncodeToString(tok.SpanId) {
				t.Errorf("token request log line %v: want trace_id %x span_id %x", m, tok.TraceId, tok.SpanId)
			}
		}
	}
	if !found {
		t.Errorf("no log line of the token request:\n%s", p.stderr)
	}
}
