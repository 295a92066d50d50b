package mgmt_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// raceAnswer is what one of a race's requests got.
type raceAnswer struct {
	what   string
	status int
	code   string // the error code, for a 4xx
	body   string
}

// race sends requests that all start at once, when run is called, and
// collects their answers: the race tests judge each answer as it would be
// alone and the state they leave.
type race struct {
	t       *testing.T
	s       *apptest.Server
	start   chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex
	answers []raceAnswer
}

func newRace(t *testing.T, s *apptest.Server) *race {
	return &race{t: t, s: s, start: make(chan struct{})}
}

// send queues req, named what in the answers.
func (r *race) send(what string, req apptest.Request) {
	r.wg.Go(func() {
		<-r.start
		resp := r.s.Do(r.t, req)
		code := ""
		if resp.Status >= http.StatusBadRequest {
			code, _ = resp.JSON(r.t)["code"].(string)
		}
		r.mu.Lock()
		r.answers = append(r.answers, raceAnswer{what, resp.Status, code, trimBody(resp.Body)})
		r.mu.Unlock()
	})
}

// run lets every queued request go at once and returns their answers.
func (r *race) run() []raceAnswer {
	close(r.start)
	r.wg.Wait()
	return r.answers
}
