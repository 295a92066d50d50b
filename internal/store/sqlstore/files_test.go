package sqlstore

import (
	"bytes"
	"database/sql"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestPrivateSQLiteFilesLogged: Open takes group and other permissions off
// the database, its -wal and its -shm, keeps the owner's, and logs each
// file it changed (once: a later start has nothing to say).
func TestPrivateSQLiteFilesLogged(t *testing.T) {
	old := syscall.Umask(0o022)
	t.Cleanup(func() { syscall.Umask(old) })
	dir := t.TempDir()
	path := filepath.Join(dir, "gatehouse.db")
	held, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	held.SetMaxOpenConns(1)
	if _, err := held.Exec(`CREATE TABLE earlier (v TEXT); INSERT INTO earlier VALUES ('x')`); err != nil {
		t.Fatal(err)
	}
	modes := map[string]os.FileMode{"gatehouse.db": 0o644, "gatehouse.db-wal": 0o664, "gatehouse.db-shm": 0o604}
	for name, mode := range modes {
		if err := os.Chmod(filepath.Join(dir, name), mode); err != nil {
			t.Fatal(err)
		}
	}
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, nil))
	s, err := Open(t.Context(), "sqlite:"+path, WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for name := range modes {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v mode %v, want -rw-------", name, err, st.Mode().Perm())
		}
		if !strings.Contains(logged.String(), "file="+filepath.Join(dir, name)+" ") {
			t.Errorf("the log does not name %s:\n%s", name, logged.String())
		}
	}
	logged.Reset()
	again, err := Open(t.Context(), "sqlite:"+path, WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	again.Close()
	if logged.Len() != 0 {
		t.Errorf("a start on private files logged:\n%s", logged.String())
	}
}
