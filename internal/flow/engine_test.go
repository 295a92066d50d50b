package flow

import (
	"encoding/json"
	"slices"
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

func TestActionFor(t *testing.T) {
	for _, tc := range []struct{ mediaType, want string }{
		{"application/vnd.pingidentity.usernamePassword.check+json", ActionUsernamePasswordCheck},
		{"application/vnd.pingidentity.usernamepassword.check+json", ActionUsernamePasswordCheck},
		{"APPLICATION/VND.PINGIDENTITY.USER.LOOKUP+JSON", ActionUserLookup},
		{"application/vnd.pingidentity.password.sendRecoveryCode", ActionPasswordSendRecoveryCode},
		{"application/vnd.pingidentity.password.sendRecoveryCode+json", ActionPasswordSendRecoveryCode},
		{"application/vnd.pingidentity.session.reset+json", ActionSessionReset},
		{"application/vnd.pingidentity.user.unlock+json", ""},
		{"application/vnd.pingidentity.", ""},
		{"application/vnd.pingidentity.+json", ""},
		{"application/json", ""},
		{"application/vnd.example.usernamePassword.check+json", ""},
		{"", ""},
	} {
		if got := actionFor(tc.mediaType); got != tc.want {
			t.Errorf("actionFor(%q) = %q, want %q", tc.mediaType, got, tc.want)
		}
	}
	for a := range actions {
		if got := actionFor(MediaType(a)); got != a {
			t.Errorf("actionFor(MediaType(%s)) = %q", a, got)
		}
	}
}

// TestAllowed: what each status offers, by the policy action's settings.
// session.reset is offered wherever there is something to reset.
func TestAllowed(t *testing.T) {
	plain := &action{Type: "LOGIN"}
	full := &action{Type: "LOGIN", Recovery: true, Register: true}
	for _, tc := range []struct {
		status string
		a      *action
		want   []string
	}{
		{StatusUsernamePasswordRequired, plain, []string{ActionUsernamePasswordCheck, ActionSessionReset}},
		{StatusUsernamePasswordRequired, full, []string{ActionUsernamePasswordCheck, ActionPasswordForgot, ActionUserRegister, ActionSessionReset}},
		{StatusSignOnRequired, plain, []string{ActionUserLookup, ActionSessionReset}},
		{StatusSignOnRequired, full, []string{ActionUserLookup, ActionPasswordForgot, ActionUserRegister, ActionSessionReset}},
		{StatusPasswordRequired, full, []string{ActionUsernamePasswordCheck, ActionPasswordForgot, ActionSessionReset}},
		{StatusMustChangePassword, plain, []string{ActionPasswordReset, ActionSessionReset}},
		{StatusPasswordExpired, plain, []string{ActionPasswordReset, ActionSessionReset}},
		{StatusRecoveryCodeRequired, plain, []string{ActionPasswordRecover, ActionPasswordSendRecoveryCode, ActionSessionReset}},
		{StatusVerificationCodeRequired, plain, []string{ActionUserVerify, ActionUserSendVerificationCode, ActionSessionReset}},
		{StatusCompleted, full, nil},
		{StatusFailed, full, nil},
		{StatusUsernamePasswordRequired, nil, []string{ActionUsernamePasswordCheck, ActionSessionReset}},
	} {
		if got := allowed(tc.status, tc.a); !slices.Equal(got, tc.want) {
			t.Errorf("allowed(%s, %+v) = %v, want %v", tc.status, tc.a, got, tc.want)
		}
	}
}

// TestPhantomEviction: a flow keeps at most maxPhantoms unknown usernames'
// counts, dropping the least recently used.
func TestPhantomEviction(t *testing.T) {
	var st state
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range maxPhantoms {
		st.phantom(string(rune('a'+i)), t0.Add(time.Duration(i)*time.Second)).Failures = i + 1
	}
	// Touching "a" makes "b" the least recently used.
	if p := st.phantom("a", t0.Add(time.Hour)); p.Failures != 1 {
		t.Fatalf("a: %+v", p)
	}
	if p := st.phantom("new", t0.Add(2*time.Hour)); p.Failures != 0 {
		t.Fatalf("new: %+v", p)
	}
	if len(st.Phantoms) != maxPhantoms || st.Phantoms["b"] != nil || st.Phantoms["a"] == nil || st.Phantoms["c"] == nil {
		t.Errorf("after eviction: %d kept, b %v, a %v", len(st.Phantoms), st.Phantoms["b"], st.Phantoms["a"])
	}
	// The counts survive the flow's JSON.
	b, err := json.Marshal(&st)
	if err != nil {
		t.Fatal(err)
	}
	var back state
	if err := json.Unmarshal(b, &back); err != nil || back.Phantoms["c"].Failures != 3 {
		t.Errorf("round trip: %v %+v", err, back.Phantoms["c"])
	}
}
