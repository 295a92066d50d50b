package keys_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-id/gatehouse/internal/keys"
)

// TestSignEveryAlgorithm: whatever the default key's algorithm, a token
// carries its alg, kid and typ JWT, verifies against the JWKS's public key
// (as a relying party would check it) and holds exactly the claims given;
// SigningAlgorithms names the default's algorithm first, then the other
// published keys'.
func TestSignEveryAlgorithm(t *testing.T) {
	ctx := context.Background()
	f := setup(t, 1)
	env := f.envs[0]
	f.addKey(t, env, keys.DefaultSigning(), time.Now())
	published := []string{"RS256"}
	for _, c := range []struct {
		algorithm string
		length    int
		sigAlg    string
		alg       string
	}{
		{"RSA", 2048, "SHA256withRSA", "RS256"},
		{"RSA", 2048, "SHA384withRSA", "RS384"},
		{"RSA", 3072, "SHA512withRSA", "RS512"},
		{"EC", 256, "SHA256withECDSA", "ES256"},
		{"EC", 384, "SHA384withECDSA", "ES384"},
		{"EC", 521, "SHA512withECDSA", "ES512"},
	} {
		t.Run(c.alg, func(t *testing.T) {
			// The previous default stays published.
			prev, err := f.st.ListKeys(ctx, env)
			if err != nil {
				t.Fatal(err)
			}
			for i := range prev {
				if prev[i].Default {
					prev[i].Default = false
					if err := f.st.UpdateKey(ctx, &prev[i]); err != nil {
						t.Fatal(err)
					}
				}
			}
			spec := keys.DefaultSigning()
			spec.Algorithm, spec.KeyLength, spec.SignatureAlgorithm = c.algorithm, c.length, c.sigAlg
			k := f.addKey(t, env, spec, time.Now())
			m := keys.NewManager(f.st, f.sealer, time.Hour)

			sg, err := m.Signing(ctx, env)
			if err != nil {
				t.Fatal(err)
			}
			if sg.Alg() != c.alg || sg.KeyID() != k.ID {
				t.Errorf("Signing: %s %s, want %s %s", sg.Alg(), sg.KeyID(), c.alg, k.ID)
			}
			type claims struct {
				Sub string   `json:"sub"`
				Aud []string `json:"aud"`
				Exp int64    `json:"exp"`
			}
			raw, err := m.Sign(ctx, env, claims{Sub: "s", Aud: []string{"a"}, Exp: 7})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := keys.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			h := tok.Headers[0]
			if h.Algorithm != c.alg || h.KeyID != k.ID || h.ExtraHeaders[jose.HeaderType] != "JWT" {
				t.Errorf("header alg %s kid %s typ %v, want %s %s JWT", h.Algorithm, h.KeyID, h.ExtraHeaders[jose.HeaderType], c.alg, k.ID)
			}
			doc, err := m.JWKS(ctx, env)
			if err != nil {
				t.Fatal(err)
			}
			var set jose.JSONWebKeySet
			if err := json.Unmarshal(doc, &set); err != nil {
				t.Fatal(err)
			}
			jwk := set.Key(k.ID)
			if len(jwk) != 1 || jwk[0].Algorithm != c.alg || jwk[0].Use != "sig" {
				t.Fatalf("JWKS entry for %s: %+v", k.ID, jwk)
			}
			var got map[string]any
			if err := tok.Claims(jwk[0].Key, &got); err != nil {
				t.Fatalf("verify with the JWKS key: %v", err)
			}
			if len(got) != 3 || got["sub"] != "s" || got["exp"] != float64(7) {
				t.Errorf("claims %v", got)
			}

			if !slices.Contains(published, c.alg) {
				published = append(published, c.alg)
			}
			algs, err := m.SigningAlgorithms(ctx, env)
			if err != nil {
				t.Fatal(err)
			}
			if len(algs) == 0 || algs[0] != c.alg || !slices.Equal(slices.Sorted(slices.Values(algs)), slices.Sorted(slices.Values(published))) {
				t.Errorf("SigningAlgorithms = %v, want %s first of %v", algs, c.alg, published)
			}
		})
	}
}

// TestSignRefuses: claims that are not a JSON object make no token, and
// an environment without a default key has no Signing.
func TestSignRefuses(t *testing.T) {
	ctx := context.Background()
	f := setup(t, 2)
	f.addKey(t, f.envs[0], keys.DefaultSigning(), time.Now())
	m := keys.NewManager(f.st, f.sealer, time.Hour)
	for name, c := range map[string]any{"string": "sub", "array": []string{"a"}, "null": nil, "number": 1} {
		if tok, err := m.Sign(ctx, f.envs[0], c); err == nil || !strings.Contains(err.Error(), "not a JSON object") {
			t.Errorf("%s claims: %q %v", name, tok, err)
		}
	}
	if _, err := m.Signing(ctx, f.envs[1]); !errors.Is(err, keys.ErrNoKey) {
		t.Errorf("no key: %v, want ErrNoKey", err)
	}
	if algs, err := m.SigningAlgorithms(ctx, f.envs[1]); err != nil || len(algs) != 0 {
		t.Errorf("no key: algorithms %v %v", algs, err)
	}
}
