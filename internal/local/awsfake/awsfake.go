// Package awsfake serves the few AWS API calls hookline's handler and tools
// make (SSM GetParameter, SQS SendMessage and the rest of redrive's and
// replay's calls, Firehose PutRecordBatch) over their real JSON protocols on
// loopback, so the real aws-sdk-go-v2 clients can be pointed at them
// (AWS_ENDPOINT_URL_SSM, AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL_FIREHOSE) in
// tests and local runs.
package awsfake

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/hookline/hookline/contract"
)

// Sent is one message received through SendMessage.
type Sent struct {
	QueueURL        string
	Body            string
	GroupID         string
	DeduplicationID string
	Attributes      map[string]string
	// MessageID is the id SQS answered with.
	MessageID string
	// Dropped: SQS answered with success but dropped the message, its
	// deduplication id being inside the window.
	Dropped bool
}

// Server is a fake SSM + SQS endpoint.
type Server struct {
	*httptest.Server

	mu         sync.Mutex
	parameters map[string]string
	sent       []Sent
	calls      []string

	queues   map[string]*queue // SQS queues by URL
	arns     map[string]string // queue ARN → URL
	tasks    []map[string]any  // message move tasks
	receipts int
	ids      int              // message ids handed out
	seqs     int              // sequence numbers handed out
	clock    func() time.Time // nil: time.Now
	faults   map[string]map[int]Fault
	mappings []Mapping
	counts   map[string]int
	// entryFaults picks the SendMessageBatch entries that fail (FailEntries).
	entryFaults func(Message) *Fault
}

// New starts a fake serving the given SSM parameters.
func New(parameters map[string]string) *Server {
	s := &Server{parameters: map[string]string{}}
	for k, v := range parameters {
		s.parameters[k] = v
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Env points the AWS SDK of a child process at the fake.
func (s *Server) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL_SSM=" + s.URL, "AWS_ENDPOINT_URL_SQS=" + s.URL, "AWS_ENDPOINT_URL_LAMBDA=" + s.URL,
		"AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local", "AWS_SESSION_TOKEN=",
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// Sent returns the messages sent so far.
func (s *Server) Sent() []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sent(nil), s.sent...)
}

// Calls lists the API calls received, as "Service.Action".
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	body, _ := io.ReadAll(r.Body)
	if strings.HasPrefix(r.URL.Path, mappingsPath) {
		s.serveLambda(w, r, body)
		return
	}
	s.mu.Lock()
	s.calls = append(s.calls, target)
	f, failNow := s.fault(target)
	s.mu.Unlock()
	if failNow {
		fail(w, f.Status, f.Type, "injected fault")
		return
	}
	switch target {
	case "AmazonSSM.GetParameter":
		s.getParameter(w, body)
	case "AmazonSQS.SendMessage":
		s.sendMessage(w, body)
	case "AmazonSQS.SendMessageBatch":
		s.sendMessageBatch(w, body)
	case "AmazonSQS.ReceiveMessage":
		s.receiveMessage(w, body)
	case "AmazonSQS.DeleteMessage":
		s.deleteMessage(w, body)
	case "AmazonSQS.ChangeMessageVisibility":
		s.changeVisibility(w, body)
	case "AmazonSQS.ChangeMessageVisibilityBatch":
		s.changeVisibilityBatch(w, body)
	case "AmazonSQS.StartMessageMoveTask":
		s.startMoveTask(w, body)
	case "AmazonSQS.ListMessageMoveTasks":
		s.listMoveTasks(w, body)
	case "AmazonSQS.GetQueueAttributes":
		s.queueAttributes(w, body)
	default:
		fail(w, 400, "UnknownOperationException", "awsfake does not serve "+target)
	}
}

func fail(w http.ResponseWriter, code int, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-query-error", typ+";Sender")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}

func ok(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) getParameter(w http.ResponseWriter, body []byte) {
	var in struct{ Name string }
	_ = json.Unmarshal(body, &in)
	s.mu.Lock()
	v, found := s.parameters[in.Name]
	s.mu.Unlock()
	if !found {
		fail(w, 400, "ParameterNotFound", "parameter "+in.Name+" not found")
		return
	}
	ok(w, map[string]any{"Parameter": map[string]any{"Name": in.Name, "Type": "SecureString", "Value": v, "Version": 1}})
}

// sendMessage takes a SendMessage call and refuses it as SQS does (the
// SendMessage API reference): a body SQS cannot carry, a missing or invalid
// group id on a FIFO queue, an invalid deduplication id, a FIFO send without
// one to a queue without content-based deduplication, more than 10
// attributes, or more than contract.MaxMessageBytes.
func (s *Server) sendMessage(w http.ResponseWriter, body []byte) {
	var in struct {
		QueueUrl, MessageBody                  string
		MessageGroupId, MessageDeduplicationId *string
		MessageAttributes                      map[string]struct{ DataType, StringValue string }
	}
	if err := json.Unmarshal(body, &in); err != nil {
		fail(w, 400, "InvalidParameterValue", "bad SendMessage request")
		return
	}
	attrs := map[string]string{}
	for k, a := range in.MessageAttributes {
		attrs[k] = a.StringValue
	}
	m := Message{Body: in.MessageBody, GroupID: deref(in.MessageGroupId), DeduplicationID: deref(in.MessageDeduplicationId), Attributes: attrs}
	s.mu.Lock()
	defer s.mu.Unlock()
	if code, msg := s.refuse(in.QueueUrl, m, in.MessageGroupId != nil, in.MessageDeduplicationId != nil); code != "" {
		fail(w, 400, code, msg)
		return
	}
	id, dropped := s.sendToQueue(in.QueueUrl, m)
	s.sent = append(s.sent, Sent{QueueURL: in.QueueUrl, Body: m.Body, GroupID: m.GroupID,
		DeduplicationID: m.DeduplicationID, Attributes: attrs, MessageID: id, Dropped: dropped})
	sum := md5.Sum([]byte(in.MessageBody))
	ok(w, map[string]any{
		"MessageId": id, "MD5OfMessageBody": hex.EncodeToString(sum[:]),
		"SequenceNumber": fmt.Sprintf("%020d", len(s.sent)),
	})
}

// sendMessageBatch takes a SendMessageBatch call as SQS documents it (the
// SendMessageBatch API reference): 1 to 10 entries with distinct ids, their
// bodies together at most contract.MaxMessageBytes (the sum of the
// individual lengths), each entry refused or sent as SendMessage would, in
// order (on a FIFO queue, the messages of a batch are enqueued in the order
// they are sent), each result reported on its own under a 200.
func (s *Server) sendMessageBatch(w http.ResponseWriter, body []byte) {
	var in struct {
		QueueUrl string
		Entries  []struct {
			Id, MessageBody                        string
			MessageGroupId, MessageDeduplicationId *string
			MessageAttributes                      map[string]struct{ DataType, StringValue string }
		}
	}
	if err := json.Unmarshal(body, &in); err != nil {
		fail(w, 400, "InvalidParameterValue", "bad SendMessageBatch request")
		return
	}
	switch {
	case len(in.Entries) == 0:
		fail(w, 400, "AWS.SimpleQueueService.EmptyBatchRequest", "There should be at least one SendMessageBatchRequestEntry in the request.")
		return
	case len(in.Entries) > 10:
		fail(w, 400, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", fmt.Sprintf("Maximum number of entries per request are 10. You have sent %d.", len(in.Entries)))
		return
	}
	ids, total := map[string]bool{}, 0
	for _, e := range in.Entries {
		if ids[e.Id] {
			fail(w, 400, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", "Id "+e.Id+" repeated.")
			return
		}
		ids[e.Id] = true
		attrs := map[string]string{}
		for k, a := range e.MessageAttributes {
			attrs[k] = a.StringValue
		}
		total += contract.MessageSize(e.MessageBody, attrs)
	}
	if total > contract.MaxMessageBytes {
		fail(w, 400, "AWS.SimpleQueueService.BatchRequestTooLong", fmt.Sprintf("Batch requests cannot be longer than %d bytes. You have sent %d bytes.", contract.MaxMessageBytes, total))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	successful, failed := []map[string]any{}, []map[string]any{}
	for _, e := range in.Entries {
		attrs := map[string]string{}
		for k, a := range e.MessageAttributes {
			attrs[k] = a.StringValue
		}
		m := Message{Body: e.MessageBody, GroupID: deref(e.MessageGroupId), DeduplicationID: deref(e.MessageDeduplicationId), Attributes: attrs}
		if f, bad := s.entryFault(m); bad {
			failed = append(failed, map[string]any{"Id": e.Id, "Code": f.Type, "Message": "injected fault", "SenderFault": f.Status < 500})
			continue
		}
		if code, msg := s.refuse(in.QueueUrl, m, e.MessageGroupId != nil, e.MessageDeduplicationId != nil); code != "" {
			failed = append(failed, map[string]any{"Id": e.Id, "Code": code, "Message": msg, "SenderFault": true})
			continue
		}
		id, dropped := s.sendToQueue(in.QueueUrl, m)
		s.sent = append(s.sent, Sent{QueueURL: in.QueueUrl, Body: m.Body, GroupID: m.GroupID,
			DeduplicationID: m.DeduplicationID, Attributes: attrs, MessageID: id, Dropped: dropped})
		successful = append(successful, map[string]any{"Id": e.Id, "MessageId": id, "MD5OfMessageBody": md5hex(e.MessageBody),
			"SequenceNumber": fmt.Sprintf("%020d", len(s.sent))})
	}
	ok(w, map[string]any{"Successful": successful, "Failed": failed})
}

// FailEntries makes SendMessageBatch report f for every entry fault picks
// (nil: none), instead of sending it; the batch's other entries are sent.
func (s *Server) FailEntries(fault func(Message) *Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entryFaults = fault
}

// entryFault is the fault a batch entry meets, if any (caller holds s.mu).
func (s *Server) entryFault(m Message) (Fault, bool) {
	if s.entryFaults == nil {
		return Fault{}, false
	}
	if f := s.entryFaults(m); f != nil {
		return *f, true
	}
	return Fault{}, false
}

// refuse returns SQS's error code and message for a send it refuses, or ""
// (caller holds s.mu).
func (s *Server) refuse(url string, m Message, hasGroup, hasDedup bool) (string, string) {
	if m.Body == "" {
		return "MissingParameter", "The request must contain the parameter MessageBody."
	}
	if err := contract.CheckBody(m.Body); err != nil {
		return "InvalidMessageContents", "Invalid binary character was found in the message body: " + err.Error()
	}
	fifo := strings.HasSuffix(url, ".fifo")
	switch {
	case fifo && !hasGroup:
		return "MissingParameter", "The request must contain the parameter MessageGroupId."
	case hasGroup && !contract.ValidID(m.GroupID):
		return "InvalidParameterValue", fmt.Sprintf("Value %s for parameter MessageGroupId is invalid. Reason: MessageGroupId can only include alphanumeric and punctuation characters. 1 to 128 in length.", m.GroupID)
	case hasDedup && !contract.ValidID(m.DeduplicationID):
		return "InvalidParameterValue", fmt.Sprintf("Value %s for parameter MessageDeduplicationId is invalid. Reason: MessageDeduplicationId can only include alphanumeric and punctuation characters. 1 to 128 in length.", m.DeduplicationID)
	case fifo && !hasDedup && s.queues[url] != nil && !s.queues[url].opts.ContentBasedDeduplication:
		return "InvalidParameterValue", "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly"
	case len(m.Attributes) > contract.MaxMessageAttributes:
		return "InvalidParameterValue", fmt.Sprintf("Number of message attributes [%d] exceeds the allowed maximum [%d].", len(m.Attributes), contract.MaxMessageAttributes)
	case contract.MessageSize(m.Body, m.Attributes) > contract.MaxMessageBytes:
		return "InvalidParameterValue", fmt.Sprintf("One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", contract.MaxMessageBytes)
	}
	return "", ""
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
