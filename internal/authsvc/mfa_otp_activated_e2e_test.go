package authsvc_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// TestMFARegisteredDeviceActivatedElsewhere: a device registered in the
// flow and activated elsewhere leaves otp.check nothing to check: the
// flow goes back to DEVICE_SELECTION_REQUIRED.
func TestMFARegisteredDeviceActivatedElsewhere(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newMFAFixture(t, be.DSN(t))
			f := x.signOn(t, x.fx.Username)
			f.post(t, "device.register", `{"type":"EMAIL"}`, http.StatusOK)
			dev := f.devices()[0]["id"].(string)
			code := x.mailedCode(t, x.fx.Email)
			r := x.s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + x.fx.EnvID + "/users/" + x.fx.UserID + "/devices/" + dev,
				Token: x.admin, ContentType: "application/vnd.pingidentity.device.activate+json", Body: map[string]any{"otp": code}})
			if r.Status != http.StatusOK {
				t.Fatalf("activate: %d %s", r.Status, r.Body)
			}
			wantDetail(t, f.post(t, "otp.check", `{"otp":"`+code+`"}`, http.StatusBadRequest), "OTP_EXPIRED", "otp")
			fl := f.get(t)
			f.last = fl
			if fl["status"] != "DEVICE_SELECTION_REQUIRED" || !slices.Contains(f.links(), "device.select") {
				t.Fatalf("after activation elsewhere: %s %v", fl["status"], f.links())
			}
			f.post(t, "device.select", `{"device":{"id":"`+dev+`"}}`, http.StatusOK)
			f.post(t, "otp.check", `{"otp":"`+x.mailedCode(t, x.fx.Email)+`"}`, http.StatusOK)
			if _, amr := f.finish(t); !slices.Equal(amr, wantAMREmail) {
				t.Errorf("amr %v", amr)
			}
		})
	}
}
