package mgmt_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// No-drift cases of applications (every OIDC type Gatehouse serves), their
// secret, resource grants and sign-on policy assignments; resources, their
// scopes and attributes (custom and built in); sign-on policies and every
// action type; password policies (custom and PingOne's three).
//
// Where the always lists come from: PingOne's example responses of a
// WEB_APP and a NATIVE_APP create (testdata/applications.oidc*.json) and of
// the password policies list; the non-pointer fields of PingOne's Go SDK
// models (ApplicationOIDC, ApplicationResourceGrant, SignOnPolicyAssignment,
// Resource, ResourceScope, ResourceAttribute, SignOnPolicy, the action
// models, PasswordPolicy); and the attributes PingOne's Terraform provider
// declares Optional+Computed with a default (pingone_application's
// oidc_options, pingone_resource, pingone_password_policy,
// pingone_sign_on_policy_action), which PingOne fills in.

// driftCreate POSTs body to url (a path under /v1) and returns the answer.
func driftCreate(t *testing.T, s *apptest.Server, tok, url string, body any) map[string]any {
	t.Helper()
	r := doNo5xx(t, s, apptest.Request{Method: http.MethodPost, URL: url, Token: tok, Body: body})
	if r.Status != http.StatusCreated {
		t.Fatalf("POST %s: %d %s", url, r.Status, trimBody(r.Body))
	}
	return r.JSON(t)
}

// driftNamed returns the id of the item of a list named name.
func driftNamed(t *testing.T, s *apptest.Server, tok, url, collection, name string) string {
	t.Helper()
	r := doNo5xx(t, s, apptest.Request{Method: http.MethodGet, URL: url, Token: tok})
	if r.Status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, r.Status, trimBody(r.Body))
	}
	var l struct {
		Embedded map[string][]struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"_embedded"`
	}
	r.Decode(t, &l)
	for _, it := range l.Embedded[collection] {
		if it.Name == name {
			return it.ID
		}
	}
	t.Fatalf("%s has no %q", url, name)
	return ""
}

// appAlways is what PingOne returns of every OIDC application: the SDK's
// non-pointer fields, the members of PingOne's example responses, and the
// oidc_options the Terraform provider defaults (booleans false, PAR,
// device and PKCE defaults).
var appAlways = []string{
	"_links.self.href", "environment.id", "id", "name", "enabled", "type", "protocol", "createdAt", "updatedAt",
	"clientId", "tokenEndpointAuthMethod", "hiddenFromAppPortal", "assignActorRoles", "grantTypes[]",
	"idpSignoff", "additionalRefreshTokenReplayProtectionEnabled", "requestScopesForMultipleResourcesEnabled",
	"pkceEnforcement", "parRequirement", "parTimeout", "deviceTimeout", "devicePollingInterval",
	"allowWildcardInRedirectUris", "includeX5t", "opSessionCheckEnabled",
	"requireSignedRequestObject", "supportUnsignedRequestObject",
}

// refreshAlways: an application with refresh tokens has their lifetimes.
var refreshAlways = []string{"refreshTokenDuration", "refreshTokenRollingDuration"}

// mobileAlways: PingOne gives every NATIVE_APP its mobile settings.
var mobileAlways = []string{"mobile.integrityDetection.mode", "mobile.passcodeRefreshDuration.duration",
	"mobile.passcodeRefreshDuration.timeUnit", "mobile.passcodeGracePeriod"}

func driftApp(body map[string]any) func(*testing.T, *apptest.Server, string, string) string {
	return func(t *testing.T, s *apptest.Server, tok, envID string) string {
		return appsPath(envID) + "/" + driftCreate(t, s, tok, appsPath(envID), body)["id"].(string)
	}
}

func joinPaths(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

func oidcApp(name, typ, method string, grants []string, more ...any) map[string]any {
	body := map[string]any{"name": name, "enabled": true, "protocol": "OPENID_CONNECT", "type": typ,
		"grantTypes": grants, "tokenEndpointAuthMethod": method}
	return with(body, more...)
}

// driftResource makes a custom resource with one scope and returns their ids.
func driftResource(t *testing.T, s *apptest.Server, tok, envID, name string) (resID, scopeID string) {
	t.Helper()
	res := driftCreate(t, s, tok, "/environments/"+envID+"/resources", map[string]any{"name": name})
	resID = res["id"].(string)
	sc := driftCreate(t, s, tok, "/environments/"+envID+"/resources/"+resID+"/scopes", map[string]any{"name": "read:" + name})
	return resID, sc["id"].(string)
}

// builtinResource returns the URL of a built-in resource of envID.
func builtinResource(t *testing.T, s *apptest.Server, tok, envID, name string) string {
	t.Helper()
	base := "/environments/" + envID + "/resources"
	return base + "/" + driftNamed(t, s, tok, base, "resources", name)
}

func resourceScope(name, scope string) func(*testing.T, *apptest.Server, string, string) string {
	return func(t *testing.T, s *apptest.Server, tok, envID string) string {
		res := builtinResource(t, s, tok, envID, name)
		return res + "/scopes/" + driftNamed(t, s, tok, res+"/scopes", "scopes", scope)
	}
}

func resourceAttr(name, attr string) func(*testing.T, *apptest.Server, string, string) string {
	return func(t *testing.T, s *apptest.Server, tok, envID string) string {
		res := builtinResource(t, s, tok, envID, name)
		return res + "/attributes/" + driftNamed(t, s, tok, res+"/attributes", "attributes", attr)
	}
}

// driftPolicy makes a sign-on policy and returns its actions URL.
func driftPolicy(t *testing.T, s *apptest.Server, tok, envID, name string) string {
	t.Helper()
	base := "/environments/" + envID + "/signOnPolicies"
	return base + "/" + driftCreate(t, s, tok, base, map[string]any{"name": name})["id"].(string) + "/actions"
}

// driftAction makes a policy holding one action built by body (given the
// environment) and returns the action's URL.
func driftAction(policy string, body func(t *testing.T, s *apptest.Server, envID string) map[string]any) func(*testing.T, *apptest.Server, string, string) string {
	return func(t *testing.T, s *apptest.Server, tok, envID string) string {
		acts := driftPolicy(t, s, tok, envID, policy)
		return acts + "/" + driftCreate(t, s, tok, acts, body(t, s, envID))["id"].(string)
	}
}

// predefinedAction returns the URL of the action of type typ of a policy
// every environment has.
func predefinedAction(policy, typ string) func(*testing.T, *apptest.Server, string, string) string {
	return func(t *testing.T, s *apptest.Server, tok, envID string) string {
		base := "/environments/" + envID + "/signOnPolicies"
		acts := base + "/" + driftNamed(t, s, tok, base, "signOnPolicies", policy) + "/actions"
		r := doNo5xx(t, s, apptest.Request{Method: http.MethodGet, URL: acts, Token: tok})
		var l struct {
			Embedded struct {
				Actions []struct{ ID, Type string } `json:"actions"`
			} `json:"_embedded"`
		}
		r.Decode(t, &l)
		for _, a := range l.Embedded.Actions {
			if a.Type == typ {
				return acts + "/" + a.ID
			}
		}
		t.Fatalf("%s has no %s action", policy, typ)
		return ""
	}
}

var (
	actionAlways       = []string{"_links.self.href", "id", "environment.id", "signOnPolicy.id", "type", "priority"}
	registrationAlways = []string{"registration.enabled", "registration.confirmIdentityProviderAttributes"}
	loginAlways        = joinPaths(actionAlways, registrationAlways, []string{"recovery.enabled", "enforceLockoutForIdentityProviders"})
	passwordAlways     = []string{"_links.self.href", "id", "environment.id", "name", "excludesProfileData", "notSimilarToCurrent",
		"excludesCommonlyUsed", "default", "populationCount", "createdAt", "updatedAt"}
	resourceAlways = []string{"_links.self.href", "id", "environment.id", "name", "type", "audience", "accessTokenValiditySeconds",
		"introspectEndpointAuthMethod", "applicationPermissionsSettings.claimEnabled", "createdAt", "updatedAt"}
	scopeAlways = []string{"_links.self.href", "id", "environment.id", "resource.id", "name", "createdAt", "updatedAt"}
	attrAlways  = []string{"_links.self.href", "id", "environment.id", "resource.id", "name", "value", "type", "createdAt", "updatedAt"}
)

func passwordPolicy(name string) func(*testing.T, *apptest.Server, string, string) string {
	return func(t *testing.T, s *apptest.Server, tok, envID string) string {
		base := "/environments/" + envID + "/passwordPolicies"
		return base + "/" + driftNamed(t, s, tok, base, "passwordPolicies", name)
	}
}

func init() {
	redirect := []string{"https://app.example.com/callback"}
	registerDrift(
		driftCase{name: "application WEB_APP", always: joinPaths(appAlways, refreshAlways, []string{"responseTypes[]", "redirectUris[]", "_links.secret.href"}),
			create: driftApp(oidcApp("Drift web", "WEB_APP", "CLIENT_SECRET_BASIC", []string{"AUTHORIZATION_CODE", "REFRESH_TOKEN"},
				"responseTypes", []string{"CODE"}, "redirectUris", redirect))},
		driftCase{name: "application NATIVE_APP", always: joinPaths(appAlways, mobileAlways, []string{"responseTypes[]", "redirectUris[]"}),
			create: driftApp(oidcApp("Drift native", "NATIVE_APP", "NONE", []string{"AUTHORIZATION_CODE"},
				"responseTypes", []string{"CODE"}, "redirectUris", []string{"com.example.app:/callback"}, "pkceEnforcement", "S256_REQUIRED"))},
		driftCase{name: "application NATIVE_APP with mobile settings", always: joinPaths(appAlways, mobileAlways, []string{"mobile.bundleId"}),
			create: driftApp(oidcApp("Drift native mobile", "NATIVE_APP", "NONE", []string{"AUTHORIZATION_CODE"},
				"responseTypes", []string{"CODE"}, "redirectUris", []string{"com.example.app:/callback"},
				"mobile", map[string]any{"bundleId": "com.example.app"}))},
		driftCase{name: "application SINGLE_PAGE_APP", always: joinPaths(appAlways, []string{"responseTypes[]", "redirectUris[]"}),
			create: driftApp(oidcApp("Drift spa", "SINGLE_PAGE_APP", "NONE", []string{"AUTHORIZATION_CODE"},
				"responseTypes", []string{"CODE"}, "redirectUris", redirect))},
		driftCase{name: "application WORKER", always: joinPaths(appAlways, []string{"_links.secret.href"}),
			create: driftApp(oidcApp("Drift worker", "WORKER", "CLIENT_SECRET_BASIC", []string{"CLIENT_CREDENTIALS"}, "assignActorRoles", false))},
		driftCase{name: "application SERVICE", always: joinPaths(appAlways, []string{"_links.secret.href"}),
			create: driftApp(oidcApp("Drift service", "SERVICE", "CLIENT_SECRET_POST", []string{"CLIENT_CREDENTIALS"}))},
		driftCase{name: "application CUSTOM_APP", always: joinPaths(appAlways, refreshAlways),
			create: driftApp(oidcApp("Drift custom", "CUSTOM_APP", "NONE", []string{"DEVICE_CODE", "REFRESH_TOKEN"}))},

		driftCase{name: "application secret", noPut: true, always: []string{"_links.self.href", "environment.id", "secret"},
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				app := driftCreate(t, s, tok, appsPath(envID), oidcApp("Drift secret", "SERVICE", "CLIENT_SECRET_BASIC", []string{"CLIENT_CREDENTIALS"}))
				return appsPath(envID) + "/" + app["id"].(string) + "/secret"
			}},
		driftCase{name: "application secret with previous", noPut: true,
			always: []string{"_links.self.href", "environment.id", "secret", "previous.secret", "previous.expiresAt"},
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				app := driftCreate(t, s, tok, appsPath(envID), oidcApp("Drift rotated", "SERVICE", "CLIENT_SECRET_BASIC", []string{"CLIENT_CREDENTIALS"}))
				url := appsPath(envID) + "/" + app["id"].(string) + "/secret"
				until := time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05.000Z")
				r := doNo5xx(t, s, apptest.Request{Method: http.MethodPost, URL: url, Token: tok, Body: map[string]any{"previous": map[string]any{"expiresAt": until}}})
				if r.Status != http.StatusOK {
					t.Fatalf("rotate: %d %s", r.Status, trimBody(r.Body))
				}
				return url
			}},
		driftCase{name: "application resource grant",
			always: []string{"_links.self.href", "id", "environment.id", "application.id", "resource.id", "scopes[].id", "createdAt", "updatedAt"},
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				resID, scopeID := driftResource(t, s, tok, envID, "drift-grant")
				app := driftCreate(t, s, tok, appsPath(envID), oidcApp("Drift granted", "SERVICE", "CLIENT_SECRET_BASIC", []string{"CLIENT_CREDENTIALS"}))
				grants := appsPath(envID) + "/" + app["id"].(string) + "/grants"
				g := driftCreate(t, s, tok, grants, map[string]any{"resource": map[string]any{"id": resID}, "scopes": []any{map[string]any{"id": scopeID}}})
				return grants + "/" + g["id"].(string)
			}},
		driftCase{name: "application sign-on policy assignment",
			always: []string{"_links.self.href", "id", "environment.id", "application.id", "signOnPolicy.id", "priority"},
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				pol := driftNamed(t, s, tok, "/environments/"+envID+"/signOnPolicies", "signOnPolicies", "Single_Factor")
				app := driftCreate(t, s, tok, appsPath(envID), oidcApp("Drift assigned", "WEB_APP", "CLIENT_SECRET_BASIC", []string{"AUTHORIZATION_CODE"},
					"responseTypes", []string{"CODE"}, "redirectUris", redirect))
				sopas := appsPath(envID) + "/" + app["id"].(string) + "/signOnPolicyAssignments"
				a := driftCreate(t, s, tok, sopas, map[string]any{"priority": 1, "signOnPolicy": map[string]any{"id": pol}})
				return sopas + "/" + a["id"].(string)
			}},
	)

	registerDrift(
		driftCase{name: "resource CUSTOM", always: resourceAlways,
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				resID, _ := driftResource(t, s, tok, envID, "drift-custom")
				return "/environments/" + envID + "/resources/" + resID
			}},
		driftCase{name: "resource OPENID_CONNECT", always: resourceAlways,
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				return builtinResource(t, s, tok, envID, "openid")
			}},
		driftCase{name: "resource PINGONE_API", always: resourceAlways,
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				return builtinResource(t, s, tok, envID, "PingOne API")
			}},
		driftCase{name: "scope of a custom resource", always: joinPaths(scopeAlways, []string{"description"}),
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				resID, _ := driftResource(t, s, tok, envID, "drift-scoped")
				scopes := "/environments/" + envID + "/resources/" + resID + "/scopes"
				return scopes + "/" + driftCreate(t, s, tok, scopes, map[string]any{"name": "write:drift", "description": "Write"})["id"].(string)
			}},
		driftCase{name: "scope openid predefined", always: joinPaths(scopeAlways, []string{"description"}), create: resourceScope("openid", "profile")},
		driftCase{name: "scope openid custom with mapped claims", always: joinPaths(scopeAlways, []string{"mappedClaims[]"}),
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				res := builtinResource(t, s, tok, envID, "openid")
				attr := driftCreate(t, s, tok, res+"/attributes", map[string]any{"name": "drift_claim", "value": "${user.nickname}"})
				sc := driftCreate(t, s, tok, res+"/scopes", map[string]any{"name": "drift", "mappedClaims": []string{attr["id"].(string)}})
				return res + "/scopes/" + sc["id"].(string)
			}},
		driftCase{name: "scope PingOne API user scope", always: joinPaths(scopeAlways, []string{"description", "schemaAttributes[]"}),
			create: resourceScope("PingOne API", "p1:read:user")},
		driftCase{name: "scope PingOne API predefined", always: joinPaths(scopeAlways, []string{"description"}),
			create: resourceScope("PingOne API", "p1:read:userPassword")},
		driftCase{name: "scope PingOne API custom", always: joinPaths(scopeAlways, []string{"schemaAttributes[]"}),
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				res := builtinResource(t, s, tok, envID, "PingOne API")
				sc := driftCreate(t, s, tok, res+"/scopes", map[string]any{"name": "p1:read:user:drift", "schemaAttributes": []string{"name.given"}})
				return res + "/scopes/" + sc["id"].(string)
			}},
		driftCase{name: "attribute CORE of a custom resource", always: attrAlways,
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				resID, _ := driftResource(t, s, tok, envID, "drift-core")
				attrs := "/environments/" + envID + "/resources/" + resID + "/attributes"
				return attrs + "/" + driftNamed(t, s, tok, attrs, "attributes", "sub")
			}},
		driftCase{name: "attribute CUSTOM of a custom resource", always: attrAlways,
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				resID, _ := driftResource(t, s, tok, envID, "drift-attrs")
				attrs := "/environments/" + envID + "/resources/" + resID + "/attributes"
				return attrs + "/" + driftCreate(t, s, tok, attrs, map[string]any{"name": "email", "value": "${user.email}"})["id"].(string)
			}},
		driftCase{name: "attribute openid PREDEFINED", always: joinPaths(attrAlways, []string{"idToken", "userInfo"}), create: resourceAttr("openid", "email")},
		driftCase{name: "attribute openid PREDEFINED mapping nothing", always: joinPaths(attrAlways, []string{"idToken", "userInfo"}),
			create: resourceAttr("openid", "birthdate")},
		driftCase{name: "attribute openid CUSTOM", always: joinPaths(attrAlways, []string{"idToken", "userInfo"}),
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				res := builtinResource(t, s, tok, envID, "openid")
				return res + "/attributes/" + driftCreate(t, s, tok, res+"/attributes",
					map[string]any{"name": "drift_attr", "value": "${user.title}", "idToken": false})["id"].(string)
			}},
	)

	registerDrift(
		driftCase{name: "sign-on policy", always: []string{"_links.self.href", "id", "environment.id", "name", "default", "createdAt", "updatedAt"},
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				base := "/environments/" + envID + "/signOnPolicies"
				return base + "/" + driftCreate(t, s, tok, base, map[string]any{"name": "Drift_policy"})["id"].(string)
			}},
		driftCase{name: "sign-on policy Single_Factor", always: []string{"_links.self.href", "id", "environment.id", "name", "description", "default", "createdAt", "updatedAt"},
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				base := "/environments/" + envID + "/signOnPolicies"
				return base + "/" + driftNamed(t, s, tok, base, "signOnPolicies", "Single_Factor")
			}},
		driftCase{name: "action LOGIN", always: loginAlways,
			create: driftAction("Drift_login", func(*testing.T, *apptest.Server, string) map[string]any {
				return map[string]any{"type": "LOGIN", "priority": 1}
			})},
		driftCase{name: "action LOGIN with registration, providers and a condition",
			always: joinPaths(loginAlways, []string{"registration.population.id", "socialProviders[].id", "condition.secondsSince", "condition.greater"}),
			create: driftAction("Drift_login_full", func(t *testing.T, s *apptest.Server, envID string) map[string]any {
				return map[string]any{"type": "LOGIN", "priority": 1, "recovery": map[string]any{"enabled": false},
					"registration":    map[string]any{"enabled": true, "population": map[string]any{"id": newPop(t, s, envID, "Drift registrants")}},
					"socialProviders": []any{map[string]any{"id": newIDP(t, s, envID, "Drift social")}}, "enforceLockoutForIdentityProviders": true,
					"condition": map[string]any{"secondsSince": "${session.lastSignOn.withAuthenticator.pwd.at}", "greater": 600}}
			})},
		driftCase{name: "action IDENTIFIER_FIRST", always: joinPaths(loginAlways, []string{"discoveryRules[].condition.contains",
			"discoveryRules[].condition.value", "discoveryRules[].identityProvider.id"}),
			create: driftAction("Drift_idfirst", func(t *testing.T, s *apptest.Server, envID string) map[string]any {
				return map[string]any{"type": "IDENTIFIER_FIRST", "priority": 1, "discoveryRules": []any{map[string]any{
					"condition":        map[string]any{"contains": "@example.com", "value": "${identifier}"},
					"identityProvider": map[string]any{"id": newIDP(t, s, envID, "Drift discovered")}}}}
			})},
		driftCase{name: "action IDENTITY_PROVIDER", always: joinPaths(actionAlways, registrationAlways, []string{"identityProvider.id", "passUserContext"}),
			create: driftAction("Drift_idp", func(t *testing.T, s *apptest.Server, envID string) map[string]any {
				return map[string]any{"type": "IDENTITY_PROVIDER", "priority": 1, "identityProvider": map[string]any{"id": newIDP(t, s, envID, "Drift upstream")}}
			})},
		driftCase{name: "action MULTI_FACTOR_AUTHENTICATION", always: joinPaths(actionAlways, []string{"noDevicesMode", "deviceAuthenticationPolicy.id"}),
			create: driftAction("Drift_mfa", func(t *testing.T, s *apptest.Server, envID string) map[string]any {
				dap := driftNamed(t, s, s.AdminToken(t), "/environments/"+envID+"/deviceAuthenticationPolicies", "deviceAuthenticationPolicies", "Default MFA Policy")
				return map[string]any{"type": "MULTI_FACTOR_AUTHENTICATION", "priority": 2, "deviceAuthenticationPolicy": map[string]any{"id": dap}}
			})},
		driftCase{name: "action PROGRESSIVE_PROFILING", always: joinPaths(actionAlways, []string{"attributes[].name", "attributes[].required",
			"preventMultiplePromptsPerFlow", "promptIntervalSeconds", "promptText"}),
			create: driftAction("Drift_profiling", func(*testing.T, *apptest.Server, string) map[string]any {
				return map[string]any{"type": "PROGRESSIVE_PROFILING", "priority": 2, "attributes": []any{map[string]any{"name": "name.given", "required": false}},
					"preventMultiplePromptsPerFlow": true, "promptIntervalSeconds": 7776000, "promptText": "Tell us more"}
			})},
		driftCase{name: "action AGREEMENT", always: joinPaths(actionAlways, []string{"agreement.id", "disableDeclineOption"}),
			create: driftAction("Drift_agreement", func(t *testing.T, s *apptest.Server, envID string) map[string]any {
				return map[string]any{"type": "AGREEMENT", "priority": 2, "agreement": map[string]any{"id": actionAgreement(t, s, envID)}}
			})},
		driftCase{name: "action LOGIN of Single_Factor", always: loginAlways, create: predefinedAction("Single_Factor", "LOGIN")},
		driftCase{name: "action MULTI_FACTOR_AUTHENTICATION of Multi_Factor", always: joinPaths(actionAlways, []string{"noDevicesMode", "deviceAuthenticationPolicy.id"}),
			create: predefinedAction("Multi_Factor", "MULTI_FACTOR_AUTHENTICATION")},
	)

	registerDrift(
		driftCase{name: "password policy", always: passwordAlways,
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				base := "/environments/" + envID + "/passwordPolicies"
				return base + "/" + driftCreate(t, s, tok, base, map[string]any{"name": "Drift passwords",
					"excludesProfileData": false, "notSimilarToCurrent": false, "excludesCommonlyUsed": true})["id"].(string)
			}},
		driftCase{name: "password policy Standard", create: passwordPolicy("Standard"), always: joinPaths(passwordAlways, []string{"description",
			"maxAgeDays", "minAgeDays", "maxRepeatedCharacters", "minUniqueCharacters", "history.count", "history.retentionDays",
			"lockout.failureCount", "lockout.durationSeconds", "length.min", "length.max", "minCharacters.0123456789"})},
		driftCase{name: "password policy Basic", create: passwordPolicy("Basic"), always: joinPaths(passwordAlways, []string{"description",
			"lockout.failureCount", "lockout.durationSeconds", "length.min", "length.max", "minCharacters.0123456789"})},
		driftCase{name: "password policy Passphrase", create: passwordPolicy("Passphrase"), always: joinPaths(passwordAlways, []string{"description",
			"minComplexity", "lockout.failureCount", "lockout.durationSeconds"})},
	)
}
