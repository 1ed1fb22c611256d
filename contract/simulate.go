package contract

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/valyala/fastjson"
)

// Request is an incoming webhook request, as API Gateway sees it.
type Request struct {
	// Headers as sent; names in any case.
	Headers    map[string]string
	Body       []byte
	RequestID  string
	SourceIP   string
	ReceivedAt time.Time
}

func (r Request) header(name string) string {
	for k, v := range r.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// Select evaluates a selector against a request the way the request
// template does: headers case-insensitively, body paths over JSON; "" when
// the value is missing.
func (r Request) Select(sel Selector) string {
	switch sel.Kind {
	case KindHeader:
		return r.header(sel.Name)
	case KindBody:
		return jsonPath(r.Body, sel.Name)
	default:
		return ""
	}
}

// Simulate builds the SQS record that the request template and SQS together
// would hand the handler for req: the same group id, deduplication id and
// message attributes. hookline's local tools (invoke) and tests use it in
// place of API Gateway.
func (s Spec) Simulate(req Request, messageID string) events.SQSMessage {
	group := s.Source
	if s.GroupBy.Kind != KindSource {
		group = s.GroupID(req.Select(s.GroupBy))
	}
	eventID := ""
	if !s.EventID.IsZero() {
		eventID = req.Select(s.EventID)
	}
	dedup := DeduplicationID(eventID)
	if dedup == "" { // content-based deduplication: SHA-256 of the body
		sum := sha256.Sum256(req.Body)
		dedup = hex.EncodeToString(sum[:])
	}
	attrs := map[string]events.SQSMessageAttribute{}
	put := func(name, v string) {
		if v != "" {
			attrs[name] = events.SQSMessageAttribute{StringValue: &v, DataType: "String"}
		}
	}
	put(AttrSource, s.Source)
	put(AttrRequestID, req.RequestID)
	put(AttrReceivedAt, strconv.FormatInt(req.ReceivedAt.UnixMilli(), 10))
	put(AttrSourceIP, req.SourceIP)
	put(AttrContentType, req.header("Content-Type"))
	if !s.EventID.IsZero() {
		put(AttrEventID, eventID)
	}
	for _, h := range s.SignatureHeaders {
		put(AttributeName(h), req.header(h))
	}
	return events.SQSMessage{
		MessageId: messageID,
		Body:      string(req.Body),
		Attributes: map[string]string{
			"MessageGroupId":          group,
			"MessageDeduplicationId":  dedup,
			"ApproximateReceiveCount": "1",
			"SentTimestamp":           strconv.FormatInt(req.ReceivedAt.UnixMilli(), 10),
		},
		MessageAttributes: attrs,
		EventSource:       "aws:sqs",
	}
}

// jsonPath evaluates the $.a.b[0] subset of JSONPath the way API Gateway's
// $input.path renders in a template: strings unquoted, numbers and booleans
// as text, an object as Java's map text ({a=1, b=x}) and an array as a
// list's ([1, x]), in document order; "" when missing, null or not JSON.
func jsonPath(body []byte, path string) string {
	var p fastjson.Parser
	v, err := p.ParseBytes(body)
	if err != nil {
		return ""
	}
	rest := strings.TrimPrefix(path, "$")
	for rest != "" && v != nil {
		switch rest[0] {
		case '.':
			end := strings.IndexAny(rest[1:], ".[")
			key := rest[1:]
			if end >= 0 {
				key, rest = rest[1:1+end], rest[1+end:]
			} else {
				rest = ""
			}
			if v.Type() != fastjson.TypeObject {
				return ""
			}
			v = v.Get(key)
		case '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return ""
			}
			i, err := strconv.Atoi(rest[1:end])
			rest = rest[end+1:]
			if err != nil || v.Type() != fastjson.TypeArray {
				return ""
			}
			arr, _ := v.Array()
			if i >= len(arr) {
				return ""
			}
			v = arr[i]
		default:
			return ""
		}
	}
	if v == nil || v.Type() == fastjson.TypeNull {
		return ""
	}
	return javaText(v)
}

// javaText is how a JSON value prints on the JVM (Java's toString of the
// map, list, string, number or boolean a JSONPath lookup returns).
func javaText(v *fastjson.Value) string {
	switch v.Type() {
	case fastjson.TypeString:
		return string(v.GetStringBytes())
	case fastjson.TypeObject:
		var parts []string
		o, _ := v.Object()
		o.Visit(func(k []byte, x *fastjson.Value) { parts = append(parts, string(k)+"="+javaText(x)) })
		return "{" + strings.Join(parts, ", ") + "}"
	case fastjson.TypeArray:
		arr, _ := v.Array()
		parts := make([]string, len(arr))
		for i, x := range arr {
			parts[i] = javaText(x)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case fastjson.TypeNull:
		return "null"
	default:
		return v.String()
	}
}
