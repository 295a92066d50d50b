package mgmt

import (
	"bytes"
	"context"
	"errors"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/fido"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// FIDO2Policies gives an environment's FIDO2 policy id ("" = the
// environment's default); store.ErrNotFound when there is none.
type FIDO2Policies interface {
	FIDO2Policy(ctx context.Context, envID, id string) (*wire.FIDO2Policy, error)
}

// fido2Policies are the FIDO2 policies of the configuration, unless a
// test gives others.
func (a *API) fido2Policies() FIDO2Policies {
	if a.FIDO2Policies != nil {
		return a.FIDO2Policies
	}
	return a.config()
}

// fido is the WebAuthn domain over the API's store.
func (a *API) fido(st store.Store) *fido.Service {
	return &fido.Service{Store: st}
}

// fido2Pairing pairs FIDO2 devices (passkeys, security keys) as PingOne
// does: the creation returns the publicKeyCredentialCreationOptions for
// navigator.credentials.create and keeps the ceremony in the device;
// activation takes the browser's attestation and origin.
type fido2Pairing struct{ a *API }

// policy is the FIDO2 policy id ("" = the environment's default) as the
// ceremonies run it, with the environment's relying party under it.
func (p fido2Pairing) policy(ctx context.Context, envID, id string) (*fido.Policy, fido.RP, error) {
	w, err := p.a.fido2Policies().FIDO2Policy(ctx, envID, id)
	if errors.Is(err, store.ErrNotFound) && id != "" {
		// A ceremony outlives a policy deleted since: the default runs it.
		w, err = p.a.fido2Policies().FIDO2Policy(ctx, envID, "")
	}
	if err != nil {
		return nil, fido.RP{}, err
	}
	pol := fido.PolicyOf(w)
	name := ""
	if env, err := p.a.config().Environment(ctx, envID); err == nil {
		name = env.Name
	}
	rp, err := fido.NewRP(strings.TrimSuffix(p.a.APIPath, "/v1"), pol, name)
	if err != nil {
		return nil, fido.RP{}, fido.WireError(err)
	}
	return pol, rp, nil
}

func (p fido2Pairing) create(ctx context.Context, u *store.User, req *wire.MFADeviceRequest, in mfa.DeviceInput, st *mfa.Settings, m mfa.MethodPolicy) (wire.MFADevice, error) {
	// The input is refused before the ceremony begins, so that a
	// disabled method is not answered with its relying party's troubles.
	if err := mfa.CheckDevice(in, m); err != nil {
		return wire.MFADevice{}, mfaError(err)
	}
	pol, rp, err := p.policy(ctx, u.EnvironmentID, m.FIDO2PolicyID)
	if err != nil {
		return wire.MFADevice{}, err
	}
	if req.RP != nil {
		// PingOne's clients name the relying party; Gatehouse's is the
		// FIDO2 policy's, and another could never verify.
		if id := str(req.RP.ID); id != "" && !strings.EqualFold(id, rp.ID) {
			return wire.MFADevice{}, wire.InvalidData(wire.InvalidValue("rp.id",
				"The relying party ID must be "+rp.ID+": the FIDO2 policy's relyingPartyId, or the host of the environment's base URL."))
		}
		if name := str(req.RP.Name); name != "" {
			rp.Name = name
		}
	}
	existing, err := p.a.Store.ListMFADevices(ctx, u.EnvironmentID, u.ID)
	if err != nil {
		return wire.MFADevice{}, err
	}
	opts, sess, err := p.a.fido(p.a.Store).BeginRegistration(ctx, u, existing, pol, rp)
	if err != nil {
		return wire.MFADevice{}, fido.WireError(err)
	}
	var pending store.MFADevice
	if err := fido.SetPending(&pending, sess); err != nil {
		return wire.MFADevice{}, err
	}
	in.Data = pending.Data
	d, _, err := p.a.MFA.CreateDevice(ctx, u, in, st, m)
	if err != nil {
		return wire.MFADevice{}, mfaError(err)
	}
	out := p.a.renderMFADevice(d)
	out.PublicKeyCredentialCreationOptions = string(opts)
	return out, nil
}

func (p fido2Pairing) activate(ctx context.Context, u *store.User, d *store.MFADevice, req *wire.MFADeviceActivateRequest) error {
	var ds []wire.Detail
	if req.Origin == nil || *req.Origin == "" {
		ds = append(ds, wire.Required("origin"))
	}
	att := bytes.TrimSpace(req.Attestation)
	if len(att) == 0 || string(att) == "null" || string(att) == `""` {
		ds = append(ds, wire.Required("attestation"))
	}
	if len(ds) > 0 {
		return wire.InvalidData(ds...)
	}
	if d.Status != mfa.StatusActivationRequired {
		return mfaError(mfa.ErrNotActivationRequired)
	}
	sess := fido.Pending(d)
	policyID := ""
	if sess != nil {
		policyID = sess.PolicyID
	}
	pol, rp, err := p.policy(ctx, u.EnvironmentID, policyID)
	if err != nil {
		return err
	}
	if sess != nil && sess.RPName != "" {
		rp.Name = sess.RPName // as the creation named it
	}
	// The device is read again with its row locked and written in the
	// same transaction: a registration is answered once, and a refused
	// answer writes nothing.
	var out store.MFADevice
	err = p.a.Store.Tx(ctx, func(tx store.Store) error {
		fresh, err := tx.GetMFADevice(ctx, d.EnvironmentID, d.UserID, d.ID)
		if err != nil {
			return err
		}
		if fresh.Status != mfa.StatusActivationRequired {
			return mfa.ErrNotActivationRequired
		}
		if err := p.a.fido(tx).FinishRegistration(ctx, u, fresh, fido.Pending(fresh), *req.Origin, att, pol, rp); err != nil {
			return err
		}
		if err := tx.UpdateMFADevice(ctx, fresh); err != nil {
			return err
		}
		out = *fresh
		return nil
	})
	switch {
	case errors.Is(err, store.ErrConflict):
		// Registered to another device since FinishRegistration looked.
		return wire.InvalidData(wire.InvalidValue("attestation", "The credential is already registered to a FIDO2 device."))
	case err != nil:
		return mfaError(fido.WireError(err))
	}
	*d = out
	return nil
}

func (p fido2Pairing) render(d *store.MFADevice, out *wire.MFADevice) {
	if c := fido.CredentialOf(d); c != nil {
		out.RP = &wire.MFADeviceRP{ID: c.RPID, Name: c.RPName}
		return
	}
	if s := fido.Pending(d); s != nil {
		out.RP = &wire.MFADeviceRP{ID: s.RPID, Name: s.RPName}
	}
	if d.Status == mfa.StatusActivationRequired {
		out.Links["device.activate"] = out.Links["self"]
	}
}
