package flow_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// TestUnknownUsernameAcrossFlows: a username that names no user answers
// wrong passwords exactly as a user does — each attempt in a new flow,
// on either of two servers sharing the database, through LOGIN and
// IDENTIFIER_FIRST policies alike: the same bodies but for their ids,
// counting down, locking with PASSWORD_LOCKED_OUT and secondsUntilUnlock,
// and unlocking when the lockout ends. (Before, an unknown username's
// count lived in its flow: a new flow answered failuresRemaining 4 every
// time, and two requests told which usernames exist.)
func TestUnknownUsernameAcrossFlows(t *testing.T) {
	const lockSeconds = 2
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			dsn, key := be.DSN(t), make([]byte, 32)
			a := apptest.Start(t, apptest.Options{DSN: dsn, MasterKey: key})
			b := apptest.Start(t, apptest.Options{DSN: dsn, MasterKey: key})
			fx := a.NewSignOn(t, apptest.SignOnOptions{})
			nodes := []*env{{s: a, fx: fx}, {s: b, fx: fx}}
			e := nodes[0]
			// A short lockout, so that its end can be waited for.
			polID := e.passwordState(t, fx.UserID)["passwordPolicy"].(map[string]any)["id"].(string)
			pol := e.admin(t, "GET", "/passwordPolicies/"+polID, nil, http.StatusOK)
			pol["lockout"] = map[string]any{"failureCount": 5, "durationSeconds": lockSeconds}
			e.admin(t, "PUT", "/passwordPolicies/"+polID, pol, http.StatusOK)
			ifName := "Identifier_First_" + uuid.NewString()[:8]
			e.assign(t, e.policy(t, ifName, map[string]any{"type": "IDENTIFIER_FIRST", "priority": 1}), 1)
			e.assign(t, e.policyID(t, "Single_Factor"), 2)

			ghost := "ghost." + uuid.NewString()[:8]
			// attempt posts password for username in a new flow of the
			// attempt's policy, on the attempt's server.
			attempt := func(t *testing.T, i int, username, password string) *resp {
				t.Helper()
				n := nodes[i%2]
				if i%3 == 2 {
					f, _ := n.start(t, url.Values{"acr_values": {ifName}}, wire.StatusSignOnRequired)
					f.step(t, ctLookup, map[string]any{"username": username}, wire.StatusPasswordRequired)
					return f.post(t, ctCheck, map[string]any{"password": password})
				}
				f, _ := n.start(t, url.Values{"acr_values": {"Single_Factor"}}, wire.StatusUsernamePasswordRequired)
				return f.post(t, ctCheck, creds(username, password))
			}
			// Usernames ignore case, for users and unknown names alike.
			names := func(i int) (string, string) {
				return []string{fx.Username, strings.ToUpper(fx.Username)}[i%2], []string{ghost, strings.ToUpper(ghost)}[i%2]
			}
			i := 0
			for _, left := range []int{4, 3, 2, 1} {
				user, unknown := names(i)
				r, g := attempt(t, i, user, wrongPassword), attempt(t, i, unknown, wrongPassword)
				wantErr(t, r, http.StatusBadRequest, wire.CodeInvalidData, badCreds(left))
				wantErr(t, g, http.StatusBadRequest, wire.CodeInvalidData, badCreds(left))
				sameBody(t, fmt.Sprintf("%d left", left), r, g)
				i++
			}
			// The fifth locks both; while locked, even the right password
			// is refused.
			for _, pw := range []string{wrongPassword, fx.Password} {
				user, unknown := names(i)
				r, g := attempt(t, i, user, pw), attempt(t, i, unknown, pw)
				wantLocked(t, r, "password", lockSeconds)
				wantLocked(t, g, "password", lockSeconds)
				sameBody(t, "locked", r, g)
				i++
			}
			time.Sleep(lockSeconds*time.Second + 100*time.Millisecond)
			// Unlocked: a fresh count for both, and the user signs on.
			user, unknown := names(i)
			r, g := attempt(t, i, user, wrongPassword), attempt(t, i, unknown, wrongPassword)
			wantErr(t, r, http.StatusBadRequest, wire.CodeInvalidData, badCreds(4))
			wantErr(t, g, http.StatusBadRequest, wire.CodeInvalidData, badCreds(4))
			sameBody(t, "after the lock", r, g)
			f, _ := e.start(t, url.Values{"acr_values": {"Single_Factor"}}, wire.StatusUsernamePasswordRequired)
			f.stepDone(t, ctCheck, creds(fx.Username, fx.Password), fx.UserID)
		})
	}
}

// sameBody checks two error bodies are alike but for their ids and the
// seconds a lock has left (two locks set a moment apart may round to
// different seconds).
func sameBody(t *testing.T, what string, a, b *resp) {
	t.Helper()
	norm := func(r *resp) map[string]any {
		var m map[string]any
		if err := json.Unmarshal(r.body, &m); err != nil {
			t.Fatalf("%s: %v: %s", what, err, r.body)
		}
		delete(m, "id")
		for _, d := range m["details"].([]any) {
			d := d.(map[string]any)
			if in, ok := d["innerError"].(map[string]any); ok && in["secondsUntilUnlock"] != nil {
				in["secondsUntilUnlock"], d["message"] = "n", "n"
			}
		}
		return m
	}
	if na, nb := norm(a), norm(b); a.status != b.status || !reflect.DeepEqual(na, nb) {
		t.Errorf("%s: a user's answer and an unknown username's differ:\n%d %s\n%d %s", what, a.status, a.body, b.status, b.body)
	}
}

