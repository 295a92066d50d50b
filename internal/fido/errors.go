package fido

import (
	"errors"

	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Error is a refused ceremony: Reason is the PingOne detail code to
// answer with, Target the request member at fault, Message says why.
// Kind names the check that refused, for callers that tell refusals apart
// (and tests).
type Error struct {
	Reason, Target, Message string
	Kind                    string
}

func (e *Error) Error() string { return "fido: " + e.Kind + ": " + e.Message }

// Kinds of refusal.
const (
	KindMalformed         = "malformed"           // the credential JSON is no WebAuthn answer
	KindSession           = "session"             // no ceremony in progress, or one of another kind
	KindExpired           = "expired"             // the challenge ran out
	KindOrigin            = "origin"              // the origin is not the relying party's, or not the client's
	KindChallenge         = "challenge"           // the answer signs another ceremony's challenge
	KindRelyingParty      = "relyingParty"        // another relying party ID, or none to be had
	KindUserVerification  = "userVerification"    // the policy requires user verification
	KindUnknownCredential = "unknownCredential"   // no device of this environment (and user) has the credential
	KindClone             = "clonedAuthenticator" // the sign counter did not advance
	KindReplay            = "replay"              // the challenge was already answered
	KindPolicy            = "policy"              // the authenticator is not one the FIDO2 policy accepts
	KindDuplicate         = "duplicate"           // the credential is already registered
	KindNoDevice          = "noDevice"            // the user has no FIDO2 device to assert
	KindVerification      = "verification"        // the library refused the answer (signature, attestation, flags)
)

func refuse(kind, target, msg string) *Error {
	return &Error{Reason: wire.DetailInvalidValue, Target: target, Message: msg, Kind: kind}
}

// WireError turns a refused ceremony into PingOne's error (400
// INVALID_DATA with one detail), so the management API and the flows
// answer alike; other errors pass unchanged.
func WireError(err error) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	return wire.InvalidData(wire.Detail{Code: e.Reason, Target: e.Target, Message: e.Message})
}
