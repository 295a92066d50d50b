package authsvc

import (
	"testing"
)

// TestLookupResponseType: a response_type is a set of words in any order,
// each once; anything else is not served.
func TestLookupResponseType(t *testing.T) {
	for _, tc := range []struct {
		in   string
		name string // "" = refused
	}{
		{"code", "code"},
		{"token", "token"},
		{"id_token", "id_token"},
		{"id_token token", "id_token token"},
		{"token id_token", "id_token token"},
		{"code id_token", "code id_token"},
		{"id_token code", "code id_token"},
		{"code token", "code token"},
		{"code id_token token", "code id_token token"},
		{"token id_token code", "code id_token token"},
		{" code  token ", "code token"},
		{"", ""},
		{"none", ""},
		{"code none", ""},
		{"code code", ""},
		{"token token id_token", ""},
		{"CODE", ""},
		{"code id_token token code", ""},
		{"device_code", ""},
	} {
		rt, ok := lookupResponseType(tc.in)
		if ok != (tc.name != "") || rt.name != tc.name {
			t.Errorf("lookupResponseType(%q) = %q %v, want %q", tc.in, rt.name, ok, tc.name)
		}
	}
}

// TestResponseTypeRules: the default mode, and what each response type
// needs of an application, as PingOne pairs response and grant types.
func TestResponseTypeRules(t *testing.T) {
	all := []string{"CODE", "TOKEN", "ID_TOKEN"}
	both := []string{"AUTHORIZATION_CODE", "IMPLICIT"}
	for _, tc := range []struct {
		rt        string
		mode      string
		responses []string
		grants    []string
		why       string
	}{
		{"code", "query", all, both, ""},
		{"code", "query", nil, []string{"AUTHORIZATION_CODE"}, ""}, // stored without responseTypes: code only
		{"token", "fragment", nil, both, "The application does not allow response_type token."},
		{"code", "query", []string{"TOKEN"}, both, "The application does not allow response_type code."},
		{"code", "query", all, []string{"IMPLICIT"}, "The application does not have the AUTHORIZATION_CODE grant type."},
		{"id_token", "fragment", all, both, ""},
		{"id_token", "fragment", []string{"CODE", "TOKEN"}, both, "The application does not allow response_type id_token."},
		{"id_token token", "fragment", all, []string{"AUTHORIZATION_CODE"}, "The application does not have the IMPLICIT grant type."},
		{"code id_token", "fragment", []string{"CODE", "ID_TOKEN"}, both, ""},
		{"code token", "fragment", []string{"CODE", "ID_TOKEN"}, both, "The application does not allow response_type token."},
		{"code id_token token", "fragment", all, both, ""},
	} {
		rt, ok := lookupResponseType(tc.rt)
		if !ok {
			t.Fatalf("%s not served", tc.rt)
		}
		if rt.defaultMode() != tc.mode {
			t.Errorf("%s: default mode %s, want %s", tc.rt, rt.defaultMode(), tc.mode)
		}
		if why := rt.allowedBy(tc.responses, tc.grants); why != tc.why {
			t.Errorf("%s with %v %v: %q, want %q", tc.rt, tc.responses, tc.grants, why, tc.why)
		}
	}
	if got := responseTypeNames(); len(got) != len(responseTypes) || got[0] != "code" {
		t.Errorf("responseTypeNames = %q", got)
	}
}
