package deviceauth_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/audit/audittest"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
)

// TestAuditOTPChecks: a device authentication's wrong and right
// passcodes record OTP.CHECK_FAILED and OTP.CHECK_SUCCESS for the user
// and the device.
func TestAuditOTPChecks(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		cap := &audittest.Capture{}
		e.svc.Audit = cap
		uid := e.user("ada")
		dev := e.mfa.device(uid, mfa.TypeEmail)
		r := e.start(map[string]any{"user": map[string]any{"id": uid}})
		if r.status != http.StatusCreated {
			t.Fatalf("start: %d %s", r.status, r.body)
		}
		id := r.json(t)["id"].(string)
		code := e.mfa.code(dev)
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		e.checkOTP(id, wrong)
		if ok := e.checkOTP(id, code); ok.status != http.StatusOK {
			t.Fatalf("otp.check: %d %s", ok.status, ok.body)
		}
		res := audit.ResUser + ":" + uid + " " + audit.ResDevice + ":" + dev
		want := []audittest.Brief{
			{Type: audit.OTPCheckFailed, Result: "FAILED", User: uid, Resources: res},
			{Type: audit.OTPCheckSuccess, Result: "SUCCESS", User: uid, Resources: res},
		}
		got := cap.Of(e.envID)
		b := audittest.Briefs(got)
		for i := range b {
			b[i].Client = "" // the application that started it
		}
		if !slices.Equal(b, want) {
			t.Errorf("activities:\n got %+v\nwant %+v", b, want)
		}
		if len(got) == 2 && (got[0].ResultDescription != "The passcode is not correct." || got[1].User.Name != "ada") {
			t.Errorf("activities %+v", got)
		}
	})
}
