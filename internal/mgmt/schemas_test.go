package mgmt_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// sdkSchemaAttribute is a custom attribute as PingOne's Terraform provider
// sends it (management.NewSchemaAttribute with every flag set, the schema
// type CUSTOM on create).
func sdkSchemaAttribute(name string) map[string]any {
	return map[string]any{"enabled": true, "name": name, "type": "STRING", "schemaType": "CUSTOM",
		"displayName": "T-shirt size", "description": "The size of the user's T-shirt.",
		"unique": false, "multiValued": false, "required": false,
		"enumeratedValues": []any{map[string]any{"value": "S"}, map[string]any{"value": "M", "description": "Medium"},
			map[string]any{"value": "XXS", "archived": true}}}
}

// userSchema is the id of envID's schema, read as the SDK reads it.
func userSchema(t *testing.T, s *apptest.Server, envID string) string {
	t.Helper()
	list := must(t, s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + envID + "/schemas", Token: s.AdminToken(t)}), 200)
	items := get(list, "_embedded.schemas").([]any)
	if len(items) != 1 || get(items[0].(map[string]any), "name") != "User" {
		t.Fatalf("schemas %v, want one named User", items)
	}
	return checkID(t, items[0].(map[string]any), "id")
}

// TestSchemaAttributesAsSDK: the schema and its attributes on PingOne's
// paths and shapes, on both databases: core and standard attributes as
// PingOne lists them, a custom attribute's create, read, PUT of what GET
// returned (nothing changes), PATCH and delete.
func TestSchemaAttributesAsSDK(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			tok := s.AdminToken(t)
			env := newEnv(t, s, "Schema", "SANDBOX")
			sid := userSchema(t, s, env)
			one := must(t, s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + env + "/schemas/" + sid, Token: tok}), 200)
			wantFields(t, one, map[string]any{"id": sid, "name": "User", "environment.id": env, "allowsContainsOperator": true,
				"_links.self.href": s.APIPath + "/environments/" + env + "/schemas/" + sid})
			attrs := "/environments/" + env + "/schemas/" + sid + "/attributes"

			list := must(t, s.Do(t, apptest.Request{Method: "GET", URL: attrs, Token: tok}), 200)
			byName := map[string]map[string]any{}
			for _, it := range get(list, "_embedded.attributes").([]any) {
				m := it.(map[string]any)
				for _, k := range []string{"id", "name", "schemaType", "type", "enabled", "required", "unique", "multiValued", "schema", "environment", "_links"} {
					if _, ok := m[k]; !ok {
						t.Errorf("attribute %v lacks %q", m["name"], k)
					}
				}
				byName[m["name"].(string)] = m
			}
			wantFields(t, byName["username"], map[string]any{"schemaType": "CORE", "type": "STRING", "required": true, "unique": true, "schema.id": sid})
			wantFields(t, byName["email"], map[string]any{"schemaType": "STANDARD", "type": "STRING", "unique": false, "enabled": true})
			wantFields(t, byName["name"], map[string]any{"schemaType": "STANDARD", "type": "COMPLEX"})
			if subs, _ := byName["address"]["subAttributes"].([]any); len(subs) != 5 {
				t.Errorf("address.subAttributes = %v, want its five members", byName["address"]["subAttributes"])
			}

			createdResp := s.Do(t, apptest.Request{Method: "POST", URL: attrs, Token: tok, Body: sdkSchemaAttribute("shirtSize")})
			created := must(t, createdResp, 201)
			id := checkID(t, created, "id")
			wantFields(t, created, map[string]any{"name": "shirtSize", "schemaType": "CUSTOM", "type": "STRING", "enabled": true,
				"required": false, "unique": false, "multiValued": false, "schema.id": sid, "environment.id": env,
				"displayName": "T-shirt size", "enumeratedValues": []any{map[string]any{"value": "S", "archived": false},
					map[string]any{"value": "M", "archived": false, "description": "Medium"}, map[string]any{"value": "XXS", "archived": true}},
				"_links.self.href": s.APIPath + attrs + "/" + id})
			got := s.Do(t, apptest.Request{Method: "GET", URL: attrs + "/" + id, Token: tok})
			must(t, got, 200)
			if !bytes.Equal(got.Body, createdResp.Body) {
				t.Errorf("GET differs from POST:\n%s\n%s", got.Body, createdResp.Body)
			}
			// A PUT of what GET returned changes nothing; the same for a
			// standard attribute (no row is made for it).
			var back map[string]any
			_ = json.Unmarshal(got.Body, &back)
			put := s.Do(t, apptest.Request{Method: "PUT", URL: attrs + "/" + id, Token: tok, Body: back})
			must(t, put, 200)
			if !bytes.Equal(put.Body, got.Body) {
				t.Errorf("PUT of GET drifted:\n%s\n%s", put.Body, got.Body)
			}
			emailURL := attrs + "/" + byName["email"]["id"].(string)
			must(t, s.Do(t, apptest.Request{Method: "PUT", URL: emailURL, Token: tok, Body: byName["email"]}), 200)

			patched := must(t, s.Do(t, apptest.Request{Method: "PATCH", URL: attrs + "/" + id, Token: tok,
				Body: map[string]any{"displayName": "Shirt", "multiValued": true}}), 200)
			wantFields(t, patched, map[string]any{"displayName": "Shirt", "multiValued": true, "description": "The size of the user's T-shirt."})

			// A standard attribute's mutable flags: unique and a regular
			// expression on email.
			std := must(t, s.Do(t, apptest.Request{Method: "PUT", URL: emailURL, Token: tok, Body: map[string]any{
				"name": "email", "type": "STRING", "enabled": true, "unique": true,
				"regexValidation": map[string]any{"pattern": ".*@example\\.com", "requirements": "An example.com address."}}}), 200)
			wantFields(t, std, map[string]any{"schemaType": "STANDARD", "unique": true, "regexValidation.pattern": ".*@example\\.com"})

			must(t, s.Do(t, apptest.Request{Method: "DELETE", URL: attrs + "/" + id, Token: tok}), 204)
			checkAnswer(t, s.Do(t, apptest.Request{Method: "GET", URL: attrs + "/" + id, Token: tok}), wantErr{status: 404, code: "NOT_FOUND"})
			checkAnswer(t, s.Do(t, apptest.Request{Method: "DELETE", URL: emailURL, Token: tok}), wantErr{status: 400, code: "REQUEST_FAILED"})
		})
	}
}

// TestSchemaAttributeErrors: PingOne's rules for defining attributes.
func TestSchemaAttributeErrors(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			tok := s.AdminToken(t)
			env := newEnv(t, s, "SchemaErrors", "SANDBOX")
			other := newEnv(t, s, "SchemaOther", "SANDBOX")
			sid := userSchema(t, s, env)
			attrs := "/environments/" + env + "/schemas/" + sid + "/attributes"
			id := checkID(t, must(t, s.Do(t, apptest.Request{Method: "POST", URL: attrs, Token: tok, Body: sdkSchemaAttribute("shirtSize")}), 201), "id")
			multi := sdkSchemaAttribute("tags")
			multi["multiValued"] = true
			delete(multi, "enumeratedValues")
			tagsID := checkID(t, must(t, s.Do(t, apptest.Request{Method: "POST", URL: attrs, Token: tok, Body: multi}), 201), "id")
			list := must(t, s.Do(t, apptest.Request{Method: "GET", URL: attrs, Token: tok}), 200)
			idOf := map[string]string{}
			for _, it := range get(list, "_embedded.attributes").([]any) {
				idOf[get(it.(map[string]any), "name").(string)] = get(it.(map[string]any), "id").(string)
			}
			with := func(name string, kv ...any) map[string]any {
				b := sdkSchemaAttribute(name)
				for i := 0; i+1 < len(kv); i += 2 {
					if kv[i+1] == nil {
						delete(b, kv[i].(string))
					} else {
						b[kv[i].(string)] = kv[i+1]
					}
				}
				return b
			}
			regex := map[string]any{"pattern": "[A-Z]{3}", "requirements": "Three capitals.", "valuesPatternShouldMatch": []any{"ABC"}}
			cases := []struct {
				name string
				req  apptest.Request
				want wantErr
			}{
				{"no name", apptest.Request{Method: "POST", URL: attrs, Body: with("", "name", nil)}, wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "name"}},
				{"bad name", apptest.Request{Method: "POST", URL: attrs, Body: with("9lives")}, wantErr{400, "INVALID_DATA", "INVALID_VALUE", "name"}},
				{"duplicate name", apptest.Request{Method: "POST", URL: attrs, Body: with("SHIRTSIZE")}, wantErr{400, "INVALID_DATA", "UNIQUENESS_VIOLATION", "name"}},
				{"a standard attribute's name", apptest.Request{Method: "POST", URL: attrs, Body: with("email")}, wantErr{400, "INVALID_DATA", "UNIQUENESS_VIOLATION", "name"}},
				{"BOOLEAN", apptest.Request{Method: "POST", URL: attrs, Body: with("flag", "type", "BOOLEAN", "enumeratedValues", nil)}, wantErr{400, "INVALID_DATA", "INVALID_VALUE", "type"}},
				{"no enabled", apptest.Request{Method: "POST", URL: attrs, Body: with("x", "enabled", nil)}, wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "enabled"}},
				{"unique JSON", apptest.Request{Method: "POST", URL: attrs, Body: with("j", "type", "JSON", "unique", true, "enumeratedValues", nil)}, wantErr{400, "INVALID_DATA", "INVALID_VALUE", "unique"}},
				{"enumerations and a regex", apptest.Request{Method: "POST", URL: attrs, Body: with("both", "regexValidation", regex)}, wantErr{400, "INVALID_DATA", "INVALID_VALUE", "enumeratedValues"}},
				{"duplicate enumerations", apptest.Request{Method: "POST", URL: attrs, Body: with("dup", "enumeratedValues", []any{map[string]any{"value": "a"}, map[string]any{"value": "A"}})},
					wantErr{400, "INVALID_DATA", "INVALID_VALUE", "enumeratedValues[1].value"}},
				{"a pattern that does not compile", apptest.Request{Method: "POST", URL: attrs, Body: with("re", "enumeratedValues", nil,
					"regexValidation", map[string]any{"pattern": "(", "requirements": "x"})}, wantErr{400, "INVALID_DATA", "INVALID_VALUE", "regexValidation.pattern"}},
				{"an example the pattern refuses", apptest.Request{Method: "POST", URL: attrs, Body: with("re", "enumeratedValues", nil,
					"regexValidation", map[string]any{"pattern": "[A-Z]{3}", "requirements": "x", "valuesPatternShouldMatch": []any{"abc"}})},
					wantErr{400, "INVALID_DATA", "INVALID_VALUE", "regexValidation.valuesPatternShouldMatch[0]"}},
				{"required on update", apptest.Request{Method: "PUT", URL: attrs + "/" + id, Body: with("shirtSize", "required", true)}, wantErr{400, "INVALID_DATA", "INVALID_VALUE", "required"}},
				{"type on update", apptest.Request{Method: "PUT", URL: attrs + "/" + id, Body: with("shirtSize", "type", "JSON", "enumeratedValues", nil)}, wantErr{400, "INVALID_DATA", "INVALID_VALUE", "type"}},
				{"rename", apptest.Request{Method: "PUT", URL: attrs + "/" + id, Body: with("shirt")}, wantErr{400, "INVALID_DATA", "INVALID_VALUE", "name"}},
				{"an enumerated value removed", apptest.Request{Method: "PUT", URL: attrs + "/" + id, Body: with("shirtSize", "enumeratedValues", []any{map[string]any{"value": "S"}})},
					wantErr{400, "INVALID_DATA", "INVALID_VALUE", "enumeratedValues"}},
				{"multi-valued back to single", apptest.Request{Method: "PUT", URL: attrs + "/" + tagsID, Body: with("tags", "enumeratedValues", nil)},
					wantErr{400, "INVALID_DATA", "INVALID_VALUE", "multiValued"}},
				{"a core attribute changed", apptest.Request{Method: "PUT", URL: attrs + "/" + idOf["username"], Body: map[string]any{"name": "username", "type": "STRING", "enabled": false}},
					wantErr{400, "INVALID_DATA", "INVALID_VALUE", "enabled"}},
				{"a standard attribute's display name", apptest.Request{Method: "PATCH", URL: attrs + "/" + idOf["title"], Body: map[string]any{"displayName": "Job"}},
					wantErr{400, "INVALID_DATA", "INVALID_VALUE", "displayName"}},
				{"a core attribute deleted", apptest.Request{Method: "DELETE", URL: attrs + "/" + idOf["username"]}, wantErr{400, "REQUEST_FAILED", "", ""}},
				{"malformed JSON", apptest.Request{Method: "POST", URL: attrs, Body: `{"name":`}, wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", ""}},
				{"unknown attribute", apptest.Request{Method: "GET", URL: attrs + "/6b0f3f0e-6a36-4c1e-9d1a-2f4c1b7d0e51"}, wantErr{404, "NOT_FOUND", "", ""}},
				// Isolation: one environment's schema and attribute ids reach
				// nothing of another's.
				{"another environment's schema", apptest.Request{Method: "GET", URL: "/environments/" + other + "/schemas/" + sid}, wantErr{404, "NOT_FOUND", "", ""}},
				{"another environment's attribute", apptest.Request{Method: "GET", URL: "/environments/" + other + "/schemas/" + userSchema(t, s, other) + "/attributes/" + id},
					wantErr{404, "NOT_FOUND", "", ""}},
				{"delete through another environment", apptest.Request{Method: "DELETE", URL: "/environments/" + other + "/schemas/" + userSchema(t, s, other) + "/attributes/" + id},
					wantErr{404, "NOT_FOUND", "", ""}},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					tc.req.Token = tok
					checkAnswer(t, doNo5xx(t, s, tc.req), tc.want)
				})
			}
			// Nothing of the refused writes stuck.
			wantFields(t, must(t, s.Do(t, apptest.Request{Method: "GET", URL: attrs + "/" + id, Token: tok}), 200),
				map[string]any{"name": "shirtSize", "type": "STRING", "required": false})
		})
	}
}

// TestUserSchemaValidation: user writes checked against the schema, on
// every management path (create, import, PUT, PATCH), with PingOne's
// errors.
func TestUserSchemaValidation(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			tok := s.AdminToken(t)
			env := newEnv(t, s, "Validation", "SANDBOX")
			sid := userSchema(t, s, env)
			attrs := "/environments/" + env + "/schemas/" + sid + "/attributes"
			must(t, s.Do(t, apptest.Request{Method: "POST", URL: attrs, Token: tok, Body: sdkSchemaAttribute("shirtSize")}), 201)
			code := sdkSchemaAttribute("code")
			delete(code, "enumeratedValues")
			code["regexValidation"] = map[string]any{"pattern": "[A-Z]{3}-[0-9]+", "requirements": "Three capitals, a dash and digits."}
			must(t, s.Do(t, apptest.Request{Method: "POST", URL: attrs, Token: tok, Body: code}), 201)
			prefs := map[string]any{"name": "prefs", "type": "JSON", "enabled": true}
			must(t, s.Do(t, apptest.Request{Method: "POST", URL: attrs, Token: tok, Body: prefs}), 201)
			tags := map[string]any{"name": "tags", "type": "STRING", "enabled": true, "multiValued": true}
			must(t, s.Do(t, apptest.Request{Method: "POST", URL: attrs, Token: tok, Body: tags}), 201)
			off := map[string]any{"name": "legacy", "type": "STRING", "enabled": false}
			must(t, s.Do(t, apptest.Request{Method: "POST", URL: attrs, Token: tok, Body: off}), 201)

			users := "/environments/" + env + "/users"
			joe := users + "/" + userCreate(t, s, env, map[string]any{"username": "joe", "shirtSize": "M", "code": "ABC-1",
				"prefs": map[string]any{"color": "blue"}, "tags": []any{"a", "b"}, "legacy": "dropped"})["id"].(string)
			got := must(t, s.Do(t, apptest.Request{Method: "GET", URL: joe, Token: tok}), 200)
			wantFields(t, got, map[string]any{"shirtSize": "M", "code": "ABC-1", "prefs.color": "blue", "tags": []any{"a", "b"}, "legacy": nil})

			imp := "application/vnd.pingidentity.user.import+json"
			cases := []struct {
				name string
				req  apptest.Request
				want wantErr
			}{
				{"unknown attribute", apptest.Request{Method: "POST", URL: users, Body: map[string]any{"username": "u1", "favourite": "x"}}, wantErr{400, "INVALID_DATA", "INVALID_VALUE", "favourite"}},
				{"unknown attribute by import", apptest.Request{Method: "POST", URL: users, ContentType: imp, Body: map[string]any{"username": "u1", "favourite": "x"}}, wantErr{400, "INVALID_DATA", "INVALID_VALUE", "favourite"}},
				{"a number for a STRING", apptest.Request{Method: "POST", URL: users, Body: map[string]any{"username": "u2", "code": 7}}, wantErr{400, "INVALID_DATA", "INVALID_VALUE", "code"}},
				{"outside the enumeration", apptest.Request{Method: "POST", URL: users, Body: map[string]any{"username": "u3", "shirtSize": "XL"}}, wantErr{400, "INVALID_DATA", "INVALID_VALUE", "shirtSize"}},
				{"an archived value", apptest.Request{Method: "POST", URL: users, Body: map[string]any{"username": "u4", "shirtSize": "XXS"}}, wantErr{400, "INVALID_DATA", "INVALID_VALUE", "shirtSize"}},
				{"a regex mismatch", apptest.Request{Method: "POST", URL: users, Body: map[string]any{"username": "u5", "code": "abc-1"}}, wantErr{400, "INVALID_DATA", "INVALID_VALUE", "code"}},
				{"an array for a single value", apptest.Request{Method: "PUT", URL: joe, Body: map[string]any{"username": "joe", "shirtSize": []any{"M"}}}, wantErr{400, "INVALID_DATA", "INVALID_VALUE", "shirtSize"}},
				{"a string for JSON", apptest.Request{Method: "PATCH", URL: joe, Body: map[string]any{"prefs": "blue"}}, wantErr{400, "INVALID_DATA", "INVALID_VALUE", "prefs"}},
				{"a number among many", apptest.Request{Method: "PATCH", URL: joe, Body: map[string]any{"tags": []any{"a", 1}}}, wantErr{400, "INVALID_DATA", "INVALID_VALUE", "tags"}},
				{"a regex mismatch by patch", apptest.Request{Method: "PATCH", URL: joe, Body: map[string]any{"code": "ABC"}}, wantErr{400, "INVALID_DATA", "INVALID_VALUE", "code"}},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					tc.req.Token = tok
					m := checkAnswer(t, doNo5xx(t, s, tc.req), tc.want)
					if tc.name == "outside the enumeration" {
						wantFields(t, detailAt(t, m, 0), map[string]any{"innerError.allowedValues": []any{"S", "M"}})
					}
					if tc.name == "a regex mismatch" {
						wantFields(t, detailAt(t, m, 0), map[string]any{"message": "Three capitals, a dash and digits.",
							"innerError.allowedPattern": "[A-Z]{3}-[0-9]+"})
					}
				})
			}
			// The refused writes changed nothing; an archived value a user
			// holds may stay.
			wantFields(t, must(t, s.Do(t, apptest.Request{Method: "GET", URL: joe, Token: tok}), 200),
				map[string]any{"code": "ABC-1", "prefs.color": "blue", "tags": []any{"a", "b"}})
		})
	}
}

// TestUniqueAttributeRace: a unique attribute holds under 50 parallel
// creates of one value (exactly one wins, the others get PingOne's
// uniqueness violation), on updates and deletes, and making an attribute
// unique fails while users share a value.
func TestUniqueAttributeRace(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			tok := s.AdminToken(t)
			env := newEnv(t, s, "Unique", "SANDBOX")
			sid := userSchema(t, s, env)
			attrs := "/environments/" + env + "/schemas/" + sid + "/attributes"
			must(t, s.Do(t, apptest.Request{Method: "POST", URL: attrs, Token: tok,
				Body: map[string]any{"name": "employeeId", "type": "STRING", "enabled": true, "unique": true}}), 201)
			users := "/environments/" + env + "/users"

			const n = 50
			statuses := make([]*apptest.Response, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					statuses[i] = s.Do(t, apptest.Request{Method: "POST", URL: users, Token: tok,
						Body: map[string]any{"username": "racer" + strings.Repeat("x", i), "employeeId": "E-42"}})
				}()
			}
			wg.Wait()
			won := 0
			for _, r := range statuses {
				switch r.Status {
				case http.StatusCreated:
					won++
				default:
					checkAnswer(t, r, wantErr{400, "INVALID_DATA", "UNIQUENESS_VIOLATION", "employeeId"})
				}
			}
			if won != 1 {
				t.Fatalf("%d creates won, want exactly 1", won)
			}
			// Case does not make a value another one.
			checkAnswer(t, s.Do(t, apptest.Request{Method: "POST", URL: users, Token: tok, Body: map[string]any{"username": "e", "employeeId": "e-42"}}),
				wantErr{400, "INVALID_DATA", "UNIQUENESS_VIOLATION", "employeeId"})
			other := users + "/" + userCreate(t, s, env, map[string]any{"username": "other", "employeeId": "E-43"})["id"].(string)
			checkAnswer(t, s.Do(t, apptest.Request{Method: "PATCH", URL: other, Token: tok, Body: map[string]any{"employeeId": "E-42"}}),
				wantErr{400, "INVALID_DATA", "UNIQUENESS_VIOLATION", "employeeId"})
			// The winner's delete frees the value.
			list := must(t, s.Do(t, apptest.Request{Method: "GET", URL: userFilterURL(users, `username sw "racer"`), Token: tok}), 200)
			winner := get(list, "_embedded.users").([]any)[0].(map[string]any)["id"].(string)
			must(t, s.Do(t, apptest.Request{Method: "DELETE", URL: users + "/" + winner, Token: tok}), 204)
			must(t, s.Do(t, apptest.Request{Method: "PATCH", URL: other, Token: tok, Body: map[string]any{"employeeId": "E-42"}}), 200)

			// A standard attribute made unique while two users share a value.
			userCreate(t, s, env, map[string]any{"username": "a", "email": "same@example.com"})
			userCreate(t, s, env, map[string]any{"username": "b", "email": "SAME@example.com"})
			al := must(t, s.Do(t, apptest.Request{Method: "GET", URL: attrs, Token: tok}), 200)
			var email map[string]any
			for _, it := range get(al, "_embedded.attributes").([]any) {
				if it.(map[string]any)["name"] == "email" {
					email = it.(map[string]any)
				}
			}
			email["unique"] = true
			checkAnswer(t, s.Do(t, apptest.Request{Method: "PUT", URL: attrs + "/" + email["id"].(string), Token: tok, Body: email}),
				wantErr{400, "INVALID_DATA", "UNIQUENESS_VIOLATION", "unique"})
			wantFields(t, must(t, s.Do(t, apptest.Request{Method: "GET", URL: attrs + "/" + email["id"].(string), Token: tok}), 200),
				map[string]any{"unique": false})
		})
	}
}
