package ratelimit

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestParseRate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Rate
		str  string
		bad  bool
	}{
		{in: "100/10s", want: Rate{100, 10 * time.Second}, str: "100/10s"},
		{in: " 20 / 10m ", want: Rate{20, 10 * time.Minute}, str: "20/10m"},
		{in: "5/s", want: Rate{5, time.Second}, str: "5/1s"},
		{in: "3/h", want: Rate{3, time.Hour}, str: "3/1h"},
		{in: "1/1h30m", want: Rate{1, 90 * time.Minute}, str: "1/1h30m"},
		{in: "off", want: Rate{}, str: "off"},
		{in: "OFF", want: Rate{}, str: "off"},
		{in: "0", want: Rate{}, str: "off"},
		{in: "", want: Rate{}, str: "off"},
		{in: "100", bad: true},
		{in: "0/10s", bad: true},
		{in: "-3/10s", bad: true},
		{in: "x/10s", bad: true},
		{in: "10/", bad: true},
		{in: "10/0s", bad: true},
		{in: "10/-1s", bad: true},
		{in: "10/ten seconds", bad: true},
		{in: "2000000000/1s", bad: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseRate(tc.in)
			if tc.bad {
				if err == nil {
					t.Fatalf("ParseRate(%q) = %v, want an error", tc.in, got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseRate(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
			if got.String() != tc.str {
				t.Errorf("String() = %q, want %q", got.String(), tc.str)
			}
			back, err := ParseRate(got.String())
			if err != nil || back != got {
				t.Errorf("ParseRate(String()) = %v, %v; want %v", back, err, got)
			}
		})
	}
}

// TestAllowBurstThenRate: a full bucket allows N at once, then one per
// Per/N, and says how long until the next.
func TestAllowBurstThenRate(t *testing.T) {
	l := New(Rate{N: 5, Per: 10 * time.Second}, 0) // a token every 2 s
	for i := range 5 {
		if ok, _ := l.Allow("k", t0); !ok {
			t.Fatalf("event %d of the burst refused", i+1)
		}
	}
	steps := []struct {
		at    time.Duration
		ok    bool
		retry time.Duration
	}{
		{0, false, 2 * time.Second},
		{500 * time.Millisecond, false, 1500 * time.Millisecond},
		{2 * time.Second, true, 0},
		{2 * time.Second, false, 2 * time.Second},
		{3999 * time.Millisecond, false, time.Millisecond},
		{4 * time.Second, true, 0},
		// Ten seconds idle refill the whole bucket, and no more than it.
		{14 * time.Second, true, 0},
		{14 * time.Second, true, 0},
		{14 * time.Second, true, 0},
		{14 * time.Second, true, 0},
		{14 * time.Second, true, 0},
		{14 * time.Second, false, 2 * time.Second},
	}
	for i, s := range steps {
		ok, retry := l.Allow("k", t0.Add(s.at))
		if ok != s.ok || retry != s.retry {
			t.Errorf("step %d at +%v: Allow = %v, %v; want %v, %v", i, s.at, ok, retry, s.ok, s.retry)
		}
	}
	if ok, _ := l.Allow("other", t0); !ok {
		t.Error("another key shares the bucket")
	}
}

// TestCheckTakesNothing: Check answers as Allow would, spends nothing and
// remembers nothing for a key never limited.
func TestCheckTakesNothing(t *testing.T) {
	l := New(Rate{N: 2, Per: time.Minute}, 0)
	for range 100 {
		if ok, _ := l.Check("fresh", t0); !ok {
			t.Fatal("Check refused a fresh key")
		}
	}
	if n := l.Len(); n != 0 {
		t.Fatalf("Len after Checks = %d, want 0", n)
	}
	l.Allow("k", t0)
	if ok, _ := l.Check("k", t0); !ok {
		t.Fatal("Check refused with one token left")
	}
	l.Allow("k", t0)
	ok, retry := l.Check("k", t0)
	if ok || retry != 30*time.Second {
		t.Fatalf("Check on an empty bucket = %v, %v; want false, 30s", ok, retry)
	}
	if ok, _ := l.Check("k", t0.Add(30*time.Second)); !ok {
		t.Fatal("Check refused once a token was back")
	}
}

// TestCharge: failures that passed Check together all count; the debt
// they make keeps the key refused until it is paid, up to one more full
// bucket.
func TestCharge(t *testing.T) {
	l := New(Rate{N: 2, Per: 10 * time.Second}, 0) // a token every 5 s
	// Three requests pass Check at once with two tokens left, and fail.
	for range 3 {
		if ok, _ := l.Check("k", t0); !ok {
			t.Fatal("Check refused a full bucket")
		}
	}
	for range 3 {
		l.Charge("k", t0)
	}
	ok, wait := l.Check("k", t0)
	if ok || wait != 10*time.Second {
		t.Fatalf("Check after three charges = %v, %v; want false, 10s (one token of debt)", ok, wait)
	}
	if ok, _ := l.Check("k", t0.Add(10*time.Second)); !ok {
		t.Fatal("Check refused once the debt was paid")
	}
	// A flood of charges overdraws by one bucket at most.
	for range 100 {
		l.Charge("flood", t0)
	}
	if _, wait := l.Check("flood", t0); wait != 15*time.Second {
		t.Fatalf("wait after 100 charges = %v, want 15s (two buckets, less the token a request needs)", wait)
	}
	if ok, _ := l.Allow("flood", t0.Add(15*time.Second)); !ok {
		t.Fatal("the capped debt was not paid in 15s")
	}
	var nilL *Limiter
	nilL.Charge("k", t0)
}

// TestReturn: a returned token can be taken again; returns never fill a
// bucket past full, and a full bucket is forgotten.
func TestReturn(t *testing.T) {
	l := New(Rate{N: 3, Per: time.Hour}, 0)
	for range 3 {
		l.Allow("k", t0)
	}
	if ok, _ := l.Allow("k", t0); ok {
		t.Fatal("fourth event allowed")
	}
	l.Return("k", t0)
	if ok, _ := l.Allow("k", t0); !ok {
		t.Fatal("a returned token was not taken")
	}
	for range 10 {
		l.Return("k", t0)
	}
	if n := l.Len(); n != 0 {
		t.Errorf("Len after returning everything = %d, want 0 (a full bucket is forgotten)", n)
	}
	for i := range 3 {
		if ok, _ := l.Allow("k", t0); !ok {
			t.Fatalf("event %d refused", i+1)
		}
	}
	if ok, _ := l.Allow("k", t0); ok {
		t.Fatal("returns filled the bucket past full")
	}
	l.Return("unknown", t0) // no entry: nothing to do
	if n := l.Len(); n != 1 {
		t.Errorf("Len = %d, want 1", n)
	}
}

// TestMaxKeys: however many keys are used, the limiter holds at most
// MaxKeys; the least recently used go first, and a key still limited
// stays while newer ones come and go.
func TestMaxKeys(t *testing.T) {
	const maxKeys = 64
	l := New(Rate{N: 1, Per: time.Hour}, maxKeys)
	for i := range 100_000 {
		l.Allow(fmt.Sprintf("spray-%d", i), t0)
		if i%1000 == 0 {
			if n := l.Len(); n > maxKeys {
				t.Fatalf("after %d keys Len = %d, over %d", i+1, n, maxKeys)
			}
		}
	}
	if n := l.Len(); n > maxKeys || n < maxKeys/2 {
		t.Fatalf("Len = %d, want at most %d and most of it used", n, maxKeys)
	}
	// The most recent keys are still limited.
	if ok, _ := l.Allow("spray-99999", t0); ok {
		t.Error("the most recent key was forgotten")
	}
	// A key touched on every round survives a spray through its shard.
	l2 := New(Rate{N: 1, Per: time.Hour}, maxKeys)
	l2.Allow("attacker", t0)
	for i := range 10_000 {
		l2.Allow(fmt.Sprintf("spray-%d", i), t0)
		if ok, _ := l2.Allow("attacker", t0); ok {
			t.Fatalf("round %d: the limited key was evicted while in use", i)
		}
	}
}

// TestSweep: keys whose buckets have refilled are forgotten, by Sweep and
// by the sweep Allow makes when one is due.
func TestSweep(t *testing.T) {
	l := New(Rate{N: 10, Per: time.Second}, 0)
	for i := range 1000 {
		l.Allow(fmt.Sprintf("k%d", i), t0)
	}
	if n := l.Len(); n != 1000 {
		t.Fatalf("Len = %d, want 1000", n)
	}
	l.Sweep(t0.Add(50 * time.Millisecond))
	if n := l.Len(); n != 1000 {
		t.Fatalf("Len after an early sweep = %d, want 1000 (buckets not full yet)", n)
	}
	l.Sweep(t0.Add(100 * time.Millisecond))
	if n := l.Len(); n != 0 {
		t.Fatalf("Len after the buckets refilled = %d, want 0", n)
	}
	for i := range 1000 {
		l.Allow(fmt.Sprintf("k%d", i), t0)
	}
	// A touch of each shard after sweepEvery sweeps it.
	later := t0.Add(sweepEvery + time.Second)
	for i := range 200 {
		l.Allow(fmt.Sprintf("fresh%d", i), later)
	}
	if n := l.Len(); n != 200 {
		t.Fatalf("Len after lazy sweeps = %d, want 200", n)
	}
}

func TestNilAndOff(t *testing.T) {
	if l := New(Rate{}, 0); l != nil {
		t.Fatal("New(off) is not nil")
	}
	var l *Limiter
	for range 1000 {
		if ok, _ := l.Allow("k", t0); !ok {
			t.Fatal("a nil limiter refused")
		}
	}
	if ok, _ := l.Check("k", t0); !ok {
		t.Fatal("a nil limiter refused")
	}
	l.Return("k", t0)
	l.Sweep(t0)
	if l.Len() != 0 {
		t.Fatal("a nil limiter holds keys")
	}
}

// TestConcurrent: under parallel use exactly N events of a burst pass.
func TestConcurrent(t *testing.T) {
	l := New(Rate{N: 500, Per: time.Hour}, 0)
	var passed atomic.Int64
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				if ok, _ := l.Allow("shared", t0); ok {
					passed.Add(1)
				}
				l.Allow(fmt.Sprintf("g%d-%d", g, i), t0)
				l.Check("shared", t0)
			}
		}()
	}
	wg.Wait()
	if n := passed.Load(); n != 500 {
		t.Fatalf("%d events passed, want exactly 500", n)
	}
}

func TestError(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want int
	}{{0, 1}, {time.Millisecond, 1}, {time.Second, 1}, {1001 * time.Millisecond, 2}, {30 * time.Second, 30}} {
		e := &Error{What: "x", RetryAfter: tc.d}
		if got := e.Seconds(); got != tc.want {
			t.Errorf("Seconds(%v) = %d, want %d", tc.d, got, tc.want)
		}
	}
	var err error = fmt.Errorf("wrapped: %w", &Error{What: "x"})
	if !errors.Is(err, ErrLimited) {
		t.Error("errors.Is(ErrLimited) is false")
	}
}

func BenchmarkAllowParallel(b *testing.B) {
	l := New(Rate{N: 1 << 30, Per: time.Second}, 0)
	b.RunParallel(func(pb *testing.PB) {
		now := time.Now()
		i := 0
		for pb.Next() {
			l.Allow(fmt.Sprint(i%1000), now)
			i++
		}
	})
}

func BenchmarkCheckParallel(b *testing.B) {
	l := New(Rate{N: 100, Per: time.Second}, 0)
	b.RunParallel(func(pb *testing.PB) {
		now := time.Now()
		for pb.Next() {
			l.Check("203.0.113.7", now)
		}
	})
}

// TestOutOfOrderClocks: requests read the clock before their work and
// reach the limiter in another order. One judged at an instant before the
// latest the key has seen is judged at that latest instant instead: the
// bucket's last token is not refused to it (with a Retry-After of the
// millisecond between the readings), and what it takes, checks or charges
// is counted as ever.
func TestOutOfOrderClocks(t *testing.T) {
	l := New(Rate{N: 5, Per: 10 * time.Minute}, 0) // a token every 2 minutes
	late := t0.Add(time.Millisecond)
	for i := range 4 {
		if ok, _ := l.Allow("k", late); !ok {
			t.Fatalf("event %d refused", i+1)
		}
	}
	if ok, retry := l.Check("k", t0); !ok {
		t.Errorf("Check at an earlier reading = refused (%v), want the fifth token there", retry)
	}
	if ok, retry := l.Allow("k", t0); !ok {
		t.Fatalf("Allow at an earlier reading = refused (%v), want the fifth token", retry)
	}
	if ok, retry := l.Allow("k", t0); ok || retry != 2*time.Minute {
		t.Errorf("sixth = %v, %v; want refused for 2m0s", ok, retry)
	}
	// Charge and Return judge by the latest reading too.
	l.Return("k", t0)
	if ok, _ := l.Check("k", t0); !ok {
		t.Error("a returned token is not there")
	}
	l.Charge("k", t0)
	if ok, retry := l.Check("k", t0); ok || retry != 2*time.Minute {
		t.Errorf("after Charge: %v, %v; want refused for 2m0s", ok, retry)
	}
}
