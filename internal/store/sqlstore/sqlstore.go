package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// SQLStore implements store.Store. Outside a transaction it reads through
// the reader pool and writes through the writer; inside Tx both go through
// the transaction.
type SQLStore struct {
	db *DB
	tx *sql.Tx
	// changes, inside Tx, are the environments whose cached configuration
	// the transaction wrote: their versions move when it commits.
	changes *configChanges
	// writes, inside Tx, are the rows it wrote per table, counted for
	// the analyzer when it commits.
	writes *txWrites
}

var _ store.Store = (*SQLStore)(nil)

// Queries is how many statements the store has run since it opened.
func (s *SQLStore) Queries() int64 { return s.db.queries.Load() }

// IsPostgres reports the dialect (benchmarks and tests print it).
func (s *SQLStore) IsPostgres() bool { return s.db.dialect == dialectPostgres }

func (s *SQLStore) Close() error {
	if s.tx != nil {
		return errors.New("sqlstore: Close inside a transaction")
	}
	return s.db.close()
}

func (s *SQLStore) Ping(ctx context.Context) error {
	if err := s.db.writer.db.PingContext(ctx); err != nil {
		return err
	}
	var one int
	return s.db.reader.db.QueryRowContext(ctx, `SELECT 1`).Scan(&one)
}

func (s *SQLStore) Tx(ctx context.Context, fn func(tx store.Store) error) error {
	if s.tx != nil {
		// Already in a transaction: join it, so services compose.
		return fn(s)
	}
	defer s.db.reads.writing()()
	tx, err := s.db.writer.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	done := false
	defer func() {
		// fn panicked (or called runtime.Goexit): never leave the
		// transaction, and with it SQLite's only writer, open.
		if !done {
			tx.Rollback()
		}
	}()
	t := &SQLStore{db: s.db, tx: tx, changes: &configChanges{}, writes: &txWrites{}}
	err = fn(t)
	var changed []store.ConfigChange
	if err == nil {
		changed, err = t.bumpVersions(ctx)
	}
	done = true
	if err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if s.db.analyzer != nil {
		t.writes.commit(s.db.analyzer)
	}
	s.db.notify(changed)
	return nil
}

// runner runs one query: a prepared statement, or the transaction itself
// when the statement is not prepared yet.
type runner struct {
	st *sql.Stmt
	tx *sql.Tx
	q  string
}

func (r runner) exec(ctx context.Context, a []any) (sql.Result, error) {
	if r.st != nil {
		return r.st.ExecContext(ctx, a...)
	}
	return r.tx.ExecContext(ctx, r.q, a...)
}

func (r runner) query(ctx context.Context, a []any) (*sql.Rows, error) {
	if r.st != nil {
		return r.st.QueryContext(ctx, a...)
	}
	return r.tx.QueryContext(ctx, r.q, a...)
}

// prepared returns the statement for query. Inside a transaction it never
// prepares on the pool: SQLite's writer pool has one connection, which the
// transaction holds, so that would wait forever. A statement the pool has
// already prepared is bound to the transaction instead.
func (s *SQLStore) prepared(ctx context.Context, p *pool, query string) (runner, error) {
	s.db.queries.Add(1)
	q := s.db.rebind(query)
	if s.tx != nil {
		p.mu.RLock()
		st := p.stmts[q]
		p.mu.RUnlock()
		if st != nil {
			return runner{st: s.tx.StmtContext(ctx, st)}, nil
		}
		return runner{tx: s.tx, q: q}, nil
	}
	st, err := p.stmt(ctx, q)
	if err != nil {
		return runner{}, err
	}
	return runner{st: st}, nil
}

// args converts values a filter may carry into what the columns hold.
func args(in []any) []any {
	for i, a := range in {
		if t, ok := a.(time.Time); ok {
			in[i] = ms(t)
		}
	}
	return in
}

func (s *SQLStore) exec(ctx context.Context, query string, a ...any) (sql.Result, error) {
	if s.tx == nil {
		defer s.db.reads.writing()()
	}
	r, err := s.prepared(ctx, s.db.writer, query)
	if err != nil {
		return nil, err
	}
	res, err := r.exec(ctx, args(a))
	if err == nil {
		s.countWrite(query, res)
	}
	return res, err
}

// execOne runs a write that must touch exactly one row.
func (s *SQLStore) execOne(ctx context.Context, query string, a ...any) error {
	res, err := s.exec(ctx, query, a...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

func (s *SQLStore) query(ctx context.Context, query string, a ...any) (*sql.Rows, error) {
	p := s.db.reader
	if s.tx != nil {
		p = s.db.writer
	}
	r, err := s.prepared(ctx, p, query)
	if err != nil {
		return nil, err
	}
	return r.query(ctx, args(a))
}

// queryDynamic runs a query built per request (a filter): those are not
// prepared, since each filter shape would grow the cache without bound.
func (s *SQLStore) queryDynamic(ctx context.Context, query string, a ...any) (*sql.Rows, error) {
	s.db.queries.Add(1)
	q := s.db.rebind(query)
	if s.tx != nil {
		return s.tx.QueryContext(ctx, q, args(a)...)
	}
	return s.db.reader.db.QueryContext(ctx, q, args(a)...)
}

func (s *SQLStore) queryRowDynamic(ctx context.Context, query string, a ...any) *sql.Row {
	s.db.queries.Add(1)
	q := s.db.rebind(query)
	if s.tx != nil {
		return s.tx.QueryRowContext(ctx, q, args(a)...)
	}
	return s.db.reader.db.QueryRowContext(ctx, q, args(a)...)
}

type scanner interface{ Scan(dest ...any) error }

// one runs a single-row query and scans it.
func one[T any](ctx context.Context, s *SQLStore, scan func(scanner) (T, error), query string, a ...any) (*T, error) {
	rows, err := s.query(ctx, query, a...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, store.ErrNotFound
	}
	v, err := scan(rows)
	if err != nil {
		return nil, err
	}
	return &v, rows.Close()
}

func collect[T any](rows *sql.Rows, err error, scan func(scanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func many[T any](ctx context.Context, s *SQLStore, scan func(scanner) (T, error), query string, a ...any) ([]T, error) {
	rows, err := s.query(ctx, query, a...)
	return collect(rows, err, scan)
}

// countBy runs a query of (key, COUNT(*)) rows grouped by key and returns
// the counts by key: one statement, whatever the number of keys.
func countBy(ctx context.Context, s *SQLStore, query string, args ...any) (map[string]int, error) {
	type row struct {
		key string
		n   int
	}
	rows, err := many(ctx, s, func(r scanner) (row, error) {
		var x row
		return x, r.Scan(&x.key, &x.n)
	}, query, args...)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.key] = r.n
	}
	return out, nil
}

// listing is what page needs to know of one list: the columns it selects,
// the table and the scope every query of it keeps (an environment or an
// organization), the id column it is ordered and paged by, the index that
// holds the scope in id order (byID, for walking it on SQLite; "" for
// none), the population column store.Page.PopulationIDs restricts ("" when
// the list takes no such restriction), and the allow-list its filter is
// compiled against.
type listing[T any] struct {
	cols       string
	from       string // "FROM <table> [alias] WHERE <scope>", its scope values passed to page
	id         string
	byID       string
	population string
	filter     *filterSchema
	scan       func(scanner) (T, error)
}

// SQLite has no statistics to choose between the two plans of a filtered
// page (Gatehouse never runs ANALYZE there), and without them it picks the
// filter's index whenever one serves the filter: it then reads and sorts
// every match by id to return one page, which for a filter matching 20,000
// users is 50 times the work of walking the scope in id order until the
// page is full. Walking is only cheaper while matches are dense enough in
// id order, though, and page knows the number of matches but not the
// scope's size. So it walks only when SQLite's plan sorts and the matches
// fill at least walkMin pages, in windows of the scope bounded by an
// index-only probe: the first of walkWindow pages' rows, the next sized
// from the matches seen so far. Once the walk is expected to read more
// than a walkShare of the matches' rows, it finishes with the filter's
// index and the sort, having spent at most that share more than sorting at
// once would have. PostgreSQL, once its statistics know the users, makes
// that choice itself (a broad filter walks users_env_id, a narrow one
// sorts, at 20,000 users as at a million); it is not steered.
const (
	walkMin    = 20 // walk when the matches fill this many pages
	walkWindow = 2  // the first window holds this many pages' rows
	walkShare  = 4  // the walk reads at most total/walkShare rows
)

// page lists one page of a filtered, cursor-paged collection ordered by id,
// and counts every match.
func page[T any](ctx context.Context, s *SQLStore, l *listing[T], p store.Page, scope ...any) ([]T, int, error) {
	where, a := l.from, append([]any{}, scope...)
	// The filter is compiled before anything else, so that a filter the list
	// does not take is refused before any query runs, even on a page that
	// could be answered without one.
	if p.Filter != nil {
		frag, fa, err := l.filter.compileFor(p.Filter, s.db.dialect == dialectPostgres)
		if err != nil {
			return nil, 0, err
		}
		where += " AND (" + frag + ")"
		a = append(a, fa...)
	}
	if p.PopulationIDs != nil && l.population == "" {
		return nil, 0, errors.New("sqlstore: this list cannot be restricted to populations")
	}
	for _, in := range []struct {
		col string
		ids []string
	}{{l.id, p.IDs}, {l.population, p.PopulationIDs}} {
		if in.ids == nil {
			continue
		}
		if len(in.ids) == 0 {
			return []T{}, 0, nil
		}
		where += " AND " + in.col + " IN (" + strings.TrimSuffix(strings.Repeat("?,", len(in.ids)), ",") + ")"
		for _, id := range in.ids {
			a = append(a, id)
		}
	}
	total, err := s.count(ctx, "SELECT COUNT(*) "+where, a)
	if err != nil {
		return nil, 0, err
	}
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	// An unrestricted list, or one of given ids, has no plan to choose.
	choose := s.db.dialect == dialectSQLite && l.byID != "" && (p.Filter != nil || p.PopulationIDs != nil) && p.IDs == nil
	sorted := func(after string, n int) string {
		q := "SELECT " + l.cols + " " + where
		if after != "" {
			// A cursor is a range of the id index too, and without
			// statistics SQLite takes it over the filter's index: the
			// unary + keeps the filter's, as on the first page.
			cmp := l.id
			if choose {
				cmp = "+" + l.id
			}
			q += " AND " + cmp + " > ?"
		}
		return q + fmt.Sprintf(" ORDER BY %s LIMIT %d", l.id, n)
	}
	withCursor := func(after string) []any {
		if after == "" {
			return a
		}
		return append(append([]any{}, a...), after)
	}
	items, after := []T{}, p.After
	if choose && total >= walkMin*limit {
		sorts, err := s.sorts(ctx, sorted(after, limit), withCursor(after)...)
		if err != nil {
			return nil, 0, err
		}
		if sorts {
			var done bool
			items, after, done, err = walk(ctx, s, l, where, a, scope, after, limit, total/walkShare)
			if err != nil || done {
				return items, total, err
			}
		}
	}
	rows, err := s.queryDynamic(ctx, sorted(after, limit-len(items)), withCursor(after)...)
	more, err := collect(rows, err, l.scan)
	return append(items, more...), total, err
}

// sorts reports whether SQLite's plan for the page query q sorts its rows
// (rather than reading them in id order from an index). Without
// statistics the plan depends on the query text alone, so it is asked once
// per text; filters' shapes are many, so the answers kept are bounded.
func (s *SQLStore) sorts(ctx context.Context, q string, args ...any) (bool, error) {
	s.db.sortsMu.Lock()
	v, ok := s.db.sorts[q]
	s.db.sortsMu.Unlock()
	if ok {
		return v, nil
	}
	rows, err := s.queryDynamic(ctx, "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	sorts := false
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return false, err
		}
		sorts = sorts || strings.Contains(detail, "B-TREE FOR ORDER BY")
	}
	if err := rows.Err(); err != nil {
		return false, err
	}
	s.db.sortsMu.Lock()
	if s.db.sorts == nil || len(s.db.sorts) >= 1000 {
		s.db.sorts = map[string]bool{}
	}
	s.db.sorts[q] = sorts
	s.db.sortsMu.Unlock()
	return sorts, nil
}

// walk reads l's scope in id order after the cursor after, through l.byID,
// in windows, keeping the rows that match where, until limit rows are found
// (done), the scope ends (done), or the rows walked would exceed budget.
// It returns the rows found and the cursor to finish from.
func walk[T any](ctx context.Context, s *SQLStore, l *listing[T], where string, a, scope []any, after string, limit, budget int) (items []T, next string, done bool, err error) {
	table, cond, _ := strings.Cut(where, " WHERE ")
	indexed := table + " INDEXED BY " + l.byID + " WHERE "
	scopeTable, scopeCond, _ := strings.Cut(l.from, " WHERE ")
	// The window's end: the id window rows on in the id index alone, which
	// is cheap beside reading the rows.
	probe := "SELECT " + l.id + " " + scopeTable + " INDEXED BY " + l.byID + " WHERE " + scopeCond + " AND " + l.id + " > ? ORDER BY " + l.id + " LIMIT 1 OFFSET ?"
	items = []T{}
	for window, walked := walkWindow*limit, 0; ; {
		end := ""
		err := s.queryRowDynamic(ctx, probe, append(append([]any{}, scope...), after, window-1)...).Scan(&end)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, "", false, err
		}
		q := "SELECT " + l.cols + " " + indexed + cond + " AND " + l.id + " > ?"
		qa := append(append([]any{}, a...), after)
		if end != "" {
			q += " AND " + l.id + " <= ?"
			qa = append(qa, end)
		}
		q += fmt.Sprintf(" ORDER BY %s LIMIT %d", l.id, limit-len(items))
		rows, err := s.queryDynamic(ctx, q, qa...)
		more, err := collect(rows, err, l.scan)
		if err != nil {
			return nil, "", false, err
		}
		items = append(items, more...)
		if len(items) == limit || end == "" {
			return items, "", true, nil
		}
		after, walked = end, walked+window
		if len(items) == 0 {
			return items, after, false, nil // too sparse to tell: sort
		}
		// The rows still to read at the density seen so far, and a quarter
		// more so that a window rarely falls just short.
		window = (limit - len(items)) * walked / len(items)
		window += window/4 + 1
		if walked+window > budget {
			return items, after, false, nil
		}
	}
}

// count runs a page's COUNT(*), or takes its total from the memo when no
// write has run since it was counted (SQLite only: see readMemo).
func (s *SQLStore) count(ctx context.Context, query string, a []any) (int, error) {
	return memoized(s, memoKey(query, a...), func() (int, error) {
		var total int
		err := s.queryRowDynamic(ctx, query, a...).Scan(&total)
		return total, err
	})
}

func jsonText(b []byte) string {
	if len(b) == 0 {
		return "{}"
	}
	return string(b)
}
