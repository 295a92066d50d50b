package signon_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// The FIDO2 screens in a browser: Chromium's virtual authenticators (the
// DevTools protocol's WebAuthn domain) stand in for a phone's passkey
// and a USB security key, and hold what the page made them store.

// newPasskeySiteOn is newSiteOn with the base URL at localhost: WebAuthn
// binds credentials to a domain name, never to an IP address, so
// browsers refuse a ceremony on http://127.0.0.1. The server listens on
// 127.0.0.1 as ever; a forwarder at the base URL's port passes the
// browser's connections to it.
func newPasskeySiteOn(t *testing.T, dsn string) *site {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	s := apptest.Start(t, apptest.Options{DSN: dsn, BaseURL: base})
	forward(t, ln, s.Addr)
	app := newClientApp(t)
	fx := s.NewSignOn(t, apptest.SignOnOptions{App: map[string]any{"redirectUris": []string{app.RedirectURI()}}})
	fx.RedirectURI = app.RedirectURI()
	return &site{s: s, fx: fx, app: app}
}

// forward passes each connection ln accepts to addr until the test ends.
func forward(t *testing.T, ln net.Listener, addr string) {
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	track := func(c net.Conn, on bool) {
		mu.Lock()
		defer mu.Unlock()
		if on {
			conns[c] = true
		} else {
			delete(conns, c)
		}
	}
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", addr)
			if err != nil {
				in.Close()
				continue
			}
			track(in, true)
			track(out, true)
			pipe := func(dst, src net.Conn) {
				io.Copy(dst, src)
				dst.Close()
				src.Close()
				track(dst, false)
				track(src, false)
			}
			go pipe(out, in)
			go pipe(in, out)
		}
	}()
}

// authenticator is a virtual authenticator in a browser tab.
type authenticator struct {
	b  *browser
	id webauthn.AuthenticatorID
}

// A platform passkey: the phone's or laptop's own authenticator, which
// verifies the user and whose credentials may be synced (backup
// eligible).
var platformPasskey = webauthn.VirtualAuthenticatorOptions{
	Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21,
	Transport: webauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true,
	IsUserVerified: true, AutomaticPresenceSimulation: true, DefaultBackupEligibility: true, DefaultBackupState: true,
}

// A USB security key with a PIN: device-bound credentials.
var usbSecurityKey = webauthn.VirtualAuthenticatorOptions{
	Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21,
	Transport: webauthn.AuthenticatorTransportUsb, HasResidentKey: true, HasUserVerification: true,
	IsUserVerified: true, AutomaticPresenceSimulation: true,
}

// cdpCall runs a DevTools command in the browser's tab.
func cdpCall[P, R any](b *browser, c cdp.Command[P, R], p P) R {
	b.T.Helper()
	var r R
	b.Do(c.Method, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		var err error
		r, err = cdp.Call(ctx, tg, c, p)
		return err
	}))
	return r
}

// addAuthenticator turns the tab's WebAuthn requests over to virtual
// authenticators (no browser dialogs) and adds one.
func (b *browser) addAuthenticator(o webauthn.VirtualAuthenticatorOptions) *authenticator {
	b.T.Helper()
	cdpCall(b, webauthn.Enable, webauthn.EnableParams{})
	r := cdpCall(b, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &o})
	return &authenticator{b: b, id: r.AuthenticatorID}
}

// credentials are what the authenticator stores.
func (a *authenticator) credentials() []*webauthn.Credential {
	a.b.T.Helper()
	return cdpCall(a.b, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: a.id}).Credentials
}

// userVerified makes the authenticator's user verification succeed or
// fail (a wrong fingerprint, a cancelled PIN).
func (a *authenticator) userVerified(ok bool) {
	a.b.T.Helper()
	cdpCall(a.b, webauthn.SetUserVerified, webauthn.SetUserVerifiedParams{AuthenticatorID: a.id, IsUserVerified: ok})
}

// remove takes the authenticator away (the key unplugged).
func (a *authenticator) remove() {
	a.b.T.Helper()
	cdpCall(a.b, webauthn.RemoveVirtualAuthenticator, webauthn.RemoveVirtualAuthenticatorParams{AuthenticatorID: a.id})
}

// noPasskeyAutofill makes the tab a browser without passkey autofill
// (conditional mediation), as many are: Chromium's virtual
// authenticators answer an autofill request at once, as if the user had
// picked the passkey from the username field's suggestions, which would
// leave the button untested.
func (b *browser) noPasskeyAutofill() {
	b.T.Helper()
	cdpCall(b, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `if (window.PublicKeyCredential) { PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false); }`})
}

// tokenClaims redeems code at the token endpoint as the application does
// and returns the ID token's claims (read, not verified: the token
// endpoint's tests verify it).
func tokenClaims(t *testing.T, x *site, code string) map[string]any {
	t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {x.app.RedirectURI()}}
	req, err := http.NewRequest("POST", x.s.URL+"/"+x.fx.EnvID+"/as/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(x.fx.AppID), url.QueryEscape(x.fx.AppSecret))
	resp, err := x.s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var tok struct {
		IDToken string `json:"id_token"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &tok) != nil || tok.IDToken == "" {
		t.Fatalf("token exchange: %d %s", resp.StatusCode, body)
	}
	parts := strings.Split(tok.IDToken, ".")
	if len(parts) != 3 {
		t.Fatalf("the ID token is not a JWS: %q", tok.IDToken)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	if err != nil || json.Unmarshal(raw, &claims) != nil {
		t.Fatalf("the ID token's claims: %v %s", err, raw)
	}
	return claims
}

// presence turns the authenticator's automatic user presence on or off:
// off, a request waits for a touch that never comes (until its timeout,
// or until the page goes).
func (a *authenticator) presence(on bool) {
	a.b.T.Helper()
	cdpCall(a.b, webauthn.SetAutomaticPresenceSimulation, webauthn.SetAutomaticPresenceSimulationParams{AuthenticatorID: a.id, Enabled: on})
}

// add stores a credential another authenticator made: a passkey synced
// to another browser.
func (a *authenticator) add(c *webauthn.Credential) {
	a.b.T.Helper()
	cdpCall(a.b, addCredential, addCredentialParams{AuthenticatorID: a.id, Credential: storedCredential{
		CredentialID: c.CredentialID, IsResidentCredential: c.IsResidentCredential, RpID: c.RpID, PrivateKey: c.PrivateKey,
		UserHandle: c.UserHandle, SignCount: c.SignCount, BackupEligibility: c.BackupEligibility, BackupState: c.BackupState,
		UserName: c.UserName, UserDisplayName: c.UserDisplayName,
	}})
}

// addCredential is WebAuthn.addCredential without the credential
// manager members cdproto always sends, which Chromium refuses for an
// authenticator without that extension.
var addCredential = cdp.Command[addCredentialParams, cdp.Empty]{Method: webauthn.CommandAddCredential}

type addCredentialParams struct {
	AuthenticatorID webauthn.AuthenticatorID `json:"authenticatorId"`
	Credential      storedCredential         `json:"credential"`
}

type storedCredential struct {
	CredentialID         []byte  `json:"credentialId"`
	IsResidentCredential bool    `json:"isResidentCredential"`
	RpID                 string  `json:"rpId"`
	PrivateKey           []byte  `json:"privateKey"`
	UserHandle           []byte  `json:"userHandle,omitempty"`
	SignCount            float64 `json:"signCount"`
	BackupEligibility    bool    `json:"backupEligibility"`
	BackupState          bool    `json:"backupState"`
	UserName             string  `json:"userName,omitempty"`
	UserDisplayName      string  `json:"userDisplayName,omitempty"`
}

// only is the one credential the authenticator holds.
func (a *authenticator) only() *webauthn.Credential {
	a.b.T.Helper()
	cs := a.credentials()
	if len(cs) != 1 {
		a.b.Fail("the authenticator holds %d credentials, want 1", len(cs))
	}
	return cs[0]
}

// synced is a browser (no cookies of b's) whose platform authenticator
// holds the passkey a holds, as its counter stands now.
func synced(b *browser, a *authenticator) (*browser, *authenticator) {
	b2 := b.another(desktop)
	a2 := b2.addAuthenticator(platformPasskey)
	a2.add(a.only())
	return b2, a2
}

// amr is the ID token's amr claim, in its order.
func amr(claims map[string]any) []string {
	var out []string
	list, _ := claims["amr"].([]any)
	for _, v := range list {
		s, _ := v.(string)
		out = append(out, s)
	}
	return out
}

// fido2Devices are the user's FIDO2 devices as the management API lists
// them.
func (x *site) fido2Devices(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	list := x.api(t, "GET", "/users/"+x.fx.UserID+"/devices", nil, http.StatusOK)
	emb, _ := list["_embedded"].(map[string]any)
	devs, _ := emb["devices"].([]any)
	for _, d := range devs {
		if d := d.(map[string]any); d["type"] == "FIDO2" {
			out = append(out, d)
		}
	}
	return out
}

// usePasswordless signs the application's users on with a policy of one
// MULTI_FACTOR_AUTHENTICATION action (PingOne's passwordless policy):
// the user says who they are, then uses a device.
func (x *site) usePasswordless(t *testing.T) {
	t.Helper()
	pol := x.api(t, "POST", "/signOnPolicies", map[string]any{"name": "Passwordless", "description": "A passkey or a code, no password"}, http.StatusCreated)
	x.api(t, "POST", "/signOnPolicies/"+pol["id"].(string)+"/actions",
		map[string]any{"priority": 1, "type": "MULTI_FACTOR_AUTHENTICATION", "noDevicesMode": "BLOCK"}, http.StatusCreated)
	x.assignOnly(t, pol["id"].(string))
	x.api(t, "PUT", "/users/"+x.fx.UserID+"/mfaEnabled", map[string]any{"mfaEnabled": true}, http.StatusOK)
}

// assignOnly makes the sign-on policy id the application's only one.
func (x *site) assignOnly(t *testing.T, id string) {
	t.Helper()
	path := "/applications/" + x.fx.AppID + "/signOnPolicyAssignments"
	list := x.api(t, "GET", path, nil, http.StatusOK)
	emb, _ := list["_embedded"].(map[string]any)
	as, _ := emb["signOnPolicyAssignments"].([]any)
	for _, a := range as {
		x.api(t, "DELETE", path+"/"+a.(map[string]any)["id"].(string), nil, http.StatusNoContent)
	}
	x.api(t, "POST", path, map[string]any{"priority": 1, "signOnPolicy": map[string]string{"id": id}}, http.StatusCreated)
}

// policyID is the id of the environment's sign-on policy of that name.
func (x *site) policyID(t *testing.T, name string) string {
	t.Helper()
	pols := x.api(t, "GET", "/signOnPolicies", nil, http.StatusOK)
	for _, p := range pols["_embedded"].(map[string]any)["signOnPolicies"].([]any) {
		if p := p.(map[string]any); p["name"] == name {
			return p["id"].(string)
		}
	}
	t.Fatalf("the environment has no sign-on policy %q", name)
	return ""
}
