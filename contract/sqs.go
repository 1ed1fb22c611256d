package contract

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// The SQS rules every message hookline sends must follow, from the SQS API
// reference (SendMessage) and developer guide. The request template, the
// handler's DLQ move, redrive and the test fakes all read them from here.

// MaxMessageBytes is the largest message hookline's queues take: body plus
// every message attribute's name, data type and value (SQS counts attributes
// toward the limit). 256 KiB: the pinned pulumi-aws v6 sets maxMessageSize to
// 262144 when it is unset and refuses a larger value, so every queue sets it
// explicitly to this constant.
const MaxMessageBytes = 262144

// DeduplicationWindow is how long a FIFO queue remembers a deduplication id
// from the moment the message was sent, even after it was received and
// deleted: a second send with the id inside the window succeeds and is
// dropped. Per queue, or per message group in high-throughput mode.
const DeduplicationWindow = 5 * time.Minute

// MaxIDLength is the longest MessageGroupId or MessageDeduplicationId.
const MaxIDLength = 128

// ValidID reports whether s can be a MessageGroupId or MessageDeduplicationId:
// 1–128 characters, alphanumerics and punctuation (!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~)
// only, i.e. printable ASCII without the space.
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > MaxIDLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '!' || s[i] > '~' {
			return false
		}
	}
	return true
}

// idPattern is ValidID as the Java regular expression the request template
// matches with String.matches (which must match the whole value).
const idPattern = `[!-~]{1,128}`

// ErrBody marks a body SQS cannot carry.
var ErrBody = errors.New("SQS cannot carry this body")

// CheckBody reports why SQS would refuse body as a message body: empty, or a
// character outside XML 1.0's set (#x9 | #xA | #xD | #x20–#xD7FF |
// #xE000–#xFFFD | #x10000–#x10FFFF), which SQS answers with
// InvalidMessageContents. Invalid UTF-8 cannot be carried either.
func CheckBody(body string) error {
	if body == "" {
		return fmt.Errorf("%w: the body is empty (SQS needs at least one character)", ErrBody)
	}
	for i, r := range body {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(body[i:]); size <= 1 {
				return fmt.Errorf("%w: invalid UTF-8 at byte %d", ErrBody, i)
			}
		}
		if !xmlChar(r) {
			return fmt.Errorf("%w: character %U at byte %d is outside XML 1.0's character set", ErrBody, r, i)
		}
	}
	return nil
}

func xmlChar(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD ||
		(r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}

// MessageSize is the size SQS counts against MaxMessageBytes: the body plus
// each String attribute's AttributeSize.
func MessageSize(body string, attrs map[string]string) int {
	n := len(body)
	for k, v := range attrs {
		n += AttributeSize(k, v)
	}
	return n
}

// AttributeSize is what one String message attribute counts toward
// MaxMessageBytes: its name, its data type ("String") and its value.
func AttributeSize(name, value string) int { return len(name) + len("String") + len(value) }

// GroupID is the MessageGroupId the request template writes for a selected
// value: the value itself when SQS accepts it; the source name when it is
// missing; otherwise the value URL-encoded (java.net.URLEncoder, whose output
// is letters, digits and ".-*_+%", all in SQS's alphabet) and cut to 128
// characters. Two different valid values never share a group; an invalid
// value may share one with another (order within a group is kept either way).
func (s Spec) GroupID(value string) string {
	switch {
	case value == "":
		return s.Source
	case ValidID(value):
		return value
	}
	enc := URLEncode(value)
	if len(enc) > MaxIDLength {
		enc = enc[:MaxIDLength]
	}
	return enc
}

// DeduplicationID is the MessageDeduplicationId the request template writes
// for an event id: the id when SQS accepts it, else "" — the message then
// falls back to the queue's content-based deduplication, never to a cut id
// that two events could share. The raw event id still travels in AttrEventID.
func DeduplicationID(eventID string) string {
	if ValidID(eventID) {
		return eventID
	}
	return ""
}

// URLEncode is API Gateway's $util.urlEncode (java.net.URLEncoder with
// UTF-8): letters, digits and ".-*_" stay, a space becomes "+", every other
// byte of the UTF-8 encoding becomes %XX.
func URLEncode(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '*', c == '_':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}
