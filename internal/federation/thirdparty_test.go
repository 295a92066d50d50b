package federation_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/uuid"
	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// ---- a browser, shared by the tests of this package's files

// agent is a browser: one cookie jar for every host, and no redirect
// followed, so that each hop is checked.
type agent struct {
	t *testing.T
	c *http.Client
}

func newAgent(t *testing.T) *agent {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &agent{t: t, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// reply is one answered request.
type reply struct {
	url    *url.URL
	status int
	header http.Header
	body   []byte
}

func (a *agent) send(method, u, contentType, body string) *reply {
	a.t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	// PingOne's samples send */*: a strict Accept gets 406 there.
	req.Header.Set("Accept", "*/*")
	resp, err := a.c.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return &reply{url: req.URL, status: resp.StatusCode, header: resp.Header, body: b}
}

func (a *agent) get(u string) *reply { a.t.Helper(); return a.send("GET", u, "", "") }

// check sends usernamePassword.check to a flow.
func (a *agent) check(flowURL, username, password string) *reply {
	a.t.Helper()
	b, _ := json.Marshal(map[string]string{"username": username, "password": password})
	return a.send("POST", flowURL, "application/vnd.pingidentity.usernamePassword.check+json", string(b))
}

func (r *reply) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("%s answered %d, not a JSON object: %s", r.url, r.status, r.body)
	}
	return m
}

// location is the redirect target, resolved against the request.
func (r *reply) location(t *testing.T) *url.URL {
	t.Helper()
	if r.status != http.StatusFound && r.status != http.StatusSeeOther {
		t.Fatalf("%s answered %d, want a redirect: %s", r.url, r.status, r.body)
	}
	l, err := r.url.Parse(r.header.Get("Location"))
	if err != nil {
		t.Fatalf("Location %q: %v", r.header.Get("Location"), err)
	}
	return l
}

func expectStatus(t *testing.T, r *reply, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("%s answered %d, want %d: %s", r.url, r.status, want, r.body)
	}
}

// jpath reads a JSON value by a dotted path; numbers index arrays. Keys
// may hold dots themselves (_links.usernamePassword.check).
func jpath(v any, path string) any { return walk(v, strings.Split(path, ".")) }

func walk(v any, parts []string) any {
	if len(parts) == 0 {
		return v
	}
	switch x := v.(type) {
	case map[string]any:
		for i := len(parts); i > 0; i-- {
			if c, ok := x[strings.Join(parts[:i], ".")]; ok {
				return walk(c, parts[i:])
			}
		}
	case []any:
		if i, err := strconv.Atoi(parts[0]); err == nil && i >= 0 && i < len(x) {
			return walk(x[i], parts[1:])
		}
	}
	return nil
}

func jstr(v any, path string) string { s, _ := jpath(v, path).(string); return s }

// expectFields compares fields of a JSON value by path.
func expectFields(t *testing.T, what string, v any, want map[string]any) {
	t.Helper()
	for _, k := range sortedKeys(want) {
		if got := jpath(v, k); !jsonEqual(got, want[k]) {
			t.Errorf("%s: %s = %#v, want %#v", what, k, got, want[k])
		}
	}
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// ---- the destination environment, configured through the management API

// rp is a Gatehouse environment whose sign-on federates out: the
// NewSignOn fixture (a web application and a local user) plus providers
// and the policy that offers them.
type rp struct {
	s  *apptest.Server
	fx *apptest.SignOn
}

func (d *rp) base() string        { return d.s.URL + "/" + d.fx.EnvID }
func (d *rp) callbackURL() string { return d.base() + "/rp/callback/openid_connect" }
func (d *rp) envPath() string     { return "/environments/" + d.fx.EnvID }

// api calls the management API as the administrator and checks the status.
func (d *rp) api(t *testing.T, method, path string, body any, want int) map[string]any {
	t.Helper()
	r := d.s.Do(t, apptest.Request{Method: method, URL: path, Token: d.s.AdminToken(t), Body: body})
	if r.Status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, want, r.Body)
	}
	if len(r.Body) == 0 {
		return nil
	}
	return r.JSON(t)
}

// addProvider creates an OPENID_CONNECT identity provider (the body of
// step 5 of PingOne's workflow, with over's members added or replaced).
func (d *rp) addProvider(t *testing.T, name string, over map[string]any) string {
	t.Helper()
	body := map[string]any{"description": "a provider for " + t.Name(), "enabled": true, "name": name, "type": "OPENID_CONNECT",
		"scopes": []string{"openid", "profile", "email"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"}
	for k, v := range over {
		body[k] = v
	}
	return jstr(d.api(t, "POST", d.envPath()+"/identityProviders", body, http.StatusCreated), "id")
}

// usePolicy makes a sign-on policy of the given actions the application's.
func (d *rp) usePolicy(t *testing.T, actions ...map[string]any) string {
	t.Helper()
	pol := jstr(d.api(t, "POST", d.envPath()+"/signOnPolicies", map[string]any{"name": "Federated_" + uuid.NewString()[:8],
		"default": false, "description": "sign-on with an external provider"}, http.StatusCreated), "id")
	for _, a := range actions {
		d.api(t, "POST", d.envPath()+"/signOnPolicies/"+pol+"/actions", a, http.StatusCreated)
	}
	d.api(t, "POST", d.envPath()+"/applications/"+d.fx.AppID+"/signOnPolicyAssignments",
		map[string]any{"priority": 1, "signOnPolicy": map[string]string{"id": pol}}, http.StatusCreated)
	return pol
}

// oauth is the application's OAuth client at Gatehouse.
func (d *rp) oauth() *oauth2.Config {
	return &oauth2.Config{ClientID: d.fx.AppID, ClientSecret: d.fx.AppSecret, RedirectURL: d.fx.RedirectURI,
		Scopes:   []string{oidc.ScopeOpenID, "profile", "email"},
		Endpoint: oauth2.Endpoint{AuthURL: d.base() + "/as/authorize", TokenURL: d.base() + "/as/token"}}
}

// startPiFlow authorizes with response_mode=pi.flow and returns the flow.
func (d *rp) startPiFlow(t *testing.T, a *agent, state string, verifier string) map[string]any {
	t.Helper()
	r := a.get(d.oauth().AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce("n-"+state),
		oauth2.SetAuthURLParam("response_mode", "pi.flow")))
	expectStatus(t, r, http.StatusOK)
	return r.object(t)
}

// authenticateAt follows the flow's social provider link to the provider
// and returns the provider's authorization request.
func (d *rp) authenticateAt(t *testing.T, a *agent, fl map[string]any) *url.URL {
	t.Helper()
	href := jstr(fl, "_embedded.socialProviders.0._links.authenticate.href")
	if href == "" {
		t.Fatalf("the flow offers no provider: %v", fl)
	}
	return a.get(href).location(t)
}

// redeem resumes a COMPLETED pi.flow flow and exchanges its code; it
// returns the verified ID token's claims.
func (d *rp) redeem(t *testing.T, a *agent, fl map[string]any, state, verifier string) map[string]any {
	t.Helper()
	r := a.get(jstr(fl, "resumeUrl"))
	expectStatus(t, r, http.StatusOK)
	resumed := r.object(t)
	if got := jstr(resumed, "authorizeResponse.state"); got != state {
		t.Errorf("authorizeResponse.state = %q, want %q", got, state)
	}
	ctx := context.Background()
	tok, err := d.oauth().Exchange(ctx, jstr(resumed, "authorizeResponse.code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	p, err := oidc.NewProvider(ctx, d.base()+"/as")
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := p.Verifier(&oidc.Config{ClientID: d.fx.AppID}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("ID token: %v", err)
	}
	if idt.Nonce != "n-"+state {
		t.Errorf("ID token nonce %q", idt.Nonce)
	}
	var claims map[string]any
	idt.Claims(&claims)
	return claims
}

// amr is an ID token's amr claim.
func amr(claims map[string]any) []string {
	var out []string
	for _, v := range claims["amr"].([]any) {
		out = append(out, v.(string))
	}
	slices.Sort(out)
	return out
}

// ---- zitadel/oidc's example OpenID provider

// zitadelOP is the example provider of github.com/zitadel/oidc: its own
// login form, its in-memory users, and one web client registered with
// Gatehouse's callback.
type zitadelOP struct {
	srv      *httptest.Server
	issuer   string
	user     *storage.User
	clientID string
	secret   string
}

func startZitadelOP(t *testing.T, redirectURI string) *zitadelOP {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	users := storage.NewUserStore(issuer)
	op := &zitadelOP{srv: srv, issuer: issuer, user: users.GetUserByID("id1"), clientID: "gatehouse-" + uuid.NewString()[:8], secret: uuid.NewString()}
	// Its own client table: the package-level one is shared by every test.
	st := storage.NewStorageWithClients(users, map[string]*storage.Client{op.clientID: storage.WebClient(op.clientID, op.secret, redirectURI)})
	// The example logs every request through slog's default logger.
	quietOnce.Do(func() { slog.SetDefault(slog.New(slog.DiscardHandler)) })
	srv.Config.Handler = exampleop.SetupServer(issuer, st, nil, false)
	srv.Start()
	t.Cleanup(srv.Close)
	return op
}

// discovery reads the provider's endpoints as an administrator would,
// into the members of Gatehouse's identity provider body.
func (op *zitadelOP) discovery(t *testing.T) map[string]any {
	t.Helper()
	resp, err := http.Get(op.issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d struct {
		Issuer        string `json:"issuer"`
		Authorization string `json:"authorization_endpoint"`
		Token         string `json:"token_endpoint"`
		UserInfo      string `json:"userinfo_endpoint"`
		JWKS          string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil || d.Issuer != op.issuer {
		t.Fatalf("discovery: %v %+v", err, d)
	}
	return map[string]any{"clientId": op.clientID, "clientSecret": op.secret, "issuer": d.Issuer,
		"authorizationEndpoint": d.Authorization, "tokenEndpoint": d.Token, "userInfoEndpoint": d.UserInfo, "jwksEndpoint": d.JWKS,
		"discoveryEndpoint": op.issuer + "/.well-known/openid-configuration"}
}

var quietOnce sync.Once

var hiddenID = regexp.MustCompile(`name="id" value="([^"]+)"`)

// signOn drives the provider's pages from its authorization request: its
// login form is filled in as the user, and the redirects are followed
// until one leaves for Gatehouse's callback, which is returned.
func (op *zitadelOP) signOn(t *testing.T, a *agent, authz *url.URL, callback string) *url.URL {
	t.Helper()
	next := authz.String()
	for range 10 {
		r := a.get(next)
		switch r.status {
		case http.StatusFound, http.StatusSeeOther:
			l := r.location(t)
			if strings.HasPrefix(l.String(), callback+"?") {
				return l
			}
			next = l.String()
		case http.StatusOK:
			m := hiddenID.FindSubmatch(r.body)
			if m == nil {
				t.Fatalf("%s: no login form: %s", r.url, r.body)
			}
			form := url.Values{"id": {string(m[1])}, "username": {op.user.Username}, "password": {op.user.Password}}
			p := a.send("POST", op.issuer+"/login/username", "application/x-www-form-urlencoded", form.Encode())
			next = p.location(t).String()
		default:
			t.Fatalf("%s answered %d: %s", r.url, r.status, r.body)
		}
	}
	t.Fatal("the provider never sent the browser back")
	return nil
}

// TestThirdPartyProviderSignOn signs on at Gatehouse through an OpenID
// provider Gatehouse did not write (zitadel/oidc's example provider, with
// its login form and PKCE): the first time the external account is linked
// to a local one by password, the second time the link alone signs on.
func TestThirdPartyProviderSignOn(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			d := &rp{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{})}
			op := startZitadelOP(t, d.callbackURL())
			idpName := "Zitadel_" + uuid.NewString()[:8]
			conf := op.discovery(t)
			conf["pkceMethod"] = "S256"
			idp := d.addProvider(t, idpName, conf)
			d.usePolicy(t, map[string]any{"type": "LOGIN", "priority": 1, "socialProviders": []map[string]string{{"id": idp}}})

			// 1. The flow offers the provider beside the password.
			a := newAgent(t)
			verifier := oauth2.GenerateVerifier()
			fl := d.startPiFlow(t, a, "first", verifier)
			flowID := jstr(fl, "id")
			expectFields(t, "flow", fl, map[string]any{
				"status":                      "USERNAME_PASSWORD_REQUIRED",
				"_embedded.socialProviders.0": map[string]any{"id": idp, "type": "OPENID_CONNECT", "name": idpName, "_links": map[string]any{"authenticate": map[string]any{"href": d.base() + "/rp/authenticate?flowId=" + flowID + "&providerId=" + idp}}},
				"_embedded.socialProviders.1": nil,
			})

			// 2. rp/authenticate: to the provider, with state, nonce and PKCE.
			authz := d.authenticateAt(t, a, fl)
			q := authz.Query()
			if got := authz.Scheme + "://" + authz.Host + authz.Path; got != op.issuer+"/auth" {
				t.Errorf("authorization endpoint %s", got)
			}
			for k, want := range map[string]string{"response_type": "code", "client_id": op.clientID, "redirect_uri": d.callbackURL(),
				"scope": "openid profile email", "code_challenge_method": "S256"} {
				if q.Get(k) != want {
					t.Errorf("%s = %q, want %q", k, q.Get(k), want)
				}
			}
			if !strings.HasPrefix(q.Get("state"), flowID+".") || q.Get("nonce") == "" || q.Get("code_challenge") == "" {
				t.Errorf("state %q nonce %q code_challenge %q", q.Get("state"), q.Get("nonce"), q.Get("code_challenge"))
			}

			// 3. The user signs on at the provider, which sends the browser
			// back; Gatehouse sends it on to the flow.
			cb := op.signOn(t, a, authz, d.callbackURL())
			if cb.Query().Get("state") != q.Get("state") || cb.Query().Get("code") == "" {
				t.Fatalf("callback %s", cb)
			}
			back := a.get(cb.String())
			if l := back.location(t).String(); l != d.base()+"/flows/"+flowID {
				t.Fatalf("callback sent the browser to %s", l)
			}

			// 4. An external account nobody linked: the user proves a local one.
			r := a.get(d.base() + "/flows/" + flowID)
			expectStatus(t, r, http.StatusOK)
			fl = r.object(t)
			expectFields(t, "linking flow", fl, map[string]any{
				"status":                        "ACCOUNT_LINKING_REQUIRED",
				"_embedded.identityProvider":    map[string]any{"id": idp, "type": "OPENID_CONNECT", "name": idpName},
				"_embedded.socialProviders":     nil,
				"_embedded.user":                nil,
				"_links.usernamePassword.check": map[string]any{"href": d.base() + "/flows/" + flowID},
			})
			r = a.check(d.base()+"/flows/"+flowID, d.fx.Username, d.fx.Password)
			expectStatus(t, r, http.StatusOK)
			fl = r.object(t)
			expectFields(t, "linked flow", fl, map[string]any{"status": "COMPLETED", "_embedded.user.id": d.fx.UserID})
			claims := d.redeem(t, a, fl, "first", verifier)
			if claims["sub"] != d.fx.UserID || !slices.Equal(amr(claims), []string{"fed", "pwd"}) {
				t.Errorf("ID token sub %v amr %v, want %s [fed pwd]", claims["sub"], claims["amr"], d.fx.UserID)
			}

			// 5. The link, as the management API shows it.
			links := d.api(t, "GET", d.envPath()+"/users/"+d.fx.UserID+"/linkedAccounts", nil, http.StatusOK)
			expectFields(t, "linkedAccounts", links, map[string]any{
				"_embedded.linkedAccounts.0.identityProvider.id": idp,
				"_embedded.linkedAccounts.0.externalId":          op.user.ID,
				"_embedded.linkedAccounts.0.user.id":             d.fx.UserID,
				"_embedded.linkedAccounts.0.environment.id":      d.fx.EnvID,
				"_embedded.linkedAccounts.1":                     nil,
			})

			// 6. Another browser, the same provider user: the link signs on
			// as the callback returns, without a password.
			a2 := newAgent(t)
			verifier2 := oauth2.GenerateVerifier()
			fl = d.startPiFlow(t, a2, "second", verifier2)
			flowID = jstr(fl, "id")
			cb = op.signOn(t, a2, d.authenticateAt(t, a2, fl), d.callbackURL())
			if l := a2.get(cb.String()).location(t).String(); l != d.base()+"/flows/"+flowID {
				t.Fatalf("callback sent the browser to %s", l)
			}
			r = a2.get(d.base() + "/flows/" + flowID)
			expectStatus(t, r, http.StatusOK)
			fl = r.object(t)
			expectFields(t, "second flow", fl, map[string]any{"status": "COMPLETED", "_embedded.user.id": d.fx.UserID,
				"_embedded.user.username": d.fx.Username})
			claims = d.redeem(t, a2, fl, "second", verifier2)
			if claims["sub"] != d.fx.UserID || !slices.Equal(amr(claims), []string{"fed"}) {
				t.Errorf("ID token sub %v amr %v, want %s [fed]", claims["sub"], claims["amr"], d.fx.UserID)
			}
			links = d.api(t, "GET", d.envPath()+"/users/"+d.fx.UserID+"/linkedAccounts", nil, http.StatusOK)
			if jpath(links, "_embedded.linkedAccounts.1") != nil {
				t.Errorf("a second link: %v", links)
			}
		})
	}
}

// TestIdentityProviderAction: an IDENTITY_PROVIDER action sends the user
// to its provider without a password prompt (EXTERNAL_AUTHENTICATION_REQUIRED),
// passing its acrValues and the authorize request's login_hint on, and
// registers the unknown user in its registration population.
func TestIdentityProviderAction(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	d := &rp{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{})}
	op := startZitadelOP(t, d.callbackURL())
	conf := op.discovery(t)
	conf["pkceMethod"] = "S256"
	idp := d.addProvider(t, "Zitadel", conf)
	d.usePolicy(t, map[string]any{"type": "IDENTITY_PROVIDER", "priority": 1, "identityProvider": map[string]string{"id": idp},
		"acrValues": "urn:gatehouse:gold", "registration": map[string]any{"enabled": true, "population": map[string]string{"id": d.fx.PopulationID}}})

	a := newAgent(t)
	verifier := oauth2.GenerateVerifier()
	r := a.get(d.oauth().AuthCodeURL("idp", oauth2.S256ChallengeOption(verifier), oidc.Nonce("n-idp"),
		oauth2.SetAuthURLParam("response_mode", "pi.flow"), oauth2.SetAuthURLParam("login_hint", op.user.Username)))
	expectStatus(t, r, http.StatusOK)
	fl := r.object(t)
	flowID := jstr(fl, "id")
	self := map[string]any{"href": d.base() + "/flows/" + flowID}
	expectFields(t, "flow", fl, map[string]any{
		"status": "EXTERNAL_AUTHENTICATION_REQUIRED",
		"_embedded.identityProvider": map[string]any{"id": idp, "type": "OPENID_CONNECT", "name": "Zitadel",
			"_links": map[string]any{"authenticate": map[string]any{"href": d.base() + "/rp/authenticate?flowId=" + flowID + "&providerId=" + idp}}},
		"_embedded.socialProviders": nil,
		"_links": map[string]any{"self": self, "session.reset": self,
			"signOnPage": map[string]any{"href": d.base() + "/signon/?flowId=" + flowID}},
	})

	// An explicit loginHint on rp/authenticate wins over the request's.
	href := jstr(fl, "_embedded.identityProvider._links.authenticate.href")
	authz := a.get(href + "&loginHint=someone.else").location(t)
	if q := authz.Query(); q.Get("acr_values") != "urn:gatehouse:gold" || q.Get("login_hint") != "someone.else" {
		t.Errorf("authorization request %s", authz)
	}
	authz = a.get(href).location(t)
	if q := authz.Query(); q.Get("acr_values") != "urn:gatehouse:gold" || q.Get("login_hint") != op.user.Username {
		t.Errorf("authorization request %s", authz)
	}
	// Only the last authorization request counts: it replaced the first.
	cb := op.signOn(t, a, authz, d.callbackURL())
	if l := a.get(cb.String()).location(t).String(); l != d.base()+"/flows/"+flowID {
		t.Fatalf("callback sent the browser to %s", l)
	}
	r = a.get(d.base() + "/flows/" + flowID)
	expectStatus(t, r, http.StatusOK)
	fl = r.object(t)
	userID := jstr(fl, "_embedded.user.id")
	expectFields(t, "flow", fl, map[string]any{"status": "COMPLETED", "_embedded.user.username": op.user.ID})
	claims := d.redeem(t, a, fl, "idp", verifier)
	if claims["sub"] != userID || !slices.Equal(amr(claims), []string{"fed"}) {
		t.Errorf("ID token sub %v amr %v, want %s [fed]", claims["sub"], claims["amr"], userID)
	}
	expectFields(t, "user", d.api(t, "GET", d.envPath()+"/users/"+userID, nil, http.StatusOK), map[string]any{
		"username": op.user.ID, "population.id": d.fx.PopulationID, "identityProvider": map[string]any{"type": "OPENID_CONNECT", "id": idp},
	})
}
