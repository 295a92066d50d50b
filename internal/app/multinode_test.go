package app_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// Two nodes on one PostgreSQL database behind one base URL, as a load
// balancer would put them: any node continues what another began, and
// what one changes the other honours within a second — a disabled
// application, a new signing key, a deleted one.

// propagation bounds how long the other node may take to see a change.
const propagation = time.Second

// nodeCall is one request to one node, the way a browser or a client sends
// it (the jar, when set, holds the browser's cookies for every node).
type nodeCall struct {
	t    *testing.T
	node *apptest.Server
	jar  http.CookieJar
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a *answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("not JSON (%d): %s", a.status, a.body)
	}
	return m
}

func (c nodeCall) do(method, u, contentType, body string, header http.Header) *answer {
	c.t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	hc := &http.Client{Transport: apptest.DialTo(c.node.Addr), Jar: c.jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return &answer{status: resp.StatusCode, header: resp.Header, body: b}
}

func basicHeader(id, secret string) http.Header {
	return http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))}}
}

const formType = "application/x-www-form-urlencoded"

// client is an application's credentials.
type client struct{ id, secret string }

func (c nodeCall) form(path string, cl client, kv ...string) *answer {
	c.t.Helper()
	v := url.Values{}
	for i := 0; i < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return c.do("POST", c.node.URL+path, formType, v.Encode(), basicHeader(cl.id, cl.secret))
}

// within polls check until it holds, failing after propagation from
// since; it returns how long after since it held.
func within(t *testing.T, what string, since time.Time, check func() bool) time.Duration {
	t.Helper()
	for !check() {
		if time.Since(since) > propagation {
			t.Fatalf("%s: not seen by the other node %v after the change", what, time.Since(since).Round(time.Millisecond))
		}
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(since)
	t.Logf("%s: seen by the other node after %v", what, took.Round(100*time.Microsecond))
	return took
}

func kidOf(t *testing.T, jwt string) string {
	t.Helper()
	head, _, _ := strings.Cut(jwt, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}

func TestMultiNode(t *testing.T) {
	dsn := sqltest.Postgres(t)
	key := make([]byte, 32)
	rand.Read(key)
	const base = "http://gatehouse.test"
	a := apptest.Start(t, apptest.Options{DSN: dsn, MasterKey: key, BaseURL: base})
	b := apptest.Start(t, apptest.Options{DSN: dsn, MasterKey: key, BaseURL: base})
	ctx := context.Background()

	// The second node found the first's administrator and made none.
	if b.Admin.ClientID != a.Admin.ClientID || b.Admin.EnvironmentID != a.Admin.EnvironmentID || b.Admin.ClientSecret != a.Admin.ClientSecret {
		t.Fatalf("the second node bootstrapped again: %+v vs %+v", b.Admin, a.Admin)
	}
	if orgs, err := b.Store.ListOrganizations(ctx); err != nil || len(orgs) != 1 {
		t.Fatalf("organizations after two starts: %d, %v", len(orgs), err)
	}

	fx := a.NewSignOn(t, apptest.SignOnOptions{})
	admin := a.AdminToken(t)
	envPath := "/environments/" + fx.EnvID
	mgmt := func(s *apptest.Server, method, path string, body any, want int) map[string]any {
		t.Helper()
		r := s.Do(t, apptest.Request{Method: method, URL: envPath + path, Token: admin, Body: body})
		if r.Status != want {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, r.Status, want, r.Body)
		}
		if len(r.Body) == 0 {
			return nil
		}
		return r.JSON(t)
	}
	newClient := func(body map[string]any) client {
		t.Helper()
		id := mgmt(a, "POST", "/applications", body, http.StatusCreated)["id"].(string)
		return client{id: id, secret: mgmt(a, "GET", "/applications/"+id+"/secret", nil, http.StatusOK)["secret"].(string)}
	}
	// A resource server, registered as an application whose client id is
	// the audience of the resource it serves; fx's application may ask
	// for the resource's scope.
	rs := newClient(map[string]any{"name": "Orders API", "enabled": true, "type": "WORKER", "protocol": "OPENID_CONNECT",
		"grantTypes": []string{"CLIENT_CREDENTIALS"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"})
	res := mgmt(a, "POST", "/resources", map[string]any{"name": "Orders", "audience": rs.id}, http.StatusCreated)["id"].(string)
	sc := mgmt(a, "POST", "/resources/"+res+"/scopes", map[string]any{"name": "orders:read"}, http.StatusCreated)["id"].(string)
	mgmt(a, "POST", "/applications/"+fx.AppID+"/grants", map[string]any{"resource": map[string]string{"id": res},
		"scopes": []map[string]string{{"id": sc}}}, http.StatusCreated)
	web := client{fx.AppID, fx.AppSecret}
	onA, onB := nodeCall{t: t, node: a}, nodeCall{t: t, node: b}
	issuer := base + "/" + fx.EnvID + "/as"

	var access, refresh string
	t.Run("a flow begun on one node is completed on the other", func(t *testing.T) {
		jar, err := cookiejar.New(nil)
		if err != nil {
			t.Fatal(err)
		}
		ba, bb := nodeCall{t: t, node: a, jar: jar}, nodeCall{t: t, node: b, jar: jar}
		q := url.Values{"response_type": {"code"}, "client_id": {fx.AppID}, "redirect_uri": {fx.RedirectURI},
			"scope": {"openid profile orders:read"}, "state": {"st-1"}, "response_mode": {"pi.flow"}}
		h := ba.do("GET", issuer+"/authorize?"+q.Encode(), "", "", nil)
		fl := h.json(t)
		if h.status != http.StatusOK || fl["status"] != "USERNAME_PASSWORD_REQUIRED" {
			t.Fatalf("authorize on a: %d %s", h.status, h.body)
		}
		flowID := fl["id"].(string)
		h = bb.do("POST", base+"/"+fx.EnvID+"/flows/"+flowID, "application/vnd.pingidentity.usernamePassword.check+json",
			`{"username":"`+fx.Username+`","password":"`+fx.Password+`"}`, nil)
		if done := h.json(t); h.status != http.StatusOK || done["status"] != "COMPLETED" {
			t.Fatalf("usernamePassword.check on b: %d %s", h.status, h.body)
		}
		h = ba.do("GET", issuer+"/resume?flowId="+flowID, "", "", nil)
		resp, _ := h.json(t)["authorizeResponse"].(map[string]any)
		code, _ := resp["code"].(string)
		if h.status != http.StatusOK || code == "" || resp["state"] != "st-1" {
			t.Fatalf("resume on a: %d %s", h.status, h.body)
		}
		h = onB.form("/"+fx.EnvID+"/as/token", web, "grant_type", "authorization_code", "code", code, "redirect_uri", fx.RedirectURI)
		if h.status != http.StatusOK {
			t.Fatalf("code exchange on b: %d %s", h.status, h.body)
		}
		tok := h.json(t)
		access, refresh = tok["access_token"].(string), tok["refresh_token"].(string)
		h = onA.do("GET", issuer+"/userinfo", "", "", http.Header{"Authorization": {"Bearer " + access}})
		if h.status != http.StatusOK || h.json(t)["sub"] != fx.UserID {
			t.Fatalf("userinfo on a: %d %s", h.status, h.body)
		}
		if got := onB.form("/"+fx.EnvID+"/as/introspect", rs, "token", access).json(t); got["active"] != true || got["sub"] != fx.UserID {
			t.Fatalf("introspection by the resource server on b: %v", got)
		}
	})
	if access == "" {
		t.Fatal("no tokens from the sign-on")
	}

	t.Run("an application disabled on one node is refused on the other", func(t *testing.T) {
		userinfo := func() int {
			return onB.do("GET", issuer+"/userinfo", "", "", http.Header{"Authorization": {"Bearer " + access}}).status
		}
		introspected := func() map[string]any {
			return onB.form("/"+fx.EnvID+"/as/introspect", rs, "token", access).json(t)
		}
		if userinfo() != http.StatusOK || introspected()["active"] != true {
			t.Fatal("the tokens do not hold on b before the application is disabled")
		}
		body := map[string]any{"enabled": false, "name": fx.AppName, "type": "WEB_APP", "protocol": "OPENID_CONNECT",
			"grantTypes": []string{"AUTHORIZATION_CODE", "REFRESH_TOKEN"}, "responseTypes": []string{"CODE"},
			"redirectUris": []string{fx.RedirectURI}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC", "pkceEnforcement": "OPTIONAL"}
		mgmt(a, "PUT", "/applications/"+fx.AppID, body, http.StatusOK)
		at := time.Now()
		within(t, "userinfo refused", at, func() bool { return userinfo() == http.StatusUnauthorized })
		within(t, "introspection inactive", at, func() bool {
			got := introspected()
			return len(got) == 1 && got["active"] == false
		})
		within(t, "the refresh grant refused", at, func() bool {
			h := onB.form("/"+fx.EnvID+"/as/token", web, "grant_type", "refresh_token", "refresh_token", refresh)
			return h.status == http.StatusUnauthorized && h.json(t)["error"] == "invalid_client"
		})
	})
	t.Run("signing keys", func(t *testing.T) {
		worker := newClient(map[string]any{"name": "Worker", "enabled": true, "type": "WORKER", "protocol": "OPENID_CONNECT",
			"grantTypes": []string{"CLIENT_CREDENTIALS"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"})
		token := func() string {
			t.Helper()
			h := onA.form("/"+fx.EnvID+"/as/token", worker, "grant_type", "client_credentials")
			if h.status != http.StatusOK {
				t.Fatalf("client_credentials on a: %d %s", h.status, h.body)
			}
			return h.json(t)["access_token"].(string)
		}
		activeOnB := func(tok string) bool {
			t.Helper()
			h := onB.form("/"+fx.EnvID+"/as/introspect", worker, "token", tok)
			if h.status != http.StatusOK {
				t.Fatalf("introspect on b: %d %s", h.status, h.body)
			}
			return h.json(t)["active"] == true
		}
		old := token()
		oldKid := kidOf(t, old)
		if !activeOnB(old) {
			t.Fatal("b refuses a's token before any key change")
		}

		created := mgmt(a, "POST", "/keys", map[string]any{"name": "Next", "algorithm": "EC", "keyLength": 256,
			"signatureAlgorithm": "SHA256withECDSA", "subjectDN": "CN=Next, O=Example", "usageType": "SIGNING", "validityPeriod": 30,
			"default": true}, http.StatusCreated)
		at := time.Now()
		fresh := token()
		if kidOf(t, fresh) != created["id"] {
			t.Fatalf("a signs with %s, want the new key %s", kidOf(t, fresh), created["id"])
		}
		within(t, "a new key's token", at, func() bool { return activeOnB(fresh) })
		jwks := func() string { return string(onB.do("GET", issuer+"/jwks", "", "", nil).body) }
		within(t, "a new key in the JWKS", at, func() bool { return strings.Contains(jwks(), created["id"].(string)) })
		within(t, "discovery names the new key's algorithm first", at, func() bool {
			return strings.Contains(string(onB.do("GET", issuer+"/.well-known/openid-configuration", "", "", nil).body),
				`"id_token_signing_alg_values_supported":["ES256","RS256"]`)
		})

		mgmt(a, "DELETE", "/keys/"+oldKid, nil, http.StatusNoContent)
		at = time.Now()
		within(t, "a deleted key's token refused", at, func() bool { return !activeOnB(old) })
		within(t, "a deleted key gone from the JWKS", at, func() bool { return !strings.Contains(jwks(), oldKid) })
		if !activeOnB(fresh) {
			t.Error("b refuses the remaining key's token")
		}
	})
	t.Run("the management API on one node follows the other's application and role writes", func(t *testing.T) {
		w := a.CreateWorker(t, fx.EnvID, "CLIENT_SECRET_BASIC", [3]string{roles.IdentityDataReadOnly.ID, "ENVIRONMENT", fx.EnvID})
		bearer := http.Header{"Authorization": {"Bearer " + a.Token(t, w)}}
		readOnB := func() int {
			return onB.do("GET", base+"/v1/environments/"+fx.EnvID+"/users/"+fx.UserID, "", "", bearer).status
		}
		if got := readOnB(); got != http.StatusOK {
			t.Fatalf("the worker reads a user on b: %d, want 200", got)
		}
		app := "/applications/" + w.ClientID
		ras := mgmt(a, "GET", app+"/roleAssignments", nil, http.StatusOK)["_embedded"].(map[string]any)["roleAssignments"].([]any)
		mgmt(a, "DELETE", app+"/roleAssignments/"+ras[0].(map[string]any)["id"].(string), nil, http.StatusNoContent)
		within(t, "a removed role assignment refused", time.Now(), func() bool { return readOnB() == http.StatusForbidden })

		mgmt(a, "POST", app+"/roleAssignments", map[string]any{"role": map[string]any{"id": roles.IdentityDataReadOnly.ID},
			"scope": map[string]any{"id": fx.EnvID, "type": "ENVIRONMENT"}}, http.StatusCreated)
		within(t, "a new role assignment honoured", time.Now(), func() bool { return readOnB() == http.StatusOK })

		mgmt(a, "PUT", app, map[string]any{"enabled": false, "name": "worker-" + w.ClientID[:8], "type": "WORKER", "protocol": "OPENID_CONNECT",
			"grantTypes": []string{"CLIENT_CREDENTIALS"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"}, http.StatusOK)
		within(t, "a disabled application refused by /v1", time.Now(), func() bool { return readOnB() == http.StatusUnauthorized })
	})
	// Revocation is read from the store on every use, never from a cache:
	// the very next request on the other node refuses the token, though
	// that node has just verified (and remembered) it.
	t.Run("a token revoked on one node is refused at once on the other", func(t *testing.T) {
		worker := newClient(map[string]any{"name": "Revoked worker", "enabled": true, "type": "WORKER", "protocol": "OPENID_CONNECT",
			"grantTypes": []string{"CLIENT_CREDENTIALS"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"})
		h := onA.form("/"+fx.EnvID+"/as/token", worker, "grant_type", "client_credentials")
		if h.status != http.StatusOK {
			t.Fatalf("client_credentials on a: %d %s", h.status, h.body)
		}
		tok := h.json(t)["access_token"].(string)
		introspected := func() map[string]any {
			t.Helper()
			h := onB.form("/"+fx.EnvID+"/as/introspect", worker, "token", tok)
			if h.status != http.StatusOK {
				t.Fatalf("introspect on b: %d %s", h.status, h.body)
			}
			return h.json(t)
		}
		adminClient := client{a.Admin.ClientID, a.Admin.ClientSecret}
		adminTok := a.TokenFor(t, a.Admin.EnvironmentID, adminClient.id, adminClient.secret)
		mgmtOnB := func() int {
			return b.Do(t, apptest.Request{Method: "GET", URL: envPath, Token: adminTok}).Status
		}
		for range 2 { // the second use is served from what b remembers
			if got := introspected(); got["active"] != true {
				t.Fatalf("introspection on b before revocation: %v", got)
			}
			if st := mgmtOnB(); st != http.StatusOK {
				t.Fatalf("management API on b before revocation: %d", st)
			}
		}

		for _, r := range []struct {
			env string
			cl  client
			tok string
		}{{fx.EnvID, worker, tok}, {a.Admin.EnvironmentID, adminClient, adminTok}} {
			if h := onA.form("/"+r.env+"/as/revoke", r.cl, "token", r.tok); h.status != http.StatusOK {
				t.Fatalf("revoke on a: %d %s", h.status, h.body)
			}
		}
		if got := introspected(); len(got) != 1 || got["active"] != false {
			t.Errorf("introspection on b right after revocation on a: %v, want {active: false}", got)
		}
		if st := mgmtOnB(); st != http.StatusUnauthorized {
			t.Errorf("management API on b right after revocation on a: %d, want 401", st)
		}
	})

}
