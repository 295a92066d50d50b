package signon_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/fido"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/signon"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// The script's WebAuthn half against the WebAuthn domain (internal/fido),
// without a flow: a page with the passkey form the templates render,
// served with the real script, whose answers a stand-in for the flow API
// verifies with fido.Service. It pins what the script does with
// PingOne's options (signed byte arrays) and what it sends back
// (base64url members, the user handle, the compatibility), and that it
// takes fresh options after a refusal.

// ceremonyPage is the stand-in: one user's ceremonies, one at a time.
type ceremonyPage struct {
	t    *testing.T
	base string // http://localhost:port
	svc  *fido.Service
	st   store.Store
	user *store.User
	pol  *fido.Policy
	rp   fido.RP

	mu      sync.Mutex
	sess    *fido.Session
	options string
	refuse  int              // answers to refuse before verifying
	vanish  bool             // refuse the next answer: the selected device went away
	device  *store.MFADevice // registered, then asserted
	bodies  []map[string]any // what the script posted
	proved  *store.MFADevice // the last verified assertion's device
	failed  error            // the last refusal of the domain
}

func newCeremonyPage(t *testing.T, dsn string) *ceremonyPage {
	t.Helper()
	s := apptest.Start(t, apptest.Options{DSN: dsn})
	fx := s.NewSignOn(t, apptest.SignOnOptions{})
	u, err := s.Store.GetUser(context.Background(), fx.EnvID, fx.UserID)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Chromium reaches localhost on the loopback address: a domain name,
	// which WebAuthn needs.
	base := "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	pol := &fido.Policy{ResidentKey: fido.Required, UserVerification: fido.Required, EnforceUV: true,
		Attestation: fido.AttestationNone, Attachment: fido.AttachmentBoth, BackupAllowed: true, Timeout: time.Minute}
	rp, err := fido.NewRP(base, pol, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	p := &ceremonyPage{t: t, base: base, svc: &fido.Service{Store: s.Store}, st: s.Store, user: u, pol: pol, rp: rp}
	pages := http.NewServeMux()
	signon.New(nil, nil, nil, session.Cookies{}, nil).Routes(pages)
	mux := http.NewServeMux()
	mux.Handle("GET /env/signon/assets/", pages)
	mux.HandleFunc("GET /page/{kind}", p.page)
	mux.HandleFunc("GET /flow", p.flow)
	mux.HandleFunc("POST /flow", p.answer)
	mux.HandleFunc("GET /done", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>done</title><main id="done"></main>`)
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return p
}

// begin starts a ceremony: create, get (of the user's device) or
// discover (any passkey).
func (p *ceremonyPage) begin(kind string) error {
	ctx := context.Background()
	var opts json.RawMessage
	var sess *fido.Session
	var err error
	switch kind {
	case "create":
		opts, sess, err = p.svc.BeginRegistration(ctx, p.user, nil, p.pol, p.rp)
	case "get":
		opts, sess, err = p.svc.BeginAssertion(ctx, p.user, []store.MFADevice{*p.device}, p.pol, p.rp)
	case "discover":
		opts, sess, err = p.svc.BeginAssertion(ctx, nil, nil, p.pol, p.rp)
	default:
		err = errors.New("no such ceremony")
	}
	if err != nil {
		return err
	}
	p.sess, p.options = sess, string(opts)
	return nil
}

func (p *ceremonyPage) page(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	kind := r.PathValue("kind")
	if err := p.begin(kind); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	action, webauthn := "assertion.check", "get"
	if kind == "create" {
		action, webauthn = "device.activate", "create"
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Passkey</title>
<script src="/env/signon/assets/signon.js" defer></script></head><body>
<main data-status="TEST" data-flow="/flow" data-resume="/done">
<div id="error" class="error" role="alert" tabindex="-1" hidden></div>
<form data-action="%s" data-webauthn="%s" data-options="%s" id="passkey-form"><button type="submit" class="primary" id="passkey">Go</button></form>
<p id="passkey-status" class="hint" aria-live="polite"></p>
</main></body></html>`, action, webauthn, html.EscapeString(p.options))
}

// flow is the flow's GET: the fresh options the script reads after a
// refusal.
func (p *ceremonyPage) flow(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"status": "TEST", "publicKeyCredentialRequestOptions": p.options})
}

func (p *ceremonyPage) answer(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	body["contentType"] = r.Header.Get("Content-Type")
	p.bodies = append(p.bodies, body)
	origin, _ := body["origin"].(string)
	ctx := context.Background()
	w.Header().Set("Content-Type", "application/json")
	if p.vanish {
		// As the flow says it, once it has gone back to device selection.
		p.vanish = false
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"id":"e0","code":"INVALID_DATA","message":"refused","details":[{"code":"INVALID_VALUE","target":"device.id","message":"The device is not one of the user's devices that this sign-on accepts. Select a device again."}]}`)
		return
	}
	if p.refuse > 0 {
		// Refused as the flow refuses a wrong assertion: with a fresh
		// challenge for the next try.
		p.refuse--
		if err := p.begin("get"); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"id":"e1","code":"INVALID_DATA","message":"refused","details":[{"code":"INVALID_VALUE","target":"assertion","message":"The assertion was refused.","innerError":{"failuresRemaining":2}}]}`)
		return
	}
	var err error
	switch r.Header.Get("Content-Type") {
	case "application/vnd.pingidentity.device.activate+json":
		att, _ := body["attestation"].(string)
		now := time.Now().UTC()
		d := &store.MFADevice{ID: uuid.NewString(), EnvironmentID: p.user.EnvironmentID, UserID: p.user.ID, Type: fido.DeviceType,
			Status: "ACTIVATION_REQUIRED", CreatedAt: now, UpdatedAt: now}
		if err = p.svc.FinishRegistration(ctx, p.user, d, p.sess, origin, []byte(att), p.pol, p.rp); err == nil {
			err = p.st.CreateMFADevice(ctx, d)
			p.device = d
		}
	case "application/vnd.pingidentity.assertion.check+json":
		as, _ := body["assertion"].(string)
		p.proved, err = p.svc.FinishAssertion(ctx, p.user.EnvironmentID, p.sess, origin, []byte(as), p.pol, p.rp)
	default:
		err = errors.New("unexpected media type " + r.Header.Get("Content-Type"))
	}
	if err != nil {
		p.failed = err
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"id":"e2","code":"INVALID_DATA","message":"refused","details":[{"code":"INVALID_VALUE","target":"x","message":"The answer was refused."}]}`)
		return
	}
	fmt.Fprint(w, `{"status":"COMPLETED","resumeUrl":"/done"}`)
}

// last is the newest body the script posted, with its credential
// decoded.
func (p *ceremonyPage) last(t *testing.T, member string) (body, cred map[string]any) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.bodies) == 0 {
		t.Fatal("the script posted nothing")
	}
	body = p.bodies[len(p.bodies)-1]
	s, ok := body[member].(string)
	if !ok || json.Unmarshal([]byte(s), &cred) != nil {
		t.Fatalf("the script's %s is not a JSON string: %v", member, body[member])
	}
	return body, cred
}

// done waits for the page to go to resumeUrl, failing with the domain's
// refusal if it did not.
func (p *ceremonyPage) done(b *browser) {
	b.T.Helper()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		if ok := eval[bool](b, `document.readyState === 'complete' && document.querySelector('#done') !== null`); ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	b.Fail("the ceremony did not complete (the domain said: %v)", p.failed)
}

var b64url = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func TestBrowserWebAuthnScript(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			p := newCeremonyPage(t, be.DSN(t))
			b := newBrowser(t, desktop)
			a := b.addAuthenticator(platformPasskey)

			// Registration: PingOne's options in, the attestation out.
			b.Navigate(p.base + "/page/create")
			b.WaitFor("the script", `document.readyState === 'complete'`)
			b.Do("create", chromedp.Click(chromedp.CSS("#passkey")))
			p.done(b)
			body, cred := p.last(t, "attestation")
			if body["origin"] != p.base || body["contentType"] != "application/vnd.pingidentity.device.activate+json" {
				t.Errorf("the activation posted origin %v with %v", body["origin"], body["contentType"])
			}
			if _, ok := body["compatibility"]; ok {
				t.Errorf("the activation sent a compatibility: %v", body)
			}
			resp, _ := cred["response"].(map[string]any)
			for _, v := range []any{cred["id"], cred["rawId"], resp["clientDataJSON"], resp["attestationObject"]} {
				if s, _ := v.(string); !b64url.MatchString(s) {
					t.Errorf("the attestation holds %v: want base64url without padding (%v)", v, cred)
				}
			}
			if cred["id"] != cred["rawId"] || cred["type"] != "public-key" || cred["authenticatorAttachment"] != "platform" {
				t.Errorf("the attestation: %v", cred)
			}
			if _, ok := cred["clientExtensionResults"].(map[string]any); !ok {
				t.Errorf("the attestation has no clientExtensionResults: %v", cred)
			}
			if p.device == nil || p.device.Status != "ACTIVE" || p.device.CredentialID != cred["id"] {
				t.Fatalf("the domain registered %+v", p.device)
			}
			if got := a.only(); base64.RawURLEncoding.EncodeToString(got.CredentialID) != p.device.CredentialID {
				t.Errorf("the authenticator holds another credential than the one registered")
			}

			// An assertion of the user's device, refused once by the
			// server: the page says so, reads fresh options, and the next
			// try (the fresh challenge) verifies.
			p.mu.Lock()
			p.refuse = 1
			p.mu.Unlock()
			b.Navigate(p.base + "/page/get")
			b.WaitFor("the script", `document.readyState === 'complete'`)
			stale := eval[string](b, `document.querySelector('#passkey-form').dataset.options`)
			b.Do("use the passkey", chromedp.Click(chromedp.CSS("#passkey")))
			msg := showsError(t, b)
			if want := "That passkey or security key was not accepted. 2 attempts left before verification is locked."; msg != want {
				t.Errorf("a refused assertion: the page says %q, want %q", msg, want)
			}
			b.WaitFor("fresh options", `document.querySelector('#passkey-form').dataset.options !== `+q(stale))
			b.Do("use the passkey again", chromedp.Click(chromedp.CSS("#passkey")))
			p.done(b)
			body, cred = p.last(t, "assertion")
			resp, _ = cred["response"].(map[string]any)
			for _, v := range []any{resp["authenticatorData"], resp["signature"], resp["clientDataJSON"]} {
				if s, _ := v.(string); !b64url.MatchString(s) {
					t.Errorf("the assertion holds %v: want base64url without padding", v)
				}
			}
			// A platform authenticator that verifies the user is there.
			if body["compatibility"] != "FULL" || body["contentType"] != "application/vnd.pingidentity.assertion.check+json" {
				t.Errorf("the assertion posted compatibility %v with %v", body["compatibility"], body["contentType"])
			}
			if p.proved == nil || p.proved.ID != p.device.ID {
				t.Errorf("the domain proved %+v, want the registered device", p.proved)
			}

			// A discoverable assertion: the user handle names the user.
			b.Navigate(p.base + "/page/discover")
			b.WaitFor("the script", `document.readyState === 'complete'`)
			b.Do("sign on with the passkey", chromedp.Click(chromedp.CSS("#passkey")))
			p.done(b)
			_, cred = p.last(t, "assertion")
			resp, _ = cred["response"].(map[string]any)
			if uh, _ := resp["userHandle"].(string); uh != base64.RawURLEncoding.EncodeToString([]byte(p.user.ID)) {
				t.Errorf("the discoverable assertion's userHandle is %q, want the user's id", uh)
			}
			if p.proved == nil || p.proved.UserID != p.user.ID {
				t.Errorf("the discoverable assertion proved %+v", p.proved)
			}

			// Two clicks are one prompt and one answer (the browser's
			// calls are counted where the page after keeps them).
			p.mu.Lock()
			posts := len(p.bodies)
			p.mu.Unlock()
			b.Navigate(p.base + "/page/discover")
			b.WaitFor("the script", `document.readyState === 'complete'`)
			eval[string](b, `(function () {
				var get = navigator.credentials.get.bind(navigator.credentials);
				navigator.credentials.get = function (o) { sessionStorage.calls = Number(sessionStorage.calls || 0) + 1; return get(o); };
				var f = document.querySelector('#passkey-form');
				f.requestSubmit(); f.requestSubmit();
				return '';
			})()`)
			p.done(b)
			p.mu.Lock()
			posts = len(p.bodies) - posts
			p.mu.Unlock()
			if calls := eval[string](b, `sessionStorage.calls || '0'`); calls != "1" || posts != 1 {
				t.Errorf("two clicks: %s browser requests and %d answers, want one of each", calls, posts)
			}

			// The selected device went away as the user answered: the
			// page reloads into the flow's next screen, which says why,
			// once.
			p.mu.Lock()
			p.vanish = true
			p.mu.Unlock()
			b.Navigate(p.base + "/page/get")
			b.WaitFor("the script", `document.readyState === 'complete'`)
			eval[string](b, `window.before = true; ''`)
			b.Do("use the passkey", chromedp.Click(chromedp.CSS("#passkey")))
			b.WaitFor("the next screen with the reason", `window.before === undefined && document.readyState === 'complete' && !document.querySelector('#error').hidden`)
			if msg := b.text("#error"); msg != "That device cannot be used now. Choose another one, or start over." {
				t.Errorf("after the device went away the page says %q", msg)
			}
			if f := b.focused(); f != "error" {
				t.Errorf("the reason does not take the focus: %q has it", f)
			}
			b.Navigate(p.base + "/page/get")
			b.WaitFor("the script", `document.readyState === 'complete'`)
			noError(t, b)
		})
	}
}
