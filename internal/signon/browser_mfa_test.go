package signon_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
)

// The MFA screens in a browser, on both databases: a user without a
// device registers a TOTP app from the QR page during sign-on; the next
// sign-on asks for the app's code, refuses a replayed one and a wrong one
// in words, and takes a fresh one; a user with an email device chooses it
// and signs on with the code it was sent.

// newSiteOn is newSite on the database dsn names.
func newSiteOn(t *testing.T, dsn string) *site {
	t.Helper()
	s := apptest.Start(t, apptest.Options{DSN: dsn})
	app := newClientApp(t)
	fx := s.NewSignOn(t, apptest.SignOnOptions{App: map[string]any{"redirectUris": []string{app.RedirectURI()}}})
	fx.RedirectURI = app.RedirectURI()
	return &site{s: s, fx: fx, app: app}
}

// api calls the management API of the site's environment as its
// administrator and checks the status.
func (x *site) api(t *testing.T, method, path string, body any, want int) map[string]any {
	t.Helper()
	r := x.s.Do(t, apptest.Request{Method: method, URL: "/environments/" + x.fx.EnvID + path, Token: x.s.AdminToken(t), Body: body})
	if r.Status != want {
		t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Body)
	}
	if len(r.Body) == 0 {
		return nil
	}
	return r.JSON(t)
}

// useMultiFactor signs the application's users on with the environment's
// Multi_Factor policy, as it comes, and turns the user's MFA on.
func (x *site) useMultiFactor(t *testing.T) {
	t.Helper()
	pols := x.api(t, "GET", "/signOnPolicies", nil, http.StatusOK)
	id := ""
	for _, p := range pols["_embedded"].(map[string]any)["signOnPolicies"].([]any) {
		if p := p.(map[string]any); p["name"] == "Multi_Factor" {
			id = p["id"].(string)
		}
	}
	if id == "" {
		t.Fatal("the environment has no Multi_Factor sign-on policy")
	}
	x.api(t, "POST", "/applications/"+x.fx.AppID+"/signOnPolicyAssignments",
		map[string]any{"priority": 1, "signOnPolicy": map[string]string{"id": id}}, http.StatusCreated)
	x.api(t, "PUT", "/users/"+x.fx.UserID+"/mfaEnabled", map[string]any{"mfaEnabled": true}, http.StatusOK)
}

// totpOpts are PingOne's TOTP parameters.
var totpOpts = totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// totpAt is the code of secret for the 30-second step of when, and the
// step.
func totpAt(t *testing.T, secret string, when time.Time) (string, int64) {
	t.Helper()
	code, err := totp.GenerateCodeCustom(secret, when, totpOpts)
	if err != nil {
		t.Fatalf("totp code of %q: %v", secret, err)
	}
	return code, when.Unix() / 30
}

// attemptsLeft reads the number of attempts an error message says are
// left; -1 when it names none.
func attemptsLeft(msg string) int {
	m := regexp.MustCompile(`(\d+) attempts? left`).FindStringSubmatch(msg)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// otpField checks the passcode field: labelled, a numeric keyboard, and
// the one-time-code autofill of phones.
func otpField(t *testing.T, b *browser) {
	t.Helper()
	if l := b.labelOf("otp"); l == "" {
		t.Errorf("#otp has no label")
	}
	attrs := eval[map[string]string](b, `(() => { const e = document.querySelector('#otp');
		return {autocomplete: e.getAttribute('autocomplete'), inputmode: e.getAttribute('inputmode'), required: String(e.required)}; })()`)
	if attrs["autocomplete"] != "one-time-code" || attrs["inputmode"] != "numeric" || attrs["required"] != "true" {
		t.Errorf("#otp has %v, want autocomplete=one-time-code inputmode=numeric required", attrs)
	}
}

// enterCode types code into the passcode field and submits it; after a
// refused code it returns the error the page shows, once it differs from
// before (the same words twice would not prove a new answer).
func enterCode(t *testing.T, b *browser, code, before string) string {
	t.Helper()
	b.typeInto("#otp", code)
	b.submit("otp.check")
	b.WaitFor("a new error message", `(() => { const e = document.querySelector('#error');
		return e && e.checkVisibility() && e.innerText.trim() !== '' && e.innerText.trim() !== `+q(before)+`; })()`)
	msg := showsError(t, b)
	noRawCodes(t, "the refused code's message", msg)
	if f := b.focused(); f != "otp" {
		t.Errorf("after a refused code the focus is on %q, want the code field", f)
	}
	if st := b.status(); st != "OTP_REQUIRED" {
		t.Errorf("after a refused code the page shows %s", st)
	}
	return msg
}

func TestBrowserMFATOTP(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			b := newBrowser(t, desktop)
			x := newSiteOn(t, be.DSN(t))
			x.useMultiFactor(t)
			docs := be.Name == "sqlite"

			// The user has no device: after the password, the page
			// offers to register one.
			state := "st-" + randomString(4)
			signOnPage(t, b, x.base(), x.fx.AppID, x.app.RedirectURI(), state, "USERNAME_PASSWORD_REQUIRED")
			signOnWith(b, x.fx.Username, x.fx.Password)
			b.waitStatus("DEVICE_REGISTRATION_REQUIRED")
			noError(t, b)
			if h := b.text("h1"); h != "Set up two-step verification" {
				t.Errorf("the registration screen's heading is %q", h)
			}
			if name := b.text("#register-TOTP .choice-name"); name != "Authenticator app" {
				t.Errorf("the TOTP choice reads %q", name)
			}
			b.Shot("register-device")
			if docs {
				b.DocShot("mfa-register")
			}
			// Keyboard: the first choice has the focus; Enter takes it.
			if f := b.focused(); f != "register-TOTP" {
				t.Fatalf("the registration screen's focus is on %q, want the first choice", f)
			}
			b.Do("press Enter", chromedp.KeyEvent(kb.Enter))

			// The QR code, drawn on the page, and the key for typing in.
			b.waitStatus("OTP_REQUIRED")
			b.WaitFor("the QR code", `document.querySelector('svg#qr path') !== null`)
			if h := b.text("h1"); h != "Set up your authenticator app" {
				t.Errorf("the enrolment screen's heading is %q", h)
			}
			if !b.visible("#qr") {
				t.Fatal("the QR code is not visible")
			}
			qr := eval[map[string]any](b, `(() => { const s = document.querySelector('#qr'); const r = s.getBoundingClientRect();
				return {role: s.getAttribute('role'), title: document.querySelector('#qr-title')?.textContent ?? '', w: r.width, h: r.height,
				img: document.querySelectorAll('img:not(.logo)').length}; })()`)
			if qr["role"] != "img" || !strings.Contains(qr["title"].(string), "QR code") || qr["w"].(float64) < 150 || qr["w"] != qr["h"] || qr["img"].(float64) != 0 {
				t.Errorf("the QR code: %v (want an img role with a title, square, at least 150 px, and no fetched image)", qr)
			}
			grouped := b.text("#totp-secret")
			secret := strings.ReplaceAll(grouped, " ", "")
			if !regexp.MustCompile(`^[A-Z2-7]{16,}$`).MatchString(secret) || !strings.Contains(grouped, " ") {
				t.Fatalf("the key for manual entry reads %q: want base32 in groups", grouped)
			}
			// What a phone's camera reads from the page is the key shown
			// for typing in.
			if uri, ok := scanQR(t, b); ok {
				key, err := otp.NewKeyFromURL(uri)
				if err != nil || key.Type() != "totp" || key.Secret() != secret || key.Period() != 30 || key.Digits() != otp.DigitsSix {
					t.Errorf("the page's QR code reads %q (%v), want a TOTP key URI with the secret %s shown for typing in", uri, err, secret)
				}
			}
			otpField(t, b)
			noError(t, b)
			b.Shot("totp-enrol")
			if docs {
				b.DocShot("mfa-totp-enrol")
			}
			// On a 360 px phone the QR code and the key fit: no sideways
			// scrolling.
			b.Do("a phone's screen", chromedp.EmulateViewport(360, 740, chromedp.EmulateMobile, chromedp.EmulatePortrait))
			if sw := eval[int](b, `document.documentElement.scrollWidth`); sw > 360 {
				t.Errorf("on a 360 px screen the enrolment page is %d px wide", sw)
			}
			b.Shot("totp-enrol-phone")
			b.Do("a desktop's screen", chromedp.EmulateViewport(int64(desktop.Width), int64(desktop.Height)))

			code, step := totpAt(t, secret, time.Now())
			b.typeInto("#otp", code)
			b.submit("otp.check")
			exchange(t, x.s, x.fx.EnvID, x.fx.AppID, x.fx.AppSecret, x.app.RedirectURI(), b.landed(x.app, state))

			// The next sign-on (another browser: no session) asks for
			// the app's code; the key is never shown again.
			b2 := b.another(desktop)
			state2 := "st-" + randomString(4)
			signOnPage(t, b2, x.base(), x.fx.AppID, x.app.RedirectURI(), state2, "USERNAME_PASSWORD_REQUIRED")
			signOnWith(b2, x.fx.Username, x.fx.Password)
			b2.waitStatus("OTP_REQUIRED")
			if h := b2.text("h1"); h != "Enter the code from your app" {
				t.Errorf("the TOTP screen's heading is %q", h)
			}
			for _, sel := range []string{"#qr", "#totp-secret", "#resend"} {
				if n := eval[int](b2, `document.querySelectorAll(`+q(sel)+`).length`); n != 0 {
					t.Errorf("the sign-on's TOTP screen shows %s", sel)
				}
			}
			if strings.Contains(eval[string](b2, `document.documentElement.outerHTML`), secret) {
				t.Error("the sign-on's TOTP screen holds the secret")
			}
			otpField(t, b2)
			noError(t, b2)
			b2.Shot("totp-code")
			if docs {
				b2.DocShot("mfa-totp-code")
			}

			// The enrolment's code again: a replay, refused whatever the
			// clock says now.
			replayed := enterCode(t, b2, code, "")
			if !strings.Contains(replayed, "incorrect") || attemptsLeft(replayed) < 1 {
				t.Errorf("the replayed code's message is %q: want it called incorrect, with the attempts left", replayed)
			}
			b2.Shot("replayed-code")
			if docs {
				b2.DocShot("mfa-wrong-code")
			}
			// A wrong code: one attempt fewer.
			wrong := "000000"
			for _, off := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
				if c, _ := totpAt(t, secret, time.Now().Add(off)); c == wrong {
					wrong = "999999"
				}
			}
			msg := enterCode(t, b2, wrong, replayed)
			if !strings.Contains(msg, "incorrect") || attemptsLeft(msg) != attemptsLeft(replayed)-1 {
				t.Errorf("after %q, the wrong code's message is %q: want one attempt fewer", replayed, msg)
			}
			b2.Shot("wrong-code")

			// A code of a later step than the enrolment's signs on: the
			// next step's while the clock is still in the enrolment's (the
			// server allows one step of clock skew either way), so that the
			// test need not wait for the app's next code.
			when := time.Now()
			if when.Unix()/30 <= step {
				when = time.Unix((step+1)*30, 0)
			}
			fresh, _ := totpAt(t, secret, when)
			b2.typeInto("#otp", fresh)
			b2.submit("otp.check")
			exchange(t, x.s, x.fx.EnvID, x.fx.AppID, x.fx.AppSecret, x.app.RedirectURI(), b2.landed(x.app, state2))
		})
	}
}

// scanQR reads the QR code on the page as a camera would, from a
// screenshot, with zbar; ok is false when zbar is not installed (outside
// CI, which installs it).
func scanQR(t *testing.T, b *browser) (uri string, ok bool) {
	t.Helper()
	zbar, err := exec.LookPath("zbarimg")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("zbarimg is not installed: the page's QR code cannot be read (.ci/run installs zbar-tools)")
		}
		t.Log("SKIPPING the QR code's scan: zbarimg is not installed (apt-get install zbar-tools)")
		return "", false
	}
	ctx, cancel := context.WithTimeout(b.Ctx, waitTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	file := filepath.Join(t.TempDir(), "page.png")
	if err := os.WriteFile(file, png, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(zbar, "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", file).Output()
	if err != nil {
		t.Fatalf("zbarimg found no QR code on the page: %v", err)
	}
	return strings.TrimRight(string(out), "\n"), true
}

// mfaDevices gives the user an active email device at their address
// and, when withPhone, an SMS device after it.
func (x *site) mfaDevices(t *testing.T, withPhone bool) (emailID, smsID string) {
	t.Helper()
	d := x.api(t, "POST", "/users/"+x.fx.UserID+"/devices", map[string]any{"type": "EMAIL", "email": x.fx.Email, "status": "ACTIVE"}, http.StatusCreated)
	emailID = d["id"].(string)
	if withPhone {
		// Devices rank by creation time, kept to the millisecond: two
		// created within one millisecond have no defined order, so the
		// second is created in a later one.
		time.Sleep(2 * time.Millisecond)
		d = x.api(t, "POST", "/users/"+x.fx.UserID+"/devices", map[string]any{"type": "SMS", "phone": "+15555550101", "status": "ACTIVE"}, http.StatusCreated)
		smsID = d["id"].(string)
	}
	return emailID, smsID
}

// alwaysDisplayDevices makes the environment's default device authentication
// policy ask the user which device to use, and enables SMS (a new
// environment's policy, like PingOne's, has it disabled).
func (x *site) alwaysDisplayDevices(t *testing.T) {
	t.Helper()
	pols := x.api(t, "GET", "/deviceAuthenticationPolicies", nil, http.StatusOK)
	for _, p := range pols["_embedded"].(map[string]any)["deviceAuthenticationPolicies"].([]any) {
		p := p.(map[string]any)
		if p["default"] != true {
			continue
		}
		p["authentication"] = map[string]any{"deviceSelection": "ALWAYS_DISPLAY_DEVICES"}
		p["sms"].(map[string]any)["enabled"] = true
		delete(p, "_links")
		x.api(t, "PUT", "/deviceAuthenticationPolicies/"+p["id"].(string), p, http.StatusOK)
		return
	}
	t.Fatal("the environment has no default device authentication policy")
}

// mailedCode waits for a new passcode mailed to the user: the newest
// message to their address whose code differs from not.
func mailedCode(t *testing.T, x *site, not string) string {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		if m, ok := x.s.Mail.Last(x.fx.Email); ok && m.Code != "" && m.Code != not {
			return m.Code
		}
		if time.Now().After(deadline) {
			t.Fatalf("no passcode was mailed to %s", x.fx.Email)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestBrowserMFAEmail(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			b := newBrowser(t, desktop)
			x := newSiteOn(t, be.DSN(t))
			x.useMultiFactor(t)
			x.alwaysDisplayDevices(t)
			emailID, smsID := x.mfaDevices(t, true)
			phone := "+15555550101"
			docs := be.Name == "sqlite"

			state := "st-" + randomString(4)
			signOnPage(t, b, x.base(), x.fx.AppID, x.app.RedirectURI(), state, "USERNAME_PASSWORD_REQUIRED")
			signOnWith(b, x.fx.Username, x.fx.Password)
			b.waitStatus("DEVICE_SELECTION_REQUIRED")
			noError(t, b)
			// One button per device, in the user's order, masked.
			got := eval[[]string](b, `[...document.querySelectorAll('button.choice')].map(e => e.id + ': ' + e.innerText.replace(/\s+/g, ' ').trim())`)
			want := []string{"device-" + emailID + ": Email " + mfa.MaskEmail(x.fx.Email), "device-" + smsID + ": Text message " + strings.Repeat("*", len(phone)-2) + "01"}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("the device buttons are %q, want %q", got, want)
			}
			if page := b.text("body"); strings.Contains(page, x.fx.Email) || strings.Contains(page, "5555550101") {
				t.Errorf("the device selection shows an address or number unmasked: %q", page)
			}
			b.Shot("select-device")
			if docs {
				b.DocShot("mfa-select-device")
			}
			// Keyboard: the first device has the focus; Tab reaches the
			// second; Shift+Tab goes back; Enter chooses.
			if f := b.focused(); f != "device-"+emailID {
				t.Fatalf("the device selection's focus is on %q, want the first device", f)
			}
			b.Do("press Tab", chromedp.KeyEvent(kb.Tab))
			if f := b.focused(); f != "device-"+smsID {
				t.Errorf("Tab moved the focus to %q, want the second device", f)
			}
			b.Do("press Shift+Tab", chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift)))
			b.Do("press Enter", chromedp.KeyEvent(kb.Enter))

			b.waitStatus("OTP_REQUIRED")
			if h := b.text("h1"); h != "Check your email" {
				t.Errorf("the email code screen's heading is %q", h)
			}
			if msg := b.text(".message"); !strings.HasPrefix(msg, "We sent a code to "+mfa.MaskEmail(x.fx.Email)) {
				t.Errorf("the email code screen says %q", msg)
			}
			otpField(t, b)
			first := mailedCode(t, x, "")
			b.Shot("email-code")
			if docs {
				b.DocShot("mfa-email-code")
			}
			// A new code at once is refused in words: codes are spaced.
			b.Do("send a new code", chromedp.Click(chromedp.CSS(`#resend button[type="submit"]`)))
			msg := showsError(t, b)
			if !strings.Contains(msg, "Wait") || !strings.Contains(msg, "second") {
				t.Errorf("an early resend says %q: want how long to wait", msg)
			}
			noRawCodes(t, "the early resend's message", msg)
			b.Shot("early-resend")

			// Another device, from the disclosure under the form, by
			// keyboard: the phone, then the email again (a new code).
			for _, to := range []struct{ id, heading string }{{smsID, "Check your phone"}, {emailID, "Check your email"}} {
				b.Do("focus the disclosure", chromedp.Evaluate[chromedp.Void](`document.querySelector('.others summary').focus()`))
				b.Do("press Enter", chromedp.KeyEvent(kb.Enter))
				if !eval[bool](b, `document.querySelector('details.others').open`) {
					b.Fail("Enter did not open the list of other devices")
				}
				b.Do("press Tab", chromedp.KeyEvent(kb.Tab))
				if f := b.focused(); f != "device-"+to.id {
					t.Fatalf("Tab moved the focus to %q, want the other device", f)
				}
				if to.id == smsID {
					b.Shot("other-devices")
				}
				b.Do("press Enter", chromedp.KeyEvent(kb.Enter))
				b.WaitFor("the "+to.heading+" screen", `document.readyState === 'complete' && document.querySelector('h1')?.innerText === `+q(to.heading))
			}
			if msg := b.text(".message"); !strings.HasPrefix(msg, "We sent a code to ") {
				t.Errorf("back on the email device the page says %q", msg)
			}
			// The first code was replaced.
			second := mailedCode(t, x, first)
			if msg := enterCode(t, b, first, ""); !strings.HasPrefix(msg, "That code is incorrect.") {
				t.Errorf("the replaced code: the page says %q", msg)
			}
			b.typeInto("#otp", second)
			b.submit("otp.check")
			exchange(t, x.s, x.fx.EnvID, x.fx.AppID, x.fx.AppSecret, x.app.RedirectURI(), b.landed(x.app, state))
		})
	}
}

// wrongCodes enters wrong codes and checks that each says one attempt
// fewer is left, down to 1; it returns the last message.
func wrongCodes(t *testing.T, b *browser, wrong string, from int) string {
	t.Helper()
	msg := ""
	for left := from; left >= 1; left-- {
		msg = enterCode(t, b, wrong, msg)
		if want := fmt.Sprintf("That code is incorrect. %s left before verification is locked.", plural(left, "attempt")); msg != want {
			t.Fatalf("a wrong code: the page says %q, want %q", msg, want)
		}
	}
	return msg
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// TestBrowserMFAWrongCodes: the default policy voids an emailed code after
// 3 wrong ones; the page counts the attempts down, says when the code is
// void, and calls it expired after that.
func TestBrowserMFAWrongCodes(t *testing.T) {
	b := newBrowser(t, desktop)
	x := newSite(t)
	x.useMultiFactor(t)
	x.mfaDevices(t, false)

	state := "st-" + randomString(4)
	signOnPage(t, b, x.base(), x.fx.AppID, x.app.RedirectURI(), state, "USERNAME_PASSWORD_REQUIRED")
	signOnWith(b, x.fx.Username, x.fx.Password)
	// The only device gets its code at once.
	b.waitStatus("OTP_REQUIRED")
	right := mailedCode(t, x, "")
	n, _ := strconv.Atoi(right)
	wrong := fmt.Sprintf("%06d", (n+1)%1000000)

	msg := wrongCodes(t, b, wrong, 2)
	b.Shot("one-attempt-left")
	msg = enterCode(t, b, wrong, msg)
	if want := "That code is incorrect, and too many wrong codes were entered for it. Send a new code and enter it."; msg != want {
		t.Errorf("the last wrong code: the page says %q, want %q", msg, want)
	}
	b.Shot("code-void")
	msg = enterCode(t, b, right, msg)
	if want := "That code has expired. Send a new code and enter it."; msg != want {
		t.Errorf("the void code: the page says %q, want %q", msg, want)
	}
	b.Shot("code-expired")
	if got := x.app.last(); got != nil {
		t.Errorf("the application was reached with a void code: %v", got)
	}
}

// TestBrowserMFALocked: with the MFA settings' lockout, wrong codes count
// down to it; the lock is said with its length, and even the right code is
// refused while it lasts.
func TestBrowserMFALocked(t *testing.T) {
	b := newBrowser(t, desktop)
	x := newSite(t)
	x.useMultiFactor(t)
	x.mfaDevices(t, false)
	set := x.api(t, "GET", "/mfaSettings", nil, http.StatusOK)
	delete(set, "_links")
	set["lockout"] = map[string]any{"failureCount": 2, "durationSeconds": 600}
	x.api(t, "PUT", "/mfaSettings", set, http.StatusOK)

	state := "st-" + randomString(4)
	signOnPage(t, b, x.base(), x.fx.AppID, x.app.RedirectURI(), state, "USERNAME_PASSWORD_REQUIRED")
	signOnWith(b, x.fx.Username, x.fx.Password)
	b.waitStatus("OTP_REQUIRED")
	right := mailedCode(t, x, "")
	n, _ := strconv.Atoi(right)
	wrong := fmt.Sprintf("%06d", (n+1)%1000000)

	msg := wrongCodes(t, b, wrong, 1)
	msg = enterCode(t, b, wrong, msg)
	if want := "Too many incorrect codes: verification is locked for 10 minutes. Try again then."; msg != want {
		t.Errorf("the lock: the page says %q, want %q", msg, want)
	}
	b.Shot("locked")
	b.DocShot("mfa-locked")
	if next := enterCode(t, b, right, "That code"); next != msg {
		t.Errorf("the right code while locked: the page says %q, want %q", next, msg)
	}
	if got := x.app.last(); got != nil {
		t.Errorf("the application was reached while verification is locked: %v", got)
	}
}

// TestBrowserMFAEmailRegistration: a user without a device registers their
// email address during sign-on, with the code mailed to it; the next
// sign-on mails a code to the device.
func TestBrowserMFAEmailRegistration(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			b := newBrowser(t, desktop)
			x := newSiteOn(t, be.DSN(t))
			x.useMultiFactor(t)

			state := "st-" + randomString(4)
			signOnPage(t, b, x.base(), x.fx.AppID, x.app.RedirectURI(), state, "USERNAME_PASSWORD_REQUIRED")
			signOnWith(b, x.fx.Username, x.fx.Password)
			b.waitStatus("DEVICE_REGISTRATION_REQUIRED")
			masked := mfa.MaskEmail(x.fx.Email)
			if d := b.text("#register-EMAIL .choice-detail"); d != "Get a code at "+masked {
				t.Errorf("the email choice reads %q", d)
			}
			// Keyboard: Tab from the first choice to the email one.
			b.Do("press Tab", chromedp.KeyEvent(kb.Tab))
			if f := b.focused(); f != "register-EMAIL" {
				t.Fatalf("Tab moved the focus to %q, want the email choice", f)
			}
			b.Do("press Enter", chromedp.KeyEvent(kb.Enter))

			b.waitStatus("OTP_REQUIRED")
			if h := b.text("h1"); h != "Check your email" {
				t.Errorf("the email registration's heading is %q", h)
			}
			if msg := b.text(".message"); msg != "We sent a code to "+masked+". Enter it to finish setting up email verification." {
				t.Errorf("the email registration says %q", msg)
			}
			if n := eval[int](b, `document.querySelectorAll('#resend, #qr').length`); n != 0 {
				t.Errorf("the email registration shows a resend or a QR code")
			}
			otpField(t, b)
			b.Shot("email-registration")
			pairing := mailedCode(t, x, "")
			b.typeInto("#otp", pairing)
			b.submit("otp.check")
			exchange(t, x.s, x.fx.EnvID, x.fx.AppID, x.fx.AppSecret, x.app.RedirectURI(), b.landed(x.app, state))

			b2 := b.another(desktop)
			state2 := "st-" + randomString(4)
			signOnPage(t, b2, x.base(), x.fx.AppID, x.app.RedirectURI(), state2, "USERNAME_PASSWORD_REQUIRED")
			signOnWith(b2, x.fx.Username, x.fx.Password)
			b2.waitStatus("OTP_REQUIRED")
			if msg := b2.text(".message"); msg != "We sent a code to "+masked+"." {
				t.Errorf("the next sign-on says %q", msg)
			}
			if !b2.visible("#resend") {
				t.Errorf("the next sign-on offers no new code")
			}
			b2.typeInto("#otp", mailedCode(t, x, pairing))
			b2.submit("otp.check")
			exchange(t, x.s, x.fx.EnvID, x.fx.AppID, x.fx.AppSecret, x.app.RedirectURI(), b2.landed(x.app, state2))
		})
	}
}
