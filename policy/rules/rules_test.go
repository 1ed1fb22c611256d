package rules_test

import (
	"strings"
	"testing"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/policy/rules"
)

func res(typ string, props map[string]any) rules.Resource {
	return rules.Resource{URN: "urn:pulumi:s::p::" + typ + "::r", Type: typ, Name: "r", Props: props}
}

// check runs every rule over rs and returns the policies that fired.
func check(rs ...rules.Resource) map[string]string {
	out := map[string]string{}
	for _, v := range rules.Evaluate(rs, rules.Config{}) {
		out[v.Policy] = v.Message
	}
	return out
}

var unknown = rules.Unknown{}

func TestResourceRules(t *testing.T) {
	tlsPolicy := `{"Statement":[{"Effect":"Deny","Principal":"*","Action":["sqs:*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`
	cases := []struct {
		name   string
		r      rules.Resource
		policy string // "" = compliant for that rule
		rule   string
		want   string // substring of the message
	}{
		{"fifo ok", res(rules.TypeQueue, map[string]any{"fifoQueue": true, "contentBasedDeduplication": true}), "", "fifo-ordering", ""},
		{"standard queue", res(rules.TypeQueue, map[string]any{"fifoQueue": false}), "fifo-ordering", "fifo-ordering", "standard queue"},
		{"fifo flag absent", res(rules.TypeQueue, map[string]any{}), "fifo-ordering", "fifo-ordering", "fifoQueue: true"},
		{"fifo unknown", res(rules.TypeQueue, map[string]any{"fifoQueue": unknown}), "", "fifo-ordering", ""},
		{"fifo as secret", res(rules.TypeQueue, map[string]any{"fifoQueue": rules.Secret{V: true}, "contentBasedDeduplication": true}), "", "fifo-ordering", ""},
		{"no dedup strategy", res(rules.TypeQueue, map[string]any{"fifoQueue": true, "contentBasedDeduplication": false}), "fifo-ordering", "fifo-ordering", "deduplication"},
		{"redrive in bounds", res(rules.TypeQueue, map[string]any{"redrivePolicy": `{"deadLetterTargetArn":"x","maxReceiveCount":5}`}), "", "max-receive-count", ""},
		{"redrive too low", res(rules.TypeQueue, map[string]any{"redrivePolicy": `{"deadLetterTargetArn":"x","maxReceiveCount":1}`}), "max-receive-count", "max-receive-count", "between 3 and 1000"},
		{"redrive unknown", res(rules.TypeQueue, map[string]any{"redrivePolicy": unknown}), "", "max-receive-count", ""},
		{"domain ok", res(rules.TypeDomainName, map[string]any{"securityPolicy": "TLS_1_2", "endpointConfiguration": map[string]any{"types": "REGIONAL"}, "regionalCertificateArn": "arn:aws:acm:us-east-1:1:certificate/x"}), "", "tls-only", ""},
		{"domain cert unknown", res(rules.TypeDomainName, map[string]any{"securityPolicy": "TLS_1_2", "endpointConfiguration": map[string]any{"types": "REGIONAL"}, "regionalCertificateArn": unknown}), "", "tls-only", ""},
		{"domain TLS 1.0", res(rules.TypeDomainName, map[string]any{"securityPolicy": "TLS_1_0", "endpointConfiguration": map[string]any{"types": "REGIONAL"}, "regionalCertificateArn": "arn:aws:acm:x"}), "tls-only", "tls-only", "TLS_1_0"},
		{"domain without policy", res(rules.TypeDomainName, map[string]any{"endpointConfiguration": map[string]any{"types": "REGIONAL"}, "regionalCertificateArn": "arn:aws:acm:x"}), "tls-only", "tls-only", "TLS 1.0"},
		{"https listener tls 1.2", res(rules.TypeListener, map[string]any{"protocol": "HTTPS", "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06", "certificateArn": "arn:aws:acm:us-east-1:1:certificate/x"}), "", "tls-only", ""},
		{"https listener certificate unknown", res(rules.TypeListener, map[string]any{"protocol": "HTTPS", "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06", "certificateArn": unknown}), "", "tls-only", ""},
		{"https listener 2016-08", res(rules.TypeListener, map[string]any{"protocol": "HTTPS", "sslPolicy": "ELBSecurityPolicy-2016-08", "certificateArn": "arn:aws:acm:x"}), "tls-only", "tls-only", "older than 1.2"},
		{"https listener without policy", res(rules.TypeListener, map[string]any{"protocol": "HTTPS", "certificateArn": "arn:aws:acm:x"}), "tls-only", "tls-only", "accepts TLS 1.0"},
		{"https listener IAM certificate", res(rules.TypeListener, map[string]any{"protocol": "HTTPS", "sslPolicy": "ELBSecurityPolicy-TLS-1-2-2017-01", "certificateArn": "arn:aws:iam::1:server-certificate/x"}), "tls-only", "tls-only", "not an ACM certificate"},
		{"http listener redirects", res(rules.TypeListener, map[string]any{"protocol": "HTTP", "defaultActions": []any{map[string]any{"type": "redirect", "redirect": map[string]any{"protocol": "HTTPS", "port": "443"}}}}), "", "tls-only", ""},
		{"http listener forwards", res(rules.TypeListener, map[string]any{"protocol": "HTTP", "defaultActions": []any{map[string]any{"type": "forward", "targetGroupArn": "arn:tg"}}}), "tls-only", "tls-only", "serves plain HTTP"},
		{"edge domain", res(rules.TypeDomainName, map[string]any{"securityPolicy": "TLS_1_2", "endpointConfiguration": map[string]any{"types": "EDGE"}, "certificateArn": "arn:aws:acm:x"}), "tls-only", "tls-only", "REGIONAL"},
		{"uploaded certificate", res(rules.TypeDomainName, map[string]any{"securityPolicy": "TLS_1_2", "endpointConfiguration": map[string]any{"types": "REGIONAL"}, "certificateBody": rules.Secret{V: "PEM"}}), "tls-only", "tls-only", "ACM"},
		{"queue policy ok", res(rules.TypeQueuePolicy, map[string]any{"policy": tlsPolicy, "queueUrl": "u"}), "", "tls-only", ""},
		{"queue policy allows http", res(rules.TypeQueuePolicy, map[string]any{"policy": `{"Statement":[{"Effect":"Allow","Action":"sqs:*"}]}`, "queueUrl": "u"}), "tls-only", "tls-only", "non-TLS"},
		{"queue policy unknown", res(rules.TypeQueuePolicy, map[string]any{"policy": unknown, "queueUrl": "u"}), "", "tls-only", ""},
		{"mapping ok", res(rules.TypeMapping, map[string]any{"eventSourceArn": "arn:aws:sqs:r:1:q", "functionResponseTypes": []any{"ReportBatchItemFailures"}}), "", "partial-batch-responses", ""},
		{"mapping without partial batches", res(rules.TypeMapping, map[string]any{"eventSourceArn": "arn:aws:sqs:r:1:q"}), "partial-batch-responses", "partial-batch-responses", "ReportBatchItemFailures"},
		{"preview mapping on SQS", res(rules.TypeMapping, map[string]any{"eventSourceArn": unknown}), "partial-batch-responses", "partial-batch-responses", "ReportBatchItemFailures"},
		{"preview mapping on a stream", res(rules.TypeMapping, map[string]any{"eventSourceArn": unknown, "startingPosition": "LATEST"}), "", "partial-batch-responses", ""},
		{"kinesis mapping", res(rules.TypeMapping, map[string]any{"eventSourceArn": "arn:aws:kinesis:r:1:stream/s"}), "", "partial-batch-responses", ""},
		{"method with api key", res(rules.TypeMethod, map[string]any{"authorization": "NONE", "apiKeyRequired": true, "httpMethod": "POST"}), "", "authorized-methods", ""},
		{"method with iam", res(rules.TypeMethod, map[string]any{"authorization": "AWS_IAM", "httpMethod": "POST"}), "", "authorized-methods", ""},
		{"open method", res(rules.TypeMethod, map[string]any{"authorization": "NONE", "httpMethod": "POST"}), "authorized-methods", "authorized-methods", "open to anyone"},
		{"open OPTIONS", res(rules.TypeMethod, map[string]any{"authorization": "NONE", "httpMethod": "OPTIONS"}), "", "authorized-methods", ""},
		{"open, declared signature-only with github", res(rules.TypeMethod, map[string]any{"authorization": "NONE", "httpMethod": "POST", "operationName": contract.SignatureOnlyOperation(contract.SchemeGitHub)}), "", "authorized-methods", ""},
		{"open, declared signature-only with none", res(rules.TypeMethod, map[string]any{"authorization": "NONE", "httpMethod": "POST", "operationName": contract.SignatureOnlyOperation(contract.SchemeNone)}), "authorized-methods", "authorized-methods", "signs no body"},
		{"open, declared with an unknown scheme", res(rules.TypeMethod, map[string]any{"authorization": "NONE", "httpMethod": "POST", "operationName": "hookline:signature-only:rot13"}), "authorized-methods", "authorized-methods", "signs no body"},
		{"open with another operation name", res(rules.TypeMethod, map[string]any{"authorization": "NONE", "httpMethod": "POST", "operationName": "ReceiveWebhook"}), "authorized-methods", "authorized-methods", "open to anyone"},
		{"open, operation name unknown at preview", res(rules.TypeMethod, map[string]any{"authorization": "NONE", "httpMethod": "POST", "operationName": unknown}), "", "authorized-methods", ""},
		{"unencrypted queue", res(rules.TypeQueue, map[string]any{"fifoQueue": true, "contentBasedDeduplication": true, "sqsManagedSseEnabled": false}), "encryption-at-rest", "encryption-at-rest", "sqsManagedSseEnabled"},
		{"kms queue", res(rules.TypeQueue, map[string]any{"sqsManagedSseEnabled": false, "kmsMasterKeyId": "alias/x"}), "", "encryption-at-rest", ""},
		{"log group forever", res(rules.TypeLogGroup, map[string]any{"name": "g"}), "log-retention", "log-retention", "retentionInDays"},
		{"log group 30 days", res(rules.TypeLogGroup, map[string]any{"retentionInDays": 30.0}), "", "log-retention", ""},
		{"send route", res(rules.TypeIntegration, map[string]any{"uri": "arn:aws:apigateway:r:sqs:path/1/q", "requestTemplates": map[string]any{"application/json": "Action=SendMessage&MessageBody=x"}}), "", "no-receive-route", ""},
		{"receive route", res(rules.TypeIntegration, map[string]any{"uri": "arn:aws:apigateway:r:sqs:path/1/q", "requestTemplates": map[string]any{"application/json": "Action=ReceiveMessage"}}), "no-receive-route", "no-receive-route", "receivemessage"},
		{"lambda integration", res(rules.TypeIntegration, map[string]any{"uri": "arn:aws:apigateway:r:lambda:path/fn", "requestTemplates": map[string]any{"a": "Action=ReceiveMessage"}}), "", "no-receive-route", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := check(tc.r)
			msg, fired := got[tc.rule]
			if tc.policy == "" {
				if fired {
					t.Errorf("%s fired: %s", tc.rule, msg)
				}
				return
			}
			if !fired || !strings.Contains(msg, tc.want) {
				t.Errorf("%s: fired=%v message %q, want it to contain %q (all: %v)", tc.rule, fired, msg, tc.want, got)
			}
		})
	}
}

func queue(urn, name string, props map[string]any) rules.Resource {
	p := map[string]any{"name": name, "arn": "arn:aws:sqs:r:1:" + name, "url": "https://sqs/1/" + name,
		"fifoQueue": true, "contentBasedDeduplication": true}
	for k, v := range props {
		p[k] = v
	}
	return rules.Resource{URN: urn, Type: rules.TypeQueue, Name: name, Props: p}
}

func tlsPolicyFor(urn, url string) rules.Resource {
	return rules.Resource{URN: urn, Type: rules.TypeQueuePolicy, Name: "p-" + urn, Props: map[string]any{
		"queueUrl": url, "policy": `{"Statement":[{"Effect":"Deny","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`}}
}

func TestStackRules(t *testing.T) {
	redrive := func(target string) string {
		return `{"deadLetterTargetArn":"arn:aws:sqs:r:1:` + target + `","maxReceiveCount":5}`
	}
	good := []rules.Resource{
		queue("q", "src.fifo", map[string]any{"redrivePolicy": redrive("dlq.fifo"), "visibilityTimeoutSeconds": 180.0}),
		queue("d", "dlq.fifo", map[string]any{"messageRetentionSeconds": 1209600.0}),
		tlsPolicyFor("pq", "https://sqs/1/src.fifo"), tlsPolicyFor("pd", "https://sqs/1/dlq.fifo"),
		{URN: "f", Type: rules.TypeFunction, Name: "fn", Props: map[string]any{"arn": "arn:aws:lambda:r:1:function:fn", "name": "fn", "timeout": 30.0}},
		{URN: "m", Type: rules.TypeMapping, Name: "m", Props: map[string]any{"eventSourceArn": "arn:aws:sqs:r:1:src.fifo", "functionName": "arn:aws:lambda:r:1:function:fn", "functionResponseTypes": []any{"ReportBatchItemFailures"}}},
	}
	if got := check(good...); len(got) != 0 {
		t.Fatalf("a compliant stack violates: %v", got)
	}
	mutate := func(i int, k string, v any) []rules.Resource {
		rs := make([]rules.Resource, len(good))
		copy(rs, good)
		p := map[string]any{}
		for kk, vv := range rs[i].Props {
			p[kk] = vv
		}
		if v == nil {
			delete(p, k)
		} else {
			p[k] = v
		}
		rs[i].Props = p
		return rs
	}
	cases := []struct {
		name string
		rs   []rules.Resource
		rule string
		want string
	}{
		{"no redrive", mutate(0, "redrivePolicy", nil), "dlq-required", "no dead-letter queue"},
		{"standard DLQ of a FIFO queue", mutate(1, "fifoQueue", false), "dlq-required", "must be FIFO"},
		{"DLQ keeps less", mutate(1, "messageRetentionSeconds", 60.0), "dlq-required", "expire first"},
		{"short visibility", mutate(0, "visibilityTimeoutSeconds", 60.0), "visibility-timeout", "at least 180"},
		{"default visibility with a 30 s function", mutate(0, "visibilityTimeoutSeconds", nil), "visibility-timeout", "30 s visibility"},
		{"queue without TLS policy", append(append([]rules.Resource{}, good[:2]...), good[3:]...), "tls-only-coverage", "src.fifo"},
		{"domain and an open default endpoint", append(append([]rules.Resource{}, good...),
			rules.Resource{URN: "dn", Type: rules.TypeDomainName, Name: "dn", Props: map[string]any{}},
			rules.Resource{URN: "api", Type: rules.TypeRestAPI, Name: "api", Props: map[string]any{"disableExecuteApiEndpoint": false}}), "tls-only-coverage", "disableExecuteApiEndpoint"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := check(tc.rs...)
			if msg, ok := got[tc.rule]; !ok || !strings.Contains(msg, tc.want) {
				t.Errorf("%s: %q, want %q (all: %v)", tc.rule, msg, tc.want, got)
			}
		})
	}
}

// TestPreview: during preview ARNs are unknown; the rules follow property
// dependencies, and skip what they cannot know yet.
func TestPreview(t *testing.T) {
	src := queue("q", "src.fifo", map[string]any{"redrivePolicy": unknown, "arn": unknown, "url": unknown})
	src.PropertyDependencies = map[string][]string{"redrivePolicy": {"d"}}
	dlq := queue("d", "dlq.fifo", map[string]any{"fifoQueue": false, "arn": unknown, "url": unknown})
	pol := rules.Resource{URN: "p", Type: rules.TypeQueuePolicy, Name: "p", Props: map[string]any{"queueUrl": unknown, "policy": unknown},
		PropertyDependencies: map[string][]string{"queueUrl": {"q"}}}
	pol2 := rules.Resource{URN: "p2", Type: rules.TypeQueuePolicy, Name: "p2", Props: map[string]any{"queueUrl": unknown, "policy": unknown},
		PropertyDependencies: map[string][]string{"queueUrl": {"d"}}}
	got := check(src, dlq, pol, pol2)
	if msg := got["dlq-required"]; !strings.Contains(msg, "must be FIFO") {
		t.Errorf("a standard DLQ found through dependencies: %v", got)
	}
	if _, ok := got["tls-only-coverage"]; ok {
		t.Errorf("queues covered by policies with unknown URLs were flagged: %v", got)
	}
	// Nothing known about the queue itself: no rule reports on those values
	// (that it has no TLS policy at all is known, and reported).
	blank := queue("q", "x", map[string]any{"redrivePolicy": unknown, "fifoQueue": unknown, "contentBasedDeduplication": unknown})
	got = check(blank)
	for _, rule := range []string{"fifo-ordering", "dlq-required", "max-receive-count", "encryption-at-rest"} {
		if msg, ok := got[rule]; ok {
			t.Errorf("unknown values reported by %s: %s", rule, msg)
		}
	}
	if _, ok := got["tls-only-coverage"]; !ok {
		t.Error("a queue with no policy resource at all must be reported")
	}
}

func TestLevelsAndDisable(t *testing.T) {
	r := res(rules.TypeQueue, map[string]any{"fifoQueue": false, "redrivePolicy": `{"maxReceiveCount":5}`})
	vs := rules.Evaluate([]rules.Resource{r}, rules.Config{Levels: map[string]string{"fifo-ordering": rules.Advisory, "dlq-required": rules.Disabled}})
	for _, v := range vs {
		if v.Policy == "fifo-ordering" && v.Level != rules.Advisory {
			t.Errorf("level override ignored: %v", v)
		}
		if v.Policy == "dlq-required" {
			t.Errorf("disabled rule ran: %v", v)
		}
	}
}

// TestNeverPanics: malformed values of every kind never crash a rule.
func TestNeverPanics(t *testing.T) {
	weird := []any{nil, unknown, rules.Secret{V: unknown}, 3.0, "str", true, []any{unknown, 1.0}, map[string]any{"types": unknown}, "{not json"}
	types := []string{rules.TypeQueue, rules.TypeQueuePolicy, rules.TypeDomainName, rules.TypeRestAPI, rules.TypeMethod,
		rules.TypeIntegration, rules.TypeMapping, rules.TypeFunction, rules.TypeLogGroup}
	props := []string{"fifoQueue", "contentBasedDeduplication", "redrivePolicy", "policy", "queueUrl", "securityPolicy",
		"endpointConfiguration", "regionalCertificateArn", "certificateArn", "authorization", "apiKeyRequired", "httpMethod",
		"uri", "requestTemplates", "requestParameters", "eventSourceArn", "functionName", "functionResponseTypes",
		"retentionInDays", "sqsManagedSseEnabled", "visibilityTimeoutSeconds", "timeout", "arn", "name", "url",
		"messageRetentionSeconds", "disableExecuteApiEndpoint"}
	var rs []rules.Resource
	for i, typ := range types {
		for j, w := range weird {
			p := map[string]any{}
			for k, name := range props {
				p[name] = weird[(j+k+i)%len(weird)]
			}
			_ = w
			rs = append(rs, rules.Resource{URN: typ, Type: typ, Name: typ, Props: p})
		}
	}
	_ = rules.Evaluate(rs, rules.Config{})
}

// TestCouldNotJudge: an input a mandatory rule needs that is unknown at
// preview is named (advisory), with the rule and the resource; a reference
// the engine's property dependencies resolve is not; known values never are.
func TestCouldNotJudge(t *testing.T) {
	src := queue("q", "src.fifo", map[string]any{"redrivePolicy": unknown, "fifoQueue": true, "contentBasedDeduplication": true})
	pol := rules.Resource{URN: "p", Type: rules.TypeQueuePolicy, Name: "pol", Props: map[string]any{"queueUrl": unknown, "policy": `{}`},
		PropertyDependencies: map[string][]string{"queueUrl": {"q"}}}
	orphan := rules.Resource{URN: "o", Type: rules.TypeQueuePolicy, Name: "orphan", Props: map[string]any{"queueUrl": unknown, "policy": `{}`}}
	var got []rules.Violation
	for _, v := range rules.Evaluate([]rules.Resource{src, pol, orphan}, rules.Config{}) {
		if v.Policy == rules.CouldNotJudge {
			got = append(got, v)
		}
	}
	want := map[string]string{
		"q|max-receive-count": "max-receive-count could not judge src.fifo at preview: redrivePolicy unknown",
		"q|dlq-required":      "dlq-required could not judge src.fifo at preview: redrivePolicy unknown",
		"o|tls-only-coverage": "tls-only-coverage could not judge orphan at preview: queueUrl unknown",
	}
	for _, v := range got {
		if v.Level != rules.Advisory {
			t.Errorf("%v is not advisory", v)
		}
		key := ""
		for k, prefix := range want {
			if strings.HasPrefix(k, v.URN+"|") && strings.HasPrefix(v.Message, prefix) {
				key = k
			}
		}
		if key == "" {
			t.Errorf("unexpected finding %v", v)
			continue
		}
		delete(want, key)
	}
	for k := range want {
		t.Errorf("missing finding %s", k)
	}
	// Everything known: nothing to report.
	known := queue("k", "k.fifo", map[string]any{"redrivePolicy": `{"deadLetterTargetArn":"x","maxReceiveCount":5}`, "fifoQueue": true, "contentBasedDeduplication": true})
	for _, v := range rules.Evaluate([]rules.Resource{known}, rules.Config{}) {
		if v.Policy == rules.CouldNotJudge {
			t.Errorf("known values reported: %v", v)
		}
	}
}

// TestSecretScope: a role policy may let its role read SSM parameters only
// under the stack's /hookline/<environment>/ prefix; wildcards, another
// stack's prefix and NotResource are findings.
func TestSecretScope(t *testing.T) {
	queue := rules.Resource{URN: "q", Type: rules.TypeQueue, Name: "q", Props: map[string]any{"tags": map[string]any{"hookline:environment": "dev"}}}
	policy := func(action, resource string) rules.Resource {
		return rules.Resource{URN: "p", Type: rules.TypeRolePolicy, Name: "p", Props: map[string]any{"policy": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":` +
			action + `,` + resource + `}]}`}}
	}
	cases := []struct {
		name     string
		p        rules.Resource
		findings int
	}{
		{"own parameter", policy(`"ssm:GetParameter"`, `"Resource":"arn:aws:ssm:eu-west-1:1:parameter/hookline/dev/a/signing-secret"`), 0},
		{"another stack's", policy(`"ssm:GetParameter"`, `"Resource":["arn:aws:ssm:eu-west-1:1:parameter/hookline/beta-prod/orders/signing-secret"]`), 1},
		{"the account's", policy(`["ssm:GetParameters"]`, `"Resource":"arn:aws:ssm:eu-west-1:1:parameter/prod/database/master-password"`), 1},
		{"a prefix that only starts like ours", policy(`"ssm:GetParameter"`, `"Resource":"arn:aws:ssm:eu-west-1:1:parameter/hookline/devil/x"`), 1},
		{"wildcard resource", policy(`"ssm:GetParameter"`, `"Resource":"*"`), 1},
		{"wildcard under our prefix", policy(`"ssm:GetParameter"`, `"Resource":"arn:aws:ssm:eu-west-1:1:parameter/hookline/dev/*"`), 1},
		{"wildcard action", policy(`"ssm:Get*"`, `"Resource":"arn:aws:ssm:eu-west-1:1:parameter/other"`), 1},
		{"every action", policy(`"*"`, `"Resource":"arn:aws:ssm:eu-west-1:1:parameter/other"`), 1},
		{"NotResource", policy(`"ssm:GetParameter"`, `"NotResource":"arn:aws:ssm:eu-west-1:1:parameter/x"`), 1},
		{"not a read", policy(`"sqs:SendMessage"`, `"Resource":"arn:aws:sqs:eu-west-1:1:q.fifo"`), 0},
	}
	for _, tc := range cases {
		var got []rules.Violation
		for _, v := range rules.Evaluate([]rules.Resource{queue, tc.p}, rules.Config{}) {
			if v.Policy == "secret-scope" {
				got = append(got, v)
			}
		}
		if len(got) != tc.findings {
			t.Errorf("%s: %d findings, want %d: %v", tc.name, len(got), tc.findings, got)
		}
		for _, v := range got {
			if v.Level != rules.Mandatory || !strings.Contains(v.Message, "/hookline/dev/") {
				t.Errorf("%s: %+v", tc.name, v)
			}
		}
	}
}

func TestThrottleBound(t *testing.T) {
	settings := func(rate, burst any) map[string]any {
		return map[string]any{"throttlingRateLimit": rate, "throttlingBurstLimit": burst}
	}
	cases := []struct {
		name string
		r    rules.Resource
		cfg  string // policy config file ("" = defaults)
		want []string
	}{
		{"rest at the bound", res(rules.TypeMethodSettings, map[string]any{"methodPath": "*/*", "settings": settings(10000.0, 5000.0)}), "", nil},
		{"rest rate above", res(rules.TypeMethodSettings, map[string]any{"methodPath": "*/*", "settings": settings(10000.5, 5000.0)}), "", []string{"rate of 10000.5, above the maximum 10000", "lower throttlingRateLimit to at most 10000"}},
		{"rest 1e12", res(rules.TypeMethodSettings, map[string]any{"methodPath": "*/*", "settings": settings(1e12, 5000.0)}), "", []string{"rate of 1e+12"}},
		{"rest method-level burst above", res(rules.TypeMethodSettings, map[string]any{"methodPath": "hooks/POST", "settings": settings(100.0, 5001)}), "", []string{"burst of 5001, above the maximum 5000"}},
		{"rest at the quota, half configured", res(rules.TypeMethodSettings, map[string]any{"settings": settings(10000.0, 5000.0)}), `{"throttle-bound": {"maxThrottleRate": 5000, "maxThrottleBurst": 2500}}`, []string{"rate of 10000, above the maximum 5000", "burst of 5000, above the maximum 2500"}},
		{"rest unknown settings", res(rules.TypeMethodSettings, map[string]any{"settings": unknown}), "", nil},
		{"rest unknown rate", res(rules.TypeMethodSettings, map[string]any{"settings": settings(unknown, unknown)}), "", nil},
		{"rest settings not an object", res(rules.TypeMethodSettings, map[string]any{"settings": "x"}), "", nil},
		{"rest rate as string", res(rules.TypeMethodSettings, map[string]any{"settings": settings("1e12", nil)}), "", nil},
		{"rest as secret", res(rules.TypeMethodSettings, map[string]any{"settings": rules.Secret{V: settings(rules.Secret{V: 12000.0}, 1.0)}}), "", []string{"rate of 12000"}},
		{"http at the bound", res(rules.TypeStageV2, map[string]any{"defaultRouteSettings": settings(10000.0, 5000.0)}), "", nil},
		{"http default above", res(rules.TypeStageV2, map[string]any{"defaultRouteSettings": settings(20000.0, 6000.0)}), "", []string{"HTTP API stage r has a throttle rate of 20000", "burst of 6000"}},
		{"http route above", res(rules.TypeStageV2, map[string]any{"defaultRouteSettings": settings(50.0, 25.0),
			"routeSettings": []any{map[string]any{"routeKey": "POST /a", "throttlingRateLimit": 20.0}, map[string]any{"routeKey": "POST /b", "throttlingBurstLimit": 9999.0}}}), "",
			[]string{`HTTP API route "POST /b" of stage r has a throttle burst of 9999`}},
		{"http routes unknown", res(rules.TypeStageV2, map[string]any{"defaultRouteSettings": settings(50.0, 25.0), "routeSettings": unknown}), "", nil},
		{"http route element unknown", res(rules.TypeStageV2, map[string]any{"routeSettings": []any{unknown, nil, "x", map[string]any{"routeKey": unknown, "throttlingRateLimit": 12000.0}}}), "", []string{"HTTP API stage (route settings) r has a throttle rate of 12000"}},
		{"http no settings", res(rules.TypeStageV2, map[string]any{}), "", nil},
		{"configured lower bound", res(rules.TypeStageV2, map[string]any{"defaultRouteSettings": settings(2000.0, 1000.0)}),
			`{"throttle-bound": {"maxThrottleRate": 1000, "maxThrottleBurst": 500}}`, []string{"rate of 2000, above the maximum 1000", "burst of 1000, above the maximum 500", "maxThrottleRate"}},
		{"configured higher bound", res(rules.TypeStageV2, map[string]any{"defaultRouteSettings": settings(20000.0, 10000.0)}),
			`{"throttle-bound": {"maxThrottleRate": 20000, "maxThrottleBurst": 10000}}`, nil},
		{"other type", res(rules.TypeQueue, map[string]any{"settings": settings(1e12, 1e12)}), "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := rules.Config{}
			if tc.cfg != "" {
				var err error
				if cfg, err = rules.ParseConfigFile([]byte(tc.cfg)); err != nil {
					t.Fatal(err)
				}
			}
			var msgs []string
			for _, v := range rules.Evaluate([]rules.Resource{tc.r}, cfg) {
				if v.Policy == "throttle-bound" {
					if v.Level != rules.Mandatory {
						t.Errorf("level %s", v.Level)
					}
					msgs = append(msgs, v.Message)
				}
			}
			all := strings.Join(msgs, "\n")
			if len(tc.want) == 0 && len(msgs) != 0 {
				t.Fatalf("unexpected findings:\n%s", all)
			}
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("want %q in:\n%s", w, all)
				}
			}
		})
	}
}

func TestThrottleBoundConfigRefusesNonsense(t *testing.T) {
	for _, cfg := range []string{`{"throttle-bound": {"maxThrottleRate": -1}}`, `{"throttle-bound": {"maxThrottleBurst": 0.5}}`, `{"throttle-bound": {"maxThrottleRate": "lots"}}`, `{"stage-throttling": {"maxThrottleRate": 10}}`} {
		if _, err := rules.ParseConfigFile([]byte(cfg)); err == nil {
			t.Errorf("%s: accepted", cfg)
		}
	}
}

// archiveBucket is a compliant bucket named name with its configurations,
// each editable.
func archiveBucket(name string, edit map[string]func(map[string]any)) []rules.Resource {
	tls := `{"Statement":[{"Effect":"Deny","Principal":"*","Action":["s3:*"],"Resource":["arn:aws:s3:::` + name + `","arn:aws:s3:::` + name + `/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`
	rs := []rules.Resource{
		{URN: "b-" + name, Type: rules.TypeBucketV2, Name: name, Props: map[string]any{"bucket": name}},
		{URN: "sse-" + name, Type: rules.TypeBucketSSE, Name: "sse", Props: map[string]any{"bucket": name, "rules": []any{
			map[string]any{"applyServerSideEncryptionByDefault": map[string]any{"sseAlgorithm": "aws:kms", "kmsMasterKeyId": rules.Unknown{}}, "bucketKeyEnabled": true}}}},
		{URN: "pab-" + name, Type: rules.TypeBucketPAB, Name: "pab", Props: map[string]any{"bucket": name,
			"blockPublicAcls": true, "blockPublicPolicy": true, "ignorePublicAcls": true, "restrictPublicBuckets": true}},
		{URN: "pol-" + name, Type: rules.TypeBucketPolicy, Name: "pol", Props: map[string]any{"bucket": name, "policy": tls}},
		{URN: "lc-" + name, Type: rules.TypeBucketLifecycle, Name: "lc", Props: map[string]any{"bucket": name, "rules": []any{
			map[string]any{"id": "expire", "status": "Enabled", "filter": map[string]any{}, "expiration": map[string]any{"days": 30.0},
				"abortIncompleteMultipartUpload": map[string]any{"daysAfterInitiation": 1.0}}}}},
	}
	for i, r := range rs {
		if f, ok := edit[r.Type]; ok {
			if f == nil {
				rs[i].Type = "dropped"
				continue
			}
			f(rs[i].Props)
		}
	}
	return rs
}

// TestArchiveProtected: a bucket with default KMS encryption, public access
// blocked, a TLS-only policy and an expiry passes; each protection missing
// or weakened is named on the bucket, with how to fix it; a value unknown
// at preview is not guessed.
func TestArchiveProtected(t *testing.T) {
	lifecycle := func(rule map[string]any) func(map[string]any) {
		return func(p map[string]any) { p["rules"] = []any{rule} }
	}
	cases := []struct {
		name string
		edit map[string]func(map[string]any)
		want []string // substrings of the findings, in order; none: compliant
	}{
		{"compliant", nil, nil},
		{"no encryption configuration", map[string]func(map[string]any){rules.TypeBucketSSE: nil}, []string{"has no default encryption with a KMS key"}},
		{"SSE-S3", map[string]func(map[string]any){rules.TypeBucketSSE: func(p map[string]any) {
			p["rules"] = []any{map[string]any{"applyServerSideEncryptionByDefault": map[string]any{"sseAlgorithm": "AES256"}}}
		}}, []string{"is encrypted with AES256, not a KMS key"}},
		{"DSSE-KMS", map[string]func(map[string]any){rules.TypeBucketSSE: func(p map[string]any) {
			p["rules"] = []any{map[string]any{"applyServerSideEncryptionByDefault": map[string]any{"sseAlgorithm": "aws:kms:dsse"}}}
		}}, nil},
		{"encryption of another bucket", map[string]func(map[string]any){rules.TypeBucketSSE: func(p map[string]any) { p["bucket"] = "other" }}, []string{"has no default encryption"}},
		{"no public access block", map[string]func(map[string]any){rules.TypeBucketPAB: nil}, []string{"does not block public access"}},
		{"public access blocked in part", map[string]func(map[string]any){rules.TypeBucketPAB: func(p map[string]any) {
			p["restrictPublicBuckets"], p["ignorePublicAcls"] = false, nil
		}}, []string{"blocks public access only in part: set ignorePublicAcls, restrictPublicBuckets true"}},
		{"no bucket policy", map[string]func(map[string]any){rules.TypeBucketPolicy: nil}, []string{"accepts requests without TLS"}},
		{"a policy that allows http", map[string]func(map[string]any){rules.TypeBucketPolicy: func(p map[string]any) {
			p["policy"] = `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:root"},"Action":"s3:GetObject","Resource":"*"}]}`
		}}, []string{"accepts requests without TLS"}},
		{"no lifecycle", map[string]func(map[string]any){rules.TypeBucketLifecycle: nil}, []string{"keeps its objects forever"}},
		{"lifecycle without expiry", map[string]func(map[string]any){rules.TypeBucketLifecycle: lifecycle(map[string]any{
			"status": "Enabled", "abortIncompleteMultipartUpload": map[string]any{"daysAfterInitiation": 1.0}})}, []string{"keeps its objects forever"}},
		{"lifecycle disabled", map[string]func(map[string]any){rules.TypeBucketLifecycle: lifecycle(map[string]any{
			"status": "Disabled", "expiration": map[string]any{"days": 30.0}})}, []string{"keeps its objects forever"}},
		{"lifecycle of one prefix", map[string]func(map[string]any){rules.TypeBucketLifecycle: lifecycle(map[string]any{
			"status": "Enabled", "filter": map[string]any{"prefix": "tmp/"}, "expiration": map[string]any{"days": 30.0}})}, []string{"keeps its objects forever"}},
		{"lifecycle without filter", map[string]func(map[string]any){rules.TypeBucketLifecycle: lifecycle(map[string]any{
			"status": "Enabled", "expiration": map[string]any{"days": 30.0}})}, nil},
		{"lifecycle with an empty prefix", map[string]func(map[string]any){rules.TypeBucketLifecycle: lifecycle(map[string]any{
			"status": "Enabled", "filter": map[string]any{"prefix": ""}, "expiration": map[string]any{"days": 30.0}})}, nil},
		{"everything missing", map[string]func(map[string]any){rules.TypeBucketSSE: nil, rules.TypeBucketPAB: nil, rules.TypeBucketPolicy: nil, rules.TypeBucketLifecycle: nil},
			[]string{"has no default encryption", "does not block public access", "accepts requests without TLS", "keeps its objects forever"}},
		// Preview: unknown values are not guessed.
		{"rules unknown", map[string]func(map[string]any){
			rules.TypeBucketSSE:       func(p map[string]any) { p["rules"] = rules.Unknown{} },
			rules.TypeBucketLifecycle: func(p map[string]any) { p["rules"] = rules.Unknown{} },
			rules.TypeBucketPolicy:    func(p map[string]any) { p["policy"] = rules.Unknown{} },
			rules.TypeBucketPAB:       func(p map[string]any) { p["blockPublicAcls"] = rules.Unknown{} },
		}, nil},
		{"a configuration's bucket unknown, no dependency", map[string]func(map[string]any){
			rules.TypeBucketSSE: func(p map[string]any) { p["bucket"] = rules.Unknown{} },
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, v := range rules.Evaluate(archiveBucket("hookline-dev-archive-1-eu-west-1", tc.edit), rules.Config{}) {
				if v.Policy != "archive-protected" {
					continue
				}
				if v.Level != rules.Mandatory || v.URN != "b-hookline-dev-archive-1-eu-west-1" || !strings.HasPrefix(v.Message, "bucket hookline-dev-archive-1-eu-west-1 ") {
					t.Errorf("finding %+v", v)
				}
				got = append(got, v.Message)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("findings %q, want %d containing %q", got, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("finding %q lacks %q", got[i], w)
				}
			}
		})
	}
	// At preview a configuration names its bucket through the property
	// dependencies: an autonamed bucket is linked, and judged.
	rs := archiveBucket("b", map[string]func(map[string]any){rules.TypeBucketLifecycle: lifecycle(map[string]any{"status": "Enabled"})})
	rs[0].Props["bucket"] = rules.Unknown{}
	for i := range rs[1:] {
		rs[i+1].Props["bucket"] = rules.Unknown{}
		rs[i+1].PropertyDependencies = map[string][]string{"bucket": {"b-b"}}
	}
	var found []string
	for _, v := range rules.Evaluate(rs, rules.Config{}) {
		found = append(found, v.Policy+": "+v.Message)
	}
	if len(found) != 1 || !strings.Contains(found[0], "archive-protected: bucket b keeps its objects forever") {
		t.Errorf("linked through dependencies: %q", found)
	}
}

// TestArchivePresent: a hookline consumer whose environment names its
// archive stream passes; one without is an advisory finding on the
// function; a function of another program is not judged.
func TestArchivePresent(t *testing.T) {
	stack := func(env map[string]any, tags map[string]any) []rules.Resource {
		return []rules.Resource{
			{URN: "f", Type: rules.TypeFunction, Name: "hookline-dev-github", Props: map[string]any{"name": "hookline-dev-github",
				"arn": "arn:aws:lambda:r:1:function:hookline-dev-github", "environment": map[string]any{"variables": env}, "tags": tags}},
			{URN: "m", Type: rules.TypeMapping, Name: "m", Props: map[string]any{"eventSourceArn": "arn:aws:sqs:r:1:q.fifo",
				"functionName": "arn:aws:lambda:r:1:function:hookline-dev-github", "functionResponseTypes": []any{"ReportBatchItemFailures"}}},
		}
	}
	hookline := map[string]any{"hookline:environment": "dev"}
	for _, tc := range []struct {
		name string
		rs   []rules.Resource
		want bool
	}{
		{"archived", stack(map[string]any{contract.EnvArchiveStream: "hookline-dev-github-archive"}, hookline), false},
		{"archived, name unknown at preview", stack(map[string]any{contract.EnvArchiveStream: rules.Unknown{}}, hookline), false},
		{"not archived", stack(map[string]any{contract.EnvDLQURL: "u"}, hookline), true},
		{"another program's function", stack(map[string]any{}, map[string]any{"team": "x"}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []rules.Violation
			for _, v := range rules.Evaluate(tc.rs, rules.Config{}) {
				if v.Policy == "archive-present" {
					got = append(got, v)
				}
			}
			if tc.want != (len(got) == 1) || len(got) > 1 {
				t.Fatalf("findings %+v", got)
			}
			if tc.want && (got[0].Level != rules.Advisory || got[0].URN != "f" || !strings.Contains(got[0].Message, "hookline:archive")) {
				t.Errorf("finding %+v", got[0])
			}
		})
	}
}

// TestArchiveProtectedVersionedBucket: a versioned bucket (the portal's
// state) passes with a rule that expires noncurrent versions, and fails
// with none.
func TestArchiveProtectedVersionedBucket(t *testing.T) {
	bucket := rules.Resource{URN: "b", Type: rules.TypeBucketV2, Name: "state", Props: map[string]any{"bucket": "state"}}
	base := []rules.Resource{bucket,
		{URN: "v", Type: rules.TypeBucketVersioning, Props: map[string]any{"bucket": "state", "versioningConfiguration": map[string]any{"status": "Enabled"}}},
		{URN: "e", Type: rules.TypeBucketSSE, Props: map[string]any{"bucket": "state", "rules": []any{map[string]any{"applyServerSideEncryptionByDefault": map[string]any{"sseAlgorithm": "aws:kms"}}}}},
		{URN: "p", Type: rules.TypeBucketPAB, Props: map[string]any{"bucket": "state", "blockPublicAcls": true, "blockPublicPolicy": true, "ignorePublicAcls": true, "restrictPublicBuckets": true}},
		{URN: "t", Type: rules.TypeBucketPolicy, Props: map[string]any{"bucket": "state", "policy": `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`}},
	}
	noncurrent := rules.Resource{URN: "l", Type: rules.TypeBucketLifecycle, Props: map[string]any{"bucket": "state", "rules": []any{map[string]any{
		"status": "Enabled", "filter": map[string]any{}, "noncurrentVersionExpiration": map[string]any{"noncurrentDays": 90.0}}}}}
	find := func(rs []rules.Resource) string {
		for _, v := range rules.Evaluate(rs, rules.Defaults()) {
			if v.Policy == "archive-protected" {
				return v.Message
			}
		}
		return ""
	}
	if m := find(append(base, noncurrent)); m != "" {
		t.Errorf("versioned bucket expiring old versions: %s", m)
	}
	if m := find(base); !strings.Contains(m, "keeps its old versions forever") {
		t.Errorf("versioned bucket without a lifecycle: %q", m)
	}
	// Without versioning, expiring noncurrent versions expires nothing.
	if m := find(append(append([]rules.Resource{}, base[0]), append(base[2:], noncurrent)...)); !strings.Contains(m, "keeps its objects forever") {
		t.Errorf("unversioned bucket with only a noncurrent rule: %q", m)
	}
}
