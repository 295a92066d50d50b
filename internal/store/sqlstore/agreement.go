package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// ---- Agreements, their languages and revisions, users' consents
// (migration 0025). A language or revision is written only under an
// agreement (or language) of the environment named: the insert selects
// its parent there, so that an id of another environment writes nothing.

const agreementCols = `id, environment_id, name, enabled, data, created_at, updated_at`

func scanAgreement(r scanner) (store.Agreement, error) {
	var x store.Agreement
	var data string
	var c, u int64
	err := r.Scan(&x.ID, &x.EnvironmentID, &x.Name, &x.Enabled, &data, &c, &u)
	x.Data, x.CreatedAt, x.UpdatedAt = []byte(data), fromMS(c), fromMS(u)
	return x, err
}

func (s *SQLStore) CreateAgreement(ctx context.Context, x *store.Agreement) error {
	_, err := s.exec(ctx, `INSERT INTO agreements (`+agreementCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		x.ID, x.EnvironmentID, x.Name, x.Enabled, jsonText(x.Data), ms(x.CreatedAt), ms(x.UpdatedAt))
	return mapErr(err, "agreement", "id")
}

func (s *SQLStore) GetAgreement(ctx context.Context, envID, id string) (*store.Agreement, error) {
	return one(ctx, s, scanAgreement, `SELECT `+agreementCols+` FROM agreements WHERE environment_id = ? AND id = ?`+s.forUpdate(), envID, id)
}

func (s *SQLStore) ListAgreements(ctx context.Context, envID string) ([]store.Agreement, error) {
	return many(ctx, s, scanAgreement, `SELECT `+agreementCols+` FROM agreements WHERE environment_id = ? ORDER BY id`, envID)
}

func (s *SQLStore) UpdateAgreement(ctx context.Context, x *store.Agreement) error {
	return s.execOne(ctx, `UPDATE agreements SET name = ?, enabled = ?, data = ?, updated_at = ? WHERE environment_id = ? AND id = ?`,
		x.Name, x.Enabled, jsonText(x.Data), ms(x.UpdatedAt), x.EnvironmentID, x.ID)
}

func (s *SQLStore) DeleteAgreement(ctx context.Context, envID, id string) error {
	return s.execOne(ctx, `DELETE FROM agreements WHERE environment_id = ? AND id = ?`, envID, id)
}

func (s *SQLStore) CountAgreementConsents(ctx context.Context, envID string, now time.Time) (map[string]store.AgreementConsentCount, error) {
	type row struct {
		id                       string
		total, expired           int
		consented, revoked, gone sql.NullInt64
	}
	// Revoked consents are read too: a revocation moves the counts, so its
	// time is one of the events ChangedAt is the latest of.
	rows, err := many(ctx, s, func(r scanner) (row, error) {
		var x row
		return x, r.Scan(&x.id, &x.total, &x.expired, &x.consented, &x.revoked, &x.gone)
	}, `SELECT agreement_id, COUNT(CASE WHEN revoked_at IS NULL THEN 1 END),
 COUNT(CASE WHEN revoked_at IS NULL AND expires_at <= ? THEN 1 END),
 MAX(consented_at), MAX(revoked_at), MAX(CASE WHEN revoked_at IS NULL AND expires_at <= ? THEN expires_at END)
 FROM agreement_consents WHERE environment_id = ? GROUP BY agreement_id`, ms(now), ms(now), envID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]store.AgreementConsentCount, len(rows))
	for _, x := range rows {
		var last int64
		for _, v := range []sql.NullInt64{x.consented, x.revoked, x.gone} {
			if v.Valid && v.Int64 > last {
				last = v.Int64
			}
		}
		out[x.id] = store.AgreementConsentCount{Total: x.total, Expired: x.expired, ChangedAt: fromMS(last)}
	}
	return out, nil
}

// agreementInUseQuery reads the expression index of migration 0025, which
// differs by dialect as the JSON functions do.
func (s *SQLStore) agreementInUseQuery() string {
	if s.db.dialect == dialectPostgres {
		return `SELECT 1 FROM sign_on_policy_actions WHERE environment_id = ? AND (data::jsonb #>> '{agreement,id}') = ? AND type = 'AGREEMENT' LIMIT 1`
	}
	return `SELECT 1 FROM sign_on_policy_actions WHERE environment_id = ? AND json_extract(data, '$.agreement.id') = ? AND type = 'AGREEMENT' LIMIT 1`
}

func (s *SQLStore) AgreementInUse(ctx context.Context, envID, id string) (bool, error) {
	return s.exists(ctx, s.agreementInUseQuery(), envID, id)
}

func (s *SQLStore) AgreementHasConsents(ctx context.Context, envID, id string) (bool, error) {
	return s.exists(ctx, `SELECT 1 FROM agreement_consents WHERE agreement_id = ? AND environment_id = ? LIMIT 1`, id, envID)
}

// exists says whether query (a SELECT 1 … LIMIT 1) finds a row.
func (s *SQLStore) exists(ctx context.Context, query string, a ...any) (bool, error) {
	_, err := one(ctx, s, func(r scanner) (int, error) {
		var n int
		return n, r.Scan(&n)
	}, query, a...)
	switch err {
	case nil:
		return true, nil
	case store.ErrNotFound:
		return false, nil
	}
	return false, err
}

const agreementLanguageCols = `id, environment_id, agreement_id, locale, enabled, data, created_at, updated_at`

func scanAgreementLanguage(r scanner) (store.AgreementLanguage, error) {
	var x store.AgreementLanguage
	var data string
	var c, u int64
	err := r.Scan(&x.ID, &x.EnvironmentID, &x.AgreementID, &x.Locale, &x.Enabled, &data, &c, &u)
	x.Data, x.CreatedAt, x.UpdatedAt = []byte(data), fromMS(c), fromMS(u)
	return x, err
}

// insertedOne is ErrNotFound when an INSERT … SELECT found no parent row.
func insertedOne(res sql.Result, err error, resource, field string) error {
	if err != nil {
		return mapErr(err, resource, field)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

func (s *SQLStore) CreateAgreementLanguage(ctx context.Context, x *store.AgreementLanguage) error {
	res, err := s.exec(ctx, `INSERT INTO agreement_languages (`+agreementLanguageCols+`, locale_lc)
 SELECT ?, environment_id, id, ?, ?, ?, ?, ?, ? FROM agreements WHERE environment_id = ? AND id = ?`,
		x.ID, x.Locale, x.Enabled, jsonText(x.Data), ms(x.CreatedAt), ms(x.UpdatedAt), strings.ToLower(x.Locale), x.EnvironmentID, x.AgreementID)
	return insertedOne(res, err, "agreementLanguage", "locale")
}

func (s *SQLStore) GetAgreementLanguage(ctx context.Context, envID, agreementID, id string) (*store.AgreementLanguage, error) {
	return one(ctx, s, scanAgreementLanguage, `SELECT `+agreementLanguageCols+` FROM agreement_languages WHERE environment_id = ? AND agreement_id = ? AND id = ?`, envID, agreementID, id)
}

func (s *SQLStore) ListAgreementLanguages(ctx context.Context, envID, agreementID string) ([]store.AgreementLanguage, error) {
	return many(ctx, s, scanAgreementLanguage, `SELECT `+agreementLanguageCols+` FROM agreement_languages WHERE environment_id = ? AND agreement_id = ? ORDER BY locale_lc, id`, envID, agreementID)
}

func (s *SQLStore) UpdateAgreementLanguage(ctx context.Context, x *store.AgreementLanguage) error {
	err := s.execOne(ctx, `UPDATE agreement_languages SET locale = ?, locale_lc = ?, enabled = ?, data = ?, updated_at = ? WHERE environment_id = ? AND agreement_id = ? AND id = ?`,
		x.Locale, strings.ToLower(x.Locale), x.Enabled, jsonText(x.Data), ms(x.UpdatedAt), x.EnvironmentID, x.AgreementID, x.ID)
	return mapErr(err, "agreementLanguage", "locale")
}

func (s *SQLStore) DeleteAgreementLanguage(ctx context.Context, envID, agreementID, id string) error {
	return s.execOne(ctx, `DELETE FROM agreement_languages WHERE environment_id = ? AND agreement_id = ? AND id = ?`, envID, agreementID, id)
}

const agreementRevisionCols = `id, environment_id, agreement_id, language_id, effective_at, content_type, require_reconsent, created_at`

func scanAgreementRevision(r scanner) (store.AgreementRevision, error) {
	var x store.AgreementRevision
	var e, c int64
	err := r.Scan(&x.ID, &x.EnvironmentID, &x.AgreementID, &x.LanguageID, &e, &x.ContentType, &x.RequireReconsent, &c)
	x.EffectiveAt, x.CreatedAt = fromMS(e), fromMS(c)
	return x, err
}

func (s *SQLStore) CreateAgreementRevision(ctx context.Context, x *store.AgreementRevision) error {
	res, err := s.exec(ctx, `INSERT INTO agreement_revisions (`+agreementRevisionCols+`, text)
 SELECT ?, environment_id, agreement_id, id, ?, ?, ?, ?, ? FROM agreement_languages WHERE environment_id = ? AND agreement_id = ? AND id = ?`,
		x.ID, ms(x.EffectiveAt), x.ContentType, x.RequireReconsent, ms(x.CreatedAt), x.Text, x.EnvironmentID, x.AgreementID, x.LanguageID)
	return insertedOne(res, err, "agreementRevision", "effectiveAt")
}

func (s *SQLStore) GetAgreementRevision(ctx context.Context, envID, agreementID, languageID, id string) (*store.AgreementRevision, error) {
	return one(ctx, s, func(r scanner) (store.AgreementRevision, error) {
		var x store.AgreementRevision
		var e, c int64
		err := r.Scan(&x.ID, &x.EnvironmentID, &x.AgreementID, &x.LanguageID, &e, &x.ContentType, &x.RequireReconsent, &c, &x.Text)
		x.EffectiveAt, x.CreatedAt = fromMS(e), fromMS(c)
		return x, err
	}, `SELECT `+agreementRevisionCols+`, text FROM agreement_revisions WHERE environment_id = ? AND agreement_id = ? AND language_id = ? AND id = ?`,
		envID, agreementID, languageID, id)
}

func (s *SQLStore) ListAgreementRevisions(ctx context.Context, envID, agreementID, languageID string) ([]store.AgreementRevision, error) {
	if languageID == "" {
		return many(ctx, s, scanAgreementRevision, `SELECT `+agreementRevisionCols+` FROM agreement_revisions WHERE environment_id = ? AND agreement_id = ?
 ORDER BY language_id, effective_at`, envID, agreementID)
	}
	return many(ctx, s, scanAgreementRevision, `SELECT `+agreementRevisionCols+` FROM agreement_revisions WHERE environment_id = ? AND agreement_id = ? AND language_id = ?
 ORDER BY language_id, effective_at`, envID, agreementID, languageID)
}

func (s *SQLStore) DeleteAgreementRevision(ctx context.Context, envID, agreementID, languageID, id string) error {
	return s.execOne(ctx, `DELETE FROM agreement_revisions WHERE environment_id = ? AND agreement_id = ? AND language_id = ? AND id = ?`,
		envID, agreementID, languageID, id)
}

// agreementConsentSelect reads a consent with what decides whether it
// still holds: the agreement's and language's enabled flags, and the
// first later revision of the language that requires consent again
// (through agreement_revisions_effective).
const agreementConsentSelect = `SELECT c.environment_id, c.user_id, c.agreement_id, c.language_id, c.revision_id, c.consented_at, c.expires_at, c.revoked_at,
 a.enabled, l.enabled,
 (SELECT MIN(n.effective_at) FROM agreement_revisions n WHERE n.language_id = c.language_id AND n.effective_at > r.effective_at AND n.require_reconsent)
 FROM agreement_consents c
 JOIN agreements a ON a.id = c.agreement_id
 JOIN agreement_languages l ON l.id = c.language_id
 JOIN agreement_revisions r ON r.id = c.revision_id`

func scanAgreementConsent(r scanner) (store.AgreementConsent, error) {
	var x store.AgreementConsent
	var at int64
	var exp, rev, from sql.NullInt64
	err := r.Scan(&x.EnvironmentID, &x.UserID, &x.AgreementID, &x.LanguageID, &x.RevisionID, &at, &exp, &rev,
		&x.AgreementEnabled, &x.LanguageEnabled, &from)
	x.ConsentedAt, x.ExpiresAt, x.RevokedAt, x.ReconsentFrom = fromMS(at), fromNullMS(exp), fromNullMS(rev), fromNullMS(from)
	return x, err
}

func (s *SQLStore) PutAgreementConsent(ctx context.Context, x *store.AgreementConsent) error {
	// The user and the revision must both be the environment's: the
	// insert selects them there, or writes nothing.
	res, err := s.exec(ctx, `INSERT INTO agreement_consents (environment_id, user_id, agreement_id, language_id, revision_id, consented_at, expires_at, revoked_at)
 SELECT r.environment_id, u.id, r.agreement_id, r.language_id, r.id, ?, ?, NULL
 FROM agreement_revisions r JOIN users u ON u.environment_id = r.environment_id
 WHERE r.environment_id = ? AND r.agreement_id = ? AND r.language_id = ? AND r.id = ? AND u.id = ?
 ON CONFLICT (environment_id, user_id, agreement_id) DO UPDATE SET language_id = excluded.language_id, revision_id = excluded.revision_id,
 consented_at = excluded.consented_at, expires_at = excluded.expires_at, revoked_at = NULL`,
		ms(x.ConsentedAt), nullMS(x.ExpiresAt), x.EnvironmentID, x.AgreementID, x.LanguageID, x.RevisionID, x.UserID)
	return insertedOne(res, err, "agreementConsent", "agreement")
}

func (s *SQLStore) GetAgreementConsent(ctx context.Context, envID, userID, agreementID string) (*store.AgreementConsent, error) {
	return one(ctx, s, scanAgreementConsent, agreementConsentSelect+` WHERE c.environment_id = ? AND c.user_id = ? AND c.agreement_id = ?`, envID, userID, agreementID)
}

func (s *SQLStore) ListAgreementConsents(ctx context.Context, envID, userID string) ([]store.AgreementConsent, error) {
	return many(ctx, s, scanAgreementConsent, agreementConsentSelect+` WHERE c.environment_id = ? AND c.user_id = ? ORDER BY c.agreement_id`, envID, userID)
}

func (s *SQLStore) RevokeAgreementConsent(ctx context.Context, envID, userID, agreementID string, at time.Time) error {
	return s.execOne(ctx, `UPDATE agreement_consents SET revoked_at = ? WHERE environment_id = ? AND user_id = ? AND agreement_id = ?`,
		ms(at), envID, userID, agreementID)
}
