package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// benchOp is one op of a scenario by worker w; an error is an *opError.
type benchOp func(ctx context.Context, w *benchWorker) error

// opError is a failed op: the status (0 for a transport error) and what
// the answer said.
type opError struct {
	status int
	msg    string
}

func (e *opError) Error() string {
	if e.status == 0 {
		return e.msg
	}
	return strconv.Itoa(e.status) + " " + e.msg
}

// benchWorker is one client of a scenario: its results and a buffer for
// the bodies it reads.
type benchWorker struct {
	t       *benchTarget
	id      int
	buf     bytes.Buffer
	took    []time.Duration // a uniform sample of the successful ops' latencies
	ok      int64           // successful ops
	rng     *rand.Rand
	errs    map[string]int64
	limited int64
}

// maxSamples bounds the latencies a worker keeps: past it, a reservoir
// sample (each op equally likely to be kept) stands for them all, so an
// hour at 10,000 ops/s holds megabytes, not hundreds of them.
const maxSamples = 1 << 16

func (w *benchWorker) sample(d time.Duration) {
	w.ok++
	if len(w.took) < maxSamples {
		w.took = append(w.took, d)
	} else if i := w.rng.Int64N(w.ok); i < maxSamples {
		w.took[i] = d
	}
}

// do sends req and checks the answer's status and, when contains is not
// empty, that its body holds it.
func (w *benchWorker) do(c *http.Client, req *http.Request, want int, contains string) error {
	res, err := c.Do(req)
	if err != nil {
		return &opError{msg: transportError(err)}
	}
	w.buf.Reset()
	_, err = w.buf.ReadFrom(res.Body)
	res.Body.Close()
	if err != nil {
		return &opError{msg: transportError(err)}
	}
	if res.StatusCode != want {
		return &opError{status: res.StatusCode, msg: why(w.buf.Bytes())}
	}
	if contains != "" && !bytes.Contains(w.buf.Bytes(), []byte(contains)) {
		return &opError{status: res.StatusCode, msg: "the answer lacks " + contains}
	}
	return nil
}

// transportError keeps what names the failure, not the URL (which would
// make every request's error its own kind).
func transportError(err error) string {
	if ue, ok := err.(*url.Error); ok {
		err = ue.Err
	}
	return "transport: " + err.Error()
}

// why is what an error body says: PingOne's first detail or message, or
// the OAuth error_description.
func why(body []byte) string {
	var e struct {
		Message     string `json:"message"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Details     []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"details"`
	}
	if json.Unmarshal(body, &e) != nil {
		return strings.TrimSpace(string(body[:min(len(body), 120)]))
	}
	switch {
	case len(e.Details) > 0:
		return e.Details[0].Code + ": " + e.Details[0].Message
	case e.Error != "":
		return e.Error + ": " + e.Description
	}
	return e.Message
}

// scenario is what runs name and which crypto floor bounds it ("sign",
// "verify", "hash" or none).
func (t *benchTarget) scenario(ctx context.Context, name string) (benchOp, string, error) {
	e := t.admin.APIPath + "/environments/" + t.envID
	as := t.admin.AuthPath + "/" + t.envID + "/as"
	needAdmin := func() (string, error) { return t.adminToken(ctx) }
	switch name {
	case "client_credentials":
		form := url.Values{"grant_type": {"client_credentials"}}.Encode()
		return func(ctx context.Context, w *benchWorker) error {
			req, _ := http.NewRequestWithContext(ctx, "POST", as+"/token", strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(t.worker.id, t.worker.secret)
			return w.do(t.client, req, http.StatusOK, `"access_token"`)
		}, "sign", nil
	case "introspection":
		form := url.Values{"token": {t.userToken}, "token_type_hint": {"access_token"}}.Encode()
		return func(ctx context.Context, w *benchWorker) error {
			req, _ := http.NewRequestWithContext(ctx, "POST", as+"/introspect", strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(t.web.id, t.web.secret)
			return w.do(t.client, req, http.StatusOK, `"active":true`)
		}, "verify", nil
	case "signon":
		return func(ctx context.Context, w *benchWorker) error {
			_, err := t.signOn(ctx)
			return err
		}, "hash", nil
	case "user_create":
		tok, err := needAdmin()
		var n atomic.Int64
		return func(ctx context.Context, w *benchWorker) error {
			name := fmt.Sprintf("bench.%s.%d", t.tag, n.Add(1))
			body, _ := json.Marshal(map[string]any{"username": name, "email": name + "@example.com",
				"population": map[string]string{"id": t.popID}})
			req, _ := http.NewRequestWithContext(ctx, "POST", e+"/users", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", "application/json")
			return w.do(t.client, req, http.StatusCreated, "")
		}, "", err
	case "user_get":
		tok, err := needAdmin()
		return func(ctx context.Context, w *benchWorker) error {
			req, _ := http.NewRequestWithContext(ctx, "GET", e+"/users/"+t.userID, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			return w.do(t.client, req, http.StatusOK, t.username)
		}, "", err
	case "user_list":
		tok, err := needAdmin()
		page := e + "/users?" + url.Values{"filter": {`username sw "bench."`}, "limit": {"100"}}.Encode()
		return func(ctx context.Context, w *benchWorker) error {
			req, _ := http.NewRequestWithContext(ctx, "GET", page, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			return w.do(t.client, req, http.StatusOK, `"users"`)
		}, "", err
	case "authorize":
		u := as + "/authorize?" + url.Values{"response_type": {"code"}, "client_id": {t.web.id}, "redirect_uri": {t.redirect},
			"scope": {"openid"}}.Encode()
		return func(ctx context.Context, w *benchWorker) error {
			req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
			return w.do(t.client, req, http.StatusFound, "")
		}, "", nil
	}
	return nil, "", fmt.Errorf("unknown scenario %q", name)
}

// signOn is one whole headless sign-on by a new browser (no session to
// skip the password): authorize with response_mode=pi.flow, the
// username and password, resume. It returns the authorization code.
func (t *benchTarget) signOn(ctx context.Context) (string, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Transport: t.tr, Jar: jar, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	step := func(method, u, ct string, body []byte, want string) (flowBody, error) {
		req, _ := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		res, err := c.Do(req)
		if err != nil {
			return flowBody{}, &opError{msg: transportError(err)}
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			return flowBody{}, &opError{msg: transportError(err)}
		}
		var fl flowBody
		if res.StatusCode != http.StatusOK {
			return fl, &opError{status: res.StatusCode, msg: why(b)}
		}
		if err := json.Unmarshal(b, &fl); err != nil || (want != "" && fl.Status != want) {
			return fl, &opError{status: res.StatusCode, msg: "flow status " + fl.Status + ", want " + want}
		}
		return fl, nil
	}
	authorize := t.admin.AuthPath + "/" + t.envID + "/as/authorize?" + url.Values{"response_type": {"code"}, "client_id": {t.web.id},
		"redirect_uri": {t.redirect}, "scope": {"openid"}, "response_mode": {"pi.flow"}}.Encode()
	fl, err := step("GET", authorize, "", nil, "USERNAME_PASSWORD_REQUIRED")
	if err != nil {
		return "", err
	}
	creds, _ := json.Marshal(map[string]string{"username": t.username, "password": t.password})
	if fl, err = step("POST", t.admin.AuthPath+"/"+t.envID+"/flows/"+fl.ID, benchCheck, creds, "COMPLETED"); err != nil {
		return "", err
	}
	if fl, err = step("GET", fl.ResumeURL, "", nil, ""); err != nil {
		return "", err
	}
	if fl.AuthorizeResponse == nil || fl.AuthorizeResponse.Code == "" {
		return "", &opError{status: http.StatusOK, msg: "resume answered no code"}
	}
	return fl.AuthorizeResponse.Code, nil
}

// run runs one scenario with o.concurrency workers for o.duration. An
// op under way at the deadline finishes and counts; the rate divides the
// successful ops by the time until the last one ended.
func (t *benchTarget) run(ctx context.Context, name string, o benchRunOptions, p *progress) (scenarioResult, error) {
	op, floor, err := t.scenario(ctx, name)
	if err != nil {
		return scenarioResult{}, err
	}
	workers := make([]*benchWorker, o.concurrency)
	var done atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(o.duration)
	for i := range workers {
		w := &benchWorker{t: t, id: i, errs: map[string]int64{}, rng: rand.New(rand.NewPCG(uint64(i), uint64(start.UnixNano())))}
		workers[i] = w
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(deadline) {
				t0 := time.Now()
				err := op(ctx, w)
				took := time.Since(t0)
				switch {
				case err == nil:
					w.sample(took)
					done.Add(1)
				case ctx.Err() != nil:
					// Interrupted, not failed.
				default:
					oe, _ := err.(*opError)
					if oe != nil && oe.status == http.StatusTooManyRequests {
						w.limited++
					}
					w.errs[err.Error()]++
				}
			}
		})
	}
	stopProgress := p.scenario(name, start, o.duration, &done)
	wg.Wait()
	elapsed := time.Since(start)
	r := scenarioResult{Scenario: name, floorKind: floor, ErrorKinds: map[string]int64{}}
	var took []time.Duration
	var ok int64
	for _, w := range workers {
		took = append(took, w.took...)
		ok += w.ok
		r.RateLimited += w.limited
		for k, n := range w.errs {
			r.ErrorKinds[k] += n
			r.Errors += n
		}
	}
	r.Requests = ok + r.Errors
	r.PerSecond = float64(ok) / elapsed.Seconds()
	if len(took) > 0 {
		slices.Sort(took)
		q := func(f float64) float64 {
			return float64(took[min(len(took)-1, int(f*float64(len(took))))].Microseconds()) / 1000
		}
		r.P50Ms, r.P99Ms = q(0.5), q(0.99)
	}
	stopProgress(r)
	return r, nil
}

// progress is the one line on stderr that says what runs: rewritten in
// place on a terminal, a line a second elsewhere (a log).
type progress struct {
	w   io.Writer
	tty bool
	mu  sync.Mutex
}

func newProgress(f *os.File) *progress {
	st, err := f.Stat()
	return &progress{w: f, tty: err == nil && st.Mode()&os.ModeCharDevice != 0}
}

// line shows s until the next line or done.
func (p *progress) line(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", s)
	} else {
		fmt.Fprintln(p.w, s)
	}
}

// done ends the current line.
func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// scenario shows name's progress until the returned func is called with
// its result, which it then prints.
func (p *progress) scenario(name string, start time.Time, d time.Duration, done *atomic.Int64) func(scenarioResult) {
	every := time.Second
	if p.tty {
		every = 250 * time.Millisecond
	}
	stop := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-tick.C:
				el := now.Sub(start)
				p.line(fmt.Sprintf("%s %s/%s %s ops/s", name, el.Truncate(time.Second/10), d, commas(float64(done.Load())/el.Seconds())))
			}
		}
	}()
	return func(r scenarioResult) {
		close(stop)
		<-finished
		p.done()
		p.mu.Lock()
		defer p.mu.Unlock()
		fmt.Fprintf(p.w, "%s %s ops/s, %s errors\n", name, commas(r.PerSecond), commas(float64(r.Errors)))
	}
}

// commas writes a rate or count rounded to a whole number, in thousands.
func commas(f float64) string {
	s := strconv.FormatInt(int64(f+0.5), 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
