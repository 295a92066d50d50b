package authsvc_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/pquerna/otp/totp"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
)

// mfaFixture is an environment whose application signs on with the
// default Multi_Factor policy (LOGIN, then MULTI_FACTOR_AUTHENTICATION),
// and a user with MFA enabled.
type mfaFixture struct {
	s        *apptest.Server
	fx       *apptest.SignOn
	admin    string
	provider *oidc.Provider
	conf     oauth2.Config
	mfaActID string // the Multi_Factor policy's MFA action
	mfaPolID string
}

func newMFAFixture(t testing.TB, dsn string, opts ...apptest.Options) *mfaFixture {
	t.Helper()
	o := apptest.Options{}
	if len(opts) > 0 {
		o = opts[0]
	}
	o.DSN = dsn
	s := apptest.Start(t, o)
	x := &mfaFixture{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{}), admin: s.AdminToken(t)}
	env := "/environments/" + x.fx.EnvID
	pols := s.Do(t, apptest.Request{Method: "GET", URL: env + "/signOnPolicies", Token: x.admin})
	for _, p := range pols.JSON(t)["_embedded"].(map[string]any)["signOnPolicies"].([]any) {
		if p := p.(map[string]any); p["name"] == "Multi_Factor" {
			x.mfaPolID = p["id"].(string)
		}
	}
	r := s.Do(t, apptest.Request{Method: "POST", URL: env + "/applications/" + x.fx.AppID + "/signOnPolicyAssignments",
		Token: x.admin, Body: map[string]any{"priority": 1, "signOnPolicy": map[string]string{"id": x.mfaPolID}}})
	if r.Status != http.StatusCreated {
		t.Fatalf("assign: %d %s", r.Status, r.Body)
	}
	acts := s.Do(t, apptest.Request{Method: "GET", URL: env + "/signOnPolicies/" + x.mfaPolID + "/actions", Token: x.admin})
	for _, a := range acts.JSON(t)["_embedded"].(map[string]any)["actions"].([]any) {
		if a := a.(map[string]any); a["type"] == "MULTI_FACTOR_AUTHENTICATION" {
			x.mfaActID = a["id"].(string)
		}
	}
	x.setMFAEnabled(t, x.fx.UserID, true)
	var err error
	if x.provider, err = oidc.NewProvider(context.Background(), s.URL+"/"+x.fx.EnvID+"/as"); err != nil {
		t.Fatal(err)
	}
	x.conf = oauth2.Config{ClientID: x.fx.AppID, ClientSecret: x.fx.AppSecret, Endpoint: x.provider.Endpoint(),
		RedirectURL: x.fx.RedirectURI, Scopes: []string{oidc.ScopeOpenID, "profile", "email"}}
	return x
}

func (x *mfaFixture) setMFAEnabled(t testing.TB, userID string, on bool) {
	t.Helper()
	r := x.s.Do(t, apptest.Request{Method: "PUT", URL: "/environments/" + x.fx.EnvID + "/users/" + userID + "/mfaEnabled",
		Token: x.admin, Body: map[string]any{"mfaEnabled": on}})
	if r.Status != http.StatusOK {
		t.Fatalf("mfaEnabled: %d %s", r.Status, r.Body)
	}
}

// device creates an active device of userID as an administrator does.
func (x *mfaFixture) device(t testing.TB, userID string, body map[string]any) string {
	t.Helper()
	r := x.s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + x.fx.EnvID + "/users/" + userID + "/devices",
		Token: x.admin, Body: body})
	if r.Status != http.StatusCreated {
		t.Fatalf("device: %d %s", r.Status, r.Body)
	}
	return r.JSON(t)["id"].(string)
}

// setMFAAction replaces the Multi_Factor policy's MFA action's settings.
func (x *mfaFixture) setMFAAction(t *testing.T, body map[string]any) {
	t.Helper()
	body["type"], body["priority"] = "MULTI_FACTOR_AUTHENTICATION", 2
	r := x.s.Do(t, apptest.Request{Method: "PUT", URL: "/environments/" + x.fx.EnvID + "/signOnPolicies/" + x.mfaPolID + "/actions/" + x.mfaActID,
		Token: x.admin, Body: body})
	if r.Status != http.StatusOK {
		t.Fatalf("action: %d %s", r.Status, r.Body)
	}
}

// mfaFlow is one browser's sign-on.
type mfaFlow struct {
	x        *mfaFixture
	c        *http.Client
	verifier string
	url      string
	last     map[string]any
}

// signOn authorizes with pi.flow and sends the user's password: the flow
// as the password left it.
func (x *mfaFixture) signOn(t *testing.T, username string) *mfaFlow {
	t.Helper()
	f := &mfaFlow{x: x, c: browser(t), verifier: oauth2.GenerateVerifier()}
	authURL := x.conf.AuthCodeURL("st-mfa", oauth2.S256ChallengeOption(f.verifier), oidc.Nonce("n-mfa"),
		oauth2.SetAuthURLParam("response_mode", "pi.flow"))
	h := call(t, f.c, "GET", authURL, "", "")
	wantStatus(t, h, http.StatusOK)
	fl := h.json(t)
	f.url = fl["_links"].(map[string]any)["self"].(map[string]any)["href"].(string)
	f.post(t, "usernamePassword.check", `{"username":"`+username+`","password":"`+x.fx.Password+`"}`, http.StatusOK)
	return f
}

// post runs an action and checks its status code; a 200 is the new flow.
func (f *mfaFlow) post(t *testing.T, action, body string, want int) *hop {
	t.Helper()
	h := call(t, f.c, "POST", f.url, "application/vnd.pingidentity."+action+"+json", body)
	wantStatus(t, h, want)
	if want == http.StatusOK {
		f.last = h.json(t)
	}
	return h
}

func (f *mfaFlow) get(t *testing.T) map[string]any {
	t.Helper()
	h := call(t, f.c, "GET", f.url, "", "")
	wantStatus(t, h, http.StatusOK)
	f.last = h.json(t)
	return f.last
}

func (f *mfaFlow) status() string { return f.last["status"].(string) }

func (f *mfaFlow) links() []string {
	var ks []string
	for k := range f.last["_links"].(map[string]any) {
		if k != "self" && k != "signOnPage" {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	return ks
}

func (f *mfaFlow) devices() []map[string]any {
	var out []map[string]any
	emb, _ := f.last["_embedded"].(map[string]any)
	ds, _ := emb["devices"].([]any)
	for _, d := range ds {
		out = append(out, d.(map[string]any))
	}
	return out
}

// finish resumes a COMPLETED flow and exchanges the code: the ID token's
// acr and amr, verified by go-oidc (see claims).
func (f *mfaFlow) finish(t *testing.T) (acr string, amr []string) {
	t.Helper()
	_, _, acr, amr = f.claims(t)
	return acr, amr
}

// mailedCode is the newest passcode the memory notifier holds for to.
func (x *mfaFixture) mailedCode(t *testing.T, to string) string {
	t.Helper()
	m, ok := x.s.Mail.Last(to)
	if !ok || m.Code == "" {
		t.Fatalf("no code mailed to %s", to)
	}
	return m.Code
}

// wantDetail checks a 400 INVALID_DATA body's first detail.
func wantDetail(t *testing.T, h *hop, code, target string) map[string]any {
	t.Helper()
	b := h.json(t)
	ds, _ := b["details"].([]any)
	if b["code"] != "INVALID_DATA" || len(ds) == 0 {
		t.Fatalf("error %s, want INVALID_DATA with details", h.body)
	}
	d := ds[0].(map[string]any)
	if d["code"] != code || d["target"] != target {
		t.Fatalf("detail %v, want %s on %s", d, code, target)
	}
	ie, _ := d["innerError"].(map[string]any)
	return ie
}

var wantAMREmail = []string{"pwd", "otp", "mfa"}

// TestMFAEmail is the acceptance path: the default Multi_Factor
// policy, a user with an email device, the password, the passcode the
// notifier got, COMPLETED, resume, and tokens whose amr holds both
// factors and whose acr is the policy.
func TestMFAEmail(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newMFAFixture(t, be.DSN(t))
			dev := x.device(t, x.fx.UserID, map[string]any{"type": "EMAIL", "email": x.fx.Email, "status": "ACTIVE"})
			f := x.signOn(t, x.fx.Username)
			// The default policy picks the user's first device and sends
			// its passcode at once.
			if f.status() != "OTP_REQUIRED" || !slices.Equal(f.links(), []string{"device.select", "otp.check", "session.reset"}) {
				t.Fatalf("after the password: %s %v", f.status(), f.links())
			}
			if sel, _ := f.last["selectedDevice"].(map[string]any); sel["id"] != dev || f.last["bypassAllowed"] != false {
				t.Errorf("selectedDevice %v bypassAllowed %v", f.last["selectedDevice"], f.last["bypassAllowed"])
			}
			ds := f.devices()
			if len(ds) != 1 || ds[0]["id"] != dev || ds[0]["type"] != "EMAIL" || ds[0]["status"] != "ACTIVE" ||
				ds[0]["email"] != mfa.MaskEmail(x.fx.Email) || ds[0]["userRetries"] != 0.0 {
				t.Errorf("_embedded.devices %v", ds)
			}
			if u := f.last["_embedded"].(map[string]any)["user"].(map[string]any); u["id"] != x.fx.UserID {
				t.Errorf("_embedded.user %v", u)
			}
			code := x.mailedCode(t, x.fx.Email)
			// Asking again at once is too soon: nothing is sent.
			sent := x.s.Mail.Count()
			wantDetail(t, f.post(t, "device.select", `{"device":{"id":"`+dev+`"}}`, http.StatusBadRequest), "INVALID_VALUE", "device.id")
			if x.s.Mail.Count() != sent {
				t.Errorf("a refused resend sent a passcode")
			}
			f.post(t, "otp.check", `{"otp":"`+code+`"}`, http.StatusOK)
			acr, amr := f.finish(t)
			if acr != "Multi_Factor" || !slices.Equal(amr, wantAMREmail) {
				t.Errorf("acr %q amr %v, want Multi_Factor %v", acr, amr, wantAMREmail)
			}

			// The session now satisfies both actions: a second authorize
			// in the same browser completes at once; the code is spent.
			g := &mfaFlow{x: x, c: f.c, verifier: oauth2.GenerateVerifier()}
			h := call(t, g.c, "GET", x.conf.AuthCodeURL("s2", oauth2.S256ChallengeOption(g.verifier), oauth2.SetAuthURLParam("response_mode", "pi.flow")), "", "")
			wantStatus(t, h, http.StatusOK)
			if g.last = h.json(t); g.status() != "COMPLETED" {
				t.Errorf("second authorize: %s", g.status())
			}
		})
	}
}

// TestMFAWrongCodes: a wrong passcode is refused with the attempts left
// and changes nothing else; the right one still signs on. Enough wrong
// ones lock the user's MFA: even the right code is then refused.
func TestMFAWrongCodes(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newMFAFixture(t, be.DSN(t))
			x.device(t, x.fx.UserID, map[string]any{"type": "EMAIL", "email": x.fx.Email, "status": "ACTIVE"})
			f := x.signOn(t, x.fx.Username)
			code := x.mailedCode(t, x.fx.Email)
			wrong := "000000"
			if code == wrong {
				wrong = "111111"
			}
			ie := wantDetail(t, f.post(t, "otp.check", `{"otp":"`+wrong+`"}`, http.StatusBadRequest), "INVALID_OTP", "otp")
			if n, ok := ie["failuresRemaining"].(float64); !ok || n < 1 {
				t.Errorf("innerError %v", ie)
			}
			if fl := f.get(t); fl["status"] != "OTP_REQUIRED" {
				t.Errorf("after a wrong code: %s", fl["status"])
			}
			// Bad bodies: refused, nothing counted.
			for _, body := range []string{`{"otp":12}`, `[`, `{}`, `{"otp":""}`} {
				h := call(t, f.c, "POST", f.url, "application/vnd.pingidentity.otp.check+json", body)
				if h.status != http.StatusBadRequest {
					t.Errorf("%s: %d %s", body, h.status, h.body)
				}
			}
			f.post(t, "otp.check", `{"otp":"`+code+`"}`, http.StatusOK)
			if _, amr := f.finish(t); !slices.Equal(amr, wantAMREmail) {
				t.Errorf("amr %v", amr)
			}

			// Lockout: with the MFA settings' lockout of 3 wrong codes in a
			// row, the third locks the user's MFA.
			r := x.s.Do(t, apptest.Request{Method: "PUT", URL: "/environments/" + x.fx.EnvID + "/mfaSettings", Token: x.admin,
				Body: map[string]any{"pairing": map[string]any{"maxAllowedDevices": 5, "pairingKeyFormat": "ALPHANUMERIC"},
					"lockout": map[string]any{"failureCount": 3, "durationSeconds": 600}}})
			if r.Status != http.StatusOK {
				t.Fatalf("mfaSettings: %d %s", r.Status, r.Body)
			}
			g := x.signOn(t, x.fx.Username)
			var locked map[string]any
			tries := 0
			for ; tries < 6 && locked == nil; tries++ {
				h := g.post(t, "otp.check", `{"otp":"`+wrong+`"}`, http.StatusBadRequest)
				d := h.json(t)["details"].([]any)[0].(map[string]any)
				switch d["code"] {
				case "LOCKED":
					locked = d
				case "OTP_EXPIRED":
					// A voided passcode: ask for another.
					if h := call(t, g.c, "POST", g.url, "application/vnd.pingidentity.device.select+json",
						`{"device":{"id":"`+g.devices()[0]["id"].(string)+`"}}`); h.status != http.StatusOK && h.status != http.StatusBadRequest {
						t.Fatalf("resend: %d %s", h.status, h.body)
					}
				case "INVALID_OTP":
				default:
					t.Fatalf("detail %v", d)
				}
			}
			if locked == nil || tries != 3 {
				t.Fatalf("locked %v after %d wrong codes, want after 3", locked, tries)
			}
			if ie, _ := locked["innerError"].(map[string]any); ie["secondsUntilUnlock"] == nil {
				t.Errorf("locked %v", locked)
			}
			right := x.mailedCode(t, x.fx.Email)
			h := call(t, g.c, "POST", g.url, "application/vnd.pingidentity.otp.check+json", `{"otp":"`+right+`"}`)
			if h.status != http.StatusBadRequest || !strings.Contains(string(h.body), `"LOCKED"`) {
				t.Errorf("right code while locked: %d %s", h.status, h.body)
			}
		})
	}
}

// TestMFAOtherFlowsAndUsers: a passcode sent to another flow of the same
// user is refused, and so is another user's device; a refused request
// leaves the flow as it was.
func TestMFAOtherFlowsAndUsers(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newMFAFixture(t, be.DSN(t))
			x.device(t, x.fx.UserID, map[string]any{"type": "EMAIL", "email": x.fx.Email, "status": "ACTIVE"})
			otherEmail := "other." + x.fx.Email
			other := x.s.CreateUser(t, x.fx.EnvID, x.fx.PopulationID, "other."+x.fx.Username, otherEmail, "O", "Ther", x.fx.Password)
			x.setMFAEnabled(t, other, true)
			otherDev := x.device(t, other, map[string]any{"type": "EMAIL", "email": otherEmail, "status": "ACTIVE"})

			a := x.signOn(t, x.fx.Username)
			codeA := x.mailedCode(t, x.fx.Email)
			b := x.signOn(t, x.fx.Username)
			codeB := x.mailedCode(t, x.fx.Email)
			if codeA != codeB {
				wantDetail(t, b.post(t, "otp.check", `{"otp":"`+codeA+`"}`, http.StatusBadRequest), "INVALID_OTP", "otp")
			}
			// Another user's passcode does not sign this one on.
			o := x.signOn(t, "other."+x.fx.Username)
			codeO := x.mailedCode(t, otherEmail)
			if codeO != codeB {
				wantDetail(t, b.post(t, "otp.check", `{"otp":"`+codeO+`"}`, http.StatusBadRequest), "INVALID_OTP", "otp")
			}
			// Another user's device: refused, the flow unchanged.
			before := b.get(t)
			wantDetail(t, b.post(t, "device.select", `{"device":{"id":"`+otherDev+`"}}`, http.StatusBadRequest), "INVALID_VALUE", "device.id")
			wantDetail(t, b.post(t, "device.select", `{"device":{}}`, http.StatusBadRequest), "REQUIRED_VALUE", "device.id")
			after := b.get(t)
			if before["selectedDevice"].(map[string]any)["id"] != after["selectedDevice"].(map[string]any)["id"] || after["status"] != "OTP_REQUIRED" {
				t.Errorf("a refused device.select changed the flow: %v → %v", before["selectedDevice"], after["selectedDevice"])
			}
			b.post(t, "otp.check", `{"otp":"`+codeB+`"}`, http.StatusOK)
			// A code is single use: the other user's flow is unaffected,
			// and flow b's code cannot be used twice.
			o.post(t, "otp.check", `{"otp":"`+codeO+`"}`, http.StatusOK)
			// Flow a's own code still signs a on.
			a.post(t, "otp.check", `{"otp":"`+codeA+`"}`, http.StatusOK)
			if o.status() != "COMPLETED" || b.status() != "COMPLETED" || a.status() != "COMPLETED" {
				t.Errorf("statuses %s %s %s", o.status(), b.status(), a.status())
			}
		})
	}
}

// TestMFANoDevices: noDevicesMode BYPASS signs a user without devices on
// with the password alone; BLOCK asks them to register one, and with
// pairing disabled for every type fails the flow. A user whose MFA is
// disabled is not asked.
func TestMFANoDevices(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newMFAFixture(t, be.DSN(t))
			// BLOCK (the default policy's): registration, TOTP or email. A
			// new environment's default policy enables FIDO2, but the test
			// server's base URL is an IP address, no relying party.
			f := x.signOn(t, x.fx.Username)
			if f.status() != "DEVICE_REGISTRATION_REQUIRED" || !slices.Equal(f.links(), []string{"device.register", "session.reset"}) {
				t.Fatalf("BLOCK without devices: %s %v", f.status(), f.links())
			}
			reg := f.last["_embedded"].(map[string]any)["deviceRegistration"].(map[string]any)
			if types, _ := reg["types"].([]any); !slices.Equal(types, []any{"TOTP", "EMAIL"}) {
				t.Errorf("deviceRegistration %v", reg)
			}
			wantDetail(t, f.post(t, "device.register", `{"type":"SMS"}`, http.StatusBadRequest), "INVALID_VALUE", "type")

			x.setMFAAction(t, map[string]any{"noDevicesMode": "BYPASS"})
			g := x.signOn(t, x.fx.Username)
			if acr, amr := g.finish(t); acr != "Multi_Factor" || !slices.Equal(amr, []string{"pwd"}) {
				t.Errorf("BYPASS: acr %q amr %v", acr, amr)
			}

			x.setMFAAction(t, map[string]any{"noDevicesMode": "BLOCK"})
			x.setMFAEnabled(t, x.fx.UserID, false)
			if _, amr := x.signOn(t, x.fx.Username).finish(t); !slices.Equal(amr, []string{"pwd"}) {
				t.Errorf("MFA disabled: amr %v", amr)
			}
		})
	}
}

// TestMFATOTP: a user without devices registers a TOTP app during sign-on
// (the secret and key URI shown while it awaits its first code), activates
// it with a code computed from the secret, and signs on; the next sign-on
// asks for a code of the app, and a code already used is refused.
func TestMFATOTP(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newMFAFixture(t, be.DSN(t))
			f := x.signOn(t, x.fx.Username)
			f.post(t, "device.register", `{"type":"TOTP"}`, http.StatusOK)
			if f.status() != "OTP_REQUIRED" || !slices.Equal(f.links(), []string{"device.register", "otp.check", "session.reset"}) {
				t.Fatalf("after device.register: %s %v", f.status(), f.links())
			}
			ds := f.devices()
			if len(ds) != 1 || ds[0]["type"] != "TOTP" || ds[0]["status"] != "ACTIVATION_REQUIRED" {
				t.Fatalf("devices %v", ds)
			}
			props, _ := ds[0]["properties"].(map[string]any)
			secret, _ := props["secret"].(string)
			if secret == "" || !strings.HasPrefix(props["keyUri"].(string), "otpauth://totp/") || !strings.Contains(props["keyUri"].(string), secret) {
				t.Fatalf("properties %v", props)
			}
			if again := f.get(t); again["selectedDevice"].(map[string]any)["id"] != ds[0]["id"] {
				t.Errorf("selectedDevice %v", again["selectedDevice"])
			}
			code, err := totp.GenerateCode(secret, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			f.post(t, "otp.check", `{"otp":"`+code+`"}`, http.StatusOK)
			if _, amr := f.finish(t); !slices.Equal(amr, []string{"pwd", "otp", "mfa"}) {
				t.Errorf("amr %v", amr)
			}

			// The second sign-on asks for the app's code; the code just
			// used is a replay.
			g := x.signOn(t, x.fx.Username)
			if g.status() != "OTP_REQUIRED" || len(g.devices()) != 1 || g.devices()[0]["status"] != "ACTIVE" || g.devices()[0]["properties"] != nil {
				t.Fatalf("second sign-on: %s %v", g.status(), g.devices())
			}
			wantDetail(t, g.post(t, "otp.check", `{"otp":"`+code+`"}`, http.StatusBadRequest), "INVALID_OTP", "otp")
			next, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
			g.post(t, "otp.check", `{"otp":"`+next+`"}`, http.StatusOK)
			if _, amr := g.finish(t); !slices.Equal(amr, []string{"pwd", "otp", "mfa"}) {
				t.Errorf("amr %v", amr)
			}
		})
	}
}

// TestMFASMS: the passcode of an SMS device goes through the environment's
// custom phone provider, a real HTTP endpoint here; its amr names sms.
func TestMFASMS(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			var mu sync.Mutex
			var got []smsRequest
			provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var m struct{ To, Message string }
				err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&m)
				mu.Lock()
				got = append(got, smsRequest{auth: r.Header.Get("Authorization"), to: m.To, message: m.Message, err: err})
				mu.Unlock()
				w.WriteHeader(http.StatusAccepted)
			}))
			defer provider.Close()
			x := newMFAFixture(t, be.DSN(t))
			r := x.s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + x.fx.EnvID + "/notificationsSettings/phoneDeliverySettings",
				Token: x.admin, Body: map[string]any{"provider": "CUSTOM_PROVIDER", "name": "Test SMS gateway",
					"requests": []map[string]any{{"deliveryMethod": "SMS", "url": provider.URL + "/sms", "method": "POST",
						"body": `{"to":"${to}","message":"${message}"}`, "headers": map[string]string{"Content-Type": "application/json"},
						"phoneNumberFormat": "FULL"}},
					"authentication": map[string]any{"method": "BEARER", "authToken": "provider-token"},
					"numbers": []map[string]any{{"number": "+15125550100", "type": "TOLL_FREE", "selected": true, "available": true,
						"capabilities": []string{"SMS"}, "supportedCountries": []string{"US"}}}}})
			if r.Status != http.StatusCreated && r.Status != http.StatusOK {
				t.Fatalf("phone delivery settings: %d %s", r.Status, r.Body)
			}
			// A new environment's default policy disables SMS (it needs a
			// phone provider): the administrator enables it.
			x.editPolicy(t, func(p map[string]any) { p["sms"].(map[string]any)["enabled"] = true })
			dev := x.device(t, x.fx.UserID, map[string]any{"type": "SMS", "phone": "+15125550101", "status": "ACTIVE"})
			f := x.signOn(t, x.fx.Username)
			if f.status() != "OTP_REQUIRED" || len(f.devices()) != 1 || f.devices()[0]["id"] != dev || f.devices()[0]["phone"] != "**********01" {
				t.Fatalf("after the password: %s %v", f.status(), f.devices())
			}
			mu.Lock()
			reqs := append([]smsRequest(nil), got...)
			mu.Unlock()
			if len(reqs) != 1 || reqs[0].err != nil || reqs[0].auth != "Bearer provider-token" || reqs[0].to != "+15125550101" {
				t.Fatalf("provider requests %+v", reqs)
			}
			code := sixDigits.FindString(reqs[0].message)
			if code == "" {
				t.Fatalf("no passcode in %q", reqs[0].message)
			}
			f.post(t, "otp.check", `{"otp":"`+code+`"}`, http.StatusOK)
			if acr, amr := f.finish(t); acr != "Multi_Factor" || !slices.Equal(amr, []string{"pwd", "otp", "sms", "mfa"}) {
				t.Errorf("acr %q amr %v", acr, amr)
			}
		})
	}
}

type smsRequest struct {
	auth, to, message string
	err               error
}

var sixDigits = regexp.MustCompile(`\b\d{6}\b`)

// TestMFAAfterSingleFactor: a browser signed on with the password alone
// (another application, the default Single_Factor policy) that authorizes
// the Multi_Factor application is asked for the second factor at once,
// and its tokens name both.
func TestMFAAfterSingleFactor(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newMFAFixture(t, be.DSN(t))
			x.device(t, x.fx.UserID, map[string]any{"type": "EMAIL", "email": x.fx.Email, "status": "ACTIVE"})
			r := x.s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + x.fx.EnvID + "/applications", Token: x.admin, Body: map[string]any{
				"enabled": true, "name": "Single_" + x.fx.AppName, "type": "SINGLE_PAGE_APP", "protocol": "OPENID_CONNECT",
				"grantTypes": []string{"AUTHORIZATION_CODE"}, "responseTypes": []string{"CODE"}, "redirectUris": []string{x.fx.RedirectURI},
				"tokenEndpointAuthMethod": "NONE", "pkceEnforcement": "REQUIRED"}})
			if r.Status != http.StatusCreated {
				t.Fatalf("app: %d %s", r.Status, r.Body)
			}
			single := r.JSON(t)["id"].(string)
			c := browser(t)
			v := oauth2.GenerateVerifier()
			sc := oauth2.Config{ClientID: single, Endpoint: x.provider.Endpoint(), RedirectURL: x.fx.RedirectURI, Scopes: []string{"openid"}}
			h := call(t, c, "GET", sc.AuthCodeURL("s1", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("response_mode", "pi.flow")), "", "")
			wantStatus(t, h, http.StatusOK)
			self := h.json(t)["_links"].(map[string]any)["self"].(map[string]any)["href"].(string)
			h = call(t, c, "POST", self, ctUsernamePassword, `{"username":"`+x.fx.Username+`","password":"`+x.fx.Password+`"}`)
			wantStatus(t, h, http.StatusOK)
			if st := h.json(t)["status"]; st != "COMPLETED" {
				t.Fatalf("single factor: %v", st)
			}
			sent := x.s.Mail.Count()

			f := &mfaFlow{x: x, c: c, verifier: oauth2.GenerateVerifier()}
			h = call(t, c, "GET", x.conf.AuthCodeURL("s2", oauth2.S256ChallengeOption(f.verifier), oauth2.SetAuthURLParam("response_mode", "pi.flow")), "", "")
			wantStatus(t, h, http.StatusOK)
			f.last = h.json(t)
			f.url = f.last["_links"].(map[string]any)["self"].(map[string]any)["href"].(string)
			if f.status() != "OTP_REQUIRED" || x.s.Mail.Count() != sent+1 {
				t.Fatalf("Multi_Factor after Single_Factor: %s, %d mails", f.status(), x.s.Mail.Count()-sent)
			}
			if u := f.last["_embedded"].(map[string]any)["user"].(map[string]any); u["id"] != x.fx.UserID {
				t.Errorf("user %v", u)
			}
			f.post(t, "otp.check", `{"otp":"`+x.mailedCode(t, x.fx.Email)+`"}`, http.StatusOK)
			if acr, amr := f.finish(t); acr != "Multi_Factor" || !slices.Equal(amr, wantAMREmail) {
				t.Errorf("acr %q amr %v", acr, amr)
			}
		})
	}
}

// editPolicy changes the environment's default device authentication
// policy as a client does: a PUT of what a GET returned, edited.
func (x *mfaFixture) editPolicy(t *testing.T, edit func(p map[string]any)) {
	t.Helper()
	base := "/environments/" + x.fx.EnvID + "/deviceAuthenticationPolicies"
	r := x.s.Do(t, apptest.Request{Method: "GET", URL: base, Token: x.admin})
	for _, p := range r.JSON(t)["_embedded"].(map[string]any)["deviceAuthenticationPolicies"].([]any) {
		p := p.(map[string]any)
		if p["default"] != true {
			continue
		}
		edit(p)
		r := x.s.Do(t, apptest.Request{Method: "PUT", URL: base + "/" + p["id"].(string), Token: x.admin, Body: p})
		if r.Status != http.StatusOK {
			t.Fatalf("policy: %d %s", r.Status, r.Body)
		}
		return
	}
	t.Fatal("no default device authentication policy")
}

// TestMFARegistration: a user without devices registers their email
// address during sign-on: a pairing code is mailed, a wrong one refused,
// the right one activates the device and signs the user on. With pairing
// disabled for every type, a user without devices cannot sign on.
func TestMFARegistration(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newMFAFixture(t, be.DSN(t))
			f := x.signOn(t, x.fx.Username)
			masked := mfa.MaskEmail(x.fx.Email)
			if reg := f.last["_embedded"].(map[string]any)["deviceRegistration"].(map[string]any); reg["email"] != masked {
				t.Errorf("deviceRegistration %v", reg)
			}
			sent := x.s.Mail.Count()
			f.post(t, "device.register", `{"type":"EMAIL"}`, http.StatusOK)
			ds := f.devices()
			if f.status() != "OTP_REQUIRED" || len(ds) != 1 || ds[0]["type"] != "EMAIL" || ds[0]["status"] != "ACTIVATION_REQUIRED" ||
				ds[0]["email"] != masked || ds[0]["properties"] != nil || x.s.Mail.Count() != sent+1 {
				t.Fatalf("after device.register: %s %v, %d mails", f.status(), ds, x.s.Mail.Count()-sent)
			}
			code := x.mailedCode(t, x.fx.Email)
			wrong := "000000"
			if code == wrong {
				wrong = "111111"
			}
			wantDetail(t, f.post(t, "otp.check", `{"otp":"`+wrong+`"}`, http.StatusBadRequest), "INVALID_OTP", "otp")
			f.post(t, "otp.check", `{"otp":"`+code+`"}`, http.StatusOK)
			if _, amr := f.finish(t); !slices.Equal(amr, wantAMREmail) {
				t.Errorf("amr %v", amr)
			}
			r := x.s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + x.fx.EnvID + "/users/" + x.fx.UserID + "/devices/" + ds[0]["id"].(string), Token: x.admin})
			if r.Status != http.StatusOK || r.JSON(t)["status"] != "ACTIVE" {
				t.Errorf("the registered device: %d %s", r.Status, r.Body)
			}

			// No pairing allowed: BLOCK fails the flow of a user without
			// devices.
			x.editPolicy(t, func(p map[string]any) {
				for _, k := range []string{"email", "totp", "fido2"} {
					p[k].(map[string]any)["pairingDisabled"] = true
				}
			})
			other := x.s.CreateUser(t, x.fx.EnvID, x.fx.PopulationID, "nodev."+x.fx.Username, "nodev."+x.fx.Email, "N", "O", x.fx.Password)
			x.setMFAEnabled(t, other, true)
			g := x.signOn(t, "nodev."+x.fx.Username)
			if g.status() != "FAILED" || g.last["error"].(map[string]any)["code"] != "access_denied" {
				t.Errorf("without devices nor pairing: %s %v", g.status(), g.last["error"])
			}
		})
	}
}

// TestMFASelection: a policy that always displays the devices asks the
// user to choose; a device type the policy disables is neither shown nor
// accepted.
func TestMFASelection(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newMFAFixture(t, be.DSN(t))
			x.editPolicy(t, func(p map[string]any) { p["sms"].(map[string]any)["enabled"] = true })
			sms := x.device(t, x.fx.UserID, map[string]any{"type": "SMS", "phone": "+15125550199", "status": "ACTIVE"})
			email := x.device(t, x.fx.UserID, map[string]any{"type": "EMAIL", "email": x.fx.Email, "status": "ACTIVE"})
			x.editPolicy(t, func(p map[string]any) {
				p["authentication"] = map[string]any{"deviceSelection": "ALWAYS_DISPLAY_DEVICES"}
				p["sms"].(map[string]any)["enabled"] = false
			})
			sent := x.s.Mail.Count()
			f := x.signOn(t, x.fx.Username)
			ds := f.devices()
			if f.status() != "DEVICE_SELECTION_REQUIRED" || !slices.Equal(f.links(), []string{"device.select", "session.reset"}) ||
				len(ds) != 1 || ds[0]["id"] != email || f.last["selectedDevice"] != nil || x.s.Mail.Count() != sent {
				t.Fatalf("after the password: %s %v %v, %d mails", f.status(), f.links(), ds, x.s.Mail.Count()-sent)
			}
			wantDetail(t, f.post(t, "device.select", `{"device":{"id":"`+sms+`"}}`, http.StatusBadRequest), "INVALID_VALUE", "device.id")
			if h := call(t, f.c, "POST", f.url, "application/vnd.pingidentity.otp.check+json", `{"otp":"123456"}`); h.status != http.StatusBadRequest ||
				!strings.Contains(string(h.body), "INVALID_REQUEST") {
				t.Errorf("otp.check before a device: %d %s", h.status, h.body)
			}
			f.post(t, "device.select", `{"device":{"id":"`+email+`"}}`, http.StatusOK)
			if f.status() != "OTP_REQUIRED" || f.last["selectedDevice"].(map[string]any)["id"] != email {
				t.Fatalf("after device.select: %s %v", f.status(), f.last["selectedDevice"])
			}
			f.post(t, "otp.check", `{"otp":"`+x.mailedCode(t, x.fx.Email)+`"}`, http.StatusOK)
			if _, amr := f.finish(t); !slices.Equal(amr, wantAMREmail) {
				t.Errorf("amr %v", amr)
			}
		})
	}
}

// TestMFAPromptToSelect: PROMPT_TO_SELECT sends a lone device its
// passcode at once and asks a user with two devices to choose.
func TestMFAPromptToSelect(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newMFAFixture(t, be.DSN(t))
			x.editPolicy(t, func(p map[string]any) {
				p["authentication"] = map[string]any{"deviceSelection": "PROMPT_TO_SELECT"}
				p["sms"].(map[string]any)["enabled"] = true
			})
			email := x.device(t, x.fx.UserID, map[string]any{"type": "EMAIL", "email": x.fx.Email, "status": "ACTIVE"})
			f := x.signOn(t, x.fx.Username)
			if f.status() != "OTP_REQUIRED" || f.last["selectedDevice"].(map[string]any)["id"] != email {
				t.Fatalf("one device: %s %v", f.status(), f.last["selectedDevice"])
			}
			f.post(t, "otp.check", `{"otp":"`+x.mailedCode(t, x.fx.Email)+`"}`, http.StatusOK)
			if _, amr := f.finish(t); !slices.Equal(amr, wantAMREmail) {
				t.Errorf("amr %v", amr)
			}
			x.device(t, x.fx.UserID, map[string]any{"type": "SMS", "phone": "+15125550199", "status": "ACTIVE"})
			f = x.signOn(t, x.fx.Username)
			if f.status() != "DEVICE_SELECTION_REQUIRED" || len(f.devices()) != 2 || f.last["selectedDevice"] != nil {
				t.Fatalf("two devices: %s %v %v", f.status(), f.devices(), f.last["selectedDevice"])
			}
		})
	}
}
