package redrive_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/handler/consumer"
	"github.com/hookline/hookline/handler/dedup"
	"github.com/hookline/hookline/handler/processor"
	"github.com/hookline/hookline/internal/local/awsfake"
	"github.com/hookline/hookline/internal/testing/harness"
	"github.com/hookline/hookline/internal/testing/nodepeer"
	"github.com/hookline/hookline/ops/archive"
	"github.com/hookline/hookline/ops/redrive"
)

// faultProcessor fails at random (transiently, or permanently so the
// handler dead-letters the record) while faults are on, and records every
// event it processed with the message that carried it.
type faultProcessor struct {
	mu        sync.Mutex
	rng       *rand.Rand
	faults    bool
	processed []processed
}

type processed struct{ event, message, group string }

func (p *faultProcessor) Process(_ context.Context, m contract.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.faults {
		switch r := p.rng.Float64(); {
		case r < 0.10:
			return errors.New("downstream timed out")
		case r < 0.13:
			return &processor.PermanentError{Reason: "bad-payload", Err: errors.New("refused by downstream")}
		}
	}
	p.processed = append(p.processed, processed{m.EventID, m.MessageID, m.GroupID})
	return nil
}

// TestRandomFaultsLoseNothing drives at least 1,000 events of 12 message
// groups through a fake SQS that keeps the FIFO deduplication window as AWS
// documents it, with the real handler (idempotency in dynalite), under
// sender retries (inside and outside the window, and after failed sends),
// random transient and permanent handler failures, SQS's own DLQ moves after
// maxReceiveCount, and redrives at random times (selective and whole-queue,
// inside and outside the window). Then faults stop and everything is
// drained. Per group: 0 events lost, 0 reordered among the events processed
// from their original send, 0 processed twice. The simulated clock starts at
// the real time of the run.
func TestRandomFaultsLoseNothing(t *testing.T) {
	runFaults(t, time.Now(), 1200, faultSeed(t))
}

// TestRandomFaultsFollowTheClock runs the same faults with the simulated
// clock a year ahead of and a year behind the real one. The handler judges
// its invocation's deadline (real time) by the real clock and everything
// else by the simulated one; when it judged the deadline by the simulated
// clock, a start date in the past made every record "too late" and the run
// lost all 1,200 events.
func TestRandomFaultsFollowTheClock(t *testing.T) {
	seed := faultSeed(t)
	for _, off := range []time.Duration{365 * 24 * time.Hour, -365 * 24 * time.Hour} {
		t.Run(fmt.Sprintf("clock%+dh", int(off.Hours())), func(t *testing.T) {
			runFaults(t, time.Now().Add(off), 400, seed)
		})
	}
}

// faultSeed is the run's random seed: HOOKLINE_FAULT_SEED, or the time.
func faultSeed(t *testing.T) int64 {
	seed := time.Now().UnixNano()
	if s := os.Getenv("HOOKLINE_FAULT_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseInt(s, 10, 64); err != nil {
			t.Fatalf("HOOKLINE_FAULT_SEED=%q: want an integer", s)
		}
	}
	t.Logf("seed %d (HOOKLINE_FAULT_SEED reproduces a run)", seed)
	return seed
}

// runFaults is one randomized run of events in 12 groups on a simulated
// clock starting at start.
func runFaults(t *testing.T, start time.Time, events int, seed int64) {
	const groups = 12
	rng := rand.New(rand.NewSource(seed))

	table := "hookline-dev-faults-idempotency"
	db := nodepeer.IdempotencyTable(t, table)

	srv, client := setup(t, 1)
	srv.AddQueueWith(q.QueueURL, q.QueueArn, awsfake.QueueOptions{ContentBasedDeduplication: true, DLQ: q.DLQURL, MaxReceiveCount: 5})
	var clockMu sync.Mutex
	clock := start
	now := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return clock }
	advance := func(d time.Duration) { clockMu.Lock(); clock = clock.Add(d); clockMu.Unlock() }
	srv.SetClock(now)

	spec := contract.Spec{Source: "payments", GroupBy: contract.Selector{Kind: contract.KindBody, Name: "$.customer"},
		EventID: contract.Selector{Kind: contract.KindBody, Name: "$.id"}, ContentTypes: []string{"application/json"}}
	// The archive: the Firehose double delivering to s3rver on the
	// simulated clock; while faults are on it refuses records at random
	// (Firehose's partial failure: FailedPutCount, an ErrorCode each).
	const bucket, stream = "hookline-dev-archive", "hookline-dev-payments-archive"
	s3c := nodepeer.Bucket(t, bucket)
	fh := awsfake.NewFirehose(s3c)
	t.Cleanup(fh.Close)
	fh.SetClock(now)
	if err := fh.AddStream(awsfake.Stream{Name: stream, Bucket: bucket, Prefix: contract.ArchivePrefixExpression("payments")}); err != nil {
		t.Fatal(err)
	}
	archiveFaults := rand.New(rand.NewSource(seed + 3))
	var faultsOn atomic.Bool
	faultsOn.Store(true)
	var refused atomic.Int64
	fh.FailRecords(func(string, int, []byte) *awsfake.Fault {
		if faultsOn.Load() && archiveFaults.Float64() < 0.05 {
			refused.Add(1)
			return &awsfake.Fault{Type: "ServiceUnavailableException"}
		}
		return nil
	})
	archiveClient := firehose.New(firehose.Options{Region: "eu-west-1", BaseEndpoint: aws.String(fh.URL),
		Credentials: aws.AnonymousCredentials{}, HTTPClient: harness.FreshConnections(), Retryer: harness.ConnectionRetries(3)})

	proc := &faultProcessor{rng: rand.New(rand.NewSource(seed + 1)), faults: true}
	h := &consumer.Handler{
		Config: contract.HandlerConfig{Source: "payments", Scheme: contract.SchemeNone, DLQURL: q.DLQURL, QueueURL: q.QueueURL, ArchiveStream: stream,
			Attributes: spec.Attributes(),
			// Paced retries, short enough that records give up (and are
			// dead-lettered by the handler) as well as reach the queue's
			// maxReceiveCount (5) first.
			Retry: contract.RetryPolicy{Schedule: contract.ScheduleExponential, Base: 5 * time.Second, MaxDelay: 20 * time.Second,
				MaxAge: 3 * time.Minute, Jitter: true}},
		Visibility: client, Rand: rand.New(rand.NewSource(seed + 2)).Float64, Archive: archiveClient,
		Sealer: sealer, Processor: proc, DLQ: client, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), Metrics: io.Discard, Now: now,
		Dedup: &dedup.Store{API: db, Table: table, TTL: 72 * time.Hour, Now: now},
	}
	ctx := context.Background()

	// The edge: what the request template sends for a webhook (contract.Simulate
	// is checked against the real template in a Velocity engine).
	original := map[string]string{} // event → message id of its first accepted send
	sendFailures, senderRetries := 0, 0
	send := func(i int) {
		body := fmt.Sprintf(`{"id":"evt_%d","customer":"cus_%d","n":%d}`, i, i%groups, i)
		rec := spec.Simulate(contract.Request{Headers: map[string]string{"content-type": "application/json"}, Body: []byte(body),
			RequestID: "req", SourceIP: "203.0.113.9", ReceivedAt: now()}, "")
		attrs := map[string]types.MessageAttributeValue{}
		for k, a := range rec.MessageAttributes {
			attrs[k] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: a.StringValue}
		}
		in := &sqs.SendMessageInput{QueueUrl: aws.String(q.QueueURL), MessageBody: aws.String(body), MessageAttributes: attrs,
			MessageGroupId: aws.String(rec.Attributes["MessageGroupId"]), MessageDeduplicationId: aws.String(rec.Attributes["MessageDeduplicationId"])}
		for attempt := 0; ; attempt++ {
			if rng.Float64() < 0.05 { // API Gateway answers 500: the sender retries the same webhook
				srv.FailWith("AmazonSQS.SendMessage", len(srv.Sent())+sendFailures+1, awsfake.Fault{Status: 500, Type: "InternalError"})
				sendFailures++
			}
			if _, err := client.SendMessage(ctx, in); err == nil {
				break
			}
			if attempt > 10 {
				t.Fatal("the sender could not get its webhook accepted")
			}
		}
		sent := srv.Sent()
		if last := sent[len(sent)-1]; !last.Dropped {
			if _, seen := original["evt_"+strconv.Itoa(i)]; !seen {
				original["evt_"+strconv.Itoa(i)] = last.MessageID
			}
		}
	}

	// The event source mapping: receive a batch, hand it to the handler,
	// delete what it did not report as failed.
	poll := func() int { return esmPoll(t, ctx, client, q.QueueURL, int32(1+rng.Intn(10)), h) }

	redrives := map[string]int{}
	pauses := 0
	runs := 0
	redriveNow := func() {
		o := redrive.Options{Sealer: sealer}
		// The kinds take turns (their parameters are random), so every run
		// exercises all three: a random choice missed one in about one run
		// of ten.
		runs++
		switch runs % 3 {
		case 1:
			o.Max = 1 + rng.Intn(20)
			redrives["selective, some"]++
		case 2:
			o.Group = fmt.Sprintf("cus_%d", rng.Intn(groups))
			redrives["selective, one group"]++
		default:
			redrives["whole DLQ"]++
		}
		o.Wait = time.Millisecond
		o.Now = now
		if _, err := redrive.Run(ctx, client, q, o); err != nil {
			t.Fatal(err)
		}
	}

	// A replay of the last half hour (a random group, or all): the copies
	// go behind the originals; the consumer's idempotency skips the events
	// already processed, and an event not yet processed is processed once,
	// from whichever copy comes first.
	replays, replayed := 0, 0
	replayNow := func() {
		if err := fh.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		query := archive.Query{Source: "payments", From: now().Add(-30 * time.Minute), To: now()}
		if rng.Float64() < 0.5 {
			query.Groups = []string{fmt.Sprintf("cus_%d", rng.Intn(groups))}
		}
		res, err := archive.Replay(ctx, s3c, client, archive.Target{Bucket: bucket, QueueURL: q.QueueURL}, archive.Options{Query: query, Sealer: sealer})
		if err != nil {
			t.Fatal(err)
		}
		replays++
		replayed += res.Sent
	}

	next := 0
	for step := 0; next < events; step++ {
		for n := rng.Intn(8); n > 0 && next < events; n-- {
			send(next)
			next++
		}
		if next > 0 && rng.Float64() < 0.15 { // a sender re-delivers an old webhook
			send(rng.Intn(next))
			senderRetries++
		}
		for n := 1 + rng.Intn(3); n > 0; n-- {
			poll()
		}
		if rng.Float64() < 0.03 {
			if rng.Float64() < 0.5 {
				advance(6 * time.Minute) // redrive outside every window
			}
			redriveNow()
		}
		if rng.Float64() < 0.02 {
			replayNow()
		}
		// The source is paused for a day, then resumed: once half-way, and
		// at most once more (a sender's re-delivery stays a duplicate only
		// within the idempotency TTL, 72 h of the simulated clock).
		if (pauses == 0 && next >= events/2) || (pauses < 2 && rng.Float64() < 0.005) {
			advance(24 * time.Hour)
			pauses++
		}
		advance(time.Duration(rng.Intn(40)) * time.Second)
	}

	// Faults stop; drain the queue and the DLQ until both are empty.
	proc.mu.Lock()
	proc.faults = false
	proc.mu.Unlock()
	faultsOn.Store(false)
	for round := 0; round < 200 && (len(srv.Queue(q.QueueURL)) > 0 || len(srv.Queue(q.DLQURL)) > 0); round++ {
		for poll() > 0 {
		}
		advance(31 * time.Second) // visibility timeouts of failed receives pass
		if len(srv.Queue(q.DLQURL)) > 0 {
			if _, err := redrive.Run(ctx, client, q, redrive.Options{Sealer: sealer, Max: 1000, Wait: time.Millisecond, Now: now}); err != nil {
				t.Fatal(err)
			}
		}
	}

	// Judge.
	seen := map[string]int{}
	last := map[string]int{} // group → n of the last original-send event processed
	reordered, fromOriginal := 0, 0
	for _, p := range proc.processed {
		seen[p.event]++
		if original[p.event] != p.message {
			continue // a redriven copy or a sender's late duplicate
		}
		fromOriginal++
		n, _ := strconv.Atoi(p.event[len("evt_"):])
		if prev, ok := last[p.group]; ok && n < prev {
			reordered++
			t.Errorf("group %s: evt_%d processed after evt_%d", p.group, n, prev)
		}
		last[p.group] = n
	}
	lost, twice := 0, 0
	for i := 0; i < events; i++ {
		switch seen["evt_"+strconv.Itoa(i)] {
		case 0:
			lost++
		case 1:
		default:
			twice++
		}
	}
	dlqMoves, dropped := 0, 0
	for _, s := range srv.Sent() {
		if s.QueueURL == q.DLQURL {
			dlqMoves++
		}
		if s.Dropped {
			dropped++
		}
	}
	t.Logf("%d events in %d groups: %d processed from their original send, %d from a redriven copy or late duplicate; "+
		"lost %d, reordered %d, processed twice %d; sender retries %d (+%d failed sends retried), sends dropped by the dedup window %d, "+
		"handler DLQ moves %d, redrives %v, day-long pauses %d, archive refusals %d, replays %d (%d copies); queue %d, DLQ %d left",
		events, groups, fromOriginal, len(proc.processed)-fromOriginal, lost, reordered, twice, senderRetries, sendFailures, dropped,
		dlqMoves, redrives, pauses, refused.Load(), replays, replayed, len(srv.Queue(q.QueueURL)), len(srv.Queue(q.DLQURL)))
	if lost != 0 || reordered != 0 || twice != 0 || len(srv.Queue(q.QueueURL)) != 0 || len(srv.Queue(q.DLQURL)) != 0 {
		t.Fatalf("seed %d: lost %d, reordered %d, processed twice %d", seed, lost, reordered, twice)
	}
	if fromOriginal < events/2 {
		t.Fatalf("only %d of %d events were processed from their original send", fromOriginal, events)
	}
	if events < 1000 {
		return // too few steps to be sure every fault happened
	}
	if dlqMoves == 0 || len(redrives) < 3 || dropped == 0 || pauses == 0 || refused.Load() == 0 || replayed == 0 {
		t.Fatalf("the run did not exercise its faults: DLQ moves %d, redrive kinds %v, dropped sends %d, pauses %d, archive refusals %d, replayed copies %d",
			dlqMoves, redrives, dropped, pauses, refused.Load(), replayed)
	}
	// Every event is in the archive (nothing acknowledged unarchived).
	if err := fh.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	found, err := archive.Search(ctx, s3c, bucket, archive.Query{Source: "payments", From: start.Add(-time.Hour), To: now(), Lag: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	archived := map[string]bool{}
	for _, d := range found.Deliveries {
		archived[d.Entry.EventID] = true
	}
	for i := 0; i < events; i++ {
		if !archived["evt_"+strconv.Itoa(i)] {
			t.Errorf("evt_%d was processed but is not in the archive", i)
		}
	}
}
