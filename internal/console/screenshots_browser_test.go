package console_test

import (
	"context"
	"net/http"
	"os"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/apptest/chromium"
)

// TestConsoleScreenshots writes the README's console tour, docs/console-*.png,
// when GATEHOUSE_DOCS_SCREENSHOTS=1 (as the sign-on page's screenshots are
// made). The data is made through the API; the screens are the console's,
// signed on as the bootstrap administrator (after the forced change).
func TestConsoleScreenshots(t *testing.T) {
	if os.Getenv("GATEHOUSE_DOCS_SCREENSHOTS") != "1" {
		t.Skip("GATEHOUSE_DOCS_SCREENSHOTS=1 writes the console's screenshots to docs/")
	}
	s := apptest.Start(t, apptest.Options{})
	x := &tour{s: s, tag: uuid.NewString()[:6], rp: newRelyingParty(t)}
	x.b = newBrowser(t, desktop)
	x.worker = s.AdminToken(t)
	x.use(t)
	x.firstSignOn(t)

	// An environment a person would have after a few minutes.
	fx := s.NewSignOn(t, apptest.SignOnOptions{App: map[string]any{"name": "Customer portal", "redirectUris": []string{"https://portal.example.com/callback"}}})
	x.envID, x.userID, x.appID = fx.EnvID, fx.UserID, fx.AppID
	envPath := "/environments/" + x.envID
	x.api(t, "PUT", envPath, "", map[string]any{"name": "Acme staging", "description": "Customers' accounts before release", "region": "NA", "type": "SANDBOX",
		"license": map[string]string{"id": s.LicenseID(t)}}, http.StatusOK)
	x.api(t, "PUT", envPath+"/users/"+x.userID, "", map[string]any{"username": fx.Username, "email": fx.Email,
		"name": map[string]string{"given": "Joey", "family": "Lindqvist"}, "population": map[string]string{"id": fx.PopulationID}}, http.StatusOK)
	for _, p := range [][3]string{{"ana.ruiz", "Ana", "Ruiz"}, {"kofi.mensah", "Kofi", "Mensah"}, {"li.wei", "Li", "Wei"}, {"sara.novak", "Sara", "Novak"}} {
		s.CreateUser(t, x.envID, fx.PopulationID, p[0], p[0]+"@example.com", p[1], p[2], "Gatehouse-Docs-Pass-9!")
	}
	x.api(t, "POST", envPath+"/populations", "", map[string]any{"name": "Partners", "description": "Accounts of partner companies"}, http.StatusCreated)
	x.api(t, "POST", envPath+"/applications", "", map[string]any{"name": "Mobile app", "type": "NATIVE_APP", "protocol": "OPENID_CONNECT", "enabled": true,
		"grantTypes": []string{"AUTHORIZATION_CODE"}, "responseTypes": []string{"CODE"}, "redirectUris": []string{"com.example.mobile:/callback"},
		"tokenEndpointAuthMethod": "NONE", "pkceEnforcement": "S256_REQUIRED"}, http.StatusCreated)
	// A SAML application and a SAML identity provider trusting a partner's
	// uploaded certificate.
	samlApp := x.api(t, "POST", envPath+"/applications", "", map[string]any{"name": "Payroll (SAML)", "type": "WEB_APP", "protocol": "SAML", "enabled": true,
		"spEntityId": "https://payroll.example.com/sp", "acsUrls": []string{"https://payroll.example.com/saml/acs"}, "assertionDuration": 60},
		http.StatusCreated)["id"].(string)
	certPath, _ := samlPartnerCert(t, t.TempDir())
	cert := uploadCertificate(t, s, x.worker, envPath, certPath)
	samlIdP := x.api(t, "POST", envPath+"/identityProviders", "", map[string]any{"name": "Partner IdP", "type": "SAML", "enabled": true,
		"idpEntityId": "https://idp.partner.example/", "ssoEndpoint": "https://idp.partner.example/sso", "ssoBinding": "HTTP_POST",
		"spEntityId": "https://acme.example.com/sp/partner", "idpVerification": map[string]any{"certificates": []map[string]string{{"id": cert}}}},
		http.StatusCreated)["id"].(string)

	b := x.b
	// A fresh load: the environment switcher lists the new environment.
	b.Navigate(x.consoleURL())
	x.signedOn(b)
	e := "#/env/" + x.envID
	for _, sc := range []struct{ name, hash string }{
		{"environments", "#/environments"},
		{"users", e + "/users"},
		{"user", e + "/users/" + x.userID},
		{"applications", e + "/applications"},
		{"application", e + "/applications/" + x.appID},
		{"signon-policies", e + "/signOnPolicies"},
		{"theme-preview", e + "/branding/themes/new"},
		{"activities", e + "/activities"},
		{"saml-application", e + "/applications/" + samlApp},
		{"saml-provider", e + "/identityProviders/" + samlIdP},
		{"certificates", e + "/certificates"},
	} {
		b.route(sc.hash)
		b.waitScreen()
		docShot(t, b, "console-"+sc.name)
	}

	b.emulate(phone)
	b.route(e + "/users")
	b.waitScreen()
	docShot(t, b, "console-360px")
	b.emulate(viewport{width: desktop.width, height: desktop.height, dark: true})
	b.route(e + "/applications/" + x.appID)
	b.waitScreen()
	docShot(t, b, "console-dark")
	b.emulate(desktop)

	username, password := x.newReader(t)
	rb := b.another("reader-", desktop)
	x.signOnConsole(rb, username, password)
	rb.route(e + "/users/" + x.userID)
	rb.waitScreen()
	docShot(t, rb, "console-read-only")
}

// docShot saves what the window shows as docs/<name>.png.
func docShot(t *testing.T, b *browser, name string) {
	t.Helper()
	// The preview's frame and the lists answer after the heading.
	b.WaitFor("the lists and frames loaded", `![...document.querySelectorAll('main')].some((m) => m.textContent.includes('Loading…'))`)
	ctx, cancel := context.WithTimeout(b.Ctx, waitTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	chromium.SaveDoc(t, name, png)
}
