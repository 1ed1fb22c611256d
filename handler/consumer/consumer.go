// Package consumer is the handler's batch logic: per record, in order,
// decode → verify the signature → deduplicate → process, with SQS FIFO
// semantics: after a failure in message group G, every later record of G in
// the batch is returned as failed without being processed, while other
// groups go on; near the deadline, unstarted records are returned as failed.
// Nothing carries over between invocations.
package consumer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/valyala/fastjson"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/handler/dedup"
	"github.com/hookline/hookline/handler/processor"
	"github.com/hookline/hookline/handler/signature"
	"github.com/hookline/hookline/handler/telemetry"
)

// Secrets reads the active signing secrets of a parameter.
type Secrets interface {
	Get(ctx context.Context, name string) ([]string, error)
}

// Refresher is a Secrets that can read a parameter again before its cache
// ends (handler/secrets.Store): on a signature that matches no cached
// secret, the sender may have switched to one added since.
type Refresher interface {
	Refresh(ctx context.Context, name string) (vals []string, refreshed bool, err error)
}

// Dedup is the long-window idempotency store (see handler/dedup).
type Dedup interface {
	Begin(ctx context.Context, key string, lease time.Duration) (dedup.State, error)
	Complete(ctx context.Context, key string) error
	Release(ctx context.Context, key string) error
}

// DLQ receives rejected messages.
type DLQ interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// Visibility hides failed records of the source queue for their retry delay.
type Visibility interface {
	ChangeMessageVisibilityBatch(ctx context.Context, in *sqs.ChangeMessageVisibilityBatchInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error)
}

// Handler consumes one source's batches.
type Handler struct {
	Config contract.HandlerConfig
	// ConfigErr, when set, makes every record retry: a handler that cannot
	// trust its configuration fails closed and loses nothing.
	ConfigErr error
	Verifier  signature.Verifier
	Secrets   Secrets
	Dedup     Dedup // nil: long-window dedup off
	Processor processor.Processor
	DLQ       DLQ
	// Visibility, with Config.Retry and Config.QueueURL set, hides each
	// failed record for its retry delay; nil: SQS delivers it again after
	// the queue's visibility timeout.
	Visibility Visibility
	// Rand draws the retry delays' jitter in [0, 1) (nil: math/rand).
	Rand func() float64
	// Archive, with Config.ArchiveStream set, keeps every record (see
	// archive.go); nil: not archived.
	Archive Archive
	// Sealer verifies the receipt time a re-sent record carries (AttrSeal);
	// nil: such a record is retried (the handler cannot judge it).
	Sealer  contract.Sealer
	Log     *slog.Logger
	Metrics io.Writer
	// Now is the clock receipt times, idempotency TTLs and telemetry are
	// judged by. It never judges the invocation's deadline: a context's
	// deadline is real time (its timer fires on the wall clock), so the time
	// left is always measured with the real clock (see timeLeft).
	Now func() time.Time
	// Reserve is the time kept free before the deadline: a record is only
	// started when at least this much is left.
	Reserve time.Duration

	parser  contract.EventParser
	breaker breaker
}

// outcome is the result of one record.
type outcome struct {
	kind      telemetry.Outcome
	reason    string
	duplicate bool
	err       error
	// after is the destination's Retry-After, for a retry.
	after time.Duration
	// dlqReason, when set, is the failure reason a DLQ copy carries
	// (default: reason).
	dlqReason string
}

func ok() outcome { return outcome{kind: telemetry.OK} }
func drop(reason string, err error) outcome {
	return outcome{kind: telemetry.Dropped, reason: reason, err: err}
}
func retry(reason string, err error) outcome {
	return outcome{kind: telemetry.Retry, reason: reason, err: err}
}
func reject(reason string, err error) outcome {
	return outcome{kind: telemetry.Reject, reason: reason, err: err}
}

// Invoke is the Lambda entry point (lambda.Handler): it decodes the SQS
// event in one pass, handles it and encodes the partial batch response. A
// payload that is not an SQS event fails the invocation, so SQS delivers
// the whole batch again.
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var out []byte
	err := h.parser.With(payload, func(records []contract.Record) error {
		resp, err := h.HandleRecords(ctx, records)
		if err != nil {
			return err
		}
		out, err = json.Marshal(resp)
		return err
	})
	return out, err
}

// Handle processes an aws-lambda-go event (tests and tools use it), through
// the same decoding as Invoke.
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	raw, err := json.Marshal(ev)
	if err != nil {
		return events.SQSEventResponse{}, err
	}
	var resp events.SQSEventResponse
	err = h.parser.With(raw, func(records []contract.Record) error {
		resp, err = h.HandleRecords(ctx, records)
		return err
	})
	return resp, err
}

// HandleRecords processes a batch and reports the records SQS must deliver again.
func (h *Handler) HandleRecords(ctx context.Context, records []contract.Record) (events.SQSEventResponse, error) {
	// An empty list, not null: every record not listed is acknowledged.
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	batch := telemetry.NewBatch(h.Log, h.Config.Source)
	blocked := map[string]bool{}
	// The delay a failed record's group waits: its later records come back
	// with it, not before.
	groupDelay := map[string]time.Duration{}
	var hide []sqstypes.ChangeMessageVisibilityBatchRequestEntry
	// Every record is archived before anything is done with it; one that
	// could not be is retried, never acknowledged.
	unarchived := h.archiveDeliveries(ctx, records)
	// The outcomes to archive, encoded only if one is not ok (see below).
	var verdicts []verdict
	allOK := true

	for i := range records {
		r := &records[i]
		start := h.Now()
		group := r.GroupID
		var o outcome
		switch {
		case unarchived[i] != nil:
			o = retry(contract.ReasonArchiveUnavailable, unarchived[i])
		case h.forged(r, &o):
			// Not something the edge wrote: counted, never processed or
			// dead-lettered, whatever the state of its group.
		case blocked[group]:
			o = retry("group-blocked", errors.New("an earlier message of the group failed in this batch"))
		case tooLate(ctx, h.Reserve):
			o = retry("deadline", errors.New("too little time left to start the record"))
		default:
			o = h.record(ctx, r)
			o = h.giveUp(r, o)
			if o.kind == telemetry.Reject {
				reason := o.reason
				if o.dlqReason != "" {
					reason = o.dlqReason
				}
				if err := h.moveToDLQ(ctx, r, reason); err != nil {
					o = retry("dlq-unavailable", err)
				}
			}
		}
		var next time.Duration
		if o.kind == telemetry.Retry {
			if d, set := groupDelay[group]; set {
				next = d
			} else if o.reason != "deadline" {
				next = h.nextDelay(r, o)
			}
			if !blocked[group] {
				groupDelay[group] = next
			}
			blocked[group] = true
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageID})
			if next > 0 && r.ReceiptHandle != "" {
				hide = append(hide, sqstypes.ChangeMessageVisibilityBatchRequestEntry{
					Id: aws.String(fmt.Sprint(len(hide))), ReceiptHandle: aws.String(r.ReceiptHandle), VisibilityTimeout: int32(next / time.Second)})
			}
		}
		if h.archiving() && unarchived[i] == nil {
			kind, reason := archiveOutcome(o)
			allOK = allOK && kind == contract.ArchiveOK
			verdicts = append(verdicts, verdict{record: r, kind: kind, reason: reason, at: h.Now()})
		}
		detail := ""
		if o.err != nil {
			detail = o.err.Error()
		}
		batch.Record(ctx, telemetry.Record{
			Source: h.Config.Source, Group: group, MessageID: r.MessageID,
			EventID: eventID(r), Outcome: o.kind, Reason: o.reason, Detail: detail, Duplicate: o.duplicate,
			Latency: h.Now().Sub(start), Attempt: r.ReceiveCount, NextDelay: next,
		})
	}
	h.hide(ctx, hide)
	// Every archived record processed (or a duplicate): nothing is
	// written, as a delivery without an outcome entry reads as ok (see
	// contract/archive.go), which saves a call and a record a batch.
	var outcomes []byte
	if !allOK {
		for _, v := range verdicts {
			outcomes = contract.AppendOutcome(outcomes, h.Config.Source, v.record, v.kind, v.reason, v.at)
		}
	}
	if err := h.archiveOutcomes(ctx, outcomes); err != nil {
		h.Log.Warn("outcomes not archived: the deliveries are, without their verdict", "source", h.Config.Source, "records", len(records), "error", err.Error())
		batch.ArchiveFailed()
	}
	if h.Metrics != nil {
		if err := batch.Flush(h.Metrics, h.Now()); err != nil {
			return resp, fmt.Errorf("write metrics: %w", err)
		}
	}
	return resp, nil
}

func eventID(r *contract.Record) string {
	v, _ := r.Attr(contract.AttrEventID)
	return v
}

// forged reports (setting *o) a record the edge cannot have written for
// this source: an attribute outside the set it writes, or, on a first
// delivery, a hookline-received-at that disagrees with SQS's SentTimestamp.
// On an HTTP API a sender can add attributes through a header value (API
// Gateway does not escape them): such a record is dropped and counted, never
// dead-lettered as if it were a delivery.
func (h *Handler) forged(r *contract.Record, o *outcome) bool {
	if len(h.Config.Attributes) > 0 {
		if err := contract.CheckAttributes(r, h.Config.Attributes); err != nil {
			*o = drop("forged-attributes", err)
			return true
		}
	}
	if _, sealed := r.Attr(contract.AttrSeal); sealed {
		return false // a re-send: its seal is checked before its signature
	}
	v, ok := r.Attr(contract.AttrReceivedAt)
	if !ok || r.SentAt == 0 {
		return false // nothing to compare
	}
	at, err := contract.ParseEpoch(v)
	if err != nil {
		return false // malformed: DecodeRecord says so
	}
	if err := contract.CheckReceipt(at, time.UnixMilli(r.SentAt)); err != nil {
		*o = drop("forged-receipt-time", err)
		return true
	}
	return false
}

// record runs one record through verify → dedup → process.
func (h *Handler) record(ctx context.Context, r *contract.Record) outcome {
	if h.ConfigErr != nil {
		return retry("config", h.ConfigErr)
	}
	// Before the signature check nothing is known of the sender: on an open
	// source anyone can post, so what fails here is dropped and counted,
	// never dead-lettered (the DLQ is not a store for anonymous bodies).
	unverified := reject
	if h.Config.OpenEdge {
		unverified = drop
	}
	m, err := contract.DecodeRecord(r)
	if err != nil {
		return unverified("malformed-record", err)
	}
	if m.Source != h.Config.Source {
		return unverified("wrong-source", fmt.Errorf("record of source %q on the %q consumer", m.Source, h.Config.Source))
	}

	// The receipt time a signature is judged against; a re-send's seal
	// also says whether a replay asked for the event to run again. An
	// unsigned source needs no receipt time: its seals are opened only for
	// that mark.
	reprocess := false
	if h.Config.Scheme != contract.SchemeNone || contract.SealMarked(m.Seal) {
		opened, o, ok := h.receipt(ctx, &m)
		if !ok {
			return o
		}
		reprocess = opened.Reprocess
		if h.Config.Scheme != contract.SchemeNone {
			if o, verified := h.verify(ctx, &m, opened.At); !verified {
				return o
			}
		}
	}
	// An HTTP API passes every content type: the ones the source does not
	// accept are kept for inspection, as a body that does not parse is.
	if ct := h.Config.ContentTypes; len(ct) > 0 && !contract.AcceptsContentType(m.ContentType, ct) {
		return reject("unaccepted-content-type", fmt.Errorf("content type %q is not one of %s", m.ContentType, strings.Join(ct, ", ")))
	}
	// An authenticated sender's body that does not parse is kept for inspection.
	if isJSON(m.ContentType) {
		if err := fastjson.ValidateBytes(m.Body); err != nil {
			return reject("malformed-body", fmt.Errorf("body is not valid JSON: %v", err))
		}
	}

	key := ""
	if h.Dedup != nil {
		key = dedup.Key(m.Source, m.EventID)
		if m.EventID == "" || !h.Config.Scheme.SignsDeliveryID() {
			// The event id is not signed: a captured delivery replayed
			// under a fresh id — or with none — would pass. Its body is
			// signed: key on that. A record without an event id is keyed
			// on its body too, so leaving the id out never skips
			// idempotency.
			key = dedup.BodyKey(m.Source, m.Body)
		}
		state, err := h.Dedup.Begin(ctx, key, h.lease(ctx))
		switch {
		case err != nil:
			return retry("dedup-unavailable", err)
		case state == dedup.Done && reprocess:
			// A replay asked for it again: processed without a lease,
			// the marker stays done.
			key = ""
		case state == dedup.Done:
			return outcome{kind: telemetry.OK, reason: "duplicate", duplicate: true}
		case state == dedup.InProgress:
			return retry("in-progress", errors.New("another attempt holds the event"))
		}
	}

	if left, open := h.breaker.open(h.Now()); open {
		if key != "" {
			_ = h.Dedup.Release(ctx, key)
		}
		o := retry("breaker-open", errors.New("the destination failed for every group lately: not called until the breaker closes"))
		o.after = left
		return o
	}
	if err := h.Processor.Process(ctx, m); err != nil {
		if key != "" {
			_ = h.Dedup.Release(ctx, key) // a failed release only delays the retry to the lease's end
		}
		var perm *processor.PermanentError
		if errors.As(err, &perm) {
			h.breaker.ok()
			return reject(perm.Reason, err)
		}
		o := retry("processor", err)
		var ra *processor.RetryError
		if errors.As(err, &ra) {
			o.after = ra.After
		}
		h.breaker.fail(m.GroupID, h.Now(), h.Config.Retry)
		return o
	}
	h.breaker.ok()
	if key != "" {
		if err := h.Dedup.Complete(ctx, key); err != nil {
			// Processed, but the marker stays in progress until its lease
			// ends: acknowledge (retrying would process twice now).
			return outcome{kind: telemetry.OK, reason: "marker-not-final", err: err}
		}
	}
	return ok()
}

// receipt is the time the record's signed timestamp is judged against: a
// re-send's sealed receipt time, else SQS's SentTimestamp (stamped by SQS,
// not by the request), else now. Never hookline-received-at, which a sender
// on an HTTP API can write (see contract/seal.go).
func (h *Handler) receipt(ctx context.Context, m *contract.Message) (contract.Opened, outcome, bool) {
	if m.Seal != "" {
		if h.Sealer == nil {
			return contract.Opened{}, retry("seal-unusable", fmt.Errorf("a re-sent record carries %s but %s is not set", contract.AttrSeal, contract.EnvSealKey)), false
		}
		opened, err := contract.OpenSealed(ctx, h.Sealer, m.Source, m.Body, m.Seal)
		switch {
		case errors.Is(err, contract.ErrForgedSeal):
			return contract.Opened{}, drop("forged-seal", err), false
		case err != nil:
			return contract.Opened{}, retry("seal-unavailable", err), false
		}
		return opened, outcome{}, true
	}
	if !m.SentAt.IsZero() {
		return contract.Opened{At: m.SentAt}, outcome{}, true
	}
	return contract.Opened{At: h.Now()}, outcome{}, true
}

// verify checks the record's signature against its receipt time at. A
// mismatch reads the secrets again once (rate-limited by the store), so a
// sender that switched to a newly added secret is not dead-lettered until
// the cache ends. On an open source (auth signature) anyone can post: a
// record that fails verification is counted and dropped, so forgeries never
// fill the DLQ.
func (h *Handler) verify(ctx context.Context, m *contract.Message, at time.Time) (outcome, bool) {
	secrets, err := h.Secrets.Get(ctx, h.Config.SecretParameter)
	if err != nil {
		return retry("secret-unavailable", err), false
	}
	err = h.Verifier.Verify(m, m.Body, secrets, at)
	if errors.Is(err, contract.ErrSignatureMismatch) {
		if r, isR := h.Secrets.(Refresher); isR {
			fresh, refreshed, rerr := r.Refresh(ctx, h.Config.SecretParameter)
			if rerr == nil && refreshed {
				err = h.Verifier.Verify(m, m.Body, fresh, at)
			}
		}
	}
	switch {
	case err == nil:
		return outcome{}, true
	case errors.Is(err, contract.ErrNoSecret):
		return retry("secret-unusable", err), false
	case h.Config.OpenEdge:
		return drop(signature.Reason(err), err), false
	default:
		return reject(signature.Reason(err), err), false
	}
}

// timeLeft is the time until the invocation's deadline, measured with the
// real clock the deadline is kept by (never with Handler.Now, which tests
// set to simulated times); ok is false without a deadline.
func timeLeft(ctx context.Context) (left time.Duration, ok bool) {
	d, ok := ctx.Deadline()
	if !ok {
		return 0, false
	}
	return time.Until(d), true
}

// tooLate reports whether less than reserve is left before the deadline.
func tooLate(ctx context.Context, reserve time.Duration) bool {
	left, ok := timeLeft(ctx)
	return ok && left < reserve
}

// lease is how long a record may hold its in-progress marker: until the
// invocation's deadline, or a minute.
func (h *Handler) lease(ctx context.Context) time.Duration {
	if l, ok := timeLeft(ctx); ok && l > 0 {
		return l
	}
	return time.Minute
}

func isJSON(ct string) bool {
	mt, _, _ := strings.Cut(strings.ToLower(ct), ";")
	mt = strings.TrimSpace(mt)
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// moveToDLQ sends a rejected record to the source's DLQ, unchanged (body,
// group, attributes with the sender's event id) plus the failure reason, so
// it can be inspected and redriven in order: a contract.Resend, whose
// deduplication id is its own — reusing the sender's would let the DLQ drop
// a redriven copy rejected again within SQS's 5-minute window, and the
// record would be acknowledged and lost. Only a successful send lets the
// record be acknowledged.
func (h *Handler) moveToDLQ(ctx context.Context, r *contract.Record, reason string) error {
	if h.DLQ == nil || h.Config.DLQURL == "" {
		return errors.New("no DLQ configured")
	}
	group := r.GroupID
	if group == "" {
		group = h.Config.Source
	}
	m := contract.Resend{Kind: contract.ResendDLQ, MessageID: r.MessageID, Group: group,
		Body: string(r.Body), Attrs: r.Attrs, Reason: reason}.Message()
	in := &sqs.SendMessageInput{
		QueueUrl:               aws.String(h.Config.DLQURL),
		MessageBody:            aws.String(m.Body),
		MessageGroupId:         aws.String(m.GroupID),
		MessageDeduplicationId: aws.String(m.DeduplicationID),
		MessageAttributes:      stringAttributes(m.Attributes),
	}
	if _, err := h.DLQ.SendMessage(ctx, in); err != nil {
		return fmt.Errorf("move %s to the DLQ: %w", r.MessageID, err)
	}
	return nil
}

// stringAttributes are String message attributes as the SQS client takes them.
func stringAttributes(attrs map[string]string) map[string]sqstypes.MessageAttributeValue {
	out := make(map[string]sqstypes.MessageAttributeValue, len(attrs))
	for k, v := range attrs {
		out[k] = sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	return out
}

// retrying reports whether the consumer paces retries itself.
func (h *Handler) retrying() bool {
	return h.Config.Retry.Schedule != "" && h.Visibility != nil && h.Config.QueueURL != ""
}

// nextDelay is how long a record that failed transiently waits: the retry
// schedule's delay for its attempt (jittered), at least the destination's
// Retry-After, at most the policy's maximum. 0: the consumer does not pace
// retries (the queue's visibility timeout does).
func (h *Handler) nextDelay(r *contract.Record, o outcome) time.Duration {
	if !h.retrying() {
		return 0
	}
	p := h.Config.Retry
	rnd := h.Rand
	if rnd == nil {
		rnd = rand.Float64
	}
	d := p.Jittered(p.Delay(r.ReceiveCount), rnd())
	d = min(max(d, o.after), p.MaxDelay)
	return max(d.Round(time.Second), time.Second)
}

// giveUp turns a processor's transient failure whose retry budget is spent
// into a rejection: the consumer moves the record to the DLQ itself, with
// the reason and the attempts, rather than wait for the queue's
// maxReceiveCount (a safety net above the budget). Other retries (an
// unreadable secret, an unavailable table) never give up: they are ours to
// fix, and lose nothing while they wait.
func (h *Handler) giveUp(r *contract.Record, o outcome) outcome {
	if o.kind != telemetry.Retry || (o.reason != "processor" && o.reason != "breaker-open") || !h.retrying() {
		return o
	}
	p := h.Config.Retry
	// The budget counts from the first attempt (SQS's first receive), so
	// a pause or a backlog before it does not spend it.
	age, first := time.Duration(0), r.FirstReceivedAt
	if first == 0 {
		first = r.SentAt
	}
	if first > 0 {
		age = h.Now().Sub(time.UnixMilli(first))
	}
	next := min(max(p.Delay(r.ReceiveCount), o.after), p.MaxDelay)
	if !p.Spent(r.ReceiveCount, age, next) {
		return o
	}
	g := reject("retries-exhausted", o.err)
	g.dlqReason = fmt.Sprintf("retries-exhausted after %d attempts over %s: %s: %v", r.ReceiveCount, age.Round(time.Second), o.reason, o.err)
	return g
}

// hide sets each failed record's visibility to its retry delay, ten at a
// time. A failure costs only pacing: the record comes back after the
// queue's visibility timeout instead.
func (h *Handler) hide(ctx context.Context, entries []sqstypes.ChangeMessageVisibilityBatchRequestEntry) {
	if len(entries) == 0 || !h.retrying() {
		return
	}
	ctx = context.WithoutCancel(ctx)
	for i := 0; i < len(entries); i += 10 {
		chunk := entries[i:min(i+10, len(entries))]
		out, err := h.Visibility.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{
			QueueUrl: aws.String(h.Config.QueueURL), Entries: chunk})
		switch {
		case err != nil:
			h.Log.Warn("retry delays not set: records come back after the queue's visibility timeout", "source", h.Config.Source, "error", err.Error())
		case len(out.Failed) > 0:
			h.Log.Warn("retry delays not set for some records", "source", h.Config.Source, "failed", len(out.Failed), "code", aws.ToString(out.Failed[0].Code))
		}
	}
}

// breaker stops calling a destination that fails for every group: after
// failures from breakerGroups different groups with no success between, it
// opens for the retry schedule's delay (growing with each trip); records
// then fail at once without a call. When it has been open its time, the
// next record is a trial: a success closes it, a failure opens it again.
// It is per function instance, as warm containers are.
type breaker struct {
	mu        sync.Mutex
	groups    map[string]bool
	trips     int
	openUntil time.Time
}

// breakerGroups is how many groups must fail in a row to open the breaker.
const breakerGroups = 3

func (b *breaker) open(now time.Time) (time.Duration, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if now.Before(b.openUntil) {
		return b.openUntil.Sub(now), true
	}
	return 0, false
}

func (b *breaker) fail(group string, now time.Time, p contract.RetryPolicy) {
	if p.Schedule == "" {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.groups == nil {
		b.groups = map[string]bool{}
	}
	b.groups[group] = true
	if len(b.groups) >= breakerGroups || b.trips > 0 {
		b.trips++
		b.openUntil = now.Add(p.Delay(b.trips))
		clear(b.groups)
	}
}

func (b *breaker) ok() {
	b.mu.Lock()
	defer b.mu.Unlock()
	clear(b.groups)
	b.trips = 0
	b.openUntil = time.Time{}
}
