package idp_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/crewjam/saml"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// status is the top and second-level status of a posted Response, and
// whether it carries an assertion.
func status(t *testing.T, samlResponse string) (top, second string, assertion bool) {
	t.Helper()
	root := parseResponse(t, samlResponse)
	sc := root.FindElement("./Status/StatusCode")
	if sc == nil {
		t.Fatalf("no status in the Response")
	}
	if in := sc.FindElement("./StatusCode"); in != nil {
		second = in.SelectAttrValue("Value", "")
	}
	return sc.SelectAttrValue("Value", ""), second, root.FindElement("./Assertion") != nil
}

// TestPassiveAndForced: IsPassive without a session answers NoPassive to
// the ACS (no sign-on page); with one it signs on at once; ForceAuthn
// shows the sign-on page despite the session; both together are
// NoPassive.
func TestPassiveAndForced(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			x := newFixture(t, b)
			sp := newServiceProvider(t)
			app := x.samlApp(t, sp, appOptions{})
			sp.configure(t, x, app.ID, saml.HTTPRedirectBinding, false)
			a := newAgent(t)

			r := request(t, x, sp)
			r.IsPassive = ptr(true)
			action, v := a.get(redirectURL(t, sp, r)).form(t)
			if action != sp.acs() {
				t.Fatalf("NoPassive posted to %s", action)
			}
			if top, second, asrt := status(t, v.Get("SAMLResponse")); top != saml.StatusResponder || second != saml.StatusNoPassive || asrt {
				t.Fatalf("IsPassive without a session: %s / %s, assertion %v", top, second, asrt)
			}
			if v.Get("RelayState") != "rs" {
				t.Fatalf("RelayState %q", v.Get("RelayState"))
			}
			if res := a.postForm(action, v); res.status == http.StatusFound || sp.accepted() != 0 {
				t.Fatalf("the SP signed on with a NoPassive answer: %d", res.status)
			}

			// Signed on.
			flowID := x.signOnPage(t, a.get(redirectURL(t, sp, request(t, x, sp))).location(t))
			toSP(t, a, sp, a.get(x.password(t, a, flowID)))

			r = request(t, x, sp)
			r.IsPassive = ptr(true)
			_, v = a.get(redirectURL(t, sp, r)).form(t)
			if top, _, asrt := status(t, v.Get("SAMLResponse")); top != saml.StatusSuccess || !asrt {
				t.Fatalf("IsPassive with a session: %s, assertion %v", top, asrt)
			}

			r = request(t, x, sp)
			r.ForceAuthn = ptr(true)
			x.signOnPage(t, a.get(redirectURL(t, sp, r)).location(t))

			r = request(t, x, sp)
			r.ForceAuthn, r.IsPassive = ptr(true), ptr(true)
			_, v = a.get(redirectURL(t, sp, r)).form(t)
			if top, second, _ := status(t, v.Get("SAMLResponse")); top != saml.StatusResponder || second != saml.StatusNoPassive {
				t.Fatalf("ForceAuthn and IsPassive: %s / %s", top, second)
			}
		})
	}
}

// TestResume: saml20/resume answers only SAML flows, once, in the browser
// that started them, and only while the application still takes the
// answer; as/resume refuses SAML flows.
func TestResume(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			x := newFixture(t, b)
			sp := newServiceProvider(t)
			app := x.samlApp(t, sp, appOptions{})
			sp.configure(t, x, app.ID, saml.HTTPRedirectBinding, false)

			start := func(a *agent) string {
				return x.signOnPage(t, a.get(redirectURL(t, sp, request(t, x, sp))).location(t))
			}

			t.Run("in progress goes back to the sign-on page", func(t *testing.T) {
				a := newAgent(t)
				id := start(a)
				if l := a.get(x.base() + "/saml20/resume?flowId=" + id).location(t); x.signOnPage(t, l) != id {
					t.Fatalf("resume sent the browser to %s", l)
				}
			})
			t.Run("once", func(t *testing.T) {
				a := newAgent(t)
				resume := x.password(t, a, start(a))
				toSP(t, a, sp, a.get(resume))
				refused(t, a.get(resume), 404, "NOT_FOUND", "")
			})
			t.Run("another browser", func(t *testing.T) {
				a := newAgent(t)
				resume := x.password(t, a, start(a))
				r := newAgent(t).get(resume)
				if r.status < 400 || r.status >= 500 || r.header.Get("Location") != "" {
					t.Fatalf("another browser's resume: %d %s", r.status, r.body)
				}
			})
			t.Run("as/resume refuses a SAML flow", func(t *testing.T) {
				a := newAgent(t)
				id := start(a)
				x.password(t, a, id)
				refused(t, a.get(x.base()+"/as/resume?flowId="+id), 400, "INVALID_REQUEST", "flowId")
				// The SAML resume still answers it.
				toSP(t, a, sp, a.get(x.base()+"/saml20/resume?flowId="+id))
			})
			t.Run("saml20/resume refuses an OpenID Connect flow", func(t *testing.T) {
				a := newAgent(t)
				authz := x.base() + "/as/authorize?" + url.Values{"client_id": {x.fx.AppID}, "redirect_uri": {x.fx.RedirectURI},
					"response_type": {"code"}, "scope": {"openid"}, "state": {"s"}}.Encode()
				id := x.signOnPage(t, a.get(authz).location(t))
				b, _ := json.Marshal(map[string]string{"username": x.fx.Username, "password": x.fx.Password})
				if r := a.do("POST", x.base()+"/flows/"+id, "application/vnd.pingidentity.usernamePassword.check+json", string(b)); r.status != 200 {
					t.Fatalf("password: %d %s", r.status, r.body)
				}
				refused(t, a.get(x.base()+"/saml20/resume?flowId="+id), 400, "INVALID_REQUEST", "flowId")
			})
			t.Run("application disabled during sign-on", func(t *testing.T) {
				sp2 := newServiceProvider(t)
				app2 := x.samlApp(t, sp2, appOptions{})
				sp2.configure(t, x, app2.ID, saml.HTTPRedirectBinding, false)
				a := newAgent(t)
				resume := x.password(t, a, x.signOnPage(t, a.get(redirectURL(t, sp2, request(t, x, sp2))).location(t)))
				x.updateApp(t, app2.ID, func(a map[string]any) { a["enabled"] = false })
				refused(t, a.get(resume), 400, "INVALID_REQUEST", "flowId")
			})
			t.Run("ACS removed during sign-on", func(t *testing.T) {
				sp2 := newServiceProvider(t)
				app2 := x.samlApp(t, sp2, appOptions{})
				sp2.configure(t, x, app2.ID, saml.HTTPRedirectBinding, false)
				a := newAgent(t)
				resume := x.password(t, a, x.signOnPage(t, a.get(redirectURL(t, sp2, request(t, x, sp2))).location(t)))
				x.updateApp(t, app2.ID, func(a map[string]any) { a["acsUrls"] = []string{"https://elsewhere.example.com/acs"} })
				refused(t, a.get(resume), 400, "INVALID_REQUEST", "flowId")
				if sp2.accepted() != 0 {
					t.Fatal("the SP got an assertion")
				}
			})
		})
	}
}

// TestSignedACS: with enableAlwaysAcceptAcsUrlInSignedAuthnRequest, a
// signed AuthnRequest may name an ACS the application does not list, and
// the Response goes there; an unsigned one may not.
func TestSignedACS(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			x := newFixture(t, b)
			sp := newServiceProvider(t)
			other := newServiceProvider(t) // its ACS is not registered
			app := x.samlApp(t, sp, appOptions{acceptSignedACS: true, certs: []string{x.certificate(t, x.fx.EnvID, sp.cert)}})
			sp.configure(t, x, app.ID, saml.HTTPRedirectBinding, true)

			r := request(t, x, sp)
			r.AssertionConsumerServiceURL = other.acs()
			a := newAgent(t)
			resume := x.password(t, a, x.signOnPage(t, a.get(redirectURL(t, sp, r)).location(t)))
			action, _ := a.get(resume).form(t)
			if action != other.acs() {
				t.Fatalf("the Response went to %s, not the signed request's ACS", action)
			}

			sp.configure(t, x, app.ID, saml.HTTPRedirectBinding, false)
			r = request(t, x, sp)
			r.AssertionConsumerServiceURL = other.acs()
			refused(t, newAgent(t).get(redirectURL(t, sp, r)), 400, "INVALID_REQUEST", "AssertionConsumerServiceURL")
		})
	}
}

// TestRequiredAttribute: a required attribute mapping without a value for
// the user fails the sign-on: the ACS gets Responder/RequestDenied and no
// assertion.
func TestRequiredAttribute(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			x := newFixture(t, b)
			sp := newServiceProvider(t)
			app := x.samlApp(t, sp, appOptions{})
			x.mapping(t, app.ID, map[string]any{"name": "nickname", "value": "${user.nickname}", "required": true})
			sp.configure(t, x, app.ID, saml.HTTPRedirectBinding, false)
			a := newAgent(t)
			resume := x.password(t, a, x.signOnPage(t, a.get(redirectURL(t, sp, request(t, x, sp))).location(t)))
			action, v := a.get(resume).form(t)
			if action != sp.acs() {
				t.Fatalf("posted to %s", action)
			}
			if top, second, asrt := status(t, v.Get("SAMLResponse")); top != saml.StatusResponder || second != saml.StatusRequestDenied || asrt {
				t.Fatalf("%s / %s, assertion %v", top, second, asrt)
			}
		})
	}
}

// TestAccessDenied: a user the application does not admit (its access
// control) gets Responder/RequestDenied at the ACS, no assertion.
func TestAccessDenied(t *testing.T) {
	x := newFixture(t, apptest.Backends()[0])
	sp := newServiceProvider(t)
	app := x.samlApp(t, sp, appOptions{adminsOnly: true})
	sp.configure(t, x, app.ID, saml.HTTPPostBinding, false)
	a := newAgent(t)
	flowID := x.signOnPage(t, toIdP(t, a, x, a.get(sp.srv.URL+"/hello")).location(t))
	b, _ := json.Marshal(map[string]string{"username": x.fx.Username, "password": x.fx.Password})
	r := a.do("POST", x.base()+"/flows/"+flowID, "application/vnd.pingidentity.usernamePassword.check+json", string(b))
	if f := r.object(t); f["status"] != "FAILED" {
		t.Fatalf("the flow of a user not admitted: %s", r.body)
	}
	_, v := a.get(x.base() + "/saml20/resume?flowId=" + flowID).form(t)
	if top, second, asrt := status(t, v.Get("SAMLResponse")); top != saml.StatusResponder || second != saml.StatusRequestDenied || asrt {
		t.Fatalf("%s / %s, assertion %v", top, second, asrt)
	}
}
