package flow

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestMustRun: a sign-on policy action's condition against a session. The
// SSO path through authorize only exercises "no condition"; the rest is
// here.
func TestMustRun(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	pwd := &store.Session{AuthTime: now.Add(-30 * time.Second), AMR: []string{"pwd"}}
	old := &store.Session{AuthTime: now.Add(-2 * time.Hour), AMR: []string{"pwd"}}
	fed := &store.Session{AuthTime: now.Add(-30 * time.Second), AMR: []string{"fed"}}
	const (
		lastPwd60  = `{"secondsSince":"${session.lastSignOn.withAuthenticator.pwd.at}","greater":60}`
		lastAny60  = `{"secondsSince":"${session.lastSignOn.at}","greater":60}`
		lastAny1h  = `{"secondsSince":"${session.lastSignOn.at}","greater":3600}`
		lastAny3h  = `{"secondsSince":"${session.lastSignOn.at}","greater":10800}`
		unknownVar = `{"secondsSince":"${session.lastSignOn.withAuthenticator.mfa.at}","greater":60}`
	)
	for _, tc := range []struct {
		name string
		cond string
		sess *store.Session
		want bool
	}{
		{"no condition", ``, pwd, false},
		{"null", `null`, pwd, false},
		{"pwd recent", lastPwd60, pwd, false},
		{"pwd too old", lastPwd60, old, true},
		{"pwd never used", lastPwd60, fed, true},
		{"any recent", lastAny60, fed, false},
		{"any too old", lastAny1h, old, true},
		{"any within 3h", lastAny3h, old, false},
		{"unknown variable", unknownVar, pwd, true},
		{"no greater", `{"secondsSince":"${session.lastSignOn.at}"}`, pwd, true},
		{"unknown key", `{"ipRange":["10.0.0.0/8"]}`, pwd, true},
		{"not an object", `[]`, pwd, true},
		{"or: one must run", `{"or":[` + lastAny60 + `,` + lastAny1h + `]}`, old, true},
		{"or: none must run", `{"or":[` + lastAny60 + `,` + lastAny3h + `]}`, pwd, false},
		{"or: empty", `{"or":[]}`, pwd, true},
		{"and: one does not", `{"and":[` + lastAny1h + `,` + lastAny3h + `]}`, old, false},
		{"and: all must", `{"and":[` + lastAny60 + `,` + lastAny1h + `]}`, old, true},
		{"and: not a list", `{"and":{}}`, pwd, true},
		{"nested", `{"or":[{"and":[` + lastPwd60 + `,` + lastAny60 + `]},` + unknownVar + `]}`, pwd, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mustRun(json.RawMessage(tc.cond), tc.sess, now); got != tc.want {
				t.Errorf("mustRun(%s) = %v, want %v", tc.cond, got, tc.want)
			}
		})
	}
}
