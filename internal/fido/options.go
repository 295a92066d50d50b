package fido

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
)

// pingOptions renders WebAuthn options as PingOne sends them
// (publicKeyCredentialCreationOptions, publicKeyCredentialRequestOptions):
// the binary members (challenge, user.id, the credential descriptors'
// ids) as arrays of signed bytes, which a page turns into the buffers
// navigator.credentials takes with new Uint8Array(…).
func pingOptions(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	bytesAt(m, "challenge")
	if u, ok := m["user"].(map[string]any); ok {
		bytesAt(u, "id")
	}
	for _, list := range []string{"excludeCredentials", "allowCredentials"} {
		if ds, ok := m[list].([]any); ok {
			for _, d := range ds {
				if dm, ok := d.(map[string]any); ok {
					bytesAt(dm, "id")
				}
			}
		}
	}
	return json.Marshal(m)
}

// bytesAt replaces m[key], base64url, with its bytes.
func bytesAt(m map[string]any, key string) {
	s, ok := m[key].(string)
	if !ok {
		return
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return
	}
	arr := make([]int8, len(raw))
	for i, c := range raw {
		arr[i] = int8(c)
	}
	m[key] = arr
}
