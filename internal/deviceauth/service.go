// Package deviceauth is PingOne's device authentications,
// {authPath}/{envId}/deviceAuthentications: an MFA-only flow in which an
// application (a worker, by its own access token) asks one of its users
// for a second factor without authorize — start, select a device, check
// the one-time passcode — with the statuses and actions of the sign-on
// flow's MULTI_FACTOR_AUTHENTICATION action (DEVICE_SELECTION_REQUIRED
// with device.select, OTP_REQUIRED with otp.check, COMPLETED, FAILED).
// Passcodes, devices and the MFA lockout are the mfa domain's; this
// package holds the flow's state (a device_authentications row, stepped
// by conditional updates on its version) and its HTTP shape.
package deviceauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/accesstoken"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Statuses of a device authentication (PingOne's flow statuses).
const (
	StatusDeviceSelectionRequired = "DEVICE_SELECTION_REQUIRED"
	StatusOTPRequired             = "OTP_REQUIRED"
	StatusCompleted               = "COMPLETED"
	StatusFailed                  = "FAILED"
)

// Actions, each selected by its media type
// application/vnd.pingidentity.<action>+json. cancel.push.authentication
// is PingOne's "change device": back to device selection.
const (
	ActionDeviceSelect = wire.ActionDeviceSelect
	ActionOTPCheck     = wire.ActionOTPCheck
	ActionCancel       = "cancel.push.authentication"
)

// Detail codes of refusals, as the sign-on flow names them.
const (
	DetailInvalidOTP      = wire.DetailInvalidOTP
	DetailOTPExpired      = wire.DetailOTPExpired
	DetailLocked          = wire.DetailMFALocked
	DetailNoUsableDevices = wire.DetailNoUsableDevices
)

// MFA is what device authentications need of the MFA domain; *mfa.Service
// is it.
type MFA interface {
	// Devices are the user's devices in the user's order.
	Devices(ctx context.Context, envID, userID string) ([]store.MFADevice, error)
	// Device is one device of the user; store.ErrNotFound otherwise.
	Device(ctx context.Context, envID, userID, deviceID string) (*store.MFADevice, error)
	// Challenge sends a fresh passcode to d (none for TOTP).
	Challenge(ctx context.Context, u *store.User, d *store.MFADevice, m mfa.MethodPolicy, purpose string) (*mfa.Challenge, error)
	// Check checks otp against c, counting a wrong one into c and the
	// user's lockout: nil or *mfa.OTPError.
	Check(ctx context.Context, u *store.User, d *store.MFADevice, m mfa.MethodPolicy, s *mfa.Settings, c *mfa.Challenge, otp string) error
	// Locked is the end of the user's MFA lock; zero when not locked.
	Locked(ctx context.Context, envID, userID string) (time.Time, error)
}

// Service serves device authentications.
type Service struct {
	Store    store.Store
	Config   *config.Cache
	Tokens   accesstoken.Verifier
	MFA      MFA
	AuthPath string // base URL, no trailing slash
	// Policy is the environment's device authentication policy id (""
	// is the default); store.ErrNotFound for an unknown one. Settings are
	// the environment's MFA settings. Nil: the configuration cache's.
	Policy   func(ctx context.Context, envID, id string) (*mfa.Policy, error)
	Settings func(ctx context.Context, envID string) (*mfa.Settings, error)
	// Limits bound what callers can make it do; nil limits nothing.
	Limits *Limits
	Now    func() time.Time
	// Audit records each passcode check (see audit.go); nil records
	// nothing.
	Audit audit.Recorder
}

// Idle is how long a device authentication lives after its last step,
// as a sign-on flow does.
const Idle = 15 * time.Minute

// maxBodyBytes bounds a request body; every body here is a few ids.
const maxBodyBytes = 16 << 10

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Routes registers the endpoints on mux, beside the auth service's.
func (s *Service) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /{envID}/deviceAuthentications", s.handle(s.start))
	mux.HandleFunc("GET /{envID}/deviceAuthentications/{id}", s.handle(s.read))
	mux.HandleFunc("POST /{envID}/deviceAuthentications/{id}", s.handle(s.step))
}

// caller is who a request acts as: the application whose token it
// carries, in the path's environment.
type caller struct {
	env   *config.Environment
	appID string
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, c *caller) error

// handle authenticates the request before the handler runs: the path's
// environment (404 when there is none), then a bearer token of an
// application (a worker's client_credentials token) that is enabled and
// holds identity:write:user over the environment — PingOne's Identity
// Data Admin, whom its MFA devices need too.
func (s *Service) handle(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := s.authenticate(r)
		if err == nil {
			err = h(w, r, c)
		}
		if err != nil {
			wire.WriteErrorCtx(r.Context(), w, err)
		}
	}
}

func (s *Service) authenticate(r *http.Request) (*caller, error) {
	ctx := r.Context()
	env, err := s.Config.Environment(ctx, r.PathValue("envID"))
	if errors.Is(err, store.ErrNotFound) {
		return nil, wire.NotFound("")
	} else if err != nil {
		return nil, err
	}
	h := r.Header.Get("Authorization")
	raw, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		if raw, ok = strings.CutPrefix(h, "bearer "); !ok {
			return nil, wire.Unauthorized()
		}
	}
	claims, err := s.Tokens.VerifyAccessToken(ctx, strings.TrimSpace(raw))
	if errors.Is(err, accesstoken.ErrInvalid) {
		return nil, wire.Unauthorized()
	} else if err != nil {
		return nil, err
	}
	if claims.Subject != claims.ClientID || claims.SessionID != "" {
		// A user's token never acts with its application's roles.
		return nil, wire.Unauthorized()
	}
	enabled, err := s.actorEnabled(ctx, claims.Env, claims.ClientID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !enabled) {
		// A token of an application deleted or disabled since stops at once.
		return nil, wire.Unauthorized()
	} else if err != nil {
		return nil, err
	}
	ras, err := s.Config.RoleAssignments(ctx, claims.Env, claims.ClientID)
	if err != nil {
		return nil, err
	}
	if !roles.Allowed(ras, roles.WriteUser, roles.Target{OrgID: env.OrganizationID, EnvID: env.ID}) {
		return nil, wire.Forbidden()
	}
	return &caller{env: env, appID: claims.ClientID}, nil
}

// actorEnabled says whether the token's application exists and is
// enabled; settings that do not decode do not matter here, the record
// does.
func (s *Service) actorEnabled(ctx context.Context, envID, appID string) (bool, error) {
	app, err := s.Config.Application(ctx, envID, appID)
	if !errors.Is(err, config.ErrDamaged) {
		return err == nil && app.Enabled, err
	}
	rec, err := s.Store.GetApplication(ctx, envID, appID)
	if err != nil {
		return false, err
	}
	return rec.Enabled, nil
}

// mediaType is the request's media type, "" when it has none that parses.
// PingOne's clients may send application/json beside a vendor type: the
// vendor type says the action.
func mediaType(r *http.Request) string {
	picked := ""
	for _, v := range r.Header.Values("Content-Type") {
		for _, part := range strings.Split(v, ",") {
			mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			if strings.HasPrefix(mt, "application/vnd.pingidentity.") {
				return mt
			}
			if picked == "" {
				picked = mt
			}
		}
	}
	return picked
}

// actionOf is the action a vendor media type names, "" for another type.
func actionOf(mt string) string {
	a, ok := strings.CutPrefix(mt, "application/vnd.pingidentity.")
	if !ok {
		return ""
	}
	a, ok = strings.CutSuffix(a, "+json")
	if !ok {
		return ""
	}
	return a
}

// readBody reads a bounded JSON object into v: a body too large is 413,
// one that is not a JSON object 400, text that is not UTF-8 or nested too
// deep INVALID_DATA (wire.CheckJSON), NUL refused before it reaches a
// query.
func readBody(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return wire.TooLarge(maxBodyBytes)
		}
		return wire.InvalidRequest(wire.InvalidValue("", "The request body could not be read."))
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return wire.InvalidRequest(wire.InvalidValue("", "A request body is required."))
	}
	if err := wire.CheckJSON(body); err != nil {
		return err
	}
	if bytes.IndexByte(body, 0) >= 0 || bytes.Contains(body, []byte(`\u0000`)) {
		return wire.InvalidData(wire.InvalidValue("", "The request body must not contain NUL characters."))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil || dec.More() {
		return errNotObject
	}
	return nil
}

var errNotObject = wire.InvalidRequest(wire.InvalidValue("", "The request body must be a JSON object of the documented shape."))
