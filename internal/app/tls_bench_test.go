package app_test

import (
	"crypto/tls"
	"io"
	"net/http"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// What TLS costs a management read, and what the CONNECT tunnel adds on
// top (PingOne's Terraform provider reaches Gatehouse that way):
//
//	go test -run '^$' -bench TLS -cpu 1,2 ./internal/app/
//
// "reused" keeps connections alive, as SDK clients do; "handshake" opens a
// new TLS connection per request (one ECDSA P-256 handshake each).
func BenchmarkTLS(b *testing.B) {
	servers := []struct {
		name string
		opts apptest.Options
	}{
		{"http", apptest.Options{}},
		{"https", apptest.Options{TLSDev: true}},
		{"https-connect", apptest.Options{TLSDev: true, BaseURL: "https://gatehouse.test"}},
	}
	for _, sv := range servers {
		s := apptest.Start(b, sv.opts)
		tok := s.AdminToken(b)
		url := s.APIPath + "/environments/" + s.Admin.EnvironmentID
		base := s.Client.Transport
		if base == nil {
			base = http.DefaultTransport
		}
		reused := base.(*http.Transport).Clone()
		reused.MaxIdleConnsPerHost = 16
		modes := []struct {
			name string
			tr   *http.Transport
		}{{"reused", reused}}
		if sv.opts.TLSDev {
			fresh := base.(*http.Transport).Clone()
			fresh.DisableKeepAlives = true
			// Each request pays for a full handshake, not a resumed one.
			fresh.TLSClientConfig.ClientSessionCache = nil
			fresh.TLSClientConfig.SessionTicketsDisabled = true
			fresh.TLSClientConfig.MinVersion = tls.VersionTLS13
			modes = append(modes, struct {
				name string
				tr   *http.Transport
			}{"handshake", fresh})
		}
		for _, m := range modes {
			b.Run(sv.name+"/"+m.name, func(b *testing.B) {
				client := &http.Client{Transport: m.tr}
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						req, _ := http.NewRequest(http.MethodGet, url, nil)
						req.Header.Set("Authorization", "Bearer "+tok)
						resp, err := client.Do(req)
						if err != nil {
							b.Fatal(err)
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != http.StatusOK {
							b.Fatalf("status %d", resp.StatusCode)
						}
					}
				})
			})
		}
	}
}
