package identity

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func TestApplyAttributes(t *testing.T) {
	base := func() *store.User {
		return &store.User{Username: "joey", Email: "old@example.com", GivenName: "Joey", Data: []byte(`{"nickname":"J","name":{"middle":"Q"}}`)}
	}
	cases := []struct {
		name     string
		attrs    []Attribute
		username bool
		changed  bool
		check    func(t *testing.T, u *store.User, d map[string]any)
	}{
		{name: "ALWAYS overwrites", attrs: []Attribute{{"email", "new@example.com", Always}}, changed: true,
			check: func(t *testing.T, u *store.User, _ map[string]any) { want(t, u.Email, "new@example.com") }},
		{name: "EMPTY_ONLY keeps a value", attrs: []Attribute{{"email", "new@example.com", EmptyOnly}},
			check: func(t *testing.T, u *store.User, _ map[string]any) { want(t, u.Email, "old@example.com") }},
		{name: "EMPTY_ONLY fills an empty one", attrs: []Attribute{{"name.family", "Smith", EmptyOnly}}, changed: true,
			check: func(t *testing.T, u *store.User, _ map[string]any) { want(t, u.FamilyName, "Smith") }},
		{name: "an empty value never clears", attrs: []Attribute{{"email", "", Always}},
			check: func(t *testing.T, u *store.User, _ map[string]any) { want(t, u.Email, "old@example.com") }},
		{name: "the same value is no change", attrs: []Attribute{{"name.given", "Joey", Always}}},
		{name: "no rename at sign-on", attrs: []Attribute{{"username", "other", Always}},
			check: func(t *testing.T, u *store.User, _ map[string]any) { want(t, u.Username, "joey") }},
		{name: "rename when allowed", attrs: []Attribute{{"username", "other", Always}}, username: true, changed: true,
			check: func(t *testing.T, u *store.User, _ map[string]any) { want(t, u.Username, "other") }},
		{name: "profile attributes in data", attrs: []Attribute{{"nickname", "Jo", Always}, {"name.formatted", "Joey Q", EmptyOnly}, {"photo.href", "https://x/p.png", EmptyOnly}},
			changed: true, check: func(t *testing.T, _ *store.User, d map[string]any) {
				want(t, d["nickname"], "Jo")
				n := d["name"].(map[string]any)
				want(t, n["middle"], "Q")
				want(t, n["formatted"], "Joey Q")
				want(t, d["photo"].(map[string]any)["href"], "https://x/p.png")
			}},
		{name: "unknown names are skipped", attrs: []Attribute{{"account.status", "LOCKED", Always}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := base()
			before := string(u.Data)
			got, err := ApplyAttributes(context.Background(), schemaOnly{}, u, tc.attrs, tc.username)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.changed {
				t.Fatalf("changed = %v, want %v", got, tc.changed)
			}
			if !tc.changed && string(u.Data) != before {
				t.Errorf("data changed without a change: %s", u.Data)
			}
			var d map[string]any
			if err := json.Unmarshal(u.Data, &d); err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, u, d)
			}
		})
	}
}

func want(t *testing.T, got, w any) {
	t.Helper()
	if got != w {
		t.Errorf("got %v, want %v", got, w)
	}
}

// schemaOnly is a store that holds a user schema and nothing else: what
// the rules read of an environment.
type schemaOnly struct {
	store.Store
	attrs []store.SchemaAttribute
}

func (s schemaOnly) ListSchemaAttributes(context.Context, string) ([]store.SchemaAttribute, error) {
	return s.attrs, nil
}
