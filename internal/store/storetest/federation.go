package storetest

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// testFederationSuite runs the conformance tests of identity providers,
// their attribute mappings and linked accounts. Each works in environments
// of its own, so they share the suite's store.
func testFederationSuite(t *testing.T, s store.Store) {
	for _, tc := range []struct {
		name string
		run  func(*testing.T, store.Store)
	}{
		{"IdentityProviders", testIdentityProviders},
		{"IdentityProviderUniqueness", testIdentityProviderUniqueness},
		{"IdentityProviderIsolation", testIdentityProviderIsolation},
		{"IdentityProviderAttributes", testIdentityProviderAttributes},
		{"LinkedAccounts", testLinkedAccounts},
		{"FederationCascades", testFederationCascades},
		{"IdentityProviderLock", testIdentityProviderLock},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, s) })
	}
}

// ---- builders

func mkIDP(envID, name string) *store.IdentityProvider {
	ts := now()
	return &store.IdentityProvider{
		ID: newID(), EnvironmentID: envID, Name: name, Type: "OPENID_CONNECT", Enabled: true,
		ClientSecretSealed: []byte{0x00, 0x01, 0xfe, 0xff, 'i', 'd', 'p', 0x00},
		Data: json.RawMessage(`{"clientId":"c-` + name + `","issuer":"https://idp.example.com","scopes":["openid","email"],` +
			`"tokenEndpointAuthMethod":"CLIENT_SECRET_BASIC","registration":{"population":{"id":"p-1"}}}`),
		CreatedAt: ts, UpdatedAt: ts,
	}
}

func newIDP(t *testing.T, s store.Store, envID, name string) *store.IdentityProvider {
	t.Helper()
	p := mkIDP(envID, name)
	must(t, s.CreateIdentityProvider(t.Context(), p), "CreateIdentityProvider "+name)
	return p
}

func mkIDPAttr(envID, idpID, name, claim string) *store.IdentityProviderAttribute {
	ts := now()
	return &store.IdentityProviderAttribute{
		ID: newID(), EnvironmentID: envID, IdentityProviderID: idpID, Name: name, Value: "${providerAttributes." + claim + "}",
		Update: "EMPTY_ONLY", MappingType: "CUSTOM", CreatedAt: ts, UpdatedAt: ts,
	}
}

func newIDPAttr(t *testing.T, s store.Store, envID, idpID, name, claim string) *store.IdentityProviderAttribute {
	t.Helper()
	a := mkIDPAttr(envID, idpID, name, claim)
	must(t, s.CreateIdentityProviderAttribute(t.Context(), a), "CreateIdentityProviderAttribute "+name)
	return a
}

func mkLink(envID, userID, idpID, externalID string) *store.LinkedAccount {
	ts := now()
	return &store.LinkedAccount{ID: newID(), EnvironmentID: envID, UserID: userID, IdentityProviderID: idpID, ExternalID: externalID,
		CreatedAt: ts, UpdatedAt: ts}
}

func newLink(t *testing.T, s store.Store, envID, userID, idpID, externalID string) *store.LinkedAccount {
	t.Helper()
	l := mkLink(envID, userID, idpID, externalID)
	must(t, s.CreateLinkedAccount(t.Context(), l), "CreateLinkedAccount "+externalID)
	return l
}

// ---- providers

func testIdentityProviders(t *testing.T, s store.Store) {
	ctx := t.Context()
	e := newEnv(t, s)
	p := newIDP(t, s, e.ID, "Upstream")
	got, err := s.GetIdentityProvider(ctx, e.ID, p.ID)
	must(t, err, "GetIdentityProvider")
	checkRecord(t, "identity provider", got, p)

	// A provider without a secret (a public client of its provider) keeps
	// none.
	bare := mkIDP(e.ID, "Public")
	bare.ClientSecretSealed, bare.Enabled, bare.Data = nil, false, nil
	must(t, s.CreateIdentityProvider(ctx, bare), "CreateIdentityProvider without a secret")
	got, err = s.GetIdentityProvider(ctx, e.ID, bare.ID)
	must(t, err, "GetIdentityProvider without a secret")
	checkRecord(t, "identity provider without a secret", got, bare)
	if len(got.ClientSecretSealed) != 0 {
		t.Errorf("ClientSecretSealed = %x, want none", got.ClientSecretSealed)
	}

	list, err := s.ListIdentityProviders(ctx, e.ID)
	must(t, err, "ListIdentityProviders")
	want := []store.IdentityProvider{*p, *bare}
	if bare.ID < p.ID {
		want = []store.IdentityProvider{*bare, *p}
	}
	checkList(t, "identity providers by id", list, want...)

	upd := *p
	upd.Name, upd.Enabled, upd.ClientSecretSealed = "Upstream 2", false, []byte("resealed\x00")
	upd.Data = json.RawMessage(`{"clientId":"c-2","scopes":["openid"]}`)
	upd.UpdatedAt = now().Add(time.Minute)
	must(t, s.UpdateIdentityProvider(ctx, &upd), "UpdateIdentityProvider")
	got, err = s.GetIdentityProvider(ctx, e.ID, p.ID)
	must(t, err, "GetIdentityProvider after update")
	checkRecord(t, "updated identity provider", got, &upd)

	must(t, s.DeleteIdentityProvider(ctx, e.ID, p.ID), "DeleteIdentityProvider")
	_, err = s.GetIdentityProvider(ctx, e.ID, p.ID)
	wantErr(t, err, store.ErrNotFound, "GetIdentityProvider after delete")
	wantErr(t, s.DeleteIdentityProvider(ctx, e.ID, p.ID), store.ErrNotFound, "DeleteIdentityProvider twice")
	wantErr(t, s.UpdateIdentityProvider(ctx, &upd), store.ErrNotFound, "UpdateIdentityProvider of a deleted provider")
	list, err = s.ListIdentityProviders(ctx, e.ID)
	must(t, err, "ListIdentityProviders after delete")
	checkList(t, "identity providers after delete", list, *bare)

	empty, err := s.ListIdentityProviders(ctx, newEnv(t, s).ID)
	must(t, err, "ListIdentityProviders of an empty environment")
	checkList(t, "identity providers of an empty environment", empty)
}

func testIdentityProviderUniqueness(t *testing.T, s store.Store) {
	ctx := t.Context()
	e, other := newEnv(t, s), newEnv(t, s)
	p := newIDP(t, s, e.ID, "Corporate IdP")
	q := newIDP(t, s, e.ID, "Partner")
	for _, name := range []string{"Corporate IdP", "corporate idp", "CORPORATE IDP"} {
		wantUnique(t, s.CreateIdentityProvider(ctx, mkIDP(e.ID, name)), "identity provider", "name", "CreateIdentityProvider "+name)
	}
	ren := *q
	ren.Name = "CORPORATE idp"
	wantUnique(t, s.UpdateIdentityProvider(ctx, &ren), "identity provider", "name", "rename onto another provider's name")
	// Its own name in another case is no clash; another environment may
	// reuse the name.
	self := *p
	self.Name = "corporate IDP"
	must(t, s.UpdateIdentityProvider(ctx, &self), "rename a provider to its own name in another case")
	newIDP(t, s, other.ID, "Corporate IdP")
	// The name is free again once its provider is gone.
	must(t, s.DeleteIdentityProvider(ctx, e.ID, p.ID), "DeleteIdentityProvider")
	newIDP(t, s, e.ID, "Corporate IdP")
}

func testIdentityProviderIsolation(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, b := newEnv(t, s), newEnv(t, s)
	p := newIDP(t, s, a.ID, "Mine")
	_, err := s.GetIdentityProvider(ctx, b.ID, p.ID)
	wantErr(t, err, store.ErrNotFound, "GetIdentityProvider from another environment")
	moved := *p
	moved.EnvironmentID, moved.Name = b.ID, "Stolen"
	wantErr(t, s.UpdateIdentityProvider(ctx, &moved), store.ErrNotFound, "UpdateIdentityProvider from another environment")
	wantErr(t, s.DeleteIdentityProvider(ctx, b.ID, p.ID), store.ErrNotFound, "DeleteIdentityProvider from another environment")
	list, err := s.ListIdentityProviders(ctx, b.ID)
	must(t, err, "ListIdentityProviders of another environment")
	checkList(t, "another environment's providers", list)
	got, err := s.GetIdentityProvider(ctx, a.ID, p.ID)
	must(t, err, "GetIdentityProvider after the other environment's attempts")
	checkRecord(t, "provider after the other environment's attempts", got, p)

	// Its mappings and links are as far out of reach.
	at := newIDPAttr(t, s, a.ID, p.ID, "email", "email")
	_, err = s.GetIdentityProviderAttribute(ctx, b.ID, p.ID, at.ID)
	wantErr(t, err, store.ErrNotFound, "GetIdentityProviderAttribute from another environment")
	attrs, err := s.ListIdentityProviderAttributes(ctx, b.ID, p.ID)
	must(t, err, "ListIdentityProviderAttributes from another environment")
	checkList(t, "mappings seen from another environment", attrs)
	mv := *at
	mv.EnvironmentID, mv.Value = b.ID, "${providerAttributes.sub}"
	wantErr(t, s.UpdateIdentityProviderAttribute(ctx, &mv), store.ErrNotFound, "UpdateIdentityProviderAttribute from another environment")
	wantErr(t, s.DeleteIdentityProviderAttribute(ctx, b.ID, p.ID, at.ID), store.ErrNotFound, "DeleteIdentityProviderAttribute from another environment")

	pop := newPopulation(t, s, a.ID, "Staff")
	u := newUser(t, s, a.ID, pop.ID, "isolated")
	l := newLink(t, s, a.ID, u.ID, p.ID, "sub-1")
	_, err = s.GetLinkedAccount(ctx, b.ID, u.ID, l.ID)
	wantErr(t, err, store.ErrNotFound, "GetLinkedAccount from another environment")
	_, err = s.FindLinkedAccount(ctx, b.ID, p.ID, "sub-1")
	wantErr(t, err, store.ErrNotFound, "FindLinkedAccount from another environment")
	links, err := s.ListLinkedAccounts(ctx, b.ID, u.ID)
	must(t, err, "ListLinkedAccounts from another environment")
	checkList(t, "links seen from another environment", links)
	wantErr(t, s.DeleteLinkedAccount(ctx, b.ID, u.ID, l.ID), store.ErrNotFound, "DeleteLinkedAccount from another environment")
	got2, err := s.GetLinkedAccount(ctx, a.ID, u.ID, l.ID)
	must(t, err, "GetLinkedAccount after the other environment's attempts")
	checkRecord(t, "link after the other environment's attempts", got2, l)
}

// ---- attribute mappings

func testIdentityProviderAttributes(t *testing.T, s store.Store) {
	ctx := t.Context()
	e := newEnv(t, s)
	p, q := newIDP(t, s, e.ID, "First"), newIDP(t, s, e.ID, "Second")
	core := mkIDPAttr(e.ID, p.ID, "username", "sub")
	core.MappingType = "CORE"
	must(t, s.CreateIdentityProviderAttribute(ctx, core), "CreateIdentityProviderAttribute CORE")
	email := newIDPAttr(t, s, e.ID, p.ID, "email", "email")
	given := newIDPAttr(t, s, e.ID, p.ID, "name.given", "given_name")
	got, err := s.GetIdentityProviderAttribute(ctx, e.ID, p.ID, given.ID)
	must(t, err, "GetIdentityProviderAttribute")
	checkRecord(t, "attribute mapping", got, given)

	// Listed by name; another provider's mappings are its own.
	list, err := s.ListIdentityProviderAttributes(ctx, e.ID, p.ID)
	must(t, err, "ListIdentityProviderAttributes")
	checkList(t, "mappings by name", list, *email, *given, *core)
	_, err = s.GetIdentityProviderAttribute(ctx, e.ID, q.ID, email.ID)
	wantErr(t, err, store.ErrNotFound, "GetIdentityProviderAttribute under another provider")
	wantErr(t, s.DeleteIdentityProviderAttribute(ctx, e.ID, q.ID, email.ID), store.ErrNotFound, "DeleteIdentityProviderAttribute under another provider")

	// One mapping per user attribute and provider.
	wantUnique(t, s.CreateIdentityProviderAttribute(ctx, mkIDPAttr(e.ID, p.ID, "email", "mail")), "attribute mapping", "name", "a second email mapping")
	other := newIDPAttr(t, s, e.ID, q.ID, "email", "mail")
	ren := *given
	ren.Name = "email"
	wantUnique(t, s.UpdateIdentityProviderAttribute(ctx, &ren), "attribute mapping", "name", "rename onto another mapping's attribute")

	upd := *given
	upd.Name, upd.Value, upd.Update, upd.UpdatedAt = "nickname", "${providerAttributes.nickname}", "ALWAYS", now().Add(time.Minute)
	must(t, s.UpdateIdentityProviderAttribute(ctx, &upd), "UpdateIdentityProviderAttribute")
	got, err = s.GetIdentityProviderAttribute(ctx, e.ID, p.ID, given.ID)
	must(t, err, "GetIdentityProviderAttribute after update")
	checkRecord(t, "updated mapping", got, &upd)
	moved := upd
	moved.IdentityProviderID = q.ID
	wantErr(t, s.UpdateIdentityProviderAttribute(ctx, &moved), store.ErrNotFound, "UpdateIdentityProviderAttribute under another provider")

	must(t, s.DeleteIdentityProviderAttribute(ctx, e.ID, p.ID, email.ID), "DeleteIdentityProviderAttribute")
	_, err = s.GetIdentityProviderAttribute(ctx, e.ID, p.ID, email.ID)
	wantErr(t, err, store.ErrNotFound, "GetIdentityProviderAttribute after delete")
	wantErr(t, s.DeleteIdentityProviderAttribute(ctx, e.ID, p.ID, email.ID), store.ErrNotFound, "DeleteIdentityProviderAttribute twice")
	list, err = s.ListIdentityProviderAttributes(ctx, e.ID, p.ID)
	must(t, err, "ListIdentityProviderAttributes after delete")
	checkList(t, "mappings after delete", list, upd, *core)
	list, err = s.ListIdentityProviderAttributes(ctx, e.ID, q.ID)
	must(t, err, "ListIdentityProviderAttributes of the second provider")
	checkList(t, "the second provider's mappings", list, *other)

	// A mapping needs its provider.
	err = s.CreateIdentityProviderAttribute(ctx, mkIDPAttr(e.ID, newID(), "email", "email"))
	wantErr(t, err, store.ErrReferenced, "CreateIdentityProviderAttribute of an unknown provider")
}

// ---- linked accounts

func testLinkedAccounts(t *testing.T, s store.Store) {
	ctx := t.Context()
	e, pop := envWithPop(t, s)
	other, otherPop := envWithPop(t, s)
	p, q := newIDP(t, s, e.ID, "Upstream"), newIDP(t, s, e.ID, "Partner")
	alice, bob := newUser(t, s, e.ID, pop.ID, "alice"), newUser(t, s, e.ID, pop.ID, "bob")

	l1 := newLink(t, s, e.ID, alice.ID, p.ID, "sub-A")
	l2 := newLink(t, s, e.ID, alice.ID, q.ID, "sub-A") // the same subject at another provider
	got, err := s.GetLinkedAccount(ctx, e.ID, alice.ID, l1.ID)
	must(t, err, "GetLinkedAccount")
	checkRecord(t, "linked account", got, l1)
	_, err = s.GetLinkedAccount(ctx, e.ID, bob.ID, l1.ID)
	wantErr(t, err, store.ErrNotFound, "GetLinkedAccount under another user")

	list, err := s.ListLinkedAccounts(ctx, e.ID, alice.ID)
	must(t, err, "ListLinkedAccounts")
	want := []store.LinkedAccount{*l1, *l2}
	if l2.ID < l1.ID {
		want = []store.LinkedAccount{*l2, *l1}
	}
	checkList(t, "links by id", list, want...)
	list, err = s.ListLinkedAccounts(ctx, e.ID, bob.ID)
	must(t, err, "ListLinkedAccounts of a user without links")
	checkList(t, "links of a user without links", list)

	// FindLinkedAccount finds a provider's subject, exactly.
	found, err := s.FindLinkedAccount(ctx, e.ID, q.ID, "sub-A")
	must(t, err, "FindLinkedAccount")
	checkRecord(t, "found link", found, l2)
	for _, c := range []struct{ idp, sub string }{{p.ID, "sub-a"}, {p.ID, "sub-B"}, {newID(), "sub-A"}} {
		_, err = s.FindLinkedAccount(ctx, e.ID, c.idp, c.sub)
		wantErr(t, err, store.ErrNotFound, "FindLinkedAccount "+c.sub)
	}

	// A provider's subject links one user of the environment; its case
	// matters (providers' subjects are case-sensitive).
	wantUnique(t, s.CreateLinkedAccount(ctx, mkLink(e.ID, bob.ID, p.ID, "sub-A")), "linked account", "externalId", "the same subject for another user")
	wantUnique(t, s.CreateLinkedAccount(ctx, mkLink(e.ID, alice.ID, p.ID, "sub-A")), "linked account", "externalId", "the same link twice")
	newLink(t, s, e.ID, bob.ID, p.ID, "SUB-A")
	// Another environment's provider of the same subject is another identity.
	op := newIDP(t, s, other.ID, "Upstream")
	carol := newUser(t, s, other.ID, otherPop.ID, "carol")
	newLink(t, s, other.ID, carol.ID, op.ID, "sub-A")

	// A link needs its user and its provider.
	wantErr(t, s.CreateLinkedAccount(ctx, mkLink(e.ID, newID(), p.ID, "sub-X")), store.ErrReferenced, "a link of an unknown user")
	wantErr(t, s.CreateLinkedAccount(ctx, mkLink(e.ID, alice.ID, newID(), "sub-X")), store.ErrReferenced, "a link to an unknown provider")

	must(t, s.DeleteLinkedAccount(ctx, e.ID, alice.ID, l1.ID), "DeleteLinkedAccount")
	_, err = s.GetLinkedAccount(ctx, e.ID, alice.ID, l1.ID)
	wantErr(t, err, store.ErrNotFound, "GetLinkedAccount after delete")
	wantErr(t, s.DeleteLinkedAccount(ctx, e.ID, alice.ID, l1.ID), store.ErrNotFound, "DeleteLinkedAccount twice")
	wantErr(t, s.DeleteLinkedAccount(ctx, e.ID, bob.ID, l2.ID), store.ErrNotFound, "DeleteLinkedAccount under another user")
	// The subject is free again.
	newLink(t, s, e.ID, bob.ID, p.ID, "sub-A")
}

// ---- cascades

func testFederationCascades(t *testing.T, s store.Store) {
	ctx := t.Context()
	e, pop := envWithPop(t, s)
	p, q := newIDP(t, s, e.ID, "Doomed"), newIDP(t, s, e.ID, "Kept")
	alice, bob := newUser(t, s, e.ID, pop.ID, "alice"), newUser(t, s, e.ID, pop.ID, "bob")
	pAttr := newIDPAttr(t, s, e.ID, p.ID, "email", "email")
	qAttr := newIDPAttr(t, s, e.ID, q.ID, "email", "email")
	pLink := newLink(t, s, e.ID, alice.ID, p.ID, "a@p")
	qLink := newLink(t, s, e.ID, alice.ID, q.ID, "a@q")
	bobLink := newLink(t, s, e.ID, bob.ID, q.ID, "b@q")

	// A provider takes its mappings and links with it.
	must(t, s.DeleteIdentityProvider(ctx, e.ID, p.ID), "DeleteIdentityProvider")
	_, err := s.GetIdentityProviderAttribute(ctx, e.ID, p.ID, pAttr.ID)
	wantErr(t, err, store.ErrNotFound, "the deleted provider's mapping")
	_, err = s.GetLinkedAccount(ctx, e.ID, alice.ID, pLink.ID)
	wantErr(t, err, store.ErrNotFound, "the deleted provider's link")
	_, err = s.FindLinkedAccount(ctx, e.ID, p.ID, "a@p")
	wantErr(t, err, store.ErrNotFound, "FindLinkedAccount of the deleted provider")
	list, err := s.ListLinkedAccounts(ctx, e.ID, alice.ID)
	must(t, err, "ListLinkedAccounts after the provider's delete")
	checkList(t, "links after the provider's delete", list, *qLink)
	attrs, err := s.ListIdentityProviderAttributes(ctx, e.ID, q.ID)
	must(t, err, "the other provider's mappings")
	checkList(t, "the other provider's mappings", attrs, *qAttr)

	// A user takes its links with it.
	must(t, s.DeleteUser(ctx, e.ID, alice.ID), "DeleteUser")
	_, err = s.FindLinkedAccount(ctx, e.ID, q.ID, "a@q")
	wantErr(t, err, store.ErrNotFound, "the deleted user's link")
	found, err := s.FindLinkedAccount(ctx, e.ID, q.ID, "b@q")
	must(t, err, "another user's link after a user's delete")
	checkRecord(t, "another user's link", found, bobLink)

	// An environment takes everything.
	keep, keepPop := envWithPop(t, s)
	kp := newIDP(t, s, keep.ID, "Survivor")
	ku := newUser(t, s, keep.ID, keepPop.ID, "survivor")
	kl := newLink(t, s, keep.ID, ku.ID, kp.ID, "s@k")
	ka := newIDPAttr(t, s, keep.ID, kp.ID, "email", "email")
	must(t, s.DeleteEnvironment(ctx, e.ID), "DeleteEnvironment")
	_, err = s.GetIdentityProvider(ctx, e.ID, q.ID)
	wantErr(t, err, store.ErrNotFound, "a provider of the deleted environment")
	_, err = s.GetIdentityProviderAttribute(ctx, e.ID, q.ID, qAttr.ID)
	wantErr(t, err, store.ErrNotFound, "a mapping of the deleted environment")
	_, err = s.FindLinkedAccount(ctx, e.ID, q.ID, "b@q")
	wantErr(t, err, store.ErrNotFound, "a link of the deleted environment")
	got, err := s.FindLinkedAccount(ctx, keep.ID, kp.ID, "s@k")
	must(t, err, "the other environment's link")
	checkRecord(t, "the other environment's link", got, kl)
	gotAttr, err := s.GetIdentityProviderAttribute(ctx, keep.ID, kp.ID, ka.ID)
	must(t, err, "the other environment's mapping")
	checkRecord(t, "the other environment's mapping", gotAttr, ka)
}

// testIdentityProviderLock: a provider read inside a transaction is held
// until it ends, so a delete that reads it first waits for a writer that
// names it (and sees what that writer committed).
func testIdentityProviderLock(t *testing.T, s store.Store) {
	ctx := t.Context()
	e, pop := envWithPop(t, s)
	p := newIDP(t, s, e.ID, "Locked")
	u := newUser(t, s, e.ID, pop.ID, "linker")
	var wg sync.WaitGroup
	errs := make([]error, 2)
	linked := make(chan struct{})
	wg.Add(2)
	go func() {
		defer wg.Done()
		errs[0] = s.Tx(ctx, func(tx store.Store) error {
			if _, err := tx.GetIdentityProvider(ctx, e.ID, p.ID); err != nil {
				return err
			}
			close(linked)
			return tx.CreateLinkedAccount(ctx, mkLink(e.ID, u.ID, p.ID, "held"))
		})
	}()
	go func() {
		defer wg.Done()
		<-linked
		errs[1] = s.Tx(ctx, func(tx store.Store) error {
			if _, err := tx.GetIdentityProvider(ctx, e.ID, p.ID); err != nil {
				return err
			}
			return tx.DeleteIdentityProvider(ctx, e.ID, p.ID)
		})
	}()
	wg.Wait()
	must(t, errs[0], "the linking transaction")
	must(t, errs[1], "the deleting transaction")
	// Whatever the order, the delete took the link with it.
	_, err := s.FindLinkedAccount(ctx, e.ID, p.ID, "held")
	wantErr(t, err, store.ErrNotFound, "the link after its provider's delete")
}
