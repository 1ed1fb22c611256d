package portal

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/internal/local/awsfake"
	"github.com/hookline/hookline/internal/testing/harness"
	"github.com/hookline/hookline/ops/redrive"
)

// TestDLQViewHidesNothing: the portal's view of a 1,000-message DLQ (one
// group per message, as with a group per customer) shows its 10 oldest
// with at most 2 receives and no visibility change, leaves all 1,000
// visible, and a redrive right after moves them all. The view used to make
// 101 receives and 1,000 visibility changes, hiding every message for 60 s:
// a redrive in that window moved nothing.
func TestDLQViewHidesNothing(t *testing.T) {
	fake := awsfake.New(nil)
	t.Cleanup(fake.Close)
	q := redrive.Queues{
		QueueURL: "https://sqs.eu-west-1.amazonaws.com/123456789012/hookline-pay-dev-orders.fifo",
		QueueArn: "arn:aws:sqs:eu-west-1:123456789012:hookline-pay-dev-orders.fifo",
		DLQURL:   "https://sqs.eu-west-1.amazonaws.com/123456789012/hookline-pay-dev-orders-dlq.fifo",
		DLQArn:   "arn:aws:sqs:eu-west-1:123456789012:hookline-pay-dev-orders-dlq.fifo",
	}
	var dead []awsfake.Message
	for i := 0; i < 1000; i++ {
		dead = append(dead, awsfake.Message{Body: `{"secret":"never shown"}`, GroupID: fmt.Sprintf("cus_%d", i), DeduplicationID: fmt.Sprintf("dlq-%d", i),
			Attributes: map[string]string{contract.AttrSource: "orders", contract.AttrEventID: fmt.Sprintf("evt_%d", i), contract.AttrFailureReason: "processor"}})
	}
	fake.AddQueue(q.QueueURL, q.QueueArn)
	fake.AddQueue(q.DLQURL, q.DLQArn, dead...)
	api := sqs.New(sqs.Options{Region: "eu-west-1", BaseEndpoint: aws.String(fake.URL), Credentials: aws.AnonymousCredentials{},
		HTTPClient: harness.FreshConnections()})
	ctx := context.Background()

	v, err := viewDLQ(ctx, api, q, "orders")
	if err != nil {
		t.Fatal(err)
	}
	if v.Depth != 1000 || len(v.Oldest) != maxListed || v.Oldest[0].EventID != "evt_0" || v.Oldest[0].ReceiveCount != 1 {
		t.Fatalf("view: depth %d, %d listed, first %+v", v.Depth, len(v.Oldest), v.Oldest)
	}
	n := map[string]int{}
	for _, c := range fake.Calls() {
		n[c]++
	}
	if got, limit := n["AmazonSQS.ReceiveMessage"], (len(v.Oldest)+9)/10+1; got > limit {
		t.Errorf("%d receives to show %d, want at most %d", got, len(v.Oldest), limit)
	}
	if n["AmazonSQS.ChangeMessageVisibility"] != 0 {
		t.Errorf("%d visibility changes", n["AmazonSQS.ChangeMessageVisibility"])
	}
	again, err := viewDLQ(ctx, api, q, "orders")
	if err != nil || again.Depth != 1000 || again.InFlight != 0 {
		t.Errorf("after the view: depth %d, in flight %d, %v", again.Depth, again.InFlight, err)
	}
	res, err := redrive.Run(ctx, api, q, redrive.Options{Sealer: harness.NewSealer(), Max: 1000, Wait: time.Millisecond})
	if err != nil || res.Moved != 1000 || len(fake.Queue(q.DLQURL)) != 0 {
		t.Errorf("a redrive right after the views: %+v %v", res, err)
	}
}
