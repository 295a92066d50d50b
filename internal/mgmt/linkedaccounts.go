package mgmt

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/identity"
	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// A user's linked accounts: the identities external providers know the
// user by. The sign-on flow makes them when a user links an external
// identity; administrators read, make and remove them here, with the
// user permissions (population-scoped roles reach their populations'
// users only).

const ctAccountLink = "application/vnd.pingidentity.account.link+json"

func (a *API) linkedAccountRoutes(mux router) {
	base := "/v1/environments/{envID}/users/{userID}/linkedAccounts"
	mux.Handle("GET "+base, a.handle(a.listLinkedAccounts))
	mux.Handle("POST "+base, a.handle(a.createLinkedAccount))
	mux.Handle("GET "+base+"/{linkID}", a.handle(a.getLinkedAccount))
	mux.Handle("DELETE "+base+"/{linkID}", a.handle(a.deleteLinkedAccount))
}

func (a *API) renderLinkedAccount(l *store.LinkedAccount) wire.LinkedAccount {
	envHref := a.APIPath + "/environments/" + l.EnvironmentID
	user := a.userHref(l.EnvironmentID, l.UserID)
	return wire.LinkedAccount{
		Links: wire.Links{"self": {Href: user + "/linkedAccounts/" + l.ID}, "environment": {Href: envHref}, "user": {Href: user}},
		ID:    l.ID, Environment: wire.Ref{ID: l.EnvironmentID}, User: wire.Ref{ID: l.UserID},
		IdentityProvider: wire.Ref{ID: l.IdentityProviderID}, ExternalID: l.ExternalID,
		CreatedAt: wire.Time(l.CreatedAt), UpdatedAt: wire.Time(l.UpdatedAt),
	}
}

func (a *API) listLinkedAccounts(w http.ResponseWriter, r *http.Request) error {
	env, _, err := a.userScope(r, roles.ReadUser)
	if err != nil {
		return err
	}
	userID := r.PathValue("userID")
	if _, err := a.Store.GetUser(r.Context(), env.ID, userID); err != nil {
		return err
	}
	links, err := a.Store.ListLinkedAccounts(r.Context(), env.ID, userID)
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, wholeList(a.userHref(env.ID, userID)+"/linkedAccounts", "linkedAccounts", renderAll(links, a.renderLinkedAccount)))
	return nil
}

func (a *API) getLinkedAccount(w http.ResponseWriter, r *http.Request) error {
	env, _, err := a.userScope(r, roles.ReadUser)
	if err != nil {
		return err
	}
	l, err := a.Store.GetLinkedAccount(r.Context(), env.ID, r.PathValue("userID"), r.PathValue("linkID"))
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, a.renderLinkedAccount(l))
	return nil
}

func (a *API) deleteLinkedAccount(w http.ResponseWriter, r *http.Request) error {
	env, _, err := a.userScope(r, roles.WriteUser)
	if err != nil {
		return err
	}
	if err := a.Store.DeleteLinkedAccount(r.Context(), env.ID, r.PathValue("userID"), r.PathValue("linkID")); err != nil {
		return err
	}
	wire.NoContent(w)
	return nil
}

// linkAttribute is a validated attribute of a link request.
type linkAttribute = identity.Attribute

// validateLink checks a link body: the provider and the external id, and
// the user attributes it writes.
func validateLink(req *wire.LinkedAccountRequest) (idpID, externalID string, attrs []linkAttribute, err error) {
	var v appValidator
	if req.IdentityProvider == nil || req.IdentityProvider.ID == nil || strings.TrimSpace(*req.IdentityProvider.ID) == "" {
		v.add(wire.Required("identityProvider.id"))
	} else {
		idpID = strings.TrimSpace(*req.IdentityProvider.ID)
	}
	switch {
	case req.ExternalID == nil || *req.ExternalID == "":
		v.add(wire.Required("externalId"))
	case len(*req.ExternalID) > maxAttribute:
		v.add(sizeLimit("externalId", maxAttribute))
	case hasControl(*req.ExternalID):
		v.add(wire.InvalidValue("externalId", "The value must not contain control characters."))
	default:
		externalID = *req.ExternalID
	}
	keys := make([]string, 0, len(req.Attributes))
	for k := range req.Attributes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		t := "attributes." + k
		in := req.Attributes[k]
		name := userAttributeName(&v, t, &k)
		update := v.enum(t+".update", in.Update, mappingUpdates, true)
		value := ""
		if in.Value == nil {
			v.add(wire.Required(t + ".value"))
		} else {
			value = *in.Value
			if d := identity.CheckAttribute(t+".value", name, value); d != nil {
				v.add(*d)
			}
		}
		if name != "" {
			attrs = append(attrs, linkAttribute{Name: name, Value: value, Update: update})
		}
	}
	if len(v.details) > 0 {
		return "", "", nil, wire.InvalidData(v.details...)
	}
	return idpID, externalID, attrs, nil
}

// createLinkedAccount links an identity at a provider of the environment
// to the user, writing the body's attributes to the user in the same
// transaction. A provider's identity links to one user at most.
func (a *API) createLinkedAccount(w http.ResponseWriter, r *http.Request) error {
	env, _, err := a.userScope(r, roles.WriteUser)
	if err != nil {
		return err
	}
	var req wire.LinkedAccountRequest
	if err := decode(r, &req, ctAccountLink); err != nil {
		return err
	}
	idpID, externalID, attrs, err := validateLink(&req)
	if err != nil {
		return err
	}
	now := store.Now()
	l := &store.LinkedAccount{ID: uuid.NewString(), EnvironmentID: env.ID, UserID: r.PathValue("userID"), IdentityProviderID: idpID,
		ExternalID: externalID, CreatedAt: now, UpdatedAt: now}
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		ok, err := providerExists(r.Context(), tx, env.ID, idpID)
		if err != nil {
			return err
		}
		if !ok {
			return wire.InvalidData(wire.InvalidValue("identityProvider.id", "The identity provider does not exist in this environment."))
		}
		u, err := tx.GetUser(r.Context(), env.ID, l.UserID)
		if err != nil {
			return err
		}
		changed, err := identity.ApplyAttributes(r.Context(), tx, u, attrs, true)
		if err != nil {
			return err
		}
		if changed {
			u.UpdatedAt = now
			if err := tx.UpdateUser(r.Context(), u); err != nil {
				var ue *store.UniqueError
				if errors.As(err, &ue) {
					return wire.InvalidData(wire.Detail{Code: wire.DetailUniqueness, Target: "attributes." + ue.Field,
						Message: "Another user of the environment has this " + ue.Field + "."})
				}
				return err
			}
		}
		return tx.CreateLinkedAccount(r.Context(), l)
	})
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusCreated, a.renderLinkedAccount(l))
	return nil
}
