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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/chromedp/chromedp"

	"github.com/hookline/hookline/internal/local/awsfake"
	"github.com/hookline/hookline/portal"
)

// TestBrowser drives the pages in headless Chromium the way a person would:
// sign in with a team token, create a webhook environment with two sources,
// watch the preview's progress stream to the end, apply, watch again, see
// the endpoint URL; then on the environment's page set a signing secret,
// see the DLQ of a source with messages, start a redrive and watch it
// finish; and keep screenshots.
func TestBrowser(t *testing.T) {
	chromium, err := findChrome()
	if err != nil {
		if os.Getenv("HOOKLINE_REQUIRE_BROWSER") != "" {
			t.Fatalf("%v: make browser installs Debian's chromium, or set HOOKLINE_CHROME to a Chrome or Chromium binary", err)
		}
		t.Skipf("%v: run `make browser` (make test does), or set HOOKLINE_CHROME to a Chrome or Chromium binary", err)
	}
	fake := awsfake.New(nil)
	t.Cleanup(fake.Close)
	hs, _, _ := newPortalIn(t, "", t.TempDir(), func(o *portal.Options) {
		o.SQS = func(context.Context, string) (portal.SQSAPI, error) {
			return sqs.New(sqs.Options{Region: "eu-west-1", BaseEndpoint: aws.String(fake.URL), Credentials: aws.AnonymousCredentials{}}), nil
		}
	})
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
	previewLog, previewResult := text("#log"), text("#result")
	if !strings.Contains(previewResult, "Changes by source") || !strings.Contains(previewResult, "orders:") || !strings.Contains(previewResult, "create aws:sqs/queue:Queue hookline-orders-queue") {
		t.Errorf("the preview's changes are not shown by source:\n%s", previewResult)
	}
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
	save := func(name string, shot []byte) {
		t.Helper()
		path := filepath.Join(t.ArtifactDir(), name)
		if err := os.WriteFile(path, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", path)
	}
	save("portal-apply.png", shot)

	// Two messages of source orders wait in its DLQ.
	str := fillDLQ(t, hs, fake, "web", "{}", "signature-mismatch", "cus_1/evt_1", "cus_2/evt_2")

	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	step("environment page", chromedp.Navigate(hs.URL+"/stacks/web"))
	step("source card", chromedp.WaitVisible("#secret-orders"))
	step("type the secret", chromedp.SendKeys("#secret-orders", secret))
	step("set it", chromedp.Click("#set-secret-orders"))
	step("secret set", chromedp.WaitVisible("#notice"))
	notice, depth := text("#notice"), text("#dlq-depth-orders")
	dlq := text("#dlq-orders")
	page, err := chromedp.Run(ctx, chromedp.OuterHTML("html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(notice, "signing secret of orders is set") || strings.Contains(page, secret) {
		t.Errorf("after setting the secret: %q (the page must never show it)", notice)
	}
	if depth != "2" || !strings.Contains(dlq, "cus_1") || !strings.Contains(dlq, "evt_2") || !strings.Contains(dlq, "signature-mismatch") {
		t.Errorf("DLQ of orders: depth %q, table %q", depth, dlq)
	}
	if shot, err = chromedp.Run(ctx, chromedp.FullScreenshot(100)); err != nil {
		t.Fatal(err)
	}
	save("portal-environment.png", shot)
	step("redrive", chromedp.Click("#redrive-orders"))
	step("redrive ends", chromedp.WaitVisible("#status.ok"))
	redriveLog := text("#log")
	if !strings.Contains(redriveLog, "moved 2 message(s)") || len(fake.Queue(str("dlqUrl"))) != 0 || len(fake.Queue(str("queueUrl"))) != 2 {
		t.Errorf("the redrive: %q; DLQ %d, queue %d", redriveLog, len(fake.Queue(str("dlqUrl"))), len(fake.Queue(str("queueUrl"))))
	}
	if shot, err = chromedp.Run(ctx, chromedp.FullScreenshot(100)); err != nil {
		t.Fatal(err)
	}
	save("portal-redrive.png", shot)
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
