package sqlstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

func open(t *testing.T, dsn string) *sqlstore.SQLStore {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("Open(%q): %v", dsn, err)
	}
	return s
}

func TestConformance(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			b.DSN(t) // an unreachable server skips (or in CI fails) the backend once, not per subtest
			storetest.Run(t, func(t *testing.T) store.Store {
				return open(t, b.DSN(t))
			})
		})
	}
}

func TestConformanceMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, "sqlite::memory:")
	})
}

func TestMigrationsIdempotent(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := t.Context()
			dsn := b.DSN(t)
			ts := time.Now().UTC().Truncate(time.Millisecond)
			org := &store.Organization{ID: "7b3f7a8e-5c1d-4a51-9a7e-2f0c4e1d9b10", Name: "Kept", Type: "INTERNAL", CreatedAt: ts, UpdatedAt: ts}

			first := open(t, dsn)
			if err := first.InsertMeta(ctx, "written.before.reopen", "yes"); err != nil {
				t.Fatalf("InsertMeta: %v", err)
			}
			if err := first.CreateOrganization(ctx, org); err != nil {
				t.Fatalf("CreateOrganization: %v", err)
			}
			if err := first.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}

			for i := range 2 {
				again := open(t, dsn)
				if v, err := again.GetMeta(ctx, "written.before.reopen"); err != nil || v != "yes" {
					t.Errorf("reopen %d: GetMeta = %q, %v; want yes", i+1, v, err)
				}
				got, err := again.GetOrganization(ctx, org.ID)
				if err != nil {
					t.Fatalf("reopen %d: GetOrganization: %v", i+1, err)
				}
				if got.Name != org.Name || !got.CreatedAt.Equal(org.CreatedAt) {
					t.Errorf("reopen %d: organization = %+v, want %+v", i+1, got, org)
				}
				if err := again.Ping(ctx); err != nil {
					t.Errorf("reopen %d: Ping: %v", i+1, err)
				}
				if err := again.Close(); err != nil {
					t.Fatalf("reopen %d: Close: %v", i+1, err)
				}
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := t.Context()
	for _, dsn := range []string{"mysql://x", "", "file:gatehouse.db", "/var/lib/gatehouse.db"} {
		s, err := sqlstore.Open(ctx, dsn)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", dsn)
			continue
		}
		for _, form := range []string{"sqlite:PATH", "sqlite::memory:", "postgres://"} {
			if !strings.Contains(err.Error(), form) {
				t.Errorf("Open(%q) = %q, want it to name the accepted form %s", dsn, err, form)
			}
		}
	}
	if s, err := sqlstore.Open(ctx, "sqlite:"); err == nil {
		s.Close()
		t.Errorf(`Open("sqlite:") succeeded, want an error for the empty path`)
	}
}

// A closed store refuses work instead of hanging.
func TestClosed(t *testing.T) {
	s := open(t, sqltest.SQLite(t))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Ping(t.Context()); err == nil {
		t.Errorf("Ping on a closed store succeeded")
	}
	if _, err := s.GetMeta(t.Context(), "k"); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetMeta on a closed store = %v, want a closed-database error", err)
	}
}

// TestSQLitePathSpecialCharacters: the path is the file, even where a URI
// would read a query (?), a fragment (#) or an escape (%); the pragmas still
// apply (foreign keys are enforced).
func TestSQLitePathSpecialCharacters(t *testing.T) {
	for _, dir := range []string{"a#b", "c%41d", "e?f=1", "g h"} {
		t.Run(dir, func(t *testing.T) {
			ctx := t.Context()
			path := filepath.Join(t.TempDir(), dir, "gatehouse.db")
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			s := open(t, "sqlite:"+path)
			if err := s.PutMeta(ctx, "k", dir); err != nil {
				t.Fatalf("PutMeta: %v", err)
			}
			ts := time.Now().UTC()
			err := s.CreateLicense(ctx, &store.License{ID: "l", OrganizationID: "no-such-org", CreatedAt: ts, UpdatedAt: ts})
			if !errors.Is(err, store.ErrReferenced) {
				t.Errorf("CreateLicense in an unknown organization = %v, want ErrReferenced (foreign keys off?)", err)
			}
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("database not at its path: %v", err)
			}
			s = open(t, "sqlite:"+path)
			defer s.Close()
			if v, err := s.GetMeta(ctx, "k"); err != nil || v != dir {
				t.Errorf("GetMeta after reopen = %q, %v; want %q", v, err, dir)
			}
		})
	}
}
