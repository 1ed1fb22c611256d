package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/handler/build"
	"github.com/hookline/hookline/handler/seal"
	"github.com/hookline/hookline/internal/local/awsfake"
	"github.com/hookline/hookline/internal/local/lambdaemu"
	"github.com/hookline/hookline/internal/testing/harness"
	"github.com/hookline/hookline/internal/testing/kmspeer"
	"github.com/hookline/hookline/internal/testing/nodepeer"
	"github.com/hookline/hookline/ops/archive"
)

// TestArchiveAndReplayUnderEmulator is the archive end to end: the real
// handler binary under the Lambda emulator archives a batch through the real
// Firehose client (to the Firehose double, delivering GZIP objects to a real
// S3 server, s3rver); a replay of a window and a group re-sends exactly the
// chosen deliveries, in their original order, sealed with the stack's key in
// a KMS peer; the same handler processes the copies (their signatures,
// hours old, verify against the sealed receipt time); and the same replay
// run again sends nothing.
func TestArchiveAndReplayUnderEmulator(t *testing.T) {
	rie, err := lambdaemu.FindRIE("..")
	if err != nil {
		t.Skipf("%v (make test installs it)", err)
	}
	bootstrap := harness.Bootstrap(t, build.Emulator) // built before any deadline starts
	const bucket, stream = "hookline-test-archive", "hookline-test-partners-archive"
	s3c := nodepeer.Bucket(t, bucket)
	fh := awsfake.NewFirehose(s3c)
	defer fh.Close()
	if err := fh.AddStream(awsfake.Stream{Name: stream, Bucket: bucket, Prefix: contract.ArchivePrefixExpression("partners")}); err != nil {
		t.Fatal(err)
	}
	kmsPeer := kmspeer.Start(t)
	sealer := seal.KMS{API: kmsPeer.Client, KeyID: kmsPeer.KeyArn}
	fake := awsfake.New(map[string]string{"/hookline/test/partners/signing-secret": testSecret})
	defer fake.Close()
	const queueURL = "https://sqs.us-east-1.amazonaws.com/123456789012/hookline-test-partners.fifo"
	fake.AddQueue(queueURL, "arn:aws:sqs:us-east-1:123456789012:hookline-test-partners.fifo")

	cfg := contract.HandlerConfig{Source: "partners", Scheme: contract.SchemeStandardWebhooks, SecretParameter: "/hookline/test/partners/signing-secret",
		Tolerance: 5 * time.Minute, Processor: contract.ProcessorLog, Attributes: partners.Attributes()}
	env := append(kmsPeer.Env(), append(fh.Env(), contract.EnvSealKey+"="+kmsPeer.KeyArn, contract.EnvArchiveStream+"="+stream)...)
	ctx, emu, _ := startHandler(t, rie, bootstrap, fake, cfg, append(env, "AWS_LAMBDA_LOG_LEVEL=DEBUG")...)

	// Three deliveries in each of groups A and B, received 40, 30 and 20
	// minutes ago, all in one batch (sequence numbers as SQS gives them).
	now := time.Now().Truncate(time.Second)
	var batch []events.SQSMessage
	for i, ago := range []time.Duration{40, 30, 20} {
		for g, group := range []string{"A", "B"} {
			r := record(t, group, fmt.Sprintf("%s%d", group, i+1), now.Add(-ago*time.Minute))
			r.Attributes["SequenceNumber"] = fmt.Sprintf("188494964604676961%02d", i*2+g)
			batch = append(batch, r)
		}
	}
	invoke := func(recs []events.SQSMessage) []string {
		t.Helper()
		logged := strings.Count(emu.Logs(), `"outcome":`)
		if failed := invokeBatch(t, ctx, emu, recs); len(failed) != 0 {
			t.Fatalf("%v retried: want every record acknowledged\n%s", failed, emu.Logs())
		}
		var ok []string
		// The count is of the whole output: wait for this batch's lines.
		emu.WaitForLog(`"outcome":`, logged+len(recs), 5*time.Second)
		for _, line := range strings.Split(emu.Logs(), "\n") {
			var l map[string]any
			if json.Unmarshal([]byte(line), &l) == nil && l["outcome"] == "ok" {
				ok = append(ok, fmt.Sprint(l["eventId"]))
			}
		}
		return ok
	}
	if ok := invoke(batch); len(ok) != 6 {
		t.Fatalf("first deliveries: %d ok, want 6\n%s", len(ok), emu.Logs())
	}
	if len(fh.Buffered(stream)) != 6 {
		t.Fatalf("%d records archived, want the 6 deliveries and no outcomes (an all-ok batch)", len(fh.Buffered(stream)))
	}
	if err := fh.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}

	// Replay group A's deliveries received 35 to 15 minutes ago: A2, A3.
	q := archive.Query{Source: "partners", From: now.Add(-35 * time.Minute), To: now.Add(-15 * time.Minute), Groups: []string{"A"}}
	found, err := archive.Search(context.Background(), s3c, bucket, q)
	if err != nil {
		t.Fatal(err)
	}
	if got := eventIDs(found.Deliveries); got != "A2 A3" {
		t.Fatalf("search found %q, want A2 A3", got)
	}
	sqsc := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(fake.URL), Credentials: aws.AnonymousCredentials{},
		HTTPClient: harness.FreshConnections()})
	replay := func() *archive.Result {
		t.Helper()
		res, err := archive.Replay(context.Background(), s3c, sqsc, archive.Target{Bucket: bucket, QueueURL: queueURL}, archive.Options{Query: q, Sealer: sealer})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := replay()
	sent := fake.Sent()
	if res.Sent != 2 || len(sent) != 2 {
		t.Fatalf("replay sent %d (%d reached SQS), want 2: %+v", res.Sent, len(sent), res)
	}
	for i, s := range sent {
		want := "m-A" + strconv.Itoa(i+2)
		if s.GroupID != "A" || s.DeduplicationID != contract.ReplayDeduplicationID(res.ID, want) {
			t.Errorf("copy %d: group %s dedup id %s, want A and %s", i, s.GroupID, s.DeduplicationID, contract.ReplayDeduplicationID(res.ID, want))
		}
	}

	// The consumer gets the copies as SQS delivers them, received now.
	out, err := sqsc.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10,
		MessageAttributeNames: []string{"All"}, MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll}})
	if err != nil || len(out.Messages) != 2 {
		t.Fatalf("receive the copies: %v, %d", err, len(out.Messages))
	}
	var copies []events.SQSMessage
	for _, m := range out.Messages {
		copies = append(copies, asEvent(m))
	}
	before := len(strings.Split(emu.Logs(), "\n"))
	if ok := invoke(copies); fmt.Sprint(ok[len(ok)-2:]) != "[A2 A3]" {
		t.Errorf("the copies were not both processed, in order: ok %v\n%s", ok, strings.Join(strings.Split(emu.Logs(), "\n")[before:], "\n"))
	}

	// Run again: the checkpoint says both were sent.
	if again := replay(); again.Sent != 0 || again.AlreadySent != 2 || len(fake.Sent()) != 2 {
		t.Errorf("a second run of the replay: %+v, %d sent in all", again, len(fake.Sent()))
	}
}

func eventIDs(ds []archive.Delivery) string {
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.Entry.EventID)
	}
	return strings.Join(ids, " ")
}

// asEvent is an SQS message as the Lambda event source mapping hands it on.
func asEvent(m sqstypes.Message) events.SQSMessage {
	e := events.SQSMessage{MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body),
		Attributes: m.Attributes, MessageAttributes: map[string]events.SQSMessageAttribute{}, EventSource: "aws:sqs"}
	for k, v := range m.MessageAttributes {
		e.MessageAttributes[k] = events.SQSMessageAttribute{StringValue: v.StringValue, DataType: aws.ToString(v.DataType)}
	}
	return e
}
