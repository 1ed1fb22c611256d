package stackconfig_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/hookline/hookline/stackconfig"
)

// TestSourceValidationReportsEveryPart: a source wrong in every part (name,
// auth, signature, contract, queue and function, processor, idempotency,
// throttle) gets one problem per part, all at once, in that order.
func TestSourceValidationReportsEveryPart(t *testing.T) {
	m := base()
	source(m, func(s map[string]any) {
		s["name"] = "Payments"
		s["auth"] = map[string]any{"type": "basic"}
		s["signature"] = map[string]any{"scheme": "hmac-sha256", "header": "X-Sig", "encoding": "base32"}
		s["eventId"] = "source"
		s["maxReceiveCount"] = 1
		s["processor"] = map[string]any{"type": "kafka"}
		s["idempotency"] = map[string]any{"enabled": true, "ttlHours": 9000}
		s["throttle"] = map[string]any{"rateLimit": 0}
	})
	_, err := stackconfig.Load("dev", raw(t, m), true, nil)
	var cfgErr *stackconfig.Error
	if !errors.As(err, &cfgErr) {
		t.Fatalf("want a config error, got %v", err)
	}
	var keys []string
	for _, p := range cfgErr.Problems {
		keys = append(keys, p.Key)
	}
	want := []string{
		"hookline:sources[0].name", "hookline:sources[0].auth.type", "hookline:sources[0].signature.encoding",
		"hookline:sources[0].eventId", "hookline:sources[0].maxReceiveCount", "hookline:sources[0].processor.type",
		"hookline:sources[0].idempotency.ttlHours", "hookline:sources[0].throttle.rateLimit",
	}
	if !slices.Equal(keys, want) {
		t.Errorf("problems at\n %v\nwant\n %v", keys, want)
	}
}

// TestMissingSchemeNamesEveryScheme: the message lists the contract's
// schemes, as it did when they were written out by hand.
func TestMissingSchemeNamesEveryScheme(t *testing.T) {
	m := base()
	source(m, func(s map[string]any) { delete(s, "signature") })
	_, err := stackconfig.Load("dev", raw(t, m), true, nil)
	var cfgErr *stackconfig.Error
	if !errors.As(err, &cfgErr) {
		t.Fatalf("want a config error, got %v", err)
	}
	for _, p := range cfgErr.Problems {
		if p.Key == "hookline:sources[0].signature.scheme" {
			if want := "required: one of standard-webhooks, github, stripe, slack, shopify, hmac-sha256 or none (none must be said explicitly)"; p.Message != want {
				t.Errorf("message %q\nwant %q", p.Message, want)
			}
			return
		}
	}
	t.Errorf("no problem at signature.scheme: %v", cfgErr.Problems)
}
