package federation_test

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// forger makes Responses as an identity provider would, with the parts a
// case gets wrong: crewjam's IdentityProvider signs what the case built.
type forger struct {
	idp crewjam.IdentityProvider
	sp  *crewjam.EntityDescriptor
	acs string
}

func (x *samlRP) forger(t *testing.T, key *rsa.PrivateKey, cert *x509.Certificate, entityID string) *forger {
	t.Helper()
	md := newAgent(t).get(x.base() + "/saml20/sp/metadata/" + x.provID)
	expectStatus(t, md, http.StatusOK)
	var sp crewjam.EntityDescriptor
	if err := xml.Unmarshal(md.body, &sp); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(entityID)
	return &forger{idp: crewjam.IdentityProvider{Key: key, Certificate: cert, MetadataURL: *u}, sp: &sp, acs: x.acsURL()}
}

// response is a Response to request reqID for nameID, with the assertion
// edited before it is signed, signed as the assertion and as the
// Response; after edits the signed XML.
func (f *forger) response(t *testing.T, reqID, nameID string, edit func(*crewjam.IdpAuthnRequest), after ...func(*etree.Element)) string {
	t.Helper()
	req := &crewjam.IdpAuthnRequest{IDP: &f.idp, HTTPRequest: httptest.NewRequest("POST", f.acs, nil), Now: time.Now(),
		Request: crewjam.AuthnRequest{ID: reqID, IssueInstant: time.Now()}, ServiceProviderMetadata: f.sp, SPSSODescriptor: &f.sp.SPSSODescriptors[0],
		ACSEndpoint: &crewjam.IndexedEndpoint{Binding: crewjam.HTTPPostBinding, Location: f.acs}}
	if err := (crewjam.DefaultAssertionMaker{}).MakeAssertion(req, &crewjam.Session{ID: "s", NameID: nameID,
		NameIDFormat: string(crewjam.EmailAddressNameIDFormat), UserEmail: nameID, CreateTime: time.Now(), Index: "1"}); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(req)
	}
	if err := req.MakeResponse(); err != nil {
		t.Fatal(err)
	}
	el := req.ResponseEl.Copy()
	for _, a := range after {
		a(el)
	}
	doc := etree.NewDocument()
	doc.SetRoot(el)
	b, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// errorResponse is the provider's answer that it did not sign the user on.
func (f *forger) errorResponse(t *testing.T, reqID, topLevel, secondLevel string) string {
	t.Helper()
	req := &crewjam.IdpAuthnRequest{IDP: &f.idp, HTTPRequest: httptest.NewRequest("POST", f.acs, nil), Now: time.Now(),
		Request: crewjam.AuthnRequest{ID: reqID, IssueInstant: time.Now()}, ServiceProviderMetadata: f.sp, SPSSODescriptor: &f.sp.SPSSODescriptors[0],
		ACSEndpoint: &crewjam.IndexedEndpoint{Binding: crewjam.HTTPPostBinding, Location: f.acs}}
	if err := req.MakeErrorResponse(topLevel, secondLevel, "no"); err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	doc.SetRoot(req.ResponseEl)
	b, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// Edits of signed XML, as an attacker in the middle makes them.

func assertionOf(r *etree.Element) *etree.Element { return r.SelectElement("Assertion") }

// unsignResponse drops the Response's signature (the assertion keeps its
// own): what an attacker does before touching the Response.
func unsignResponse(r *etree.Element) { r.RemoveChild(r.SelectElement("Signature")) }

func unsignAssertion(r *etree.Element) {
	a := assertionOf(r)
	a.RemoveChild(a.SelectElement("Signature"))
}

func setNameID(a *etree.Element, v string) {
	a.FindElement("./Subject/NameID").SetText(v)
}

// evilCopy is the signed assertion's copy naming another user, unsigned.
func evilCopy(r *etree.Element) *etree.Element {
	evil := assertionOf(r).Copy()
	evil.RemoveChild(evil.SelectElement("Signature"))
	setNameID(evil, "admin@example.org")
	return evil
}

// TestSAMLResponseRejections: every Response Gatehouse must not believe
// ends the sign-on (FAILED, PingOne's error, resume reports it to the
// application): no user signed on, nobody registered.
func TestSAMLResponseRejections(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newSAMLRP(t, be.DSN(t), wire.SAMLBindingRedirect, false)
			x.usePolicy(t, map[string]any{"type": "LOGIN", "priority": 1,
				"registration":    map[string]any{"enabled": true, "population": map[string]string{"id": x.fx.PopulationID}},
				"socialProviders": []map[string]string{{"id": x.provID}}})
			good := x.forger(t, x.idp.key, x.idp.cert, x.idp.entityID())
			otherKey, otherCert := selfSigned(t, "impostor")
			untrusted := x.forger(t, otherKey, otherCert, x.idp.entityID())
			impostor := x.forger(t, x.idp.key, x.idp.cert, "https://impostor.example/metadata")
			sha1 := x.forger(t, x.idp.key, x.idp.cert, x.idp.entityID())
			sha1.idp.SignatureMethod = dsig.RSASHA1SignatureMethod
			refused := func(why string) string {
				return "The SAML response of the identity provider Corporate was refused: " + why + "."
			}
			user := "carol@example.org"

			// A response accepted once, whose assertion id a later one reuses.
			replayed := ""
			cases := []struct {
				name    string
				respond func(t *testing.T, p *samlSignOn) string
				message string
			}{
				{"no signature", func(t *testing.T, p *samlSignOn) string {
					return good.response(t, p.reqID, user, nil, unsignResponse, unsignAssertion)
				}, refused("its signature is missing or not valid")},
				{"signed content changed", func(t *testing.T, p *samlSignOn) string {
					return good.response(t, p.reqID, user, nil, func(r *etree.Element) { setNameID(assertionOf(r), "admin@example.org") })
				}, refused("its signature is missing or not valid")},
				{"assertion changed under an unsigned response", func(t *testing.T, p *samlSignOn) string {
					return good.response(t, p.reqID, user, nil, unsignResponse, func(r *etree.Element) { setNameID(assertionOf(r), "admin@example.org") })
				}, refused("its signature is missing or not valid")},
				{"certificate not trusted", func(t *testing.T, p *samlSignOn) string {
					return untrusted.response(t, p.reqID, user, nil)
				}, refused("it is not signed by a certificate the provider trusts")},
				{"SHA-1 signature", func(t *testing.T, p *samlSignOn) string {
					return sha1.response(t, p.reqID, user, nil)
				}, refused("it uses an algorithm or element that is not accepted")},
				{"issuer mismatch", func(t *testing.T, p *samlSignOn) string {
					return impostor.response(t, p.reqID, user, nil)
				}, refused("its issuer is not the provider's entity ID")},
				{"audience mismatch", func(t *testing.T, p *samlSignOn) string {
					return good.response(t, p.reqID, user, func(r *crewjam.IdpAuthnRequest) {
						r.Assertion.Conditions.AudienceRestrictions[0].Audience.Value = "urn:another:sp"
					})
				}, refused("its audience is not this service provider's entity ID")},
				{"recipient mismatch", func(t *testing.T, p *samlSignOn) string {
					return good.response(t, p.reqID, user, func(r *crewjam.IdpAuthnRequest) {
						r.Assertion.Subject.SubjectConfirmations[0].SubjectConfirmationData.Recipient = "https://another.example/acs"
					})
				}, refused("its destination or recipient is not this service provider's ACS URL")},
				{"destination mismatch", func(t *testing.T, p *samlSignOn) string {
					return good.response(t, p.reqID, user, func(r *crewjam.IdpAuthnRequest) {
						r.ACSEndpoint = &crewjam.IndexedEndpoint{Binding: crewjam.HTTPPostBinding, Location: "https://another.example/acs"}
					})
				}, refused("its destination or recipient is not this service provider's ACS URL")},
				{"expired beyond the skew", func(t *testing.T, p *samlSignOn) string {
					return good.response(t, p.reqID, user, func(r *crewjam.IdpAuthnRequest) {
						old := time.Now().Add(-time.Hour)
						r.Assertion.IssueInstant, r.Now = old, old
						r.Assertion.Conditions.NotBefore, r.Assertion.Conditions.NotOnOrAfter = old.Add(-time.Minute), old.Add(time.Minute)
						r.Assertion.Subject.SubjectConfirmations[0].SubjectConfirmationData.NotOnOrAfter = old.Add(time.Minute)
					})
				}, refused("it has expired")},
				{"not yet valid beyond the skew", func(t *testing.T, p *samlSignOn) string {
					return good.response(t, p.reqID, user, func(r *crewjam.IdpAuthnRequest) {
						later := time.Now().Add(time.Hour)
						r.Assertion.IssueInstant, r.Now = later, later
						r.Assertion.Conditions.NotBefore, r.Assertion.Conditions.NotOnOrAfter = later, later.Add(time.Minute)
					})
				}, refused("it is not valid yet")},
				{"unknown InResponseTo", func(t *testing.T, p *samlSignOn) string {
					return good.response(t, "id-"+strings.Repeat("0", 40), user, nil)
				}, refused("it does not answer the request of this sign-on")},
				{"InResponseTo of another sign-on", func(t *testing.T, p *samlSignOn) string {
					other := x.beginSAML(t, x.provID)
					return good.response(t, other.reqID, user, nil)
				}, refused("it does not answer the request of this sign-on")},
				{"replayed assertion", func(t *testing.T, p *samlSignOn) string {
					return good.response(t, p.reqID, user, func(r *crewjam.IdpAuthnRequest) { r.Assertion.ID = replayed })
				}, refused("the assertion was already used")},
				{"a second, unsigned assertion", func(t *testing.T, p *samlSignOn) string {
					return good.response(t, p.reqID, user, nil, unsignResponse, func(r *etree.Element) {
						r.InsertChildAt(assertionOf(r).Index(), evilCopy(r))
					})
				}, refused("it is malformed")},
				{"the signed assertion moved inside an unsigned one", func(t *testing.T, p *samlSignOn) string {
					return good.response(t, p.reqID, user, nil, unsignResponse, func(r *etree.Element) {
						signed := assertionOf(r)
						evil := evilCopy(r)
						evil.CreateAttr("ID", "id-evil")
						r.RemoveChild(signed)
						evil.AddChild(signed)
						r.AddChild(evil)
					})
				}, refused("its signature is missing or not valid")},
				{"the signature relocated to an unsigned assertion", func(t *testing.T, p *samlSignOn) string {
					return good.response(t, p.reqID, user, nil, unsignResponse, func(r *etree.Element) {
						signed := assertionOf(r)
						evil := evilCopy(r) // same ID as the signed one
						sig := signed.SelectElement("Signature")
						signed.RemoveChild(sig)
						evil.InsertChildAt(1, sig)
						r.RemoveChild(signed)
						r.AddChild(evil)
						ext := r.CreateElement("samlp:Extensions")
						ext.AddChild(signed)
					})
				}, refused("its signature is missing or not valid")},
				{"a duplicate ID", func(t *testing.T, p *samlSignOn) string {
					return good.response(t, p.reqID, user, nil, func(r *etree.Element) {
						// Under the signed Response, another element with its ID.
						dup := r.CreateElement("samlp:Extensions")
						dup.CreateAttr("ID", r.SelectAttrValue("ID", ""))
					})
				}, refused("its signature is missing or not valid")},
			}
			// The provider's refusal is the user's: access_denied.
			t.Run("the provider's error status", func(t *testing.T) {
				p := x.beginSAML(t, x.provID)
				v := url.Values{"SAMLResponse": {good.errorResponse(t, p.reqID, crewjam.StatusResponder, crewjam.StatusAuthnFailed)}, "RelayState": {p.relayState}}
				expectFields(t, "flow", x.post(t, p, v), map[string]any{"status": "FAILED", "error": map[string]any{"code": "access_denied",
					"message": "The identity provider Corporate did not sign the user on (status " + crewjam.StatusResponder + ")."}})
			})
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					if tc.name == "replayed assertion" {
						// First accepted, for another browser.
						p := x.beginSAML(t, x.provID)
						replayed = "id-replayed-" + strings.Repeat("a", 20)
						v := url.Values{"SAMLResponse": {good.response(t, p.reqID, "first@example.org", func(r *crewjam.IdpAuthnRequest) {
							r.Assertion.ID = replayed
						})}, "RelayState": {p.relayState}}
						expectFields(t, "first use", x.post(t, p, v), map[string]any{"status": "COMPLETED"})
					}
					p := x.beginSAML(t, x.provID)
					v := url.Values{"SAMLResponse": {tc.respond(t, p)}, "RelayState": {p.relayState}}
					fl := x.post(t, p, v)
					expectFields(t, "flow", fl, map[string]any{"status": "FAILED", "error": map[string]any{"code": "server_error", "message": tc.message}})
					if u := jpath(fl, "_embedded.user"); u != nil {
						t.Errorf("a user in the failed flow: %v", u)
					}
					// The application hears of it from resume (pi.flow: in JSON).
					r := p.a.get(x.base() + "/as/resume?flowId=" + p.flowID)
					expectStatus(t, r, http.StatusBadRequest)
					if got := r.object(t); !jsonEqual(got, map[string]any{"error": "server_error", "error_description": tc.message}) {
						t.Errorf("resume answered %s", r.body)
					}
				})
			}
			// Nobody was registered: the only users are the fixture's and the
			// one whose sign-on was accepted.
			users := x.api(t, "GET", x.envPath()+"/users", nil, http.StatusOK)
			for _, u := range jpath(users, "_embedded.users").([]any) {
				if n := jstr(u, "username"); n == user || n == "admin@example.org" {
					t.Errorf("user %s was registered", n)
				}
			}
		})
	}
}

// TestSAMLSigningCombinations: a provider may sign the assertion, the
// Response, or both; each is accepted, and so is SHA-1 once the operator
// allows it (--saml-allow-sha1).
func TestSAMLSigningCombinations(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newSAMLRP(t, be.DSN(t), wire.SAMLBindingPost, false)
			x.usePolicy(t, map[string]any{"type": "LOGIN", "priority": 1,
				"registration":    map[string]any{"enabled": true, "population": map[string]string{"id": x.fx.PopulationID}},
				"socialProviders": []map[string]string{{"id": x.provID}}})
			good := x.forger(t, x.idp.key, x.idp.cert, x.idp.entityID())
			for _, tc := range []struct {
				name  string
				edit  func(*crewjam.IdpAuthnRequest)
				after []func(*etree.Element)
			}{
				{"assertion and response", nil, nil},
				{"assertion only", nil, []func(*etree.Element){unsignResponse}},
				{"response only", func(r *crewjam.IdpAuthnRequest) {
					// The Response is signed over an assertion left unsigned.
					if err := r.MakeAssertionEl(); err != nil {
						t.Fatal(err)
					}
					r.AssertionEl.RemoveChild(r.AssertionEl.SelectElement("Signature"))
				}, nil},
			} {
				t.Run(tc.name, func(t *testing.T) {
					p := x.beginSAML(t, x.provID)
					name := strings.ReplaceAll(tc.name, " ", ".") + "@example.org"
					v := url.Values{"SAMLResponse": {good.response(t, p.reqID, name, tc.edit, tc.after...)}, "RelayState": {p.relayState}}
					expectFields(t, "flow", x.post(t, p, v), map[string]any{"status": "COMPLETED", "_embedded.user.username": name})
				})
			}
		})
	}
	t.Run("SHA-1 allowed", func(t *testing.T) {
		s := apptest.Start(t, apptest.Options{SAMLAllowSHA1: true})
		x := &samlRP{rp: &rp{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{})}, idp: startSAMLIdP(t)}
		x.provID = addSAMLProvider(t, x.rp, "Corporate", wire.IdentityProviderSAMLData{IdpEntityID: x.idp.entityID(),
			SsoEndpoint: x.idp.srv.URL + "/sso", SsoBinding: wire.SAMLBindingRedirect, SpEntityID: "urn:gatehouse:" + x.fx.EnvID}, x.idp.cert)
		x.usePolicy(t, map[string]any{"type": "LOGIN", "priority": 1,
			"registration":    map[string]any{"enabled": true, "population": map[string]string{"id": x.fx.PopulationID}},
			"socialProviders": []map[string]string{{"id": x.provID}}})
		md := newAgent(t).get(x.base() + "/saml20/sp/metadata/" + x.provID)
		expectStatus(t, md, http.StatusOK)
		x.idp.put(t, "/services/gatehouse", string(md.body))
		sha1 := x.forger(t, x.idp.key, x.idp.cert, x.idp.entityID())
		sha1.idp.SignatureMethod = dsig.RSASHA1SignatureMethod
		p := x.beginSAML(t, x.provID)
		v := url.Values{"SAMLResponse": {sha1.response(t, p.reqID, "legacy@example.org", nil)}, "RelayState": {p.relayState}}
		expectFields(t, "flow", x.post(t, p, v), map[string]any{"status": "COMPLETED", "_embedded.user.username": "legacy@example.org"})
	})
}
