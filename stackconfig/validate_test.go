package stackconfig_test

import (
	"errors"
	"slices"
	"strings"
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

// TestSecretRotationFormat: one rotation format for every secret, one per
// line (contract.SecretValues). A token rotation with two tokens validates
// (it was refused for its space); a signing secret with spaces (GitHub's
// "It's a Secret to Everybody") is one secret; a value the format cannot
// hold is refused with an error naming the key.
func TestSecretRotationFormat(t *testing.T) {
	const newTok, oldTok = "0123456789abcdef0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210fedcba9876543210"
	cases := []struct {
		name    string
		signing string
		token   string
		want    string
	}{
		{"token rotation, one per line", "", newTok + "\n" + oldTok, ""},
		{"secret with spaces", "It's a Secret to Everybody", newTok, ""},
		{"signing rotation, one per line", "It's a Secret to Everybody\nold secret", newTok, ""},
		{"token rotation, former space-separated", "", newTok + " " + oldTok, "hookline:tokens.hooks: a token is 32 to 512"},
		{"secret ending with a space", "It's a Secret ", newTok, "hookline:signingSecrets.gh: a secret cannot start or end with white space"},
		{"secret with a carriage return", "a\rb", newTok, "hookline:signingSecrets.gh: a secret cannot hold a line break"},
		{"only blank lines", "\n\n", newTok, "hookline:signingSecrets.gh: empty secret"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := base()
			m["hookline:sources"] = append(m["hookline:sources"].([]any),
				map[string]any{"name": "gh", "signature": map[string]any{"scheme": "github"}},
				map[string]any{"name": "hooks", "auth": map[string]any{"type": "token"}, "signature": map[string]any{"scheme": "none"}})
			if tc.signing != "" {
				m["hookline:signingSecrets"] = map[string]any{"gh": tc.signing}
			}
			m["hookline:tokens"] = map[string]any{"hooks": tc.token}
			c, err := stackconfig.Load("dev", raw(t, m), true, []string{"hookline:signingSecrets", "hookline:tokens"})
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.Tokens["hooks"] != tc.token || c.SigningSecrets["gh"] != tc.signing {
					t.Errorf("secrets not loaded as written: %q %q", c.Tokens, c.SigningSecrets)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// TestSpecRequiresTheDeliveryHeader: a GitHub or Shopify source's contract,
// as the program deploys it, has the REST request validator require the
// delivery-id header its senders always send, even with an eventId read
// from the body.
func TestSpecRequiresTheDeliveryHeader(t *testing.T) {
	m := base()
	m["hookline:sources"] = []any{
		map[string]any{"name": "gh", "signature": map[string]any{"scheme": "github"}},
		map[string]any{"name": "shop", "signature": map[string]any{"scheme": "shopify"}, "eventId": "body:$.id"},
	}
	c, err := stackconfig.Load("dev", raw(t, m), true, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range [][]string{{"X-GitHub-Delivery", "X-Hub-Signature-256"}, {"X-Shopify-Hmac-Sha256", "X-Shopify-Webhook-Id"}} {
		if got := c.Sources[i].Spec().RequiredHeaders(); !slices.Equal(got, want) {
			t.Errorf("%s: required headers %v, want %v", c.Sources[i].Name, got, want)
		}
	}
}
