package authsvc

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"

	"github.com/gatehouse-id/gatehouse/internal/accesstoken"
	"github.com/gatehouse-id/gatehouse/internal/keys"
)

// Verifying an access token's signature and decoding its claims cost more
// than everything else its use checks together (an RSA verification and
// go-jose's parsing), and a resource server presents the same token again
// and again until it expires. So the result of that work — and only that:
// "these claims were signed by key kid of environment envID" — is kept by
// the SHA-256 of the token until its exp. Every judgement that can change
// (the key still held, expiry, the application, revocation, the session,
// the user) is made again on every use, exactly as for a token seen for
// the first time.

const (
	tokenShards = 16
	// maxVerifiedTokens bounds the memory a flood of distinct live tokens
	// can take: a user's token takes about 830 bytes, so 13 MiB when full.
	// Only tokens whose signature verified are kept, so made-up ones
	// cannot fill it; beyond it, a token costs a verification again.
	maxVerifiedTokens = 16384
	shardCap          = maxVerifiedTokens / tokenShards
)

// verifiedToken is what a token's signature vouches for; claims are
// shared by every use and must not be modified.
type verifiedToken struct {
	envID  string
	kid    string
	claims accesstoken.Claims
}

type tokenShard struct {
	mu sync.RWMutex
	m  map[[sha256.Size]byte]*verifiedToken
}

// verifiedTokens is a bounded map of verified tokens, sharded so that
// parallel requests rarely wait on one another.
type verifiedTokens struct {
	shards [tokenShards]tokenShard
}

func (v *verifiedTokens) shard(sum *[sha256.Size]byte) *tokenShard {
	return &v.shards[sum[0]%tokenShards]
}

// get is the token of that hash, unless it has expired by now (Unix
// seconds).
func (v *verifiedTokens) get(sum *[sha256.Size]byte, now int64) *verifiedToken {
	sh := v.shard(sum)
	sh.mu.RLock()
	t := sh.m[*sum]
	sh.mu.RUnlock()
	if t == nil || t.claims.ExpiresAt <= now {
		return nil
	}
	return t
}

// put keeps t until its expiry. A full shard first drops what has expired,
// then arbitrary entries down to seven eighths of its size, so that the
// sweep is paid once per many insertions.
func (v *verifiedTokens) put(sum *[sha256.Size]byte, t *verifiedToken, now int64) {
	sh := v.shard(sum)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.m == nil {
		sh.m = map[[sha256.Size]byte]*verifiedToken{}
	}
	if len(sh.m) >= shardCap {
		for k, x := range sh.m {
			if x.claims.ExpiresAt <= now {
				delete(sh.m, k)
			}
		}
		for k := range sh.m {
			if len(sh.m) <= shardCap*7/8 {
				break
			}
			delete(sh.m, k) // map order is unspecified: a random eviction
		}
	}
	sh.m[*sum] = t
}

// drop forgets the token of that hash.
func (v *verifiedTokens) drop(sum *[sha256.Size]byte) {
	sh := v.shard(sum)
	sh.mu.Lock()
	delete(sh.m, *sum)
	sh.mu.Unlock()
}

// len counts the tokens kept (expired ones not yet swept included).
func (v *verifiedTokens) len() int {
	n := 0
	for i := range v.shards {
		sh := &v.shards[i]
		sh.mu.RLock()
		n += len(sh.m)
		sh.mu.RUnlock()
	}
	return n
}

// errMalformedToken is a token that does not even parse as a JWT signed
// with one of keys.Algorithms.
var errMalformedToken = errors.New("authsvc: malformed access token")

// verifiedAccessToken returns raw's claims once its signature is known to
// be one of envID's current keys' — from the cache when raw verified
// before, and its key is still held; else by parsing and verifying it.
// envID "" takes the environment the token names (the management API's
// tokens); the claims' env must then be checked by the caller. The claims
// are not judged here: the caller judges them on every use. A token that
// is no JWT is errMalformedToken, one that does not verify
// keys.ErrInvalidToken; other errors are the store's.
func (s *Service) verifiedAccessToken(ctx context.Context, envID, raw string, now int64) (string, *accesstoken.Claims, error) {
	sum := sha256.Sum256([]byte(raw))
	if t := s.tokens.get(&sum, now); t != nil && (envID == "" || envID == t.envID) {
		ok, err := s.Keys.Holds(ctx, t.envID, t.kid)
		if err != nil {
			return "", nil, err
		}
		if !ok {
			s.tokens.drop(&sum)
			return "", nil, keys.ErrInvalidToken
		}
		return t.envID, &t.claims, nil
	}
	tok, err := keys.Parse(raw)
	if err != nil {
		return "", nil, errMalformedToken
	}
	if envID == "" {
		// The environment, and so the key set, comes from the unverified
		// payload; the signature check against that environment's keys
		// and the caller's env and issuer checks then vouch for it.
		var unsafe struct {
			Env string `json:"env"`
		}
		// Environment ids are UUIDs; anything else (a NUL, say) must not
		// reach the store as a query argument, where PostgreSQL would fail
		// with a 500.
		if err := tok.UnsafeClaimsWithoutVerification(&unsafe); err != nil || !validID(unsafe.Env) {
			return "", nil, errMalformedToken
		}
		envID = unsafe.Env
	}
	t := &verifiedToken{envID: envID, kid: tok.Headers[0].KeyID}
	if err := s.Keys.Verify(ctx, envID, tok, &t.claims); err != nil {
		return "", nil, err
	}
	// Only what is shaped like a live access token is kept: ID tokens,
	// signed by the same keys, and expired tokens gain nothing from it.
	if c := &t.claims; c.ExpiresAt > now && c.ClientID != "" && c.ID != "" {
		s.tokens.put(&sum, t, now)
	}
	return envID, &t.claims, nil
}
