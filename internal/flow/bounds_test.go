package flow_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// TestFlowBodyBounds: the flow API reads its bodies as the management API
// does. Text that is not UTF-8 (Go's decoder made it U+FFFD, so a
// registration stored a username nobody typed) and nesting beyond
// wire.MaxJSONDepth are 400 INVALID_DATA naming the field, before the
// action runs: no user is registered, no attempt counted.
func TestFlowBodyBounds(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			e := &env{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{})}
			tag := uuid.NewString()[:8]
			popID := e.admin(t, "POST", "/populations", map[string]any{"name": "Registered_" + tag}, http.StatusCreated)["id"].(string)
			e.assign(t, e.policy(t, "Register_"+tag, map[string]any{"type": "LOGIN", "priority": 1,
				"registration": map[string]any{"enabled": true, "population": map[string]any{"id": popID}}}), 1)
			usersBefore := e.admin(t, "GET", "/users", nil, http.StatusOK)["count"]

			f, _ := e.start(t, nil, wire.StatusUsernamePasswordRequired)
			deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
			tooDeep := &want{code: wire.DetailInvalidValue, target: "nested", inner: map[string]any{"maximumValue": float64(wire.MaxJSONDepth)}}
			email := "new." + tag + "@example.com"
			for _, tc := range []struct {
				name, ct, body string
				detail         *want
			}{
				{"username not UTF-8", ctCheck, "{\"username\":\"" + e.fx.Username + "\xff\",\"password\":\"x\"}", invalidValue("username")},
				{"password not UTF-8", ctCheck, "{\"username\":\"" + e.fx.Username + "\",\"password\":\"pa\xc3\"}", invalidValue("password")},
				{"password, a lone surrogate escape", ctCheck, `{"username":"` + e.fx.Username + `","password":"\udfff"}`, invalidValue("password")},
				{"8,000 levels", ctCheck, `{"username":"a","password":"b","nested":` + deep(8000) + `}`, tooDeep},
				{"65 levels", ctCheck, `{"username":"a","password":"b","nested":` + deep(wire.MaxJSONDepth) + `}`, tooDeep},
				{"registered username not UTF-8", ctRegister,
					"{\"username\":\"new." + tag + "\xfe\",\"email\":\"" + email + "\",\"password\":\"" + newPassword + "\"}", invalidValue("username")},
				{"registered family name not UTF-8", ctRegister, "{\"username\":\"new." + tag + "\",\"email\":\"" + email +
					"\",\"password\":\"" + newPassword + "\",\"name\":{\"given\":\"Nia\",\"family\":\"\xed\xb0\x80\"}}", invalidValue("name.family")},
			} {
				t.Run(tc.name, func(t *testing.T) {
					wantErr(t, f.post(t, tc.ct, tc.body), http.StatusBadRequest, wire.CodeInvalidData, tc.detail)
				})
			}
			if got := e.admin(t, "GET", "/users", nil, http.StatusOK)["count"]; got != usersBefore {
				t.Errorf("users: %v after refused registrations, want %v", got, usersBefore)
			}
			// None of them counted as a wrong password: the first one is
			// still the first.
			wantErr(t, f.post(t, ctCheck, creds(e.fx.Username, wrongPassword)), http.StatusBadRequest, wire.CodeInvalidData, badCreds(4))
			// 64 levels are a body like any other.
			f.step(t, ctCheck, `{"username":"`+e.fx.Username+`","password":"`+e.fx.Password+`","nested":`+deep(wire.MaxJSONDepth-1)+`}`,
				flow.StatusCompleted)
		})
	}
}
