package authsvc_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// sessionRP is a relying party of a sign-on fixture, on a test clock: its
// browser, its OAuth configuration and what it was last issued.
type sessionRP struct {
	s        *apptest.Server
	fx       *apptest.SignOn
	clock    *flowClock
	provider *oidc.Provider
	conf     oauth2.Config
	browser  *http.Client
	tok      *oauth2.Token
	sid      string
}

func newSessionRP(t *testing.T, dsn string) *sessionRP {
	t.Helper()
	clk := &flowClock{}
	s := apptest.Start(t, apptest.Options{DSN: dsn, FlowClock: clk.Now})
	fx := s.NewSignOn(t, apptest.SignOnOptions{})
	provider, err := oidc.NewProvider(context.Background(), s.URL+"/"+fx.EnvID+"/as")
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return &sessionRP{s: s, fx: fx, clock: clk, provider: provider, browser: browser(t),
		conf: oauth2.Config{ClientID: fx.AppID, ClientSecret: fx.AppSecret, Endpoint: provider.Endpoint(),
			RedirectURL: fx.RedirectURI, Scopes: []string{oidc.ScopeOpenID, "profile", "email"}}}
}

// settings sets the environment's session settings.
func (rp *sessionRP) settings(t *testing.T, idle, max int) {
	t.Helper()
	r := rp.s.Do(t, apptest.Request{Method: "PUT", URL: "/environments/" + rp.fx.EnvID + "/sessionSettings", Token: rp.s.AdminToken(t),
		Body: map[string]any{"idleTimeoutInMinutes": idle, "maxLifetimeInMinutes": max}})
	if r.Status != http.StatusOK {
		t.Fatalf("session settings: %d %s", r.Status, r.Body)
	}
}

// authorize starts a pi.flow authorization in the browser with extra
// parameters and answers the hop.
func (rp *sessionRP) authorize(t *testing.T, verifier string, kv ...string) *hop {
	t.Helper()
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("response_mode", "pi.flow")}
	for i := 0; i+1 < len(kv); i += 2 {
		opts = append(opts, oauth2.SetAuthURLParam(kv[i], kv[i+1]))
	}
	return call(t, rp.browser, "GET", rp.conf.AuthCodeURL("st", opts...), "", "")
}

// exchange redeems the code of a completed flow's resume.
func (rp *sessionRP) exchange(t *testing.T, resumeURL, verifier string) {
	t.Helper()
	h := call(t, rp.browser, "GET", resumeURL, "", "")
	wantStatus(t, h, http.StatusOK)
	code := h.json(t)["authorizeResponse"].(map[string]any)["code"].(string)
	tok, err := rp.conf.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	rp.tok = tok
}

// signOn signs the fixture's user on with a password and redeems the code.
func (rp *sessionRP) signOn(t *testing.T) {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	h := rp.authorize(t, verifier)
	wantStatus(t, h, http.StatusOK)
	fl := h.json(t)
	check := fl["_links"].(map[string]any)["usernamePassword.check"].(map[string]any)["href"].(string)
	h = call(t, rp.browser, "POST", check, ctUsernamePassword, `{"username":"`+rp.fx.Username+`","password":"`+rp.fx.Password+`"}`)
	wantStatus(t, h, http.StatusOK)
	done := h.json(t)
	if done["status"] != "COMPLETED" {
		t.Fatalf("sign-on: %s", h.body)
	}
	rp.sid = done["session"].(map[string]any)["id"].(string)
	rp.exchange(t, done["resumeUrl"].(string), verifier)
}

// silent is prompt=none: "" when it signs on silently (and the code is
// redeemed), else the OAuth error.
func (rp *sessionRP) silent(t *testing.T) string {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	h := rp.authorize(t, verifier, "prompt", "none")
	if h.status != http.StatusOK {
		e, _ := h.json(t)["error"].(string)
		return e
	}
	fl := h.json(t)
	if fl["status"] != "COMPLETED" {
		t.Fatalf("prompt=none: %s", h.body)
	}
	rp.exchange(t, fl["resumeUrl"].(string), verifier)
	return ""
}

// userinfo answers userinfo's status for the current access token.
func (rp *sessionRP) userinfo(t *testing.T) int {
	t.Helper()
	req, _ := http.NewRequest("GET", rp.s.URL+"/"+rp.fx.EnvID+"/as/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+rp.tok.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized && !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("userinfo refusal: %v", resp.Header)
	}
	return resp.StatusCode
}

// refresh answers the OAuth error of a refresh ("" when it works).
func (rp *sessionRP) refresh(t *testing.T) string {
	t.Helper()
	old := *rp.tok
	old.Expiry = time.Now().Add(-time.Hour) // force the refresh
	tok, err := rp.conf.TokenSource(context.Background(), &old).Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if ok := asRetrieve(err, &re); ok {
			return re.ErrorCode
		}
		t.Fatalf("refresh: %v", err)
	}
	rp.tok = tok
	return ""
}

func asRetrieve(err error, re **oauth2.RetrieveError) bool {
	r, ok := err.(*oauth2.RetrieveError)
	if ok {
		*re = r
	}
	return ok
}

// TestSessionIdleTimeout: a session used within its idle timeout lives on
// (a silent sign-on, userinfo and a refresh each start it over); one left
// idle ends: prompt=none answers login_required, userinfo refuses its
// access token and its refresh token is refused (PingOne judges refresh
// tokens by their session).
func TestSessionIdleTimeout(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			rp := newSessionRP(t, be.DSN(t))
			rp.settings(t, 10, 60)
			rp.signOn(t)

			rp.clock.Advance(6 * time.Minute)
			if e := rp.silent(t); e != "" {
				t.Fatalf("prompt=none 6 minutes after the sign-on: %s", e)
			}
			rp.clock.Advance(6 * time.Minute) // 12 minutes in: alive thanks to the silent sign-on
			if got := rp.userinfo(t); got != http.StatusOK {
				t.Fatalf("userinfo 6 minutes after the silent sign-on: %d", got)
			}
			rp.clock.Advance(6 * time.Minute) // 18: alive thanks to userinfo
			if e := rp.refresh(t); e != "" {
				t.Fatalf("refresh 6 minutes after userinfo: %s", e)
			}
			rp.clock.Advance(6 * time.Minute) // 24: alive thanks to the refresh
			if got := rp.userinfo(t); got != http.StatusOK {
				t.Fatalf("userinfo 6 minutes after the refresh: %d", got)
			}

			rp.clock.Advance(11 * time.Minute) // idle for 11 minutes
			if got := rp.userinfo(t); got != http.StatusUnauthorized {
				t.Errorf("userinfo after the idle timeout: %d, want 401", got)
			}
			if e := rp.silent(t); e != "login_required" {
				t.Errorf("prompt=none after the idle timeout: %q, want login_required", e)
			}
			if e := rp.refresh(t); e != "invalid_grant" {
				t.Errorf("refresh after the idle timeout: %q, want invalid_grant", e)
			}
			// The user signs on again in the same browser: a new session,
			// all works again, and the ended session stays ended: its
			// refresh token and access token are not revived.
			oldTok, oldSID := rp.tok, rp.sid
			rp.signOn(t)
			if got := rp.userinfo(t); got != http.StatusOK {
				t.Errorf("userinfo after signing on again: %d", got)
			}
			if rp.sid == oldSID {
				t.Errorf("signing on after the idle timeout renewed the ended session %s", oldSID)
			}
			newTok := rp.tok
			rp.tok = oldTok
			if got := rp.userinfo(t); got != http.StatusUnauthorized {
				t.Errorf("userinfo with the ended session's access token after a new sign-on: %d, want 401", got)
			}
			if e := rp.refresh(t); e != "invalid_grant" {
				t.Errorf("refresh of the ended session's token after a new sign-on: %q, want invalid_grant", e)
			}
			rp.tok = newTok
		})
	}
}

// TestSessionMaxLifetime: a session in constant use still ends at its
// maximum lifetime after the sign-on.
func TestSessionMaxLifetime(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			rp := newSessionRP(t, be.DSN(t))
			rp.settings(t, 10, 15)
			rp.signOn(t)
			for i := 0; i < 2; i++ {
				rp.clock.Advance(7 * time.Minute)
				if got := rp.userinfo(t); got != http.StatusOK {
					t.Fatalf("userinfo at %d minutes: %d", 7*(i+1), got)
				}
			}
			rp.clock.Advance(2 * time.Minute) // 16 minutes after the sign-on, used 2 minutes ago
			if got := rp.userinfo(t); got != http.StatusUnauthorized {
				t.Errorf("userinfo past the maximum lifetime: %d, want 401", got)
			}
			if e := rp.silent(t); e != "login_required" {
				t.Errorf("prompt=none past the maximum lifetime: %q, want login_required", e)
			}
		})
	}
}

// TestSessionEndedThroughAPI: an administrator ends a user's session with
// PingOne's user sessions API: its SSO ends, its access token is refused
// at userinfo, its refresh token at the token endpoint; the user's other
// session (another browser) lives on.
func TestSessionEndedThroughAPI(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			rp := newSessionRP(t, be.DSN(t))
			other := *rp
			other.browser = browser(t)
			rp.signOn(t)
			other.signOn(t)
			if rp.sid == other.sid {
				t.Fatal("two browsers share a session")
			}
			admin := rp.s.AdminToken(t)
			sessions := "/environments/" + rp.fx.EnvID + "/users/" + rp.fx.UserID + "/sessions"
			l := rp.s.Do(t, apptest.Request{Method: "GET", URL: sessions, Token: admin})
			if l.Status != http.StatusOK || l.JSON(t)["count"] != float64(2) {
				t.Fatalf("sessions: %d %s", l.Status, l.Body)
			}
			if r := rp.s.Do(t, apptest.Request{Method: "DELETE", URL: sessions + "/" + rp.sid, Token: admin}); r.Status != http.StatusNoContent {
				t.Fatalf("DELETE session: %d %s", r.Status, r.Body)
			}
			if got := rp.userinfo(t); got != http.StatusUnauthorized {
				t.Errorf("userinfo after the session ended: %d, want 401", got)
			}
			if e := rp.refresh(t); e != "invalid_grant" {
				t.Errorf("refresh after the session ended: %q, want invalid_grant", e)
			}
			if e := rp.silent(t); e != "login_required" {
				t.Errorf("prompt=none after the session ended: %q, want login_required", e)
			}
			if got := other.userinfo(t); got != http.StatusOK {
				t.Errorf("the other session's userinfo: %d", got)
			}
			if e := other.silent(t); e != "" {
				t.Errorf("the other session's prompt=none: %q", e)
			}
		})
	}
}
