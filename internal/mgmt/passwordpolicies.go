package mgmt

import (
	"context"
	"math"
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Password policies. Exactly one policy of an environment is its default:
// making another one the default moves the flag in the same transaction,
// and the default cannot be deleted, nor can a policy a population uses.
//
// Ranges are PingOne's as its API reference and Terraform provider state
// them: length.min 8–32 and length.max up to 255; history, lockout and the
// age rules positive, maxAgeDays above minAgeDays + 21 (the expiry warning
// window); maxRepeatedCharacters, minUniqueCharacters and minComplexity
// take only the values 2, 5 and 7; minCharacters counts 0–1 per character
// set; alphabet and number sequence rules 2–3, qwerty and shifted number
// row rules 3. Integer fields take fractions and truncate them, as PingOne
// does (minAgeDays 1.5 becomes 1).

const maxInt32 = math.MaxInt32

// The character sets minCharacters may name, as PingOne spells them.
var charsetKeys = []string{"ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz", "0123456789", "~!@#$%^&*()-_=+[]{}|;:,.<>/?"}

func (a *API) passwordPolicyRoutes(mux router) {
	base := "/v1/environments/{envID}/passwordPolicies"
	mux.Handle("GET "+base, a.handle(a.listPasswordPolicies))
	mux.Handle("POST "+base, a.handle(a.createPasswordPolicy))
	mux.Handle("GET "+base+"/{policyID}", a.handle(a.getPasswordPolicy))
	mux.Handle("PUT "+base+"/{policyID}", a.handle(a.updatePasswordPolicy))
	mux.Handle("DELETE "+base+"/{policyID}", a.handle(a.deletePasswordPolicy))
}

func (a *API) renderPasswordPolicy(p *config.PasswordPolicy, populations int) wire.PasswordPolicy {
	envHref := a.APIPath + "/environments/" + p.EnvironmentID
	rules := p.Settings
	return wire.PasswordPolicy{
		Links: wire.Links{"self": {Href: envHref + "/passwordPolicies/" + p.ID}, "environment": {Href: envHref}},
		ID:    p.ID, Environment: wire.Ref{ID: p.EnvironmentID}, Name: p.Name, PasswordPolicyRules: rules, Default: p.Default,
		PopulationCount: populations, CreatedAt: wire.Time(p.CreatedAt), UpdatedAt: wire.Time(p.UpdatedAt),
	}
}

func (a *API) listPasswordPolicies(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	ps, err := a.Store.ListPasswordPolicies(r.Context(), env.ID)
	if err != nil {
		return err
	}
	counts, err := a.Store.CountPopulationsByPasswordPolicy(r.Context(), env.ID)
	if err != nil {
		return err
	}
	items, err := renderDecoded(ps, config.DecodePasswordPolicy, func(p *config.PasswordPolicy) wire.PasswordPolicy {
		return a.renderPasswordPolicy(p, counts[p.ID])
	})
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, wholeList(a.APIPath+"/environments/"+env.ID+"/passwordPolicies", "passwordPolicies", items))
	return nil
}

// writePasswordPolicy answers p with its population count.
func (a *API) writePasswordPolicy(ctx context.Context, w http.ResponseWriter, status int, p *store.PasswordPolicy) error {
	counts, err := a.Store.CountPopulationsByPasswordPolicy(ctx, p.EnvironmentID)
	if err != nil {
		return err
	}
	return writeDecoded(w, status, p, config.DecodePasswordPolicy, func(p *config.PasswordPolicy) wire.PasswordPolicy {
		return a.renderPasswordPolicy(p, counts[p.ID])
	})
}

func (a *API) getPasswordPolicy(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	p, err := a.Store.GetPasswordPolicy(r.Context(), env.ID, r.PathValue("policyID"))
	if err != nil {
		return err
	}
	return a.writePasswordPolicy(r.Context(), w, http.StatusOK, p)
}

// ppRules checks the rule fields of a password policy body and returns them
// as they are stored.
type ppRules struct {
	details []wire.Detail
}

// between reads an optional integer that must lie in [min, max].
func (c *ppRules) between(target string, v *wire.Int, min, max int64) *int64 {
	if v == nil {
		return nil
	}
	n := int64(*v)
	if n < min || n > max {
		c.details = append(c.details, confRange(target, min, max))
	}
	return &n
}

// required reads an integer that must be present and lie in [min, max].
func (c *ppRules) required(target string, v *wire.Int, min, max int64) int64 {
	if v == nil {
		c.details = append(c.details, wire.Required(target))
		return 0
	}
	return *c.between(target, v, min, max)
}

func (c *ppRules) flag(target string, v *bool) bool {
	if v == nil {
		c.details = append(c.details, wire.Required(target))
		return false
	}
	return *v
}

func (c *ppRules) sequence(target string, v *wire.SequenceRuleRequest, min, max int64) *wire.SequenceRule {
	if v == nil {
		return nil
	}
	return &wire.SequenceRule{MaxLength: c.required(target+".maxLength", v.MaxLength, min, max)}
}

func validatePasswordPolicy(req *wire.PasswordPolicyRequest) (wire.PasswordPolicyRules, error) {
	c := &ppRules{}
	c.details = confName(c.details, "name", req.Name, 256)
	c.details = confDescription(c.details, req.Description)
	rules := wire.PasswordPolicyRules{
		Description:          str(req.Description),
		ExcludesProfileData:  c.flag("excludesProfileData", req.ExcludesProfileData),
		NotSimilarToCurrent:  c.flag("notSimilarToCurrent", req.NotSimilarToCurrent),
		ExcludesCommonlyUsed: c.flag("excludesCommonlyUsed", req.ExcludesCommonlyUsed),
	}
	rules.MinAgeDays = c.between("minAgeDays", req.MinAgeDays, 1, maxInt32)
	minMax := int64(1)
	if rules.MinAgeDays != nil && *rules.MinAgeDays >= 1 && *rules.MinAgeDays < maxInt32-22 {
		minMax = *rules.MinAgeDays + 22
	}
	rules.MaxAgeDays = c.between("maxAgeDays", req.MaxAgeDays, minMax, maxInt32)
	rules.MaxRepeatedCharacters = c.between("maxRepeatedCharacters", req.MaxRepeatedCharacters, 2, 2)
	rules.MinUniqueCharacters = c.between("minUniqueCharacters", req.MinUniqueCharacters, 5, 5)
	rules.MinComplexity = c.between("minComplexity", req.MinComplexity, 7, 7)
	if h := req.History; h != nil {
		rules.History = &wire.PasswordHistory{
			Count:         c.required("history.count", h.Count, 1, maxInt32),
			RetentionDays: c.required("history.retentionDays", h.RetentionDays, 1, maxInt32),
		}
	}
	if l := req.Lockout; l != nil {
		rules.Lockout = &wire.PasswordLockout{
			FailureCount:    c.required("lockout.failureCount", l.FailureCount, 1, maxInt32),
			DurationSeconds: c.required("lockout.durationSeconds", l.DurationSeconds, 1, maxInt32),
		}
	}
	if l := req.Length; l != nil {
		min := c.required("length.min", l.Min, 8, 32)
		max := int64(255)
		if l.Max != nil {
			low := min
			if low < 8 || low > 32 {
				low = 8
			}
			max = *c.between("length.max", l.Max, low, 255)
		}
		rules.Length = &wire.PasswordLength{Min: min, Max: max}
	}
	if req.MinCharacters != nil {
		rules.MinCharacters = map[string]int64{}
		keys := make([]string, 0, len(req.MinCharacters))
		for k := range req.MinCharacters {
			keys = append(keys, k)
		}
		sortStrings(keys)
		for _, k := range keys {
			v := req.MinCharacters[k]
			if !slices.Contains(charsetKeys, k) {
				c.details = append(c.details, wire.Detail{Code: wire.DetailInvalidValue, Target: "minCharacters",
					Message:    "Unknown character set " + k + ".",
					InnerError: &wire.InnerError{AllowedValues: charsetKeys}})
				continue
			}
			rules.MinCharacters[k] = *c.between("minCharacters."+k, &v, 0, 1)
		}
	}
	rules.AlphabetSequenceRule = c.sequence("alphabetSequenceRule", req.AlphabetSequenceRule, 2, 3)
	rules.NumberSequenceRule = c.sequence("numberSequenceRule", req.NumberSequenceRule, 2, 3)
	rules.QwertySequenceRule = c.sequence("qwertySequenceRule", req.QwertySequenceRule, 3, 3)
	rules.ShiftedNumberRowSequenceRule = c.sequence("shiftedNumberRowSequenceRule", req.ShiftedNumberRowSequenceRule, 3, 3)
	if len(c.details) > 0 {
		return rules, wire.InvalidData(c.details...)
	}
	return rules, nil
}

func (a *API) createPasswordPolicy(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	var req wire.PasswordPolicyRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	rules, err := validatePasswordPolicy(&req)
	if err != nil {
		return err
	}
	now := store.Now()
	p := &store.PasswordPolicy{ID: uuid.NewString(), EnvironmentID: env.ID, Name: strings.TrimSpace(*req.Name),
		Default: req.Default != nil && *req.Default, Data: mustJSON(rules), CreatedAt: now, UpdatedAt: now}
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		if p.Default {
			if err := tx.ClearDefaultPasswordPolicy(r.Context(), env.ID, p.ID); err != nil {
				return err
			}
		}
		return tx.CreatePasswordPolicy(r.Context(), p)
	})
	if err != nil {
		return err
	}
	return a.writePasswordPolicy(r.Context(), w, http.StatusCreated, p)
}

func (a *API) updatePasswordPolicy(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	var req wire.PasswordPolicyRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	var p *store.PasswordPolicy
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		var err error
		if p, err = tx.GetPasswordPolicy(r.Context(), env.ID, r.PathValue("policyID")); err != nil {
			return err
		}
		rules, err := validatePasswordPolicy(&req)
		if err != nil {
			return err
		}
		p.Name, p.Data, p.UpdatedAt = strings.TrimSpace(*req.Name), mustJSON(rules), store.Now()
		// An environment always has a default policy: default:false on the
		// default is not a way to have none, so only true changes the flag.
		if req.Default != nil && *req.Default && !p.Default {
			p.Default = true
			if err := tx.ClearDefaultPasswordPolicy(r.Context(), env.ID, p.ID); err != nil {
				return err
			}
		}
		return tx.UpdatePasswordPolicy(r.Context(), p)
	})
	if err != nil {
		return err
	}
	return a.writePasswordPolicy(r.Context(), w, http.StatusOK, p)
}

// constraintFailed is REQUEST_FAILED with PingOne's CONSTRAINT_VIOLATION
// detail; PingOne's Terraform provider matches the detail's message
// "Default Password Policy can not be deleted" to leave the default alone.
func constraintFailed(msg string) error {
	e := wire.RequestFailed(msg)
	e.Details = []wire.Detail{{Code: "CONSTRAINT_VIOLATION", Message: msg}}
	return e
}

func (a *API) deletePasswordPolicy(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		p, err := tx.GetPasswordPolicy(r.Context(), env.ID, r.PathValue("policyID"))
		if err != nil {
			return err
		}
		if p.Default {
			return constraintFailed("Default Password Policy can not be deleted.")
		}
		counts, err := tx.CountPopulationsByPasswordPolicy(r.Context(), env.ID)
		if err != nil {
			return err
		}
		if n := counts[p.ID]; n > 0 {
			return constraintFailed("The password policy is used by " + itoa(n) + " population(s) and cannot be deleted.")
		}
		return tx.DeletePasswordPolicy(r.Context(), env.ID, p.ID)
	})
	if err != nil {
		return err
	}
	wire.NoContent(w)
	return nil
}
