package authsvc

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/flow/methods/device"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// PingOne's defaults for an application stored without its device
// settings: codes live deviceTimeout seconds, devices poll every
// devicePollingInterval seconds.
const (
	defaultDeviceTimeout         = 600
	defaultDevicePollingInterval = 5
)

// deviceRoutes registers the device authorization endpoint and the
// device verification page (PingOne's "start flow" endpoints).
func (s *Service) deviceRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /{envID}/as/device_authorization", s.deviceAuthorization)
	mux.HandleFunc("GET /{envID}/device", s.deviceStart)
	mux.HandleFunc("GET /{envID}/device/{appIdentifier}", s.deviceStart)
}

// deviceAuthorizationResponse is RFC 8628 §3.2's answer, as PingOne
// writes it (every member, verification_uri_complete included).
type deviceAuthorizationResponse struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int    `json:"expires_in"`
	Interval                int    `json:"interval"`
}

const whyDevicesFromAddress = "Too many device authorizations from this address."

// deviceAuthorization is POST /{envId}/as/device_authorization: the
// client authenticates as at the token endpoint (a public client sends
// its client_id), its application must have the DEVICE_CODE grant, and
// its scopes are resolved as authorize resolves them. What is stored is
// the hashes of the two codes, the scopes' audience and lifetime, and the
// polling interval.
func (s *Service) deviceAuthorization(w http.ResponseWriter, r *http.Request) {
	resp, oe := s.authorizeDevice(w, r)
	if oe != nil {
		writeOAuthError(w, oe)
		return
	}
	writeJSONNoStore(w, http.StatusOK, resp)
}

func (s *Service) authorizeDevice(w http.ResponseWriter, r *http.Request) (*deviceAuthorizationResponse, *oauthError) {
	cr, oe := s.readClientRequest(w, r)
	if oe != nil {
		return nil, oe
	}
	if oe := s.authenticate(cr); oe != nil {
		return nil, oe
	}
	ctx := r.Context()
	app := cr.client.app
	if !slices.Contains(app.Settings.GrantTypes, "DEVICE_CODE") {
		return nil, unauthorizedClient("The application does not have the DEVICE_CODE grant type.")
	}
	if cr.client.method == methodNone && s.Flows != nil && s.Flows.Limits != nil {
		// A public client proves nothing: anyone may ask for codes in its
		// name, so each request counts as a sign-on started from its
		// address, and what one address makes the server keep stays
		// bounded.
		if ok, wait := s.Flows.Limits.FlowsPerAddress.Allow(httpx.SourceKey(httpx.SourceOf(r)), s.now()); !ok {
			return nil, limitedOAuth(&ratelimit.Error{What: whyDevicesFromAddress, RetryAfter: wait})
		}
	}
	scope := strings.Join(strings.Fields(cr.form.Get("scope")), " ")
	aud, ttl, e := s.resolveScopes(ctx, cr.env.ID, app, strings.Fields(scope))
	if e != nil {
		return nil, e.oauth()
	}
	timeout, interval := app.Settings.DeviceTimeout, app.Settings.DevicePollingInterval
	if timeout <= 0 {
		timeout = defaultDeviceTimeout
	}
	if interval <= 0 {
		interval = defaultDevicePollingInterval
	}
	g := GrantData{Scope: scope, Audience: aud, AccessTokenTTL: ttl}
	now := s.now().UTC().Truncate(time.Millisecond)
	// device_code is a UUID, as PingOne's are: 122 random bits, and only
	// its hash is kept.
	deviceCode := uuid.NewString()
	var userCode string
	for attempt := 0; ; attempt++ {
		userCode = newUserCode()
		err := s.Store.CreateDeviceAuthorization(ctx, &store.DeviceAuthorization{DeviceCodeHash: hashSecret(deviceCode),
			UserCodeHash: device.HashUserCode(device.Normalize(userCode)), EnvironmentID: cr.env.ID, ApplicationID: app.ID,
			Status: store.DevicePending, Data: g.marshal(), Interval: interval, CreatedAt: now, ExpiresAt: now.Add(time.Duration(timeout) * time.Second)})
		var ue *store.UniqueError
		if errors.As(err, &ue) && attempt < 3 {
			continue // another live device shows this code: draw again
		}
		if err != nil {
			slog.ErrorContext(ctx, "device authorization: cannot be stored", "environment", cr.env.ID, "application", app.ID, "err", err)
			return nil, serverError()
		}
		break
	}
	uri := s.verificationURI(cr.env.ID, app)
	return &deviceAuthorizationResponse{DeviceCode: deviceCode, UserCode: userCode, VerificationURI: uri,
		VerificationURIComplete: appendParams(uri, url.Values{"user_code": {userCode}}, false), ExpiresIn: timeout, Interval: interval}, nil
}

// verificationURI is where the user goes: the application's
// deviceCustomVerificationUri, else /{envId}/device/{devicePathId or
// application id}, which names the application, so that the flow runs
// its sign-on policy.
func (s *Service) verificationURI(envID string, app *config.Application) string {
	if u := app.Settings.DeviceCustomVerificationURI; u != "" {
		return u
	}
	id := app.Settings.DevicePathID
	if id == "" {
		id = app.ID
	}
	return s.AuthPath + "/" + envID + "/device/" + url.PathEscape(id)
}

// newUserCode is a user code in PingOne's form, XXXX-XXXX, from
// device.Alphabet.
func newUserCode() string {
	var b [9]byte
	max := big.NewInt(int64(len(device.Alphabet)))
	for i := range b {
		if i == 4 {
			b[i] = '-'
			continue
		}
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(err) // crypto/rand does not fail on supported systems
		}
		b[i] = device.Alphabet[n.Int64()]
	}
	return string(b[:])
}

// deviceStart is GET /{envId}/device[/{appIdentifier}][?user_code=…]: a
// sign-on flow for the application the path names (by id or
// devicePathId) or the user code names, sent to the sign-on page; the
// flow asks for the code (pre-filled from user_code) once the user has
// signed on. Without either, the page asks for the code first.
func (s *Service) deviceStart(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	env, err := s.Config.Environment(ctx, r.PathValue("envID"))
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	userCode := device.Normalize(r.URL.Query().Get("user_code"))
	if len(userCode) > 64 {
		userCode = ""
	}
	var app *config.Application
	if id := r.PathValue("appIdentifier"); id != "" {
		if app, err = s.deviceApp(ctx, env.ID, id); err != nil {
			s.errorPage(w, r, err)
			return
		}
	} else {
		enter := s.AuthPath + "/" + env.ID + "/signon/?device=enter"
		if userCode == "" {
			http.Redirect(w, r, enter, http.StatusFound)
			return
		}
		var rl *ratelimit.Error
		if app, err = s.appOfUserCode(r, env.ID, userCode); errors.Is(err, errUnknownUserCode) {
			http.Redirect(w, r, enter+"&error=invalid", http.StatusFound)
			return
		} else if errors.As(err, &rl) {
			s.limitedPage(w, r, rl)
			return
		} else if err != nil {
			s.errorPage(w, r, err)
			return
		}
	}
	if userCode != "" && len(userCode) == 8 {
		userCode = userCode[:4] + "-" + userCode[4:]
	}
	req := flow.Request{ResponseType: flow.ResponseTypeDevice, ResponseMode: "query", UserCode: userCode}
	started, err := s.Flows.Start(ctx, flow.Start{Env: &env.Environment, App: &app.Application, Request: req, Token: s.Cookies.Token(r)})
	var se *flow.StartError
	var rl *ratelimit.Error
	switch {
	case errors.As(err, &se):
		s.errorPage(w, r, wire.InvalidRequest(wire.Detail{Code: wire.DetailInvalidValue, Message: se.Description}))
		return
	case errors.As(err, &rl):
		s.limitedPage(w, r, rl)
		return
	case err != nil:
		s.errorPage(w, r, err)
		return
	}
	s.Cookies.Set(w, env.ID, started.Token)
	target := s.Flows.SignOnPageURL(env.ID, started.Flow.ID)
	if app.Settings.LoginPageURL != "" {
		target = appendParams(app.Settings.LoginPageURL, url.Values{"environmentId": {env.ID}, "flowId": {started.Flow.ID}}, false)
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusFound)
}

// deviceApp is the enabled application with the DEVICE_CODE grant that
// a verification URI's appIdentifier names: its id or its devicePathId.
func (s *Service) deviceApp(ctx context.Context, envID, ident string) (*config.Application, error) {
	bad := wire.NotFound("No application of this environment authorizes devices at this address.")
	id := ident
	if !validID(ident) {
		paths, err := s.Config.DevicePaths(ctx, envID)
		if err != nil {
			return nil, err
		}
		if id = paths[ident]; id == "" {
			return nil, bad
		}
	}
	app, err := s.Config.Application(ctx, envID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, bad
	}
	if err != nil {
		return nil, err
	}
	if !app.Enabled || app.Protocol != "OPENID_CONNECT" || !slices.Contains(app.Settings.GrantTypes, "DEVICE_CODE") {
		return nil, bad
	}
	return app, nil
}

var errUnknownUserCode = errors.New("authsvc: unknown user code")

// appOfUserCode is the application of the pending device authorization
// a user code names. Every miss counts against the address as a failed
// secret check does in a flow: user codes are short, so guessing them
// must stay slow.
func (s *Service) appOfUserCode(r *http.Request, envID, code string) (*config.Application, error) {
	ctx := r.Context()
	var guard *ratelimit.Limiter
	addr := httpx.SourceKey(httpx.SourceOf(r))
	if s.Flows != nil && s.Flows.Limits != nil {
		guard = s.Flows.Limits.CheckFailuresPerAddress
	}
	now := s.now()
	if ok, wait := guard.Check(addr, now); !ok {
		return nil, &ratelimit.Error{What: "Too many wrong codes from this address.", RetryAfter: wait}
	}
	d, err := s.Store.GetDeviceAuthorizationByUserCode(ctx, envID, device.HashUserCode(code))
	if errors.Is(err, store.ErrNotFound) || (err == nil && (d.Status != store.DevicePending || !now.Before(d.ExpiresAt))) {
		guard.Charge(addr, now)
		return nil, errUnknownUserCode
	}
	if err != nil {
		return nil, err
	}
	app, err := s.deviceApp(ctx, envID, d.ApplicationID)
	if err != nil {
		return nil, errUnknownUserCode
	}
	return app, nil
}

// answerDevice ends a device flow at resume: a COMPLETED one approves
// the device it confirmed with the sign-on's user, session, time and
// methods; a FAILED one denies it. The browser then sees the end screen;
// the device learns the answer when it polls. acr, authTime and amr are
// the sign-on's, as answer read them from the flow.
func (s *Service) answerDevice(w http.ResponseWriter, r *http.Request, env *store.Environment, f *store.Flow, acr string, authTime time.Time, amr []string) {
	ctx := r.Context()
	page := s.AuthPath + "/" + env.ID + "/signon/?device="
	v, err := s.Flows.View(f)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	hash, err := device.DeviceCodeHash(v)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	if f.Status == flow.StatusFailed {
		if err := s.Flows.Finish(ctx, f); err != nil {
			s.errorPage(w, r, err)
			return
		}
		if hash != "" {
			err := s.Store.DecideDeviceAuthorization(ctx, env.ID, hash, store.DeviceDenied, f.UserID, "", nil)
			if err != nil && !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
				s.errorPage(w, r, err)
				return
			}
		}
		http.Redirect(w, r, page+"denied", http.StatusFound)
		return
	}
	d, err := s.Store.GetDeviceAuthorization(ctx, env.ID, hash)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.errorPage(w, r, err)
		return
	}
	if err := s.Flows.Finish(ctx, f); err != nil {
		s.errorPage(w, r, err)
		return
	}
	if d == nil || !s.now().Before(d.ExpiresAt) {
		s.errorPage(w, r, wire.InvalidRequest(wire.InvalidValue("userCode", "The device's code expired before it was approved: start again on the device.")))
		return
	}
	var g GrantData
	if err := json.Unmarshal(d.Data, &g); err != nil {
		s.errorPage(w, r, err)
		return
	}
	g.AuthTime, g.ACR, g.AMR = authTime.Unix(), acr, amr
	err = s.Store.DecideDeviceAuthorization(ctx, env.ID, hash, store.DeviceApproved, f.UserID, f.SessionID, g.marshal())
	if errors.Is(err, store.ErrConflict) {
		s.errorPage(w, r, wire.InvalidRequest(wire.InvalidValue("userCode", "The device was already approved or denied.")))
		return
	}
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	http.Redirect(w, r, page+"done", http.StatusFound)
}
