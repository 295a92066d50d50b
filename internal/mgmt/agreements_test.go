package mgmt_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/agreement"
	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Bodies as PingOne's SDK management module marshals its Agreement,
// AgreementLanguage and AgreementLanguageRevision models: the required
// members always (name and enabled; displayName, enabled and locale;
// contentType, effectiveAt, requireReconsent and text), the optional ones
// when set. The SDK encodes times as RFC 3339 with nanoseconds.

func agreementBody(name string) map[string]any {
	return map[string]any{"name": name, "description": "The terms of use", "enabled": false, "reconsentPeriodDays": 180}
}

func agreementLanguageBody(locale string) map[string]any {
	return map[string]any{"displayName": "Terms (" + locale + ")", "locale": locale, "enabled": false,
		"userExperience": map[string]any{"acceptCheckboxText": "I accept.", "continueButtonText": "Continue", "declineButtonText": "Decline"}}
}

func agreementRevisionBody(effective time.Time, reconsent bool, text string) map[string]any {
	return map[string]any{"contentType": "text/html", "effectiveAt": effective.UTC().Format(time.RFC3339Nano), "requireReconsent": reconsent, "text": text}
}

// constraint is PingOne's answer to a write its rules refuse.
var constraint = wantErr{http.StatusBadRequest, "REQUEST_FAILED", "CONSTRAINT_VIOLATION", ""}

// agreementFixture is an environment with an enabled agreement: an
// enabled English language with an effective revision, and a French one
// without revisions.
type agreementFixture struct {
	c                        cfgAPI
	id, en, fr, revision     string
	base, enPath, revisionsP string
}

func newAgreementFixture(t *testing.T, c cfgAPI, name string) agreementFixture {
	t.Helper()
	f := agreementFixture{c: c}
	f.id = checkID(t, c.ok(t, "POST", "/agreements", agreementBody(name), http.StatusCreated), "id")
	f.base = "/agreements/" + f.id
	f.en = checkID(t, c.ok(t, "POST", f.base+"/languages", agreementLanguageBody("en"), http.StatusCreated), "id")
	f.fr = checkID(t, c.ok(t, "POST", f.base+"/languages", agreementLanguageBody("fr"), http.StatusCreated), "id")
	f.enPath = f.base + "/languages/" + f.en
	f.revisionsP = f.enPath + "/revisions"
	f.revision = checkID(t, c.ok(t, "POST", f.revisionsP, agreementRevisionBody(time.Now(), false, "<p>Be nice.</p>"), http.StatusCreated), "id")
	lang := c.ok(t, "GET", f.enPath, nil, http.StatusOK)
	lang["enabled"] = true
	c.ok(t, "PUT", f.enPath, lang, http.StatusOK)
	agr := c.ok(t, "GET", f.base, nil, http.StatusOK)
	agr["enabled"] = true
	c.ok(t, "PUT", f.base, agr, http.StatusOK)
	return f
}

func TestAgreementsAsSDK(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			testAgreements(t, newCfgAPI(t, s, "Agreements"))
		})
	}
}

func testAgreements(t *testing.T, c cfgAPI) {
	api := c.s.APIPath + "/environments/" + c.env

	// An agreement is created disabled, with PingOne's members and its
	// consent counts.
	created := c.ok(t, "POST", "/agreements", agreementBody("Terms"), http.StatusCreated)
	id := checkID(t, created, "id")
	checkTime(t, created, "consentsAggregatedAt")
	base := "/agreements/" + id
	wantFields(t, created, map[string]any{"name": "Terms", "description": "The terms of use", "enabled": false, "reconsentPeriodDays": 180,
		"environment.id": c.env, "totalConsents": 0, "totalExpiredConsents": 0,
		"_links.self.href": api + base, "_links.environment.href": api, "_links.languages.href": api + base + "/languages"})
	got := c.ok(t, "GET", base, nil, http.StatusOK)
	if !cfgSameJSON(withoutKeys(got, "consentsAggregatedAt"), withoutKeys(created, "consentsAggregatedAt")) {
		t.Errorf("GET = %v, POST answered %v", got, created)
	}
	if list := c.list(t, "/agreements", "agreements"); len(list) != 1 || list[0]["id"] != id {
		t.Errorf("list = %v", list)
	}

	// Without an enabled English language that has an effective revision,
	// it cannot be enabled: not on create, not on update.
	c.fail(t, "POST", "/agreements", map[string]any{"name": "Enabled at once", "enabled": true}, constraint)
	m := c.fail(t, "PUT", base, cfgEcho(got, map[string]any{"enabled": true}), constraint)
	if msg := detailAt(t, m, 0)["message"]; msg != "The agreement can not be enabled without supporting the default language configured for the environment." {
		t.Errorf("message = %v (the Terraform provider matches PingOne's)", msg)
	}

	// Languages: the locale is unique per agreement whatever its case.
	en := c.ok(t, "POST", base+"/languages", agreementLanguageBody("en"), http.StatusCreated)
	enID := checkID(t, en, "id")
	enPath := base + "/languages/" + enID
	wantFields(t, en, map[string]any{"agreement.id": id, "locale": "en", "displayName": "Terms (en)", "enabled": false,
		"userExperience":  map[string]any{"acceptCheckboxText": "I accept.", "continueButtonText": "Continue", "declineButtonText": "Decline"},
		"currentRevision": nil, "_links.self.href": api + enPath, "_links.agreement.href": api + base, "_links.revisions.href": api + enPath + "/revisions"})
	c.fail(t, "POST", base+"/languages", agreementLanguageBody("EN"), wantErr{http.StatusBadRequest, "INVALID_DATA", "UNIQUENESS_VIOLATION", "locale"})
	frID := checkID(t, c.ok(t, "POST", base+"/languages", map[string]any{"displayName": "Conditions", "locale": "fr-CA"}, http.StatusCreated), "id")
	c.fail(t, "POST", base+"/languages", map[string]any{"displayName": "Enabled at once", "locale": "de", "enabled": true}, constraint)
	// No revision yet: the language cannot be enabled.
	c.fail(t, "PUT", enPath, cfgEcho(en, map[string]any{"enabled": true}), constraint)

	// Revisions: a future one is not effective, so it enables nothing.
	later := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	future := c.ok(t, "POST", enPath+"/revisions", agreementRevisionBody(later, true, "<p>Later terms.</p>"), http.StatusCreated)
	futureID := checkID(t, future, "id")
	wantFields(t, future, map[string]any{"agreement.id": id, "language.id": enID, "contentType": "text/html",
		"effectiveAt": later.Format("2006-01-02T15:04:05.000Z"), "requireReconsent": true, "text": nil, "notValidAfter": nil,
		"_links.self.href": api + enPath + "/revisions/" + futureID, "_links.text.href": api + enPath + "/revisions/" + futureID + "/text"})
	c.fail(t, "PUT", enPath, cfgEcho(en, map[string]any{"enabled": true}), constraint)
	now := c.ok(t, "POST", enPath+"/revisions", agreementRevisionBody(time.Now(), false, "<p>Be nice.</p>"), http.StatusCreated)
	nowID := checkID(t, now, "id")
	// The new revision is valid until the later one, which asks again.
	wantFields(t, c.ok(t, "GET", enPath+"/revisions/"+nowID, nil, http.StatusOK), map[string]any{"notValidAfter": later.Format("2006-01-02T15:04:05.000Z")})
	text := c.ok(t, "GET", api+enPath+"/revisions/"+nowID+"/text", nil, http.StatusOK)
	wantFields(t, text, map[string]any{"data": "<p>Be nice.</p>", "dataType": "text/html"})
	revs := c.list(t, enPath+"/revisions", "revisions")
	if len(revs) != 2 || revs[0]["id"] != nowID || revs[1]["id"] != futureID {
		t.Errorf("revisions by effective time = %v, want %s then %s", revs, nowID, futureID)
	}
	c.fail(t, "POST", enPath+"/revisions", agreementRevisionBody(later, false, "Same time"),
		wantErr{http.StatusBadRequest, "INVALID_DATA", "UNIQUENESS_VIOLATION", "effectiveAt"})
	c.fail(t, "POST", enPath+"/revisions", agreementRevisionBody(time.Now().Add(-time.Hour), false, "Yesterday's"),
		wantErr{http.StatusBadRequest, "INVALID_DATA", "INVALID_VALUE", "effectiveAt"})
	en = c.ok(t, "GET", enPath, nil, http.StatusOK)
	wantFields(t, en, map[string]any{"currentRevision.id": nowID})
	en = c.ok(t, "PUT", enPath, cfgEcho(en, map[string]any{"enabled": true}), http.StatusOK)
	wantFields(t, en, map[string]any{"enabled": true, "currentRevision.id": nowID})

	// Now the agreement can be enabled.
	got = c.ok(t, "PUT", base, cfgEcho(got, map[string]any{"enabled": true}), http.StatusOK)
	wantFields(t, got, map[string]any{"enabled": true, "name": "Terms"})
	// And its English language must stay.
	c.fail(t, "PUT", enPath, cfgEcho(en, map[string]any{"enabled": false}), constraint)
	c.fail(t, "PUT", enPath, cfgEcho(en, map[string]any{"locale": "en-GB"}), constraint)

	// A PUT of what GET returned changes nothing.
	for _, path := range []string{base, enPath, base + "/languages/" + frID} {
		before := c.ok(t, "GET", path, nil, http.StatusOK)
		put := c.ok(t, "PUT", path, before, http.StatusOK)
		after := c.ok(t, "GET", path, nil, http.StatusOK)
		if !cfgSameJSON(withoutKeys(put, "consentsAggregatedAt"), withoutKeys(before, "consentsAggregatedAt")) ||
			!cfgSameJSON(withoutKeys(after, "consentsAggregatedAt"), withoutKeys(before, "consentsAggregatedAt")) {
			t.Errorf("PUT of GET of %s drifted:\nbefore %v\nput    %v\nafter  %v", path, before, put, after)
		}
	}
	// A PUT replaces: a description left out is removed.
	got = c.ok(t, "PUT", base, map[string]any{"name": "Terms", "enabled": true}, http.StatusOK)
	wantFields(t, got, map[string]any{"description": nil, "reconsentPeriodDays": nil})

	// Effective revisions stay, and the languages that have one.
	c.fail(t, "DELETE", enPath+"/revisions/"+nowID, nil, constraint)
	c.ok(t, "DELETE", enPath+"/revisions/"+futureID, nil, http.StatusNoContent)
	c.fail(t, "GET", enPath+"/revisions/"+futureID, nil, wantErr{http.StatusNotFound, "NOT_FOUND", "", ""})
	m = c.fail(t, "DELETE", enPath, nil, constraint)
	if msg := detailAt(t, m, 0)["message"]; msg != "Agreement language with effective revision can not be deleted." {
		t.Errorf("message = %v (the Terraform provider matches PingOne's)", msg)
	}
	c.ok(t, "DELETE", base+"/languages/"+frID, nil, http.StatusNoContent)
	c.fail(t, "GET", base+"/languages/"+frID, nil, wantErr{http.StatusNotFound, "NOT_FOUND", "", ""})

	// A sign-on policy action that names the agreement keeps it enabled
	// and in place.
	policy := checkID(t, c.ok(t, "POST", "/signOnPolicies", map[string]any{"name": "With_terms"}, http.StatusCreated), "id")
	ts := store.Now()
	action := &store.SignOnPolicyAction{ID: uuid.NewString(), EnvironmentID: c.env, SignOnPolicyID: policy, Type: "AGREEMENT", Priority: 2,
		Data: json.RawMessage(`{"agreement":{"id":"` + id + `"},"disableDeclineOption":false}`), CreatedAt: ts, UpdatedAt: ts}
	if err := c.s.Store.CreateSignOnPolicyAction(context.Background(), action); err != nil {
		t.Fatal(err)
	}
	c.fail(t, "PUT", base, cfgEcho(got, map[string]any{"enabled": false}), constraint)
	c.fail(t, "DELETE", base, nil, constraint)
	if err := c.s.Store.DeleteSignOnPolicyAction(context.Background(), c.env, policy, action.ID); err != nil {
		t.Fatal(err)
	}
	c.ok(t, "PUT", base, cfgEcho(got, map[string]any{"enabled": false}), http.StatusOK)
	c.ok(t, "DELETE", base, nil, http.StatusNoContent)
	for _, p := range []string{base, enPath, enPath + "/revisions/" + nowID, enPath + "/revisions/" + nowID + "/text", enPath + "/revisions"} {
		c.fail(t, "GET", p, nil, wantErr{http.StatusNotFound, "NOT_FOUND", "", ""})
	}
}

// withoutKeys copies m without keys.
func withoutKeys(m map[string]any, keys ...string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

func TestAgreementErrors(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			c := newCfgAPI(t, s, "Agreement errors")
			f := newAgreementFixture(t, c, "Terms")
			other := newAgreementFixture(t, c, "Privacy")
			missing := uuid.NewString()
			long := strings.Repeat("x", 32001)
			notFound := wantErr{http.StatusNotFound, "NOT_FOUND", "", ""}
			invalid := func(detail, target string) wantErr {
				return wantErr{http.StatusBadRequest, "INVALID_DATA", detail, target}
			}
			for _, tc := range []struct {
				name, method, path string
				body               any
				want               wantErr
			}{
				{"malformed JSON", "POST", "/agreements", `{"name":`, wantErr{http.StatusBadRequest, "INVALID_REQUEST", "INVALID_VALUE", ""}},
				{"no name", "POST", "/agreements", map[string]any{"enabled": false}, invalid("REQUIRED_VALUE", "name")},
				{"blank name", "POST", "/agreements", map[string]any{"name": "  ", "enabled": false}, invalid("REQUIRED_VALUE", "name")},
				{"no enabled", "POST", "/agreements", map[string]any{"name": "Terms"}, invalid("REQUIRED_VALUE", "enabled")},
				{"a zero reconsent period", "POST", "/agreements", map[string]any{"name": "T", "enabled": false, "reconsentPeriodDays": 0},
					invalid("INVALID_VALUE", "reconsentPeriodDays")},
				{"a negative reconsent period", "POST", "/agreements", map[string]any{"name": "T", "enabled": false, "reconsentPeriodDays": -1},
					invalid("INVALID_VALUE", "reconsentPeriodDays")},
				{"a name of the wrong type", "POST", "/agreements", map[string]any{"name": 5, "enabled": false},
					wantErr{http.StatusBadRequest, "INVALID_REQUEST", "INVALID_VALUE", "name"}},
				{"PUT of an unknown agreement", "PUT", "/agreements/" + missing, agreementBody("T"), notFound},
				{"DELETE of an unknown agreement", "DELETE", "/agreements/" + missing, nil, notFound},
				{"a language of an unknown agreement", "POST", "/agreements/" + missing + "/languages", agreementLanguageBody("de"), notFound},
				{"a language without locale", "POST", f.base + "/languages", map[string]any{"displayName": "T"}, invalid("REQUIRED_VALUE", "locale")},
				{"a locale that is no tag", "POST", f.base + "/languages", map[string]any{"displayName": "T", "locale": "english!"},
					invalid("INVALID_VALUE", "locale")},
				{"a language without displayName", "POST", f.base + "/languages", map[string]any{"locale": "de"}, invalid("REQUIRED_VALUE", "displayName")},
				{"a checkbox text with symbols", "POST", f.base + "/languages", map[string]any{"locale": "de", "displayName": "T",
					"userExperience": map[string]any{"acceptCheckboxText": "<b>yes</b>"}}, invalid("INVALID_VALUE", "userExperience.acceptCheckboxText")},
				{"a PUT of a language without enabled", "PUT", f.enPath, map[string]any{"locale": "en", "displayName": "T"}, invalid("REQUIRED_VALUE", "enabled")},
				{"a language under another agreement", "GET", other.base + "/languages/" + f.en, nil, notFound},
				{"a PUT of a language under another agreement", "PUT", other.base + "/languages/" + f.en, agreementLanguageBody("en"), notFound},
				{"a DELETE of a language under another agreement", "DELETE", other.base + "/languages/" + f.fr, nil, notFound},
				{"a revision without contentType", "POST", f.revisionsP, map[string]any{"effectiveAt": time.Now().Add(time.Hour).Format(time.RFC3339),
					"requireReconsent": false, "text": "T"}, invalid("REQUIRED_VALUE", "contentType")},
				{"a revision of another content type", "POST", f.revisionsP, withPath(agreementRevisionBody(time.Now().Add(time.Hour), false, "T"),
					"contentType", "text/markdown"), invalid("INVALID_VALUE", "contentType")},
				{"a revision without effectiveAt", "POST", f.revisionsP, map[string]any{"contentType": "text/plain", "requireReconsent": false, "text": "T"},
					invalid("REQUIRED_VALUE", "effectiveAt")},
				{"a revision without requireReconsent", "POST", f.revisionsP, map[string]any{"contentType": "text/plain",
					"effectiveAt": time.Now().Add(time.Hour).Format(time.RFC3339), "text": "T"}, invalid("REQUIRED_VALUE", "requireReconsent")},
				{"a revision without text", "POST", f.revisionsP, agreementRevisionBody(time.Now().Add(time.Hour), false, " "), invalid("REQUIRED_VALUE", "text")},
				{"a revision text too long", "POST", f.revisionsP, agreementRevisionBody(time.Now().Add(time.Hour), false, long), invalid("SIZE_LIMIT_EXCEEDED", "text")},
				{"a revision with a bad time", "POST", f.revisionsP, map[string]any{"contentType": "text/plain", "effectiveAt": "tomorrow",
					"requireReconsent": false, "text": "T"}, wantErr{http.StatusBadRequest, "INVALID_REQUEST", "INVALID_VALUE", ""}},
				{"a revision of an unknown language", "POST", f.base + "/languages/" + missing + "/revisions", agreementRevisionBody(time.Now().Add(time.Hour), false, "T"), notFound},
				{"a revision under another language", "GET", f.base + "/languages/" + f.fr + "/revisions/" + f.revision, nil, notFound},
				{"a revision under another agreement", "GET", other.enPath + "/revisions/" + f.revision, nil, notFound},
				{"a revision's text under another agreement", "GET", other.enPath + "/revisions/" + f.revision + "/text", nil, notFound},
				{"a revision's DELETE under another agreement", "DELETE", other.enPath + "/revisions/" + f.revision, nil, notFound},
				{"revisions cannot change", "PUT", f.revisionsP + "/" + f.revision, agreementRevisionBody(time.Now().Add(time.Hour), false, "T"),
					wantErr{http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "", ""}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					c.fail(t, tc.method, tc.path, tc.body, tc.want)
				})
			}
			// A body of the wrong media type.
			r := doNo5xx(t, s, apptest.Request{Method: "POST", URL: c.url("/agreements"), Token: c.tok, Body: agreementBody("T"), ContentType: "text/plain"})
			checkAnswer(t, r, wantErr{http.StatusUnsupportedMediaType, "INVALID_REQUEST", "INVALID_VALUE", "Content-Type"})
			// Nothing of the refused writes was kept.
			if list := c.list(t, "/agreements", "agreements"); len(list) != 2 {
				t.Errorf("agreements after refused writes: %d, want 2", len(list))
			}
			if list := c.list(t, f.base+"/languages", "languages"); len(list) != 2 {
				t.Errorf("languages after refused writes: %d, want 2", len(list))
			}
			if list := c.list(t, f.revisionsP, "revisions"); len(list) != 1 {
				t.Errorf("revisions after refused writes: %d, want 1", len(list))
			}
		})
	}
}

func TestAgreementConsentsAsSDK(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			testAgreementConsents(t, newCfgAPI(t, s, "Consents"), newCfgAPI(t, s, "Other consents"))
		})
	}
}

func testAgreementConsents(t *testing.T, c, otherEnv cfgAPI) {
	ctx := context.Background()
	f := newAgreementFixture(t, c, "Terms")
	pop := c.list(t, "/populations", "populations")[0]["id"].(string)
	alice := c.s.CreateUser(t, c.env, pop, "alice", "alice@example.com", "Alice", "A", "Secret-Passw0rd!")
	bob := c.s.CreateUser(t, c.env, pop, "bob", "bob@example.com", "Bob", "B", "Secret-Passw0rd!")
	consents := "/users/" + alice + "/agreementConsents"
	api := c.s.APIPath + "/environments/" + c.env

	// Before any answer the state is PENDING, with what alice would be
	// asked: the current English revision.
	pending := c.ok(t, "GET", consents+"/"+f.id, nil, http.StatusOK)
	wantFields(t, pending, map[string]any{"status": "PENDING", "agreement.id": f.id, "user.id": alice, "environment.id": c.env,
		"language.id": f.en, "revision.id": f.revision, "lastConsent": nil,
		"_links.self.href": api + consents + "/" + f.id, "_links.agreement.href": api + f.base})
	if l := c.list(t, consents, "agreementConsents"); len(l) != 0 {
		t.Errorf("consents before any answer: %v", l)
	}

	// Alice accepts in the flow.
	p, err := agreement.Pending(ctx, c.s.Store, c.env, f.id, alice, nil, time.Now())
	if err != nil || p == nil {
		t.Fatalf("Pending = %v, %v", p, err)
	}
	at := store.Now()
	if err := agreement.Accept(ctx, c.s.Store, c.env, alice, p, at); err != nil {
		t.Fatal(err)
	}
	accepted := c.ok(t, "GET", consents+"/"+f.id, nil, http.StatusOK)
	wantFields(t, accepted, map[string]any{"status": "ACCEPTED", "language.id": f.en, "revision.id": f.revision,
		"lastConsent.at": at.Format("2006-01-02T15:04:05.000Z"), "lastConsent.expiresAt": at.Add(180 * 24 * time.Hour).Format("2006-01-02T15:04:05.000Z"),
		"lastConsent.language.id": f.en, "lastConsent.revision.id": f.revision})
	if l := c.list(t, consents, "agreementConsents"); len(l) != 1 || !cfgSameJSON(l[0], accepted) {
		t.Errorf("consents = %v, want [%v]", l, accepted)
	}
	wantFields(t, c.ok(t, "GET", f.base, nil, http.StatusOK), map[string]any{"totalConsents": 1, "totalExpiredConsents": 0})

	// Revoking takes the vendor media type and resets the state to
	// PENDING; the last consent stays readable.
	// (PingOne's SDK sends the media type with no body.)
	revoke := func(path, contentType string) *apptest.Response {
		return doNo5xx(t, c.s, apptest.Request{Method: "POST", URL: c.url(path), Token: c.tok, Headers: http.Header{"Content-Type": {contentType}}})
	}
	checkAnswer(t, revoke(consents+"/"+f.id, "application/json"), wantErr{http.StatusUnsupportedMediaType, "INVALID_REQUEST", "INVALID_VALUE", "Content-Type"})
	if got := c.ok(t, "GET", consents+"/"+f.id, nil, http.StatusOK); !cfgSameJSON(got, accepted) {
		t.Errorf("a refused revoke changed the consent: %v", got)
	}
	r := revoke(consents+"/"+f.id, "application/vnd.pingidentity.consent.revoke+json")
	revoked := must(t, r, http.StatusOK)
	wantFields(t, revoked, map[string]any{"status": "PENDING", "language.id": f.en, "revision.id": f.revision, "lastConsent.revision.id": f.revision})
	if got := c.ok(t, "GET", consents+"/"+f.id, nil, http.StatusOK); !cfgSameJSON(got, revoked) {
		t.Errorf("GET after revoke = %v, want %v", got, revoked)
	}
	wantFields(t, c.ok(t, "GET", f.base, nil, http.StatusOK), map[string]any{"totalConsents": 0})
	// An agreement users answered is kept, even revoked: only disabled.
	m := c.fail(t, "DELETE", f.base, nil, constraint)
	if msg, _ := detailAt(t, m, 0)["message"].(string); !strings.Contains(msg, "consents") {
		t.Errorf("message = %q, want one about the consents", msg)
	}
	p, err = agreement.Pending(ctx, c.s.Store, c.env, f.id, alice, nil, time.Now())
	if err != nil || p == nil || !p.Reconsent {
		t.Fatalf("Pending after revoke = %+v, %v; want the revision asked again", p, err)
	}

	// Unknown and foreign ids answer 404.
	otherAgreement := newAgreementFixture(t, otherEnv, "Elsewhere")
	carolPop := otherEnv.list(t, "/populations", "populations")[0]["id"].(string)
	carol := c.s.CreateUser(t, otherEnv.env, carolPop, "carol", "carol@example.com", "Carol", "C", "Secret-Passw0rd!")
	notFound := wantErr{http.StatusNotFound, "NOT_FOUND", "", ""}
	for _, path := range []string{
		"/users/" + uuid.NewString() + "/agreementConsents",
		"/users/" + carol + "/agreementConsents",
		"/users/" + carol + "/agreementConsents/" + otherAgreement.id,
		consents + "/" + otherAgreement.id,
		consents + "/" + uuid.NewString(),
	} {
		c.fail(t, "GET", path, nil, notFound)
	}
	checkAnswer(t, revoke("/users/"+carol+"/agreementConsents/"+otherAgreement.id, "application/vnd.pingidentity.consent.revoke+json"), notFound)
	checkAnswer(t, revoke(consents+"/"+otherAgreement.id, "application/vnd.pingidentity.consent.revoke+json"), notFound)

	// Bob accepted; deleting him takes his consent with him, and leaves
	// the agreement's count.
	p, _ = agreement.Pending(ctx, c.s.Store, c.env, f.id, bob, nil, time.Now())
	if err := agreement.Accept(ctx, c.s.Store, c.env, bob, p, store.Now()); err != nil {
		t.Fatal(err)
	}
	wantFields(t, c.ok(t, "GET", f.base, nil, http.StatusOK), map[string]any{"totalConsents": 1})
	c.ok(t, "DELETE", "/users/"+bob, nil, http.StatusNoContent)
	wantFields(t, c.ok(t, "GET", f.base, nil, http.StatusOK), map[string]any{"totalConsents": 0})
	c.fail(t, "GET", "/users/"+bob+"/agreementConsents/"+f.id, nil, notFound)

	// And an environment goes with its agreements and consents.
	if err := agreement.Accept(ctx, c.s.Store, c.env, alice, p, store.Now()); err != nil {
		t.Fatal(err)
	}
	c.ok(t, "DELETE", c.s.APIPath+"/environments/"+c.env, nil, http.StatusNoContent)
	if _, err := c.s.Store.GetAgreement(ctx, c.env, f.id); err == nil {
		t.Error("the deleted environment's agreement is still there")
	}
}

// TestAgreementConsentsPopulationScoped: consents are user data: a
// population-scoped administrator reads and revokes those of its
// population's users, another population's users do not exist for it,
// and a read-only role cannot revoke.
func TestAgreementConsentsPopulationScoped(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			c := newCfgAPI(t, s, "Scoped consents")
			f := newAgreementFixture(t, c, "Terms")
			p1, p2 := newPop(t, s, c.env, "P1"), newPop(t, s, c.env, "P2")
			u1 := s.CreateUser(t, c.env, p1, "one", "one@example.com", "One", "O", "Secret-Passw0rd!")
			u2 := s.CreateUser(t, c.env, p2, "two", "two@example.com", "Two", "T", "Secret-Passw0rd!")
			for _, u := range []string{u1, u2} {
				p, err := agreement.Pending(ctx, s.Store, c.env, f.id, u, nil, time.Now())
				if err != nil || p == nil {
					t.Fatalf("Pending = %v, %v", p, err)
				}
				if err := agreement.Accept(ctx, s.Store, c.env, u, p, store.Now()); err != nil {
					t.Fatal(err)
				}
			}
			worker := func(role roles.Role) string {
				return s.Token(t, s.CreateWorker(t, c.env, "CLIENT_SECRET_BASIC", [3]string{role.ID, roles.ScopePopulation, p1}))
			}
			popAdmin, popReader := worker(roles.IdentityDataAdmin), worker(roles.IdentityDataReadOnly)
			do := func(tok, method, path string) *apptest.Response {
				r := apptest.Request{Method: method, URL: c.url(path), Token: tok}
				if method == "POST" {
					r.Headers = http.Header{"Content-Type": {"application/vnd.pingidentity.consent.revoke+json"}}
				}
				return doNo5xx(t, s, r)
			}
			one, two := "/users/"+u1+"/agreementConsents", "/users/"+u2+"/agreementConsents"
			wantFields(t, must(t, do(popReader, "GET", one+"/"+f.id), http.StatusOK), map[string]any{"status": "ACCEPTED"})
			for _, r := range []*apptest.Response{do(popAdmin, "GET", two), do(popAdmin, "GET", two+"/"+f.id), do(popAdmin, "POST", two+"/"+f.id)} {
				checkAnswer(t, r, wantErr{http.StatusNotFound, "NOT_FOUND", "", ""})
			}
			checkAnswer(t, do(popReader, "POST", one+"/"+f.id), wantErr{http.StatusForbidden, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""})
			wantFields(t, c.ok(t, "GET", two+"/"+f.id, nil, http.StatusOK), map[string]any{"status": "ACCEPTED"})
			wantFields(t, c.ok(t, "GET", one+"/"+f.id, nil, http.StatusOK), map[string]any{"status": "ACCEPTED"})
			wantFields(t, must(t, do(popAdmin, "POST", one+"/"+f.id), http.StatusOK), map[string]any{"status": "PENDING"})
			// Agreements themselves are configuration.
			checkAnswer(t, do(popAdmin, "GET", "/agreements"), wantErr{http.StatusForbidden, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""})
		})
	}
}

// TestAgreementLanguageRace: of parallel creates of one locale (in
// different cases) exactly one wins; the others are PingOne's uniqueness
// error, never a 500.
func TestAgreementLanguageRace(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			c := newCfgAPI(t, s, "Language race")
			id := checkID(t, c.ok(t, "POST", "/agreements", agreementBody("Terms"), http.StatusCreated), "id")
			const n = 20
			statuses := make(chan *apptest.Response, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					locale := "de-AT"
					if i%2 == 1 {
						locale = "DE-at"
					}
					statuses <- s.Do(t, apptest.Request{Method: "POST", URL: c.url("/agreements/" + id + "/languages"), Token: c.tok,
						Body: agreementLanguageBody(locale)})
				}()
			}
			wg.Wait()
			close(statuses)
			created := 0
			for r := range statuses {
				switch r.Status {
				case http.StatusCreated:
					created++
				default:
					checkAnswer(t, r, wantErr{http.StatusBadRequest, "INVALID_DATA", "UNIQUENESS_VIOLATION", "locale"})
				}
			}
			if created != 1 {
				t.Errorf("%d creates won, want 1", created)
			}
			if l := c.list(t, "/agreements/"+id+"/languages", "languages"); len(l) != 1 {
				t.Errorf("%d languages, want 1", len(l))
			}
		})
	}
}
