package signon_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// withActions gives x's application a sign-on policy of LOGIN and then
// acts (sign-on policy action bodies, in priority order).
func withActions(t *testing.T, x *site, acts ...map[string]any) {
	t.Helper()
	tok := x.s.AdminToken(t)
	env := "/environments/" + x.fx.EnvID
	r := x.s.Do(t, apptest.Request{Method: "POST", URL: env + "/signOnPolicies", Token: tok, Body: map[string]any{"name": "With_Actions"}})
	if r.Status != http.StatusCreated {
		t.Fatalf("policy: %d %s", r.Status, r.Body)
	}
	pol := r.JSON(t)["id"].(string)
	for i, a := range append([]map[string]any{{"type": "LOGIN"}}, acts...) {
		a["priority"] = i + 1
		if r := x.s.Do(t, apptest.Request{Method: "POST", URL: env + "/signOnPolicies/" + pol + "/actions", Token: tok, Body: a}); r.Status != http.StatusCreated {
			t.Fatalf("action: %d %s", r.Status, r.Body)
		}
	}
	if r := x.s.Do(t, apptest.Request{Method: "POST", URL: env + "/applications/" + x.fx.AppID + "/signOnPolicyAssignments", Token: tok,
		Body: map[string]any{"priority": 1, "signOnPolicy": map[string]string{"id": pol}}}); r.Status != http.StatusCreated {
		t.Fatalf("assign: %d %s", r.Status, r.Body)
	}
}

func (x *site) user(t *testing.T) map[string]any {
	t.Helper()
	r := x.s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + x.fx.EnvID + "/users/" + x.fx.UserID, Token: x.s.AdminToken(t)})
	if r.Status != http.StatusOK {
		t.Fatalf("user: %d %s", r.Status, r.Body)
	}
	return r.JSON(t)
}

// TestBrowserProgressiveProfiling: after the password the page asks for
// the attributes the user lacks, each with its label (optional ones
// marked), the policy's prompt as the message and no way to skip while
// one is required; an empty required field is caught before sending, a
// value the rules refuse is answered at its field, and the values given
// reach the user before the application gets its code. The screen is
// copied to docs/signon-profile.png when GATEHOUSE_DOCS_SCREENSHOTS=1.
func TestBrowserProgressiveProfiling(t *testing.T) {
	b := newBrowser(t, desktop)
	x := newSite(t)
	withActions(t, x, map[string]any{"type": "PROGRESSIVE_PROFILING", "preventMultiplePromptsPerFlow": true, "promptIntervalSeconds": 86400,
		"promptText": "Help us keep your account up to date.", "attributes": []any{
			map[string]any{"name": "mobilePhone", "required": true}, map[string]any{"name": "nickname", "required": false},
			map[string]any{"name": "timezone", "required": false}}})
	state := "st-" + randomString(4)

	signOnPage(t, b, x.base(), x.fx.AppID, x.app.RedirectURI(), state, "USERNAME_PASSWORD_REQUIRED")
	signOnWith(b, x.fx.Username, x.fx.Password)
	b.waitStatus("PROFILE_DATA_REQUIRED")
	if h := b.text("h1"); h != "Complete your profile" {
		t.Errorf("heading %q", h)
	}
	if msg := b.text(".message"); msg != "Help us keep your account up to date." {
		t.Errorf("message %q", msg)
	}
	for id, want := range map[string]string{"profile-mobilePhone": "Mobile Phone", "profile-nickname": "Nickname (optional)", "profile-timezone": "Time Zone (optional)"} {
		if l := b.labelOf(id); l != want {
			t.Errorf("#%s is labelled %q, want %q", id, l, want)
		}
	}
	if typ := eval[string](b, `document.querySelector('#profile-mobilePhone').type`); typ != "tel" {
		t.Errorf("the phone field is of type %q", typ)
	}
	if f := b.focused(); f != "profile-mobilePhone" {
		t.Errorf("the focus is on %q, want the first field", f)
	}
	if b.visible("#profile-skip") {
		t.Errorf("a required attribute can be skipped")
	}
	noError(t, b)
	b.shot("profile")
	docShot(t, b, "signon-profile")

	// Empty: the page says so without a round trip.
	b.submit("user.update")
	if msg := showsError(t, b); !strings.Contains(msg, "mobile phone") {
		t.Errorf("empty required field: %q", msg)
	}
	// A time zone the rules refuse: the server's answer, at its field.
	b.typeInto("#profile-mobilePhone", "+1 512 555 0100")
	b.typeInto("#profile-timezone", "Mars/Olympus_Mons")
	b.submit("user.update")
	showsError(t, b)
	if inv := eval[string](b, `document.querySelector('#profile-timezone').getAttribute('aria-invalid') ?? ''`); inv != "true" {
		t.Errorf("the refused field is not marked invalid")
	}
	if b.status() != "PROFILE_DATA_REQUIRED" {
		t.Fatalf("after a refusal: %s", b.status())
	}
	b.do("clear the time zone", chromedp.Click(chromedp.CSS("#profile-timezone")),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#profile-timezone').select()`), chromedp.KeyEvent(kb.Backspace))
	b.typeInto("#profile-nickname", "Joe")
	b.submit("user.update")
	b.landed(x.app, state)
	if u := x.user(t); u["mobilePhone"] != "+1 512 555 0100" || u["nickname"] != "Joe" || u["timezone"] != nil {
		t.Errorf("user mobilePhone %v nickname %v timezone %v", u["mobilePhone"], u["nickname"], u["timezone"])
	}
}

// TestBrowserProgressiveProfilingSkip: with only optional attributes the
// page offers to skip them, which goes on to the application and writes
// nothing.
func TestBrowserProgressiveProfilingSkip(t *testing.T) {
	b := newBrowser(t, viewport{360, 740, true})
	x := newSite(t)
	withActions(t, x, map[string]any{"type": "PROGRESSIVE_PROFILING", "preventMultiplePromptsPerFlow": true, "promptIntervalSeconds": 86400,
		"promptText": "Tell us what to call you.", "attributes": []any{map[string]any{"name": "nickname", "required": false}}})
	state := "st-" + randomString(4)
	signOnPage(t, b, x.base(), x.fx.AppID, x.app.RedirectURI(), state, "USERNAME_PASSWORD_REQUIRED")
	signOnWith(b, x.fx.Username, x.fx.Password)
	b.waitStatus("PROFILE_DATA_REQUIRED")
	b.shot("profile-optional")
	if b.text(`#profile-skip button`) != "Skip for now" {
		t.Errorf("no skip button")
	}
	b.do("skip", chromedp.Click(chromedp.CSS(`#profile-skip button`)))
	b.landed(x.app, state)
	if u := x.user(t); u["nickname"] != nil {
		t.Errorf("skipping wrote nickname %v", u["nickname"])
	}
}
