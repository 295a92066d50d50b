package console_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// SAML in the console, in headless Chromium, each step read back through
// /v1: a partner's certificate uploaded through the file input (after a
// file that is no certificate was refused at its field); a SAML application
// created (after a relative ACS URL was refused at its field), with signed
// AuthnRequests verified by that certificate, its page showing no OpenID
// Connect part and linking its IdP metadata, saved unchanged with one PUT
// that changes nothing, its CORE saml_subject remapped but not deletable
// and a custom attribute added with its NameFormat; a SAML identity
// provider created (after a plain-http SSO endpoint was refused at its
// field), showing the SP metadata and ACS to give the provider, saved
// unchanged; the certificate's deletion refused while both use it, the
// API's reason shown; a signing key's certificate downloaded as PEM.

// samlPartnerCert writes a partner's self-signed certificate (PEM) into
// dir and returns its path and common name.
func samlPartnerCert(t *testing.T, dir string) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	const cn = "Partner Signing"
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(4242), Subject: pkix.Name{CommonName: cn, Organization: []string{"Partner"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "partner.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p, cn
}

// uploadCertificate uploads a certificate file through /v1 as PingOne's
// SDK does (multipart: usageType and file) and returns its id.
func uploadCertificate(t *testing.T, s *apptest.Server, token, ep, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("usageType", "SIGNING")
	fw, _ := mw.CreateFormFile("file", filepath.Base(path))
	fw.Write(b)
	mw.Close()
	r := s.Do(t, apptest.Request{Method: "POST", URL: ep + "/certificates", Body: body.Bytes(), Token: token, ContentType: mw.FormDataContentType()})
	if r.Status != http.StatusAccepted {
		t.Fatalf("upload a certificate: %d %s", r.Status, r.Body)
	}
	return r.JSON(t)["id"].(string)
}

// upload puts a file into the page's (only) file input, as a person's
// choice in the file dialog would.
func (b *appsBrowser) upload(path string) {
	b.t.Helper()
	b.waitFor("the file input", `document.querySelector('main input[type="file"]')`)
	b.do("choose "+filepath.Base(path), chromedp.SetUploadFiles(`main input[type="file"]`, []string{path}))
}

// tickFirst ticks the first checkbox of the fieldset whose legend says
// legend.
func (b *appsBrowser) tickFirst(legend string) {
	b.t.Helper()
	js := `[...document.querySelectorAll('main fieldset')].find((f) => f.querySelector('legend')?.textContent === ` + appsQ(legend) +
		` && f.getClientRects().length)?.querySelector('input[type=checkbox]')`
	b.waitFor("a checkbox under "+legend, js)
	appsEval[bool](b, `(() => { const c = `+js+`; if (!c.checked) c.click(); return c.checked; })()`)
}

// saveUnchanged presses Save on the form as drawn and checks that exactly
// one PUT of record went out, answered 200, and that the record read
// through /v1 is the same before and after (but for updatedAt).
func (b *appsBrowser) saveUnchanged(s *apptest.Server, token, record string) {
	b.t.Helper()
	get := func() map[string]any {
		r := s.Do(b.t, apptest.Request{Method: "GET", URL: record, Token: token})
		if r.Status != http.StatusOK {
			b.t.Fatalf("GET %s: %d %s", record, r.Status, r.Body)
		}
		m := r.JSON(b.t)
		delete(m, "updatedAt")
		return m
	}
	b.waitFor("the Save button", `[...document.querySelectorAll('main form button[type="submit"]')].some((e) => e.textContent === 'Save')`)
	before := get()
	appsEval[chromedp.Void](b, saveHookJS)
	appsEval[bool](b, `window.__before = document.querySelector('main h1'), [...document.querySelectorAll('main form button[type="submit"]')].find((e) => e.textContent === 'Save').click(), true`)
	b.toast("Saved.")
	// The screen draws itself again after a save: that is over before
	// the test goes on.
	b.waitFor("the saved screen drawn", `document.querySelector('main h1') && document.querySelector('main h1') !== window.__before &&
		document.querySelector('main form button[type="submit"]')`)
	puts := appsEval[[]putSeen](b, `window.__puts`)
	if len(puts) != 1 || puts[0].Status != http.StatusOK || puts[0].URL != s.URL+"/v1"+record {
		b.t.Errorf("Save of %s sent %+v, want one PUT answered 200", record, puts)
	}
	if after := get(); !reflect.DeepEqual(before, after) {
		x, _ := json.Marshal(before)
		y, _ := json.Marshal(after)
		b.t.Errorf("%s saved unchanged changed\nbefore %s\nafter  %s", record, x, y)
	}
}

// setChecked clicks the checkbox labelled label until it is checked (or
// not).
func (b *appsBrowser) setChecked(label string, checked bool) {
	b.t.Helper()
	b.waitFor("the checkbox "+label, appsFieldJS(label))
	if appsEval[bool](b, appsFieldJS(label)+`.checked`) != checked {
		appsEval[bool](b, appsFieldJS(label)+`.click(), true`)
	}
	if appsEval[bool](b, appsFieldJS(label)+`.checked`) != checked {
		b.fail("the checkbox %q did not become %v", label, checked)
	}
}

// kvText is the text of the description list entry named term.
func (b *appsBrowser) kvText(term string) string {
	return appsEval[string](b, `(() => { const dt = [...document.querySelectorAll('main dl dt')].find((d) => d.textContent === `+appsQ(term)+`);
		return dt ? dt.nextElementSibling.textContent : ''; })()`)
}

func TestBrowserSAML(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			token := s.AdminToken(t)
			api := func(method, path string, body any) *apptest.Response {
				return s.Do(t, apptest.Request{Method: method, URL: path, Body: body, Token: token})
			}
			env := api("POST", "/environments", map[string]any{"name": "SAML " + be.Name, "type": "SANDBOX", "region": "NA",
				"license": map[string]string{"id": s.LicenseID(t)}})
			if env.Status != http.StatusCreated {
				t.Fatalf("create environment: %d %s", env.Status, env.Body)
			}
			envID := env.JSON(t)["id"].(string)
			ep := "/environments/" + envID
			dir := t.TempDir()
			certPath, cn := samlPartnerCert(t, dir)
			junk := filepath.Join(dir, "notes.pem")
			if err := os.WriteFile(junk, []byte("this is not a certificate\n"), 0o600); err != nil {
				t.Fatal(err)
			}

			user, _ := s.ConsoleSignOn(t, s.Admin.Username, s.Admin.Password, "Console-Saml-Harbor-7!")
			id, _ := user.Extra("id_token").(string)
			b := appsSignedOnAs(t, s, user.AccessToken, user.RefreshToken, id, "#/env/"+envID+"/certificates")
			b.h1("Certificates")
			b.waitFor("the empty list", `document.querySelector('main .empty')`)
			b.waitFor("Certificates in the nav", `[...document.querySelectorAll('#nav a')].some((a) => a.textContent === 'Certificates')`)

			// A file that is no certificate: the API's refusal at the file
			// field, nothing stored.
			b.go_("#/env/" + envID + "/certificates/new")
			b.h1("Upload a certificate")
			b.upload(junk)
			b.press("Upload certificate")
			b.waitFor("the error at Certificate file", appsFieldJS("Certificate file")+`?.getAttribute('aria-invalid') !== null`)
			b.shot("certificate-refused")
			if got := b.fieldError("Certificate file"); got == "" {
				t.Error("no error at the Certificate file field")
			}
			if n := len(appsEmbedded(t, api("GET", ep+"/certificates", nil), "certificates")); n != 0 {
				t.Fatalf("a refused upload left %d certificates", n)
			}
			b.upload(certPath)
			b.press("Upload certificate")
			b.h1(cn)
			b.shot("certificate")
			certs := appsEmbedded(t, api("GET", ep+"/certificates", nil), "certificates")
			if len(certs) != 1 || certs[0]["usageType"] != "SIGNING" || !strings.Contains(certs[0]["subjectDN"].(string), "CN="+cn) {
				t.Fatalf("the API holds the certificates %v", certs)
			}
			certID := certs[0]["id"].(string)
			if got := b.kvText("Serial number"); got != "4242" {
				t.Errorf("the serial number shows %q", got)
			}

			// A SAML application: a relative ACS URL is refused at its field.
			b.go_("#/env/" + envID + "/applications/new")
			b.h1("New application")
			b.fill("Name", "Payroll")
			b.choose("Protocol", "SAML")
			if appsEval[bool](b, appsFieldJS("Redirect URIs")+` !== null`) {
				t.Error("a SAML application is asked for redirect URIs")
			}
			b.fill("SP entity ID", "https://payroll.example.com/sp")
			b.fill("ACS URLs", "/saml/acs")
			b.choose("NameID format", "Email address")
			b.fill("Default target URL", "https://payroll.example.com/home")
			b.setChecked("Require signed AuthnRequests", true)
			b.tickFirst("Verification certificates")
			b.press("Create application")
			b.waitFor("the error at ACS URLs", appsFieldJS("ACS URLs")+`?.getAttribute('aria-invalid') !== null`)
			b.shot("saml-app-refused")
			if got := b.fieldError("ACS URLs"); !strings.Contains(got, "absolute http or https URL") {
				t.Errorf("the error at ACS URLs is %q", got)
			}
			if n := len(appsEmbedded(t, api("GET", ep+"/applications", nil), "applications")); n != 0 {
				t.Fatalf("a refused create left %d applications", n)
			}
			b.fill("ACS URLs", "https://payroll.example.com/saml/acs")
			b.press("Create application")
			b.h1("Payroll")
			b.shot("saml-app")
			apps := appsEmbedded(t, api("GET", ep+"/applications", nil), "applications")
			if len(apps) != 1 {
				t.Fatalf("applications after create: %v", apps)
			}
			appID := apps[0]["id"].(string)
			app := api("GET", ep+"/applications/"+appID, nil).JSON(t)
			keys := appsEmbedded(t, api("GET", ep+"/keys", nil), "keys")
			var defaultKey, keyName string
			for _, k := range keys {
				if k["default"] == true && k["usageType"] == "SIGNING" {
					defaultKey, keyName = k["id"].(string), k["name"].(string)
				}
			}
			sv, _ := json.Marshal(app["spVerification"])
			acs, _ := json.Marshal(app["acsUrls"])
			signing, _ := app["idpSigning"].(map[string]any)
			if app["protocol"] != "SAML" || app["type"] != "WEB_APP" || app["enabled"] != true || app["spEntityId"] != "https://payroll.example.com/sp" ||
				string(acs) != `["https://payroll.example.com/saml/acs"]` || app["assertionDuration"] != float64(60) ||
				app["assertionSigned"] != true || app["responseSigned"] != false ||
				app["nameIdFormat"] != "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" || app["defaultTargetUrl"] != "https://payroll.example.com/home" ||
				string(sv) != `{"authnRequestSigned":true,"certificates":[{"id":"`+certID+`"}]}` ||
				signing == nil || signing["key"].(map[string]any)["id"] != defaultKey {
				t.Errorf("the API holds the SAML application %v", app)
			}
			for _, m := range []string{"grantTypes", "redirectUris", "tokenEndpointAuthMethod", "clientId"} {
				if _, ok := app[m]; ok {
					t.Errorf("the SAML application has %s", m)
				}
			}
			// Its page: no OpenID Connect part, and the metadata to give the
			// service provider, which the IdP serves.
			for _, c := range []string{"Reveal secret", "Rotate secret", "Resources", "Try sign-on"} {
				if b.hasControl(c) {
					t.Errorf("a SAML application's page offers %s", c)
				}
			}
			for _, l := range []string{"Redirect URIs", "Grant types", "PKCE", "Token endpoint authentication method"} {
				if appsEval[bool](b, appsFieldJS(l)+` !== null`) {
					t.Errorf("a SAML application's settings show %s", l)
				}
			}
			metadata := appsEval[string](b, `document.querySelector('#idp-metadata')?.href ?? ''`)
			if want := s.URL + "/" + envID + "/saml20/metadata/" + appID; metadata != want {
				t.Errorf("the IdP metadata link is %q, want %q", metadata, want)
			}
			if res, err := http.Get(metadata); err != nil || res.StatusCode != http.StatusOK {
				t.Errorf("GET the IdP metadata: %v %v", res, err)
			} else {
				res.Body.Close()
			}
			b.saveUnchanged(s, token, ep+"/applications/"+appID)
			b.h1("Payroll")

			// Its attribute mappings: a custom one with its NameFormat, the
			// CORE saml_subject remapped, never deletable.
			b.press("Attribute mappings")
			b.waitFor("the saml_subject mapping", `[...document.querySelectorAll('main tbody th')].some((e) => e.textContent === 'saml_subject')`)
			if appsEval[bool](b, `!!document.querySelector('main button[aria-label="Delete saml_subject"]')`) {
				t.Error("the CORE saml_subject mapping can be deleted")
			}
			b.fill("Attribute name", "urn:oid:0.9.2342.19200300.100.1.3")
			b.fill("Value", "${user.email}")
			b.choose("Name format", "URI")
			b.press("Add mapping")
			b.toast("Mapping added.")
			b.waitFor("the Edit saml_subject button", `document.querySelector('main button[aria-label="Edit saml_subject"]')`)
			appsEval[bool](b, `document.querySelector('main button[aria-label="Edit saml_subject"]').click(), true`)
			b.waitFor("the saml_subject editor", `[...document.querySelectorAll('main h3')].some((e) => e.textContent === 'Edit saml_subject')`)
			b.fill("Value", "${user.username}")
			b.press("Save")
			b.toast("Mapping saved.")
			b.shot("saml-app-mappings")
			attrs := appsEmbedded(t, api("GET", ep+"/applications/"+appID+"/attributes", nil), "attributes")
			found := 0
			for _, a := range attrs {
				switch {
				case a["name"] == "saml_subject" && a["mappingType"] == "CORE" && a["value"] == "${user.username}" && a["required"] == true:
					found++
				case a["name"] == "urn:oid:0.9.2342.19200300.100.1.3" && a["value"] == "${user.email}" &&
					a["nameFormat"] == "urn:oasis:names:tc:SAML:2.0:attrname-format:uri" && a["mappingType"] == "CUSTOM":
					found++
				}
			}
			if found != 2 || len(attrs) != 2 {
				t.Errorf("the API holds the mappings %v", attrs)
			}

			// A SAML identity provider: a plain-http SSO endpoint is refused
			// at its field.
			b.go_("#/env/" + envID + "/identityProviders/new")
			b.h1("New identity provider")
			b.fill("Name", "Partner IdP")
			b.choose("Type", "SAML")
			if appsEval[bool](b, appsFieldJS("Client ID")+` !== null`) {
				t.Error("a SAML provider is asked for a client id")
			}
			b.fill("IdP entity ID", "https://idp.partner.example/")
			b.fill("SSO endpoint", "http://idp.partner.example/sso")
			b.choose("SSO binding", "HTTP Redirect")
			b.tickFirst("Verification certificates")
			b.fill("SP entity ID", "https://gatehouse.example/sp/partner")
			b.setChecked("Sign AuthnRequests", true)
			b.press("Create identity provider")
			b.waitFor("the error at SSO endpoint", appsFieldJS("SSO endpoint")+`?.getAttribute('aria-invalid') !== null`)
			b.shot("saml-idp-refused")
			if got := b.fieldError("SSO endpoint"); !strings.Contains(got, "https") {
				t.Errorf("the error at SSO endpoint is %q", got)
			}
			if n := len(appsEmbedded(t, api("GET", ep+"/identityProviders", nil), "identityProviders")); n != 0 {
				t.Fatalf("a refused create left %d providers", n)
			}
			b.fill("SSO endpoint", "https://idp.partner.example/sso")
			b.press("Create identity provider")
			b.h1("Partner IdP")
			b.shot("saml-idp")
			idps := appsEmbedded(t, api("GET", ep+"/identityProviders", nil), "identityProviders")
			if len(idps) != 1 {
				t.Fatalf("providers after create: %v", idps)
			}
			idpID := idps[0]["id"].(string)
			p := api("GET", ep+"/identityProviders/"+idpID, nil).JSON(t)
			iv, _ := json.Marshal(p["idpVerification"])
			if p["type"] != "SAML" || p["enabled"] != true || p["idpEntityId"] != "https://idp.partner.example/" ||
				p["ssoEndpoint"] != "https://idp.partner.example/sso" || p["ssoBinding"] != "HTTP_REDIRECT" ||
				p["spEntityId"] != "https://gatehouse.example/sp/partner" || p["authnRequestSigned"] != true ||
				string(iv) != `{"certificates":[{"id":"`+certID+`"}]}` {
				t.Errorf("the API holds the SAML provider %v", p)
			}
			for _, m := range []string{"clientId", "clientSecret", "issuer", "spSigning"} {
				if _, ok := p[m]; ok {
					t.Errorf("the SAML provider has %s", m)
				}
			}
			spMetadata := appsEval[string](b, `document.querySelector('#sp-metadata')?.href ?? ''`)
			if want := s.URL + "/" + envID + "/saml20/sp/metadata/" + idpID; spMetadata != want {
				t.Errorf("the SP metadata link is %q, want %q", spMetadata, want)
			}
			if got, want := b.kvText("ACS URL at the provider"), s.URL+"/"+envID+"/saml20/sp/acs"; got != want {
				t.Errorf("the ACS shown is %q, want %q", got, want)
			}
			if res, err := http.Get(spMetadata); err != nil || res.StatusCode != http.StatusOK {
				t.Errorf("GET the SP metadata: %v %v", res, err)
			} else {
				res.Body.Close()
			}
			b.saveUnchanged(s, token, ep+"/identityProviders/"+idpID)
			b.h1("Partner IdP")

			// The certificate is in use: its deletion is refused, the API's
			// reason shown, the certificate kept.
			b.go_("#/env/" + envID + "/certificates/" + certID)
			b.h1(cn)
			b.press("Delete certificate")
			b.waitFor("the confirmation", `document.querySelector('dialog[open]')`)
			b.press("Delete")
			b.waitFor("the refusal", `document.querySelector('main .notice.error')`)
			b.shot("certificate-in-use")
			if got := appsEval[string](b, `document.querySelector('main .notice.error').textContent`); !contains(got, "Payroll", "Partner IdP") {
				t.Errorf("the refusal says %q", got)
			}
			if r := api("GET", ep+"/certificates/"+certID, nil); r.Status != http.StatusOK {
				t.Errorf("the certificate in use is gone: %d", r.Status)
			}

			// The default signing key's certificate, downloaded as PEM.
			b.go_("#/env/" + envID + "/keys/" + defaultKey)
			b.h1(keyName)
			appsEval[bool](b, `(() => { const orig = URL.createObjectURL; window.__dl = null;
				URL.createObjectURL = (blob) => { blob.text().then((t) => { window.__dl = t; }); return orig(blob); };
				HTMLAnchorElement.prototype.click = function () { window.__dlName = this.download; }; return true; })()`)
			b.press("Download certificate (PEM)")
			b.waitFor("the downloaded PEM", `window.__dl`)
			got := appsEval[string](b, `window.__dl`)
			req, _ := http.NewRequest("GET", s.APIPath+ep+"/keys/"+defaultKey, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Accept", "application/x-x509-ca-cert")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if !strings.HasPrefix(got, "-----BEGIN CERTIFICATE-----") || got != string(want) {
				t.Errorf("the download holds %q, the API %d %q", got, res.StatusCode, want)
			}
			if name := appsEval[string](b, `window.__dlName ?? ''`); !strings.HasSuffix(name, ".pem") {
				t.Errorf("the download is named %q", name)
			}
		})
	}
}
