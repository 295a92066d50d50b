// Package fido is the WebAuthn domain of PingOne's FIDO2 devices: the
// registration of a passkey or security key (PingOne's two-step device
// creation, or an enrolment during sign-on) and the assertions that prove
// one (a second factor, or passwordless sign-on). The ceremonies are
// verified by go-webauthn; this package decides what a FIDO2 policy asks
// of them, keeps the credential in the device's Data, and refuses a
// cloned authenticator or a replayed assertion without writing anything.
package fido

import (
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Values of a FIDO2 policy's members, in PingOne's words.
const (
	AttestationNone   = "NONE"
	AttestationDirect = "DIRECT"

	AttachmentPlatform      = "PLATFORM"
	AttachmentCrossPlatform = "CROSS_PLATFORM"
	AttachmentBoth          = "BOTH"

	Required    = "REQUIRED"
	Preferred   = "PREFERRED"
	Discouraged = "DISCOURAGED"

	// MDSSpecific restricts authenticators to AllowedAAGUIDs.
	MDSSpecific = "SPECIFIC"
)

// DefaultTimeout is how long a ceremony's challenge stays valid when the
// policy names no user presence timeout.
const DefaultTimeout = 5 * time.Minute

// Policy is a FIDO2 policy as the ceremonies run it.
type Policy struct {
	ID, Name string
	// RPID is the policy's relyingPartyId; "" leaves the relying party
	// to Gatehouse (the host of the environment's base URL).
	RPID              string
	DeviceDisplayName string
	Attestation       string // NONE | DIRECT
	Attachment        string // PLATFORM | CROSS_PLATFORM | BOTH
	ResidentKey       string // DISCOURAGED | PREFERRED | REQUIRED
	UserVerification  string // REQUIRED | PREFERRED | DISCOURAGED
	// EnforceUV checks user verification again at each assertion.
	EnforceUV bool
	// BackupAllowed lets backed-up (synced) credentials register;
	// EnforceBackup refuses them at assertion too when they may not.
	BackupAllowed, EnforceBackup bool
	MDSOption                    string
	// AllowedAAGUIDs are the authenticators a SPECIFIC policy accepts,
	// as lower-case UUIDs.
	AllowedAAGUIDs []string
	EnforceMDS     bool
	// Timeout is the user presence timeout; 0 is DefaultTimeout.
	Timeout time.Duration
	// Hints are PingOne's publicKeyCredentialHints (SECURITY_KEY,
	// CLIENT_DEVICE, HYBRID).
	Hints []string
}

// PolicyOf is a FIDO2 policy as the ceremonies run it.
func PolicyOf(p *wire.FIDO2Policy) *Policy {
	out := &Policy{
		ID:                p.ID,
		Name:              p.Name,
		RPID:              p.RelyingPartyID,
		DeviceDisplayName: p.DeviceDisplayName,
		Attestation:       p.AttestationRequirements,
		Attachment:        p.AuthenticatorAttachment,
		ResidentKey:       p.DiscoverableCredentials,
		UserVerification:  p.UserVerification.Option,
		EnforceUV:         p.UserVerification.EnforceDuringAuthentication,
		BackupAllowed:     p.BackupEligibility.Allow,
		EnforceBackup:     p.BackupEligibility.EnforceDuringAuthentication,
		MDSOption:         p.MDSAuthenticatorsRequirements.Option,
		EnforceMDS:        p.MDSAuthenticatorsRequirements.EnforceDuringAuthentication,
		Hints:             p.PublicKeyCredentialHints,
	}
	for _, a := range p.MDSAuthenticatorsRequirements.AllowedAuthenticators {
		out.AllowedAAGUIDs = append(out.AllowedAAGUIDs, strings.ToLower(a.ID))
	}
	if t := p.UserPresenceTimeout; t.Duration > 0 {
		unit := time.Minute
		if t.TimeUnit == "SECONDS" {
			unit = time.Second
		}
		out.Timeout = time.Duration(t.Duration) * unit
	}
	return out
}

// timeout is how long a ceremony of p stays valid.
func (p *Policy) timeout() time.Duration {
	if p != nil && p.Timeout > 0 {
		return p.Timeout
	}
	return DefaultTimeout
}

// allowsAAGUID says whether a SPECIFIC policy lists aaguid. An
// authenticator that names no model (the zero AAGUID) is none of those
// listed.
func (p *Policy) allowsAAGUID(aaguid string) bool {
	if p.MDSOption != MDSSpecific {
		return true
	}
	for _, a := range p.AllowedAAGUIDs {
		if a == strings.ToLower(aaguid) {
			return true
		}
	}
	return false
}

// RP is the relying party of an environment: ID (the policy's
// relyingPartyId, or the host of the environment's base URL when the
// policy leaves it to Gatehouse), Name (display), Origins (the origins
// allowed besides the https origins whose host is ID or a subdomain of
// it: the base URL's origin).
type RP struct {
	ID, Name string
	Origins  []string
}

// NewRP is the relying party of an environment whose base URL is
// baseURL, under policy p (nil: Gatehouse's). name is shown by the
// authenticator. A base URL whose host is an IP address has no relying
// party of its own: WebAuthn binds credentials to domain names.
func NewRP(baseURL string, p *Policy, name string) (RP, error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" {
		return RP{}, &Error{Reason: wire.DetailInvalidValue, Kind: KindRelyingParty,
			Message: "The environment's base URL names no host a relying party can be."}
	}
	id := strings.ToLower(u.Hostname())
	if p != nil && p.RPID != "" {
		id = strings.ToLower(p.RPID)
	}
	if net.ParseIP(id) != nil {
		return RP{}, &Error{Reason: wire.DetailInvalidValue, Kind: KindRelyingParty, Target: "relyingPartyId",
			Message: "The environment's base URL is an IP address; FIDO2 needs a domain name as its relying party ID (set the FIDO2 policy's relyingPartyId, or serve Gatehouse on a domain name)."}
	}
	if name == "" {
		name = id
	}
	return RP{ID: id, Name: name, Origins: []string{u.Scheme + "://" + u.Host}}, nil
}

// Allows says whether a ceremony may come from origin: one of Origins,
// or an https origin on the relying party's domain or a subdomain of it
// (where the browser lets a page use the relying party ID).
func (rp RP) Allows(origin string) bool {
	for _, o := range rp.Origins {
		if strings.EqualFold(o, origin) {
			return true
		}
	}
	u, err := url.Parse(origin)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.Path != "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return false
	}
	h := strings.ToLower(u.Hostname())
	return rp.ID != "" && (h == rp.ID || strings.HasSuffix(h, "."+rp.ID))
}
