package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/traced"
	"github.com/gatehouse-id/gatehouse/internal/telemetry"
)

// observeStore is what the services get: the store with every call timed
// (gatehouse_store_duration_seconds) and, while tracing is on, spanned.
func observeStore(st store.Store) store.Store { return traced.Wrap(st) }

// StartTracing installs OTLP tracing when the OTEL_* variables ask for it
// (telemetry.StartTracing) and returns what flushes the spans still
// buffered: call it once the server has drained. The flush is bounded, so
// that an unreachable collector cannot hold a shutdown.
func StartTracing(ctx context.Context, log *slog.Logger) (stop func(), err error) {
	shutdown, err := telemetry.StartTracing(ctx, log)
	if err != nil {
		return func() {}, err
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := shutdown(ctx); err != nil {
			log.Warn("tracing: flushing spans on shutdown failed", "err", err)
		}
	}, nil
}
