package authsvc_test

import (
	"net/url"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
)

// BenchmarkHeadlessMFASignOn is one whole pi.flow sign-on per op under the
// Multi_Factor policy: authorize, usernamePassword.check (which sends the
// email device its passcode), otp.check, resume and the code exchanged
// for tokens; "pwd" is the same user with MFA turned off, for the cost of
// the second factor. The second factor should add no hashing: compare
// the two.
//
//	go test -run '^$' -bench HeadlessMFASignOn ./internal/authsvc/
func BenchmarkHeadlessMFASignOn(b *testing.B) {
	for _, be := range apptest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			// One user signs on again and again from one address: the
			// limits on sends and flows are off, to measure the work.
			x := newMFAFixture(b, be.DSN(b), apptest.Options{Limits: &ratelimit.Config{}})
			x.device(b, x.fx.UserID, map[string]any{"type": "EMAIL", "email": x.fx.Email, "status": "ACTIVE"})
			fx := x.fx
			base := x.s.URL + "/" + fx.EnvID
			authURL := base + "/as/authorize?" + url.Values{"response_type": {"code"}, "client_id": {fx.AppID}, "redirect_uri": {fx.RedirectURI},
				"scope": {"openid profile"}, "response_mode": {"pi.flow"}}.Encode()
			creds := `{"username":"` + fx.Username + `","password":"` + fx.Password + `"}`
			for _, mode := range []struct {
				name string
				mfa  bool
			}{{"pwd", false}, {"pwd+email", true}} {
				b.Run(mode.name, func(b *testing.B) {
					x.setMFAEnabled(b, fx.UserID, mode.mfa)
					q0 := x.s.Queries()
					for b.Loop() {
						bc := newBenchClient(b)
						var fl struct {
							ID                string `json:"id"`
							Status            string `json:"status"`
							ResumeURL         string `json:"resumeUrl"`
							AuthorizeResponse struct{ Code string }
						}
						bc.do("GET", authURL, "", "", [2]string{}, &fl)
						bc.do("POST", base+"/flows/"+fl.ID, ctUsernamePassword, creds, [2]string{}, &fl)
						if mode.mfa {
							if fl.Status != "OTP_REQUIRED" {
								b.Fatalf("after the password: %s", fl.Status)
							}
							m, _ := x.s.Mail.Last(fx.Email)
							bc.do("POST", base+"/flows/"+fl.ID, "application/vnd.pingidentity.otp.check+json", `{"otp":"`+m.Code+`"}`, [2]string{}, &fl)
						}
						if fl.Status != "COMPLETED" {
							b.Fatalf("status %s", fl.Status)
						}
						bc.do("GET", fl.ResumeURL, "", "", [2]string{}, &fl)
						var tok struct {
							IDToken string `json:"id_token"`
						}
						form := url.Values{"grant_type": {"authorization_code"}, "code": {fl.AuthorizeResponse.Code}, "redirect_uri": {fx.RedirectURI}}.Encode()
						if st := bc.do("POST", base+"/as/token", "application/x-www-form-urlencoded", form, [2]string{fx.AppID, fx.AppSecret}, &tok); st != 200 || tok.IDToken == "" {
							b.Fatalf("token: %d", st)
						}
					}
					b.ReportMetric(float64(x.s.Queries()-q0)/float64(b.N), "queries/op")
				})
			}
		})
	}
}
