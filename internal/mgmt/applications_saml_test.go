package mgmt_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// ---- helpers of the SAML tests

// samlKey makes a key of envID in the store and returns its id.
func samlKey(t testing.TB, s *apptest.Server, envID, alg string, length int, sigAlg, usage string) string {
	t.Helper()
	return samlKeyAt(t, s, envID, alg, length, sigAlg, usage, time.Now())
}

// samlKeyAt makes a key valid for 30 days from now.
func samlKeyAt(t testing.TB, s *apptest.Server, envID, alg string, length int, sigAlg, usage string, now time.Time) string {
	t.Helper()
	k, err := keys.Generate(envID, keys.Spec{Name: "SAML " + usage + " " + alg, Algorithm: alg, KeyLength: length, SignatureAlgorithm: sigAlg,
		SubjectDN: "CN=SAML test, O=Gatehouse", UsageType: usage, ValidityDays: 30}, s.Sealer, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Store.CreateKey(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	return k.ID
}

// samlCert stores a partner's certificate (what POST /certificates keeps:
// a real X.509 certificate, no private key) and returns its id.
func samlCert(t testing.TB, s *apptest.Server, envID, usage string) string {
	t.Helper()
	k, err := keys.Generate(envID, keys.Spec{Name: "partner", Algorithm: "RSA", KeyLength: 2048, SignatureAlgorithm: "SHA256withRSA",
		SubjectDN: "CN=Partner, O=Partner", UsageType: "SIGNING", ValidityDays: 30}, s.Sealer, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	now := store.Now()
	c := &store.Certificate{ID: uuid.NewString(), EnvironmentID: envID, Name: "partner", Algorithm: "RSA", KeyLength: 2048,
		SignatureAlgorithm: "SHA256withRSA", SubjectDN: k.SubjectDN, IssuerDN: k.IssuerDN, UsageType: usage, SerialNumber: k.SerialNumber,
		StartsAt: k.StartsAt, ExpiresAt: k.ExpiresAt, Certificate: k.Certificate, CreatedAt: now, UpdatedAt: now}
	if err := s.Store.CreateCertificate(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// defaultSigningKeyID returns envID's default SIGNING key.
func defaultSigningKeyID(t testing.TB, s *apptest.Server, envID string) (id, alg string) {
	t.Helper()
	ks, err := s.Store.ListKeys(context.Background(), envID)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range ks {
		if k.UsageType == "SIGNING" && k.Default {
			return k.ID, k.SignatureAlgorithm
		}
	}
	t.Fatalf("%s has no default signing key", envID)
	return "", ""
}

// samlAppBody is step 3 of PingOne's "test a SAML application connection"
// workflow, as the SDK's ApplicationSAML marshals it: the source
// environment's application whose ACS is the destination environment's,
// with what the SDK's NewApplicationSAML sets besides (responseSigned
// false, sloBinding HTTP_POST).
func samlAppBody(name, spEntityID, destEnv, keyID string) map[string]any {
	return map[string]any{
		"name": name, "description": "saml test source application", "enabled": true, "type": "WEB_APP", "protocol": "SAML",
		"assertionSigned": true, "responseSigned": false, "sloBinding": "HTTP_POST", "assertionDuration": 300,
		"acsUrls":    []string{"https://auth.pingone.com/" + destEnv + "/saml20/sp/acs"},
		"spEntityId": spEntityID,
		"idpSigning": map[string]any{"key": map[string]any{"id": keyID}, "algorithm": "SHA256withRSA"},
	}
}

// samlAppKeys are the members of a SAML application PingOne always
// returns (the SDK's non-pointer fields, the defaults its constructor and
// the Terraform provider fill in), and nothing of OpenID Connect.
// nameIdFormat and enableRequestedAuthnContext are not among them: PingOne
// returns them only when set (PingOne's Terraform provider declares
// nameid_format and enable_requested_authn_context Optional, not Computed,
// and its acceptance test of a minimal SAML application checks both are
// absent), so showing a default would fail every apply that leaves them out.
var samlAppKeys = []string{"_links", "acsUrls", "assertionDuration", "assertionSigned", "createdAt", "enableAlwaysAcceptAcsUrlInSignedAuthnRequest",
	"enabled", "environment", "hiddenFromAppPortal", "id", "idpSigning", "name", "protocol",
	"responseSigned", "sloBinding", "spEntityId", "type", "updatedAt"}

func TestSAMLApplicationAsSDK(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			testSAMLApplication(t, s)
		})
	}
}

func testSAMLApplication(t *testing.T, s *apptest.Server) {
	ctx := context.Background()
	tok := s.AdminToken(t)
	env := newEnv(t, s, "SAML source", "SANDBOX")
	dest := uuid.NewString()
	keyID, keyAlg := defaultSigningKeyID(t, s, env)
	apps := appsPath(env)

	// Create as the workflow does.
	created := must(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: apps, Token: tok,
		Body: samlAppBody("saml-test-app", "samlTests_1", dest, keyID)}), http.StatusCreated)
	id := checkID(t, created, "id")
	checkTime(t, created, "createdAt")
	checkTime(t, created, "updatedAt")
	if got := keysOf(created); !slices.Equal(got, samlAppKeys) && !slices.Equal(got, append(slices.Clone(samlAppKeys[:5]), append([]string{"description"}, samlAppKeys[5:]...)...)) {
		t.Errorf("members = %v, want %v and description", got, samlAppKeys)
	}
	wantFields(t, created, map[string]any{
		"protocol": "SAML", "type": "WEB_APP", "enabled": true, "name": "saml-test-app", "description": "saml test source application",
		"acsUrls": []string{"https://auth.pingone.com/" + dest + "/saml20/sp/acs"}, "spEntityId": "samlTests_1", "assertionDuration": 300,
		"assertionSigned": true, "responseSigned": false, "sloBinding": "HTTP_POST", "hiddenFromAppPortal": false,
		"enableAlwaysAcceptAcsUrlInSignedAuthnRequest": false,
		"idpSigning":     map[string]any{"key": map[string]any{"id": keyID}, "algorithm": "SHA256withRSA"},
		"environment.id": env, "_links.self.href": s.APIPath + apps + "/" + id,
		"_links.attributes.href": s.APIPath + apps + "/" + id + "/attributes",
	})

	// GET reads what POST answered, and a PUT of it (read-only members
	// echoed, as the SDK and Terraform do) changes nothing.
	read := must(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: apps + "/" + id, Token: tok}), http.StatusOK)
	if a, b := mustJSONString(t, created), mustJSONString(t, read); a != b {
		t.Errorf("GET differs from POST:\n%s\n%s", a, b)
	}
	put := must(t, doNo5xx(t, s, apptest.Request{Method: "PUT", URL: apps + "/" + id, Token: tok, Body: read}), http.StatusOK)
	delete(put, "updatedAt")
	delete(read, "updatedAt")
	if a, b := mustJSONString(t, read), mustJSONString(t, put); a != b {
		t.Errorf("PUT of GET changed the application:\n%s\n%s", a, b)
	}

	// What the SAML runtime reads: config.Application.SAML under the wire
	// names, defaults stored.
	rec, err := s.Store.GetApplication(ctx, env, id)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.DecodeApplication(rec)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SAML.SpEntityID != "samlTests_1" || cfg.SAML.AssertionDuration != 300 || cfg.SAML.AssertionSigned == nil || !*cfg.SAML.AssertionSigned ||
		cfg.SAML.ResponseSigned == nil || *cfg.SAML.ResponseSigned || cfg.SAML.IdpSigning == nil || cfg.SAML.IdpSigning.Key.ID != keyID ||
		len(cfg.SAML.AcsURLs) != 1 || len(cfg.Settings.GrantTypes) != 0 {
		t.Errorf("stored SAML settings = %+v, settings = %+v", cfg.SAML, cfg.Settings)
	}
	var raw map[string]any
	if err := json.Unmarshal(rec.Data, &raw); err != nil {
		t.Fatal(err)
	}
	for _, oidc := range []string{"grantTypes", "redirectUris", "pkceEnforcement", "tokenEndpointAuthMethod", "clientId"} {
		if _, ok := raw[oidc]; ok {
			t.Errorf("a SAML application's data holds %s: %s", oidc, rec.Data)
		}
	}

	// A SAML application is no OAuth client: the token endpoint takes its
	// id for none, whatever grant is asked.
	for _, grant := range []string{"client_credentials", "refresh_token", "authorization_code", "urn:ietf:params:oauth:grant-type:device_code"} {
		r := doNo5xx(t, s, apptest.Request{Method: "POST", URL: s.URL + "/" + env + "/as/token", ContentType: "application/x-www-form-urlencoded",
			Body: "grant_type=" + grant + "&client_id=" + id + "&code=x&refresh_token=x&device_code=x&redirect_uri=https://a.example.com/"})
		var e struct {
			Error string `json:"error"`
		}
		json.Unmarshal(r.Body, &e)
		if r.Status != http.StatusBadRequest || e.Error != "unauthorized_client" {
			t.Errorf("%s with a SAML application's id: %d %s", grant, r.Status, trimBody(r.Body))
		}
	}

	// Without idpSigning, PingOne names the environment's default signing
	// key; every optional member PingOne serves is kept.
	cert := samlCert(t, s, env, "SIGNING")
	full := with(samlAppBody("saml-full", "urn:sp:full", dest, keyID), "idpSigning", nil,
		"type", "CUSTOM_APP", "responseSigned", true, "assertionSigned", false, "defaultTargetUrl", "https://sp.example.com/home",
		"nameIdFormat", "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress", "sessionNotOnOrAfterDuration", 600,
		"enableRequestedAuthnContext", true, "enableAlwaysAcceptAcsUrlInSignedAuthnRequest", true,
		"sloBinding", "HTTP_REDIRECT", "sloEndpoint", "https://sp.example.com/slo", "sloResponseEndpoint", "https://sp.example.com/slo/response", "sloWindow", 2,
		"spVerification", map[string]any{"authnRequestSigned": true, "certificates": []any{map[string]any{"id": cert}}},
		"homePageUrl", "https://sp.example.com", "loginPageUrl", "https://sp.example.com/login", "hiddenFromAppPortal", true,
		"acsUrls", []string{"https://sp.example.com/acs", "http://localhost:8000/acs", "https://sp.example.com/acs"})
	f := must(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: apps, Token: tok, Body: full}), http.StatusCreated)
	wantFields(t, f, map[string]any{
		"type": "CUSTOM_APP", "responseSigned": true, "assertionSigned": false, "defaultTargetUrl": "https://sp.example.com/home",
		"nameIdFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress", "sessionNotOnOrAfterDuration": 600,
		"enableRequestedAuthnContext": true, "enableAlwaysAcceptAcsUrlInSignedAuthnRequest": true,
		"sloBinding": "HTTP_REDIRECT", "sloEndpoint": "https://sp.example.com/slo", "sloResponseEndpoint": "https://sp.example.com/slo/response", "sloWindow": 2,
		"spVerification":      map[string]any{"authnRequestSigned": true, "certificates": []any{map[string]any{"id": cert}}},
		"idpSigning":          map[string]any{"key": map[string]any{"id": keyID}, "algorithm": keyAlg},
		"acsUrls":             []string{"https://sp.example.com/acs", "http://localhost:8000/acs"},
		"hiddenFromAppPortal": true, "homePageUrl": "https://sp.example.com", "loginPageUrl": "https://sp.example.com/login",
	})
	fid := f["id"].(string)
	// A PUT that leaves idpSigning out keeps the key (Terraform reads it
	// as computed); one that names another key and algorithm takes them.
	ec := samlKey(t, s, env, "EC", 256, "SHA256withECDSA", "SIGNING")
	fr := must(t, doNo5xx(t, s, apptest.Request{Method: "PUT", URL: apps + "/" + fid, Token: tok, Body: full}), http.StatusOK)
	wantFields(t, fr, map[string]any{"idpSigning.key.id": keyID})
	fr = must(t, doNo5xx(t, s, apptest.Request{Method: "PUT", URL: apps + "/" + fid, Token: tok,
		Body: with(full, "idpSigning", map[string]any{"key": map[string]any{"id": ec}})}), http.StatusOK)
	wantFields(t, fr, map[string]any{"idpSigning": map[string]any{"key": map[string]any{"id": ec}, "algorithm": "SHA256withECDSA"}})

	// The list shows SAML applications in their own shape.
	items, _ := listAll(t, s, tok, s.APIPath+apps, "applications")
	found := 0
	for _, it := range items {
		if it["protocol"] == "SAML" {
			found++
			if _, ok := it["grantTypes"]; ok {
				t.Errorf("a SAML application in the list has grantTypes: %v", it)
			}
			if _, ok := it["spEntityId"]; !ok {
				t.Errorf("a SAML application in the list has no spEntityId: %v", it)
			}
		}
	}
	if found != 2 {
		t.Errorf("the list has %d SAML applications, want 2", found)
	}

	// The CORE saml_subject mapping comes with the application; it may be
	// remapped but not renamed, made optional or deleted.
	attrs := apps + "/" + id + "/attributes"
	l := must(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: attrs, Token: tok}), http.StatusOK)
	list := l["_embedded"].(map[string]any)["attributes"].([]any)
	if len(list) != 1 {
		t.Fatalf("attributes = %v, want the CORE saml_subject only", list)
	}
	core := list[0].(map[string]any)
	wantFields(t, core, map[string]any{"name": "saml_subject", "value": "${user.id}", "required": true, "mappingType": "CORE", "application.id": id})
	for _, oidc := range []string{"idToken", "userInfo", "oidcScopes"} {
		if _, ok := core[oidc]; ok {
			t.Errorf("the SAML CORE mapping carries %s: %v", oidc, core)
		}
	}
	coreURL := attrs + "/" + core["id"].(string)
	remapped := must(t, doNo5xx(t, s, apptest.Request{Method: "PUT", URL: coreURL, Token: tok, Body: with(core, "value", "${user.email}")}), http.StatusOK)
	wantFields(t, remapped, map[string]any{"name": "saml_subject", "value": "${user.email}", "mappingType": "CORE"})
	again := must(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: coreURL, Token: tok}), http.StatusOK)
	wantFields(t, again, map[string]any{"value": "${user.email}"})
	checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "DELETE", URL: coreURL, Token: tok}), wantErr{400, "REQUEST_FAILED", "", ""})

	// A custom mapping is an assertion attribute with its NameFormat.
	const uriName = "urn:oid:0.9.2342.19200300.100.1.3"
	custom := must(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: attrs, Token: tok, Body: map[string]any{"name": uriName,
		"value": "${user.email}", "required": false, "nameFormat": "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"}}), http.StatusCreated)
	wantFields(t, custom, map[string]any{"name": uriName, "value": "${user.email}", "required": false, "mappingType": "CUSTOM",
		"nameFormat": "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"})
	for _, oidc := range []string{"idToken", "userInfo", "oidcScopes"} {
		if _, ok := custom[oidc]; ok {
			t.Errorf("a SAML mapping carries %s: %v", oidc, custom)
		}
	}
	stored, err := s.Store.ListApplicationAttributes(ctx, env, id)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]store.ApplicationAttribute{}
	for _, x := range stored {
		byName[x.Name] = x
	}
	if x := byName[uriName]; x.NameFormat != "urn:oasis:names:tc:SAML:2.0:attrname-format:uri" || x.Value != "${user.email}" {
		t.Errorf("stored mapping = %+v", x)
	}
	if x := byName["saml_subject"]; x.MappingType != "CORE" || x.Value != "${user.email}" || !x.Required {
		t.Errorf("stored CORE mapping = %+v", x)
	}

	// DELETE takes the application and its mappings.
	must(t, doNo5xx(t, s, apptest.Request{Method: "DELETE", URL: apps + "/" + id, Token: tok}), http.StatusNoContent)
	checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: apps + "/" + id, Token: tok}), wantErr{404, "NOT_FOUND", "", ""})
	// Its spEntityId is free again.
	must(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: apps, Token: tok,
		Body: samlAppBody("saml-test-app", "samlTests_1", dest, keyID)}), http.StatusCreated)
}

func mustJSONString(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSAMLApplicationErrors(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			testSAMLApplicationErrors(t, s)
		})
	}
}

func testSAMLApplicationErrors(t *testing.T, s *apptest.Server) {
	tok := s.AdminToken(t)
	env := newEnv(t, s, "SAML errors", "SANDBOX")
	other := newEnv(t, s, "SAML elsewhere", "SANDBOX")
	keyID, _ := defaultSigningKeyID(t, s, env)
	otherKey, _ := defaultSigningKeyID(t, s, other)
	encKey := samlKey(t, s, env, "RSA", 2048, "SHA256withRSA", "ENCRYPTION")
	ecKey := samlKey(t, s, env, "EC", 256, "SHA256withECDSA", "SIGNING")
	expired := samlKeyAt(t, s, env, "RSA", 2048, "SHA256withRSA", "SIGNING", time.Now().AddDate(0, 0, -40))
	cert := samlCert(t, s, env, "SIGNING")
	encCert := samlCert(t, s, env, "ENCRYPTION")
	otherCert := samlCert(t, s, other, "SIGNING")
	apps := appsPath(env)
	base := samlAppBody("Taken", "urn:sp:taken", uuid.NewString(), keyID)
	taken := appCreate(t, s, tok, env, base)
	one := apps + "/" + taken["id"].(string)
	oidc := appCreate(t, s, tok, env, appWebBody("OIDC neighbour"))
	oidcOne := apps + "/" + oidc["id"].(string)
	unchanged := []string{apps, one, oidcOne, one + "/attributes"}
	body := func(kv ...any) map[string]any {
		return with(with(base, "name", "New", "spEntityId", "urn:sp:new"), kv...)
	}
	bad := func(target string) wantErr { return wantErr{400, "INVALID_DATA", "INVALID_VALUE", target} }
	required := func(target string) wantErr { return wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", target} }
	post := func(b any) apptest.Request { return apptest.Request{Method: "POST", URL: apps, Body: b} }
	sign := func(key, alg string) map[string]any {
		m := map[string]any{"key": map[string]any{"id": key}}
		if alg != "" {
			m["algorithm"] = alg
		}
		return m
	}
	verify := func(signed bool, ids ...string) map[string]any {
		cs := []any{}
		for _, id := range ids {
			cs = append(cs, map[string]any{"id": id})
		}
		return map[string]any{"authnRequestSigned": signed, "certificates": cs}
	}
	cases := []errCase{
		// -- required members
		{name: "no spEntityId", req: post(body("spEntityId", nil)), want: required("spEntityId"), unchanged: unchanged},
		{name: "blank spEntityId", req: post(body("spEntityId", "  ")), want: required("spEntityId"), unchanged: unchanged},
		{name: "no acsUrls", req: post(body("acsUrls", nil)), want: required("acsUrls"), unchanged: unchanged},
		{name: "empty acsUrls", req: post(body("acsUrls", []string{})), want: required("acsUrls"), unchanged: unchanged},
		{name: "no assertionDuration", req: post(body("assertionDuration", nil)), want: required("assertionDuration"), unchanged: unchanged},
		{name: "no type", req: post(body("type", nil)), want: required("type"), unchanged: unchanged},
		// -- values
		{name: "spEntityId taken", req: post(body("spEntityId", "urn:sp:taken")), want: wantErr{400, "INVALID_DATA", "UNIQUENESS_VIOLATION", "spEntityId"}, unchanged: unchanged},
		{name: "spEntityId with a space", req: post(body("spEntityId", "urn:sp new")), want: bad("spEntityId"), unchanged: unchanged},
		{name: "relative ACS URL", req: post(body("acsUrls", []string{"https://sp.example.com/acs", "/acs"})), want: bad("acsUrls[1]"), unchanged: unchanged},
		{name: "javascript ACS URL", req: post(body("acsUrls", []string{"javascript:alert(1)"})), want: bad("acsUrls[0]"), unchanged: unchanged},
		{name: "ACS URL with a fragment", req: post(body("acsUrls", []string{"https://sp.example.com/acs#x"})), want: bad("acsUrls[0]"), unchanged: unchanged},
		{name: "ACS URL with user information", req: post(body("acsUrls", []string{"https://u:p@sp.example.com/acs"})), want: bad("acsUrls[0]"), unchanged: unchanged},
		{name: "too many ACS URLs", req: post(body("acsUrls", manyURLs(101))), want: wantErr{400, "INVALID_DATA", "SIZE_LIMIT_EXCEEDED", "acsUrls"}, unchanged: unchanged},
		{name: "an overlong spEntityId", req: post(body("spEntityId", "urn:"+strings.Repeat("x", 1024))), want: wantErr{400, "INVALID_DATA", "SIZE_LIMIT_EXCEEDED", "spEntityId"}, unchanged: unchanged},
		{name: "zero assertionDuration", req: post(body("assertionDuration", 0)), want: bad("assertionDuration"), unchanged: unchanged},
		{name: "OIDC type", req: post(body("type", "WORKER")), want: bad("type"), unchanged: unchanged},
		{name: "bad nameIdFormat", req: post(body("nameIdFormat", "email")), want: bad("nameIdFormat"), unchanged: unchanged},
		{name: "bad sloBinding", req: post(body("sloBinding", "SOAP")), want: bad("sloBinding"), unchanged: unchanged},
		{name: "bad sloEndpoint", req: post(body("sloEndpoint", "ftp://sp.example.com/slo")), want: bad("sloEndpoint"), unchanged: unchanged},
		{name: "sloWindow beyond a day", req: post(body("sloWindow", 25)), want: bad("sloWindow"), unchanged: unchanged},
		{name: "defaultTargetUrl with a newline", req: post(body("defaultTargetUrl", "https://sp.example.com/\nx")), want: bad("defaultTargetUrl"), unchanged: unchanged},
		// -- references
		{name: "unknown signing key", req: post(body("idpSigning", sign(uuid.NewString(), ""))), want: bad("idpSigning.key.id"), unchanged: unchanged},
		{name: "another environment's key", req: post(body("idpSigning", sign(otherKey, ""))), want: bad("idpSigning.key.id"), unchanged: unchanged},
		{name: "an encryption key", req: post(body("idpSigning", sign(encKey, ""))), want: bad("idpSigning.key.id"), unchanged: unchanged},
		{name: "an expired key", req: post(body("idpSigning", sign(expired, ""))), want: bad("idpSigning.key.id"), unchanged: unchanged,
			check: func(t *testing.T, _ *apptest.Response, m map[string]any) {
				if msg := detailAt(t, m, 0)["message"].(string); !strings.Contains(msg, "expired") {
					t.Errorf("message = %q", msg)
				}
			}},
		{name: "a key id that is no UUID", req: post(body("idpSigning", sign("not-a-uuid", ""))), want: bad("idpSigning.key.id"), unchanged: unchanged},
		{name: "idpSigning without a key", req: post(body("idpSigning", map[string]any{"algorithm": "SHA256withRSA"})), want: required("idpSigning.key.id"), unchanged: unchanged},
		{name: "an EC algorithm for an RSA key", req: post(body("idpSigning", sign(keyID, "SHA256withECDSA"))), want: bad("idpSigning.algorithm"), unchanged: unchanged},
		{name: "an RSA algorithm for an EC key", req: post(body("idpSigning", sign(ecKey, "SHA256withRSA"))), want: bad("idpSigning.algorithm"), unchanged: unchanged},
		{name: "SHA-1", req: post(body("idpSigning", sign(keyID, "SHA1withRSA"))), want: bad("idpSigning.algorithm"), unchanged: unchanged},
		{name: "unknown certificate", req: post(body("spVerification", verify(true, cert, uuid.NewString()))), want: bad("spVerification.certificates[1].id"), unchanged: unchanged},
		{name: "another environment's certificate", req: post(body("spVerification", verify(true, otherCert))), want: bad("spVerification.certificates[0].id"), unchanged: unchanged},
		{name: "an encryption certificate", req: post(body("spVerification", verify(false, encCert))), want: bad("spVerification.certificates[0].id"), unchanged: unchanged},
		{name: "signed AuthnRequests without certificates", req: post(body("spVerification", verify(true))), want: required("spVerification.certificates"), unchanged: unchanged},
		{name: "assertion encryption", req: post(body("spEncryption", map[string]any{"algorithm": "AES_256", "certificate": map[string]any{"id": cert}})),
			want: bad("spEncryption"), unchanged: unchanged},
		{name: "virtual server ids", req: post(body("virtualServerIdSettings", map[string]any{"enabled": true})), want: bad("virtualServerIdSettings"), unchanged: unchanged},
		// -- the other protocol's members
		{name: "grantTypes on a SAML application", req: post(body("grantTypes", []string{"AUTHORIZATION_CODE"})), want: bad("grantTypes"), unchanged: unchanged},
		{name: "redirectUris on a SAML application", req: post(body("redirectUris", []string{"https://a.example.com/cb"})), want: bad("redirectUris"), unchanged: unchanged},
		{name: "acsUrls on an OIDC application", req: post(with(appWebBody("OIDC with ACS"), "acsUrls", []string{"https://a.example.com/acs"})), want: bad("acsUrls"), unchanged: unchanged},
		{name: "spEntityId on an OIDC application", req: post(with(appWebBody("OIDC with entity"), "spEntityId", "urn:x")), want: bad("spEntityId"), unchanged: unchanged},
		// -- replace
		{name: "PUT a SAML body on an OIDC application", req: apptest.Request{Method: "PUT", URL: oidcOne, Body: body()}, want: bad("protocol"), unchanged: unchanged},
		{name: "PUT an OIDC body on a SAML application", req: apptest.Request{Method: "PUT", URL: one, Body: appWebBody("Taken")}, want: bad("protocol"), unchanged: unchanged},
		{name: "PUT another type", req: apptest.Request{Method: "PUT", URL: one, Body: with(base, "type", "CUSTOM_APP")}, want: bad("type"), unchanged: unchanged},
		{name: "PUT another's spEntityId", req: apptest.Request{Method: "PUT", URL: one, Body: with(base, "spEntityId", "urn:sp:other")}, want: wantErr{200, "", "", ""}},
		{name: "PUT without acsUrls", req: apptest.Request{Method: "PUT", URL: one, Body: with(base, "acsUrls", nil)}, want: required("acsUrls"), unchanged: unchanged},
		// -- transport
		{name: "wrong content type", req: apptest.Request{Method: "POST", URL: apps, Body: body(), ContentType: "application/xml"},
			want: wantErr{415, "INVALID_REQUEST", "INVALID_VALUE", "Content-Type"}, unchanged: unchanged},
		{name: "malformed JSON", req: apptest.Request{Method: "POST", URL: apps, Body: `{"protocol":"SAML",`}, want: wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", ""}, unchanged: unchanged},
		{name: "acsUrls of the wrong JSON type", req: post(body("acsUrls", "https://sp.example.com/acs")), want: wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "acsUrls"}, unchanged: unchanged},
		{name: "unknown application", req: apptest.Request{Method: "PUT", URL: apps + "/" + uuid.NewString(), Body: body()}, want: wantErr{404, "NOT_FOUND", "", ""}, unchanged: unchanged},
		{name: "the application through another environment", req: apptest.Request{Method: "PUT", URL: appsPath(other) + "/" + taken["id"].(string), Body: base},
			want: wantErr{404, "NOT_FOUND", "", ""}, unchanged: unchanged},
	}
	runErrCases(t, s, cases)

	// The PUT that took another spEntityId freed the old one; a second
	// application cannot take the new one.
	checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: apps, Token: tok, Body: body("spEntityId", "urn:sp:other")}),
		wantErr{400, "INVALID_DATA", "UNIQUENESS_VIOLATION", "spEntityId"})
	// The same spEntityId in another environment is another application's.
	appCreate(t, s, tok, other, samlAppBody("Elsewhere", "urn:sp:other", uuid.NewString(), otherKey))

	// A key that expired after the application named it does not make a
	// PUT of what GET returned fail (the runtime refuses to sign with it).
	rec, err := s.Store.GetApplication(context.Background(), env, taken["id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	var data map[string]any
	json.Unmarshal(rec.Data, &data)
	data["idpSigning"] = map[string]any{"key": map[string]any{"id": expired}, "algorithm": "SHA256withRSA"}
	rec.Data, _ = json.Marshal(data)
	if err := s.Store.UpdateApplication(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	got := must(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: one, Token: tok}), http.StatusOK)
	wantFields(t, must(t, doNo5xx(t, s, apptest.Request{Method: "PUT", URL: one, Token: tok, Body: got}), http.StatusOK),
		map[string]any{"idpSigning.key.id": expired})

	// Mapping errors on a SAML application.
	attrs := one + "/attributes"
	l := must(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: attrs, Token: tok}), http.StatusOK)
	core := l["_embedded"].(map[string]any)["attributes"].([]any)[0].(map[string]any)
	coreURL := attrs + "/" + core["id"].(string)
	unchanged = []string{attrs, coreURL}
	attrCases := []errCase{
		{name: "custom saml_subject", req: apptest.Request{Method: "POST", URL: attrs, Body: map[string]any{"name": "saml_subject", "value": "${user.email}"}},
			want: wantErr{400, "INVALID_DATA", "UNIQUENESS_VIOLATION", "name"}, unchanged: unchanged},
		{name: "bad nameFormat", req: apptest.Request{Method: "POST", URL: attrs, Body: map[string]any{"name": "mail", "value": "${user.email}", "nameFormat": "basic"}},
			want: bad("nameFormat"), unchanged: unchanged},
		{name: "a NameID format on an attribute", req: apptest.Request{Method: "POST", URL: attrs, Body: map[string]any{"name": "mail", "value": "${user.email}",
			"nameFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"}}, want: bad("nameFormat"), unchanged: unchanged},
		{name: "bad expression", req: apptest.Request{Method: "POST", URL: attrs, Body: map[string]any{"name": "mail", "value": "${user.email"}},
			want: bad("value"), unchanged: unchanged},
		{name: "name with a space", req: apptest.Request{Method: "POST", URL: attrs, Body: map[string]any{"name": "e mail", "value": "${user.email}"}},
			want: bad("name"), unchanged: unchanged},
		{name: "rename the CORE mapping", req: apptest.Request{Method: "PUT", URL: coreURL, Body: with(core, "name", "subject")}, want: bad("name"), unchanged: unchanged},
		{name: "the CORE mapping optional", req: apptest.Request{Method: "PUT", URL: coreURL, Body: with(core, "required", false)}, want: bad("required"), unchanged: unchanged},
		{name: "the CORE mapping without a value", req: apptest.Request{Method: "PUT", URL: coreURL, Body: with(core, "value", nil)}, want: required("value"), unchanged: unchanged},
		{name: "nameFormat on an OIDC mapping", req: apptest.Request{Method: "POST", URL: oidcOne + "/attributes", Body: map[string]any{"name": "x", "value": "${user.email}",
			"nameFormat": "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"}}, want: bad("nameFormat"), unchanged: []string{oidcOne + "/attributes"}},
	}
	runErrCases(t, s, attrCases)
}

// TestSAMLApplicationRace: two creates of one spEntityId at once: the
// database decides, one wins, the other is PingOne's uniqueness error and
// leaves nothing behind (no application, no CORE mapping).
func TestSAMLApplicationRace(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			tok := s.AdminToken(t)
			env := newEnv(t, s, "SAML race", "SANDBOX")
			keyID, _ := defaultSigningKeyID(t, s, env)
			const n = 6
			statuses := make(chan int, n)
			for i := range n {
				go func() {
					r := s.Do(t, apptest.Request{Method: "POST", URL: appsPath(env), Token: tok,
						Body: samlAppBody("Racer "+string(rune('A'+i)), "urn:sp:race", uuid.NewString(), keyID)})
					statuses <- r.Status
				}()
			}
			created := 0
			for range n {
				switch st := <-statuses; st {
				case http.StatusCreated:
					created++
				case http.StatusBadRequest:
				default:
					t.Errorf("status %d", st)
				}
			}
			if created != 1 {
				t.Fatalf("%d creates won, want 1", created)
			}
			apps, err := s.Store.ListApplications(context.Background(), env)
			if err != nil {
				t.Fatal(err)
			}
			saml := 0
			for _, a := range apps {
				if a.Protocol == wire.ProtocolSAML {
					saml++
					attrs, err := s.Store.ListApplicationAttributes(context.Background(), env, a.ID)
					if err != nil || len(attrs) != 1 {
						t.Errorf("mappings of the winner = %v, %v", attrs, err)
					}
				}
			}
			if saml != 1 {
				t.Errorf("%d SAML applications stored, want 1", saml)
			}
		})
	}
}

// manyURLs returns n distinct ACS URLs.
func manyURLs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "https://sp.example.com/acs/" + strconv.Itoa(i)
	}
	return out
}
