package mgmt_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// These tests send exactly what PingOne's Go SDK (management module) sends:
// application/json bodies that echo read-only fields back on PUT, the SDK's
// Accept and User-Agent headers, and _links.next followed verbatim as an
// absolute URL. See "How PingOne's Go SDK talks" in the spec.

var (
	uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	timeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
)

func must(t *testing.T, r *apptest.Response, status int) map[string]any {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if status == http.StatusNoContent {
		if len(r.Body) != 0 {
			t.Fatalf("204 with a body: %s", r.Body)
		}
		return nil
	}
	// PingOne's SDK rejects anything that is not (application|text)/(vnd…+)?json.
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	return r.JSON(t)
}

func get(m map[string]any, path string) any {
	var cur any = m
	for _, p := range strings.Split(path, ".") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[p]
	}
	return cur
}

func wantFields(t *testing.T, m map[string]any, want map[string]any) {
	t.Helper()
	for path, w := range want {
		got := get(m, path)
		gb, _ := json.Marshal(got)
		wb, _ := json.Marshal(w)
		if string(gb) != string(wb) {
			t.Errorf("%s = %s, want %s", path, gb, wb)
		}
	}
}

func checkID(t *testing.T, m map[string]any, path string) string {
	t.Helper()
	s, _ := get(m, path).(string)
	if !uuidRE.MatchString(s) {
		t.Fatalf("%s = %q is not a lowercase UUID", path, s)
	}
	return s
}

func checkTime(t *testing.T, m map[string]any, path string) {
	t.Helper()
	s, _ := get(m, path).(string)
	if !timeRE.MatchString(s) {
		t.Fatalf("%s = %q is not PingOne's time format", path, s)
	}
}

// keysOf returns an object's keys, sorted.
func keysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// golden reads one of PingOne's example bodies.
func golden(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// listAll follows _links.next verbatim, as the SDK's pagination does, and
// returns every item and the number of pages.
func listAll(t *testing.T, s *apptest.Server, tok, url, collection string) ([]map[string]any, int) {
	t.Helper()
	var items []map[string]any
	pages := 0
	for url != "" {
		pages++
		if pages > 100 {
			t.Fatal("pagination does not end")
		}
		page := must(t, s.Do(t, apptest.Request{Method: "GET", URL: url, Token: tok}), 200)
		emb, _ := page["_embedded"].(map[string]any)
		arr, ok := emb[collection].([]any)
		if !ok {
			t.Fatalf("_embedded.%s missing: %v", collection, page)
		}
		if int(page["size"].(float64)) != len(arr) {
			t.Fatalf("size %v but %d items", page["size"], len(arr))
		}
		for _, it := range arr {
			items = append(items, it.(map[string]any))
		}
		url, _ = get(page, "_links.next.href").(string)
		if url != "" && !strings.HasPrefix(url, s.APIPath+"/") {
			t.Fatalf("_links.next.href %q is not absolute under %s", url, s.APIPath)
		}
	}
	return items, pages
}

func TestEnvironmentLifecycleAsSDK(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			tok := s.AdminToken(t)
			org, lic := s.OrganizationID(t), s.LicenseID(t)

			// Create, as the SDK's CreateEnvironment sends it.
			created := must(t, s.Do(t, apptest.Request{Method: "POST", URL: "/environments", Token: tok, Body: map[string]any{
				"name": "sdk-env-0", "description": "New environment description", "type": "SANDBOX", "region": "NA",
				"license":         map[string]string{"id": lic},
				"billOfMaterials": map[string]any{"products": []map[string]string{{"type": "PING_ONE_BASE"}, {"type": "PING_ONE_MFA"}}},
			}}), 201)
			id := checkID(t, created, "id")
			checkTime(t, created, "createdAt")
			checkTime(t, created, "updatedAt")
			checkTime(t, created, "billOfMaterials.createdAt")
			wantFields(t, created, map[string]any{
				"name": "sdk-env-0", "description": "New environment description", "type": "SANDBOX", "region": "NA",
				"organization.id": org, "license.id": lic,
				"_links.self.href":         s.APIPath + "/environments/" + id,
				"_links.organization.href": s.APIPath + "/organizations/" + org,
				"_links.license.href":      s.APIPath + "/organizations/" + org + "/licenses/" + lic,
				"_links.populations.href":  s.APIPath + "/environments/" + id + "/populations",
			})
			prods := get(created, "billOfMaterials.products").([]any)
			if len(prods) != 2 {
				t.Fatalf("products: %v", prods)
			}
			for i, wantType := range []string{"PING_ONE_BASE", "PING_ONE_MFA"} {
				p := prods[i].(map[string]any)
				if p["type"] != wantType || !uuidRE.MatchString(p["id"].(string)) {
					t.Errorf("product %d = %v", i, p)
				}
			}
			if d := get(prods[0].(map[string]any), "description"); d != "PingOne Base" {
				t.Errorf("product description %v", d)
			}
			// The example response's keys are all there (ours has fewer _links).
			g := golden(t, "environments.create.response.json")
			for _, k := range keysOf(g) {
				if _, ok := created[k]; !ok {
					t.Errorf("response lacks %q that PingOne returns", k)
				}
			}

			// Read.
			got := must(t, s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + id, Token: tok}), 200)
			cb, _ := json.Marshal(created)
			gb, _ := json.Marshal(got)
			if string(cb) != string(gb) {
				t.Errorf("GET differs from POST response:\n%s\n%s", gb, cb)
			}

			// More environments, then list with a filter and follow the
			// pages the SDK's way.
			for i := 1; i < 5; i++ {
				must(t, s.Do(t, apptest.Request{Method: "POST", URL: "/environments", Token: tok, Body: map[string]any{
					"name": fmt.Sprintf("SDK-env-%d", i), "type": "SANDBOX", "region": "EU", "license": map[string]string{"id": lic},
				}}), 201)
			}
			items, pages := listAll(t, s, tok, s.APIPath+`/environments?limit=2&filter=name%20sw%20%22sdk-%22`, "environments")
			if len(items) != 5 || pages != 3 {
				t.Fatalf("listed %d environments in %d pages, want 5 in 3", len(items), pages)
			}
			seen := map[string]bool{}
			for _, it := range items {
				if seen[it["id"].(string)] {
					t.Fatalf("environment %s listed twice", it["id"])
				}
				seen[it["id"].(string)] = true
			}
			first := must(t, s.Do(t, apptest.Request{Method: "GET", URL: `/environments?limit=2&filter=name%20sw%20%22sdk-%22`, Token: tok}), 200)
			wantFields(t, first, map[string]any{"count": 5, "size": 2})
			eu := must(t, s.Do(t, apptest.Request{Method: "GET", URL: `/environments?filter=(region%20eq%20%22EU%22)%20AND%20(name%20eq%20%22sdk-env-3%22)`, Token: tok}), 200)
			wantFields(t, eu, map[string]any{"count": 1, "size": 1})
			all := must(t, s.Do(t, apptest.Request{Method: "GET", URL: "/environments", Token: tok}), 200)
			wantFields(t, all, map[string]any{"count": 6, "size": 6}) // with Administrators
			if _, ok := get(all, "_links.next").(map[string]any); ok {
				t.Error("a single page has _links.next")
			}

			// Update: the SDK sends the whole object back, read-only fields
			// included.
			time.Sleep(2 * time.Millisecond)
			upd := got
			upd["name"] = "sdk-env-0-renamed"
			upd["description"] = "changed"
			upd["billOfMaterials"].(map[string]any)["products"] = []any{
				map[string]any{"type": "PING_ONE_BASE", "id": "ignored-read-only"}, map[string]any{"type": "PING_ONE_RISK"}}
			put := must(t, s.Do(t, apptest.Request{Method: "PUT", URL: "/environments/" + id, Token: tok, Body: upd}), 200)
			wantFields(t, put, map[string]any{"id": id, "name": "sdk-env-0-renamed", "description": "changed", "type": "SANDBOX",
				"region": "NA", "createdAt": created["createdAt"]})
			if put["updatedAt"] == created["updatedAt"] {
				t.Error("updatedAt did not change")
			}
			pp := get(put, "billOfMaterials.products").([]any)
			if len(pp) != 2 || pp[0].(map[string]any)["id"] != prods[0].(map[string]any)["id"] || pp[1].(map[string]any)["type"] != "PING_ONE_RISK" {
				t.Errorf("bill of materials after PUT: %v (kept product ids are PingOne's, not the client's)", pp)
			}
			// PUT …/type, as Terraform does when the type changes.
			typ := must(t, s.Do(t, apptest.Request{Method: "PUT", URL: "/environments/" + id + "/type", Token: tok, Body: map[string]string{"type": "PRODUCTION"}}), 200)
			wantFields(t, typ, map[string]any{"type": "PRODUCTION"})
			rej := s.Do(t, apptest.Request{Method: "DELETE", URL: "/environments/" + id, Token: tok})
			wantFields(t, must(t, rej, 400), map[string]any{"code": "REQUEST_FAILED"})
			must(t, s.Do(t, apptest.Request{Method: "PUT", URL: "/environments/" + id + "/type", Token: tok, Body: map[string]string{"type": "SANDBOX"}}), 200)

			// Delete: 204, then 404 on every read (Terraform polls for two 404s).
			must(t, s.Do(t, apptest.Request{Method: "DELETE", URL: "/environments/" + id, Token: tok}), 204)
			for i := 0; i < 2; i++ {
				nf := must(t, s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + id, Token: tok}), 404)
				wantFields(t, nf, map[string]any{"code": "NOT_FOUND"})
			}
			nf := must(t, s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + id + "/populations", Token: tok}), 404)
			wantFields(t, nf, map[string]any{"code": "NOT_FOUND"})
			pops, _, err := s.Store.ListPopulations(context.Background(), id, store.Page{Limit: 10})
			if err != nil || len(pops) != 0 {
				t.Fatalf("populations of a deleted environment: %v %v", pops, err)
			}
		})
	}
}

// TestNewEnvironmentDefaults checks, field by field, what a new environment
// contains: what PingOne creates with every environment.
func TestNewEnvironmentDefaults(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			tok := s.AdminToken(t)
			env := must(t, s.Do(t, apptest.Request{Method: "POST", URL: "/environments", Token: tok, Body: map[string]any{
				"name": "defaults", "type": "SANDBOX", "region": "NA", "license": map[string]string{"id": s.LicenseID(t)},
			}}), 201)
			id := env["id"].(string)
			ctx := context.Background()

			// Bill of materials defaults to PingOne Base.
			prods := get(env, "billOfMaterials.products").([]any)
			if len(prods) != 1 || prods[0].(map[string]any)["type"] != "PING_ONE_BASE" {
				t.Errorf("default bill of materials: %v", prods)
			}

			// Password policies: Standard (default), Basic, Passphrase.
			pps, err := s.Store.ListPasswordPolicies(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			byName := map[string]store.PasswordPolicy{}
			for _, p := range pps {
				byName[p.Name] = p
			}
			if len(pps) != 3 || !byName["Standard"].Default || byName["Basic"].Default || byName["Passphrase"].Default {
				t.Fatalf("password policies: %+v", pps)
			}
			var std map[string]any
			json.Unmarshal(byName["Standard"].Data, &std)
			// PingOne's own example of the Standard policy, field by field.
			g := golden(t, "passwordPolicies.floatCoercion.response.json")
			for _, k := range []string{"description", "excludesProfileData", "notSimilarToCurrent", "excludesCommonlyUsed", "maxAgeDays",
				"minAgeDays", "maxRepeatedCharacters", "minUniqueCharacters", "history", "lockout", "length", "minCharacters"} {
				gb, _ := json.Marshal(g[k])
				sb, _ := json.Marshal(std[k])
				if string(gb) != string(sb) {
					t.Errorf("Standard policy %s = %s, PingOne has %s", k, sb, gb)
				}
			}

			// The Default population, over HTTP.
			pl := must(t, s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + id + "/populations", Token: tok}), 200)
			wantFields(t, pl, map[string]any{"count": 1, "size": 1})
			pop := get(pl, "_embedded.populations").([]any)[0].(map[string]any)
			wantFields(t, pop, map[string]any{"name": "Default", "default": true, "userCount": 0, "preferredLanguage": "en",
				"environment.id": id, "passwordPolicy.id": byName["Standard"].ID})

			// Resources and their scopes.
			res, err := s.Store.ListResources(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			wantScopes := map[string][]string{
				"openid":      {"address", "email", "offline_access", "openid", "phone", "profile"},
				"PingOne API": {"p1:delete:sessions", "p1:delete:userLinkedAccounts", "p1:read:sessions", "p1:read:user", "p1:read:userLinkedAccounts", "p1:read:userPassword", "p1:reset:userPassword", "p1:update:user", "p1:validate:userPassword"},
			}
			wantType := map[string]string{"openid": "OPENID_CONNECT", "PingOne API": "PINGONE_API"}
			if len(res) != 2 {
				t.Fatalf("resources: %+v", res)
			}
			for _, r := range res {
				if r.Type != wantType[r.Name] || r.Audience != "https://api.pingone.com" || r.AccessTokenValiditySeconds != 3600 {
					t.Errorf("resource %+v", r)
				}
				scs, err := s.Store.ListScopes(ctx, id, r.ID)
				if err != nil {
					t.Fatal(err)
				}
				var names []string
				for _, sc := range scs {
					names = append(names, sc.Name)
				}
				sort.Strings(names)
				if !slices.Equal(names, wantScopes[r.Name]) {
					t.Errorf("%s scopes = %v, want %v", r.Name, names, wantScopes[r.Name])
				}
			}

			// Sign-on policies: Single_Factor (default: one LOGIN action) and Multi_Factor.
			sops, err := s.Store.ListSignOnPolicies(ctx, id)
			if err != nil || len(sops) != 2 {
				t.Fatalf("sign-on policies: %+v %v", sops, err)
			}
			for _, p := range sops {
				acts, err := s.Store.ListSignOnPolicyActions(ctx, id, p.ID)
				if err != nil {
					t.Fatal(err)
				}
				var types []string
				for _, a := range acts {
					types = append(types, fmt.Sprintf("%d:%s", a.Priority, a.Type))
				}
				switch p.Name {
				case "Single_Factor":
					if !p.Default || !slices.Equal(types, []string{"1:LOGIN"}) {
						t.Errorf("Single_Factor: default=%v actions=%v", p.Default, types)
					}
					var login map[string]any
					json.Unmarshal(acts[0].Data, &login)
					wantFields(t, login, map[string]any{"recovery.enabled": true, "registration.enabled": false})
				case "Multi_Factor":
					if p.Default || !slices.Equal(types, []string{"1:LOGIN", "2:MULTI_FACTOR_AUTHENTICATION"}) {
						t.Errorf("Multi_Factor: default=%v actions=%v", p.Default, types)
					}
				default:
					t.Errorf("unexpected policy %q", p.Name)
				}
			}

			// The signing key: RSA 2048, SHA256withRSA, default, published.
			ks, err := s.Store.ListKeys(ctx, id)
			if err != nil || len(ks) != 1 {
				t.Fatalf("keys: %v %v", ks, err)
			}
			k := ks[0]
			want := keys.DefaultSigning()
			if k.Algorithm != "RSA" || k.KeyLength != 2048 || k.SignatureAlgorithm != "SHA256withRSA" || k.UsageType != "SIGNING" ||
				!k.Default || k.Name != want.Name || k.SubjectDN != want.SubjectDN || keys.SerialInt64(&k) <= 0 ||
				k.ExpiresAt.Sub(k.StartsAt) != 365*24*time.Hour {
				t.Errorf("signing key: %+v", k)
			}
			jwks := must(t, s.Do(t, apptest.Request{Method: "GET", URL: s.URL + "/" + id + "/as/jwks"}), 200)
			jk := jwks["keys"].([]any)
			if len(jk) != 1 || jk[0].(map[string]any)["kid"] != k.ID || jk[0].(map[string]any)["kty"] != "RSA" ||
				jk[0].(map[string]any)["use"] != "sig" {
				t.Errorf("jwks: %v", jwks)
			}
		})
	}
}

func TestPopulationLifecycleAsSDK(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			tok := s.AdminToken(t)
			// An environment of its own: the Administrators environment's
			// Default population holds the administrator user, and the test
			// deletes that population.
			env := must(t, s.Do(t, apptest.Request{Method: "POST", URL: "/environments", Token: tok, Body: map[string]any{
				"name": "Populations", "type": "SANDBOX", "region": "NA", "license": map[string]string{"id": s.LicenseID(t)}}}), 201)
			envID := env["id"].(string)
			base := "/environments/" + envID + "/populations"

			req := golden(t, "populations.create.request.json")
			created := must(t, s.Do(t, apptest.Request{Method: "POST", URL: base, Token: tok, Body: req}), 201)
			id := checkID(t, created, "id")
			checkTime(t, created, "createdAt")
			wantFields(t, created, map[string]any{
				"name": "Shared-Test-User-Population", "description": "Population for PingOne test users",
				"environment.id": envID, "userCount": 0, "default": false, "preferredLanguage": "en",
				"_links.self.href":        s.APIPath + base + "/" + id,
				"_links.environment.href": s.APIPath + "/environments/" + envID,
			})
			// Every key of PingOne's example response, the theme (the
			// environment's default) with its link among them.
			for _, k := range keysOf(golden(t, "populations.create.response.json")) {
				if _, ok := created[k]; !ok {
					t.Errorf("response lacks %q", k)
				}
			}
			themes := must(t, s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + envID + "/themes?filter=default%20eq%20true", Token: tok}), 200)
			defaultTheme := get(themes, "_embedded.themes").([]any)[0].(map[string]any)["id"]
			wantFields(t, created, map[string]any{"theme.id": defaultTheme,
				"_links.theme.href": s.APIPath + "/environments/" + envID + "/themes/" + defaultTheme.(string)})
			must(t, s.Do(t, apptest.Request{Method: "POST", URL: base, Token: tok, Body: map[string]any{"name": "Contractors"}}), 201)
			for i := 0; i < 3; i++ {
				must(t, s.Do(t, apptest.Request{Method: "POST", URL: base, Token: tok, Body: map[string]any{"name": fmt.Sprintf("Team %d", i)}}), 201)
			}

			// Terraform's filter shape: upper-case OR, nested parentheses.
			f := must(t, s.Do(t, apptest.Request{Method: "GET", URL: base + `?filter=((name%20eq%20%22contractors%22)%20OR%20(name%20eq%20%22Shared-Test-User-Population%22))`, Token: tok}), 200)
			wantFields(t, f, map[string]any{"count": 2, "size": 2})
			byID := must(t, s.Do(t, apptest.Request{Method: "GET", URL: base + `?filter=id%20eq%20%22` + id + `%22`, Token: tok}), 200)
			wantFields(t, byID, map[string]any{"count": 1})
			items, pages := listAll(t, s, tok, s.APIPath+base+"?limit=2", "populations")
			if len(items) != 6 || pages != 3 { // with Default
				t.Fatalf("%d populations in %d pages", len(items), pages)
			}

			// PUT the whole object back with changes and read-only fields.
			got := must(t, s.Do(t, apptest.Request{Method: "GET", URL: base + "/" + id, Token: tok}), 200)
			got["name"] = "Shared Users"
			delete(got, "description") // PUT replaces: an absent description is cleared
			got["default"] = true
			put := must(t, s.Do(t, apptest.Request{Method: "PUT", URL: base + "/" + id, Token: tok, Body: got}), 200)
			wantFields(t, put, map[string]any{"id": id, "name": "Shared Users", "description": nil, "default": true, "createdAt": created["createdAt"]})
			// The default moved: exactly one default remains.
			defs := must(t, s.Do(t, apptest.Request{Method: "GET", URL: base + `?filter=default%20eq%20true`, Token: tok}), 200)
			wantFields(t, defs, map[string]any{"count": 1})
			if get(defs, "_embedded.populations").([]any)[0].(map[string]any)["id"] != id {
				t.Error("the new default is not the only default")
			}

			// The old default can now go; the new one cannot.
			var oldDefault string
			for _, it := range items {
				if it["name"] == "Default" {
					oldDefault = it["id"].(string)
				}
			}
			must(t, s.Do(t, apptest.Request{Method: "DELETE", URL: base + "/" + oldDefault, Token: tok}), 204)
			wantFields(t, must(t, s.Do(t, apptest.Request{Method: "DELETE", URL: base + "/" + id, Token: tok}), 400), map[string]any{"code": "REQUEST_FAILED"})
			must(t, s.Do(t, apptest.Request{Method: "GET", URL: base + "/" + oldDefault, Token: tok}), 404)
		})
	}
}
