package keys_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

type fixture struct {
	st     store.Store
	sealer *secrets.Sealer
	envs   []string
}

func setup(t *testing.T, nEnvs int) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, sqltest.SQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, _ := secrets.New(make([]byte, 32))
	now := store.Now()
	org := &store.Organization{ID: uuid.NewString(), Name: "o", Type: "INTERNAL", CreatedAt: now, UpdatedAt: now}
	lic := &store.License{ID: uuid.NewString(), OrganizationID: org.ID, Name: "l", Package: "GLOBAL", Status: "ACTIVE", CreatedAt: now, UpdatedAt: now}
	if err := st.CreateOrganization(ctx, org); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateLicense(ctx, lic); err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: st, sealer: sealer}
	for i := 0; i < nEnvs; i++ {
		e := &store.Environment{ID: uuid.NewString(), OrganizationID: org.ID, Name: "e", Type: "SANDBOX", Region: "NA", LicenseID: lic.ID,
			Status: "ACTIVE", CreatedAt: now, UpdatedAt: now}
		if err := st.CreateEnvironment(ctx, e); err != nil {
			t.Fatal(err)
		}
		f.envs = append(f.envs, e.ID)
	}
	return f
}

func (f *fixture) addKey(t *testing.T, envID string, spec keys.Spec, at time.Time) *store.Key {
	t.Helper()
	k, err := keys.Generate(envID, spec, f.sealer, at)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.st.CreateKey(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	return k
}

type claims struct {
	Sub string `json:"sub"`
}

func verify(t *testing.T, m *keys.Manager, envID, tok string) error {
	t.Helper()
	parsed, err := keys.Parse(tok)
	if err != nil {
		return err
	}
	var c claims
	return m.Verify(context.Background(), envID, parsed, &c)
}

func kids(t *testing.T, m *keys.Manager, envID string) []string {
	t.Helper()
	doc, err := m.JWKS(context.Background(), envID)
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []struct {
			Kid, Kty, Use string
			X5c           []string
		}
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range set.Keys {
		if k.Use != "sig" || len(k.X5c) != 1 {
			t.Errorf("jwk %+v", k)
		}
		out = append(out, k.Kid)
	}
	return out
}

// TestRotationAcrossNodes: node 2 rotates the default key; node 1, whose
// cache still holds the old key set and follows no versions, verifies node
// 2's new tokens at once (an unknown kid reads the store's version, which
// the rotation moved), and tokens signed before the rotation stay valid.
func TestRotationAcrossNodes(t *testing.T) {
	f := setup(t, 2)
	ctx := context.Background()
	env, other := f.envs[0], f.envs[1]
	old := f.addKey(t, env, keys.DefaultSigning(), time.Now())
	f.addKey(t, other, keys.DefaultSigning(), time.Now())
	node1 := keys.NewManager(f.st, f.sealer, time.Hour)
	node2 := keys.NewManager(f.st, f.sealer, time.Hour)

	before, err := node1.Sign(ctx, env, claims{Sub: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if got := kids(t, node1, env); len(got) != 1 || got[0] != old.ID {
		t.Fatalf("jwks kids %v", got)
	}

	// Rotate on node 2: a new EC default key; the old one stays published.
	spec := keys.DefaultSigning()
	spec.Algorithm, spec.KeyLength, spec.SignatureAlgorithm = "EC", 256, "SHA256withECDSA"
	old.Default = false
	if err := f.st.UpdateKey(ctx, old); err != nil {
		t.Fatal(err)
	}
	nk := f.addKey(t, env, spec, time.Now())
	node2.Invalidate(env)
	after, err := node2.Sign(ctx, env, claims{Sub: "b"})
	if err != nil {
		t.Fatal(err)
	}
	pa, _ := keys.Parse(after)
	if pa.Headers[0].KeyID != nk.ID || pa.Headers[0].Algorithm != "ES256" {
		t.Fatalf("new token header %+v", pa.Headers[0])
	}
	for name, tc := range map[string]struct {
		m   *keys.Manager
		env string
		tok string
		ok  bool
	}{
		"node1 old token":          {node1, env, before, true},
		"node1 new token (reload)": {node1, env, after, true},
		"node2 old token":          {node2, env, before, true},
		"wrong environment":        {node1, other, before, false},
		"unknown environment":      {node1, uuid.NewString(), before, false},
		"tampered":                 {node1, env, before[:len(before)-4] + "AAAA", false},
	} {
		err := verify(t, tc.m, tc.env, tc.tok)
		if tc.ok && err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if !tc.ok && !errors.Is(err, keys.ErrInvalidToken) {
			t.Errorf("%s: err = %v, want ErrInvalidToken", name, err)
		}
	}
	if got := kids(t, node2, env); len(got) != 2 {
		t.Fatalf("after rotation jwks has %v, want both keys", got)
	}
}

func TestExpiredAndNonSigningKeysAreNotPublished(t *testing.T) {
	f := setup(t, 1)
	env := f.envs[0]
	spec := keys.DefaultSigning()
	spec.Default = false
	spec.ValidityDays = 1
	f.addKey(t, env, spec, time.Now().Add(-48*time.Hour)) // expired
	enc := keys.DefaultSigning()
	enc.UsageType, enc.Default = "ENCRYPTION", false
	f.addKey(t, env, enc, time.Now())
	live := f.addKey(t, env, keys.DefaultSigning(), time.Now())
	m := keys.NewManager(f.st, f.sealer, time.Hour)
	if got := kids(t, m, env); len(got) != 1 || got[0] != live.ID {
		t.Fatalf("jwks kids %v, want only %s", got, live.ID)
	}
}

func TestNoSigningKey(t *testing.T) {
	f := setup(t, 1)
	m := keys.NewManager(f.st, f.sealer, time.Hour)
	if _, err := m.Sign(context.Background(), f.envs[0], claims{}); !errors.Is(err, keys.ErrNoKey) {
		t.Fatalf("err = %v, want ErrNoKey", err)
	}
}

func TestGenerateRejects(t *testing.T) {
	sealer, _ := secrets.New(make([]byte, 32))
	for name, mut := range map[string]func(*keys.Spec){
		"algorithm":     func(s *keys.Spec) { s.Algorithm = "DSA" },
		"signature alg": func(s *keys.Spec) { s.SignatureAlgorithm = "MD5withRSA" },
		"ec length":     func(s *keys.Spec) { s.Algorithm, s.KeyLength, s.SignatureAlgorithm = "EC", 255, "SHA256withECDSA" },
	} {
		s := keys.DefaultSigning()
		mut(&s)
		if _, err := keys.Generate("e", s, sealer, time.Now()); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
