package mgmt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/agreement"
	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// PingOne's agreements (…/agreements), their languages and revisions:
// configuration, read and written with the configuration permissions.
// The rules PingOne states are kept here, each write under the agreement's
// row lock so that two writers cannot each make half of a broken state:
// an agreement is enabled only with an enabled language of the
// environment's default locale that has an effective revision, and is
// neither disabled nor deleted while a sign-on policy action names it,
// nor deleted once a user answered it (PingOne keeps that history); a
// language is enabled only with an effective revision; a revision never
// changes, and one already effective is never deleted, nor a language
// that has one, so that what users consented to stays.

// PingOne's limits.
const (
	agreementNameMax        = 256
	agreementDisplayNameMax = 256
	agreementUXTextMax      = 256
	agreementTextMax        = 32000
	agreementRevisionsMax   = 100
	agreementLocaleMax      = 35
	// A reconsent period long enough for any use, short enough that the
	// expiry it gives is a time.
	agreementReconsentDaysMax = 36500
	// effectiveAtSkew is how far in the past an effectiveAt may be: PingOne
	// takes "now", which a client's clock puts a little behind the server's.
	effectiveAtSkew = time.Minute
)

var (
	agreementContentTypes = []string{"text/html", "text/plain"}
	// agreementLocales are RFC 5646 language tags (a language, then
	// subtags).
	agreementLocales = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$`)
	// agreementUXTexts are PingOne's characters for the screen's texts:
	// letters, marks, digits, spaces and punctuation.
	agreementUXTexts = regexp.MustCompile(`^[\p{L}\p{M}\p{N}\p{Zs}\p{P}]+$`)
)

// The messages PingOne answers, which PingOne's Terraform provider
// matches.
const (
	msgAgreementNoDefault      = "The agreement can not be enabled without supporting the default language configured for the environment."
	msgAgreementInUse          = "The agreement is referenced by a sign-on policy action and can not be disabled or deleted."
	msgAgreementConsented      = "The agreement has user consents and can not be deleted: their history is kept. Disable it instead."
	msgLanguageNoRevision      = "The agreement language can not be enabled without an effective revision."
	msgLanguageEffective       = "Agreement language with effective revision can not be deleted."
	msgLanguageDefaultRequired = "The agreement is enabled: its language for the default language configured for the environment must stay enabled with an effective revision."
	msgRevisionEffective       = "A currently effective revision cannot be deleted."
	msgRevisionsFull           = "An agreement language can have at most 100 revisions."
)

const ctConsentRevoke = "application/vnd.pingidentity.consent.revoke+json"

func (a *API) agreementRoutes(mux router) {
	base := "/v1/environments/{envID}/agreements"
	mux.Handle("GET "+base, a.handle(a.listAgreements))
	mux.Handle("POST "+base, a.handle(a.createAgreement))
	mux.Handle("GET "+base+"/{agreementID}", a.handle(a.getAgreement))
	mux.Handle("PUT "+base+"/{agreementID}", a.handle(a.updateAgreement))
	mux.Handle("DELETE "+base+"/{agreementID}", a.handle(a.deleteAgreement))
	langs := base + "/{agreementID}/languages"
	mux.Handle("GET "+langs, a.handle(a.listAgreementLanguages))
	mux.Handle("POST "+langs, a.handle(a.createAgreementLanguage))
	mux.Handle("GET "+langs+"/{languageID}", a.handle(a.getAgreementLanguage))
	mux.Handle("PUT "+langs+"/{languageID}", a.handle(a.updateAgreementLanguage))
	mux.Handle("DELETE "+langs+"/{languageID}", a.handle(a.deleteAgreementLanguage))
	revs := langs + "/{languageID}/revisions"
	mux.Handle("GET "+revs, a.handle(a.listAgreementRevisions))
	mux.Handle("POST "+revs, a.handle(a.createAgreementRevision))
	mux.Handle("GET "+revs+"/{revisionID}", a.handle(a.getAgreementRevision))
	mux.Handle("DELETE "+revs+"/{revisionID}", a.handle(a.deleteAgreementRevision))
	mux.Handle("GET "+revs+"/{revisionID}/text", a.handle(a.getAgreementRevisionText))
	consents := "/v1/environments/{envID}/users/{userID}/agreementConsents"
	mux.Handle("GET "+consents, a.handle(a.listAgreementConsents))
	mux.Handle("GET "+consents+"/{agreementID}", a.handle(a.getAgreementConsent))
	mux.Handle("POST "+consents+"/{agreementID}", a.handle(a.revokeAgreementConsent))
}

// ---- rendering

func (a *API) agreementHref(envID, id string) string {
	return a.APIPath + "/environments/" + envID + "/agreements/" + id
}

func (a *API) renderAgreement(x *store.Agreement, counts store.AgreementConsentCount) (wire.Agreement, error) {
	// The counts are as of the latest consent event that moved them (or
	// the agreement's creation): a time of the read would make two reads
	// of an unchanged agreement differ.
	at := x.CreatedAt
	if counts.ChangedAt.After(at) {
		at = counts.ChangedAt
	}
	var d wire.AgreementData
	if err := json.Unmarshal(x.Data, &d); err != nil {
		return wire.Agreement{}, fmt.Errorf("agreement %s: %w", x.ID, err)
	}
	envHref := a.APIPath + "/environments/" + x.EnvironmentID
	self := a.agreementHref(x.EnvironmentID, x.ID)
	return wire.Agreement{
		Links: wire.Links{"self": {Href: self}, "environment": {Href: envHref}, "languages": {Href: self + "/languages"}},
		ID:    x.ID, Environment: wire.Ref{ID: x.EnvironmentID}, Name: x.Name, Enabled: x.Enabled, AgreementData: d,
		TotalConsents: counts.Total, TotalExpiredConsents: counts.Expired, ConsentsAggregatedAt: wire.TimePtr(at),
	}, nil
}

func (a *API) renderAgreementLanguage(l *store.AgreementLanguage, current map[string]store.AgreementRevision) (wire.AgreementLanguage, error) {
	var d wire.AgreementLanguageData
	if err := json.Unmarshal(l.Data, &d); err != nil {
		return wire.AgreementLanguage{}, fmt.Errorf("agreement language %s: %w", l.ID, err)
	}
	agr := a.agreementHref(l.EnvironmentID, l.AgreementID)
	self := agr + "/languages/" + l.ID
	out := wire.AgreementLanguage{
		Links: wire.Links{"self": {Href: self}, "agreement": {Href: agr}, "environment": {Href: a.APIPath + "/environments/" + l.EnvironmentID},
			"revisions": {Href: self + "/revisions"}},
		ID: l.ID, Agreement: wire.Ref{ID: l.AgreementID}, Locale: l.Locale, Enabled: l.Enabled, AgreementLanguageData: d,
	}
	if r, ok := current[l.ID]; ok {
		out.CurrentRevision = &wire.Ref{ID: r.ID}
	}
	return out, nil
}

func (a *API) revisionHref(r *store.AgreementRevision) string {
	return a.agreementHref(r.EnvironmentID, r.AgreementID) + "/languages/" + r.LanguageID + "/revisions/" + r.ID
}

// renderAgreementRevision renders r among its language's revisions revs.
func (a *API) renderAgreementRevision(r *store.AgreementRevision, revs []store.AgreementRevision) wire.AgreementRevision {
	agr := a.agreementHref(r.EnvironmentID, r.AgreementID)
	self := a.revisionHref(r)
	out := wire.AgreementRevision{
		Links: wire.Links{"self": {Href: self}, "text": {Href: self + "/text"}, "agreement": {Href: agr},
			"language": {Href: agr + "/languages/" + r.LanguageID}, "environment": {Href: a.APIPath + "/environments/" + r.EnvironmentID}},
		ID: r.ID, Agreement: wire.Ref{ID: r.AgreementID}, Language: wire.Ref{ID: r.LanguageID},
		ContentType: r.ContentType, EffectiveAt: wire.Time(r.EffectiveAt), RequireReconsent: r.RequireReconsent,
	}
	if t := agreement.NotValidAfter(r, revs); !t.IsZero() {
		out.NotValidAfter = wire.TimePtr(t)
	}
	return out
}

// ---- agreements

func (a *API) listAgreements(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	now := store.Now()
	list, err := a.Store.ListAgreements(r.Context(), env.ID)
	if err != nil {
		return err
	}
	counts, err := a.Store.CountAgreementConsents(r.Context(), env.ID, now)
	if err != nil {
		return err
	}
	items := make([]any, len(list))
	for i := range list {
		if items[i], err = a.renderAgreement(&list[i], counts[list[i].ID]); err != nil {
			return err
		}
	}
	wire.Write(w, http.StatusOK, wholeList(a.APIPath+"/environments/"+env.ID+"/agreements", "agreements", items))
	return nil
}

// writeAgreement answers the agreement with its consent counts.
func (a *API) writeAgreement(ctx context.Context, w http.ResponseWriter, status int, x *store.Agreement) error {
	now := store.Now()
	counts, err := a.Store.CountAgreementConsents(ctx, x.EnvironmentID, now)
	if err != nil {
		return err
	}
	out, err := a.renderAgreement(x, counts[x.ID])
	if err != nil {
		return err
	}
	wire.Write(w, status, out)
	return nil
}

func (a *API) getAgreement(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	x, err := a.Store.GetAgreement(r.Context(), env.ID, r.PathValue("agreementID"))
	if err != nil {
		return err
	}
	return a.writeAgreement(r.Context(), w, http.StatusOK, x)
}

// agreementOf validates a POST or PUT: a PUT replaces every member, so an
// absent description or reconsent period is removed.
func agreementOf(req *wire.AgreementRequest) (name string, enabled bool, d wire.AgreementData, err error) {
	var details []wire.Detail
	details = confName(details, "name", req.Name, agreementNameMax)
	details = confDescription(details, req.Description)
	if req.Enabled == nil {
		details = append(details, wire.Required("enabled"))
	}
	if p := req.ReconsentPeriodDays; p != nil && (math.IsNaN(*p) || *p <= 0 || *p > agreementReconsentDaysMax) {
		details = append(details, wire.InvalidValue("reconsentPeriodDays",
			fmt.Sprintf("The reconsent period must be more than 0 and at most %d days.", agreementReconsentDaysMax)))
	}
	if len(details) > 0 {
		return "", false, d, wire.InvalidData(details...)
	}
	if req.Description != nil {
		d.Description = *req.Description
	}
	d.ReconsentPeriodDays = req.ReconsentPeriodDays
	return strings.TrimSpace(*req.Name), bool(*req.Enabled), d, nil
}

// checkAgreementEnabled refuses enabling an agreement that has nothing
// to show in the environment's default language.
func checkAgreementEnabled(ctx context.Context, tx store.Store, x *store.Agreement) error {
	langs, err := tx.ListAgreementLanguages(ctx, x.EnvironmentID, x.ID)
	if err != nil {
		return err
	}
	revs, err := tx.ListAgreementRevisions(ctx, x.EnvironmentID, x.ID, "")
	if err != nil {
		return err
	}
	if !agreement.HasDefaultContent(langs, revs, store.Now()) {
		return constraintFailed(msgAgreementNoDefault)
	}
	return nil
}

// checkAgreementUnused refuses disabling or deleting an agreement that a
// sign-on policy action names.
func checkAgreementUnused(ctx context.Context, tx store.Store, x *store.Agreement) error {
	used, err := tx.AgreementInUse(ctx, x.EnvironmentID, x.ID)
	if err != nil {
		return err
	}
	if used {
		return constraintFailed(msgAgreementInUse)
	}
	return nil
}

func (a *API) createAgreement(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	var req wire.AgreementRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	name, enabled, d, err := agreementOf(&req)
	if err != nil {
		return err
	}
	if enabled {
		// A new agreement has no language yet.
		return constraintFailed(msgAgreementNoDefault)
	}
	now := store.Now()
	x := &store.Agreement{ID: uuid.NewString(), EnvironmentID: env.ID, Name: name, Data: mustJSON(d), CreatedAt: now, UpdatedAt: now}
	if err := a.Store.CreateAgreement(r.Context(), x); err != nil {
		return err
	}
	return a.writeAgreement(r.Context(), w, http.StatusCreated, x)
}

func (a *API) updateAgreement(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	var req wire.AgreementRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	name, enabled, d, err := agreementOf(&req)
	if err != nil {
		return err
	}
	var x *store.Agreement
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		if x, err = tx.GetAgreement(r.Context(), env.ID, r.PathValue("agreementID")); err != nil {
			return err
		}
		switch {
		case enabled && !x.Enabled:
			err = checkAgreementEnabled(r.Context(), tx, x)
		case !enabled && x.Enabled:
			err = checkAgreementUnused(r.Context(), tx, x)
		}
		if err != nil {
			return err
		}
		x.Name, x.Enabled, x.Data, x.UpdatedAt = name, enabled, mustJSON(d), store.Now()
		return tx.UpdateAgreement(r.Context(), x)
	})
	if err != nil {
		return err
	}
	return a.writeAgreement(r.Context(), w, http.StatusOK, x)
}

func (a *API) deleteAgreement(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		x, err := tx.GetAgreement(r.Context(), env.ID, r.PathValue("agreementID"))
		if err != nil {
			return err
		}
		if err := checkAgreementUnused(r.Context(), tx, x); err != nil {
			return err
		}
		consented, err := tx.AgreementHasConsents(r.Context(), env.ID, x.ID)
		if err != nil {
			return err
		}
		if consented {
			return constraintFailed(msgAgreementConsented)
		}
		return tx.DeleteAgreement(r.Context(), env.ID, x.ID)
	})
	if err != nil {
		return err
	}
	wire.NoContent(w)
	return nil
}

// ---- languages

// agreementOfPath reads the path's agreement; inside a transaction it
// locks the row until the end, so that writes of its languages and
// revisions, and of the agreement, run one after the other.
func (a *API) agreementOfPath(ctx context.Context, st store.Store, envID string, r *http.Request) (*store.Agreement, error) {
	return st.GetAgreement(ctx, envID, r.PathValue("agreementID"))
}

func (a *API) listAgreementLanguages(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	x, err := a.agreementOfPath(r.Context(), a.Store, env.ID, r)
	if err != nil {
		return err
	}
	langs, err := a.Store.ListAgreementLanguages(r.Context(), env.ID, x.ID)
	if err != nil {
		return err
	}
	revs, err := a.Store.ListAgreementRevisions(r.Context(), env.ID, x.ID, "")
	if err != nil {
		return err
	}
	current := agreement.CurrentRevisions(revs, store.Now())
	items := make([]any, len(langs))
	for i := range langs {
		if items[i], err = a.renderAgreementLanguage(&langs[i], current); err != nil {
			return err
		}
	}
	wire.Write(w, http.StatusOK, wholeList(a.agreementHref(env.ID, x.ID)+"/languages", "languages", items))
	return nil
}

// writeAgreementLanguage answers a language with its current revision.
func (a *API) writeAgreementLanguage(ctx context.Context, w http.ResponseWriter, status int, l *store.AgreementLanguage) error {
	revs, err := a.Store.ListAgreementRevisions(ctx, l.EnvironmentID, l.AgreementID, l.ID)
	if err != nil {
		return err
	}
	out, err := a.renderAgreementLanguage(l, agreement.CurrentRevisions(revs, store.Now()))
	if err != nil {
		return err
	}
	wire.Write(w, status, out)
	return nil
}

func (a *API) getAgreementLanguage(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	l, err := a.Store.GetAgreementLanguage(r.Context(), env.ID, r.PathValue("agreementID"), r.PathValue("languageID"))
	if err != nil {
		return err
	}
	return a.writeAgreementLanguage(r.Context(), w, http.StatusOK, l)
}

// uxText checks one of the screen's texts.
func uxText(details []wire.Detail, target, v string) []wire.Detail {
	switch {
	case v == "":
	case len([]rune(v)) > agreementUXTextMax:
		details = append(details, sizeLimit(target, agreementUXTextMax))
	case !agreementUXTexts.MatchString(v):
		details = append(details, wire.InvalidValue(target, "The text may hold only letters, marks, digits, spaces and punctuation."))
	}
	return details
}

// agreementLanguageOf validates a POST (create) or PUT of a language:
// enabled is required on a PUT, and false when a POST leaves it out.
func agreementLanguageOf(req *wire.AgreementLanguageRequest, create bool) (locale string, enabled bool, d wire.AgreementLanguageData, err error) {
	var details []wire.Detail
	switch l := req.Locale; {
	case l == nil || strings.TrimSpace(*l) == "":
		details = append(details, wire.Required("locale"))
	case len(*l) > agreementLocaleMax || !agreementLocales.MatchString(*l):
		details = append(details, wire.InvalidValue("locale", "The locale must be a language tag, such as en or en-US."))
	}
	switch n := req.DisplayName; {
	case n == nil || strings.TrimSpace(*n) == "":
		details = append(details, wire.Required("displayName"))
	case len([]rune(*n)) > agreementDisplayNameMax:
		details = append(details, sizeLimit("displayName", agreementDisplayNameMax))
	}
	if req.Enabled == nil && !create {
		details = append(details, wire.Required("enabled"))
	}
	if ux := req.UserExperience; ux != nil {
		details = uxText(details, "userExperience.acceptCheckboxText", ux.AcceptCheckboxText)
		details = uxText(details, "userExperience.continueButtonText", ux.ContinueButtonText)
		details = uxText(details, "userExperience.declineButtonText", ux.DeclineButtonText)
	}
	if len(details) > 0 {
		return "", false, d, wire.InvalidData(details...)
	}
	d.DisplayName = *req.DisplayName
	if ux := req.UserExperience; ux != nil && *ux != (wire.AgreementUserExperience{}) {
		d.UserExperience = ux
	}
	return *req.Locale, req.Enabled != nil && bool(*req.Enabled), d, nil
}

func (a *API) createAgreementLanguage(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	var req wire.AgreementLanguageRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	locale, enabled, d, err := agreementLanguageOf(&req, true)
	if err != nil {
		return err
	}
	if enabled {
		// A new language has no revision yet.
		return constraintFailed(msgLanguageNoRevision)
	}
	now := store.Now()
	l := &store.AgreementLanguage{ID: uuid.NewString(), EnvironmentID: env.ID, AgreementID: r.PathValue("agreementID"), Locale: locale,
		Data: mustJSON(d), CreatedAt: now, UpdatedAt: now}
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		if _, err := a.agreementOfPath(r.Context(), tx, env.ID, r); err != nil {
			return err
		}
		return tx.CreateAgreementLanguage(r.Context(), l)
	})
	if err != nil {
		return err
	}
	return a.writeAgreementLanguage(r.Context(), w, http.StatusCreated, l)
}

func (a *API) updateAgreementLanguage(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	var req wire.AgreementLanguageRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	locale, enabled, d, err := agreementLanguageOf(&req, false)
	if err != nil {
		return err
	}
	var l *store.AgreementLanguage
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		ctx := r.Context()
		x, err := a.agreementOfPath(ctx, tx, env.ID, r)
		if err != nil {
			return err
		}
		if l, err = tx.GetAgreementLanguage(ctx, env.ID, x.ID, r.PathValue("languageID")); err != nil {
			return err
		}
		langs, err := tx.ListAgreementLanguages(ctx, env.ID, x.ID)
		if err != nil {
			return err
		}
		revs, err := tx.ListAgreementRevisions(ctx, env.ID, x.ID, "")
		if err != nil {
			return err
		}
		now := store.Now()
		if _, ok := agreement.CurrentRevisions(revs, now)[l.ID]; enabled && !ok {
			return constraintFailed(msgLanguageNoRevision)
		}
		l.Locale, l.Enabled, l.Data, l.UpdatedAt = locale, enabled, mustJSON(d), now
		if x.Enabled {
			for i := range langs {
				if langs[i].ID == l.ID {
					langs[i] = *l
				}
			}
			if !agreement.HasDefaultContent(langs, revs, now) {
				return constraintFailed(msgLanguageDefaultRequired)
			}
		}
		return tx.UpdateAgreementLanguage(ctx, l)
	})
	if err != nil {
		return err
	}
	return a.writeAgreementLanguage(r.Context(), w, http.StatusOK, l)
}

func (a *API) deleteAgreementLanguage(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		ctx := r.Context()
		x, err := a.agreementOfPath(ctx, tx, env.ID, r)
		if err != nil {
			return err
		}
		l, err := tx.GetAgreementLanguage(ctx, env.ID, x.ID, r.PathValue("languageID"))
		if err != nil {
			return err
		}
		revs, err := tx.ListAgreementRevisions(ctx, env.ID, x.ID, l.ID)
		if err != nil {
			return err
		}
		if len(agreement.CurrentRevisions(revs, store.Now())) > 0 {
			return constraintFailed(msgLanguageEffective)
		}
		return tx.DeleteAgreementLanguage(ctx, env.ID, x.ID, l.ID)
	})
	if err != nil {
		return err
	}
	wire.NoContent(w)
	return nil
}

// ---- revisions

func (a *API) listAgreementRevisions(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	l, err := a.Store.GetAgreementLanguage(r.Context(), env.ID, r.PathValue("agreementID"), r.PathValue("languageID"))
	if err != nil {
		return err
	}
	revs, err := a.Store.ListAgreementRevisions(r.Context(), env.ID, l.AgreementID, l.ID)
	if err != nil {
		return err
	}
	items := renderAll(revs, func(x *store.AgreementRevision) wire.AgreementRevision { return a.renderAgreementRevision(x, revs) })
	self := a.agreementHref(env.ID, l.AgreementID) + "/languages/" + l.ID + "/revisions"
	wire.Write(w, http.StatusOK, wholeList(self, "revisions", items))
	return nil
}

// revisionOfPath reads the path's revision (with its text) and its
// language's revisions.
func (a *API) revisionOfPath(ctx context.Context, st store.Store, envID string, r *http.Request) (*store.AgreementRevision, []store.AgreementRevision, error) {
	x, err := st.GetAgreementRevision(ctx, envID, r.PathValue("agreementID"), r.PathValue("languageID"), r.PathValue("revisionID"))
	if err != nil {
		return nil, nil, err
	}
	revs, err := st.ListAgreementRevisions(ctx, envID, x.AgreementID, x.LanguageID)
	if err != nil {
		return nil, nil, err
	}
	return x, revs, nil
}

func (a *API) getAgreementRevision(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	x, revs, err := a.revisionOfPath(r.Context(), a.Store, env.ID, r)
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, a.renderAgreementRevision(x, revs))
	return nil
}

// getAgreementRevisionText answers a revision's _links.text: its text,
// which the revision itself leaves out, and its content type.
func (a *API) getAgreementRevisionText(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	x, err := a.Store.GetAgreementRevision(r.Context(), env.ID, r.PathValue("agreementID"), r.PathValue("languageID"), r.PathValue("revisionID"))
	if err != nil {
		return err
	}
	self := a.revisionHref(x)
	wire.Write(w, http.StatusOK, wire.AgreementRevisionText{Links: wire.Links{"self": {Href: self + "/text"}, "revision": {Href: self}},
		Data: x.Text, DataType: x.ContentType})
	return nil
}

// agreementRevisionOf validates a POST of a revision at now.
func agreementRevisionOf(req *wire.AgreementRevisionRequest, now time.Time) (*store.AgreementRevision, error) {
	var details []wire.Detail
	switch ct := req.ContentType; {
	case ct == nil:
		details = append(details, wire.Required("contentType"))
	case !oneOf(*ct, agreementContentTypes):
		details = append(details, wire.OneOf("contentType", agreementContentTypes))
	}
	switch e := req.EffectiveAt; {
	case e == nil:
		details = append(details, wire.Required("effectiveAt"))
	case time.Time(*e).Before(now.Add(-effectiveAtSkew)):
		details = append(details, wire.InvalidValue("effectiveAt", "The effective date must be the present date or a future date."))
	}
	if req.RequireReconsent == nil {
		details = append(details, wire.Required("requireReconsent"))
	}
	switch t := req.Text; {
	case t == nil || strings.TrimSpace(*t) == "":
		details = append(details, wire.Required("text"))
	case len([]rune(*t)) > agreementTextMax:
		details = append(details, sizeLimit("text", agreementTextMax))
	}
	if len(details) > 0 {
		return nil, wire.InvalidData(details...)
	}
	return &store.AgreementRevision{ID: uuid.NewString(), EffectiveAt: time.Time(*req.EffectiveAt).UTC().Truncate(time.Millisecond),
		ContentType: *req.ContentType, RequireReconsent: bool(*req.RequireReconsent), Text: *req.Text, CreatedAt: now}, nil
}

func (a *API) createAgreementRevision(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	var req wire.AgreementRevisionRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	x, err := agreementRevisionOf(&req, store.Now())
	if err != nil {
		return err
	}
	var revs []store.AgreementRevision
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		ctx := r.Context()
		agr, err := a.agreementOfPath(ctx, tx, env.ID, r)
		if err != nil {
			return err
		}
		l, err := tx.GetAgreementLanguage(ctx, env.ID, agr.ID, r.PathValue("languageID"))
		if err != nil {
			return err
		}
		if revs, err = tx.ListAgreementRevisions(ctx, env.ID, agr.ID, l.ID); err != nil {
			return err
		}
		if len(revs) >= agreementRevisionsMax {
			return constraintFailed(msgRevisionsFull)
		}
		x.EnvironmentID, x.AgreementID, x.LanguageID = env.ID, agr.ID, l.ID
		return tx.CreateAgreementRevision(ctx, x)
	})
	if err != nil {
		return err
	}
	revs = append(revs, *x)
	wire.Write(w, http.StatusCreated, a.renderAgreementRevision(x, revs))
	return nil
}

func (a *API) deleteAgreementRevision(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		ctx := r.Context()
		agr, err := a.agreementOfPath(ctx, tx, env.ID, r)
		if err != nil {
			return err
		}
		x, err := tx.GetAgreementRevision(ctx, env.ID, agr.ID, r.PathValue("languageID"), r.PathValue("revisionID"))
		if err != nil {
			return err
		}
		if !x.EffectiveAt.After(store.Now()) {
			return constraintFailed(msgRevisionEffective)
		}
		return tx.DeleteAgreementRevision(ctx, env.ID, agr.ID, x.LanguageID, x.ID)
	})
	if err != nil {
		return err
	}
	wire.NoContent(w)
	return nil
}

// ---- users' consents

// consentState renders the user's consent state for agreement x at now:
// the consent c (nil: none), and, when the status is not ACCEPTED, the
// language and revision the user would be asked to consent to (chosen
// for the user's locales; none when the agreement has nothing to show).
func (a *API) consentState(ctx context.Context, u *store.User, x *store.Agreement, c *store.AgreementConsent, now time.Time) (wire.AgreementConsent, error) {
	user := a.userHref(u.EnvironmentID, u.ID)
	out := wire.AgreementConsent{
		Links: wire.Links{"self": {Href: user + "/agreementConsents/" + x.ID}, "user": {Href: user},
			"agreement": {Href: a.agreementHref(x.EnvironmentID, x.ID)}, "environment": {Href: a.APIPath + "/environments/" + u.EnvironmentID}},
		Environment: wire.Ref{ID: u.EnvironmentID}, User: wire.Ref{ID: u.ID}, Agreement: wire.Ref{ID: x.ID},
		Status: agreement.Evaluate(c, now),
	}
	if c == nil && !x.Enabled {
		out.Status = wire.ConsentAgreementDisabled
	}
	if c != nil {
		out.LastConsent = &wire.AgreementLastConsent{At: wire.Time(c.ConsentedAt), Language: wire.Ref{ID: c.LanguageID}, Revision: wire.Ref{ID: c.RevisionID}}
		if !c.ExpiresAt.IsZero() {
			out.LastConsent.ExpiresAt = wire.TimePtr(c.ExpiresAt)
		}
	}
	if out.Status == wire.ConsentAccepted {
		out.Language, out.Revision = &wire.Ref{ID: c.LanguageID}, &wire.Ref{ID: c.RevisionID}
		return out, nil
	}
	p, err := agreement.Choose(ctx, a.Store, x.EnvironmentID, x.ID, agreement.UserLocales(u), now)
	switch {
	case errors.Is(err, agreement.ErrNoContent):
	case err != nil:
		return out, err
	default:
		out.Language, out.Revision = &wire.Ref{ID: p.LanguageID}, &wire.Ref{ID: p.RevisionID}
	}
	return out, nil
}

// consentUser loads the path's user (userScope checked it is within a
// population-scoped actor's reach).
func (a *API) consentUser(r *http.Request, perm string) (*store.User, error) {
	env, _, err := a.userScope(r, perm)
	if err != nil {
		return nil, err
	}
	return a.Store.GetUser(r.Context(), env.ID, r.PathValue("userID"))
}

// listAgreementConsents lists the agreements the user answered, one state
// each (PingOne shows only the latest consent).
func (a *API) listAgreementConsents(w http.ResponseWriter, r *http.Request) error {
	u, err := a.consentUser(r, roles.ReadUser)
	if err != nil {
		return err
	}
	ctx := r.Context()
	consents, err := a.Store.ListAgreementConsents(ctx, u.EnvironmentID, u.ID)
	if err != nil {
		return err
	}
	agrs, err := a.Store.ListAgreements(ctx, u.EnvironmentID)
	if err != nil {
		return err
	}
	byID := make(map[string]*store.Agreement, len(agrs))
	for i := range agrs {
		byID[agrs[i].ID] = &agrs[i]
	}
	now := store.Now()
	items := make([]any, 0, len(consents))
	for i := range consents {
		x := byID[consents[i].AgreementID]
		if x == nil {
			continue // deleted since the consents were read
		}
		st, err := a.consentState(ctx, u, x, &consents[i], now)
		if err != nil {
			return err
		}
		items = append(items, st)
	}
	wire.Write(w, http.StatusOK, wholeList(a.userHref(u.EnvironmentID, u.ID)+"/agreementConsents", "agreementConsents", items))
	return nil
}

// userConsent reads the user's consent to the path's agreement (nil when
// the user never answered it); the agreement must be the environment's.
func (a *API) userConsent(ctx context.Context, u *store.User, agreementID string) (*store.Agreement, *store.AgreementConsent, error) {
	x, err := a.Store.GetAgreement(ctx, u.EnvironmentID, agreementID)
	if err != nil {
		return nil, nil, err
	}
	c, err := a.Store.GetAgreementConsent(ctx, u.EnvironmentID, u.ID, x.ID)
	if errors.Is(err, store.ErrNotFound) {
		return x, nil, nil
	}
	return x, c, err
}

// getAgreementConsent answers the user's consent state for one agreement
// of the environment, PENDING (with what the user would be asked) when
// the user never answered it: PingOne's state of the consent, not a
// record that may be missing.
func (a *API) getAgreementConsent(w http.ResponseWriter, r *http.Request) error {
	u, err := a.consentUser(r, roles.ReadUser)
	if err != nil {
		return err
	}
	x, c, err := a.userConsent(r.Context(), u, r.PathValue("agreementID"))
	if err != nil {
		return err
	}
	st, err := a.consentState(r.Context(), u, x, c, store.Now())
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, st)
	return nil
}

// revokeAgreementConsent is PingOne's revoke: a POST of the vendor media
// type (with no body) that resets the user's consent state to PENDING.
// Revoking what is not accepted changes nothing.
func (a *API) revokeAgreementConsent(w http.ResponseWriter, r *http.Request) error {
	u, err := a.consentUser(r, roles.WriteUser)
	if err != nil {
		return err
	}
	if contentType(r, []string{ctConsentRevoke}) == "" {
		return wire.UnsupportedMediaType(r.Header.Get("Content-Type"))
	}
	x, c, err := a.userConsent(r.Context(), u, r.PathValue("agreementID"))
	if err != nil {
		return err
	}
	now := store.Now()
	if c != nil && c.RevokedAt.IsZero() {
		if err := a.Store.RevokeAgreementConsent(r.Context(), u.EnvironmentID, u.ID, x.ID, now); err != nil {
			return err
		}
		c.RevokedAt = now
	}
	st, err := a.consentState(r.Context(), u, x, c, now)
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, st)
	return nil
}
