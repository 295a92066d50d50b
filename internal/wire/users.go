package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
)

// PingOne's user and user-password shapes.

// UserName is a user's name object.
type UserName struct {
	Formatted       string `json:"formatted,omitempty"`
	Given           string `json:"given,omitempty"`
	Middle          string `json:"middle,omitempty"`
	Family          string `json:"family,omitempty"`
	HonorificPrefix string `json:"honorificPrefix,omitempty"`
	HonorificSuffix string `json:"honorificSuffix,omitempty"`
}

type UserPhoto struct {
	Href string `json:"href"`
}

type UserAddress struct {
	StreetAddress string `json:"streetAddress,omitempty"`
	Locality      string `json:"locality,omitempty"`
	Region        string `json:"region,omitempty"`
	PostalCode    string `json:"postalCode,omitempty"`
	CountryCode   string `json:"countryCode,omitempty"`
}

// UserAccount is the account's lock state.
type UserAccount struct {
	CanAuthenticate    bool   `json:"canAuthenticate"`
	Status             string `json:"status"`
	LockedAt           *Time  `json:"lockedAt,omitempty"`
	UnlockAt           *Time  `json:"unlockAt,omitempty"`
	SecondsUntilUnlock *int   `json:"secondsUntilUnlock,omitempty"`
}

type UserLifecycle struct {
	Status string `json:"status"`
}

type UserIdentityProvider struct {
	Type string `json:"type"`
	ID   string `json:"id,omitempty"`
}

// UserProfile is the part of a user kept in the store's JSON column (the
// name's given and family parts live in columns, for filters).
type UserProfile struct {
	Name              *UserName    `json:"name,omitempty"`
	Nickname          string       `json:"nickname,omitempty"`
	Title             string       `json:"title,omitempty"`
	PreferredLanguage string       `json:"preferredLanguage,omitempty"`
	Locale            string       `json:"locale,omitempty"`
	Timezone          string       `json:"timezone,omitempty"`
	Type              string       `json:"type,omitempty"`
	MobilePhone       string       `json:"mobilePhone,omitempty"`
	PrimaryPhone      string       `json:"primaryPhone,omitempty"`
	Photo             *UserPhoto   `json:"photo,omitempty"`
	Address           *UserAddress `json:"address,omitempty"`
}

// UserData is a user's JSON column: the profile, and the custom schema
// attributes the client sent, kept verbatim.
type UserData struct {
	UserProfile
	Custom map[string]json.RawMessage `json:"custom,omitempty"`
}

// User is the user resource. Custom attributes are written as top-level
// members after the core ones, as PingOne returns them.
type User struct {
	Links            Links                `json:"_links"`
	Embedded         map[string]any       `json:"_embedded,omitempty"`
	ID               string               `json:"id"`
	Environment      Ref                  `json:"environment"`
	Account          UserAccount          `json:"account"`
	CreatedAt        Time                 `json:"createdAt"`
	Email            string               `json:"email,omitempty"`
	Enabled          bool                 `json:"enabled"`
	ExternalID       string               `json:"externalId,omitempty"`
	IdentityProvider UserIdentityProvider `json:"identityProvider"`
	Lifecycle        UserLifecycle        `json:"lifecycle"`
	MFAEnabled       bool                 `json:"mfaEnabled"`
	Population       Ref                  `json:"population"`
	UpdatedAt        Time                 `json:"updatedAt"`
	Username         string               `json:"username"`
	VerifyStatus     string               `json:"verifyStatus,omitempty"`
	// The groups the user belongs to (directly or through nested
	// groups), on a read with include=memberOfGroupIDs or
	// memberOfGroupNames.
	MemberOfGroupIDs   *[]string `json:"memberOfGroupIDs,omitempty"`
	MemberOfGroupNames *[]string `json:"memberOfGroupNames,omitempty"`
	UserProfile
	Custom map[string]json.RawMessage `json:"-"`
}

func (u User) MarshalJSON() ([]byte, error) {
	buf := getBuffer()
	defer putBuffer(buf)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := u.appendJSON(buf, enc); err != nil {
		return nil, err
	}
	// A copy: the buffer goes back to the pool.
	return bytes.Clone(buf.Bytes()), nil
}

// appendJSON writes the user, compact, onto buf with enc (an encoder of
// buf): the core members field by field, then the custom attributes in
// name order. A custom value is kept as the client sent it, so it is
// compacted here, as encoding/json compacts what MarshalJSON returns.
func (u User) appendJSON(buf *bytes.Buffer, enc *json.Encoder) error {
	type plain User // no methods: marshals field by field
	// The links are most of a user's bytes, and encoding/json would scan
	// MarshalJSON's output again: they are written here, and the rest
	// encoded without them ("_links" is the first member).
	links, err := u.Links.MarshalJSON()
	if err != nil {
		return err
	}
	start := buf.Len()
	u.Links = nil
	if err := encodeValue(buf, enc, (*plain)(&u)); err != nil {
		return err
	}
	const noLinks = `{"_links":null`
	rest := buf.Bytes()[start+len(noLinks):]
	if string(buf.Bytes()[start:start+len(noLinks)]) != noLinks {
		return errors.New("wire: a user's links are not its first member")
	}
	out := append(append(append(make([]byte, 0, len(noLinks)+len(links)+len(rest)), `{"_links":`...), links...), rest...)
	buf.Truncate(start)
	buf.Write(out)
	if len(u.Custom) == 0 {
		return nil
	}
	names := make([]string, 0, len(u.Custom))
	for k := range u.Custom {
		names = append(names, k)
	}
	slices.Sort(names)
	buf.Truncate(buf.Len() - 1) // the closing brace
	for _, k := range names {
		key, err := json.Marshal(k) // HTML escaped, as it always was
		if err != nil {
			return err
		}
		buf.WriteByte(',')
		buf.Write(key)
		buf.WriteByte(':')
		if err := json.Compact(buf, u.Custom[k]); err != nil {
			return err
		}
	}
	buf.WriteByte('}')
	return nil
}

type UserLifecycleRequest struct {
	Status *string `json:"status"`
}

type UserIdentityProviderRequest struct {
	Type *string `json:"type"`
	ID   *string `json:"id"`
}

// UserPasswordImport is the password a user import (or create) may carry:
// cleartext, or a hash in a scheme Gatehouse verifies.
type UserPasswordImport struct {
	Value       *string `json:"value"`
	ForceChange *bool   `json:"forceChange"`
}

// UserRequest is a user create or replace body. Members it does not name
// are custom attributes, apart from the read-only ones PingOne's SDK echoes.
type UserRequest struct {
	Username          *string                      `json:"username"`
	Email             *string                      `json:"email"`
	Name              *UserName                    `json:"name"`
	Nickname          *string                      `json:"nickname"`
	Title             *string                      `json:"title"`
	PreferredLanguage *string                      `json:"preferredLanguage"`
	Locale            *string                      `json:"locale"`
	Timezone          *string                      `json:"timezone"`
	ExternalID        *string                      `json:"externalId"`
	Type              *string                      `json:"type"`
	MobilePhone       *string                      `json:"mobilePhone"`
	PrimaryPhone      *string                      `json:"primaryPhone"`
	Photo             *UserPhoto                   `json:"photo"`
	Address           *UserAddress                 `json:"address"`
	Population        *Ref                         `json:"population"`
	Enabled           *bool                        `json:"enabled"`
	MFAEnabled        *bool                        `json:"mfaEnabled"`
	VerifyStatus      *string                      `json:"verifyStatus"`
	Lifecycle         *UserLifecycleRequest        `json:"lifecycle"`
	IdentityProvider  *UserIdentityProviderRequest `json:"identityProvider"`
	Password          *UserPasswordImport          `json:"password"`
}

// UserEnabled is GET|PUT …/users/{id}/enabled.
type UserEnabled struct {
	Links   Links `json:"_links"`
	Enabled bool  `json:"enabled"`
}

// UserPopulation is GET|PUT …/users/{id}/population.
type UserPopulation struct {
	Links Links  `json:"_links"`
	ID    string `json:"id"`
}

type UserPopulationRequest struct {
	ID *string `json:"id"`
}

// UserMFAEnabled is GET|PUT …/users/{id}/mfaEnabled.
type UserMFAEnabled struct {
	Links      Links `json:"_links"`
	MFAEnabled bool  `json:"mfaEnabled"`
}

// PasswordState is GET …/users/{id}/password and the answer of every
// password operation. It never carries a password or a hash.
type PasswordState struct {
	Links              Links          `json:"_links"`
	Environment        Ref            `json:"environment"`
	User               Ref            `json:"user"`
	PasswordPolicy     *Ref           `json:"passwordPolicy,omitempty"`
	Status             string         `json:"status"`
	LastChangedAt      *Time          `json:"lastChangedAt,omitempty"`
	FailedLoginCount   *int           `json:"failedLoginCount,omitempty"`
	SecondsUntilUnlock *int           `json:"secondsUntilUnlock,omitempty"`
	Embedded           map[string]any `json:"_embedded,omitempty"`
}

// PasswordSetRequest is application/vnd.pingidentity.password.set+json.
type PasswordSetRequest struct {
	Value        *string `json:"value"`
	ForceChange  *bool   `json:"forceChange"`
	BypassPolicy *bool   `json:"bypassPolicy"`
}

// PasswordResetRequest is application/vnd.pingidentity.password.reset+json:
// a self-service change with currentPassword, an administrator's reset
// without.
type PasswordResetRequest struct {
	CurrentPassword *string `json:"currentPassword"`
	NewPassword     *string `json:"newPassword"`
}

// PasswordCheckRequest is application/vnd.pingidentity.password.check+json.
type PasswordCheckRequest struct {
	Password *string `json:"password"`
}
