package signon

import (
	"html"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// PingOne's options strings: binary members as arrays of signed bytes.
const (
	requestOptions  = `{"challenge":[-85,59,-40,1],"timeout":120000,"rpId":"gh.example","allowCredentials":[{"type":"public-key","id":[1,62,-107]}],"userVerification":"required"}`
	creationOptions = `{"rp":{"id":"gh.example","name":"Acme"},"user":{"id":[97,98],"name":"ada","displayName":"Ada"},"challenge":[-19,41],"pubKeyCredParams":[{"type":"public-key","alg":-7}],"timeout":120000,"authenticatorSelection":{"residentKey":"required","requireResidentKey":true,"userVerification":"required"},"attestation":"none"}`
)

func fido2Flow(status string, links ...string) *wire.Flow {
	f := mfaFlow(status, links...)
	f.Embedded.Devices = append([]wire.FlowDevice{{ID: "dev-key", Type: "FIDO2", Status: "ACTIVE"}}, f.Embedded.Devices...)
	return f
}

func setOptions(f *wire.Flow, request, creation string) {
	f.PublicKeyCredentialRequestOptions, f.PublicKeyCredentialCreationOptions = request, creation
}

// attr is s as html/template writes it into an attribute.
func attr(s string) string { return html.EscapeString(s) }

func TestFIDO2Assertion(t *testing.T) {
	f := fido2Flow(wire.StatusAssertionRequired, "assertion.check", "device.select")
	f.SelectedDevice = &wire.Ref{ID: "dev-key"}
	setOptions(f, requestOptions, "")
	body := renderFlow(t, f)
	wantAll(t, body,
		`data-status="ASSERTION_REQUIRED"`,
		`<h1 id="heading">Use your passkey or security key</h1>`,
		`<p class="message">Use your passkey or security key to verify that it&#39;s you. When your browser asks, use your fingerprint, face or screen lock, or touch your security key.</p>`,
		`<form data-action="assertion.check" data-webauthn="get" data-options="`+attr(requestOptions)+`" data-autostart id="passkey-form">`,
		`<button type="submit" class="primary" id="passkey" autofocus>Use your passkey or security key</button>`,
		`<p id="passkey-status" class="hint" aria-live="polite"></p>`,
		`<summary>Choose another method</summary>`,
		`<button type="submit" class="choice" id="device-dev-email"><span class="choice-name">Email</span>`,
	)
	// The selected key is not among the other methods.
	wantNone(t, body, `id="device-dev-key"`, `id="resend"`)

	t.Run("a nickname names the key", func(t *testing.T) {
		f.Embedded.Devices[0].Nickname = "YubiKey"
		wantAll(t, renderFlow(t, f), `<p class="message">Use YubiKey to verify that it&#39;s you.`)
	})
	t.Run("without device.select no other method", func(t *testing.T) {
		f := fido2Flow(wire.StatusAssertionRequired, "assertion.check")
		f.SelectedDevice = &wire.Ref{ID: "dev-key"}
		setOptions(f, requestOptions, "")
		wantNone(t, renderFlow(t, f), `Choose another method`)
	})
}

func TestFIDO2Activation(t *testing.T) {
	f := mfaFlow(wire.StatusFIDO2ActivationRequired, "device.activate")
	f.Embedded.Devices = nil
	setOptions(f, "", creationOptions)
	body := renderFlow(t, f)
	wantAll(t, body,
		`<h1 id="heading">Set up a passkey</h1>`,
		`<p class="message">Your browser will ask you to create a passkey for Acme with your fingerprint, face or screen lock, or to use a security key. You will use it each time you sign on.</p>`,
		`<form data-action="device.activate" data-webauthn="create" data-options="`+attr(creationOptions)+`" id="passkey-form">`,
		`<button type="submit" class="primary" id="passkey" autofocus>Create a passkey</button>`,
		`<p id="passkey-status" class="hint" aria-live="polite"></p>`,
		`<form data-action="session.reset" class="secondary-form">`,
	)
	// Made only by a click: no prompt the user did not ask for.
	wantNone(t, body, `data-autostart`)

	t.Run("the other kinds of device stay a choice", func(t *testing.T) {
		f := mfaFlow(wire.StatusFIDO2ActivationRequired, "device.activate", "device.register")
		f.Embedded.Devices = []wire.FlowDevice{{ID: "dev-new", Type: "FIDO2", Status: "ACTIVATION_REQUIRED"}}
		f.Embedded.DeviceRegistration = &wire.FlowDeviceRegistration{Types: []string{"TOTP", "EMAIL", "FIDO2"}, Email: "a***@example.com"}
		setOptions(f, "", creationOptions)
		body := renderFlow(t, f)
		wantAll(t, body,
			`<details class="others">`+"\n"+`<summary>Choose another method</summary>`,
			// Not the screen's task: no focus taken from the passkey button.
			`<ul class="choices">`+"\n"+`<li><form data-action="device.register" class="choice-form">`+"\n"+`<input type="hidden" name="type" value="TOTP">`+"\n"+
				`<button type="submit" class="choice" id="register-TOTP"><span class="choice-name">Authenticator app</span>`,
			`<button type="submit" class="choice" id="register-EMAIL"><span class="choice-name">Email</span><span class="choice-detail">Get a code at a***@example.com</span></button>`,
		)
		wantNone(t, body, `id="register-FIDO2"`)
		if n := strings.Count(body, "autofocus"); n != 1 {
			t.Errorf("%d elements ask for the focus, want the passkey button alone", n)
		}

		// Without device.register, or with nothing else to register, no choice.
		delete(f.Links, "device.register")
		wantNone(t, renderFlow(t, f), `Choose another method`)
		f = mfaFlow(wire.StatusFIDO2ActivationRequired, "device.activate", "device.register")
		f.Embedded.DeviceRegistration = &wire.FlowDeviceRegistration{Types: []string{"FIDO2"}}
		setOptions(f, "", creationOptions)
		wantNone(t, renderFlow(t, f), `Choose another method`)
	})
}

func TestFIDO2SignOnPasskey(t *testing.T) {
	f := mfaFlow(wire.StatusSignOnRequired, "user.lookup", "assertion.check")
	f.Embedded.Devices = nil
	setOptions(f, requestOptions, "")
	body := renderFlow(t, f)
	wantAll(t, body,
		`<form data-action="user.lookup" id="signon-form" novalidate>`,
		// The browser's autofill offers the passkeys in the username field.
		`<input id="username" name="username" autocomplete="username webauthn"`,
		`<div class="divider" data-signon-only data-passkey-only><span>or</span></div>`,
		`<form data-action="assertion.check" data-webauthn="get" data-options="`+attr(requestOptions)+`" data-optional data-autofill id="passkey-form" data-signon-only>`,
		`<button type="submit" class="button provider" id="passkey">Sign on with a passkey</button>`,
	)

	t.Run("without options, no passkey", func(t *testing.T) {
		f := mfaFlow(wire.StatusSignOnRequired, "user.lookup")
		f.Embedded.Devices = nil
		body := renderFlow(t, f)
		wantAll(t, body, `<input id="username" name="username" autocomplete="username" `)
		wantNone(t, body, `webauthn`, `passkey`)
	})
}

func TestFIDO2Registration(t *testing.T) {
	f := mfaFlow(wire.StatusDeviceRegistrationRequired, "device.register")
	f.Embedded.Devices = nil
	f.Embedded.DeviceRegistration = &wire.FlowDeviceRegistration{Types: []string{"FIDO2", "TOTP"}}
	body := renderFlow(t, f)
	wantAll(t, body,
		`<input type="hidden" name="type" value="FIDO2">`+"\n"+`<button type="submit" class="choice" id="register-FIDO2" autofocus><span class="choice-name">Passkey or security key</span><span class="choice-detail">Use your fingerprint, face or screen lock, or a security key</span></button>`,
		`id="register-TOTP"><span class="choice-name">Authenticator app</span>`,
	)
}

func TestFIDO2DeviceSelection(t *testing.T) {
	f := fido2Flow(wire.StatusDeviceSelectionRequired, "device.select")
	f.Embedded.Devices[0].Nickname = "YubiKey"
	body := renderFlow(t, f)
	wantAll(t, body,
		`<p class="message">Choose how you want to verify that it&#39;s you.</p>`,
		// A key's choice says what this browser can use (the script adds
		// it); a code's does not.
		`<form data-action="device.select" class="choice-form" data-compat>`+"\n"+`<input type="hidden" name="device.id" value="dev-key">`+"\n"+
			`<button type="submit" class="choice" id="device-dev-key" autofocus><span class="choice-name">YubiKey</span><span class="choice-detail">Passkey or security key</span></button>`,
		`<form data-action="device.select" class="choice-form">`+"\n"+`<input type="hidden" name="device.id" value="dev-email">`,
	)
	if n := strings.Count(body, `data-compat`); n != 1 {
		t.Errorf("%d forms send the compatibility, want the key's alone", n)
	}
}
