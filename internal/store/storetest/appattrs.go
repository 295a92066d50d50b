package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func mkApplicationAttribute(envID, appID, name, value string) *store.ApplicationAttribute {
	ts := now()
	return &store.ApplicationAttribute{ID: newID(), EnvironmentID: envID, ApplicationID: appID, Name: name, Value: value,
		MappingType: "CUSTOM", IDToken: true, UserInfo: false, CreatedAt: ts, UpdatedAt: ts}
}

// testApplicationAttributes: an application's attribute mappings, their
// case-insensitive unique names, their scopes, environment isolation, and
// their end with the application.
func testApplicationAttributes(t *testing.T, s store.Store) {
	ctx := t.Context()
	envA, envB := newEnv(t, s), newEnv(t, s)
	a1, a2, aB := mkApp(envA.ID, "Web"), mkApp(envA.ID, "Mobile"), mkApp(envB.ID, "Web")
	for _, a := range []*store.Application{a1, a2, aB} {
		must(t, s.CreateApplication(ctx, a), "CreateApplication")
	}

	sub := mkApplicationAttribute(envA.ID, a1.ID, "sub", "${user.id}")
	sub.MappingType, sub.Required = "CORE", true
	must(t, s.CreateApplicationAttribute(ctx, sub), "CreateApplicationAttribute CORE")
	acct := mkApplicationAttribute(envA.ID, a1.ID, "Account", "${user.accountId}")
	acct.OIDCScopes = []string{newID(), newID()}
	must(t, s.CreateApplicationAttribute(ctx, acct), "CreateApplicationAttribute with scopes")
	other := mkApplicationAttribute(envA.ID, a2.ID, "account", "${user.accountId}")
	other.NameFormat = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
	must(t, s.CreateApplicationAttribute(ctx, other), "CreateApplicationAttribute on another application")
	inB := mkApplicationAttribute(envB.ID, aB.ID, "account", "x")
	must(t, s.CreateApplicationAttribute(ctx, inB), "CreateApplicationAttribute in another environment")

	wantUnique(t, s.CreateApplicationAttribute(ctx, mkApplicationAttribute(envA.ID, a1.ID, "ACCOUNT", "x")), "applicationAttribute", "name",
		"CreateApplicationAttribute with a taken name")
	wantErr(t, s.CreateApplicationAttribute(ctx, mkApplicationAttribute(envA.ID, newID(), "orphan", "x")), store.ErrReferenced,
		"CreateApplicationAttribute on an unknown application")

	for _, want := range []*store.ApplicationAttribute{sub, acct, other, inB} {
		got, err := s.GetApplicationAttribute(ctx, want.EnvironmentID, want.ApplicationID, want.ID)
		must(t, err, "GetApplicationAttribute")
		checkRecord(t, "GetApplicationAttribute", got, want)
	}
	list, err := s.ListApplicationAttributes(ctx, envA.ID, a1.ID)
	must(t, err, "ListApplicationAttributes")
	checkList(t, "ListApplicationAttributes by name", list, *acct, *sub)
	list, err = s.ListApplicationAttributes(ctx, envB.ID, a1.ID)
	must(t, err, "ListApplicationAttributes(envB, application of envA)")
	checkList(t, "ListApplicationAttributes(envB, application of envA)", list)

	upd := *acct
	upd.Name, upd.Value, upd.Required, upd.IDToken, upd.UserInfo, upd.OIDCScopes, upd.NameFormat, upd.UpdatedAt =
		"acct", "${user.accountId}!", true, false, true, nil, "urn:oasis:names:tc:SAML:2.0:attrname-format:uri", now().Add(time.Minute)
	must(t, s.UpdateApplicationAttribute(ctx, &upd), "UpdateApplicationAttribute")
	got, err := s.GetApplicationAttribute(ctx, envA.ID, a1.ID, acct.ID)
	must(t, err, "GetApplicationAttribute after update")
	checkRecord(t, "GetApplicationAttribute after update", got, upd)
	taken := upd
	taken.Name = "SUB"
	wantUnique(t, s.UpdateApplicationAttribute(ctx, &taken), "applicationAttribute", "name", "UpdateApplicationAttribute to a taken name")

	// Wrong application or environment.
	_, err = s.GetApplicationAttribute(ctx, envA.ID, a2.ID, acct.ID)
	wantErr(t, err, store.ErrNotFound, "GetApplicationAttribute with another application")
	_, err = s.GetApplicationAttribute(ctx, envB.ID, a1.ID, acct.ID)
	wantErr(t, err, store.ErrNotFound, "GetApplicationAttribute(envB, attribute of envA)")
	hijack := upd
	hijack.EnvironmentID, hijack.Value = envB.ID, "hijacked"
	wantErr(t, s.UpdateApplicationAttribute(ctx, &hijack), store.ErrNotFound, "UpdateApplicationAttribute(envB, attribute of envA)")
	moved := upd
	moved.ApplicationID, moved.Name = a2.ID, "moved"
	wantErr(t, s.UpdateApplicationAttribute(ctx, &moved), store.ErrNotFound, "UpdateApplicationAttribute with another application")
	wantErr(t, s.DeleteApplicationAttribute(ctx, envB.ID, a1.ID, acct.ID), store.ErrNotFound, "DeleteApplicationAttribute(envB, attribute of envA)")
	wantErr(t, s.DeleteApplicationAttribute(ctx, envA.ID, a2.ID, acct.ID), store.ErrNotFound, "DeleteApplicationAttribute with another application")
	got, err = s.GetApplicationAttribute(ctx, envA.ID, a1.ID, acct.ID)
	must(t, err, "GetApplicationAttribute after foreign writes")
	checkRecord(t, "attribute after foreign writes", got, upd)

	must(t, s.DeleteApplicationAttribute(ctx, envA.ID, a1.ID, acct.ID), "DeleteApplicationAttribute")
	_, err = s.GetApplicationAttribute(ctx, envA.ID, a1.ID, acct.ID)
	wantErr(t, err, store.ErrNotFound, "GetApplicationAttribute after delete")
	wantErr(t, s.DeleteApplicationAttribute(ctx, envA.ID, a1.ID, acct.ID), store.ErrNotFound, "DeleteApplicationAttribute twice")

	// Deleting the application deletes its attributes.
	must(t, s.DeleteApplication(ctx, envA.ID, a1.ID), "DeleteApplication")
	_, err = s.GetApplicationAttribute(ctx, envA.ID, a1.ID, sub.ID)
	wantErr(t, err, store.ErrNotFound, "GetApplicationAttribute after its application was deleted")
	list, err = s.ListApplicationAttributes(ctx, envA.ID, a2.ID)
	must(t, err, "ListApplicationAttributes(a2) after deleting a1")
	checkList(t, "attributes of the other application", list, *other)
}
