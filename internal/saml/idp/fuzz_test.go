package idp_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/crewjam/saml"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// FuzzSSO: whatever SAMLRequest and RelayState arrive, by either binding,
// saml20/idp/sso answers with PingOne's error or starts a sign-on — never
// a 5xx, never a Response posted to the service provider. The seeds run in
// every go test.
func FuzzSSO(f *testing.F) {
	s := apptest.Start(f, apptest.Options{})
	x := &fixture{s: s, fx: s.NewSignOn(f, apptest.SignOnOptions{})}
	sp := newServiceProvider(f)
	app := x.samlApp(f, sp, appOptions{})
	sp.configure(f, x, app.ID, saml.HTTPRedirectBinding, false)
	r, err := sp.mw.ServiceProvider.MakeAuthenticationRequest(x.base()+"/saml20/idp/sso", saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	if err != nil {
		f.Fatal(err)
	}
	u, err := r.Redirect("rs", &sp.mw.ServiceProvider)
	if err != nil {
		f.Fatal(err)
	}
	valid := u.Query().Get("SAMLRequest")
	f.Add(valid, "rs", false)
	f.Add(base64.StdEncoding.EncodeToString([]byte("<samlp:AuthnRequest/>")), "", true)
	f.Add("%%%", "", false)
	f.Add("", strings.Repeat("r", 200), true)
	f.Add(base64.StdEncoding.EncodeToString([]byte(`<?xml version="1.0"?><!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>`)), "", true)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	sso := x.base() + "/saml20/idp/sso"
	f.Fuzz(func(t *testing.T, samlRequest, relayState string, post bool) {
		v := url.Values{"SAMLRequest": {samlRequest}, "RelayState": {relayState}}
		var res *http.Response
		var err error
		if post {
			res, err = client.PostForm(sso, v)
		} else {
			res, err = client.Get(sso + "?" + v.Encode())
		}
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		switch {
		case res.StatusCode >= 500:
			t.Fatalf("sso answered %d", res.StatusCode)
		case res.StatusCode == http.StatusOK:
			// Only a valid request of a known application is answered
			// with a form, and only when it needs no sign-on page: not
			// here, where the browser has no session.
			t.Fatalf("sso answered 200 without a session")
		}
	})
}
