// Package awsfake serves the few AWS API calls hookline's handler and tools
// make (SSM GetParameter, SQS SendMessage) over their real JSON protocols on
// loopback, so the real aws-sdk-go-v2 clients can be pointed at them
// (AWS_ENDPOINT_URL_SSM, AWS_ENDPOINT_URL_SQS) in tests and local runs.
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
)

// Sent is one message received through SendMessage.
type Sent struct {
	QueueURL        string
	Body            string
	GroupID         string
	DeduplicationID string
	Attributes      map[string]string
}

// Server is a fake SSM + SQS endpoint.
type Server struct {
	*httptest.Server

	mu         sync.Mutex
	parameters map[string]string
	sent       []Sent
	calls      []string

	queues   map[string][]Message // SQS queues by URL
	arns     map[string]string    // queue ARN → URL
	tasks    []map[string]any     // message move tasks
	receipts int
	faults   map[string]map[int]Fault
	counts   map[string]int
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
		"AWS_ENDPOINT_URL_SSM=" + s.URL, "AWS_ENDPOINT_URL_SQS=" + s.URL,
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
	case "AmazonSQS.ReceiveMessage":
		s.receiveMessage(w, body)
	case "AmazonSQS.DeleteMessage":
		s.deleteMessage(w, body)
	case "AmazonSQS.ChangeMessageVisibility":
		s.changeVisibility(w, body)
	case "AmazonSQS.StartMessageMoveTask":
		s.startMoveTask(w, body)
	case "AmazonSQS.ListMessageMoveTasks":
		s.listMoveTasks(w, body)
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

func (s *Server) sendMessage(w http.ResponseWriter, body []byte) {
	var in struct {
		QueueUrl, MessageBody, MessageGroupId, MessageDeduplicationId string
		MessageAttributes                                             map[string]struct{ DataType, StringValue string }
	}
	if err := json.Unmarshal(body, &in); err != nil || in.MessageBody == "" {
		fail(w, 400, "InvalidParameterValue", "bad SendMessage request")
		return
	}
	if strings.HasSuffix(in.QueueUrl, ".fifo") && in.MessageGroupId == "" {
		fail(w, 400, "MissingParameter", "The request must contain the parameter MessageGroupId.")
		return
	}
	attrs := map[string]string{}
	for k, a := range in.MessageAttributes {
		attrs[k] = a.StringValue
	}
	s.mu.Lock()
	s.sent = append(s.sent, Sent{QueueURL: in.QueueUrl, Body: in.MessageBody, GroupID: in.MessageGroupId,
		DeduplicationID: in.MessageDeduplicationId, Attributes: attrs})
	s.sendToQueue(in.QueueUrl, in.MessageBody, in.MessageGroupId, in.MessageDeduplicationId, attrs)
	n := len(s.sent)
	s.mu.Unlock()
	sum := md5.Sum([]byte(in.MessageBody))
	ok(w, map[string]any{
		"MessageId": fmt.Sprintf("00000000-0000-4000-8000-%012d", n), "MD5OfMessageBody": hex.EncodeToString(sum[:]),
		"SequenceNumber": fmt.Sprintf("%020d", n),
	})
}
