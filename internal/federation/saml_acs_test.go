package federation_test

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"
	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// wireError is e's body as the server writes it, without its fresh id.
func wireError(e *wire.Error) map[string]any {
	b, _ := json.Marshal(e)
	var m map[string]any
	json.Unmarshal(b, &m)
	delete(m, "id")
	return m
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestSAMLACSRejections: what the ACS refuses before it reads a Response
// for meaning — PingOne's error, and the flow untouched, so that the
// provider's genuine Response still completes it; what it refuses after.
func TestSAMLACSRejections(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newSAMLRP(t, be.DSN(t), wire.SAMLBindingRedirect, false)
			keyless := addSAMLProvider(t, x.rp, "Keyless", wire.IdentityProviderSAMLData{IdpEntityID: "urn:keyless", SsoEndpoint: x.idp.srv.URL + "/sso",
				SsoBinding: wire.SAMLBindingRedirect, SpSigning: &wire.SAMLSigning{Key: wire.Ref{ID: uuid.NewString()}}}, x.idp.cert)
			untrusting := addSAMLProvider(t, x.rp, "Untrusting", wire.IdentityProviderSAMLData{IdpEntityID: x.idp.entityID(),
				SsoEndpoint: x.idp.srv.URL + "/sso", SsoBinding: wire.SAMLBindingRedirect, SpEntityID: "urn:gatehouse:" + x.fx.EnvID})
			x.usePolicy(t, map[string]any{"type": "LOGIN", "priority": 1,
				"registration":    map[string]any{"enabled": true, "population": map[string]string{"id": x.fx.PopulationID}},
				"socialProviders": []map[string]string{{"id": x.provID}, {"id": keyless}, {"id": untrusting}}})
			good := x.forger(t, x.idp.key, x.idp.cert, x.idp.entityID())
			p := x.beginSAML(t, x.provID)
			genuine := good.response(t, p.reqID, "dave@example.org", nil)
			commented := good.response(t, p.reqID, "dave@example.org.evil.example", nil, func(r *etree.Element) {
				// A comment the signature does not see: "dave@example.org" to a careless reader.
				nid := assertionOf(r).FindElement("./Subject/NameID")
				nid.SetText("dave@example.org")
				nid.CreateComment("")
				nid.CreateText(".evil.example")
			})
			bad := func(msg string) map[string]any {
				return wireError(wire.InvalidRequest(wire.InvalidValue("SAMLResponse", msg)))
			}
			form := func(resp, relay string) string {
				return url.Values{"SAMLResponse": {resp}, "RelayState": {relay}}.Encode()
			}
			cases := []struct {
				name, contentType, body string
				status                  int
				want                    map[string]any
			}{
				{"JSON", "application/json", `{"SAMLResponse":"x"}`, http.StatusUnsupportedMediaType,
					wireError(wire.UnsupportedMediaType("application/json"))},
				{"no content type", "", form(genuine, p.relayState), http.StatusUnsupportedMediaType, wireError(wire.UnsupportedMediaType(""))},
				{"oversized", "application/x-www-form-urlencoded", form(strings.Repeat("A", 300<<10), p.relayState), http.StatusRequestEntityTooLarge,
					wireError(wire.TooLarge(256 << 10))},
				{"an artifact", "application/x-www-form-urlencoded", form(genuine, p.relayState) + "&SAMLart=AAQAAMFbLinlXaCM", http.StatusBadRequest,
					wireError(wire.InvalidRequest(wire.InvalidValue("SAMLart", "The HTTP-Artifact binding is not supported: post the SAMLResponse.")))},
				{"no SAMLResponse", "application/x-www-form-urlencoded", "RelayState=" + url.QueryEscape(p.relayState), http.StatusBadRequest,
					wireError(wire.InvalidRequest(wire.Required("SAMLResponse")))},
				{"malformed base64", "application/x-www-form-urlencoded", form("PHNhbWxwOl!!!", p.relayState), http.StatusBadRequest,
					bad("SAMLResponse is not base64.")},
				{"not XML", "application/x-www-form-urlencoded", form(b64("<samlp:Response"), p.relayState), http.StatusBadRequest,
					bad("SAMLResponse is not well-formed XML.")},
				{"not a Response", "application/x-www-form-urlencoded",
					form(b64(`<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="x"/>`), p.relayState), http.StatusBadRequest,
					bad("SAMLResponse is not a SAML 2.0 Response.")},
				{"DOCTYPE with entities", "application/x-www-form-urlencoded", form(b64(`<?xml version="1.0"?>`+
					`<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>`+
					`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&lol2;</samlp:Response>`), p.relayState), http.StatusBadRequest,
					bad("SAMLResponse must not carry a DOCTYPE or entity declarations.")},
				{"external entity", "application/x-www-form-urlencoded", form(b64(`<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>`+
					`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&x;</samlp:Response>`), p.relayState), http.StatusBadRequest,
					bad("SAMLResponse must not carry a DOCTYPE or entity declarations.")},
				{"a comment inside the NameID", "application/x-www-form-urlencoded", form(commented, p.relayState), http.StatusBadRequest,
					bad("SAMLResponse must not carry XML comments.")},
				{"no RelayState", "application/x-www-form-urlencoded", "SAMLResponse=" + url.QueryEscape(genuine), http.StatusBadRequest,
					wireError(wire.InvalidRequest(wire.Required("RelayState")))},
				{"another RelayState", "application/x-www-form-urlencoded", form(genuine, p.flowID+".forged"), http.StatusBadRequest, badState},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					expectError(t, p.a.send("POST", x.acsURL(), tc.contentType, tc.body), tc.status, tc.want)
				})
			}
			// saml20/sp/sso names its parameters as PingOne does.
			sso := x.base() + "/saml20/sp/sso"
			expectError(t, p.a.get(sso), http.StatusBadRequest, wireError(wire.InvalidRequest(wire.Required("idpId"), wire.Required("flowId"))))
			expectError(t, p.a.get(sso+"?"+url.Values{"idpId": {uuid.NewString()}, "flowId": {p.flowID}}.Encode()), http.StatusBadRequest,
				wireError(wire.InvalidRequest(wire.InvalidValue("idpId", "The environment has no such identity provider."))))
			// A SAML answer comes to the ACS only.
			expectError(t, p.a.get(x.base()+"/rp/callback/saml?RelayState="+url.QueryEscape(p.relayState)), http.StatusBadRequest,
				wireError(wire.InvalidRequest(wire.Required("state"))))

			// The ACS takes POSTs only.
			expectError(t, p.a.get(x.acsURL()+"?SAMLResponse=x"), http.StatusMethodNotAllowed, wireError(wire.MethodNotAllowed("POST")))

			// The ACS of an unknown environment is no ACS.
			expectError(t, p.a.send("POST", x.s.URL+"/"+uuid.NewString()+"/saml20/sp/acs", "application/x-www-form-urlencoded", form(genuine, p.relayState)),
				http.StatusNotFound, wireError(wire.NotFound("")))

			// The flow was left as it was: the genuine Response completes it.
			fl := x.post(t, p, url.Values{"SAMLResponse": {genuine}, "RelayState": {p.relayState}})
			expectFields(t, "flow", fl, map[string]any{"status": "COMPLETED", "_embedded.user.username": "dave@example.org"})
			// Once: the same Response again names no sign-on in progress.
			expectError(t, p.a.send("POST", x.acsURL(), "application/x-www-form-urlencoded", form(genuine, p.relayState)), http.StatusBadRequest, badState)

			// A provider whose signing key is gone cannot start a sign-on
			// (nor publish metadata); one without trusted certificates
			// can, but no Response of it is believed.
			q := newAgent(t)
			fl = x.startPiFlow(t, q, "s", "verifier-0123456789012345678901234567890123456789")
			noKey := map[string]any{"code": "REQUEST_FAILED", "message": "The signing key of the identity provider Keyless is missing."}
			expectError(t, q.get(x.base()+"/saml20/sp/sso?"+url.Values{"idpId": {keyless}, "flowId": {jstr(fl, "id")}}.Encode()), http.StatusBadRequest, noKey)
			expectError(t, q.get(x.base()+"/saml20/sp/metadata/"+keyless), http.StatusBadRequest, noKey)
			p = x.beginSAML(t, untrusting)
			fl = x.post(t, p, url.Values{"SAMLResponse": {good.response(t, p.reqID, "dave@example.org", nil)}, "RelayState": {p.relayState}})
			expectFields(t, "untrusting provider", fl, map[string]any{"status": "FAILED",
				"error": map[string]any{"code": "server_error", "message": "The identity provider Untrusting has no verification certificate."}})

			// A provider disabled during the sign-on ends it.
			p = x.beginSAML(t, x.provID)
			genuine = good.response(t, p.reqID, "dave@example.org", nil)
			prov, err := x.s.Store.GetIdentityProvider(t.Context(), x.fx.EnvID, x.provID)
			if err != nil {
				t.Fatal(err)
			}
			prov.Enabled = false
			if err := x.s.Store.UpdateIdentityProvider(t.Context(), prov); err != nil {
				t.Fatal(err)
			}
			fl = x.post(t, p, url.Values{"SAMLResponse": {genuine}, "RelayState": {p.relayState}})
			expectFields(t, "disabled provider", fl, map[string]any{"status": "FAILED",
				"error": map[string]any{"code": "access_denied", "message": "The identity provider Corporate is disabled."}})
			// …and is not offered to the next.
			q = newAgent(t)
			fl = x.startPiFlow(t, q, "s", "verifier-0123456789012345678901234567890123456789")
			expectError(t, q.get(x.base()+"/saml20/sp/sso?"+url.Values{"idpId": {x.provID}, "flowId": {jstr(fl, "id")}}.Encode()),
				http.StatusBadRequest, map[string]any{"code": "REQUEST_FAILED", "message": "The identity provider Corporate is disabled."})
		})
	}
}

// TestSAMLACSCrossSite: the provider's page posts from another site, and a
// browser leaves the SameSite=Lax ST cookie off that POST; the ACS has the
// browser post the same form again from its own page, which carries the
// cookie. Without the cookie the flow is not given away.
func TestSAMLACSCrossSite(t *testing.T) {
	x := newSAMLRP(t, "", wire.SAMLBindingPost, false)
	x.usePolicy(t, map[string]any{"type": "LOGIN", "priority": 1,
		"registration":    map[string]any{"enabled": true, "population": map[string]string{"id": x.fx.PopulationID}},
		"socialProviders": []map[string]string{{"id": x.provID}}})
	good := x.forger(t, x.idp.key, x.idp.cert, x.idp.entityID())
	p := x.beginSAML(t, x.provID)
	posted := url.Values{"SAMLResponse": {good.response(t, p.reqID, "erin@example.org", nil)}, "RelayState": {p.relayState}}

	stranger := newAgent(t) // the cross-site POST: no cookie
	action, again := form(t, stranger.postForm(x.acsURL(), posted))
	if action != x.acsURL() || again.Get("SAMLResponse") != posted.Get("SAMLResponse") || again.Get("RelayState") != p.relayState {
		t.Fatalf("the ACS re-posts %v to %s", again, action)
	}
	// Posted again without the cookie still: the flow is another browser's.
	expectError(t, stranger.postForm(action, again), http.StatusUnauthorized, otherBrowser)
	// The browser that began the sign-on: completed.
	fl := x.post(t, p, again)
	expectFields(t, "flow", fl, map[string]any{"status": "COMPLETED", "_embedded.user.username": "erin@example.org"})
}

// TestSAMLSPMetadata: PingOne's service provider metadata per provider —
// Gatehouse's entity ID, its ACS, and the certificate of the key that
// signs its AuthnRequests; nothing for unknown, foreign or non-SAML ids.
func TestSAMLSPMetadata(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newSAMLRP(t, be.DSN(t), wire.SAMLBindingPost, true)
			r := newAgent(t).get(x.base() + "/saml20/sp/metadata/" + x.provID)
			expectStatus(t, r, http.StatusOK)
			if ct := r.header.Get("Content-Type"); ct != "application/samlmetadata+xml" {
				t.Errorf("Content-Type %q", ct)
			}
			var md crewjam.EntityDescriptor
			if err := xml.Unmarshal(r.body, &md); err != nil {
				t.Fatal(err)
			}
			if md.EntityID != "urn:gatehouse:"+x.fx.EnvID || len(md.SPSSODescriptors) != 1 {
				t.Fatalf("metadata %s", r.body)
			}
			d := md.SPSSODescriptors[0]
			if len(d.AssertionConsumerServices) != 1 || d.AssertionConsumerServices[0].Location != x.acsURL() ||
				d.AssertionConsumerServices[0].Binding != crewjam.HTTPPostBinding {
				t.Errorf("ACS %+v", d.AssertionConsumerServices)
			}
			if d.AuthnRequestsSigned == nil || !*d.AuthnRequestsSigned || d.WantAssertionsSigned == nil || !*d.WantAssertionsSigned {
				t.Errorf("AuthnRequestsSigned %v WantAssertionsSigned %v", d.AuthnRequestsSigned, d.WantAssertionsSigned)
			}
			if len(d.KeyDescriptors) != 1 || d.KeyDescriptors[0].Use != "signing" {
				t.Fatalf("key descriptors %+v", d.KeyDescriptors)
			}
			der, err := base64.StdEncoding.DecodeString(d.KeyDescriptors[0].KeyInfo.X509Data.X509Certificates[0].Data)
			if err != nil {
				t.Fatal(err)
			}
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			// The environment's default signing key's certificate.
			keys := x.api(t, "GET", x.envPath()+"/keys", nil, http.StatusOK)
			found := false
			for _, k := range jpath(keys, "_embedded.keys").([]any) {
				if jstr(k, "usageType") == "SIGNING" && jpath(k, "default") == true && jpath(k, "serialNumber") == float64(cert.SerialNumber.Int64()) {
					found = true
				}
			}
			if !found {
				t.Errorf("the metadata's certificate (serial %s) is not the default signing key's", cert.SerialNumber)
			}

			other := &rp{s: x.s, fx: x.s.NewSignOn(t, apptest.SignOnOptions{})}
			foreign := addSAMLProvider(t, other, "Elsewhere", wire.IdentityProviderSAMLData{IdpEntityID: "urn:elsewhere",
				SsoEndpoint: "https://idp.example/sso", SsoBinding: wire.SAMLBindingPost}, x.idp.cert)
			oidc := x.addProvider(t, "OIDC", map[string]any{"clientId": "c", "clientSecret": "s", "issuer": "https://op.example",
				"authorizationEndpoint": "https://op.example/authorize", "tokenEndpoint": "https://op.example/token", "jwksEndpoint": "https://op.example/jwks"})
			for _, u := range []string{
				x.base() + "/saml20/sp/metadata/" + uuid.NewString(),
				x.base() + "/saml20/sp/metadata/" + foreign,
				x.base() + "/saml20/sp/metadata/" + oidc,
				x.base() + "/saml20/sp/metadata/not-an-id",
				x.s.URL + "/" + uuid.NewString() + "/saml20/sp/metadata/" + x.provID,
			} {
				expectError(t, newAgent(t).get(u), http.StatusNotFound, wireError(wire.NotFound("")))
			}
		})
	}
}
