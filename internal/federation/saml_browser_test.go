package federation_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/crewjam/saml/samlidp"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/apptest/chromium"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// TestBrowserSAMLProviderCrossSite: in headless Chromium, the hosted
// sign-on page's provider button leads to the samlidp at another site
// (localhost, where Gatehouse is 127.0.0.1), whose page posts the
// Response back cross-site. Chromium leaves the SameSite=Lax ST cookie off
// that POST; the ACS has the browser post it again from its own origin,
// and the sign-on ends at the application with a code for the user.
func TestBrowserSAMLProviderCrossSite(t *testing.T) {
	chromium.Path(t, "the SAML provider's cross-site sign-on")

	// The application: its callback page.
	var mu sync.Mutex
	var got url.Values
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		got = r.URL.Query()
		mu.Unlock()
		w.Write([]byte("<!doctype html><title>app</title><p id=done>signed in</p>"))
	}))
	t.Cleanup(app.Close)

	s := apptest.Start(t, apptest.Options{})
	d := &rp{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{App: map[string]any{"redirectUris": []string{app.URL + "/callback"}}})}
	d.fx.RedirectURI = app.URL + "/callback"

	// The samlidp at http://localhost:port: another site than 127.0.0.1.
	idp := &samlIdP{}
	idp.key, idp.cert = selfSigned(t, "samlidp")
	var h http.Handler
	idp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(idp.srv.Close)
	idp.srv.URL = strings.Replace(idp.srv.URL, "127.0.0.1", "localhost", 1)
	u, _ := url.Parse(idp.srv.URL)
	srv, err := samlidp.New(samlidp.Options{URL: *u, Key: idp.key, Certificate: idp.cert, Store: &samlidp.MemoryStore{}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	idp.idp, h = srv, srv
	x := &samlRP{rp: d, idp: idp}
	x.provID = addSAMLProvider(t, d, "Workforce", wire.IdentityProviderSAMLData{IdpEntityID: idp.entityID(),
		SsoEndpoint: idp.srv.URL + "/sso", SsoBinding: wire.SAMLBindingRedirect, SpEntityID: "urn:gatehouse:" + d.fx.EnvID}, idp.cert)
	md := newAgent(t).get(d.base() + "/saml20/sp/metadata/" + x.provID)
	expectStatus(t, md, http.StatusOK)
	idp.put(t, "/services/gatehouse", string(md.body))
	idp.addUser(t, "gina", "gina-secret-1", "gina@example.org", "Gina", "Ray")
	d.usePolicy(t, map[string]any{"type": "LOGIN", "priority": 1,
		"registration":    map[string]any{"enabled": true, "population": map[string]string{"id": d.fx.PopulationID}},
		"socialProviders": []map[string]string{{"id": x.provID}}})

	ctx := chromium.Launch(t, "the SAML provider's cross-site sign-on",
		// Without the "Lax+POST" grace of two minutes that Chromium gives a new
		// cookie without SameSite (ST-NO-SS): a user who takes longer at the
		// provider meets the rule this test needs now.
		chromedp.Flag("enable-features", "SameSiteDefaultChecksMethodRigorously"))
	ctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
	defer cancelT()

	// Every POST to the ACS, and whether it carried the ST cookie.
	var posts []bool
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok && e.Request.Method == "POST" && e.Request.URL == x.acsURL() {
			mu.Lock()
			posts = append(posts, true)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	authz := d.oauth().AuthCodeURL("browser-state", oauth2.SetAuthURLParam("nonce", "n-browser"))
	if err := chromedp.Do(ctx,
		chromedp.Navigate(authz),
		chromedp.WaitVisible(`a.provider`),
		chromedp.Click(`a.provider`),
		chromedp.WaitVisible(`input[name="user"]`),
		chromedp.SendKeys(`input[name="user"]`, "gina"),
		chromedp.SendKeys(`input[name="password"]`, "gina-secret-1"),
		chromedp.Submit(`input[name="password"]`),
		chromedp.WaitVisible(`#done`),
	); err != nil {
		t.Fatalf("the sign-on did not reach the application: %v", err)
	}
	mu.Lock()
	q, n := got, len(posts)
	mu.Unlock()
	if q.Get("state") != "browser-state" || q.Get("code") == "" {
		t.Fatalf("the application got %v", q)
	}
	// Posted cross-site by the provider's page, then again by the ACS's own.
	if n != 2 {
		t.Errorf("%d POSTs to the ACS, want 2 (the provider's, without the cookie, and the re-post)", n)
	}
	tok, err := d.oauth().Exchange(context.Background(), q.Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	if tok.Extra("id_token") == nil {
		t.Error("no ID token")
	}
}
