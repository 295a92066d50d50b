package idp_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"testing"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// signing is one of the combinations a SAML application may ask for.
type signing struct {
	name                      string
	assertion, response       *bool
	wantAssertion, wantResult bool
}

var signings = []signing{
	{name: "assertion (default)", wantAssertion: true},
	{name: "response only", assertion: ptr(false), response: ptr(true), wantResult: true},
	{name: "both", assertion: ptr(true), response: ptr(true), wantAssertion: true, wantResult: true},
}

// signatures reports which of a posted Response and its assertion carry
// an enveloped XML signature.
func signatures(t *testing.T, samlResponse string) (response, assertion bool, doc *etree.Element) {
	t.Helper()
	root := parseResponse(t, samlResponse)
	as := root.FindElements("./Assertion")
	if len(as) != 1 {
		t.Fatalf("the Response holds %d assertions", len(as))
	}
	return root.FindElement("./Signature") != nil, as[0].FindElement("./Signature") != nil, root
}

// checkAssertion checks what the service provider accepted: Gatehouse's
// issuer, the SP as audience, the username as NameID in the format asked
// for, and the mapped attributes with their NameFormat.
func checkAssertion(t *testing.T, x *fixture, sp *serviceProvider, inResponse bool, nameIDFormat string) {
	t.Helper()
	a := sp.lastAssertion(t)
	if a.Issuer.Value != x.base() {
		t.Errorf("issuer %q, want %q", a.Issuer.Value, x.base())
	}
	if got := a.Conditions.AudienceRestrictions[0].Audience.Value; got != sp.entityID() {
		t.Errorf("audience %q, want %q", got, sp.entityID())
	}
	if a.Subject.NameID.Value != x.fx.Username || a.Subject.NameID.Format != nameIDFormat {
		t.Errorf("NameID %q (%s), want %q (%s)", a.Subject.NameID.Value, a.Subject.NameID.Format, x.fx.Username, nameIDFormat)
	}
	sc := a.Subject.SubjectConfirmations[0].SubjectConfirmationData
	if sc.Recipient != sp.acs() || (sc.InResponseTo != "") != inResponse {
		t.Errorf("subject confirmation: recipient %q, InResponseTo %q", sc.Recipient, sc.InResponseTo)
	}
	if d := a.Conditions.NotOnOrAfter.Sub(a.IssueInstant); d.Seconds() != 120 {
		t.Errorf("the assertion is valid %v, want the application's 120 s", d)
	}
	formats := map[string]string{}
	for _, st := range a.AttributeStatements {
		for _, at := range st.Attributes {
			formats[at.Name] = at.NameFormat
		}
	}
	want := map[string]string{"email": "urn:oasis:names:tc:SAML:2.0:attrname-format:basic", "urn:oid:2.5.4.42": "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"}
	if len(formats) != len(want) || formats["email"] != want["email"] || formats["urn:oid:2.5.4.42"] != want["urn:oid:2.5.4.42"] {
		t.Errorf("attributes %v, want %v", formats, want)
	}
}

// checkHello checks the service provider's page once signed on.
func checkHello(t *testing.T, x *fixture, r *reply, path string) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("the SP's page answered %d: %s", r.status, r.body)
	}
	f := fields(r.body)
	if f["path"] != path || f["subject"] != x.fx.Username || f["email"] != x.fx.Email || f["given"] != x.fx.Given {
		t.Fatalf("the SP's session: %v", f)
	}
}

// TestSPInitiatedSignOn: crewjam's samlsp signs on through Gatehouse with
// each binding and each signing combination, reads the NameID and mapped
// attributes, and a second application then signs on without the
// sign-on page (single sign-on).
func TestSPInitiatedSignOn(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			x := newFixture(t, b)
			for _, binding := range []string{saml.HTTPRedirectBinding, saml.HTTPPostBinding} {
				for _, sg := range signings {
					t.Run(binding[len("urn:oasis:names:tc:SAML:2.0:bindings:"):]+"/"+sg.name, func(t *testing.T) {
						sp := newServiceProvider(t)
						app := x.samlApp(t, sp, appOptions{assertionSigned: sg.assertion, responseSigned: sg.response,
							nameIDFormat: "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"})
						sp.configure(t, x, app.ID, binding, false)
						a := newAgent(t)
						flowID := x.signOnPage(t, toIdP(t, a, x, a.get(sp.srv.URL+"/hello?deep=1")).location(t))
						res, v := toSP(t, a, sp, a.get(x.password(t, a, flowID)))
						if v.Get("RelayState") == "" {
							t.Error("the SP's RelayState did not come back")
						}
						resp, asrt, _ := signatures(t, v.Get("SAMLResponse"))
						if resp != sg.wantResult || asrt != sg.wantAssertion {
							t.Errorf("signed: response %v, assertion %v; want %v, %v", resp, asrt, sg.wantResult, sg.wantAssertion)
						}
						checkHello(t, x, a.get(res.location(t).String()), "/hello?deep=1")
						checkAssertion(t, x, sp, true, "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified")

						// The same browser at a second application: the
						// session signs it on at once.
						sp2 := newServiceProvider(t)
						app2 := x.samlApp(t, sp2, appOptions{nameIDFormat: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"})
						sp2.configure(t, x, app2.ID, binding, false)
						res2, _ := toSP(t, a, sp2, toIdP(t, a, x, a.get(sp2.srv.URL+"/hello")))
						checkHello(t, x, a.get(res2.location(t).String()), "/hello")
						checkAssertion(t, x, sp2, true, "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress")
					})
				}
			}
		})
	}
}

// TestIdPInitiatedSignOn: PingOne's startsso with an applicationUrl deep
// link (the RelayState the SP follows), and with none the application's
// defaultTargetUrl; the Response answers no request.
func TestIdPInitiatedSignOn(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			x := newFixture(t, b)
			for _, sg := range signings {
				t.Run(sg.name, func(t *testing.T) {
					sp := newServiceProvider(t)
					app := x.samlApp(t, sp, appOptions{assertionSigned: sg.assertion, responseSigned: sg.response, defaultTarget: "/default/target"})
					sp.configure(t, x, app.ID, saml.HTTPRedirectBinding, false)
					a := newAgent(t)
					start := x.base() + "/saml20/idp/startsso?spEntityId=" + url.QueryEscape(sp.entityID()) + "&applicationUrl=" + url.QueryEscape("/deep/link?a=b")
					flowID := x.signOnPage(t, a.get(start).location(t))
					res, v := toSP(t, a, sp, a.get(x.password(t, a, flowID)))
					if v.Get("RelayState") != "/deep/link?a=b" {
						t.Errorf("RelayState %q", v.Get("RelayState"))
					}
					resp, asrt, _ := signatures(t, v.Get("SAMLResponse"))
					if resp != sg.wantResult || asrt != sg.wantAssertion {
						t.Errorf("signed: response %v, assertion %v; want %v, %v", resp, asrt, sg.wantResult, sg.wantAssertion)
					}
					checkHello(t, x, a.get(res.location(t).String()), "/deep/link?a=b")
					checkAssertion(t, x, sp, false, "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified")

					// Signed on already: the default target, no sign-on page.
					res2, v2 := toSP(t, a, sp, a.get(x.base()+"/saml20/idp/startsso?spEntityId="+url.QueryEscape(sp.entityID())))
					if v2.Get("RelayState") != "/default/target" {
						t.Errorf("RelayState %q, want the defaultTargetUrl", v2.Get("RelayState"))
					}
					checkHello(t, x, a.get(res2.location(t).String()), "/default/target")
				})
			}
		})
	}
}

// parseResponse is a posted SAMLResponse's Response element.
func parseResponse(t *testing.T, samlResponse string) *etree.Element {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(samlResponse)
	if err != nil {
		t.Fatal(err)
	}
	d := etree.NewDocument()
	if err := d.ReadFromBytes(raw); err != nil {
		t.Fatal(err)
	}
	root := d.Root()
	if root == nil || root.Tag != "Response" {
		t.Fatalf("the SAMLResponse is not a Response: %s", raw)
	}
	return root
}
