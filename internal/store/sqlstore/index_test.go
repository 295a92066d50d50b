package sqlstore

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// TestThemeLookupsUseIndexes: every way themes are looked up, and the
// update that sends a deleted theme's populations back to the default,
// reads an index on both databases rather than the whole table.
// PostgreSQL is told to avoid sequential scans, so that the plan shows
// whether an index could serve the query at all, however few rows the
// tables hold.
func TestThemeLookupsUseIndexes(t *testing.T) {
	env, id := uuid.NewString(), uuid.NewString()
	for _, tc := range []struct {
		name, query string
		args        []any
		index       string // the index it must use; "" for any
	}{
		{"a theme", `SELECT ` + themeCols + ` FROM themes WHERE environment_id = ? AND id = ?`, []any{env, id}, ""},
		{"the default theme", `SELECT ` + themeCols + ` FROM themes WHERE environment_id = ? AND is_default`, []any{env}, ""},
		{"an environment's themes", `SELECT ` + themeCols + ` FROM themes WHERE environment_id = ? AND id > ? ORDER BY id LIMIT 10`, []any{env, id}, ""},
		{"the populations of a deleted theme", `UPDATE populations SET theme_id = '' WHERE environment_id = ? AND theme_id = ?`, []any{env, id},
			"populations_theme"},
	} {
		for _, b := range sqltest.Backends() {
			t.Run(tc.name+"/"+b.Name, func(t *testing.T) {
				s := openStore(t, b.DSN(t))
				plan := explain(t, s, tc.query, tc.args...)
				switch {
				case tc.index != "" && !strings.Contains(plan, tc.index):
					t.Errorf("plan does not use %s:\n%s", tc.index, plan)
				case s.db.dialect == dialectPostgres && !strings.Contains(plan, "Index"):
					t.Errorf("plan reads no index:\n%s", plan)
				case s.db.dialect == dialectSQLite && !strings.Contains(plan, "USING"):
					t.Errorf("plan reads no index:\n%s", plan)
				}
			})
		}
	}
}

// TestRevocationUsesIndexes: revoking a grant or a session's grants
// reads the access tokens to deny (refresh tokens', redeemed codes' and
// hybrid codes' front-channel ones) through the grant and session
// indexes, never the whole tables.
func TestRevocationUsesIndexes(t *testing.T) {
	env, id := uuid.NewString(), uuid.NewString()
	for _, col := range []string{"grant_id", "session_id"} {
		for _, b := range sqltest.Backends() {
			t.Run(col+"/"+b.Name, func(t *testing.T) {
				s := openStore(t, b.DSN(t))
				plan := explain(t, s, liveAccessQuery(col), env, id, 0, env, id, 0, env, id, 0)
				// Every read of a table goes through an index (with empty
				// tables PostgreSQL may pick any index that starts with
				// environment_id, so the index is not named here).
				reads := 0
				for _, line := range strings.Split(plan, "\n") {
					switch {
					case strings.Contains(line, "Seq Scan"):
						t.Errorf("plan scans a table:\n%s", plan)
					case strings.Contains(line, "Index Scan") || strings.Contains(line, "Bitmap Index Scan"):
						reads++
					case s.db.dialect == dialectSQLite && (strings.Contains(line, "SCAN ") || strings.Contains(line, "SEARCH ")):
						if !strings.Contains(line, "USING") {
							t.Errorf("plan scans a table:\n%s", plan)
						}
						reads++
					}
				}
				if reads < 3 {
					t.Errorf("plan reads %d index(es), want one per branch of the union:\n%s", reads, plan)
				}
			})
		}
	}
}

// explain returns the database's plan of query, one line per step.
func explain(t *testing.T, s *SQLStore, query string, args ...any) string {
	t.Helper()
	ctx := t.Context()
	tx, err := s.db.writer.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	prefix := "EXPLAIN QUERY PLAN "
	if s.db.dialect == dialectPostgres {
		prefix = "EXPLAIN "
		if _, err := tx.ExecContext(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := tx.QueryContext(ctx, s.db.rebind(prefix+query), args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		// SQLite's detail is the last column; PostgreSQL's plan has one.
		switch v := vals[len(vals)-1].(type) {
		case string:
			lines = append(lines, v)
		case []byte:
			lines = append(lines, string(v))
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// TestFIDO2LookupsUseIndexes: an assertion finds its device by credential
// id, and FIDO2 policies are read by id, as the default and as an
// environment's list, through indexes on both databases.
func TestFIDO2LookupsUseIndexes(t *testing.T) {
	env, id := uuid.NewString(), uuid.NewString()
	for _, tc := range []struct {
		name, query string
		args        []any
		index       string
	}{
		{"a device by credential", `SELECT ` + mfaDeviceCols + ` FROM mfa_devices WHERE environment_id = ? AND credential_id = ?`, []any{env, "Y3JlZA"},
			"mfa_devices_credential"},
		{"a FIDO2 policy", `SELECT ` + fido2PolicyCols + ` FROM fido2_policies WHERE environment_id = ? AND id = ?`, []any{env, id}, ""},
		{"the default FIDO2 policy", `SELECT ` + fido2PolicyCols + ` FROM fido2_policies WHERE environment_id = ? AND is_default`, []any{env}, ""},
		{"an environment's FIDO2 policies", `SELECT ` + fido2PolicyCols + ` FROM fido2_policies WHERE environment_id = ? ORDER BY id`, []any{env}, ""},
	} {
		for _, b := range sqltest.Backends() {
			t.Run(tc.name+"/"+b.Name, func(t *testing.T) {
				s := openStore(t, b.DSN(t))
				plan := explain(t, s, tc.query, tc.args...)
				switch {
				case tc.index != "" && !strings.Contains(plan, tc.index):
					t.Errorf("plan does not use %s:\n%s", tc.index, plan)
				case s.db.dialect == dialectPostgres && !strings.Contains(plan, "Index"):
					t.Errorf("plan reads no index:\n%s", plan)
				case s.db.dialect == dialectSQLite && !strings.Contains(plan, "USING"):
					t.Errorf("plan reads no index:\n%s", plan)
				}
			})
		}
	}
}

// TestAgreementLookupsUseIndexes: agreements, their languages, revisions
// and consents are read through indexes on both databases, and the check
// that a sign-on policy action names an agreement reads the expression
// index of migration 0025, not every action.
func TestAgreementLookupsUseIndexes(t *testing.T) {
	env, id := uuid.NewString(), uuid.NewString()
	for _, b := range sqltest.Backends() {
		s := openStore(t, b.DSN(t))
		for _, tc := range []struct {
			name, query string
			args        []any
			index       string
		}{
			{"an agreement", `SELECT ` + agreementCols + ` FROM agreements WHERE environment_id = ? AND id = ?`, []any{env, id}, ""},
			{"an environment's agreements", `SELECT ` + agreementCols + ` FROM agreements WHERE environment_id = ? ORDER BY id`, []any{env},
				"agreements_environment"},
			{"an agreement's languages", `SELECT ` + agreementLanguageCols + ` FROM agreement_languages WHERE environment_id = ? AND agreement_id = ? ORDER BY locale_lc, id`,
				[]any{env, id}, ""},
			{"an agreement's revisions", `SELECT ` + agreementRevisionCols + ` FROM agreement_revisions WHERE environment_id = ? AND agreement_id = ? ORDER BY language_id, effective_at`,
				[]any{env, id}, "agreement_revisions_agreement"},
			{"a user's consent", agreementConsentSelect + ` WHERE c.environment_id = ? AND c.user_id = ? AND c.agreement_id = ?`, []any{env, id, id}, ""},
			{"a user's consents", agreementConsentSelect + ` WHERE c.environment_id = ? AND c.user_id = ? ORDER BY c.agreement_id`, []any{env, id}, ""},
			{"an action naming an agreement", s.agreementInUseQuery(), []any{env, id}, "sign_on_policy_actions_agreement"},
			{"a consent to an agreement", `SELECT 1 FROM agreement_consents WHERE agreement_id = ? AND environment_id = ? LIMIT 1`, []any{id, env},
				"agreement_consents_agreement"},
		} {
			t.Run(tc.name+"/"+b.Name, func(t *testing.T) {
				plan := explain(t, s, tc.query, tc.args...)
				switch {
				case tc.index != "" && !strings.Contains(plan, tc.index):
					t.Errorf("plan does not use %s:\n%s", tc.index, plan)
				case s.db.dialect == dialectPostgres && !strings.Contains(plan, "Index"):
					t.Errorf("plan reads no index:\n%s", plan)
				case s.db.dialect == dialectSQLite && !strings.Contains(plan, "USING"):
					t.Errorf("plan reads no index:\n%s", plan)
				}
			})
		}
	}
}
