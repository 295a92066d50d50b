package console_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// A form saved as it was drawn must change nothing: the console sends
// back what the GET returned, whatever the form does not show, and a
// field the form shows goes back as the API had it. Each main edit form
// is saved unchanged and the API's record compared before and after.
// Then an administrator whose roles cover identity data only is offered
// only the sections it may read, is told plainly when a screen is not
// its to see, and saves a population without losing its password
// policy (which it may not read); a required field left empty is
// announced.

// saveHookJS records each PUT the console sends (URL and status).
const saveHookJS = `(() => {
  window.__puts = [];
  if (window.__saveHooked) return;
  window.__saveHooked = true;
  const orig = window.fetch;
  window.fetch = async (u, o) => {
    const res = await orig(u, o);
    if (o && o.method === 'PUT') window.__puts.push({ url: String(u), status: res.status });
    return res;
  };
})()`

type putSeen struct {
	URL    string `json:"url"`
	Status int    `json:"status"`
}

func TestBrowserSaveUnchanged(t *testing.T) {
	const identityDataAdmin = "5e2a4a1c-5bd1-4bd2-9c1b-6f0d0a8c2e03"
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			token := s.AdminToken(t)
			fx := s.NewSignOn(t, apptest.SignOnOptions{})
			ep := "/environments/" + fx.EnvID
			api := func(method, path string, body any, want int) map[string]any {
				t.Helper()
				r := s.Do(t, apptest.Request{Method: method, URL: path, Body: body, Token: token})
				if r.Status != want {
					t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Body)
				}
				if r.Status == http.StatusNoContent {
					return nil
				}
				return r.JSON(t)
			}
			first := func(path, name string) string {
				t.Helper()
				items := dirList(t, s, token, path, name)
				if len(items) == 0 {
					t.Fatalf("no %s at %s", name, path)
				}
				return items[0]["id"].(string)
			}
			res := api("POST", ep+"/resources", map[string]any{"name": "Orders API", "audience": "https://orders.example.com"}, http.StatusCreated)["id"].(string)
			scope := api("POST", ep+"/resources/"+res+"/scopes", map[string]any{"name": "orders:read"}, http.StatusCreated)["id"].(string)
			grant := api("POST", ep+"/applications/"+fx.AppID+"/grants", map[string]any{"resource": map[string]string{"id": res},
				"scopes": []map[string]string{{"id": scope}}}, http.StatusCreated)["id"].(string)
			idp := api("POST", ep+"/identityProviders", map[string]any{"name": "Corp", "type": "OPENID_CONNECT", "enabled": true,
				"clientId": "gatehouse", "clientSecret": "s3cret", "issuer": "https://idp.example.com", "authorizationEndpoint": "https://idp.example.com/a",
				"tokenEndpoint": "https://idp.example.com/t", "jwksEndpoint": "https://idp.example.com/k", "scopes": []string{"openid"},
				"tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"}, http.StatusCreated)["id"].(string)
			// A SAML application as the API makes it from the fewest members
			// (the default key, no spVerification), and a SAML provider
			// trusting an uploaded certificate.
			samlApp := api("POST", ep+"/applications", map[string]any{"name": "Payroll", "type": "WEB_APP", "protocol": "SAML", "enabled": true,
				"spEntityId": "https://payroll.example.com/sp", "acsUrls": []string{"https://payroll.example.com/acs"}, "assertionDuration": 60},
				http.StatusCreated)["id"].(string)
			certPath, _ := samlPartnerCert(t, t.TempDir())
			cert := uploadCertificate(t, s, token, ep, certPath)
			samlIdP := api("POST", ep+"/identityProviders", map[string]any{"name": "Partner", "type": "SAML", "enabled": true,
				"idpEntityId": "https://idp.partner.example/", "ssoEndpoint": "https://idp.partner.example/sso", "ssoBinding": "HTTP_POST",
				"spEntityId": "https://gatehouse.example/sp", "idpVerification": map[string]any{"certificates": []map[string]string{{"id": cert}}}},
				http.StatusCreated)["id"].(string)
			pol := api("POST", ep+"/signOnPolicies", map[string]any{"name": "Unchanged"}, http.StatusCreated)["id"].(string)
			action := api("POST", ep+"/signOnPolicies/"+pol+"/actions", map[string]any{"type": "LOGIN", "priority": 1}, http.StatusCreated)["id"].(string)
			group := api("POST", ep+"/groups", map[string]any{"name": "Unchanged", "description": "kept"}, http.StatusCreated)["id"].(string)
			pwPolicy := first(ep+"/passwordPolicies", "passwordPolicies")
			staff := api("POST", ep+"/populations", map[string]any{"name": "Staff", "passwordPolicy": map[string]string{"id": pwPolicy}}, http.StatusCreated)["id"].(string)
			mfaPolicy := first(ep+"/deviceAuthenticationPolicies", "deviceAuthenticationPolicies")
			theme := first(ep+"/themes", "themes")

			tok, _ := s.ConsoleSignOn(t, s.Admin.Username, s.Admin.Password, "Ledger-Keeper-Passw0rd!")
			p := newDirPage(t)
			p.signOnWith(s, tok.AccessToken, tok.RefreshToken, "#/environments")
			forms := []struct {
				hash, tab, button, record string
				within                    string // the form's container, when the screen has several
			}{
				{"overview", "", "Save", "", ""},
				{"users/" + fx.UserID, "", "Save", "/users/" + fx.UserID, ""},
				{"populations/" + staff, "", "Save", "/populations/" + staff, ""},
				{"groups/" + group, "", "Save", "/groups/" + group, ""},
				{"applications/" + fx.AppID, "", "Save", "/applications/" + fx.AppID, ""},
				{"applications/" + fx.AppID, "Resources", "Save grant", "/applications/" + fx.AppID + "/grants/" + grant, `section[aria-label="Orders API"]`},
				{"resources/" + res, "", "Save", "/resources/" + res, ""},
				{"signOnPolicies/" + pol, "", "Save", "/signOnPolicies/" + pol, ""},
				{"signOnPolicies/" + pol + "/actions/" + action, "", "Save action", "/signOnPolicies/" + pol + "/actions/" + action, ""},
				{"passwordPolicies/" + pwPolicy, "", "Save", "/passwordPolicies/" + pwPolicy, ""},
				{"mfaPolicies", "", "Save MFA settings", "/mfaSettings", ""},
				{"mfaPolicies/" + mfaPolicy, "", "Save", "/deviceAuthenticationPolicies/" + mfaPolicy, ""},
				{"identityProviders/" + idp, "", "Save", "/identityProviders/" + idp, ""},
				{"applications/" + samlApp, "", "Save", "/applications/" + samlApp, ""},
				{"identityProviders/" + samlIdP, "", "Save", "/identityProviders/" + samlIdP, ""},
				{"branding", "", "Save branding", "/brandingSettings", ""},
				{"branding/themes/" + theme, "", "Save theme", "/themes/" + theme, ""},
			}
			last := ""
			for _, f := range forms {
				record := ep + f.record
				if f.hash != last {
					p.waitFor("a screen", `document.querySelector('main h1')`)
					p.mark()
					p.open("#/env/" + fx.EnvID + "/" + f.hash)
					p.redrawn()
				}
				last = f.hash
				if f.tab != "" {
					p.waitFor("the "+f.tab+" tab", `[...document.querySelectorAll('[role="tab"]')].some((b) => b.textContent === `+dirQ(f.tab)+`)`)
					p.mark()
					p.press(f.tab)
				}
				btn := `[...document.querySelectorAll(` + dirQ("main "+f.within+` form button[type="submit"]`) + `)].find((b) => b.textContent === ` + dirQ(f.button) + `)`
				p.waitFor(f.button+" on "+f.hash, btn)
				before := api("GET", record, nil, http.StatusOK)
				dirEval[chromedp.Void](p, saveHookJS)
				dirEval[chromedp.Void](p, btn+`.click()`)
				p.waitFor("the PUT of "+f.hash, `window.__puts.length > 0`)
				puts := dirEval[[]putSeen](p, `window.__puts`)
				after := api("GET", record, nil, http.StatusOK)
				// The screen draws itself again after a save: that is over
				// before the next one opens.
				time.Sleep(100 * time.Millisecond)
				p.waitFor("the saved screen drawn", `!/Loading…/.test(document.querySelector('main').innerText)`)
				if len(puts) != 1 || puts[0].Status != http.StatusOK || puts[0].URL != s.URL+"/v1"+record {
					t.Errorf("%s %q sent %+v, want one PUT of %s answered 200", f.hash, f.button, puts, record)
				}
				for _, m := range []map[string]any{before, after} {
					delete(m, "updatedAt")
				}
				if !reflect.DeepEqual(before, after) {
					b, _ := json.Marshal(before)
					a, _ := json.Marshal(after)
					t.Errorf("%s %q saved unchanged changed the record\nbefore %s\nafter  %s", f.hash, f.button, b, a)
				}
			}

			// An identity data administrator of the environment.
			adminPop := first("/environments/"+s.Admin.EnvironmentID+"/populations", "populations")
			ida := s.CreateUser(t, s.Admin.EnvironmentID, adminPop, "ida", "ida@example.com", "Ida", "Admin", "Quiet-Harbor-Lamp-88!")
			api("POST", "/environments/"+s.Admin.EnvironmentID+"/users/"+ida+"/roleAssignments", map[string]any{
				"role": map[string]string{"id": identityDataAdmin}, "scope": map[string]string{"type": "ENVIRONMENT", "id": fx.EnvID}}, http.StatusCreated)
			idaTok, _ := s.ConsoleSignOn(t, "ida", "Quiet-Harbor-Lamp-88!", "")
			q := newDirPage(t)
			q.second = true
			q.signOnWith(s, idaTok.AccessToken, idaTok.RefreshToken, "#/env/"+fx.EnvID+"/populations/"+staff)
			q.heading("Staff")
			nav := dirEval[[]string](q, `[...document.querySelectorAll('#nav a')].map((a) => a.textContent)`)
			want := []string{"Environments", "Overview", "Users", "Groups", "Populations", "Audit activities"}
			if !reflect.DeepEqual(nav, want) {
				t.Errorf("an identity data administrator's sections: %q, want %q", nav, want)
			}
			q.waitFor("the Save button", `[...document.querySelectorAll('main form button[type="submit"]')].some((b) => b.textContent === 'Save')`)
			q.fill("Description", "Everyone on the payroll")
			q.mark()
			q.press("Save")
			q.redrawn()
			q.heading("Staff")
			got := api("GET", ep+"/populations/"+staff, nil, http.StatusOK)
			if pp, _ := got["passwordPolicy"].(map[string]any); got["description"] != "Everyone on the payroll" || pp["id"] != pwPolicy {
				t.Errorf("the population saved by an administrator who cannot read password policies: %v", got)
			}
			// A form sent with a required field empty says so in an alert
			// and puts the focus on the field.
			q.open("#/env/" + fx.EnvID + "/populations/new")
			q.heading("New population")
			q.press("Create population")
			q.waitFor("the summary of the missing fields", `document.querySelector('main form [role="alert"] li')?.textContent === 'Name'`)
			if got := dirEval[string](q, `document.activeElement?.id ?? ''`); got != q.fieldID("Name") {
				t.Errorf("the focus is on %q, not the empty Name field", got)
			}
			q.open("#/env/" + fx.EnvID + "/applications/" + fx.AppID)
			q.heading("Not allowed")
			if !dirEval[bool](q, `!!document.querySelector('main [role="alert"]') && document.activeElement === document.querySelector('main h1')`) {
				t.Errorf("the refused screen shows no alert, or the focus is not on its heading\n%s", q.describe())
			}
		})
	}
}
