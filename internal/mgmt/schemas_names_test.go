package mgmt_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// TestSchemaAttributeNamesAsPingOne: PingOne's SDK documents a custom
// attribute's name as a letter followed by letters, digits or hyphens, at
// most 256 characters; Terraform sends such names as written. They are
// created, and a user holds and reads back a value of one.
func TestSchemaAttributeNamesAsPingOne(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			tok := s.AdminToken(t)
			env := newEnv(t, s, "Names", "SANDBOX")
			attrs := "/environments/" + env + "/schemas/" + userSchema(t, s, env) + "/attributes"
			long := "a" + strings.Repeat("b-", 127) + "c" // 256
			for _, name := range []string{"employee-number", long} {
				body := map[string]any{"enabled": true, "name": name, "type": "STRING", "schemaType": "CUSTOM",
					"unique": false, "multiValued": false, "required": false}
				wantFields(t, must(t, s.Do(t, apptest.Request{Method: "POST", URL: attrs, Token: tok, Body: body}), http.StatusCreated),
					map[string]any{"name": name})
			}
			runErrCases(t, s, []errCase{
				{name: "257 characters", req: apptest.Request{Method: "POST", URL: attrs, Token: tok, Body: map[string]any{"enabled": true,
					"name": long + "d", "type": "STRING"}}, want: wantErr{400, "INVALID_DATA", "INVALID_VALUE", "name"}},
				{name: "a leading hyphen", req: apptest.Request{Method: "POST", URL: attrs, Token: tok, Body: map[string]any{"enabled": true,
					"name": "-x", "type": "STRING"}}, want: wantErr{400, "INVALID_DATA", "INVALID_VALUE", "name"}},
			})
			u := userCreate(t, s, env, map[string]any{"username": "hyphen", "employee-number": "E-1", long: "long"})
			got := must(t, s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + env + "/users/" + u["id"].(string), Token: tok}), http.StatusOK)
			if got["employee-number"] != "E-1" || got[long] != "long" {
				t.Errorf("user = %v, want employee-number E-1 and the long attribute", got)
			}
		})
	}
}
