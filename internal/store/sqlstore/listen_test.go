package sqlstore

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// heard collects what a store's watchers are told.
type heard struct {
	mu  sync.Mutex
	got []store.ConfigChange
}

func listenTo(s *SQLStore) *heard {
	h := &heard{}
	s.WatchConfig(func(c store.ConfigChange) {
		h.mu.Lock()
		h.got = append(h.got, c)
		h.mu.Unlock()
	})
	return h
}

func (h *heard) take() []store.ConfigChange {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.got
	h.got = nil
	return out
}

// waitFor returns once h heard want, how long after start, or fails a
// second after start.
func (h *heard) waitFor(t *testing.T, want store.ConfigChange, start time.Time) time.Duration {
	t.Helper()
	for {
		h.mu.Lock()
		ok := slices.Contains(h.got, want)
		h.mu.Unlock()
		if ok {
			return time.Since(start)
		}
		if time.Since(start) > time.Second {
			t.Fatalf("never heard %+v; heard %+v", want, h.take())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestOtherNodesHearChanges: on PostgreSQL a configuration write committed
// through one store (node) reaches the watchers of another store on the
// same schema as it commits, once; the writing node hears it once (at
// commit, not again from the notification); a rolled-back write and
// another schema's writes are not heard; and a listening connection that
// breaks comes back and hears later writes.
func TestOtherNodesHearChanges(t *testing.T) {
	dsn := sqltest.Postgres(t)
	a, b := openStore(t, dsn), openStore(t, dsn)
	elsewhere := openStore(t, sqltest.Postgres(t))
	env := newTestEnv(t, a)
	ha, hb, hx := listenTo(a), listenTo(b), listenTo(elsewhere)
	ctx := t.Context()

	write := func() int64 {
		t.Helper()
		if err := a.ClearDefaultSignOnPolicy(ctx, env.ID, uuid.NewString()); err != nil {
			t.Fatal(err)
		}
		v, err := a.ConfigVersion(ctx, env.ID)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	start := time.Now()
	v := write()
	want := store.ConfigChange{EnvironmentID: env.ID, Version: v}
	took := hb.waitFor(t, want, start)
	t.Logf("the other node heard the write %v after it began", took)
	if got := ha.take(); !slices.Equal(got, []store.ConfigChange{want}) {
		t.Errorf("the writing node heard %+v, want %+v once", got, want)
	}
	time.Sleep(50 * time.Millisecond) // a duplicate would have arrived by now
	if got := hb.take(); !slices.Equal(got, []store.ConfigChange{want}) {
		t.Errorf("the other node heard %+v, want %+v once", got, want)
	}

	errBoom := errors.New("boom")
	if err := a.Tx(ctx, func(tx store.Store) error {
		if err := tx.ClearDefaultSignOnPolicy(ctx, env.ID, uuid.NewString()); err != nil {
			return err
		}
		return errBoom
	}); !errors.Is(err, errBoom) {
		t.Fatalf("Tx = %v", err)
	}
	v = write() // heard after the rolled-back one would have been
	hb.waitFor(t, store.ConfigChange{EnvironmentID: env.ID, Version: v}, time.Now())
	if got := hb.take(); len(got) != 1 {
		t.Errorf("after a rolled-back write and a committed one the other node heard %+v", got)
	}

	// The delete of an environment is heard as such.
	other := newTestEnv(t, a)
	if err := a.DeleteEnvironment(ctx, other.ID); err != nil {
		t.Fatal(err)
	}
	hb.waitFor(t, store.ConfigChange{EnvironmentID: other.ID, Deleted: true}, time.Now())

	// b's listening connection is cut: it reconnects and hears what
	// follows.
	var pids []int
	rows, err := a.db.writer.db.QueryContext(ctx, `SELECT pid FROM pg_stat_activity WHERE query = $1`, `LISTEN "`+b.db.listen.channel+`"`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	rows.Close()
	if len(pids) != 2 {
		t.Fatalf("%d listening connections on the schema, want a's and b's", len(pids))
	}
	for _, pid := range pids {
		if _, err := a.db.writer.db.ExecContext(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
			t.Fatal(err)
		}
	}
	hb.take()
	deadline := time.Now().Add(5 * time.Second)
	for {
		v = write()
		if func() bool {
			time.Sleep(100 * time.Millisecond)
			return slices.Contains(hb.take(), store.ConfigChange{EnvironmentID: env.ID, Version: v})
		}() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the other node never listened again after its connection was cut")
		}
	}

	if got := hx.take(); len(got) != 0 {
		t.Errorf("a store on another schema heard %+v", got)
	}
}

func TestParseChange(t *testing.T) {
	cases := []struct {
		payload string
		want    store.ConfigChange
		ok      bool
	}{
		{"n2 env-1 7", store.ConfigChange{EnvironmentID: "env-1", Version: 7}, true},
		{"n2 env-1 deleted", store.ConfigChange{EnvironmentID: "env-1", Deleted: true}, true},
		{"self env-1 7", store.ConfigChange{}, false},
		{"n2 env-1 seven", store.ConfigChange{}, false},
		{"n2 env-1", store.ConfigChange{}, false},
		{"", store.ConfigChange{}, false},
		{"n2 env-1 7 extra", store.ConfigChange{}, false},
	}
	for _, c := range cases {
		got, ok := parseChange(c.payload, "self")
		if ok != c.ok || got != c.want {
			t.Errorf("parseChange(%q) = %+v, %v; want %+v, %v", c.payload, got, ok, c.want, c.ok)
		}
	}
}
