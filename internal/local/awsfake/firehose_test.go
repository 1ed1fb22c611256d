package awsfake_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/internal/local/awsfake"
	"github.com/hookline/hookline/internal/testing/harness"
	"github.com/hookline/hookline/internal/testing/nodepeer"
)

const (
	bucket     = "hookline-archive"
	streamName = "hookline-dev-payments-archive"
)

// firehoseDouble starts s3rver with the archive bucket and a Firehose double
// delivering one stream (the archive's prefix) to it, and returns a real
// Firehose client of the double (every error met on its first attempt).
func firehoseDouble(t *testing.T, cfg awsfake.Stream) (*awsfake.Firehose, *firehose.Client, *s3.Client) {
	t.Helper()
	s3c := nodepeer.Bucket(t, bucket)
	fh := awsfake.NewFirehose(s3c)
	t.Cleanup(fh.Close)
	if cfg.Name == "" {
		cfg.Name = streamName
	}
	cfg.Bucket = bucket
	if cfg.Prefix == "" {
		cfg.Prefix = contract.ArchivePrefixExpression("payments")
	}
	if err := fh.AddStream(cfg); err != nil {
		t.Fatal(err)
	}
	client := firehose.New(firehose.Options{
		Region: "eu-west-1", BaseEndpoint: aws.String(fh.URL),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
		HTTPClient:  harness.FreshConnections(), Retryer: harness.ConnectionRetries(1),
	})
	return fh, client, s3c
}

func records(lines ...string) []fhtypes.Record {
	out := make([]fhtypes.Record, len(lines))
	for i, l := range lines {
		out[i] = fhtypes.Record{Data: []byte(l)}
	}
	return out
}

// objects lists a prefix of the bucket and returns each object's
// decompressed content by key.
func objects(t *testing.T, s3c *s3.Client, prefix string) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	list, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range list.Contents {
		get, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: o.Key})
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(get.Body)
		if err != nil {
			t.Fatalf("%s is not GZIP: %v", aws.ToString(o.Key), err)
		}
		b, err := io.ReadAll(zr)
		get.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[aws.ToString(o.Key)] = string(b)
	}
	return out
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// TestFirehoseDeliversUnderTheOldestArrivalHour: records written in one
// hour and the next are delivered together, as one GZIP object of the
// records' bytes concatenated, under the prefix evaluated at the oldest
// record's arrival (UTC), named as Firehose names objects.
func TestFirehoseDeliversUnderTheOldestArrivalHour(t *testing.T) {
	fh, client, s3c := firehoseDouble(t, awsfake.Stream{})
	ctx := context.Background()
	hour := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Hour)
	var mu sync.Mutex
	now := hour.Add(59*time.Minute + 50*time.Second)
	fh.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	if _, err := client.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String(streamName), Records: records("a\n", "b\n")}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = hour.Add(time.Hour + 10*time.Second)
	mu.Unlock()
	if _, err := client.PutRecord(ctx, &firehose.PutRecordInput{DeliveryStreamName: aws.String(streamName), Record: &fhtypes.Record{Data: []byte("c\n")}}); err != nil {
		t.Fatal(err)
	}
	if n := len(fh.Buffered(streamName)); n != 3 {
		t.Fatalf("buffered %d, want 3", n)
	}
	if err := fh.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got := objects(t, s3c, "source=payments/")
	if len(got) != 1 {
		t.Fatalf("objects %v, want one", got)
	}
	want := regexp.MustCompile(`^` + regexp.QuoteMeta(contract.ArchivePrefix("payments", hour)+streamName+"-1-"+hour.Format("2006-01-02-15")) + `-59-50-[0-9a-f-]{36}\.gz$`)
	for key, content := range got {
		if !want.MatchString(key) || content != "a\nb\nc\n" {
			t.Errorf("object %s = %q, want a key like %s and a\\nb\\nc\\n", key, content, want)
		}
	}
	if len(fh.Buffered(streamName)) != 0 {
		t.Error("the buffer is not empty after a delivery")
	}
}

// TestFirehosePartialFailure: a record the fault picks is answered, under a
// 200, with FailedPutCount and its own ErrorCode and ErrorMessage in its
// place of RequestResponses; the others get record ids and are delivered.
func TestFirehosePartialFailure(t *testing.T) {
	fh, client, s3c := firehoseDouble(t, awsfake.Stream{})
	ctx := context.Background()
	fh.FailRecords(func(_ string, i int, _ []byte) *awsfake.Fault {
		if i == 1 {
			return &awsfake.Fault{Status: 500, Type: "ServiceUnavailableException"}
		}
		return nil
	})
	out, err := client.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String(streamName), Records: records("a\n", "b\n", "c\n")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(out.FailedPutCount) != 1 || len(out.RequestResponses) != 3 {
		t.Fatalf("FailedPutCount %d, %d responses", aws.ToInt32(out.FailedPutCount), len(out.RequestResponses))
	}
	for i, r := range out.RequestResponses {
		failed := aws.ToString(r.ErrorCode) != ""
		if failed != (i == 1) || (failed && (aws.ToString(r.ErrorCode) != "ServiceUnavailableException" || aws.ToString(r.ErrorMessage) == "" || r.RecordId != nil)) ||
			(!failed && aws.ToString(r.RecordId) == "") {
			t.Errorf("response %d: %+v", i, r)
		}
	}
	// PutRecord has no partial answer: the record's fault is the call's.
	fh.FailRecords(func(string, int, []byte) *awsfake.Fault {
		return &awsfake.Fault{Status: 500, Type: "ServiceUnavailableException"}
	})
	_, err = client.PutRecord(ctx, &firehose.PutRecordInput{DeliveryStreamName: aws.String(streamName), Record: &fhtypes.Record{Data: []byte("x\n")}})
	fh.FailRecords(nil)
	var unavailable *fhtypes.ServiceUnavailableException
	if !errors.As(err, &unavailable) {
		t.Errorf("PutRecord with a record fault: %v", err)
	}
	if err := fh.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, content := range objects(t, s3c, "") {
		if content != "a\nc\n" {
			t.Errorf("delivered %q, want the two records that succeeded", content)
		}
	}
}

// TestFirehoseRefusals: what PutRecordBatch refuses as a whole — an unknown
// stream, more than 500 records, a record over 1,000 KiB, more than 4 MiB
// in all, an injected fault — with the error Firehose answers (an empty
// batch never leaves the SDK: it checks the required field itself); nothing of a
// refused call is buffered, and the limits themselves are accepted.
func TestFirehoseRefusals(t *testing.T) {
	fh, client, _ := firehoseDouble(t, awsfake.Stream{})
	ctx := context.Background()
	many := make([]string, contract.MaxArchiveBatchCount+1)
	for i := range many {
		many[i] = "x\n"
	}
	big := strings.Repeat("x", contract.MaxArchiveRecordBytes)
	fh.FailWith("Firehose_20150804.PutRecordBatch", 5, awsfake.Fault{Status: 500, Type: "ServiceUnavailableException"})
	for _, c := range []struct {
		name, stream string
		records      []fhtypes.Record
		code         string
	}{
		{"unknown stream", "nope", records("a\n"), "ResourceNotFoundException"},
		{"501 records", streamName, records(many...), "ValidationException"},
		{"a record over 1,000 KiB", streamName, records(big + "x"), "ValidationException"},
		{"over 4 MiB in all", streamName, records(big, big, big, big, big), "InvalidArgumentException"},
		{"injected", streamName, records("a\n"), "ServiceUnavailableException"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := client.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String(c.stream), Records: c.records})
			if got := apiCode(err); got != c.code {
				t.Errorf("error %v (code %q), want %s", err, got, c.code)
			}
		})
	}
	if n := len(fh.Buffered(streamName)); n != 0 {
		t.Errorf("refused calls buffered %d records", n)
	}
	var notFound *fhtypes.ResourceNotFoundException
	if _, err := client.PutRecord(ctx, &firehose.PutRecordInput{DeliveryStreamName: aws.String("nope"), Record: &fhtypes.Record{Data: []byte("a")}}); !errors.As(err, &notFound) {
		t.Errorf("PutRecord to an unknown stream: %v", err)
	}
	// At the limits: 500 records, and four records of 1,000 KiB (4,096,000
	// bytes, under 4 MiB).
	if _, err := client.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String(streamName), Records: records(many[1:]...)}); err != nil {
		t.Errorf("500 records: %v", err)
	}
	if _, err := client.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String(streamName), Records: records(big, big, big, big)}); err != nil {
		t.Errorf("4 × 1,000 KiB: %v", err)
	}
	if n := len(fh.Buffered(streamName)); n != contract.MaxArchiveBatchCount+4 {
		t.Errorf("buffered %d, want %d", n, contract.MaxArchiveBatchCount+4)
	}
}

// TestFirehoseBufferingHints: a stream delivers on its own when its buffer
// reaches the size hint, and when the interval has passed since the oldest
// record.
func TestFirehoseBufferingHints(t *testing.T) {
	fh, client, s3c := firehoseDouble(t, awsfake.Stream{BufferBytes: 4, BufferInterval: 200 * time.Millisecond})
	ctx := context.Background()
	if _, err := client.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String(streamName), Records: records("a\n", "b\n")}); err != nil {
		t.Fatal(err)
	}
	if n := len(fh.Objects()); n != 1 {
		t.Fatalf("size hint met: %d objects delivered, want 1", n)
	}
	if _, err := client.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String(streamName), Records: records("c\n")}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(fh.Objects()) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if err := fh.LastFlushError(); err != nil {
		t.Fatal(err)
	}
	var all []string
	for _, c := range objects(t, s3c, "") {
		all = append(all, c)
	}
	if len(fh.Objects()) != 2 || len(all) != 2 {
		t.Fatalf("interval passed: objects %v", all)
	}
}

// TestFirehoseFailedDeliveryKeepsRecords: when S3 refuses the object (here
// a bucket that does not exist), the records stay buffered and Flush says
// why.
func TestFirehoseFailedDeliveryKeepsRecords(t *testing.T) {
	s3c := nodepeer.Bucket(t, bucket)
	fh := awsfake.NewFirehose(s3c)
	defer fh.Close()
	if err := fh.AddStream(awsfake.Stream{Name: streamName, Bucket: "no-such-bucket", Prefix: "x/"}); err != nil {
		t.Fatal(err)
	}
	if err := fh.AddStream(awsfake.Stream{Name: "bad", Bucket: bucket, Prefix: "!{partitionKeyFromQuery:id}/"}); err == nil {
		t.Error("a prefix the double cannot evaluate was accepted")
	}
	client := firehose.New(firehose.Options{Region: "eu-west-1", BaseEndpoint: aws.String(fh.URL),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""), HTTPClient: harness.FreshConnections()})
	if _, err := client.PutRecordBatch(context.Background(), &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String(streamName), Records: records("a\n")}); err != nil {
		t.Fatal(err)
	}
	err := fh.Flush(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no-such-bucket") {
		t.Errorf("Flush to a missing bucket: %v", err)
	}
	if n := len(fh.Buffered(streamName)); n != 1 {
		t.Errorf("after a failed delivery %d records buffered, want 1", n)
	}
}

// TestS3rverListsInPages: the S3 peer serves what the archive reads —
// ListObjectsV2 under a prefix in pages joined by continuation tokens, and
// GetObject of each key — and answers NoSuchBucket for a bucket that does
// not exist.
func TestS3rverListsInPages(t *testing.T) {
	s3c := nodepeer.Bucket(t, bucket)
	ctx := context.Background()
	for i := range 5 {
		for _, p := range []string{"a/", "b/"} {
			key := fmt.Sprintf("%sobj-%d", p, i)
			if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader([]byte(key))}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var keys []string
	pages := 0
	p := s3.NewListObjectsV2Paginator(s3c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("b/"), MaxKeys: aws.Int32(2)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, o := range out.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	if pages != 3 || strings.Join(keys, ",") != "b/obj-0,b/obj-1,b/obj-2,b/obj-3,b/obj-4" {
		t.Errorf("%d pages: %v", pages, keys)
	}
	get, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("b/obj-3")})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(get.Body)
	get.Body.Close()
	if string(b) != "b/obj-3" {
		t.Errorf("GetObject: %q", b)
	}
	_, err = s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("no-such-bucket")})
	if apiCode(err) != "NoSuchBucket" {
		t.Errorf("a missing bucket: %v", err)
	}
}
