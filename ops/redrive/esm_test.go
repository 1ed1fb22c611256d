package redrive_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/handler/consumer"
)

// esmPoll is one poll of the Lambda event source mapping: receive up to max
// messages (with the queue's 30 s visibility), hand them to the handler as
// Lambda would (receipt handles and SQS's system attributes included), and
// delete what it did not report as failed. It returns the records handled.
func esmPoll(t *testing.T, ctx context.Context, client *sqs.Client, queueURL string, max int32, h *consumer.Handler) int {
	t.Helper()
	out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), MaxNumberOfMessages: max,
		VisibilityTimeout: 30, MessageAttributeNames: []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll}})
	if err != nil {
		t.Fatal(err)
	}
	recs := make([]contract.Record, len(out.Messages))
	for i, m := range out.Messages {
		r := contract.Record{MessageID: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
			GroupID: m.Attributes["MessageGroupId"], DeduplicationID: m.Attributes["MessageDeduplicationId"],
			SequenceNumber: m.Attributes["SequenceNumber"], Body: []byte(aws.ToString(m.Body))}
		r.ReceiveCount, _ = strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
		r.SentAt, _ = strconv.ParseInt(m.Attributes["SentTimestamp"], 10, 64)
		r.FirstReceivedAt, _ = strconv.ParseInt(m.Attributes["ApproximateFirstReceiveTimestamp"], 10, 64)
		for k, v := range m.MessageAttributes {
			r.Attrs = append(r.Attrs, contract.Attr{Name: k, Value: aws.ToString(v.StringValue)})
		}
		recs[i] = r
	}
	if len(recs) == 0 {
		return 0
	}
	// The invocation's deadline is real time, as Lambda's is: a minute from
	// now on the real clock, whatever the simulated one says.
	hctx, cancel := context.WithTimeout(ctx, time.Minute)
	resp, err := h.HandleRecords(hctx, recs)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	failed := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	for _, m := range out.Messages {
		if !failed[aws.ToString(m.MessageId)] {
			if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return len(recs)
}
