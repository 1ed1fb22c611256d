package contract

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/valyala/fastjson"
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
	{"A `\"` or `\\` in a header or body value carried as an attribute", "escaped",
		"not escaped (API Gateway's parameter mapping has no escaping): a stray one breaks the attributes' JSON and the request is not queued; a crafted one can add attributes or a key twice, so the consumer never trusts `hookline-received-at` (SQS's `SentTimestamp` or a sealed re-send time instead) and drops a record carrying attributes the edge does not write"},
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

// HTTPRefusal says why an HTTP API would not queue req for this source
// ("" when it would): SimulateHTTP's refusal.
func (s Spec) HTTPRefusal(req Request) string {
	_, why := s.SimulateHTTP(req, "", FirstKeyWins)
	return why
}

// DuplicateKeys is how a JSON reader treats an object key that appears
// twice. AWS does not document which one SQS keeps when an HTTP API's
// MessageAttributes text carries a key twice, so the simulation runs both.
type DuplicateKeys int

// The two ways a duplicate key can be read.
const (
	FirstKeyWins DuplicateKeys = iota
	LastKeyWins
)

func (d DuplicateKeys) String() string {
	if d == LastKeyWins {
		return "the last duplicate kept"
	}
	return "the first duplicate kept"
}

// ResolveHTTP substitutes an HTTP API parameter mapping's ${...} values in
// text as AWS documents the mapping: ${request.header.Name}
// case-insensitively, ${request.body.path} as a JSONPath over the body's
// first 100 KB, ${context.*} from the request context, every value inserted
// as plain text, nothing escaped. missing names the first value the request
// lacks (API Gateway then fails the request).
func ResolveHTTP(text string, req Request) (out, missing string) {
	var b strings.Builder
	for {
		i := strings.Index(text, "${")
		if i < 0 {
			b.WriteString(text)
			break
		}
		j := strings.IndexByte(text[i:], '}')
		if j < 0 {
			b.WriteString(text)
			break
		}
		b.WriteString(text[:i])
		ref := text[i+2 : i+j]
		text = text[i+j+1:]
		var v string
		switch {
		case strings.HasPrefix(ref, "request.header."):
			v = req.Select(Selector{Kind: KindHeader, Name: strings.TrimPrefix(ref, "request.header.")})
		case strings.HasPrefix(ref, "request.body"):
			body := req.Body
			if len(body) > HTTPBodyLimit {
				body = body[:HTTPBodyLimit]
			}
			v = jsonPath(body, "$"+strings.TrimPrefix(ref, "request.body"))
		case ref == "context.requestId":
			v = req.RequestID
		case ref == "context.requestTimeEpoch":
			v = strconv.FormatInt(req.ReceivedAt.UnixMilli(), 10)
		case ref == "context.identity.sourceIp":
			v = req.SourceIP
		}
		if v == "" && missing == "" {
			missing = ref
		}
		b.WriteString(v)
	}
	return b.String(), missing
}

// SimulateHTTP is what an HTTP API's SQS-SendMessage integration and SQS
// together would hand the handler for req: every mapped value substituted
// as text (API Gateway escapes nothing), the MessageAttributes text read as
// JSON with dup's treatment of a duplicate key. A header (or body value)
// holding a quote can so add attributes — a second hookline-received-at, or
// any other name — and the record shows them, as AWS would deliver them.
// refused says why the request would not be queued ("" when it would): a
// value the mapping names is absent, the attributes are not JSON, or SQS
// would refuse the call.
func (s Spec) SimulateHTTP(req Request, messageID string, dup DuplicateKeys) (rec events.SQSMessage, refused string) {
	p := s.HTTPRequestParameters("local")
	resolved := map[string]string{}
	for _, k := range []string{"MessageGroupId", "MessageDeduplicationId", "MessageAttributes"} {
		if p[k] == "" {
			continue
		}
		v, missing := ResolveHTTP(p[k], req)
		if missing != "" {
			what := "$" + missing
			switch {
			case strings.HasPrefix(missing, "request.header."):
				what = "header " + strings.TrimPrefix(missing, "request.header.") + " is missing"
			case strings.HasPrefix(missing, "request.body"):
				what = "the body has no $" + strings.TrimPrefix(missing, "request.body") + " (in its first 100 KB)"
			}
			return rec, what + ": the HTTP API's mapping names it, so API Gateway cannot build the SendMessage call"
		}
		resolved[k] = v
	}
	if g := resolved["MessageGroupId"]; !ValidID(g) {
		return rec, fmt.Sprintf("group id %q is not one SQS accepts (1-128 printable ASCII characters, no space): SQS refuses the message", g)
	}
	if d, ok := resolved["MessageDeduplicationId"]; ok && !ValidID(d) {
		return rec, fmt.Sprintf("event id %q is not a deduplication id SQS accepts (1-128 printable ASCII characters, no space): SQS refuses the message", d)
	}
	attrs, err := readAttributesJSON(resolved["MessageAttributes"], dup)
	if err != nil {
		return rec, "a value placed in the message attributes breaks their JSON (API Gateway does not escape it): " + err.Error()
	}
	if len(attrs) > MaxMessageAttributes {
		return rec, fmt.Sprintf("%d message attributes: SQS refuses more than %d", len(attrs), MaxMessageAttributes)
	}
	dedup := resolved["MessageDeduplicationId"]
	if dedup == "" { // content-based deduplication: SHA-256 of the body
		sum := sha256.Sum256(req.Body)
		dedup = hex.EncodeToString(sum[:])
	}
	return events.SQSMessage{
		MessageId: messageID,
		Body:      string(req.Body),
		Attributes: map[string]string{
			"MessageGroupId":          resolved["MessageGroupId"],
			"MessageDeduplicationId":  dedup,
			"ApproximateReceiveCount": "1",
			"SentTimestamp":           strconv.FormatInt(req.ReceivedAt.UnixMilli(), 10),
		},
		MessageAttributes: attrs,
		EventSource:       "aws:sqs",
	}, ""
}

// readAttributesJSON reads SendMessage's MessageAttributes text: an object
// of name → {"DataType", "StringValue"}, a duplicate name read as dup says.
func readAttributesJSON(text string, dup DuplicateKeys) (map[string]events.SQSMessageAttribute, error) {
	var p fastjson.Parser
	v, err := p.Parse(text)
	if err != nil {
		return nil, err
	}
	obj, err := v.Object()
	if err != nil {
		return nil, err
	}
	out := map[string]events.SQSMessageAttribute{}
	var bad error
	obj.Visit(func(k []byte, av *fastjson.Value) {
		name := string(k)
		if _, seen := out[name]; seen && dup == FirstKeyWins {
			return
		}
		dt, sv := av.GetStringBytes("DataType"), av.Get("StringValue")
		if sv == nil || sv.Type() != fastjson.TypeString || string(dt) != "String" {
			bad = fmt.Errorf("attribute %s is not a String value", name)
			return
		}
		b, _ := sv.StringBytes()
		val := string(b)
		out[name] = events.SQSMessageAttribute{DataType: "String", StringValue: &val}
	})
	return out, bad
}
