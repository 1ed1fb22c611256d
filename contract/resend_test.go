package contract_test

import (
	"maps"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hookline/hookline/contract"
)

// TestResend: the one re-send the DLQ move and redrive (and anything that
// re-sends later) build.
func TestResend(t *testing.T) {
	base := []contract.Attr{
		{Name: contract.AttrSource, Value: "payments"}, {Name: contract.AttrRequestID, Value: "req-1"},
		{Name: contract.AttrReceivedAt, Value: "1700000000000"}, {Name: contract.AttrSourceIP, Value: "203.0.113.1"},
		{Name: contract.AttrContentType, Value: "application/json"}, {Name: contract.AttrEventID, Value: "evt_1"},
		{Name: "webhook-id", Value: "evt_1"},
	}
	attrs := func(extra ...contract.Attr) []contract.Attr {
		return append(append([]contract.Attr(nil), base...), extra...)
	}
	values := func(as []contract.Attr) map[string]string {
		m := map[string]string{}
		for _, a := range as {
			m[a.Name] = a.Value
		}
		return m
	}
	with := func(m map[string]string, kv ...string) map[string]string {
		m = maps.Clone(m)
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(m, kv[i])
			} else {
				m[kv[i]] = kv[i+1]
			}
		}
		return m
	}
	// full has MaxMessageAttributes attributes (not through the template).
	full := attrs(contract.Attr{Name: "webhook-timestamp", Value: "1"}, contract.Attr{Name: "webhook-signature", Value: "v1,x"},
		contract.Attr{Name: "x-extra", Value: "y"})
	// atLimit is a body that, with base's attributes, is exactly SQS's limit.
	atLimit := strings.Repeat("a", contract.MaxMessageBytes-contract.MessageSize("", values(base)))
	longID := strings.Repeat("m", contract.MaxIDLength)

	cases := []struct {
		name string
		in   contract.Resend
		want contract.ResendMessage
	}{
		{"dlq move: everything kept, the reason added, a dedup id of its own",
			contract.Resend{Kind: contract.ResendDLQ, MessageID: "m-1", Group: "cus_1", Body: `{"n":1}`, Attrs: attrs(), Reason: "malformed-body"},
			contract.ResendMessage{Body: `{"n":1}`, GroupID: "cus_1", DeduplicationID: "dlq-m-1",
				Attributes: with(values(base), contract.AttrFailureReason, "malformed-body")}},
		{"dlq move: an earlier reason is replaced",
			contract.Resend{Kind: contract.ResendDLQ, MessageID: "m-2", Group: "g", Body: "{}",
				Attrs: attrs(contract.Attr{Name: contract.AttrFailureReason, Value: "processor"}), Reason: "signature-mismatch"},
			contract.ResendMessage{Body: "{}", GroupID: "g", DeduplicationID: "dlq-m-2",
				Attributes: with(values(base), contract.AttrFailureReason, "signature-mismatch")}},
		{"redrive: the failure reason stays behind",
			contract.Resend{Kind: contract.ResendRedrive, MessageID: "m-3", Group: "cus_1", Body: `{"n":1}`,
				Attrs: attrs(contract.Attr{Name: contract.AttrFailureReason, Value: "malformed-body"})},
			contract.ResendMessage{Body: `{"n":1}`, GroupID: "cus_1", DeduplicationID: "redrive-m-3", Attributes: values(base)}},
		{"binary attributes stay behind",
			contract.Resend{Kind: contract.ResendRedrive, MessageID: "m-4", Group: "g", Body: "{}",
				Attrs: attrs(contract.Attr{Name: "blob", Binary: true})},
			contract.ResendMessage{Body: "{}", GroupID: "g", DeduplicationID: "redrive-m-4", Attributes: values(base)}},
		{"dlq move of a message with every attribute: the source IP makes room for the reason",
			contract.Resend{Kind: contract.ResendDLQ, MessageID: "m-5", Group: "g", Body: "{}", Attrs: full, Reason: "wrong-source"},
			contract.ResendMessage{Body: "{}", GroupID: "g", DeduplicationID: "dlq-m-5",
				Attributes: with(values(full), contract.AttrSourceIP, "", contract.AttrFailureReason, "wrong-source")}},
		{"redrive of a message with every attribute keeps them all",
			contract.Resend{Kind: contract.ResendRedrive, MessageID: "m-6", Group: "g", Body: "{}", Attrs: full},
			contract.ResendMessage{Body: "{}", GroupID: "g", DeduplicationID: "redrive-m-6", Attributes: values(full)}},
		{"dlq move of a message at the size limit: no room for a reason",
			contract.Resend{Kind: contract.ResendDLQ, MessageID: "m-7", Group: "g", Body: atLimit, Attrs: attrs(), Reason: "bad-payload"},
			contract.ResendMessage{Body: atLimit, GroupID: "g", DeduplicationID: "dlq-m-7", Attributes: values(base)}},
		{"dlq move near the limit: the reason is cut to the room left",
			contract.Resend{Kind: contract.ResendDLQ, MessageID: "m-8", Group: "g",
				Body:  atLimit[:len(atLimit)-contract.AttributeSize(contract.AttrFailureReason, "bad-")],
				Attrs: attrs(), Reason: "bad-payload"},
			contract.ResendMessage{Body: atLimit[:len(atLimit)-contract.AttributeSize(contract.AttrFailureReason, "bad-")], GroupID: "g",
				DeduplicationID: "dlq-m-8", Attributes: with(values(base), contract.AttrFailureReason, "bad-")}},
		{"a reason cut inside a character keeps valid UTF-8",
			contract.Resend{Kind: contract.ResendDLQ, MessageID: "m-9", Group: "g",
				Body:  atLimit[:len(atLimit)-contract.AttributeSize(contract.AttrFailureReason, "é")+1],
				Attrs: attrs(), Reason: "éé"},
			contract.ResendMessage{Body: atLimit[:len(atLimit)-contract.AttributeSize(contract.AttrFailureReason, "é")+1], GroupID: "g",
				DeduplicationID: "dlq-m-9", Attributes: values(base)}},
		{"a message id too long for a dedup id is hashed",
			contract.Resend{Kind: contract.ResendRedrive, MessageID: longID, Group: "g", Body: "{}"},
			contract.ResendMessage{Body: "{}", GroupID: "g", DeduplicationID: contract.ResendDeduplicationID(contract.ResendRedrive, longID),
				Attributes: map[string]string{}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.in.Message()
			if got.Body != tc.want.Body || got.GroupID != tc.want.GroupID || got.DeduplicationID != tc.want.DeduplicationID {
				t.Errorf("body %d bytes, group %q, dedup %q; want %d bytes, %q, %q",
					len(got.Body), got.GroupID, got.DeduplicationID, len(tc.want.Body), tc.want.GroupID, tc.want.DeduplicationID)
			}
			if !maps.Equal(got.Attributes, tc.want.Attributes) {
				t.Errorf("attributes\n got %v\nwant %v", got.Attributes, tc.want.Attributes)
			}
			if !contract.ValidID(got.DeduplicationID) || !contract.ValidID(got.GroupID) {
				t.Errorf("SQS would refuse group %q or dedup id %q", got.GroupID, got.DeduplicationID)
			}
			if n := contract.MessageSize(got.Body, got.Attributes); n > contract.MaxMessageBytes {
				t.Errorf("the re-send is %d bytes, over SQS's %d", n, contract.MaxMessageBytes)
			}
			if len(got.Attributes) > contract.MaxMessageAttributes {
				t.Errorf("%d attributes, SQS takes %d", len(got.Attributes), contract.MaxMessageAttributes)
			}
			if !utf8.ValidString(got.Attributes[contract.AttrFailureReason]) {
				t.Errorf("reason %q is not valid UTF-8", got.Attributes[contract.AttrFailureReason])
			}
		})
	}
}

// TestResendDeduplicationIDs: each kind of move gets its own id for the
// same message, and repeating a move repeats its id (the window absorbs a
// move whose send succeeded and delete failed).
func TestResendDeduplicationIDs(t *testing.T) {
	dlq := contract.Resend{Kind: contract.ResendDLQ, MessageID: "m-1"}.Message().DeduplicationID
	redrive := contract.Resend{Kind: contract.ResendRedrive, MessageID: "m-1"}.Message().DeduplicationID
	again := contract.Resend{Kind: contract.ResendRedrive, MessageID: "m-1", Body: "other"}.Message().DeduplicationID
	if dlq == redrive || redrive != again {
		t.Errorf("dlq %q, redrive %q, redrive again %q", dlq, redrive, again)
	}
}
