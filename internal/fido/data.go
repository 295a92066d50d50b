package fido

import (
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// DeviceType is PingOne's device type of passkeys and security keys.
const DeviceType = "FIDO2"

// dataKey is the member of a device's Data this package owns; the
// device's other members (MFA's) are left as they are.
const dataKey = "fido2"

// deviceData is what a FIDO2 device keeps: the credential once
// registered, or the registration in progress.
type deviceData struct {
	// PublicKey is the credential's COSE public key.
	PublicKey []byte `json:"publicKey,omitempty"`
	SignCount uint32 `json:"signCount"`
	AAGUID    string `json:"aaguid,omitempty"`
	// UV: the registration verified the user; BE, BS: the credential may
	// be and is backed up (synced).
	UV         bool     `json:"uv,omitempty"`
	BE         bool     `json:"be,omitempty"`
	BS         bool     `json:"bs,omitempty"`
	Transports []string `json:"transports,omitempty"`
	// AttestationFormat is the statement's format (none, packed, …);
	// AttestationType what it proved (none, self, basic, …).
	AttestationFormat string `json:"attestationFormat,omitempty"`
	AttestationType   string `json:"attestationType,omitempty"`
	Attachment        string `json:"attachment,omitempty"`
	RPID              string `json:"rpId,omitempty"`
	RPName            string `json:"rpName,omitempty"`
	// LastChallenge is the challenge of the last accepted assertion: an
	// assertion answering it again is a replay, even from an
	// authenticator whose counter stays 0.
	LastChallenge string `json:"lastChallenge,omitempty"`
	// Registration is the ceremony a device awaiting activation answers.
	Registration *Session `json:"registration,omitempty"`
}

func members(d *store.MFADevice) map[string]json.RawMessage {
	m := map[string]json.RawMessage{}
	if len(d.Data) > 0 {
		_ = json.Unmarshal(d.Data, &m) // unreadable data holds nothing of ours
	}
	return m
}

func readData(d *store.MFADevice) deviceData {
	var dd deviceData
	if raw, ok := members(d)[dataKey]; ok {
		_ = json.Unmarshal(raw, &dd)
	}
	return dd
}

func writeData(d *store.MFADevice, dd deviceData) error {
	m := members(d)
	b, err := json.Marshal(dd)
	if err != nil {
		return err
	}
	m[dataKey] = b
	out, err := json.Marshal(m)
	if err != nil {
		return err
	}
	d.Data = out
	return nil
}

// SetPending keeps sess, a registration begun, in device d awaiting
// activation (the management API's two-step creation).
func SetPending(d *store.MFADevice, sess *Session) error {
	dd := readData(d)
	dd.Registration = sess
	return writeData(d, dd)
}

// Pending is the registration device d awaits; nil when none.
func Pending(d *store.MFADevice) *Session {
	return readData(d).Registration
}

// Credential is what a FIDO2 device shows of its credential.
type Credential struct {
	// ID is the credential id, base64url without padding.
	ID                string
	RPID, RPName      string
	AAGUID            string
	Attachment        string
	AttestationFormat string
	Transports        []string
	UserVerified      bool
	BackupEligible    bool
	BackedUp          bool
	SignCount         uint32
}

// CredentialOf is device d's credential; nil when d has none yet.
func CredentialOf(d *store.MFADevice) *Credential {
	dd := readData(d)
	if len(dd.PublicKey) == 0 || d.CredentialID == "" {
		return nil
	}
	return &Credential{ID: d.CredentialID, RPID: dd.RPID, RPName: dd.RPName, AAGUID: dd.AAGUID, Attachment: dd.Attachment,
		AttestationFormat: dd.AttestationFormat, Transports: dd.Transports, UserVerified: dd.UV,
		BackupEligible: dd.BE, BackedUp: dd.BS, SignCount: dd.SignCount}
}

// credentialID is the stored form of a raw credential id.
func credentialID(raw []byte) string { return base64.RawURLEncoding.EncodeToString(raw) }

// Ceremonies a Session is of.
const (
	CeremonyRegistration = "registration"
	CeremonyAssertion    = "assertion"
)

// Session is a ceremony in progress, kept by the caller (a flow's state,
// or the device's Data): JSON-serialisable, single use (the caller drops
// it once answered), and it expires.
type Session struct {
	Ceremony string `json:"ceremony"`
	// Challenge is the challenge, base64url without padding.
	Challenge     string `json:"challenge"`
	RPID          string `json:"rpId"`
	RPName        string `json:"rpName,omitempty"`
	EnvironmentID string `json:"environmentId"`
	// UserID is the user the ceremony is for; "" for a discoverable
	// assertion (the user is whoever the credential names).
	UserID string `json:"userId,omitempty"`
	// AllowCredentials are the credential ids an assertion may use
	// (base64url); none: any of the user's (or, discoverable, anyone's).
	AllowCredentials []string `json:"allowCredentials,omitempty"`
	// UserVerification is WebAuthn's: required, preferred or discouraged.
	UserVerification string `json:"userVerification,omitempty"`
	PolicyID         string `json:"policyId,omitempty"`
	// Expires is when the challenge runs out (unix seconds).
	Expires int64 `json:"expires"`
	// Replaced is the challenge of the ceremony this one replaced in the
	// same sign-on (after a refusal): an answer to it that the device
	// answered already lost a race with its twin, and is refused as a
	// replay, not as a stranger's challenge.
	Replaced string `json:"replaced,omitempty"`
}

// Expired says whether the session ran out by now.
func (s *Session) Expired(now time.Time) bool { return now.Unix() >= s.Expires }
