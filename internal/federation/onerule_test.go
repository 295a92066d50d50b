package federation_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// The three ways a user comes to be — the management API, registration in
// a sign-on flow, and just-in-time provisioning from a provider — apply
// one set of rules (internal/identity). These tests give each way the same
// usernames and email addresses.

const (
	ctRegister = "application/vnd.pingidentity.user.register+json"
	ctVerify   = "application/vnd.pingidentity.user.verify+json"
	// regPassword satisfies the Standard password policy.
	regPassword = "Qx7#mZ2!vLp9@wRt"
)

// oneRule is a destination environment whose LOGIN action offers
// registration and the fake provider, which maps sub to the username (the
// CORE mapping) and email ALWAYS.
type oneRule struct {
	d  *rp
	op *fakeOP
}

func newOneRule(t *testing.T, dsn string) *oneRule {
	s := apptest.Start(t, apptest.Options{DSN: dsn})
	x := &oneRule{d: &rp{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{})}, op: startFakeOP(t)}
	idp := x.d.addProvider(t, "Fake", map[string]any{"clientId": fakeClientID, "clientSecret": fakeSecret, "issuer": x.op.srv.URL,
		"authorizationEndpoint": x.op.srv.URL + "/authorize", "tokenEndpoint": x.op.srv.URL + "/token", "jwksEndpoint": x.op.srv.URL + "/jwks"})
	x.d.api(t, "POST", x.d.envPath()+"/identityProviders/"+idp+"/attributes",
		map[string]string{"name": "email", "value": "${providerAttributes.email}", "update": "ALWAYS"}, http.StatusCreated)
	x.d.usePolicy(t, map[string]any{"type": "LOGIN", "priority": 1, "socialProviders": []map[string]string{{"id": idp}},
		"registration": map[string]any{"enabled": true, "population": map[string]string{"id": x.d.fx.PopulationID}}})
	return x
}

// create is POST /users.
func (x *oneRule) create(t *testing.T, username, email string) *apptest.Response {
	t.Helper()
	return x.d.s.Do(t, apptest.Request{Method: "POST", URL: x.d.envPath() + "/users", Token: x.d.s.AdminToken(t),
		Body: map[string]any{"username": username, "email": email}})
}

// register starts a flow in a new browser and sends user.register.
func (x *oneRule) register(t *testing.T, username, email string) (*agent, string, *reply) {
	t.Helper()
	a := newAgent(t)
	fl := x.d.startPiFlow(t, a, "reg-"+uuid.NewString()[:8], oauth2.GenerateVerifier())
	flowURL := x.d.base() + "/flows/" + jstr(fl, "id")
	body, _ := json.Marshal(map[string]string{"username": username, "email": email, "password": regPassword})
	return a, flowURL, a.send("POST", flowURL, ctRegister, string(body))
}

// federate signs on at the fake provider, in a new browser, as an identity
// with these sub and email claims, and returns the flow after the
// callback.
func (x *oneRule) federate(t *testing.T, sub, email string) map[string]any {
	t.Helper()
	a := newAgent(t)
	fl := x.d.startPiFlow(t, a, "jit-"+uuid.NewString()[:8], oauth2.GenerateVerifier())
	authz := x.d.authenticateAt(t, a, fl)
	code := "code-" + uuid.NewString()
	c := x.op.claims(authz.Query().Get("nonce"))
	c["sub"], c["email"] = sub, email
	x.op.answer(code, tokens(sign(t, x.op.key, fakeKID, c)))
	l := a.get(x.d.callbackURL() + "?" + url.Values{"code": {code}, "state": {authz.Query().Get("state")}}.Encode()).location(t)
	r := a.get(l.String())
	expectStatus(t, r, http.StatusOK)
	return r.object(t)
}

func (x *oneRule) deleteUser(t *testing.T, id string) {
	t.Helper()
	x.d.api(t, "DELETE", x.d.envPath()+"/users/"+id, nil, http.StatusNoContent)
}

// oneDetail is the single detail of a 400 INVALID_DATA answer.
func oneDetail(t *testing.T, status int, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil || status != http.StatusBadRequest || m["code"] != "INVALID_DATA" {
		t.Fatalf("answer %d %s, want 400 INVALID_DATA", status, body)
	}
	ds, _ := m["details"].([]any)
	if len(ds) != 1 {
		t.Fatalf("details %v, want one", m["details"])
	}
	return ds[0].(map[string]any)
}

// TestOneUserRule: the same username or email address is accepted by
// every way, or refused by every way with the same detail (the flow of a
// provider sign-on fails with it, naming the attribute).
func TestOneUserRule(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newOneRule(t, be.DSN(t))
			tag := uuid.NewString()[:8]
			cases := []struct {
				name            string
				username, email string
				// refused is the detail's "code target" ("" when accepted).
				refused string
			}{
				// Registration refused spaces in usernames; PingOne allows them.
				{"a space in the username", "Ada Lovelace " + tag, "ada." + tag + "@example.com", ""},
				// mail.ParseAddress (registration's old rule) refused both.
				{"a quoted part of the local part", "quoted." + tag, `ada."l` + tag + `"@example.com`, ""},
				{"parentheses in the local part", "parens." + tag, "ada(" + tag + ")@example.com", ""},
				// The management API's old rule took these; PingOne's list has no % or space.
				{"a % in the email", "percent." + tag, "ada%" + tag + "@example.com", "INVALID_VALUE email"},
				{"a space in the email", "spaced." + tag, "ada " + tag + "@example.com", "INVALID_VALUE email"},
				// Provisioning checked nothing; PingOne refuses control and format characters.
				{"a tab in the username", "tab\t" + tag, "tab." + tag + "@example.com", "INVALID_VALUE username"},
				{"a zero-width space in the username", "zero\u200bwidth" + tag, "zw." + tag + "@example.com", "INVALID_VALUE username"},
				{"a username of 129 characters", tag + strings.Repeat("u", 121), "long." + tag + "@example.com", "SIZE_LIMIT_EXCEEDED username"},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					// 1. The management API.
					r := x.create(t, tc.username, tc.email)
					var want map[string]any
					if tc.refused == "" {
						if r.Status != http.StatusCreated {
							t.Fatalf("POST /users: %d %s", r.Status, r.Body)
						}
						u := r.JSON(t)
						expectFields(t, "created user", u, map[string]any{"username": tc.username, "email": tc.email})
						x.deleteUser(t, jstr(u, "id"))
					} else {
						want = oneDetail(t, r.Status, r.Body)
						if got := jstr(want, "code") + " " + jstr(want, "target"); got != tc.refused || jstr(want, "message") == "" {
							t.Fatalf("POST /users detail %v, want %s", want, tc.refused)
						}
					}

					// 2. Registration: the same answer, with the same detail.
					_, _, reg := x.register(t, tc.username, tc.email)
					if tc.refused == "" {
						expectStatus(t, reg, http.StatusOK)
						fl := reg.object(t)
						expectFields(t, "registration", fl, map[string]any{"status": "VERIFICATION_CODE_REQUIRED", "_embedded.user.username": tc.username})
						u := x.d.api(t, "GET", x.d.envPath()+"/users/"+jstr(fl, "_embedded.user.id"), nil, http.StatusOK)
						expectFields(t, "registered user", u, map[string]any{"username": tc.username, "email": tc.email,
							"lifecycle.status": "VERIFICATION_REQUIRED", "identityProvider.type": "PING_ONE"})
						x.deleteUser(t, jstr(u, "id"))
					} else if got := oneDetail(t, reg.status, reg.body); !jsonEqual(got, want) {
						t.Errorf("registration detail %v, the management API's %v", got, want)
					}

					// 3. Just-in-time provisioning: sub is the username.
					fl := x.federate(t, tc.username, tc.email)
					if tc.refused == "" {
						expectFields(t, "provisioned", fl, map[string]any{"status": "COMPLETED", "_embedded.user.username": tc.username})
						u := x.d.api(t, "GET", x.d.envPath()+"/users/"+jstr(fl, "_embedded.user.id"), nil, http.StatusOK)
						expectFields(t, "provisioned user", u, map[string]any{"username": tc.username, "email": tc.email,
							"identityProvider.type": "OPENID_CONNECT"})
						return
					}
					expectFields(t, "refused provisioning", fl, map[string]any{"status": "FAILED", "error": map[string]any{"code": "server_error",
						"message": "The identity provider Fake gave the user attribute " + jstr(want, "target") +
							" a value it does not accept: " + jstr(want, "message")}})
					users := x.d.api(t, "GET", x.d.envPath()+"/users?filter="+url.QueryEscape(`email eq "`+tc.email+`"`), nil, http.StatusOK)
					expectFields(t, "users after a refused provisioning", users, map[string]any{"count": 0})
				})
			}
		})
	}
}

// TestOneUserRuleAtSignOn: a linked user's sign-on checks the values the
// mappings would write by the same rules; a refused one fails the flow
// and writes nothing.
func TestOneUserRuleAtSignOn(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newOneRule(t, be.DSN(t))
			sub, email := "Grace Hopper", "grace@example.com"
			fl := x.federate(t, sub, email)
			expectFields(t, "provisioned", fl, map[string]any{"status": "COMPLETED", "_embedded.user.username": sub})
			id := jstr(fl, "_embedded.user.id")
			before := x.d.api(t, "GET", x.d.envPath()+"/users/"+id, nil, http.StatusOK)

			fl = x.federate(t, sub, "grace%hopper@example.com")
			expectFields(t, "sign-on with a refused email", fl, map[string]any{"status": "FAILED", "error": map[string]any{"code": "server_error",
				"message": "The identity provider Fake gave the user attribute email a value it does not accept: The value must be an email address."}})
			if after := x.d.api(t, "GET", x.d.envPath()+"/users/"+id, nil, http.StatusOK); !jsonEqual(after, before) {
				t.Errorf("the user changed:\nbefore %v\nafter  %v", before, after)
			}

			fl = x.federate(t, sub, "grace.hopper@example.com")
			expectFields(t, "sign-on with a new email", fl, map[string]any{"status": "COMPLETED", "_embedded.user.id": id})
			expectFields(t, "updated user", x.d.api(t, "GET", x.d.envPath()+"/users/"+id, nil, http.StatusOK),
				map[string]any{"email": "grace.hopper@example.com", "username": sub})
		})
	}
}

// TestRegisteredUserAsManaged: a user who registered and verified the
// email address is a user like any other to the management API: PATCH
// (which merges into the user as read) keeps working, and verifyStatus is
// one of PingOne's values.
func TestRegisteredUserAsManaged(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newOneRule(t, be.DSN(t))
			username, email := "Nia Newcomer", "nia@example.com"
			a, flowURL, reg := x.register(t, username, email)
			expectStatus(t, reg, http.StatusOK)
			id := jstr(reg.object(t), "_embedded.user.id")
			m, ok := x.d.s.Mail.Last(email)
			if !ok || m.Kind != "verification" {
				t.Fatalf("no verification code for %s: %+v", email, m)
			}
			r := a.send("POST", flowURL, ctVerify, `{"verificationCode":"`+m.Code+`"}`)
			expectStatus(t, r, http.StatusOK)
			expectFields(t, "verified", r.object(t), map[string]any{"status": "COMPLETED"})

			u := x.d.api(t, "GET", x.d.envPath()+"/users/"+id, nil, http.StatusOK)
			expectFields(t, "verified user", u, map[string]any{"lifecycle.status": "ACCOUNT_OK", "verifyStatus": "NOT_INITIATED"})
			u = x.d.api(t, "PATCH", x.d.envPath()+"/users/"+id, map[string]any{"title": "Engineer"}, http.StatusOK)
			expectFields(t, "patched user", u, map[string]any{"username": username, "email": email, "title": "Engineer",
				"lifecycle.status": "ACCOUNT_OK", "verifyStatus": "NOT_INITIATED"})
		})
	}
}
