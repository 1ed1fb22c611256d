package contract

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Who re-sends a message that was already in a queue. Each re-send carries a
// deduplication id of its own, so the window left by an earlier send of the
// same event never drops it; the sender's event id stays in AttrEventID for
// the handler's long-window idempotency.
const (
	// ResendDLQ is the handler moving a rejected record to the DLQ.
	ResendDLQ = "dlq"
	// ResendRedrive is redrive moving a DLQ message back to its source queue.
	ResendRedrive = "redrive"
)

// ResendDeduplicationID is the deduplication id of a re-send by who of the
// message messageID. SQS gives every send a new message id, so each re-send
// gets a new deduplication id, while a repeated attempt of the same move
// (the send succeeded, the delete did not) reuses it and is absorbed inside
// the window. This is what SQS itself does when it moves a message to a FIFO
// DLQ: the deduplication id becomes the original message's id.
func ResendDeduplicationID(who, messageID string) string {
	if id := who + "-" + messageID; ValidID(id) {
		return id
	}
	sum := sha256.Sum256([]byte(messageID))
	return who + "-" + hex.EncodeToString(sum[:])
}

// Resend is a message hookline sends again after it was in a queue: the
// handler's copy of a rejected record to the DLQ (ResendDLQ), redrive's copy
// of a dead letter back to its source queue (ResendRedrive). Every re-send
// is built by Message, so all of them keep the body, the group and the
// attributes (the sender's event id among them), leave an earlier failure
// reason behind, carry a deduplication id of their own and fit SQS's size
// limit.
type Resend struct {
	// Kind is who re-sends: ResendDLQ or ResendRedrive. It prefixes the
	// deduplication id, and a DLQ copy keeps room for its failure reason.
	Kind string
	// MessageID is SQS's id of the message being re-sent.
	MessageID string
	// Group is the message group id to send it under.
	Group string
	// Body is the exact message body.
	Body string
	// Attrs are the message's attributes as it was received. Binary ones
	// (hookline writes none) and an earlier AttrFailureReason stay behind.
	Attrs []Attr
	// Reason, when set, travels in AttrFailureReason: why the message is
	// being dead-lettered. It is cut to what fits MaxMessageBytes.
	Reason string
}

// ResendMessage is a re-send as SQS's SendMessage takes it (the caller adds
// the queue URL).
type ResendMessage struct {
	Body            string
	GroupID         string
	DeduplicationID string
	// Attributes are String message attributes, name → value.
	Attributes map[string]string
}

// Message builds the re-send. A DLQ copy always keeps one of SQS's
// MaxMessageAttributes free for its failure reason (dropping the source IP,
// which cannot happen to a message the request template wrote: it uses at
// most MaxRequestAttributes). The reason is cut, to valid UTF-8, to the room
// SQS's size limit leaves after the body and the other attributes: a
// message that came in at the limit is dead-lettered without a reason
// rather than refused by SQS on every retry.
func (r Resend) Message() ResendMessage {
	attrs := make(map[string]string, len(r.Attrs)+1)
	for _, a := range r.Attrs {
		if a.Binary || a.Name == AttrFailureReason {
			continue
		}
		attrs[a.Name] = a.Value
	}
	if r.Kind == ResendDLQ && len(attrs) >= MaxMessageAttributes {
		delete(attrs, AttrSourceIP)
	}
	reason := r.Reason
	if room := MaxMessageBytes - MessageSize(r.Body, attrs) - AttributeSize(AttrFailureReason, ""); room < len(reason) {
		reason = strings.ToValidUTF8(reason[:max(room, 0)], "")
	}
	if reason != "" {
		attrs[AttrFailureReason] = reason
	}
	return ResendMessage{
		Body:            r.Body,
		GroupID:         r.Group,
		DeduplicationID: ResendDeduplicationID(r.Kind, r.MessageID),
		Attributes:      attrs,
	}
}
