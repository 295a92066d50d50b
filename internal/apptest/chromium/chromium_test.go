package chromium

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// recorder is a testing.TB that records how a test would have ended
// instead of ending the real one.
type recorder struct {
	testing.TB
	ended, msg string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.ended, r.msg = "fail", fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Skipf(format string, args ...any) {
	r.ended, r.msg = "skip", fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// path runs Path on a recorder in a goroutine of its own (Goexit ends
// that one).
func path(t *testing.T) (string, *recorder) {
	r := &recorder{TB: t}
	var got string
	done := make(chan struct{})
	go func() {
		defer close(done)
		got = Path(r, "the widget")
	}()
	<-done
	return got, r
}

// TestPath: the CI rule. Without chromium on PATH, CI=true fails the test
// and anything else skips it, both saying what is not tested; with one,
// its path.
func TestPath(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	for _, c := range []struct {
		ci, ended, msg string
	}{
		{"true", "fail", "chromium is not installed: the browser tests of the widget cannot run (.ci/run installs it)"},
		{"", "skip", "SKIPPING BROWSER TEST: chromium is not installed (apt-get install chromium); the widget is NOT tested"},
		{"false", "skip", "SKIPPING BROWSER TEST: chromium is not installed (apt-get install chromium); the widget is NOT tested"},
	} {
		t.Setenv("CI", c.ci)
		got, r := path(t)
		if got != "" || r.ended != c.ended || r.msg != c.msg {
			t.Errorf("CI=%q: Path = %q, %s %q; want %s %q", c.ci, got, r.ended, r.msg, c.ended, c.msg)
		}
	}

	bin := os.Getenv("PATH")
	fake := filepath.Join(bin, "chromium-browser")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CI", "true")
	if got, r := path(t); got != fake || r.ended != "" {
		t.Errorf("with %s: Path = %q, %s %q", fake, got, r.ended, r.msg)
	}
}

func TestRepoRoot(t *testing.T) {
	root := RepoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	if rel, err := filepath.Rel(root, wd); err != nil || rel != filepath.Join("internal", "apptest", "chromium") {
		t.Errorf("RepoRoot = %s from %s", root, wd)
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{`a`: `"a"`, `it's "x"`: `"it's \"x\""`, "</script>\n": `"\u003c/script\u003e\n"`} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}
