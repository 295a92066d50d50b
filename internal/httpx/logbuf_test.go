package httpx_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
)

// sink is an output that records its writes; a test may make it fail or
// hold them.
type sink struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes []int // the size of each write
	fail   bool
	hold   chan struct{} // non-nil: each write waits for it
}

func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	hold := s.hold
	s.mu.Unlock()
	if hold != nil {
		<-hold
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes = append(s.writes, len(p))
	if s.fail {
		return 0, errors.New("disk full")
	}
	s.buf.Write(p)
	return len(p), nil
}

func (s *sink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func (s *sink) Writes() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.writes...)
}

// hour keeps the timer out of a test's way.
var hour = httpx.LogBufferOptions{Interval: time.Hour}

func lines(from, to int) string {
	var sb strings.Builder
	for i := from; i < to; i++ {
		fmt.Fprintf(&sb, "line %04d\n", i)
	}
	return sb.String()
}

func writeLines(t *testing.T, w *httpx.LogBuffer, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if n, err := fmt.Fprintf(w, "line %04d\n", i); err != nil || n != 10 {
			t.Fatalf("write %d: %d, %v", i, n, err)
		}
	}
}

func TestLogBufferFlushAndClose(t *testing.T) {
	out := &sink{}
	b := httpx.NewLogBuffer(out, hour)
	writeLines(t, b, 0, 100)
	if got := out.String(); got != "" {
		t.Fatalf("written before any flush: %q", got)
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), lines(0, 100); got != want {
		t.Fatalf("after Flush: %q, want %q", got, want)
	}
	if w := out.Writes(); len(w) != 1 {
		t.Errorf("100 lines took %d writes, want one batch", len(w))
	}
	writeLines(t, b, 100, 150)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), lines(0, 150); got != want {
		t.Fatalf("after Close: %q, want %q", got, want)
	}
	// After Close, lines go straight out.
	writeLines(t, b, 150, 151)
	if got, want := out.String(), lines(0, 151); got != want {
		t.Fatalf("a write after Close: %q, want %q", got, want)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// The timer writes lines out without Flush; waiting for them has no
// deadline of its own (the test's timeout is the bound).
func TestLogBufferTimer(t *testing.T) {
	out := &sink{}
	b := httpx.NewLogBuffer(out, httpx.LogBufferOptions{Interval: 5 * time.Millisecond})
	defer b.Close()
	writeLines(t, b, 0, 3)
	for out.String() != lines(0, 3) {
		time.Sleep(time.Millisecond)
	}
}

// Size bytes start a batch before the interval; Max bounds what waits, so
// that a stuck output holds writers back instead of growing the buffer.
func TestLogBufferBounded(t *testing.T) {
	out := &sink{hold: make(chan struct{})}
	b := httpx.NewLogBuffer(out, httpx.LogBufferOptions{Interval: time.Hour, Size: 100, Max: 200})
	done := make(chan struct{})
	go func() {
		defer close(done)
		writeLines(t, b, 0, 1000)
	}()
	// Release the output one batch at a time until every line is written.
	for finished := false; !finished; {
		select {
		case out.hold <- struct{}{}:
		case <-done:
			finished = true
		}
	}
	close(out.hold)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), lines(0, 1000); got != want {
		t.Fatalf("lines out of order or lost: got %d bytes, want %d", len(got), len(want))
	}
	for _, n := range out.Writes() {
		if n > 200 {
			t.Fatalf("a batch of %d bytes, beyond Max 200", n)
		}
	}
}

// An output that fails loses its batches, counted, and never holds a
// writer: far more than Max bytes are written through it.
func TestLogBufferFailingOutput(t *testing.T) {
	out := &sink{fail: true}
	b := httpx.NewLogBuffer(out, httpx.LogBufferOptions{Interval: time.Hour, Size: 100, Max: 200})
	writeLines(t, b, 0, 1000)
	b.Close()
	if b.Failed() == 0 {
		t.Error("no failed batch counted")
	}
	one := httpx.NewLogBuffer(out, hour)
	writeLines(t, one, 0, 1)
	if err := one.Flush(); err == nil || one.Failed() != 1 {
		t.Errorf("Flush on a failing output: %v, %d failed; want the error, 1", err, one.Failed())
	}
	one.Close()
	out.mu.Lock()
	out.fail = false
	out.mu.Unlock()
	// Once the output works again, lines flow.
	writeLines(t, b, 0, 1)
	if got := out.String(); got != lines(0, 1) {
		t.Errorf("after the output recovered: %q", got)
	}
}

// The access log keeps its JSON shape through the buffer.
func TestAccessLogBuffered(t *testing.T) {
	out := &sink{}
	b := httpx.NewLogBuffer(out, hour)
	log := slog.New(slog.NewJSONHandler(b, nil))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/environments/{envID}", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{}`)) })
	h := httpx.Router(mux, nil, log)
	for range 2 {
		req := httptest.NewRequest("GET", "/v1/environments/e1", nil)
		req.Header.Set("X-Request-Id", "req-1")
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	if out.String() != "" {
		t.Fatalf("logged before any flush: %q", out.String())
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(got) != 2 {
		t.Fatalf("%d lines, want 2: %q", len(got), out.String())
	}
	for _, line := range got {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		want := map[string]any{"level": "INFO", "msg": "request", "requestId": "req-1", "method": "GET", "path": "/v1/environments/e1",
			"route": "GET /v1/environments/{envID}", "status": float64(200), "bytes": float64(2)}
		for k, v := range want {
			if m[k] != v {
				t.Errorf("%s = %v, want %v", k, m[k], v)
			}
		}
		if _, ok := m["duration"].(float64); !ok {
			t.Errorf("duration = %v, want a number", m["duration"])
		}
		if _, ok := m["time"].(string); !ok {
			t.Errorf("time = %v, want a string", m["time"])
		}
	}
}

// What the access log costs a request, a line per request written to a
// file straight or through LogBuffer (compare ns/op at -cpu 1):
//
//	go test -run '^$' -bench AccessLog -cpu 1 ./internal/httpx/
func BenchmarkAccessLog(b *testing.B) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/environments/{envID}", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{}`)) })
	for _, buffered := range []bool{false, true} {
		name := "direct"
		if buffered {
			name = "buffered"
		}
		b.Run(name, func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "access.log"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			var out io.Writer = f
			if buffered {
				lb := httpx.NewLogBuffer(f, httpx.LogBufferOptions{})
				defer lb.Close()
				out = lb
			}
			h := httpx.Router(mux, nil, slog.New(slog.NewJSONHandler(out, nil)))
			req := httptest.NewRequest("GET", "/v1/environments/e1", nil)
			req.Header.Set("X-Request-Id", "req-1")
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}
