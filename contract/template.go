package contract

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Message attribute names written by the request template (and read by Decode).
const (
	AttrSource      = "hookline-source"
	AttrRequestID   = "hookline-request-id"
	AttrReceivedAt  = "hookline-received-at"
	AttrSourceIP    = "hookline-source-ip"
	AttrContentType = "hookline-content-type"
	AttrEventID     = "hookline-event-id"
	// AttrFailureReason is added by the handler when it moves a rejected
	// message to the DLQ: why it was rejected.
	AttrFailureReason = "hookline-failure-reason"
)

// MaxMessageAttributes is SQS's limit of message attributes per message.
const MaxMessageAttributes = 10

// MaxRequestAttributes is how many attributes the request template may use:
// one is kept free for AttrFailureReason.
const MaxRequestAttributes = MaxMessageAttributes - 1

// BaseAttributes are the metadata attributes every message carries, in order.
var BaseAttributes = []string{AttrSource, AttrRequestID, AttrReceivedAt, AttrSourceIP, AttrContentType}

// Spec is everything the contract needs to know about one source.
type Spec struct {
	// Source is the source name: the URL path segment and the fallback group.
	Source string
	// GroupBy selects the MessageGroupId.
	GroupBy Selector
	// EventID selects the sender's event id; zero means content-based dedup only.
	EventID Selector
	// SignatureHeaders are the request headers the handler needs to verify.
	SignatureHeaders []string
	// DeliveryHeaders are the delivery-id headers the scheme's senders
	// always send (Scheme.DeliveryHeaders): required at the edge, so a
	// captured delivery is not accepted without its id.
	DeliveryHeaders []string
	// ContentTypes are the accepted request content types; anything else is
	// refused with 415 by API Gateway (passthrough NEVER).
	ContentTypes []string
}

var sourceNameRE = lazyRE(`^[a-z][a-z0-9-]{0,29}$`)

// ValidSourceName reports whether name can be a source: a lower-case URL path
// segment that also fits in every AWS resource name derived from it.
func ValidSourceName(name string) bool { return sourceNameRE().MatchString(name) }

var contentTypeRE = lazyRE(`^[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*$`)

// Validate checks the spec against the contract's limits.
func (s Spec) Validate() error {
	if !ValidSourceName(s.Source) {
		return fmt.Errorf("source name %q must match %s", s.Source, sourceNameRE())
	}
	if s.GroupBy.IsZero() {
		return fmt.Errorf("source %s: groupBy is required", s.Source)
	}
	if len(s.ContentTypes) == 0 {
		return fmt.Errorf("source %s: at least one content type is required", s.Source)
	}
	for _, ct := range s.ContentTypes {
		if !contentTypeRE().MatchString(ct) {
			return fmt.Errorf("source %s: content type %q must be a lower-case type/subtype without parameters", s.Source, ct)
		}
	}
	if n := len(s.Attributes()); n > MaxRequestAttributes {
		return fmt.Errorf("source %s: %d message attributes needed, at most %d (SQS allows %d, one is kept for the failure reason)", s.Source, n, MaxRequestAttributes, MaxMessageAttributes)
	}
	return nil
}

// Attributes lists the message attribute names a message of this source may
// carry, in template order.
func (s Spec) Attributes() []string {
	out := append([]string(nil), BaseAttributes...)
	if !s.EventID.IsZero() {
		out = append(out, AttrEventID)
	}
	for _, h := range s.SignatureHeaders {
		out = append(out, AttributeName(h))
	}
	return out
}

// vtlValue renders a VTL statement that sets $v to the selected value, or
// leaves it empty. $v is reset first: in API Gateway's Velocity, #set with a
// null right-hand side keeps the previous value.
func vtlValue(sel Selector) string {
	switch sel.Kind {
	case KindHeader:
		// Header names arrive in any case (HTTP/2 clients send lower case):
		// compare every received name case-insensitively.
		return `#set($v = "")#foreach($h in $input.params().header.keySet())#if($h.equalsIgnoreCase("` +
			sel.Name + `"))#set($v = $input.params().header.get($h))#end#end##`
	case KindBody:
		return `#set($v = "")#set($v = $input.path('` + sel.Name + `'))##`
	default:
		return `#set($v = "")##`
	}
}

// attribute renders one optional String message attribute from $v. SQS
// refuses empty attribute values, so an empty $v adds nothing; $n numbers the
// attributes that are present.
func attribute(name string) string {
	return `#if("$!v" != "")#set($n = $n + 1)` +
		`&MessageAttribute.${n}.Name=` + name +
		`&MessageAttribute.${n}.Value.DataType=String` +
		`&MessageAttribute.${n}.Value.StringValue=$util.urlEncode("$v")#end##`
}

// RequestTemplate renders the API Gateway mapping template that turns a
// request into the form body of an SQS SendMessage call (query protocol). Every
// line ends in "##" so the template emits one line: a stray newline would
// become part of a form value.
func (s Spec) RequestTemplate() string {
	var b strings.Builder
	line := func(l string) { b.WriteString(l); b.WriteByte('\n') }
	line(`## hookline ingest contract: source ` + s.Source + `. Generated; do not edit.`)
	line(`#set($n = 0)##`)
	// Group id: the selected value, else the source name; a value SQS
	// would refuse is URL-encoded into its alphabet and cut to 128 (see GroupID).
	switch s.GroupBy.Kind {
	case KindSource:
		line(`#set($group = "` + s.Source + `")##`)
	default:
		line(vtlValue(s.GroupBy))
		line(`#set($group = "$!v")#if($group == "")#set($group = "` + s.Source + `")##`)
		line(`#elseif(!$group.matches("` + idPattern + `"))#set($group = $util.urlEncode($group))##`)
		line(`#if($group.length() > ` + strconv.Itoa(MaxIDLength) + `)#set($group = $group.substring(0, ` + strconv.Itoa(MaxIDLength) + `))#end#end##`)
	}
	line(`Action=SendMessage##`)
	line(`&MessageBody=$util.urlEncode($input.body)##`)
	line(`&MessageGroupId=$util.urlEncode($group)##`)
	if !s.EventID.IsZero() {
		line(vtlValue(s.EventID))
		line(`#set($eventId = "$!v")##`)
		// An id SQS would refuse is never cut (two events could collide):
		// the message falls back to content-based deduplication.
		line(`#if($eventId.matches("` + idPattern + `"))&MessageDeduplicationId=$util.urlEncode($eventId)#end##`)
	}
	// Metadata attributes.
	line(`#set($v = "` + s.Source + `")##`)
	line(attribute(AttrSource))
	line(`#set($v = "$context.requestId")##`)
	line(attribute(AttrRequestID))
	line(`#set($v = "$context.requestTimeEpoch")##`)
	line(attribute(AttrReceivedAt))
	line(`#set($v = "$context.identity.sourceIp")##`)
	line(attribute(AttrSourceIP))
	line(vtlValue(Selector{Kind: KindHeader, Name: "Content-Type"}))
	line(attribute(AttrContentType))
	if !s.EventID.IsZero() {
		line(`#set($v = "$eventId")##`)
		line(attribute(AttrEventID))
	}
	for _, h := range s.SignatureHeaders {
		line(vtlValue(Selector{Kind: KindHeader, Name: h}))
		line(attribute(AttributeName(h)))
	}
	return b.String()
}

// RequestTemplates maps every accepted content type to the request template.
func (s Spec) RequestTemplates() map[string]string {
	t := s.RequestTemplate()
	out := make(map[string]string, len(s.ContentTypes))
	for _, ct := range s.ContentTypes {
		out[ct] = t
	}
	return out
}

// RequiredHeaders are the method request headers API Gateway's request
// validator insists on (a request without them is refused with 400 before it
// reaches SQS): the scheme's signature headers and the delivery-id headers
// its senders always send.
func (s Spec) RequiredHeaders() []string {
	out := append([]string(nil), s.SignatureHeaders...)
	for _, h := range s.DeliveryHeaders {
		if !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, h) }) {
			out = append(out, h)
		}
	}
	sort.Strings(out)
	return out
}

// The errors a sender reads when SQS refuses what it sent.
const (
	TooLargeError          = "payload too large: an SQS message holds at most 262144 bytes (256 KiB), body and message attributes together"
	InvalidCharactersError = "the body contains characters SQS cannot carry: only XML 1.0 characters are allowed (#x9, #xA, #xD, #x20-#xD7FF, #xE000-#xFFFD, #x10000-#x10FFFF)"
	EmptyBodyError         = "the body is empty: an SQS message needs at least one character"
)

// IntegrationResponse is how one class of SQS answers becomes an HTTP response.
type IntegrationResponse struct {
	// StatusCode is the status returned to the sender (a template may override it).
	StatusCode string
	// SelectionPattern is matched against SQS's HTTP status; empty is the default.
	SelectionPattern string
	// Template is the application/json response mapping template.
	Template string
}

// ResponseContentType is the content type of every response hookline writes.
const ResponseContentType = "application/json"

// MethodStatusCodes are the status codes the method declares, including the
// ones the 400 template may switch to.
var MethodStatusCodes = []string{"202", "400", "413", "429", "500"}

// IntegrationResponses renders the responses: 202 with the SQS message id on
// success; SQS's 400s become a JSON 400, or 413 for an oversized message, or
// 429 when SQS throttles; every other SQS status is a JSON 500 (it is our
// configuration, not the sender, that is wrong). Every body holds the API
// Gateway request id.
func IntegrationResponses() []IntegrationResponse {
	return []IntegrationResponse{
		{
			StatusCode: "202",
			Template: `{"status":"accepted",` +
				`"messageId":"$util.escapeJavaScript($input.path('$.SendMessageResponse.SendMessageResult.MessageId'))",` +
				`"requestId":"$context.requestId"}`,
		},
		{
			StatusCode:       "400",
			SelectionPattern: `400`,
			Template: strings.Join([]string{
				`#set($code = "$!input.path('$.Error.Code')")##`,
				`#set($msg = "$!input.path('$.Error.Message')")##`,
				`#if($msg.contains("must be shorter than") || $code.contains("TooLong"))##`,
				`#set($context.responseOverride.status = 413)##`,
				`{"status":"rejected","error":"` + TooLargeError + `","requestId":"$context.requestId"}##`,
				`#elseif($code.contains("Throttl") || $code.contains("OverLimit"))##`,
				`#set($context.responseOverride.status = 429)##`,
				`{"status":"throttled","error":"queue is throttling; retry later","requestId":"$context.requestId"}##`,
				`#elseif($code.contains("InvalidMessageContents") || $msg.contains("Invalid binary character"))##`,
				`{"status":"rejected","error":"` + InvalidCharactersError + `","requestId":"$context.requestId"}##`,
				`#elseif($msg.contains("MessageBody"))##`,
				`{"status":"rejected","error":"` + EmptyBodyError + `","requestId":"$context.requestId"}##`,
				`#else##`,
				// escapeJavaScript writes ' as \', which JSON does not allow:
				// AWS's reference turns it back with this replaceAll.
				`{"status":"rejected","error":"$util.escapeJavaScript($msg).replaceAll("\\'","'")","requestId":"$context.requestId"}##`,
				`#end`,
			}, "\n"),
		},
		{
			StatusCode:       "500",
			SelectionPattern: `(4(0[1-9]|[1-9][0-9])|5[0-9]{2})`,
			Template:         `{"status":"error","error":"the webhook could not be queued","requestId":"$context.requestId"}`,
		},
	}
}

// GatewayResponses are the bodies API Gateway itself answers with (auth
// failures, 415 for an unaccepted content type, 413 over 10 MB, throttling,
// validation): JSON holding the request id, keyed by gateway response type.
func GatewayResponses() map[string]string {
	body := `{"status":"error","error":$context.error.messageString,"requestId":"$context.requestId"}`
	return map[string]string{"DEFAULT_4XX": body, "DEFAULT_5XX": body}
}
