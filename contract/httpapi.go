package contract

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Ingress kinds: the API Gateway flavour a stack's senders post to.
const (
	// IngressREST is a REST API whose AWS integration renders the SendMessage
	// call with a Velocity template (RequestTemplate).
	IngressREST = "rest"
	// IngressHTTP is an HTTP API whose first-class SQS-SendMessage
	// integration maps request values onto SendMessage's parameters
	// (HTTPRequestParameters). No Velocity: no conditions, no escaping.
	IngressHTTP = "http"
)

// Ingresses lists the ingress kinds, the default first.
var Ingresses = []string{IngressREST, IngressHTTP}

// HTTPIntegrationSubtype is the HTTP API's first-class SQS integration.
const HTTPIntegrationSubtype = "SQS-SendMessage"

// HTTPBodyLimit is how much of a request body an HTTP API reads to evaluate
// a $request.body JSONPath: AWS's documentation says it truncates the body
// at 100 KB first. The raw body ($request.body) is sent whole.
const HTTPBodyLimit = 100 * 1024

// httpValue is the HTTP API parameter-mapping expression of a selector:
// ${request.header.Name} (names case-insensitive, several values
// comma-joined) or ${request.body.path} (a JSONPath without its "$").
func httpValue(sel Selector) string {
	switch sel.Kind {
	case KindHeader:
		return "${request.header." + sel.Name + "}"
	case KindBody:
		return "${request.body" + strings.TrimPrefix(sel.Name, "$") + "}"
	}
	return ""
}

// HTTPRequestParameters are the request parameters of a source's
// SQS-SendMessage integration on an HTTP API: the same SendMessage call
// RequestTemplate renders on a REST API, as far as parameter mapping can
// express it (CheckHTTP refuses what it cannot, HTTPDifferences lists what
// differs). queueURL is the source queue's URL.
//
// MessageAttributes is JSON text with ${...} values inside string literals:
// the form AWS's own HTTP API examples use. Every value it names must be in
// the request; API Gateway does not escape them.
func (s Spec) HTTPRequestParameters(queueURL string) map[string]string {
	p := map[string]string{
		"QueueUrl":    queueURL,
		"MessageBody": "$request.body",
	}
	switch s.GroupBy.Kind {
	case KindSource, "":
		p["MessageGroupId"] = s.Source
	default:
		p["MessageGroupId"] = httpValue(s.GroupBy)
	}
	if !s.EventID.IsZero() {
		p["MessageDeduplicationId"] = httpValue(s.EventID)
	}
	type attr struct {
		DataType    string `json:"DataType"`
		StringValue string `json:"StringValue"`
	}
	attrs := map[string]attr{
		AttrSource:      {"String", s.Source},
		AttrRequestID:   {"String", "${context.requestId}"},
		AttrReceivedAt:  {"String", "${context.requestTimeEpoch}"},
		AttrSourceIP:    {"String", "${context.identity.sourceIp}"},
		AttrContentType: {"String", httpValue(Selector{Kind: KindHeader, Name: "Content-Type"})},
	}
	if !s.EventID.IsZero() {
		attrs[AttrEventID] = attr{"String", httpValue(s.EventID)}
	}
	for _, h := range s.SignatureHeaders {
		attrs[AttributeName(h)] = attr{"String", httpValue(Selector{Kind: KindHeader, Name: h})}
	}
	b, err := json.Marshal(attrs) // sorted keys: a stable value
	if err != nil {
		panic(err) // plain strings: cannot happen
	}
	p["MessageAttributes"] = string(b)
	return p
}

// HTTPRequiredHeaders are the headers a request to the source's HTTP API
// route must carry: every header its mapping names. A request without one
// is not queued (API Gateway cannot resolve the parameter).
func (s Spec) HTTPRequiredHeaders() []string {
	out := []string{"Content-Type"}
	for _, sel := range []Selector{s.GroupBy, s.EventID} {
		if sel.Kind == KindHeader {
			out = append(out, sel.Name)
		}
	}
	return append(out, s.SignatureHeaders...)
}

// CheckHTTP reports, as (field, reason) pairs, the parts of the spec an
// HTTP API cannot honour as the REST contract does. field is the source's
// config field ("groupBy").
func (s Spec) CheckHTTP() [][2]string {
	var out [][2]string
	if s.GroupBy.Kind == KindBody {
		out = append(out, [2]string{"groupBy", fmt.Sprintf(
			"%q reads the body, which an HTTP API cannot do as the REST contract promises: it has no fallback when the value is absent "+
				"(many senders' payloads lack such fields on some events), so the webhook would be refused instead of grouped under the source, "+
				"and it reads only the first %d KB of a body; use source or header:<Name>, or hookline:ingress: rest",
			s.GroupBy, HTTPBodyLimit/1024)})
	}
	return out
}

// HTTPDifference is one row of the README's contract table: how the two
// ingresses treat one part of a request.
type HTTPDifference struct{ Topic, REST, HTTP string }

// HTTPDifferences is where the HTTP API's parameter mapping cannot match the
// REST template. The README's table says the same; a test keeps them equal.
var HTTPDifferences = []HTTPDifference{
	{"Header lookup", "any case, in the template", "any case (`${request.header.Name}`); repeated headers comma-joined"},
	{"A named header or body value is absent", "group falls back to the source name; no event id means content-based deduplication",
		"the request is not queued (API Gateway answers with an error): every value the mapping names must be present"},
	{"Group or event id SQS would refuse (space, non-ASCII, over 128)", "group id URL-encoded and cut to 128; such an event id is dropped (content-based deduplication)",
		"passed as sent: SQS refuses the message, and its error reaches the sender"},
	{"`groupBy: body:`", "JSONPath on the whole body", "refused by the config: no fallback, and only the first 100 KB are read"},
	{"`eventId: body:`", "JSONPath on the whole body", "JSONPath on the first 100 KB; the id must be present"},
	{"A `\"` or `\\` in a header carried as an attribute", "escaped", "not escaped: breaks the attributes' JSON, the request is not queued"},
	{"Content types", "only `contentTypes` reach SQS (415 otherwise)", "any content type reaches SQS; the consumer refuses the others (dead-letter with the reason)"},
	{"Missing signature or delivery-id header (GitHub's `X-GitHub-Delivery`, Shopify's `X-Shopify-Webhook-Id`)", "400 from the request validator",
		"not queued when the mapping names it (every signature header; the delivery id as the scheme's default `eventId`); with another `eventId` an HTTP API cannot require the delivery id, and the consumer keys idempotency on the body's hash"},
	{"Static text mixed with values", "yes", "yes, inside the attributes' JSON (`\"${request.header.X}\"`)"},
	{"Response to the sender", "`202 {\"status\":\"accepted\",\"messageId\":…,\"requestId\":…}`; JSON errors (400/413/429/500)",
		"`202` (SQS's 200 remapped by the integration's response parameters) with SQS's own SendMessage answer as the body, unchanged (a response mapping can set the status and headers, never the body; AWS's sample shows XML `SendMessageResponse` with `MessageId`, `MD5OfMessageBody`, `SequenceNumber`); the request id in the `apigw-requestid` header; SQS's refusals with SQS's status and error body"},
	{"Body larger than SQS accepts (256 KiB with attributes)", "`413` JSON, chosen by the integration response's selection pattern",
		"no `413`: SQS's `400` with its own error body (the message is too long), passed through"},
	{"Queue ARN or account id in an error body", "no: SQS's access and server errors are answered with a fixed text; only an unrecognised 400 carries SQS's message",
		"possible: SQS's error text can name the queue or the send role, and no HTTP API mapping can rewrite a body; SQS refuses a well-formed request only when it is too large or an id is invalid, but a broken send role's `AccessDenied` would name both"},
}

// AcceptsContentType reports whether a request's Content-Type header (with
// any parameters) names one of the accepted media types, as a REST API's
// request templates select one: by the media type, case-insensitively.
func AcceptsContentType(header string, accepted []string) bool {
	mt, _, _ := strings.Cut(header, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	for _, a := range accepted {
		if mt == a {
			return true
		}
	}
	return false
}

// HTTPRefusal says why an HTTP API would not queue req for this source, as
// far as the contract can tell ("" when it would): a value its mapping names
// is absent, a group or deduplication id SQS refuses, or a header carried as
// an attribute that would break the attributes' JSON. hookline invoke
// checks a local request with it.
func (s Spec) HTTPRefusal(req Request) string {
	for _, h := range s.HTTPRequiredHeaders() {
		v := req.Select(Selector{Kind: KindHeader, Name: h})
		if v == "" {
			return "header " + h + " is missing: the HTTP API's mapping names it"
		}
		if strings.ContainsAny(v, `"\`) {
			return "header " + h + " holds a quote or backslash, which breaks the message attributes' JSON"
		}
	}
	if s.EventID.Kind == KindBody && req.Select(s.EventID) == "" {
		return "the body has no " + s.EventID.Name + ": the HTTP API's mapping names it as the event id"
	}
	if s.GroupBy.Kind == KindHeader {
		if v := req.Select(s.GroupBy); !ValidID(v) {
			return fmt.Sprintf("group id %q is not one SQS accepts (1-128 printable ASCII characters, no space)", v)
		}
	}
	if !s.EventID.IsZero() {
		if v := req.Select(s.EventID); !ValidID(v) {
			return fmt.Sprintf("event id %q is not a deduplication id SQS accepts (1-128 printable ASCII characters, no space)", v)
		}
	}
	return ""
}
