package templates

import (
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	for _, tc := range []struct {
		text string
		vars map[string]string
		want string
	}{
		{"Code ${otp}", map[string]string{"otp": "123456"}, "Code 123456"},
		{"${user.name.given} ${user.name.family}: ${otp}", map[string]string{"otp": "1", "user.name.given": "Ada", "user.name.family": "L"}, "Ada L: 1"},
		{"missing ${nope}.", nil, "missing ."},
		{"not a variable: $otp {otp} ${ otp }", map[string]string{"otp": "9"}, "not a variable: $otp {otp} ${ otp }"},
		// A value is not rendered again: a username holding ${otp} stays.
		{"${user.username} ${otp}", map[string]string{"otp": "7", "user.username": "${otp}"}, "${otp} 7"},
	} {
		if got := Render(tc.text, tc.vars); got != tc.want {
			t.Errorf("Render(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}

func TestSelect(t *testing.T) {
	c := func(method, locale, variant string) Content {
		return Content{ID: method + "/" + locale + "/" + variant, DeliveryMethod: method, Locale: locale, Variant: variant}
	}
	custom := []Content{c(SMS, "en", ""), c(SMS, "fr", ""), c(SMS, "fr-CA", ""), c(SMS, "en", "Promo"), c(Email, "de", "")}
	defaults := Defaults("env", StrongAuthentication)
	for _, tc := range []struct {
		method, locale, variant, want string
	}{
		{SMS, "", "", "SMS/en/"},
		{SMS, "fr-CA", "", "SMS/fr-CA/"},
		{SMS, "FR-ca", "", "SMS/fr-CA/"},
		{SMS, "fr-BE", "", "SMS/fr/"},
		{SMS, "de", "", "SMS/en/"},
		{SMS, "en", "promo", "SMS/en/Promo"},
		{SMS, "fr", "promo", "SMS/fr/"},
		{Email, "de-AT", "", "Email/de/"},
		{Email, "en", "", DefaultID("env", StrongAuthentication, Email)},
		{Voice, "fr", "", DefaultID("env", StrongAuthentication, Voice)},
	} {
		got, ok := Select(custom, defaults, tc.method, tc.locale, tc.variant)
		if !ok || got.ID != tc.want {
			t.Errorf("Select(%s, %q, %q) = %q %v, want %q", tc.method, tc.locale, tc.variant, got.ID, ok, tc.want)
		}
	}
	if _, ok := Select(nil, Defaults("env", RecoveryCode), SMS, "en", ""); ok {
		t.Error("Select found an SMS content of a template without SMS")
	}
}

func TestDefaults(t *testing.T) {
	a, b := Defaults("env-a", StrongAuthentication), Defaults("env-b", StrongAuthentication)
	if len(a) != 3 || a[0].ID == b[0].ID || a[0].ID != Defaults("env-a", StrongAuthentication)[0].ID {
		t.Fatalf("default ids: %v %v", a, b)
	}
	for _, tpl := range All() {
		for _, c := range Defaults("env", tpl.Name) {
			if ps := Check(&tpl, &c); len(ps) != 0 {
				t.Errorf("the predefined %s %s content fails its own checks: %v", tpl.Name, c.DeliveryMethod, ps)
			}
		}
	}
}

func TestCheck(t *testing.T) {
	sa, _ := Lookup(StrongAuthentication)
	rc, _ := Lookup(RecoveryCode)
	for _, tc := range []struct {
		name  string
		t     *Template
		c     Content
		field string // "" = no problem
	}{
		{"sms ok", sa, Content{DeliveryMethod: SMS, Locale: "en", Fields: Fields{Content: "${otp}", Sender: "Acme 2"}}, ""},
		{"dynamic variable ok", sa, Content{DeliveryMethod: SMS, Locale: "en-GB", Fields: Fields{Content: "${otp} ${app.name}"}}, ""},
		{"no otp", sa, Content{DeliveryMethod: SMS, Locale: "en", Fields: Fields{Content: "hello"}}, "content"},
		{"bad locale", sa, Content{DeliveryMethod: SMS, Locale: "english", Fields: Fields{Content: "${otp}"}}, "locale"},
		{"sender punctuation", sa, Content{DeliveryMethod: SMS, Locale: "en", Fields: Fields{Content: "${otp}", Sender: "Acme!"}}, "sender"},
		{"variant too long", sa, Content{DeliveryMethod: SMS, Locale: "en", Variant: strings.Repeat("v", 101), Fields: Fields{Content: "${otp}"}}, "variant"},
		{"email otp in subject", sa, Content{DeliveryMethod: Email, Locale: "en", Fields: Fields{Subject: "${otp}", Body: "b"}}, ""},
		{"email bad from", sa, Content{DeliveryMethod: Email, Locale: "en", Fields: Fields{Body: "${otp}", From: &Address{Address: "nobody"}}}, "from.address"},
		{"email huge body", sa, Content{DeliveryMethod: Email, Locale: "en", Fields: Fields{Body: "${otp}" + strings.Repeat("x", MaxEmailBody)}}, "body"},
		{"unknown variable, static template", rc, Content{DeliveryMethod: Email, Locale: "en", Fields: Fields{Body: "${code} ${x}"}}, "body"},
		{"unknown method", sa, Content{DeliveryMethod: "Fax", Locale: "en"}, "deliveryMethod"},
	} {
		ps := Check(tc.t, &tc.c)
		switch {
		case tc.field == "" && len(ps) != 0:
			t.Errorf("%s: problems %v, want none", tc.name, ps)
		case tc.field != "" && (len(ps) == 0 || ps[0].Field != tc.field):
			t.Errorf("%s: problems %v, want one on %s", tc.name, ps, tc.field)
		}
	}
}
