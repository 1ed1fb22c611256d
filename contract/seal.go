package contract

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The receipt time a signature's timestamp is judged against.
//
// A sender must never be able to choose it. On an HTTP API a header value is
// placed in the message attributes' JSON unescaped (API Gateway offers no
// escaping in parameter mapping), so a header can add a second
// hookline-received-at — or any attribute — to the message. So:
//
//   - a first delivery is judged against SQS's own SentTimestamp, which SQS
//     stamps when API Gateway's SendMessage lands; hookline-received-at is kept
//     for logs, and a record whose hookline-received-at disagrees with
//     SentTimestamp by more than API Gateway's integration can take is a
//     forgery (CheckReceipt);
//   - a re-send (redrive, replay) carries the original receipt time in
//     AttrSeal, bound to the source and the body by a MAC under the stack's
//     seal key (a KMS HMAC key: redrive may generate MACs, the consumer may
//     only verify them). Whatever a sender writes into an attribute, it cannot
//     produce a MAC.
//
// Which duplicate key AWS keeps does not matter: neither value is trusted.

// AttrSeal carries a re-sent message's original receipt time and its MAC:
// "<epoch ms>.<base64url MAC>".
const AttrSeal = "hookline-seal"

// SealAlgorithm is the KMS MAC algorithm of the seal key (key spec HMAC_256).
const SealAlgorithm = "HMAC_SHA_256"

// Sealer computes and checks MACs under a stack's seal key. In AWS it is a
// KMS HMAC key (handler/seal); tests use a local key.
type Sealer interface {
	// GenerateMAC returns the MAC of msg.
	GenerateMAC(ctx context.Context, msg []byte) ([]byte, error)
	// VerifyMAC returns ErrForgedSeal when mac is not msg's MAC, another
	// error when it cannot tell.
	VerifyMAC(ctx context.Context, msg, mac []byte) error
}

// ErrForgedSeal marks a seal whose MAC does not match: nobody holding the
// seal key wrote it.
var ErrForgedSeal = errors.New("the seal's MAC does not match")

// sealMessage is what a seal's MAC covers: the source, the receipt time and
// the body's SHA-256 (KMS takes at most 4096 bytes, so the body is hashed),
// and a replay's reprocess mark when it carries one.
func sealMessage(source string, ms int64, body []byte, reprocess bool) []byte {
	sum := sha256.Sum256(body)
	msg := fmt.Appendf(nil, "hookline-seal-v1\n%s\n%d\n%s", source, ms, hex.EncodeToString(sum[:]))
	if reprocess {
		msg = append(msg, "\n"+sealReprocess...)
	}
	return msg
}

// sealReprocess ends the seal of a replayed copy that must be processed even
// if its event was processed before (hookline replay --reprocess): the mark
// is under the MAC, so only a holder of the seal key can set it, and it
// costs no message attribute (SQS allows 10; a copy may use them all).
const sealReprocess = "reprocess"

// Seal returns the AttrSeal value binding receipt time at to source and body.
func Seal(ctx context.Context, s Sealer, source string, at time.Time, body []byte) (string, error) {
	return seal(ctx, s, source, at, body, false)
}

// SealReprocess is Seal for a replayed copy the consumer must process again
// even if its event id was processed before.
func SealReprocess(ctx context.Context, s Sealer, source string, at time.Time, body []byte) (string, error) {
	return seal(ctx, s, source, at, body, true)
}

func seal(ctx context.Context, s Sealer, source string, at time.Time, body []byte, reprocess bool) (string, error) {
	ms := at.UnixMilli()
	mac, err := s.GenerateMAC(ctx, sealMessage(source, ms, body, reprocess))
	if err != nil {
		return "", fmt.Errorf("seal the receipt time: %w", err)
	}
	v := strconv.FormatInt(ms, 10) + "." + base64.RawURLEncoding.EncodeToString(mac)
	if reprocess {
		v += "." + sealReprocess
	}
	return v, nil
}

// SealMarked reports whether a seal carries the reprocess mark (not whether
// the mark is genuine: OpenSealed says that).
func SealMarked(seal string) bool { return strings.HasSuffix(seal, "."+sealReprocess) }

// Opened is what a seal that opened says.
type Opened struct {
	// At is the original receipt time.
	At time.Time
	// Reprocess: a replay asked the consumer to process the copy even if
	// its event was processed before.
	Reprocess bool
}

// OpenSeal checks a seal against source and body and returns the receipt
// time it carries. A seal that does not parse or whose MAC does not match is
// ErrForgedSeal.
func OpenSeal(ctx context.Context, s Sealer, source string, body []byte, seal string) (time.Time, error) {
	o, err := OpenSealed(ctx, s, source, body, seal)
	return o.At, err
}

// OpenSealed is OpenSeal with the reprocess mark: "<ms>.<MAC>" or
// "<ms>.<MAC>.reprocess" (base64url has no '.').
func OpenSealed(ctx context.Context, s Sealer, source string, body []byte, seal string) (Opened, error) {
	msText, rest, ok := strings.Cut(seal, ".")
	macText, mark, marked := strings.Cut(rest, ".")
	ms, err := strconv.ParseInt(msText, 10, 64)
	mac, merr := base64.RawURLEncoding.DecodeString(macText)
	if !ok || err != nil || ms <= 0 || merr != nil || len(mac) == 0 || (marked && mark != sealReprocess) {
		return Opened{}, fmt.Errorf("%w: %q is not <epoch ms>.<MAC>[.%s]", ErrForgedSeal, seal, sealReprocess)
	}
	if err := s.VerifyMAC(ctx, sealMessage(source, ms, body, marked), mac); err != nil {
		return Opened{}, err
	}
	return Opened{At: time.UnixMilli(ms).UTC(), Reprocess: marked}, nil
}

// Receipt-time bounds: how far hookline-received-at (API Gateway's request
// time) may be from SQS's SentTimestamp on a first delivery. API Gateway's
// integration timeout is 29 s (REST) or 30 s (HTTP): SendMessage lands within
// it; the rest allows for the two services' clocks.
const (
	MaxReceiptLag  = 5 * time.Minute
	MaxReceiptLead = time.Minute
)

// ErrForgedReceipt marks a first delivery whose hookline-received-at is not
// one API Gateway can have written for the time SQS received it.
var ErrForgedReceipt = errors.New("hookline-received-at disagrees with SQS's SentTimestamp")

// ParseEpoch reads an epoch timestamp in milliseconds or seconds: API
// Gateway documents $context.requestTimeEpoch in milliseconds for REST APIs
// and only as "epoch format" for HTTP APIs. A value below 1e11 cannot be a
// millisecond time after 1973, so it is read as seconds.
func ParseEpoch(v string) (time.Time, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}, fmt.Errorf("%q is not an epoch time", v)
	}
	if n < 1e11 {
		return time.Unix(n, 0).UTC(), nil
	}
	return time.UnixMilli(n).UTC(), nil
}

// CheckReceipt judges a first delivery's hookline-received-at against SQS's
// SentTimestamp (either zero: nothing to compare).
func CheckReceipt(receivedAt, sentAt time.Time) error {
	if receivedAt.IsZero() || sentAt.IsZero() {
		return nil
	}
	if receivedAt.Before(sentAt.Add(-MaxReceiptLag)) || receivedAt.After(sentAt.Add(MaxReceiptLead)) {
		return fmt.Errorf("%w: received %s, sent %s", ErrForgedReceipt, receivedAt.Format(time.RFC3339Nano), sentAt.Format(time.RFC3339Nano))
	}
	return nil
}

// ErrForgedAttributes marks a record carrying an attribute the edge does not
// write for its source.
var ErrForgedAttributes = errors.New("record carries attributes the edge does not write")

// CheckAttributes reports a record whose attribute names are not the set the
// edge writes for the source (allowed: Spec.Attributes), or a re-send's
// AttrSeal. A failure reason never reaches a source queue (re-sends leave it
// behind), so it is not allowed either.
func CheckAttributes(r *Record, allowed []string) error {
	var extra []string
	for _, a := range r.Attrs {
		if a.Name != AttrSeal && !slices.Contains(allowed, a.Name) {
			extra = append(extra, a.Name)
		}
	}
	if len(extra) > 0 {
		return fmt.Errorf("%w: %s", ErrForgedAttributes, strings.Join(extra, ", "))
	}
	return nil
}

// MaxRetention is SQS's longest message retention (14 days): no message
// waits in a queue longer.
const MaxRetention = 14 * 24 * time.Hour

// RedriveReceipt is the receipt time redrive seals for a dead letter that
// carries no seal (the handler moved it, or SQS did after maxReceiveCount
// receives): its hookline-received-at, which the handler checked against
// SentTimestamp on its first receive, when that is a time the message can
// have been received — not after it reached the DLQ (dlqSentAt), not more
// than two retention periods before — else dlqSentAt, which only makes the
// signature's tolerance stricter.
func RedriveReceipt(receivedAt string, dlqSentAt time.Time) time.Time {
	at, err := ParseEpoch(receivedAt)
	if err != nil || dlqSentAt.IsZero() ||
		at.After(dlqSentAt.Add(MaxReceiptLead)) || at.Before(dlqSentAt.Add(-2*MaxRetention)) {
		if dlqSentAt.IsZero() {
			return time.Now()
		}
		return dlqSentAt
	}
	return at
}
