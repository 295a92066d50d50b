package signon_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
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
	b.Shot("profile")
	b.DocShot("signon-profile")

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
	b.Do("clear the time zone", chromedp.Click(chromedp.CSS("#profile-timezone")),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#profile-timezone').select()`), chromedp.KeyEvent(kb.Backspace))
	b.typeInto("#profile-nickname", "Joe")
	b.submit("user.update")
	b.landed(x.app, state)
	if u := x.user(t); u["mobilePhone"] != "+1 512 555 0100" || u["nickname"] != "Joe" || u["timezone"] != nil {
		t.Errorf("user mobilePhone %v nickname %v timezone %v", u["mobilePhone"], u["nickname"], u["timezone"])
	}
}

// TestBrowserProgressiveProfilingChoice: a custom attribute whose schema
// lists its values is a choice among them (archived ones left out); an
// unchosen required one is caught before sending, a chosen one reaches
// the user.
func TestBrowserProgressiveProfilingChoice(t *testing.T) {
	b := newBrowser(t, desktop)
	x := newSite(t)
	now := store.Now()
	data, _ := json.Marshal(wire.SchemaAttributeRules{Type: wire.AttrString, Enabled: true, DisplayName: "Shoe colour",
		EnumeratedValues: []wire.SchemaEnumeratedValue{{Value: "red"}, {Value: "blue"}, {Value: "green", Archived: true}}})
	if err := x.s.Store.CreateSchemaAttribute(t.Context(), &store.SchemaAttribute{ID: uuid.NewString(), EnvironmentID: x.fx.EnvID,
		Name: "shoeColour", SchemaType: wire.SchemaCustom, Data: data, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	withActions(t, x, map[string]any{"type": "PROGRESSIVE_PROFILING", "preventMultiplePromptsPerFlow": true, "promptIntervalSeconds": 0,
		"promptText": "One question.", "attributes": []any{map[string]any{"name": "shoeColour", "required": true}}})
	state := "st-" + randomString(4)
	signOnPage(t, b, x.base(), x.fx.AppID, x.app.RedirectURI(), state, "USERNAME_PASSWORD_REQUIRED")
	signOnWith(b, x.fx.Username, x.fx.Password)
	b.waitStatus("PROFILE_DATA_REQUIRED")
	if l := b.labelOf("profile-shoeColour"); l != "Shoe colour" {
		t.Errorf("label %q", l)
	}
	if opts := eval[[]string](b, `[...document.querySelectorAll('#profile-shoeColour option')].map(o => o.value)`); !slices.Equal(opts, []string{"", "red", "blue"}) {
		t.Errorf("options %v", opts)
	}
	b.Shot("profile-choice")
	b.submit("user.update")
	if msg := showsError(t, b); msg != "Choose your shoe colour." {
		t.Errorf("nothing chosen: %q", msg)
	}
	b.Do("choose", chromedp.SetValue(chromedp.CSS(`#profile-shoeColour`), "blue"))
	b.submit("user.update")
	b.landed(x.app, state)
	if u := x.user(t); u["shoeColour"] != "blue" {
		t.Errorf("user shoeColour %v", u["shoeColour"])
	}
}

// TestBrowserProgressiveProfilingSkip: with only optional attributes the
// page offers to skip them, which goes on to the application and writes
// nothing.
func TestBrowserProgressiveProfilingSkip(t *testing.T) {
	b := newBrowser(t, phone)
	x := newSite(t)
	withActions(t, x, map[string]any{"type": "PROGRESSIVE_PROFILING", "preventMultiplePromptsPerFlow": true, "promptIntervalSeconds": 86400,
		"promptText": "Tell us what to call you.", "attributes": []any{map[string]any{"name": "nickname", "required": false}}})
	state := "st-" + randomString(4)
	signOnPage(t, b, x.base(), x.fx.AppID, x.app.RedirectURI(), state, "USERNAME_PASSWORD_REQUIRED")
	signOnWith(b, x.fx.Username, x.fx.Password)
	b.waitStatus("PROFILE_DATA_REQUIRED")
	b.Shot("profile-optional")
	if b.text(`#profile-skip button`) != "Skip for now" {
		t.Errorf("no skip button")
	}
	b.Do("skip", chromedp.Click(chromedp.CSS(`#profile-skip button`)))
	b.landed(x.app, state)
	if u := x.user(t); u["nickname"] != nil {
		t.Errorf("skipping wrote nickname %v", u["nickname"])
	}
}

// siteAgreement makes an enabled agreement in x's environment with an
// English language and one revision in force (text/html), and gives the
// application LOGIN then AGREEMENT: the agreement's id.
func siteAgreement(t *testing.T, x *site, text string, disableDecline bool) string {
	t.Helper()
	ctx, now := t.Context(), time.Now().UTC().Truncate(time.Millisecond)
	a := &store.Agreement{ID: uuid.NewString(), EnvironmentID: x.fx.EnvID, Name: "Terms", Enabled: true, Data: json.RawMessage(`{}`), CreatedAt: now, UpdatedAt: now}
	l := &store.AgreementLanguage{ID: uuid.NewString(), EnvironmentID: x.fx.EnvID, AgreementID: a.ID, Locale: "en", Enabled: true,
		Data: json.RawMessage(`{"displayName":"Terms of Service"}`), CreatedAt: now, UpdatedAt: now}
	r := &store.AgreementRevision{ID: uuid.NewString(), EnvironmentID: x.fx.EnvID, AgreementID: a.ID, LanguageID: l.ID,
		EffectiveAt: now.Add(-time.Hour), ContentType: "text/html", Text: text, CreatedAt: now}
	for _, err := range []error{x.s.Store.CreateAgreement(ctx, a), x.s.Store.CreateAgreementLanguage(ctx, l), x.s.Store.CreateAgreementRevision(ctx, r)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	withActions(t, x, map[string]any{"type": "AGREEMENT", "agreement": map[string]any{"id": a.ID}, "disableDeclineOption": disableDecline})
	return a.ID
}

const agreementText = `<p>These terms govern your use of the service. By accepting them you agree to <b>use it lawfully</b> and to keep your account safe.</p>` +
	`<ul><li>Keep your password to yourself.</li><li>Tell us at once if you think someone else uses your account.</li></ul>` +
	`<h3>Your data</h3><p>We keep the data you give us only as long as your account exists, and never sell it.</p>` +
	`<h3>Changes</h3><p>When these terms change we will ask you to accept them again the next time you sign on.</p>` +
	`<p>Markup that could run or fetch stays text: <script>window.agreed = true</script> <img src="x" onerror="window.agreed = true"></p>`

// TestBrowserAgreement: after the password the page shows the
// agreement's current revision, its plain markup kept and anything that
// could run or fetch shown as text; accepting goes on to the application
// and records the user's consent. The screen is copied to
// docs/signon-agreement.png when GATEHOUSE_DOCS_SCREENSHOTS=1.
func TestBrowserAgreement(t *testing.T) {
	b := newBrowser(t, desktop)
	x := newSite(t)
	agID := siteAgreement(t, x, agreementText, false)
	state := "st-" + randomString(4)
	signOnPage(t, b, x.base(), x.fx.AppID, x.app.RedirectURI(), state, "USERNAME_PASSWORD_REQUIRED")
	signOnWith(b, x.fx.Username, x.fx.Password)
	b.waitStatus("AGREEMENT_CONSENT_REQUIRED")
	if h := b.text("h1"); h != "Review the agreement" {
		t.Errorf("heading %q", h)
	}
	if n := b.text("#agreement-name"); n != "Terms of Service" {
		t.Errorf("agreement name %q", n)
	}
	if n := eval[int](b, `document.querySelectorAll('.agreement-text b, .agreement-text li, .agreement-text h3').length`); n != 5 {
		t.Errorf("the agreement's markup: %d of its b, li and h3 elements shown, want 5", n)
	}
	if n := eval[int](b, `document.querySelectorAll('.agreement script, .agreement img').length`); n != 0 {
		t.Errorf("the agreement's text made %d script or img elements", n)
	}
	if txt := b.text(".agreement-text"); !strings.Contains(txt, "<script>window.agreed = true</script>") {
		t.Errorf("the script is not shown as text: %q", txt)
	}
	if eval[bool](b, `window.agreed === true`) {
		t.Errorf("the agreement's markup ran")
	}
	if !b.visible("#agreement-decline") {
		t.Errorf("no way to decline")
	}
	noError(t, b)
	b.Shot("agreement")
	b.DocShot("signon-agreement")
	b.Do("accept", chromedp.Click(chromedp.CSS(`#agreement-accept button`)))
	b.landed(x.app, state)
	c, err := x.s.Store.GetAgreementConsent(t.Context(), x.fx.EnvID, x.fx.UserID, agID)
	if err != nil || c.RevokedAt != (time.Time{}) {
		t.Errorf("consent %+v %v", c, err)
	}
}

// TestBrowserAgreementDecline: declining ends the sign-on with a page
// that says so, and the application gets access_denied; with
// disableDeclineOption there is no way to decline.
func TestBrowserAgreementDecline(t *testing.T) {
	b := newBrowser(t, phone)
	x := newSite(t)
	siteAgreement(t, x, "Plain terms.\nSecond line.", false)
	signOnPage(t, b, x.base(), x.fx.AppID, x.app.RedirectURI(), "st-decline", "USERNAME_PASSWORD_REQUIRED")
	signOnWith(b, x.fx.Username, x.fx.Password)
	b.waitStatus("AGREEMENT_CONSENT_REQUIRED")
	b.Shot("agreement-mobile")
	b.Do("decline", chromedp.Click(chromedp.CSS(`#agreement-decline button`)))
	b.waitStatus("FAILED")
	if h := b.text("h1"); h != "Sign-on failed" {
		t.Errorf("heading %q", h)
	}

	y := newSite(t)
	siteAgreement(t, y, "Terms you cannot decline.", true)
	c := b.another(desktop)
	signOnPage(t, c, y.base(), y.fx.AppID, y.app.RedirectURI(), "st-nodecline", "USERNAME_PASSWORD_REQUIRED")
	signOnWith(c, y.fx.Username, y.fx.Password)
	c.waitStatus("AGREEMENT_CONSENT_REQUIRED")
	if c.visible("#agreement-decline") {
		t.Errorf("a decline button under disableDeclineOption")
	}
}

// TestBrowserProgressiveProfilingRules: a value the attribute's rules
// refuse is reported at its field (aria-invalid, focused) in the words the
// schema gives (regexValidation's requirements), and a value another user
// holds of a unique attribute is named as that attribute, not as a
// username; a good value signs on.
func TestBrowserProgressiveProfilingRules(t *testing.T) {
	b := newBrowser(t, phone)
	x := newSite(t)
	now := store.Now()
	data, _ := json.Marshal(wire.SchemaAttributeRules{Type: wire.AttrString, Enabled: true, Unique: true, DisplayName: "Employee number",
		RegexValidation: &wire.SchemaRegexValidation{Pattern: `^E-[0-9]+$`, Requirements: "An employee number is E- and digits."}})
	if err := x.s.Store.CreateSchemaAttribute(t.Context(), &store.SchemaAttribute{ID: uuid.NewString(), EnvironmentID: x.fx.EnvID,
		Name: "employeeId", SchemaType: wire.SchemaCustom, Data: data, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if r := x.s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + x.fx.EnvID + "/users", Token: x.s.AdminToken(t),
		Body: map[string]any{"username": "other", "population": map[string]any{"id": x.fx.PopulationID}, "employeeId": "E-1"}}); r.Status != http.StatusCreated {
		t.Fatalf("other user: %d %s", r.Status, r.Body)
	}
	withActions(t, x, map[string]any{"type": "PROGRESSIVE_PROFILING", "preventMultiplePromptsPerFlow": true, "promptIntervalSeconds": 0,
		"promptText": "Your employee number, please.", "attributes": []any{map[string]any{"name": "employeeId", "required": true}}})
	state := "st-" + randomString(4)
	signOnPage(t, b, x.base(), x.fx.AppID, x.app.RedirectURI(), state, "USERNAME_PASSWORD_REQUIRED")
	signOnWith(b, x.fx.Username, x.fx.Password)
	b.waitStatus("PROFILE_DATA_REQUIRED")
	atField := func(what string) {
		t.Helper()
		if inv := eval[string](b, `document.querySelector('#profile-employeeId').getAttribute('aria-invalid') ?? ''`); inv != "true" {
			t.Errorf("%s: field not marked invalid", what)
		}
		if id := eval[string](b, `document.activeElement.id`); id != "profile-employeeId" {
			t.Errorf("%s: focus on %q", what, id)
		}
	}
	b.Do("type", chromedp.SetValue(chromedp.CSS(`#profile-employeeId`), "x"))
	b.submit("user.update")
	if msg := showsError(t, b); msg != "An employee number is E- and digits." {
		t.Errorf("pattern: %q", msg)
	}
	atField("pattern")
	b.Do("type", chromedp.SetValue(chromedp.CSS(`#profile-employeeId`), "E-1"))
	b.submit("user.update")
	b.WaitFor("the taken message", `document.querySelector('#error').innerText.includes('mployee number')`)
	if msg := showsError(t, b); msg != "That employee number is already in use. Enter another one." {
		t.Errorf("taken: %q", msg)
	}
	atField("taken")
	b.Do("type", chromedp.SetValue(chromedp.CSS(`#profile-employeeId`), "E-2"))
	b.submit("user.update")
	b.landed(x.app, state)
	if u := x.user(t); u["employeeId"] != "E-2" {
		t.Errorf("user employeeId %v", u["employeeId"])
	}
}
