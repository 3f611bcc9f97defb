package testenv

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/chromedp/chromedp"
)

// ChromiumPath finds headless Chromium: $SYM_CHROMIUM, else chromium (the
// Debian package), chromium-browser or google-chrome on PATH.
func ChromiumPath() (string, error) {
	if p := os.Getenv("SYM_CHROMIUM"); p != "" {
		return p, nil
	}
	var firstErr error
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		p, err := exec.LookPath(name)
		if err == nil {
			return p, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return "", firstErr
}

// StartBrowser starts a fresh headless Chromium (its own profile directory,
// no network beyond what the pages ask for) and returns a chromedp context
// for one tab. The browser is stopped when the test ends. It fails, never
// skips, when Chromium is missing.
func StartBrowser(tb testing.TB) context.Context {
	tb.Helper()
	path, err := ChromiumPath()
	if err != nil {
		tb.Fatalf("headless Chromium not found (%v): install it with 'apt-get install chromium' or set SYM_CHROMIUM (scripts/check-tools.sh)", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(tb.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	// Start the browser now, so that a failure to start is reported here
	// (with no timeout: the first call's context is the browser's life).
	if err := chromedp.Do(ctx); err != nil {
		cancelTab()
		cancelAlloc()
		tb.Fatalf("start headless Chromium %s: %v", path, err)
	}
	tb.Cleanup(func() {
		cancelTab()
		cancelAlloc() // stops the browser process chromedp started
	})
	return ctx
}

// ArtifactsDir is where a test keeps what a reviewer may want to look at
// afterwards (screenshots): $SYM_TEST_ARTIFACTS/<test name>, by default
// under the system's temp directory. It is emptied when the test starts and
// kept after it ends; the path is logged.
func ArtifactsDir(tb testing.TB) string {
	tb.Helper()
	root := os.Getenv("SYM_TEST_ARTIFACTS")
	if root == "" {
		root = filepath.Join(os.TempDir(), "sym-test-artifacts")
	}
	dir := filepath.Join(root, regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(tb.Name(), "_"))
	_ = os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatalf("create artifacts directory: %v", err)
	}
	tb.Logf("artifacts (screenshots) in %s", dir)
	return dir
}

// NewProfile opens a tab in its own browser context of the browser that
// StartBrowser started: its own cookies, as a second person at another
// computer would have.
func NewProfile(tb testing.TB, browser context.Context) context.Context {
	tb.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	tb.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		tb.Fatalf("open a browser profile: %v", err)
	}
	return ctx
}
