package flow

import (
	"encoding/json"
	"fmt"
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
	// Signed on with a second factor two hours ago, with the password
	// alone 30 seconds ago: each method keeps its own time.
	oldMFA := &store.Session{AuthTime: now.Add(-30 * time.Second), AMR: []string{"pwd", "otp", "mfa"},
		Data: json.RawMessage(fmt.Sprintf(`{"methodsAt":{"pwd":%d,"otp":%d,"mfa":%d}}`, now.Unix()-30, now.Unix()-7200, now.Unix()-7200))}
	oldPwd := &store.Session{AuthTime: now.Add(-30 * time.Second), AMR: []string{"pwd", "mfa"},
		Data: json.RawMessage(fmt.Sprintf(`{"methodsAt":{"pwd":%d,"mfa":%d}}`, now.Unix()-7200, now.Unix()-30))}
	const (
		lastPwd60  = `{"secondsSince":"${session.lastSignOn.withAuthenticator.pwd.at}","greater":60}`
		lastAny60  = `{"secondsSince":"${session.lastSignOn.at}","greater":60}`
		lastAny1h  = `{"secondsSince":"${session.lastSignOn.at}","greater":3600}`
		lastAny3h  = `{"secondsSince":"${session.lastSignOn.at}","greater":10800}`
		lastMFA60  = `{"secondsSince":"${session.lastSignOn.withAuthenticator.mfa.at}","greater":60}`
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
		{"mfa never used", unknownVar, pwd, true},
		{"mfa too old, password recent", lastMFA60, oldMFA, true},
		{"mfa recent, password too old", lastMFA60, oldPwd, false},
		{"password too old, mfa recent", lastPwd60, oldPwd, true},
		{"password recent, mfa too old", lastPwd60, oldMFA, false},
		{"any: the last sign-on", lastAny60, oldMFA, false},
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
