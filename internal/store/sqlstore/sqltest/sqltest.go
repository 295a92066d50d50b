// Package sqltest hands tests fresh databases for sqlstore: a SQLite file in
// the test's temporary directory or an empty PostgreSQL schema that is dropped
// when the test ends. It is a plain (non-test) package so that every
// package's tests can run against both backends.
package sqltest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// DefaultPostgres is the server Postgres uses when GATEHOUSE_TEST_POSTGRES
// is unset.
const DefaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// probeTimeout bounds the reachability check, so a missing server costs
// seconds, not minutes.
const probeTimeout = 2 * time.Second

// Backend is one database kind for table-driven tests.
type Backend struct {
	Name string
	DSN  func(testing.TB) string
}

// Backends returns every backend sqlstore supports.
func Backends() []Backend {
	return []Backend{
		{Name: "sqlite", DSN: SQLite},
		{Name: "postgres", DSN: Postgres},
	}
}

// SQLite returns a dsn for a fresh SQLite database file in t.TempDir().
func SQLite(t testing.TB) string {
	t.Helper()
	return "sqlite:" + filepath.Join(t.TempDir(), "gatehouse.db")
}

// probes caches the reachability of each server (by URL) for the process, so
// that an absent server is waited for once, not once per test.
var (
	probeMu sync.Mutex
	probes  = map[string]error{}
)

func probe(server string) error {
	probeMu.Lock()
	defer probeMu.Unlock()
	if err, ok := probes[server]; ok {
		return err
	}
	err := func() error {
		db, err := sql.Open("pgx", server)
		if err != nil {
			return err
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
		defer cancel()
		return db.PingContext(ctx)
	}()
	probes[server] = err
	return err
}

// Postgres returns a dsn for a fresh, empty PostgreSQL schema that is dropped
// when the test ends. The server comes from GATEHOUSE_TEST_POSTGRES (default
// DefaultPostgres). When it cannot be reached the test is skipped, loudly,
// unless CI=true: there PostgreSQL tests must run, so the test fails.
func Postgres(t testing.TB) string {
	t.Helper()
	server := os.Getenv("GATEHOUSE_TEST_POSTGRES")
	if server == "" {
		server = DefaultPostgres
	}
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("GATEHOUSE_TEST_POSTGRES=%q: want a postgres:// URL", server)
	}
	if err := probe(server); err != nil {
		why := fmt.Sprintf("no server at %s (%v); set GATEHOUSE_TEST_POSTGRES or start PostgreSQL", redact(u), err)
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL tests must run in CI (CI=true): %s", why)
		}
		t.Skipf("SKIPPING PostgreSQL tests: %s", why)
	}

	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("random schema name: %v", err)
	}
	schema := "gh_test_" + hex.EncodeToString(b[:])

	admin, err := sql.Open("pgx", server)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		admin.Close()
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		// t.Context() is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, `DROP SCHEMA IF EXISTS `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})

	// pgx passes parameters it does not know to the server as run-time
	// parameters, so every connection of the store starts in the schema.
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// redact hides a password in a server URL shown in a message.
func redact(u *url.URL) string {
	if _, ok := u.User.Password(); ok {
		c := *u
		c.User = url.UserPassword(u.User.Username(), "xxxxx")
		return c.String()
	}
	return u.String()
}
