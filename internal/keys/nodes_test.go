package keys_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// node is one server's view of a shared database: its own store (pool),
// configuration cache and key manager, wired as the server wires them.
type node struct {
	st   *sqlstore.SQLStore
	keys *keys.Manager
}

func newNode(t *testing.T, dsn string, sealer *secrets.Sealer, checkEvery time.Duration) *node {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m := keys.NewManager(st, sealer, time.Hour)
	m.Follow(config.New(st, config.Options{CheckEvery: checkEvery}))
	return &node{st: st, keys: m}
}

// withKid is tok with its header's kid replaced: what a forger sends.
func withKid(tok, kid string) string {
	head := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","kid":"` + kid + `","typ":"JWT"}`))
	return head + tok[strings.Index(tok, "."):]
}

// TestKeyChangesAcrossNodes: two nodes on one database. A key added on one
// signs tokens the other verifies at once (an unknown kid reads the
// version); a key deleted on one is refused by the other as soon as its
// cache sees the version move, within CheckEvery even without PostgreSQL's
// notifications; made-up kids cost at most one version read per
// RecheckEvery, not one per token.
func TestKeyChangesAcrossNodes(t *testing.T) {
	const every = 300 * time.Millisecond
	for _, be := range sqltest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			ctx := context.Background()
			dsn := be.DSN(t)
			sealer, _ := secrets.New(make([]byte, 32))
			a := newNode(t, dsn, sealer, every)
			b := newNode(t, dsn, sealer, every)
			f := &fixture{st: a.st, sealer: sealer}
			now := store.Now()
			org := &store.Organization{ID: uuid.NewString(), Name: "o", Type: "INTERNAL", CreatedAt: now, UpdatedAt: now}
			lic := &store.License{ID: uuid.NewString(), OrganizationID: org.ID, Name: "l", Package: "GLOBAL", Status: "ACTIVE", CreatedAt: now, UpdatedAt: now}
			env := &store.Environment{ID: uuid.NewString(), OrganizationID: org.ID, Name: "e", Type: "SANDBOX", Region: "NA", LicenseID: lic.ID,
				Status: "ACTIVE", CreatedAt: now, UpdatedAt: now}
			if err := errors.Join(a.st.CreateOrganization(ctx, org), a.st.CreateLicense(ctx, lic), a.st.CreateEnvironment(ctx, env)); err != nil {
				t.Fatal(err)
			}
			first := f.addKey(t, env.ID, keys.DefaultSigning(), time.Now())
			tok1, err := a.keys.Sign(ctx, env.ID, claims{Sub: "one"})
			if err != nil {
				t.Fatal(err)
			}
			if err := verify(t, b.keys, env.ID, tok1); err != nil {
				t.Fatalf("b verifies a's token: %v", err)
			}

			// A new default key on a: b, which holds the old key set,
			// verifies its tokens at once.
			first.Default = false
			if err := a.st.UpdateKey(ctx, first); err != nil {
				t.Fatal(err)
			}
			second := f.addKey(t, env.ID, keys.DefaultSigning(), time.Now())
			tok2, err := a.keys.Sign(ctx, env.ID, claims{Sub: "two"})
			if err != nil {
				t.Fatal(err)
			}
			if p, _ := keys.Parse(tok2); p.Headers[0].KeyID != second.ID {
				t.Fatalf("a signs with %s, want the new key %s", p.Headers[0].KeyID, second.ID)
			}
			if err := verify(t, b.keys, env.ID, tok2); err != nil {
				t.Fatalf("b refuses a token of the key a just added: %v", err)
			}

			// The old key deleted on a: b refuses its tokens within a
			// version check.
			if err := a.st.DeleteKey(ctx, env.ID, first.ID); err != nil {
				t.Fatal(err)
			}
			deleted := time.Now()
			for verify(t, b.keys, env.ID, tok1) == nil {
				if time.Since(deleted) > every+250*time.Millisecond {
					t.Fatalf("b still accepts a deleted key's token %v after the delete", time.Since(deleted))
				}
				time.Sleep(10 * time.Millisecond)
			}
			t.Logf("deleted key refused by the other node after %v", time.Since(deleted).Round(time.Millisecond))
			if err := verify(t, b.keys, env.ID, tok1); !errors.Is(err, keys.ErrInvalidToken) {
				t.Errorf("deleted key's token: %v, want ErrInvalidToken", err)
			}
			if err := verify(t, b.keys, env.ID, tok2); err != nil {
				t.Errorf("the remaining key's token: %v", err)
			}

			// Forged kids: every one refused, the store read at most once
			// per RecheckEvery (plus the version checks every CheckEvery).
			q0, start := b.st.Queries(), time.Now()
			const forged = 2000
			for i := range forged {
				kid := uuid.NewString()
				if i%2 == 0 {
					kid = first.ID // a deleted key's id
				}
				if err := verify(t, b.keys, env.ID, withKid(tok2, kid)); !errors.Is(err, keys.ErrInvalidToken) {
					t.Fatalf("forged kid %s: %v, want ErrInvalidToken", kid, err)
				}
			}
			took := time.Since(start)
			most := int64(took/keys.RecheckEvery) + int64(took/every) + 3
			if n := b.st.Queries() - q0; n > most {
				t.Errorf("%d tokens with made-up kids in %v cost %d store queries, want at most %d", forged, took, n, most)
			}
		})
	}
}
