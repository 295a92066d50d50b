package flow_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
)

// BenchmarkWrongPassword times usernamePassword.check with a wrong
// password, end to end over HTTP, for a user and for a username that
// names no user (a new one each time, as an enumeration tries them),
// alternately, each in a fresh flow, and reports both medians side by
// side with the spread of the user's (the noise of the hash itself).
// Lockout and the rate limits are off so that every check hashes.
//
//	go test -run '^$' -bench WrongPassword -benchtime 200x ./internal/flow/
func BenchmarkWrongPassword(b *testing.B) {
	for _, be := range apptest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			s := apptest.Start(b, apptest.Options{DSN: be.DSN(b), Limits: &ratelimit.Config{}})
			fx := s.NewSignOn(b, apptest.SignOnOptions{})
			adm := func(method, path string, body any) map[string]any {
				r := s.Do(b, apptest.Request{Method: method, URL: "/environments/" + fx.EnvID + path, Body: body, Token: s.AdminToken(b)})
				if r.Status != http.StatusOK {
					b.Fatalf("%s %s: %d %s", method, path, r.Status, r.Body)
				}
				return r.JSON(b)
			}
			polID := adm("GET", "/users/"+fx.UserID+"/password", nil)["passwordPolicy"].(map[string]any)["id"].(string)
			pol := adm("GET", "/passwordPolicies/"+polID, nil)
			delete(pol, "lockout")
			adm("PUT", "/passwordPolicies/"+polID, pol)

			base := s.URL + "/" + fx.EnvID
			authURL := base + "/as/authorize?" + url.Values{"response_type": {"code"}, "client_id": {fx.AppID}, "redirect_uri": {fx.RedirectURI},
				"scope": {"openid"}, "response_mode": {"pi.flow"}}.Encode()
			jar, _ := cookiejar.New(nil)
			c := &http.Client{Jar: jar}
			do := func(method, u, ct string, body []byte) (int, []byte) {
				req, _ := http.NewRequest(method, u, bytes.NewReader(body))
				if ct != "" {
					req.Header.Set("Content-Type", ct)
				}
				res, err := c.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				defer res.Body.Close()
				out, _ := io.ReadAll(res.Body)
				return res.StatusCode, out
			}
			// check times one wrong password for username in a new flow.
			check := func(username string) time.Duration {
				var fl struct{ ID string }
				if st, body := do("GET", authURL, "", nil); st != 200 || json.Unmarshal(body, &fl) != nil {
					b.Fatalf("authorize: %d %s", st, body)
				}
				creds, _ := json.Marshal(map[string]string{"username": username, "password": wrongPassword})
				start := time.Now()
				st, body := do("POST", base+"/flows/"+fl.ID, ctCheck, creds)
				d := time.Since(start)
				if st != http.StatusBadRequest || !bytes.Contains(body, []byte(`"INVALID_CREDENTIALS"`)) {
					b.Fatalf("check: %d %s", st, body)
				}
				return d
			}
			check(fx.Username) // warm the caches and the connection
			var real, unknown []time.Duration
			b.ResetTimer()
			for i := range b.N {
				// Alternate which goes first, so that neither always follows
				// the other's work.
				if i%2 == 0 {
					real = append(real, check(fx.Username))
					unknown = append(unknown, check("ghost."+uuid.NewString()[:8]))
				} else {
					unknown = append(unknown, check("ghost."+uuid.NewString()[:8]))
					real = append(real, check(fx.Username))
				}
			}
			b.StopTimer()
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
			r50, u50 := quantile(real, 0.5), quantile(unknown, 0.5)
			b.ReportMetric(ms(r50), "real-p50-ms")
			b.ReportMetric(ms(u50), "unknown-p50-ms")
			b.ReportMetric(ms(u50-r50), "diff-ms")
			b.ReportMetric(ms(quantile(real, 0.75)-quantile(real, 0.25)), "real-iqr-ms")
			b.ReportMetric(ms(quantile(unknown, 0.75)-quantile(unknown, 0.25)), "unknown-iqr-ms")
		})
	}
}

// quantile is the q-quantile of ds (nearest rank).
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}
