package mgmt_test

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// pingone_application_attribute_mapping: the Terraform provider reads
// name, required, value, mappingType, oidcScopes, idToken and userInfo
// back into its state; the CORE sub mapping carries no delivery settings.

var appAttrAlways = []string{"_links.self.href", "id", "environment.id", "application.id", "name", "value", "required",
	"mappingType", "createdAt", "updatedAt"}

// appAttr makes a web application and returns the URL of its mapping
// named name, creating it from body when body is not nil.
func appAttr(name string, body map[string]any) func(*testing.T, *apptest.Server, string, string) string {
	return func(t *testing.T, s *apptest.Server, tok, envID string) string {
		app := driftCreate(t, s, tok, appsPath(envID), oidcApp("Drift mapping "+name, "WEB_APP", "CLIENT_SECRET_BASIC",
			[]string{"AUTHORIZATION_CODE"}, "responseTypes", []string{"CODE"}, "redirectUris", []string{"https://app.example.com/cb"}))
		base := appsPath(envID) + "/" + app["id"].(string) + "/attributes"
		if body != nil {
			return base + "/" + driftCreate(t, s, tok, base, body)["id"].(string)
		}
		return base + "/" + driftNamed(t, s, tok, base, "attributes", name)
	}
}

func init() {
	registerDrift(
		driftCase{name: "application attribute mapping CORE sub", always: appAttrAlways, volatile: []string{"updatedAt"},
			create: appAttr("sub", nil)},
		driftCase{name: "application attribute mapping CUSTOM", always: joinPaths(appAttrAlways, []string{"idToken", "userInfo"}),
			volatile: []string{"updatedAt"},
			create:   appAttr("accountId", map[string]any{"name": "accountId", "value": "${user.accountId}", "required": false})},
	)
}
