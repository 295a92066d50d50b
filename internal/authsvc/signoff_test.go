package authsvc_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

type signoffResp struct {
	status int
	header http.Header
	body   string
	cookie map[string]*http.Cookie
}

// signoffCall calls signoff as a browser would, without following the
// redirect; cookie is the ST value ("" for none).
func (fx *grantFixture) signoffCall(t *testing.T, method, envID, cookie string, params url.Values) signoffResp {
	t.Helper()
	u := fx.s.URL + "/" + envID + "/as/signoff"
	var body io.Reader
	if method == "GET" {
		u += "?" + params.Encode()
	} else {
		body = strings.NewReader(params.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if method == "POST" {
		req.Header.Set("Content-Type", formType)
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: session.CookieST, Value: cookie})
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := signoffResp{status: resp.StatusCode, header: resp.Header, body: string(b), cookie: map[string]*http.Cookie{}}
	for _, c := range resp.Cookies() {
		out.cookie[c.Name] = c
	}
	if out.status >= 500 {
		t.Fatalf("signoff answered %d: %s", out.status, b)
	}
	return out
}

// testSignoff: the session ends, its grants are revoked, the cookies are
// cleared, and the browser goes back only to a registered URI.
func (fx *grantFixture) testSignoff(t *testing.T) {
	ctx := context.Background()
	disabled := fx.createClient(t, fx.env, map[string]any{"name": "Disabled", "enabled": false, "protocol": "OPENID_CONNECT", "type": "WEB_APP",
		"grantTypes": []string{"AUTHORIZATION_CODE"}, "responseTypes": []string{"CODE"}, "redirectUris": []string{fxRedirect},
		"postLogoutRedirectUris": []string{fxPostLogout}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"})
	otherCode := fx.code(t, codeSpec{env: fx.other, app: fx.otherWeb.id, user: fx.otherUser, grant: fxGrant("")})
	foreignID := fx.exchange(t, fx.other, fx.otherWeb, otherCode, "").ID
	now := time.Now()
	idHint := func(aud, sub string, exp time.Time) string {
		return fx.signRaw(t, fx.env, map[string]any{"iss": fx.issuer(fx.env), "sub": sub, "aud": aud, "iat": exp.Add(-time.Hour).Unix(), "exp": exp.Unix()})
	}
	sessionLive := func(sid string) bool {
		_, err := fx.s.Store.GetSession(ctx, fx.env, sid)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}

	type soCase struct {
		name      string
		method    string
		env       string
		noCookie  bool
		params    func(idToken string) url.Values
		status    int
		location  string // 302
		errTarget string // 400: the detail's target
		errCode   string // and its code
		ends      bool   // the session ends and the cookies are cleared
	}
	cases := []soCase{
		{name: "cookie alone", params: func(string) url.Values { return url.Values{} }, status: 200, ends: true},
		{name: "no session", noCookie: true, params: func(string) url.Values { return url.Values{} }, status: 200},
		{name: "id_token_hint and registered post_logout_redirect_uri", params: func(id string) url.Values {
			return url.Values{"id_token_hint": {id}, "post_logout_redirect_uri": {fxPostLogout}, "state": {"af0ifjsldkj"}}
		}, status: 302, location: "https://app.example.com/signed-off?from=gatehouse&state=af0ifjsldkj", ends: true},
		{name: "POST with client_id", method: "POST", params: func(string) url.Values {
			return url.Values{"client_id": {fx.web.id}, "post_logout_redirect_uri": {fxPostLogout}}
		}, status: 302, location: fxPostLogout, ends: true},
		{name: "expired id_token_hint", params: func(string) url.Values {
			return url.Values{"id_token_hint": {idHint(fx.web.id, fx.user, now.Add(-time.Hour))}, "post_logout_redirect_uri": {fxPostLogout}}
		}, status: 302, location: fxPostLogout, ends: true},
		{name: "id_token_hint alone", params: func(id string) url.Values { return url.Values{"id_token_hint": {id}} }, status: 200, ends: true},
		{name: "unregistered post_logout_redirect_uri", params: func(id string) url.Values {
			return url.Values{"id_token_hint": {id}, "post_logout_redirect_uri": {"https://evil.example.com/"}}
		}, status: 400, errTarget: "post_logout_redirect_uri", errCode: "INVALID_VALUE"},
		{name: "post_logout_redirect_uri with a different query", params: func(id string) url.Values {
			return url.Values{"id_token_hint": {id}, "post_logout_redirect_uri": {"https://app.example.com/signed-off"}}
		}, status: 400, errTarget: "post_logout_redirect_uri", errCode: "INVALID_VALUE"},
		{name: "post_logout_redirect_uri without an application", params: func(string) url.Values {
			return url.Values{"post_logout_redirect_uri": {fxPostLogout}}
		}, status: 400, errTarget: "id_token_hint", errCode: "REQUIRED_VALUE"},
		{name: "garbage id_token_hint", params: func(string) url.Values { return url.Values{"id_token_hint": {"garbage"}} },
			status: 400, errTarget: "id_token_hint", errCode: "INVALID_VALUE"},
		{name: "id_token_hint of another environment", params: func(string) url.Values { return url.Values{"id_token_hint": {foreignID}} },
			status: 400, errTarget: "id_token_hint", errCode: "INVALID_VALUE"},
		{name: "id_token_hint of another user", params: func(string) url.Values {
			return url.Values{"id_token_hint": {idHint(fx.web.id, fx.user2, now.Add(time.Hour))}}
		}, status: 400, errTarget: "id_token_hint", errCode: "INVALID_VALUE"},
		{name: "id_token_hint of a disabled application", params: func(string) url.Values {
			return url.Values{"id_token_hint": {idHint(disabled.id, fx.user, now.Add(time.Hour))}}
		}, status: 400, errTarget: "id_token_hint", errCode: "INVALID_VALUE"},
		{name: "client_id that is not the hint's audience", params: func(id string) url.Values {
			return url.Values{"id_token_hint": {id}, "client_id": {fx.web2.id}}
		}, status: 400, errTarget: "client_id", errCode: "INVALID_VALUE"},
		{name: "unknown client_id", params: func(string) url.Values {
			return url.Values{"client_id": {"not-a-client"}, "post_logout_redirect_uri": {fxPostLogout}}
		}, status: 400, errTarget: "client_id", errCode: "INVALID_VALUE"},
		{name: "repeated parameter", params: func(string) url.Values { return url.Values{"state": {"a", "b"}} },
			status: 400, errTarget: "state", errCode: "INVALID_VALUE"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok, sid, cookie := fx.signedOn(t, fx.web, fx.user, fxGrant(""))
			if c.noCookie {
				cookie = ""
			}
			m := c.method
			if m == "" {
				m = "GET"
			}
			r := fx.signoffCall(t, m, fx.env, cookie, c.params(tok.ID))
			if r.status != c.status {
				t.Fatalf("status = %d, want %d: %s", r.status, c.status, r.body)
			}
			switch c.status {
			case 200:
				if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
					t.Errorf("Content-Type = %q", ct)
				}
				if !strings.Contains(r.body, "You have signed off") || strings.Contains(strings.ToLower(r.body), "<script") {
					t.Errorf("page = %s", r.body)
				}
			case 302:
				if got := r.header.Get("Location"); got != c.location {
					t.Errorf("Location = %q, want %q", got, c.location)
				}
			case 400:
				var e struct {
					Code    string `json:"code"`
					Details []struct {
						Code, Target string
					} `json:"details"`
				}
				if err := jsonDecode(r.body, &e); err != nil {
					t.Fatalf("error body: %v %s", err, r.body)
				}
				if e.Code != "INVALID_REQUEST" || len(e.Details) != 1 || e.Details[0].Target != c.errTarget || e.Details[0].Code != c.errCode {
					t.Errorf("error = %s, want INVALID_REQUEST with %s on %s", r.body, c.errCode, c.errTarget)
				}
				if r.header.Get("Location") != "" || len(r.cookie) != 0 {
					t.Errorf("a refused sign-off redirected or touched cookies: %v %v", r.header.Get("Location"), r.cookie)
				}
			}
			if c.status != 400 {
				for _, name := range []string{session.CookieST, session.CookieSTNoSS} {
					ck := r.cookie[name]
					if ck == nil || ck.MaxAge >= 0 || ck.Value != "" || ck.Path != "/"+fx.env {
						t.Errorf("cookie %s not cleared: %v", name, ck)
					}
				}
			}
			if live := sessionLive(sid); live == c.ends {
				t.Errorf("session live = %v, want %v", live, !c.ends)
			}
			// Signing off revokes what the session granted.
			refreshed := fx.tokenReq(t, fx.env, fx.web, "grant_type", "refresh_token", "refresh_token", tok.Refresh).Status == 200
			if refreshed == c.ends {
				t.Errorf("refresh after sign-off succeeded = %v, want %v", refreshed, !c.ends)
			}
		})
	}

	t.Run("unknown environment", func(t *testing.T) {
		r := fx.signoffCall(t, "GET", "0b5b7e1e-0000-4000-8000-000000000000", "", url.Values{})
		if r.status != 404 || !strings.Contains(r.body, `"NOT_FOUND"`) {
			t.Errorf("%d %s", r.status, r.body)
		}
	})
}
