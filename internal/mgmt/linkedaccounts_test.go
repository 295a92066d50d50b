package mgmt_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/roles"
)

const ctLink = "application/vnd.pingidentity.account.link+json"

func linkBody(idpID, externalID string) map[string]any {
	return map[string]any{"identityProvider": map[string]any{"id": idpID}, "externalId": externalID}
}

func TestLinkedAccountsAsSDK(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			testLinkedAccounts(t, s)
		})
	}
}

func testLinkedAccounts(t *testing.T, s *apptest.Server) {
	ctx := context.Background()
	admin := s.AdminToken(t)
	x := newEnv(t, s, "Links X", "SANDBOX")
	y := newEnv(t, s, "Links Y", "SANDBOX")
	pop := newPop(t, s, x, "Members")
	popY := newPop(t, s, y, "Theirs")
	idp := newIDP(t, s, x, "Upstream")
	idp2 := newIDP(t, s, x, "Partner")
	idpY := newIDP(t, s, y, "Foreign")
	alice := s.CreateUser(t, x, pop, "alice", "alice@example.com", "Alice", "Liddell", "Correct-H0rse-Battery!")
	bob := s.CreateUser(t, x, pop, "bob", "", "Bob", "", "Correct-H0rse-Battery!")
	carol := s.CreateUser(t, y, popY, "carol", "carol@example.com", "Carol", "Y", "Correct-H0rse-Battery!")
	users := "/environments/" + x + "/users/"
	aliceLinks := users + alice + "/linkedAccounts"
	base := s.APIPath + aliceLinks
	do := func(r apptest.Request) *apptest.Response {
		t.Helper()
		if r.Token == "" {
			r.Token = admin
		}
		return doNo5xx(t, s, r)
	}
	link := func(userID string, body any) *apptest.Response {
		t.Helper()
		return do(apptest.Request{Method: "POST", URL: users + userID + "/linkedAccounts", ContentType: ctLink, Body: body})
	}

	// A new user has no links.
	empty := must(t, do(apptest.Request{Method: "GET", URL: aliceLinks}), http.StatusOK)
	wantFields(t, empty, map[string]any{"count": 0, "size": 0, "_embedded.linkedAccounts": []any{}, "_links.self.href": base})

	// Create, as PingOne's example does, with the attributes the link
	// writes: EMPTY_ONLY ones fill empty values only, ALWAYS ones replace.
	created := must(t, link(alice, with(linkBody(idp, "3249023841"), "attributes", map[string]any{
		"email":      map[string]any{"value": "other@example.com", "update": "EMPTY_ONLY"},
		"nickname":   map[string]any{"value": "Al", "update": "ALWAYS"},
		"name.given": map[string]any{"value": "Alicia", "update": "ALWAYS"},
	})), http.StatusCreated)
	id := checkID(t, created, "id")
	checkTime(t, created, "createdAt")
	checkTime(t, created, "updatedAt")
	wantFields(t, created, map[string]any{"externalId": "3249023841", "identityProvider": map[string]any{"id": idp}, "user.id": alice,
		"environment.id": x, "_links.self.href": base + "/" + id, "_links.user.href": s.APIPath + users + alice,
		"_links.environment.href": s.APIPath + "/environments/" + x})
	if got := keysOf(created); !slices.Equal(got, []string{"_links", "createdAt", "environment", "externalId", "id", "identityProvider", "updatedAt", "user"}) {
		t.Errorf("members = %v", got)
	}
	u := must(t, do(apptest.Request{Method: "GET", URL: users + alice}), http.StatusOK)
	wantFields(t, u, map[string]any{"email": "alice@example.com", "nickname": "Al", "name.given": "Alicia", "name.family": "Liddell"})
	// Bob has no email: an EMPTY_ONLY email fills it.
	must(t, link(bob, with(linkBody(idp, "bob-sub"), "attributes", map[string]any{"email": map[string]any{"value": "bob@example.com", "update": "EMPTY_ONLY"}})), http.StatusCreated)
	wantFields(t, must(t, do(apptest.Request{Method: "GET", URL: users + bob}), http.StatusOK), map[string]any{"email": "bob@example.com"})

	if got := must(t, do(apptest.Request{Method: "GET", URL: aliceLinks + "/" + id}), http.StatusOK); !cfgSameJSON(got, created) {
		t.Errorf("GET differs from POST: %v", got)
	}
	second := must(t, link(alice, linkBody(idp2, "3249023841")), http.StatusCreated) // the same subject at another provider
	l := must(t, do(apptest.Request{Method: "GET", URL: aliceLinks}), http.StatusOK)
	_, _, ids := listIDs(t, do(apptest.Request{Method: "GET", URL: aliceLinks}), "linkedAccounts")
	want := []string{id, second["id"].(string)}
	slices.Sort(want)
	if !slices.Equal(ids, want) || l["count"] != float64(2) || l["size"] != float64(2) {
		t.Errorf("links = %v (count %v), want %v", ids, l["count"], want)
	}
	found, err := s.Store.FindLinkedAccount(ctx, x, idp, "3249023841")
	if err != nil || found.ID != id || found.UserID != alice {
		t.Errorf("FindLinkedAccount = %+v, %v", found, err)
	}

	before := adminGet(t, s, aliceLinks)
	unknown := uuid.NewString()
	bad := func(status int, code, detail, target string) wantErr { return wantErr{status, code, detail, target} }
	cases := []errCase{
		{name: "the same subject for another user", req: apptest.Request{Method: "POST", URL: users + bob + "/linkedAccounts", ContentType: ctLink, Body: linkBody(idp, "3249023841")},
			want: bad(400, "INVALID_DATA", "UNIQUENESS_VIOLATION", "externalId"), unchanged: []string{aliceLinks, users + bob + "/linkedAccounts"}},
		{name: "the same link twice", req: apptest.Request{Method: "POST", URL: aliceLinks, ContentType: ctLink, Body: linkBody(idp, "3249023841")},
			want: bad(400, "INVALID_DATA", "UNIQUENESS_VIOLATION", "externalId"), unchanged: []string{aliceLinks}},
		{name: "plain JSON", req: apptest.Request{Method: "POST", URL: aliceLinks, Body: linkBody(idp, "new")},
			want: bad(415, "INVALID_REQUEST", "INVALID_VALUE", "Content-Type"), unchanged: []string{aliceLinks}},
		{name: "the vendor type beside application/json", req: apptest.Request{Method: "POST", URL: users + bob + "/linkedAccounts", Body: linkBody(idp2, "bob-2"),
			Headers: http.Header{"Content-Type": {ctLink}}}, want: wantErr{status: http.StatusCreated}},
		{name: "malformed JSON", req: apptest.Request{Method: "POST", URL: aliceLinks, ContentType: ctLink, Body: `{"externalId":`},
			want: bad(400, "INVALID_REQUEST", "INVALID_VALUE", ""), unchanged: []string{aliceLinks}},
		{name: "without provider and external id", req: apptest.Request{Method: "POST", URL: aliceLinks, ContentType: ctLink, Body: map[string]any{}},
			want: bad(400, "INVALID_DATA", "REQUIRED_VALUE", "identityProvider.id"), unchanged: []string{aliceLinks},
			check: func(t *testing.T, r *apptest.Response, m map[string]any) {
				if d := detailAt(t, m, 1); d["target"] != "externalId" || d["code"] != "REQUIRED_VALUE" {
					t.Errorf("details[1] = %v", d)
				}
			}},
		{name: "an unknown provider", req: apptest.Request{Method: "POST", URL: aliceLinks, ContentType: ctLink, Body: linkBody(unknown, "new")},
			want: bad(400, "INVALID_DATA", "INVALID_VALUE", "identityProvider.id"), unchanged: []string{aliceLinks}},
		{name: "another environment's provider", req: apptest.Request{Method: "POST", URL: aliceLinks, ContentType: ctLink, Body: linkBody(idpY, "new")},
			want: bad(400, "INVALID_DATA", "INVALID_VALUE", "identityProvider.id"), unchanged: []string{aliceLinks}},
		{name: "an unknown attribute", req: apptest.Request{Method: "POST", URL: aliceLinks, ContentType: ctLink,
			Body: with(linkBody(idp, "new"), "attributes", map[string]any{"name.first": map[string]any{"value": "Leslie", "update": "ALWAYS"}})},
			want: bad(400, "INVALID_DATA", "INVALID_VALUE", "attributes.name.first"), unchanged: []string{aliceLinks, users + alice}},
		{name: "an attribute without update", req: apptest.Request{Method: "POST", URL: aliceLinks, ContentType: ctLink,
			Body: with(linkBody(idp, "new"), "attributes", map[string]any{"title": map[string]any{"value": "Dr"}})},
			want: bad(400, "INVALID_DATA", "REQUIRED_VALUE", "attributes.title.update"), unchanged: []string{aliceLinks, users + alice}},
		{name: "an email that is not one", req: apptest.Request{Method: "POST", URL: aliceLinks, ContentType: ctLink,
			Body: with(linkBody(idp, "new"), "attributes", map[string]any{"email": map[string]any{"value": "nope", "update": "ALWAYS"}})},
			want: bad(400, "INVALID_DATA", "INVALID_VALUE", "attributes.email.value"), unchanged: []string{aliceLinks, users + alice}},
		{name: "a username taken by another user", req: apptest.Request{Method: "POST", URL: aliceLinks, ContentType: ctLink,
			Body: with(linkBody(idp, "new"), "attributes", map[string]any{"username": map[string]any{"value": "BOB", "update": "ALWAYS"}})},
			want: bad(400, "INVALID_DATA", "UNIQUENESS_VIOLATION", "attributes.username"), unchanged: []string{aliceLinks, users + alice}},
		{name: "an unknown user", req: apptest.Request{Method: "GET", URL: users + unknown + "/linkedAccounts"}, want: bad(404, "NOT_FOUND", "", "")},
		{name: "POST for an unknown user", req: apptest.Request{Method: "POST", URL: users + unknown + "/linkedAccounts", ContentType: ctLink, Body: linkBody(idp, "new")},
			want: bad(404, "NOT_FOUND", "", "")},
		{name: "another environment's user", req: apptest.Request{Method: "GET", URL: users + carol + "/linkedAccounts"}, want: bad(404, "NOT_FOUND", "", "")},
		{name: "an unknown link", req: apptest.Request{Method: "GET", URL: aliceLinks + "/" + unknown}, want: bad(404, "NOT_FOUND", "", "")},
		{name: "a link under another user", req: apptest.Request{Method: "GET", URL: users + bob + "/linkedAccounts/" + id}, want: bad(404, "NOT_FOUND", "", "")},
		{name: "DELETE a link under another user", req: apptest.Request{Method: "DELETE", URL: users + bob + "/linkedAccounts/" + id},
			want: bad(404, "NOT_FOUND", "", ""), unchanged: []string{aliceLinks}},
		{name: "a link under another environment", req: apptest.Request{Method: "GET", URL: "/environments/" + y + "/users/" + alice + "/linkedAccounts/" + id},
			want: bad(404, "NOT_FOUND", "", "")},
		{name: "DELETE under another environment", req: apptest.Request{Method: "DELETE", URL: "/environments/" + y + "/users/" + alice + "/linkedAccounts/" + id},
			want: bad(404, "NOT_FOUND", "", ""), unchanged: []string{aliceLinks}},
		{name: "wrong method", req: apptest.Request{Method: "PUT", URL: aliceLinks + "/" + id, Body: map[string]any{}},
			want: bad(405, "METHOD_NOT_ALLOWED", "", ""), unchanged: []string{aliceLinks}},
	}
	runErrCases(t, s, cases)
	if after := adminGet(t, s, aliceLinks); string(after) != string(before) {
		t.Errorf("refused requests changed alice's links:\n%s\n%s", before, after)
	}

	// Delete.
	must(t, do(apptest.Request{Method: "DELETE", URL: aliceLinks + "/" + id}), http.StatusNoContent)
	checkAnswer(t, do(apptest.Request{Method: "GET", URL: aliceLinks + "/" + id}), wantErr{404, "NOT_FOUND", "", ""})
	checkAnswer(t, do(apptest.Request{Method: "DELETE", URL: aliceLinks + "/" + id}), wantErr{404, "NOT_FOUND", "", ""})
	if _, err := s.Store.FindLinkedAccount(ctx, x, idp, "3249023841"); err == nil {
		t.Error("the deleted link is still found")
	}
	// The subject may be linked again, to another user.
	must(t, link(bob, linkBody(idp, "3249023841")), http.StatusCreated)

	// A user's delete takes its links.
	must(t, do(apptest.Request{Method: "DELETE", URL: users + alice}), http.StatusNoContent)
	if _, err := s.Store.FindLinkedAccount(ctx, x, idp2, "3249023841"); err == nil {
		t.Error("the deleted user's link is still found")
	}
}

// TestLinkedAccountScopes: links are identity data, reached with the user
// permissions; population-scoped roles reach their populations' users only.
func TestLinkedAccountScopes(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			x := newEnv(t, s, "Scoped links", "SANDBOX")
			p1, p2 := newPop(t, s, x, "P1"), newPop(t, s, x, "P2")
			idp := newIDP(t, s, x, "Upstream")
			u1 := s.CreateUser(t, x, p1, "one", "one@example.com", "One", "P1", "Correct-H0rse-Battery!")
			u2 := s.CreateUser(t, x, p2, "two", "two@example.com", "Two", "P2", "Correct-H0rse-Battery!")
			users := "/environments/" + x + "/users/"
			l2 := must(t, s.Do(t, apptest.Request{Method: "POST", URL: users + u2 + "/linkedAccounts", Token: s.AdminToken(t), ContentType: ctLink,
				Body: linkBody(idp, "sub-two")}), http.StatusCreated)["id"].(string)
			worker := func(role roles.Role, scopeType, scopeID string) string {
				return s.Token(t, s.CreateWorker(t, x, "CLIENT_SECRET_BASIC", [3]string{role.ID, scopeType, scopeID}))
			}
			popAdmin := worker(roles.IdentityDataAdmin, roles.ScopePopulation, p1)
			popReader := worker(roles.IdentityDataReadOnly, roles.ScopePopulation, p1)
			configAdmin := worker(roles.ClientApplicationDeveloper, roles.ScopeEnvironment, x)
			notFound := wantErr{404, "NOT_FOUND", "", ""}
			forbidden := wantErr{403, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""}
			u1Links, u2Links := users+u1+"/linkedAccounts", users+u2+"/linkedAccounts"

			var l1 string
			cases := []errCase{
				{name: "population admin links a user of its population", req: apptest.Request{Method: "POST", URL: u1Links, Token: popAdmin, ContentType: ctLink,
					Body: linkBody(idp, "sub-one")}, want: wantErr{status: http.StatusCreated},
					check: func(t *testing.T, r *apptest.Response, m map[string]any) { l1 = m["id"].(string) }},
				{name: "population admin lists its user's links", req: apptest.Request{Method: "GET", URL: u1Links, Token: popAdmin}, want: wantErr{status: http.StatusOK},
					check: func(t *testing.T, r *apptest.Response, m map[string]any) {
						if count, _, _ := listIDs(t, r, "linkedAccounts"); count != 1 {
							t.Errorf("count = %d", count)
						}
					}},
				{name: "population reader lists its user's links", req: apptest.Request{Method: "GET", URL: u1Links, Token: popReader}, want: wantErr{status: http.StatusOK}},
				{name: "population reader links", req: apptest.Request{Method: "POST", URL: u1Links, Token: popReader, ContentType: ctLink, Body: linkBody(idp, "sub-x")},
					want: forbidden, unchanged: []string{u1Links}},
				{name: "population admin lists another population's user's links", req: apptest.Request{Method: "GET", URL: u2Links, Token: popAdmin}, want: notFound},
				{name: "population admin reads another population's link", req: apptest.Request{Method: "GET", URL: u2Links + "/" + l2, Token: popAdmin}, want: notFound},
				{name: "population admin links another population's user", req: apptest.Request{Method: "POST", URL: u2Links, Token: popAdmin, ContentType: ctLink,
					Body: linkBody(idp, "sub-y")}, want: notFound, unchanged: []string{u2Links}},
				{name: "population admin unlinks another population's user", req: apptest.Request{Method: "DELETE", URL: u2Links + "/" + l2, Token: popAdmin},
					want: notFound, unchanged: []string{u2Links}},
				{name: "a configuration role reads links", req: apptest.Request{Method: "GET", URL: u1Links, Token: configAdmin}, want: forbidden},
			}
			runErrCases(t, s, cases)
			must(t, s.Do(t, apptest.Request{Method: "DELETE", URL: u1Links + "/" + l1, Token: popAdmin}), http.StatusNoContent)
			checkAnswer(t, s.Do(t, apptest.Request{Method: "GET", URL: u1Links + "/" + l1, Token: popAdmin}), notFound)
		})
	}
}
