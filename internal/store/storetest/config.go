package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func testResources(t *testing.T, s store.Store) {
	ctx := t.Context()
	envA, envB := newEnv(t, s), newEnv(t, s)
	r1 := newResource(t, s, envA.ID, "Orders API")
	r2 := mkResource(envA.ID, "openid")
	r2.Type, r2.Audience, r2.Description, r2.AccessTokenValiditySeconds, r2.Data = "OPENID_CONNECT", "", "", 0, nil
	must(t, s.CreateResource(ctx, r2), "CreateResource minimal")
	rB := newResource(t, s, envB.ID, "orders api") // another environment may use the name

	for _, want := range []*store.Resource{r1, r2, rB} {
		got, err := s.GetResource(ctx, want.EnvironmentID, want.ID)
		must(t, err, "GetResource")
		checkRecord(t, "GetResource", got, want)
	}
	list, err := s.ListResources(ctx, envA.ID)
	must(t, err, "ListResources")
	checkSet(t, "ListResources(A)", list, *r1, *r2)

	wantUnique(t, s.CreateResource(ctx, mkResource(envA.ID, "ORDERS api")), "resource", "name", "CreateResource with a taken name")

	upd := *r1
	upd.Name, upd.Type, upd.Audience, upd.Description = "Orders API v2", "CUSTOM", "https://orders.example.com", "v2"
	upd.AccessTokenValiditySeconds = 600
	upd.Data = json.RawMessage(`{"introspectEndpointAuthMethod":"NONE"}`)
	upd.UpdatedAt = now().Add(time.Minute)
	must(t, s.UpdateResource(ctx, &upd), "UpdateResource")
	got, err := s.GetResource(ctx, envA.ID, r1.ID)
	must(t, err, "GetResource after update")
	checkRecord(t, "GetResource after update", got, upd)
	taken := *r2
	taken.Name = "orders API V2"
	wantUnique(t, s.UpdateResource(ctx, &taken), "resource", "name", "UpdateResource to a taken name")

	// Isolation.
	_, err = s.GetResource(ctx, envB.ID, r1.ID)
	wantErr(t, err, store.ErrNotFound, "GetResource(envB, id of envA)")
	hijack := upd
	hijack.EnvironmentID, hijack.Name = envB.ID, "Hijacked"
	wantErr(t, s.UpdateResource(ctx, &hijack), store.ErrNotFound, "UpdateResource(envB, id of envA)")
	wantErr(t, s.DeleteResource(ctx, envB.ID, r1.ID), store.ErrNotFound, "DeleteResource(envB, id of envA)")
	got, err = s.GetResource(ctx, envA.ID, r1.ID)
	must(t, err, "GetResource after foreign writes")
	checkRecord(t, "resource after foreign writes", got, upd)

	_, err = s.GetResource(ctx, envA.ID, newID())
	wantErr(t, err, store.ErrNotFound, "GetResource(unknown)")
	wantErr(t, s.UpdateResource(ctx, mkResource(envA.ID, "ghost")), store.ErrNotFound, "UpdateResource(unknown)")
	wantErr(t, s.DeleteResource(ctx, envA.ID, newID()), store.ErrNotFound, "DeleteResource(unknown)")

	// Deleting a resource deletes its scopes.
	sc := newScope(t, s, envA.ID, r1.ID, "read")
	must(t, s.DeleteResource(ctx, envA.ID, r1.ID), "DeleteResource")
	_, err = s.GetResource(ctx, envA.ID, r1.ID)
	wantErr(t, err, store.ErrNotFound, "GetResource after delete")
	_, err = s.GetScope(ctx, envA.ID, r1.ID, sc.ID)
	wantErr(t, err, store.ErrNotFound, "GetScope after its resource was deleted")
	wantErr(t, s.DeleteResource(ctx, envA.ID, r1.ID), store.ErrNotFound, "DeleteResource twice")
	list, err = s.ListResources(ctx, envA.ID)
	must(t, err, "ListResources after delete")
	checkSet(t, "ListResources after delete", list, *r2)
}

func testScopes(t *testing.T, s store.Store) {
	ctx := t.Context()
	envA, envB := newEnv(t, s), newEnv(t, s)
	r1 := newResource(t, s, envA.ID, "orders")
	r2 := newResource(t, s, envA.ID, "billing")
	rB := newResource(t, s, envB.ID, "orders")

	read := newScope(t, s, envA.ID, r1.ID, "read")
	write := mkScope(envA.ID, r1.ID, "write")
	write.Description, write.Data = "", nil
	must(t, s.CreateScope(ctx, write), "CreateScope minimal")
	read2 := newScope(t, s, envA.ID, r2.ID, "READ") // the same name on another resource
	newScope(t, s, envB.ID, rB.ID, "read")

	wantUnique(t, s.CreateScope(ctx, mkScope(envA.ID, r1.ID, "Read")), "scope", "name", "CreateScope with a taken name")

	for _, want := range []*store.Scope{read, write, read2} {
		got, err := s.GetScope(ctx, want.EnvironmentID, want.ResourceID, want.ID)
		must(t, err, "GetScope")
		checkRecord(t, "GetScope", got, want)
	}
	list, err := s.ListScopes(ctx, envA.ID, r1.ID)
	must(t, err, "ListScopes(r1)")
	checkSet(t, "ListScopes(r1)", list, *read, *write)
	list, err = s.ListScopes(ctx, envA.ID, r2.ID)
	must(t, err, "ListScopes(r2)")
	checkSet(t, "ListScopes(r2)", list, *read2)
	list, err = s.ListScopes(ctx, envB.ID, r1.ID)
	must(t, err, "ListScopes(envB, resource of envA)")
	checkSet(t, "ListScopes(envB, resource of envA)", list)

	upd := *read
	upd.Name, upd.Description, upd.UpdatedAt = "read:all", "read everything", now().Add(time.Minute)
	upd.Data = json.RawMessage(`{"schemaAttributes":["email"]}`)
	must(t, s.UpdateScope(ctx, &upd), "UpdateScope")
	got, err := s.GetScope(ctx, envA.ID, r1.ID, read.ID)
	must(t, err, "GetScope after update")
	checkRecord(t, "GetScope after update", got, upd)
	taken := *write
	taken.Name = "READ:ALL"
	wantUnique(t, s.UpdateScope(ctx, &taken), "scope", "name", "UpdateScope to a taken name")

	// Wrong resource or environment.
	_, err = s.GetScope(ctx, envA.ID, r2.ID, read.ID)
	wantErr(t, err, store.ErrNotFound, "GetScope with another resource")
	_, err = s.GetScope(ctx, envB.ID, r1.ID, read.ID)
	wantErr(t, err, store.ErrNotFound, "GetScope(envB, scope of envA)")
	hijack := upd
	hijack.EnvironmentID, hijack.Name = envB.ID, "hijacked"
	wantErr(t, s.UpdateScope(ctx, &hijack), store.ErrNotFound, "UpdateScope(envB, scope of envA)")
	moved := upd
	moved.ResourceID, moved.Name = r2.ID, "moved"
	wantErr(t, s.UpdateScope(ctx, &moved), store.ErrNotFound, "UpdateScope with another resource")
	wantErr(t, s.DeleteScope(ctx, envB.ID, r1.ID, read.ID), store.ErrNotFound, "DeleteScope(envB, scope of envA)")
	wantErr(t, s.DeleteScope(ctx, envA.ID, r2.ID, read.ID), store.ErrNotFound, "DeleteScope with another resource")
	got, err = s.GetScope(ctx, envA.ID, r1.ID, read.ID)
	must(t, err, "GetScope after foreign writes")
	checkRecord(t, "scope after foreign writes", got, upd)

	wantErr(t, s.UpdateScope(ctx, mkScope(envA.ID, r1.ID, "ghost")), store.ErrNotFound, "UpdateScope(unknown)")
	wantErr(t, s.DeleteScope(ctx, envA.ID, r1.ID, newID()), store.ErrNotFound, "DeleteScope(unknown)")
	wantErr(t, s.CreateScope(ctx, mkScope(envA.ID, newID(), "orphan")), store.ErrReferenced, "CreateScope on an unknown resource")

	must(t, s.DeleteScope(ctx, envA.ID, r1.ID, read.ID), "DeleteScope")
	_, err = s.GetScope(ctx, envA.ID, r1.ID, read.ID)
	wantErr(t, err, store.ErrNotFound, "GetScope after delete")
	wantErr(t, s.DeleteScope(ctx, envA.ID, r1.ID, read.ID), store.ErrNotFound, "DeleteScope twice")
	list, err = s.ListScopes(ctx, envA.ID, r1.ID)
	must(t, err, "ListScopes after delete")
	checkSet(t, "ListScopes after delete", list, *write)
}

func testPasswordPolicies(t *testing.T, s store.Store) {
	ctx := t.Context()
	envA, envB := newEnv(t, s), newEnv(t, s)
	std := mkPasswordPolicy(envA.ID, "Standard")
	std.Default = true
	must(t, s.CreatePasswordPolicy(ctx, std), "CreatePasswordPolicy default")
	basic := mkPasswordPolicy(envA.ID, "Basic")
	basic.Data = nil
	must(t, s.CreatePasswordPolicy(ctx, basic), "CreatePasswordPolicy without data")
	bDefault := mkPasswordPolicy(envB.ID, "standard")
	bDefault.Default = true
	must(t, s.CreatePasswordPolicy(ctx, bDefault), "CreatePasswordPolicy default in another environment")

	for _, want := range []*store.PasswordPolicy{std, basic, bDefault} {
		got, err := s.GetPasswordPolicy(ctx, want.EnvironmentID, want.ID)
		must(t, err, "GetPasswordPolicy")
		checkRecord(t, "GetPasswordPolicy", got, want)
	}
	list, err := s.ListPasswordPolicies(ctx, envA.ID)
	must(t, err, "ListPasswordPolicies")
	checkSet(t, "ListPasswordPolicies(A)", list, *std, *basic)

	wantUnique(t, s.CreatePasswordPolicy(ctx, mkPasswordPolicy(envA.ID, "STANDARD")), "passwordPolicy", "name", "CreatePasswordPolicy with a taken name")

	// One default per environment.
	second := mkPasswordPolicy(envA.ID, "Strict")
	second.Default = true
	wantErr(t, s.CreatePasswordPolicy(ctx, second), store.ErrConflict, "CreatePasswordPolicy of a second default")
	promote := *basic
	promote.Default, promote.UpdatedAt = true, now().Add(time.Minute)
	wantErr(t, s.UpdatePasswordPolicy(ctx, &promote), store.ErrConflict, "UpdatePasswordPolicy to a second default")
	demote := *std
	demote.Default, demote.UpdatedAt = false, now().Add(time.Minute)
	must(t, s.UpdatePasswordPolicy(ctx, &demote), "UpdatePasswordPolicy clearing the default")
	promote.Name = "Basic+"
	promote.Data = json.RawMessage(`{"length":{"min":12}}`)
	must(t, s.UpdatePasswordPolicy(ctx, &promote), "UpdatePasswordPolicy to the default")
	got, err := s.GetPasswordPolicy(ctx, envA.ID, basic.ID)
	must(t, err, "GetPasswordPolicy after update")
	checkRecord(t, "GetPasswordPolicy after update", got, promote)
	got, err = s.GetPasswordPolicy(ctx, envA.ID, std.ID)
	must(t, err, "GetPasswordPolicy after demotion")
	checkRecord(t, "GetPasswordPolicy after demotion", got, demote)
	taken := promote
	taken.Name = "standard"
	wantUnique(t, s.UpdatePasswordPolicy(ctx, &taken), "passwordPolicy", "name", "UpdatePasswordPolicy to a taken name")

	// Isolation.
	_, err = s.GetPasswordPolicy(ctx, envB.ID, std.ID)
	wantErr(t, err, store.ErrNotFound, "GetPasswordPolicy(envB, id of envA)")
	hijack := demote
	hijack.EnvironmentID, hijack.Name = envB.ID, "Hijacked"
	wantErr(t, s.UpdatePasswordPolicy(ctx, &hijack), store.ErrNotFound, "UpdatePasswordPolicy(envB, id of envA)")
	wantErr(t, s.DeletePasswordPolicy(ctx, envB.ID, std.ID), store.ErrNotFound, "DeletePasswordPolicy(envB, id of envA)")
	got, err = s.GetPasswordPolicy(ctx, envA.ID, std.ID)
	must(t, err, "GetPasswordPolicy after foreign writes")
	checkRecord(t, "password policy after foreign writes", got, demote)

	_, err = s.GetPasswordPolicy(ctx, envA.ID, newID())
	wantErr(t, err, store.ErrNotFound, "GetPasswordPolicy(unknown)")
	wantErr(t, s.UpdatePasswordPolicy(ctx, mkPasswordPolicy(envA.ID, "ghost")), store.ErrNotFound, "UpdatePasswordPolicy(unknown)")
	wantErr(t, s.DeletePasswordPolicy(ctx, envA.ID, newID()), store.ErrNotFound, "DeletePasswordPolicy(unknown)")

	must(t, s.DeletePasswordPolicy(ctx, envA.ID, std.ID), "DeletePasswordPolicy")
	_, err = s.GetPasswordPolicy(ctx, envA.ID, std.ID)
	wantErr(t, err, store.ErrNotFound, "GetPasswordPolicy after delete")
	wantErr(t, s.DeletePasswordPolicy(ctx, envA.ID, std.ID), store.ErrNotFound, "DeletePasswordPolicy twice")
	list, err = s.ListPasswordPolicies(ctx, envA.ID)
	must(t, err, "ListPasswordPolicies after delete")
	checkSet(t, "ListPasswordPolicies after delete", list, promote)
}

func testSignOnPolicies(t *testing.T, s store.Store) {
	ctx := t.Context()
	envA, envB := newEnv(t, s), newEnv(t, s)
	single := mkSignOnPolicy(envA.ID, "Single_Factor")
	single.Default = true
	must(t, s.CreateSignOnPolicy(ctx, single), "CreateSignOnPolicy default")
	mfa := mkSignOnPolicy(envA.ID, "Multi_Factor")
	mfa.Description = ""
	must(t, s.CreateSignOnPolicy(ctx, mfa), "CreateSignOnPolicy")
	bDefault := mkSignOnPolicy(envB.ID, "single_factor")
	bDefault.Default = true
	must(t, s.CreateSignOnPolicy(ctx, bDefault), "CreateSignOnPolicy default in another environment")

	for _, want := range []*store.SignOnPolicy{single, mfa, bDefault} {
		got, err := s.GetSignOnPolicy(ctx, want.EnvironmentID, want.ID)
		must(t, err, "GetSignOnPolicy")
		checkRecord(t, "GetSignOnPolicy", got, want)
	}
	list, err := s.ListSignOnPolicies(ctx, envA.ID)
	must(t, err, "ListSignOnPolicies")
	checkSet(t, "ListSignOnPolicies(A)", list, *single, *mfa)

	wantUnique(t, s.CreateSignOnPolicy(ctx, mkSignOnPolicy(envA.ID, "SINGLE_FACTOR")), "signOnPolicy", "name", "CreateSignOnPolicy with a taken name")
	second := mkSignOnPolicy(envA.ID, "Passwordless")
	second.Default = true
	wantErr(t, s.CreateSignOnPolicy(ctx, second), store.ErrConflict, "CreateSignOnPolicy of a second default")

	upd := *mfa
	upd.Name, upd.Description, upd.UpdatedAt = "MFA", "two factors", now().Add(time.Minute)
	must(t, s.UpdateSignOnPolicy(ctx, &upd), "UpdateSignOnPolicy")
	got, err := s.GetSignOnPolicy(ctx, envA.ID, mfa.ID)
	must(t, err, "GetSignOnPolicy after update")
	checkRecord(t, "GetSignOnPolicy after update", got, upd)
	taken := upd
	taken.Name = "single_FACTOR"
	wantUnique(t, s.UpdateSignOnPolicy(ctx, &taken), "signOnPolicy", "name", "UpdateSignOnPolicy to a taken name")

	// Isolation.
	_, err = s.GetSignOnPolicy(ctx, envB.ID, mfa.ID)
	wantErr(t, err, store.ErrNotFound, "GetSignOnPolicy(envB, id of envA)")
	hijack := upd
	hijack.EnvironmentID, hijack.Name = envB.ID, "Hijacked"
	wantErr(t, s.UpdateSignOnPolicy(ctx, &hijack), store.ErrNotFound, "UpdateSignOnPolicy(envB, id of envA)")
	wantErr(t, s.DeleteSignOnPolicy(ctx, envB.ID, mfa.ID), store.ErrNotFound, "DeleteSignOnPolicy(envB, id of envA)")
	got, err = s.GetSignOnPolicy(ctx, envA.ID, mfa.ID)
	must(t, err, "GetSignOnPolicy after foreign writes")
	checkRecord(t, "sign-on policy after foreign writes", got, upd)

	_, err = s.GetSignOnPolicy(ctx, envA.ID, newID())
	wantErr(t, err, store.ErrNotFound, "GetSignOnPolicy(unknown)")
	wantErr(t, s.UpdateSignOnPolicy(ctx, mkSignOnPolicy(envA.ID, "ghost")), store.ErrNotFound, "UpdateSignOnPolicy(unknown)")
	wantErr(t, s.DeleteSignOnPolicy(ctx, envA.ID, newID()), store.ErrNotFound, "DeleteSignOnPolicy(unknown)")

	must(t, s.DeleteSignOnPolicy(ctx, envA.ID, mfa.ID), "DeleteSignOnPolicy")
	_, err = s.GetSignOnPolicy(ctx, envA.ID, mfa.ID)
	wantErr(t, err, store.ErrNotFound, "GetSignOnPolicy after delete")
	wantErr(t, s.DeleteSignOnPolicy(ctx, envA.ID, mfa.ID), store.ErrNotFound, "DeleteSignOnPolicy twice")
	list, err = s.ListSignOnPolicies(ctx, envA.ID)
	must(t, err, "ListSignOnPolicies after delete")
	checkSet(t, "ListSignOnPolicies after delete", list, *single)
}

func testSignOnPolicyActions(t *testing.T, s store.Store) {
	ctx := t.Context()
	envA, envB := newEnv(t, s), newEnv(t, s)
	pol := newSignOnPolicy(t, s, envA.ID, "Multi_Factor")
	otherPol := newSignOnPolicy(t, s, envA.ID, "Single_Factor")

	// Inserted out of order; listed by ascending priority.
	third := newAction(t, s, envA.ID, pol.ID, "MFA", 3)
	first := newAction(t, s, envA.ID, pol.ID, "LOGIN", 1)
	second := mkAction(envA.ID, pol.ID, "IDENTIFIER_FIRST", 2)
	second.Data = nil
	must(t, s.CreateSignOnPolicyAction(ctx, second), "CreateSignOnPolicyAction without data")
	elsewhere := newAction(t, s, envA.ID, otherPol.ID, "LOGIN", 1)

	for _, want := range []*store.SignOnPolicyAction{first, second, third, elsewhere} {
		got, err := s.GetSignOnPolicyAction(ctx, want.EnvironmentID, want.SignOnPolicyID, want.ID)
		must(t, err, "GetSignOnPolicyAction")
		checkRecord(t, "GetSignOnPolicyAction", got, want)
	}
	list, err := s.ListSignOnPolicyActions(ctx, envA.ID, pol.ID)
	must(t, err, "ListSignOnPolicyActions")
	checkList(t, "ListSignOnPolicyActions by priority", list, *first, *second, *third)
	list, err = s.ListSignOnPolicyActions(ctx, envA.ID, otherPol.ID)
	must(t, err, "ListSignOnPolicyActions(other policy)")
	checkList(t, "ListSignOnPolicyActions(other policy)", list, *elsewhere)

	// Moving the last action to the front reorders the list.
	upd := *third
	upd.Type, upd.Priority, upd.UpdatedAt = "AGREEMENT", 0, now().Add(time.Minute)
	upd.Data = json.RawMessage(`{"agreement":{"id":"a-1"}}`)
	must(t, s.UpdateSignOnPolicyAction(ctx, &upd), "UpdateSignOnPolicyAction")
	got, err := s.GetSignOnPolicyAction(ctx, envA.ID, pol.ID, third.ID)
	must(t, err, "GetSignOnPolicyAction after update")
	checkRecord(t, "GetSignOnPolicyAction after update", got, upd)
	list, err = s.ListSignOnPolicyActions(ctx, envA.ID, pol.ID)
	must(t, err, "ListSignOnPolicyActions after update")
	checkList(t, "ListSignOnPolicyActions after reprioritising", list, upd, *first, *second)

	// Wrong policy or environment.
	_, err = s.GetSignOnPolicyAction(ctx, envA.ID, otherPol.ID, first.ID)
	wantErr(t, err, store.ErrNotFound, "GetSignOnPolicyAction with another policy")
	_, err = s.GetSignOnPolicyAction(ctx, envB.ID, pol.ID, first.ID)
	wantErr(t, err, store.ErrNotFound, "GetSignOnPolicyAction(envB, action of envA)")
	hijack := *first
	hijack.EnvironmentID, hijack.Priority = envB.ID, 99
	wantErr(t, s.UpdateSignOnPolicyAction(ctx, &hijack), store.ErrNotFound, "UpdateSignOnPolicyAction(envB, action of envA)")
	moved := *first
	moved.SignOnPolicyID, moved.Priority = otherPol.ID, 99
	wantErr(t, s.UpdateSignOnPolicyAction(ctx, &moved), store.ErrNotFound, "UpdateSignOnPolicyAction with another policy")
	wantErr(t, s.DeleteSignOnPolicyAction(ctx, envB.ID, pol.ID, first.ID), store.ErrNotFound, "DeleteSignOnPolicyAction(envB, action of envA)")
	wantErr(t, s.DeleteSignOnPolicyAction(ctx, envA.ID, otherPol.ID, first.ID), store.ErrNotFound, "DeleteSignOnPolicyAction with another policy")
	got, err = s.GetSignOnPolicyAction(ctx, envA.ID, pol.ID, first.ID)
	must(t, err, "GetSignOnPolicyAction after foreign writes")
	checkRecord(t, "action after foreign writes", got, first)
	list, err = s.ListSignOnPolicyActions(ctx, envB.ID, pol.ID)
	must(t, err, "ListSignOnPolicyActions(envB, policy of envA)")
	checkList(t, "ListSignOnPolicyActions(envB, policy of envA)", list)

	wantErr(t, s.UpdateSignOnPolicyAction(ctx, mkAction(envA.ID, pol.ID, "LOGIN", 5)), store.ErrNotFound, "UpdateSignOnPolicyAction(unknown)")
	wantErr(t, s.DeleteSignOnPolicyAction(ctx, envA.ID, pol.ID, newID()), store.ErrNotFound, "DeleteSignOnPolicyAction(unknown)")
	wantErr(t, s.CreateSignOnPolicyAction(ctx, mkAction(envA.ID, newID(), "LOGIN", 1)), store.ErrReferenced, "CreateSignOnPolicyAction on an unknown policy")

	must(t, s.DeleteSignOnPolicyAction(ctx, envA.ID, pol.ID, first.ID), "DeleteSignOnPolicyAction")
	_, err = s.GetSignOnPolicyAction(ctx, envA.ID, pol.ID, first.ID)
	wantErr(t, err, store.ErrNotFound, "GetSignOnPolicyAction after delete")
	wantErr(t, s.DeleteSignOnPolicyAction(ctx, envA.ID, pol.ID, first.ID), store.ErrNotFound, "DeleteSignOnPolicyAction twice")
	list, err = s.ListSignOnPolicyActions(ctx, envA.ID, pol.ID)
	must(t, err, "ListSignOnPolicyActions after delete")
	checkList(t, "ListSignOnPolicyActions after delete", list, upd, *second)

	// Deleting the policy deletes its actions.
	must(t, s.DeleteSignOnPolicy(ctx, envA.ID, pol.ID), "DeleteSignOnPolicy")
	_, err = s.GetSignOnPolicyAction(ctx, envA.ID, pol.ID, second.ID)
	wantErr(t, err, store.ErrNotFound, "GetSignOnPolicyAction after its policy was deleted")
	list, err = s.ListSignOnPolicyActions(ctx, envA.ID, otherPol.ID)
	must(t, err, "ListSignOnPolicyActions(other policy) after delete")
	checkList(t, "ListSignOnPolicyActions of the other policy after delete", list, *elsewhere)
}

func testKeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	envA, envB := newEnv(t, s), newEnv(t, s)
	base := now()
	k1 := mkKey(envA.ID, "signing-1", "SIGNING")
	k1.Default = true
	k1.StartsAt = time.Date(2024, 1, 1, 0, 0, 0, 1_000_000, time.UTC)
	k1.ExpiresAt = time.Date(2034, 12, 31, 23, 59, 59, 999_000_000, time.UTC)
	k1.CreatedAt, k1.UpdatedAt = base, base
	must(t, s.CreateKey(ctx, k1), "CreateKey default")
	k2 := mkKey(envA.ID, "signing-2", "SIGNING")
	k2.Algorithm, k2.KeyLength, k2.SignatureAlgorithm, k2.SerialNumber = "EC", 256, "SHA256withECDSA", "1"
	k2.CreatedAt, k2.UpdatedAt = base.Add(time.Millisecond), base.Add(time.Millisecond)
	must(t, s.CreateKey(ctx, k2), "CreateKey")
	// Another usage type has its own default.
	k3 := mkKey(envA.ID, "encryption", "ENCRYPTION")
	k3.Default = true
	k3.CreatedAt, k3.UpdatedAt = base.Add(2*time.Millisecond), base.Add(2*time.Millisecond)
	must(t, s.CreateKey(ctx, k3), "CreateKey default of another usage type")
	kB := mkKey(envB.ID, "signing", "SIGNING")
	kB.Default = true
	must(t, s.CreateKey(ctx, kB), "CreateKey default in another environment")

	for _, want := range []*store.Key{k1, k2, k3, kB} {
		got, err := s.GetKey(ctx, want.EnvironmentID, want.ID)
		must(t, err, "GetKey")
		checkRecord(t, "GetKey", got, want)
	}
	list, err := s.ListKeys(ctx, envA.ID)
	must(t, err, "ListKeys")
	checkSet(t, "ListKeys(A)", list, *k1, *k2, *k3)

	second := mkKey(envA.ID, "signing-3", "SIGNING")
	second.Default = true
	wantErr(t, s.CreateKey(ctx, second), store.ErrConflict, "CreateKey of a second SIGNING default")
	promote := *k2
	promote.Default, promote.UpdatedAt = true, now().Add(time.Minute)
	wantErr(t, s.UpdateKey(ctx, &promote), store.ErrConflict, "UpdateKey to a second SIGNING default")

	// Rotate: clear the old default, then set the new one.
	demote := *k1
	demote.Name, demote.Default, demote.UpdatedAt = "signing-1 (retired)", false, now().Add(time.Minute)
	must(t, s.UpdateKey(ctx, &demote), "UpdateKey clearing the default")
	must(t, s.UpdateKey(ctx, &promote), "UpdateKey to the default")
	got, err := s.GetKey(ctx, envA.ID, k1.ID)
	must(t, err, "GetKey after demotion")
	checkRecord(t, "GetKey after demotion", got, demote)
	got, err = s.GetKey(ctx, envA.ID, k2.ID)
	must(t, err, "GetKey after promotion")
	checkRecord(t, "GetKey after promotion", got, promote)

	// Isolation.
	_, err = s.GetKey(ctx, envB.ID, k1.ID)
	wantErr(t, err, store.ErrNotFound, "GetKey(envB, id of envA)")
	hijack := demote
	hijack.EnvironmentID, hijack.Name = envB.ID, "hijacked"
	wantErr(t, s.UpdateKey(ctx, &hijack), store.ErrNotFound, "UpdateKey(envB, id of envA)")
	wantErr(t, s.DeleteKey(ctx, envB.ID, k1.ID), store.ErrNotFound, "DeleteKey(envB, id of envA)")
	got, err = s.GetKey(ctx, envA.ID, k1.ID)
	must(t, err, "GetKey after foreign writes")
	checkRecord(t, "key after foreign writes", got, demote)

	_, err = s.GetKey(ctx, envA.ID, newID())
	wantErr(t, err, store.ErrNotFound, "GetKey(unknown)")
	wantErr(t, s.UpdateKey(ctx, mkKey(envA.ID, "ghost", "SIGNING")), store.ErrNotFound, "UpdateKey(unknown)")
	wantErr(t, s.DeleteKey(ctx, envA.ID, newID()), store.ErrNotFound, "DeleteKey(unknown)")
	wantErr(t, s.CreateKey(ctx, mkKey(newID(), "orphan", "SIGNING")), store.ErrReferenced, "CreateKey in an unknown environment")

	must(t, s.DeleteKey(ctx, envA.ID, k1.ID), "DeleteKey")
	_, err = s.GetKey(ctx, envA.ID, k1.ID)
	wantErr(t, err, store.ErrNotFound, "GetKey after delete")
	wantErr(t, s.DeleteKey(ctx, envA.ID, k1.ID), store.ErrNotFound, "DeleteKey twice")
	list, err = s.ListKeys(ctx, envA.ID)
	must(t, err, "ListKeys after delete")
	checkSet(t, "ListKeys after delete", list, promote, *k3)
}

// testConfigExtras covers resource attribute mappings and the helpers the
// configuration endpoints rely on: moving default flags, counting a
// password policy's populations, locking a sign-on policy.
func testConfigExtras(t *testing.T, s store.Store) {
	t.Run("ResourceAttributes", func(t *testing.T) { testResourceAttributes(t, s) })
	t.Run("ApplicationAttributes", func(t *testing.T) { testApplicationAttributes(t, s) })
	t.Run("DefaultFlags", func(t *testing.T) { testDefaultFlags(t, s) })
	t.Run("PopulationsByPasswordPolicy", func(t *testing.T) { testPopulationsByPasswordPolicy(t, s) })
	t.Run("LockSignOnPolicy", func(t *testing.T) { testLockSignOnPolicy(t, s) })
}

func mkResourceAttribute(envID, resourceID, name, value string) *store.ResourceAttribute {
	ts := now()
	return &store.ResourceAttribute{ID: newID(), EnvironmentID: envID, ResourceID: resourceID, Name: name, Value: value,
		Type: "CUSTOM", IDToken: true, UserInfo: false, CreatedAt: ts, UpdatedAt: ts}
}

func testResourceAttributes(t *testing.T, s store.Store) {
	ctx := t.Context()
	envA, envB := newEnv(t, s), newEnv(t, s)
	r1 := newResource(t, s, envA.ID, "orders")
	r2 := newResource(t, s, envA.ID, "billing")
	rB := newResource(t, s, envB.ID, "orders")

	sub := mkResourceAttribute(envA.ID, r1.ID, "sub", "${user.id}")
	sub.Type = "CORE"
	must(t, s.CreateResourceAttribute(ctx, sub), "CreateResourceAttribute CORE")
	email := mkResourceAttribute(envA.ID, r1.ID, "Email", "${user.email}")
	must(t, s.CreateResourceAttribute(ctx, email), "CreateResourceAttribute")
	other := mkResourceAttribute(envA.ID, r2.ID, "email", "${user.email}") // the same name on another resource
	must(t, s.CreateResourceAttribute(ctx, other), "CreateResourceAttribute on another resource")
	inB := mkResourceAttribute(envB.ID, rB.ID, "email", "${user.email}")
	must(t, s.CreateResourceAttribute(ctx, inB), "CreateResourceAttribute in another environment")

	wantUnique(t, s.CreateResourceAttribute(ctx, mkResourceAttribute(envA.ID, r1.ID, "EMAIL", "x")), "resourceAttribute", "name",
		"CreateResourceAttribute with a taken name")
	wantErr(t, s.CreateResourceAttribute(ctx, mkResourceAttribute(envA.ID, newID(), "orphan", "x")), store.ErrReferenced,
		"CreateResourceAttribute on an unknown resource")

	for _, want := range []*store.ResourceAttribute{sub, email, other, inB} {
		got, err := s.GetResourceAttribute(ctx, want.EnvironmentID, want.ResourceID, want.ID)
		must(t, err, "GetResourceAttribute")
		checkRecord(t, "GetResourceAttribute", got, want)
	}
	list, err := s.ListResourceAttributes(ctx, envA.ID, r1.ID)
	must(t, err, "ListResourceAttributes")
	checkList(t, "ListResourceAttributes by name", list, *email, *sub)
	list, err = s.ListResourceAttributes(ctx, envB.ID, r1.ID)
	must(t, err, "ListResourceAttributes(envB, resource of envA)")
	checkList(t, "ListResourceAttributes(envB, resource of envA)", list)

	upd := *email
	upd.Name, upd.Value, upd.IDToken, upd.UserInfo, upd.UpdatedAt = "mail", "${user.email}!", false, true, now().Add(time.Minute)
	must(t, s.UpdateResourceAttribute(ctx, &upd), "UpdateResourceAttribute")
	got, err := s.GetResourceAttribute(ctx, envA.ID, r1.ID, email.ID)
	must(t, err, "GetResourceAttribute after update")
	checkRecord(t, "GetResourceAttribute after update", got, upd)
	taken := upd
	taken.Name = "SUB"
	wantUnique(t, s.UpdateResourceAttribute(ctx, &taken), "resourceAttribute", "name", "UpdateResourceAttribute to a taken name")

	// Wrong resource or environment.
	_, err = s.GetResourceAttribute(ctx, envA.ID, r2.ID, email.ID)
	wantErr(t, err, store.ErrNotFound, "GetResourceAttribute with another resource")
	_, err = s.GetResourceAttribute(ctx, envB.ID, r1.ID, email.ID)
	wantErr(t, err, store.ErrNotFound, "GetResourceAttribute(envB, attribute of envA)")
	hijack := upd
	hijack.EnvironmentID, hijack.Value = envB.ID, "hijacked"
	wantErr(t, s.UpdateResourceAttribute(ctx, &hijack), store.ErrNotFound, "UpdateResourceAttribute(envB, attribute of envA)")
	moved := upd
	moved.ResourceID, moved.Name = r2.ID, "moved"
	wantErr(t, s.UpdateResourceAttribute(ctx, &moved), store.ErrNotFound, "UpdateResourceAttribute with another resource")
	wantErr(t, s.DeleteResourceAttribute(ctx, envB.ID, r1.ID, email.ID), store.ErrNotFound, "DeleteResourceAttribute(envB, attribute of envA)")
	wantErr(t, s.DeleteResourceAttribute(ctx, envA.ID, r2.ID, email.ID), store.ErrNotFound, "DeleteResourceAttribute with another resource")
	got, err = s.GetResourceAttribute(ctx, envA.ID, r1.ID, email.ID)
	must(t, err, "GetResourceAttribute after foreign writes")
	checkRecord(t, "attribute after foreign writes", got, upd)

	must(t, s.DeleteResourceAttribute(ctx, envA.ID, r1.ID, email.ID), "DeleteResourceAttribute")
	_, err = s.GetResourceAttribute(ctx, envA.ID, r1.ID, email.ID)
	wantErr(t, err, store.ErrNotFound, "GetResourceAttribute after delete")
	wantErr(t, s.DeleteResourceAttribute(ctx, envA.ID, r1.ID, email.ID), store.ErrNotFound, "DeleteResourceAttribute twice")

	// Deleting the resource deletes its attributes.
	must(t, s.DeleteResource(ctx, envA.ID, r1.ID), "DeleteResource")
	_, err = s.GetResourceAttribute(ctx, envA.ID, r1.ID, sub.ID)
	wantErr(t, err, store.ErrNotFound, "GetResourceAttribute after its resource was deleted")
	list, err = s.ListResourceAttributes(ctx, envA.ID, r2.ID)
	must(t, err, "ListResourceAttributes(r2) after deleting r1")
	checkList(t, "attributes of the other resource", list, *other)
}

func testDefaultFlags(t *testing.T, s store.Store) {
	ctx := t.Context()
	envA, envB := newEnv(t, s), newEnv(t, s)

	// Password policies: one transaction clears the old default and sets
	// the new; the other environment's default stays.
	ppA1, ppA2 := mkPasswordPolicy(envA.ID, "Standard"), newPasswordPolicy(t, s, envA.ID, "Basic")
	ppA1.Default = true
	must(t, s.CreatePasswordPolicy(ctx, ppA1), "CreatePasswordPolicy default")
	ppB := mkPasswordPolicy(envB.ID, "Standard")
	ppB.Default = true
	must(t, s.CreatePasswordPolicy(ctx, ppB), "CreatePasswordPolicy default in B")
	must(t, s.Tx(ctx, func(tx store.Store) error {
		if err := tx.ClearDefaultPasswordPolicy(ctx, envA.ID, ppA2.ID); err != nil {
			return err
		}
		p := *ppA2
		p.Default = true
		return tx.UpdatePasswordPolicy(ctx, &p)
	}), "move the default password policy")
	for _, c := range []struct {
		env, id string
		want    bool
	}{{envA.ID, ppA1.ID, false}, {envA.ID, ppA2.ID, true}, {envB.ID, ppB.ID, true}} {
		p, err := s.GetPasswordPolicy(ctx, c.env, c.id)
		must(t, err, "GetPasswordPolicy")
		if p.Default != c.want {
			t.Errorf("password policy %s default = %v, want %v", p.Name, p.Default, c.want)
		}
	}
	must(t, s.ClearDefaultPasswordPolicy(ctx, envA.ID, ppA2.ID), "ClearDefaultPasswordPolicy keeping the default")
	if p, _ := s.GetPasswordPolicy(ctx, envA.ID, ppA2.ID); p == nil || !p.Default {
		t.Error("ClearDefaultPasswordPolicy cleared the kept policy")
	}

	// Sign-on policies.
	sopA1 := mkSignOnPolicy(envA.ID, "Single_Factor")
	sopA1.Default = true
	must(t, s.CreateSignOnPolicy(ctx, sopA1), "CreateSignOnPolicy default")
	sopA2 := newSignOnPolicy(t, s, envA.ID, "Multi_Factor")
	sopB := mkSignOnPolicy(envB.ID, "Single_Factor")
	sopB.Default = true
	must(t, s.CreateSignOnPolicy(ctx, sopB), "CreateSignOnPolicy default in B")
	must(t, s.ClearDefaultSignOnPolicy(ctx, envA.ID, sopA2.ID), "ClearDefaultSignOnPolicy")
	p2 := *sopA2
	p2.Default = true
	must(t, s.UpdateSignOnPolicy(ctx, &p2), "UpdateSignOnPolicy to the default")
	for _, c := range []struct {
		env, id string
		want    bool
	}{{envA.ID, sopA1.ID, false}, {envA.ID, sopA2.ID, true}, {envB.ID, sopB.ID, true}} {
		p, err := s.GetSignOnPolicy(ctx, c.env, c.id)
		must(t, err, "GetSignOnPolicy")
		if p.Default != c.want {
			t.Errorf("sign-on policy %s default = %v, want %v", p.Name, p.Default, c.want)
		}
	}

	// Keys: per usage type.
	k1 := mkKey(envA.ID, "signing-1", "SIGNING")
	k1.Default = true
	must(t, s.CreateKey(ctx, k1), "CreateKey default")
	enc := mkKey(envA.ID, "encryption", "ENCRYPTION")
	enc.Default = true
	must(t, s.CreateKey(ctx, enc), "CreateKey default ENCRYPTION")
	kB := mkKey(envB.ID, "signing", "SIGNING")
	kB.Default = true
	must(t, s.CreateKey(ctx, kB), "CreateKey default in B")
	k2 := mkKey(envA.ID, "signing-2", "SIGNING")
	k2.Default = true
	must(t, s.Tx(ctx, func(tx store.Store) error {
		if err := tx.ClearDefaultKey(ctx, envA.ID, "SIGNING", k2.ID); err != nil {
			return err
		}
		return tx.CreateKey(ctx, k2)
	}), "rotate the default signing key")
	for _, c := range []struct {
		env, id string
		want    bool
	}{{envA.ID, k1.ID, false}, {envA.ID, k2.ID, true}, {envA.ID, enc.ID, true}, {envB.ID, kB.ID, true}} {
		k, err := s.GetKey(ctx, c.env, c.id)
		must(t, err, "GetKey")
		if k.Default != c.want {
			t.Errorf("key %s default = %v, want %v", k.Name, k.Default, c.want)
		}
	}
}

func testPopulationsByPasswordPolicy(t *testing.T, s store.Store) {
	ctx := t.Context()
	envA, envB := newEnv(t, s), newEnv(t, s)
	std, basic := newPasswordPolicy(t, s, envA.ID, "Standard"), newPasswordPolicy(t, s, envA.ID, "Basic")
	unused := newPasswordPolicy(t, s, envA.ID, "Passphrase")
	for i, pp := range []string{std.ID, std.ID, basic.ID, ""} {
		p := mkPopulation(envA.ID, fmt.Sprintf("pop-%d", i))
		p.PasswordPolicyID = pp
		must(t, s.CreatePopulation(ctx, p), "CreatePopulation")
	}
	pB := mkPopulation(envB.ID, "pop")
	pB.PasswordPolicyID = std.ID // another environment's rows never count
	must(t, s.CreatePopulation(ctx, pB), "CreatePopulation in B")

	counts, err := s.CountPopulationsByPasswordPolicy(ctx, envA.ID)
	must(t, err, "CountPopulationsByPasswordPolicy")
	if counts[std.ID] != 2 || counts[basic.ID] != 1 || counts[unused.ID] != 0 {
		t.Errorf("counts = %v, want Standard 2, Basic 1, Passphrase 0", counts)
	}
	counts, err = s.CountPopulationsByPasswordPolicy(ctx, newID())
	must(t, err, "CountPopulationsByPasswordPolicy(unknown environment)")
	if len(counts) != 0 {
		t.Errorf("counts of an unknown environment = %v", counts)
	}
}

func testLockSignOnPolicy(t *testing.T, s store.Store) {
	ctx := t.Context()
	envA, envB := newEnv(t, s), newEnv(t, s)
	p := newSignOnPolicy(t, s, envA.ID, "Single_Factor")
	must(t, s.Tx(ctx, func(tx store.Store) error { return tx.LockSignOnPolicy(ctx, envA.ID, p.ID) }), "LockSignOnPolicy")
	wantErr(t, s.Tx(ctx, func(tx store.Store) error { return tx.LockSignOnPolicy(ctx, envB.ID, p.ID) }), store.ErrNotFound,
		"LockSignOnPolicy(envB, policy of envA)")
	wantErr(t, s.LockSignOnPolicy(ctx, envA.ID, newID()), store.ErrNotFound, "LockSignOnPolicy(unknown) outside a transaction")

	// Two transactions locking the same policy run one after the other:
	// each reads the actions, then adds one with the next priority; both
	// must land with distinct priorities.
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.Tx(ctx, func(tx store.Store) error {
				if err := tx.LockSignOnPolicy(ctx, envA.ID, p.ID); err != nil {
					return err
				}
				acts, err := tx.ListSignOnPolicyActions(ctx, envA.ID, p.ID)
				if err != nil {
					return err
				}
				time.Sleep(20 * time.Millisecond)
				return tx.CreateSignOnPolicyAction(ctx, mkAction(envA.ID, p.ID, "LOGIN", len(acts)+1))
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err, "concurrent locked writers")
	}
	acts, err := s.ListSignOnPolicyActions(ctx, envA.ID, p.ID)
	must(t, err, "ListSignOnPolicyActions")
	var prios []int
	for _, a := range acts {
		prios = append(prios, a.Priority)
	}
	if !slices.Equal(prios, []int{1, 2}) {
		t.Errorf("priorities after two locked writers = %v, want [1 2]", prios)
	}
}

// testKeyLock: transactions that take LockKeys for one environment run one
// after the other. Each deletes a key only while another one remains (as
// the API keeps an environment's last signing key): however many run at
// once, one key is left.
func testKeyLock(t *testing.T, s store.Store) {
	ctx := t.Context()
	env := newEnv(t, s)
	must(t, s.LockKeys(ctx, env.ID), "LockKeys outside a transaction")
	const n = 4
	ks := make([]*store.Key, n)
	for i := range ks {
		ks[i] = newKey(t, s, env.ID, fmt.Sprintf("k%d", i), "SIGNING")
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i, k := range ks {
		wg.Go(func() {
			<-start
			errs[i] = s.Tx(ctx, func(tx store.Store) error {
				if err := tx.LockKeys(ctx, env.ID); err != nil {
					return err
				}
				left, err := tx.ListKeys(ctx, env.ID)
				if err != nil || len(left) < 2 {
					return err
				}
				// Hold the lock a moment: without it the others count
				// this key as still there meanwhile.
				time.Sleep(30 * time.Millisecond)
				return tx.DeleteKey(ctx, env.ID, k.ID)
			})
		})
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		must(t, err, "a locked delete")
	}
	if left, err := s.ListKeys(ctx, env.ID); err != nil || len(left) != 1 {
		t.Errorf("keys after the locked deletes: %d (%v), want 1", len(left), err)
	}
}
