package mgmt_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// TestAuditAcceptance is issue 18's acceptance on both databases, through
// the real audit log and PingOne's activities API: management writes and
// a headless sign-on (a wrong password, the right one, the code
// exchanged) produce exactly the expected activities, found with the
// required time range and SCIM filters on action type, user, client and
// resource, paged by next links; no environment sees another's.
func TestAuditAcceptance(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			from := time.Now().UTC().Add(-time.Second)
			fx := s.NewSignOn(t, apptest.SignOnOptions{})    // the environment under test
			other := s.NewSignOn(t, apptest.SignOnOptions{}) // another tenant
			signOnPiFlow(t, s, fx)
			ctx := context.Background()
			if err := s.Audit.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			to := time.Now().UTC().Add(time.Second)
			ts := func(t time.Time) string { return t.Format("2006-01-02T15:04:05.000Z") }
			rng := `recordedAt ge "` + ts(from) + `" and recordedAt lt "` + ts(to) + `"`
			admin := s.AdminToken(t)
			list := func(envID, filter string, limit int) []map[string]any {
				t.Helper()
				q := url.Values{"filter": {filter}}
				if limit > 0 {
					q.Set("limit", strconv.Itoa(limit))
				}
				next := "/environments/" + envID + "/activities?" + q.Encode()
				var all []map[string]any
				for pages := 0; next != ""; pages++ {
					if pages > 20 {
						t.Fatalf("more than 20 pages")
					}
					r := doNo5xx(t, s, apptest.Request{Method: "GET", URL: next, Token: admin})
					if r.Status != http.StatusOK {
						t.Fatalf("GET %s: %d %s", next, r.Status, trimBody(r.Body))
					}
					var page struct {
						Links    map[string]struct{ Href string } `json:"_links"`
						Count    int                              `json:"count"`
						Embedded struct {
							Activities []map[string]any `json:"activities"`
						} `json:"_embedded"`
					}
					if err := json.Unmarshal(r.Body, &page); err != nil {
						t.Fatal(err)
					}
					if page.Count != len(page.Embedded.Activities) || (limit > 0 && page.Count > limit) {
						t.Errorf("page of %d with count %d (limit %d)", len(page.Embedded.Activities), page.Count, limit)
					}
					all = append(all, page.Embedded.Activities...)
					next = strings.TrimPrefix(page.Links["next"].Href, s.APIPath)
				}
				return all
			}
			types := func(as []map[string]any) []string {
				out := make([]string, len(as))
				for i, a := range as {
					out[i] = get(a, "action.type").(string)
				}
				return out
			}

			// Everything the environment recorded, newest first.
			all := list(fx.EnvID, rng, 0)
			want := []string{"ACCESS_TOKEN.CREATED", "SESSION.CREATED", "PASSWORD.CHECK_SUCCEEDED", "PASSWORD.CHECK_FAILED",
				"PASSWORD.SET", "USER.CREATED", "APPLICATION.CREATED", "ENVIRONMENT.CREATED"}
			if got := types(all); !slices.Equal(got, want) {
				t.Fatalf("activities %v, want %v", got, want)
			}
			// The same, three at a time.
			if got := types(list(fx.EnvID, rng, 3)); !slices.Equal(got, want) {
				t.Errorf("paged by 3: %v, want %v", got, want)
			}

			// The failed check, as PingOne shows it.
			failed := all[3]
			envRef := map[string]any{"id": fx.EnvID}
			wantFields(t, failed, map[string]any{
				"action": map[string]any{"type": "PASSWORD.CHECK_FAILED", "description": "Password Check Failed"},
				"actors.client": map[string]any{"id": fx.AppID, "name": fx.AppName, "type": "CLIENT", "environment": envRef,
					"href": s.APIPath + "/environments/" + fx.EnvID + "/applications/" + fx.AppID},
				"actors.user": map[string]any{"id": fx.UserID, "name": fx.Username, "type": "USER", "environment": envRef,
					"population": map[string]any{"id": fx.PopulationID}, "href": s.APIPath + "/environments/" + fx.EnvID + "/users/" + fx.UserID},
				"resources": []any{map[string]any{"type": "USER", "id": fx.UserID, "name": fx.Username, "environment": envRef,
					"population": map[string]any{"id": fx.PopulationID}, "href": s.APIPath + "/environments/" + fx.EnvID + "/users/" + fx.UserID}},
				"result": map[string]any{"status": "FAILED", "description": "The username or password is not correct."},
			})
			if c, _ := failed["correlationId"].(string); c == "" {
				t.Errorf("no correlationId: %v", failed)
			}
			if get(all[0], "grantType") != "authorization_code" || get(all[7], "actors.client.id") != s.Admin.ClientID {
				t.Errorf("token %v; environment created by %v", all[0], get(all[7], "actors.client"))
			}
			// One by id.
			id := failed["id"].(string)
			one := doNo5xx(t, s, apptest.Request{Method: "GET", URL: "/environments/" + fx.EnvID + "/activities/" + id, Token: admin})
			if one.Status != http.StatusOK || one.JSON(t)["id"] != id {
				t.Errorf("GET activity: %d %s", one.Status, trimBody(one.Body))
			}

			// SCIM filters.
			for _, tc := range []struct {
				filter string
				want   []string
			}{
				{`action.type eq "PASSWORD.CHECK_FAILED"`, []string{"PASSWORD.CHECK_FAILED"}},
				{`actors.user.id eq "` + fx.UserID + `"`, []string{"ACCESS_TOKEN.CREATED", "SESSION.CREATED", "PASSWORD.CHECK_SUCCEEDED", "PASSWORD.CHECK_FAILED"}},
				{`actors.client.id eq "` + s.Admin.ClientID + `"`, []string{"PASSWORD.SET", "USER.CREATED", "APPLICATION.CREATED", "ENVIRONMENT.CREATED"}},
				{`resources.id eq "` + fx.UserID + `"`, []string{"ACCESS_TOKEN.CREATED", "SESSION.CREATED", "PASSWORD.CHECK_SUCCEEDED",
					"PASSWORD.CHECK_FAILED", "PASSWORD.SET", "USER.CREATED"}},
				{`resources.type eq "APPLICATION"`, []string{"APPLICATION.CREATED"}},
				{`result.status eq "FAILED"`, []string{"PASSWORD.CHECK_FAILED"}},
				{`actors.user.id eq "` + other.UserID + `"`, nil},
			} {
				if got := types(list(fx.EnvID, rng+" and "+tc.filter, 2)); !slices.Equal(got, tc.want) && (len(got) != 0 || len(tc.want) != 0) {
					t.Errorf("%s: %v, want %v", tc.filter, got, tc.want)
				}
			}
			// A range before all of it finds nothing.
			if got := list(fx.EnvID, `recordedAt lt "`+ts(from)+`" and recordedAt gt "`+ts(from.Add(-time.Hour))+`"`, 0); len(got) != 0 {
				t.Errorf("an earlier range: %v", types(got))
			}

			// Tenant isolation: the other environment has its own, and
			// none of these; this one's activity is not found there.
			if got := types(list(other.EnvID, rng, 0)); !slices.Equal(got, []string{"PASSWORD.SET", "USER.CREATED", "APPLICATION.CREATED", "ENVIRONMENT.CREATED"}) {
				t.Errorf("the other environment's activities: %v", got)
			}
			if got := list(other.EnvID, rng+` and actors.user.id eq "`+fx.UserID+`"`, 0); len(got) != 0 {
				t.Errorf("the other environment sees %v", types(got))
			}
			cross := doNo5xx(t, s, apptest.Request{Method: "GET", URL: "/environments/" + other.EnvID + "/activities/" + id, Token: admin})
			if cross.Status != http.StatusNotFound {
				t.Errorf("another environment's activity: %d %s", cross.Status, trimBody(cross.Body))
			}
		})
	}
}

// signOnPiFlow is a headless sign-on: a wrong password, the right one,
// resume, the code exchanged for tokens.
func signOnPiFlow(t *testing.T, s *apptest.Server, fx *apptest.SignOn) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	call := func(method, u, ct, body string, basic bool) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, u, strings.NewReader(body))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		if basic {
			req.SetBasicAuth(fx.AppID, fx.AppSecret)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s %s: %d %s", method, u, resp.StatusCode, b)
		}
		return m
	}
	base := s.URL + "/" + fx.EnvID
	fl := call("GET", base+"/as/authorize?"+url.Values{"response_type": {"code"}, "client_id": {fx.AppID}, "redirect_uri": {fx.RedirectURI},
		"scope": {"openid"}, "response_mode": {"pi.flow"}}.Encode(), "", "", false)
	flowURL := base + "/flows/" + fl["id"].(string)
	const ct = "application/vnd.pingidentity.usernamePassword.check+json"
	if e := call("POST", flowURL, ct, `{"username":"`+fx.Username+`","password":"Not-The-Password-77?"}`, false); e["code"] != "INVALID_DATA" {
		t.Fatalf("wrong password: %v", e)
	}
	done := call("POST", flowURL, ct, `{"username":"`+fx.Username+`","password":"`+fx.Password+`"}`, false)
	if done["status"] != "COMPLETED" {
		t.Fatalf("sign-on: %v", done)
	}
	code := call("GET", done["resumeUrl"].(string), "", "", false)["authorizeResponse"].(map[string]any)["code"].(string)
	tok := call("POST", base+"/as/token", "application/x-www-form-urlencoded",
		url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {fx.RedirectURI}}.Encode(), true)
	if tok["access_token"] == nil {
		t.Fatalf("token: %v", tok)
	}
}
