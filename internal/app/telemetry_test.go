package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/telemetry"
)

// collector is an OTLP/HTTP trace receiver (protobuf on /v1/traces), as
// an OpenTelemetry Collector serves it.
type collector struct {
	discard  bool // keep nothing (benchmarks)
	mu       sync.Mutex
	spans    []*tracepb.Span
	resource map[string]string
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "not OTLP/HTTP protobuf traces", http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	for _, rs := range req.ResourceSpans {
		if c.discard {
			break
		}
		if c.resource == nil {
			c.resource = map[string]string{}
		}
		for _, kv := range rs.GetResource().GetAttributes() {
			c.resource[kv.Key] = kv.Value.GetStringValue()
		}
		for _, ss := range rs.ScopeSpans {
			c.spans = append(c.spans, ss.Spans...)
		}
	}
	c.mu.Unlock()
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out)
}

func attr(s *tracepb.Span, key string) string {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			if iv := kv.Value.GetIntValue(); iv != 0 {
				return strconv.FormatInt(iv, 10)
			}
			return kv.Value.GetStringValue()
		}
	}
	return ""
}

// TestOTLPTraces signs on with a client_credentials token and a headless
// password check while the server exports to a collector started here,
// and reads the spans it received: each request's server span, named by
// its route, is the root of its trace (or the child of the caller's
// traceparent), and the store calls and the password check it made are
// its children in the same trace. The access log lines carry the
// requests' trace_id and span_id, and the store and hash-wait histograms
// on /metrics moved with the sign-on.
func TestOTLPTraces(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			col := &collector{}
			cs := httptest.NewServer(col)
			defer cs.Close()
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", cs.URL)
			t.Setenv("OTEL_SERVICE_NAME", "gatehouse-otlp-test")
			t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=test")
			t.Setenv("OTEL_TRACES_SAMPLER", "parentbased_always_on")
			stop, err := app.StartTracing(context.Background(), slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			if !telemetry.Tracing() {
				t.Fatal("tracing is off with OTEL_EXPORTER_OTLP_ENDPOINT set")
			}

			logs := &syncBuffer{}
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t),
				Logger: slog.New(telemetry.LogHandler(slog.NewJSONHandler(logs, nil)))})
			fx := s.NewSignOn(t, apptest.SignOnOptions{})
			w := s.CreateWorker(t, fx.EnvID, "CLIENT_SECRET_BASIC")
			before := scrape(t, s)

			// client_credentials, a fresh trace.
			form := url.Values{"grant_type": {"client_credentials"}}.Encode()
			req, _ := http.NewRequest("POST", s.URL+"/"+fx.EnvID+"/as/token", strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(w.ClientID, w.Secret)
			if st, body := send(t, http.DefaultClient, req); st != http.StatusOK {
				t.Fatalf("token: %d %s", st, body)
			}

			// Headless sign-on: the flow's password check continues the
			// caller's trace.
			jar, _ := cookiejar.New(nil)
			c := &http.Client{Jar: jar}
			authURL := s.URL + "/" + fx.EnvID + "/as/authorize?" + url.Values{"response_type": {"code"}, "client_id": {fx.AppID},
				"redirect_uri": {fx.RedirectURI}, "scope": {"openid"}, "response_mode": {"pi.flow"}}.Encode()
			req, _ = http.NewRequest("GET", authURL, nil)
			st, body := send(t, c, req)
			var fl struct{ ID, Status string }
			if st != http.StatusOK || json.Unmarshal(body, &fl) != nil || fl.Status != "USERNAME_PASSWORD_REQUIRED" {
				t.Fatalf("authorize: %d %s", st, body)
			}
			const callerTrace, callerSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
			creds, _ := json.Marshal(map[string]string{"username": fx.Username, "password": fx.Password})
			req, _ = http.NewRequest("POST", s.URL+"/"+fx.EnvID+"/flows/"+fl.ID, bytes.NewReader(creds))
			req.Header.Set("Content-Type", "application/vnd.pingidentity.usernamePassword.check+json")
			req.Header.Set("traceparent", "00-"+callerTrace+"-"+callerSpan+"-01")
			if st, body := send(t, c, req); st != http.StatusOK || !bytes.Contains(body, []byte(`"COMPLETED"`)) {
				t.Fatalf("password check: %d %s", st, body)
			}
			after := scrape(t, s)
			stop() // flushes

			col.mu.Lock()
			defer col.mu.Unlock()
			if col.resource["service.name"] != "gatehouse-otlp-test" || col.resource["deployment.environment.name"] != "test" {
				t.Errorf("resource %v: want OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES", col.resource)
			}
			byID := map[string]*tracepb.Span{}
			for _, sp := range col.spans {
				byID[hex.EncodeToString(sp.SpanId)] = sp
			}
			// server is the one server span of name for a request to path.
			server := func(name, path string) *tracepb.Span {
				t.Helper()
				var found []*tracepb.Span
				for _, sp := range col.spans {
					if sp.Name == name && sp.Kind == tracepb.Span_SPAN_KIND_SERVER && attr(sp, "url.path") == path {
						found = append(found, sp)
					}
				}
				if len(found) != 1 {
					t.Fatalf("%d server spans named %q, want 1", len(found), name)
				}
				return found[0]
			}
			children := func(parent *tracepb.Span) map[string]int {
				n := map[string]int{}
				for _, sp := range col.spans {
					if bytes.Equal(sp.ParentSpanId, parent.SpanId) {
						if !bytes.Equal(sp.TraceId, parent.TraceId) {
							t.Errorf("%s: trace %x, its parent %s's is %x", sp.Name, sp.TraceId, parent.Name, parent.TraceId)
						}
						if sp.StartTimeUnixNano < parent.StartTimeUnixNano || sp.EndTimeUnixNano > parent.EndTimeUnixNano {
							t.Errorf("%s is not within its parent %s", sp.Name, parent.Name)
						}
						n[sp.Name]++
					}
				}
				return n
			}

			tok := server("POST /{envID}/as/token", "/"+fx.EnvID+"/as/token")
			if len(tok.ParentSpanId) != 0 {
				t.Errorf("token span has parent %x, want a root", tok.ParentSpanId)
			}
			if got := attr(tok, "http.route"); got != "/{envID}/as/token" {
				t.Errorf("token span http.route %q", got)
			}
			if got := attr(tok, "http.response.status_code"); got != "200" {
				t.Errorf("token span status %q", got)
			}
			tokKids := children(tok)
			if tokKids["store.GetApplication"] != 1 {
				t.Errorf("token span's children %v: want the client's store.GetApplication", tokKids)
			}
			for name := range tokKids {
				if !strings.HasPrefix(name, "store.") {
					t.Errorf("token span child %q, want store calls only", name)
				}
			}

			chk := server("POST /{envID}/flows/{flowID}", "/"+fx.EnvID+"/flows/"+fl.ID)
			if hex.EncodeToString(chk.TraceId) != callerTrace || hex.EncodeToString(chk.ParentSpanId) != callerSpan {
				t.Errorf("flow span trace %x parent %x, want the caller's %s %s", chk.TraceId, chk.ParentSpanId, callerTrace, callerSpan)
			}
			kids := children(chk)
			if kids["password.Verify"] != 1 || kids["store.GetUserPassword"] != 1 {
				t.Errorf("flow span children %v: want one password.Verify of the one store.GetUserPassword", kids)
			}
			stores := 0
			for name, n := range kids {
				if strings.HasPrefix(name, "store.") {
					stores += n
				}
			}
			if stores == 0 {
				t.Errorf("flow span children %v: want store calls", kids)
			}
			// The store calls inside a transaction are the Tx span's children.
			system := map[string]string{"sqlite": "sqlite", "postgres": "postgresql"}[be.Name]
			for _, sp := range col.spans {
				if strings.HasPrefix(sp.Name, "store.") && (sp.Kind != tracepb.Span_SPAN_KIND_CLIENT || attr(sp, "db.system.name") != system) {
					t.Errorf("%s: kind %v, db.system.name %q, want a client span of %s", sp.Name, sp.Kind, attr(sp, "db.system.name"), system)
				}
				if p := byID[hex.EncodeToString(sp.ParentSpanId)]; p != nil && p.Name == "store.Tx" && !strings.HasPrefix(sp.Name, "store.") {
					t.Errorf("%s inside a transaction", sp.Name)
				}
			}

			// The access log lines name the requests' traces and spans.
			for _, sp := range []*tracepb.Span{tok, chk} {
				line := logs.request(t, attr(sp, "url.path"))
				if line["trace_id"] != hex.EncodeToString(sp.TraceId) || line["span_id"] != hex.EncodeToString(sp.SpanId) {
					t.Errorf("log line %v: want trace_id %x span_id %x", line, sp.TraceId, sp.SpanId)
				}
			}

			// The histograms moved with the sign-on: a hash waited, and the
			// store calls the spans name were timed.
			if after["gatehouse_password_hash_wait_seconds_count"] < before["gatehouse_password_hash_wait_seconds_count"]+1 {
				t.Errorf("password hash wait count %v → %v", before["gatehouse_password_hash_wait_seconds_count"], after["gatehouse_password_hash_wait_seconds_count"])
			}
			for name := range kids {
				op, ok := strings.CutPrefix(name, "store.")
				if !ok {
					continue
				}
				k := `gatehouse_store_duration_seconds_count{op="` + op + `"}`
				if after[k] < before[k]+1 {
					t.Errorf("%s: %v → %v", k, before[k], after[k])
				}
			}
		})
	}
}

// syncBuffer is a log output the server's goroutines share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// request is the access log line of the one request to path.
func (s *syncBuffer) request(t *testing.T, path string) map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var found []map[string]any
	for _, l := range bytes.Split(s.b.Bytes(), []byte("\n")) {
		var m map[string]any
		if json.Unmarshal(l, &m) == nil && m["msg"] == "request" && m["path"] == path {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d request lines for %s, want 1", len(found), path)
	}
	return found[0]
}

func send(t *testing.T, c *http.Client, req *http.Request) (int, []byte) {
	t.Helper()
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// scrape reads /metrics into series → value.
func scrape(t *testing.T, s *apptest.Server) map[string]float64 {
	t.Helper()
	res, err := http.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[line[:i]] = v
		}
	}
	return out
}
