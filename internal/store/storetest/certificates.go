package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func mkCert(envID, name string) *store.Certificate {
	ts := now()
	return &store.Certificate{
		ID: newID(), EnvironmentID: envID, Name: name, Algorithm: "RSA", KeyLength: 2048,
		SignatureAlgorithm: "SHA256withRSA", SubjectDN: "CN=" + name + ", O=Partner", IssuerDN: "CN=Partner CA, O=Partner",
		UsageType: "SIGNING", SerialNumber: "170141183460469231731687303715884105727", // beyond int64
		StartsAt: ts.Add(-time.Hour), ExpiresAt: ts.AddDate(1, 0, 0),
		Certificate: []byte{0x30, 0x82, 0x01, 0x0a, 0x00, 0xff, 0x00},
		CreatedAt:   ts, UpdatedAt: ts,
	}
}

// testCertificates: certificates round-trip, list in creation order, and
// never cross environments.
func testCertificates(t *testing.T, s store.Store) {
	ctx := t.Context()
	envA, envB := newEnv(t, s), newEnv(t, s)
	c1 := mkCert(envA.ID, "partner-1")
	must(t, s.CreateCertificate(ctx, c1), "CreateCertificate")
	c2 := mkCert(envA.ID, "partner-2")
	c2.CreatedAt, c2.UpdatedAt = c1.CreatedAt.Add(time.Millisecond), c1.CreatedAt.Add(time.Millisecond)
	c2.Algorithm, c2.KeyLength, c2.SignatureAlgorithm = "EC", 256, "SHA256withECDSA"
	must(t, s.CreateCertificate(ctx, c2), "CreateCertificate")
	cB := mkCert(envB.ID, "partner-b")
	must(t, s.CreateCertificate(ctx, cB), "CreateCertificate in another environment")

	got, err := s.GetCertificate(ctx, envA.ID, c1.ID)
	must(t, err, "GetCertificate")
	checkRecord(t, "certificate", got, c1)
	_, err = s.GetCertificate(ctx, envB.ID, c1.ID)
	wantErr(t, err, store.ErrNotFound, "GetCertificate(envB, id of envA)")

	list, err := s.ListCertificates(ctx, envA.ID)
	must(t, err, "ListCertificates")
	if len(list) != 2 || list[0].ID != c1.ID || list[1].ID != c2.ID {
		t.Fatalf("ListCertificates = %d certificates, want c1 then c2", len(list))
	}
	checkRecord(t, "listed certificate", &list[1], c2)

	wantErr(t, s.DeleteCertificate(ctx, envB.ID, c1.ID), store.ErrNotFound, "DeleteCertificate(envB, id of envA)")
	must(t, s.DeleteCertificate(ctx, envA.ID, c1.ID), "DeleteCertificate")
	_, err = s.GetCertificate(ctx, envA.ID, c1.ID)
	wantErr(t, err, store.ErrNotFound, "GetCertificate after delete")
	wantErr(t, s.DeleteCertificate(ctx, envA.ID, c1.ID), store.ErrNotFound, "DeleteCertificate twice")
	if _, err := s.GetCertificate(ctx, envB.ID, cB.ID); err != nil {
		t.Fatalf("the other environment's certificate: %v", err)
	}
}

// withSPEntityID is app with spEntityId id in its data, as the management
// API writes a SAML application.
func withSPEntityID(t *testing.T, app *store.Application, id string) *store.Application {
	t.Helper()
	var d map[string]any
	must(t, json.Unmarshal(app.Data, &d), "application data")
	d["spEntityId"] = id
	b, err := json.Marshal(d)
	must(t, err, "application data")
	app.Protocol, app.Type, app.Data = "SAML", "WEB_APP", b
	return app
}

// testApplicationSPEntityID: a SAML application's spEntityId is unique in
// its environment (a UniqueError on spEntityId, nothing written); another
// environment may use it, and OIDC applications never clash.
func testApplicationSPEntityID(t *testing.T, s store.Store) {
	ctx := t.Context()
	envA, envB := newEnv(t, s), newEnv(t, s)
	sp := withSPEntityID(t, mkApp(envA.ID, "SP"), "urn:sp:one")
	must(t, s.CreateApplication(ctx, sp), "CreateApplication with an spEntityId")
	plain := newApp(t, s, envA.ID, "Plain")
	newApp(t, s, envA.ID, "Plain too")
	must(t, s.CreateApplication(ctx, withSPEntityID(t, mkApp(envB.ID, "SP"), "urn:sp:one")), "the same spEntityId in another environment")
	wantUnique(t, s.CreateApplication(ctx, withSPEntityID(t, mkApp(envA.ID, "Copy"), "urn:sp:one")), "application", "spEntityId", "CreateApplication with a taken spEntityId")
	taker := *plain
	withSPEntityID(t, &taker, "urn:sp:one")
	wantUnique(t, s.UpdateApplication(ctx, &taker), "application", "spEntityId", "UpdateApplication to a taken spEntityId")
	got, err := s.GetApplication(ctx, envA.ID, plain.ID)
	must(t, err, "GetApplication")
	checkRecord(t, "application whose update was refused", got, plain)
	again := *sp
	again.Name = "SP 2"
	must(t, s.UpdateApplication(ctx, &again), "UpdateApplication keeping its spEntityId")
}
