package mgmt_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

func brandingURL(envID string) string { return "/environments/" + envID + "/brandingSettings" }

// brandingPingOneExample is the body of PingOne's "Update Branding Settings"
// example, with a concrete image.
func brandingPingOneExample() map[string]any {
	return map[string]any{"companyName": "Ping", "logo": map[string]any{
		"href": "https://i.special.io/images/orgLogo/orgLogoSmall-Jfdwu930d.png", "id": "e8ad78dd-d45c-49b4-974d-8d5e443d4531"}}
}

// brandingPut sends body with the admin token and answers the 200 body.
func brandingPut(t *testing.T, s *apptest.Server, envID string, body any) *apptest.Response {
	t.Helper()
	r := doNo5xx(t, s, apptest.Request{Method: "PUT", URL: brandingURL(envID), Token: s.AdminToken(t), Body: body})
	if r.Status != http.StatusOK {
		t.Fatalf("PUT %s: %d %s", brandingURL(envID), r.Status, trimBody(r.Body))
	}
	wantJSONType(t, r)
	return r
}

// brandingStored reads the environment's JSON column as its keys.
func brandingStored(t *testing.T, s *apptest.Server, envID string) map[string]json.RawMessage {
	t.Helper()
	env, err := s.Store.GetEnvironment(context.Background(), envID)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(env.Data, &m); err != nil {
		t.Fatalf("environment data %s: %v", env.Data, err)
	}
	return m
}

// sameJSON compares two JSON texts as values.
func brandingSameJSON(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v: %s", what, err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: bad expectation: %v", what, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s =\n%s\nwant\n%s", what, got, want)
	}
}

// brandingBody is the resource Gatehouse must answer for envID with the
// given settings members (a JSON object's inside, possibly empty).
// companyName is always answered, "" when members has none: PingOne's
// Terraform provider reads it back as its default "".
func brandingBody(s *apptest.Server, envID, members string) string {
	href := s.APIPath + "/environments/" + envID
	if !strings.Contains(members, `"companyName":`) {
		members = strings.TrimSuffix(`"companyName":"",`+members, ",")
	}
	members = "," + members
	return `{"_links":{"self":{"href":"` + href + `/brandingSettings"},"environment":{"href":"` + href + `"}},` +
		`"id":"` + envID + `","environment":{"id":"` + envID + `"}` + members + `}`
}

func TestBrandingSettingsAsSDK(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			testBrandingSettings(t, apptest.Start(t, apptest.Options{DSN: b.DSN(t)}))
		})
	}
}

func testBrandingSettings(t *testing.T, s *apptest.Server) {
	env := newEnv(t, s, "Branding", "SANDBOX")
	envURL := "/environments/" + env
	bomURL := envURL + "/billOfMaterials"

	// A new environment has empty settings: only the read-only members.
	r := doNo5xx(t, s, apptest.Request{Method: "GET", URL: brandingURL(env), Token: s.AdminToken(t)})
	must(t, r, http.StatusOK)
	brandingSameJSON(t, "default settings", r.Body, brandingBody(s, env, ""))
	if _, ok := brandingStored(t, s, env)["branding"]; ok {
		t.Errorf("a new environment stores branding")
	}

	envBefore := adminGet(t, s, envURL)
	bomBefore := adminGet(t, s, bomURL)
	dataBefore := brandingStored(t, s, env)

	// PingOne's example, sent as the SDK sends a PUT after a GET: read-only
	// members echoed back (with values that must not win), plus the colour.
	body := brandingPingOneExample()
	body["primaryColor"] = "#1A2b3C"
	body["id"] = uuid.NewString()
	body["environment"] = map[string]any{"id": uuid.NewString()}
	body["_links"] = map[string]any{"self": map[string]any{"href": "https://api.pingone.com/v1/environments/x/brandingSettings"}}
	put := brandingPut(t, s, env, body)
	want := brandingBody(s, env, `"companyName":"Ping","logo":{"href":"https://i.special.io/images/orgLogo/orgLogoSmall-Jfdwu930d.png",`+
		`"id":"e8ad78dd-d45c-49b4-974d-8d5e443d4531"},"primaryColor":"#1a2b3c"`)
	brandingSameJSON(t, "PUT answer", put.Body, want)

	got := adminGet(t, s, brandingURL(env))
	if !bytes.Equal(got, put.Body) {
		t.Errorf("GET after PUT:\n%s\nPUT answered\n%s", got, put.Body)
	}

	// Only the branding key changed: the environment, its bill of materials
	// and every other stored key are byte for byte as before.
	if after := adminGet(t, s, envURL); !bytes.Equal(after, envBefore) {
		t.Errorf("environment changed:\nbefore %s\nafter  %s", envBefore, after)
	}
	if after := adminGet(t, s, bomURL); !bytes.Equal(after, bomBefore) {
		t.Errorf("billOfMaterials changed:\nbefore %s\nafter  %s", bomBefore, after)
	}
	stored := brandingStored(t, s, env)
	for k, v := range dataBefore {
		if !bytes.Equal(stored[k], v) {
			t.Errorf("stored %s = %s, was %s", k, stored[k], v)
		}
	}
	brandingSameJSON(t, "stored branding", stored["branding"],
		`{"companyName":"Ping","logo":{"href":"https://i.special.io/images/orgLogo/orgLogoSmall-Jfdwu930d.png",`+
			`"id":"e8ad78dd-d45c-49b4-974d-8d5e443d4531"},"primaryColor":"#1a2b3c"}`)
	if len(stored) != len(dataBefore)+1 {
		t.Errorf("stored keys %v, want those of %v plus branding", keysOfRaw(stored), keysOfRaw(dataBefore))
	}

	// What the sign-on page reads.
	e, err := s.Store.GetEnvironment(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	wantSettings := wire.BrandingSettings{CompanyName: "Ping", PrimaryColor: "#1a2b3c", Logo: &wire.BrandingLogo{
		Href: "https://i.special.io/images/orgLogo/orgLogoSmall-Jfdwu930d.png", ID: "e8ad78dd-d45c-49b4-974d-8d5e443d4531"}}
	if got := wire.EnvironmentBranding(e.Data); !reflect.DeepEqual(got, wantSettings) {
		t.Errorf("EnvironmentBranding = %+v, want %+v", got, wantSettings)
	}

	// Writing the environment or its bill of materials keeps the branding.
	brandingBefore := adminGet(t, s, brandingURL(env))
	lic := s.LicenseID(t)
	for _, w := range []apptest.Request{
		{Method: "PUT", URL: envURL, Body: map[string]any{"name": "Branding renamed", "type": "SANDBOX", "region": "NA",
			"license": map[string]any{"id": lic}, "icon": "https://cdn.example.com/icon.png"}},
		{Method: "PUT", URL: bomURL, Body: map[string]any{"products": []any{map[string]any{"type": "PING_ONE_MFA"}}}},
		{Method: "PUT", URL: envURL + "/type", Body: map[string]any{"type": "PRODUCTION"}},
	} {
		w.Token = s.AdminToken(t)
		if r := doNo5xx(t, s, w); r.Status != http.StatusOK {
			t.Fatalf("%s %s: %d %s", w.Method, w.URL, r.Status, trimBody(r.Body))
		}
		if after := adminGet(t, s, brandingURL(env)); !bytes.Equal(after, brandingBefore) {
			t.Errorf("after %s %s the branding is\n%s\nwas\n%s", w.Method, w.URL, after, brandingBefore)
		}
	}

	// PUT replaces: members left out are gone.
	put = brandingPut(t, s, env, map[string]any{"companyName": "Only a name"})
	brandingSameJSON(t, "PUT of a name alone", put.Body, brandingBody(s, env, `"companyName":"Only a name"`))
	brandingSameJSON(t, "stored name alone", brandingStored(t, s, env)["branding"], `{"companyName":"Only a name"}`)

	// A logo without an id (Gatehouse has no image store), and null members.
	put = brandingPut(t, s, env, map[string]any{"companyName": nil, "logo": map[string]any{"href": "https://cdn.example.com/l.svg"}, "primaryColor": nil})
	brandingSameJSON(t, "PUT of a logo alone", put.Body, brandingBody(s, env, `"logo":{"href":"https://cdn.example.com/l.svg","id":""}`))

	// Empty settings remove the key.
	put = brandingPut(t, s, env, map[string]any{})
	brandingSameJSON(t, "PUT of nothing", put.Body, brandingBody(s, env, ""))
	if v, ok := brandingStored(t, s, env)["branding"]; ok {
		t.Errorf("empty settings are stored as %s", v)
	}
	brandingSameJSON(t, "GET after emptying", adminGet(t, s, brandingURL(env)), brandingBody(s, env, ""))
}

func keysOfRaw(m map[string]json.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestBrandingSettingsAccepted(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			env := newEnv(t, s, "Branding values", "SANDBOX")
			long := "https://cdn.example.com/" + strings.Repeat("a", wire.BrandingLogoHrefMax-len("https://cdn.example.com/"))
			cases := []struct {
				name string
				body map[string]any
				want string // members of the answer
			}{
				{"colour #rgb upper case", map[string]any{"primaryColor": "#ABC"}, `"primaryColor":"#aabbcc"`},
				{"colour #rgb digits", map[string]any{"primaryColor": "#09f"}, `"primaryColor":"#0099ff"`},
				{"colour #rrggbb mixed case", map[string]any{"primaryColor": "#AbCdEf"}, `"primaryColor":"#abcdef"`},
				{"colour #rrggbb lower case", map[string]any{"primaryColor": "#123456"}, `"primaryColor":"#123456"`},
				{"empty colour is no colour", map[string]any{"primaryColor": ""}, ``},
				{"name of 256 characters, not bytes", map[string]any{"companyName": strings.Repeat("é", 256)},
					`"companyName":"` + strings.Repeat("é", 256) + `"`},
				{"name with HTML is kept as given", map[string]any{"companyName": `<b>"Acme" & Co</b>`}, `"companyName":"<b>\"Acme\" & Co</b>"`},
				{"logo over http on 127.0.0.1", map[string]any{"logo": map[string]any{"href": "http://127.0.0.1:8080/logo.png"}},
					`"logo":{"href":"http://127.0.0.1:8080/logo.png","id":""}`},
				{"logo over http on localhost", map[string]any{"logo": map[string]any{"href": "http://localhost/logo.png"}},
					`"logo":{"href":"http://localhost/logo.png","id":""}`},
				{"logo over http on ::1", map[string]any{"logo": map[string]any{"href": "http://[::1]:9000/logo.png"}},
					`"logo":{"href":"http://[::1]:9000/logo.png","id":""}`},
				{"logo with query and upper-case scheme", map[string]any{"logo": map[string]any{"href": "HTTPS://cdn.example.com/l.png?v=2"}},
					`"logo":{"href":"HTTPS://cdn.example.com/l.png?v=2","id":""}`},
				{"logo href of 1024 characters", map[string]any{"logo": map[string]any{"href": long}}, `"logo":{"href":"` + long + `","id":""}`},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					put := brandingPut(t, s, env, c.body)
					brandingSameJSON(t, "PUT answer", put.Body, brandingBody(s, env, c.want))
					brandingSameJSON(t, "GET", adminGet(t, s, brandingURL(env)), brandingBody(s, env, c.want))
				})
			}
		})
	}
}

// TestBrandingSettingsErrors pins every refusal, its exact body, and that
// nothing changed.
func TestBrandingSettingsErrors(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			runBrandingErrors(t, apptest.Start(t, apptest.Options{DSN: b.DSN(t)}))
		})
	}
}

func runBrandingErrors(t *testing.T, s *apptest.Server) {
	x := newEnv(t, s, "Branding X", "SANDBOX")
	y := newEnv(t, s, "Branding Y", "SANDBOX")
	brandingPut(t, s, x, map[string]any{"companyName": "Acme", "logo": map[string]any{"href": "https://cdn.example.com/acme.png", "id": "logo-1"},
		"primaryColor": "#336699"})
	bx, by := brandingURL(x), brandingURL(y)
	unknown := uuid.NewString()

	configRO := s.Token(t, s.CreateWorker(t, x, "CLIENT_SECRET_BASIC", [3]string{roles.ConfigurationReadOnly.ID, roles.ScopeEnvironment, x}))
	identityRO := s.Token(t, s.CreateWorker(t, x, "CLIENT_SECRET_BASIC", [3]string{roles.IdentityDataReadOnly.ID, roles.ScopeEnvironment, x}))
	noRoles := s.Token(t, s.CreateWorker(t, x, "CLIENT_SECRET_BASIC"))
	adminX := s.Token(t, s.CreateWorker(t, x, "CLIENT_SECRET_BASIC", [3]string{roles.EnvironmentAdmin.ID, roles.ScopeEnvironment, x}))

	unchanged := []string{bx, "/environments/" + x, "/environments/" + x + "/billOfMaterials"}
	ok := wantErr{status: http.StatusOK}
	forbidden := wantErr{http.StatusForbidden, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""}
	notFound := wantErr{http.StatusNotFound, "NOT_FOUND", "", ""}
	badRequest := wantErr{http.StatusBadRequest, "INVALID_REQUEST", "INVALID_VALUE", ""}
	put := func(body any) apptest.Request { return apptest.Request{Method: "PUT", URL: bx, Body: body} }

	cases := []errCase{
		// -- permissions
		{name: "Configuration Read Only reads", req: apptest.Request{Method: "GET", URL: bx, Token: configRO}, want: ok,
			check: func(t *testing.T, r *apptest.Response, m map[string]any) {
				if admin := adminGet(t, s, bx); !bytes.Equal(r.Body, admin) {
					t.Errorf("read-only body %s, admin reads %s", r.Body, admin)
				}
			}},
		{name: "Configuration Read Only replaces", req: apptest.Request{Method: "PUT", URL: bx, Token: configRO,
			Body: map[string]any{"companyName": "Nope"}}, want: forbidden, unchanged: unchanged},
		{name: "Identity Data Read Only reads", req: apptest.Request{Method: "GET", URL: bx, Token: identityRO}, want: forbidden},
		{name: "Identity Data Read Only replaces", req: apptest.Request{Method: "PUT", URL: bx, Token: identityRO,
			Body: map[string]any{"companyName": "Nope"}}, want: forbidden, unchanged: unchanged},
		{name: "worker without roles reads", req: apptest.Request{Method: "GET", URL: bx, Token: noRoles}, want: forbidden},
		{name: "admin of X reads Y", req: apptest.Request{Method: "GET", URL: by, Token: adminX}, want: forbidden},
		{name: "admin of X replaces Y", req: apptest.Request{Method: "PUT", URL: by, Token: adminX,
			Body: map[string]any{"companyName": "Intruder"}}, want: forbidden, unchanged: []string{by}},
		{name: "admin of X replaces X", req: apptest.Request{Method: "PUT", URL: bx, Token: adminX,
			Body: map[string]any{"companyName": "Acme", "logo": map[string]any{"href": "https://cdn.example.com/acme.png", "id": "logo-1"},
				"primaryColor": "#369"}}, want: ok, unchanged: unchanged},
		{name: "no token", req: apptest.Request{Method: "GET", URL: bx, Token: "-"},
			want: wantErr{http.StatusUnauthorized, "ACCESS_FAILED", "INVALID_TOKEN", ""}},

		// -- unknown environments answer 404 before any permission check
		{name: "GET of an unknown environment", req: apptest.Request{Method: "GET", URL: brandingURL(unknown)}, want: notFound},
		{name: "PUT of an unknown environment", req: apptest.Request{Method: "PUT", URL: brandingURL(unknown),
			Body: map[string]any{"companyName": "Ghost"}}, want: notFound},
		{name: "GET of an unknown environment without roles", req: apptest.Request{Method: "GET", URL: brandingURL(unknown), Token: noRoles},
			want: notFound},
		{name: "PUT of an unknown environment, read-only", req: apptest.Request{Method: "PUT", URL: brandingURL(unknown), Token: configRO,
			Body: map[string]any{"companyName": "Ghost"}}, want: notFound},

		// -- bodies and media types
		{name: "text/plain", req: apptest.Request{Method: "PUT", URL: bx, Body: `{"companyName":"Plain"}`, ContentType: "text/plain"},
			want: wantErr{http.StatusUnsupportedMediaType, "INVALID_REQUEST", "INVALID_VALUE", "Content-Type"}, unchanged: unchanged},
		{name: "no Content-Type", req: apptest.Request{Method: "PUT", URL: bx, Body: `{"companyName":"None"}`, ContentType: "-"},
			want: wantErr{http.StatusUnsupportedMediaType, "INVALID_REQUEST", "INVALID_VALUE", "Content-Type"}, unchanged: unchanged},
		{name: "malformed JSON", req: put(`{"companyName":`), want: badRequest, unchanged: unchanged},
		{name: "trailing comma", req: put(`{"companyName":"a",}`), want: badRequest, unchanged: unchanged},
		{name: "empty body", req: put(``), want: badRequest, unchanged: unchanged},
		{name: "JSON array", req: put(`[]`), want: badRequest, unchanged: unchanged},
		{name: "oversized body", req: put(`{"companyName":"` + strings.Repeat("a", 1<<20) + `"}`),
			want: wantErr{http.StatusRequestEntityTooLarge, "INVALID_REQUEST", "SIZE_LIMIT_EXCEEDED", ""}, unchanged: unchanged,
			check: func(t *testing.T, r *apptest.Response, m map[string]any) {
				if got := innerOf(t, detailAt(t, m, 0))["maximumValue"]; got != float64(1<<20) {
					t.Errorf("innerError.maximumValue = %v, want 1048576", got)
				}
			}},
		{name: "companyName is a number", req: put(`{"companyName":5}`),
			want: wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "companyName"}, unchanged: unchanged},
		{name: "logo is a string", req: put(`{"logo":"https://cdn.example.com/a.png"}`),
			want: wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "logo"}, unchanged: unchanged},
		{name: "logo.href is a number", req: put(`{"logo":{"href":5}}`),
			want: wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "logo.href"}, unchanged: unchanged},
		{name: "primaryColor is a number", req: put(`{"primaryColor":336699}`),
			want: wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "primaryColor"}, unchanged: unchanged},

		// -- routing
		{name: "DELETE", req: apptest.Request{Method: "DELETE", URL: bx}, want: wantErr{405, "METHOD_NOT_ALLOWED", "", ""}, unchanged: unchanged,
			check: func(t *testing.T, r *apptest.Response, m map[string]any) {
				if allow := r.Header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "PUT") {
					t.Errorf("Allow = %q, want GET and PUT", allow)
				}
			}},
	}

	// Validation: the exact body PingOne's clients decode.
	invalid := func(details ...string) string {
		return `{"code":"INVALID_DATA","message":"` + wire.MsgInvalidData + `","details":[` + strings.Join(details, ",") + `]}`
	}
	detail := func(code, target, msg string) string {
		return `{"code":"` + code + `","target":"` + target + `","message":"` + msg + `"}`
	}
	const (
		hrefMsg  = "logo.href must be an absolute https URL (http is allowed for loopback hosts only)."
		colorMsg = `{"code":"INVALID_VALUE","target":"primaryColor","message":"primaryColor must be a hex colour: #rgb or #rrggbb.",` +
			`"innerError":{"allowedPattern":"^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$"}}`
	)
	nameLong := detail("INVALID_VALUE", "companyName", "companyName must be at most 256 characters.")
	nameCtl := detail("INVALID_VALUE", "companyName", "companyName must not contain control characters.")
	href := detail("INVALID_VALUE", "logo.href", hrefMsg)
	logo := func(href string) map[string]any {
		return map[string]any{"logo": map[string]any{"href": href, "id": "i"}}
	}
	for _, v := range []struct {
		name string
		body any
		want string
	}{
		{"companyName of 257 characters", map[string]any{"companyName": strings.Repeat("é", 257)}, invalid(nameLong)},
		{"companyName with a newline", map[string]any{"companyName": "Acme\nCorp"}, invalid(nameCtl)},
		{"companyName with a tab", map[string]any{"companyName": "Acme\tCorp"}, invalid(nameCtl)},
		{"companyName with DEL", map[string]any{"companyName": "Acme\u007f"}, invalid(nameCtl)},
		{"companyName with a C1 control", map[string]any{"companyName": "Acme\u0085"}, invalid(nameCtl)},
		{"companyName with NUL", `{"companyName":"Acme\u0000"}`,
			invalid(detail("INVALID_VALUE", "companyName", "The value must not contain NUL characters."))},
		{"logo over http", logo("http://cdn.example.com/logo.png"), invalid(href)},
		{"logo over http on a name ending in localhost", logo("http://localhost.example.com/logo.png"), invalid(href)},
		{"relative logo", logo("/images/logo.png"), invalid(href)},
		{"scheme-relative logo", logo("//cdn.example.com/logo.png"), invalid(href)},
		{"javascript logo", logo("javascript:alert(1)"), invalid(href)},
		{"data logo", logo("data:image/png;base64,iVBORw0KGgo="), invalid(href)},
		{"ftp logo", logo("ftp://cdn.example.com/logo.png"), invalid(href)},
		{"https without a host", logo("https:///logo.png"), invalid(href)},
		{"opaque https", logo("https:cdn.example.com/logo.png"), invalid(href)},
		{"logo with a space", logo("https://cdn.example.com/my logo.png"), invalid(href)},
		{"logo with a newline", logo("https://cdn.example.com/logo.png\n"), invalid(href)},
		{"logo with user information", logo("https://user:secret@cdn.example.com/logo.png"),
			invalid(detail("INVALID_VALUE", "logo.href", "logo.href must not carry user information."))},
		{"logo of 1025 characters", logo("https://cdn.example.com/" + strings.Repeat("a", 1025-len("https://cdn.example.com/"))),
			invalid(detail("INVALID_VALUE", "logo.href", "logo.href must be at most 1024 characters."))},
		{"logo without href", map[string]any{"logo": map[string]any{"id": "i"}},
			invalid(detail("REQUIRED_VALUE", "logo.href", "A value is required for logo.href."))},
		{"logo with an empty href", map[string]any{"logo": map[string]any{"href": ""}},
			invalid(detail("REQUIRED_VALUE", "logo.href", "A value is required for logo.href."))},
		{"logo.id of 257 characters", map[string]any{"logo": map[string]any{"href": "https://cdn.example.com/a.png", "id": strings.Repeat("i", 257)}},
			invalid(detail("INVALID_VALUE", "logo.id", "logo.id must be at most 256 characters."))},
		{"colour by name", map[string]any{"primaryColor": "red"}, invalid(colorMsg)},
		{"colour without #", map[string]any{"primaryColor": "336699"}, invalid(colorMsg)},
		{"colour of 2 digits", map[string]any{"primaryColor": "#12"}, invalid(colorMsg)},
		{"colour of 4 digits", map[string]any{"primaryColor": "#1234"}, invalid(colorMsg)},
		{"colour of 8 digits", map[string]any{"primaryColor": "#11223344"}, invalid(colorMsg)},
		{"colour with a non-hex digit", map[string]any{"primaryColor": "#12345g"}, invalid(colorMsg)},
		{"colour with spaces", map[string]any{"primaryColor": " #123456"}, invalid(colorMsg)},
		{"every rule at once", map[string]any{"companyName": "A\x01", "logo": map[string]any{"href": "http://cdn.example.com/a.png"},
			"primaryColor": "blue"}, invalid(nameCtl, href, colorMsg)},
	} {
		want := v.want
		cases = append(cases, errCase{name: v.name, req: put(v.body), want: wantErr{status: http.StatusBadRequest}, unchanged: unchanged,
			check: func(t *testing.T, r *apptest.Response, m map[string]any) {
				if id, _ := m["id"].(string); uuid.Validate(id) != nil {
					t.Errorf("id = %v, want a uuid", m["id"])
				}
				delete(m, "id")
				b, _ := json.Marshal(m)
				brandingSameJSON(t, "error body", b, want)
			}})
	}

	runErrCases(t, s, cases)
}

// TestBrandingSettingsConcurrentWriters runs branding PUTs beside
// transactions that read-modify-write another key of the same environment's
// data: none of the writes may be lost.
func TestBrandingSettingsConcurrentWriters(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			env := newEnv(t, s, "Branding concurrency", "SANDBOX")
			bomBefore := adminGet(t, s, "/environments/"+env+"/billOfMaterials")
			tok := s.AdminToken(t)
			ctx := context.Background()
			const n = 8
			start := make(chan struct{})
			errs := make([]error, 2*n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					<-start
					errs[i] = s.Store.Tx(ctx, func(tx store.Store) error {
						e, err := tx.GetEnvironment(ctx, env)
						if err != nil {
							return err
						}
						var m map[string]any
						if err := json.Unmarshal(e.Data, &m); err != nil {
							return err
						}
						c, _ := m["testCounter"].(float64)
						m["testCounter"] = c + 1
						if e.Data, err = json.Marshal(m); err != nil {
							return err
						}
						return tx.UpdateEnvironment(ctx, e)
					})
				})
				wg.Go(func() {
					<-start
					r := s.Do(t, apptest.Request{Method: "PUT", URL: brandingURL(env), Token: tok,
						Body: map[string]any{"companyName": fmt.Sprintf("Writer %d", i), "primaryColor": "#abc"}})
					if r.Status != http.StatusOK {
						errs[n+i] = fmt.Errorf("PUT: %d %s", r.Status, trimBody(r.Body))
					}
				})
			}
			close(start)
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("writer %d: %v", i, err)
				}
			}
			stored := brandingStored(t, s, env)
			if string(stored["testCounter"]) != fmt.Sprint(n) {
				t.Errorf("testCounter = %s, want %d: an increment was lost", stored["testCounter"], n)
			}
			var b wire.BrandingSettings
			if err := json.Unmarshal(stored["branding"], &b); err != nil || !strings.HasPrefix(b.CompanyName, "Writer ") || b.PrimaryColor != "#aabbcc" {
				t.Errorf("stored branding %s", stored["branding"])
			}
			if after := adminGet(t, s, "/environments/"+env+"/billOfMaterials"); !bytes.Equal(after, bomBefore) {
				t.Errorf("billOfMaterials changed:\nbefore %s\nafter  %s", bomBefore, after)
			}
		})
	}
}
