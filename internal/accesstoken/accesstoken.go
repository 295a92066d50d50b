// Package accesstoken is what the issuer of Gatehouse's access tokens
// (the auth service) and those who accept them (the management API) share:
// the claims, the one error for a refused token, and the interface of
// what verifies one. It depends on nothing of Gatehouse's, so that
// accepting a token never pulls in what issues it (sign-on flows, mail).
package accesstoken

import (
	"context"
	"errors"
)

// Claims are the claims of a Gatehouse access token. aud is always an
// array, as PingOne sends it. A user's token also names the session, the
// sign-on and how it went (sid, auth_time, acr, amr); env and org appear
// only when the audience includes the PingOne API.
type Claims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub,omitempty"`
	Audience  []string `json:"aud"`
	ClientID  string   `json:"client_id"`
	Env       string   `json:"env,omitempty"`
	Org       string   `json:"org,omitempty"`
	Scope     string   `json:"scope,omitempty"`
	SessionID string   `json:"sid,omitempty"`
	AuthTime  int64    `json:"auth_time,omitempty"`
	ACR       string   `json:"acr,omitempty"`
	AMR       []string `json:"amr,omitempty"`
	IssuedAt  int64    `json:"iat"`
	ExpiresAt int64    `json:"exp"`
	ID        string   `json:"jti"`
	// Act is the actor of a token exchange (RFC 8693 §4.1): who acts for
	// the subject. Only exchanged tokens carry it.
	Act *Actor `json:"act,omitempty"`
}

// Actor is an act claim: the acting party's subject, and the actor
// before it when the subject token was itself delegated (RFC 8693 §4.1:
// the outermost actor is the current one).
type Actor struct {
	Subject string `json:"sub"`
	Act     *Actor `json:"act,omitempty"`
}

// ErrInvalid is every reason an access token is refused. A verifier
// returns it, and nothing more specific, so that a caller answers every
// refusal alike; any other error is the verifier's own failure.
var ErrInvalid = errors.New("accesstoken: invalid access token")

// Verifier checks a bearer token presented to the PingOne API and returns
// its claims, or ErrInvalid. Two kinds pass: an application's own token
// (its client_credentials: sub is the client, no session), which acts with
// the application's role assignments; and a user's token issued to a
// WORKER application (sub is the user), which acts with the user's — never
// with its application's. Callers that serve applications only (device
// authentications) refuse the second kind themselves.
type Verifier interface {
	VerifyAccessToken(ctx context.Context, raw string) (*Claims, error)
}
