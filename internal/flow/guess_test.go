package flow_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// TestParallelCodeGuesses: recovery code guesses sent at once are counted
// before any is compared, so no more than five are ever compared, and the
// code is void after them — even the right one.
func TestParallelCodeGuesses(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			e := &env{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{})}
			f, _ := e.start(t, nil, "USERNAME_PASSWORD_REQUIRED")
			f.step(t, ctForgot, map[string]any{"username": e.fx.Username}, "RECOVERY_CODE_REQUIRED")
			code := e.lastCode(t, e.fx.Email, "recovery")

			const n = 30
			var wg sync.WaitGroup
			results := make([]*resp, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					results[i] = f.post(t, ctRecover, map[string]any{"recoveryCode": wrongCode(code), "newPassword": "Another-Pass-2026!"})
				}()
			}
			wg.Wait()
			compared := 0
			for _, r := range results {
				if r.status != http.StatusBadRequest {
					t.Fatalf("a guess got %d: %s", r.status, r.body)
				}
				if e := decodeError(t, r); len(e.Details) == 1 && e.Details[0].Target == "recoveryCode" &&
					e.Details[0].Message != "The code has expired or was used too many times: send a new one." {
					compared++
				}
			}
			if compared > 5 {
				t.Fatalf("%d guesses were compared; at most 5 may be", compared)
			}
			// Whatever raced, the right code now gets at most the
			// remaining attempts; after five counted guesses it is void.
			for compared < 5 {
				r := f.post(t, ctRecover, map[string]any{"recoveryCode": wrongCode(code), "newPassword": "Another-Pass-2026!"})
				if r.status != http.StatusBadRequest {
					t.Fatalf("guess: %d %s", r.status, r.body)
				}
				compared++
			}
			r := f.post(t, ctRecover, map[string]any{"recoveryCode": code, "newPassword": "Another-Pass-2026!"})
			wantErr(t, r, http.StatusBadRequest, "INVALID_DATA", invalidValue("recoveryCode"))
		})
	}
}

// TestNULInActionBody: a NUL in an action's body is the client's 400, not
// a database error.
func TestNULInActionBody(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			e := &env{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{})}
			f, _ := e.start(t, nil, "USERNAME_PASSWORD_REQUIRED")
			for _, body := range []string{`{"username":"a\u0000b","password":"x"}`, "{\"username\":\"a\x00b\",\"password\":\"x\"}"} {
				r := f.post(t, ctCheck, body)
				d := wantErr(t, r, http.StatusBadRequest, "INVALID_DATA", invalidValue(""))
				if d.Message != "The request body must not contain NUL characters." {
					t.Errorf("message %q", d.Message)
				}
			}
		})
	}
}
