package mgmt_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/roles"
)

func themesURL(envID string) string { return "/environments/" + envID + "/themes" }

// tfTheme is a theme as PingOne's Terraform provider sends it
// (pingone_branding_theme, the values of its acceptance test): every
// colour, the name, default false, a background colour; logo and footer
// only when set.
func tfTheme(template, name string) map[string]any {
	return map[string]any{"template": template, "default": false, "configuration": map[string]any{
		"name": name, "logoType": "NONE", "backgroundType": "COLOR", "backgroundColor": "#FF00F0",
		"bodyTextColor": "#8620FF", "buttonColor": "#0CFFFB", "buttonTextColor": "#FF6C6C", "cardColor": "#0FFF39",
		"headingTextColor": "#FF0005", "linkTextColor": "#8A7F06"}}
}

// tfThemeConfig is tfTheme's configuration as Gatehouse answers it.
const tfThemeConfig = `"logoType":"NONE","backgroundType":"COLOR","backgroundColor":"#FF00F0","bodyTextColor":"#8620FF","buttonColor":"#0CFFFB",` +
	`"buttonTextColor":"#FF6C6C","cardColor":"#0FFF39","headingTextColor":"#FF0005","linkTextColor":"#8A7F06"`

// pingDefaultConfig is the configuration of the theme every environment
// starts with.
const pingDefaultConfig = `{"name":"Ping Default","logoType":"NONE","backgroundType":"DEFAULT","backgroundColor":"#ededed","bodyTextColor":"#686f77",` +
	`"buttonColor":"#007CBA","buttonTextColor":"#ffffff","cardColor":"#ffffff","headingTextColor":"#686f77","linkTextColor":"#007CBA"}`

// themeJSON is the theme Gatehouse must answer.
func themeJSON(s *apptest.Server, envID, id, template string, def bool, config string) string {
	env := s.APIPath + "/environments/" + envID
	d := "false"
	if def {
		d = "true"
	}
	return `{"_links":{"self":{"href":"` + env + `/themes/` + id + `"},"environment":{"href":"` + env + `"}},"id":"` + id + `",` +
		`"environment":{"id":"` + envID + `"},"template":"` + template + `","default":` + d + `,"configuration":` + config + `}`
}

func themeCreate(t *testing.T, s *apptest.Server, envID string, body any) map[string]any {
	t.Helper()
	return must(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: themesURL(envID), Token: s.AdminToken(t), Body: body}), http.StatusCreated)
}

// defaultThemeID is the id of envID's default theme, found as PingOne's
// Terraform provider finds it: listing the themes.
func defaultThemeID(t *testing.T, s *apptest.Server, envID string) string {
	t.Helper()
	items, _ := listAll(t, s, s.AdminToken(t), s.APIPath+themesURL(envID)+"?limit=1", "themes")
	id := ""
	for _, it := range items {
		if it["default"] == true {
			if id != "" {
				t.Fatalf("two default themes: %s and %s", id, it["id"])
			}
			id = it["id"].(string)
		}
	}
	if id == "" {
		t.Fatalf("no default theme among %v", items)
	}
	return id
}

func TestThemesAsSDK(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			testThemes(t, apptest.Start(t, apptest.Options{DSN: b.DSN(t)}))
		})
	}
}

func testThemes(t *testing.T, s *apptest.Server) {
	env := newEnv(t, s, "Themes", "SANDBOX")
	tok := s.AdminToken(t)
	read := func(url string) []byte { return adminGet(t, s, url) }

	// A new environment has one theme, PingOne's "Ping Default", its default.
	list := must(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: themesURL(env), Token: tok}), http.StatusOK)
	wantFields(t, list, map[string]any{"count": 1, "size": 1, "_links.self.href": s.APIPath + themesURL(env)})
	pingDefault := defaultThemeID(t, s, env)
	brandingSameJSON(t, "the default theme", read(themesURL(env)+"/"+pingDefault), themeJSON(s, env, pingDefault, "default", true, pingDefaultConfig))

	// Created as the Terraform provider creates them, from each template:
	// answered as sent (colours keep their case), and read back the same.
	ids := map[string]string{}
	for _, tpl := range []string{"default", "focus", "mural", "slate", "split"} {
		created := themeCreate(t, s, env, tfTheme(tpl, "TF "+tpl))
		id := checkID(t, created, "id")
		ids[tpl] = id
		want := themeJSON(s, env, id, tpl, false, `{"name":"TF `+tpl+`",`+tfThemeConfig+`}`)
		raw, _ := json.Marshal(created)
		brandingSameJSON(t, "created "+tpl, raw, want)
		brandingSameJSON(t, "read "+tpl, read(themesURL(env)+"/"+id), want)
	}
	if items, pages := listAll(t, s, tok, s.APIPath+themesURL(env)+"?limit=2", "themes"); len(items) != 6 || pages != 3 {
		t.Errorf("listed %d themes in %d pages, want 6 in 3", len(items), pages)
	}

	// What a create leaves out comes from the template: its colours and
	// its name.
	for _, tc := range []struct {
		template, config string
	}{
		{"default", `{"name":"Ping Default","logoType":"NONE","backgroundType":"DEFAULT","bodyTextColor":"#686f77","buttonColor":"#2996cc",` +
			`"buttonTextColor":"#ffffff","cardColor":"#ffffff","headingTextColor":"#686f77","linkTextColor":"#2996cc"}`},
		{"focus", `{"name":"Focus","logoType":"NONE","backgroundType":"DEFAULT","bodyTextColor":"#4a4a4a","buttonColor":"#cb0020",` +
			`"buttonTextColor":"#ffffff","cardColor":"#fcfcfc","headingTextColor":"#cb0020","linkTextColor":"#2996cc"}`},
		{"mural", `{"name":"Mural","logoType":"NONE","backgroundType":"DEFAULT","bodyTextColor":"#000000","buttonColor":"#61b375",` +
			`"buttonTextColor":"#ffffff","cardColor":"#fcfcfc","headingTextColor":"#000000","linkTextColor":"#2996cc"}`},
		{"slate", `{"name":"Slate","logoType":"NONE","backgroundType":"DEFAULT","bodyTextColor":"#4a4a4a","buttonColor":"#fcfcfc",` +
			`"buttonTextColor":"#4a4a4a","cardColor":"#fcfcfc","headingTextColor":"#4a4a4a","linkTextColor":"#4a4a4a"}`},
		{"split", `{"name":"Split","logoType":"NONE","backgroundType":"DEFAULT","bodyTextColor":"#263956","buttonColor":"#263956",` +
			`"buttonTextColor":"#ffffff","cardColor":"#fcfcfc","headingTextColor":"#686f77","linkTextColor":"#263956"}`},
	} {
		// Empty strings are what the SDK sends for colours left unset.
		created := themeCreate(t, s, env, map[string]any{"template": tc.template, "configuration": map[string]any{
			"logoType": "NONE", "backgroundType": "DEFAULT", "backgroundColor": "", "bodyTextColor": "", "buttonColor": ""}})
		raw, _ := json.Marshal(created)
		brandingSameJSON(t, "minimal "+tc.template, raw, themeJSON(s, env, created["id"].(string), tc.template, false, tc.config))
	}

	// PUT replaces: a logo and a background image, a footer; what it leaves
	// out (the background colour, the footer later) is gone.
	focus := themesURL(env) + "/" + ids["focus"]
	logo := map[string]any{"href": "https://cdn.example.com/logo.png", "id": "7d0e5a7b-51a5-4ac4-a3a2-1b6a3e0f8c11"}
	bg := map[string]any{"href": "https://cdn.example.com/bg.jpg", "id": "0f4a3ac7-4d6b-4b50-9d1e-5c3b7b2f6e01"}
	body := tfTheme("slate", "Renamed")
	cfg := body["configuration"].(map[string]any)
	cfg["logoType"], cfg["logo"], cfg["backgroundType"], cfg["backgroundImage"], cfg["footer"] = "IMAGE", logo, "IMAGE", bg, "© Acme"
	delete(cfg, "backgroundColor")
	// The SDK echoes what it read: read-only members with values that must
	// not win.
	body["id"], body["environment"] = uuid.NewString(), map[string]any{"id": uuid.NewString()}
	body["_links"] = map[string]any{"self": map[string]any{"href": "https://api.pingone.com/v1/x"}}
	put := must(t, doNo5xx(t, s, apptest.Request{Method: "PUT", URL: focus, Token: tok, Body: body}), http.StatusOK)
	want := themeJSON(s, env, ids["focus"], "slate", false, `{"name":"Renamed","logoType":"IMAGE","logo":{"href":"https://cdn.example.com/logo.png",`+
		`"id":"7d0e5a7b-51a5-4ac4-a3a2-1b6a3e0f8c11"},"backgroundType":"IMAGE","backgroundImage":{"href":"https://cdn.example.com/bg.jpg",`+
		`"id":"0f4a3ac7-4d6b-4b50-9d1e-5c3b7b2f6e01"},"bodyTextColor":"#8620FF","buttonColor":"#0CFFFB","buttonTextColor":"#FF6C6C",`+
		`"cardColor":"#0FFF39","headingTextColor":"#FF0005","linkTextColor":"#8A7F06","footer":"© Acme"}`)
	raw, _ := json.Marshal(put)
	brandingSameJSON(t, "PUT answer", raw, want)
	brandingSameJSON(t, "read after PUT", read(focus), want)
	must(t, doNo5xx(t, s, apptest.Request{Method: "PUT", URL: focus, Token: tok, Body: tfTheme("focus", "Focus again")}), http.StatusOK)
	brandingSameJSON(t, "read after a PUT without logo or footer", read(focus),
		themeJSON(s, env, ids["focus"], "focus", false, `{"name":"Focus again",`+tfThemeConfig+`}`))

	// Making another theme the default, the three ways PingOne offers.
	isDefault := func(id string) bool {
		t.Helper()
		return must(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: themesURL(env) + "/" + id + "/default", Token: tok}), http.StatusOK)["default"] == true
	}
	moves := []struct {
		name string
		to   string
		do   func(id string) *apptest.Response
	}{
		{"PUT …/default (pingone_branding_theme_default)", ids["split"], func(id string) *apptest.Response {
			return doNo5xx(t, s, apptest.Request{Method: "PUT", URL: themesURL(env) + "/" + id + "/default", Token: tok, Body: map[string]any{"default": true}})
		}},
		{"PUT of the theme with default:true", ids["mural"], func(id string) *apptest.Response {
			b := tfTheme("mural", "TF mural")
			b["default"] = true
			return doNo5xx(t, s, apptest.Request{Method: "PUT", URL: themesURL(env) + "/" + id, Token: tok, Body: b})
		}},
		{"POST with default:true", "", func(string) *apptest.Response {
			b := tfTheme("default", "Ping Default")
			b["default"] = true
			return doNo5xx(t, s, apptest.Request{Method: "POST", URL: themesURL(env), Token: tok, Body: b})
		}},
	}
	previous := pingDefault
	for _, m := range moves {
		r := m.do(m.to)
		if r.Status != http.StatusOK && r.Status != http.StatusCreated {
			t.Fatalf("%s: %d %s", m.name, r.Status, trimBody(r.Body))
		}
		to := m.to
		if to == "" {
			to = r.JSON(t)["id"].(string)
		}
		if r.JSON(t)["default"] != true {
			t.Errorf("%s answered %s", m.name, r.Body)
		}
		if !isDefault(to) || isDefault(previous) || defaultThemeID(t, s, env) != to {
			t.Errorf("%s: the default did not move from %s to %s", m.name, previous, to)
		}
		previous = to
	}
	current := previous

	// …/default answers PingOne's shape.
	brandingSameJSON(t, "GET …/default", read(themesURL(env)+"/"+current+"/default"),
		`{"_links":{"self":{"href":"`+s.APIPath+themesURL(env)+"/"+current+`/default"}},"default":true}`)

	// The provider sends default:false with every update, the default's
	// too: the flag stays. So does false on …/default of another theme.
	must(t, doNo5xx(t, s, apptest.Request{Method: "PUT", URL: themesURL(env) + "/" + current, Token: tok, Body: tfTheme("default", "Still default")}), http.StatusOK)
	must(t, doNo5xx(t, s, apptest.Request{Method: "PUT", URL: themesURL(env) + "/" + ids["slate"] + "/default", Token: tok,
		Body: map[string]any{"default": false}}), http.StatusOK)
	if defaultThemeID(t, s, env) != current || isDefault(ids["slate"]) {
		t.Errorf("default:false moved the default")
	}

	// The default cannot be deleted, nor made not the default; another
	// theme can be deleted, once.
	before := read(themesURL(env) + "/" + current)
	del := func(id string) *apptest.Response {
		return doNo5xx(t, s, apptest.Request{Method: "DELETE", URL: themesURL(env) + "/" + id, Token: tok})
	}
	m := checkAnswer(t, del(current), wantErr{http.StatusBadRequest, "REQUEST_FAILED", "CONSTRAINT_VIOLATION", ""})
	if msg := detailAt(t, m, 0)["message"]; msg != "The default theme cannot be deleted. Make another theme the default first." {
		t.Errorf("message %v", msg)
	}
	checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "PUT", URL: themesURL(env) + "/" + current + "/default", Token: tok,
		Body: map[string]any{"default": false}}), wantErr{http.StatusBadRequest, "INVALID_DATA", "INVALID_VALUE", "default"})
	if !bytesEqual(before, read(themesURL(env)+"/"+current)) {
		t.Errorf("a refused change changed the default theme")
	}
	checkAnswer(t, del(ids["slate"]), wantErr{status: http.StatusNoContent})
	checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: themesURL(env) + "/" + ids["slate"], Token: tok}),
		wantErr{http.StatusNotFound, "NOT_FOUND", "", ""})
	checkAnswer(t, del(ids["slate"]), wantErr{http.StatusNotFound, "NOT_FOUND", "", ""})
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

func TestThemeErrors(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			runThemeErrors(t, apptest.Start(t, apptest.Options{DSN: b.DSN(t)}))
		})
	}
}

// themeWith is tfTheme with its configuration changed: kv are member,
// value pairs; a nil value removes the member.
func themeWith(kv ...any) map[string]any {
	b := tfTheme("focus", "Errors")
	c := b["configuration"].(map[string]any)
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(c, kv[i].(string))
		} else {
			c[kv[i].(string)] = kv[i+1]
		}
	}
	return b
}

func runThemeErrors(t *testing.T, s *apptest.Server) {
	env := newEnv(t, s, "Theme errors", "SANDBOX")
	other := newEnv(t, s, "Theme errors elsewhere", "SANDBOX")
	tok := s.AdminToken(t)
	id := themeCreate(t, s, env, tfTheme("focus", "Target"))["id"].(string)
	foreign := defaultThemeID(t, s, other)
	img := map[string]any{"href": "https://cdn.example.com/i.png", "id": "7d0e5a7b-51a5-4ac4-a3a2-1b6a3e0f8c11"}
	hexMsg := func(target string) string { return target + " must be a hexadecimal colour: #rgb or #rrggbb." }

	cases := []struct {
		name string
		body any
		want wantErr
		msg  string // details[0].message, when it matters
	}{
		{"no body", "", wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", ""}, ""},
		{"malformed JSON", `{"template":`, wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", ""}, ""},
		{"template of the wrong type", map[string]any{"template": 1, "configuration": map[string]any{}},
			wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "template"}, ""},
		{"no template", map[string]any{"configuration": themeWith()["configuration"]}, wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "template"}, ""},
		{"unknown template", with(themeWith(), "template", "dark"), wantErr{400, "INVALID_DATA", "INVALID_VALUE", "template"}, ""},
		{"no configuration", map[string]any{"template": "focus"}, wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "configuration"}, ""},
		{"no logoType", themeWith("logoType", nil), wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "configuration.logoType"}, ""},
		{"unknown logoType", themeWith("logoType", "TEXT"), wantErr{400, "INVALID_DATA", "INVALID_VALUE", "configuration.logoType"}, ""},
		{"logoType IMAGE without a logo", themeWith("logoType", "IMAGE"), wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "configuration.logo"}, ""},
		{"logo without href", themeWith("logoType", "IMAGE", "logo", map[string]any{"id": img["id"]}),
			wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "configuration.logo.href"}, ""},
		{"logo over plain http", themeWith("logoType", "IMAGE", "logo", with(img, "href", "http://cdn.example.com/i.png")),
			wantErr{400, "INVALID_DATA", "INVALID_VALUE", "configuration.logo.href"},
			"configuration.logo.href must be an absolute https URL (http is allowed for loopback hosts only)."},
		{"logo as a script", themeWith("logoType", "IMAGE", "logo", with(img, "href", "javascript:alert(1)")),
			wantErr{400, "INVALID_DATA", "INVALID_VALUE", "configuration.logo.href"}, ""},
		{"logo breaking out of a quote", themeWith("logoType", "IMAGE", "logo", with(img, "href", `https://cdn.example.com/a".png`)),
			wantErr{400, "INVALID_DATA", "INVALID_VALUE", "configuration.logo.href"}, ""},
		{"logo id not an id", themeWith("logoType", "IMAGE", "logo", with(img, "id", "logo-1")),
			wantErr{400, "INVALID_DATA", "INVALID_VALUE", "configuration.logo.id"}, "configuration.logo.id must be a resource id (a UUID)."},
		{"logo without id", themeWith("logoType", "IMAGE", "logo", map[string]any{"href": img["href"]}),
			wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "configuration.logo.id"}, ""},
		{"no backgroundType", themeWith("backgroundType", nil), wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "configuration.backgroundType"}, ""},
		{"unknown backgroundType", themeWith("backgroundType", "GRADIENT"), wantErr{400, "INVALID_DATA", "INVALID_VALUE", "configuration.backgroundType"}, ""},
		{"COLOR without a colour", themeWith("backgroundColor", nil), wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "configuration.backgroundColor"}, ""},
		{"IMAGE without an image", themeWith("backgroundType", "IMAGE"), wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "configuration.backgroundImage"}, ""},
		{"background image over http", themeWith("backgroundType", "IMAGE", "backgroundImage", with(img, "href", "http://example.com/bg.jpg")),
			wantErr{400, "INVALID_DATA", "INVALID_VALUE", "configuration.backgroundImage.href"}, ""},
		{"background colour by name", themeWith("backgroundColor", "red"), wantErr{400, "INVALID_DATA", "INVALID_VALUE", "configuration.backgroundColor"},
			hexMsg("configuration.backgroundColor")},
		{"button colour of five digits", themeWith("buttonColor", "#12345"), wantErr{400, "INVALID_DATA", "INVALID_VALUE", "configuration.buttonColor"},
			hexMsg("configuration.buttonColor")},
		{"card colour breaking out of CSS", themeWith("cardColor", "#fff;}body{background:red"),
			wantErr{400, "INVALID_DATA", "INVALID_VALUE", "configuration.cardColor"}, ""},
		{"link colour without #", themeWith("linkTextColor", "2996cc"), wantErr{400, "INVALID_DATA", "INVALID_VALUE", "configuration.linkTextColor"}, ""},
		{"name with a control character", themeWith("name", "A\u0007B"), wantErr{400, "INVALID_DATA", "INVALID_VALUE", "configuration.name"}, ""},
	}
	for _, method := range []string{"POST", "PUT"} {
		url := themesURL(env)
		if method == "PUT" {
			url += "/" + id
		}
		for _, tc := range cases {
			t.Run(method+"/"+tc.name, func(t *testing.T) {
				before := adminGet(t, s, themesURL(env)+"/"+id)
				count := must(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: themesURL(env), Token: tok}), 200)["count"]
				m := checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: method, URL: url, Token: tok, Body: tc.body}), tc.want)
				if tc.msg != "" && detailAt(t, m, 0)["message"] != tc.msg {
					t.Errorf("message %v, want %q", detailAt(t, m, 0)["message"], tc.msg)
				}
				if tc.want.target == "configuration.buttonColor" {
					if p := innerOf(t, detailAt(t, m, 0))["allowedPattern"]; p != "^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$" {
						t.Errorf("allowedPattern %v", p)
					}
				}
				// Nothing half-written.
				if after := adminGet(t, s, themesURL(env)+"/"+id); !bytesEqual(before, after) {
					t.Errorf("a refused %s changed the theme:\n%s\n%s", method, before, after)
				}
				if n := must(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: themesURL(env), Token: tok}), 200)["count"]; n != count {
					t.Errorf("a refused %s changed the number of themes: %v → %v", method, count, n)
				}
			})
		}
	}

	// Every broken rule is named, in the body's order.
	m := checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: themesURL(env), Token: tok,
		Body: themeWith("logoType", "TEXT", "buttonColor", "blue", "cardColor", "#12")}), wantErr{400, "INVALID_DATA", "INVALID_VALUE", "configuration.logoType"})
	var targets []string
	for _, d := range m["details"].([]any) {
		targets = append(targets, d.(map[string]any)["target"].(string))
	}
	if strings.Join(targets, " ") != "configuration.logoType configuration.buttonColor configuration.cardColor" {
		t.Errorf("details name %v", targets)
	}

	// …/default takes a boolean.
	for _, tc := range []struct {
		name string
		body any
		want wantErr
	}{
		{"no default", map[string]any{}, wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "default"}},
		{"default as a string", map[string]any{"default": "true"}, wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "default"}},
	} {
		t.Run("default/"+tc.name, func(t *testing.T) {
			checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "PUT", URL: themesURL(env) + "/" + id + "/default", Token: tok, Body: tc.body}), tc.want)
		})
	}

	// Unknown themes, another environment's and unknown environments are
	// not found, whatever is asked of them.
	notFound := wantErr{http.StatusNotFound, "NOT_FOUND", "", ""}
	for _, u := range []string{themesURL(env) + "/" + uuid.NewString(), themesURL(env) + "/" + foreign, themesURL(uuid.NewString()) + "/" + id} {
		for _, r := range []apptest.Request{
			{Method: "GET", URL: u}, {Method: "PUT", URL: u, Body: tfTheme("focus", "Hijack")}, {Method: "DELETE", URL: u},
			{Method: "GET", URL: u + "/default"}, {Method: "PUT", URL: u + "/default", Body: map[string]any{"default": true}},
		} {
			r.Token = tok
			t.Run(r.Method+" "+strings.TrimPrefix(r.URL, "/environments/"), func(t *testing.T) {
				checkAnswer(t, doNo5xx(t, s, r), notFound)
			})
		}
	}
	checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: themesURL(uuid.NewString()), Token: tok, Body: tfTheme("focus", "X")}), notFound)
	if defaultThemeID(t, s, other) != foreign {
		t.Errorf("another environment's default moved")
	}
	brandingSameJSON(t, "another environment's default theme", adminGet(t, s, themesURL(other)+"/"+foreign),
		themeJSON(s, other, foreign, "default", true, pingDefaultConfig))

	// Reading takes a configuration role; writing one that may write it.
	readOnly := s.Token(t, s.CreateWorker(t, env, "CLIENT_SECRET_BASIC", [3]string{roles.ConfigurationReadOnly.ID, roles.ScopeEnvironment, env}))
	identity := s.Token(t, s.CreateWorker(t, env, "CLIENT_SECRET_BASIC", [3]string{roles.IdentityDataReadOnly.ID, roles.ScopeEnvironment, env}))
	forbidden := wantErr{http.StatusForbidden, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""}
	checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: themesURL(env) + "/" + id, Token: readOnly}), wantErr{status: 200})
	checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: themesURL(env), Token: identity}), forbidden)
	checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: themesURL(env), Token: readOnly, Body: tfTheme("focus", "X")}), forbidden)
	checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "PUT", URL: themesURL(env) + "/" + id + "/default", Token: readOnly,
		Body: map[string]any{"default": true}}), forbidden)
	checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "DELETE", URL: themesURL(env) + "/" + id, Token: readOnly}), forbidden)
}

// A population shows the theme it names, or its environment's default
// theme, whichever that is at the time; a theme of another environment,
// or none, is refused; deleting a theme sends its populations back to the
// default.
func TestPopulationThemesAsSDK(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			env, other := newEnv(t, s, "Population themes", "SANDBOX"), newEnv(t, s, "Population themes elsewhere", "SANDBOX")
			tok := s.AdminToken(t)
			pops := "/environments/" + env + "/populations"
			def := defaultThemeID(t, s, env)
			focus := themeCreate(t, s, env, tfTheme("focus", "Focus"))["id"].(string)
			split := themeCreate(t, s, env, tfTheme("split", "Split"))["id"].(string)

			themeOf := func(id string) string {
				t.Helper()
				m := must(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: pops + "/" + id, Token: tok}), 200)
				if link, want := get(m, "_links.theme.href"), s.APIPath+themesURL(env)+"/"+get(m, "theme.id").(string); link != want {
					t.Errorf("_links.theme.href = %v, want %s", link, want)
				}
				return get(m, "theme.id").(string)
			}
			plain := must(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: pops, Token: tok, Body: map[string]any{"name": "Plain"}}), 201)
			if get(plain, "theme.id") != def {
				t.Errorf("a population created without a theme answered theme %v, want the default %s", get(plain, "theme.id"), def)
			}
			plainID := plain["id"].(string)
			themed := must(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: pops, Token: tok,
				Body: map[string]any{"name": "Themed", "theme": map[string]any{"id": focus}}}), 201)
			themedID := themed["id"].(string)
			if get(themed, "theme.id") != focus {
				t.Errorf("created with theme %s, answered %v", focus, get(themed, "theme.id"))
			}

			for _, tc := range []struct {
				name  string
				theme any
				want  wantErr
			}{
				{"another environment's theme", map[string]any{"id": defaultThemeID(t, s, other)}, wantErr{400, "INVALID_DATA", "INVALID_VALUE", "theme.id"}},
				{"an unknown theme", map[string]any{"id": uuid.NewString()}, wantErr{400, "INVALID_DATA", "INVALID_VALUE", "theme.id"}},
				{"a theme without id", map[string]any{}, wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "theme.id"}},
				{"a theme that is not an object", "focus", wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "theme"}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					before := adminGet(t, s, pops+"/"+themedID)
					checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: pops, Token: tok,
						Body: map[string]any{"name": "Refused " + tc.name, "theme": tc.theme}}), tc.want)
					checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "PUT", URL: pops + "/" + themedID, Token: tok,
						Body: map[string]any{"name": "Themed", "theme": tc.theme}}), tc.want)
					if !bytesEqual(before, adminGet(t, s, pops+"/"+themedID)) {
						t.Errorf("a refused PUT changed the population")
					}
				})
			}

			// The default moves: the population without a theme follows it.
			must(t, doNo5xx(t, s, apptest.Request{Method: "PUT", URL: themesURL(env) + "/" + split + "/default", Token: tok,
				Body: map[string]any{"default": true}}), 200)
			if got := themeOf(plainID); got != split {
				t.Errorf("after the default moved, the population without a theme shows %s, want %s", got, split)
			}
			if got := themeOf(themedID); got != focus {
				t.Errorf("after the default moved, the themed population shows %s, want %s", got, focus)
			}
			// A PUT without a theme goes back to the default.
			must(t, doNo5xx(t, s, apptest.Request{Method: "PUT", URL: pops + "/" + themedID, Token: tok, Body: map[string]any{"name": "Themed"}}), 200)
			if got := themeOf(themedID); got != split {
				t.Errorf("after a PUT without a theme: %s, want the default %s", got, split)
			}
			// Deleting a theme a population names sends it to the default.
			must(t, doNo5xx(t, s, apptest.Request{Method: "PUT", URL: pops + "/" + themedID, Token: tok,
				Body: map[string]any{"name": "Themed", "theme": map[string]any{"id": focus}}}), 200)
			checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "DELETE", URL: themesURL(env) + "/" + focus, Token: tok}), wantErr{status: http.StatusNoContent})
			if got := themeOf(themedID); got != split {
				t.Errorf("after its theme was deleted, the population shows %s, want the default %s", got, split)
			}
			// Lists show the same.
			items, _ := listAll(t, s, tok, s.APIPath+pops, "populations")
			for _, it := range items {
				if th := get(it, "theme.id"); th != split {
					t.Errorf("listed population %v shows theme %v, want %s", it["name"], th, split)
				}
			}
		})
	}
}
