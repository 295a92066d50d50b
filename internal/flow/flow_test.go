package flow_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// The flow API as PingOne's clients drive it: authorize with pi.flow in a
// browser with a cookie jar, then POST /{envId}/flows/{flowId} with vendor
// media types. Each scenario gets its own environment on one server per
// backend, so that lockouts and policies do not leak between them.

// Passwords the Standard policy accepts (none is similar to another).
const (
	wrongPassword = "Not-The-Password-77?"
	newPassword   = "Fresh-Gatehouse-Pw-42!"
	otherPassword = "Brand+New+Secret-58#"
	weakPassword  = "zqxvw" // fails length and minCharacters only
)

var (
	mt = flow.MediaType

	ctCheck    = mt(wire.ActionUsernamePasswordCheck)
	ctLookup   = mt(wire.ActionUserLookup)
	ctReset    = mt(flow.ActionSessionReset)
	ctForgot   = mt(wire.ActionPasswordForgot)
	ctSendCode = mt(wire.ActionPasswordSendRecoveryCode)
	ctRecover  = mt(wire.ActionPasswordRecover)
	ctPwReset  = mt(wire.ActionPasswordReset)
	ctRegister = mt(wire.ActionUserRegister)
	ctVerify   = mt(wire.ActionUserVerify)
	ctSendVer  = mt(wire.ActionUserSendVerificationCode)

	digits8 = regexp.MustCompile(`^\d{8}$`)
)

func TestFlows(t *testing.T) {
	scenarios := []struct {
		name string
		run  func(t *testing.T, e *env)
	}{
		{"WrongPasswordLocksOut", testLockout},
		{"UnknownUsernameCountsDown", testUnknownUsername},
		{"ActionNotAllowed", testNotAllowed},
		{"ContentTypeAndBody", testContentTypeAndBody},
		{"FlowNotFoundAndBinding", testNotFoundAndBinding},
		{"MustChangePassword", testMustChangePassword},
		{"PasswordRecovery", testRecovery},
		{"Registration", testRegistration},
		{"IdentifierFirst", testIdentifierFirst},
		{"RecoveryOnlyForThoseWhoMay", testRecoveryEligibility},
		{"PolicySelection", testPolicySelection},
		{"PromptNone", testPromptNone},
		{"ExpirySlides", testExpirySlides},
	}
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			s.AdminToken(t)
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) {
					sc.run(t, &env{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{})})
				})
			}
		})
	}
}

// ---- helpers

// env is one environment with a web application and a user.
type env struct {
	s  *apptest.Server
	fx *apptest.SignOn
}

func (e *env) base() string { return e.s.URL + "/" + e.fx.EnvID }

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r *resp) obj(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("not a JSON object (%d): %s", r.status, r.body)
	}
	return m
}

// browser keeps cookies and stops at redirects.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func send(t *testing.T, c *http.Client, method, u, contentType string, body []byte, hdr ...string) *resp {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "*/*") // as PingOne's samples send
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &resp{status: res.StatusCode, header: res.Header, body: b}
}

func jsonBody(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func creds(username, password string) map[string]any {
	return map[string]any{"username": username, "password": password}
}

// authorize starts a sign-on in c; extra overrides or adds parameters.
func (e *env) authorize(t *testing.T, c *http.Client, extra url.Values) *resp {
	t.Helper()
	q := url.Values{"response_type": {"code"}, "client_id": {e.fx.AppID}, "redirect_uri": {e.fx.RedirectURI},
		"scope": {"openid"}, "response_mode": {"pi.flow"}}
	for k, v := range extra {
		q[k] = v
	}
	return send(t, c, "GET", e.base()+"/as/authorize?"+q.Encode(), "", nil)
}

// fl is a flow driven by one browser.
type fl struct {
	e   *env
	c   *http.Client
	id  string
	url string
}

// start begins a pi.flow sign-on in a new browser and checks its status.
func (e *env) start(t *testing.T, extra url.Values, wantStatus string) (*fl, map[string]any) {
	t.Helper()
	return e.startIn(t, browser(t), extra, wantStatus)
}

func (e *env) startIn(t *testing.T, c *http.Client, extra url.Values, wantStatus string) (*fl, map[string]any) {
	t.Helper()
	r := e.authorize(t, c, extra)
	if r.status != http.StatusOK {
		t.Fatalf("authorize: %d %s", r.status, r.body)
	}
	m := r.obj(t)
	if m["status"] != wantStatus {
		t.Fatalf("authorize: status %v, want %s: %s", m["status"], wantStatus, r.body)
	}
	id := m["id"].(string)
	return &fl{e: e, c: c, id: id, url: e.base() + "/flows/" + id}, m
}

func (f *fl) post(t *testing.T, contentType string, body any) *resp {
	t.Helper()
	var b []byte
	switch x := body.(type) {
	case nil:
	case string:
		b = []byte(x)
	case []byte:
		b = x
	default:
		b = jsonBody(t, x)
	}
	return send(t, f.c, "POST", f.url, contentType, b)
}

// step posts an action that must succeed with wantStatus.
func (f *fl) step(t *testing.T, contentType string, body any, wantStatus string) map[string]any {
	t.Helper()
	r := f.post(t, contentType, body)
	if r.status != http.StatusOK {
		t.Fatalf("%s: %d %s", contentType, r.status, r.body)
	}
	m := r.obj(t)
	if m["status"] != wantStatus {
		t.Fatalf("%s: status %v, want %s: %s", contentType, m["status"], wantStatus, r.body)
	}
	return m
}

func (f *fl) get(t *testing.T) map[string]any {
	t.Helper()
	r := send(t, f.c, "GET", f.url, "", nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET flow: %d %s", r.status, r.body)
	}
	return r.obj(t)
}

// apiError is PingOne's error body; decoding refuses members it does not
// name, so that no stray field goes unnoticed.
type apiError struct {
	ID      string      `json:"id"`
	Code    string      `json:"code"`
	Message string      `json:"message"`
	Details []apiDetail `json:"details"`
}

type apiDetail struct {
	Code       string         `json:"code"`
	Target     string         `json:"target"`
	Message    string         `json:"message"`
	InnerError map[string]any `json:"innerError"`
}

// want is the one detail an error must carry. inner nil means no
// innerError; skipInner leaves it to the caller.
type want struct {
	code, target string
	inner        map[string]any
	skipInner    bool
}

// topMessages are the messages of the top-level codes, word for word.
var topMessages = map[string]string{
	wire.CodeInvalidData:    wire.MsgInvalidData,
	wire.CodeInvalidRequest: wire.MsgInvalidRequest,
}

func decodeError(t *testing.T, r *resp) apiError {
	t.Helper()
	var e apiError
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("error body (%d) is not PingOne's shape: %v\n%s", r.status, err, r.body)
	}
	return e
}

// wantErr checks status, content type, id, code, message and the single
// detail (d nil: none) and returns the detail.
func wantErr(t *testing.T, r *resp, status int, code string, d *want) apiDetail {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	e := decodeError(t, r)
	if uuid.Validate(e.ID) != nil {
		t.Errorf("id %q is not a UUID", e.ID)
	}
	if e.Code != code {
		t.Errorf("code %q, want %q: %s", e.Code, code, r.body)
	}
	if m, ok := topMessages[code]; ok && status == http.StatusBadRequest && e.Message != m {
		t.Errorf("message %q, want %q", e.Message, m)
	} else if e.Message == "" {
		t.Errorf("no message: %s", r.body)
	}
	if d == nil {
		if len(e.Details) != 0 {
			t.Errorf("details %+v, want none", e.Details)
		}
		return apiDetail{}
	}
	if len(e.Details) != 1 {
		t.Fatalf("details %+v, want one: %s", e.Details, r.body)
	}
	got := e.Details[0]
	if got.Code != d.code || got.Target != d.target || got.Message == "" {
		t.Errorf("detail code %q target %q message %q, want %q %q: %s", got.Code, got.Target, got.Message, d.code, d.target, r.body)
	}
	if !d.skipInner && !reflect.DeepEqual(got.InnerError, d.inner) {
		t.Errorf("innerError %v, want %v: %s", got.InnerError, d.inner, r.body)
	}
	return got
}

func badCreds(left int) *want {
	return &want{code: wire.DetailInvalidCredentials, target: "password", inner: map[string]any{"failuresRemaining": float64(left)}}
}

// wantLocked checks a PASSWORD_LOCKED_OUT answer and that the lock ends
// within (max-5, max] seconds.
func wantLocked(t *testing.T, r *resp, target string, max int) {
	t.Helper()
	d := wantErr(t, r, http.StatusBadRequest, wire.CodeInvalidData, &want{code: wire.DetailPasswordLockedOut, target: target, skipInner: true})
	secs, ok := d.InnerError["secondsUntilUnlock"].(float64)
	if len(d.InnerError) != 1 || !ok || secs > float64(max) || secs <= float64(max-5) {
		t.Errorf("innerError %v, want secondsUntilUnlock in (%d, %d]", d.InnerError, max-5, max)
	}
}

func invalidValue(target string) *want { return &want{code: wire.DetailInvalidValue, target: target} }

// notAllowed is the detail of an action the status does not offer.
func notAllowed(allowed ...string) *want {
	w := &want{code: wire.DetailInvalidValue, target: "Content-Type"}
	if len(allowed) > 0 {
		vals := make([]any, len(allowed))
		for i, a := range allowed {
			vals[i] = a
		}
		w.inner = map[string]any{"allowedValues": vals}
	}
	return w
}

// linkKeys are a flow's _links names, sorted.
func linkKeys(m map[string]any) []string {
	var out []string
	for k := range m["_links"].(map[string]any) {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func wantLinks(t *testing.T, m map[string]any, actions ...string) {
	t.Helper()
	want := append([]string{"self", "signOnPage"}, actions...)
	slices.Sort(want)
	if got := linkKeys(m); !slices.Equal(got, want) {
		t.Errorf("_links %v, want %v", got, want)
	}
	self := m["_links"].(map[string]any)["self"].(map[string]any)["href"]
	for _, a := range actions {
		if h := m["_links"].(map[string]any)[a].(map[string]any)["href"]; h != self {
			t.Errorf("_links.%s.href %v, want %v", a, h, self)
		}
	}
}

func embedded(m map[string]any) map[string]any {
	e, _ := m["_embedded"].(map[string]any)
	return e
}

func embeddedUser(m map[string]any) map[string]any {
	u, _ := embedded(m)["user"].(map[string]any)
	return u
}

// admin calls the management API under the environment.
func (e *env) admin(t *testing.T, method, path string, body any, wantStatus int, contentType ...string) map[string]any {
	t.Helper()
	req := apptest.Request{Method: method, URL: "/environments/" + e.fx.EnvID + path, Body: body, Token: e.s.AdminToken(t)}
	if len(contentType) > 0 {
		req.ContentType = contentType[0]
	}
	r := e.s.Do(t, req)
	if r.Status != wantStatus {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, r.Status, wantStatus, r.Body)
	}
	if len(r.Body) == 0 {
		return nil
	}
	return r.JSON(t)
}

// policy creates a sign-on policy with one action and returns its id.
func (e *env) policy(t *testing.T, name string, action map[string]any) string {
	t.Helper()
	id := e.admin(t, "POST", "/signOnPolicies", map[string]any{"name": name}, http.StatusCreated)["id"].(string)
	e.admin(t, "POST", "/signOnPolicies/"+id+"/actions", action, http.StatusCreated)
	return id
}

func (e *env) assign(t *testing.T, policyID string, priority int) {
	t.Helper()
	e.admin(t, "POST", "/applications/"+e.fx.AppID+"/signOnPolicyAssignments",
		map[string]any{"priority": priority, "signOnPolicy": map[string]any{"id": policyID}}, http.StatusCreated)
}

func (e *env) policyID(t *testing.T, name string) string {
	t.Helper()
	for _, p := range e.admin(t, "GET", "/signOnPolicies", nil, http.StatusOK)["_embedded"].(map[string]any)["signOnPolicies"].([]any) {
		if p := p.(map[string]any); p["name"] == name {
			return p["id"].(string)
		}
	}
	t.Fatalf("no sign-on policy %s", name)
	return ""
}

func (e *env) passwordState(t *testing.T, userID string) map[string]any {
	t.Helper()
	return e.admin(t, "GET", "/users/"+userID+"/password", nil, http.StatusOK)
}

func (e *env) lastCode(t *testing.T, email, kind string) string {
	t.Helper()
	m, ok := e.s.Mail.Last(email)
	if !ok || m.Kind != kind || !digits8.MatchString(m.Code) || m.EnvironmentID != e.fx.EnvID {
		t.Fatalf("mail to %s: %v %+v, want a %s code", email, ok, m, kind)
	}
	return m.Code
}

// wrongCode is an 8-digit code other than code.
func wrongCode(code string) string {
	if code == "00000000" {
		return "11111111"
	}
	return "00000000"
}

// completed checks a COMPLETED flow: the user, a stored session of that
// user, and the ST cookies that name it.
func completed(t *testing.T, e *env, r map[string]any, hdr http.Header, userID string) {
	t.Helper()
	if u := embeddedUser(r); u == nil || u["id"] != userID {
		t.Errorf("_embedded.user %v, want id %s", u, userID)
	}
	sess, _ := r["session"].(map[string]any)
	sid, _ := sess["id"].(string)
	if sid == "" {
		t.Fatalf("COMPLETED without a session: %v", r)
	}
	got, err := e.s.Store.GetSession(context.Background(), e.fx.EnvID, sid)
	if err != nil || got.UserID != userID {
		t.Errorf("session %s: %v %+v", sid, err, got)
	}
	if hdr != nil {
		sc := hdr.Values("Set-Cookie")
		if len(sc) != 2 || !strings.HasPrefix(sc[0], session.CookieST+"=") || !strings.HasPrefix(sc[1], session.CookieSTNoSS+"=") {
			t.Errorf("Set-Cookie %q", sc)
		}
	}
	wantLinks(t, r)
}

// stepDone posts an action that completes the flow and checks it.
func (f *fl) stepDone(t *testing.T, contentType string, body any, userID string) map[string]any {
	t.Helper()
	r := f.post(t, contentType, body)
	if r.status != http.StatusOK {
		t.Fatalf("%s: %d %s", contentType, r.status, r.body)
	}
	m := r.obj(t)
	if m["status"] != flow.StatusCompleted {
		t.Fatalf("%s: status %v, want COMPLETED: %s", contentType, m["status"], r.body)
	}
	completed(t, f.e, m, r.header, userID)
	return m
}

// signOn runs a whole sign-on in a new browser with password.
func (e *env) signOn(t *testing.T, username, password, userID string) {
	t.Helper()
	f, _ := e.start(t, nil, wire.StatusUsernamePasswordRequired)
	f.stepDone(t, ctCheck, creds(username, password), userID)
}

// parseTime reads a flow time (UTC, milliseconds).
func parseTime(t *testing.T, v any) time.Time {
	t.Helper()
	s, _ := v.(string)
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`).MatchString(s) {
		t.Fatalf("time %q is not PingOne's format", s)
	}
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// wantExpiry checks expiresAt is 15 minutes after a moment in
// [before, after] (the server truncates to milliseconds).
func wantExpiry(t *testing.T, m map[string]any, before, after time.Time) {
	t.Helper()
	exp := parseTime(t, m["expiresAt"])
	lo, hi := before.Add(flow.FlowIdle).Truncate(time.Millisecond), after.Add(flow.FlowIdle)
	if exp.Before(lo) || exp.After(hi) {
		t.Errorf("expiresAt %s, want between %s and %s", exp, lo, hi)
	}
}

// moveExpiry sets the stored flow's expiry.
func (e *env) moveExpiry(t *testing.T, flowID string, at time.Time) {
	t.Helper()
	ctx := context.Background()
	f, err := e.s.Store.GetFlow(ctx, e.fx.EnvID, flowID)
	if err != nil {
		t.Fatal(err)
	}
	f.ExpiresAt = at.UTC().Truncate(time.Millisecond)
	if err := e.s.Store.UpdateFlow(ctx, f); err != nil {
		t.Fatal(err)
	}
}

// ---- 1. lockout

func testLockout(t *testing.T, e *env) {
	fx := e.fx
	f, _ := e.start(t, nil, wire.StatusUsernamePasswordRequired)
	for _, left := range []int{4, 3, 2, 1} {
		wantErr(t, f.post(t, ctCheck, creds(fx.Username, wrongPassword)), http.StatusBadRequest, wire.CodeInvalidData, badCreds(left))
	}
	wantLocked(t, f.post(t, ctCheck, creds(fx.Username, wrongPassword)), "password", 900)
	// The right password does not open a lock.
	wantLocked(t, f.post(t, ctCheck, creds(fx.Username, fx.Password)), "password", 900)
	// Nor does another browser.
	g, _ := e.start(t, nil, wire.StatusUsernamePasswordRequired)
	wantLocked(t, g.post(t, ctCheck, creds(fx.Username, fx.Password)), "password", 900)
	if st := f.get(t)["status"]; st != wire.StatusUsernamePasswordRequired {
		t.Errorf("flow status %v after the lock", st)
	}

	pw := e.passwordState(t, fx.UserID)
	if secs, _ := pw["secondsUntilUnlock"].(float64); pw["status"] != "PASSWORD_LOCKED_OUT" || pw["failedLoginCount"] != float64(5) || secs <= 890 || secs > 900 {
		t.Errorf("password state %v, want PASSWORD_LOCKED_OUT, 5 failures, ~900 s", pw)
	}
	if acct := e.admin(t, "GET", "/users/"+fx.UserID, nil, http.StatusOK)["account"].(map[string]any); acct["status"] != "LOCKED" {
		t.Errorf("account %v, want LOCKED", acct)
	}

	// The lock runs out: move it into the past.
	ctx := context.Background()
	past := store.Now().Add(-time.Second)
	rec, err := e.s.Store.GetUserPassword(ctx, fx.EnvID, fx.UserID)
	if err != nil {
		t.Fatal(err)
	}
	rec.LockedUntil = past
	if err := e.s.Store.PutUserPassword(ctx, rec); err != nil {
		t.Fatal(err)
	}
	u, err := e.s.Store.GetUser(ctx, fx.EnvID, fx.UserID)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.s.Store.UpdateUserAccount(ctx, fx.EnvID, fx.UserID, u.AccountStatus, u.LockedAt, past, store.Now()); err != nil {
		t.Fatal(err)
	}
	// A run-out lock starts a fresh count, and the right password works.
	wantErr(t, f.post(t, ctCheck, creds(fx.Username, wrongPassword)), http.StatusBadRequest, wire.CodeInvalidData, badCreds(4))
	f.stepDone(t, ctCheck, creds(fx.Username, fx.Password), fx.UserID)
	pw = e.passwordState(t, fx.UserID)
	if pw["status"] != "OK" || pw["failedLoginCount"] != nil || pw["secondsUntilUnlock"] != nil {
		t.Errorf("password state after sign-on %v", pw)
	}
	if acct := e.admin(t, "GET", "/users/"+fx.UserID, nil, http.StatusOK)["account"].(map[string]any); acct["status"] != "OK" {
		t.Errorf("account %v, want OK", acct)
	}

	// The policy's lockout settings count at once: failureCount 3 for 60 s.
	polID := pw["passwordPolicy"].(map[string]any)["id"].(string)
	pol := e.admin(t, "GET", "/passwordPolicies/"+polID, nil, http.StatusOK)
	if pol["name"] != "Standard" {
		t.Fatalf("the user's policy is %v", pol["name"])
	}
	pol["lockout"] = map[string]any{"failureCount": 3, "durationSeconds": 60}
	e.admin(t, "PUT", "/passwordPolicies/"+polID, pol, http.StatusOK)
	h, _ := e.start(t, nil, wire.StatusUsernamePasswordRequired)
	for _, left := range []int{2, 1} {
		wantErr(t, h.post(t, ctCheck, creds(fx.Username, wrongPassword)), http.StatusBadRequest, wire.CodeInvalidData, badCreds(left))
	}
	wantLocked(t, h.post(t, ctCheck, creds(fx.Username, wrongPassword)), "password", 60)
}

// ---- 2. unknown usernames

func testUnknownUsername(t *testing.T, e *env) {
	ghost := "ghost." + uuid.NewString()[:8]
	real, _ := e.start(t, nil, wire.StatusUsernamePasswordRequired)
	phantom, _ := e.start(t, nil, wire.StatusUsernamePasswordRequired)
	dr := wantErr(t, real.post(t, ctCheck, creds(e.fx.Username, wrongPassword)), http.StatusBadRequest, wire.CodeInvalidData, badCreds(4))
	dp := wantErr(t, phantom.post(t, ctCheck, creds(ghost, wrongPassword)), http.StatusBadRequest, wire.CodeInvalidData, badCreds(4))
	if !reflect.DeepEqual(dr, dp) {
		t.Errorf("an unknown username answers differently:\n real %+v\n  unknown %+v", dr, dp)
	}
	for _, left := range []int{3, 2, 1} {
		wantErr(t, phantom.post(t, ctCheck, creds(ghost, wrongPassword)), http.StatusBadRequest, wire.CodeInvalidData, badCreds(left))
	}
	// Another unknown name in the same flow has its own count, as another
	// real user would: a shared count would tell the two kinds apart.
	ghost2 := "ghost2." + uuid.NewString()[:8]
	wantErr(t, phantom.post(t, ctCheck, creds(ghost2, wrongPassword)), http.StatusBadRequest, wire.CodeInvalidData, badCreds(4))
	wantLocked(t, phantom.post(t, ctCheck, creds(ghost, wrongPassword)), "password", 900)
	wantLocked(t, phantom.post(t, ctCheck, creds(strings.ToUpper(ghost), e.fx.Password)), "password", 900) // usernames ignore case
	wantErr(t, phantom.post(t, ctCheck, creds(ghost2, wrongPassword)), http.StatusBadRequest, wire.CodeInvalidData, badCreds(3))
	// A real user is not locked by someone's guesses at an unknown name.
	real.stepDone(t, ctCheck, creds(e.fx.Username, e.fx.Password), e.fx.UserID)
}

// ---- 3. actions the status does not allow

func testNotAllowed(t *testing.T, e *env) {
	fx := e.fx
	fresh, _ := e.start(t, nil, wire.StatusUsernamePasswordRequired)
	recovering, _ := e.start(t, nil, wire.StatusUsernamePasswordRequired)
	recovering.step(t, ctForgot, map[string]any{"username": fx.Username}, wire.StatusRecoveryCodeRequired)
	done, _ := e.start(t, nil, wire.StatusUsernamePasswordRequired)
	done.stepDone(t, ctCheck, creds(fx.Username, fx.Password), fx.UserID)

	upr := []string{ctCheck, ctForgot, ctReset} // the default policy: recovery on, registration off
	rcr := []string{ctRecover, ctSendCode, ctReset}
	for _, tc := range []struct {
		name    string
		f       *fl
		ct      string
		body    string
		allowed []string
	}{
		{"reset/USERNAME_PASSWORD_REQUIRED", fresh, ctPwReset, `{"currentPassword":"a","newPassword":"b"}`, upr},
		{"lookup/USERNAME_PASSWORD_REQUIRED", fresh, ctLookup, `{"username":"a"}`, upr},
		{"register/USERNAME_PASSWORD_REQUIRED", fresh, ctRegister, `{"username":"a","email":"a@example.com","password":"b"}`, upr},
		{"verify/USERNAME_PASSWORD_REQUIRED", fresh, ctVerify, `{"verificationCode":"12345678"}`, upr},
		{"recover/USERNAME_PASSWORD_REQUIRED", fresh, ctRecover, `{"recoveryCode":"12345678","newPassword":"b"}`, upr},
		{"sendRecoveryCode without +json/USERNAME_PASSWORD_REQUIRED", fresh, "application/vnd.pingidentity.password.sendRecoveryCode", `{}`, upr},
		{"sendVerificationCode/USERNAME_PASSWORD_REQUIRED", fresh, ctSendVer, `{}`, upr},
		{"check/RECOVERY_CODE_REQUIRED", recovering, ctCheck, `{"username":"a","password":"b"}`, rcr},
		{"forgot/RECOVERY_CODE_REQUIRED", recovering, ctForgot, `{"username":"a"}`, rcr},
		{"check/COMPLETED", done, ctCheck, `{"username":"a","password":"b"}`, nil},
		{"reset/COMPLETED", done, ctReset, `{}`, nil},
		{"forgot/COMPLETED", done, ctForgot, `{"username":"a"}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, tc.f.post(t, tc.ct, tc.body), http.StatusBadRequest, wire.CodeInvalidRequest, notAllowed(tc.allowed...))
		})
	}
	// Refusals change nothing.
	for f, st := range map[*fl]string{fresh: wire.StatusUsernamePasswordRequired, recovering: wire.StatusRecoveryCodeRequired, done: flow.StatusCompleted} {
		if got := f.get(t)["status"]; got != st {
			t.Errorf("flow %s: status %v, want %s", f.id, got, st)
		}
	}
}

// ---- 4. content types and bodies

func testContentTypeAndBody(t *testing.T, e *env) {
	f, _ := e.start(t, nil, wire.StatusUsernamePasswordRequired)
	ctDetail := &want{code: wire.DetailInvalidValue, target: "Content-Type"}
	wrong := string(jsonBody(t, creds("ghost."+uuid.NewString()[:8], wrongPassword)))
	big := `{"username":"a","password":"` + strings.Repeat("x", 16<<10) + `"}`
	long := `{"username":"a","password":"` + strings.Repeat("x", 15<<10) + `"}`
	limit := float64(16 << 10)
	for _, tc := range []struct {
		name   string
		ct     string
		body   string
		status int
		code   string
		detail *want
	}{
		{"application/json", "application/json", wrong, 415, wire.CodeInvalidRequest, ctDetail},
		{"form", "application/x-www-form-urlencoded", "username=a&password=b", 415, wire.CodeInvalidRequest, ctDetail},
		{"text/plain", "text/plain", wrong, 415, wire.CodeInvalidRequest, ctDetail},
		{"no Content-Type", "", wrong, 415, wire.CodeInvalidRequest, ctDetail},
		{"unparsable Content-Type", "application/vnd.pingidentity.usernamePassword.check+json; =", wrong, 415, wire.CodeInvalidRequest, ctDetail},
		{"unknown vendor action", "application/vnd.pingidentity.user.unlock+json", `{}`, 415, wire.CodeInvalidRequest, ctDetail},
		{"vendor prefix alone", "application/vnd.pingidentity.", `{}`, 415, wire.CodeInvalidRequest, ctDetail},
		// The action is dispatched: these are wrong passwords, counted.
		{"charset parameter", ctCheck + "; charset=UTF-8", wrong, 400, wire.CodeInvalidData, badCreds(4)},
		{"upper case", strings.ToUpper(ctCheck), wrong, 400, wire.CodeInvalidData, badCreds(3)},
		{"malformed JSON", ctCheck, `{"username":`, 400, wire.CodeInvalidRequest, &want{code: wire.DetailInvalidValue}},
		{"JSON array", ctCheck, `[]`, 400, wire.CodeInvalidRequest, &want{code: wire.DetailInvalidValue}},
		{"two JSON values", ctCheck, `{} {}`, 400, wire.CodeInvalidRequest, &want{code: wire.DetailInvalidValue}},
		{"wrong JSON type", ctCheck, `{"username":1,"password":"b"}`, 400, wire.CodeInvalidRequest, &want{code: wire.DetailInvalidValue}},
		{"no password", ctCheck, `{"username":"a"}`, 400, wire.CodeInvalidData, &want{code: wire.DetailRequiredValue, target: "password"}},
		{"empty body", ctCheck, ``, 400, wire.CodeInvalidData, nil},
		{"password over 1 KiB", ctCheck, long, 400, wire.CodeInvalidData, &want{code: wire.DetailSizeLimit, target: "password"}},
		{"body over 16 KiB", ctCheck, big, 413, wire.CodeInvalidRequest, &want{code: wire.DetailSizeLimit, inner: map[string]any{"maximumValue": limit}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.detail == nil {
				// Both fields are missing: two REQUIRED_VALUE details.
				r := f.post(t, tc.ct, tc.body)
				if r.status != tc.status {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
				e := decodeError(t, r)
				if e.Code != tc.code || len(e.Details) != 2 || e.Details[0].Target != "username" || e.Details[1].Target != "password" ||
					e.Details[0].Code != wire.DetailRequiredValue || e.Details[1].Code != wire.DetailRequiredValue {
					t.Errorf("body %s", r.body)
				}
				return
			}
			wantErr(t, f.post(t, tc.ct, tc.body), tc.status, tc.code, tc.detail)
		})
	}
	if st := f.get(t)["status"]; st != wire.StatusUsernamePasswordRequired {
		t.Errorf("status %v", st)
	}
}

// ---- 5. unknown, expired and foreign flows; the ST binding

func testNotFoundAndBinding(t *testing.T, e *env) {
	f, _ := e.start(t, nil, wire.StatusUsernamePasswordRequired)
	other := &env{s: e.s, fx: e.s.NewSignOn(t, apptest.SignOnOptions{})}
	g, _ := other.start(t, nil, wire.StatusUsernamePasswordRequired)
	stranger, _ := e.start(t, nil, wire.StatusUsernamePasswordRequired) // another browser's flow
	forged := &http.Cookie{Name: session.CookieST, Value: strings.Repeat("A", 43)}
	noCookie := &want{code: wire.DetailInvalidToken, target: "Cookie"}
	check := string(jsonBody(t, creds(e.fx.Username, e.fx.Password)))
	for _, tc := range []struct {
		name   string
		c      *http.Client
		url    string
		status int
		code   string
		detail *want
		cookie *http.Cookie
	}{
		{"unknown id", f.c, e.base() + "/flows/" + uuid.NewString(), 404, wire.CodeNotFound, nil, nil},
		{"malformed id", f.c, e.base() + "/flows/not-a-flow-id", 404, wire.CodeNotFound, nil, nil},
		{"upper-case id", f.c, e.base() + "/flows/" + strings.ToUpper(f.id), 404, wire.CodeNotFound, nil, nil},
		{"another environment's flow", f.c, other.base() + "/flows/" + f.id, 404, wire.CodeNotFound, nil, nil},
		{"this flow under another environment, its browser", g.c, other.base() + "/flows/" + f.id, 404, wire.CodeNotFound, nil, nil},
		{"unknown environment", f.c, e.s.URL + "/" + uuid.NewString() + "/flows/" + f.id, 404, wire.CodeNotFound, nil, nil},
		{"no cookie", browser(t), f.url, 401, wire.CodeAccessFailed, noCookie, nil},
		{"another browser's cookie", stranger.c, f.url, 401, wire.CodeAccessFailed, noCookie, nil},
		{"forged cookie", &http.Client{}, f.url, 401, wire.CodeAccessFailed, noCookie, forged},
	} {
		for _, method := range []string{"GET", "POST"} {
			t.Run(tc.name+"/"+method, func(t *testing.T) {
				var hdr []string
				if tc.cookie != nil {
					hdr = []string{"Cookie", tc.cookie.String()}
				}
				ct, body := "", []byte(nil)
				if method == "POST" {
					ct, body = ctCheck, []byte(check)
				}
				wantErr(t, send(t, tc.c, method, tc.url, ct, body, hdr...), tc.status, tc.code, tc.detail)
			})
		}
	}
	// None of that touched the flow, nor signed anyone on.
	if m := f.get(t); m["status"] != wire.StatusUsernamePasswordRequired || m["session"] != nil {
		t.Errorf("flow %v", m)
	}
	if m := g.get(t); m["status"] != wire.StatusUsernamePasswordRequired {
		t.Errorf("other flow %v", m)
	}

	// Expired: a flow past expiresAt is gone, for its own browser too.
	e.moveExpiry(t, f.id, store.Now().Add(-time.Millisecond))
	wantErr(t, send(t, f.c, "GET", f.url, "", nil), 404, wire.CodeNotFound, nil)
	wantErr(t, f.post(t, ctCheck, check), 404, wire.CodeNotFound, nil)
}

// ---- 6. a password that must change

func testMustChangePassword(t *testing.T, e *env) {
	fx := e.fx
	e.admin(t, "PUT", "/users/"+fx.UserID+"/password", map[string]any{"value": otherPassword, "forceChange": true}, http.StatusOK,
		"application/vnd.pingidentity.password.set+json")
	f, _ := e.start(t, nil, wire.StatusUsernamePasswordRequired)
	m := f.step(t, ctCheck, creds(fx.Username, otherPassword), wire.StatusMustChangePassword)
	wantLinks(t, m, wire.ActionPasswordReset, flow.ActionSessionReset)
	if m["session"] != nil {
		t.Errorf("a session before the password changed: %v", m["session"])
	}
	if u := embeddedUser(m); u["id"] != fx.UserID || u["username"] != fx.Username {
		t.Errorf("_embedded.user %v", u)
	}
	pp, _ := embedded(m)["passwordPolicy"].(map[string]any)
	for k, v := range map[string]any{
		"name": "Standard", "default": true, "environment": map[string]any{"id": fx.EnvID},
		"excludesProfileData": true, "notSimilarToCurrent": true, "excludesCommonlyUsed": true,
		"maxAgeDays": float64(182), "minAgeDays": float64(1), "maxRepeatedCharacters": float64(2), "minUniqueCharacters": float64(5),
		"history":       map[string]any{"count": float64(6), "retentionDays": float64(365)},
		"lockout":       map[string]any{"failureCount": float64(5), "durationSeconds": float64(900)},
		"length":        map[string]any{"min": float64(8), "max": float64(255)},
		"minCharacters": map[string]any{"~!@#$%^&*()-_=+[]{}|;:,.<>/?": float64(1), "0123456789": float64(1), "ABCDEFGHIJKLMNOPQRSTUVWXYZ": float64(1), "abcdefghijklmnopqrstuvwxyz": float64(1)},
	} {
		if !reflect.DeepEqual(pp[k], v) {
			t.Errorf("_embedded.passwordPolicy.%s = %v, want %v", k, pp[k], v)
		}
	}
	if id, _ := pp["id"].(string); uuid.Validate(id) != nil {
		t.Errorf("_embedded.passwordPolicy.id %v", pp["id"])
	}

	for _, tc := range []struct {
		name   string
		body   map[string]any
		detail *want
	}{
		{"wrong current password", map[string]any{"currentPassword": wrongPassword, "newPassword": newPassword}, invalidValue("currentPassword")},
		{"weak new password", map[string]any{"currentPassword": otherPassword, "newPassword": weakPassword},
			&want{code: wire.DetailInvalidValue, target: "newPassword", inner: map[string]any{"unsatisfiedRequirements": []any{"length", "minCharacters"}}}},
		{"new password is the current one", map[string]any{"currentPassword": otherPassword, "newPassword": otherPassword},
			&want{code: wire.DetailInvalidValue, target: "newPassword", inner: map[string]any{"unsatisfiedRequirements": []any{"notSimilarToCurrent", "history"}}}},
		{"no new password", map[string]any{"currentPassword": otherPassword}, &want{code: wire.DetailRequiredValue, target: "newPassword"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, f.post(t, ctPwReset, tc.body), http.StatusBadRequest, wire.CodeInvalidData, tc.detail)
		})
	}
	if st := f.get(t)["status"]; st != wire.StatusMustChangePassword {
		t.Fatalf("status %v after refusals", st)
	}
	f.stepDone(t, ctPwReset, map[string]any{"currentPassword": otherPassword, "newPassword": newPassword}, fx.UserID)
	if st := e.passwordState(t, fx.UserID)["status"]; st != "OK" {
		t.Errorf("password status %v", st)
	}
	// The old password is gone; the new one signs on without a detour.
	g, _ := e.start(t, nil, wire.StatusUsernamePasswordRequired)
	wantErr(t, g.post(t, ctCheck, creds(fx.Username, otherPassword)), http.StatusBadRequest, wire.CodeInvalidData, badCreds(4))
	g.stepDone(t, ctCheck, creds(fx.Username, newPassword), fx.UserID)
}

// ---- 7. password recovery

func testRecovery(t *testing.T, e *env) {
	fx := e.fx
	f, _ := e.start(t, nil, wire.StatusUsernamePasswordRequired)
	// A locked-out user recovers.
	for range 4 {
		f.post(t, ctCheck, creds(fx.Username, wrongPassword))
	}
	wantLocked(t, f.post(t, ctCheck, creds(fx.Username, wrongPassword)), "password", 900)

	wantErr(t, f.post(t, ctForgot, `{}`), http.StatusBadRequest, wire.CodeInvalidData, &want{code: wire.DetailRequiredValue, target: "username"})
	sent := e.s.Mail.Count()
	m := f.step(t, ctForgot, map[string]any{"username": fx.Username}, wire.StatusRecoveryCodeRequired)
	wantLinks(t, m, wire.ActionPasswordRecover, wire.ActionPasswordSendRecoveryCode, flow.ActionSessionReset)
	if u := embeddedUser(m); !reflect.DeepEqual(u, map[string]any{"username": fx.Username}) {
		t.Errorf("_embedded.user %v, want the username alone", u)
	}
	if embedded(m)["passwordPolicy"] == nil {
		t.Errorf("no _embedded.passwordPolicy")
	}
	if e.s.Mail.Count() != sent+1 {
		t.Errorf("%d messages sent, want 1", e.s.Mail.Count()-sent)
	}
	first := e.lastCode(t, fx.Email, "recovery")
	wrongCodeDetail := invalidValue("recoveryCode")
	wantErr(t, f.post(t, ctRecover, map[string]any{"recoveryCode": wrongCode(first), "newPassword": newPassword}),
		http.StatusBadRequest, wire.CodeInvalidData, wrongCodeDetail)

	// A new code (PingOne documents the type without +json too) voids the first.
	m = f.step(t, "application/vnd.pingidentity.password.sendRecoveryCode", nil, wire.StatusRecoveryCodeRequired)
	second := e.lastCode(t, fx.Email, "recovery")
	if second == first {
		t.Fatalf("the same code was sent again")
	}
	wantErr(t, f.post(t, ctRecover, map[string]any{"recoveryCode": first, "newPassword": newPassword}),
		http.StatusBadRequest, wire.CodeInvalidData, wrongCodeDetail)
	wantErr(t, f.post(t, ctRecover, map[string]any{"recoveryCode": second, "newPassword": weakPassword}), http.StatusBadRequest, wire.CodeInvalidData,
		&want{code: wire.DetailInvalidValue, target: "newPassword", inner: map[string]any{"unsatisfiedRequirements": []any{"length", "minCharacters"}}})
	wantErr(t, f.post(t, ctRecover, map[string]any{"recoveryCode": second}), http.StatusBadRequest, wire.CodeInvalidData,
		&want{code: wire.DetailRequiredValue, target: "newPassword"})
	f.stepDone(t, ctRecover, map[string]any{"recoveryCode": second, "newPassword": newPassword}, fx.UserID)
	pw := e.passwordState(t, fx.UserID)
	if pw["status"] != "OK" || pw["failedLoginCount"] != nil {
		t.Errorf("password state after recovery %v", pw)
	}
	g, _ := e.start(t, nil, wire.StatusUsernamePasswordRequired)
	wantErr(t, g.post(t, ctCheck, creds(fx.Username, fx.Password)), http.StatusBadRequest, wire.CodeInvalidData, badCreds(4))
	g.stepDone(t, ctCheck, creds(fx.Username, newPassword), fx.UserID)

	// An unknown username gets the same answers, and no mail goes out.
	ghost := "ghost." + uuid.NewString()[:8]
	h, _ := e.start(t, nil, wire.StatusUsernamePasswordRequired)
	sent = e.s.Mail.Count()
	m = h.step(t, ctForgot, map[string]any{"username": ghost}, wire.StatusRecoveryCodeRequired)
	wantLinks(t, m, wire.ActionPasswordRecover, wire.ActionPasswordSendRecoveryCode, flow.ActionSessionReset)
	if u := embeddedUser(m); !reflect.DeepEqual(u, map[string]any{"username": ghost}) {
		t.Errorf("_embedded.user %v", u)
	}
	if embedded(m)["passwordPolicy"] == nil {
		t.Errorf("no _embedded.passwordPolicy for an unknown username")
	}
	wantErr(t, h.post(t, ctRecover, map[string]any{"recoveryCode": "12345678", "newPassword": newPassword}),
		http.StatusBadRequest, wire.CodeInvalidData, wrongCodeDetail)
	h.step(t, ctSendCode, `{}`, wire.StatusRecoveryCodeRequired)
	if n := e.s.Mail.Count() - sent; n != 0 {
		t.Errorf("%d messages sent for an unknown username", n)
	}
	// session.reset goes back to the first status and forgets the name.
	m = h.step(t, ctReset, nil, wire.StatusUsernamePasswordRequired)
	wantLinks(t, m, wire.ActionUsernamePasswordCheck, wire.ActionPasswordForgot, flow.ActionSessionReset)
	if u := embeddedUser(m); u != nil {
		t.Errorf("_embedded.user %v after session.reset", u)
	}
}

// ---- 8. registration

func testRegistration(t *testing.T, e *env) {
	fx := e.fx
	tag := uuid.NewString()[:8]
	popID := e.admin(t, "POST", "/populations", map[string]any{"name": "Registered_" + tag}, http.StatusCreated)["id"].(string)
	polID := e.policy(t, "Register_"+tag, map[string]any{"type": "LOGIN", "priority": 1,
		"registration": map[string]any{"enabled": true, "population": map[string]any{"id": popID}}})
	e.assign(t, polID, 1)

	f, m := e.start(t, nil, wire.StatusUsernamePasswordRequired)
	wantLinks(t, m, wire.ActionUsernamePasswordCheck, wire.ActionPasswordForgot, wire.ActionUserRegister, flow.ActionSessionReset)
	if embedded(m)["passwordPolicy"] == nil {
		t.Errorf("no _embedded.passwordPolicy when registration is offered")
	}
	username, email := "new."+tag, "new."+tag+"@example.com"
	reg := func(username, email, password string) map[string]any {
		return map[string]any{"username": username, "email": email, "password": password, "name": map[string]any{"given": "Nia", "family": "Newcomer"}}
	}
	for _, tc := range []struct {
		name   string
		body   map[string]any
		detail *want
	}{
		{"taken username", reg(fx.Username, email, newPassword), &want{code: wire.DetailUniqueness, target: "username"}},
		{"taken username in other case", reg(strings.ToUpper(fx.Username), email, newPassword), &want{code: wire.DetailUniqueness, target: "username"}},
		{"bad email", reg(username, "not-an-email", newPassword), invalidValue("email")},
		{"blank email", reg(username, "   ", newPassword), invalidValue("email")},
		// PingOne allows spaces in usernames, not control characters
		// ("Characters supported in PingOne user attributes").
		{"bad username", reg("has\ttab", email, newPassword), invalidValue("username")},
		{"weak password", reg(username, email, weakPassword),
			&want{code: wire.DetailInvalidValue, target: "password", inner: map[string]any{"unsatisfiedRequirements": []any{"length", "minCharacters"}}}},
		{"no email", map[string]any{"username": username, "password": newPassword}, &want{code: wire.DetailRequiredValue, target: "email"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, f.post(t, ctRegister, tc.body), http.StatusBadRequest, wire.CodeInvalidData, tc.detail)
		})
	}
	m = f.step(t, ctRegister, reg(username, email, newPassword), wire.StatusVerificationCodeRequired)
	wantLinks(t, m, wire.ActionUserVerify, wire.ActionUserSendVerificationCode, flow.ActionSessionReset)
	if m["session"] != nil {
		t.Errorf("a session before verification: %v", m["session"])
	}
	u := embeddedUser(m)
	userID, _ := u["id"].(string)
	if uuid.Validate(userID) != nil || u["username"] != username {
		t.Fatalf("_embedded.user %v", u)
	}
	first := e.lastCode(t, email, "verification")
	wantErr(t, f.post(t, ctVerify, map[string]any{"verificationCode": wrongCode(first)}), http.StatusBadRequest, wire.CodeInvalidData, invalidValue("verificationCode"))
	f.step(t, ctSendVer, `{}`, wire.StatusVerificationCodeRequired)
	second := e.lastCode(t, email, "verification")
	if second == first {
		t.Fatalf("the same code was sent again")
	}
	wantErr(t, f.post(t, ctVerify, map[string]any{"verificationCode": first}), http.StatusBadRequest, wire.CodeInvalidData, invalidValue("verificationCode"))
	f.stepDone(t, ctVerify, map[string]any{"verificationCode": second}, userID)

	got := e.admin(t, "GET", "/users/"+userID, nil, http.StatusOK)
	for k, v := range map[string]any{
		"username": username, "email": email, "population": map[string]any{"id": popID},
		"lifecycle": map[string]any{"status": "ACCOUNT_OK"}, "enabled": true,
	} {
		if !reflect.DeepEqual(got[k], v) {
			t.Errorf("user %s = %v, want %v", k, got[k], v)
		}
	}
	e.signOn(t, username, newPassword, userID)
}

// ---- 9. identifier first

func testIdentifierFirst(t *testing.T, e *env) {
	fx := e.fx
	e.assign(t, e.policy(t, "Identifier_First_"+uuid.NewString()[:8], map[string]any{"type": "IDENTIFIER_FIRST", "priority": 1}), 1)
	ghost := "ghost." + uuid.NewString()[:8]

	var shapes [2][]string
	for i, tc := range []struct {
		name     string
		username string
	}{{"known user", fx.Username}, {"unknown user", ghost}} {
		t.Run(tc.name, func(t *testing.T) {
			f, m := e.start(t, nil, wire.StatusSignOnRequired)
			wantLinks(t, m, wire.ActionUserLookup, wire.ActionPasswordForgot, flow.ActionSessionReset)
			wantErr(t, f.post(t, ctLookup, `{}`), http.StatusBadRequest, wire.CodeInvalidData, &want{code: wire.DetailRequiredValue, target: "username"})
			m = f.step(t, ctLookup, map[string]any{"username": tc.username}, wire.StatusPasswordRequired)
			wantLinks(t, m, wire.ActionUsernamePasswordCheck, wire.ActionPasswordForgot, flow.ActionSessionReset)
			if u := embeddedUser(m); !reflect.DeepEqual(u, map[string]any{"username": tc.username}) {
				t.Errorf("_embedded.user %v, want the username alone", u)
			}
			shapes[i] = keyShape(m)
			// A username sent now must be the one looked up.
			wantErr(t, f.post(t, ctCheck, creds("someone.else", fx.Password)), http.StatusBadRequest, wire.CodeInvalidData, invalidValue("username"))
			wantErr(t, f.post(t, ctForgot, map[string]any{"username": "someone.else"}), http.StatusBadRequest, wire.CodeInvalidData, invalidValue("username"))
			wantErr(t, f.post(t, ctCheck, map[string]any{"password": wrongPassword}), http.StatusBadRequest, wire.CodeInvalidData, badCreds(4))
			if tc.username == ghost {
				wantErr(t, f.post(t, ctCheck, map[string]any{"password": fx.Password}), http.StatusBadRequest, wire.CodeInvalidData, badCreds(3))
				// session.reset: back to SIGN_ON_REQUIRED, the name forgotten.
				m = f.step(t, ctReset, `{}`, wire.StatusSignOnRequired)
				if u := embeddedUser(m); u != nil {
					t.Errorf("_embedded.user %v after session.reset", u)
				}
				f.step(t, ctLookup, map[string]any{"username": fx.Username}, wire.StatusPasswordRequired)
			}
			f.stepDone(t, ctCheck, map[string]any{"password": fx.Password}, fx.UserID)
		})
	}
	if !slices.Equal(shapes[0], shapes[1]) {
		t.Errorf("PASSWORD_REQUIRED differs between a known and an unknown user:\n%v\n%v", shapes[0], shapes[1])
	}
}

// testRecoveryEligibility: a user who may not recover a password (here:
// disabled) gets no code, neither from password.forgot nor from
// password.sendRecoveryCode, even in a flow that already knows the user
// (after user.lookup); and no code sets a password.
func testRecoveryEligibility(t *testing.T, e *env) {
	fx := e.fx
	e.assign(t, e.policy(t, "Identifier_First_"+uuid.NewString()[:8], map[string]any{"type": "IDENTIFIER_FIRST", "priority": 1}), 1)
	e.admin(t, "PUT", "/users/"+fx.UserID+"/enabled", map[string]any{"enabled": false}, http.StatusOK)
	before := e.passwordState(t, fx.UserID)
	f, _ := e.start(t, nil, wire.StatusSignOnRequired)
	f.step(t, ctLookup, map[string]any{"username": fx.Username}, wire.StatusPasswordRequired)
	sent := e.s.Mail.Count()
	f.step(t, ctForgot, `{}`, wire.StatusRecoveryCodeRequired)
	f.step(t, ctSendCode, `{}`, wire.StatusRecoveryCodeRequired)
	if n := e.s.Mail.Count() - sent; n != 0 {
		t.Errorf("%d codes sent to a disabled user", n)
	}
	for _, guess := range []string{"00000000", "12345678"} {
		wantErr(t, f.post(t, ctRecover, map[string]any{"recoveryCode": guess, "newPassword": newPassword}), http.StatusBadRequest,
			wire.CodeInvalidData, invalidValue("recoveryCode"))
	}
	if after := e.passwordState(t, fx.UserID); !reflect.DeepEqual(after, before) {
		t.Errorf("the password changed:\nbefore %v\nafter  %v", before, after)
	}
}

// keyShape lists a flow's key paths, leaving out values.
func keyShape(m map[string]any) []string {
	var out []string
	var walk func(string, any)
	walk = func(p string, v any) {
		if x, ok := v.(map[string]any); ok {
			for k, c := range x {
				walk(p+"."+k, c)
			}
			return
		}
		out = append(out, p)
	}
	walk("", m)
	slices.Sort(out)
	return out
}

// ---- 10. which policy runs

func testPolicySelection(t *testing.T, e *env) {
	ifName := "Identifier_First_" + uuid.NewString()[:8]
	ifID := e.policy(t, ifName, map[string]any{"type": "IDENTIFIER_FIRST", "priority": 1})
	oauthErr := func(t *testing.T, r *resp, code string) {
		t.Helper()
		var body map[string]string
		dec := json.NewDecoder(bytes.NewReader(r.body))
		if r.status != http.StatusBadRequest || dec.Decode(&body) != nil || len(body) != 2 || body["error"] != code || body["error_description"] == "" {
			t.Errorf("want 400 {error: %s, error_description}, got %d %s", code, r.status, r.body)
		}
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
	}
	type acrCase struct {
		acr    string
		status string // "" = invalid_request
	}
	run := func(t *testing.T, cases []acrCase) {
		for _, tc := range cases {
			t.Run("acr="+tc.acr, func(t *testing.T) {
				q := url.Values{}
				if tc.acr != "" {
					q.Set("acr_values", tc.acr)
				}
				if tc.status == "" {
					oauthErr(t, e.authorize(t, browser(t), q), "invalid_request")
					return
				}
				e.start(t, q, tc.status)
			})
		}
	}
	// No assignment: the default policy, which acr_values may name.
	run(t, []acrCase{
		{"", wire.StatusUsernamePasswordRequired},
		{"Single_Factor", wire.StatusUsernamePasswordRequired},
		{ifName, ""},
		{"Nope", ""},
	})
	e.assign(t, ifID, 1)
	e.assign(t, e.policyID(t, "Single_Factor"), 2)
	run(t, []acrCase{
		{"", wire.StatusSignOnRequired}, // the first assignment
		{"Single_Factor", wire.StatusUsernamePasswordRequired},
		{ifName, wire.StatusSignOnRequired},
		{"Nope Single_Factor", wire.StatusUsernamePasswordRequired},
		{"Single_Factor " + ifName, wire.StatusUsernamePasswordRequired},
		{"Nope", ""},
		{"Multi_Factor", ""}, // exists, but not assigned
	})

	// session.reset returns to the policy's first status.
	f, _ := e.start(t, url.Values{"acr_values": {ifName}}, wire.StatusSignOnRequired)
	f.step(t, ctLookup, map[string]any{"username": e.fx.Username}, wire.StatusPasswordRequired)
	// password.forgot needs no username once the user is looked up.
	sent := e.s.Mail.Count()
	f.step(t, ctForgot, `{}`, wire.StatusRecoveryCodeRequired)
	if e.s.Mail.Count() != sent+1 {
		t.Errorf("%d messages sent, want 1", e.s.Mail.Count()-sent)
	}
	e.lastCode(t, e.fx.Email, "recovery")
	m := f.step(t, ctReset, nil, wire.StatusSignOnRequired)
	wantLinks(t, m, wire.ActionUserLookup, wire.ActionPasswordForgot, flow.ActionSessionReset)
	g, _ := e.start(t, url.Values{"acr_values": {"Single_Factor"}}, wire.StatusUsernamePasswordRequired)
	g.step(t, ctForgot, map[string]any{"username": e.fx.Username}, wire.StatusRecoveryCodeRequired)
	g.step(t, ctReset, `{}`, wire.StatusUsernamePasswordRequired)
}

// ---- prompt=none

func testPromptNone(t *testing.T, e *env) {
	c := browser(t)
	r := e.authorize(t, c, url.Values{"prompt": {"none"}})
	var body map[string]string
	if err := json.Unmarshal(r.body, &body); err != nil || r.status != http.StatusBadRequest || len(body) != 2 ||
		body["error"] != "login_required" || body["error_description"] == "" {
		t.Errorf("prompt=none without a session: %d %s", r.status, r.body)
	}
	// With a session, prompt=none completes at once.
	f, _ := e.startIn(t, c, nil, wire.StatusUsernamePasswordRequired)
	done := f.stepDone(t, ctCheck, creds(e.fx.Username, e.fx.Password), e.fx.UserID)
	_, m := e.startIn(t, c, url.Values{"prompt": {"none"}}, flow.StatusCompleted)
	if m["session"].(map[string]any)["id"] != done["session"].(map[string]any)["id"] {
		t.Errorf("prompt=none session %v, want %v", m["session"], done["session"])
	}
}

// ---- 11. expiry slides with activity

func testExpirySlides(t *testing.T, e *env) {
	before := time.Now()
	f, m := e.start(t, nil, wire.StatusUsernamePasswordRequired)
	wantExpiry(t, m, before, time.Now())
	created := m["createdAt"]
	ghost := "ghost." + uuid.NewString()[:8]
	// Every step slides the expiry, failed ones too, for known and unknown
	// usernames alike (else a GET would tell which names exist).
	for _, tc := range []struct {
		name string
		ct   string
		body any
		ok   bool
	}{
		{"wrong password", ctCheck, creds(e.fx.Username, wrongPassword), false},
		{"unknown username", ctCheck, creds(ghost, wrongPassword), false},
		{"password.forgot", ctForgot, map[string]any{"username": e.fx.Username}, true},
		{"session.reset", ctReset, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.moveExpiry(t, f.id, store.Now().Add(time.Minute))
			before := time.Now()
			r := f.post(t, tc.ct, tc.body)
			after := time.Now()
			if (r.status == http.StatusOK) != tc.ok {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if tc.ok {
				wantExpiry(t, r.obj(t), before, after)
			}
			m := f.get(t)
			wantExpiry(t, m, before, after)
			if m["createdAt"] != created {
				t.Errorf("createdAt %v, want %v", m["createdAt"], created)
			}
		})
	}
}
