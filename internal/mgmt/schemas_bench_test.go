package mgmt_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// What the user schema costs a user create: without custom attributes,
// and with a unique and an enumerated one set on every user (the schema
// read in the write's transaction, the checks, and the claimed value).
//
//	go test -run '^$' -bench UserCreateSchema ./internal/mgmt/
func BenchmarkUserCreateSchema(b *testing.B) {
	for _, be := range apptest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			s := apptest.Start(b, apptest.Options{DSN: be.DSN(b)})
			tok := s.AdminToken(b)
			plain := newEnv(b, s, "Plain", "SANDBOX")
			schema := newEnv(b, s, "Schema", "SANDBOX")
			attrs := "/environments/" + schema + "/schemas/" + userSchemaB(b, s, schema) + "/attributes"
			for _, body := range []map[string]any{
				{"name": "employeeId", "type": "STRING", "enabled": true, "unique": true},
				{"name": "shirtSize", "type": "STRING", "enabled": true, "enumeratedValues": []any{map[string]any{"value": "S"}, map[string]any{"value": "M"}}},
			} {
				if r := s.Do(b, apptest.Request{Method: "POST", URL: attrs, Token: tok, Body: body}); r.Status != http.StatusCreated {
					b.Fatalf("%d %s", r.Status, r.Body)
				}
			}
			for _, c := range []struct {
				name, env string
				extra     map[string]any
			}{{"no custom attributes", plain, nil}, {"unique and enumerated", schema, map[string]any{"shirtSize": "M"}}} {
				seq := 0 // b.N's runs share the environment: every user is new
				b.Run(c.name, func(b *testing.B) {
					q0 := s.Queries()
					for range b.N {
						seq++
						i := seq
						body := map[string]any{"username": fmt.Sprintf("u%s%d", c.name[:2], i)}
						for k, v := range c.extra {
							body[k] = v
						}
						if c.extra != nil {
							body["employeeId"] = fmt.Sprintf("E-%d", i)
						}
						if r := s.Do(b, apptest.Request{Method: "POST", URL: "/environments/" + c.env + "/users", Token: tok, Body: body}); r.Status != http.StatusCreated {
							b.Fatalf("%d %s", r.Status, r.Body)
						}
					}
					b.ReportMetric(float64(s.Queries()-q0)/float64(b.N), "queries/op")
				})
			}
		})
	}
}

func userSchemaB(b *testing.B, s *apptest.Server, envID string) string {
	b.Helper()
	r := s.Do(b, apptest.Request{Method: "GET", URL: "/environments/" + envID + "/schemas", Token: s.AdminToken(b)})
	return r.JSON(b)["_embedded"].(map[string]any)["schemas"].([]any)[0].(map[string]any)["id"].(string)
}
