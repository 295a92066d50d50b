package authsvc_test

import (
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

func (x *mfaFixture) userDevices(t *testing.T) []map[string]any {
	t.Helper()
	r := x.s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + x.fx.EnvID + "/users/" + x.fx.UserID + "/devices", Token: x.admin})
	if r.Status != http.StatusOK {
		t.Fatalf("devices: %d %s", r.Status, r.Body)
	}
	var out []map[string]any
	for _, d := range r.JSON(t)["_embedded"].(map[string]any)["devices"].([]any) {
		out = append(out, d.(map[string]any))
	}
	return out
}

// TestMFARegistrationOnlyWithoutDevices: a user with an active device of
// a type the policy disables, or with a device an administrator created
// awaiting activation, is not offered registration: BLOCK fails the
// flow, BYPASS passes it.
func TestMFARegistrationOnlyWithoutDevices(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newMFAFixture(t, be.DSN(t))
			x.editPolicy(t, func(p map[string]any) { p["sms"].(map[string]any)["enabled"] = true })
			x.device(t, x.fx.UserID, map[string]any{"type": "SMS", "phone": "+15125550199", "status": "ACTIVE"})
			x.editPolicy(t, func(p map[string]any) { p["sms"].(map[string]any)["enabled"] = false })
			f := x.signOn(t, x.fx.Username)
			if f.status() != "FAILED" || f.last["error"].(map[string]any)["code"] != "access_denied" {
				t.Fatalf("active disabled device, BLOCK: %s %v", f.status(), f.links())
			}
			x.setMFAAction(t, map[string]any{"noDevicesMode": "BYPASS"})
			if acr, amr := x.signOn(t, x.fx.Username).finish(t); acr != "Multi_Factor" || !slices.Equal(amr, []string{"pwd"}) {
				t.Errorf("active disabled device, BYPASS: acr %q amr %v", acr, amr)
			}
			x.setMFAAction(t, map[string]any{"noDevicesMode": "BLOCK"})

			// An administrator's device awaiting activation.
			other := x.s.CreateUser(t, x.fx.EnvID, x.fx.PopulationID, "pend."+x.fx.Username, "pend."+x.fx.Email, "P", "O", x.fx.Password)
			x.setMFAEnabled(t, other, true)
			x.device(t, other, map[string]any{"type": "EMAIL", "email": "pend." + x.fx.Email, "status": "ACTIVATION_REQUIRED"})
			g := x.signOn(t, "pend."+x.fx.Username)
			if g.status() != "FAILED" || g.last["error"].(map[string]any)["code"] != "access_denied" {
				t.Fatalf("pending admin device, BLOCK: %s %v", g.status(), g.links())
			}
		})
	}
}

// TestMFAAbandonedEnrolments: an enrolment abandoned in one sign-on is
// replaced by the next, and does not count against the device limit;
// parallel registrations in one flow leave one device.
func TestMFAAbandonedEnrolments(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newMFAFixture(t, be.DSN(t))
			r := x.s.Do(t, apptest.Request{Method: "PUT", URL: "/environments/" + x.fx.EnvID + "/mfaSettings", Token: x.admin,
				Body: map[string]any{"pairing": map[string]any{"maxAllowedDevices": 1, "pairingKeyFormat": "ALPHANUMERIC"}}})
			if r.Status != http.StatusOK {
				t.Fatalf("mfaSettings: %d %s", r.Status, r.Body)
			}
			var last string
			for i := range 3 {
				f := x.signOn(t, x.fx.Username)
				if f.status() != "DEVICE_REGISTRATION_REQUIRED" {
					t.Fatalf("sign-on %d: %s %v", i, f.status(), f.last["error"])
				}
				f.post(t, "device.register", `{"type":"TOTP"}`, http.StatusOK)
				last = f.devices()[0]["id"].(string)
			}
			if ds := x.userDevices(t); len(ds) != 1 || ds[0]["id"] != last || ds[0]["status"] != "ACTIVATION_REQUIRED" {
				t.Fatalf("after three abandoned enrolments: %v", ds)
			}
			// The management API still counts the pending device.
			r = x.s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + x.fx.EnvID + "/users/" + x.fx.UserID + "/devices",
				Token: x.admin, Body: map[string]any{"type": "EMAIL", "email": x.fx.Email, "status": "ACTIVE"}})
			if r.Status != http.StatusBadRequest {
				t.Errorf("admin device over the limit: %d %s", r.Status, r.Body)
			}

			// Parallel registrations in one flow: one device.
			f := x.signOn(t, x.fx.Username)
			var wg sync.WaitGroup
			codes := make([]int, 4)
			for i := range codes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					h := call(t, f.c, "POST", f.url, "application/vnd.pingidentity.device.register+json", `{"type":"TOTP"}`)
					codes[i] = h.status
				}()
			}
			wg.Wait()
			ds := x.userDevices(t)
			fl := f.get(t)
			if len(ds) != 1 {
				t.Fatalf("after parallel registrations (%v): %d devices %v", codes, len(ds), ds)
			}
			if sel, _ := fl["selectedDevice"].(map[string]any); sel == nil || sel["id"] != ds[0]["id"] {
				t.Errorf("flow %v selects %v, the user has %v", fl["status"], fl["selectedDevice"], ds[0]["id"])
			}
		})
	}
}
