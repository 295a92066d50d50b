package mgmt_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/accesstoken"
	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/roles"
)

// ---- helpers shared by this package's HTTP tests

// do sends r and fails the test on any 5xx: no request in these tests may
// answer one (PingOne's SDK retries 500s for minutes).
func doNo5xx(t testing.TB, s *apptest.Server, r apptest.Request) *apptest.Response {
	t.Helper()
	resp := s.Do(t, r)
	if resp.Status >= 500 {
		t.Fatalf("%s %s answered %d: %s", r.Method, r.URL, resp.Status, trimBody(resp.Body))
	}
	return resp
}

// short trims a body for a failure message.
func trimBody(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}

// createEnv creates an environment with the admin token and returns its id.
func newEnv(t testing.TB, s *apptest.Server, name, typ string) string {
	t.Helper()
	r := doNo5xx(t, s, apptest.Request{Method: "POST", URL: "/environments", Token: s.AdminToken(t),
		Body: map[string]any{"name": name, "type": typ, "region": "NA", "license": map[string]any{"id": s.LicenseID(t)}}})
	if r.Status != http.StatusCreated {
		t.Fatalf("create environment %s: %d %s", name, r.Status, trimBody(r.Body))
	}
	return r.JSON(t)["id"].(string)
}

// createPop creates a population with the admin token and returns its id.
func newPop(t testing.TB, s *apptest.Server, envID, name string) string {
	t.Helper()
	r := doNo5xx(t, s, apptest.Request{Method: "POST", URL: "/environments/" + envID + "/populations", Token: s.AdminToken(t),
		Body: map[string]any{"name": name}})
	if r.Status != http.StatusCreated {
		t.Fatalf("create population %s: %d %s", name, r.Status, trimBody(r.Body))
	}
	return r.JSON(t)["id"].(string)
}

// getBody reads url with the admin token and returns the body; it is how
// "unchanged" is judged, byte for byte.
func adminGet(t testing.TB, s *apptest.Server, url string) []byte {
	t.Helper()
	r := doNo5xx(t, s, apptest.Request{Method: "GET", URL: url, Token: s.AdminToken(t)})
	if r.Status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, r.Status, trimBody(r.Body))
	}
	return r.Body
}

// listOf decodes a list envelope: count, size and the items' ids.
func listIDs(t testing.TB, r *apptest.Response, collection string) (count, size int, ids []string) {
	t.Helper()
	var l struct {
		Count    int `json:"count"`
		Size     int `json:"size"`
		Embedded map[string][]struct {
			ID string `json:"id"`
		} `json:"_embedded"`
	}
	r.Decode(t, &l)
	for _, it := range l.Embedded[collection] {
		ids = append(ids, it.ID)
	}
	return l.Count, l.Size, ids
}

func wantJSONType(t testing.TB, r *apptest.Response) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
}

// wantErr is the expected answer of a request. An empty code means success:
// only the status and the JSON Content-Type are checked. Otherwise the body
// must be PingOne's error with exactly this code, details[0].code and
// details[0].target (empty detail: no details at all; empty target: none).
type wantErr struct {
	status int
	code   string
	detail string
	target string
}

// checkError asserts r is PingOne's error body as w describes, and returns
// the decoded body.
func checkAnswer(t testing.TB, r *apptest.Response, w wantErr) map[string]any {
	t.Helper()
	if r.Status != w.status {
		t.Fatalf("status = %d, want %d: %s", r.Status, w.status, trimBody(r.Body))
	}
	if r.Status == http.StatusNoContent {
		return nil
	}
	wantJSONType(t, r)
	m := r.JSON(t)
	if w.code == "" {
		return m
	}
	if m["code"] != w.code {
		t.Errorf("code = %v, want %s: %s", m["code"], w.code, trimBody(r.Body))
	}
	if id, _ := m["id"].(string); uuid.Validate(id) != nil || len(id) != 36 {
		t.Errorf("id = %v, want a uuid", m["id"])
	}
	if msg, _ := m["message"].(string); msg == "" {
		t.Errorf("message is empty: %s", trimBody(r.Body))
	}
	details, _ := m["details"].([]any)
	if w.detail == "" {
		if _, ok := m["details"]; ok {
			t.Errorf("details = %v, want none", m["details"])
		}
		return m
	}
	if len(details) == 0 {
		t.Fatalf("no details, want %s: %s", w.detail, trimBody(r.Body))
	}
	d0 := details[0].(map[string]any)
	if d0["code"] != w.detail {
		t.Errorf("details[0].code = %v, want %s: %s", d0["code"], w.detail, trimBody(r.Body))
	}
	target, hasTarget := d0["target"]
	if w.target == "" && hasTarget {
		t.Errorf("details[0].target = %v, want none", target)
	}
	if w.target != "" && target != w.target {
		t.Errorf("details[0].target = %v, want %s: %s", target, w.target, trimBody(r.Body))
	}
	if msg, _ := d0["message"].(string); msg == "" {
		t.Errorf("details[0].message is empty: %s", trimBody(r.Body))
	}
	return m
}

// detail returns details[i] of an error body.
func detailAt(t testing.TB, m map[string]any, i int) map[string]any {
	t.Helper()
	ds, _ := m["details"].([]any)
	if len(ds) <= i {
		t.Fatalf("want at least %d details, got %v", i+1, m["details"])
	}
	return ds[i].(map[string]any)
}

func innerOf(t testing.TB, d map[string]any) map[string]any {
	t.Helper()
	ie, ok := d["innerError"].(map[string]any)
	if !ok {
		t.Fatalf("detail has no innerError: %v", d)
	}
	return ie
}

func strList(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// foreignKey is an RSA key Gatehouse never saw, made once per test binary.
var foreignKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// signForeign signs claims with foreignKey under kid.
func signForeign(t testing.TB, kid string, claims any) string {
	t.Helper()
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: foreignKey(), KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(sig).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// adminClaims are claims shaped exactly like those Gatehouse issues to the
// bootstrap admin, valid for the next hour.
func adminClaims(t testing.TB, s *apptest.Server) accesstoken.Claims {
	now := time.Now()
	env := s.Admin.EnvironmentID
	return accesstoken.Claims{Issuer: s.URL + "/" + env + "/as", Subject: s.Admin.ClientID, Audience: []string{"https://api.pingone.com"},
		ClientID: s.Admin.ClientID, Env: env, Org: s.OrganizationID(t), IssuedAt: now.Unix(), ExpiresAt: now.Add(time.Hour).Unix(),
		ID: uuid.NewString()}
}

// kidOf returns the kid in a compact JWT's header.
func kidOf(t testing.TB, raw string) string {
	t.Helper()
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Headers[0].KeyID
}

// ---- the table

type errCase struct {
	name string
	req  apptest.Request
	want wantErr
	// unchanged are admin-readable URLs whose bodies must be byte-identical
	// before and after the request (nothing lost, nothing changed).
	unchanged []string
	check     func(t *testing.T, r *apptest.Response, m map[string]any)
}

// TestErrors drives every failure mode of the management API through the
// real server on each backend and pins the bytes PingOne's clients decode.
func TestErrors(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			runErrorCases(t, apptest.Start(t, apptest.Options{DSN: b.DSN(t)}))
		})
	}
}

func runErrorCases(t *testing.T, s *apptest.Server) {
	ctx := context.Background()
	admin := s.AdminToken(t)
	lic := s.LicenseID(t)
	org := s.OrganizationID(t)
	adminEnv := s.Admin.EnvironmentID

	x := newEnv(t, s, "Errors X", "SANDBOX")
	y := newEnv(t, s, "Errors Y", "SANDBOX")
	prod := newEnv(t, s, "Errors Production", "PRODUCTION")
	popX := newPop(t, s, x, "Engineering")
	popX2 := newPop(t, s, x, "Marketing")
	popY := newPop(t, s, y, "Sales")

	defaultPop := func(envID string) string {
		r := doNo5xx(t, s, apptest.Request{Method: "GET", URL: "/environments/" + envID + "/populations?filter=" + url.QueryEscape("default eq true"), Token: admin})
		_, _, ids := listIDs(t, r, "populations")
		if len(ids) != 1 {
			t.Fatalf("default population of %s: %s", envID, trimBody(r.Body))
		}
		return ids[0]
	}
	defX := defaultPop(x)

	envAdminX := s.Token(t, s.CreateWorker(t, x, "CLIENT_SECRET_BASIC", [3]string{roles.EnvironmentAdmin.ID, roles.ScopeEnvironment, x}))
	noRoles := s.Token(t, s.CreateWorker(t, x, "CLIENT_SECRET_BASIC"))
	readOnlyX := s.Token(t, s.CreateWorker(t, x, "CLIENT_SECRET_BASIC", [3]string{roles.IdentityDataReadOnly.ID, roles.ScopeEnvironment, x}))

	// A token whose application is deleted, and one whose application is
	// disabled, after the token was issued.
	deletedW := s.CreateWorker(t, adminEnv, "CLIENT_SECRET_BASIC", [3]string{roles.EnvironmentAdmin.ID, roles.ScopeOrganization, org})
	deletedTok := s.Token(t, deletedW)
	if err := s.Store.DeleteApplication(ctx, adminEnv, deletedW.ClientID); err != nil {
		t.Fatal(err)
	}
	disabledW := s.CreateWorker(t, adminEnv, "CLIENT_SECRET_BASIC", [3]string{roles.EnvironmentAdmin.ID, roles.ScopeOrganization, org})
	disabledTok := s.Token(t, disabledW)
	app, err := s.Store.GetApplication(ctx, adminEnv, disabledW.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	app.Enabled = false
	if err := s.Store.UpdateApplication(ctx, app); err != nil {
		t.Fatal(err)
	}

	realKid := kidOf(t, admin)
	expired := adminClaims(t, s)
	expired.IssuedAt, expired.ExpiresAt = time.Now().Add(-2*time.Hour).Unix(), time.Now().Add(-time.Hour).Unix()
	expiredTok, err := s.Keys.Sign(ctx, adminEnv, expired)
	if err != nil {
		t.Fatal(err)
	}
	wrongAud := adminClaims(t, s)
	wrongAud.Audience = []string{"https://example.com"}
	wrongAudTok, err := s.Keys.Sign(ctx, adminEnv, wrongAud)
	if err != nil {
		t.Fatal(err)
	}
	// Claims naming the admin environment, signed by environment Y's key.
	otherEnvTok, err := s.Keys.Sign(ctx, y, adminClaims(t, s))
	if err != nil {
		t.Fatal(err)
	}
	nulEnv := adminClaims(t, s)
	nulEnv.Env = "\x00"
	badEnv := adminClaims(t, s)
	badEnv.Env = "not-an-environment"

	popsX := "/environments/" + x + "/populations"
	popsY := "/environments/" + y + "/populations"
	popXURL := popsX + "/" + popX
	envBody := func(name, typ, region string) map[string]any {
		return map[string]any{"name": name, "type": typ, "region": region, "license": map[string]any{"id": lic}}
	}
	filter := func(base, f string) string { return base + "?filter=" + url.QueryEscape(f) }
	unknown := uuid.NewString()
	big := `{"name":"` + strings.Repeat("a", 1<<20) + `"}`
	dupCT := func(second string) http.Header { return http.Header{"Content-Type": {second}} }

	badRequest := wantErr{http.StatusBadRequest, "INVALID_REQUEST", "INVALID_VALUE", ""}
	notFound := wantErr{http.StatusNotFound, "NOT_FOUND", "", ""}
	forbidden := wantErr{http.StatusForbidden, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""}
	unauthorized := wantErr{http.StatusUnauthorized, "ACCESS_FAILED", "INVALID_TOKEN", ""}
	badFilter := wantErr{http.StatusBadRequest, "INVALID_REQUEST", "INVALID_FILTER", "filter"}
	badLimit := wantErr{http.StatusBadRequest, "INVALID_REQUEST", "INVALID_VALUE", "limit"}
	badCursor := wantErr{http.StatusBadRequest, "INVALID_REQUEST", "INVALID_VALUE", "cursor"}
	ok := wantErr{status: http.StatusOK}

	allEnvs := "/environments"
	envX := "/environments/" + x
	envY := "/environments/" + y

	cases := []errCase{
		// -- bodies
		{name: "malformed JSON on POST environments", req: apptest.Request{Method: "POST", URL: "/environments", Body: `{"name":`},
			want: badRequest, unchanged: []string{allEnvs}},
		{name: "malformed JSON on POST populations", req: apptest.Request{Method: "POST", URL: popsX, Body: `{"name": "a",}`},
			want: badRequest, unchanged: []string{popsX}},
		{name: "empty body", req: apptest.Request{Method: "POST", URL: popsX, Body: ``},
			want: badRequest, unchanged: []string{popsX}},
		{name: "trailing data after the JSON body", req: apptest.Request{Method: "POST", URL: popsX, Body: `{"name":"a"} {"name":"b"}`},
			want: badRequest, unchanged: []string{popsX}},
		{name: "JSON array instead of an object", req: apptest.Request{Method: "POST", URL: popsX, Body: `[]`},
			want: badRequest, unchanged: []string{popsX}},
		{name: "wrong JSON type for environment name", req: apptest.Request{Method: "POST", URL: "/environments",
			Body: `{"name":5,"type":"SANDBOX","region":"NA","license":{"id":"` + lic + `"}}`},
			want: wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "name"}, unchanged: []string{allEnvs}},
		{name: "wrong JSON type for population name", req: apptest.Request{Method: "POST", URL: popsX, Body: `{"name":5}`},
			want: wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "name"}, unchanged: []string{popsX}},
		{name: "wrong JSON type for a nested field", req: apptest.Request{Method: "POST", URL: "/environments",
			Body: `{"name":"n","type":"SANDBOX","region":"NA","license":{"id":7}}`},
			want: wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "license.id"}, unchanged: []string{allEnvs}},
		{name: "NUL character in a string", req: apptest.Request{Method: "POST", URL: popsX, Body: `{"name":"a\u0000b"}`},
			want: wantErr{400, "INVALID_DATA", "INVALID_VALUE", "name"}, unchanged: []string{popsX}},
		{name: "NUL character in a referenced id", req: apptest.Request{Method: "POST", URL: "/environments",
			Body: `{"name":"n","type":"SANDBOX","region":"NA","license":{"id":"\u0000"}}`},
			want: wantErr{400, "INVALID_DATA", "INVALID_VALUE", "license.id"}, unchanged: []string{allEnvs}},

		// -- media types and sizes
		{name: "text/plain body", req: apptest.Request{Method: "POST", URL: popsX, Body: `{"name":"Plain"}`, ContentType: "text/plain"},
			want: wantErr{415, "INVALID_REQUEST", "INVALID_VALUE", "Content-Type"}, unchanged: []string{popsX}},
		{name: "no Content-Type", req: apptest.Request{Method: "POST", URL: "/environments", Body: `{"name":"None"}`, ContentType: "-"},
			want: wantErr{415, "INVALID_REQUEST", "INVALID_VALUE", "Content-Type"}, unchanged: []string{allEnvs}},
		{name: "two Content-Type values, both application/json", req: apptest.Request{Method: "POST", URL: popsX,
			Body: map[string]any{"name": "Twice"}, Headers: dupCT("application/json")},
			want: wantErr{status: http.StatusCreated}},
		{name: "two Content-Type values, one with a charset", req: apptest.Request{Method: "POST", URL: "/environments",
			Body: envBody("Charset", "SANDBOX", "NA"), Headers: dupCT("application/json; charset=UTF-8")},
			want: wantErr{status: http.StatusCreated}},
		{name: "oversized environment body", req: apptest.Request{Method: "POST", URL: "/environments", Body: big},
			want: wantErr{413, "INVALID_REQUEST", "SIZE_LIMIT_EXCEEDED", ""}, unchanged: []string{allEnvs},
			check: func(t *testing.T, r *apptest.Response, m map[string]any) {
				if got := innerOf(t, detailAt(t, m, 0))["maximumValue"]; got != float64(1<<20) {
					t.Errorf("innerError.maximumValue = %v, want 1048576", got)
				}
			}},
		{name: "oversized population body", req: apptest.Request{Method: "POST", URL: popsX, Body: big},
			want: wantErr{413, "INVALID_REQUEST", "SIZE_LIMIT_EXCEEDED", ""}, unchanged: []string{popsX},
			check: func(t *testing.T, r *apptest.Response, m map[string]any) {
				if got := innerOf(t, detailAt(t, m, 0))["maximumValue"]; got != float64(1<<20) {
					t.Errorf("innerError.maximumValue = %v, want 1048576", got)
				}
			}},

		// -- validation
		{name: "environment without required fields", req: apptest.Request{Method: "POST", URL: "/environments", Body: map[string]any{}},
			want: wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "name"}, unchanged: []string{allEnvs},
			check: func(t *testing.T, r *apptest.Response, m map[string]any) {
				var got []string
				for _, d := range m["details"].([]any) {
					d := d.(map[string]any)
					got = append(got, d["code"].(string)+" "+d["target"].(string))
				}
				wantD := []string{"REQUIRED_VALUE name", "REQUIRED_VALUE type", "REQUIRED_VALUE region", "REQUIRED_VALUE license.id"}
				if !slices.Equal(got, wantD) {
					t.Errorf("details = %v, want %v", got, wantD)
				}
			}},
		{name: "environment with blank name and empty license", req: apptest.Request{Method: "POST", URL: "/environments",
			Body: map[string]any{"name": "  ", "type": "SANDBOX", "region": "NA", "license": map[string]any{}}},
			want: wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "name"}, unchanged: []string{allEnvs},
			check: func(t *testing.T, r *apptest.Response, m map[string]any) {
				if d := detailAt(t, m, 1); d["code"] != "REQUIRED_VALUE" || d["target"] != "license.id" {
					t.Errorf("details[1] = %v, want REQUIRED_VALUE license.id", d)
				}
			}},
		{name: "population without a name", req: apptest.Request{Method: "POST", URL: popsX, Body: map[string]any{"description": "d"}},
			want: wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "name"}, unchanged: []string{popsX}},
		{name: "bad enums", req: apptest.Request{Method: "POST", URL: "/environments", Body: envBody("Enums", "TEST", "MARS")},
			want: wantErr{400, "INVALID_DATA", "INVALID_VALUE", "type"}, unchanged: []string{allEnvs},
			check: func(t *testing.T, r *apptest.Response, m map[string]any) {
				if got := strList(innerOf(t, detailAt(t, m, 0))["allowedValues"]); !slices.Equal(got, []string{"PRODUCTION", "SANDBOX"}) {
					t.Errorf("type allowedValues = %v", got)
				}
				d := detailAt(t, m, 1)
				if d["code"] != "INVALID_VALUE" || d["target"] != "region" {
					t.Errorf("details[1] = %v, want INVALID_VALUE region", d)
				}
				if got := strList(innerOf(t, d)["allowedValues"]); !slices.Equal(got, []string{"NA", "EU", "AP", "CA", "AU", "SG"}) {
					t.Errorf("region allowedValues = %v", got)
				}
			}},
		{name: "unknown license", req: apptest.Request{Method: "POST", URL: "/environments",
			Body: map[string]any{"name": "L", "type": "SANDBOX", "region": "NA", "license": map[string]any{"id": unknown}}},
			want: wantErr{400, "INVALID_DATA", "INVALID_VALUE", "license.id"}, unchanged: []string{allEnvs}},
		{name: "bad environment type on /type", req: apptest.Request{Method: "PUT", URL: envX + "/type", Body: map[string]any{"type": "TEST"}},
			want: wantErr{400, "INVALID_DATA", "INVALID_VALUE", "type"}, unchanged: []string{envX}},
		{name: "missing environment type on /type", req: apptest.Request{Method: "PUT", URL: envX + "/type", Body: map[string]any{}},
			want: wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "type"}, unchanged: []string{envX}},
		{name: "unknown product in the bill of materials", req: apptest.Request{Method: "PUT", URL: envX + "/billOfMaterials",
			Body: map[string]any{"products": []any{map[string]any{"type": "NOPE"}}}},
			want: wantErr{400, "INVALID_DATA", "INVALID_VALUE", "products[0].type"}, unchanged: []string{envX, envX + "/billOfMaterials"}},
		{name: "changing an environment's region", req: apptest.Request{Method: "PUT", URL: envX, Body: envBody("Errors X", "SANDBOX", "EU")},
			want: wantErr{400, "INVALID_DATA", "INVALID_VALUE", "region"}, unchanged: []string{envX, allEnvs}},

		// -- not found
		{name: "unknown environment", req: apptest.Request{Method: "GET", URL: "/environments/" + unknown}, want: notFound},
		{name: "malformed environment id", req: apptest.Request{Method: "GET", URL: "/environments/not-a-uuid"}, want: notFound},
		{name: "environment id with a NUL", req: apptest.Request{Method: "GET", URL: "/environments/%00"}, want: notFound},
		{name: "environment id that is not UTF-8", req: apptest.Request{Method: "GET", URL: "/environments/%FF%FE"}, want: notFound},
		{name: "PUT unknown environment", req: apptest.Request{Method: "PUT", URL: "/environments/" + unknown, Body: envBody("U", "SANDBOX", "NA")},
			want: notFound, unchanged: []string{allEnvs}},
		{name: "DELETE unknown environment", req: apptest.Request{Method: "DELETE", URL: "/environments/" + unknown},
			want: notFound, unchanged: []string{allEnvs}},
		{name: "populations of an unknown environment", req: apptest.Request{Method: "GET", URL: "/environments/" + unknown + "/populations"}, want: notFound},
		{name: "POST population into an unknown environment", req: apptest.Request{Method: "POST", URL: "/environments/" + unknown + "/populations",
			Body: map[string]any{"name": "Lost"}}, want: notFound},
		{name: "unknown population", req: apptest.Request{Method: "GET", URL: popsX + "/" + unknown}, want: notFound},
		{name: "malformed population id", req: apptest.Request{Method: "GET", URL: popsX + "/not-a-uuid"}, want: notFound},
		{name: "population id with a NUL", req: apptest.Request{Method: "GET", URL: popsX + "/%00"}, want: notFound},
		{name: "PUT unknown population", req: apptest.Request{Method: "PUT", URL: popsX + "/" + unknown, Body: map[string]any{"name": "Ghost"}},
			want: notFound, unchanged: []string{popsX}},
		{name: "DELETE unknown population", req: apptest.Request{Method: "DELETE", URL: popsX + "/" + unknown},
			want: notFound, unchanged: []string{popsX}},

		// -- a population under another environment
		{name: "GET population under the wrong environment", req: apptest.Request{Method: "GET", URL: popsY + "/" + popX},
			want: notFound},
		{name: "PUT population under the wrong environment", req: apptest.Request{Method: "PUT", URL: popsY + "/" + popX,
			Body: map[string]any{"name": "Hijacked"}}, want: notFound, unchanged: []string{popsX, popXURL, popsY}},
		{name: "DELETE population under the wrong environment", req: apptest.Request{Method: "DELETE", URL: popsY + "/" + popX},
			want: notFound, unchanged: []string{popsX, popXURL, popsY}},

		// -- uniqueness
		{name: "duplicate population name, other case", req: apptest.Request{Method: "POST", URL: popsX, Body: map[string]any{"name": "ENGINEERING"}},
			want: wantErr{400, "INVALID_DATA", "UNIQUENESS_VIOLATION", "name"}, unchanged: []string{popsX}},
		{name: "duplicate of the default population's name", req: apptest.Request{Method: "POST", URL: popsX, Body: map[string]any{"name": "default"}},
			want: wantErr{400, "INVALID_DATA", "UNIQUENESS_VIOLATION", "name"}, unchanged: []string{popsX}},
		{name: "rename a population onto another's name", req: apptest.Request{Method: "PUT", URL: popsX + "/" + popX2,
			Body: map[string]any{"name": "engineering"}},
			want: wantErr{400, "INVALID_DATA", "UNIQUENESS_VIOLATION", "name"}, unchanged: []string{popsX}},

		// -- filters
		{name: "filter syntax error", req: apptest.Request{Method: "GET", URL: filter("/environments", `name eq`)}, want: badFilter},
		{name: "filter on an unknown attribute", req: apptest.Request{Method: "GET", URL: filter("/environments", `colour eq "red"`)},
			want: badFilter, check: func(t *testing.T, r *apptest.Response, m map[string]any) {
				if got := strList(innerOf(t, detailAt(t, m, 0))["supportedAttributes"]); !slices.Contains(got, "name") || !slices.Contains(got, "id") {
					t.Errorf("supportedAttributes = %v", got)
				}
			}},
		{name: "filter operator not allowed", req: apptest.Request{Method: "GET", URL: filter("/environments", `type sw "SAND"`)}, want: badFilter},
		{name: "population filter on an unknown attribute", req: apptest.Request{Method: "GET", URL: filter(popsX, `username eq "a"`)},
			want: badFilter, check: func(t *testing.T, r *apptest.Response, m map[string]any) {
				if got := strList(innerOf(t, detailAt(t, m, 0))["supportedAttributes"]); !slices.Contains(got, "default") {
					t.Errorf("supportedAttributes = %v", got)
				}
			}},
		{name: "population filter operator not allowed", req: apptest.Request{Method: "GET", URL: filter(popsX, `passwordPolicy.id sw "a"`)}, want: badFilter},
		{name: "filter with a bad date-time", req: apptest.Request{Method: "GET", URL: filter("/environments", `createdAt gt "yesterday"`)}, want: badFilter},
		{name: "filter with a string for a boolean", req: apptest.Request{Method: "GET", URL: filter(popsX, `default eq "yes"`)}, want: badFilter},
		{name: "filter with unbalanced parentheses", req: apptest.Request{Method: "GET", URL: filter(popsX, `(name eq "a"`)}, want: badFilter},
		{name: "filter value with a NUL", req: apptest.Request{Method: "GET", URL: filter(popsX, `name eq "\u0000"`)}, want: badFilter},
		{name: "filter that is not UTF-8", req: apptest.Request{Method: "GET", URL: popsX + "?filter=name%20eq%20%22%FF%22"}, want: badFilter},

		// -- paging
		{name: "limit 0", req: apptest.Request{Method: "GET", URL: "/environments?limit=0"}, want: badLimit},
		{name: "limit 1001", req: apptest.Request{Method: "GET", URL: popsX + "?limit=1001"}, want: badLimit,
			check: func(t *testing.T, r *apptest.Response, m map[string]any) {
				ie := innerOf(t, detailAt(t, m, 0))
				if ie["rangeMinimumValue"] != float64(1) || ie["rangeMaximumValue"] != float64(1000) {
					t.Errorf("innerError = %v, want range 1..1000", ie)
				}
			}},
		{name: "limit x", req: apptest.Request{Method: "GET", URL: "/environments?limit=x"}, want: badLimit},
		{name: "limit -1", req: apptest.Request{Method: "GET", URL: popsX + "?limit=-1"}, want: badLimit},
		{name: "cursor not base64", req: apptest.Request{Method: "GET", URL: "/environments?cursor=!!!"}, want: badCursor},
		{name: "cursor of invalid UTF-8", req: apptest.Request{Method: "GET", URL: popsX + "?cursor=_w"}, want: badCursor},
		{name: "cursor of a NUL", req: apptest.Request{Method: "GET", URL: "/environments?cursor=AA"}, want: badCursor},

		// -- authentication
		{name: "no Authorization header", req: apptest.Request{Method: "GET", URL: "/environments", Token: "-"}, want: unauthorized},
		{name: "no Authorization header on a write", req: apptest.Request{Method: "POST", URL: popsX, Token: "-", Body: map[string]any{"name": "Anon"}},
			want: unauthorized, unchanged: []string{popsX}},
		{name: "Basic instead of Bearer", req: apptest.Request{Method: "GET", URL: "/environments", Token: "-",
			Headers: http.Header{"Authorization": {"Basic " + s.Admin.ClientID}}}, want: unauthorized},
		{name: "garbage token", req: apptest.Request{Method: "GET", URL: "/environments", Token: "garbage"}, want: unauthorized},
		{name: "unsigned token", req: apptest.Request{Method: "GET", URL: "/environments",
			Token: "eyJhbGciOiJub25lIn0.eyJlbnYiOiJ4In0."}, want: unauthorized},
		{name: "token signed by a foreign key", req: apptest.Request{Method: "GET", URL: "/environments",
			Token: signForeign(t, uuid.NewString(), adminClaims(t, s))}, want: unauthorized},
		{name: "token signed by a foreign key under the real kid", req: apptest.Request{Method: "PUT", URL: popXURL,
			Token: signForeign(t, realKid, adminClaims(t, s)), Body: map[string]any{"name": "Forged"}},
			want: unauthorized, unchanged: []string{popsX, popXURL}},
		{name: "token naming a NUL environment", req: apptest.Request{Method: "GET", URL: "/environments",
			Token: signForeign(t, realKid, nulEnv)}, want: unauthorized},
		{name: "token naming a malformed environment", req: apptest.Request{Method: "GET", URL: "/environments",
			Token: signForeign(t, realKid, badEnv)}, want: unauthorized},
		{name: "token signed by another environment's key", req: apptest.Request{Method: "GET", URL: "/environments",
			Token: otherEnvTok}, want: unauthorized},
		{name: "expired token", req: apptest.Request{Method: "GET", URL: "/environments", Token: expiredTok}, want: unauthorized},
		{name: "token for another audience", req: apptest.Request{Method: "GET", URL: "/environments", Token: wrongAudTok}, want: unauthorized},
		{name: "token of a deleted application", req: apptest.Request{Method: "GET", URL: "/environments", Token: deletedTok}, want: unauthorized},
		{name: "token of a disabled application", req: apptest.Request{Method: "DELETE", URL: envY, Token: disabledTok},
			want: unauthorized, unchanged: []string{allEnvs}},

		// -- authorisation: Environment Admin scoped to X
		{name: "env admin of X reads X", req: apptest.Request{Method: "GET", URL: envX, Token: envAdminX}, want: ok},
		{name: "env admin of X reads X's populations", req: apptest.Request{Method: "GET", URL: popsX, Token: envAdminX}, want: ok},
		{name: "env admin of X reads a population of X", req: apptest.Request{Method: "GET", URL: popXURL, Token: envAdminX}, want: ok},
		{name: "env admin of X reads Y", req: apptest.Request{Method: "GET", URL: envY, Token: envAdminX}, want: forbidden},
		{name: "env admin of X replaces Y", req: apptest.Request{Method: "PUT", URL: envY, Token: envAdminX, Body: envBody("Taken", "SANDBOX", "NA")},
			want: forbidden, unchanged: []string{envY}},
		{name: "env admin of X deletes Y", req: apptest.Request{Method: "DELETE", URL: envY, Token: envAdminX},
			want: forbidden, unchanged: []string{allEnvs}},
		{name: "env admin of X changes Y's type", req: apptest.Request{Method: "PUT", URL: envY + "/type", Token: envAdminX,
			Body: map[string]any{"type": "PRODUCTION"}}, want: forbidden, unchanged: []string{envY}},
		{name: "env admin of X reads Y's populations", req: apptest.Request{Method: "GET", URL: popsY, Token: envAdminX}, want: forbidden},
		{name: "env admin of X reads a population of Y", req: apptest.Request{Method: "GET", URL: popsY + "/" + popY, Token: envAdminX}, want: forbidden},
		{name: "env admin of X creates a population in Y", req: apptest.Request{Method: "POST", URL: popsY, Token: envAdminX,
			Body: map[string]any{"name": "Intruders"}}, want: forbidden, unchanged: []string{popsY}},
		{name: "env admin of X creates an environment", req: apptest.Request{Method: "POST", URL: "/environments", Token: envAdminX,
			Body: envBody("Mine", "SANDBOX", "NA")}, want: forbidden, unchanged: []string{allEnvs}},
		{name: "env admin of X lists environments", req: apptest.Request{Method: "GET", URL: "/environments", Token: envAdminX}, want: ok,
			check: func(t *testing.T, r *apptest.Response, m map[string]any) {
				if count, size, ids := listIDs(t, r, "environments"); count != 1 || size != 1 || !slices.Equal(ids, []string{x}) {
					t.Errorf("count %d size %d ids %v, want only %s", count, size, ids, x)
				}
			}},
		{name: "env admin of X reads an unknown environment", req: apptest.Request{Method: "GET", URL: "/environments/" + unknown, Token: envAdminX},
			want: notFound},

		// -- authorisation: no roles, read-only
		{name: "worker without roles reads its environment", req: apptest.Request{Method: "GET", URL: envX, Token: noRoles}, want: forbidden},
		{name: "worker without roles lists environments", req: apptest.Request{Method: "GET", URL: "/environments", Token: noRoles}, want: ok,
			check: func(t *testing.T, r *apptest.Response, m map[string]any) {
				if count, size, ids := listIDs(t, r, "environments"); count != 0 || size != 0 || len(ids) != 0 {
					t.Errorf("count %d size %d ids %v, want none", count, size, ids)
				}
			}},
		{name: "worker without roles reads an unknown environment", req: apptest.Request{Method: "GET", URL: "/environments/" + unknown, Token: noRoles},
			want: notFound},
		{name: "read-only worker lists populations", req: apptest.Request{Method: "GET", URL: popsX, Token: readOnlyX}, want: ok},
		{name: "read-only worker creates a population", req: apptest.Request{Method: "POST", URL: popsX, Token: readOnlyX,
			Body: map[string]any{"name": "Nope"}}, want: forbidden, unchanged: []string{popsX}},
		{name: "read-only worker replaces a population", req: apptest.Request{Method: "PUT", URL: popXURL, Token: readOnlyX,
			Body: map[string]any{"name": "Nope"}}, want: forbidden, unchanged: []string{popsX}},
		{name: "read-only worker deletes a population", req: apptest.Request{Method: "DELETE", URL: popXURL, Token: readOnlyX},
			want: forbidden, unchanged: []string{popsX}},
		{name: "read-only worker replaces its environment", req: apptest.Request{Method: "PUT", URL: envX, Token: readOnlyX,
			Body: envBody("Nope", "SANDBOX", "NA")}, want: forbidden, unchanged: []string{envX}},

		// -- routing
		{name: "unknown route", req: apptest.Request{Method: "GET", URL: "/nothing"}, want: notFound},
		{name: "unknown route without a token", req: apptest.Request{Method: "GET", URL: "/nothing/at/all", Token: "-"}, want: notFound},
		{name: "wrong method", req: apptest.Request{Method: "PATCH", URL: "/environments", Body: map[string]any{}},
			want: wantErr{405, "METHOD_NOT_ALLOWED", "", ""}, unchanged: []string{allEnvs},
			check: func(t *testing.T, r *apptest.Response, m map[string]any) {
				allow := r.Header.Get("Allow")
				if !strings.Contains(allow, "GET") || !strings.Contains(allow, "POST") {
					t.Errorf("Allow = %q, want GET and POST", allow)
				}
			}},

		// -- refused operations
		{name: "DELETE a PRODUCTION environment", req: apptest.Request{Method: "DELETE", URL: "/environments/" + prod},
			want: wantErr{400, "REQUEST_FAILED", "", ""}, unchanged: []string{allEnvs}},
		{name: "DELETE the default population", req: apptest.Request{Method: "DELETE", URL: popsX + "/" + defX},
			want: wantErr{400, "REQUEST_FAILED", "", ""}, unchanged: []string{popsX}},
	}

	runErrCases(t, s, cases)

	// The population the wrong-environment writes aimed at is intact, read
	// under its own environment.
	r := doNo5xx(t, s, apptest.Request{Method: "GET", URL: popXURL, Token: admin})
	if r.Status != http.StatusOK || r.JSON(t)["name"] != "Engineering" {
		t.Errorf("population after wrong-environment writes: %d %s", r.Status, trimBody(r.Body))
	}
}

// TestErrorShape pins the JSON members of an error body: exactly id, code,
// message and details, each detail exactly code, target, message and
// innerError when present.
func TestErrorShape(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	r := doNo5xx(t, s, apptest.Request{Method: "POST", URL: "/environments", Token: s.AdminToken(t),
		Body: map[string]any{"name": "Shape", "type": "TEST", "region": "NA", "license": map[string]any{"id": s.LicenseID(t)}}})
	var body map[string]json.RawMessage
	r.Decode(t, &body)
	var keys []string
	for k := range body {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if !reflect.DeepEqual(keys, []string{"code", "details", "id", "message"}) {
		t.Errorf("error members = %v", keys)
	}
	var details []map[string]any
	if err := json.Unmarshal(body["details"], &details); err != nil || len(details) != 1 {
		t.Fatalf("details = %s", body["details"])
	}
	keys = keys[:0]
	for k := range details[0] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if !reflect.DeepEqual(keys, []string{"code", "innerError", "message", "target"}) {
		t.Errorf("detail members = %v", keys)
	}
	// Two failures never share an id.
	r2 := doNo5xx(t, s, apptest.Request{Method: "GET", URL: "/environments/" + uuid.NewString(), Token: s.AdminToken(t)})
	if r.JSON(t)["id"] == r2.JSON(t)["id"] {
		t.Error("two errors share an id")
	}
}
