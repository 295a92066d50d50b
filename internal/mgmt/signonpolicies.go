package mgmt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/identity"
	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Sign-on policies and their actions. Actions are told apart by type; each
// type has its own fields (wire.SignOnPolicyActionData). Conditions are kept
// exactly as sent: PingOne's SDK decodes them as a oneOf that fails on any
// key it does not expect.
//
// Priorities are unique within a policy: a second action with a taken
// priority is refused (UNIQUENESS_VIOLATION on priority) rather than
// shifting the others, because PingOne's Terraform provider manages each
// action as its own resource and silently renumbered neighbours would read
// as drift. Actions list in priority order.
//
// The identity providers an action names (socialProviders, discoveryRules,
// identityProvider) and registration populations must exist in the
// environment, and so must the device authentication policy an MFA action
// names, and the agreement an AGREEMENT action names.

const maxActionsPerPolicy = 20 // PingOne's limit

var (
	actionTypes = []string{"LOGIN", "IDENTIFIER_FIRST", "IDENTITY_PROVIDER", "MULTI_FACTOR_AUTHENTICATION", "PROGRESSIVE_PROFILING", "AGREEMENT"}
	// A policy name is letters, digits, _ . - (or an absolute URI when it
	// holds a colon).
	policyNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	noDevices    = []string{"BYPASS", "BLOCK"}
)

func (a *API) signOnPolicyRoutes(mux router) {
	base := "/v1/environments/{envID}/signOnPolicies"
	mux.Handle("GET "+base, a.handle(a.listSignOnPolicies))
	mux.Handle("POST "+base, a.handle(a.createSignOnPolicy))
	mux.Handle("GET "+base+"/{policyID}", a.handle(a.getSignOnPolicy))
	mux.Handle("PUT "+base+"/{policyID}", a.handle(a.updateSignOnPolicy))
	mux.Handle("DELETE "+base+"/{policyID}", a.handle(a.deleteSignOnPolicy))
	mux.Handle("GET "+base+"/{policyID}/actions", a.handle(a.listActions))
	mux.Handle("POST "+base+"/{policyID}/actions", a.handle(a.createAction))
	mux.Handle("GET "+base+"/{policyID}/actions/{actionID}", a.handle(a.getAction))
	mux.Handle("PUT "+base+"/{policyID}/actions/{actionID}", a.handle(a.updateAction))
	mux.Handle("DELETE "+base+"/{policyID}/actions/{actionID}", a.handle(a.deleteAction))
}

// ---- policies

func (a *API) renderSignOnPolicy(p *store.SignOnPolicy) wire.SignOnPolicy {
	envHref := a.APIPath + "/environments/" + p.EnvironmentID
	self := envHref + "/signOnPolicies/" + p.ID
	return wire.SignOnPolicy{
		Links: wire.Links{"self": {Href: self}, "environment": {Href: envHref}, "actions": {Href: self + "/actions"}},
		ID:    p.ID, Environment: wire.Ref{ID: p.EnvironmentID}, Name: p.Name, Description: p.Description, Default: p.Default,
		CreatedAt: wire.Time(p.CreatedAt), UpdatedAt: wire.Time(p.UpdatedAt),
	}
}

func (a *API) listSignOnPolicies(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	ps, err := a.Store.ListSignOnPolicies(r.Context(), env.ID)
	if err != nil {
		return err
	}
	items := renderAll(ps, a.renderSignOnPolicy)
	wire.Write(w, http.StatusOK, wholeList(a.APIPath+"/environments/"+env.ID+"/signOnPolicies", "signOnPolicies", items))
	return nil
}

func (a *API) getSignOnPolicy(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	p, err := a.Store.GetSignOnPolicy(r.Context(), env.ID, r.PathValue("policyID"))
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, a.renderSignOnPolicy(p))
	return nil
}

func validPolicyName(name string) bool {
	if strings.Contains(name, ":") {
		u, err := url.Parse(name)
		return err == nil && u.IsAbs() && !strings.ContainsAny(name, " \t\r\n")
	}
	return policyNameRE.MatchString(name)
}

// applySignOnPolicy validates req and writes it over p. The default flag
// only moves: true makes p the default, false never leaves the environment
// without one. PingOne's API coerces "true"/"false" strings, so does this.
func applySignOnPolicy(req *wire.SignOnPolicyRequest, p *store.SignOnPolicy) error {
	var details []wire.Detail
	details = confName(details, "name", req.Name, 256)
	details = confDescription(details, req.Description)
	if req.Name != nil && strings.TrimSpace(*req.Name) != "" && !validPolicyName(strings.TrimSpace(*req.Name)) {
		details = append(details, wire.Detail{Code: wire.DetailInvalidValue, Target: "name",
			Message:    "A sign-on policy name is letters, digits, underscores, periods and hyphens, or an absolute URI.",
			InnerError: &wire.InnerError{AllowedPattern: policyNameRE.String()}})
	}
	if len(details) > 0 {
		return wire.InvalidData(details...)
	}
	p.Name, p.Description = strings.TrimSpace(*req.Name), str(req.Description)
	if req.Default != nil && bool(*req.Default) {
		p.Default = true
	}
	return nil
}

func (a *API) createSignOnPolicy(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	var req wire.SignOnPolicyRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	now := store.Now()
	p := &store.SignOnPolicy{ID: uuid.NewString(), EnvironmentID: env.ID, CreatedAt: now, UpdatedAt: now}
	if err := applySignOnPolicy(&req, p); err != nil {
		return err
	}
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		if p.Default {
			if err := tx.ClearDefaultSignOnPolicy(r.Context(), env.ID, p.ID); err != nil {
				return err
			}
		}
		return tx.CreateSignOnPolicy(r.Context(), p)
	})
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusCreated, a.renderSignOnPolicy(p))
	return nil
}

func (a *API) updateSignOnPolicy(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	var req wire.SignOnPolicyRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	var p *store.SignOnPolicy
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		var err error
		if p, err = tx.GetSignOnPolicy(r.Context(), env.ID, r.PathValue("policyID")); err != nil {
			return err
		}
		if err := applySignOnPolicy(&req, p); err != nil {
			return err
		}
		p.UpdatedAt = store.Now()
		if p.Default {
			if err := tx.ClearDefaultSignOnPolicy(r.Context(), env.ID, p.ID); err != nil {
				return err
			}
		}
		return tx.UpdateSignOnPolicy(r.Context(), p)
	})
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, a.renderSignOnPolicy(p))
	return nil
}

func (a *API) deleteSignOnPolicy(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	p, err := a.Store.GetSignOnPolicy(r.Context(), env.ID, r.PathValue("policyID"))
	if err != nil {
		return err
	}
	if p.Default {
		return wire.RequestFailed("The default sign-on policy cannot be deleted. Make another policy the default first.")
	}
	if err := a.Store.DeleteSignOnPolicy(r.Context(), env.ID, p.ID); err != nil {
		if errors.Is(err, store.ErrReferenced) {
			return wire.RequestFailed("The sign-on policy is assigned to an application and cannot be deleted.")
		}
		return err
	}
	wire.NoContent(w)
	return nil
}

// ---- actions

func (a *API) renderAction(x *config.SignOnPolicyAction) wire.SignOnPolicyAction {
	envHref := a.APIPath + "/environments/" + x.EnvironmentID
	polHref := envHref + "/signOnPolicies/" + x.SignOnPolicyID
	out := wire.SignOnPolicyAction{
		Links: wire.Links{"self": {Href: polHref + "/actions/" + x.ID}, "environment": {Href: envHref}, "signOnPolicy": {Href: polHref}},
		ID:    x.ID, Environment: wire.Ref{ID: x.EnvironmentID}, SignOnPolicy: wire.Ref{ID: x.SignOnPolicyID}, Type: x.Type, Priority: x.Priority,
		SignOnPolicyActionData: actionDefaults(x.Type, x.Settings),
	}
	return out
}

// actionDefaults fills in what PingOne returns of every action of its
// type when the action was stored without it (by an older Gatehouse, or
// because the client left it out): booleans false, recovery on,
// registration off, noDevicesMode BLOCK. Each default is either what the
// flow engine already assumes of an absent member (recovery, registration)
// or a member it does not read, so reading an action with them, or
// storing them by a PUT of what GET returned, changes no sign-on. The
// view is shared: changed members are copies.
func actionDefaults(typ string, d wire.SignOnPolicyActionData) wire.SignOnPolicyActionData {
	off := false
	registration := func() {
		r := wire.ActionRegistration{}
		if d.Registration != nil {
			r = *d.Registration
		}
		if r.ConfirmIdentityProviderAttributes == nil {
			r.ConfirmIdentityProviderAttributes = &off
		}
		d.Registration = &r
	}
	switch typ {
	case "LOGIN", "IDENTIFIER_FIRST":
		if d.Recovery == nil {
			d.Recovery = &wire.ActionRecovery{Enabled: true}
		}
		registration()
		if d.EnforceLockoutForIdentityProviders == nil {
			d.EnforceLockoutForIdentityProviders = &off
		}
	case "IDENTITY_PROVIDER":
		registration()
		if d.PassUserContext == nil {
			d.PassUserContext = &off
		}
	case "MULTI_FACTOR_AUTHENTICATION":
		if d.NoDevicesMode == "" {
			d.NoDevicesMode = "BLOCK"
		}
	case "AGREEMENT":
		if d.DisableDeclineOption == nil {
			d.DisableDeclineOption = &off
		}
	}
	return d
}

// policyIn loads the policy named in the path, after the permission check.
func (a *API) policyIn(r *http.Request, perm string) (*store.SignOnPolicy, error) {
	env, err := a.environment(r, perm)
	if err != nil {
		return nil, err
	}
	return a.Store.GetSignOnPolicy(r.Context(), env.ID, r.PathValue("policyID"))
}

func (a *API) listActions(w http.ResponseWriter, r *http.Request) error {
	p, err := a.policyIn(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	acts, err := a.Store.ListSignOnPolicyActions(r.Context(), p.EnvironmentID, p.ID)
	if err != nil {
		return err
	}
	items, err := renderDecoded(acts, config.DecodeSignOnPolicyAction, a.renderAction)
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, wholeList(a.APIPath+"/environments/"+p.EnvironmentID+"/signOnPolicies/"+p.ID+"/actions", "actions", items))
	return nil
}

func (a *API) getAction(w http.ResponseWriter, r *http.Request) error {
	p, err := a.policyIn(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	x, err := a.Store.GetSignOnPolicyAction(r.Context(), p.EnvironmentID, p.ID, r.PathValue("actionID"))
	if err != nil {
		return err
	}
	return writeDecoded(w, http.StatusOK, x, config.DecodeSignOnPolicyAction, a.renderAction)
}

// present reports whether a raw JSON field was sent with a value.
func present(raw json.RawMessage) bool {
	return len(raw) > 0 && !bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// rawObject keeps raw if it is a JSON object, else adds a detail.
func rawObject(details *[]wire.Detail, target string, raw json.RawMessage) json.RawMessage {
	if !present(raw) {
		return nil
	}
	if t := bytes.TrimSpace(raw); t[0] != '{' {
		*details = append(*details, wire.InvalidValue(target, "The value must be an object."))
		return nil
	}
	return raw
}

// refID reads a {id} reference: required says whether it must be there.
func refID(details *[]wire.Detail, target string, ref *wire.RefRequest, required bool) *wire.Ref {
	if ref == nil || ref.ID == nil || strings.TrimSpace(*ref.ID) == "" {
		if required || ref != nil {
			*details = append(*details, wire.Required(target+".id"))
		}
		return nil
	}
	return &wire.Ref{ID: strings.TrimSpace(*ref.ID)}
}

// actionData validates the type's fields of req and returns what is
// stored. Fields of other types are dropped, as a PUT replaces the action.
func (a *API) actionData(ctx context.Context, st store.Store, envID, typ string, req *wire.SignOnPolicyActionRequest) (wire.SignOnPolicyActionData, []wire.Detail, error) {
	var details []wire.Detail
	var d wire.SignOnPolicyActionData
	d.Condition = rawObject(&details, "condition", req.Condition)

	// provider checks that an id names a provider of the environment; in
	// the action's transaction this also holds off the provider's delete.
	provider := func(target string, ref *wire.Ref) error {
		if ref == nil {
			return nil
		}
		ok, err := providerExists(ctx, st, envID, ref.ID)
		if err == nil && !ok {
			details = append(details, wire.InvalidValue(target+".id", "The identity provider does not exist in this environment."))
		}
		return err
	}

	registration := func() error {
		reg := req.Registration
		if reg == nil {
			if typ != "IDENTITY_PROVIDER" {
				d.Registration = &wire.ActionRegistration{}
			}
			return nil
		}
		if reg.Enabled == nil {
			details = append(details, wire.Required("registration.enabled"))
			return nil
		}
		out := &wire.ActionRegistration{Enabled: *reg.Enabled, ConfirmIdentityProviderAttributes: reg.ConfirmIdentityProviderAttributes}
		if reg.External != nil && reg.External.Href != nil && *reg.External.Href != "" {
			if u, err := url.Parse(*reg.External.Href); err != nil || !u.IsAbs() {
				details = append(details, wire.InvalidValue("registration.external.href", "The value must be an absolute URL."))
			}
			out.External = &wire.Href{Href: *reg.External.Href}
		}
		out.Population = refID(&details, "registration.population", reg.Population, out.Enabled && out.External == nil)
		if out.Population != nil {
			if _, err := st.GetPopulation(ctx, envID, out.Population.ID); err != nil {
				if !errors.Is(err, store.ErrNotFound) {
					return err
				}
				details = append(details, wire.InvalidValue("registration.population.id", "The population does not exist in this environment."))
			}
		}
		d.Registration = out
		return nil
	}

	switch typ {
	case "LOGIN", "IDENTIFIER_FIRST":
		// PingOne (and its Terraform provider) default to offering
		// account recovery.
		d.Recovery = &wire.ActionRecovery{Enabled: true}
		if req.Recovery != nil {
			if req.Recovery.Enabled == nil {
				details = append(details, wire.Required("recovery.enabled"))
			} else {
				d.Recovery.Enabled = *req.Recovery.Enabled
			}
		}
		if err := registration(); err != nil {
			return d, nil, err
		}
		for i, sp := range req.SocialProviders {
			t := "socialProviders[" + itoa(i) + "]"
			if ref := refID(&details, t, &sp, true); ref != nil {
				if err := provider(t, ref); err != nil {
					return d, nil, err
				}
				d.SocialProviders = append(d.SocialProviders, *ref)
			}
		}
		d.EnforceLockoutForIdentityProviders = req.EnforceLockoutForIdentityProviders
		d.NewUserProvisioning = rawObject(&details, "newUserProvisioning", req.NewUserProvisioning)
		if typ == "IDENTIFIER_FIRST" {
			for i, rule := range req.DiscoveryRules {
				t := "discoveryRules[" + itoa(i) + "]"
				var out wire.DiscoveryRule
				if rule.Condition == nil || rule.Condition.Contains == nil || *rule.Condition.Contains == "" {
					details = append(details, wire.Required(t+".condition.contains"))
				} else {
					out.Condition.Contains = *rule.Condition.Contains
				}
				if rule.Condition == nil || rule.Condition.Value == nil || *rule.Condition.Value == "" {
					details = append(details, wire.Required(t+".condition.value"))
				} else {
					out.Condition.Value = *rule.Condition.Value
				}
				if ref := refID(&details, t+".identityProvider", rule.IdentityProvider, true); ref != nil {
					if err := provider(t+".identityProvider", ref); err != nil {
						return d, nil, err
					}
					out.IdentityProvider = *ref
				}
				d.DiscoveryRules = append(d.DiscoveryRules, out)
			}
		}
	case "IDENTITY_PROVIDER":
		d.IdentityProvider = refID(&details, "identityProvider", req.IdentityProvider, true)
		if err := provider("identityProvider", d.IdentityProvider); err != nil {
			return d, nil, err
		}
		d.AcrValues = str(req.AcrValues)
		d.PassUserContext = req.PassUserContext
		if err := registration(); err != nil {
			return d, nil, err
		}
	case "MULTI_FACTOR_AUTHENTICATION":
		// Kept as sent; the policy it names must be one of the
		// environment's (none named: the environment's default).
		d.DeviceAuthenticationPolicy = rawObject(&details, "deviceAuthenticationPolicy", req.DeviceAuthenticationPolicy)
		if d.DeviceAuthenticationPolicy != nil {
			if id := wire.RefID(d.DeviceAuthenticationPolicy); strings.TrimSpace(id) == "" {
				details = append(details, wire.Required("deviceAuthenticationPolicy.id"))
			} else if ok, err := deviceAuthPolicyExists(ctx, st, envID, id); err != nil {
				return d, nil, err
			} else if !ok {
				details = append(details, wire.InvalidValue("deviceAuthenticationPolicy.id", "The device authentication policy does not exist in this environment."))
			}
		}
		if req.NoDevicesMode != nil {
			if !oneOf(*req.NoDevicesMode, noDevices) {
				details = append(details, wire.OneOf("noDevicesMode", noDevices))
			}
			d.NoDevicesMode = *req.NoDevicesMode
		}
		d.SMS = rawObject(&details, "sms", req.SMS)
		d.Voice = rawObject(&details, "voice", req.Voice)
		d.Email = rawObject(&details, "email", req.Email)
		d.Authenticator = rawObject(&details, "authenticator", req.Authenticator)
		d.SecurityKey = rawObject(&details, "securityKey", req.SecurityKey)
		d.BoundBiometrics = rawObject(&details, "boundBiometrics", req.BoundBiometrics)
		if present(req.Applications) {
			if bytes.TrimSpace(req.Applications)[0] != '[' {
				details = append(details, wire.InvalidValue("applications", "The value must be an array."))
			} else {
				d.Applications = req.Applications
			}
		}
	case "PROGRESSIVE_PROFILING":
		if len(req.Attributes) == 0 {
			details = append(details, wire.Required("attributes"))
		}
		askable, err := identity.ProfileAttributes(ctx, st, envID)
		if err != nil {
			return d, nil, err
		}
		names := make([]string, len(askable))
		for i, sa := range askable {
			names[i] = sa.Name
		}
		seen := map[string]bool{}
		for i, at := range req.Attributes {
			t := "attributes[" + itoa(i) + "]"
			var out wire.ProfilingAttribute
			switch {
			case at.Name == nil || strings.TrimSpace(*at.Name) == "":
				details = append(details, wire.Required(t+".name"))
			case !slices.Contains(names, strings.TrimSpace(*at.Name)):
				// PingOne asks only for enabled standard and custom string
				// attributes of the schema: not core ones (username), not
				// JSON ones.
				details = append(details, wire.OneOf(t+".name", names))
			case seen[strings.TrimSpace(*at.Name)]:
				details = append(details, wire.InvalidValue(t+".name", "The action already asks for "+strings.TrimSpace(*at.Name)+"."))
			default:
				out.Name = strings.TrimSpace(*at.Name)
				seen[out.Name] = true
			}
			if at.Required == nil {
				details = append(details, wire.Required(t+".required"))
			} else {
				out.Required = *at.Required
			}
			d.Attributes = append(d.Attributes, out)
		}
		if req.PreventMultiplePromptsPerFlow == nil {
			details = append(details, wire.Required("preventMultiplePromptsPerFlow"))
		}
		d.PreventMultiplePromptsPerFlow = req.PreventMultiplePromptsPerFlow
		if req.PromptIntervalSeconds == nil {
			details = append(details, wire.Required("promptIntervalSeconds"))
		} else if *req.PromptIntervalSeconds < 0 || *req.PromptIntervalSeconds > maxInt32 {
			details = append(details, confRange("promptIntervalSeconds", 0, maxInt32))
		}
		d.PromptIntervalSeconds = req.PromptIntervalSeconds
		if req.PromptText == nil || strings.TrimSpace(*req.PromptText) == "" {
			details = append(details, wire.Required("promptText"))
		} else {
			d.PromptText = *req.PromptText
		}
	case "AGREEMENT":
		d.Agreement = refID(&details, "agreement", req.Agreement, true)
		if d.Agreement != nil {
			// In the action's transaction the read also holds off the
			// agreement's delete (AgreementInUse).
			_, err := st.GetAgreement(ctx, envID, d.Agreement.ID)
			switch {
			case errors.Is(err, store.ErrNotFound):
				details = append(details, wire.InvalidValue("agreement.id", "The agreement does not exist in this environment."))
			case err != nil:
				return d, nil, err
			}
		}
		d.DisableDeclineOption = req.DisableDeclineOption
	}
	return d, details, nil
}

// applyAction validates req and writes it over x, inside tx: the
// priority must be free among the policy's other actions.
func (a *API) applyAction(ctx context.Context, tx store.Store, req *wire.SignOnPolicyActionRequest, x *store.SignOnPolicyAction) error {
	var details []wire.Detail
	typ := ""
	switch {
	case req.Type == nil || *req.Type == "":
		details = append(details, wire.Required("type"))
	case !oneOf(*req.Type, actionTypes):
		details = append(details, wire.OneOf("type", actionTypes))
	default:
		typ = *req.Type
	}
	if req.Priority == nil {
		details = append(details, wire.Required("priority"))
	} else if *req.Priority < 1 || *req.Priority > maxInt32 {
		details = append(details, confRange("priority", 1, maxInt32))
	}
	var d wire.SignOnPolicyActionData
	if typ != "" {
		var more []wire.Detail
		var err error
		if d, more, err = a.actionData(ctx, tx, x.EnvironmentID, typ, req); err != nil {
			return err
		}
		details = append(details, more...)
	}
	if len(details) > 0 {
		return wire.InvalidData(details...)
	}
	// Serialise writers of this policy's actions, then check the priority
	// and the count against what is committed.
	if err := tx.LockSignOnPolicy(ctx, x.EnvironmentID, x.SignOnPolicyID); err != nil {
		return err
	}
	acts, err := tx.ListSignOnPolicyActions(ctx, x.EnvironmentID, x.SignOnPolicyID)
	if err != nil {
		return err
	}
	others := 0
	for _, o := range acts {
		if o.ID == x.ID {
			continue
		}
		others++
		if int64(o.Priority) == *req.Priority {
			return wire.InvalidData(wire.Detail{Code: wire.DetailUniqueness, Target: "priority",
				Message: "Another action of this sign-on policy has priority " + itoa(o.Priority) + "."})
		}
	}
	if others >= maxActionsPerPolicy {
		max := int64(maxActionsPerPolicy)
		return wire.InvalidData(wire.Detail{Code: wire.DetailSizeLimit, Target: "priority",
			Message: "A sign-on policy has at most 20 actions.", InnerError: &wire.InnerError{MaximumValue: &max}})
	}
	x.Type, x.Priority, x.Data = typ, int(*req.Priority), mustJSON(d)
	return nil
}

func (a *API) createAction(w http.ResponseWriter, r *http.Request) error {
	p, err := a.policyIn(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	var req wire.SignOnPolicyActionRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	now := store.Now()
	x := &store.SignOnPolicyAction{ID: uuid.NewString(), EnvironmentID: p.EnvironmentID, SignOnPolicyID: p.ID, CreatedAt: now, UpdatedAt: now}
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		if err := a.applyAction(r.Context(), tx, &req, x); err != nil {
			return err
		}
		return tx.CreateSignOnPolicyAction(r.Context(), x)
	})
	if err != nil {
		return err
	}
	return writeDecoded(w, http.StatusCreated, x, config.DecodeSignOnPolicyAction, a.renderAction)
}

func (a *API) updateAction(w http.ResponseWriter, r *http.Request) error {
	p, err := a.policyIn(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	var req wire.SignOnPolicyActionRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	var x *store.SignOnPolicyAction
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		var err error
		if x, err = tx.GetSignOnPolicyAction(r.Context(), p.EnvironmentID, p.ID, r.PathValue("actionID")); err != nil {
			return err
		}
		if err := a.applyAction(r.Context(), tx, &req, x); err != nil {
			return err
		}
		x.UpdatedAt = store.Now()
		return tx.UpdateSignOnPolicyAction(r.Context(), x)
	})
	if err != nil {
		return err
	}
	return writeDecoded(w, http.StatusOK, x, config.DecodeSignOnPolicyAction, a.renderAction)
}

func (a *API) deleteAction(w http.ResponseWriter, r *http.Request) error {
	p, err := a.policyIn(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	if err := a.Store.DeleteSignOnPolicyAction(r.Context(), p.EnvironmentID, p.ID, r.PathValue("actionID")); err != nil {
		return err
	}
	wire.NoContent(w)
	return nil
}
