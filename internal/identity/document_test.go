package identity_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/identity"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
		want wire.UserData
		err  bool
	}{
		{"no column yet", "", wire.UserData{}, false},
		{"an empty profile", "{}", wire.UserData{}, false},
		{"profile and custom attributes", `{"nickname":"J","name":{"middle":"Q"},"custom":{"team":"blue"}}`,
			wire.UserData{UserProfile: wire.UserProfile{Nickname: "J", Name: &wire.UserName{Middle: "Q"}},
				Custom: map[string]json.RawMessage{"team": json.RawMessage(`"blue"`)}}, false},
		{"damaged", `{"nickname":`, wire.UserData{}, true},
		{"not an object", `[1]`, wire.UserData{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := identity.Decode(&store.User{ID: "u1", Data: json.RawMessage(tc.data)})
			if (err != nil) != tc.err {
				t.Fatalf("error %v, want one: %v", err, tc.err)
			}
			if err != nil && !strings.Contains(err.Error(), "user u1") {
				t.Errorf("the error does not name the user: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Decode = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestDocument(t *testing.T) {
	u := &store.User{ID: "u1", EnvironmentID: "e1", PopulationID: "p1", Username: "ada", Email: "ada@example.com", GivenName: "Ada",
		Enabled: true, LifecycleStatus: "ACCOUNT_OK", IdentityProviderType: "PING_ONE", VerifyStatus: "NOT_INITIATED",
		Data: json.RawMessage(`{"nickname":"Countess","name":{"middle":"King"},"address":{"countryCode":"GB"},` +
			`"custom":{"team":"blue","nickname":"shadowed","level":3}}`), CreatedAt: t0, UpdatedAt: t0}
	doc, err := identity.Document(u)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"id": "u1", "username": "ada", "email": "ada@example.com", "enabled": true, "mfaEnabled": false,
		"verifyStatus": "NOT_INITIATED", "population": map[string]any{"id": "p1"}, "lifecycle": map[string]any{"status": "ACCOUNT_OK"},
		"identityProvider": map[string]any{"type": "PING_ONE"}, "createdAt": t0, "updatedAt": t0,
		"name": map[string]any{"given": "Ada", "middle": "King"}, "nickname": "Countess", "address": map[string]any{"countryCode": "GB"},
		"team": "blue", "level": float64(3)}
	if !reflect.DeepEqual(doc, want) {
		t.Errorf("Document =\n%v\nwant\n%v", doc, want)
	}

	// A damaged profile: the error, and the columns for whoever goes on.
	u.Data = json.RawMessage(`{"nickname":`)
	doc, err = identity.Document(u)
	if err == nil {
		t.Fatal("no error for a damaged profile")
	}
	if doc["username"] != "ada" || doc["nickname"] != nil || !reflect.DeepEqual(doc["name"], map[string]any{"given": "Ada"}) {
		t.Errorf("Document of a damaged row = %v", doc)
	}
}
