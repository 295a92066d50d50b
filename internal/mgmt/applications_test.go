package mgmt_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/provision"
	"github.com/gatehouse-id/gatehouse/internal/roles"
)

// ---- helpers of the application tests (prefixed: other resources' tests
// share this package)

func appsPath(envID string) string { return "/environments/" + envID + "/applications" }

func appWorkerBody(name string) map[string]any {
	return map[string]any{"name": name, "enabled": true, "protocol": "OPENID_CONNECT", "type": "WORKER",
		"grantTypes": []string{"CLIENT_CREDENTIALS"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"}
}

func appWebBody(name string) map[string]any {
	return map[string]any{"name": name, "enabled": true, "protocol": "OPENID_CONNECT", "type": "WEB_APP",
		"grantTypes": []string{"AUTHORIZATION_CODE"}, "responseTypes": []string{"CODE"},
		"redirectUris": []string{"https://app.example.com/callback"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"}
}

// with returns a copy of body with the given members set (nil deletes).
func with(body map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range body {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

// appCreate creates an application and returns the response body.
func appCreate(t testing.TB, s *apptest.Server, tok, envID string, body map[string]any) map[string]any {
	t.Helper()
	r := doNo5xx(t, s, apptest.Request{Method: "POST", URL: appsPath(envID), Token: tok, Body: body})
	if r.Status != http.StatusCreated {
		t.Fatalf("create application %v: %d %s", body["name"], r.Status, trimBody(r.Body))
	}
	return r.JSON(t)
}

// appSecret reads an application's secret body with tok.
func appSecret(t testing.TB, s *apptest.Server, tok, envID, appID string) map[string]any {
	t.Helper()
	r := doNo5xx(t, s, apptest.Request{Method: "GET", URL: appsPath(envID) + "/" + appID + "/secret", Token: tok})
	if r.Status != http.StatusOK {
		t.Fatalf("GET secret: %d %s", r.Status, trimBody(r.Body))
	}
	return r.JSON(t)
}

// appTokenStatus asks for a client_credentials token with HTTP Basic and
// returns the status and the OAuth error code, if any.
func appTokenStatus(t testing.TB, s *apptest.Server, envID, clientID, secret string) (int, string) {
	t.Helper()
	raw := url.QueryEscape(clientID) + ":" + url.QueryEscape(secret)
	r := doNo5xx(t, s, apptest.Request{Method: "POST", URL: s.URL + "/" + envID + "/as/token", Body: "grant_type=client_credentials",
		ContentType: "application/x-www-form-urlencoded",
		Headers:     http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(raw))}}})
	var body struct {
		Error string `json:"error"`
	}
	json.Unmarshal(r.Body, &body)
	return r.Status, body.Error
}

// resourceScopes returns the id of a system resource of envID and its
// scopes' ids by name.
func resourceScopes(t testing.TB, s *apptest.Server, envID, name string) (string, map[string]string) {
	t.Helper()
	ctx := context.Background()
	rs, err := s.Store.ListResources(ctx, envID)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Name != name {
			continue
		}
		scs, err := s.Store.ListScopes(ctx, envID, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, sc := range scs {
			out[sc.Name] = sc.ID
		}
		return r.ID, out
	}
	t.Fatalf("no resource %q in %s", name, envID)
	return "", nil
}

// signOnPolicyIDs returns envID's sign-on policies' ids by name.
func signOnPolicyIDs(t testing.TB, s *apptest.Server, envID string) map[string]string {
	t.Helper()
	ps, err := s.Store.ListSignOnPolicies(context.Background(), envID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range ps {
		out[p.Name] = p.ID
	}
	return out
}

// goldenWith reads a golden request with {{placeholders}} replaced.
func goldenWith(t *testing.T, name string, repl ...string) map[string]any {
	t.Helper()
	b, err := json.Marshal(golden(t, name))
	if err != nil {
		t.Fatal(err)
	}
	b = []byte(strings.NewReplacer(repl...).Replace(string(b)))
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func sameJSONValue(a, b any) bool {
	ab, _ := json.Marshal(a)
	bb, _ := json.Marshal(b)
	return string(ab) == string(bb)
}

// ---- lifecycle as PingOne's SDK drives it

func TestApplicationLifecycleAsSDK(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			tok := s.AdminToken(t)
			envID := newEnv(t, s, "Apps", "SANDBOX")
			base := appsPath(envID)

			// A web application, as PingOne's example creates it.
			web := must(t, s.Do(t, apptest.Request{Method: "POST", URL: base, Token: tok, Body: golden(t, "applications.oidc.create.request.json")}), 201)
			webID := checkID(t, web, "id")
			checkTime(t, web, "createdAt")
			checkTime(t, web, "updatedAt")
			wantFields(t, web, map[string]any{
				"clientId": webID, "environment.id": envID,
				"_links.self.href":        s.APIPath + base + "/" + webID,
				"_links.environment.href": s.APIPath + "/environments/" + envID,
				"_links.secret.href":      s.APIPath + base + "/" + webID + "/secret",
				"_links.grants.href":      s.APIPath + base + "/" + webID + "/grants",
			})
			if _, ok := web["clientSecret"]; ok {
				t.Error("the create response carries the secret: PingOne serves it at …/secret only")
			}
			// Every member of PingOne's example response, with PingOne's
			// values wherever they are not ids, times or links.
			g := golden(t, "applications.oidc.create.response.json")
			for _, k := range keysOf(g) {
				got, ok := web[k]
				if !ok {
					t.Errorf("web response lacks %q", k)
					continue
				}
				switch k {
				case "_links", "environment", "id", "createdAt", "updatedAt":
				default:
					if !sameJSONValue(got, g[k]) {
						t.Errorf("web %s = %v, PingOne has %v", k, got, g[k])
					}
				}
			}

			// A native public client with PKCE, as PingOne's example.
			native := must(t, s.Do(t, apptest.Request{Method: "POST", URL: base, Token: tok, Body: golden(t, "applications.oidc.native.create.request.json")}), 201)
			nativeID := checkID(t, native, "id")
			gn := golden(t, "applications.oidc.native.create.response.json")
			for _, k := range keysOf(gn) {
				got, ok := native[k]
				switch k {
				case "signing":
					// Key rotation policies are not a Gatehouse capability.
					if ok {
						t.Errorf("native response has signing: %v", got)
					}
					continue
				case "_links", "environment", "id", "createdAt", "updatedAt":
					if !ok {
						t.Errorf("native response lacks %q", k)
					}
					continue
				case "clientId":
					got, gn[k] = native["clientId"], nativeID
				}
				if !sameJSONValue(got, gn[k]) {
					t.Errorf("native %s = %v, PingOne has %v", k, got, gn[k])
				}
			}
			if _, ok := get(native, "_links.secret").(map[string]any); ok {
				t.Error("a NONE application links to a secret")
			}

			// Read: the same bytes as the create answered.
			got := must(t, s.Do(t, apptest.Request{Method: "GET", URL: base + "/" + webID, Token: tok}), 200)
			if !sameJSONValue(got, web) {
				t.Errorf("GET differs from POST:\n%v\n%v", got, web)
			}

			// List: this environment's two, paged by the SDK's rules.
			worker := appCreate(t, s, tok, envID, with(appWorkerBody("Worker"), "assignActorRoles", false))
			items, pages := listAll(t, s, tok, s.APIPath+base+"?limit=2", "applications")
			if len(items) != 3 || pages != 2 {
				t.Fatalf("listed %d applications in %d pages, want 3 in 2", len(items), pages)
			}
			var ids []string
			for _, it := range items {
				ids = append(ids, it["id"].(string))
				for _, k := range []string{"protocol", "type", "enabled", "name", "tokenEndpointAuthMethod"} {
					if _, ok := it[k]; !ok {
						t.Errorf("list item %s lacks %q (the SDK's oneOf needs it)", it["id"], k)
					}
				}
			}
			for _, id := range []string{webID, nativeID, worker["id"].(string)} {
				if !slices.Contains(ids, id) {
					t.Errorf("list lacks %s", id)
				}
			}
			workers := must(t, s.Do(t, apptest.Request{Method: "GET", URL: base + "?filter=" + url.QueryEscape(`type eq "WORKER"`), Token: tok}), 200)
			wantFields(t, workers, map[string]any{"count": 1, "size": 1})

			webSecret := appSecret(t, s, tok, envID, webID)["secret"]
			// PUT the whole object back, read-only members included, with
			// changes; an absent description is cleared.
			time.Sleep(2 * time.Millisecond)
			upd := got
			upd["name"] = "Shared-Web-App renamed"
			delete(upd, "description")
			upd["grantTypes"] = []any{"AUTHORIZATION_CODE", "REFRESH_TOKEN"}
			upd["pkceEnforcement"] = "S256_REQUIRED"
			upd["postLogoutRedirectUris"] = []any{"https://app.example.com/bye"}
			upd["corsSettings"] = map[string]any{"behavior": "ALLOW_SPECIFIC_ORIGINS", "origins": []any{"https://app.example.com"}}
			upd["clientSecret"] = "ignored"
			put := must(t, s.Do(t, apptest.Request{Method: "PUT", URL: base + "/" + webID, Token: tok, Body: upd}), 200)
			wantFields(t, put, map[string]any{
				"id": webID, "clientId": webID, "name": "Shared-Web-App renamed", "description": nil, "createdAt": web["createdAt"],
				"grantTypes": []string{"AUTHORIZATION_CODE", "REFRESH_TOKEN"}, "pkceEnforcement": "S256_REQUIRED",
				"refreshTokenDuration": 2592000, "refreshTokenRollingDuration": 15552000,
				"postLogoutRedirectUris": []string{"https://app.example.com/bye"},
				"corsSettings":           map[string]any{"behavior": "ALLOW_SPECIFIC_ORIGINS", "origins": []string{"https://app.example.com"}},
				"clientSecret":           nil,
			})
			if put["updatedAt"] == web["updatedAt"] {
				t.Error("updatedAt did not change")
			}
			// The secret survives a PUT.
			if after := appSecret(t, s, tok, envID, webID)["secret"]; after != webSecret {
				t.Errorf("secret changed on PUT: %v, was %v", after, webSecret)
			}
			after := must(t, s.Do(t, apptest.Request{Method: "GET", URL: base + "/" + webID, Token: tok}), 200)
			if !sameJSONValue(after, put) {
				t.Errorf("GET after PUT differs from the PUT answer:\n%v\n%v", after, put)
			}

			// Delete: 204, then 404, and gone from the list.
			must(t, s.Do(t, apptest.Request{Method: "DELETE", URL: base + "/" + webID, Token: tok}), 204)
			wantFields(t, must(t, s.Do(t, apptest.Request{Method: "GET", URL: base + "/" + webID, Token: tok}), 404), map[string]any{"code": "NOT_FOUND"})
			must(t, s.Do(t, apptest.Request{Method: "DELETE", URL: base + "/" + webID, Token: tok}), 404)
			l := must(t, s.Do(t, apptest.Request{Method: "GET", URL: base, Token: tok}), 200)
			wantFields(t, l, map[string]any{"count": 2, "size": 2})
		})
	}
}

// TestApplicationSecretRotation rotates a secret the way PingOne documents:
// the old secret keeps working until previous.expiresAt, then stops.
func TestApplicationSecretRotation(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			tok := s.AdminToken(t)
			envID := newEnv(t, s, "Secrets", "SANDBOX")
			w := appCreate(t, s, tok, envID, appWorkerBody("Rotating worker"))
			id := w["id"].(string)
			secretURL := appsPath(envID) + "/" + id + "/secret"

			sec := appSecret(t, s, tok, envID, id)
			first, _ := sec["secret"].(string)
			if len(first) < 64 {
				t.Fatalf("secret %q is shorter than PingOne's 64 characters", first)
			}
			wantFields(t, sec, map[string]any{"environment.id": envID, "previous": nil,
				"_links.self.href": s.APIPath + secretURL, "_links.application.href": s.APIPath + appsPath(envID) + "/" + id})
			for _, k := range keysOf(golden(t, "applications.secret.read.response.json")) {
				if _, ok := sec[k]; !ok {
					t.Errorf("secret response lacks %q", k)
				}
			}
			// x/oauth2, as PingOne's SDK gets its token; then the new worker
			// (which inherited the admin's roles) reads its environment.
			wtok := s.TokenFor(t, envID, id, first)
			must(t, s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + envID, Token: wtok}), 200)

			// Rotate, keeping the first secret for three seconds (room for a
			// loaded machine to make the calls below before it expires).
			expires := time.Now().Add(3 * time.Second).UTC().Truncate(time.Millisecond)
			rot := must(t, s.Do(t, apptest.Request{Method: "POST", URL: secretURL, Token: tok,
				Body: map[string]any{"previous": map[string]any{"expiresAt": expires.Format("2006-01-02T15:04:05.000Z")}}}), 200)
			second, _ := rot["secret"].(string)
			if len(second) < 64 || second == first {
				t.Fatalf("rotated secret %q", second)
			}
			wantFields(t, rot, map[string]any{"previous.secret": first, "previous.expiresAt": expires.Format("2006-01-02T15:04:05.000Z")})
			for _, sec := range []string{first, second} {
				if st, code := appTokenStatus(t, s, envID, id, sec); st != 200 {
					t.Errorf("token with a live secret: %d %s", st, code)
				}
			}
			s.TokenFor(t, envID, id, first) // x/oauth2 too
			read := appSecret(t, s, tok, envID, id)
			wantFields(t, read, map[string]any{"secret": second, "previous.secret": first, "previous.expiresAt": expires.Format("2006-01-02T15:04:05.000Z")})
			checkTime(t, read, "previous.lastUsed")

			// After expiresAt the first secret fails; the second works.
			time.Sleep(time.Until(expires) + 100*time.Millisecond)
			if st, code := appTokenStatus(t, s, envID, id, first); st != 401 || code != "invalid_client" {
				t.Errorf("token with the expired previous secret: %d %s, want 401 invalid_client", st, code)
			}
			if st, _ := appTokenStatus(t, s, envID, id, second); st != 200 {
				t.Errorf("token with the current secret: %d", st)
			}
			wantFields(t, appSecret(t, s, tok, envID, id), map[string]any{"secret": second, "previous": nil})

			// Rotating without a body (and without a Content-Type, as the
			// SDK may send it) drops the old secret at once.
			rot = must(t, s.Do(t, apptest.Request{Method: "POST", URL: secretURL, Token: tok}), 200)
			third := rot["secret"].(string)
			wantFields(t, rot, map[string]any{"previous": nil})
			if st, _ := appTokenStatus(t, s, envID, id, second); st != 401 {
				t.Errorf("token with the replaced secret: %d, want 401", st)
			}
			if st, _ := appTokenStatus(t, s, envID, id, third); st != 200 {
				t.Errorf("token with the third secret: %d", st)
			}

			// Keep, then end the grace period early.
			must(t, s.Do(t, apptest.Request{Method: "POST", URL: secretURL, Token: tok,
				Body: map[string]any{"previous": map[string]any{"expiresAt": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}}}), 200)
			if st, _ := appTokenStatus(t, s, envID, id, third); st != 200 {
				t.Errorf("token with the kept secret: %d", st)
			}
			must(t, s.Do(t, apptest.Request{Method: "DELETE", URL: secretURL, Token: tok}), 204)
			if st, _ := appTokenStatus(t, s, envID, id, third); st != 401 {
				t.Errorf("token with a deleted previous secret: %d, want 401", st)
			}

			// A CLIENT_SECRET_POST application's secret works with x/oauth2
			// (which falls back from Basic to the body).
			post := appCreate(t, s, tok, envID, with(appWorkerBody("Post worker"), "tokenEndpointAuthMethod", "CLIENT_SECRET_POST"))
			s.TokenFor(t, envID, post["id"].(string), appSecret(t, s, tok, envID, post["id"].(string))["secret"].(string))

			// A disabled application gets no token, whatever its secret.
			dis := appCreate(t, s, tok, envID, with(appWorkerBody("Disabled worker"), "enabled", false))
			if st, _ := appTokenStatus(t, s, envID, dis["id"].(string), appSecret(t, s, tok, envID, dis["id"].(string))["secret"].(string)); st != 401 {
				t.Errorf("token of a disabled application: %d, want 401", st)
			}

			// Switching to NONE removes the secret; switching back makes a
			// new one.
			nat := appCreate(t, s, tok, envID, with(appWebBody("Native"), "type", "NATIVE_APP"))
			natID := nat["id"].(string)
			oldNative := appSecret(t, s, tok, envID, natID)["secret"].(string)
			nat["tokenEndpointAuthMethod"] = "NONE"
			must(t, s.Do(t, apptest.Request{Method: "PUT", URL: appsPath(envID) + "/" + natID, Token: tok, Body: nat}), 200)
			r := doNo5xx(t, s, apptest.Request{Method: "GET", URL: appsPath(envID) + "/" + natID + "/secret", Token: tok})
			checkAnswer(t, r, wantErr{400, "REQUEST_FAILED", "", ""})
			nat["tokenEndpointAuthMethod"] = "CLIENT_SECRET_BASIC"
			must(t, s.Do(t, apptest.Request{Method: "PUT", URL: appsPath(envID) + "/" + natID, Token: tok, Body: nat}), 200)
			if again := appSecret(t, s, tok, envID, natID)["secret"].(string); again == oldNative || len(again) < 64 {
				t.Errorf("secret after NONE and back = %q (old %q)", again, oldNative)
			}
		})
	}
}

// TestWorkerAssignActorRoles: a WORKER made without assignActorRoles:false
// holds its maker's roles and works at once; with false it holds none.
func TestWorkerAssignActorRoles(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			tok := s.AdminToken(t)
			org := s.OrganizationID(t)
			x := newEnv(t, s, "Actor X", "SANDBOX")
			y := newEnv(t, s, "Actor Y", "SANDBOX")

			inherit := appCreate(t, s, tok, x, appWorkerBody("Inherits"))
			wantFields(t, inherit, map[string]any{"assignActorRoles": true})
			itok := s.TokenFor(t, x, inherit["id"].(string), appSecret(t, s, tok, x, inherit["id"].(string))["secret"].(string))
			must(t, s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + x, Token: itok}), 200)
			must(t, s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + y + "/populations", Token: itok}), 200)
			ras := must(t, s.Do(t, apptest.Request{Method: "GET", URL: appsPath(x) + "/" + inherit["id"].(string) + "/roleAssignments", Token: tok}), 200)
			items := get(ras, "_embedded.roleAssignments").([]any)
			if len(items) != 1 {
				t.Fatalf("inherited role assignments: %v", items)
			}
			wantFields(t, items[0].(map[string]any), map[string]any{"role.id": roles.EnvironmentAdmin.ID, "scope.type": "ORGANIZATION",
				"scope.id": org, "readOnly": false, "application.id": inherit["id"], "environment.id": x})

			none := appCreate(t, s, tok, x, with(appWorkerBody("No roles"), "assignActorRoles", false))
			wantFields(t, none, map[string]any{"assignActorRoles": false})
			ntok := s.TokenFor(t, x, none["id"].(string), appSecret(t, s, tok, x, none["id"].(string))["secret"].(string))
			r := doNo5xx(t, s, apptest.Request{Method: "GET", URL: "/environments/" + x, Token: ntok})
			checkAnswer(t, r, wantErr{403, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""})

			// A worker made by an environment admin of X holds exactly that.
			envAdminX := s.CreateWorker(t, x, "CLIENT_SECRET_BASIC", [3]string{roles.EnvironmentAdmin.ID, roles.ScopeEnvironment, x})
			xtok := s.Token(t, envAdminX)
			made := appCreate(t, s, xtok, x, appWorkerBody("Made by X's admin"))
			mtok := s.TokenFor(t, x, made["id"].(string), appSecret(t, s, xtok, x, made["id"].(string))["secret"].(string))
			must(t, s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + x, Token: mtok}), 200)
			checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: "/environments/" + y, Token: mtok}),
				wantErr{403, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""})

			// Not a WORKER: nothing inherited, assignActorRoles false.
			web := appCreate(t, s, tok, x, with(appWebBody("Web"), "assignActorRoles", true))
			wantFields(t, web, map[string]any{"assignActorRoles": false})
			ras = must(t, s.Do(t, apptest.Request{Method: "GET", URL: appsPath(x) + "/" + web["id"].(string) + "/roleAssignments", Token: tok}), 200)
			wantFields(t, ras, map[string]any{"count": 0, "size": 0})

			// assignActorRoles is for creation: a PUT does not change it.
			inherit["assignActorRoles"] = false
			put := must(t, s.Do(t, apptest.Request{Method: "PUT", URL: appsPath(x) + "/" + inherit["id"].(string), Token: tok, Body: inherit}), 200)
			wantFields(t, put, map[string]any{"assignActorRoles": true})
		})
	}
}

// TestGrantsAndSignOnPolicyAssignmentsAsSDK drives both sub-resources of an
// application through create, read, list, PUT (echoing read-only members)
// and delete.
func TestGrantsAndSignOnPolicyAssignmentsAsSDK(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			tok := s.AdminToken(t)
			envID := newEnv(t, s, "Subresources", "SANDBOX")
			app := appCreate(t, s, tok, envID, appWebBody("Web"))
			appID := app["id"].(string)
			appURL := appsPath(envID) + "/" + appID
			openid, oscopes := resourceScopes(t, s, envID, provision.OpenIDResource)
			p1, p1scopes := resourceScopes(t, s, envID, provision.PingOneResource)

			// Grants.
			req := goldenWith(t, "applications.grants.create.request.json", "{{resourceID}}", openid, "{{scopeID}}", oscopes["profile"])
			req["scopes"] = append(req["scopes"].([]any), map[string]any{"id": oscopes["email"]}, map[string]any{"id": oscopes["profile"]})
			g := must(t, s.Do(t, apptest.Request{Method: "POST", URL: appURL + "/grants", Token: tok, Body: req}), 201)
			gID := checkID(t, g, "id")
			checkTime(t, g, "createdAt")
			checkTime(t, g, "updatedAt")
			wantFields(t, g, map[string]any{"resource.id": openid, "application.id": appID, "environment.id": envID,
				"scopes":           []map[string]string{{"id": oscopes["profile"]}, {"id": oscopes["email"]}},
				"_links.self.href": s.APIPath + appURL + "/grants/" + gID, "_links.application.href": s.APIPath + appURL})
			got := must(t, s.Do(t, apptest.Request{Method: "GET", URL: appURL + "/grants/" + gID, Token: tok}), 200)
			if !sameJSONValue(got, g) {
				t.Errorf("GET grant differs from POST:\n%v\n%v", got, g)
			}
			g2 := must(t, s.Do(t, apptest.Request{Method: "POST", URL: appURL + "/grants", Token: tok, Body: map[string]any{
				"resource": map[string]any{"id": p1}, "scopes": []any{map[string]any{"id": p1scopes["p1:read:user"]}}}}), 201)
			l := must(t, s.Do(t, apptest.Request{Method: "GET", URL: appURL + "/grants", Token: tok}), 200)
			wantFields(t, l, map[string]any{"count": 2, "size": 2, "_links.self.href": s.APIPath + appURL + "/grants"})
			time.Sleep(2 * time.Millisecond)
			got["scopes"] = []any{map[string]any{"id": oscopes["openid"]}, map[string]any{"id": oscopes["address"]}}
			put := must(t, s.Do(t, apptest.Request{Method: "PUT", URL: appURL + "/grants/" + gID, Token: tok, Body: got}), 200)
			wantFields(t, put, map[string]any{"id": gID, "createdAt": g["createdAt"], "resource.id": openid,
				"scopes": []map[string]string{{"id": oscopes["openid"]}, {"id": oscopes["address"]}}})
			if put["updatedAt"] == g["updatedAt"] {
				t.Error("grant updatedAt did not change")
			}
			must(t, s.Do(t, apptest.Request{Method: "DELETE", URL: appURL + "/grants/" + gID, Token: tok}), 204)
			must(t, s.Do(t, apptest.Request{Method: "GET", URL: appURL + "/grants/" + gID, Token: tok}), 404)
			l = must(t, s.Do(t, apptest.Request{Method: "GET", URL: appURL + "/grants", Token: tok}), 200)
			if _, _, ids := listIDs(t, &apptest.Response{Body: appJSON(t, l)}, "grants"); !slices.Equal(ids, []string{g2["id"].(string)}) {
				t.Errorf("grants after delete: %v", ids)
			}

			// Sign-on policy assignments, listed by priority.
			pols := signOnPolicyIDs(t, s, envID)
			req = goldenWith(t, "applications.signOnPolicyAssignments.create.request.json", "{{policyID}}", pols["Multi_Factor"])
			req["priority"] = 2
			a2 := must(t, s.Do(t, apptest.Request{Method: "POST", URL: appURL + "/signOnPolicyAssignments", Token: tok, Body: req}), 201)
			a2ID := checkID(t, a2, "id")
			wantFields(t, a2, map[string]any{"priority": 2, "signOnPolicy.id": pols["Multi_Factor"], "application.id": appID,
				"environment.id": envID, "_links.self.href": s.APIPath + appURL + "/signOnPolicyAssignments/" + a2ID,
				"_links.signOnPolicy.href": s.APIPath + "/environments/" + envID + "/signOnPolicies/" + pols["Multi_Factor"]})
			a1 := must(t, s.Do(t, apptest.Request{Method: "POST", URL: appURL + "/signOnPolicyAssignments", Token: tok,
				Body: goldenWith(t, "applications.signOnPolicyAssignments.create.request.json", "{{policyID}}", pols["Single_Factor"])}), 201)
			l = must(t, s.Do(t, apptest.Request{Method: "GET", URL: appURL + "/signOnPolicyAssignments", Token: tok}), 200)
			wantFields(t, l, map[string]any{"count": 2, "size": 2})
			order := get(l, "_embedded.signOnPolicyAssignments").([]any)
			if order[0].(map[string]any)["id"] != a1["id"] || order[1].(map[string]any)["id"] != a2ID {
				t.Errorf("assignments not by priority: %v", order)
			}
			gotA := must(t, s.Do(t, apptest.Request{Method: "GET", URL: appURL + "/signOnPolicyAssignments/" + a2ID, Token: tok}), 200)
			if !sameJSONValue(gotA, a2) {
				t.Errorf("GET assignment differs from POST:\n%v\n%v", gotA, a2)
			}
			gotA["priority"] = 5
			putA := must(t, s.Do(t, apptest.Request{Method: "PUT", URL: appURL + "/signOnPolicyAssignments/" + a2ID, Token: tok, Body: gotA}), 200)
			wantFields(t, putA, map[string]any{"id": a2ID, "priority": 5, "signOnPolicy.id": pols["Multi_Factor"]})
			must(t, s.Do(t, apptest.Request{Method: "DELETE", URL: appURL + "/signOnPolicyAssignments/" + a2ID, Token: tok}), 204)
			must(t, s.Do(t, apptest.Request{Method: "GET", URL: appURL + "/signOnPolicyAssignments/" + a2ID, Token: tok}), 404)

			// Deleting the application takes its grants and assignments.
			must(t, s.Do(t, apptest.Request{Method: "DELETE", URL: appURL, Token: tok}), 204)
			must(t, s.Do(t, apptest.Request{Method: "GET", URL: appURL + "/grants", Token: tok}), 404)
			gs, err := s.Store.ListApplicationGrants(context.Background(), envID, appID)
			if err != nil || len(gs) != 0 {
				t.Errorf("grants of a deleted application: %v %v", gs, err)
			}
		})
	}
}

func appJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ---- bad input, authorisation and isolation

type appCase struct {
	name      string
	req       apptest.Request
	want      wantErr
	unchanged []string
	check     func(t *testing.T, m map[string]any)
}

func TestApplicationErrors(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			runApplicationErrors(t, apptest.Start(t, apptest.Options{DSN: b.DSN(t)}))
		})
	}
}

func runApplicationErrors(t *testing.T, s *apptest.Server) {
	admin := s.AdminToken(t)
	x := newEnv(t, s, "App errors X", "SANDBOX")
	y := newEnv(t, s, "App errors Y", "SANDBOX")
	appsX, appsY := appsPath(x), appsPath(y)
	web := appCreate(t, s, admin, x, appWebBody("Web"))["id"].(string)
	webY := appCreate(t, s, admin, y, appWebBody("Web"))["id"].(string)
	native := appCreate(t, s, admin, x, with(appWebBody("Native"), "type", "NATIVE_APP", "tokenEndpointAuthMethod", "NONE"))["id"].(string)
	webURL := appsX + "/" + web
	openidX, oscopesX := resourceScopes(t, s, x, provision.OpenIDResource)
	p1X, p1scopesX := resourceScopes(t, s, x, provision.PingOneResource)
	openidY, oscopesY := resourceScopes(t, s, y, provision.OpenIDResource)
	polsX, polsY := signOnPolicyIDs(t, s, x), signOnPolicyIDs(t, s, y)
	grant := func(res string, scopes ...string) map[string]any {
		sc := []any{}
		for _, id := range scopes {
			sc = append(sc, map[string]any{"id": id})
		}
		return map[string]any{"resource": map[string]any{"id": res}, "scopes": sc}
	}
	existingGrant := appCreateSub(t, s, admin, webURL+"/grants", grant(openidX, oscopesX["profile"]))
	sopa := func(prio any, policy string) map[string]any {
		return map[string]any{"priority": prio, "signOnPolicy": map[string]any{"id": policy}}
	}
	appCreateSub(t, s, admin, webURL+"/signOnPolicyAssignments", sopa(1, polsX["Single_Factor"]))

	configRO := s.Token(t, s.CreateWorker(t, x, "CLIENT_SECRET_BASIC", [3]string{roles.ConfigurationReadOnly.ID, roles.ScopeEnvironment, x}))
	identityRO := s.Token(t, s.CreateWorker(t, x, "CLIENT_SECRET_BASIC", [3]string{roles.IdentityDataReadOnly.ID, roles.ScopeEnvironment, x}))
	devX := s.Token(t, s.CreateWorker(t, x, "CLIENT_SECRET_BASIC", [3]string{roles.ClientApplicationDeveloper.ID, roles.ScopeEnvironment, x}))
	selfW := s.CreateWorker(t, x, "CLIENT_SECRET_BASIC", [3]string{roles.EnvironmentAdmin.ID, roles.ScopeEnvironment, x})
	selfTok := s.Token(t, selfW)
	// An application holding Environment Admin over the organization: an
	// admin of X alone must not read its secret.
	orgWorker := s.CreateWorker(t, x, "CLIENT_SECRET_BASIC", [3]string{roles.EnvironmentAdmin.ID, roles.ScopeOrganization, s.OrganizationID(t)})

	unknown := uuid.NewString()
	req := func(method, u string, body any) apptest.Request {
		return apptest.Request{Method: method, URL: u, Body: body}
	}
	invalid := func(detail, target string) wantErr { return wantErr{400, "INVALID_DATA", detail, target} }
	notFound := wantErr{404, "NOT_FOUND", "", ""}
	forbidden := wantErr{403, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""}
	allowed := func(want ...string) func(t *testing.T, m map[string]any) {
		return func(t *testing.T, m map[string]any) {
			if got := strList(innerOf(t, detailAt(t, m, 0))["allowedValues"]); !slices.Equal(got, want) {
				t.Errorf("allowedValues = %v, want %v", got, want)
			}
		}
	}
	worker := appWorkerBody("W")
	webB := appWebBody("W")
	detailMessage := func(want string) func(t *testing.T, m map[string]any) {
		return func(t *testing.T, m map[string]any) {
			if got := detailAt(t, m, 0)["message"]; got != want {
				t.Errorf("details[0].message = %v, want %q", got, want)
			}
		}
	}

	cases := []appCase{
		// -- required members and enums
		{name: "missing name", req: req("POST", appsX, with(worker, "name", nil)), want: invalid("REQUIRED_VALUE", "name"), unchanged: []string{appsX}},
		{name: "blank name", req: req("POST", appsX, with(worker, "name", "  ")), want: invalid("REQUIRED_VALUE", "name"), unchanged: []string{appsX}},
		{name: "empty body", req: req("POST", appsX, map[string]any{}), want: invalid("REQUIRED_VALUE", "name"), unchanged: []string{appsX},
			check: func(t *testing.T, m map[string]any) {
				var got []string
				for _, d := range m["details"].([]any) {
					d := d.(map[string]any)
					got = append(got, d["code"].(string)+" "+d["target"].(string))
				}
				want := []string{"REQUIRED_VALUE name", "REQUIRED_VALUE enabled", "REQUIRED_VALUE protocol", "REQUIRED_VALUE type",
					"REQUIRED_VALUE tokenEndpointAuthMethod", "REQUIRED_VALUE grantTypes"}
				if !slices.Equal(got, want) {
					t.Errorf("details = %v, want %v", got, want)
				}
			}},
		{name: "bad type", req: req("POST", appsX, with(worker, "type", "ROBOT")), want: invalid("INVALID_VALUE", "type"), unchanged: []string{appsX},
			check: allowed("WEB_APP", "NATIVE_APP", "SINGLE_PAGE_APP", "WORKER", "SERVICE", "CUSTOM_APP")},
		{name: "system application type", req: req("POST", appsX, with(worker, "type", "PING_ONE_PORTAL")), want: invalid("INVALID_VALUE", "type"), unchanged: []string{appsX}},
		{name: "EXTERNAL_LINK is not supported", req: req("POST", appsX, with(worker, "protocol", "EXTERNAL_LINK")), want: invalid("INVALID_VALUE", "protocol"), unchanged: []string{appsX},
			check: func(t *testing.T, m map[string]any) {
				allowed("OPENID_CONNECT", "SAML")(t, m)
				if msg := detailAt(t, m, 0)["message"].(string); !strings.Contains(msg, "not supported") {
					t.Errorf("message %q does not say EXTERNAL_LINK is not supported", msg)
				}
			}},
		{name: "WS_FED is not supported", req: req("POST", appsX, with(worker, "protocol", "WS_FED")), want: invalid("INVALID_VALUE", "protocol"), unchanged: []string{appsX}},
		{name: "unknown protocol", req: req("POST", appsX, with(worker, "protocol", "OAUTH1")), want: invalid("INVALID_VALUE", "protocol"), unchanged: []string{appsX},
			check: allowed("OPENID_CONNECT", "SAML")},
		{name: "bad grant type", req: req("POST", appsX, with(worker, "grantTypes", []string{"CLIENT_CREDENTIALS", "PASSWORD"})),
			want: invalid("INVALID_VALUE", "grantTypes[1]"), unchanged: []string{appsX}},
		{name: "bad auth method", req: req("POST", appsX, with(worker, "tokenEndpointAuthMethod", "MTLS")),
			want: invalid("INVALID_VALUE", "tokenEndpointAuthMethod"), unchanged: []string{appsX}},
		{name: "bad pkceEnforcement", req: req("POST", appsX, with(webB, "pkceEnforcement", "ALWAYS")), want: invalid("INVALID_VALUE", "pkceEnforcement"),
			unchanged: []string{appsX}, check: allowed("OPTIONAL", "REQUIRED", "S256_REQUIRED")},
		{name: "bad response type", req: req("POST", appsX, with(webB, "responseTypes", []string{"CODE", "DEVICE"})), want: invalid("INVALID_VALUE", "responseTypes[1]"), unchanged: []string{appsX}},

		// -- grant types that do not fit together
		{name: "REFRESH_TOKEN alone", req: req("POST", appsX, with(worker, "grantTypes", []string{"REFRESH_TOKEN"})), want: invalid("INVALID_VALUE", "grantTypes"), unchanged: []string{appsX}},
		{name: "AUTHORIZATION_CODE without CODE", req: req("POST", appsX, with(webB, "responseTypes", nil)), want: invalid("INVALID_VALUE", "responseTypes"), unchanged: []string{appsX}},
		{name: "AUTHORIZATION_CODE without redirect URIs", req: req("POST", appsX, with(webB, "redirectUris", nil)), want: invalid("REQUIRED_VALUE", "redirectUris"), unchanged: []string{appsX}},
		{name: "IMPLICIT with CODE only", req: req("POST", appsX, with(webB, "grantTypes", []string{"IMPLICIT"})), want: invalid("INVALID_VALUE", "responseTypes"), unchanged: []string{appsX}},
		{name: "CODE without AUTHORIZATION_CODE", req: req("POST", appsX, with(worker, "responseTypes", []string{"CODE"})), want: invalid("INVALID_VALUE", "responseTypes"), unchanged: []string{appsX}},
		{name: "WORKER with DEVICE_CODE", req: req("POST", appsX, with(worker, "grantTypes", []string{"CLIENT_CREDENTIALS", "DEVICE_CODE"})), want: invalid("INVALID_VALUE", "grantTypes"), unchanged: []string{appsX}},
		{name: "SPA with CLIENT_CREDENTIALS", req: req("POST", appsX, with(webB, "type", "SINGLE_PAGE_APP", "tokenEndpointAuthMethod", "NONE",
			"grantTypes", []string{"AUTHORIZATION_CODE", "CLIENT_CREDENTIALS"})), want: invalid("INVALID_VALUE", "grantTypes"), unchanged: []string{appsX}},
		{name: "WORKER with NONE", req: req("POST", appsX, with(worker, "tokenEndpointAuthMethod", "NONE")), want: invalid("INVALID_VALUE", "tokenEndpointAuthMethod"), unchanged: []string{appsX}},
		{name: "WEB_APP with NONE", req: req("POST", appsX, with(webB, "tokenEndpointAuthMethod", "NONE")), want: invalid("INVALID_VALUE", "tokenEndpointAuthMethod"), unchanged: []string{appsX}},
		{name: "SPA with a secret", req: req("POST", appsX, with(webB, "type", "SINGLE_PAGE_APP")), want: invalid("INVALID_VALUE", "tokenEndpointAuthMethod"),
			unchanged: []string{appsX}, check: allowed("NONE")},
		{name: "PRIVATE_KEY_JWT without keys", req: req("POST", appsX, with(webB, "tokenEndpointAuthMethod", "PRIVATE_KEY_JWT")), want: invalid("REQUIRED_VALUE", "jwksUrl"), unchanged: []string{appsX}},
		{name: "PRIVATE_KEY_JWT with a jwks URL", req: req("POST", appsX, with(webB, "tokenEndpointAuthMethod", "PRIVATE_KEY_JWT", "jwksUrl", "https://app.example.com/jwks")), want: wantErr{status: 201}},
		{name: "request objects both required signed and allowed unsigned", req: req("POST", appsX, with(webB, "requireSignedRequestObject", true, "supportUnsignedRequestObject", true)),
			want: invalid("INVALID_VALUE", "supportUnsignedRequestObject"), unchanged: []string{appsX}},
		{name: "PUT requiring signed and allowing unsigned request objects", req: req("PUT", webURL, with(webB, "requireSignedRequestObject", true, "supportUnsignedRequestObject", true)),
			want: invalid("INVALID_VALUE", "supportUnsignedRequestObject"), unchanged: []string{webURL}},
		{name: "jwks that is not a key set", req: req("POST", appsX, with(webB, "jwks", `{"keys":[]}`)), want: invalid("INVALID_VALUE", "jwks"), unchanged: []string{appsX}},

		// -- URIs and ranges
		{name: "relative redirect URI", req: req("POST", appsX, with(webB, "redirectUris", []string{"/callback"})), want: invalid("INVALID_VALUE", "redirectUris[0]"), unchanged: []string{appsX}},
		{name: "redirect URI with a fragment", req: req("POST", appsX, with(webB, "redirectUris", []string{"https://a.example.com/cb", "https://a.example.com/cb#x"})),
			want: invalid("INVALID_VALUE", "redirectUris[1]"), unchanged: []string{appsX}},
		{name: "javascript redirect URI", req: req("POST", appsX, with(webB, "redirectUris", []string{"javascript:alert(1)"})), want: invalid("INVALID_VALUE", "redirectUris[0]"), unchanged: []string{appsX}},
		{name: "wildcard redirect URI without the flag", req: req("POST", appsX, with(webB, "redirectUris", []string{"https://*.example.com/cb"})),
			want: invalid("INVALID_VALUE", "redirectUris[0]"), unchanged: []string{appsX}},
		{name: "wildcard redirect URI with the flag", req: req("POST", appsX, with(webB, "redirectUris", []string{"https://app.example.com/*/cb"}, "allowWildcardInRedirectUris", true)),
			want: wantErr{status: 201}, check: func(t *testing.T, m map[string]any) {
				wantFields(t, m, map[string]any{"allowWildcardInRedirectUris": true, "redirectUris": []string{"https://app.example.com/*/cb"}})
			}},
		{name: "native private-scheme redirect URI", req: req("POST", appsX, with(webB, "type", "NATIVE_APP", "tokenEndpointAuthMethod", "NONE",
			"redirectUris", []string{"com.example.app:/oauth2redirect"})), want: wantErr{status: 201}},
		{name: "bad post-logout URI", req: req("POST", appsX, with(webB, "postLogoutRedirectUris", []string{"nope"})), want: invalid("INVALID_VALUE", "postLogoutRedirectUris[0]"), unchanged: []string{appsX}},
		{name: "refresh token duration too short", req: req("POST", appsX, with(webB, "grantTypes", []string{"AUTHORIZATION_CODE", "REFRESH_TOKEN"}, "refreshTokenDuration", 59)),
			want: invalid("INVALID_VALUE", "refreshTokenDuration"), unchanged: []string{appsX}, check: func(t *testing.T, m map[string]any) {
				ie := innerOf(t, detailAt(t, m, 0))
				if ie["rangeMinimumValue"] != float64(60) || ie["rangeMaximumValue"] != float64(2147483647) {
					t.Errorf("innerError = %v", ie)
				}
			}},
		{name: "rolling duration below duration", req: req("POST", appsX, with(webB, "refreshTokenDuration", 7200, "refreshTokenRollingDuration", 3600)),
			want: invalid("INVALID_VALUE", "refreshTokenRollingDuration"), unchanged: []string{appsX}},
		{name: "parTimeout out of range", req: req("POST", appsX, with(webB, "parTimeout", 601)), want: invalid("INVALID_VALUE", "parTimeout"), unchanged: []string{appsX}},
		{name: "devicePathId with a space", req: req("POST", appsX, with(webB, "devicePathId", "living room")), want: invalid("INVALID_VALUE", "devicePathId"), unchanged: []string{appsX}},
		{name: "devicePathId too long", req: req("POST", appsX, with(webB, "devicePathId", strings.Repeat("d", 51))), want: invalid("INVALID_VALUE", "devicePathId"), unchanged: []string{appsX}},
		{name: "devicePathId another application's id", req: req("POST", appsX, with(webB, "devicePathId", native)), want: invalid("INVALID_VALUE", "devicePathId"),
			unchanged: []string{appsX}, check: detailMessage("devicePathId cannot be a UUID: the device verification page reads a UUID as an application id.")},
		{name: "PUT devicePathId a UUID in capitals", req: req("PUT", webURL, with(webB, "devicePathId", strings.ToUpper(uuid.NewString()))), want: invalid("INVALID_VALUE", "devicePathId"),
			unchanged: []string{webURL}, check: detailMessage("devicePathId cannot be a UUID: the device verification page reads a UUID as an application id.")},
		{name: "devicePathId of 32 hex digits", req: req("POST", appsX, with(webB, "devicePathId", strings.ReplaceAll(uuid.NewString(), "-", ""))), want: wantErr{status: 201}},
		{name: "deviceCustomVerificationUri not a URL", req: req("POST", appsX, with(webB, "deviceCustomVerificationUri", "activate")), want: invalid("INVALID_VALUE", "deviceCustomVerificationUri"), unchanged: []string{appsX}},
		{name: "deviceTimeout out of range", req: req("POST", appsX, with(webB, "deviceTimeout", 3601)), want: invalid("INVALID_VALUE", "deviceTimeout"), unchanged: []string{appsX}},
		{name: "devicePollingInterval out of range", req: req("POST", appsX, with(webB, "devicePollingInterval", 61)), want: invalid("INVALID_VALUE", "devicePollingInterval"), unchanged: []string{appsX}},
		{name: "device settings", req: req("POST", appsX, with(webB, "type", "NATIVE_APP", "tokenEndpointAuthMethod", "NONE", "grantTypes", []string{"DEVICE_CODE"},
			"responseTypes", nil, "devicePathId", "tv_1", "deviceCustomVerificationUri", "https://tv.example.com/activate", "deviceTimeout", 900, "devicePollingInterval", 10)),
			want: wantErr{status: 201}, check: func(t *testing.T, m map[string]any) {
				wantFields(t, m, map[string]any{"devicePathId": "tv_1", "deviceCustomVerificationUri": "https://tv.example.com/activate", "deviceTimeout": 900, "devicePollingInterval": 10})
			}},
		{name: "devicePathId another application has", req: req("POST", appsX, with(webB, "devicePathId", "tv_1")),
			want: invalid("UNIQUENESS_VIOLATION", "devicePathId"), unchanged: []string{appsX}, check: detailMessage("Another application of the environment has this devicePathId.")},
		{name: "PUT devicePathId another application has", req: req("PUT", webURL, with(webB, "devicePathId", "tv_1")),
			want: invalid("UNIQUENESS_VIOLATION", "devicePathId"), unchanged: []string{webURL}, check: detailMessage("Another application of the environment has this devicePathId.")},
		{name: "bad homePageUrl", req: req("POST", appsX, with(webB, "homePageUrl", "ftp://example.com")), want: invalid("INVALID_VALUE", "homePageUrl"), unchanged: []string{appsX}},
		{name: "CORS origins without behavior", req: req("POST", appsX, with(webB, "corsSettings", map[string]any{"origins": []string{"https://a.example.com"}})),
			want: invalid("REQUIRED_VALUE", "corsSettings.behavior"), unchanged: []string{appsX}},
		{name: "name too long", req: req("POST", appsX, with(worker, "name", strings.Repeat("n", 257))), want: invalid("SIZE_LIMIT_EXCEEDED", "name"), unchanged: []string{appsX}},

		// -- bodies and media types
		{name: "wrong JSON type", req: req("POST", appsX, `{"name":5}`), want: wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "name"}, unchanged: []string{appsX}},
		{name: "fractional number", req: req("POST", appsX, appJSON(t, with(webB, "parTimeout", 1.5))), want: wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "parTimeout"}, unchanged: []string{appsX}},
		{name: "malformed JSON", req: req("POST", appsX, `{"name":`), want: wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", ""}, unchanged: []string{appsX}},
		{name: "text/plain", req: apptest.Request{Method: "POST", URL: appsX, Body: appJSON(t, worker), ContentType: "text/plain"},
			want: wantErr{415, "INVALID_REQUEST", "INVALID_VALUE", "Content-Type"}, unchanged: []string{appsX}},
		{name: "oversized body", req: req("POST", appsX, `{"name":"`+strings.Repeat("a", 1<<20)+`"}`),
			want: wantErr{413, "INVALID_REQUEST", "SIZE_LIMIT_EXCEEDED", ""}, unchanged: []string{appsX}},

		// -- replace
		{name: "PUT changing the type", req: req("PUT", webURL, with(webB, "type", "NATIVE_APP")), want: invalid("INVALID_VALUE", "type"), unchanged: []string{webURL}},
		{name: "PUT without a name", req: req("PUT", webURL, with(webB, "name", nil)), want: invalid("REQUIRED_VALUE", "name"), unchanged: []string{webURL}},

		// -- not found and other environments
		{name: "unknown application", req: req("GET", appsX+"/"+unknown, nil), want: notFound},
		{name: "malformed application id", req: req("GET", appsX+"/not-a-uuid", nil), want: notFound},
		{name: "PUT unknown application", req: req("PUT", appsX+"/"+unknown, webB), want: notFound, unchanged: []string{appsX}},
		{name: "DELETE unknown application", req: req("DELETE", appsX+"/"+unknown, nil), want: notFound, unchanged: []string{appsX}},
		{name: "applications of an unknown environment", req: req("GET", appsPath(unknown), nil), want: notFound},
		{name: "POST into an unknown environment", req: req("POST", appsPath(unknown), worker), want: notFound},
		{name: "application of Y under X", req: req("GET", appsX+"/"+webY, nil), want: notFound},
		{name: "PUT application of Y under X", req: req("PUT", appsX+"/"+webY, webB), want: notFound, unchanged: []string{appsY + "/" + webY}},
		{name: "DELETE application of Y under X", req: req("DELETE", appsX+"/"+webY, nil), want: notFound, unchanged: []string{appsY}},
		{name: "secret of Y's application under X", req: req("GET", appsX+"/"+webY+"/secret", nil), want: notFound},
		{name: "rotate Y's secret under X", req: req("POST", appsX+"/"+webY+"/secret", nil), want: notFound},
		{name: "grants of Y's application under X", req: req("GET", appsX+"/"+webY+"/grants", nil), want: notFound},
		{name: "grant on Y's application under X", req: req("POST", appsX+"/"+webY+"/grants", grant(openidX, oscopesX["email"])), want: notFound,
			unchanged: []string{appsY + "/" + webY + "/grants"}},
		{name: "assignments of Y's application under X", req: req("GET", appsX+"/"+webY+"/signOnPolicyAssignments", nil), want: notFound},

		// -- secret rules
		{name: "secret of a NONE application", req: req("GET", appsX+"/"+native+"/secret", nil), want: wantErr{400, "REQUEST_FAILED", "", ""}},
		{name: "rotating a NONE application's secret", req: req("POST", appsX+"/"+native+"/secret", nil), want: wantErr{400, "REQUEST_FAILED", "", ""}},
		{name: "previous secret expiring in the past", req: req("POST", webURL+"/secret", map[string]any{"previous": map[string]any{"expiresAt": "2020-01-01T00:00:00.000Z"}}),
			want: invalid("INVALID_VALUE", "previous.expiresAt"), unchanged: []string{webURL + "/secret"}},
		{name: "previous secret kept beyond 30 days", req: req("POST", webURL+"/secret",
			map[string]any{"previous": map[string]any{"expiresAt": time.Now().Add(31 * 24 * time.Hour).UTC().Format(time.RFC3339)}}),
			want: invalid("INVALID_VALUE", "previous.expiresAt"), unchanged: []string{webURL + "/secret"}},
		{name: "previous secret with a bad time", req: req("POST", webURL+"/secret", map[string]any{"previous": map[string]any{"expiresAt": "tomorrow"}}),
			want: invalid("INVALID_VALUE", "previous.expiresAt"), unchanged: []string{webURL + "/secret"}},
		{name: "previous secret without expiresAt", req: req("POST", webURL+"/secret", map[string]any{"previous": map[string]any{}}),
			want: invalid("REQUIRED_VALUE", "previous.expiresAt"), unchanged: []string{webURL + "/secret"}},
		{name: "a worker reads its own secret", req: apptest.Request{Method: "GET", URL: appsX + "/" + selfW.ClientID + "/secret", Token: selfTok}, want: forbidden},
		{name: "an admin of X reads the secret of an organization admin", req: apptest.Request{Method: "GET", URL: appsX + "/" + orgWorker.ClientID + "/secret", Token: selfTok},
			want: forbidden},
		{name: "an admin of X rotates the secret of an organization admin", req: apptest.Request{Method: "POST", URL: appsX + "/" + orgWorker.ClientID + "/secret", Token: selfTok},
			want: forbidden},
		{name: "an application deletes itself", req: apptest.Request{Method: "DELETE", URL: appsX + "/" + selfW.ClientID, Token: selfTok},
			want: wantErr{400, "REQUEST_FAILED", "", ""}, unchanged: []string{appsX}},

		// -- grants
		{name: "grant without a resource", req: req("POST", webURL+"/grants", map[string]any{"scopes": []any{map[string]any{"id": oscopesX["email"]}}}),
			want: invalid("REQUIRED_VALUE", "resource.id"), unchanged: []string{webURL + "/grants"}},
		{name: "grant without scopes", req: req("POST", webURL+"/grants", grant(p1X)), want: invalid("REQUIRED_VALUE", "scopes"), unchanged: []string{webURL + "/grants"}},
		{name: "grant of another resource's scope", req: req("POST", webURL+"/grants", grant(p1X, p1scopesX["p1:read:user"], oscopesX["email"])),
			want: invalid("INVALID_VALUE", "scopes"), unchanged: []string{webURL + "/grants"}},
		{name: "grant of another environment's resource", req: req("POST", webURL+"/grants", grant(openidY, oscopesY["email"])),
			want: invalid("INVALID_VALUE", "resource.id"), unchanged: []string{webURL + "/grants"}},
		{name: "grant of another environment's scope", req: req("PUT", webURL+"/grants/"+existingGrant, grant(openidX, oscopesY["email"])),
			want: invalid("INVALID_VALUE", "scopes"), unchanged: []string{webURL + "/grants"}},
		{name: "second grant of a resource", req: req("POST", webURL+"/grants", grant(openidX, oscopesX["email"])),
			want: invalid("UNIQUENESS_VIOLATION", "resource.id"), unchanged: []string{webURL + "/grants"}},
		{name: "changing a grant's resource", req: req("PUT", webURL+"/grants/"+existingGrant, grant(p1X, p1scopesX["p1:read:user"])),
			want: invalid("INVALID_VALUE", "resource.id"), unchanged: []string{webURL + "/grants"}},
		{name: "unknown grant", req: req("GET", webURL+"/grants/"+unknown, nil), want: notFound},
		{name: "DELETE unknown grant", req: req("DELETE", webURL+"/grants/"+unknown, nil), want: notFound, unchanged: []string{webURL + "/grants"}},

		// -- sign-on policy assignments
		{name: "assignment without a priority", req: req("POST", webURL+"/signOnPolicyAssignments", map[string]any{"signOnPolicy": map[string]any{"id": polsX["Multi_Factor"]}}),
			want: invalid("REQUIRED_VALUE", "priority"), unchanged: []string{webURL + "/signOnPolicyAssignments"}},
		{name: "assignment with priority 0", req: req("POST", webURL+"/signOnPolicyAssignments", sopa(0, polsX["Multi_Factor"])),
			want: invalid("INVALID_VALUE", "priority"), unchanged: []string{webURL + "/signOnPolicyAssignments"}},
		{name: "assignment with a fractional priority", req: req("POST", webURL+"/signOnPolicyAssignments", sopa(1.5, polsX["Multi_Factor"])),
			want: wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "priority"}, unchanged: []string{webURL + "/signOnPolicyAssignments"}},
		{name: "assignment with a huge priority", req: req("POST", webURL+"/signOnPolicyAssignments", sopa(int64(1)<<40, polsX["Multi_Factor"])),
			want: invalid("INVALID_VALUE", "priority"), unchanged: []string{webURL + "/signOnPolicyAssignments"}},
		{name: "assignment without a policy", req: req("POST", webURL+"/signOnPolicyAssignments", map[string]any{"priority": 3}),
			want: invalid("REQUIRED_VALUE", "signOnPolicy.id"), unchanged: []string{webURL + "/signOnPolicyAssignments"}},
		{name: "assignment of another environment's policy", req: req("POST", webURL+"/signOnPolicyAssignments", sopa(3, polsY["Multi_Factor"])),
			want: invalid("INVALID_VALUE", "signOnPolicy.id"), unchanged: []string{webURL + "/signOnPolicyAssignments"}},
		{name: "assignment with a taken priority", req: req("POST", webURL+"/signOnPolicyAssignments", sopa(1, polsX["Multi_Factor"])),
			want: invalid("UNIQUENESS_VIOLATION", "priority"), unchanged: []string{webURL + "/signOnPolicyAssignments"}},
		{name: "assignment of an assigned policy", req: req("POST", webURL+"/signOnPolicyAssignments", sopa(2, polsX["Single_Factor"])),
			want: invalid("UNIQUENESS_VIOLATION", "signOnPolicy.id"), unchanged: []string{webURL + "/signOnPolicyAssignments"}},

		// -- roles: read-only and unrelated workers
		{name: "Configuration Read Only lists applications", req: apptest.Request{Method: "GET", URL: appsX, Token: configRO}, want: wantErr{status: 200}},
		{name: "Configuration Read Only reads an application", req: apptest.Request{Method: "GET", URL: webURL, Token: configRO}, want: wantErr{status: 200}},
		{name: "Configuration Read Only reads grants", req: apptest.Request{Method: "GET", URL: webURL + "/grants", Token: configRO}, want: wantErr{status: 200}},
		{name: "Configuration Read Only creates an application", req: apptest.Request{Method: "POST", URL: appsX, Token: configRO, Body: worker},
			want: forbidden, unchanged: []string{appsX}},
		{name: "Configuration Read Only replaces an application", req: apptest.Request{Method: "PUT", URL: webURL, Token: configRO, Body: webB},
			want: forbidden, unchanged: []string{webURL}},
		{name: "Configuration Read Only deletes an application", req: apptest.Request{Method: "DELETE", URL: webURL, Token: configRO},
			want: forbidden, unchanged: []string{appsX}},
		{name: "Configuration Read Only reads a secret", req: apptest.Request{Method: "GET", URL: webURL + "/secret", Token: configRO}, want: forbidden},
		{name: "Configuration Read Only rotates a secret", req: apptest.Request{Method: "POST", URL: webURL + "/secret", Token: configRO},
			want: forbidden, unchanged: []string{webURL + "/secret"}},
		{name: "Configuration Read Only creates a grant", req: apptest.Request{Method: "POST", URL: webURL + "/grants", Token: configRO, Body: grant(p1X, p1scopesX["p1:read:user"])},
			want: forbidden, unchanged: []string{webURL + "/grants"}},
		{name: "Configuration Read Only assigns a policy", req: apptest.Request{Method: "POST", URL: webURL + "/signOnPolicyAssignments", Token: configRO, Body: sopa(4, polsX["Multi_Factor"])},
			want: forbidden, unchanged: []string{webURL + "/signOnPolicyAssignments"}},
		{name: "Identity Data Read Only lists applications", req: apptest.Request{Method: "GET", URL: appsX, Token: identityRO}, want: forbidden},
		{name: "Identity Data Read Only creates an application", req: apptest.Request{Method: "POST", URL: appsX, Token: identityRO, Body: worker},
			want: forbidden, unchanged: []string{appsX}},
		{name: "Client Application Developer creates an application", req: apptest.Request{Method: "POST", URL: appsX, Token: devX, Body: with(webB, "name", "By a developer")},
			want: wantErr{status: 201}},
		{name: "Client Application Developer reads a web app's secret", req: apptest.Request{Method: "GET", URL: webURL + "/secret", Token: devX}, want: wantErr{status: 200}},
		{name: "Client Application Developer reads a worker's secret", req: apptest.Request{Method: "GET", URL: appsX + "/" + selfW.ClientID + "/secret", Token: devX}, want: forbidden},
		{name: "an admin of X writes in Y", req: apptest.Request{Method: "POST", URL: appsY, Token: selfTok, Body: worker}, want: forbidden, unchanged: []string{appsY}},
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.req.Token == "" {
				c.req.Token = admin
			}
			before := make([][]byte, len(c.unchanged))
			for i, u := range c.unchanged {
				before[i] = adminGet(t, s, u)
			}
			r := doNo5xx(t, s, c.req)
			m := checkAnswer(t, r, c.want)
			if c.check != nil {
				c.check(t, m)
			}
			for i, u := range c.unchanged {
				if after := adminGet(t, s, u); string(before[i]) != string(after) {
					t.Errorf("%s changed:\nbefore %s\nafter  %s", u, trimBody(before[i]), trimBody(after))
				}
			}
		})
	}
}

// appCreateSub POSTs a sub-resource with tok and returns its id.
func appCreateSub(t testing.TB, s *apptest.Server, tok, u string, body any) string {
	t.Helper()
	r := doNo5xx(t, s, apptest.Request{Method: "POST", URL: u, Token: tok, Body: body})
	if r.Status != http.StatusCreated {
		t.Fatalf("POST %s: %d %s", u, r.Status, trimBody(r.Body))
	}
	return r.JSON(t)["id"].(string)
}

// TestApplicationDevicePathRace: concurrent writes that give one
// devicePathId to different applications of an environment — PUTs of
// existing applications, POSTs of new ones — leave exactly one holding
// it; every other gets PingOne's uniqueness error and changes nothing.
func TestApplicationDevicePathRace(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			admin := s.AdminToken(t)
			x := newEnv(t, s, "Device paths", "SANDBOX")
			const n = 8
			ids := make([]string, n)
			for i := range ids {
				ids[i] = appCreate(t, s, admin, x, appWebBody("Web "+strconv.Itoa(i)))["id"].(string)
			}
			race := func(req func(i int) apptest.Request) []*apptest.Response {
				out := make([]*apptest.Response, n)
				start := make(chan struct{})
				var wg sync.WaitGroup
				for i := range n {
					wg.Go(func() {
						<-start
						out[i] = s.Do(t, req(i))
					})
				}
				close(start)
				wg.Wait()
				return out
			}
			// lost checks a losing answer, exactly as the one-at-a-time
			// refusal answers.
			lost := func(t *testing.T, r *apptest.Response) {
				t.Helper()
				m := checkAnswer(t, r, wantErr{400, "INVALID_DATA", "UNIQUENESS_VIOLATION", "devicePathId"})
				if m["message"] != "The request could not be completed. One or more validation errors were in the request." ||
					detailAt(t, m, 0)["message"] != "Another application of the environment has this devicePathId." || len(m["details"].([]any)) != 1 {
					t.Errorf("body %s", trimBody(r.Body))
				}
			}

			t.Run("PUTs", func(t *testing.T) {
				answers := race(func(i int) apptest.Request {
					return apptest.Request{Method: "PUT", URL: appsPath(x) + "/" + ids[i], Token: admin,
						Body: with(appWebBody("Living room "+strconv.Itoa(i)), "devicePathId", "living-room")}
				})
				winner := -1
				for i, r := range answers {
					if r.Status == http.StatusOK {
						if winner >= 0 {
							t.Fatalf("PUTs %d and %d both took the devicePathId", winner, i)
						}
						winner = i
						continue
					}
					lost(t, r)
				}
				if winner < 0 {
					t.Fatal("no PUT took the devicePathId")
				}
				// The losers are as they were: neither the path nor the new name.
				for i, id := range ids {
					m := s.Do(t, apptest.Request{Method: "GET", URL: appsPath(x) + "/" + id, Token: admin}).JSON(t)
					want := map[string]any{"name": "Web " + strconv.Itoa(i), "devicePathId": nil}
					if i == winner {
						want = map[string]any{"name": "Living room " + strconv.Itoa(i), "devicePathId": "living-room"}
					}
					if m["name"] != want["name"] || m["devicePathId"] != want["devicePathId"] {
						t.Errorf("application %d: name %v, devicePathId %v; want %v", i, m["name"], m["devicePathId"], want)
					}
				}
			})

			t.Run("POSTs", func(t *testing.T) {
				// Workers, which take the creator's roles in the same
				// transaction: a loser must leave no application behind.
				answers := race(func(i int) apptest.Request {
					return apptest.Request{Method: "POST", URL: appsPath(x), Token: admin,
						Body: with(appWorkerBody("Kitchen "+strconv.Itoa(i)), "devicePathId", "kitchen")}
				})
				won := 0
				for _, r := range answers {
					if r.Status == http.StatusCreated {
						won++
						continue
					}
					lost(t, r)
				}
				if won != 1 {
					t.Fatalf("%d POSTs took the devicePathId, want 1", won)
				}
				m := s.Do(t, apptest.Request{Method: "GET", URL: appsPath(x), Token: admin}).JSON(t)
				var kitchens int
				for _, a := range m["_embedded"].(map[string]any)["applications"].([]any) {
					if strings.HasPrefix(a.(map[string]any)["name"].(string), "Kitchen") {
						kitchens++
					}
				}
				if kitchens != 1 {
					t.Errorf("%d Kitchen applications after the race, want 1", kitchens)
				}
			})
		})
	}
}

// TestApplicationIsolation: two environments holding applications of the
// same names never see, change or authenticate each other's.
func TestApplicationIsolation(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			admin := s.AdminToken(t)
			a, bEnv := newEnv(t, s, "Iso A", "SANDBOX"), newEnv(t, s, "Iso B", "SANDBOX")
			wa := appCreate(t, s, admin, a, appWorkerBody("Same name"))
			wb := appCreate(t, s, admin, bEnv, appWorkerBody("Same name"))
			waID, wbID := wa["id"].(string), wb["id"].(string)
			secretA := appSecret(t, s, admin, a, waID)["secret"].(string)

			for _, c := range []struct{ env, mine, theirs string }{{a, waID, wbID}, {bEnv, wbID, waID}} {
				r := doNo5xx(t, s, apptest.Request{Method: "GET", URL: appsPath(c.env), Token: admin})
				count, _, ids := listIDs(t, r, "applications")
				if count != 1 || !slices.Equal(ids, []string{c.mine}) {
					t.Errorf("%s lists %v (count %d), want only %s", c.env, ids, count, c.mine)
				}
				r = doNo5xx(t, s, apptest.Request{Method: "GET", URL: appsPath(c.env) + "?filter=" + url.QueryEscape(`id eq "`+c.theirs+`"`), Token: admin})
				if count, _, _ := listIDs(t, r, "applications"); count != 0 {
					t.Errorf("filter by the other environment's id found %d", count)
				}
			}
			before := adminGet(t, s, appsPath(bEnv)+"/"+wbID)
			for _, rq := range []apptest.Request{
				{Method: "GET", URL: appsPath(a) + "/" + wbID},
				{Method: "PUT", URL: appsPath(a) + "/" + wbID, Body: appWorkerBody("Hijacked")},
				{Method: "DELETE", URL: appsPath(a) + "/" + wbID},
				{Method: "GET", URL: appsPath(a) + "/" + wbID + "/secret"},
				{Method: "POST", URL: appsPath(a) + "/" + wbID + "/secret"},
				{Method: "GET", URL: appsPath(a) + "/" + wbID + "/roleAssignments"},
			} {
				rq.Token = admin
				checkAnswer(t, doNo5xx(t, s, rq), wantErr{404, "NOT_FOUND", "", ""})
			}
			if after := adminGet(t, s, appsPath(bEnv)+"/"+wbID); string(after) != string(before) {
				t.Errorf("B's application changed through A:\n%s\n%s", before, after)
			}
			// A's credentials do not open B's token endpoint.
			if st, code := appTokenStatus(t, s, bEnv, waID, secretA); st != 401 || code != "invalid_client" {
				t.Errorf("A's worker at B's token endpoint: %d %s", st, code)
			}
			if st, _ := appTokenStatus(t, s, a, waID, secretA); st != 200 {
				t.Errorf("A's worker at A's token endpoint: %d", st)
			}
		})
	}
}
