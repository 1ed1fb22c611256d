package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/handler/build"
	"github.com/hookline/hookline/handler/telemetry"
	"github.com/hookline/hookline/internal/local/awsfake"
	"github.com/hookline/hookline/internal/local/lambdaemu"
	"github.com/hookline/hookline/internal/testing/harness"
)

// functionLines are the lines the function itself wrote (JSON objects), not
// the emulator's own.
func functionLines(logs string) []string {
	var out []string
	for _, l := range strings.Split(logs, "\n") {
		if strings.HasPrefix(l, "{") {
			out = append(out, l)
		}
	}
	return out
}

// githubSpec is the contract of a GitHub source grouped by hook.
var githubSpec = contract.Spec{Source: "github", SignatureHeaders: contract.SchemeGitHub.SignatureHeaders(""),
	EventID: contract.SchemeGitHub.DefaultEventID(), ContentTypes: []string{"application/json"},
	GroupBy: contract.Selector{Kind: contract.KindHeader, Name: "X-GitHub-Hook-ID"}}

// githubBatch is n genuine GitHub deliveries, as the edge queues them.
func githubBatch(t testing.TB, secret string, first, n int, now time.Time) []events.SQSMessage {
	var out []events.SQSMessage
	for i := first; i < first+n; i++ {
		body := fmt.Sprintf(`{"action":"opened","number":%d,"repository":{"full_name":"acme/api"}}`, i)
		id := fmt.Sprintf("72d3162e-cc78-11e3-81ab-%012d", i)
		out = append(out, githubSpec.Simulate(contract.Request{Headers: map[string]string{
			"Content-Type": "application/json", "User-Agent": "GitHub-Hookshot/abc123", "X-GitHub-Event": "pull_request",
			"X-GitHub-Hook-ID": "4242", "X-GitHub-Delivery": id, "X-Hub-Signature-256": signGitHub(secret, []byte(body)),
		}, Body: []byte(body), ReceivedAt: now}, fmt.Sprintf("0f1e2d3c-4b5a-6978-8796-%012d", i)))
	}
	return out
}

// measureLogBytes runs the real handler binary under the emulator with the
// given extra environment and returns, per batch size, the bytes the
// function wrote for one invocation of that many genuine deliveries.
func measureLogBytes(t *testing.T, rie, bootstrap string, sizes []int, extra ...string) map[int]int {
	t.Helper()
	const secret = "github-webhook-secret"
	cfg := contract.HandlerConfig{Source: "github", Scheme: contract.SchemeGitHub, SecretParameter: "/hookline/test/github/signing-secret",
		Tolerance: 5 * time.Minute, Processor: contract.ProcessorLog, OpenEdge: true}
	aws := awsfake.New(map[string]string{cfg.SecretParameter: secret})
	t.Cleanup(aws.Close)
	cfg.Attributes = githubSpec.Attributes()
	ctx, emu, _ := startHandler(t, rie, bootstrap, aws, cfg, extra...)
	out := map[int]int{}
	first := 0
	for i, n := range sizes {
		before := len(functionLines(emu.Logs()))
		if failed := invokeBatch(t, ctx, emu, githubBatch(t, secret, first, n, time.Now())); len(failed) != 0 {
			t.Fatalf("%v retried: want every record acknowledged\n%s", failed, emu.Logs())
		}
		first += n
		// Output is forwarded asynchronously: every invocation ends with
		// its metrics document.
		if !emu.WaitForLog(`"CloudWatchMetrics"`, i+1, 5*time.Second) {
			t.Fatalf("no metrics document for invocation %d\n%s", i+1, emu.Logs())
		}
		time.Sleep(50 * time.Millisecond)
		bytes := 0
		for _, l := range functionLines(emu.Logs())[before:] {
			bytes += len(l) + 1
		}
		out[n] = bytes
		if testing.Verbose() {
			t.Logf("batch of %d:\n%s", n, strings.Join(functionLines(emu.Logs())[before:], "\n"))
		}
	}
	return out
}

// TestLogBytesPerWebhook measures, from the real handler binary's output
// under the emulator, the bytes an invocation of 1, 5 and 10 genuine
// deliveries writes to CloudWatch Logs (the batch sizes hookline cost
// prices at 1, 10 and 100 webhooks/s), and checks they are exactly what the
// cost model prices (telemetry.OKBatchBytes): one metrics document an
// invocation, no line per ok delivery. At DEBUG every delivery gets its
// line; its figure is reported beside.
func TestLogBytesPerWebhook(t *testing.T) {
	rie, err := lambdaemu.FindRIE("..")
	if err != nil {
		t.Skipf("%v (make test installs it)", err)
	}
	bootstrap := harness.Bootstrap(t, build.Emulator)
	sizes := []int{1, 5, 10}
	got := measureLogBytes(t, rie, bootstrap, sizes)
	debug := measureLogBytes(t, rie, bootstrap, sizes, "AWS_LAMBDA_LOG_LEVEL=DEBUG")
	for _, n := range sizes {
		t.Logf("batch of %2d: %4d bytes an invocation, %5.1f a webhook (at DEBUG: %4d, %5.1f)",
			n, got[n], float64(got[n])/float64(n), debug[n], float64(debug[n])/float64(n))
		if want := telemetry.OKBatchBytes("github", n); got[n] != want {
			t.Errorf("batch of %d: the binary wrote %d bytes, the cost model prices %d", n, got[n], want)
		}
		if debug[n] <= got[n] {
			t.Errorf("batch of %d: DEBUG wrote %d bytes, no more than INFO's %d", n, debug[n], got[n])
		}
	}
}
