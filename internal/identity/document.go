package identity

import (
	"encoding/json"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Decode reads a user's stored profile and custom attributes (its Data
// column, which Apply and ApplyAttributes write). An empty column is an
// empty profile; one that is not a profile is an error naming the user.
func Decode(u *store.User) (wire.UserData, error) {
	var d wire.UserData
	if len(u.Data) == 0 {
		return d, nil
	}
	if err := json.Unmarshal(u.Data, &d); err != nil {
		return wire.UserData{}, fmt.Errorf("user %s: stored profile: %w", u.ID, err)
	}
	return d, nil
}

// Document is u as attribute-mapping expressions read it: PingOne's user
// resource with its columns and the profile and custom attributes of its
// JSON, times as time.Time. When the stored profile cannot be read the
// error says so and the document still holds the columns, for callers
// that would rather go on with those.
func Document(u *store.User) (map[string]any, error) {
	doc := map[string]any{}
	d, err := Decode(u)
	if err == nil {
		if b, merr := json.Marshal(d.UserProfile); merr == nil {
			_ = json.Unmarshal(b, &doc) // a marshalled struct is an object
		}
		for k, raw := range d.Custom {
			if _, taken := doc[k]; taken {
				continue
			}
			var v any
			if json.Unmarshal(raw, &v) == nil {
				doc[k] = v
			}
		}
	}
	name, _ := doc["name"].(map[string]any)
	if name == nil {
		name = map[string]any{}
	}
	setNonEmpty(name, "given", u.GivenName)
	setNonEmpty(name, "family", u.FamilyName)
	if len(name) > 0 {
		doc["name"] = name
	}
	doc["id"] = u.ID
	doc["username"] = u.Username
	setNonEmpty(doc, "email", u.Email)
	setNonEmpty(doc, "externalId", u.ExternalID)
	doc["enabled"] = u.Enabled
	doc["mfaEnabled"] = u.MFAEnabled
	setNonEmpty(doc, "verifyStatus", u.VerifyStatus)
	doc["population"] = map[string]any{"id": u.PopulationID}
	doc["lifecycle"] = map[string]any{"status": u.LifecycleStatus}
	idp := map[string]any{"type": u.IdentityProviderType}
	setNonEmpty(idp, "id", u.IdentityProviderID)
	doc["identityProvider"] = idp
	doc["createdAt"] = u.CreatedAt
	doc["updatedAt"] = u.UpdatedAt
	return doc, err
}

func setNonEmpty(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}
