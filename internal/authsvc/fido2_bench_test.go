package authsvc_test

import (
	"encoding/json"
	"net/url"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/fido/fidotest"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
)

// BenchmarkHeadlessFIDO2SignOn is one whole pi.flow sign-on per op with a
// passkey, answered by the software authenticator, ending in the code
// exchanged for tokens:
//
//   - pwd: the password alone (MFA off), the baseline of this fixture;
//   - pwd+fido2: the password, then assertion.check under Multi_Factor;
//   - passkey: user.lookup, then assertion.check under a passwordless
//     policy;
//   - usernameless: assertion.check straight away, the passkey naming
//     its user.
//
// Besides queries/op it reports the statements of the assertion.check
// request alone (assert-queries/op), where an N+1 would show. The
// authenticator's ES256 signature is client work inside the op (tens of
// microseconds).
//
//	go test -run '^$' -bench HeadlessFIDO2SignOn -benchtime=20x ./internal/authsvc/
func BenchmarkHeadlessFIDO2SignOn(b *testing.B) {
	for _, be := range apptest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			// One user signs on again and again from one address: the
			// limits are off, to measure the work.
			x := &fidoFixture{mfaFixture: newMFAFixture(b, be.DSN(b), apptest.Options{Limits: &ratelimit.Config{}}), key: &fidotest.Authenticator{}}
			x.enableFIDO2(b, x.fx.EnvID)
			x.passwordless(b, "Passwordless", 2, map[string]any{"noDevicesMode": "BLOCK"})
			x.registerKey(b, x.fx.EnvID, x.fx.UserID, x.key, passkey)
			fx := x.fx
			base := x.s.URL + "/" + fx.EnvID
			authURL := func(acr string) string {
				q := url.Values{"response_type": {"code"}, "client_id": {fx.AppID}, "redirect_uri": {fx.RedirectURI},
					"scope": {"openid profile"}, "response_mode": {"pi.flow"}}
				if acr != "" {
					q.Set("acr_values", acr)
				}
				return base + "/as/authorize?" + q.Encode()
			}
			creds := `{"username":"` + fx.Username + `","password":"` + fx.Password + `"}`
			lookup := `{"username":"` + fx.Username + `"}`
			for _, mode := range []struct {
				name     string
				acr      string
				mfa      bool
				password bool
				lookup   bool
			}{
				{name: "pwd", password: true},
				{name: "pwd+fido2", mfa: true, password: true},
				{name: "passkey", acr: "Passwordless", mfa: true, lookup: true},
				{name: "usernameless", acr: "Passwordless", mfa: true},
			} {
				b.Run(mode.name, func(b *testing.B) {
					x.setMFAEnabled(b, fx.UserID, mode.mfa)
					u := authURL(mode.acr)
					var assertQ int64
					q0 := x.s.Queries()
					for b.Loop() {
						bc := newBenchClient(b)
						var fl benchFlow
						bc.do("GET", u, "", "", [2]string{}, &fl)
						flowURL := base + "/flows/" + fl.ID
						if mode.password {
							bc.do("POST", flowURL, ctUsernamePassword, creds, [2]string{}, &fl)
						}
						if mode.lookup {
							bc.do("POST", flowURL, "application/vnd.pingidentity.user.lookup+json", lookup, [2]string{}, &fl)
						}
						if mode.mfa {
							if want := map[bool]string{true: "ASSERTION_REQUIRED", false: "SIGN_ON_REQUIRED"}[mode.password || mode.lookup]; fl.Status != want || fl.Options == "" {
								b.Fatalf("before the assertion: %s, options %q", fl.Status, fl.Options)
							}
							body := assertionBody(b, x.key, fl.Options)
							q := x.s.Queries()
							bc.do("POST", flowURL, "application/vnd.pingidentity.assertion.check+json", body, [2]string{}, &fl)
							assertQ += x.s.Queries() - q
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
					if mode.mfa {
						b.ReportMetric(float64(assertQ)/float64(b.N), "assert-queries/op")
					}
				})
			}
		})
	}
}

// benchFlow is what the benchmarks read of a flow.
type benchFlow struct {
	ID                string `json:"id"`
	Status            string `json:"status"`
	ResumeURL         string `json:"resumeUrl"`
	Options           string `json:"publicKeyCredentialRequestOptions"`
	AuthorizeResponse struct{ Code string }
}

// assertionBody is assertion.check's body: key's answer to the request
// options, user verified, from the page's origin.
func assertionBody(b *testing.B, key *fidotest.Authenticator, options string) string {
	b.Helper()
	a, err := key.Get([]byte(options), fidotest.GetOptions{Origin: fidoOrigin, Flags: uv.Flags})
	if err != nil {
		b.Fatal(err)
	}
	out, err := json.Marshal(map[string]string{"origin": fidoOrigin, "assertion": string(a)})
	if err != nil {
		b.Fatal(err)
	}
	return string(out)
}
