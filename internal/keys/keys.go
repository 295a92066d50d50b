// Package keys owns environments' signing keys: generation (key pair plus a
// self-signed certificate, as PingOne issues), sealing the private half at
// rest, an in-memory cache of parsed keys and signers, JWT signing and
// verification, and the JWKS document.
//
// Parsing a private key or building a signer per request would cost more
// than the token itself, so both are cached per environment. Every write of
// an environment's keys moves its configuration version (store.ConfigVersion),
// and the cache follows that version (Follow): another node's key change is
// seen as soon as this node sees the version move, within a second. A token
// naming a kid the cache does not know checks the version at once, at most
// every RecheckEvery per environment, so that tokens with made-up kids cannot
// turn into a query each. After ttl the keys are read again regardless
// (keys expire).
package keys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Spec describes a key to generate, in PingOne's certificate terms.
type Spec struct {
	Name               string
	Algorithm          string // RSA | EC
	KeyLength          int    // RSA 2048/3072/4096; EC 256/384
	SignatureAlgorithm string // SHA256withRSA, …
	SubjectDN          string
	UsageType          string // SIGNING, …
	ValidityDays       int
	Default            bool
}

// DefaultSigning is the key PingOne creates with every environment.
func DefaultSigning() Spec {
	return Spec{
		Name:               "PingOne SSO Credential",
		Algorithm:          "RSA",
		KeyLength:          2048,
		SignatureAlgorithm: "SHA256withRSA",
		SubjectDN:          "CN=PingOne SSO Credential, O=Gatehouse",
		UsageType:          "SIGNING",
		ValidityDays:       365,
		Default:            true,
	}
}

var sigAlgs = map[string]jose.SignatureAlgorithm{
	"SHA256withRSA": jose.RS256, "SHA384withRSA": jose.RS384, "SHA512withRSA": jose.RS512,
	"SHA256withECDSA": jose.ES256, "SHA384withECDSA": jose.ES384, "SHA512withECDSA": jose.ES512,
}

// Generate makes a key pair and its self-signed certificate for envID, with
// the private key sealed under sealer.
func Generate(envID string, spec Spec, sealer *secrets.Sealer, now time.Time) (*store.Key, error) {
	if _, ok := sigAlgs[spec.SignatureAlgorithm]; !ok {
		return nil, fmt.Errorf("keys: unsupported signature algorithm %q", spec.SignatureAlgorithm)
	}
	var priv crypto.Signer
	var err error
	switch spec.Algorithm {
	case "RSA":
		priv, err = rsa.GenerateKey(rand.Reader, spec.KeyLength)
	case "EC":
		var curve elliptic.Curve
		switch spec.KeyLength {
		case 256:
			curve = elliptic.P256()
		case 384:
			curve = elliptic.P384()
		case 521:
			curve = elliptic.P521()
		default:
			return nil, fmt.Errorf("keys: unsupported EC key length %d", spec.KeyLength)
		}
		priv, err = ecdsa.GenerateKey(curve, rand.Reader)
	default:
		return nil, fmt.Errorf("keys: unsupported algorithm %q", spec.Algorithm)
	}
	if err != nil {
		return nil, err
	}
	// PingOne's SDK decodes serialNumber as int64: keep it positive and below 2^63.
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, err
	}
	starts := now.UTC().Truncate(time.Millisecond)
	expires := starts.AddDate(0, 0, spec.ValidityDays)
	// The certificate names the subject the caller asked for; a DN that
	// does not parse (callers validate it first) falls back to the key's name.
	subject, err := ParseDN(spec.SubjectDN)
	if err != nil {
		subject = pkix.Name{CommonName: spec.Name, Organization: []string{"Gatehouse"}}
	}
	usage := x509.KeyUsageDigitalSignature
	if spec.UsageType == "ENCRYPTION" {
		usage = x509.KeyUsageKeyEncipherment
		if spec.Algorithm == "EC" {
			usage = x509.KeyUsageKeyAgreement
		}
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subject,
		NotBefore:             starts,
		NotAfter:              expires,
		KeyUsage:              usage,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		return nil, err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	id := uuid.NewString()
	return &store.Key{
		ID:                 id,
		EnvironmentID:      envID,
		Name:               spec.Name,
		Algorithm:          spec.Algorithm,
		KeyLength:          spec.KeyLength,
		SignatureAlgorithm: spec.SignatureAlgorithm,
		SubjectDN:          spec.SubjectDN,
		IssuerDN:           spec.SubjectDN,
		UsageType:          spec.UsageType,
		Default:            spec.Default,
		SerialNumber:       serial.String(),
		StartsAt:           starts,
		ExpiresAt:          expires,
		Certificate:        der,
		PrivateKeySealed:   sealer.Seal(pkcs8, "key:"+id),
		CreatedAt:          starts,
		UpdatedAt:          starts,
	}, nil
}

// SerialInt64 is the serial number as PingOne's API shows it.
func SerialInt64(k *store.Key) int64 {
	n, _ := strconv.ParseInt(k.SerialNumber, 10, 64)
	return n
}

// envKeys is one environment's parsed signing material.
type envKeys struct {
	loaded time.Time
	// version is the configuration version the keys reflect at least: read
	// before the keys were.
	version int64
	signing *Signing // the default SIGNING key's; nil for none
	// pairs are the unexpired SIGNING keys with their certificates, by
	// id, for XML signatures (SAML).
	pairs  map[string]*KeyPair
	public map[string]jose.JSONWebKey
	// algs are the algorithms of the published keys, the default key's
	// first.
	algs []string
	jwks []byte // the JWKS document, encoded once
	// rechecked is when an unknown kid last made the version be read
	// (Unix nanoseconds).
	rechecked atomic.Int64
}

// Versions tells the manager an environment's configuration version as
// this node knows it (config.Cache: the store's, at most a second old, or
// newer when this node wrote); store.ErrNotFound for no environment.
type Versions interface {
	Version(ctx context.Context, envID string) (int64, error)
}

// RecheckEvery bounds how often, per environment, a token with an unknown
// kid makes the manager read the configuration version from the store.
const RecheckEvery = 100 * time.Millisecond

// Manager caches parsed keys per environment.
type Manager struct {
	store    store.Store
	sealer   *secrets.Sealer
	ttl      time.Duration
	versions Versions

	mu   sync.Mutex
	envs map[string]*envKeys
}

func NewManager(s store.Store, sealer *secrets.Sealer, ttl time.Duration) *Manager {
	return &Manager{store: s, sealer: sealer, ttl: ttl, envs: map[string]*envKeys{}}
}

// Follow makes the cache follow v's configuration versions: keys loaded
// at an older version than v reports are read again. Call it before the
// manager is used. Without it the keys are read again only after ttl, or
// when a token names an unknown kid and the store's version moved.
func (m *Manager) Follow(v Versions) { m.versions = v }

// ErrNoKey means the environment has no usable signing key.
var ErrNoKey = errors.New("keys: no signing key")

// Invalidate drops envID's cached keys (after create, rotate or delete).
func (m *Manager) Invalidate(envID string) {
	m.mu.Lock()
	delete(m.envs, envID)
	m.mu.Unlock()
}

// noKeys is what an unknown environment has.
var noKeys = &envKeys{public: map[string]jose.JSONWebKey{}, jwks: []byte(`{"keys":[]}`)}

// get returns envID's keys. unknownKid asks whether a kid the cached keys
// lack may have been added since: the store's version is read then, at
// most every RecheckEvery per environment.
func (m *Manager) get(ctx context.Context, envID string, unknownKid bool) (*envKeys, error) {
	v := int64(-1)
	if m.versions != nil {
		var err error
		if v, err = m.versions.Version(ctx, envID); errors.Is(err, store.ErrNotFound) {
			m.Invalidate(envID)
			return noKeys, nil
		} else if err != nil {
			return nil, err
		}
	}
	m.mu.Lock()
	ek := m.envs[envID]
	m.mu.Unlock()
	if ek != nil && v <= ek.version && time.Since(ek.loaded) < m.ttl {
		if !unknownKid {
			return ek, nil
		}
		last := ek.rechecked.Load()
		now := time.Now().UnixNano()
		if now-last < int64(RecheckEvery) || !ek.rechecked.CompareAndSwap(last, now) {
			return ek, nil
		}
		sv, err := m.store.ConfigVersion(ctx, envID)
		if errors.Is(err, store.ErrNotFound) {
			m.Invalidate(envID)
			return noKeys, nil
		} else if err != nil {
			return nil, err
		}
		if sv <= ek.version {
			return ek, nil
		}
		v = sv
	}
	loaded, err := m.load(ctx, envID, v)
	if err != nil {
		return nil, err
	}
	if len(loaded.public) == 0 && m.versions == nil {
		// Without versions an unknown environment looks like one without
		// keys: made-up ids must not grow the cache.
		return loaded, nil
	}
	m.mu.Lock()
	// Two loads may race; the one that read the older version does not
	// replace the other's keys.
	if cur := m.envs[envID]; cur == nil || cur.version <= loaded.version {
		m.envs[envID] = loaded
	}
	m.mu.Unlock()
	return loaded, nil
}

// load reads envID's keys, which reflect version at least.
func (m *Manager) load(ctx context.Context, envID string, version int64) (*envKeys, error) {
	ks, err := m.store.ListKeys(ctx, envID)
	if err != nil {
		return nil, err
	}
	ek := &envKeys{loaded: time.Now(), version: version, public: map[string]jose.JSONWebKey{}, pairs: map[string]*KeyPair{}}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	now := time.Now()
	for i := range ks {
		k := &ks[i]
		if k.UsageType != "SIGNING" || now.After(k.ExpiresAt) {
			continue
		}
		cert, err := x509.ParseCertificate(k.Certificate)
		if err != nil {
			return nil, fmt.Errorf("keys: key %s: %w", k.ID, err)
		}
		thumb := sha1.Sum(k.Certificate)
		alg := sigAlgs[k.SignatureAlgorithm]
		jwk := jose.JSONWebKey{
			Key:                       cert.PublicKey,
			KeyID:                     k.ID,
			Algorithm:                 string(alg),
			Use:                       "sig",
			Certificates:              []*x509.Certificate{cert},
			CertificateThumbprintSHA1: thumb[:],
		}
		ek.public[k.ID] = jwk
		set.Keys = append(set.Keys, jwk)
		pkcs8, err := m.sealer.Open(k.PrivateKeySealed, "key:"+k.ID)
		if err != nil {
			return nil, fmt.Errorf("keys: key %s: %w", k.ID, err)
		}
		priv, err := x509.ParsePKCS8PrivateKey(pkcs8)
		if err != nil {
			return nil, fmt.Errorf("keys: key %s: %w", k.ID, err)
		}
		signer, ok := priv.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("keys: key %s: %T cannot sign", k.ID, priv)
		}
		ek.pairs[k.ID] = &KeyPair{ID: k.ID, Signer: signer, Certificate: cert, SignatureAlgorithm: k.SignatureAlgorithm, Default: k.Default}
		if k.Default {
			signer, err := jose.NewSigner(jose.SigningKey{
				Algorithm: alg,
				Key:       jose.JSONWebKey{Key: priv, KeyID: k.ID},
			}, (&jose.SignerOptions{}).WithType("JWT"))
			if err != nil {
				return nil, err
			}
			// The same key with its certificate's SHA-1 thumbprint in
			// the header, for applications that ask for it (includeX5t).
			x5tSigner, err := jose.NewSigner(jose.SigningKey{
				Algorithm: alg,
				Key:       jose.JSONWebKey{Key: priv, KeyID: k.ID},
			}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("x5t", base64.RawURLEncoding.EncodeToString(thumb[:])))
			if err != nil {
				return nil, err
			}
			ek.signing = &Signing{signer: signer, kid: k.ID, alg: string(alg)}
			ek.signing.withX5t = &Signing{signer: x5tSigner, kid: k.ID, alg: string(alg)}
		}
		if !slices.Contains(ek.algs, string(alg)) {
			ek.algs = append(ek.algs, string(alg))
		}
	}
	if ek.signing != nil {
		// The default key's algorithm first: it signs what is issued now.
		i := slices.Index(ek.algs, ek.signing.alg)
		ek.algs = slices.Insert(slices.Delete(ek.algs, i, i+1), 0, ek.signing.alg)
	}
	if ek.jwks, err = json.Marshal(set); err != nil {
		return nil, err
	}
	return ek, nil
}

// Signing is an environment's default signing key as it was when asked
// for: tokens that refer to one another (an ID token's at_hash names the
// hash of its own algorithm) are signed with one Signing, so that a
// rotation between them cannot mix two keys' algorithms.
type Signing struct {
	signer jose.Signer
	kid    string
	alg    string
	// withX5t signs with the same key, adding x5t to the header.
	withX5t *Signing
}

// WithX5t is s, or with on the same key writing the SHA-1 thumbprint of
// its certificate as x5t in the header of what it signs (RFC 7515
// §4.1.7), as PingOne does for applications with includeX5t.
func (s *Signing) WithX5t(on bool) *Signing {
	if on && s.withX5t != nil {
		return s.withX5t
	}
	return s
}

// Alg is the JWS algorithm the key signs with (RS256, ES256…).
func (s *Signing) Alg() string { return s.alg }

// KeyID is the key's id, the kid of the tokens it signs.
func (s *Signing) KeyID() string { return s.kid }

// Sign serialises claims, which must encode as a JSON object, as a JWT.
//
// The claims are encoded once and signed as they are: go-jose's JWT
// builder would encode them, decode them into a map and encode that
// again, which costs about as much as an ES256 signature.
func (s *Signing) Sign(claims any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	if len(payload) == 0 || payload[0] != '{' {
		return "", fmt.Errorf("keys: claims of type %T are not a JSON object", claims)
	}
	jws, err := s.signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// Signing returns envID's default signing key; ErrNoKey when it has none.
func (m *Manager) Signing(ctx context.Context, envID string) (*Signing, error) {
	ek, err := m.get(ctx, envID, false)
	if err != nil {
		return nil, err
	}
	if ek.signing == nil {
		return nil, ErrNoKey
	}
	return ek.signing, nil
}

// KeyPair is a signing key with its certificate: what signs XML (SAML
// assertions, responses and AuthnRequests) and what partners verify it
// with.
type KeyPair struct {
	ID          string
	Signer      crypto.Signer
	Certificate *x509.Certificate
	// SignatureAlgorithm is the key's, in PingOne's names
	// (SHA256withRSA, SHA384withECDSA…).
	SignatureAlgorithm string
	Default            bool
}

// KeyPair returns envID's unexpired SIGNING key id, or its default one
// when id is ""; ErrNoKey when there is no such key. Keys are cached as
// for tokens: no store read per signature.
func (m *Manager) KeyPair(ctx context.Context, envID, id string) (*KeyPair, error) {
	ek, err := m.get(ctx, envID, false)
	if err != nil {
		return nil, err
	}
	if id == "" {
		if ek.signing == nil {
			return nil, ErrNoKey
		}
		id = ek.signing.kid
	}
	kp := ek.pairs[id]
	if kp == nil {
		return nil, ErrNoKey
	}
	return kp, nil
}

// Sign serialises claims as a JWT signed with envID's default signing key.
func (m *Manager) Sign(ctx context.Context, envID string, claims any) (string, error) {
	sg, err := m.Signing(ctx, envID)
	if err != nil {
		return "", err
	}
	return sg.Sign(claims)
}

// SigningAlgorithms returns the algorithms of envID's published signing keys,
// the default key's first: those its tokens may be signed with now.
// The slice is shared: callers must not modify it.
func (m *Manager) SigningAlgorithms(ctx context.Context, envID string) ([]string, error) {
	ek, err := m.get(ctx, envID, false)
	if err != nil {
		return nil, err
	}
	return ek.algs, nil
}

// JWKS returns envID's JWKS document: every unexpired signing key, so a
// token signed before a rotation still verifies.
func (m *Manager) JWKS(ctx context.Context, envID string) ([]byte, error) {
	ek, err := m.get(ctx, envID, false)
	if err != nil {
		return nil, err
	}
	return ek.jwks, nil
}

// Algorithms Gatehouse signs with, and so the only ones it accepts.
var Algorithms = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.ES384, jose.ES512}

// ErrInvalidToken covers every reason a token does not verify.
var ErrInvalidToken = errors.New("keys: invalid token")

// Parse parses a compact JWT signed with one of Algorithms, unverified.
func Parse(raw string) (*jwt.JSONWebToken, error) {
	tok, err := jwt.ParseSigned(raw, Algorithms)
	if err != nil || len(tok.Headers) != 1 {
		return nil, ErrInvalidToken
	}
	return tok, nil
}

// Verify checks tok's signature against envID's keys and decodes its claims
// into out. It does not judge the claims (exp, iss…): the caller does.
func (m *Manager) Verify(ctx context.Context, envID string, tok *jwt.JSONWebToken, out any) error {
	jwk, ok, err := m.verificationKey(ctx, envID, tok.Headers[0].KeyID)
	if err != nil {
		return err
	}
	if !ok {
		return ErrInvalidToken
	}
	if err := tok.Claims(jwk.Key, out); err != nil {
		return ErrInvalidToken
	}
	return nil
}

// Holds reports whether kid is still one of envID's verification keys,
// as Verify would find it now: a token verified earlier under kid (and
// remembered) stops holding once its key is deleted or has expired.
func (m *Manager) Holds(ctx context.Context, envID, kid string) (bool, error) {
	_, ok, err := m.verificationKey(ctx, envID, kid)
	return ok, err
}

// verificationKey is envID's public key kid.
func (m *Manager) verificationKey(ctx context.Context, envID, kid string) (jose.JSONWebKey, bool, error) {
	ek, err := m.get(ctx, envID, false)
	if err != nil {
		return jose.JSONWebKey{}, false, err
	}
	jwk, ok := ek.public[kid]
	if !ok {
		// Maybe added on another node since we loaded.
		if ek, err = m.get(ctx, envID, true); err != nil {
			return jose.JSONWebKey{}, false, err
		}
		jwk, ok = ek.public[kid]
	}
	return jwk, ok, nil
}
