package awsfake

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hookline/hookline/contract"
)

// Message is a message held by a fake queue.
type Message struct {
	ID, Body, GroupID, DeduplicationID string
	Attributes                         map[string]string
	SentAt                             time.Time
	ReceiveCount                       int
	receipt                            string
	invisibleUntil                     time.Time
	receivedAt                         time.Time // this receive's time: a visibility ends at most 12 h after it
	firstReceivedAt                    time.Time // ApproximateFirstReceiveTimestamp
	seq                                int       // SequenceNumber: the order sends were taken in
}

// Fault makes one call fail with an AWS error.
type Fault struct {
	Status int
	Type   string // e.g. ThrottlingException, InvalidParameterValue
}

// QueueOptions are the attributes of a fake queue that change what SQS does
// with a send or a receive.
type QueueOptions struct {
	// ContentBasedDeduplication: a FIFO send without a deduplication id is
	// deduplicated on the SHA-256 of its body (else SQS refuses it).
	ContentBasedDeduplication bool
	// PerGroupDeduplication is deduplicationScope=messageGroup
	// (high-throughput mode): a deduplication id is remembered per group.
	PerGroupDeduplication bool
	// DLQ and MaxReceiveCount are the redrive policy: a message received
	// MaxReceiveCount times moves to the DLQ instead of its next delivery.
	DLQ             string
	MaxReceiveCount int
}

// queue is one fake queue.
type queue struct {
	arn  string
	opts QueueOptions
	msgs []Message
	// dedup remembers each deduplication id (per group in high-throughput
	// mode) from the send that introduced it, for DeduplicationWindow, even
	// after the message is deleted — as SQS documents.
	dedup map[string]dedupEntry
}

type dedupEntry struct {
	sentAt    time.Time
	messageID string
}

// Queue returns a copy of the messages in the queue at url.
func (s *Server) Queue(url string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q := s.queues[url]; q != nil {
		return append([]Message(nil), q.msgs...)
	}
	return nil
}

// AddQueue creates a queue holding msgs; a FIFO queue (.fifo) has
// content-based deduplication, as hookline's queues do.
func (s *Server) AddQueue(url, arn string, msgs ...Message) {
	s.AddQueueWith(url, arn, QueueOptions{ContentBasedDeduplication: strings.HasSuffix(url, ".fifo")}, msgs...)
}

// AddQueueWith creates a queue with options holding msgs (which are not
// deduplicated: they are already in the queue).
func (s *Server) AddQueueWith(url, arn string, opts QueueOptions, msgs ...Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.queues == nil {
		s.queues, s.arns = map[string]*queue{}, map[string]string{}
	}
	q := s.queues[url]
	if q == nil {
		q = &queue{arn: arn, dedup: map[string]dedupEntry{}}
		s.queues[url] = q
	}
	q.opts = opts
	for i := range msgs {
		if msgs[i].ID == "" {
			msgs[i].ID = s.newMessageID()
		}
		if msgs[i].SentAt.IsZero() {
			msgs[i].SentAt = s.now().Add(-time.Hour)
		}
		msgs[i].seq = s.newSequence()
	}
	q.msgs = append(q.msgs, msgs...)
	s.arns[arn] = url
}

// SetClock makes the fake read time from now (the deduplication window,
// visibility timeouts and sent timestamps), so a test can step through the
// window without waiting.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock = now
}

func (s *Server) now() time.Time {
	if s.clock != nil {
		return s.clock()
	}
	return time.Now()
}

// newMessageID is a message id in SQS's form (caller holds s.mu).
// newSequence is the next sequence number: the order the queues took
// messages in (SQS's increase within a group; these across the server).
func (s *Server) newSequence() int {
	s.seqs++
	return s.seqs
}

func (s *Server) newMessageID() string {
	s.ids++
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", s.ids, s.ids)
}

// FailWith makes the n-th (1-based) call of target (e.g.
// "AmazonSQS.SendMessage") fail with f. Retries count as calls.
func (s *Server) FailWith(target string, n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults == nil {
		s.faults = map[string]map[int]Fault{}
	}
	if s.faults[target] == nil {
		s.faults[target] = map[int]Fault{}
	}
	s.faults[target][n] = f
}

// fault reports whether this call must fail (caller holds s.mu).
func (s *Server) fault(target string) (Fault, bool) {
	if s.counts == nil {
		s.counts = map[string]int{}
	}
	s.counts[target]++
	f, ok := s.faults[target][s.counts[target]]
	return f, ok
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func (s *Server) receiveMessage(w http.ResponseWriter, body []byte) {
	var in struct {
		QueueUrl            string
		MaxNumberOfMessages int
		VisibilityTimeout   *int
	}
	_ = json.Unmarshal(body, &in)
	max := in.MaxNumberOfMessages
	if max <= 0 {
		max = 1
	}
	// SQS: "If not specified, the default visibility timeout for the queue
	// is used" (30 s unless the queue sets another); 0 to 43,200 s, and 0
	// leaves a received message visible at once. Every receive raises the
	// message's ApproximateReceiveCount, whatever the timeout.
	vis := 30
	if in.VisibilityTimeout != nil {
		vis = *in.VisibilityTimeout
		if vis < 0 || vis > 43200 {
			fail(w, 400, "InvalidParameterValue", fmt.Sprintf("Value %d for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200, if provided.", vis))
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	qu := s.queue(w, in.QueueUrl)
	if qu == nil {
		return
	}
	s.redriveExhausted(qu, now)
	blocked := map[string]bool{} // FIFO: a group with an in-flight message is not served
	for _, m := range qu.msgs {
		if now.Before(m.invisibleUntil) {
			blocked[m.GroupID] = true
		}
	}
	var out []map[string]any
	q := qu.msgs
	for i := range q {
		m := &q[i]
		if len(out) == max || now.Before(m.invisibleUntil) || blocked[m.GroupID] {
			blocked[m.GroupID] = true // FIFO: nothing after a skipped message of its group
			continue
		}
		m.ReceiveCount++
		s.receipts++
		m.receipt = fmt.Sprintf("rh-%d", s.receipts)
		m.invisibleUntil = now.Add(time.Duration(vis) * time.Second)
		m.receivedAt = now
		if m.firstReceivedAt.IsZero() {
			m.firstReceivedAt = now
		}
		attrs := map[string]any{}
		for k, v := range m.Attributes {
			attrs[k] = map[string]string{"DataType": "String", "StringValue": v}
		}
		out = append(out, map[string]any{
			"MessageId": m.ID, "ReceiptHandle": m.receipt, "Body": m.Body, "MD5OfBody": md5hex(m.Body),
			"Attributes": map[string]string{
				"MessageGroupId": m.GroupID, "MessageDeduplicationId": m.DeduplicationID,
				"ApproximateReceiveCount": strconv.Itoa(m.ReceiveCount), "SentTimestamp": strconv.FormatInt(m.SentAt.UnixMilli(), 10),
				"ApproximateFirstReceiveTimestamp": strconv.FormatInt(m.firstReceivedAt.UnixMilli(), 10),
				"SequenceNumber":                   fmt.Sprintf("%020d", m.seq),
			},
			"MessageAttributes": attrs,
		})
	}
	ok(w, map[string]any{"Messages": out})
}

func (s *Server) deleteMessage(w http.ResponseWriter, body []byte) {
	var in struct{ QueueUrl, ReceiptHandle string }
	_ = json.Unmarshal(body, &in)
	s.mu.Lock()
	defer s.mu.Unlock()
	qu := s.queue(w, in.QueueUrl)
	if qu == nil {
		return
	}
	q := qu.msgs
	for i := range q {
		if q[i].receipt == in.ReceiptHandle && in.ReceiptHandle != "" {
			qu.msgs = append(q[:i:i], q[i+1:]...)
			ok(w, map[string]any{})
			return
		}
	}
	fail(w, 400, "ReceiptHandleIsInvalid", "receipt handle "+in.ReceiptHandle+" is invalid")
}

func (s *Server) changeVisibility(w http.ResponseWriter, body []byte) {
	var in struct {
		QueueUrl, ReceiptHandle string
		VisibilityTimeout       int
	}
	_ = json.Unmarshal(body, &in)
	s.mu.Lock()
	defer s.mu.Unlock()
	qu := s.queue(w, in.QueueUrl)
	if qu == nil {
		return
	}
	if code, msg := s.changeOne(qu, in.ReceiptHandle, in.VisibilityTimeout); code != "" {
		fail(w, 400, code, msg)
		return
	}
	ok(w, map[string]any{})
}

// changeOne sets one received message's visibility as SQS documents it:
// the new timeout counts from the call, 0 to 43,200 s, and a message's
// total visibility may not end more than 12 h after it was received ("If
// you try to extend the visibility timeout beyond 12 hours, your request
// is rejected"). It answers the error code and message, or "" (caller
// holds s.mu).
func (s *Server) changeOne(qu *queue, handle string, vis int) (code, msg string) {
	if vis < 0 || vis > 43200 {
		return "InvalidParameterValue", fmt.Sprintf("Value %d for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200.", vis)
	}
	now := s.now()
	for i := range qu.msgs {
		m := &qu.msgs[i]
		if m.receipt != handle || handle == "" {
			continue
		}
		until := now.Add(time.Duration(vis) * time.Second)
		if until.After(m.receivedAt.Add(12 * time.Hour)) {
			return "InvalidParameterValue", fmt.Sprintf("Value %d for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [43200 seconds]", vis)
		}
		m.invisibleUntil = until
		return "", ""
	}
	return "ReceiptHandleIsInvalid", "receipt handle " + handle + " is invalid"
}

// changeVisibilityBatch is ChangeMessageVisibilityBatch: each entry as
// ChangeMessageVisibility, failures reported per entry.
func (s *Server) changeVisibilityBatch(w http.ResponseWriter, body []byte) {
	var in struct {
		QueueUrl string
		Entries  []struct {
			Id, ReceiptHandle string
			VisibilityTimeout int
		}
	}
	_ = json.Unmarshal(body, &in)
	s.mu.Lock()
	defer s.mu.Unlock()
	qu := s.queue(w, in.QueueUrl)
	if qu == nil {
		return
	}
	if len(in.Entries) == 0 || len(in.Entries) > 10 {
		fail(w, 400, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", "a batch holds 1 to 10 entries")
		return
	}
	successful, failed := []map[string]any{}, []map[string]any{}
	for _, e := range in.Entries {
		if code, msg := s.changeOne(qu, e.ReceiptHandle, e.VisibilityTimeout); code != "" {
			failed = append(failed, map[string]any{"Id": e.Id, "Code": code, "Message": msg, "SenderFault": true})
			continue
		}
		successful = append(successful, map[string]any{"Id": e.Id})
	}
	ok(w, map[string]any{"Successful": successful, "Failed": failed})
}

// startMoveTask moves every message of the source queue to the destination
// at once (the real task works in the background; the fake is instant). SQS
// treats redriven messages as new messages with new message ids; they are
// not deduplicated against the destination's window.
func (s *Server) startMoveTask(w http.ResponseWriter, body []byte) {
	var in struct{ SourceArn, DestinationArn string }
	_ = json.Unmarshal(body, &in)
	s.mu.Lock()
	defer s.mu.Unlock()
	src, dst := s.arns[in.SourceArn], s.arns[in.DestinationArn]
	if src == "" || dst == "" {
		fail(w, 400, "ResourceNotFoundException", "unknown queue ARN")
		return
	}
	n := len(s.queues[src].msgs)
	for _, m := range s.queues[src].msgs {
		m.ID, m.ReceiveCount, m.receipt, m.invisibleUntil, m.SentAt = s.newMessageID(), 0, "", time.Time{}, s.now()
		s.queues[dst].msgs = append(s.queues[dst].msgs, m)
	}
	s.queues[src].msgs = nil
	s.tasks = append(s.tasks, map[string]any{
		"TaskHandle": fmt.Sprintf("task-%d", len(s.tasks)+1), "Status": "COMPLETED", "SourceArn": in.SourceArn,
		"DestinationArn": in.DestinationArn, "ApproximateNumberOfMessagesMoved": n, "ApproximateNumberOfMessagesToMove": n,
		"StartedTimestamp": s.now().UnixMilli(),
	})
	ok(w, map[string]any{"TaskHandle": fmt.Sprintf("task-%d", len(s.tasks))})
}

func (s *Server) listMoveTasks(w http.ResponseWriter, body []byte) {
	var in struct{ SourceArn string }
	_ = json.Unmarshal(body, &in)
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for i := len(s.tasks) - 1; i >= 0; i-- {
		if s.tasks[i]["SourceArn"] == in.SourceArn {
			out = append(out, s.tasks[i])
		}
	}
	ok(w, map[string]any{"Results": out})
}

// sendToQueue stores a sent message in a queue the fake holds, unless its
// deduplication id was sent to the queue (or, in high-throughput mode, to
// its group) within DeduplicationWindow: SQS then answers with success and
// drops the message. It returns the message id SQS answers with (caller
// holds s.mu).
func (s *Server) sendToQueue(url string, m Message) (id string, dropped bool) {
	q := s.queues[url]
	if q == nil {
		return s.newMessageID(), false
	}
	now := s.now()
	key := m.DeduplicationID
	if key == "" && q.opts.ContentBasedDeduplication {
		sum := sha256.Sum256([]byte(m.Body))
		key = hex.EncodeToString(sum[:])
	}
	if q.opts.PerGroupDeduplication {
		key = m.GroupID + "\x00" + key
	}
	if key != "" {
		if e, seen := q.dedup[key]; seen && now.Sub(e.sentAt) < contract.DeduplicationWindow {
			return e.messageID, true
		}
	}
	m.ID, m.SentAt, m.seq = s.newMessageID(), now, s.newSequence()
	if key != "" {
		q.dedup[key] = dedupEntry{sentAt: now, messageID: m.ID}
	}
	q.msgs = append(q.msgs, m)
	return m.ID, false
}

// redriveExhausted moves the visible messages that have been received
// MaxReceiveCount times to the queue's DLQ, as SQS does on the next receive.
// A message moved to a FIFO DLQ takes its message id as deduplication id
// (caller holds s.mu).
func (s *Server) redriveExhausted(q *queue, now time.Time) {
	dlq := s.queues[q.opts.DLQ]
	if q.opts.MaxReceiveCount <= 0 || dlq == nil {
		return
	}
	kept := q.msgs[:0]
	for _, m := range q.msgs {
		if m.ReceiveCount >= q.opts.MaxReceiveCount && !now.Before(m.invisibleUntil) {
			m.DeduplicationID, m.receipt, m.invisibleUntil = m.ID, "", time.Time{}
			dlq.msgs = append(dlq.msgs, m)
			continue
		}
		kept = append(kept, m)
	}
	q.msgs = kept
}

// queue returns the queue at url, or answers SQS's error for a queue that
// does not exist (caller holds s.mu).
func (s *Server) queue(w http.ResponseWriter, url string) *queue {
	q := s.queues[url]
	if q == nil {
		fail(w, 400, "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.")
	}
	return q
}

// queueAttributes answers the approximate counts of a queue.
func (s *Server) queueAttributes(w http.ResponseWriter, body []byte) {
	var in struct{ QueueUrl string }
	_ = json.Unmarshal(body, &in)
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queue(w, in.QueueUrl)
	if q == nil {
		return
	}
	now := s.now()
	visible, inFlight := 0, 0
	for _, m := range q.msgs {
		if now.Before(m.invisibleUntil) {
			inFlight++
		} else {
			visible++
		}
	}
	ok(w, map[string]any{"Attributes": map[string]string{
		"ApproximateNumberOfMessages": strconv.Itoa(visible), "ApproximateNumberOfMessagesNotVisible": strconv.Itoa(inFlight),
	}})
}

// ExpireVisibility makes every in-flight message visible again, as if its
// visibility timeout had passed.
func (s *Server) ExpireVisibility() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range s.queues {
		for i := range q.msgs {
			q.msgs[i].invisibleUntil = time.Time{}
		}
	}
}
