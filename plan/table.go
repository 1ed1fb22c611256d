package plan

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
)

// highlights are the inputs worth a glance per resource type: the settings
// the guard rails are about.
var highlights = map[string][]string{
	"aws:sqs/queue:Queue":                                    {"name", "fifoQueue", "contentBasedDeduplication", "visibilityTimeoutSeconds", "messageRetentionSeconds", "sqsManagedSseEnabled", "redrivePolicy"},
	"aws:apigateway/restApi:RestApi":                         {"name", "disableExecuteApiEndpoint", "endpointConfiguration"},
	"aws:apigateway/method:Method":                           {"httpMethod", "authorization", "apiKeyRequired", "authorizationScopes"},
	"aws:apigateway/integration:Integration":                 {"type", "uri", "passthroughBehavior"},
	"aws:apigateway/integrationResponse:IntegrationResponse": {"statusCode", "selectionPattern"},
	"aws:apigateway/deployment:Deployment":                   {"triggers"},
	"aws:apigateway/stage:Stage":                             {"stageName", "xrayTracingEnabled"},
	"aws:apigateway/methodSettings:MethodSettings":           {"methodPath", "settings"},
	"aws:apigateway/usagePlan:UsagePlan":                     {"name", "throttleSettings", "quotaSettings"},
	"aws:apigateway/domainName:DomainName":                   {"domainName", "securityPolicy", "endpointConfiguration"},
	"aws:apigateway/resource:Resource":                       {"pathPart"},
	"aws:lambda/function:Function":                           {"name", "runtime", "architectures", "memorySize", "timeout", "tracingConfig", "code"},
	"aws:lambda/eventSourceMapping:EventSourceMapping":       {"batchSize", "functionResponseTypes", "scalingConfig"},
	"aws:cloudwatch/logGroup:LogGroup":                       {"name", "retentionInDays"},
	"aws:cloudwatch/metricAlarm:MetricAlarm":                 {"metricName", "threshold", "dimensions"},
	"aws:dynamodb/table:Table":                               {"name", "hashKey", "ttl"},
	"aws:acm/certificate:Certificate":                        {"domainName", "validationMethod"},
	"aws:route53/record:Record":                              {"name", "type"},
	"aws:iam/role:Role":                                      {"name"},
	"aws:sns/topicSubscription:TopicSubscription":            {"protocol", "endpoint"},
}

const maxValue = 72

// WriteTable prints the plan for people: one line per resource with the
// settings that matter, then the outputs and the policy findings.
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "TYPE\tNAME\tSETTINGS\n")
	for _, res := range r.Resources {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", res.Type, res.Name, settings(res))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d resources for stack %s (%s)\n", len(r.Resources), r.Stack, summary(r.CountByType()))

	fmt.Fprintf(w, "\nOutputs:\n")
	for _, k := range slices.Sorted(maps.Keys(r.Outputs)) {
		fmt.Fprintf(w, "  %s: %s\n", k, compact(r.Outputs[k], 0))
	}
	if c := r.Cost; c != nil {
		fmt.Fprintf(w, "\nCost: about $%.2f/month at %.4g webhooks/s of %.4g KB per source (%d groups), mostly %s (hookline cost for details)\n",
			c.Total, c.Traffic.RPS, c.Traffic.BodyKB, c.Traffic.Groups, c.Dominant)
	}
	if len(r.Policies) == 0 {
		fmt.Fprintf(w, "\nPolicies: no violations\n")
	} else {
		fmt.Fprintf(w, "\nPolicies: %d violations\n", len(r.Policies))
		for _, p := range r.Policies {
			fmt.Fprintf(w, "  [%s] %s %s\n      %s\n", p.Level, p.Policy, p.URN, p.Message)
		}
	}
	return nil
}

// WriteJSON prints the plan in its JSON shape.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

func settings(res Resource) string {
	var parts []string
	for _, k := range highlights[res.Type] {
		if v, ok := res.Inputs[k]; ok {
			parts = append(parts, k+"="+compact(v, maxValue))
		}
	}
	return strings.Join(parts, " ")
}

func compact(v any, limit int) string {
	var s string
	if str, ok := v.(string); ok {
		s = str
	} else {
		b, _ := json.Marshal(v)
		s = string(b)
	}
	if limit > 0 && len(s) > limit {
		s = s[:limit-1] + "…"
	}
	return s
}

func summary(counts map[string]int) string {
	keys := slices.Sorted(maps.Keys(counts))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		short := k[strings.LastIndex(k, ":")+1:]
		parts = append(parts, fmt.Sprintf("%d %s", counts[k], short))
	}
	return strings.Join(parts, ", ")
}
