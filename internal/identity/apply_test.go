package identity_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/identity"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func input(t *testing.T, body string) *identity.Input {
	t.Helper()
	in := &identity.Input{}
	if err := json.Unmarshal([]byte(body), &in.UserRequest); err != nil {
		t.Fatal(err)
	}
	return in
}

// TestNew: PingOne's defaults of a new user.
func TestNew(t *testing.T) {
	u := identity.New("env", t0)
	if uuid.Validate(u.ID) != nil {
		t.Errorf("id %q", u.ID)
	}
	want := store.User{ID: u.ID, EnvironmentID: "env", Enabled: true, AccountStatus: "OK", LifecycleStatus: "ACCOUNT_OK",
		IdentityProviderType: "PING_ONE", VerifyStatus: "NOT_INITIATED", Data: json.RawMessage(`{}`), CreatedAt: t0, UpdatedAt: t0}
	if !reflect.DeepEqual(*u, want) {
		t.Errorf("New = %+v, want %+v", *u, want)
	}
}

func TestApply(t *testing.T) {
	eachBackend(t, func(t *testing.T, ctx context.Context, w *world) {
		defineCustom(t, ctx, w.st, w.env, "STRING", false, "shirtSize")
		t.Run("create with defaults", func(t *testing.T) {
			u := identity.New(w.env, t0)
			in := input(t, `{"username": "Ada Lovelace", "email": "ada@example.com", "name": {"given": "Ada", "middle": "King"}, "nickname": "Countess"}`)
			in.Custom = map[string]json.RawMessage{"shirtSize": json.RawMessage(`"M"`)}
			if err := identity.Apply(ctx, w.st, w.env, in, u); err != nil {
				t.Fatal(err)
			}
			if u.Username != "Ada Lovelace" || u.Email != "ada@example.com" || u.GivenName != "Ada" || u.PopulationID != w.defaultPop ||
				u.LifecycleStatus != "ACCOUNT_OK" || u.IdentityProviderType != "PING_ONE" || u.VerifyStatus != "NOT_INITIATED" || !u.Enabled {
				t.Errorf("user %+v", u)
			}
			if got := string(u.Data); got != `{"name":{"middle":"King"},"nickname":"Countess","custom":{"shirtSize":"M"}}` {
				t.Errorf("data %s", got)
			}
		})
		t.Run("replace keeps what has its own endpoint", func(t *testing.T) {
			u := identity.New(w.env, t0)
			u.PopulationID, u.LifecycleStatus, u.IdentityProviderType, u.IdentityProviderID = w.other, "VERIFICATION_REQUIRED", "OPENID_CONNECT", "idp-1"
			u.Enabled, u.MFAEnabled = false, true
			if err := identity.Apply(ctx, w.st, w.env, input(t, `{"username": "ada"}`), u); err != nil {
				t.Fatal(err)
			}
			if u.PopulationID != w.other || u.LifecycleStatus != "VERIFICATION_REQUIRED" || u.IdentityProviderType != "OPENID_CONNECT" ||
				u.IdentityProviderID != "idp-1" || u.Enabled || !u.MFAEnabled {
				t.Errorf("user %+v", u)
			}
			// PING_ONE has no provider id, whatever the body says.
			if err := identity.Apply(ctx, w.st, w.env, input(t, `{"username": "ada", "identityProvider": {"id": "x"}}`), u); err != nil {
				t.Fatal(err)
			}
			if u.IdentityProviderType != "PING_ONE" || u.IdentityProviderID != "" {
				t.Errorf("identity provider %q %q", u.IdentityProviderType, u.IdentityProviderID)
			}
		})
		cases := []struct {
			name, env, body string
			want            []string
		}{
			{"no username", w.env, `{"email": "a@example.com"}`, []string{"REQUIRED_VALUE username"}},
			{"an unknown population", w.env, `{"username": "p", "population": {"id": "` + uuid.NewString() + `"}}`, []string{"INVALID_VALUE population.id"}},
			{"another environment's population", w.bare, `{"username": "p", "population": {"id": "` + w.other + `"}}`, []string{"INVALID_VALUE population.id"}},
			{"an empty population", w.env, `{"username": "p", "population": {}}`, []string{"REQUIRED_VALUE population.id"}},
			{"no default population", w.bare, `{"username": "p"}`, []string{"REQUIRED_VALUE population.id"}},
			{"every problem, in the resource's order", w.bare,
				`{"username": "a\u0000b", "email": "a b@example.com", "timezone": "Nowhere/Town", "name": {"given": "x\u200by"},
					  "address": {"countryCode": "usa"}, "lifecycle": {"status": "NEW"}, "verifyStatus": "MAYBE",
					  "identityProvider": {"type": "MYSPACE"}, "population": {"id": "` + uuid.NewString() + `"}}`,
				[]string{"INVALID_VALUE username", "INVALID_VALUE email", "INVALID_VALUE timezone", "INVALID_VALUE name.given",
					"INVALID_VALUE address.countryCode", "INVALID_VALUE lifecycle.status", "INVALID_VALUE verifyStatus",
					"INVALID_VALUE identityProvider.type", "INVALID_VALUE population.id"}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				u := identity.New(tc.env, t0)
				before := *u
				wantDetails(t, identity.Apply(ctx, w.st, tc.env, input(t, tc.body), u), tc.want...)
				if !reflect.DeepEqual(*u, before) {
					t.Errorf("a refused change was applied: %+v", u)
				}
			})
		}
	})
}

func TestRegister(t *testing.T) {
	eachBackend(t, func(t *testing.T, ctx context.Context, w *world) {
		reg := identity.Registration{Username: "Nia Newcomer", Email: "nia@example.com", GivenName: "Nia", FamilyName: "Newcomer"}
		u, err := identity.Register(ctx, w.st, w.env, w.other, reg, t0)
		if err != nil {
			t.Fatal(err)
		}
		want := *identity.New(w.env, t0)
		want.ID, want.PopulationID, want.Username, want.Email, want.GivenName, want.FamilyName = u.ID, w.other, reg.Username, reg.Email, "Nia", "Newcomer"
		want.LifecycleStatus, want.Data = "VERIFICATION_REQUIRED", json.RawMessage(`{}`)
		want.Unique = []store.UniqueValue{} // no unique attribute: none claimed
		if !reflect.DeepEqual(*u, want) {
			t.Errorf("Register = %+v\nwant %+v", *u, want)
		}
		if u, err = identity.Register(ctx, w.st, w.env, "", reg, t0); err != nil || u.PopulationID != w.defaultPop {
			t.Errorf("the default population: %v %v", u, err)
		}
		// Field problems first, with the management API's details.
		bad := reg
		bad.Username, bad.Email = "has\ttab", "nia%x@example.com"
		_, err = identity.Register(ctx, w.st, w.bare, "", bad, t0)
		wantDetails(t, err, "INVALID_VALUE username", "INVALID_VALUE email")
		// The verification code goes to the email address: a registration
		// needs one.
		bad = reg
		bad.Email = ""
		_, err = identity.Register(ctx, w.st, w.env, "", bad, t0)
		wantDetails(t, err, "INVALID_VALUE email")
		bad = reg
		bad.Username, bad.GivenName = strings.Repeat("n", 129), strings.Repeat("g", 257)
		_, err = identity.Register(ctx, w.st, w.env, "", bad, t0)
		wantDetails(t, err, "SIZE_LIMIT_EXCEEDED username", "SIZE_LIMIT_EXCEEDED name.given")
		for _, pop := range []string{"", uuid.NewString()} {
			env := w.env
			if pop == "" {
				env = w.bare
			}
			if _, err := identity.Register(ctx, w.st, env, pop, reg, t0); !errors.Is(err, identity.ErrNoPopulation) {
				t.Errorf("population %q: %v, want ErrNoPopulation", pop, err)
			}
		}
	})
}

func TestNewExternal(t *testing.T) {
	eachBackend(t, func(t *testing.T, ctx context.Context, w *world) {
		x := identity.External{ProviderType: "OPENID_CONNECT", ProviderID: "idp-1", Subject: "248289761001", Attributes: []identity.Attribute{
			{Name: "username", Value: "jane doe", Update: identity.EmptyOnly}, {Name: "email", Value: "jane@example.org", Update: identity.Always},
			{Name: "name.given", Value: "Jane", Update: identity.EmptyOnly}, {Name: "nickname", Value: "JD", Update: identity.EmptyOnly},
			{Name: "title", Value: "", Update: identity.Always}}}
		u, err := identity.NewExternal(ctx, w.st, w.env, w.other, x, t0)
		if err != nil {
			t.Fatal(err)
		}
		want := *identity.New(w.env, t0)
		want.ID, want.PopulationID, want.Username, want.Email, want.GivenName = u.ID, w.other, "jane doe", "jane@example.org", "Jane"
		want.IdentityProviderType, want.IdentityProviderID, want.Data = "OPENID_CONNECT", "idp-1", json.RawMessage(`{"nickname":"JD"}`)
		want.Unique = []store.UniqueValue{}
		if !reflect.DeepEqual(*u, want) {
			t.Errorf("NewExternal = %+v\nwant %+v", *u, want)
		}

		// No username mapped: the provider's subject.
		x.Attributes = x.Attributes[1:]
		if u, err = identity.NewExternal(ctx, w.st, w.env, "", x, t0); err != nil || u.Username != "248289761001" || u.PopulationID != w.defaultPop {
			t.Errorf("subject as username: %+v %v", u, err)
		}
		// The rules of every user, each problem at its attribute.
		long := x
		long.Subject = strings.Repeat("s", 129)
		_, err = identity.NewExternal(ctx, w.st, w.env, "", long, t0)
		d := wantDetails(t, err, "SIZE_LIMIT_EXCEEDED username")
		if m := d[0].InnerError.MaximumValue; m == nil || *m != 128 {
			t.Errorf("maximumValue %v", m)
		}
		bad := x
		bad.Attributes = []identity.Attribute{{Name: "email", Value: "not-an-email", Update: identity.Always},
			{Name: "timezone", Value: "Nowhere/Town", Update: identity.EmptyOnly}, {Name: "username", Value: "a\u0000b", Update: identity.EmptyOnly}}
		_, err = identity.NewExternal(ctx, w.st, w.env, "", bad, t0)
		wantDetails(t, err, "INVALID_VALUE email", "INVALID_VALUE timezone", "INVALID_VALUE username")
		if _, err := identity.NewExternal(ctx, w.st, w.bare, "", x, t0); !errors.Is(err, identity.ErrNoPopulation) {
			t.Errorf("no population: %v", err)
		}
	})
}

// TestCheckAttributes: what a sign-on would write is checked; what it
// would not write is not.
func TestCheckAttributes(t *testing.T) {
	attrs := []identity.Attribute{{Name: "email", Value: "ok@example.com", Update: identity.Always},
		{Name: "username", Value: "bad\nname", Update: identity.EmptyOnly}, {Name: "account.status", Value: "\x01", Update: identity.Always},
		{Name: "nickname", Value: "", Update: identity.Always}}
	if err := identity.CheckAttributes(attrs, false); err != nil {
		t.Errorf("without the username: %v", err)
	}
	wantDetails(t, identity.CheckAttributes(attrs, true), "INVALID_VALUE username")
	var we *wire.Error
	if err := identity.CheckAttributes(attrs[:1], true); errors.As(err, &we) {
		t.Errorf("a valid email: %v", err)
	}
}

func TestApplyAttributesRefuses(t *testing.T) {
	u := &store.User{Username: "joey", Email: "old@example.com", Data: json.RawMessage(`{"nickname":"J"}`)}
	before := *u
	changed, err := identity.ApplyAttributes(context.Background(), noSchema{}, u, []identity.Attribute{{Name: "nickname", Value: "Jo", Update: identity.Always},
		{Name: "email", Value: "new@@example.com", Update: identity.Always}}, false)
	wantDetails(t, err, "INVALID_VALUE email")
	if changed || !reflect.DeepEqual(*u, before) {
		t.Errorf("changed %v: %+v", changed, u)
	}
	damaged := &store.User{ID: "u1", Data: json.RawMessage(`{"nickname":`)}
	if _, err := identity.ApplyAttributes(context.Background(), noSchema{}, damaged, []identity.Attribute{{Name: "nickname", Value: "Jo", Update: identity.Always}}, false); err == nil ||
		!strings.Contains(err.Error(), "user u1: stored profile") {
		t.Errorf("a damaged profile: %v", err)
	}
	if string(damaged.Data) != `{"nickname":` {
		t.Errorf("a damaged profile was overwritten: %s", damaged.Data)
	}
	// A value that is not written (EMPTY_ONLY, and the user has one) is not
	// checked: the user keeps their own, and the rest applies.
	u = &store.User{Username: "maryam", GivenName: "Maryam", Data: json.RawMessage(`{}`)}
	changed, err = identity.ApplyAttributes(context.Background(), noSchema{}, u, []identity.Attribute{{Name: "name.given", Value: "Maryam\u200cSadat", Update: identity.EmptyOnly},
		{Name: "nickname", Value: "M", Update: identity.EmptyOnly}}, false)
	if err != nil || !changed || u.GivenName != "Maryam" || !strings.Contains(string(u.Data), `"nickname":"M"`) {
		t.Errorf("an unwritten value refused the rest: changed %v, %v, %+v", changed, err, u)
	}
}

func TestEmailVerified(t *testing.T) {
	u := identity.New("env", t0)
	u.LifecycleStatus = identity.LifecycleVerificationRequired
	later := t0.Add(time.Minute)
	identity.EmailVerified(u, later)
	if u.LifecycleStatus != "ACCOUNT_OK" || u.VerifyStatus != "NOT_INITIATED" || !u.UpdatedAt.Equal(later) {
		t.Errorf("%+v", u)
	}
}
