package mgmt_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/roles"
)

// userGolden reads one of PingOne's example bodies with its placeholders
// filled in.
func userGolden(t *testing.T, name string, repl ...string) map[string]any {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // placeholders such as <url-to-image> stay as they are
	if err := enc.Encode(golden(t, name)); err != nil {
		t.Fatal(err)
	}
	s := strings.NewReplacer(repl...).Replace(buf.String())
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// userCreate creates a user with the admin token and returns its body.
func userCreate(t testing.TB, s *apptest.Server, envID string, body map[string]any) map[string]any {
	t.Helper()
	r := doNo5xx(t, s, apptest.Request{Method: "POST", URL: "/environments/" + envID + "/users", Token: s.AdminToken(t), Body: body})
	if r.Status != http.StatusCreated {
		t.Fatalf("create user %v: %d %s", body["username"], r.Status, trimBody(r.Body))
	}
	return r.JSON(t)
}

// userFilterURL is a list URL with filter (and more query) escaped as the SDK
// sends it.
func userFilterURL(base, filter string, more ...string) string {
	q := url.Values{"filter": {filter}}
	for i := 0; i+1 < len(more); i += 2 {
		q.Set(more[i], more[i+1])
	}
	return base + "?" + q.Encode()
}

func TestUserLifecycleAsSDK(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			testUserLifecycle(t, apptest.Start(t, apptest.Options{DSN: b.DSN(t)}))
		})
	}
}

func testUserLifecycle(t *testing.T, s *apptest.Server) {
	tok := s.AdminToken(t)
	envID := newEnv(t, s, "Users", "SANDBOX")
	defineAttributes(t, s, envID, "STRING", false, "accountId", "team")
	defineAttributes(t, s, envID, "JSON", true, "badges")
	shared := newPop(t, s, envID, "Shared")
	other := newPop(t, s, envID, "Other")
	base := "/environments/" + envID + "/users"
	envHref := s.APIPath + "/environments/" + envID

	// Create, as PingOne's getting-started example does.
	req := userGolden(t, "users.create.request.json", "{{email}}", "sharedTestUser@example.com", "{{sharedPopID}}", shared)
	createdResp := s.Do(t, apptest.Request{Method: "POST", URL: base, Token: tok, Body: req})
	created := must(t, createdResp, 201)
	id := checkID(t, created, "id")
	self := s.APIPath + base + "/" + id
	checkTime(t, created, "createdAt")
	checkTime(t, created, "updatedAt")
	wantFields(t, created, map[string]any{
		"username": "sharedTestUser", "email": "sharedTestUser@example.com", "environment.id": envID, "population.id": shared,
		// mfaEnabled: the MFA settings' users.mfaEnabled, true by default
		// (PingOne's example shows an environment where it was false).
		"enabled": true, "mfaEnabled": true, "verifyStatus": "NOT_INITIATED", "account.canAuthenticate": true, "account.status": "OK",
		"identityProvider.type": "PING_ONE", "lifecycle.status": "ACCOUNT_OK",
		"_links.self.href": self, "_links.environment.href": envHref, "_links.population.href": envHref + "/populations/" + shared,
		"_links.password.href": self + "/password",
	})
	g := golden(t, "users.create.response.json")
	if got, want := keysOf(created), keysOf(g); !slices.Equal(got, want) {
		t.Errorf("create response keys = %v, PingOne's are %v", got, want)
	}
	if got, want := keysOf(created["_links"].(map[string]any)), keysOf(g["_links"].(map[string]any)); !slices.Equal(got, want) {
		t.Errorf("_links = %v, PingOne's are %v", got, want)
	}
	for k, v := range created["_links"].(map[string]any) {
		if href, _ := v.(map[string]any)["href"].(string); !strings.HasPrefix(href, envHref) {
			t.Errorf("_links.%s.href = %q, not absolute under the environment", k, href)
		}
	}
	if created["createdAt"] != created["updatedAt"] {
		t.Errorf("createdAt %v != updatedAt %v on create", created["createdAt"], created["updatedAt"])
	}

	// Read: the same bytes as the create answered.
	got := s.Do(t, apptest.Request{Method: "GET", URL: base + "/" + id, Token: tok})
	must(t, got, 200)
	if !bytes.Equal(createdResp.Body, got.Body) {
		t.Errorf("GET differs from POST:\n%s\n%s", got.Body, createdResp.Body)
	}

	// expand=population embeds the population, as PingOne's HAL sample.
	exp := must(t, s.Do(t, apptest.Request{Method: "GET", URL: base + "/" + id + "?expand=population", Token: tok}), 200)
	wantFields(t, exp, map[string]any{"_embedded.population.id": shared, "_embedded.population.name": "Shared",
		"_embedded.population._links.self.href": envHref + "/populations/" + shared, "_embedded.population.userCount": 1})
	ge := golden(t, "users.read.embedded.response.json")["_embedded"].(map[string]any)["population"].(map[string]any)
	for _, k := range keysOf(ge) {
		if _, ok := get(exp, "_embedded.population").(map[string]any)[k]; !ok {
			t.Errorf("_embedded.population lacks %q", k)
		}
	}

	// Import, as Terraform creates users: the import type, a password and
	// no population (the default one). Custom attributes come back.
	imp := userGolden(t, "users.import.request.json", "{{popID}}", other, "{{$timestamp}}", "1", "<This can be plain text or an acceptable hashed value.>", "Imported-Pass-77")
	delete(imp, "population")
	imp["lifecycle"] = map[string]any{"status": "VERIFICATION_REQUIRED"}
	imp["accountId"] = "5"
	imp["badges"] = []any{map[string]any{"name": "gold"}, map[string]any{"level": 2.5}, map[string]any{"nested": true}}
	importedResp := s.Do(t, apptest.Request{Method: "POST", URL: base, Token: tok, Body: imp,
		ContentType: "application/vnd.pingidentity.user.import+json"})
	importedR := must(t, importedResp, 201)
	importedID := checkID(t, importedR, "id")
	wantFields(t, importedR, map[string]any{"username": "import-user_1", "name.given": "Test", "name.family": "User",
		"lifecycle.status": "VERIFICATION_REQUIRED", "accountId": "5", "badges": []any{map[string]any{"name": "gold"}, map[string]any{"level": 2.5}, map[string]any{"nested": true}}})
	defPop := importedR["population"].(map[string]any)["id"].(string)
	if defPop == shared || defPop == other || !uuidRE.MatchString(defPop) {
		t.Errorf("imported user's population %s, want the default", defPop)
	}
	if bytes.Contains(importedResp.Body, []byte("Imported-Pass-77")) || bytes.Contains(importedResp.Body, []byte("argon2")) {
		t.Error("the create response carries the password or its hash")
	}
	pw := must(t, s.Do(t, apptest.Request{Method: "GET", URL: base + "/" + importedID + "/password", Token: tok}), 200)
	wantFields(t, pw, map[string]any{"status": "OK"})
	checkTime(t, pw, "lastChangedAt")

	// More users, then list them with a filter and follow the pages.
	for i := range 5 {
		userCreate(t, s, envID, map[string]any{"username": fmt.Sprintf("SDK-User-%d", i), "email": fmt.Sprintf("sdk%d@Example.com", i),
			"name": map[string]any{"given": fmt.Sprintf("Given%d", i), "family": "Sdk"}, "population": map[string]any{"id": other}})
	}
	items, pages := listAll(t, s, tok, userFilterURL(s.APIPath+base, `username sw "sdk-user"`, "limit", "2"), "users")
	if len(items) != 5 || pages != 3 {
		t.Fatalf("listed %d users in %d pages, want 5 in 3", len(items), pages)
	}
	var names []string
	for _, it := range items {
		names = append(names, it["username"].(string))
		if it["environment"].(map[string]any)["id"] != envID {
			t.Errorf("listed a user of another environment: %v", it)
		}
	}
	if slices.Sort(names); !slices.Equal(names, []string{"SDK-User-0", "SDK-User-1", "SDK-User-2", "SDK-User-3", "SDK-User-4"}) {
		t.Errorf("listed %v", names)
	}
	first := must(t, s.Do(t, apptest.Request{Method: "GET", URL: userFilterURL(base, `username sw "sdk-user"`, "limit", "2"), Token: tok}), 200)
	wantFields(t, first, map[string]any{"count": 5, "size": 2})
	for _, c := range []struct {
		filter string
		want   []string
	}{
		{`email eq "SDK3@example.com"`, []string{"SDK-User-3"}},
		{`username eq "sharedtestuser"`, []string{"sharedTestUser"}},
		{`name.given eq "given1"`, []string{"SDK-User-1"}},
		{`name.family eq "Sdk" and email sw "sdk4"`, []string{"SDK-User-4"}},
		{`((username eq "SDK-User-0") OR (username eq "sdk-user-2"))`, []string{"SDK-User-0", "SDK-User-2"}},
		{`population.id eq "` + shared + `"`, []string{"sharedTestUser"}},
		{`lifecycle.status eq "VERIFICATION_REQUIRED"`, []string{"import-user_1"}},
		{`identityProvider.type eq "PING_ONE" and username sw "import"`, []string{"import-user_1"}},
		{`not (email pr) `, nil},
		{`createdAt gt "2000-01-01T00:00:00.000Z" and username eq "SDK-User-1"`, []string{"SDK-User-1"}},
	} {
		r := must(t, s.Do(t, apptest.Request{Method: "GET", URL: userFilterURL(base, c.filter), Token: tok}), 200)
		var got []string
		for _, it := range get(r, "_embedded.users").([]any) {
			got = append(got, it.(map[string]any)["username"].(string))
		}
		slices.Sort(got)
		if !slices.Equal(got, c.want) || int(r["count"].(float64)) != len(c.want) {
			t.Errorf("filter %s: %v (count %v), want %v", c.filter, got, r["count"], c.want)
		}
	}
	// expand=population on a list: one embedded population per user.
	el := must(t, s.Do(t, apptest.Request{Method: "GET", URL: userFilterURL(base, `name.family eq "sdk"`, "expand", "population", "limit", "3"), Token: tok}), 200)
	for _, it := range get(el, "_embedded.users").([]any) {
		if get(it.(map[string]any), "_embedded.population.name") != "Other" {
			t.Errorf("list item without its population: %v", it)
		}
	}
	if next, _ := get(el, "_links.next.href").(string); !strings.Contains(next, "expand=population") {
		t.Errorf("_links.next.href %q drops expand", next)
	}

	// Replace: the SDK sends the object back with read-only fields, here
	// with PingOne's PUT example's attributes. What the PUT leaves out
	// goes, except what has its own endpoint (population, enabled…).
	time.Sleep(2 * time.Millisecond)
	put := got.JSON(t)
	for k, v := range golden(t, "users.update.put.request.json") {
		put[k] = v
	}
	delete(put, "email")
	put["account"] = map[string]any{"status": "LOCKED", "canAuthenticate": false} // read-only: ignored
	delete(put, "population")
	replaced := must(t, s.Do(t, apptest.Request{Method: "PUT", URL: base + "/" + id, Token: tok, Body: put}), 200)
	wantFields(t, replaced, map[string]any{
		"id": id, "username": "joe@example.com", "email": nil, "name.formatted": "Joe Smith", "name.given": "Joe", "name.middle": "H.",
		"name.family": "Smith", "name.honorificPrefix": "Dr.", "name.honorificSuffix": "IV", "nickname": "Putty", "title": "Senior Director",
		"preferredLanguage": "en-gb;q=0.8, en;q=0.7", "locale": "en-gb", "primaryPhone": "+1.2225554444", "mobilePhone": "+1.4445552222",
		"photo.href": "<url-to-image>", "address.streetAddress": "123 Main Street", "address.countryCode": "US", "type": "tele",
		"timezone": "America/Los_Angeles", "accountId": "5", "account.status": "OK", "population.id": shared,
		"createdAt": created["createdAt"], "enabled": true,
	})
	if replaced["updatedAt"] == created["updatedAt"] {
		t.Error("updatedAt did not change on PUT")
	}
	byName := must(t, s.Do(t, apptest.Request{Method: "GET", URL: userFilterURL(base, `username eq "JOE@example.com"`), Token: tok}), 200)
	wantFields(t, byName, map[string]any{"count": 1})

	// Patch: PingOne's example, then a merge into name and a removal.
	patched := must(t, s.Do(t, apptest.Request{Method: "PATCH", URL: base + "/" + id, Token: tok, Body: golden(t, "users.update.patch.request.json")}), 200)
	wantFields(t, patched, map[string]any{"title": "Manager", "nickname": "Putty", "name.given": "Joe", "accountId": "5"})
	patched = must(t, s.Do(t, apptest.Request{Method: "PATCH", URL: base + "/" + id, Token: tok,
		Body: `{"name": {"middle": null, "given": "Joseph"}, "nickname": null, "accountId": null, "team": "blue"}`}), 200)
	wantFields(t, patched, map[string]any{"title": "Manager", "nickname": nil, "name.given": "Joseph", "name.middle": nil,
		"name.family": "Smith", "accountId": nil, "team": "blue", "username": "joe@example.com"})

	// Sub-resources as Terraform drives them.
	en := must(t, s.Do(t, apptest.Request{Method: "PUT", URL: base + "/" + id + "/enabled", Token: tok, Body: map[string]any{"enabled": false}}), 200)
	wantFields(t, en, map[string]any{"enabled": false, "_links.self.href": self + "/enabled", "_links.user.href": self})
	wantFields(t, must(t, s.Do(t, apptest.Request{Method: "GET", URL: base + "/" + id + "/enabled", Token: tok}), 200), map[string]any{"enabled": false})
	disabled := must(t, s.Do(t, apptest.Request{Method: "GET", URL: userFilterURL(base, `enabled eq false`), Token: tok}), 200)
	if _, _, ids := listIDs(t, &apptest.Response{Body: userJSON(t, disabled)}, "users"); !slices.Equal(ids, []string{id}) {
		t.Errorf("enabled eq false: %v", ids)
	}
	mp := must(t, s.Do(t, apptest.Request{Method: "PUT", URL: base + "/" + id + "/population", Token: tok, Body: map[string]any{"id": other}}), 200)
	wantFields(t, mp, map[string]any{"id": other, "_links.self.href": self + "/population", "_links.population.href": envHref + "/populations/" + other})
	wantFields(t, must(t, s.Do(t, apptest.Request{Method: "GET", URL: base + "/" + id + "/population", Token: tok}), 200), map[string]any{"id": other})
	mfa := must(t, s.Do(t, apptest.Request{Method: "PUT", URL: base + "/" + id + "/mfaEnabled", Token: tok,
		Body: golden(t, "users.mfaEnabled.update.request.json")}), 200)
	gm := golden(t, "users.mfaEnabled.update.response.json")
	if !slices.Equal(keysOf(mfa), keysOf(gm)) || !slices.Equal(keysOf(mfa["_links"].(map[string]any)), keysOf(gm["_links"].(map[string]any))) {
		t.Errorf("mfaEnabled response %v, PingOne's %v", mfa, gm)
	}
	wantFields(t, mfa, map[string]any{"mfaEnabled": true, "_links.self.href": self + "/mfaEnabled", "_links.user.href": self})
	after := must(t, s.Do(t, apptest.Request{Method: "GET", URL: base + "/" + id, Token: tok}), 200)
	// A disabled user cannot authenticate (PingOne's account data model;
	// PingOne's Terraform provider plans canAuthenticate from enabled).
	wantFields(t, after, map[string]any{"enabled": false, "mfaEnabled": true, "population.id": other, "title": "Manager",
		"account.canAuthenticate": false, "account.status": "OK"})
	must(t, s.Do(t, apptest.Request{Method: "PUT", URL: base + "/" + id + "/enabled", Token: tok, Body: map[string]any{"enabled": true}}), 200)
	wantFields(t, must(t, s.Do(t, apptest.Request{Method: "GET", URL: base + "/" + id, Token: tok}), 200),
		map[string]any{"enabled": true, "account.canAuthenticate": true, "account.status": "OK"})

	// Lock and unlock, with no body and the SDK's two Content-Type values.
	for _, c := range []struct{ ct, status string }{{"application/vnd.pingidentity.account.lock+json", "LOCKED"},
		{"application/vnd.pingidentity.account.unlock+json", "OK"}} {
		r := must(t, s.Do(t, apptest.Request{Method: "POST", URL: base + "/" + id, Token: tok, Body: []byte{},
			Headers: http.Header{"Content-Type": {c.ct}}}), 200)
		wantFields(t, r, map[string]any{"id": id, "account.status": c.status, "account.canAuthenticate": c.status == "OK"})
		if c.status == "LOCKED" {
			checkTime(t, r, "account.lockedAt")
			locked := must(t, s.Do(t, apptest.Request{Method: "GET", URL: userFilterURL(base, `account.status eq "LOCKED"`), Token: tok}), 200)
			wantFields(t, locked, map[string]any{"count": 1})
		}
	}

	// Delete: 204, then 404 everywhere.
	must(t, s.Do(t, apptest.Request{Method: "DELETE", URL: base + "/" + id, Token: tok}), 204)
	for _, u := range []string{base + "/" + id, base + "/" + id + "/enabled", base + "/" + id + "/password"} {
		wantFields(t, must(t, s.Do(t, apptest.Request{Method: "GET", URL: u, Token: tok}), 404), map[string]any{"code": "NOT_FOUND"})
	}
	must(t, s.Do(t, apptest.Request{Method: "DELETE", URL: base + "/" + id, Token: tok}), 404)

	// The population's user count and delete guard see users.
	pop := must(t, s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + envID + "/populations/" + other, Token: tok}), 200)
	wantFields(t, pop, map[string]any{"userCount": 5})
	wantFields(t, must(t, s.Do(t, apptest.Request{Method: "DELETE", URL: "/environments/" + envID + "/populations/" + other, Token: tok}), 400),
		map[string]any{"code": "REQUEST_FAILED"})
	must(t, s.Do(t, apptest.Request{Method: "DELETE", URL: "/environments/" + envID + "/populations/" + shared, Token: tok}), 204)
}

// TestUsernameRace: 50 concurrent creates of one username, in mixed case,
// give exactly one 201 and 49 UNIQUENESS_VIOLATION, and one row.
func TestUsernameRace(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			tok := s.AdminToken(t)
			envID := newEnv(t, s, "Race", "SANDBOX")
			const n = 50
			var wg sync.WaitGroup
			start := make(chan struct{})
			res := make([]*apptest.Response, n)
			for i := range n {
				name := "racer"
				if i%3 == 1 {
					name = "RACER"
				}
				wg.Go(func() {
					<-start
					res[i] = s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + envID + "/users", Token: tok,
						Body: map[string]any{"username": name, "email": fmt.Sprintf("r%d@example.com", i)}})
				})
			}
			close(start)
			wg.Wait()
			created := 0
			for _, r := range res {
				switch r.Status {
				case http.StatusCreated:
					created++
				case http.StatusBadRequest:
					checkAnswer(t, r, wantErr{400, "INVALID_DATA", "UNIQUENESS_VIOLATION", "username"})
				default:
					t.Errorf("status %d: %s", r.Status, trimBody(r.Body))
				}
			}
			if created != 1 {
				t.Errorf("%d creates succeeded, want exactly 1", created)
			}
			list := must(t, s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + envID + "/users", Token: tok}), 200)
			wantFields(t, list, map[string]any{"count": 1, "size": 1})
		})
	}
}

// TestUserIsolation: two environments holding users of the same names never
// read, list, filter or change each other's.
func TestUserIsolation(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			admin := s.AdminToken(t)
			envA := newEnv(t, s, "Users A", "SANDBOX")
			envB := newEnv(t, s, "Users B", "SANDBOX")
			ids := map[string]map[string]string{envA: {}, envB: {}}
			for _, e := range []string{envA, envB} {
				for _, name := range []string{"alice", "bob"} {
					u := userCreate(t, s, e, map[string]any{"username": name, "email": name + "@example.com", "name": map[string]any{"given": name}})
					ids[e][name] = u["id"].(string)
				}
			}
			usersA, usersB := "/environments/"+envA+"/users", "/environments/"+envB+"/users"

			for _, c := range []struct{ env, base string }{{envA, usersA}, {envB, usersB}} {
				for _, f := range []string{"", `username eq "alice"`, `email sw "a"`, `name.given eq "alice"`, `id eq "` + ids[envA]["alice"] + `"`,
					`id eq "` + ids[envB]["alice"] + `"`, `username sw ""`} {
					u := c.base
					if f != "" {
						u = userFilterURL(c.base, f)
					}
					r := doNo5xx(t, s, apptest.Request{Method: "GET", URL: u, Token: admin})
					checkAnswer(t, r, wantErr{status: 200})
					_, _, got := listIDs(t, r, "users")
					for _, id := range got {
						if id != ids[c.env]["alice"] && id != ids[c.env]["bob"] {
							t.Errorf("%s filter %q lists %s of the other environment", c.base, f, id)
						}
					}
				}
			}
			// A's users under B: 404 on every path, and nothing changes.
			beforeA := adminGet(t, s, usersA)
			a1 := ids[envA]["alice"]
			notFound := wantErr{http.StatusNotFound, "NOT_FOUND", "", ""}
			for _, req := range []apptest.Request{
				{Method: "GET", URL: usersB + "/" + a1},
				{Method: "PUT", URL: usersB + "/" + a1, Body: map[string]any{"username": "hijacked"}},
				{Method: "PATCH", URL: usersB + "/" + a1, Body: map[string]any{"title": "hijacked"}},
				{Method: "DELETE", URL: usersB + "/" + a1},
				{Method: "GET", URL: usersB + "/" + a1 + "/enabled"},
				{Method: "PUT", URL: usersB + "/" + a1 + "/enabled", Body: map[string]any{"enabled": false}},
				{Method: "PUT", URL: usersB + "/" + a1 + "/population", Body: map[string]any{"id": uuid.NewString()}},
				{Method: "PUT", URL: usersB + "/" + a1 + "/mfaEnabled", Body: map[string]any{"mfaEnabled": true}},
				{Method: "POST", URL: usersB + "/" + a1, Body: []byte{}, ContentType: "application/vnd.pingidentity.account.lock+json"},
				{Method: "GET", URL: usersB + "/" + a1 + "/password"},
				{Method: "PUT", URL: usersB + "/" + a1 + "/password", Body: map[string]any{"value": "Xy7#kLmN9!pq", "bypassPolicy": true},
					ContentType: "application/vnd.pingidentity.password.set+json"},
				{Method: "POST", URL: usersB + "/" + a1 + "/password", Body: map[string]any{"password": "x"},
					ContentType: "application/vnd.pingidentity.password.check+json"},
			} {
				req.Token = admin
				checkAnswer(t, doNo5xx(t, s, req), notFound)
			}
			if after := adminGet(t, s, usersA); !bytes.Equal(beforeA, after) {
				t.Errorf("A's users changed:\nbefore %s\nafter  %s", trimBody(beforeA), trimBody(after))
			}
			// A population of A cannot hold B's users.
			popA := newPop(t, s, envA, "A only")
			checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "PUT", URL: usersB + "/" + ids[envB]["bob"] + "/population", Token: admin,
				Body: map[string]any{"id": popA}}), wantErr{400, "INVALID_DATA", "INVALID_VALUE", "id"})
			checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: usersB, Token: admin,
				Body: map[string]any{"username": "carol", "population": map[string]any{"id": popA}}}), wantErr{400, "INVALID_DATA", "INVALID_VALUE", "population.id"})
			// B's worker cannot see A at all.
			workerB := s.Token(t, s.CreateWorker(t, envB, "CLIENT_SECRET_BASIC", [3]string{roles.IdentityDataAdmin.ID, roles.ScopeEnvironment, envB}))
			checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: usersA, Token: workerB}), wantErr{http.StatusForbidden, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""})
			checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: usersB, Token: workerB}), wantErr{status: 200})
		})
	}
}

func TestUserErrors(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			userErrorCases(t, apptest.Start(t, apptest.Options{DSN: b.DSN(t)}))
		})
	}
}

func userErrorCases(t *testing.T, s *apptest.Server) {
	x := newEnv(t, s, "User errors X", "SANDBOX")
	y := newEnv(t, s, "User errors Y", "SANDBOX")
	popY := newPop(t, s, y, "Y people")
	users := "/environments/" + x + "/users"
	joe := userCreate(t, s, x, map[string]any{"username": "Joe", "email": "joe@example.com"})["id"].(string)
	joeURL := users + "/" + joe
	yUser := userCreate(t, s, y, map[string]any{"username": "Joe"})["id"].(string)
	unknown := uuid.NewString()
	readOnly := s.Token(t, s.CreateWorker(t, x, "CLIENT_SECRET_BASIC", [3]string{roles.IdentityDataReadOnly.ID, roles.ScopeEnvironment, x}))
	dataAdmin := s.Token(t, s.CreateWorker(t, x, "CLIENT_SECRET_BASIC", [3]string{roles.IdentityDataAdmin.ID, roles.ScopeEnvironment, x}))

	badData := func(detail, target string) wantErr { return wantErr{400, "INVALID_DATA", detail, target} }
	badFilter := wantErr{400, "INVALID_REQUEST", "INVALID_FILTER", "filter"}
	notFound := wantErr{404, "NOT_FOUND", "", ""}
	forbidden := wantErr{403, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""}
	unsupported := wantErr{415, "INVALID_REQUEST", "INVALID_VALUE", "Content-Type"}
	allowed := func(want ...string) func(t *testing.T, r *apptest.Response, m map[string]any) {
		return func(t *testing.T, r *apptest.Response, m map[string]any) {
			if got := strList(innerOf(t, detailAt(t, m, 0))["allowedValues"]); !slices.Equal(got, want) {
				t.Errorf("allowedValues = %v, want %v", got, want)
			}
		}
	}
	vnd := func(ct string) http.Header { return http.Header{"Content-Type": {ct}} }

	cases := []errCase{
		// -- validation
		{name: "duplicate username, other case", req: apptest.Request{Method: "POST", URL: users, Body: map[string]any{"username": "JOE"}},
			want: badData("UNIQUENESS_VIOLATION", "username"), unchanged: []string{users}},
		{name: "duplicate username by import", req: apptest.Request{Method: "POST", URL: users, Body: map[string]any{"username": "joe"},
			ContentType: "application/vnd.pingidentity.user.import+json"}, want: badData("UNIQUENESS_VIOLATION", "username"), unchanged: []string{users}},
		{name: "renaming onto a taken username", req: apptest.Request{Method: "PUT", URL: users + "/" + userCreate(t, s, x, map[string]any{"username": "ann"})["id"].(string),
			Body: map[string]any{"username": "jOE"}}, want: badData("UNIQUENESS_VIOLATION", "username"), unchanged: []string{users}},
		{name: "missing username", req: apptest.Request{Method: "POST", URL: users, Body: map[string]any{"email": "a@example.com"}},
			want: badData("REQUIRED_VALUE", "username"), unchanged: []string{users}},
		{name: "blank username on PUT", req: apptest.Request{Method: "PUT", URL: joeURL, Body: map[string]any{"username": "  "}},
			want: badData("REQUIRED_VALUE", "username"), unchanged: []string{joeURL}},
		{name: "username too long", req: apptest.Request{Method: "POST", URL: users, Body: map[string]any{"username": strings.Repeat("u", 129)}},
			want: badData("SIZE_LIMIT_EXCEEDED", "username"), unchanged: []string{users},
			check: func(t *testing.T, r *apptest.Response, m map[string]any) {
				if got := innerOf(t, detailAt(t, m, 0))["maximumValue"]; got != float64(128) {
					t.Errorf("maximumValue %v", got)
				}
			}},
		{name: "bad lifecycle status", req: apptest.Request{Method: "POST", URL: users, Body: map[string]any{"username": "lc", "lifecycle": map[string]any{"status": "NEW"}}},
			want: badData("INVALID_VALUE", "lifecycle.status"), unchanged: []string{users}, check: allowed("ACCOUNT_OK", "VERIFICATION_REQUIRED")},
		{name: "bad identity provider type", req: apptest.Request{Method: "POST", URL: users,
			Body: map[string]any{"username": "idp", "identityProvider": map[string]any{"type": "MYSPACE"}}},
			want: badData("INVALID_VALUE", "identityProvider.type"), unchanged: []string{users},
			check: allowed("PING_ONE", "FACEBOOK", "GOOGLE", "LINKEDIN", "APPLE", "AMAZON", "TWITTER", "YAHOO", "PAYPAL", "MICROSOFT", "GITHUB", "OPENID_CONNECT", "SAML")},
		{name: "bad verifyStatus on PATCH", req: apptest.Request{Method: "PATCH", URL: joeURL, Body: map[string]any{"verifyStatus": "MAYBE"}},
			want: badData("INVALID_VALUE", "verifyStatus"), unchanged: []string{joeURL}, check: allowed("NOT_INITIATED", "ENABLED", "DISABLED")},
		{name: "several problems at once", req: apptest.Request{Method: "POST", URL: users,
			Body: map[string]any{"email": "not-an-email", "address": map[string]any{"countryCode": "usa"}, "timezone": "Mars/Olympus_Mons"}},
			want: badData("REQUIRED_VALUE", "username"), unchanged: []string{users},
			check: func(t *testing.T, r *apptest.Response, m map[string]any) {
				var got []string
				for _, d := range m["details"].([]any) {
					d := d.(map[string]any)
					got = append(got, d["code"].(string)+" "+d["target"].(string))
				}
				want := []string{"REQUIRED_VALUE username", "INVALID_VALUE email", "INVALID_VALUE timezone", "INVALID_VALUE address.countryCode"}
				if !slices.Equal(got, want) {
					t.Errorf("details %v, want %v", got, want)
				}
			}},
		{name: "unknown population", req: apptest.Request{Method: "POST", URL: users, Body: map[string]any{"username": "p", "population": map[string]any{"id": unknown}}},
			want: badData("INVALID_VALUE", "population.id"), unchanged: []string{users}},
		{name: "another environment's population", req: apptest.Request{Method: "PATCH", URL: joeURL, Body: map[string]any{"population": map[string]any{"id": popY}}},
			want: badData("INVALID_VALUE", "population.id"), unchanged: []string{joeURL}},
		{name: "empty population", req: apptest.Request{Method: "POST", URL: users, Body: map[string]any{"username": "p", "population": map[string]any{}}},
			want: badData("REQUIRED_VALUE", "population.id"), unchanged: []string{users}},
		{name: "bad custom attribute name", req: apptest.Request{Method: "POST", URL: users, Body: map[string]any{"username": "c", "bad-name": 1}},
			want: badData("INVALID_VALUE", "bad-name"), unchanged: []string{users}},
		{name: "username of the wrong type", req: apptest.Request{Method: "POST", URL: users, Body: `{"username": 5}`},
			want: wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "username"}, unchanged: []string{users}},
		{name: "nested attribute of the wrong type", req: apptest.Request{Method: "PUT", URL: joeURL, Body: `{"username": "Joe", "name": {"given": true}}`},
			want: wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "name.given"}, unchanged: []string{joeURL}},
		{name: "malformed JSON", req: apptest.Request{Method: "POST", URL: users, Body: `{"username": "m",`},
			want: wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", ""}, unchanged: []string{users}},
		{name: "array body on PATCH", req: apptest.Request{Method: "PATCH", URL: joeURL, Body: `[]`},
			want: wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", ""}, unchanged: []string{joeURL}},
		{name: "NUL in a custom attribute", req: apptest.Request{Method: "POST", URL: users, Body: `{"username": "n", "note": "a\u0000b"}`},
			want: badData("INVALID_VALUE", "note"), unchanged: []string{users}},
		{name: "enabled missing", req: apptest.Request{Method: "PUT", URL: joeURL + "/enabled", Body: map[string]any{}},
			want: badData("REQUIRED_VALUE", "enabled"), unchanged: []string{joeURL}},
		{name: "mfaEnabled of the wrong type", req: apptest.Request{Method: "PUT", URL: joeURL + "/mfaEnabled", Body: `{"mfaEnabled": "yes"}`},
			want: wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "mfaEnabled"}, unchanged: []string{joeURL}},
		{name: "unknown population on /population", req: apptest.Request{Method: "PUT", URL: joeURL + "/population", Body: map[string]any{"id": unknown}},
			want: badData("INVALID_VALUE", "id"), unchanged: []string{joeURL}},
		{name: "unsupported expand", req: apptest.Request{Method: "GET", URL: joeURL + "?expand=groups"},
			want: wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "expand"}},

		// -- media types and sizes
		{name: "text/plain create", req: apptest.Request{Method: "POST", URL: users, Body: `{"username":"t"}`, ContentType: "text/plain"},
			want: unsupported, unchanged: []string{users}},
		{name: "PATCH with the import type", req: apptest.Request{Method: "PATCH", URL: joeURL, Body: `{"title":"t"}`,
			ContentType: "application/vnd.pingidentity.user.import+json"}, want: unsupported, unchanged: []string{joeURL}},
		{name: "lock without its media type", req: apptest.Request{Method: "POST", URL: joeURL, Body: `{}`}, want: unsupported, unchanged: []string{joeURL}},
		{name: "oversized body", req: apptest.Request{Method: "POST", URL: users, Body: `{"username":"` + strings.Repeat("a", 1<<20) + `"}`},
			want: wantErr{413, "INVALID_REQUEST", "SIZE_LIMIT_EXCEEDED", ""}, unchanged: []string{users}},

		// -- filters and paging
		{name: "unknown filter attribute", req: apptest.Request{Method: "GET", URL: userFilterURL(users, `shoeSize eq "9"`)}, want: badFilter,
			check: func(t *testing.T, r *apptest.Response, m map[string]any) {
				if got := strList(innerOf(t, detailAt(t, m, 0))["supportedAttributes"]); !slices.Contains(got, "name.given") {
					t.Errorf("supportedAttributes %v", got)
				}
			}},
		{name: "malformed filter", req: apptest.Request{Method: "GET", URL: userFilterURL(users, `username eq`)}, want: badFilter},
		{name: "wrong value type in a filter", req: apptest.Request{Method: "GET", URL: userFilterURL(users, `enabled eq "yes"`)}, want: badFilter},
		{name: "operator a column cannot do alike on both databases", req: apptest.Request{Method: "GET", URL: userFilterURL(users, `externalId co "x"`)}, want: badFilter},
		{name: "bad limit", req: apptest.Request{Method: "GET", URL: users + "?limit=0"}, want: wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "limit"}},
		{name: "bad cursor", req: apptest.Request{Method: "GET", URL: users + "?cursor=!!!"}, want: wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "cursor"}},

		// -- not found
		{name: "unknown user", req: apptest.Request{Method: "GET", URL: users + "/" + unknown}, want: notFound},
		{name: "malformed user id", req: apptest.Request{Method: "GET", URL: users + "/not-a-uuid"}, want: notFound},
		{name: "user id of another environment", req: apptest.Request{Method: "GET", URL: users + "/" + yUser}, want: notFound},
		{name: "PUT a user of another environment", req: apptest.Request{Method: "PUT", URL: users + "/" + yUser, Body: map[string]any{"username": "x"}},
			want: notFound, unchanged: []string{users}},
		{name: "users of an unknown environment", req: apptest.Request{Method: "GET", URL: "/environments/" + unknown + "/users"}, want: notFound},
		{name: "POST into an unknown environment", req: apptest.Request{Method: "POST", URL: "/environments/" + unknown + "/users",
			Body: map[string]any{"username": "lost"}}, want: notFound},

		// -- roles: Identity Data Read Only reads but never writes
		{name: "read-only lists", req: apptest.Request{Method: "GET", URL: users, Token: readOnly}, want: wantErr{status: 200}},
		{name: "read-only reads", req: apptest.Request{Method: "GET", URL: joeURL + "?expand=population", Token: readOnly}, want: wantErr{status: 200}},
		{name: "read-only reads the password state", req: apptest.Request{Method: "GET", URL: joeURL + "/password", Token: readOnly}, want: wantErr{status: 200}},
		{name: "read-only creates", req: apptest.Request{Method: "POST", URL: users, Token: readOnly, Body: map[string]any{"username": "ro"}},
			want: forbidden, unchanged: []string{users}},
		{name: "read-only replaces", req: apptest.Request{Method: "PUT", URL: joeURL, Token: readOnly, Body: map[string]any{"username": "ro"}},
			want: forbidden, unchanged: []string{joeURL}},
		{name: "read-only patches", req: apptest.Request{Method: "PATCH", URL: joeURL, Token: readOnly, Body: map[string]any{"title": "ro"}},
			want: forbidden, unchanged: []string{joeURL}},
		{name: "read-only deletes", req: apptest.Request{Method: "DELETE", URL: joeURL, Token: readOnly}, want: forbidden, unchanged: []string{joeURL}},
		{name: "read-only disables", req: apptest.Request{Method: "PUT", URL: joeURL + "/enabled", Token: readOnly, Body: map[string]any{"enabled": false}},
			want: forbidden, unchanged: []string{joeURL}},
		{name: "read-only locks", req: apptest.Request{Method: "POST", URL: joeURL, Token: readOnly, Body: []byte{},
			Headers: vnd("application/vnd.pingidentity.account.lock+json")}, want: forbidden, unchanged: []string{joeURL}},
		{name: "read-only sets a password", req: apptest.Request{Method: "PUT", URL: joeURL + "/password", Token: readOnly,
			Body: map[string]any{"value": "Xy7#kLmN9!pq"}, ContentType: "application/vnd.pingidentity.password.set+json"},
			want: forbidden, unchanged: []string{joeURL + "/password"}},
		{name: "read-only checks a password", req: apptest.Request{Method: "POST", URL: joeURL + "/password", Token: readOnly,
			Body: map[string]any{"password": "x"}, Headers: vnd("application/vnd.pingidentity.password.check+json")},
			want: forbidden, unchanged: []string{joeURL + "/password"}},
		{name: "data admin creates", req: apptest.Request{Method: "POST", URL: users, Token: dataAdmin, Body: map[string]any{"username": "by-admin"}},
			want: wantErr{status: 201}},
		{name: "no token", req: apptest.Request{Method: "GET", URL: users, Token: "-"}, want: wantErr{401, "ACCESS_FAILED", "INVALID_TOKEN", ""}},
	}
	runErrCases(t, s, cases)
}

// runErrCases runs error cases: the admin token unless the case names one
// ("-" for none), the answer checked, and the unchanged URLs compared byte
// for byte before and after.
func runErrCases(t *testing.T, s *apptest.Server, cases []errCase) {
	admin := s.AdminToken(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			switch c.req.Token {
			case "":
				c.req.Token = admin
			case "-":
				c.req.Token = ""
			}
			before := make([][]byte, len(c.unchanged))
			for i, u := range c.unchanged {
				before[i] = adminGet(t, s, u)
			}
			r := doNo5xx(t, s, c.req)
			m := checkAnswer(t, r, c.want)
			if c.check != nil {
				c.check(t, r, m)
			}
			for i, u := range c.unchanged {
				if after := adminGet(t, s, u); !bytes.Equal(before[i], after) {
					t.Errorf("%s changed:\nbefore %s\nafter  %s", u, trimBody(before[i]), trimBody(after))
				}
			}
		})
	}
}

func userJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
