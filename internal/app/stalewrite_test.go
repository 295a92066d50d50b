package app_test

import (
	"crypto/rand"
	"net/http"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// A role taken from an actor on one node must not let the actor write on
// another node while that node's configuration cache still holds the old
// assignments: a write made with a stale role can make it permanent (a new
// worker inherits the actor's roles). Reads may lag up to a second; writes
// are authorized from the store, as they were before the cache served the
// actor. Two nodes on one SQLite file hear of each other's writes only by
// polling the version, which makes the window wide enough to test.
func TestRemovedRoleDoesNotAuthorizeWritesOnAnotherNode(t *testing.T) {
	dsn := sqltest.SQLite(t)
	key := make([]byte, 32)
	rand.Read(key)
	const base = "http://gatehouse.test"
	a := apptest.Start(t, apptest.Options{DSN: dsn, MasterKey: key, BaseURL: base})
	b := apptest.Start(t, apptest.Options{DSN: dsn, MasterKey: key, BaseURL: base})
	admin := a.AdminToken(t)
	envID := a.Do(t, apptest.Request{Method: "POST", URL: "/environments", Token: admin, Body: map[string]any{
		"name": "Stale roles", "type": "SANDBOX", "region": "NA", "license": map[string]any{"id": a.LicenseID(t)}}}).JSON(t)["id"].(string)
	env := "/environments/" + envID
	w := a.CreateWorker(t, envID, "CLIENT_SECRET_BASIC", [3]string{roles.EnvironmentAdmin.ID, "ENVIRONMENT", envID})
	tok := a.Token(t, w)
	appPath := env + "/applications/" + w.ClientID

	// b reads the actor's roles into its cache.
	if r := b.Do(t, apptest.Request{Method: "GET", URL: env + "/applications", Token: tok}); r.Status != http.StatusOK {
		t.Fatalf("GET applications on b: %d %s", r.Status, r.Body)
	}
	// a takes the role away.
	l := a.Do(t, apptest.Request{Method: "GET", URL: appPath + "/roleAssignments", Token: admin}).JSON(t)
	ras := l["_embedded"].(map[string]any)["roleAssignments"].([]any)
	if len(ras) != 1 {
		t.Fatalf("%d role assignments", len(ras))
	}
	raID := ras[0].(map[string]any)["id"].(string)
	if r := a.Do(t, apptest.Request{Method: "DELETE", URL: appPath + "/roleAssignments/" + raID, Token: admin}); r.Status != http.StatusNoContent {
		t.Fatalf("DELETE role assignment: %d %s", r.Status, r.Body)
	}
	// At once, on b, the actor makes a worker that would inherit its roles.
	r := b.Do(t, apptest.Request{Method: "POST", URL: env + "/applications", Token: tok, Body: map[string]any{
		"enabled": true, "name": "heir", "type": "WORKER", "protocol": "OPENID_CONNECT",
		"grantTypes": []string{"CLIENT_CREDENTIALS"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"}})
	if r.Status != http.StatusForbidden {
		t.Fatalf("POST application on b by an actor whose role was removed on a: %d, want 403: %s", r.Status, r.Body)
	}
}
