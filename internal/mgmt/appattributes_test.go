package mgmt_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// TestApplicationAttributes: an OpenID Connect application's attribute
// mappings as PingOne serves them — the CORE sub mapping every such
// application has, CUSTOM mappings created, read, replaced (a PUT of what
// GET returned changes nothing) and deleted, every refusal with its
// detail and nothing stored, other environments' ids unknown, and the
// mappings' end with their application.
func TestApplicationAttributes(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			c := newCfgAPI(t, s, "App attributes")
			other := newCfgAPI(t, s, "Elsewhere")
			app := c.ok(t, "POST", "/applications", appWebBody("Shop"), http.StatusCreated)["id"].(string)
			base := "/applications/" + app + "/attributes"

			// The CORE sub mapping, there from the start.
			list := c.list(t, base, "attributes")
			if len(list) != 1 {
				t.Fatalf("attributes = %v, want the CORE sub", list)
			}
			sub := list[0]
			for k, want := range map[string]any{"name": "sub", "value": "${user.id}", "required": true, "mappingType": "CORE"} {
				if sub[k] != want {
					t.Errorf("sub %s = %v, want %v", k, sub[k], want)
				}
			}
			for _, k := range []string{"idToken", "userInfo", "oidcScopes"} {
				if _, ok := sub[k]; ok {
					t.Errorf("the CORE sub has %s", k)
				}
			}
			subPath := base + "/" + sub["id"].(string)
			c.fail(t, "DELETE", subPath, nil, cfgRequestFailed)
			c.fail(t, "PUT", subPath, cfgEcho(sub, map[string]any{"required": false}), cfgBadValue("required"))
			c.fail(t, "PUT", subPath, cfgEcho(sub, map[string]any{"name": "subject"}), cfgBadValue("name"))
			if got := c.ok(t, "PUT", subPath, cfgEcho(sub, nil), http.StatusOK); got["value"] != "${user.id}" || got["createdAt"] != sub["createdAt"] {
				t.Errorf("PUT of the sub as read = %v", got)
			}
			// Tokens name their user by id throughout: a sub mapped to
			// anything else is refused, not accepted and then ignored.
			m := c.fail(t, "PUT", subPath, cfgEcho(sub, map[string]any{"value": "${user.username}"}), cfgBadValue("value"))
			if d := m["details"].([]any); len(d) != 1 || d[0].(map[string]any)["message"] != "Gatehouse's tokens name the user by id: the value of the CORE sub mapping must be ${user.id}." {
				t.Errorf("remapped sub: %v", d)
			}
			if got := c.ok(t, "GET", subPath, nil, http.StatusOK); got["value"] != "${user.id}" || got["createdAt"] != sub["createdAt"] {
				t.Errorf("sub after a refused remap = %v", got)
			}

			// A CUSTOM mapping with PingOne's defaults.
			acct := c.ok(t, "POST", base, map[string]any{"name": "userAccountID", "value": "${user.accountId}", "required": true}, http.StatusCreated)
			for k, want := range map[string]any{"name": "userAccountID", "value": "${user.accountId}", "required": true, "mappingType": "CUSTOM",
				"idToken": true, "userInfo": true, "environment": map[string]any{"id": c.env}, "application": map[string]any{"id": app}} {
				if !cfgSameJSON(acct[k], want) {
					t.Errorf("created %s = %v, want %v", k, acct[k], want)
				}
			}
			if get(acct, "_links.self.href") != s.APIPath+c.url(base)+"/"+acct["id"].(string) {
				t.Errorf("_links.self = %v", get(acct, "_links.self.href"))
			}
			acctPath := base + "/" + acct["id"].(string)
			if got := c.ok(t, "GET", acctPath, nil, http.StatusOK); !cfgSameJSON(got, acct) {
				t.Errorf("GET = %v, want %v", got, acct)
			}
			// No drift: a PUT of what GET returned changes nothing.
			again := c.ok(t, "PUT", acctPath, cfgEcho(acct, nil), http.StatusOK)
			if !cfgSameJSON(cfgEcho(again, map[string]any{"updatedAt": nil}), cfgEcho(acct, map[string]any{"updatedAt": nil})) {
				t.Errorf("PUT as read = %v, want %v", again, acct)
			}

			// oidcScopes: the openid resource's scopes are always allowed.
			openid := c.named(t, "/resources", "resources", "openid")["id"].(string)
			profile := c.named(t, "/resources/"+openid+"/scopes", "scopes", "profile")["id"].(string)
			withScope := c.ok(t, "PUT", acctPath, cfgEcho(acct, map[string]any{"oidcScopes": []string{profile, profile}, "userInfo": false}), http.StatusOK)
			if !cfgSameJSON(withScope["oidcScopes"], []string{profile}) || withScope["userInfo"] != false {
				t.Errorf("with oidcScopes = %v", withScope)
			}

			names := func() []string { return cfgNames(c.list(t, base, "attributes")) }
			before := names()
			for _, tc := range []struct {
				name, method, path string
				body               any
				want               wantErr
				msg                string
			}{
				{"no name", "POST", base, map[string]any{"value": "x"}, cfgRequired("name"), ""},
				{"no value", "POST", base, map[string]any{"name": "x"}, cfgRequired("value"), ""},
				{"empty value", "POST", base, map[string]any{"name": "x", "value": " "}, cfgRequired("value"), ""},
				{"reserved name", "POST", base, map[string]any{"name": "nonce", "value": "x"}, cfgBadValue("name"), "The claim name nonce is reserved."},
				{"p1 prefix", "POST", base, map[string]any{"name": "p1.x", "value": "x"}, cfgBadValue("name"), "The claim name p1.x is reserved."},
				{"c_hash", "POST", base, map[string]any{"name": "c_hash", "value": "x"}, cfgBadValue("name"), "The claim name c_hash is reserved."},
				{"act", "POST", base, map[string]any{"name": "act", "value": "${user.id}"}, cfgBadValue("name"), "The claim name act is reserved."},
				{"reserved in another case", "POST", base, map[string]any{"name": "Nonce", "value": "x"}, cfgBadValue("name"), "The claim name Nonce is reserved."},
				{"space in name", "POST", base, map[string]any{"name": "a b", "value": "x"}, cfgBadValue("name"), ""},
				{"taken name", "POST", base, map[string]any{"name": "USERACCOUNTID", "value": "x"}, cfgNotUnique("name"), ""},
				{"a second sub", "POST", base, map[string]any{"name": "sub", "value": "x"}, cfgNotUnique("name"), ""},
				{"renamed to sub", "PUT", acctPath, cfgEcho(acct, map[string]any{"name": "Sub"}), cfgNotUnique("name"), ""},
				{"unknown function", "POST", base, map[string]any{"name": "x", "value": "${#string.reverse(user.email)}"}, cfgBadValue("value"),
					"The value is not a valid expression: The function #string.reverse is not supported."},
				{"unknown source", "POST", base, map[string]any{"name": "x", "value": "${session.id}"}, cfgBadValue("value"),
					"The value is not a valid expression: Unknown attribute source session: expressions reference user, client or application."},
				{"unclosed", "POST", base, map[string]any{"name": "x", "value": "${user.email"}, cfgBadValue("value"),
					"The value is not a valid expression: The expression is not closed with }."},
				{"both deliveries off", "POST", base, map[string]any{"name": "x", "value": "x", "idToken": false, "userInfo": false}, cfgBadValue("idToken"), ""},
				{"unknown scope", "POST", base, map[string]any{"name": "x", "value": "x", "oidcScopes": []string{profile, "11111111-2222-3333-4444-555555555555"}},
					cfgBadValue("oidcScopes[1]"), ""},
				{"scope not granted", "POST", base, map[string]any{"name": "x", "value": "x", "oidcScopes": []string{customScope(t, c)}}, cfgBadValue("oidcScopes[0]"), ""},
				{"SAML name format", "POST", base, map[string]any{"name": "x", "value": "x", "nameFormat": "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"},
					cfgBadValue("nameFormat"), ""},
				{"bad PUT", "PUT", acctPath, cfgEcho(acct, map[string]any{"value": "${user.email.getClass()}"}), cfgBadValue("value"),
					"The value is not a valid expression: The method getClass() is not supported."},
				{"unknown attribute", "GET", base + "/11111111-2222-3333-4444-555555555555", nil, cfgNotFound, ""},
			} {
				t.Run(tc.name, func(t *testing.T) {
					m := c.fail(t, tc.method, tc.path, tc.body, tc.want)
					if tc.msg != "" {
						if got := get(m, "details").([]any)[0].(map[string]any)["message"]; got != tc.msg {
							t.Errorf("message = %q, want %q", got, tc.msg)
						}
					}
				})
			}
			if got := names(); !slices.Equal(got, before) {
				t.Errorf("after refusals: %v, want %v", got, before)
			}
			if got := c.ok(t, "GET", acctPath, nil, http.StatusOK); !cfgSameJSON(got, withScope) {
				t.Errorf("after a refused PUT: %v, want %v", got, withScope)
			}

			// Another environment's ids are unknown here, and the other way.
			otherApp := other.ok(t, "POST", "/applications", appWebBody("Theirs"), http.StatusCreated)["id"].(string)
			c.fail(t, "GET", "/applications/"+otherApp+"/attributes", nil, cfgNotFound)
			c.fail(t, "POST", "/applications/"+otherApp+"/attributes", map[string]any{"name": "x", "value": "x"}, cfgNotFound)
			other.fail(t, "GET", "/applications/"+app+"/attributes/"+acct["id"].(string), nil, cfgNotFound)
			other.fail(t, "PUT", "/applications/"+app+"/attributes/"+acct["id"].(string), map[string]any{"name": "x", "value": "x"}, cfgNotFound)
			other.fail(t, "DELETE", "/applications/"+app+"/attributes/"+acct["id"].(string), nil, cfgNotFound)
			other.fail(t, "GET", "/applications/"+otherApp+"/attributes/"+acct["id"].(string), nil, cfgNotFound)

			c.ok(t, "DELETE", acctPath, nil, http.StatusNoContent)
			c.fail(t, "GET", acctPath, nil, cfgNotFound)
			c.fail(t, "DELETE", acctPath, nil, cfgNotFound)

			// The mappings end with their application.
			c.ok(t, "POST", base, map[string]any{"name": "gone", "value": "x"}, http.StatusCreated)
			c.ok(t, "DELETE", "/applications/"+app, nil, http.StatusNoContent)
			c.fail(t, "GET", base, nil, cfgNotFound)
			c.fail(t, "GET", subPath, nil, cfgNotFound)
		})
	}
}

// customScope makes a custom resource with a scope the test's application
// is not granted.
func customScope(t *testing.T, c cfgAPI) string {
	t.Helper()
	res := c.ok(t, "POST", "/resources", map[string]any{"name": "Orders " + t.Name()}, http.StatusCreated)["id"].(string)
	return c.ok(t, "POST", "/resources/"+res+"/scopes", map[string]any{"name": "orders:read"}, http.StatusCreated)["id"].(string)
}
