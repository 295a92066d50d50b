package audit

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/telemetry"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// eachStore runs fn on a fresh store of each backend holding one
// environment.
func eachStore(t *testing.T, fn func(t *testing.T, st store.Store, envID string)) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			st, err := sqlstore.Open(t.Context(), b.DSN(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			fn(t, st, newEnv(t, st))
		})
	}
}

func newEnv(t *testing.T, st store.Store) string { return newEnvTB(t, st) }

func newEnvTB(t testing.TB, st store.Store) string {
	t.Helper()
	ctx := context.Background()
	now := store.Now()
	org := &store.Organization{ID: uuid.NewString(), Name: "Org " + uuid.NewString()[:8], Type: "TRIAL", CreatedAt: now, UpdatedAt: now}
	lic := &store.License{ID: uuid.NewString(), OrganizationID: org.ID, Name: "License", Package: "TRIAL", Status: "ACTIVE",
		Data: json.RawMessage(`{}`), CreatedAt: now, UpdatedAt: now}
	env := &store.Environment{ID: uuid.NewString(), OrganizationID: org.ID, Name: "Env " + uuid.NewString()[:8], Type: "SANDBOX", Region: "EU",
		LicenseID: lic.ID, Status: "ACTIVE", CreatedAt: now, UpdatedAt: now}
	for _, err := range []error{st.CreateOrganization(ctx, org), st.CreateLicense(ctx, lic), st.CreateEnvironment(ctx, env)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return env.ID
}

func activity(envID string) *store.Activity {
	return &store.Activity{EnvironmentID: envID, ActionType: "USER.UPDATED", ResultStatus: "SUCCESS",
		Resources: []store.ActivityResource{{ID: uuid.NewString(), Type: "USER", EnvironmentID: envID}}}
}

func stored(t *testing.T, st store.Store) []store.Activity {
	t.Helper()
	all, err := st.ActivitiesAfter(t.Context(), 0, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	return all
}

func closeLog(t *testing.T, l *Log) {
	t.Cleanup(func() {
		if err := l.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
}

// TestLogBatches: full batches are written without waiting, the rest on
// Flush; OnWrite runs once a batch; Record fills in the id, the time (UTC
// milliseconds) and the request's correlation id.
func TestLogBatches(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store, env string) {
		l := New(st, Options{BatchSize: 10, FlushInterval: time.Hour}, quiet)
		closeLog(t, l)
		var writes atomic.Int32
		wrote := make(chan struct{}, 10)
		l.OnWrite(func() { writes.Add(1); wrote <- struct{}{} })

		// The first activity goes through the router, which gives the
		// request its id.
		mux := http.NewServeMux()
		mux.HandleFunc("GET /x", func(w http.ResponseWriter, r *http.Request) { l.Record(r.Context(), activity(env)) })
		h := httpx.Router(mux, httpx.NewMetrics(prometheus.NewRegistry()), quiet)
		req := httptest.NewRequest("GET", "/x", nil)
		req.Header.Set("X-Request-Id", "req-42")
		h.ServeHTTP(httptest.NewRecorder(), req)
		before := time.Now().UTC().Truncate(time.Millisecond)
		for range 24 {
			l.Record(context.Background(), activity(env))
		}
		for range 2 {
			select {
			case <-wrote:
			case <-time.After(10 * time.Second):
				t.Fatal("two full batches were not written without a flush")
			}
		}
		if n := len(stored(t, st)); n != 20 {
			t.Errorf("before Flush: %d activities stored, want 20 (two full batches)", n)
		}
		if err := l.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		all := stored(t, st)
		if len(all) != 25 || writes.Load() != 3 {
			t.Fatalf("after Flush: %d stored in %d writes, want 25 in 3", len(all), writes.Load())
		}
		if all[0].CorrelationID != "req-42" {
			t.Errorf("correlationId = %q, want the request's id req-42", all[0].CorrelationID)
		}
		for i, a := range all {
			if _, err := uuid.Parse(a.ID); err != nil {
				t.Errorf("activity %d: id %q is not a UUID", i, a.ID)
			}
			if a.RecordedAt.Location() != time.UTC || a.RecordedAt.Nanosecond()%int(time.Millisecond) != 0 {
				t.Errorf("activity %d: recordedAt %v is not UTC milliseconds", i, a.RecordedAt)
			}
			if i > 0 && (a.RecordedAt.Before(before) || a.RecordedAt.After(time.Now())) {
				t.Errorf("activity %d: recordedAt %v outside the test's run", i, a.RecordedAt)
			}
			if i > 0 && all[i].Seq <= all[i-1].Seq {
				t.Errorf("Seqs not ascending: %d then %d", all[i-1].Seq, all[i].Seq)
			}
		}
	})
}

// TestLogInterval: an activity alone is written within FlushInterval.
func TestLogInterval(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store, env string) {
		l := New(st, Options{FlushInterval: 20 * time.Millisecond}, quiet)
		closeLog(t, l)
		wrote := make(chan struct{}, 1)
		l.OnWrite(func() { wrote <- struct{}{} })
		a := activity(env)
		a.ID, a.CorrelationID = uuid.NewString(), "given"
		l.Record(t.Context(), a)
		select {
		case <-wrote:
		case <-time.After(10 * time.Second):
			t.Fatal("nothing written after the flush interval")
		}
		got, err := st.GetActivity(t.Context(), env, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.CorrelationID != "given" {
			t.Errorf("correlationId = %q, want the caller's", got.CorrelationID)
		}
	})
}

// TestLogClose: Close writes everything queued; a Record after Close is
// written by its caller.
func TestLogClose(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store, env string) {
		l := New(st, Options{BatchSize: 1000, QueueSize: 1000, FlushInterval: time.Hour}, quiet)
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 50 {
					l.Record(context.Background(), activity(env))
				}
			}()
		}
		wg.Wait()
		if err := l.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		if n := len(stored(t, st)); n != 200 {
			t.Errorf("after Close: %d stored, want 200", n)
		}
		l.Record(context.Background(), activity(env))
		if n := len(stored(t, st)); n != 201 {
			t.Errorf("a Record after Close: %d stored, want 201", n)
		}
		if err := l.Close(t.Context()); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if err := l.Flush(t.Context()); err != nil {
			t.Errorf("Flush after Close: %v", err)
		}
	})
}

// gated holds the first InsertActivities until open is closed: a
// database that stalls.
type gated struct {
	store.ActivityStore
	calls atomic.Int32
	held  chan struct{}
	open  chan struct{}
}

func (g *gated) InsertActivities(ctx context.Context, as []*store.Activity) error {
	if g.calls.Add(1) == 1 {
		close(g.held)
		<-g.open
	}
	return g.ActivityStore.InsertActivities(ctx, as)
}

// TestLogOverflow: with the writer stalled and the queue full, Record
// writes its activity itself at once: nothing is dropped.
func TestLogOverflow(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store, env string) {
		g := &gated{ActivityStore: st, held: make(chan struct{}), open: make(chan struct{})}
		l := New(g, Options{BatchSize: 1, QueueSize: 1, FlushInterval: time.Millisecond}, quiet)
		closeLog(t, l)
		overflow := counted(t, "overflow")
		first, queued, third := activity(env), activity(env), activity(env)
		l.Record(t.Context(), first)
		<-g.held // the writer holds first, stalled
		l.Record(t.Context(), queued)
		l.Record(t.Context(), third) // the queue is full: written now
		all := stored(t, st)
		if len(all) != 1 || all[0].ID != third.ID {
			t.Errorf("while the writer stalls: stored %v, want only the overflowing activity %s", all, third.ID)
		}
		if d := counted(t, "overflow") - overflow; d != 1 {
			t.Errorf("overflow counted %v times, want 1", d)
		}
		close(g.open)
		if err := l.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		if n := len(stored(t, st)); n != 3 {
			t.Errorf("after the stall: %d stored, want 3", n)
		}
	})
}

// TestLogWriteFailure: a batch with a row the store refuses (its
// environment is gone) is retried, then written row by row: only that
// row is lost, and it is counted.
func TestLogWriteFailure(t *testing.T) {
	defer func(b time.Duration) { writeBackoff = b }(writeBackoff)
	writeBackoff = time.Millisecond
	eachStore(t, func(t *testing.T, st store.Store, env string) {
		l := New(st, Options{BatchSize: 3, FlushInterval: time.Hour}, quiet)
		closeLog(t, l)
		failed := counted(t, "failed")
		good1, bad, good2 := activity(env), activity(uuid.NewString()), activity(env)
		for _, a := range []*store.Activity{good1, bad, good2} {
			l.Record(t.Context(), a)
		}
		if err := l.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		all := stored(t, st)
		if len(all) != 2 || all[0].ID != good1.ID || all[1].ID != good2.ID {
			t.Errorf("stored %d activities, want the two of an existing environment", len(all))
		}
		if d := counted(t, "failed") - failed; d != 1 {
			t.Errorf("failed counted %v times, want 1", d)
		}
	})
}

// TestLogDisabled: a disabled log records nothing and never fails.
func TestLogDisabled(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store, env string) {
		l := New(st, Options{Disabled: true}, quiet)
		l.OnWrite(func() { t.Error("OnWrite ran on a disabled log") })
		l.Record(t.Context(), activity(env))
		if err := errorsOf(l.Flush(t.Context()), l.Close(t.Context())); err != nil {
			t.Fatal(err)
		}
		if n := len(stored(t, st)); n != 0 {
			t.Errorf("a disabled log stored %d activities", n)
		}
	})
}

// counted reads telemetry.AuditActivities for outcome.
func counted(t *testing.T, outcome string) float64 { return countedB(t, outcome) }

func countedB(t testing.TB, outcome string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	if err := telemetry.Register(reg); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "gatehouse_audit_activities_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "outcome" && lp.GetValue() == outcome {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func errorsOf(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// TestLogPurge: Purge deletes, in batches, what is older than the
// retention, and nothing younger.
func TestLogPurge(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store, env string) {
		l := New(st, Options{Retention: 24 * time.Hour}, quiet)
		closeLog(t, l)
		now := store.Now()
		var as []*store.Activity
		for i := range 5 {
			a := activity(env)
			a.ID, a.RecordedAt = uuid.NewString(), now.Add(-25*time.Hour-time.Duration(i)*time.Minute)
			as = append(as, a)
		}
		young := activity(env)
		young.ID, young.RecordedAt = uuid.NewString(), now.Add(-23*time.Hour)
		if err := st.InsertActivities(t.Context(), append(as, young)); err != nil {
			t.Fatal(err)
		}
		n, err := l.Purge(t.Context(), now, 2)
		if err != nil || n != 5 {
			t.Fatalf("Purge = %d, %v; want 5", n, err)
		}
		all := stored(t, st)
		if len(all) != 1 || all[0].ID != young.ID {
			t.Errorf("after Purge %d left, want only the young one", len(all))
		}
	})
}

// countingStore counts InsertActivities calls and passes them on to the
// real store.
type countingStore struct {
	store.ActivityStore
	inserts atomic.Int32
}

func (c *countingStore) InsertActivities(ctx context.Context, as []*store.Activity) error {
	c.inserts.Add(1)
	return c.ActivityStore.InsertActivities(ctx, as)
}

// TestLogCoalesces: with the default options, activities that arrive
// together (a burst from several requests at once) or one after another
// (a steady stream, one every millisecond) are written a batch at a time,
// in far fewer InsertActivities calls than activities: the writer waits
// up to FlushInterval after the first before it writes.
func TestLogCoalesces(t *testing.T) {
	const n = 100
	for _, tc := range []struct {
		name string
		gap  time.Duration // between one goroutine's activities
	}{{"burst", 0}, {"stream", time.Millisecond}} {
		t.Run(tc.name, func(t *testing.T) {
			eachStore(t, func(t *testing.T, st store.Store, env string) {
				cs := &countingStore{ActivityStore: st}
				l := New(cs, Options{}, quiet)
				closeLog(t, l)
				var wg sync.WaitGroup
				for range 4 {
					wg.Go(func() {
						for range n / 4 {
							l.Record(context.Background(), activity(env))
							time.Sleep(tc.gap)
						}
					})
				}
				wg.Wait()
				if err := l.Flush(t.Context()); err != nil {
					t.Fatal(err)
				}
				if got := len(stored(t, st)); got != n {
					t.Fatalf("%d activities stored, want %d", got, n)
				}
				// A stream of 100 ms at most spans a few flush intervals even
				// on a loaded machine; a writer that wrote each activity
				// alone would make n calls.
				if calls := cs.inserts.Load(); calls > n/10 {
					t.Errorf("%d activities written in %d InsertActivities calls, want at most %d", n, calls, n/10)
				} else {
					t.Logf("%d activities written in %d InsertActivities calls", n, calls)
				}
			})
		})
	}
}
