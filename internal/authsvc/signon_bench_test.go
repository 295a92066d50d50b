package authsvc_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
)

// A sign-on should cost one password hash and little else. Compare
// BenchmarkHeadlessSignOn with BenchmarkHashDefault (internal/password) and
// BenchmarkRS256, and BenchmarkFlowStep (no hashing) with both:
//
//	go test -run '^$' -bench 'SignOn|FlowStep' ./internal/authsvc/

type benchClient struct {
	b testing.TB
	c *http.Client
}

func newBenchClient(b testing.TB) *benchClient {
	jar, _ := cookiejar.New(nil)
	return &benchClient{b: b, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: benchTransport}}
}

var benchTransport = &http.Transport{MaxIdleConnsPerHost: 16}

func (bc *benchClient) do(method, u, ct, body string, basic [2]string, out any) int {
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if basic[0] != "" {
		req.SetBasicAuth(basic[0], basic[1])
	}
	resp, err := bc.c.Do(req)
	if err != nil {
		bc.b.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && json.Unmarshal(b, out) != nil {
		bc.b.Fatalf("%s %s: %d %s", method, u, resp.StatusCode, b)
	}
	return resp.StatusCode
}

// BenchmarkHeadlessSignOn is one whole pi.flow sign-on per op: authorize,
// usernamePassword.check, resume and the code exchanged for tokens.
func BenchmarkHeadlessSignOn(b *testing.B) {
	for _, be := range apptest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			s := apptest.Start(b, apptest.Options{DSN: be.DSN(b)})
			benchHeadlessSignOns(b, s, s.NewSignOn(b, apptest.SignOnOptions{}))
		})
	}
}

// benchHeadlessSignOns runs one whole pi.flow sign-on per op for fx.
func benchHeadlessSignOns(b *testing.B, s *apptest.Server, fx *apptest.SignOn) {
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			headlessSignOn(b, s, fx)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "signons/s")
}

// BenchmarkFlowStep is the flow API without password hashing: starting a
// flow (authorize), reading it, and a write step (session.reset).
func BenchmarkFlowStep(b *testing.B) {
	for _, be := range apptest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			// Flows started and never finished, from one address, are what
			// the flow limits stop: they are off here, to measure authorize.
			s := apptest.Start(b, apptest.Options{DSN: be.DSN(b), Limits: &ratelimit.Config{}})
			fx := s.NewSignOn(b, apptest.SignOnOptions{})
			base := s.URL + "/" + fx.EnvID
			authURL := base + "/as/authorize?" + url.Values{"response_type": {"code"}, "client_id": {fx.AppID}, "redirect_uri": {fx.RedirectURI},
				"scope": {"openid"}, "response_mode": {"pi.flow"}}.Encode()
			b.Run("authorize", func(b *testing.B) {
				q0 := s.Queries()
				b.RunParallel(func(pb *testing.PB) {
					bc := newBenchClient(b)
					for pb.Next() {
						var fl struct{ Status string }
						if bc.do("GET", authURL, "", "", [2]string{}, &fl); fl.Status != "USERNAME_PASSWORD_REQUIRED" {
							b.Fatalf("status %q", fl.Status)
						}
					}
				})
				b.ReportMetric(float64(s.Queries()-q0)/float64(b.N), "queries/op")
			})
			for _, step := range []struct{ name, method, ct string }{
				{"read", "GET", ""},
				{"session.reset", "POST", "application/vnd.pingidentity.session.reset+json"},
			} {
				b.Run(step.name, func(b *testing.B) {
					b.RunParallel(func(pb *testing.PB) {
						bc := newBenchClient(b)
						var fl struct{ ID, Status string }
						bc.do("GET", authURL, "", "", [2]string{}, &fl)
						for pb.Next() {
							if st := bc.do(step.method, base+"/flows/"+fl.ID, step.ct, "{}", [2]string{}, &fl); st != 200 {
								b.Fatalf("%s: %d", step.name, st)
							}
						}
					})
				})
			}
		})
	}
}
