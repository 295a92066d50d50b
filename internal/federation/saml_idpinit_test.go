package federation_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// TestSAMLIdPInitiated: the samlidp starts the sign-on (its shortcut's
// RelayState is PingOne's applicationId=…&applicationUrl=…): the user is
// registered just in time and signed on, the browser goes on to the deep
// link, and the application's own authorize request then finds the
// session (single sign-on) and gets an ID token for that user. A Response
// replayed, for an unknown application, with an InResponseTo, or a deep
// link outside the application are refused before any flow or session.
func TestSAMLIdPInitiated(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newSAMLRP(t, be.DSN(t), wire.SAMLBindingRedirect, false)
			x.usePolicy(t, map[string]any{"type": "LOGIN", "priority": 1,
				"registration":    map[string]any{"enabled": true, "population": map[string]string{"id": x.fx.PopulationID}},
				"socialProviders": []map[string]string{{"id": x.provID}}})
			email := "fay." + uuid.NewString()[:8] + "@example.org"
			x.idp.addUser(t, "fay", "fay-secret-1", email, "Fay", "Lin")
			deep := "https://app.example.com/reports/42?tab=summary"
			relay := url.Values{"applicationId": {x.fx.AppID}, "applicationUrl": {deep}}.Encode()
			sc, _ := json.Marshal(map[string]any{"name": "gatehouse", "service_provider": "urn:gatehouse:" + x.fx.EnvID, "relay_state": relay})
			x.idp.put(t, "/shortcuts/gatehouse", string(sc))

			a := newAgent(t)
			expectStatus(t, a.postForm(x.idp.srv.URL+"/login", url.Values{"user": {"fay"}, "password": {"fay-secret-1"}}), http.StatusOK)
			action, posted := form(t, a.get(x.idp.srv.URL+"/login/gatehouse"))
			if action != x.acsURL() || posted.Get("RelayState") != relay {
				t.Fatalf("the samlidp posts %v to %s", posted, action)
			}
			l := a.postForm(action, posted).location(t)
			if l.Path != "/"+x.fx.EnvID+"/signon/" || l.Query().Get("flowId") == "" {
				t.Fatalf("the ACS sent the browser to %s", l)
			}
			flowID := l.Query().Get("flowId")
			r := a.get(x.base() + "/flows/" + flowID)
			expectStatus(t, r, http.StatusOK)
			fl := r.object(t)
			userID := jstr(fl, "_embedded.user.id")
			expectFields(t, "flow", fl, map[string]any{"status": "COMPLETED", "_embedded.user.username": email,
				"resumeUrl": x.base() + "/saml20/sp/resume?flowId=" + flowID})
			if got := a.get(jstr(fl, "resumeUrl")).location(t).String(); got != deep {
				t.Fatalf("resume sent the browser to %s, want %s", got, deep)
			}
			// Once.
			expectStatus(t, a.get(jstr(fl, "resumeUrl")), http.StatusNotFound)

			// The application's own sign-on: the session answers at once.
			cb := a.get(x.oauth().AuthCodeURL("sso", oidc.Nonce("n-sso"))).location(t)
			if got := cb.Scheme + "://" + cb.Host + cb.Path; got != x.fx.RedirectURI || cb.Query().Get("code") == "" {
				t.Fatalf("authorize sent the browser to %s", cb)
			}
			ctx := context.Background()
			tok, err := x.oauth().Exchange(ctx, cb.Query().Get("code"))
			if err != nil {
				t.Fatal(err)
			}
			op, err := oidc.NewProvider(ctx, x.base()+"/as")
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := tok.Extra("id_token").(string)
			idt, err := op.Verifier(&oidc.Config{ClientID: x.fx.AppID}).Verify(ctx, raw)
			if err != nil {
				t.Fatal(err)
			}
			if idt.Subject != userID || userID == "" {
				t.Errorf("ID token sub %s, want %s", idt.Subject, userID)
			}
			expectFields(t, "registered user", x.api(t, "GET", x.envPath()+"/users/"+userID, nil, http.StatusOK), map[string]any{
				"email": email, "identityProvider": map[string]any{"type": "SAML", "id": x.provID}})

			// A username taken locally: an IdP-initiated answer never offers
			// to link it (anyone could post their own provider account into
			// this browser and have its user link it with their password).
			// The flow fails, naming why; nothing is linked or changed.
			hal := "hal." + uuid.NewString()[:8] + "@example.org"
			x.idp.addUser(t, "hal", "hal-secret-1", hal, "Hal", "Ode")
			local := x.s.CreateUser(t, x.fx.EnvID, x.fx.PopulationID, hal, "", "Hal", "Local", x.fx.Password)
			b := newAgent(t)
			expectStatus(t, b.postForm(x.idp.srv.URL+"/login", url.Values{"user": {"hal"}, "password": {"hal-secret-1"}}), http.StatusOK)
			action, posted2 := form(t, b.get(x.idp.srv.URL+"/login/gatehouse"))
			l = b.postForm(action, posted2).location(t)
			flowURL := x.base() + "/flows/" + l.Query().Get("flowId")
			r = b.get(flowURL)
			expectStatus(t, r, http.StatusOK)
			fl = r.object(t)
			expectFields(t, "no linking", fl, map[string]any{"status": "FAILED"})
			if _, ok := fl["_links"].(map[string]any)["usernamePassword.check"]; ok {
				t.Fatalf("an IdP-initiated flow offers to link an account: %v", fl)
			}
			r = b.get(jstr(fl, "resumeUrl"))
			expectStatus(t, r, http.StatusBadRequest)
			if msg, _ := r.object(t)["message"].(string); !strings.Contains(msg, "Linking an account needs a sign-on started at the application") {
				t.Fatalf("resume of the refused flow: %s", r.body)
			}
			la := x.api(t, "GET", x.envPath()+"/users/"+local+"/linkedAccounts", nil, http.StatusOK)
			if n, _ := la["count"].(float64); n != 0 {
				t.Fatalf("the local account was linked: %v", la)
			}

			good := x.forger(t, x.idp.key, x.idp.cert, x.idp.entityID())
			otherApp := (&rp{s: x.s, fx: x.s.NewSignOn(t, apptest.SignOnOptions{})}).fx.AppID
			refusals := []struct {
				name   string
				form   url.Values
				status int
				want   map[string]any
			}{
				{"replayed", posted, http.StatusBadRequest, map[string]any{"code": "REQUEST_FAILED",
					"message": "The SAML response of the identity provider Corporate was refused: the assertion was already used."}},
				{"with an InResponseTo", url.Values{"SAMLResponse": {good.response(t, "id-unasked", email, nil)}, "RelayState": {relay}},
					http.StatusBadRequest, map[string]any{"code": "REQUEST_FAILED",
						"message": "The SAML response of the identity provider Corporate was refused: it does not answer the request of this sign-on."}},
				{"an unknown application", url.Values{"SAMLResponse": {good.response(t, "", email, nil)}, "RelayState": {"applicationId=" + uuid.NewString()}},
					http.StatusBadRequest, wireError(wire.InvalidRequest(wire.InvalidValue("RelayState", "The RelayState names no OpenID Connect application of the environment.")))},
				{"another environment's application", url.Values{"SAMLResponse": {good.response(t, "", email, nil)}, "RelayState": {"applicationId=" + otherApp}},
					http.StatusBadRequest, wireError(wire.InvalidRequest(wire.InvalidValue("RelayState", "The RelayState names no OpenID Connect application of the environment.")))},
				{"a deep link elsewhere", url.Values{"SAMLResponse": {good.response(t, "", email, nil)},
					"RelayState": {url.Values{"applicationId": {x.fx.AppID}, "applicationUrl": {"https://evil.example/phish"}}.Encode()}},
					http.StatusBadRequest, wireError(wire.InvalidRequest(wire.InvalidValue("RelayState", "The applicationUrl is not a URL of the application "+x.fx.AppName+".")))},
				{"an unknown issuer", url.Values{"SAMLResponse": {x.forger(t, x.idp.key, x.idp.cert, "https://impostor.example/md").response(t, "", email, nil)},
					"RelayState": {relay}}, http.StatusBadRequest,
					wireError(wire.InvalidRequest(wire.InvalidValue("SAMLResponse", "No SAML identity provider of the environment has the Response's issuer.")))},
			}
			// An application whose policy (the environment's default) does
			// not offer the provider.
			unoffered := jstr(x.api(t, "POST", x.envPath()+"/applications", map[string]any{"enabled": true, "name": "Unoffered",
				"type": "WEB_APP", "protocol": "OPENID_CONNECT", "grantTypes": []string{"AUTHORIZATION_CODE"}, "responseTypes": []string{"CODE"},
				"redirectUris": []string{"https://other.example.com/cb"}, "homePageUrl": "https://other.example.com/",
				"tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"}, http.StatusCreated), "id")
			refusals = append(refusals, struct {
				name   string
				form   url.Values
				status int
				want   map[string]any
			}{"an application whose policy does not offer the provider",
				url.Values{"SAMLResponse": {good.response(t, "", email, nil)}, "RelayState": {"applicationId=" + unoffered}}, http.StatusBadRequest,
				map[string]any{"code": "REQUEST_FAILED", "message": "The sign-on policy of the application Unoffered does not offer the identity provider Corporate."}})
			for _, tc := range refusals {
				t.Run(tc.name, func(t *testing.T) {
					b := newAgent(t)
					r := b.postForm(x.acsURL(), tc.form)
					expectError(t, r, tc.status, tc.want)
					if sc := r.header.Get("Set-Cookie"); strings.Contains(sc, "ST") {
						t.Errorf("a refused Response set a cookie: %s", sc)
					}
				})
			}
		})
	}
}
