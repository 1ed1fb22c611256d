// Package redrive moves dead-lettered messages back to their source queue.
//
// Redrive re-sends messages itself, group by group in order, in one scan of
// the DLQ (every group, or the ones asked for), keeping each message's group
// id, body and attributes (the sender's event id among them) and giving each
// send a deduplication id of its own, derived from the DLQ copy's message id:
// the sender's id may still be inside the source queue's 5-minute window
// (SQS keeps it after the message is deleted), where SQS would answer
// success and drop the message. Each re-send carries its original receipt
// time sealed under the stack's seal key (contract.Seal): the handler judges
// a signature's timestamp against it, and a sender cannot write one. That is
// why a whole-DLQ redrive does not use SQS's message move task: its copies
// would reach the handler with a new SentTimestamp and no seal, and every
// signed delivery older than its tolerance would be refused.
//
// A message leaves the DLQ only after its send succeeded: an interrupted or
// failed run leaves every message in the DLQ or in the source queue — the
// worst case is a copy in both; a repeated run within 5 minutes re-sends it
// with the same id, which the source queue absorbs, and after that the
// handler's idempotency (keyed on the event id) recognises it.
package redrive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/hookline/hookline/contract"
)

// API is the part of the SQS client redrive uses.
type API interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// Queues names the source queue and its DLQ.
type Queues struct {
	QueueURL, QueueArn, DLQURL, DLQArn string
	// Source is the source the queues belong to: a seal binds it.
	Source string
}

// Options select what to move.
type Options struct {
	Group  string        // only this message group
	Groups []string      // only these message groups (with Group: either); one scan of the DLQ moves them all
	Max    int           // at most this many messages (0: all)
	Rate   float64       // messages per second (0: unlimited)
	DryRun bool          // list, move nothing
	Wait   time.Duration // how long an empty receive waits (default 1 s)
	// Now is the clock a listed message's age is judged by, against SQS's
	// SentTimestamp (nil: the real clock; tests give a fake SQS's clock).
	Now func() time.Time
	// Progress receives one line per event (moved message, task status).
	Progress func(string)
	// Moved receives the count moved so far and, when known, the count
	// to move (0: not known).
	Moved func(moved, toMove int)
	// Sealer seals each re-send's receipt time under the stack's seal key
	// (its output sealKey). A redrive that moves anything needs it.
	Sealer contract.Sealer
}

// Entry is one dead-lettered message, as a dry run lists it.
type Entry struct {
	MessageID, Group, EventID, Reason string
	Age                               time.Duration
	ReceiveCount                      int
}

// Result says what a redrive did.
type Result struct {
	Moved   int
	Listed  []Entry
	Failed  []string // groups stopped by a failed send (their messages stay in the DLQ)
	Warning []string
	// More: a dry run stopped before it saw the whole DLQ (it lists at
	// most Max, and cannot look behind the messages it shows without
	// hiding them).
	More bool
	// Seen counts the messages the scan received per group, moved or not:
	// a group asked for that is not here was not in the DLQ (unless the
	// scan stopped early, at Max or on interrupt: Complete says).
	Seen map[string]int
	// Complete: a redrive scanned until the DLQ returned nothing more.
	Complete bool
}

// Counts is how many messages a queue holds, as SQS approximates them.
type Counts struct {
	// Visible can be received now; InFlight were received and are hidden
	// (a redrive or a consumer holds them).
	Visible, InFlight int
}

// Total is every message of the queue.
func (c Counts) Total() int { return c.Visible + c.InFlight }

// AttributesAPI is the part of the SQS client Depth uses.
type AttributesAPI interface {
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// Depth counts the messages of a queue with GetQueueAttributes
// (ApproximateNumberOfMessages and ...NotVisible). Unlike a dry run's
// listing it receives nothing, so no message's receive count changes: what
// a redrive states and asks about before it moves anything.
func Depth(ctx context.Context, api AttributesAPI, queueURL string) (Counts, error) {
	out, err := api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(queueURL), AttributeNames: []types.QueueAttributeName{
		types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		return Counts{}, fmt.Errorf("count the messages of %s: %w", queueURL, err)
	}
	var c Counts
	for name, dst := range map[types.QueueAttributeName]*int{
		types.QueueAttributeNameApproximateNumberOfMessages:           &c.Visible,
		types.QueueAttributeNameApproximateNumberOfMessagesNotVisible: &c.InFlight,
	} {
		v, ok := out.Attributes[string(name)]
		if !ok {
			return Counts{}, fmt.Errorf("count the messages of %s: SQS answered no %s", queueURL, name)
		}
		if *dst, err = strconv.Atoi(v); err != nil {
			return Counts{}, fmt.Errorf("count the messages of %s: %s is %q: %w", queueURL, name, v, err)
		}
	}
	return c, nil
}

// Selective reports whether the options ask for a selective redrive.
func (o Options) Selective() bool {
	return o.Group != "" || len(o.Groups) > 0 || o.Max > 0 || o.DryRun
}

func (o Options) progress(format string, a ...any) {
	if o.Progress != nil {
		o.Progress(fmt.Sprintf(format, a...))
	}
}

func (o Options) moved(moved, toMove int) {
	if o.Moved != nil {
		o.Moved(moved, toMove)
	}
}

// ErrNoSealer: a redrive that moves messages needs the stack's seal key.
var ErrNoSealer = errors.New("redrive needs the stack's seal key (the stack output sealKey) to seal each re-send's receipt time: deploy the stack with this version of hookline first")

// Run redrives according to o: a dry run lists, anything else re-sends.
func Run(ctx context.Context, api API, q Queues, o Options) (*Result, error) {
	if o.DryRun {
		return list(ctx, api, q, o)
	}
	if o.Sealer == nil {
		return nil, ErrNoSealer
	}
	return selective(ctx, api, q, o)
}

// visibility is how long a received DLQ message stays hidden while it is
// being moved.
const visibility = 60

// DefaultListMax is how many messages a dry run lists when Options.Max is 0.
const DefaultListMax = 10

// wants reports whether a redrive of o moves (or a dry run lists) group's
// messages.
func (o Options) wants(group string) bool {
	if o.Group == "" && len(o.Groups) == 0 {
		return true
	}
	return group == o.Group || slices.Contains(o.Groups, group)
}

// receive asks the DLQ for up to n messages, hidden for vis seconds.
func receive(ctx context.Context, api API, q Queues, o Options, n, vis int32) (*sqs.ReceiveMessageOutput, error) {
	wait := o.Wait
	if wait <= 0 {
		wait = time.Second
	}
	in := &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(q.DLQURL), MaxNumberOfMessages: n, VisibilityTimeout: vis,
		WaitTimeSeconds:             int32(wait / time.Second),
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		MessageAttributeNames:       []string{"All"},
	}
	if vis == 0 {
		return api.ReceiveMessage(ctx, in, ZeroVisibility)
	}
	return api.ReceiveMessage(ctx, in)
}

// list is a dry run: it looks at the DLQ without hiding anything and
// stops as soon as it has what it shows. Each receive asks for
// VisibilityTimeout 0, so every message it returns is visible again at once
// (a redrive right after moves it) and nothing needs releasing; each
// receive still raises the messages' ApproximateReceiveCount, as SQS
// documents, which is why a list receives no more than it shows: it stops
// when it has listed the limit, or when a receive adds nothing new to show
// (on a FIFO queue a receive that hides nothing returns the heads of the
// same groups again, so what lies behind them cannot be seen without hiding
// them — Result.More says so).
func list(ctx context.Context, api API, q Queues, o Options) (*Result, error) {
	res := &Result{}
	limit := o.Max
	if limit <= 0 {
		limit = DefaultListMax
	}
	seen := map[string]bool{}
	for ctx.Err() == nil && len(res.Listed) < limit {
		n := int32(min(10, limit-len(res.Listed)))
		if o.Group != "" || len(o.Groups) > 0 {
			n = 10 // others' messages come too: look at a full batch
		}
		out, err := receive(ctx, api, q, o, n, 0)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return res, fmt.Errorf("receive from the DLQ: %w", err)
		}
		if len(out.Messages) == 0 {
			return res, nil
		}
		added := 0
		for _, m := range out.Messages {
			id := aws.ToString(m.MessageId)
			if seen[id] {
				continue
			}
			seen[id] = true
			if !o.wants(m.Attributes[string(types.MessageSystemAttributeNameMessageGroupId)]) || len(res.Listed) >= limit {
				continue
			}
			res.Listed = append(res.Listed, entry(m, o.now()))
			added++
		}
		if added == 0 {
			break
		}
	}
	res.More = true
	return res, nil
}

// selective moves the messages of the wanted groups (all: every group), at
// most o.Max, in one scan of the DLQ however many groups it moves.
func selective(ctx context.Context, api API, q Queues, o Options) (*Result, error) {
	res := &Result{Seen: map[string]int{}}
	seen := map[string]bool{}
	var tick <-chan time.Time
	if o.Rate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) / o.Rate))
		defer t.Stop()
		tick = t.C
	}
	stopped := map[string]bool{}
	var held []types.Message // received but not ours to move: released at the end
	defer func() {
		release(context.WithoutCancel(ctx), api, q.DLQURL, held)
	}()
	for ctx.Err() == nil && (o.Max == 0 || res.Moved < o.Max) {
		out, err := receive(ctx, api, q, o, 10, visibility)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return res, fmt.Errorf("receive from the DLQ: %w", err)
		}
		if len(out.Messages) == 0 {
			res.Complete = ctx.Err() == nil
			break
		}
		for _, m := range out.Messages {
			group := m.Attributes[string(types.MessageSystemAttributeNameMessageGroupId)]
			if id := aws.ToString(m.MessageId); !seen[id] {
				seen[id] = true
				res.Seen[group]++
			}
			if ctx.Err() != nil || !o.wants(group) || stopped[group] || (o.Max > 0 && res.Moved >= o.Max) {
				held = append(held, m)
				continue
			}
			if tick != nil {
				select {
				case <-tick:
				case <-ctx.Done():
					held = append(held, m)
					continue
				}
			}
			if err := send(ctx, api, q, o.Sealer, m, group); err != nil {
				// Keep the group's order: nothing after a failed message moves.
				stopped[group] = true
				res.Failed = append(res.Failed, fmt.Sprintf("group %s: %v", group, err))
				held = append(held, m)
				o.progress("group %s stopped: %v", group, err)
				continue
			}
			if _, err := api.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(q.DLQURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				res.Warning = append(res.Warning, fmt.Sprintf("message %s was re-sent but is still in the DLQ (%v); a second run within 5 minutes re-sends it under the same deduplication id, which the source queue drops, and later the handler's idempotency recognises its event id", aws.ToString(m.MessageId), err))
			}
			res.Moved++
			o.progress("moved %s (group %s)", aws.ToString(m.MessageId), group)
			o.moved(res.Moved, 0)
		}
	}
	sort.Slice(res.Failed, func(i, j int) bool { return res.Failed[i] < res.Failed[j] })
	return res, nil
}

// ZeroVisibility makes a ReceiveMessage call send VisibilityTimeout 0. The
// SDK leaves a zero VisibilityTimeout out of the request (it cannot tell 0
// from unset), and SQS then hides the received messages for the queue's
// own visibility timeout; SQS's ReceiveMessage takes 0 to 43,200 seconds,
// and 0 leaves a received message visible at once.
func ZeroVisibility(o *sqs.Options) {
	o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
		return stack.Serialize.Add(middleware.SerializeMiddlewareFunc("hooklineZeroVisibility",
			func(ctx context.Context, in middleware.SerializeInput, next middleware.SerializeHandler) (middleware.SerializeOutput, middleware.Metadata, error) {
				req, ok := in.Request.(*smithyhttp.Request)
				if !ok || req.GetStream() == nil {
					return middleware.SerializeOutput{}, middleware.Metadata{}, errors.New("zero visibility: no request body to amend")
				}
				body, err := io.ReadAll(req.GetStream())
				if err != nil {
					return middleware.SerializeOutput{}, middleware.Metadata{}, fmt.Errorf("zero visibility: %w", err)
				}
				var doc map[string]json.RawMessage
				if err := json.Unmarshal(body, &doc); err != nil {
					return middleware.SerializeOutput{}, middleware.Metadata{}, fmt.Errorf("zero visibility: the request is not JSON: %w", err)
				}
				if _, set := doc["VisibilityTimeout"]; !set {
					doc["VisibilityTimeout"] = json.RawMessage("0")
				}
				if body, err = json.Marshal(doc); err != nil {
					return middleware.SerializeOutput{}, middleware.Metadata{}, err
				}
				if req, err = req.SetStream(bytes.NewReader(body)); err != nil {
					return middleware.SerializeOutput{}, middleware.Metadata{}, fmt.Errorf("zero visibility: %w", err)
				}
				in.Request = req
				return next.HandleSerialize(ctx, in)
			}), middleware.After)
	})
}

// send re-sends a dead-lettered message to its source queue: a
// contract.Resend, so body, group and attributes unchanged, without the
// failure reason, under a deduplication id of its own, with its receipt
// time sealed (a seal it already carries stays: it binds the same source,
// time and body).
func send(ctx context.Context, api API, q Queues, sealer contract.Sealer, m types.Message, group string) error {
	attrs := make([]contract.Attr, 0, len(m.MessageAttributes)+1)
	sealed := false
	for k, v := range m.MessageAttributes {
		attrs = append(attrs, contract.Attr{Name: k, Value: aws.ToString(v.StringValue), Binary: v.StringValue == nil})
		sealed = sealed || k == contract.AttrSeal
	}
	if !sealed {
		at := contract.RedriveReceipt(aws.ToString(attrValue(m, contract.AttrReceivedAt)), sentAt(m))
		seal, err := contract.Seal(ctx, sealer, q.Source, at, []byte(aws.ToString(m.Body)))
		if err != nil {
			return err
		}
		attrs = append(attrs, contract.Attr{Name: contract.AttrSeal, Value: seal})
	}
	r := contract.Resend{Kind: contract.ResendRedrive, MessageID: aws.ToString(m.MessageId), Group: group,
		Body: aws.ToString(m.Body), Attrs: attrs}.Message()
	out := make(map[string]types.MessageAttributeValue, len(r.Attributes))
	for k, v := range r.Attributes {
		out[k] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	// The caller reports the error with its group, as it always has.
	_, err := api.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.QueueURL), MessageBody: aws.String(r.Body),
		MessageGroupId: aws.String(r.GroupID), MessageDeduplicationId: aws.String(r.DeduplicationID), MessageAttributes: out})
	return err
}

// attrValue is a message attribute's string value, or nil.
func attrValue(m types.Message, name string) *string {
	if v, ok := m.MessageAttributes[name]; ok {
		return v.StringValue
	}
	return nil
}

// sentAt is when the message reached the DLQ (SQS's SentTimestamp), or zero.
func sentAt(m types.Message) time.Time {
	ms, err := strconv.ParseInt(m.Attributes["SentTimestamp"], 10, 64)
	if err != nil || ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// release makes messages this run received but did not move visible again.
func release(ctx context.Context, api API, dlqURL string, ms []types.Message) {
	for _, m := range ms {
		_, _ = api.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
			QueueUrl: aws.String(dlqURL), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0,
		})
	}
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func entry(m types.Message, now time.Time) Entry {
	e := Entry{MessageID: aws.ToString(m.MessageId), Group: m.Attributes["MessageGroupId"]}
	if n, err := strconv.Atoi(m.Attributes["ApproximateReceiveCount"]); err == nil {
		e.ReceiveCount = n
	}
	if at := sentAt(m); !at.IsZero() {
		e.Age = now.Sub(at).Round(time.Second)
	}
	if v, ok := m.MessageAttributes[contract.AttrEventID]; ok {
		e.EventID = aws.ToString(v.StringValue)
	}
	if v, ok := m.MessageAttributes[contract.AttrFailureReason]; ok {
		e.Reason = aws.ToString(v.StringValue)
	}
	return e
}
