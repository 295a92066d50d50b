package mgmt

import (
	"encoding/json"
	"fmt"

	"github.com/go-jose/go-jose/v4"
)

// jwksProblem says what is wrong with an application's jwks, "" when
// nothing is: the auth service verifies client assertions and request
// objects with it, so a set it could not use is refused when it is set,
// not when a client first signs with it. Only public keys belong in it:
// it is configuration an administrator can read back, and a private or
// symmetric key there would be a secret published.
func jwksProblem(raw string) string {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal([]byte(raw), &set); err != nil || len(set.Keys) == 0 {
		return "jwks must be a JSON Web Key Set with at least one key."
	}
	for i, b := range set.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(b); err != nil {
			return fmt.Sprintf("jwks keys[%d] is not a valid JSON Web Key.", i)
		}
		if _, symmetric := k.Key.([]byte); symmetric || !k.IsPublic() {
			return fmt.Sprintf("jwks keys[%d] is not a public key: jwks holds public keys only.", i)
		}
		if !k.Valid() {
			return fmt.Sprintf("jwks keys[%d] is not a valid JSON Web Key.", i)
		}
	}
	return ""
}
