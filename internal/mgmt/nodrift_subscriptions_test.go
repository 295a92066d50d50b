package mgmt_test

import (
	"net/http"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// subscriptionAlways is what PingOne always returns of a subscription:
// the SDK's non-pointer members (enabled, filterOptions.includedActionTypes,
// name, verifyTlsCertificates) and httpEndpoint.url (format only when set), the filter's
// booleans pingone_webhook sends as false, and the links and references.
var subscriptionAlways = []string{"_links.self.href", "_links.environment.href", "id", "environment.id", "name", "enabled",
	"protocol", "httpEndpoint.url", "connectionDetails.url", "verifyTlsCertificates", "filterOptions.includedActionTypes[]", "filterOptions.ipAddressExposed",
	"filterOptions.userAgentExposed", "createdAt", "updatedAt"}

func init() {
	create := func(body map[string]any) func(t *testing.T, s *apptest.Server, tok, envID string) string {
		return func(t *testing.T, s *apptest.Server, tok, envID string) string {
			url := "/environments/" + envID + "/subscriptions"
			r := doNo5xx(t, s, apptest.Request{Method: http.MethodPost, URL: url, Token: tok, Body: body})
			return url + "/" + must(t, r, http.StatusCreated)["id"].(string)
		}
	}
	off := subscriptionBody("Drift off")
	off["enabled"], off["verifyTlsCertificates"] = false, false
	off["httpEndpoint"] = map[string]any{"url": "https://hooks.example.com/off"}
	off["filterOptions"] = map[string]any{"includedActionTypes": []any{"USER.DELETED"}, "includedTags": []any{"adminIdentityEvent"},
		"includedApplications": []any{map[string]any{"id": "0b0b0b0b-0000-4000-8000-000000000001"}}}
	registerDrift(
		driftCase{name: "subscription", create: create(subscriptionBody("Drift")),
			always: append(subscriptionAlways, "format", "httpEndpoint.headers.Authorization", "filterOptions.includedPopulations[].id")},
		driftCase{name: "subscription disabled, unverified, without headers", create: create(off),
			always: append(subscriptionAlways, "format", "filterOptions.includedTags[]", "filterOptions.includedApplications[].id")},
		// pingone_webhook's minimal configuration: no format.
		driftCase{name: "subscription as Terraform's minimal webhook", create: create(terraformWebhook("Drift minimal")), always: subscriptionAlways},
	)
}
