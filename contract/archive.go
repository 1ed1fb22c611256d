package contract

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The archive: every delivery a source's consumer receives is written, before
// it is acknowledged, to the source's Amazon Data Firehose stream, which
// delivers it GZIP-compressed to the stack's archive bucket under
// ArchivePrefix. One line of newline-delimited JSON per entry (Firehose adds
// no delimiter of its own: each record ends with '\n').
//
// Two kinds of entry share the stream and the Glue table:
//   - ArchiveDelivery, written before the record is processed: the exact body
//     (base64), every message attribute, SQS's ids, group, sequence number,
//     receive count and SentTimestamp. A record Firehose refuses is never
//     processed: it fails (and its group's later records with it) and SQS
//     delivers it again.
//   - ArchiveOutcome, written after a batch in which something was not ok:
//     what became of each record (ArchiveOK, ArchiveRejected,
//     ArchiveDeadLettered, ArchiveRetry) and why, all the batch's lines in one
//     Firehose record. A batch whose records were all processed (or were
//     duplicates of processed events) writes none: it would cost a Firehose
//     call and record per batch to say what the absence says. Losing one
//     loses no delivery, only its verdict.
//
// A message received several times (retries) is archived once per receive:
// readers keep the first delivery entry of a message id and its last
// outcome entry; a delivery with none is ok (OutcomeOf) — processed, or in
// the queue being processed, or moved to the DLQ by SQS itself after
// maxReceiveCount receives without the consumer answering (a consumer that
// crashes on every receive; hookline redrive lists those).
const (
	ArchiveDelivery = "delivery"
	ArchiveOutcome  = "outcome"
)

// Outcomes an ArchiveOutcome entry records.
const (
	// ArchiveOK: processed, or skipped as a duplicate of a processed event.
	ArchiveOK = "ok"
	// ArchiveRejected: dropped and counted (forged, malformed on an open
	// source, a bad signature on an open source): never dead-lettered.
	ArchiveRejected = "rejected"
	// ArchiveDeadLettered: moved to the source's DLQ, with the reason.
	ArchiveDeadLettered = "dead-lettered"
	// ArchiveRetry: failed transiently; SQS delivers it again.
	ArchiveRetry = "retry"
)

// EnvArchiveStream is the name of the source's Firehose stream, which the
// consumer writes its archive entries to; unset: archiving is off. A resource
// output, set by the infra code next to Env().
const EnvArchiveStream = "HOOKLINE_ARCHIVE_STREAM"

// ResendReplay prefixes the deduplication id of a replayed copy:
// "replay-<replay id>-<message id>" (ReplayDeduplicationID).
const ResendReplay = "replay"

// ReplayDeduplicationID is the deduplication id of replay replayID's copy of
// the archived message messageID: the same replay sends the same id again,
// so an interrupted replay run again within SQS's 5-minute window adds no
// duplicate; another replay of the same window gets ids of its own.
func ReplayDeduplicationID(replayID, messageID string) string {
	return ResendDeduplicationID(ResendReplay+"-"+replayID, messageID)
}

// IsResend reports whether a deduplication id is one of hookline's re-sends
// (a DLQ move, a redrive, a replay) rather than a sender's first delivery.
func IsResend(dedupID string) bool {
	for _, k := range []string{ResendDLQ, ResendRedrive, ResendReplay} {
		if strings.HasPrefix(dedupID, k+"-") {
			return true
		}
	}
	return false
}

// ArchiveEntry is one line of the archive. Field names are the Glue table's
// columns (docs/operations.md shows a query).
type ArchiveEntry struct {
	Kind      string `json:"kind"`
	Source    string `json:"source"`
	MessageID string `json:"messageId"`
	Group     string `json:"group"`
	// ArchivedAt is when the consumer wrote the entry (epoch ms).
	ArchivedAt int64 `json:"archivedAt"`

	// Delivery entries only.
	DeduplicationID string `json:"deduplicationId,omitempty"`
	// SequenceNumber is SQS's FIFO sequence number: the order within the
	// group (compare with SequenceLess).
	SequenceNumber string `json:"sequenceNumber,omitempty"`
	ReceiveCount   int    `json:"receiveCount,omitempty"`
	// SentAt is SQS's SentTimestamp (epoch ms): when the queue received
	// the message — for a first delivery, when hookline received it.
	SentAt  int64  `json:"sentAt,omitempty"`
	EventID string `json:"eventId,omitempty"`
	// Attributes are every String message attribute, name → value.
	Attributes map[string]string `json:"attributes,omitempty"`
	// Body is the exact body, base64 (standard encoding).
	Body string `json:"body,omitempty"`
	// Size is the body's length in bytes.
	Size int `json:"size,omitempty"`

	// Outcome entries only.
	Outcome string `json:"outcome,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// ArchiveDeliveryEntry is the delivery entry of a record, archived at at.
func ArchiveDeliveryEntry(source string, r *Record, at time.Time) ArchiveEntry {
	attrs := make(map[string]string, len(r.Attrs))
	for _, a := range r.Attrs {
		if !a.Binary {
			attrs[a.Name] = a.Value
		}
	}
	ev, _ := r.Attr(AttrEventID)
	return ArchiveEntry{
		Kind: ArchiveDelivery, Source: source, MessageID: r.MessageID, Group: r.GroupID,
		ArchivedAt: at.UnixMilli(), DeduplicationID: r.DeduplicationID, SequenceNumber: r.SequenceNumber,
		ReceiveCount: r.ReceiveCount, SentAt: r.SentAt, EventID: ev, Attributes: attrs,
		Body: base64.StdEncoding.EncodeToString(r.Body), Size: len(r.Body),
	}
}

// ArchiveOutcomeEntry is the outcome entry of a record, archived at at.
func ArchiveOutcomeEntry(source string, r *Record, outcome, reason string, at time.Time) ArchiveEntry {
	return ArchiveEntry{Kind: ArchiveOutcome, Source: source, MessageID: r.MessageID, Group: r.GroupID,
		ArchivedAt: at.UnixMilli(), Outcome: outcome, Reason: reason}
}

// AppendDelivery appends the delivery entry of a record, archived at at, as
// a line (the same JSON as ArchiveDeliveryEntry(…).Line(), written without
// reflection or an intermediate map: the consumer writes one per record).
func AppendDelivery(dst []byte, source string, r *Record, at time.Time) []byte {
	if dst == nil {
		// One allocation: the body's base64 and room for the rest.
		n := 256 + len(source) + len(r.MessageID) + len(r.GroupID) + len(r.DeduplicationID) + base64.StdEncoding.EncodedLen(len(r.Body))
		for _, a := range r.Attrs {
			n += len(a.Name) + len(a.Value) + 6
		}
		dst = make([]byte, 0, n+n/8)
	}
	dst = appendHead(dst, ArchiveDelivery, source, r, at)
	if r.DeduplicationID != "" {
		dst = append(dst, `,"deduplicationId":`...)
		dst = appendJSONString(dst, r.DeduplicationID)
	}
	if r.SequenceNumber != "" {
		dst = append(dst, `,"sequenceNumber":`...)
		dst = appendJSONString(dst, r.SequenceNumber)
	}
	if r.ReceiveCount != 0 {
		dst = append(dst, `,"receiveCount":`...)
		dst = strconv.AppendInt(dst, int64(r.ReceiveCount), 10)
	}
	if r.SentAt != 0 {
		dst = append(dst, `,"sentAt":`...)
		dst = strconv.AppendInt(dst, r.SentAt, 10)
	}
	if ev, _ := r.Attr(AttrEventID); ev != "" {
		dst = append(dst, `,"eventId":`...)
		dst = appendJSONString(dst, ev)
	}
	n := 0
	for _, a := range r.Attrs {
		if a.Binary {
			continue
		}
		if n == 0 {
			dst = append(dst, `,"attributes":{`...)
		} else {
			dst = append(dst, ',')
		}
		n++
		dst = appendJSONString(dst, a.Name)
		dst = append(dst, ':')
		dst = appendJSONString(dst, a.Value)
	}
	if n > 0 {
		dst = append(dst, '}')
	}
	if len(r.Body) > 0 {
		dst = append(dst, `,"body":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, r.Body)
		dst = append(dst, `","size":`...)
		dst = strconv.AppendInt(dst, int64(len(r.Body)), 10)
	}
	return append(dst, "}\n"...)
}

// AppendOutcome appends the outcome entry of a record as a line (the JSON of
// ArchiveOutcomeEntry(…).Line()).
func AppendOutcome(dst []byte, source string, r *Record, outcome, reason string, at time.Time) []byte {
	dst = appendHead(dst, ArchiveOutcome, source, r, at)
	if outcome != "" {
		dst = append(dst, `,"outcome":`...)
		dst = appendJSONString(dst, outcome)
	}
	if reason != "" {
		dst = append(dst, `,"reason":`...)
		dst = appendJSONString(dst, reason)
	}
	return append(dst, "}\n"...)
}

// appendHead opens an entry of kind with the fields every entry has.
func appendHead(dst []byte, kind, source string, r *Record, at time.Time) []byte {
	dst = append(dst, `{"kind":"`+kind+`","source":`...)
	dst = appendJSONString(dst, source)
	dst = append(dst, `,"messageId":`...)
	dst = appendJSONString(dst, r.MessageID)
	dst = append(dst, `,"group":`...)
	dst = appendJSONString(dst, r.GroupID)
	dst = append(dst, `,"archivedAt":`...)
	return strconv.AppendInt(dst, at.UnixMilli(), 10)
}

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it (control characters, quotes, backslashes, <, >, &, U+2028 and
// U+2029; invalid UTF-8 becomes U+FFFD), so a line never breaks the
// newline-delimited object and every reader decodes it.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// OutcomeOf is a delivery's outcome from its last outcome entry, if any:
// without one it is ArchiveOK (see the package comment above).
func OutcomeOf(last *ArchiveEntry) (outcome, reason string) {
	if last == nil || last.Outcome == "" {
		return ArchiveOK, ""
	}
	return last.Outcome, last.Reason
}

// Line is the entry as Firehose takes it: JSON and a newline.
func (e ArchiveEntry) Line() []byte {
	b, _ := json.Marshal(e) // only strings, numbers and a string map: never fails
	return append(b, '\n')
}

// RawBody decodes the entry's body.
func (e ArchiveEntry) RawBody() ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(e.Body)
	if err != nil {
		return nil, fmt.Errorf("archived body of %s: %w", e.MessageID, err)
	}
	return b, nil
}

// Received is when the delivery reached hookline: SQS's SentTimestamp.
func (e ArchiveEntry) Received() time.Time { return time.UnixMilli(e.SentAt).UTC() }

// Validate reports an entry that cannot be used (a line of something else).
func (e ArchiveEntry) Validate() error {
	switch {
	case e.Kind != ArchiveDelivery && e.Kind != ArchiveOutcome:
		return fmt.Errorf("unknown kind %q", e.Kind)
	case e.MessageID == "" || e.Source == "":
		return errors.New("no message id or source")
	case e.Kind == ArchiveDelivery && e.SentAt <= 0:
		return errors.New("delivery without sentAt")
	}
	return nil
}

// SequenceLess orders SQS FIFO sequence numbers (decimal strings of up to
// 128 bits, not comparable as int64).
func SequenceLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// ReadArchive reads the newline-delimited entries of one (decompressed)
// archive object, calling fn for each usable one; lines that are not JSON or
// not entries are counted in skipped, never fatal. A line longer than
// Firehose's record limit is skipped the same way.
func ReadArchive(r io.Reader, fn func(ArchiveEntry) error) (skipped int, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxArchiveRecordBytes+1)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var e ArchiveEntry
		if json.Unmarshal(line, &e) != nil || e.Validate() != nil {
			skipped++
			continue
		}
		if err := fn(e); err != nil {
			return skipped, err
		}
	}
	if err := sc.Err(); err != nil {
		// A truncated object (a cut GZIP stream) or an over-long line: what
		// was read stays read, the rest is counted as one skipped line.
		return skipped + 1, nil
	}
	return skipped, nil
}

// Firehose limits (Amazon Data Firehose quotas): a record is at most
// 1,000 KiB before base64 encoding; PutRecordBatch takes at most 500 records
// and 4 MiB in all.
const (
	MaxArchiveRecordBytes = 1000 << 10
	MaxArchiveBatchCount  = 500
	MaxArchiveBatchBytes  = 4 << 20
)

// ArchivePrefix is the object prefix of a source's archive for the hour
// holding t (UTC), as Firehose writes it from the stream's prefix expression
// (ArchivePrefixExpression): source=<name>/dt=YYYY-MM-DD/hour=HH/.
func ArchivePrefix(source string, t time.Time) string {
	t = t.UTC()
	return fmt.Sprintf("source=%s/dt=%s/hour=%02d/", source, t.Format("2006-01-02"), t.Hour())
}

// ArchivePrefixExpression is the Firehose S3 prefix of a source's stream.
// Firehose's timestamp namespace is the record's arrival time at the stream
// (UTC): the hour a delivery is filed under is when it was archived — its
// first receive — not when hookline received it; readers widen a window by
// the queue's wait (see ArchiveHours).
func ArchivePrefixExpression(source string) string {
	return "source=" + source + "/dt=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/"
}

// ArchiveErrorPrefixExpression is where Firehose files what it could not
// deliver.
func ArchiveErrorPrefixExpression(source string) string {
	return "errors/source=" + source + "/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/"
}

// Firehose buffering of the archive streams: an object is written when 64 MiB
// or ArchiveBufferInterval has gathered, whichever comes first. The interval
// bounds how late search sees a delivery; the price of a shorter one is S3
// PUTs (docs/cost.md).
const (
	ArchiveBufferInterval = 300 * time.Second
	ArchiveBufferMiB      = 64
)

// ArchiveHours lists the hour prefixes of a source that can hold deliveries
// received in [from, to]. Firehose files an object under the arrival time of
// its oldest record, so an entry can sit in the hour before its own (by up
// to ArchiveBufferInterval); and a delivery is archived when first received,
// up to lag after it reached the queue. So: every hour from
// (from − ArchiveBufferInterval)'s to (to + lag)'s.
func ArchiveHours(source string, from, to time.Time, lag time.Duration) []string {
	var out []string
	end := to.Add(lag).UTC()
	for h := from.Add(-ArchiveBufferInterval).UTC().Truncate(time.Hour); !h.After(end); h = h.Add(time.Hour) {
		out = append(out, ArchivePrefix(source, h))
	}
	return out
}
