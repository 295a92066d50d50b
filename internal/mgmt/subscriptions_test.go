package mgmt_test

import (
	"net/http"
	"reflect"
	"strconv"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/roles"
)

// subscriptionBody is a subscription as PingOne's Terraform provider
// sends it through the SDK (pingone_webhook): every required member, the
// filter's booleans at the SDK's defaults (false), the optional lists when
// set, headers as an object.
func subscriptionBody(name string) map[string]any {
	return map[string]any{
		"name": name, "enabled": true, "format": "ACTIVITY", "verifyTlsCertificates": true,
		"httpEndpoint": map[string]any{"url": "https://hooks.example.com/pingone", "headers": map[string]any{"Authorization": "Basic dXNlcjpwYXNz"}},
		"filterOptions": map[string]any{"includedActionTypes": []any{"USER.CREATED", "USER.UPDATED"},
			"includedPopulations": []any{map[string]any{"id": "5a7c1b4e-7c44-4d7e-9a1f-2f1f3c1a0b11"}},
			"ipAddressExposed":    false, "userAgentExposed": false},
	}
}

func TestSubscriptionsAsSDK(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			testSubscriptions(t, newCfgAPI(t, s, "Webhooks"))
		})
	}
}

func testSubscriptions(t *testing.T, c cfgAPI) {
	created := c.ok(t, "POST", "/subscriptions", subscriptionBody("SIEM"), http.StatusCreated)
	id := checkID(t, created, "id")
	checkTime(t, created, "createdAt")
	checkTime(t, created, "updatedAt")
	wantFields(t, created, map[string]any{
		"name": "SIEM", "enabled": true, "format": "ACTIVITY", "verifyTlsCertificates": true, "environment.id": c.env,
		"httpEndpoint.url": "https://hooks.example.com/pingone", "httpEndpoint.headers.Authorization": "Basic dXNlcjpwYXNz",
		"filterOptions.ipAddressExposed": false, "filterOptions.userAgentExposed": false,
		"_links.self.href":      c.s.APIPath + "/environments/" + c.env + "/subscriptions/" + id,
		"deliveryStatus.status": "ACTIVE", "deliveryStatus.attempts": float64(0), "deliveryStatus.deadLetterCount": float64(0),
	})
	if got := get(created, "filterOptions.includedActionTypes"); !reflect.DeepEqual(got, []any{"USER.CREATED", "USER.UPDATED"}) {
		t.Errorf("includedActionTypes = %v", got)
	}
	if got := get(created, "filterOptions.includedPopulations"); !reflect.DeepEqual(got, []any{map[string]any{"id": "5a7c1b4e-7c44-4d7e-9a1f-2f1f3c1a0b11"}}) {
		t.Errorf("includedPopulations = %v", got)
	}
	for _, absent := range []string{"filterOptions.includedApplications", "filterOptions.includedTags", "tlsClientAuthKeyPair"} {
		if v := get(created, absent); v != nil {
			t.Errorf("%s = %v, want absent (not set)", absent, v)
		}
	}
	path := "/subscriptions/" + id
	got := c.ok(t, "GET", path, nil, http.StatusOK)
	delete(created, "deliveryStatus")
	delete(got, "deliveryStatus")
	if !reflect.DeepEqual(got, created) {
		t.Errorf("GET differs from POST's answer:\n%v\n%v", got, created)
	}

	// A PUT of what GET answered changes nothing but updatedAt.
	again := c.ok(t, "PUT", path, got, http.StatusOK)
	delete(again, "deliveryStatus")
	for _, k := range []string{"updatedAt"} {
		delete(again, k)
		delete(got, k)
	}
	if !reflect.DeepEqual(again, got) {
		t.Errorf("PUT of GET changed the subscription:\n%v\n%v", again, got)
	}

	// PUT replaces: what is absent resets; false stays false, not absent.
	upd := subscriptionBody("SIEM 2")
	upd["enabled"], upd["verifyTlsCertificates"], upd["format"] = false, false, "SPLUNK"
	upd["httpEndpoint"] = map[string]any{"url": "https://other.example.com/x"}
	upd["filterOptions"] = map[string]any{"includedActionTypes": []any{"USER.DELETED"}, "includedTags": []any{"adminIdentityEvent"},
		"includedApplications": []any{map[string]any{"id": "0b0b0b0b-0000-4000-8000-000000000001"}}, "ipAddressExposed": true}
	put := c.ok(t, "PUT", path, upd, http.StatusOK)
	wantFields(t, put, map[string]any{"name": "SIEM 2", "enabled": false, "verifyTlsCertificates": false, "format": "SPLUNK",
		"httpEndpoint.url": "https://other.example.com/x", "filterOptions.ipAddressExposed": true, "filterOptions.userAgentExposed": false,
		"filterOptions.includedTags": []any{"adminIdentityEvent"}, "deliveryStatus.status": "DISABLED"})
	for _, absent := range []string{"httpEndpoint.headers", "filterOptions.includedPopulations"} {
		if v := get(put, absent); v != nil {
			t.Errorf("after PUT, %s = %v, want absent", absent, v)
		}
	}
	// Older SDKs send headers as a list of one-member objects.
	old := subscriptionBody("Old SDK")
	old["httpEndpoint"] = map[string]any{"url": "https://hooks.example.com/a", "headers": []any{map[string]any{"X-Key": "k1"}, map[string]any{"X-Other": "k2"}}}
	oldSub := c.ok(t, "POST", "/subscriptions", old, http.StatusCreated)
	wantFields(t, oldSub, map[string]any{"httpEndpoint.headers.X-Key": "k1", "httpEndpoint.headers.X-Other": "k2"})
	// verifyTlsCertificates defaults to on.
	noTLS := subscriptionBody("Default TLS")
	delete(noTLS, "verifyTlsCertificates")
	wantFields(t, c.ok(t, "POST", "/subscriptions", noTLS, http.StatusCreated), map[string]any{"verifyTlsCertificates": true})

	list := c.list(t, "/subscriptions", "subscriptions")
	if len(list) != 3 {
		t.Errorf("%d subscriptions listed, want 3", len(list))
	}
	c.ok(t, "DELETE", path, nil, http.StatusNoContent)
	c.fail(t, "GET", path, nil, wantErr{http.StatusNotFound, "NOT_FOUND", "", ""})
	c.fail(t, "DELETE", path, nil, wantErr{http.StatusNotFound, "NOT_FOUND", "", ""})
	c.fail(t, "PUT", path, subscriptionBody("x"), wantErr{http.StatusNotFound, "NOT_FOUND", "", ""})
}

// TestSubscriptionValidation: each rule's error, exactly; nothing
// refused is written.
func TestSubscriptionValidation(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	c := newCfgAPI(t, s, "Webhook rules")
	with := func(mod func(b map[string]any)) map[string]any {
		b := subscriptionBody("rules")
		mod(b)
		return b
	}
	filter := func(b map[string]any) map[string]any { return b["filterOptions"].(map[string]any) }
	endpoint := func(b map[string]any) map[string]any { return b["httpEndpoint"].(map[string]any) }
	ids := func(n int) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = map[string]any{"id": uuid.NewString()}
		}
		return out
	}
	invalid := func(detail, target string) wantErr {
		return wantErr{http.StatusBadRequest, "INVALID_DATA", detail, target}
	}
	cases := []struct {
		name string
		body any
		want wantErr
	}{
		{"no name", with(func(b map[string]any) { delete(b, "name") }), invalid("REQUIRED_VALUE", "name")},
		{"blank name", with(func(b map[string]any) { b["name"] = "  " }), invalid("REQUIRED_VALUE", "name")},
		{"no enabled", with(func(b map[string]any) { delete(b, "enabled") }), invalid("REQUIRED_VALUE", "enabled")},
		{"unknown format", with(func(b map[string]any) { b["format"] = "SYSLOG" }), invalid("INVALID_VALUE", "format")},
		{"no endpoint", with(func(b map[string]any) { delete(b, "httpEndpoint") }), invalid("REQUIRED_VALUE", "httpEndpoint.url")},
		{"no url", with(func(b map[string]any) { delete(endpoint(b), "url") }), invalid("REQUIRED_VALUE", "httpEndpoint.url")},
		{"plain http", with(func(b map[string]any) { endpoint(b)["url"] = "http://hooks.example.com/" }), invalid("INVALID_VALUE", "httpEndpoint.url")},
		{"relative url", with(func(b map[string]any) { endpoint(b)["url"] = "/hooks" }), invalid("INVALID_VALUE", "httpEndpoint.url")},
		{"credentials in url", with(func(b map[string]any) { endpoint(b)["url"] = "https://u:p@hooks.example.com/" }), invalid("INVALID_VALUE", "httpEndpoint.url")},
		{"bad header name", with(func(b map[string]any) { endpoint(b)["headers"] = map[string]any{"Bad Name": "v"} }), invalid("INVALID_VALUE", "httpEndpoint.headers")},
		{"reserved header", with(func(b map[string]any) { endpoint(b)["headers"] = map[string]any{"Host": "evil"} }), invalid("INVALID_VALUE", "httpEndpoint.headers.Host")},
		{"header with a line break", with(func(b map[string]any) { endpoint(b)["headers"] = map[string]any{"X-A": "a\r\nX-B: b"} }), invalid("INVALID_VALUE", "httpEndpoint.headers.X-A")},
		{"header with a control character", with(func(b map[string]any) { endpoint(b)["headers"] = map[string]any{"X-A": "a\x01b"} }), invalid("INVALID_VALUE", "httpEndpoint.headers.X-A")},
		{"header with DEL", with(func(b map[string]any) { endpoint(b)["headers"] = map[string]any{"X-A": "a\x7f"} }), invalid("INVALID_VALUE", "httpEndpoint.headers.X-A")},
		{"no filter", with(func(b map[string]any) { delete(b, "filterOptions") }), invalid("REQUIRED_VALUE", "filterOptions.includedActionTypes")},
		{"no action types", with(func(b map[string]any) { filter(b)["includedActionTypes"] = []any{} }), invalid("REQUIRED_VALUE", "filterOptions.includedActionTypes")},
		{"empty action type", with(func(b map[string]any) { filter(b)["includedActionTypes"] = []any{""} }), invalid("INVALID_VALUE", "filterOptions.includedActionTypes")},
		{"eleven applications", with(func(b map[string]any) { filter(b)["includedApplications"] = ids(11) }), invalid("SIZE_LIMIT_EXCEEDED", "filterOptions.includedApplications")},
		{"eleven populations", with(func(b map[string]any) { filter(b)["includedPopulations"] = ids(11) }), invalid("SIZE_LIMIT_EXCEEDED", "filterOptions.includedPopulations")},
		{"population not an id", with(func(b map[string]any) { filter(b)["includedPopulations"] = []any{map[string]any{"id": "nope"}} }), invalid("INVALID_VALUE", "filterOptions.includedPopulations")},
		{"unknown tag", with(func(b map[string]any) { filter(b)["includedTags"] = []any{"userEvent"} }), invalid("INVALID_VALUE", "filterOptions.includedTags")},
		{"client TLS key", with(func(b map[string]any) { b["tlsClientAuthKeyPair"] = map[string]any{"id": uuid.NewString()} }), invalid("INVALID_VALUE", "tlsClientAuthKeyPair")},
		{"not JSON", "{", wantErr{http.StatusBadRequest, "INVALID_REQUEST", "INVALID_VALUE", ""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := c.fail(t, "POST", "/subscriptions", tc.body, tc.want)
			if tc.want.code == "INVALID_DATA" && m["message"] != "The request could not be completed. One or more validation errors were in the request." {
				t.Errorf("message = %v", m["message"])
			}
		})
	}
	// The allowed values are named.
	m := c.fail(t, "POST", "/subscriptions", cases[3].body, cases[3].want)
	if got := get(detailAt(t, m, 0), "innerError.allowedValues"); !reflect.DeepEqual(got, []any{"ACTIVITY", "SPLUNK", "NEWRELIC"}) {
		t.Errorf("allowedValues = %v", got)
	}
	// Several faults, several details.
	m = c.fail(t, "POST", "/subscriptions", map[string]any{"enabled": true}, invalid("REQUIRED_VALUE", "name"))
	if ds := m["details"].([]any); len(ds) != 3 {
		t.Errorf("details = %v, want name, httpEndpoint.url and filterOptions.includedActionTypes", ds)
	}
	if n := len(c.list(t, "/subscriptions", "subscriptions")); n != 0 {
		t.Errorf("%d subscriptions written by refused requests", n)
	}
	// PingOne's bound: 50 an environment, the 51st refused with 403.
	for i := range 50 {
		c.ok(t, "POST", "/subscriptions", subscriptionBody("hook "+strconv.Itoa(i)), http.StatusCreated)
	}
	m = c.fail(t, "POST", "/subscriptions", subscriptionBody("51st"), wantErr{http.StatusForbidden, "ACCESS_FAILED", "SIZE_LIMIT_EXCEEDED", "subscriptions"})
	if got := get(detailAt(t, m, 0), "innerError.maximumValue"); got != float64(50) {
		t.Errorf("maximumValue = %v", got)
	}
}

// TestSubscriptionRoles: the Environment Admin writes subscriptions, the
// configuration readers read them, the identity data roles see nothing;
// nothing a refused actor sends is written.
func TestSubscriptionRoles(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	c := newCfgAPI(t, s, "Webhook roles")
	ro := s.Token(t, s.CreateWorker(t, c.env, "CLIENT_SECRET_BASIC", [3]string{roles.ConfigurationReadOnly.ID, roles.ScopeEnvironment, c.env}))
	ida := s.Token(t, s.CreateWorker(t, c.env, "CLIENT_SECRET_BASIC", [3]string{roles.IdentityDataAdmin.ID, roles.ScopeEnvironment, c.env}))
	admin := s.Token(t, s.CreateWorker(t, c.env, "CLIENT_SECRET_BASIC", [3]string{roles.EnvironmentAdmin.ID, roles.ScopeEnvironment, c.env}))
	id := checkID(t, c.ok(t, "POST", "/subscriptions", subscriptionBody("existing"), http.StatusCreated), "id")
	subs := c.url("/subscriptions")
	one := subs + "/" + id
	forbidden := wantErr{http.StatusForbidden, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""}
	cases := []struct {
		name string
		req  apptest.Request
		want wantErr
	}{
		{"read only lists", apptest.Request{Method: "GET", URL: subs, Token: ro}, wantErr{status: 200}},
		{"read only reads", apptest.Request{Method: "GET", URL: one, Token: ro}, wantErr{status: 200}},
		{"read only creates", apptest.Request{Method: "POST", URL: subs, Token: ro, Body: subscriptionBody("RO")}, forbidden},
		{"read only updates", apptest.Request{Method: "PUT", URL: one, Token: ro, Body: subscriptionBody("RO")}, forbidden},
		{"read only deletes", apptest.Request{Method: "DELETE", URL: one, Token: ro}, forbidden},
		{"identity data admin lists", apptest.Request{Method: "GET", URL: subs, Token: ida}, forbidden},
		{"identity data admin reads", apptest.Request{Method: "GET", URL: one, Token: ida}, forbidden},
		{"identity data admin creates", apptest.Request{Method: "POST", URL: subs, Token: ida, Body: subscriptionBody("IDA")}, forbidden},
		{"no token", apptest.Request{Method: "GET", URL: subs}, wantErr{http.StatusUnauthorized, "ACCESS_FAILED", "INVALID_TOKEN", ""}},
		{"environment admin creates", apptest.Request{Method: "POST", URL: subs, Token: admin, Body: subscriptionBody("Admin's")}, wantErr{status: 201}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { checkAnswer(t, doNo5xx(t, s, tc.req), tc.want) })
	}
	var names []string
	for _, x := range c.list(t, "/subscriptions", "subscriptions") {
		names = append(names, x["name"].(string))
	}
	if len(names) != 2 {
		t.Errorf("subscriptions = %v, want existing and Admin's", names)
	}
}

// TestSubscriptionIsolation: another environment's subscription is not
// found through this one, whatever the method; an unknown environment is
// 404; deleting an environment takes its subscriptions.
func TestSubscriptionIsolation(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			a, other := newCfgAPI(t, s, "Hooks A"), newCfgAPI(t, s, "Hooks B")
			id := checkID(t, a.ok(t, "POST", "/subscriptions", subscriptionBody("A's"), http.StatusCreated), "id")
			notFound := wantErr{http.StatusNotFound, "NOT_FOUND", "", ""}
			other.fail(t, "GET", "/subscriptions/"+id, nil, notFound)
			other.fail(t, "PUT", "/subscriptions/"+id, subscriptionBody("B's"), notFound)
			other.fail(t, "DELETE", "/subscriptions/"+id, nil, notFound)
			if n := len(other.list(t, "/subscriptions", "subscriptions")); n != 0 {
				t.Errorf("B lists %d subscriptions", n)
			}
			if got := a.ok(t, "GET", "/subscriptions/"+id, nil, http.StatusOK)["name"]; got != "A's" {
				t.Errorf("A's subscription is now %v", got)
			}
			unknown := cfgAPI{s: s, tok: a.tok, env: uuid.NewString()}
			unknown.fail(t, "GET", "/subscriptions", nil, notFound)
			unknown.fail(t, "POST", "/subscriptions", subscriptionBody("x"), notFound)
			a.ok(t, "DELETE", "", nil, http.StatusNoContent)
			if _, err := s.Store.GetSubscription(t.Context(), a.env, id); err == nil {
				t.Error("the subscription outlived its environment")
			}
		})
	}
}

// TestSubscriptionLimitRace: creates racing for the last places of the
// 50 make exactly 50 subscriptions; the rest get the limit's 403.
func TestSubscriptionLimitRace(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			c := newCfgAPI(t, s, "Hook race")
			for i := range 40 {
				c.ok(t, "POST", "/subscriptions", subscriptionBody("hook "+strconv.Itoa(i)), http.StatusCreated)
			}
			const racers = 20
			statuses := make([]int, racers)
			var wg sync.WaitGroup
			for i := range racers {
				wg.Go(func() {
					statuses[i] = s.Do(t, apptest.Request{Method: "POST", URL: c.url("/subscriptions"), Token: c.tok,
						Body: subscriptionBody("racer " + strconv.Itoa(i))}).Status
				})
			}
			wg.Wait()
			count := map[int]int{}
			for _, st := range statuses {
				count[st]++
			}
			if count[http.StatusCreated] != 10 || count[http.StatusForbidden] != 10 {
				t.Errorf("racing creates answered %v, want 10 × 201 and 10 × 403", count)
			}
			if n := len(c.list(t, "/subscriptions", "subscriptions")); n != 50 {
				t.Errorf("%d subscriptions, want 50", n)
			}
		})
	}
}
