package authsvc_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// Token issuance should cost one signature and little else. Compare
// BenchmarkClientCredentials with BenchmarkRS256 (the default RSA-2048
// key) and its ES256 sub-benchmarks with BenchmarkES256: run
//
//	go test -run '^$' -bench 'ClientCredentials|RS256|ES256' -cpu 1,2 ./internal/authsvc/

// reportCPU adds the process's CPU time per operation (user and system,
// every goroutine: the server's, the load generator's, the collector's)
// to b's figures. On a shared machine it is steadier than ns/op, and
// cores / cpu-ns/op bounds the rate those cores can sustain; the ratio of
// an endpoint's figure to its signature floor's is the share of the
// signing rate it reaches.
func reportCPU(b *testing.B) {
	before := cpuTime()
	b.Cleanup(func() { b.ReportMetric(float64(cpuTime()-before)/float64(b.N), "cpu-ns/op") })
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkClientCredentials(b *testing.B) {
	s := apptest.Start(b, apptest.Options{})
	benchClientCredentials(b, s, s.Admin.EnvironmentID, s.Admin.ClientID, s.Admin.ClientSecret)
	b.Run("ES256", func(b *testing.B) {
		env := s.Admin.EnvironmentID
		r := s.Do(b, apptest.Request{Method: "POST", URL: "/environments/" + env + "/keys", Token: s.AdminToken(b), Body: map[string]any{
			"name": "ES256", "algorithm": "EC", "keyLength": 256, "signatureAlgorithm": "SHA256withECDSA",
			"subjectDN": "CN=ES256, O=Example", "usageType": "SIGNING", "validityPeriod": 30, "default": true}})
		if r.Status != http.StatusCreated {
			b.Fatalf("key: %d %s", r.Status, r.Body)
		}
		benchClientCredentials(b, s, env, s.Admin.ClientID, s.Admin.ClientSecret)
	})
}

// benchClientCredentials runs client_credentials through the handler
// and over HTTP on keep-alive connections, the way a load generator does.
func benchClientCredentials(b *testing.B, s *apptest.Server, env, clientID, secret string) {
	form := url.Values{"grant_type": {"client_credentials"}}.Encode()
	path := "/" + env + "/as/token"
	b.Run("handler", func(b *testing.B) { benchTokenHandler(b, s, path, form, clientID, secret) })
	b.Run("http", func(b *testing.B) {
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
		defer client.CloseIdleConnections()
		b.ReportAllocs()
		reportCPU(b)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req, _ := http.NewRequest("POST", s.URL+path, strings.NewReader(form))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(clientID, secret)
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				// A body left unread closes the connection: the next
				// request would pay for a new one.
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	})
}

// BenchmarkRS256 is the floor: the raw RSA-2048 PKCS#1 v1.5 signature, and
// the same through go-jose with a token's worth of claims.
func BenchmarkRS256(b *testing.B) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("raw", func(b *testing.B) {
		sum := sha256.Sum256([]byte("header.payload"))
		reportCPU(b)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:]); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("jwt", func(b *testing.B) { benchJWT(b, jose.RS256, key) })
}

// benchJWT signs a client_credentials token's claims through go-jose.
func benchJWT(b *testing.B, alg jose.SignatureAlgorithm, key any) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: "k"}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		b.Fatal(err)
	}
	claims := map[string]any{"iss": "http://127.0.0.1/x/as", "sub": "c", "aud": []string{"https://api.pingone.com"}, "client_id": "c",
		"env": "e", "org": "o", "iat": 1, "exp": 2, "jti": "j"}
	b.ReportAllocs()
	reportCPU(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := jwt.Signed(signer).Claims(claims).Serialize(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkES256 is the floor for an EC P-256 default key: the raw ECDSA
// signature, and the same through go-jose with a token's worth of claims.
func BenchmarkES256(b *testing.B) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("raw", func(b *testing.B) {
		sum := sha256.Sum256([]byte("header.payload"))
		reportCPU(b)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := ecdsa.SignASN1(rand.Reader, key, sum[:]); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("jwt", func(b *testing.B) { benchJWT(b, jose.ES256, key) })
}

// BenchmarkIntrospect is the introspection of a user's access token (by
// the client it was issued to) and of an application's client_credentials
// token (by the application), on SQLite and PostgreSQL, through the
// handler and over real HTTP (keep-alive connections, the load generator
// on the same cores): after
// the first use a token costs its client authentication, no signature
// verification, and one query (revocation, session and user). Run it with
// -cpu 1,2.
func BenchmarkIntrospect(b *testing.B) {
	for _, be := range apptest.Backends() {
		b.Run(be.Name, func(b *testing.B) { benchmarkIntrospect(b, apptest.Start(b, apptest.Options{DSN: be.DSN(b)})) })
	}
}

func benchmarkIntrospect(b *testing.B, s *apptest.Server) {
	fx := newGrantFixture(b, s)
	sid, _ := fx.session(b, fx.env, fx.user)
	code := fx.code(b, codeSpec{app: fx.web.id, user: fx.user, session: sid, grant: fxGrant("")})
	user := fx.exchange(b, fx.env, fx.web, code, "").Access
	cc := s.TokenFor(b, fx.env, fx.worker.id, fx.worker.secret)
	path := "/" + fx.env + "/as/introspect"
	for _, tc := range []struct {
		name   string
		client oauthClient
		token  string
	}{{"user", fx.web, user}, {"client", fx.worker, cc}} {
		body := url.Values{"token": {tc.token}, "token_type_hint": {"access_token"}}.Encode()
		check := func(b *testing.B, code int, resp string) {
			if code != 200 || !strings.Contains(resp, `"active":true`) {
				b.Fatalf("status %d: %s", code, resp)
			}
		}
		b.Run(tc.name+"/handler", func(b *testing.B) {
			b.ReportAllocs()
			q0, cpu0 := s.Queries(), processCPU()
			defer func() {
				b.ReportMetric(float64(s.Queries()-q0)/float64(b.N), "queries/op")
				b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N)/1e3, "cpu-µs/op")
			}()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest("POST", path, strings.NewReader(body))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.SetBasicAuth(tc.client.id, tc.client.secret)
					rec := httptest.NewRecorder()
					s.Handler.ServeHTTP(rec, req)
					check(b, rec.Code, rec.Body.String())
				}
			})
		})
		b.Run(tc.name+"/http", func(b *testing.B) {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			// Eight callers per core, as a load generator keeps requests in
			// flight: with one, each would wait out the other's round trip.
			b.SetParallelism(8)
			b.ReportAllocs()
			q0, cpu0 := s.Queries(), processCPU()
			defer func() {
				b.ReportMetric(float64(s.Queries()-q0)/float64(b.N), "queries/op")
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
				// Server and load generator together, as on one machine.
				b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N)/1e3, "cpu-µs/op")
			}()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest("POST", s.URL+path, strings.NewReader(body))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.SetBasicAuth(tc.client.id, tc.client.secret)
					resp, err := client.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					out, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					check(b, resp.StatusCode, string(out))
				}
			})
		})
	}
}

// processCPU is the CPU time this process has used (user and system), in
// nanoseconds: on a machine shared with other work, CPU per operation
// says more than wall time does.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// benchTokenHandler posts form to the token endpoint at path as clientID
// through the handler, in parallel, reporting CPU and store queries per
// token.
func benchTokenHandler(b *testing.B, s *apptest.Server, path, form, clientID, secret string) {
	b.ReportAllocs()
	reportCPU(b)
	q0 := s.Queries()
	defer func() { b.ReportMetric(float64(s.Queries()-q0)/float64(b.N), "queries/op") }()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("POST", path, strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(clientID, secret)
			rec := httptest.NewRecorder()
			s.Handler.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
	})
}
