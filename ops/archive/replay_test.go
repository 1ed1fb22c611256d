package archive_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/internal/local/awsfake"
	"github.com/hookline/hookline/internal/testing/harness"
	"github.com/hookline/hookline/ops/archive"
)

const queueURL = "https://sqs.eu-west-1.amazonaws.com/123456789012/hookline-dev-payments.fifo"

// replayFixture is an archive of three groups' first deliveries — written
// out of order, across objects and hours — plus re-sends and outcomes, and
// a fake SQS holding the source queue.
type replayFixture struct {
	s      *store
	sqs    *awsfake.Server
	client *sqs.Client
	sealer *harness.Sealer
	q      archive.Query
	// want lists each group's first deliveries in sequence order; failed
	// the message ids whose last outcome is not ok.
	want   map[string][]msg
	byID   map[string]msg
	failed map[string]bool
}

func newReplayFixture(t *testing.T) *replayFixture {
	t.Helper()
	f := &replayFixture{s: newStore(t), sqs: awsfake.New(nil), sealer: harness.NewSealer(),
		want: map[string][]msg{}, byID: map[string]msg{}, failed: map[string]bool{}}
	t.Cleanup(f.sqs.Close)
	f.sqs.AddQueue(queueURL, "arn:aws:sqs:eu-west-1:123456789012:hookline-dev-payments.fifo")
	f.client = sqs.New(sqs.Options{Region: "eu-west-1", BaseEndpoint: aws.String(f.sqs.URL),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
		HTTPClient:  harness.FreshConnections(), Retryer: harness.ConnectionRetries(3)})

	h := time.Now().UTC().Add(-5 * time.Hour).Truncate(time.Hour)
	var entries []contract.ArchiveEntry
	seq := 0
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 30 {
		group := []string{"cus_1", "cus_2", "cus_3"}[i%3]
		if i%7 == 0 {
			group = "cus_2" // cus_2 has more than a batch
		}
		seq += 1 + rng.IntN(3)
		m := msg{id: fmt.Sprintf("m-%02d", i), group: group, event: fmt.Sprintf("evt_%02d", i), seq: seq, at: h.Add(time.Duration(i) * 3 * time.Minute)}
		if i == 4 {
			// A failure reason never travels with a copy.
			m.attrs = map[string]string{contract.AttrFailureReason: "old reason"}
		}
		f.want[group] = append(f.want[group], m)
		f.byID[m.id] = m
		entries = append(entries, m.delivery(1, m.at.Add(time.Second)))
		switch {
		case i%5 == 1:
			f.failed[m.id] = true
			entries = append(entries, outcome(m, contract.ArchiveDeadLettered, "processor-rejected", m.at.Add(2*time.Second)))
		case i%5 == 2:
			f.failed[m.id] = true // still being retried
			entries = append(entries, outcome(m, contract.ArchiveRetry, "processor", m.at.Add(2*time.Second)))
		case i%5 == 3:
			// No outcome archived: its batch was all ok.
		default:
			entries = append(entries, outcome(m, contract.ArchiveOK, "", m.at.Add(2*time.Second)))
		}
		if i%9 == 3 {
			// Its redrive and an earlier replay: copies, never replayed.
			for _, who := range []string{contract.ResendRedrive, contract.ResendReplay + "-earlier"} {
				seq++
				r := msg{id: m.id + "-" + who, group: group, event: m.event, seq: seq, at: m.at.Add(time.Minute), dedup: contract.ResendDeduplicationID(who, m.id)}
				entries = append(entries, r.delivery(1, r.at))
			}
		}
	}
	// Archived out of order: shuffled, in objects of up to 7 entries, each
	// filed under the hour its first entry arrived in.
	rng.Shuffle(len(entries), func(i, j int) { entries[i], entries[j] = entries[j], entries[i] })
	for len(entries) > 0 {
		n := min(7, len(entries))
		f.s.write(time.UnixMilli(entries[0].ArchivedAt), entries[:n]...)
		entries = entries[n:]
	}
	f.q = archive.Query{Source: source, From: h, To: h.Add(90 * time.Minute), Lag: 10 * time.Minute}
	return f
}

func (f *replayFixture) target() archive.Target {
	return archive.Target{Bucket: bucket, QueueURL: queueURL}
}

// check verifies what reached the queue: per group, the wanted deliveries
// (keep picks them) each sent exactly once, in sequence order, with the
// body and attributes of the archive (no failure reason), a seal that opens
// to the original receipt time, and the replay's deduplication id.
func (f *replayFixture) check(t *testing.T, sent []awsfake.Sent, id string, keep func(msg) bool, reprocess bool) {
	t.Helper()
	ctx := context.Background()
	got := map[string][]string{}
	seen := map[string]int{}
	for _, s := range sent {
		mid := strings.TrimPrefix(s.DeduplicationID, "replay-"+id+"-")
		seen[mid]++
		m, ok := f.byID[mid]
		if !ok || s.DeduplicationID != contract.ReplayDeduplicationID(id, mid) {
			t.Errorf("sent %q with deduplication id %q: not a copy of this replay", s.Body, s.DeduplicationID)
			continue
		}
		got[s.GroupID] = append(got[s.GroupID], mid)
		want := m.delivery(1, m.at)
		body, _ := want.RawBody()
		if s.Body != string(body) || s.QueueURL != queueURL || s.GroupID != m.group {
			t.Errorf("%s: body %q group %s", mid, s.Body, s.GroupID)
		}
		for k, v := range want.Attributes {
			if k != contract.AttrFailureReason && s.Attributes[k] != v {
				t.Errorf("%s: attribute %s = %q, want %q", mid, k, s.Attributes[k], v)
			}
		}
		if _, has := s.Attributes[contract.AttrFailureReason]; has {
			t.Errorf("%s: the copy carries a failure reason", mid)
		}
		if _, reason := want.Attributes[contract.AttrFailureReason]; (reason && len(s.Attributes) != len(want.Attributes)) || (!reason && len(s.Attributes) != len(want.Attributes)+1) {
			t.Errorf("%s: %d attributes, want the original %d and the seal", mid, len(s.Attributes), len(want.Attributes))
		}
		opened, err := contract.OpenSealed(ctx, f.sealer, source, []byte(s.Body), s.Attributes[contract.AttrSeal])
		if err != nil || !opened.At.Equal(m.at.Truncate(time.Millisecond)) {
			t.Errorf("%s: seal opens to %v (%v), want the original receipt %v", mid, opened.At, err, m.at)
		}
		if opened.Reprocess != reprocess {
			t.Errorf("%s: the seal's reprocess mark %v, want %v", mid, opened.Reprocess, reprocess)
		}
	}
	for mid, n := range seen {
		if n > 1 {
			t.Errorf("%s sent %d times", mid, n)
		}
	}
	for g, ms := range f.want {
		var want []string
		for _, m := range ms {
			if keep(m) {
				want = append(want, m.id)
			}
		}
		if strings.Join(got[g], ",") != strings.Join(want, ",") {
			t.Errorf("group %s: sent %v, want %v (in sequence order)", g, got[g], want)
		}
	}
}

// TestReplay: a replay re-sends exactly the selected first deliveries, per
// group in SQS sequence order, as sealed copies under its own
// deduplication ids; the same replay run again sends nothing (its
// checkpoint), a dry run sends and writes nothing, --only-failed and
// --reprocess do what they say.
func TestReplay(t *testing.T) {
	f := newReplayFixture(t)
	ctx := context.Background()
	all := func(msg) bool { return true }

	dry, err := archive.Replay(ctx, f.s.s3, f.client, f.target(), archive.Options{Query: f.q, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if dry.Matched != 30 || dry.ToSend != 30 || dry.Sent != 0 || dry.SkippedResends != 6 || dry.Groups != 3 || len(f.sqs.Sent()) != 0 {
		t.Fatalf("dry run: %+v, %d sent", dry, len(f.sqs.Sent()))
	}
	if _, err := f.s.s3.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(dry.Checkpoint)}); err == nil {
		t.Error("a dry run wrote a checkpoint")
	}
	if _, err := archive.Replay(ctx, f.s.s3, f.client, f.target(), archive.Options{Query: f.q}); !errors.Is(err, archive.ErrNoSealer) {
		t.Errorf("no sealer: %v", err)
	}

	var progress []string
	var counts [][2]int
	res, err := archive.Replay(ctx, f.s.s3, f.client, f.target(), archive.Options{Query: f.q, Sealer: f.sealer,
		Progress: func(s string) { progress = append(progress, s) }, Sent: func(n, of int) { counts = append(counts, [2]int{n, of}) }})
	if err != nil {
		t.Fatal(err)
	}
	if res.ID != archive.ID(f.q, false) || res.ID != dry.ID || res.Sent != 30 || res.AlreadySent != 0 || res.PreviouslyOK != 30-len(f.failed) || len(res.Failed) != 0 {
		t.Fatalf("replay: %+v", res)
	}
	f.check(t, f.sqs.Sent(), res.ID, all, false)
	if last := counts[len(counts)-1]; last != [2]int{30, 30} || len(progress) == 0 {
		t.Errorf("progress %v, counts %v", progress, counts)
	}
	for _, c := range f.sqs.Calls() {
		if c != "AmazonSQS.SendMessageBatch" {
			t.Errorf("replay called %s", c)
		}
	}
	batches := 0
	for _, ms := range f.want {
		batches += (len(ms) + 9) / 10
	}
	if n := len(f.sqs.Calls()); n != batches {
		t.Errorf("%d SendMessageBatch calls, want %d (each group's deliveries in batches of 10)", n, batches)
	}

	// The same replay again: the checkpoint says everything was sent.
	again, err := archive.Replay(ctx, f.s.s3, f.client, f.target(), archive.Options{Query: f.q, Sealer: f.sealer})
	if err != nil || again.Sent != 0 || again.AlreadySent != 30 || len(f.sqs.Sent()) != 30 {
		t.Fatalf("again: %+v %v, %d sent in all", again, err, len(f.sqs.Sent()))
	}

	// Another replay (its own id) of the failed ones only, reprocessing.
	before := len(f.sqs.Sent())
	only, err := archive.Replay(ctx, f.s.s3, f.client, f.target(), archive.Options{Query: f.q, OnlyFailed: true, Reprocess: true, Sealer: f.sealer})
	if err != nil || only.ID == res.ID || only.Matched != len(f.failed) || only.Sent != len(f.failed) || only.PreviouslyOK != 0 {
		t.Fatalf("only failed: %+v %v", only, err)
	}
	f.check(t, f.sqs.Sent()[before:], only.ID, func(m msg) bool { return f.failed[m.id] }, true)
}

// TestReplayInterrupted: a replay interrupted after n copies and run again
// sends every selected delivery exactly once, none missing, each group in
// order across the two runs — whatever n (inside a batch, at its end).
func TestReplayInterrupted(t *testing.T) {
	f := newReplayFixture(t)
	// Batches: cus_1 8, cus_2 10 and 3, cus_3 9 — sent 8, 18, 21, 30.
	for _, n := range []int{1, 8, 10, 19} {
		t.Run(fmt.Sprint("after ", n), func(t *testing.T) {
			id := fmt.Sprint("cut-", n)
			before := len(f.sqs.Sent())
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			first, err := archive.Replay(ctx, f.s.s3, f.client, f.target(), archive.Options{Query: f.q, ID: id, Sealer: f.sealer,
				Sent: func(sent, _ int) {
					if sent >= n {
						cancel()
					}
				}})
			if err != nil || !first.Interrupted || first.Sent < n || first.Sent >= 30 {
				t.Fatalf("interrupted run: %+v %v", first, err)
			}
			second, err := archive.Replay(context.Background(), f.s.s3, f.client, f.target(), archive.Options{Query: f.q, ID: id, Sealer: f.sealer})
			if err != nil || second.Interrupted || second.AlreadySent != first.Sent || second.Sent != 30-first.Sent {
				t.Fatalf("run again: %+v %v (first sent %d)", second, err, first.Sent)
			}
			sent := f.sqs.Sent()[before:]
			for _, s := range sent {
				if s.Dropped {
					t.Errorf("%s was sent again (SQS dropped it inside the window)", s.DeduplicationID)
				}
			}
			f.check(t, sent, id, func(msg) bool { return true }, false)
		})
	}
}

// TestReplayFailedSend: a copy SQS refuses stops its group there while the
// other groups are sent. SQS reports each entry of a batch on its own, so
// the group's later copies in that batch reach the queue anyway (out of
// order: the replay warns); the same replay run again sends the rest of the
// group from the refused copy, and SQS drops the repeated ones inside its
// window: the queue holds every copy once.
func TestReplayFailedSend(t *testing.T) {
	f := newReplayFixture(t)
	ctx := context.Background()
	victim := f.want["cus_2"][2].id
	f.sqs.FailEntries(func(m awsfake.Message) *awsfake.Fault {
		if strings.HasSuffix(m.DeduplicationID, "-"+victim) {
			return &awsfake.Fault{Status: 500, Type: "InternalError"}
		}
		return nil
	})
	res, err := archive.Replay(ctx, f.s.s3, f.client, f.target(), archive.Options{Query: f.q, Sealer: f.sealer})
	if err != nil || len(res.Failed) != 1 || !strings.Contains(res.Failed[0], "cus_2") || !strings.Contains(res.Failed[0], victim) {
		t.Fatalf("replay: %+v %v", res, err)
	}
	// cus_2's first batch holds its first 10: 2 before the victim, 7 after.
	if res.Sent != 8+2+9 || len(res.Warnings) != 7 || !strings.Contains(res.Warnings[0], "out of order") {
		t.Errorf("sent %d (want 19: cus_2 up to the refused copy), warnings %v", res.Sent, res.Warnings)
	}
	f.sqs.FailEntries(nil)
	again, err := archive.Replay(ctx, f.s.s3, f.client, f.target(), archive.Options{Query: f.q, Sealer: f.sealer})
	if err != nil || len(again.Failed) != 0 || again.Sent != 13-2 || again.AlreadySent != res.Sent {
		t.Fatalf("again: %+v %v", again, err)
	}
	dropped := 0
	for _, s := range f.sqs.Sent() {
		if s.Dropped {
			dropped++
		}
	}
	if dropped != 7 {
		t.Errorf("SQS dropped %d repeated copies, want the 7 sent out of order", dropped)
	}
	queued := map[string]int{}
	for _, m := range f.sqs.Queue(queueURL) {
		queued[m.DeduplicationID]++
	}
	for id := range f.byID {
		if queued[contract.ReplayDeduplicationID(res.ID, id)] != 1 {
			t.Errorf("%s is in the queue %d times", id, queued[contract.ReplayDeduplicationID(res.ID, id)])
		}
	}
}

// TestReplayCopyTooLarge: a delivery that came in at SQS's size limit has
// no room for the seal: its copy is refused before it is sent, its group
// stops there (nothing after it is sent, so nothing is out of order), and
// the replay says why.
func TestReplayCopyTooLarge(t *testing.T) {
	f := newReplayFixture(t)
	big := msg{id: "m-big", group: "cus_big", event: "evt_big", seq: 900, at: f.q.From.Add(time.Minute)}
	small := msg{id: "m-small", group: "cus_big", event: "evt_small", seq: 901, at: f.q.From.Add(2 * time.Minute)}
	attrs := big.delivery(1, big.at).Attributes
	big.body = `{"pad":"` + strings.Repeat("x", contract.MaxMessageBytes-contract.MessageSize("", attrs)-len(`{"pad":""}`)) + `"}`
	if n := contract.MessageSize(big.body, attrs); n != contract.MaxMessageBytes {
		t.Fatalf("the big delivery is %d bytes", n)
	}
	f.s.write(big.at, big.delivery(1, big.at), small.delivery(1, small.at))
	q := f.q
	q.Groups = []string{"cus_big"}
	res, err := archive.Replay(context.Background(), f.s.s3, f.client, f.target(), archive.Options{Query: q, Sealer: f.sealer})
	if err != nil || res.Matched != 2 || res.Sent != 0 || len(res.Failed) != 1 || !strings.Contains(res.Failed[0], "over SQS's limit") || len(f.sqs.Sent()) != 0 {
		t.Fatalf("replay: %+v %v, %d sent", res, err, len(f.sqs.Sent()))
	}
}

// TestReplayID: the id is the selection's — the same selection gives the
// same id, any change to it another — and a given id must be one a
// checkpoint key can carry.
func TestReplayID(t *testing.T) {
	now := time.Now()
	q := archive.Query{Source: source, From: now.Add(-time.Hour), To: now, Groups: []string{"b", "a"}, Where: cond(t, "header:X-A=1", "body:$.b=2")}
	same := q
	same.Groups = []string{"a", "b", "a"}
	same.Where = cond(t, "body:$.b=2", "header:X-A=1")
	if archive.ID(q, false) != archive.ID(same, false) {
		t.Error("the same selection in another order has another id")
	}
	for name, other := range map[string]func() (archive.Query, bool){
		"only failed": func() (archive.Query, bool) { return q, true },
		"window":      func() (archive.Query, bool) { o := q; o.To = now.Add(time.Second); return o, false },
		"groups":      func() (archive.Query, bool) { o := q; o.Groups = []string{"a"}; return o, false },
		"where":       func() (archive.Query, bool) { o := q; o.Where = cond(t, "header:X-A=2"); return o, false },
		"source":      func() (archive.Query, bool) { o := q; o.Source = "github"; return o, false },
	} {
		if o, failed := other(); archive.ID(o, failed) == archive.ID(q, false) {
			t.Errorf("%s: the same id", name)
		}
	}
	if id := archive.ID(q, false); len(contract.ReplayDeduplicationID(id, "8b1f5e2a-0000-4000-8000-00000000002a")) > 128 {
		t.Errorf("id %s makes deduplication ids over SQS's 128 characters", id)
	}
	_, err := archive.Replay(context.Background(), nil, nil, archive.Target{}, archive.Options{Query: q, ID: "no/slashes", DryRun: true})
	if !errors.Is(err, archive.ErrBadID) {
		t.Errorf("bad id: %v", err)
	}
}

// lostAnswer sends through SQS and, on call n, loses the answer: the copies
// are in the queue, the replay hears an error.
type lostAnswer struct {
	archive.QueueAPI
	calls, n int
}

func (l *lostAnswer) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	out, err := l.QueueAPI.SendMessageBatch(ctx, in, optFns...)
	if l.calls++; l.calls == l.n {
		return nil, errors.New("connection reset")
	}
	return out, err
}

// TestReplayLostAnswer: when a batch's answer is lost, the replay cannot
// know it was sent: its group stops and the checkpoint does not hold it, so
// a run again sends it again — under the same deduplication ids, which SQS
// drops inside its 5-minute window: the queue holds every copy once.
func TestReplayLostAnswer(t *testing.T) {
	f := newReplayFixture(t)
	ctx := context.Background()
	res, err := archive.Replay(ctx, f.s.s3, &lostAnswer{QueueAPI: f.client, n: 2}, f.target(), archive.Options{Query: f.q, Sealer: f.sealer})
	if err != nil || len(res.Failed) != 1 || res.Sent != 8+9 {
		t.Fatalf("replay: %+v %v", res, err)
	}
	again, err := archive.Replay(ctx, f.s.s3, f.client, f.target(), archive.Options{Query: f.q, Sealer: f.sealer})
	if err != nil || again.Sent != 13 {
		t.Fatalf("again: %+v %v", again, err)
	}
	queued := map[string]int{}
	for _, m := range f.sqs.Queue(queueURL) {
		queued[m.DeduplicationID]++
	}
	if len(queued) != 30 {
		t.Errorf("the queue holds %d distinct copies, want 30", len(queued))
	}
	for id, n := range queued {
		if n != 1 {
			t.Errorf("%s queued %d times", id, n)
		}
	}
}
