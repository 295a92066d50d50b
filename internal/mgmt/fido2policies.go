package mgmt

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// PingOne's FIDO2 policies (…/fido2Policies): configuration, read with the
// configuration read permission and written with the write one, as the
// device authentication policies that name them.

var (
	fido2Attestations    = []string{"DIRECT", "NONE"}
	fido2Attachments     = []string{"PLATFORM", "CROSS_PLATFORM", "BOTH"}
	fido2Discoverable    = []string{"DISCOURAGED", "REQUIRED", "PREFERRED"}
	fido2MDSOptions      = []string{"NONE", "AUDIT_ONLY", "GLOBAL", "CERTIFIED", "SPECIFIC"}
	fido2UVOptions       = []string{"REQUIRED", "DISCOURAGED", "PREFERRED"}
	fido2Hints           = []string{"SECURITY_KEY", "CLIENT_DEVICE", "HYBRID"}
	fido2NameSubAttrs    = []string{"given", "family", "formatted", "middle", "honorificPrefix", "honorificSuffix"}
	fido2RelyingPartyIDs = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$`)
)

// PingOne's limits.
const (
	fido2NameMax            = 256
	fido2DisplayNameMax     = 100
	fido2RelyingPartyIDMax  = 253
	fido2AttributesMax      = 6
	fido2AttributeNameMax   = 256
	fido2AuthenticatorIDMax = 256
	// The user presence timeout is 1 to 10 minutes (60 to 600 seconds).
	fido2TimeoutMinMinutes = 1
	fido2TimeoutMaxMinutes = 10
	// A device authentication policy's fido2 failures: 1 to 7, cooling
	// down 2 to 30 minutes.
	fido2FailureCountMax       = 7
	fido2CoolDownMinMinutes    = 2
	fido2CoolDownMaxMinutes    = 30
	fido2DefaultFailureCount   = 3
	fido2DefaultTimeoutMinutes = 2
)

func (a *API) fido2PolicyRoutes(mux router) {
	base := "/v1/environments/{envID}/fido2Policies"
	mux.Handle("GET "+base, a.handle(a.listFIDO2Policies))
	mux.Handle("POST "+base, a.handle(a.createFIDO2Policy))
	mux.Handle("GET "+base+"/{policyID}", a.handle(a.getFIDO2Policy))
	mux.Handle("PUT "+base+"/{policyID}", a.handle(a.updateFIDO2Policy))
	mux.Handle("DELETE "+base+"/{policyID}", a.handle(a.deleteFIDO2Policy))
}

// baseHost is the host of the base URL: the relying party of a policy
// that leaves it to Gatehouse. Lower case, as hosts compare and relying
// party IDs are written.
func (a *API) baseHost() string {
	u, err := url.Parse(a.APIPath)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}

func (a *API) renderFIDO2Policy(p *wire.FIDO2Policy) wire.FIDO2Policy {
	out := *p
	envHref := a.APIPath + "/environments/" + p.Environment.ID
	out.Links = wire.Links{"self": {Href: envHref + "/fido2Policies/" + p.ID}, "environment": {Href: envHref}}
	if out.RelyingPartyID == "" {
		out.RelyingPartyID = a.baseHost()
	}
	return out
}

// expandUses reads ?expand=deviceAuthenticationPolicies: whether to list
// the device authentication policies that use each FIDO2 policy.
func expandUses(r *http.Request) bool {
	return slices.Contains(strings.Split(r.URL.Query().Get("expand"), ","), "deviceAuthenticationPolicies")
}

// fido2PolicyUses maps each FIDO2 policy id of envID to the device
// authentication policies that use it: those naming it, and for the
// default those naming none.
func fido2PolicyUses(ctx context.Context, st store.Store, envID string) (map[string][]wire.FIDO2PolicyUse, error) {
	daps, err := st.ListDeviceAuthenticationPolicies(ctx, envID)
	if err != nil {
		return nil, err
	}
	def, err := st.GetDefaultFIDO2Policy(ctx, envID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	out := map[string][]wire.FIDO2PolicyUse{}
	for i := range daps {
		d, err := config.DecodeDeviceAuthenticationPolicy(&daps[i])
		if err != nil {
			return nil, err
		}
		id := ""
		if d.FIDO2.FIDO2PolicyID != nil {
			id = *d.FIDO2.FIDO2PolicyID
		} else if def != nil {
			id = def.ID
		}
		out[id] = append(out[id], wire.FIDO2PolicyUse{ID: d.ID, Name: d.Name})
	}
	return out, nil
}

func withUses(p wire.FIDO2Policy, uses map[string][]wire.FIDO2PolicyUse) wire.FIDO2Policy {
	if uses != nil {
		list := uses[p.ID]
		if list == nil {
			list = []wire.FIDO2PolicyUse{}
		}
		p.Embedded = &wire.FIDO2PolicyEmbedded{DeviceAuthenticationPolicies: list}
	}
	return p
}

func (a *API) listFIDO2Policies(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	ps, err := a.Store.ListFIDO2Policies(r.Context(), env.ID)
	if err != nil {
		return err
	}
	var uses map[string][]wire.FIDO2PolicyUse
	if expandUses(r) {
		if uses, err = fido2PolicyUses(r.Context(), a.Store, env.ID); err != nil {
			return err
		}
	}
	items, err := renderDecoded(ps, config.DecodeFIDO2Policy, func(p *wire.FIDO2Policy) wire.FIDO2Policy {
		return withUses(a.renderFIDO2Policy(p), uses)
	})
	if err != nil {
		return err
	}
	self := a.APIPath + "/environments/" + env.ID + "/fido2Policies"
	if uses != nil {
		self += "?expand=deviceAuthenticationPolicies"
	}
	wire.Write(w, http.StatusOK, wholeList(self, "fido2Policies", items))
	return nil
}

func (a *API) getFIDO2Policy(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	p, err := a.Store.GetFIDO2Policy(r.Context(), env.ID, r.PathValue("policyID"))
	if err != nil {
		return err
	}
	var uses map[string][]wire.FIDO2PolicyUse
	if expandUses(r) {
		if uses, err = fido2PolicyUses(r.Context(), a.Store, env.ID); err != nil {
			return err
		}
	}
	return writeDecoded(w, http.StatusOK, p, config.DecodeFIDO2Policy, func(p *wire.FIDO2Policy) wire.FIDO2Policy {
		return withUses(a.renderFIDO2Policy(p), uses)
	})
}

// fido2Enum checks a required member against its values.
func fido2Enum(details *[]wire.Detail, target string, v *string, allowed []string) string {
	switch {
	case v == nil:
		*details = append(*details, wire.Required(target))
	case !oneOf(*v, allowed):
		*details = append(*details, wire.OneOf(target, allowed))
	default:
		return *v
	}
	return ""
}

// fido2Flag checks a required flag.
func fido2Flag(details *[]wire.Detail, target string, v *wire.Bool) bool {
	if v == nil {
		*details = append(*details, wire.Required(target))
		return false
	}
	return bool(*v)
}

// fido2PolicyOf validates a POST or PUT and returns the stored document;
// the default flag is applied by the caller. A relying party ID that is
// the base URL's host is stored as "": left to Gatehouse, so that a PUT
// of what a GET returned keeps it so.
func (a *API) fido2PolicyOf(req *wire.FIDO2PolicyRequest) (wire.FIDO2PolicyData, error) {
	var details []wire.Detail
	details = confName(details, "name", req.Name, fido2NameMax)
	details = confDescription(details, req.Description)
	var out wire.FIDO2PolicyData
	if req.Description != nil {
		out.Description = *req.Description
	}
	out.AttestationRequirements = fido2Enum(&details, "attestationRequirements", req.AttestationRequirements, fido2Attestations)
	out.AuthenticatorAttachment = fido2Enum(&details, "authenticatorAttachment", req.AuthenticatorAttachment, fido2Attachments)
	out.DiscoverableCredentials = fido2Enum(&details, "discoverableCredentials", req.DiscoverableCredentials, fido2Discoverable)

	if b := req.BackupEligibility; b == nil {
		details = append(details, wire.Required("backupEligibility"))
	} else {
		out.BackupEligibility.Allow = fido2Flag(&details, "backupEligibility.allow", b.Allow)
		out.BackupEligibility.EnforceDuringAuthentication = fido2Flag(&details, "backupEligibility.enforceDuringAuthentication", b.EnforceDuringAuthentication)
	}

	switch n := req.DeviceDisplayName; {
	case n == nil || strings.TrimSpace(*n) == "":
		details = append(details, wire.Required("deviceDisplayName"))
	case len([]rune(*n)) > fido2DisplayNameMax:
		details = append(details, sizeLimit("deviceDisplayName", fido2DisplayNameMax))
	default:
		out.DeviceDisplayName = *n
	}

	if m := req.MDSAuthenticatorsRequirements; m == nil {
		details = append(details, wire.Required("mdsAuthenticatorsRequirements"))
	} else {
		out.MDSAuthenticatorsRequirements.Option = fido2Enum(&details, "mdsAuthenticatorsRequirements.option", m.Option, fido2MDSOptions)
		out.MDSAuthenticatorsRequirements.EnforceDuringAuthentication = fido2Flag(&details, "mdsAuthenticatorsRequirements.enforceDuringAuthentication", m.EnforceDuringAuthentication)
		seen := map[string]bool{}
		for i, x := range m.AllowedAuthenticators {
			target := "mdsAuthenticatorsRequirements.allowedAuthenticators[" + itoa(i) + "].id"
			switch {
			case x.ID == nil || strings.TrimSpace(*x.ID) == "":
				details = append(details, wire.Required(target))
			case len(*x.ID) > fido2AuthenticatorIDMax:
				details = append(details, sizeLimit(target, fido2AuthenticatorIDMax))
			case seen[strings.ToLower(*x.ID)]:
				details = append(details, wire.InvalidValue(target, "The authenticator is listed twice."))
			default:
				seen[strings.ToLower(*x.ID)] = true
				out.MDSAuthenticatorsRequirements.AllowedAuthenticators = append(out.MDSAuthenticatorsRequirements.AllowedAuthenticators,
					wire.FIDO2AuthenticatorRef{ID: *x.ID})
			}
		}
		if out.MDSAuthenticatorsRequirements.Option == "SPECIFIC" && len(m.AllowedAuthenticators) == 0 {
			details = append(details, wire.Required("mdsAuthenticatorsRequirements.allowedAuthenticators"))
		}
		// Without attestation there is nothing to check the metadata of.
		if out.AttestationRequirements == "NONE" && out.MDSAuthenticatorsRequirements.Option != "" && out.MDSAuthenticatorsRequirements.Option != "NONE" {
			details = append(details, wire.InvalidValue("mdsAuthenticatorsRequirements.option",
				"The option must be NONE when attestationRequirements is NONE."))
		}
	}

	// The base URL's host is what GET renders for "": it is taken back
	// before the domain checks, which an IPv6 address would fail.
	switch rp := req.RelyingPartyID; {
	case rp == nil || strings.TrimSpace(*rp) == "":
		details = append(details, wire.Required("relyingPartyId"))
	case *rp == a.baseHost():
	case len(*rp) > fido2RelyingPartyIDMax:
		details = append(details, sizeLimit("relyingPartyId", fido2RelyingPartyIDMax))
	case !fido2RelyingPartyIDs.MatchString(*rp):
		details = append(details, wire.InvalidValue("relyingPartyId", "The relying party ID must be a domain name in lower case, such as example.com."))
	default:
		out.RelyingPartyID = *rp
	}

	out.UserDisplayNameAttributes.Attributes = fido2DisplayNameAttributes(&details, req.UserDisplayNameAttributes)

	if v := req.UserVerification; v == nil {
		details = append(details, wire.Required("userVerification"))
	} else {
		out.UserVerification.Option = fido2Enum(&details, "userVerification.option", v.Option, fido2UVOptions)
		out.UserVerification.EnforceDuringAuthentication = fido2Flag(&details, "userVerification.enforceDuringAuthentication", v.EnforceDuringAuthentication)
	}

	out.UserPresenceTimeout = wire.TimePeriod{Duration: fido2DefaultTimeoutMinutes, TimeUnit: "MINUTES"}
	if req.UserPresenceTimeout != nil {
		out.UserPresenceTimeout = period(&details, "userPresenceTimeout", req.UserPresenceTimeout, fido2TimeoutMinMinutes, fido2TimeoutMaxMinutes)
	}

	for i, h := range req.PublicKeyCredentialHints {
		target := "publicKeyCredentialHints[" + itoa(i) + "]"
		switch {
		case h == nil || !oneOf(*h, fido2Hints):
			details = append(details, wire.OneOf(target, fido2Hints))
		case slices.Contains(out.PublicKeyCredentialHints, *h):
			details = append(details, wire.InvalidValue(target, "The hint is listed twice."))
		default:
			out.PublicKeyCredentialHints = append(out.PublicKeyCredentialHints, *h)
		}
	}

	if len(details) > 0 {
		return out, wire.InvalidData(details...)
	}
	return out, nil
}

// fido2DisplayNameAttributes checks the user display name attributes: one
// to six, username among them, each once; name with one or more of its
// subattributes, each once, no other attribute with any. (PingOne asks
// given and family, or formatted; which of them is not checked here.)
func fido2DisplayNameAttributes(details *[]wire.Detail, req *struct {
	Attributes []wire.FIDO2UserAttributeRequest `json:"attributes"`
}) []wire.FIDO2UserAttribute {
	const base = "userDisplayNameAttributes"
	if req == nil {
		*details = append(*details, wire.Required(base))
		return nil
	}
	if req.Attributes == nil {
		*details = append(*details, wire.Required(base+".attributes"))
		return nil
	}
	var out []wire.FIDO2UserAttribute
	seen := map[string]bool{}
	for i, x := range req.Attributes {
		target := base + ".attributes[" + itoa(i) + "]"
		switch {
		case x.Name == nil || strings.TrimSpace(*x.Name) == "":
			*details = append(*details, wire.Required(target+".name"))
			continue
		case len(*x.Name) > fido2AttributeNameMax:
			*details = append(*details, sizeLimit(target+".name", fido2AttributeNameMax))
			continue
		case seen[*x.Name]:
			*details = append(*details, wire.InvalidValue(target+".name", "The attribute is listed twice."))
			continue
		}
		seen[*x.Name] = true
		attr := wire.FIDO2UserAttribute{Name: *x.Name}
		if *x.Name != "name" {
			if len(x.SubAttributes) > 0 {
				*details = append(*details, wire.InvalidValue(target+".subAttributes", "Only the name attribute takes subattributes."))
			}
			out = append(out, attr)
			continue
		}
		if len(x.SubAttributes) == 0 {
			*details = append(*details, wire.Required(target+".subAttributes"))
		}
		subSeen := map[string]bool{}
		for j, s := range x.SubAttributes {
			st := target + ".subAttributes[" + itoa(j) + "].name"
			switch {
			case s.Name == nil || !oneOf(*s.Name, fido2NameSubAttrs):
				*details = append(*details, wire.OneOf(st, fido2NameSubAttrs))
			case subSeen[*s.Name]:
				*details = append(*details, wire.InvalidValue(st, "The subattribute is listed twice."))
			default:
				subSeen[*s.Name] = true
				attr.SubAttributes = append(attr.SubAttributes, wire.FIDO2UserAttribute{Name: *s.Name})
			}
		}
		out = append(out, attr)
	}
	switch {
	case len(req.Attributes) > fido2AttributesMax:
		*details = append(*details, wire.Detail{Code: wire.DetailInvalidValue, Target: base + ".attributes",
			Message: "At most " + itoa(fido2AttributesMax) + " attributes are allowed."})
	case !seen["username"]:
		*details = append(*details, wire.InvalidValue(base+".attributes", "The attributes must include username."))
	}
	return out
}

// applyFIDO2Policy writes a valid request over p. The default flag only
// moves: true makes p the default, false never leaves the environment
// without one.
func (a *API) applyFIDO2Policy(req *wire.FIDO2PolicyRequest, p *store.FIDO2Policy) error {
	d, err := a.fido2PolicyOf(req)
	if err != nil {
		return err
	}
	p.Name, p.Data = strings.TrimSpace(*req.Name), mustJSON(d)
	if wflag(req.Default) {
		p.Default = true
	}
	return nil
}

// fido2PolicySet runs the FIDO2 policies' writes. The default's delete
// is refused with the message PingOne's Terraform provider matches to
// leave it in place.
var fido2PolicySet = defaultedPolicies[store.FIDO2Policy]{
	lock:         store.Store.LockFIDO2Policies,
	read:         store.Store.GetFIDO2Policy,
	clearDefault: store.Store.ClearDefaultFIDO2Policy,
	insert:       store.Store.CreateFIDO2Policy,
	write:        store.Store.UpdateFIDO2Policy,
	remove:       store.Store.DeleteFIDO2Policy,
	head:         func(p *store.FIDO2Policy) (string, bool) { return p.ID, p.Default },
	touch:        func(p *store.FIDO2Policy) { p.UpdatedAt = store.Now() },
	refuseDefault: func() error {
		return constraintFailed("You cannot delete the default policy. Make another FIDO2 policy the default first.")
	},
}

func (a *API) createFIDO2Policy(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	var req wire.FIDO2PolicyRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	now := store.Now()
	p := &store.FIDO2Policy{ID: uuid.NewString(), EnvironmentID: env.ID, CreatedAt: now, UpdatedAt: now}
	if err := a.applyFIDO2Policy(&req, p); err != nil {
		return err
	}
	if err := fido2PolicySet.create(r.Context(), a.Store, env.ID, p, nil); err != nil {
		return err
	}
	return writeDecoded(w, http.StatusCreated, p, config.DecodeFIDO2Policy, a.renderFIDO2Policy)
}

func (a *API) updateFIDO2Policy(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	var req wire.FIDO2PolicyRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	p, err := fido2PolicySet.update(r.Context(), a.Store, env.ID, r.PathValue("policyID"), func(_ store.Store, p *store.FIDO2Policy) error {
		return a.applyFIDO2Policy(&req, p)
	})
	if err != nil {
		return err
	}
	return writeDecoded(w, http.StatusOK, p, config.DecodeFIDO2Policy, a.renderFIDO2Policy)
}

// deleteFIDO2Policy refuses the default policy and a policy a device
// authentication policy names; the read under the delete holds off a
// device authentication policy being written that names it.
func (a *API) deleteFIDO2Policy(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	err = fido2PolicySet.delete(r.Context(), a.Store, env.ID, r.PathValue("policyID"), func(tx store.Store, p *store.FIDO2Policy) error {
		daps, err := tx.ListDeviceAuthenticationPolicies(r.Context(), env.ID)
		if err != nil {
			return err
		}
		for i := range daps {
			d, err := config.DecodeDeviceAuthenticationPolicy(&daps[i])
			if err != nil {
				return err
			}
			if id := d.FIDO2.FIDO2PolicyID; id != nil && *id == p.ID {
				return constraintFailed("The FIDO2 policy is used by the device authentication policy " + d.Name + " and cannot be deleted.")
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	wire.NoContent(w)
	return nil
}

// ---- the fido2 member of a device authentication policy

// fido2Method validates the fido2 member of a device authentication
// policy; absent, it is PingOne's default (disabled, the default FIDO2
// policy). Whether fido2PolicyId names a policy of the environment is
// checked in the write's transaction (checkFIDO2PolicyRef).
func fido2Method(details *[]wire.Detail, m *wire.FIDO2MethodRequest) wire.FIDO2MethodPolicy {
	out := config.DefaultFIDO2Method()
	if m == nil {
		return out
	}
	out.Enabled = fido2Flag(details, "fido2.enabled", m.Enabled)
	out.PairingDisabled, out.PromptForNicknameOnPairing = wflag(m.PairingDisabled), optFlag(m.PromptForNicknameOnPairing)
	if id := m.FIDO2PolicyID; id != nil {
		if strings.TrimSpace(*id) == "" {
			*details = append(*details, wire.InvalidValue("fido2.fido2PolicyId", "The FIDO2 policy ID must name a FIDO2 policy, or be null for the default."))
		} else {
			v := *id
			out.FIDO2PolicyID = &v
		}
	}
	if f := m.Failure; f != nil {
		if f.Count != nil {
			if *f.Count < 1 || *f.Count > fido2FailureCountMax {
				*details = append(*details, confRange("fido2.failure.count", 1, fido2FailureCountMax))
			}
			out.Failure.Count = int(*f.Count)
		}
		if f.CoolDown != nil {
			out.Failure.CoolDown = period(details, "fido2.failure.coolDown", f.CoolDown, fido2CoolDownMinMinutes, fido2CoolDownMaxMinutes)
		}
	}
	return out
}

// checkFIDO2PolicyRef refuses a fido2PolicyId naming no FIDO2 policy of
// envID. Inside the write's transaction the read locks the FIDO2 policy,
// holding off its delete until the device authentication policy that
// names it is written.
func checkFIDO2PolicyRef(ctx context.Context, tx store.Store, envID string, req *wire.DeviceAuthenticationPolicyRequest) error {
	if req.FIDO2 == nil || req.FIDO2.FIDO2PolicyID == nil {
		return nil
	}
	_, err := tx.GetFIDO2Policy(ctx, envID, *req.FIDO2.FIDO2PolicyID)
	if errors.Is(err, store.ErrNotFound) {
		return wire.InvalidData(wire.InvalidValue("fido2.fido2PolicyId", "The FIDO2 policy "+*req.FIDO2.FIDO2PolicyID+" does not exist."))
	}
	return err
}
