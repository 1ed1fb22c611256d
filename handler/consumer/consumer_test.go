package consumer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/handler/consumer"
	"github.com/hookline/hookline/handler/dedup"
	"github.com/hookline/hookline/handler/processor"
	"github.com/hookline/hookline/handler/secrets"
	"github.com/hookline/hookline/handler/signature"
	"github.com/hookline/hookline/handler/telemetry"
	"github.com/hookline/hookline/internal/local/awsfake"
	"github.com/hookline/hookline/internal/testing/harness"
	"github.com/hookline/hookline/internal/testing/nodepeer"
)

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// now is the tests' handler clock: the real time of the run (whole
// seconds, as signature timestamps are), so nothing here meets a real
// deadline or TTL on a date the test did not expect.
var now = time.Now().UTC().Truncate(time.Second)

type fakeSecrets struct {
	vals  map[string][]string
	err   error
	calls int
}

func (f *fakeSecrets) Get(_ context.Context, name string) ([]string, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	v, ok := f.vals[name]
	if !ok {
		return nil, fmt.Errorf("parameter %s not found", name)
	}
	return v, nil
}

// recorder is a processor that records what it processed and fails on demand.
type recorder struct {
	mu        sync.Mutex
	processed []string
	fail      map[string]error // by event id
}

func (r *recorder) Process(_ context.Context, m contract.Message) error {
	if err := r.fail[m.EventID]; err != nil {
		return err
	}
	r.mu.Lock()
	r.processed = append(r.processed, m.EventID)
	r.mu.Unlock()
	return nil
}

type fakeDLQ struct {
	sent []*sqs.SendMessageInput
	err  error
}

func (f *fakeDLQ) SendMessage(_ context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	f.sent = append(f.sent, in)
	return &sqs.SendMessageOutput{}, nil
}

type fakeDedup struct {
	state    map[string]dedup.State
	err      error
	released []string
	done     []string
}

func (f *fakeDedup) Begin(_ context.Context, key string, _ time.Duration) (dedup.State, error) {
	if f.err != nil {
		return dedup.New, f.err
	}
	if s, ok := f.state[key]; ok {
		return s, nil
	}
	f.state[key] = dedup.InProgress
	return dedup.New, nil
}
func (f *fakeDedup) Complete(_ context.Context, key string) error {
	f.state[key] = dedup.Done
	f.done = append(f.done, key)
	return nil
}
func (f *fakeDedup) Release(_ context.Context, key string) error {
	delete(f.state, key)
	f.released = append(f.released, key)
	return nil
}

var spec = contract.Spec{
	Source: "partners", GroupBy: contract.Selector{Kind: contract.KindHeader, Name: "X-Account"},
	EventID: contract.SchemeStandardWebhooks.DefaultEventID(), SignatureHeaders: contract.SchemeStandardWebhooks.SignatureHeaders(""),
	ContentTypes: []string{"application/json"},
}

// signStandardWebhooks is a Standard Webhooks sender's webhook-signature,
// signed through the contract's scheme table.
func signStandardWebhooks(secret, id string, ts int64, body []byte) (string, error) {
	return signHeader(contract.SchemeStandardWebhooks, secret, contract.Delivery{ID: id, At: time.Unix(ts, 0), Body: body}, contract.HeaderWebhookSignature)
}

// signGitHub is a GitHub sender's X-Hub-Signature-256.
func signGitHub(secret string, body []byte) string {
	v, _ := signHeader(contract.SchemeGitHub, secret, contract.Delivery{Body: body}, contract.HeaderGitHubSignature)
	return v
}

// signHeader is a sender's header of scheme s with its default options.
func signHeader(s contract.Scheme, secret string, d contract.Delivery, header string) (string, error) {
	return harness.SignHeader(s, contract.SchemeOptions{}, secret, d, header)
}

// signed builds the record of a correctly signed request received when it
// was signed.
func signed(t testing.TB, group, id string, body string, at time.Time) events.SQSMessage {
	return signedReceived(t, group, id, body, at, at)
}

// signedReceived builds the record of a request signed at one time and
// received by API Gateway at another.
func signedReceived(t testing.TB, group, id string, body string, at, receivedAt time.Time) events.SQSMessage {
	sig, err := signStandardWebhooks(secret, id, at.Unix(), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return spec.Simulate(contract.Request{
		Headers: map[string]string{
			"X-Account": group, "content-type": "application/json",
			"webhook-id": id, "webhook-timestamp": fmt.Sprint(at.Unix()), "webhook-signature": sig,
		},
		Body: []byte(body), RequestID: "req-" + id, SourceIP: "203.0.113.1", ReceivedAt: receivedAt,
	}, "m-"+id)
}

type env struct {
	h     *consumer.Handler
	proc  *recorder
	dlq   *fakeDLQ
	sec   *fakeSecrets
	dd    *fakeDedup
	logs  *bytes.Buffer
	stats *bytes.Buffer
}

func newEnv(t testing.TB) *env {
	v, err := signature.New(contract.SchemeStandardWebhooks, signature.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{
		proc: &recorder{fail: map[string]error{}}, dlq: &fakeDLQ{},
		sec: &fakeSecrets{vals: map[string][]string{"/p/secret": {secret}}},
		dd:  &fakeDedup{state: map[string]dedup.State{}}, logs: &bytes.Buffer{}, stats: &bytes.Buffer{},
	}
	e.h = &consumer.Handler{
		Config: contract.HandlerConfig{
			Source: "partners", Scheme: contract.SchemeStandardWebhooks, SecretParameter: "/p/secret",
			DLQURL:     "https://sqs.eu-west-1.amazonaws.com/123456789012/hookline-dev-partners-dlq.fifo",
			Attributes: spec.Attributes(),
		},
		Sealer: harness.NewSealer(), Verifier: v, Secrets: e.sec, Processor: e.proc, DLQ: e.dlq, Dedup: e.dd,
		Log:     telemetry.NewLogger(e.logs, slog.LevelDebug), // every outcome's line, ok ones too
		Metrics: e.stats, Now: func() time.Time { return now }, Reserve: time.Second,
	}
	return e
}

func (e *env) handle(t testing.TB, ctx context.Context, records ...events.SQSMessage) []string {
	resp, err := e.h.Handle(ctx, events.SQSEvent{Records: records})
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	return failed
}

// logLines returns the per-record log lines.
func (e *env) logLines(t testing.TB) []map[string]any {
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(e.logs.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		out = append(out, m)
	}
	return out
}

func TestOutcomes(t *testing.T) {
	body := `{"type":"invoice.paid"}`
	cases := []struct {
		name        string
		setup       func(e *env)
		record      func(t *testing.T) events.SQSMessage
		wantFailed  bool
		wantOutcome string
		wantReason  string
		wantDLQ     bool
		wantProcess bool
	}{
		{"valid", nil, func(t *testing.T) events.SQSMessage { return signed(t, "a", "e1", body, now) }, false, "ok", "", false, true},
		{"forged signature", nil, func(t *testing.T) events.SQSMessage {
			r := signed(t, "a", "e1", body, now)
			r.Body = `{"type":"invoice.refunded"}`
			return r
		}, false, "reject", "signature-mismatch", true, false},
		{"signed 10 min before it was received", nil, func(t *testing.T) events.SQSMessage {
			return signedReceived(t, "a", "e1", body, now.Add(-10*time.Minute), now)
		}, false, "reject", "signature-stale", true, false},
		{"signed and received at T, processed at T+1h", func(e *env) { e.h.Now = func() time.Time { return now.Add(time.Hour) } }, func(t *testing.T) events.SQSMessage {
			return signed(t, "a", "e1", body, now)
		}, false, "ok", "", false, true},
		{"far-future timestamp", nil, func(t *testing.T) events.SQSMessage {
			return signedReceived(t, "a", "e1", body, time.Unix(99999999999, 0), now)
		}, false, "reject", "signature-stale", true, false},
		{"missing signature", nil, func(t *testing.T) events.SQSMessage {
			r := signed(t, "a", "e1", body, now)
			delete(r.MessageAttributes, "webhook-signature")
			return r
		}, false, "reject", "signature-missing", true, false},
		{"secret unavailable", func(e *env) { e.sec.err = errors.New("AccessDenied") }, func(t *testing.T) events.SQSMessage { return signed(t, "a", "e1", body, now) }, true, "retry", "secret-unavailable", false, false},
		{"malformed body from an authenticated sender", nil, func(t *testing.T) events.SQSMessage { return signed(t, "a", "e1", `{"type":`, now) }, false, "reject", "malformed-body", true, false},
		{"content type an http ingress let through", func(e *env) { e.h.Config.ContentTypes = []string{"text/plain"} }, func(t *testing.T) events.SQSMessage {
			return signed(t, "a", "e1", body, now)
		}, false, "reject", "unaccepted-content-type", true, false},
		{"accepted content type with parameters", func(e *env) { e.h.Config.ContentTypes = []string{"application/json"} }, func(t *testing.T) events.SQSMessage {
			r := signed(t, "a", "e1", body, now)
			ct := "Application/JSON; charset=utf-8"
			r.MessageAttributes[contract.AttrContentType] = events.SQSMessageAttribute{StringValue: &ct, DataType: "String"}
			return r
		}, false, "ok", "", false, true},
		{"record not from the contract", nil, func(t *testing.T) events.SQSMessage {
			return events.SQSMessage{MessageId: "m-x", Body: "{}", Attributes: map[string]string{"MessageGroupId": "g"}}
		}, false, "reject", "malformed-record", true, false},
		{"record of another source", nil, func(t *testing.T) events.SQSMessage {
			r := signed(t, "a", "e1", body, now)
			other := "payments"
			r.MessageAttributes[contract.AttrSource] = events.SQSMessageAttribute{StringValue: &other, DataType: "String"}
			return r
		}, false, "reject", "wrong-source", true, false},
		{"processor permanent failure", func(e *env) { e.proc.fail["e1"] = processor.Permanent("forward-404", errors.New("gone")) }, func(t *testing.T) events.SQSMessage { return signed(t, "a", "e1", body, now) }, false, "reject", "forward-404", true, false},
		{"processor transient failure", func(e *env) { e.proc.fail["e1"] = errors.New("503") }, func(t *testing.T) events.SQSMessage { return signed(t, "a", "e1", body, now) }, true, "retry", "processor", false, false},
		{"reject but the DLQ is down", func(e *env) { e.dlq.err = errors.New("throttled") }, func(t *testing.T) events.SQSMessage {
			r := signed(t, "a", "e1", body, now)
			r.Body = "{}"
			return r
		}, true, "retry", "dlq-unavailable", false, false},
		{"duplicate beyond SQS's window", func(e *env) { e.dd.state["partners#e1"] = dedup.Done }, func(t *testing.T) events.SQSMessage { return signed(t, "a", "e1", body, now) }, false, "ok", "duplicate", false, false},
		{"event in progress elsewhere", func(e *env) { e.dd.state["partners#e1"] = dedup.InProgress }, func(t *testing.T) events.SQSMessage { return signed(t, "a", "e1", body, now) }, true, "retry", "in-progress", false, false},
		{"dedup table unavailable", func(e *env) { e.dd.err = errors.New("ProvisionedThroughputExceeded") }, func(t *testing.T) events.SQSMessage { return signed(t, "a", "e1", body, now) }, true, "retry", "dedup-unavailable", false, false},
		{"invalid configuration fails closed", func(e *env) { e.h.ConfigErr = errors.New("unknown signature scheme") }, func(t *testing.T) events.SQSMessage { return signed(t, "a", "e1", body, now) }, true, "retry", "config", false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			if tc.setup != nil {
				tc.setup(e)
			}
			r := tc.record(t)
			failed := e.handle(t, context.Background(), r)
			if (len(failed) == 1) != tc.wantFailed {
				t.Errorf("failed = %v, want failed %v", failed, tc.wantFailed)
			}
			lines := e.logLines(t)
			if len(lines) != 1 {
				t.Fatalf("want one log line, got %d", len(lines))
			}
			l := lines[0]
			if l["outcome"] != tc.wantOutcome || !strings.HasPrefix(fmt.Sprint(l["reason"]), tc.wantReason) {
				t.Errorf("logged outcome %v reason %v; want %s %s", l["outcome"], l["reason"], tc.wantOutcome, tc.wantReason)
			}
			for _, k := range []string{"timestamp", "level", "source", "group", "messageId", "outcome", "latencyMs"} {
				if _, ok := l[k]; !ok {
					t.Errorf("log line lacks %s", k)
				}
			}
			if got := len(e.dlq.sent) == 1; got != tc.wantDLQ {
				t.Errorf("moved to DLQ = %v, want %v", got, tc.wantDLQ)
			}
			if tc.wantDLQ {
				in := e.dlq.sent[0]
				if *in.MessageBody != r.Body || *in.MessageGroupId != r.Attributes["MessageGroupId"] {
					t.Error("the DLQ copy is not the original message")
				}
				if reason := in.MessageAttributes[contract.AttrFailureReason].StringValue; reason == nil || *reason != tc.wantReason {
					t.Errorf("DLQ failure reason %v", reason)
				}
				if len(in.MessageAttributes) > contract.MaxMessageAttributes {
					t.Errorf("%d attributes on the DLQ copy", len(in.MessageAttributes))
				}
			}
			if got := len(e.proc.processed) == 1; got != tc.wantProcess {
				t.Errorf("processed = %v, want %v", got, tc.wantProcess)
			}
			if strings.Contains(e.logs.String(), secret) || strings.Contains(e.logs.String(), "v1,") {
				t.Error("a secret or signature reached the logs")
			}
		})
	}
}

func TestDedupMarkerLifecycle(t *testing.T) {
	e := newEnv(t)
	body := `{"n":1}`
	if failed := e.handle(t, context.Background(), signed(t, "a", "e1", body, now)); len(failed) != 0 {
		t.Fatal(failed)
	}
	if len(e.dd.done) != 1 || e.dd.state["partners#e1"] != dedup.Done {
		t.Fatal("the marker was not made final after success")
	}
	// The provider retries days later: acknowledged without processing.
	e.handle(t, context.Background(), signed(t, "a", "e1", body, now))
	if len(e.proc.processed) != 1 {
		t.Errorf("processed %d times", len(e.proc.processed))
	}
	// A failed attempt releases its marker, so the retry can run.
	e.proc.fail["e2"] = errors.New("boom")
	e.handle(t, context.Background(), signed(t, "a", "e2", body, now))
	if len(e.dd.released) != 1 {
		t.Error("a failed attempt kept its marker")
	}
	delete(e.proc.fail, "e2")
	if failed := e.handle(t, context.Background(), signed(t, "a", "e2", body, now)); len(failed) != 0 {
		t.Errorf("retry after release failed: %v", failed)
	}
}

// TestFIFOOrder: a failure in a group fails the rest of that group in the
// batch, unprocessed; other groups go on.
func TestFIFOOrder(t *testing.T) {
	e := newEnv(t)
	e.proc.fail["a2"] = errors.New("boom")
	failed := e.handle(t, context.Background(),
		signed(t, "A", "a1", `{}`, now), signed(t, "B", "b1", `{}`, now), signed(t, "A", "a2", `{}`, now),
		signed(t, "B", "b2", `{}`, now), signed(t, "A", "a3", `{}`, now), signed(t, "C", "c1", `{}`, now))
	if strings.Join(failed, ",") != "m-a2,m-a3" {
		t.Errorf("failed = %v", failed)
	}
	if strings.Join(e.proc.processed, ",") != "a1,b1,b2,c1" {
		t.Errorf("processed = %v", e.proc.processed)
	}
}

func TestDeadline(t *testing.T) {
	e := newEnv(t)
	// Less than the handler's 1 s reserve left, on the real clock.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	failed := e.handle(t, ctx, signed(t, "A", "a1", `{}`, now), signed(t, "B", "b1", `{}`, now))
	if len(failed) != 2 || len(e.proc.processed) != 0 {
		t.Errorf("near the deadline: failed %v, processed %v", failed, e.proc.processed)
	}
}

// TestDeadlineFollowsTheRealClock: an invocation's deadline is real time
// (Lambda's, or a context timer's), so the handler measures the time left
// with the real clock even when its Now is simulated, a year ahead of or
// behind the real one. Judged by Now, a simulated clock behind the real one
// made every record "too late" once the real date passed it (the redrive
// fault test failed on every day after its fixed start date).
func TestDeadlineFollowsTheRealClock(t *testing.T) {
	for _, off := range []time.Duration{-365 * 24 * time.Hour, 0, 365 * 24 * time.Hour} {
		t.Run(off.String(), func(t *testing.T) {
			e := newEnv(t)
			at := time.Now().Add(off)
			e.h.Now = func() time.Time { return at }
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			failed := e.handle(t, ctx, signed(t, "A", "a1", `{}`, at), signed(t, "B", "b1", `{}`, at))
			if len(failed) != 0 || strings.Join(e.proc.processed, ",") != "a1,b1" {
				t.Errorf("a minute left on the real clock, handler clock %s: failed %v, processed %v", off, failed, e.proc.processed)
			}
		})
	}
}

// TestRandomBatches: for random batches and random failures, the processed
// records of each group are a prefix of the group in order, and every other
// record is returned as failed.
func TestRandomBatches(t *testing.T) {
	rng := rand.New(rand.NewSource(42))
	for iter := 0; iter < 300; iter++ {
		e := newEnv(t)
		n := 1 + rng.Intn(10)
		var records []events.SQSMessage
		byGroup := map[string][]string{}
		for i := 0; i < n; i++ {
			g := string(rune('A' + rng.Intn(3)))
			id := fmt.Sprintf("%s%d-%d", g, i, iter)
			records = append(records, signed(t, g, id, `{}`, now))
			byGroup[g] = append(byGroup[g], id)
			switch rng.Intn(6) {
			case 0:
				e.proc.fail[id] = errors.New("transient")
			case 1:
				e.proc.fail[id] = processor.Permanent("bad", errors.New("permanent"))
			}
		}
		failed := map[string]bool{}
		for _, f := range e.handle(t, context.Background(), records...) {
			failed[strings.TrimPrefix(f, "m-")] = true
		}
		processed := map[string]bool{}
		for _, id := range e.proc.processed {
			processed[id] = true
		}
		for g, ids := range byGroup {
			stopped := false
			for _, id := range ids {
				switch {
				case stopped:
					if processed[id] || !failed[id] {
						t.Fatalf("iter %d group %s: %s after a failure was processed=%v failed=%v", iter, g, id, processed[id], failed[id])
					}
				case failed[id]:
					stopped = true
					if processed[id] {
						t.Fatalf("iter %d: %s both processed and failed", iter, id)
					}
				default:
					// acknowledged: processed, or permanently rejected to the DLQ
					if !processed[id] && e.proc.fail[id] == nil {
						t.Fatalf("iter %d: %s acknowledged without processing", iter, id)
					}
				}
			}
		}
	}
}

func TestMetricsEMF(t *testing.T) {
	e := newEnv(t)
	e.proc.fail["b1"] = errors.New("boom")
	bad := signed(t, "C", "c1", `{}`, now)
	bad.Body = `{"x":1}`
	e.handle(t, context.Background(), signed(t, "A", "a1", `{}`, now), signed(t, "B", "b1", `{}`, now), bad)
	lines := strings.Split(strings.TrimSpace(e.stats.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 EMF documents (counts + one reject reason), got %d:\n%s", len(lines), e.stats.String())
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["OK"] != 1.0 || doc["Retried"] != 1.0 || doc["Rejected"] != 1.0 || doc["Source"] != "partners" {
		t.Errorf("counts: %v", doc)
	}
	// Only what happened is in it: no zero counts, no sum of the others.
	for _, absent := range []string{"Received", "Duplicates", "Forged", "GaveUp", "ArchiveFailed", "ProcessingLatency"} {
		if _, ok := doc[absent]; ok || strings.Contains(lines[0], `"Name":"`+absent+`"`) {
			t.Errorf("%s in the document: %s", absent, lines[0])
		}
	}
	cw := doc["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)
	if cw["Namespace"] != "hookline" {
		t.Errorf("namespace %v", cw["Namespace"])
	}
	if !strings.Contains(lines[1], `"Reason":"signature-mismatch"`) {
		t.Errorf("reject reason document: %s", lines[1])
	}
}

// TestReceiptTimeFallsBackToSentTimestamp: a record without
// hookline-received-at (sent by hand, or by an older template) is judged
// against SQS's SentTimestamp, not the handler's clock.
func TestReceiptTimeFallsBackToSentTimestamp(t *testing.T) {
	e := newEnv(t)
	e.h.Now = func() time.Time { return now.Add(2 * time.Hour) }
	r := signed(t, "a", "e1", `{"n":1}`, now)
	delete(r.MessageAttributes, contract.AttrReceivedAt)
	r.Attributes["SentTimestamp"] = fmt.Sprint(now.Add(30 * time.Second).UnixMilli())
	if failed := e.handle(t, context.Background(), r); len(failed) != 0 || len(e.proc.processed) != 1 {
		t.Fatalf("failed %v, processed %v: want verified against SentTimestamp", failed, e.proc.processed)
	}
	r = signed(t, "a", "e2", `{"n":2}`, now)
	delete(r.MessageAttributes, contract.AttrReceivedAt)
	r.Attributes["SentTimestamp"] = fmt.Sprint(now.Add(10 * time.Minute).UnixMilli())
	e.handle(t, context.Background(), r)
	if len(e.dlq.sent) != 1 {
		t.Fatalf("a record sent 10 min after its signature was not rejected as stale")
	}
}

// rotatingSecrets is a Refresher whose parameter changes under it.
type rotatingSecrets struct {
	cached, current []string
	refreshes       int
}

func (r *rotatingSecrets) Get(context.Context, string) ([]string, error) { return r.cached, nil }
func (r *rotatingSecrets) Refresh(context.Context, string) ([]string, bool, error) {
	r.refreshes++
	changed := strings.Join(r.cached, " ") != strings.Join(r.current, " ")
	r.cached = r.current
	return r.cached, changed, nil
}

// TestRotationRefetchesOnMismatch: the team added a new secret and the
// sender switched to it while this container still caches the old one; the
// delivery verifies after one refetch instead of being dead-lettered.
func TestRotationRefetchesOnMismatch(t *testing.T) {
	const newSecret = "whsec_bmV3LXNlY3JldC1mb3ItaG9va2xpbmUtdGVzdHM="
	e := newEnv(t)
	rs := &rotatingSecrets{cached: []string{secret}, current: []string{newSecret, secret}}
	e.h.Secrets = rs
	sig, err := signStandardWebhooks(newSecret, "e1", now.Unix(), []byte(`{"n":1}`))
	if err != nil {
		t.Fatal(err)
	}
	r := signed(t, "a", "e1", `{"n":1}`, now)
	r.MessageAttributes["webhook-signature"] = events.SQSMessageAttribute{StringValue: &sig, DataType: "String"}
	if failed := e.handle(t, context.Background(), r); len(failed) != 0 || len(e.dlq.sent) != 0 || len(e.proc.processed) != 1 {
		t.Fatalf("failed %v, dlq %d, processed %v: want verified after a refetch", failed, len(e.dlq.sent), e.proc.processed)
	}
	if rs.refreshes != 1 {
		t.Errorf("%d refreshes, want 1", rs.refreshes)
	}
	// A signature from a secret that is nowhere: one refetch that changes
	// nothing, then the DLQ.
	r = signed(t, "a", "e2", `{"n":2}`, now)
	bad := "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	r.MessageAttributes["webhook-signature"] = events.SQSMessageAttribute{StringValue: &bad, DataType: "String"}
	e.handle(t, context.Background(), r)
	if len(e.dlq.sent) != 1 {
		t.Errorf("a forgery on an authenticated source was not dead-lettered")
	}
}

// TestOpenSourceDropsForgeries: on a source open at the edge (auth
// signature), a flood of forged and unsigned records is counted and
// dropped: the DLQ stays empty, nothing is processed or retried, and the
// Forged metric says how many; a genuine record among them goes through.
func TestOpenSourceDropsForgeries(t *testing.T) {
	e := newEnv(t)
	e.h.Config.OpenEdge = true
	var batch []events.SQSMessage
	for i := 0; i < 9; i++ {
		r := signed(t, fmt.Sprintf("g%d", i), fmt.Sprintf("forged-%d", i), `{"n":1}`, now)
		switch i % 3 {
		case 0:
			r.Body = `{"n":"tampered"}`
		case 1:
			delete(r.MessageAttributes, "webhook-signature")
		case 2:
			junk := "v1,not-base64!"
			r.MessageAttributes["webhook-signature"] = events.SQSMessageAttribute{StringValue: &junk, DataType: "String"}
		}
		batch = append(batch, r)
	}
	batch = append(batch, signed(t, "g0", "genuine", `{"n":2}`, now))
	failed := e.handle(t, context.Background(), batch...)
	if len(failed) != 0 || len(e.dlq.sent) != 0 {
		t.Fatalf("failed %v, DLQ %d: forgeries must be dropped, not retried or dead-lettered", failed, len(e.dlq.sent))
	}
	if strings.Join(e.proc.processed, ",") != "genuine" {
		t.Fatalf("processed %v, want only the genuine record", e.proc.processed)
	}
	if !strings.Contains(e.stats.String(), `"Forged":9`) {
		t.Errorf("metrics do not count 9 forgeries: %s", e.stats.String())
	}
	dropped := 0
	for _, l := range e.logLines(t) {
		if l["outcome"] == "dropped" {
			dropped++
		}
	}
	if dropped != 9 {
		t.Errorf("%d dropped log lines, want one per forgery (9)", dropped)
	}
}

// TestBodyOnlySchemeKeysOnBody: GitHub signs the body but not the
// delivery id, so a captured delivery replayed with a fresh id must be a
// duplicate for long-window idempotency.
func TestBodyOnlySchemeKeysOnBody(t *testing.T) {
	gh := contract.Spec{Source: "partners", GroupBy: contract.Selector{Kind: contract.KindSource},
		EventID: contract.SchemeGitHub.DefaultEventID(), SignatureHeaders: contract.SchemeGitHub.SignatureHeaders(""),
		ContentTypes: []string{"application/json"}}
	e := newEnv(t)
	v, _ := signature.New(contract.SchemeGitHub, signature.Options{})
	e.h.Verifier, e.h.Config.Scheme, e.h.Config.Attributes = v, contract.SchemeGitHub, gh.Attributes()
	body := `{"action":"opened","number":7}`
	deliver := func(id string) {
		r := gh.Simulate(contract.Request{Headers: map[string]string{"content-type": "application/json",
			contract.HeaderGitHubDelivery: id, contract.HeaderGitHubSignature: signGitHub(secret, []byte(body))},
			Body: []byte(body), ReceivedAt: now}, "m-"+id)
		if failed := e.handle(t, context.Background(), r); len(failed) != 0 {
			t.Fatalf("delivery %s failed: %v", id, failed)
		}
	}
	deliver("11111111-1111-1111-1111-111111111111")
	deliver("22222222-2222-2222-2222-222222222222") // the replay, with a fresh id
	if len(e.proc.processed) != 1 {
		t.Fatalf("processed %d times: a replay under a fresh delivery id passed dedup", len(e.proc.processed))
	}
	if want := dedup.BodyKey("partners", []byte(body)); e.dd.state[want] != dedup.Done {
		t.Errorf("no done marker under the body's hash %s: %v", want, e.dd.state)
	}
}

// TestDLQMoveInsideTheWindowLosesNothing: the same event rejected twice
// within SQS's 5-minute deduplication window (rejected, redriven, rejected
// again) lands in the DLQ twice, against a fake SQS that keeps the window.
// Moving it under the sender's deduplication id (as the handler did) made
// the DLQ answer success and drop the second copy, which the handler then
// acknowledged: lost.
func TestDLQMoveInsideTheWindowLosesNothing(t *testing.T) {
	e := newEnv(t)
	srv := awsfake.New(nil)
	t.Cleanup(srv.Close)
	srv.AddQueue(e.h.Config.DLQURL, "arn:aws:sqs:eu-west-1:123456789012:hookline-dev-partners-dlq.fifo")
	clock := now
	srv.SetClock(func() time.Time { return clock })
	e.h.DLQ = sqs.New(sqs.Options{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), Credentials: aws.AnonymousCredentials{}})

	// Signed, but not JSON: an authenticated sender's malformed body is kept.
	first := signed(t, "acct-1", "msg_1", `{"truncated":`, now)
	again := first
	again.MessageId = "m-msg_1-redriven"
	for _, r := range []events.SQSMessage{first, again} {
		if failed := e.handle(t, context.Background(), r); len(failed) != 0 {
			t.Fatalf("%s not acknowledged: %v", r.MessageId, failed)
		}
		clock = clock.Add(time.Minute)
	}
	dlq := srv.Queue(e.h.Config.DLQURL)
	if len(dlq) != 2 {
		t.Fatalf("DLQ holds %d copies of the twice-rejected event, want 2", len(dlq))
	}
	for _, m := range dlq {
		if m.Attributes[contract.AttrEventID] != "msg_1" || m.Attributes[contract.AttrFailureReason] != "malformed-body" || m.DeduplicationID == "msg_1" {
			t.Errorf("DLQ copy: dedup %q attributes %v", m.DeduplicationID, m.Attributes)
		}
	}
}

// gate is a processor that counts what it processes and holds each call
// until released, so two deliveries overlap.
type gate struct {
	mu        sync.Mutex
	processed int
	entered   chan struct{}
	release   chan struct{}
}

func (g *gate) Process(context.Context, contract.Message) error {
	g.entered <- struct{}{}
	<-g.release
	g.mu.Lock()
	g.processed++
	g.mu.Unlock()
	return nil
}

// TestConcurrentDeliveriesProcessOnce: two function instances receive the
// same event at once (a sender's retry outside SQS's window, or a redrive
// beside the original), with the idempotency table in dynalite, which
// evaluates the lease conditions as DynamoDB does: exactly one processes, the
// other is retried while it runs and acknowledged as a duplicate after.
func TestConcurrentDeliveriesProcessOnce(t *testing.T) {
	table := "hookline-dev-partners-idempotency"
	db := nodepeer.IdempotencyTable(t, table)
	g := &gate{entered: make(chan struct{}, 2), release: make(chan struct{})}
	instance := func() *env {
		e := newEnv(t)
		e.h.Processor = g
		e.h.Dedup = &dedup.Store{API: db, Table: table, TTL: 72 * time.Hour, Now: func() time.Time { return now }}
		return e
	}
	a, b := instance(), instance()
	original := signed(t, "acct-1", "msg_race", `{"n":1}`, now)
	again := original
	again.MessageId = "m-msg_race-again"

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan []string, 1)
	go func() { done <- a.handle(t, ctx, original) }()
	<-g.entered // a holds the marker and is processing
	if failed := b.handle(t, ctx, again); len(failed) != 1 {
		t.Fatalf("the second delivery was not retried while the first runs: failed=%v", failed)
	}
	close(g.release)
	if failed := <-done; len(failed) != 0 {
		t.Fatalf("the first delivery failed: %v", failed)
	}
	if failed := b.handle(t, ctx, again); len(failed) != 0 {
		t.Fatalf("the redelivered copy was not acknowledged as a duplicate: %v", failed)
	}
	if g.processed != 1 {
		t.Fatalf("processed %d times, want exactly once", g.processed)
	}
	if !strings.Contains(b.logs.String(), `"reason":"in-progress"`) || !strings.Contains(b.logs.String(), `"reason":"duplicate"`) {
		t.Errorf("the second instance's log lines do not say in-progress, then duplicate:\n%s", b.logs.String())
	}
}

// TestDLQCopyOfAMessageAtTheLimitFits: a message that came in at SQS's size
// limit (body and attributes) and is rejected still reaches the DLQ — its
// failure reason cut to what fits — instead of a DLQ send SQS refuses on
// every retry.
func TestDLQCopyOfAMessageAtTheLimitFits(t *testing.T) {
	e := newEnv(t)
	srv := awsfake.New(nil)
	t.Cleanup(srv.Close)
	srv.AddQueue(e.h.Config.DLQURL, "arn:dlq")
	e.h.DLQ = sqs.New(sqs.Options{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), Credentials: aws.AnonymousCredentials{}})
	r := signed(t, "acct-1", "msg_big", `{"x":1}`, now)
	attrs := map[string]string{}
	for k, a := range r.MessageAttributes {
		attrs[k] = *a.StringValue
	}
	// Pad the body (then re-sign) so body and attributes are exactly the limit.
	pad := contract.MaxMessageBytes - contract.MessageSize(`{"x":"`+`"}`, attrs)
	r = signed(t, "acct-1", "msg_big", `{"x":"`+strings.Repeat("a", pad)+`"}`, now)
	for k, a := range r.MessageAttributes {
		attrs[k] = *a.StringValue
	}
	if n := contract.MessageSize(r.Body, attrs); n != contract.MaxMessageBytes {
		t.Fatalf("the message is %d bytes, want exactly %d", n, contract.MaxMessageBytes)
	}
	e.proc.fail["msg_big"] = &processor.PermanentError{Reason: "bad-payload", Err: errors.New("refused")}
	if failed := e.handle(t, context.Background(), r); len(failed) != 0 {
		t.Fatalf("the rejected message was not acknowledged (its DLQ copy did not fit?): %v", failed)
	}
	if dlq := srv.Queue(e.h.Config.DLQURL); len(dlq) != 1 || dlq[0].Body != r.Body {
		t.Fatalf("DLQ holds %d messages", len(dlq))
	}
}

// paramSSM is an SSM parameter store holding one value per name.
type paramSSM map[string]string

func (p paramSSM) GetParameter(_ context.Context, in *ssm.GetParameterInput, _ ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	v, ok := p[aws.ToString(in.Name)]
	if !ok {
		return nil, fmt.Errorf("parameter %s not found", aws.ToString(in.Name))
	}
	return &ssm.GetParameterOutput{Parameter: &ssmtypes.Parameter{Value: aws.String(v)}}, nil
}

// TestSecretWithSpacesVerifies: GitHub's documentation's own secret, "It's
// a Secret to Everybody", read by the secrets store from its parameter,
// verifies a genuine GitHub delivery end to end — alone, and as either
// secret of a rotation (one per line). The store split the parameter on
// white space: five wrong secrets, and the delivery was rejected as
// signature-mismatch.
func TestSecretWithSpacesVerifies(t *testing.T) {
	const ghSecret = "It's a Secret to Everybody"
	gh := contract.Spec{Source: "partners", GroupBy: contract.Selector{Kind: contract.KindSource},
		EventID: contract.SchemeGitHub.DefaultEventID(), SignatureHeaders: contract.SchemeGitHub.SignatureHeaders(""),
		ContentTypes: []string{"application/json"}}
	for _, tc := range []struct{ name, param, signWith string }{
		{"alone", ghSecret, ghSecret},
		{"new of a rotation", ghSecret + "\nwhsec_old secret", ghSecret},
		{"old of a rotation", "another new secret\n" + ghSecret + "\n", ghSecret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			v, _ := signature.New(contract.SchemeGitHub, signature.Options{})
			e.h.Verifier, e.h.Config.Scheme, e.h.Config.Attributes = v, contract.SchemeGitHub, gh.Attributes()
			e.h.Secrets = secrets.New(paramSSM{"/p/secret": tc.param})
			body := `{"zen":"Design for failure.","hook_id":1}`
			r := gh.Simulate(contract.Request{Headers: map[string]string{"content-type": "application/json",
				contract.HeaderGitHubDelivery:  "11111111-1111-1111-1111-111111111111",
				contract.HeaderGitHubSignature: signGitHub(tc.signWith, []byte(body))},
				Body: []byte(body), ReceivedAt: now}, "m-1")
			if failed := e.handle(t, context.Background(), r); len(failed) != 0 || len(e.dlq.sent) != 0 {
				t.Fatalf("failed %v, dead-lettered %d: %s", failed, len(e.dlq.sent), e.logs)
			}
			if len(e.proc.processed) != 1 {
				t.Fatalf("processed %d times, want once: %s", len(e.proc.processed), e.logs)
			}
		})
	}
}

// TestReplayWithoutDeliveryIDIsADuplicate: with idempotency on, a captured
// GitHub delivery replayed without its X-GitHub-Delivery header (after
// SQS's 5-minute window; an edge that does not require the header, or one
// reached around it) is a duplicate: a record without an event id is keyed
// on its body's hash too. Idempotency ran only when an event id was there,
// so the replay was processed again.
func TestReplayWithoutDeliveryIDIsADuplicate(t *testing.T) {
	gh := contract.Spec{Source: "partners", GroupBy: contract.Selector{Kind: contract.KindSource},
		EventID: contract.SchemeGitHub.DefaultEventID(), SignatureHeaders: contract.SchemeGitHub.SignatureHeaders(""),
		DeliveryHeaders: contract.SchemeGitHub.DeliveryHeaders(), ContentTypes: []string{"application/json"}}
	e := newEnv(t)
	v, _ := signature.New(contract.SchemeGitHub, signature.Options{})
	e.h.Verifier, e.h.Config.Scheme, e.h.Config.Attributes = v, contract.SchemeGitHub, gh.Attributes()
	body := `{"action":"opened","number":7}`
	deliver := func(msgID string, headers map[string]string) {
		headers["content-type"] = "application/json"
		headers[contract.HeaderGitHubSignature] = signGitHub(secret, []byte(body))
		r := gh.Simulate(contract.Request{Headers: headers, Body: []byte(body), ReceivedAt: now}, msgID)
		if failed := e.handle(t, context.Background(), r); len(failed) != 0 || len(e.dlq.sent) != 0 {
			t.Fatalf("delivery %s failed %v, dead-lettered %d: %s", msgID, failed, len(e.dlq.sent), e.logs)
		}
	}
	deliver("m-1", map[string]string{contract.HeaderGitHubDelivery: "11111111-1111-1111-1111-111111111111"})
	deliver("m-2", map[string]string{}) // the replay, its delivery header left out
	deliver("m-3", map[string]string{}) // and again
	if len(e.proc.processed) != 1 {
		t.Fatalf("processed %d times: a replay without its delivery id skipped idempotency", len(e.proc.processed))
	}
	if want := dedup.BodyKey("partners", []byte(body)); e.dd.state[want] != dedup.Done {
		t.Errorf("no done marker under the body's hash %s: %v", want, e.dd.state)
	}
	var dups int
	for _, l := range e.logLines(t) {
		if l["reason"] == "duplicate" {
			dups++
		}
	}
	if dups != 2 {
		t.Errorf("%d records logged as duplicates, want 2: %s", dups, e.logs)
	}
}
