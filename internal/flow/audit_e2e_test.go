package flow_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/audit/audittest"
	"github.com/gatehouse-id/gatehouse/internal/telemetry"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// TestAuditFlows: a password lockout, a password recovery and a
// registration record exactly their activities, and the metrics count
// them (the test runs alone: the counters are the process's).
func TestAuditFlows(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			cap := &audittest.Capture{}
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t), AuditRecorder: cap})
			e := &env{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{})}
			fx := e.fx
			cap.Take()
			type brief = audittest.Brief
			u := audit.ResUser + ":" + fx.UserID
			fail := func(typ string) brief {
				return brief{Type: typ, Result: "FAILED", Client: fx.AppID, User: fx.UserID, Resources: u}
			}
			ok := func(typ string) brief {
				return brief{Type: typ, Result: "SUCCESS", Client: fx.AppID, User: fx.UserID, Resources: u}
			}
			check := func(want ...brief) {
				t.Helper()
				if got := audittest.Briefs(cap.Of(fx.EnvID)); !slices.Equal(got, want) {
					t.Errorf("activities:\n got %+v\nwant %+v", got, want)
				}
			}
			count := func(method, result string) float64 {
				return audittest.Count(telemetry.SignOns.WithLabelValues(method, result))
			}
			locks0, locked0 := audittest.Count(telemetry.Lockouts.WithLabelValues("password")), count("password", "locked")
			rec0, reg0 := count("recovery", "success"), count("registration", "success")

			// 1. Five wrong passwords lock the password (the Standard
			// policy); the sixth try is refused as locked.
			f, _ := e.start(t, nil, wire.StatusUsernamePasswordRequired)
			for range 5 {
				f.post(t, ctCheck, creds(fx.Username, wrongPassword))
			}
			f.post(t, ctCheck, creds(fx.Username, fx.Password))
			check(fail(audit.PasswordCheckFailed), fail(audit.PasswordCheckFailed), fail(audit.PasswordCheckFailed), fail(audit.PasswordCheckFailed),
				fail(audit.PasswordCheckFailed), ok(audit.UserLocked), fail(audit.PasswordCheckFailed))
			if got := audittest.Count(telemetry.Lockouts.WithLabelValues("password")) - locks0; got != 1 {
				t.Errorf("lockouts counted %v, want 1", got)
			}
			if got := count("password", "locked") - locked0; got != 2 {
				t.Errorf("locked sign-ons counted %v, want 2", got)
			}

			// 2. The locked-out user recovers: a code, then a new password.
			f.step(t, ctForgot, map[string]any{"username": fx.Username}, wire.StatusRecoveryCodeRequired)
			code := e.lastCode(t, fx.Email, "recovery")
			f.post(t, ctRecover, map[string]any{"recoveryCode": wrongCode(code), "newPassword": newPassword})
			f.stepDone(t, ctRecover, map[string]any{"recoveryCode": code, "newPassword": newPassword}, fx.UserID)
			check(ok(audit.PasswordRecovery), ok(audit.PasswordReset), ok(audit.SessionCreated))
			if got := count("recovery", "success") - rec0; got != 1 {
				t.Errorf("recoveries counted %v, want 1", got)
			}

			// 3. Registration: the new user is the actor of its creation;
			// the sign-on completes once the email address is verified.
			tag := uuid.NewString()[:8]
			polID := e.policy(t, "Register_"+tag, map[string]any{"type": "LOGIN", "priority": 1, "registration": map[string]any{"enabled": true, "population": map[string]any{"id": fx.PopulationID}}})
			e.assign(t, polID, 1)
			cap.Take()
			g, _ := e.start(t, nil, wire.StatusUsernamePasswordRequired)
			email := "new." + tag + "@example.com"
			m := g.step(t, ctRegister, map[string]any{"username": "new." + tag, "email": email, "password": newPassword},
				wire.StatusVerificationCodeRequired)
			newID := embeddedUser(m)["id"].(string)
			g.stepDone(t, ctVerify, map[string]any{"verificationCode": e.lastCode(t, email, "verification")}, newID)
			nu := audit.ResUser + ":" + newID
			check(brief{Type: audit.UserCreated, Result: "SUCCESS", Client: fx.AppID, User: newID, Resources: nu},
				brief{Type: audit.SessionCreated, Result: "SUCCESS", Client: fx.AppID, User: newID, Resources: nu})
			if got := count("registration", "success") - reg0; got != 1 {
				t.Errorf("registrations counted %v, want 1", got)
			}

			// 4. accessControl refuses a user: USER.ACCESS_DENIED.
			grp := e.admin(t, "POST", "/groups", map[string]any{"name": "Allowed_" + tag}, http.StatusCreated)["id"].(string)
			app := e.admin(t, "GET", "/applications/"+fx.AppID, nil, http.StatusOK)
			delete(app, "_links")
			app["accessControl"] = map[string]any{"group": map[string]any{"type": "ANY_GROUP", "groups": []map[string]any{{"id": grp}}}}
			e.admin(t, "PUT", "/applications/"+fx.AppID, app, http.StatusOK)
			cap.Take()
			h, _ := e.start(t, nil, wire.StatusUsernamePasswordRequired)
			h.post(t, ctCheck, creds("new."+tag, newPassword))
			check(brief{Type: audit.PasswordCheckSucceeded, Result: "SUCCESS", Client: fx.AppID, User: newID, Resources: nu},
				brief{Type: audit.UserAccessDenied, Result: "FAILED", Client: fx.AppID, User: newID, Resources: nu})
		})
	}
}
