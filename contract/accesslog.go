package contract

import (
	"encoding/json"
	"strings"
)

// AccessLogField is one field of the stage's JSON access log line: its name
// in the line and the $context variable API Gateway fills it with.
type AccessLogField struct {
	Name, Variable string
	// Sample is a value of the usual length, for pricing the line.
	Sample string
}

// AccessLogFields are the fields of an ingress's access log line: only
// what the log queries of docs/operations.md read (the alarms read API
// Gateway's own metrics, not these logs). API Gateway requires the request
// id in the format. An empty variable is written as "-".
func AccessLogFields(ingress string) []AccessLogField {
	if ingress == IngressHTTP {
		return []AccessLogField{
			{"requestId", "$context.requestId", "Kx9vLhT6oAMEVnQ="},
			{"ip", "$context.identity.sourceIp", "140.82.115.241"},
			{"route", "$context.routeKey", "POST /github"},
			{"status", "$context.status", "202"},
			{"error", "$context.error.message", "-"},
			{"integrationError", "$context.integrationErrorMessage", "-"},
		}
	}
	return []AccessLogField{
		{"requestId", "$context.requestId", "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"},
		{"ip", "$context.identity.sourceIp", "140.82.115.241"},
		{"route", "$context.resourcePath", "/github"},
		{"status", "$context.status", "200"},
		{"error", "$context.error.message", "-"},
		{"integrationError", "$context.integration.error", "-"},
		{"apiKeyId", "$context.identity.apiKeyId", "-"},
	}
}

// AccessLogFormat is the stage's access log format for ingress: a JSON
// object of AccessLogFields.
func AccessLogFormat(ingress string) string {
	return accessLogLine(ingress, func(f AccessLogField) string { return f.Variable })
}

// AccessLogSample is a line the format writes for an accepted webhook, each
// field at its usual length (the route of source name): what the cost model
// prices per request.
func AccessLogSample(ingress, source string) string {
	return accessLogLine(ingress, func(f AccessLogField) string {
		if f.Name == "route" {
			return strings.Replace(f.Sample, "github", source, 1)
		}
		return f.Sample
	})
}

func accessLogLine(ingress string, value func(AccessLogField) string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, f := range AccessLogFields(ingress) {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.Name)
		v, _ := json.Marshal(value(f))
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.String()
}
