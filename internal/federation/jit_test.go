package federation_test

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// source is a second Gatehouse environment acting as the OpenID provider
// (PingOne's workflow, steps 1–15): a WEB_APP whose redirect URI is the
// destination's callback, and its users.
type source struct {
	s  *apptest.Server
	fx *apptest.SignOn
}

func (src *source) base() string { return src.s.URL + "/" + src.fx.EnvID }

// providerBody is the destination's identity provider for the source,
// as step 5 of the workflow writes it.
func (src *source) providerBody() map[string]any {
	as := src.base() + "/as"
	return map[string]any{"clientId": src.fx.AppID, "clientSecret": src.fx.AppSecret, "issuer": as,
		"authorizationEndpoint": as + "/authorize", "tokenEndpoint": as + "/token", "userInfoEndpoint": as + "/userinfo",
		"jwksEndpoint": as + "/jwks", "discoveryEndpoint": as + "/.well-known/openid-configuration", "pkceMethod": "S256"}
}

// signOn plays the source's sign-on page from the authorization request
// the destination sent the browser with: the user's password, then
// resume, whose redirect (to the destination's callback) is returned. A
// browser with a session at the source goes straight back.
func (src *source) signOn(t *testing.T, a *agent, authz *url.URL, username, password, callback string) *url.URL {
	t.Helper()
	l := a.get(authz.String()).location(t)
	if strings.HasPrefix(l.String(), callback+"?") {
		return l
	}
	if l.Path != "/"+src.fx.EnvID+"/signon/" || l.Query().Get("flowId") == "" {
		t.Fatalf("the source sent the browser to %s", l)
	}
	r := a.check(src.base()+"/flows/"+l.Query().Get("flowId"), username, password)
	expectStatus(t, r, http.StatusOK)
	fl := r.object(t)
	if jstr(fl, "status") != "COMPLETED" {
		t.Fatalf("source flow: %s", r.body)
	}
	cb := a.get(jstr(fl, "resumeUrl")).location(t)
	if !strings.HasPrefix(cb.String(), callback+"?") {
		t.Fatalf("the source resumed to %s", cb)
	}
	return cb
}

// federate signs on at the destination through provider idp as a source
// user, in a new browser, and returns the flow after the callback.
func federate(t *testing.T, d *rp, src *source, idp, username, password, state, verifier string) (*agent, map[string]any) {
	t.Helper()
	a := newAgent(t)
	fl := d.startPiFlow(t, a, state, verifier)
	href := ""
	for i := 0; jpath(fl, "_embedded.socialProviders."+itoa(i)) != nil; i++ {
		if jstr(fl, "_embedded.socialProviders."+itoa(i)+".id") == idp {
			href = jstr(fl, "_embedded.socialProviders."+itoa(i)+"._links.authenticate.href")
		}
	}
	if href == "" {
		t.Fatalf("the flow does not offer %s: %v", idp, fl)
	}
	authz := a.get(href).location(t)
	cb := src.signOn(t, a, authz, username, password, d.callbackURL())
	if l := a.get(cb.String()).location(t).String(); l != d.base()+"/flows/"+jstr(fl, "id") {
		t.Fatalf("callback sent the browser to %s", l)
	}
	r := a.get(d.base() + "/flows/" + jstr(fl, "id"))
	expectStatus(t, r, http.StatusOK)
	return a, r.object(t)
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestJustInTimeRegistration: a LOGIN action with registration enabled
// makes a user of an unknown external identity, in the provider's
// registration population before the action's; later sign-ons find the
// same user and refresh it by the mappings' update policies.
func TestJustInTimeRegistration(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			d := &rp{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{})}
			src := &source{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{App: map[string]any{"redirectUris": []string{d.callbackURL()}}})}

			popP := jstr(d.api(t, "POST", d.envPath()+"/populations", map[string]any{"name": "Registered_P"}, http.StatusCreated), "id")
			popQ := jstr(d.api(t, "POST", d.envPath()+"/populations", map[string]any{"name": "Federated_Q"}, http.StatusCreated), "id")
			withPop := src.providerBody()
			withPop["registration"] = map[string]any{"population": map[string]string{"id": popQ}}
			idpQ := d.addProvider(t, "Source_Q", withPop)
			idp := d.addProvider(t, "Source", src.providerBody())
			for _, id := range []string{idpQ, idp} {
				for _, m := range []map[string]string{
					{"name": "email", "value": "${providerAttributes.email}", "update": "ALWAYS"},
					{"name": "name.given", "value": "${providerAttributes.given_name}", "update": "EMPTY_ONLY"},
					{"name": "name.family", "value": "${providerAttributes.family_name}", "update": "EMPTY_ONLY"},
				} {
					d.api(t, "POST", d.envPath()+"/identityProviders/"+id+"/attributes", m, http.StatusCreated)
				}
			}
			d.usePolicy(t, map[string]any{"type": "LOGIN", "priority": 1,
				"registration":    map[string]any{"enabled": true, "population": map[string]string{"id": popP}},
				"socialProviders": []map[string]string{{"id": idpQ}, {"id": idp}}})

			// 1. An unknown external identity: registered and signed on at once.
			verifier := oauth2.GenerateVerifier()
			a, fl := federate(t, d, src, idpQ, src.fx.Username, src.fx.Password, "jit-1", verifier)
			newID := jstr(fl, "_embedded.user.id")
			expectFields(t, "flow after the callback", fl, map[string]any{"status": "COMPLETED", "_embedded.user.username": src.fx.UserID})
			if newID == "" || newID == d.fx.UserID {
				t.Fatalf("registered user %q", newID)
			}
			claims := d.redeem(t, a, fl, "jit-1", verifier)
			if claims["sub"] != newID || !slices.Equal(amr(claims), []string{"fed"}) {
				t.Errorf("ID token sub %v amr %v, want %s [fed]", claims["sub"], claims["amr"], newID)
			}
			user := d.api(t, "GET", d.envPath()+"/users/"+newID, nil, http.StatusOK)
			expectFields(t, "registered user", user, map[string]any{
				"username":         src.fx.UserID, // the CORE mapping: ${providerAttributes.sub}
				"email":            src.fx.Email,
				"name":             map[string]any{"given": src.fx.Given, "family": src.fx.Family},
				"population.id":    popQ,
				"identityProvider": map[string]any{"type": "OPENID_CONNECT", "id": idpQ},
				"enabled":          true,
			})
			links := d.api(t, "GET", d.envPath()+"/users/"+newID+"/linkedAccounts", nil, http.StatusOK)
			expectFields(t, "linkedAccounts", links, map[string]any{"count": 1,
				"_embedded.linkedAccounts.0.identityProvider.id": idpQ,
				"_embedded.linkedAccounts.0.externalId":          src.fx.UserID,
				"_embedded.linkedAccounts.0.user.id":             newID,
			})

			// 2. The same identity again: the same user, nobody new.
			_, fl = federate(t, d, src, idpQ, src.fx.Username, src.fx.Password, "jit-2", oauth2.GenerateVerifier())
			expectFields(t, "second sign-on", fl, map[string]any{"status": "COMPLETED", "_embedded.user.id": newID})
			inQ := d.api(t, "GET", d.envPath()+"/users?filter="+url.QueryEscape(`population.id eq "`+popQ+`"`), nil, http.StatusOK)
			if n := len(jpath(inQ, "_embedded.users").([]any)); n != 1 {
				t.Errorf("population Q holds %d users, want 1: %v", n, inQ)
			}

			// 3. The source user changes; the next sign-on brings the
			// ALWAYS mapping's value over and leaves the EMPTY_ONLY ones,
			// except where the local value is empty.
			newEmail := "moved." + uuid.NewString()[:8] + "@example.org"
			d.api(t, "PATCH", "/environments/"+src.fx.EnvID+"/users/"+src.fx.UserID,
				map[string]any{"email": newEmail, "name": map[string]any{"given": "Josephine", "family": "Renamed"}}, http.StatusOK)
			d.api(t, "PATCH", d.envPath()+"/users/"+newID, map[string]any{"name": map[string]any{"family": nil}}, http.StatusOK)
			_, fl = federate(t, d, src, idpQ, src.fx.Username, src.fx.Password, "jit-3", oauth2.GenerateVerifier())
			expectFields(t, "third sign-on", fl, map[string]any{"status": "COMPLETED", "_embedded.user.id": newID})
			user = d.api(t, "GET", d.envPath()+"/users/"+newID, nil, http.StatusOK)
			expectFields(t, "updated user", user, map[string]any{
				"username": src.fx.UserID,
				"email":    newEmail,                                                   // ALWAYS
				"name":     map[string]any{"given": src.fx.Given, "family": "Renamed"}, // EMPTY_ONLY: kept; filled
			})

			// 4. A provider without a registration population: the
			// action's. Another source user, so another new user.
			other := "ann." + uuid.NewString()[:8]
			otherID := s.CreateUser(t, src.fx.EnvID, src.fx.PopulationID, other, other+"@example.com", "Ann", "Other", src.fx.Password)
			_, fl = federate(t, d, src, idp, other, src.fx.Password, "jit-4", oauth2.GenerateVerifier())
			otherNew := jstr(fl, "_embedded.user.id")
			expectFields(t, "sign-on through the second provider", fl, map[string]any{"status": "COMPLETED", "_embedded.user.username": otherID})
			user = d.api(t, "GET", d.envPath()+"/users/"+otherNew, nil, http.StatusOK)
			expectFields(t, "user of the second provider", user, map[string]any{
				"username": otherID, "email": other + "@example.com", "population.id": popP,
				"identityProvider": map[string]any{"type": "OPENID_CONNECT", "id": idp},
			})

			// 5. The username registration would take is a local user's:
			// nobody is registered; the user links that account instead,
			// and the mappings fill it.
			cara := "cara." + uuid.NewString()[:8]
			caraID := s.CreateUser(t, src.fx.EnvID, src.fx.PopulationID, cara, cara+"@example.com", "Cara", "Source", src.fx.Password)
			local := s.CreateUser(t, d.fx.EnvID, d.fx.PopulationID, caraID, "", "Cara", "Local", d.fx.Password)
			verifier = oauth2.GenerateVerifier()
			a, fl = federate(t, d, src, idp, cara, src.fx.Password, "jit-5", verifier)
			flowURL := d.base() + "/flows/" + jstr(fl, "id")
			expectFields(t, "username taken", fl, map[string]any{"status": "ACCOUNT_LINKING_REQUIRED",
				"_embedded.identityProvider": map[string]any{"id": idp, "type": "OPENID_CONNECT", "name": "Source"}})
			r := a.check(flowURL, caraID, d.fx.Password)
			expectStatus(t, r, http.StatusOK)
			fl = r.object(t)
			expectFields(t, "linked", fl, map[string]any{"status": "COMPLETED", "_embedded.user.id": local})
			claims = d.redeem(t, a, fl, "jit-5", verifier)
			if !slices.Equal(amr(claims), []string{"fed", "pwd"}) {
				t.Errorf("amr %v", claims["amr"])
			}
			expectFields(t, "linked user", d.api(t, "GET", d.envPath()+"/users/"+local, nil, http.StatusOK), map[string]any{
				"email": cara + "@example.com", "name": map[string]any{"given": "Cara", "family": "Local"}, "population.id": d.fx.PopulationID,
			})
			expectFields(t, "linkedAccounts", d.api(t, "GET", d.envPath()+"/users/"+local+"/linkedAccounts", nil, http.StatusOK),
				map[string]any{"count": 1, "_embedded.linkedAccounts.0.identityProvider.id": idp, "_embedded.linkedAccounts.0.externalId": caraID})
		})
	}
}
