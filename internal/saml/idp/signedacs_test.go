package idp_test

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"

	"github.com/crewjam/saml"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// TestSignedACSNeedsAVerifiedSignature: an application that accepts the
// ACS URL of a signed AuthnRequest takes it only from a signature crewjam
// verified. An unsigned HTTP-POST AuthnRequest sent to an sso URL whose
// query carries a Signature parameter (which the HTTP-POST binding never
// reads) must not send the user's assertion to the ACS it names.
func TestSignedACSNeedsAVerifiedSignature(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			x := newFixture(t, b)
			sp := newServiceProvider(t)
			attacker := newServiceProvider(t) // its ACS is not registered
			for _, certs := range [][]string{nil, {x.certificate(t, x.fx.EnvID, sp.cert)}} {
				app := x.samlApp(t, sp, appOptions{acceptSignedACS: true, certs: certs})
				sp.configure(t, x, app.ID, saml.HTTPPostBinding, false)
				r := request(t, x, sp)
				r.AssertionConsumerServiceURL = attacker.acs()
				form := url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString([]byte(xmlOf(t, r)))}}
				for _, q := range []string{"?Signature=AAAA", "?SigAlg=x&Signature=AAAA"} {
					refused(t, newAgent(t).postForm(x.base()+"/saml20/idp/sso"+q, form), 400, "INVALID_REQUEST", "AssertionConsumerServiceURL")
				}
				x.updateApp(t, app.ID, func(m map[string]any) { m["spEntityId"] = "retired-" + app.ID })
			}
			if attacker.accepted() != 0 {
				t.Fatal("the unregistered ACS got an assertion")
			}
		})
	}
}

// TestLongRequestID: an AuthnRequest ID is kept in the replay record and
// in every step of the flow; one longer than any SAML library makes is
// refused with PingOne's 400 (not a store error on PostgreSQL, whose
// index rows are bounded), and nothing is started.
func TestLongRequestID(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			x := newFixture(t, b)
			sp := newServiceProvider(t)
			app := x.samlApp(t, sp, appOptions{})
			sp.configure(t, x, app.ID, saml.HTTPRedirectBinding, false)
			for _, n := range []int{300, 4000, 100000} {
				r := request(t, x, sp)
				r.ID = "id-" + strings.Repeat("a", n)
				refused(t, newAgent(t).get(redirectURL(t, sp, r)), 400, "INVALID_REQUEST", "ID")
			}
			r := request(t, x, sp)
			r.ID = "id-" + strings.Repeat("a", 200)
			if l := newAgent(t).get(redirectURL(t, sp, r)).location(t); l == nil {
				t.Fatal("a 203-byte ID was refused")
			}
		})
	}
}
