package mgmt_test

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// The populations the population case leaves out: the one every
// environment starts with (pingone_population_default reads and PUTs it),
// and one that sets every optional member, its theme and password policy
// among them (pingone_population with everything set).
func init() {
	popAlways := []string{"_links.self.href", "_links.environment.href", "_links.theme.href", "id", "environment.id", "name", "userCount",
		"createdAt", "updatedAt", "default", "preferredLanguage", "theme.id"}
	registerDrift(
		driftCase{
			name: "population Default (the environment's own)",
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				base := "/environments/" + envID + "/populations"
				return base + "/" + driftNamed(t, s, tok, base, "populations", "Default")
			},
			always: append(popAlways, "description"),
		},
		driftCase{
			name: "population with a theme, a password policy and every optional member",
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				base := "/environments/" + envID + "/populations"
				theme := themeCreate(t, s, envID, tfTheme("slate", "Drift population theme"))["id"]
				policy := driftNamed(t, s, tok, "/environments/"+envID+"/passwordPolicies", "passwordPolicies", "Basic")
				p := driftCreate(t, s, tok, base, map[string]any{"name": "Drift population, everything", "description": "Every member set",
					"preferredLanguage": "fr", "alternativeIdentifiers": []string{"staff", "employees"},
					"theme": map[string]any{"id": theme}, "passwordPolicy": map[string]any{"id": policy}})
				return base + "/" + p["id"].(string)
			},
			always: append(popAlways, "description", "alternativeIdentifiers[]", "passwordPolicy.id", "_links.passwordPolicy.href"),
		},
	)
}
