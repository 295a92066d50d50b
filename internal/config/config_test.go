package config

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

func ptr[T any](v T) *T { return &v }

// Each kind decodes its column into its PingOne shape, an empty column is
// the zero value, and a damaged column is ErrDamaged naming the record.
func TestDecode(t *testing.T) {
	damaged := json.RawMessage(`{"not":`)
	cases := []struct {
		name   string
		data   json.RawMessage
		decode func(json.RawMessage) (any, error)
		want   any
		kind   string // as the error names it
	}{
		{"application", json.RawMessage(`{"grantTypes":["AUTHORIZATION_CODE"],"redirectUris":["https://a.example/cb"],"pkceEnforcement":"S256_REQUIRED",` +
			`"corsSettings":{"behavior":"ALLOW_SPECIFIC_ORIGINS","origins":["https://login.example"]},"refreshTokenDuration":60}`),
			func(d json.RawMessage) (any, error) {
				v, err := DecodeApplication(&store.Application{ID: "app-1", Data: d})
				return settingsOf(v, err, func(v *Application) any { return v.Settings })
			},
			wire.ApplicationData{GrantTypes: []string{"AUTHORIZATION_CODE"}, RedirectURIs: []string{"https://a.example/cb"}, PkceEnforcement: "S256_REQUIRED",
				CorsSettings: &wire.CorsSettings{Behavior: "ALLOW_SPECIFIC_ORIGINS", Origins: []string{"https://login.example"}}, RefreshTokenDuration: ptr(60)},
			"application app-1"},
		{"resource", json.RawMessage(`{"introspectEndpointAuthMethod":"NONE","applicationPermissionsSettings":{"claimEnabled":true}}`),
			func(d json.RawMessage) (any, error) {
				v, err := DecodeResource(&store.Resource{ID: "res-1", Data: d})
				return settingsOf(v, err, func(v *Resource) any { return v.Settings })
			},
			wire.ResourceData{IntrospectEndpointAuthMethod: "NONE", ApplicationPermissionsSettings: &wire.ApplicationPermissionsSettings{ClaimEnabled: true}},
			"resource res-1"},
		{"scope", json.RawMessage(`{"schemaAttributes":["name.given"],"mappedClaims":["c-1"]}`),
			func(d json.RawMessage) (any, error) {
				v, err := DecodeScope(&store.Scope{ID: "sc-1", Data: d})
				return settingsOf(v, err, func(v *Scope) any { return v.Settings })
			},
			wire.ScopeData{SchemaAttributes: []string{"name.given"}, MappedClaims: []string{"c-1"}},
			"scope sc-1"},
		{"sign-on policy action", json.RawMessage(`{"recovery":{"enabled":false},"socialProviders":[{"id":"idp-1"}],"condition":{"secondsSince":"${session.lastSignOn.at}","greater":60}}`),
			func(d json.RawMessage) (any, error) {
				v, err := DecodeSignOnPolicyAction(&store.SignOnPolicyAction{ID: "act-1", Data: d})
				return settingsOf(v, err, func(v *SignOnPolicyAction) any { return v.Settings })
			},
			wire.SignOnPolicyActionData{Recovery: &wire.ActionRecovery{Enabled: false}, SocialProviders: []wire.Ref{{ID: "idp-1"}},
				Condition: json.RawMessage(`{"secondsSince":"${session.lastSignOn.at}","greater":60}`)},
			"sign-on policy action act-1"},
		{"identity provider", json.RawMessage(`{"clientId":"rp","issuer":"https://idp.example","scopes":["email"],"pkceMethod":"S256"}`),
			func(d json.RawMessage) (any, error) {
				v, err := DecodeIdentityProvider(&store.IdentityProvider{ID: "idp-1", Data: d})
				return settingsOf(v, err, func(v *IdentityProvider) any { return v.Settings })
			},
			wire.IdentityProviderData{ClientID: "rp", Issuer: "https://idp.example", Scopes: []string{"email"}, PkceMethod: "S256"},
			"identity provider idp-1"},
		{"environment", json.RawMessage(`{"icon":"https://cdn.example/i.png","billOfMaterials":{"products":[{"type":"PING_ONE_BASE"}]}}`),
			func(d json.RawMessage) (any, error) {
				v, err := DecodeEnvironment(&store.Environment{ID: "env-1", Data: d})
				return settingsOf(v, err, func(v *Environment) any { return v.Settings })
			},
			wire.EnvironmentData{Icon: "https://cdn.example/i.png", BillOfMaterials: &wire.BillOfMaterials{Products: []wire.Product{{Type: "PING_ONE_BASE"}}}},
			"environment env-1"},
		{"password policy", json.RawMessage(`{"excludesCommonlyUsed":true,"length":{"min":8,"max":255}}`),
			func(d json.RawMessage) (any, error) {
				v, err := DecodePasswordPolicy(&store.PasswordPolicy{ID: "pp-1", Data: d})
				return settingsOf(v, err, func(v *PasswordPolicy) any { return v.Settings })
			},
			func() any {
				var r wire.PasswordPolicyRules
				if err := json.Unmarshal([]byte(`{"excludesCommonlyUsed":true,"length":{"min":8,"max":255}}`), &r); err != nil {
					panic(err)
				}
				return r
			}(),
			"password policy pp-1"},
		{"theme", json.RawMessage(`{"name":"Brand","logoType":"NONE","backgroundType":"COLOR","backgroundColor":"#EDEDED","buttonColor":"#CB0020"}`),
			func(d json.RawMessage) (any, error) {
				v, err := DecodeTheme(&store.Theme{ID: "th-1", Template: "focus", Data: d})
				return settingsOf(v, err, func(v *Theme) any { return v.Settings })
			},
			wire.ThemeConfiguration{Name: "Brand", LogoType: "NONE", BackgroundType: "COLOR", BackgroundColor: "#EDEDED", ButtonColor: "#CB0020"},
			"theme th-1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.decode(tc.data)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("settings = %#v\nwant %#v", got, tc.want)
			}
			zero := reflect.Zero(reflect.TypeOf(tc.want)).Interface()
			for _, empty := range []json.RawMessage{nil, json.RawMessage(`{}`)} {
				got, err := tc.decode(empty)
				if err != nil || !reflect.DeepEqual(got, zero) {
					t.Errorf("decode(%q) = %#v, %v; want the zero value", empty, got, err)
				}
			}
			for _, bad := range []json.RawMessage{damaged, json.RawMessage(`[]`), json.RawMessage(`{"id":{}} trailing`)} {
				_, err := tc.decode(bad)
				if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), tc.kind) {
					t.Errorf("decode(%s) = %v; want ErrDamaged naming %q", bad, err, tc.kind)
				}
			}
		})
	}
	// A settings field of the wrong type is damage too, not a default.
	if _, err := DecodeApplication(&store.Application{ID: "app-2", Data: json.RawMessage(`{"redirectUris":"https://a.example/cb"}`)}); !errors.Is(err, ErrDamaged) {
		t.Errorf("redirectUris as a string: err = %v, want ErrDamaged", err)
	}
}

func settingsOf[V any](v *V, err error, settings func(*V) any) (any, error) {
	if err != nil {
		return nil, err
	}
	return settings(v), nil
}

// The record rides along with its settings; branding the API would refuse
// is not shown.
func TestDecodeEnvironmentBranding(t *testing.T) {
	rec := &store.Environment{ID: "env-1", Name: "Dev", Region: "EU",
		Data: json.RawMessage(`{"branding":{"companyName":"Acme","primaryColor":"#ABC","logo":{"href":"https://cdn.example/l.png"}}}`)}
	e, err := DecodeEnvironment(rec)
	if err != nil {
		t.Fatal(err)
	}
	if e.ID != "env-1" || e.Name != "Dev" || e.Region != "EU" {
		t.Errorf("record = %+v", e.Environment)
	}
	want := wire.BrandingSettings{CompanyName: "Acme", PrimaryColor: "#aabbcc", Logo: &wire.BrandingLogo{Href: "https://cdn.example/l.png"}}
	if !reflect.DeepEqual(e.Branding, want) {
		t.Errorf("Branding = %+v, want %+v", e.Branding, want)
	}
	rec.Data = json.RawMessage(`{"branding":{"companyName":"Acme","primaryColor":"red"}}`)
	if e, err = DecodeEnvironment(rec); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(e.Branding, wire.BrandingSettings{}) || e.Settings.Branding == nil || e.Settings.Branding.PrimaryColor != "red" {
		t.Errorf("branding breaking a rule: Branding = %+v, Settings.Branding = %+v; want none shown, the stored kept", e.Branding, e.Settings.Branding)
	}
}

// What the sign-on page takes from a theme: colours in canonical form,
// https images, the template's background for DEFAULT; anything the API
// would refuse (a stored theme written some other way) is left out.
func TestDecodeThemeLook(t *testing.T) {
	cases := []struct {
		name     string
		template string
		data     string
		want     wire.ThemeLook
	}{
		{"colours", "focus", `{"logoType":"NONE","backgroundType":"COLOR","backgroundColor":"#ABC","bodyTextColor":"#4A4A4A",` +
			`"buttonColor":"#CB0020","buttonTextColor":"#fff","cardColor":"#fcfcfc","headingTextColor":"#cb0020","linkTextColor":"#2996CC","footer":"© Acme"}`,
			wire.ThemeLook{Button: "#cb0020", ButtonText: "#ffffff", BodyText: "#4a4a4a", HeadingText: "#cb0020", Link: "#2996cc", Card: "#fcfcfc",
				Background: "#aabbcc", Footer: "© Acme"}},
		{"template background", "default", `{"logoType":"NONE","backgroundType":"DEFAULT","backgroundColor":"#000000"}`,
			wire.ThemeLook{Background: "#ededed"}},
		{"template with an image background", "mural", `{"logoType":"NONE","backgroundType":"DEFAULT"}`, wire.ThemeLook{}},
		{"no background", "focus", `{"logoType":"NONE","backgroundType":"NONE","backgroundColor":"#123456"}`, wire.ThemeLook{}},
		{"images", "split", `{"logoType":"IMAGE","logo":{"href":"https://cdn.example/l.png","id":"x"},` +
			`"backgroundType":"IMAGE","backgroundImage":{"href":"https://cdn.example/bg(1).jpg","id":"y"}}`,
			wire.ThemeLook{Logo: "https://cdn.example/l.png", BackgroundImage: "https://cdn.example/bg(1).jpg"}},
		{"a logo of logoType NONE", "split", `{"logoType":"NONE","logo":{"href":"https://cdn.example/l.png","id":"x"},"backgroundType":"NONE"}`,
			wire.ThemeLook{}},
		{"what the API refuses", "focus", `{"logoType":"IMAGE","logo":{"href":"javascript:alert(1)","id":"x"},` +
			`"backgroundType":"IMAGE","backgroundImage":{"href":"https://cdn.example/a\");}body{color:red","id":"y"},` +
			`"buttonColor":"red","buttonTextColor":"#fff;}body{x:y","cardColor":"#12345g","linkTextColor":"#1234","bodyTextColor":" #123456"}`,
			wire.ThemeLook{}},
		{"plain http", "focus", `{"logoType":"IMAGE","logo":{"href":"http://cdn.example/l.png","id":"x"},"backgroundType":"COLOR","backgroundColor":"blue"}`,
			wire.ThemeLook{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			th, err := DecodeTheme(&store.Theme{ID: "th-1", Template: tc.template, Data: json.RawMessage(tc.data)})
			if err != nil {
				t.Fatal(err)
			}
			if th.Look != tc.want {
				t.Errorf("Look = %+v\nwant %+v", th.Look, tc.want)
			}
		})
	}
}

func TestDecodeAll(t *testing.T) {
	recs := []store.Scope{{ID: "a", Data: json.RawMessage(`{"schemaAttributes":["email"]}`)}, {ID: "b"}}
	got, err := DecodeAll(recs, DecodeScope)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "a" || !reflect.DeepEqual(got[0].Settings.SchemaAttributes, []string{"email"}) || got[1].ID != "b" {
		t.Errorf("DecodeAll = %+v", got)
	}
	recs = append(recs, store.Scope{ID: "c", Data: json.RawMessage(`{"schemaAttributes":"email"}`)})
	if got, err := DecodeAll(recs, DecodeScope); !errors.Is(err, ErrDamaged) || got != nil || !strings.Contains(err.Error(), "scope c") {
		t.Errorf("DecodeAll with a damaged row = %v, %v; want nothing and ErrDamaged naming scope c", got, err)
	}
}

// The catalogs decode and index what they were built from.
func TestCatalogs(t *testing.T) {
	rs := []store.Resource{{ID: "api", Type: "CUSTOM", Data: json.RawMessage(`{"introspectEndpointAuthMethod":"NONE"}`)}, {ID: "oidc", Type: "OPENID_CONNECT"}}
	scopes := []store.Scope{{ID: "s1", ResourceID: "api", Name: "read"}, {ID: "s2", ResourceID: "oidc", Name: "openid"},
		{ID: "s3", ResourceID: "api", Name: "write", Data: json.RawMessage(`{"schemaAttributes":["email"]}`)},
		{ID: "s4", ResourceID: "created-meanwhile", Name: "x"}}
	attrs := []store.ResourceAttribute{{ID: "a1", ResourceID: "oidc", Name: "email"}, {ID: "a2", ResourceID: "created-meanwhile", Name: "x"}}
	c := newResources(rs, scopes, attrs)
	openID, err1 := c.OpenID()
	api, err2 := c.Resource("api")
	nope, err3 := c.Resource("nope")
	if err := errors.Join(err1, err2, err3); err != nil {
		t.Fatal(err)
	}
	if openID == nil || openID.ID != "oidc" || api.Settings.IntrospectEndpointAuthMethod != "NONE" || nope != nil {
		t.Errorf("resources: openid %+v, api %+v, nope %+v", openID, api, nope)
	}
	if got, err := c.Scopes("api"); err != nil || len(got) != 2 || got[0].Name != "read" || got[1].Name != "write" || got[1].Settings.SchemaAttributes[0] != "email" {
		t.Errorf("Scopes(api) = %+v, %v", got, err)
	}
	oidcAttrs, err1 := c.Mappings("oidc")
	apiAttrs, err2 := c.Mappings("api")
	if len(oidcAttrs) != 1 || oidcAttrs[0].Name != "email" || apiAttrs != nil || err1 != nil || err2 != nil {
		t.Errorf("Attributes = %+v, %+v (%v, %v)", oidcAttrs, apiAttrs, err1, err2)
	}
	meanwhileScopes, err1 := c.Scopes("created-meanwhile")
	meanwhileAttrs, err2 := c.Mappings("created-meanwhile")
	if meanwhileScopes != nil || meanwhileAttrs != nil || err1 != nil || err2 != nil {
		t.Errorf("scopes or attributes of a resource the catalog does not hold")
	}
	if r, err := newResources(nil, nil, nil).OpenID(); err != nil || r != nil {
		t.Errorf("an empty environment: %v, openid %+v", err, r)
	}

	ps := []store.SignOnPolicy{{ID: "p1", Name: "Single_Factor", Default: true}, {ID: "p2", Name: "Multi_Factor"}}
	acts := []store.SignOnPolicyAction{{ID: "x1", SignOnPolicyID: "p2", Priority: 1, Data: json.RawMessage(`{"recovery":{"enabled":true}}`)},
		{ID: "x2", SignOnPolicyID: "p2", Priority: 2}}
	p := newSignOnPolicies(ps, acts)
	if p.Default() == nil || p.Default().ID != "p1" || p.Policy("p2").Name != "Multi_Factor" || p.Policy("p3") != nil {
		t.Errorf("policies: default %+v, p2 %+v", p.Default(), p.Policy("p2"))
	}
	got, err1 := p.Actions("p2")
	none, err2 := p.Actions("p1")
	if len(got) != 2 || got[0].ID != "x1" || !got[0].Settings.Recovery.Enabled || got[1].ID != "x2" || none != nil || err1 != nil || err2 != nil {
		t.Errorf("Actions = %+v, %+v (%v, %v)", got, none, err1, err2)
	}
	if p := newSignOnPolicies([]store.SignOnPolicy{{ID: "p"}}, nil); p.Default() != nil {
		t.Errorf("a default without a default policy: %+v", p.Default())
	}
}

// A damaged record fails the lookups that use it, naming it, and nothing
// else of its environment: no lookup answers defaults in its place.
func TestCatalogsDamaged(t *testing.T) {
	damaged := json.RawMessage(`{"schemaAttributes":"email"}`)
	rs := func(damagedID string) []store.Resource {
		out := []store.Resource{{ID: "api", Type: "CUSTOM", Audience: "https://api.example"}, {ID: "oidc", Type: "OPENID_CONNECT"},
			{ID: "other", Type: "CUSTOM"}}
		for i := range out {
			if out[i].ID == damagedID {
				out[i].Data = json.RawMessage(`{"introspectEndpointAuthMethod":5}`)
			}
		}
		return out
	}
	scopes := func(damagedID string) []store.Scope {
		out := []store.Scope{{ID: "s1", ResourceID: "api", Name: "read"}, {ID: "s2", ResourceID: "oidc", Name: "openid"},
			{ID: "s3", ResourceID: "api", Name: "write"}, {ID: "s4", ResourceID: "other", Name: "other"}}
		for i := range out {
			if out[i].ID == damagedID {
				out[i].Data = damaged
			}
		}
		return out
	}
	attrs := []store.ResourceAttribute{{ID: "a1", ResourceID: "oidc", Name: "email"}, {ID: "a2", ResourceID: "api", Name: "tenant"}}
	// lookups are every lookup of the catalog, each answering its error.
	lookups := func(c *Resources) map[string]error {
		out := map[string]error{}
		_, out["OpenID"] = c.OpenID()
		for _, id := range []string{"api", "oidc", "other"} {
			_, out["Resource("+id+")"] = c.Resource(id)
			_, out["Scopes("+id+")"] = c.Scopes(id)
			_, out["Mappings("+id+")"] = c.Mappings(id)
		}
		return out
	}
	cases := []struct {
		name    string
		c       *Resources
		failing []string // the lookups that fail
		naming  string   // what their error names
	}{
		{"a scope", newResources(rs(""), scopes("s3"), attrs), []string{"Scopes(api)"}, "scope s3"},
		{"an openid scope", newResources(rs(""), scopes("s2"), attrs), []string{"Scopes(oidc)"}, "scope s2"},
		{"a resource", newResources(rs("api"), scopes(""), attrs), []string{"Resource(api)", "Scopes(api)", "Mappings(api)"}, "resource api"},
		{"the openid resource", newResources(rs("oidc"), scopes(""), attrs),
			[]string{"OpenID", "Resource(oidc)", "Scopes(oidc)", "Mappings(oidc)"}, "resource oidc"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for lookup, err := range lookups(tc.c) {
				switch {
				case !slices.Contains(tc.failing, lookup) && err != nil:
					t.Errorf("%s = %v, want no error", lookup, err)
				case slices.Contains(tc.failing, lookup) && (!errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), tc.naming)):
					t.Errorf("%s = %v, want ErrDamaged naming %s", lookup, err, tc.naming)
				}
			}
		})
	}
	// A good scope of a resource with a damaged one is not served alone:
	// the resource's scope list is unknown.
	if got, err := newResources(rs(""), scopes("s3"), attrs).Scopes("api"); got != nil || err == nil {
		t.Errorf("Scopes of a resource with a damaged scope = %+v, %v; want nothing and the error", got, err)
	}

	ps := []store.SignOnPolicy{{ID: "p1", Name: "Single_Factor", Default: true}, {ID: "p2", Name: "Multi_Factor"}}
	acts := []store.SignOnPolicyAction{{ID: "x1", SignOnPolicyID: "p2", Priority: 1}, {ID: "x2", SignOnPolicyID: "p2", Priority: 2, Data: json.RawMessage(`{"recovery":true}`)},
		{ID: "x3", SignOnPolicyID: "p1", Priority: 1}}
	p := newSignOnPolicies(ps, acts)
	if got, err := p.Actions("p2"); got != nil || !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "sign-on policy action x2") {
		t.Errorf("Actions of the policy with a damaged action = %+v, %v; want nothing and ErrDamaged naming action x2", got, err)
	}
	if got, err := p.Actions("p1"); err != nil || len(got) != 1 || got[0].ID != "x3" {
		t.Errorf("Actions of another policy = %+v, %v", got, err)
	}
	if p.Default() == nil || p.Default().ID != "p1" || p.Policy("p2") == nil {
		t.Errorf("policies of an environment with a damaged action: default %+v, p2 %+v", p.Default(), p.Policy("p2"))
	}
}
