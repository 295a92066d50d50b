package authsvc_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// restrict sets the application's accessControl to ANY_GROUP of a new
// group and answers the group's id.
func (x *mfaFixture) restrict(t *testing.T) string {
	t.Helper()
	env := "/environments/" + x.fx.EnvID
	r := x.s.Do(t, apptest.Request{Method: "POST", URL: env + "/groups", Token: x.admin, Body: map[string]any{"name": "Staff"}})
	if r.Status != http.StatusCreated {
		t.Fatalf("group: %d %s", r.Status, r.Body)
	}
	group := r.JSON(t)["id"].(string)
	r = x.s.Do(t, apptest.Request{Method: "GET", URL: env + "/applications/" + x.fx.AppID, Token: x.admin})
	app := r.JSON(t)
	for _, k := range []string{"_links", "id", "environment", "createdAt", "updatedAt"} {
		delete(app, k)
	}
	app["accessControl"] = map[string]any{"group": map[string]any{"type": "ANY_GROUP", "groups": []any{map[string]any{"id": group}}}}
	if r = x.s.Do(t, apptest.Request{Method: "PUT", URL: env + "/applications/" + x.fx.AppID, Token: x.admin, Body: app}); r.Status != http.StatusOK {
		t.Fatalf("accessControl: %d %s", r.Status, r.Body)
	}
	return group
}

// TestActionsAccessControl: a user the application's accessControl
// refuses is refused once the password proves who they are, before
// PROGRESSIVE_PROFILING or AGREEMENT asks them for anything: nothing is
// written to the user and no consent is recorded for a sign-on that
// cannot succeed (PingOne: the actor must meet accessControl to get a
// token). A member is asked and signs on. Under prompt=none the refusal
// reaches the application as access_denied, as it does with a LOGIN-only
// policy, not as login_required.
func TestActionsAccessControl(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newActionsFixture(t, be.DSN(t), profiling(false, 0, "Tell us more", attr("nickname", true)))
			agID, _, _ := termsAgreement(t, x, 0)
			act := agreementAction(agID, false)
			act["priority"] = 3
			if r := x.s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + x.fx.EnvID + "/signOnPolicies/" + x.mfaPolID + "/actions", Token: x.admin, Body: act}); r.Status != http.StatusCreated {
				t.Fatalf("action: %d %s", r.Status, r.Body)
			}
			group := x.restrict(t)

			f := x.signOn(t, x.fx.Username)
			if f.status() != "FAILED" {
				t.Fatalf("a refused user was asked: %s", f.status())
			}
			if e, _ := f.last["error"].(map[string]any); e["code"] != "access_denied" || e["message"] != "The user is not authorized to access the application." {
				t.Errorf("error: %v", f.last["error"])
			}
			if u := x.user(t); u["nickname"] != nil {
				t.Errorf("nickname written: %v", u["nickname"])
			}
			if c := x.consent(t, agID); c != nil {
				t.Errorf("consent recorded: %+v", c)
			}

			// A member is asked for both and signs on.
			if r := x.s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + x.fx.EnvID + "/users/" + x.fx.UserID + "/memberOfGroups",
				Token: x.admin, Body: map[string]any{"id": group}}); r.Status != http.StatusCreated {
				t.Fatalf("join: %d %s", r.Status, r.Body)
			}
			f = x.signOn(t, x.fx.Username)
			if f.status() != "PROFILE_DATA_REQUIRED" {
				t.Fatalf("member: %s", f.status())
			}
			f.post(t, "user.update", `{"nickname":"Ada"}`, http.StatusOK)
			if f.status() != "AGREEMENT_CONSENT_REQUIRED" {
				t.Fatalf("member after profile: %s", f.status())
			}
			f.post(t, "user.consent", `{"accept":true}`, http.StatusOK)
			if f.status() != "COMPLETED" {
				t.Fatalf("member after consent: %s", f.status())
			}

			// The member leaves: a silent sign-on in the same browser
			// (profile and consent hold, so nothing to ask) is refused as
			// the application's refusal, not as a sign-on needed.
			if r := x.s.Do(t, apptest.Request{Method: "DELETE", URL: "/environments/" + x.fx.EnvID + "/users/" + x.fx.UserID + "/memberOfGroups/" + group,
				Token: x.admin}); r.Status != http.StatusNoContent {
				t.Fatalf("leave: %d %s", r.Status, r.Body)
			}
			g, h := x.authorize(t, f.c, http.StatusOK, "prompt", "none")
			if g == nil || g.status() != "FAILED" {
				t.Fatalf("silent sign-on of a refused user: %s", h.body)
			}
			if e, _ := g.last["error"].(map[string]any); e["code"] != "access_denied" || strings.Contains(string(h.body), "login_required") {
				t.Errorf("silent refusal: %s", h.body)
			}
		})
	}
}

// TestActionsIdleSession: a single sign-on that stops at
// PROGRESSIVE_PROFILING waits while the browser's session idles out. The
// answer then must not complete the sign-on on the ended session (the
// application would get a code that no longer redeems) nor write to the
// user for it: the sign-on starts over. Signed on again, the user is asked
// and the sign-on completes.
func TestActionsIdleSession(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			clk := &flowClock{}
			x := newActionsFixtureWith(t, apptest.Options{DSN: be.DSN(t), FlowClock: clk.Now}, profiling(false, 0, "Tell us more", attr("nickname", false)))
			if r := x.s.Do(t, apptest.Request{Method: "PUT", URL: "/environments/" + x.fx.EnvID + "/sessionSettings", Token: x.admin,
				Body: map[string]any{"idleTimeoutInMinutes": 10, "maxLifetimeInMinutes": 600}}); r.Status != http.StatusOK {
				t.Fatalf("settings: %d %s", r.Status, r.Body)
			}
			f := x.signOn(t, x.fx.Username)
			if f.status() != "PROFILE_DATA_REQUIRED" {
				t.Fatalf("first: %s", f.status())
			}
			f.post(t, "user.update", `{}`, http.StatusOK) // skipped
			g := f.again(t)
			if g.status() != "PROFILE_DATA_REQUIRED" {
				t.Fatalf("single sign-on: %s", g.status())
			}
			clk.Advance(11 * time.Minute)
			h := call(t, g.c, "POST", g.url, "application/vnd.pingidentity.user.update+json", `{"nickname":"Ada"}`)
			if h.status == http.StatusOK {
				g.last = h.json(t)
			}
			if h.status != http.StatusOK || g.status() != "USERNAME_PASSWORD_REQUIRED" {
				t.Errorf("after the session ended: %d %s, want the sign-on to start over", h.status, h.body)
			}
			if u := x.user(t); u["nickname"] != nil {
				t.Errorf("written for an ended session: %v", u["nickname"])
			}
			if g.status() == "COMPLETED" {
				t.Errorf("completed on an ended session")
			}
			g.password(t, x.fx.Username)
			if g.status() != "PROFILE_DATA_REQUIRED" {
				t.Fatalf("signed on again: %s", g.status())
			}
			g.post(t, "user.update", `{"nickname":"Ada"}`, http.StatusOK)
			if g.status() != "COMPLETED" || x.user(t)["nickname"] != "Ada" {
				t.Errorf("after signing on again: %s %v", g.status(), x.user(t)["nickname"])
			}
		})
	}
}
