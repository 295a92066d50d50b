package authsvc_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// newActionsFixture is an environment whose application signs on with a
// policy of its own: LOGIN, then the actions given (each a sign-on policy
// action body; priorities follow LOGIN's 1 in order). It reuses the MFA
// fixture's flow helpers (signOn, post, get, claims).
func newActionsFixture(t *testing.T, dsn string, acts ...map[string]any) *mfaFixture {
	t.Helper()
	return newActionsFixtureWith(t, apptest.Options{DSN: dsn}, acts...)
}

// newActionsFixtureWith is newActionsFixture on a server started with o
// (a test clock, say).
func newActionsFixtureWith(t *testing.T, o apptest.Options, acts ...map[string]any) *mfaFixture {
	t.Helper()
	s := apptest.Start(t, o)
	x := &mfaFixture{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{}), admin: s.AdminToken(t)}
	env := "/environments/" + x.fx.EnvID
	r := s.Do(t, apptest.Request{Method: "POST", URL: env + "/signOnPolicies", Token: x.admin, Body: map[string]any{"name": "With_Actions"}})
	if r.Status != http.StatusCreated {
		t.Fatalf("policy: %d %s", r.Status, r.Body)
	}
	x.mfaPolID = r.JSON(t)["id"].(string)
	all := append([]map[string]any{{"type": "LOGIN"}}, acts...)
	for i, a := range all {
		a["priority"] = i + 1
		r := s.Do(t, apptest.Request{Method: "POST", URL: env + "/signOnPolicies/" + x.mfaPolID + "/actions", Token: x.admin, Body: a})
		if r.Status != http.StatusCreated {
			t.Fatalf("action %v: %d %s", a["type"], r.Status, r.Body)
		}
	}
	r = s.Do(t, apptest.Request{Method: "POST", URL: env + "/applications/" + x.fx.AppID + "/signOnPolicyAssignments",
		Token: x.admin, Body: map[string]any{"priority": 1, "signOnPolicy": map[string]string{"id": x.mfaPolID}}})
	if r.Status != http.StatusCreated {
		t.Fatalf("assign: %d %s", r.Status, r.Body)
	}
	var err error
	if x.provider, err = oidc.NewProvider(context.Background(), s.URL+"/"+x.fx.EnvID+"/as"); err != nil {
		t.Fatal(err)
	}
	x.conf = oauth2.Config{ClientID: x.fx.AppID, ClientSecret: x.fx.AppSecret, Endpoint: x.provider.Endpoint(),
		RedirectURL: x.fx.RedirectURI, Scopes: []string{oidc.ScopeOpenID, "profile", "email", "phone"}}
	return x
}

func profiling(prevent bool, interval int, prompt string, attrs ...map[string]any) map[string]any {
	return map[string]any{"type": "PROGRESSIVE_PROFILING", "preventMultiplePromptsPerFlow": prevent,
		"promptIntervalSeconds": interval, "promptText": prompt, "attributes": attrs}
}

func attr(name string, required bool) map[string]any {
	return map[string]any{"name": name, "required": required}
}

// again authorizes once more in f's browser (pi.flow): the flow as it
// starts.
func (f *mfaFlow) again(t *testing.T) *mfaFlow {
	t.Helper()
	g := &mfaFlow{x: f.x, c: f.c, verifier: oauth2.GenerateVerifier()}
	h := call(t, g.c, "GET", f.x.conf.AuthCodeURL("again", oauth2.S256ChallengeOption(g.verifier), oidc.Nonce("n-again"),
		oauth2.SetAuthURLParam("response_mode", "pi.flow")), "", "")
	wantStatus(t, h, http.StatusOK)
	g.last = h.json(t)
	g.url = g.last["_links"].(map[string]any)["self"].(map[string]any)["href"].(string)
	return g
}

// user reads the user as an administrator.
func (x *mfaFixture) user(t *testing.T) map[string]any {
	t.Helper()
	r := x.s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + x.fx.EnvID + "/users/" + x.fx.UserID, Token: x.admin})
	if r.Status != http.StatusOK {
		t.Fatalf("user: %d %s", r.Status, r.Body)
	}
	return r.JSON(t)
}

// tokens resumes a COMPLETED flow and exchanges its code: the ID token's
// claims (verified by go-oidc) and userinfo's.
func (f *mfaFlow) tokens(t *testing.T) (id, info map[string]any) {
	t.Helper()
	if f.status() != "COMPLETED" {
		t.Fatalf("tokens: status %s", f.status())
	}
	h := call(t, f.c, "GET", f.last["resumeUrl"].(string), "", "")
	wantStatus(t, h, http.StatusOK)
	code := h.json(t)["authorizeResponse"].(map[string]any)["code"].(string)
	ctx := context.Background()
	tok, err := f.x.conf.Exchange(ctx, code, oauth2.VerifierOption(f.verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := f.x.provider.Verifier(&oidc.Config{ClientID: f.x.fx.AppID}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("id token: %v", err)
	}
	if err := idt.Claims(&id); err != nil {
		t.Fatal(err)
	}
	ui, err := f.x.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	if err := ui.Claims(&info); err != nil {
		t.Fatal(err)
	}
	return id, info
}

func embedded(f *mfaFlow) map[string]any { e, _ := f.last["_embedded"].(map[string]any); return e }

// TestProgressiveProfiling is the acceptance path: after the
// password the flow asks for the attributes the user lacks
// (PROFILE_DATA_REQUIRED: promptText, attributes with their names and
// whether each is required, user.update), refuses a body without the
// required one, with an attribute it did not ask for, or with a value the
// user rules refuse, and then writes the values to the user: the
// management API shows them, the ID token and userinfo carry the mapped
// ones, and a later sign-on does not ask again.
func TestProgressiveProfiling(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newActionsFixture(t, be.DSN(t), profiling(false, 3600, "A few things before you go on.",
				attr("primaryPhone", true), attr("nickname", false), attr("email", true), attr("timezone", false)))
			f := x.signOn(t, x.fx.Username)
			if f.status() != "PROFILE_DATA_REQUIRED" || !slices.Equal(f.links(), []string{"session.reset", "user.update"}) {
				t.Fatalf("after the password: %s %v", f.status(), f.links())
			}
			e := embedded(f)
			// email is the user's already: not asked.
			want := []any{
				map[string]any{"name": "primaryPhone", "displayName": "Primary Phone", "required": true},
				map[string]any{"name": "nickname", "displayName": "Nickname", "required": false},
				map[string]any{"name": "timezone", "displayName": "Time Zone", "required": false},
			}
			if e["promptText"] != "A few things before you go on." || !reflect.DeepEqual(e["attributes"], want) {
				t.Errorf("_embedded promptText %v attributes %v", e["promptText"], e["attributes"])
			}
			if u, _ := e["user"].(map[string]any); u["id"] != x.fx.UserID {
				t.Errorf("_embedded.user %v", e["user"])
			}
			for _, c := range []struct{ body, code, target string }{
				{`{}`, "REQUIRED_VALUE", "primaryPhone"},
				{`{"nickname":"Joe"}`, "REQUIRED_VALUE", "primaryPhone"},
				{`{"primaryPhone":"   "}`, "REQUIRED_VALUE", "primaryPhone"},
				{`{"primaryPhone":"+15550100","username":"someone.else"}`, "INVALID_VALUE", "username"},
				{`{"primaryPhone":"+15550100","email":"new@example.com"}`, "INVALID_VALUE", "email"},
				{`{"primaryPhone":12}`, "INVALID_VALUE", "primaryPhone"},
				{`{"primaryPhone":"+15550100","timezone":"Mars/Olympus_Mons"}`, "INVALID_VALUE", "timezone"},
			} {
				wantDetail(t, f.post(t, "user.update", c.body, http.StatusBadRequest), c.code, c.target)
			}
			for _, body := range []string{`[`, `"x"`} {
				if h := f.post(t, "user.update", body, http.StatusBadRequest); h.json(t)["code"] != "INVALID_REQUEST" {
					t.Errorf("%s: %s", body, h.body)
				}
			}
			if fl := f.get(t); fl["status"] != "PROFILE_DATA_REQUIRED" {
				t.Fatalf("after refusals: %s", fl["status"])
			}
			if u := x.user(t); u["primaryPhone"] != nil || u["nickname"] != nil {
				t.Errorf("a refused update wrote %v %v", u["primaryPhone"], u["nickname"])
			}
			f.post(t, "user.update", `{"primaryPhone":"+15550100","nickname":"Joe"}`, http.StatusOK)
			if f.status() != "COMPLETED" {
				t.Fatalf("after user.update: %s", f.status())
			}
			if u := x.user(t); u["primaryPhone"] != "+15550100" || u["nickname"] != "Joe" || u["timezone"] != nil {
				t.Errorf("user primaryPhone %v nickname %v timezone %v", u["primaryPhone"], u["nickname"], u["timezone"])
			}
			id, info := f.tokens(t)
			for _, c := range []map[string]any{id, info} {
				if c["phone_number"] != "+15550100" || c["nickname"] != "Joe" {
					t.Errorf("claims phone_number %v nickname %v", c["phone_number"], c["nickname"])
				}
			}
			// The required attribute is there now; the skipped optional one
			// is not asked again within promptIntervalSeconds.
			if g := f.again(t); g.status() != "COMPLETED" {
				t.Errorf("second sign-on: %s", g.status())
			}
		})
	}
}

// TestProgressiveProfilingSkip: optional attributes can be skipped (an
// empty user.update), which writes nothing; promptIntervalSeconds decides
// when the same browser's next sign-on asks again (0: every time), and
// a user who has every attribute is never asked.
func TestProgressiveProfilingSkip(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			for _, c := range []struct {
				interval int
				askAgain bool
			}{{3600, false}, {0, true}} {
				x := newActionsFixture(t, be.DSN(t), profiling(false, c.interval, "Tell us more.", attr("nickname", false)))
				f := x.signOn(t, x.fx.Username)
				if f.status() != "PROFILE_DATA_REQUIRED" {
					t.Fatalf("interval %d: %s", c.interval, f.status())
				}
				f.post(t, "user.update", ``, http.StatusOK)
				if f.status() != "COMPLETED" {
					t.Fatalf("skip: %s", f.status())
				}
				if u := x.user(t); u["nickname"] != nil {
					t.Errorf("skip wrote nickname %v", u["nickname"])
				}
				g := f.again(t)
				if got := g.status() == "PROFILE_DATA_REQUIRED"; got != c.askAgain {
					t.Errorf("interval %d: second sign-on %s", c.interval, g.status())
				}
				if c.askAgain {
					// Answered this time: never asked again.
					g.post(t, "user.update", `{"nickname":"Joe"}`, http.StatusOK)
					if g.status() != "COMPLETED" {
						t.Fatalf("answer: %s", g.status())
					}
					if h := g.again(t); h.status() != "COMPLETED" {
						t.Errorf("after answering: %s", h.status())
					}
				}
			}
		})
	}
}

// TestProgressiveProfilingOncePerFlow: preventMultiplePromptsPerFlow
// passes a second progressive profiling action once one has asked in
// the flow; without it, both ask.
func TestProgressiveProfilingOncePerFlow(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			for _, prevent := range []bool{true, false} {
				x := newActionsFixture(t, be.DSN(t),
					profiling(false, 0, "First.", attr("nickname", false)),
					profiling(prevent, 0, "Second.", attr("title", false)))
				f := x.signOn(t, x.fx.Username)
				if f.status() != "PROFILE_DATA_REQUIRED" || embedded(f)["promptText"] != "First." {
					t.Fatalf("first: %s %v", f.status(), embedded(f)["promptText"])
				}
				f.post(t, "user.update", `{"nickname":"Joe"}`, http.StatusOK)
				if prevent {
					if f.status() != "COMPLETED" {
						t.Errorf("prevent: %s", f.status())
					}
					continue
				}
				if f.status() != "PROFILE_DATA_REQUIRED" || embedded(f)["promptText"] != "Second." {
					t.Fatalf("second: %s %v", f.status(), embedded(f)["promptText"])
				}
				// The first action's attribute is not the second's to write.
				wantDetail(t, f.post(t, "user.update", `{"nickname":"Other"}`, http.StatusBadRequest), "INVALID_VALUE", "nickname")
				f.post(t, "user.update", `{"title":"Dr"}`, http.StatusOK)
				if f.status() != "COMPLETED" {
					t.Errorf("after the second: %s", f.status())
				}
				if u := x.user(t); u["nickname"] != "Joe" || u["title"] != "Dr" {
					t.Errorf("user nickname %v title %v", u["nickname"], u["title"])
				}
			}
		})
	}
}

// actionID is the id of the fixture policy's first action of typ.
func (x *mfaFixture) actionID(t *testing.T, typ string) string {
	t.Helper()
	r := x.s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + x.fx.EnvID + "/signOnPolicies/" + x.mfaPolID + "/actions", Token: x.admin})
	for _, a := range r.JSON(t)["_embedded"].(map[string]any)["actions"].([]any) {
		if a := a.(map[string]any); a["type"] == typ {
			return a["id"].(string)
		}
	}
	t.Fatalf("no %s action", typ)
	return ""
}

func (x *mfaFixture) putAction(t *testing.T, id string, body map[string]any) {
	t.Helper()
	r := x.s.Do(t, apptest.Request{Method: "PUT", URL: "/environments/" + x.fx.EnvID + "/signOnPolicies/" + x.mfaPolID + "/actions/" + id,
		Token: x.admin, Body: body})
	if r.Status != http.StatusOK {
		t.Fatalf("action: %d %s", r.Status, r.Body)
	}
}

// TestProgressiveProfilingPromptNone: prompt=none never shows the prompt.
// A session whose user lacks only optional attributes signs on silently;
// one who lacks a required attribute gets login_required, since the user
// must be asked.
func TestProgressiveProfilingPromptNone(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newActionsFixture(t, be.DSN(t), profiling(false, 0, "More.", attr("nickname", false)))
			f := x.signOn(t, x.fx.Username)
			f.post(t, "user.update", `{}`, http.StatusOK)
			if f.status() != "COMPLETED" {
				t.Fatalf("skip: %s", f.status())
			}
			if g, _ := x.authorize(t, f.c, http.StatusOK, "prompt", "none"); g.status() != "COMPLETED" {
				t.Errorf("optional only: %s", g.status())
			}
			act := profiling(false, 0, "More.", attr("nickname", true))
			act["priority"] = 2
			x.putAction(t, x.actionID(t, "PROGRESSIVE_PROFILING"), act)
			h := call(t, f.c, "GET", x.conf.AuthCodeURL("st-none", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()),
				oauth2.SetAuthURLParam("response_mode", "pi.flow"), oauth2.SetAuthURLParam("prompt", "none")), "", "")
			if h.status != http.StatusBadRequest || !strings.Contains(string(h.body), `"error":"login_required"`) {
				t.Errorf("required: %d %s", h.status, h.body)
			}
			// Without prompt=none the same browser is asked.
			if g, _ := x.authorize(t, f.c, http.StatusOK); g.status() != "PROFILE_DATA_REQUIRED" {
				t.Errorf("required, interactive: %s", g.status())
			}
		})
	}
}

// TestProgressiveProfilingFirstAction: a policy that asks for profile data
// before any action has signed the user on fails its flows (there is
// nobody to ask), with an error resume reports to the application.
func TestProgressiveProfilingFirstAction(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newActionsFixture(t, be.DSN(t))
			act := profiling(false, 0, "More.", attr("nickname", true))
			act["priority"] = 1
			x.putAction(t, x.actionID(t, "LOGIN"), act)
			f, _ := x.authorize(t, browser(t), http.StatusOK)
			if f.status() != "FAILED" {
				t.Fatalf("status %s", f.status())
			}
			h := call(t, f.c, "GET", f.last["resumeUrl"].(string), "", "")
			if !strings.Contains(string(h.body)+h.header.Get("Location"), "invalid_request") {
				t.Errorf("resume: %d %s %s", h.status, h.header.Get("Location"), h.body)
			}
		})
	}
}

// TestProgressiveProfilingCustomAttribute: a custom STRING attribute of the
// user schema is asked for with its display name and allowed values, and
// the schema's rules decide what user.update may write: a value outside
// enumeratedValues is refused at the attribute, an allowed one is stored
// as the user's.
func TestProgressiveProfilingCustomAttribute(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newActionsFixture(t, be.DSN(t))
			now := store.Now()
			data, _ := json.Marshal(wire.SchemaAttributeRules{Type: wire.AttrString, Enabled: true, DisplayName: "Shoe colour",
				EnumeratedValues: []wire.SchemaEnumeratedValue{{Value: "red"}, {Value: "blue"}, {Value: "green", Archived: true}}})
			if err := x.s.Store.CreateSchemaAttribute(t.Context(), &store.SchemaAttribute{ID: uuid.NewString(), EnvironmentID: x.fx.EnvID,
				Name: "shoeColour", SchemaType: wire.SchemaCustom, Data: data, CreatedAt: now, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
			act := profiling(false, 0, "Pick one.", attr("shoeColour", true))
			act["priority"] = 2
			r := x.s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + x.fx.EnvID + "/signOnPolicies/" + x.mfaPolID + "/actions", Token: x.admin, Body: act})
			if r.Status != http.StatusCreated {
				t.Fatalf("action: %d %s", r.Status, r.Body)
			}
			f := x.signOn(t, x.fx.Username)
			want := []any{map[string]any{"name": "shoeColour", "displayName": "Shoe colour", "required": true, "enumeratedValues": []any{"red", "blue"}}}
			if f.status() != "PROFILE_DATA_REQUIRED" || !reflect.DeepEqual(embedded(f)["attributes"], want) {
				t.Fatalf("%s %v", f.status(), embedded(f)["attributes"])
			}
			wantDetail(t, f.post(t, "user.update", `{"shoeColour":"purple"}`, http.StatusBadRequest), "INVALID_VALUE", "shoeColour")
			f.post(t, "user.update", `{"shoeColour":"red"}`, http.StatusOK)
			if f.status() != "COMPLETED" {
				t.Fatalf("after user.update: %s", f.status())
			}
			if u := x.user(t); u["shoeColour"] != "red" {
				t.Errorf("user shoeColour %v", u["shoeColour"])
			}
			if g := f.again(t); g.status() != "COMPLETED" {
				t.Errorf("second sign-on: %s", g.status())
			}
		})
	}
}
