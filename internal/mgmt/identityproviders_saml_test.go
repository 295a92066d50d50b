package mgmt_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/config"
)

// samlIDPBody is step 6 of PingOne's "test a SAML application connection"
// workflow, as the SDK's IdentityProviderSAML marshals it: the destination
// environment's provider for the source environment's SAML application.
func samlIDPBody(name, source, spEntityID, certID string) map[string]any {
	return map[string]any{
		"name": name, "description": "SAML provider of the source environment", "enabled": true, "type": "SAML",
		"idpEntityId":     "https://auth.pingone.com/" + source,
		"spEntityId":      spEntityID,
		"ssoEndpoint":     "https://auth.pingone.com/" + source + "/saml20/idp/sso",
		"ssoBinding":      "HTTP_POST",
		"idpVerification": map[string]any{"certificates": []any{map[string]any{"id": certID}}},
		// As the workflow's own body sends it: a string.
		"authnRequestSigned": "false",
	}
}

// samlIDPKeys are the members of a SAML provider PingOne always returns,
// and nothing of OpenID Connect (no clientSecret).
var samlIDPKeys = []string{"_links", "authnRequestSigned", "createdAt", "description", "enabled", "environment", "id", "idpEntityId",
	"idpVerification", "name", "sloBinding", "spEntityId", "ssoBinding", "ssoEndpoint", "type", "updatedAt"}

func TestSAMLIdentityProviderAsSDK(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			testSAMLIdentityProvider(t, s)
		})
	}
}

func testSAMLIdentityProvider(t *testing.T, s *apptest.Server) {
	ctx := context.Background()
	tok := s.AdminToken(t)
	env := newEnv(t, s, "SAML destination", "SANDBOX")
	source := uuid.NewString()
	cert := samlCert(t, s, env, "SIGNING")
	list := "/environments/" + env + "/identityProviders"

	created := must(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: list, Token: tok,
		Body: samlIDPBody("Source environment", source, "samlTests_1", cert)}), http.StatusCreated)
	id := checkID(t, created, "id")
	if got := keysOf(created); !slices.Equal(got, samlIDPKeys) {
		t.Errorf("members = %v, want %v", got, samlIDPKeys)
	}
	wantFields(t, created, map[string]any{
		"type": "SAML", "enabled": true, "idpEntityId": "https://auth.pingone.com/" + source, "spEntityId": "samlTests_1",
		"ssoEndpoint": "https://auth.pingone.com/" + source + "/saml20/idp/sso", "ssoBinding": "HTTP_POST", "authnRequestSigned": false,
		"idpVerification": map[string]any{"certificates": []any{map[string]any{"id": cert}}}, "sloBinding": "HTTP_POST",
		"_links.self.href": s.APIPath + list + "/" + id, "_links.attributes.href": s.APIPath + list + "/" + id + "/attributes",
	})
	one := list + "/" + id
	read := must(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: one, Token: tok}), http.StatusOK)
	if a, b := mustJSONString(t, created), mustJSONString(t, read); a != b {
		t.Errorf("GET differs from POST:\n%s\n%s", a, b)
	}
	put := must(t, doNo5xx(t, s, apptest.Request{Method: "PUT", URL: one, Token: tok, Body: read}), http.StatusOK)
	delete(put, "updatedAt")
	delete(read, "updatedAt")
	if a, b := mustJSONString(t, read), mustJSONString(t, put); a != b {
		t.Errorf("PUT of GET changed the provider:\n%s\n%s", a, b)
	}

	// What the SAML runtime reads, and no client secret.
	rec, err := s.Store.GetIdentityProvider(ctx, env, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.ClientSecretSealed) != 0 {
		t.Errorf("a SAML provider has a sealed client secret")
	}
	cfg, err := config.DecodeIdentityProvider(rec)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SAML.IdpEntityID != "https://auth.pingone.com/"+source || cfg.SAML.SsoBinding != "HTTP_POST" || cfg.SAML.SpEntityID != "samlTests_1" ||
		len(cfg.SAML.IdpVerification.Certificates) != 1 || cfg.SAML.IdpVerification.Certificates[0].ID != cert {
		t.Errorf("stored SAML settings = %+v", cfg.SAML)
	}
	var raw map[string]any
	if err := json.Unmarshal(rec.Data, &raw); err != nil {
		t.Fatal(err)
	}
	for _, oidc := range []string{"clientId", "authorizationEndpoint", "scopes", "pkceMethod"} {
		if _, ok := raw[oidc]; ok {
			t.Errorf("a SAML provider's data holds %s: %s", oidc, rec.Data)
		}
	}

	// Every optional member, with a signing key, signed AuthnRequests and
	// the Redirect binding.
	keyID, _ := defaultSigningKeyID(t, s, env)
	cert2 := samlCert(t, s, env, "SIGNING")
	full := with(samlIDPBody("Full", source, "urn:gatehouse:sp", cert), "ssoBinding", "HTTP_REDIRECT", "authnRequestSigned", true,
		"spSigning", map[string]any{"key": map[string]any{"id": keyID}, "algorithm": "SHA512withRSA"},
		"idpVerification", map[string]any{"certificates": []any{map[string]any{"id": cert}, map[string]any{"id": cert2}}},
		"sloBinding", "HTTP_REDIRECT", "sloEndpoint", "https://idp.example.com/slo", "sloResponseEndpoint", "https://idp.example.com/slo/r", "sloWindow", 1,
		"registration", map[string]any{"population": map[string]any{"id": newPop(t, s, env, "SAML users")}})
	f := must(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: list + "?expand=attributes", Token: tok, Body: full}), http.StatusCreated)
	wantFields(t, f, map[string]any{"ssoBinding": "HTTP_REDIRECT", "authnRequestSigned": true,
		"spSigning":       map[string]any{"key": map[string]any{"id": keyID}, "algorithm": "SHA512withRSA"},
		"idpVerification": map[string]any{"certificates": []any{map[string]any{"id": cert}, map[string]any{"id": cert2}}},
		"sloBinding":      "HTTP_REDIRECT", "sloEndpoint": "https://idp.example.com/slo", "sloResponseEndpoint": "https://idp.example.com/slo/r", "sloWindow": 1,
	})
	emb := f["_embedded"].(map[string]any)["attributes"].([]any)
	if len(emb) != 1 {
		t.Fatalf("embedded attributes = %v", emb)
	}
	wantFields(t, emb[0].(map[string]any), map[string]any{"name": "username", "value": "${samlAssertion.subject}", "update": "EMPTY_ONLY", "mappingType": "CORE"})

	// Mappings from the assertion.
	attrs := one + "/attributes"
	m := must(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: attrs, Token: tok,
		Body: map[string]any{"name": "email", "value": "${samlAssertion.urn:oid:0.9.2342.19200300.100.1.3}", "update": "ALWAYS"}}), http.StatusCreated)
	wantFields(t, m, map[string]any{"name": "email", "value": "${samlAssertion.urn:oid:0.9.2342.19200300.100.1.3}", "mappingType": "CUSTOM"})
	must(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: attrs, Token: tok,
		Body: map[string]any{"name": "name.given", "value": "${samlAssertion.givenName}", "update": "EMPTY_ONLY"}}), http.StatusCreated)

	// The list shows both types in their own shapes.
	newIDP(t, s, env, "An OIDC neighbour")
	l := must(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: list, Token: tok}), http.StatusOK)
	for _, it := range l["_embedded"].(map[string]any)["identityProviders"].([]any) {
		p := it.(map[string]any)
		_, secret := p["clientSecret"]
		_, entity := p["idpEntityId"]
		if (p["type"] == "SAML") != entity || (p["type"] == "SAML") == secret {
			t.Errorf("%s provider in the list: %v", p["type"], p)
		}
	}
}

func TestSAMLIdentityProviderErrors(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			testSAMLIdentityProviderErrors(t, s)
		})
	}
}

func testSAMLIdentityProviderErrors(t *testing.T, s *apptest.Server) {
	env := newEnv(t, s, "SAML provider errors", "SANDBOX")
	other := newEnv(t, s, "SAML provider elsewhere", "SANDBOX")
	tok := s.AdminToken(t)
	cert := samlCert(t, s, env, "SIGNING")
	encCert := samlCert(t, s, env, "ENCRYPTION")
	otherCert := samlCert(t, s, other, "SIGNING")
	otherKey, _ := defaultSigningKeyID(t, s, other)
	encKey := samlKey(t, s, env, "RSA", 2048, "SHA256withRSA", "ENCRYPTION")
	list := "/environments/" + env + "/identityProviders"
	source := uuid.NewString()
	base := samlIDPBody("Source", source, "urn:gatehouse", cert)
	created := must(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: list, Token: tok, Body: base}), http.StatusCreated)
	one := list + "/" + created["id"].(string)
	oidcOne := list + "/" + newIDP(t, s, env, "OIDC neighbour")
	unchanged := []string{list, one, oidcOne, one + "/attributes"}
	bad := func(target string) wantErr { return wantErr{400, "INVALID_DATA", "INVALID_VALUE", target} }
	required := func(target string) wantErr { return wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", target} }
	post := func(kv ...any) apptest.Request {
		return apptest.Request{Method: "POST", URL: list, Body: with(with(base, "name", "New"), kv...)}
	}
	certs := func(ids ...string) map[string]any {
		cs := []any{}
		for _, id := range ids {
			cs = append(cs, map[string]any{"id": id})
		}
		return map[string]any{"certificates": cs}
	}
	cases := []errCase{
		{name: "no idpEntityId", req: post("idpEntityId", nil), want: required("idpEntityId"), unchanged: unchanged},
		{name: "no spEntityId", req: post("spEntityId", nil), want: required("spEntityId"), unchanged: unchanged},
		{name: "no ssoEndpoint", req: post("ssoEndpoint", nil), want: required("ssoEndpoint"), unchanged: unchanged},
		{name: "no ssoBinding", req: post("ssoBinding", nil), want: required("ssoBinding"), unchanged: unchanged},
		{name: "no idpVerification", req: post("idpVerification", nil), want: required("idpVerification.certificates"), unchanged: unchanged},
		{name: "no certificates", req: post("idpVerification", certs()), want: required("idpVerification.certificates"), unchanged: unchanged},
		{name: "plain http ssoEndpoint", req: post("ssoEndpoint", "http://idp.example.com/sso"), want: bad("ssoEndpoint"), unchanged: unchanged},
		{name: "ssoEndpoint with a fragment", req: post("ssoEndpoint", "https://idp.example.com/sso#x"), want: bad("ssoEndpoint"), unchanged: unchanged},
		{name: "bad ssoBinding", req: post("ssoBinding", "HTTP_ARTIFACT"), want: bad("ssoBinding"), unchanged: unchanged},
		{name: "idpEntityId with a space", req: post("idpEntityId", "urn:idp x"), want: bad("idpEntityId"), unchanged: unchanged},
		{name: "too many certificates", req: post("idpVerification", certs(manyIDs(21)...)), want: wantErr{400, "INVALID_DATA", "SIZE_LIMIT_EXCEEDED", "idpVerification.certificates"}, unchanged: unchanged},
		{name: "unknown certificate", req: post("idpVerification", certs(cert, uuid.NewString())), want: bad("idpVerification.certificates[1].id"), unchanged: unchanged},
		{name: "another environment's certificate", req: post("idpVerification", certs(otherCert)), want: bad("idpVerification.certificates[0].id"), unchanged: unchanged},
		{name: "an encryption certificate", req: post("idpVerification", certs(encCert)), want: bad("idpVerification.certificates[0].id"), unchanged: unchanged},
		{name: "another environment's key", req: post("spSigning", map[string]any{"key": map[string]any{"id": otherKey}}), want: bad("spSigning.key.id"), unchanged: unchanged},
		{name: "an encryption key", req: post("spSigning", map[string]any{"key": map[string]any{"id": encKey}}), want: bad("spSigning.key.id"), unchanged: unchanged},
		{name: "bad sloWindow", req: post("sloWindow", -1), want: bad("sloWindow"), unchanged: unchanged},
		{name: "OIDC members on a SAML provider", req: post("clientId", "x", "clientSecret", "y"), want: bad("clientId"), unchanged: unchanged},
		{name: "SAML members on an OIDC provider", req: apptest.Request{Method: "POST", URL: list, Body: with(idpBody("O", uuid.NewString(), "s"), "idpEntityId", "urn:x")},
			want: bad("idpEntityId"), unchanged: unchanged},
		{name: "PUT to OPENID_CONNECT", req: apptest.Request{Method: "PUT", URL: one, Body: idpBody("Source", uuid.NewString(), "s")}, want: bad("type"), unchanged: unchanged},
		{name: "PUT to SAML", req: apptest.Request{Method: "PUT", URL: oidcOne, Body: base}, want: bad("type"), unchanged: unchanged},
		{name: "through another environment", req: apptest.Request{Method: "PUT", URL: "/environments/" + other + "/identityProviders/" + created["id"].(string), Body: base},
			want: wantErr{404, "NOT_FOUND", "", ""}, unchanged: unchanged},
		{name: "authnRequestSigned neither true nor false", req: post("authnRequestSigned", "maybe"),
			want: wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "authnRequestSigned"}, unchanged: unchanged},
		{name: "wrong JSON type", req: post("idpVerification", "x"), want: wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "idpVerification"}, unchanged: unchanged},
		// mappings
		{name: "an OIDC placeholder on a SAML provider", req: apptest.Request{Method: "POST", URL: one + "/attributes",
			Body: map[string]any{"name": "email", "value": "${providerAttributes.email}", "update": "ALWAYS"}}, want: bad("value"), unchanged: unchanged},
		{name: "an expression around the placeholder", req: apptest.Request{Method: "POST", URL: one + "/attributes",
			Body: map[string]any{"name": "email", "value": "x${samlAssertion.email}", "update": "ALWAYS"}}, want: bad("value"), unchanged: unchanged},
		{name: "a SAML placeholder on an OIDC provider", req: apptest.Request{Method: "POST", URL: oidcOne + "/attributes",
			Body: map[string]any{"name": "email", "value": "${samlAssertion.email}", "update": "ALWAYS"}}, want: bad("value"), unchanged: unchanged},
	}
	runErrCases(t, s, cases)
}

func manyIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = uuid.NewString()
	}
	return out
}
