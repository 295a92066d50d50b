package signon

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// renderFlow renders the page of a flow as the page handler does after
// loading it: the MFA screens' HTML without a running flow engine.
func renderFlow(t *testing.T, out *wire.Flow) string {
	t.Helper()
	s := New(nil, nil, nil, session.Cookies{}, nil)
	v := &view{EnvID: "env-1", BrandName: "Acme", Actions: map[string]bool{}, Themed: true}
	s.fill(v, out)
	rec := httptest.NewRecorder()
	s.render(rec, http.StatusOK, v)
	if rec.Code != http.StatusOK {
		t.Fatalf("render: %d %s", rec.Code, rec.Body)
	}
	body := rec.Body.String()
	// The strict CSP allows no inline script or style.
	for _, bad := range []*regexp.Regexp{regexp.MustCompile(`<script>`), regexp.MustCompile(`<script[^>]*>[^<]`),
		regexp.MustCompile(`\sstyle=`), regexp.MustCompile(`<style`), regexp.MustCompile(`\son[a-z]+=`)} {
		if bad.MatchString(body) {
			t.Errorf("the page has inline script or style: %s", bad.FindString(body))
		}
	}
	return body
}

func mfaFlow(status string, links ...string) *wire.Flow {
	f := &wire.Flow{ID: "flow-1", Status: status, Links: wire.Links{"self": {Href: "https://gh.example/env-1/flows/flow-1"}},
		ResumeURL: "https://gh.example/env-1/as/resume?flowId=flow-1",
		Embedded: &wire.FlowEmbedded{
			Application: &wire.FlowApplication{Name: "Travel App"},
			Devices: []wire.FlowDevice{
				{ID: "dev-email", Type: "EMAIL", Status: "ACTIVE", Email: "a*****@example.com"},
				{ID: "dev-sms", Type: "SMS", Status: "ACTIVE", Phone: "*******01", Nickname: "Work phone"},
				{ID: "dev-totp", Type: "TOTP", Status: "ACTIVE"},
			}}}
	for _, l := range append(links, "session.reset") {
		f.Links[l] = wire.Href{Href: "https://gh.example/env-1/flows/flow-1"}
	}
	return f
}

func wantAll(t *testing.T, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("the page lacks %s", w)
		}
	}
}

func wantNone(t *testing.T, body string, nots ...string) {
	t.Helper()
	for _, w := range nots {
		if strings.Contains(body, w) {
			t.Errorf("the page has %s", w)
		}
	}
}

func TestMFADeviceSelection(t *testing.T) {
	body := renderFlow(t, mfaFlow(wire.StatusDeviceSelectionRequired, "device.select"))
	wantAll(t, body,
		`data-status="DEVICE_SELECTION_REQUIRED"`, `<h1 id="heading">Verify that it&#39;s you</h1>`,
		`<p class="message">Choose where to get your one-time code.</p>`,
		`<ul class="choices" aria-labelledby="heading">`,
		`<input type="hidden" name="device.id" value="dev-email">`+"\n"+
			`<button type="submit" class="choice" id="device-dev-email" autofocus><span class="choice-name">Email</span><span class="choice-detail">a*****@example.com</span></button>`,
		// A nickname names the device; its kind and number follow.
		`<button type="submit" class="choice" id="device-dev-sms"><span class="choice-name">Work phone</span><span class="choice-detail">Text message, *******01</span></button>`,
		`<button type="submit" class="choice" id="device-dev-totp"><span class="choice-name">Authenticator app</span></button>`,
		`<form data-action="session.reset" class="secondary-form">`,
	)
	if n := strings.Count(body, `<form data-action="device.select"`); n != 3 {
		t.Errorf("%d device.select forms, want one per device (3)", n)
	}
}

func TestMFAOTPEntry(t *testing.T) {
	for _, tc := range []struct {
		device           string
		heading, message string
		resend           bool
		others           []string
	}{
		{"dev-email", "Check your email", "We sent a code to a*****@example.com.", true, []string{"dev-sms", "dev-totp"}},
		{"dev-sms", "Check your phone", "We sent a code by text message to *******01.", true, []string{"dev-email", "dev-totp"}},
		{"dev-totp", "Enter the code from your app", "Open your authenticator app and enter the code it shows for Acme.", false, []string{"dev-email", "dev-sms"}},
	} {
		t.Run(tc.device, func(t *testing.T) {
			f := mfaFlow(wire.StatusOTPRequired, "otp.check", "device.select")
			f.SelectedDevice = &wire.Ref{ID: tc.device}
			body := renderFlow(t, f)
			wantAll(t, body,
				`<h1 id="heading">`+tc.heading+`</h1>`, `<p class="message">`+tc.message+`</p>`,
				`<form data-action="otp.check" id="otp-form" novalidate>`,
				`<label for="otp">Code</label>`,
				`<input id="otp" name="otp" class="code" inputmode="numeric" autocomplete="one-time-code" autocapitalize="off" spellcheck="false" maxlength="10" required autofocus>`,
				`<summary>Use another device</summary>`,
			)
			resend := `<form data-action="device.select" class="secondary-form" id="resend" data-notice="We sent a new code. Codes sent earlier no longer work.">` + "\n" +
				`<input type="hidden" name="device.id" value="` + tc.device + `">`
			if got := strings.Contains(body, resend); got != tc.resend {
				t.Errorf("resend offered=%v, want %v", got, tc.resend)
			}
			for _, o := range tc.others {
				wantAll(t, body, `id="device-`+o+`"`)
			}
			wantNone(t, body, `id="device-`+tc.device+`"`, `<svg`, `totp-secret`, `class="choice" id="device-`+tc.others[0]+`" autofocus`)
		})
	}
	t.Run("a single device offers no other", func(t *testing.T) {
		f := mfaFlow(wire.StatusOTPRequired, "otp.check", "device.select")
		f.Embedded.Devices = f.Embedded.Devices[:1]
		f.SelectedDevice = &wire.Ref{ID: "dev-email"}
		wantNone(t, renderFlow(t, f), `Use another device`)
	})
}

func TestMFATOTPEnrolment(t *testing.T) {
	const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	uri := "otpauth://totp/Acme:ada%40example.com?algorithm=SHA1&digits=6&issuer=Acme&period=30&secret=" + secret
	f := mfaFlow(wire.StatusOTPRequired, "otp.check", "device.select")
	f.Embedded.Devices = []wire.FlowDevice{{ID: "dev-new", Type: "TOTP", Status: "ACTIVATION_REQUIRED",
		Properties: &wire.FlowDeviceProperties{Secret: secret, KeyURI: uri}}}
	f.SelectedDevice = &wire.Ref{ID: "dev-new"}
	body := renderFlow(t, f)
	qr, err := qrCode(uri)
	if err != nil {
		t.Fatal(err)
	}
	wantAll(t, body,
		`<h1 id="heading">Set up your authenticator app</h1>`,
		`<svg class="qr" id="qr" role="img" aria-labelledby="qr-title" viewBox="0 0 `+strconv.Itoa(qr.Size)+` `+strconv.Itoa(qr.Size)+`"`,
		`<title id="qr-title">QR code to add Acme:ada@example.com to your authenticator app</title>`,
		`<path d="`+qr.Path+`"/></svg>`,
		`<code id="totp-secret" class="secret">JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP</code>`,
		`Enter the 6-digit code the app shows.`,
		`<label for="otp">Code from the app</label>`,
		`<button type="submit" class="primary">Verify and continue</button>`,
	)
	wantNone(t, body, `id="resend"`, `Use another device`, uri, `data:image`)

	// An active TOTP device's key is never shown again.
	f.Embedded.Devices[0].Status = "ACTIVE"
	wantNone(t, renderFlow(t, f), `<svg`, secret, `JBSW Y3DP`)
}

func TestMFAEmailPairing(t *testing.T) {
	f := mfaFlow(wire.StatusOTPRequired, "otp.check", "device.register")
	f.Embedded.Devices = []wire.FlowDevice{{ID: "dev-new", Type: "EMAIL", Status: "ACTIVATION_REQUIRED", Email: "a*****@example.com"}}
	f.SelectedDevice = &wire.Ref{ID: "dev-new"}
	body := renderFlow(t, f)
	wantAll(t, body, `<h1 id="heading">Check your email</h1>`,
		`<p class="message">We sent a code to a*****@example.com. Enter it to finish setting up email verification.</p>`)
	// The flow offers no resend for a device being registered.
	wantNone(t, body, `id="resend"`, `Use another device`)
}

func TestMFADeviceRegistration(t *testing.T) {
	f := mfaFlow(wire.StatusDeviceRegistrationRequired, "device.register")
	f.Embedded.Devices = nil
	f.Embedded.DeviceRegistration = &wire.FlowDeviceRegistration{Types: []string{"TOTP", "EMAIL"}, Email: "a*****@example.com"}
	body := renderFlow(t, f)
	wantAll(t, body, `<h1 id="heading">Set up two-step verification</h1>`,
		`<p class="message">Travel App asks for a second step when you sign on. Choose how you want to verify that it&#39;s you.</p>`,
		`<input type="hidden" name="type" value="TOTP">`+"\n"+`<button type="submit" class="choice" id="register-TOTP" autofocus><span class="choice-name">Authenticator app</span>`,
		`<input type="hidden" name="type" value="EMAIL">`+"\n"+`<button type="submit" class="choice" id="register-EMAIL"><span class="choice-name">Email</span><span class="choice-detail">Get a code at a*****@example.com</span></button>`,
	)
}
