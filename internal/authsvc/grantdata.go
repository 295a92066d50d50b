package authsvc

import (
	"encoding/json"

	"github.com/gatehouse-id/gatehouse/internal/session"
)

// GrantData is what an authorization code and a refresh token remember of
// the sign-on behind them (store.AuthCode.Data, store.RefreshToken.Data):
// enough to mint the same tokens again without the flow.
type GrantData struct {
	// RedirectURI is the redirect_uri sent on authorize ("" when none was
	// sent, as pi.flow allows); the token request must repeat it.
	RedirectURI         string   `json:"redirectUri,omitempty"`
	Scope               string   `json:"scope"`
	Audience            []string `json:"aud"`
	Nonce               string   `json:"nonce,omitempty"`
	CodeChallenge       string   `json:"codeChallenge,omitempty"`
	CodeChallengeMethod string   `json:"codeChallengeMethod,omitempty"`
	AuthTime            int64    `json:"authTime"` // unix seconds
	ACR                 string   `json:"acr,omitempty"`
	AMR                 []string `json:"amr,omitempty"`
	// AccessTokenTTL is the resource's accessTokenValiditySeconds.
	AccessTokenTTL int `json:"accessTokenTtl"`
	// Device marks a device authorization grant (RFC 8628). Its session
	// is the browser's that approved the device (a phone, say), not the
	// device's own, so revoking the grant must leave that session be.
	Device bool `json:"device,omitempty"`
}

func (g *GrantData) marshal() json.RawMessage {
	b, _ := json.Marshal(g)
	return b
}

// hashSecret is what the store keeps of a code or refresh token: both are
// high-entropy, so a plain SHA-256 is enough and costs nothing per request.
func hashSecret(v string) string { return session.HashToken(v) }
