package notify_test

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/outbound"
)

// provider is a real HTTPS endpoint standing for an SMS or voice
// gateway: it records every request and answers status.
type provider struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []recorded
	// status is what it answers (200 when 0).
	status int
}

type recorded struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   string
}

func newProvider(t *testing.T) *provider {
	p := &provider{}
	p.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		p.mu.Lock()
		p.got = append(p.got, recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), string(b)})
		status := p.status
		p.mu.Unlock()
		if status == 0 {
			status = http.StatusOK
		}
		w.WriteHeader(status)
		io.WriteString(w, `{"sid":"SM1","status":"queued"}`)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *provider) addr(t *testing.T) netip.AddrPort {
	ap, err := netip.ParseAddrPort(strings.TrimPrefix(p.srv.URL, "https://"))
	if err != nil {
		t.Fatal(err)
	}
	return ap
}

func (p *provider) pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.srv.Certificate())
	return pool
}

func (p *provider) requests() []recorded {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]recorded(nil), p.got...)
}

func newEnv(t *testing.T, s *apptest.Server) string {
	t.Helper()
	r := s.Do(t, apptest.Request{Method: "POST", URL: "/environments", Token: s.AdminToken(t),
		Body: map[string]any{"name": "Notify " + t.Name(), "type": "SANDBOX", "region": "NA", "license": map[string]any{"id": s.LicenseID(t)}}})
	if r.Status != http.StatusCreated {
		t.Fatalf("create environment: %d %s", r.Status, r.Body)
	}
	return r.JSON(t)["id"].(string)
}

func post(t *testing.T, s *apptest.Server, url string, body any) map[string]any {
	t.Helper()
	r := s.Do(t, apptest.Request{Method: "POST", URL: url, Token: s.AdminToken(t), Body: body})
	if r.Status != http.StatusCreated {
		t.Fatalf("POST %s: %d %s", url, r.Status, r.Body)
	}
	return r.JSON(t)
}

func otp(env, channel, to, code string) mfa.OTP {
	return mfa.OTP{EnvironmentID: env, UserID: "u1", Channel: channel, To: to, Template: mfa.PurposeAuthentication, Code: code,
		Vars: map[string]string{"user.username": "alice", "user.name.given": "Alice"}}
}

func TestDispatcher(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			p := newProvider(t)
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t), GuardOutbound: true, OutboundAllow: []netip.AddrPort{p.addr(t)},
				OutboundRootCAs: p.pool()})
			testDispatcher(t, s, p)
		})
	}
}

func testDispatcher(t *testing.T, s *apptest.Server, p *provider) {
	ctx := t.Context()
	env := newEnv(t, s)
	var logs bytes.Buffer
	mail := &notify.MemoryNotifier{}
	client := outbound.New(outbound.Options{Allow: []netip.AddrPort{p.addr(t)}, RootCAs: p.pool()})
	d := notify.NewDispatcher(config.New(s.Store, config.Options{}), s.Sealer, mail, client, slog.New(slog.NewTextHandler(&logs, nil)))

	// No phone delivery settings: SMS goes to the log, worded by the
	// predefined content.
	if err := d.SendOTP(ctx, otp(env, mfa.TypeSMS, "+15551230001", "481516")); err != nil {
		t.Fatalf("SMS to the log: %v", err)
	}
	if l := logs.String(); !strings.Contains(l, "code=481516") || !strings.Contains(l, `"Your sign-on passcode is 481516. Do not share it."`) {
		t.Errorf("the log sender wrote %q", l)
	}

	// Email through the notifier, predefined subject and body rendered.
	if err := d.SendOTP(ctx, otp(env, mfa.TypeEmail, "alice@example.com", "222333")); err != nil {
		t.Fatalf("email: %v", err)
	}
	m, ok := mail.Last("alice@example.com")
	if !ok || m.Subject != "Your sign-on passcode" || !strings.Contains(m.Text, "Hello alice,") || !strings.Contains(m.Text, ": 222333") ||
		m.Kind != "strong_authentication" || m.Code != "222333" || m.EnvironmentID != env || m.ContentType != "text/plain" {
		t.Errorf("email = %+v", m)
	}

	// A customised SMS content is used by the next send (the cache
	// forgets on the write), and a customised email content too.
	post(t, s, "/environments/"+env+"/templates/strong_authentication/contents",
		map[string]any{"locale": "en", "deliveryMethod": "SMS", "content": "Acme: ${otp} is the code for ${user.name.given} (${user.username}) ${unknown}."})
	post(t, s, "/environments/"+env+"/templates/strong_authentication/contents",
		map[string]any{"locale": "en", "deliveryMethod": "Email", "subject": "Acme code for ${user.username}", "body": "<p>Code: ${otp}</p>"})
	logs.Reset()
	if err := d.SendOTP(ctx, otp(env, mfa.TypeSMS, "+15551230001", "123456")); err != nil {
		t.Fatal(err)
	}
	if l := logs.String(); !strings.Contains(l, `"Acme: 123456 is the code for Alice (alice) ."`) {
		t.Errorf("customised SMS in the log: %q", l)
	}
	if err := d.SendOTP(ctx, otp(env, mfa.TypeEmail, "alice@example.com", "654321")); err != nil {
		t.Fatal(err)
	}
	if m, _ := mail.Last("alice@example.com"); m.Subject != "Acme code for alice" || m.Text != "<p>Code: 654321</p>" || m.ContentType != "text/html" {
		t.Errorf("customised email = %+v", m)
	}
	// A locale with its own content wins; one without falls back to en.
	post(t, s, "/environments/"+env+"/templates/strong_authentication/contents",
		map[string]any{"locale": "fr", "deliveryMethod": "SMS", "content": "Votre code : ${otp}"})
	for _, tc := range []struct{ locale, want string }{{"fr-CA", `"Votre code : 111111"`}, {"de", `"Acme: 111111 is the code`}} {
		logs.Reset()
		o := otp(env, mfa.TypeSMS, "+15551230001", "111111")
		o.Locale = tc.locale
		if err := d.SendOTP(ctx, o); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(logs.String(), tc.want) {
			t.Errorf("locale %s: log %q, want %s", tc.locale, logs.String(), tc.want)
		}
	}

	// A custom provider: POST with a JSON body and BASIC authentication
	// for SMS, GET with BEARER, NUMBER_ONLY and voice tags for VOICE.
	custom := post(t, s, "/environments/"+env+"/notificationsSettings/phoneDeliverySettings", map[string]any{
		"provider": "CUSTOM_PROVIDER", "name": "Gateway",
		"authentication": map[string]any{"method": "BASIC", "username": "acme", "password": "s3cret-pass"},
		"requests": []any{
			map[string]any{"deliveryMethod": "SMS", "method": "POST", "url": p.srv.URL + "/sms", "phoneNumberFormat": "FULL",
				"headers": map[string]any{"Content-Type": "application/json"},
				"body":    `{"to":"${to}","from":"${from}","message":"${message}","otp":"${otp}"}`},
			map[string]any{"deliveryMethod": "VOICE", "method": "GET", "phoneNumberFormat": "NUMBER_ONLY",
				"url": p.srv.URL + "/voice?to=${to}&message=${message}", "beforeTag": "<Say>", "afterTag": "</Say><Pause/>"},
		},
		"numbers": []any{map[string]any{"number": "+15550000001", "type": "PHONE_NUMBER", "capabilities": []any{"SMS", "VOICE"}, "selected": true}},
	})
	if err := d.SendOTP(ctx, otp(env, mfa.TypeSMS, "+15551230002", "777888")); err != nil {
		t.Fatalf("custom provider SMS: %v", err)
	}
	got := p.requests()
	if len(got) != 1 {
		t.Fatalf("provider got %d requests, want 1", len(got))
	}
	r := got[0]
	wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte("acme:s3cret-pass"))
	var body map[string]string
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
		t.Fatalf("provider body %q: %v", r.Body, err)
	}
	if r.Method != "POST" || r.Path != "/sms" || r.Header.Get("Authorization") != wantAuth || r.Header.Get("Content-Type") != "application/json" ||
		body["to"] != "+15551230002" || body["from"] != "+15550000001" || body["otp"] != "777888" ||
		body["message"] != "Acme: 777888 is the code for Alice (alice) ." {
		t.Errorf("provider got %+v (body %v)", r, body)
	}

	// Voice falls back to the predefined voice content; the provider's
	// tags wrap each digit.
	p.mu.Lock()
	p.got = nil
	p.mu.Unlock()
	if err := d.SendOTP(ctx, otp(env, mfa.TypeVoice, "+15551230003", "42")); err != nil {
		t.Fatalf("custom provider voice: %v", err)
	}
	got = p.requests()
	if len(got) != 1 {
		t.Fatalf("provider got %d voice requests", len(got))
	}
	q, _ := url.ParseQuery(got[0].RawQuery)
	wantMsg := "Hello. Your sign-on passcode is <Say>4</Say><Pause/><Say>2</Say><Pause/>. Again, your passcode is <Say>4</Say><Pause/><Say>2</Say><Pause/>."
	if got[0].Method != "GET" || got[0].Path != "/voice" || q.Get("to") != "15551230003" || q.Get("message") != wantMsg ||
		got[0].Header.Get("Authorization") != wantAuth {
		t.Errorf("voice request %+v, query %v", got[0], q)
	}

	// BEARER: the token in the Authorization header; a PUT that sends no
	// token keeps it.
	id := custom["id"].(string)
	bearer := map[string]any{
		"provider": "CUSTOM_PROVIDER", "name": "Gateway", "authentication": map[string]any{"method": "BEARER", "authToken": "tok-123"},
		"requests": []any{map[string]any{"deliveryMethod": "SMS", "method": "POST", "url": p.srv.URL + "/sms2",
			"headers": map[string]any{"content-type": "application/x-www-form-urlencoded"}, "body": "to=${to}&text=${message}"}},
	}
	put := func(body any) {
		t.Helper()
		r := s.Do(t, apptest.Request{Method: "PUT", URL: "/environments/" + env + "/notificationsSettings/phoneDeliverySettings/" + id,
			Token: s.AdminToken(t), Body: body})
		if r.Status != http.StatusOK {
			t.Fatalf("PUT: %d %s", r.Status, r.Body)
		}
	}
	put(bearer)
	delete(bearer["authentication"].(map[string]any), "authToken")
	put(bearer)
	p.mu.Lock()
	p.got = nil
	p.mu.Unlock()
	if err := d.SendOTP(ctx, otp(env, mfa.TypeSMS, "+15551230004", "909090")); err != nil {
		t.Fatalf("bearer SMS: %v", err)
	}
	got = p.requests()
	if len(got) != 1 || got[0].Header.Get("Authorization") != "Bearer tok-123" || got[0].Path != "/sms2" ||
		got[0].Body != "to=%2B15551230004&text=Acme%3A+909090+is+the+code+for+Alice+%28alice%29+." {
		t.Errorf("bearer request %+v", got)
	}
	// VOICE has no request in these settings any more: the log serves it.
	logs.Reset()
	if err := d.SendOTP(ctx, otp(env, mfa.TypeVoice, "+15551230004", "31")); err != nil || !strings.Contains(logs.String(), "code=31") {
		t.Errorf("voice without a provider request: %v, log %q", err, logs.String())
	}

	// A failing provider is a DeliveryError naming its status, never the
	// passcode or the credentials; nothing is retried.
	p.mu.Lock()
	p.got, p.status = nil, http.StatusServiceUnavailable
	p.mu.Unlock()
	err := d.SendOTP(ctx, otp(env, mfa.TypeSMS, "+15551230005", "565656"))
	var de *notify.DeliveryError
	if !errors.As(err, &de) || de.Status != http.StatusServiceUnavailable || de.Provider != "CUSTOM_PROVIDER" || de.Channel != "SMS" {
		t.Fatalf("failing provider: %v", err)
	}
	if msg := err.Error(); strings.Contains(msg, "565656") || strings.Contains(msg, "tok-123") {
		t.Errorf("the error names a secret: %s", msg)
	}
	if n := len(p.requests()); n != 1 {
		t.Errorf("the failing provider got %d requests, want 1 (no retries)", n)
	}
	p.mu.Lock()
	p.status = 0
	p.mu.Unlock()

	// The server's own Dispatcher (app wiring) sends through its guarded
	// client, which lets the provider's address through and no other.
	p.mu.Lock()
	p.got = nil
	p.mu.Unlock()
	if err := s.OTPSender.SendOTP(ctx, otp(env, mfa.TypeSMS, "+15551230006", "135790")); err != nil {
		t.Fatalf("the server's sender: %v", err)
	}
	if got := p.requests(); len(got) != 1 || !strings.Contains(got[0].Body, "135790") {
		t.Errorf("the server's sender: %+v", got)
	}
	r2 := s.Do(t, apptest.Request{Method: "PUT", URL: "/environments/" + env + "/notificationsSettings/phoneDeliverySettings/" + id,
		Token: s.AdminToken(t), Body: map[string]any{"provider": "CUSTOM_PROVIDER", "name": "Gateway",
			"authentication": map[string]any{"method": "BEARER"},
			"requests":       []any{map[string]any{"deliveryMethod": "SMS", "method": "GET", "url": "https://127.0.0.1:1/?to=${to}&m=${message}"}}}})
	if r2.Status != http.StatusOK {
		t.Fatalf("PUT to a refused address: %d %s", r2.Status, r2.Body)
	}
	err = s.OTPSender.SendOTP(ctx, otp(env, mfa.TypeSMS, "+15551230006", "135790"))
	if !errors.As(err, &de) || de.Status != 0 || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("a provider at a refused address: %v", err)
	}

	// Twilio: the Messages API with the account's number, basic auth of
	// the sid and token; a voice call says the text in TwiML.
	s.Do(t, apptest.Request{Method: "DELETE", URL: "/environments/" + env + "/notificationsSettings/phoneDeliverySettings/" + id, Token: s.AdminToken(t)})
	post(t, s, "/environments/"+env+"/notificationsSettings/phoneDeliverySettings", map[string]any{
		"provider": "CUSTOM_TWILIO", "sid": "AC0123456789", "authToken": "twilio-token",
		"numbers": []any{map[string]any{"number": "+15550009999", "type": "PHONE_NUMBER", "capabilities": []any{"SMS", "VOICE"}, "selected": true}},
	})
	d.TwilioBaseURL = p.srv.URL
	p.mu.Lock()
	p.got = nil
	p.mu.Unlock()
	if err := d.SendOTP(ctx, otp(env, mfa.TypeSMS, "+15551230007", "246810")); err != nil {
		t.Fatalf("twilio SMS: %v", err)
	}
	if err := d.SendOTP(ctx, otp(env, mfa.TypeVoice, "+15551230007", "99")); err != nil {
		t.Fatalf("twilio voice: %v", err)
	}
	got = p.requests()
	twAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte("AC0123456789:twilio-token"))
	if len(got) != 2 {
		t.Fatalf("twilio got %d requests", len(got))
	}
	f, _ := url.ParseQuery(got[0].Body)
	if got[0].Path != "/2010-04-01/Accounts/AC0123456789/Messages.json" || got[0].Header.Get("Authorization") != twAuth ||
		f.Get("To") != "+15551230007" || f.Get("From") != "+15550009999" || f.Get("Body") != "Acme: 246810 is the code for Alice (alice) ." {
		t.Errorf("twilio message %+v", got[0])
	}
	f, _ = url.ParseQuery(got[1].Body)
	if got[1].Path != "/2010-04-01/Accounts/AC0123456789/Calls.json" ||
		f.Get("Twiml") != `<Response><Say voice="alice">Hello. Your sign-on passcode is 99. Again, your passcode is 99.</Say></Response>` {
		t.Errorf("twilio call %+v", got[1])
	}
}
