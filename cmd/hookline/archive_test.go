package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/handler/seal"
	"github.com/hookline/hookline/internal/local/awsfake"
	"github.com/hookline/hookline/internal/testing/harness"
	"github.com/hookline/hookline/internal/testing/kmspeer"
	"github.com/hookline/hookline/internal/testing/nodepeer"
)

const (
	archiveBucket = "hookline-dev-archive-111122223333"
	archiveQueue  = "https://sqs.eu-west-1.amazonaws.com/111122223333/hookline-dev-open.fifo"
)

// archiveEnv is a deployed stack with its archive: the outputs (source
// "open", the archive bucket, the seal key in the KMS peer), s3rver holding
// the bucket as the source's Firehose stream (the double) wrote it — six
// deliveries in groups cus_1 and cus_2, two hours ago, one of them
// rejected and one a redrive copy — and a fake SQS with the source queue;
// the environment points the CLI's AWS SDK at all three.
type archiveEnv struct {
	dir     string
	sqs     *awsfake.Server
	kms     *kmspeer.Peer
	s3      *s3.Client
	at      time.Time // the first delivery's receipt
	outputs map[string]any
}

func newArchiveEnv(t *testing.T) *archiveEnv {
	t.Helper()
	e := &archiveEnv{dir: schemesProject(t), sqs: awsfake.New(nil), kms: kmspeer.Start(t)}
	t.Cleanup(e.sqs.Close)
	e.sqs.AddQueue(archiveQueue, "arn:queue-open")
	endpoint := nodepeer.S3rver(t)
	e.s3 = nodepeer.S3Client(endpoint)
	if _, err := e.s3.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(archiveBucket)}); err != nil {
		t.Fatal(err)
	}
	for _, kv := range append(append(e.sqs.Env(), e.kms.Env()...), "AWS_ENDPOINT_URL_S3="+endpoint, "AWS_REGION=eu-west-1") {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	e.outputs = map[string]any{"environment": "dev", "region": "eu-west-1", "ingress": "rest", "endpoint": "https://x",
		"apiId": "abc", "invokeUrl": "https://x", "stage": "dev", "alarmTopicArn": "arn:topic", "dashboardName": "hookline-dev",
		"sealKey": e.kms.KeyArn, "archiveBucket": archiveBucket, "archiveTable": "hookline_dev.deliveries", "archiveWorkgroup": "hookline-dev",
		"sources": map[string]any{"open": map[string]any{"url": "https://x/open", "queueUrl": archiveQueue, "queueArn": "arn:queue-open",
			"dlqUrl": "https://d", "dlqArn": "arn:dlq", "functionName": "hookline-dev-open", "auth": "apiKey", "archiveStream": "hookline-dev-open-archive"}}}
	withOutputs(t, e.dir, e.outputs)

	fh := awsfake.NewFirehose(e.s3)
	t.Cleanup(fh.Close)
	if err := fh.AddStream(awsfake.Stream{Name: "hookline-dev-open-archive", Bucket: archiveBucket, Prefix: contract.ArchivePrefixExpression("open")}); err != nil {
		t.Fatal(err)
	}
	e.at = time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Minute)
	fh.SetClock(func() time.Time { return e.at })
	var recs []fhtypes.Record
	for i, g := range []string{"cus_1", "cus_2", "cus_1", "cus_2", "cus_1", "cus_1"} {
		body := fmt.Sprintf(`{"id":"evt_%d","type":"invoice.paid"}`, i)
		dedup := fmt.Sprint("evt_", i)
		if i == 5 {
			dedup = contract.ResendDeduplicationID(contract.ResendRedrive, "m-dlq")
		}
		d := contract.ArchiveEntry{Kind: contract.ArchiveDelivery, Source: "open", MessageID: fmt.Sprint("m-", i), Group: g,
			ArchivedAt: e.at.Add(time.Duration(i)*time.Minute + time.Second).UnixMilli(), DeduplicationID: dedup,
			SequenceNumber: fmt.Sprintf("%020d", 100+i), ReceiveCount: 1, SentAt: e.at.Add(time.Duration(i) * time.Minute).UnixMilli(),
			EventID: fmt.Sprint("evt_", i), Size: len(body), Body: base64.StdEncoding.EncodeToString([]byte(body)),
			Attributes: map[string]string{contract.AttrSource: "open", contract.AttrEventID: fmt.Sprint("evt_", i), "x-signature": fmt.Sprint("sig", i)}}
		outcome, reason := contract.ArchiveOK, ""
		if i == 3 {
			outcome, reason = contract.ArchiveRejected, "signature-mismatch"
		}
		o := contract.ArchiveEntry{Kind: contract.ArchiveOutcome, Source: "open", MessageID: d.MessageID, Group: g,
			ArchivedAt: d.ArchivedAt + 100, Outcome: outcome, Reason: reason}
		recs = append(recs, fhtypes.Record{Data: d.Line()}, fhtypes.Record{Data: o.Line()})
	}
	client := firehose.New(firehose.Options{Region: "eu-west-1", BaseEndpoint: aws.String(fh.URL),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""), HTTPClient: harness.FreshConnections()})
	if _, err := client.PutRecordBatch(context.Background(), &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String("hookline-dev-open-archive"), Records: recs}); err != nil {
		t.Fatal(err)
	}
	if err := fh.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	return e
}

// window is the --from/--to of the deliveries, in RFC 3339.
func (e *archiveEnv) window() []string {
	return []string{"--from", e.at.Add(-time.Minute).Format(time.RFC3339), "--to", e.at.Add(10 * time.Minute).Format(time.RFC3339)}
}

// TestArchiveSearchCommand: search lists the window's deliveries with their
// outcomes (a re-send marked), filters them, and reports JSON with
// camelCase keys; relative times work.
func TestArchiveSearchCommand(t *testing.T) {
	e := newArchiveEnv(t)
	base := append([]string{"archive", "search", "--stack", "dev", "--source", "open", "--dir", e.dir}, e.window()...)
	code, out, errOut := runCLI(base...)
	if code != 0 || !strings.Contains(out, "6 deliveries of open") || !strings.Contains(out, "rejected (signature-mismatch)") ||
		!strings.Contains(out, "evt_5 [redrive copy]") || !strings.HasPrefix(out, "TIME") {
		t.Fatalf("search: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := runCLI(append(base, "--group", "cus_2", "--outcome", "failed")...); code != 0 || !strings.Contains(out, "1 deliveries") || !strings.Contains(out, "evt_3") {
		t.Errorf("filtered: exit %d\n%s", code, out)
	}
	if code, out, _ := runCLI(append(base, "--where", "body:$.id=evt_2", "--where", "header:X-Signature=sig2")...); code != 0 || !strings.Contains(out, "1 deliveries") || !strings.Contains(out, "evt_2") {
		t.Errorf("where: exit %d\n%s", code, out)
	}
	code, out, errOut = runCLI("archive", "search", "--stack", "dev", "--source", "open", "--dir", e.dir, "--from", "-3h", "--event-id", "evt_4", "--output", "json")
	var doc map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &doc) != nil {
		t.Fatalf("json: exit %d\n%s%s", code, out, errOut)
	}
	checkKeys(t, doc, "", nil)
	ds, _ := doc["deliveries"].([]any)
	if len(ds) != 1 || ds[0].(map[string]any)["messageId"] != "m-4" || ds[0].(map[string]any)["outcome"] != "ok" || doc["bucket"] != archiveBucket {
		t.Errorf("json: %s", out)
	}
}

// TestReplayCommand: a dry run sends nothing; without --yes and no
// terminal nothing is sent; with --yes the first deliveries (not the
// redrive copy) are sent per group in order, sealed by the stack's key in
// KMS; the same replay again sends nothing; JSON reports it.
func TestReplayCommand(t *testing.T) {
	e := newArchiveEnv(t)
	withTerminal(t, "")
	base := append([]string{"replay", "--stack", "dev", "--source", "open", "--dir", e.dir}, e.window()...)
	code, out, errOut := runCLI(append(base, "--dry-run")...)
	if code != 0 || !strings.Contains(out, "would send 5 delivery(ies) of open in 2 group(s)") || !strings.Contains(out, "1 re-send(s)") ||
		!strings.Contains(out, "4 of them were processed ok before") || len(e.sqs.Sent()) != 0 {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := runCLI(base...); code != 2 || !strings.Contains(errOut, "pass --yes") || len(e.sqs.Sent()) != 0 {
		t.Fatalf("unconfirmed: exit %d %s", code, errOut)
	}
	code, out, errOut = runCLI(append(base, "--yes")...)
	if code != 0 || !strings.Contains(out, "sent 5 delivery(ies)") {
		t.Fatalf("replay: exit %d\n%s%s", code, out, errOut)
	}
	sealer := seal.KMS{API: e.kms.Client, KeyID: e.kms.KeyArn}
	var order []string
	for _, s := range e.sqs.Sent() {
		order = append(order, s.GroupID+":"+s.Attributes[contract.AttrEventID])
		at, err := contract.OpenSeal(context.Background(), sealer, "open", []byte(s.Body), s.Attributes[contract.AttrSeal])
		if err != nil || at.Before(e.at) || at.After(e.at.Add(5*time.Minute)) {
			t.Errorf("%s: seal %q opens to %v, %v", s.Attributes[contract.AttrEventID], s.Attributes[contract.AttrSeal], at, err)
		}
		if !strings.HasPrefix(s.DeduplicationID, "replay-") {
			t.Errorf("deduplication id %s", s.DeduplicationID)
		}
	}
	if got := strings.Join(order, " "); got != "cus_1:evt_0 cus_1:evt_2 cus_1:evt_4 cus_2:evt_1 cus_2:evt_3" {
		t.Errorf("sent %s", got)
	}
	code, out, errOut = runCLI(append(base, "--yes", "--output", "json")...)
	var doc map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &doc) != nil {
		t.Fatalf("again: exit %d\n%s%s", code, out, errOut)
	}
	checkKeys(t, doc, "", nil)
	if doc["sent"] != 0.0 || doc["alreadySent"] != 5.0 || doc["toSend"] != 0.0 || len(e.sqs.Sent()) != 5 {
		t.Errorf("again: %s, %d sent in all", out, len(e.sqs.Sent()))
	}
	// --only-failed is another replay: the rejected one, marked to reprocess.
	code, out, errOut = runCLI(append(base, "--yes", "--only-failed", "--reprocess")...)
	if code != 0 || len(e.sqs.Sent()) != 6 || !contract.SealMarked(e.sqs.Sent()[5].Attributes[contract.AttrSeal]) || e.sqs.Sent()[5].Attributes[contract.AttrEventID] != "evt_3" {
		t.Errorf("only failed: exit %d\n%s%s", code, out, errOut)
	}
}

// TestArchiveBadInput: every mistake is one line on stderr saying what is
// wrong, exit 2, nothing sent: --from after --to, an unknown source (the
// stack's sources listed), a malformed --where, an unknown --outcome, a bad
// time, a bad --id, a stack without an archive (how to turn it on), an
// archive bucket that does not exist (named).
func TestArchiveBadInput(t *testing.T) {
	e := newArchiveEnv(t)
	search := []string{"archive", "search", "--stack", "dev", "--dir", e.dir}
	replay := []string{"replay", "--stack", "dev", "--dir", e.dir, "--yes"}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no source", append(search, "--from", "-1h"), "--source is required"},
		{"no from", append(replay, "--source", "open"), "--from is required"},
		{"from after to", append(search, "--source", "open", "--from", "-1h", "--to", "-2h"), "is after --to"},
		{"from after to (replay)", append(replay, "--source", "open", "--from", "now", "--to", "-1d"), "is after --to"},
		{"unknown source", append(search, "--source", "nope", "--from", "-1h"), `no source "nope" (it has open)`},
		{"unknown source (replay)", append(replay, "--source", "nope", "--from", "-1h"), `no source "nope" (it has open)`},
		{"malformed where", append(search, "--source", "open", "--from", "-1h", "--where", "header:X-Signature"), "--where: a condition is header:<Name>=<value>"},
		{"unknown where kind", append(replay, "--source", "open", "--from", "-1h", "--where", "query:a=1"), "--where: a condition is"},
		{"unknown outcome", append(search, "--source", "open", "--from", "-1h", "--outcome", "great"), `--outcome "great"`},
		{"bad time", append(search, "--source", "open", "--from", "yesterday"), `--from: "yesterday" is not a time`},
		{"bad lag", append(search, "--source", "open", "--from", "-1h", "--lag", "soon"), "--lag"},
		{"bad id", append(replay, "--source", "open", "--from", "-1h", "--id", "../x"), "--id: a replay id is"},
		{"bad output", append(search, "--source", "open", "--from", "-1h", "--output", "xml"), "--output must be table or json"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, errOut := runCLI(c.args...)
			if code != 2 || !strings.Contains(errOut, c.want) || strings.Count(errOut, "\n") != 1 {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errOut, c.want)
			}
		})
	}

	// A stack deployed without the archive.
	delete(e.outputs, "archiveBucket")
	withOutputs(t, e.dir, e.outputs)
	for _, args := range [][]string{append(search, "--source", "open", "--from", "-1h"), append(replay, "--source", "open", "--from", "-1h")} {
		code, _, errOut := runCLI(args...)
		if code != 2 || !strings.Contains(errOut, "stack dev has no archive (its output archiveBucket is empty)") || !strings.Contains(errOut, "hookline:archive") ||
			!strings.Contains(errOut, "pulumi up") {
			t.Errorf("%s without an archive: exit %d %q", args[0], code, errOut)
		}
	}
	// A bucket that does not exist.
	e.outputs["archiveBucket"] = "hookline-dev-archive-gone"
	withOutputs(t, e.dir, e.outputs)
	for _, args := range [][]string{append(search, "--source", "open", "--from", "-1h"), append(replay, "--source", "open", "--from", "-1h")} {
		code, _, errOut := runCLI(args...)
		if code != 2 || !strings.Contains(errOut, "the archive bucket does not exist: hookline-dev-archive-gone") {
			t.Errorf("%s of a missing bucket: exit %d %q", args[0], code, errOut)
		}
	}
	if n := len(e.sqs.Sent()); n != 0 {
		t.Errorf("bad input sent %d messages", n)
	}
}

// TestParseTime: RFC 3339, now, and times relative to now.
func TestParseTime(t *testing.T) {
	now := time.Now()
	for in, want := range map[string]time.Time{
		"now": now, "-3h": now.Add(-3 * time.Hour), "-90m": now.Add(-90 * time.Minute), "-2d": now.Add(-48 * time.Hour),
		"-1d12h": now.Add(-36 * time.Hour), "+1h": now.Add(time.Hour),
		now.UTC().Format(time.RFC3339Nano): now.UTC(),
	} {
		got, err := parseTime(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-", "yesterday", "-3x", "2026-13-01", "-d", "--3h", "3h"} {
		if _, err := parseTime(bad, now); err == nil {
			t.Errorf("parseTime(%q): no error", bad)
		}
	}
}
