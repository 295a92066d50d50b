package federation_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// The external identity provider sign-on workflow of PingOne's workflow
// library, step by step, with two Gatehouse environments: the source is the
// OpenID provider, the destination federates to it.

type hop struct {
	status int
	header http.Header
	body   []byte
}

func (h *hop) obj(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(h.body, &m); err != nil {
		t.Fatalf("not JSON (%d): %s", h.status, h.body)
	}
	return m
}

func newJar(t *testing.T) *http.Client { return apptest.Browser(t) }

func send(t *testing.T, c *http.Client, method, u, contentType, body string, basic ...string) *hop {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if len(basic) == 2 {
		req.SetBasicAuth(basic[0], basic[1])
	}
	req.Header.Set("Accept", "*/*")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return &hop{status: resp.StatusCode, header: resp.Header, body: b}
}

func must(t *testing.T, h *hop, status int) *hop {
	t.Helper()
	if h.status != status {
		t.Fatalf("status %d, want %d: %s", h.status, status, h.body)
	}
	return h
}

func str(t *testing.T, v any, path ...string) string {
	t.Helper()
	cur := v
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			t.Fatalf("%v: no object at %s", path, p)
		}
		cur = m[p]
	}
	s, ok := cur.(string)
	if !ok {
		t.Fatalf("%v is %T (%v), not a string", path, cur, cur)
	}
	return s
}

const ctCheck = "application/vnd.pingidentity.usernamePassword.check+json"

// workflow is the set-up of the workflow (tasks 1 and 2).
type workflow struct {
	s                        *apptest.Server
	admin                    string
	source, dest             string // environment ids
	sourceApp, sourceSecret  string
	destApp, destSecret      string
	idp, policy              string
	sourceUser, destUser     string
	sourceUsername, destName string
	password                 string
}

func (w *workflow) api(t *testing.T, method, path string, body any, want int) map[string]any {
	t.Helper()
	r := w.s.Do(t, apptest.Request{Method: method, URL: path, Token: w.admin, Body: body})
	if r.Status != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, r.Status, want, r.Body)
	}
	if len(r.Body) == 0 {
		return nil
	}
	return r.JSON(t)
}

func setUp(t *testing.T, s *apptest.Server) *workflow {
	ts := fmt.Sprint(time.Now().UnixNano())
	w := &workflow{s: s, admin: s.AdminToken(t), password: "Workflow-Pass-2026!"}
	auth := s.URL
	env := func(name string) string {
		return w.api(t, "POST", "/environments", map[string]any{"name": name + "_" + ts, "description": "External IdP workflow",
			"type": "SANDBOX", "region": "NA", "license": map[string]string{"id": s.LicenseID(t)},
			"billOfMaterials": map[string]any{"products": []map[string]string{{"type": "PING_ONE_BASE"}}}}, 201)["id"].(string)
	}
	// Task 1: environments, the source application and its secret, the
	// identity provider, the sign-on policy and its action, the
	// destination application.
	w.source, w.dest = env("Source_Environment"), env("Destination_Environment")
	w.sourceApp = w.api(t, "POST", "/environments/"+w.source+"/applications", map[string]any{"enabled": true, "name": "SourceApp_" + ts,
		"type": "WEB_APP", "protocol": "OPENID_CONNECT", "grantTypes": []string{"AUTHORIZATION_CODE"},
		"postLogoutRedirectUris": []string{"https://example.com/logout"},
		"redirectUris":           []string{auth + "/" + w.dest + "/rp/callback/openid_connect"}, "responseTypes": []string{"CODE"},
		"tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC", "pkceEnforcement": "OPTIONAL", "refreshTokenDuration": 86400,
		"refreshTokenRollingDuration": 86400}, 201)["id"].(string)
	w.sourceSecret = w.api(t, "GET", "/environments/"+w.source+"/applications/"+w.sourceApp+"/secret", nil, 200)["secret"].(string)
	src := auth + "/" + w.source + "/as"
	w.idp = w.api(t, "POST", "/environments/"+w.dest+"/identityProviders", map[string]any{"description": "The source environment",
		"enabled": true, "name": "IdentityProvider_" + ts, "type": "OPENID_CONNECT", "clientId": w.sourceApp, "clientSecret": w.sourceSecret,
		"authorizationEndpoint": src + "/authorize", "tokenEndpoint": src + "/token", "userInfoEndpoint": src + "/userinfo",
		"jwksEndpoint": src + "/jwks", "issuer": src, "discoveryEndpoint": src + "/.well-known/openid-configuration",
		"scopes": []string{"openid", "profile", "email"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"}, 201)["id"].(string)
	w.policy = w.api(t, "POST", "/environments/"+w.dest+"/signOnPolicies", map[string]any{"name": "OIDC_Policy_" + ts, "default": false,
		"description": "Sign on through the source environment"}, 201)["id"].(string)
	w.api(t, "POST", "/environments/"+w.dest+"/signOnPolicies/"+w.policy+"/actions", map[string]any{"type": "IDENTIFIER_FIRST",
		"condition": map[string]any{"greater": 600, "secondsSince": "${session.lastSignOn.withAuthenticator.pwd.at}"},
		"priority":  10, "recovery": map[string]bool{"enabled": false}, "socialProviders": []map[string]string{{"id": w.idp}}}, 201)
	w.api(t, "PUT", "/environments/"+w.dest+"/signOnPolicies/"+w.policy, map[string]any{"name": "OIDC_Policy_" + ts, "default": true}, 200)
	w.destApp = w.api(t, "POST", "/environments/"+w.dest+"/applications", map[string]any{"enabled": true, "name": "DestinationApp_" + ts,
		"type": "WEB_APP", "protocol": "OPENID_CONNECT", "grantTypes": []string{"AUTHORIZATION_CODE"}, "responseTypes": []string{"CODE"},
		"redirectUris": []string{"https://example.com"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"}, 201)["id"].(string)
	w.destSecret = w.api(t, "GET", "/environments/"+w.dest+"/applications/"+w.destApp+"/secret", nil, 200)["secret"].(string)

	// Task 2: populations, users and their passwords.
	w.addUsers(t, ts)
	return w
}

// addUsers makes a user with a password in each environment, each in a
// population of its own (the workflow's task 2).
func (w *workflow) addUsers(t *testing.T, ts string) {
	user := func(envID, name, given, family string) string {
		pop := w.api(t, "POST", "/environments/"+envID+"/populations", map[string]any{"name": "Population_" + name}, 201)["id"].(string)
		id := w.api(t, "POST", "/environments/"+envID+"/users", map[string]any{"email": name + "@example.com",
			"name": map[string]string{"given": given, "family": family}, "population": map[string]string{"id": pop}, "username": name}, 201)["id"].(string)
		r := w.s.Do(t, apptest.Request{Method: "PUT", URL: "/environments/" + envID + "/users/" + id + "/password", Token: w.admin,
			ContentType: "application/vnd.pingidentity.password.set+json", Body: map[string]any{"value": w.password, "forceChange": false}})
		if r.Status != 200 {
			t.Fatalf("password: %s", r.Body)
		}
		return id
	}
	w.sourceUsername, w.destName = "source_user_"+ts, "destination_user_"+ts
	w.sourceUser = user(w.source, w.sourceUsername, "Sally", "Source")
	w.destUser = user(w.dest, w.destName, "Joey", "SimpleLoginUser")
}

// signOn runs the test steps in c up to the callback (T1–T6) and returns
// the destination flow as the callback leaves it, and its id. checkSource
// says whether the source still needs the user's password (a new browser).
func (w *workflow) signOn(t *testing.T, c *http.Client, checkSource bool) (map[string]any, string) {
	t.Helper()
	auth := w.s.URL
	// T1: authorize at the destination with pi.flow.
	h := must(t, send(t, c, "GET", auth+"/"+w.dest+"/as/authorize?"+url.Values{"response_type": {"code"}, "client_id": {w.destApp},
		"redirect_uri": {"https://example.com"}, "scope": {"openid"}, "response_mode": {"pi.flow"}}.Encode(), "", ""), 200)
	fl := h.obj(t)
	flowID := str(t, fl, "id")
	if fl["status"] != "SIGN_ON_REQUIRED" {
		t.Fatalf("T1 status %v", fl["status"])
	}
	sps, _ := fl["_embedded"].(map[string]any)["socialProviders"].([]any)
	if len(sps) != 1 {
		t.Fatalf("T1 socialProviders: %s", h.body)
	}
	sp := sps[0].(map[string]any)
	wantAuth := auth + "/" + w.dest + "/rp/authenticate?" + url.Values{"flowId": {flowID}, "providerId": {w.idp}}.Encode()
	if sp["id"] != w.idp || sp["type"] != "OPENID_CONNECT" || !strings.HasPrefix(str(t, sp, "name"), "IdentityProvider_") || str(t, sp, "_links", "authenticate", "href") != wantAuth {
		t.Fatalf("T1 social provider %v", sp)
	}

	// T2: rp/authenticate → the source's authorize endpoint.
	h = must(t, send(t, c, "GET", auth+"/"+w.dest+"/rp/authenticate?providerId="+w.idp+"&flowId="+flowID, "", ""), 302)
	loc, _ := url.Parse(h.header.Get("Location"))
	q := loc.Query()
	callback := auth + "/" + w.dest + "/rp/callback/openid_connect"
	if loc.Scheme+"://"+loc.Host+loc.Path != auth+"/"+w.source+"/as/authorize" || q.Get("client_id") != w.sourceApp ||
		q.Get("redirect_uri") != callback || q.Get("scope") != "openid profile email" || q.Get("response_type") != "code" ||
		q.Get("state") == "" || q.Get("nonce") == "" {
		t.Fatalf("T2 Location %s", loc)
	}
	state, nonce := q.Get("state"), q.Get("nonce")

	// T3: authorize at the source, as the workflow builds it.
	h = must(t, send(t, c, "GET", auth+"/"+w.source+"/as/authorize?"+url.Values{"response_type": {"code"}, "redirect_uri": {callback},
		"scope": {"openid"}, "client_id": {w.sourceApp}, "nonce": {nonce}, "state": {state}, "response_mode": {"pi.flow"}}.Encode(), "", ""), 200)
	src := h.obj(t)
	srcFlow := str(t, src, "id")
	if checkSource {
		if src["status"] != "USERNAME_PASSWORD_REQUIRED" {
			t.Fatalf("T3 status %v", src["status"])
		}
		must(t, send(t, c, "GET", auth+"/"+w.source+"/flows/"+srcFlow, "", ""), 200) // T3b
		// T4: the source user's credentials.
		h = must(t, send(t, c, "POST", auth+"/"+w.source+"/flows/"+srcFlow, ctCheck,
			`{"username":"`+w.sourceUsername+`","password":"`+w.password+`"}`), 200)
		if st := h.obj(t)["status"]; st != "COMPLETED" {
			t.Fatalf("T4 status %v", st)
		}
	} else if src["status"] != "COMPLETED" {
		t.Fatalf("T3 with a source session: status %v", src["status"])
	}
	// T5: resume at the source → its code.
	h = must(t, send(t, c, "GET", auth+"/"+w.source+"/as/resume?flowId="+srcFlow, "", ""), 200)
	code := str(t, h.obj(t), "authorizeResponse", "code")
	if got := str(t, h.obj(t), "authorizeResponse", "state"); got != state {
		t.Fatalf("T5 state %q", got)
	}

	// T6: the callback at the destination → back to the destination flow.
	h = must(t, send(t, c, "GET", callback+"?"+url.Values{"code": {code}, "state": {state}, "nonce": {nonce}}.Encode(), "", ""), 302)
	if l := h.header.Get("Location"); l != auth+"/"+w.dest+"/flows/"+flowID {
		t.Fatalf("T6 Location %s", l)
	}
	// T7: read the destination flow.
	h = must(t, send(t, c, "GET", auth+"/"+w.dest+"/flows/"+flowID, "", ""), 200)
	return h.obj(t), flowID
}

func TestExternalIdPWorkflow(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			w := setUp(t, s)
			auth := s.URL
			c := newJar(t)

			fl, flowID := w.signOn(t, c, true)
			if fl["status"] != "ACCOUNT_LINKING_REQUIRED" {
				t.Fatalf("T7 status %v: %v", fl["status"], fl)
			}
			links := fl["_links"].(map[string]any)
			if _, ok := links["usernamePassword.check"]; !ok {
				t.Fatalf("T7 links %v", links)
			}
			if id := str(t, fl, "_embedded", "identityProvider", "id"); id != w.idp {
				t.Errorf("T7 identityProvider %s", id)
			}

			// T8: the destination user's credentials link the account.
			h := must(t, send(t, c, "POST", auth+"/"+w.dest+"/flows/"+flowID, ctCheck,
				`{"username":"`+w.destName+`","password":"`+w.password+`"}`), 200)
			done := h.obj(t)
			if done["status"] != "COMPLETED" {
				t.Fatalf("T8 status %v", done["status"])
			}
			sessionID := str(t, done, "session", "id")

			// T9: resume — PingOne's documented body, key for key.
			h = must(t, send(t, c, "GET", auth+"/"+w.dest+"/as/resume?flowId="+flowID, "", ""), 200)
			got := h.obj(t)
			apptest.CheckResumeShape(t, h.body)
			base := auth + "/" + w.dest
			for path, v := range map[string][2]string{
				"id":                         {str(t, got, "id"), flowID},
				"environment.id":             {str(t, got, "environment", "id"), w.dest},
				"session.id":                 {str(t, got, "session", "id"), sessionID},
				"status":                     {str(t, got, "status"), "COMPLETED"},
				"resumeUrl":                  {str(t, got, "resumeUrl"), base + "/as/resume?flowId=" + flowID},
				"_links.self.href":           {str(t, got, "_links", "self", "href"), base + "/flows/" + flowID},
				"_links.signOnPage.href":     {str(t, got, "_links", "signOnPage", "href"), base + "/signon/?flowId=" + flowID},
				"_embedded.user.id":          {str(t, got, "_embedded", "user", "id"), w.destUser},
				"_embedded.user.username":    {str(t, got, "_embedded", "user", "username"), w.destName},
				"_embedded.user.name.given":  {str(t, got, "_embedded", "user", "name", "given"), "Joey"},
				"_embedded.user.name.family": {str(t, got, "_embedded", "user", "name", "family"), "SimpleLoginUser"},
				"_embedded.application.name": {str(t, got, "_embedded", "application", "name"), w.api(t, "GET", "/environments/"+w.dest+"/applications/"+w.destApp, nil, 200)["name"].(string)},
			} {
				if v[0] != v[1] {
					t.Errorf("%s = %q, want %q", path, v[0], v[1])
				}
			}
			code := str(t, got, "authorizeResponse", "code")

			// The link exists, with the source user's subject.
			la := w.api(t, "GET", "/environments/"+w.dest+"/users/"+w.destUser+"/linkedAccounts", nil, 200)
			items, _ := la["_embedded"].(map[string]any)["linkedAccounts"].([]any)
			if len(items) != 1 || str(t, items[0], "externalId") != w.sourceUser || str(t, items[0], "identityProvider", "id") != w.idp {
				t.Fatalf("linkedAccounts %v", la)
			}

			// T10: the code exchanges for tokens whose amr records the federation.
			h = must(t, send(t, c, "POST", auth+"/"+w.dest+"/as/token", "application/x-www-form-urlencoded",
				url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://example.com"}}.Encode(), w.destApp, w.destSecret), 200)
			var tok struct {
				IDToken string `json:"id_token"`
			}
			json.Unmarshal(h.body, &tok)
			claims := jwtClaims(t, tok.IDToken)
			amr, _ := claims["amr"].([]any)
			if claims["sub"] != w.destUser || claims["sid"] != sessionID || !slices.Contains(amr, any("fed")) || !slices.Contains(amr, any("pwd")) {
				t.Errorf("id token claims %v", claims)
			}

			// A second sign-on of the same external user, in a new browser,
			// skips linking: the callback completes the flow.
			c2 := newJar(t)
			fl2, flow2 := w.signOn(t, c2, true)
			if fl2["status"] != "COMPLETED" || str(t, fl2, "_embedded", "user", "id") != w.destUser {
				t.Fatalf("second sign-on: %v", fl2)
			}
			h = must(t, send(t, c2, "GET", auth+"/"+w.dest+"/as/resume?flowId="+flow2, "", ""), 200)
			h = must(t, send(t, c2, "POST", auth+"/"+w.dest+"/as/token", "application/x-www-form-urlencoded",
				url.Values{"grant_type": {"authorization_code"}, "code": {str(t, h.obj(t), "authorizeResponse", "code")},
					"redirect_uri": {"https://example.com"}}.Encode(), w.destApp, w.destSecret), 200)
			json.Unmarshal(h.body, &tok)
			if amr, _ := jwtClaims(t, tok.IDToken)["amr"].([]any); !reflect.DeepEqual(amr, []any{"fed"}) {
				t.Errorf("second sign-on amr %v", amr)
			}
			// The same browser again: both environments' sessions answer at once.
			fl3, _ := w.signOn(t, c2, false)
			if fl3["status"] != "COMPLETED" {
				t.Errorf("third sign-on status %v", fl3["status"])
			}
		})
	}
}

func jwtClaims(t *testing.T, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", raw)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}

// TestIdentityProviderActionBetweenEnvironments: a policy whose action is IDENTITY_PROVIDER
// goes straight to the provider (EXTERNAL_AUTHENTICATION_REQUIRED), passing
// the action's acrValues on; an already linked user completes at the
// callback.
func TestIdentityProviderActionBetweenEnvironments(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	w := setUp(t, s)
	auth := s.URL
	// Link the source user to the destination user up front, as an
	// administrator can.
	r := s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + w.dest + "/users/" + w.destUser + "/linkedAccounts", Token: w.admin,
		ContentType: "application/vnd.pingidentity.account.link+json",
		Body:        map[string]any{"identityProvider": map[string]string{"id": w.idp}, "externalId": w.sourceUser}})
	if r.Status != http.StatusCreated {
		t.Fatalf("link: %d %s", r.Status, r.Body)
	}
	pol := w.api(t, "POST", "/environments/"+w.dest+"/signOnPolicies", map[string]any{"name": "Straight_To_Source"}, 201)["id"].(string)
	w.api(t, "POST", "/environments/"+w.dest+"/signOnPolicies/"+pol+"/actions", map[string]any{"type": "IDENTITY_PROVIDER", "priority": 1,
		"identityProvider": map[string]string{"id": w.idp}, "acrValues": "Single_Factor", "passUserContext": false}, 201)
	w.api(t, "POST", "/environments/"+w.dest+"/applications/"+w.destApp+"/signOnPolicyAssignments",
		map[string]any{"priority": 1, "signOnPolicy": map[string]string{"id": pol}}, 201)

	c := newJar(t)
	h := must(t, send(t, c, "GET", auth+"/"+w.dest+"/as/authorize?"+url.Values{"response_type": {"code"}, "client_id": {w.destApp},
		"redirect_uri": {"https://example.com"}, "scope": {"openid"}, "response_mode": {"pi.flow"}}.Encode(), "", ""), 200)
	fl := h.obj(t)
	flowID := str(t, fl, "id")
	if fl["status"] != "EXTERNAL_AUTHENTICATION_REQUIRED" || str(t, fl, "_embedded", "identityProvider", "id") != w.idp {
		t.Fatalf("flow %s", h.body)
	}
	if _, ok := fl["_links"].(map[string]any)["usernamePassword.check"]; ok {
		t.Errorf("EXTERNAL_AUTHENTICATION_REQUIRED offers usernamePassword.check")
	}
	authURL := str(t, fl, "_embedded", "identityProvider", "_links", "authenticate", "href")
	h = must(t, send(t, c, "GET", authURL, "", ""), 302)
	loc, _ := url.Parse(h.header.Get("Location"))
	q := loc.Query()
	if q.Get("acr_values") != "Single_Factor" {
		t.Errorf("acr_values %q", q.Get("acr_values"))
	}
	// The source's own authorize, followed as a browser would (redirect
	// mode this time): sign-on page, flow API, resume → the callback.
	h = must(t, send(t, c, "GET", loc.String(), "", ""), 302)
	signon, _ := url.Parse(h.header.Get("Location"))
	srcFlow := signon.Query().Get("flowId")
	must(t, send(t, c, "POST", auth+"/"+w.source+"/flows/"+srcFlow, ctCheck, `{"username":"`+w.sourceUsername+`","password":"`+w.password+`"}`), 200)
	h = must(t, send(t, c, "GET", auth+"/"+w.source+"/as/resume?flowId="+srcFlow, "", ""), 302)
	cb := h.header.Get("Location")
	if !strings.HasPrefix(cb, auth+"/"+w.dest+"/rp/callback/openid_connect?") {
		t.Fatalf("source resume went to %s", cb)
	}
	h = must(t, send(t, c, "GET", cb, "", ""), 302)
	if l := h.header.Get("Location"); l != auth+"/"+w.dest+"/flows/"+flowID {
		t.Fatalf("callback went to %s", l)
	}
	h = must(t, send(t, c, "GET", auth+"/"+w.dest+"/flows/"+flowID, "", ""), 200)
	if fl := h.obj(t); fl["status"] != "COMPLETED" || str(t, fl, "_embedded", "user", "id") != w.destUser {
		t.Fatalf("after callback: %s", h.body)
	}
	// The replayed callback finds nothing.
	h = must(t, send(t, c, "GET", cb, "", ""), 400)
	if b := h.obj(t); b["code"] != "INVALID_REQUEST" || str(t, b["details"].([]any)[0], "target") != "state" {
		t.Errorf("replay: %s", h.body)
	}
}
