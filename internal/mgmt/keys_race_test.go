package mgmt_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// TestKeyDefaultRaces deletes every signing key of an environment at once,
// its default among them, beside requests that move the default flag both
// ways (as PingOne's Terraform provider does on destroy and update). Each
// request answers as it would alone, and the environment keeps exactly one
// default signing key, an existing one: the last valid signing key is never
// deleted, whichever delete comes last.
func TestKeyDefaultRaces(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			c := newCfgAPI(t, s, "Key races")
			for round := range 3 {
				ids := []string{}
				for _, k := range c.list(t, "/keys", "keys") {
					ids = append(ids, k["id"].(string))
				}
				for i := range 3 {
					created := c.ok(t, "POST", "/keys", map[string]any{"name": fmt.Sprintf("Race %d.%d", round, i), "algorithm": "EC",
						"keyLength": 256, "signatureAlgorithm": "SHA256withECDSA", "subjectDN": fmt.Sprintf("CN=Race %d.%d", round, i),
						"usageType": "SIGNING", "validityPeriod": 30, "default": i == 0}, http.StatusCreated)
					ids = append(ids, checkID(t, created, "id"))
				}
				rc := newRace(t, s)
				for _, id := range ids {
					for _, req := range []struct {
						what, method string
						body         any
					}{
						{"DELETE", "DELETE", nil},
						{"PUT default:true", "PUT", map[string]any{"default": true, "usageType": "SIGNING"}},
						{"PUT default:false", "PUT", map[string]any{"default": false, "usageType": "SIGNING"}},
					} {
						rc.send(req.what, apptest.Request{Method: req.method, URL: c.url("/keys/" + id), Token: c.tok, Body: req.body})
					}
				}
				for _, a := range rc.run() {
					ok := a.status == http.StatusNotFound && a.code == "NOT_FOUND"
					switch a.what {
					case "DELETE":
						// The last valid signing key stays.
						ok = ok || a.status == http.StatusNoContent || a.status == http.StatusBadRequest && a.code == "REQUEST_FAILED"
					case "PUT default:true":
						ok = ok || a.status == http.StatusOK
					case "PUT default:false":
						// The only valid signing key keeps the flag.
						ok = ok || a.status == http.StatusOK || a.status == http.StatusBadRequest && a.code == "INVALID_DATA"
					}
					if !ok {
						t.Errorf("round %d: %s answered %d: %s", round, a.what, a.status, a.body)
					}
				}
				defaults := 0
				left := c.list(t, "/keys", "keys")
				for _, k := range left {
					if k["usageType"] == "SIGNING" && k["default"] == true {
						defaults++
					}
				}
				if len(left) == 0 || defaults != 1 {
					t.Fatalf("round %d: %d keys left, %d of them the default signing key; want at least one, one default: %v", round, len(left), defaults, left)
				}
				// Tokens are still signed.
				s.AdminToken(t)
				s.Token(t, s.CreateWorker(t, c.env, "CLIENT_SECRET_BASIC"))
			}
		})
	}
}
