package archive_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/internal/local/awsfake"
	"github.com/hookline/hookline/internal/testing/harness"
	"github.com/hookline/hookline/internal/testing/nodepeer"
	"github.com/hookline/hookline/ops/archive"
)

const (
	bucket = "hookline-dev-archive"
	source = "payments"
	stream = "hookline-dev-payments-archive"
)

// counting is the archive bucket's S3 client, counting the prefixes listed
// and the keys read.
type counting struct {
	*s3.Client
	mu    sync.Mutex
	lists []string
	gets  []string
}

func (c *counting) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	c.mu.Lock()
	c.lists = append(c.lists, aws.ToString(in.Prefix))
	c.mu.Unlock()
	return c.Client.ListObjectsV2(ctx, in, optFns...)
}

func (c *counting) GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	c.mu.Lock()
	c.gets = append(c.gets, aws.ToString(in.Key))
	c.mu.Unlock()
	return c.Client.GetObject(ctx, in, optFns...)
}

func (c *counting) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lists, c.gets = nil, nil
}

// store is an archive bucket in s3rver, written by the source's Firehose
// stream (the double), as the consumer writes it.
type store struct {
	t      *testing.T
	s3     *counting
	fh     *awsfake.Firehose
	client *firehose.Client
}

func newStore(t *testing.T) *store {
	t.Helper()
	s3c := nodepeer.Bucket(t, bucket)
	fh := awsfake.NewFirehose(s3c)
	t.Cleanup(fh.Close)
	if err := fh.AddStream(awsfake.Stream{Name: stream, Bucket: bucket, Prefix: contract.ArchivePrefixExpression(source)}); err != nil {
		t.Fatal(err)
	}
	client := firehose.New(firehose.Options{Region: "eu-west-1", BaseEndpoint: aws.String(fh.URL),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
		HTTPClient:  harness.FreshConnections(), Retryer: harness.ConnectionRetries(3)})
	return &store{t: t, s3: &counting{Client: s3c}, fh: fh, client: client}
}

// write archives entries as they arrive at the stream at arrival: one
// object, filed under arrival's hour.
func (s *store) write(arrival time.Time, entries ...contract.ArchiveEntry) {
	s.t.Helper()
	s.fh.SetClock(func() time.Time { return arrival })
	var recs []fhtypes.Record
	for _, e := range entries {
		recs = append(recs, fhtypes.Record{Data: e.Line()})
	}
	out, err := s.client.PutRecordBatch(context.Background(), &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String(stream), Records: recs})
	if err != nil || aws.ToInt32(out.FailedPutCount) != 0 {
		s.t.Fatalf("archive: %v %+v", err, out)
	}
	if err := s.fh.Flush(context.Background()); err != nil {
		s.t.Fatal(err)
	}
}

// put writes raw bytes as an object of the bucket.
func (s *store) put(key string, body []byte) {
	s.t.Helper()
	if _, err := s.s3.Client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
		s.t.Fatal(err)
	}
}

// msg describes one archived first delivery.
type msg struct {
	id, group, event string
	seq              int
	at               time.Time
	body             string
	attrs            map[string]string
	dedup            string
}

func (m msg) delivery(receive int, archivedAt time.Time) contract.ArchiveEntry {
	attrs := map[string]string{contract.AttrSource: source, contract.AttrRequestID: "req-" + m.id,
		contract.AttrReceivedAt: fmt.Sprint(m.at.UnixMilli()), contract.AttrContentType: "application/json",
		"webhook-id": m.event, "webhook-signature": "v1,sig-" + m.id}
	if m.event != "" {
		attrs[contract.AttrEventID] = m.event
	}
	for k, v := range m.attrs {
		attrs[k] = v
	}
	body := m.body
	if body == "" {
		body = fmt.Sprintf(`{"id":%q,"type":"invoice.paid"}`, m.event)
	}
	dedup := m.dedup
	if dedup == "" {
		dedup = m.event
	}
	return contract.ArchiveEntry{Kind: contract.ArchiveDelivery, Source: source, MessageID: m.id, Group: m.group,
		ArchivedAt: archivedAt.UnixMilli(), DeduplicationID: dedup, SequenceNumber: fmt.Sprintf("%020d", m.seq),
		ReceiveCount: receive, SentAt: m.at.UnixMilli(), EventID: m.event, Attributes: attrs,
		Body: base64.StdEncoding.EncodeToString([]byte(body)), Size: len(body)}
}

func outcome(m msg, outcome, reason string, at time.Time) contract.ArchiveEntry {
	return contract.ArchiveEntry{Kind: contract.ArchiveOutcome, Source: source, MessageID: m.id, Group: m.group,
		ArchivedAt: at.UnixMilli(), Outcome: outcome, Reason: reason}
}

func ids(ds []archive.Delivery) string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Entry.MessageID)
	}
	return strings.Join(out, ",")
}

func gz(s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = zw.Write([]byte(s))
	_ = zw.Close()
	return b.Bytes()
}

// TestSearch: a search reads only the hours its window (widened by the
// buffer interval before and the lag after) can be filed under — one LIST
// per hour, one GET per object there — joins each message's first delivery
// with its last outcome, filters by group, event id, header, body path and
// outcome, and counts what it cannot read without stopping.
func TestSearch(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	h := time.Now().UTC().Add(-6 * time.Hour).Truncate(time.Hour) // the window's hour
	m := func(id, group, event string, seq int, at time.Duration, extra ...string) msg {
		x := msg{id: id, group: group, event: event, seq: seq, at: h.Add(at)}
		if len(extra) == 2 {
			x.attrs = map[string]string{extra[0]: extra[1]}
		}
		return x
	}
	before := m("m-before", "cus_1", "evt_0", 1, -30*time.Minute) // the hour before: outside the window
	a := m("m-a", "cus_1", "evt_a", 2, 10*time.Minute)
	b := m("m-b", "cus_2", "evt_b", 3, 20*time.Minute, "webhook-signature", "v1,special")
	c := m("m-c", "cus_1", "evt_c", 4, 30*time.Minute)
	c.body = `{"id":"evt_c","type":"invoice.failed","data":{"customer":"cus_1"}}`
	d := m("m-d", "cus_3", "evt_d", 5, 40*time.Minute)
	e := m("m-e", "cus_2", "evt_e", 6, 2*time.Minute) // filed under the hour before (its object's oldest record)
	after := m("m-after", "cus_1", "evt_z", 7, 3*time.Hour)
	redriven := m("m-r", "cus_3", "evt_d", 8, 45*time.Minute)
	redriven.dedup = contract.ResendDeduplicationID(contract.ResendRedrive, "dlq-copy-1")

	s.write(h.Add(-30*time.Minute), before.delivery(1, h.Add(-30*time.Minute)), outcome(before, contract.ArchiveOK, "", h.Add(-30*time.Minute)))
	s.write(h.Add(-time.Minute), e.delivery(1, h.Add(3*time.Minute)), outcome(e, contract.ArchiveOK, "", h.Add(3*time.Minute)))
	s.write(h.Add(10*time.Minute),
		a.delivery(1, h.Add(10*time.Minute)), outcome(a, contract.ArchiveRetry, "processor-timeout", h.Add(10*time.Minute)),
		b.delivery(1, h.Add(20*time.Minute)), outcome(b, contract.ArchiveRejected, "signature-mismatch", h.Add(20*time.Minute)))
	s.write(h.Add(25*time.Minute),
		a.delivery(2, h.Add(25*time.Minute)), outcome(a, contract.ArchiveOK, "", h.Add(25*time.Minute)),
		c.delivery(1, h.Add(30*time.Minute)), outcome(c, contract.ArchiveDeadLettered, "malformed-body", h.Add(30*time.Minute)),
		d.delivery(1, h.Add(40*time.Minute)), // no outcome (yet)
		redriven.delivery(1, h.Add(45*time.Minute)), outcome(redriven, contract.ArchiveOK, "", h.Add(45*time.Minute)))
	s.write(h.Add(3*time.Hour), after.delivery(1, h.Add(3*time.Hour)))
	// What Search must skip and count, never stop at: an object that is not
	// GZIP, a GZIP stream cut short, lines that are not entries.
	window := contract.ArchivePrefix(source, h)
	s.put(window+"garbage.gz", []byte("\x00\x01 not gzip"))
	// (Their entries are of a message received long before the window.)
	old := `{"kind":"delivery","source":"payments","messageId":"m-old","group":"cus_9","archivedAt":1,"sentAt":1}` + "\n"
	cut := gz(strings.Repeat(old, 200))
	s.put(window+"cut.gz", cut[:len(cut)/2])
	s.put(window+"lines.gz", gz("not json\n{\"kind\":\"mystery\",\"messageId\":\"x\",\"source\":\"payments\"}\n"+old))

	q := archive.Query{Source: source, From: h.Add(time.Minute), To: h.Add(50 * time.Minute), Lag: 5 * time.Minute}
	s.s3.reset()
	res, err := archive.Search(ctx, s.s3, bucket, q)
	if err != nil {
		t.Fatal(err)
	}
	// from − 5 min falls in the hour before; to + lag stays in the window's
	// hour: two hours listed, and only their objects read.
	wantHours := []string{contract.ArchivePrefix(source, h.Add(-time.Hour)), window}
	if strings.Join(s.s3.lists, " ") != strings.Join(wantHours, " ") || res.Lists != 2 {
		t.Errorf("listed %v, want %v", s.s3.lists, wantHours)
	}
	for _, k := range s.s3.gets {
		if !strings.HasPrefix(k, wantHours[0]) && !strings.HasPrefix(k, wantHours[1]) {
			t.Errorf("read %s, outside the window's hours", k)
		}
	}
	if len(s.s3.gets) != 7 || res.Gets != 7 || res.Objects != 7 {
		t.Errorf("read %d objects (%v), want the 7 of the two hours", len(s.s3.gets), s.s3.gets)
	}
	if res.SkippedObjects != 1 || res.SkippedLines != 4 {
		t.Errorf("skipped %d objects, %d lines; want 1 (not GZIP) and 4 (two lines that are not entries; the cut stream's partial last line and the cut)", res.SkippedObjects, res.SkippedLines)
	}
	if got := ids(res.Deliveries); got != "m-e,m-a,m-b,m-c,m-d,m-r" {
		t.Fatalf("found %s", got)
	}
	byID := map[string]archive.Delivery{}
	for _, d := range res.Deliveries {
		byID[d.Entry.MessageID] = d
	}
	if a := byID["m-a"]; a.Receives != 2 || a.Entry.ReceiveCount != 1 || a.Outcome != contract.ArchiveOK {
		t.Errorf("m-a: %d receives, first %d, outcome %s; want 2, 1, ok (first delivery, last outcome)", a.Receives, a.Entry.ReceiveCount, a.Outcome)
	}
	if d := byID["m-d"]; d.Outcome != contract.ArchiveOK || d.Receives != 1 {
		t.Errorf("m-d: outcome %q receives %d (no outcome archived reads as ok; the copies in the skipped objects must not count)", d.Outcome, d.Receives)
	}
	if r := byID["m-r"]; r.Resend() != contract.ResendRedrive || byID["m-a"].Resend() != "" {
		t.Errorf("resend kinds %q %q", r.Resend(), byID["m-a"].Resend())
	}

	for _, c := range []struct {
		name  string
		tweak func(*archive.Query)
		want  string
	}{
		{"groups", func(q *archive.Query) { q.Groups = []string{"cus_2", "cus_3"} }, "m-e,m-b,m-d,m-r"},
		{"event id", func(q *archive.Query) { q.EventID = "evt_d" }, "m-d,m-r"},
		{"header", func(q *archive.Query) { q.Where = cond(t, "header:Webhook-Signature=v1,special") }, "m-b"},
		{"content type header", func(q *archive.Query) { q.Where = cond(t, "header:Content-Type=application/json") }, "m-e,m-a,m-b,m-c,m-d,m-r"},
		{"body", func(q *archive.Query) { q.Where = cond(t, "body:$.type=invoice.failed") }, "m-c"},
		{"body and header", func(q *archive.Query) {
			q.Where = cond(t, "body:$.data.customer=cus_1", "header:Webhook-Id=evt_c")
		}, "m-c"},
		{"a header the edge does not carry", func(q *archive.Query) { q.Where = cond(t, "header:X-Other=1") }, ""},
		{"outcome ok (an all-ok batch writes no outcome)", func(q *archive.Query) { q.Outcome = contract.ArchiveOK }, "m-e,m-a,m-d,m-r"},
		{"outcome rejected", func(q *archive.Query) { q.Outcome = contract.ArchiveRejected }, "m-b"},
		{"failed", func(q *archive.Query) { q.Outcome = archive.OutcomeFailed }, "m-b,m-c"},
		{"a narrow window", func(q *archive.Query) { q.From, q.To = h.Add(15*time.Minute), h.Add(35*time.Minute) }, "m-b,m-c"},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := q
			c.tweak(&q)
			res, err := archive.Search(ctx, s.s3, bucket, q)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(res.Deliveries); got != c.want {
				t.Errorf("found %q, want %q", got, c.want)
			}
		})
	}

	// A wider window and lag read the later hours too (h−1 to h+4), and
	// find what was filed there.
	wide := q
	wide.To, wide.Lag = h.Add(3*time.Hour+time.Minute), time.Hour
	if res, err := archive.Search(ctx, s.s3, bucket, wide); err != nil || res.Lists != 6 || !strings.HasSuffix(ids(res.Deliveries), "m-after") {
		t.Errorf("wide window: %v, %d lists, %s", err, res.Lists, ids(res.Deliveries))
	}
}

func cond(t *testing.T, ss ...string) []archive.Condition {
	t.Helper()
	var out []archive.Condition
	for _, s := range ss {
		c, err := archive.ParseCondition(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// TestSearchErrors: a bucket that does not exist is named; a query that
// cannot run (no window, a window ending before it starts, an unknown
// outcome) is refused before any request; a malformed condition is
// ErrBadCondition.
func TestSearchErrors(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	now := time.Now()
	_, err := archive.Search(ctx, s.s3, "hookline-dev-no-such-archive", archive.Query{Source: source, From: now.Add(-time.Hour), To: now})
	if !errors.Is(err, archive.ErrNoBucket) || !strings.Contains(err.Error(), "hookline-dev-no-such-archive") {
		t.Errorf("missing bucket: %v", err)
	}
	s.s3.reset()
	for name, q := range map[string]archive.Query{
		"no window":   {Source: source},
		"reversed":    {Source: source, From: now, To: now.Add(-time.Hour)},
		"bad outcome": {Source: source, From: now.Add(-time.Hour), To: now, Outcome: "great"},
		"no source":   {From: now.Add(-time.Hour), To: now},
	} {
		if _, err := archive.Search(ctx, s.s3, bucket, q); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if len(s.s3.lists)+len(s.s3.gets) != 0 {
		t.Errorf("refused queries made requests: %v %v", s.s3.lists, s.s3.gets)
	}
	for _, bad := range []string{"header:X", "body:$.a", "query:x=1", "header:=x", "body:a.b=1", "header:X Y=1"} {
		if _, err := archive.ParseCondition(bad); !errors.Is(err, archive.ErrBadCondition) {
			t.Errorf("ParseCondition(%q): %v", bad, err)
		}
	}
	if c, err := archive.ParseCondition("body:$.data.id=a=b"); err != nil || c.Value != "a=b" || c.Selector.Name != "$.data.id" {
		t.Errorf("a value with '=': %+v %v", c, err)
	}
}
