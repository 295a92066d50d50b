package authsvc_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
)

// TestMFAOTPGuessLimitKeyedByFlowUser: the per-user limit on wrong
// passcodes counts against the flow's user, whatever username the body
// of otp.check names.
func TestMFAOTPGuessLimitKeyedByFlowUser(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			lc := ratelimit.Defaults()
			lc.CheckFailuresPerUser = ratelimit.Rate{N: 2, Per: time.Hour}
			x := newMFAFixture(t, be.DSN(t), apptest.Options{Limits: &lc})
			x.device(t, x.fx.UserID, map[string]any{"type": "EMAIL", "email": x.fx.Email, "status": "ACTIVE"})
			f := x.signOn(t, x.fx.Username)
			code := x.mailedCode(t, x.fx.Email)
			wrong := "000000"
			if code == wrong {
				wrong = "111111"
			}
			for i := range 2 {
				body := fmt.Sprintf(`{"otp":"%s","username":"someone-%d"}`, wrong, i)
				wantDetail(t, f.post(t, "otp.check", body, http.StatusBadRequest), "INVALID_OTP", "otp")
			}
			h := call(t, f.c, "POST", f.url, "application/vnd.pingidentity.otp.check+json", `{"otp":"`+code+`","username":"someone-else"}`)
			if h.status != http.StatusTooManyRequests {
				t.Fatalf("third guess: %d %s, want 429", h.status, h.body)
			}
		})
	}
}
