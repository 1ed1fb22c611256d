package contract

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Message is one webhook as the handler sees it, read back from an SQS record.
type Message struct {
	// MessageID is SQS's message id.
	MessageID string
	// Source is the source name the request was sent to.
	Source string
	// GroupID is the FIFO message group id.
	GroupID string
	// DeduplicationID is the FIFO deduplication id (the event id, or SQS's hash).
	DeduplicationID string
	// EventID is the sender's event id, empty when the source names none.
	EventID string
	// RequestID is the API Gateway request id of the original request.
	RequestID string
	// ReceivedAt is when API Gateway received the request, as the
	// hookline-received-at attribute says: for logs. A sender on an HTTP API
	// can add a value of its own, so it is never what a signature's
	// timestamp is judged against (see seal.go).
	ReceivedAt time.Time
	// SentAt is when the message was sent to its queue (SQS's SentTimestamp).
	SentAt time.Time
	// SourceIP is the sender's address as API Gateway saw it.
	SourceIP string
	// ContentType is the request's Content-Type header.
	ContentType string
	// ReceiveCount is how many times SQS has delivered the message.
	ReceiveCount int
	// FailureReason is set on messages the handler moved to the DLQ.
	FailureReason string
	// Seal is a re-send's AttrSeal: its original receipt time under the
	// stack's MAC (see OpenSeal); empty on a first delivery.
	Seal string
	// Headers holds the signature headers, with lower-case names.
	Headers []Attr
	// Body is the exact raw request body.
	Body []byte
}

func sentAt(ms int64) time.Time {
	if ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// Header returns the signature header name (any case), or "".
func (m Message) Header(name string) string {
	for _, h := range m.Headers {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// ErrMalformedRecord marks an SQS record that does not follow the contract:
// it cannot have come through hookline's API, so it is never processed.
var ErrMalformedRecord = errors.New("record does not follow the ingest contract")

// Decode reads an aws-lambda-go SQS record written by the request template,
// for tools and tests. It encodes the record as the Lambda runtime delivers
// it and decodes it with the handler's own parser (EventParser): there is one
// decoder of SQS records, the handler's.
func Decode(r events.SQSMessage) (Message, error) {
	raw, err := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{r}})
	if err != nil {
		return Message{}, fmt.Errorf("%w: %v", ErrMalformedRecord, err)
	}
	var p EventParser
	recs, err := p.Parse(raw, nil)
	if err != nil {
		return Message{}, fmt.Errorf("%w: %v", ErrMalformedRecord, err)
	}
	return DecodeRecord(&recs[0])
}

// DecodeRecord reads a record written by the request template. It never
// inspects the body, which stays the exact bytes the sender signed.
func DecodeRecord(r *Record) (Message, error) {
	m := Message{
		MessageID:       r.MessageID,
		GroupID:         r.GroupID,
		DeduplicationID: r.DeduplicationID,
		ReceiveCount:    r.ReceiveCount,
		Body:            r.Body,
		SentAt:          sentAt(r.SentAt),
		Headers:         make([]Attr, 0, 3),
	}
	if len(r.Attrs) > MaxMessageAttributes {
		return Message{}, fmt.Errorf("%w: %d message attributes, at most %d", ErrMalformedRecord, len(r.Attrs), MaxMessageAttributes)
	}
	for _, a := range r.Attrs {
		if a.Binary {
			return Message{}, fmt.Errorf("%w: attribute %q has no string value", ErrMalformedRecord, a.Name)
		}
		v := a.Value
		switch a.Name {
		case AttrSource:
			m.Source = v
		case AttrRequestID:
			m.RequestID = v
		case AttrReceivedAt:
			at, err := ParseEpoch(v)
			if err != nil {
				return Message{}, fmt.Errorf("%w: attribute %s: %v", ErrMalformedRecord, a.Name, err)
			}
			m.ReceivedAt = at
		case AttrSeal:
			m.Seal = v
		case AttrSourceIP:
			m.SourceIP = v
		case AttrContentType:
			m.ContentType = v
		case AttrEventID:
			m.EventID = v
		case AttrFailureReason:
			m.FailureReason = v
		default:
			m.Headers = append(m.Headers, Attr{Name: AttributeName(a.Name), Value: v})
		}
	}
	if m.Source == "" {
		return Message{}, fmt.Errorf("%w: attribute %s missing", ErrMalformedRecord, AttrSource)
	}
	return m, nil
}
