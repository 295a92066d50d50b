package mgmt

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Media types of the MFA device endpoints.
const (
	ctDeviceActivate = "application/vnd.pingidentity.device.activate+json"
	// ctDeviceSendCode is PingOne's device.sendActivationCode+json as
	// mime.ParseMediaType returns it (lower case): media types match
	// whatever their case.
	ctDeviceSendCode     = "application/vnd.pingidentity.device.sendactivationcode+json"
	ctDevicesReorder     = "application/vnd.pingidentity.devices.reorder+json"
	ctDevicesOrderRemove = "application/vnd.pingidentity.devices.order.remove+json"
)

// MFAPolicies gives the MFA settings of an environment and the settings
// of one device type in a device authentication policy ("" = the
// environment's default policy), as the domain takes them.
type MFAPolicies interface {
	Settings(ctx context.Context, envID string) (*mfa.Settings, error)
	Method(ctx context.Context, envID, policyID, deviceType string) (mfa.MethodPolicy, error)
}

// mfaPolicies are the environment's MFA settings and device
// authentication policies from the configuration, unless a test gives
// others.
func (a *API) mfaPolicies() MFAPolicies {
	if a.MFAPolicies != nil {
		return a.MFAPolicies
	}
	return mfa.Configured{Config: a.config()}
}

func (a *API) mfaDeviceRoutes(mux router) {
	base := "/v1/environments/{envID}/users/{userID}/devices"
	one := base + "/{deviceID}"
	mux.Handle("GET "+base, a.handle(a.listMFADevices))
	mux.Handle("POST "+base, a.handle(a.postMFADevices))
	mux.Handle("DELETE "+base, a.handle(a.removeMFADeviceOrder))
	mux.Handle("GET "+one, a.handle(a.getMFADevice))
	mux.Handle("POST "+one, a.handle(a.mfaDeviceAction))
	mux.Handle("DELETE "+one, a.handle(a.deleteMFADevice))
	mux.Handle("PUT "+one+"/nickname", a.handle(a.putMFADeviceNickname))
}

// devicePairing is how the management API pairs devices of some types:
// PingOne's two steps (create, then activate) differ by type: a passcode
// sent or computed for the OTP types, a WebAuthn ceremony for FIDO2.
type devicePairing interface {
	// create makes a device of u as req asks (in is req as the MFA
	// domain takes it), under the MFA settings st and the type's
	// settings m in the device authentication policy; it returns the
	// creation's response.
	create(ctx context.Context, u *store.User, req *wire.MFADeviceRequest, in mfa.DeviceInput, st *mfa.Settings, m mfa.MethodPolicy) (wire.MFADevice, error)
	// activate proves d, awaiting activation, with req; d becomes what
	// was written.
	activate(ctx context.Context, u *store.User, d *store.MFADevice, req *wire.MFADeviceActivateRequest) error
	// render adds the members of the type to a device's rendering.
	render(d *store.MFADevice, out *wire.MFADevice)
}

// pairings are the device types paired otherwise than with a passcode.
var pairings = map[string]func(*API) devicePairing{
	mfa.TypeFIDO2: func(a *API) devicePairing { return fido2Pairing{a} },
}

func (a *API) pairing(typ string) devicePairing {
	if p, ok := pairings[typ]; ok {
		return p(a)
	}
	return otpPairing{a}
}

func (a *API) renderMFADevice(d *store.MFADevice) wire.MFADevice {
	user := a.userHref(d.EnvironmentID, d.UserID)
	out := wire.MFADevice{
		Links: wire.Links{"self": {Href: user + "/devices/" + d.ID}, "user": {Href: user},
			"environment": {Href: a.APIPath + "/environments/" + d.EnvironmentID}},
		ID: d.ID, Environment: wire.Ref{ID: d.EnvironmentID}, User: wire.Ref{ID: d.UserID}, Type: d.Type, Status: d.Status,
		Nickname: d.Nickname, Email: d.Email, Phone: d.Phone, CreatedAt: wire.Time(d.CreatedAt), UpdatedAt: wire.Time(d.UpdatedAt),
	}
	a.pairing(d.Type).render(d, &out)
	return out
}

// otpPairing pairs EMAIL, SMS and VOICE devices (a pairing passcode sent
// unless the device is created ACTIVE) and TOTP devices (a code of the
// app, whose secret the creation returns once).
type otpPairing struct{ a *API }

func (p otpPairing) create(ctx context.Context, u *store.User, _ *wire.MFADeviceRequest, in mfa.DeviceInput, st *mfa.Settings, m mfa.MethodPolicy) (wire.MFADevice, error) {
	d, enrol, err := p.a.MFA.CreateDevice(ctx, u, in, st, m)
	if err != nil {
		return wire.MFADevice{}, mfaError(err)
	}
	out := p.a.renderMFADevice(d)
	if enrol != nil {
		out.Secret, out.KeyURI = enrol.Secret, enrol.KeyURI
	}
	return out, nil
}

func (p otpPairing) activate(ctx context.Context, u *store.User, d *store.MFADevice, req *wire.MFADeviceActivateRequest) error {
	if req.OTP == nil || *req.OTP == "" {
		return wire.InvalidData(wire.Required("otp"))
	}
	st, err := p.a.mfaPolicies().Settings(ctx, u.EnvironmentID)
	if err != nil {
		return err
	}
	return mfaError(p.a.MFA.Activate(ctx, u, d, *req.OTP, st))
}

func (otpPairing) render(*store.MFADevice, *wire.MFADevice) {}

// deviceUser resolves the path's environment and user for perm.
func (a *API) deviceUser(r *http.Request, perm string) (*store.User, error) {
	env, _, err := a.userScope(r, perm)
	if err != nil {
		return nil, err
	}
	return a.Store.GetUser(r.Context(), env.ID, r.PathValue("userID"))
}

func (a *API) listMFADevices(w http.ResponseWriter, r *http.Request) error {
	u, err := a.deviceUser(r, roles.ReadUser)
	if err != nil {
		return err
	}
	ds, err := a.MFA.Devices(r.Context(), u.EnvironmentID, u.ID)
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, wholeList(a.userHref(u.EnvironmentID, u.ID)+"/devices", "devices", renderAll(ds, a.renderMFADevice)))
	return nil
}

func (a *API) getMFADevice(w http.ResponseWriter, r *http.Request) error {
	u, err := a.deviceUser(r, roles.ReadUser)
	if err != nil {
		return err
	}
	d, err := a.MFA.Device(r.Context(), u.EnvironmentID, u.ID, r.PathValue("deviceID"))
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, a.renderMFADevice(d))
	return nil
}

// postMFADevices creates a device (application/json), sets the user's
// device order (devices.reorder+json) or removes it
// (devices.order.remove+json, PingOne's documented "Remove Device Order").
func (a *API) postMFADevices(w http.ResponseWriter, r *http.Request) error {
	switch contentType(r, []string{ctDevicesReorder, ctDevicesOrderRemove}) {
	case ctDevicesReorder:
		return a.setMFADeviceOrder(w, r)
	case ctDevicesOrderRemove:
		return a.removeMFADeviceOrder(w, r)
	}
	u, err := a.deviceUser(r, roles.WriteUser)
	if err != nil {
		return err
	}
	var req wire.MFADeviceRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	in := mfa.DeviceInput{Type: str(req.Type), Status: str(req.Status), Nickname: str(req.Nickname), Email: str(req.Email), Phone: str(req.Phone)}
	policyID := ""
	if req.Policy != nil {
		policyID = str(req.Policy.ID)
	}
	ctx := r.Context()
	st, err := a.mfaPolicies().Settings(ctx, u.EnvironmentID)
	if err != nil {
		return err
	}
	m, err := a.mfaPolicies().Method(ctx, u.EnvironmentID, policyID, in.Type)
	if err != nil {
		return mfaError(err)
	}
	out, err := a.pairing(in.Type).create(ctx, u, &req, in, st, m)
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusCreated, out)
	return nil
}

func (a *API) setMFADeviceOrder(w http.ResponseWriter, r *http.Request) error {
	u, err := a.deviceUser(r, roles.WriteUser)
	if err != nil {
		return err
	}
	var req wire.MFADeviceOrderRequest
	if err := decode(r, &req, ctDevicesReorder); err != nil {
		return err
	}
	if len(req.Order) == 0 {
		return wire.InvalidData(wire.Required("order"))
	}
	ids := make([]string, len(req.Order))
	for i, ref := range req.Order {
		if ids[i] = str(ref.ID); ids[i] == "" {
			return wire.InvalidData(wire.Required("order.id"))
		}
	}
	err = a.MFA.SetOrder(r.Context(), u.EnvironmentID, u.ID, ids)
	if errors.Is(err, store.ErrNotFound) {
		return wire.InvalidData(wire.InvalidValue("order", "The order names a device the user does not have."))
	}
	if err != nil {
		return mfaError(err)
	}
	return a.listMFADevices(w, r)
}

// removeMFADeviceOrder serves DELETE …/devices (PingOne's SDK sends it
// with no body and no content type, or as devices.order.remove+json) and
// the POST PingOne documents; a body, if any, is ignored.
func (a *API) removeMFADeviceOrder(w http.ResponseWriter, r *http.Request) error {
	if r.Header.Get("Content-Type") != "" && contentType(r, []string{ctDevicesOrderRemove, ctJSON}) == "" {
		return wire.UnsupportedMediaType(r.Header.Get("Content-Type"))
	}
	u, err := a.deviceUser(r, roles.WriteUser)
	if err != nil {
		return err
	}
	if err := a.MFA.SetOrder(r.Context(), u.EnvironmentID, u.ID, nil); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// mfaDeviceAction serves POST …/devices/{id}: activation (with a
// passcode, or a FIDO2 device's attestation), or a new pairing passcode.
func (a *API) mfaDeviceAction(w http.ResponseWriter, r *http.Request) error {
	ct := contentType(r, []string{ctDeviceActivate, ctDeviceSendCode})
	if ct == "" {
		return wire.UnsupportedMediaType(r.Header.Get("Content-Type"))
	}
	u, err := a.deviceUser(r, roles.WriteUser)
	if err != nil {
		return err
	}
	ctx := r.Context()
	d, err := a.MFA.Device(ctx, u.EnvironmentID, u.ID, r.PathValue("deviceID"))
	if err != nil {
		return err
	}
	if ct == ctDeviceSendCode {
		m, err := a.mfaPolicies().Method(ctx, u.EnvironmentID, "", d.Type)
		if err != nil {
			return err
		}
		if err := a.MFA.ResendPairing(ctx, u, d, m); err != nil {
			return mfaError(err)
		}
		wire.Write(w, http.StatusOK, a.renderMFADevice(d))
		return nil
	}
	var req wire.MFADeviceActivateRequest
	if err := decode(r, &req, ctDeviceActivate); err != nil {
		return err
	}
	if err := a.pairing(d.Type).activate(ctx, u, d, &req); err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, a.renderMFADevice(d))
	return nil
}

func (a *API) putMFADeviceNickname(w http.ResponseWriter, r *http.Request) error {
	u, err := a.deviceUser(r, roles.WriteUser)
	if err != nil {
		return err
	}
	var req wire.MFADeviceNicknameRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Nickname == nil {
		return wire.InvalidData(wire.Required("nickname"))
	}
	d, err := a.MFA.Device(r.Context(), u.EnvironmentID, u.ID, r.PathValue("deviceID"))
	if err != nil {
		return err
	}
	if err := a.MFA.SetNickname(r.Context(), d, *req.Nickname); err != nil {
		return mfaError(err)
	}
	wire.Write(w, http.StatusOK, a.renderMFADevice(d))
	return nil
}

func (a *API) deleteMFADevice(w http.ResponseWriter, r *http.Request) error {
	u, err := a.deviceUser(r, roles.WriteUser)
	if err != nil {
		return err
	}
	if err := a.Store.DeleteMFADevice(r.Context(), u.EnvironmentID, u.ID, r.PathValue("deviceID")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// mfaError turns the domain's refusals into PingOne's errors. A refused
// passcode is a 400 INVALID_DATA whose detail names why (INVALID_OTP,
// OTP_EXPIRED, OTP_USED, LOCKED) with the attempts remaining or the
// seconds until the lock ends.
func mfaError(err error) error {
	var ie *mfa.InputError
	var oe *mfa.OTPError
	switch {
	case errors.As(err, &ie):
		switch {
		case ie.Required:
			return wire.InvalidData(wire.Required(ie.Target))
		case len(ie.Allowed) > 0:
			return wire.InvalidData(wire.OneOf(ie.Target, ie.Allowed))
		}
		return wire.InvalidData(wire.InvalidValue(ie.Target, ie.Message))
	case errors.As(err, &oe):
		d := wire.Detail{Code: oe.Reason, Target: "otp"}
		switch oe.Reason {
		case mfa.ReasonInvalid:
			n := oe.Remaining
			d.Message, d.InnerError = "Invalid one-time passcode.", &wire.InnerError{FailuresRemaining: &n}
		case mfa.ReasonExpired:
			d.Message = "The one-time passcode has expired."
		case mfa.ReasonUsed:
			d.Message = "The one-time passcode was already used or is no longer valid; request a new one."
		case mfa.ReasonLocked:
			secs := int(time.Until(oe.Until).Seconds()) + 1
			d.Message, d.InnerError = "Too many wrong one-time passcodes: try again later.", &wire.InnerError{SecondsUntilUnlock: &secs}
		}
		return wire.InvalidData(d)
	case errors.Is(err, mfa.ErrTooManyDevices):
		return wire.InvalidData(wire.InvalidValue("type", "The user already has the maximum number of MFA devices the MFA settings allow."))
	case errors.Is(err, mfa.ErrNotActivationRequired):
		return wire.InvalidRequest(wire.InvalidValue("status", "The device does not require activation."))
	case errors.Is(err, mfa.ErrNoPairingCode):
		return wire.InvalidRequest(wire.InvalidValue("status", "The device has no pairing code to send."))
	}
	return err
}
