package app_test

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/audit/audittest"
	"github.com/gatehouse-id/gatehouse/internal/roles"
)

const newAdminPassword = "Blue-Harbor-Lantern-42!"

// withoutTimes drops updatedAt, which a PUT moves on.
func withoutTimes(m map[string]any) map[string]any {
	c := maps.Clone(m)
	delete(c, "updatedAt")
	return c
}

// consoleApp is the console application as the API shows it.
func consoleApp(t *testing.T, s *apptest.Server) map[string]any {
	t.Helper()
	r := s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + s.Admin.EnvironmentID + "/applications/" + s.Admin.ConsoleClientID,
		Token: s.AdminToken(t)})
	if r.Status != http.StatusOK {
		t.Fatalf("console application: %d %s", r.Status, r.Body)
	}
	return r.JSON(t)
}

// adminUser is the administrator user as the API shows it.
func adminUser(t *testing.T, s *apptest.Server, username string) map[string]any {
	t.Helper()
	r := s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + s.Admin.EnvironmentID + "/users?filter=" +
		strings.ReplaceAll(`username eq "`+username+`"`, " ", "%20"), Token: s.AdminToken(t)})
	if r.Status != http.StatusOK {
		t.Fatalf("users: %d %s", r.Status, r.Body)
	}
	users := r.JSON(t)["_embedded"].(map[string]any)["users"].([]any)
	if len(users) != 1 {
		t.Fatalf("users named %s: %d, want 1", username, len(users))
	}
	return users[0].(map[string]any)
}

// roleAssignments lists an actor's assignments as role@scopeType:scopeID
// (readOnly marked), read with token.
func roleAssignments(t *testing.T, s *apptest.Server, token, path string) ([]string, int) {
	t.Helper()
	r := s.Do(t, apptest.Request{Method: "GET", URL: path + "/roleAssignments", Token: token})
	if r.Status != http.StatusOK {
		return nil, r.Status
	}
	var out []string
	for _, v := range r.JSON(t)["_embedded"].(map[string]any)["roleAssignments"].([]any) {
		ra := v.(map[string]any)
		sc := ra["scope"].(map[string]any)
		out = append(out, ra["role"].(map[string]any)["id"].(string)+"@"+sc["type"].(string)+":"+sc["id"].(string))
	}
	slices.Sort(out)
	return out, r.Status
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestConsoleBootstrap: the first start makes the administrator user (a
// one-time password it must change, the bootstrap worker's roles) and the
// console application, names them in the bootstrap file, and a later start
// on another base URL moves the application's URIs and makes nothing new.
func TestConsoleBootstrap(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			dsn, dir := be.DSN(t), t.TempDir()
			key := make([]byte, 32)
			s := apptest.Start(t, apptest.Options{DSN: dsn, Dir: dir, MasterKey: key})
			a := s.Admin
			if a.ConsoleURL != s.URL+"/console/" || a.Username != "admin" || len(a.Password) < 16 || a.ConsoleClientID == "" {
				t.Fatalf("admin = %+v", a)
			}
			var file map[string]any
			b, err := os.ReadFile(filepath.Join(dir, "gatehouse-admin.json"))
			if err != nil || json.Unmarshal(b, &file) != nil {
				t.Fatalf("bootstrap file: %v %s", err, b)
			}
			for k, want := range map[string]string{"consoleUrl": s.URL + "/console/", "consoleClientId": a.ConsoleClientID,
				"username": "admin", "password": a.Password, "clientId": a.ClientID} {
				if file[k] != want {
					t.Errorf("bootstrap file %s = %v, want %s", k, file[k], want)
				}
			}

			app := consoleApp(t, s)
			for k, want := range map[string]any{"name": "Gatehouse Console", "type": "WORKER", "protocol": "OPENID_CONNECT",
				"enabled": true, "tokenEndpointAuthMethod": "NONE", "pkceEnforcement": "S256_REQUIRED"} {
				if app[k] != want {
					t.Errorf("console application %s = %v, want %v", k, app[k], want)
				}
			}
			for k, want := range map[string][]string{"grantTypes": {"AUTHORIZATION_CODE", "REFRESH_TOKEN"}, "responseTypes": {"CODE"},
				"redirectUris": {s.URL + "/console/"}, "postLogoutRedirectUris": {s.URL + "/console/"}} {
				if got := strs(app[k]); !slices.Equal(got, want) {
					t.Errorf("console application %s = %v, want %v", k, got, want)
				}
			}
			admin := s.AdminToken(t)
			envPath := "/environments/" + a.EnvironmentID
			// A PUT of what a GET returned changes nothing (a public
			// WORKER is allowed when it requires PKCE S256), and without
			// S256 required it is refused at tokenEndpointAuthMethod.
			appPath := envPath + "/applications/" + a.ConsoleClientID
			if r := s.Do(t, apptest.Request{Method: "PUT", URL: appPath, Token: admin, Body: app}); r.Status != http.StatusOK {
				t.Fatalf("PUT of the console application's GET: %d %s", r.Status, r.Body)
			}
			if again := consoleApp(t, s); !reflect.DeepEqual(withoutTimes(again), withoutTimes(app)) {
				t.Errorf("PUT of GET changed the console application:\n%v\n%v", again, app)
			}
			weak := maps.Clone(app)
			weak["pkceEnforcement"] = "OPTIONAL"
			r := s.Do(t, apptest.Request{Method: "PUT", URL: appPath, Token: admin, Body: weak})
			if d := r.JSON(t); r.Status != http.StatusBadRequest || d["code"] != "INVALID_DATA" ||
				fmt.Sprint(d["details"].([]any)[0].(map[string]any)["target"]) != "tokenEndpointAuthMethod" {
				t.Errorf("public WORKER without PKCE S256: %d %s", r.Status, r.Body)
			}
			if got, st := roleAssignments(t, s, admin, envPath+"/applications/"+a.ConsoleClientID); st != 200 || len(got) != 0 {
				t.Errorf("console application's roles: %d %v, want none", st, got)
			}
			worker, _ := roleAssignments(t, s, admin, envPath+"/applications/"+a.ClientID)
			org := s.OrganizationID(t)
			if want := []string{roles.EnvironmentAdmin.ID + "@ORGANIZATION:" + org}; !slices.Equal(worker, want) {
				t.Fatalf("worker's roles = %v, want %v", worker, want)
			}
			u := adminUser(t, s, "admin")
			uid := u["id"].(string)
			if u["enabled"] != true || u["population"] == nil {
				t.Errorf("administrator = %v", u)
			}
			if got, _ := roleAssignments(t, s, admin, envPath+"/users/"+uid); !slices.Equal(got, worker) {
				t.Errorf("administrator's roles = %v, want the worker's %v", got, worker)
			}
			pw := s.Do(t, apptest.Request{Method: "GET", URL: envPath + "/users/" + uid + "/password", Token: admin})
			if pw.Status != 200 || pw.JSON(t)["status"] != "MUST_CHANGE_PASSWORD" {
				t.Errorf("administrator's password: %d %s", pw.Status, pw.Body)
			}

			// Another start, on another base URL: the same application and
			// user, the URIs moved, no password to tell.
			s.Stop()
			s2 := apptest.Start(t, apptest.Options{DSN: dsn, Dir: dir, MasterKey: key, BaseURL: "http://gatehouse.example.test:8080"})
			if s2.Admin.ConsoleClientID != a.ConsoleClientID || s2.Admin.Username != "admin" || s2.Admin.Password != "" ||
				s2.Admin.ConsoleURL != "http://gatehouse.example.test:8080/console/" {
				t.Errorf("second start's admin = %+v", s2.Admin)
			}
			app = consoleApp(t, s2)
			for _, k := range []string{"redirectUris", "postLogoutRedirectUris"} {
				if got := strs(app[k]); !slices.Equal(got, []string{"http://gatehouse.example.test:8080/console/"}) {
					t.Errorf("after the move, %s = %v", k, got)
				}
			}
			if app["pkceEnforcement"] != "S256_REQUIRED" || app["type"] != "WORKER" {
				t.Errorf("after the move, the application = %v", app)
			}
			b, _ = os.ReadFile(filepath.Join(dir, "gatehouse-admin.json"))
			file = nil
			json.Unmarshal(b, &file)
			if file["consoleUrl"] != "http://gatehouse.example.test:8080/console/" || file["consoleClientId"] != a.ConsoleClientID {
				t.Errorf("bootstrap file after the move: %s", b)
			}
			adminUser(t, s2, "admin") // still exactly one
		})
	}
}

// TestConsoleOnOlderDatabase: a database bootstrapped before the console
// existed (its record, user and application absent) gets them on its next
// start, once, and the bootstrap file gains them with the one-time
// password; the start after that makes nothing more.
func TestConsoleOnOlderDatabase(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			dsn, dir := be.DSN(t), t.TempDir()
			key := make([]byte, 32)
			s := apptest.Start(t, apptest.Options{DSN: dsn, Dir: dir, MasterKey: key})
			admin := s.AdminToken(t)
			envPath := "/environments/" + s.Admin.EnvironmentID
			uid := adminUser(t, s, "admin")["id"].(string)
			for _, p := range []string{envPath + "/users/" + uid, envPath + "/applications/" + s.Admin.ConsoleClientID} {
				if r := s.Do(t, apptest.Request{Method: "DELETE", URL: p, Token: admin}); r.Status != http.StatusNoContent {
					t.Fatalf("DELETE %s: %d %s", p, r.Status, r.Body)
				}
			}
			s.Stop()
			db, ph := rawDB(t, dsn)
			if _, err := db.Exec("DELETE FROM meta WHERE key = "+ph, "bootstrap.console"); err != nil {
				t.Fatal(err)
			}
			// The bootstrap file of that version.
			path := filepath.Join(dir, "gatehouse-admin.json")
			old, _ := json.Marshal(map[string]string{"environmentId": s.Admin.EnvironmentID, "clientId": s.Admin.ClientID,
				"clientSecret": s.Admin.ClientSecret, "authPath": s.URL, "apiPath": s.APIPath})
			if err := os.WriteFile(path, old, 0o600); err != nil {
				t.Fatal(err)
			}

			s2 := apptest.Start(t, apptest.Options{DSN: dsn, Dir: dir, MasterKey: key})
			a := s2.Admin
			if a.ConsoleClientID == "" || a.ConsoleClientID == s.Admin.ConsoleClientID || a.Username != "admin" || a.Password == "" {
				t.Fatalf("upgraded admin = %+v", a)
			}
			var file map[string]any
			b, _ := os.ReadFile(path)
			json.Unmarshal(b, &file)
			for k, want := range map[string]string{"consoleUrl": s2.URL + "/console/", "consoleClientId": a.ConsoleClientID,
				"username": "admin", "password": a.Password, "clientSecret": s.Admin.ClientSecret} {
				if file[k] != want {
					t.Errorf("bootstrap file %s = %v, want %s", k, file[k], want)
				}
			}
			// The new console application signs on under the console's
			// policy, the one the first start made (its name is unique).
			r := s2.Do(t, apptest.Request{Method: "GET", URL: envPath + "/applications/" + a.ConsoleClientID + "/signOnPolicyAssignments", Token: s2.AdminToken(t)})
			if got := r.JSON(t)["_embedded"].(map[string]any)["signOnPolicyAssignments"].([]any); r.Status != 200 || len(got) != 1 {
				t.Errorf("upgraded console's sign-on policies: %d %s", r.Status, r.Body)
			}
			tok, statuses := s2.ConsoleSignOn(t, "admin", a.Password, newAdminPassword)
			if !slices.Equal(statuses, []string{"USERNAME_PASSWORD_REQUIRED", "MUST_CHANGE_PASSWORD", "COMPLETED"}) {
				t.Errorf("statuses = %v", statuses)
			}
			if r := s2.Do(t, apptest.Request{Method: "GET", URL: "/environments", Token: tok.AccessToken}); r.Status != 200 {
				t.Errorf("upgraded administrator reads environments: %d %s", r.Status, r.Body)
			}
			s2.Stop()
			s3 := apptest.Start(t, apptest.Options{DSN: dsn, Dir: dir, MasterKey: key})
			if s3.Admin.ConsoleClientID != a.ConsoleClientID || s3.Admin.Password != "" {
				t.Errorf("third start's admin = %+v", s3.Admin)
			}
			adminUser(t, s3, "admin")
		})
	}
}

// TestConsoleAdministrator: the bootstrap administrator signs on to the
// console (authorization code, PKCE S256, the forced password change) as
// an OpenID Connect client library would, and its token acts on /v1 with
// its roles: reads, writes (recorded as the user's), its own role
// assignments; refreshed tokens too. Disabling the user stops its token.
func TestConsoleAdministrator(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			cap := &audittest.Capture{}
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t), AuditRecorder: cap})
			a := s.Admin
			tok, statuses := s.ConsoleSignOn(t, a.Username, a.Password, newAdminPassword)
			if !slices.Equal(statuses, []string{"USERNAME_PASSWORD_REQUIRED", "MUST_CHANGE_PASSWORD", "COMPLETED"}) {
				t.Errorf("statuses = %v, want the forced password change", statuses)
			}
			ctx := context.WithValue(context.Background(), oauth2.HTTPClient, s.Client)
			provider, err := oidc.NewProvider(ctx, s.URL+"/"+a.EnvironmentID+"/as")
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := tok.Extra("id_token").(string)
			idt, err := provider.Verifier(&oidc.Config{ClientID: a.ConsoleClientID}).Verify(ctx, raw)
			if err != nil {
				t.Fatalf("ID token: %v", err)
			}
			uid := adminUser(t, s, a.Username)["id"].(string)
			if idt.Subject != uid {
				t.Errorf("ID token sub = %s, want the administrator %s", idt.Subject, uid)
			}
			if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
				t.Errorf("at_hash: %v", err)
			}
			// The one-time password is spent: the new one signs on, with no
			// change asked.
			if _, st := s.ConsoleSignOn(t, a.Username, newAdminPassword, ""); !slices.Equal(st, []string{"USERNAME_PASSWORD_REQUIRED", "COMPLETED"}) {
				t.Errorf("second sign-on statuses = %v", st)
			}

			at := tok.AccessToken
			envs := s.Do(t, apptest.Request{Method: "GET", URL: "/environments", Token: at})
			if envs.Status != http.StatusOK {
				t.Fatalf("GET /environments: %d %s", envs.Status, envs.Body)
			}
			if !strings.Contains(string(envs.Body), `"id":"`+a.EnvironmentID+`"`) {
				t.Errorf("environments lack Administrators: %s", envs.Body)
			}
			cap.Take()
			created := s.Do(t, apptest.Request{Method: "POST", URL: "/environments", Token: at, Body: map[string]any{
				"name": "Made in the console", "type": "SANDBOX", "region": "NA", "license": map[string]string{"id": s.LicenseID(t)}}})
			if created.Status != http.StatusCreated {
				t.Fatalf("POST /environments: %d %s", created.Status, created.Body)
			}
			newEnv := created.JSON(t)["id"].(string)
			acts := cap.Of(newEnv)
			if len(acts) != 1 || acts[0].ActionType != audit.EnvironmentCreated {
				t.Fatalf("activities of the new environment: %+v", acts)
			}
			act := acts[0]
			if act.User == nil || act.User.ID != uid || act.User.Name != a.Username || act.User.Type != audit.ActorUser {
				t.Errorf("actors.user = %+v, want the administrator", act.User)
			}
			if act.Client == nil || act.Client.ID != a.ConsoleClientID || act.Client.Name != "Gatehouse Console" {
				t.Errorf("actors.client = %+v, want the console", act.Client)
			}
			// Its own role assignments, as the console reads them.
			own, st := roleAssignments(t, s, at, "/environments/"+a.EnvironmentID+"/users/"+uid)
			if want := []string{roles.EnvironmentAdmin.ID + "@ORGANIZATION:" + s.OrganizationID(t)}; st != 200 || !slices.Equal(own, want) {
				t.Errorf("own role assignments: %d %v, want %v", st, own, want)
			}
			// A worker it creates inherits its roles, as one made by an
			// application inherits the application's.
			w := s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + newEnv + "/applications", Token: at, Body: map[string]any{
				"name": "made by a person", "type": "WORKER", "protocol": "OPENID_CONNECT", "enabled": true,
				"grantTypes": []string{"CLIENT_CREDENTIALS"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"}})
			if w.Status != http.StatusCreated {
				t.Fatalf("POST worker: %d %s", w.Status, w.Body)
			}
			if got, _ := roleAssignments(t, s, at, "/environments/"+newEnv+"/applications/"+w.JSON(t)["id"].(string)); !slices.Equal(got, own) {
				t.Errorf("new worker's roles = %v, want the administrator's %v", got, own)
			}

			// A refreshed token acts alike.
			old := *tok
			old.Expiry = time.Now().Add(-time.Minute)
			fresh, err := s.ConsoleOAuth().TokenSource(ctx, &old).Token()
			if err != nil || fresh.AccessToken == at {
				t.Fatalf("refresh: %v", err)
			}
			if r := s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + newEnv, Token: fresh.AccessToken}); r.Status != 200 {
				t.Errorf("refreshed token: %d %s", r.Status, r.Body)
			}

			// Disabled, the user's token stops at once; enabled again, it
			// works again.
			setEnabled := func(on bool) {
				t.Helper()
				r := s.Do(t, apptest.Request{Method: "PUT", URL: "/environments/" + a.EnvironmentID + "/users/" + uid + "/enabled",
					Token: s.AdminToken(t), Body: map[string]any{"enabled": on}})
				if r.Status != 200 {
					t.Fatalf("enabled %v: %d %s", on, r.Status, r.Body)
				}
			}
			setEnabled(false)
			for _, m := range []string{"GET", "POST"} {
				r := s.Do(t, apptest.Request{Method: m, URL: "/environments/" + newEnv + "/populations", Token: fresh.AccessToken,
					Body: map[string]any{"name": "p"}})
				if r.Status != http.StatusUnauthorized || r.JSON(t)["code"] != "ACCESS_FAILED" {
					t.Errorf("%s by a disabled user: %d %s", m, r.Status, r.Body)
				}
			}
			setEnabled(true)
			if r := s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + newEnv + "/populations", Token: fresh.AccessToken}); r.Status != 200 {
				t.Errorf("enabled again: %d %s", r.Status, r.Body)
			}
		})
	}
}

// rawDB opens the server's database beside it, to make it look like an
// older version's.
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

// TestConsoleTokenEnds: the administrator's token stops acting on /v1 when
// it is revoked, and when its session ends (deleted through the API, as a
// sign-off ends it) — as userinfo judges user tokens.
func TestConsoleTokenEnds(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			a := s.Admin
			envPath := "/environments/" + a.EnvironmentID
			read := func(tok string) int {
				return s.Do(t, apptest.Request{Method: "GET", URL: envPath + "/populations", Token: tok}).Status
			}
			tok, _ := s.ConsoleSignOn(t, a.Username, a.Password, newAdminPassword)
			if got := read(tok.AccessToken); got != 200 {
				t.Fatalf("before revocation: %d", got)
			}
			// Device authentications act for applications only: the
			// administrator's token is no application's.
			da := s.Do(t, apptest.Request{Method: "POST", URL: s.URL + "/" + a.EnvironmentID + "/deviceAuthentications", Token: tok.AccessToken,
				Body: map[string]any{"user": map[string]string{"id": uuid.NewString()}}})
			if da.Status != http.StatusUnauthorized {
				t.Errorf("a device authentication with the administrator's token: %d %s, want 401", da.Status, da.Body)
			}
			rv := s.Do(t, apptest.Request{Method: "POST", URL: s.URL + "/" + a.EnvironmentID + "/as/revoke", ContentType: "application/x-www-form-urlencoded",
				Body: "client_id=" + a.ConsoleClientID + "&token=" + tok.AccessToken})
			if rv.Status != 200 {
				t.Fatalf("revoke: %d %s", rv.Status, rv.Body)
			}
			if got := read(tok.AccessToken); got != 401 {
				t.Errorf("revoked: %d, want 401", got)
			}

			tok, _ = s.ConsoleSignOn(t, a.Username, newAdminPassword, "")
			if got := read(tok.AccessToken); got != 200 {
				t.Fatalf("signed on again: %d", got)
			}
			var claims struct {
				Sub string `json:"sub"`
				Sid string `json:"sid"`
			}
			parts := strings.Split(tok.AccessToken, ".")
			payload, err := base64.RawURLEncoding.DecodeString(parts[1])
			if err != nil || json.Unmarshal(payload, &claims) != nil || claims.Sid == "" {
				t.Fatalf("access token claims: %v %s", err, payload)
			}
			del := s.Do(t, apptest.Request{Method: "DELETE", URL: envPath + "/users/" + claims.Sub + "/sessions/" + claims.Sid, Token: s.AdminToken(t)})
			if del.Status != http.StatusNoContent {
				t.Fatalf("delete the session: %d %s", del.Status, del.Body)
			}
			if got := read(tok.AccessToken); got != 401 {
				t.Errorf("its session ended: %d, want 401", got)
			}
		})
	}
}
