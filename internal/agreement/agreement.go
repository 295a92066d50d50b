// Package agreement holds PingOne's agreement rules: which revision of an
// agreement is current, which language a user is shown, whether a user's
// consent still holds, and recording a consent. The AGREEMENT sign-on
// action asks Pending and calls Accept; the management API reads consent
// states through Evaluate and checks writes against the same rules.
package agreement

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// DefaultLocale is the environment's default language. Gatehouse serves
// no language management, and a PingOne environment's default language
// is English until changed: an agreement is enabled only with an enabled
// English language, and a user whose locales match no language is shown
// it.
const DefaultLocale = "en"

// ErrNoContent means the agreement has no enabled language with an
// effective revision: nothing can be shown.
var ErrNoContent = errors.New("agreement: no enabled language has an effective revision")

// Prompt is what the AGREEMENT action shows: the agreement, the language
// chosen for the user's locales, the current (effective) revision and its
// text, and the language's texts for the screen's controls.
type Prompt struct {
	AgreementID string
	LanguageID  string
	RevisionID  string
	Locale      string
	ContentType string // text/html | text/plain
	Text        string
	// DisplayName is the agreement's title in the language.
	DisplayName        string
	AcceptCheckboxText string
	ContinueButtonText string
	DeclineButtonText  string
	// Reconsent says the user consented before: a revision that requires
	// it, an expiry or a revocation asks again.
	Reconsent bool
}

// Pending returns the prompt when userID has not accepted a revision of
// agreementID that still holds (never consented, revoked, expired, a
// later revision requires consent again, or the language consented in was
// disabled), nil when consent is current. A disabled agreement is not
// used anywhere (PingOne): nil, asking nothing. A missing agreement is
// store.ErrNotFound; one with nothing to show is ErrNoContent.
func Pending(ctx context.Context, st store.Store, envID, agreementID, userID string, locales []string, now time.Time) (*Prompt, error) {
	a, err := st.GetAgreement(ctx, envID, agreementID)
	if err != nil {
		return nil, err
	}
	if !a.Enabled {
		return nil, nil
	}
	c, err := st.GetAgreementConsent(ctx, envID, userID, agreementID)
	switch {
	case err == nil:
		if Evaluate(c, now) == wire.ConsentAccepted {
			return nil, nil
		}
	case errors.Is(err, store.ErrNotFound):
		c = nil
	default:
		return nil, err
	}
	p, err := Choose(ctx, st, envID, agreementID, locales, now)
	if err != nil {
		return nil, err
	}
	p.Reconsent = c != nil
	return p, nil
}

// Choose picks the language and current revision userID would be shown
// now for locales (most preferred first), with its text.
func Choose(ctx context.Context, st store.Store, envID, agreementID string, locales []string, now time.Time) (*Prompt, error) {
	langs, err := st.ListAgreementLanguages(ctx, envID, agreementID)
	if err != nil {
		return nil, err
	}
	revs, err := st.ListAgreementRevisions(ctx, envID, agreementID, "")
	if err != nil {
		return nil, err
	}
	current := CurrentRevisions(revs, now)
	var shown []store.AgreementLanguage
	for _, l := range langs {
		if _, ok := current[l.ID]; ok && l.Enabled {
			shown = append(shown, l)
		}
	}
	l := MatchLanguage(shown, locales)
	if l == nil {
		return nil, ErrNoContent
	}
	r, err := st.GetAgreementRevision(ctx, envID, agreementID, l.ID, current[l.ID].ID)
	if err != nil {
		return nil, err
	}
	var d wire.AgreementLanguageData
	if err := json.Unmarshal(l.Data, &d); err != nil {
		return nil, fmt.Errorf("agreement language %s: %w", l.ID, err)
	}
	p := &Prompt{AgreementID: agreementID, LanguageID: l.ID, RevisionID: r.ID, Locale: l.Locale,
		ContentType: r.ContentType, Text: r.Text, DisplayName: d.DisplayName}
	if ux := d.UserExperience; ux != nil {
		p.AcceptCheckboxText, p.ContinueButtonText, p.DeclineButtonText = ux.AcceptCheckboxText, ux.ContinueButtonText, ux.DeclineButtonText
	}
	return p, nil
}

// CurrentRevisions returns each language's current revision at now: the
// one with the latest effective time not after now. revs must be ordered
// by language, then effective time (as the store lists them).
func CurrentRevisions(revs []store.AgreementRevision, now time.Time) map[string]store.AgreementRevision {
	out := map[string]store.AgreementRevision{}
	for _, r := range revs {
		if !r.EffectiveAt.After(now) {
			out[r.LanguageID] = r
		}
	}
	return out
}

// MatchLanguage picks among langs the one for locales by RFC 4647 lookup,
// as PingOne does: each locale as given, then less and less specific
// (en-GB, then en); then the environment's default language; then, so
// that a user is never left without the agreement while it has content,
// the first language by locale. Tags compare whatever their case, with
// "_" read as "-". nil when langs is empty.
func MatchLanguage(langs []store.AgreementLanguage, locales []string) *store.AgreementLanguage {
	if len(langs) == 0 {
		return nil
	}
	byTag := make(map[string]int, len(langs))
	for i, l := range langs {
		byTag[normTag(l.Locale)] = i
	}
	for _, loc := range append(append([]string(nil), locales...), DefaultLocale) {
		for tag := normTag(loc); tag != ""; tag = truncateTag(tag) {
			if i, ok := byTag[tag]; ok {
				return &langs[i]
			}
		}
	}
	return &langs[0]
}

func normTag(t string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(t), "_", "-"))
}

// truncateTag drops a tag's last subtag, and a single-character subtag
// left before it (RFC 4647 §3.4); "" when nothing is left.
func truncateTag(t string) string {
	i := strings.LastIndexByte(t, '-')
	if i < 0 {
		return ""
	}
	t = t[:i]
	if j := strings.LastIndexByte(t, '-'); j >= 0 && len(t)-j == 2 {
		t = t[:j]
	}
	return t
}

// Evaluate is the status of a consent at now, as PingOne reports it: none
// or revoked is PENDING, an agreement disabled since is
// AGREEMENT_DISABLED, one past its expiry EXPIRED, and one whose language
// was disabled or that a later effective revision asks again for is
// PENDING; otherwise ACCEPTED.
func Evaluate(c *store.AgreementConsent, now time.Time) string {
	switch {
	case c == nil || !c.RevokedAt.IsZero():
		return wire.ConsentPending
	case !c.AgreementEnabled:
		return wire.ConsentAgreementDisabled
	case !c.ExpiresAt.IsZero() && !now.Before(c.ExpiresAt):
		return wire.ConsentExpired
	case !c.LanguageEnabled, !c.ReconsentFrom.IsZero() && !now.Before(c.ReconsentFrom):
		return wire.ConsentPending
	}
	return wire.ConsentAccepted
}

// ExpiresAt is when a consent given at `at` to an agreement whose data is
// d expires: reconsentPeriodDays later (fractions of days count), or
// never (zero) without one.
func ExpiresAt(d wire.AgreementData, at time.Time) time.Time {
	if d.ReconsentPeriodDays == nil || *d.ReconsentPeriodDays <= 0 {
		return time.Time{}
	}
	return at.Add(time.Duration(*d.ReconsentPeriodDays * float64(24*time.Hour))).Truncate(time.Millisecond)
}

// Accept records userID's consent to p.RevisionID in p.LanguageID at now
// (PingOne's agreementConsents record), expiring after the agreement's
// reconsent period. The agreement is read again in the write's
// transaction: store.ErrNotFound when it, the revision or the user is
// gone.
func Accept(ctx context.Context, st store.Store, envID, userID string, p *Prompt, now time.Time) error {
	return st.Tx(ctx, func(tx store.Store) error {
		a, err := tx.GetAgreement(ctx, envID, p.AgreementID)
		if err != nil {
			return err
		}
		var d wire.AgreementData
		if err := json.Unmarshal(a.Data, &d); err != nil {
			return fmt.Errorf("agreement %s: %w", a.ID, err)
		}
		at := now.UTC().Truncate(time.Millisecond)
		return tx.PutAgreementConsent(ctx, &store.AgreementConsent{EnvironmentID: envID, UserID: userID,
			AgreementID: p.AgreementID, LanguageID: p.LanguageID, RevisionID: p.RevisionID, ConsentedAt: at, ExpiresAt: ExpiresAt(d, at)})
	})
}

// Locales are the locales to choose a user's language by, in PingOne's
// order: the user's profile (UserLocales), then the browser's
// Accept-Language (AcceptLanguage); the default language comes after
// them in MatchLanguage.
func Locales(u *store.User, acceptLanguage string) []string {
	return append(UserLocales(u), AcceptLanguage(acceptLanguage)...)
}

// AcceptLanguage reads an Accept-Language header (RFC 9110 §12.5.4) into
// its language tags, most preferred first: by q (default 1; q=0 and "*"
// are left out), in header order among equals. At most 16 are read.
func AcceptLanguage(h string) []string {
	type tag struct {
		tag string
		q   float64
	}
	var tags []tag
	for _, part := range strings.Split(h, ",") {
		if len(tags) == 16 {
			break
		}
		name, params, _ := strings.Cut(part, ";")
		name = strings.TrimSpace(name)
		if name == "" || name == "*" {
			continue
		}
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || f < 0 || f > 1 {
					f = 0
				}
				q = f
			}
		}
		if q > 0 {
			tags = append(tags, tag{name, q})
		}
	}
	sort.SliceStable(tags, func(i, j int) bool { return tags[i].q > tags[j].q })
	out := make([]string, len(tags))
	for i, t := range tags {
		out[i] = t.tag
	}
	return out
}

// UserLocales are the locales a user's profile prefers, most preferred
// first: preferredLanguage, then locale (PingOne's order before the
// browser's).
func UserLocales(u *store.User) []string {
	var d struct {
		PreferredLanguage string `json:"preferredLanguage"`
		Locale            string `json:"locale"`
	}
	_ = json.Unmarshal(u.Data, &d) // a profile without them prefers nothing
	var out []string
	for _, l := range []string{d.PreferredLanguage, d.Locale} {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// HasDefaultContent says whether langs (an agreement's) hold what PingOne
// requires to enable the agreement: an enabled language of the default
// locale with an effective revision at now. revs are the agreement's
// revisions as the store lists them.
func HasDefaultContent(langs []store.AgreementLanguage, revs []store.AgreementRevision, now time.Time) bool {
	current := CurrentRevisions(revs, now)
	for _, l := range langs {
		if _, ok := current[l.ID]; ok && l.Enabled && normTag(l.Locale) == DefaultLocale {
			return true
		}
	}
	return false
}

// NotValidAfter is when revision r stops being valid among its
// language's revisions revs (ordered by effective time): when the first
// later revision that requires consent again becomes effective. Zero
// when none does.
func NotValidAfter(r *store.AgreementRevision, revs []store.AgreementRevision) time.Time {
	for _, n := range revs {
		if n.LanguageID == r.LanguageID && n.EffectiveAt.After(r.EffectiveAt) && n.RequireReconsent {
			return n.EffectiveAt
		}
	}
	return time.Time{}
}
