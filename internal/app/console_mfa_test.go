package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// The console signs administrators on with its own sign-on policy: a
// password, then a second factor once the administrator has an MFA
// device (none yet: the password alone, so the first start cannot lock
// anyone out).
func TestConsoleSignOnPolicyAsksMFAOfAnAdministratorWithADevice(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			a := s.Admin
			worker := s.AdminToken(t)
			envPath := "/environments/" + a.EnvironmentID

			// The console application's one policy assignment names the
			// policy, whose actions are a password and MFA with BYPASS.
			r := s.Do(t, apptest.Request{Method: "GET", URL: envPath + "/applications/" + a.ConsoleClientID + "/signOnPolicyAssignments", Token: worker})
			assigned := r.JSON(t)["_embedded"].(map[string]any)["signOnPolicyAssignments"].([]any)
			if r.Status != http.StatusOK || len(assigned) != 1 {
				t.Fatalf("console application's sign-on policies: %d %s", r.Status, r.Body)
			}
			policyID := assigned[0].(map[string]any)["signOnPolicy"].(map[string]any)["id"].(string)
			p := s.Do(t, apptest.Request{Method: "GET", URL: envPath + "/signOnPolicies/" + policyID, Token: worker}).JSON(t)
			if p["name"] != app.ConsolePolicyName || p["default"] != false {
				t.Errorf("console policy: %v", p)
			}
			r = s.Do(t, apptest.Request{Method: "GET", URL: envPath + "/signOnPolicies/" + policyID + "/actions", Token: worker})
			actions := r.JSON(t)["_embedded"].(map[string]any)["actions"].([]any)
			if len(actions) != 2 {
				t.Fatalf("console policy actions: %s", r.Body)
			}
			first, second := actions[0].(map[string]any), actions[1].(map[string]any)
			if first["type"] != "LOGIN" || second["type"] != "MULTI_FACTOR_AUTHENTICATION" || second["noDevicesMode"] != "BYPASS" {
				t.Errorf("console policy actions: %s", r.Body)
			}

			// No device yet: the password (and its forced change) signs on.
			if _, statuses := s.ConsoleSignOn(t, a.Username, a.Password, newAdminPassword); strings.Join(statuses, ",") != "USERNAME_PASSWORD_REQUIRED,MUST_CHANGE_PASSWORD,COMPLETED" {
				t.Errorf("first sign-on went through %v", statuses)
			}

			// An email device: the next sign-on asks for its code.
			uid := adminUser(t, s, a.Username)["id"].(string)
			const email = "admin@example.com"
			if r := s.Do(t, apptest.Request{Method: "POST", URL: envPath + "/users/" + uid + "/devices", Token: worker,
				Body: map[string]any{"type": "EMAIL", "email": email}}); r.Status != http.StatusCreated {
				t.Fatalf("email device: %d %s", r.Status, r.Body)
			}
			jar, _ := cookiejar.New(nil)
			c := &http.Client{Jar: jar, Transport: s.Client.Transport,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			step := func(method, url, ct, body string) map[string]any {
				t.Helper()
				req, _ := http.NewRequest(method, url, strings.NewReader(body))
				if ct != "" {
					req.Header.Set("Content-Type", ct)
				}
				res, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				b, _ := io.ReadAll(res.Body)
				var m map[string]any
				if res.StatusCode != http.StatusOK || json.Unmarshal(b, &m) != nil {
					t.Fatalf("%s %s: %d %s", method, url, res.StatusCode, b)
				}
				return m
			}
			conf := s.ConsoleOAuth()
			verifier := oauth2.GenerateVerifier()
			f := step("GET", conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("response_mode", "pi.flow")), "", "")
			flowURL := s.URL + "/" + a.EnvironmentID + "/flows/" + f["id"].(string)
			body, _ := json.Marshal(map[string]string{"username": a.Username, "password": newAdminPassword})
			f = step("POST", flowURL, "application/vnd.pingidentity.usernamePassword.check+json", string(body))
			if f["status"] != "OTP_REQUIRED" {
				t.Fatalf("after the password: %v, want OTP_REQUIRED", f["status"])
			}
			m, ok := s.Mail.Last(email)
			if !ok || m.Code == "" {
				t.Fatalf("no code mailed to %s", email)
			}
			f = step("POST", flowURL, "application/vnd.pingidentity.otp.check+json", `{"otp":"`+m.Code+`"}`)
			if f["status"] != "COMPLETED" {
				t.Fatalf("after the code: %v", f)
			}
			res := step("GET", s.URL+"/"+a.EnvironmentID+"/as/resume?flowId="+f["id"].(string), "", "")
			code := res["authorizeResponse"].(map[string]any)["code"].(string)
			tok, err := conf.Exchange(context.WithValue(context.Background(), oauth2.HTTPClient, s.Client), code, oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatal(err)
			}
			// The token it gave acts as the administrator on /v1.
			if r := s.Do(t, apptest.Request{Method: "GET", URL: "/environments", Token: tok.AccessToken}); r.Status != http.StatusOK {
				t.Errorf("the MFA sign-on's token on /v1: %d %s", r.Status, r.Body)
			}
		})
	}
}
