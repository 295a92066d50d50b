package authsvc_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

func jsonDecode(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// testMappings: the openid resource's attribute mappings, as an
// administrator edits them, drive the profile claims: custom claims, a
// mapping switched off for userinfo, a standard claim mapped to nothing,
// literals and text around placeholders. It runs in the second
// environment, whose mappings no other test reads.
func (fx *grantFixture) testMappings(t *testing.T) {
	admin := fx.s.AdminToken(t)
	env := fx.other
	api := func(method, path string, body any) map[string]any {
		t.Helper()
		r := do(t, fx.s, apptest.Request{Method: method, URL: "/environments/" + env + path, Token: admin, Body: body})
		if r.Status != http.StatusOK && r.Status != http.StatusCreated {
			t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Body)
		}
		return r.JSON(t)
	}
	var openid string
	for _, res := range api("GET", "/resources", nil)["_embedded"].(map[string]any)["resources"].([]any) {
		if m := res.(map[string]any); m["name"] == "openid" {
			openid = m["id"].(string)
		}
	}
	if openid == "" {
		t.Fatal("no openid resource")
	}
	attrs := api("GET", "/resources/"+openid+"/attributes", nil)["_embedded"].(map[string]any)["attributes"].([]any)
	attrID := func(name string) string {
		for _, a := range attrs {
			if m := a.(map[string]any); m["name"] == name {
				return m["id"].(string)
			}
		}
		t.Fatalf("no attribute %s", name)
		return ""
	}
	base := "/resources/" + openid + "/attributes"
	api("PUT", base+"/"+attrID("nickname"), map[string]any{"name": "nickname", "value": "${user.nickname}", "idToken": true, "userInfo": false})
	api("PUT", base+"/"+attrID("given_name"), map[string]any{"name": "given_name", "value": ""})
	api("POST", base, map[string]any{"name": "job_title", "value": "${user.title}"})
	api("POST", base, map[string]any{"name": "greeting", "value": "Hello ${user.name.given} ${user.name.family}!"})
	api("POST", base, map[string]any{"name": "tenant", "value": "gatehouse"})
	api("POST", base, map[string]any{"name": "no_value", "value": "${user.nickname}", "idToken": false, "userInfo": true})

	u := fx.createUser(t, env, map[string]any{"username": "grace", "title": "Rear Admiral", "nickname": "Amazing Grace",
		"name": map[string]any{"given": "Grace", "family": "Hopper"}})["id"].(string)
	g := fxGrant("")
	g.Scope = "openid profile"
	code := fx.code(t, codeSpec{env: env, app: fx.otherWeb.id, user: u, grant: g})
	tok := fx.exchange(t, env, fx.otherWeb, code, "")

	id := payload(t, tok.ID)
	for k, want := range map[string]any{"nickname": "Amazing Grace", "job_title": "Rear Admiral", "greeting": "Hello Grace Hopper!",
		"tenant": "gatehouse", "family_name": "Hopper", "preferred_username": "grace"} {
		if id[k] != want {
			t.Errorf("ID token %s = %v, want %v", k, id[k], want)
		}
	}
	for _, k := range []string{"given_name", "no_value"} {
		if _, ok := id[k]; ok {
			t.Errorf("ID token has %s: %v", k, id[k])
		}
	}

	r := do(t, fx.s, apptest.Request{Method: "GET", URL: fx.issuer(env) + "/userinfo", Headers: http.Header{"Authorization": {"Bearer " + tok.Access}}})
	if r.Status != 200 {
		t.Fatalf("userinfo: %d %s", r.Status, r.Body)
	}
	ui := r.JSON(t)
	want := []string{"family_name", "greeting", "job_title", "no_value", "preferred_username", "sub", "tenant", "updated_at"}
	if got := keysOf(ui); !slices.Equal(got, want) {
		t.Errorf("userinfo claims = %v, want %v", got, want)
	}
	if ui["no_value"] != "Amazing Grace" || ui["sub"] != u {
		t.Errorf("userinfo = %v", ui)
	}
}
