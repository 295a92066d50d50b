package idp_test

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// refused checks that Gatehouse answered with PingOne's error (status,
// code and the detail's target), and that nothing went on: no redirect,
// no form to the service provider, no session cookie.
func refused(t *testing.T, r *reply, status int, code, target string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s answered %d, want %d: %s", r.url, r.status, status, r.body)
	}
	if l := r.header.Get("Location"); l != "" {
		t.Fatalf("refused, yet redirected to %s", l)
	}
	for _, c := range r.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "ST=") || strings.HasPrefix(c, "ST_NO_SS=") {
			t.Fatalf("refused, yet set a session cookie: %s", c)
		}
	}
	m := r.object(t)
	if m["code"] != code || m["id"] == "" || m["message"] == "" {
		t.Fatalf("error body %s, want code %s", r.body, code)
	}
	if target == "" {
		return
	}
	ds, _ := m["details"].([]any)
	if len(ds) == 0 {
		t.Fatalf("error body %s has no details", r.body)
	}
	if d := ds[0].(map[string]any); d["target"] != target || d["code"] == "" {
		t.Fatalf("error detail %v, want target %s", d, target)
	}
}

// deflated is xml as the HTTP-Redirect binding carries it.
func deflated(t *testing.T, xml []byte) string {
	t.Helper()
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestCompression)
	w.Write(xml)
	w.Close()
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

// request is an AuthnRequest of sp's to Gatehouse's sso.
func request(t *testing.T, x *fixture, sp *serviceProvider) *saml.AuthnRequest {
	t.Helper()
	r, err := sp.mw.ServiceProvider.MakeAuthenticationRequest(x.base()+"/saml20/idp/sso", saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func redirectURL(t *testing.T, sp *serviceProvider, r *saml.AuthnRequest) string {
	t.Helper()
	u, err := r.Redirect("rs", &sp.mw.ServiceProvider)
	if err != nil {
		t.Fatal(err)
	}
	return u.String()
}

func xmlOf(t *testing.T, r *saml.AuthnRequest) string {
	t.Helper()
	d := etree.NewDocument()
	d.SetRoot(r.Element())
	s, err := d.WriteToString()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestBadAuthnRequests: each bad input of the issue on the IdP side fails
// closed with PingOne's error, on SQLite and PostgreSQL.
func TestBadAuthnRequests(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			x := newFixture(t, b)
			sp := newServiceProvider(t)
			app := x.samlApp(t, sp, appOptions{})
			sp.configure(t, x, app.ID, saml.HTTPRedirectBinding, false)
			sso := x.base() + "/saml20/idp/sso"

			t.Run("unknown SP entity id", func(t *testing.T) {
				r := request(t, x, sp)
				r.Issuer.Value = "https://unknown.example.com/sp"
				refused(t, newAgent(t).get(redirectURL(t, sp, r)), 400, "INVALID_REQUEST", "Issuer")
			})
			t.Run("ACS not registered", func(t *testing.T) {
				r := request(t, x, sp)
				r.AssertionConsumerServiceURL = "https://evil.example.com/acs"
				refused(t, newAgent(t).get(redirectURL(t, sp, r)), 400, "INVALID_REQUEST", "AssertionConsumerServiceURL")
			})
			t.Run("destination mismatch", func(t *testing.T) {
				r := request(t, x, sp)
				r.Destination = x.s.URL + "/other/saml20/idp/sso"
				u := strings.Replace(redirectURL(t, sp, r), r.Destination, sso, 1)
				refused(t, newAgent(t).get(u), 400, "INVALID_REQUEST", "Destination")
			})
			t.Run("expired", func(t *testing.T) {
				r := request(t, x, sp)
				r.IssueInstant = time.Now().Add(-time.Hour)
				refused(t, newAgent(t).get(redirectURL(t, sp, r)), 400, "INVALID_REQUEST", "IssueInstant")
			})
			t.Run("not yet valid", func(t *testing.T) {
				r := request(t, x, sp)
				r.IssueInstant = time.Now().Add(time.Hour)
				refused(t, newAgent(t).get(redirectURL(t, sp, r)), 400, "INVALID_REQUEST", "IssueInstant")
			})
			t.Run("replayed request id", func(t *testing.T) {
				u := redirectURL(t, sp, request(t, x, sp))
				first := newAgent(t).get(u)
				if first.status != http.StatusFound {
					t.Fatalf("first use: %d %s", first.status, first.body)
				}
				refused(t, newAgent(t).get(u), 400, "INVALID_REQUEST", "ID")
			})
			t.Run("malformed base64", func(t *testing.T) {
				refused(t, newAgent(t).get(sso+"?SAMLRequest=%25%25not-base64%25%25"), 400, "INVALID_REQUEST", "SAMLRequest")
			})
			t.Run("malformed deflate", func(t *testing.T) {
				bad := base64.StdEncoding.EncodeToString([]byte("this is not deflate data at all"))
				refused(t, newAgent(t).get(sso+"?SAMLRequest="+url.QueryEscape(bad)), 400, "INVALID_REQUEST", "SAMLRequest")
			})
			t.Run("deflate bomb", func(t *testing.T) {
				// 16 MiB of spaces deflate to a few KiB: inflating stops at
				// the limit.
				bomb := deflated(t, bytes.Repeat([]byte(" "), 16<<20))
				if len(bomb) > 32<<10 {
					t.Fatalf("the bomb is %d bytes: too big to pass the size check", len(bomb))
				}
				start := time.Now()
				refused(t, newAgent(t).get(sso+"?SAMLRequest="+url.QueryEscape(bomb)), 400, "INVALID_REQUEST", "SAMLRequest")
				t.Logf("refused in %v", time.Since(start))
			})
			t.Run("oversized SAMLRequest", func(t *testing.T) {
				big := strings.Repeat("A", 40<<10)
				refused(t, newAgent(t).get(sso+"?SAMLRequest="+big), 400, "INVALID_REQUEST", "SAMLRequest")
			})
			t.Run("DOCTYPE and entities", func(t *testing.T) {
				r := request(t, x, sp)
				doc := `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e "` + sp.entityID() + `">]>` +
					strings.Replace(xmlOf(t, r), sp.entityID()+"</saml:Issuer>", "&e;</saml:Issuer>", 1)
				refused(t, newAgent(t).get(sso+"?SAMLRequest="+url.QueryEscape(deflated(t, []byte(doc)))), 400, "INVALID_REQUEST", "SAMLRequest")
			})
			t.Run("repeated parameter", func(t *testing.T) {
				u := redirectURL(t, sp, request(t, x, sp))
				refused(t, newAgent(t).get(u+"&RelayState=again"), 400, "INVALID_REQUEST", "RelayState")
			})
			t.Run("RelayState over 80 bytes", func(t *testing.T) {
				u, err := request(t, x, sp).Redirect(strings.Repeat("r", 81), &sp.mw.ServiceProvider)
				if err != nil {
					t.Fatal(err)
				}
				refused(t, newAgent(t).get(u.String()), 400, "INVALID_REQUEST", "RelayState")
			})
			t.Run("missing SAMLRequest", func(t *testing.T) {
				refused(t, newAgent(t).get(sso), 400, "INVALID_REQUEST", "SAMLRequest")
			})
			t.Run("POST wrong content type", func(t *testing.T) {
				refused(t, newAgent(t).do("POST", sso, "application/json", `{"SAMLRequest":"x"}`), 415, "INVALID_REQUEST", "Content-Type")
			})
			t.Run("POST oversized body", func(t *testing.T) {
				refused(t, newAgent(t).do("POST", sso, "application/x-www-form-urlencoded", "SAMLRequest="+strings.Repeat("A", 100<<10)), 413, "INVALID_REQUEST", "")
			})
			t.Run("unknown environment", func(t *testing.T) {
				refused(t, newAgent(t).get(x.s.URL+"/5b7e8f63-2a43-4b9e-9f0e-6bb1c3f3a0aa/saml20/idp/sso?SAMLRequest=x"), 404, "NOT_FOUND", "")
			})
			t.Run("disabled application", func(t *testing.T) {
				sp2 := newServiceProvider(t)
				app2 := x.samlApp(t, sp2, appOptions{disabled: true})
				sp2.configure(t, x, app2.ID, saml.HTTPRedirectBinding, false)
				for _, r := range []*reply{newAgent(t).get(redirectURL(t, sp2, request(t, x, sp2))),
					newAgent(t).get(x.base() + "/saml20/idp/startsso?spEntityId=" + url.QueryEscape(sp2.entityID()))} {
					refused(t, r, 400, "INVALID_REQUEST", "")
					if !strings.Contains(string(r.body), "is disabled") {
						t.Fatalf("not refused as disabled: %s", r.body)
					}
				}
			})
			t.Run("signed, with no certificate to verify it", func(t *testing.T) {
				sp2 := newServiceProvider(t)
				app2 := x.samlApp(t, sp2, appOptions{})
				sp2.configure(t, x, app2.ID, saml.HTTPRedirectBinding, true)
				refused(t, newAgent(t).get(redirectURL(t, sp2, request(t, x, sp2))), 400, "INVALID_REQUEST", "Signature")
			})
			t.Run("startsso unknown or missing spEntityId", func(t *testing.T) {
				refused(t, newAgent(t).get(x.base()+"/saml20/idp/startsso?spEntityId=nobody"), 400, "INVALID_REQUEST", "spEntityId")
				refused(t, newAgent(t).get(x.base()+"/saml20/idp/startsso"), 400, "INVALID_REQUEST", "spEntityId")
			})
			t.Run("metadata of unknown or OIDC application", func(t *testing.T) {
				refused(t, newAgent(t).get(x.base()+"/saml20/metadata/"+x.fx.AppID), 404, "NOT_FOUND", "")
				refused(t, newAgent(t).get(x.base()+"/saml20/metadata/not-an-id"), 404, "NOT_FOUND", "")
			})
			t.Run("resume unknown flow", func(t *testing.T) {
				refused(t, newAgent(t).get(x.base()+"/saml20/resume?flowId=5b7e8f63-2a43-4b9e-9f0e-6bb1c3f3a0aa"), 404, "NOT_FOUND", "")
				refused(t, newAgent(t).get(x.base()+"/saml20/resume"), 400, "INVALID_REQUEST", "flowId")
			})
			t.Run("an error page for browsers", func(t *testing.T) {
				r := newAgent(t).do("GET", sso+"?SAMLRequest=%25%25", "", "", "Accept", "text/html")
				if r.status != 400 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !strings.Contains(string(r.body), "Error id") {
					t.Fatalf("%d %s: %s", r.status, r.header.Get("Content-Type"), r.body)
				}
			})
			if n := sp.accepted(); n != 0 {
				t.Fatalf("the service provider accepted %d assertions from bad requests", n)
			}
		})
	}
}

// TestSignedAuthnRequests: an application that requires signed
// AuthnRequests takes those its verification certificate verifies, with
// either binding, and refuses unsigned ones, ones signed by another key,
// and SHA-1 signatures unless the operator allows them.
func TestSignedAuthnRequests(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			x := newFixture(t, b)
			for _, binding := range []string{saml.HTTPRedirectBinding, saml.HTTPPostBinding} {
				t.Run(binding[len("urn:oasis:names:tc:SAML:2.0:bindings:"):], func(t *testing.T) {
					sp := newServiceProvider(t)
					app := x.samlApp(t, sp, appOptions{requestSigned: true, certs: []string{x.certificate(t, x.fx.EnvID, sp.cert)}})
					sp.configure(t, x, app.ID, binding, true)
					a := newAgent(t)
					flowID := x.signOnPage(t, toIdP(t, a, x, a.get(sp.srv.URL+"/hello")).location(t))
					res, _ := toSP(t, a, sp, a.get(x.password(t, a, flowID)))
					checkHello(t, x, a.get(res.location(t).String()), "/hello")

					// A signature that does not match the request: the
					// signed RelayState changed on the way.
					if binding == saml.HTTPRedirectBinding {
						r := request(t, x, sp)
						u := redirectURL(t, sp, r)
						if !strings.Contains(u, "RelayState=rs") || !strings.Contains(u, "Signature=") {
							t.Fatalf("not a signed redirect: %s", u)
						}
						refused(t, newAgent(t).get(strings.Replace(u, "RelayState=rs", "RelayState=rt", 1)), 400, "INVALID_REQUEST", "Signature")
					} else {
						// An enveloped signature over what the request no longer
						// says: its ProtocolBinding changed after signing.
						r := request(t, x, sp)
						r.Destination = x.base() + "/saml20/idp/sso"
						if err := sp.mw.ServiceProvider.SignAuthnRequest(r); err != nil {
							t.Fatal(err)
						}
						r.ProtocolBinding = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact"
						refused(t, newAgent(t).postForm(x.base()+"/saml20/idp/sso", url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString([]byte(xmlOf(t, r)))}}),
							400, "INVALID_REQUEST", "Signature")
					}

					// Unsigned.
					sp.configure(t, x, app.ID, binding, false)
					a = newAgent(t)
					refused(t, toIdP(t, a, x, a.get(sp.srv.URL+"/hello")), 400, "INVALID_REQUEST", "Signature")

					// Signed by a key whose certificate is not trusted.
					good := sp.key
					sp.key, _ = keyPair(t, "impostor")
					sp.configure(t, x, app.ID, binding, true)
					a = newAgent(t)
					refused(t, toIdP(t, a, x, a.get(sp.srv.URL+"/hello")), 400, "INVALID_REQUEST", "Signature")
					sp.key = good

					// SHA-1.
					sp.configure(t, x, app.ID, binding, true)
					sp.mw.ServiceProvider.SignatureMethod = dsig.RSASHA1SignatureMethod
					a = newAgent(t)
					r := toIdP(t, a, x, a.get(sp.srv.URL+"/hello"))
					refused(t, r, 400, "INVALID_REQUEST", "SAMLRequest")
				})
			}
		})
	}
}

// TestSHA1Allowed: with --saml-allow-sha1 a SHA-1 signed AuthnRequest is
// taken.
func TestSHA1Allowed(t *testing.T) {
	s := apptest.Start(t, apptest.Options{SAMLAllowSHA1: true})
	x := &fixture{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{})}
	sp := newServiceProvider(t)
	app := x.samlApp(t, sp, appOptions{requestSigned: true, certs: []string{x.certificate(t, x.fx.EnvID, sp.cert)}})
	sp.configure(t, x, app.ID, saml.HTTPRedirectBinding, true)
	sp.mw.ServiceProvider.SignatureMethod = dsig.RSASHA1SignatureMethod
	a := newAgent(t)
	x.signOnPage(t, toIdP(t, a, x, a.get(sp.srv.URL+"/hello")).location(t))
}

// TestForeignEnvironment: a SAML application of one environment is
// unknown at another's endpoints, and its metadata is not served there.
func TestForeignEnvironment(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			x := newFixture(t, b)
			other := &fixture{s: x.s, fx: x.s.NewSignOn(t, apptest.SignOnOptions{})}
			sp := newServiceProvider(t)
			app := x.samlApp(t, sp, appOptions{})
			sp.configure(t, x, app.ID, saml.HTTPRedirectBinding, false)
			r := request(t, x, sp)
			r.Destination = other.base() + "/saml20/idp/sso"
			refused(t, newAgent(t).get(redirectURL(t, sp, r)), 400, "INVALID_REQUEST", "Issuer")
			refused(t, newAgent(t).get(other.base()+"/saml20/idp/startsso?spEntityId="+url.QueryEscape(sp.entityID())), 400, "INVALID_REQUEST", "spEntityId")
			refused(t, newAgent(t).get(other.base()+"/saml20/metadata/"+app.ID), 404, "NOT_FOUND", "")

			// A flow of x's at the other environment's resume.
			a := newAgent(t)
			flowID := x.signOnPage(t, a.get(redirectURL(t, sp, request(t, x, sp))).location(t))
			refused(t, a.get(other.base()+"/saml20/resume?flowId="+flowID), 404, "NOT_FOUND", "")
		})
	}
}
