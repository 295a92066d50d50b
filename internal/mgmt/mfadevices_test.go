package mgmt_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
)

const (
	ctDeviceActivate     = "application/vnd.pingidentity.device.activate+json"
	ctDeviceSendCode     = "application/vnd.pingidentity.device.sendActivationCode+json"
	ctDevicesReorder     = "application/vnd.pingidentity.devices.reorder+json"
	ctDevicesOrderRemove = "application/vnd.pingidentity.devices.order.remove+json"
)

// otpOutbox is an in-memory mfa.Sender: the test reads the passcodes.
type otpOutbox struct {
	mu   sync.Mutex
	sent []mfa.OTP
}

func (o *otpOutbox) SendOTP(_ context.Context, m mfa.OTP) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sent = append(o.sent, m)
	return nil
}

func (o *otpOutbox) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.sent)
}

func (o *otpOutbox) last(t *testing.T) mfa.OTP {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.sent) == 0 {
		t.Fatal("no passcode was sent")
	}
	return o.sent[len(o.sent)-1]
}

// totpPolicies are PingOne's defaults with TOTP enabled, as an
// environment that turned the authenticator app on has them.
type totpPolicies struct{}

func (totpPolicies) Settings(context.Context, string) (*mfa.Settings, error) {
	return &mfa.Settings{MaxDevices: 5, LockoutFailures: 5, LockoutDuration: 10 * time.Minute}, nil
}

func (totpPolicies) Method(_ context.Context, _, _, typ string) (mfa.MethodPolicy, error) {
	return mfa.MethodPolicy{Enabled: true, OTPLifetime: 30 * time.Minute, OTPFailures: 3, CoolDown: 2 * time.Minute}, nil
}

func TestMFADevicesAsSDK(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			out := &otpOutbox{}
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t), MFASender: out, MFAPolicies: totpPolicies{}})
			testMFADevices(t, s, out)
		})
	}
}

func testMFADevices(t *testing.T, s *apptest.Server, out *otpOutbox) {
	admin := s.AdminToken(t)
	x := newEnv(t, s, "MFA X", "SANDBOX")
	y := newEnv(t, s, "MFA Y", "SANDBOX")
	pop := newPop(t, s, x, "Members")
	popY := newPop(t, s, y, "Theirs")
	alice := s.CreateUser(t, x, pop, "alice", "alice@example.com", "Alice", "Liddell", "Correct-H0rse-Battery!")
	bob := s.CreateUser(t, x, pop, "bob", "bob@example.com", "Bob", "B", "Correct-H0rse-Battery!")
	carol := s.CreateUser(t, y, popY, "carol", "carol@example.com", "Carol", "Y", "Correct-H0rse-Battery!")
	users := "/environments/" + x + "/users/"
	devices := users + alice + "/devices"
	do := func(r apptest.Request) *apptest.Response {
		t.Helper()
		if r.Token == "" {
			r.Token = admin
		}
		return doNo5xx(t, s, r)
	}
	create := func(userPath string, body any) *apptest.Response {
		t.Helper()
		return do(apptest.Request{Method: "POST", URL: userPath + "/devices", Body: body})
	}
	list := func() []string {
		t.Helper()
		l := must(t, do(apptest.Request{Method: "GET", URL: devices}), http.StatusOK)
		var ids []string
		for _, d := range get(l, "_embedded.devices").([]any) {
			ids = append(ids, d.(map[string]any)["id"].(string))
		}
		return ids
	}

	// A new user has no devices.
	empty := must(t, do(apptest.Request{Method: "GET", URL: devices}), http.StatusOK)
	wantFields(t, empty, map[string]any{"count": 0, "size": 0, "_embedded.devices": []any{}, "_links.self.href": s.APIPath + devices})

	// EMAIL, created by an administrator: ACTIVE by default, nothing sent.
	email := must(t, create(users+alice, map[string]any{"type": "EMAIL", "email": "alice@example.com"}), http.StatusCreated)
	emailID := checkID(t, email, "id")
	checkTime(t, email, "createdAt")
	checkTime(t, email, "updatedAt")
	wantFields(t, email, map[string]any{"type": "EMAIL", "status": "ACTIVE", "email": "alice@example.com", "environment.id": x,
		"user.id": alice, "_links.self.href": s.APIPath + devices + "/" + emailID, "_links.user.href": s.APIPath + users + alice,
		"_links.environment.href": s.APIPath + "/environments/" + x})
	if got := keysOf(email); !slices.Equal(got, []string{"_links", "createdAt", "email", "environment", "id", "status", "type", "updatedAt", "user"}) {
		t.Errorf("members = %v", got)
	}
	if out.count() != 0 {
		t.Errorf("an ACTIVE device was sent %d passcodes", out.count())
	}
	// A GET returns what the creation did; the list embeds it.
	read := must(t, do(apptest.Request{Method: "GET", URL: devices + "/" + emailID}), http.StatusOK)
	for _, k := range []string{"id", "type", "status", "email", "createdAt", "updatedAt"} {
		if read[k] != email[k] {
			t.Errorf("GET %s = %v, created %v", k, read[k], email[k])
		}
	}

	// SMS: PingOne's separators are taken, the number kept in E.164.
	sms := must(t, create(users+alice, map[string]any{"type": "SMS", "phone": "+1 (512) 555-1234", "nickname": "Work phone"}), http.StatusCreated)
	smsID := checkID(t, sms, "id")
	wantFields(t, sms, map[string]any{"type": "SMS", "status": "ACTIVE", "phone": "+15125551234", "nickname": "Work phone"})
	if got := list(); !slices.Equal(got, []string{emailID, smsID}) {
		t.Errorf("devices = %v, want oldest first", got)
	}

	// The error matrix: nothing is written, nothing sent.
	before, sent := len(list()), out.count()
	for _, c := range []struct {
		name, url, ct string
		body          any
		status        int
		code, detail  string
		target        string
	}{
		{"unknown type", devices, "", map[string]any{"type": "CARRIER_PIGEON"}, 400, "INVALID_DATA", "INVALID_VALUE", "type"},
		{"no type", devices, "", map[string]any{"email": "a@example.com"}, 400, "INVALID_DATA", "REQUIRED_VALUE", "type"},
		{"email without email", devices, "", map[string]any{"type": "EMAIL"}, 400, "INVALID_DATA", "REQUIRED_VALUE", "email"},
		{"bad email", devices, "", map[string]any{"type": "EMAIL", "email": "not an address"}, 400, "INVALID_DATA", "INVALID_VALUE", "email"},
		{"sms without phone", devices, "", map[string]any{"type": "SMS"}, 400, "INVALID_DATA", "REQUIRED_VALUE", "phone"},
		{"voice without phone", devices, "", map[string]any{"type": "VOICE", "phone": ""}, 400, "INVALID_DATA", "REQUIRED_VALUE", "phone"},
		{"national phone", devices, "", map[string]any{"type": "SMS", "phone": "5125551234"}, 400, "INVALID_DATA", "INVALID_VALUE", "phone"},
		{"bad status", devices, "", map[string]any{"type": "EMAIL", "email": "a@example.com", "status": "BLOCKED"}, 400, "INVALID_DATA", "INVALID_VALUE", "status"},
		{"long nickname", devices, "", map[string]any{"type": "EMAIL", "email": "a@example.com", "nickname": strings.Repeat("n", 101)}, 400, "INVALID_DATA", "INVALID_VALUE", "nickname"},
		{"malformed JSON", devices, "", `{"type": "EMAIL",`, 400, "INVALID_REQUEST", "", ""},
		{"wrong content type", devices, "text/plain", map[string]any{"type": "EMAIL", "email": "a@example.com"}, 415, "INVALID_REQUEST", "", ""},
		{"oversized body", devices, "", map[string]any{"type": "EMAIL", "email": "a@example.com", "nickname": strings.Repeat("n", 2<<20)}, 413, "INVALID_REQUEST", "", ""},
		{"unknown user", users + "0d6a6c8c-4c0e-4a43-9a3b-3f7c2d1e0a99/devices", "", map[string]any{"type": "EMAIL", "email": "a@example.com"}, 404, "NOT_FOUND", "", ""},
		{"user of another environment", users + carol + "/devices", "", map[string]any{"type": "EMAIL", "email": "a@example.com"}, 404, "NOT_FOUND", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := do(apptest.Request{Method: "POST", URL: c.url, Body: c.body, ContentType: c.ct})
			if r.Status != c.status {
				t.Fatalf("status %d, want %d: %s", r.Status, c.status, trimBody(r.Body))
			}
			m := r.JSON(t)
			checkID(t, m, "id")
			wantFields(t, m, map[string]any{"code": c.code})
			if c.detail != "" {
				ds, _ := m["details"].([]any)
				if len(ds) != 1 {
					t.Fatalf("details = %v", m["details"])
				}
				d := ds[0].(map[string]any)
				if d["code"] != c.detail || d["target"] != c.target {
					t.Errorf("detail = %v, want code %s target %s", d, c.detail, c.target)
				}
			}
		})
	}
	if n := len(list()); n != before || out.count() != sent {
		t.Errorf("refused requests wrote %d devices and sent %d passcodes", n-before, out.count()-sent)
	}

	// EMAIL, ACTIVATION_REQUIRED: a pairing passcode is sent; a wrong one
	// is refused with the attempts left, the right one activates.
	pend := must(t, create(users+alice, map[string]any{"type": "EMAIL", "email": "alice.home@example.com", "status": "ACTIVATION_REQUIRED"}), http.StatusCreated)
	pendID := checkID(t, pend, "id")
	wantFields(t, pend, map[string]any{"status": "ACTIVATION_REQUIRED"})
	code := out.last(t)
	if code.To != "alice.home@example.com" || code.Template != mfa.PurposePairing || code.Channel != "EMAIL" || len(code.Code) != 6 || code.UserID != alice {
		t.Errorf("pairing passcode sent = %+v", code)
	}
	activate := func(id, otp string) *apptest.Response {
		t.Helper()
		return do(apptest.Request{Method: "POST", URL: devices + "/" + id, ContentType: ctDeviceActivate, Body: map[string]any{"otp": otp}})
	}
	wrong := wrongCode(code.Code)
	r := activate(pendID, wrong)
	if r.Status != http.StatusBadRequest {
		t.Fatalf("wrong OTP: %d %s", r.Status, r.Body)
	}
	wantFields(t, r.JSON(t), map[string]any{"code": "INVALID_DATA", "details": []any{map[string]any{"code": "INVALID_OTP", "target": "otp",
		"message": "Invalid one-time passcode.", "innerError": map[string]any{"failuresRemaining": 2}}}})
	wantFields(t, must(t, do(apptest.Request{Method: "GET", URL: devices + "/" + pendID}), http.StatusOK), map[string]any{"status": "ACTIVATION_REQUIRED"})
	// No OTP, or the wrong content type: refused before any check.
	if r := do(apptest.Request{Method: "POST", URL: devices + "/" + pendID, ContentType: ctDeviceActivate, Body: map[string]any{}}); r.Status != 400 {
		t.Errorf("activation without otp: %d", r.Status)
	}
	if r := do(apptest.Request{Method: "POST", URL: devices + "/" + pendID, Body: map[string]any{"otp": code.Code}}); r.Status != 415 {
		t.Errorf("activation as application/json: %d %s", r.Status, r.Body)
	}
	// Another user's or environment's path does not reach the device.
	for _, u := range []string{users + bob + "/devices/", "/environments/" + y + "/users/" + carol + "/devices/", "/environments/" + y + "/users/" + alice + "/devices/"} {
		if r := do(apptest.Request{Method: "POST", URL: u + pendID, ContentType: ctDeviceActivate, Body: map[string]any{"otp": code.Code}}); r.Status != 404 {
			t.Errorf("activation through %s: %d", u, r.Status)
		}
		if r := do(apptest.Request{Method: "GET", URL: u + pendID}); r.Status != 404 {
			t.Errorf("GET through %s: %d", u, r.Status)
		}
		if r := do(apptest.Request{Method: "DELETE", URL: u + pendID}); r.Status != 404 {
			t.Errorf("DELETE through %s: %d", u, r.Status)
		}
		if r := do(apptest.Request{Method: "PUT", URL: u + pendID + "/nickname", Body: map[string]any{"nickname": "x"}}); r.Status != 404 {
			t.Errorf("nickname through %s: %d", u, r.Status)
		}
	}
	act := must(t, activate(pendID, code.Code), http.StatusOK)
	wantFields(t, act, map[string]any{"id": pendID, "status": "ACTIVE"})
	wantFields(t, must(t, do(apptest.Request{Method: "GET", URL: devices + "/" + pendID}), http.StatusOK), map[string]any{"status": "ACTIVE"})
	if r := activate(pendID, code.Code); r.Status != 400 {
		t.Errorf("second activation: %d %s", r.Status, r.Body)
	}

	// TOTP: ACTIVATION_REQUIRED whatever is asked, its secret and key URI
	// returned once; a code computed from the secret activates it.
	tot := must(t, create(users+alice, map[string]any{"type": "TOTP", "status": "ACTIVE"}), http.StatusCreated)
	totID := checkID(t, tot, "id")
	secret, _ := tot["secret"].(string)
	keyURI, _ := tot["keyUri"].(string)
	wantFields(t, tot, map[string]any{"type": "TOTP", "status": "ACTIVATION_REQUIRED"})
	if len(secret) < 32 || !strings.HasPrefix(keyURI, "otpauth://totp/MFA%20X:alice?") || !strings.Contains(keyURI, "secret="+secret) {
		t.Errorf("secret %q, keyUri %q", secret, keyURI)
	}
	for _, m := range []map[string]any{must(t, do(apptest.Request{Method: "GET", URL: devices + "/" + totID}), http.StatusOK)} {
		if _, ok := m["secret"]; ok {
			t.Errorf("GET returns the TOTP secret")
		}
		if _, ok := m["keyUri"]; ok {
			t.Errorf("GET returns the key URI")
		}
	}
	if strings.Contains(string(do(apptest.Request{Method: "GET", URL: devices}).Body), secret) {
		t.Errorf("the list returns the TOTP secret")
	}
	if r := activate(totID, "000000"); r.Status != 400 {
		t.Errorf("wrong TOTP code: %d", r.Status)
	}
	now, _ := totp.GenerateCode(secret, time.Now())
	wantFields(t, must(t, activate(totID, now), http.StatusOK), map[string]any{"status": "ACTIVE"})

	// Nickname.
	nick := must(t, do(apptest.Request{Method: "PUT", URL: devices + "/" + emailID + "/nickname", Body: map[string]any{"nickname": "Inbox"}}), http.StatusOK)
	wantFields(t, nick, map[string]any{"id": emailID, "nickname": "Inbox"})
	wantFields(t, must(t, do(apptest.Request{Method: "GET", URL: devices + "/" + emailID}), http.StatusOK), map[string]any{"nickname": "Inbox"})
	if r := do(apptest.Request{Method: "PUT", URL: devices + "/" + emailID + "/nickname", Body: map[string]any{}}); r.Status != 400 {
		t.Errorf("nickname without nickname: %d", r.Status)
	}

	// Order: the order given first, then the rest; removing it goes back
	// to oldest first. An order with another user's device writes nothing.
	all := []string{emailID, smsID, pendID, totID}
	if got := list(); !slices.Equal(got, all) {
		t.Fatalf("devices = %v, want %v", got, all)
	}
	bobDev := must(t, create(users+bob, map[string]any{"type": "EMAIL", "email": "bob@example.com"}), http.StatusCreated)
	reorder := func(ids ...string) *apptest.Response {
		order := []any{}
		for _, id := range ids {
			order = append(order, map[string]any{"id": id})
		}
		return do(apptest.Request{Method: "POST", URL: devices, ContentType: ctDevicesReorder, Body: map[string]any{"order": order}})
	}
	ordered := must(t, reorder(totID, smsID), http.StatusOK)
	if n := get(ordered, "count"); n != float64(4) {
		t.Errorf("reorder answered count %v", n)
	}
	if got, want := list(), []string{totID, smsID, emailID, pendID}; !slices.Equal(got, want) {
		t.Errorf("ordered = %v, want %v", got, want)
	}
	if r := reorder(emailID, bobDev["id"].(string)); r.Status != 400 {
		t.Errorf("order with bob's device: %d %s", r.Status, r.Body)
	}
	if got, want := list(), []string{totID, smsID, emailID, pendID}; !slices.Equal(got, want) {
		t.Errorf("after a refused order = %v, want %v", got, want)
	}
	must(t, do(apptest.Request{Method: "DELETE", URL: devices, ContentType: "-"}), http.StatusNoContent)
	if got := list(); !slices.Equal(got, all) {
		t.Errorf("order removed = %v, want %v", got, all)
	}
	must(t, reorder(pendID), http.StatusOK)
	must(t, do(apptest.Request{Method: "DELETE", URL: devices, ContentType: ctDevicesOrderRemove}), http.StatusNoContent)
	if got := list(); !slices.Equal(got, all) {
		t.Errorf("order removed (vendor type) = %v, want %v", got, all)
	}
	// "Remove Device Order" as PingOne documents it: a POST with the
	// devices.order.remove+json content type.
	must(t, reorder(pendID), http.StatusOK)
	must(t, do(apptest.Request{Method: "POST", URL: devices, ContentType: ctDevicesOrderRemove, Body: `{}`}), http.StatusNoContent)
	if got := list(); !slices.Equal(got, all) {
		t.Errorf("order removed (POST) = %v, want %v", got, all)
	}

	// The MFA settings' maximum of five devices.
	must(t, create(users+alice, map[string]any{"type": "VOICE", "phone": "+442071838750"}), http.StatusCreated)
	if r := create(users+alice, map[string]any{"type": "EMAIL", "email": "sixth@example.com"}); r.Status != 400 {
		t.Errorf("sixth device: %d %s", r.Status, r.Body)
	}

	// Delete.
	must(t, do(apptest.Request{Method: "DELETE", URL: devices + "/" + smsID}), http.StatusNoContent)
	if r := do(apptest.Request{Method: "GET", URL: devices + "/" + smsID}); r.Status != 404 {
		t.Errorf("deleted device: %d", r.Status)
	}
	if r := do(apptest.Request{Method: "DELETE", URL: devices + "/" + smsID}); r.Status != 404 {
		t.Errorf("deleted twice: %d", r.Status)
	}

	// Deleting the user deletes its devices.
	must(t, do(apptest.Request{Method: "DELETE", URL: users + alice}), http.StatusNoContent)
	if n, err := s.Store.CountMFADevices(context.Background(), x, alice); err != nil || n != 0 {
		t.Errorf("devices of a deleted user: %d, %v", n, err)
	}
}

// wrongCode is a six-digit code that is not code.
func wrongCode(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}

// TestMFAPairingLockout: three wrong pairing codes void the code; with a
// new one, the fifth wrong code in a row locks the user's MFA, and then
// even the right code is refused.
func TestMFAPairingLockout(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			out := &otpOutbox{}
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t), MFASender: out})
			admin := s.AdminToken(t)
			x := newEnv(t, s, "Lockout", "SANDBOX")
			pop := newPop(t, s, x, "Members")
			u := s.CreateUser(t, x, pop, "dave", "dave@example.com", "Dave", "D", "Correct-H0rse-Battery!")
			devices := "/environments/" + x + "/users/" + u + "/devices"
			do := func(r apptest.Request) *apptest.Response {
				t.Helper()
				r.Token = admin
				return doNo5xx(t, s, r)
			}
			// PingOne's MFA settings lock nobody out until a lockout is set.
			must(t, do(apptest.Request{Method: "PUT", URL: "/environments/" + x + "/mfaSettings", Body: map[string]any{
				"pairing": map[string]any{"maxAllowedDevices": 5, "pairingKeyFormat": "ALPHANUMERIC"},
				"lockout": map[string]any{"failureCount": 5, "durationSeconds": 600}}}), http.StatusOK)
			d := must(t, do(apptest.Request{Method: "POST", URL: devices, Body: map[string]any{"type": "EMAIL", "email": "dave@example.com", "status": "ACTIVATION_REQUIRED"}}), http.StatusCreated)
			id := d["id"].(string)
			activate := func(otp string) map[string]any {
				t.Helper()
				r := do(apptest.Request{Method: "POST", URL: devices + "/" + id, ContentType: ctDeviceActivate, Body: map[string]any{"otp": otp}})
				if r.Status != http.StatusBadRequest {
					t.Fatalf("activation: %d %s", r.Status, r.Body)
				}
				return r.JSON(t)["details"].([]any)[0].(map[string]any)
			}
			code := out.last(t).Code
			for _, left := range []float64{2, 1} {
				if det := activate(wrongCode(code)); det["code"] != "INVALID_OTP" || get(det, "innerError.failuresRemaining") != left {
					t.Errorf("wrong code: %v, want %v left", det, left)
				}
			}
			if det := activate(wrongCode(code)); det["code"] != "INVALID_OTP" {
				t.Errorf("third wrong code: %v", det)
			}
			// The code is void now, even right.
			if det := activate(code); det["code"] != "OTP_USED" {
				t.Errorf("voided code: %v", det)
			}
			// A new pairing code.
			sent := must(t, do(apptest.Request{Method: "POST", URL: devices + "/" + id, ContentType: ctDeviceSendCode, Body: ""}), http.StatusOK)
			wantFields(t, sent, map[string]any{"status": "ACTIVATION_REQUIRED"})
			code2 := out.last(t).Code
			if det := activate(wrongCode(code2)); det["code"] != "INVALID_OTP" || get(det, "innerError.failuresRemaining") != float64(1) {
				t.Errorf("fourth wrong code in a row: %v", det)
			}
			det := activate(wrongCode(code2))
			if det["code"] != "LOCKED" {
				t.Fatalf("fifth wrong code in a row: %v", det)
			}
			if s, _ := get(det, "innerError.secondsUntilUnlock").(float64); s < 590 || s > 601 {
				t.Errorf("secondsUntilUnlock = %v, want about 600", s)
			}
			if det := activate(code2); det["code"] != "LOCKED" {
				t.Errorf("right code while locked: %v", det)
			}
			wantFields(t, must(t, do(apptest.Request{Method: "GET", URL: devices + "/" + id}), http.StatusOK), map[string]any{"status": "ACTIVATION_REQUIRED"})
			// A device type the default device authentication policy
			// disables cannot be paired: SMS is off in a new environment.
			if r := do(apptest.Request{Method: "POST", URL: devices, Body: map[string]any{"type": "SMS", "phone": "+15125550000"}}); r.Status != 400 {
				t.Errorf("SMS under the default policy: %d %s", r.Status, r.Body)
			}
		})
	}
}
