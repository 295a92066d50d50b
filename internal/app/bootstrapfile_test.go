package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUpdateBootstrapFileWritesItsOwnFile: the bootstrap file is replaced
// through a temporary file of its own, mode 0600, whatever already sits at
// a predictable temporary name: a link planted there does not receive the
// credentials, nor become the bootstrap file.
func TestUpdateBootstrapFileWritesItsOwnFile(t *testing.T) {
	cases := []struct {
		name  string
		plant func(t *testing.T, tmp, decoy string)
	}{
		{"a symlink to another file", func(t *testing.T, tmp, decoy string) {
			if err := os.Symlink(decoy, tmp); err != nil {
				t.Fatal(err)
			}
		}},
		{"a file left by a crash", func(t *testing.T, tmp, decoy string) {
			if err := os.WriteFile(tmp, []byte("left over"), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"nothing", func(*testing.T, string, string) {}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "gatehouse-admin.json")
			decoy := filepath.Join(dir, "decoy")
			if err := os.WriteFile(path, []byte(`{"clientSecret": "s3cret", "authPath": "http://a"}`), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(decoy, []byte("decoy"), 0o644); err != nil {
				t.Fatal(err)
			}
			c.plant(t, path+".tmp", decoy)
			if err := updateBootstrapFile(path, []bootstrapMember{{"authPath", "https://b"}, {"caFile", "/ca.pem"}}); err != nil {
				t.Fatal(err)
			}
			if b, err := os.ReadFile(decoy); err != nil || string(b) != "decoy" {
				t.Fatalf("the decoy now holds %q (%v)", b, err)
			}
			if st, err := os.Stat(decoy); err != nil || st.Mode().Perm() != 0o644 {
				t.Fatalf("the decoy's mode: %v %v", st.Mode(), err)
			}
			st, err := os.Lstat(path)
			if err != nil || !st.Mode().IsRegular() || st.Mode().Perm() != 0o600 {
				t.Fatalf("the bootstrap file: %v %v", st.Mode(), err)
			}
			want := "{\n  \"clientSecret\": \"s3cret\",\n  \"authPath\": \"https://b\",\n  \"caFile\": \"/ca.pem\"\n}\n"
			if b, _ := os.ReadFile(path); string(b) != want {
				t.Fatalf("the bootstrap file:\n%s\nwant:\n%s", b, want)
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), ".gatehouse-admin.json") {
					t.Fatalf("a temporary file is left: %s", e.Name())
				}
			}
		})
	}
}
