package deviceauth_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

// TestTOTP: a TOTP device (enabled by PingOne's default policy) is asked
// for a code without a send; a code of the current step completes, the
// same code again is refused (on another device authentication too), a
// wrong one counts, and the next step's code completes again.
func TestTOTP(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		uid := e.user("ada")
		dev, secret := e.mfa.totpDevice(uid)
		e.clock.Add(time.Minute) // past the step the activation used
		da := e.startFor(uid)
		id := da["id"].(string)
		if da["status"] != "OTP_REQUIRED" || da["selectedDevice"].(map[string]any)["id"] != dev {
			t.Fatalf("start: %v", da)
		}
		if d := da["_embedded"].(map[string]any)["devices"].([]any)[0].(map[string]any); d["type"] != "TOTP" || d["email"] != nil || d["phone"] != nil {
			t.Errorf("device = %v", d)
		}
		code, err := totp.GenerateCode(secret, e.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		d := wantError(t, e.checkOTP(id, wrong), http.StatusBadRequest, "INVALID_DATA", "INVALID_OTP", "otp")
		if d["innerError"].(map[string]any)["failuresRemaining"] != float64(2) {
			t.Errorf("wrong TOTP code: %v", d)
		}
		if r := e.checkOTP(id, code); r.status != http.StatusOK || r.json(t)["status"] != "COMPLETED" {
			t.Fatalf("otp.check: %d %s", r.status, r.body)
		}
		// Replayed within its window, on a new device authentication.
		id2 := e.startFor(uid)["id"].(string)
		wantError(t, e.checkOTP(id2, code), http.StatusBadRequest, "INVALID_DATA", "INVALID_OTP", "otp")
		e.clock.Add(30 * time.Second)
		next, _ := totp.GenerateCode(secret, e.clock.Now())
		if r := e.checkOTP(id2, next); r.status != http.StatusOK || r.json(t)["status"] != "COMPLETED" {
			t.Fatalf("otp.check of the next step: %d %s", r.status, r.body)
		}
	})
}

// TestTOTPReselect: selecting a TOTP device again does not forget the
// wrong codes entered for it: the third wrong code cools the device down
// and its right code is then refused.
func TestTOTPReselect(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		uid := e.user("ada")
		dev, secret := e.mfa.totpDevice(uid)
		e.clock.Add(time.Minute)
		id := e.startFor(uid)["id"].(string)
		code, err := totp.GenerateCode(secret, e.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		for range 2 {
			wantError(t, e.checkOTP(id, wrong), http.StatusBadRequest, "INVALID_DATA", "INVALID_OTP", "otp")
		}
		if r := e.selectDevice(id, dev); r.status != http.StatusOK {
			t.Fatalf("device.select: %d %s", r.status, r.body)
		}
		e.checkOTP(id, wrong)
		if r := e.checkOTP(id, code); r.status == http.StatusOK {
			t.Fatalf("the right code after three wrong ones across a re-select: %d %s", r.status, r.body)
		}
	})
}

// TestPromptToSelect: a policy that prompts to select sends a lone
// device its passcode at once, as sign-on flows do, and asks a user with
// two devices to choose.
func TestPromptToSelect(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		path := "/environments/" + e.envID + "/deviceAuthenticationPolicies/" + e.mfa.policyID()
		p := e.mfa.admin("GET", path, nil, http.StatusOK)
		p["authentication"] = map[string]any{"deviceSelection": "PROMPT_TO_SELECT"}
		e.mfa.admin("PUT", path, p, http.StatusOK)
		uid := e.user("ada")
		dev := e.mfa.device(uid, "EMAIL")
		if da := e.startFor(uid); da["status"] != "OTP_REQUIRED" || da["selectedDevice"].(map[string]any)["id"] != dev {
			t.Fatalf("one device: %v", da)
		}
		e.mfa.device(uid, "EMAIL")
		if da := e.startFor(uid); da["status"] != "DEVICE_SELECTION_REQUIRED" || da["selectedDevice"] != nil {
			t.Fatalf("two devices: %v", da)
		}
	})
}
