package app_test

import (
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/webhook"
)

// delivered is an activity a webhook endpoint received, as PingOne's
// ACTIVITY format carries it.
type delivered struct {
	ID     string `json:"id"`
	Action struct {
		Type string `json:"type"`
	} `json:"action"`
	Actors struct {
		Client *struct {
			ID string `json:"id"`
		} `json:"client"`
		User *struct {
			ID         string `json:"id"`
			Population *struct {
				ID string `json:"id"`
			} `json:"population"`
		} `json:"user"`
	} `json:"actors"`
	Resources []struct {
		Type       string `json:"type"`
		ID         string `json:"id"`
		Population *struct {
			ID string `json:"id"`
		} `json:"population"`
	} `json:"resources"`
	Result struct {
		Status string `json:"status"`
	} `json:"result"`
	GrantType string `json:"grantType"`
}

// brief is a delivered activity in a line: type, client, user.
func (d delivered) brief() string {
	b := d.Action.Type
	if d.Actors.Client != nil {
		b += " client=" + d.Actors.Client.ID
	}
	if d.Actors.User != nil {
		b += " user=" + d.Actors.User.ID
	}
	return b
}

// TestWebhookSignOnActivities: the activities a sign-on records reach
// the subscriptions whose filters name them, through the real audit log
// and dispatcher. Subscription "app-pop" names an application and the
// first user's population; "pop" names only a second population. Both
// include PASSWORD.CHECK_SUCCEEDED and ACCESS_TOKEN.CREATED. The first
// user's wrong password and sign-ons with both applications, the second
// user's sign-on, and a worker's client_credentials token then reach
// each subscription exactly as its filters say, in order.
func TestWebhookSignOnActivities(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			var mu sync.Mutex
			got := map[string][]delivered{} // by endpoint path
			rc := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				var d delivered
				if err := json.Unmarshal(b, &d); err != nil {
					t.Errorf("delivery to %s: %v: %s", r.URL.Path, err, b)
				}
				mu.Lock()
				got[r.URL.Path] = append(got[r.URL.Path], d)
				mu.Unlock()
			}))
			defer rc.Close()
			pool := x509.NewCertPool()
			pool.AddCert(rc.Certificate())
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t), GuardOutbound: true,
				OutboundAllow: []netip.AddrPort{netip.MustParseAddrPort(rc.Listener.Addr().String())}, OutboundRootCAs: pool,
				Webhooks: &webhook.Options{Poll: 50 * time.Millisecond, Timeout: 10 * time.Second}})
			fx := s.NewSignOn(t, apptest.SignOnOptions{})
			admin := s.AdminToken(t)
			api := func(method, path string, body any, want int) map[string]any {
				t.Helper()
				r := s.Do(t, apptest.Request{Method: method, URL: "/environments/" + fx.EnvID + path, Token: admin, Body: body})
				if r.Status != want {
					t.Fatalf("%s %s: %d, want %d: %s", method, path, r.Status, want, r.Body)
				}
				return r.JSON(t)
			}
			pop2 := api("POST", "/populations", map[string]any{"name": "Contractors"}, http.StatusCreated)["id"].(string)
			user2 := s.CreateUser(t, fx.EnvID, pop2, "casey.contractor", "casey@example.com", "Casey", "Contractor", fx.Password)
			worker := s.CreateWorker(t, fx.EnvID, "CLIENT_SECRET_BASIC")
			// A second web application the first user also signs on with.
			app2 := api("POST", "/applications", map[string]any{"enabled": true, "name": "Other web app", "type": "WEB_APP",
				"protocol": "OPENID_CONNECT", "grantTypes": []string{"AUTHORIZATION_CODE"}, "responseTypes": []string{"CODE"},
				"redirectUris": []string{fx.RedirectURI}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"}, http.StatusCreated)["id"].(string)
			secret2 := api("GET", "/applications/"+app2+"/secret", nil, http.StatusOK)["secret"].(string)

			actions := []any{"PASSWORD.CHECK_SUCCEEDED", "ACCESS_TOKEN.CREATED"}
			subscribe := func(name string, filter map[string]any) {
				filter["includedActionTypes"] = actions
				api("POST", "/subscriptions", map[string]any{"name": name, "enabled": true, "format": "ACTIVITY",
					"httpEndpoint": map[string]any{"url": rc.URL + "/" + name}, "filterOptions": filter}, http.StatusCreated)
			}
			subscribe("app-pop", map[string]any{"includedApplications": []any{map[string]any{"id": fx.AppID}},
				"includedPopulations": []any{map[string]any{"id": fx.PopulationID}}})
			subscribe("pop", map[string]any{"includedPopulations": []any{map[string]any{"id": pop2}}})

			hookSignOn(t, s, fx, fx.AppID, "", fx.Username, "Not-The-Password-1!") // PASSWORD.CHECK_FAILED only
			hookSignOn(t, s, fx, fx.AppID, fx.AppSecret, fx.Username, fx.Password)
			hookSignOn(t, s, fx, app2, secret2, fx.Username, fx.Password) // another application: "app-pop" leaves it out
			hookSignOn(t, s, fx, fx.AppID, fx.AppSecret, "casey.contractor", fx.Password)
			s.TokenFor(t, fx.EnvID, worker.ClientID, worker.Secret) // no user: no population, another client

			// Everything recorded is stored; then wait until both
			// subscriptions' cursors are past it, so nothing is still to come.
			if err := s.Audit.Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
			last, err := s.Store.LastActivitySeq(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(30 * time.Second)
			for {
				subs, err := s.Store.ListSubscriptions(t.Context(), fx.EnvID)
				if err != nil {
					t.Fatal(err)
				}
				done := len(subs) == 2
				for _, sub := range subs {
					done = done && sub.Delivery.Cursor >= last && sub.Delivery.Attempts == 0
				}
				if done {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("subscriptions not caught up with activity %d: %+v", last, subs)
				}
				time.Sleep(20 * time.Millisecond)
			}

			mu.Lock()
			defer mu.Unlock()
			briefs := func(ds []delivered) []string {
				out := []string{}
				for _, d := range ds {
					out = append(out, d.brief())
				}
				return out
			}
			client, u1, u2 := " client="+fx.AppID, " user="+fx.UserID, " user="+user2
			for path, want := range map[string][]string{
				"/app-pop": {"PASSWORD.CHECK_SUCCEEDED" + client + u1, "ACCESS_TOKEN.CREATED" + client + u1},
				"/pop":     {"PASSWORD.CHECK_SUCCEEDED" + client + u2, "ACCESS_TOKEN.CREATED" + client + u2},
			} {
				if b := briefs(got[path]); !slices.Equal(b, want) {
					t.Errorf("%s received\n %q\nwant\n %q", path, b, want)
				}
			}
			if len(got) != 2 {
				t.Errorf("deliveries to %d endpoints, want 2: %v", len(got), got)
			}
			// The activities carry what the filters matched on.
			for path, pop := range map[string]string{"/app-pop": fx.PopulationID, "/pop": pop2} {
				for _, d := range got[path] {
					if d.Result.Status != "SUCCESS" || d.Actors.User == nil || d.Actors.User.Population == nil ||
						d.Actors.User.Population.ID != pop || len(d.Resources) == 0 || d.Resources[0].Type != "USER" ||
						d.Resources[0].Population == nil || d.Resources[0].Population.ID != pop {
						t.Errorf("%s: %s: %+v", path, d.Action.Type, d)
					}
					if d.Action.Type == "ACCESS_TOKEN.CREATED" && d.GrantType != "authorization_code" {
						t.Errorf("%s: ACCESS_TOKEN.CREATED grantType %q", path, d.GrantType)
					}
				}
			}
		})
	}
}

// hookSignOn signs username on headlessly with application appID of fx's
// environment: authorize, the password, and, with a secret (the password
// is right), resume and the code's exchange for tokens.
func hookSignOn(t *testing.T, s *apptest.Server, fx *apptest.SignOn, appID, secret, username, password string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	base := s.URL + "/" + fx.EnvID
	req, _ := http.NewRequest("GET", base+"/as/authorize?"+url.Values{"response_type": {"code"}, "client_id": {appID},
		"redirect_uri": {fx.RedirectURI}, "scope": {"openid"}, "response_mode": {"pi.flow"}}.Encode(), nil)
	st, body := send(t, c, req)
	var fl struct{ ID, Status string }
	if st != http.StatusOK || json.Unmarshal(body, &fl) != nil || fl.Status != "USERNAME_PASSWORD_REQUIRED" {
		t.Fatalf("authorize: %d %s", st, body)
	}
	creds, _ := json.Marshal(map[string]string{"username": username, "password": password})
	req, _ = http.NewRequest("POST", base+"/flows/"+fl.ID, strings.NewReader(string(creds)))
	req.Header.Set("Content-Type", "application/vnd.pingidentity.usernamePassword.check+json")
	st, body = send(t, c, req)
	if secret == "" { // a wrong password: refused, the flow stays
		if st != http.StatusBadRequest {
			t.Fatalf("wrong password: %d %s", st, body)
		}
		return
	}
	if st != http.StatusOK || !strings.Contains(string(body), `"COMPLETED"`) {
		t.Fatalf("password check: %d %s", st, body)
	}
	req, _ = http.NewRequest("GET", base+"/as/resume?flowId="+fl.ID, nil)
	st, body = send(t, c, req)
	var res struct {
		AuthorizeResponse struct{ Code string } `json:"authorizeResponse"`
	}
	if st != http.StatusOK || json.Unmarshal(body, &res) != nil || res.AuthorizeResponse.Code == "" {
		t.Fatalf("resume: %d %s", st, body)
	}
	req, _ = http.NewRequest("POST", base+"/as/token", strings.NewReader(url.Values{"grant_type": {"authorization_code"},
		"code": {res.AuthorizeResponse.Code}, "redirect_uri": {fx.RedirectURI}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(appID, secret)
	if st, body = send(t, c, req); st != http.StatusOK {
		t.Fatalf("token: %d %s", st, body)
	}
}
