package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func mkAgreement(envID, name string, enabled bool) *store.Agreement {
	ts := now()
	return &store.Agreement{ID: newID(), EnvironmentID: envID, Name: name, Enabled: enabled,
		Data: json.RawMessage(`{"description":"terms","reconsentPeriodDays":30}`), CreatedAt: ts, UpdatedAt: ts}
}

func mkAgreementLanguage(a *store.Agreement, locale string, enabled bool) *store.AgreementLanguage {
	ts := now()
	return &store.AgreementLanguage{ID: newID(), EnvironmentID: a.EnvironmentID, AgreementID: a.ID, Locale: locale, Enabled: enabled,
		Data: json.RawMessage(`{"displayName":"Terms ` + locale + `"}`), CreatedAt: ts, UpdatedAt: ts}
}

func mkAgreementRevision(l *store.AgreementLanguage, effective time.Time, reconsent bool, text string) *store.AgreementRevision {
	return &store.AgreementRevision{ID: newID(), EnvironmentID: l.EnvironmentID, AgreementID: l.AgreementID, LanguageID: l.ID,
		EffectiveAt: effective.UTC().Truncate(time.Millisecond), ContentType: "text/plain", RequireReconsent: reconsent, Text: text, CreatedAt: now()}
}

// withoutText is a revision as lists return it.
func withoutText(r *store.AgreementRevision) store.AgreementRevision {
	x := *r
	x.Text = ""
	return x
}

// testAgreements: agreements, languages and revisions round-trip; a
// locale is unique per agreement whatever its case and an effective time
// per language; nothing is read or written through another environment's
// (or agreement's, or language's) ids; deletes cascade; writes move no
// configuration version.
func testAgreements(t *testing.T, s store.Store) {
	ctx := t.Context()
	envA, envB := newEnv(t, s), newEnv(t, s)
	v := version(t, s, envA.ID)

	a := mkAgreement(envA.ID, "Terms", false)
	must(t, s.CreateAgreement(ctx, a), "CreateAgreement")
	a2 := mkAgreement(envA.ID, "Privacy", true)
	must(t, s.CreateAgreement(ctx, a2), "CreateAgreement 2")
	b := mkAgreement(envB.ID, "Terms", true)
	must(t, s.CreateAgreement(ctx, b), "CreateAgreement in B")
	got, err := s.GetAgreement(ctx, envA.ID, a.ID)
	must(t, err, "GetAgreement")
	checkRecord(t, "GetAgreement", got, a)
	_, err = s.GetAgreement(ctx, envB.ID, a.ID)
	wantErr(t, err, store.ErrNotFound, "GetAgreement through another environment")
	list, err := s.ListAgreements(ctx, envA.ID)
	must(t, err, "ListAgreements")
	checkSet(t, "ListAgreements(A)", list, *a, *a2)

	upd := *a
	upd.Name, upd.Enabled, upd.Data, upd.UpdatedAt = "Terms of use", true, json.RawMessage(`{}`), now().Add(time.Minute)
	must(t, s.UpdateAgreement(ctx, &upd), "UpdateAgreement")
	got, err = s.GetAgreement(ctx, envA.ID, a.ID)
	must(t, err, "GetAgreement after update")
	checkRecord(t, "GetAgreement after update", got, upd)
	foreign := upd
	foreign.EnvironmentID = envB.ID
	wantErr(t, s.UpdateAgreement(ctx, &foreign), store.ErrNotFound, "UpdateAgreement through another environment")

	// Languages.
	en := mkAgreementLanguage(a, "en", true)
	must(t, s.CreateAgreementLanguage(ctx, en), "CreateAgreementLanguage en")
	fr := mkAgreementLanguage(a, "fr-CA", false)
	must(t, s.CreateAgreementLanguage(ctx, fr), "CreateAgreementLanguage fr-CA")
	wantUnique(t, s.CreateAgreementLanguage(ctx, mkAgreementLanguage(a, "EN", true)), "agreementLanguage", "locale", "a taken locale, another case")
	must(t, s.CreateAgreementLanguage(ctx, mkAgreementLanguage(a2, "en", true)), "the same locale in another agreement")
	wantErr(t, s.CreateAgreementLanguage(ctx, mkAgreementLanguage(&foreign, "de", true)), store.ErrNotFound,
		"CreateAgreementLanguage under an agreement of another environment")
	gotL, err := s.GetAgreementLanguage(ctx, envA.ID, a.ID, en.ID)
	must(t, err, "GetAgreementLanguage")
	checkRecord(t, "GetAgreementLanguage", gotL, en)
	_, err = s.GetAgreementLanguage(ctx, envA.ID, a2.ID, en.ID)
	wantErr(t, err, store.ErrNotFound, "GetAgreementLanguage through another agreement")
	_, err = s.GetAgreementLanguage(ctx, envB.ID, a.ID, en.ID)
	wantErr(t, err, store.ErrNotFound, "GetAgreementLanguage through another environment")
	langs, err := s.ListAgreementLanguages(ctx, envA.ID, a.ID)
	must(t, err, "ListAgreementLanguages")
	checkList(t, "ListAgreementLanguages", langs, *en, *fr)
	updL := *fr
	updL.Locale, updL.Enabled, updL.UpdatedAt = "fr", true, now().Add(time.Minute)
	must(t, s.UpdateAgreementLanguage(ctx, &updL), "UpdateAgreementLanguage")
	gotL, err = s.GetAgreementLanguage(ctx, envA.ID, a.ID, fr.ID)
	must(t, err, "GetAgreementLanguage after update")
	checkRecord(t, "GetAgreementLanguage after update", gotL, updL)
	taken := updL
	taken.Locale = "En"
	wantUnique(t, s.UpdateAgreementLanguage(ctx, &taken), "agreementLanguage", "locale", "update to a taken locale")

	// Revisions.
	t0 := now().Add(-time.Hour)
	r1 := mkAgreementRevision(en, t0, false, "first")
	must(t, s.CreateAgreementRevision(ctx, r1), "CreateAgreementRevision")
	r2 := mkAgreementRevision(en, t0.Add(time.Minute), true, "<p>second</p>")
	r2.ContentType = "text/html"
	must(t, s.CreateAgreementRevision(ctx, r2), "CreateAgreementRevision 2")
	rf := mkAgreementRevision(&updL, t0, false, "premier")
	must(t, s.CreateAgreementRevision(ctx, rf), "CreateAgreementRevision fr")
	wantUnique(t, s.CreateAgreementRevision(ctx, mkAgreementRevision(en, t0, false, "same time")), "agreementRevision", "effectiveAt",
		"a revision effective at a taken time")
	misplaced := mkAgreementRevision(en, t0.Add(time.Hour), false, "x")
	misplaced.AgreementID = a2.ID
	wantErr(t, s.CreateAgreementRevision(ctx, misplaced), store.ErrNotFound, "CreateAgreementRevision under another agreement")
	misplaced = mkAgreementRevision(en, t0.Add(time.Hour), false, "x")
	misplaced.EnvironmentID = envB.ID
	wantErr(t, s.CreateAgreementRevision(ctx, misplaced), store.ErrNotFound, "CreateAgreementRevision through another environment")
	gotR, err := s.GetAgreementRevision(ctx, envA.ID, a.ID, en.ID, r2.ID)
	must(t, err, "GetAgreementRevision")
	checkRecord(t, "GetAgreementRevision", gotR, r2)
	_, err = s.GetAgreementRevision(ctx, envA.ID, a.ID, fr.ID, r2.ID)
	wantErr(t, err, store.ErrNotFound, "GetAgreementRevision through another language")
	revs, err := s.ListAgreementRevisions(ctx, envA.ID, a.ID, en.ID)
	must(t, err, "ListAgreementRevisions(en)")
	checkList(t, "ListAgreementRevisions(en)", revs, withoutText(r1), withoutText(r2))
	all, err := s.ListAgreementRevisions(ctx, envA.ID, a.ID, "")
	must(t, err, "ListAgreementRevisions(all)")
	want := []store.AgreementRevision{withoutText(r1), withoutText(r2), withoutText(rf)}
	if en.ID > fr.ID {
		want = []store.AgreementRevision{withoutText(rf), withoutText(r1), withoutText(r2)}
	}
	checkList(t, "ListAgreementRevisions(all), by language then time", all, want...)
	none, err := s.ListAgreementRevisions(ctx, envB.ID, a.ID, "")
	must(t, err, "ListAgreementRevisions through another environment")
	checkList(t, "ListAgreementRevisions through another environment", none)

	if got := version(t, s, envA.ID); got != v {
		t.Errorf("version after agreement writes = %d, want %d (agreements are not cached)", got, v)
	}

	// Deletes: a revision, a language with its revisions, an agreement
	// with its languages; never through another environment.
	wantErr(t, s.DeleteAgreementRevision(ctx, envB.ID, a.ID, en.ID, r1.ID), store.ErrNotFound, "DeleteAgreementRevision through another environment")
	must(t, s.DeleteAgreementRevision(ctx, envA.ID, a.ID, en.ID, r1.ID), "DeleteAgreementRevision")
	_, err = s.GetAgreementRevision(ctx, envA.ID, a.ID, en.ID, r1.ID)
	wantErr(t, err, store.ErrNotFound, "a deleted revision")
	wantErr(t, s.DeleteAgreementLanguage(ctx, envB.ID, a.ID, fr.ID), store.ErrNotFound, "DeleteAgreementLanguage through another environment")
	must(t, s.DeleteAgreementLanguage(ctx, envA.ID, a.ID, fr.ID), "DeleteAgreementLanguage")
	_, err = s.GetAgreementRevision(ctx, envA.ID, a.ID, fr.ID, rf.ID)
	wantErr(t, err, store.ErrNotFound, "a deleted language's revision")
	wantErr(t, s.DeleteAgreement(ctx, envB.ID, a.ID), store.ErrNotFound, "DeleteAgreement through another environment")
	must(t, s.DeleteAgreement(ctx, envA.ID, a.ID), "DeleteAgreement")
	_, err = s.GetAgreementLanguage(ctx, envA.ID, a.ID, en.ID)
	wantErr(t, err, store.ErrNotFound, "a deleted agreement's language")
	_, err = s.GetAgreementRevision(ctx, envA.ID, a.ID, en.ID, r2.ID)
	wantErr(t, err, store.ErrNotFound, "a deleted agreement's revision")
	got, err = s.GetAgreement(ctx, envB.ID, b.ID)
	must(t, err, "the other environment's agreement stays")
	checkRecord(t, "the other environment's agreement", got, b)
}

// testAgreementConsents: a consent is the latest per user and agreement,
// is read with what decides whether it holds (enabled flags, the first
// later revision asking again), is written only for the environment's
// user and revision, and goes with its user, agreement and environment.
func testAgreementConsents(t *testing.T, s store.Store) {
	ctx := t.Context()
	env, pop := envWithPop(t, s)
	envB, popB := envWithPop(t, s)
	alice, bob := newUser(t, s, env.ID, pop.ID, "alice"), newUser(t, s, env.ID, pop.ID, "bob")
	carol := newUser(t, s, envB.ID, popB.ID, "carol")
	a := mkAgreement(env.ID, "Terms", true)
	must(t, s.CreateAgreement(ctx, a), "CreateAgreement")
	en, fr := mkAgreementLanguage(a, "en", true), mkAgreementLanguage(a, "fr", true)
	must(t, s.CreateAgreementLanguage(ctx, en), "CreateAgreementLanguage en")
	must(t, s.CreateAgreementLanguage(ctx, fr), "CreateAgreementLanguage fr")
	t0 := now().Add(-time.Hour)
	r1 := mkAgreementRevision(en, t0, false, "one")
	r2 := mkAgreementRevision(en, t0.Add(10*time.Minute), false, "two: no reconsent")
	r3 := mkAgreementRevision(en, t0.Add(20*time.Minute), true, "three: asks again")
	r4 := mkAgreementRevision(en, t0.Add(30*time.Minute), true, "four: asks again")
	rf := mkAgreementRevision(fr, t0, false, "un")
	for _, r := range []*store.AgreementRevision{r1, r2, r3, r4, rf} {
		must(t, s.CreateAgreementRevision(ctx, r), "CreateAgreementRevision "+r.Text)
	}

	_, err := s.GetAgreementConsent(ctx, env.ID, alice.ID, a.ID)
	wantErr(t, err, store.ErrNotFound, "GetAgreementConsent with none")
	hasConsents := func(envID string, want bool, what string) {
		t.Helper()
		got, err := s.AgreementHasConsents(ctx, envID, a.ID)
		must(t, err, "AgreementHasConsents")
		if got != want {
			t.Errorf("AgreementHasConsents %s = %v, want %v", what, got, want)
		}
	}
	counts := func(at time.Time, want store.AgreementConsentCount, what string) {
		t.Helper()
		got, err := s.CountAgreementConsents(ctx, env.ID, at)
		must(t, err, "CountAgreementConsents")
		g := got[a.ID]
		if g.Total != want.Total || g.Expired != want.Expired || !g.ChangedAt.Equal(want.ChangedAt) || len(got) > 1 {
			t.Errorf("CountAgreementConsents %s = %v, want %v for %s only", what, got, want, a.ID)
		}
	}
	hasConsents(env.ID, false, "with none")
	counts(now(), store.AgreementConsentCount{}, "with none")
	at := now()
	c := &store.AgreementConsent{EnvironmentID: env.ID, UserID: alice.ID, AgreementID: a.ID, LanguageID: en.ID, RevisionID: r1.ID,
		ConsentedAt: at, ExpiresAt: at.Add(24 * time.Hour)}
	must(t, s.PutAgreementConsent(ctx, c), "PutAgreementConsent")
	want := *c
	want.AgreementEnabled, want.LanguageEnabled, want.ReconsentFrom = true, true, r3.EffectiveAt
	got, err := s.GetAgreementConsent(ctx, env.ID, alice.ID, a.ID)
	must(t, err, "GetAgreementConsent")
	checkRecord(t, "GetAgreementConsent: reconsent from the first later revision that asks", got, want)

	hasConsents(env.ID, true, "with one")
	hasConsents(envB.ID, false, "through another environment")
	counts(at, store.AgreementConsentCount{Total: 1, ChangedAt: at}, "before the expiry")
	counts(at.Add(24*time.Hour), store.AgreementConsentCount{Total: 1, Expired: 1, ChangedAt: at.Add(24 * time.Hour)}, "at the expiry")

	// A later consent replaces the earlier one, and a revoked one.
	must(t, s.RevokeAgreementConsent(ctx, env.ID, alice.ID, a.ID, at.Add(time.Second)), "RevokeAgreementConsent")
	hasConsents(env.ID, true, "with a revoked one")
	counts(at, store.AgreementConsentCount{ChangedAt: at.Add(time.Second)}, "with a revoked one")
	got, err = s.GetAgreementConsent(ctx, env.ID, alice.ID, a.ID)
	must(t, err, "GetAgreementConsent after revoke")
	revoked := want
	revoked.RevokedAt = at.Add(time.Second)
	checkRecord(t, "GetAgreementConsent after revoke", got, revoked)
	c2 := &store.AgreementConsent{EnvironmentID: env.ID, UserID: alice.ID, AgreementID: a.ID, LanguageID: en.ID, RevisionID: r4.ID,
		ConsentedAt: at.Add(time.Minute)}
	must(t, s.PutAgreementConsent(ctx, c2), "PutAgreementConsent again")
	want2 := *c2
	want2.AgreementEnabled, want2.LanguageEnabled = true, true
	got, err = s.GetAgreementConsent(ctx, env.ID, alice.ID, a.ID)
	must(t, err, "GetAgreementConsent after a new consent")
	checkRecord(t, "GetAgreementConsent after a new consent: the latest, no expiry, nothing later", got, want2)

	// Bob consents in French; the flags follow the agreement and language.
	cb := &store.AgreementConsent{EnvironmentID: env.ID, UserID: bob.ID, AgreementID: a.ID, LanguageID: fr.ID, RevisionID: rf.ID, ConsentedAt: at}
	must(t, s.PutAgreementConsent(ctx, cb), "PutAgreementConsent bob")
	off := *fr
	off.Enabled, off.UpdatedAt = false, now()
	must(t, s.UpdateAgreementLanguage(ctx, &off), "disable fr")
	wantB := *cb
	wantB.AgreementEnabled = true
	list, err := s.ListAgreementConsents(ctx, env.ID, bob.ID)
	must(t, err, "ListAgreementConsents")
	checkList(t, "ListAgreementConsents(bob)", list, wantB)

	// Only the environment's user and revisions.
	for name, bad := range map[string]store.AgreementConsent{
		"a user of another environment":  {EnvironmentID: env.ID, UserID: carol.ID, AgreementID: a.ID, LanguageID: en.ID, RevisionID: r1.ID, ConsentedAt: at},
		"another environment":            {EnvironmentID: envB.ID, UserID: carol.ID, AgreementID: a.ID, LanguageID: en.ID, RevisionID: r1.ID, ConsentedAt: at},
		"a revision of another language": {EnvironmentID: env.ID, UserID: bob.ID, AgreementID: a.ID, LanguageID: en.ID, RevisionID: rf.ID, ConsentedAt: at},
		"an unknown user":                {EnvironmentID: env.ID, UserID: newID(), AgreementID: a.ID, LanguageID: en.ID, RevisionID: r1.ID, ConsentedAt: at},
	} {
		wantErr(t, s.PutAgreementConsent(ctx, &bad), store.ErrNotFound, "PutAgreementConsent for "+name)
	}
	_, err = s.GetAgreementConsent(ctx, envB.ID, alice.ID, a.ID)
	wantErr(t, err, store.ErrNotFound, "GetAgreementConsent through another environment")
	wantErr(t, s.RevokeAgreementConsent(ctx, envB.ID, alice.ID, a.ID, at), store.ErrNotFound, "RevokeAgreementConsent through another environment")
	wantErr(t, s.RevokeAgreementConsent(ctx, env.ID, carol.ID, a.ID, at), store.ErrNotFound, "RevokeAgreementConsent with none")
	list, err = s.ListAgreementConsents(ctx, envB.ID, bob.ID)
	must(t, err, "ListAgreementConsents through another environment")
	checkList(t, "ListAgreementConsents through another environment", list)

	// A consent goes with its user, and with its language.
	must(t, s.DeleteUser(ctx, env.ID, alice.ID), "DeleteUser")
	_, err = s.GetAgreementConsent(ctx, env.ID, alice.ID, a.ID)
	wantErr(t, err, store.ErrNotFound, "a deleted user's consent")
	must(t, s.DeleteAgreementLanguage(ctx, env.ID, a.ID, fr.ID), "DeleteAgreementLanguage")
	_, err = s.GetAgreementConsent(ctx, env.ID, bob.ID, a.ID)
	wantErr(t, err, store.ErrNotFound, "a consent in a deleted language")

	// And with its environment.
	cb2 := &store.AgreementConsent{EnvironmentID: env.ID, UserID: bob.ID, AgreementID: a.ID, LanguageID: en.ID, RevisionID: r2.ID, ConsentedAt: at}
	must(t, s.PutAgreementConsent(ctx, cb2), "PutAgreementConsent bob en")
	must(t, s.DeleteEnvironment(ctx, env.ID), "DeleteEnvironment with agreements and consents")
	_, err = s.GetAgreement(ctx, env.ID, a.ID)
	wantErr(t, err, store.ErrNotFound, "a deleted environment's agreement")
}

// testAgreementInUse: an agreement is in use while a sign-on policy
// action of its environment names it.
func testAgreementInUse(t *testing.T, s store.Store) {
	ctx := t.Context()
	env, envB := newEnv(t, s), newEnv(t, s)
	a := mkAgreement(env.ID, "Terms", true)
	must(t, s.CreateAgreement(ctx, a), "CreateAgreement")
	inUse := func(envID string, want bool, what string) {
		t.Helper()
		got, err := s.AgreementInUse(ctx, envID, a.ID)
		must(t, err, "AgreementInUse")
		if got != want {
			t.Errorf("AgreementInUse %s = %v, want %v", what, got, want)
		}
	}
	inUse(env.ID, false, "with no action")
	p := newSignOnPolicy(t, s, env.ID, "Consent")
	other := mkAction(env.ID, p.ID, "LOGIN", 1)
	other.Data = json.RawMessage(`{"agreement":{"id":"` + a.ID + `"}}`)
	must(t, s.CreateSignOnPolicyAction(ctx, other), "a LOGIN action with the id in its data")
	inUse(env.ID, false, "named by an action of another type")
	act := mkAction(env.ID, p.ID, "AGREEMENT", 2)
	act.Data = json.RawMessage(`{"agreement":{"id":"` + a.ID + `"},"disableDeclineOption":false}`)
	must(t, s.CreateSignOnPolicyAction(ctx, act), "CreateSignOnPolicyAction AGREEMENT")
	inUse(env.ID, true, "named by an AGREEMENT action")
	inUse(envB.ID, false, "asked through another environment")
	must(t, s.DeleteSignOnPolicyAction(ctx, env.ID, p.ID, act.ID), "DeleteSignOnPolicyAction")
	inUse(env.ID, false, "after the action went")
}
