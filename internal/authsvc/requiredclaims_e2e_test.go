package authsvc_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// TestRequiredApplicationClaim: an application attribute mapping marked
// required must have a value in every ID token (PingOne: "If you request
// an ID token with a claim that is marked as required but doesn't have a
// value, PingOne will return an error"; a mapping not required is then
// left out). The token endpoint answers invalid_grant and issues nothing,
// for a code (whose grant it revokes) and a refresh token alike; the
// authorization endpoint sends access_denied to the redirect URI. Tokens
// without an ID token, and userinfo, are not concerned; nor is a required
// mapping kept out of ID tokens. Once the user has a value, the claim is
// there.
func TestRequiredApplicationClaim(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			fx := s.NewSignOn(t, apptest.SignOnOptions{App: implicitApp})
			ic := newImplicitClient(t, s, fx)
			cc := &ccEnv{s: s, fx: fx, admin: s.AdminToken(t), envPath: "/environments/" + fx.EnvID}
			const desc = "The application requires the claim nick, which has no value for the user."

			token := func(kv ...string) *apptest.Response {
				t.Helper()
				return do(t, s, apptest.Request{Method: "POST", URL: ic.base + "/as/token", ContentType: formType,
					Headers: basic(fx.AppID, fx.AppSecret), Body: form(kv...)})
			}
			redeem := func(code string) *apptest.Response {
				t.Helper()
				return token("grant_type", "authorization_code", "code", code, "redirect_uri", fx.RedirectURI)
			}
			wantRefused := func(what string, r *apptest.Response, wantDesc string) {
				t.Helper()
				wantOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
				if d := r.JSON(t)["error_description"]; d != wantDesc {
					t.Errorf("%s: error_description = %q, want %q", what, d, wantDesc)
				}
			}
			// codeFor signs on in a new browser and returns the code of
			// the redirect (query mode).
			codeFor := func() string {
				t.Helper()
				c := browser(t)
				h := ic.signOn(t, c, call(t, c, "GET", ic.authorizeURL("code", "st", "n"), "", ""))
				wantStatus(t, h, http.StatusFound)
				loc, err := url.Parse(h.header.Get("Location"))
				if err != nil || loc.Query().Get("code") == "" {
					t.Fatalf("redirect %s", h.header.Get("Location"))
				}
				return loc.Query().Get("code")
			}

			// Before the mapping: tokens with a refresh token.
			r := redeem(codeFor())
			if r.Status != http.StatusOK {
				t.Fatalf("redemption: %d %s", r.Status, r.Body)
			}
			refresh := r.JSON(t)["refresh_token"].(string)

			attrs := "/applications/" + fx.AppID + "/attributes"
			cc.create(t, attrs, map[string]any{"name": "nick", "value": "${user.nickname}", "required": true})
			cc.create(t, attrs, map[string]any{"name": "title_ui", "value": "${user.title}", "required": true, "idToken": false})
			cc.create(t, attrs, map[string]any{"name": "title_opt", "value": "${user.title}"})

			t.Run("refresh", func(t *testing.T) {
				wantRefused("refresh", token("grant_type", "refresh_token", "refresh_token", refresh), desc)
			})
			t.Run("code", func(t *testing.T) {
				code := codeFor()
				wantRefused("redemption", redeem(code), desc)
				// The code is spent and its grant left nothing behind.
				wantRefused("second redemption", redeem(code), "The authorization code has already been used.")
			})
			t.Run("id_token token", func(t *testing.T) {
				c := browser(t)
				v := fragment(t, ic.signOn(t, c, call(t, c, "GET", ic.authorizeURL("id_token token", "st", "n"), "", "")), fx.RedirectURI)
				want := url.Values{"error": {"access_denied"}, "error_description": {desc}, "state": {"st"}}
				if v.Encode() != want.Encode() {
					t.Errorf("authorization response %v, want %v", v, want)
				}
			})
			t.Run("token without an ID token", func(t *testing.T) {
				c := browser(t)
				v := fragment(t, ic.signOn(t, c, call(t, c, "GET", ic.authorizeURL("token", "st", ""), "", "")), fx.RedirectURI)
				at := v.Get("access_token")
				if at == "" {
					t.Fatalf("response %v", v)
				}
				ui := do(t, s, apptest.Request{Method: "GET", URL: ic.base + "/as/userinfo", Headers: http.Header{"Authorization": {"Bearer " + at}}})
				if ui.Status != http.StatusOK {
					t.Fatalf("userinfo: %d %s", ui.Status, ui.Body)
				}
				claims := ui.JSON(t)
				for _, k := range []string{"nick", "title_ui", "title_opt"} {
					if v, ok := claims[k]; ok {
						t.Errorf("userinfo has %s = %v", k, v)
					}
				}
				if claims["sub"] != fx.UserID {
					t.Errorf("userinfo sub = %v", claims["sub"])
				}
			})
			t.Run("with a value", func(t *testing.T) {
				p := s.Do(t, apptest.Request{Method: "PATCH", URL: cc.envPath + "/users/" + fx.UserID, Token: cc.admin, Body: map[string]any{"nickname": "Jo"}})
				if p.Status != http.StatusOK {
					t.Fatalf("PATCH user: %d %s", p.Status, p.Body)
				}
				r := redeem(codeFor())
				if r.Status != http.StatusOK {
					t.Fatalf("redemption: %d %s", r.Status, r.Body)
				}
				id := payload(t, r.JSON(t)["id_token"].(string))
				if id["nick"] != "Jo" {
					t.Errorf("ID token nick = %v", id["nick"])
				}
				for _, k := range []string{"title_ui", "title_opt"} {
					if v, ok := id[k]; ok {
						t.Errorf("ID token has %s = %v", k, v)
					}
				}
			})
		})
	}
}
