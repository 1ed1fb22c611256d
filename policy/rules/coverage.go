package rules

import (
	"fmt"
	"sort"
	"strings"
)

// CouldNotJudge is the advisory rule that makes the gaps of a preview
// visible: a mandatory rule that meets a value still unknown at preview
// skips it rather than guess, and this rule names each such value, the rule
// that needed it and why it is unknown. The offline plan knows every value,
// so there it never reports.
const CouldNotJudge = "could-not-judge"

// need is one input a mandatory rule reads to judge a resource type. A
// reference (an ARN, URL or name of another resource) that is unknown at
// preview still counts as judged when the engine's property dependencies
// name the resource it refers to: the rules follow those.
type need struct {
	typ, prop string
	ref       bool
	// consumed limits the need to queues and functions an event source
	// mapping links (visibility-timeout reads nothing of the others).
	consumed bool
}

// needs lists, per mandatory rule, the inputs it cannot judge without. Keep
// it beside the rules: a rule that starts reading another input adds it here.
var needs = map[string][]need{
	"fifo-ordering":     {{TypeQueue, "fifoQueue", false, false}, {TypeQueue, "contentBasedDeduplication", false, false}},
	"max-receive-count": {{TypeQueue, "redrivePolicy", false, false}},
	"tls-only": {{TypeDomainName, "securityPolicy", false, false}, {TypeDomainName, "endpointConfiguration", false, false},
		{TypeDomainName, "regionalCertificateArn", true, false}, {TypeQueuePolicy, "policy", false, false},
		{TypeDomainNameV2, "domainNameConfiguration", false, false},
		{TypeListener, "protocol", false, false}, {TypeListener, "sslPolicy", false, false}, {TypeListener, "defaultActions", false, false}},
	"partial-batch-responses": {{TypeMapping, "functionResponseTypes", false, false}, {TypeMapping, "eventSourceArn", true, false}},
	"authorized-methods": {{TypeMethod, "authorization", false, false}, {TypeMethod, "apiKeyRequired", false, false}, {TypeMethod, "operationName", false, false},
		{TypeRouteV2, "authorizationType", false, false}, {TypeRouteV2, "operationName", false, false}},
	"dlq-required": {{TypeQueue, "redrivePolicy", false, false}, {TypeQueue, "fifoQueue", false, false},
		{TypeQueue, "messageRetentionSeconds", false, false}},
	"visibility-timeout": {{TypeMapping, "eventSourceArn", true, false}, {TypeMapping, "functionName", true, false},
		{TypeQueue, "visibilityTimeoutSeconds", false, true}, {TypeFunction, "timeout", false, true}},
	"tls-only-coverage": {{TypeQueuePolicy, "queueUrl", true, false}, {TypeQueuePolicy, "policy", false, false},
		{TypeRestAPI, "disableExecuteApiEndpoint", false, false}, {TypeHTTPAPI, "disableExecuteApiEndpoint", false, false}},
	"stage-throttling": {{TypeStageV2, "defaultRouteSettings", false, false}, {TypeStage, "stageName", false, false},
		{TypeMethodSettings, "settings", false, false}},
	"throttle-bound": {{TypeStageV2, "defaultRouteSettings", false, false}, {TypeStageV2, "routeSettings", false, false},
		{TypeMethodSettings, "settings", false, false}},
	"secret-scope": {{TypeRolePolicy, "policy", false, false}},
	"archive-protected": {{TypeBucketSSE, "bucket", true, false}, {TypeBucketSSE, "rules", false, false},
		{TypeBucketPAB, "bucket", true, false}, {TypeBucketPAB, "blockPublicAcls", false, false}, {TypeBucketPAB, "blockPublicPolicy", false, false},
		{TypeBucketPAB, "ignorePublicAcls", false, false}, {TypeBucketPAB, "restrictPublicBuckets", false, false},
		{TypeBucketPolicy, "bucket", true, false}, {TypeBucketPolicy, "policy", false, false},
		{TypeBucketLifecycle, "bucket", true, false}, {TypeBucketLifecycle, "rules", false, false}},
}

func couldNotJudge(rs []Resource, _ Config) []Finding {
	rules := make([]string, 0, len(needs))
	for name := range needs {
		rules = append(rules, name)
	}
	sort.Strings(rules)
	ix := newIndex(rs)
	consumed := map[string]bool{}
	for _, m := range rs {
		if m.Type != TypeMapping {
			continue
		}
		q, fn := ix.consumer(m)
		if q != nil {
			consumed[q.URN] = true
		}
		if fn != nil {
			consumed[fn.URN] = true
		}
	}
	var out []Finding
	for _, r := range rs {
		byRule := map[string][]string{}
		for _, rule := range rules {
			for _, n := range needs[rule] {
				if n.typ != r.Type || (n.consumed && !consumed[r.URN]) {
					continue
				}
				if _, st := r.get(n.prop); st != unknown {
					continue
				}
				if n.ref && len(r.PropertyDependencies[n.prop]) > 0 {
					continue // the rules resolve it through the dependency
				}
				byRule[rule] = append(byRule[rule], n.prop)
			}
		}
		for _, rule := range rules {
			props := byRule[rule]
			if len(props) == 0 {
				continue
			}
			out = append(out, Finding{r.URN, fmt.Sprintf(
				"%s could not judge %s at preview: %s unknown until the resources it is computed from exist; pulumi up judges it when it registers the resource. Write such values from known parts (an ARN from the account id and the name) to have them judged at preview",
				rule, r.Name, strings.Join(props, ", "))})
		}
	}
	return out
}

// Description is a rule's description ("" for an unknown rule).
func Description(rule string) string {
	for _, r := range ResourceRules {
		if r.Name == rule {
			return r.Description
		}
	}
	for _, r := range StackRules {
		if r.Name == rule {
			return r.Description
		}
	}
	return ""
}
