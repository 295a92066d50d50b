package mgmt_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

func phoneURL(envID string) string {
	return "/environments/" + envID + "/notificationsSettings/phoneDeliverySettings"
}

func contentsURL(envID, tpl string) string {
	return "/environments/" + envID + "/templates/" + tpl + "/contents"
}

// sdkCustomProvider is phone delivery settings as PingOne's SDK marshals
// management.NotificationsSettingsPhoneDeliverySettingsCustom for the
// Terraform provider's custom-provider example.
func sdkCustomProvider() map[string]any {
	return map[string]any{
		"provider": "CUSTOM_PROVIDER", "name": "My awesome custom notifications provider",
		"authentication": map[string]any{"method": "BASIC", "username": "gw-user", "password": "gw-Pa55word"},
		"requests": []any{
			map[string]any{"deliveryMethod": "SMS", "method": "GET", "phoneNumberFormat": "FULL",
				"url": "https://api.my-sms-gateway.com/send-sms.json?to=${to}&from=${from}&message=${message}"},
			map[string]any{"deliveryMethod": "VOICE", "method": "POST", "phoneNumberFormat": "NUMBER_ONLY",
				"url": "https://api.my-voice-gateway.com/send-voice", "headers": map[string]any{"Content-Type": "application/json"},
				"body": `{"from":"${from}","message":"${message}","to":"${to}"}`, "afterTag": `</Say> <Pause length="1"/>`, "beforeTag": "<Say>"},
		},
		"numbers": []any{map[string]any{"number": "+15555550100", "type": "TOLL_FREE", "capabilities": []any{"SMS", "VOICE"},
			"selected": true, "available": true, "supportedCountries": []any{"US", "CA"}}},
	}
}

func TestNotificationsAsSDK(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			testNotifications(t, apptest.Start(t, apptest.Options{DSN: b.DSN(t)}))
		})
	}
}

func testNotifications(t *testing.T, s *apptest.Server) {
	env := newEnv(t, s, "Notifications", "SANDBOX")
	other := newEnv(t, s, "Notifications other", "SANDBOX")
	tok := s.AdminToken(t)
	do := func(r apptest.Request) *apptest.Response { r.Token = tok; return doNo5xx(t, s, r) }

	// --- phone delivery settings
	list := must(t, do(apptest.Request{Method: "GET", URL: phoneURL(env)}), http.StatusOK)
	wantFields(t, list, map[string]any{"count": 0, "size": 0, "_embedded.phoneDeliverySettings": []any{}})

	created := must(t, do(apptest.Request{Method: "POST", URL: phoneURL(env), Body: sdkCustomProvider()}), http.StatusCreated)
	id := checkID(t, created, "id")
	checkTime(t, created, "createdAt")
	checkTime(t, created, "updatedAt")
	want := sdkCustomProvider()
	want["authentication"] = map[string]any{"method": "BASIC", "username": "gw-user"}
	wantFields(t, created, map[string]any{"provider": "CUSTOM_PROVIDER", "name": want["name"], "requests": want["requests"],
		"authentication": want["authentication"], "numbers": want["numbers"], "environment.id": env,
		"_links.self.href": s.APIPath + phoneURL(env) + "/" + id})
	read := adminGet(t, s, phoneURL(env)+"/"+id)
	if strings.Contains(string(read), "gw-Pa55word") || strings.Contains(string(read), "password") {
		t.Errorf("GET shows the password: %s", read)
	}
	listed := adminGet(t, s, phoneURL(env))
	if strings.Contains(string(listed), "gw-Pa55word") || !strings.Contains(string(listed), id) {
		t.Errorf("list: %s", listed)
	}
	// The store keeps the password sealed, not in the clear.
	rec, err := s.Store.GetPhoneDeliverySettings(t.Context(), env, id)
	if err != nil || strings.Contains(string(rec.Secret), "gw-Pa55word") || strings.Contains(string(rec.Data), "gw-Pa55word") || len(rec.Secret) == 0 {
		t.Errorf("stored settings: %v %q %q", err, rec.Secret, rec.Data)
	}

	// A PUT of what a GET returned changes nothing but updatedAt, and
	// keeps the password.
	var echoed map[string]any
	json.Unmarshal(read, &echoed)
	put := must(t, do(apptest.Request{Method: "PUT", URL: phoneURL(env) + "/" + id, Body: echoed}), http.StatusOK)
	delete(put, "updatedAt")
	delete(echoed, "updatedAt")
	if a, b := mustMarshal(put), mustMarshal(echoed); a != b {
		t.Errorf("PUT of the GET changed the settings:\n%s\n%s", a, b)
	}
	rec2, _ := s.Store.GetPhoneDeliverySettings(t.Context(), env, id)
	if string(rec2.Secret) != string(rec.Secret) {
		t.Errorf("PUT without a password replaced the sealed password")
	}

	// Twilio: sid and numbers shown, the auth token never.
	tw := must(t, do(apptest.Request{Method: "POST", URL: phoneURL(env), Body: map[string]any{"provider": "CUSTOM_TWILIO", "sid": "AC42",
		"authToken": "tw-secret-token", "numbers": []any{map[string]any{"number": "+15555550111", "type": "PHONE_NUMBER", "selected": true}}}}),
		http.StatusCreated)
	twID := checkID(t, tw, "id")
	if b := adminGet(t, s, phoneURL(env)+"/"+twID); strings.Contains(string(b), "tw-secret-token") || strings.Contains(string(b), "authToken") ||
		!strings.Contains(string(b), `"sid":"AC42"`) {
		t.Errorf("twilio GET: %s", b)
	}
	wantFields(t, must(t, do(apptest.Request{Method: "GET", URL: phoneURL(env)}), http.StatusOK), map[string]any{"count": 2})

	// --- templates
	tpls := must(t, do(apptest.Request{Method: "GET", URL: "/environments/" + env + "/templates"}), http.StatusOK)
	names := map[string]bool{}
	for _, it := range get(tpls, "_embedded.templates").([]any) {
		names[it.(map[string]any)["id"].(string)] = true
	}
	if !names["strong_authentication"] || !names["device_pairing"] {
		t.Errorf("templates %v", names)
	}
	sa := must(t, do(apptest.Request{Method: "GET", URL: "/environments/" + env + "/templates/strong_authentication"}), http.StatusOK)
	wantFields(t, sa, map[string]any{"id": "strong_authentication", "deliveryMethods": []any{"Email", "SMS", "Voice"},
		"variables.otp.required": true, "allowDynamicVariables": true})

	// The predefined contents: default, one per delivery method, with
	// PingOne's email defaults filled in.
	cl := must(t, do(apptest.Request{Method: "GET", URL: contentsURL(env, "strong_authentication")}), http.StatusOK)
	wantFields(t, cl, map[string]any{"count": 3})
	var defSMS string
	for _, it := range get(cl, "_embedded.contents").([]any) {
		c := it.(map[string]any)
		if c["default"] != true || c["locale"] != "en" {
			t.Errorf("predefined content %v", c)
		}
		switch c["deliveryMethod"] {
		case "Email":
			wantFields(t, c, map[string]any{"from": map[string]any{"name": "PingOne", "address": "noreply@pingidentity.com"}, "charset": "UTF-8",
				"emailContentType": "text/plain"})
		case "SMS":
			defSMS = c["id"].(string)
		case "Voice":
			wantFields(t, c, map[string]any{"voice": "Alice"})
		}
	}
	again := must(t, do(apptest.Request{Method: "GET", URL: contentsURL(env, "strong_authentication") + "/" + defSMS}), http.StatusOK)
	wantFields(t, again, map[string]any{"id": defSMS, "default": true, "content": "Your sign-on passcode is ${otp}. Do not share it."})
	checkAnswer(t, do(apptest.Request{Method: "DELETE", URL: contentsURL(env, "strong_authentication") + "/" + defSMS}),
		wantErr{http.StatusBadRequest, "REQUEST_FAILED", "CONSTRAINT_VIOLATION", ""})
	checkAnswer(t, do(apptest.Request{Method: "PUT", URL: contentsURL(env, "strong_authentication") + "/" + defSMS,
		Body: map[string]any{"locale": "en", "deliveryMethod": "SMS", "content": "x ${otp}"}}),
		wantErr{http.StatusBadRequest, "REQUEST_FAILED", "CONSTRAINT_VIOLATION", ""})

	// Contents as the Terraform provider sends them (its defaults
	// included), answered as sent.
	email := map[string]any{"locale": "en", "deliveryMethod": "Email", "subject": "BX Retail Transaction Request",
		"body": "Please approve this transaction with passcode ${otp}.", "from": map[string]any{"name": "BX Retail", "address": "noreply@bxretail.org"},
		"charset": "UTF-8", "emailContentType": "text/html"}
	sms := map[string]any{"locale": "en", "deliveryMethod": "SMS", "content": "Please approve this transaction with passcode ${otp}.", "sender": "BX Retail"}
	voice := map[string]any{"locale": "en", "deliveryMethod": "Voice", "content": "Hello your authentication code is ${otp}", "voice": "Alice"}
	ids := map[string]string{}
	for name, body := range map[string]map[string]any{"email": email, "sms": sms, "voice": voice} {
		c := must(t, do(apptest.Request{Method: "POST", URL: contentsURL(env, "strong_authentication"), Body: body}), http.StatusCreated)
		ids[name] = checkID(t, c, "id")
		want := map[string]any{"default": false, "template.id": "strong_authentication", "environment.id": env}
		for k, v := range body {
			want[k] = v
		}
		wantFields(t, c, want)
		checkTime(t, c, "createdAt")
		r := must(t, do(apptest.Request{Method: "GET", URL: contentsURL(env, "strong_authentication") + "/" + ids[name]}), http.StatusOK)
		wantFields(t, r, want)
	}
	// from and replyTo are Optional and not Computed in Terraform's
	// pingone_notification_template_content: absent when not sent (the
	// sender still sends from PingOne's default); charset and
	// emailContentType take their defaults.
	bare := map[string]any{"locale": "de", "deliveryMethod": "Email", "subject": "Code", "body": "Code ${otp}"}
	bc := must(t, do(apptest.Request{Method: "POST", URL: contentsURL(env, "strong_authentication"), Body: bare}), http.StatusCreated)
	bareWant := map[string]any{"from": nil, "replyTo": nil, "charset": "UTF-8", "emailContentType": "text/html", "subject": "Code"}
	wantFields(t, bc, bareWant)
	bg := must(t, do(apptest.Request{Method: "GET", URL: contentsURL(env, "strong_authentication") + "/" + checkID(t, bc, "id")}), http.StatusOK)
	wantFields(t, bg, bareWant)
	if _, ok := bg["from"]; ok {
		t.Errorf("from returned though not sent: %v", bg["from"])
	}
	must(t, do(apptest.Request{Method: "DELETE", URL: contentsURL(env, "strong_authentication") + "/" + checkID(t, bc, "id")}), http.StatusNoContent)
	wantFields(t, must(t, do(apptest.Request{Method: "GET", URL: contentsURL(env, "strong_authentication")}), http.StatusOK), map[string]any{"count": 6})
	// A PUT of what a GET returned changes nothing but updatedAt.
	for _, name := range []string{"email", "sms", "voice"} {
		u := contentsURL(env, "strong_authentication") + "/" + ids[name]
		var got map[string]any
		json.Unmarshal(adminGet(t, s, u), &got)
		back := must(t, do(apptest.Request{Method: "PUT", URL: u, Body: got}), http.StatusOK)
		delete(got, "updatedAt")
		delete(back, "updatedAt")
		if a, b := mustMarshal(back), mustMarshal(got); a != b {
			t.Errorf("PUT of the GET of the %s content changed it:\n%s\n%s", name, a, b)
		}
	}
	// A second content of the same method and locale (any case) is a
	// uniqueness violation; a variant makes another.
	dup := map[string]any{"locale": "en", "deliveryMethod": "SMS", "content": "Again ${otp}"}
	checkAnswer(t, do(apptest.Request{Method: "POST", URL: contentsURL(env, "strong_authentication"), Body: dup}),
		wantErr{http.StatusBadRequest, "INVALID_DATA", "UNIQUENESS_VIOLATION", "locale"})
	dup["variant"] = "Promo"
	must(t, do(apptest.Request{Method: "POST", URL: contentsURL(env, "strong_authentication"), Body: dup}), http.StatusCreated)
	dup["variant"] = "PROMO"
	checkAnswer(t, do(apptest.Request{Method: "POST", URL: contentsURL(env, "strong_authentication"), Body: dup}),
		wantErr{http.StatusBadRequest, "INVALID_DATA", "UNIQUENESS_VIOLATION", "locale"})
	// Update, then delete (the predefined text serves again).
	sms["content"] = "Updated ${otp}"
	must(t, do(apptest.Request{Method: "PUT", URL: contentsURL(env, "strong_authentication") + "/" + ids["sms"], Body: sms}), http.StatusOK)
	wantFields(t, must(t, do(apptest.Request{Method: "GET", URL: contentsURL(env, "strong_authentication") + "/" + ids["sms"]}), http.StatusOK),
		map[string]any{"content": "Updated ${otp}"})
	must(t, do(apptest.Request{Method: "DELETE", URL: contentsURL(env, "strong_authentication") + "/" + ids["sms"]}), http.StatusNoContent)
	checkAnswer(t, do(apptest.Request{Method: "GET", URL: contentsURL(env, "strong_authentication") + "/" + ids["sms"]}),
		wantErr{http.StatusNotFound, "NOT_FOUND", "", ""})
	// device_pairing has its own contents.
	must(t, do(apptest.Request{Method: "POST", URL: contentsURL(env, "device_pairing"), Body: map[string]any{"locale": "fr",
		"deliveryMethod": "SMS", "content": "Code d'appairage : ${otp}"}}), http.StatusCreated)

	// --- not found: unknown templates, unknown ids, another environment's.
	notFound := wantErr{http.StatusNotFound, "NOT_FOUND", "", ""}
	for _, r := range []apptest.Request{
		{Method: "GET", URL: "/environments/" + env + "/templates/no_such_template"},
		{Method: "GET", URL: contentsURL(env, "no_such_template")},
		{Method: "POST", URL: contentsURL(env, "no_such_template"), Body: sms},
		{Method: "GET", URL: contentsURL(env, "strong_authentication") + "/" + uuid.NewString()},
		{Method: "GET", URL: contentsURL(other, "strong_authentication") + "/" + ids["email"]},
		{Method: "PUT", URL: contentsURL(other, "strong_authentication") + "/" + ids["email"], Body: email},
		{Method: "DELETE", URL: contentsURL(other, "strong_authentication") + "/" + ids["email"]},
		{Method: "GET", URL: contentsURL(env, "device_pairing") + "/" + ids["email"]},
		{Method: "GET", URL: phoneURL(env) + "/" + uuid.NewString()},
		{Method: "GET", URL: phoneURL(other) + "/" + id},
		{Method: "PUT", URL: phoneURL(other) + "/" + id, Body: sdkCustomProvider()},
		{Method: "DELETE", URL: phoneURL(other) + "/" + id},
		{Method: "GET", URL: phoneURL(uuid.NewString())},
	} {
		t.Run("404 "+r.Method+" "+r.URL, func(t *testing.T) { checkAnswer(t, do(r), notFound) })
	}
	must(t, do(apptest.Request{Method: "DELETE", URL: phoneURL(env) + "/" + twID}), http.StatusNoContent)
	checkAnswer(t, do(apptest.Request{Method: "GET", URL: phoneURL(env) + "/" + twID}), notFound)
}

func mustMarshal(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestNotificationErrors(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			testNotificationErrors(t, apptest.Start(t, apptest.Options{DSN: b.DSN(t)}))
		})
	}
}

// withField returns a copy of m with path (a.b; "x[0]" is x's first
// element) set to v, or removed when v is nil.
func withField(m map[string]any, path string, v any) map[string]any {
	b, _ := json.Marshal(m)
	var c map[string]any
	json.Unmarshal(b, &c)
	cur := c
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		if i := strings.Index(p, "["); i >= 0 {
			n, _ := strconv.Atoi(strings.TrimSuffix(p[i+1:], "]"))
			cur = cur[p[:i]].([]any)[n].(map[string]any)
			continue
		}
		cur = cur[p].(map[string]any)
	}
	if v == nil {
		delete(cur, parts[len(parts)-1])
	} else {
		cur[parts[len(parts)-1]] = v
	}
	return c
}

func testNotificationErrors(t *testing.T, s *apptest.Server) {
	env := newEnv(t, s, "Notification errors", "SANDBOX")
	tok := s.AdminToken(t)
	do := func(r apptest.Request) *apptest.Response { r.Token = tok; return doNo5xx(t, s, r) }
	base := sdkCustomProvider()
	id := checkID(t, must(t, do(apptest.Request{Method: "POST", URL: phoneURL(env), Body: base}), http.StatusCreated), "id")

	type tc struct {
		name string
		body any
		ct   string
		want wantErr
	}
	phoneCases := []tc{
		{"malformed JSON", `{"provider":`, "", wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", ""}},
		{"wrong content type", base, "text/plain", wantErr{415, "INVALID_REQUEST", "INVALID_VALUE", "Content-Type"}},
		{"no provider", withField(base, "provider", nil), "", wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "provider"}},
		{"unknown provider", withField(base, "provider", "PINGONE_TWILIO"), "", wantErr{400, "INVALID_DATA", "INVALID_VALUE", "provider"}},
		{"no name", withField(base, "name", nil), "", wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "name"}},
		{"no requests", withField(base, "requests", []any{}), "", wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "requests"}},
		{"unknown delivery method", withField(base, "requests[0].deliveryMethod", "FAX"), "", wantErr{400, "INVALID_DATA", "INVALID_VALUE", "requests[0].deliveryMethod"}},
		{"unknown method", withField(base, "requests[0].method", "PATCH"), "", wantErr{400, "INVALID_DATA", "INVALID_VALUE", "requests[0].method"}},
		{"url without ${message}", withField(base, "requests[0].url", "https://gw.example.com/?to=${to}"), "", wantErr{400, "INVALID_DATA", "INVALID_VALUE", "requests[0].url"}},
		{"url not absolute", withField(base, "requests[0].url", "/send?to=${to}&m=${message}"), "", wantErr{400, "INVALID_DATA", "INVALID_VALUE", "requests[0].url"}},
		{"url with credentials", withField(base, "requests[0].url", "https://u:p@gw.example.com/?to=${to}&m=${message}"), "", wantErr{400, "INVALID_DATA", "INVALID_VALUE", "requests[0].url"}},
		{"header injection", withField(base, "requests[0].headers", map[string]any{"X-A": "a\r\nX-B: b"}), "", wantErr{400, "INVALID_DATA", "INVALID_VALUE", "requests[0].headers"}},
		// A POST body is JSON or form encoded, named by its Content-Type (as
		// PingOne's custom provider requires): variables are escaped for it.
		{"POST body as XML", withField(base, "requests[1].headers", map[string]any{"Content-Type": "text/xml"}), "", wantErr{400, "INVALID_DATA", "INVALID_VALUE", "requests[1].headers"}},
		{"POST body without a content type", withField(base, "requests[1].headers", nil), "", wantErr{400, "INVALID_DATA", "INVALID_VALUE", "requests[1].headers"}},
		{"no authentication", withField(base, "authentication", nil), "", wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "authentication"}},
		{"unknown auth method", withField(base, "authentication.method", "DIGEST"), "", wantErr{400, "INVALID_DATA", "INVALID_VALUE", "authentication.method"}},
		{"bearer without token", withField(base, "authentication", map[string]any{"method": "BEARER"}), "", wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "authentication.authToken"}},
		{"bad number", withField(base, "numbers", []any{map[string]any{"number": "call me", "type": "PHONE_NUMBER"}}), "", wantErr{400, "INVALID_DATA", "INVALID_VALUE", "numbers[0].number"}},
		{"provider as a number", withField(base, "provider", 7), "", wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "provider"}},
		{"oversized body", `{"provider":"CUSTOM_PROVIDER","name":"` + strings.Repeat("a", 2<<20) + `"}`, "", wantErr{413, "INVALID_REQUEST", "", ""}},
	}
	for _, method := range []string{"POST", "PUT"} {
		url := phoneURL(env)
		if method == "PUT" {
			url += "/" + id
		}
		for _, c := range phoneCases {
			t.Run("phone "+method+" "+c.name, func(t *testing.T) {
				before := string(adminGet(t, s, phoneURL(env)))
				r := do(apptest.Request{Method: method, URL: url, Body: c.body, ContentType: c.ct})
				if c.want.status == 413 {
					if r.Status != 413 {
						t.Fatalf("status %d: %s", r.Status, trimBody(r.Body))
					}
				} else {
					checkAnswer(t, r, c.want)
				}
				if after := string(adminGet(t, s, phoneURL(env))); after != before {
					t.Errorf("a refused %s changed the settings", method)
				}
			})
		}
	}
	// The provider cannot change on a PUT; a twilio create needs its token.
	checkAnswer(t, do(apptest.Request{Method: "PUT", URL: phoneURL(env) + "/" + id, Body: map[string]any{"provider": "CUSTOM_TWILIO", "sid": "AC1", "authToken": "x"}}),
		wantErr{400, "INVALID_DATA", "INVALID_VALUE", "provider"})
	checkAnswer(t, do(apptest.Request{Method: "POST", URL: phoneURL(env), Body: map[string]any{"provider": "CUSTOM_TWILIO", "sid": "AC1"}}),
		wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "authToken"})

	smsBody := map[string]any{"locale": "en", "deliveryMethod": "SMS", "content": "Code ${otp}"}
	cid := checkID(t, must(t, do(apptest.Request{Method: "POST", URL: contentsURL(env, "strong_authentication"), Body: smsBody}), http.StatusCreated), "id")
	contentCases := []tc{
		{"malformed JSON", `{"locale":`, "", wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", ""}},
		{"wrong content type", smsBody, "application/xml", wantErr{415, "INVALID_REQUEST", "INVALID_VALUE", "Content-Type"}},
		{"no locale", withField(smsBody, "locale", nil), "", wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "locale"}},
		{"unknown locale", withField(smsBody, "locale", "klingon"), "", wantErr{400, "INVALID_DATA", "INVALID_VALUE", "locale"}},
		{"no delivery method", withField(smsBody, "deliveryMethod", nil), "", wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "deliveryMethod"}},
		{"delivery method the template lacks", withField(smsBody, "deliveryMethod", "Push"), "", wantErr{400, "INVALID_DATA", "INVALID_VALUE", "deliveryMethod"}},
		{"no content", withField(smsBody, "content", nil), "", wantErr{400, "INVALID_DATA", "INVALID_VALUE", "content"}},
		{"without ${otp}", withField(smsBody, "content", "Your code is ready"), "", wantErr{400, "INVALID_DATA", "INVALID_VALUE", "content"}},
		{"sender too long", withField(smsBody, "sender", "A very long sender"), "", wantErr{400, "INVALID_DATA", "INVALID_VALUE", "sender"}},
		{"email without body", map[string]any{"locale": "en", "deliveryMethod": "Email", "subject": "s"}, "", wantErr{400, "INVALID_DATA", "INVALID_VALUE", "body"}},
		{"email subject injection", map[string]any{"locale": "en", "deliveryMethod": "Email", "subject": "s\r\nBcc: x@y", "body": "${otp}"}, "",
			wantErr{400, "INVALID_DATA", "INVALID_VALUE", "subject"}},
	}
	for _, method := range []string{"POST", "PUT"} {
		url := contentsURL(env, "strong_authentication")
		if method == "PUT" {
			url += "/" + cid
		}
		for _, c := range contentCases {
			t.Run("content "+method+" "+c.name, func(t *testing.T) {
				before := string(adminGet(t, s, contentsURL(env, "strong_authentication")))
				checkAnswer(t, do(apptest.Request{Method: method, URL: url, Body: c.body, ContentType: c.ct}), c.want)
				if after := string(adminGet(t, s, contentsURL(env, "strong_authentication"))); after != before {
					t.Errorf("a refused %s changed the contents", method)
				}
			})
		}
	}
	// A template without dynamic variables refuses unknown ones.
	checkAnswer(t, do(apptest.Request{Method: "POST", URL: contentsURL(env, "recovery_code_template"), Body: map[string]any{"locale": "en",
		"deliveryMethod": "Email", "subject": "Reset", "body": "Code ${code} for ${user.secret}"}}), wantErr{400, "INVALID_DATA", "INVALID_VALUE", "body"})
}
