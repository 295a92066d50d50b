package mgmt_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

const (
	ctSet         = "application/vnd.pingidentity.password.set+json"
	ctReset       = "application/vnd.pingidentity.password.reset+json"
	ctCheck       = "application/vnd.pingidentity.password.check+json"
	ctForceChange = "application/vnd.pingidentity.password.forceChange"
)

// pwClient sends the password calls of one user as PingOne's SDK does: PUT
// with the vendor type as the only Content-Type, POST with application/json
// and the vendor type.
type pwClient struct {
	t   *testing.T
	s   *apptest.Server
	tok string
	url string
}

func (c pwClient) put(ct string, body any) *apptest.Response {
	c.t.Helper()
	return doNo5xx(c.t, c.s, apptest.Request{Method: "PUT", URL: c.url, Token: c.tok, Body: body, ContentType: ct})
}

func (c pwClient) post(ct string, body any) *apptest.Response {
	c.t.Helper()
	if body == nil {
		body = []byte{}
	}
	return doNo5xx(c.t, c.s, apptest.Request{Method: "POST", URL: c.url, Token: c.tok, Body: body, Headers: http.Header{"Content-Type": {ct}}})
}

func (c pwClient) state() map[string]any {
	c.t.Helper()
	return must(c.t, doNo5xx(c.t, c.s, apptest.Request{Method: "GET", URL: c.url, Token: c.tok}), 200)
}

func (c pwClient) check(pw string) *apptest.Response {
	c.t.Helper()
	return c.post(ctCheck, map[string]any{"password": pw})
}

// detailMessages lists an error's detail messages, each with its code and
// target.
func detailMessages(t *testing.T, m map[string]any) []string {
	t.Helper()
	var out []string
	for _, d := range m["details"].([]any) {
		d := d.(map[string]any)
		target, _ := d["target"].(string)
		out = append(out, d["code"].(string)+" "+target+" "+d["message"].(string))
	}
	return out
}

// wantRules checks that an error names exactly these policy rules, one
// INVALID_VALUE detail each, aimed at target.
func wantRules(t *testing.T, r *apptest.Response, target string, rules ...string) {
	t.Helper()
	m := checkAnswer(t, r, wantErr{400, "INVALID_DATA", "INVALID_VALUE", target})
	msgs := detailMessages(t, m)
	var got []string
	for _, msg := range msgs {
		if !strings.HasPrefix(msg, "INVALID_VALUE "+target+" Password policy requirement '") {
			t.Errorf("detail %q does not name a policy rule for %s", msg, target)
			continue
		}
		rest := strings.TrimPrefix(msg, "INVALID_VALUE "+target+" Password policy requirement '")
		got = append(got, rest[:strings.IndexByte(rest, '\'')])
	}
	if !slices.Equal(got, rules) {
		t.Errorf("rules %v, want %v:\n%s", got, rules, strings.Join(msgs, "\n"))
	}
}

func TestPasswordLifecycleAsSDK(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			testPasswordLifecycle(t, apptest.Start(t, apptest.Options{DSN: b.DSN(t)}))
		})
	}
}

func testPasswordLifecycle(t *testing.T, s *apptest.Server) {
	tok := s.AdminToken(t)
	envID := newEnv(t, s, "Passwords", "SANDBOX")
	u := userCreate(t, s, envID, map[string]any{"username": "pat.jones", "email": "pat.jones@example.com",
		"name": map[string]any{"given": "Patricia", "family": "Jones"}})
	userID := u["id"].(string)
	userURL := "/environments/" + envID + "/users/" + userID
	pw := pwClient{t: t, s: s, tok: tok, url: userURL + "/password"}
	pps, err := s.Store.ListPasswordPolicies(context.Background(), envID)
	if err != nil {
		t.Fatal(err)
	}
	var standard string
	for _, p := range pps {
		if p.Name == "Standard" {
			standard = p.ID
		}
	}

	// No password yet, under the environment's Standard policy.
	st := pw.state()
	self := s.APIPath + userURL + "/password"
	wantFields(t, st, map[string]any{"status": "NO_PASSWORD", "environment.id": envID, "user.id": userID, "passwordPolicy.id": standard,
		"lastChangedAt": nil, "_links.self.href": self, "_links.user.href": s.APIPath + userURL,
		"_links.passwordPolicy.href": s.APIPath + "/environments/" + envID + "/passwordPolicies/" + standard})
	gs := golden(t, "users.password.set.response.json")
	if !slices.Equal(keysOf(st["_links"].(map[string]any)), keysOf(gs["_links"].(map[string]any))) {
		t.Errorf("_links %v, PingOne's %v", keysOf(st["_links"].(map[string]any)), keysOf(gs["_links"].(map[string]any)))
	}
	exp := must(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: pw.url + "?expand=passwordPolicy", Token: tok}), 200)
	ge := golden(t, "users.password.read.expandPolicy.response.json")["_embedded"].(map[string]any)["passwordPolicy"].(map[string]any)
	// minCharacters is left out: PingOne's own examples disagree on the
	// digits' key ("1234567890" here, "0123456789" in the policy example).
	for _, k := range []string{"name", "description", "excludesProfileData", "notSimilarToCurrent", "excludesCommonlyUsed", "maxAgeDays",
		"minAgeDays", "maxRepeatedCharacters", "minUniqueCharacters", "history", "lockout", "length", "default"} {
		if g, w := userJSON(t, get(exp, "_embedded.passwordPolicy."+k)), userJSON(t, ge[k]); !bytes.Equal(g, w) {
			t.Errorf("_embedded.passwordPolicy.%s = %s, PingOne's example %s", k, g, w)
		}
	}
	wantFields(t, exp, map[string]any{"_embedded.passwordPolicy.id": standard})

	// Checks of a user without a password fail.
	checkAnswer(t, pw.check("anything"), wantErr{400, "REQUEST_FAILED", "", ""})

	// A weak password names every rule it breaks; nothing is stored.
	wantRules(t, pw.put(ctSet, map[string]any{"value": "password"}), "value", "minCharacters", "minCharacters", "minCharacters", "excludesCommonlyUsed")
	wantRules(t, pw.put(ctSet, map[string]any{"value": "Jones-4-ever!"}), "value", "excludesProfileData")
	wantRules(t, pw.put(ctSet, map[string]any{"value": "Abbb1!cdef"}), "value", "maxRepeatedCharacters")
	wantFields(t, pw.state(), map[string]any{"status": "NO_PASSWORD"})

	// Set, with PingOne's example body.
	first := "Gatehouse-Pass-1"
	setReq := userGolden(t, "users.password.set.request.json", "{{userPassword}}", first)
	r := pw.put(ctSet, setReq)
	set := must(t, r, 200)
	if !slices.Equal(keysOf(set), keysOf(gs)) {
		t.Errorf("set response keys %v, PingOne's %v", keysOf(set), keysOf(gs))
	}
	wantFields(t, set, map[string]any{"status": "OK", "passwordPolicy.id": standard, "user.id": userID})
	checkTime(t, set, "lastChangedAt")
	for _, secret := range []string{first, "argon2", "hash"} {
		if bytes.Contains(r.Body, []byte(secret)) {
			t.Errorf("the set response contains %q", secret)
		}
	}

	// Check: right, then wrong (counted), then right (count cleared).
	wantFields(t, must(t, pw.check(first), 200), map[string]any{"status": "OK", "failedLoginCount": nil})
	wrong := checkAnswer(t, pw.check("Gatehouse-Pass-2"), wantErr{400, "INVALID_DATA", "INVALID_VALUE", "password"})
	if msg := detailAt(t, wrong, 0)["message"].(string); !strings.Contains(msg, "4 attempt(s) remain") {
		t.Errorf("wrong-password message %q", msg)
	}
	wantFields(t, pw.state(), map[string]any{"status": "OK", "failedLoginCount": 1})
	wantFields(t, must(t, pw.check(first), 200), map[string]any{"failedLoginCount": nil})

	// Admin set with forceChange: the user must change it; a check still
	// succeeds and says so.
	second := "Second-Pass-22"
	wantFields(t, must(t, pw.put(ctSet, map[string]any{"value": second, "forceChange": true}), 200), map[string]any{"status": "MUST_CHANGE_PASSWORD"})
	wantFields(t, must(t, pw.check(second), 200), map[string]any{"status": "MUST_CHANGE_PASSWORD"})
	// The old password no longer works.
	checkAnswer(t, pw.check(first), wantErr{400, "INVALID_DATA", "INVALID_VALUE", "password"})

	// Self-service reset: the current password must be right…
	checkAnswer(t, pw.put(ctReset, map[string]any{"currentPassword": "nope", "newPassword": "Third-Pass-345"}),
		wantErr{400, "INVALID_DATA", "INVALID_VALUE", "currentPassword"})
	// …the new one must meet the policy: not similar to the current one,
	// not in the history.
	wantRules(t, pw.put(ctReset, map[string]any{"currentPassword": second, "newPassword": "Second-Pass-23"}), "newPassword", "notSimilarToCurrent")
	wantRules(t, pw.put(ctReset, map[string]any{"currentPassword": second, "newPassword": first}), "newPassword", "history")
	third := "Third-Pass-345"
	wantFields(t, must(t, pw.put(ctReset, map[string]any{"currentPassword": second, "newPassword": third}), 200), map[string]any{"status": "OK"})
	wantFields(t, must(t, pw.check(third), 200), map[string]any{"status": "OK"})
	// A password changed less than minAgeDays ago cannot be changed by its user.
	wantRules(t, pw.put(ctReset, map[string]any{"currentPassword": third, "newPassword": "Fourth-Pass-478"}), "newPassword", "minAgeDays")
	// The administrator may, but not to a remembered password, unless the
	// policy is bypassed.
	wantRules(t, pw.put(ctSet, map[string]any{"value": second}), "value", "history")
	wantFields(t, must(t, pw.put(ctSet, map[string]any{"value": second, "bypassPolicy": true}), 200), map[string]any{"status": "OK"})
	// An administrator's reset (no current password) is not checked and
	// must be changed.
	wantFields(t, must(t, pw.put(ctReset, map[string]any{"newPassword": "temp"}), 200), map[string]any{"status": "MUST_CHANGE_PASSWORD"})
	wantFields(t, must(t, pw.check("temp"), 200), map[string]any{"status": "MUST_CHANGE_PASSWORD"})
	wantFields(t, must(t, pw.put(ctSet, map[string]any{"value": "Fifth-Pass-579"}), 200), map[string]any{"status": "OK"})

	// forceChange, with no body, as the SDK sends it.
	wantFields(t, must(t, pw.post(ctForceChange, nil), 200), map[string]any{"status": "MUST_CHANGE_PASSWORD"})
	wantFields(t, pw.state(), map[string]any{"status": "MUST_CHANGE_PASSWORD"})
	wantFields(t, must(t, pw.put(ctSet, map[string]any{"value": "Sixth-Pass-680"}), 200), map[string]any{"status": "OK"})

	// Lockout: the Standard policy locks after 5 failures for 900 s.
	current := "Sixth-Pass-680"
	for i := 1; i <= 5; i++ {
		m := checkAnswer(t, pw.check("Wrong-Pass-0"), wantErr{400, "INVALID_DATA", "INVALID_VALUE", "password"})
		msg := detailAt(t, m, 0)["message"].(string)
		if i < 5 && strings.Contains(msg, "locked for") || i == 5 && !strings.Contains(msg, "locked for 900 seconds") {
			t.Errorf("failure %d: %q", i, msg)
		}
	}
	locked := checkAnswer(t, pw.check(current), wantErr{400, "INVALID_DATA", "PASSWORD_LOCKED_OUT", "password"})
	if msg := detailAt(t, locked, 0)["message"].(string); !strings.Contains(msg, "unlocks in") {
		t.Errorf("locked message %q", msg)
	}
	st = pw.state()
	wantFields(t, st, map[string]any{"status": "PASSWORD_LOCKED_OUT", "failedLoginCount": 5})
	if secs := st["secondsUntilUnlock"].(float64); secs < 890 || secs > 900 {
		t.Errorf("secondsUntilUnlock %v", secs)
	}
	user := must(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: userURL, Token: tok}), 200)
	wantFields(t, user, map[string]any{"account.status": "LOCKED", "account.canAuthenticate": false})
	checkTime(t, user, "account.unlockAt")
	lockedList := must(t, doNo5xx(t, s, apptest.Request{Method: "GET", Token: tok,
		URL: userFilterURL("/environments/"+envID+"/users", `account.status eq "LOCKED"`)}), 200)
	wantFields(t, lockedList, map[string]any{"count": 1})
	// A self-service change is locked out too.
	checkAnswer(t, pw.put(ctReset, map[string]any{"currentPassword": current, "newPassword": "Seventh-Pass-791"}),
		wantErr{400, "INVALID_DATA", "PASSWORD_LOCKED_OUT", "currentPassword"})
	// An administrator's unlock ends it.
	must(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: userURL, Token: tok, Body: []byte{},
		Headers: http.Header{"Content-Type": {"application/vnd.pingidentity.account.unlock+json"}}}), 200)
	wantFields(t, pw.state(), map[string]any{"status": "OK", "failedLoginCount": nil, "secondsUntilUnlock": nil})
	wantFields(t, must(t, pw.check(current), 200), map[string]any{"status": "OK"})

	// Media types: the vendor type decides; JSON alone or an unknown
	// vendor type is 415.
	checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "PUT", URL: pw.url, Token: tok, Body: map[string]any{"value": current}}),
		wantErr{415, "INVALID_REQUEST", "INVALID_VALUE", "Content-Type"})
	checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: pw.url, Token: tok, Body: map[string]any{"password": current}}),
		wantErr{415, "INVALID_REQUEST", "INVALID_VALUE", "Content-Type"})
	checkAnswer(t, pw.post("application/vnd.pingidentity.password.recover+json", map[string]any{"recoveryCode": "x", "newPassword": "y"}),
		wantErr{415, "INVALID_REQUEST", "INVALID_VALUE", "Content-Type"})
	checkAnswer(t, pw.put(ctCheck, map[string]any{"password": current}), wantErr{415, "INVALID_REQUEST", "INVALID_VALUE", "Content-Type"})
	checkAnswer(t, pw.put(ctSet, map[string]any{"forceChange": true}), wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "value"})
	checkAnswer(t, pw.put(ctReset, map[string]any{"currentPassword": current}), wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "newPassword"})
	checkAnswer(t, pw.post(ctCheck, map[string]any{}), wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "password"})
	checkAnswer(t, pw.post(ctCheck, `{"password": 7}`), wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "password"})
	checkAnswer(t, pw.put(ctSet, map[string]any{"value": strings.Repeat("Ab1!", 300)}), wantErr{400, "INVALID_DATA", "SIZE_LIMIT_EXCEEDED", "value"})
	checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: pw.url + "?expand=user", Token: tok}),
		wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "expand"})
	checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: "/environments/" + envID + "/users/" + uuid.NewString() + "/password", Token: tok}),
		wantErr{404, "NOT_FOUND", "", ""})
}

// TestPasswordImportAndExpiry covers pre-encoded imports, a population's
// own policy, a lockout that runs out by itself, and users of an external
// identity provider.
func TestPasswordImportAndExpiry(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			ctx := context.Background()
			tok := s.AdminToken(t)
			envID := newEnv(t, s, "Imports", "SANDBOX")
			users := "/environments/" + envID + "/users"

			// A bcrypt hash from another directory, imported as is.
			h, err := bcrypt.GenerateFromPassword([]byte("legacy secret"), 4)
			if err != nil {
				t.Fatal(err)
			}
			imp := must(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: users, Token: tok, ContentType: "application/vnd.pingidentity.user.import+json",
				Body: map[string]any{"username": "legacy", "password": map[string]any{"value": string(h), "forceChange": true}}}), 201)
			pw := pwClient{t: t, s: s, tok: tok, url: users + "/" + imp["id"].(string) + "/password"}
			wantFields(t, must(t, pw.check("legacy secret"), 200), map[string]any{"status": "MUST_CHANGE_PASSWORD"})
			checkAnswer(t, pw.check("legacy secreT"), wantErr{400, "INVALID_DATA", "INVALID_VALUE", "password"})
			// A cleartext import meets the policy.
			checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: users, Token: tok, ContentType: "application/vnd.pingidentity.user.import+json",
				Body: map[string]any{"username": "weak", "password": map[string]any{"value": "qwerty"}}}),
				wantErr{400, "INVALID_DATA", "INVALID_VALUE", "password.value"})
			if list := must(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: userFilterURL(users, `username eq "weak"`), Token: tok}), 200); list["count"] != float64(0) {
				t.Errorf("a rejected import left a user: %v", list["count"])
			}

			// A population with its own policy: two failures lock for one second.
			now := store.Now()
			quick := &store.PasswordPolicy{ID: uuid.NewString(), EnvironmentID: envID, Name: "Quick lockout", CreatedAt: now, UpdatedAt: now,
				Data: json.RawMessage(`{"excludesCommonlyUsed": false, "excludesProfileData": false, "notSimilarToCurrent": false,
					"length": {"min": 4, "max": 64}, "lockout": {"failureCount": 2, "durationSeconds": 1}}`)}
			if err := s.Store.CreatePasswordPolicy(ctx, quick); err != nil {
				t.Fatal(err)
			}
			pop := must(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: "/environments/" + envID + "/populations", Token: tok,
				Body: map[string]any{"name": "Quick", "passwordPolicy": map[string]any{"id": quick.ID}}}), 201)
			u := must(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: users, Token: tok, Body: map[string]any{"username": "quick",
				"population": map[string]any{"id": pop["id"]}, "password": map[string]any{"value": "abcd"}}}), 201)
			q := pwClient{t: t, s: s, tok: tok, url: users + "/" + u["id"].(string) + "/password"}
			wantFields(t, q.state(), map[string]any{"status": "OK", "passwordPolicy.id": quick.ID})
			checkAnswer(t, q.check("zzzz"), wantErr{400, "INVALID_DATA", "INVALID_VALUE", "password"})
			checkAnswer(t, q.check("zzzz"), wantErr{400, "INVALID_DATA", "INVALID_VALUE", "password"})
			checkAnswer(t, q.check("abcd"), wantErr{400, "INVALID_DATA", "PASSWORD_LOCKED_OUT", "password"})
			wantFields(t, must(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: users + "/" + u["id"].(string), Token: tok}), 200),
				map[string]any{"account.status": "LOCKED"})
			time.Sleep(1100 * time.Millisecond)
			wantFields(t, q.state(), map[string]any{"status": "OK", "failedLoginCount": 2})
			wantFields(t, must(t, q.check("abcd"), 200), map[string]any{"status": "OK", "failedLoginCount": nil})
			wantFields(t, must(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: users + "/" + u["id"].(string), Token: tok}), 200),
				map[string]any{"account.status": "OK", "account.canAuthenticate": true})
			// An administrator's lock is not a password lockout: a right
			// password leaves it in place.
			must(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: users + "/" + u["id"].(string), Token: tok, Body: []byte{},
				ContentType: "application/vnd.pingidentity.account.lock+json"}), 200)
			must(t, q.check("abcd"), 200)
			wantFields(t, must(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: users + "/" + u["id"].(string), Token: tok}), 200),
				map[string]any{"account.status": "LOCKED", "account.unlockAt": nil})

			// Users of an external identity provider have no self-service.
			ext := must(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: users, Token: tok, Body: map[string]any{"username": "federated",
				"identityProvider": map[string]any{"type": "OPENID_CONNECT", "id": uuid.NewString()}, "password": map[string]any{"value": "Fed-Pass-975"}}}), 201)
			e := pwClient{t: t, s: s, tok: tok, url: users + "/" + ext["id"].(string) + "/password"}
			checkAnswer(t, e.check("Fed-Pass-975"), wantErr{400, "REQUEST_FAILED", "", ""})
			checkAnswer(t, e.put(ctReset, map[string]any{"currentPassword": "Fed-Pass-975", "newPassword": "Fed-Pass-000x"}), wantErr{400, "REQUEST_FAILED", "", ""})
		})
	}
}

// TestPasswordConcurrency: wrong checks, administrator sets and unlocks of
// one user at once never fail with a 5xx (on PostgreSQL a lock-order
// deadlock would), and leave the password usable.
func TestPasswordConcurrency(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			tok := s.AdminToken(t)
			envID := newEnv(t, s, "Storm", "SANDBOX")
			u := userCreate(t, s, envID, map[string]any{"username": "storm", "password": map[string]any{"value": "Gale-Pass-1"}})
			userURL := "/environments/" + envID + "/users/" + u["id"].(string)
			var wg sync.WaitGroup
			start := make(chan struct{})
			statuses := make([]int, 30)
			for i := range statuses {
				wg.Go(func() {
					<-start
					var r *apptest.Response
					switch {
					case i < 20:
						r = s.Do(t, apptest.Request{Method: "POST", URL: userURL + "/password", Token: tok, Body: map[string]any{"password": "Wrong-1"},
							Headers: http.Header{"Content-Type": {ctCheck}}})
					case i < 25:
						r = s.Do(t, apptest.Request{Method: "PUT", URL: userURL + "/password", Token: tok, ContentType: ctSet,
							Body: map[string]any{"value": "Gale-Pass-1", "bypassPolicy": true}})
					default:
						r = s.Do(t, apptest.Request{Method: "POST", URL: userURL, Token: tok, Body: []byte{},
							ContentType: "application/vnd.pingidentity.account.unlock+json"})
					}
					statuses[i] = r.Status
					if r.Status >= 500 {
						t.Errorf("request %d: %d %s", i, r.Status, trimBody(r.Body))
					}
				})
			}
			close(start)
			wg.Wait()
			for i, st := range statuses {
				if i < 20 && st != 400 || i >= 20 && st != 200 {
					t.Errorf("request %d answered %d", i, st)
				}
			}
			// Whatever the interleaving, the password still works once unlocked.
			must(t, s.Do(t, apptest.Request{Method: "POST", URL: userURL, Token: tok, Body: []byte{},
				ContentType: "application/vnd.pingidentity.account.unlock+json"}), 200)
			wantFields(t, must(t, s.Do(t, apptest.Request{Method: "POST", URL: userURL + "/password", Token: tok,
				Body: map[string]any{"password": "Gale-Pass-1"}, Headers: http.Header{"Content-Type": {ctCheck}}}), 200), map[string]any{"status": "OK"})
		})
	}
}
