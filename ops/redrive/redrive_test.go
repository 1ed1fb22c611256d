package redrive_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/internal/local/awsfake"
	"github.com/hookline/hookline/ops/redrive"
)

var q = redrive.Queues{
	QueueURL: "https://sqs.eu-west-1.amazonaws.com/123456789012/hookline-dev-payments.fifo",
	QueueArn: "arn:aws:sqs:eu-west-1:123456789012:hookline-dev-payments.fifo",
	DLQURL:   "https://sqs.eu-west-1.amazonaws.com/123456789012/hookline-dev-payments-dlq.fifo",
	DLQArn:   "arn:aws:sqs:eu-west-1:123456789012:hookline-dev-payments-dlq.fifo",
}

// setup serves the DLQ (with msgs) and the source queue over the SQS JSON
// protocol, and returns the real SDK client pointed at it.
func setup(t *testing.T, retries int, msgs ...awsfake.Message) (*awsfake.Server, *sqs.Client) {
	srv := awsfake.New(nil)
	t.Cleanup(srv.Close)
	srv.AddQueue(q.DLQURL, q.DLQArn, msgs...)
	srv.AddQueue(q.QueueURL, q.QueueArn)
	client := sqs.New(sqs.Options{
		Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), Credentials: aws.AnonymousCredentials{},
		RetryMaxAttempts: retries,
	})
	return srv, client
}

func msg(group string, n int) awsfake.Message {
	id := fmt.Sprintf("%s-%d", group, n)
	return awsfake.Message{ID: id, Body: fmt.Sprintf(`{"n":%d}`, n), GroupID: group, DeduplicationID: "evt_" + id,
		Attributes: map[string]string{contract.AttrSource: "payments", contract.AttrEventID: "evt_" + id, contract.AttrFailureReason: "processor"}}
}

func ids(ms []awsfake.Message) string {
	var out []string
	for _, m := range ms {
		out = append(out, m.DeduplicationID)
	}
	return strings.Join(out, ",")
}

func TestWholeQueueUsesMoveTask(t *testing.T) {
	srv, client := setup(t, 1, msg("a", 1), msg("b", 1), msg("a", 2))
	var progress []string
	res, err := redrive.Run(context.Background(), client, q, redrive.Options{Progress: func(s string) { progress = append(progress, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Moved != 3 || len(srv.Queue(q.DLQURL)) != 0 || len(srv.Queue(q.QueueURL)) != 3 {
		t.Errorf("moved %d; DLQ %d, queue %d", res.Moved, len(srv.Queue(q.DLQURL)), len(srv.Queue(q.QueueURL)))
	}
	if !strings.Contains(strings.Join(progress, "\n"), "COMPLETED: 3 of 3 moved") {
		t.Errorf("progress: %v", progress)
	}
	if calls := strings.Join(srv.Calls(), ","); !strings.Contains(calls, "AmazonSQS.StartMessageMoveTask") || strings.Contains(calls, "SendMessage") {
		t.Errorf("calls: %s", calls)
	}
}

func TestSelectiveGroupKeepsOrderAndIDs(t *testing.T) {
	srv, client := setup(t, 1, msg("a", 1), msg("b", 1), msg("a", 2), msg("a", 3), msg("b", 2))
	res, err := redrive.Run(context.Background(), client, q, redrive.Options{Group: "a"})
	if err != nil {
		t.Fatal(err)
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
	res2, err := redrive.Run(context.Background(), client, q, redrive.Options{Group: "b"})
	if err != nil || res2.Moved != 2 {
		t.Errorf("second run: %+v %v", res2, err)
	}
}

func TestMax(t *testing.T) {
	srv, client := setup(t, 1, msg("a", 1), msg("a", 2), msg("a", 3))
	res, err := redrive.Run(context.Background(), client, q, redrive.Options{Max: 2})
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
	res, err := redrive.Run(context.Background(), client, q, redrive.Options{Max: 100})
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
	res, err := redrive.Run(context.Background(), client, q, redrive.Options{Max: 10})
	if err != nil || res.Moved != 2 {
		t.Fatalf("moved %d, %v", res.Moved, err)
	}
	if ids(srv.Queue(q.QueueURL)) != "evt_a-1,evt_a-2" || len(srv.Queue(q.DLQURL)) != 0 {
		t.Errorf("queue %s, DLQ %s", ids(srv.Queue(q.QueueURL)), ids(srv.Queue(q.DLQURL)))
	}
}

// TestDeleteFailureNeverLoses: a delete that fails after the send leaves a
// copy in both queues; a second run's send is absorbed by FIFO deduplication.
func TestDeleteFailureNeverLoses(t *testing.T) {
	srv, client := setup(t, 1, msg("a", 1))
	srv.FailWith("AmazonSQS.DeleteMessage", 1, awsfake.Fault{Status: 500, Type: "InternalError"})
	res, err := redrive.Run(context.Background(), client, q, redrive.Options{Max: 1})
	if err != nil || len(res.Warning) != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	if len(srv.Queue(q.QueueURL)) != 1 || len(srv.Queue(q.DLQURL)) != 1 {
		t.Fatalf("queue %d, DLQ %d", len(srv.Queue(q.QueueURL)), len(srv.Queue(q.DLQURL)))
	}
	// The DLQ copy's visibility timeout passes; a second run sends it again
	// with the same deduplication id, which the FIFO queue drops.
	srv.ExpireVisibility()
	res, err = redrive.Run(context.Background(), client, q, redrive.Options{Max: 1, Wait: time.Millisecond})
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
	res, err := redrive.Run(ctx, client, q, redrive.Options{Group: "a", Progress: func(string) {
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
