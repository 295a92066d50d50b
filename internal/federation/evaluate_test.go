package federation_test

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/federation"
)

// TestEvaluateAssertion: SAML's expressions read the NameID and attributes
// by their whole name (URNs, URLs, dots); OpenID Connect's walk claims.
func TestEvaluateAssertion(t *testing.T) {
	as := &federation.Assertion{Subject: "ann@example.org", Claims: map[string]any{
		"urn:oid:0.9.2342.19200300.100.1.3":                               "ann@corp.example",
		"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname": "Ann",
		"first.last": "Ann.Smith",
		"subject":    "an attribute named subject",
		"address":    map[string]any{"locality": "Oslo"},
		"count":      float64(3),
	}}
	for _, tc := range []struct{ expr, want string }{
		{"${samlAssertion.subject}", "ann@example.org"},
		{"${samlAssertion.urn:oid:0.9.2342.19200300.100.1.3}", "ann@corp.example"},
		{"${samlAssertion.http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname}", "Ann"},
		{"${samlAssertion.first.last}", "Ann.Smith"},
		{"${samlAssertion.missing}", ""},
		{"${samlAssertion.address}", ""},
		{"Dr ${samlAssertion.first.last} <${samlAssertion.subject}>", "Dr Ann.Smith <ann@example.org>"},
		{"${providerAttributes.address.locality}", "Oslo"},
		{"${providerAttributes.count}", "3"},
		{"${samlAssertion.}", "${samlAssertion.}"},
		{"plain", "plain"},
	} {
		if got := federation.EvaluateAssertion(tc.expr, as); got != tc.want {
			t.Errorf("EvaluateAssertion(%q) = %q, want %q", tc.expr, got, tc.want)
		}
	}
}

// TestEvaluateOnce: a value the provider sent is not read as an
// expression again.
func TestEvaluateOnce(t *testing.T) {
	as := &federation.Assertion{Subject: "${samlAssertion.secret}", Claims: map[string]any{
		"givenName": "${providerAttributes.secret}", "secret": "leaked"}}
	for _, expr := range []string{"${samlAssertion.subject}", "${samlAssertion.givenName}", "${providerAttributes.givenName}"} {
		if got := federation.EvaluateAssertion(expr, as); got == "leaked" {
			t.Errorf("EvaluateAssertion(%q) read the value again: %q", expr, got)
		}
	}
}
