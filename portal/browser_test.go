package portal_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/internal/local/awsfake"
	"github.com/hookline/hookline/internal/testing/harness"
	"github.com/hookline/hookline/portal"
)

// The sources the browser test asks for: the form's sample.
const (
	twoSources = `- name: orders
  signature: {scheme: standard-webhooks}
  groupBy: header:X-Customer
- name: refunds
  signature: {scheme: github}
`
	// movedSecret names a new parameter for orders' signing secret: the
	// parameter is replaced (its name is immutable in AWS).
	movedSecret = `- name: orders
  signature: {scheme: standard-webhooks, secretParameter: /hookline/pay-web/orders/signing-v2}
  groupBy: header:X-Customer
- name: refunds
  signature: {scheme: github}
`
	// tooManyReceives is refused by the portal's policy config (at most
	// 100; the default retry budget's safety net is 65).
	tooManyReceives = `- name: orders
  signature: {scheme: standard-webhooks}
  groupBy: header:X-Customer
  maxReceiveCount: 200
- name: refunds
  signature: {scheme: github}
`
)

// goFormatting is what a page must never show: Go's default formatting of
// maps, slices and nil.
var goFormatting = regexp.MustCompile(`map\[|<nil>|\[\]|%!`)

// TestBrowser drives the pages in headless Chromium the way a person would:
// sign in, create a webhook environment with two sources, watch the preview
// and then the apply move their progress bars (the apply is caught running:
// the test-double provider holds the event source mappings' creation until
// the test has looked) up to 100 %, read each source's card (endpoint,
// what to paste into the sender, order and duplicates in words); on the
// environment's page set a signing secret, see a DLQ with two messages and
// redrive it; apply the secret, then preview moving it to a new parameter
// (a replacement, called out under its source) and a request the policy
// pack refuses (its finding beside the queue, no Apply); end on the
// overview. Each page's text is checked, the pages are checked at phone
// width, and screenshots are kept as test artifacts.
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
	policy := filepath.Join(t.TempDir(), "policy-config.json")
	if err := os.WriteFile(policy, []byte(`{"max-receive-count": {"maxReceiveCount": 100}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	release := filepath.Join(t.TempDir(), "release-mappings")
	hs, _, _ := newPortalIn(t, policy, t.TempDir(), func(o *portal.Options) {
		o.Sealer = func(context.Context, string, string) (contract.Sealer, error) { return harness.NewSealer(), nil }
		o.SQS = fakeQueues(fake.URL)
		o.Engine.Env = maps.Clone(o.Engine.Env)
		o.Engine.Env["HOOKLINE_FAKE_AWS_HOLD"] = release
		o.Engine.Env["HOOKLINE_FAKE_AWS_HOLD_TYPE"] = "aws:lambda/eventSourceMapping:EventSourceMapping"
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
	ctx, cancel = context.WithTimeout(ctx, 8*time.Minute)
	defer cancel()

	step := func(name string, a chromedp.Action[chromedp.Void]) {
		t.Helper()
		if _, err := chromedp.Run(ctx, a); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.TextContent(sel))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return strings.Join(strings.Fields(v), " ")
	}
	number := func(sel string) int {
		t.Helper()
		n, err := strconv.Atoi(text(sel))
		if err != nil {
			t.Fatalf("%s: %v", sel, err)
		}
		return n
	}
	// waitFor polls a predicate until it holds, across the page loads a
	// form post and a finished job's reload cause.
	waitFor := func(name, predicate string) {
		t.Helper()
		deadline := time.Now().Add(4 * time.Minute)
		for {
			ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+predicate+")"))
			if err == nil && ok {
				return
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				t.Fatalf("%s: %s never held (last error: %v)", name, predicate, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// page checks the whole page's text: no Go formatting, and the
	// counts by operation add up to the total.
	page := func(name string) string {
		t.Helper()
		body := text("body")
		if m := goFormatting.FindString(body); m != "" {
			t.Errorf("%s shows Go formatting %q:\n%s", name, m, body)
		}
		return body
	}
	// opTotals are the counts by operation as the page shows them.
	opTotals := func() (sum int, by map[string]int) {
		t.Helper()
		labels, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#ops li")].map(li => li.textContent)`))
		if err != nil {
			t.Fatal(err)
		}
		by = map[string]int{}
		for _, l := range labels {
			// "create 40 / 78": label, done, total
			f := strings.Fields(strings.ReplaceAll(l, "/", " "))
			n, err := strconv.Atoi(f[len(f)-1])
			if err != nil {
				t.Fatalf("op count %q", l)
			}
			by[f[0]] = n
			sum += n
		}
		return sum, by
	}
	// save keeps a screenshot of the whole page (of the window only with
	// window set: the README's picture).
	save := func(name string, window ...bool) {
		t.Helper()
		shoot := chromedp.FullScreenshot(100)
		if len(window) > 0 {
			shoot = chromedp.CaptureScreenshot()
		}
		shot, err := chromedp.Run(ctx, shoot)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.ArtifactDir(), name)
		if err := os.WriteFile(path, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", path)
	}
	// phone checks a page at a phone's width: nothing wider than the screen.
	phone := func(name string) {
		t.Helper()
		step("phone width", chromedp.EmulateViewport(390, 844))
		wide, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
		if err != nil {
			t.Fatal(err)
		}
		if wide {
			save(name + "-phone.png")
			t.Errorf("%s is wider than a phone's screen (390 px)", name)
		}
		step("desktop width", chromedp.EmulateViewport(1200, 900))
	}
	// jobID is the job of the page shown ("" on other pages).
	jobID := func() string {
		t.Helper()
		id, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#job") ? document.querySelector("#job").dataset.job : ""`))
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	// ends waits until the page shows a job other than was's, ended.
	ends := func(name, was string) {
		t.Helper()
		waitFor(name, `document.querySelector("#job") && document.querySelector("#job").dataset.job !== "`+was+`" && document.querySelector("#job").dataset.status !== "running"`)
	}
	preview := func(name, sources string) {
		t.Helper()
		step("stacks page", chromedp.Navigate(hs.URL+"/stacks"))
		step("the form", chromedp.WaitVisible("#sources"))
		step("name the environment", chromedp.SetValue("#env", "web"))
		step("region", chromedp.SetValue("#region", "eu-west-1"))
		step("describe the sources", chromedp.SetValue("#sources", sources))
		step(name, chromedp.Click("#preview"))
		ends(name+" ends", "")
	}

	step("open", chromedp.Navigate(hs.URL+"/"))
	step("login page", chromedp.WaitVisible("#token"))
	step("type the token", chromedp.SendKeys("#token", tokens["pay"]))
	step("sign in", chromedp.Click("#login"))
	step("signed in", chromedp.WaitVisible("#sources"))

	// 1. The first preview: everything to create, by source.
	preview("preview", twoSources)
	step("apply offered", chromedp.WaitVisible("#apply"))
	body := page("the preview")
	planned := number("#total")
	if sum, by := opTotals(); sum != planned || by["create"] != planned || number("#done") != planned {
		t.Errorf("preview: %d resources, counts by operation %v (sum %d)", planned, by, sum)
	}
	if !strings.Contains(text("#plan-orders"), "hookline-orders-queue") || !strings.Contains(text("#plan-orders"), "hookline-pay-web-orders-dlq-not-empty") ||
		!strings.Contains(text("#plan-refunds"), "hookline-refunds-function") || !strings.Contains(body, "Changes by source") {
		t.Errorf("the preview's changes are not grouped by source:\n%s", body)
	}

	// 2. Apply, from the keyboard; caught while it runs.
	previewJob := jobID()
	step("focus apply", chromedp.Focus("#apply"))
	step("apply", chromedp.KeyEvent(kb.Enter))
	waitFor("the apply runs", `document.querySelector("#job") && document.querySelector("#job").dataset.job !== "`+previewJob+`" && document.querySelector("#job").dataset.status === "running" && +document.querySelector("#done").textContent > 0`)
	applyJob := jobID()
	// Read the page once the apply waits on the held creates (the event
	// source mappings): between two steps the page may, rightly, show no
	// running step, and the counts move while the engine works.
	waitFor("the bar moves and the apply waits on the held creates", `document.querySelector("#progress").value > 0 && document.querySelector("#ops li") && `+
		`document.querySelector("#current").textContent.includes("Now: creating aws:lambda/eventSourceMapping")`)
	running := page("the running apply")
	if sum, by := opTotals(); text("#status") != "running" || number("#total") != planned || number("#done") >= planned ||
		!strings.Contains(running, "resources done") || sum != planned || by["create"] != planned || !strings.Contains(text("#current"), "Now: creating") {
		t.Errorf("the running apply: status %q, %s of %s:\n%s", text("#status"), text("#done"), text("#total"), running)
	}
	save("portal-apply-running.png")
	if err := os.WriteFile(release, nil, 0o644); err != nil { // let the mappings be created
		t.Fatal(err)
	}
	waitFor("the apply ends", `document.querySelector("#job") && document.querySelector("#job").dataset.status !== "running"`)
	if jobID() != applyJob {
		t.Fatalf("the apply's page became job %s", jobID())
	}
	step("cards", chromedp.WaitVisible("#endpoints"))
	body = page("the finished apply")
	if sum, by := opTotals(); text("#status") != "succeeded" || number("#total") != planned || number("#done") != planned || sum != planned ||
		by["create"] != planned || text("#percent") != "100 %" {
		t.Errorf("the finished apply: status %q, %s of %s, counts %v (sum %d), %s", text("#status"), text("#done"), text("#total"), by, sum, text("#percent"))
	}
	endpoint, err := chromedp.Run(ctx, chromedp.Value("#endpoint-orders"))
	if err != nil {
		t.Fatal(err)
	}
	card := text("#card-orders")
	if !strings.HasPrefix(endpoint, "https://") || !strings.Contains(endpoint, "execute-api") || !strings.HasSuffix(endpoint, "/orders") {
		t.Errorf("orders' endpoint %q", endpoint)
	}
	for _, want := range []string{"Paste into the sender's settings", "URL " + endpoint, "Signing secret", "/hookline/pay-web/orders/signing",
		"webhook-signature", "X-Customer header", "within 5 minutes", "Consumer logs", "Dead-letter queue", "Alarms"} {
		if !strings.Contains(card, want) {
			t.Errorf("orders' card lacks %q:\n%s", want, card)
		}
	}
	if !strings.Contains(text("#card-refunds"), "X-Hub-Signature-256") {
		t.Errorf("refunds' card: %s", text("#card-refunds"))
	}
	save("portal-apply.png")
	save("portal-apply-window.png", true) // docs/portal-apply.png
	phone("the finished apply")

	// 3. The environment: a signing secret, the DLQ, a redrive.
	str := fillDLQ(t, hs, fake, "web", "{}", "signature-mismatch", "cus_1/evt_1", "cus_2/evt_2")
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	step("environment page", chromedp.Navigate(hs.URL+"/stacks/web"))
	step("source card", chromedp.WaitVisible("#secret-orders"))
	step("type the secret", chromedp.SendKeys("#secret-orders", secret))
	step("set it", chromedp.Click("#set-secret-orders"))
	step("secret set", chromedp.WaitVisible("#notice"))
	notice, depth, dlq := text("#notice"), text("#dlq-depth-orders"), text("#dlq-orders")
	html, err := chromedp.Run(ctx, chromedp.OuterHTML("html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(notice, "signing secret of orders is set") || strings.Contains(html, secret) {
		t.Errorf("after setting the secret: %q (the page must never show it)", notice)
	}
	if depth != "2" || !strings.Contains(dlq, "cus_1") || !strings.Contains(dlq, "evt_2") || !strings.Contains(dlq, "signature-mismatch") {
		t.Errorf("DLQ of orders: depth %q, table %q", depth, dlq)
	}
	if sum := text("#summary"); !regexp.MustCompile(`^2 source\(s\), \d+ resources, about \$\d+\.\d\d / month at 1 webhook/s per source; last job: apply succeeded `).MatchString(sum) ||
		!strings.Contains(sum, strconv.Itoa(planned)+" resources") {
		t.Errorf("the environment's summary: %q", sum)
	}
	if v, _ := chromedp.Run(ctx, chromedp.Value("#endpoint-orders")); v != endpoint {
		t.Errorf("the environment page's card shows endpoint %q, the apply %q", v, endpoint)
	}
	page("the environment page")
	save("portal-environment.png")
	phone("the environment page")
	step("redrive", chromedp.Click("#redrive-orders"))
	ends("the redrive ends", "")
	if text("#status") != "succeeded" || number("#done") != 2 || number("#total") != 2 || !strings.Contains(text("#counts"), "messages") ||
		!strings.Contains(text("#log"), "moved 2 message(s)") || len(fake.Queue(str("dlqUrl"))) != 0 || len(fake.Queue(str("queueUrl"))) != 2 {
		t.Errorf("the redrive: %s, %s; %q; DLQ %d, queue %d", text("#status"), text("#counts"), text("#log"), len(fake.Queue(str("dlqUrl"))), len(fake.Queue(str("queueUrl"))))
	}
	page("the redrive")
	save("portal-redrive.png")

	// 4. The secret goes out with the next apply: one resource to create,
	// the rest unchanged, and the counts still add up.
	preview("the secret's preview", twoSources)
	step("apply offered", chromedp.WaitVisible("#apply"))
	if _, by := opTotals(); by["create"] != 1 || !strings.Contains(text("#plan-orders"), "create hookline-orders-signing-secret") {
		t.Errorf("the secret's preview: %v\n%s", by, text("#plan-orders"))
	}
	withSecret, secretPreview := number("#total"), jobID()
	step("apply the secret", chromedp.Click("#apply"))
	ends("the secret's apply ends", secretPreview)
	if sum, by := opTotals(); text("#status") != "succeeded" || sum != withSecret || number("#done") != withSecret || by["unchanged"] != planned {
		t.Errorf("the secret's apply: %s, %v of %d", text("#status"), by, withSecret)
	}

	// 5. Moving the secret to a new parameter replaces it: under orders,
	// called out.
	preview("the replacing preview", movedSecret)
	step("apply offered", chromedp.WaitVisible("#apply"))
	orders := text("#plan-orders")
	if !strings.Contains(orders, "replacement(s)") || !strings.Contains(orders, "replace hookline-orders-signing-secret") ||
		!strings.Contains(orders, "written under its new name") || strings.Contains(text("#plan-refunds"), "replace") {
		t.Errorf("the replacement is not called out under orders:\n%s", page("the replacing preview"))
	}

	// 6. A request the policy pack refuses: the finding beside the queue it
	// concerns, and no Apply.
	preview("the blocked preview", tooManyReceives)
	step("why", chromedp.WaitVisible("#apply-unavailable"))
	body = page("the blocked preview")
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#apply, #apply-form").length`)); err != nil || n != 0 {
		t.Errorf("a blocked preview offers Apply (%d, %v)", n, err)
	}
	if !strings.Contains(text("#apply-unavailable"), "max-receive-count on hookline-orders-queue") ||
		!strings.Contains(text("#plan-orders"), "mandatory max-receive-count on hookline-orders-queue: queue hookline-orders-queue redrives after 200 receives") ||
		!strings.Contains(text("#plan-orders"), "Why: ") {
		t.Errorf("the blocked preview:\n%s", body)
	}
	save("portal-blocked-preview.png")

	// 7. The overview: the environment's last job, sources, update, cost.
	step("overview", chromedp.Navigate(hs.URL+"/stacks"))
	step("the table", chromedp.WaitVisible("#stack-pay-web"))
	row := text("#stack-pay-web")
	if !regexp.MustCompile(`pay-web preview failed \d{4}-\d\d-\d\d \d\d:\d\d UTC 2 \d{4}-\d\d-\d\d \d\d:\d\d UTC \$\d+\.\d\d / month at \d`).MatchString(row) {
		t.Errorf("the overview's row: %q", row)
	}
	page("the overview")
	save("portal-overview.png")
	phone("the overview")

	// 8. Without JavaScript the finished apply reads the same: the server
	// renders the bar, the counts and the cards; the copy buttons, which
	// need a script, stay hidden.
	step("scripts off", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	}))
	step("the apply's page without scripts", chromedp.Navigate(hs.URL+"/jobs/"+applyJob))
	step("its cards", chromedp.WaitVisible("#card-orders"))
	if v, _ := chromedp.Run(ctx, chromedp.Value("#endpoint-orders")); v != endpoint || !strings.HasPrefix(text("#counts"), fmt.Sprintf("%d of %d resources done", planned, planned)) || text("#percent") != "100 %" {
		t.Errorf("without scripts: endpoint %q, %q, %q", v, text("#counts"), text("#percent"))
	}
	step("no copy button without a script", chromedp.WaitNotVisible("#card-orders button.copy"))
	page("the apply without scripts")
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
