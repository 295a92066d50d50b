package mgmt

import (
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Branding settings (PingOne's "Branding Settings": company name and logo,
// plus Gatehouse's primaryColor), kept in the environment's JSON column under
// "branding" beside billOfMaterials and icon. PingOne documents them at
// https://developer.pingidentity.com/pingone-api/platform/branding/branding-settings.html

const brandingKey = "branding"

func (a *API) brandingRoutes(mux router) {
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
	// The environment's updatedAt stays: its own representation is unchanged.
	if err := a.putEnvironmentKey(r.Context(), env.ID, brandingKey, b, b == (wire.BrandingSettings{})); err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, a.renderBranding(env.ID, b))
	return nil
}
