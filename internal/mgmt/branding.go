package mgmt

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Branding settings (PingOne's "Branding Settings": company name and logo,
// plus Gatehouse's primaryColor), kept in the environment's JSON column under
// "branding" beside billOfMaterials and icon. PingOne documents them at
// https://developer.pingidentity.com/pingone-api/platform/branding/branding-settings.html

const brandingKey = "branding"

func (a *API) brandingRoutes(mux *http.ServeMux) {
	base := "/v1/environments/{envID}/brandingSettings"
	mux.Handle("GET "+base, a.handle(a.getBrandingSettings))
	mux.Handle("PUT "+base, a.handle(a.updateBrandingSettings))
}

func (a *API) renderBranding(envID string, b wire.BrandingSettings) wire.BrandingSettingsResponse {
	envHref := a.APIPath + "/environments/" + envID
	out := wire.BrandingSettingsResponse{
		Links: wire.Links{"self": {Href: envHref + "/brandingSettings"}, "environment": {Href: envHref}},
		ID:    envID, Environment: wire.Ref{ID: envID}, CompanyName: b.CompanyName, PrimaryColor: b.PrimaryColor,
	}
	if b.Logo != nil {
		out.Logo = &wire.BrandingLogoResponse{Href: b.Logo.Href, ID: b.Logo.ID}
	}
	return out
}

func (a *API) getBrandingSettings(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	return writeDecoded(w, http.StatusOK, env, config.DecodeEnvironment, func(e *config.Environment) wire.BrandingSettingsResponse {
		return a.renderBranding(e.ID, e.Branding)
	})
}

// updateBrandingSettings replaces the settings: members left out are gone.
func (a *API) updateBrandingSettings(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	var req wire.BrandingSettings
	if err := decode(r, &req); err != nil {
		return err
	}
	b, details := req.Normalize()
	if len(details) > 0 {
		return wire.InvalidData(details...)
	}
	// Read the environment again inside the transaction (locked on
	// PostgreSQL) and rewrite only the branding key, so that a concurrent
	// write of billOfMaterials or icon is neither lost nor overwritten.
	// The environment's updatedAt stays: its own representation is unchanged.
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		cur, err := tx.GetEnvironment(r.Context(), env.ID)
		if err != nil {
			return err
		}
		data, err := withBranding(cur.Data, b)
		if err != nil {
			return err
		}
		cur.Data = data
		return tx.UpdateEnvironment(r.Context(), cur)
	})
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, a.renderBranding(env.ID, b))
	return nil
}

// withBranding returns data with its branding key set to b, or removed when
// b is empty; every other key keeps its bytes.
func withBranding(data json.RawMessage, b wire.BrandingSettings) (json.RawMessage, error) {
	m := map[string]json.RawMessage{}
	if len(data) > 0 && string(data) != "null" {
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, errors.Join(errors.New("mgmt: environment data is not a JSON object"), err)
		}
		if m == nil {
			m = map[string]json.RawMessage{}
		}
	}
	if b == (wire.BrandingSettings{}) {
		delete(m, brandingKey)
	} else {
		m[brandingKey] = mustJSON(b)
	}
	return mustJSON(m), nil
}
