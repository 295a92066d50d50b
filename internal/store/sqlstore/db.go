// Package sqlstore is the one SQL implementation of store.Store. It speaks two
// dialects: SQLite through a pure-Go driver (WAL, busy timeout, one writer)
// and PostgreSQL through pgx/v5. Queries are written once with `?`
// placeholders and rebound for PostgreSQL; every query is prepared once per
// pool and reused.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

type dialect int

const (
	dialectSQLite dialect = iota
	dialectPostgres
)

// pool is one *sql.DB with its prepared statements.
type pool struct {
	db    *sql.DB
	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
}

func newPool(db *sql.DB) *pool { return &pool{db: db, stmts: map[string]*sql.Stmt{}} }

func (p *pool) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	p.mu.RLock()
	s := p.stmts[query]
	p.mu.RUnlock()
	if s != nil {
		return s, nil
	}
	// Prepare without the lock: preparing waits for a connection, and the
	// holder of the only one (a SQLite transaction) may need the lock.
	s, err := p.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if prev := p.stmts[query]; prev != nil {
		s.Close() // another caller prepared it meanwhile
		return prev, nil
	}
	p.stmts[query] = s
	return s, nil
}

func (p *pool) close() error {
	p.mu.Lock()
	for _, s := range p.stmts {
		s.Close()
	}
	p.stmts = map[string]*sql.Stmt{}
	p.mu.Unlock()
	return p.db.Close()
}

// DB is an open database; Store returns the store.Store over it.
type DB struct {
	dialect dialect
	writer  *pool
	reader  *pool // same as writer where one pool must do (PostgreSQL, SQLite in memory)

	rebindMu sync.RWMutex
	rebound  map[string]string

	// queries counts the statements run through the store (benchmarks
	// report them per request: an authorize, a token).
	queries atomic.Int64

	// sorts remembers, by query text, whether SQLite sorts a page query's
	// rows rather than reading them in id order (see page).
	sortsMu sync.Mutex
	sorts   map[string]bool

	watchMu  sync.RWMutex
	watchers []func(store.ConfigChange)

	// listen hears other nodes' configuration changes (PostgreSQL); nil
	// on SQLite.
	listen *listener

	// analyzer keeps PostgreSQL's statistics in step with the store's
	// writes (analyze.go); nil on SQLite.
	analyzer *analyzer

	// reads remembers list totals and token liveness between writes
	// (SQLite); nil on PostgreSQL, whose other nodes' writes this node
	// does not see.
	reads *readMemo
}

// Option tunes Open.
type Option func(*options)

type options struct{ log *slog.Logger }

// WithLogger sends what Open reports (database files it made private) to
// log instead of slog.Default().
func WithLogger(log *slog.Logger) Option { return func(o *options) { o.log = log } }

// Open opens dsn: "sqlite:PATH", "sqlite::memory:" or "postgres://…" (also
// "postgresql://…"), runs the embedded migrations and returns the store.
// A SQLite database's files are readable by their owner only.
func Open(ctx context.Context, dsn string, opts ...Option) (*SQLStore, error) {
	o := options{log: slog.Default()}
	for _, opt := range opts {
		opt(&o)
	}
	db, err := openWith(dsn, o)
	if err != nil {
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		db.close()
		return nil, err
	}
	if db.dialect == dialectPostgres {
		if err := db.startListening(ctx, dsn); err != nil {
			db.close()
			return nil, err
		}
		if db.analyzer, err = startAnalyzer(ctx, db.writer.db, o.log); err != nil {
			db.close()
			return nil, fmt.Errorf("table statistics: %w", err)
		}
	}
	return &SQLStore{db: db}, nil
}

func open(dsn string) (*DB, error) { return openWith(dsn, options{log: slog.Default()}) }

func openWith(dsn string, o options) (*DB, error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		sdb, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		sdb.SetMaxOpenConns(20)
		sdb.SetMaxIdleConns(20)
		sdb.SetConnMaxIdleTime(5 * time.Minute)
		// Plans cached on a connection live as long as it does: a lifetime
		// bounds those that no ANALYZE replans (analyze.go). Connections
		// open on demand, so their ends are spread out.
		sdb.SetConnMaxLifetime(connMaxLifetime)
		p := newPool(sdb)
		return &DB{dialect: dialectPostgres, writer: p, reader: p, rebound: map[string]string{}}, nil
	case strings.HasPrefix(dsn, "sqlite:"):
		return openSQLite(strings.TrimPrefix(dsn, "sqlite:"), o.log)
	default:
		return nil, fmt.Errorf("unsupported database %q: use sqlite:PATH, sqlite::memory: or postgres://…", dsn)
	}
}

func openSQLite(path string, log *slog.Logger) (*DB, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty path")
	}
	pragmas := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "foreign_keys(1)", "synchronous(NORMAL)"} {
		pragmas.Add("_pragma", p)
	}
	if path == ":memory:" {
		// One connection holds the whole in-memory database, so reads and
		// writes share it.
		sdb, err := sql.Open("sqlite", "file::memory:?"+pragmas.Encode())
		if err != nil {
			return nil, err
		}
		sdb.SetMaxOpenConns(1)
		sdb.SetConnMaxIdleTime(0)
		sdb.SetConnMaxLifetime(0)
		p := newPool(sdb)
		return &DB{reads: newReadMemo(), dialect: dialectSQLite, writer: p, reader: p, rebound: map[string]string{}}, nil
	}
	if err := privateSQLiteFiles(path, log); err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// The path goes into a file: URI, where ? starts the query, # a
	// fragment and % an escape: escape those so the file is the one named.
	uri := "file:" + strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(path)
	pragmas.Add("_pragma", "journal_mode(WAL)")
	// SQLite allows one writer at a time: a single writer connection with
	// immediate transactions queues writers in Go instead of failing them
	// with SQLITE_BUSY halfway through a transaction.
	wv := url.Values{}
	for k, v := range pragmas {
		wv[k] = v
	}
	wv.Set("_txlock", "immediate")
	wdb, err := sql.Open("sqlite", uri+"?"+wv.Encode())
	if err != nil {
		return nil, err
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetConnMaxIdleTime(0)
	// Make sure WAL is on before the readers open.
	if err := wdb.Ping(); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	rv := url.Values{}
	for k, v := range pragmas {
		rv[k] = v
	}
	rv.Add("_pragma", "query_only(1)")
	rdb, err := sql.Open("sqlite", uri+"?"+rv.Encode())
	if err != nil {
		wdb.Close()
		return nil, err
	}
	rdb.SetMaxOpenConns(8)
	rdb.SetMaxIdleConns(8)
	return &DB{reads: newReadMemo(), dialect: dialectSQLite, writer: newPool(wdb), reader: newPool(rdb), rebound: map[string]string{}}, nil
}

// connMaxLifetime is how long a PostgreSQL connection is used.
const connMaxLifetime = 30 * time.Minute

func (db *DB) close() error {
	db.stopListening()
	if db.analyzer != nil {
		db.analyzer.close()
	}
	err := db.writer.close()
	if db.reader != db.writer {
		if e := db.reader.close(); err == nil {
			err = e
		}
	}
	return err
}

// rebind turns `?` placeholders into `$n` for PostgreSQL. Queries never
// contain a literal question mark, so a plain scan is enough.
func (db *DB) rebind(q string) string {
	if db.dialect != dialectPostgres {
		return q
	}
	db.rebindMu.RLock()
	r, ok := db.rebound[q]
	db.rebindMu.RUnlock()
	if ok {
		return r
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	r = b.String()
	db.rebindMu.Lock()
	db.rebound[q] = r
	db.rebindMu.Unlock()
	return r
}

// sqliteUUID is a random (version 4) UUID in SQLite, which has no
// function for one: migrations that seed rows need ids in SQL.
const sqliteUUID = `lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' ||
 substr('89ab', 1 + (random() & 3), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))`

// ddl fills a migration's dialect tokens. {{JSONB}} follows a TEXT column
// of JSON that ->> reads: PostgreSQL must cast it, SQLite reads the text.
// A line that begins {{PG}} (or {{SQLITE}}) runs on that dialect only (the
// other reads a comment), for the JSON edits their functions differ in.
func (db *DB) ddl(s string) string {
	var rep *strings.Replacer
	if db.dialect == dialectPostgres {
		rep = strings.NewReplacer("{{BOOL}}", "BOOLEAN", "{{BLOB}}", "BYTEA", "{{KEYTEXT}}", `TEXT COLLATE "C"`, "{{TRUE}}", "TRUE", "{{FALSE}}", "FALSE",
			"{{UUID}}", "gen_random_uuid()::text", "{{JSONB}}", "::jsonb", "{{PG}}", "", "{{SQLITE}}", "--")
	} else {
		rep = strings.NewReplacer("{{BOOL}}", "INTEGER", "{{BLOB}}", "BLOB", "{{KEYTEXT}}", "TEXT", "{{TRUE}}", "1", "{{FALSE}}", "0",
			"{{UUID}}", sqliteUUID, "{{JSONB}}", "", "{{PG}}", "--", "{{SQLITE}}", "")
	}
	return rep.Replace(s)
}

// migrate applies every embedded migration not yet recorded, each in its own
// transaction. On PostgreSQL an advisory lock serialises nodes that start
// together.
func (db *DB) migrate(ctx context.Context) error { return db.migrateTo(ctx, math.MaxInt) }

// migrateTo applies the migrations up to version last (tests start from an
// older schema this way).
func (db *DB) migrateTo(ctx context.Context, last int) error {
	w := db.writer.db
	if _, err := w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: bad name", base)
		}
		if version > last {
			break
		}
		body, err := migrationFS.ReadFile(name)
		if err != nil {
			return err
		}
		if err := db.applyMigration(ctx, version, db.ddl(string(body))); err != nil {
			return fmt.Errorf("migration %s: %w", base, err)
		}
	}
	return nil
}

func (db *DB) applyMigration(ctx context.Context, version int, body string) error {
	tx, err := db.writer.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if db.dialect == dialectPostgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7415298001)`); err != nil {
			return err
		}
	}
	var n int
	if err := tx.QueryRowContext(ctx, db.rebind(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	for _, stmt := range splitStatements(body) {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%w\n%s", err, stmt)
		}
	}
	if _, err := tx.ExecContext(ctx, db.rebind(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`), version, time.Now().UnixMilli()); err != nil {
		return err
	}
	return tx.Commit()
}

// splitStatements splits a migration at semicolons that end a line, after
// dropping comment lines.
func splitStatements(body string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(body, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(t, ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

// mapErr turns driver errors into the store's sentinels. resource and field
// name the uniqueness that a unique-constraint failure reports.
func mapErr(err error, resource, field string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return &store.UniqueError{Resource: resource, Field: field}
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return store.ErrReferenced
		}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return &store.UniqueError{Resource: resource, Field: field}
		case "23503":
			return store.ErrReferenced
		}
	}
	return err
}

func ms(t time.Time) int64 { return t.UTC().UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }
