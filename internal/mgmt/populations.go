package mgmt

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Every write of populations takes the environment's population lock
// (store.LockPopulations) before it reads: the default flag it reads is the
// flag it moves, and the default population is never deleted by a delete
// that read it before it became the default.
func (a *API) populationRoutes(mux router) {
	mux.Handle("GET /v1/environments/{envID}/populations", a.handle(a.listPopulations))
	mux.Handle("POST /v1/environments/{envID}/populations", a.handle(a.createPopulation))
	mux.Handle("GET /v1/environments/{envID}/populations/{popID}", a.handle(a.getPopulation))
	mux.Handle("PUT /v1/environments/{envID}/populations/{popID}", a.handle(a.updatePopulation))
	mux.Handle("DELETE /v1/environments/{envID}/populations/{popID}", a.handle(a.deletePopulation))
}

func (a *API) renderPop(p *store.Population) wire.Population {
	envHref := a.APIPath + "/environments/" + p.EnvironmentID
	var d wire.PopulationData
	_ = json.Unmarshal(p.Data, &d)
	out := wire.Population{
		Links: wire.Links{"self": {Href: envHref + "/populations/" + p.ID}, "environment": {Href: envHref}},
		ID:    p.ID, Environment: wire.Ref{ID: p.EnvironmentID}, Name: p.Name, Description: p.Description,
		UserCount: p.UserCount, CreatedAt: wire.Time(p.CreatedAt), UpdatedAt: wire.Time(p.UpdatedAt),
		PreferredLanguage: d.PreferredLanguage, AlternativeIdentifiers: d.AlternativeIdentifiers, Default: p.Default,
	}
	if p.PasswordPolicyID != "" {
		out.PasswordPolicy = &wire.Ref{ID: p.PasswordPolicyID}
		out.Links["passwordPolicy"] = wire.Href{Href: envHref + "/passwordPolicies/" + p.PasswordPolicyID}
	}
	if p.EffectiveThemeID != "" {
		out.Theme = &wire.Ref{ID: p.EffectiveThemeID}
		out.Links["theme"] = wire.Href{Href: a.themeHref(p.EnvironmentID, p.EffectiveThemeID)}
	}
	return out
}

func (a *API) listPopulations(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadPopulation)
	if err != nil {
		return err
	}
	list, err := pageOf(r, a.APIPath+"/environments/"+env.ID+"/populations", "populations", nil,
		func(p store.Page) ([]store.Population, int, error) {
			return a.Store.ListPopulations(r.Context(), env.ID, p)
		},
		func(p *store.Population) string { return p.ID },
		func(p *store.Population) any { return a.renderPop(p) })
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, list)
	return nil
}

// getPopulation also answers an actor whose role is scoped to this
// population.
func (a *API) getPopulation(w http.ResponseWriter, r *http.Request) error {
	env, err := a.pathEnvironment(r)
	if err != nil {
		return err
	}
	if !roles.Allowed(actorFrom(r.Context()).Assignments, roles.ReadPopulation,
		roles.Target{OrgID: env.OrganizationID, EnvID: env.ID, PopulationID: r.PathValue("popID")}) {
		return wire.Forbidden()
	}
	p, err := a.Store.GetPopulation(r.Context(), env.ID, r.PathValue("popID"))
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, a.renderPop(p))
	return nil
}

// applyPopulation validates req against st and writes it over p (PUT
// replaces: absent optional fields reset; no theme is the environment's
// default theme, whichever it is at the time).
func applyPopulation(ctx context.Context, st store.Store, envID string, req *wire.PopulationRequest, p *store.Population) error {
	var details []wire.Detail
	if req.Name == nil || strings.TrimSpace(*req.Name) == "" {
		details = append(details, wire.Required("name"))
	} else if len(*req.Name) > 256 {
		details = append(details, sizeLimit("name", 256))
	}
	if req.Description != nil && len(*req.Description) > 1024 {
		details = append(details, sizeLimit("description", 1024))
	}
	policyID := ""
	if req.PasswordPolicy != nil {
		policyID = req.PasswordPolicy.ID
		if policyID == "" {
			details = append(details, wire.Required("passwordPolicy.id"))
		} else if _, err := st.GetPasswordPolicy(ctx, envID, policyID); err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			details = append(details, wire.InvalidValue("passwordPolicy.id", "The password policy does not exist in this environment."))
		}
	}
	themeID := ""
	if req.Theme != nil {
		themeID = req.Theme.ID
		if themeID == "" {
			details = append(details, wire.Required("theme.id"))
		} else if _, err := st.GetTheme(ctx, envID, themeID); err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			details = append(details, wire.InvalidValue("theme.id", "The theme does not exist in this environment."))
		}
	}
	if len(details) > 0 {
		return wire.InvalidData(details...)
	}
	d := wire.PopulationData{PreferredLanguage: "en", AlternativeIdentifiers: req.AlternativeIdentifiers}
	if req.PreferredLanguage != nil && *req.PreferredLanguage != "" {
		d.PreferredLanguage = *req.PreferredLanguage
	}
	p.Name, p.Description, p.PasswordPolicyID, p.ThemeID, p.Data = strings.TrimSpace(*req.Name), str(req.Description), policyID, themeID, mustJSON(d)
	// Unsetting the default is not a thing: an environment always has one,
	// and making another population the default moves the flag.
	if req.Default != nil && *req.Default {
		p.Default = true
	}
	return nil
}

func (a *API) createPopulation(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WritePopulation)
	if err != nil {
		return err
	}
	var req wire.PopulationRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	now := store.Now()
	p := &store.Population{ID: uuid.NewString(), EnvironmentID: env.ID, CreatedAt: now, UpdatedAt: now}
	if err := applyPopulation(r.Context(), a.Store, env.ID, &req, p); err != nil {
		return err
	}
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		if err := tx.LockPopulations(r.Context(), env.ID); err != nil {
			return err
		}
		if p.Default {
			if err := tx.ClearDefaultPopulation(r.Context(), env.ID, p.ID); err != nil {
				return err
			}
		}
		if err := tx.CreatePopulation(r.Context(), p); err != nil {
			return err
		}
		// Read back: the theme shown is worked out by the store.
		p, err = tx.GetPopulation(r.Context(), env.ID, p.ID)
		return err
	})
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusCreated, a.renderPop(p))
	return nil
}

func (a *API) updatePopulation(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WritePopulation)
	if err != nil {
		return err
	}
	var req wire.PopulationRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	var p *store.Population
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		if err := tx.LockPopulations(r.Context(), env.ID); err != nil {
			return err
		}
		var err error
		if p, err = tx.GetPopulation(r.Context(), env.ID, r.PathValue("popID")); err != nil {
			return err
		}
		if err := applyPopulation(r.Context(), tx, env.ID, &req, p); err != nil {
			return err
		}
		p.UpdatedAt = store.Now()
		if p.Default {
			if err := tx.ClearDefaultPopulation(r.Context(), env.ID, p.ID); err != nil {
				return err
			}
		}
		if err := tx.UpdatePopulation(r.Context(), p); err != nil {
			return err
		}
		p, err = tx.GetPopulation(r.Context(), env.ID, p.ID)
		return err
	})
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, a.renderPop(p))
	return nil
}

func (a *API) deletePopulation(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WritePopulation)
	if err != nil {
		return err
	}
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		if err := tx.LockPopulations(r.Context(), env.ID); err != nil {
			return err
		}
		p, err := tx.GetPopulation(r.Context(), env.ID, r.PathValue("popID"))
		if err != nil {
			return err
		}
		if p.Default {
			return wire.RequestFailed("The default population cannot be deleted. Make another population the default first.")
		}
		if p.UserCount > 0 {
			return wire.RequestFailed("The population cannot be deleted while it contains users.")
		}
		return tx.DeletePopulation(r.Context(), env.ID, p.ID)
	})
	if errors.Is(err, store.ErrReferenced) {
		return wire.RequestFailed("The population cannot be deleted while it contains users.")
	}
	if err != nil {
		return err
	}
	wire.NoContent(w)
	return nil
}
