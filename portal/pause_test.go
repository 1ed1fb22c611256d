package portal_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/chromedp/chromedp"

	"github.com/hookline/hookline/internal/local/awsfake"
	"github.com/hookline/hookline/internal/testing/harness"
	"github.com/hookline/hookline/portal"
)

// pauseStack is tokenStack's applied env dev with a portal whose Lambda
// client is the fake, serving orders' event source mapping (enabled).
func pauseStack(t *testing.T) (*httptest.Server, *awsfake.Server) {
	t.Helper()
	hs, _, _, fake := tokenStack(t, func(o *portal.Options, fake *awsfake.Server) {
		o.Lambda = func(context.Context, string) (portal.LambdaAPI, error) {
			return lambda.New(lambda.Options{Region: "eu-west-1", BaseEndpoint: aws.String(fake.URL), Credentials: aws.AnonymousCredentials{},
				HTTPClient: harness.FreshConnections()}), nil
		}
	})
	_, stack := call(t, hs, "pay", "GET", "/api/stacks/pay/dev", nil)
	orders, _ := stack["outputs"].(map[string]any)["sources"].(map[string]any)["orders"].(map[string]any)
	fn, _ := orders["functionName"].(string)
	arn, _ := orders["queueArn"].(string)
	if fn == "" || arn == "" {
		t.Fatalf("orders' outputs: %v", orders)
	}
	fake.AddMapping(awsfake.Mapping{UUID: "m-orders", FunctionName: fn, EventSourceArn: arn, State: "Enabled"})
	return hs, fake
}

// TestPauseResumeAPI: a team pauses a deployed source (its event source
// mapping disabled at once), a second pause changes nothing, a resume
// enables it again; another team, an unknown source and a source without
// a mapping are refused with their statuses.
func TestPauseResumeAPI(t *testing.T) {
	hs, fake := pauseStack(t)
	state := func() string { return fake.Mappings()[0].State }

	code, v := call(t, hs, "pay", "POST", "/api/stacks/pay/dev/sources/orders/pause", nil)
	if code != http.StatusOK || v["paused"] != true || v["changed"] != true || v["source"] != "orders" || state() != "Disabled" {
		t.Fatalf("pause: %d %v; mapping %s", code, v, state())
	}
	if code, v := call(t, hs, "pay", "POST", "/api/stacks/pay/dev/sources/orders/pause", nil); code != http.StatusOK || v["paused"] != true || v["changed"] != false {
		t.Errorf("a second pause: %d %v", code, v)
	}
	code, v = call(t, hs, "pay", "POST", "/api/stacks/pay/dev/sources/orders/resume", nil)
	if code != http.StatusOK || v["paused"] != false || v["changed"] != true || state() != "Enabled" {
		t.Errorf("resume: %d %v; mapping %s", code, v, state())
	}
	for _, tc := range []struct {
		name, who, path, want string
		code                  int
	}{
		{"another team", "ops", "/api/stacks/pay/dev/sources/orders/pause", "", http.StatusNotFound},
		{"no such source", "pay", "/api/stacks/pay/dev/sources/nope/pause", "no deployed source nope", http.StatusNotFound},
		{"no mapping", "pay", "/api/stacks/pay/dev/sources/refunds/pause", "no event source mapping", http.StatusNotFound},
		{"not a source name", "pay", "/api/stacks/pay/dev/sources/No_Such/resume", "not a source name", http.StatusBadRequest},
		{"no token", "", "/api/stacks/pay/dev/sources/orders/pause", "", http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, v := call(t, hs, tc.who, "POST", tc.path, nil)
			if msg, _ := v["error"].(string); code != tc.code || !strings.Contains(msg, tc.want) {
				t.Errorf("%d %v, want %d %q", code, v, tc.code, tc.want)
			}
		})
	}
	if state() != "Enabled" {
		t.Errorf("a refused request changed the mapping: %s", state())
	}
}

// TestPauseOffline: in the no-AWS mode a pause or resume is refused (503)
// with the sentence the other AWS operations use.
func TestPauseOffline(t *testing.T) {
	hs := offlinePortal(t)
	for _, op := range []string{"pause", "resume"} {
		code, v := call(t, hs, "pay", "POST", "/api/stacks/pay/web/sources/orders/"+op, nil)
		if msg, _ := v["error"].(string); code != http.StatusServiceUnavailable || !strings.Contains(msg, "no-AWS mode") || !strings.Contains(msg, "AWS credentials") {
			t.Errorf("%s in no-AWS mode: %d %v", op, code, v)
		}
	}
}

// TestBrowserPause: the environment page shows a deployed source running
// with a Pause button; pausing shows it paused (the mapping disabled) with
// Resume; resuming shows it running again.
func TestBrowserPause(t *testing.T) {
	hs, fake := pauseStack(t)
	c := newChrome(t, hs, "pay")
	c.step("environment page", chromedp.Navigate(hs.URL+"/stacks/dev"))
	c.step("orders' card", chromedp.WaitVisible("#pause-orders"))
	if got := c.text("#pause-state-orders"); got != "running" {
		t.Errorf("orders before the pause: %q", got)
	}
	c.step("pause", chromedp.Click("#pause-orders"))
	c.step("paused", chromedp.WaitVisible("#resume-orders"))
	if got := c.text("#pause-state-orders"); got != "paused" || !strings.Contains(c.text("#notice"), "orders is paused") ||
		!strings.Contains(c.text("#paused-orders"), "wait, in order, in the queue") || fake.Mappings()[0].State != "Disabled" {
		t.Errorf("after the pause: %q, %q; mapping %s", got, c.text("#notice"), fake.Mappings()[0].State)
	}
	c.page("the paused source")
	c.save("pause-paused.png")
	c.step("resume", chromedp.Click("#resume-orders"))
	c.step("running", chromedp.WaitVisible("#pause-orders"))
	if got := c.text("#pause-state-orders"); got != "running" || !strings.Contains(c.text("#notice"), "orders is resumed") || fake.Mappings()[0].State != "Enabled" {
		t.Errorf("after the resume: %q, %q; mapping %s", got, c.text("#notice"), fake.Mappings()[0].State)
	}
	c.save("pause-resumed.png")
}
