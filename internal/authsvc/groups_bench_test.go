package authsvc_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

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
			s := apptest.Start(b, apptest.Options{DSN: be.DSN(b)})
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
			seedGroups(b, s, e.fx)
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

// seedGroups fills fx's environment through the store, in one transaction:
// 1,000 groups, of which 100 are nested in another (0–9 in 500–509,
// 110–199 in 610–699), 100,000 users each a direct member of one group
// (100 per group), and fx's user a direct member of groups 0–39, so of
// 500–509 too: 50 groups.
func seedGroups(b *testing.B, s *apptest.Server, fx *apptest.SignOn) {
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
		for i := 0; i < users; i++ {
			u := &store.User{ID: uuid.NewString(), EnvironmentID: fx.EnvID, PopulationID: fx.PopulationID,
				Username: fmt.Sprintf("member%06d", i), Email: fmt.Sprintf("member%06d@example.com", i), Enabled: true,
				AccountStatus: "OK", LifecycleStatus: "ACCOUNT_OK", IdentityProviderType: "PING_ONE", VerifyStatus: "NOT_INITIATED",
				Data: json.RawMessage(`{}`), CreatedAt: now, UpdatedAt: now}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			if err := tx.AddGroupMember(ctx, fx.EnvID, u.ID, ids[i%groups], now); err != nil {
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
}
