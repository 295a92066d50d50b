package app_test

import (
	"database/sql"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// withUmask runs the test under the usual umask, 022, which leaves new
// files readable by everyone unless Gatehouse says otherwise (a umask of
// 077 would hide the problem).
func withUmask(t *testing.T) {
	old := syscall.Umask(0o022)
	t.Cleanup(func() { syscall.Umask(old) })
}

// checkPrivate fails unless every name in dir exists with mode 0600.
func checkPrivate(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, name := range names {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got := st.Mode().Perm(); got != 0o600 {
			t.Errorf("%s: mode %v, want -rw------- (it holds password hashes and sealed secrets)", name, got)
		}
	}
}

// TestPrivateFiles: what a server writes to disk — the SQLite database
// with its write-ahead log and shared-memory index, and the bootstrap file
// on either backend — is readable by its owner only, after a write.
func TestPrivateFiles(t *testing.T) {
	withUmask(t)
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			dir := t.TempDir()
			dsn := b.DSN(t)
			files := []string{"gatehouse-admin.json"}
			if b.Name == "sqlite" {
				dsn = "sqlite:" + filepath.Join(dir, "gatehouse.db")
				files = append(files, "gatehouse.db", "gatehouse.db-wal", "gatehouse.db-shm")
			}
			s := apptest.Start(t, apptest.Options{DSN: dsn, Dir: dir})
			r := s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + s.Admin.EnvironmentID + "/users",
				Token: s.AdminToken(t), Body: map[string]any{"username": "private-files"}})
			if r.Status != http.StatusCreated {
				t.Fatalf("create user: %d %s", r.Status, r.Body)
			}
			checkPrivate(t, dir, files...)
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if info, err := e.Info(); err == nil && info.Mode().Perm()&0o077 != 0 {
					t.Errorf("%s: mode %v, readable by other users", e.Name(), info.Mode().Perm())
				}
			}
		})
	}
}

// TestPrivateFilesExisting: a database an earlier version left readable by
// everyone — its -wal and -shm too, as a crash leaves them — is made
// private when the server starts.
func TestPrivateFilesExisting(t *testing.T) {
	withUmask(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "gatehouse.db")
	// Another connection keeps the write-ahead log and its index in place,
	// as a process that died holding them would.
	held, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	held.SetMaxOpenConns(1)
	if _, err := held.Exec(`CREATE TABLE earlier (v TEXT); INSERT INTO earlier VALUES ('x')`); err != nil {
		t.Fatal(err)
	}
	names := []string{"gatehouse.db", "gatehouse.db-wal", "gatehouse.db-shm"}
	for _, name := range names {
		if err := os.Chmod(filepath.Join(dir, name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := apptest.Start(t, apptest.Options{DSN: "sqlite:" + path, Dir: dir})
	r := s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + s.Admin.EnvironmentID + "/users",
		Token: s.AdminToken(t), Body: map[string]any{"username": "private-files"}})
	if r.Status != http.StatusCreated {
		t.Fatalf("create user: %d %s", r.Status, r.Body)
	}
	checkPrivate(t, dir, names...)
}
