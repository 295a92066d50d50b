package deviceauth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/google/uuid"
)

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// TestEmailOTP: start → OTP_REQUIRED with the first device selected and
// its passcode sent → a wrong passcode (failures remaining) → the right
// one → COMPLETED, after which nothing more is taken; every member
// PingOne returns is there.
func TestEmailOTP(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		uid := e.user("ada")
		dev := e.mfa.device(uid, mfa.TypeEmail)
		r := e.start(map[string]any{"user": map[string]any{"id": uid}})
		if r.status != http.StatusCreated {
			t.Fatalf("start: %d %s", r.status, r.body)
		}
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
		da := r.json(t)
		id, _ := da["id"].(string)
		self := e.base + e.path(id)
		if got, want := keys(da), []string{"_embedded", "_links", "createdAt", "environment", "id", "policy", "selectedDevice", "status", "updatedAt", "user"}; !slices.Equal(got, want) {
			t.Errorf("members = %v, want %v", got, want)
		}
		links := da["_links"].(map[string]any)
		if got := keys(links); !slices.Equal(got, []string{"device.select", "otp.check", "self"}) {
			t.Errorf("_links = %v", got)
		}
		for _, k := range []string{"self", "device.select", "otp.check"} {
			if links[k].(map[string]any)["href"] != self {
				t.Errorf("_links.%s = %v, want %s", k, links[k], self)
			}
		}
		if da["status"] != "OTP_REQUIRED" || da["environment"].(map[string]any)["id"] != e.envID ||
			da["user"].(map[string]any)["id"] != uid || da["selectedDevice"].(map[string]any)["id"] != dev ||
			da["policy"].(map[string]any)["id"] != e.mfa.policyID() {
			t.Errorf("device authentication = %s", r.body)
		}
		devs := da["_embedded"].(map[string]any)["devices"].([]any)
		if len(devs) != 1 {
			t.Fatalf("devices = %v", devs)
		}
		d0 := devs[0].(map[string]any)
		if d0["id"] != dev || d0["type"] != "EMAIL" || d0["status"] != "ACTIVE" || d0["email"] != "ad****@example.com" {
			t.Errorf("device = %v", d0)
		}
		if strings.Contains(string(r.body), "ada.lovelace") {
			t.Errorf("the address is shown unmasked: %s", r.body)
		}
		if e.mfa.sends(dev) != 1 {
			t.Errorf("passcodes sent = %d, want 1", e.mfa.sends(dev))
		}

		// GET shows the same.
		g := e.call("GET", e.path(id), "", nil)
		if g.status != http.StatusOK || g.json(t)["status"] != "OTP_REQUIRED" {
			t.Fatalf("read: %d %s", g.status, g.body)
		}

		code := e.mfa.code(dev)
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		d := wantError(t, e.checkOTP(id, wrong), http.StatusBadRequest, "INVALID_DATA", "INVALID_OTP", "otp")
		if d["innerError"].(map[string]any)["failuresRemaining"] != float64(2) {
			t.Errorf("wrong passcode detail = %v, want failuresRemaining 2", d)
		}

		ok := e.checkOTP(id, code)
		if ok.status != http.StatusOK {
			t.Fatalf("otp.check: %d %s", ok.status, ok.body)
		}
		done := ok.json(t)
		if done["status"] != "COMPLETED" || done["_embedded"] != nil {
			t.Errorf("completed = %s", ok.body)
		}
		if got := keys(done["_links"].(map[string]any)); !slices.Equal(got, []string{"self"}) {
			t.Errorf("completed _links = %v", got)
		}
		// Single use: the passcode again, or any action, is refused.
		wantError(t, e.checkOTP(id, code), http.StatusBadRequest, "INVALID_REQUEST", "INVALID_VALUE", "Content-Type")
		wantError(t, e.selectDevice(id, dev), http.StatusBadRequest, "INVALID_REQUEST", "INVALID_VALUE", "Content-Type")

		// The same passcode does not complete another one.
		other := e.startFor(uid)["id"].(string)
		wantError(t, e.checkOTP(other, code), http.StatusBadRequest, "INVALID_DATA", "INVALID_OTP", "otp")
	})
}

// TestDeviceSelection: a change of device goes back to
// DEVICE_SELECTION_REQUIRED; device.select sends to the chosen device;
// selecting the same device again resends and voids the previous code;
// another user's device is not found.
func TestDeviceSelection(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		uid := e.user("ada")
		email := e.mfa.device(uid, mfa.TypeEmail)
		e.mfa.enable(mfa.TypeSMS)
		sms := e.mfa.device(uid, mfa.TypeSMS)
		bob := e.user("bob")
		bobs := e.mfa.device(bob, mfa.TypeEmail)
		id := e.startFor(uid)["id"].(string)

		c := e.call("POST", e.path(id), ctCancel, map[string]any{"reason": "CHANGE_DEVICE"})
		if c.status != http.StatusOK {
			t.Fatalf("cancel: %d %s", c.status, c.body)
		}
		sel := c.json(t)
		if sel["status"] != "DEVICE_SELECTION_REQUIRED" || sel["selectedDevice"] != nil {
			t.Errorf("after cancel: %s", c.body)
		}
		if got := keys(sel["_links"].(map[string]any)); !slices.Equal(got, []string{"device.select", "self"}) {
			t.Errorf("_links = %v", got)
		}
		if n := len(sel["_embedded"].(map[string]any)["devices"].([]any)); n != 2 {
			t.Errorf("devices = %d, want 2", n)
		}
		// otp.check is not taken while a device is to be selected.
		wantError(t, e.checkOTP(id, e.mfa.code(email)), http.StatusBadRequest, "INVALID_REQUEST", "INVALID_VALUE", "Content-Type")

		for _, tc := range []struct {
			name   string
			device string
			status int
			code   string
		}{
			{"another user's device", bobs, http.StatusNotFound, "NOT_FOUND"},
			{"an unknown device", "0b0e4c5f-1f51-4c71-9d55-1b7c1b9b1b1b", http.StatusNotFound, "NOT_FOUND"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantError(t, e.selectDevice(id, tc.device), tc.status, tc.code, "", "")
			})
		}
		if e.mfa.sends(bobs) != 0 {
			t.Errorf("a passcode went to another user's device")
		}

		s := e.selectDevice(id, sms)
		if s.status != http.StatusOK || s.json(t)["status"] != "OTP_REQUIRED" || s.json(t)["selectedDevice"].(map[string]any)["id"] != sms {
			t.Fatalf("select: %d %s", s.status, s.body)
		}
		if d := s.json(t)["_embedded"].(map[string]any)["devices"].([]any)[1].(map[string]any); d["phone"] != "**********01" {
			t.Errorf("masked phone = %v", d["phone"])
		}
		first := e.mfa.code(sms)
		// Selecting it again at once is refused; 30 seconds on it resends,
		// and the first code is void.
		wantError(t, e.selectDevice(id, sms), http.StatusBadRequest, "INVALID_DATA", "INVALID_VALUE", "device.id")
		if e.mfa.sends(sms) != 1 {
			t.Errorf("a refused resend sent a passcode")
		}
		e.clock.Add(30 * time.Second)
		if r := e.selectDevice(id, sms); r.status != http.StatusOK {
			t.Fatalf("reselect: %d %s", r.status, r.body)
		}
		second := e.mfa.code(sms)
		if first != second {
			wantError(t, e.checkOTP(id, first), http.StatusBadRequest, "INVALID_DATA", "INVALID_OTP", "otp")
		}
		if r := e.checkOTP(id, second); r.status != http.StatusOK || r.json(t)["status"] != "COMPLETED" {
			t.Fatalf("otp.check: %d %s", r.status, r.body)
		}
	})
}

// TestExpiredAndLockout: an expired passcode is OTP_EXPIRED and a new
// selection sends a fresh one; wrong passcodes count into the user's MFA
// lockout, whose last fails the device authentication, and a locked user
// cannot start another.
func TestExpiredAndLockout(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		uid := e.user("ada")
		dev := e.mfa.device(uid, mfa.TypeEmail)
		e.mfa.otpLifetime(mfa.TypeEmail, 5*time.Minute)
		id := e.startFor(uid)["id"].(string)
		code := e.mfa.code(dev)
		e.clock.Add(6 * time.Minute) // past the passcode's lifetime, but the device authentication lives on
		wantError(t, e.checkOTP(id, code), http.StatusBadRequest, "INVALID_DATA", "OTP_EXPIRED", "otp")
		if r := e.selectDevice(id, dev); r.status != http.StatusOK {
			t.Fatalf("reselect: %d %s", r.status, r.body)
		}

		// Five wrong passcodes in a row lock (the fixture's settings): three
		// on this one, two on the next.
		wrong := func(id string) *resp {
			c := e.mfa.code(dev)
			w := "000000"
			if c == w {
				w = "111111"
			}
			return e.checkOTP(id, w)
		}
		for i, want := range []float64{2, 1, 0} {
			d := wantError(t, wrong(id), http.StatusBadRequest, "INVALID_DATA", "INVALID_OTP", "otp")
			if d["innerError"].(map[string]any)["failuresRemaining"] != want {
				t.Errorf("wrong #%d: %v, want failuresRemaining %v", i+1, d, want)
			}
		}
		// Spent: even the right passcode is refused now.
		wantError(t, e.checkOTP(id, e.mfa.code(dev)), http.StatusBadRequest, "INVALID_DATA", "INVALID_OTP", "otp")
		// The lockout counts on across device authentications: within the
		// five, a wrong passcode on the next one locks.
		id2 := e.startFor(uid)["id"].(string)
		var d map[string]any
		for i := 0; ; i++ {
			r := wrong(id2)
			if r.status == http.StatusBadRequest && strings.Contains(string(r.body), `"LOCKED"`) || i == 2 {
				d = wantError(t, r, http.StatusBadRequest, "INVALID_DATA", "LOCKED", "otp")
				break
			}
			wantError(t, r, http.StatusBadRequest, "INVALID_DATA", "INVALID_OTP", "otp")
		}
		if s := d["innerError"].(map[string]any)["secondsUntilUnlock"]; s != float64(600) {
			t.Errorf("secondsUntilUnlock = %v, want 600", s)
		}
		g := e.call("GET", e.path(id2), "", nil).json(t)
		if g["status"] != "FAILED" || g["error"].(map[string]any)["code"] != "LOCKED" {
			t.Errorf("locked: %v", g)
		}
		// Locked: no new start, and nothing is written or sent.
		before := e.mfa.sends(dev)
		wantError(t, e.start(map[string]any{"user": map[string]any{"id": uid}}), http.StatusBadRequest, "INVALID_DATA", "LOCKED", "otp")
		wantError(t, e.selectDevice(id, dev), http.StatusBadRequest, "INVALID_DATA", "LOCKED", "otp")
		if e.mfa.sends(dev) != before {
			t.Errorf("a passcode was sent to a locked user")
		}
		// The lock ends.
		e.clock.Add(10 * time.Minute)
		if r := e.start(map[string]any{"user": map[string]any{"id": uid}}); r.status != http.StatusCreated {
			t.Errorf("start after the lock: %d %s", r.status, r.body)
		}
		// A device authentication idle past its life is gone.
		e.clock.Add(16 * time.Minute)
		wantError(t, e.call("GET", e.path(id), "", nil), http.StatusNotFound, "NOT_FOUND", "", "")
	})
}

// TestPolicyTypes: only device types the policy enables are offered or
// taken; a policy given by id is run, another environment's is not found.
func TestPolicyTypes(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		uid := e.user("ada")
		e.mfa.enable(mfa.TypeSMS)
		sms := e.mfa.device(uid, mfa.TypeSMS)
		email := e.mfa.device(uid, mfa.TypeEmail)
		e.mfa.editPolicy(mfa.TypeSMS, func(m map[string]any) { m["enabled"] = false })
		// The SMS device is first, but the policy no longer allows it.
		da := e.startFor(uid)
		if da["selectedDevice"].(map[string]any)["id"] != email {
			t.Errorf("selected %v, want the email device", da["selectedDevice"])
		}
		if devs := da["_embedded"].(map[string]any)["devices"].([]any); len(devs) != 1 || devs[0].(map[string]any)["id"] != email {
			t.Errorf("devices = %v, want the email device only", devs)
		}
		if e.mfa.sends(sms) != 0 {
			t.Errorf("a passcode went to a device of a disabled type")
		}
		wantError(t, e.start(map[string]any{"user": map[string]any{"id": uid}, "selectedDevice": map[string]any{"id": sms}}),
			http.StatusBadRequest, "INVALID_DATA", "INVALID_VALUE", "selectedDevice.id")
		wantError(t, e.selectDevice(da["id"].(string), sms), http.StatusBadRequest, "INVALID_DATA", "INVALID_VALUE", "device.id")
		// The policy named by id, and another environment's.
		pid := e.mfa.policyID()
		if r := e.start(map[string]any{"user": map[string]any{"id": uid}, "policy": map[string]any{"id": pid}}); r.status != http.StatusCreated ||
			r.json(t)["policy"].(map[string]any)["id"] != pid {
			t.Errorf("start with the policy's id: %d %s", r.status, r.body)
		}
		other := e.srv.NewSignOn(t, apptest.SignOnOptions{})
		op := e.srv.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + other.EnvID + "/deviceAuthenticationPolicies", Token: e.srv.AdminToken(t)})
		foreign := op.JSON(t)["_embedded"].(map[string]any)["deviceAuthenticationPolicies"].([]any)[0].(map[string]any)["id"].(string)
		wantError(t, e.start(map[string]any{"user": map[string]any{"id": uid}, "policy": map[string]any{"id": foreign}}),
			http.StatusNotFound, "NOT_FOUND", "", "")
	})
}

// TestFIDO2NotOffered: the default policy enables FIDO2, but a
// device authentication proves passcodes only, so an active FIDO2 device
// is neither offered, picked first, nor selectable — never a passcode
// "sent" to a security key — and a user with only a FIDO2 device has no
// usable device.
func TestFIDO2NotOffered(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		uid := e.user("ada")
		key := &store.MFADevice{ID: uuid.NewString(), EnvironmentID: e.envID, UserID: uid, Type: mfa.TypeFIDO2,
			Status: mfa.StatusActive, CredentialID: "Y3JlZGVudGlhbA", Data: json.RawMessage(`{}`),
			CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now()}
		if err := e.srv.Store.CreateMFADevice(ctx, key); err != nil {
			t.Fatal(err)
		}
		wantError(t, e.start(map[string]any{"user": map[string]any{"id": uid}}),
			http.StatusBadRequest, "INVALID_DATA", "NO_USABLE_DEVICES", "user.id")

		email := e.mfa.device(uid, mfa.TypeEmail)
		if err := e.srv.Store.SetMFADeviceOrder(ctx, e.envID, uid, []string{key.ID, email}); err != nil {
			t.Fatal(err)
		}
		da := e.startFor(uid)
		if da["status"] != "OTP_REQUIRED" || da["selectedDevice"].(map[string]any)["id"] != email {
			t.Errorf("start = %v, want the email device selected", da)
		}
		if devs := da["_embedded"].(map[string]any)["devices"].([]any); len(devs) != 1 || devs[0].(map[string]any)["id"] != email {
			t.Errorf("devices = %v, want the email device only", devs)
		}
		wantError(t, e.start(map[string]any{"user": map[string]any{"id": uid}, "selectedDevice": map[string]any{"id": key.ID}}),
			http.StatusBadRequest, "INVALID_DATA", "INVALID_VALUE", "selectedDevice.id")
		wantError(t, e.selectDevice(da["id"].(string), key.ID), http.StatusBadRequest, "INVALID_DATA", "INVALID_VALUE", "device.id")
	})
}
