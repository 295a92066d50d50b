package authsvc_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// The flow engine around the MULTI_FACTOR_AUTHENTICATION action: what a
// session counts for, when the action passes, and where it stands in a
// policy.

// policyByName is the id of the environment's sign-on policy name.
func (x *mfaFixture) policyByName(t *testing.T, name string) string {
	t.Helper()
	pols := x.s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + x.fx.EnvID + "/signOnPolicies", Token: x.admin})
	for _, p := range pols.JSON(t)["_embedded"].(map[string]any)["signOnPolicies"].([]any) {
		if p := p.(map[string]any); p["name"] == name {
			return p["id"].(string)
		}
	}
	t.Fatalf("no policy %s", name)
	return ""
}

// newPolicy creates a sign-on policy with actions, in order.
func (x *mfaFixture) newPolicy(t testing.TB, name string, actions ...map[string]any) string {
	t.Helper()
	env := "/environments/" + x.fx.EnvID
	r := x.s.Do(t, apptest.Request{Method: "POST", URL: env + "/signOnPolicies", Token: x.admin, Body: map[string]any{"name": name}})
	if r.Status != http.StatusCreated {
		t.Fatalf("policy: %d %s", r.Status, r.Body)
	}
	id := r.JSON(t)["id"].(string)
	for i, a := range actions {
		a["priority"] = i + 1
		if r := x.s.Do(t, apptest.Request{Method: "POST", URL: env + "/signOnPolicies/" + id + "/actions", Token: x.admin, Body: a}); r.Status != http.StatusCreated {
			t.Fatalf("action %v: %d %s", a, r.Status, r.Body)
		}
	}
	return id
}

// assign assigns a policy to the fixture's application, so that acr_values
// may name it.
func (x *mfaFixture) assign(t testing.TB, policyID string, priority int) {
	t.Helper()
	r := x.s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + x.fx.EnvID + "/applications/" + x.fx.AppID + "/signOnPolicyAssignments",
		Token: x.admin, Body: map[string]any{"priority": priority, "signOnPolicy": map[string]string{"id": policyID}}})
	if r.Status != http.StatusCreated {
		t.Fatalf("assign: %d %s", r.Status, r.Body)
	}
}

// authorize starts a pi.flow sign-on in browser c with extra parameters
// (acr_values, prompt): the flow, or the refusal when want is not 200.
func (x *mfaFixture) authorize(t *testing.T, c *http.Client, want int, params ...string) (*mfaFlow, *hop) {
	t.Helper()
	f := &mfaFlow{x: x, c: c, verifier: oauth2.GenerateVerifier()}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(f.verifier), oidc.Nonce("n-engine"), oauth2.SetAuthURLParam("response_mode", "pi.flow")}
	for i := 0; i+1 < len(params); i += 2 {
		opts = append(opts, oauth2.SetAuthURLParam(params[i], params[i+1]))
	}
	h := call(t, c, "GET", x.conf.AuthCodeURL("st-engine", opts...), "", "")
	if h.status != want {
		t.Fatalf("authorize %v: %d, want %d: %s", params, h.status, want, h.body)
	}
	if want != http.StatusOK {
		return nil, h
	}
	f.last = h.json(t)
	f.url = f.last["_links"].(map[string]any)["self"].(map[string]any)["href"].(string)
	return f, h
}

func (f *mfaFlow) password(t *testing.T, username string) {
	t.Helper()
	f.post(t, "usernamePassword.check", `{"username":"`+username+`","password":"`+f.x.fx.Password+`"}`, http.StatusOK)
}

// claims resumes a COMPLETED flow and exchanges the code: the ID token's
// sub, auth_time, acr and amr, verified by go-oidc.
func (f *mfaFlow) claims(t *testing.T) (sub string, authTime int64, acr string, amr []string) {
	t.Helper()
	if f.status() != "COMPLETED" {
		t.Fatalf("finish: status %s", f.status())
	}
	h := call(t, f.c, "GET", f.last["resumeUrl"].(string), "", "")
	wantStatus(t, h, http.StatusOK)
	code := h.json(t)["authorizeResponse"].(map[string]any)["code"].(string)
	ctx := context.Background()
	tok, err := f.x.conf.Exchange(ctx, code, oauth2.VerifierOption(f.verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := f.x.provider.Verifier(&oidc.Config{ClientID: f.x.fx.AppID}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("id token: %v", err)
	}
	var c struct {
		Sub      string   `json:"sub"`
		AuthTime int64    `json:"auth_time"`
		ACR      string   `json:"acr"`
		AMR      []string `json:"amr"`
	}
	if err := idt.Claims(&c); err != nil {
		t.Fatal(err)
	}
	return c.Sub, c.AuthTime, c.ACR, c.AMR
}

// TestMFAPromptLoginAsksAgain: prompt=login (and max_age) make the user
// prove every factor again: a session that once had MFA does not waive the
// second factor of a sign-on forced anew.
func TestMFAPromptLoginAsksAgain(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newMFAFixture(t, be.DSN(t))
			x.device(t, x.fx.UserID, map[string]any{"type": "EMAIL", "email": x.fx.Email, "status": "ACTIVE"})
			f := x.signOn(t, x.fx.Username)
			f.post(t, "otp.check", `{"otp":"`+x.mailedCode(t, x.fx.Email)+`"}`, http.StatusOK)
			f.finish(t)
			time.Sleep(1100 * time.Millisecond) // max_age=0 is then surely exceeded
			for _, p := range [][]string{{"prompt", "login"}, {"max_age", "0"}} {
				g, _ := x.authorize(t, f.c, http.StatusOK, p...)
				if g.status() != "USERNAME_PASSWORD_REQUIRED" {
					t.Fatalf("%v: %s", p, g.status())
				}
				sent := x.s.Mail.Count()
				g.password(t, x.fx.Username)
				if g.status() != "OTP_REQUIRED" || x.s.Mail.Count() != sent+1 {
					t.Fatalf("%v: after the password %s, %d mails; want OTP_REQUIRED", p, g.status(), x.s.Mail.Count()-sent)
				}
				g.post(t, "otp.check", `{"otp":"`+x.mailedCode(t, x.fx.Email)+`"}`, http.StatusOK)
				if _, _, acr, amr := g.claims(t); acr != "Multi_Factor" || !slices.Equal(amr, wantAMREmail) {
					t.Errorf("%v: acr %q amr %v", p, acr, amr)
				}
			}
		})
	}
}

// TestMFAAtIsTheSecondFactorsTime: ${session.lastSignOn.withAuthenticator.mfa.at}
// is when the session last proved a second factor, not its last sign-on: a
// later password alone does not renew it.
func TestMFAAtIsTheSecondFactorsTime(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newMFAFixture(t, be.DSN(t))
			x.assign(t, x.policyByName(t, "Single_Factor"), 2)
			x.device(t, x.fx.UserID, map[string]any{"type": "EMAIL", "email": x.fx.Email, "status": "ACTIVE"})
			x.setMFAAction(t, map[string]any{"noDevicesMode": "BLOCK",
				"condition": map[string]any{"secondsSince": "${session.lastSignOn.withAuthenticator.mfa.at}", "greater": 2}})
			f := x.signOn(t, x.fx.Username)
			f.post(t, "otp.check", `{"otp":"`+x.mailedCode(t, x.fx.Email)+`"}`, http.StatusOK)
			f.finish(t)
			// Within the condition's 2 seconds the session satisfies it.
			if g, _ := x.authorize(t, f.c, http.StatusOK); g.status() != "COMPLETED" {
				t.Fatalf("at once: %s", g.status())
			}
			time.Sleep(2500 * time.Millisecond)
			// The password again (another policy, forced): the session's
			// last sign-on is now, its second factor still 2.5 seconds old.
			g, _ := x.authorize(t, f.c, http.StatusOK, "acr_values", "Single_Factor", "prompt", "login")
			g.password(t, x.fx.Username)
			if g.status() != "COMPLETED" {
				t.Fatalf("Single_Factor: %s", g.status())
			}
			sent := x.s.Mail.Count()
			h, _ := x.authorize(t, f.c, http.StatusOK, "acr_values", "Multi_Factor")
			if h.status() != "OTP_REQUIRED" || x.s.Mail.Count() != sent+1 {
				t.Fatalf("second factor 2.5s old: %s, %d mails; want OTP_REQUIRED", h.status(), x.s.Mail.Count()-sent)
			}
		})
	}
}

// TestMFAPassKeepsTheSignOn: a user whose MFA is disabled, or who has no
// device under noDevicesMode BYPASS, passes the action without signing on
// again: the sign-on's time stays the password's.
func TestMFAPassKeepsTheSignOn(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newMFAFixture(t, be.DSN(t))
			x.assign(t, x.policyByName(t, "Single_Factor"), 2)
			for _, tc := range []struct {
				name  string
				setup func()
			}{
				{"BYPASS", func() { x.setMFAAction(t, map[string]any{"noDevicesMode": "BYPASS"}) }},
				{"MFA disabled", func() {
					x.setMFAAction(t, map[string]any{"noDevicesMode": "BLOCK"})
					x.setMFAEnabled(t, x.fx.UserID, false)
				}},
			} {
				tc.setup()
				f, _ := x.authorize(t, browser(t), http.StatusOK, "acr_values", "Single_Factor")
				f.password(t, x.fx.Username)
				_, at, _, _ := f.claims(t)
				time.Sleep(1100 * time.Millisecond)
				g, _ := x.authorize(t, f.c, http.StatusOK, "acr_values", "Multi_Factor")
				if g.status() != "COMPLETED" {
					t.Fatalf("%s: %s", tc.name, g.status())
				}
				if _, at2, acr, amr := g.claims(t); at2 != at || acr != "Multi_Factor" || !slices.Equal(amr, []string{"pwd"}) {
					t.Errorf("%s: auth_time %d (password at %d) acr %q amr %v", tc.name, at2, at, acr, amr)
				}
			}
		})
	}
}

// TestMFAPromptNone: prompt=none signs on a user the MFA action passes
// (MFA disabled, or BYPASS without devices) with the session alone; a user
// who must prove a device gets login_required, and no passcode is sent.
func TestMFAPromptNone(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newMFAFixture(t, be.DSN(t))
			x.assign(t, x.policyByName(t, "Single_Factor"), 2)
			login := func() *http.Client {
				f, _ := x.authorize(t, browser(t), http.StatusOK, "acr_values", "Single_Factor")
				f.password(t, x.fx.Username)
				f.finish(t)
				return f.c
			}
			x.setMFAAction(t, map[string]any{"noDevicesMode": "BYPASS"})
			if g, _ := x.authorize(t, login(), http.StatusOK, "acr_values", "Multi_Factor", "prompt", "none"); g.status() != "COMPLETED" {
				t.Errorf("BYPASS: %s", g.status())
			} else if _, _, _, amr := g.claims(t); !slices.Equal(amr, []string{"pwd"}) {
				t.Errorf("BYPASS: amr %v", amr)
			}
			x.setMFAAction(t, map[string]any{"noDevicesMode": "BLOCK"})
			x.setMFAEnabled(t, x.fx.UserID, false)
			if g, _ := x.authorize(t, login(), http.StatusOK, "acr_values", "Multi_Factor", "prompt", "none"); g.status() != "COMPLETED" {
				t.Errorf("MFA disabled: %s", g.status())
			}

			x.setMFAEnabled(t, x.fx.UserID, true)
			x.device(t, x.fx.UserID, map[string]any{"type": "EMAIL", "email": x.fx.Email, "status": "ACTIVE"})
			c := login()
			sent := x.s.Mail.Count()
			h := call(t, c, "GET", x.conf.AuthCodeURL("st-none", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()),
				oauth2.SetAuthURLParam("response_mode", "pi.flow"), oauth2.SetAuthURLParam("acr_values", "Multi_Factor"),
				oauth2.SetAuthURLParam("prompt", "none")), "", "")
			if !strings.Contains(string(h.body)+h.header.Get("Location"), "login_required") || x.s.Mail.Count() != sent {
				t.Errorf("a device to prove: %d %s %s, %d mails", h.status, h.header.Get("Location"), h.body, x.s.Mail.Count()-sent)
			}
		})
	}
}

// TestMFAFirstAction: a policy whose only action is MFA runs for the
// session's user: the passcode it sends signs them on.
func TestMFAFirstAction(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newMFAFixture(t, be.DSN(t))
			x.assign(t, x.policyByName(t, "Single_Factor"), 2)
			x.assign(t, x.newPolicy(t, "MFA_Only", map[string]any{"type": "MULTI_FACTOR_AUTHENTICATION", "noDevicesMode": "BLOCK"}), 3)
			x.device(t, x.fx.UserID, map[string]any{"type": "EMAIL", "email": x.fx.Email, "status": "ACTIVE"})

			// Without a session the action asks who the user is (passwordless).
			if g, _ := x.authorize(t, browser(t), http.StatusOK, "acr_values", "MFA_Only"); g.status() != "SIGN_ON_REQUIRED" {
				t.Errorf("without a session: %s", g.status())
			}

			f, _ := x.authorize(t, browser(t), http.StatusOK, "acr_values", "Single_Factor")
			f.password(t, x.fx.Username)
			f.finish(t)
			g, _ := x.authorize(t, f.c, http.StatusOK, "acr_values", "MFA_Only")
			if g.status() != "OTP_REQUIRED" {
				t.Fatalf("MFA_Only: %s", g.status())
			}
			g.post(t, "otp.check", `{"otp":"`+x.mailedCode(t, x.fx.Email)+`"}`, http.StatusOK)
			if sub, _, acr, amr := g.claims(t); sub != x.fx.UserID || acr != "MFA_Only" || !slices.Equal(amr, wantAMREmail) {
				t.Errorf("sub %s acr %q amr %v", sub, acr, amr)
			}
		})
	}
}

// TestLoginAfterIdentifierFirstAnotherUser: a session whose user's
// password is too old for the LOGIN action does not bind the sign-on to
// that user: another person types their own username and password.
func TestLoginAfterIdentifierFirstAnotherUser(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newMFAFixture(t, be.DSN(t))
			x.assign(t, x.policyByName(t, "Single_Factor"), 2)
			x.assign(t, x.newPolicy(t, "Idf_Login", map[string]any{"type": "IDENTIFIER_FIRST"},
				map[string]any{"type": "LOGIN", "condition": map[string]any{"secondsSince": "${session.lastSignOn.withAuthenticator.pwd.at}", "greater": 1}}), 3)
			other := x.s.CreateUser(t, x.fx.EnvID, x.fx.PopulationID, "other."+x.fx.Username, "other."+x.fx.Email, "O", "Ther", x.fx.Password)

			f, _ := x.authorize(t, browser(t), http.StatusOK, "acr_values", "Single_Factor")
			f.password(t, x.fx.Username)
			f.finish(t)
			time.Sleep(2100 * time.Millisecond)
			g, _ := x.authorize(t, f.c, http.StatusOK, "acr_values", "Idf_Login")
			if g.status() != "USERNAME_PASSWORD_REQUIRED" {
				t.Fatalf("Idf_Login: %s", g.status())
			}
			if emb, _ := g.last["_embedded"].(map[string]any); emb["user"] != nil {
				t.Errorf("the session's user is shown before the password: %v", emb["user"])
			}
			g.password(t, "other."+x.fx.Username)
			if sub, _, acr, amr := g.claims(t); sub != other || acr != "Idf_Login" || !slices.Equal(amr, []string{"pwd"}) {
				t.Errorf("sub %s (other %s) acr %q amr %v", sub, other, acr, amr)
			}
		})
	}
}
