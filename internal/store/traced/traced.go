// Package traced wraps a store.Store so that every call is timed into
// telemetry.StoreLatency by operation (the method's name: a fixed set) and,
// while tracing is on, runs in a client span named "store.<Method>", a
// child of the caller's span. It wraps the interface, not the SQL, so that
// a span says which store operation ran, whatever statements it took.
//
// methods.go is generated from the Store interface: run go generate here
// after adding a method to it. A method it does not list yet still works
// (the embedded Store serves it), untimed and untraced; TestEveryMethod
// says which.
package traced

//go:generate go run gen.go

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/telemetry"
)

// Store is a traced store.Store.
type Store struct {
	store.Store
	system attribute.KeyValue // db.system.name: the dialect
}

// Wrap returns s traced (s itself when it already is).
func Wrap(s store.Store) store.Store {
	if t, ok := s.(*Store); ok {
		return t
	}
	system := "other_sql"
	if d, ok := s.(interface{ IsPostgres() bool }); ok {
		system = "sqlite"
		if d.IsPostgres() {
			system = "postgresql"
		}
	}
	return &Store{Store: s, system: attribute.String("db.system.name", system)}
}

func (s *Store) wrap(tx store.Store) *Store { return &Store{Store: tx, system: s.system} }

// Unwrap returns the store s wraps.
func (s *Store) Unwrap() store.Store { return s.Store }

var opTx = newOp("Tx")

// Tx runs fn in a span of its own, with the store it gets traced too.
func (s *Store) Tx(ctx context.Context, fn func(tx store.Store) error) (err error) {
	ctx, c := opTx.begin(ctx, s)
	err = s.Store.Tx(ctx, func(tx store.Store) error { return fn(s.wrap(tx)) })
	c.end(err)
	return err
}

// Queries is the wrapped store's statement count (benchmarks report it).
func (s *Store) Queries() int64 {
	if q, ok := s.Store.(interface{ Queries() int64 }); ok {
		return q.Queries()
	}
	return 0
}

// op is one store operation: its span name and its latency series,
// created on first use so that /metrics lists the operations that ran.
type op struct {
	name string // "store.GetUser"
	once sync.Once
	obs  prometheus.Observer
}

func newOp(method string) *op { return &op{name: "store." + method} }

// call is one call in progress.
type call struct {
	op    *op
	start time.Time
	span  trace.Span // nil while tracing is off
}

func (o *op) begin(ctx context.Context, s *Store) (context.Context, call) {
	c := call{op: o, start: time.Now()}
	if telemetry.Tracing() {
		ctx, c.span = telemetry.Tracer().Start(ctx, o.name, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(s.system, attribute.String("db.operation.name", o.name[len("store."):])))
	}
	return ctx, c
}

func (c call) end(err error) {
	o := c.op
	o.once.Do(func() { o.obs = telemetry.StoreLatency.WithLabelValues(o.name[len("store."):]) })
	o.obs.Observe(time.Since(c.start).Seconds())
	if c.span == nil {
		return
	}
	// Not found and conflicts are answers, not failures of the store.
	if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrConflict) {
		var ue *store.UniqueError
		if !errors.As(err, &ue) {
			c.span.RecordError(err)
			c.span.SetStatus(codes.Error, "")
		}
	}
	c.span.End()
}
