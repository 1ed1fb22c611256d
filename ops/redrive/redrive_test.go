package redrive_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/internal/local/awsfake"
	"github.com/hookline/hookline/internal/testing/harness"
	"github.com/hookline/hookline/ops/redrive"
)

var q = redrive.Queues{
	QueueURL: "https://sqs.eu-west-1.amazonaws.com/123456789012/hookline-dev-payments.fifo",
	QueueArn: "arn:aws:sqs:eu-west-1:123456789012:hookline-dev-payments.fifo",
	DLQURL:   "https://sqs.eu-west-1.amazonaws.com/123456789012/hookline-dev-payments-dlq.fifo",
	DLQArn:   "arn:aws:sqs:eu-west-1:123456789012:hookline-dev-payments-dlq.fifo",
	Source:   "payments",
}

// sealer stands in for the stack's seal key.
var sealer = harness.NewSealer()

// setup serves the DLQ (with msgs) and the source queue over the SQS JSON
// protocol, and returns the real SDK client pointed at it, making at most
// retries attempts of a call SQS answers with an error. With 1 it meets
// every SQS error (an injected fault) on its first attempt and retries a
// broken connection only (harness.ConnectionRetries).
func setup(t *testing.T, retries int, msgs ...awsfake.Message) (*awsfake.Server, *sqs.Client) {
	srv := awsfake.New(nil)
	t.Cleanup(srv.Close)
	srv.AddQueue(q.DLQURL, q.DLQArn, msgs...)
	srv.AddQueue(q.QueueURL, q.QueueArn)
	o := sqs.Options{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: retries,
		HTTPClient: harness.FreshConnections()}
	if retries == 1 {
		o.RetryMaxAttempts, o.Retryer = 0, harness.ConnectionRetries(3)
	}
	return srv, sqs.New(o)
}

func msg(group string, n int) awsfake.Message {
	id := fmt.Sprintf("%s-%d", group, n)
	return awsfake.Message{ID: id, Body: fmt.Sprintf(`{"n":%d}`, n), GroupID: group, DeduplicationID: "evt_" + id,
		Attributes: map[string]string{contract.AttrSource: "payments", contract.AttrEventID: "evt_" + id, contract.AttrFailureReason: "processor"}}
}

// ids lists the sender's event ids of a queue's messages, in order: what
// a move keeps (the deduplication id is the move's own).
func ids(ms []awsfake.Message) string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Attributes[contract.AttrEventID])
	}
	return strings.Join(out, ",")
}

// TestWholeQueueIsReSentSealed: a redrive of the whole DLQ re-sends every
// message itself, in order, each with its receipt time sealed — never with
// SQS's message move task, whose copies would reach the handler with a new
// SentTimestamp and no seal, so every signed delivery older than its
// tolerance would be refused.
func TestWholeQueueIsReSentSealed(t *testing.T) {
	received := time.Now().Add(-3 * time.Hour).Truncate(time.Millisecond)
	a1 := msg("a", 1)
	a1.Attributes[contract.AttrReceivedAt] = fmt.Sprint(received.UnixMilli())
	srv, client := setup(t, 1, a1, msg("b", 1), msg("a", 2))
	var progress []string
	var counts []int
	res, err := redrive.Run(context.Background(), client, q, redrive.Options{Sealer: sealer, Wait: time.Millisecond,
		Progress: func(s string) { progress = append(progress, s) },
		Moved:    func(moved, _ int) { counts = append(counts, moved) }})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(counts) != "[1 2 3]" {
		t.Errorf("counts reported: %v", counts)
	}
	if res.Moved != 3 || len(srv.Queue(q.DLQURL)) != 0 || ids(srv.Queue(q.QueueURL)) != "evt_a-1,evt_b-1,evt_a-2" {
		t.Errorf("moved %d; DLQ %d, queue %s", res.Moved, len(srv.Queue(q.DLQURL)), ids(srv.Queue(q.QueueURL)))
	}
	if len(progress) != 3 {
		t.Errorf("progress: %v", progress)
	}
	if calls := strings.Join(srv.Calls(), ","); strings.Contains(calls, "MessageMoveTask") {
		t.Errorf("calls: %s", calls)
	}
	for _, m := range srv.Queue(q.QueueURL) {
		at, err := contract.OpenSeal(context.Background(), sealer, "payments", []byte(m.Body), m.Attributes[contract.AttrSeal])
		if err != nil {
			t.Errorf("%s: seal %q: %v", m.Attributes[contract.AttrEventID], m.Attributes[contract.AttrSeal], err)
			continue
		}
		// a-1 carried its receipt time; the others only their arrival in
		// the DLQ, which is what they are sealed with.
		if m.Attributes[contract.AttrEventID] == "evt_a-1" && !at.Equal(received) {
			t.Errorf("a-1 sealed at %s, received %s", at, received)
		}
	}
	// Without the stack's seal key nothing moves.
	if _, err := redrive.Run(context.Background(), client, q, redrive.Options{}); !errors.Is(err, redrive.ErrNoSealer) {
		t.Errorf("no sealer: %v", err)
	}
}

func TestSelectiveGroupKeepsOrderAndIDs(t *testing.T) {
	srv, client := setup(t, 1, msg("a", 1), msg("b", 1), msg("a", 2), msg("a", 3), msg("b", 2))
	var counts []int
	res, err := redrive.Run(context.Background(), client, q, redrive.Options{Sealer: sealer, Group: "a", Moved: func(moved, toMove int) {
		if toMove != 0 {
			t.Errorf("a selective redrive cannot know how many it will move, reported %d", toMove)
		}
		counts = append(counts, moved)
	}})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(counts) != "[1 2 3]" {
		t.Errorf("counts reported: %v", counts)
	}
	if res.Moved != 3 || ids(srv.Queue(q.QueueURL)) != "evt_a-1,evt_a-2,evt_a-3" {
		t.Errorf("moved %d: %s", res.Moved, ids(srv.Queue(q.QueueURL)))
	}
	if ids(srv.Queue(q.DLQURL)) != "evt_b-1,evt_b-2" {
		t.Errorf("left in the DLQ: %s", ids(srv.Queue(q.DLQURL)))
	}
	for _, m := range srv.Queue(q.QueueURL) {
		if m.GroupID != "a" || m.Attributes[contract.AttrFailureReason] != "" || m.Attributes[contract.AttrSource] != "payments" {
			t.Errorf("re-sent message %+v", m)
		}
	}
	// The other group's messages were released, not left hidden.
	srv2 := srv.Queue(q.DLQURL)
	if len(srv2) != 2 {
		t.Fatal(srv2)
	}
	res2, err := redrive.Run(context.Background(), client, q, redrive.Options{Sealer: sealer, Group: "b"})
	if err != nil || res2.Moved != 2 {
		t.Errorf("second run: %+v %v", res2, err)
	}
}

func TestMax(t *testing.T) {
	srv, client := setup(t, 1, msg("a", 1), msg("a", 2), msg("a", 3))
	res, err := redrive.Run(context.Background(), client, q, redrive.Options{Sealer: sealer, Max: 2})
	if err != nil || res.Moved != 2 || ids(srv.Queue(q.DLQURL)) != "evt_a-3" {
		t.Errorf("moved %d, DLQ %s, %v", res.Moved, ids(srv.Queue(q.DLQURL)), err)
	}
}

// TestFailedSendStopsTheGroup: a send that fails (not retryable) stops its
// group — the message and everything after it stay in the DLQ, in order —
// while other groups go on.
func TestFailedSendStopsTheGroup(t *testing.T) {
	srv, client := setup(t, 1, msg("a", 1), msg("b", 1), msg("a", 2), msg("b", 2))
	srv.FailWith("AmazonSQS.SendMessage", 2, awsfake.Fault{Status: 400, Type: "InvalidParameterValue"}) // b-1
	res, err := redrive.Run(context.Background(), client, q, redrive.Options{Sealer: sealer, Max: 100})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(srv.Queue(q.QueueURL)); got != "evt_a-1,evt_a-2" {
		t.Errorf("source queue: %s", got)
	}
	if got := ids(srv.Queue(q.DLQURL)); got != "evt_b-1,evt_b-2" {
		t.Errorf("DLQ keeps group b in order: %s", got)
	}
	if len(res.Failed) != 1 || !strings.Contains(res.Failed[0], "group b") {
		t.Errorf("failed: %v", res.Failed)
	}
}

// TestThrottlingIsRetried: SQS throttling is retried by the SDK; nothing is
// lost or duplicated.
func TestThrottlingIsRetried(t *testing.T) {
	srv, client := setup(t, 3, msg("a", 1), msg("a", 2))
	srv.FailWith("AmazonSQS.SendMessage", 1, awsfake.Fault{Status: 400, Type: "ThrottlingException"})
	srv.FailWith("AmazonSQS.SendMessage", 2, awsfake.Fault{Status: 400, Type: "ThrottlingException"})
	res, err := redrive.Run(context.Background(), client, q, redrive.Options{Sealer: sealer, Max: 10})
	if err != nil || res.Moved != 2 {
		t.Fatalf("moved %d, %v", res.Moved, err)
	}
	if ids(srv.Queue(q.QueueURL)) != "evt_a-1,evt_a-2" || len(srv.Queue(q.DLQURL)) != 0 {
		t.Errorf("queue %s, DLQ %s", ids(srv.Queue(q.QueueURL)), ids(srv.Queue(q.DLQURL)))
	}
}

// TestDeleteFailureNeverLoses: a delete that fails after the send leaves a
// copy in both queues; a second run's send, under the same deduplication id
// inside the window, is absorbed by FIFO deduplication.
func TestDeleteFailureNeverLoses(t *testing.T) {
	srv, client := setup(t, 1, msg("a", 1))
	srv.FailWith("AmazonSQS.DeleteMessage", 1, awsfake.Fault{Status: 500, Type: "InternalError"})
	res, err := redrive.Run(context.Background(), client, q, redrive.Options{Sealer: sealer, Max: 1})
	if err != nil || len(res.Warning) != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	if len(srv.Queue(q.QueueURL)) != 1 || len(srv.Queue(q.DLQURL)) != 1 {
		t.Fatalf("queue %d, DLQ %d", len(srv.Queue(q.QueueURL)), len(srv.Queue(q.DLQURL)))
	}
	// The DLQ copy's visibility timeout passes; a second run sends it again
	// with the same deduplication id, which the FIFO queue drops.
	srv.ExpireVisibility()
	res, err = redrive.Run(context.Background(), client, q, redrive.Options{Sealer: sealer, Max: 1, Wait: time.Millisecond})
	if err != nil || res.Moved != 1 {
		t.Fatalf("second run: %+v %v", res, err)
	}
	if len(srv.Queue(q.QueueURL)) != 1 || len(srv.Queue(q.DLQURL)) != 0 {
		t.Errorf("queue %s, DLQ %s: deduplication should leave exactly one copy", ids(srv.Queue(q.QueueURL)), ids(srv.Queue(q.DLQURL)))
	}
}

func TestInterruptLosesNothing(t *testing.T) {
	srv, client := setup(t, 1, msg("a", 1), msg("a", 2), msg("a", 3), msg("b", 1))
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	res, err := redrive.Run(ctx, client, q, redrive.Options{Sealer: sealer, Group: "a", Progress: func(string) {
		if n++; n == 1 {
			cancel()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	total := len(srv.Queue(q.QueueURL)) + len(srv.Queue(q.DLQURL))
	if total != 4 || res.Moved != len(srv.Queue(q.QueueURL)) {
		t.Errorf("moved %d; queue %s; DLQ %s", res.Moved, ids(srv.Queue(q.QueueURL)), ids(srv.Queue(q.DLQURL)))
	}
}

func TestDryRun(t *testing.T) {
	srv, client := setup(t, 1, msg("a", 1), msg("b", 1))
	res, err := redrive.Run(context.Background(), client, q, redrive.Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Moved != 0 || len(res.Listed) != 2 || len(srv.Queue(q.DLQURL)) != 2 || len(srv.Queue(q.QueueURL)) != 0 {
		t.Fatalf("%+v", res)
	}
	e := res.Listed[0]
	if e.Group != "a" || e.EventID != "evt_a-1" || e.Reason != "processor" || e.ReceiveCount != 1 || e.Age < 59*time.Minute {
		t.Errorf("entry %+v", e)
	}
}

// TestRedriveInsideTheWindowLosesNothing: an event sent to the source queue,
// dead-lettered and redriven within SQS's 5-minute deduplication window —
// twice, the redriven copy being rejected again — arrives in the source
// queue each time. Re-sending it under the sender's deduplication id (as
// redrive did) made SQS answer success and drop it: moved=1, in neither queue.
func TestRedriveInsideTheWindowLosesNothing(t *testing.T) {
	srv, client := setup(t, 1)
	clock := time.Now()
	srv.SetClock(func() time.Time { return clock })
	ctx := context.Background()
	attrs := map[string]types.MessageAttributeValue{
		contract.AttrSource:  {DataType: aws.String("String"), StringValue: aws.String("payments")},
		contract.AttrEventID: {DataType: aws.String("String"), StringValue: aws.String("evt_1")},
	}
	// The sender's webhook reaches the source queue: evt_1's window opens.
	if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.QueueURL), MessageBody: aws.String(`{"n":1}`),
		MessageGroupId: aws.String("a"), MessageDeduplicationId: aws.String("evt_1"), MessageAttributes: attrs}); err != nil {
		t.Fatal(err)
	}
	for round := 1; round <= 2; round++ {
		clock = clock.Add(time.Minute)
		// A consumer rejects it and moves it to the DLQ keeping its
		// deduplication id (as hookline's handler did before it used ids of
		// its own: DLQs hold such copies), then acknowledges it.
		got, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.QueueURL), MaxNumberOfMessages: 10,
			MessageAttributeNames: []string{"All"}, MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll}})
		if err != nil || len(got.Messages) != 1 {
			t.Fatalf("round %d: source queue has %d messages (%v); the redrive lost the event", round, len(got.Messages), err)
		}
		m := got.Messages[0]
		if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.DLQURL), MessageBody: m.Body,
			MessageGroupId: aws.String("a"), MessageDeduplicationId: aws.String(m.Attributes["MessageDeduplicationId"]),
			MessageAttributes: attrs}); err != nil {
			t.Fatal(err)
		}
		if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(q.QueueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
			t.Fatal(err)
		}
		if len(srv.Queue(q.DLQURL)) != 1 {
			t.Fatalf("round %d: the DLQ dropped the rejected copy", round)
		}
		// An operator redrives at once, still inside evt_1's window.
		clock = clock.Add(time.Minute)
		res, err := redrive.Run(ctx, client, q, redrive.Options{Sealer: sealer, Group: "a", Wait: time.Millisecond})
		if err != nil || res.Moved != 1 {
			t.Fatalf("round %d: %+v %v", round, res, err)
		}
		if got := ids(srv.Queue(q.QueueURL)); got != "evt_1" || len(srv.Queue(q.DLQURL)) != 0 {
			t.Fatalf("round %d: source queue %q, DLQ %d: the event was lost", round, got, len(srv.Queue(q.DLQURL)))
		}
	}
	for _, s := range srv.Sent() {
		if s.Dropped {
			t.Errorf("SQS dropped a send to %s with deduplication id %s", s.QueueURL, s.DeduplicationID)
		}
	}
}

// TestFakeKeepsTheWindow: the fake SQS keeps a deduplication id for 5
// minutes from its send, after the message is deleted, per queue (per group
// in high-throughput mode), as SQS documents — the tests above rely on it.
func TestFakeKeepsTheWindow(t *testing.T) {
	srv, client := setup(t, 1)
	perGroup := "https://sqs.eu-west-1.amazonaws.com/123456789012/hookline-dev-ht.fifo"
	srv.AddQueueWith(perGroup, "arn:ht", awsfake.QueueOptions{ContentBasedDeduplication: true, PerGroupDeduplication: true})
	clock := time.Now()
	srv.SetClock(func() time.Time { return clock })
	ctx := context.Background()
	send := func(url, group, dedup string) {
		t.Helper()
		in := &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("{}"), MessageGroupId: aws.String(group)}
		if dedup != "" {
			in.MessageDeduplicationId = aws.String(dedup)
		}
		if _, err := client.SendMessage(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	send(q.QueueURL, "a", "evt_1")
	got, _ := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.QueueURL)})
	if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(q.QueueURL), ReceiptHandle: got.Messages[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(4*time.Minute + 59*time.Second)
	send(q.QueueURL, "b", "evt_1") // another group, same queue: still a duplicate
	send(q.QueueURL, "a", "")      // content-based: SHA-256 of "{}"
	send(q.QueueURL, "a", "")      // the same body again: dropped
	send(perGroup, "a", "evt_1")
	send(perGroup, "b", "evt_1") // per group: not a duplicate
	clock = clock.Add(time.Second)
	send(q.QueueURL, "a", "evt_1") // 5 minutes after the first send: a new message
	var dropped []string
	for _, s := range srv.Sent() {
		if s.Dropped {
			dropped = append(dropped, s.GroupID+"/"+s.DeduplicationID)
		}
	}
	if strings.Join(dropped, ",") != "b/evt_1,a/" || len(srv.Queue(q.QueueURL)) != 2 || len(srv.Queue(perGroup)) != 2 {
		t.Errorf("dropped %v; queue %d, per-group queue %d", dropped, len(srv.Queue(q.QueueURL)), len(srv.Queue(perGroup)))
	}
}

// TestDepthCountsWithoutReceiving: Depth counts the DLQ's messages with
// GetQueueAttributes alone, so no message's receive count is raised.
func TestDepthCountsWithoutReceiving(t *testing.T) {
	srv, client := setup(t, 1, msg("a", 1), msg("b", 1), msg("a", 2))
	c, err := redrive.Depth(context.Background(), client, q.DLQURL)
	if err != nil || c.Visible != 3 || c.InFlight != 0 || c.Total() != 3 {
		t.Fatalf("%+v %v", c, err)
	}
	for _, call := range srv.Calls() {
		if call != "AmazonSQS.GetQueueAttributes" {
			t.Errorf("Depth called %s", call)
		}
	}
	if _, err := redrive.Depth(context.Background(), client, q.DLQURL+"-gone"); err == nil || !strings.Contains(err.Error(), "-gone") {
		t.Errorf("a queue that does not exist: %v", err)
	}
}

// TestSeenGroups: a redrive counts the messages it saw per group, so a
// group asked for that the whole scan never saw is known to be absent.
func TestSeenGroups(t *testing.T) {
	_, client := setup(t, 1, msg("a", 1), msg("b", 1), msg("a", 2))
	res, err := redrive.Run(context.Background(), client, q, redrive.Options{Groups: []string{"a", "zz"}, Sealer: sealer, Wait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Moved != 2 || !res.Complete || res.Seen["a"] != 2 || res.Seen["b"] != 1 || res.Seen["zz"] != 0 {
		t.Errorf("%+v", res)
	}
}
