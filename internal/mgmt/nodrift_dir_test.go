package mgmt_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// The no-drift cases of the directory: environments and what an
// organization holds, users and what hangs off them, identity providers
// and their mappings, keys and branding settings. Each always list is
// what PingOne's API reference shows in its responses, the non-pointer
// members of PingOne's Go SDK models and what PingOne's Terraform
// provider reads back (Optional+Computed attributes with a default).

// driftCreated is what a create answered: the body as a map.
func driftCreated(t *testing.T, r *apptest.Response) map[string]any {
	t.Helper()
	if r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, trimBody(r.Body))
	}
	return r.JSON(t)
}

// driftUser creates a user the way PingOne's Terraform provider does (the
// import media type, every profile member it knows) and returns its URL.
func driftUser(t *testing.T, s *apptest.Server, tok, envID, name string) string {
	t.Helper()
	pop := newPop(t, s, envID, "Drift "+name+" "+uuid.NewString()[:8])
	u := driftCreated(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: "/environments/" + envID + "/users", Token: tok,
		ContentType: "application/vnd.pingidentity.user.import+json", Body: map[string]any{
			"username": name, "email": name + "@example.com", "population": map[string]any{"id": pop},
			"name":     map[string]any{"given": "Drift", "family": "User", "formatted": "Drift User"},
			"nickname": "drifty", "title": "Tester", "preferredLanguage": "en", "locale": "en-GB", "timezone": "Europe/London",
			"externalId": "ext-" + name, "type": "Employee", "mobilePhone": "+44 7700 900000", "primaryPhone": "+44 20 7946 0000",
			"photo":     map[string]any{"href": "https://images.example.com/" + name + ".png"},
			"address":   map[string]any{"streetAddress": "1 Drift Road", "locality": "London", "region": "LDN", "postalCode": "N1 1AA", "countryCode": "GB"},
			"lifecycle": map[string]any{"status": "ACCOUNT_OK"}, "password": map[string]any{"value": "Gatehouse-Test-Pass-9!", "forceChange": false},
		}}))
	return "/environments/" + envID + "/users/" + u["id"].(string)
}

// userAlways is what PingOne returns of every user (its create example,
// the SDK's non-pointer email and username, the account's non-pointer
// members, and verifyStatus, which the Terraform provider defaults to
// NOT_INITIATED).
var userAlways = []string{"_links.self.href", "id", "environment.id", "account.canAuthenticate", "account.status", "createdAt", "email",
	"enabled", "identityProvider.type", "lifecycle.status", "mfaEnabled", "population.id", "updatedAt", "username", "verifyStatus"}

// raAlways is what a role assignment always carries, the actor's member
// apart.
var raAlways = []string{"_links.self.href", "id", "role.id", "scope.id", "scope.type", "environment.id", "readOnly"}

// idpAlways is what an OPENID_CONNECT provider always carries: the
// non-pointer members of the SDK's IdentityProviderOIDC (clientSecret
// among them) and the Terraform provider's defaulted pkce_method.
var idpAlways = []string{"_links.self.href", "id", "environment.id", "name", "enabled", "type", "clientId", "clientSecret",
	"authorizationEndpoint", "tokenEndpoint", "jwksEndpoint", "issuer", "scopes[]", "tokenEndpointAuthMethod", "pkceMethod",
	"createdAt", "updatedAt"}

// mappingAlways is what an identity provider attribute mapping always
// carries.
var mappingAlways = []string{"_links.self.href", "id", "environment.id", "identityProvider.id", "name", "value", "update", "mappingType",
	"createdAt", "updatedAt"}

func init() {
	registerDrift(
		driftCase{
			name: "environment",
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				e := driftCreated(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: "/environments", Token: tok, Body: map[string]any{
					"name": "Drift environment " + uuid.NewString()[:8], "description": "Drifts not", "type": "SANDBOX", "region": "EU",
					"icon": "https://images.example.com/env.png", "license": map[string]any{"id": s.LicenseID(t)},
					"billOfMaterials": map[string]any{"solutionType": "CUSTOMER", "products": []any{
						map[string]any{"type": "PING_ONE_BASE", "console": map[string]any{"href": "https://console.example.com"}},
						map[string]any{"type": "PING_ONE_MFA", "bookmarks": []any{map[string]any{"name": "Docs", "href": "https://docs.example.com"}}},
					}}}}))
				return "/environments/" + e["id"].(string)
			},
			always: []string{"_links.self.href", "id", "name", "organization.id", "type", "region", "license.id", "createdAt", "updatedAt",
				"billOfMaterials.products[].id", "billOfMaterials.products[].type", "billOfMaterials.products[].description",
				"billOfMaterials.createdAt", "billOfMaterials.updatedAt"},
		},
		driftCase{
			name: "bill of materials",
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				return "/environments/" + envID + "/billOfMaterials"
			},
			always: []string{"_links.self.href", "products[].id", "products[].type", "products[].description", "createdAt", "updatedAt"},
		},
		driftCase{
			name: "organization",
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				return "/organizations/" + s.OrganizationID(t)
			},
			always: []string{"_links.self.href", "id", "name", "type", "createdAt", "updatedAt"},
			noPut:  true,
		},
		driftCase{
			name: "license",
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				return "/organizations/" + s.OrganizationID(t) + "/licenses/" + s.LicenseID(t)
			},
			always: []string{"_links.self.href", "id", "name", "package", "status", "organization.id", "beginsAt", "assignedEnvironmentsCount",
				"environments.allowProduction", "environments.allowCustomDomain", "environments.max", "environments.regions[]"},
			noPut: true,
		},
		driftCase{
			name: "role",
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				return "/roles/" + roles.IdentityDataAdmin.ID
			},
			always: []string{"_links.self.href", "id", "name", "description", "applicableTo[]", "permissions[].id", "permissions[].classifier",
				"permissions[].description"},
			noPut: true,
		},
		driftCase{
			name: "user",
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				return driftUser(t, s, tok, envID, "drift.user")
			},
			always: userAlways,
		},
		driftCase{
			name: "user enabled",
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				return driftUser(t, s, tok, envID, "drift.enabled") + "/enabled"
			},
			always: []string{"_links.self.href", "_links.user.href", "enabled"},
		},
		driftCase{
			name: "user population",
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				return driftUser(t, s, tok, envID, "drift.population") + "/population"
			},
			always: []string{"_links.self.href", "_links.user.href", "id"},
		},
		driftCase{
			name: "user mfaEnabled",
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				return driftUser(t, s, tok, envID, "drift.mfa") + "/mfaEnabled"
			},
			always: []string{"_links.self.href", "_links.user.href", "mfaEnabled"},
		},
		driftCase{
			name: "user password",
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				return driftUser(t, s, tok, envID, "drift.password") + "/password"
			},
			// PingOne's password-set example: the policy, the status and,
			// once a password is set, when it changed.
			always: []string{"_links.self.href", "environment.id", "user.id", "passwordPolicy.id", "status", "lastChangedAt"},
			noPut:  true,
		},
		driftCase{
			name: "user role assignment",
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				u := driftUser(t, s, tok, envID, "drift.roles")
				ra := driftCreated(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: u + "/roleAssignments", Token: tok,
					Body: map[string]any{"role": map[string]any{"id": roles.IdentityDataReadOnly.ID},
						"scope": map[string]any{"id": envID, "type": roles.ScopeEnvironment}}}))
				return u + "/roleAssignments/" + ra["id"].(string)
			},
			always: append([]string{"user.id"}, raAlways...),
			noPut:  true,
		},
		driftCase{
			name: "application role assignment",
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				app := appCreate(t, s, tok, envID, appWorkerBody("Drift worker"))
				url := appsPath(envID) + "/" + app["id"].(string) + "/roleAssignments"
				ra := driftCreated(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: url, Token: tok,
					Body: map[string]any{"role": map[string]any{"id": roles.ConfigurationReadOnly.ID},
						"scope": map[string]any{"id": envID, "type": roles.ScopeEnvironment}}}))
				return url + "/" + ra["id"].(string)
			},
			always: append([]string{"application.id"}, raAlways...),
			noPut:  true,
		},
		driftCase{
			name: "linked account",
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				u := driftUser(t, s, tok, envID, "drift.linked")
				idp := newIDP(t, s, envID, "Drift link "+uuid.NewString()[:8])
				l := driftCreated(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: u + "/linkedAccounts", Token: tok,
					ContentType: "application/vnd.pingidentity.account.link+json",
					Body:        map[string]any{"identityProvider": map[string]any{"id": idp}, "externalId": "drift-sub"}}))
				return u + "/linkedAccounts/" + l["id"].(string)
			},
			always: []string{"_links.self.href", "id", "environment.id", "user.id", "identityProvider.id", "externalId", "createdAt", "updatedAt"},
			noPut:  true,
		},
		driftCase{
			name: "identity provider (OPENID_CONNECT)",
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				pop := newPop(t, s, envID, "Drift federated")
				img := uuid.NewString()
				body := with(idpBody("Drift OIDC", uuid.NewString(), "drift-secret-0123456789"),
					"registration", map[string]any{"population": map[string]any{"id": pop}},
					"icon", map[string]any{"id": img, "href": "https://uploads.example.com/" + img + ".png"},
					"loginButtonIcon", map[string]any{"id": img, "href": "https://uploads.example.com/" + img + ".png"},
					"pkceMethod", "S256")
				p := driftCreated(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: "/environments/" + envID + "/identityProviders", Token: tok, Body: body}))
				return "/environments/" + envID + "/identityProviders/" + p["id"].(string)
			},
			always: idpAlways,
		},
		driftCase{
			name: "identity provider CORE attribute mapping",
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				attrs := "/environments/" + envID + "/identityProviders/" + newIDP(t, s, envID, "Drift core "+uuid.NewString()[:8]) + "/attributes"
				_, _, ids := listIDs(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: attrs, Token: tok}), "attributes")
				if len(ids) != 1 {
					t.Fatalf("a new provider's mappings: %v", ids)
				}
				return attrs + "/" + ids[0]
			},
			always: mappingAlways,
		},
		driftCase{
			name: "identity provider CUSTOM attribute mapping",
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				attrs := "/environments/" + envID + "/identityProviders/" + newIDP(t, s, envID, "Drift custom "+uuid.NewString()[:8]) + "/attributes"
				m := driftCreated(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: attrs, Token: tok,
					Body: map[string]any{"name": "email", "value": "${providerAttributes.email}", "update": "ALWAYS"}}))
				return attrs + "/" + m["id"].(string)
			},
			always: mappingAlways,
		},
		driftCase{
			name: "key",
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				k := driftCreated(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: "/environments/" + envID + "/keys", Token: tok, Body: map[string]any{
					"name": "Drift key", "algorithm": "EC", "keyLength": 256, "signatureAlgorithm": "SHA256withECDSA",
					"subjectDN": "CN=Drift, O=Gatehouse, C=GB", "usageType": "SIGNING", "validityPeriod": 30}}))
				return "/environments/" + envID + "/keys/" + k["id"].(string)
			},
			// The SDK's Certificate: its non-pointer members and everything
			// PingOne's Terraform provider reads back as computed.
			always: []string{"_links.self.href", "id", "environment.id", "organization.id", "name", "algorithm", "keyLength", "signatureAlgorithm",
				"subjectDN", "issuerDN", "usageType", "default", "serialNumber", "validityPeriod", "status", "startsAt", "expiresAt", "createdAt"},
		},
		driftCase{
			name: "branding settings",
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				url := brandingURL(envID)
				r := doNo5xx(t, s, apptest.Request{Method: "PUT", URL: url, Token: tok, Body: map[string]any{"companyName": "Drift Ltd",
					"logo": map[string]any{"href": "https://uploads.example.com/logo.png", "id": uuid.NewString()}}})
				if r.Status != http.StatusOK {
					t.Fatalf("PUT branding settings: %d %s", r.Status, trimBody(r.Body))
				}
				return url
			},
			always: []string{"_links.self.href", "id", "environment.id", "companyName", "logo.href", "logo.id"},
		},
		driftCase{
			// An environment whose branding was never set: PingOne's
			// Terraform provider defaults company_name to "" and reads it
			// back.
			name: "branding settings never set",
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				return brandingURL(newEnv(t, s, "Drift unbranded "+uuid.NewString()[:8], "SANDBOX"))
			},
			always: []string{"_links.self.href", "id", "environment.id", "companyName"},
		},
	)
}

// TestNoDriftUserPatch: a PATCH of exactly what a GET of a user returned
// (a merge patch naming every member) changes nothing but updatedAt, and
// answers what the next GET shows.
func TestNoDriftUserPatch(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			tok := s.AdminToken(t)
			url := driftUser(t, s, tok, newEnv(t, s, "No drift patch", "SANDBOX"), "drift.patch")
			first := driftGet(t, s, tok, url)
			r := doNo5xx(t, s, apptest.Request{Method: http.MethodPatch, URL: url, Token: tok, Body: first})
			if r.Status != http.StatusOK {
				t.Fatalf("PATCH of what GET returned: %d %s", r.Status, trimBody(r.Body))
			}
			if d := driftDiff(t, first, r.Body, []string{"updatedAt"}); d != "" {
				t.Errorf("the PATCH answered something else than what was sent: %s", d)
			}
			after := driftGet(t, s, tok, url)
			if d := driftDiff(t, first, after, []string{"updatedAt"}); d != "" {
				t.Errorf("a PATCH of what GET returned changed the user: %s", d)
			}
			if !bytes.Equal(r.Body, after) {
				t.Errorf("the PATCH's answer and the next GET differ:\n%s\n%s", r.Body, after)
			}
		})
	}
}

// TestNoDriftStoredRowDefaults: rows written before these members were
// always answered read back with them: an environment stored without its
// bill of materials, a license without its entitlements, branding settings
// without a company name.
func TestNoDriftStoredRowDefaults(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			tok := s.AdminToken(t)
			envID := newEnv(t, s, "Old rows", "SANDBOX")
			e, err := s.Store.GetEnvironment(ctx, envID)
			if err != nil {
				t.Fatal(err)
			}
			e.Data = json.RawMessage(`{"branding":{"primaryColor":"#123456"}}`)
			if err := s.Store.UpdateEnvironment(ctx, e); err != nil {
				t.Fatal(err)
			}
			created, updated := e.CreatedAt.UTC().Format(wire.TimeFormat), e.UpdatedAt.UTC().Format(wire.TimeFormat)
			env := apptest.Request{Method: http.MethodGet, URL: "/environments/" + envID, Token: tok}
			wantFields(t, doNo5xx(t, s, env).JSON(t), map[string]any{"billOfMaterials": map[string]any{"products": []any{},
				"createdAt": created, "updatedAt": updated}})
			env.URL += "/billOfMaterials"
			wantFields(t, doNo5xx(t, s, env).JSON(t), map[string]any{"products": []any{}, "createdAt": created, "updatedAt": updated})
			wantFields(t, doNo5xx(t, s, apptest.Request{Method: http.MethodGet, URL: brandingURL(envID), Token: tok}).JSON(t),
				map[string]any{"companyName": "", "primaryColor": "#123456", "logo": nil})

			org, bootstrap := s.OrganizationID(t), s.LicenseID(t)
			lic := &store.License{ID: uuid.NewString(), OrganizationID: org, Name: "Bare", Package: "TRIAL", Status: "ACTIVE",
				CreatedAt: store.Now(), UpdatedAt: store.Now()}
			if err := s.Store.CreateLicense(ctx, lic); err != nil {
				t.Fatal(err)
			}
			wantFields(t, doNo5xx(t, s, apptest.Request{Method: http.MethodGet, URL: "/organizations/" + org + "/licenses/" + lic.ID, Token: tok}).JSON(t),
				map[string]any{"assignedEnvironmentsCount": 0, "environments": map[string]any{"allowProduction": false, "allowCustomDomain": false,
					"max": 0, "regions": []any{}}})
			// The bootstrap license holds the administrators' environment and
			// the one made here.
			wantFields(t, doNo5xx(t, s, apptest.Request{Method: http.MethodGet, URL: "/organizations/" + org + "/licenses/" + bootstrap, Token: tok}).JSON(t),
				map[string]any{"assignedEnvironmentsCount": 2})
		})
	}
}
