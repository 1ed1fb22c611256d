package consumer_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/handler/processor"
)

// hider records the retry delays the handler sets.
type hider struct{ delays map[string]int32 }

func (h *hider) ChangeMessageVisibilityBatch(_ context.Context, in *sqs.ChangeMessageVisibilityBatchInput, _ ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error) {
	if len(in.Entries) > 10 {
		return nil, errors.New("more than 10 entries")
	}
	for _, e := range in.Entries {
		h.delays[aws.ToString(e.ReceiptHandle)] = e.VisibilityTimeout
	}
	return &sqs.ChangeMessageVisibilityBatchOutput{}, nil
}

var testPolicy = contract.RetryPolicy{Schedule: contract.ScheduleExponential, Base: 30 * time.Second,
	MaxDelay: time.Hour, MaxAge: 24 * time.Hour, Jitter: true}

// retryEnv is newEnv with the consumer pacing retries (jitter drawn at its
// top: each delay is the schedule's).
func retryEnv(t *testing.T) (*env, *hider) {
	e := newEnv(t)
	hd := &hider{delays: map[string]int32{}}
	e.h.Config.Retry, e.h.Config.QueueURL, e.h.Visibility = testPolicy, "https://sqs.eu-west-1.amazonaws.com/123456789012/hookline-dev-partners.fifo", hd
	e.h.Rand = func() float64 { return 0.999999 }
	return e, hd
}

// attempt is a signed record at its n-th receive, first received age ago.
func attempt(t *testing.T, group, id string, n int, age time.Duration) events.SQSMessage {
	r := signed(t, group, id, `{"n":"`+id+`"}`, now)
	r.ReceiptHandle = "rh-" + id
	r.Attributes["ApproximateReceiveCount"] = fmt.Sprint(n)
	r.Attributes["ApproximateFirstReceiveTimestamp"] = fmt.Sprint(now.Add(-age).UnixMilli())
	return r
}

// TestRetryPacesAFailedRecord: a record the destination fails is hidden for
// its schedule's delay (attempt 3: 30 s × 4), and its group's later records
// for the same delay, so the group comes back together and in order; other
// groups go on.
func TestRetryPacesAFailedRecord(t *testing.T) {
	e, hd := retryEnv(t)
	e.proc.fail["a1"] = errors.New("forward: receiver answered 503")
	failed := e.handle(t, context.Background(), attempt(t, "A", "a1", 3, time.Minute), attempt(t, "B", "b1", 1, 0), attempt(t, "A", "a2", 3, time.Minute))
	if strings.Join(failed, ",") != "m-a1,m-a2" || strings.Join(e.proc.processed, ",") != "b1" {
		t.Fatalf("failed %v, processed %v", failed, e.proc.processed)
	}
	if hd.delays["rh-a1"] != 120 || hd.delays["rh-a2"] != 120 || len(hd.delays) != 2 {
		t.Errorf("delays %v, want a1 and a2 hidden 120 s", hd.delays)
	}
	l := e.logLines(t)[0]
	if l["attempt"] != 3.0 || l["nextDelaySeconds"] != 120.0 {
		t.Errorf("log line %v", l)
	}
}

// TestRetryAfterIsHonouredAndCapped: a destination's Retry-After lengthens
// the delay, never beyond the policy's maximum.
func TestRetryAfterIsHonouredAndCapped(t *testing.T) {
	for after, want := range map[time.Duration]int32{10 * time.Minute: 600, 5 * time.Hour: 3600, time.Second: 30} {
		e, hd := retryEnv(t)
		e.proc.fail["a1"] = processor.RetryAfter(after, errors.New("forward: receiver answered 429"))
		e.handle(t, context.Background(), attempt(t, "A", "a1", 1, 0))
		if hd.delays["rh-a1"] != want {
			t.Errorf("Retry-After %s: delay %d, want %d", after, hd.delays["rh-a1"], want)
		}
	}
}

// TestJitterSpreadsTheDelay: jitter draws each delay from its upper half.
func TestJitterSpreadsTheDelay(t *testing.T) {
	for r, want := range map[float64]int32{0: 60, 0.5: 90, 0.999999: 120} {
		e, hd := retryEnv(t)
		e.h.Rand = func() float64 { return r }
		e.proc.fail["a1"] = errors.New("503")
		e.handle(t, context.Background(), attempt(t, "A", "a1", 3, 0))
		if hd.delays["rh-a1"] != want {
			t.Errorf("draw %v: delay %d, want %d", r, hd.delays["rh-a1"], want)
		}
	}
}

// TestSpentBudgetIsDeadLetteredByTheHandler: when the next attempt would
// come after the budget, the handler moves the record to the DLQ itself,
// with the attempts and the last error, and acknowledges it; its group
// goes on. Other retries (a secret that cannot be read) never give up.
func TestSpentBudgetIsDeadLetteredByTheHandler(t *testing.T) {
	e, hd := retryEnv(t)
	e.proc.fail["a1"] = errors.New("forward: receiver answered 503")
	failed := e.handle(t, context.Background(), attempt(t, "A", "a1", 30, 23*time.Hour+30*time.Minute), attempt(t, "A", "a2", 30, 23*time.Hour+30*time.Minute))
	if len(failed) != 0 || strings.Join(e.proc.processed, ",") != "a2" || len(hd.delays) != 0 {
		t.Fatalf("failed %v, processed %v, delays %v", failed, e.proc.processed, hd.delays)
	}
	if len(e.dlq.sent) != 1 {
		t.Fatalf("%d dead-lettered", len(e.dlq.sent))
	}
	reason := aws.ToString(e.dlq.sent[0].MessageAttributes[contract.AttrFailureReason].StringValue)
	if !strings.HasPrefix(reason, "retries-exhausted after 30 attempts over 23h30m0s: processor: forward: receiver answered 503") {
		t.Errorf("reason %q", reason)
	}
	if !strings.Contains(e.stats.String(), `"GaveUp":1`) {
		t.Errorf("no GaveUp metric: %s", e.stats)
	}

	e, hd = retryEnv(t)
	e.sec.err = errors.New("AccessDenied")
	failed = e.handle(t, context.Background(), attempt(t, "A", "a1", 30, 30*time.Hour))
	if len(failed) != 1 || len(e.dlq.sent) != 0 || hd.delays["rh-a1"] != 3600 {
		t.Errorf("unreadable secret: failed %v, DLQ %d, delays %v", failed, len(e.dlq.sent), hd.delays)
	}
}

// TestBreakerStopsCallingADeadDestination: once the destination failed for
// three groups in a row, later records fail at once without a call, hidden
// until the breaker may close; a success after that closes it.
func TestBreakerStopsCallingADeadDestination(t *testing.T) {
	e, hd := retryEnv(t)
	calls := 0
	var clock = now
	e.h.Now = func() time.Time { return clock }
	down := true
	e.h.Processor = processor.Func(func(context.Context, contract.Message) error {
		calls++
		if down {
			return errors.New("503")
		}
		return nil
	})
	var batch []events.SQSMessage
	for g := 0; g < 6; g++ {
		batch = append(batch, attempt(t, fmt.Sprint("G", g), fmt.Sprint("e", g), 1, 0))
	}
	e.handle(t, context.Background(), batch...)
	if calls != 3 {
		t.Errorf("%d calls to a dead destination for 6 groups, want 3 before the breaker opens", calls)
	}
	if d := hd.delays["rh-e5"]; d < 29 || d > 30 {
		t.Errorf("a record refused by the open breaker waits %d s, want until it may close (30 s)", d)
	}
	clock = clock.Add(31 * time.Second)
	down = false
	e.handle(t, context.Background(), attempt(t, "G9", "e9", 1, 0), attempt(t, "G8", "e8", 1, 0))
	if calls != 5 {
		t.Errorf("after the breaker's time: %d calls, want both records tried", calls)
	}
}
