package consumer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/handler/dedup"
	"github.com/hookline/hookline/handler/processor"
)

// fakeStream is a Firehose stream as PutRecordBatch answers: per-record
// results, a refused record carrying an ErrorCode and counted in
// FailedPutCount (the documented partial failure), or a whole-call error.
type fakeStream struct {
	mu    sync.Mutex
	calls int
	lines []contract.ArchiveEntry
	// records counts the Firehose records taken (a record may hold lines).
	records int
	// refuse, when set, refuses a record whose line it returns true for.
	refuse func(e contract.ArchiveEntry, call int) bool
	err    error
	// order logs "archive" per call, next to the processor's events.
	order *[]string
}

func (f *fakeStream) PutRecordBatch(_ context.Context, in *firehose.PutRecordBatchInput, _ ...func(*firehose.Options)) (*firehose.PutRecordBatchOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.order != nil {
		*f.order = append(*f.order, "archive")
	}
	if f.err != nil {
		return nil, f.err
	}
	out := &firehose.PutRecordBatchOutput{FailedPutCount: aws.Int32(0)}
	for _, r := range in.Records {
		var entries []contract.ArchiveEntry
		if _, err := contract.ReadArchive(bytes.NewReader(r.Data), func(e contract.ArchiveEntry) error {
			entries = append(entries, e)
			return nil
		}); err != nil || !bytes.HasSuffix(r.Data, []byte("\n")) {
			return nil, fmt.Errorf("record is not newline-delimited entries: %q", r.Data)
		}
		if f.refuse != nil && slices.ContainsFunc(entries, func(e contract.ArchiveEntry) bool { return f.refuse(e, f.calls) }) {
			*out.FailedPutCount++
			out.RequestResponses = append(out.RequestResponses, fhtypes.PutRecordBatchResponseEntry{
				ErrorCode: aws.String("ServiceUnavailableException"), ErrorMessage: aws.String("Slow down.")})
			continue
		}
		f.records++
		f.lines = append(f.lines, entries...)
		out.RequestResponses = append(out.RequestResponses, fhtypes.PutRecordBatchResponseEntry{RecordId: aws.String(fmt.Sprint(f.records))})
	}
	return out, nil
}

func (f *fakeStream) kind(kind string) map[string]contract.ArchiveEntry {
	out := map[string]contract.ArchiveEntry{}
	for _, e := range f.lines {
		if e.Kind == kind {
			out[e.MessageID] = e
		}
	}
	return out
}

// orderedRecorder logs the processor's calls next to the archive's.
type orderedRecorder struct {
	*recorder
	order *[]string
}

func (o orderedRecorder) Process(ctx context.Context, m contract.Message) error {
	*o.order = append(*o.order, "process "+m.EventID)
	return o.recorder.Process(ctx, m)
}

func archiveEnv(t *testing.T) (*env, *fakeStream) {
	e := newEnv(t)
	s := &fakeStream{}
	e.h.Archive = s
	e.h.Config.ArchiveStream = "hookline-dev-partners-archive"
	return e, s
}

// Every record is archived, exactly as received, before any is processed,
// and the batch's outcomes after, in one Firehose record.
func TestEveryRecordIsArchivedBeforeItIsProcessed(t *testing.T) {
	e, s := archiveEnv(t)
	var order []string
	s.order = &order
	e.h.Processor = orderedRecorder{e.proc, &order}
	e.proc.fail["e3"] = errors.New("destination down")

	body := "{\"id\":\"e1\",\n \"amount\": 1.50, \"note\":\"caf\u00e9 \\u00e9\"}"
	recs := []events.SQSMessage{
		signed(t, "a", "e1", body, now),
		signed(t, "a", "e2", `{"id":"e2"}`, now),
		signed(t, "b", "e3", `{"id":"e3"}`, now),
		signed(t, "b", "e4", `{"id":"e4"}`, now),
		signed(t, "c", "e5", `not json`, now),
	}
	recs[4].MessageAttributes["webhook-signature"] = events.SQSMessageAttribute{StringValue: aws.String("v1,AAAA"), DataType: "String"}
	for i := range recs {
		recs[i].Attributes["SequenceNumber"] = fmt.Sprintf("1884949646046769612%d", i)
		recs[i].Attributes["ApproximateReceiveCount"] = "2"
	}
	failed := e.handle(t, context.Background(), recs...)
	if want := []string{"m-e3", "m-e4"}; fmt.Sprint(failed) != fmt.Sprint(want) {
		t.Fatalf("failed %v, want %v", failed, want)
	}
	if fmt.Sprint(order) != "[archive process e1 process e2 process e3 archive]" {
		t.Errorf("calls %v: want the deliveries archived before the first record is processed, the outcomes after", order)
	}
	if s.records != 6 {
		t.Errorf("%d Firehose records, want 5 deliveries + 1 record of outcomes", s.records)
	}
	got := s.kind(contract.ArchiveDelivery)
	for _, r := range recs {
		d, ok := got[r.MessageId]
		if !ok {
			t.Fatalf("%s not archived", r.MessageId)
		}
		raw, err := d.RawBody()
		if err != nil || string(raw) != r.Body || d.Size != len(r.Body) {
			t.Errorf("%s: body %q (%v), want exactly %q", r.MessageId, raw, err, r.Body)
		}
		if d.Group != r.Attributes["MessageGroupId"] || d.SequenceNumber != r.Attributes["SequenceNumber"] ||
			d.ReceiveCount != 2 || fmt.Sprint(d.SentAt) != r.Attributes["SentTimestamp"] ||
			d.DeduplicationID != r.Attributes["MessageDeduplicationId"] || d.Source != "partners" {
			t.Errorf("%s: archived %+v from %+v", r.MessageId, d, r.Attributes)
		}
		if len(d.Attributes) != len(r.MessageAttributes) {
			t.Errorf("%s: %d attributes archived, want all %d", r.MessageId, len(d.Attributes), len(r.MessageAttributes))
		}
		for k, v := range r.MessageAttributes {
			if d.Attributes[k] != *v.StringValue {
				t.Errorf("%s: attribute %s = %q, want %q", r.MessageId, k, d.Attributes[k], *v.StringValue)
			}
		}
		if d.EventID == "" || d.EventID != *r.MessageAttributes[contract.AttrEventID].StringValue {
			t.Errorf("%s: event id %q", r.MessageId, d.EventID)
		}
	}
	outcomes := s.kind(contract.ArchiveOutcome)
	want := map[string]string{"m-e1": "ok", "m-e2": "ok", "m-e3": "retry processor", "m-e4": "retry group-blocked", "m-e5": "dead-lettered signature-malformed"}
	for id, w := range want {
		o := outcomes[id]
		if got := strings.TrimSpace(o.Outcome + " " + o.Reason); got != w {
			t.Errorf("%s: outcome %q, want %q", id, got, w)
		}
	}
}

// A record Firehose refuses is never processed nor acknowledged: it fails
// with the later records of its group; other groups go on. A refusal that
// clears on the second put costs nothing.
func TestUnarchivedRecordsAreRetriedInGroupOrder(t *testing.T) {
	e, s := archiveEnv(t)
	s.refuse = func(a contract.ArchiveEntry, _ int) bool { return a.MessageID == "m-a2" }
	failed := e.handle(t, context.Background(),
		signed(t, "a", "a1", `{}`, now), signed(t, "a", "a2", `{}`, now), signed(t, "b", "b1", `{}`, now), signed(t, "a", "a3", `{}`, now))
	if fmt.Sprint(failed) != "[m-a2 m-a3]" || fmt.Sprint(e.proc.processed) != "[a1 b1]" {
		t.Fatalf("failed %v, processed %v", failed, e.proc.processed)
	}
	if s.calls != 3 {
		t.Errorf("%d calls: want the batch, one more put of the refused record, the outcomes", s.calls)
	}
	if !strings.Contains(e.stats.String(), `"ArchiveFailed":1`) {
		t.Errorf("metrics do not count the unarchived record (the blocked one is not): %s", e.stats)
	}
	for _, l := range e.logLines(t) {
		if l["messageId"] == "m-a2" && l["reason"] != contract.ReasonArchiveUnavailable {
			t.Errorf("m-a2 logged %v", l)
		}
	}
	if _, ok := s.kind(contract.ArchiveOutcome)["m-a2"]; ok {
		t.Error("an outcome archived for a record whose delivery is not")
	}

	e, s = archiveEnv(t)
	s.refuse = func(a contract.ArchiveEntry, call int) bool { return a.MessageID == "m-a1" && call == 1 }
	if failed := e.handle(t, context.Background(), signed(t, "a", "a1", `{}`, now)); len(failed) != 0 || len(e.proc.processed) != 1 {
		t.Errorf("refused once: failed %v, processed %v", failed, e.proc.processed)
	}

	e, s = archiveEnv(t)
	s.err = errors.New("ServiceUnavailableException: throttled")
	if failed := e.handle(t, context.Background(), signed(t, "a", "a1", `{}`, now), signed(t, "b", "b1", `{}`, now)); len(failed) != 2 || len(e.proc.processed) != 0 || len(e.dlq.sent) != 0 {
		t.Errorf("stream down: failed %v, processed %v, dead-lettered %d", failed, e.proc.processed, len(e.dlq.sent))
	}
}

// A forged record is archived too (evidence), and never acknowledged
// unarchived.
func TestForgeriesAreArchivedBeforeTheyAreDropped(t *testing.T) {
	e, s := archiveEnv(t)
	r := signed(t, "a", "a1", `{}`, now)
	r.MessageAttributes["x-injected"] = events.SQSMessageAttribute{StringValue: aws.String("1"), DataType: "String"}
	e.handle(t, context.Background(), r)
	if o := s.kind(contract.ArchiveOutcome)["m-a1"]; o.Outcome != contract.ArchiveRejected || o.Reason != "forged-attributes" {
		t.Errorf("outcome %+v", o)
	}
	if _, ok := s.kind(contract.ArchiveDelivery)["m-a1"]; !ok {
		t.Error("forged record not archived")
	}
	e, s = archiveEnv(t)
	s.err = errors.New("down")
	if failed := e.handle(t, context.Background(), r); len(failed) != 1 {
		t.Errorf("a forged record was acknowledged without being archived: failed %v", failed)
	}
}

// A batch whose records were all processed writes no outcomes: one
// Firehose call per batch. Outcomes that cannot be archived lose no
// delivery: the batch is acknowledged as handled, the loss logged and
// counted.
func TestLostOutcomesDoNotFailTheBatch(t *testing.T) {
	e, s := archiveEnv(t)
	if failed := e.handle(t, context.Background(), signed(t, "a", "a1", `{}`, now), signed(t, "b", "b1", `{}`, now)); len(failed) != 0 || s.calls != 1 || len(s.kind(contract.ArchiveOutcome)) != 0 {
		t.Fatalf("an all-ok batch: failed %v, %d calls, outcomes %v", failed, s.calls, s.kind(contract.ArchiveOutcome))
	}
	e, s = archiveEnv(t)
	e.proc.fail["b1"] = processor.Permanent("bad-request", errors.New("400"))
	s.refuse = func(a contract.ArchiveEntry, _ int) bool { return a.Kind == contract.ArchiveOutcome }
	if failed := e.handle(t, context.Background(), signed(t, "a", "a1", `{}`, now), signed(t, "b", "b1", `{}`, now)); len(failed) != 0 {
		t.Fatalf("failed %v", failed)
	}
	if !strings.Contains(e.logs.String(), "outcomes not archived") || !strings.Contains(e.stats.String(), `"ArchiveFailed":1`) {
		t.Errorf("lost outcomes not reported:\n%s\n%s", e.logs, e.stats)
	}
}

// A replay's --reprocess mark makes a processed event run again, but only
// under a seal that opens: a sender can neither seal nor add the mark.
func TestReprocessMarkNeedsASeal(t *testing.T) {
	body := `{"id":"e1"}`
	copyOf := func(t *testing.T, e *env, seal func(context.Context, contract.Sealer, string, time.Time, []byte) (string, error)) events.SQSMessage {
		r := signed(t, "a", "e1", body, now.Add(-2*time.Hour))
		v, err := seal(context.Background(), e.h.Sealer, "partners", now.Add(-2*time.Hour), []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		r.MessageAttributes[contract.AttrSeal] = events.SQSMessageAttribute{StringValue: &v, DataType: "String"}
		r.Attributes["SentTimestamp"] = fmt.Sprint(now.UnixMilli())
		r.Attributes["MessageDeduplicationId"] = contract.ReplayDeduplicationID("r1", "m-e1")
		return r
	}
	done := func(e *env) {
		e.dd.state[dedup.BodyKey("partners", []byte(body))] = dedup.Done
		e.dd.state[dedup.Key("partners", "e1")] = dedup.Done
	}
	for _, scheme := range []contract.Scheme{contract.SchemeStandardWebhooks, contract.SchemeNone} {
		run := func(r func(e *env) events.SQSMessage) *env {
			e := newEnv(t)
			if scheme == contract.SchemeNone {
				e.h.Config.Scheme = contract.SchemeNone
			}
			done(e)
			e.handle(t, context.Background(), r(e))
			return e
		}
		if e := run(func(e *env) events.SQSMessage { return copyOf(t, e, contract.Seal) }); len(e.proc.processed) != 0 {
			t.Errorf("%s: a replayed copy of a processed event was processed without --reprocess", scheme)
		}
		if e := run(func(e *env) events.SQSMessage { return copyOf(t, e, contract.SealReprocess) }); len(e.proc.processed) != 1 {
			t.Errorf("%s: --reprocess copy not processed\n%s", scheme, e.logs)
		}
		// The mark added to a plain seal does not open.
		e := run(func(e *env) events.SQSMessage {
			r := copyOf(t, e, contract.Seal)
			v := *r.MessageAttributes[contract.AttrSeal].StringValue + ".reprocess"
			r.MessageAttributes[contract.AttrSeal] = events.SQSMessageAttribute{StringValue: &v, DataType: "String"}
			return r
		})
		if len(e.proc.processed) != 0 || e.logLines(t)[0]["reason"] != "forged-seal" {
			t.Errorf("%s: a mark added to a plain seal: processed %v, %v", scheme, e.proc.processed, e.logLines(t)[0])
		}
	}
}

// The largest message SQS takes fits one Firehose record as a delivery
// entry, with every attribute at its largest.
func TestLargestMessageFitsAnArchiveRecord(t *testing.T) {
	r := contract.Record{MessageID: strings.Repeat("m", 100), GroupID: strings.Repeat("g", 128),
		DeduplicationID: strings.Repeat("d", 128), SequenceNumber: strings.Repeat("9", 40), Body: bytes.Repeat([]byte{0xff}, contract.MaxMessageBytes)}
	for i := 0; i < contract.MaxMessageAttributes; i++ {
		r.Attrs = append(r.Attrs, contract.Attr{Name: fmt.Sprintf("hookline-attr-%d", i), Value: strings.Repeat("\"", 256)})
	}
	line := contract.ArchiveDeliveryEntry("s", &r, now).Line()
	if len(line) > contract.MaxArchiveRecordBytes {
		t.Errorf("%d bytes, Firehose takes %d", len(line), contract.MaxArchiveRecordBytes)
	}
	var back contract.ArchiveEntry
	if err := json.Unmarshal(line, &back); err != nil {
		t.Fatal(err)
	}
}
