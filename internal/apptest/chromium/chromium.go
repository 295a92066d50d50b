// Package chromium drives headless Chromium for the browser tests: it
// finds the browser (a failure in CI, a loud skip elsewhere), starts it
// with the flags every test uses, and offers a Page whose steps are
// bounded in time, fail with a screenshot and what the page showed, and
// leave a numbered screenshot of each step under test-output/ for review
// by eye. It is imported only by tests; the page-specific helpers (the
// sign-on page's statuses, the console's labels) stay with their tests.
package chromium

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// Path finds the browser. Without one the tests cannot run: that is a
// failure in CI (CI=true, where .ci/run installs it) and a loud skip on a
// developer's machine. untested names what then goes untested, as in
// "the sign-on page".
func Path(t testing.TB, untested string) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("chromium is not installed: the browser tests of %s cannot run (.ci/run installs it)", untested)
	}
	t.Skipf("SKIPPING BROWSER TEST: chromium is not installed (apt-get install chromium); %s is NOT tested", untested)
	return ""
}

// RepoRoot is the directory that holds go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// Start launches the browser at path, headless, without sandbox or GPU,
// with more options (a window size, feature flags), and returns its
// context once it runs; stop closes it and removes its profile.
func Start(path string, more ...chromedp.ExecAllocatorOption) (ctx context.Context, stop func(), err error) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU)
	opts = append(opts, more...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	stop = func() { cancel(); cancelAlloc() }
	// The first Run starts the browser; it must not carry a timeout,
	// which would close the browser when it expires.
	if err := chromedp.Do(ctx); err != nil {
		stop()
		return nil, nil, err
	}
	return ctx, stop, nil
}

// Launch starts a browser of t's own (see Path and Start), closed when t
// ends.
func Launch(t testing.TB, untested string, more ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	ctx, stop, err := Start(Path(t, untested), more...)
	if err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(stop)
	return ctx
}

// Shared is one browser for a whole package: starting one takes seconds,
// and a browser context per test (NewTab) isolates cookies and storage as
// well as a separate browser would. The package's TestMain calls Stop.
type Shared struct {
	once sync.Once
	ctx  context.Context
	stop func()
	err  error
}

// Browser starts the browser on first use, with more options, and
// returns it; without chromium t fails or skips as Path says.
func (s *Shared) Browser(t testing.TB, untested string, more ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	path := Path(t, untested)
	s.once.Do(func() { s.ctx, s.stop, s.err = Start(path, more...) })
	if s.err != nil {
		t.Fatalf("start chromium: %v", s.err)
	}
	return s.ctx
}

// Stop closes the browser, if it was started.
func (s *Shared) Stop() {
	if s.stop != nil {
		s.stop()
	}
}

// Viewport is a tab's size; Mobile lays the page out as on a phone (meta
// viewport honoured, portrait).
type Viewport struct {
	Width, Height int
	Mobile        bool
}

// NewTab opens a tab in a new browser context of browser (its own
// cookies and storage), closed when t ends, sized to vp and with focus
// emulated, then runs setup on it (a colour scheme, say).
func NewTab(t testing.TB, browser context.Context, vp Viewport, setup ...chromedp.Action[chromedp.Void]) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	var emulate []chromedp.EmulateViewportOption
	if vp.Mobile {
		emulate = append(emulate, chromedp.EmulateMobile, chromedp.EmulatePortrait)
	}
	actions := []chromedp.Action[chromedp.Void]{
		chromedp.EmulateViewport(int64(vp.Width), int64(vp.Height), emulate...),
		// Headless windows never have the OS focus; without this,
		// document.hasFocus() is false and :focus styles may not apply.
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true})
			return err
		}),
	}
	// The first Run opens the tab; a timeout on it would close the tab.
	if err := chromedp.Do(ctx, append(actions, setup...)...); err != nil {
		t.Fatalf("open a browser tab: %v", err)
	}
	return ctx
}

// EmulateColorScheme makes the page see prefers-color-scheme: scheme
// ("light" or "dark").
func EmulateColorScheme(scheme string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
		return err
	})
}

// ShotDir is test-output/<area>/<t's name>/, emptied of an earlier run's
// screenshots.
func ShotDir(t testing.TB, area string) string {
	t.Helper()
	dir := filepath.Join(RepoRoot(t), "test-output", area, regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(t.Name(), "_"))
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Page is a tab driven for one test.
type Page struct {
	T   *testing.T
	Ctx context.Context
	// Timeout bounds every step and every wait: a step that does not
	// happen in this time has failed.
	Timeout time.Duration
	// Poll bounds one evaluation of a WaitFor condition.
	Poll time.Duration
	// Screenshots go to Dir as <Prefix><NN>-<name>.png, numbered by *N,
	// which the pages of one test may share.
	Dir, Prefix string
	N           *int
	// Describe is what the page shows, for failure messages; nil: its
	// URL and text.
	Describe func() string
}

// Do runs actions within the timeout; on failure the test stops with a
// screenshot and what the page showed.
func (p *Page) Do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.T.Helper()
	ctx, cancel := context.WithTimeout(p.Ctx, p.Timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.Fail("%s: %v", what, err)
	}
}

// Navigate loads u and waits for the page.
func (p *Page) Navigate(u string) {
	p.T.Helper()
	p.Do("navigate to "+u, chromedp.Navigate(u))
}

// Fail stops the test, after a screenshot and a summary of the page.
func (p *Page) Fail(format string, args ...any) {
	p.T.Helper()
	p.Shot("FAILURE")
	describe := p.Describe
	if describe == nil {
		describe = func() string {
			return fmt.Sprintf("page: %s\ntext: %q", p.Read(`location.href`), p.Read(`(document.body?.innerText ?? '').slice(0, 600)`))
		}
	}
	p.T.Fatalf("%s\n%s", fmt.Sprintf(format, args...), describe())
}

// Eval runs a script within the page's timeout and decodes its result
// into T; it fails the test on a script error.
func Eval[T any](p *Page, js string) T {
	p.T.Helper()
	ctx, cancel := context.WithTimeout(p.Ctx, p.Timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		p.Fail("script %q: %v", js, err)
	}
	return v
}

// Read runs a script that returns a string, "" on error: for reading a
// page that may be gone.
func (p *Page) Read(js string) string {
	ctx, cancel := context.WithTimeout(p.Ctx, p.Timeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		return ""
	}
	return s
}

// WaitFor polls the script until it is true. Errors while one page is
// replaced by the next are expected and ignored.
func (p *Page) WaitFor(what, js string) {
	p.T.Helper()
	deadline := time.Now().Add(p.Timeout)
	var last error
	for {
		ctx, cancel := context.WithTimeout(p.Ctx, p.Poll)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!(`+js+`)`))
		cancel()
		if err == nil && ok {
			return
		}
		last = err
		if time.Now().After(deadline) {
			p.Fail("the page never showed %s (last script error: %v)", what, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Screenshot is a full-page PNG.
func (p *Page) Screenshot() ([]byte, error) {
	ctx, cancel := context.WithTimeout(p.Ctx, p.Timeout)
	defer cancel()
	return chromedp.Run(ctx, chromedp.FullScreenshot(100))
}

// Shot saves a full-page PNG as the next numbered screenshot, <name>.
func (p *Page) Shot(name string) {
	p.T.Helper()
	png, err := p.Screenshot()
	if err != nil {
		p.T.Logf("screenshot %s: %v", name, err)
		return
	}
	*p.N++
	if err := os.WriteFile(filepath.Join(p.Dir, fmt.Sprintf("%s%02d-%s.png", p.Prefix, *p.N, name)), png, 0o644); err != nil {
		p.T.Errorf("save screenshot: %v", err)
	}
}

// DocsWanted says whether the tests are asked to write the screenshots
// of the documentation, docs/*.png (GATEHOUSE_DOCS_SCREENSHOTS=1).
func DocsWanted() bool { return os.Getenv("GATEHOUSE_DOCS_SCREENSHOTS") == "1" }

// DocShot saves a full-page PNG as docs/<name>.png, when DocsWanted.
func (p *Page) DocShot(name string) {
	p.T.Helper()
	if !DocsWanted() {
		return
	}
	png, err := p.Screenshot()
	if err != nil {
		p.T.Fatal(err)
	}
	SaveDoc(p.T, name, png)
}

// SaveDoc writes png as docs/<name>.png.
func SaveDoc(t testing.TB, name string, png []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(RepoRoot(t), "docs", name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// WatchConsole fails the test, at its end, with every uncaught exception
// of the page's scripts; with logErrors it logs the console's errors too
// (but a missing favicon's).
func (p *Page) WatchConsole(logErrors bool) {
	t := p.T
	var mu sync.Mutex
	var problems []string
	msgs := chromedp.Console(p.Ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			switch {
			case m.IsException():
				mu.Lock()
				problems = append(problems, fmt.Sprintf("%s (%s:%d)", m.Text, m.URL, m.Line+1))
				mu.Unlock()
			case logErrors && m.Type == chromedp.ConsoleError && !strings.HasSuffix(m.URL, "/favicon.ico"):
				t.Logf("browser console: %s (%s)", m.Text, m.URL)
			}
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range problems {
			t.Errorf("the page threw an uncaught exception: %s", p)
		}
	})
}

// Quote quotes a string for a script.
func Quote(s string) string {
	j, _ := json.Marshal(s)
	return string(j)
}
