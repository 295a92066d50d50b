package idp_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"
	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// TestWorkflowSAMLSignOnFlow plays PingOne's workflow "SAML sign-on flow"
// (workflow-library/platform-sso-and-authorization/saml/saml-sign-on-flow),
// task 3, headless, as its Postman collection does: an unsigned
// AuthnRequest POSTed to saml20/idp/sso as a form (step 9), the flow read
// (step 10), the password checked (step 11) and saml20/resume (step 12),
// whose 200 page carries the SAMLResponse. The Response is then checked
// by a SAML service provider library as the application would.
func TestWorkflowSAMLSignOnFlow(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			x := newFixture(t, b)
			sp := newServiceProvider(t)
			app := x.samlApp(t, sp, appOptions{})
			sp.configure(t, x, app.ID, saml.HTTPPostBinding, false)
			a := newAgent(t)

			// Step 9: the AuthnRequest, base64 in the form (HTTP-POST).
			id := "id-" + strings.ReplaceAll(uuid.NewString(), "-", "")
			authn := fmt.Sprintf(`<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" `+
				`ID="%s" Version="2.0" IssueInstant="%s" AssertionConsumerServiceURL="%s" `+
				`ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"><saml:Issuer>%s</saml:Issuer>`+
				`<samlp:NameIDPolicy AllowCreate="true" Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"/></samlp:AuthnRequest>`,
				id, time.Now().UTC().Format("2006-01-02T15:04:05Z"), sp.acs(), sp.entityID())
			r := a.postForm(x.base()+"/saml20/idp/sso", url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString([]byte(authn))}, "RelayState": {"workflow"}})
			flowID := x.signOnPage(t, r.location(t))

			// Step 10: the flow asks for a username and password.
			r = a.get(x.base() + "/flows/" + flowID)
			if r.status != http.StatusOK {
				t.Fatalf("step 10: %d %s", r.status, r.body)
			}
			f := r.object(t)
			if f["status"] != "USERNAME_PASSWORD_REQUIRED" || f["id"] != flowID {
				t.Fatalf("step 10: %s", r.body)
			}
			if res, _ := f["resumeUrl"].(string); res != x.base()+"/saml20/resume?flowId="+flowID {
				t.Fatalf("step 10: resumeUrl %q", res)
			}

			// Step 11: the password; the flow completes.
			resume := x.password(t, a, flowID)

			// Step 12: resume answers 200 with the SAMLResponse.
			page := a.get(resume)
			if page.status != http.StatusOK || !strings.HasPrefix(page.header.Get("Content-Type"), "text/html") {
				t.Fatalf("step 12: %d %s", page.status, page.header.Get("Content-Type"))
			}
			action, v := page.form(t)
			if action != sp.acs() || v.Get("RelayState") != "workflow" {
				t.Fatalf("step 12 posts to %s with RelayState %q", action, v.Get("RelayState"))
			}
			raw, err := base64.StdEncoding.DecodeString(v.Get("SAMLResponse"))
			if err != nil {
				t.Fatal(err)
			}
			acs, _ := url.Parse(sp.acs())
			assertion, err := sp.mw.ServiceProvider.ParseXMLResponse(raw, []string{id}, *acs)
			if err != nil {
				t.Fatalf("the application refuses the Response: %v", err)
			}
			if assertion.Subject.NameID.Value != x.fx.Username {
				t.Fatalf("NameID %q", assertion.Subject.NameID.Value)
			}
			// The Response is single: neither resume nor the request again.
			refused(t, a.get(resume), 404, "NOT_FOUND", "")
			refused(t, a.postForm(x.base()+"/saml20/idp/sso", url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString([]byte(authn))}}),
				400, "INVALID_REQUEST", "ID")
		})
	}
}

// TestMetadata: the IdP metadata per application names the environment's
// entity id, both SSO bindings, the application's signing certificate
// (signing only) and its NameID format, and a service provider library
// reads it.
func TestMetadata(t *testing.T) {
	x := newFixture(t, apptest.Backends()[0])
	sp := newServiceProvider(t)
	app := x.samlApp(t, sp, appOptions{nameIDFormat: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress", requestSigned: true,
		certs: []string{x.certificate(t, x.fx.EnvID, sp.cert)}})
	r := newAgent(t).get(x.base() + "/saml20/metadata/" + app.ID)
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/samlmetadata+xml" {
		t.Fatalf("%d %s", r.status, r.header.Get("Content-Type"))
	}
	md, err := samlsp.ParseMetadata(r.body)
	if err != nil {
		t.Fatal(err)
	}
	if md.EntityID != x.base() {
		t.Fatalf("entityID %q", md.EntityID)
	}
	d := md.IDPSSODescriptors[0]
	bindings := map[string]string{}
	for _, s := range d.SingleSignOnServices {
		bindings[s.Binding] = s.Location
	}
	if bindings[saml.HTTPRedirectBinding] != x.base()+"/saml20/idp/sso" || bindings[saml.HTTPPostBinding] != x.base()+"/saml20/idp/sso" {
		t.Fatalf("SSO services %v", bindings)
	}
	if len(d.KeyDescriptors) != 1 || d.KeyDescriptors[0].Use != "signing" {
		t.Fatalf("key descriptors %+v", d.KeyDescriptors)
	}
	kp, err := x.s.Keys.KeyPair(context.Background(), x.fx.EnvID, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := d.KeyDescriptors[0].KeyInfo.X509Data.X509Certificates[0].Data; got != base64.StdEncoding.EncodeToString(kp.Certificate.Raw) {
		t.Fatal("the metadata's certificate is not the default signing key's")
	}
	if len(d.NameIDFormats) != 1 || d.NameIDFormats[0] != "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" {
		t.Fatalf("NameID formats %v", d.NameIDFormats)
	}
	if d.WantAuthnRequestsSigned == nil || !*d.WantAuthnRequestsSigned {
		t.Fatal("WantAuthnRequestsSigned is not set")
	}
}
