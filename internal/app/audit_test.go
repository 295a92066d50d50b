package app_test

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// TestAuditSurvivesShutdown: activities still queued when the server is
// told to stop (the flush interval far away) are all stored by the time
// Serve returns.
func TestAuditSurvivesShutdown(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			key := make([]byte, 32)
			rand.Read(key)
			dir := t.TempDir()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			srv, err := app.New(context.Background(), app.Config{Listen: ln.Addr().String(), DB: b.DSN(t), BaseURL: "http://" + ln.Addr().String(),
				BootstrapFile: filepath.Join(dir, "admin.json"), MasterKey: key, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
				Audit: audit.Options{FlushInterval: time.Hour, BatchSize: 100_000, QueueSize: 100_000}})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- srv.Serve(ctx, ln) }()
			const n = 500
			for range n {
				srv.Audit.Record(context.Background(), &store.Activity{EnvironmentID: srv.Admin.EnvironmentID, ActionType: "USER.UPDATED", ResultStatus: "SUCCESS"})
			}
			if got, err := srv.Store.LastActivitySeq(context.Background()); err != nil || got != 0 {
				t.Fatalf("before the shutdown: last seq %d, %v; want nothing written yet", got, err)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("Serve: %v", err)
			}
			all, err := srv.Store.ActivitiesAfter(context.Background(), 0, 2*n)
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != n {
				t.Errorf("after the shutdown: %d activities stored, want %d", len(all), n)
			}
		})
	}
}
