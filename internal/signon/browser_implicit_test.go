package signon_test

import (
	"context"
	"fmt"
	"html"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// formApp is a relying party that takes its authorization response from
// a form post (response_mode=form_post) or, in the browser, from the
// fragment: it records every request to its redirect URI.
type formApp struct {
	*httptest.Server
	mu   sync.Mutex
	hits []formHit
}

type formHit struct {
	method string
	query  url.Values
	form   url.Values
}

func newFormApp(t *testing.T) *formApp {
	a := &formApp{}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r)
			return
		}
		r.ParseForm()
		a.mu.Lock()
		a.hits = append(a.hits, formHit{method: r.Method, query: r.URL.Query(), form: r.PostForm})
		a.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Example app</title></head>`+
			`<body><main id="app"><h1>Example app</h1><p>Received a %s with state %s.</p></main></body></html>`,
			r.Method, html.EscapeString(r.PostForm.Get("state")))
	}))
	t.Cleanup(a.Close)
	return a
}

func (a *formApp) RedirectURI() string { return a.URL + "/callback" }

func (a *formApp) last() (formHit, int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.hits) == 0 {
		return formHit{}, 0
	}
	return a.hits[len(a.hits)-1], len(a.hits)
}

// implicitAuthorizeURL asks for responseType with a nonce, in mode ("" for
// the response type's default).
func implicitAuthorizeURL(base, clientID, redirectURI, responseType, mode, state, nonce string) string {
	v := url.Values{"response_type": {responseType}, "client_id": {clientID}, "redirect_uri": {redirectURI},
		"scope": {"openid profile email"}, "state": {state}, "nonce": {nonce}}
	if mode != "" {
		v.Set("response_mode", mode)
	}
	return base + "/as/authorize?" + v.Encode()
}

// TestBrowserImplicitFormPostAndFragment: Chromium signs on through the
// hosted page for an implicit request in form_post mode; the page resume
// answers submits itself under its Content-Security-Policy (its one
// script allowed by hash) and the application receives the tokens in a
// POST. Then a hybrid request by single sign-on lands on the redirect URI
// with the response in the fragment, which the application's server
// never sees. go-oidc verifies both ID tokens and their nonces.
func TestBrowserImplicitFormPostAndFragment(t *testing.T) {
	b := newBrowser(t, desktop)
	s := apptest.Start(t, apptest.Options{})
	app := newFormApp(t)
	fx := s.NewSignOn(t, apptest.SignOnOptions{App: map[string]any{"redirectUris": []string{app.RedirectURI()},
		"grantTypes": []string{"AUTHORIZATION_CODE", "IMPLICIT"}, "responseTypes": []string{"CODE", "TOKEN", "ID_TOKEN"}}})
	base := s.URL + "/" + fx.EnvID
	ctx := context.Background()
	provider, err := oidc.NewProvider(ctx, base+"/as")
	if err != nil {
		t.Fatal(err)
	}
	verify := func(raw, nonce string) *oidc.IDToken {
		t.Helper()
		idt, err := provider.Verifier(&oidc.Config{ClientID: fx.AppID}).Verify(ctx, raw)
		if err != nil {
			t.Fatalf("id token: %v", err)
		}
		if idt.Nonce != nonce || idt.Subject != fx.UserID {
			t.Errorf("id token nonce %q sub %q", idt.Nonce, idt.Subject)
		}
		return idt
	}

	b.Navigate(implicitAuthorizeURL(base, fx.AppID, app.RedirectURI(), "id_token token", "form_post", "fp-1", "n-fp"))
	b.waitStatus("USERNAME_PASSWORD_REQUIRED")
	b.Shot("sign-on-page")
	signOnWith(b, fx.Username, fx.Password)
	b.waitURL(app.RedirectURI())
	b.WaitFor("the application's page", `document.querySelector('#app') !== null`)
	b.Shot("app-received-form-post")
	hit, n := app.last()
	if n != 1 || hit.method != "POST" || len(hit.query) != 0 {
		t.Fatalf("the application received %d requests, the last a %s with query %v", n, hit.method, hit.query)
	}
	if got := slices.Sorted(maps.Keys(hit.form)); !slices.Equal(got, []string{"access_token", "expires_in", "id_token", "scope", "state", "token_type"}) {
		t.Fatalf("posted parameters %v", got)
	}
	if hit.form.Get("state") != "fp-1" || hit.form.Get("token_type") != "Bearer" || hit.form.Get("scope") != "openid profile email" {
		t.Errorf("posted %v", hit.form)
	}
	idt := verify(hit.form.Get("id_token"), "n-fp")
	if err := idt.VerifyAccessToken(hit.form.Get("access_token")); err != nil {
		t.Errorf("at_hash: %v", err)
	}

	// Single sign-on, fragment by default: the browser keeps the response.
	b.Navigate(implicitAuthorizeURL(base, fx.AppID, app.RedirectURI(), "code id_token", "", "fr-2", "n-fr"))
	b.waitURL(app.RedirectURI() + "#")
	b.WaitFor("the application's page", `document.querySelector('#app') !== null`)
	b.Shot("app-received-fragment")
	frag, err := url.ParseQuery(strings.TrimPrefix(eval[string](b, `location.hash`), "#"))
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(maps.Keys(frag)); !slices.Equal(got, []string{"code", "id_token", "state"}) || frag.Get("state") != "fr-2" {
		t.Fatalf("fragment %v", frag)
	}
	verify(frag.Get("id_token"), "n-fr")
	hit, n = app.last()
	if n != 2 || hit.method != "GET" || len(hit.query) != 0 || len(hit.form) != 0 {
		t.Errorf("the application's server saw %s with query %v and form %v: the response must stay in the fragment", hit.method, hit.query, hit.form)
	}
}
