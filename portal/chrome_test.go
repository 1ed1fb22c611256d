package portal_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chrome is a headless Chromium on a portal, with the steps the page tests
// share: each fails the test naming what it was doing.
type chrome struct {
	t   *testing.T
	ctx context.Context
	url string
}

// newChrome starts a headless Chromium for hs (skipped without one unless
// HOOKLINE_REQUIRE_BROWSER is set) and signs in as who.
func newChrome(t *testing.T, hs *httptest.Server, who string) *chrome {
	t.Helper()
	chromium, err := findChrome()
	if err != nil {
		if os.Getenv("HOOKLINE_REQUIRE_BROWSER") != "" {
			t.Fatalf("%v: make browser installs Debian's chromium, or set HOOKLINE_CHROME", err)
		}
		t.Skipf("%v: run `make browser`, or set HOOKLINE_CHROME to a Chrome or Chromium binary", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1200, 900),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
	)
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	ctx, cancel = context.WithTimeout(ctx, 8*time.Minute)
	t.Cleanup(cancel)
	c := &chrome{t: t, ctx: ctx, url: hs.URL}
	c.step("open", chromedp.Navigate(hs.URL+"/"))
	c.step("login page", chromedp.WaitVisible("#token"))
	c.step("type the token", chromedp.SendKeys("#token", tokens[who]))
	c.step("sign in", chromedp.Click("#login"))
	c.step("signed in", chromedp.WaitVisible("#sources"))
	return c
}

func (c *chrome) step(name string, a chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	if _, err := chromedp.Run(c.ctx, a); err != nil {
		c.t.Fatalf("%s: %v", name, err)
	}
}

// text is an element's text, its white space folded.
func (c *chrome) text(sel string) string {
	c.t.Helper()
	v, err := chromedp.Run(c.ctx, chromedp.TextContent(sel))
	if err != nil {
		c.t.Fatalf("read %s: %v", sel, err)
	}
	return strings.Join(strings.Fields(v), " ")
}

// eval evaluates a script to a value of type T.
func eval[T any](c *chrome, script string) T {
	c.t.Helper()
	v, err := chromedp.Run(c.ctx, chromedp.Evaluate[T](script))
	if err != nil {
		c.t.Fatalf("%s: %v", script, err)
	}
	return v
}

// waitFor polls a predicate until it holds, across page loads.
func (c *chrome) waitFor(name, predicate string) {
	c.t.Helper()
	deadline := time.Now().Add(4 * time.Minute)
	for {
		ok, err := chromedp.Run(c.ctx, chromedp.Evaluate[bool]("!!("+predicate+")"))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) || c.ctx.Err() != nil {
			c.t.Fatalf("%s: %s never held (last error: %v)", name, predicate, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// jobEnds waits until the page shows an ended job other than was.
func (c *chrome) jobEnds(name, was string) {
	c.t.Helper()
	c.waitFor(name, `document.querySelector("#job") && document.querySelector("#job").dataset.job !== "`+was+`" && document.querySelector("#job").dataset.status !== "running"`)
}

// jobID is the job of the page shown ("" on other pages).
func (c *chrome) jobID() string {
	c.t.Helper()
	return eval[string](c, `document.querySelector("#job") ? document.querySelector("#job").dataset.job : ""`)
}

// save keeps a screenshot of the whole page in the test's artifact
// directory (go test -artifacts keeps it) and logs its path.
func (c *chrome) save(name string) {
	c.t.Helper()
	shot, err := chromedp.Run(c.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		c.t.Fatal(err)
	}
	path := filepath.Join(c.t.ArtifactDir(), name)
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		c.t.Fatal(err)
	}
	c.t.Logf("screenshot: %s", path)
}

// page is the whole page's text; it must never show Go's formatting, a
// config key's namespace, a stack file or an engine's raw failure.
func (c *chrome) page(name string) string {
	c.t.Helper()
	body := c.text("body")
	if m := goFormatting.FindString(body); m != "" {
		c.t.Errorf("%s shows Go formatting %q:\n%s", name, m, body)
	}
	for _, raw := range []string{"hookline:ingress", "hookline:sources", "Pulumi.pay-", `exec: "pulumi"`, "IMDS", "executable file not found"} {
		if strings.Contains(body, raw) {
			c.t.Errorf("%s shows %q, which a portal user never has:\n%s", name, raw, body)
		}
	}
	return body
}
