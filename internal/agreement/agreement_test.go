package agreement_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/agreement"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// world is one environment with a user, on a real database.
type world struct {
	st          store.Store
	env, user   string
	other, oenv string // a user of another environment
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func newWorld(t *testing.T, dsn string) *world {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, dsn)
	must(t, err)
	t.Cleanup(func() { st.Close() })
	now := store.Now()
	org := &store.Organization{ID: uuid.NewString(), Name: "Org", Type: "TRIAL", CreatedAt: now, UpdatedAt: now}
	must(t, st.CreateOrganization(ctx, org))
	lic := &store.License{ID: uuid.NewString(), OrganizationID: org.ID, Name: "L", Package: "TRIAL", Status: "ACTIVE", CreatedAt: now, UpdatedAt: now}
	must(t, st.CreateLicense(ctx, lic))
	w := &world{st: st}
	for _, p := range []*string{&w.env, &w.oenv} {
		e := &store.Environment{ID: uuid.NewString(), OrganizationID: org.ID, Name: "Env " + uuid.NewString()[:6], Type: "SANDBOX", Region: "EU",
			LicenseID: lic.ID, Status: "ACTIVE", CreatedAt: now, UpdatedAt: now}
		must(t, st.CreateEnvironment(ctx, e))
		pop := &store.Population{ID: uuid.NewString(), EnvironmentID: e.ID, Name: "Default", CreatedAt: now, UpdatedAt: now}
		must(t, st.CreatePopulation(ctx, pop))
		u := &store.User{ID: uuid.NewString(), EnvironmentID: e.ID, PopulationID: pop.ID, Username: "alice", Enabled: true,
			AccountStatus: "OK", LifecycleStatus: "ACCOUNT_OK", IdentityProviderType: "PING_ONE", VerifyStatus: "NOT_INITIATED", CreatedAt: now, UpdatedAt: now}
		must(t, st.CreateUser(ctx, u))
		*p = e.ID
		if e.ID == w.env {
			w.user = u.ID
		} else {
			w.other = u.ID
		}
	}
	return w
}

func eachBackend(t *testing.T, fn func(t *testing.T, w *world)) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, newWorld(t, b.DSN(t)))
		})
	}
}

func (w *world) agreement(t *testing.T, enabled bool, reconsentDays *float64) *store.Agreement {
	t.Helper()
	now := store.Now()
	d, _ := json.Marshal(wire.AgreementData{Description: "terms", ReconsentPeriodDays: reconsentDays})
	a := &store.Agreement{ID: uuid.NewString(), EnvironmentID: w.env, Name: "Terms", Enabled: enabled, Data: d, CreatedAt: now, UpdatedAt: now}
	must(t, w.st.CreateAgreement(context.Background(), a))
	return a
}

func (w *world) language(t *testing.T, a *store.Agreement, locale string, enabled bool) *store.AgreementLanguage {
	t.Helper()
	now := store.Now()
	d, _ := json.Marshal(wire.AgreementLanguageData{DisplayName: "Terms (" + locale + ")",
		UserExperience: &wire.AgreementUserExperience{AcceptCheckboxText: "I agree (" + locale + ")", ContinueButtonText: "Continue", DeclineButtonText: "Decline"}})
	l := &store.AgreementLanguage{ID: uuid.NewString(), EnvironmentID: w.env, AgreementID: a.ID, Locale: locale, Enabled: enabled, Data: d,
		CreatedAt: now, UpdatedAt: now}
	must(t, w.st.CreateAgreementLanguage(context.Background(), l))
	return l
}

func (w *world) revision(t *testing.T, l *store.AgreementLanguage, effective time.Time, reconsent bool, text string) *store.AgreementRevision {
	t.Helper()
	r := &store.AgreementRevision{ID: uuid.NewString(), EnvironmentID: w.env, AgreementID: l.AgreementID, LanguageID: l.ID,
		EffectiveAt: effective.Truncate(time.Millisecond), ContentType: "text/plain", RequireReconsent: reconsent, Text: text, CreatedAt: store.Now()}
	must(t, w.st.CreateAgreementRevision(context.Background(), r))
	return r
}

// pending asks Pending and checks the revision it prompts for ("" for
// none).
func (w *world) pending(t *testing.T, a *store.Agreement, locales []string, now time.Time, wantRevision string) *agreement.Prompt {
	t.Helper()
	p, err := agreement.Pending(context.Background(), w.st, w.env, a.ID, w.user, locales, now)
	must(t, err)
	switch {
	case wantRevision == "" && p != nil:
		t.Fatalf("Pending at %s = revision %s (%q), want none", now.Format(time.RFC3339), p.RevisionID, p.Text)
	case wantRevision != "" && p == nil:
		t.Fatalf("Pending at %s = none, want revision %s", now.Format(time.RFC3339), wantRevision)
	case wantRevision != "" && p.RevisionID != wantRevision:
		t.Fatalf("Pending at %s = revision %s (%q), want %s", now.Format(time.RFC3339), p.RevisionID, p.Text, wantRevision)
	}
	return p
}

func float(f float64) *float64 { return &f }

// TestPendingRevisions: the prompt is the current revision (the latest
// effective one) with its text and texts; once accepted nothing is asked;
// a later revision that requires reconsent asks again once it is
// effective, one that does not asks nothing.
func TestPendingRevisions(t *testing.T) {
	eachBackend(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		t0 := store.Now()
		a := w.agreement(t, true, nil)
		en := w.language(t, a, "en", true)
		r1 := w.revision(t, en, t0.Add(-time.Hour), false, "one")
		r2 := w.revision(t, en, t0.Add(-time.Minute), false, "<b>two</b>")
		future := w.revision(t, en, t0.Add(time.Hour), true, "future") // not yet effective
		_ = r1

		p := w.pending(t, a, nil, t0, r2.ID)
		want := agreement.Prompt{AgreementID: a.ID, LanguageID: en.ID, RevisionID: r2.ID, Locale: "en", ContentType: "text/plain", Text: "<b>two</b>",
			DisplayName: "Terms (en)", AcceptCheckboxText: "I agree (en)", ContinueButtonText: "Continue", DeclineButtonText: "Decline"}
		if *p != want {
			t.Errorf("Pending = %+v, want %+v", *p, want)
		}
		must(t, agreement.Accept(ctx, w.st, w.env, w.user, p, t0))
		w.pending(t, a, nil, t0, "")

		// A revision that does not require reconsent becomes current:
		// nothing is asked.
		w.revision(t, en, t0.Add(2*time.Second), false, "three")
		w.pending(t, a, nil, t0.Add(3*time.Second), "")
		// The future one requires reconsent: asked once it is effective.
		w.pending(t, a, nil, t0.Add(time.Hour-time.Millisecond), "")
		if p = w.pending(t, a, nil, t0.Add(time.Hour), future.ID); p.Text != "future" || !p.Reconsent {
			t.Errorf("Pending after the reconsent revision = %q (reconsent %v), want \"future\" asked again", p.Text, p.Reconsent)
		}
	})
}

// TestPendingReconsent: a new revision with requireReconsent asks again
// (Reconsent set), the answer records the new revision, and the consent
// state reads ACCEPTED again.
func TestPendingReconsent(t *testing.T) {
	eachBackend(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		t0 := store.Now()
		a := w.agreement(t, true, nil)
		en := w.language(t, a, "en", true)
		r1 := w.revision(t, en, t0.Add(-time.Hour), false, "one")
		p := w.pending(t, a, nil, t0, r1.ID)
		if p.Reconsent {
			t.Error("a first consent is marked Reconsent")
		}
		must(t, agreement.Accept(ctx, w.st, w.env, w.user, p, t0))
		r2 := w.revision(t, en, t0.Add(time.Minute), true, "two")
		w.pending(t, a, nil, t0.Add(59*time.Second), "")
		p = w.pending(t, a, nil, t0.Add(time.Minute), r2.ID)
		if !p.Reconsent {
			t.Error("asking again after a revision that requires reconsent is not marked Reconsent")
		}
		must(t, agreement.Accept(ctx, w.st, w.env, w.user, p, t0.Add(2*time.Minute)))
		w.pending(t, a, nil, t0.Add(3*time.Minute), "")
		c, err := w.st.GetAgreementConsent(ctx, w.env, w.user, a.ID)
		must(t, err)
		if c.RevisionID != r2.ID || !c.ConsentedAt.Equal(t0.Add(2*time.Minute)) {
			t.Errorf("consent = revision %s at %s, want %s at %s", c.RevisionID, c.ConsentedAt, r2.ID, t0.Add(2*time.Minute))
		}
		if got := agreement.Evaluate(c, t0.Add(3*time.Minute)); got != wire.ConsentAccepted {
			t.Errorf("Evaluate = %s, want ACCEPTED", got)
		}
	})
}

// TestPendingExpiry: reconsentPeriodDays expires a consent (fractions of
// days count); an expired consent asks again; without a period a consent
// never expires.
func TestPendingExpiry(t *testing.T) {
	eachBackend(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		t0 := store.Now()
		a := w.agreement(t, true, float(0.5))
		en := w.language(t, a, "en", true)
		r := w.revision(t, en, t0.Add(-time.Hour), false, "one")
		p := w.pending(t, a, nil, t0, r.ID)
		must(t, agreement.Accept(ctx, w.st, w.env, w.user, p, t0))
		c, err := w.st.GetAgreementConsent(ctx, w.env, w.user, a.ID)
		must(t, err)
		if want := t0.Add(12 * time.Hour); !c.ExpiresAt.Equal(want) {
			t.Errorf("ExpiresAt = %s, want %s", c.ExpiresAt, want)
		}
		w.pending(t, a, nil, t0.Add(12*time.Hour-time.Millisecond), "")
		if got := agreement.Evaluate(c, t0.Add(12*time.Hour)); got != wire.ConsentExpired {
			t.Errorf("Evaluate at expiry = %s, want EXPIRED", got)
		}
		p = w.pending(t, a, nil, t0.Add(12*time.Hour), r.ID)
		if !p.Reconsent {
			t.Error("an expired consent's prompt is not marked Reconsent")
		}

		forever := w.agreement(t, true, nil)
		fen := w.language(t, forever, "en", true)
		fr := w.revision(t, fen, t0.Add(-time.Hour), false, "one")
		must(t, agreement.Accept(ctx, w.st, w.env, w.user, w.pending(t, forever, nil, t0, fr.ID), t0))
		w.pending(t, forever, nil, t0.Add(10*365*24*time.Hour), "")
	})
}

// TestPendingLanguages: the language is chosen from the user's locales in
// order (exact, then less specific: fr-CA reads fr), then the default
// language, then the first one; disabled languages and languages without
// an effective revision are never shown; a consent in any language holds
// until that language is disabled.
func TestPendingLanguages(t *testing.T) {
	eachBackend(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		t0 := store.Now()
		a := w.agreement(t, true, nil)
		en := w.language(t, a, "en", true)
		fr := w.language(t, a, "fr", true)
		de := w.language(t, a, "de-DE", true)
		es := w.language(t, a, "es", false)
		it := w.language(t, a, "it", true) // no effective revision
		ren := w.revision(t, en, t0.Add(-time.Hour), false, "english")
		rfr := w.revision(t, fr, t0.Add(-time.Hour), false, "français")
		rde := w.revision(t, de, t0.Add(-time.Hour), false, "deutsch")
		w.revision(t, es, t0.Add(-time.Hour), false, "español")
		w.revision(t, it, t0.Add(time.Hour), false, "italiano")
		for _, tc := range []struct {
			locales []string
			want    string
		}{
			{nil, ren.ID},
			{[]string{"fr"}, rfr.ID},
			{[]string{"FR-ca"}, rfr.ID},
			{[]string{"fr_CA"}, rfr.ID},
			{[]string{"de-DE"}, rde.ID},
			{[]string{"de"}, ren.ID}, // lookup never widens de to de-DE
			{[]string{"es", "it", "de-de-x-private"}, rde.ID},
			{[]string{"ja", "fr"}, rfr.ID},
			{[]string{"ja"}, ren.ID},
		} {
			p := w.pending(t, a, tc.locales, t0, tc.want)
			if p.RevisionID != tc.want {
				t.Errorf("locales %v: revision %s", tc.locales, p.RevisionID)
			}
		}

		// Without the default language, the first shown language.
		b := w.agreement(t, true, nil)
		bde := w.language(t, b, "de", true)
		bfr := w.language(t, b, "fr", true)
		w.revision(t, bfr, t0.Add(-time.Hour), false, "français")
		rbde := w.revision(t, bde, t0.Add(-time.Hour), false, "deutsch")
		w.pending(t, b, []string{"ja"}, t0, rbde.ID)

		// A consent in French holds whatever the locales, until French
		// is disabled.
		p := w.pending(t, a, []string{"fr"}, t0, rfr.ID)
		must(t, agreement.Accept(ctx, w.st, w.env, w.user, p, t0))
		w.pending(t, a, []string{"en"}, t0, "")
		off := *fr
		off.Enabled = false
		must(t, w.st.UpdateAgreementLanguage(ctx, &off))
		w.pending(t, a, []string{"fr"}, t0, ren.ID)
	})
}

// TestPendingUnavailable: a missing agreement (or one of another
// environment) is store.ErrNotFound, a disabled one asks nothing, and an
// agreement with nothing to show is ErrNoContent; a revoked consent asks
// again.
func TestPendingUnavailable(t *testing.T) {
	eachBackend(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		t0 := store.Now()
		_, err := agreement.Pending(ctx, w.st, w.env, uuid.NewString(), w.user, nil, t0)
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Pending of an unknown agreement: %v, want ErrNotFound", err)
		}
		a := w.agreement(t, true, nil)
		_, err = agreement.Pending(ctx, w.st, w.oenv, a.ID, w.other, nil, t0)
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Pending through another environment: %v, want ErrNotFound", err)
		}
		_, err = agreement.Pending(ctx, w.st, w.env, a.ID, w.user, nil, t0)
		if !errors.Is(err, agreement.ErrNoContent) {
			t.Errorf("Pending with no language: %v, want ErrNoContent", err)
		}
		en := w.language(t, a, "en", true)
		w.revision(t, en, t0.Add(time.Hour), false, "later")
		_, err = agreement.Pending(ctx, w.st, w.env, a.ID, w.user, nil, t0)
		if !errors.Is(err, agreement.ErrNoContent) {
			t.Errorf("Pending with no effective revision: %v, want ErrNoContent", err)
		}
		r := w.revision(t, en, t0.Add(-time.Hour), false, "now")
		p := w.pending(t, a, nil, t0, r.ID)
		must(t, agreement.Accept(ctx, w.st, w.env, w.user, p, t0))
		must(t, w.st.RevokeAgreementConsent(ctx, w.env, w.user, a.ID, t0))
		if !w.pending(t, a, nil, t0, r.ID).Reconsent {
			t.Error("a revoked consent's prompt is not marked Reconsent")
		}

		off := *a
		off.Enabled = false
		must(t, w.st.UpdateAgreement(ctx, &off))
		w.pending(t, a, nil, t0, "")

		// Accept for a user of another environment writes nothing.
		if err := agreement.Accept(ctx, w.st, w.env, w.other, p, t0); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Accept for another environment's user: %v, want ErrNotFound", err)
		}
	})
}

// TestEvaluate: the status of a consent, by the rules alone.
func TestEvaluate(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ok := store.AgreementConsent{ConsentedAt: t0, AgreementEnabled: true, LanguageEnabled: true}
	with := func(f func(c *store.AgreementConsent)) *store.AgreementConsent { c := ok; f(&c); return &c }
	for _, tc := range []struct {
		name string
		c    *store.AgreementConsent
		want string
	}{
		{"none", nil, wire.ConsentPending},
		{"accepted", &ok, wire.ConsentAccepted},
		{"revoked", with(func(c *store.AgreementConsent) { c.RevokedAt = t0 }), wire.ConsentPending},
		{"agreement disabled", with(func(c *store.AgreementConsent) { c.AgreementEnabled = false }), wire.ConsentAgreementDisabled},
		{"expired", with(func(c *store.AgreementConsent) { c.ExpiresAt = t0.Add(time.Hour) }), wire.ConsentExpired},
		{"not yet expired", with(func(c *store.AgreementConsent) { c.ExpiresAt = t0.Add(time.Hour + time.Millisecond) }), wire.ConsentAccepted},
		{"language disabled", with(func(c *store.AgreementConsent) { c.LanguageEnabled = false }), wire.ConsentPending},
		{"superseded", with(func(c *store.AgreementConsent) { c.ReconsentFrom = t0.Add(time.Hour) }), wire.ConsentPending},
		{"superseded later", with(func(c *store.AgreementConsent) { c.ReconsentFrom = t0.Add(2 * time.Hour) }), wire.ConsentAccepted},
	} {
		if got := agreement.Evaluate(tc.c, t0.Add(time.Hour)); got != tc.want {
			t.Errorf("%s: Evaluate = %s, want %s", tc.name, got, tc.want)
		}
	}
}

// TestExpiresAt: the reconsent period in days, fractions included.
func TestExpiresAt(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		days *float64
		want time.Time
	}{
		{nil, time.Time{}},
		{float(0), time.Time{}},
		{float(1), t0.Add(24 * time.Hour)},
		{float(365), t0.Add(365 * 24 * time.Hour)},
		{float(0.25), t0.Add(6 * time.Hour)},
	} {
		if got := agreement.ExpiresAt(wire.AgreementData{ReconsentPeriodDays: tc.days}, t0); !got.Equal(tc.want) {
			t.Errorf("ExpiresAt(%v) = %s, want %s", tc.days, got, tc.want)
		}
	}
}

// TestLocales: the profile's preferred language and locale, then the
// browser's languages by preference.
func TestLocales(t *testing.T) {
	for _, tc := range []struct {
		data, accept string
		want         []string
	}{
		{`{}`, "", nil},
		{`{"preferredLanguage":"fr","locale":"fr-CA"}`, "", []string{"fr", "fr-CA"}},
		{`{"locale":"de-DE"}`, "en-US,en;q=0.9", []string{"de-DE", "en-US", "en"}},
		{`{}`, "da, en-gb;q=0.8, en;q=0.7", []string{"da", "en-gb", "en"}},
		{`{}`, "en;q=0.5, fr;q=0.9, *;q=0.1, es;q=0", []string{"fr", "en"}},
		{`{}`, "it;q=bad, pt", []string{"pt"}},
		{`{}`, " , ;q=1", nil},
	} {
		got := agreement.Locales(&store.User{Data: json.RawMessage(tc.data)}, tc.accept)
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("Locales(%s, %q) = %v, want %v", tc.data, tc.accept, got, tc.want)
		}
	}
}
