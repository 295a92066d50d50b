// Package fidotest is a software WebAuthn authenticator and client for
// tests: it answers navigator.credentials.create and .get options with
// the PublicKeyCredential JSON a browser sends, signing with ECDSA P-256
// (ES256). Everything a browser or an authenticator decides can be set,
// so a test can forge what a real one never would: another origin or
// relying party ID, another challenge, missing user verification, a sign
// counter going back.
package fidotest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
)

// Authenticator holds credentials, as a security key or a platform
// authenticator does. The zero value is ready; AAGUID names its model.
type Authenticator struct {
	AAGUID [16]byte

	mu    sync.Mutex
	creds []*Credential
}

// Credential is a key pair the authenticator made for a relying party.
type Credential struct {
	ID         []byte
	Key        *ecdsa.PrivateKey
	RPID       string
	UserHandle []byte
	// Resident: a discoverable credential (a passkey), found without the
	// relying party naming it.
	Resident bool
	// Counter is the signature counter last signed; Get advances it.
	Counter uint32
}

// IDString is the credential id as the WebAuthn JSON carries it.
func (c *Credential) IDString() string { return base64.RawURLEncoding.EncodeToString(c.ID) }

// Flags are what an answer's authenticator data says of the ceremony.
type Flags struct {
	// NoUP leaves out user presence (a real authenticator never does).
	NoUP bool
	// UV: the user was verified (PIN, biometric).
	UV bool
	// BE, BS: the credential may be and is backed up (a synced passkey).
	BE, BS bool
}

func (f Flags) byte() byte {
	var b byte
	if !f.NoUP {
		b |= 0x01
	}
	if f.UV {
		b |= 0x04
	}
	if f.BE {
		b |= 0x08
	}
	if f.BS {
		b |= 0x10
	}
	return b
}

// CreateOptions tune Create. Origin is the page's origin the client
// reports; the others forge or choose what a real client and
// authenticator would.
type CreateOptions struct {
	Origin string
	// RPID replaces the options' rp.id in the signed data ("" = theirs).
	RPID string
	// Challenge replaces the options' challenge in the client data.
	Challenge []byte
	// Attestation is "none" (default), "packed" (self-attestation) or
	// "packed-x5c" (basic attestation: an attestation key of its own and
	// a certificate for it, made here, naming the authenticator's AAGUID;
	// it chains to no vendor's root).
	Attestation string
	Flags
	// Resident makes the credential discoverable (a passkey); the answer
	// then reports credProps.rk true.
	Resident bool
	// Attachment is the authenticatorAttachment the client reports
	// ("platform", "cross-platform"; "" = none).
	Attachment string
	Transports []string
	// Counter is the credential's first signature counter.
	Counter uint32
	// CeremonyType replaces "webauthn.create" in the client data.
	CeremonyType string
	// PingEncoding answers as PingOne's sample page does: the JSON as a
	// JSON string, binary members in standard base64 with padding.
	PingEncoding bool
}

// GetOptions tune Get.
type GetOptions struct {
	Origin    string
	RPID      string
	Challenge []byte
	Flags
	// Credential chooses the credential to sign with (its id); nil: the
	// first the options allow, or, with none allowed, the first
	// discoverable one for the relying party.
	Credential []byte
	// Counter, when set, is the counter signed (and kept) instead of the
	// next one: a value not above the last simulates a clone.
	Counter *uint32
	// NoUserHandle leaves the user handle out of a discoverable
	// credential's answer.
	NoUserHandle bool
	CeremonyType string
	// PingEncoding: see CreateOptions; a missing user handle is "".
	PingEncoding bool
}

// options are the members of WebAuthn options this authenticator reads.
type options struct {
	RP struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"rp"`
	RPID      string  `json:"rpId"`
	Challenge binJSON `json:"challenge"`
	User      struct {
		ID   binJSON `json:"id"`
		Name string  `json:"name"`
	} `json:"user"`
	Allow []struct {
		ID binJSON `json:"id"`
	} `json:"allowCredentials"`
	Exclude []struct {
		ID binJSON `json:"id"`
	} `json:"excludeCredentials"`
}

// binJSON is a binary member of options: base64url (go-webauthn's,
// WebAuthn's JSON form) or an array of bytes, signed or not (PingOne's).
type binJSON []byte

func (b *binJSON) UnmarshalJSON(data []byte) error {
	var s string
	if json.Unmarshal(data, &s) == nil {
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
		if err != nil {
			return err
		}
		*b = raw
		return nil
	}
	var arr []int
	if err := json.Unmarshal(data, &arr); err != nil {
		return err
	}
	out := make([]byte, len(arr))
	for i, v := range arr {
		if v < -128 || v > 255 {
			return fmt.Errorf("fidotest: byte %d out of range", v)
		}
		out[i] = byte(v)
	}
	*b = out
	return nil
}

// parseOptions reads options as a JSON object, that object as a JSON
// string (PingOne's members), or either wrapped in {"publicKey": …}.
func parseOptions(raw []byte) (*options, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		raw = []byte(s)
	}
	var wrapped struct {
		PublicKey json.RawMessage `json:"publicKey"`
	}
	if json.Unmarshal(raw, &wrapped) == nil && len(wrapped.PublicKey) > 0 {
		raw = wrapped.PublicKey
	}
	var o options
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, fmt.Errorf("fidotest: options: %w", err)
	}
	return &o, nil
}

func clientData(typ, def string, challenge []byte, origin string) []byte {
	if typ == "" {
		typ = def
	}
	b, _ := json.Marshal(map[string]any{
		"type": typ, "challenge": base64.RawURLEncoding.EncodeToString(challenge), "origin": origin, "crossOrigin": false,
	})
	return b
}

func authData(rpID string, flags byte, counter uint32, attested []byte) []byte {
	h := sha256.Sum256([]byte(rpID))
	out := append([]byte{}, h[:]...)
	out = append(out, flags)
	out = binary.BigEndian.AppendUint32(out, counter)
	return append(out, attested...)
}

func coseKey(k *ecdsa.PublicKey) ([]byte, error) {
	b, err := k.Bytes() // uncompressed point: 0x04 | X | Y
	if err != nil {
		return nil, err
	}
	return webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
		Curve:         1, // P-256
		XCoord:        b[1:33], YCoord: b[33:],
	})
}

func sign(k *ecdsa.PrivateKey, authData, clientDataJSON []byte) ([]byte, error) {
	h := sha256.Sum256(clientDataJSON)
	msg := sha256.Sum256(append(append([]byte{}, authData...), h[:]...))
	return ecdsa.SignASN1(rand.Reader, k, msg[:])
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// encoder is how an answer's binary members are written.
func encoder(ping bool) func([]byte) string {
	if ping {
		return base64.StdEncoding.EncodeToString
	}
	return b64
}

// finish is the answer's JSON, as a JSON string for PingEncoding.
func finish(v any, ping bool) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || !ping {
		return b, err
	}
	return json.Marshal(string(b))
}

// Create answers creation options (navigator.credentials.create) with a
// new credential: it returns the PublicKeyCredential JSON and the
// credential, which the authenticator keeps for Get.
func (a *Authenticator) Create(opts []byte, o CreateOptions) ([]byte, *Credential, error) {
	in, err := parseOptions(opts)
	if err != nil {
		return nil, nil, err
	}
	rpID := in.RP.ID
	if o.RPID != "" {
		rpID = o.RPID
	}
	if a.holds(rpID, in.Exclude) {
		return nil, nil, ErrExcluded
	}
	challenge := []byte(in.Challenge)
	if o.Challenge != nil {
		challenge = o.Challenge
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	id := make([]byte, 32)
	rand.Read(id)
	c := &Credential{ID: id, Key: key, RPID: rpID, UserHandle: in.User.ID, Resident: o.Resident, Counter: o.Counter}
	pub, err := coseKey(&key.PublicKey)
	if err != nil {
		return nil, nil, err
	}
	attested := append([]byte{}, a.AAGUID[:]...)
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(id)))
	attested = append(append(attested, id...), pub...)
	ad := authData(rpID, o.Flags.byte()|0x40, o.Counter, attested)
	cdj := clientData(o.CeremonyType, "webauthn.create", challenge, o.Origin)
	stmt := map[string]any{}
	format := o.Attestation
	switch format {
	case "", "none":
		format = "none"
	case "packed":
		sig, err := sign(key, ad, cdj)
		if err != nil {
			return nil, nil, err
		}
		stmt = map[string]any{"alg": int64(webauthncose.AlgES256), "sig": sig}
	case "packed-x5c":
		format = "packed"
		attKey, cert, err := a.attestationCert()
		if err != nil {
			return nil, nil, err
		}
		sig, err := sign(attKey, ad, cdj)
		if err != nil {
			return nil, nil, err
		}
		stmt = map[string]any{"alg": int64(webauthncose.AlgES256), "sig": sig, "x5c": []any{cert}}
	default:
		return nil, nil, errors.New("fidotest: attestation " + format + " is not made here")
	}
	obj, err := webauthncbor.Marshal(struct {
		Fmt      string         `cbor:"fmt"`
		AttStmt  map[string]any `cbor:"attStmt"`
		AuthData []byte         `cbor:"authData"`
	}{format, stmt, ad})
	if err != nil {
		return nil, nil, err
	}
	enc := encoder(o.PingEncoding)
	resp := map[string]any{"clientDataJSON": enc(cdj), "attestationObject": enc(obj)}
	if o.Transports != nil {
		resp["transports"] = o.Transports
	}
	out := map[string]any{
		"id": b64(id), "rawId": enc(id), "type": "public-key", "response": resp,
		"clientExtensionResults": map[string]any{"credProps": map[string]any{"rk": o.Resident}},
	}
	if o.Attachment != "" {
		out["authenticatorAttachment"] = o.Attachment
	}
	b, err := finish(out, o.PingEncoding)
	if err != nil {
		return nil, nil, err
	}
	a.mu.Lock()
	a.creds = append(a.creds, c)
	a.mu.Unlock()
	return b, c, nil
}

// attestationCert is a fresh attestation key and its self-signed
// certificate, shaped as WebAuthn's packed format requires of one
// (subject C, O, OU "Authenticator Attestation", CN; not a CA) and naming
// the authenticator's AAGUID in FIDO's extension.
func (a *Authenticator) attestationCert() (*ecdsa.PrivateKey, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	aaguid, err := asn1.Marshal(a.AAGUID[:])
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject: pkix.Name{Country: []string{"US"}, Organization: []string{"Gatehouse Tests"},
			OrganizationalUnit: []string{"Authenticator Attestation"}, CommonName: "fidotest"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		BasicConstraintsValid: true,
		ExtraExtensions:       []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 45724, 1, 1, 4}, Value: aaguid}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	return key, der, nil
}

// ErrExcluded is Create's refusal of options whose excludeCredentials
// name a credential the authenticator holds for the relying party (the
// browser's InvalidStateError): one authenticator is registered once.
var ErrExcluded = errors.New("fidotest: the authenticator holds an excluded credential")

// holds says whether one of exclude is a credential of rpID here.
func (a *Authenticator) holds(rpID string, exclude []struct {
	ID binJSON `json:"id"`
}) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, d := range exclude {
		for _, c := range a.creds {
			if c.RPID == rpID && string(c.ID) == string(d.ID) {
				return true
			}
		}
	}
	return false
}

// Credentials are the credentials the authenticator holds.
func (a *Authenticator) Credentials() []*Credential {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]*Credential{}, a.creds...)
}

func (a *Authenticator) pick(in *options, o GetOptions, rpID string) (*Credential, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	match := func(id []byte) *Credential {
		for _, c := range a.creds {
			if string(c.ID) == string(id) {
				return c
			}
		}
		return nil
	}
	if o.Credential != nil {
		if c := match(o.Credential); c != nil {
			return c, nil
		}
		return nil, errors.New("fidotest: no such credential")
	}
	for _, d := range in.Allow {
		if c := match(d.ID); c != nil && c.RPID == rpID {
			return c, nil
		}
	}
	if len(in.Allow) == 0 {
		for _, c := range a.creds {
			if c.Resident && c.RPID == rpID {
				return c, nil
			}
		}
	}
	return nil, errors.New("fidotest: no credential for the options")
}

// Get answers request options (navigator.credentials.get) with an
// assertion of one of the authenticator's credentials: the
// PublicKeyCredential JSON a browser sends.
func (a *Authenticator) Get(opts []byte, o GetOptions) ([]byte, error) {
	in, err := parseOptions(opts)
	if err != nil {
		return nil, err
	}
	rpID := in.RPID
	if o.RPID != "" {
		rpID = o.RPID
	}
	c, err := a.pick(in, o, in.RPID)
	if err != nil {
		return nil, err
	}
	challenge := []byte(in.Challenge)
	if o.Challenge != nil {
		challenge = o.Challenge
	}
	a.mu.Lock()
	if o.Counter != nil {
		c.Counter = *o.Counter
	} else {
		c.Counter++
	}
	counter := c.Counter
	a.mu.Unlock()
	ad := authData(rpID, o.Flags.byte(), counter, nil)
	cdj := clientData(o.CeremonyType, "webauthn.get", challenge, o.Origin)
	sig, err := sign(c.Key, ad, cdj)
	if err != nil {
		return nil, err
	}
	enc := encoder(o.PingEncoding)
	resp := map[string]any{"clientDataJSON": enc(cdj), "authenticatorData": enc(ad), "signature": enc(sig)}
	switch {
	case c.Resident && !o.NoUserHandle:
		resp["userHandle"] = enc(c.UserHandle)
	case o.PingEncoding:
		resp["userHandle"] = ""
	}
	out := map[string]any{"id": b64(c.ID), "rawId": enc(c.ID), "type": "public-key", "response": resp}
	if !o.PingEncoding {
		out["clientExtensionResults"] = map[string]any{}
	}
	return finish(out, o.PingEncoding)
}
