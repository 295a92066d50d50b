package app_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// What tracing costs the request path: a client_credentials token request
// and a management read, served in-process (no network, so that the
// difference is not lost in it), with tracing off (no OTEL_* variables:
// otel's no-op provider) and on (every request sampled and exported over
// OTLP/HTTP to a collector in the test that discards).
//
//	go test -run '^$' -bench RequestTracing -benchmem ./internal/app/
func BenchmarkRequestTracing(b *testing.B) {
	for _, mode := range []string{"off", "on"} {
		b.Run(mode, func(b *testing.B) {
			if mode == "on" {
				col := httptest.NewServer(&collector{discard: true})
				defer col.Close()
				b.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", col.URL)
				stop, err := app.StartTracing(context.Background(), slog.New(slog.DiscardHandler))
				if err != nil {
					b.Fatal(err)
				}
				defer stop()
			}
			s := apptest.Start(b, apptest.Options{})
			w := s.CreateWorker(b, s.Admin.EnvironmentID, "CLIENT_SECRET_BASIC")
			tok := s.AdminToken(b)
			form := url.Values{"grant_type": {"client_credentials"}}.Encode()
			requests := map[string]func() *http.Request{
				"client_credentials": func() *http.Request {
					r := httptest.NewRequest("POST", s.URL+"/"+w.EnvironmentID+"/as/token", strings.NewReader(form))
					r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					r.SetBasicAuth(w.ClientID, w.Secret)
					return r
				},
				"get_environment": func() *http.Request {
					r := httptest.NewRequest("GET", s.APIPath+"/environments/"+s.Admin.EnvironmentID, nil)
					r.Header.Set("Authorization", "Bearer "+tok)
					return r
				},
			}
			for _, name := range []string{"client_credentials", "get_environment"} {
				b.Run(name, func(b *testing.B) {
					for b.Loop() {
						rec := httptest.NewRecorder()
						s.Handler.ServeHTTP(rec, requests[name]())
						if rec.Code != http.StatusOK {
							b.Fatalf("%d %s", rec.Code, rec.Body)
						}
					}
				})
			}
		})
	}
}
