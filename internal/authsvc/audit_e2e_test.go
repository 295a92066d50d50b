package authsvc_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/audit/audittest"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/telemetry"
)

type brief = audittest.Brief

// wantActivities compares the activities env recorded since the last
// Take with want, in order.
func wantActivities(t *testing.T, cap *audittest.Capture, envID string, want ...brief) []store.Activity {
	t.Helper()
	got := cap.Of(envID)
	if b := audittest.Briefs(got); !slices.Equal(b, want) {
		t.Errorf("activities:\n got %+v\nwant %+v", b, want)
	}
	return got
}

func userRes(id string) string { return audit.ResUser + ":" + id }
func appRes(id string) string  { return audit.ResApplication + ":" + id }

// TestAuditSignOnAndTokens: a password sign-on with a wrong password
// first, the code and a refresh exchanged, the refresh token revoked,
// client_credentials and sign-off record exactly these activities, with
// the flow's application as the client and the user as actor and
// resource; the business metrics count them.
func TestAuditSignOnAndTokens(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			cap := &audittest.Capture{}
			x := newMFAFixture(t, be.DSN(t), apptest.Options{AuditRecorder: cap})
			fx := x.fx
			// The Single_Factor policy (the fixture assigned Multi_Factor).
			r := x.s.Do(t, apptest.Request{Method: "PUT", URL: "/environments/" + fx.EnvID + "/users/" + fx.UserID + "/mfaEnabled",
				Token: x.admin, Body: map[string]any{"mfaEnabled": false}})
			wantStatus(t, &hop{status: r.Status, body: r.Body}, http.StatusOK)
			cap.Take()

			pwFail := audittest.Count(telemetry.SignOns.WithLabelValues("password", "failure"))
			pwOK := audittest.Count(telemetry.SignOns.WithLabelValues("password", "success"))
			codes := audittest.Count(telemetry.TokensIssued.WithLabelValues("authorization_code"))
			refreshes := audittest.Count(telemetry.TokensIssued.WithLabelValues("refresh_token"))
			ccs := audittest.Count(telemetry.TokensIssued.WithLabelValues("client_credentials"))

			f := &mfaFlow{x: x, c: browser(t), verifier: oauth2.GenerateVerifier()}
			h := call(t, f.c, "GET", x.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(f.verifier), oauth2.SetAuthURLParam("response_mode", "pi.flow")), "", "")
			wantStatus(t, h, http.StatusOK)
			f.url = h.json(t)["_links"].(map[string]any)["self"].(map[string]any)["href"].(string)
			f.post(t, "usernamePassword.check", `{"username":"`+fx.Username+`","password":"Not-The-Password-77?"}`, http.StatusBadRequest)
			f.post(t, "usernamePassword.check", `{"username":"nobody.here","password":"Not-The-Password-77?"}`, http.StatusBadRequest)
			f.password(t, fx.Username)
			acts := wantActivities(t, cap, fx.EnvID,
				brief{Type: audit.PasswordCheckFailed, Result: "FAILED", Client: fx.AppID, User: fx.UserID, Resources: userRes(fx.UserID)},
				brief{Type: audit.PasswordCheckFailed, Result: "FAILED", Client: fx.AppID, User: "name:nobody.here"},
				brief{Type: audit.PasswordCheckSucceeded, Result: "SUCCESS", Client: fx.AppID, User: fx.UserID, Resources: userRes(fx.UserID)},
				brief{Type: audit.SessionCreated, Result: "SUCCESS", Client: fx.AppID, User: fx.UserID, Resources: userRes(fx.UserID)},
			)
			if len(acts) == 4 {
				a := acts[0]
				if a.ActionDescription != "Password Check Failed" || a.ResultDescription != "The username or password is not correct." ||
					a.Client.Name != fx.AppName || a.Client.Type != "CLIENT" || a.User.Name != fx.Username || a.User.PopulationID != fx.PopulationID ||
					a.Resources[0].PopulationID != fx.PopulationID || a.EnvironmentID != fx.EnvID {
					t.Errorf("activity %+v client %+v user %+v", a, a.Client, a.User)
				}
			}

			// The code and a refresh.
			h = call(t, f.c, "GET", f.last["resumeUrl"].(string), "", "")
			wantStatus(t, h, http.StatusOK)
			code := h.json(t)["authorizeResponse"].(map[string]any)["code"].(string)
			ctx := context.Background()
			tok, err := x.conf.Exchange(ctx, code, oauth2.VerifierOption(f.verifier))
			if err != nil {
				t.Fatal(err)
			}
			tok.Expiry = tok.Expiry.Add(-24 * 3600e9) // make the source refresh
			tok2, err := x.conf.TokenSource(ctx, tok).Token()
			if err != nil || tok2.RefreshToken == "" {
				t.Fatalf("refresh: %v", err)
			}
			// Revoking the new refresh token revokes its grant.
			req, _ := http.NewRequest("POST", x.s.URL+"/"+fx.EnvID+"/as/revoke", strings.NewReader(url.Values{"token": {tok2.RefreshToken}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(fx.AppID, fx.AppSecret)
			rv, err := http.DefaultClient.Do(req)
			if err != nil || rv.StatusCode != http.StatusOK {
				t.Fatalf("revoke: %v %v", err, rv)
			}
			rv.Body.Close()
			acts = wantActivities(t, cap, fx.EnvID,
				brief{Type: audit.AccessTokenCreated, Result: "SUCCESS", Client: fx.AppID, User: fx.UserID, Resources: userRes(fx.UserID)},
				brief{Type: audit.AccessTokenCreated, Result: "SUCCESS", Client: fx.AppID, User: fx.UserID, Resources: userRes(fx.UserID)},
				brief{Type: audit.TokenRevoked, Result: "SUCCESS", Client: fx.AppID, User: fx.UserID, Resources: userRes(fx.UserID)},
			)
			if len(acts) == 3 && (string(acts[0].Details) != `{"grantType":"authorization_code"}` || string(acts[1].Details) != `{"grantType":"refresh_token"}` ||
				string(acts[2].Details) != `{"tokenType":"refresh_token"}`) {
				t.Errorf("details %s %s %s", acts[0].Details, acts[1].Details, acts[2].Details)
			}

			// client_credentials: the application's own token.
			w := x.s.CreateWorker(t, fx.EnvID, "CLIENT_SECRET_BASIC")
			x.s.Token(t, w)
			wantActivities(t, cap, fx.EnvID,
				brief{Type: audit.AccessTokenCreated, Result: "SUCCESS", Client: w.ClientID, Resources: appRes(w.ClientID)})

			// Sign-off in a browser that signed on (the revocation ended the
			// first one's session).
			g := x.signOn(t, fx.Username)
			so := call(t, g.c, "GET", x.s.URL+"/"+fx.EnvID+"/as/signoff", "", "")
			wantStatus(t, so, http.StatusOK)
			wantActivities(t, cap, fx.EnvID,
				brief{Type: audit.PasswordCheckSucceeded, Result: "SUCCESS", Client: fx.AppID, User: fx.UserID, Resources: userRes(fx.UserID)},
				brief{Type: audit.SessionCreated, Result: "SUCCESS", Client: fx.AppID, User: fx.UserID, Resources: userRes(fx.UserID)},
				brief{Type: audit.SessionDeleted, Result: "SUCCESS", User: fx.UserID, Resources: userRes(fx.UserID)})

			for _, c := range []struct {
				name      string
				got, want float64
			}{
				{"password failure", audittest.Count(telemetry.SignOns.WithLabelValues("password", "failure")) - pwFail, 2},
				{"password success", audittest.Count(telemetry.SignOns.WithLabelValues("password", "success")) - pwOK, 2},
				{"authorization_code", audittest.Count(telemetry.TokensIssued.WithLabelValues("authorization_code")) - codes, 1},
				{"refresh_token", audittest.Count(telemetry.TokensIssued.WithLabelValues("refresh_token")) - refreshes, 1},
				{"client_credentials", audittest.Count(telemetry.TokensIssued.WithLabelValues("client_credentials")) - ccs, 1},
			} {
				if c.got != c.want {
					t.Errorf("%s counted %v, want %v", c.name, c.got, c.want)
				}
			}
		})
	}
}

// TestAuditMFA: a passcode refused, then the right one; then enough wrong
// ones to lock the user's MFA.
func TestAuditMFA(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			cap := &audittest.Capture{}
			x := newMFAFixture(t, be.DSN(t), apptest.Options{AuditRecorder: cap})
			fx := x.fx
			dev := x.device(t, fx.UserID, map[string]any{"type": "EMAIL", "email": fx.Email, "status": "ACTIVE"})
			// The fixture's management writes, and the device's.
			admin := x.s.Admin.ClientID
			wantActivities(t, cap, fx.EnvID,
				brief{Type: audit.EnvironmentCreated, Result: "SUCCESS", Client: admin, Resources: "ENVIRONMENT:" + fx.EnvID},
				brief{Type: audit.ApplicationCreated, Result: "SUCCESS", Client: admin, Resources: appRes(fx.AppID)},
				brief{Type: audit.UserCreated, Result: "SUCCESS", Client: admin, Resources: userRes(fx.UserID)},
				brief{Type: audit.PasswordSet, Result: "SUCCESS", Client: admin, Resources: userRes(fx.UserID)},
				brief{Type: audit.SOPAssignmentCreated, Result: "SUCCESS", Client: admin, Resources: appRes(fx.AppID)},
				brief{Type: audit.UserUpdated, Result: "SUCCESS", Client: admin, Resources: userRes(fx.UserID)},
				brief{Type: audit.DeviceCreated, Result: "SUCCESS", Client: admin, Resources: audit.ResDevice + ":" + dev})
			locks := audittest.Count(telemetry.Lockouts.WithLabelValues("mfa"))
			otpFail := audittest.Count(telemetry.SignOns.WithLabelValues("otp", "failure"))

			f := x.signOn(t, fx.Username)
			code := x.mailedCode(t, fx.Email)
			wrong := "000000"
			if code == wrong {
				wrong = "111111"
			}
			f.post(t, "otp.check", `{"otp":"`+wrong+`"}`, http.StatusBadRequest)
			f.post(t, "otp.check", `{"otp":"`+code+`"}`, http.StatusOK)
			u, d := userRes(fx.UserID), userRes(fx.UserID)+" "+audit.ResDevice+":"+dev
			wantActivities(t, cap, fx.EnvID,
				brief{Type: audit.PasswordCheckSucceeded, Result: "SUCCESS", Client: fx.AppID, User: fx.UserID, Resources: u},
				brief{Type: audit.SessionCreated, Result: "SUCCESS", Client: fx.AppID, User: fx.UserID, Resources: u},
				brief{Type: audit.OTPCheckFailed, Result: "FAILED", Client: fx.AppID, User: fx.UserID, Resources: d},
				brief{Type: audit.OTPCheckSuccess, Result: "SUCCESS", Client: fx.AppID, User: fx.UserID, Resources: d},
				brief{Type: audit.SessionUpdated, Result: "SUCCESS", Client: fx.AppID, User: fx.UserID, Resources: u},
			)

			r := x.s.Do(t, apptest.Request{Method: "PUT", URL: "/environments/" + fx.EnvID + "/mfaSettings", Token: x.admin,
				Body: map[string]any{"pairing": map[string]any{"maxAllowedDevices": 5, "pairingKeyFormat": "ALPHANUMERIC"},
					"lockout": map[string]any{"failureCount": 2, "durationSeconds": 600}}})
			wantStatus(t, &hop{status: r.Status, body: r.Body}, http.StatusOK)
			g := x.signOn(t, fx.Username)
			code = x.mailedCode(t, fx.Email)
			if code == wrong {
				wrong = "222222"
			}
			g.post(t, "otp.check", `{"otp":"`+wrong+`"}`, http.StatusBadRequest)
			g.post(t, "otp.check", `{"otp":"`+wrong+`"}`, http.StatusBadRequest)
			wantActivities(t, cap, fx.EnvID,
				brief{Type: audit.MFASettingsUpdated, Result: "SUCCESS", Client: x.s.Admin.ClientID, Resources: "SETTINGS:" + fx.EnvID},
				brief{Type: audit.PasswordCheckSucceeded, Result: "SUCCESS", Client: fx.AppID, User: fx.UserID, Resources: u},
				brief{Type: audit.SessionCreated, Result: "SUCCESS", Client: fx.AppID, User: fx.UserID, Resources: u},
				brief{Type: audit.OTPCheckFailed, Result: "FAILED", Client: fx.AppID, User: fx.UserID, Resources: d},
				brief{Type: audit.OTPCheckFailed, Result: "FAILED", Client: fx.AppID, User: fx.UserID, Resources: d},
				brief{Type: audit.DeviceLocked, Result: "SUCCESS", Client: fx.AppID, User: fx.UserID, Resources: d},
			)
			if got := audittest.Count(telemetry.Lockouts.WithLabelValues("mfa")) - locks; got != 1 {
				t.Errorf("lockouts counted %v, want 1", got)
			}
			if got := audittest.Count(telemetry.SignOns.WithLabelValues("otp", "failure")) - otpFail; got != 2 {
				t.Errorf("otp failures counted %v, want 2", got)
			}
		})
	}
}
