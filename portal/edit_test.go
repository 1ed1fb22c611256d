package portal_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/internal/local/awsfake"
	"github.com/hookline/hookline/internal/testing/harness"
	"github.com/hookline/hookline/portal"
)

// TestBrowserEditDeletesOnlyConfirmed: a team edits its environment on a
// form filled with its current config (not the sample), drops refunds, and
// the preview says "refunds — will be deleted, with its queue and DLQ
// holding 3 messages" (counted in SQS); the apply asks to confirm it by
// name and is refused without the confirmation, then deletes it with it.
// The API asks the same (confirmDeletes, a 409 naming refunds). On the
// environment page a DLQ that cannot be read is "unknown", never "0", and
// the DLQ table's headers never break inside a word.
func TestBrowserEditDeletesOnlyConfirmed(t *testing.T) {
	fake := awsfake.New(nil)
	t.Cleanup(fake.Close)
	var sqsDown atomic.Bool
	hs, _, _ := newPortalIn(t, "", t.TempDir(), func(o *portal.Options) {
		o.Sealer = func(context.Context, string, string) (contract.Sealer, error) { return harness.NewSealer(), nil }
		queues := fakeQueues(fake.URL)
		o.SQS = func(ctx context.Context, region string) (portal.SQSAPI, error) {
			if sqsDown.Load() {
				return nil, errors.New("no route to SQS")
			}
			return queues(ctx, region)
		}
	})
	base := "/api/stacks/pay/web"
	previewAndApply(t, hs, "pay", base, request("web", nil))
	fillDLQ(t, hs, fake, "web", "{}", "signature-mismatch", "cus_1/evt_1", "cus_2/evt_2")
	// refunds holds 2 messages in its queue and 1 in its DLQ.
	_, stack := call(t, hs, "pay", "GET", base, nil)
	refunds := stack["outputs"].(map[string]any)["sources"].(map[string]any)["refunds"].(map[string]any)
	msg := func(id string) awsfake.Message {
		return awsfake.Message{Body: "{}", GroupID: "refunds", DeduplicationID: id, Attributes: map[string]string{contract.AttrSource: "refunds"}}
	}
	fake.AddQueue(refunds["queueUrl"].(string), refunds["queueArn"].(string), msg("a"), msg("b"))
	fake.AddQueue(refunds["dlqUrl"].(string), refunds["dlqArn"].(string), msg("c"))

	c := newChrome(t, hs, "pay")

	// The environment page: the DLQ's table, its headers whole words,
	// at a width where two cards sit side by side.
	c.step("environment page", chromedp.Navigate(hs.URL+"/stacks/web"))
	c.step("the DLQ", chromedp.WaitVisible("#dlq-orders"))
	c.step("two cards wide", chromedp.EmulateViewport(720, 900))
	broken := eval[[]string](c, `[...document.querySelectorAll("#dlq-orders th")].filter(th => {
		const r = document.createRange(); r.selectNodeContents(th); return r.getClientRects().length > 1
	}).map(th => th.textContent)`)
	overflows := eval[bool](c, `document.querySelector("#dlq-orders").getBoundingClientRect().right > document.querySelector("#source-orders").getBoundingClientRect().right + 1`)
	if len(broken) > 0 || overflows {
		c.save("dlq-headers-broken.png")
		t.Errorf("DLQ headers broken across lines: %v; the table wider than its card: %v", broken, overflows)
	}
	c.save("environment-dlq.png")
	c.step("desktop", chromedp.EmulateViewport(1200, 900))
	if got := c.text("#dlq-depth-orders"); got != "2" {
		t.Errorf("orders' DLQ depth: %q", got)
	}

	// SQS unreachable: the depth is unknown, not 0.
	sqsDown.Store(true)
	c.step("environment page, SQS down", chromedp.Navigate(hs.URL+"/stacks/web"))
	c.step("the card", chromedp.WaitVisible("#card-orders"))
	if h := c.text("#dlq-title-orders"); h != "Dead-letter queue: unknown" || !strings.Contains(c.text("#source-orders"), "the DLQ could not be read") {
		t.Errorf("an unreadable DLQ: %q\n%s", h, c.text("#source-orders"))
	}
	c.page("the environment page with SQS down")
	c.save("environment-dlq-unknown.png")
	sqsDown.Store(false)

	// The edit form: the environment's own config.
	c.step("environment page", chromedp.Navigate(hs.URL+"/stacks/web"))
	c.step("edit", chromedp.Click("#edit"))
	c.step("the edit form", chromedp.WaitVisible("#sources"))
	sources := eval[string](c, `document.querySelector("#sources").value`)
	if v := eval[string](c, `document.querySelector("#env").value + "|" + document.querySelector("#region").value + "|" + document.querySelector("#ingress").value`); v != "web|eu-west-1|rest" ||
		!strings.Contains(sources, "name: refunds") || !strings.Contains(sources, "groupBy: header:X-Customer") || strings.Contains(sources, "type: signature") {
		t.Errorf("the edit form is not the environment's config: %s\n%s", v, sources)
	}
	c.page("the edit form")
	c.save("edit-form.png")
	orders, _, _ := strings.Cut(sources, "- name: refunds")
	c.step("drop refunds", chromedp.SetValue("#sources", orders))
	c.step("preview", chromedp.Click("#preview"))
	c.jobEnds("the edit's preview ends", "")
	body := c.page("the preview that deletes refunds")
	want := "refunds — will be deleted, with its queue and DLQ holding 3 messages"
	if c.text("#status") != "succeeded" || !strings.Contains(c.text("#plan-refunds"), want) || !strings.Contains(c.text("#plan-refunds"), "delete hookline-refunds-queue") ||
		!strings.Contains(c.text("#deletes"), want) || strings.Contains(c.text("#plan-stack"), "hookline-refunds") {
		t.Errorf("the preview does not say what is deleted under refunds:\n%s", body)
	}
	c.step("confirmation asked", chromedp.WaitVisible("#confirm-refunds"))
	c.save("edit-preview-deletes.png")

	// Without the confirmation (the browser's own check bypassed) the
	// apply is refused, naming refunds.
	preview := c.jobID()
	eval[bool](c, `document.querySelector("#apply-form").noValidate = true`)
	c.step("apply unconfirmed", chromedp.Click("#apply"))
	c.step("refused", chromedp.WaitVisible("#notice"))
	if n := c.text("#notice"); !strings.Contains(n, "Apply was refused") || !strings.Contains(n, "refunds") || c.jobID() != preview {
		t.Errorf("an unconfirmed apply: %q (job %s)", n, c.jobID())
	}
	c.save("edit-apply-refused.png")

	// The API asks the same.
	dropped := request("web", nil)
	dropped["sources"] = dropped["sources"].([]any)[:1]
	code, v := call(t, hs, "pay", "POST", base+"/apply", dropped)
	if code != http.StatusConflict || v["field"] != "confirmDeletes" || !strings.Contains(fmt.Sprint(v["error"]), "deletes source refunds") || fmt.Sprint(v["sources"]) != "[refunds]" {
		t.Errorf("an API apply that deletes refunds unconfirmed: %d %v", code, v)
	}

	// Confirmed: refunds goes.
	c.step("confirm", chromedp.Click("#confirm-refunds"))
	c.step("apply", chromedp.Click("#apply"))
	c.jobEnds("the apply ends", preview)
	if c.text("#status") != "succeeded" {
		t.Fatalf("the confirmed apply:\n%s", c.page("the confirmed apply"))
	}
	_, stack = call(t, hs, "pay", "GET", base, nil)
	if srcs := stack["outputs"].(map[string]any)["sources"].(map[string]any); srcs["refunds"] != nil || srcs["orders"] == nil {
		t.Errorf("after the confirmed apply: %v", srcs)
	}
	c.save("edit-applied.png")

	// A secret set waits for an apply: the page offers it.
	c.step("environment page", chromedp.Navigate(hs.URL+"/stacks/web"))
	c.step("source card", chromedp.WaitVisible("#secret-orders"))
	c.step("type the secret", chromedp.SendKeys("#secret-orders", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
	c.step("set it", chromedp.Click("#set-secret-orders"))
	c.step("the apply offered", chromedp.WaitVisible("#apply-pending"))
	c.save("secret-apply-offered.png")
	applied := c.jobID()
	c.step("preview the secret", chromedp.Click("#apply-pending"))
	c.jobEnds("the secret's preview ends", applied)
	if !strings.Contains(c.text("#plan-orders"), "create hookline-orders-signing-secret") {
		t.Errorf("the secret's preview:\n%s", c.page("the secret's preview"))
	}
	c.step("apply offered", chromedp.WaitVisible("#apply"))
}
