package app_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// TestConsoleUpgradeUsernameTaken: an older database whose Administrators
// environment already has a user named admin (made through the API before
// the console existed) does not make its next start retry forever on the
// username's conflict: the start fails at once, naming the username and
// GATEHOUSE_ADMIN_USERNAME; with that set, it starts and makes the
// administrator under the other name, the existing user untouched.
func TestConsoleUpgradeUsernameTaken(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			dsn, dir := be.DSN(t), t.TempDir()
			key := make([]byte, 32)
			s := apptest.Start(t, apptest.Options{DSN: dsn, Dir: dir, MasterKey: key})
			admin := s.AdminToken(t)
			envPath := "/environments/" + s.Admin.EnvironmentID
			u := adminUser(t, s, "admin")
			uid, popID := u["id"].(string), u["population"].(map[string]any)["id"].(string)
			for _, p := range []string{envPath + "/users/" + uid, envPath + "/applications/" + s.Admin.ConsoleClientID} {
				if r := s.Do(t, apptest.Request{Method: "DELETE", URL: p, Token: admin}); r.Status != http.StatusNoContent {
					t.Fatalf("DELETE %s: %d %s", p, r.Status, r.Body)
				}
			}
			// Someone's own "admin", made the way an older version allowed.
			mine := s.CreateUser(t, s.Admin.EnvironmentID, popID, "admin", "admin@example.com", "Own", "Admin", "Granite-Willow-Ferry-58!")
			s.Stop()
			db, ph := rawDB(t, dsn)
			if _, err := db.Exec("DELETE FROM meta WHERE key = "+ph, "bootstrap.console"); err != nil {
				t.Fatal(err)
			}

			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			start := time.Now()
			cfg := app.Config{Listen: "127.0.0.1:0", DB: dsn, BaseURL: s.URL, BootstrapFile: filepath.Join(dir, "gatehouse-admin.json"),
				MasterKey: key, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
			srv, err := app.New(ctx, cfg)
			if err == nil {
				srv.Close()
				t.Fatal("the start made an administrator over an existing user named admin")
			}
			if !strings.Contains(err.Error(), `"admin"`) || !strings.Contains(err.Error(), "GATEHOUSE_ADMIN_USERNAME") {
				t.Errorf("error %q does not name the username and GATEHOUSE_ADMIN_USERNAME", err)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("the start took %v to fail", d)
			}

			s2 := apptest.Start(t, apptest.Options{DSN: dsn, Dir: dir, MasterKey: key, AdminUsername: "console-admin"})
			if s2.Admin.Username != "console-admin" || s2.Admin.Password == "" {
				t.Fatalf("second start's admin = %+v", s2.Admin)
			}
			if got := adminUser(t, s2, "admin")["id"]; got != mine {
				t.Errorf("the existing admin is %v, want %s untouched", got, mine)
			}
			s2.ConsoleSignOn(t, "console-admin", s2.Admin.Password, newAdminPassword)
		})
	}
}
