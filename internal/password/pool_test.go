package password

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var tiny = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// waitFor waits until the pool has busy slots in use and waiting callers.
func waitFor(t *testing.T, h *Hasher, busy, waiting int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		h.mu.Lock()
		b, w := h.busy, len(h.queue)
		h.mu.Unlock()
		if b == busy && w == waiting {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pool: %d busy, %d waiting; want %d, %d", b, w, busy, waiting)
		}
	}
}

// fill takes every slot of h until the returned function is called.
func fill(t *testing.T, h *Hasher) (release func()) {
	t.Helper()
	ch := make(chan struct{})
	for range h.workers {
		go h.run(context.Background(), "test", func() { <-ch })
	}
	waitFor(t, h, h.workers, 0)
	return func() { close(ch) }
}

// TestPoolOrder: waiters are served lowest priority first, then in order
// of arrival.
func TestPoolOrder(t *testing.T) {
	h := NewPool(tiny, PoolOptions{Workers: 1, MaxWaiting: 10, MaxWait: time.Minute})
	release := fill(t, h)
	var mu sync.Mutex
	var served []string
	var wg sync.WaitGroup
	for i, w := range []struct {
		name string
		prio int
	}{{"p5", 5}, {"p0-first", 0}, {"p3", 3}, {"p0-second", 0}, {"p1", 1}} {
		wg.Go(func() {
			err := h.run(WithPriority(context.Background(), w.prio), "test", func() {
				mu.Lock()
				served = append(served, w.name)
				mu.Unlock()
			})
			if err != nil {
				t.Errorf("%s: %v", w.name, err)
			}
		})
		waitFor(t, h, 1, i+1) // one at a time, so that arrival order is known
	}
	release()
	wg.Wait()
	if want := []string{"p0-first", "p0-second", "p1", "p3", "p5"}; !slices.Equal(served, want) {
		t.Errorf("served %v, want %v", served, want)
	}
	waitFor(t, h, 0, 0)
}

// TestPoolAdaptiveLIFO: once the oldest waiter of a priority has waited
// long, that priority's waiters are served newest first (a burst does not
// hold up those after it); a full queue gives a newcomer the place of a
// waiter of a higher priority first, else, in that state, of the oldest
// of its own.
func TestPoolAdaptiveLIFO(t *testing.T) {
	h := NewPool(tiny, PoolOptions{Workers: 1, MaxWaiting: 4, MaxWait: time.Minute})
	h.lifoAfter = 30 * time.Millisecond
	release := fill(t, h)
	var mu sync.Mutex
	var served []string
	results := map[string]chan error{}
	queue := func(name string, prio int) {
		results[name] = make(chan error, 1)
		go func() {
			results[name] <- h.run(WithPriority(context.Background(), prio), "test", func() {
				mu.Lock()
				served = append(served, name)
				mu.Unlock()
			})
		}()
	}
	for i, w := range []struct {
		name string
		prio int
	}{{"burst-1", 0}, {"burst-2", 0}, {"burst-3", 0}, {"guess", 1}} {
		queue(w.name, w.prio)
		waitFor(t, h, 1, i+1)
	}
	time.Sleep(40 * time.Millisecond) // the burst has waited long
	queue("after", 0)
	if err := <-results["guess"]; !errors.Is(err, ErrBusy) {
		t.Errorf("the waiter of a higher priority, displaced: %v, want ErrBusy", err)
	}
	waitFor(t, h, 1, 4)
	queue("later", 0)
	if err := <-results["burst-1"]; !errors.Is(err, ErrBusy) {
		t.Errorf("the oldest of the burst, displaced: %v, want ErrBusy", err)
	}
	waitFor(t, h, 1, 4)
	release()
	for _, name := range []string{"burst-2", "burst-3", "after", "later"} {
		if err := <-results[name]; err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if want := []string{"later", "after", "burst-3", "burst-2"}; !slices.Equal(served, want) {
		t.Errorf("served %v, want %v", served, want)
	}
	waitFor(t, h, 0, 0)
}

// TestPoolBounds: a full queue refuses a newcomer that ranks last and
// gives the place of the last waiter to one that ranks before it; a wait
// that runs out and a caller that goes away leave the queue; every refusal
// is ErrBusy.
func TestPoolBounds(t *testing.T) {
	h := NewPool(tiny, PoolOptions{Workers: 1, MaxWaiting: 2, MaxWait: time.Minute})
	release := fill(t, h)
	results := map[string]chan error{}
	queue := func(name string, prio int) {
		results[name] = make(chan error, 1)
		go func() { results[name] <- h.VerifyNone(WithPriority(context.Background(), prio), "x") }()
	}
	queue("p3", 3)
	waitFor(t, h, 1, 1)
	queue("p4", 4)
	waitFor(t, h, 1, 2)
	if err := h.VerifyNone(WithPriority(context.Background(), 4), "x"); !errors.Is(err, ErrBusy) {
		t.Errorf("a newcomer ranking last in a full queue: %v, want ErrBusy", err)
	}
	queue("p1", 1)
	if err := <-results["p4"]; !errors.Is(err, ErrBusy) {
		t.Errorf("the last waiter, displaced: %v, want ErrBusy", err)
	}
	waitFor(t, h, 1, 2)

	// A caller that goes away leaves its place.
	ctx, cancel := context.WithCancel(context.Background())
	h.mu.Lock()
	h.maxWaiting = 3
	h.mu.Unlock()
	gone := make(chan error, 1)
	go func() { gone <- h.VerifyNone(ctx, "x") }()
	waitFor(t, h, 1, 3)
	cancel()
	if err := <-gone; !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled waiter: %v, want context.Canceled", err)
	}
	waitFor(t, h, 1, 2)

	release()
	for _, name := range []string{"p3", "p1"} {
		if err := <-results[name]; err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	waitFor(t, h, 0, 0)

	// A wait that runs out is ErrBusy, and leaves the queue.
	short := NewPool(tiny, PoolOptions{Workers: 1, MaxWaiting: 4, MaxWait: 20 * time.Millisecond})
	release = fill(t, short)
	if _, err := short.Hash(context.Background(), "late"); !errors.Is(err, ErrBusy) {
		t.Errorf("a wait that ran out: %v, want ErrBusy", err)
	}
	waitFor(t, short, 1, 0)
	release()
	waitFor(t, short, 0, 0)
}

// TestPoolChurn: callers of every priority, some cancelled, some timing
// out, never run more than the workers at once, and leave the pool empty.
func TestPoolChurn(t *testing.T) {
	h := NewPool(tiny, PoolOptions{Workers: 2, MaxWaiting: 8, MaxWait: 5 * time.Millisecond})
	var running, peak atomic.Int32
	var ok, busy atomic.Int32
	var wg sync.WaitGroup
	for i := range 400 {
		wg.Go(func() {
			ctx := WithPriority(context.Background(), rand.IntN(4))
			if i%7 == 0 {
				c, cancel := context.WithTimeout(ctx, time.Duration(rand.IntN(3))*time.Millisecond)
				defer cancel()
				ctx = c
			}
			err := h.run(ctx, "test", func() {
				n := running.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				time.Sleep(200 * time.Microsecond)
				running.Add(-1)
			})
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, ErrBusy):
				busy.Add(1)
			case errors.Is(err, context.DeadlineExceeded):
			default:
				t.Errorf("run: %v", err)
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p > 2 {
		t.Errorf("peak concurrency %d, want at most 2", p)
	}
	if ok.Load() == 0 {
		t.Errorf("nothing ran (%d busy)", busy.Load())
	}
	waitFor(t, h, 0, 0)
}

// TestPoolReserve: with two workers, checks of priority above 0 use one
// slot at most; a check of priority 0 takes the other at once, even while
// they wait.
func TestPoolReserve(t *testing.T) {
	h := NewPool(tiny, PoolOptions{Workers: 2, MaxWaiting: 8, MaxWait: time.Minute})
	var running atomic.Int32
	start := func(prio int) (done chan error, release func()) {
		done, ch := make(chan error, 1), make(chan struct{})
		go func() {
			done <- h.run(WithPriority(context.Background(), prio), "test", func() {
				running.Add(1)
				<-ch
				running.Add(-1)
			})
		}()
		return done, func() { close(ch) }
	}
	g1, releaseG1 := start(1)
	waitFor(t, h, 1, 0)
	g2, releaseG2 := start(2)
	waitFor(t, h, 1, 1) // the second guess waits: the other slot is kept
	fresh, releaseFresh := start(0)
	waitFor(t, h, 2, 1) // the fresh check takes it at once
	releaseG1()
	if err := <-g1; err != nil {
		t.Fatal(err)
	}
	// The fresh check still holds the kept slot: the guess waits on.
	waitFor(t, h, 1, 1)
	releaseFresh()
	if err := <-fresh; err != nil {
		t.Fatal(err)
	}
	waitFor(t, h, 1, 0)
	releaseG2()
	if err := <-g2; err != nil {
		t.Fatal(err)
	}
	waitFor(t, h, 0, 0)
	if n := running.Load(); n != 0 {
		t.Errorf("%d still running", n)
	}
}
