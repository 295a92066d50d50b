package federation_test

import (
	"bytes"
	"compress/flate"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"html"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	crewjam "github.com/crewjam/saml"
	"github.com/crewjam/saml/samlidp"
	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// ---- a SAML identity provider: crewjam's samlidp on httptest

// samlIdP is crewjam's samlidp server: its login form, its users, and
// Gatehouse registered as a service provider from Gatehouse's metadata.
type samlIdP struct {
	srv  *httptest.Server
	idp  *samlidp.Server
	key  *rsa.PrivateKey
	cert *x509.Certificate
}

// quiet is the samlidp's log: its lines are about users signing on there.
var quiet = log.New(io.Discard, "", 0)

func (p *samlIdP) entityID() string { return p.srv.URL + "/metadata" }

func selfSigned(t *testing.T, cn string) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}

func startSAMLIdP(t *testing.T) *samlIdP {
	t.Helper()
	p := &samlIdP{}
	p.key, p.cert = selfSigned(t, "samlidp")
	var h http.Handler
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(p.srv.Close)
	u, _ := url.Parse(p.srv.URL)
	idp, err := samlidp.New(samlidp.Options{URL: *u, Key: p.key, Certificate: p.cert, Store: &samlidp.MemoryStore{}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	p.idp, h = idp, idp
	return p
}

// put calls samlidp's admin API.
func (p *samlIdP) put(t *testing.T, path, body string) {
	t.Helper()
	req, _ := http.NewRequest("PUT", p.srv.URL+path, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("samlidp PUT %s: %d %s", path, resp.StatusCode, b)
	}
}

func (p *samlIdP) addUser(t *testing.T, name, password, email, given, family string) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"name": name, "password": password, "email": email, "given_name": given, "surname": family})
	p.put(t, "/users/"+name, string(b))
}

// ---- Gatehouse's side: a SAML identity provider, through the store

// samlRP is a destination environment with a SAML identity provider
// trusting the samlidp's certificate, offered by its LOGIN action.
type samlRP struct {
	*rp
	idp    *samlIdP
	provID string
}

func (x *samlRP) acsURL() string { return x.base() + "/saml20/sp/acs" }

// addSAMLProvider creates a SAML identity provider and its CORE mapping
// through the store, as the management API will.
func addSAMLProvider(t *testing.T, d *rp, name string, saml wire.IdentityProviderSAMLData, certs ...*x509.Certificate) string {
	t.Helper()
	ctx := t.Context()
	st := d.s.Store
	now := store.Now()
	for _, c := range certs {
		id := uuid.NewString()
		if err := st.CreateCertificate(ctx, &store.Certificate{ID: id, EnvironmentID: d.fx.EnvID, Name: c.Subject.CommonName, Algorithm: "RSA",
			KeyLength: 2048, SignatureAlgorithm: "SHA256withRSA", SubjectDN: c.Subject.String(), IssuerDN: c.Issuer.String(), UsageType: "SIGNING",
			SerialNumber: c.SerialNumber.String(), StartsAt: c.NotBefore, ExpiresAt: c.NotAfter, Certificate: c.Raw, CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		saml.IdpVerification.Certificates = append(saml.IdpVerification.Certificates, wire.Ref{ID: id})
	}
	data, err := json.Marshal(saml)
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.NewString()
	if err := st.CreateIdentityProvider(ctx, &store.IdentityProvider{ID: id, EnvironmentID: d.fx.EnvID, Name: name, Type: "SAML", Enabled: true,
		Data: data, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateIdentityProviderAttribute(ctx, &store.IdentityProviderAttribute{ID: uuid.NewString(), EnvironmentID: d.fx.EnvID,
		IdentityProviderID: id, Name: "username", Value: "${samlAssertion.subject}", Update: "EMPTY_ONLY", MappingType: "CORE",
		CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	return id
}

// newSAMLRP starts Gatehouse and the samlidp, and registers each with
// the other: the provider at Gatehouse, Gatehouse's metadata at the
// samlidp.
func newSAMLRP(t *testing.T, dsn string, binding string, signed bool) *samlRP {
	t.Helper()
	s := apptest.Start(t, apptest.Options{DSN: dsn})
	x := &samlRP{rp: &rp{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{})}, idp: startSAMLIdP(t)}
	x.provID = addSAMLProvider(t, x.rp, "Corporate", wire.IdentityProviderSAMLData{IdpEntityID: x.idp.entityID(),
		SsoEndpoint: x.idp.srv.URL + "/sso", SsoBinding: binding, AuthnRequestSigned: signed,
		SpEntityID: "urn:gatehouse:" + x.fx.EnvID}, x.idp.cert)
	for _, m := range []map[string]string{
		{"name": "email", "value": "${samlAssertion.urn:oid:0.9.2342.19200300.100.1.3}", "update": "ALWAYS"},
		{"name": "name.given", "value": "${samlAssertion.givenName}", "update": "EMPTY_ONLY"},
		{"name": "name.family", "value": "${samlAssertion.sn}", "update": "EMPTY_ONLY"},
	} {
		now := store.Now()
		if err := s.Store.CreateIdentityProviderAttribute(t.Context(), &store.IdentityProviderAttribute{ID: uuid.NewString(), EnvironmentID: x.fx.EnvID,
			IdentityProviderID: x.provID, Name: m["name"], Value: m["value"], Update: m["update"], MappingType: "CUSTOM", CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	md := newAgent(t).get(x.base() + "/saml20/sp/metadata/" + x.provID)
	expectStatus(t, md, http.StatusOK)
	x.idp.put(t, "/services/gatehouse", string(md.body))
	return x
}

// ---- the browser's side of SAML's bindings

var (
	formAction = regexp.MustCompile(`<form[^>]*action="([^"]*)"`)
	formInput  = regexp.MustCompile(`<input[^>]*name="([^"]*)"[^>]*value="([^"]*)"`)
)

// form reads the first form of an HTML page: its action and fields.
func form(t *testing.T, r *reply) (string, url.Values) {
	t.Helper()
	expectStatus(t, r, http.StatusOK)
	m := formAction.FindSubmatch(r.body)
	if m == nil {
		t.Fatalf("%s: no form in %s", r.url, r.body)
	}
	action, err := r.url.Parse(html.UnescapeString(string(m[1])))
	if err != nil {
		t.Fatal(err)
	}
	v := url.Values{}
	for _, in := range formInput.FindAllSubmatch(r.body, -1) {
		v.Set(html.UnescapeString(string(in[1])), html.UnescapeString(string(in[2])))
	}
	return action.String(), v
}

func (a *agent) postForm(u string, v url.Values) *reply {
	a.t.Helper()
	return a.send("POST", u, "application/x-www-form-urlencoded", v.Encode())
}

// samlSignOn is a sign-on sent to the SAML provider: the browser, its
// flow, the AuthnRequest and the RelayState.
type samlSignOn struct {
	a                 *agent
	flowID, appState  string
	verifier          string
	relayState, reqID string
	toIdP             *reply // the browser's arrival at the provider
	request           []byte // the AuthnRequest's XML
}

// signed: the redirect's query carries a signature, or the posted XML.
func (p *samlSignOn) signed() bool {
	if p.toIdP.url.Query().Get("SAMLRequest") != "" {
		return p.toIdP.url.Query().Get("Signature") != "" && p.toIdP.url.Query().Get("SigAlg") != ""
	}
	return bytes.Contains(p.request, []byte("SignatureValue"))
}

// beginSAML starts a pi.flow sign-on and follows the flow's link to the
// SAML provider (a redirect, or a page that posts the AuthnRequest).
func (x *samlRP) beginSAML(t *testing.T, idp string) *samlSignOn {
	t.Helper()
	p := &samlSignOn{a: newAgent(t), appState: "app-" + uuid.NewString()[:8], verifier: oauth2.GenerateVerifier()}
	fl := x.startPiFlow(t, p.a, p.appState, p.verifier)
	p.flowID = jstr(fl, "id")
	r := p.a.get(x.base() + "/saml20/sp/sso?" + url.Values{"idpId": {idp}, "flowId": {p.flowID}}.Encode())
	var raw []byte
	switch r.status {
	case http.StatusFound:
		l := r.location(t)
		p.relayState = l.Query().Get("RelayState")
		b, err := base64.StdEncoding.DecodeString(l.Query().Get("SAMLRequest"))
		if err != nil {
			t.Fatal(err)
		}
		raw, err = io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(b)), 1<<20))
		if err != nil {
			t.Fatal(err)
		}
		p.toIdP = p.a.get(l.String())
	default:
		action, v := form(t, r)
		p.relayState = v.Get("RelayState")
		var err error
		if raw, err = base64.StdEncoding.DecodeString(v.Get("SAMLRequest")); err != nil {
			t.Fatal(err)
		}
		p.toIdP = p.a.postForm(action, v)
	}
	var req crewjam.AuthnRequest
	if err := xml.Unmarshal(raw, &req); err != nil {
		t.Fatalf("AuthnRequest: %v: %s", err, raw)
	}
	p.reqID, p.request = req.ID, raw
	if p.relayState == "" || p.reqID == "" {
		t.Fatalf("RelayState %q, AuthnRequest %s", p.relayState, raw)
	}
	return p
}

// login fills the provider's login form; it answers with the page that
// posts the Response to Gatehouse's ACS.
func (x *samlRP) login(t *testing.T, p *samlSignOn, user, password string) (string, url.Values) {
	t.Helper()
	r := p.toIdP
	if !bytes.Contains(r.body, []byte(`name="password"`)) {
		return form(t, r) // a session at the provider: the Response at once
	}
	action, v := form(t, r)
	if p.toIdP.url.Query().Get("Signature") != "" {
		// samlidp's login form posts the request back without the
		// redirect's query signature: sign on at /login first, then the
		// signed redirect finds the session.
		lr := p.a.postForm(x.idp.srv.URL+"/login", url.Values{"user": {user}, "password": {password}})
		expectStatus(t, lr, http.StatusOK)
		action, v = form(t, p.a.get(p.toIdP.url.String()))
	} else {
		v.Set("user", user)
		v.Set("password", password)
		action, v = form(t, p.a.postForm(action, v))
	}
	if action != x.acsURL() {
		t.Fatalf("the provider posts to %s", action)
	}
	return action, v
}

// post posts a Response to the ACS and expects the flow back.
func (x *samlRP) post(t *testing.T, p *samlSignOn, v url.Values) map[string]any {
	t.Helper()
	l := p.a.postForm(x.acsURL(), v).location(t)
	if l.String() != x.base()+"/flows/"+p.flowID {
		t.Fatalf("the ACS sent the browser to %s", l)
	}
	r := p.a.get(l.String())
	expectStatus(t, r, http.StatusOK)
	return r.object(t)
}

// TestSAMLProviderSignOn: crewjam's samlidp signs users on to an OIDC
// application at Gatehouse, for each binding and with signed and
// unsigned AuthnRequests: registered just in time the first time, the
// same user the next, and an account whose username is taken linked
// after its password; the ID token is checked with go-oidc.
func TestSAMLProviderSignOn(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			for _, tc := range []struct {
				binding string
				signed  bool
			}{{wire.SAMLBindingRedirect, false}, {wire.SAMLBindingRedirect, true}, {wire.SAMLBindingPost, false}, {wire.SAMLBindingPost, true}} {
				t.Run(tc.binding+map[bool]string{true: "_signed", false: ""}[tc.signed], func(t *testing.T) {
					x := newSAMLRP(t, be.DSN(t), tc.binding, tc.signed)
					x.usePolicy(t, map[string]any{"type": "LOGIN", "priority": 1, "registration": map[string]any{"enabled": true, "population": map[string]string{"id": x.fx.PopulationID}},
						"socialProviders": []map[string]string{{"id": x.provID}}})
					email := "ann." + uuid.NewString()[:8] + "@example.org"
					x.idp.addUser(t, "ann", "ann-secret-1", email, "Ann", "Smith")

					// 1. Just in time.
					p := x.beginSAML(t, x.provID)
					if got := p.signed(); got != tc.signed {
						t.Errorf("AuthnRequest signed = %v, want %v", got, tc.signed)
					}
					_, v := x.login(t, p, "ann", "ann-secret-1")
					if v.Get("RelayState") != p.relayState {
						t.Fatalf("RelayState %q, want %q", v.Get("RelayState"), p.relayState)
					}
					fl := x.post(t, p, v)
					newID := jstr(fl, "_embedded.user.id")
					expectFields(t, "flow", fl, map[string]any{"status": "COMPLETED", "_embedded.user.username": email})
					claims := x.redeem(t, p.a, fl, p.appState, p.verifier)
					if claims["sub"] != newID || newID == "" {
						t.Errorf("ID token sub %v, user %s", claims["sub"], newID)
					}
					expectFields(t, "registered user", x.api(t, "GET", x.envPath()+"/users/"+newID, nil, http.StatusOK), map[string]any{
						"username": email, "email": email, "name": map[string]any{"given": "Ann", "family": "Smith"},
						"identityProvider": map[string]any{"type": "SAML", "id": x.provID},
					})
					expectFields(t, "linkedAccounts", x.api(t, "GET", x.envPath()+"/users/"+newID+"/linkedAccounts", nil, http.StatusOK),
						map[string]any{"count": 1, "_embedded.linkedAccounts.0.externalId": email})

					// 2. Again, in a new browser: the same user.
					p = x.beginSAML(t, x.provID)
					_, v = x.login(t, p, "ann", "ann-secret-1")
					fl = x.post(t, p, v)
					expectFields(t, "second sign-on", fl, map[string]any{"status": "COMPLETED", "_embedded.user.id": newID})

					// 3. A username already taken: linked after the local password.
					bob := "bob." + uuid.NewString()[:8] + "@example.org"
					x.idp.addUser(t, "bob", "bob-secret-1", bob, "Bob", "Jones")
					local := x.s.CreateUser(t, x.fx.EnvID, x.fx.PopulationID, bob, "", "Bob", "Local", x.fx.Password)
					p = x.beginSAML(t, x.provID)
					_, v = x.login(t, p, "bob", "bob-secret-1")
					fl = x.post(t, p, v)
					expectFields(t, "username taken", fl, map[string]any{"status": "ACCOUNT_LINKING_REQUIRED",
						"_embedded.identityProvider": map[string]any{"id": x.provID, "type": "SAML", "name": "Corporate"}})
					r := p.a.check(x.base()+"/flows/"+p.flowID, bob, x.fx.Password)
					expectStatus(t, r, http.StatusOK)
					fl = r.object(t)
					expectFields(t, "linked", fl, map[string]any{"status": "COMPLETED", "_embedded.user.id": local})
					claims = x.redeem(t, p.a, fl, p.appState, p.verifier)
					if claims["sub"] != local {
						t.Errorf("ID token sub %v, want %s", claims["sub"], local)
					}
					expectFields(t, "linked user", x.api(t, "GET", x.envPath()+"/users/"+local, nil, http.StatusOK), map[string]any{
						"email": bob, "name": map[string]any{"given": "Bob", "family": "Local"}})
				})
			}
		})
	}
}
