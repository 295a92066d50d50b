package signon_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// setDefaultTheme changes the site's default theme, "Ping Default", the way
// PingOne's Terraform provider updates a theme: every member sent, changes
// over the theme as it is.
func setDefaultTheme(t *testing.T, x *site, changes map[string]any) {
	t.Helper()
	setTheme(t, x.s, x.fx.EnvID, changes)
}

func setTheme(t *testing.T, s *apptest.Server, envID string, changes map[string]any) {
	t.Helper()
	api := adminAPI(t, s)
	themes := "/environments/" + envID + "/themes"
	list := api("GET", themes+"?filter="+url.QueryEscape("default eq true"), nil, 200)
	th := list["_embedded"].(map[string]any)["themes"].([]any)[0].(map[string]any)
	config := th["configuration"].(map[string]any)
	for k, v := range changes {
		if v == nil {
			delete(config, k)
		} else {
			config[k] = v
		}
	}
	api("PUT", themes+"/"+th["id"].(string), map[string]any{"template": th["template"], "default": false, "configuration": config}, 200)
}

// The default theme reaches the page: its colours as a stylesheet (a light
// look; the dark scheme takes only the button and a tint of the links),
// its logo over the branding settings' one, its footer in words. Only what
// the API accepts reaches CSS, whatever is stored.
func TestThemeOnPage(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	fx := s.NewSignOn(t, apptest.SignOnOptions{})
	base := s.URL + "/" + fx.EnvID
	c := jarClient(t)
	a := fetch(t, c, "GET", base+"/as/authorize?"+url.Values{"response_type": {"code"}, "client_id": {fx.AppID}, "redirect_uri": {fx.RedirectURI},
		"scope": {"openid"}}.Encode(), "", "")
	loc, _ := url.Parse(a.header.Get("Location"))
	page := base + "/signon/?flowId=" + loc.Query().Get("flowId")
	api := adminAPI(t, s)
	api("PUT", "/environments/"+fx.EnvID+"/brandingSettings", map[string]any{"companyName": "Acme",
		"logo": map[string]string{"href": "https://cdn.example.com/branding.png"}, "primaryColor": "#123456"}, 200)

	logo := map[string]any{"href": "https://cdn.example.com/theme-logo.png", "id": "7d0e5a7b-51a5-4ac4-a3a2-1b6a3e0f8c11"}
	bg := map[string]any{"href": "https://cdn.example.com/bg(1).jpg", "id": "0f4a3ac7-4d6b-4b50-9d1e-5c3b7b2f6e01"}
	// Each case changes the theme as the one before left it.
	cases := []struct {
		name    string
		changes map[string]any
		css     string
		logo    string
		footer  string
	}{
		{"Ping Default", nil,
			":root{--primary:#007cba;--primary-hover:color-mix(in srgb,#007cba 85%,#000);--on-primary:#ffffff}\n" +
				"@media (prefers-color-scheme: dark){:root{--link:color-mix(in srgb,#007cba 50%,#fff)}}\n" +
				"@media (prefers-color-scheme: light){:root{--link:#007cba;--text:#686f77;--heading:#686f77;--card:#ffffff;--bg:#ededed}}\n",
			"https://cdn.example.com/branding.png", "Secured by Gatehouse"},
		{"colours, logo, image background and footer", map[string]any{"buttonColor": "#8A2BE2", "buttonTextColor": "#FFF", "linkTextColor": "#5F5F5F",
			"bodyTextColor": "#4C4C4C", "headingTextColor": "#4A4A4A", "cardColor": "#FCFCFC", "logoType": "IMAGE", "logo": logo,
			"backgroundType": "IMAGE", "backgroundImage": bg, "backgroundColor": nil, "footer": "<p>Copyright &copy; 2025 <b>Acme</b></p>"},
			":root{--primary:#8a2be2;--primary-hover:color-mix(in srgb,#8a2be2 85%,#000);--on-primary:#ffffff}\n" +
				"@media (prefers-color-scheme: dark){:root{--link:color-mix(in srgb,#5f5f5f 50%,#fff)}}\n" +
				"@media (prefers-color-scheme: light){:root{--link:#5f5f5f;--text:#4c4c4c;--heading:#4a4a4a;--card:#fcfcfc}" +
				`body{background-image:url("https://cdn.example.com/bg(1).jpg");background-size:cover;background-position:center}}` + "\n",
			"https://cdn.example.com/theme-logo.png", "Copyright © 2025 Acme"},
		{"then a background colour, but no background", map[string]any{"backgroundType": "NONE", "backgroundColor": "#000000"},
			":root{--primary:#8a2be2;--primary-hover:color-mix(in srgb,#8a2be2 85%,#000);--on-primary:#ffffff}\n" +
				"@media (prefers-color-scheme: dark){:root{--link:color-mix(in srgb,#5f5f5f 50%,#fff)}}\n" +
				"@media (prefers-color-scheme: light){:root{--link:#5f5f5f;--text:#4c4c4c;--heading:#4a4a4a;--card:#fcfcfc}}\n",
			"https://cdn.example.com/theme-logo.png", "Copyright © 2025 Acme"},
		{"then no logo or footer", map[string]any{"logoType": "NONE", "logo": nil, "footer": nil},
			":root{--primary:#8a2be2;--primary-hover:color-mix(in srgb,#8a2be2 85%,#000);--on-primary:#ffffff}\n" +
				"@media (prefers-color-scheme: dark){:root{--link:color-mix(in srgb,#5f5f5f 50%,#fff)}}\n" +
				"@media (prefers-color-scheme: light){:root{--link:#5f5f5f;--text:#4c4c4c;--heading:#4a4a4a;--card:#fcfcfc}}\n",
			"https://cdn.example.com/branding.png", "Secured by Gatehouse"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.changes != nil {
				setTheme(t, s, fx.EnvID, tc.changes)
			}
			css := fetch(t, c, "GET", base+"/signon/theme.css", "", "")
			if css.status != 200 || css.body != tc.css {
				t.Errorf("theme.css: %d\n%s\nwant\n%s", css.status, css.body, tc.css)
			}
			p := fetch(t, c, "GET", page, "", "")
			for _, want := range []string{`<img class="logo" src="` + tc.logo + `" alt="Acme">`, `<footer class="footer">` + tc.footer + `</footer>`} {
				if !strings.Contains(p.body, want) {
					t.Errorf("page lacks %s", want)
				}
			}
		})
	}

	// A theme stored by some other way than the API (an older release, a
	// hand-edited row) shows nothing it would refuse.
	th, err := s.Store.GetDefaultTheme(context.Background(), fx.EnvID)
	if err != nil {
		t.Fatal(err)
	}
	th.Data = json.RawMessage(`{"logoType":"IMAGE","logo":{"href":"javascript:alert(1)","id":"x"},"backgroundType":"IMAGE",` +
		`"backgroundImage":{"href":"https://x.example/a\");}body{display:none","id":"y"},"buttonColor":"red;}body{display:none",` +
		`"linkTextColor":"#12","bodyTextColor":"expression(1)","cardColor":"#fff","footer":"<script>alert(1)</script>"}`)
	if err := s.Store.UpdateTheme(context.Background(), th); err != nil {
		t.Fatal(err)
	}
	want := ":root{--primary:#123456;--primary-hover:color-mix(in srgb,#123456 85%,#000);--on-primary:#ffffff}\n" +
		"@media (prefers-color-scheme: dark){:root{--link:color-mix(in srgb,#123456 50%,#fff)}}\n" +
		"@media (prefers-color-scheme: light){:root{--card:#ffffff}}\n"
	if css := fetch(t, c, "GET", base+"/signon/theme.css", "", ""); css.body != want {
		t.Errorf("theme.css of a stored theme breaking the rules:\n%s\nwant\n%s", css.body, want)
	}
	p := fetch(t, c, "GET", page, "", "")
	if !strings.Contains(p.body, `<img class="logo" src="https://cdn.example.com/branding.png" alt="Acme">`) ||
		!strings.Contains(p.body, `<footer class="footer">alert(1)</footer>`) || strings.Contains(p.body, "<script>alert") {
		t.Errorf("page of a stored theme breaking the rules:\n%s", p.body)
	}
}

// TestBrowserTheme: the default theme's colours, logo and footer are what
// a person sees, and the page still signs on.
func TestBrowserTheme(t *testing.T) {
	b := newBrowser(t, desktop)
	x := newSite(t)
	// A same-origin logo: the page's Content-Security-Policy loads images
	// from itself or over https.
	logo := x.base() + "/signon/assets/theme-logo.png"
	setDefaultTheme(t, x, map[string]any{"buttonColor": "#8A2BE2", "buttonTextColor": "#FFFFFF", "headingTextColor": "#1F3A5F",
		"cardColor": "#FFFDF5", "backgroundType": "COLOR", "backgroundColor": "#203040", "logoType": "IMAGE",
		"logo": map[string]any{"href": logo, "id": "7d0e5a7b-51a5-4ac4-a3a2-1b6a3e0f8c11"}, "footer": "<p>© Acme Travel</p>"})
	state := "st-" + randomString(4)

	signOnPage(t, b, x.base(), x.fx.AppID, x.app.RedirectURI(), state, "USERNAME_PASSWORD_REQUIRED")
	b.Shot("themed")
	got := eval[map[string]string](b, `(() => { const s = sel => getComputedStyle(document.querySelector(sel));
		const button = s(`+q(form("usernamePassword.check")+` button[type="submit"]`)+`);
		return {button: button.backgroundColor, buttonText: button.color, heading: s('h1').color, card: s('main').backgroundColor,
			page: s('body').backgroundColor, logo: document.querySelector('img.logo')?.getAttribute('src') ?? '',
			mark: String(document.querySelector('.mark') !== null), footer: document.querySelector('.footer').innerText.trim()}; })()`)
	want := map[string]string{"button": "rgb(138, 43, 226)", "buttonText": "rgb(255, 255, 255)", "heading": "rgb(31, 58, 95)",
		"card": "rgb(255, 253, 245)", "page": "rgb(32, 48, 64)", "logo": logo, "mark": "false", "footer": "© Acme Travel"}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: the page shows %q, want %q (the theme's)", k, got[k], w)
		}
	}

	signOnWith(b, x.fx.Username, x.fx.Password)
	code := b.landed(x.app, state)
	exchange(t, x.s, x.fx.EnvID, x.fx.AppID, x.fx.AppSecret, x.app.RedirectURI(), code)
}
