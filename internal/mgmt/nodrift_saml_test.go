package mgmt_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// No-drift cases of SAML applications, their attribute mappings, SAML
// identity providers and their mappings.
//
// Where the always lists come from: the non-pointer fields of PingOne's Go
// SDK models ApplicationSAML (acsUrls, assertionDuration, spEntityId…) and
// IdentityProviderSAML (idpEntityId, idpVerification, spEntityId,
// ssoBinding, ssoEndpoint); the defaults the SDK's constructors set
// (assertionSigned true, responseSigned false, sloBinding HTTP_POST); and
// what PingOne's Terraform provider declares Optional+Computed in
// pingone_application's saml_options and pingone_identity_provider's saml
// block (idp_signing_key, authentication_request_signed…), which PingOne
// fills in. nameid_format and enable_requested_authn_context are Optional
// only: PingOne returns them when set, so they are always only when sent.

var samlAppAlways = []string{"_links.self.href", "environment.id", "id", "name", "enabled", "type", "protocol", "createdAt", "updatedAt",
	"hiddenFromAppPortal", "acsUrls[]", "spEntityId", "assertionDuration", "assertionSigned", "responseSigned", "sloBinding",
	"enableAlwaysAcceptAcsUrlInSignedAuthnRequest", "idpSigning.key.id", "idpSigning.algorithm"}

var samlIDPAlways = []string{"_links.self.href", "environment.id", "id", "name", "enabled", "type", "createdAt", "updatedAt",
	"idpEntityId", "spEntityId", "ssoEndpoint", "ssoBinding", "authnRequestSigned", "idpVerification.certificates[].id", "sloBinding"}

// driftSAMLApp makes a SAML application from body (given a certificate
// of the environment) and returns its URL.
func driftSAMLApp(body func(cert string) map[string]any) func(*testing.T, *apptest.Server, string, string) string {
	return func(t *testing.T, s *apptest.Server, tok, envID string) string {
		return appsPath(envID) + "/" + driftCreate(t, s, tok, appsPath(envID), body(samlCert(t, s, envID, "SIGNING")))["id"].(string)
	}
}

// driftSAMLAttr makes a SAML application and returns the URL of its
// mapping named name, creating it from body when body is not nil.
func driftSAMLAttr(name string, body map[string]any) func(*testing.T, *apptest.Server, string, string) string {
	return func(t *testing.T, s *apptest.Server, tok, envID string) string {
		keyID, _ := defaultSigningKeyID(t, s, envID)
		app := driftCreate(t, s, tok, appsPath(envID), samlAppBody("Drift SAML mapping "+name, "urn:drift:"+uuid.NewString(), uuid.NewString(), keyID))
		base := appsPath(envID) + "/" + app["id"].(string) + "/attributes"
		if body != nil {
			return base + "/" + driftCreate(t, s, tok, base, body)["id"].(string)
		}
		return base + "/" + driftNamed(t, s, tok, base, "attributes", name)
	}
}

func driftSAMLIDP(kv ...any) func(*testing.T, *apptest.Server, string, string) string {
	return func(t *testing.T, s *apptest.Server, tok, envID string) string {
		list := "/environments/" + envID + "/identityProviders"
		body := with(samlIDPBody("Drift SAML "+uuid.NewString()[:8], uuid.NewString(), "urn:drift:sp", samlCert(t, s, envID, "SIGNING")), kv...)
		return list + "/" + driftCreate(t, s, tok, list, body)["id"].(string)
	}
}

func init() {
	registerDrift(
		driftCase{name: "application SAML", always: samlAppAlways,
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				keyID, _ := defaultSigningKeyID(t, s, envID)
				return driftApp(samlAppBody("Drift SAML", "urn:drift:saml", uuid.NewString(), keyID))(t, s, tok, envID)
			}},
		driftCase{name: "application SAML without idpSigning", always: samlAppAlways,
			create: driftApp(map[string]any{"name": "Drift SAML minimal", "enabled": false, "type": "WEB_APP", "protocol": "SAML",
				"assertionDuration": 60, "acsUrls": []string{"https://sp.example.com/acs"}, "spEntityId": "urn:drift:minimal"})},
		driftCase{name: "application SAML with every option", always: joinPaths(samlAppAlways, []string{"description", "defaultTargetUrl", "nameIdFormat", "enableRequestedAuthnContext",
			"sessionNotOnOrAfterDuration", "sloEndpoint", "sloResponseEndpoint", "sloWindow", "spVerification.authnRequestSigned",
			"spVerification.certificates[].id", "homePageUrl", "loginPageUrl", "icon.id", "icon.href", "corsSettings.behavior", "corsSettings.origins[]"}),
			create: driftSAMLApp(func(cert string) map[string]any {
				return map[string]any{"name": "Drift SAML full", "description": "Every option", "enabled": true, "type": "CUSTOM_APP", "protocol": "SAML",
					"assertionDuration": 120, "assertionSigned": false, "responseSigned": true,
					"acsUrls": []string{"https://sp.example.com/acs", "https://sp.example.com/acs2"}, "spEntityId": "urn:drift:full",
					"defaultTargetUrl": "https://sp.example.com/", "nameIdFormat": "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
					"sessionNotOnOrAfterDuration": 3600, "enableRequestedAuthnContext": true, "enableAlwaysAcceptAcsUrlInSignedAuthnRequest": true,
					"sloBinding": "HTTP_REDIRECT", "sloEndpoint": "https://sp.example.com/slo", "sloResponseEndpoint": "https://sp.example.com/slo/r", "sloWindow": 3,
					"spVerification": map[string]any{"authnRequestSigned": true, "certificates": []any{map[string]any{"id": cert}}},
					"homePageUrl":    "https://sp.example.com/", "loginPageUrl": "https://sp.example.com/login", "hiddenFromAppPortal": true,
					"icon":         map[string]any{"id": uuid.NewString(), "href": "https://cdn.example.com/icon.png"},
					"corsSettings": map[string]any{"behavior": "ALLOW_SPECIFIC_ORIGINS", "origins": []string{"https://sp.example.com"}}}
			})},
		driftCase{name: "application attribute mapping CORE saml_subject", always: appAttrAlways, volatile: []string{"updatedAt"},
			create: driftSAMLAttr("saml_subject", nil)},
		driftCase{name: "application attribute mapping SAML CUSTOM", always: joinPaths(appAttrAlways, []string{"nameFormat"}), volatile: []string{"updatedAt"},
			create: driftSAMLAttr("email", map[string]any{"name": "email", "value": "${user.email}", "required": false,
				"nameFormat": "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"})},
		driftCase{name: "application attribute mapping SAML CUSTOM without nameFormat", always: appAttrAlways, volatile: []string{"updatedAt"},
			create: driftSAMLAttr("memberOf", map[string]any{"name": "memberOf", "value": "${user.memberOfGroupNames}", "required": true})},

		driftCase{name: "identity provider SAML", always: joinPaths(samlIDPAlways, []string{"description"}), create: driftSAMLIDP()},
		driftCase{name: "identity provider SAML with every option", always: joinPaths(samlIDPAlways, []string{"description", "spSigning.key.id",
			"sloEndpoint", "sloResponseEndpoint", "sloWindow", "registration.population.id", "icon.id", "loginButtonIcon.href"}),
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				keyID, _ := defaultSigningKeyID(t, s, envID)
				return driftSAMLIDP("ssoBinding", "HTTP_REDIRECT", "authnRequestSigned", true,
					"spSigning", map[string]any{"key": map[string]any{"id": keyID}},
					"sloBinding", "HTTP_REDIRECT", "sloEndpoint", "https://idp.example.com/slo", "sloResponseEndpoint", "https://idp.example.com/slo/r", "sloWindow", 0,
					"registration", map[string]any{"population": map[string]any{"id": newPop(t, s, envID, "Drift SAML "+uuid.NewString()[:8])}},
					"icon", map[string]any{"id": uuid.NewString(), "href": "https://cdn.example.com/i.png"},
					"loginButtonIcon", map[string]any{"id": uuid.NewString(), "href": "https://cdn.example.com/b.png"})(t, s, tok, envID)
			}},
		driftCase{name: "identity provider SAML attribute mapping CORE", volatile: []string{"updatedAt"},
			always: []string{"_links.self.href", "id", "environment.id", "identityProvider.id", "name", "value", "update", "mappingType", "createdAt", "updatedAt"},
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				idp := driftSAMLIDP()(t, s, tok, envID)
				return idp + "/attributes/" + driftNamed(t, s, tok, idp+"/attributes", "attributes", "username")
			}},
	)
}
