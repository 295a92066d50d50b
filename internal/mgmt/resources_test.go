package mgmt_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/roles"
)

// ---- helpers of the configuration tests

// cfgAPI calls one environment's configuration endpoints with one token.
type cfgAPI struct {
	s   *apptest.Server
	tok string
	env string
}

func newCfgAPI(t *testing.T, s *apptest.Server, name string) cfgAPI {
	return cfgAPI{s: s, tok: s.AdminToken(t), env: newEnv(t, s, name, "SANDBOX")}
}

// url is path under the environment ("/resources"), or path itself when it
// is already absolute.
func (c cfgAPI) url(path string) string {
	if strings.HasPrefix(path, "http") {
		return path
	}
	return "/environments/" + c.env + path
}

func (c cfgAPI) do(t *testing.T, method, path string, body any) *apptest.Response {
	t.Helper()
	return doNo5xx(t, c.s, apptest.Request{Method: method, URL: c.url(path), Token: c.tok, Body: body})
}

// ok sends a request that must succeed with status and returns its body.
func (c cfgAPI) ok(t *testing.T, method, path string, body any, status int) map[string]any {
	t.Helper()
	return must(t, c.do(t, method, path, body), status)
}

// fail sends a request that must fail as w says.
func (c cfgAPI) fail(t *testing.T, method, path string, body any, w wantErr) map[string]any {
	t.Helper()
	return checkAnswer(t, c.do(t, method, path, body), w)
}

// list reads a collection and checks its envelope.
func (c cfgAPI) list(t *testing.T, path, collection string) []map[string]any {
	t.Helper()
	m := c.ok(t, "GET", path, nil, http.StatusOK)
	arr, ok := get(m, "_embedded."+collection).([]any)
	if !ok {
		t.Fatalf("_embedded.%s missing: %v", collection, m)
	}
	if int(m["count"].(float64)) != len(arr) || int(m["size"].(float64)) != len(arr) {
		t.Errorf("count %v size %v for %d items", m["count"], m["size"], len(arr))
	}
	if get(m, "_links.self.href") != c.s.APIPath+c.url(path) {
		t.Errorf("_links.self.href = %v", get(m, "_links.self.href"))
	}
	out := make([]map[string]any, len(arr))
	for i, it := range arr {
		out[i] = it.(map[string]any)
	}
	return out
}

// named finds the item called name in a collection.
func (c cfgAPI) named(t *testing.T, path, collection, name string) map[string]any {
	t.Helper()
	for _, it := range c.list(t, path, collection) {
		if it["name"] == name {
			return it
		}
	}
	t.Fatalf("%s has no %q", path, name)
	return nil
}

func cfgNames(items []map[string]any) []string {
	var out []string
	for _, it := range items {
		out = append(out, it["name"].(string))
	}
	sort.Strings(out)
	return out
}

// cfgSameJSON reports whether two decoded values are the same JSON.
func cfgSameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// cfgEcho is what PingOne's SDK sends on PUT: the object as read, read-only
// fields included, with changes.
func cfgEcho(m map[string]any, changes map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for k, v := range changes {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

func cfgBadValue(target string) wantErr {
	return wantErr{http.StatusBadRequest, "INVALID_DATA", "INVALID_VALUE", target}
}

func cfgRequired(target string) wantErr {
	return wantErr{http.StatusBadRequest, "INVALID_DATA", "REQUIRED_VALUE", target}
}

func cfgNotUnique(target string) wantErr {
	return wantErr{http.StatusBadRequest, "INVALID_DATA", "UNIQUENESS_VIOLATION", target}
}

var (
	cfgRequestFailed = wantErr{http.StatusBadRequest, "REQUEST_FAILED", "", ""}
	cfgNotFound      = wantErr{http.StatusNotFound, "NOT_FOUND", "", ""}
)

// cfgWantRange checks the innerError range of an error's first detail.
func cfgWantRange(t *testing.T, m map[string]any, min, max float64) {
	t.Helper()
	ie := innerOf(t, detailAt(t, m, 0))
	if ie["rangeMinimumValue"] != min || ie["rangeMaximumValue"] != max {
		t.Errorf("innerError = %v, want range %v..%v", ie, min, max)
	}
}

func cfgWantAllowed(t *testing.T, m map[string]any, allowed ...string) {
	t.Helper()
	got := strList(innerOf(t, detailAt(t, m, 0))["allowedValues"])
	sort.Strings(got)
	sort.Strings(allowed)
	if !slices.Equal(got, allowed) {
		t.Errorf("allowedValues = %v, want %v", got, allowed)
	}
}

// ---- resources

func TestResourceLifecycleAsSDK(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			c := newCfgAPI(t, s, "Resources")
			testResourceLifecycle(t, c)
		})
	}
}

func testResourceLifecycle(t *testing.T, c cfgAPI) {
	base := c.s.APIPath + "/environments/" + c.env + "/resources"

	// Create, as PingOne's docs show it.
	created := c.ok(t, "POST", "/resources", map[string]any{
		"name": "Orders API", "description": "This is my custom resource", "audience": "https://api.orders.example.com",
		"accessTokenValiditySeconds": 7200, "applicationPermissionsSettings": map[string]any{"claimEnabled": true},
	}, http.StatusCreated)
	id := checkID(t, created, "id")
	checkTime(t, created, "createdAt")
	checkTime(t, created, "updatedAt")
	wantFields(t, created, map[string]any{
		"name": "Orders API", "description": "This is my custom resource", "type": "CUSTOM", "audience": "https://api.orders.example.com",
		"accessTokenValiditySeconds": 7200, "introspectEndpointAuthMethod": "CLIENT_SECRET_BASIC",
		"applicationPermissionsSettings.claimEnabled": true, "environment.id": c.env,
		"_links.self.href": base + "/" + id, "_links.scopes.href": base + "/" + id + "/scopes",
		"_links.attributes.href": base + "/" + id + "/attributes",
	})
	// The smallest body takes PingOne's defaults: the audience is the name.
	minimal := c.ok(t, "POST", "/resources", map[string]any{"name": "Billing", "type": "CUSTOM"}, http.StatusCreated)
	wantFields(t, minimal, map[string]any{"type": "CUSTOM", "audience": "Billing", "accessTokenValiditySeconds": 3600,
		"introspectEndpointAuthMethod": "CLIENT_SECRET_BASIC", "applicationPermissionsSettings.claimEnabled": false, "description": nil})

	// Every listed resource carries its type (the SDK's oneOf needs it).
	items := c.list(t, "/resources", "resources")
	if got := cfgNames(items); !slices.Equal(got, []string{"Billing", "Orders API", "PingOne API", "openid"}) {
		t.Fatalf("resources = %v", got)
	}
	for _, it := range items {
		if typ, _ := it["type"].(string); typ == "" {
			t.Errorf("resource %v has no type", it["name"])
		}
	}
	got := c.ok(t, "GET", "/resources/"+id, nil, http.StatusOK)
	if !cfgSameJSON(got, created) {
		t.Errorf("GET differs from POST:\n%v\n%v", got, created)
	}

	// PUT the object back with its read-only fields; absent optional
	// fields reset to their defaults.
	put := c.ok(t, "PUT", "/resources/"+id, cfgEcho(got, map[string]any{"name": "Orders", "description": nil, "accessTokenValiditySeconds": 600,
		"applicationPermissionsSettings": nil, "introspectEndpointAuthMethod": "NONE"}), http.StatusOK)
	wantFields(t, put, map[string]any{"id": id, "name": "Orders", "description": nil, "type": "CUSTOM", "accessTokenValiditySeconds": 600,
		"introspectEndpointAuthMethod": "NONE", "applicationPermissionsSettings.claimEnabled": false, "audience": "https://api.orders.example.com",
		"createdAt": created["createdAt"]})
	c.fail(t, "PUT", "/resources/"+id, cfgEcho(put, map[string]any{"type": "OPENID_CONNECT"}), cfgBadValue("type"))
	c.fail(t, "PUT", "/resources/"+id, cfgEcho(put, map[string]any{"name": "billing"}), cfgNotUnique("name"))

	// A custom resource comes with its CORE sub mapping.
	attrs := c.list(t, "/resources/"+id+"/attributes", "attributes")
	if len(attrs) != 1 {
		t.Fatalf("attributes of a new resource: %v", attrs)
	}
	sub := attrs[0]
	subID := checkID(t, sub, "id")
	wantFields(t, sub, map[string]any{"name": "sub", "value": "${user.id}", "type": "CORE", "resource.id": id, "environment.id": c.env,
		"idToken": nil, "userInfo": nil, "_links.self.href": base + "/" + id + "/attributes/" + subID})

	// Scopes of a custom resource: full CRUD, names unique per resource.
	scope := c.ok(t, "POST", "/resources/"+id+"/scopes", map[string]any{"name": "orders:read", "description": "Read orders"}, http.StatusCreated)
	scopeID := checkID(t, scope, "id")
	checkTime(t, scope, "createdAt")
	wantFields(t, scope, map[string]any{"name": "orders:read", "description": "Read orders", "resource.id": id, "environment.id": c.env,
		"schemaAttributes": nil, "mappedClaims": nil, "_links.self.href": base + "/" + id + "/scopes/" + scopeID})
	c.ok(t, "POST", "/resources/"+id+"/scopes", map[string]any{"name": "orders:write"}, http.StatusCreated)
	c.ok(t, "POST", "/resources/"+minimal["id"].(string)+"/scopes", map[string]any{"name": "orders:read"}, http.StatusCreated)
	c.fail(t, "POST", "/resources/"+id+"/scopes", map[string]any{"name": "ORDERS:READ"}, cfgNotUnique("name"))
	c.fail(t, "POST", "/resources/"+id+"/scopes", map[string]any{"name": "orders read"}, cfgBadValue("name"))
	c.fail(t, "POST", "/resources/"+id+"/scopes", map[string]any{"name": "x", "schemaAttributes": []string{"email"}}, cfgBadValue("schemaAttributes"))
	if got := cfgNames(c.list(t, "/resources/"+id+"/scopes", "scopes")); !slices.Equal(got, []string{"orders:read", "orders:write"}) {
		t.Errorf("scopes = %v", got)
	}
	sput := c.ok(t, "PUT", "/resources/"+id+"/scopes/"+scopeID, cfgEcho(scope, map[string]any{"name": "orders:list", "description": nil}), http.StatusOK)
	wantFields(t, sput, map[string]any{"id": scopeID, "name": "orders:list", "description": nil, "createdAt": scope["createdAt"]})
	c.ok(t, "DELETE", "/resources/"+id+"/scopes/"+scopeID, nil, http.StatusNoContent)
	c.fail(t, "GET", "/resources/"+id+"/scopes/"+scopeID, nil, cfgNotFound)
	c.fail(t, "DELETE", "/resources/"+id+"/scopes/"+scopeID, nil, cfgNotFound)

	// Attribute mappings: custom ones are CRUD; CORE sub keeps its name and stays.
	email := c.ok(t, "POST", "/resources/"+id+"/attributes", map[string]any{"name": "email", "value": "${user.email}", "type": "CORE"}, http.StatusCreated)
	emailID := checkID(t, email, "id")
	wantFields(t, email, map[string]any{"name": "email", "value": "${user.email}", "type": "CUSTOM", "resource.id": id, "idToken": nil})
	c.fail(t, "POST", "/resources/"+id+"/attributes", map[string]any{"name": "EMAIL", "value": "${user.username}"}, cfgNotUnique("name"))
	c.fail(t, "POST", "/resources/"+id+"/attributes", map[string]any{"name": "sub", "value": "${user.username}"}, cfgBadValue("name"))
	eput := c.ok(t, "PUT", "/resources/"+id+"/attributes/"+emailID, cfgEcho(email, map[string]any{"name": "mail", "value": "${user.name.given + ' ' + user.name.family}"}), http.StatusOK)
	wantFields(t, eput, map[string]any{"name": "mail", "value": "${user.name.given + ' ' + user.name.family}", "type": "CUSTOM"})
	// PingOne lets the CORE sub be remapped; Gatehouse names a token's user
	// by id throughout, so it refuses what it would not serve.
	c.fail(t, "PUT", "/resources/"+id+"/attributes/"+subID, cfgEcho(sub, map[string]any{"value": "${user.username}"}), cfgBadValue("value"))
	sput2 := c.ok(t, "PUT", "/resources/"+id+"/attributes/"+subID, cfgEcho(sub, nil), http.StatusOK)
	wantFields(t, sput2, map[string]any{"name": "sub", "value": "${user.id}", "type": "CORE"})
	c.fail(t, "PUT", "/resources/"+id+"/attributes/"+subID, cfgEcho(sub, map[string]any{"name": "subject"}), cfgBadValue("name"))
	c.fail(t, "DELETE", "/resources/"+id+"/attributes/"+subID, nil, cfgRequestFailed)
	c.ok(t, "DELETE", "/resources/"+id+"/attributes/"+emailID, nil, http.StatusNoContent)
	c.fail(t, "GET", "/resources/"+id+"/attributes/"+emailID, nil, cfgNotFound)
	if got := cfgNames(c.list(t, "/resources/"+id+"/attributes", "attributes")); !slices.Equal(got, []string{"sub"}) {
		t.Errorf("attributes after delete = %v", got)
	}

	// Delete: 204, then 404 for it and everything under it.
	c.ok(t, "DELETE", "/resources/"+id, nil, http.StatusNoContent)
	c.fail(t, "GET", "/resources/"+id, nil, cfgNotFound)
	c.fail(t, "GET", "/resources/"+id+"/scopes", nil, cfgNotFound)
	c.fail(t, "GET", "/resources/"+id+"/attributes/"+subID, nil, cfgNotFound)
	c.fail(t, "DELETE", "/resources/"+id, nil, cfgNotFound)
}

// TestSystemResources: the openid and PingOne API resources are read-only;
// their predefined scopes and attributes follow PingOne's rules.
func TestSystemResources(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			testSystemResources(t, newCfgAPI(t, s, "System"))
		})
	}
}

func testSystemResources(t *testing.T, c cfgAPI) {
	openid := c.named(t, "/resources", "resources", "openid")
	p1 := c.named(t, "/resources", "resources", "PingOne API")
	oid, pid := "/resources/"+openid["id"].(string), "/resources/"+p1["id"].(string)

	c.fail(t, "PUT", oid, cfgEcho(openid, map[string]any{"description": "mine"}), cfgRequestFailed)
	c.fail(t, "PUT", pid, cfgEcho(p1, map[string]any{"accessTokenValiditySeconds": 7200}), cfgRequestFailed)
	c.fail(t, "PUT", pid, cfgEcho(p1, map[string]any{"description": nil}), cfgRequestFailed)
	// What GET returned may be PUT back (PingOne's clients do): it is
	// accepted and changes nothing, not even updatedAt.
	if put := c.ok(t, "PUT", pid, cfgEcho(p1, nil), http.StatusOK); !cfgSameJSON(put, p1) {
		t.Errorf("PUT of the PingOne API resource as read answered\n%v\nnot\n%v", put, p1)
	}
	if after := c.ok(t, "GET", pid, nil, http.StatusOK); !cfgSameJSON(after, p1) {
		t.Errorf("PingOne API changed:\n%v\n%v", after, p1)
	}
	c.fail(t, "DELETE", oid, nil, cfgRequestFailed)
	c.fail(t, "DELETE", pid, nil, cfgRequestFailed)
	if after := c.ok(t, "GET", oid, nil, http.StatusOK); !cfgSameJSON(after, openid) {
		t.Errorf("openid changed:\n%v\n%v", after, openid)
	}

	// openid: the standard claims are PREDEFINED mappings, remappable, not deletable.
	attrs := c.list(t, oid+"/attributes", "attributes")
	if len(attrs) != 24 {
		t.Errorf("openid has %d attributes, want 24: %v", len(attrs), cfgNames(attrs))
	}
	var given map[string]any
	for _, a := range attrs {
		if a["type"] != "PREDEFINED" || a["idToken"] != true || a["userInfo"] != true || get(a, "resource.id") != openid["id"] {
			t.Errorf("openid attribute %v", a)
		}
		if a["name"] == "given_name" {
			given = a
		}
	}
	if given == nil || given["value"] != "${user.name.given}" {
		t.Fatalf("given_name = %v", given)
	}
	// Listing twice makes nothing twice.
	if again := c.list(t, oid+"/attributes", "attributes"); len(again) != len(attrs) {
		t.Errorf("second listing has %d attributes", len(again))
	}
	gput := c.ok(t, "PUT", oid+"/attributes/"+given["id"].(string), cfgEcho(given, map[string]any{"value": "${user.nickname}", "userInfo": false}), http.StatusOK)
	wantFields(t, gput, map[string]any{"name": "given_name", "value": "${user.nickname}", "type": "PREDEFINED", "idToken": true, "userInfo": false})
	c.ok(t, "PUT", oid+"/attributes/"+given["id"].(string), cfgEcho(given, map[string]any{"value": ""}), http.StatusOK) // maps nothing
	c.fail(t, "PUT", oid+"/attributes/"+given["id"].(string), cfgEcho(given, map[string]any{"name": "first_name"}), cfgBadValue("name"))
	c.fail(t, "DELETE", oid+"/attributes/"+given["id"].(string), nil, cfgRequestFailed)
	c.fail(t, "POST", oid+"/attributes", map[string]any{"name": "given_name", "value": "${user.name.given}"}, cfgNotUnique("name"))
	c.fail(t, "POST", oid+"/attributes", map[string]any{"name": "sub", "value": "${user.id}"}, cfgBadValue("name"))
	c.fail(t, "POST", oid+"/attributes", map[string]any{"name": "p1.custom", "value": "${user.id}"}, cfgBadValue("name"))
	c.fail(t, "POST", oid+"/attributes", map[string]any{"name": "shirt", "value": "${user.shirt}", "idToken": false, "userInfo": false}, cfgBadValue("idToken"))
	shirt := c.ok(t, "POST", oid+"/attributes", map[string]any{"name": "shirt", "value": "${user.shirtSize}", "idToken": false}, http.StatusCreated)
	wantFields(t, shirt, map[string]any{"type": "CUSTOM", "idToken": false, "userInfo": true, "resource.id": openid["id"]})

	// openid scopes: predefined ones take a description and mapped claims,
	// keep their name and stay; custom ones map the resource's attributes.
	profile := c.named(t, oid+"/scopes", "scopes", "profile")
	pput := c.ok(t, "PUT", oid+"/scopes/"+profile["id"].(string), cfgEcho(profile, map[string]any{"description": "Your profile",
		"mappedClaims": []string{shirt["id"].(string)}}), http.StatusOK)
	wantFields(t, pput, map[string]any{"name": "profile", "description": "Your profile", "mappedClaims": []string{shirt["id"].(string)}})
	c.fail(t, "PUT", oid+"/scopes/"+profile["id"].(string), cfgEcho(profile, map[string]any{"name": "profile2"}), cfgBadValue("name"))
	c.fail(t, "DELETE", oid+"/scopes/"+profile["id"].(string), nil, cfgRequestFailed)
	c.fail(t, "POST", oid+"/scopes", map[string]any{"name": "shirts", "mappedClaims": []string{uuid.NewString()}}, cfgBadValue("mappedClaims[0]"))
	shirts := c.ok(t, "POST", oid+"/scopes", map[string]any{"name": "shirts", "mappedClaims": []string{shirt["id"].(string)}}, http.StatusCreated)
	wantFields(t, shirts, map[string]any{"mappedClaims": []string{shirt["id"].(string)}})
	// A mapped claim cannot go while a scope maps it.
	c.fail(t, "DELETE", oid+"/attributes/"+shirt["id"].(string), nil, cfgRequestFailed)
	c.ok(t, "DELETE", oid+"/scopes/"+shirts["id"].(string), nil, http.StatusNoContent)
	c.ok(t, "PUT", oid+"/scopes/"+profile["id"].(string), cfgEcho(profile, nil), http.StatusOK)
	c.ok(t, "DELETE", oid+"/attributes/"+shirt["id"].(string), nil, http.StatusNoContent)

	// PingOne API: no attribute mappings; the user scopes take schema
	// attributes; sub-scopes are created as PingOne's example does.
	if got := c.list(t, pid+"/attributes", "attributes"); len(got) != 0 {
		t.Errorf("PingOne API attributes = %v", got)
	}
	c.fail(t, "POST", pid+"/attributes", map[string]any{"name": "x", "value": "${user.id}"}, cfgRequestFailed)
	readUser := c.named(t, pid+"/scopes", "scopes", "p1:read:user")
	if !cfgSameJSON(readUser["schemaAttributes"], []string{"*"}) {
		t.Errorf("p1:read:user schemaAttributes = %v", readUser["schemaAttributes"])
	}
	rput := c.ok(t, "PUT", pid+"/scopes/"+readUser["id"].(string), cfgEcho(readUser, map[string]any{"schemaAttributes": []string{"name.given", "email"}}), http.StatusOK)
	wantFields(t, rput, map[string]any{"name": "p1:read:user", "schemaAttributes": []string{"name.given", "email"}, "description": readUser["description"]})
	c.fail(t, "PUT", pid+"/scopes/"+readUser["id"].(string), cfgEcho(readUser, map[string]any{"description": "mine"}), cfgBadValue("description"))
	c.fail(t, "PUT", pid+"/scopes/"+readUser["id"].(string), cfgEcho(readUser, map[string]any{"schemaAttributes": []string{"*", "email"}}), cfgBadValue("schemaAttributes"))
	c.fail(t, "DELETE", pid+"/scopes/"+readUser["id"].(string), nil, cfgRequestFailed)
	sessions := c.named(t, pid+"/scopes", "scopes", "p1:read:sessions")
	c.fail(t, "PUT", pid+"/scopes/"+sessions["id"].(string), cfgEcho(sessions, map[string]any{"description": "mine"}), cfgRequestFailed)
	c.fail(t, "PUT", pid+"/scopes/"+sessions["id"].(string), cfgEcho(sessions, map[string]any{"schemaAttributes": []string{"email"}}), cfgRequestFailed)
	if put := c.ok(t, "PUT", pid+"/scopes/"+sessions["id"].(string), cfgEcho(sessions, nil), http.StatusOK); !cfgSameJSON(put, sessions) {
		t.Errorf("PUT of p1:read:sessions as read answered\n%v\nnot\n%v", put, sessions)
	}
	if after := c.ok(t, "GET", pid+"/scopes/"+sessions["id"].(string), nil, http.StatusOK); !cfgSameJSON(after, sessions) {
		t.Errorf("p1:read:sessions changed:\n%v\n%v", after, sessions)
	}
	c.fail(t, "POST", pid+"/scopes", map[string]any{"name": "p1:delete:everything"}, cfgBadValue("name"))

	example := golden(t, "resources.scopes.create.request.json")
	sub := c.ok(t, "POST", pid+"/scopes", example, http.StatusCreated)
	wantFields(t, sub, map[string]any{"name": example["name"], "description": example["description"], "schemaAttributes": example["schemaAttributes"],
		"resource.id": p1["id"]})
	c.fail(t, "POST", pid+"/scopes", example, cfgNotUnique("name"))
	c.ok(t, "DELETE", pid+"/scopes/"+sub["id"].(string), nil, http.StatusNoContent)
}

// TestResourceBadInput: every refusal names its field and PingOne's code.
func TestResourceBadInput(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			c := newCfgAPI(t, s, "Bad resources")
			other := newCfgAPI(t, s, "Other")
			res := c.ok(t, "POST", "/resources", map[string]any{"name": "Orders"}, http.StatusCreated)
			rid := "/resources/" + res["id"].(string)
			foreign := other.ok(t, "POST", "/resources", map[string]any{"name": "Orders"}, http.StatusCreated)
			fid := "/resources/" + foreign["id"].(string)
			before := adminGet(t, s, c.url("/resources"))

			cases := []struct {
				name   string
				method string
				path   string
				body   any
				want   wantErr
				check  func(t *testing.T, m map[string]any)
			}{
				{"missing name", "POST", "/resources", map[string]any{"description": "x"}, cfgRequired("name"), nil},
				{"blank name", "POST", "/resources", map[string]any{"name": "  "}, cfgRequired("name"), nil},
				{"duplicate name, other case", "POST", "/resources", map[string]any{"name": "ORDERS"}, cfgNotUnique("name"), nil},
				{"system type", "POST", "/resources", map[string]any{"name": "x", "type": "OPENID_CONNECT"}, cfgBadValue("type"),
					func(t *testing.T, m map[string]any) { cfgWantAllowed(t, m, "CUSTOM") }},
				{"token validity too short", "POST", "/resources", map[string]any{"name": "x", "accessTokenValiditySeconds": 299}, cfgBadValue("accessTokenValiditySeconds"),
					func(t *testing.T, m map[string]any) { cfgWantRange(t, m, 300, 2592000) }},
				{"token validity too long", "POST", "/resources", map[string]any{"name": "x", "accessTokenValiditySeconds": 2592001}, cfgBadValue("accessTokenValiditySeconds"), nil},
				{"token validity a fraction", "POST", "/resources", `{"name":"x","accessTokenValiditySeconds":3600.5}`,
					wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "accessTokenValiditySeconds"}, nil},
				{"unknown introspection method", "POST", "/resources", map[string]any{"name": "x", "introspectEndpointAuthMethod": "MAGIC"}, cfgBadValue("introspectEndpointAuthMethod"),
					func(t *testing.T, m map[string]any) {
						cfgWantAllowed(t, m, "CLIENT_SECRET_BASIC", "CLIENT_SECRET_POST", "NONE")
					}},
				{"audience naming pingone", "POST", "/resources", map[string]any{"name": "x", "audience": "https://api.PingOne.com"}, cfgBadValue("audience"), nil},
				{"audience with a fragment", "POST", "/resources", map[string]any{"name": "x", "audience": "https://a.example.com/#x"}, cfgBadValue("audience"), nil},
				{"malformed JSON", "POST", "/resources", `{"name":`, wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", ""}, nil},
				{"name of the wrong type", "POST", "/resources", `{"name":["x"]}`, wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "name"}, nil},
				{"unknown resource", "GET", "/resources/" + uuid.NewString(), nil, cfgNotFound, nil},
				{"another environment's resource", "GET", fid, nil, cfgNotFound, nil},
				{"PUT another environment's resource", "PUT", fid, map[string]any{"name": "Hijack"}, cfgNotFound, nil},
				{"DELETE another environment's resource", "DELETE", fid, nil, cfgNotFound, nil},
				{"scopes of another environment's resource", "POST", fid + "/scopes", map[string]any{"name": "x"}, cfgNotFound, nil},
				{"attributes of another environment's resource", "GET", fid + "/attributes", nil, cfgNotFound, nil},
				{"scope without name", "POST", rid + "/scopes", map[string]any{"description": "x"}, cfgRequired("name"), nil},
				{"scope of a resource under the wrong resource", "GET", "/resources/" + uuid.NewString() + "/scopes/" + uuid.NewString(), nil, cfgNotFound, nil},
				{"attribute without value", "POST", rid + "/attributes", map[string]any{"name": "email"}, cfgRequired("value"), nil},
				{"attribute without name", "POST", rid + "/attributes", map[string]any{"value": "${user.email}"}, cfgRequired("name"), nil},
				{"attribute referencing nothing", "POST", rid + "/attributes", map[string]any{"name": "x", "value": "${1+1}"}, cfgBadValue("value"), nil},
				{"attribute expression unclosed", "POST", rid + "/attributes", map[string]any{"name": "x", "value": "${user.email"}, cfgBadValue("value"), nil},
				{"attribute name with a space", "POST", rid + "/attributes", map[string]any{"name": "my claim", "value": "x"}, cfgBadValue("name"), nil},
				{"reserved claim", "POST", rid + "/attributes", map[string]any{"name": "aud", "value": "x"}, cfgBadValue("name"), nil},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					m := c.fail(t, tc.method, tc.path, tc.body, tc.want)
					if tc.check != nil {
						tc.check(t, m)
					}
				})
			}
			// A literal value is fine.
			c.ok(t, "POST", rid+"/attributes", map[string]any{"name": "tier", "value": "gold"}, http.StatusCreated)
			c.ok(t, "DELETE", rid+"/attributes/"+c.named(t, rid+"/attributes", "attributes", "tier")["id"].(string), nil, http.StatusNoContent)
			if after := adminGet(t, s, c.url("/resources")); string(after) != string(before) {
				t.Errorf("refused requests changed the resources:\n%s\n%s", before, after)
			}
			if got := other.ok(t, "GET", fid, nil, http.StatusOK); !cfgSameJSON(got, foreign) {
				t.Errorf("the other environment's resource changed: %v", got)
			}
			checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: c.url("/resources"), Token: c.tok, Body: `{"name":"x"}`, ContentType: "text/plain"}),
				wantErr{415, "INVALID_REQUEST", "INVALID_VALUE", "Content-Type"})
		})
	}
}

// TestConfigurationAccess: a Configuration Read Only worker reads every
// configuration endpoint and writes none; a worker of another environment
// reaches nothing.
func TestConfigurationAccess(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			c := newCfgAPI(t, s, "Access")
			otherEnv := newEnv(t, s, "Elsewhere", "SANDBOX")
			res := c.named(t, "/resources", "resources", "openid")["id"].(string)
			scope := c.named(t, "/resources/"+res+"/scopes", "scopes", "email")["id"].(string)
			attr := c.named(t, "/resources/"+res+"/attributes", "attributes", "email")["id"].(string)
			pp := c.named(t, "/passwordPolicies", "passwordPolicies", "Basic")["id"].(string)
			sop := c.named(t, "/signOnPolicies", "signOnPolicies", "Multi_Factor")["id"].(string)
			act := c.list(t, "/signOnPolicies/"+sop+"/actions", "actions")[0]["id"].(string)
			key := c.list(t, "/keys", "keys")[0]["id"].(string)
			reads := []string{"/resources", "/resources/" + res, "/resources/" + res + "/scopes", "/resources/" + res + "/scopes/" + scope,
				"/resources/" + res + "/attributes", "/resources/" + res + "/attributes/" + attr, "/passwordPolicies", "/passwordPolicies/" + pp,
				"/signOnPolicies", "/signOnPolicies/" + sop, "/signOnPolicies/" + sop + "/actions", "/signOnPolicies/" + sop + "/actions/" + act,
				"/keys", "/keys/" + key}
			writes := []struct {
				method, path string
				body         any
			}{
				{"POST", "/resources", map[string]any{"name": "x"}},
				{"PUT", "/resources/" + res, map[string]any{"name": "x"}},
				{"DELETE", "/resources/" + res, nil},
				{"POST", "/resources/" + res + "/scopes", map[string]any{"name": "x"}},
				{"PUT", "/resources/" + res + "/scopes/" + scope, map[string]any{"name": "email"}},
				{"DELETE", "/resources/" + res + "/scopes/" + scope, nil},
				{"POST", "/resources/" + res + "/attributes", map[string]any{"name": "x", "value": "y"}},
				{"PUT", "/resources/" + res + "/attributes/" + attr, map[string]any{"name": "email", "value": "y"}},
				{"DELETE", "/resources/" + res + "/attributes/" + attr, nil},
				{"POST", "/passwordPolicies", map[string]any{"name": "x"}},
				{"PUT", "/passwordPolicies/" + pp, map[string]any{"name": "x"}},
				{"DELETE", "/passwordPolicies/" + pp, nil},
				{"POST", "/signOnPolicies", map[string]any{"name": "x"}},
				{"PUT", "/signOnPolicies/" + sop, map[string]any{"name": "x"}},
				{"DELETE", "/signOnPolicies/" + sop, nil},
				{"POST", "/signOnPolicies/" + sop + "/actions", map[string]any{"type": "LOGIN", "priority": 9}},
				{"PUT", "/signOnPolicies/" + sop + "/actions/" + act, map[string]any{"type": "LOGIN", "priority": 9}},
				{"DELETE", "/signOnPolicies/" + sop + "/actions/" + act, nil},
				{"POST", "/keys", map[string]any{"name": "x"}},
				{"PUT", "/keys/" + key, map[string]any{"usageType": "SIGNING", "default": true}},
				{"DELETE", "/keys/" + key, nil},
			}
			snapshot := func() string {
				var b strings.Builder
				for _, u := range reads {
					b.Write(adminGet(t, s, c.url(u)))
				}
				return b.String()
			}
			before := snapshot()
			forbidden := wantErr{http.StatusForbidden, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""}
			readOnly := cfgAPI{s: s, env: c.env, tok: s.Token(t, s.CreateWorker(t, c.env, "CLIENT_SECRET_BASIC",
				[3]string{roles.ConfigurationReadOnly.ID, roles.ScopeEnvironment, c.env}))}
			outsider := cfgAPI{s: s, env: c.env, tok: s.Token(t, s.CreateWorker(t, otherEnv, "CLIENT_SECRET_BASIC",
				[3]string{roles.EnvironmentAdmin.ID, roles.ScopeEnvironment, otherEnv}))}
			identityAdmin := cfgAPI{s: s, env: c.env, tok: s.Token(t, s.CreateWorker(t, c.env, "CLIENT_SECRET_BASIC",
				[3]string{roles.IdentityDataAdmin.ID, roles.ScopeEnvironment, c.env}))}
			for _, u := range reads {
				readOnly.ok(t, "GET", u, nil, http.StatusOK)
				outsider.fail(t, "GET", u, nil, forbidden)
				identityAdmin.fail(t, "GET", u, nil, forbidden)
			}
			for _, w := range writes {
				readOnly.fail(t, w.method, w.path, w.body, forbidden)
				outsider.fail(t, w.method, w.path, w.body, forbidden)
			}
			if after := snapshot(); after != before {
				t.Error("refused writes changed the configuration")
			}
			// An unknown environment is 404 before any role check.
			gone := cfgAPI{s: s, env: uuid.NewString(), tok: readOnly.tok}
			for _, u := range []string{"/resources", "/passwordPolicies", "/signOnPolicies", "/keys"} {
				gone.fail(t, "GET", u, nil, cfgNotFound)
				gone.fail(t, "POST", u, map[string]any{"name": "x"}, cfgNotFound)
			}
		})
	}
}

// TestConfigurationIsolation: two environments holding resources, scopes,
// policies and keys of the same names never see or touch each other's.
func TestConfigurationIsolation(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			a, z := newCfgAPI(t, s, "Isolation A"), newCfgAPI(t, s, "Isolation Z")
			type ids struct{ res, scope, attr, pp, sop, act string }
			seed := func(c cfgAPI) ids {
				res := c.ok(t, "POST", "/resources", map[string]any{"name": "Shared"}, http.StatusCreated)["id"].(string)
				scope := c.ok(t, "POST", "/resources/"+res+"/scopes", map[string]any{"name": "shared:read"}, http.StatusCreated)["id"].(string)
				attr := c.ok(t, "POST", "/resources/"+res+"/attributes", map[string]any{"name": "tier", "value": "gold"}, http.StatusCreated)["id"].(string)
				pp := c.ok(t, "POST", "/passwordPolicies", map[string]any{"name": "Shared", "excludesCommonlyUsed": true, "excludesProfileData": false,
					"notSimilarToCurrent": false, "default": true}, http.StatusCreated)["id"].(string)
				sop := c.ok(t, "POST", "/signOnPolicies", map[string]any{"name": "Shared", "default": true}, http.StatusCreated)["id"].(string)
				act := c.ok(t, "POST", "/signOnPolicies/"+sop+"/actions", map[string]any{"type": "LOGIN", "priority": 1}, http.StatusCreated)["id"].(string)
				return ids{res, scope, attr, pp, sop, act}
			}
			ia, iz := seed(a), seed(z)
			for _, c := range []struct {
				c          cfgAPI
				mine, them ids
			}{{a, ia, iz}, {z, iz, ia}} {
				resources := c.c.list(t, "/resources", "resources")
				if len(resources) != 3 || !slices.ContainsFunc(resources, func(m map[string]any) bool { return m["id"] == c.mine.res }) {
					t.Errorf("resources of %s: %v", c.c.env, cfgNames(resources))
				}
				for _, m := range resources {
					if get(m, "environment.id") != c.c.env {
						t.Errorf("%s lists a resource of %v", c.c.env, get(m, "environment.id"))
					}
				}
				var defaults []string
				for _, p := range c.c.list(t, "/passwordPolicies", "passwordPolicies") {
					if p["default"] == true {
						defaults = append(defaults, p["id"].(string))
					}
				}
				if !slices.Equal(defaults, []string{c.mine.pp}) {
					t.Errorf("default password policies of %s: %v", c.c.env, defaults)
				}
				them := c.them
				for _, u := range []string{"/resources/" + them.res, "/resources/" + them.res + "/scopes/" + them.scope, "/resources/" + them.res + "/attributes/" + them.attr,
					"/resources/" + c.mine.res + "/scopes/" + them.scope, "/resources/" + c.mine.res + "/attributes/" + them.attr,
					"/passwordPolicies/" + them.pp, "/signOnPolicies/" + them.sop, "/signOnPolicies/" + them.sop + "/actions/" + them.act,
					"/signOnPolicies/" + c.mine.sop + "/actions/" + them.act} {
					c.c.fail(t, "GET", u, nil, cfgNotFound)
					c.c.fail(t, "DELETE", u, nil, cfgNotFound)
				}
			}
			// Both environments' objects survived the foreign deletes.
			for _, c := range []struct {
				c cfgAPI
				i ids
			}{{a, ia}, {z, iz}} {
				for _, u := range []string{"/resources/" + c.i.res, "/resources/" + c.i.res + "/scopes/" + c.i.scope, "/resources/" + c.i.res + "/attributes/" + c.i.attr,
					"/passwordPolicies/" + c.i.pp, "/signOnPolicies/" + c.i.sop, "/signOnPolicies/" + c.i.sop + "/actions/" + c.i.act} {
					c.c.ok(t, "GET", u, nil, http.StatusOK)
				}
			}
		})
	}
}

// TestNewEnvironmentConfiguration reads, over HTTP and field by field, the
// configuration PingOne puts in every new environment.
func TestNewEnvironmentConfiguration(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			c := newCfgAPI(t, s, "Defaults")

			resources := c.list(t, "/resources", "resources")
			if got := cfgNames(resources); !slices.Equal(got, []string{"PingOne API", "openid"}) {
				t.Fatalf("resources = %v", got)
			}
			wantScopes := map[string][]string{
				"openid":      {"address", "email", "offline_access", "openid", "phone", "profile"},
				"PingOne API": {"p1:delete:sessions", "p1:delete:userLinkedAccounts", "p1:read:sessions", "p1:read:user", "p1:read:userLinkedAccounts", "p1:read:userPassword", "p1:reset:userPassword", "p1:update:user", "p1:validate:userPassword"},
			}
			wantType := map[string]string{"openid": "OPENID_CONNECT", "PingOne API": "PINGONE_API"}
			for _, r := range resources {
				name := r["name"].(string)
				wantFields(t, r, map[string]any{"type": wantType[name], "accessTokenValiditySeconds": 3600, "environment.id": c.env})
				checkTime(t, r, "createdAt")
				scopes := c.list(t, "/resources/"+r["id"].(string)+"/scopes", "scopes")
				if got := cfgNames(scopes); !slices.Equal(got, wantScopes[name]) {
					t.Errorf("%s scopes = %v", name, got)
				}
				for _, sc := range scopes {
					if get(sc, "resource.id") != r["id"] || sc["description"] == nil {
						t.Errorf("%s scope %v", name, sc)
					}
				}
			}

			byName := map[string]map[string]any{}
			for _, p := range c.list(t, "/passwordPolicies", "passwordPolicies") {
				byName[p["name"].(string)] = p
			}
			g := golden(t, "passwordPolicies.floatCoercion.response.json")
			for _, k := range keysOf(g) {
				if k != "_links" && k != "id" && k != "environment" && !cfgSameJSON(byName["Standard"][k], g[k]) {
					t.Errorf("Standard %s = %v, PingOne has %v", k, byName["Standard"][k], g[k])
				}
			}
			wantFields(t, byName["Standard"], map[string]any{"populationCount": 1})
			wantFields(t, byName["Basic"], map[string]any{"default": false, "excludesProfileData": false, "notSimilarToCurrent": false,
				"excludesCommonlyUsed": true, "length": map[string]any{"min": 8, "max": 255}, "maxAgeDays": nil, "history": nil, "populationCount": 0})
			wantFields(t, byName["Passphrase"], map[string]any{"default": false, "minComplexity": 7, "excludesProfileData": true, "minCharacters": nil})

			policies := map[string]map[string]any{}
			for _, p := range c.list(t, "/signOnPolicies", "signOnPolicies") {
				policies[p["name"].(string)] = p
			}
			if len(policies) != 2 || policies["Single_Factor"]["default"] != true || policies["Multi_Factor"]["default"] != false {
				t.Fatalf("sign-on policies: %v", policies)
			}
			single := c.list(t, "/signOnPolicies/"+policies["Single_Factor"]["id"].(string)+"/actions", "actions")
			if len(single) != 1 {
				t.Fatalf("Single_Factor actions: %v", single)
			}
			wantFields(t, single[0], map[string]any{"type": "LOGIN", "priority": 1, "recovery": map[string]any{"enabled": true},
				"registration":                       map[string]any{"enabled": false, "confirmIdentityProviderAttributes": false},
				"enforceLockoutForIdentityProviders": false, "signOnPolicy.id": policies["Single_Factor"]["id"], "condition": nil})
			multi := c.list(t, "/signOnPolicies/"+policies["Multi_Factor"]["id"].(string)+"/actions", "actions")
			if len(multi) != 2 || multi[0]["type"] != "LOGIN" || multi[1]["type"] != "MULTI_FACTOR_AUTHENTICATION" || multi[1]["priority"] != 2.0 {
				t.Errorf("Multi_Factor actions: %v", multi)
			}

			keys := c.list(t, "/keys", "keys")
			if len(keys) != 1 {
				t.Fatalf("keys: %v", keys)
			}
			wantFields(t, keys[0], map[string]any{"name": "PingOne SSO Credential", "algorithm": "RSA", "keyLength": 2048,
				"signatureAlgorithm": "SHA256withRSA", "usageType": "SIGNING", "default": true, "status": "VALID", "validityPeriod": 365,
				"subjectDN": "CN=PingOne SSO Credential, O=Gatehouse", "issuerDN": "CN=PingOne SSO Credential, O=Gatehouse",
				"organization.id": s.OrganizationID(t), "environment.id": c.env})
			if got := cfgJWKSKids(t, s, c.env); !slices.Equal(got, []string{keys[0]["id"].(string)}) {
				t.Errorf("jwks = %v", got)
			}
		})
	}
}
