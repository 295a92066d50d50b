package app_test

import (
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/webhook"
)

// hookReceiver is an HTTPS endpoint in the test whose behaviour the test
// switches: hang (until the request's client gives up), fail with 503, or
// take the activity.
type hookReceiver struct {
	srv     *httptest.Server
	mode    atomic.Value  // "hang", "fail", "ok"
	hanging atomic.Int32  // requests being held right now
	unhang  chan struct{} // closed: held requests are answered 503
	mu      sync.Mutex
	got     []string // activity ids, in arrival order, with the answer given
	modes   []string
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{unhang: make(chan struct{})}
	h.mode.Store("ok")
	h.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var a struct {
			ID string `json:"id"`
		}
		json.Unmarshal(b, &a)
		mode := h.mode.Load().(string)
		h.mu.Lock()
		h.got, h.modes = append(h.got, a.ID), append(h.modes, mode)
		h.mu.Unlock()
		switch mode {
		case "hang":
			h.hanging.Add(1)
			defer h.hanging.Add(-1)
			select {
			case <-r.Context().Done():
			case <-h.unhang:
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		case "fail":
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			w.WriteHeader(http.StatusOK)
		}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) received() (ids, modes []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.got), slices.Clone(h.modes)
}

// TestWebhookEndToEnd: a subscription made through the management API
// gets the activities the audit log records after it (none before), in
// order. While its endpoint hangs, token requests complete as fast as
// without it; when the endpoint then fails and recovers, nothing is lost
// and the order is kept; the subscription shows where delivery stands.
func TestWebhookEndToEnd(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			rc := newHookReceiver(t)
			pool := x509.NewCertPool()
			pool.AddCert(rc.srv.Certificate())
			const deliveryTimeout = 30 * time.Second
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t), GuardOutbound: true,
				OutboundAllow: []netip.AddrPort{netip.MustParseAddrPort(rc.srv.Listener.Addr().String())}, OutboundRootCAs: pool,
				Webhooks: &webhook.Options{Poll: 50 * time.Millisecond, Timeout: deliveryTimeout, BaseBackoff: 50 * time.Millisecond,
					MaxBackoff: 200 * time.Millisecond}})
			env := s.Admin.EnvironmentID
			worker := s.CreateWorker(t, env, "CLIENT_SECRET_BASIC")
			record := func(typ string) string {
				a := &store.Activity{EnvironmentID: env, ActionType: typ, ResultStatus: "SUCCESS",
					Client:    &store.ActivityActor{ID: s.Admin.ClientID, Type: "CLIENT", EnvironmentID: env},
					Resources: []store.ActivityResource{{ID: uuid.NewString(), Type: "USER", EnvironmentID: env}}}
				s.Audit.Record(t.Context(), a)
				if err := s.Audit.Flush(t.Context()); err != nil {
					t.Fatal(err)
				}
				return a.ID
			}
			// Token requests before any webhook: the baseline.
			timeTokens := func() []time.Duration {
				var out []time.Duration
				for range 20 {
					start := time.Now()
					s.TokenFor(t, env, worker.ClientID, worker.Secret)
					out = append(out, time.Since(start))
				}
				return out
			}
			before := timeTokens()

			history := record("USER.CREATED")
			r := s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + env + "/subscriptions", Token: s.AdminToken(t), Body: map[string]any{
				"name": "SIEM", "enabled": true, "format": "ACTIVITY", "verifyTlsCertificates": true,
				"httpEndpoint":  map[string]any{"url": rc.srv.URL + "/events", "headers": map[string]any{"Authorization": "Bearer hook-secret"}},
				"filterOptions": map[string]any{"includedActionTypes": []any{"USER.CREATED", "USER.UPDATED"}},
			}})
			if r.Status != http.StatusCreated {
				t.Fatalf("create subscription: %d %s", r.Status, r.Body)
			}
			subID := r.JSON(t)["id"].(string)

			rc.mode.Store("hang")
			want := []string{record("USER.CREATED"), record("USER.UPDATED"), record("USER.CREATED")}
			record("USER.DELETED") // not subscribed
			deadline := time.Now().Add(10 * time.Second)
			for rc.hanging.Load() == 0 {
				if time.Now().After(deadline) {
					t.Fatal("the endpoint was never called")
				}
				time.Sleep(5 * time.Millisecond)
			}
			// Token requests while the endpoint holds a delivery: each one
			// is answered while the delivery still hangs (it is let go only
			// below), far inside the delivery's timeout.
			var during []time.Duration
			for range 20 {
				start := time.Now()
				s.TokenFor(t, env, worker.ClientID, worker.Secret)
				took := time.Since(start)
				if rc.hanging.Load() == 0 {
					t.Fatal("the delivery stopped hanging during the token requests")
				}
				if took > deliveryTimeout/2 {
					t.Errorf("a token request took %s while the webhook hung (delivery timeout %s)", took, deliveryTimeout)
				}
				during = append(during, took)
			}
			t.Logf("client_credentials token: median %s, max %s without a webhook; median %s, max %s while its endpoint hangs",
				median(before), slices.Max(before), median(during), slices.Max(during))

			// The held attempt and the retries then get 503s.
			rc.mode.Store("fail")
			close(rc.unhang)
			deadline = time.Now().Add(20 * time.Second)
			for {
				_, modes := rc.received()
				fails := 0
				for _, m := range modes {
					if m == "fail" {
						fails++
					}
				}
				if fails >= 2 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no retries after the hang: %v", modes)
				}
				time.Sleep(10 * time.Millisecond)
			}
			rc.mode.Store("ok")
			deadline = time.Now().Add(20 * time.Second)
			for {
				ids, _ := rc.received()
				if n := len(ids); n >= 3 && slices.Equal(ids[n-3:], want) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("received %v, want it to end with %v", ids, want)
				}
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(200 * time.Millisecond)
			ids, modes := rc.received()
			// Every attempt before the last three was at the first activity:
			// the later ones waited for it. Exactly once each after.
			for i := range len(ids) - 3 {
				if ids[i] != want[0] || modes[i] == "ok" {
					t.Fatalf("attempt %d: %s (%s); received %v with %v", i, ids[i], modes[i], ids, modes)
				}
			}
			if !slices.Contains(modes, "hang") || !slices.Contains(modes, "fail") {
				t.Errorf("modes seen: %v", modes)
			}
			if slices.Contains(ids, history) {
				t.Error("an activity recorded before the subscription was sent")
			}
			got := s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + env + "/subscriptions/" + subID, Token: s.AdminToken(t)}).JSON(t)
			ds := got["deliveryStatus"].(map[string]any)
			if ds["status"] != "ACTIVE" || ds["attempts"] != float64(0) || ds["lastDeliveredAt"] == nil || ds["deadLetterCount"] != float64(0) {
				t.Errorf("deliveryStatus = %v", ds)
			}
			if e := ds["lastError"]; e != "the endpoint answered HTTP 503" {
				t.Errorf("lastError = %v", e)
			}
		})
	}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// BenchmarkTokenWhileWebhookHangs: client_credentials token requests
// while a subscription's endpoint holds a delivery (hang=true) against
// the same server with no subscription (hang=false), on each database.
// Besides the mean it reports the median and 99th percentile of the
// requests' latencies (p50-ns, p99-ns): a stalled delivery would show in
// the tail first.
func BenchmarkTokenWhileWebhookHangs(b *testing.B) {
	for _, be := range apptest.Backends() {
		for _, hang := range []bool{false, true} {
			b.Run(be.Name+"/"+map[bool]string{false: "no-webhook", true: "hanging-webhook"}[hang], func(b *testing.B) {
				benchTokenWhileWebhookHangs(b, be.DSN(b), hang)
			})
		}
	}
}

func benchTokenWhileWebhookHangs(b *testing.B, dsn string, hang bool) {
	rc := &hookReceiver{unhang: make(chan struct{})}
	rc.mode.Store("hang")
	rc.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		rc.hanging.Add(1)
		defer rc.hanging.Add(-1)
		select {
		case <-r.Context().Done():
		case <-rc.unhang:
		}
	}))
	b.Cleanup(rc.srv.Close)
	b.Cleanup(func() { close(rc.unhang) })
	pool := x509.NewCertPool()
	pool.AddCert(rc.srv.Certificate())
	s := apptest.Start(b, apptest.Options{DSN: dsn, GuardOutbound: true,
		OutboundAllow: []netip.AddrPort{netip.MustParseAddrPort(rc.srv.Listener.Addr().String())}, OutboundRootCAs: pool,
		Webhooks: &webhook.Options{Poll: 50 * time.Millisecond, Timeout: time.Hour}})
	env := s.Admin.EnvironmentID
	worker := s.CreateWorker(b, env, "CLIENT_SECRET_BASIC")
	if hang {
		r := s.Do(b, apptest.Request{Method: "POST", URL: "/environments/" + env + "/subscriptions", Token: s.AdminToken(b), Body: map[string]any{
			"name": "SIEM", "enabled": true, "format": "ACTIVITY", "verifyTlsCertificates": true,
			"httpEndpoint":  map[string]any{"url": rc.srv.URL + "/events"},
			"filterOptions": map[string]any{"includedActionTypes": []any{"USER.CREATED"}},
		}})
		if r.Status != http.StatusCreated {
			b.Fatalf("create subscription: %d %s", r.Status, r.Body)
		}
		s.Audit.Record(b.Context(), &store.Activity{EnvironmentID: env, ActionType: "USER.CREATED", ResultStatus: "SUCCESS"})
		deadline := time.Now().Add(10 * time.Second)
		for rc.hanging.Load() == 0 {
			if time.Now().After(deadline) {
				b.Fatal("the endpoint was never called")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		s.TokenFor(b, env, worker.ClientID, worker.Secret)
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	if hang && rc.hanging.Load() == 0 {
		b.Fatal("the delivery stopped hanging during the benchmark")
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2]), "p50-ns")
	b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)]), "p99-ns")
}
