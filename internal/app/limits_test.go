package app_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// These tests replay the floods of issue 12 against a running server:
// wrong client secrets, authorize calls, wrong passwords and codes, from
// one address and from many (behind a trusted proxy), and a burst of
// correct traffic that must never be refused.

// transport keeps connections open across the floods' thousands of
// requests.
var transport = &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second}

// agent sends requests as one client: its own cookies when it is a
// browser, and, when from is set, an X-Forwarded-For naming the address
// it claims to come from.
type agent struct {
	c    *http.Client
	from string
}

func newAgent(from string) *agent {
	return &agent{c: &http.Client{Transport: transport}, from: from}
}

func newBrowser(t *testing.T, from string) *agent {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &agent{from: from, c: &http.Client{Transport: transport, Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type hit struct {
	status int
	header http.Header
	body   []byte
}

func (h *hit) String() string { return fmt.Sprintf("%d %s", h.status, h.body) }

// do sends a request; header holds name, value pairs.
func (a *agent) do(method, u, contentType, body string, header ...string) (*hit, error) {
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	if a.from != "" {
		req.Header.Set("X-Forwarded-For", a.from)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := a.c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return &hit{status: resp.StatusCode, header: resp.Header, body: b}, err
}

func (a *agent) must(t *testing.T, method, u, contentType, body string, header ...string) *hit {
	t.Helper()
	h, err := a.do(method, u, contentType, body, header...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	return h
}

// flood runs n calls of fn on workers goroutines and returns the answers
// in call order.
func flood(t *testing.T, n, workers int, fn func(i int) (*hit, error)) []*hit {
	t.Helper()
	out := make([]*hit, n)
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i], errs[i] = fn(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	return out
}

// basic is an Authorization header as RFC 6749 §2.3.1 writes it.
func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

const form = "application/x-www-form-urlencoded"

// clientCall posts form to one of envID's client-authenticated endpoints
// (token, introspect, revoke) with Basic credentials.
func (a *agent) clientCall(s *apptest.Server, envID, endpoint, id, secret, form string) (*hit, error) {
	return a.do("POST", s.URL+"/"+envID+"/as/"+endpoint, "application/x-www-form-urlencoded", form, "Authorization", basic(id, secret))
}

func (a *agent) token(s *apptest.Server, envID, id, secret string) (*hit, error) {
	return a.clientCall(s, envID, "token", id, secret, "grant_type=client_credentials")
}

// oauthLimited is the exact 429 body of the auth service.
func oauthLimited(why string) string {
	b, _ := json.Marshal(map[string]string{"error": "temporarily_unavailable", "error_description": why + " Retry after the delay Retry-After gives."})
	return string(b)
}

// wantOAuthLimited checks a 429 of the auth service: the exact body,
// Retry-After, and no caching.
func wantOAuthLimited(t *testing.T, h *hit, why string, retryAfter int) {
	t.Helper()
	wantOAuthLimitedIn(t, h, why, max(1, retryAfter-retrySlack), retryAfter+1)
}

// retrySlack is how many seconds a Retry-After may fall short of a full
// interval: the bucket refills while a loaded machine runs the requests
// that emptied it, and a charge read on another goroutine's clock may
// round the other way by one.
const retrySlack = 5

// wantRetryAfter checks a Retry-After header against a full interval of
// want seconds, give or take retrySlack.
func wantRetryAfter(t *testing.T, h *hit, want int, why string) {
	t.Helper()
	if ra, err := strconv.Atoi(h.header.Get("Retry-After")); err != nil || ra < want-retrySlack || ra > want+1 {
		t.Errorf("Retry-After %q, want about %d (%s)", h.header.Get("Retry-After"), want, why)
	}
}

// wantOAuthLimitedIn is wantOAuthLimited with Retry-After in [lo, hi].
func wantOAuthLimitedIn(t *testing.T, h *hit, why string, lo, hi int) {
	t.Helper()
	if h.status != http.StatusTooManyRequests || string(h.body) != oauthLimited(why) {
		t.Fatalf("got %s, want 429 %s", h, oauthLimited(why))
	}
	if ra, err := strconv.Atoi(h.header.Get("Retry-After")); err != nil || ra < lo || ra > hi {
		t.Errorf("Retry-After = %q, want %d to %d", h.header.Get("Retry-After"), lo, hi)
	}
	if h.header.Get("Content-Type") != "application/json" || h.header.Get("Cache-Control") != "no-store" {
		t.Errorf("Content-Type %q, Cache-Control %q", h.header.Get("Content-Type"), h.header.Get("Cache-Control"))
	}
}

// wantPingOneLimited checks a 429 in PingOne's shape: REQUEST_LIMITED,
// one LIMIT_EXCEEDED detail saying why, innerError.retryAfter as far
// ahead as Retry-After says (give or take the second it was rounded to).
func wantPingOneLimited(t *testing.T, h *hit, why string, sent time.Time) {
	t.Helper()
	if h.status != http.StatusTooManyRequests || h.header.Get("Content-Type") != "application/json" {
		t.Fatalf("got %s (Content-Type %q), want a 429 in PingOne's shape", h, h.header.Get("Content-Type"))
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(h.body, &keys); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "code", "message", "details"} {
		if _, ok := keys[k]; !ok || len(keys) != 4 {
			t.Fatalf("body members %v, want exactly id, code, message, details: %s", keys, h.body)
		}
	}
	var e struct {
		ID, Code, Message string
		Details           []struct {
			Code, Message, Target string
			InnerError            map[string]string
		}
	}
	if err := json.Unmarshal(h.body, &e); err != nil {
		t.Fatal(err)
	}
	if len(e.ID) != 36 || e.Code != "REQUEST_LIMITED" || e.Message != wire.MsgRequestLimited || len(e.Details) != 1 {
		t.Fatalf("body %s", h.body)
	}
	d := e.Details[0]
	if d.Code != "LIMIT_EXCEEDED" || d.Message != why || d.Target != "" || len(d.InnerError) != 1 {
		t.Fatalf("detail %+v, want LIMIT_EXCEEDED %q with innerError.retryAfter only", d, why)
	}
	secs, err := strconv.Atoi(h.header.Get("Retry-After"))
	if err != nil || secs < 1 {
		t.Fatalf("Retry-After %q", h.header.Get("Retry-After"))
	}
	at, err := time.Parse(wire.TimeFormat, d.InnerError["retryAfter"])
	if err != nil {
		t.Fatalf("innerError.retryAfter %q: %v", d.InnerError["retryAfter"], err)
	}
	want := sent.Add(time.Duration(secs) * time.Second)
	if at.Before(want.Add(-time.Second)) || at.After(want.Add(2*time.Second)) {
		t.Errorf("innerError.retryAfter %v, want about %v (Retry-After %d)", at, want, secs)
	}
}

func statuses(hs []*hit) map[int]int {
	m := map[int]int{}
	for _, h := range hs {
		m[h.status]++
	}
	return m
}

// TestWrongClientSecretFlood is issue 12's first flood: 2,000 wrong-secret
// client_credentials requests from one address, with the default limits.
// After the first hundred (and what refills meanwhile) every answer is 429
// with Retry-After; the client still gets its token once the flood is
// over.
func TestWrongClientSecretFlood(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			a := newAgent("")
			env, id := s.Admin.EnvironmentID, s.Admin.ClientID
			const n, workers = 2000, 16
			start := time.Now()
			hs := flood(t, n, workers, func(int) (*hit, error) { return a.token(s, env, id, "not-the-secret") })
			elapsed := time.Since(start)
			st := statuses(hs)
			// 100 at once, then 10 a second; requests in flight when the
			// bucket empties may each still fail once.
			allowed := 100 + int(elapsed.Seconds()*10) + workers
			if st[401]+st[429] != n || st[401] > allowed || st[401] < 100 {
				t.Fatalf("answers %v in %v; want 100 to %d 401s and the rest 429", st, elapsed, allowed)
			}
			wait := 0
			for i, h := range hs {
				if h.status == 401 && !strings.Contains(string(h.body), `"error":"invalid_client"`) {
					t.Fatalf("answer %d: %s", i, h)
				}
				if h.status == 429 {
					ra, _ := strconv.Atoi(h.header.Get("Retry-After"))
					wait = max(wait, ra)
					// Failures of requests let through together all count: at
					// most one per worker beyond a token, a tenth of a second
					// each.
					wantOAuthLimitedIn(t, h, "Too many failed client authentications from this address.", 1, 2)
				}
			}
			// Once the flood stops, the address is served again within about
			// the Retry-After it was given (the last failures, charged after
			// the last answer was written, may add a little).
			time.Sleep(time.Duration(wait) * time.Second)
			for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				h := a.must(t, "POST", s.URL+"/"+env+"/as/token", form, "grant_type=client_credentials", "Authorization", basic(id, s.Admin.ClientSecret))
				if h.status == 200 {
					break
				}
				if h.status != 429 || time.Now().After(deadline) {
					t.Fatalf("the right secret after the flood: %s", h)
				}
			}
		})
	}
}

var trustLocal = httpx.TrustedProxies{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}

func tight(edit func(c *ratelimit.Config)) *ratelimit.Config {
	c := ratelimit.Defaults()
	edit(&c)
	return &c
}

// TestClientAuthFailureLimits: failures at the token, introspection and
// revocation endpoints count alike, per source address and per client
// id; once a bound is spent even the right secret is refused (a guesser
// must not learn which guess was right), and only that address or that
// client is.
func TestClientAuthFailureLimits(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t), TrustedProxies: trustLocal, Limits: tight(func(c *ratelimit.Config) {
				c.ClientAuthFailuresPerAddress = ratelimit.Rate{N: 3, Per: time.Hour}
				c.ClientAuthFailuresPerClient = ratelimit.Rate{N: 5, Per: time.Hour}
			})})
			env := s.Admin.EnvironmentID
			victim := s.CreateWorker(t, env, "CLIENT_SECRET_BASIC")
			other := s.CreateWorker(t, env, "CLIENT_SECRET_BASIC")
			fromAddr, ofClient := "Too many failed client authentications from this address.", "Too many failed authentications of this client."
			one := newAgent("198.51.100.1")
			for _, ep := range []struct{ endpoint, form string }{
				{"token", "grant_type=client_credentials"}, {"introspect", "token=x.y.z"}, {"revoke", "token=x.y.z"},
			} {
				h, err := one.clientCall(s, env, ep.endpoint, victim.ClientID, "wrong", ep.form)
				if err != nil || h.status != 401 {
					t.Fatalf("%s with a wrong secret: %v %v", ep.endpoint, h, err)
				}
			}
			// The address is spent: anything it sends is refused, the right
			// secret of any client included.
			for _, c := range []apptest.Worker{victim, other} {
				h, _ := one.token(s, env, c.ClientID, c.Secret)
				wantOAuthLimited(t, h, fromAddr, 3600/3)
			}
			h, _ := one.clientCall(s, env, "introspect", other.ClientID, other.Secret, "token=x.y.z")
			wantOAuthLimited(t, h, fromAddr, 3600/3)

			// Two more failures from another address spend the victim's five.
			two := newAgent("198.51.100.2")
			for range 2 {
				if h, _ := two.token(s, env, victim.ClientID, "wrong"); h.status != 401 {
					t.Fatalf("wrong secret: %s", h)
				}
			}
			three := newAgent("198.51.100.3")
			h, _ = three.token(s, env, victim.ClientID, victim.Secret)
			wantOAuthLimited(t, h, ofClient, 3600/5)
			// The other client, from the same fresh address, is served.
			if h, _ := three.token(s, env, other.ClientID, other.Secret); h.status != 200 {
				t.Fatalf("another client: %s", h)
			}
			// Client assertions and client_id in the body name the client too.
			h, _ = three.do("POST", s.URL+"/"+env+"/as/token", form,
				"grant_type=client_credentials&client_id="+victim.ClientID+"&client_secret="+victim.Secret)
			wantOAuthLimited(t, h, ofClient, 3600/5)

			// An unknown environment is a failed authentication as well.
			four := newAgent("198.51.100.4")
			for i := range 4 {
				h, _ := four.token(s, "3f1c2b5e-0000-4000-8000-000000000000", victim.ClientID, "x")
				if i < 3 && h.status != 401 {
					t.Fatalf("unknown environment: %s", h)
				}
				if i == 3 {
					wantOAuthLimited(t, h, fromAddr, 3600/3)
				}
			}
		})
	}
}

// TestForwardedForTrust: X-Forwarded-For decides the source address only
// when the peer is a trusted proxy, and then only its right-most hop that
// is not a proxy: a client rotating the header, or forging its left part,
// is still one address.
func TestForwardedForTrust(t *testing.T) {
	limits := tight(func(c *ratelimit.Config) {
		c.ClientAuthFailuresPerAddress = ratelimit.Rate{N: 2, Per: time.Hour}
		c.ClientAuthFailuresPerClient = ratelimit.Rate{}
	})
	for _, be := range apptest.Backends() {
		for _, tc := range []struct {
			name    string
			trusted httpx.TrustedProxies
			xff     func(i int) string
			want    []int
		}{
			{"untrusted peer rotating", nil, func(i int) string { return fmt.Sprintf("203.0.113.%d", i+1) }, []int{401, 401, 429, 429, 429}},
			{"trusted peer rotating", trustLocal, func(i int) string { return fmt.Sprintf("203.0.113.%d", i+1) }, []int{401, 401, 401, 401, 401}},
			{"trusted peer, forged left part", trustLocal, func(i int) string { return fmt.Sprintf("192.0.2.%d, 203.0.113.9", i+1) },
				[]int{401, 401, 429, 429, 429}},
			{"trusted peer, IPv6 hosts of one /64", trustLocal, func(i int) string { return fmt.Sprintf("2001:db8:7:7::%x", i+1) },
				[]int{401, 401, 429, 429, 429}},
		} {
			t.Run(be.Name+"/"+tc.name, func(t *testing.T) {
				s := apptest.Start(t, apptest.Options{DSN: be.DSN(t), TrustedProxies: tc.trusted, Limits: limits})
				var got []int
				for i := range tc.want {
					h, err := newAgent(tc.xff(i)).token(s, s.Admin.EnvironmentID, s.Admin.ClientID, "wrong")
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, h.status)
				}
				if !slices.Equal(got, tc.want) {
					t.Fatalf("statuses %v, want %v", got, tc.want)
				}
			})
		}
	}
}

// signOn is the environment of a sign-on test.
type signOn struct {
	s  *apptest.Server
	fx *apptest.SignOn
}

func (x *signOn) base() string { return x.s.URL + "/" + x.fx.EnvID }

// authorize starts a pi.flow sign-on in browser b.
func (x *signOn) authorize(b *agent, header ...string) (*hit, error) {
	q := url.Values{"response_type": {"code"}, "client_id": {x.fx.AppID}, "redirect_uri": {x.fx.RedirectURI},
		"scope": {"openid"}, "response_mode": {"pi.flow"}}
	return b.do("GET", x.base()+"/as/authorize?"+q.Encode(), "", "", header...)
}

func flowID(t *testing.T, h *hit) string {
	t.Helper()
	var m struct{ ID, Status string }
	if err := json.Unmarshal(h.body, &m); err != nil || h.status != 200 || m.ID == "" {
		t.Fatalf("authorize: %s", h)
	}
	return m.ID
}

func (x *signOn) check(b *agent, flow, username, password string) (*hit, error) {
	body, _ := json.Marshal(map[string]string{"username": username, "password": password})
	return b.do("POST", x.base()+"/flows/"+flow, "application/vnd.pingidentity.usernamePassword.check+json", string(body))
}

// fullSignOn is a headless sign-on: authorize, the password, resume.
func (x *signOn) fullSignOn(from string, jar *cookiejar.Jar) error {
	b := &agent{from: from, c: &http.Client{Transport: transport, Jar: jar}}
	h, err := x.authorize(b)
	if err != nil || h.status != 200 {
		return fmt.Errorf("authorize: %v %v", h, err)
	}
	var f struct{ ID string }
	json.Unmarshal(h.body, &f)
	if h, err = x.check(b, f.ID, x.fx.Username, x.fx.Password); err != nil || h.status != 200 || !strings.Contains(string(h.body), `"COMPLETED"`) {
		return fmt.Errorf("usernamePassword.check: %v %v", h, err)
	}
	if h, err = b.do("GET", x.base()+"/as/resume?flowId="+f.ID, "", ""); err != nil || h.status != 200 ||
		!strings.Contains(string(h.body), `"authorizeResponse"`) {
		return fmt.Errorf("resume: %v %v", h, err)
	}
	return nil
}

// TestAuthorizeFlood is issue 12's second flood: authorize calls from one
// address, each of which stored a flow. With the default limits the
// address gets 500 unfinished flows (and what refills meanwhile); every
// other call is 429 and stores nothing.
func TestAuthorizeFlood(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			x := &signOn{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{})}
			a := newAgent("")
			const n, workers = 1000, 16
			start := time.Now()
			hs := flood(t, n, workers, func(int) (*hit, error) { return x.authorize(a) })
			elapsed := time.Since(start)
			st := statuses(hs)
			allowed := 500 + int(elapsed.Seconds()*500/60) + 1
			if st[200]+st[429] != n || st[200] > allowed || st[200] < 500 {
				t.Fatalf("answers %v in %v; want 500 to %d 200s and the rest 429", st, elapsed, allowed)
			}
			for _, h := range hs {
				if h.status == 429 {
					wantOAuthLimited(t, h, "Too many sign-ons in progress from this address.", 1)
				}
			}
			stored, err := s.Store.CountLiveFlows(context.Background(), x.fx.EnvID, time.Now(), 100_000)
			if err != nil {
				t.Fatal(err)
			}
			if stored != st[200] {
				t.Fatalf("%d flows stored for %d flows started", stored, st[200])
			}
			// A browser is answered with a page, still 429 with Retry-After.
			// The bound refills a place every 120 ms: on a loaded machine
			// one may be back by now, so the places that came back are
			// taken first, right before the browser asks.
			var h *hit
			for range 10 {
				for range 50 {
					if d, err := x.authorize(a); err != nil || d.status == 429 {
						break
					}
				}
				h = a.must(t, "GET", x.base()+"/as/authorize?"+url.Values{"response_type": {"code"}, "client_id": {x.fx.AppID},
					"redirect_uri": {x.fx.RedirectURI}, "scope": {"openid"}}.Encode(), "", "", "Accept", "text/html")
				if h.status == 429 {
					break
				}
			}
			if h.status != 429 || h.header.Get("Retry-After") == "" || !strings.HasPrefix(h.header.Get("Content-Type"), "text/html") ||
				!strings.Contains(string(h.body), "Too many sign-ons in progress from this address.") {
				t.Fatalf("browser: %s %v", h, h.header)
			}
		})
	}
}

// TestFinishedFlowsGiveBack: the per-address bound counts flows started
// and not finished: a flow that resume finishes gives its place back.
func TestFinishedFlowsGiveBack(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t), Limits: tight(func(c *ratelimit.Config) {
				c.FlowsPerAddress = ratelimit.Rate{N: 3, Per: time.Hour}
			})})
			x := &signOn{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{})}
			var flows []string
			var browsers []*agent
			for range 3 {
				b := newBrowser(t, "")
				flows = append(flows, flowID(t, mustHit(t)(x.authorize(b))))
				browsers = append(browsers, b)
			}
			wantOAuthLimited(t, mustHit(t)(x.authorize(newBrowser(t, ""))), "Too many sign-ons in progress from this address.", 1200)
			// The first browser signs on and resumes: its flow is gone.
			b := browsers[0]
			if h := mustHit(t)(x.check(b, flows[0], x.fx.Username, x.fx.Password)); h.status != 200 {
				t.Fatalf("check: %s", h)
			}
			if h := b.must(t, "GET", x.base()+"/as/resume?flowId="+flows[0], "", ""); h.status != 200 {
				t.Fatalf("resume: %s", h)
			}
			flowID(t, mustHit(t)(x.authorize(newBrowser(t, ""))))
			wantOAuthLimited(t, mustHit(t)(x.authorize(newBrowser(t, ""))), "Too many sign-ons in progress from this address.", 1200)
		})
	}
}

func mustHit(t *testing.T) func(*hit, error) *hit {
	return func(h *hit, err error) *hit {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
}

// TestLiveFlowsCap: an environment holds at most its cap of unexpired
// flows, whichever node starts them: the count comes from the store, and
// each node adds its own flows between counts.
func TestLiveFlowsCap(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			dsn, key := be.DSN(t), []byte(strings.Repeat("k", 32))
			limits := tight(func(c *ratelimit.Config) { c.LiveFlowsPerEnvironment = 4 })
			s := apptest.Start(t, apptest.Options{DSN: dsn, MasterKey: key, Limits: limits})
			full := &signOn{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{})}
			other := &signOn{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{})}
			first := newBrowser(t, "")
			firstFlow := flowID(t, mustHit(t)(full.authorize(first)))
			for range 3 {
				flowID(t, mustHit(t)(full.authorize(newBrowser(t, ""))))
			}
			const why = "Too many sign-ons are in progress in this environment."
			wantOAuthLimited(t, mustHit(t)(full.authorize(newBrowser(t, ""))), why, 10)
			// Another environment has its own cap.
			for range 4 {
				flowID(t, mustHit(t)(other.authorize(newBrowser(t, ""))))
			}
			if n, err := s.Store.CountLiveFlows(context.Background(), full.fx.EnvID, time.Now(), 100); err != nil || n != 4 {
				t.Fatalf("stored flows %d, %v; want 4", n, err)
			}
			// A second node on the same database counts them in the store.
			s2 := apptest.Start(t, apptest.Options{DSN: dsn, MasterKey: key, Limits: limits})
			full2 := &signOn{s: s2, fx: full.fx}
			wantOAuthLimited(t, mustHit(t)(full2.authorize(newBrowser(t, ""))), why, 10)
			// A finished flow makes room.
			if h := mustHit(t)(full.check(first, firstFlow, full.fx.Username, full.fx.Password)); h.status != 200 {
				t.Fatalf("check: %s", h)
			}
			if h := first.must(t, "GET", full.base()+"/as/resume?flowId="+firstFlow, "", ""); h.status != 200 {
				t.Fatalf("resume: %s", h)
			}
			flowID(t, mustHit(t)(full.authorize(newBrowser(t, ""))))
			wantOAuthLimited(t, mustHit(t)(full.authorize(newBrowser(t, ""))), why, 10)
		})
	}
}
