package authsvc_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/roles"
)

// groupsRP is a relying party whose application maps the user's groups
// into its ID tokens and userinfo and whose resource maps them into its
// access tokens, with the groups API at hand.
type groupsRP struct {
	*ecEnv
	cc      *ccEnv
	browser *http.Client
}

func newGroupsRP(t *testing.T, dsn string) *groupsRP {
	t.Helper()
	s := apptest.Start(t, apptest.Options{DSN: dsn})
	e := newECEnv(t, s)
	rp := &groupsRP{ecEnv: e, cc: &ccEnv{s: s, fx: e.fx, admin: e.admin, envPath: "/environments/" + e.fx.EnvID}, browser: browser(t)}
	orders, scopes := rp.cc.resource(t, "Orders", "https://api.orders.example.com", 900, "orders:read")
	rp.cc.grant(t, e.fx.AppID, orders, scopes["orders:read"])
	rp.cc.create(t, "/resources/"+orders+"/attributes", map[string]any{"name": "groups", "value": "${user.memberOfGroupNames}"})
	appAttrs := "/applications/" + e.fx.AppID + "/attributes"
	rp.cc.create(t, appAttrs, map[string]any{"name": "groups", "value": "${user.memberOfGroupNames}"})
	rp.cc.create(t, appAttrs, map[string]any{"name": "group_ids", "value": "${user.memberOfGroupIDs}"})
	e.conf.Scopes = []string{oidc.ScopeOpenID, "profile", "orders:read"}
	return rp
}

// do sends an admin request and wants status.
func (rp *groupsRP) do(t *testing.T, method, path string, body any, status int) *apptest.Response {
	t.Helper()
	r := rp.s.Do(t, apptest.Request{Method: method, URL: rp.cc.envPath + path, Token: rp.admin, Body: body})
	if r.Status != status {
		t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Body)
	}
	return r
}

func (rp *groupsRP) join(t *testing.T, groupID string) {
	t.Helper()
	rp.do(t, "POST", "/users/"+rp.fx.UserID+"/memberOfGroups", map[string]any{"id": groupID}, http.StatusCreated)
}

func (rp *groupsRP) leave(t *testing.T, groupID string) {
	t.Helper()
	rp.do(t, "DELETE", "/users/"+rp.fx.UserID+"/memberOfGroups/"+groupID, nil, http.StatusNoContent)
}

// accessControl replaces the application's accessControl (nil: none) with
// a PUT of what GET answers, as PingOne's Terraform provider does.
func (rp *groupsRP) accessControl(t *testing.T, ac map[string]any) {
	t.Helper()
	app := rp.do(t, "GET", "/applications/"+rp.fx.AppID, nil, http.StatusOK).JSON(t)
	for _, k := range []string{"_links", "id", "environment", "createdAt", "updatedAt"} {
		delete(app, k)
	}
	if ac == nil {
		delete(app, "accessControl")
	} else {
		app["accessControl"] = ac
	}
	rp.do(t, "PUT", "/applications/"+rp.fx.AppID, app, http.StatusOK)
}

// signOn signs the user on in the RP's browser (redirect mode, as a web
// application does) and answers the tokens, or the OAuth error the
// application got at its redirect URI.
func (rp *groupsRP) signOn(t *testing.T, extra ...string) (*oauth2.Token, url.Values) {
	t.Helper()
	base := rp.s.URL + "/" + rp.fx.EnvID
	verifier := oauth2.GenerateVerifier()
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), oidc.Nonce("n")}
	for i := 0; i+1 < len(extra); i += 2 {
		opts = append(opts, oauth2.SetAuthURLParam(extra[i], extra[i+1]))
	}
	h := call(t, rp.browser, "GET", rp.conf.AuthCodeURL("st", opts...), "", "")
	wantStatus(t, h, http.StatusFound)
	loc, _ := url.Parse(h.header.Get("Location"))
	if id := loc.Query().Get("flowId"); id != "" {
		h = call(t, rp.browser, "POST", base+"/flows/"+id, ctUsernamePassword, `{"username":"`+rp.fx.Username+`","password":"`+rp.fx.Password+`"}`)
		wantStatus(t, h, http.StatusOK)
		fl := h.json(t)
		if fl["status"] == "FAILED" {
			// PingOne's flow says why before the application hears it.
			if e, _ := fl["error"].(map[string]any); e == nil || e["code"] != "access_denied" || e["message"] != "The user is not authorized to access the application." {
				t.Errorf("failed flow's error: %v", fl["error"])
			}
		}
		h = call(t, rp.browser, "GET", base+"/as/resume?flowId="+id, "", "")
		wantStatus(t, h, http.StatusFound)
		loc, _ = url.Parse(h.header.Get("Location"))
	}
	q := loc.Query()
	if loc.Scheme+"://"+loc.Host+loc.Path != rp.fx.RedirectURI || q.Get("state") != "st" {
		t.Fatalf("redirect to %s", loc)
	}
	if q.Get("error") != "" {
		return nil, q
	}
	tok, err := rp.conf.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return tok, q
}

// claims answers the groups and group_ids of the ID token, userinfo and
// the access token of tok.
func (rp *groupsRP) claims(t *testing.T, tok *oauth2.Token) (id, info, at map[string]any) {
	t.Helper()
	if raw, _ := tok.Extra("id_token").(string); raw != "" {
		if err := rp.verifyID(t, tok, "n").Claims(&id); err != nil {
			t.Fatal(err)
		}
	}
	provider, err := oidc.NewProvider(context.Background(), rp.issuer())
	if err != nil {
		t.Fatal(err)
	}
	ui, err := provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	if err := ui.Claims(&info); err != nil {
		t.Fatal(err)
	}
	return id, info, rp.cc.verified(t, tok.AccessToken)
}

func (rp *groupsRP) refresh(t *testing.T, tok *oauth2.Token) (*oauth2.Token, string) {
	t.Helper()
	r := rp.s.Do(t, apptest.Request{Method: "POST", URL: rp.issuer() + "/token", ContentType: formType,
		Body:    url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}.Encode(),
		Headers: basic(rp.fx.AppID, rp.fx.AppSecret)})
	b := r.JSON(t)
	if r.Status != http.StatusOK {
		e, _ := b["error"].(string)
		return nil, e
	}
	// The refreshed ID token carries no nonce: claims reads the access
	// token and userinfo of a refresh.
	return &oauth2.Token{AccessToken: b["access_token"].(string), RefreshToken: b["refresh_token"].(string)}, ""
}

// TestGroupClaims: ${user.memberOfGroupNames} and ${user.memberOfGroupIDs}
// put the user's groups, direct and nested, into the ID token, userinfo
// and the access token once the user joins a group, and take them out
// once the user leaves it.
func TestGroupClaims(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			rp := newGroupsRP(t, be.DSN(t))
			staff := rp.do(t, "POST", "/groups", map[string]any{"name": "Staff"}, http.StatusCreated).JSON(t)["id"].(string)
			eng := rp.do(t, "POST", "/groups", map[string]any{"name": "Engineering"}, http.StatusCreated).JSON(t)["id"].(string)
			rp.do(t, "POST", "/groups/"+eng+"/memberOfGroups", map[string]any{"id": staff}, http.StatusCreated)

			tok, _ := rp.signOn(t)
			id, info, at := rp.claims(t, tok)
			for name, c := range map[string]map[string]any{"ID token": id, "userinfo": info, "access token": at} {
				if g, ok := c["groups"]; ok {
					t.Errorf("%s of a user in no group: groups = %v", name, g)
				}
			}

			rp.join(t, eng)
			wantNames, wantIDs := []any{"Engineering", "Staff"}, []any{eng, staff}
			// userinfo reads the groups now, with the token issued before.
			if _, info, _ = rp.claims(t, tok); !jsonEqual(info["groups"], wantNames) || !jsonEqual(info["group_ids"], wantIDs) {
				t.Errorf("userinfo after joining: groups %v group_ids %v", info["groups"], info["group_ids"])
			}
			tok, _ = rp.signOn(t)
			id, info, at = rp.claims(t, tok)
			for name, c := range map[string]map[string]any{"ID token": id, "userinfo": info} {
				if !jsonEqual(c["groups"], wantNames) || !jsonEqual(c["group_ids"], wantIDs) {
					t.Errorf("%s: groups %v group_ids %v, want %v %v", name, c["groups"], c["group_ids"], wantNames, wantIDs)
				}
			}
			if !jsonEqual(at["groups"], wantNames) {
				t.Errorf("access token: groups %v, want %v", at["groups"], wantNames)
			}
			refreshed, e := rp.refresh(t, tok)
			if e != "" {
				t.Fatalf("refresh: %s", e)
			}
			if _, _, at = rp.claims(t, refreshed); !jsonEqual(at["groups"], wantNames) {
				t.Errorf("refreshed access token: groups %v", at["groups"])
			}

			rp.leave(t, eng)
			if _, info, _ = rp.claims(t, refreshed); info["groups"] != nil || info["group_ids"] != nil {
				t.Errorf("userinfo after leaving: %v %v", info["groups"], info["group_ids"])
			}
			tok, _ = rp.signOn(t)
			id, _, at = rp.claims(t, tok)
			if id["groups"] != nil || at["groups"] != nil {
				t.Errorf("after leaving: ID token %v access token %v", id["groups"], at["groups"])
			}
		})
	}
}

// TestApplicationAccessControl: an application's accessControl refuses a
// user outside its groups with PingOne's access_denied (the flow FAILED,
// the application told at its redirect URI), admits a member (nested
// membership counts), refuses a refresh and a silent sign-on once the
// user leaves, and holds ALL_GROUPS and ADMIN_USERS_ONLY as PingOne does.
func TestApplicationAccessControl(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			rp := newGroupsRP(t, be.DSN(t))
			staff := rp.do(t, "POST", "/groups", map[string]any{"name": "Staff"}, http.StatusCreated).JSON(t)["id"].(string)
			eng := rp.do(t, "POST", "/groups", map[string]any{"name": "Engineering"}, http.StatusCreated).JSON(t)["id"].(string)
			ops := rp.do(t, "POST", "/groups", map[string]any{"name": "Operations"}, http.StatusCreated).JSON(t)["id"].(string)
			rp.do(t, "POST", "/groups/"+eng+"/memberOfGroups", map[string]any{"id": staff}, http.StatusCreated)
			ref := func(ids ...string) []any {
				out := []any{}
				for _, id := range ids {
					out = append(out, map[string]any{"id": id})
				}
				return out
			}
			denied := func(what string, q url.Values) {
				t.Helper()
				if q.Get("error") != "access_denied" || q.Get("error_description") != "The user is not authorized to access the application." {
					t.Errorf("%s: the application got %v, want access_denied", what, q)
				}
			}

			rp.accessControl(t, map[string]any{"group": map[string]any{"type": "ANY_GROUP", "groups": ref(staff)}})
			tok, q := rp.signOn(t)
			if tok != nil {
				t.Fatal("a user outside the application's group got tokens")
			}
			denied("outside the group", q)

			rp.join(t, eng) // in Staff through Engineering
			tok, q = rp.signOn(t)
			if tok == nil {
				t.Fatalf("a member (nested) was refused: %v", q)
			}
			if _, e := rp.refresh(t, tok); e != "" {
				t.Fatalf("a member's refresh: %s", e)
			}
			if tok2, q := rp.signOn(t, "prompt", "none"); tok2 == nil {
				t.Fatalf("a member's silent sign-on: %v", q)
			}

			rp.leave(t, eng)
			if _, e := rp.refresh(t, tok); e != "invalid_grant" {
				t.Errorf("refresh after leaving the group: %q, want invalid_grant", e)
			}
			_, q = rp.signOn(t, "prompt", "none")
			denied("silent sign-on after leaving", q)

			// ALL_GROUPS: every group, nested membership included.
			rp.accessControl(t, map[string]any{"group": map[string]any{"type": "ALL_GROUPS", "groups": ref(staff, ops)}})
			rp.join(t, eng)
			_, q = rp.signOn(t, "prompt", "login")
			denied("in one of ALL_GROUPS", q)
			rp.join(t, ops)
			if tok, q = rp.signOn(t, "prompt", "login"); tok == nil {
				t.Errorf("in all of ALL_GROUPS: %v", q)
			}

			// ADMIN_USERS_ONLY: an administrator role, held directly or
			// through a group.
			rp.accessControl(t, map[string]any{"role": map[string]any{"type": "ADMIN_USERS_ONLY"}})
			_, q = rp.signOn(t, "prompt", "login")
			denied("no admin role", q)
			// A read-only role is not one of the administrator roles
			// PingOne names (Organization Admin, Environment Admin,
			// Identity Data Admin, Client Application Developer).
			rp.do(t, "POST", "/groups/"+ops+"/roleAssignments", map[string]any{"role": map[string]any{"id": roles.IdentityDataReadOnly.ID},
				"scope": map[string]any{"id": rp.fx.EnvID, "type": "ENVIRONMENT"}}, http.StatusCreated)
			_, q = rp.signOn(t, "prompt", "login")
			denied("a read-only role only", q)
			rp.do(t, "POST", "/groups/"+ops+"/roleAssignments", map[string]any{"role": map[string]any{"id": roles.IdentityDataAdmin.ID},
				"scope": map[string]any{"id": rp.fx.EnvID, "type": "ENVIRONMENT"}}, http.StatusCreated)
			if tok, q = rp.signOn(t, "prompt", "login"); tok == nil {
				t.Errorf("an admin role through a group: %v", q)
			}

			// Without accessControl, anyone signs on again.
			rp.accessControl(t, nil)
			rp.leave(t, ops)
			rp.leave(t, eng)
			if tok, q = rp.signOn(t, "prompt", "login"); tok == nil {
				t.Errorf("without accessControl: %v", q)
			}
		})
	}
}

// TestTokenExchangeAccessControl: an exchanging application's
// accessControl holds for the user a subject token names: outside its
// group, invalid_grant; in it, the exchange goes through. An application's
// own token exchanged is no user to admit.
func TestTokenExchangeAccessControl(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			e := newTxEnv(t, be.DSN(t))
			staff := e.create(t, "/groups", map[string]any{"name": "Staff"})
			app := e.s.Do(t, apptest.Request{Method: "GET", URL: e.envPath + "/applications/" + e.exchanger.ClientID, Token: e.admin}).JSON(t)
			for _, k := range []string{"_links", "id", "environment", "createdAt", "updatedAt"} {
				delete(app, k)
			}
			app["accessControl"] = map[string]any{"group": map[string]any{"type": "ANY_GROUP", "groups": []any{map[string]any{"id": staff}}}}
			if r := e.s.Do(t, apptest.Request{Method: "PUT", URL: e.envPath + "/applications/" + e.exchanger.ClientID, Token: e.admin, Body: app}); r.Status != http.StatusOK {
				t.Fatalf("accessControl: %d %s", r.Status, r.Body)
			}
			exchange := func(subject string) *apptest.Response {
				return e.post(t, e.exchanger, "grant_type", grantTokenExchange, "subject_token", subject,
					"subject_token_type", typeAccessToken, "scope", "orders:read")
			}
			r := exchange(e.user.AccessToken)
			if b := r.JSON(t); r.Status != http.StatusBadRequest || b["error"] != "invalid_grant" ||
				b["error_description"] != "The user is not authorized to access the application." {
				t.Errorf("a user outside the group: %d %v", r.Status, b)
			}
			if r := e.s.Do(t, apptest.Request{Method: "POST", URL: e.envPath + "/users/" + e.fx.UserID + "/memberOfGroups", Token: e.admin,
				Body: map[string]any{"id": staff}}); r.Status != http.StatusCreated {
				t.Fatalf("join: %d %s", r.Status, r.Body)
			}
			if r := exchange(e.user.AccessToken); r.Status != http.StatusOK {
				t.Errorf("a member: %d %s", r.Status, r.Body)
			}
		})
	}
}
