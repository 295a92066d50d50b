package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

func TestWrittenTable(t *testing.T) {
	for _, c := range []struct{ query, want string }{
		{"INSERT INTO users (id, name) VALUES (?, ?)", "users"},
		{"\n INSERT INTO meta(key, value) VALUES (?, ?)", "meta"},
		{"insert into flows (id) values (?)", "flows"},
		{"UPDATE user_passwords SET failed_count = 0 WHERE user_id = ?", "user_passwords"},
		{"DELETE FROM refresh_tokens WHERE (environment_id, token_hash) IN (SELECT 1)", "refresh_tokens"},
		{"DELETE FROM sessions", "sessions"},
		{"SELECT 1 FROM users", ""},
		{"UPDATE", ""},
		{"", ""},
	} {
		if got := writtenTable(c.query); got != c.want {
			t.Errorf("writtenTable(%q) = %q, want %q", c.query, got, c.want)
		}
	}
}

func TestAnalyzeThreshold(t *testing.T) {
	for _, c := range []struct {
		rows float64
		want int64
	}{{-1, 50}, {0, 50}, {20, 52}, {1000, 150}, {1e6, 100_050}} {
		if got := thresholdFor(c.rows); got != c.want {
			t.Errorf("thresholdFor(%v) = %d, want %d", c.rows, got, c.want)
		}
	}
}

// seedEnvironment makes an organization, license, environment and default
// population and returns the environment's and population's ids.
func seedEnvironment(t *testing.T, s *SQLStore) (string, string) {
	t.Helper()
	ctx := t.Context()
	now := store.Now()
	org := &store.Organization{ID: uuid.NewString(), Name: "Analyze", Type: "INTERNAL", CreatedAt: now, UpdatedAt: now}
	lic := &store.License{ID: uuid.NewString(), OrganizationID: org.ID, Name: "Analyze", Package: "TRIAL", Status: "ACTIVE", CreatedAt: now, UpdatedAt: now}
	env := &store.Environment{ID: uuid.NewString(), OrganizationID: org.ID, Name: "Analyze", Type: "SANDBOX", Region: "NA", LicenseID: lic.ID,
		Status: "ACTIVE", CreatedAt: now, UpdatedAt: now}
	pop := &store.Population{ID: uuid.NewString(), EnvironmentID: env.ID, Name: "Default", Default: true, CreatedAt: now, UpdatedAt: now}
	for _, err := range []error{s.CreateOrganization(ctx, org), s.CreateLicense(ctx, lic), s.CreateEnvironment(ctx, env), s.CreatePopulation(ctx, pop)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return env.ID, pop.ID
}

func createUsers(t *testing.T, s store.Store, envID, popID string, from, n int) []string {
	t.Helper()
	ids := make([]string, 0, n)
	now := store.Now()
	for i := from; i < from+n; i++ {
		name := fmt.Sprintf("user%05d", i)
		u := &store.User{ID: uuid.NewString(), EnvironmentID: envID, PopulationID: popID, Username: name, Email: name + "@example.com",
			Enabled: true, AccountStatus: "OK", LifecycleStatus: "ACCOUNT_OK", IdentityProviderType: "PING_ONE", VerifyStatus: "NOT_INITIATED",
			CreatedAt: now, UpdatedAt: now}
		if err := s.CreateUser(t.Context(), u); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	return ids
}

// TestAnalyzeAfterGrowth: a plan a connection cached while the users table
// was small and analyzed reads the whole table; once the store's own
// writes grow the table, its analyze makes that connection read by index
// again, and the statistics are never further behind the table than
// autovacuum's rule.
func TestAnalyzeAfterGrowth(t *testing.T) {
	ctx := t.Context()
	s := openStore(t, sqltest.Postgres(t))
	if s.db.analyzer == nil {
		t.Fatal("no analyzer on PostgreSQL")
	}
	envID, popID := seedEnvironment(t, s)
	ids := createUsers(t, s, envID, popID, 0, 20)

	// A connection of its own, as the pool's are, with the plan of
	// GetUser cached after statistics of a 20-row table.
	conn, err := s.db.writer.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{`ANALYZE users`,
		`PREPARE get_user(text, text) AS SELECT ` + userCols + ` FROM users u WHERE u.environment_id = $1 AND u.id = $2`} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, id := range ids[:6] { // PostgreSQL keeps a generic plan after five runs
		if _, err := conn.ExecContext(ctx, executeGetUser(envID, id)); err != nil {
			t.Fatal(err)
		}
	}
	if plan := explainPrepared(t, conn, envID, ids[0]); !strings.Contains(plan, "Seq Scan") {
		t.Fatalf("plan cached for 20 users:\n%s\nwant a sequential scan (what this test guards against later)", plan)
	}

	// 2,000 users, a tenth of them in transactions (counted as they commit).
	const grown = 2000
	createUsers(t, s, envID, popID, 20, 1780)
	for i := range 10 {
		if err := s.Tx(ctx, func(tx store.Store) error {
			createUsers(t, tx, envID, popID, 1800+20*i, 20)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := s.db.analyzer.waitAnalyzed(wctx); err != nil {
		t.Fatal(err)
	}

	if n := s.db.analyzer.analyzes("users"); n == 0 {
		t.Errorf("the store never analyzed users")
	}
	var reltuples float64
	var analyzeCount int64
	if err := conn.QueryRowContext(ctx, `SELECT c.reltuples, s.analyze_count FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid
 WHERE c.oid = 'users'::regclass`).Scan(&reltuples, &analyzeCount); err != nil {
		t.Fatal(err)
	}
	if behind := grown - int64(reltuples); reltuples <= 20 || behind >= thresholdFor(reltuples) {
		t.Errorf("statistics count %v users of %d: behind by more than %d", reltuples, grown, thresholdFor(reltuples))
	}
	if analyzeCount < 2 { // the test's own, then the store's
		t.Errorf("pg_stat_user_tables.analyze_count = %d, want at least 2", analyzeCount)
	}
	if plan := explainPrepared(t, conn, envID, ids[0]); !strings.Contains(plan, "Index Scan") {
		t.Errorf("plan after %d users:\n%s\nwant an index scan", grown, plan)
	}
}

// executeGetUser runs the prepared get_user: EXECUTE takes no bind
// parameters, and the ids are UUIDs the test made.
func executeGetUser(envID, id string) string {
	return fmt.Sprintf(`EXECUTE get_user('%s', '%s')`, envID, id)
}

// explainPrepared is the plan the connection runs get_user with.
func explainPrepared(t *testing.T, conn *sql.Conn, envID, id string) string {
	t.Helper()
	rows, err := conn.QueryContext(t.Context(), `EXPLAIN `+executeGetUser(envID, id))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// TestNoAnalyzeOnSQLite: SQLite's planner does not follow table sizes
// without statistics, so the store neither counts its writes nor gathers
// any there, and growth leaves the user read on its index.
func TestNoAnalyzeOnSQLite(t *testing.T) {
	ctx := t.Context()
	s := openStore(t, sqltest.SQLite(t))
	if s.db.analyzer != nil {
		t.Fatal("analyzer on SQLite")
	}
	envID, popID := seedEnvironment(t, s)
	ids := createUsers(t, s, envID, popID, 0, 300)
	if err := s.Tx(ctx, func(tx store.Store) error {
		createUsers(t, tx, envID, popID, 300, 100)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	u, err := s.GetUser(ctx, envID, ids[299])
	if err != nil || u.Username != "user00299" {
		t.Fatalf("GetUser = %+v, %v; want user00299", u, err)
	}
	var stats int
	if err := s.db.reader.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'sqlite_stat%'`).Scan(&stats); err != nil {
		t.Fatal(err)
	}
	if stats != 0 {
		t.Errorf("%d sqlite_stat tables, want none", stats)
	}
	plan := explain(t, s, `SELECT `+userCols+` FROM users u WHERE u.environment_id = ? AND u.id = ?`, envID, ids[0])
	if !strings.Contains(plan, "INDEX") {
		t.Errorf("user read after 400 users:\n%s\nwant an index", plan)
	}
}
