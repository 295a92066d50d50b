package webhook_test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// TestRedirectNotFollowed: a receiver answering a delivery with a
// redirect (to a loopback address over plain http, or anywhere) is not
// followed: a delivery is a POST carrying the subscription's headers.
// The attempt fails with the guard's reason, naming no address, and the
// redirect's target gets nothing.
func TestRedirectNotFollowed(t *testing.T) {
	fixtures(t, func(t *testing.T, f *fixture) {
		var reached atomic.Int32
		inside := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached.Add(1) }))
		t.Cleanup(inside.Close)
		for _, code := range []int{http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
			rc := newReceiver(t, nil)
			rc.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, inside.URL+"/internal", code)
			})
			s := f.subscribe(t, rc, subOpts{verifyTLS: true, headers: map[string]string{"Authorization": "Bearer s3cret"}})
			f.record(t, f.env, nil, "USER.CREATED")
			d := f.dispatcher(t, rc.client(true), nil)
			eventually(t, "a failed attempt", func() bool { return f.delivery(t, s).Attempts >= 1 })
			if got := f.delivery(t, s).LastError; got != "refused by the outbound request guard: outbound requests do not follow redirects of a POST" {
				t.Errorf("%d: LastError = %q", code, got)
			}
			d.Close(t.Context())
		}
		if n := reached.Load(); n != 0 {
			t.Errorf("the redirect's target was reached %d times", n)
		}
	})
}
