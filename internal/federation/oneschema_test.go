package federation_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// TestOneSchemaRule: the user schema binds every way a user comes to be
// or changes — the management API, registration in a flow, just-in-time
// provisioning and a linked user's sign-on — with the same detail: here
// email takes only example.com addresses and is unique.
func TestOneSchemaRule(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newOneRule(t, be.DSN(t))
			schemas := x.d.api(t, "GET", x.d.envPath()+"/schemas", nil, http.StatusOK)
			sid := jstr(schemas["_embedded"].(map[string]any)["schemas"].([]any)[0].(map[string]any), "id")
			attrs := x.d.envPath() + "/schemas/" + sid + "/attributes"
			var emailID string
			for _, a := range x.d.api(t, "GET", attrs, nil, http.StatusOK)["_embedded"].(map[string]any)["attributes"].([]any) {
				if m := a.(map[string]any); m["name"] == "email" {
					emailID = jstr(m, "id")
				}
			}
			x.d.api(t, "PUT", attrs+"/"+emailID, map[string]any{"name": "email", "type": "STRING", "enabled": true, "unique": true,
				"regexValidation": map[string]any{"pattern": `[^@]+@example\.com`, "requirements": "An example.com address."}}, http.StatusOK)

			// A value outside the pattern: the same detail everywhere.
			r := x.create(t, "Outsider", "out@elsewhere.org")
			want := oneDetail(t, r.Status, r.Body)
			if jstr(want, "code")+" "+jstr(want, "target") != "INVALID_VALUE email" || jstr(want, "message") != "An example.com address." {
				t.Fatalf("POST /users detail %v", want)
			}
			if _, _, reg := x.register(t, "Outsider", "out@elsewhere.org"); !jsonEqual(oneDetail(t, reg.status, reg.body), want) {
				t.Errorf("registration answered %d %s, want the management API's detail", reg.status, reg.body)
			}
			fl := x.federate(t, "Outsider", "out@elsewhere.org")
			expectFields(t, "refused provisioning", fl, map[string]any{"status": "FAILED", "error": map[string]any{"code": "server_error",
				"message": "The identity provider Fake gave the user attribute email a value it does not accept: An example.com address."}})

			// A unique value another user holds (in another case).
			if r := x.create(t, "Holder", "taken@example.com"); r.Status != http.StatusCreated {
				t.Fatalf("POST /users: %d %s", r.Status, r.Body)
			}
			second := x.create(t, "Second", "TAKEN@example.com")
			dup := oneDetail(t, second.Status, second.Body)
			if jstr(dup, "code")+" "+jstr(dup, "target") != "UNIQUENESS_VIOLATION email" {
				t.Errorf("POST /users of a held address: %v", dup)
			}
			_, _, reg := x.register(t, "Second", "Taken@example.com")
			if got := oneDetail(t, reg.status, reg.body); jstr(got, "code")+" "+jstr(got, "target") != "UNIQUENESS_VIOLATION email" {
				t.Errorf("registration of a held address: %v", got)
			}

			// A linked user's sign-on writes email ALWAYS: a refused value
			// fails the flow and changes nothing.
			fl = x.federate(t, "Linked", "linked@example.com")
			expectFields(t, "provisioned", fl, map[string]any{"status": "COMPLETED"})
			id := jstr(fl, "_embedded.user.id")
			fl = x.federate(t, "Linked", "linked@elsewhere.org")
			expectFields(t, "sign-on with a refused email", fl, map[string]any{"status": "FAILED"})
			u := x.d.api(t, "GET", x.d.envPath()+"/users/"+id, nil, http.StatusOK)
			expectFields(t, "the linked user", u, map[string]any{"email": "linked@example.com"})
			users := x.d.api(t, "GET", x.d.envPath()+"/users?filter="+url.QueryEscape(`email eq "out@elsewhere.org"`), nil, http.StatusOK)
			expectFields(t, "users after the refusals", users, map[string]any{"count": 0})
		})
	}
}
