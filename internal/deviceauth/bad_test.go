package deviceauth_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/roles"
)

// rows counts what the store would ever purge: with no sign-on in these
// tests, the device authentications.
func (e *env) rows() int {
	e.t.Helper()
	n, err := e.srv.Store.PurgeExpired(context.Background(), time.Now().AddDate(1000, 0, 0), 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// TestAccess: a worker's token of the environment with identity:write:user
// (Identity Data Admin, or an Environment Admin over it); anything else is
// refused before anything is read, and a device authentication is seen by
// the application that started it only.
func TestAccess(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		uid := e.user("ada")
		e.mfa.device(uid, mfa.TypeEmail)
		readOnly := e.srv.Token(t, e.srv.CreateWorker(t, e.envID, "CLIENT_SECRET_BASIC",
			[3]string{roles.IdentityDataReadOnly.ID, roles.ScopeEnvironment, e.envID}))
		noRoles := e.srv.Token(t, e.srv.CreateWorker(t, e.envID, "CLIENT_SECRET_BASIC"))
		other := e.srv.NewSignOn(t, apptest.SignOnOptions{})
		elsewhere := e.srv.Token(t, e.srv.CreateWorker(t, other.EnvID, "CLIENT_SECRET_BASIC",
			[3]string{roles.IdentityDataAdmin.ID, roles.ScopeEnvironment, other.EnvID}))
		body := map[string]any{"user": map[string]any{"id": uid}}
		for _, tc := range []struct {
			name, token, env string
			status           int
			code, detail     string
		}{
			{"no token", "-", e.envID, http.StatusUnauthorized, "ACCESS_FAILED", "INVALID_TOKEN"},
			{"a malformed token", "not-a-jwt", e.envID, http.StatusUnauthorized, "ACCESS_FAILED", "INVALID_TOKEN"},
			{"read only", readOnly, e.envID, http.StatusForbidden, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS"},
			{"no roles", noRoles, e.envID, http.StatusForbidden, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS"},
			{"another environment's worker", elsewhere, e.envID, http.StatusForbidden, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS"},
			{"an unknown environment", e.token, "6d9f3a8e-2c7b-4e55-9a1f-0c3b5d7e9f11", http.StatusNotFound, "NOT_FOUND", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tok := tc.token
				if tok == "-" {
					tok = ""
				}
				r := e.call("POST", "/"+tc.env+"/deviceAuthentications", ctJSON, body, tok)
				wantError(t, r, tc.status, tc.code, tc.detail, "")
			})
		}
		if n := e.rows(); n != 0 {
			t.Errorf("refused starts wrote %d rows", n)
		}
		// The environment's own worker, and the organization's admin.
		id := e.startFor(uid)["id"].(string)
		admin := e.srv.AdminToken(t)
		if r := e.call("POST", "/"+e.envID+"/deviceAuthentications", ctJSON, body, admin); r.status != http.StatusCreated {
			t.Errorf("admin start: %d %s", r.status, r.body)
		}
		// Another application does not see it; another environment's path
		// does not find it.
		wantError(t, e.call("GET", e.path(id), "", nil, admin), http.StatusNotFound, "NOT_FOUND", "", "")
		wantError(t, e.call("GET", "/"+other.EnvID+"/deviceAuthentications/"+id, "", nil, elsewhere), http.StatusNotFound, "NOT_FOUND", "", "")
	})
}

// TestBadStart: what a start is refused for, with PingOne's errors, and
// nothing written or sent.
func TestBadStart(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		uid := e.user("ada")
		dev := e.mfa.device(uid, mfa.TypeEmail)
		bare := e.user("bare") // no device
		off := e.srv.CreateUser(t, e.envID, e.popID, "off", "off@example.com", "Off", "User", "Gatehouse-Test-Pass-9!")
		// New users have MFA on (the MFA settings' default): turn it off.
		if r := e.srv.Do(t, apptest.Request{Method: "PUT", URL: "/environments/" + e.envID + "/users/" + off + "/mfaEnabled",
			Token: e.srv.AdminToken(t), Body: map[string]any{"mfaEnabled": false}}); r.Status != http.StatusOK {
			t.Fatalf("disable MFA: %d %s", r.Status, r.Body)
		}
		e.mfa.device(off, mfa.TypeEmail)
		disabled := e.user("gone")
		e.mfa.device(disabled, mfa.TypeEmail)
		if r := e.srv.Do(t, apptest.Request{Method: "PUT", URL: "/environments/" + e.envID + "/users/" + disabled + "/enabled",
			Token: e.srv.AdminToken(t), Body: map[string]any{"enabled": false}}); r.Status != http.StatusOK {
			t.Fatalf("disable: %d %s", r.Status, r.Body)
		}
		other := e.srv.NewSignOn(t, apptest.SignOnOptions{})
		user := func(id string) map[string]any { return map[string]any{"user": map[string]any{"id": id}} }
		for _, tc := range []struct {
			name         string
			ct           string
			body         any
			status       int
			code, detail string
			target       string
		}{
			{"no content type", "", `{"user":{"id":"` + uid + `"}}`, http.StatusUnsupportedMediaType, "INVALID_REQUEST", "INVALID_VALUE", "Content-Type"},
			{"text", "text/plain", `{"user":{"id":"` + uid + `"}}`, http.StatusUnsupportedMediaType, "INVALID_REQUEST", "INVALID_VALUE", "Content-Type"},
			{"a vendor type", ctOTP, user(uid), http.StatusUnsupportedMediaType, "INVALID_REQUEST", "INVALID_VALUE", "Content-Type"},
			{"malformed JSON", ctJSON, `{"user":`, http.StatusBadRequest, "INVALID_REQUEST", "INVALID_VALUE", ""},
			{"an array", ctJSON, `[]`, http.StatusBadRequest, "INVALID_REQUEST", "INVALID_VALUE", ""},
			{"trailing data", ctJSON, `{"user":{"id":"` + uid + `"}} {}`, http.StatusBadRequest, "INVALID_REQUEST", "INVALID_VALUE", ""},
			{"an empty body", ctJSON, ``, http.StatusBadRequest, "INVALID_REQUEST", "INVALID_VALUE", ""},
			{"a numeric id", ctJSON, `{"user":{"id":7}}`, http.StatusBadRequest, "INVALID_REQUEST", "INVALID_VALUE", ""},
			{"invalid UTF-8", ctJSON, []byte("{\"user\":{\"id\":\"\xff\"}}"), http.StatusBadRequest, "INVALID_DATA", "INVALID_VALUE", "user.id"},
			{"NUL", ctJSON, `{"user":{"id":"a\u0000"}}`, http.StatusBadRequest, "INVALID_DATA", "INVALID_VALUE", ""},
			{"too deep", ctJSON, strings.Repeat("[", 100) + strings.Repeat("]", 100), http.StatusBadRequest, "INVALID_DATA", "INVALID_VALUE", ""},
			{"too large", ctJSON, `{"user":{"id":"` + uid + `"},"pad":"` + strings.Repeat("x", 20<<10) + `"}`, http.StatusRequestEntityTooLarge, "INVALID_REQUEST", "SIZE_LIMIT_EXCEEDED", ""},
			{"no user", ctJSON, map[string]any{}, http.StatusBadRequest, "INVALID_DATA", "REQUIRED_VALUE", "user.id"},
			{"an empty user id", ctJSON, user(""), http.StatusBadRequest, "INVALID_DATA", "REQUIRED_VALUE", "user.id"},
			{"a long user id", ctJSON, user(strings.Repeat("a", 200)), http.StatusBadRequest, "INVALID_DATA", "INVALID_VALUE", "user.id"},
			{"an unknown user", ctJSON, user("0b0e4c5f-1f51-4c71-9d55-1b7c1b9b1b1b"), http.StatusNotFound, "NOT_FOUND", "", ""},
			{"another environment's user", ctJSON, user(other.UserID), http.StatusNotFound, "NOT_FOUND", "", ""},
			{"an unknown policy", ctJSON, map[string]any{"user": map[string]any{"id": uid}, "policy": map[string]any{"id": "0b0e4c5f-1f51-4c71-9d55-1b7c1b9b1b1b"}},
				http.StatusNotFound, "NOT_FOUND", "", ""},
			{"a one-time device", ctJSON, map[string]any{"user": map[string]any{"id": uid}, "selectedDevice": map[string]any{"oneTime": map[string]any{"type": "EMAIL", "email": "x@example.com"}}},
				http.StatusBadRequest, "INVALID_DATA", "INVALID_VALUE", "selectedDevice.oneTime"},
			{"another user's device", ctJSON, map[string]any{"user": map[string]any{"id": bare}, "selectedDevice": map[string]any{"id": dev}},
				http.StatusBadRequest, "INVALID_DATA", "NO_USABLE_DEVICES", "user.id"},
			{"no device", ctJSON, user(bare), http.StatusBadRequest, "INVALID_DATA", "NO_USABLE_DEVICES", "user.id"},
			{"MFA not enabled", ctJSON, user(off), http.StatusBadRequest, "INVALID_DATA", "INVALID_VALUE", "user.id"},
			{"a disabled user", ctJSON, user(disabled), http.StatusBadRequest, "INVALID_DATA", "INVALID_VALUE", "user.id"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := e.call("POST", "/"+e.envID+"/deviceAuthentications", tc.ct, tc.body)
				wantError(t, r, tc.status, tc.code, tc.detail, tc.target)
			})
		}
		// A device of the user's given by id is used; another user's is
		// not found.
		wantError(t, e.start(map[string]any{"user": map[string]any{"id": uid}, "selectedDevice": map[string]any{"id": "0b0e4c5f-1f51-4c71-9d55-1b7c1b9b1b1b"}}),
			http.StatusNotFound, "NOT_FOUND", "", "")
		if n := e.rows(); n != 0 {
			t.Errorf("refused starts wrote %d rows", n)
		}
		if n := e.mfa.sends(dev); n != 0 {
			t.Errorf("refused starts sent %d passcodes", n)
		}
		// A sender that fails: 503 with Retry-After, nothing written.
		e.mfa.sendErr = errProvider
		r := e.start(map[string]any{"user": map[string]any{"id": uid}})
		wantError(t, r, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE", "", "")
		if r.header.Get("Retry-After") == "" {
			t.Errorf("503 without Retry-After")
		}
		if n := e.rows(); n != 0 {
			t.Errorf("a failed send wrote %d rows", n)
		}
		e.mfa.sendErr = nil
		d := e.start(map[string]any{"user": map[string]any{"id": uid}, "selectedDevice": map[string]any{"id": dev}})
		if d.status != http.StatusCreated || d.json(t)["selectedDevice"].(map[string]any)["id"] != dev {
			t.Errorf("start with the user's device: %d %s", d.status, d.body)
		}
	})
}

// TestBadSteps: actions refused for their media type, body or status
// answer PingOne's errors and change nothing.
func TestBadSteps(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		uid := e.user("ada")
		dev := e.mfa.device(uid, mfa.TypeEmail)
		started := e.startFor(uid)
		id := started["id"].(string)
		for _, tc := range []struct {
			name, ct     string
			body         any
			status       int
			code, detail string
			target       string
		}{
			{"plain JSON", ctJSON, map[string]any{"otp": "123456"}, http.StatusUnsupportedMediaType, "INVALID_REQUEST", "INVALID_VALUE", "Content-Type"},
			{"another flow's action", "application/vnd.pingidentity.usernamePassword.check+json", map[string]any{"username": "a"},
				http.StatusUnsupportedMediaType, "INVALID_REQUEST", "INVALID_VALUE", "Content-Type"},
			{"no otp", ctOTP, map[string]any{}, http.StatusBadRequest, "INVALID_DATA", "REQUIRED_VALUE", "otp"},
			{"a numeric otp", ctOTP, `{"otp":123456}`, http.StatusBadRequest, "INVALID_REQUEST", "INVALID_VALUE", ""},
			{"a long otp", ctOTP, map[string]any{"otp": strings.Repeat("1", 100)}, http.StatusBadRequest, "INVALID_DATA", "INVALID_VALUE", "otp"},
			{"malformed", ctOTP, `{"otp":`, http.StatusBadRequest, "INVALID_REQUEST", "INVALID_VALUE", ""},
			{"no device", ctSelect, map[string]any{"device": map[string]any{}}, http.StatusBadRequest, "INVALID_DATA", "REQUIRED_VALUE", "device.id"},
			{"a device that is a string", ctSelect, `{"device":"x"}`, http.StatusBadRequest, "INVALID_REQUEST", "INVALID_VALUE", ""},
			{"another reason", ctCancel, map[string]any{"reason": "BORED"}, http.StatusBadRequest, "INVALID_DATA", "INVALID_VALUE", "reason"},
			{"no reason", ctCancel, map[string]any{}, http.StatusBadRequest, "INVALID_DATA", "REQUIRED_VALUE", "reason"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantError(t, e.call("POST", e.path(id), tc.ct, tc.body), tc.status, tc.code, tc.detail, tc.target)
			})
		}
		wantError(t, e.checkOTP("0b0e4c5f-1f51-4c71-9d55-1b7c1b9b1b1b", "123456"), http.StatusNotFound, "NOT_FOUND", "", "")
		g := e.call("GET", e.path(id), "", nil).json(t)
		if g["status"] != "OTP_REQUIRED" || g["updatedAt"] != started["updatedAt"] || e.mfa.sends(dev) != 1 {
			t.Errorf("refused steps changed it: %v (sends %d)", g, e.mfa.sends(dev))
		}
	})
}

// TestRace: of checks racing with the right passcode, one completes.
func TestRace(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		uid := e.user("ada")
		dev := e.mfa.device(uid, mfa.TypeEmail)
		id := e.startFor(uid)["id"].(string)
		code := e.mfa.code(dev)
		const n = 6
		var wg sync.WaitGroup
		ok := make(chan int, n)
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if r := e.checkOTP(id, code); r.status == http.StatusOK {
					ok <- 1
				} else if r.status != http.StatusBadRequest {
					t.Errorf("racing check: %d %s", r.status, r.body)
				}
			}()
		}
		wg.Wait()
		close(ok)
		if len(ok) != 1 {
			t.Errorf("%d checks completed it, want 1", len(ok))
		}
	})
}

// TestLimits: passcodes sent to one user and wrong passcodes are bounded
// (429 before anything is sent or checked).
func TestLimits(t *testing.T) {
	lc := ratelimit.Defaults()
	lc.CodeSendsPerUser = ratelimit.Rate{N: 2, Per: time.Hour}
	lc.CheckFailuresPerUser = ratelimit.Rate{N: 1, Per: time.Hour}
	eachBackendWith(t, harnessOptions{limits: &lc}, func(t *testing.T, e *env) {
		uid := e.user("ada")
		dev := e.mfa.device(uid, mfa.TypeEmail)
		id := e.startFor(uid)["id"].(string)
		e.clock.Add(time.Minute)
		if r := e.selectDevice(id, dev); r.status != http.StatusOK {
			t.Fatalf("select: %d %s", r.status, r.body)
		}
		e.clock.Add(time.Minute)
		r := e.selectDevice(id, dev)
		wantError(t, r, http.StatusTooManyRequests, "REQUEST_LIMITED", "LIMIT_EXCEEDED", "")
		if r.header.Get("Retry-After") == "" || e.mfa.sends(dev) != 2 {
			t.Errorf("limited send: Retry-After %q, sends %d", r.header.Get("Retry-After"), e.mfa.sends(dev))
		}
		code := e.mfa.code(dev)
		w := "000000"
		if code == w {
			w = "111111"
		}
		wantError(t, e.checkOTP(id, w), http.StatusBadRequest, "INVALID_DATA", "INVALID_OTP", "otp")
		wantError(t, e.checkOTP(id, code), http.StatusTooManyRequests, "REQUEST_LIMITED", "LIMIT_EXCEEDED", "")
		if g := e.call("GET", e.path(id), "", nil).json(t); g["status"] != "OTP_REQUIRED" {
			t.Errorf("a limited check changed it: %v", g)
		}
	})
}
