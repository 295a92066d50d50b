package federation_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"html"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// PingOne's workflow "Test a SAML application connection"
// (workflow-library/application-management/test-a-saml-application-connection)
// between two Gatehouse environments, as its requests are written: the
// source environment is the SAML identity provider of a SAML application
// whose ACS is the destination's; the destination trusts the source's
// signing certificate and signs its users on through it.

var (
	wfFormAction = regexp.MustCompile(`<form method="post" action="([^"]*)"`)
	wfFormInput  = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)"`)
)

// autoPost reads the auto-submitting form of a 200 page: its action and
// fields.
func autoPost(t *testing.T, h *hop) (string, url.Values) {
	t.Helper()
	if h.status != http.StatusOK || !strings.HasPrefix(h.header.Get("Content-Type"), "text/html") {
		t.Fatalf("not a form page: %d %s: %s", h.status, h.header.Get("Content-Type"), h.body)
	}
	m := wfFormAction.FindSubmatch(h.body)
	if m == nil {
		t.Fatalf("no form: %s", h.body)
	}
	v := url.Values{}
	for _, in := range wfFormInput.FindAllSubmatch(h.body, -1) {
		v.Set(html.UnescapeString(string(in[1])), html.UnescapeString(string(in[2])))
	}
	return html.UnescapeString(string(m[1])), v
}

type samlWorkflow struct {
	*workflow
	keyID, appID, spEntityID, certID, samlIdP string
}

// samlSetUp is the workflow's configuration: steps 1–7, then the users.
func samlSetUp(t *testing.T, s *apptest.Server) *samlWorkflow {
	ts := fmt.Sprint(time.Now().UnixNano())
	w := &samlWorkflow{workflow: &workflow{s: s, admin: s.AdminToken(t), password: "Workflow-Pass-2026!"}}
	auth := s.URL
	env := func(name string) string {
		return w.api(t, "POST", "/environments", map[string]any{"name": name + "_" + ts, "description": "SAML connection workflow",
			"type": "SANDBOX", "region": "NA", "license": map[string]string{"id": s.LicenseID(t)},
			"billOfMaterials": map[string]any{"products": []map[string]string{{"type": "PING_ONE_BASE"}}}}, 201)["id"].(string)
	}
	w.source, w.dest = env("Source_Environment"), env("Destination_Environment")

	// Step 1: the source environment's signing key.
	keys := w.api(t, "GET", "/environments/"+w.source+"/keys", nil, 200)
	for _, k := range keys["_embedded"].(map[string]any)["keys"].([]any) {
		if k := k.(map[string]any); k["usageType"] == "SIGNING" && k["default"] == true {
			w.keyID = k["id"].(string)
		}
	}
	if w.keyID == "" {
		t.Fatalf("step 1: no default signing key: %v", keys)
	}
	// Step 2: its certificate, downloaded as PKCS#7.
	r := s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + w.source + "/keys/" + w.keyID, Token: w.admin,
		Headers: http.Header{"Accept": {"application/x-pkcs7-certificates"}}})
	if r.Status != 200 || r.Header.Get("Content-Type") != "application/x-pkcs7-certificates" || len(r.Body) == 0 {
		t.Fatalf("step 2: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	p7b := r.Body

	// Step 3: the SAML application in the source, its ACS the
	// destination's.
	w.spEntityID = "samlTests_" + ts
	w.appID = w.api(t, "POST", "/environments/"+w.source+"/applications", map[string]any{
		"name": "saml-test-apps_" + ts, "description": "saml test source application", "enabled": true, "type": "WEB_APP",
		"protocol": "SAML", "assertionSigned": true, "assertionDuration": 300,
		"acsUrls":    []string{auth + "/" + w.dest + "/saml20/sp/acs"},
		"spEntityId": w.spEntityID,
		"idpSigning": map[string]any{"key": map[string]string{"id": w.keyID}, "algorithm": "SHA256withRSA"}}, 201)["id"].(string)

	// Step 4: the application's IdP metadata names the source as the
	// issuer and carries the same certificate.
	h := must(t, send(t, newJar(t), "GET", auth+"/"+w.source+"/saml20/metadata/"+w.appID, "", ""), 200)
	if !bytes.Contains(h.body, []byte(`entityID="`+auth+"/"+w.source+`"`)) {
		t.Fatalf("step 4: metadata %s", h.body)
	}

	// Step 5: the certificate uploaded to the destination, as the
	// workflow's form sends it.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("usageType", "SIGNING")
	fw, _ := mw.CreateFormFile("file", "source.p7b")
	fw.Write(p7b)
	mw.Close()
	r = s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + w.dest + "/certificates", Token: w.admin,
		ContentType: mw.FormDataContentType(), Body: body.Bytes()})
	if r.Status != http.StatusCreated && r.Status != http.StatusAccepted {
		t.Fatalf("step 5: %d %s", r.Status, r.Body)
	}
	cert := r.JSON(t)
	w.certID = cert["id"].(string)
	if cert["usageType"] != "SIGNING" {
		t.Fatalf("step 5: %s", r.Body)
	}
	// The uploaded certificate is the source key's, byte for byte.
	pemKey := s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + w.source + "/keys/" + w.keyID, Token: w.admin,
		Headers: http.Header{"Accept": {"application/x-x509-ca-cert"}}})
	pemCert := s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + w.dest + "/certificates/" + w.certID, Token: w.admin,
		Headers: http.Header{"Accept": {"application/x-x509-ca-cert"}}})
	bk, _ := pem.Decode(pemKey.Body)
	bc, _ := pem.Decode(pemCert.Body)
	if bk == nil || bc == nil || !bytes.Equal(bk.Bytes, bc.Bytes) {
		t.Fatalf("step 5: the destination's certificate is not the source key's (%d, %d)", pemKey.Status, pemCert.Status)
	}

	// Step 6: the SAML identity provider in the destination, with the
	// workflow's body (authnRequestSigned as the string it sends).
	w.samlIdP = w.api(t, "POST", "/environments/"+w.dest+"/identityProviders", map[string]any{
		"name": "SAML test identity provider", "description": "this is SAML IdP test", "type": "SAML", "enabled": true,
		"spEntityId": w.spEntityID, "idpEntityId": auth + "/" + w.source, "ssoBinding": "HTTP_POST",
		"ssoEndpoint": auth + "/" + w.source + "/saml20/idp/sso", "authnRequestSigned": "false",
		"idpVerification": map[string]any{"certificates": []map[string]string{{"id": w.certID}}}}, 201)["id"].(string)
	w.idp = w.samlIdP

	// Step 7: a sign-on policy offering the provider, and the
	// destination's application that uses it.
	w.policy = w.api(t, "POST", "/environments/"+w.dest+"/signOnPolicies", map[string]any{"name": "SAML_Policy_" + ts,
		"description": "Sign on through the source environment"}, 201)["id"].(string)
	w.api(t, "POST", "/environments/"+w.dest+"/signOnPolicies/"+w.policy+"/actions", map[string]any{"type": "IDENTIFIER_FIRST",
		"priority": 10, "recovery": map[string]bool{"enabled": false}, "socialProviders": []map[string]string{{"id": w.samlIdP}}}, 201)
	w.destApp = w.api(t, "POST", "/environments/"+w.dest+"/applications", map[string]any{"enabled": true, "name": "DestinationApp_" + ts,
		"type": "WEB_APP", "protocol": "OPENID_CONNECT", "grantTypes": []string{"AUTHORIZATION_CODE"}, "responseTypes": []string{"CODE"},
		"redirectUris": []string{"https://example.com"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"}, 201)["id"].(string)
	w.api(t, "POST", "/environments/"+w.dest+"/applications/"+w.destApp+"/signOnPolicyAssignments",
		map[string]any{"priority": 1, "signOnPolicy": map[string]string{"id": w.policy}}, 201)
	w.destSecret = w.api(t, "GET", "/environments/"+w.dest+"/applications/"+w.destApp+"/secret", nil, 200)["secret"].(string)

	// The users of both environments.
	w.addUsers(t, ts)
	return w
}

// samlSignOn runs the test of the connection in c up to the ACS: the
// destination's authorize, the provider's AuthnRequest posted to the
// source, the source user's sign-on there (unless the source session
// answers), the source's SAML resume, and the Response posted to the
// destination's ACS. It returns the destination flow as the ACS leaves it.
func (w *samlWorkflow) samlSignOn(t *testing.T, c *http.Client, checkSource bool) (map[string]any, string) {
	t.Helper()
	auth := w.s.URL
	// T1: authorize at the destination (pi.flow): the provider is offered.
	// With the source's session (checkSource false) the destination's own
	// session is set aside (prompt=login), so that the sign-on goes to the
	// source again.
	q := url.Values{"response_type": {"code"}, "client_id": {w.destApp}, "redirect_uri": {"https://example.com"}, "scope": {"openid"},
		"response_mode": {"pi.flow"}}
	if !checkSource {
		q.Set("prompt", "login")
	}
	h := must(t, send(t, c, "GET", auth+"/"+w.dest+"/as/authorize?"+q.Encode(), "", ""), 200)
	fl := h.obj(t)
	flowID := str(t, fl, "id")
	sps, _ := fl["_embedded"].(map[string]any)["socialProviders"].([]any)
	if fl["status"] != "SIGN_ON_REQUIRED" || len(sps) != 1 || sps[0].(map[string]any)["type"] != "SAML" {
		t.Fatalf("T1: %s", h.body)
	}
	authn := str(t, sps[0], "_links", "authenticate", "href")

	// T2: the provider's HTTP-POST binding: a page posting the
	// AuthnRequest to the source's SSO service.
	action, form := autoPost(t, send(t, c, "GET", authn, "", ""))
	if action != auth+"/"+w.source+"/saml20/idp/sso" || form.Get("SAMLRequest") == "" || form.Get("RelayState") == "" {
		t.Fatalf("T2: posts to %s: %v", action, form)
	}
	req, err := base64.StdEncoding.DecodeString(form.Get("SAMLRequest"))
	if err != nil || !bytes.Contains(req, []byte(w.spEntityID)) || !bytes.Contains(req, []byte(auth+"/"+w.dest+"/saml20/sp/acs")) {
		t.Fatalf("T2: AuthnRequest %s (%v)", req, err)
	}

	// T3: the source starts its own flow for the SAML application.
	h = send(t, c, "POST", action, "application/x-www-form-urlencoded", form.Encode())
	var page *hop
	if checkSource {
		must(t, h, 302)
		signon, _ := url.Parse(h.header.Get("Location"))
		srcFlow := signon.Query().Get("flowId")
		if signon.Path != "/"+w.source+"/signon/" || srcFlow == "" {
			t.Fatalf("T3: Location %s", signon)
		}
		h = must(t, send(t, c, "GET", auth+"/"+w.source+"/flows/"+srcFlow, "", ""), 200)
		if st := h.obj(t)["status"]; st != "USERNAME_PASSWORD_REQUIRED" {
			t.Fatalf("T3: source flow %v", st)
		}
		// T4: the source user's credentials.
		h = must(t, send(t, c, "POST", auth+"/"+w.source+"/flows/"+srcFlow, ctCheck,
			`{"username":"`+w.sourceUsername+`","password":"`+w.password+`"}`), 200)
		done := h.obj(t)
		if done["status"] != "COMPLETED" {
			t.Fatalf("T4: %s", h.body)
		}
		resume := str(t, done, "resumeUrl")
		if resume != auth+"/"+w.source+"/saml20/resume?flowId="+srcFlow {
			t.Fatalf("T4: resumeUrl %s", resume)
		}
		// T5: the source's SAML resume.
		page = send(t, c, "GET", resume, "", "")
	} else {
		// The source's session answers the AuthnRequest at once.
		page = h
	}

	// T5: a page posting the Response to the destination's ACS, with the
	// destination's RelayState.
	acs, resp := autoPost(t, page)
	if acs != auth+"/"+w.dest+"/saml20/sp/acs" || resp.Get("RelayState") != form.Get("RelayState") || resp.Get("SAMLResponse") == "" {
		t.Fatalf("T5: posts to %s: %v", acs, resp)
	}
	xml, _ := base64.StdEncoding.DecodeString(resp.Get("SAMLResponse"))
	if !bytes.Contains(xml, []byte(">"+w.sourceUser+"<")) || !bytes.Contains(xml, []byte("<ds:Signature")) {
		t.Fatalf("T5: the Response does not carry the source user's id as NameID, signed: %s", xml)
	}

	// T6: the destination's ACS verifies it and returns to its flow.
	h = must(t, send(t, c, "POST", acs, "application/x-www-form-urlencoded", resp.Encode()), 302)
	if l := h.header.Get("Location"); l != auth+"/"+w.dest+"/flows/"+flowID {
		t.Fatalf("T6: Location %s: %s", l, h.body)
	}
	h = must(t, send(t, c, "GET", auth+"/"+w.dest+"/flows/"+flowID, "", ""), 200)
	return h.obj(t), flowID
}

func TestSAMLConnectionWorkflow(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			w := samlSetUp(t, s)
			auth := s.URL
			c := newJar(t)

			fl, flowID := w.samlSignOn(t, c, true)
			if fl["status"] != "ACCOUNT_LINKING_REQUIRED" || str(t, fl, "_embedded", "identityProvider", "id") != w.samlIdP {
				t.Fatalf("T7: %v", fl)
			}
			// T8: the destination user's credentials link the account.
			h := must(t, send(t, c, "POST", auth+"/"+w.dest+"/flows/"+flowID, ctCheck,
				`{"username":"`+w.destName+`","password":"`+w.password+`"}`), 200)
			if st := h.obj(t)["status"]; st != "COMPLETED" {
				t.Fatalf("T8: %s", h.body)
			}
			// T9: resume at the destination: the authorization code.
			h = must(t, send(t, c, "GET", auth+"/"+w.dest+"/as/resume?flowId="+flowID, "", ""), 200)
			code := str(t, h.obj(t), "authorizeResponse", "code")
			la := w.api(t, "GET", "/environments/"+w.dest+"/users/"+w.destUser+"/linkedAccounts", nil, 200)
			items, _ := la["_embedded"].(map[string]any)["linkedAccounts"].([]any)
			if len(items) != 1 || str(t, items[0], "externalId") != w.sourceUser || str(t, items[0], "identityProvider", "id") != w.samlIdP {
				t.Fatalf("linkedAccounts %v", la)
			}
			// T10: the code's ID token names the destination user, signed
			// on through federation.
			h = must(t, send(t, c, "POST", auth+"/"+w.dest+"/as/token", "application/x-www-form-urlencoded",
				url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://example.com"}}.Encode(), w.destApp, w.destSecret), 200)
			var tok struct {
				IDToken string `json:"id_token"`
			}
			if err := json.Unmarshal(h.body, &tok); err != nil {
				t.Fatal(err)
			}
			claims := jwtClaims(t, tok.IDToken)
			amr, _ := claims["amr"].([]any)
			if claims["sub"] != w.destUser || !slices.Contains(amr, any("fed")) {
				t.Fatalf("ID token claims %v", claims)
			}

			// A new browser: the linked user completes at the ACS.
			c2 := newJar(t)
			fl2, flow2 := w.samlSignOn(t, c2, true)
			if fl2["status"] != "COMPLETED" || str(t, fl2, "_embedded", "user", "id") != w.destUser {
				t.Fatalf("second sign-on: %v", fl2)
			}
			must(t, send(t, c2, "GET", auth+"/"+w.dest+"/as/resume?flowId="+flow2, "", ""), 200)
			// The same browser again: the source's session signs on at once.
			fl3, _ := w.samlSignOn(t, c2, false)
			if fl3["status"] != "COMPLETED" {
				t.Fatalf("third sign-on: %v", fl3)
			}

			// The certificate the provider trusts cannot go while it is
			// named; the source key likewise.
			r := s.Do(t, apptest.Request{Method: "DELETE", URL: "/environments/" + w.dest + "/certificates/" + w.certID, Token: w.admin})
			if r.Status != 400 {
				t.Errorf("deleting the trusted certificate: %d %s", r.Status, r.Body)
			}
			r = s.Do(t, apptest.Request{Method: "DELETE", URL: "/environments/" + w.source + "/keys/" + w.keyID, Token: w.admin})
			if r.Status != 400 {
				t.Errorf("deleting the signing key: %d %s", r.Status, r.Body)
			}
		})
	}
}
