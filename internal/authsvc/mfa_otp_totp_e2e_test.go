package authsvc_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// enrolTOTP registers and activates a TOTP app for the fixture's user in
// one sign-on, and returns its secret.
func (x *mfaFixture) enrolTOTP(t *testing.T) string {
	t.Helper()
	f := x.signOn(t, x.fx.Username)
	f.post(t, "device.register", `{"type":"TOTP"}`, http.StatusOK)
	secret := f.devices()[0]["properties"].(map[string]any)["secret"].(string)
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	f.post(t, "otp.check", `{"otp":"`+code+`"}`, http.StatusOK)
	f.finish(t)
	return secret
}

// wrongTOTP is a code that is none of the app's codes around now.
func wrongTOTP(secret string) string {
	now := time.Now()
	for i := 0; ; i++ {
		w := fmt.Sprintf("%06d", 100000+i*7919)
		ok := true
		for _, d := range []time.Duration{-60 * time.Second, -30 * time.Second, 0, 30 * time.Second, 60 * time.Second} {
			if c, _ := totp.GenerateCode(secret, now.Add(d)); c == w {
				ok = false
			}
		}
		if ok {
			return w
		}
	}
}

// TestMFATOTPReselectKeepsFailures: re-selecting a TOTP device between
// wrong codes does not start its count again: the policy's failure count
// of 3 cools the device down after the third wrong code of the flow.
func TestMFATOTPReselectKeepsFailures(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newMFAFixture(t, be.DSN(t))
			x.editPolicy(t, func(p map[string]any) {
				p["totp"].(map[string]any)["otp"] = map[string]any{"failure": map[string]any{"count": 3,
					"coolDown": map[string]any{"duration": 2, "timeUnit": "MINUTES"}}}
			})
			secret := x.enrolTOTP(t)
			f := x.signOn(t, x.fx.Username)
			if f.status() != "OTP_REQUIRED" {
				t.Fatalf("second sign-on: %s", f.status())
			}
			dev := f.devices()[0]["id"].(string)
			wrong := wrongTOTP(secret)
			tries := 0
			var locked bool
			for ; tries < 10 && !locked; tries++ {
				h := f.post(t, "otp.check", `{"otp":"`+wrong+`"}`, http.StatusBadRequest)
				d := h.json(t)["details"].([]any)[0].(map[string]any)
				switch d["code"] {
				case "LOCKED":
					locked = true
					continue
				case "INVALID_OTP":
				default:
					t.Fatalf("wrong code %d: %v", tries, d)
				}
				f.post(t, "device.select", `{"device":{"id":"`+dev+`"}}`, http.StatusOK)
			}
			if !locked || tries != 3 {
				t.Fatalf("locked %v after %d wrong codes with re-selects, want after 3", locked, tries)
			}
			// The device cools down: a re-select is refused, and so is its
			// right code in another flow.
			wantDetail(t, f.post(t, "device.select", `{"device":{"id":"`+dev+`"}}`, http.StatusBadRequest), "LOCKED", "otp")
			g := x.signOn(t, x.fx.Username)
			right, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
			if h := call(t, g.c, "POST", g.url, "application/vnd.pingidentity.device.select+json", `{"device":{"id":"`+dev+`"}}`); h.status == http.StatusOK {
				g.last = h.json(t)
				h := call(t, g.c, "POST", g.url, "application/vnd.pingidentity.otp.check+json", `{"otp":"`+right+`"}`)
				if h.status != http.StatusBadRequest || !strings.Contains(string(h.body), `"LOCKED"`) {
					t.Errorf("right code while cooling down: %d %s", h.status, h.body)
				}
			}
		})
	}
}
