package main

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/handler/build"
	"github.com/hookline/hookline/handler/seal"
	"github.com/hookline/hookline/handler/signature"
	"github.com/hookline/hookline/internal/local/awsfake"
	"github.com/hookline/hookline/internal/local/lambdaemu"
	"github.com/hookline/hookline/internal/testing/harness"
	"github.com/hookline/hookline/internal/testing/kmspeer"
)

const (
	testSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	forwardSecret = "whsec_Zm9yd2FyZC1zZWNyZXQtZm9yLXRlc3Rz"
)

// TestUnderEmulator runs the real handler binary under the Lambda Runtime
// Interface Emulator, with its SSM and SQS calls served by awsfake and the
// forward processor posting to a local TLS receiver, and checks the exact
// batchItemFailures of a batch that mixes groups, a forged signature, a stale
// timestamp and a processor failure.
func TestUnderEmulator(t *testing.T) {
	rie, err := lambdaemu.FindRIE("..")
	if err != nil {
		t.Skipf("%v (make test installs it)", err)
	}

	// The receiver of the forward processor: fails event a2 with a 500.
	var mu sync.Mutex
	var received []string
	receiver := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		v, _ := signature.New(contract.SchemeStandardWebhooks, signature.Options{})
		if err := v.Verify(httpHeaders(r.Header), body, []string{forwardSecret}, time.Now()); err != nil {
			http.Error(w, "bad signature", 401)
			return
		}
		id := r.Header.Get("webhook-id")
		if id == "a2" {
			http.Error(w, "down", 500)
			return
		}
		mu.Lock()
		received = append(received, id)
		mu.Unlock()
		w.WriteHeader(204)
	}))
	defer receiver.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: receiver.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}

	aws := awsfake.New(map[string]string{
		"/hookline/test/partners/signing-secret": testSecret,
		"/hookline/test/partners/forward-secret": forwardSecret,
	})
	defer aws.Close()

	cfg := contract.HandlerConfig{
		Source: "partners", Scheme: contract.SchemeStandardWebhooks,
		SecretParameter: "/hookline/test/partners/signing-secret", Tolerance: 5 * time.Minute,
		Processor: "forward", ForwardURL: receiver.URL + "/hooks", ForwardSecret: "/hookline/test/partners/forward-secret",
		ForwardTimeout: 5 * time.Second, Attributes: partners.Attributes(),
	}
	bootstrap := harness.Bootstrap(t, build.Emulator) // built before the deadline starts
	ctx, emu, dlq := startHandler(t, rie, bootstrap, aws, cfg, "SSL_CERT_FILE="+caFile)

	now := time.Now()
	forged := record(t, "B", "b1", now)
	forged.Body = `{"amount":1000000}`
	ev := events.SQSEvent{Records: []events.SQSMessage{
		record(t, "A", "a1", now),
		forged,
		record(t, "A", "a2", now), // the receiver fails it: retry
		recordReceived(t, "C", "c1", now.Add(-10*time.Minute), now), // signed 10 min before it arrived
		record(t, "A", "a3", now),                                   // after a2 in group A: not processed
		record(t, "B", "b2", now),
	}}
	failed := invokeBatch(t, ctx, emu, ev.Records)
	if strings.Join(failed, ",") != "m-a2,m-a3" {
		t.Errorf("batchItemFailures = %v, want [m-a2 m-a3]\n%s", failed, emu.Logs())
	}
	mu.Lock()
	sort.Strings(received)
	if strings.Join(received, ",") != "a1,b2" {
		t.Errorf("forwarded %v, want a1 and b2", received)
	}
	mu.Unlock()

	reasons := map[string]string{}
	for _, s := range aws.Sent() {
		if s.QueueURL != dlq {
			t.Errorf("sent to %s", s.QueueURL)
		}
		reasons[s.Attributes[contract.AttrEventID]] = s.Attributes[contract.AttrFailureReason]
	}
	if reasons["b1"] != "signature-mismatch" || reasons["c1"] != "signature-stale" || len(reasons) != 2 {
		t.Errorf("moved to the DLQ: %v", reasons)
	}
	// The emulator forwards output asynchronously: wait for the last lines.
	// At the default level only the four records that were not ok get a
	// line (a1 and b2 are counted by the metrics alone).
	emu.WaitForLog(`"outcome":`, 4, 5*time.Second)
	emu.WaitForLog(`"CloudWatchMetrics"`, 1, 5*time.Second)
	logs := emu.Logs()
	if strings.Contains(logs, testSecret) || strings.Contains(logs, forwardSecret) || strings.Contains(logs, "v1,") {
		t.Error("a secret or a signature reached the logs")
	}
	if n := strings.Count(logs, `"outcome":`); n != 4 || strings.Contains(logs, `"outcome":"ok"`) {
		t.Errorf("%d outcome lines for the 4 records that were not ok, want exactly those\n%s", n, logs)
	}
	if !strings.Contains(logs, `"_aws":{"CloudWatchMetrics"`) && !strings.Contains(logs, `"CloudWatchMetrics"`) {
		t.Error("no EMF metrics in the function output")
	}
}

type httpHeaders http.Header

func (h httpHeaders) Header(name string) string { return http.Header(h).Get(name) }

var partners = contract.Spec{
	Source: "partners", GroupBy: contract.Selector{Kind: contract.KindHeader, Name: "X-Account"},
	EventID:          contract.SchemeStandardWebhooks.DefaultEventID(),
	SignatureHeaders: contract.SchemeStandardWebhooks.SignatureHeaders(""),
	ContentTypes:     []string{"application/json"},
}

// signStandardWebhooks, signGitHub and signStripe are what those senders
// put in their signature header, signed through the contract's scheme table.
func signStandardWebhooks(secret, id string, ts int64, body []byte) (string, error) {
	return signHeader(contract.SchemeStandardWebhooks, secret, contract.Delivery{ID: id, At: time.Unix(ts, 0), Body: body}, contract.HeaderWebhookSignature)
}

func signGitHub(secret string, body []byte) string {
	v, _ := signHeader(contract.SchemeGitHub, secret, contract.Delivery{Body: body}, contract.HeaderGitHubSignature)
	return v
}

func signStripe(secret string, ts int64, body []byte) string {
	v, _ := signHeader(contract.SchemeStripe, secret, contract.Delivery{At: time.Unix(ts, 0), Body: body}, contract.HeaderStripeSignature)
	return v
}

// signHeader is a sender's header of scheme s with its default options.
func signHeader(s contract.Scheme, secret string, d contract.Delivery, header string) (string, error) {
	return harness.SignHeader(s, contract.SchemeOptions{}, secret, d, header)
}

func record(t *testing.T, group, id string, at time.Time) events.SQSMessage {
	return recordReceived(t, group, id, at, at)
}

func recordReceived(t *testing.T, group, id string, at, receivedAt time.Time) events.SQSMessage {
	body := fmt.Sprintf(`{"type":"invoice.paid","id":%q}`, id)
	sig, err := signStandardWebhooks(testSecret, id, at.Unix(), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return partners.Simulate(contract.Request{
		Headers: map[string]string{"x-account": group, "Content-Type": "application/json",
			"webhook-id": id, "webhook-timestamp": fmt.Sprint(at.Unix()), "webhook-signature": sig},
		Body: []byte(body), RequestID: "req-" + id, SourceIP: "198.51.100.1", ReceivedAt: receivedAt,
	}, "m-"+id)
}

// TestHeaderlessSendersUnderEmulator runs the real handler binary under the
// emulator for the senders that can only be given a URL and a secret: a
// GitHub source open at the edge (auth signature) and a Stripe source behind
// a token. Real-shaped deliveries (only the headers GitHub and Stripe send)
// verify and are acknowledged; on the open source a forged delivery is
// dropped and counted, and nothing reaches the DLQ.
func TestHeaderlessSendersUnderEmulator(t *testing.T) {
	rie, err := lambdaemu.FindRIE("..")
	if err != nil {
		t.Skipf("%v (make test installs it)", err)
	}
	bootstrap := harness.Bootstrap(t, build.Emulator) // built before any deadline starts
	const ghSecret, stSecret = "github-webhook-secret", "whsec_stripe_endpoint_secret"
	now := time.Now()
	ghBody := `{"action":"opened","number":7,"repository":{"full_name":"acme/api"}}`
	stBody := `{"id":"evt_1N","type":"invoice.paid","data":{"object":{"customer":"cus_9"}}}`
	for _, tc := range []struct {
		name string
		cfg  contract.HandlerConfig
	}{
		{
			name: "github-signature",
			cfg:  contract.HandlerConfig{Source: "github", Scheme: contract.SchemeGitHub, SecretParameter: "/hookline/test/github/signing-secret", Tolerance: 5 * time.Minute, Processor: contract.ProcessorLog, OpenEdge: true},
		},
		{
			name: "stripe-token",
			cfg:  contract.HandlerConfig{Source: "payments", Scheme: contract.SchemeStripe, SecretParameter: "/hookline/test/payments/signing-secret", Tolerance: 5 * time.Minute, Processor: contract.ProcessorLog},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := contract.Spec{Source: tc.cfg.Source, SignatureHeaders: tc.cfg.Scheme.SignatureHeaders(""),
				EventID: tc.cfg.Scheme.DefaultEventID(), ContentTypes: []string{"application/json"}}
			var records []events.SQSMessage
			forged := 0
			if tc.cfg.Scheme == contract.SchemeGitHub {
				spec.GroupBy = contract.Selector{Kind: contract.KindHeader, Name: "X-GitHub-Hook-ID"}
				deliver := func(id, sig string) events.SQSMessage {
					return spec.Simulate(contract.Request{Headers: map[string]string{
						"Content-Type": "application/json", "User-Agent": "GitHub-Hookshot/abc123", "X-GitHub-Event": "pull_request",
						"X-GitHub-Hook-ID": "4242", "X-GitHub-Delivery": id, "X-Hub-Signature-256": sig,
					}, Body: []byte(ghBody), ReceivedAt: now}, "m-"+id)
				}
				records = append(records, deliver("72d3162e-cc78-11e3-81ab-4c9367dc0958", signGitHub(ghSecret, []byte(ghBody))))
				for i := 0; i < 5; i++ {
					records = append(records, deliver(fmt.Sprintf("forged-%d", i), signGitHub("guessed", []byte(ghBody))))
					forged++
				}
			} else {
				spec.GroupBy = contract.Selector{Kind: contract.KindBody, Name: "$.data.object.customer"}
				records = append(records, spec.Simulate(contract.Request{Headers: map[string]string{
					"Content-Type": "application/json; charset=utf-8", "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
					"Stripe-Signature": signStripe(stSecret, now.Unix(), []byte(stBody)),
				}, Body: []byte(stBody), ReceivedAt: now}, "m-evt_1N"))
			}

			tc.cfg.Attributes = spec.Attributes()
			aws := awsfake.New(map[string]string{tc.cfg.SecretParameter: map[bool]string{true: ghSecret, false: stSecret}[tc.cfg.Scheme == contract.SchemeGitHub]})
			defer aws.Close()
			ctx, emu, _ := startHandler(t, rie, bootstrap, aws, tc.cfg, "AWS_LAMBDA_LOG_LEVEL=DEBUG") // every record's line
			if failed := invokeBatch(t, ctx, emu, records); len(failed) != 0 {
				t.Fatalf("%v retried: want every record acknowledged\n%s", failed, emu.Logs())
			}
			if sent := aws.Sent(); len(sent) != 0 {
				t.Errorf("%d messages sent to the DLQ, want none", len(sent))
			}
			emu.WaitForLog(`"outcome":`, len(records), 5*time.Second)
			emu.WaitForLog(`"CloudWatchMetrics"`, 1, 5*time.Second)
			logs := emu.Logs()
			if n := strings.Count(logs, `"outcome":"ok"`); n != 1 {
				t.Errorf("%d records ok, want the one genuine delivery\n%s", n, logs)
			}
			if n := strings.Count(logs, `"outcome":"dropped"`); n != forged {
				t.Errorf("%d dropped, want %d forged", n, forged)
			}
			if forged > 0 && !strings.Contains(logs, fmt.Sprintf(`"Forged":%d`, forged)) {
				t.Errorf("no Forged metric of %d in the output", forged)
			}
		})
	}
}

// invokeBatch sends records to the handler under the emulator as one SQS
// event and returns the message ids it asks SQS to deliver again. A failed
// invocation, or a response that is not a batch response, fails the test.
func invokeBatch(t *testing.T, ctx context.Context, emu *lambdaemu.Emulator, records []events.SQSMessage) []string {
	t.Helper()
	payload, _ := json.Marshal(events.SQSEvent{Records: records})
	out, err := emu.Invoke(ctx, payload)
	if err != nil {
		t.Fatalf("%v\n%s", err, emu.Logs())
	}
	var resp events.SQSEventResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("response %s: %v\n%s", out, err, emu.Logs())
	}
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	return failed
}

// startHandler runs a built handler bootstrap under the emulator with the
// source's configuration, awsfake's endpoints, the source's DLQ URL and any
// extra NAME=value; the returned context's 60 s deadline starts only now,
// after the build. The emulator stops when the test ends.
func startHandler(t *testing.T, rie, bootstrap string, aws *awsfake.Server, cfg contract.HandlerConfig, extra ...string) (context.Context, *lambdaemu.Emulator, string) {
	t.Helper()
	env := aws.Env()
	for k, v := range cfg.Env() {
		env = append(env, k+"="+v)
	}
	dlq := "https://sqs.us-east-1.amazonaws.com/123456789012/hookline-test-" + cfg.Source + "-dlq.fifo"
	env = append(append(env, contract.EnvDLQURL+"="+dlq), extra...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	emu, err := lambdaemu.Start(ctx, rie, bootstrap, env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emu.Stop)
	return ctx, emu, dlq
}

// TestSealedResendUnderEmulator runs the real handler binary with its seal
// key in a KMS peer (local-kms, through the real KMS client and kms:VerifyMac):
// a delivery signed and received three hours ago, redriven now with its
// receipt time sealed, verifies and is processed; the same re-send with a
// seal made under another key, or unsealed, is dropped, never dead-lettered.
func TestSealedResendUnderEmulator(t *testing.T) {
	rie, err := lambdaemu.FindRIE("..")
	if err != nil {
		t.Skipf("%v (make test installs it)", err)
	}
	bootstrap := harness.Bootstrap(t, build.Emulator) // built before any deadline starts
	peer := kmspeer.Start(t)
	ctx := context.Background()
	received := time.Now().Add(-3 * time.Hour)
	resend := func(id string, s contract.Sealer) events.SQSMessage {
		r := record(t, "A", id, received)
		if s != nil {
			v, err := contract.Seal(ctx, s, "partners", received, []byte(r.Body))
			if err != nil {
				t.Fatal(err)
			}
			r.MessageAttributes[contract.AttrSeal] = events.SQSMessageAttribute{StringValue: &v, DataType: "String"}
		}
		r.Attributes["SentTimestamp"] = fmt.Sprint(time.Now().UnixMilli())
		return r
	}
	other, err := peer.Client.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: "HMAC_256", KeyUsage: "GENERATE_VERIFY_MAC"})
	if err != nil {
		t.Fatal(err)
	}
	records := []events.SQSMessage{
		resend("sealed", seal.KMS{API: peer.Client, KeyID: peer.KeyArn}),
		resend("other-key", seal.KMS{API: peer.Client, KeyID: *other.KeyMetadata.Arn}),
		resend("unsealed", nil),
	}
	aws := awsfake.New(map[string]string{"/hookline/test/partners/signing-secret": testSecret})
	defer aws.Close()
	cfg := contract.HandlerConfig{Source: "partners", Scheme: contract.SchemeStandardWebhooks, SecretParameter: "/hookline/test/partners/signing-secret",
		Tolerance: 5 * time.Minute, Processor: contract.ProcessorLog, Attributes: partners.Attributes()}
	ictx, emu, _ := startHandler(t, rie, bootstrap, aws, cfg, append(peer.Env(), contract.EnvSealKey+"="+peer.KeyArn, "AWS_LAMBDA_LOG_LEVEL=DEBUG")...)
	if failed := invokeBatch(t, ictx, emu, records); len(failed) != 0 {
		t.Fatalf("%v retried: want every record acknowledged\n%s", failed, emu.Logs())
	}
	emu.WaitForLog(`"outcome":`, len(records), 5*time.Second)
	got := map[string]string{}
	for _, line := range strings.Split(emu.Logs(), "\n") {
		var l map[string]any
		if json.Unmarshal([]byte(line), &l) == nil && l["outcome"] != nil {
			reason, _ := l["reason"].(string)
			got[fmt.Sprint(l["eventId"])] = fmt.Sprintf("%v %s", l["outcome"], reason)
		}
	}
	want := map[string]string{"sealed": "ok ", "other-key": "dropped forged-seal", "unsealed": "dropped forged-receipt-time"}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: %q, want %q\n%s", id, got[id], w, emu.Logs())
		}
	}
	if len(aws.Sent()) != 0 {
		t.Errorf("%d messages dead-lettered", len(aws.Sent()))
	}
}
