package archive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/hookline/hookline/contract"
)

// StoreAPI is the part of the S3 client Replay uses: Search's calls and
// PutObject for the checkpoint.
type StoreAPI interface {
	API
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// QueueAPI is the part of the SQS client Replay uses.
type QueueAPI interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

// Target is where a replay reads and sends: the stack's archive bucket and
// the source's queue.
type Target struct {
	Bucket   string
	QueueURL string
}

// Options are a replay's selection and how it runs.
type Options struct {
	// Query selects the deliveries; OnlyFailed further keeps those whose
	// last outcome is not ok. Only first deliveries are replayed: re-sends
	// (DLQ copies, redrives, earlier replays) are copies of one of them.
	Query      Query
	OnlyFailed bool
	// Reprocess seals each copy with contract.SealReprocess, so a consumer with
	// idempotency on processes it again even if its event id was processed.
	Reprocess bool
	// ID names the replay (its deduplication ids and checkpoint); "": ID()
	// of the selection, so the same selection is the same replay.
	ID string
	// DryRun selects and counts, sending and writing nothing.
	DryRun bool
	// Sealer seals each copy's receipt time under the stack's seal key
	// (stack output sealKey). A replay that sends needs it.
	Sealer contract.Sealer
	// Progress receives one line per event (a group started, stopped,
	// finished); Sent the count sent so far and the count to send.
	Progress func(string)
	Sent     func(sent, toSend int)
}

// Result says what a replay did (or, dry, would do).
type Result struct {
	// ID is the replay's id; Checkpoint the key of its checkpoint object.
	ID, Checkpoint string
	// Matched counts the first deliveries selected; Groups their groups.
	Matched, Groups int
	// Sent were sent by this run; AlreadySent by an earlier run of the same
	// replay (its checkpoint); ToSend is what a dry run would send.
	Sent, AlreadySent, ToSend int
	// SkippedResends counts matching deliveries that are re-sends, not
	// replayed.
	SkippedResends int
	// PreviouslyOK counts the matched deliveries whose last outcome was ok:
	// a source with idempotency on skips their copies as duplicates unless
	// the replay reprocesses.
	PreviouslyOK int
	// Failed lists the groups a failed send stopped (their later deliveries
	// were not sent, to keep order); Warnings what else went wrong.
	Failed   []string
	Warnings []string
	// Search is what the selection read.
	Search *SearchResult
	DryRun bool
	// Interrupted: the context ended before everything was sent (run the
	// replay again: the checkpoint says where it stopped).
	Interrupted bool
}

// ErrNoSealer: a replay that sends needs the stack's seal key.
var ErrNoSealer = errors.New("replay needs the stack's seal key (the stack output sealKey) to seal each copy's receipt time: deploy the stack with this version of hookline first")

// ErrBadID marks a replay id that cannot name a checkpoint.
var ErrBadID = errors.New("a replay id is 1 to 40 letters, digits, '-' or '_'")

var idRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,40}$`)

// CheckID reports an id a replay cannot take (ErrBadID).
func CheckID(id string) error {
	if !idRE.MatchString(id) {
		return fmt.Errorf("%w: %q", ErrBadID, id)
	}
	return nil
}

// CheckpointPrefix is where replays keep their checkpoints in the archive
// bucket, outside every source=… partition.
const CheckpointPrefix = "replays/"

// ID is the replay id of a selection: a hash of the source, the window,
// the groups, the event id, the conditions, the outcome and OnlyFailed, so
// that running the same replay again is the same replay (and sends nothing
// it already sent).
func ID(q Query, onlyFailed bool) string {
	groups := slices.Clone(q.Groups)
	slices.Sort(groups)
	groups = slices.Compact(groups)
	var where []string
	for _, c := range q.Where {
		where = append(where, c.String())
	}
	slices.Sort(where)
	key, _ := json.Marshal(map[string]any{
		"source": q.Source, "from": q.From.UnixMilli(), "to": q.To.UnixMilli(), "groups": groups,
		"eventId": q.EventID, "where": where, "outcome": q.Outcome, "onlyFailed": onlyFailed,
	})
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:10])
}

// checkpoint is what a replay has sent: per group, the sequence number and
// message id of the last delivery sent (a group is sent in sequence order,
// so every selected delivery at or before it was sent) and the count.
type checkpoint struct {
	ID        string                `json:"id"`
	Source    string                `json:"source"`
	From      time.Time             `json:"from"`
	To        time.Time             `json:"to"`
	Reprocess bool                  `json:"reprocess"`
	UpdatedAt time.Time             `json:"updatedAt"`
	Groups    map[string]groupState `json:"groups"`
}

type groupState struct {
	Sequence  string `json:"sequence"`
	MessageID string `json:"messageId"`
	Sent      int    `json:"sent"`
}

// sent reports whether the checkpoint holds e as sent.
func (c *checkpoint) sent(e contract.ArchiveEntry) bool {
	g, ok := c.Groups[e.Group]
	if !ok {
		return false
	}
	if e.MessageID == g.MessageID {
		return true
	}
	return e.SequenceNumber != "" && g.Sequence != "" && !contract.SequenceLess(g.Sequence, e.SequenceNumber)
}

// Replay re-sends the first deliveries o selects to the source's queue.
// Each group's deliveries go in SQS sequence order, in batches of at most
// 10 (and at most SQS's size limit), one group at a time; each copy keeps
// the body and attributes (not a failure reason), carries the original
// receipt time (the archived sentAt) sealed under the stack's seal key,
// the reprocess mark under the seal when o.Reprocess, and the deduplication id
// contract.ReplayDeduplicationID(id, message id). After each batch the
// checkpoint replays/<id>.json records what was sent, so a replay run again
// — interrupted or not — sends nothing twice; within SQS's 5-minute window
// the deduplication ids absorb a repeated send too. A failed send stops its
// group (order) and the others go on.
func Replay(ctx context.Context, store StoreAPI, queue QueueAPI, t Target, o Options) (*Result, error) {
	if o.ID == "" {
		o.ID = ID(o.Query, o.OnlyFailed)
	}
	if err := CheckID(o.ID); err != nil {
		return nil, err
	}
	if !o.DryRun && o.Sealer == nil {
		return nil, ErrNoSealer
	}
	res := &Result{ID: o.ID, Checkpoint: CheckpointPrefix + o.ID + ".json", DryRun: o.DryRun}
	search, err := Search(ctx, store, t.Bucket, o.Query)
	if err != nil {
		return nil, err
	}
	res.Search = search
	groups := map[string][]contract.ArchiveEntry{}
	for _, d := range search.Deliveries {
		if d.Resend() != "" {
			res.SkippedResends++
			continue
		}
		if o.OnlyFailed && !d.Failed() {
			continue
		}
		res.Matched++
		if d.Outcome == contract.ArchiveOK {
			res.PreviouslyOK++
		}
		groups[d.Entry.Group] = append(groups[d.Entry.Group], d.Entry)
	}
	names := make([]string, 0, len(groups))
	for g, es := range groups {
		names = append(names, g)
		sort.SliceStable(es, func(i, j int) bool { return compareSequence(es[i], es[j]) < 0 })
	}
	slices.Sort(names)
	res.Groups = len(names)

	cp, err := readCheckpoint(ctx, store, t.Bucket, res.Checkpoint)
	if err != nil {
		return nil, err
	}
	if cp == nil {
		cp = &checkpoint{ID: o.ID, Source: o.Query.Source, From: o.Query.From.UTC(), To: o.Query.To.UTC(), Reprocess: o.Reprocess, Groups: map[string]groupState{}}
	}
	todo := map[string][]contract.ArchiveEntry{}
	for _, g := range names {
		for _, e := range groups[g] {
			if cp.sent(e) {
				res.AlreadySent++
				continue
			}
			todo[g] = append(todo[g], e)
			res.ToSend++
		}
	}
	if o.DryRun {
		return res, nil
	}
	o.sent(0, res.ToSend)
	for _, g := range names {
		if len(todo[g]) == 0 {
			continue
		}
		if ctx.Err() != nil {
			res.Interrupted = true
			break
		}
		if err := replayGroup(ctx, store, queue, t, o, cp, res, g, todo[g]); err != nil {
			if ctx.Err() != nil {
				res.Interrupted = true
				break
			}
			var cpErr *checkpointError
			if errors.As(err, &cpErr) {
				return res, err
			}
			res.Failed = append(res.Failed, fmt.Sprintf("group %s: %v", g, err))
			o.progress("group %s stopped: %v", g, err)
		}
	}
	return res, nil
}

// checkpointError: the checkpoint could not be written, so the replay
// stops (a run again would not know what this one sent).
type checkpointError struct{ err error }

func (e *checkpointError) Error() string { return e.err.Error() }
func (e *checkpointError) Unwrap() error { return e.err }

// maxBatch is SendMessageBatch's limit of entries.
const maxBatch = 10

// replayGroup sends one group's deliveries in order.
func replayGroup(ctx context.Context, store StoreAPI, queue QueueAPI, t Target, o Options, cp *checkpoint, res *Result, group string, es []contract.ArchiveEntry) error {
	o.progress("group %s: %d to send", group, len(es))
	for len(es) > 0 {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var batch []types.SendMessageBatchRequestEntry
		var sentEntries []contract.ArchiveEntry
		size := 0
		for _, e := range es {
			if len(batch) == maxBatch {
				break
			}
			m, err := copyOf(ctx, o, e)
			if err != nil {
				if len(batch) == 0 {
					return err
				}
				break
			}
			// SendMessageBatch takes at most 10 entries and, in all, SQS's
			// message size limit (the sum of the entries' sizes).
			n := contract.MessageSize(m.Body, m.Attributes)
			if len(batch) > 0 && size+n > contract.MaxMessageBytes {
				break
			}
			size += n
			batch = append(batch, entry(len(batch), m))
			sentEntries = append(sentEntries, e)
		}
		out, err := queue.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(t.QueueURL), Entries: batch})
		if err != nil {
			return fmt.Errorf("send to %s: %w", t.QueueURL, err)
		}
		// The copies up to the first failed one were sent in order. SQS
		// reports each entry on its own: a copy after a failed one that it
		// took anyway is in the queue out of order (only a transient
		// failure can do this: copyOf refuses what SQS would). The
		// checkpoint records the copies before the failed one only, so a
		// run again sends the later ones again, under the same
		// deduplication ids: inside SQS's 5-minute window it drops them.
		failed := map[string]types.BatchResultErrorEntry{}
		for _, f := range out.Failed {
			failed[aws.ToString(f.Id)] = f
		}
		done, stop := 0, error(nil)
		for i := range batch {
			if f, bad := failed[aws.ToString(batch[i].Id)]; bad {
				stop = fmt.Errorf("message %s: SQS refused its copy: %s: %s", sentEntries[i].MessageID, aws.ToString(f.Code), aws.ToString(f.Message))
				for j := i + 1; j < len(batch); j++ {
					if _, bad := failed[aws.ToString(batch[j].Id)]; !bad {
						res.Warnings = append(res.Warnings, fmt.Sprintf("message %s of group %s reached the queue although message %s before it failed: out of order (a run again within 5 minutes sends it under the same deduplication id, which SQS drops)", sentEntries[j].MessageID, group, sentEntries[i].MessageID))
					}
				}
				break
			}
			done++
		}
		if done > 0 {
			last := sentEntries[done-1]
			st := cp.Groups[group]
			cp.Groups[group] = groupState{Sequence: last.SequenceNumber, MessageID: last.MessageID, Sent: st.Sent + done}
			res.Sent += done
			// The sends happened: record them even when the run is being
			// interrupted, so a run again does not repeat them.
			if err := writeCheckpoint(context.WithoutCancel(ctx), store, t.Bucket, res.Checkpoint, cp); err != nil {
				return &checkpointError{err}
			}
			o.sent(res.Sent, res.ToSend)
		}
		if stop != nil {
			return stop
		}
		es = es[done:]
	}
	o.progress("group %s: done", group)
	return nil
}

// copyOf builds a delivery's copy: contract.Resend keeps its body and
// attributes (no failure reason) under the replay's deduplication id, with
// the original receipt time sealed.
func copyOf(ctx context.Context, o Options, e contract.ArchiveEntry) (contract.ResendMessage, error) {
	body, err := e.RawBody()
	if err != nil {
		return contract.ResendMessage{}, err
	}
	sealWith := contract.Seal
	if o.Reprocess {
		// The mark rides under the seal's MAC: no attribute of its own.
		sealWith = contract.SealReprocess
	}
	seal, err := sealWith(ctx, o.Sealer, e.Source, e.Received(), body)
	if err != nil {
		return contract.ResendMessage{}, err
	}
	attrs := make([]contract.Attr, 0, len(e.Attributes)+1)
	for k, v := range e.Attributes {
		if k == contract.AttrSeal {
			continue
		}
		attrs = append(attrs, contract.Attr{Name: k, Value: v})
	}
	attrs = append(attrs, contract.Attr{Name: contract.AttrSeal, Value: seal})
	m := contract.Resend{Kind: contract.ResendReplay + "-" + o.ID, MessageID: e.MessageID, Group: e.Group, Body: string(body), Attrs: attrs}.Message()
	// Refuse here what SQS would refuse, so a copy that can never be sent
	// stops its group before it is in a batch: SQS would take the batch's
	// later copies of the group anyway, out of order.
	switch size := contract.MessageSize(m.Body, m.Attributes); {
	case len(m.Attributes) > contract.MaxMessageAttributes:
		return m, fmt.Errorf("message %s: its copy would carry %d attributes, over SQS's %d", e.MessageID, len(m.Attributes), contract.MaxMessageAttributes)
	case size > contract.MaxMessageBytes:
		return m, fmt.Errorf("message %s: its copy is %d bytes with the seal, over SQS's limit of %d", e.MessageID, size, contract.MaxMessageBytes)
	case !contract.ValidID(m.GroupID):
		return m, fmt.Errorf("message %s: group %q is not a valid SQS group id", e.MessageID, m.GroupID)
	}
	if err := contract.CheckBody(m.Body); err != nil {
		return m, fmt.Errorf("message %s: SQS cannot carry its body: %w", e.MessageID, err)
	}
	return m, nil
}

func entry(i int, m contract.ResendMessage) types.SendMessageBatchRequestEntry {
	attrs := make(map[string]types.MessageAttributeValue, len(m.Attributes))
	for k, v := range m.Attributes {
		attrs[k] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	return types.SendMessageBatchRequestEntry{Id: aws.String("m" + strconv.Itoa(i)), MessageBody: aws.String(m.Body),
		MessageGroupId: aws.String(m.GroupID), MessageDeduplicationId: aws.String(m.DeduplicationID), MessageAttributes: attrs}
}

func readCheckpoint(ctx context.Context, store StoreAPI, bucket, key string) (*checkpoint, error) {
	out, err := store.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "NoSuchKey" {
			return nil, nil
		}
		return nil, bucketError(bucket, "read the replay's checkpoint s3://"+bucket+"/"+key, err)
	}
	defer out.Body.Close()
	raw, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, fmt.Errorf("read the replay's checkpoint s3://%s/%s: %w", bucket, key, err)
	}
	var cp checkpoint
	if err := json.Unmarshal(raw, &cp); err != nil {
		return nil, fmt.Errorf("the replay's checkpoint s3://%s/%s is not one hookline wrote (%v): delete it or choose another --id", bucket, key, err)
	}
	if cp.Groups == nil {
		cp.Groups = map[string]groupState{}
	}
	return &cp, nil
}

func writeCheckpoint(ctx context.Context, store StoreAPI, bucket, key string, cp *checkpoint) error {
	cp.UpdatedAt = time.Now().UTC()
	raw, _ := json.MarshalIndent(cp, "", "  ") // strings, times and counts: never fails
	_, err := store.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(raw),
		ContentType: aws.String("application/json")})
	if err != nil {
		return fmt.Errorf("write the replay's checkpoint s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}

func (o Options) progress(format string, a ...any) {
	if o.Progress != nil {
		o.Progress(fmt.Sprintf(format, a...))
	}
}

func (o Options) sent(sent, toSend int) {
	if o.Sent != nil {
		o.Sent(sent, toSend)
	}
}
