// Package archive searches a stack's delivery archive and replays archived
// deliveries to their source queue, in order.
//
// The archive is what each source's consumer writes, through the source's
// Firehose stream, to the stack's archive bucket (contract.ArchiveEntry,
// GZIP newline-delimited JSON under contract.ArchivePrefix). Search reads
// only the hour prefixes that can hold the window asked for
// (contract.ArchiveHours) and joins each message's first delivery entry with
// its last outcome. Replay re-sends the first deliveries a search selects,
// group by group in SQS sequence order, each as redrive re-sends a dead
// letter: the original body and attributes, the original receipt time sealed
// under the stack's seal key, a deduplication id of its own
// (contract.ReplayDeduplicationID). A checkpoint object in the archive
// bucket records what a replay has sent, so running it again sends nothing
// twice.
package archive

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/hookline/hookline/contract"
)

// API is the part of the S3 client Search uses.
type API interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// DefaultLag is how long after reaching the queue a delivery is assumed to
// be first received (and so archived) when a query does not say: minutes in
// normal running; a source paused or failing for longer needs a query with
// a longer Lag, up to the queue's retention.
const DefaultLag = time.Hour

// Outcome filters beyond the contract's outcomes.
const (
	// OutcomeFailed selects deliveries whose last outcome is not ok.
	OutcomeFailed = "failed"
)

// Outcomes are the values Query.Outcome takes.
var Outcomes = []string{contract.ArchiveOK, contract.ArchiveRejected, contract.ArchiveDeadLettered, contract.ArchiveRetry, OutcomeFailed}

// Query selects archived deliveries of one source.
type Query struct {
	Source string
	// From and To bound the deliveries' receipt time (SQS's SentTimestamp:
	// when hookline received them), both included.
	From, To time.Time
	// Lag is how long after receipt a delivery may have been first received
	// by the consumer (0: DefaultLag): Search reads the hours up to To+Lag.
	Lag time.Duration
	// Groups keeps only these message groups (none: every group).
	Groups []string
	// EventID keeps only deliveries with this event id.
	EventID string
	// Where keeps only deliveries every condition matches.
	Where []Condition
	// Outcome keeps only deliveries whose last outcome is this (one of
	// Outcomes; "": any).
	Outcome string
}

// Condition is one --where filter: a selector (header:<Name> or
// body:<JSONPath>, contract.ParseSelector) and the value it must give.
type Condition struct {
	Selector contract.Selector
	Value    string
}

// String is the condition as ParseCondition reads it.
func (c Condition) String() string { return c.Selector.String() + "=" + c.Value }

// ErrBadCondition marks a --where that does not parse.
var ErrBadCondition = errors.New("a condition is header:<Name>=<value> or body:<JSONPath>=<value>")

// ParseCondition reads "header:<Name>=<value>" or "body:<JSONPath>=<value>".
// The selector is the one groupBy and eventId use; its name or path holds
// no '=', so the first '=' ends it.
func ParseCondition(s string) (Condition, error) {
	sel, value, ok := strings.Cut(s, "=")
	if !ok {
		return Condition{}, fmt.Errorf("%w: %q has no '='", ErrBadCondition, s)
	}
	parsed, err := contract.ParseSelector(sel, false)
	if err != nil {
		return Condition{}, fmt.Errorf("%w: %v", ErrBadCondition, err)
	}
	return Condition{Selector: parsed, Value: value}, nil
}

// Matches reports whether the delivery entry e gives the condition's
// value. A header is read from the message attribute the edge carries it
// in (contract.AttributeName: the source's signature headers; Content-Type
// from hookline-content-type); a header the edge does not carry never
// matches. A body path reads the body as the request template does.
func (c Condition) Matches(e contract.ArchiveEntry, body []byte) bool {
	switch c.Selector.Kind {
	case contract.KindHeader:
		name := contract.AttributeName(c.Selector.Name)
		if name == "content-type" {
			name = contract.AttrContentType
		}
		v, ok := e.Attributes[name]
		return ok && v == c.Value
	case contract.KindBody:
		return contract.Request{Body: body}.Select(c.Selector) == c.Value
	}
	return false
}

// Validate reports a query that cannot be run.
func (q Query) Validate() error {
	var errs []error
	if q.Source == "" {
		errs = append(errs, errors.New("no source"))
	}
	if q.From.IsZero() || q.To.IsZero() {
		errs = append(errs, errors.New("the window needs both a start and an end"))
	} else if q.From.After(q.To) {
		errs = append(errs, fmt.Errorf("the window starts (%s) after it ends (%s)", q.From.UTC().Format(time.RFC3339), q.To.UTC().Format(time.RFC3339)))
	}
	if q.Lag < 0 {
		errs = append(errs, errors.New("a negative lag"))
	}
	if q.Outcome != "" && !slices.Contains(Outcomes, q.Outcome) {
		errs = append(errs, fmt.Errorf("outcome %q is not one of %s", q.Outcome, strings.Join(Outcomes, ", ")))
	}
	if slices.Contains(q.Groups, "") {
		errs = append(errs, errors.New("an empty group"))
	}
	return errors.Join(errs...)
}

func (q Query) lag() time.Duration {
	if q.Lag == 0 {
		return DefaultLag
	}
	return q.Lag
}

// Delivery is one archived delivery: a message's first delivery entry and
// its last outcome.
type Delivery struct {
	// Entry is the first delivery entry archived for the message (body,
	// attributes, ids).
	Entry contract.ArchiveEntry
	// Outcome and Reason are the last outcome archived for it ("": none).
	Outcome, Reason string
	// Receives is how many delivery entries the archive holds for it (one
	// per receive).
	Receives int
}

// Time is when hookline received the delivery (SQS's SentTimestamp).
func (d Delivery) Time() time.Time { return d.Entry.Received() }

// Resend says which re-send the delivery is ("dlq", "redrive", "replay"),
// or "" for a sender's first delivery.
func (d Delivery) Resend() string {
	if !contract.IsResend(d.Entry.DeduplicationID) {
		return ""
	}
	kind, _, _ := strings.Cut(d.Entry.DeduplicationID, "-")
	return kind
}

// Failed reports whether its last outcome is not ok.
func (d Delivery) Failed() bool { return d.Outcome != contract.ArchiveOK }

// SearchResult is what Search found, and what it read to find it.
type SearchResult struct {
	// Deliveries match the query, by receipt time (then group and sequence
	// number).
	Deliveries []Delivery
	// Prefixes are the hour prefixes read.
	Prefixes []string
	// Objects counts the archive objects read; SkippedObjects those that
	// could not be read at all (not GZIP, unreadable), SkippedLines the
	// lines that were not entries (not JSON, cut short, unknown kind) in the
	// others. None of them stops a search.
	Objects, SkippedObjects, SkippedLines int
	// Lists and Gets count the S3 requests made.
	Lists, Gets int
}

// ErrNoBucket: the archive bucket does not exist.
var ErrNoBucket = errors.New("the archive bucket does not exist")

// Search reads the archive of q.Source in bucket and returns the deliveries
// q selects. It lists and reads only the hour prefixes that can hold
// deliveries received in the window (contract.ArchiveHours with q's lag).
func Search(ctx context.Context, api API, bucket string, q Query) (*SearchResult, error) {
	if err := q.Validate(); err != nil {
		return nil, fmt.Errorf("search the archive: %w", err)
	}
	res := &SearchResult{Prefixes: contract.ArchiveHours(q.Source, q.From, q.To, q.lag())}
	byID := map[string]*Delivery{}
	lastOutcome := map[string]int64{}
	for _, prefix := range res.Prefixes {
		var token *string
		for {
			out, err := api.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix), ContinuationToken: token})
			res.Lists++
			if err != nil {
				return nil, bucketError(bucket, fmt.Sprintf("list s3://%s/%s", bucket, prefix), err)
			}
			for _, o := range out.Contents {
				if err := readObject(ctx, api, bucket, aws.ToString(o.Key), res, func(e contract.ArchiveEntry) {
					collect(e, byID, lastOutcome)
				}); err != nil {
					return nil, err
				}
			}
			if !aws.ToBool(out.IsTruncated) || out.NextContinuationToken == nil {
				break
			}
			token = out.NextContinuationToken
		}
	}
	for _, d := range byID {
		if d.Entry.Kind == "" { // an outcome whose delivery is outside the hours read
			continue
		}
		if d.Outcome == "" {
			// The consumer writes outcomes only for batches in which
			// something was not ok (contract.OutcomeOf).
			d.Outcome, d.Reason = contract.OutcomeOf(nil)
		}
		if q.keeps(*d) {
			res.Deliveries = append(res.Deliveries, *d)
		}
	}
	slices.SortFunc(res.Deliveries, func(a, b Delivery) int {
		return cmp.Or(cmp.Compare(a.Entry.SentAt, b.Entry.SentAt), cmp.Compare(a.Entry.Group, b.Entry.Group), compareSequence(a.Entry, b.Entry))
	})
	return res, nil
}

// readObject reads one archive object, counting what it cannot use.
func readObject(ctx context.Context, api API, bucket, key string, res *SearchResult, fn func(contract.ArchiveEntry)) error {
	out, err := api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	res.Gets++
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "NoSuchKey" {
			// Deleted (a lifecycle expiry) between the list and the read.
			return nil
		}
		return bucketError(bucket, fmt.Sprintf("read s3://%s/%s", bucket, key), err)
	}
	defer out.Body.Close()
	raw, err := io.ReadAll(out.Body)
	if err != nil {
		return fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	res.Objects++
	var r io.Reader = bytes.NewReader(raw)
	if len(raw) >= 2 && raw[0] == 0x1f && raw[1] == 0x8b {
		zr, err := gzip.NewReader(r)
		if err != nil {
			res.SkippedObjects++
			return nil
		}
		r = zr
	} else if len(raw) > 0 && raw[0] != '{' {
		// Neither GZIP (what the streams write) nor plain JSON lines.
		res.SkippedObjects++
		return nil
	}
	skipped, _ := contract.ReadArchive(r, func(e contract.ArchiveEntry) error { fn(e); return nil })
	res.SkippedLines += skipped
	return nil
}

// collect keeps each message's first delivery entry (its first receive)
// and its last outcome.
func collect(e contract.ArchiveEntry, byID map[string]*Delivery, lastOutcome map[string]int64) {
	d := byID[e.MessageID]
	if d == nil {
		d = &Delivery{}
		byID[e.MessageID] = d
	}
	switch e.Kind {
	case contract.ArchiveDelivery:
		d.Receives++
		if d.Entry.Kind == "" || firstReceive(e, d.Entry) {
			d.Entry = e
		}
	case contract.ArchiveOutcome:
		if at, seen := lastOutcome[e.MessageID]; !seen || e.ArchivedAt >= at {
			lastOutcome[e.MessageID] = e.ArchivedAt
			d.Outcome, d.Reason = e.Outcome, e.Reason
		}
	}
}

// firstReceive reports whether delivery entry a is an earlier receive than b.
func firstReceive(a, b contract.ArchiveEntry) bool {
	if a.ReceiveCount != b.ReceiveCount && a.ReceiveCount > 0 && b.ReceiveCount > 0 {
		return a.ReceiveCount < b.ReceiveCount
	}
	return a.ArchivedAt < b.ArchivedAt
}

// compareSequence orders two entries of a group by SQS sequence number.
func compareSequence(a, b contract.ArchiveEntry) int {
	switch {
	case contract.SequenceLess(a.SequenceNumber, b.SequenceNumber):
		return -1
	case contract.SequenceLess(b.SequenceNumber, a.SequenceNumber):
		return 1
	}
	return 0
}

// keeps reports whether q selects d.
func (q Query) keeps(d Delivery) bool {
	e := d.Entry
	if e.Source != q.Source || e.SentAt < q.From.UnixMilli() || e.SentAt > q.To.UnixMilli() {
		return false
	}
	if len(q.Groups) > 0 && !slices.Contains(q.Groups, e.Group) {
		return false
	}
	if q.EventID != "" && e.EventID != q.EventID {
		return false
	}
	switch q.Outcome {
	case "":
	case OutcomeFailed:
		if !d.Failed() {
			return false
		}
	default:
		if d.Outcome != q.Outcome {
			return false
		}
	}
	if len(q.Where) > 0 {
		body, err := e.RawBody()
		if err != nil {
			return false
		}
		for _, c := range q.Where {
			if !c.Matches(e, body) {
				return false
			}
		}
	}
	return true
}

// bucketError names the bucket when it does not exist, and wraps any other
// S3 error with what was being done.
func bucketError(bucket, doing string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "NoSuchBucket" {
		return fmt.Errorf("%w: %s (the stack output archiveBucket names it: is the stack deployed with the archive on, in this account and region?)", ErrNoBucket, bucket)
	}
	return fmt.Errorf("%s: %w", doing, err)
}
