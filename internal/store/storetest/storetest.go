// Package storetest is the conformance suite of store.Store: every backend
// runs the same subtests (after dex's storage/conformance), each on a fresh,
// empty store, and must keep the contract the store package documents —
// sentinel errors, tenant isolation, uniqueness, cascades, transactions,
// UTC millisecond times and JSON Data that round-trips.
package storetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/scim"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Run runs the suite. newStore must return a fresh, empty store for the test
// it is given; Run closes it when that test ends.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	for _, tc := range suite {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.run(t, s)
		})
	}
}

var suite = []struct {
	name string
	run  func(*testing.T, store.Store)
}{
	{"Ping", testPing},
	{"Meta", testMeta},
	{"Organizations", testOrganizations},
	{"Licenses", testLicenses},
	{"Environments", testEnvironments},
	{"EnvironmentPaging", testEnvironmentPaging},
	{"EnvironmentDeleteCascades", testEnvironmentDeleteCascades},
	{"Populations", testPopulations},
	{"PopulationUniqueness", testPopulationUniqueness},
	{"PopulationIsolation", testPopulationIsolation},
	{"PopulationDefault", testPopulationDefault},
	{"PopulationPaging", testPopulationPaging},
	{"Themes", testThemes},
	{"Notifications", testNotifications},
	{"ThemeDefault", testThemeDefault},
	{"ThemeLock", testThemeLock},
	{"PopulationThemes", testPopulationThemes},
	{"Applications", testApplications},
	{"ApplicationIsolation", testApplicationIsolation},
	{"ApplicationDeleteRoleAssignments", testApplicationDeleteRoleAssignments},
	{"ApplicationDevicePath", testApplicationDevicePath},
	{"ApplicationSPEntityID", testApplicationSPEntityID},
	{"ApplicationDevicePathRace", testApplicationDevicePathRace},
	{"RoleAssignments", testRoleAssignments},
	{"ApplicationSubresources", testApplicationSubresources},
	{"Resources", testResources},
	{"Scopes", testScopes},
	{"PasswordPolicies", testPasswordPolicies},
	{"SignOnPolicies", testSignOnPolicies},
	{"SignOnPolicyActions", testSignOnPolicyActions},
	{"Keys", testKeys},
	{"Certificates", testCertificates},
	{"KeyLock", testKeyLock},
	{"ConfigExtras", testConfigExtras},
	{"Tx", testTx},
	{"TxPanic", testTxPanic},
	{"ConcurrentUniqueness", testConcurrentUniqueness},
	{"ConcurrentWrites", testConcurrentWrites},
	{"ListFilters", testListFilters},
	{"Users", testUserSuite},
	{"Auth", testAuthSuite},
	{"AuthPurge", testAuthPurge},
	{"AuthEnvironmentDelete", testAuthEnvironmentDelete},
	{"Federation", testFederationSuite},
	{"ConfigVersions", testConfigVersions},
	{"EnvironmentCatalogs", testEnvironmentCatalogs},
	{"MFA", testMFASuite},
	{"DeviceAuthenticationPolicies", testDeviceAuthenticationPolicies},
	{"DeviceAuthenticationPolicyLock", testDeviceAuthenticationPolicyLock},
	{"FIDO2Policies", testFIDO2Policies},
	{"FIDO2PolicyLock", testFIDO2PolicyLock},
	{"MFASettings", testMFASettings},
	{"DeviceAuthentications", testDeviceAuthentications},
	{"Agreements", testAgreements},
	{"AgreementConsents", testAgreementConsents},
	{"AgreementInUse", testAgreementInUse},
	{"Groups", testGroupSuite},
	{"Schema", testSchemaSuite},
	{"Activities", testActivities},
	{"ActivityFilters", testActivityFilters},
	{"ActivityPaging", testActivityPaging},
	{"ActivityPurge", testActivityPurge},
	{"ActivityCursor", testActivityCursor},
	{"Subscriptions", testSubscriptions},
	{"SubscriptionDelivery", testSubscriptionDelivery},
	{"SubscriptionActivities", testSubscriptionActivities},
}

func testPing(t *testing.T, s store.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

// ---- assertions

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// filter parses a SCIM filter for store.Page.Filter.
func filter(t *testing.T, f string) scim.Expr {
	t.Helper()
	e, err := scim.Parse(f)
	if err != nil {
		t.Fatalf("scim.Parse(%q): %v", f, err)
	}
	return e
}

// wantErr fails unless errors.Is(err, target).
func wantErr(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: err = %v, want %v", what, err, target)
	}
}

// wantUnique fails unless err is a *store.UniqueError naming resource and
// field that also counts as store.ErrConflict.
func wantUnique(t *testing.T, err error, resource, field, what string) {
	t.Helper()
	var ue *store.UniqueError
	if !errors.As(err, &ue) {
		t.Errorf("%s: err = %v, want *store.UniqueError{%s %s}", what, err, resource, field)
		return
	}
	if ue.Resource != resource || ue.Field != field {
		t.Errorf("%s: UniqueError{Resource: %q, Field: %q}, want {%q, %q}", what, ue.Resource, ue.Field, resource, field)
	}
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("%s: errors.Is(%v, ErrConflict) = false", what, err)
	}
}

// checkRecord compares two records field by field: times must be equal and in
// UTC, Data must be the same JSON (empty wants "{}"), bytes must be equal and
// everything else deeply equal. got may be a pointer.
func checkRecord(t *testing.T, what string, got, want any) {
	t.Helper()
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	if gv.Kind() == reflect.Pointer {
		if gv.IsNil() {
			t.Errorf("%s: got nil", what)
			return
		}
		gv = gv.Elem()
	}
	if wv.Kind() == reflect.Pointer {
		wv = wv.Elem()
	}
	if gv.Type() != wv.Type() {
		t.Fatalf("%s: comparing %s with %s", what, gv.Type(), wv.Type())
	}
	for i := range gv.NumField() {
		name := gv.Type().Field(i).Name
		g, w := gv.Field(i).Interface(), wv.Field(i).Interface()
		switch w := w.(type) {
		case time.Time:
			g := g.(time.Time)
			if !g.Equal(w) {
				t.Errorf("%s: %s = %s, want %s", what, name, g.Format(time.RFC3339Nano), w.Format(time.RFC3339Nano))
			} else if g.Location() != time.UTC {
				t.Errorf("%s: %s is in %s, want UTC", what, name, g.Location())
			}
		case json.RawMessage:
			g := g.(json.RawMessage)
			if len(w) == 0 {
				if string(g) != "{}" {
					t.Errorf("%s: %s = %q, want {} for empty data", what, name, g)
				}
			} else if !sameJSON(g, w) {
				t.Errorf("%s: %s = %s, want %s", what, name, g, w)
			}
		case []byte:
			if g := g.([]byte); !bytes.Equal(g, w) {
				t.Errorf("%s: %s = %x, want %x", what, name, g, w)
			}
		default:
			if !reflect.DeepEqual(g, w) {
				t.Errorf("%s: %s = %#v, want %#v", what, name, g, w)
			}
		}
	}
}

func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func idOf(v any) string {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	return rv.FieldByName("ID").String()
}

func ids[T any](items []T) []string {
	out := make([]string, len(items))
	for i, v := range items {
		out[i] = idOf(v)
	}
	return out
}

// checkList compares a list in the order the contract promises.
func checkList[T any](t *testing.T, what string, got []T, want ...T) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: got a nil slice, want an empty one", what)
	}
	if !slices.Equal(ids(got), ids(want)) {
		t.Errorf("%s: ids = %v, want %v", what, ids(got), ids(want))
		return
	}
	for i := range got {
		checkRecord(t, fmt.Sprintf("%s[%d]", what, i), got[i], want[i])
	}
}

// checkSet compares a list whose order the contract leaves open.
func checkSet[T any](t *testing.T, what string, got []T, want ...T) {
	t.Helper()
	byID := func(a, b T) int { return strings.Compare(idOf(a), idOf(b)) }
	got, want = slices.Clone(got), slices.Clone(want)
	if got == nil {
		got = []T{}
	}
	slices.SortFunc(got, byID)
	slices.SortFunc(want, byID)
	checkList(t, what, got, want...)
}

// ---- builders: mk* build a record, new* also create it

// now is the store's precision: UTC, milliseconds.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

func newID() string { return uuid.NewString() }

func newOrg(t *testing.T, s store.Store) *store.Organization {
	t.Helper()
	ts := now()
	o := &store.Organization{ID: newID(), Name: "Org " + newID()[:8], Type: "TRIAL", CreatedAt: ts, UpdatedAt: ts}
	must(t, s.CreateOrganization(t.Context(), o), "CreateOrganization")
	return o
}

func mkLicense(orgID string) *store.License {
	ts := now()
	return &store.License{
		ID: newID(), OrganizationID: orgID, Name: "Default license", Package: "TRIAL", Status: "ACTIVE",
		Data:      json.RawMessage(`{"expiresAt":"2030-01-01T00:00:00.000Z","users":{"allowPasswordManagementNotifications":true,"entitled":100}}`),
		CreatedAt: ts, UpdatedAt: ts,
	}
}

func newLicense(t *testing.T, s store.Store, orgID string) *store.License {
	t.Helper()
	l := mkLicense(orgID)
	must(t, s.CreateLicense(t.Context(), l), "CreateLicense")
	return l
}

func mkEnv(orgID, licenseID, name string) *store.Environment {
	ts := now()
	return &store.Environment{
		ID: newID(), OrganizationID: orgID, Name: name, Description: "environment " + name,
		Type: "SANDBOX", Region: "EU", LicenseID: licenseID, Status: "ACTIVE",
		Data:      json.RawMessage(`{"icon":{"href":"https://example.com/icon.png"},"billOfMaterials":{"products":[{"type":"PING_ONE_BASE"}]}}`),
		CreatedAt: ts, UpdatedAt: ts,
	}
}

func newEnvIn(t *testing.T, s store.Store, orgID, licenseID, name string) *store.Environment {
	t.Helper()
	e := mkEnv(orgID, licenseID, name)
	must(t, s.CreateEnvironment(t.Context(), e), "CreateEnvironment "+name)
	return e
}

// newEnv creates an environment in a new organization with a new license.
func newEnv(t *testing.T, s store.Store) *store.Environment {
	t.Helper()
	o := newOrg(t, s)
	l := newLicense(t, s, o.ID)
	return newEnvIn(t, s, o.ID, l.ID, "Env "+newID()[:8])
}

func mkPopulation(envID, name string) *store.Population {
	ts := now()
	return &store.Population{
		ID: newID(), EnvironmentID: envID, Name: name, Description: "population " + name,
		PasswordPolicyID: newID(),
		Data:             json.RawMessage(`{"preferredLanguage":"en","alternativeIdentifiers":["staff","crew"]}`),
		CreatedAt:        ts, UpdatedAt: ts,
	}
}

func newPopulation(t *testing.T, s store.Store, envID, name string) *store.Population {
	t.Helper()
	p := mkPopulation(envID, name)
	must(t, s.CreatePopulation(t.Context(), p), "CreatePopulation "+name)
	return p
}

func mkApp(envID, name string) *store.Application {
	ts := now()
	return &store.Application{
		ID: newID(), EnvironmentID: envID, Name: name, Protocol: "OPENID_CONNECT", Type: "WORKER", Enabled: true,
		TokenEndpointAuthMethod: "CLIENT_SECRET_BASIC",
		SecretSealed:            []byte{0x00, 0x01, 0xfe, 0xff, 's', 'e', 'a', 'l', 'e', 'd', 0x00},
		Data:                    json.RawMessage(`{"grantTypes":["CLIENT_CREDENTIALS"],"redirectUris":[],"pkceEnforcement":"OPTIONAL"}`),
		CreatedAt:               ts, UpdatedAt: ts,
	}
}

func newApp(t *testing.T, s store.Store, envID, name string) *store.Application {
	t.Helper()
	a := mkApp(envID, name)
	must(t, s.CreateApplication(t.Context(), a), "CreateApplication "+name)
	return a
}

func mkRA(envID, actorID, roleID, scopeType, scopeID string) *store.RoleAssignment {
	return &store.RoleAssignment{
		ID: newID(), EnvironmentID: envID, ActorType: "APPLICATION", ActorID: actorID, RoleID: roleID,
		ScopeType: scopeType, ScopeID: scopeID, CreatedAt: now(),
	}
}

func newRA(t *testing.T, s store.Store, envID, actorID, roleID, scopeType, scopeID string) *store.RoleAssignment {
	t.Helper()
	ra := mkRA(envID, actorID, roleID, scopeType, scopeID)
	must(t, s.CreateRoleAssignment(t.Context(), ra), "CreateRoleAssignment")
	return ra
}

func mkResource(envID, name string) *store.Resource {
	ts := now()
	return &store.Resource{
		ID: newID(), EnvironmentID: envID, Name: name, Type: "CUSTOM", Audience: "https://api.example.com/" + name,
		Description: "resource " + name, AccessTokenValiditySeconds: 3600,
		Data:      json.RawMessage(`{"introspectEndpointAuthMethod":"CLIENT_SECRET_BASIC"}`),
		CreatedAt: ts, UpdatedAt: ts,
	}
}

func newResource(t *testing.T, s store.Store, envID, name string) *store.Resource {
	t.Helper()
	r := mkResource(envID, name)
	must(t, s.CreateResource(t.Context(), r), "CreateResource "+name)
	return r
}

func mkScope(envID, resourceID, name string) *store.Scope {
	ts := now()
	return &store.Scope{
		ID: newID(), EnvironmentID: envID, ResourceID: resourceID, Name: name, Description: "scope " + name,
		Data: json.RawMessage(`{"schemaAttributes":["name.given"]}`), CreatedAt: ts, UpdatedAt: ts,
	}
}

func newScope(t *testing.T, s store.Store, envID, resourceID, name string) *store.Scope {
	t.Helper()
	x := mkScope(envID, resourceID, name)
	must(t, s.CreateScope(t.Context(), x), "CreateScope "+name)
	return x
}

func mkPasswordPolicy(envID, name string) *store.PasswordPolicy {
	ts := now()
	return &store.PasswordPolicy{
		ID: newID(), EnvironmentID: envID, Name: name,
		Data:      json.RawMessage(`{"length":{"min":8,"max":255},"history":{"count":6,"retentionDays":365},"excludesCommonlyUsed":true}`),
		CreatedAt: ts, UpdatedAt: ts,
	}
}

func newPasswordPolicy(t *testing.T, s store.Store, envID, name string) *store.PasswordPolicy {
	t.Helper()
	p := mkPasswordPolicy(envID, name)
	must(t, s.CreatePasswordPolicy(t.Context(), p), "CreatePasswordPolicy "+name)
	return p
}

func mkSignOnPolicy(envID, name string) *store.SignOnPolicy {
	ts := now()
	return &store.SignOnPolicy{ID: newID(), EnvironmentID: envID, Name: name, Description: "policy " + name, CreatedAt: ts, UpdatedAt: ts}
}

func newSignOnPolicy(t *testing.T, s store.Store, envID, name string) *store.SignOnPolicy {
	t.Helper()
	p := mkSignOnPolicy(envID, name)
	must(t, s.CreateSignOnPolicy(t.Context(), p), "CreateSignOnPolicy "+name)
	return p
}

func mkAction(envID, policyID, typ string, priority int) *store.SignOnPolicyAction {
	ts := now()
	return &store.SignOnPolicyAction{
		ID: newID(), EnvironmentID: envID, SignOnPolicyID: policyID, Type: typ, Priority: priority,
		Data:      json.RawMessage(fmt.Sprintf(`{"condition":{"secondsSince":"${session.lastSignOn.withAuthenticator.pwd.at}","greater":%d}}`, 60*priority)),
		CreatedAt: ts, UpdatedAt: ts,
	}
}

func newAction(t *testing.T, s store.Store, envID, policyID, typ string, priority int) *store.SignOnPolicyAction {
	t.Helper()
	a := mkAction(envID, policyID, typ, priority)
	must(t, s.CreateSignOnPolicyAction(t.Context(), a), fmt.Sprintf("CreateSignOnPolicyAction %s/%d", typ, priority))
	return a
}

func mkKey(envID, name, usage string) *store.Key {
	ts := now()
	return &store.Key{
		ID: newID(), EnvironmentID: envID, Name: name, Algorithm: "RSA", KeyLength: 2048,
		SignatureAlgorithm: "SHA256withRSA", SubjectDN: "CN=" + name + ", O=Gatehouse", IssuerDN: "CN=" + name + ", O=Gatehouse",
		UsageType:    usage,
		SerialNumber: "170141183460469231731687303715884105727", // beyond int64
		StartsAt:     ts.Add(-time.Hour), ExpiresAt: ts.AddDate(1, 0, 0),
		Certificate:      []byte{0x30, 0x82, 0x01, 0x0a, 0x00, 0xff, 0x00},
		PrivateKeySealed: []byte{0x00, 0x00, 0x9c, 0x7f, 0x80, 0xff, 's', 'k'},
		CreatedAt:        ts, UpdatedAt: ts,
	}
}

func newKey(t *testing.T, s store.Store, envID, name, usage string) *store.Key {
	t.Helper()
	k := mkKey(envID, name, usage)
	must(t, s.CreateKey(t.Context(), k), "CreateKey "+name)
	return k
}
