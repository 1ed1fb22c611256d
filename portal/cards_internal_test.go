package portal

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/hookline/hookline/stackoutputs"
)

// TestSourceCards: each auth kind tells the sender exactly what to paste —
// the URL (with ?token=<token> for token), the header, where the secret
// lives — never a value; the order and deduplication in words; console
// links in the stack's region.
func TestSourceCards(t *testing.T) {
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	req := &Request{Env: "web", Region: "eu-west-1", Sources: []json.RawMessage{
		raw(`{"name":"gh","auth":{"type":"token"},"signature":{"scheme":"github"}}`),
		raw(`{"name":"orders","auth":{"type":"apiKey"},"signature":{"scheme":"standard-webhooks"},"groupBy":"header:X-Customer","idempotency":{"enabled":true}}`),
		raw(`{"name":"stripe","auth":{"type":"signature"},"signature":{"scheme":"stripe"},"groupBy":"body:$.data.object.customer"}`),
		raw(`{"name":"internal","auth":{"type":"iam"},"signature":{"scheme":"none"},"eventId":"header:X-Event-Id"}`),
		raw(`{"name":"partner","auth":{"type":"cognito","userPoolArn":"arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_abc","scopes":["webhooks/post"]},"signature":{"scheme":"none"}}`),
	}}
	_, cfg, err := req.Config("pay")
	if err != nil {
		t.Fatal(err)
	}
	outputs := &stackoutputs.Stack{Sources: map[string]stackoutputs.Source{
		"gh":     {URL: "https://abc.execute-api.eu-west-1.amazonaws.com/v1/gh", DLQURL: "https://sqs.eu-west-1.amazonaws.com/123456789012/hookline-pay-web-gh-dlq.fifo"},
		"orders": {URL: "https://abc.execute-api.eu-west-1.amazonaws.com/v1/orders"},
	}}
	cards := sourceCards(cfg, outputs)
	if len(cards) != 5 {
		t.Fatalf("%d cards", len(cards))
	}
	paste := func(c SourceCard) string {
		var b strings.Builder
		for _, p := range c.Paste {
			b.WriteString(p.Field + "=" + p.Value + " (" + p.Note + ")\n")
		}
		return b.String()
	}
	gh, orders, stripe, internal, partner := cards[0], cards[1], cards[2], cards[3], cards[4]
	for _, c := range []struct {
		card SourceCard
		want []string
	}{
		{gh, []string{"URL=https://abc.execute-api.eu-west-1.amazonaws.com/v1/gh?token=<token>", "/hookline/pay-web/gh/token", "Signing secret=<the sender's signing secret>", "X-Hub-Signature-256", "/hookline/pay-web/gh/signing"}},
		{orders, []string{"URL=https://abc.execute-api.eu-west-1.amazonaws.com/v1/orders (", "Header=x-api-key: <API key>", "webhook-signature"}},
		{stripe, []string{"URL=<endpoint>/stripe (", "Stripe-Signature"}},
		{internal, []string{"Signing=SigV4, service execute-api, region eu-west-1", "execute-api:Invoke on POST /internal"}},
		{partner, []string{"Header=Authorization: Bearer <access token>", "userpool/eu-west-1_abc with scope webhooks/post"}},
	} {
		got := paste(c.card)
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q missing from\n%s", c.card.Name, w, got)
			}
		}
		if !strings.Contains(got, "Content type=application/json") {
			t.Errorf("%s: no content type in\n%s", c.card.Name, got)
		}
	}
	if strings.Contains(paste(internal), "Signing secret") || strings.Contains(paste(partner), "Signing secret") {
		t.Errorf("a source without a body signature has no signing secret to paste")
	}
	if !strings.Contains(orders.Group, "X-Customer header") || !strings.Contains(stripe.Group, "$.data.object.customer") || !strings.Contains(gh.Group, "one ordered line") {
		t.Errorf("order in words: %q / %q / %q", orders.Group, stripe.Group, gh.Group)
	}
	if !strings.Contains(internal.Dedup, "same X-Event-Id header within 5 minutes") || !strings.Contains(partner.Dedup, "identical body") ||
		!strings.Contains(orders.Dedup, fmt.Sprintf("processed in the last %d hours", cfg.Sources[1].Idempotency.TTLHours)) {
		t.Errorf("deduplication in words: %q / %q / %q", internal.Dedup, partner.Dedup, orders.Dedup)
	}
	links := map[string]string{}
	for _, l := range gh.Links {
		links[l.Label] = l.URL
	}
	if links["Consumer logs"] != "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups/log-group/$252Faws$252Flambda$252Fhookline-pay-web-gh" ||
		!strings.HasPrefix(links["Dead-letter queue"], "https://eu-west-1.console.aws.amazon.com/sqs/v3/home?region=eu-west-1#/queues/https%3A%2F%2Fsqs.eu-west-1") ||
		links["Alarms"] != "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:?search=hookline-pay-web-gh" {
		t.Errorf("console links: %v", links)
	}
	if len(orders.Links) != 2 {
		t.Errorf("without a DLQ URL there is no DLQ link: %v", orders.Links)
	}
}

// TestHTTPSourceCards: on an HTTP API the card lists the headers every
// request must carry (the mapping has no fallback); a REST card does not.
func TestHTTPSourceCards(t *testing.T) {
	req := &Request{Env: "web", Region: "eu-west-1", Ingress: "http", Sources: []json.RawMessage{
		json.RawMessage(`{"name":"gh","auth":{"type":"signature"},"signature":{"scheme":"github"},"groupBy":"header:X-GitHub-Hook-ID"}`),
	}}
	_, cfg, err := req.Config("pay")
	if err != nil {
		t.Fatal(err)
	}
	card := sourceCards(cfg, nil)[0]
	found := false
	for _, p := range card.Paste {
		if p.Field == "Required headers" && p.Value == "Content-Type, X-GitHub-Hook-ID, X-GitHub-Delivery, X-Hub-Signature-256" {
			found = true
		}
	}
	if !found {
		t.Errorf("http card: %+v", card.Paste)
	}
	req.Ingress = ""
	if _, cfg, err = req.Config("pay"); err != nil {
		t.Fatal(err)
	}
	for _, p := range sourceCards(cfg, nil)[0].Paste {
		if p.Field == "Required headers" {
			t.Errorf("rest card lists required headers: %+v", p)
		}
	}
}
