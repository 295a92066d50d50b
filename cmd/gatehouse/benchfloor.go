package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse-id/gatehouse/internal/password"
)

// benchFloor is a crypto rate of this machine, all cores: the highest
// of its samples (before and after the scenarios).
type benchFloor struct {
	Name      string    `json:"name"`
	PerSecond float64   `json:"perSecond"`
	Samples   []float64 `json:"samples"`
}

// mergeFloors adds the samples of later to those of floors.
func mergeFloors(floors, later []benchFloor) []benchFloor {
	for _, l := range later {
		for i := range floors {
			if floors[i].Name == l.Name {
				floors[i].Samples = append(floors[i].Samples, l.Samples...)
				floors[i].PerSecond = max(floors[i].PerSecond, l.PerSecond)
			}
		}
	}
	return floors
}

// floorName is the floor a scenario of kind ("sign", "verify", "hash")
// is measured against when the environment's tokens are signed with alg.
func floorName(kind, alg string) string {
	switch kind {
	case "sign", "verify":
		return alg + " " + kind
	case "hash":
		return "argon2id hash"
	}
	return ""
}

// measureFloors measures what a token, an introspection and a sign-on
// cannot go below: a JWT signed and verified with RS256 (RSA-2048, the
// default signing key) and ES256 through go-jose with an access token's
// claims, and a password hashed with the server's default argon2id
// parameters (a password check costs one).
func measureFloors(ctx context.Context, d time.Duration, p *progress) ([]benchFloor, error) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	claims := map[string]any{"iss": "https://gatehouse.example/5f0c6a36-1e2f-4a51-9a0e-6d8a2b1c3d4e/as", "sub": "c1b2a3d4-0000-4000-8000-000000000001",
		"aud": []string{"https://api.pingone.com"}, "client_id": "c1b2a3d4-0000-4000-8000-000000000001", "scope": "openid profile",
		"env": "5f0c6a36-1e2f-4a51-9a0e-6d8a2b1c3d4e", "org": "0e1f2a3b-0000-4000-8000-000000000002", "iat": 1700000000, "exp": 1700003600,
		"jti": "8a7b6c5d-0000-4000-8000-000000000003"}
	var out []benchFloor
	var failed error
	measure := func(name string, d time.Duration, fn func() error) {
		if ctx.Err() != nil || failed != nil {
			return
		}
		p.line("measuring the " + name + " rate of this machine")
		rate, err := parallelRate(ctx, d, fn)
		p.done()
		if err != nil {
			failed = fmt.Errorf("measuring %s: %w", name, err)
			return
		}
		rate = round(rate, 1)
		out = append(out, benchFloor{Name: name, PerSecond: rate, Samples: []float64{rate}})
	}
	for _, k := range []struct {
		alg      jose.SignatureAlgorithm
		priv     any
		pub      any
		keyLabel string
	}{{jose.RS256, rsaKey, &rsaKey.PublicKey, "rsa"}, {jose.ES256, ecKey, &ecKey.PublicKey, "ec"}} {
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: jose.JSONWebKey{Key: k.priv, KeyID: k.keyLabel}},
			(&jose.SignerOptions{}).WithType("JWT"))
		if err != nil {
			return nil, err
		}
		measure(string(k.alg)+" sign", d, func() error {
			_, err := jwt.Signed(signer).Claims(claims).Serialize()
			return err
		})
		tok, err := jwt.Signed(signer).Claims(claims).Serialize()
		if err != nil {
			return nil, err
		}
		algs := []jose.SignatureAlgorithm{k.alg}
		measure(string(k.alg)+" verify", d, func() error {
			parsed, err := jwt.ParseSigned(tok, algs)
			if err != nil {
				return err
			}
			var got map[string]any
			return parsed.Claims(k.pub, &got)
		})
	}
	h := password.NewHasher(password.DefaultParams, runtime.GOMAXPROCS(0))
	measure("argon2id hash", 2*d, func() error {
		_, err := h.Hash(ctx, "correct horse battery staple")
		if ctx.Err() != nil {
			return nil
		}
		return err
	})
	return out, failed
}

// parallelRate runs fn on every core for d and returns how many a second
// the cores can run: the count over the process's CPU time, times the
// cores. Other work on the machine takes wall-clock time from the
// measurement but no CPU time, so this is steadier than the count over
// d; without a CPU clock it is the count over d.
func parallelRate(ctx context.Context, d time.Duration, fn func() error) (float64, error) {
	var n atomic.Int64
	var wg sync.WaitGroup
	var first atomic.Pointer[error]
	procs := runtime.GOMAXPROCS(0)
	cpu0, start := processCPU(), time.Now()
	deadline := start.Add(d)
	for range procs {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(deadline) {
				if err := fn(); err != nil {
					first.CompareAndSwap(nil, &err)
					return
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	if err := first.Load(); err != nil {
		return 0, *err
	}
	wall, cpu := time.Since(start), processCPU()-cpu0
	// CPU time above the cores' share of the wall clock would be a clock
	// gone wrong; below it is what other work on the machine took.
	if cpu <= 0 || cpu > wall*time.Duration(procs) {
		return float64(n.Load()) / wall.Seconds(), nil
	}
	return float64(n.Load()) * float64(procs) / cpu.Seconds(), nil
}
