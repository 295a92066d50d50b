package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/scim"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// testSchemaSuite runs the user schema's conformance tests.
func testSchemaSuite(t *testing.T, s store.Store) {
	for _, tc := range []struct {
		name string
		run  func(*testing.T, store.Store)
	}{
		{"SchemaAttributes", testSchemaAttributes},
		{"UniqueValues", testUniqueValues},
		{"ConcurrentUniqueValues", testConcurrentUniqueValues},
		{"SchemaEnvironmentDelete", testSchemaEnvironmentDelete},
		{"CustomAttributeFilters", testCustomAttributeFilters},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, s) })
	}
}

func mkSchemaAttribute(envID, name string) *store.SchemaAttribute {
	ts := now()
	return &store.SchemaAttribute{ID: newID(), EnvironmentID: envID, Name: name, SchemaType: "CUSTOM",
		Data: json.RawMessage(`{"type":"STRING","enabled":true,"required":false,"unique":true,"multiValued":false}`), CreatedAt: ts, UpdatedAt: ts}
}

func testSchemaAttributes(t *testing.T, s store.Store) {
	ctx := t.Context()
	e, other := newEnv(t, s), newEnv(t, s)
	a := mkSchemaAttribute(e.ID, "shirtSize")
	must(t, s.CreateSchemaAttribute(ctx, a), "CreateSchemaAttribute")
	var ue *store.UniqueError
	if err := s.CreateSchemaAttribute(ctx, mkSchemaAttribute(e.ID, "SHIRTSIZE")); !errors.As(err, &ue) || ue.Field != "name" {
		t.Errorf("a second attribute of the name in another case: %v, want a UniqueError on name", err)
	}
	must(t, s.CreateSchemaAttribute(ctx, mkSchemaAttribute(other.ID, "shirtSize")), "the name in another environment")
	got, err := s.GetSchemaAttribute(ctx, e.ID, a.ID)
	must(t, err, "GetSchemaAttribute")
	checkRecord(t, "attribute", got, *a)
	_, err = s.GetSchemaAttribute(ctx, other.ID, a.ID)
	wantErr(t, err, store.ErrNotFound, "an attribute through another environment")
	a.Data, a.UpdatedAt = json.RawMessage(`{"type":"STRING","enabled":false,"required":false,"unique":false,"multiValued":true}`), now()
	must(t, s.UpdateSchemaAttribute(ctx, a), "UpdateSchemaAttribute")
	list, err := s.ListSchemaAttributes(ctx, e.ID)
	must(t, err, "ListSchemaAttributes")
	if len(list) != 1 {
		t.Fatalf("%d attributes, want 1", len(list))
	}
	checkRecord(t, "listed attribute", &list[0], *a)
	wantErr(t, s.DeleteSchemaAttribute(ctx, other.ID, a.ID), store.ErrNotFound, "a delete through another environment")
	must(t, s.DeleteSchemaAttribute(ctx, e.ID, a.ID), "DeleteSchemaAttribute")
	_, err = s.GetSchemaAttribute(ctx, e.ID, a.ID)
	wantErr(t, err, store.ErrNotFound, "a deleted attribute")
}

// testUniqueValues: the values users claim with their writes, replaced by
// each write that carries them, freed by the user's delete and by the
// attribute's.
func testUniqueValues(t *testing.T, s store.Store) {
	ctx := t.Context()
	e, pop := envWithPop(t, s)
	a := mkSchemaAttribute(e.ID, "employeeId")
	must(t, s.CreateSchemaAttribute(ctx, a), "CreateSchemaAttribute")
	claim := func(v string) []store.UniqueValue {
		return []store.UniqueValue{{AttributeID: a.ID, Name: a.Name, Value: v}}
	}
	u1 := mkUser(e.ID, pop.ID, "one")
	u1.Unique = claim("e-1")
	must(t, s.CreateUser(ctx, u1), "CreateUser claiming e-1")
	u2 := mkUser(e.ID, pop.ID, "two")
	u2.Unique = claim("e-1")
	var ue *store.UniqueError
	if err := s.CreateUser(ctx, u2); !errors.As(err, &ue) || ue.Field != "employeeId" {
		t.Fatalf("a second claim of e-1: %v, want a UniqueError on employeeId", err)
	}
	if _, err := s.GetUser(ctx, e.ID, u2.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the refused user was written: %v", err)
	}
	u2.Unique = claim("e-2")
	must(t, s.CreateUser(ctx, u2), "CreateUser claiming e-2")
	// An update without values leaves the claims; one with them moves them.
	u1.Unique = nil
	must(t, s.UpdateUser(ctx, u1), "UpdateUser without values")
	u2.Unique = claim("e-1")
	if err := s.UpdateUser(ctx, u2); !errors.As(err, &ue) {
		t.Errorf("an update claiming a held value: %v", err)
	}
	u1.Unique = claim("e-3")
	must(t, s.UpdateUser(ctx, u1), "UpdateUser moving to e-3")
	must(t, s.UpdateUser(ctx, u2), "UpdateUser claiming the freed e-1")
	must(t, s.DeleteUser(ctx, e.ID, u2.ID), "DeleteUser")
	u3 := mkUser(e.ID, pop.ID, "three")
	u3.Unique = claim("e-1")
	must(t, s.CreateUser(ctx, u3), "CreateUser claiming a deleted user's value")
	// Claims made for the whole attribute.
	if err := s.ClaimUniqueValues(ctx, e.ID, a.ID, a.Name, map[string]string{"x": u1.ID, "y": u3.ID}); err != nil {
		t.Fatal(err)
	}
	u4 := mkUser(e.ID, pop.ID, "four")
	u4.Unique = claim("x")
	if err := s.CreateUser(ctx, u4); !errors.As(err, &ue) {
		t.Errorf("a value ClaimUniqueValues gave: %v", err)
	}
	must(t, s.DeleteSchemaAttribute(ctx, e.ID, a.ID), "DeleteSchemaAttribute with claims")
	u4.Unique = []store.UniqueValue{}
	must(t, s.CreateUser(ctx, u4), "CreateUser after the attribute went")
}

// testConcurrentUniqueValues: racing writers of one value; exactly one
// wins.
func testConcurrentUniqueValues(t *testing.T, s store.Store) {
	ctx := t.Context()
	e, pop := envWithPop(t, s)
	a := mkSchemaAttribute(e.ID, "badge")
	must(t, s.CreateSchemaAttribute(ctx, a), "CreateSchemaAttribute")
	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := mkUser(e.ID, pop.ID, fmt.Sprintf("racer%d", i))
			u.Unique = []store.UniqueValue{{AttributeID: a.ID, Name: a.Name, Value: "b-1"}}
			errs[i] = s.Tx(ctx, func(tx store.Store) error { return tx.CreateUser(ctx, u) })
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		var ue *store.UniqueError
		switch {
		case err == nil:
			won++
		case !errors.As(err, &ue) || ue.Field != "badge":
			t.Errorf("a losing writer: %v, want a UniqueError on badge", err)
		}
	}
	if won != 1 {
		t.Errorf("%d writers won, want 1", won)
	}
}

func testSchemaEnvironmentDelete(t *testing.T, s store.Store) {
	ctx := t.Context()
	e, pop := envWithPop(t, s)
	a := mkSchemaAttribute(e.ID, "gone")
	must(t, s.CreateSchemaAttribute(ctx, a), "CreateSchemaAttribute")
	u := mkUser(e.ID, pop.ID, "holder")
	u.Unique = []store.UniqueValue{{AttributeID: a.ID, Name: a.Name, Value: "v"}}
	must(t, s.CreateUser(ctx, u), "CreateUser")
	must(t, s.DeleteEnvironment(ctx, e.ID), "DeleteEnvironment with a schema and claims")
	_, err := s.GetSchemaAttribute(ctx, e.ID, a.ID)
	wantErr(t, err, store.ErrNotFound, "an attribute of a deleted environment")
}

// testCustomAttributeFilters: a filter on a custom attribute compares its
// stored string alone, the same on every database (a value stored before
// the attribute was a STRING one, a number, a boolean or an object, never
// matches), and only a name the caller's schema lists and identity's name
// rule accepts ever reaches SQL.
func testCustomAttributeFilters(t *testing.T, s store.Store) {
	ctx := t.Context()
	e, pop := envWithPop(t, s)
	byName := map[string]*store.User{}
	for name, custom := range map[string]string{
		"str":    `{"code":"123"}`,
		"num":    `{"code":123}`,
		"bool":   `{"code":true}`,
		"obj":    `{"code":{"a":"123"}}`,
		"arr":    `{"code":["123"]}`,
		"null":   `{"code":null}`,
		"none":   `{}`,
		"prefix": `{"code":"1234"}`,
		"quote":  `{"code":"x' OR '1'='1"}`,
		"hyphen": `{"emp-id":"e-1","code":"9"}`,
	} {
		u := mkUser(e.ID, pop.ID, name)
		u.Data = json.RawMessage(`{"custom":` + custom + `}`)
		must(t, s.CreateUser(ctx, u), "CreateUser "+name)
		byName[name] = u
	}
	custom := []string{"code", "emp-id", "x']') OR 1=1 --", "code}') OR true --"}
	for _, c := range []struct {
		filter string
		want   []string
	}{
		{`code eq "123"`, []string{"str"}},
		{`code eq "true"`, nil},
		{`code sw "123"`, []string{"str", "prefix"}},
		{`code pr`, []string{"str", "prefix", "quote", "hyphen"}},
		// ne keeps rows without a (string) value, as for every attribute.
		{`code ne "123"`, []string{"num", "bool", "obj", "arr", "null", "none", "prefix", "quote", "hyphen"}},
		// PingOne's names take hyphens: the hyphen is part of the name.
		{`emp-id eq "e-1"`, []string{"hyphen"}},
		{`emp-id sw "e-"`, []string{"hyphen"}},
		{`code eq "x' OR '1'='1"`, []string{"quote"}},
	} {
		items, total, err := s.ListUsers(ctx, e.ID, store.Page{Filter: filter(t, c.filter), Custom: custom})
		must(t, err, "ListUsers filtered by "+c.filter)
		var want []store.User
		for _, n := range c.want {
			want = append(want, *byName[n])
		}
		if total != len(want) {
			t.Errorf("ListUsers filtered by %s: total %d, want %d", c.filter, total, len(want))
		}
		checkSet(t, "ListUsers filtered by "+c.filter, items, want...)
	}
	// Names the schema does not list are not filterable.
	for _, f := range []string{`other eq "1"`, `emp_id eq "e-1"`} {
		if _, _, err := s.ListUsers(ctx, e.ID, store.Page{Filter: filter(t, f), Custom: custom}); err == nil {
			t.Errorf("ListUsers filtered by %s: no error, want an unsupported attribute", f)
		} else if _, ok := err.(*scim.Error); !ok {
			t.Errorf("ListUsers filtered by %s: %v, want a *scim.Error", f, err)
		}
	}
}
