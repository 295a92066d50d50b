package identity_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/identity"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// changeStandard sets a standard attribute's mutable flags in envID's
// schema, as the management API's PUT stores them.
func changeStandard(t *testing.T, ctx context.Context, st store.Store, envID, name string, rules wire.SchemaAttributeRules) {
	t.Helper()
	b := identity.BuiltinAttribute(envID, name)
	rules.Type = b.Type
	data, _ := json.Marshal(rules)
	now := store.Now()
	if err := st.CreateSchemaAttribute(ctx, &store.SchemaAttribute{ID: b.ID, EnvironmentID: envID, Name: name, SchemaType: wire.SchemaStandard,
		Data: data, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
}

// TestSchemaEveryEntryPoint: the schema's rules hold on every path that
// makes or changes users — Apply (the management API), Register
// (self-service registration), NewExternal (just-in-time provisioning)
// and ApplyAttributes (sign-on and linked accounts) — and each fills the
// values the store claims for unique attributes.
func TestSchemaEveryEntryPoint(t *testing.T) {
	eachBackend(t, func(t *testing.T, ctx context.Context, w *world) {
		// email: unique, and only example.com addresses; title: disabled.
		changeStandard(t, ctx, w.st, w.env, "email", wire.SchemaAttributeRules{Enabled: true, Unique: true,
			RegexValidation: &wire.SchemaRegexValidation{Pattern: `.*@example\.com`, Requirements: "An example.com address."}})
		changeStandard(t, ctx, w.st, w.env, "title", wire.SchemaAttributeRules{Enabled: false})
		defineCustom(t, ctx, w.st, w.env, "STRING", false, "shirtSize")
		emailID := identity.BuiltinAttribute(w.env, "email").ID

		t.Run("Apply", func(t *testing.T) {
			u := identity.New(w.env, t0)
			wantDetails(t, identity.Apply(ctx, w.st, w.env, input(t, `{"username":"a","email":"a@elsewhere.org"}`), u), "INVALID_VALUE email")
			if err := identity.Apply(ctx, w.st, w.env, input(t, `{"username":"a","email":"A@example.com","title":"Boss"}`), u); err != nil {
				t.Fatal(err)
			}
			d, _ := identity.Decode(u)
			if d.Title != "" {
				t.Errorf("a disabled attribute was kept: %q", d.Title)
			}
			if len(u.Unique) != 1 || u.Unique[0] != (store.UniqueValue{AttributeID: emailID, Name: "email", Value: "a@example.com"}) {
				t.Errorf("claims %+v", u.Unique)
			}
		})
		t.Run("Register", func(t *testing.T) {
			_, err := identity.Register(ctx, w.st, w.env, "", identity.Registration{Username: "r", Email: "r@elsewhere.org"}, t0)
			wantDetails(t, err, "INVALID_VALUE email")
			u, err := identity.Register(ctx, w.st, w.env, "", identity.Registration{Username: "r", Email: "r@example.com"}, t0)
			if err != nil || len(u.Unique) != 1 || u.Unique[0].Value != "r@example.com" {
				t.Fatalf("Register = %+v, %v", u, err)
			}
			// A second registration of the address is the store's
			// uniqueness violation, on the attribute.
			if err := w.st.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			again, err := identity.Register(ctx, w.st, w.env, "", identity.Registration{Username: "r2", Email: "R@example.com"}, t0)
			if err != nil {
				t.Fatal(err)
			}
			var ue *store.UniqueError
			if err := w.st.CreateUser(ctx, again); !errors.As(err, &ue) || ue.Field != "email" {
				t.Errorf("a second user of the address: %v, want a UniqueError on email", err)
			}
		})
		t.Run("NewExternal", func(t *testing.T) {
			x := identity.External{ProviderType: "OPENID_CONNECT", ProviderID: "idp", Subject: "s1",
				Attributes: []identity.Attribute{{Name: "email", Value: "x@elsewhere.org", Update: identity.Always}}}
			_, err := identity.NewExternal(ctx, w.st, w.env, "", x, t0)
			wantDetails(t, err, "INVALID_VALUE email")
			x.Attributes = []identity.Attribute{{Name: "email", Value: "x@example.com", Update: identity.Always},
				{Name: "shirtSize", Value: "L", Update: identity.Always}}
			u, err := identity.NewExternal(ctx, w.st, w.env, "", x, t0)
			if err != nil {
				t.Fatal(err)
			}
			d, _ := identity.Decode(u)
			if string(d.Custom["shirtSize"]) != `"L"` || len(u.Unique) != 1 {
				t.Errorf("custom %s, claims %+v", d.Custom["shirtSize"], u.Unique)
			}
		})
		t.Run("ApplyAttributes", func(t *testing.T) {
			u := identity.New(w.env, t0)
			u.ID, u.Username, u.Data = uuid.NewString(), "linked", json.RawMessage(`{"custom":{"gone":"kept"}}`)
			before := *u
			_, err := identity.ApplyAttributes(ctx, w.st, u, []identity.Attribute{{Name: "email", Value: "l@elsewhere.org", Update: identity.Always}}, false)
			wantDetails(t, err, "INVALID_VALUE email")
			if string(u.Data) != string(before.Data) || u.Email != "" {
				t.Errorf("a refused write changed the user: %+v", u)
			}
			// A value the user held before (an attribute since deleted) is
			// not this write's problem.
			changed, err := identity.ApplyAttributes(ctx, w.st, u, []identity.Attribute{{Name: "email", Value: "l@example.com", Update: identity.Always}}, false)
			if err != nil || !changed || u.Email != "l@example.com" || len(u.Unique) != 1 {
				t.Errorf("ApplyAttributes = %v, %v, %+v", changed, err, u)
			}
		})
		t.Run("SchemaAttributes", func(t *testing.T) {
			attrs, err := identity.SchemaAttributes(ctx, w.st, w.env)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]wire.SchemaAttribute{}
			for _, a := range attrs {
				got[a.Name] = a
			}
			for _, name := range []string{"email", "name.given", "address.locality", "shirtSize"} {
				if _, ok := got[name]; !ok {
					t.Errorf("%s is not among the promptable attributes", name)
				}
			}
			for _, name := range []string{"title", "username", "name", "population"} {
				if _, ok := got[name]; ok {
					t.Errorf("%s is promptable", name)
				}
			}
			if e := got["email"]; !e.Unique || e.RegexValidation == nil {
				t.Errorf("email %+v lacks its rules", e)
			}
		})
	})
}

// TestSchemaRequired: a required custom attribute (PingOne's API does not
// set the flag; its admin console does) must have a value on every write.
func TestSchemaRequired(t *testing.T) {
	eachBackend(t, func(t *testing.T, ctx context.Context, w *world) {
		data, _ := json.Marshal(wire.SchemaAttributeRules{Type: wire.AttrString, Enabled: true, Required: true})
		now := store.Now()
		if err := w.st.CreateSchemaAttribute(ctx, &store.SchemaAttribute{ID: uuid.NewString(), EnvironmentID: w.env, Name: "badgeNo",
			SchemaType: wire.SchemaCustom, Data: data, CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		u := identity.New(w.env, t0)
		wantDetails(t, identity.Apply(ctx, w.st, w.env, input(t, `{"username":"req"}`), u), "REQUIRED_VALUE badgeNo")
		_, err := identity.Register(ctx, w.st, w.env, "", identity.Registration{Username: "r", Email: "r@example.com"}, t0)
		wantDetails(t, err, "REQUIRED_VALUE badgeNo")
		in := input(t, `{"username":"req"}`)
		in.Custom = map[string]json.RawMessage{"badgeNo": json.RawMessage(`"B-7"`)}
		if err := identity.Apply(ctx, w.st, w.env, in, u); err != nil {
			t.Fatal(err)
		}
	})
}
