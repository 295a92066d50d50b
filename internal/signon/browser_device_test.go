package signon_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// TestBrowserDeviceAuthorization: a device shows a code; the user opens
// the verification page, types the code, signs on, confirms the code
// (pre-filled), allows the device and is told to return to it; the
// device's poll then gets its tokens. The code-entry, consent and end
// screens are copied to docs/ when GATEHOUSE_DOCS_SCREENSHOTS=1.
func TestBrowserDeviceAuthorization(t *testing.T) {
	b := newBrowser(t, desktop)
	s := apptest.Start(t, apptest.Options{})
	fx := s.NewSignOn(t, apptest.SignOnOptions{App: map[string]any{"type": "NATIVE_APP", "tokenEndpointAuthMethod": "NONE",
		"grantTypes": []string{"DEVICE_CODE"}, "responseTypes": []string{}, "redirectUris": []string{}, "name": "Living Room TV"}})
	base := s.URL + "/" + fx.EnvID

	// The device's request.
	resp, err := http.PostForm(base+"/as/device_authorization", url.Values{"client_id": {fx.AppID}, "scope": {"openid profile"}})
	if err != nil {
		t.Fatal(err)
	}
	da := decodeJSON(t, resp)
	resp.Body.Close()
	userCode := da["user_code"].(string)

	// The user opens /{envId}/device and types the code.
	b.Navigate(base + "/device")
	b.waitURL(base + "/signon/?device=enter")
	b.Shot("device-code-entry")
	b.DocShot("device-code-entry")
	if l := b.labelOf("user_code"); l == "" {
		t.Errorf("#user_code has no label")
	}
	b.typeInto("#user_code", strings.ToLower(userCode))
	b.Do("continue", chromedp.Click(chromedp.CSS(`#device-enter-form button[type="submit"]`)))

	// The application's sign-on, then the code again, pre-filled.
	b.waitStatus("USERNAME_PASSWORD_REQUIRED")
	signOnWith(b, fx.Username, fx.Password)
	b.waitStatus("DAG_USER_CODE_REQUIRED")
	if got := eval[string](b, `document.querySelector('#userCode').value`); got != userCode {
		t.Errorf("the code field holds %q, want the code typed before, %q", got, userCode)
	}
	b.Shot("device-confirm-code")
	b.submit("deviceAuthGrant.userCode.verify")

	b.waitStatus("DAG_CONSENT_REQUIRED")
	if msg := b.text(".message"); !strings.Contains(msg, fx.Username) {
		t.Errorf("the consent screen says %q: it should name the user", msg)
	}
	if sub := b.text(".subtitle"); !strings.Contains(sub, "Living Room TV") {
		t.Errorf("the consent screen's subtitle %q does not name the application", sub)
	}
	noError(t, b)
	b.Shot("device-consent")
	b.DocShot("device-consent")
	b.Do("allow", chromedp.Click(chromedp.CSS(`#device-allow button[type="submit"]`)))

	b.waitURL(base + "/signon/?device=done")
	if h := b.text("h1"); h != "Your device is connected" {
		t.Errorf("the end screen's heading is %q", h)
	}
	if msg := b.text(".message"); !strings.Contains(msg, "return to your device") {
		t.Errorf("the end screen says %q", msg)
	}
	b.Shot("device-done")
	b.DocShot("device-done")

	// The device's poll gets the tokens.
	r, err := http.PostForm(base+"/as/token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"},
		"client_id": {fx.AppID}, "device_code": {da["device_code"].(string)}})
	if err != nil {
		t.Fatal(err)
	}
	tok := decodeJSON(t, r)
	r.Body.Close()
	if r.StatusCode != http.StatusOK || tok["id_token"] == nil || tok["access_token"] == nil {
		t.Fatalf("token: %d %v", r.StatusCode, tok)
	}
}

// TestBrowserDeviceDenied: denying the device ends on a screen that says
// so, and a wrong code on the code-entry screen says it is wrong.
func TestBrowserDeviceDenied(t *testing.T) {
	b := newBrowser(t, desktop)
	s := apptest.Start(t, apptest.Options{})
	fx := s.NewSignOn(t, apptest.SignOnOptions{App: map[string]any{"type": "NATIVE_APP", "tokenEndpointAuthMethod": "NONE",
		"grantTypes": []string{"DEVICE_CODE"}, "responseTypes": []string{}, "redirectUris": []string{}}})
	base := s.URL + "/" + fx.EnvID
	resp, err := http.PostForm(base+"/as/device_authorization", url.Values{"client_id": {fx.AppID}, "scope": {"openid"}})
	if err != nil {
		t.Fatal(err)
	}
	da := decodeJSON(t, resp)
	resp.Body.Close()

	b.Navigate(base + "/device")
	b.waitURL(base + "/signon/?device=enter")
	b.typeInto("#user_code", "BBBB-BBBB")
	b.Do("continue", chromedp.Click(chromedp.CSS(`#device-enter-form button[type="submit"]`)))
	b.waitURL(base + "/signon/?device=enter&error=invalid")
	msg := showsError(t, b)
	noRawCodes(t, "the wrong-code error", msg)
	b.Shot("device-wrong-code")

	// verification_uri_complete names the application and the code.
	b.Navigate(da["verification_uri_complete"].(string))
	b.waitStatus("USERNAME_PASSWORD_REQUIRED")
	signOnWith(b, fx.Username, fx.Password)
	b.waitStatus("DAG_USER_CODE_REQUIRED")
	b.submit("deviceAuthGrant.userCode.verify")
	b.waitStatus("DAG_CONSENT_REQUIRED")
	b.Do("deny", chromedp.Click(chromedp.CSS(`#device-deny button[type="submit"]`)))
	b.waitStatus("FAILED")
	b.Shot("device-denied-failed")
	b.Do("return", chromedp.Click(chromedp.CSS(`#return`)))
	b.waitURL(base + "/signon/?device=denied")
	if h := b.text("h1"); h != "Device not connected" {
		t.Errorf("the end screen's heading is %q", h)
	}
	b.Shot("device-denied")
}

func decodeJSON(t *testing.T, resp *http.Response) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("%d: not JSON: %v", resp.StatusCode, err)
	}
	return m
}
