package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// failureCounter is one of the two failure counts: a user's password, or
// an unknown username's. They must count alike, or a sign-on's answers
// tell which usernames exist.
type failureCounter struct {
	name   string
	record func(t *testing.T, lockAfter int, lockFor, window time.Duration, at time.Time) (count int, lockedUntil time.Time)
}

func failureCounters(t *testing.T, s store.Store) []failureCounter {
	ctx := t.Context()
	e, pop := envWithPop(t, s)
	u := newUser(t, s, e.ID, pop.ID, "counted")
	must(t, s.PutUserPassword(ctx, mkPassword(e.ID, u.ID)), "PutUserPassword")
	key := newHash()
	return []failureCounter{
		{"user", func(t *testing.T, lockAfter int, lockFor, window time.Duration, at time.Time) (int, time.Time) {
			got, err := s.RecordPasswordFailure(ctx, e.ID, u.ID, lockAfter, lockFor, window, at)
			must(t, err, "RecordPasswordFailure")
			return got.FailedCount, got.LockedUntil
		}},
		{"unknown username", func(t *testing.T, lockAfter int, lockFor, window time.Duration, at time.Time) (int, time.Time) {
			got, err := s.RecordUnknownUserFailure(ctx, e.ID, key, lockAfter, lockFor, window, at)
			must(t, err, "RecordUnknownUserFailure")
			if got.EnvironmentID != e.ID || got.UsernameHash != key || !got.UpdatedAt.Equal(at) {
				t.Errorf("record %+v, want environment %s, key %s, updated at %v", got, e.ID, key, at)
			}
			return got.FailedCount, got.LockedUntil
		}},
	}
}

// testFailureCounts runs one sequence of failures on a user's password and
// on an unknown username: both count, lock, start over after a lock and
// age out alike.
func testFailureCounts(t *testing.T, s store.Store) {
	const lockAfter, lockFor, window = 3, time.Minute, 10 * time.Minute
	t0 := now()
	steps := []struct {
		name   string
		at     time.Duration // after t0
		window time.Duration
		count  int
		locked time.Duration // lockedUntil after t0; 0: not locked
	}{
		{"first", 0, window, 1, 0},
		{"second", time.Minute, window, 2, 0},
		{"aged: the last failure is a window old", 11 * time.Minute, window, 1, 0},
		{"second again", 12 * time.Minute, window, 2, 0},
		{"third locks", 13 * time.Minute, window, 3, 14 * time.Minute},
		{"the lock ran out: a fresh count", 14 * time.Minute, window, 1, 0},
		{"without a window nothing ages", 100 * time.Minute, 0, 2, 0},
		{"one millisecond short of the window", 110*time.Minute - time.Millisecond, window, 3, 111*time.Minute - time.Millisecond},
	}
	for _, c := range failureCounters(t, s) {
		t.Run(c.name, func(t *testing.T) {
			for _, st := range steps {
				count, until := c.record(t, lockAfter, lockFor, st.window, t0.Add(st.at))
				var want time.Time
				if st.locked > 0 {
					want = t0.Add(st.locked)
				}
				if count != st.count || !until.Equal(want) {
					t.Errorf("%s: count %d lockedUntil %v, want %d %v", st.name, count, until, st.count, want)
				}
			}
		})
	}
}

// testUnknownUserFailures: an unknown username's count is per environment
// and per key, reads back until it expires, locks on the first failure
// when the policy says so, and counts every one of concurrent failures.
func testUnknownUserFailures(t *testing.T, s store.Store) {
	ctx := t.Context()
	x, y := newAuthEnv(t, s), newAuthEnv(t, s)
	key, other := newHash(), newHash()
	t0 := now()
	_, err := s.GetUnknownUserFailures(ctx, x.env.ID, key, t0)
	wantErr(t, err, store.ErrNotFound, "GetUnknownUserFailures before any failure")
	_, err = s.RecordUnknownUserFailure(ctx, newID(), key, 5, time.Minute, time.Hour, t0)
	wantErr(t, err, store.ErrNotFound, "RecordUnknownUserFailure in an unknown environment")

	got, err := s.RecordUnknownUserFailure(ctx, x.env.ID, key, 5, time.Minute, time.Hour, t0)
	must(t, err, "RecordUnknownUserFailure")
	want := store.UnknownUserFailures{EnvironmentID: x.env.ID, UsernameHash: key, FailedCount: 1, UpdatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if *got != want {
		t.Errorf("record %+v, want %+v", *got, want)
	}
	read, err := s.GetUnknownUserFailures(ctx, x.env.ID, key, t0.Add(time.Hour-time.Millisecond))
	must(t, err, "GetUnknownUserFailures")
	if *read != want {
		t.Errorf("read %+v, want %+v", *read, want)
	}
	_, err = s.GetUnknownUserFailures(ctx, x.env.ID, key, t0.Add(time.Hour))
	wantErr(t, err, store.ErrNotFound, "GetUnknownUserFailures once expired")
	_, err = s.GetUnknownUserFailures(ctx, y.env.ID, key, t0)
	wantErr(t, err, store.ErrNotFound, "GetUnknownUserFailures of the key in another environment")
	_, err = s.GetUnknownUserFailures(ctx, x.env.ID, other, t0)
	wantErr(t, err, store.ErrNotFound, "GetUnknownUserFailures of another key")

	// The same key in another environment counts on its own; a lockout of
	// one failure locks at once, and a lock longer than the window keeps
	// the row to its end.
	got, err = s.RecordUnknownUserFailure(ctx, y.env.ID, key, 1, 2*time.Hour, time.Hour, t0)
	must(t, err, "RecordUnknownUserFailure(y)")
	if got.FailedCount != 1 || !got.LockedUntil.Equal(t0.Add(2*time.Hour)) || !got.ExpiresAt.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("y's record %+v, want one failure locked and kept for 2h", got)
	}
	read, err = s.GetUnknownUserFailures(ctx, x.env.ID, key, t0)
	must(t, err, "GetUnknownUserFailures(x)")
	if read.FailedCount != 1 || !read.LockedUntil.IsZero() {
		t.Errorf("x's record %+v changed with y's", read)
	}

	// Concurrent failures all count.
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.RecordUnknownUserFailure(ctx, x.env.ID, other, 100, time.Minute, time.Hour, t0)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		must(t, err, "concurrent RecordUnknownUserFailure")
	}
	read, err = s.GetUnknownUserFailures(ctx, x.env.ID, other, t0)
	must(t, err, "GetUnknownUserFailures after concurrent failures")
	if read.FailedCount != n {
		t.Errorf("%d concurrent failures counted %d", n, read.FailedCount)
	}
}
