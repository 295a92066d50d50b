package main_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// These tests run the real binary, as a user would: its flags, env vars,
// bootstrap file, restart and SIGTERM.

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gatehouse-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "gatehouse")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		panic(string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// syncBuffer is the child's stderr: os/exec copies into it from its own
// goroutine while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type proc struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan struct{} // closed when the process has exited
	err    error         // its exit status, once done is closed
}

func start(t *testing.T, dir string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, stderr: stderr, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	return p
}

func waitReady(t *testing.T, p *proc, base string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			t.Fatalf("gatehouse exited: %v\n%s", p.err, p.stderr)
		default:
		}
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("gatehouse not ready\n%s", p.stderr)
}

func stop(t *testing.T, p *proc) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", p.err, p.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
}

type adminFile struct {
	EnvironmentID, ClientID, ClientSecret, AuthPath, APIPath string
}

func readAdmin(t *testing.T, path string) (adminFile, []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var a adminFile
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	return a, b
}

func token(t *testing.T, a adminFile) string {
	t.Helper()
	cc := clientcredentials.Config{ClientID: a.ClientID, ClientSecret: a.ClientSecret, TokenURL: a.AuthPath + "/" + a.EnvironmentID + "/as/token"}
	tok, err := cc.Token(context.Background())
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	return tok.AccessToken
}

func call(t *testing.T, method, url, tok string, body any) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, r)
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// TestServeRestartAndShutdown is the README's promise: the server starts on
// its own, writes the bootstrap file, hands out admin tokens, keeps its data
// and admin across a restart, and exits 0 on SIGTERM.
func TestServeRestartAndShutdown(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			dir := t.TempDir()
			var env []string
			if b.Name == "postgres" {
				env = append(env, "GATEHOUSE_DB="+b.DSN(t))
			}
			addr := freeAddr(t)
			base := "http://" + addr
			p := start(t, dir, env, "--listen", addr)
			waitReady(t, p, base)

			path := filepath.Join(dir, "gatehouse-admin.json")
			st, err := os.Stat(path)
			if err != nil || st.Mode().Perm() != 0o600 {
				t.Fatalf("bootstrap file: %v mode %v", err, st.Mode())
			}
			admin, raw := readAdmin(t, path)
			if admin.AuthPath != base || admin.APIPath != base+"/v1" || len(admin.ClientSecret) < 32 {
				t.Fatalf("bootstrap file: %s", raw)
			}
			// The child wrote the line before it listened, but the copy of
			// its stderr into the buffer can lag behind.
			for deadline := time.Now().Add(5 * time.Second); !strings.Contains(p.stderr.String(), `"msg":"admin credentials written`); time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Errorf("no bootstrap hint in the log:\n%s", p.stderr)
					break
				}
			}
			tok := token(t, admin)
			status, body := call(t, "GET", base+"/v1/environments/"+admin.EnvironmentID, tok, nil)
			if status != 200 || body["name"] != "Administrators" || body["type"] != "PRODUCTION" {
				t.Fatalf("admin environment: %d %v", status, body)
			}
			_, lics := call(t, "GET", base+"/v1/organizations/"+body["organization"].(map[string]any)["id"].(string)+"/licenses", tok, nil)
			lic := lics["_embedded"].(map[string]any)["licenses"].([]any)[0].(map[string]any)["id"].(string)
			status, created := call(t, "POST", base+"/v1/environments", tok, map[string]any{
				"name": "kept", "type": "SANDBOX", "region": "EU", "license": map[string]string{"id": lic}})
			if status != 201 {
				t.Fatalf("create environment: %d %v", status, created)
			}
			// Health and metrics.
			for _, u := range []string{"/healthz", "/readyz"} {
				resp, err := http.Get(base + u)
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("%s: %v %v", u, err, resp)
				}
				resp.Body.Close()
			}
			resp, err := http.Get(base + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			metrics, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.Contains(string(metrics), `gatehouse_http_requests_total{method="POST",route="POST /v1/environments",status="201"} 1`) ||
				!strings.Contains(string(metrics), `gatehouse_http_request_duration_seconds_bucket{method="POST",route="POST /{envID}/as/token"`) {
				t.Errorf("metrics lack the requests made:\n%s", metrics)
			}
			stop(t, p)

			// Restart: same admin, same data, bootstrap file untouched.
			p = start(t, dir, env, "--listen", addr)
			waitReady(t, p, base)
			_, raw2 := readAdmin(t, path)
			if !bytes.Equal(raw, raw2) {
				t.Fatalf("bootstrap file changed on restart:\n%s\n%s", raw, raw2)
			}
			tok = token(t, admin)
			status, again := call(t, "GET", base+"/v1/environments/"+created["id"].(string), tok, nil)
			if status != 200 || again["name"] != "kept" {
				t.Fatalf("environment after restart: %d %v", status, again)
			}
			// The file is rewritten from the store if it was lost.
			os.Remove(path)
			stop(t, p)
			p = start(t, dir, env, "--listen", addr)
			waitReady(t, p, base)
			if a3, _ := readAdmin(t, path); a3 != admin {
				t.Fatalf("rewritten bootstrap file %+v, want %+v", a3, admin)
			}
			stop(t, p)
		})
	}
}

func TestAdminFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	const id = "0a3c8a5e-6c1f-4a39-9c77-3b1f8d2e4c11"
	const secret = "a-secret-long-enough-for-tests-0123456789"
	p := start(t, dir, []string{"GATEHOUSE_ADMIN_CLIENT_ID=" + id, "GATEHOUSE_ADMIN_CLIENT_SECRET=" + secret,
		"GATEHOUSE_BOOTSTRAP_FILE=admin.json", "GATEHOUSE_DB=sqlite:data.db", "GATEHOUSE_BASE_URL=http://" + addr + "/"}, "serve", "--listen", addr)
	waitReady(t, p, "http://"+addr)
	a, _ := readAdmin(t, filepath.Join(dir, "admin.json"))
	if a.ClientID != id || a.ClientSecret != secret || a.AuthPath != "http://"+addr {
		t.Fatalf("admin %+v", a)
	}
	token(t, a)
	if _, err := os.Stat(filepath.Join(dir, "data.db")); err != nil {
		t.Fatal(err)
	}
	stop(t, p)
}

func TestBadStarts(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	p := start(t, dir, nil, "--listen", addr)
	waitReady(t, p, "http://"+addr)
	stop(t, p)

	badStarts(t, dir, nil, []badStart{
		{"wrong master key", []string{"GATEHOUSE_MASTER_KEY=" + base64.StdEncoding.EncodeToString(make([]byte, 32))}, nil, "master key does not match"},
		{"bad master key", []string{"GATEHOUSE_MASTER_KEY=short"}, nil, "master key"},
		{"unknown database", []string{"GATEHOUSE_DB=mysql://x"}, nil, "unsupported database"},
		{"bad admin id", []string{"GATEHOUSE_DB=sqlite:other.db", "GATEHOUSE_ADMIN_CLIENT_ID=admin"}, nil, "must be a UUID"},
		{"unknown flag", nil, []string{"--nope"}, "flag provided but not defined"},
		{"audit retention too short", nil, []string{"--audit-retention", "90s"}, "--audit-retention (GATEHOUSE_AUDIT_RETENTION) must be at least 1h"},
		{"audit retention no duration", []string{"GATEHOUSE_AUDIT_RETENTION=ninety"}, nil, "must be days such as 90d"},
		{"audit not a boolean", []string{"GATEHOUSE_AUDIT=maybe"}, nil, "GATEHOUSE_AUDIT must be true or false"},
	})
}

// badStart is a start that must fail: its environment, its arguments and
// what its output must say.
type badStart struct {
	name string
	env  []string
	args []string
	want string
}

// badStarts runs the binary in dir once per case (after args common to
// all) and checks that it exits non-zero saying what the case wants.
func badStarts(t *testing.T, dir string, common []string, cases []badStart) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append(append([]string{"--listen", freeAddr(t)}, common...), c.args...)
			cmd := exec.Command(binary, args...)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), c.env...)
			out, err := cmd.CombinedOutput()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() == 0 {
				t.Fatalf("exit: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), c.want) {
				t.Fatalf("output lacks %q:\n%s", c.want, out)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	out, err := exec.Command(binary, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "gatehouse ") {
		t.Fatalf("%v %s", err, out)
	}
}
