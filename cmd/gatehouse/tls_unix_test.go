//go:build unix

package main_test

import (
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// TestTLSSIGHUPWhileStarting: a SIGHUP that comes while the server is
// still starting (here: waiting for the development CA's lock, which the
// test holds, as another start would) does not end it; it serves once the
// start is done.
func TestTLSSIGHUPWhileStarting(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	os.Mkdir(data, 0o700)
	lock, err := os.OpenFile(filepath.Join(data, "gatehouse-dev-ca.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	p := start(t, dir, nil, "--listen", addr, "--db", "sqlite:data/gatehouse.db", "--tls-dev")
	// The port is bound before the start that waits for the lock.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the port is not bound:\n%s", p.stderr)
		}
	}
	time.Sleep(100 * time.Millisecond)
	p.cmd.Process.Signal(syscall.SIGHUP)
	select {
	case <-p.done:
		t.Fatalf("SIGHUP while starting ended the process: %v\n%s", p.err, p.stderr)
	case <-time.After(300 * time.Millisecond):
	}
	lock.Close()
	base := "https://" + addr
	var roots *x509.CertPool
	for deadline := time.Now().Add(30 * time.Second); roots == nil; time.Sleep(20 * time.Millisecond) {
		if pem, err := os.ReadFile(filepath.Join(data, "gatehouse-dev-ca.pem")); err == nil {
			roots = x509.NewCertPool()
			roots.AppendCertsFromPEM(pem)
		} else if time.Now().After(deadline) {
			t.Fatalf("no CA:\n%s", p.stderr)
		}
	}
	waitReadyTLS(t, p, apptest.TLSClient(roots, base, addr), base)
	stop(t, p)
}
