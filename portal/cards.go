package portal

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/stackconfig"
	"github.com/hookline/hookline/stackoutputs"
)

// SourceCard is what a team needs to point a sender at a source: the URL,
// what to paste into the sender's settings (never a secret value: where
// the secret lives and how to set it), the ordering and deduplication in
// words, and links to the source's logs, DLQ and alarms in the AWS console.
type SourceCard struct {
	Name     string  `json:"name"`
	Endpoint string  `json:"endpoint"`
	Auth     string  `json:"auth"`
	AuthText string  `json:"authText"`
	Paste    []Paste `json:"paste"`
	Group    string  `json:"group"`
	Dedup    string  `json:"dedup"`
	Links    []Link  `json:"links"`
}

// Paste is one setting of the sender: its field, the value to paste (with
// <placeholders> where a secret goes) and a note on where that comes from.
type Paste struct {
	Field string `json:"field"`
	Value string `json:"value"`
	Note  string `json:"note,omitempty"`
}

// Link is a console page.
type Link struct {
	Label string `json:"label"`
	URL   string `json:"url"`
}

// sourceCards are the cards of a stack's sources: cfg is its config, outputs
// its stack outputs (nil before an apply; each source's gives its URL and
// DLQ, a source without outputs is not deployed yet).
func sourceCards(cfg *stackconfig.Config, outputs *stackoutputs.Stack) []SourceCard {
	cards := make([]SourceCard, 0, len(cfg.Sources))
	for _, s := range cfg.Sources {
		var o stackoutputs.Source
		if outputs != nil {
			o = outputs.Sources[s.Name]
		}
		cards = append(cards, sourceCard(cfg, s, o.URL, o.DLQURL))
	}
	return cards
}

// sourceCard is one source's card; endpoint is its URL ("" before an
// apply), dlqURL its DLQ's URL ("" unknown).
func sourceCard(cfg *stackconfig.Config, s stackconfig.Source, endpoint, dlqURL string) SourceCard {
	c := SourceCard{Name: s.Name, Endpoint: endpoint, Auth: s.Auth.Type, Group: groupText(s), Dedup: dedupText(s)}
	target := endpoint
	if target == "" {
		target = "<endpoint>/" + s.Name
	}
	contentType := "application/json"
	if len(s.ContentTypes) > 0 {
		contentType = strings.Join(s.ContentTypes, " or ")
	}
	switch s.Auth.Type {
	case stackconfig.AuthToken:
		c.AuthText = "a secret token in the URL, checked at the edge by hookline's authorizer (401 without it, 403 when wrong)"
		c.Paste = append(c.Paste, Paste{"URL", target + "?token=<token>", fmt.Sprintf(
			"<token> is the token set for this source (stored in %s; set or rotate it on the environment page)", s.Auth.TokenParameter)})
	case stackconfig.AuthAPIKey:
		c.AuthText = "an API key in the x-api-key header, checked and metered by API Gateway's usage plan"
		c.Paste = append(c.Paste, Paste{"URL", target, ""},
			Paste{"Header", "x-api-key: <API key>", fmt.Sprintf("<API key> is the value of API key %s (pulumi stack output apiKeys --show-secrets, or the API's apiKeys for your team)", cfg.APIKeyName(s))})
	case stackconfig.AuthCognito:
		c.AuthText = "an OAuth access token of a Cognito user pool"
		note := "an access token of user pool " + s.Auth.UserPoolARN
		if len(s.Auth.Scopes) > 0 {
			note += " with scope " + strings.Join(s.Auth.Scopes, " or ")
		}
		c.Paste = append(c.Paste, Paste{"URL", target, ""}, Paste{"Header", "Authorization: Bearer <access token>", note})
	case stackconfig.AuthIAM:
		c.AuthText = "AWS Signature Version 4 with the caller's IAM credentials"
		c.Paste = append(c.Paste, Paste{"URL", target, ""}, Paste{"Signing", "SigV4, service execute-api, region " + cfg.Region,
			"the caller's role needs execute-api:Invoke on POST /" + s.Name})
	case stackconfig.AuthSignature:
		c.AuthText = "no credential at the edge: the consumer verifies the body's signature and drops forgeries"
		c.Paste = append(c.Paste, Paste{"URL", target, ""})
	}
	c.Paste = append(c.Paste, Paste{"Content type", contentType, ""})
	if cfg.HTTP() {
		// An HTTP API's mapping cannot fall back: a request without one of
		// these is not queued.
		c.Paste = append(c.Paste, Paste{"Required headers", strings.Join(s.Spec().HTTPRequiredHeaders(), ", "),
			"an HTTP API queues a webhook only when every header its mapping names is present"})
	}
	if sc := s.Signature.Scheme; sc.SignsBody() {
		headers := strings.Join(sc.SignatureHeaders(s.Signature.Header), ", ")
		c.Paste = append(c.Paste, Paste{"Signing secret", "<the sender's signing secret>", fmt.Sprintf(
			"keep the sender's %s secret in %s (set it on the environment page); the sender signs every request (%s)", sc, s.Signature.SecretParameter, headers)})
	}
	log := cfg.FunctionLogGroup(s)
	c.Links = append(c.Links, Link{"Consumer logs", consoleURL(cfg.Region, "cloudwatch", "logsV2:log-groups/log-group/"+consoleEscape(log))})
	if dlqURL != "" {
		c.Links = append(c.Links, Link{"Dead-letter queue", consoleURL(cfg.Region, "sqs/v3", "/queues/"+url.QueryEscape(dlqURL))})
	}
	c.Links = append(c.Links, Link{"Alarms", consoleURL(cfg.Region, "cloudwatch", "alarmsV2:?search="+url.QueryEscape(cfg.ResourceName(s.Name)))})
	return c
}

// consoleURL is a page of the AWS console in region.
func consoleURL(region, service, fragment string) string {
	return fmt.Sprintf("https://%s.console.aws.amazon.com/%s/home?region=%s#%s", region, service, region, fragment)
}

// consoleEscape escapes a log group name as the CloudWatch console's
// fragment wants it: URL-escaped, then each % written as $25.
func consoleEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "%", "$25")
}

// groupText says in words how a source's webhooks are ordered.
func groupText(s stackconfig.Source) string {
	switch s.GroupBy.Kind {
	case contract.KindHeader:
		return fmt.Sprintf("in order per value of the %s header: webhooks with the same value are processed one at a time, in the order they arrived; different values run in parallel", s.GroupBy.Name)
	case contract.KindBody:
		return fmt.Sprintf("in order per value of %s in the body: webhooks with the same value are processed one at a time, in the order they arrived; different values run in parallel", s.GroupBy.Name)
	default:
		return "all of this source's webhooks in one ordered line, one at a time (set groupBy to a header or body field to run independent ones in parallel)"
	}
}

// dedupText says in words which resends are dropped.
func dedupText(s stackconfig.Source) string {
	window := fmt.Sprintf("%d minutes", int(contract.DeduplicationWindow.Minutes()))
	var out string
	switch s.EventID.Kind {
	case contract.KindHeader:
		out = fmt.Sprintf("a resend with the same %s header within %s of the first is dropped by the queue", s.EventID.Name, window)
	case contract.KindBody:
		out = fmt.Sprintf("a resend with the same %s in the body within %s of the first is dropped by the queue", s.EventID.Name, window)
	default:
		out = fmt.Sprintf("a resend with an identical body within %s of the first is dropped by the queue (content-based)", window)
	}
	if s.Idempotency.Enabled {
		out += fmt.Sprintf("; the consumer also skips an event id it processed in the last %d hours", s.Idempotency.TTLHours)
	}
	return out
}
