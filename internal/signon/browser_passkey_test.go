package signon_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// passkeyMessage waits for the page to say why the browser's request did
// not happen.
func passkeyRefused(t *testing.T, b *browser) {
	t.Helper()
	msg := showsError(t, b)
	if want := "The passkey request was cancelled or timed out. Try again."; msg != want {
		t.Errorf("a refused passkey request: the page says %q, want %q", msg, want)
	}
	noRawCodes(t, "the refused request's message", msg)
	if b.visible("#passkey") && eval[bool](b, `document.querySelector('#passkey').disabled`) {
		t.Errorf("after a refused request the passkey button stays disabled")
	}
}

// TestBrowserPasskey: a user registers a passkey during sign-on (after
// their password, where they have no device), then signs on with it as
// the second factor in another browser the passkey synced to (a refused
// prompt first, said in words); with a passwordless policy they sign on
// with their username then the passkey, and with the passkey alone, from
// the button or the username field's autofill; once the device is
// deleted, the next sign-on asks to register one again.
func TestBrowserPasskey(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			b := newBrowser(t, desktop)
			x := newPasskeySiteOn(t, be.DSN(t))
			x.useMultiFactor(t)
			docs := be.Name == "sqlite"
			a := b.addAuthenticator(platformPasskey)

			// Registration during sign-on.
			state := "st-" + randomString(4)
			signOnPage(t, b, x.base(), x.fx.AppID, x.app.RedirectURI(), state, "USERNAME_PASSWORD_REQUIRED")
			signOnWith(b, x.fx.Username, x.fx.Password)
			b.waitStatus("DEVICE_REGISTRATION_REQUIRED")
			if name := b.text("#register-FIDO2 .choice-name"); name != "Passkey or security key" {
				t.Fatalf("the FIDO2 choice reads %q", name)
			}
			b.Shot("register-device")
			if docs {
				b.DocShot("fido-register")
			}
			b.Do("choose a passkey", chromedp.Click(chromedp.CSS("#register-FIDO2")))
			b.waitStatus("FIDO2_ACTIVATION_REQUIRED")
			if h := b.text("h1"); h != "Set up a passkey" {
				t.Errorf("the activation screen's heading is %q", h)
			}
			if f := b.focused(); f != "passkey" {
				t.Errorf("the activation screen's focus is on %q, want the button", f)
			}
			noError(t, b)
			if n := len(a.credentials()); n != 0 {
				t.Fatalf("the screen made a passkey before the user asked: %d", n)
			}
			b.Shot("setup-passkey")
			if docs {
				b.DocShot("fido-setup")
			}
			b.Do("phone", chromedp.EmulateViewport(360, 740, chromedp.EmulateMobile, chromedp.EmulatePortrait))
			if sw := eval[int](b, `document.documentElement.scrollWidth`); sw > 360 {
				t.Errorf("on a 360 px screen the passkey page is %d px wide", sw)
			}
			b.Shot("setup-passkey-phone")
			b.Do("desktop", chromedp.EmulateViewport(int64(desktop.Width), int64(desktop.Height)))
			b.Do("create the passkey", chromedp.Click(chromedp.CSS("#passkey")))
			claims := tokenClaims(t, x, b.landed(x.app, state))
			if got := amr(claims); !slices.Contains(got, "pwd") || !slices.Contains(got, "swk") || !slices.Contains(got, "mfa") || slices.Contains(got, "hwk") {
				t.Errorf("amr after a password and a new synced passkey: %v, want pwd, swk and mfa", got)
			}
			// The authenticator holds a discoverable credential for
			// localhost whose user handle names the user; the server an
			// active FIDO2 device.
			cred := a.only()
			if !cred.IsResidentCredential || cred.RpID != "localhost" || string(cred.UserHandle) != x.fx.UserID {
				t.Errorf("the stored passkey: resident=%v rpId=%q userHandle=%q, want a resident credential of localhost for %s",
					cred.IsResidentCredential, cred.RpID, cred.UserHandle, x.fx.UserID)
			}
			devs := x.fido2Devices(t)
			if len(devs) != 1 || devs[0]["status"] != "ACTIVE" {
				t.Fatalf("the user's FIDO2 devices: %v, want one ACTIVE", devs)
			}

			// The second factor, in a browser the passkey synced to: a
			// refused prompt (the fingerprint not recognised), then the
			// passkey.
			b2, a2 := synced(b, a)
			a2.userVerified(false)
			state = "st-" + randomString(4)
			signOnPage(t, b2, x.base(), x.fx.AppID, x.app.RedirectURI(), state, "USERNAME_PASSWORD_REQUIRED")
			signOnWith(b2, x.fx.Username, x.fx.Password)
			b2.waitStatus("ASSERTION_REQUIRED")
			if h := b2.text("h1"); h != "Use your passkey or security key" {
				t.Errorf("the passkey screen's heading is %q", h)
			}
			// The page asked at once; the browser refused.
			passkeyRefused(t, b2)
			b2.Shot("refused")
			if docs {
				b2.DocShot("fido-refused")
			}
			a2.userVerified(true)
			b2.Do("use the passkey", chromedp.Click(chromedp.CSS("#passkey")))
			claims = tokenClaims(t, x, b2.landed(x.app, state))
			if got := amr(claims); !slices.Contains(got, "pwd") || !slices.Contains(got, "swk") || !slices.Contains(got, "mfa") {
				t.Errorf("amr after a password and a passkey: %v", got)
			}

			// Passwordless: the username, then the passkey.
			x.usePasswordless(t)
			b3 := b2.another(desktop)
			b3.noPasskeyAutofill()
			a3 := b3.addAuthenticator(platformPasskey)
			a3.add(a2.only())
			state = "st-" + randomString(4)
			signOnPage(t, b3, x.base(), x.fx.AppID, x.app.RedirectURI(), state, "SIGN_ON_REQUIRED")
			if !b3.visible("#passkey") || b3.text("#passkey") != "Sign on with a passkey" {
				t.Fatalf("the passwordless sign-on offers no passkey button")
			}
			if ac := eval[string](b3, `document.querySelector('#username').getAttribute('autocomplete')`); ac != "username webauthn" {
				t.Errorf("the username field's autocomplete is %q, want the passkeys offered in it", ac)
			}
			noError(t, b3)
			b3.Shot("passwordless")
			if docs {
				b3.DocShot("fido-signon")
			}
			b3.typeInto("#username", x.fx.Username)
			b3.submit("user.lookup")
			claims = tokenClaims(t, x, b3.landed(x.app, state))
			if got := amr(claims); slices.Contains(got, "pwd") || !slices.Contains(got, "swk") || !slices.Contains(got, "mfa") {
				t.Errorf("amr after a username and a verified passkey: %v, want swk and mfa without pwd", got)
			}

			// Usernameless, from the button.
			b4 := b3.another(desktop)
			b4.noPasskeyAutofill()
			a4 := b4.addAuthenticator(platformPasskey)
			a4.add(a3.only())
			state = "st-" + randomString(4)
			signOnPage(t, b4, x.base(), x.fx.AppID, x.app.RedirectURI(), state, "SIGN_ON_REQUIRED")
			b4.Do("sign on with a passkey", chromedp.Click(chromedp.CSS("#passkey")))
			claims = tokenClaims(t, x, b4.landed(x.app, state))
			if claims["sub"] != x.fx.UserID {
				t.Errorf("the usernameless sign-on's subject is %v, want %s", claims["sub"], x.fx.UserID)
			}

			// Usernameless, from the username field's autofill: the
			// virtual authenticator picks the passkey as the user would
			// from the suggestions.
			b5 := b4.another(desktop)
			a5 := b5.addAuthenticator(platformPasskey)
			a5.add(a4.only())
			state = "st-" + randomString(4)
			b5.Navigate(authorizeURL(x.base(), x.fx.AppID, x.app.RedirectURI(), state))
			if tokenClaims(t, x, b5.landed(x.app, state))["sub"] != x.fx.UserID {
				t.Errorf("the autofill sign-on signed someone else on")
			}

			// The device deleted: the passkey no longer signs on, and a
			// password sign-on asks to register a device again.
			x.api(t, "DELETE", "/users/"+x.fx.UserID+"/devices/"+devs[0]["id"].(string), nil, http.StatusNoContent)
			x.assignOnly(t, x.policyID(t, "Multi_Factor"))
			b6 := b5.another(desktop)
			b6.addAuthenticator(platformPasskey).add(a5.only())
			state = "st-" + randomString(4)
			signOnPage(t, b6, x.base(), x.fx.AppID, x.app.RedirectURI(), state, "USERNAME_PASSWORD_REQUIRED")
			signOnWith(b6, x.fx.Username, x.fx.Password)
			b6.waitStatus("DEVICE_REGISTRATION_REQUIRED")
		})
	}
}

// TestBrowserSecurityKey: a USB security key registered during sign-on
// is the second factor of the next one, where the user may choose their
// email instead; once the key is deleted, the next sign-on sends a code
// to the email device.
func TestBrowserSecurityKey(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			b := newBrowser(t, desktop)
			x := newPasskeySiteOn(t, be.DSN(t))
			x.useMultiFactor(t)
			docs := be.Name == "sqlite"
			key := b.addAuthenticator(usbSecurityKey)

			state := "st-" + randomString(4)
			signOnPage(t, b, x.base(), x.fx.AppID, x.app.RedirectURI(), state, "USERNAME_PASSWORD_REQUIRED")
			signOnWith(b, x.fx.Username, x.fx.Password)
			b.waitStatus("DEVICE_REGISTRATION_REQUIRED")
			b.Do("choose a passkey or security key", chromedp.Click(chromedp.CSS("#register-FIDO2")))
			b.waitStatus("FIDO2_ACTIVATION_REQUIRED")
			b.Do("register the key", chromedp.Click(chromedp.CSS("#passkey")))
			if got := amr(tokenClaims(t, x, b.landed(x.app, state))); !slices.Contains(got, "hwk") || slices.Contains(got, "swk") {
				t.Errorf("amr after registering a device-bound key: %v, want hwk", got)
			}
			if c := key.only(); c.BackupEligibility {
				t.Errorf("the key's credential is backup eligible")
			}
			keyID := x.fido2Devices(t)[0]["id"].(string)
			emailID, _ := x.mfaDevices(t, false)

			// The key is the first device: the page asks for it at once,
			// and offers the email instead. The key waits for a touch
			// while the screen is looked at.
			state = "st-" + randomString(4)
			b2 := b.another(desktop)
			key2 := b2.addAuthenticator(usbSecurityKey)
			key2.add(key.only())
			key2.presence(false)
			signOnPage(t, b2, x.base(), x.fx.AppID, x.app.RedirectURI(), state, "USERNAME_PASSWORD_REQUIRED")
			signOnWith(b2, x.fx.Username, x.fx.Password)
			b2.waitStatus("ASSERTION_REQUIRED")
			b2.WaitFor("the browser's request under way", `document.querySelector('#passkey').disabled && document.querySelector('#passkey-status').innerText !== ''`)
			if st := b2.text("#passkey-status"); st != "Follow your browser's steps to use your passkey or security key." {
				t.Errorf("while the browser asks, the page says %q", st)
			}
			if live := eval[string](b2, `document.querySelector('#passkey-status').getAttribute('aria-live') ?? ''`); live != "polite" {
				t.Errorf("the passkey status line is not announced: aria-live=%q", live)
			}
			b2.Do("open the other methods", chromedp.Click(chromedp.CSS(".others summary")))
			if !b2.visible("#device-" + emailID) {
				t.Fatalf("the passkey screen offers no other method")
			}
			b2.Shot("assertion")
			if docs {
				b2.DocShot("fido-assertion")
			}
			// A touch, then the page again: it asks once more by itself.
			key2.presence(true)
			b2.Do("reload", chromedp.Reload())
			if got := amr(tokenClaims(t, x, b2.landed(x.app, state))); !slices.Contains(got, "pwd") || !slices.Contains(got, "hwk") || !slices.Contains(got, "mfa") {
				t.Errorf("amr after a password and a security key: %v, want pwd, hwk and mfa", got)
			}

			// The key deleted: the email device is all there is.
			x.api(t, "DELETE", "/users/"+x.fx.UserID+"/devices/"+keyID, nil, http.StatusNoContent)
			b3 := b2.another(desktop)
			b3.addAuthenticator(usbSecurityKey).add(key2.only())
			state = "st-" + randomString(4)
			signOnPage(t, b3, x.base(), x.fx.AppID, x.app.RedirectURI(), state, "USERNAME_PASSWORD_REQUIRED")
			signOnWith(b3, x.fx.Username, x.fx.Password)
			b3.waitStatus("OTP_REQUIRED")
			if h := b3.text("h1"); h != "Check your email" {
				t.Errorf("after the key was deleted the page asks %q", h)
			}
		})
	}
}
