package mgmt_test

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// themeAlways is what PingOne always returns of a theme: the SDK's
// non-pointer members (default, template and the configuration's types and
// colours), the name PingOne's Terraform provider reads back, and the
// resource's links and references.
var themeAlways = []string{"_links.self.href", "_links.environment.href", "id", "environment.id", "template", "default",
	"configuration.name", "configuration.logoType", "configuration.backgroundType", "configuration.bodyTextColor",
	"configuration.buttonColor", "configuration.buttonTextColor", "configuration.cardColor", "configuration.headingTextColor",
	"configuration.linkTextColor"}

func init() {
	registerDrift(
		driftCase{
			name: "theme",
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				return themesURL(envID) + "/" + themeCreate(t, s, envID, tfTheme("split", "Drift theme"))["id"].(string)
			},
			always: themeAlways,
		},
		driftCase{
			name: "theme with images and a footer",
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				b := tfTheme("mural", "Drift images")
				c := b["configuration"].(map[string]any)
				img := map[string]any{"href": "https://cdn.example.com/i.png", "id": "7d0e5a7b-51a5-4ac4-a3a2-1b6a3e0f8c11"}
				c["logoType"], c["logo"], c["backgroundType"], c["backgroundImage"], c["footer"] = "IMAGE", img, "IMAGE", img, "<p>© Acme</p>"
				delete(c, "backgroundColor")
				return themesURL(envID) + "/" + themeCreate(t, s, envID, b)["id"].(string)
			},
			always: append(themeAlways, "configuration.logo.href", "configuration.logo.id", "configuration.backgroundImage.href",
				"configuration.backgroundImage.id", "configuration.footer"),
		},
		driftCase{
			// The theme every environment starts with, as a plan that
			// imports it reads it.
			name: "default theme",
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				return themesURL(envID) + "/" + defaultThemeID(t, s, envID)
			},
			always: append(themeAlways, "configuration.backgroundColor"),
		},
		driftCase{
			// pingone_branding_theme_default reads …/default.
			name: "theme default",
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				return themesURL(envID) + "/" + defaultThemeID(t, s, envID) + "/default"
			},
			always: []string{"_links.self.href", "default"},
		},
	)
}
