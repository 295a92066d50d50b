package deviceauth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/deviceauth"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
)

// mfaFixture is the real MFA domain (mfa.Service over the server's store,
// on the test's clock) with a sender that keeps what it sends, and the
// real configuration: devices are made, and the policy and settings
// changed, through the management API as PingOne's clients do.
type mfaFixture struct {
	e       *env
	svc     *mfa.Service
	conf    *config.Cache
	mu      sync.Mutex
	sent    []mfa.OTP
	to      map[string]string // device id → its address
	n       int
	sendErr error
}

func newMFAFixture(t *testing.T, e *env, conf *config.Cache) *mfaFixture {
	f := &mfaFixture{e: e, conf: conf, to: map[string]string{}}
	f.svc = &mfa.Service{Store: e.srv.Store, Sealer: e.srv.Sealer, Sender: f, Now: e.clock.Now}
	// PingOne's defaults lock nobody out; these tests want a lockout.
	f.admin("PUT", "/environments/"+e.envID+"/mfaSettings", map[string]any{
		"pairing": map[string]any{"maxAllowedDevices": 5, "pairingKeyFormat": "ALPHANUMERIC"},
		"lockout": map[string]any{"failureCount": 5, "durationSeconds": 600}}, http.StatusOK)
	return f
}

func (f *mfaFixture) admin(method, path string, body any, want int) map[string]any {
	f.e.t.Helper()
	r := f.e.srv.Do(f.e.t, apptest.Request{Method: method, URL: path, Token: f.e.srv.AdminToken(f.e.t), Body: body})
	if r.Status != want {
		f.e.t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Body)
	}
	return r.JSON(f.e.t)
}

// SendOTP is the fixture's mfa.Sender.
func (f *mfaFixture) SendOTP(_ context.Context, m mfa.OTP) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sendErr != nil {
		return f.sendErr
	}
	f.sent = append(f.sent, m)
	return nil
}

func (f *mfaFixture) port() deviceauth.MFA { return f.svc }

func (f *mfaFixture) policy(ctx context.Context, envID, id string) (*mfa.Policy, error) {
	p, err := f.conf.DeviceAuthenticationPolicy(ctx, envID, id)
	if err != nil {
		return nil, err
	}
	return mfa.PolicyOf(p), nil
}

func (f *mfaFixture) settings(ctx context.Context, envID string) (*mfa.Settings, error) {
	s, err := f.conf.MFASettings(ctx, envID)
	if err != nil {
		return nil, err
	}
	return mfa.SettingsOf(s), nil
}

func (f *mfaFixture) policyID() string {
	p, err := f.policy(context.Background(), f.e.envID, "")
	if err != nil {
		f.e.t.Fatal(err)
	}
	return p.ID
}

// editPolicy changes the settings of typ in the default policy, as an
// administrator would: GET, edit, PUT.
func (f *mfaFixture) editPolicy(typ string, edit func(m map[string]any)) {
	path := "/environments/" + f.e.envID + "/deviceAuthenticationPolicies/" + f.policyID()
	p := f.admin("GET", path, nil, http.StatusOK)
	edit(p[strings.ToLower(typ)].(map[string]any))
	f.admin("PUT", path, p, http.StatusOK)
}

// otpLifetime sets the default policy's passcode lifetime of typ.
func (f *mfaFixture) otpLifetime(typ string, d time.Duration) {
	f.editPolicy(typ, func(m map[string]any) {
		m["otp"].(map[string]any)["lifeTime"] = map[string]any{"duration": int(d / time.Minute), "timeUnit": "MINUTES"}
	})
}

// enable enables typ in the default policy (PingOne's default leaves SMS
// and voice off).
func (f *mfaFixture) enable(typ string) {
	f.editPolicy(typ, func(m map[string]any) { m["enabled"] = true })
}

// device gives userID an ACTIVE EMAIL or SMS device (an administrator's
// creation: active at once, nothing sent), each with an address of its own.
func (f *mfaFixture) device(userID, typ string) string {
	f.e.t.Helper()
	f.mu.Lock()
	f.n++
	n := f.n
	f.mu.Unlock()
	body := map[string]any{"type": typ}
	to := fmt.Sprintf("ada.%d@example.com", n)
	if typ == mfa.TypeEmail {
		body["email"] = to
	} else {
		to = fmt.Sprintf("+1555%05d01", n)
		body["phone"] = to
	}
	d := f.admin("POST", "/environments/"+f.e.envID+"/users/"+userID+"/devices", body, http.StatusCreated)
	if d["status"] != "ACTIVE" {
		f.e.t.Fatalf("device: %v", d)
	}
	id := d["id"].(string)
	f.mu.Lock()
	f.to[id] = to
	f.mu.Unlock()
	return id
}

// totpDevice gives userID an active TOTP device, paired through the MFA
// domain (an authenticator app's secret) and activated with a code of its
// clock's step, and returns it with its secret.
func (f *mfaFixture) totpDevice(userID string) (string, string) {
	f.e.t.Helper()
	ctx := context.Background()
	u, err := f.e.srv.Store.GetUser(ctx, f.e.envID, userID)
	if err != nil {
		f.e.t.Fatal(err)
	}
	s, err := f.settings(ctx, f.e.envID)
	if err != nil {
		f.e.t.Fatal(err)
	}
	d, enrol, err := f.svc.CreateDevice(ctx, u, mfa.DeviceInput{Type: mfa.TypeTOTP}, s, mfa.MethodPolicy{Enabled: true})
	if err != nil {
		f.e.t.Fatal(err)
	}
	code, err := totp.GenerateCode(enrol.Secret, f.e.clock.Now())
	if err != nil {
		f.e.t.Fatal(err)
	}
	if err := f.svc.Activate(ctx, u, d, code, s); err != nil {
		f.e.t.Fatalf("activate TOTP: %v", err)
	}
	return d.ID, enrol.Secret
}

func (f *mfaFixture) sentTo(deviceID string) []mfa.OTP {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []mfa.OTP
	for _, m := range f.sent {
		if m.To == f.to[deviceID] {
			out = append(out, m)
		}
	}
	return out
}

// code is the last passcode sent to deviceID.
func (f *mfaFixture) code(deviceID string) string {
	f.e.t.Helper()
	s := f.sentTo(deviceID)
	if len(s) == 0 {
		f.e.t.Fatalf("no passcode was sent to device %s", deviceID)
	}
	last := s[len(s)-1]
	if last.Template != mfa.PurposeAuthentication || last.EnvironmentID != f.e.envID {
		f.e.t.Errorf("passcode sent as %+v", last)
	}
	return last.Code
}

func (f *mfaFixture) sends(deviceID string) int { return len(f.sentTo(deviceID)) }

var errProvider = errors.New("provider down")
