package mgmt_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/identity"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// deepJSON nests n levels: arrays, or objects {"k": …} when objects.
func deepJSON(n int, objects bool) string {
	if objects {
		return strings.Repeat(`{"k":`, n) + "1" + strings.Repeat("}", n)
	}
	return strings.Repeat("[", n) + strings.Repeat("]", n)
}

// maximum checks details[0].innerError.maximumValue.
func maximum(want int) func(t *testing.T, r *apptest.Response, m map[string]any) {
	return func(t *testing.T, r *apptest.Response, m map[string]any) {
		t.Helper()
		if got := innerOf(t, detailAt(t, m, 0))["maximumValue"]; got != float64(want) {
			t.Errorf("maximumValue = %v, want %d", got, want)
		}
	}
}

// customBody is a user body with n custom attributes attr000… set to "1".
func customBody(username string, n int) map[string]any {
	b := map[string]any{"username": username}
	for i := range n {
		b[fmt.Sprintf("attr%03d", i)] = "1"
	}
	return b
}

// TestBodyBounds: what an attacker with a management token sent before —
// a user with a custom attribute nested 9,000 levels deep, text that is not
// UTF-8 (which Go's decoder turned into U+FFFD, or PostgreSQL refused with
// a 500) — is a 400 INVALID_DATA naming the field, on every path that
// writes a user and on other resources, and nothing is stored. The bounds
// of custom attributes hold at their exact edges.
func TestBodyBounds(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			bodyBoundCases(t, apptest.Start(t, apptest.Options{DSN: b.DSN(t)}))
		})
	}
}

func bodyBoundCases(t *testing.T, s *apptest.Server) {
	env := newEnv(t, s, "Bounds", "SANDBOX")
	users := "/environments/" + env + "/users"
	pops := "/environments/" + env + "/populations"
	strs := []string{"shirt", "blob", "zzz"}
	for i := range identity.MaxCustomAttributes + 1 {
		strs = append(strs, fmt.Sprintf("attr%03d", i))
	}
	defineAttributes(t, s, env, "STRING", false, strs...)
	defineAttributes(t, s, env, "JSON", false, "nested", "prefs")
	joe := users + "/" + userCreate(t, s, env, map[string]any{"username": "joe", "name": map[string]any{"given": "Joe"}})["id"].(string)
	full := users + "/" + userCreate(t, s, env, customBody("full", identity.MaxCustomAttributes))["id"].(string)
	const importType = "application/vnd.pingidentity.user.import+json"

	badData := func(detail, target string) wantErr { return wantErr{400, "INVALID_DATA", detail, target} }
	tooDeep := badData(wire.DetailInvalidValue, "nested")
	deep9000 := `{"username":"deep","nested":` + deepJSON(9000, false) + `}`

	cases := []errCase{
		// -- 9,000 levels, every way a user is written
		{name: "create with a 9,000-level custom attribute", req: apptest.Request{Method: "POST", URL: users, Body: deep9000},
			want: tooDeep, unchanged: []string{users}, check: maximum(wire.MaxJSONDepth)},
		{name: "import with a 9,000-level custom attribute", req: apptest.Request{Method: "POST", URL: users, Body: deep9000, ContentType: importType},
			want: tooDeep, unchanged: []string{users}},
		{name: "replace with 9,000 levels of objects", req: apptest.Request{Method: "PUT", URL: joe,
			Body: `{"username":"joe","nested":` + deepJSON(9000, true) + `}`}, want: tooDeep, unchanged: []string{joe}},
		{name: "patch with 9,000 levels", req: apptest.Request{Method: "PATCH", URL: joe, Body: `{"nested":` + deepJSON(9000, false) + `}`},
			want: tooDeep, unchanged: []string{joe}},
		{name: "9,000 levels in a PingOne attribute", req: apptest.Request{Method: "POST", URL: users,
			Body: `{"username":"deep","name":` + deepJSON(9000, true) + `}`}, want: badData(wire.DetailInvalidValue, "name"), unchanged: []string{users}},
		{name: "9,000 levels in a population", req: apptest.Request{Method: "POST", URL: pops, Body: `{"name":"deep","nested":` + deepJSON(9000, false) + `}`},
			want: tooDeep, unchanged: []string{pops}},

		// -- text that is not UTF-8, named where it is
		{name: "username", req: apptest.Request{Method: "POST", URL: users, Body: "{\"username\":\"ev\xffe\"}"},
			want: badData(wire.DetailInvalidValue, "username"), unchanged: []string{users}},
		{name: "username, a lone surrogate escape", req: apptest.Request{Method: "POST", URL: users, Body: `{"username":"eve\ud800"}`},
			want: badData(wire.DetailInvalidValue, "username"), unchanged: []string{users}},
		{name: "custom attribute", req: apptest.Request{Method: "POST", URL: users, Body: "{\"username\":\"eve\",\"shirt\":\"\xfe\"}"},
			want: badData(wire.DetailInvalidValue, "shirt"), unchanged: []string{users}},
		{name: "custom attribute by import", req: apptest.Request{Method: "POST", URL: users, ContentType: importType,
			Body: "{\"username\":\"eve\",\"shirt\":\"M\xc3\"}"}, want: badData(wire.DetailInvalidValue, "shirt"), unchanged: []string{users}},
		{name: "nested member on replace", req: apptest.Request{Method: "PUT", URL: joe,
			Body: "{\"username\":\"joe\",\"address\":{\"locality\":\"Bruxelles\",\"region\":\"\xed\xa0\x80\"}}"},
			want: badData(wire.DetailInvalidValue, "address.region"), unchanged: []string{joe}},
		{name: "nested custom member on patch", req: apptest.Request{Method: "PATCH", URL: joe, Body: "{\"prefs\":{\"colors\":[\"red\",\"\xff\"]}}"},
			want: badData(wire.DetailInvalidValue, "prefs.colors[1]"), unchanged: []string{joe}},
		{name: "member name", req: apptest.Request{Method: "PATCH", URL: joe, Body: "{\"ti\xfftle\":\"x\"}"},
			want: badData(wire.DetailInvalidValue, "ti\uFFFDtle"), unchanged: []string{joe}},
		{name: "population name", req: apptest.Request{Method: "POST", URL: pops, Body: "{\"name\":\"Ev\xffe\"}"},
			want: badData(wire.DetailInvalidValue, "name"), unchanged: []string{pops}},

		// -- the bounds of custom attributes, at their edges
		{name: "custom attribute 32 levels deep", req: apptest.Request{Method: "POST", URL: users,
			Body: `{"username":"depth32","nested":` + deepJSON(identity.MaxCustomDepth, true) + `}`}, want: wantErr{status: 201}},
		{name: "custom attribute 33 levels deep", req: apptest.Request{Method: "POST", URL: users,
			Body: `{"username":"depth33","nested":` + deepJSON(identity.MaxCustomDepth+1, false) + `}`},
			want: tooDeep, unchanged: []string{users}, check: maximum(identity.MaxCustomDepth)},
		{name: "201 custom attributes", req: apptest.Request{Method: "POST", URL: users, Body: customBody("many", identity.MaxCustomAttributes+1)},
			want: badData(wire.DetailSizeLimit, "attr200"), unchanged: []string{users}, check: maximum(identity.MaxCustomAttributes)},
		{name: "a 201st custom attribute by patch", req: apptest.Request{Method: "PATCH", URL: full, Body: map[string]any{"zzz": true}},
			want: badData(wire.DetailSizeLimit, "zzz"), unchanged: []string{full}},
		{name: "a changed one of 200 by patch", req: apptest.Request{Method: "PATCH", URL: full, Body: map[string]any{"attr007": "7"}},
			want: wantErr{status: 200}},
		// "blob" and a string value of n-6 characters are n bytes.
		{name: "16 KiB of custom attributes", req: apptest.Request{Method: "POST", URL: users,
			Body: map[string]any{"username": "size16k", "blob": strings.Repeat("x", identity.MaxCustomBytes-6)}}, want: wantErr{status: 201}},
		{name: "16 KiB and a byte", req: apptest.Request{Method: "POST", URL: users,
			Body: map[string]any{"username": "size16k1", "blob": strings.Repeat("x", identity.MaxCustomBytes-5)}},
			want: badData(wire.DetailSizeLimit, "blob"), unchanged: []string{users}, check: maximum(identity.MaxCustomBytes)},

		// -- the bound of every body, at its edge: a member the resource
		// ignores may nest 63 levels in the body's object, not 64.
		{name: "a body 64 levels deep", req: apptest.Request{Method: "POST", URL: pops,
			Body: `{"name":"deep64","nested":` + deepJSON(wire.MaxJSONDepth-1, false) + `}`}, want: wantErr{status: 201}},
		{name: "a body 65 levels deep", req: apptest.Request{Method: "POST", URL: pops,
			Body: `{"name":"deep65","nested":` + deepJSON(wire.MaxJSONDepth, true) + `}`},
			want: tooDeep, unchanged: []string{pops}, check: maximum(wire.MaxJSONDepth)},
	}
	runErrCases(t, s, cases)

	// What was accepted is stored as sent, U+FFFD nowhere.
	for _, c := range []struct{ username, attr string }{{"depth32", "nested"}, {"size16k", "blob"}} {
		r := doNo5xx(t, s, apptest.Request{Method: "GET", URL: userFilterURL(users, `username eq "`+c.username+`"`), Token: s.AdminToken(t)})
		if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"`+c.attr+`":`) || strings.Contains(string(r.Body), "\uFFFD") {
			t.Errorf("%s: %d %s", c.username, r.Status, trimBody(r.Body))
		}
	}
}
