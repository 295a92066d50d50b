package fido

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/metadata"
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// statusActive is the MFA device status of a registered credential.
const statusActive = "ACTIVE"

// Service runs WebAuthn ceremonies for an environment's users and keeps
// their credentials in their FIDO2 devices.
type Service struct {
	Store store.Store
	Now   func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// waUser is a user as go-webauthn takes one.
type waUser struct {
	id            []byte
	name, display string
	creds         []webauthn.Credential
}

func (u *waUser) WebAuthnID() []byte                         { return u.id }
func (u *waUser) WebAuthnName() string                       { return u.name }
func (u *waUser) WebAuthnDisplayName() string                { return u.display }
func (u *waUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// userOf is u as an authenticator shows it; the user handle is the
// user's id, so a discoverable credential names its user.
func userOf(u *store.User) *waUser {
	display := strings.TrimSpace(u.GivenName + " " + u.FamilyName)
	if display == "" {
		display = u.Username
	}
	return &waUser{id: []byte(u.ID), name: u.Username, display: display}
}

// relyingParty is go-webauthn configured for rp, accepting answers from
// origins.
func relyingParty(rp RP, origins []string) (*webauthn.WebAuthn, error) {
	if len(origins) == 0 {
		origins = []string{"https://" + rp.ID}
	}
	return webauthn.New(&webauthn.Config{
		RPID: rp.ID, RPDisplayName: rp.Name, RPOrigins: origins,
		// Browsers return some extension outputs unasked; none of them
		// decides anything here.
		ExtensionsUnsolicitedOutputPolicy: protocol.UnsolicitedOutputPolicyIgnore,
	})
}

func requirement(v string) protocol.UserVerificationRequirement {
	switch v {
	case Required:
		return protocol.VerificationRequired
	case Discouraged:
		return protocol.VerificationDiscouraged
	}
	return protocol.VerificationPreferred
}

func selection(p *Policy) protocol.AuthenticatorSelection {
	sel := protocol.AuthenticatorSelection{UserVerification: requirement(p.UserVerification)}
	switch p.Attachment {
	case AttachmentPlatform:
		sel.AuthenticatorAttachment = protocol.Platform
	case AttachmentCrossPlatform:
		sel.AuthenticatorAttachment = protocol.CrossPlatform
	}
	rk := p.ResidentKey == Required
	sel.RequireResidentKey = &rk
	switch p.ResidentKey {
	case Required:
		sel.ResidentKey = protocol.ResidentKeyRequirementRequired
	case Preferred:
		sel.ResidentKey = protocol.ResidentKeyRequirementPreferred
	default:
		sel.ResidentKey = protocol.ResidentKeyRequirementDiscouraged
	}
	return sel
}

func hints(p *Policy) []protocol.PublicKeyCredentialHints {
	var out []protocol.PublicKeyCredentialHints
	for _, h := range p.Hints {
		switch h {
		case "SECURITY_KEY":
			out = append(out, protocol.PublicKeyCredentialHintSecurityKey)
		case "CLIENT_DEVICE":
			out = append(out, protocol.PublicKeyCredentialHintClientDevice)
		case "HYBRID":
			out = append(out, protocol.PublicKeyCredentialHintHybrid)
		}
	}
	return out
}

func transports(ts []string) []protocol.AuthenticatorTransport {
	var out []protocol.AuthenticatorTransport
	for _, t := range ts {
		out = append(out, protocol.AuthenticatorTransport(t))
	}
	return out
}

// credentials are the registered credentials of devs as go-webauthn
// takes them.
func credentials(devs []store.MFADevice) ([]webauthn.Credential, []string) {
	var creds []webauthn.Credential
	var ids []string
	for i := range devs {
		d := &devs[i]
		if d.Type != DeviceType || d.Status != statusActive || d.CredentialID == "" {
			continue
		}
		raw, err := base64.RawURLEncoding.DecodeString(d.CredentialID)
		if err != nil {
			continue
		}
		creds = append(creds, credentialOf(raw, readData(d)))
		ids = append(ids, d.CredentialID)
	}
	return creds, ids
}

func credentialOf(raw []byte, dd deviceData) webauthn.Credential {
	aaguid, _ := uuid.Parse(dd.AAGUID)
	return webauthn.Credential{
		ID: raw, PublicKey: dd.PublicKey, AttestationType: dd.AttestationType, AttestationFormat: dd.AttestationFormat,
		Transport: transports(dd.Transports),
		Flags:     webauthn.CredentialFlags{UserPresent: true, UserVerified: dd.UV, BackupEligible: dd.BE, BackupState: dd.BS},
		Authenticator: webauthn.Authenticator{AAGUID: aaguid[:], SignCount: dd.SignCount,
			Attachment: protocol.AuthenticatorAttachment(dd.Attachment)},
	}
}

func withTimeout(d time.Duration) func(*int) {
	return func(t *int) { *t = int(d.Milliseconds()) }
}

// BeginRegistration starts the registration of a credential for u under
// policy pol: it returns the PublicKeyCredentialCreationOptions for
// navigator.credentials.create (PingOne's form: binary members as arrays
// of bytes) and the Session to keep until the answer. existing are u's
// devices: their credentials are excluded, so one authenticator is not
// registered twice.
func (s *Service) BeginRegistration(ctx context.Context, u *store.User, existing []store.MFADevice, pol *Policy, rp RP) (json.RawMessage, *Session, error) {
	if pol == nil {
		pol = &Policy{}
	}
	wa, err := relyingParty(rp, rp.Origins)
	if err != nil {
		return nil, nil, err
	}
	creds, _ := credentials(existing)
	excl := make([]protocol.CredentialDescriptor, 0, len(creds))
	for _, c := range creds {
		excl = append(excl, c.Descriptor())
	}
	setTimeout := withTimeout(pol.timeout())
	opts := []webauthn.RegistrationOption{
		webauthn.WithAuthenticatorSelection(selection(pol)),
		webauthn.WithExclusions(excl),
		func(o *protocol.PublicKeyCredentialCreationOptions) error {
			o.Attestation = protocol.PreferNoAttestation
			if pol.Attestation == AttestationDirect {
				o.Attestation = protocol.PreferDirectAttestation
			}
			// credProps tells whether the credential is discoverable.
			o.Extensions.CredProps = true
			setTimeout(&o.Timeout)
			return nil
		},
	}
	if h := hints(pol); len(h) > 0 {
		opts = append(opts, webauthn.WithPublicKeyCredentialHints(h))
	}
	creation, sd, err := wa.BeginRegistration(userOf(u), opts...)
	if err != nil {
		return nil, nil, err
	}
	out, err := pingOptions(creation.Response)
	if err != nil {
		return nil, nil, err
	}
	return out, &Session{Ceremony: CeremonyRegistration, Challenge: sd.Challenge, RPID: rp.ID, RPName: rp.Name, EnvironmentID: u.EnvironmentID,
		UserID: u.ID, UserVerification: string(sd.UserVerification), PolicyID: pol.ID,
		Expires: s.now().Add(pol.timeout()).Unix()}, nil
}

// FinishRegistration verifies the answer to registration sess for device
// d of u: attestation is the PublicKeyCredential JSON that
// navigator.credentials.create returned (or that JSON as a JSON string,
// as PingOne takes it), origin the page's origin as the client reports
// it. d must await activation: a registered device is refused. Accepted,
// it sets d's credential (d.CredentialID, its Data's fido2 part) and
// d.Status ACTIVE; the caller writes d. Refused, d is as it
// was and the error is an *Error.
func (s *Service) FinishRegistration(ctx context.Context, u *store.User, d *store.MFADevice, sess *Session, origin string, attestation []byte, pol *Policy, rp RP) error {
	if pol == nil {
		pol = &Policy{}
	}
	if d.UserID != u.ID || d.EnvironmentID != u.EnvironmentID {
		return store.ErrNotFound
	}
	const target = "attestation"
	if err := s.checkSession(sess, CeremonyRegistration, u.EnvironmentID, rp, target); err != nil {
		return err
	}
	// A device proven already keeps its key: registering again would
	// swap in whatever key answered this ceremony.
	if d.Status == statusActive || d.CredentialID != "" {
		return refuse(KindSession, target, "The FIDO2 device is registered already; no registration of it is in progress.")
	}
	if sess.UserID != u.ID {
		return refuse(KindSession, target, "The registration was begun for another user.")
	}
	p, err := protocol.ParseCredentialCreationResponseBytes(unwrap(attestation))
	if err != nil {
		return refuse(KindMalformed, target, "The attestation is not a WebAuthn credential creation response: "+libraryDetail(err))
	}
	cd := p.Response.CollectedClientData
	if err := checkClient(cd.Origin, cd.Challenge, origin, sess, rp, target); err != nil {
		return err
	}
	ad := p.Response.AttestationObject.AuthData
	if err := checkAuthData(ad.RPIDHash, ad.Flags, rp, sess.UserVerification == string(protocol.VerificationRequired), target); err != nil {
		return err
	}
	wa, err := relyingParty(rp, []string{origin})
	if err != nil {
		return err
	}
	sd := webauthn.SessionData{Challenge: sess.Challenge, RelyingPartyID: sess.RPID, UserID: []byte(sess.UserID),
		UserVerification: protocol.UserVerificationRequirement(sess.UserVerification),
		Extensions:       protocol.AuthenticationExtensions{CredProps: true}.Session(),
		CredParams:       webauthn.CredentialParametersDefault()}
	cred, err := wa.CreateCredential(userOf(u), sd, p)
	if err != nil {
		return refuse(KindVerification, target, "The attestation could not be verified: "+libraryDetail(err))
	}
	if err := acceptable(pol, p, cred); err != nil {
		return err
	}
	id := credentialID(cred.ID)
	switch other, err := s.Store.GetMFADeviceByCredential(ctx, u.EnvironmentID, id); {
	case err == nil && other.ID != d.ID:
		return refuse(KindDuplicate, target, "The credential is already registered to a FIDO2 device.")
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return err
	}
	aaguid, _ := uuid.FromBytes(cred.Authenticator.AAGUID)
	dd := deviceData{PublicKey: cred.PublicKey, SignCount: cred.Authenticator.SignCount, AAGUID: aaguid.String(),
		UV: cred.Flags.UserVerified, BE: cred.Flags.BackupEligible, BS: cred.Flags.BackupState,
		AttestationFormat: cred.AttestationFormat, AttestationType: cred.AttestationType,
		Attachment: string(p.AuthenticatorAttachment), RPID: rp.ID, RPName: rp.Name}
	for _, t := range cred.Transport {
		dd.Transports = append(dd.Transports, string(t))
	}
	out := *d
	out.CredentialID = id
	if err := writeData(&out, dd); err != nil {
		return err
	}
	out.Status, out.UpdatedAt = statusActive, s.now().Truncate(time.Millisecond)
	*d = out
	return nil
}

// acceptable applies the policy's choices to a verified registration.
func acceptable(pol *Policy, p *protocol.ParsedCredentialCreationData, cred *webauthn.Credential) error {
	const target = "attestation"
	if !pol.BackupAllowed && cred.Flags.BackupEligible {
		return refuse(KindPolicy, target, "The FIDO2 policy does not allow backed-up (synced) passkeys; use a device-bound credential.")
	}
	switch a := p.AuthenticatorAttachment; {
	case pol.Attachment == AttachmentPlatform && a == protocol.CrossPlatform:
		return refuse(KindPolicy, target, "The FIDO2 policy allows only platform authenticators (built into the device).")
	case pol.Attachment == AttachmentCrossPlatform && a == protocol.Platform:
		return refuse(KindPolicy, target, "The FIDO2 policy allows only roaming authenticators (security keys).")
	}
	if rk := p.ClientExtensionResults.CredProps; pol.ResidentKey == Required && rk != nil && rk.RK != nil && !*rk.RK {
		return refuse(KindPolicy, target, "The FIDO2 policy requires a discoverable credential (passkey) and the authenticator created another kind.")
	}
	aaguid, _ := uuid.FromBytes(cred.Authenticator.AAGUID)
	if pol.MDSOption == MDSSpecific && !certified(cred.AttestationType) {
		// Without a certificate the AAGUID is whatever the authenticator
		// (or software posing as one) chose to say.
		kind := "none"
		if cred.AttestationType == string(metadata.BasicSurrogate) {
			kind = "self"
		}
		return refuse(KindPolicy, target, "The FIDO2 policy allows only listed authenticator models, and this authenticator's attestation ("+kind+
			") does not prove its model (AAGUID "+aaguid.String()+"); use an authenticator that attests with a certificate.")
	}
	if !pol.allowsAAGUID(aaguid.String()) {
		return refuse(KindPolicy, target, "The FIDO2 policy does not allow this authenticator model (AAGUID "+aaguid.String()+").")
	}
	return nil
}

// certified says whether a verified attestation of type t came with a
// certificate (x5c) that signed it and names the model. Gatehouse holds no
// FIDO metadata, so the chain is not anchored to the vendor's root: this
// keeps honest authenticators to a list, it does not stop a forger.
func certified(t string) bool {
	switch metadata.AuthenticatorAttestationType(t) {
	case metadata.BasicFull, metadata.AttCA, metadata.AnonCA:
		return true
	}
	return false
}

// BeginAssertion starts an assertion under policy pol: of one of u's
// FIDO2 devices devs, or, u nil, of any discoverable credential (a
// passkey sign-on without a username; user verification is then always
// required, the credential standing for the user alone). It returns the
// PublicKeyCredentialRequestOptions for navigator.credentials.get
// (PingOne's form) and the Session to keep until the answer.
func (s *Service) BeginAssertion(ctx context.Context, u *store.User, devs []store.MFADevice, pol *Policy, rp RP) (json.RawMessage, *Session, error) {
	if pol == nil {
		pol = &Policy{}
	}
	wa, err := relyingParty(rp, rp.Origins)
	if err != nil {
		return nil, nil, err
	}
	requested, enforced := requirement(pol.UserVerification), protocol.VerificationPreferred
	if pol.UserVerification == Required && pol.EnforceUV {
		enforced = protocol.VerificationRequired
	}
	if u == nil {
		requested, enforced = protocol.VerificationRequired, protocol.VerificationRequired
	}
	setTimeout := withTimeout(pol.timeout())
	opts := []webauthn.LoginOption{
		webauthn.WithUserVerification(requested),
		func(o *protocol.PublicKeyCredentialRequestOptions) error { setTimeout(&o.Timeout); return nil },
	}
	if h := hints(pol); len(h) > 0 {
		opts = append(opts, webauthn.WithAssertionPublicKeyCredentialHints(h))
	}
	sess := &Session{Ceremony: CeremonyAssertion, RPID: rp.ID, RPName: rp.Name, UserVerification: string(enforced), PolicyID: pol.ID,
		Expires: s.now().Add(pol.timeout()).Unix()}
	var assertion *protocol.CredentialAssertion
	var sd *webauthn.SessionData
	if u == nil {
		assertion, sd, err = wa.BeginDiscoverableLogin(opts...)
	} else {
		creds, ids := credentials(devs)
		if len(creds) == 0 {
			return nil, nil, refuse(KindNoDevice, "device", "The user has no active FIDO2 device.")
		}
		wu := userOf(u)
		wu.creds = creds
		sess.EnvironmentID, sess.UserID, sess.AllowCredentials = u.EnvironmentID, u.ID, ids
		assertion, sd, err = wa.BeginLogin(wu, opts...)
	}
	if err != nil {
		return nil, nil, err
	}
	sess.Challenge = sd.Challenge
	out, err := pingOptions(assertion.Response)
	if err != nil {
		return nil, nil, err
	}
	return out, sess, nil
}

// FinishAssertion verifies the answer to assertion sess (assertion is the
// PublicKeyCredential JSON navigator.credentials.get returned, or that
// JSON as a JSON string; origin the page's origin as the client reports
// it) in one transaction: it finds the device of envID holding the
// credential, checks it is sess's user's (or, discoverable, the user the
// credential's user handle names), locks it, has go-webauthn verify the
// answer, refuses a sign counter that does not advance (a cloned
// authenticator) and a challenge answered before, and records the new
// counter. Refused, nothing is written and the error is an *Error.
func (s *Service) FinishAssertion(ctx context.Context, envID string, sess *Session, origin string, assertion []byte, pol *Policy, rp RP) (*store.MFADevice, error) {
	if pol == nil {
		pol = &Policy{}
	}
	const target = "assertion"
	if err := s.checkSession(sess, CeremonyAssertion, envID, rp, target); err != nil {
		return nil, err
	}
	p, err := protocol.ParseCredentialRequestResponseBytes(unwrap(assertion))
	if err != nil {
		return nil, refuse(KindMalformed, target, "The assertion is not a WebAuthn assertion response: "+libraryDetail(err))
	}
	cd := p.Response.CollectedClientData
	if err := checkClient(cd.Origin, cd.Challenge, origin, sess, rp, target); err != nil {
		var fe *Error
		if errors.As(err, &fe) && fe.Kind == KindChallenge && sess.Replaced != "" && cd.Challenge == sess.Replaced &&
			s.answered(ctx, envID, credentialID(p.RawID), cd.Challenge) {
			// The ceremony's previous challenge, answered already: a post
			// that lost the race to its twin, which consumed the challenge
			// (and a refusal gave the ceremony a fresh one).
			return nil, refuse(KindReplay, target, "The challenge was already answered; start the sign-on again.")
		}
		return nil, err
	}
	flags := p.Response.AuthenticatorData.Flags
	if err := checkAuthData(p.Response.AuthenticatorData.RPIDHash, flags, rp, sess.UserVerification == string(protocol.VerificationRequired), target); err != nil {
		return nil, err
	}
	id := credentialID(p.RawID)
	notYours := refuse(KindUnknownCredential, target, "The credential is not one of the user's FIDO2 devices.")
	if len(sess.AllowCredentials) > 0 && !slices.Contains(sess.AllowCredentials, id) {
		return nil, notYours
	}
	var out *store.MFADevice
	err = s.Store.Tx(ctx, func(tx store.Store) error {
		d, err := tx.GetMFADeviceByCredential(ctx, envID, id)
		if errors.Is(err, store.ErrNotFound) {
			return notYours
		}
		if err != nil {
			return err
		}
		if d.Type != DeviceType || d.Status != statusActive || (sess.UserID != "" && d.UserID != sess.UserID) {
			return notYours
		}
		handle := p.Response.UserHandle
		if sess.UserID == "" && len(handle) == 0 {
			return refuse(KindUnknownCredential, target, "A sign-on without a username needs a discoverable credential (a passkey), which names its user.")
		}
		if len(handle) > 0 && !bytes.Equal(handle, []byte(d.UserID)) {
			return refuse(KindUnknownCredential, target, "The credential names another user than the FIDO2 device's.")
		}
		dd := readData(d)
		if dd.LastChallenge != "" && dd.LastChallenge == sess.Challenge {
			return refuse(KindReplay, target, "The challenge was already answered; start the sign-on again.")
		}
		if pol.EnforceMDS && (!pol.allowsAAGUID(dd.AAGUID) || (pol.MDSOption == MDSSpecific && !certified(dd.AttestationType))) {
			return refuse(KindPolicy, target, "The FIDO2 policy no longer allows this authenticator model (AAGUID "+dd.AAGUID+"), or its registration did not prove the model.")
		}
		if pol.EnforceBackup && !pol.BackupAllowed && flags.HasBackupEligible() {
			return refuse(KindPolicy, target, "The FIDO2 policy does not allow backed-up (synced) passkeys.")
		}
		user := &waUser{id: []byte(d.UserID), creds: []webauthn.Credential{credentialOf(p.RawID, dd)}}
		wa, err := relyingParty(rp, []string{origin})
		if err != nil {
			return err
		}
		// The allowed credentials were checked above; go-webauthn would
		// want all of them to be this one user's credential record.
		sd := webauthn.SessionData{Challenge: sess.Challenge, RelyingPartyID: sess.RPID,
			UserVerification: protocol.UserVerificationRequirement(sess.UserVerification)}
		var got *webauthn.Credential
		if sess.UserID != "" {
			sd.UserID = []byte(sess.UserID)
			got, err = wa.ValidateLogin(user, sd, p)
		} else {
			_, got, err = wa.ValidatePasskeyLogin(func(_, _ []byte) (webauthn.User, error) { return user, nil }, sd, p)
		}
		if err != nil {
			return refuse(KindVerification, target, "The assertion could not be verified: "+libraryDetail(err))
		}
		if got.Authenticator.CloneWarning {
			return refuse(KindClone, target, "The authenticator's signature counter did not advance ("+
				strconv.FormatUint(uint64(p.Response.AuthenticatorData.Counter), 10)+" after "+strconv.FormatUint(uint64(dd.SignCount), 10)+
				"): it may be a clone. Remove the FIDO2 device and register the authenticator again.")
		}
		dd.SignCount, dd.BS, dd.LastChallenge = got.Authenticator.SignCount, flags.HasBackupState(), sess.Challenge
		if err := writeData(d, dd); err != nil {
			return err
		}
		if err := tx.UpdateMFADevice(ctx, d); err != nil {
			return err
		}
		out = d
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// answered reports whether challenge is the last one the device holding
// credential id answered.
func (s *Service) answered(ctx context.Context, envID, id, challenge string) bool {
	d, err := s.Store.GetMFADeviceByCredential(ctx, envID, id)
	if err != nil || d.Type != DeviceType {
		return false
	}
	last := readData(d).LastChallenge
	return last != "" && subtle.ConstantTimeCompare([]byte(last), []byte(challenge)) == 1
}

// checkSession refuses an answer to no ceremony of this kind, to one of
// another environment or relying party, or to one that ran out.
func (s *Service) checkSession(sess *Session, ceremony, envID string, rp RP, target string) error {
	if sess == nil || sess.Ceremony != ceremony || sess.Challenge == "" {
		return refuse(KindSession, target, "No FIDO2 "+ceremony+" is in progress; start a new one.")
	}
	// A discoverable assertion is of no user, and so of no environment
	// until its credential is found there.
	if sess.EnvironmentID != "" && sess.EnvironmentID != envID {
		return refuse(KindSession, target, "No FIDO2 "+ceremony+" is in progress; start a new one.")
	}
	if sess.Expired(s.now()) {
		return refuse(KindExpired, target, "The FIDO2 challenge has expired; start a new "+ceremony+".")
	}
	if sess.RPID != rp.ID {
		return refuse(KindRelyingParty, target, "The "+ceremony+" was begun for another relying party.")
	}
	return nil
}

// checkClient refuses an origin that is not the relying party's, a
// client that reports another origin than the caller says, and an answer
// to another challenge: go-webauthn checks them too, but these say which.
func checkClient(clientOrigin, clientChallenge, origin string, sess *Session, rp RP, target string) error {
	if origin == "" {
		d := wire.Required("origin")
		return &Error{Reason: d.Code, Target: d.Target, Kind: KindOrigin, Message: d.Message}
	}
	if !rp.Allows(origin) {
		return refuse(KindOrigin, "origin", "The origin "+strconv.Quote(origin)+" is not one of the relying party's ("+rp.ID+").")
	}
	if clientOrigin != origin {
		return refuse(KindOrigin, "origin", "The origin "+strconv.Quote(origin)+" is not the origin the browser reported.")
	}
	if subtle.ConstantTimeCompare([]byte(clientChallenge), []byte(sess.Challenge)) != 1 {
		return refuse(KindChallenge, target, "The answer is to another challenge than this "+sess.Ceremony+"'s.")
	}
	return nil
}

// checkAuthData refuses authenticator data signed for another relying
// party, or without user verification the ceremony requires.
func checkAuthData(rpIDHash []byte, flags protocol.AuthenticatorFlags, rp RP, uvRequired bool, target string) error {
	want := sha256.Sum256([]byte(rp.ID))
	if subtle.ConstantTimeCompare(rpIDHash, want[:]) != 1 {
		return refuse(KindRelyingParty, target, "The authenticator answered for another relying party ID than "+strconv.Quote(rp.ID)+".")
	}
	if uvRequired && !flags.HasUserVerified() {
		return refuse(KindUserVerification, target, "The FIDO2 policy requires user verification (a PIN or biometric) and the authenticator did not verify the user.")
	}
	return nil
}

// unwrap reads a credential as clients send it: the PublicKeyCredential
// JSON, or that JSON as a JSON string (PingOne's attestation and
// assertion members). Ping's sample page encodes the binary members with
// btoa (standard base64, padded) and sends a missing user handle as "";
// they are turned into the base64url go-webauthn reads.
func unwrap(b []byte) []byte {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if json.Unmarshal(b, &s) == nil {
			b = []byte(s)
		}
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return b
	}
	var resp map[string]json.RawMessage
	if json.Unmarshal(m["response"], &resp) != nil {
		return b
	}
	if string(resp["userHandle"]) == `""` {
		delete(resp, "userHandle")
	}
	for _, k := range []string{"clientDataJSON", "attestationObject", "authenticatorData", "signature", "userHandle"} {
		if v, ok := resp[k]; ok {
			resp[k] = urlBase64(v)
		}
	}
	for _, k := range []string{"id", "rawId"} {
		if v, ok := m[k]; ok {
			m[k] = urlBase64(v)
		}
	}
	r, err := json.Marshal(resp)
	if err != nil {
		return b
	}
	m["response"] = r
	out, err := json.Marshal(m)
	if err != nil {
		return b
	}
	return out
}

// urlBase64 is a base64 JSON string in the URL alphabet without padding;
// anything else is left as it is.
func urlBase64(raw json.RawMessage) json.RawMessage {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return raw
	}
	s = strings.TrimRight(strings.NewReplacer("+", "-", "/", "_").Replace(s), "=")
	out, _ := json.Marshal(s)
	return out
}

// libraryDetail is go-webauthn's reason for a refusal, without the
// values it compared.
func libraryDetail(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		msg := pe.Details
		if pe.DevInfo != "" && len(pe.DevInfo) < 120 && !strings.ContainsAny(pe.DevInfo, "\n") {
			msg += " (" + pe.DevInfo + ")"
		}
		return strings.TrimSuffix(msg, ".") + "."
	}
	return "the data could not be read."
}
