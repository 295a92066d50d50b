package mgmt

import (
	"errors"
	"net/http"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Branding themes (PingOne's "Branding Themes"), documented at
// https://developer.pingidentity.com/pingone-api/platform/branding/branding-themes.html.
// An environment always has exactly one default theme: making a theme the
// default (default:true on a create or PUT, or PUT …/default, which is how
// PingOne's Terraform provider does it) moves the flag, default:false never
// leaves an environment without one, and the default theme cannot be
// deleted. Every write of themes takes the environment's theme lock
// (store.LockThemes) before it reads: the flag it reads is the flag it
// moves.

func (a *API) themeRoutes(mux router) {
	base := "/v1/environments/{envID}/themes"
	mux.Handle("GET "+base, a.handle(a.listThemes))
	mux.Handle("POST "+base, a.handle(a.createTheme))
	mux.Handle("GET "+base+"/{themeID}", a.handle(a.getTheme))
	mux.Handle("PUT "+base+"/{themeID}", a.handle(a.updateTheme))
	mux.Handle("DELETE "+base+"/{themeID}", a.handle(a.deleteTheme))
	mux.Handle("GET "+base+"/{themeID}/default", a.handle(a.getThemeDefault))
	mux.Handle("PUT "+base+"/{themeID}/default", a.handle(a.updateThemeDefault))
}

func (a *API) themeHref(envID, id string) string {
	return a.APIPath + "/environments/" + envID + "/themes/" + id
}

func (a *API) renderTheme(t *config.Theme) wire.Theme {
	return wire.Theme{
		Links: wire.Links{"self": {Href: a.themeHref(t.EnvironmentID, t.ID)}, "environment": {Href: a.APIPath + "/environments/" + t.EnvironmentID}},
		ID:    t.ID, Environment: wire.Ref{ID: t.EnvironmentID}, Template: t.Template, Default: t.Default, Configuration: t.Settings,
	}
}

func (a *API) renderThemeDefault(t *store.Theme) wire.ThemeDefault {
	return wire.ThemeDefault{Links: wire.Links{"self": {Href: a.themeHref(t.EnvironmentID, t.ID) + "/default"}}, Default: t.Default}
}

func (a *API) listThemes(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	list, err := pageOf(r, a.APIPath+"/environments/"+env.ID+"/themes", "themes", nil,
		decodedPage(func(p store.Page) ([]store.Theme, int, error) { return a.Store.ListThemes(r.Context(), env.ID, p) }, config.DecodeTheme),
		func(t *config.Theme) string { return t.ID },
		func(t *config.Theme) any { return a.renderTheme(t) })
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, list)
	return nil
}

func (a *API) getTheme(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	t, err := a.Store.GetTheme(r.Context(), env.ID, r.PathValue("themeID"))
	if err != nil {
		return err
	}
	return writeDecoded(w, http.StatusOK, t, config.DecodeTheme, a.renderTheme)
}

// decodeTheme reads and checks a theme's body.
func decodeTheme(r *http.Request) (*wire.ThemeRequest, string, wire.ThemeConfiguration, error) {
	var req wire.ThemeRequest
	if err := decode(r, &req); err != nil {
		return nil, "", wire.ThemeConfiguration{}, err
	}
	template, c, details := req.Normalize()
	if len(details) > 0 {
		return nil, "", c, wire.InvalidData(details...)
	}
	return &req, template, c, nil
}

func (a *API) createTheme(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	req, template, c, err := decodeTheme(r)
	if err != nil {
		return err
	}
	now := store.Now()
	t := &store.Theme{ID: uuid.NewString(), EnvironmentID: env.ID, Template: template, Default: req.Default != nil && *req.Default,
		Data: mustJSON(c), CreatedAt: now, UpdatedAt: now}
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		if err := tx.LockThemes(r.Context(), env.ID); err != nil {
			return err
		}
		if t.Default {
			if err := tx.ClearDefaultTheme(r.Context(), env.ID, t.ID); err != nil {
				return err
			}
		} else if _, err := tx.GetDefaultTheme(r.Context(), env.ID); errors.Is(err, store.ErrNotFound) {
			// An environment without a default (none of Gatehouse's
			// making) gets one rather than staying without.
			t.Default = true
		} else if err != nil {
			return err
		}
		return tx.CreateTheme(r.Context(), t)
	})
	if err != nil {
		return err
	}
	return writeDecoded(w, http.StatusCreated, t, config.DecodeTheme, a.renderTheme)
}

// updateTheme replaces the theme's template and configuration. default:true
// makes it the default; default:false leaves the flag as it is (PingOne's
// Terraform provider sends false with every update of a theme, the
// default's included).
func (a *API) updateTheme(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	req, template, c, err := decodeTheme(r)
	if err != nil {
		return err
	}
	var t *store.Theme
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		if err := tx.LockThemes(r.Context(), env.ID); err != nil {
			return err
		}
		var err error
		if t, err = tx.GetTheme(r.Context(), env.ID, r.PathValue("themeID")); err != nil {
			return err
		}
		t.Template, t.Data, t.UpdatedAt = template, mustJSON(c), store.Now()
		if req.Default != nil && *req.Default && !t.Default {
			if err := tx.ClearDefaultTheme(r.Context(), env.ID, t.ID); err != nil {
				return err
			}
			t.Default = true
		}
		return tx.UpdateTheme(r.Context(), t)
	})
	if err != nil {
		return err
	}
	return writeDecoded(w, http.StatusOK, t, config.DecodeTheme, a.renderTheme)
}

func (a *API) deleteTheme(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		if err := tx.LockThemes(r.Context(), env.ID); err != nil {
			return err
		}
		t, err := tx.GetTheme(r.Context(), env.ID, r.PathValue("themeID"))
		if err != nil {
			return err
		}
		if t.Default {
			return constraintFailed("The default theme cannot be deleted. Make another theme the default first.")
		}
		return tx.DeleteTheme(r.Context(), env.ID, t.ID)
	})
	if err != nil {
		return err
	}
	wire.NoContent(w)
	return nil
}

func (a *API) getThemeDefault(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	t, err := a.Store.GetTheme(r.Context(), env.ID, r.PathValue("themeID"))
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, a.renderThemeDefault(t))
	return nil
}

// updateThemeDefault makes the theme the default ({"default": true}). An
// environment always has a default: false on the default theme is refused
// rather than leaving it without one; false on another theme changes
// nothing.
func (a *API) updateThemeDefault(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	var req wire.ThemeDefaultRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Default == nil {
		return wire.InvalidData(wire.Required("default"))
	}
	var t *store.Theme
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		if err := tx.LockThemes(r.Context(), env.ID); err != nil {
			return err
		}
		var err error
		if t, err = tx.GetTheme(r.Context(), env.ID, r.PathValue("themeID")); err != nil {
			return err
		}
		switch {
		case *req.Default == t.Default:
			return nil
		case !*req.Default:
			return wire.InvalidData(wire.InvalidValue("default",
				"An environment always has a default theme: make another theme the default instead."))
		}
		if err := tx.ClearDefaultTheme(r.Context(), env.ID, t.ID); err != nil {
			return err
		}
		t.Default, t.UpdatedAt = true, store.Now()
		return tx.UpdateTheme(r.Context(), t)
	})
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, a.renderThemeDefault(t))
	return nil
}
