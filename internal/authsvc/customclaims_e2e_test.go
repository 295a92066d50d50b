package authsvc_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// TestCustomClaims drives custom claims end to end on both databases, as
// an administrator configures them with PingOne's API and relying parties
// read them with go-oidc and x/oauth2:
//   - a custom resource's attribute mappings in the user's access token
//     (authorization code and refresh), and, of them, only those that read
//     no user in a client_credentials token;
//   - an application's attribute mappings in its ID tokens and userinfo,
//     per idToken/userInfo and oidcScopes, overriding the openid
//     resource's mapping of the same name;
//   - reserved claims never overridden.
func TestCustomClaims(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			e := newECEnv(t, s)
			fx := e.fx
			cc := &ccEnv{s: s, fx: fx, admin: e.admin, envPath: "/environments/" + fx.EnvID}
			ctx := context.Background()

			orders, scopes := cc.resource(t, "Orders", "https://api.orders.example.com", 900, "orders:read")
			cc.grant(t, fx.AppID, orders, scopes["orders:read"])
			for name, value := range map[string]string{
				"mail":     "${user.email}",
				"shout":    "${#string.upperCase(user.name.family)}",
				"initials": "${#string.substring(user.name.given, 0, 1) + #string.substring(user.name.family, 0, 1)}",
				"hello":    "Hi ${user.name.given}!",
				"caller":   "${client.id}",
				"app_name": "${application.name}",
				"tier":     "gold",
				"fallback": "${user.nickname ?: 'no nickname'}",
			} {
				cc.create(t, "/resources/"+orders+"/attributes", map[string]any{"name": name, "value": value})
			}

			// The application's own mappings.
			openid := ""
			for _, r := range apiList(t, cc, "/resources", "resources") {
				if r["name"] == "openid" {
					openid = r["id"].(string)
				}
			}
			phone := ""
			for _, sc := range apiList(t, cc, "/resources/"+openid+"/scopes", "scopes") {
				if sc["name"] == "phone" {
					phone = sc["id"].(string)
				}
			}
			appAttrs := "/applications/" + fx.AppID + "/attributes"
			cc.create(t, appAttrs, map[string]any{"name": "accountRef", "value": "${user.username + '@' + application.name}", "required": true})
			cc.create(t, appAttrs, map[string]any{"name": "family_name", "value": "${#string.upperCase(user.name.family)}"})
			cc.create(t, appAttrs, map[string]any{"name": "ui_only", "value": "${user.email}", "idToken": false})
			cc.create(t, appAttrs, map[string]any{"name": "id_only", "value": "${user.name.given}", "userInfo": false})
			cc.create(t, appAttrs, map[string]any{"name": "with_phone", "value": "phone was granted", "oidcScopes": []string{phone}})

			e.conf.Scopes = []string{oidc.ScopeOpenID, "profile", "email", "orders:read"}
			tok := e.signOn(t, "n-1")
			if got := tok.Extra("scope"); got != "openid profile email orders:read" {
				t.Fatalf("scope = %v", got)
			}
			wantAccess := map[string]any{"mail": fx.Email, "shout": strings.ToUpper(fx.Family), "initials": "JS",
				"hello": "Hi " + fx.Given + "!", "caller": fx.AppID, "app_name": fx.AppName, "tier": "gold", "fallback": "no nickname"}
			checkClaims := func(name string, claims map[string]any, want map[string]any, absent ...string) {
				t.Helper()
				for k, v := range want {
					if claims[k] != v {
						t.Errorf("%s: %s = %v, want %v", name, k, claims[k], v)
					}
				}
				for _, k := range absent {
					if v, ok := claims[k]; ok {
						t.Errorf("%s: has %s = %v", name, k, v)
					}
				}
			}
			at := cc.verified(t, tok.AccessToken)
			checkClaims("access token", at, wantAccess, "accountRef", "family_name")
			if at["sub"] != fx.UserID || at["client_id"] != fx.AppID || !jsonEqual(at["aud"], []any{"https://api.orders.example.com"}) {
				t.Errorf("access token's own claims: %v", at)
			}

			// The ID token, as a relying party verifies it.
			idt := e.verifyID(t, tok, "n-1")
			var id map[string]any
			if err := idt.Claims(&id); err != nil {
				t.Fatal(err)
			}
			checkClaims("ID token", id, map[string]any{"accountRef": fx.Username + "@" + fx.AppName, "family_name": strings.ToUpper(fx.Family),
				"id_only": fx.Given, "given_name": fx.Given, "email": fx.Email, "sub": fx.UserID, "aud": fx.AppID},
				"ui_only", "with_phone", "mail", "tier")

			// Userinfo, through go-oidc.
			provider, err := oidc.NewProvider(ctx, e.issuer())
			if err != nil {
				t.Fatal(err)
			}
			ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
			if err != nil {
				t.Fatalf("userinfo: %v", err)
			}
			var uic map[string]any
			if err := ui.Claims(&uic); err != nil {
				t.Fatal(err)
			}
			checkClaims("userinfo", uic, map[string]any{"accountRef": fx.Username + "@" + fx.AppName, "family_name": strings.ToUpper(fx.Family),
				"ui_only": fx.Email, "sub": fx.UserID}, "id_only", "with_phone", "mail")

			// A refreshed access token carries the same claims; phone
			// releases the mapping limited to it.
			refreshed, err := e.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			checkClaims("refreshed access token", cc.verified(t, refreshed.AccessToken), wantAccess)
			e.conf.Scopes = []string{oidc.ScopeOpenID, "phone"}
			tok2 := e.signOn(t, "n-2")
			var id2 map[string]any
			if err := e.verifyID(t, tok2, "n-2").Claims(&id2); err != nil {
				t.Fatal(err)
			}
			// An application mapping without oidcScopes goes whatever the
			// scopes (PingOne), so family_name is there without profile.
			checkClaims("ID token with phone", id2, map[string]any{"with_phone": "phone was granted", "accountRef": fx.Username + "@" + fx.AppName,
				"family_name": strings.ToUpper(fx.Family)}, "given_name", "email")

			// client_credentials: a web application's token for the same
			// resource carries only the mappings that read no user.
			web := cc.app(t, "WEB_APP", "AUTHORIZATION_CODE", "CLIENT_CREDENTIALS")
			cc.grant(t, web.ClientID, orders, scopes["orders:read"])
			web.Scopes = []string{"orders:read"}
			ct, err := web.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			claims := cc.verified(t, ct.AccessToken)
			checkClaims("client_credentials token", claims, map[string]any{"caller": web.ClientID, "app_name": "WEB_APP-cc", "tier": "gold",
				"sub": web.ClientID, "client_id": web.ClientID},
				"mail", "shout", "initials", "hello", "fallback")

			// A mapping edited later shows in the next token: the cache
			// drops the compiled catalog on write.
			var tierID string
			for _, a := range apiList(t, cc, "/resources/"+orders+"/attributes", "attributes") {
				if a["name"] == "tier" {
					tierID = a["id"].(string)
				}
			}
			r := s.Do(t, apptest.Request{Method: "PUT", URL: cc.envPath + "/resources/" + orders + "/attributes/" + tierID, Token: e.admin,
				Body: map[string]any{"name": "tier", "value": "${#string.lowerCase('PLATINUM')}"}})
			if r.Status != http.StatusOK {
				t.Fatalf("PUT tier: %d %s", r.Status, r.Body)
			}
			ct, err = web.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			checkClaims("client_credentials token after the edit", cc.verified(t, ct.AccessToken), map[string]any{"tier": "platinum"})
		})
	}
}

// apiList reads a management collection.
func apiList(t *testing.T, cc *ccEnv, path, collection string) []map[string]any {
	t.Helper()
	r := cc.s.Do(t, apptest.Request{Method: "GET", URL: cc.envPath + path, Token: cc.admin})
	if r.Status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
	}
	var out []map[string]any
	for _, it := range r.JSON(t)["_embedded"].(map[string]any)[collection].([]any) {
		out = append(out, it.(map[string]any))
	}
	return out
}
