package mgmt_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// TestResourceAttributeExpressions: a resource attribute's expression is
// compiled when it is configured; one Gatehouse cannot evaluate is refused
// with PingOne's INVALID_VALUE on value, saying why, and nothing is
// stored. What PingOne's mappings reach for is accepted.
func TestResourceAttributeExpressions(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			c := newCfgAPI(t, s, "Expressions")
			res := c.ok(t, "POST", "/resources", map[string]any{"name": "Orders"}, http.StatusCreated)["id"].(string)
			base := "/resources/" + res + "/attributes"
			for i, v := range []string{
				"${user.name.given + ' ' + user.name.family}",
				"${#string.upperCase(user.email)}",
				"${#string.substring(user.name.given, 0, 1) + #string.lowerCase(user.name.family)}",
				"${#datetime.toUnixTimestamp(user.updatedAt)}",
				"${user.title ?: 'none'}",
				"${client.id}",
				"${application.name}",
				"urn:${user.population.id}:${user.address.countryCode}",
			} {
				c.ok(t, "POST", base, map[string]any{"name": "ok" + itoaT(i), "value": v}, http.StatusCreated)
			}
			before := cfgNames(c.list(t, base, "attributes"))
			attr := c.named(t, base, "attributes", "ok0")
			for _, tc := range []struct{ method, path, value, msg string }{
				{"POST", base, "${#string.reverse(user.email)}", "The value is not a valid expression: The function #string.reverse is not supported."},
				{"POST", base, "${T(java.lang.System).exit(0)}", "The value is not a valid expression: Unknown attribute source T: expressions reference user, client or application."},
				{"POST", base, "${#root.context.requestData.clientAssertion.custom1}", "The value is not a valid expression: Gatehouse does not evaluate the request context (#root.context): map user, client or application attributes."},
				{"POST", base, "${client.secret}", "The value is not a valid expression: The client has no attribute secret: use id or name."},
				{"POST", base, "${1+1}", "The value is not a valid expression: Arithmetic is not supported: + concatenates strings."},
				{"PUT", base + "/" + attr["id"].(string), "${user.email.getClass()}", "The value is not a valid expression: The method getClass() is not supported."},
			} {
				m := c.fail(t, tc.method, tc.path, map[string]any{"name": "bad", "value": tc.value}, cfgBadValue("value"))
				d := m["details"].([]any)
				if len(d) != 1 || d[0].(map[string]any)["message"] != tc.msg {
					t.Errorf("%s: details = %v, want one with %q", tc.value, d, tc.msg)
				}
			}
			// The CORE sub keeps ${user.id}: tokens name their user by id.
			sub := c.named(t, base, "attributes", "sub")
			m := c.fail(t, "PUT", base+"/"+sub["id"].(string), map[string]any{"name": "sub", "value": "${user.email}"}, cfgBadValue("value"))
			if d := m["details"].([]any); len(d) != 1 || d[0].(map[string]any)["message"] != "Gatehouse's tokens name the user by id: the value of the CORE sub mapping must be ${user.id}." {
				t.Errorf("remapped sub: %v", d)
			}
			c.ok(t, "PUT", base+"/"+sub["id"].(string), map[string]any{"name": "sub", "value": "${user.id}"}, http.StatusOK)
			// The names Gatehouse's tokens set are refused here, not
			// dropped when a token is minted.
			for _, name := range []string{"act", "nonce", "c_hash", "at_hash", "nbf", "azp", "may_act", "cnf", "Sub"} {
				m := c.fail(t, "POST", base, map[string]any{"name": name, "value": "${client.id}"}, cfgBadValue("name"))
				d := m["details"].([]any)
				if want := "The claim name " + name + " is reserved."; len(d) != 1 || d[0].(map[string]any)["message"] != want {
					t.Errorf("%s: details = %v, want one with %q", name, d, want)
				}
			}
			if got := cfgNames(c.list(t, base, "attributes")); !slices.Equal(got, before) {
				t.Errorf("after refusals: %v, want %v", got, before)
			}
			if got := c.ok(t, "GET", base+"/"+attr["id"].(string), nil, http.StatusOK); !cfgSameJSON(got, attr) {
				t.Errorf("after a refused PUT: %v, want %v", got, attr)
			}
		})
	}
}

func itoaT(i int) string { return string(rune('0' + i)) }
