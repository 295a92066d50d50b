package sqlstore

import (
	"context"
	"database/sql"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// PostgreSQL statistics that follow the store's writes.
//
// Every query is prepared once per pooled connection, and after five runs
// PostgreSQL keeps a generic plan for it, costed with the statistics of
// that moment and used until something invalidates it. A table analyzed
// while small (by autovacuum after its first 50 rows, an operator's VACUUM
// or ANALYZE, any database-wide ANALYZE) is cheapest to read sequentially,
// so the cached plan of even a primary-key lookup is a sequential scan; it
// stays one as the table grows to millions of rows, and every read pays for
// the whole table. Autovacuum re-analyzes growing tables, which invalidates
// the plans, but servers run with it off (this project's test server
// does), and a restart only helped because new connections plan afresh.
//
// So the store counts the rows each of its writes touched, per table, and
// when a table's count since its last analyze passes autovacuum's default
// rule (50 rows plus a tenth of the rows it had then) it runs ANALYZE on
// that table: in the background, on a pooled connection of its own and
// never inside a request's transaction, one table at a time and each table
// at most once per analyzeMinInterval. ANALYZE invalidates the plans that
// read the table on every connection of every node, so another node's
// stale plan is fixed by whichever node analyzes first. A node counts its
// own writes only: with writes spread over n nodes a table is analyzed
// after about n times the rule's rows, still a small fraction of its size.
// Writes inside a transaction count when it commits.
//
// Not done, and why:
//   - ANALYZE right after migrations: statistics of empty tables make
//     PostgreSQL plan for empty tables, where a table it knows nothing of is
//     assumed to hold at least 10 pages and read through its indexes.
//   - plan_cache_mode = force_custom_plan: it plans every run of every
//     query to protect the few whose plan depends on a table's size, and
//     planning is dear where a table has many indexes: GetUser (users has
//     fourteen) took about twice as long with it.
//   - SQLite: without sqlite_stat1 its planner assumes large tables and
//     uses the indexes whatever their size, so growth changes no plan; an
//     ANALYZE there made prefix pages slower (see BenchmarkUsers1M).
//
// The pool's connections also end after connMaxLifetime (openWith), a belt
// for plans that depend on something ANALYZE does not touch.

const (
	// analyzeBaseRows and analyzeScale are autovacuum's defaults
	// (autovacuum_analyze_threshold, autovacuum_analyze_scale_factor).
	analyzeBaseRows = 50
	analyzeScale    = 0.1
	// analyzeMinInterval bounds how often one table is analyzed while it
	// grows from nothing, when the rule allows one every few dozen rows.
	analyzeMinInterval = time.Second
	// analyzeRetry is the wait after a failed ANALYZE.
	analyzeRetry = time.Minute
	// analyzeTimeout bounds one ANALYZE, which reads a sample of at most
	// 30,000 rows (default_statistics_target 100) whatever the table's size.
	analyzeTimeout = 5 * time.Minute
)

// analyzer runs ANALYZE on the tables the store writes, as described above.
type analyzer struct {
	db  *sql.DB
	log *slog.Logger

	mu      sync.RWMutex
	tables  map[string]*tableWrites
	pending int // tables queued or being analyzed

	kick   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

// tableWrites is one table's count since its last analyze. written and
// threshold are read on every write without the lock; the rest is the
// worker's, under analyzer.mu.
type tableWrites struct {
	written   atomic.Int64
	threshold atomic.Int64

	queued   bool
	notUntil time.Time // no analyze before (analyzeMinInterval, analyzeRetry)
	analyzes int       // how many this store ran (tests read it)
}

func thresholdFor(rows float64) int64 {
	if rows < 0 { // never analyzed: reltuples is -1
		rows = 0
	}
	return analyzeBaseRows + int64(analyzeScale*rows)
}

// startAnalyzer reads the size every table of the schema had at its last
// analyze and starts the worker.
func startAnalyzer(ctx context.Context, db *sql.DB, log *slog.Logger) (*analyzer, error) {
	a := &analyzer{db: db, log: log, tables: map[string]*tableWrites{}, kick: make(chan struct{}, 1), done: make(chan struct{})}
	rows, err := db.QueryContext(ctx, `SELECT relname, reltuples FROM pg_class WHERE relnamespace = current_schema()::regnamespace AND relkind = 'r'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var n float64
		if err := rows.Scan(&name, &n); err != nil {
			return nil, err
		}
		t := &tableWrites{}
		t.threshold.Store(thresholdFor(n))
		a.tables[name] = t
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	go a.run()
	return a, nil
}

func (a *analyzer) close() {
	a.cancel()
	<-a.done
}

// writtenTable is the table an INSERT, UPDATE or DELETE writes ("" for
// anything else). The store's statements are its own, so the table is
// always the word after the keywords.
func writtenTable(q string) string {
	q = strings.TrimLeft(q, " \t\n")
	for _, p := range []string{"INSERT INTO ", "UPDATE ", "DELETE FROM "} {
		if len(q) > len(p) && strings.EqualFold(q[:len(p)], p) {
			q = q[len(p):]
			end := strings.IndexAny(q, " \t\n(")
			if end < 0 {
				end = len(q)
			}
			return q[:end]
		}
	}
	return ""
}

// wrote counts n rows written to table and queues the table when it is due.
func (a *analyzer) wrote(table string, n int64) {
	if n <= 0 || table == "" {
		return
	}
	a.mu.RLock()
	t := a.tables[table]
	a.mu.RUnlock()
	if t == nil {
		a.mu.Lock()
		if t = a.tables[table]; t == nil {
			// A table made after Open (a later migration on another node).
			t = &tableWrites{}
			t.threshold.Store(thresholdFor(0))
			a.tables[table] = t
		}
		a.mu.Unlock()
	}
	if t.written.Add(n) < t.threshold.Load() {
		return
	}
	a.mu.Lock()
	queue := !t.queued
	if queue {
		t.queued = true
		a.pending++
	}
	a.mu.Unlock()
	if queue {
		select {
		case a.kick <- struct{}{}:
		default: // the worker is already due to look
		}
	}
}

// next is the queued table to analyze now, or how long until one may be.
func (a *analyzer) next() (string, *tableWrites, time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now()
	wait := time.Duration(-1)
	for name, t := range a.tables {
		if !t.queued {
			continue
		}
		if d := t.notUntil.Sub(now); d > 0 {
			if wait < 0 || d < wait {
				wait = d
			}
			continue
		}
		return name, t, 0
	}
	return "", nil, wait
}

func (a *analyzer) run() {
	defer close(a.done)
	for {
		name, t, wait := a.next()
		if t != nil {
			a.analyze(name, t)
			continue
		}
		var timer *time.Timer
		var due <-chan time.Time
		if wait >= 0 {
			timer = time.NewTimer(wait)
			due = timer.C
		}
		select {
		case <-a.ctx.Done():
		case <-a.kick:
		case <-due:
		}
		if timer != nil {
			timer.Stop()
		}
		if a.ctx.Err() != nil {
			return
		}
	}
}

// analyze runs ANALYZE on one table and restarts its count from the size
// ANALYZE found. Writes made while it runs stay counted.
func (a *analyzer) analyze(name string, t *tableWrites) {
	counted := t.written.Load()
	ctx, cancel := context.WithTimeout(a.ctx, analyzeTimeout)
	defer cancel()
	// The name is one of the store's own tables (writtenTable), quoted
	// all the same.
	_, err := a.db.ExecContext(ctx, `ANALYZE "`+name+`"`)
	var rows float64
	if err == nil {
		err = a.db.QueryRowContext(ctx, `SELECT reltuples FROM pg_class WHERE oid = to_regclass($1)`, `"`+name+`"`).Scan(&rows)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	t.queued = false
	a.pending--
	if err != nil {
		if a.ctx.Err() == nil {
			a.log.Warn("analyze table", "table", name, "err", err)
		}
		t.notUntil = time.Now().Add(analyzeRetry)
	} else {
		t.analyzes++
		t.notUntil = time.Now().Add(analyzeMinInterval)
		t.threshold.Store(thresholdFor(rows))
		t.written.Add(-counted)
	}
	// Writes during the analyze, or before a failed one, may already be due.
	if t.written.Load() >= t.threshold.Load() {
		t.queued = true
		a.pending++
	}
}

// txWrites are a transaction's counts, handed to the analyzer when it
// commits.
type txWrites struct {
	mu sync.Mutex
	n  map[string]int64
}

func (w *txWrites) add(table string, n int64) {
	if n <= 0 || table == "" {
		return
	}
	w.mu.Lock()
	if w.n == nil {
		w.n = map[string]int64{}
	}
	w.n[table] += n
	w.mu.Unlock()
}

func (w *txWrites) commit(a *analyzer) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for table, n := range w.n {
		a.wrote(table, n)
	}
}

// countWrite counts a write's rows for the analyzer (PostgreSQL only).
func (s *SQLStore) countWrite(query string, res sql.Result) {
	if s.db.analyzer == nil {
		return
	}
	if n, err := res.RowsAffected(); err == nil {
		s.countRows(writtenTable(query), n)
	}
}

// countRows counts n rows written to table, for writes that return rows
// rather than run through exec.
func (s *SQLStore) countRows(table string, n int64) {
	switch {
	case s.db.analyzer == nil:
	case s.tx != nil:
		s.writes.add(table, n)
	default:
		s.db.analyzer.wrote(table, n)
	}
}

// waitAnalyzed waits until no table is queued or being analyzed (tests).
func (a *analyzer) waitAnalyzed(ctx context.Context) error {
	for {
		a.mu.RLock()
		n := a.pending
		a.mu.RUnlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// analyzes is how many times this store analyzed table (tests).
func (a *analyzer) analyzes(table string) int {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if t := a.tables[table]; t != nil {
		return t.analyzes
	}
	return 0
}
