package main_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
)

// TestAllowPrivateOutboundFlag: by default the binary refuses a jwksUrl on
// a loopback address before connecting to it; --allow-private-outbound
// and GATEHOUSE_ALLOW_PRIVATE_OUTBOUND=true let it connect (and say so in
// the log); a value that is not a boolean stops the start.
func TestAllowPrivateOutboundFlag(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	const warning = "outbound requests may reach loopback and private addresses"
	cases := []struct {
		name    string
		env     []string
		args    []string
		allowed bool
	}{
		{name: "default", allowed: false},
		{name: "flag", args: []string{"--allow-private-outbound"}, allowed: true},
		{name: "env", env: []string{"GATEHOUSE_ALLOW_PRIVATE_OUTBOUND=true"}, allowed: true},
		{name: "flag overrides env", env: []string{"GATEHOUSE_ALLOW_PRIVATE_OUTBOUND=true"}, args: []string{"--allow-private-outbound=false"}, allowed: false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// The jwksUrl's listener: it only counts connections.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ln.Close() })
			var conns atomic.Int32
			go func() {
				for {
					conn, err := ln.Accept()
					if err != nil {
						return
					}
					conns.Add(1)
					conn.Close()
				}
			}()

			dir := t.TempDir()
			addr := freeAddr(t)
			p := start(t, dir, c.env, append([]string{"--listen", addr, "--db", "sqlite:data.db"}, c.args...)...)
			base := "http://" + addr
			waitReady(t, p, base)
			a, _ := readAdmin(t, dir+"/gatehouse-admin.json")
			st, app := call(t, "POST", a.APIPath+"/environments/"+a.EnvironmentID+"/applications", token(t, a), map[string]any{
				"name": "Keys at a URL", "enabled": true, "protocol": "OPENID_CONNECT", "type": "WORKER",
				"grantTypes": []string{"CLIENT_CREDENTIALS"}, "tokenEndpointAuthMethod": "PRIVATE_KEY_JWT",
				"jwksUrl": "https://" + ln.Addr().String() + "/jwks"})
			if st != http.StatusCreated {
				t.Fatalf("create application: %d %v", st, app)
			}
			id := app["id"].(string)
			tokenURL := a.AuthPath + "/" + a.EnvironmentID + "/as/token"
			signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			assertion, err := jwt.Signed(signer).Claims(map[string]any{"iss": id, "sub": id, "aud": tokenURL, "iat": now.Unix(),
				"exp": now.Add(time.Minute).Unix(), "jti": uuid.NewString()}).Serialize()
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.PostForm(tokenURL, url.Values{"grant_type": {"client_credentials"},
				"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}})
			if err != nil {
				t.Fatal(err)
			}
			var body map[string]any
			json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()

			desc := "The application's jwksUrl was not fetched: outbound requests may not reach a loopback address."
			if c.allowed {
				// Connected; the listener speaks no TLS.
				desc = "The application's key set could not be fetched from its jwksUrl."
			}
			if resp.StatusCode != http.StatusUnauthorized || body["error"] != "invalid_client" || body["error_description"] != desc {
				t.Errorf("token: %d %v, want 401 invalid_client %q", resp.StatusCode, body, desc)
			}
			if n := conns.Load(); (n > 0) != c.allowed {
				t.Errorf("%d connections to the jwksUrl's listener, allowed %v", n, c.allowed)
			}
			stop(t, p)
			log := p.stderr.String()
			if strings.Contains(log, warning) != c.allowed {
				t.Errorf("start-up warning present %v, want %v:\n%s", !c.allowed, c.allowed, log)
			}
			if refused := strings.Contains(log, `"msg":"outbound request refused"`); refused == c.allowed {
				t.Errorf("refusal logged %v, want %v:\n%s", refused, !c.allowed, log)
			}
		})
	}

	cmd := exec.Command(binary, "--listen", freeAddr(t))
	cmd.Dir = t.TempDir()
	cmd.Env = append(cmd.Environ(), "GATEHOUSE_ALLOW_PRIVATE_OUTBOUND=maybe")
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() == 0 || !strings.Contains(string(out), `GATEHOUSE_ALLOW_PRIVATE_OUTBOUND must be true or false, not "maybe"`) {
		t.Errorf("bad value: %v\n%s", err, out)
	}
}
