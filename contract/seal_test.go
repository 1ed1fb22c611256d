package contract_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/internal/testing/harness"
)

// TestParseEpoch: API Gateway documents $context.requestTimeEpoch in
// milliseconds for REST APIs and only as "epoch format" for HTTP APIs
// (issue 27 item 6): both units read as the same instant.
func TestParseEpoch(t *testing.T) {
	at := time.Now().Truncate(time.Second).UTC()
	for _, v := range []string{fmt.Sprint(at.UnixMilli()), fmt.Sprint(at.Unix())} {
		got, err := contract.ParseEpoch(v)
		if err != nil || !got.Equal(at) {
			t.Errorf("%s: %s %v, want %s", v, got, err, at)
		}
	}
	for _, v := range []string{"", "yesterday", "-5", "0", "1.5"} {
		if _, err := contract.ParseEpoch(v); err == nil {
			t.Errorf("%q read as a time", v)
		}
	}
}

// TestCheckReceipt: a first delivery's received-at must be one API Gateway
// can have written for the time SQS stamped.
func TestCheckReceipt(t *testing.T) {
	sent := time.Now()
	for d, ok := range map[time.Duration]bool{
		0: true, -30 * time.Second: true, -contract.MaxReceiptLag: true, 30 * time.Second: true,
		-contract.MaxReceiptLag - time.Second: false, -24 * time.Hour: false, 2 * time.Minute: false,
	} {
		err := contract.CheckReceipt(sent.Add(d), sent)
		if (err == nil) != ok || (err != nil && !errors.Is(err, contract.ErrForgedReceipt)) {
			t.Errorf("received %s after sent: %v", d, err)
		}
	}
	if err := contract.CheckReceipt(time.Time{}, sent); err != nil {
		t.Errorf("no received-at: %v", err)
	}
}

// TestRedriveReceipt: redrive seals a dead letter's received-at when it can
// have been received before it reached the DLQ, else the DLQ arrival.
func TestRedriveReceipt(t *testing.T) {
	dlq := time.Now().Truncate(time.Millisecond)
	ms := func(t time.Time) string { return fmt.Sprint(t.UnixMilli()) }
	for name, tc := range map[string]struct {
		received string
		want     time.Time
	}{
		"hours before":         {ms(dlq.Add(-5 * time.Hour)), dlq.Add(-5 * time.Hour)},
		"in seconds":           {fmt.Sprint(dlq.Add(-time.Hour).Unix()), dlq.Add(-time.Hour).Truncate(time.Second)},
		"after the DLQ":        {ms(dlq.Add(time.Hour)), dlq},
		"beyond two retention": {ms(dlq.Add(-30 * 24 * time.Hour)), dlq},
		"absent":               {"", dlq},
		"not a time":           {"soon", dlq},
	} {
		if got := contract.RedriveReceipt(tc.received, dlq); !got.Equal(tc.want) {
			t.Errorf("%s: %s, want %s", name, got, tc.want)
		}
	}
}

// TestCheckAttributes: exactly the edge's set (and a re-send's seal).
func TestCheckAttributes(t *testing.T) {
	allowed := []string{contract.AttrSource, contract.AttrReceivedAt, "x-signature"}
	rec := func(names ...string) *contract.Record {
		r := &contract.Record{}
		for _, n := range names {
			r.Attrs = append(r.Attrs, contract.Attr{Name: n, Value: "v"})
		}
		return r
	}
	if err := contract.CheckAttributes(rec(contract.AttrSource, "x-signature", contract.AttrSeal), allowed); err != nil {
		t.Error(err)
	}
	for _, extra := range []string{"x-evil", contract.AttrFailureReason, "X-Signature"} {
		err := contract.CheckAttributes(rec(contract.AttrSource, extra), allowed)
		if !errors.Is(err, contract.ErrForgedAttributes) || !strings.Contains(err.Error(), extra) {
			t.Errorf("%s: %v", extra, err)
		}
	}
}

// TestSealBindsTimeSourceAndBody: the seal's MAC covers what it claims.
func TestSealBindsTimeSourceAndBody(t *testing.T) {
	s := harness.NewSealer()
	ctx := context.Background()
	at := time.Now().Add(-time.Hour).Truncate(time.Millisecond).UTC()
	v, err := contract.Seal(ctx, s, "orders", at, []byte("body"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := contract.OpenSeal(ctx, s, "orders", []byte("body"), v); err != nil || !got.Equal(at) {
		t.Fatalf("%s %v", got, err)
	}
	ms, mac, _ := strings.Cut(v, ".")
	for name, tc := range map[string]struct{ source, body, seal string }{
		"source": {"payments", "body", v}, "body": {"orders", "body2", v},
		"time": {"orders", "body", fmt.Sprint(at.UnixMilli()+1) + "." + mac}, "garbage": {"orders", "body", "x.y"},
		"no time": {"orders", "body", "." + mac}, "negative": {"orders", "body", "-" + ms + "." + mac},
	} {
		if _, err := contract.OpenSeal(ctx, s, tc.source, []byte(tc.body), tc.seal); !errors.Is(err, contract.ErrForgedSeal) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
