package deviceauth_test

import (
	"net/http"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/roles"
)

// TestThroughTheServer: device authentications as the server serves them
// (app wiring, the MFA domain, the passcode sender, the mail notifier):
// a worker starts one for a user with an email device, the passcode
// arrives by mail, and otp.check completes it.
func TestThroughTheServer(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			srv := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			x := srv.NewSignOn(t, apptest.SignOnOptions{})
			admin := srv.AdminToken(t)
			worker := srv.Token(t, srv.CreateWorker(t, x.EnvID, "CLIENT_SECRET_BASIC", [3]string{roles.IdentityDataAdmin.ID, roles.ScopeEnvironment, x.EnvID}))
			must := func(r *apptest.Response, want int) map[string]any {
				t.Helper()
				if r.Status != want {
					t.Fatalf("status %d, want %d: %s", r.Status, want, r.Body)
				}
				return r.JSON(t)
			}
			user := "/environments/" + x.EnvID + "/users/" + x.UserID
			must(srv.Do(t, apptest.Request{Method: "PUT", URL: user + "/mfaEnabled", Token: admin, Body: map[string]any{"mfaEnabled": true}}), http.StatusOK)
			dev := must(srv.Do(t, apptest.Request{Method: "POST", URL: user + "/devices", Token: admin,
				Body: map[string]any{"type": "EMAIL", "email": x.Email}}), http.StatusCreated)["id"].(string)

			base := srv.URL + "/" + x.EnvID + "/deviceAuthentications"
			da := must(srv.Do(t, apptest.Request{Method: "POST", URL: base, Token: worker, Body: map[string]any{"user": map[string]any{"id": x.UserID}}}),
				http.StatusCreated)
			id := da["id"].(string)
			if da["status"] != "OTP_REQUIRED" || da["selectedDevice"].(map[string]any)["id"] != dev ||
				da["_links"].(map[string]any)["otp.check"].(map[string]any)["href"] != base+"/"+id {
				t.Fatalf("start: %v", da)
			}
			mail, ok := srv.Mail.Last(x.Email)
			if !ok || mail.Code == "" || mail.Kind != "strong_authentication" {
				t.Fatalf("passcode mail: %+v (%v)", mail, ok)
			}
			done := must(srv.Do(t, apptest.Request{Method: "POST", URL: base + "/" + id, Token: worker,
				ContentType: "application/vnd.pingidentity.otp.check+json", Body: map[string]any{"otp": mail.Code}}), http.StatusOK)
			if done["status"] != "COMPLETED" {
				t.Fatalf("otp.check: %v", done)
			}
			// Another method is PingOne's 405.
			if r := srv.Do(t, apptest.Request{Method: "DELETE", URL: base + "/" + id, Token: worker}); r.Status != http.StatusMethodNotAllowed ||
				r.JSON(t)["code"] != "METHOD_NOT_ALLOWED" {
				t.Errorf("DELETE: %d %s", r.Status, r.Body)
			}
			// Without a token, nothing.
			if r := srv.Do(t, apptest.Request{Method: "GET", URL: base + "/" + id}); r.Status != http.StatusUnauthorized {
				t.Errorf("read without a token: %d %s", r.Status, r.Body)
			}
		})
	}
}
