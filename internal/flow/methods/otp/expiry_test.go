package otp_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/flow/methods/otp"
	"github.com/gatehouse-id/gatehouse/internal/flow/methods/usernamepassword"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// sender keeps the passcodes it is given.
type sender struct {
	mu    sync.Mutex
	codes []string
}

func (s *sender) SendOTP(_ context.Context, m mfa.OTP) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes = append(s.codes, m.Code)
	return nil
}

func (s *sender) last() (string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.codes) == 0 {
		return "", 0
	}
	return s.codes[len(s.codes)-1], len(s.codes)
}

// TestExpiredPasscode: on a clock the test moves, a passcode past the
// policy's lifetime is refused as OTP_EXPIRED and the flow waits on;
// selecting the device again sends a new one, which signs on.
func TestExpiredPasscode(t *testing.T) {
	ctx := context.Background()
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			fx := s.NewSignOn(t, apptest.SignOnOptions{})
			admin := s.AdminToken(t)
			env := "/environments/" + fx.EnvID
			var polID string
			for _, p := range s.Do(t, apptest.Request{Method: "GET", URL: env + "/signOnPolicies", Token: admin}).JSON(t)["_embedded"].(map[string]any)["signOnPolicies"].([]any) {
				if p := p.(map[string]any); p["name"] == "Multi_Factor" {
					polID = p["id"].(string)
				}
			}
			if r := s.Do(t, apptest.Request{Method: "POST", URL: env + "/applications/" + fx.AppID + "/signOnPolicyAssignments", Token: admin,
				Body: map[string]any{"priority": 1, "signOnPolicy": map[string]string{"id": polID}}}); r.Status != http.StatusCreated {
				t.Fatalf("assign: %d %s", r.Status, r.Body)
			}
			if r := s.Do(t, apptest.Request{Method: "PUT", URL: env + "/users/" + fx.UserID + "/mfaEnabled", Token: admin,
				Body: map[string]any{"mfaEnabled": true}}); r.Status != http.StatusOK {
				t.Fatalf("mfaEnabled: %d %s", r.Status, r.Body)
			}
			// Email passcodes live 2 minutes.
			for _, p := range s.Do(t, apptest.Request{Method: "GET", URL: env + "/deviceAuthenticationPolicies", Token: admin}).JSON(t)["_embedded"].(map[string]any)["deviceAuthenticationPolicies"].([]any) {
				p := p.(map[string]any)
				p["email"].(map[string]any)["otp"].(map[string]any)["lifeTime"] = map[string]any{"duration": 2, "timeUnit": "MINUTES"}
				if r := s.Do(t, apptest.Request{Method: "PUT", URL: env + "/deviceAuthenticationPolicies/" + p["id"].(string), Token: admin, Body: p}); r.Status != http.StatusOK {
					t.Fatalf("policy: %d %s", r.Status, r.Body)
				}
			}

			var mu sync.Mutex
			clock := time.Now().UTC()
			now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
			advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
			out := &sender{}
			svc := &mfa.Service{Store: s.Store, Sealer: s.Sealer, Sender: out, Now: now}
			conf := config.New(s.Store, config.Options{})
			m := &otp.Method{MFA: svc, Sealer: s.Sealer,
				Policy: func(ctx context.Context, envID, id string) (*mfa.Policy, error) {
					p, err := conf.DeviceAuthenticationPolicy(ctx, envID, id)
					if err != nil {
						return nil, err
					}
					return mfa.PolicyOf(p), nil
				},
				Settings: func(ctx context.Context, envID string) (*mfa.Settings, error) {
					st, err := conf.MFASettings(ctx, envID)
					if err != nil {
						return nil, err
					}
					return mfa.SettingsOf(st), nil
				}}
			e := &flow.Engine{Store: s.Store, Config: conf, Credentials: &credential.Service{Store: s.Store}, AuthPath: s.URL, Now: now}
			e.Register(&usernamepassword.Method{}, m)

			u, err := s.Store.GetUser(ctx, fx.EnvID, fx.UserID)
			if err != nil {
				t.Fatal(err)
			}
			d, _, err := svc.CreateDevice(ctx, u, mfa.DeviceInput{Type: mfa.TypeEmail, Email: fx.Email}, &mfa.Settings{MaxDevices: 5}, mfa.MethodPolicy{Enabled: true})
			if err != nil || d.Status != mfa.StatusActive {
				t.Fatalf("device: %v %+v", err, d)
			}
			envRec, _ := s.Store.GetEnvironment(ctx, fx.EnvID)
			app, _ := s.Store.GetApplication(ctx, fx.EnvID, fx.AppID)
			started, err := e.Start(ctx, flow.Start{Env: envRec, App: app, Request: flow.Request{ResponseType: "code", ResponseMode: "pi.flow", Scope: "openid"}})
			if err != nil {
				t.Fatal(err)
			}
			f, cookie := started.Flow, started.Token
			step := func(act, body string) error {
				t.Helper()
				cur, err := e.Load(ctx, fx.EnvID, f.ID, cookie)
				if err != nil {
					t.Fatal(err)
				}
				tok, err := e.Step(ctx, cur, act, []byte(body))
				if tok != "" {
					cookie = tok
				}
				f = cur
				return err
			}
			if err := step(wire.ActionUsernamePasswordCheck, `{"username":"`+fx.Username+`","password":"`+fx.Password+`"}`); err != nil {
				t.Fatal(err)
			}
			first, n := out.last()
			if f.Status != wire.StatusOTPRequired || n != 1 {
				t.Fatalf("after the password: %s, %d passcodes", f.Status, n)
			}
			advance(2*time.Minute + time.Second)
			var we *wire.Error
			if err := step(wire.ActionOTPCheck, `{"otp":"`+first+`"}`); !errors.As(err, &we) || we.Details[0].Code != wire.DetailOTPExpired || f.Status != wire.StatusOTPRequired {
				t.Fatalf("an expired passcode: %v, status %s", err, f.Status)
			}
			if err := step(wire.ActionDeviceSelect, `{"device":{"id":"`+d.ID+`"}}`); err != nil {
				t.Fatal(err)
			}
			second, n := out.last()
			if n != 2 {
				t.Fatalf("%d passcodes sent", n)
			}
			if second != first {
				// The expired one stays refused.
				if err := step(wire.ActionOTPCheck, `{"otp":"`+first+`"}`); !errors.As(err, &we) || we.Details[0].Code != wire.DetailInvalidOTP {
					t.Errorf("the old passcode: %v", err)
				}
			}
			if err := step(wire.ActionOTPCheck, `{"otp":"`+second+`"}`); err != nil || f.Status != flow.StatusCompleted {
				t.Fatalf("the new passcode: %v, status %s", err, f.Status)
			}
			if _, _, _, amr, _ := flow.RequestOf(f); len(amr) != 3 {
				t.Errorf("amr %v", amr)
			}
		})
	}
}
