package consumer_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/internal/testing/harness"
)

// httpDelivery is what an HTTP API would queue for a Standard Webhooks
// request signed at signedAt and received now, with extra appended to its
// webhook-signature header (API Gateway places the header in the message
// attributes' JSON without escaping it), read with dup's treatment of a
// duplicate key.
func httpDelivery(t *testing.T, id, body string, signedAt time.Time, extra string, dup contract.DuplicateKeys) events.SQSMessage {
	t.Helper()
	sig, err := signStandardWebhooks(secret, id, signedAt.Unix(), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	rec, refused := spec.SimulateHTTP(contract.Request{
		Headers: map[string]string{
			"X-Account": "a", "content-type": "application/json",
			"webhook-id": id, "webhook-timestamp": fmt.Sprint(signedAt.Unix()), "webhook-signature": sig + extra,
		},
		Body: []byte(body), RequestID: "req-" + id, SourceIP: "203.0.113.1", ReceivedAt: now,
	}, "m-"+id, dup)
	if refused != "" {
		t.Fatalf("the HTTP API would not queue it: %s", refused)
	}
	return rec
}

// inject is a header value's tail that closes the signature's JSON string
// and opens a new String attribute, left open for the mapping's own
// closing quote.
func inject(name, value string) string {
	return fmt.Sprintf(`"},%q:{"DataType":"String","StringValue":"%s`, name, value)
}

// TestHTTPSenderCannotRewriteTheReceiptTime (issue 34, item 1): a sender on
// an HTTP API who replays a delivery captured a month ago and adds a second
// hookline-received-at with the capture's time through a header gets
// nothing processed and nothing dead-lettered, whichever duplicate key AWS
// keeps; so does one who adds an attribute the edge does not write, or a
// seal of its own. A genuine delivery through the same mapping is processed.
func TestHTTPSenderCannotRewriteTheReceiptTime(t *testing.T) {
	body := `{"type":"invoice.paid","amount":100}`
	captured := now.Add(-30 * 24 * time.Hour)
	for _, dup := range []contract.DuplicateKeys{contract.FirstKeyWins, contract.LastKeyWins} {
		t.Run(dup.String(), func(t *testing.T) {
			for _, tc := range []struct {
				name, extra, reason string
			}{
				{"a second received-at from the capture", inject(contract.AttrReceivedAt, fmt.Sprint(captured.UnixMilli())), ""},
				{"a second received-at in seconds", inject(contract.AttrReceivedAt, fmt.Sprint(captured.Unix())), ""},
				{"an attribute the edge does not write", inject("hookline-replayed", "yes"), "forged-attributes"},
				{"a seal of its own", inject(contract.AttrSeal, fmt.Sprintf("%d.AAAA", captured.UnixMilli())), "forged-seal"},
				{"a failure reason", inject(contract.AttrFailureReason, "processor"), "forged-attributes"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					for _, open := range []bool{false, true} {
						e := newEnv(t)
						e.h.Config.OpenEdge = open
						r := httpDelivery(t, "evt-captured", body, captured, tc.extra, dup)
						failed := e.handle(t, context.Background(), r)
						l := e.logLines(t)[0]
						if len(failed) != 0 || len(e.proc.processed) != 0 {
							t.Fatalf("open edge %v: failed %v, processed %v (%v): want neither", open, failed, e.proc.processed, l["reason"])
						}
						// Kept, the genuine received-at makes it a stale
						// delivery: behind a token the sender is known and
						// it is kept for inspection, as any stale one.
						stale := l["reason"] == "signature-stale"
						if len(e.dlq.sent) != 0 && (open || !stale) {
							t.Errorf("open edge %v: dead-lettered (%v)", open, l["reason"])
						}
						if tc.reason != "" && l["reason"] != tc.reason {
							t.Errorf("open edge %v: reason %v, want %s", open, l["reason"], tc.reason)
						}
						if tc.reason == "" && !stale && l["reason"] != "forged-receipt-time" {
							t.Errorf("open edge %v: reason %v, want signature-stale or forged-receipt-time", open, l["reason"])
						}
					}
				})
			}
		})
	}
	// The mapping itself is sound: a genuine delivery is processed.
	for _, dup := range []contract.DuplicateKeys{contract.FirstKeyWins, contract.LastKeyWins} {
		e := newEnv(t)
		r := httpDelivery(t, "evt-1", body, now, "", dup)
		if failed := e.handle(t, context.Background(), r); len(failed) != 0 || strings.Join(e.proc.processed, ",") != "evt-1" {
			t.Errorf("%s: genuine delivery: failed %v, processed %v\n%s", dup, failed, e.proc.processed, e.logs)
		}
	}
}

// TestStaleReplayIsNeverDeadLettered: a captured delivery replayed later
// (its received-at and SentTimestamp now, its signature old) is dropped on
// an open source, never stored in the DLQ; on a source behind a token the
// sender is known and it is kept for inspection as before.
func TestStaleReplayIsNeverDeadLetteredOnAnOpenSource(t *testing.T) {
	e := newEnv(t)
	e.h.Config.OpenEdge = true
	r := httpDelivery(t, "evt-old", `{"n":1}`, now.Add(-time.Hour), "", contract.LastKeyWins)
	if failed := e.handle(t, context.Background(), r); len(failed) != 0 || len(e.dlq.sent) != 0 || len(e.proc.processed) != 0 {
		t.Fatalf("failed %v, DLQ %d, processed %v", failed, len(e.dlq.sent), e.proc.processed)
	}
}

// TestAnonymousRecordsNeverFillTheDLQ: on an open source a record that is
// malformed or names another source (what an injected duplicate
// hookline-source yields) is dropped and counted before any signature
// check, never dead-lettered; behind a token it is kept for inspection.
func TestAnonymousRecordsNeverFillTheDLQ(t *testing.T) {
	for _, open := range []bool{true, false} {
		e := newEnv(t)
		e.h.Config.OpenEdge = open
		other := signed(t, "a", "e1", `{"n":1}`, now)
		src := "payments"
		other.MessageAttributes[contract.AttrSource] = events.SQSMessageAttribute{StringValue: &src, DataType: "String"}
		bad := signed(t, "a", "e2", `{"n":2}`, now)
		junk := "yesterday"
		bad.MessageAttributes[contract.AttrReceivedAt] = events.SQSMessageAttribute{StringValue: &junk, DataType: "String"}
		failed := e.handle(t, context.Background(), other, bad)
		if len(failed) != 0 {
			t.Fatalf("failed %v", failed)
		}
		if want := map[bool]int{true: 0, false: 2}[open]; len(e.dlq.sent) != want {
			t.Errorf("open %v: %d dead-lettered, want %d", open, len(e.dlq.sent), want)
		}
	}
}

// TestRedrivenDeliveryKeepsItsReceiptTime: a re-send sealed with its
// original receipt time verifies hours later; a seal under another key, of
// another body or of another source is a forgery (dropped); a sealed
// record reaching a handler without the seal key is retried, never judged.
func TestRedrivenDeliveryKeepsItsReceiptTime(t *testing.T) {
	body := `{"type":"invoice.paid"}`
	received := now.Add(-3 * time.Hour)
	resend := func(t *testing.T, s contract.Sealer, source, sealedBody string) events.SQSMessage {
		r := signed(t, "a", "e1", body, received)
		seal, err := contract.Seal(context.Background(), s, source, received, []byte(sealedBody))
		if err != nil {
			t.Fatal(err)
		}
		r.MessageAttributes[contract.AttrSeal] = events.SQSMessageAttribute{StringValue: &seal, DataType: "String"}
		r.Attributes["SentTimestamp"] = fmt.Sprint(now.UnixMilli()) // re-sent now
		return r
	}
	e := newEnv(t)
	if failed := e.handle(t, context.Background(), resend(t, e.h.Sealer, "partners", body)); len(failed) != 0 || len(e.proc.processed) != 1 {
		t.Fatalf("a sealed re-send: failed %v, processed %v\n%s", failed, e.proc.processed, e.logs)
	}
	for name, r := range map[string]func(e *env) events.SQSMessage{
		"another key":    func(e *env) events.SQSMessage { return resend(t, harness.NewSealer(), "partners", body) },
		"another body":   func(e *env) events.SQSMessage { return resend(t, e.h.Sealer, "partners", `{"type":"x"}`) },
		"another source": func(e *env) events.SQSMessage { return resend(t, e.h.Sealer, "payments", body) },
	} {
		e := newEnv(t)
		if failed := e.handle(t, context.Background(), r(e)); len(failed) != 0 || len(e.proc.processed) != 0 || len(e.dlq.sent) != 0 {
			t.Errorf("%s: failed %v, processed %v, DLQ %d", name, failed, e.proc.processed, len(e.dlq.sent))
		}
		if l := e.logLines(t)[0]; l["reason"] != "forged-seal" {
			t.Errorf("%s: reason %v", name, l["reason"])
		}
	}
	// Unsealed, the same re-send is judged against its new SentTimestamp:
	// hookline-received-at three hours earlier is not one API Gateway wrote.
	e = newEnv(t)
	r := signed(t, "a", "e1", body, received)
	r.Attributes["SentTimestamp"] = fmt.Sprint(now.UnixMilli())
	e.handle(t, context.Background(), r)
	if len(e.proc.processed) != 0 || e.logLines(t)[0]["reason"] != "forged-receipt-time" {
		t.Errorf("an unsealed old record: processed %v, %v", e.proc.processed, e.logLines(t)[0])
	}
	// Without the key, a sealed record waits.
	e = newEnv(t)
	sealed := resend(t, e.h.Sealer, "partners", body)
	e.h.Sealer = nil
	if failed := e.handle(t, context.Background(), sealed); len(failed) != 1 || e.logLines(t)[0]["reason"] != "seal-unusable" {
		t.Errorf("no seal key: failed %v, %v", failed, e.logLines(t)[0])
	}
}
