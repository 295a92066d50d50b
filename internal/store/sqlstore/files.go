package sqlstore

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
)

// sqliteFileSuffixes name a SQLite database's files: the database, its
// write-ahead log, its shared-memory index and (before WAL is on) its
// rollback journal. They hold password hashes and sealed secrets.
var sqliteFileSuffixes = []string{"", "-wal", "-shm", "-journal"}

// privateSQLiteFiles keeps the database at path readable by its owner
// only. SQLite creates its -wal, -shm and -journal files with the mode of
// the database file, so a database file created 0600 before the driver
// opens it keeps them all private whatever the umask. Files an earlier
// start left readable by group or others lose those permissions; each
// change is logged, and one that fails (a file owned by someone else) is
// a warning, not a refusal to start.
func privateSQLiteFiles(path string, log *slog.Logger) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		if err := f.Close(); err != nil {
			return err
		}
	case !errors.Is(err, fs.ErrExist):
		return err
	}
	for _, suffix := range sqliteFileSuffixes {
		name := path + suffix
		st, err := os.Stat(name)
		if err != nil || st.Mode().Perm()&0o077 == 0 {
			continue // absent, or private already
		}
		was := st.Mode().Perm()
		if err := os.Chmod(name, was&^0o077); err != nil {
			log.Warn("a database file is readable by other users and could not be made private", "file", name, "mode", was.String(), "err", err)
			continue
		}
		log.Warn("a database file was readable by other users: made private", "file", name, "was", was.String(), "now", (was &^ 0o077).String())
	}
	return nil
}
