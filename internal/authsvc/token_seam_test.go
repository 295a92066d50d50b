package authsvc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// probeGrantType stands for the next grant (device code, token exchange):
// registered by the tests alone, it records whether, and with what, the
// token endpoint let it run.
const probeGrantType = "urn:gatehouse:test:probe"

type probeGrant struct{ ran *[]*tokenRequest }

func (p probeGrant) exchange(_ context.Context, _ *Service, req *tokenRequest) (*tokenResponse, *oauthError) {
	*p.ran = append(*p.ran, req)
	return &tokenResponse{AccessToken: "probe", TokenType: "Bearer", ExpiresIn: 1}, nil
}

// registerProbe adds the probe grant, allowed by an application's PROBE
// grant type and requiring a probe parameter, until t ends.
func registerProbe(t *testing.T) *[]*tokenRequest {
	t.Helper()
	var ran []*tokenRequest
	grants[probeGrantType] = servedGrant{grant: probeGrant{&ran}, allowedBy: "PROBE", requires: []string{"probe"}}
	t.Cleanup(func() { delete(grants, probeGrantType) })
	return &ran
}

// allowedGrantTypes is the application data allowing every registered
// grant but skip.
func allowedGrantTypes(t *testing.T, skip string) string {
	t.Helper()
	var names []string
	for gt, g := range grants {
		if gt != skip {
			names = append(names, g.allowedBy)
		}
	}
	b, err := json.Marshal(map[string]any{"grantTypes": names})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// call sends a form to one of the client-authenticated endpoints (token,
// introspect, revoke) of envID, through the Service's own handlers.
func (f *authFixture) call(envID, endpoint, ctype, body string, hdr http.Header) *httptest.ResponseRecorder {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{envID}/as/token", f.svc.token)
	mux.HandleFunc("POST /{envID}/as/introspect", f.svc.introspect)
	mux.HandleFunc("POST /{envID}/as/revoke", f.svc.revoke)
	r := httptest.NewRequest("POST", "/"+envID+"/as/"+endpoint, strings.NewReader(body))
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		r.Header[k] = v
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, r)
	return rec
}

// oauthAnswer is an RFC 6749 §5.2 error answer, headers included.
type oauthAnswer struct {
	status     int
	code, desc string
	basicAgain bool // WWW-Authenticate asks for Basic credentials again
}

const basicChallenge = `Basic realm="gatehouse", error="invalid_client"`

// wantOAuthAnswer checks rec is exactly want: status, body members and
// values, and the headers every OAuth error carries.
func wantOAuthAnswer(t *testing.T, rec *httptest.ResponseRecorder, want oauthAnswer) {
	t.Helper()
	if rec.Code != want.status {
		t.Fatalf("status = %d, want %d: %s", rec.Code, want.status, rec.Body)
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body is not JSON: %v: %s", err, rec.Body)
	}
	if wantBody := map[string]any{"error": want.code, "error_description": want.desc}; !maps.Equal(body, wantBody) {
		t.Errorf("body = %v, want %v", body, wantBody)
	}
	wantHeaders := map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store", "Pragma": "no-cache", "WWW-Authenticate": ""}
	if want.basicAgain {
		wantHeaders["WWW-Authenticate"] = basicChallenge
	}
	for k, v := range wantHeaders {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

func basicAuth(id, secret string) http.Header {
	return http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))}}
}

func formOf(kv ...string) string {
	v := url.Values{}
	for i := 0; i < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v.Encode()
}

const formContentType = "application/x-www-form-urlencoded"

// TestGrantRefusedBeforeItRuns: for every registered grant, an
// application without it is refused with unauthorized_client before the
// grant sees the request; an application with it is next asked for the
// grant's required parameters, and only then reaches the grant. Each
// request sends grant_type alone, so the answer shows how far it got.
func TestGrantRefusedBeforeItRuns(t *testing.T) {
	ran := registerProbe(t)
	// What a WEB_APP allowed the grant gets for grant_type alone: a new
	// grant needs a line here.
	allowedAnswer := map[string]oauthAnswer{
		"authorization_code": {status: 400, code: "invalid_request", desc: "code is required."},
		"refresh_token":      {status: 400, code: "invalid_request", desc: "refresh_token is required."},
		"client_credentials": {status: 400, code: "invalid_scope", desc: "No scope was requested and the application holds no custom resource's scopes."},
		deviceCodeGrantType:  {status: 400, code: "invalid_request", desc: "device_code is required."},
		probeGrantType:       {status: 400, code: "invalid_request", desc: "probe is required."},
	}
	allowedAnswer[tokenExchangeGrantType] = oauthAnswer{status: 400, code: "invalid_request", desc: "subject_token is required."}
	for gt := range grants {
		if _, ok := allowedAnswer[gt]; !ok {
			t.Errorf("grant %s has no case: add its answer", gt)
		}
	}
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := newAuthFixture(t, b.DSN(t))
			with, withSecret := f.app(t, f.env, "WEB_APP", methodBasic, true, allowedGrantTypes(t, ""))
			for gt := range grants {
				t.Run(gt, func(t *testing.T) {
					without, withoutSecret := f.app(t, f.env, "WEB_APP", methodBasic, true, allowedGrantTypes(t, gt))
					*ran = nil
					rec := f.call(f.env, "token", formContentType, formOf("grant_type", gt), basicAuth(without, withoutSecret))
					wantOAuthAnswer(t, rec, oauthAnswer{status: 400, code: "unauthorized_client",
						desc: "The application does not have the " + gt + " grant type."})
					rec = f.call(f.env, "token", formContentType, formOf("grant_type", gt), basicAuth(with, withSecret))
					wantOAuthAnswer(t, rec, allowedAnswer[gt])
					if len(*ran) != 0 {
						t.Fatal("the grant ran")
					}
				})
			}
			t.Run("the grant runs last", func(t *testing.T) {
				*ran = nil
				rec := f.call(f.env, "token", formContentType, formOf("grant_type", probeGrantType, "probe", "p"), basicAuth(with, withSecret))
				if rec.Code != http.StatusOK || len(*ran) != 1 {
					t.Fatalf("status %d, the grant ran %d times: %s", rec.Code, len(*ran), rec.Body)
				}
				got := (*ran)[0]
				if got.grantType != probeGrantType || got.env.ID != f.env || got.form.Get("probe") != "p" ||
					got.client == nil || got.client.app.ID != with || got.client.method != methodBasic {
					t.Errorf("the grant saw grant_type %q, environment %q, form %v, client %+v", got.grantType, got.env.ID, got.form, got.client)
				}
				var body map[string]any
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
					t.Fatal(err)
				}
				if want := map[string]any{"access_token": "probe", "token_type": "Bearer", "expires_in": float64(1)}; !maps.Equal(body, want) {
					t.Errorf("body = %v, want %v", body, want)
				}
				for k, v := range map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store", "Pragma": "no-cache"} {
					if got := rec.Header().Get(k); got != v {
						t.Errorf("%s = %q, want %q", k, got, v)
					}
				}
			})
		})
	}
}

// TestClientAuthenticationFailsAlikeForEveryGrant: every failure of the
// shared steps before the grant (the form, the environment, the client's
// authentication) is answered in the same words whatever the grant_type,
// and no grant runs.
func TestClientAuthenticationFailsAlikeForEveryGrant(t *testing.T) {
	ran := registerProbe(t)
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := newAuthFixture(t, b.DSN(t))
			all := allowedGrantTypes(t, "")
			basicApp, basicSecret := f.app(t, f.env, "WORKER", methodBasic, true, all)
			postApp, postSecret := f.app(t, f.env, "WORKER", methodPost, true, all)
			disabled, disabledSecret := f.app(t, f.env, "WORKER", methodBasic, false, all)
			elsewhere, elsewhereSecret := f.app(t, f.other, "WORKER", methodBasic, true, all)
			generic := "Client authentication failed."

			cases := []struct {
				name string
				env  string   // "" for the fixture's
				kv   []string // besides grant_type
				hdr  http.Header
				want oauthAnswer
			}{
				{name: "wrong secret over Basic", hdr: basicAuth(basicApp, basicSecret+"x"),
					want: oauthAnswer{status: 401, code: "invalid_client", desc: generic, basicAgain: true}},
				{name: "wrong secret in the form", kv: []string{"client_id", postApp, "client_secret", postSecret + "x"},
					want: oauthAnswer{status: 401, code: "invalid_client", desc: generic}},
				{name: "secret in the form for a Basic client", kv: []string{"client_id", basicApp, "client_secret", basicSecret},
					want: oauthAnswer{status: 401, code: "invalid_client", desc: generic}},
				{name: "unknown client", hdr: basicAuth(uuid.NewString(), basicSecret),
					want: oauthAnswer{status: 401, code: "invalid_client", desc: generic, basicAgain: true}},
				{name: "disabled client", hdr: basicAuth(disabled, disabledSecret),
					want: oauthAnswer{status: 401, code: "invalid_client", desc: generic, basicAgain: true}},
				{name: "client of another environment", hdr: basicAuth(elsewhere, elsewhereSecret),
					want: oauthAnswer{status: 401, code: "invalid_client", desc: generic, basicAgain: true}},
				{name: "unknown environment", env: uuid.NewString(), hdr: basicAuth(basicApp, basicSecret),
					want: oauthAnswer{status: 401, code: "invalid_client", desc: generic, basicAgain: true}},
				{name: "no client credentials",
					want: oauthAnswer{status: 401, code: "invalid_client", desc: generic}},
				{name: "malformed Basic header", hdr: http.Header{"Authorization": {"Basic !!!"}},
					want: oauthAnswer{status: 401, code: "invalid_client", desc: "Malformed client credentials.", basicAgain: true}},
				{name: "two authentication methods", kv: []string{"client_id", postApp, "client_secret", postSecret}, hdr: basicAuth(basicApp, basicSecret),
					want: oauthAnswer{status: 400, code: "invalid_request", desc: "Use one client authentication method, not several."}},
				{name: "unknown client_assertion_type", kv: []string{"client_assertion_type", "urn:example", "client_assertion", "x"},
					want: oauthAnswer{status: 400, code: "invalid_request", desc: "Unsupported client_assertion_type; use " + jwtBearer + "."}},
				{name: "client assertion that is no JWT", kv: []string{"client_assertion_type", jwtBearer, "client_assertion", "x"},
					want: oauthAnswer{status: 401, code: "invalid_client", desc: "The client assertion is not a valid signed JWT."}},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					env := c.env
					if env == "" {
						env = f.env
					}
					for gt := range grants {
						*ran = nil
						rec := f.call(env, "token", formContentType, formOf(append([]string{"grant_type", gt}, c.kv...)...), c.hdr)
						t.Run(gt, func(t *testing.T) { wantOAuthAnswer(t, rec, c.want) })
						if len(*ran) != 0 {
							t.Errorf("%s: the grant ran", gt)
						}
					}
				})
			}
		})
	}
}

// TestClientEndpointPreamble: introspect and revoke answer every failure
// of their shared preamble (the form, the environment, the client's
// authentication, the token parameter) alike, and as the token endpoint
// answers the same failure.
func TestClientEndpointPreamble(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := newAuthFixture(t, b.DSN(t))
			app, secret := f.app(t, f.env, "WEB_APP", methodBasic, true, allowedGrantTypes(t, ""))
			good := basicAuth(app, secret)
			generic := "Client authentication failed."
			cases := []struct {
				name  string
				env   string // "" for the fixture's
				ctype string // "" for a form
				body  string // a token parameter is added unless noToken
				hdr   http.Header
				// noToken leaves the token parameter out; the token
				// endpoint has none and is not asked.
				noToken bool
				want    oauthAnswer
			}{
				{name: "JSON body", ctype: "application/json", body: `{"token":"x"}`, hdr: good, noToken: true,
					want: oauthAnswer{status: 400, code: "invalid_request", desc: "Content-Type must be application/x-www-form-urlencoded."}},
				{name: "no Content-Type", ctype: "-", hdr: good,
					want: oauthAnswer{status: 400, code: "invalid_request", desc: "Content-Type must be application/x-www-form-urlencoded."}},
				{name: "oversized form", body: "pad=" + strings.Repeat("a", maxFormBytes), hdr: good,
					want: oauthAnswer{status: 400, code: "invalid_request", desc: "The request body is too large."}},
				{name: "malformed form", body: "a=%zz", hdr: good,
					want: oauthAnswer{status: 400, code: "invalid_request", desc: "The request body is not a valid form."}},
				{name: "malformed form sent with a charset", ctype: formContentType + "; charset=UTF-8", body: "a=%zz", hdr: good,
					want: oauthAnswer{status: 400, code: "invalid_request", desc: "The request body is not a valid form."}},
				{name: "semicolon separator", body: "a=1;b=2", hdr: good,
					want: oauthAnswer{status: 400, code: "invalid_request", desc: "The request body is not a valid form."}},
				{name: "repeated parameter", body: formOf("token", "x"), hdr: good,
					want: oauthAnswer{status: 400, code: "invalid_request", desc: "Parameter token is repeated."}},
				{name: "unknown environment", env: uuid.NewString(), hdr: good,
					want: oauthAnswer{status: 401, code: "invalid_client", desc: generic, basicAgain: true}},
				{name: "unknown environment, secret in the form", env: uuid.NewString(), body: formOf("client_id", app, "client_secret", secret),
					want: oauthAnswer{status: 401, code: "invalid_client", desc: generic}},
				{name: "wrong secret", hdr: basicAuth(app, secret+"x"),
					want: oauthAnswer{status: 401, code: "invalid_client", desc: generic, basicAgain: true}},
				{name: "malformed Basic header", hdr: http.Header{"Authorization": {"Basic !!!"}},
					want: oauthAnswer{status: 401, code: "invalid_client", desc: "Malformed client credentials.", basicAgain: true}},
				{name: "two authentication methods", body: formOf("client_id", app, "client_secret", secret), hdr: good,
					want: oauthAnswer{status: 400, code: "invalid_request", desc: "Use one client authentication method, not several."}},
				{name: "no token", hdr: good, noToken: true,
					want: oauthAnswer{status: 400, code: "invalid_request", desc: "token is required."}},
				{name: "empty token", body: formOf("token", ""), hdr: good, noToken: true,
					want: oauthAnswer{status: 400, code: "invalid_request", desc: "token is required."}},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					env, ctype := c.env, c.ctype
					if env == "" {
						env = f.env
					}
					switch ctype {
					case "":
						ctype = formContentType
					case "-":
						ctype = ""
					}
					join := func(a, b string) string {
						if a == "" || b == "" {
							return a + b
						}
						return a + "&" + b
					}
					endpoints := map[string]string{"introspect": c.body, "revoke": c.body}
					if !c.noToken {
						endpoints["introspect"] = join(c.body, formOf("token", "x"))
						endpoints["revoke"] = endpoints["introspect"]
						endpoints["token"] = join(c.body, formOf("token", "x", "grant_type", "client_credentials"))
					}
					for _, ep := range slices.Sorted(maps.Keys(endpoints)) {
						t.Run(ep, func(t *testing.T) {
							wantOAuthAnswer(t, f.call(env, ep, ctype, endpoints[ep], c.hdr), c.want)
						})
					}
				})
			}
		})
	}
}

// TestConfidentialGrantRefusesPublicClients: a grant that needs a client
// that proved itself (client_credentials) refuses a public client, even
// one whose settings list the grant (the management API refuses that
// combination; the token endpoint does not rely on it).
func TestConfidentialGrantRefusesPublicClients(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := newAuthFixture(t, b.DSN(t))
			pub, _ := f.app(t, f.env, "WORKER", methodNone, true, `{"grantTypes":["CLIENT_CREDENTIALS"]}`)
			wantOAuthAnswer(t, f.call(f.env, "token", "application/x-www-form-urlencoded", formOf("grant_type", "client_credentials", "client_id", pub), nil),
				oauthAnswer{status: 400, code: "unauthorized_client", desc: "A public client cannot use the client_credentials grant: it needs client authentication."})
		})
	}
}
