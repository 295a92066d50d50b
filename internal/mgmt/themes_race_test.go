package mgmt_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// TestThemeDefaultRaces runs every write that moves or depends on the
// default flag at once over the same themes: making each the default (both
// ways PingOne's Terraform provider does it), replacing each with
// default:false, and deleting each. Every request answers as it would alone
// (a default switch never fails for another one), and the environment ends
// with exactly one default theme, an existing one.
func TestThemeDefaultRaces(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			env := newEnv(t, s, "Theme races", "SANDBOX")
			tok := s.AdminToken(t)
			for round := range 6 {
				ids := make([]string, 4)
				for i := range ids {
					ids[i] = checkID(t, themeCreate(t, s, env, tfTheme("focus", fmt.Sprintf("Race %d.%d", round, i))), "id")
				}
				rc := newRace(t, s)
				for _, id := range ids {
					u := themesURL(env) + "/" + id
					rc.send("PUT …/default", apptest.Request{Method: "PUT", URL: u + "/default", Token: tok, Body: map[string]any{"default": true}})
					rc.send("POST default:true", apptest.Request{Method: "POST", URL: themesURL(env), Token: tok,
						Body: func() map[string]any { b := tfTheme("split", "Created default "+id); b["default"] = true; return b }()})
					rc.send("PUT default:false", apptest.Request{Method: "PUT", URL: u, Token: tok, Body: tfTheme("mural", "Replaced")})
					rc.send("DELETE", apptest.Request{Method: "DELETE", URL: u, Token: tok})
				}
				for _, a := range rc.run() {
					ok := false
					switch a.what {
					case "PUT …/default", "PUT default:false":
						ok = a.status == http.StatusOK || a.status == http.StatusNotFound && a.code == "NOT_FOUND"
					case "POST default:true":
						ok = a.status == http.StatusCreated
					case "DELETE":
						ok = a.status == http.StatusNoContent || a.status == http.StatusNotFound && a.code == "NOT_FOUND" ||
							a.status == http.StatusBadRequest && a.code == "REQUEST_FAILED"
					}
					if !ok {
						t.Errorf("round %d: %s answered %d: %s", round, a.what, a.status, a.body)
					}
				}
				list := must(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: themesURL(env) + "?filter=" + "default%20eq%20true", Token: tok}), http.StatusOK)
				if list["count"] != float64(1) {
					t.Fatalf("round %d: %v default themes, want 1: %v", round, list["count"], list)
				}
				defaultThemeID(t, s, env)
			}
		})
	}
}
