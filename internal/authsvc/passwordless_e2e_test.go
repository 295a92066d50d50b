package authsvc_test

import (
	"net/http"
	"reflect"
	"slices"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// Passwordless sign-on: PingOne's MFA-only sign-on policy (a policy whose
// only action is MULTI_FACTOR_AUTHENTICATION) asks for the username, then
// for one of the user's devices. The MFA action is then the first factor:
// it registers no device, never passes a user without one, and adds no
// "mfa" to the amr of a passcode.

// passwordless assigns an MFA-only policy named name to the fixture's
// application (acr_values picks it).
func (x *mfaFixture) passwordless(t testing.TB, name string, priority int, action map[string]any) {
	t.Helper()
	action["type"] = "MULTI_FACTOR_AUTHENTICATION"
	x.assign(t, x.newPolicy(t, name, action), priority)
}

// lookup starts a passwordless sign-on in a new browser and names the
// user.
func (x *mfaFixture) lookup(t *testing.T, policy, username string) *mfaFlow {
	t.Helper()
	f, _ := x.authorize(t, browser(t), http.StatusOK, "acr_values", policy)
	// A passkey may sign on without a username (assertion.check) where
	// the policy enables FIDO2.
	links := slices.DeleteFunc(f.links(), func(l string) bool { return l == "assertion.check" })
	if f.status() != "SIGN_ON_REQUIRED" || !slices.Equal(links, []string{"session.reset", "user.lookup"}) {
		t.Fatalf("%s: %s %v", policy, f.status(), f.links())
	}
	f.post(t, "user.lookup", `{"username":"`+username+`"}`, http.StatusOK)
	return f
}

// TestPasswordlessOTP: a user with an email device signs on with its
// passcode alone; the tokens say one factor.
func TestPasswordlessOTP(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newMFAFixture(t, be.DSN(t))
			x.passwordless(t, "Passwordless", 2, map[string]any{"noDevicesMode": "BLOCK"})
			dev := x.device(t, x.fx.UserID, map[string]any{"type": "EMAIL", "email": x.fx.Email, "status": "ACTIVE"})
			sent := x.s.Mail.Count()
			f := x.lookup(t, "Passwordless", x.fx.Username)
			if f.status() != "OTP_REQUIRED" || !slices.Equal(f.links(), []string{"device.select", "otp.check", "session.reset"}) ||
				x.s.Mail.Count() != sent+1 {
				t.Fatalf("after user.lookup: %s %v, %d mails", f.status(), f.links(), x.s.Mail.Count()-sent)
			}
			if sel, _ := f.last["selectedDevice"].(map[string]any); sel["id"] != dev {
				t.Errorf("selectedDevice %v", f.last["selectedDevice"])
			}
			// Nobody has proven anything yet: the flow shows the username
			// typed, not the account.
			if u := f.last["_embedded"].(map[string]any)["user"].(map[string]any); u["id"] != nil || u["name"] != nil || u["username"] != x.fx.Username {
				t.Errorf("_embedded.user before the passcode: %v", u)
			}
			// Starting over asks for the username again.
			f.post(t, "session.reset", `{}`, http.StatusOK)
			if f.status() != "SIGN_ON_REQUIRED" {
				t.Fatalf("after session.reset: %s", f.status())
			}
			f.post(t, "user.lookup", `{"username":"`+x.fx.Username+`"}`, http.StatusOK)
			wrong := "000000"
			if x.mailedCode(t, x.fx.Email) == wrong {
				wrong = "111111"
			}
			wantDetail(t, f.post(t, "otp.check", `{"otp":"`+wrong+`"}`, http.StatusBadRequest), "INVALID_OTP", "otp")
			f.post(t, "otp.check", `{"otp":"`+x.mailedCode(t, x.fx.Email)+`"}`, http.StatusOK)
			if sub, _, acr, amr := f.claims(t); sub != x.fx.UserID || acr != "Passwordless" || !slices.Equal(amr, []string{"otp"}) {
				t.Errorf("sub %s acr %q amr %v, want Passwordless [otp]", sub, acr, amr)
			}
		})
	}
}

// TestPasswordlessRefusals: whoever cannot sign on with a device alone is
// refused alike (the flow fails with one error), and nothing is sent or
// registered: a user without devices (even where pairing is allowed, or
// the action would bypass), a disabled user, a user whose MFA is
// disabled, and a username that names nobody.
func TestPasswordlessRefusals(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newMFAFixture(t, be.DSN(t))
			x.passwordless(t, "Passwordless", 2, map[string]any{"noDevicesMode": "BLOCK"})
			x.passwordless(t, "Passwordless_Bypass", 3, map[string]any{"noDevicesMode": "BYPASS"})
			user := func(name string, mfaOn bool) string {
				id := x.s.CreateUser(t, x.fx.EnvID, x.fx.PopulationID, name+"."+x.fx.Username, name+"."+x.fx.Email, "N", "O", x.fx.Password)
				x.setMFAEnabled(t, id, mfaOn)
				return id
			}
			nodev := user("nodev", true)
			disabled := user("disabled", true)
			x.device(t, disabled, map[string]any{"type": "EMAIL", "email": "disabled." + x.fx.Email, "status": "ACTIVE"})
			if r := x.s.Do(t, apptest.Request{Method: "PUT", URL: "/environments/" + x.fx.EnvID + "/users/" + disabled + "/enabled",
				Token: x.admin, Body: map[string]any{"enabled": false}}); r.Status != http.StatusOK {
				t.Fatalf("disable: %d %s", r.Status, r.Body)
			}
			off := user("off", false)
			x.device(t, off, map[string]any{"type": "EMAIL", "email": "off." + x.fx.Email, "status": "ACTIVE"})

			var first map[string]any
			for _, tc := range []struct{ name, policy, username string }{
				{"no devices, pairing allowed", "Passwordless", "nodev." + x.fx.Username},
				{"no devices, BYPASS", "Passwordless_Bypass", "nodev." + x.fx.Username},
				{"unknown username", "Passwordless", "nobody." + x.fx.Username},
				{"unknown username, BYPASS", "Passwordless_Bypass", "nobody." + x.fx.Username},
				{"disabled user", "Passwordless", "disabled." + x.fx.Username},
				{"MFA disabled", "Passwordless", "off." + x.fx.Username},
				{"MFA disabled, BYPASS", "Passwordless_Bypass", "off." + x.fx.Username},
			} {
				sent := x.s.Mail.Count()
				f := x.lookup(t, tc.policy, tc.username)
				if f.status() != "FAILED" || !slices.Equal(f.links(), nil) {
					t.Errorf("%s: %s %v", tc.name, f.status(), f.links())
					continue
				}
				e, _ := f.last["error"].(map[string]any)
				if e["code"] != "access_denied" {
					t.Errorf("%s: error %v", tc.name, e)
				}
				if first == nil {
					first = e
				} else if !reflect.DeepEqual(e, first) {
					t.Errorf("%s: error %v, unlike %v", tc.name, e, first)
				}
				if emb, _ := f.last["_embedded"].(map[string]any); emb["devices"] != nil || emb["deviceRegistration"] != nil {
					t.Errorf("%s: _embedded %v", tc.name, emb)
				}
				if x.s.Mail.Count() != sent {
					t.Errorf("%s: %d mails", tc.name, x.s.Mail.Count()-sent)
				}
			}
			r := x.s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + x.fx.EnvID + "/users/" + nodev + "/devices", Token: x.admin})
			if ds, _ := r.JSON(t)["_embedded"].(map[string]any)["devices"].([]any); r.Status != http.StatusOK || len(ds) != 0 {
				t.Errorf("devices of the user without devices: %d %s", r.Status, r.Body)
			}
		})
	}
}

// TestPasswordlessSessionNoMFA: a browser signed on by a passcode alone
// has proven one factor. A later sign-on that rides its session and asks
// for the same device again (the passwordless policy once more, or the
// Multi_Factor policy, whose LOGIN the session satisfies) proves no
// second factor: the amr must not say "mfa".
func TestPasswordlessSessionNoMFA(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newMFAFixture(t, be.DSN(t))
			x.passwordless(t, "Passwordless", 2, map[string]any{"noDevicesMode": "BLOCK"})
			x.device(t, x.fx.UserID, map[string]any{"type": "EMAIL", "email": x.fx.Email, "status": "ACTIVE"})
			c := browser(t)
			f, _ := x.authorize(t, c, http.StatusOK, "acr_values", "Passwordless")
			f.post(t, "user.lookup", `{"username":"`+x.fx.Username+`"}`, http.StatusOK)
			f.post(t, "otp.check", `{"otp":"`+x.mailedCode(t, x.fx.Email)+`"}`, http.StatusOK)
			if _, _, _, amr := f.claims(t); !slices.Equal(amr, []string{"otp"}) {
				t.Fatalf("passwordless amr %v", amr)
			}
			for _, policy := range []string{"Passwordless", "Multi_Factor"} {
				g, _ := x.authorize(t, c, http.StatusOK, "acr_values", policy)
				if g.status() != "OTP_REQUIRED" {
					t.Fatalf("%s on the passwordless session: %s", policy, g.status())
				}
				g.post(t, "otp.check", `{"otp":"`+x.mailedCode(t, x.fx.Email)+`"}`, http.StatusOK)
				if sub, _, acr, amr := g.claims(t); sub != x.fx.UserID || acr != policy || !slices.Equal(amr, []string{"otp"}) {
					t.Errorf("%s on the passwordless session: sub %s acr %q amr %v, want [otp]", policy, sub, acr, amr)
				}
			}
		})
	}
}
