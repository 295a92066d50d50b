package mapping

import (
	"slices"
	"strings"
)

// reservedClaims are the claims Gatehouse sets in its tokens itself. One
// list serves both sides: the management API refuses a mapping of one of
// them when it is configured, and token minting leaves such a mapping
// out, so nothing accepted is dropped silently later. act, may_act and
// cnf are RFC 8693's and RFC 7800's: a mapping must not forge who acts
// for a subject, or a key the token is bound to.
var reservedClaims = []string{"acr", "act", "amr", "at_hash", "aud", "auth_time", "azp", "c_hash", "client_id", "cnf",
	"env", "exp", "iat", "iss", "jti", "may_act", "nbf", "nonce", "org", "scope", "sid", "sub"}

// Reserved reports whether no attribute mapping may set the claim name:
// the claims Gatehouse sets, and PingOne's p1.* prefix. Names are
// compared without case, so a mapping cannot shadow one by its case.
func Reserved(name string) bool {
	lc := strings.ToLower(name)
	return slices.Contains(reservedClaims, lc) || strings.HasPrefix(lc, "p1.")
}
