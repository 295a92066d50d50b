package authsvc_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/fido/fidotest"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// FIDO2 devices in sign-on flows, answered by a software authenticator.
// The test server's base URL is an IP address, which no relying party can
// be: the FIDO2 policies name localhost, and the page's origin is
// https://localhost.

const (
	fidoRPID   = "localhost"
	fidoOrigin = "https://localhost"
)

// passkey is how a platform authenticator with a synced passkey answers:
// discoverable, user verified, backed up.
var passkey = fidotest.CreateOptions{Origin: fidoOrigin, Resident: true, Flags: fidotest.Flags{UV: true, BE: true, BS: true}}

// flowClock is the flows' clock, which a test moves on.
type flowClock struct{ off atomic.Int64 }

func (c *flowClock) Now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *flowClock) Advance(d time.Duration) { c.off.Add(int64(d)) }

type fidoFixture struct {
	*mfaFixture
	clock *flowClock
	key   *fidotest.Authenticator
}

// newFIDOFixture is the MFA fixture with FIDO2 enabled in the default
// device authentication policy, and the FIDO2 policies on localhost.
func newFIDOFixture(t *testing.T, dsn string) *fidoFixture {
	t.Helper()
	clk := &flowClock{}
	x := &fidoFixture{mfaFixture: newMFAFixture(t, dsn, apptest.Options{FlowClock: clk.Now}), clock: clk, key: &fidotest.Authenticator{}}
	x.enableFIDO2(t, x.fx.EnvID)
	return x
}

// enableFIDO2 turns FIDO2 on in envID's default device authentication
// policy and puts every FIDO2 policy of envID on localhost.
func (x *fidoFixture) enableFIDO2(t testing.TB, envID string) {
	t.Helper()
	env := "/environments/" + envID
	r := x.s.Do(t, apptest.Request{Method: "GET", URL: env + "/deviceAuthenticationPolicies", Token: x.admin})
	for _, p := range r.JSON(t)["_embedded"].(map[string]any)["deviceAuthenticationPolicies"].([]any) {
		p := p.(map[string]any)
		if p["default"] != true {
			continue
		}
		p["fido2"].(map[string]any)["enabled"] = true
		if r := x.s.Do(t, apptest.Request{Method: "PUT", URL: env + "/deviceAuthenticationPolicies/" + p["id"].(string), Token: x.admin, Body: p}); r.Status != http.StatusOK {
			t.Fatalf("device authentication policy: %d %s", r.Status, r.Body)
		}
	}
	r = x.s.Do(t, apptest.Request{Method: "GET", URL: env + "/fido2Policies", Token: x.admin})
	for _, p := range r.JSON(t)["_embedded"].(map[string]any)["fido2Policies"].([]any) {
		p := p.(map[string]any)
		p["relyingPartyId"] = fidoRPID
		if r := x.s.Do(t, apptest.Request{Method: "PUT", URL: env + "/fido2Policies/" + p["id"].(string), Token: x.admin, Body: p}); r.Status != http.StatusOK {
			t.Fatalf("FIDO2 policy: %d %s", r.Status, r.Body)
		}
	}
}

// registerKey registers a FIDO2 device of userID (in envID) through the
// management API's two steps, with a credential of key.
func (x *fidoFixture) registerKey(t testing.TB, envID, userID string, key *fidotest.Authenticator, o fidotest.CreateOptions) (string, *fidotest.Credential) {
	t.Helper()
	devices := "/environments/" + envID + "/users/" + userID + "/devices"
	r := x.s.Do(t, apptest.Request{Method: "POST", URL: devices, Token: x.admin, Body: map[string]any{"type": "FIDO2"}})
	if r.Status != http.StatusCreated {
		t.Fatalf("FIDO2 device: %d %s", r.Status, r.Body)
	}
	d := r.JSON(t)
	att, cred, err := key.Create([]byte(d["publicKeyCredentialCreationOptions"].(string)), o)
	if err != nil {
		t.Fatal(err)
	}
	r = x.s.Do(t, apptest.Request{Method: "POST", URL: devices + "/" + d["id"].(string), Token: x.admin,
		ContentType: "application/vnd.pingidentity.device.activate+json", Body: map[string]any{"origin": fidoOrigin, "attestation": string(att)}})
	if r.Status != http.StatusOK || r.JSON(t)["status"] != "ACTIVE" {
		t.Fatalf("FIDO2 activation: %d %s", r.Status, r.Body)
	}
	return d["id"].(string), cred
}

// stored is a device's row, for "nothing written".
func (x *fidoFixture) stored(t *testing.T, userID, id string) store.MFADevice {
	t.Helper()
	d, err := x.s.Store.GetMFADevice(context.Background(), x.fx.EnvID, userID, id)
	if err != nil {
		t.Fatal(err)
	}
	return *d
}

func sameDevice(a, b store.MFADevice) bool {
	return a.Status == b.Status && a.CredentialID == b.CredentialID && bytes.Equal(a.Data, b.Data) && a.UpdatedAt.Equal(b.UpdatedAt)
}

// credBody is an assertion.check or device.activate body: the origin and
// the credential JSON as a string, as PingOne takes it.
func credBody(t *testing.T, origin, member string, cred []byte) string {
	t.Helper()
	b, err := json.Marshal(map[string]string{"origin": origin, member: string(cred)})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// get answers the flow's request options with key.
func (f *mfaFlow) getAssertion(t *testing.T, key *fidotest.Authenticator, o fidotest.GetOptions) []byte {
	t.Helper()
	opts, _ := f.last["publicKeyCredentialRequestOptions"].(string)
	if opts == "" {
		t.Fatalf("%s without publicKeyCredentialRequestOptions: %v", f.status(), f.last)
	}
	if o.Origin == "" {
		o.Origin = fidoOrigin
	}
	b, err := key.Get([]byte(opts), o)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// assert answers the flow's request options with key and posts the
// assertion.
func (f *mfaFlow) assert(t *testing.T, key *fidotest.Authenticator, o fidotest.GetOptions, want int) *hop {
	t.Helper()
	origin := o.Origin
	if origin == "" {
		origin = fidoOrigin
	}
	return f.post(t, "assertion.check", credBody(t, origin, "assertion", f.getAssertion(t, key, o)), want)
}

var uv = fidotest.GetOptions{Flags: fidotest.Flags{UV: true, BE: true, BS: true}}

// TestFIDO2AfterPassword: a passkey as the second factor. The flow asks
// for an assertion of the selected device with PingOne's options, and the
// tokens say a password and a user-verified synced passkey.
func TestFIDO2AfterPassword(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newFIDOFixture(t, be.DSN(t))
			dev, cred := x.registerKey(t, x.fx.EnvID, x.fx.UserID, x.key, passkey)
			f := x.signOn(t, x.fx.Username)
			if f.status() != "ASSERTION_REQUIRED" || !slices.Equal(f.links(), []string{"assertion.check", "session.reset"}) {
				t.Fatalf("after the password: %s %v", f.status(), f.links())
			}
			if sel, _ := f.last["selectedDevice"].(map[string]any); len(sel) != 1 || sel["id"] != dev {
				t.Errorf("selectedDevice %v", f.last["selectedDevice"])
			}
			var opts struct {
				Challenge []int  `json:"challenge"`
				RPID      string `json:"rpId"`
				Timeout   int    `json:"timeout"`
				UV        string `json:"userVerification"`
				Allow     []struct {
					Type string `json:"type"`
					ID   []int  `json:"id"`
				} `json:"allowCredentials"`
			}
			if err := json.Unmarshal([]byte(f.last["publicKeyCredentialRequestOptions"].(string)), &opts); err != nil {
				t.Fatalf("publicKeyCredentialRequestOptions: %v", err)
			}
			if len(opts.Challenge) < 16 || opts.RPID != fidoRPID || opts.Timeout != 120000 || opts.UV != "required" ||
				len(opts.Allow) != 1 || opts.Allow[0].Type != "public-key" || len(opts.Allow[0].ID) != len(cred.ID) {
				t.Errorf("options %+v", opts)
			}
			for i, b := range opts.Allow[0].ID {
				if byte(int8(b)) != cred.ID[i] {
					t.Fatalf("allowCredentials[0].id is not the credential id (signed bytes)")
				}
			}
			ds := f.devices()
			if len(ds) != 1 || ds[0]["id"] != dev || ds[0]["type"] != "FIDO2" || ds[0]["status"] != "ACTIVE" || ds[0]["email"] != nil {
				t.Errorf("_embedded.devices %v", ds)
			}
			if u := f.last["_embedded"].(map[string]any)["user"].(map[string]any); u["id"] != x.fx.UserID {
				t.Errorf("_embedded.user %v", u)
			}
			// compatibility is one of PingOne's values.
			h := f.post(t, "assertion.check", `{"origin":"`+fidoOrigin+`","assertion":"{}","compatibility":"SOMETIMES"}`, http.StatusBadRequest)
			wantDetail(t, h, "INVALID_VALUE", "compatibility")
			h = f.post(t, "assertion.check", `{"compatibility":"FULL"}`, http.StatusBadRequest)
			if b := h.json(t); len(b["details"].([]any)) != 2 {
				t.Errorf("missing origin and assertion: %s", h.body)
			}
			f.assert(t, x.key, uv, http.StatusOK)
			if acr, amr := f.finish(t); acr != "Multi_Factor" || !slices.Equal(amr, []string{"pwd", "swk", "mfa"}) {
				t.Errorf("acr %q amr %v", acr, amr)
			}

			// With an email device too, the user may switch to it.
			email := x.device(t, x.fx.UserID, map[string]any{"type": "EMAIL", "email": x.fx.Email, "status": "ACTIVE"})
			g := x.signOn(t, x.fx.Username)
			if g.status() != "ASSERTION_REQUIRED" || !slices.Equal(g.links(), []string{"assertion.check", "device.select", "session.reset"}) || len(g.devices()) != 2 {
				t.Fatalf("two devices: %s %v %v", g.status(), g.links(), g.devices())
			}
			g.post(t, "device.select", `{"device":{"id":"`+email+`"},"compatibility":"NONE"}`, http.StatusOK)
			if g.status() != "OTP_REQUIRED" || g.last["publicKeyCredentialRequestOptions"] != nil {
				t.Fatalf("switched to email: %s", g.status())
			}
			g.post(t, "device.select", `{"device":{"id":"`+dev+`"},"compatibility":"FULL"}`, http.StatusOK)
			if g.status() != "ASSERTION_REQUIRED" {
				t.Fatalf("back to the key: %s", g.status())
			}
			g.assert(t, x.key, uv, http.StatusOK)
			if _, amr := g.finish(t); !slices.Equal(amr, []string{"pwd", "swk", "mfa"}) {
				t.Errorf("amr %v", amr)
			}
		})
	}
}

// TestFIDO2Enrolment: a user without devices registers a passkey during
// sign-on; a refused attestation activates nothing and gets a fresh
// challenge; the passkey then signs the user on, now and next time.
func TestFIDO2Enrolment(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newFIDOFixture(t, be.DSN(t))
			f := x.signOn(t, x.fx.Username)
			reg := f.last["_embedded"].(map[string]any)["deviceRegistration"].(map[string]any)
			if f.status() != "DEVICE_REGISTRATION_REQUIRED" || !slices.Equal(reg["types"].([]any), []any{"TOTP", "EMAIL", "FIDO2"}) {
				t.Fatalf("without devices: %s %v", f.status(), reg)
			}
			f.post(t, "device.register", `{"type":"FIDO2"}`, http.StatusOK)
			ds := f.devices()
			if f.status() != "FIDO2_ACTIVATION_REQUIRED" || !slices.Equal(f.links(), []string{"device.activate", "device.register", "session.reset"}) ||
				len(ds) != 1 || ds[0]["type"] != "FIDO2" || ds[0]["status"] != "ACTIVATION_REQUIRED" {
				t.Fatalf("after device.register: %s %v %v", f.status(), f.links(), ds)
			}
			// The types device.register takes instead, for the page's way back.
			if reg, _ := f.last["_embedded"].(map[string]any)["deviceRegistration"].(map[string]any); reg == nil ||
				!slices.Equal(reg["types"].([]any), []any{"TOTP", "EMAIL", "FIDO2"}) {
				t.Errorf("FIDO2_ACTIVATION_REQUIRED's deviceRegistration: %v", reg)
			}
			dev := ds[0]["id"].(string)
			opts := f.last["publicKeyCredentialCreationOptions"].(string)
			var o struct {
				RP   struct{ ID string } `json:"rp"`
				User struct {
					ID   []int  `json:"id"`
					Name string `json:"name"`
				} `json:"user"`
			}
			if err := json.Unmarshal([]byte(opts), &o); err != nil || o.RP.ID != fidoRPID || o.User.Name != x.fx.Username || len(o.User.ID) != len(x.fx.UserID) {
				t.Fatalf("publicKeyCredentialCreationOptions %s: %v", opts, err)
			}
			before := x.stored(t, x.fx.UserID, dev)
			att, _, err := x.key.Create([]byte(opts), fidotest.CreateOptions{Origin: "https://evil.example", Resident: true, Flags: passkey.Flags})
			if err != nil {
				t.Fatal(err)
			}
			wantDetail(t, f.post(t, "device.activate", credBody(t, "https://evil.example", "attestation", att), http.StatusBadRequest), "INVALID_VALUE", "origin")
			f.get(t)
			if f.status() != "FIDO2_ACTIVATION_REQUIRED" || f.last["publicKeyCredentialCreationOptions"] == opts || !sameDevice(before, x.stored(t, x.fx.UserID, dev)) {
				t.Fatalf("after a refused attestation: %s, same options %v", f.status(), f.last["publicKeyCredentialCreationOptions"] == opts)
			}
			// The answer to the spent challenge is refused too.
			att, _, err = x.key.Create([]byte(opts), passkey)
			if err != nil {
				t.Fatal(err)
			}
			wantDetail(t, f.post(t, "device.activate", credBody(t, fidoOrigin, "attestation", att), http.StatusBadRequest), "INVALID_VALUE", "attestation")
			f.get(t)
			att, _, err = x.key.Create([]byte(f.last["publicKeyCredentialCreationOptions"].(string)), passkey)
			if err != nil {
				t.Fatal(err)
			}
			f.post(t, "device.activate", credBody(t, fidoOrigin, "attestation", att), http.StatusOK)
			if acr, amr := f.finish(t); acr != "Multi_Factor" || !slices.Equal(amr, []string{"pwd", "swk", "mfa"}) {
				t.Errorf("acr %q amr %v", acr, amr)
			}
			if d := x.stored(t, x.fx.UserID, dev); d.Status != "ACTIVE" || d.CredentialID == "" {
				t.Errorf("the registered device: %+v", d)
			}
			g := x.signOn(t, x.fx.Username)
			if g.status() != "ASSERTION_REQUIRED" {
				t.Fatalf("next sign-on: %s", g.status())
			}
			g.assert(t, x.key, uv, http.StatusOK)
			if _, amr := g.finish(t); !slices.Equal(amr, []string{"pwd", "swk", "mfa"}) {
				t.Errorf("next sign-on: amr %v", amr)
			}
		})
	}
}

// TestFIDO2Passwordless: an MFA-only policy signs a user on with a key
// alone: the username, then an assertion. A passkey needs no username at
// all (usernameless). A security key without user verification is one
// factor.
func TestFIDO2Passwordless(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newFIDOFixture(t, be.DSN(t))
			x.passwordless(t, "Passwordless", 2, map[string]any{"noDevicesMode": "BLOCK"})
			dev, _ := x.registerKey(t, x.fx.EnvID, x.fx.UserID, x.key, passkey)

			f, _ := x.authorize(t, browser(t), http.StatusOK, "acr_values", "Passwordless")
			if f.status() != "SIGN_ON_REQUIRED" || !slices.Equal(f.links(), []string{"assertion.check", "session.reset", "user.lookup"}) {
				t.Fatalf("passwordless: %s %v", f.status(), f.links())
			}
			var opts map[string]any
			if err := json.Unmarshal([]byte(f.last["publicKeyCredentialRequestOptions"].(string)), &opts); err != nil ||
				opts["allowCredentials"] != nil || opts["userVerification"] != "required" {
				t.Fatalf("usernameless options %v: %v", opts, err)
			}
			f.post(t, "user.lookup", `{"username":"`+x.fx.Username+`"}`, http.StatusOK)
			if f.status() != "ASSERTION_REQUIRED" || f.last["selectedDevice"].(map[string]any)["id"] != dev {
				t.Fatalf("after user.lookup: %s %v", f.status(), f.last["selectedDevice"])
			}
			if u := f.last["_embedded"].(map[string]any)["user"].(map[string]any); u["id"] != nil {
				t.Errorf("_embedded.user before the assertion: %v", u)
			}
			f.assert(t, x.key, uv, http.StatusOK)
			if sub, _, acr, amr := f.claims(t); sub != x.fx.UserID || acr != "Passwordless" || !slices.Equal(amr, []string{"swk", "mfa"}) {
				t.Errorf("sub %s acr %q amr %v", sub, acr, amr)
			}

			// Usernameless: the passkey names its user.
			g, _ := x.authorize(t, browser(t), http.StatusOK, "acr_values", "Passwordless")
			g.assert(t, x.key, uv, http.StatusOK)
			if sub, _, acr, amr := g.claims(t); sub != x.fx.UserID || acr != "Passwordless" || !slices.Equal(amr, []string{"swk", "mfa"}) {
				t.Errorf("usernameless: sub %s acr %q amr %v", sub, acr, amr)
			}

			// A security key (device-bound, no user verification) under
			// the Security Keys policy: one factor, "hwk"; no passkey sign-on
			// without a username (the policy makes no discoverable
			// credentials).
			x.editPolicy(t, func(p map[string]any) {
				p["fido2"].(map[string]any)["fido2PolicyId"] = x.fido2Policy(t, "Security Keys")
			})
			other := x.s.CreateUser(t, x.fx.EnvID, x.fx.PopulationID, "key."+x.fx.Username, "key."+x.fx.Email, "K", "Ey", x.fx.Password)
			x.setMFAEnabled(t, other, true)
			key := &fidotest.Authenticator{AAGUID: [16]byte{1, 2, 3}}
			x.registerKey(t, x.fx.EnvID, other, key, fidotest.CreateOptions{Origin: fidoOrigin, Attestation: "packed", Attachment: "cross-platform"})
			h, _ := x.authorize(t, browser(t), http.StatusOK, "acr_values", "Passwordless")
			if !slices.Equal(h.links(), []string{"session.reset", "user.lookup"}) || h.last["publicKeyCredentialRequestOptions"] != nil {
				t.Errorf("Security Keys: %v", h.links())
			}
			h.post(t, "user.lookup", `{"username":"key.`+x.fx.Username+`"}`, http.StatusOK)
			h.assert(t, key, fidotest.GetOptions{}, http.StatusOK)
			if sub, _, _, amr := h.claims(t); sub != other || !slices.Equal(amr, []string{"hwk"}) {
				t.Errorf("security key: sub %s amr %v", sub, amr)
			}
		})
	}
}

// fido2Policy is the id of the FIDO2 policy name.
func (x *fidoFixture) fido2Policy(t *testing.T, name string) string {
	t.Helper()
	r := x.s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + x.fx.EnvID + "/fido2Policies", Token: x.admin})
	for _, p := range r.JSON(t)["_embedded"].(map[string]any)["fido2Policies"].([]any) {
		if p := p.(map[string]any); p["name"] == name {
			return p["id"].(string)
		}
	}
	t.Fatalf("no FIDO2 policy %s", name)
	return ""
}

// TestFIDO2Refusals: each forged or stale assertion is refused with
// PingOne's error, in a flow of its own, and writes nothing: the device
// (its counter) is as it was, the flow still asks for an assertion, and
// no session is made or renewed.
func TestFIDO2Refusals(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newFIDOFixture(t, be.DSN(t))
			x.passwordless(t, "Passwordless", 2, map[string]any{"noDevicesMode": "BLOCK"})
			dev, alice := x.registerKey(t, x.fx.EnvID, x.fx.UserID, x.key, fidotest.CreateOptions{Origin: fidoOrigin, Resident: true, Counter: 5, Flags: passkey.Flags})
			bob := x.s.CreateUser(t, x.fx.EnvID, x.fx.PopulationID, "bob."+x.fx.Username, "bob."+x.fx.Email, "Bob", "B", x.fx.Password)
			_, bobCred := x.registerKey(t, x.fx.EnvID, bob, x.key, passkey)
			// Another environment, with its user's passkey in the same
			// authenticator, on the same relying party ID.
			y := x.s.NewSignOn(t, apptest.SignOnOptions{})
			x.enableFIDO2(t, y.EnvID)
			_, foreign := x.registerKey(t, y.EnvID, y.UserID, x.key, passkey)

			type tc struct {
				name    string
				policy  string // "" = after the password; else passwordless
				answer  func(t *testing.T, f *mfaFlow) string
				code    string
				target  string
				says    string // in the detail's message: why
				advance time.Duration
			}
			withOpts := func(o fidotest.GetOptions) func(t *testing.T, f *mfaFlow) string {
				return func(t *testing.T, f *mfaFlow) string {
					origin := o.Origin
					if origin == "" {
						origin = fidoOrigin
					}
					return credBody(t, origin, "assertion", f.getAssertion(t, x.key, o))
				}
			}
			var spent string // a good assertion, already used to sign on
			for _, c := range []tc{
				{name: "wrong origin", answer: withOpts(fidotest.GetOptions{Origin: "https://evil.example", Flags: uv.Flags}), code: "INVALID_VALUE", target: "origin", says: "is not one of the relying party"},
				{name: "origin not the client's", answer: func(t *testing.T, f *mfaFlow) string {
					return credBody(t, fidoOrigin, "assertion", f.getAssertion(t, x.key, fidotest.GetOptions{Origin: "https://login.localhost", Flags: uv.Flags}))
				}, code: "INVALID_VALUE", target: "origin", says: "not the origin the browser reported"},
				{name: "wrong RP ID", answer: withOpts(fidotest.GetOptions{RPID: "evil.example", Flags: uv.Flags}), code: "INVALID_VALUE", target: "assertion", says: "another relying party ID"},
				{name: "cloned authenticator", answer: func(t *testing.T, f *mfaFlow) string {
					// The counter goes back from 5 to 3; the real key then
					// goes on from where it was.
					defer func() { alice.Counter = 10 }()
					return withOpts(fidotest.GetOptions{Counter: ptrU32(3), Flags: uv.Flags})(t, f)
				}, code: "INVALID_VALUE", target: "assertion", says: "may be a clone"},
				{name: "no user verification", answer: withOpts(fidotest.GetOptions{Flags: fidotest.Flags{BE: true, BS: true}}), code: "INVALID_VALUE", target: "assertion", says: "requires user verification"},
				{name: "another user's credential", answer: withOpts(fidotest.GetOptions{Credential: bobCred.ID, Flags: uv.Flags}), code: "INVALID_VALUE", target: "assertion", says: "not one of the user's FIDO2 devices"},
				{name: "another environment's credential", answer: withOpts(fidotest.GetOptions{Credential: foreign.ID, Flags: uv.Flags}), code: "INVALID_VALUE", target: "assertion", says: "not one of the user's FIDO2 devices"},
				{name: "expired challenge", answer: withOpts(uv), advance: 3 * time.Minute, code: "INVALID_VALUE", target: "assertion", says: "has expired"},
				{name: "challenge of another flow", answer: func(t *testing.T, f *mfaFlow) string {
					other := x.signOn(t, x.fx.Username)
					return credBody(t, fidoOrigin, "assertion", other.getAssertion(t, x.key, uv))
				}, code: "INVALID_VALUE", target: "assertion", says: "another challenge"},
				{name: "garbage", answer: func(*testing.T, *mfaFlow) string {
					return `{"origin":"` + fidoOrigin + `","assertion":"{\"id\":\"x\",\"response\":{}}"}`
				}, code: "INVALID_VALUE", target: "assertion", says: "not a WebAuthn assertion"},
				{name: "replayed, into a new flow", answer: func(*testing.T, *mfaFlow) string { return spent }, code: "INVALID_VALUE", target: "assertion", says: "another challenge"},
				{name: "usernameless: no user handle", policy: "Passwordless", answer: withOpts(fidotest.GetOptions{NoUserHandle: true, Flags: uv.Flags}), code: "INVALID_VALUE", target: "assertion", says: "needs a discoverable credential"},
				{name: "usernameless: no user verification", policy: "Passwordless", answer: withOpts(fidotest.GetOptions{Flags: fidotest.Flags{BE: true}}), code: "INVALID_VALUE", target: "assertion", says: "requires user verification"},
				{name: "usernameless: another environment's credential", policy: "Passwordless", answer: withOpts(fidotest.GetOptions{Credential: foreign.ID, Flags: uv.Flags}), code: "INVALID_VALUE", target: "assertion", says: "not one of the user's FIDO2 devices"},
			} {
				t.Run(c.name, func(t *testing.T) {
					if c.name == "replayed, into a new flow" {
						g := x.signOn(t, x.fx.Username)
						spent = credBody(t, fidoOrigin, "assertion", g.getAssertion(t, x.key, uv))
						g.post(t, "assertion.check", spent, http.StatusOK)
						// The same assertion again, to the same flow: it
						// takes no more actions.
						if h := g.post(t, "assertion.check", spent, http.StatusBadRequest); !strings.Contains(string(h.body), "INVALID_REQUEST") {
							t.Errorf("replayed into its own flow: %s", h.body)
						}
					}
					var f *mfaFlow
					wantStatus := "ASSERTION_REQUIRED"
					if c.policy == "" {
						f = x.signOn(t, x.fx.Username)
					} else {
						f, _ = x.authorize(t, browser(t), http.StatusOK, "acr_values", c.policy)
						wantStatus = "SIGN_ON_REQUIRED"
					}
					body := c.answer(t, f)
					before := x.stored(t, x.fx.UserID, dev)
					beforeOpts := f.last["publicKeyCredentialRequestOptions"]
					x.clock.Advance(c.advance)
					defer x.clock.Advance(-c.advance)
					h := f.post(t, "assertion.check", body, http.StatusBadRequest)
					wantDetail(t, h, c.code, c.target)
					if msg := h.json(t)["details"].([]any)[0].(map[string]any)["message"].(string); !strings.Contains(msg, c.says) {
						t.Errorf("message %q, want it to say %q", msg, c.says)
					}
					if ck := h.header.Values("Set-Cookie"); len(ck) > 0 {
						t.Errorf("a refusal set cookies %v", ck)
					}
					if !sameDevice(before, x.stored(t, x.fx.UserID, dev)) {
						t.Errorf("the device was written")
					}
					f.get(t)
					if f.status() != wantStatus || f.last["publicKeyCredentialRequestOptions"] == beforeOpts {
						t.Errorf("after the refusal: %s, same challenge %v", f.status(), f.last["publicKeyCredentialRequestOptions"] == beforeOpts)
					}
					if c.policy != "" && f.last["session"] != nil {
						t.Errorf("a session: %v", f.last["session"])
					}
				})
			}
		})
	}
}

func ptrU32(v uint32) *uint32 { return &v }

// TestFIDO2Lockout: refused assertions count as wrong passcodes do: the
// policy's fido2.failure.count (3) cools the key down; then even a good
// assertion is refused LOCKED, and the device gets no new counter.
func TestFIDO2Lockout(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newFIDOFixture(t, be.DSN(t))
			x.registerKey(t, x.fx.EnvID, x.fx.UserID, x.key, passkey)
			f := x.signOn(t, x.fx.Username)
			bad := fidotest.GetOptions{Origin: "https://evil.example", Flags: uv.Flags}
			for want := 2; want > 0; want-- {
				ie := wantDetail(t, f.assert(t, x.key, bad, http.StatusBadRequest), "INVALID_VALUE", "origin")
				if ie["failuresRemaining"] != float64(want) {
					t.Errorf("failuresRemaining %v, want %d", ie["failuresRemaining"], want)
				}
			}
			ie := wantDetail(t, f.assert(t, x.key, bad, http.StatusBadRequest), "LOCKED", "assertion")
			if secs, _ := ie["secondsUntilUnlock"].(float64); secs < 100 || secs > 121 {
				t.Errorf("secondsUntilUnlock %v", ie["secondsUntilUnlock"])
			}
			f.get(t)
			wantDetail(t, f.assert(t, x.key, uv, http.StatusBadRequest), "LOCKED", "assertion")
			if f.get(t); f.status() != "ASSERTION_REQUIRED" || f.devices()[0]["userRetries"] != 0.0 {
				t.Errorf("locked: %s %v", f.status(), f.devices())
			}
		})
	}
}

// TestFIDO2DeviceDeleted: once the key is deleted through the management
// API, the next sign-on falls back: to the user's email device, to
// registration for a user without devices, and passwordless it fails.
func TestFIDO2DeviceDeleted(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newFIDOFixture(t, be.DSN(t))
			x.passwordless(t, "Passwordless", 2, map[string]any{"noDevicesMode": "BLOCK"})
			dev, _ := x.registerKey(t, x.fx.EnvID, x.fx.UserID, x.key, passkey)
			f := x.signOn(t, x.fx.Username)
			if f.status() != "ASSERTION_REQUIRED" {
				t.Fatalf("with the key: %s", f.status())
			}
			del := func() {
				r := x.s.Do(t, apptest.Request{Method: "DELETE", URL: "/environments/" + x.fx.EnvID + "/users/" + x.fx.UserID + "/devices/" + dev, Token: x.admin})
				if r.Status != http.StatusNoContent {
					t.Fatalf("delete: %d %s", r.Status, r.Body)
				}
			}
			del()
			// The flow that was waiting for it: choose again.
			wantDetail(t, f.assert(t, x.key, uv, http.StatusBadRequest), "INVALID_VALUE", "device.id")
			if f.get(t); f.status() != "DEVICE_SELECTION_REQUIRED" {
				t.Errorf("the waiting flow: %s", f.status())
			}
			if g := x.signOn(t, x.fx.Username); g.status() != "DEVICE_REGISTRATION_REQUIRED" {
				t.Errorf("without devices: %s", g.status())
			}
			if g := x.lookup(t, "Passwordless", x.fx.Username); g.status() != "FAILED" {
				t.Errorf("passwordless without devices: %s", g.status())
			}
			dev, _ = x.registerKey(t, x.fx.EnvID, x.fx.UserID, x.key, passkey)
			x.device(t, x.fx.UserID, map[string]any{"type": "EMAIL", "email": x.fx.Email, "status": "ACTIVE"})
			del()
			if g := x.signOn(t, x.fx.Username); g.status() != "OTP_REQUIRED" {
				t.Errorf("with an email device: %s", g.status())
			}
		})
	}
}

// TestFIDO2DoublePost: one assertion posted many times at once (a
// double-clicking page, or an attacker racing the user) signs on at most
// once: the others are refused (400, or 401 once the winner rotated the
// browser's cookie), none is a 500. Should a refusal's fresh challenge
// beat the winner's save, nobody signs on and the flow asks again.
func TestFIDO2DoublePost(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newFIDOFixture(t, be.DSN(t))
			x.passwordless(t, "Passwordless", 2, map[string]any{"noDevicesMode": "BLOCK"})
			x.registerKey(t, x.fx.EnvID, x.fx.UserID, x.key, passkey)
			for _, tc := range []struct {
				name   string
				lookup bool
			}{{"usernameless", false}, {"after user.lookup", true}} {
				f, _ := x.authorize(t, browser(t), http.StatusOK, "acr_values", "Passwordless")
				if tc.lookup {
					f.post(t, "user.lookup", `{"username":"`+x.fx.Username+`"}`, http.StatusOK)
				}
				body := credBody(t, fidoOrigin, "assertion", f.getAssertion(t, x.key, uv))
				const n = 6
				codes := make([]int, n)
				var wg sync.WaitGroup
				for i := range n {
					wg.Add(1)
					go func() {
						defer wg.Done()
						req, _ := http.NewRequest("POST", f.url, strings.NewReader(body))
						req.Header.Set("Content-Type", "application/vnd.pingidentity.assertion.check+json")
						resp, err := f.c.Do(req)
						if err != nil {
							codes[i] = -1
							return
						}
						resp.Body.Close()
						codes[i] = resp.StatusCode
					}()
				}
				wg.Wait()
				ok := 0
				for _, c := range codes {
					switch c {
					case http.StatusOK:
						ok++
					case http.StatusBadRequest, http.StatusUnauthorized:
					default:
						t.Errorf("%s: a post answered %d", tc.name, c)
					}
				}
				if ok > 1 {
					t.Errorf("%s: %d posts signed on, want at most 1 (%v)", tc.name, ok, codes)
				}
				if f.get(t); ok == 0 {
					f.assert(t, x.key, uv, http.StatusOK)
				}
				if sub, _, _, _ := f.claims(t); sub != x.fx.UserID {
					t.Errorf("%s: sub %s", tc.name, sub)
				}
			}
		})
	}
}

// TestFIDO2LostRace: an assertion refused because its challenge was
// answered already (another post of the same flow won the race and
// consumed it) is no failed attempt: however many such refusals a flow
// sees, more than the policy's failure count (3), whether the flow still
// holds that challenge or a fresh one already, the key is not cooled
// down and a good assertion then signs on. The race of
// TestFIDO2DoublePost is made deterministic here by recording, as the
// winner would, the flow's challenge as the key's last answered one
// before each post.
func TestFIDO2LostRace(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newFIDOFixture(t, be.DSN(t))
			dev, _ := x.registerKey(t, x.fx.EnvID, x.fx.UserID, x.key, passkey)
			f := x.signOn(t, x.fx.Username)
			for i := range 4 {
				opts, _ := f.last["publicKeyCredentialRequestOptions"].(string)
				// PingOne's options carry the challenge as signed bytes; the
				// flow keeps it as WebAuthn's base64url.
				var o struct{ Challenge []int8 }
				if err := json.Unmarshal([]byte(opts), &o); err != nil || len(o.Challenge) == 0 {
					t.Fatalf("request options %q: %v", opts, err)
				}
				challenge := make([]byte, len(o.Challenge))
				for i, b := range o.Challenge {
					challenge[i] = byte(b)
				}
				d := x.stored(t, x.fx.UserID, dev)
				var data map[string]map[string]any
				if err := json.Unmarshal(d.Data, &data); err != nil || data["fido2"] == nil {
					t.Fatalf("device data %s: %v", d.Data, err)
				}
				data["fido2"]["lastChallenge"] = base64.RawURLEncoding.EncodeToString(challenge)
				d.Data, _ = json.Marshal(data)
				if err := x.s.Store.UpdateMFADevice(context.Background(), &d); err != nil {
					t.Fatal(err)
				}
				// The loser's post, and one that loaded the flow after a
				// loser's refusal gave it a fresh challenge.
				body := credBody(t, fidoOrigin, "assertion", f.getAssertion(t, x.key, uv))
				for _, when := range []string{"same challenge", "after a fresh one"} {
					h := f.post(t, "assertion.check", body, http.StatusBadRequest)
					if ie := wantDetail(t, h, "INVALID_VALUE", "assertion"); ie != nil {
						t.Errorf("refusal %d, %s, counted: %v", i+1, when, ie)
					}
				}
				if f.get(t); f.status() != "ASSERTION_REQUIRED" || f.devices()[0]["userRetries"] != 0.0 {
					t.Fatalf("after refusal %d: %s %v", i+1, f.status(), f.devices())
				}
			}
			f.assert(t, x.key, uv, http.StatusOK)
			if sub, _, _, _ := f.claims(t); sub != x.fx.UserID {
				t.Errorf("sub %s", sub)
			}
		})
	}
}

// leaveRP leaves the relying party of every FIDO2 policy of the fixture's
// environment to Gatehouse, as a PUT of the base URL's host does: here an
// IP address, which no relying party can be.
func (x *fidoFixture) leaveRP(t *testing.T) {
	t.Helper()
	u, err := url.Parse(x.s.URL)
	if err != nil || net.ParseIP(u.Hostname()) == nil {
		t.Fatalf("the test server's base URL %q is not on an IP address", x.s.URL)
	}
	env := "/environments/" + x.fx.EnvID
	r := x.s.Do(t, apptest.Request{Method: "GET", URL: env + "/fido2Policies", Token: x.admin})
	for _, p := range r.JSON(t)["_embedded"].(map[string]any)["fido2Policies"].([]any) {
		p := p.(map[string]any)
		p["relyingPartyId"] = u.Hostname()
		if r := x.s.Do(t, apptest.Request{Method: "PUT", URL: env + "/fido2Policies/" + p["id"].(string), Token: x.admin, Body: p}); r.Status != http.StatusOK {
			t.Fatalf("FIDO2 policy: %d %s", r.Status, r.Body)
		}
	}
}

// TestFIDO2NoRelyingParty: on a base URL whose host is an IP address,
// with the FIDO2 policies leaving the relying party to Gatehouse, FIDO2
// cannot run: a flow offers no FIDO2 registration and no passkey sign-on
// without a username, and a user whose first device is a FIDO2 key (kept
// from when a relying party was named) is asked for another device's
// passcode instead of being stopped at a key that cannot answer.
func TestFIDO2NoRelyingParty(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newFIDOFixture(t, be.DSN(t))
			key, _ := x.registerKey(t, x.fx.EnvID, x.fx.UserID, x.key, passkey)
			email := x.device(t, x.fx.UserID, map[string]any{"type": "EMAIL", "email": x.fx.Email})
			other := x.s.CreateUser(t, x.fx.EnvID, x.fx.PopulationID, "new."+x.fx.Username, "new."+x.fx.Email, "N", "Ew", x.fx.Password)
			x.setMFAEnabled(t, other, true)
			keyOnly := x.s.CreateUser(t, x.fx.EnvID, x.fx.PopulationID, "key."+x.fx.Username, "key."+x.fx.Email, "K", "Ey", x.fx.Password)
			x.setMFAEnabled(t, keyOnly, true)
			x.registerKey(t, x.fx.EnvID, keyOnly, &fidotest.Authenticator{}, passkey)
			x.passwordless(t, "Passwordless", 2, map[string]any{"noDevicesMode": "BLOCK"})
			x.leaveRP(t)

			f := x.signOn(t, x.fx.Username)
			if f.status() != "OTP_REQUIRED" || f.last["selectedDevice"].(map[string]any)["id"] != email {
				t.Fatalf("the key first: %s %v", f.status(), f.last["selectedDevice"])
			}
			if ds := f.devices(); len(ds) != 1 || ds[0]["id"] != email {
				t.Errorf("_embedded.devices %v, want the email device only", ds)
			}
			wantDetail(t, f.post(t, "device.select", `{"device":{"id":"`+key+`"}}`, http.StatusBadRequest), "INVALID_VALUE", "device.id")
			f.post(t, "otp.check", `{"otp":"`+x.mailedCode(t, x.fx.Email)+`"}`, http.StatusOK)
			if acr, amr := f.finish(t); acr != "Multi_Factor" || !slices.Equal(amr, wantAMREmail) {
				t.Errorf("acr %q amr %v", acr, amr)
			}

			g := x.signOn(t, "new."+x.fx.Username)
			reg := g.last["_embedded"].(map[string]any)["deviceRegistration"].(map[string]any)
			if g.status() != "DEVICE_REGISTRATION_REQUIRED" || !slices.Equal(reg["types"].([]any), []any{"TOTP", "EMAIL"}) {
				t.Fatalf("without devices: %s %v", g.status(), reg)
			}
			wantDetail(t, g.post(t, "device.register", `{"type":"FIDO2"}`, http.StatusBadRequest), "INVALID_VALUE", "type")

			h, _ := x.authorize(t, browser(t), http.StatusOK, "acr_values", "Passwordless")
			if h.status() != "SIGN_ON_REQUIRED" || !slices.Equal(h.links(), []string{"session.reset", "user.lookup"}) || h.last["publicKeyCredentialRequestOptions"] != nil {
				t.Errorf("passwordless: %s %v", h.status(), h.links())
			}

			// A user whose only device is a key that cannot be asked for
			// is not without devices: BYPASS does not waive their MFA.
			x.setMFAAction(t, map[string]any{"noDevicesMode": "BYPASS"})
			k := x.signOn(t, "key."+x.fx.Username)
			if k.status() != "FAILED" || k.last["error"].(map[string]any)["code"] != "access_denied" {
				t.Errorf("a key only, BYPASS: %s %v", k.status(), k.last["error"])
			}
		})
	}
}
