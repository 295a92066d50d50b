package mgmt_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/fido"
	"github.com/gatehouse-id/gatehouse/internal/fido/fidotest"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// fido2Base is the base URL the FIDO2 tests serve on: a relying party
// needs a domain name.
const (
	fido2Base   = "http://login.gatehouse.test"
	fido2RPID   = "login.gatehouse.test"
	fido2Origin = "http://login.gatehouse.test"
)

// fido2Policies enable every device type; FIDO2 runs under the FIDO2
// policy the test names ("" = the environment's default) until it turns
// FIDO2 off.
type fido2Policies struct {
	mu       sync.Mutex
	policyID string
	off      bool
}

func (p *fido2Policies) set(policyID string, off bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.policyID, p.off = policyID, off
}

func (*fido2Policies) Settings(context.Context, string) (*mfa.Settings, error) {
	return &mfa.Settings{MaxDevices: 10}, nil
}

func (p *fido2Policies) Method(_ context.Context, _, _, typ string) (mfa.MethodPolicy, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := mfa.MethodPolicy{Enabled: true, OTPLifetime: 30 * time.Minute, OTPFailures: 3, CoolDown: 2 * time.Minute}
	if typ == mfa.TypeFIDO2 {
		m.Enabled, m.FIDO2PolicyID = !p.off, p.policyID
	}
	return m, nil
}

func TestFIDO2Devices(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			pols := &fido2Policies{}
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t), BaseURL: fido2Base, MFAPolicies: pols})
			testFIDO2Devices(t, s, pols)
		})
	}
}

// fido2Env is an environment of the FIDO2 tests, with two users.
type fido2Env struct {
	id           string
	alice, bob   string
	users        string
	passkeys     *fido.Policy // the default FIDO2 policy
	securityKeys *fido.Policy
	securityID   string
}

func newFIDO2Env(t *testing.T, s *apptest.Server, name string) *fido2Env {
	t.Helper()
	e := &fido2Env{id: newEnv(t, s, name, "SANDBOX")}
	pop := newPop(t, s, e.id, "Members")
	e.alice = s.CreateUser(t, e.id, pop, "alice", "alice@example.com", "Alice", "Liddell", "Correct-H0rse-Battery!")
	e.bob = s.CreateUser(t, e.id, pop, "bob", "bob@example.com", "Bob", "B", "Correct-H0rse-Battery!")
	e.users = "/environments/" + e.id + "/users/"
	ps, err := s.Store.ListFIDO2Policies(context.Background(), e.id)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		w := &wire.FIDO2Policy{ID: p.ID, Name: p.Name, Default: p.Default}
		if err := json.Unmarshal(p.Data, &w.FIDO2PolicyData); err != nil {
			t.Fatal(err)
		}
		if p.Default {
			e.passkeys = fido.PolicyOf(w)
		} else {
			e.securityKeys, e.securityID = fido.PolicyOf(w), p.ID
		}
	}
	if e.passkeys == nil || e.securityKeys == nil {
		t.Fatalf("FIDO2 policies of a new environment: %+v", ps)
	}
	return e
}

// pkce are the answers' flags under the default (Passkeys) policy: a
// user-verified passkey.
var passkeyFlags = fidotest.Flags{UV: true, BE: true, BS: true}

func testFIDO2Devices(t *testing.T, s *apptest.Server, pols *fido2Policies) {
	admin := s.AdminToken(t)
	ctx := context.Background()
	x := newFIDO2Env(t, s, "FIDO2 X")
	y := newFIDO2Env(t, s, "FIDO2 Y")
	rp, err := fido.NewRP(fido2Base, x.passkeys, "FIDO2 X")
	if err != nil {
		t.Fatal(err)
	}
	do := func(r apptest.Request) *apptest.Response {
		t.Helper()
		if r.Token == "" {
			r.Token = admin
		}
		return doNo5xx(t, s, r)
	}
	// create is step one: the device and its creation options.
	create := func(e *fido2Env, user string, body map[string]any) (map[string]any, string) {
		t.Helper()
		if body == nil {
			body = map[string]any{"type": "FIDO2", "rp": map[string]any{"id": fido2RPID, "name": "Gatehouse"}}
		}
		d := must(t, do(apptest.Request{Method: "POST", URL: e.users + user + "/devices", Body: body}), http.StatusCreated)
		opts, _ := d["publicKeyCredentialCreationOptions"].(string)
		if opts == "" {
			t.Fatalf("no creation options: %v", d)
		}
		return d, opts
	}
	activate := func(e *fido2Env, user, id string, body any) *apptest.Response {
		t.Helper()
		return do(apptest.Request{Method: "POST", URL: e.users + user + "/devices/" + id, Body: body, ContentType: ctDeviceActivate})
	}
	// stored is the device row, for "nothing written".
	stored := func(e *fido2Env, user, id string) store.MFADevice {
		t.Helper()
		d, err := s.Store.GetMFADevice(ctx, e.id, user, id)
		if err != nil {
			t.Fatal(err)
		}
		return *d
	}
	unchanged := func(t *testing.T, before, after store.MFADevice) {
		t.Helper()
		if before.Status != after.Status || before.CredentialID != after.CredentialID || !bytes.Equal(before.Data, after.Data) || !before.UpdatedAt.Equal(after.UpdatedAt) {
			t.Errorf("device written:\nbefore %+v\nafter  %+v", before, after)
		}
	}
	refused := func(t *testing.T, r *apptest.Response, status int, code, detail, target string) {
		t.Helper()
		if r.Status != status {
			t.Fatalf("status %d, want %d: %s", r.Status, status, trimBody(r.Body))
		}
		m := r.JSON(t)
		checkID(t, m, "id")
		wantFields(t, m, map[string]any{"code": code})
		if detail == "" {
			return
		}
		ds, _ := m["details"].([]any)
		if len(ds) != 1 {
			t.Fatalf("details = %v", m["details"])
		}
		d := ds[0].(map[string]any)
		if d["code"] != detail || d["target"] != target || d["message"] == "" {
			t.Errorf("detail = %v, want code %s target %s", d, detail, target)
		}
	}

	// Step one: 201 ACTIVATION_REQUIRED, PingOne's options as a JSON
	// string (binary members as arrays of signed bytes), the relying
	// party, the activation link.
	dev, optsJSON := create(x, x.alice, nil)
	devID := checkID(t, dev, "id")
	devices := x.users + x.alice + "/devices"
	wantFields(t, dev, map[string]any{"type": "FIDO2", "status": "ACTIVATION_REQUIRED", "user.id": x.alice, "environment.id": x.id,
		"rp": map[string]any{"id": fido2RPID, "name": "Gatehouse"}})
	if l, _ := get(dev, "_links").(map[string]any)["device.activate"].(map[string]any); l == nil || l["href"] != s.APIPath+devices+"/"+devID {
		t.Errorf("_links = %v, want device.activate", dev["_links"])
	}
	var opts map[string]any
	if err := json.Unmarshal([]byte(optsJSON), &opts); err != nil {
		t.Fatalf("options %q: %v", optsJSON, err)
	}
	challenge, _ := opts["challenge"].([]any)
	userID, _ := get(opts, "user.id").([]any)
	wantFields(t, opts, map[string]any{"rp.id": fido2RPID, "rp.name": "Gatehouse", "user.name": "alice", "user.displayName": "Alice Liddell",
		"attestation": "none", "timeout": 120000, "authenticatorSelection.residentKey": "required",
		"authenticatorSelection.requireResidentKey": true, "authenticatorSelection.userVerification": "required"})
	if len(challenge) < 16 || len(userID) != len(x.alice) {
		t.Errorf("challenge %v, user.id %v", challenge, userID)
	}
	// The options are the creation's alone: a GET shows no challenge.
	read := must(t, do(apptest.Request{Method: "GET", URL: devices + "/" + devID}), http.StatusOK)
	if _, ok := read["publicKeyCredentialCreationOptions"]; ok || read["status"] != "ACTIVATION_REQUIRED" {
		t.Errorf("GET = %v", read)
	}

	// Activation refused: PingOne's error, nothing written.
	key := &fidotest.Authenticator{}
	answer := func(t *testing.T, opts string, o fidotest.CreateOptions) []byte {
		t.Helper()
		if o.Origin == "" {
			o.Origin = fido2Origin
		}
		att, _, err := key.Create([]byte(opts), o)
		if err != nil {
			t.Fatal(err)
		}
		return att
	}
	_, bobOpts := create(x, x.bob, nil)
	_, strangerOpts := create(y, y.alice, nil)
	good := fidotest.CreateOptions{Resident: true, Flags: passkeyFlags}
	for _, c := range []struct {
		name   string
		body   func(t *testing.T) any
		status int
		code   string
		detail string
		target string
	}{
		{"wrong origin", func(t *testing.T) any {
			o := good
			o.Origin = "https://evil.test"
			return map[string]any{"origin": "https://evil.test", "attestation": string(answer(t, optsJSON, o))}
		}, 400, "INVALID_DATA", "INVALID_VALUE", "origin"},
		{"origin not the browser's", func(t *testing.T) any {
			o := good
			o.Origin = "https://evil.test"
			return map[string]any{"origin": fido2Origin, "attestation": string(answer(t, optsJSON, o))}
		}, 400, "INVALID_DATA", "INVALID_VALUE", "origin"},
		{"wrong RP ID", func(t *testing.T) any {
			o := good
			o.RPID = "evil.test"
			return map[string]any{"origin": fido2Origin, "attestation": string(answer(t, optsJSON, o))}
		}, 400, "INVALID_DATA", "INVALID_VALUE", "attestation"},
		{"another user's challenge", func(t *testing.T) any {
			return map[string]any{"origin": fido2Origin, "attestation": string(answer(t, bobOpts, good))}
		}, 400, "INVALID_DATA", "INVALID_VALUE", "attestation"},
		{"another environment's challenge", func(t *testing.T) any {
			return map[string]any{"origin": fido2Origin, "attestation": string(answer(t, strangerOpts, good))}
		}, 400, "INVALID_DATA", "INVALID_VALUE", "attestation"},
		{"no user verification", func(t *testing.T) any {
			o := good
			o.UV = false
			return map[string]any{"origin": fido2Origin, "attestation": string(answer(t, optsJSON, o))}
		}, 400, "INVALID_DATA", "INVALID_VALUE", "attestation"},
		{"garbage attestation", func(t *testing.T) any {
			return map[string]any{"origin": fido2Origin, "attestation": `{"id":"AAAA","response":{}}`}
		}, 400, "INVALID_DATA", "INVALID_VALUE", "attestation"},
		{"no origin", func(t *testing.T) any {
			return map[string]any{"attestation": string(answer(t, optsJSON, good))}
		}, 400, "INVALID_DATA", "REQUIRED_VALUE", "origin"},
		{"no attestation", func(t *testing.T) any { return map[string]any{"origin": fido2Origin} }, 400, "INVALID_DATA", "REQUIRED_VALUE", "attestation"},
		{"a passcode", func(t *testing.T) any { return map[string]any{"otp": "123456", "origin": fido2Origin} }, 400, "INVALID_DATA", "REQUIRED_VALUE", "attestation"},
		{"malformed JSON", func(t *testing.T) any { return `{"origin": ` }, 400, "INVALID_REQUEST", "", ""},
	} {
		t.Run("activation/"+c.name, func(t *testing.T) {
			before := stored(x, x.alice, devID)
			r := activate(x, x.alice, devID, c.body(t))
			refused(t, r, c.status, c.code, c.detail, c.target)
			unchanged(t, before, stored(x, x.alice, devID))
		})
	}
	t.Run("activation/expired", func(t *testing.T) {
		// The challenge ran out: the device's registration is kept as
		// though its time had passed.
		_, opts := create(x, x.alice, nil)
		list := must(t, do(apptest.Request{Method: "GET", URL: devices}), http.StatusOK)
		items := get(list, "_embedded.devices").([]any)
		id := items[len(items)-1].(map[string]any)["id"].(string)
		d := stored(x, x.alice, id)
		sess := fido.Pending(&d)
		sess.Expires = time.Now().Add(-time.Second).Unix()
		if err := fido.SetPending(&d, sess); err != nil {
			t.Fatal(err)
		}
		if err := s.Store.UpdateMFADevice(ctx, &d); err != nil {
			t.Fatal(err)
		}
		before := stored(x, x.alice, id)
		r := activate(x, x.alice, id, map[string]any{"origin": fido2Origin, "attestation": string(answer(t, opts, good))})
		refused(t, r, 400, "INVALID_DATA", "INVALID_VALUE", "attestation")
		unchanged(t, before, stored(x, x.alice, id))
		must(t, do(apptest.Request{Method: "DELETE", URL: devices + "/" + id}), http.StatusNoContent)
	})

	// Accepted: ACTIVE, the credential kept; PingOne's body (the
	// attestation as a JSON string, binary members in standard base64).
	att := answer(t, optsJSON, fidotest.CreateOptions{Resident: true, Flags: passkeyFlags, PingEncoding: true})
	var attString string
	if err := json.Unmarshal(att, &attString); err != nil {
		t.Fatalf("PingOne's attestation is a JSON string: %s", att)
	}
	active := must(t, activate(x, x.alice, devID, map[string]any{"origin": fido2Origin, "attestation": attString}), http.StatusOK)
	wantFields(t, active, map[string]any{"id": devID, "type": "FIDO2", "status": "ACTIVE", "rp": map[string]any{"id": fido2RPID, "name": "Gatehouse"}})
	if _, ok := get(active, "_links").(map[string]any)["device.activate"]; ok {
		t.Errorf("an ACTIVE device offers activation: %v", active["_links"])
	}
	row := stored(x, x.alice, devID)
	if row.CredentialID != key.Credentials()[len(key.Credentials())-1].IDString() {
		t.Errorf("credential id %q", row.CredentialID)
	}
	// A replayed activation: the device is active already.
	before := stored(x, x.alice, devID)
	refused(t, activate(x, x.alice, devID, map[string]any{"origin": fido2Origin, "attestation": attString}), 400, "INVALID_REQUEST", "INVALID_VALUE", "status")
	unchanged(t, before, stored(x, x.alice, devID))
	// The same authenticator again: the options exclude its credential,
	// so it refuses, as a browser does.
	again, againOpts := create(x, x.alice, nil)
	if _, _, err := key.Create([]byte(againOpts), fidotest.CreateOptions{Origin: fido2Origin, Resident: true, Flags: passkeyFlags}); !errors.Is(err, fidotest.ErrExcluded) {
		t.Errorf("registering the same authenticator twice: %v", err)
	}
	must(t, do(apptest.Request{Method: "DELETE", URL: devices + "/" + again["id"].(string)}), http.StatusNoContent)

	// A security key under the Security Keys policy: direct (packed)
	// attestation, cross-platform, no user verification asked.
	pols.set(x.securityID, false)
	skDev, skOpts := create(x, x.alice, map[string]any{"type": "FIDO2", "nickname": "YubiKey"})
	var sk map[string]any
	json.Unmarshal([]byte(skOpts), &sk)
	wantFields(t, sk, map[string]any{"attestation": "direct", "authenticatorSelection.authenticatorAttachment": "cross-platform",
		"authenticatorSelection.userVerification": "discouraged"})
	if ex, _ := sk["excludeCredentials"].([]any); len(ex) != 1 {
		t.Errorf("excludeCredentials = %v, want alice's passkey", sk["excludeCredentials"])
	}
	skKey := &fidotest.Authenticator{AAGUID: [16]byte{1, 2, 3}}
	skAtt, _, err := skKey.Create([]byte(skOpts), fidotest.CreateOptions{Origin: fido2Origin, Attestation: "packed", Attachment: "cross-platform"})
	if err != nil {
		t.Fatal(err)
	}
	skID := skDev["id"].(string)
	// A synced passkey is no security key: refused, nothing written.
	syncedAtt, _, _ := (&fidotest.Authenticator{}).Create([]byte(skOpts), fidotest.CreateOptions{Origin: fido2Origin, Flags: fidotest.Flags{BE: true}})
	before = stored(x, x.alice, skID)
	refused(t, activate(x, x.alice, skID, map[string]any{"origin": fido2Origin, "attestation": json.RawMessage(syncedAtt)}), 400, "INVALID_DATA", "INVALID_VALUE", "attestation")
	unchanged(t, before, stored(x, x.alice, skID))
	// The attestation as an object is taken too.
	must(t, activate(x, x.alice, skID, map[string]any{"origin": fido2Origin, "attestation": json.RawMessage(skAtt)}), http.StatusOK)
	pols.set("", false)

	// List and GET render FIDO2 devices; nickname and delete work.
	list := must(t, do(apptest.Request{Method: "GET", URL: devices}), http.StatusOK)
	var got []string
	for _, d := range get(list, "_embedded.devices").([]any) {
		m := d.(map[string]any)
		got = append(got, m["id"].(string)+"/"+m["status"].(string))
		if _, ok := m["publicKeyCredentialCreationOptions"]; ok {
			t.Errorf("listed device shows creation options: %v", m)
		}
	}
	if !slices.Contains(got, devID+"/ACTIVE") || !slices.Contains(got, skID+"/ACTIVE") {
		t.Errorf("devices = %v", got)
	}
	one := must(t, do(apptest.Request{Method: "GET", URL: devices + "/" + skID}), http.StatusOK)
	wantFields(t, one, map[string]any{"type": "FIDO2", "status": "ACTIVE", "nickname": "YubiKey", "rp.id": fido2RPID})
	nick := must(t, do(apptest.Request{Method: "PUT", URL: devices + "/" + skID + "/nickname", Body: map[string]any{"nickname": "Blue key"}}), http.StatusOK)
	wantFields(t, nick, map[string]any{"nickname": "Blue key", "status": "ACTIVE", "rp.id": fido2RPID})
	if r := stored(x, x.alice, skID); fido.CredentialOf(&r) == nil {
		t.Errorf("renaming lost the credential: %s", r.Data)
	}
	refused(t, do(apptest.Request{Method: "POST", URL: devices + "/" + skID, Body: map[string]any{}, ContentType: ctDeviceSendCode}), 400, "INVALID_REQUEST", "INVALID_VALUE", "status")

	// The creation's own refusals.
	pols.set("", true)
	r := do(apptest.Request{Method: "POST", URL: devices, Body: map[string]any{"type": "FIDO2"}})
	refused(t, r, 400, "INVALID_DATA", "INVALID_VALUE", "type")
	pols.set("", false)
	r = do(apptest.Request{Method: "POST", URL: devices, Body: map[string]any{"type": "FIDO2", "rp": map[string]any{"id": "pingone.com", "name": "PingOne"}}})
	refused(t, r, 400, "INVALID_DATA", "INVALID_VALUE", "rp.id")

	// Then the credential signs on: assertions of a device registered
	// through the management API.
	testFIDO2Assertions(t, s, x, y, rp, key, devID)

	// Deleted, the device is gone, and so is its credential.
	must(t, do(apptest.Request{Method: "DELETE", URL: devices + "/" + devID}), http.StatusNoContent)
	must(t, do(apptest.Request{Method: "GET", URL: devices + "/" + devID}), http.StatusNotFound)
	if _, err := s.Store.GetMFADeviceByCredential(ctx, x.id, row.CredentialID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted device's credential: %v", err)
	}
}

// testFIDO2Assertions: the credential of alice's device devID (on key)
// signs on; every refused assertion answers PingOne's error and writes
// nothing.
func testFIDO2Assertions(t *testing.T, s *apptest.Server, x, y *fido2Env, rp fido.RP, key *fidotest.Authenticator, devID string) {
	ctx := context.Background()
	now := time.Now()
	svc := &fido.Service{Store: s.Store, Now: func() time.Time { return now }}
	pol := x.passkeys
	alice, err := s.Store.GetUser(ctx, x.id, x.alice)
	if err != nil {
		t.Fatal(err)
	}
	bob, _ := s.Store.GetUser(ctx, x.id, x.bob)
	begin := func(t *testing.T, u *store.User) (json.RawMessage, *fido.Session) {
		t.Helper()
		var devs []store.MFADevice
		if u != nil {
			devs, _ = s.Store.ListMFADevices(ctx, u.EnvironmentID, u.ID)
		}
		opts, sess, err := svc.BeginAssertion(ctx, u, devs, pol, rp)
		if err != nil {
			t.Fatal(err)
		}
		return opts, sess
	}
	cred := func() *fidotest.Credential {
		cs := key.Credentials()
		row, _ := s.Store.GetMFADevice(ctx, x.id, x.alice, devID)
		for _, c := range cs {
			if c.IDString() == row.CredentialID {
				return c
			}
		}
		t.Fatal("the device's credential is not the key's")
		return nil
	}()
	sign := func(t *testing.T, opts json.RawMessage, o fidotest.GetOptions) []byte {
		t.Helper()
		if o.Origin == "" {
			o.Origin = fido2Origin
		}
		if o.Credential == nil {
			o.Credential = cred.ID
		}
		b, err := key.Get(opts, o)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	finish := func(envID string, sess *fido.Session, origin string, answer []byte) (*store.MFADevice, error) {
		return svc.FinishAssertion(ctx, envID, sess, origin, answer, pol, rp)
	}
	stored := func() store.MFADevice {
		d, err := s.Store.GetMFADevice(ctx, x.id, x.alice, devID)
		if err != nil {
			t.Fatal(err)
		}
		return *d
	}

	// Signs on: as a second factor, and without a username.
	for _, u := range []*store.User{alice, nil} {
		opts, sess := begin(t, u)
		d, err := finish(x.id, sess, fido2Origin, sign(t, opts, fidotest.GetOptions{Flags: passkeyFlags}))
		if err != nil || d.ID != devID || d.UserID != x.alice {
			t.Fatalf("FinishAssertion = %+v, %v", d, err)
		}
	}
	if c := fido.CredentialOf(ptr(stored())); c.SignCount != cred.Counter {
		t.Errorf("sign count %d, want %d", c.SignCount, cred.Counter)
	}

	back := uint32(1)
	for _, c := range []struct {
		name   string
		target string
		run    func(t *testing.T) error
	}{
		{"replayed assertion", "assertion", func(t *testing.T) error {
			opts, sess := begin(t, alice)
			a := sign(t, opts, fidotest.GetOptions{Flags: passkeyFlags})
			if _, err := finish(x.id, sess, fido2Origin, a); err != nil {
				t.Fatal(err)
			}
			before := stored()
			_, err := finish(x.id, sess, fido2Origin, a)
			if after := stored(); !bytes.Equal(before.Data, after.Data) {
				t.Errorf("replay wrote %s", after.Data)
			}
			return err
		}},
		{"wrong origin", "origin", func(t *testing.T) error {
			opts, sess := begin(t, alice)
			_, err := finish(x.id, sess, "https://evil.test", sign(t, opts, fidotest.GetOptions{Origin: "https://evil.test", Flags: passkeyFlags}))
			return err
		}},
		{"wrong RP ID", "assertion", func(t *testing.T) error {
			opts, sess := begin(t, alice)
			_, err := finish(x.id, sess, fido2Origin, sign(t, opts, fidotest.GetOptions{RPID: "gatehouse.test", Flags: passkeyFlags}))
			return err
		}},
		{"cloned authenticator", "assertion", func(t *testing.T) error {
			opts, sess := begin(t, alice)
			_, err := finish(x.id, sess, fido2Origin, sign(t, opts, fidotest.GetOptions{Counter: &back, Flags: passkeyFlags}))
			return err
		}},
		{"expired challenge", "assertion", func(t *testing.T) error {
			opts, sess := begin(t, alice)
			a := sign(t, opts, fidotest.GetOptions{Flags: passkeyFlags})
			later := &fido.Service{Store: s.Store, Now: func() time.Time { return now.Add(pol.Timeout + time.Second) }}
			_, err := later.FinishAssertion(ctx, x.id, sess, fido2Origin, a, pol, rp)
			return err
		}},
		{"foreign challenge", "assertion", func(t *testing.T) error {
			other, _ := begin(t, alice)
			_, sess := begin(t, alice)
			_, err := finish(x.id, sess, fido2Origin, sign(t, other, fidotest.GetOptions{Flags: passkeyFlags}))
			return err
		}},
		{"no user verification", "assertion", func(t *testing.T) error {
			opts, sess := begin(t, alice)
			_, err := finish(x.id, sess, fido2Origin, sign(t, opts, fidotest.GetOptions{Flags: fidotest.Flags{BE: true, BS: true}}))
			return err
		}},
		{"another user's credential", "assertion", func(t *testing.T) error {
			// A sign-on of bob's answered with alice's credential.
			opts, sess := begin(t, nil)
			sess.UserID, sess.EnvironmentID = bob.ID, bob.EnvironmentID
			_, err := finish(x.id, sess, fido2Origin, sign(t, opts, fidotest.GetOptions{Flags: passkeyFlags}))
			return err
		}},
		{"another environment's credential", "assertion", func(t *testing.T) error {
			opts, sess := begin(t, nil)
			_, err := finish(y.id, sess, fido2Origin, sign(t, opts, fidotest.GetOptions{Flags: passkeyFlags}))
			return err
		}},
		{"garbage", "assertion", func(t *testing.T) error {
			_, sess := begin(t, alice)
			_, err := finish(x.id, sess, fido2Origin, []byte(`{"id":`))
			return err
		}},
	} {
		t.Run("assertion/"+c.name, func(t *testing.T) {
			before := stored()
			err := c.run(t)
			var we *wire.Error
			if !errors.As(fido.WireError(err), &we) || we.Status != 400 || we.Code != "INVALID_DATA" || len(we.Details) != 1 ||
				we.Details[0].Code != "INVALID_VALUE" || we.Details[0].Target != c.target || we.Details[0].Message == "" {
				t.Fatalf("refusal %v = %+v", err, we)
			}
			if c.name != "replayed assertion" {
				after := stored()
				if !bytes.Equal(before.Data, after.Data) || !before.UpdatedAt.Equal(after.UpdatedAt) {
					t.Errorf("device written:\nbefore %s\nafter  %s", before.Data, after.Data)
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestFIDO2DevicesConfigured: without a test's policies, FIDO2 devices
// register under the environment's default device authentication policy
// (FIDO2 enabled, PingOne's default) and its default FIDO2 policy, read
// through the configuration: a change to the policy applies to the next
// registration.
func TestFIDO2DevicesConfigured(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t), BaseURL: fido2Base})
			admin := s.AdminToken(t)
			x := newFIDO2Env(t, s, "FIDO2 configured")
			devices := x.users + x.alice + "/devices"
			key := &fidotest.Authenticator{}
			register := func(t *testing.T, wantRPID string) {
				t.Helper()
				d := must(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: devices, Token: admin, Body: map[string]any{"type": "FIDO2"}}), http.StatusCreated)
				opts := d["publicKeyCredentialCreationOptions"].(string)
				var o map[string]any
				json.Unmarshal([]byte(opts), &o)
				wantFields(t, o, map[string]any{"rp.id": wantRPID, "rp.name": "FIDO2 configured", "attestation": "none",
					"authenticatorSelection.residentKey": "required", "authenticatorSelection.userVerification": "required"})
				att, _, err := key.Create([]byte(opts), fidotest.CreateOptions{Origin: fido2Origin, Resident: true, Flags: passkeyFlags})
				if err != nil {
					t.Fatal(err)
				}
				r := doNo5xx(t, s, apptest.Request{Method: "POST", URL: devices + "/" + d["id"].(string), Token: admin, ContentType: ctDeviceActivate,
					Body: map[string]any{"origin": fido2Origin, "attestation": string(att)}})
				wantFields(t, must(t, r, http.StatusOK), map[string]any{"status": "ACTIVE", "rp.id": wantRPID})
			}
			register(t, fido2RPID)

			// The default FIDO2 policy names a parent domain: the next
			// registration's relying party is it.
			pol := "/environments/" + x.id + "/fido2Policies/" + x.passkeys.ID
			p := must(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: pol, Token: admin}), http.StatusOK)
			p["relyingPartyId"] = "gatehouse.test"
			must(t, doNo5xx(t, s, apptest.Request{Method: "PUT", URL: pol, Token: admin, Body: p}), http.StatusOK)
			register(t, "gatehouse.test")
		})
	}
}

// TestFIDO2DevicesIPBase: a base URL whose host is an IP address (the
// default) cannot be a relying party; with the FIDO2 policy leaving the
// relying party to Gatehouse, a FIDO2 device is refused with PingOne's
// 400 saying so, and nothing is written.
func TestFIDO2DevicesIPBase(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t), BaseURL: "http://127.0.0.1:8080"})
			admin := s.AdminToken(t)
			x := newFIDO2Env(t, s, "FIDO2 on an IP address")
			devices := x.users + x.alice + "/devices"
			e := must(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: devices, Token: admin, Body: map[string]any{"type": "FIDO2"}}), http.StatusBadRequest)
			ds, _ := e["details"].([]any)
			if e["code"] != "INVALID_DATA" || len(ds) != 1 {
				t.Fatalf("error = %v", e)
			}
			d := ds[0].(map[string]any)
			if d["code"] != "INVALID_VALUE" || d["target"] != "relyingPartyId" ||
				d["message"] != "The environment's base URL is an IP address; FIDO2 needs a domain name as its relying party ID (set the FIDO2 policy's relyingPartyId, or serve Gatehouse on a domain name)." {
				t.Errorf("detail = %v", d)
			}
			l := must(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: devices, Token: admin}), http.StatusOK)
			if n := len(l["_embedded"].(map[string]any)["devices"].([]any)); n != 0 {
				t.Errorf("devices after a refused creation: %d", n)
			}
		})
	}
}
