package config_test

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// One damaged settings row (no write of Gatehouse's makes one: it takes a
// hand in the database) fails what uses that record, with the answer
// Gatehouse gives its own failures, and nothing else of its environment.

// rawDB opens the server's database beside it, to damage a row.
func rawDB(t *testing.T, dsn string) (db *sql.DB, placeholder string) {
	t.Helper()
	driver, source, placeholder := "pgx", dsn, "$1"
	if path, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		driver, source, placeholder = "sqlite", path, "?"
	}
	db, err := sql.Open(driver, source)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, placeholder
}

// userTokens signs fx's user on in a browser and exchanges the code.
func userTokens(t *testing.T, s *apptest.Server, fx *apptest.SignOn) *oauth2.Token {
	t.Helper()
	base := s.URL + "/" + fx.EnvID
	conf := oauth2.Config{ClientID: fx.AppID, ClientSecret: fx.AppSecret, RedirectURL: fx.RedirectURI, Scopes: []string{"openid", "profile"},
		Endpoint: oauth2.Endpoint{AuthURL: base + "/as/authorize", TokenURL: base + "/as/token"}}
	b := apptest.Browser(t)
	hop := func(method, u, contentType, body string) *url.URL {
		t.Helper()
		req, err := http.NewRequest(method, u, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := b.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		return loc
	}
	flowID := hop("GET", conf.AuthCodeURL("s"), "", "").Query().Get("flowId")
	hop("POST", base+"/flows/"+flowID, "application/vnd.pingidentity.usernamePassword.check+json",
		`{"username":"`+fx.Username+`","password":"`+fx.Password+`"}`)
	code := hop("GET", base+"/as/resume?flowId="+flowID, "", "").Query().Get("code")
	tok, err := conf.Exchange(context.Background(), code)
	if err != nil {
		t.Fatalf("sign-on: %v", err)
	}
	return tok
}

// givenName is the given_name claim of the token's ID token.
func givenName(t *testing.T, tok *oauth2.Token) string {
	t.Helper()
	id, _ := tok.Extra("id_token").(string)
	parts := strings.Split(id, ".")
	if len(parts) != 3 {
		t.Fatalf("no ID token: %q", id)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		GivenName string `json:"given_name"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims.GivenName
}

// answer is a response's status and what identifies its body: an OAuth
// error, a PingOne error code or a flow status.
func answer(t *testing.T, r *apptest.Response) string {
	t.Helper()
	var body struct {
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
		Code             string `json:"code"`
		Status           string `json:"status"`
	}
	json.Unmarshal(r.Body, &body)
	switch {
	case body.Error != "":
		return http.StatusText(r.Status) + " " + body.Error + ": " + body.ErrorDescription
	case body.Code != "":
		return http.StatusText(r.Status) + " " + body.Code
	}
	return http.StatusText(r.Status) + " " + body.Status
}

const (
	flowStarted     = "OK USERNAME_PASSWORD_REQUIRED"
	authorizeFailed = "Internal Server Error server_error: An unexpected error occurred."
	flowFailed      = "Internal Server Error UNEXPECTED_ERROR"
	userInfoOK      = "OK "
	userInfoFailed  = "Internal Server Error server_error: An unexpected error occurred."
)

func TestDamagedRecords(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			dsn := be.DSN(t)
			s := apptest.Start(t, apptest.Options{DSN: dsn})
			db, ph := rawDB(t, dsn)
			admin := s.AdminToken(t)
			api := func(t *testing.T, fx *apptest.SignOn, path string, body map[string]any) string {
				t.Helper()
				r := s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + fx.EnvID + path, Token: admin, Body: body})
				if r.Status != http.StatusCreated {
					t.Fatalf("POST %s: %d %s", path, r.Status, r.Body)
				}
				return r.JSON(t)["id"].(string)
			}
			// resource makes a resource with one scope; with grant, the
			// application is granted that scope.
			resource := func(t *testing.T, fx *apptest.SignOn, grant bool) (resID, scopeID string) {
				resID = api(t, fx, "/resources", map[string]any{"name": "Orders", "audience": "https://orders.example"})
				scopeID = api(t, fx, "/resources/"+resID+"/scopes", map[string]any{"name": "orders:read"})
				if grant {
					api(t, fx, "/applications/"+fx.AppID+"/grants", map[string]any{"resource": map[string]string{"id": resID},
						"scopes": []map[string]string{{"id": scopeID}}})
				}
				return resID, scopeID
			}
			// damage makes a row's settings a JSON array: valid JSON (a
			// jsonb column takes it), no settings shape.
			damage := func(t *testing.T, table, where string, arg string) {
				t.Helper()
				res, err := db.Exec(`UPDATE `+table+` SET data = '[]' WHERE `+where+` = `+ph, arg)
				if err != nil {
					t.Fatal(err)
				}
				if n, _ := res.RowsAffected(); n == 0 {
					t.Fatalf("no %s row to damage", table)
				}
			}
			cases := []struct {
				name      string
				damage    func(t *testing.T, fx *apptest.SignOn)
				authorize string // what a pi.flow authorize answers
				userInfo  string // what userinfo answers a token issued before
			}{
				{"a scope of a resource not granted to the application", func(t *testing.T, fx *apptest.SignOn) {
					_, scopeID := resource(t, fx, false)
					damage(t, "scopes", "id", scopeID)
				}, flowStarted, userInfoOK},
				{"a resource not granted to the application", func(t *testing.T, fx *apptest.SignOn) {
					resID, _ := resource(t, fx, false)
					damage(t, "resources", "id", resID)
				}, flowStarted, userInfoOK},
				{"an action of a sign-on policy the application does not use", func(t *testing.T, fx *apptest.SignOn) {
					polID := api(t, fx, "/signOnPolicies", map[string]any{"name": "Unused"})
					damage(t, "sign_on_policy_actions", "id", api(t, fx, "/signOnPolicies/"+polID+"/actions", map[string]any{"type": "LOGIN", "priority": 1}))
				}, flowStarted, userInfoOK},
				{"a scope of a resource granted to the application", func(t *testing.T, fx *apptest.SignOn) {
					_, scopeID := resource(t, fx, true)
					damage(t, "scopes", "id", scopeID)
				}, authorizeFailed, userInfoOK},
				{"a resource granted to the application", func(t *testing.T, fx *apptest.SignOn) {
					resID, _ := resource(t, fx, true)
					damage(t, "resources", "id", resID)
				}, authorizeFailed, userInfoOK},
				{"the openid resource", func(t *testing.T, fx *apptest.SignOn) {
					var id string
					if err := db.QueryRow(`SELECT id FROM resources WHERE type = 'OPENID_CONNECT' AND environment_id = `+ph, fx.EnvID).Scan(&id); err != nil {
						t.Fatal(err)
					}
					damage(t, "resources", "id", id)
				}, authorizeFailed, userInfoFailed},
				{"an action of the application's sign-on policy", func(t *testing.T, fx *apptest.SignOn) {
					// The environment's one policy: its default.
					damage(t, "sign_on_policy_actions", "environment_id", fx.EnvID)
				}, flowFailed, userInfoOK},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					fx := s.NewSignOn(t, apptest.SignOnOptions{})
					before := userTokens(t, s, fx)
					tc.damage(t, fx)
					putApp(t, s, fx, nil) // a write this node hears: its cache reloads
					if got := answer(t, authorizeFor(t, s, fx, fx.RedirectURI)); got != tc.authorize {
						t.Errorf("authorize: %s, want %s", got, tc.authorize)
					}
					r := s.Do(t, apptest.Request{Method: "GET", URL: s.URL + "/" + fx.EnvID + "/as/userinfo", Token: before.AccessToken})
					if got := answer(t, r); got != tc.userInfo {
						t.Errorf("userinfo: %s, want %s", got, tc.userInfo)
					}
					if tc.userInfo == userInfoOK && r.JSON(t)["given_name"] != fx.Given {
						t.Errorf("userinfo: %s, want given_name %s", r.Body, fx.Given)
					}
					if tc.authorize == flowStarted {
						if got := givenName(t, userTokens(t, s, fx)); got != fx.Given {
							t.Errorf("ID token given_name %q, want %q", got, fx.Given)
						}
					}
				})
			}
		})
	}
}
