package fido_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/fido"
	"github.com/gatehouse-id/gatehouse/internal/fido/fidotest"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

const (
	base   = "https://login.example.test"
	origin = "https://login.example.test"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	svc          *fido.Service
	st           store.Store
	clock        *clock
	rp           fido.RP
	user, other  *store.User // other: same environment
	stranger     *store.User // another environment
	strangerEnvs string
}

func setup(t testing.TB, dsn string) *fixture {
	t.Helper()
	s := apptest.Start(t, apptest.Options{DSN: dsn})
	admin := s.AdminToken(t)
	ctx := context.Background()
	f := &fixture{st: s.Store, clock: &clock{t: time.Now().UTC().Truncate(time.Second)}}
	f.svc = &fido.Service{Store: s.Store, Now: f.clock.now}
	rp, err := fido.NewRP(base, nil, "Gatehouse")
	if err != nil {
		t.Fatal(err)
	}
	f.rp = rp
	for i, env := range []string{"FIDO A", "FIDO B"} {
		e := s.Do(t, apptest.Request{Method: "POST", URL: "/environments", Token: admin,
			Body: map[string]any{"name": env, "type": "SANDBOX", "region": "NA", "license": map[string]any{"id": s.LicenseID(t)}}})
		envID := e.JSON(t)["id"].(string)
		pop := s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + envID + "/populations", Token: admin, Body: map[string]any{"name": "P"}})
		popID := pop.JSON(t)["id"].(string)
		names := []string{"erin", "frank"}
		if i == 1 {
			names = []string{"grace"}
		}
		for _, name := range names {
			id := s.CreateUser(t, envID, popID, name, name+"@example.com", "E", "F", "Correct-H0rse-Battery!")
			u, err := s.Store.GetUser(ctx, envID, id)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case f.user == nil:
				f.user = u
			case f.other == nil:
				f.other = u
			default:
				f.stranger = u
			}
		}
	}
	return f
}

// register registers a credential of a for u under pol, as the
// management API's two steps do, and stores the device.
func (f *fixture) register(t testing.TB, u *store.User, a *fidotest.Authenticator, pol *fido.Policy, o fidotest.CreateOptions) *store.MFADevice {
	t.Helper()
	ctx := context.Background()
	opts, sess, err := f.svc.BeginRegistration(ctx, u, nil, pol, f.rp)
	if err != nil {
		t.Fatal(err)
	}
	if o.Origin == "" {
		o.Origin = origin
	}
	att, _, err := a.Create(opts, o)
	if err != nil {
		t.Fatal(err)
	}
	now := f.clock.now()
	d := &store.MFADevice{ID: uuid.NewString(), EnvironmentID: u.EnvironmentID, UserID: u.ID, Type: fido.DeviceType,
		Status: "ACTIVATION_REQUIRED", CreatedAt: now, UpdatedAt: now}
	if err := f.svc.FinishRegistration(ctx, u, d, sess, origin, att, pol, f.rp); err != nil {
		t.Fatalf("FinishRegistration: %v", err)
	}
	if err := f.st.CreateMFADevice(ctx, d); err != nil {
		t.Fatal(err)
	}
	return d
}

func kindOf(t *testing.T, err error) string {
	t.Helper()
	var e *fido.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want a *fido.Error", err)
	}
	w := fido.WireError(err)
	var we *wire.Error
	if !errors.As(w, &we) || we.Status != 400 || we.Code != wire.CodeInvalidData || len(we.Details) != 1 || we.Details[0].Message == "" {
		t.Fatalf("WireError(%v) = %+v", err, w)
	}
	return e.Kind
}

func TestService(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, b.DSN(t))
			t.Run("RegisterAndAssert", func(t *testing.T) { testRegisterAndAssert(t, f) })
			t.Run("Discoverable", func(t *testing.T) { testDiscoverable(t, f) })
			t.Run("AssertionRefused", func(t *testing.T) { testAssertionRefused(t, f) })
			t.Run("RegistrationRefused", func(t *testing.T) { testRegistrationRefused(t, f) })
			t.Run("ActiveNotRegisteredAgain", func(t *testing.T) { testActiveNotRegisteredAgain(t, f) })
			t.Run("AllowList", func(t *testing.T) { testAllowList(t, f) })
		})
	}
}

func testRegisterAndAssert(t *testing.T, f *fixture) {
	ctx := context.Background()
	for _, tc := range []struct {
		att  string
		ping bool // answers encoded as PingOne's sample page encodes them
	}{{"none", false}, {"packed", false}, {"packed", true}} {
		att := tc.att
		t.Run(att+map[bool]string{true: "/PingEncoding"}[tc.ping], func(t *testing.T) {
			a := &fidotest.Authenticator{AAGUID: uuid.New()}
			pol := &fido.Policy{Attestation: fido.AttestationDirect, UserVerification: fido.Preferred, BackupAllowed: true}
			d := f.register(t, f.user, a, pol, fidotest.CreateOptions{Attestation: att, Counter: 5, Flags: fidotest.Flags{UV: true}, PingEncoding: tc.ping})
			c := fido.CredentialOf(d)
			if d.Status != "ACTIVE" || c == nil || c.ID != a.Credentials()[0].IDString() || c.AttestationFormat != att ||
				c.SignCount != 5 || c.RPID != "login.example.test" || c.AAGUID != uuid.UUID(a.AAGUID).String() || !c.UserVerified {
				t.Fatalf("device %+v, credential %+v", d, c)
			}
			devs, _ := f.st.ListMFADevices(ctx, f.user.EnvironmentID, f.user.ID)
			opts, sess, err := f.svc.BeginAssertion(ctx, f.user, devs, pol, f.rp)
			if err != nil {
				t.Fatal(err)
			}
			var o map[string]any
			if json.Unmarshal(opts, &o) != nil || o["rpId"] != "login.example.test" || len(o["allowCredentials"].([]any)) == 0 {
				t.Fatalf("options %s", opts)
			}
			answer, err := a.Get(opts, fidotest.GetOptions{Origin: origin, PingEncoding: tc.ping})
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.svc.FinishAssertion(ctx, f.user.EnvironmentID, sess, origin, answer, pol, f.rp)
			if err != nil || got.ID != d.ID || got.UserID != f.user.ID {
				t.Fatalf("FinishAssertion = %+v, %v", got, err)
			}
			stored, _ := f.st.GetMFADevice(ctx, d.EnvironmentID, d.UserID, d.ID)
			if fido.CredentialOf(stored).SignCount != 6 {
				t.Errorf("sign count %d, want 6", fido.CredentialOf(stored).SignCount)
			}
		})
	}
}

func testDiscoverable(t *testing.T, f *fixture) {
	ctx := context.Background()
	a := &fidotest.Authenticator{}
	pol := &fido.Policy{ResidentKey: fido.Required, UserVerification: fido.Required, BackupAllowed: true}
	d := f.register(t, f.other, a, pol, fidotest.CreateOptions{Resident: true, Flags: fidotest.Flags{UV: true, BE: true, BS: true}})
	opts, sess, err := f.svc.BeginAssertion(ctx, nil, nil, pol, f.rp)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(opts, []byte("allowCredentials")) || sess.UserID != "" || sess.UserVerification != "required" {
		t.Fatalf("options %s, session %+v", opts, sess)
	}
	answer, err := a.Get(opts, fidotest.GetOptions{Origin: origin, Flags: fidotest.Flags{UV: true, BE: true, BS: true}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.svc.FinishAssertion(ctx, f.other.EnvironmentID, sess, origin, answer, pol, f.rp)
	if err != nil || got.ID != d.ID || got.UserID != f.other.ID {
		t.Fatalf("FinishAssertion = %+v, %v", got, err)
	}
}

// testAssertionRefused: every refused assertion names why and writes
// nothing: the device row is as it was.
func testAssertionRefused(t *testing.T, f *fixture) {
	ctx := context.Background()
	strict := &fido.Policy{UserVerification: fido.Required, EnforceUV: true, BackupAllowed: true, ResidentKey: fido.Preferred}
	a := &fidotest.Authenticator{}
	d := f.register(t, f.user, a, strict, fidotest.CreateOptions{Resident: true, Counter: 10, Flags: fidotest.Flags{UV: true}})
	uv := fidotest.Flags{UV: true}
	begin := func(t *testing.T, u *store.User) (json.RawMessage, *fido.Session) {
		t.Helper()
		var devs []store.MFADevice
		if u != nil {
			devs, _ = f.st.ListMFADevices(ctx, u.EnvironmentID, u.ID)
		}
		opts, sess, err := f.svc.BeginAssertion(ctx, u, devs, strict, f.rp)
		if err != nil {
			t.Fatal(err)
		}
		return opts, sess
	}
	get := func(t *testing.T, opts json.RawMessage, o fidotest.GetOptions) []byte {
		t.Helper()
		if o.Origin == "" {
			o.Origin = origin
		}
		b, err := a.Get(opts, o)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	zero := uint32(0)
	back := uint32(3)
	for _, tc := range []struct {
		name string
		kind string
		// run answers and returns FinishAssertion's error.
		run func(t *testing.T) error
	}{
		{"Replayed", fido.KindReplay, func(t *testing.T) error {
			opts, sess := begin(t, f.user)
			answer := get(t, opts, fidotest.GetOptions{Flags: uv})
			if _, err := f.svc.FinishAssertion(ctx, f.user.EnvironmentID, sess, origin, answer, strict, f.rp); err != nil {
				t.Fatalf("first answer: %v", err)
			}
			before := row(t, f, d)
			_, err := f.svc.FinishAssertion(ctx, f.user.EnvironmentID, sess, origin, answer, strict, f.rp)
			same(t, before, row(t, f, d))
			return err
		}},
		{"ReplayedToNewSession", fido.KindChallenge, func(t *testing.T) error {
			opts, sess := begin(t, f.user)
			answer := get(t, opts, fidotest.GetOptions{Flags: uv})
			if _, err := f.svc.FinishAssertion(ctx, f.user.EnvironmentID, sess, origin, answer, strict, f.rp); err != nil {
				t.Fatalf("first answer: %v", err)
			}
			_, sess2 := begin(t, f.user)
			_, err := f.svc.FinishAssertion(ctx, f.user.EnvironmentID, sess2, origin, answer, strict, f.rp)
			return err
		}},
		{"OriginNotTheRelyingParty", fido.KindOrigin, func(t *testing.T) error {
			opts, sess := begin(t, f.user)
			answer := get(t, opts, fidotest.GetOptions{Origin: "https://evil.test", Flags: uv})
			_, err := f.svc.FinishAssertion(ctx, f.user.EnvironmentID, sess, "https://evil.test", answer, strict, f.rp)
			return err
		}},
		{"OriginNotTheClients", fido.KindOrigin, func(t *testing.T) error {
			opts, sess := begin(t, f.user)
			answer := get(t, opts, fidotest.GetOptions{Origin: "https://evil.test", Flags: uv})
			_, err := f.svc.FinishAssertion(ctx, f.user.EnvironmentID, sess, origin, answer, strict, f.rp)
			return err
		}},
		{"WrongRPID", fido.KindRelyingParty, func(t *testing.T) error {
			opts, sess := begin(t, f.user)
			answer := get(t, opts, fidotest.GetOptions{RPID: "evil.test", Flags: uv})
			_, err := f.svc.FinishAssertion(ctx, f.user.EnvironmentID, sess, origin, answer, strict, f.rp)
			return err
		}},
		{"CounterGoesBack", fido.KindClone, func(t *testing.T) error {
			opts, sess := begin(t, f.user)
			answer := get(t, opts, fidotest.GetOptions{Counter: &back, Flags: uv})
			_, err := f.svc.FinishAssertion(ctx, f.user.EnvironmentID, sess, origin, answer, strict, f.rp)
			return err
		}},
		{"CounterZeroAfterNonZero", fido.KindClone, func(t *testing.T) error {
			opts, sess := begin(t, f.user)
			answer := get(t, opts, fidotest.GetOptions{Counter: &zero, Flags: uv})
			_, err := f.svc.FinishAssertion(ctx, f.user.EnvironmentID, sess, origin, answer, strict, f.rp)
			return err
		}},
		{"Expired", fido.KindExpired, func(t *testing.T) error {
			opts, sess := begin(t, f.user)
			answer := get(t, opts, fidotest.GetOptions{Flags: uv})
			f.clock.add(fido.DefaultTimeout + time.Second)
			defer f.clock.add(-fido.DefaultTimeout - time.Second)
			_, err := f.svc.FinishAssertion(ctx, f.user.EnvironmentID, sess, origin, answer, strict, f.rp)
			return err
		}},
		{"ForeignChallenge", fido.KindChallenge, func(t *testing.T) error {
			other, _ := begin(t, f.user)
			_, sess := begin(t, f.user)
			answer := get(t, other, fidotest.GetOptions{Flags: uv})
			_, err := f.svc.FinishAssertion(ctx, f.user.EnvironmentID, sess, origin, answer, strict, f.rp)
			return err
		}},
		{"NoUserVerification", fido.KindUserVerification, func(t *testing.T) error {
			opts, sess := begin(t, f.user)
			answer := get(t, opts, fidotest.GetOptions{})
			_, err := f.svc.FinishAssertion(ctx, f.user.EnvironmentID, sess, origin, answer, strict, f.rp)
			return err
		}},
		{"AnotherUsersCredential", fido.KindUnknownCredential, func(t *testing.T) error {
			// frank's sign-on, answered with erin's credential.
			b := &fidotest.Authenticator{}
			f.register(t, f.other, b, strict, fidotest.CreateOptions{Flags: uv})
			opts, sess := begin(t, f.other)
			answer := get(t, opts, fidotest.GetOptions{Credential: a.Credentials()[0].ID, Flags: uv})
			if _, err := f.svc.FinishAssertion(ctx, f.user.EnvironmentID, sess, origin, answer, strict, f.rp); kindOf(t, err) != fido.KindUnknownCredential {
				t.Errorf("with frank's allowed credentials: %v", err)
			}
			// Without allowed credentials the device's owner still decides.
			open := *sess
			open.AllowCredentials = nil
			_, err := f.svc.FinishAssertion(ctx, f.user.EnvironmentID, &open, origin, answer, strict, f.rp)
			return err
		}},
		{"AnotherEnvironmentsCredential", fido.KindUnknownCredential, func(t *testing.T) error {
			opts, sess := begin(t, nil)
			answer := get(t, opts, fidotest.GetOptions{Flags: uv})
			_, err := f.svc.FinishAssertion(ctx, f.stranger.EnvironmentID, sess, origin, answer, strict, f.rp)
			return err
		}},
		{"Garbage", fido.KindMalformed, func(t *testing.T) error {
			_, sess := begin(t, f.user)
			_, err := f.svc.FinishAssertion(ctx, f.user.EnvironmentID, sess, origin, []byte(`{"id":"x","rawId":`), strict, f.rp)
			return err
		}},
		{"NoSession", fido.KindSession, func(t *testing.T) error {
			opts, _ := begin(t, f.user)
			answer := get(t, opts, fidotest.GetOptions{Flags: uv})
			_, err := f.svc.FinishAssertion(ctx, f.user.EnvironmentID, nil, origin, answer, strict, f.rp)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := row(t, f, d)
			err := tc.run(t)
			if k := kindOf(t, err); k != tc.kind {
				t.Errorf("refused as %s (%v), want %s", k, err, tc.kind)
			}
			if tc.name != "Replayed" && tc.name != "ReplayedToNewSession" {
				same(t, before, row(t, f, d))
			}
		})
	}
}

func testRegistrationRefused(t *testing.T, f *fixture) {
	ctx := context.Background()
	aaguid := uuid.New()
	for _, tc := range []struct {
		name string
		pol  fido.Policy
		o    fidotest.CreateOptions
		// origin is what the caller says; "" = the right one.
		origin string
		mangle func(sess *fido.Session, att []byte) []byte
		kind   string
	}{
		{name: "WrongOrigin", o: fidotest.CreateOptions{Origin: "https://evil.test"}, origin: "https://evil.test", kind: fido.KindOrigin},
		{name: "OriginNotTheClients", o: fidotest.CreateOptions{Origin: "https://evil.test"}, kind: fido.KindOrigin},
		{name: "WrongRPID", o: fidotest.CreateOptions{RPID: "evil.test"}, kind: fido.KindRelyingParty},
		{name: "ForeignChallenge", o: fidotest.CreateOptions{Challenge: []byte("another ceremony's challenge!!")}, kind: fido.KindChallenge},
		{name: "NoUserVerification", pol: fido.Policy{UserVerification: fido.Required}, kind: fido.KindUserVerification},
		{name: "BackupNotAllowed", o: fidotest.CreateOptions{Flags: fidotest.Flags{BE: true, BS: true}}, kind: fido.KindPolicy},
		{name: "PlatformOnly", pol: fido.Policy{Attachment: fido.AttachmentPlatform}, o: fidotest.CreateOptions{Attachment: "cross-platform"}, kind: fido.KindPolicy},
		{name: "NotDiscoverable", pol: fido.Policy{ResidentKey: fido.Required}, kind: fido.KindPolicy},
		{name: "AAGUIDNotAllowed", pol: fido.Policy{MDSOption: fido.MDSSpecific, AllowedAAGUIDs: []string{aaguid.String()}}, kind: fido.KindPolicy},
		{name: "Garbage", mangle: func(_ *fido.Session, _ []byte) []byte { return []byte(`"not json`) }, kind: fido.KindMalformed},
		{name: "Expired", mangle: func(sess *fido.Session, att []byte) []byte { sess.Expires = 1; return att }, kind: fido.KindExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pol := tc.pol
			opts, sess, err := f.svc.BeginRegistration(ctx, f.user, nil, &pol, f.rp)
			if err != nil {
				t.Fatal(err)
			}
			o := tc.o
			if o.Origin == "" {
				o.Origin = origin
			}
			att, _, err := (&fidotest.Authenticator{}).Create(opts, o)
			if err != nil {
				t.Fatal(err)
			}
			if tc.mangle != nil {
				att = tc.mangle(sess, att)
			}
			at := tc.origin
			if at == "" {
				at = origin
			}
			d := &store.MFADevice{ID: uuid.NewString(), EnvironmentID: f.user.EnvironmentID, UserID: f.user.ID, Type: fido.DeviceType, Status: "ACTIVATION_REQUIRED"}
			before := *d
			err = f.svc.FinishRegistration(ctx, f.user, d, sess, at, att, &pol, f.rp)
			if k := kindOf(t, err); k != tc.kind {
				t.Errorf("refused as %s (%v), want %s", k, err, tc.kind)
			}
			if d.Status != before.Status || d.CredentialID != "" || d.Data != nil {
				t.Errorf("device changed: %+v", d)
			}
		})
	}
}

// testActiveNotRegisteredAgain: a registration answered for a device
// that is ACTIVE already (a flow's or a replayed activation) is refused
// and leaves the device as it was: accepted, it would put another key in
// place of the one the device was proven with.
func testActiveNotRegisteredAgain(t *testing.T, f *fixture) {
	ctx := context.Background()
	pol := &fido.Policy{UserVerification: fido.Preferred, BackupAllowed: true}
	d := f.register(t, f.user, &fidotest.Authenticator{}, pol, fidotest.CreateOptions{})
	before := row(t, f, d)
	opts, sess, err := f.svc.BeginRegistration(ctx, f.user, nil, pol, f.rp)
	if err != nil {
		t.Fatal(err)
	}
	att, _, err := (&fidotest.Authenticator{}).Create(opts, fidotest.CreateOptions{Origin: origin})
	if err != nil {
		t.Fatal(err)
	}
	active := before
	err = f.svc.FinishRegistration(ctx, f.user, &active, sess, origin, att, pol, f.rp)
	if k := kindOf(t, err); k != fido.KindSession {
		t.Errorf("refused as %s (%v), want %s", k, err, fido.KindSession)
	}
	if active.CredentialID != before.CredentialID || !bytes.Equal(active.Data, before.Data) {
		t.Errorf("the active device's credential was replaced:\nbefore %+v\nafter  %+v", before, active)
	}
}

// row is the stored device, for comparing before and after.
func row(t *testing.T, f *fixture, d *store.MFADevice) store.MFADevice {
	t.Helper()
	got, err := f.st.GetMFADevice(context.Background(), d.EnvironmentID, d.UserID, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	return *got
}

func same(t *testing.T, a, b store.MFADevice) {
	t.Helper()
	if a.Status != b.Status || a.CredentialID != b.CredentialID || !bytes.Equal(a.Data, b.Data) || !a.UpdatedAt.Equal(b.UpdatedAt) {
		t.Errorf("device written:\nbefore %+v\nafter  %+v", a, b)
	}
}

// testAllowList: Gatehouse has no FIDO metadata service, so under SPECIFIC
// only an attestation certificate (x5c) vouches for the AAGUID — and even
// that is not anchored to a vendor's root. An answer without one (none,
// or self attestation) is refused whatever AAGUID it claims; CERTIFIED and
// GLOBAL are not enforced.
func testAllowList(t *testing.T, f *fixture) {
	ctx := context.Background()
	listed, unlisted := uuid.New(), uuid.New()
	specific := fido.Policy{Attestation: fido.AttestationDirect, MDSOption: fido.MDSSpecific, AllowedAAGUIDs: []string{listed.String()}}
	for _, tc := range []struct {
		name        string
		mds         string // "" = specific
		attestation string
		aaguid      uuid.UUID
		refused     string // the message's start; "" = registered
	}{
		{"none, a listed AAGUID", "", "none", listed, "The FIDO2 policy allows only listed authenticator models, and this authenticator's attestation (none)"},
		{"self, a listed AAGUID", "", "packed", listed, "The FIDO2 policy allows only listed authenticator models, and this authenticator's attestation (self)"},
		{"certificate, a listed AAGUID", "", "packed-x5c", listed, ""},
		{"certificate, an unlisted AAGUID", "", "packed-x5c", unlisted, "The FIDO2 policy does not allow this authenticator model"},
		{"CERTIFIED, no attestation", "CERTIFIED", "none", unlisted, ""},
		{"GLOBAL, no attestation", "GLOBAL", "none", unlisted, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pol := specific
			if tc.mds != "" {
				pol.MDSOption = tc.mds
			}
			opts, sess, err := f.svc.BeginRegistration(ctx, f.other, nil, &pol, f.rp)
			if err != nil {
				t.Fatal(err)
			}
			att, _, err := (&fidotest.Authenticator{AAGUID: tc.aaguid}).Create(opts, fidotest.CreateOptions{Origin: origin, Attestation: tc.attestation})
			if err != nil {
				t.Fatal(err)
			}
			d := &store.MFADevice{ID: uuid.NewString(), EnvironmentID: f.other.EnvironmentID, UserID: f.other.ID, Type: fido.DeviceType, Status: "ACTIVATION_REQUIRED"}
			err = f.svc.FinishRegistration(ctx, f.other, d, sess, origin, att, &pol, f.rp)
			if tc.refused == "" {
				if err != nil || d.Status != "ACTIVE" {
					t.Fatalf("FinishRegistration: %v (%+v)", err, d)
				}
				return
			}
			var e *fido.Error
			if k := kindOf(t, err); k != fido.KindPolicy || !errors.As(err, &e) || e.Target != "attestation" || !strings.HasPrefix(e.Message, tc.refused) {
				t.Errorf("refused as %s: %v, want %q", k, err, tc.refused)
			}
			if d.Status != "ACTIVATION_REQUIRED" || d.CredentialID != "" || d.Data != nil {
				t.Errorf("device changed: %+v", d)
			}
		})
	}

	// Enforced at sign-on, a key registered without a certificate (under
	// another policy, or before) proves nothing either.
	enforced := specific
	enforced.EnforceMDS = true
	for _, tc := range []struct {
		attestation string
		refused     bool
	}{{"none", true}, {"packed", true}, {"packed-x5c", false}} {
		t.Run("sign-on after "+tc.attestation, func(t *testing.T) {
			a := &fidotest.Authenticator{AAGUID: listed}
			d := f.register(t, f.other, a, &fido.Policy{}, fidotest.CreateOptions{Attestation: tc.attestation})
			opts, sess, err := f.svc.BeginAssertion(ctx, f.other, []store.MFADevice{*d}, &enforced, f.rp)
			if err != nil {
				t.Fatal(err)
			}
			answer, err := a.Get(opts, fidotest.GetOptions{Origin: origin})
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.svc.FinishAssertion(ctx, f.other.EnvironmentID, sess, origin, answer, &enforced, f.rp)
			if !tc.refused {
				if err != nil {
					t.Fatalf("FinishAssertion: %v", err)
				}
				return
			}
			if k := kindOf(t, err); k != fido.KindPolicy {
				t.Errorf("refused as %s: %v", k, err)
			}
		})
	}
}
