package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
)

const (
	ctCheck   = "application/vnd.pingidentity.usernamePassword.check+json"
	ctForgot  = "application/vnd.pingidentity.password.forgot+json"
	ctRecover = "application/vnd.pingidentity.password.recover+json"
)

// errorDetail is the first detail's code of a PingOne error body.
func errorDetail(t *testing.T, h *hit) string {
	t.Helper()
	var e struct{ Details []struct{ Code string } }
	if err := json.Unmarshal(h.body, &e); err != nil || len(e.Details) == 0 {
		t.Fatalf("not an error with details: %s", h)
	}
	return e.Details[0].Code
}

// startFlow begins a sign-on in a new browser from address from.
func (x *signOn) startFlow(t *testing.T, from string) (*agent, string) {
	t.Helper()
	b := newBrowser(t, from)
	return b, flowID(t, mustHit(t)(x.authorize(b)))
}

// TestFailedChecksPerAddress: wrong passwords and wrong recovery codes
// from one address count together; once its bound is spent the flow API
// answers 429 in PingOne's shape before checking anything, the right
// password included, and other addresses are served.
func TestFailedChecksPerAddress(t *testing.T) {
	const why = "Too many failed sign-on attempts from this address."
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t), TrustedProxies: trustLocal, Limits: tight(func(c *ratelimit.Config) {
				c.CheckFailuresPerAddress = ratelimit.Rate{N: 4, Per: time.Hour}
			})})
			x := &signOn{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{})}
			const from = "198.51.100.7"
			// Three wrong passwords for three usernames, real or not.
			for i, name := range []string{x.fx.Username, "nobody-1", "nobody-2"} {
				b, f := x.startFlow(t, from)
				h := mustHit(t)(x.check(b, f, name, "Wrong-Password-1!"))
				if h.status != 400 || errorDetail(t, h) != "INVALID_CREDENTIALS" {
					t.Fatalf("wrong password %d: %s", i, h)
				}
			}
			// A wrong recovery code is the fourth failure.
			b, f := x.startFlow(t, from)
			if h := b.must(t, "POST", x.base()+"/flows/"+f, ctForgot, `{"username":"`+x.fx.Username+`"}`); h.status != 200 {
				t.Fatalf("password.forgot: %s", h)
			}
			code := lastCode(t, s, x.fx.Email)
			wrong := "00000000"
			if code == wrong {
				wrong = "11111111"
			}
			if h := b.must(t, "POST", x.base()+"/flows/"+f, ctRecover, `{"recoveryCode":"`+wrong+`","newPassword":"Another-Pass-2026!"}`); h.status != 400 {
				t.Fatalf("wrong code: %s", h)
			}
			// Spent: the right code, and the right password, are refused.
			sent := time.Now()
			h := b.must(t, "POST", x.base()+"/flows/"+f, ctRecover, `{"recoveryCode":"`+code+`","newPassword":"Another-Pass-2026!"}`)
			wantPingOneLimited(t, h, why, sent)
			wantRetryAfter(t, h, 900, "one failure back every 15 minutes")
			b, f = x.startFlow(t, from)
			wantPingOneLimited(t, mustHit(t)(x.check(b, f, x.fx.Username, x.fx.Password)), why, sent)
			// The flow was left as it was: its status still asks for the
			// password.
			if h := b.must(t, "GET", x.base()+"/flows/"+f, "", ""); h.status != 200 || !strings.Contains(string(h.body), `"USERNAME_PASSWORD_REQUIRED"`) {
				t.Fatalf("flow after a refusal: %s", h)
			}
			// Another address signs on.
			b, f = x.startFlow(t, "198.51.100.8")
			if h := mustHit(t)(x.check(b, f, x.fx.Username, x.fx.Password)); h.status != 200 || !strings.Contains(string(h.body), `"COMPLETED"`) {
				t.Fatalf("another address: %s", h)
			}
		})
	}
}

func lastCode(t *testing.T, s *apptest.Server, email string) string {
	t.Helper()
	m, ok := s.Mail.Last(email)
	if !ok || len(m.Code) != 8 {
		t.Fatalf("no code mailed to %s", email)
	}
	return m.Code
}

// TestFailedChecksPerUser: wrong passwords for one username from many
// addresses count against the username, whether or not it names a user,
// and the refusal reads the same for both; other usernames are not
// affected.
func TestFailedChecksPerUser(t *testing.T) {
	const why = "Too many failed sign-on attempts for this user."
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t), TrustedProxies: trustLocal, Limits: tight(func(c *ratelimit.Config) {
				c.CheckFailuresPerUser = ratelimit.Rate{N: 3, Per: time.Hour}
			})})
			x := &signOn{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{})}
			var refusals [][]byte
			for _, name := range []string{x.fx.Username, "ghost-" + x.fx.Username} {
				for i := range 3 {
					b, f := x.startFlow(t, fmt.Sprintf("203.0.113.%d", i+1))
					// The username in other letter cases is the same user.
					typed := name
					if i == 1 {
						typed = strings.ToUpper(name)
					}
					h := mustHit(t)(x.check(b, f, typed, "Wrong-Password-1!"))
					if h.status != 400 || errorDetail(t, h) != "INVALID_CREDENTIALS" {
						t.Fatalf("%s, wrong password %d: %s", name, i, h)
					}
				}
				b, f := x.startFlow(t, "203.0.113.99")
				sent := time.Now()
				h := mustHit(t)(x.check(b, f, name, "Wrong-Password-1!"))
				wantPingOneLimited(t, h, why, sent)
				var e map[string]any
				json.Unmarshal(h.body, &e)
				delete(e, "id")
				delete(e["details"].([]any)[0].(map[string]any)["innerError"].(map[string]any), "retryAfter")
				b2, _ := json.Marshal(e)
				refusals = append(refusals, append(b2, []byte(" Retry-After: "+h.header.Get("Retry-After"))...))
				// Another username from the same address is checked.
				b, f = x.startFlow(t, "203.0.113.99")
				if h := mustHit(t)(x.check(b, f, "someone-else", "Wrong-Password-1!")); h.status != 400 {
					t.Fatalf("another username: %s", h)
				}
			}
			if string(refusals[0]) != string(refusals[1]) {
				t.Errorf("a real and an unknown username are refused differently:\n%s\n%s", refusals[0], refusals[1])
			}
			// The real user is refused even with the right password until
			// the bound refills (the password policy's own lockout aside).
			b, f := x.startFlow(t, "203.0.113.100")
			wantPingOneLimited(t, mustHit(t)(x.check(b, f, x.fx.Username, x.fx.Password)), why, time.Now())
		})
	}
}

// TestCorrectTrafficNeverLimited: a load test from one address with the
// right credentials is never refused, however far past every failure
// bound it goes: thousands of token requests and introspections and
// hundreds of full sign-ons, against limits of a handful of failures and
// flows. The same server then refuses failures as soon as they pass their
// bound.
func TestCorrectTrafficNeverLimited(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t), Limits: tight(func(c *ratelimit.Config) {
				few := ratelimit.Rate{N: 5, Per: time.Hour}
				c.ClientAuthFailuresPerAddress, c.ClientAuthFailuresPerClient = few, few
				c.CheckFailuresPerAddress, c.CheckFailuresPerUser = few, few
				c.FlowsPerAddress = ratelimit.Rate{N: 20, Per: time.Hour}
				c.LiveFlowsPerEnvironment = 50
			})})
			x := &signOn{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{})}
			w := s.CreateWorker(t, s.Admin.EnvironmentID, "CLIENT_SECRET_BASIC")
			tok := s.TokenFor(t, w.EnvironmentID, w.ClientID, w.Secret)
			a := newAgent("")
			const tokens, introspections, signOns = 2000, 2000, 150
			start := time.Now()
			hs := flood(t, tokens+introspections, 16, func(i int) (*hit, error) {
				if i%2 == 0 {
					return a.token(s, w.EnvironmentID, w.ClientID, w.Secret)
				}
				return a.clientCall(s, w.EnvironmentID, "introspect", w.ClientID, w.Secret, "token="+tok)
			})
			if st := statuses(hs); st[200] != tokens+introspections {
				t.Fatalf("token and introspection answers %v, want only 200s", st)
			}
			for _, h := range hs {
				if strings.Contains(string(h.body), `"active":false`) {
					t.Fatalf("introspection: %s", h)
				}
			}
			errs := make(chan error, signOns)
			flood(t, signOns, 8, func(int) (*hit, error) {
				jar, _ := cookiejar.New(nil)
				errs <- x.fullSignOn("", jar)
				return &hit{}, nil
			})
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			t.Logf("%d token requests, %d introspections and %d sign-ons in %v", tokens, introspections, signOns, time.Since(start))
			// The limits were live all along.
			for i := range 6 {
				h := mustHit(t)(a.token(s, w.EnvironmentID, w.ClientID, "wrong"))
				if want := map[bool]int{true: 429, false: 401}[i == 5]; h.status != want {
					t.Fatalf("wrong secret %d: %s, want %d", i+1, h, want)
				}
			}
		})
	}
}

// TestOperatorLimits: an operator may bound all traffic, per
// authenticated client (token endpoint and management API alike) and per
// source address; refusals are OAuth errors under /as/ and PingOne's
// everywhere else, and probes are never refused.
func TestOperatorLimits(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name+"/per client", func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t), Limits: tight(func(c *ratelimit.Config) {
				c.RequestsPerClient = ratelimit.Rate{N: 3, Per: time.Hour}
			})})
			env := s.Admin.EnvironmentID
			w := apptest.Worker{EnvironmentID: env, ClientID: s.Admin.ClientID, Secret: s.Admin.ClientSecret}
			other := s.CreateWorker(t, env, "CLIENT_SECRET_BASIC")
			a := newAgent("")
			var tok string
			for range 2 {
				h := mustHit(t)(a.token(s, env, w.ClientID, w.Secret))
				if h.status != 200 {
					t.Fatalf("token: %s", h)
				}
				var m struct {
					AccessToken string `json:"access_token"`
				}
				json.Unmarshal(h.body, &m)
				tok = m.AccessToken
			}
			if h := a.must(t, "GET", s.APIPath+"/environments/"+env, "", "", "Authorization", "Bearer "+tok); h.status != 200 {
				t.Fatalf("management API: %s", h)
			}
			// Three requests spent: the token endpoint and the API refuse.
			wantOAuthLimited(t, mustHit(t)(a.token(s, env, w.ClientID, w.Secret)), "Too many requests from this client.", 1200)
			sent := time.Now()
			wantPingOneLimited(t, a.must(t, "GET", s.APIPath+"/environments/"+env, "", "", "Authorization", "Bearer "+tok),
				"Too many requests from this client.", sent)
			if h := mustHit(t)(a.token(s, env, other.ClientID, other.Secret)); h.status != 200 {
				t.Fatalf("another client: %s", h)
			}
		})
		t.Run(be.Name+"/per address", func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t), TrustedProxies: trustLocal, Limits: tight(func(c *ratelimit.Config) {
				c.RequestsPerAddress = ratelimit.Rate{N: 3, Per: time.Hour}
			})})
			env := s.Admin.EnvironmentID
			a := newAgent("192.0.2.10")
			for range 3 {
				if h := mustHit(t)(a.token(s, env, s.Admin.ClientID, s.Admin.ClientSecret)); h.status != 200 {
					t.Fatalf("token: %s", h)
				}
			}
			const why = "Too many requests from this address."
			wantOAuthLimited(t, mustHit(t)(a.token(s, env, s.Admin.ClientID, s.Admin.ClientSecret)), why, 1200)
			wantPingOneLimited(t, a.must(t, "GET", s.APIPath+"/environments", "", ""), why, time.Now())
			wantPingOneLimited(t, a.must(t, "GET", s.URL+"/"+env+"/flows/"+env, "", ""), why, time.Now())
			for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
				if h := a.must(t, "GET", s.URL+p, "", ""); h.status != 200 {
					t.Errorf("%s: %d", p, h.status)
				}
			}
			if h := mustHit(t)(newAgent("192.0.2.11").token(s, env, s.Admin.ClientID, s.Admin.ClientSecret)); h.status != http.StatusOK {
				t.Fatalf("another address: %s", h)
			}
		})
	}
}
