package mgmt_test

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// terraformWebhook is what pingone_webhook (terraform-provider-pingone)
// sends for its minimal configuration: no format, protocol at its default
// HTTPS, enabled and verifyTlsCertificates at their defaults, the filter's
// booleans at theirs.
func terraformWebhook(name string) map[string]any {
	return map[string]any{
		"name": name, "enabled": false, "protocol": "HTTPS", "verifyTlsCertificates": true,
		"httpEndpoint": map[string]any{"url": "https://api.example.com/hook"},
		"filterOptions": map[string]any{"includedActionTypes": []any{"ACCOUNT.LINKED", "ACCOUNT.UNLINKED"},
			"ipAddressExposed": false, "userAgentExposed": false},
	}
}

// TestSubscriptionsAsTerraform: pingone_webhook's acceptance configurations
// are taken, and what they read back is what they planned (Terraform fails
// an apply whose result differs from the plan).
func TestSubscriptionsAsTerraform(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			c := newCfgAPI(t, s, "Terraform webhooks")

			// Minimal: no format is sent, and none is read back (the
			// provider checks format is absent).
			minimal := c.ok(t, "POST", "/subscriptions", terraformWebhook("minimal"), http.StatusCreated)
			if v, ok := minimal["format"]; ok {
				t.Errorf("format = %v, want absent when none was sent", v)
			}
			// protocol is read back as sent (the provider's default,
			// HTTPS), and connectionDetails mirrors httpEndpoint.
			wantFields(t, minimal, map[string]any{"protocol": "HTTPS", "connectionDetails.url": "https://api.example.com/hook"})
			if v := get(minimal, "connectionDetails.headers"); v != nil {
				t.Errorf("connectionDetails.headers = %v, want absent", v)
			}
			id := checkID(t, minimal, "id")
			got := c.ok(t, "GET", "/subscriptions/"+id, nil, http.StatusOK)
			if v, ok := got["format"]; ok {
				t.Errorf("GET: format = %v, want absent", v)
			}
			// connectionDetails alone (httpEndpoint's newer name) is read
			// as httpEndpoint.
			viaDetails := terraformWebhook("via connectionDetails")
			viaDetails["connectionDetails"] = viaDetails["httpEndpoint"]
			delete(viaDetails, "httpEndpoint")
			wantFields(t, c.ok(t, "POST", "/subscriptions", viaDetails, http.StatusCreated),
				map[string]any{"httpEndpoint.url": "https://api.example.com/hook", "connectionDetails.url": "https://api.example.com/hook"})
			// Without protocol (older SDKs), HTTPS.
			noProtocol := terraformWebhook("no protocol")
			delete(noProtocol, "protocol")
			wantFields(t, c.ok(t, "POST", "/subscriptions", noProtocol, http.StatusCreated), map[string]any{"protocol": "HTTPS"})
			// TCP_IP (syslog) deliveries are not supported; other values
			// are not PingOne's.
			tcp := terraformWebhook("tcp")
			tcp["protocol"] = "TCP_IP"
			c.fail(t, "POST", "/subscriptions", tcp, wantErr{http.StatusBadRequest, "INVALID_DATA", "INVALID_VALUE", "protocol"})
			tcp["protocol"] = "FTP"
			m := c.fail(t, "POST", "/subscriptions", tcp, wantErr{http.StatusBadRequest, "INVALID_DATA", "INVALID_VALUE", "protocol"})
			if got := get(detailAt(t, m, 0), "innerError.allowedValues"); !reflect.DeepEqual(got, []any{"HTTPS"}) {
				t.Errorf("allowedValues = %v", got)
			}
			// Full: headers include Content-Type, which PingOne keeps
			// (delivery's own Content-Type, application/json, is sent).
			full := terraformWebhook("full")
			full["enabled"], full["verifyTlsCertificates"], full["format"] = false, false, "ACTIVITY"
			full["httpEndpoint"] = map[string]any{"url": "https://api.example.com/hook",
				"headers": map[string]any{"Authorization": "Basic usernamepassword", "Content-Type": "application/json"}}
			full["filterOptions"] = map[string]any{"includedActionTypes": []any{"ACCOUNT.LINKED"}, "includedTags": []any{"adminIdentityEvent"},
				"ipAddressExposed": true, "userAgentExposed": true}
			wantFields(t, c.ok(t, "POST", "/subscriptions", full, http.StatusCreated), map[string]any{
				"httpEndpoint.headers.Content-Type": "application/json", "httpEndpoint.headers.Authorization": "Basic usernamepassword",
				"connectionDetails.headers.Content-Type": "application/json", "connectionDetails.headers.Authorization": "Basic usernamepassword",
				"format": "ACTIVITY", "verifyTlsCertificates": false, "filterOptions.ipAddressExposed": true, "filterOptions.userAgentExposed": true})

			// payloadOptions (batches, JSON_ARRAY or ND_JSON) are not
			// supported: refused, not dropped (a dropped member would fail
			// Terraform's apply as an inconsistent result).
			batched := terraformWebhook("batched")
			batched["payloadOptions"] = map[string]any{"maximumPayloadLimit": map[string]any{"type": "EVENTS_PER_PAYLOAD", "size": 250}}
			c.fail(t, "POST", "/subscriptions", batched, wantErr{http.StatusBadRequest, "INVALID_DATA", "INVALID_VALUE", "payloadOptions"})

			// A PUT that names a format sets it; one that leaves it out
			// removes it again (PUT replaces).
			withFormat := terraformWebhook("minimal")
			withFormat["format"] = "SPLUNK"
			wantFields(t, c.ok(t, "PUT", "/subscriptions/"+id, withFormat, http.StatusOK), map[string]any{"format": "SPLUNK"})
			if v, ok := c.ok(t, "PUT", "/subscriptions/"+id, terraformWebhook("minimal"), http.StatusOK)["format"]; ok {
				t.Errorf("after a PUT without format, format = %v", v)
			}
		})
	}
}
