package mgmt

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// PingOne MFA configuration: an environment's MFA settings (…/mfaSettings:
// read, replace, reset) and its device authentication policies
// (…/deviceAuthenticationPolicies). Both are configuration: reading needs
// the configuration read permission, writing the write one, as PingOne's
// Environment Admin and Configuration Read Only roles have their mfa
// permissions.
//
// Gatehouse runs the SMS, voice, email, TOTP and FIDO2 methods of a
// policy; the mobile, oathToken, whatsApp, rememberMe and
// notificationsPolicy members are objects stored and returned as sent,
// for the methods to come.

var (
	timeUnits        = []string{"MINUTES", "SECONDS"}
	deviceSelections = []string{"DEFAULT_TO_FIRST", "PROMPT_TO_SELECT", "ALWAYS_DISPLAY_DEVICES"}
	// The MFA settings take only these two (the SDK's
	// EnumMFASettingsDeviceSelection); ALWAYS_DISPLAY_DEVICES is a policy's.
	settingsDeviceSelections = []string{"DEFAULT_TO_FIRST", "PROMPT_TO_SELECT"}
	newDeviceNotification    = []string{"NONE", "EMAIL_THEN_SMS", "SMS_THEN_EMAIL"}
	pairingKeyFormats        = []string{"NUMERIC", "ALPHANUMERIC"}
)

// PingOne's ranges.
const (
	maxAllowedDevicesMax = 15
	otpFailureCountMax   = 7
	otpLengthMin         = 6
	otpLengthMax         = 10
	gracePeriodMax       = 10
	// A sent passcode lives 1 to 30 minutes; a blocked device cools down
	// for up to 30 minutes.
	otpLifetimeMaxMinutes = 30
	coolDownMaxMinutes    = 30
)

func (a *API) mfaConfigRoutes(mux router) {
	s := "/v1/environments/{envID}/mfaSettings"
	mux.Handle("GET "+s, a.handle(a.getMFASettings))
	mux.Handle("PUT "+s, a.handle(a.updateMFASettings))
	mux.Handle("DELETE "+s, a.handle(a.resetMFASettings))
	base := "/v1/environments/{envID}/deviceAuthenticationPolicies"
	mux.Handle("GET "+base, a.handle(a.listDeviceAuthPolicies))
	mux.Handle("POST "+base, a.handle(a.createDeviceAuthPolicy))
	mux.Handle("GET "+base+"/{policyID}", a.handle(a.getDeviceAuthPolicy))
	mux.Handle("PUT "+base+"/{policyID}", a.handle(a.updateDeviceAuthPolicy))
	mux.Handle("DELETE "+base+"/{policyID}", a.handle(a.deleteDeviceAuthPolicy))
}

// ---- MFA settings

func (a *API) renderMFASettings(envID string, rec *store.MFASettings) (*wire.MFASettings, error) {
	out, err := config.DecodeMFASettings(envID, rec)
	if err != nil {
		return nil, err
	}
	envHref := a.APIPath + "/environments/" + envID
	out.Links = wire.Links{"self": {Href: envHref + "/mfaSettings"}, "environment": {Href: envHref}}
	return out, nil
}

func (a *API) getMFASettings(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	rec, err := a.Store.GetMFASettings(r.Context(), env.ID)
	if errors.Is(err, store.ErrNotFound) {
		rec, err = nil, nil
	}
	if err != nil {
		return err
	}
	out, err := a.renderMFASettings(env.ID, rec)
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, out)
	return nil
}

// mfaSettingsOf validates a PUT: what it leaves out takes PingOne's
// default, as the PUT replaces the settings.
func mfaSettingsOf(req *wire.MFASettingsRequest) (wire.MFASettings, error) {
	out := config.DefaultMFASettings()
	var details []wire.Detail
	if p := req.Pairing; p != nil {
		if p.MaxAllowedDevices != nil {
			if *p.MaxAllowedDevices < 1 || *p.MaxAllowedDevices > maxAllowedDevicesMax {
				details = append(details, confRange("pairing.maxAllowedDevices", 1, maxAllowedDevicesMax))
			}
			out.Pairing.MaxAllowedDevices = int(*p.MaxAllowedDevices)
		}
		if p.PairingKeyFormat != nil {
			if !oneOf(*p.PairingKeyFormat, pairingKeyFormats) {
				details = append(details, wire.OneOf("pairing.pairingKeyFormat", pairingKeyFormats))
			}
			out.Pairing.PairingKeyFormat = *p.PairingKeyFormat
		}
	}
	if l := req.Lockout; l != nil {
		out.Lockout = &wire.MFALockout{}
		if l.FailureCount == nil {
			details = append(details, wire.Required("lockout.failureCount"))
		} else if *l.FailureCount < 0 || *l.FailureCount > maxInt32 {
			details = append(details, confRange("lockout.failureCount", 0, maxInt32))
		} else {
			out.Lockout.FailureCount = int(*l.FailureCount)
		}
		if l.DurationSeconds != nil {
			if *l.DurationSeconds < 0 || *l.DurationSeconds > maxInt32 {
				details = append(details, confRange("lockout.durationSeconds", 0, maxInt32))
			}
			d := int(*l.DurationSeconds)
			out.Lockout.DurationSeconds = &d
		}
	}
	if req.PhoneExtensions != nil && req.PhoneExtensions.Enabled != nil {
		out.PhoneExtensions.Enabled = bool(*req.PhoneExtensions.Enabled)
	}
	if req.Users != nil && req.Users.MfaEnabled != nil {
		out.Users.MfaEnabled = bool(*req.Users.MfaEnabled)
	}
	if req.Authentication != nil && req.Authentication.DeviceSelection != nil {
		if !oneOf(*req.Authentication.DeviceSelection, settingsDeviceSelections) {
			details = append(details, wire.OneOf("authentication.deviceSelection", settingsDeviceSelections))
		}
		out.Authentication.DeviceSelection = *req.Authentication.DeviceSelection
	}
	if len(details) > 0 {
		return out, wire.InvalidData(details...)
	}
	return out, nil
}

func (a *API) updateMFASettings(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	var req wire.MFASettingsRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	s, err := mfaSettingsOf(&req)
	if err != nil {
		return err
	}
	rec := &store.MFASettings{EnvironmentID: env.ID, Data: mustJSON(s), UpdatedAt: store.Now()}
	if err := a.Store.PutMFASettings(r.Context(), rec); err != nil {
		return err
	}
	out, err := a.renderMFASettings(env.ID, rec)
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, out)
	return nil
}

// resetMFASettings answers 204 as PingOne does; a later GET reads the
// defaults.
func (a *API) resetMFASettings(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	if err := a.Store.DeleteMFASettings(r.Context(), env.ID); err != nil {
		return err
	}
	wire.NoContent(w)
	return nil
}

// ---- device authentication policies

func (a *API) renderDeviceAuthPolicy(p *wire.DeviceAuthenticationPolicy) wire.DeviceAuthenticationPolicy {
	out := *p
	envHref := a.APIPath + "/environments/" + p.Environment.ID
	out.Links = wire.Links{"self": {Href: envHref + "/deviceAuthenticationPolicies/" + p.ID}, "environment": {Href: envHref}}
	return out
}

func (a *API) listDeviceAuthPolicies(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	ps, err := a.Store.ListDeviceAuthenticationPolicies(r.Context(), env.ID)
	if err != nil {
		return err
	}
	items, err := renderDecoded(ps, config.DecodeDeviceAuthenticationPolicy, a.renderDeviceAuthPolicy)
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, wholeList(a.APIPath+"/environments/"+env.ID+"/deviceAuthenticationPolicies", "deviceAuthenticationPolicies", items))
	return nil
}

func (a *API) getDeviceAuthPolicy(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	p, err := a.Store.GetDeviceAuthenticationPolicy(r.Context(), env.ID, r.PathValue("policyID"))
	if err != nil {
		return err
	}
	return writeDecoded(w, http.StatusOK, p, config.DecodeDeviceAuthenticationPolicy, a.renderDeviceAuthPolicy)
}

// period checks a {duration, timeUnit}: both required, the unit MINUTES or
// SECONDS, the duration within [min, max] minutes (60 times that in
// seconds).
func period(details *[]wire.Detail, target string, p *wire.TimePeriodRequest, min, max int64) wire.TimePeriod {
	var out wire.TimePeriod
	if p == nil {
		*details = append(*details, wire.Required(target))
		return out
	}
	if p.TimeUnit == nil {
		*details = append(*details, wire.Required(target+".timeUnit"))
	} else if !oneOf(*p.TimeUnit, timeUnits) {
		*details = append(*details, wire.OneOf(target+".timeUnit", timeUnits))
	} else {
		out.TimeUnit = *p.TimeUnit
	}
	if p.Duration == nil {
		*details = append(*details, wire.Required(target+".duration"))
		return out
	}
	lo, hi := min, max
	if out.TimeUnit == "SECONDS" {
		lo, hi = min*60, max*60
	}
	if int64(*p.Duration) < lo || int64(*p.Duration) > hi {
		*details = append(*details, confRange(target+".duration", lo, hi))
	}
	out.Duration = int(*p.Duration)
	return out
}

func failure(details *[]wire.Detail, target string, f *wire.OTPFailureRequest) wire.OTPFailure {
	var out wire.OTPFailure
	if f == nil {
		*details = append(*details, wire.Required(target))
		return out
	}
	if f.Count == nil {
		*details = append(*details, wire.Required(target+".count"))
	} else if *f.Count < 1 || *f.Count > otpFailureCountMax {
		*details = append(*details, confRange(target+".count", 1, otpFailureCountMax))
	} else {
		out.Count = int(*f.Count)
	}
	out.CoolDown = period(details, target+".coolDown", f.CoolDown, 0, coolDownMaxMinutes)
	return out
}

func wflag(b *wire.Bool) bool { return b != nil && bool(*b) }

// optFlag keeps an optional flag absent when not sent.
func optFlag(b *wire.Bool) *bool {
	if b == nil {
		return nil
	}
	v := bool(*b)
	return &v
}

func offlineDevice(details *[]wire.Detail, target string, d *wire.OfflineDeviceRequest) wire.OfflineDevicePolicy {
	var out wire.OfflineDevicePolicy
	if d == nil {
		*details = append(*details, wire.Required(target))
		return out
	}
	if d.Enabled == nil {
		*details = append(*details, wire.Required(target+".enabled"))
	}
	out.Enabled, out.PairingDisabled, out.PromptForNicknameOnPairing = wflag(d.Enabled), wflag(d.PairingDisabled), optFlag(d.PromptForNicknameOnPairing)
	if d.OTP == nil {
		*details = append(*details, wire.Required(target+".otp"))
		return out
	}
	out.OTP.LifeTime = period(details, target+".otp.lifeTime", d.OTP.LifeTime, 1, otpLifetimeMaxMinutes)
	out.OTP.Failure = failure(details, target+".otp.failure", d.OTP.Failure)
	out.OTP.OTPLength = otpLengthMin
	if d.OTP.OTPLength != nil {
		if *d.OTP.OTPLength < otpLengthMin || *d.OTP.OTPLength > otpLengthMax {
			*details = append(*details, confRange(target+".otp.otpLength", otpLengthMin, otpLengthMax))
		}
		out.OTP.OTPLength = int(*d.OTP.OTPLength)
	}
	return out
}

// deviceAuthPolicyOf validates a POST or PUT and returns the stored
// document; the default flag is applied by the caller.
func deviceAuthPolicyOf(req *wire.DeviceAuthenticationPolicyRequest) (wire.DeviceAuthenticationPolicyData, error) {
	var details []wire.Detail
	details = confName(details, "name", req.Name, 256)
	out := wire.DeviceAuthenticationPolicyData{
		Authentication:        wire.MFADeviceSelection{DeviceSelection: "DEFAULT_TO_FIRST"},
		NewDeviceNotification: "NONE", // PingOne's default when absent
		IgnoreUserLock:        wflag(req.IgnoreUserLock),
	}
	if req.Authentication != nil && req.Authentication.DeviceSelection != nil {
		if !oneOf(*req.Authentication.DeviceSelection, deviceSelections) {
			details = append(details, wire.OneOf("authentication.deviceSelection", deviceSelections))
		}
		out.Authentication.DeviceSelection = *req.Authentication.DeviceSelection
	}
	if req.NewDeviceNotification != nil {
		if !oneOf(*req.NewDeviceNotification, newDeviceNotification) {
			details = append(details, wire.OneOf("newDeviceNotification", newDeviceNotification))
		}
		out.NewDeviceNotification = *req.NewDeviceNotification
	}
	out.SMS = offlineDevice(&details, "sms", req.SMS)
	out.Voice = offlineDevice(&details, "voice", req.Voice)
	out.Email = offlineDevice(&details, "email", req.Email)

	if t := req.TOTP; t == nil {
		details = append(details, wire.Required("totp"))
	} else {
		if t.Enabled == nil {
			details = append(details, wire.Required("totp.enabled"))
		}
		out.TOTP = wire.TOTPPolicy{Enabled: wflag(t.Enabled), PairingDisabled: wflag(t.PairingDisabled),
			PromptForNicknameOnPairing: optFlag(t.PromptForNicknameOnPairing), PasscodeGracePeriod: 5, URIParameters: t.URIParameters}
		if t.PasscodeGracePeriod != nil {
			if *t.PasscodeGracePeriod < 1 || *t.PasscodeGracePeriod > gracePeriodMax {
				details = append(details, confRange("totp.passcodeGracePeriod", 1, gracePeriodMax))
			}
			out.TOTP.PasscodeGracePeriod = int(*t.PasscodeGracePeriod)
		}
		if t.OTP == nil {
			details = append(details, wire.Required("totp.otp"))
		} else {
			out.TOTP.OTP.Failure = failure(&details, "totp.otp.failure", t.OTP.Failure)
		}
	}

	if !present(req.Mobile) {
		details = append(details, wire.Required("mobile"))
	}
	out.Mobile = rawObject(&details, "mobile", req.Mobile)
	out.FIDO2 = fido2Method(&details, req.FIDO2)
	out.OathToken = rawObject(&details, "oathToken", req.OathToken)
	out.WhatsApp = rawObject(&details, "whatsApp", req.WhatsApp)
	out.RememberMe = rawObject(&details, "rememberMe", req.RememberMe)
	out.NotificationsPolicy = rawObject(&details, "notificationsPolicy", req.NotificationsPolicy)
	if len(details) > 0 {
		return out, wire.InvalidData(details...)
	}
	return out, nil
}

// applyDeviceAuthPolicy writes a valid request over p. The default flag
// only moves: true makes p the default, false never leaves the
// environment without one.
func applyDeviceAuthPolicy(req *wire.DeviceAuthenticationPolicyRequest, p *store.DeviceAuthenticationPolicy) error {
	d, err := deviceAuthPolicyOf(req)
	if err != nil {
		return err
	}
	p.Name, p.Data = strings.TrimSpace(*req.Name), mustJSON(d)
	if wflag(req.Default) {
		p.Default = true
	}
	return nil
}

// deviceAuthPolicySet runs the device authentication policies' writes.
var deviceAuthPolicySet = defaultedPolicies[store.DeviceAuthenticationPolicy]{
	lock:         store.Store.LockDeviceAuthenticationPolicies,
	read:         store.Store.GetDeviceAuthenticationPolicy,
	clearDefault: store.Store.ClearDefaultDeviceAuthenticationPolicy,
	insert:       store.Store.CreateDeviceAuthenticationPolicy,
	write:        store.Store.UpdateDeviceAuthenticationPolicy,
	remove:       store.Store.DeleteDeviceAuthenticationPolicy,
	head:         func(p *store.DeviceAuthenticationPolicy) (string, bool) { return p.ID, p.Default },
	touch:        func(p *store.DeviceAuthenticationPolicy) { p.UpdatedAt = store.Now() },
	refuseDefault: func() error {
		return wire.RequestFailed("The default device authentication policy cannot be deleted. Make another policy the default first.")
	},
}

func (a *API) createDeviceAuthPolicy(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	var req wire.DeviceAuthenticationPolicyRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	now := store.Now()
	p := &store.DeviceAuthenticationPolicy{ID: uuid.NewString(), EnvironmentID: env.ID, CreatedAt: now, UpdatedAt: now}
	if err := applyDeviceAuthPolicy(&req, p); err != nil {
		return err
	}
	// The FIDO2 policy named is checked after the lock, as in an update:
	// the two take the lock and the FIDO2 policy's row in one order.
	err = deviceAuthPolicySet.create(r.Context(), a.Store, env.ID, p, func(tx store.Store) error {
		return checkFIDO2PolicyRef(r.Context(), tx, env.ID, &req)
	})
	if err != nil {
		return err
	}
	return writeDecoded(w, http.StatusCreated, p, config.DecodeDeviceAuthenticationPolicy, a.renderDeviceAuthPolicy)
}

func (a *API) updateDeviceAuthPolicy(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	var req wire.DeviceAuthenticationPolicyRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	p, err := deviceAuthPolicySet.update(r.Context(), a.Store, env.ID, r.PathValue("policyID"), func(tx store.Store, p *store.DeviceAuthenticationPolicy) error {
		if err := applyDeviceAuthPolicy(&req, p); err != nil {
			return err
		}
		return checkFIDO2PolicyRef(r.Context(), tx, env.ID, &req)
	})
	if err != nil {
		return err
	}
	return writeDecoded(w, http.StatusOK, p, config.DecodeDeviceAuthenticationPolicy, a.renderDeviceAuthPolicy)
}

// mfaActionPolicyID is the device authentication policy a
// MULTI_FACTOR_AUTHENTICATION action names ("" when none).
func mfaActionPolicyID(data json.RawMessage) string {
	var d struct {
		DeviceAuthenticationPolicy json.RawMessage `json:"deviceAuthenticationPolicy"`
	}
	if json.Unmarshal(data, &d) != nil {
		return ""
	}
	return wire.RefID(d.DeviceAuthenticationPolicy)
}

// deleteDeviceAuthPolicy refuses the default policy and a policy a
// sign-on policy's MFA action names. Reading the policy first locks it:
// an action being written that names it waits, and then finds it gone.
func (a *API) deleteDeviceAuthPolicy(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	err = deviceAuthPolicySet.delete(r.Context(), a.Store, env.ID, r.PathValue("policyID"), func(tx store.Store, p *store.DeviceAuthenticationPolicy) error {
		acts, err := tx.ListEnvironmentSignOnPolicyActions(r.Context(), env.ID)
		if err != nil {
			return err
		}
		for _, x := range acts {
			if x.Type == "MULTI_FACTOR_AUTHENTICATION" && mfaActionPolicyID(x.Data) == p.ID {
				return wire.RequestFailed("The device authentication policy is used by a sign-on policy action and cannot be deleted.")
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

// deviceAuthPolicyExists reports whether envID has policy id; inside the
// action's transaction it holds off the policy's delete.
func deviceAuthPolicyExists(ctx context.Context, st store.Store, envID, id string) (bool, error) {
	_, err := st.GetDeviceAuthenticationPolicy(ctx, envID, id)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}
