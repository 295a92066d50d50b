package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/apptest/chromium"
)

// The Directory screens driven in headless Chromium against a real
// server: what the console sends must be what /v1 takes, and what /v1
// refuses must show at the field it names. The console is signed on with
// the bootstrap worker's own token (its roles are the worker's), put
// where the console keeps its session; the sign-on itself is the
// acceptance test's.

const dirWait = 15 * time.Second

// dirPage is one browser tab on the console.
type dirPage struct {
	t   *testing.T
	ctx context.Context
	n   int // screenshots taken
	// second marks a test's second browser: its screenshots are b2-….
	second bool
}

var dirShotDirs sync.Map // screenshot directories emptied by this run

func newDirPage(t *testing.T) *dirPage {
	t.Helper()
	// A browser of its own: without Chromium a failure in CI, a loud skip
	// elsewhere.
	ctx := chromium.Launch(t, "the console's Directory screens", chromedp.WindowSize(1280, 900))
	p := &dirPage{t: t, ctx: ctx}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == chromedp.ConsoleError {
				t.Logf("browser console: %s (%s:%d)", m.Text, m.URL, m.Line+1)
			}
		}
	}()
	return p
}

// shot saves a PNG of the page under test-output/console/<TestName>/,
// for review by eye.
func (p *dirPage) shot(name string) {
	p.t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		p.t.Fatal(err)
	}
	dir := filepath.Join(wd, "..", "..", "test-output", "console", regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(p.t.Name(), "_"))
	if _, seen := dirShotDirs.LoadOrStore(dir, true); !seen {
		os.RemoveAll(dir) // the last run's, once per test
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		p.t.Fatal(err)
	}
	p.n++
	prefix := ""
	if p.second {
		prefix = "b2-"
	}
	ctx, cancel := context.WithTimeout(p.ctx, dirWait)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s%02d-%s.png", prefix, p.n, name)), png, 0o644); err != nil {
		p.t.Errorf("save screenshot: %v", err)
	}
}

func (p *dirPage) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, dirWait)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v\n%s", what, err, p.describe())
	}
}

func dirEval[T any](p *dirPage, js string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, dirWait)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		p.t.Fatalf("script %q: %v\n%s", js, err, p.describe())
	}
	return v
}

// describe is what the page shows, for failure messages.
func (p *dirPage) describe() string {
	ctx, cancel := context.WithTimeout(p.ctx, 2*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + '\n' + (document.body ? document.body.innerText.slice(0, 1500) : '')`))
	if err != nil {
		return "(the page could not be read)"
	}
	return "page: " + s
}

func (p *dirPage) waitFor(what, js string) {
	p.t.Helper()
	deadline := time.Now().Add(dirWait)
	for {
		ctx, cancel := context.WithTimeout(p.ctx, time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!(`+js+`)`))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("the page never showed %s (last error: %v)\n%s", what, err, p.describe())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func dirQ(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// heading waits for the screen whose h1 is title.
func (p *dirPage) heading(title string) {
	p.t.Helper()
	p.waitFor("the screen "+title, `document.querySelector('main h1')?.textContent === `+dirQ(title))
}

// fieldID is the id of the control labelled label (the label's own text,
// without the required mark).
func (p *dirPage) fieldID(label string) string {
	p.t.Helper()
	id := dirEval[string](p, `(() => { const l = [...document.querySelectorAll('main label')].find((x) => x.firstChild && x.firstChild.textContent.trim() === `+dirQ(label)+`);
		return l ? l.htmlFor : ''; })()`)
	if id == "" {
		p.t.Fatalf("no field labelled %q\n%s", label, p.describe())
	}
	return id
}

// fill types text into the field labelled label, as key events.
func (p *dirPage) fill(label, text string) {
	p.t.Helper()
	sel := "#" + p.fieldID(label)
	p.do("type into "+label,
		chromedp.Click(chromedp.CSS(sel)),
		chromedp.Evaluate[chromedp.Void](`document.querySelector(`+dirQ(sel)+`).select()`),
		chromedp.KeyEvent(text))
	if got := dirEval[string](p, `document.querySelector(`+dirQ(sel)+`).value`); got != text {
		p.t.Fatalf("field %s holds %q after typing %q", label, got, text)
	}
}

// choose picks the option labelled option in the select labelled label.
func (p *dirPage) choose(label, option string) {
	p.t.Helper()
	sel := "#" + p.fieldID(label)
	ok := dirEval[bool](p, `(() => { const s = document.querySelector(`+dirQ(sel)+`);
		const o = [...s.options].find((x) => x.textContent === `+dirQ(option)+`); if (!o) return false;
		s.value = o.value; s.dispatchEvent(new Event('change', {bubbles: true})); return true; })()`)
	if !ok {
		p.t.Fatalf("select %s has no option %q\n%s", label, option, p.describe())
	}
}

// check sets the checkbox labelled label.
func (p *dirPage) check(label string, on bool) {
	p.t.Helper()
	sel := "#" + p.fieldID(label)
	if dirEval[bool](p, `document.querySelector(`+dirQ(sel)+`).checked`) != on {
		p.do("click "+label, chromedp.Click(chromedp.CSS(sel)))
	}
}

// press clicks the button (or tab) whose text is exactly label.
func (p *dirPage) press(label string) {
	p.t.Helper()
	p.waitFor("a button "+label, `[...document.querySelectorAll('button')].some((b) => b.textContent.trim() === `+dirQ(label)+`)`)
	dirEval[chromedp.Void](p, `[...document.querySelectorAll('button')].find((b) => b.textContent.trim() === `+dirQ(label)+`).click()`)
}

// confirm answers the open confirmation dialog with its button label.
func (p *dirPage) confirm(label string) {
	p.t.Helper()
	p.waitFor("the dialog's "+label, `[...document.querySelectorAll('dialog[open] button')].some((b) => b.textContent === `+dirQ(label)+`)`)
	dirEval[chromedp.Void](p, `[...document.querySelectorAll('dialog[open] button')].find((b) => b.textContent === `+dirQ(label)+`).click()`)
}

// hasButton says whether a button labelled label is on the page.
func (p *dirPage) hasButton(label string) bool {
	p.t.Helper()
	return dirEval[bool](p, `[...document.querySelectorAll('button, a.btn')].some((b) => b.textContent.trim() === `+dirQ(label)+`)`)
}

// mark tags the page's heading; redrawn waits for a heading without the
// tag: the screen drawn again after a write.
func (p *dirPage) mark() {
	p.t.Helper()
	dirEval[chromedp.Void](p, `document.querySelector('main h1').dataset.old = '1'`)
}

func (p *dirPage) redrawn() {
	p.t.Helper()
	p.waitFor("the screen drawn again", `(() => { const h = document.querySelector('main h1'); return h && !h.dataset.old; })()`)
}

func (p *dirPage) open(hash string) {
	p.t.Helper()
	dirEval[chromedp.Void](p, `location.hash = `+dirQ(hash))
}

// fieldError waits for the error shown at the field labelled label and
// returns it.
func (p *dirPage) fieldError(label string) string {
	p.t.Helper()
	id := p.fieldID(label)
	p.waitFor("an error at "+label, `(() => { const e = document.getElementById(`+dirQ(id+"-err")+`); return e && !e.hidden && e.textContent; })()`)
	return dirEval[string](p, `document.getElementById(`+dirQ(id+"-err")+`).textContent`)
}

// signOnAsWorker opens the console with the worker's token as its
// session.
func (p *dirPage) signOnAsWorker(s *apptest.Server, token, hash string) {
	p.t.Helper()
	p.signOnWith(s, token, "", hash)
}

// signOnWith opens the console with these tokens as its session.
func (p *dirPage) signOnWith(s *apptest.Server, access, refresh, hash string) {
	p.t.Helper()
	p.do("open the console's origin", chromedp.Navigate(s.URL+"/console/config.json"))
	sess, _ := json.Marshal(map[string]any{"access": access, "refresh": refresh, "id": "", "expiresAt": time.Now().Add(time.Hour).UnixMilli()})
	dirEval[chromedp.Void](p, `sessionStorage.setItem('gatehouse.console.token', `+dirQ(string(sess))+`)`)
	p.do("open the console", chromedp.Navigate(s.URL+"/console/"+hash))
}

// dirList reads a collection's items through the API.
func dirList(t *testing.T, s *apptest.Server, token, path, name string) []map[string]any {
	t.Helper()
	r := s.Do(t, apptest.Request{Method: "GET", URL: path, Token: token})
	if r.Status != 200 {
		t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
	}
	var body struct {
		Embedded map[string][]map[string]any `json:"_embedded"`
	}
	r.Decode(t, &body)
	return body.Embedded[name]
}

func TestBrowserDirectory(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			token := s.AdminToken(t)
			r := s.Do(t, apptest.Request{Method: "POST", URL: "/environments", Token: token, Body: map[string]any{
				"name": "Directory " + be.Name, "type": "SANDBOX", "region": "NA", "license": map[string]string{"id": s.LicenseID(t)}}})
			if r.Status != 201 {
				t.Fatalf("create environment: %d %s", r.Status, r.Body)
			}
			envID := r.JSON(t)["id"].(string)
			envPath := "/environments/" + envID
			p := newDirPage(t)

			// The bootstrap administrator signs on (its one-time password
			// changed): the console acts with the user's roles.
			tok, _ := s.ConsoleSignOn(t, s.Admin.Username, s.Admin.Password, "Ledger-Keeper-Passw0rd!")

			// A population, through its form.
			p.signOnWith(s, tok.AccessToken, tok.RefreshToken, "#/env/"+envID+"/populations/new")
			p.heading("New population")
			p.fill("Name", "Staff")
			p.fill("Description", "People who work here")
			p.shot("population-new")
			p.press("Create population")
			p.heading("Staff")
			pops := dirList(t, s, token, envPath+"/populations?filter="+url.QueryEscape(`name eq "Staff"`), "populations")
			if len(pops) != 1 || pops[0]["description"] != "People who work here" || pops[0]["default"] != false {
				t.Fatalf("populations named Staff: %v", pops)
			}
			popID := pops[0]["id"].(string)

			// A user in it, with a password that must be changed.
			p.open("#/env/" + envID + "/users/new")
			p.heading("New user")
			p.fill("Username", "ada")
			p.fill("Email", "ada@example.com")
			p.choose("Population", "Staff")
			p.fill("Given name", "Ada")
			p.fill("Family name", "Lovelace")
			p.fill("Initial password", "Analytical-Engine-1843")
			p.shot("user-new")
			p.press("Create user")
			p.heading("ada (Ada Lovelace)")
			users := dirList(t, s, token, envPath+"/users?filter="+url.QueryEscape(`username eq "ada"`), "users")
			if len(users) != 1 {
				t.Fatalf("users named ada: %v", users)
			}
			u := users[0]
			userID := u["id"].(string)
			name, _ := u["name"].(map[string]any)
			if u["email"] != "ada@example.com" || u["population"].(map[string]any)["id"] != popID || u["enabled"] != true ||
				name["given"] != "Ada" || name["family"] != "Lovelace" {
				t.Errorf("the user as the API has it: %v", u)
			}
			pwStatus := func() string {
				r := s.Do(t, apptest.Request{Method: "GET", URL: envPath + "/users/" + userID + "/password", Token: token})
				if r.Status != 200 {
					t.Fatalf("GET password: %d %s", r.Status, r.Body)
				}
				return fmt.Sprint(r.JSON(t)["status"])
			}
			if st := pwStatus(); st != "MUST_CHANGE_PASSWORD" {
				t.Errorf("password status after create: %s", st)
			}

			// The Password tab sets another, with no change required; a
			// password the policy refuses shows at the field.
			p.press("Password")
			p.waitFor("the password status", `document.querySelector('.tab-panel dl.kv')`)
			p.fill("New password", "short")
			p.check("Require a change at next sign-on", false)
			p.press("Set password")
			if msg := p.fieldError("New password"); msg == "" {
				t.Error("no error at New password for a password the policy refuses")
			}
			p.shot("password-refused")
			p.fill("New password", "Difference-Engine-1822")
			p.press("Set password")
			p.waitFor("the password set", `document.querySelector('.tab-panel dl.kv dd')?.textContent === 'Set'`)
			if st := pwStatus(); st != "OK" {
				t.Errorf("password status after Set password: %s", st)
			}

			// A second user of the same username: the API's
			// UNIQUENESS_VIOLATION shows at Username, and nothing is written.
			p.open("#/env/" + envID + "/users/new")
			p.heading("New user")
			p.fill("Username", "ada")
			p.press("Create user")
			if msg := p.fieldError("Username"); !strings.Contains(msg, "already exists") {
				t.Errorf("error at Username: %q", msg)
			}
			p.shot("username-taken")
			if got := dirEval[string](p, `document.activeElement?.id ?? ''`); got != p.fieldID("Username") {
				t.Errorf("focus is on %q, not the Username field", got)
			}
			p.heading("New user")
			if n := len(dirList(t, s, token, envPath+"/users?filter="+url.QueryEscape(`username eq "ada"`), "users")); n != 1 {
				t.Errorf("%d users named ada after the refused create", n)
			}

			// The list's filter box shows the API's filter error.
			p.open("#/env/" + envID + "/users")
			p.heading("Users")
			p.waitFor("ada in the list", `[...document.querySelectorAll('main table a')].some((a) => a.textContent === 'ada')`)
			p.fill("Filter", `username zz "a"`)
			p.press("Search")
			p.waitFor("the filter's error", `(() => { const e = document.querySelector('.filter .field-error'); return e && !e.hidden && e.textContent; })()`)
			p.shot("filter-error")

			// Disable, through the user's page.
			p.open("#/env/" + envID + "/users/" + userID)
			p.heading("ada (Ada Lovelace)")
			p.press("Password")
			p.mark()
			p.press("Disable user")
			p.redrawn()
			if tab := dirEval[string](p, `document.querySelector('[role="tab"][aria-selected="true"]')?.textContent ?? ''`); tab != "Password" {
				t.Errorf("the page drawn again after Disable user shows the %q tab, not Password", tab)
			}
			p.waitFor("Enable user", `[...document.querySelectorAll('button')].some((b) => b.textContent === 'Enable user')`)
			r = s.Do(t, apptest.Request{Method: "GET", URL: envPath + "/users/" + userID, Token: token})
			if r.JSON(t)["enabled"] != false {
				t.Errorf("the user is still enabled: %s", r.Body)
			}
		})
	}
}

// dirCreate POSTs body and returns the new resource's id.
func dirCreate(t *testing.T, s *apptest.Server, token, path string, body any) string {
	t.Helper()
	r := s.Do(t, apptest.Request{Method: "POST", URL: path, Token: token, Body: body})
	if r.Status != 201 {
		t.Fatalf("POST %s: %d %s", path, r.Status, r.Body)
	}
	return r.JSON(t)["id"].(string)
}

func TestBrowserDirectoryGroupsRolesAndReadOnly(t *testing.T) {
	const identityReadOnly = "5e2a4a1c-5bd1-4bd2-9c1b-6f0d0a8c2e04"
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			token := s.AdminToken(t)
			envID := dirCreate(t, s, token, "/environments", map[string]any{
				"name": "Groups " + be.Name, "type": "SANDBOX", "region": "NA", "license": map[string]string{"id": s.LicenseID(t)}})
			envPath := "/environments/" + envID
			popID := dirCreate(t, s, token, envPath+"/populations", map[string]any{"name": "Sales"})
			userID := dirCreate(t, s, token, envPath+"/users", map[string]any{"username": "bob", "population": map[string]string{"id": popID}})
			p := newDirPage(t)

			// A group of the Sales population, through its form.
			p.signOnAsWorker(s, token, "#/env/"+envID+"/groups/new")
			p.heading("New group")
			p.fill("Name", "Sales team")
			p.choose("Population", "Sales")
			p.press("Create group")
			p.heading("Sales team")
			groups := dirList(t, s, token, envPath+"/groups", "groups")
			if len(groups) != 1 || groups[0]["name"] != "Sales team" || groups[0]["population"].(map[string]any)["id"] != popID {
				t.Fatalf("groups: %v", groups)
			}
			groupID := groups[0]["id"].(string)

			// bob joins it from the group's page and shows among its members.
			p.fill("Username of the user to add", "nobody")
			p.press("Add member")
			if msg := p.fieldError("Username of the user to add"); msg != "No user has this username." {
				t.Errorf("error for an unknown username: %q", msg)
			}
			p.fill("Username of the user to add", "bob")
			p.mark()
			p.press("Add member")
			p.redrawn()
			p.waitFor("bob among the members", `[...document.querySelectorAll('main section table a')].some((a) => a.textContent === 'bob')`)
			p.waitFor("one direct member", `[...document.querySelectorAll('main dl.kv dt')].find((d) => d.textContent === 'Direct members')?.nextElementSibling.textContent === '1'`)
			p.shot("group")
			ms := dirList(t, s, token, envPath+"/users/"+userID+"/memberOfGroups", "groupMemberships")
			if len(ms) != 1 || ms[0]["id"] != groupID || ms[0]["type"] != "DIRECT" {
				t.Fatalf("bob's memberships: %v", ms)
			}

			// bob's Groups tab shows it; Remove takes bob out.
			p.open("#/env/" + envID + "/users/" + userID)
			p.heading("bob")
			p.press("Groups")
			p.waitFor("the Sales team row", `[...document.querySelectorAll('.tab-panel table a')].some((a) => a.textContent === 'Sales team')`)
			p.press("Remove")
			p.confirm("Remove")
			p.waitFor("no groups", `document.querySelector('.tab-panel .empty')?.textContent === 'Not a member of any group.'`)
			if ms := dirList(t, s, token, envPath+"/users/"+userID+"/memberOfGroups", "groupMemberships"); len(ms) != 0 {
				t.Errorf("bob's memberships after Remove: %v", ms)
			}

			// A role over the population, from the Roles tab.
			p.press("Roles")
			p.waitFor("the role form", `[...document.querySelectorAll('.tab-panel button')].some((b) => b.textContent === 'Assign role')`)
			p.choose("Role", "Identity Data Read Only")
			p.choose("Scope type", "Population")
			p.choose("Scope", "Sales")
			p.press("Assign role")
			p.waitFor("the assignment", `[...document.querySelectorAll('.tab-panel tbody th')].some((c) => c.textContent === 'Identity Data Read Only')`)
			p.shot("roles")
			ras := dirList(t, s, token, envPath+"/users/"+userID+"/roleAssignments", "roleAssignments")
			if len(ras) != 1 || ras[0]["role"].(map[string]any)["id"] != identityReadOnly ||
				ras[0]["scope"].(map[string]any)["type"] != "POPULATION" || ras[0]["scope"].(map[string]any)["id"] != popID {
				t.Fatalf("bob's role assignments: %v", ras)
			}

			// MFA for the user flips from the MFA devices tab.
			mfa := func() bool {
				r := s.Do(t, apptest.Request{Method: "GET", URL: envPath + "/users/" + userID + "/mfaEnabled", Token: token})
				return r.JSON(t)["mfaEnabled"] == true
			}
			before := mfa()
			p.press("MFA devices")
			label := map[bool]string{true: "Disable MFA", false: "Enable MFA"}
			p.press(label[before])
			p.waitFor(label[!before], `[...document.querySelectorAll('.tab-panel button')].some((b) => b.textContent === `+dirQ(label[!before])+`)`)
			if mfa() == before {
				t.Errorf("mfaEnabled is still %v", before)
			}
			// A device is added from the same tab: an email device with an
			// address that is not one gets the API's error at "Email
			// address" and nothing is made; a good one is made ACTIVE.
			p.fill("Email address", "not-an-address")
			p.press("Add device")
			if msg := p.fieldError("Email address"); msg != "The email address is not valid." {
				t.Errorf("error at Email address: %q", msg)
			}
			if n := len(dirList(t, s, token, envPath+"/users/"+userID+"/devices", "devices")); n != 0 {
				t.Fatalf("%d devices after a refused add", n)
			}
			p.choose("Device type", "Email")
			p.fill("Email address", "bob.mfa@example.com")
			p.press("Add device")
			p.waitFor("the new device listed", `[...document.querySelectorAll('.tab-panel td')].some((td) => td.textContent === 'bob.mfa@example.com')`)
			devs := dirList(t, s, token, envPath+"/users/"+userID+"/devices", "devices")
			if len(devs) != 1 || devs[0]["type"] != "EMAIL" || devs[0]["email"] != "bob.mfa@example.com" || devs[0]["status"] != "ACTIVE" {
				t.Fatalf("devices after Add device: %v", devs)
			}
			// A save of the profile afterwards keeps it.
			p.press("Profile")
			p.waitFor("the profile form", `document.querySelector('.tab-panel form')`)
			p.fill("Title", "Sales lead")
			p.mark()
			p.press("Save")
			p.redrawn()
			if mfa() == before {
				t.Errorf("a profile save set mfaEnabled back to %v", before)
			}
			if u := s.Do(t, apptest.Request{Method: "GET", URL: envPath + "/users/" + userID, Token: token}).JSON(t); u["title"] != "Sales lead" {
				t.Errorf("the title after Save: %v", u["title"])
			}

			// A worker that may only read identities sees no edit control,
			// and the API refuses it a write.
			ro := s.CreateWorker(t, envID, "CLIENT_SECRET_BASIC", [3]string{identityReadOnly, "ENVIRONMENT", envID})
			roToken := s.Token(t, ro)
			q := newDirPage(t)
			q.second = true
			// It works at a phone's width.
			q.do("a phone's viewport", chromedp.EmulateViewport(360, 740, chromedp.EmulateMobile))
			q.signOnAsWorker(s, roToken, "#/env/"+envID+"/users")
			q.heading("Users")
			q.waitFor("bob in the list", `[...document.querySelectorAll('main table a')].some((a) => a.textContent === 'bob')`)
			if q.hasButton("New user") {
				t.Error("a read-only administrator is offered New user")
			}
			q.open("#/env/" + envID + "/users/" + userID)
			q.heading("bob")
			q.waitFor("the profile form", `document.querySelector('.tab-panel form')`)
			for _, b := range []string{"Disable user", "Enable user", "Unlock", "Delete user", "Save"} {
				if q.hasButton(b) {
					t.Errorf("a read-only administrator is offered %s", b)
				}
			}
			q.press("Password")
			q.waitFor("the password status", `document.querySelector('.tab-panel dl.kv')`)
			if q.hasButton("Set password") {
				t.Error("a read-only administrator is offered Set password")
			}
			q.press("Roles")
			q.waitFor("the assignments", `document.querySelector('.tab-panel table')`)
			if q.hasButton("Assign role") || q.hasButton("Remove") {
				t.Error("a read-only administrator is offered role changes")
			}
			q.shot("read-only-roles-360px")
			if w := dirEval[int](q, `document.documentElement.scrollWidth`); w > 360 {
				t.Errorf("the user page is %d px wide at 360 px", w)
			}
			q.open("#/env/" + envID + "/groups/" + groupID)
			q.heading("Sales team")
			for _, b := range []string{"Delete group", "Save", "Add member", "New group"} {
				if q.hasButton(b) {
					t.Errorf("a read-only administrator is offered %s on the group", b)
				}
			}
			if r := s.Do(t, apptest.Request{Method: "POST", URL: envPath + "/users", Token: roToken, Body: map[string]any{"username": "eve"}}); r.Status != 403 {
				t.Errorf("a read-only worker's create: %d %s", r.Status, r.Body)
			}
		})
	}
}

func TestBrowserDirectoryLifecycle(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			token := s.AdminToken(t)
			envID := dirCreate(t, s, token, "/environments", map[string]any{
				"name": "Lifecycle " + be.Name, "type": "SANDBOX", "region": "NA", "license": map[string]string{"id": s.LicenseID(t)}})
			envPath := "/environments/" + envID
			get := func(path string) map[string]any {
				t.Helper()
				r := s.Do(t, apptest.Request{Method: "GET", URL: path, Token: token})
				if r.Status != 200 {
					t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
				}
				return r.JSON(t)
			}
			status := func(path string) int {
				return s.Do(t, apptest.Request{Method: "GET", URL: path, Token: token}).Status
			}
			defaultPop := dirList(t, s, token, envPath+"/populations?filter="+url.QueryEscape("default eq true"), "populations")[0]["id"].(string)
			staff := dirCreate(t, s, token, envPath+"/populations", map[string]any{"name": "Staff"})
			user := dirCreate(t, s, token, envPath+"/users", map[string]any{"username": "cy", "population": map[string]string{"id": staff},
				"password": map[string]any{"value": "Babbage-Difference-1822"}})
			userPath := envPath + "/users/" + user
			dirCreate(t, s, token, userPath+"/devices", map[string]any{"type": "EMAIL", "email": "cy@example.com"})
			idp := dirCreate(t, s, token, envPath+"/identityProviders", map[string]any{"name": "Upstream", "type": "OPENID_CONNECT", "enabled": true,
				"clientId": "gatehouse", "clientSecret": "s3cret", "authorizationEndpoint": "https://idp.example/authorize",
				"tokenEndpoint": "https://idp.example/token", "jwksEndpoint": "https://idp.example/jwks", "issuer": "https://idp.example",
				"scopes": []string{"openid"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"})
			if r := s.Do(t, apptest.Request{Method: "POST", URL: userPath + "/linkedAccounts", Token: token, ContentType: "application/vnd.pingidentity.account.link+json",
				Body: map[string]any{"identityProvider": map[string]string{"id": idp}, "externalId": "cy-123"}}); r.Status != 201 {
				t.Fatalf("link: %d %s", r.Status, r.Body)
			}
			parents := dirCreate(t, s, token, envPath+"/groups", map[string]any{"name": "Parents"})
			children := dirCreate(t, s, token, envPath+"/groups", map[string]any{"name": "Children"})
			if r := s.Do(t, apptest.Request{Method: "POST", URL: userPath, Token: token, ContentType: "application/vnd.pingidentity.account.lock+json", Body: "{}"}); r.Status != 200 {
				t.Fatalf("lock: %d %s", r.Status, r.Body)
			}
			p := newDirPage(t)

			// Staff becomes the default population; the old default,
			// empty, is deleted.
			p.signOnAsWorker(s, token, "#/env/"+envID+"/populations/"+staff)
			p.heading("Staff")
			p.check("Default population", true)
			p.mark()
			p.press("Save")
			p.redrawn()
			p.waitFor("Staff as the default", `[...document.querySelectorAll('main dl.kv dt')].find((d) => d.textContent === 'Default')?.nextElementSibling.textContent === 'Yes'`)
			if get(envPath + "/populations/" + staff)["default"] != true || get(envPath + "/populations/" + defaultPop)["default"] != false {
				t.Error("the default flag did not move to Staff")
			}
			if p.hasButton("Delete population") {
				t.Error("the default population offers Delete population")
			}
			p.open("#/env/" + envID + "/populations/" + defaultPop)
			p.heading("Default")
			p.press("Delete population")
			p.confirm("Delete population")
			p.heading("Populations")
			if st := status(envPath + "/populations/" + defaultPop); st != 404 {
				t.Errorf("the deleted population: %d", st)
			}

			// The locked user is unlocked; the profile takes a nickname
			// and keeps the rest.
			p.open("#/env/" + envID + "/users/" + user)
			p.heading("cy")
			p.waitFor("the account locked", `[...document.querySelectorAll('.tab-panel dl.kv dt')].find((d) => d.textContent === 'Account')?.nextElementSibling.textContent.startsWith('Locked')`)
			p.mark()
			p.press("Unlock")
			p.redrawn()
			p.waitFor("the account unlocked", `[...document.querySelectorAll('.tab-panel dl.kv dt')].find((d) => d.textContent === 'Account')?.nextElementSibling.textContent === 'OK'`)
			if st := get(userPath)["account"].(map[string]any)["status"]; st != "OK" {
				t.Errorf("account status after Unlock: %v", st)
			}
			p.waitFor("the profile form", `document.querySelector('.tab-panel form')`)
			p.fill("Nickname", "Cy")
			p.mark()
			p.press("Save")
			p.redrawn()
			u := get(userPath)
			if u["nickname"] != "Cy" || u["username"] != "cy" || u["population"].(map[string]any)["id"] != staff {
				t.Errorf("the user after Save: %v", u)
			}

			// Password: expired, then still there.
			p.press("Password")
			p.press("Expire password")
			p.waitFor("the expired status", `document.querySelector('.tab-panel dl.kv dd')?.textContent === 'Must be changed at next sign-on'`)
			if st := get(userPath + "/password")["status"]; st != "MUST_CHANGE_PASSWORD" {
				t.Errorf("password status after Expire password: %v", st)
			}

			// The MFA device and the linked account go.
			p.press("MFA devices")
			p.press("Delete device")
			p.confirm("Delete device")
			p.waitFor("no devices", `document.querySelector('.tab-panel .empty')?.textContent === 'No MFA devices.'`)
			if n := len(dirList(t, s, token, userPath+"/devices", "devices")); n != 0 {
				t.Errorf("%d devices after Delete device", n)
			}
			p.press("Linked accounts")
			p.waitFor("the Upstream link", `[...document.querySelectorAll('.tab-panel tbody th')].some((c) => c.textContent === 'Upstream')`)
			p.shot("linked-accounts")
			p.press("Unlink")
			p.confirm("Unlink")
			p.waitFor("no links", `document.querySelector('.tab-panel .empty')?.textContent === 'No linked accounts.'`)
			if n := len(dirList(t, s, token, userPath+"/linkedAccounts", "linkedAccounts")); n != 0 {
				t.Errorf("%d linked accounts after Unlink", n)
			}
			// And linked again from the tab's form.
			p.fill("External id", "cy-456")
			p.press("Link account")
			p.waitFor("the new link", `[...document.querySelectorAll('.tab-panel td code')].some((c) => c.textContent === 'cy-456')`)
			if l := dirList(t, s, token, userPath+"/linkedAccounts", "linkedAccounts"); len(l) != 1 || l[0]["externalId"] != "cy-456" ||
				l[0]["identityProvider"].(map[string]any)["id"] != idp {
				t.Errorf("linked accounts after Link account: %v", l)
			}

			// The user is deleted.
			p.press("Delete user")
			p.confirm("Delete user")
			p.heading("Users")
			if st := status(userPath); st != 404 {
				t.Errorf("the deleted user: %d", st)
			}

			// Children is nested in Parents; Parents is deleted.
			p.open("#/env/" + envID + "/groups/" + children)
			p.heading("Children")
			p.waitFor("the nesting form", `[...document.querySelectorAll('button')].some((b) => b.textContent === 'Nest group')`)
			p.choose("Nest in group", "Parents")
			p.press("Nest group")
			p.waitFor("Parents listed", `[...document.querySelectorAll('main section ul a')].some((a) => a.textContent === 'Parents')`)
			p.shot("group-nested")
			if ns := dirList(t, s, token, envPath+"/groups/"+children+"/memberOfGroups", "groupMemberships"); len(ns) != 1 || ns[0]["id"] != parents {
				t.Errorf("Children's nestings: %v", ns)
			}
			p.open("#/env/" + envID + "/groups/" + parents)
			p.heading("Parents")
			p.press("Delete group")
			p.confirm("Delete group")
			p.heading("Groups")
			if st := status(envPath + "/groups/" + parents); st != 404 {
				t.Errorf("the deleted group: %d", st)
			}
		})
	}
}
