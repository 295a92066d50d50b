package app_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
)

const (
	ctSendRecovery = "application/vnd.pingidentity.password.sendRecoveryCode+json"
	ctRegister     = "application/vnd.pingidentity.user.register+json"
	ctSendVerify   = "application/vnd.pingidentity.user.sendVerificationCode+json"
)

func (x *signOn) forgot(b *agent, flow, username string) (*hit, error) {
	body, _ := json.Marshal(map[string]string{"username": username})
	return b.do("POST", x.base()+"/flows/"+flow, ctForgot, string(body))
}

// sameBut is a flow API body with what differs between any two answers
// taken out: the flow's or error's id, times, and name (the username the
// caller typed, which the flow echoes).
func sameBut(t *testing.T, h *hit, flow, name string) string {
	t.Helper()
	s := string(h.body)
	if flow != "" {
		s = strings.ReplaceAll(s, flow, "FLOW")
	}
	s = strings.ReplaceAll(s, name, "NAME")
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("%s: %v", h, err)
	}
	delete(m, "id")
	delete(m, "createdAt")
	delete(m, "expiresAt")
	if ds, ok := m["details"].([]any); ok {
		for _, d := range ds {
			if in, ok := d.(map[string]any)["innerError"].(map[string]any); ok {
				delete(in, "retryAfter")
			}
		}
	}
	b, _ := json.Marshal(m)
	return fmt.Sprintf("%d %s Retry-After=%s", h.status, b, h.header.Get("Retry-After"))
}

// TestCodeSendsPerUser: a flood of password.forgot for one user from many
// addresses, sent all at once, mails the user at most the per-user bound,
// then is 429 in PingOne's shape before anything is sent or saved; an
// unknown username is answered byte for byte alike (ids and times apart),
// mail or not; password.sendRecoveryCode is limited with them; another
// user is not.
func TestCodeSendsPerUser(t *testing.T) {
	const why = "Too many codes sent to this user."
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t), TrustedProxies: trustLocal, Limits: tight(func(c *ratelimit.Config) {
				c.CodeSendsPerUser = ratelimit.Rate{N: 5, Per: 10 * time.Minute}
			})})
			x := &signOn{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{})}
			var answers [2][]string
			for i, name := range []string{x.fx.Username, "ghost-" + x.fx.Username} {
				mailed := s.Mail.Count()
				const n = 20
				browsers, flows := make([]*agent, n), make([]string, n)
				for j := range n {
					browsers[j], flows[j] = x.startFlow(t, fmt.Sprintf("203.0.%d.%d", 113+i, j+1))
				}
				sent := time.Now()
				hs := flood(t, n, 10, func(j int) (*hit, error) { return x.forgot(browsers[j], flows[j], name) })
				if got := statuses(hs); got[200] != 5 || got[429] != n-5 {
					t.Fatalf("%s: statuses %v, want 5 × 200 and %d × 429", name, got, n-5)
				}
				wantMail := 5
				if i == 1 {
					wantMail = 0
				}
				if got := s.Mail.Count() - mailed; got != wantMail {
					t.Errorf("%s: %d mails sent, want %d", name, got, wantMail)
				}
				var ok, refused []string
				for j, h := range hs {
					if h.status == 429 {
						wantPingOneLimited(t, h, why, sent)
						wantRetryAfter(t, h, 120, "one send back every 2 minutes")
						refused = append(refused, flows[j])
						continue
					}
					ok = append(ok, flows[j])
					if !strings.Contains(string(h.body), `"RECOVERY_CODE_REQUIRED"`) {
						t.Fatalf("%s: forgot: %s", name, h)
					}
					answers[i] = append(answers[i], sameBut(t, h, flows[j], name))
				}
				answers[i] = append(answers[i], sameBut(t, hs[indexOf(flows, refused[0])], "", name))
				// A refused flow was left as it was: it still asks for the
				// password.
				b := browsers[indexOf(flows, refused[0])]
				if h := b.must(t, "GET", x.base()+"/flows/"+refused[0], "", ""); h.status != 200 || !strings.Contains(string(h.body), `"USERNAME_PASSWORD_REQUIRED"`) {
					t.Fatalf("flow after a refusal: %s", h)
				}
				// A flow that got a code asks for another: refused too.
				b = browsers[indexOf(flows, ok[0])]
				h := b.must(t, "POST", x.base()+"/flows/"+ok[0], ctSendRecovery, `{}`)
				wantPingOneLimited(t, h, why, time.Now())
				answers[i] = append(answers[i], sameBut(t, h, "", name))
				if got := s.Mail.Count() - mailed; got != wantMail {
					t.Errorf("%s: %d mails sent after sendRecoveryCode, want %d", name, got, wantMail)
				}
			}
			if fmt.Sprint(answers[0]) != fmt.Sprint(answers[1]) {
				t.Errorf("a real and an unknown username are answered differently:\n%s\n%s",
					strings.Join(answers[0], "\n"), strings.Join(answers[1], "\n"))
			}
			// Another user, from an address already used, gets a code.
			other := x.s.NewSignOn(t, apptest.SignOnOptions{})
			y := &signOn{s: s, fx: other}
			b, f := y.startFlow(t, "203.0.113.1")
			if h := mustHit(t)(y.forgot(b, f, other.Username)); h.status != 200 {
				t.Fatalf("another user: %s", h)
			}
			lastCode(t, s, other.Email)
		})
	}
}

func indexOf(s []string, v string) int {
	for i, e := range s {
		if e == v {
			return i
		}
	}
	return -1
}

// TestCodeSendsPerAddress: one address asking codes for many users, real
// and unknown, is refused once its bound is spent, whoever it names;
// other addresses are served.
func TestCodeSendsPerAddress(t *testing.T) {
	const why = "Too many codes sent from this address."
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t), TrustedProxies: trustLocal, Limits: tight(func(c *ratelimit.Config) {
				c.CodeSendsPerAddress = ratelimit.Rate{N: 4, Per: time.Hour}
			})})
			x := &signOn{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{})}
			const from = "198.51.100.20"
			var users []*apptest.SignOn
			for range 3 {
				users = append(users, s.NewSignOn(t, apptest.SignOnOptions{}))
			}
			// Users of other environments, and an unknown username, count alike.
			names := []*signOn{{s, users[0]}, {s, users[1]}, x, x}
			for i, y := range names {
				name := y.fx.Username
				if i == 3 {
					name = "ghost-" + name
				}
				b, f := y.startFlow(t, from)
				if h := mustHit(t)(y.forgot(b, f, name)); h.status != 200 {
					t.Fatalf("send %d: %s", i, h)
				}
			}
			mailed := s.Mail.Count()
			for _, y := range []*signOn{{s, users[2]}, x} {
				b, f := y.startFlow(t, from)
				sent := time.Now()
				wantPingOneLimited(t, mustHit(t)(y.forgot(b, f, y.fx.Username)), why, sent)
			}
			if got := s.Mail.Count() - mailed; got != 0 {
				t.Errorf("%d mails sent once the address was spent", got)
			}
			y := &signOn{s, users[2]}
			b, f := y.startFlow(t, "198.51.100.21")
			if h := mustHit(t)(y.forgot(b, f, y.fx.Username)); h.status != 200 {
				t.Fatalf("another address: %s", h)
			}
			lastCode(t, s, users[2].Email)
		})
	}
}

// TestRecoveryNeverLimited: with the default limits, a user who forgets a
// password, asks for the code again, and recovers, is never refused, and
// gets one mail each time.
func TestRecoveryNeverLimited(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			x := &signOn{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{})}
			b, f := x.startFlow(t, "")
			mailed := s.Mail.Count()
			if h := mustHit(t)(x.forgot(b, f, x.fx.Username)); h.status != 200 {
				t.Fatalf("forgot: %s", h)
			}
			if h := b.must(t, "POST", x.base()+"/flows/"+f, ctSendRecovery, `{}`); h.status != 200 {
				t.Fatalf("sendRecoveryCode: %s", h)
			}
			code := lastCode(t, s, x.fx.Email)
			h := b.must(t, "POST", x.base()+"/flows/"+f, ctRecover, `{"recoveryCode":"`+code+`","newPassword":"Another-Pass-2026!"}`)
			if h.status != 200 || !strings.Contains(string(h.body), `"COMPLETED"`) {
				t.Fatalf("recover: %s", h)
			}
			if got := s.Mail.Count() - mailed; got != 2 {
				t.Errorf("%d mails, want 2", got)
			}
		})
	}
}

// TestRegistrationsPerAddress: self-service registration from one address
// stores at most its bound of users, then is 429 with nothing stored;
// a username whose codes are spent cannot be registered either (its
// verification code could not be sent), and no user is left behind.
func TestRegistrationsPerAddress(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t), TrustedProxies: trustLocal, Limits: tight(func(c *ratelimit.Config) {
				c.RegistrationsPerAddress = ratelimit.Rate{N: 2, Per: time.Hour}
				c.CodeSendsPerUser = ratelimit.Rate{N: 2, Per: time.Hour}
			})})
			x := &signOn{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{})}
			admin := s.AdminToken(t)
			envPath := "/environments/" + x.fx.EnvID
			pol := s.Do(t, apptest.Request{Method: "POST", URL: envPath + "/signOnPolicies", Token: admin, Body: map[string]any{"name": "Register"}})
			polID := pol.JSON(t)["id"].(string)
			if r := s.Do(t, apptest.Request{Method: "POST", URL: envPath + "/signOnPolicies/" + polID + "/actions", Token: admin, Body: map[string]any{
				"type": "LOGIN", "priority": 1, "registration": map[string]any{"enabled": true, "population": map[string]any{"id": x.fx.PopulationID}}}}); r.Status != 201 {
				t.Fatalf("policy action: %d %s", r.Status, r.Body)
			}
			if r := s.Do(t, apptest.Request{Method: "POST", URL: envPath + "/applications/" + x.fx.AppID + "/signOnPolicyAssignments", Token: admin,
				Body: map[string]any{"priority": 1, "signOnPolicy": map[string]any{"id": polID}}}); r.Status != 201 {
				t.Fatalf("assignment: %d %s", r.Status, r.Body)
			}
			users := func() float64 {
				r := s.Do(t, apptest.Request{Method: "GET", URL: envPath + "/users", Token: admin})
				return r.JSON(t)["count"].(float64)
			}
			register := func(from, username string) *hit {
				b, f := x.startFlow(t, from)
				body, _ := json.Marshal(map[string]string{"username": username, "email": username + "@example.com", "password": "Another-Pass-2026!"})
				return b.must(t, "POST", x.base()+"/flows/"+f, ctRegister, string(body))
			}
			const from = "192.0.2.30"
			for i := range 2 {
				if h := register(from, fmt.Sprintf("newcomer-%d", i)); h.status != 200 || !strings.Contains(string(h.body), `"VERIFICATION_CODE_REQUIRED"`) {
					t.Fatalf("registration %d: %s", i, h)
				}
			}
			before := users()
			sent := time.Now()
			wantPingOneLimited(t, register(from, "newcomer-2"), "Too many registrations from this address.", sent)
			// Codes for a username nobody has yet, spent from elsewhere.
			for i := range 2 {
				b, f := x.startFlow(t, fmt.Sprintf("192.0.2.%d", 40+i))
				if h := mustHit(t)(x.forgot(b, f, "newcomer-3")); h.status != 200 {
					t.Fatalf("forgot: %s", h)
				}
			}
			wantPingOneLimited(t, register("192.0.2.50", "newcomer-3"), "Too many codes sent to this user.", time.Now())
			if got := users(); got != before {
				t.Errorf("users %v after refused registrations, want %v", got, before)
			}
			// The registered user's code, asked again and again, is limited.
			b, f := x.startFlow(t, "192.0.2.60")
			body, _ := json.Marshal(map[string]string{"username": "newcomer-9", "email": "newcomer-9@example.com", "password": "Another-Pass-2026!"})
			if h := b.must(t, "POST", x.base()+"/flows/"+f, ctRegister, string(body)); h.status != 200 {
				t.Fatalf("registration: %s", h)
			}
			if h := b.must(t, "POST", x.base()+"/flows/"+f, ctSendVerify, `{}`); h.status != 200 {
				t.Fatalf("sendVerificationCode: %s", h)
			}
			wantPingOneLimited(t, b.must(t, "POST", x.base()+"/flows/"+f, ctSendVerify, `{}`), "Too many codes sent to this user.", time.Now())
		})
	}
}
