package awsfake_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/hookline/hookline/internal/local/awsfake"
	"github.com/hookline/hookline/internal/testing/harness"
)

// TestSendMessageBatch: a batch's entries are enqueued in order, each
// refused or sent as SendMessage would be and reported on its own under a
// 200 (a repeated deduplication id answered as sent and dropped); a batch
// of more than 10 entries, or repeated entry ids, is refused as a whole.
func TestSendMessageBatch(t *testing.T) {
	srv := awsfake.New(nil)
	defer srv.Close()
	const queue = "https://sqs.eu-west-1.amazonaws.com/123456789012/q.fifo"
	srv.AddQueue(queue, "arn:q")
	client := sqs.New(sqs.Options{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
		HTTPClient:  harness.FreshConnections(), Retryer: harness.ConnectionRetries(1)})
	ctx := context.Background()
	entry := func(id, group, dedup string) types.SendMessageBatchRequestEntry {
		return types.SendMessageBatchRequestEntry{Id: aws.String(id), MessageBody: aws.String("body " + id),
			MessageGroupId: aws.String(group), MessageDeduplicationId: aws.String(dedup)}
	}
	out, err := client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(queue), Entries: []types.SendMessageBatchRequestEntry{
		entry("m0", "g", "d0"), entry("m1", "g", "bad id with spaces"), entry("m2", "g", "d2"), entry("m3", "g", "d0"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Successful) != 3 || len(out.Failed) != 1 || aws.ToString(out.Failed[0].Id) != "m1" || aws.ToString(out.Failed[0].Code) != "InvalidParameterValue" {
		t.Fatalf("successful %d, failed %+v", len(out.Successful), out.Failed)
	}
	var bodies []string
	for _, m := range srv.Queue(queue) {
		bodies = append(bodies, m.Body)
	}
	if strings.Join(bodies, ",") != "body m0,body m2" {
		t.Errorf("queue holds %v, want m0 then m2 (m3 repeats m0's deduplication id)", bodies)
	}
	if sent := srv.Sent(); len(sent) != 3 || !sent[2].Dropped {
		t.Errorf("sent %+v", sent)
	}
	var eleven []types.SendMessageBatchRequestEntry
	for i := range 11 {
		eleven = append(eleven, entry(fmt.Sprint("m", i), "g", fmt.Sprint("e", i)))
	}
	for name, entries := range map[string][]types.SendMessageBatchRequestEntry{
		"AWS.SimpleQueueService.TooManyEntriesInBatchRequest": eleven,
		"AWS.SimpleQueueService.BatchEntryIdsNotDistinct":     {entry("m0", "g", "x"), entry("m0", "g", "y")},
	} {
		if _, err := client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(queue), Entries: entries}); apiCode(err) == "" || !strings.Contains(err.Error(), strings.TrimPrefix(name, "AWS.SimpleQueueService.")) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
