package authsvc_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// termsAgreement makes an enabled agreement in x's environment with an
// English language and a first revision in force: their ids.
func termsAgreement(t *testing.T, x *mfaFixture, reconsentDays float64) (agreementID, languageID, revisionID string) {
	t.Helper()
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Millisecond)
	data := json.RawMessage(`{}`)
	if reconsentDays > 0 {
		data, _ = json.Marshal(map[string]any{"reconsentPeriodDays": reconsentDays})
	}
	a := &store.Agreement{ID: uuid.NewString(), EnvironmentID: x.fx.EnvID, Name: "Terms", Enabled: true, Data: data, CreatedAt: now, UpdatedAt: now}
	if err := x.s.Store.CreateAgreement(ctx, a); err != nil {
		t.Fatal(err)
	}
	l := &store.AgreementLanguage{ID: uuid.NewString(), EnvironmentID: x.fx.EnvID, AgreementID: a.ID, Locale: "en", Enabled: true,
		Data: json.RawMessage(`{"displayName":"Terms of Service"}`), CreatedAt: now, UpdatedAt: now}
	if err := x.s.Store.CreateAgreementLanguage(ctx, l); err != nil {
		t.Fatal(err)
	}
	return a.ID, l.ID, revise(t, x, a.ID, l.ID, now.Add(-time.Hour), false, "<p>Terms, <b>first</b> edition.</p>")
}

// revise adds a revision of the agreement language, in force from at.
func revise(t *testing.T, x *mfaFixture, agreementID, languageID string, at time.Time, reconsent bool, text string) string {
	t.Helper()
	r := &store.AgreementRevision{ID: uuid.NewString(), EnvironmentID: x.fx.EnvID, AgreementID: agreementID, LanguageID: languageID,
		EffectiveAt: at.UTC().Truncate(time.Millisecond), ContentType: "text/html", RequireReconsent: reconsent, Text: text, CreatedAt: time.Now().UTC()}
	if err := x.s.Store.CreateAgreementRevision(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	return r.ID
}

func agreementAction(id string, disableDecline bool) map[string]any {
	return map[string]any{"type": "AGREEMENT", "agreement": map[string]any{"id": id}, "disableDeclineOption": disableDecline}
}

// newAgreementFixture is newActionsFixture with LOGIN then AGREEMENT of a
// new agreement (see termsAgreement).
func newAgreementFixture(t *testing.T, dsn string, disableDecline bool) (x *mfaFixture, agreementID, languageID, revisionID string) {
	t.Helper()
	x = newActionsFixture(t, dsn)
	agreementID, languageID, revisionID = termsAgreement(t, x, 0)
	act := agreementAction(agreementID, disableDecline)
	act["priority"] = 2
	r := x.s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + x.fx.EnvID + "/signOnPolicies/" + x.mfaPolID + "/actions", Token: x.admin, Body: act})
	if r.Status != http.StatusCreated {
		t.Fatalf("action: %d %s", r.Status, r.Body)
	}
	return x, agreementID, languageID, revisionID
}

// consent is the user's consent to the agreement as the store keeps it
// (nil: none).
func (x *mfaFixture) consent(t *testing.T, agreementID string) *store.AgreementConsent {
	t.Helper()
	c, err := x.s.Store.GetAgreementConsent(t.Context(), x.fx.EnvID, x.fx.UserID, agreementID)
	if err != nil && err != store.ErrNotFound {
		t.Fatal(err)
	}
	return c
}

// consentAPI is the user's consent state for the agreement as the
// management API reports it (…/users/{id}/agreementConsents/{agreementId}).
func (x *mfaFixture) consentAPI(t *testing.T, agreementID string) map[string]any {
	t.Helper()
	r := x.s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + x.fx.EnvID + "/users/" + x.fx.UserID + "/agreementConsents/" + agreementID, Token: x.admin})
	if r.Status != http.StatusOK {
		t.Fatalf("agreementConsents: %d %s", r.Status, r.Body)
	}
	return r.JSON(t)
}

func revisionOf(c map[string]any) any {
	lc, _ := c["lastConsent"].(map[string]any)
	rev, _ := lc["revision"].(map[string]any)
	return rev["id"]
}

// TestAgreementConsent is the acceptance path: after the password
// the flow shows the agreement's current revision (AGREEMENT_CONSENT_
// REQUIRED, _embedded.agreement with the agreement, language and revision
// ids and the text, user.consent), refuses a body without a boolean
// accept, records the consent on accept and completes; the next sign-on
// passes, a new revision that requires consent again asks again (and its
// acceptance is recorded), and one that does not require it passes.
func TestAgreementConsent(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x, agID, langID, rev1 := newAgreementFixture(t, be.DSN(t), false)
			f := x.signOn(t, x.fx.Username)
			if f.status() != "AGREEMENT_CONSENT_REQUIRED" || !slices.Equal(f.links(), []string{"session.reset", "user.consent"}) {
				t.Fatalf("after the password: %s %v", f.status(), f.links())
			}
			want := map[string]any{"id": agID, "name": "Terms of Service", "language": map[string]any{"id": langID}, "locale": "en",
				"revision": map[string]any{"id": rev1}, "contentType": "text/html", "text": "<p>Terms, <b>first</b> edition.</p>", "declineAllowed": true}
			if got := embedded(f)["agreement"]; !reflect.DeepEqual(got, want) {
				t.Errorf("_embedded.agreement %v\nwant %v", got, want)
			}
			if u, _ := embedded(f)["user"].(map[string]any); u["id"] != x.fx.UserID {
				t.Errorf("_embedded.user %v", embedded(f)["user"])
			}
			for _, c := range []struct{ body, code string }{
				{`{}`, "REQUIRED_VALUE"}, {`{"accept":null}`, "REQUIRED_VALUE"}, {`{"accept":"yes"}`, "INVALID_VALUE"}, {`{"accept":1}`, "INVALID_VALUE"},
			} {
				wantDetail(t, f.post(t, "user.consent", c.body, http.StatusBadRequest), c.code, "accept")
			}
			if c := x.consent(t, agID); c != nil {
				t.Fatalf("a refused body recorded %+v", c)
			}
			before := time.Now().Add(-time.Second)
			f.post(t, "user.consent", `{"accept":true}`, http.StatusOK)
			if f.status() != "COMPLETED" {
				t.Fatalf("after accepting: %s", f.status())
			}
			c := x.consent(t, agID)
			if c == nil || c.RevisionID != rev1 || c.LanguageID != langID || c.ConsentedAt.Before(before) || !c.ExpiresAt.IsZero() {
				t.Fatalf("consent %+v", c)
			}
			if api := x.consentAPI(t, agID); api["status"] != "ACCEPTED" || revisionOf(api) != rev1 {
				t.Errorf("agreementConsents: %v", api)
			}
			if id, _ := f.tokens(t); id["sub"] != x.fx.UserID {
				t.Errorf("sub %v", id["sub"])
			}

			if g := f.again(t); g.status() != "COMPLETED" {
				t.Errorf("consent holds: %s", g.status())
			}
			rev2 := revise(t, x, agID, langID, time.Now().Add(-time.Second), true, "Terms, second edition.")
			if api := x.consentAPI(t, agID); api["status"] != "PENDING" {
				t.Errorf("agreementConsents after a revision requiring consent: %v", api)
			}
			g := f.again(t)
			if g.status() != "AGREEMENT_CONSENT_REQUIRED" {
				t.Fatalf("a revision requiring consent: %s", g.status())
			}
			if a := embedded(g)["agreement"].(map[string]any); a["revision"].(map[string]any)["id"] != rev2 || a["text"] != "Terms, second edition." {
				t.Errorf("second revision shown as %v", a)
			}
			g.post(t, "user.consent", `{"accept":true}`, http.StatusOK)
			if c := x.consent(t, agID); g.status() != "COMPLETED" || c == nil || c.RevisionID != rev2 {
				t.Fatalf("after accepting again: %s %+v", g.status(), c)
			}
			if api := x.consentAPI(t, agID); api["status"] != "ACCEPTED" || revisionOf(api) != rev2 {
				t.Errorf("agreementConsents after accepting again: %v", api)
			}
			revise(t, x, agID, langID, time.Now().Add(-time.Millisecond*500), false, "Terms, typo fixed.")
			if h := f.again(t); h.status() != "COMPLETED" {
				t.Errorf("a revision without reconsent: %s", h.status())
			}
			// An administrator revokes the consent: the next sign-on asks.
			r := x.s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + x.fx.EnvID + "/users/" + x.fx.UserID + "/agreementConsents/" + agID,
				Token: x.admin, ContentType: "application/vnd.pingidentity.consent.revoke+json", Body: map[string]any{}})
			if r.Status != http.StatusOK {
				t.Fatalf("revoke: %d %s", r.Status, r.Body)
			}
			if h := f.again(t); h.status() != "AGREEMENT_CONSENT_REQUIRED" {
				t.Errorf("after a revocation: %s", h.status())
			}
		})
	}
}

// TestAgreementDecline: declining fails the flow (resume reports
// access_denied) and records nothing; with disableDeclineOption the flow
// does not offer to decline and refuses a refusal, still waiting for the
// user's consent.
func TestAgreementDecline(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x, agID, _, _ := newAgreementFixture(t, be.DSN(t), false)
			f := x.signOn(t, x.fx.Username)
			f.post(t, "user.consent", `{"accept":false}`, http.StatusOK)
			if f.status() != "FAILED" {
				t.Fatalf("after declining: %s", f.status())
			}
			h := call(t, f.c, "GET", f.last["resumeUrl"].(string), "", "")
			if !strings.Contains(string(h.body)+h.header.Get("Location"), "access_denied") {
				t.Errorf("resume: %d %s %s", h.status, h.header.Get("Location"), h.body)
			}
			if c := x.consent(t, agID); c != nil {
				t.Errorf("declining recorded %+v", c)
			}

			y, agY, _, _ := newAgreementFixture(t, be.DSN(t), true)
			g := y.signOn(t, y.fx.Username)
			if a := embedded(g)["agreement"].(map[string]any); a["declineAllowed"] != false {
				t.Errorf("declineAllowed %v", a["declineAllowed"])
			}
			wantDetail(t, g.post(t, "user.consent", `{"accept":false}`, http.StatusBadRequest), "INVALID_VALUE", "accept")
			if g.get(t); g.status() != "AGREEMENT_CONSENT_REQUIRED" {
				t.Errorf("after a refused decline: %s", g.status())
			}
			g.post(t, "user.consent", `{"accept":true}`, http.StatusOK)
			if c := y.consent(t, agY); g.status() != "COMPLETED" || c == nil {
				t.Errorf("accept: %s %+v", g.status(), c)
			}
		})
	}
}

// TestAgreementPromptNone: prompt=none signs on silently only while the
// user's consent holds.
func TestAgreementPromptNone(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x, agID, langID, _ := newAgreementFixture(t, be.DSN(t), false)
			f := x.signOn(t, x.fx.Username)
			f.post(t, "user.consent", `{"accept":true}`, http.StatusOK)
			if g, _ := x.authorize(t, f.c, http.StatusOK, "prompt", "none"); g.status() != "COMPLETED" {
				t.Errorf("consent holds: %s", g.status())
			}
			revise(t, x, agID, langID, time.Now().Add(-time.Second), true, "Terms, second edition.")
			_, h := x.authorize(t, f.c, http.StatusBadRequest, "prompt", "none")
			if !strings.Contains(string(h.body), `"error":"login_required"`) {
				t.Errorf("a new revision: %s", h.body)
			}
		})
	}
}

// TestAgreementLanguage: the agreement is shown in the user's language
// (preferredLanguage), else the browser's (ui_locales, then
// Accept-Language), else the environment's default; the consent records
// the language shown.
func TestAgreementLanguage(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x, agID, enID, _ := newAgreementFixture(t, be.DSN(t), false)
			now := time.Now().UTC().Truncate(time.Millisecond)
			fr := &store.AgreementLanguage{ID: uuid.NewString(), EnvironmentID: x.fx.EnvID, AgreementID: agID, Locale: "fr", Enabled: true,
				Data: json.RawMessage(`{"displayName":"Conditions d'utilisation"}`), CreatedAt: now, UpdatedAt: now}
			if err := x.s.Store.CreateAgreementLanguage(t.Context(), fr); err != nil {
				t.Fatal(err)
			}
			frRev := revise(t, x, agID, fr.ID, now.Add(-time.Hour), false, "Conditions.")
			shown := func(f *mfaFlow) (string, any) {
				a, _ := embedded(f)["agreement"].(map[string]any)
				return a["locale"].(string), a["revision"].(map[string]any)["id"]
			}
			signOn := func(header string, params ...string) *mfaFlow {
				c := browser(t)
				f := &mfaFlow{x: x, c: c, verifier: oauth2.GenerateVerifier()}
				opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(f.verifier), oauth2.SetAuthURLParam("response_mode", "pi.flow")}
				for i := 0; i+1 < len(params); i += 2 {
					opts = append(opts, oauth2.SetAuthURLParam(params[i], params[i+1]))
				}
				req, _ := http.NewRequest("GET", x.conf.AuthCodeURL("st-lang", opts...), nil)
				req.Header.Set("Accept-Language", header)
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var fl map[string]any
				json.NewDecoder(resp.Body).Decode(&fl)
				resp.Body.Close()
				f.url = fl["_links"].(map[string]any)["self"].(map[string]any)["href"].(string)
				f.password(t, x.fx.Username)
				return f
			}
			if loc, rev := shown(signOn("fr-CA,fr;q=0.9,en;q=0.5")); loc != "fr" || rev != frRev {
				t.Errorf("Accept-Language fr-CA: %s %v", loc, rev)
			}
			if loc, _ := shown(signOn("fr-CA", "ui_locales", "en")); loc != "en" {
				t.Errorf("ui_locales en before Accept-Language fr: %s", loc)
			}
			if loc, _ := shown(signOn("de")); loc != "en" {
				t.Errorf("Accept-Language de: %s, want the default language", loc)
			}
			r := x.s.Do(t, apptest.Request{Method: "PATCH", URL: "/environments/" + x.fx.EnvID + "/users/" + x.fx.UserID, Token: x.admin,
				Body: map[string]any{"preferredLanguage": "fr"}})
			if r.Status != http.StatusOK {
				t.Fatalf("user: %d %s", r.Status, r.Body)
			}
			f := signOn("en")
			if loc, _ := shown(f); loc != "fr" {
				t.Errorf("preferredLanguage fr before Accept-Language en: %s", loc)
			}
			f.post(t, "user.consent", `{"accept":true}`, http.StatusOK)
			if c := x.consent(t, agID); c == nil || c.LanguageID != fr.ID || c.RevisionID != frRev || c.LanguageID == enID {
				t.Errorf("consent %+v", c)
			}
		})
	}
}
