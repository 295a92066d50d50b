package mgmt_test

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/identity"
	"github.com/gatehouse-id/gatehouse/internal/roles"
)

// ---- helpers of the identity provider tests

// idpBody is step 5 of PingOne's external IdP sign-on workflow: an
// OPENID_CONNECT provider for another PingOne environment (source).
func idpBody(name, source, secret string) map[string]any {
	as := "https://auth.pingone.com/" + source + "/as"
	return map[string]any{
		"description": "New Custom OpenID Connect Provider in Destination Env", "enabled": true, "name": name, "type": "OPENID_CONNECT",
		"clientId": "client-" + source[:8], "clientSecret": secret,
		"authorizationEndpoint": as + "/authorize", "tokenEndpoint": as + "/token", "userInfoEndpoint": as + "/userinfo",
		"jwksEndpoint": as + "/jwks", "issuer": as, "discoveryEndpoint": as + "/.well-known/openid-configuration",
		"scopes": []string{"openid", "profile", "email"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC",
	}
}

// newIDP creates a provider in envID with the admin token and returns its id.
func newIDP(t testing.TB, s *apptest.Server, envID, name string) string {
	t.Helper()
	r := doNo5xx(t, s, apptest.Request{Method: "POST", URL: "/environments/" + envID + "/identityProviders", Token: s.AdminToken(t),
		Body: idpBody(name, uuid.NewString(), "secret-"+name)})
	if r.Status != http.StatusCreated {
		t.Fatalf("create identity provider %s: %d %s", name, r.Status, trimBody(r.Body))
	}
	return r.JSON(t)["id"].(string)
}

// openIDPSecret opens the sealed secret of a stored provider.
func openIDPSecret(t *testing.T, s *apptest.Server, envID, id string) string {
	t.Helper()
	p, err := s.Store.GetIdentityProvider(context.Background(), envID, id)
	if err != nil {
		t.Fatalf("GetIdentityProvider: %v", err)
	}
	b, err := s.Sealer.Open(p.ClientSecretSealed, "idp:"+id)
	if err != nil {
		t.Fatalf("open the client secret: %v", err)
	}
	return string(b)
}

// idpResponseKeys are the members of an OPENID_CONNECT provider, all
// optional ones set: clientSecret among them, as PingOne returns it.
var idpResponseKeys = []string{"_links", "authorizationEndpoint", "clientId", "clientSecret", "createdAt", "description", "discoveryEndpoint", "enabled",
	"environment", "icon", "id", "issuer", "jwksEndpoint", "loginButtonIcon", "name", "pkceMethod", "registration", "scopes",
	"tokenEndpoint", "tokenEndpointAuthMethod", "type", "updatedAt", "userInfoEndpoint"}

func TestIdentityProviderLifecycleAsSDK(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			testIdentityProviderLifecycle(t, newCfgAPI(t, s, "Destination"))
		})
	}
}

func testIdentityProviderLifecycle(t *testing.T, c cfgAPI) {
	ctx := context.Background()
	s := c.s
	base := s.APIPath + "/environments/" + c.env + "/identityProviders"
	source := uuid.NewString()
	const secret = "s3cr3t-of-the-source-application-0123456789abcdef"
	pop := newPop(t, s, c.env, "Federated")
	img := uuid.NewString()

	// The workflow's body, with the optional members PingOne's Terraform
	// provider sends.
	body := with(idpBody("IdentityProvider_1", source, secret),
		"registration", map[string]any{"population": map[string]any{"id": pop}},
		"icon", map[string]any{"id": img, "href": "https://uploads.example.com/" + img + ".png"},
		"loginButtonIcon", map[string]any{"id": img, "href": "https://uploads.example.com/" + img + ".png"},
		"pkceMethod", "S256")
	do := func(method, path string, body any, status int) map[string]any {
		t.Helper()
		return must(t, c.do(t, method, path, body), status)
	}

	created := do("POST", "/identityProviders", body, http.StatusCreated)
	id := checkID(t, created, "id")
	checkTime(t, created, "createdAt")
	checkTime(t, created, "updatedAt")
	as := "https://auth.pingone.com/" + source + "/as"
	wantFields(t, created, map[string]any{
		"name": "IdentityProvider_1", "description": "New Custom OpenID Connect Provider in Destination Env", "enabled": true,
		"type": "OPENID_CONNECT", "clientId": "client-" + source[:8], "clientSecret": secret, "authorizationEndpoint": as + "/authorize",
		"tokenEndpoint": as + "/token", "userInfoEndpoint": as + "/userinfo", "jwksEndpoint": as + "/jwks", "issuer": as,
		"discoveryEndpoint": as + "/.well-known/openid-configuration", "scopes": []string{"openid", "profile", "email"},
		"tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC", "pkceMethod": "S256", "registration.population.id": pop,
		"icon": body["icon"], "loginButtonIcon": body["loginButtonIcon"], "environment.id": c.env,
		"_links.self.href": base + "/" + id, "_links.environment.href": s.APIPath + "/environments/" + c.env,
		"_links.attributes.href": base + "/" + id + "/attributes",
	})
	if got := keysOf(created); !slices.Equal(got, idpResponseKeys) {
		t.Errorf("members = %v, want %v", got, idpResponseKeys)
	}
	if got := openIDPSecret(t, s, c.env, id); got != secret {
		t.Errorf("stored secret = %q, want %q", got, secret)
	}
	if got := do("GET", "/identityProviders/"+id, nil, http.StatusOK); !cfgSameJSON(got, created) {
		t.Errorf("GET differs from POST:\n%v\n%v", got, created)
	}
	items := c.list(t, "/identityProviders", "identityProviders")
	if len(items) != 1 || !cfgSameJSON(items[0], created) {
		t.Errorf("list = %v", items)
	}

	// The provider comes with PingOne's CORE mapping: username from sub.
	attrs := c.list(t, "/identityProviders/"+id+"/attributes", "attributes")
	if len(attrs) != 1 {
		t.Fatalf("mappings of a new provider: %v", attrs)
	}
	core := attrs[0]
	coreID := checkID(t, core, "id")
	checkTime(t, core, "createdAt")
	wantFields(t, core, map[string]any{"name": "username", "value": "${providerAttributes.sub}", "update": "EMPTY_ONLY",
		"mappingType": "CORE", "identityProvider.id": id, "environment.id": c.env,
		"_links.self.href": base + "/" + id + "/attributes/" + coreID, "_links.identityProvider.href": base + "/" + id})
	if got := keysOf(core); !slices.Equal(got, []string{"_links", "createdAt", "environment", "id", "identityProvider", "mappingType", "name", "update", "updatedAt", "value"}) {
		t.Errorf("mapping members = %v", got)
	}
	// ?expand=attributes embeds them, on create as on read.
	expanded := do("POST", "/identityProviders?expand=attributes", idpBody("Expanded", uuid.NewString(), "x"), http.StatusCreated)
	emb, _ := get(expanded, "_embedded.attributes").([]any)
	if len(emb) != 1 || get(emb[0].(map[string]any), "name") != "username" {
		t.Errorf("_embedded.attributes = %v", get(expanded, "_embedded"))
	}
	if got := do("GET", "/identityProviders/"+id+"?expand=attributes", nil, http.StatusOK); !cfgSameJSON(get(got, "_embedded.attributes"), attrs) {
		t.Errorf("GET ?expand=attributes: %v", get(got, "_embedded"))
	}
	if _, ok := created["_embedded"]; ok {
		t.Error("_embedded without expand")
	}

	// The smallest body takes PingOne's defaults.
	minimal := do("POST", "/identityProviders", map[string]any{"name": "Minimal", "type": "OPENID_CONNECT", "clientId": "c", "clientSecret": "s",
		"authorizationEndpoint": "https://idp.example.com/authorize", "tokenEndpoint": "https://idp.example.com/token",
		"jwksEndpoint": "https://idp.example.com/jwks", "issuer": "https://idp.example.com", "scopes": []string{"openid"},
		"tokenEndpointAuthMethod": "CLIENT_SECRET_POST"}, http.StatusCreated)
	wantFields(t, minimal, map[string]any{"enabled": false, "pkceMethod": "NONE", "description": nil, "userInfoEndpoint": nil,
		"discoveryEndpoint": nil, "registration": nil, "icon": nil, "loginButtonIcon": nil, "tokenEndpointAuthMethod": "CLIENT_SECRET_POST"})
	// A provider on this machine may use plain http.
	loop := do("POST", "/identityProviders", with(idpBody("Loopback", source, "l"), "authorizationEndpoint", s.URL+"/"+source+"/as/authorize",
		"tokenEndpoint", "http://localhost:8080/token", "jwksEndpoint", "http://[::1]:8080/jwks", "issuer", s.URL+"/"+source+"/as",
		"userInfoEndpoint", nil, "discoveryEndpoint", nil), http.StatusCreated)
	wantFields(t, loop, map[string]any{"authorizationEndpoint": s.URL + "/" + source + "/as/authorize", "jwksEndpoint": "http://[::1]:8080/jwks"})

	// Names are unique in any case; another environment may reuse one.
	c.fail(t, "POST", "/identityProviders", idpBody("identityprovider_1", source, "x"), cfgNotUnique("name"))
	c.fail(t, "PUT", "/identityProviders/"+minimal["id"].(string), cfgEcho(minimal, map[string]any{"name": "IDENTITYPROVIDER_1", "clientSecret": ""}), cfgNotUnique("name"))
	newIDP(t, s, newEnv(t, s, "Elsewhere", "SANDBOX"), "IdentityProvider_1")

	// PUT replaces. A body with clientSecret "" (a plain string in the
	// SDK's model, so a client that never read it sends it empty) keeps
	// the secret, and the answer shows the one kept.
	put := do("PUT", "/identityProviders/"+id, cfgEcho(created, map[string]any{"name": "Renamed", "clientSecret": "", "enabled": nil,
		"userInfoEndpoint": nil, "icon": nil, "pkceMethod": nil, "scopes": []string{"openid", "email"}}), http.StatusOK)
	wantFields(t, put, map[string]any{"id": id, "name": "Renamed", "enabled": false, "userInfoEndpoint": nil, "icon": nil, "pkceMethod": "NONE",
		"scopes": []string{"openid", "email"}, "loginButtonIcon": body["loginButtonIcon"], "createdAt": created["createdAt"], "clientSecret": secret})
	checkTime(t, put, "updatedAt")
	if got := openIDPSecret(t, s, c.env, id); got != secret {
		t.Errorf("secret after a PUT without one = %q, want it kept", got)
	}
	// Without the member at all, too.
	noSecret := cfgEcho(put, nil)
	delete(noSecret, "clientSecret")
	do("PUT", "/identityProviders/"+id, noSecret, http.StatusOK)
	if got := openIDPSecret(t, s, c.env, id); got != secret {
		t.Errorf("secret after a PUT without the member = %q, want it kept", got)
	}
	const rotated = "rotated-secret-9876543210"
	if got := do("PUT", "/identityProviders/"+id, cfgEcho(put, map[string]any{"clientSecret": rotated}), http.StatusOK); got["clientSecret"] != rotated {
		t.Errorf("PUT with a new secret answered clientSecret %v", got["clientSecret"])
	}
	if got := openIDPSecret(t, s, c.env, id); got != rotated {
		t.Errorf("secret after a PUT with a new one = %q, want %q", got, rotated)
	}
	if got := do("GET", "/identityProviders/"+id, nil, http.StatusOK); got["clientSecret"] != rotated {
		t.Errorf("GET after the rotation: clientSecret %v", got["clientSecret"])
	}
	// PUT does not touch the mappings.
	if got := c.list(t, "/identityProviders/"+id+"/attributes", "attributes"); !cfgSameJSON(got, attrs) {
		t.Errorf("mappings after PUT: %v", got)
	}
	for _, it := range c.list(t, "/identityProviders", "identityProviders") {
		if it["id"] == id && it["clientSecret"] != rotated {
			t.Errorf("list: clientSecret %v, want %q", it["clientSecret"], rotated)
		}
	}

	// DELETE takes the mappings and the linked accounts with it.
	userID := s.CreateUser(t, c.env, pop, "linked", "linked@example.com", "Lin", "Ked", "Correct-H0rse-Battery!")
	link := s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + c.env + "/users/" + userID + "/linkedAccounts", Token: c.tok,
		ContentType: "application/vnd.pingidentity.account.link+json", Body: map[string]any{"identityProvider": map[string]any{"id": id}, "externalId": "sub-1"}})
	must(t, link, http.StatusCreated)
	do("DELETE", "/identityProviders/"+id, nil, http.StatusNoContent)
	c.fail(t, "GET", "/identityProviders/"+id, nil, cfgNotFound)
	c.fail(t, "GET", "/identityProviders/"+id+"/attributes", nil, cfgNotFound)
	c.fail(t, "GET", "/identityProviders/"+id+"/attributes/"+coreID, nil, cfgNotFound)
	c.fail(t, "DELETE", "/identityProviders/"+id, nil, cfgNotFound)
	if _, err := s.Store.GetIdentityProviderAttribute(ctx, c.env, id, coreID); err == nil {
		t.Error("the deleted provider's mapping is still stored")
	}
	if _, err := s.Store.FindLinkedAccount(ctx, c.env, id, "sub-1"); err == nil {
		t.Error("the deleted provider's linked account is still stored")
	}
	if got := c.list(t, "/users/"+userID+"/linkedAccounts", "linkedAccounts"); len(got) != 0 {
		t.Errorf("links after the provider's delete: %v", got)
	}
	if got := cfgNames(c.list(t, "/identityProviders", "identityProviders")); !slices.Equal(got, []string{"Expanded", "Loopback", "Minimal"}) {
		t.Errorf("providers = %v", got)
	}
}

func TestIdentityProviderAttributes(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			c := newCfgAPI(t, s, "Mappings")
			other := newCfgAPI(t, s, "Other")
			id := newIDP(t, s, c.env, "Upstream")
			second := newIDP(t, s, c.env, "Second")
			foreign := newIDP(t, s, other.env, "Foreign")
			foreignAttr := other.list(t, "/identityProviders/"+foreign+"/attributes", "attributes")[0]["id"].(string)
			attrs := "/identityProviders/" + id + "/attributes"
			base := s.APIPath + "/environments/" + c.env + attrs
			core := c.list(t, attrs, "attributes")[0]

			// CRUD of a CUSTOM mapping; mappingType is the server's to set and
			// the name is matched without regard to case.
			email := c.ok(t, "POST", attrs, map[string]any{"name": "Email", "value": "${providerAttributes.email}", "update": "ALWAYS", "mappingType": "CORE"}, http.StatusCreated)
			emailID := checkID(t, email, "id")
			checkTime(t, email, "createdAt")
			wantFields(t, email, map[string]any{"name": "email", "value": "${providerAttributes.email}", "update": "ALWAYS", "mappingType": "CUSTOM",
				"identityProvider.id": id, "environment.id": c.env, "_links.self.href": base + "/" + emailID})
			if got := c.ok(t, "GET", attrs+"/"+emailID, nil, http.StatusOK); !cfgSameJSON(got, email) {
				t.Errorf("GET differs from POST: %v", got)
			}
			given := c.ok(t, "POST", attrs, map[string]any{"name": "name.given", "value": "${providerAttributes.given_name}", "update": "EMPTY_ONLY"}, http.StatusCreated)
			nested := c.ok(t, "POST", attrs, map[string]any{"name": "locale", "value": "${providerAttributes.address.locale}", "update": "EMPTY_ONLY"}, http.StatusCreated)
			c.ok(t, "POST", "/identityProviders/"+second+"/attributes", map[string]any{"name": "email", "value": "${providerAttributes.mail}", "update": "ALWAYS"}, http.StatusCreated)
			list := c.list(t, attrs, "attributes")
			var names []string
			for _, it := range list {
				names = append(names, it["name"].(string))
				if _, ok := it["identityProvider"].(map[string]any); !ok {
					t.Errorf("mapping %v has no identityProvider object", it["name"])
				}
				for _, k := range []string{"application", "resource", "schema", "integration"} {
					if _, ok := it[k]; ok {
						t.Errorf("mapping %v has %s: the SDK's oneOf would match two schemas", it["name"], k)
					}
				}
			}
			if !slices.Equal(names, []string{"email", "locale", "name.given", "username"}) {
				t.Errorf("mappings by name = %v", names)
			}
			put := c.ok(t, "PUT", attrs+"/"+given["id"].(string), cfgEcho(given, map[string]any{"name": "nickname", "value": "${providerAttributes.nickname}", "update": "ALWAYS"}), http.StatusOK)
			wantFields(t, put, map[string]any{"id": given["id"], "name": "nickname", "value": "${providerAttributes.nickname}", "update": "ALWAYS",
				"mappingType": "CUSTOM", "createdAt": given["createdAt"]})
			c.fail(t, "PUT", attrs+"/"+given["id"].(string), cfgEcho(put, map[string]any{"name": "EMAIL"}), cfgNotUnique("name"))

			// The CORE mapping: its value changes (as PingOne's Terraform
			// provider does with it), its name and update policy do not, and it
			// stays.
			cput := c.ok(t, "PUT", attrs+"/"+core["id"].(string), cfgEcho(core, map[string]any{"value": "${providerAttributes.preferred_username}"}), http.StatusOK)
			wantFields(t, cput, map[string]any{"name": "username", "value": "${providerAttributes.preferred_username}", "update": "EMPTY_ONLY", "mappingType": "CORE"})
			c.ok(t, "PUT", attrs+"/"+core["id"].(string), map[string]any{"value": "${providerAttributes.sub}"}, http.StatusOK)
			c.fail(t, "PUT", attrs+"/"+core["id"].(string), cfgEcho(core, map[string]any{"name": "email"}), cfgBadValue("name"))
			c.fail(t, "PUT", attrs+"/"+core["id"].(string), cfgEcho(core, map[string]any{"update": "ALWAYS"}), cfgBadValue("update"))
			c.fail(t, "DELETE", attrs+"/"+core["id"].(string), nil, cfgRequestFailed)

			c.ok(t, "DELETE", attrs+"/"+nested["id"].(string), nil, http.StatusNoContent)
			c.fail(t, "GET", attrs+"/"+nested["id"].(string), nil, cfgNotFound)
			c.fail(t, "DELETE", attrs+"/"+nested["id"].(string), nil, cfgNotFound)

			before := adminGet(t, s, c.url(attrs))
			cases := []struct {
				name   string
				method string
				path   string
				body   any
				want   wantErr
				check  func(t *testing.T, m map[string]any)
			}{
				{"without name", "POST", attrs, map[string]any{"value": "${providerAttributes.x}", "update": "ALWAYS"}, cfgRequired("name"), nil},
				{"without value", "POST", attrs, map[string]any{"name": "title", "update": "ALWAYS"}, cfgRequired("value"), nil},
				{"without update", "POST", attrs, map[string]any{"name": "title", "value": "${providerAttributes.title}"}, cfgRequired("update"), nil},
				{"an unknown update", "POST", attrs, map[string]any{"name": "title", "value": "${providerAttributes.title}", "update": "SOMETIMES"}, cfgBadValue("update"),
					func(t *testing.T, m map[string]any) { cfgWantAllowed(t, m, "EMPTY_ONLY", "ALWAYS") }},
				{"a reserved attribute", "POST", attrs, map[string]any{"name": "enabled", "value": "${providerAttributes.x}", "update": "ALWAYS"}, cfgBadValue("name"), nil},
				{"an unknown attribute", "POST", attrs, map[string]any{"name": "favouriteColour", "value": "${providerAttributes.x}", "update": "ALWAYS"}, cfgBadValue("name"),
					func(t *testing.T, m map[string]any) {
						// Exactly what the sign-on flow can write to a user.
						got := strList(innerOf(t, detailAt(t, m, 0))["allowedValues"])
						want := slices.Clone(identity.AttributeNames)
						slices.Sort(got)
						slices.Sort(want)
						if !slices.Equal(got, want) {
							t.Errorf("allowedValues = %v, want identity.AttributeNames %v", got, want)
						}
					}},
				{"a second username mapping", "POST", attrs, map[string]any{"name": "username", "value": "${providerAttributes.email}", "update": "ALWAYS"}, cfgNotUnique("name"), nil},
				{"a second email mapping", "POST", attrs, map[string]any{"name": "EMAIL", "value": "${providerAttributes.email}", "update": "ALWAYS"}, cfgNotUnique("name"), nil},
				{"a user expression", "POST", attrs, map[string]any{"name": "title", "value": "${user.title}", "update": "ALWAYS"}, cfgBadValue("value"), nil},
				{"a bare claim", "POST", attrs, map[string]any{"name": "title", "value": "title", "update": "ALWAYS"}, cfgBadValue("value"), nil},
				{"an empty claim path", "POST", attrs, map[string]any{"name": "title", "value": "${providerAttributes.}", "update": "ALWAYS"}, cfgBadValue("value"), nil},
				{"text around the placeholder", "POST", attrs, map[string]any{"name": "title", "value": "Dr ${providerAttributes.title}", "update": "ALWAYS"}, cfgBadValue("value"), nil},
				{"a value that is not a string", "POST", attrs, map[string]any{"name": "title", "value": 5, "update": "ALWAYS"}, wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "value"}, nil},
				{"PUT without value", "PUT", attrs + "/" + emailID, map[string]any{"name": "email", "update": "ALWAYS"}, cfgRequired("value"), nil},
				{"unknown provider", "GET", "/identityProviders/" + uuid.NewString() + "/attributes", nil, cfgNotFound, nil},
				{"POST under an unknown provider", "POST", "/identityProviders/" + uuid.NewString() + "/attributes",
					map[string]any{"name": "title", "value": "${providerAttributes.title}", "update": "ALWAYS"}, cfgNotFound, nil},
				{"another environment's provider", "GET", "/identityProviders/" + foreign + "/attributes", nil, cfgNotFound, nil},
				{"another environment's mapping under this provider", "GET", attrs + "/" + foreignAttr, nil, cfgNotFound, nil},
				{"PUT another environment's mapping", "PUT", attrs + "/" + foreignAttr, map[string]any{"value": "${providerAttributes.x}"}, cfgNotFound, nil},
				{"DELETE another environment's mapping", "DELETE", attrs + "/" + foreignAttr, nil, cfgNotFound, nil},
				{"another provider's mapping", "GET", "/identityProviders/" + second + "/attributes/" + emailID, nil, cfgNotFound, nil},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					m := c.fail(t, tc.method, tc.path, tc.body, tc.want)
					if tc.check != nil {
						tc.check(t, m)
					}
				})
			}
			if after := adminGet(t, s, c.url(attrs)); !bytes.Equal(after, before) {
				t.Errorf("refused requests changed the mappings:\n%s\n%s", before, after)
			}
			if n := len(other.list(t, "/identityProviders/"+foreign+"/attributes", "attributes")); n != 1 {
				t.Errorf("the other environment's provider has %d mappings", n)
			}
		})
	}
}

// TestIdentityProviderErrors drives the failure modes of the providers'
// endpoints through the real server on each backend.
func TestIdentityProviderErrors(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			x := newEnv(t, s, "IdP errors X", "SANDBOX")
			y := newEnv(t, s, "IdP errors Y", "SANDBOX")
			idpX := newIDP(t, s, x, "Upstream")
			idpY := newIDP(t, s, y, "Theirs")
			popY := newPop(t, s, y, "Theirs")
			list := "/environments/" + x + "/identityProviders"
			one := list + "/" + idpX
			listY := "/environments/" + y + "/identityProviders"
			unknown := uuid.NewString()
			body := func(kv ...any) map[string]any { return with(idpBody("New", unknown, "secret"), kv...) }
			badValue := func(target string) wantErr { return wantErr{400, "INVALID_DATA", "INVALID_VALUE", target} }
			required := func(target string) wantErr { return wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", target} }
			notFound := wantErr{404, "NOT_FOUND", "", ""}
			forbidden := wantErr{403, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""}
			ok := wantErr{status: http.StatusOK}
			unchanged := []string{list, one}

			configReader := s.Token(t, s.CreateWorker(t, x, "CLIENT_SECRET_BASIC", [3]string{roles.ConfigurationReadOnly.ID, roles.ScopeEnvironment, x}))
			envAdminX := s.Token(t, s.CreateWorker(t, x, "CLIENT_SECRET_BASIC", [3]string{roles.EnvironmentAdmin.ID, roles.ScopeEnvironment, x}))
			dataAdmin := s.Token(t, s.CreateWorker(t, x, "CLIENT_SECRET_BASIC", [3]string{roles.IdentityDataAdmin.ID, roles.ScopeEnvironment, x}))

			wantTargets := func(want ...string) func(t *testing.T, r *apptest.Response, m map[string]any) {
				return func(t *testing.T, r *apptest.Response, m map[string]any) {
					var got []string
					for _, d := range m["details"].([]any) {
						got = append(got, d.(map[string]any)["target"].(string))
					}
					if !slices.Equal(got, want) {
						t.Errorf("targets = %v, want %v", got, want)
					}
				}
			}
			allowed := func(want ...string) func(t *testing.T, r *apptest.Response, m map[string]any) {
				return func(t *testing.T, r *apptest.Response, m map[string]any) {
					if got := strList(innerOf(t, detailAt(t, m, 0))["allowedValues"]); !slices.Equal(got, want) {
						t.Errorf("allowedValues = %v, want %v", got, want)
					}
				}
			}

			cases := []errCase{
				// -- bodies and media types
				{name: "malformed JSON", req: apptest.Request{Method: "POST", URL: list, Body: `{"name":`}, want: wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", ""}, unchanged: unchanged},
				{name: "wrong JSON type", req: apptest.Request{Method: "POST", URL: list, Body: body("scopes", "openid")},
					want: wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "scopes"}, unchanged: unchanged},
				{name: "enabled as a string is coerced", req: apptest.Request{Method: "PUT", URL: one, Body: with(idpBody("Upstream", unknown, "s"), "enabled", "false")}, want: ok},
				{name: "text/plain body", req: apptest.Request{Method: "POST", URL: list, Body: `{}`, ContentType: "text/plain"},
					want: wantErr{415, "INVALID_REQUEST", "INVALID_VALUE", "Content-Type"}, unchanged: unchanged},
				{name: "oversized body", req: apptest.Request{Method: "POST", URL: list, Body: `{"name":"` + strings.Repeat("a", 1<<20) + `"}`},
					want: wantErr{413, "INVALID_REQUEST", "SIZE_LIMIT_EXCEEDED", ""}, unchanged: unchanged},
				{name: "NUL in the client secret", req: apptest.Request{Method: "POST", URL: list, Body: body("clientSecret", "a\x00b")},
					want: badValue("clientSecret"), unchanged: unchanged},

				// -- types
				{name: "FACEBOOK is not supported yet", req: apptest.Request{Method: "POST", URL: list, Body: map[string]any{"name": "Fb", "type": "FACEBOOK", "enabled": true}},
					want: badValue("type"), unchanged: unchanged,
					check: func(t *testing.T, r *apptest.Response, m map[string]any) {
						allowed("OPENID_CONNECT", "SAML")(t, r, m)
						if msg := detailAt(t, m, 0)["message"].(string); !strings.Contains(msg, "not supported yet") {
							t.Errorf("message = %q", msg)
						}
					}},
				{name: "GOOGLE is not supported yet", req: apptest.Request{Method: "POST", URL: list, Body: map[string]any{"name": "G", "type": "GOOGLE", "clientId": "a", "clientSecret": "b"}},
					want: badValue("type"), unchanged: unchanged, check: allowed("OPENID_CONNECT", "SAML")},
				{name: "an unknown type", req: apptest.Request{Method: "POST", URL: list, Body: body("type", "MAGIC")},
					want: badValue("type"), unchanged: unchanged, check: allowed("OPENID_CONNECT", "SAML")},
				{name: "PUT to another type", req: apptest.Request{Method: "PUT", URL: one, Body: body("type", "SAML")}, want: badValue("type"), unchanged: unchanged},

				// -- validation
				{name: "nothing", req: apptest.Request{Method: "POST", URL: list, Body: map[string]any{}}, want: required("name"), unchanged: unchanged,
					check: wantTargets("name", "type")},
				{name: "OIDC without its members", req: apptest.Request{Method: "POST", URL: list, Body: map[string]any{"name": "Bare", "type": "OPENID_CONNECT"}},
					want: required("clientId"), unchanged: unchanged,
					check: wantTargets("clientId", "clientSecret", "authorizationEndpoint", "tokenEndpoint", "jwksEndpoint", "issuer", "scopes", "tokenEndpointAuthMethod")},
				{name: "an empty client secret on create", req: apptest.Request{Method: "POST", URL: list, Body: body("clientSecret", "")},
					want: required("clientSecret"), unchanged: unchanged},
				{name: "a plain http endpoint", req: apptest.Request{Method: "POST", URL: list, Body: body("tokenEndpoint", "http://idp.example.com/token")},
					want: badValue("tokenEndpoint"), unchanged: unchanged},
				{name: "a relative endpoint", req: apptest.Request{Method: "POST", URL: list, Body: body("jwksEndpoint", "/jwks")}, want: badValue("jwksEndpoint"), unchanged: unchanged},
				{name: "an endpoint with a fragment", req: apptest.Request{Method: "POST", URL: list, Body: body("issuer", "https://idp.example.com/#x")},
					want: badValue("issuer"), unchanged: unchanged},
				{name: "a discovery endpoint of another scheme", req: apptest.Request{Method: "POST", URL: list, Body: body("discoveryEndpoint", "ftp://idp.example.com/x")},
					want: badValue("discoveryEndpoint"), unchanged: unchanged},
				{name: "scopes without openid", req: apptest.Request{Method: "POST", URL: list, Body: body("scopes", []string{"profile", "email"})},
					want: badValue("scopes"), unchanged: unchanged},
				{name: "empty scopes", req: apptest.Request{Method: "POST", URL: list, Body: body("scopes", []string{})}, want: required("scopes"), unchanged: unchanged},
				{name: "a scope with a space", req: apptest.Request{Method: "POST", URL: list, Body: body("scopes", []string{"openid", "a b"})},
					want: badValue("scopes[1]"), unchanged: unchanged},
				{name: "an unknown token endpoint auth method", req: apptest.Request{Method: "POST", URL: list, Body: body("tokenEndpointAuthMethod", "PRIVATE_KEY_JWT")},
					want: badValue("tokenEndpointAuthMethod"), unchanged: unchanged, check: allowed("CLIENT_SECRET_BASIC", "CLIENT_SECRET_POST", "NONE")},
				{name: "an unknown PKCE method", req: apptest.Request{Method: "POST", URL: list, Body: body("pkceMethod", "plain")},
					want: badValue("pkceMethod"), unchanged: unchanged, check: allowed("NONE", "S256")},
				{name: "registration into another environment's population", req: apptest.Request{Method: "POST", URL: list,
					Body: body("registration", map[string]any{"population": map[string]any{"id": popY}})}, want: badValue("registration.population.id"), unchanged: unchanged},
				{name: "registration without a population id", req: apptest.Request{Method: "POST", URL: list,
					Body: body("registration", map[string]any{"population": map[string]any{}})}, want: required("registration.population.id"), unchanged: unchanged},
				{name: "an icon without href", req: apptest.Request{Method: "POST", URL: list, Body: body("icon", map[string]any{"id": unknown})},
					want: required("icon.href"), unchanged: unchanged},
				{name: "a name too long", req: apptest.Request{Method: "POST", URL: list, Body: body("name", strings.Repeat("n", 257))},
					want: wantErr{400, "INVALID_DATA", "SIZE_LIMIT_EXCEEDED", "name"}, unchanged: unchanged},

				// -- not found and isolation
				{name: "unknown provider", req: apptest.Request{Method: "GET", URL: list + "/" + unknown}, want: notFound},
				{name: "malformed provider id", req: apptest.Request{Method: "GET", URL: list + "/not-a-uuid"}, want: notFound},
				{name: "PUT unknown provider", req: apptest.Request{Method: "PUT", URL: list + "/" + unknown, Body: body()}, want: notFound, unchanged: unchanged},
				{name: "DELETE unknown provider", req: apptest.Request{Method: "DELETE", URL: list + "/" + unknown}, want: notFound, unchanged: unchanged},
				{name: "providers of an unknown environment", req: apptest.Request{Method: "GET", URL: "/environments/" + unknown + "/identityProviders"}, want: notFound},
				{name: "GET another environment's provider", req: apptest.Request{Method: "GET", URL: list + "/" + idpY}, want: notFound},
				{name: "PUT another environment's provider", req: apptest.Request{Method: "PUT", URL: list + "/" + idpY, Body: body()},
					want: notFound, unchanged: []string{list, listY + "/" + idpY}},
				{name: "DELETE another environment's provider", req: apptest.Request{Method: "DELETE", URL: list + "/" + idpY},
					want: notFound, unchanged: []string{listY, listY + "/" + idpY}},

				// -- authorisation
				{name: "configuration reader lists", req: apptest.Request{Method: "GET", URL: list, Token: configReader}, want: ok},
				{name: "configuration reader reads", req: apptest.Request{Method: "GET", URL: one + "/attributes", Token: configReader}, want: ok},
				{name: "configuration reader creates", req: apptest.Request{Method: "POST", URL: list, Token: configReader, Body: body()}, want: forbidden, unchanged: unchanged},
				{name: "configuration reader deletes", req: apptest.Request{Method: "DELETE", URL: one, Token: configReader}, want: forbidden, unchanged: unchanged},
				{name: "configuration reader maps", req: apptest.Request{Method: "POST", URL: one + "/attributes", Token: configReader,
					Body: map[string]any{"name": "email", "value": "${providerAttributes.email}", "update": "ALWAYS"}}, want: forbidden, unchanged: []string{one + "/attributes"}},
				{name: "identity data admin reads", req: apptest.Request{Method: "GET", URL: list, Token: dataAdmin}, want: forbidden},
				{name: "environment admin of X reads Y's providers", req: apptest.Request{Method: "GET", URL: listY, Token: envAdminX}, want: forbidden},
				{name: "environment admin of X replaces", req: apptest.Request{Method: "PUT", URL: one, Token: envAdminX, Body: with(idpBody("Upstream", unknown, "s"), "enabled", false)}, want: ok},
				{name: "no token", req: apptest.Request{Method: "GET", URL: list, Token: "-"}, want: wantErr{401, "ACCESS_FAILED", "INVALID_TOKEN", ""}},
				{name: "wrong method", req: apptest.Request{Method: "PATCH", URL: one, Body: map[string]any{}}, want: wantErr{405, "METHOD_NOT_ALLOWED", "", ""}, unchanged: unchanged},
			}
			runErrCases(t, s, cases)
		})
	}
}

// TestIdentityProviderReferences: sign-on policy actions name existing
// providers only, and a provider an action names cannot be deleted.
func TestIdentityProviderReferences(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			c := newCfgAPI(t, s, "References")
			other := newCfgAPI(t, s, "Other")
			idp := newIDP(t, s, c.env, "Upstream")
			foreign := newIDP(t, s, other.env, "Foreign")
			pol := c.ok(t, "POST", "/signOnPolicies", map[string]any{"name": "Federated"}, http.StatusCreated)
			acts := "/signOnPolicies/" + pol["id"].(string) + "/actions"
			unknown := uuid.NewString()

			for _, tc := range []struct {
				name   string
				body   map[string]any
				target string
			}{
				{"unknown social provider", map[string]any{"type": "LOGIN", "priority": 1, "socialProviders": []any{map[string]any{"id": idp}, map[string]any{"id": unknown}}},
					"socialProviders[1].id"},
				{"another environment's social provider", map[string]any{"type": "LOGIN", "priority": 1, "socialProviders": []any{map[string]any{"id": foreign}}},
					"socialProviders[0].id"},
				{"unknown identity provider", map[string]any{"type": "IDENTITY_PROVIDER", "priority": 1, "identityProvider": map[string]any{"id": unknown}},
					"identityProvider.id"},
				{"unknown discovery rule provider", map[string]any{"type": "IDENTIFIER_FIRST", "priority": 1, "discoveryRules": []any{map[string]any{
					"condition": map[string]any{"contains": "${user.email}", "value": "@example.com"}, "identityProvider": map[string]any{"id": foreign}}}},
					"discoveryRules[0].identityProvider.id"},
			} {
				t.Run(tc.name, func(t *testing.T) { c.fail(t, "POST", acts, tc.body, cfgBadValue(tc.target)) })
			}
			if got := c.list(t, acts, "actions"); len(got) != 0 {
				t.Fatalf("refused actions were stored: %v", got)
			}

			// Each kind of reference holds the provider.
			for _, ref := range []map[string]any{
				{"type": "LOGIN", "priority": 1, "socialProviders": []any{map[string]any{"id": idp}}},
				{"type": "IDENTITY_PROVIDER", "priority": 1, "identityProvider": map[string]any{"id": idp}},
				{"type": "IDENTIFIER_FIRST", "priority": 1, "discoveryRules": []any{map[string]any{
					"condition": map[string]any{"contains": "${user.email}", "value": "@example.com"}, "identityProvider": map[string]any{"id": idp}}}},
			} {
				act := c.ok(t, "POST", acts, ref, http.StatusCreated)
				m := c.fail(t, "DELETE", "/identityProviders/"+idp, nil, cfgRequestFailed)
				if msg, _ := m["message"].(string); !strings.Contains(msg, "Federated") || !strings.Contains(msg, pol["id"].(string)) {
					t.Errorf("message = %q, want the policy named", msg)
				}
				c.ok(t, "GET", "/identityProviders/"+idp, nil, http.StatusOK)
				c.ok(t, "DELETE", acts+"/"+act["id"].(string), nil, http.StatusNoContent)
			}
			// Another environment's policies do not hold it.
			otherPol := other.ok(t, "POST", "/signOnPolicies", map[string]any{"name": "Theirs"}, http.StatusCreated)
			other.ok(t, "POST", "/signOnPolicies/"+otherPol["id"].(string)+"/actions",
				map[string]any{"type": "LOGIN", "priority": 1, "socialProviders": []any{map[string]any{"id": foreign}}}, http.StatusCreated)
			c.ok(t, "DELETE", "/identityProviders/"+idp, nil, http.StatusNoContent)
			other.fail(t, "DELETE", "/identityProviders/"+foreign, nil, cfgRequestFailed)
		})
	}
}

// TestIdentityProviderClientSecret: the client secret is answered in
// clear on every answer that carries a provider, as PingOne answers it,
// only to actors that may read identity providers, and stays sealed at
// rest.
func TestIdentityProviderClientSecret(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			env := newEnv(t, s, "IdP secret", "SANDBOX")
			other := newEnv(t, s, "IdP secret elsewhere", "SANDBOX")
			const secret = "secret-of-the-upstream-client-0123456789"
			list := "/environments/" + env + "/identityProviders"
			created := doNo5xx(t, s, apptest.Request{Method: "POST", URL: list, Token: s.AdminToken(t), Body: idpBody("Upstream", uuid.NewString(), secret)})
			if created.Status != http.StatusCreated || created.JSON(t)["clientSecret"] != secret {
				t.Fatalf("create: %d %s", created.Status, trimBody(created.Body))
			}
			id := created.JSON(t)["id"].(string)
			one := list + "/" + id

			// Sealed at rest: neither the secret column nor the settings
			// hold the plaintext, and the column opens to it with the
			// provider's own associated data only.
			p, err := s.Store.GetIdentityProvider(context.Background(), env, id)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.ClientSecretSealed) == 0 || bytes.Contains(p.ClientSecretSealed, []byte(secret)) || bytes.Contains(p.Data, []byte(secret)) {
				t.Errorf("the secret is stored in clear: sealed %q, data %s", p.ClientSecretSealed, p.Data)
			}
			if got := openIDPSecret(t, s, env, id); got != secret {
				t.Errorf("the sealed secret opens to %q", got)
			}
			if _, err := s.Sealer.Open(p.ClientSecretSealed, "idp:"+uuid.NewString()); err == nil {
				t.Error("the sealed secret opens for another provider")
			}

			configReader := s.Token(t, s.CreateWorker(t, env, "CLIENT_SECRET_BASIC", [3]string{roles.ConfigurationReadOnly.ID, roles.ScopeEnvironment, env}))
			developer := s.Token(t, s.CreateWorker(t, env, "CLIENT_SECRET_BASIC", [3]string{roles.ClientApplicationDeveloper.ID, roles.ScopeEnvironment, env}))
			dataAdmin := s.Token(t, s.CreateWorker(t, env, "CLIENT_SECRET_BASIC", [3]string{roles.IdentityDataAdmin.ID, roles.ScopeEnvironment, env}))
			dataReader := s.Token(t, s.CreateWorker(t, env, "CLIENT_SECRET_BASIC", [3]string{roles.IdentityDataReadOnly.ID, roles.ScopeEnvironment, env}))
			otherAdmin := s.Token(t, s.CreateWorker(t, other, "CLIENT_SECRET_BASIC", [3]string{roles.EnvironmentAdmin.ID, roles.ScopeEnvironment, other}))
			// secretOf finds the provider in a read's answer.
			secretOf := func(t *testing.T, url string, m map[string]any) any {
				if url != list {
					return m["clientSecret"]
				}
				items, _ := get(m, "_embedded.identityProviders").([]any)
				if len(items) != 1 {
					t.Fatalf("list: %v", m)
				}
				return items[0].(map[string]any)["clientSecret"]
			}
			for _, tc := range []struct {
				name  string
				token string
				// status is the answer to every read; 200 carries the secret.
				status int
			}{
				{"administrator", s.AdminToken(t), http.StatusOK},
				{"configuration reader", configReader, http.StatusOK},
				{"client application developer", developer, http.StatusOK},
				{"identity data admin", dataAdmin, http.StatusForbidden},
				{"identity data reader", dataReader, http.StatusForbidden},
				{"another environment's admin", otherAdmin, http.StatusForbidden},
			} {
				t.Run(tc.name, func(t *testing.T) {
					for _, url := range []string{one, one + "?expand=attributes", list} {
						r := doNo5xx(t, s, apptest.Request{Method: "GET", URL: url, Token: tc.token})
						if r.Status != tc.status {
							t.Fatalf("GET %s: %d, want %d: %s", url, r.Status, tc.status, trimBody(r.Body))
						}
						if tc.status != http.StatusOK {
							checkAnswer(t, r, wantErr{403, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""})
							if bytes.Contains(r.Body, []byte(secret)) {
								t.Errorf("GET %s: a refusal carries the secret: %s", url, r.Body)
							}
							continue
						}
						if got := secretOf(t, url, r.JSON(t)); got != secret {
							t.Errorf("GET %s: clientSecret %v, want %q", url, got, secret)
						}
					}
				})
			}
		})
	}
}
