// Package dedup is the long-window deduplication of a source: a DynamoDB
// conditional write keyed "<source>#<eventId>" with a TTL, so a provider's
// retry days later is recognised. SQS FIFO deduplicates for 5 minutes only.
//
// A record first takes an in-progress marker with a lease; only when its
// processing succeeded is the marker made final. A failed attempt releases
// it, and a crashed one's lease expires, so nothing is ever marked done that
// was not processed.
//
// The keys and states are in this file; the DynamoDB store (Store, in
// store.go) is left out of a handler built with the tag hookline.nodynamodb
// (see handler/build), so a source without idempotency never links the
// DynamoDB client.
package dedup

import (
	"crypto/sha256"
	"encoding/hex"
)

// State is what Begin found.
type State int

const (
	// New: the marker is ours; process the record.
	New State = iota
	// Done: the event was processed before; acknowledge without processing.
	Done
	// InProgress: another attempt holds a live lease; retry later.
	InProgress
)

// Key is the partition key of an event.
func Key(source, eventID string) string { return source + "#" + eventID }

// BodyKey is the marker key of a source whose scheme signs the body but not
// the delivery id (GitHub, Shopify, generic HMAC), and of any record without
// an event id: the body's SHA-256, so a captured delivery replayed under a
// fresh, unsigned id, or with its id left out, is still a duplicate.
func BodyKey(source string, body []byte) string {
	sum := sha256.Sum256(body)
	return source + "#sha256:" + hex.EncodeToString(sum[:])
}
