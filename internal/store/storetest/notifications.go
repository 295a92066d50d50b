package storetest

import (
	"bytes"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// testNotifications: phone delivery settings and template contents —
// round trips (sealed bytes kept exactly), oldest-first listing,
// environment isolation, the case-insensitive uniqueness of a content's
// delivery method, locale and variant, version bumps and the cascade of
// an environment's deletion.
func testNotifications(t *testing.T, s store.Store) {
	ctx := t.Context()
	envA, envB := newEnv(t, s), newEnv(t, s)

	ts := now()
	p1 := &store.PhoneDeliverySettings{ID: newID(), EnvironmentID: envA.ID, Provider: "CUSTOM_PROVIDER", Data: []byte(`{"name":"one"}`),
		Secret: []byte{0, 1, 2, 0xff}, CreatedAt: ts, UpdatedAt: ts}
	p2 := &store.PhoneDeliverySettings{ID: newID(), EnvironmentID: envA.ID, Provider: "CUSTOM_TWILIO", Data: []byte(`{"sid":"AC1"}`),
		Secret: []byte("sealed"), CreatedAt: ts.Add(1e6), UpdatedAt: ts.Add(1e6)}
	pB := &store.PhoneDeliverySettings{ID: newID(), EnvironmentID: envB.ID, Provider: "CUSTOM_PROVIDER", Data: []byte(`{}`), Secret: nil,
		CreatedAt: ts, UpdatedAt: ts}
	v0, err := s.ConfigVersion(ctx, envA.ID)
	must(t, err, "ConfigVersion")
	for _, p := range []*store.PhoneDeliverySettings{p2, p1, pB} {
		must(t, s.CreatePhoneDeliverySettings(ctx, p), "CreatePhoneDeliverySettings")
	}
	if v, _ := s.ConfigVersion(ctx, envA.ID); v <= v0 {
		t.Errorf("ConfigVersion after CreatePhoneDeliverySettings = %d, want > %d", v, v0)
	}
	got, err := s.GetPhoneDeliverySettings(ctx, envA.ID, p1.ID)
	must(t, err, "GetPhoneDeliverySettings")
	if !bytes.Equal(got.Secret, p1.Secret) || string(got.Data) != string(p1.Data) || got.Provider != p1.Provider ||
		!got.CreatedAt.Equal(p1.CreatedAt) {
		t.Errorf("GetPhoneDeliverySettings = %+v, want %+v", got, p1)
	}
	wantErr(t, errOnly(s.GetPhoneDeliverySettings(ctx, envB.ID, p1.ID)), store.ErrNotFound, "GetPhoneDeliverySettings from another environment")
	list, err := s.ListPhoneDeliverySettings(ctx, envA.ID)
	must(t, err, "ListPhoneDeliverySettings")
	if len(list) != 2 || list[0].ID != p1.ID || list[1].ID != p2.ID {
		t.Errorf("ListPhoneDeliverySettings = %v, want p1 then p2 (oldest first)", list)
	}
	p1.Data, p1.Secret, p1.UpdatedAt = []byte(`{"name":"renamed"}`), []byte("new"), ts.Add(2e6)
	must(t, s.UpdatePhoneDeliverySettings(ctx, p1), "UpdatePhoneDeliverySettings")
	got, _ = s.GetPhoneDeliverySettings(ctx, envA.ID, p1.ID)
	if string(got.Data) != `{"name":"renamed"}` || string(got.Secret) != "new" {
		t.Errorf("after update: %+v", got)
	}
	wrong := *p1
	wrong.EnvironmentID = envB.ID
	wantErr(t, s.UpdatePhoneDeliverySettings(ctx, &wrong), store.ErrNotFound, "UpdatePhoneDeliverySettings through another environment")
	wantErr(t, s.DeletePhoneDeliverySettings(ctx, envB.ID, p1.ID), store.ErrNotFound, "DeletePhoneDeliverySettings through another environment")
	must(t, s.DeletePhoneDeliverySettings(ctx, envA.ID, p1.ID), "DeletePhoneDeliverySettings")
	wantErr(t, s.DeletePhoneDeliverySettings(ctx, envA.ID, p1.ID), store.ErrNotFound, "DeletePhoneDeliverySettings twice")

	mk := func(envID, tpl, method, locale, variant string) *store.TemplateContent {
		ts := now()
		return &store.TemplateContent{ID: newID(), EnvironmentID: envID, Template: tpl, DeliveryMethod: method, Locale: locale, Variant: variant,
			Data: []byte(`{"content":"Code ${otp}"}`), CreatedAt: ts, UpdatedAt: ts}
	}
	cEn := mk(envA.ID, "strong_authentication", "SMS", "en", "")
	cFr := mk(envA.ID, "strong_authentication", "SMS", "fr-CA", "")
	cVar := mk(envA.ID, "strong_authentication", "SMS", "en", "Promo")
	cMail := mk(envA.ID, "strong_authentication", "Email", "en", "")
	cPair := mk(envA.ID, "device_pairing", "SMS", "en", "")
	cB := mk(envB.ID, "strong_authentication", "SMS", "en", "")
	for _, c := range []*store.TemplateContent{cEn, cFr, cVar, cMail, cPair, cB} {
		must(t, s.CreateTemplateContent(ctx, c), "CreateTemplateContent "+c.Locale+"/"+c.Variant)
	}
	wantUnique(t, s.CreateTemplateContent(ctx, mk(envA.ID, "strong_authentication", "SMS", "EN", "")), "templateContent", "locale",
		"CreateTemplateContent with a taken locale in another case")
	wantUnique(t, s.CreateTemplateContent(ctx, mk(envA.ID, "strong_authentication", "SMS", "en", "PROMO")), "templateContent", "locale",
		"CreateTemplateContent with a taken variant in another case")
	gotC, err := s.GetTemplateContent(ctx, envA.ID, "strong_authentication", cFr.ID)
	must(t, err, "GetTemplateContent")
	checkRecord(t, "GetTemplateContent", gotC, cFr)
	wantErr(t, errOnly(s.GetTemplateContent(ctx, envA.ID, "device_pairing", cFr.ID)), store.ErrNotFound, "GetTemplateContent under another template")
	wantErr(t, errOnly(s.GetTemplateContent(ctx, envB.ID, "strong_authentication", cFr.ID)), store.ErrNotFound,
		"GetTemplateContent from another environment")
	cl, err := s.ListTemplateContents(ctx, envA.ID, "strong_authentication")
	must(t, err, "ListTemplateContents")
	checkList(t, "ListTemplateContents by method, locale and variant", cl, *cMail, *cEn, *cVar, *cFr)

	cFr.Locale, cFr.Data, cFr.UpdatedAt = "en", []byte(`{"content":"x ${otp}"}`), now()
	wantUnique(t, s.UpdateTemplateContent(ctx, cFr), "templateContent", "locale", "UpdateTemplateContent onto a taken locale")
	cFr.Locale = "fr"
	must(t, s.UpdateTemplateContent(ctx, cFr), "UpdateTemplateContent")
	gotC, _ = s.GetTemplateContent(ctx, envA.ID, "strong_authentication", cFr.ID)
	checkRecord(t, "GetTemplateContent after update", gotC, cFr)
	wantErr(t, s.DeleteTemplateContent(ctx, envA.ID, "device_pairing", cFr.ID), store.ErrNotFound, "DeleteTemplateContent under another template")
	must(t, s.DeleteTemplateContent(ctx, envA.ID, "strong_authentication", cFr.ID), "DeleteTemplateContent")

	must(t, s.DeleteEnvironment(ctx, envA.ID), "DeleteEnvironment")
	if l, err := s.ListTemplateContents(ctx, envA.ID, "strong_authentication"); err != nil || len(l) != 0 {
		t.Errorf("contents after the environment's deletion: %v %v", l, err)
	}
	if l, err := s.ListPhoneDeliverySettings(ctx, envA.ID); err != nil || len(l) != 0 {
		t.Errorf("phone settings after the environment's deletion: %v %v", l, err)
	}
	if l, _ := s.ListPhoneDeliverySettings(ctx, envB.ID); len(l) != 1 {
		t.Errorf("the other environment's phone settings: %v", l)
	}
}

func errOnly[T any](_ T, err error) error { return err }
