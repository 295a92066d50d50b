package mgmt_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// The no-drift cases of the directory's newer resources: groups (both
// kinds), their nestings and users' memberships, the user schema and its
// attributes (custom with enumerated values, custom with a regex, a
// standard one), agreements with their languages, revisions and users'
// consents, the session settings and an application with accessControl.
// The always lists are the non-pointer members of PingOne's Go SDK models
// (Group, GroupMembership, GroupNesting, SchemaAttribute, Agreement,
// AgreementLanguage, AgreementLanguageRevision,
// ApplicationAccessControlGroup) and what PingOne's Terraform provider
// reads back without a nil check (environment.id of a group, a nesting's
// and a membership's type).

var groupAlways = []string{"_links.self.href", "_links.environment.href", "id", "environment.id", "name", "directMemberCounts.users"}

var schemaAttrAlways = []string{"_links.self.href", "id", "environment.id", "schema.id", "name", "type", "schemaType",
	"enabled", "required", "unique", "multiValued"}

var agreementAlways = []string{"_links.self.href", "_links.environment.href", "_links.languages.href", "id", "environment.id",
	"name", "enabled", "totalConsents", "totalExpiredConsents", "consentsAggregatedAt"}

var agreementLanguageAlways = []string{"_links.self.href", "id", "agreement.id", "locale", "displayName", "enabled"}

func driftGroup(body map[string]any) func(*testing.T, *apptest.Server, string, string) string {
	return func(t *testing.T, s *apptest.Server, tok, envID string) string {
		base := "/environments/" + envID + "/groups"
		return base + "/" + driftCreate(t, s, tok, base, body)["id"].(string)
	}
}

func driftSchemaAttr(body map[string]any) func(*testing.T, *apptest.Server, string, string) string {
	return func(t *testing.T, s *apptest.Server, tok, envID string) string {
		base := "/environments/" + envID + "/schemas/" + userSchema(t, s, envID) + "/attributes"
		return base + "/" + driftCreate(t, s, tok, base, body)["id"].(string)
	}
}

// driftAgreement makes a disabled agreement with a disabled English
// language, and returns the agreement's and the language's paths.
func driftAgreement(t *testing.T, s *apptest.Server, tok, envID, name string) (agreement, language string) {
	t.Helper()
	base := "/environments/" + envID + "/agreements"
	agreement = base + "/" + driftCreate(t, s, tok, base, agreementBody(name))["id"].(string)
	language = agreement + "/languages/" + driftCreate(t, s, tok, agreement+"/languages", agreementLanguageBody("en"))["id"].(string)
	return agreement, language
}

func init() {
	registerDrift(
		driftCase{name: "group environment-wide with customData", always: joinPaths(groupAlways, []string{"description", "externalId", "customData.groupOwner"}),
			create: driftGroup(groupBody("Drift managers"))},
		driftCase{name: "group of a population with a userFilter", always: joinPaths(groupAlways, []string{"population.id", "_links.population.href", "userFilter"}),
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				pop := newPop(t, s, envID, "Drift group people")
				return driftGroup(map[string]any{"name": "Drift locals", "population": map[string]any{"id": pop},
					"userFilter": `title eq "Manager"`})(t, s, tok, envID)
			}},
		driftCase{name: "group nesting", noPut: true, always: []string{"_links.self.href", "id", "type"},
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				child := driftGroup(map[string]any{"name": "Drift child"})(t, s, tok, envID)
				parent := driftGroup(map[string]any{"name": "Drift parent"})(t, s, tok, envID)
				parentID := parent[len(parent)-36:]
				driftCreate(t, s, tok, child+"/memberOfGroups", map[string]any{"id": parentID})
				return child + "/memberOfGroups/" + parentID
			}},
		driftCase{name: "user group membership", noPut: true, always: []string{"_links.self.href", "id", "environment.id", "name", "type"},
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				user := driftUser(t, s, tok, envID, "drift-member")
				group := driftGroup(map[string]any{"name": "Drift members"})(t, s, tok, envID)
				groupID := group[len(group)-36:]
				driftCreate(t, s, tok, user+"/memberOfGroups", map[string]any{"id": groupID})
				return user + "/memberOfGroups/" + groupID
			}},

		driftCase{name: "schema User", noPut: true, always: []string{"_links.self.href", "id", "environment.id", "name"},
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				return "/environments/" + envID + "/schemas/" + userSchema(t, s, envID)
			}},
		driftCase{name: "schema attribute custom with enumeratedValues", always: joinPaths(schemaAttrAlways, []string{"displayName", "description",
			"enumeratedValues[].value", "enumeratedValues[].archived"}),
			create: driftSchemaAttr(sdkSchemaAttribute("driftShirt"))},
		driftCase{name: "schema attribute custom with regexValidation", always: joinPaths(schemaAttrAlways, []string{"regexValidation.pattern",
			"regexValidation.requirements"}),
			create: driftSchemaAttr(map[string]any{"enabled": true, "name": "driftBadge", "type": "STRING", "schemaType": "CUSTOM",
				"unique": true, "multiValued": false, "required": false, "regexValidation": map[string]any{"pattern": "^[A-Z]{2}[0-9]{4}$",
					"requirements": "Two capitals and four digits.", "valuesPatternShouldMatch": []string{"AB1234"},
					"valuesPatternShouldNotMatch": []string{"ab1234"}}})},
		driftCase{name: "schema attribute custom JSON multi-valued", always: schemaAttrAlways,
			create: driftSchemaAttr(map[string]any{"enabled": true, "name": "driftPrefs", "type": "JSON", "schemaType": "CUSTOM",
				"unique": false, "multiValued": true, "required": false})},
		driftCase{name: "schema attribute standard", always: schemaAttrAlways,
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				base := "/environments/" + envID + "/schemas/" + userSchema(t, s, envID) + "/attributes"
				return base + "/" + driftNamed(t, s, tok, base, "attributes", "title")
			}},

		driftCase{name: "agreement", always: joinPaths(agreementAlways, []string{"description", "reconsentPeriodDays"}),
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				a, _ := driftAgreement(t, s, tok, envID, "Drift terms")
				return a
			}},
		driftCase{name: "agreement language", always: joinPaths(agreementLanguageAlways, []string{"userExperience.acceptCheckboxText"}),
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				_, l := driftAgreement(t, s, tok, envID, "Drift language terms")
				return l
			}},
		driftCase{name: "agreement language with a current revision, enabled", always: joinPaths(agreementLanguageAlways, []string{"currentRevision.id"}),
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				_, l := driftAgreement(t, s, tok, envID, "Drift enabled terms")
				driftCreate(t, s, tok, l+"/revisions", agreementRevisionBody(time.Now(), false, "<p>Drift.</p>"))
				var lang map[string]any
				if err := json.Unmarshal(driftGet(t, s, tok, l), &lang); err != nil {
					t.Fatal(err)
				}
				r := doNo5xx(t, s, apptest.Request{Method: http.MethodPut, URL: l, Token: tok, Body: cfgEcho(lang, map[string]any{"enabled": true})})
				if r.Status != http.StatusOK {
					t.Fatalf("enable: %d %s", r.Status, trimBody(r.Body))
				}
				return l
			}},
		driftCase{name: "agreement revision", noPut: true,
			always: []string{"_links.self.href", "id", "agreement.id", "language.id", "contentType", "effectiveAt", "requireReconsent"},
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				_, l := driftAgreement(t, s, tok, envID, "Drift revision terms")
				return l + "/revisions/" + driftCreate(t, s, tok, l+"/revisions", agreementRevisionBody(time.Now().Add(time.Hour), true, "Later."))["id"].(string)
			}},

		driftCase{name: "session settings", always: []string{"idleTimeoutInMinutes", "maxLifetimeInMinutes"},
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				return "/environments/" + envID + "/sessionSettings"
			}},
		driftCase{name: "application with accessControl",
			always: joinPaths(appAlways, []string{"accessControl.role.type", "accessControl.group.type", "accessControl.group.groups[].id"}),
			create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
				g := driftGroup(map[string]any{"name": "Drift app users"})(t, s, tok, envID)
				return driftApp(with(appWebBody("Drift guarded"), "accessControl", map[string]any{
					"role":  map[string]any{"type": "ADMIN_USERS_ONLY"},
					"group": map[string]any{"type": "ANY_GROUP", "groups": []any{map[string]any{"id": g[len(g)-36:]}}}}))(t, s, tok, envID)
			}},
	)
}
