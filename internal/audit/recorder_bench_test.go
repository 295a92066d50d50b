package audit

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// BenchmarkRecord: what Record costs its caller (parallel callers), the
// writer storing behind it; the figure includes waiting for everything
// recorded to be stored (Flush), so it is the sustained rate, not only the
// enqueue.
func BenchmarkRecord(b *testing.B) {
	for _, be := range sqltest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			st, err := sqlstore.Open(context.Background(), be.DSN(b))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			env := newEnvTB(b, st)
			l := New(st, Options{}, quiet)
			defer l.Close(context.Background())
			overflow := countedB(b, "overflow")
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					l.Record(context.Background(), activity(env))
				}
			})
			if err := l.Flush(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			// The share of activities that found the queue full and were
			// stored by their caller.
			b.ReportMetric((countedB(b, "overflow")-overflow)/float64(b.N), "overflow/op")
		})
	}
}

// BenchmarkRecordCaller: what Record costs its caller alone (stamping
// and the queue's send), the writer held back until the timing ends.
func BenchmarkRecordCaller(b *testing.B) {
	st, err := sqlstore.Open(context.Background(), sqltest.SQLite(b))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	env := newEnvTB(b, st)
	l := New(st, Options{QueueSize: b.N + 1, BatchSize: b.N + 1, FlushInterval: time.Hour}, quiet)
	as := make([]*store.Activity, b.N)
	for i := range as {
		as[i] = activity(env)
	}
	var next atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.Record(context.Background(), as[next.Add(1)-1])
		}
	})
	b.StopTimer()
	if err := l.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
}
