package authsvc

import (
	"slices"
	"strings"
)

// A response type is what the authorization endpoint hands the client
// when a flow ends (OAuth 2.0 Multiple Response Type Encoding Practices;
// OpenID Connect Core §3.1 code, §3.2 implicit, §3.3 hybrid): an
// authorization code, an access token, an ID token, or a mix. Authorize
// checks a request against the one it names, and resume issues what it
// lists; neither switches on response_type itself.
type responseType struct {
	name                 string // as discovery lists it
	code, token, idToken bool
}

// responseTypes is every response_type served, in discovery's order.
// PingOne documents all of them (authorize: code, implicit, hybrid). The
// words may come in any order ("token id_token" is "id_token token").
var responseTypes = []responseType{
	{name: "code", code: true},
	{name: "id_token", idToken: true},
	{name: "token", token: true},
	{name: "id_token token", idToken: true, token: true},
	{name: "code id_token", code: true, idToken: true},
	{name: "code token", code: true, token: true},
	{name: "code id_token token", code: true, idToken: true, token: true},
}

// responseTypeNames is discovery's response_types_supported.
func responseTypeNames() []string {
	out := make([]string, len(responseTypes))
	for i, rt := range responseTypes {
		out[i] = rt.name
	}
	return out
}

// lookupResponseType finds the response type a response_type value names:
// a set of space-separated words, each at most once, in any order.
func lookupResponseType(v string) (responseType, bool) {
	words := strings.Fields(v)
	if len(words) == 0 || len(words) > 3 {
		return responseType{}, false
	}
	var want responseType
	for _, w := range words {
		var seen *bool
		switch w {
		case "code":
			seen = &want.code
		case "token":
			seen = &want.token
		case "id_token":
			seen = &want.idToken
		default:
			return responseType{}, false
		}
		if *seen {
			return responseType{}, false
		}
		*seen = true
	}
	for _, rt := range responseTypes {
		if rt.code == want.code && rt.token == want.token && rt.idToken == want.idToken {
			return rt, true
		}
	}
	return responseType{}, false
}

// frontChannel reports whether the authorization endpoint itself issues
// a token: the response then must not travel in a query string (Multiple
// Response Types §2.1), and its default mode is the fragment (§3-§5).
func (rt responseType) frontChannel() bool { return rt.token || rt.idToken }

// defaultMode is the response mode used when the request names none.
func (rt responseType) defaultMode() string {
	if rt.frontChannel() {
		return "fragment"
	}
	return "query"
}

// allowedBy reports why an application may not use the response type: ""
// when it may. PingOne pairs each response type of an application with a
// grant type — CODE with AUTHORIZATION_CODE, TOKEN and ID_TOKEN with
// IMPLICIT (its management API refuses other pairings) — so a hybrid
// request needs both grant types and every response type it names.
// An application stored without responseTypes allows only the code.
func (rt responseType) allowedBy(responseTypes, grantTypes []string) string {
	lacks := func(v string) bool {
		if len(responseTypes) == 0 {
			return v != "CODE"
		}
		return !slices.Contains(responseTypes, v)
	}
	switch {
	case rt.code && lacks("CODE"):
		return "The application does not allow response_type code."
	case rt.token && lacks("TOKEN"):
		return "The application does not allow response_type token."
	case rt.idToken && lacks("ID_TOKEN"):
		return "The application does not allow response_type id_token."
	case rt.code && !slices.Contains(grantTypes, "AUTHORIZATION_CODE"):
		return "The application does not have the AUTHORIZATION_CODE grant type."
	case rt.frontChannel() && !slices.Contains(grantTypes, "IMPLICIT"):
		return "The application does not have the IMPLICIT grant type."
	}
	return ""
}
