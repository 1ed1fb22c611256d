package portal_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowser drives the pages in headless Chromium the way a person would:
// sign in with a team token, create a webhook environment with two sources,
// watch the preview's progress stream to the end, apply, watch again, see
// the endpoint URL, and keep a screenshot.
func TestBrowser(t *testing.T) {
	chromium, err := findChrome()
	if err != nil {
		if os.Getenv("HOOKLINE_REQUIRE_BROWSER") != "" {
			t.Fatalf("%v: make browser installs Debian's chromium, or set HOOKLINE_CHROME to a Chrome or Chromium binary", err)
		}
		t.Skipf("%v: run `make browser` (make test does), or set HOOKLINE_CHROME to a Chrome or Chromium binary", err)
	}
	hs := newPortal(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1200, 900),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
	)
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 4*time.Minute)
	defer cancel()

	step := func(name string, a chromedp.Action[chromedp.Void]) {
		t.Helper()
		if _, err := chromedp.Run(ctx, a); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return v
	}
	step("open", chromedp.Navigate(hs.URL+"/"))
	step("login page", chromedp.WaitVisible("#token"))
	step("type the token", chromedp.SendKeys("#token", tokens["pay"]))
	step("sign in", chromedp.Click("#login"))
	step("stacks page", chromedp.WaitVisible("#sources"))
	step("name the environment", chromedp.SetValue("#env", "web"))
	step("preview", chromedp.Click("#preview"))
	step("preview ends", chromedp.WaitVisible("#apply")) // shown once the stream ended in success
	previewLog := text("#log")
	step("apply", chromedp.Click("#apply"))
	step("apply ends", chromedp.WaitVisible("#endpoint"))
	endpoint, status := text("#endpoint"), text("#status")
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(previewLog, "create aws:sqs/queue:Queue") || !strings.Contains(previewLog, "succeeded") {
		t.Errorf("the preview's progress stream was not shown:\n%s", previewLog)
	}
	if status != "succeeded" || !strings.HasPrefix(endpoint, "https://") || !strings.Contains(endpoint, "execute-api") {
		t.Errorf("status %q, endpoint %q", status, endpoint)
	}
	path := filepath.Join(t.ArtifactDir(), "portal-apply.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// findChrome is HOOKLINE_CHROME when set, else the first Chromium or Chrome
// on PATH.
func findChrome() (string, error) {
	if p := os.Getenv("HOOKLINE_CHROME"); p != "" {
		return exec.LookPath(p)
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no Chromium or Chrome on PATH")
}
