package redrive_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/handler/consumer"
	"github.com/hookline/hookline/handler/processor"
	"github.com/hookline/hookline/internal/testing/harness"
	"github.com/hookline/hookline/internal/testing/nodepeer"
)

// TestOutageAgainstFauxqs runs the outage scenario against fauxqs, an SQS
// emulator written by others (FIFO group locking, ChangeMessageVisibility-
// Batch, redrive policies), in real time and shrunk to seconds: a forward
// destination failing for its first 3 s, the consumer retrying on a 1 s / 2
// s schedule. Every webhook is delivered, each group in order, none
// dead-lettered, and the failed records come back after the consumer's
// delays — the receive hides them for 30 s, so a peer that ignored the
// visibility change would not deliver them before the test's 20 s guard.
func TestOutageAgainstFauxqs(t *testing.T) {
	endpoint := nodepeer.Fauxqs(t)
	client := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""), HTTPClient: harness.FreshConnections()})
	ctx := context.Background()
	mk := func(name string, attrs map[string]string) (url, arn string) {
		attrs["FifoQueue"], attrs["ContentBasedDeduplication"] = "true", "true"
		out, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
		if err != nil {
			t.Fatalf("create %s in fauxqs: %v", name, err)
		}
		a, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: out.QueueUrl,
			AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.QueueUrl), a.Attributes["QueueArn"]
	}
	dlqURL, dlqArn := mk("hookline-dev-payments-dlq.fifo", map[string]string{})
	queueURL, _ := mk("hookline-dev-payments.fifo", map[string]string{
		"RedrivePolicy": fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"50"}`, dlqArn)})

	var mu sync.Mutex
	var received []string
	calls := 0
	up := time.Now().Add(3 * time.Second)
	dest := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if time.Now().Before(up) {
			calls++
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		received = append(received, r.Header.Get("X-Hookline-Group")+"/"+string(b))
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(dest.Close)

	cfg := contract.HandlerConfig{Source: "payments", Scheme: contract.SchemeNone, DLQURL: dlqURL, QueueURL: queueURL,
		Attributes: outageSpec.Attributes(), Processor: contract.ProcessorForward, ForwardURL: dest.URL, ForwardSecret: "/forward",
		Retry: contract.RetryPolicy{Schedule: contract.ScheduleExponential, Base: time.Second, MaxDelay: 2 * time.Second, MaxAge: time.Minute}}
	fwd, err := processor.New(cfg, processor.Deps{Secrets: staticSecrets{"/forward": {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}}, HTTP: dest.Client(), Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	h := &consumer.Handler{Config: cfg, Processor: fwd, DLQ: client, Visibility: client, Sealer: sealer,
		Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), Metrics: io.Discard, Now: time.Now, Reserve: time.Second}

	const groups, perGroup = 4, 3
	sendWebhooks(t, ctx, client, queueURL, groups, perGroup, time.Now())
	guard := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(received)
		mu.Unlock()
		if n == groups*perGroup || time.Now().After(guard) {
			break
		}
		if esmPoll(t, ctx, client, queueURL, 10, h) == 0 {
			time.Sleep(100 * time.Millisecond)
		}
	}
	d, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(dlqURL),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages}})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("fauxqs: %d delivered, %d calls during the 3 s outage, DLQ %s", len(received), calls, d.Attributes["ApproximateNumberOfMessages"])
	if len(received) != groups*perGroup || d.Attributes["ApproximateNumberOfMessages"] != "0" {
		t.Fatalf("delivered %d of %d, DLQ %s", len(received), groups*perGroup, d.Attributes["ApproximateNumberOfMessages"])
	}
	checkOrder(t, received)
}
