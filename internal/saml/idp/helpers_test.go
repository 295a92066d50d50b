package idp_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"html"
	"io"
	"math/big"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"
	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// fixture is a Gatehouse with an environment, a user with a password
// (apptest.NewSignOn) and, added by each test, SAML applications.
type fixture struct {
	s  *apptest.Server
	fx *apptest.SignOn
}

func newFixture(t *testing.T, b sqltest.Backend) *fixture {
	t.Helper()
	s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
	return &fixture{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{})}
}

func (x *fixture) base() string { return x.s.URL + "/" + x.fx.EnvID }

// appOptions are the SAML settings of a test application.
type appOptions struct {
	assertionSigned, responseSigned *bool
	requestSigned                   bool
	certs                           []string // certificate ids verifying AuthnRequests
	acceptSignedACS                 bool
	disabled                        bool
	nameIDFormat                    string
	defaultTarget                   string
	adminsOnly                      bool // accessControl.role ADMIN_USERS_ONLY
}

// samlApp creates a SAML application for sp as an administrator does
// with PingOne's API: the application, its CORE saml_subject mapping
// remapped to the username (to tell it from the default user id), and two
// custom mappings with their NameFormat. It returns the record as stored.
func (x *fixture) samlApp(t testing.TB, sp *serviceProvider, o appOptions) *store.Application {
	t.Helper()
	admin := x.s.AdminToken(t)
	body := map[string]any{"name": "SAML app " + uuid.NewString()[:6], "enabled": !o.disabled, "type": "WEB_APP", "protocol": wire.ProtocolSAML,
		"acsUrls": []string{sp.acs()}, "spEntityId": sp.entityID(), "assertionDuration": 120,
		"enableAlwaysAcceptAcsUrlInSignedAuthnRequest": o.acceptSignedACS}
	if o.assertionSigned != nil {
		body["assertionSigned"] = *o.assertionSigned
	}
	if o.responseSigned != nil {
		body["responseSigned"] = *o.responseSigned
	}
	if o.nameIDFormat != "" {
		body["nameIdFormat"] = o.nameIDFormat
	}
	if o.defaultTarget != "" {
		body["defaultTargetUrl"] = o.defaultTarget
	}
	if o.requestSigned || len(o.certs) > 0 {
		refs := []map[string]string{}
		for _, c := range o.certs {
			refs = append(refs, map[string]string{"id": c})
		}
		body["spVerification"] = map[string]any{"authnRequestSigned": o.requestSigned, "certificates": refs}
	}
	if o.adminsOnly {
		body["accessControl"] = map[string]any{"role": map[string]string{"type": "ADMIN_USERS_ONLY"}}
	}
	apps := "/environments/" + x.fx.EnvID + "/applications"
	r := x.s.Do(t, apptest.Request{Method: "POST", URL: apps, Token: admin, Body: body})
	if r.Status != http.StatusCreated {
		t.Fatalf("create the SAML application: %d %s", r.Status, r.Body)
	}
	id := r.JSON(t)["id"].(string)
	attrs := apps + "/" + id + "/attributes"
	r = x.s.Do(t, apptest.Request{Method: "GET", URL: attrs, Token: admin})
	core, _ := r.JSON(t)["_embedded"].(map[string]any)["attributes"].([]any)[0].(map[string]any)
	if core["name"] != "saml_subject" || core["mappingType"] != "CORE" {
		t.Fatalf("the application's first mapping is not its CORE saml_subject: %s", r.Body)
	}
	core["value"] = "${user.username}"
	if r = x.s.Do(t, apptest.Request{Method: "PUT", URL: attrs + "/" + core["id"].(string), Token: admin, Body: core}); r.Status != http.StatusOK {
		t.Fatalf("remap saml_subject: %d %s", r.Status, r.Body)
	}
	for _, m := range []map[string]any{
		{"name": "email", "value": "${user.email}", "required": false, "nameFormat": "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"},
		{"name": "urn:oid:2.5.4.42", "value": "${user.name.given}", "required": false, "nameFormat": "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"},
	} {
		x.mapping(t, id, m)
	}
	a, err := x.s.Store.GetApplication(context.Background(), x.fx.EnvID, id)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// updateApp changes application appID as an administrator does: a PUT of
// its GET, changed by change.
func (x *fixture) updateApp(t testing.TB, appID string, change func(map[string]any)) {
	t.Helper()
	admin := x.s.AdminToken(t)
	u := "/environments/" + x.fx.EnvID + "/applications/" + appID
	r := x.s.Do(t, apptest.Request{Method: "GET", URL: u, Token: admin})
	if r.Status != http.StatusOK {
		t.Fatalf("read the application: %d %s", r.Status, r.Body)
	}
	app := r.JSON(t)
	change(app)
	if r = x.s.Do(t, apptest.Request{Method: "PUT", URL: u, Token: admin, Body: app}); r.Status != http.StatusOK {
		t.Fatalf("update the application: %d %s", r.Status, r.Body)
	}
}

// mapping adds an attribute mapping to application appID.
func (x *fixture) mapping(t testing.TB, appID string, m map[string]any) {
	t.Helper()
	r := x.s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + x.fx.EnvID + "/applications/" + appID + "/attributes",
		Token: x.s.AdminToken(t), Body: m})
	if r.Status != http.StatusCreated {
		t.Fatalf("create the mapping %v: %d %s", m["name"], r.Status, r.Body)
	}
}

// certificate uploads cert to envID's certificates as PingOne's SDK does
// (multipart: usageType and the PEM file) and returns its id.
func (x *fixture) certificate(t *testing.T, envID string, cert *x509.Certificate) string {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	w.WriteField("usageType", "SIGNING")
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", `form-data; name="file"; filename="sp.pem"`)
	h.Set("Content-Type", "application/octet-stream")
	fw, _ := w.CreatePart(h)
	fw.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}))
	w.Close()
	r := x.s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + envID + "/certificates", Token: x.s.AdminToken(t),
		Body: buf.Bytes(), ContentType: w.FormDataContentType()})
	// PingOne answers an upload with 202 Accepted.
	if r.Status != http.StatusAccepted {
		t.Fatalf("upload the certificate: %d %s", r.Status, r.Body)
	}
	return r.JSON(t)["id"].(string)
}

func keyPair(t testing.TB, cn string) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return key, cert
}

// serviceProvider is a real SAML service provider: crewjam's samlsp
// middleware on httptest, protecting /hello, which prints the session's
// NameID and attributes. The assertions it accepted are kept.
type serviceProvider struct {
	srv  *httptest.Server
	key  *rsa.PrivateKey
	cert *x509.Certificate
	mw   *samlsp.Middleware

	mu         sync.Mutex
	assertions []*saml.Assertion
	errors     []error
}

func newServiceProvider(t testing.TB) *serviceProvider {
	t.Helper()
	sp := &serviceProvider{}
	sp.key, sp.cert = keyPair(t, "sp")
	sp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sp.mw == nil {
			http.Error(w, "not configured", http.StatusServiceUnavailable)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/saml/") {
			sp.mw.ServeHTTP(w, r)
			return
		}
		sp.mw.RequireAccount(http.HandlerFunc(hello)).ServeHTTP(w, r)
	}))
	t.Cleanup(sp.srv.Close)
	return sp
}

func (sp *serviceProvider) entityID() string { return sp.srv.URL + "/saml/metadata" }
func (sp *serviceProvider) acs() string      { return sp.srv.URL + "/saml/acs" }

// configure makes the middleware once the application exists: its IdP
// metadata is Gatehouse's, read from saml20/metadata/{appId}.
func (sp *serviceProvider) configure(t testing.TB, x *fixture, appID string, binding string, signRequest bool) {
	t.Helper()
	mdURL, _ := url.Parse(x.base() + "/saml20/metadata/" + appID)
	md, err := samlsp.FetchMetadata(context.Background(), http.DefaultClient, *mdURL)
	if err != nil {
		t.Fatalf("IdP metadata: %v", err)
	}
	u, _ := url.Parse(sp.srv.URL)
	mw, err := samlsp.New(samlsp.Options{URL: *u, Key: sp.key, Certificate: sp.cert, IDPMetadata: md, SignRequest: signRequest,
		AllowIDPInitiated: true})
	if err != nil {
		t.Fatal(err)
	}
	mw.Binding = binding
	mw.ServiceProvider.AuthnNameIDFormat = saml.UnspecifiedNameIDFormat
	mw.AssertionHandler = recorder{sp}
	mw.OnError = func(w http.ResponseWriter, r *http.Request, err error) {
		sp.mu.Lock()
		sp.errors = append(sp.errors, err)
		sp.mu.Unlock()
		http.Error(w, "sp: "+err.Error(), http.StatusForbidden)
	}
	sp.mw = mw
}

type recorder struct{ sp *serviceProvider }

func (r recorder) HandleAssertion(a *saml.Assertion) error {
	r.sp.mu.Lock()
	defer r.sp.mu.Unlock()
	r.sp.assertions = append(r.sp.assertions, a)
	return nil
}

func (sp *serviceProvider) lastAssertion(t *testing.T) *saml.Assertion {
	t.Helper()
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if len(sp.assertions) == 0 {
		t.Fatalf("the service provider accepted no assertion (errors: %v)", sp.errors)
	}
	return sp.assertions[len(sp.assertions)-1]
}

func (sp *serviceProvider) accepted() int {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return len(sp.assertions)
}

// hello prints what the service provider's session holds.
func hello(w http.ResponseWriter, r *http.Request) {
	s, _ := samlsp.SessionFromContext(r.Context()).(samlsp.JWTSessionClaims)
	lines := fmt.Sprintf("path=%s\nsubject=%s\nemail=%s\ngiven=%s\n", r.URL.RequestURI(), s.Subject,
		s.GetAttributes().Get("email"), s.GetAttributes().Get("urn:oid:2.5.4.42"))
	if !strings.Contains(r.Header.Get("Accept"), "text/html") {
		io.WriteString(w, lines)
		return
	}
	// A browser gets a page to look at (the screenshots in docs/).
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Example SAML service provider</title>`+
		`<style>body{font:16px system-ui,sans-serif;margin:3rem}pre{background:#f3f4f6;padding:1rem;border-radius:.5rem}</style></head>`+
		`<body><main id="sp"><h1>Example SAML service provider</h1><p>Signed on through Gatehouse with a signed SAML assertion. The session holds:</p>`+
		`<pre id="session">%s</pre></main></body></html>`, html.EscapeString(lines))
}

// agent is a browser without JavaScript: cookies, no redirects followed.
type agent struct {
	t *testing.T
	c *http.Client
}

func newAgent(t *testing.T) *agent {
	jar, _ := cookiejar.New(nil)
	return &agent{t: t, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type reply struct {
	status int
	header http.Header
	body   []byte
	url    string
}

func (a *agent) do(method, u, contentType, body string, hdr ...string) *reply {
	a.t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := a.c.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &reply{status: res.StatusCode, header: res.Header, body: b, url: u}
}

func (a *agent) get(u string) *reply { return a.do("GET", u, "", "") }

func (a *agent) postForm(u string, v url.Values) *reply {
	return a.do("POST", u, "application/x-www-form-urlencoded", v.Encode())
}

func (r *reply) location(t *testing.T) *url.URL {
	t.Helper()
	if r.status != http.StatusFound && r.status != http.StatusSeeOther {
		t.Fatalf("%s answered %d, not a redirect: %s", r.url, r.status, r.body)
	}
	base, _ := url.Parse(r.url)
	l, err := base.Parse(r.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func (r *reply) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("%s answered %d, not JSON: %s", r.url, r.status, r.body)
	}
	return m
}

var (
	formAction = regexp.MustCompile(`<form[^>]*action="([^"]*)"`)
	formInput  = regexp.MustCompile(`<input[^>]*name="([^"]*)"[^>]*value="([^"]*)"`)
)

// form reads an auto-posting page's form: its action and fields.
func (r *reply) form(t *testing.T) (string, url.Values) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("%s answered %d, not a form: %s", r.url, r.status, r.body)
	}
	m := formAction.FindSubmatch(r.body)
	if m == nil {
		t.Fatalf("%s: no form in %s", r.url, r.body)
	}
	v := url.Values{}
	for _, in := range formInput.FindAllSubmatch(r.body, -1) {
		v.Set(html.UnescapeString(string(in[1])), html.UnescapeString(string(in[2])))
	}
	return html.UnescapeString(string(m[1])), v
}

// signOnPage checks that l is the hosted sign-on page of the fixture's
// environment and returns its flow id.
func (x *fixture) signOnPage(t *testing.T, l *url.URL) string {
	t.Helper()
	if l.Path != "/"+x.fx.EnvID+"/signon/" || l.Query().Get("flowId") == "" {
		t.Fatalf("Gatehouse sent the browser to %s, not its sign-on page", l)
	}
	return l.Query().Get("flowId")
}

// password completes flow id with the fixture user's password, as the
// sign-on page does, and returns the flow's resumeUrl.
func (x *fixture) password(t *testing.T, a *agent, flowID string) string {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"username": x.fx.Username, "password": x.fx.Password})
	r := a.do("POST", x.base()+"/flows/"+flowID, "application/vnd.pingidentity.usernamePassword.check+json", string(b))
	if r.status != http.StatusOK {
		t.Fatalf("password: %d %s", r.status, r.body)
	}
	f := r.object(t)
	if f["status"] != "COMPLETED" {
		t.Fatalf("flow after the password: %s", r.body)
	}
	resume, _ := f["resumeUrl"].(string)
	if want := x.base() + "/saml20/resume?flowId=" + flowID; resume != want {
		t.Fatalf("resumeUrl %q, want %q", resume, want)
	}
	return resume
}

// toIdP follows the service provider's start of sign-on to Gatehouse by
// its binding: a redirect (HTTP-Redirect) or an auto-posted form
// (HTTP-POST). It returns Gatehouse's answer.
func toIdP(t *testing.T, a *agent, x *fixture, start *reply) *reply {
	t.Helper()
	if start.status == http.StatusFound {
		l := start.location(t)
		if !strings.HasPrefix(l.String(), x.base()+"/saml20/idp/sso?") {
			t.Fatalf("the SP sent the browser to %s", l)
		}
		return a.get(l.String())
	}
	action, v := start.form(t)
	if action != x.base()+"/saml20/idp/sso" {
		t.Fatalf("the SP's form posts to %s", action)
	}
	return a.postForm(action, v)
}

// toSP posts Gatehouse's auto-posted Response where its form says, after
// checking that is the service provider's ACS, and returns the SP's
// answer.
func toSP(t *testing.T, a *agent, sp *serviceProvider, page *reply) (*reply, url.Values) {
	t.Helper()
	action, v := page.form(t)
	if action != sp.acs() {
		t.Fatalf("Gatehouse posts the Response to %s, not the ACS %s", action, sp.acs())
	}
	if v.Get("SAMLResponse") == "" {
		t.Fatalf("no SAMLResponse in %s", page.body)
	}
	return a.postForm(action, v), v
}

// fields parses hello's lines.
func fields(b []byte) map[string]string {
	out := map[string]string{}
	for _, l := range bytes.Split(b, []byte("\n")) {
		if k, v, ok := strings.Cut(string(l), "="); ok {
			out[k] = v
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }
