package mgmt_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/config"
)

// TestSAMLConnectionWorkflowManagement runs the management steps of
// PingOne's "test a SAML application connection" workflow between two
// environments through /v1 alone, as its requests send them: the source
// environment's signing key read as a certificate, uploaded to the
// destination's /certificates; a SAML application in the source whose ACS is
// the destination's; a SAML identity provider in the destination trusting
// that certificate, with the application's spEntityId; a sign-on policy
// that sends users to it. Then what the SAML runtime reads on both sides
// agrees, and nothing either side names can be deleted from under it.
func TestSAMLConnectionWorkflowManagement(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			testSAMLConnectionWorkflow(t, s)
		})
	}
}

func testSAMLConnectionWorkflow(t *testing.T, s *apptest.Server) {
	ctx := context.Background()
	src, dst := newCfgAPI(t, s, "SAML source"), newCfgAPI(t, s, "SAML destination")

	// Step 1: the source's signing key, as a certificate.
	keyID, _ := defaultSigningKeyID(t, s, src.env)
	pem := src.exported(t, "/keys/"+keyID, "application/x-x509-ca-cert", "application/x-x509-ca-cert")

	// Step 2: uploaded to the destination.
	up := dst.upload(t, "SIGNING", pem)
	if up.Status != http.StatusAccepted {
		t.Fatalf("upload: %d %s", up.Status, trimBody(up.Body))
	}
	certID := checkID(t, up.JSON(t), "id")

	// Step 3: the SAML application in the source, its ACS the destination's.
	const spEntityID = "samlTests_workflow"
	app := must(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: appsPath(src.env), Token: src.tok,
		Body: with(samlAppBody("saml-test-apps_1", spEntityID, dst.env, keyID), "acsUrls", []string{s.URL + "/" + dst.env + "/saml20/sp/acs"})}), http.StatusCreated)
	appID := app["id"].(string)

	// Step 4: an attribute mapping of the application.
	must(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: appsPath(src.env) + "/" + appID + "/attributes", Token: src.tok,
		Body: map[string]any{"name": "email", "value": "${user.email}", "required": false}}), http.StatusCreated)

	// Step 6: the destination's SAML identity provider.
	idp := must(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: "/environments/" + dst.env + "/identityProviders", Token: dst.tok,
		Body: map[string]any{"name": "SAML test identity provider", "description": "this is SAML IdP test", "type": "SAML", "enabled": true,
			"spEntityId": spEntityID, "idpEntityId": s.URL + "/" + src.env, "ssoBinding": "HTTP_POST",
			"ssoEndpoint": s.URL + "/" + src.env + "/saml20/idp/sso", "authnRequestSigned": "false",
			"idpVerification": map[string]any{"certificates": []any{map[string]any{"id": certID}}}}}), http.StatusCreated)
	idpID := idp["id"].(string)

	// Step 7: a sign-on policy of the destination whose action is the
	// provider.
	pols := "/environments/" + dst.env + "/signOnPolicies"
	pol := must(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: pols, Token: dst.tok, Body: map[string]any{"name": "SAML_test_policy"}}), http.StatusCreated)
	must(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: pols + "/" + pol["id"].(string) + "/actions", Token: dst.tok,
		Body: map[string]any{"type": "IDENTITY_PROVIDER", "priority": 1, "identityProvider": map[string]any{"id": idpID}}}), http.StatusCreated)

	// What the runtime reads agrees: the application signs with the key
	// whose certificate the provider trusts, and the provider expects the
	// application's entity id.
	appRec, err := s.Store.GetApplication(ctx, src.env, appID)
	if err != nil {
		t.Fatal(err)
	}
	appCfg, err := config.DecodeApplication(appRec)
	if err != nil {
		t.Fatal(err)
	}
	idpRec, err := s.Store.GetIdentityProvider(ctx, dst.env, idpID)
	if err != nil {
		t.Fatal(err)
	}
	idpCfg, err := config.DecodeIdentityProvider(idpRec)
	if err != nil {
		t.Fatal(err)
	}
	key, err := s.Store.GetKey(ctx, src.env, appCfg.SAML.IdpSigning.Key.ID)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := s.Store.GetCertificate(ctx, dst.env, idpCfg.SAML.IdpVerification.Certificates[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(key.Certificate, cert.Certificate) {
		t.Error("the provider trusts another certificate than the application's signing key's")
	}
	if idpCfg.SAML.SpEntityID != appCfg.SAML.SpEntityID || idpCfg.SAML.AuthnRequestSigned {
		t.Errorf("provider %+v, application %+v", idpCfg.SAML, appCfg.SAML)
	}
	if appCfg.SAML.AcsURLs[0] != s.URL+"/"+dst.env+"/saml20/sp/acs" {
		t.Errorf("acsUrls = %v", appCfg.SAML.AcsURLs)
	}

	// The key's applications are the SAML application, in its own shape.
	l := must(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: "/environments/" + src.env + "/keys/" + keyID + "/applications", Token: src.tok}), http.StatusOK)
	items := l["_embedded"].(map[string]any)["applications"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["spEntityId"] != spEntityID || items[0].(map[string]any)["grantTypes"] != nil {
		t.Errorf("applications of the key = %v", items)
	}

	// Neither the trusted certificate nor the signing key can go while
	// named.
	for _, c := range []struct {
		api  cfgAPI
		path string
		who  string
	}{{dst, "/certificates/" + certID, idpID}, {src, "/keys/" + keyID, appID}} {
		r := doNo5xx(t, s, apptest.Request{Method: "DELETE", URL: c.api.url(c.path), Token: c.api.tok})
		m := checkAnswer(t, r, wantErr{400, "REQUEST_FAILED", "", ""})
		if msg, _ := m["message"].(string); !strings.Contains(msg, c.who) {
			t.Errorf("DELETE %s: %q does not name %s", c.path, msg, c.who)
		}
	}
}
