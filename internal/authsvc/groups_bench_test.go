package authsvc_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib" // the seeding's own connection to PostgreSQL

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// BenchmarkGroupClaims issues tokens with group claims in an environment
// of 100,000 users in 1,000 groups (100 direct members each, 100 groups
// nested in others), for a user who belongs to 50 of them (40 directly,
// 10 through nesting), on SQLite and PostgreSQL. The application maps
// ${user.memberOfGroupNames} and ${user.memberOfGroupIDs} into its ID
// token and userinfo, and its resource ${user.memberOfGroupNames} into
// the access token:
//
//	refresh   a refresh_token grant: an ID token and an access token with
//	          the 50 groups each (the groups read once, in one query)
//	groups-query  the store's query of the user's 50 groups alone
//	userinfo  userinfo with the 50 groups
//
// Each reports ns/op and statements/op (the store's statements per
// request). Seeding takes a while on PostgreSQL:
//
//	go test -run '^$' -bench GroupClaims -benchtime 2000x ./internal/authsvc/
func BenchmarkGroupClaims(b *testing.B) {
	for _, be := range apptest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			dsn := be.DSN(b)
			s := apptest.Start(b, apptest.Options{DSN: dsn})
			e := newECEnv(b, s)
			cc := &ccEnv{s: s, fx: e.fx, admin: e.admin, envPath: "/environments/" + e.fx.EnvID}
			orders, scopes := cc.resource(b, "Orders", "https://api.orders.example.com", 900, "orders:read")
			cc.grant(b, e.fx.AppID, orders, scopes["orders:read"])
			cc.create(b, "/resources/"+orders+"/attributes", map[string]any{"name": "groups", "value": "${user.memberOfGroupNames}"})
			appAttrs := "/applications/" + e.fx.AppID + "/attributes"
			cc.create(b, appAttrs, map[string]any{"name": "groups", "value": "${user.memberOfGroupNames}"})
			cc.create(b, appAttrs, map[string]any{"name": "group_ids", "value": "${user.memberOfGroupIDs}"})
			e.conf.Scopes = []string{"openid", "profile", "orders:read"}
			start := time.Now()
			seedGroups(b, s, e.fx, dsn)
			b.Logf("seeded 100,000 users in 1,000 groups in %v", time.Since(start).Round(time.Second))

			tok := e.signOn(b, "n")
			form := func(refresh string) string {
				return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}.Encode()
			}
			path := "/" + e.fx.EnvID + "/as/token"
			refresh := tok.RefreshToken
			issue := func() map[string]any {
				w := httptest.NewRecorder()
				req := httptest.NewRequest("POST", path, strings.NewReader(form(refresh)))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(e.fx.AppID, e.fx.AppSecret)
				s.Handler.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("refresh: %d %s", w.Code, w.Body)
				}
				var out map[string]any
				if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
					b.Fatal(err)
				}
				refresh = out["refresh_token"].(string)
				return out
			}
			first := issue()
			if g, _ := payload(b, first["id_token"].(string))["groups"].([]any); len(g) != 50 {
				b.Fatalf("ID token groups: %d, want 50", len(g))
			}
			if g, _ := payload(b, first["access_token"].(string))["groups"].([]any); len(g) != 50 {
				b.Fatalf("access token groups: %d, want 50", len(g))
			}
			access := first["access_token"].(string)

			b.Run("refresh", func(b *testing.B) {
				q0 := s.Queries()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					issue()
				}
				b.StopTimer()
				b.ReportMetric(float64(s.Queries()-q0)/float64(b.N), "statements/op")
			})
			b.Run("groups-query", func(b *testing.B) {
				ctx := context.Background()
				q0 := s.Queries()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if gs, err := s.Store.UserGroups(ctx, e.fx.EnvID, e.fx.UserID); err != nil || len(gs) != 50 {
						b.Fatalf("UserGroups: %d %v", len(gs), err)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(s.Queries()-q0)/float64(b.N), "statements/op")
			})
			b.Run("userinfo", func(b *testing.B) {
				info := func() {
					w := httptest.NewRecorder()
					req := httptest.NewRequest("GET", "/"+e.fx.EnvID+"/as/userinfo", nil)
					req.Header.Set("Authorization", "Bearer "+access)
					s.Handler.ServeHTTP(w, req)
					if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"group_ids"`) {
						b.Fatalf("userinfo: %d %s", w.Code, w.Body)
					}
				}
				info()
				q0 := s.Queries()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					info()
				}
				b.StopTimer()
				b.ReportMetric(float64(s.Queries()-q0)/float64(b.N), "statements/op")
			})
		})
	}
}

// seedGroups fills fx's environment: 1,000 groups, of which 100 are
// nested in another (0–9 in 500–509, 110–199 in 610–699), 100,000 users
// each a direct member of one group (100 per group), and fx's user a
// direct member of groups 0–39, so of 500–509 too: 50 groups. Groups,
// nestings and fx's memberships go through the store; the users and their
// memberships through the store on SQLite (one transaction, under a
// minute) and as 1,000-row INSERTs on PostgreSQL, where 300,000
// single-row statements take a quarter of an hour on a busy machine.
func seedGroups(b *testing.B, s *apptest.Server, fx *apptest.SignOn, dsn string) {
	ctx := context.Background()
	now := store.Now()
	const groups, users = 1000, 100_000
	ids := make([]string, groups)
	err := s.Store.Tx(ctx, func(tx store.Store) error {
		for i := range ids {
			ids[i] = uuid.NewString()
			g := &store.Group{ID: ids[i], EnvironmentID: fx.EnvID, Name: fmt.Sprintf("Group %04d", i), Data: json.RawMessage(`{}`),
				CreatedAt: now, UpdatedAt: now}
			if err := tx.CreateGroup(ctx, g); err != nil {
				return err
			}
		}
		for i := 0; i < 100; i++ {
			child := i // 0–9, then 110–199
			if i >= 10 {
				child = 100 + i
			}
			if err := tx.NestGroup(ctx, fx.EnvID, ids[child], ids[500+child], now); err != nil {
				return err
			}
		}
		for i := 0; i < 40; i++ {
			if err := tx.AddGroupMember(ctx, fx.EnvID, fx.UserID, ids[i], now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	member := func(i int) (*store.User, string) {
		return &store.User{ID: uuid.NewString(), EnvironmentID: fx.EnvID, PopulationID: fx.PopulationID,
			Username: fmt.Sprintf("member%06d", i), Email: fmt.Sprintf("member%06d@example.com", i), Enabled: true,
			AccountStatus: "OK", LifecycleStatus: "ACCOUNT_OK", IdentityProviderType: "PING_ONE", VerifyStatus: "NOT_INITIATED",
			Data: json.RawMessage(`{}`), CreatedAt: now, UpdatedAt: now}, ids[i%groups]
	}
	if !strings.HasPrefix(dsn, "postgres") {
		err = s.Store.Tx(ctx, func(tx store.Store) error {
			for i := 0; i < users; i++ {
				u, g := member(i)
				if err := tx.CreateUser(ctx, u); err != nil {
					return err
				}
				if err := tx.AddGroupMember(ctx, fx.EnvID, u.ID, g, now); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		return
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	const batch = 1000
	ts := now.UnixMilli()
	for i := 0; i < users; i += batch {
		var ur, mr []string
		var ua, ma []any
		for j := i; j < i+batch; j++ {
			u, g := member(j)
			n := len(ua)
			ur = append(ur, fmt.Sprintf("($%d, $%d, $%d, $%d, $%d, $%d, $%d, '', '', '', '', '', true, 'OK', 0, 0, 'ACCOUNT_OK', 'PING_ONE', '', false, 'NOT_INITIATED', '{}', $%d, $%d)",
				n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8, n+9))
			ua = append(ua, u.ID, u.EnvironmentID, u.PopulationID, u.Username, strings.ToLower(u.Username), u.Email, strings.ToLower(u.Email), ts, ts)
			m := len(ma)
			mr = append(mr, fmt.Sprintf("($%d, $%d, $%d, $%d)", m+1, m+2, m+3, m+4))
			ma = append(ma, u.ID, g, fx.EnvID, ts)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO users (id, environment_id, population_id, username, username_lc, email, email_lc,
 given_name, given_name_lc, family_name, family_name_lc, external_id, enabled, account_status, locked_at, unlock_at, lifecycle_status,
 idp_type, idp_id, mfa_enabled, verify_status, data, created_at, updated_at) VALUES `+strings.Join(ur, ", "), ua...); err != nil {
			b.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO group_memberships (user_id, group_id, environment_id, created_at) VALUES `+
			strings.Join(mr, ", "), ma...); err != nil {
			b.Fatal(err)
		}
	}
	// Statistics as the server would have them soon after such a load.
	if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
}
