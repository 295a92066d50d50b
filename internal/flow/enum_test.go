package flow_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/password"
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

// TestFlowPasswordCap: a flow fails at its cap of failed password checks,
// known and unknown usernames and locked answers alike, session.reset
// notwithstanding: the check that reaches the cap answers the FAILED flow,
// later actions are refused without a password being checked, and resume
// reports access_denied. Below the cap the right password still signs on.
func TestFlowPasswordCap(t *testing.T) {
	for _, be := range apptest.Backends() {
		for _, c := range []struct {
			option, cap int
		}{{0, flow.DefaultMaxPasswordAttempts}, {3, 3}} {
			t.Run(fmt.Sprintf("%s/cap=%d", be.Name, c.cap), func(t *testing.T) {
				s := apptest.Start(t, apptest.Options{DSN: be.DSN(t), MaxFlowPasswordAttempts: c.option})
				e := &env{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{})}
				f, _ := e.start(t, nil, wire.StatusUsernamePasswordRequired)
				for n := 1; n < c.cap; n++ {
					username := "ghost." + uuid.NewString()[:8]
					if n <= 3 {
						username = e.fx.Username // a real user, never locked here
					}
					left := 4
					if n <= 3 {
						left = 5 - n
					}
					wantErr(t, f.post(t, ctCheck, creds(username, wrongPassword)), http.StatusBadRequest, wire.CodeInvalidData, badCreds(left))
					if n == 1 {
						f.step(t, ctReset, nil, wire.StatusUsernamePasswordRequired) // starts the sign-on over, not the count
					}
				}
				r := f.post(t, ctCheck, creds("ghost."+uuid.NewString()[:8], wrongPassword))
				if r.status != http.StatusOK {
					t.Fatalf("the check that reaches the cap: %d %s", r.status, r.body)
				}
				m := r.obj(t)
				wantMsg := fmt.Sprintf("The sign-on failed: %d wrong passwords were tried in it.", c.cap)
				if m["status"] != flow.StatusFailed || !reflect.DeepEqual(m["error"], map[string]any{"code": "access_denied", "message": wantMsg}) {
					t.Errorf("flow after the cap: status %v error %v", m["status"], m["error"])
				}
				wantLinks(t, m)
				wantErr(t, f.post(t, ctCheck, creds(e.fx.Username, e.fx.Password)), http.StatusBadRequest, wire.CodeInvalidRequest, notAllowed())
				if st := f.get(t)["status"]; st != flow.StatusFailed {
					t.Errorf("GET: status %v", st)
				}
				// The refused right password was not counted: the user's count
				// is the three wrong ones.
				if pw := e.passwordState(t, e.fx.UserID); c.cap > 3 && pw["failedLoginCount"] != float64(3) {
					t.Errorf("the user's password state %v, want 3 failures", pw)
				}
				res := send(t, f.c, "GET", e.base()+"/as/resume?flowId="+f.id, "", nil)
				var oe map[string]string
				if err := json.Unmarshal(res.body, &oe); err != nil || res.status != http.StatusBadRequest || oe["error"] != "access_denied" || oe["error_description"] != wantMsg {
					t.Errorf("resume: %d %s", res.status, res.body)
				}

				// Below the cap, the right password completes.
				g, _ := e.start(t, nil, wire.StatusUsernamePasswordRequired)
				for n := 1; n < c.cap; n++ {
					wantErr(t, g.post(t, ctCheck, creds("ghost."+uuid.NewString()[:8], wrongPassword)), http.StatusBadRequest, wire.CodeInvalidData, badCreds(4))
				}
				g.stepDone(t, ctCheck, creds(e.fx.Username, e.fx.Password), e.fx.UserID)
			})
		}
	}
}

// TestPasswordPoolBusy: with the password pool full (one worker, one
// waiter, a short wait), checks beyond its bound are refused at once with
// 503 SERVICE_UNAVAILABLE and Retry-After, in PingOne's error shape; a
// refused check checked nothing and counted nothing.
func TestPasswordPoolBusy(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t),
				PasswordPool: password.PoolOptions{Workers: 1, MaxWaiting: 1, MaxWait: 5 * time.Millisecond}})
			e := &env{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{})}
			const n = 16
			var busy *resp
			var busyFlow *fl
			var busyName string
			for wave := 0; wave < 10 && busy == nil; wave++ {
				flows, names := make([]*fl, n), make([]string, n)
				for i := range n {
					flows[i], _ = e.start(t, nil, wire.StatusUsernamePasswordRequired)
					names[i] = "ghost." + uuid.NewString()[:8]
				}
				results := make([]*resp, n)
				var wg sync.WaitGroup
				for i := range n {
					wg.Go(func() { results[i] = flows[i].post(t, ctCheck, creds(names[i], wrongPassword)) })
				}
				wg.Wait()
				for i, r := range results {
					switch r.status {
					case http.StatusServiceUnavailable:
						busy, busyFlow, busyName = r, flows[i], names[i]
					case http.StatusBadRequest:
						wantErr(t, r, http.StatusBadRequest, wire.CodeInvalidData, badCreds(4))
					default:
						t.Fatalf("a check got %d: %s", r.status, r.body)
					}
				}
			}
			if busy == nil {
				t.Fatalf("no check was refused in 10 waves of %d", n)
			}
			wantErr(t, busy, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE", nil)
			if e := decodeError(t, busy); e.Message != "Too many password checks are waiting. Try again shortly." {
				t.Errorf("message %q", e.Message)
			}
			if ra := busy.header.Get("Retry-After"); ra != "1" {
				t.Errorf("Retry-After %q, want 1", ra)
			}
			// The refusal ranks the flow's next checks behind fresh flows'
			// (the flow keeps it as it keeps its failed checks)...
			stored, err := s.Store.GetFlow(context.Background(), e.fx.EnvID, busyFlow.id)
			if err != nil {
				t.Fatal(err)
			}
			var st struct {
				Refused bool
				Wrong   int
			}
			if err := json.Unmarshal(stored.Data, &st); err != nil || !st.Refused || st.Wrong != 0 {
				t.Errorf("the refused flow's state: %v %+v, want refused and no failed check", err, st)
			}
			// ...but nothing was checked or counted: the name's first
			// failure is still to come.
			wantErr(t, busyFlow.post(t, ctCheck, creds(busyName, wrongPassword)), http.StatusBadRequest, wire.CodeInvalidData, badCreds(4))
		})
	}
}

// TestLookupCostsTheSame: user.lookup, and reading the flow after it, make
// as many store queries for a known username as for an unknown one, so
// that their time does not tell them apart (the flow reads its user only
// where it shows it).
func TestLookupCostsTheSame(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			// No audit log: its writes, off the request path, would land
			// among the statements counted.
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t), Audit: audit.Options{Disabled: true}})
			e := &env{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{})}
			e.assign(t, e.policy(t, "Identifier_First_"+uuid.NewString()[:8], map[string]any{"type": "IDENTIFIER_FIRST", "priority": 1}), 1)
			var cost [2][2]int64
			for i, username := range []string{e.fx.Username, "ghost." + uuid.NewString()[:8]} {
				f, _ := e.start(t, nil, wire.StatusSignOnRequired)
				f.get(t) // warm what reading a flow caches
				q0 := s.Queries()
				f.step(t, ctLookup, map[string]any{"username": username}, wire.StatusPasswordRequired)
				q1 := s.Queries()
				f.get(t)
				cost[i] = [2]int64{q1 - q0, s.Queries() - q1}
			}
			if cost[0] != cost[1] {
				t.Errorf("store queries of user.lookup and a read after it: known %v, unknown %v", cost[0], cost[1])
			}
		})
	}
}
