package awsfake

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Message is a message held by a fake queue.
type Message struct {
	ID, Body, GroupID, DeduplicationID string
	Attributes                         map[string]string
	SentAt                             time.Time
	ReceiveCount                       int
	receipt                            string
	invisibleUntil                     time.Time
}

// Fault makes one call fail with an AWS error.
type Fault struct {
	Status int
	Type   string // e.g. ThrottlingException, InvalidParameterValue
}

// Queue returns a copy of the messages in the queue at url.
func (s *Server) Queue(url string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.queues[url]...)
}

// AddQueue creates a queue holding msgs.
func (s *Server) AddQueue(url, arn string, msgs ...Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.queues == nil {
		s.queues, s.arns = map[string][]Message{}, map[string]string{}
	}
	for i := range msgs {
		if msgs[i].ID == "" {
			msgs[i].ID = fmt.Sprintf("m-%d-%d", len(s.queues[url]), i)
		}
		if msgs[i].SentAt.IsZero() {
			msgs[i].SentAt = time.Now().Add(-time.Hour)
		}
	}
	s.queues[url] = append(s.queues[url], msgs...)
	s.arns[arn] = url
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
	vis := 30
	if in.VisibilityTimeout != nil {
		vis = *in.VisibilityTimeout
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	blocked := map[string]bool{} // FIFO: a group with an in-flight message is not served
	for _, m := range s.queues[in.QueueUrl] {
		if now.Before(m.invisibleUntil) {
			blocked[m.GroupID] = true
		}
	}
	var out []map[string]any
	q := s.queues[in.QueueUrl]
	for i := range q {
		m := &q[i]
		if len(out) == max || now.Before(m.invisibleUntil) || blocked[m.GroupID] {
			continue
		}
		m.ReceiveCount++
		s.receipts++
		m.receipt = fmt.Sprintf("rh-%d", s.receipts)
		m.invisibleUntil = now.Add(time.Duration(vis) * time.Second)
		attrs := map[string]any{}
		for k, v := range m.Attributes {
			attrs[k] = map[string]string{"DataType": "String", "StringValue": v}
		}
		out = append(out, map[string]any{
			"MessageId": m.ID, "ReceiptHandle": m.receipt, "Body": m.Body, "MD5OfBody": md5hex(m.Body),
			"Attributes": map[string]string{
				"MessageGroupId": m.GroupID, "MessageDeduplicationId": m.DeduplicationID,
				"ApproximateReceiveCount": strconv.Itoa(m.ReceiveCount), "SentTimestamp": strconv.FormatInt(m.SentAt.UnixMilli(), 10),
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
	q := s.queues[in.QueueUrl]
	for i := range q {
		if q[i].receipt == in.ReceiptHandle && in.ReceiptHandle != "" {
			s.queues[in.QueueUrl] = append(q[:i:i], q[i+1:]...)
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
	for i := range s.queues[in.QueueUrl] {
		m := &s.queues[in.QueueUrl][i]
		if m.receipt == in.ReceiptHandle {
			m.invisibleUntil = time.Now().Add(time.Duration(in.VisibilityTimeout) * time.Second)
			ok(w, map[string]any{})
			return
		}
	}
	fail(w, 400, "ReceiptHandleIsInvalid", "receipt handle is invalid")
}

// startMoveTask moves every message of the source queue to the destination
// at once (the real task works in the background; the fake is instant).
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
	n := len(s.queues[src])
	s.queues[dst] = append(s.queues[dst], s.queues[src]...)
	s.queues[src] = nil
	s.tasks = append(s.tasks, map[string]any{
		"TaskHandle": fmt.Sprintf("task-%d", len(s.tasks)+1), "Status": "COMPLETED", "SourceArn": in.SourceArn,
		"DestinationArn": in.DestinationArn, "ApproximateNumberOfMessagesMoved": n, "ApproximateNumberOfMessagesToMove": n,
		"StartedTimestamp": time.Now().UnixMilli(),
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

// sendToQueue stores a sent message in a queue the fake holds (caller holds s.mu).
func (s *Server) sendToQueue(url, body, group, dedup string, attrs map[string]string) {
	if _, exists := s.queues[url]; !exists {
		return
	}
	for _, m := range s.queues[url] { // FIFO deduplication (the 5-minute window is the test's life)
		if dedup != "" && m.DeduplicationID == dedup {
			return
		}
	}
	s.queues[url] = append(s.queues[url], Message{ID: fmt.Sprintf("sent-%d", len(s.sent)), Body: body, GroupID: group,
		DeduplicationID: dedup, Attributes: attrs, SentAt: time.Now()})
}

// ExpireVisibility makes every in-flight message visible again, as if its
// visibility timeout had passed.
func (s *Server) ExpireVisibility() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for url := range s.queues {
		for i := range s.queues[url] {
			s.queues[url][i].invisibleUntil = time.Time{}
		}
	}
}
