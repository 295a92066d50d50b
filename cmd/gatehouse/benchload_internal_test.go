package main

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// A worker keeps at most maxSamples latencies however long it runs, and
// what it keeps stands for all of them: its median is the median of all.
func TestBenchWorkerSampleBounded(t *testing.T) {
	w := &benchWorker{rng: rand.New(rand.NewPCG(1, 2))}
	const n = 5 * maxSamples
	for i := range n {
		w.sample(time.Duration(i))
	}
	if w.ok != n || len(w.took) != maxSamples {
		t.Fatalf("ok %d, kept %d; want %d and %d", w.ok, len(w.took), n, maxSamples)
	}
	s := slices.Clone(w.took)
	slices.Sort(s)
	if med := float64(s[len(s)/2]); med < 0.48*n || med > 0.52*n {
		t.Errorf("the sample's median is %.0f, want about %d", med, n/2)
	}
	if last := s[len(s)-1]; last < n*9/10 {
		t.Errorf("the sample keeps nothing after op %d of %d", last, n)
	}
}
