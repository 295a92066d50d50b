package mgmt_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// TestPopulationDefaultRaces makes each of several populations the default
// at once (as pingone_population_default does) beside deletes of each and
// replaces naming a theme being deleted. Each request answers as it would
// alone, and the environment ends with exactly one default population.
func TestPopulationDefaultRaces(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			env := newEnv(t, s, "Population races", "SANDBOX")
			tok := s.AdminToken(t)
			pops := "/environments/" + env + "/populations"
			for round := range 4 {
				ids := make([]string, 4)
				for i := range ids {
					ids[i] = newPop(t, s, env, fmt.Sprintf("Race %d.%d", round, i))
				}
				theme := checkID(t, themeCreate(t, s, env, tfTheme("focus", fmt.Sprintf("Race %d", round))), "id")
				rc := newRace(t, s)
				for i, id := range ids {
					name := fmt.Sprintf("Race %d.%d", round, i)
					rc.send("PUT default:true", apptest.Request{Method: "PUT", URL: pops + "/" + id, Token: tok,
						Body: map[string]any{"name": name, "default": true}})
					rc.send("PUT theme", apptest.Request{Method: "PUT", URL: pops + "/" + id, Token: tok,
						Body: map[string]any{"name": name, "theme": map[string]any{"id": theme}}})
					rc.send("DELETE", apptest.Request{Method: "DELETE", URL: pops + "/" + id, Token: tok})
				}
				rc.send("DELETE theme", apptest.Request{Method: "DELETE", URL: themesURL(env) + "/" + theme, Token: tok})
				for _, a := range rc.run() {
					ok := a.status == http.StatusNotFound && a.code == "NOT_FOUND"
					switch a.what {
					case "PUT default:true":
						ok = ok || a.status == http.StatusOK
					case "PUT theme":
						// The theme may be gone by then.
						ok = ok || a.status == http.StatusOK || a.status == http.StatusBadRequest && a.code == "INVALID_DATA"
					case "DELETE":
						// The default population stays.
						ok = ok || a.status == http.StatusNoContent || a.status == http.StatusBadRequest && a.code == "REQUEST_FAILED"
					case "DELETE theme":
						ok = a.status == http.StatusNoContent
					}
					if !ok {
						t.Errorf("round %d: %s answered %d: %s", round, a.what, a.status, a.body)
					}
				}
				list := must(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: pops + "?filter=default%20eq%20true", Token: tok}), http.StatusOK)
				if list["count"] != float64(1) {
					t.Fatalf("round %d: %v default populations, want 1", round, list["count"])
				}
				// No population names the deleted theme: each shows the default.
				def := defaultThemeID(t, s, env)
				all := must(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: pops, Token: tok}), http.StatusOK)
				for _, p := range get(all, "_embedded.populations").([]any) {
					if got := get(p.(map[string]any), "theme.id"); got != def {
						t.Errorf("round %d: population %v shows theme %v, want the default %s", round, get(p.(map[string]any), "name"), got, def)
					}
				}
			}
		})
	}
}
