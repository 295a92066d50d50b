package config_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
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

// userTokens signs fx's user on through pi.flow and exchanges the code.
func userTokens(t *testing.T, s *apptest.Server, fx *apptest.SignOn) *oauth2.Token {
	t.Helper()
	r := authorizeFor(t, s, fx, fx.RedirectURI)
	flowID, _ := r.JSON(t)["id"].(string)
	// The flow is the browser's: the ST cookie goes with every step, the
	// one signing on sets the session's.
	cookie := func(r *apptest.Response) http.Header {
		return http.Header{"Cookie": {strings.Split(r.Header.Get("Set-Cookie"), ";")[0]}}
	}
	r = s.Do(t, apptest.Request{Method: "POST", URL: s.URL + "/" + fx.EnvID + "/flows/" + flowID, Headers: cookie(r),
		ContentType: "application/vnd.pingidentity.usernamePassword.check+json", Body: map[string]string{"username": fx.Username, "password": fx.Password}})
	var resumed struct {
		AuthorizeResponse struct{ Code string } `json:"authorizeResponse"`
	}
	s.Do(t, apptest.Request{Method: "GET", URL: s.URL + "/" + fx.EnvID + "/as/resume?flowId=" + flowID, Headers: cookie(r)}).Decode(t, &resumed)
	conf := oauth2.Config{ClientID: fx.AppID, ClientSecret: fx.AppSecret, RedirectURL: fx.RedirectURI,
		Endpoint: oauth2.Endpoint{TokenURL: s.URL + "/" + fx.EnvID + "/as/token"}}
	tok, err := conf.Exchange(context.Background(), resumed.AuthorizeResponse.Code)
	if err != nil {
		t.Fatalf("sign-on: %v", err)
	}
	return tok
}

// What authorize and userinfo answer, as answer puts it.
const (
	flowStarted  = "OK USERNAME_PASSWORD_REQUIRED"
	serverError  = "Internal Server Error server_error An unexpected error occurred."
	unexpected   = "Internal Server Error UNEXPECTED_ERROR"
	userInfoSent = "OK"
)

// answer is a response's status and what names its outcome: an OAuth
// error with its description, a PingOne error code, a flow status.
func answer(t *testing.T, r *apptest.Response) string {
	t.Helper()
	var body map[string]any
	json.Unmarshal(r.Body, &body)
	out := []string{http.StatusText(r.Status)}
	for _, k := range []string{"error", "error_description", "code", "status"} {
		if v, ok := body[k].(string); ok {
			out = append(out, v)
		}
	}
	return strings.Join(out, " ")
}

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
			// inResource damages a new resource, or its scope, granted
			// to the application or not.
			inResource := func(table string, grant bool) func(*testing.T, *apptest.SignOn) {
				return func(t *testing.T, fx *apptest.SignOn) {
					resID, scopeID := resource(t, fx, grant)
					damage(t, table, "id", map[string]string{"resources": resID, "scopes": scopeID}[table])
				}
			}
			cases := []struct {
				name      string
				damage    func(t *testing.T, fx *apptest.SignOn)
				authorize string // what a pi.flow authorize answers
				userInfo  string // what userinfo answers a token issued before
			}{
				{"a scope of a resource not granted to the application", inResource("scopes", false), flowStarted, userInfoSent},
				{"a resource not granted to the application", inResource("resources", false), flowStarted, userInfoSent},
				{"a scope of a resource granted to the application", inResource("scopes", true), serverError, userInfoSent},
				{"a resource granted to the application", inResource("resources", true), serverError, userInfoSent},
				{"an action of a sign-on policy the application does not use", func(t *testing.T, fx *apptest.SignOn) {
					polID := api(t, fx, "/signOnPolicies", map[string]any{"name": "Unused"})
					damage(t, "sign_on_policy_actions", "id", api(t, fx, "/signOnPolicies/"+polID+"/actions", map[string]any{"type": "LOGIN", "priority": 1}))
				}, flowStarted, userInfoSent},
				{"the openid resource", func(t *testing.T, fx *apptest.SignOn) {
					var id string
					if err := db.QueryRow(`SELECT id FROM resources WHERE type = 'OPENID_CONNECT' AND environment_id = `+ph, fx.EnvID).Scan(&id); err != nil {
						t.Fatal(err)
					}
					damage(t, "resources", "id", id)
				}, serverError, serverError},
				{"an action of the application's sign-on policy", func(t *testing.T, fx *apptest.SignOn) {
					// The environment's one policy: its default.
					damage(t, "sign_on_policy_actions", "environment_id", fx.EnvID)
				}, unexpected, userInfoSent},
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
					if tc.userInfo == userInfoSent && r.JSON(t)["given_name"] != fx.Given {
						t.Errorf("userinfo: %s, want given_name %s", r.Body, fx.Given)
					}
					// The ID token's claims come from the openid resource
					// too: a code exchanged now carries one.
					if tc.authorize == flowStarted {
						if id, _ := userTokens(t, s, fx).Extra("id_token").(string); id == "" {
							t.Errorf("no ID token after the damage")
						}
					}
				})
			}
		})
	}
}
