package rules

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/stackconfig"
)

// Resource type tokens the rules look at.
const (
	TypeQueue          = "aws:sqs/queue:Queue"
	TypeQueuePolicy    = "aws:sqs/queuePolicy:QueuePolicy"
	TypeDomainName     = "aws:apigateway/domainName:DomainName"
	TypeRestAPI        = "aws:apigateway/restApi:RestApi"
	TypeMethod         = "aws:apigateway/method:Method"
	TypeIntegration    = "aws:apigateway/integration:Integration"
	TypeMapping        = "aws:lambda/eventSourceMapping:EventSourceMapping"
	TypeFunction       = "aws:lambda/function:Function"
	TypeLogGroup       = "aws:cloudwatch/logGroup:LogGroup"
	TypeStage          = "aws:apigateway/stage:Stage"
	TypeMethodSettings = "aws:apigateway/methodSettings:MethodSettings"
	// The HTTP API's (ingress http).
	TypeHTTPAPI       = "aws:apigatewayv2/api:Api"
	TypeRouteV2       = "aws:apigatewayv2/route:Route"
	TypeIntegrationV2 = "aws:apigatewayv2/integration:Integration"
	TypeStageV2       = "aws:apigatewayv2/stage:Stage"
	TypeDomainNameV2  = "aws:apigatewayv2/domainName:DomainName"
	TypeListener      = "aws:lb/listener:Listener"
)

// Enforcement levels.
const (
	Mandatory = "mandatory"
	Advisory  = "advisory"
	Disabled  = "disabled"
)

// Config holds the bounds the rules check against. Zero values take the
// defaults (see Defaults).
type Config struct {
	// MinReceiveCount and MaxReceiveCount bound a redrive's maxReceiveCount.
	MinReceiveCount int `json:"minReceiveCount"`
	MaxReceiveCount int `json:"maxReceiveCount"`
	// AllowedSecurityPolicies are the TLS policies a custom domain may use.
	AllowedSecurityPolicies []string `json:"allowedSecurityPolicies"`
	// ExemptHTTPMethods may be open (CORS preflight).
	ExemptHTTPMethods []string `json:"exemptHttpMethods"`
	// MaxThrottleRate and MaxThrottleBurst bound every stage and route
	// throttle: API Gateway's default (10,000 requests/s, burst 5,000) is
	// the whole account's quota in a region, shared by every API in it.
	MaxThrottleRate  float64 `json:"maxThrottleRate"`
	MaxThrottleBurst float64 `json:"maxThrottleBurst"`
	// Levels overrides the enforcement level of rules by name.
	Levels map[string]string `json:"-"`
}

// Defaults returns the default bounds.
func Defaults() Config {
	return Config{
		MinReceiveCount:         stackconfig.MinReceiveCount,
		MaxReceiveCount:         stackconfig.MaxReceiveCount,
		AllowedSecurityPolicies: []string{"TLS_1_2", "SecurityPolicy_TLS13_1_3_2025_09", "SecurityPolicy_TLS13_1_2_2021_06", "SecurityPolicy_TLS13_1_2_PQ_2025_09"},
		ExemptHTTPMethods:       []string{"OPTIONS"},
		MaxThrottleRate:         DefaultMaxThrottleRate,
		MaxThrottleBurst:        DefaultMaxThrottleBurst,
	}
}

// DefaultMaxThrottleRate and DefaultMaxThrottleBurst are API Gateway's
// default account-level quota per region (10,000 requests/s, burst 5,000),
// which every REST and HTTP API of the account shares: no stage or route may
// be allowed more than the whole account has. They are not lower because
// the stack config's own default throttle (stackconfig.DefaultRateLimit and
// DefaultBurstLimit, what a stack without hookline:throttle gets, as every
// portal stack that sets none does) is exactly that quota, and the pack
// must not refuse what the program's defaults make. A stricter bound —
// half the quota, 5,000/2,500, which the shipped stacks meet (prod
// 2,000/1,000, dev 50/25) — is a policy config away, and becomes the
// default once the stack config's default is lowered below it.
const (
	DefaultMaxThrottleRate  = stackconfig.DefaultRateLimit
	DefaultMaxThrottleBurst = stackconfig.DefaultBurstLimit
)

// WithDefaults fills every zero bound with its default.
func (c Config) WithDefaults() Config {
	d := Defaults()
	if c.MinReceiveCount == 0 {
		c.MinReceiveCount = d.MinReceiveCount
	}
	if c.MaxReceiveCount == 0 {
		c.MaxReceiveCount = d.MaxReceiveCount
	}
	if len(c.AllowedSecurityPolicies) == 0 {
		c.AllowedSecurityPolicies = d.AllowedSecurityPolicies
	}
	if c.ExemptHTTPMethods == nil {
		c.ExemptHTTPMethods = d.ExemptHTTPMethods
	}
	if c.MaxThrottleRate == 0 {
		c.MaxThrottleRate = d.MaxThrottleRate
	}
	if c.MaxThrottleBurst == 0 {
		c.MaxThrottleBurst = d.MaxThrottleBurst
	}
	return c
}

// ResourceRule checks one resource at a time.
type ResourceRule struct {
	Name, Description, Level string
	// ConfigKeys are the Config fields (JSON names) the rule reads.
	ConfigKeys []string
	Check      func(r Resource, c Config) []string
}

// Finding is a stack rule's violation of one resource.
type Finding struct{ URN, Message string }

// StackRule checks relations between resources.
type StackRule struct {
	Name, Description, Level string
	Check                    func(rs []Resource, c Config) []Finding
}

// ResourceRules and StackRules are every rule of the pack, in documentation order.
var (
	ResourceRules = []ResourceRule{
		{"fifo-ordering", "Webhook queues are FIFO with a deduplication strategy, so each message group keeps its order.", Mandatory, nil, fifoOrdering},
		{"max-receive-count", "A redrive's maxReceiveCount lies within the configured bounds.", Mandatory, []string{"minReceiveCount", "maxReceiveCount"}, maxReceiveCount},
		{"tls-only", "Custom domains (REST and HTTP API) use TLS 1.2 or stronger on a REGIONAL endpoint with an ACM certificate; queue policies deny non-TLS access; a load balancer's HTTPS listener uses a TLS 1.2+ policy and an ACM certificate, its HTTP listener only redirects to HTTPS.", Mandatory, []string{"allowedSecurityPolicies"}, tlsOnly},
		{"partial-batch-responses", "SQS event source mappings report batch item failures, so one failed record does not retry the whole batch.", Mandatory, nil, partialBatch},
		{"authorized-methods", "No API Gateway method or HTTP API route is open: each needs an authorizer, IAM or an API key, or declares that its consumer verifies a body signature (hookline auth signature).", Mandatory, []string{"exemptHttpMethods"}, authorizedMethods},
		{"encryption-at-rest", "Queues are encrypted at rest.", Advisory, nil, encryptionAtRest},
		{"log-retention", "Every log group has a retention period.", Advisory, nil, logRetention},
		{"no-receive-route", "No API Gateway integration exposes SQS ReceiveMessage, DeleteMessage or PurgeQueue.", Advisory, nil, noReceiveRoute},
		{"throttle-bound", "No stage or route throttle exceeds the configured maximum (default 10,000 requests/s, burst 5,000: the account's whole regional API Gateway quota, which every API in the account shares; set it lower in the policy config, e.g. 5,000/2,500).", Mandatory, []string{"maxThrottleRate", "maxThrottleBurst"}, throttleBound},
		{"access-logs", "Every API Gateway stage (REST or HTTP API) writes access logs to a log group.", Advisory, nil, accessLogs},
	}
	StackRules = []StackRule{
		{"dlq-required", "Every queue that is not a DLQ redrives to a DLQ; a FIFO queue's DLQ is FIFO and keeps messages at least as long.", Mandatory, dlqRequired},
		{"visibility-timeout", "A queue's visibility timeout is at least 6 x the timeout of the function consuming it.", Mandatory, visibilityTimeout},
		{"tls-only-coverage", "Every queue has a TLS-only policy, and a REST or HTTP API behind a custom domain has its default endpoint disabled.", Mandatory, tlsCoverage},
		{"stage-throttling", "Every API Gateway stage has a rate and burst limit: an HTTP API stage's default route settings, a REST stage's method settings for */*.", Mandatory, stageThrottling},
		{"secret-scope", "A function reads SSM parameters only under its stack's prefix /hookline/<environment>/, never another stack's secrets or the account's.", Mandatory, secretScope},
		{"archive-protected", "Every S3 bucket (the archive of deliveries, whose bodies may hold personal data, and its query results) is encrypted by default with a KMS key, blocks public access with all four settings, denies requests without TLS and expires its objects (a versioned bucket, such as the portal's state, its noncurrent versions).", Mandatory, archiveProtected},
		{"archive-present", "Every hookline consumer archives its deliveries (hookline:archive, on by default), so they can be searched and replayed.", Advisory, archivePresent},
		{CouldNotJudge, "Names every input a mandatory rule could not judge because it is unknown at preview, so no rule skips silently.", Advisory, couldNotJudge},
	}
)

// Evaluate runs every rule over the resources, as the offline plan does.
func Evaluate(rs []Resource, c Config) []Violation {
	c = c.WithDefaults()
	level := func(name, def string) string {
		if l, ok := c.Levels[name]; ok {
			return l
		}
		return def
	}
	var out []Violation
	for _, rule := range ResourceRules {
		lvl := level(rule.Name, rule.Level)
		if lvl == Disabled {
			continue
		}
		for _, r := range rs {
			for _, msg := range rule.Check(r, c) {
				out = append(out, Violation{Policy: rule.Name, Level: lvl, URN: r.URN, Message: msg})
			}
		}
	}
	for _, rule := range StackRules {
		lvl := level(rule.Name, rule.Level)
		if lvl == Disabled {
			continue
		}
		for _, f := range rule.Check(rs, c) {
			out = append(out, Violation{Policy: rule.Name, Level: lvl, URN: f.URN, Message: f.Message})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Policy != out[j].Policy {
			return out[i].Policy < out[j].Policy
		}
		return out[i].URN < out[j].URN
	})
	return out
}

// --- resource rules -----------------------------------------------------------

func fifoOrdering(r Resource, _ Config) []string {
	if r.Type != TypeQueue {
		return nil
	}
	fifo, st := r.boolean("fifoQueue")
	if st == unknown {
		return nil
	}
	if !fifo {
		return []string{fmt.Sprintf("queue %s is a standard queue, which does not keep order: set fifoQueue: true (with a name ending in .fifo)", r.Name)}
	}
	cbd, st := r.boolean("contentBasedDeduplication")
	if st != unknown && !cbd {
		return []string{fmt.Sprintf("FIFO queue %s has no deduplication strategy: set contentBasedDeduplication: true so a resent webhook without an event id is dropped", r.Name)}
	}
	return nil
}

func maxReceiveCount(r Resource, c Config) []string {
	if r.Type != TypeQueue {
		return nil
	}
	doc, st := r.jsonDoc("redrivePolicy")
	if st != present {
		return nil
	}
	n, ok := doc["maxReceiveCount"].(float64)
	if !ok {
		return []string{fmt.Sprintf("queue %s has a redrive policy without maxReceiveCount: set one between %d and %d", r.Name, c.MinReceiveCount, c.MaxReceiveCount)}
	}
	if int(n) < c.MinReceiveCount || int(n) > c.MaxReceiveCount {
		return []string{fmt.Sprintf("queue %s redrives after %d receives: use a maxReceiveCount between %d and %d (too low dead-letters transient failures; it is the safety net above the consumer's retry budget)", r.Name, int(n), c.MinReceiveCount, c.MaxReceiveCount)}
	}
	return nil
}

func tlsOnly(r Resource, c Config) []string {
	switch r.Type {
	case TypeDomainName:
		var out []string
		sp, st := r.str("securityPolicy")
		out = appendIf(out, securityPolicyFinding(r.Name, "securityPolicy", sp, st, c,
			fmt.Sprintf("domain %s sets no securityPolicy, and API Gateway then allows TLS 1.0: set securityPolicy: TLS_1_2", r.Name)))
		if types, st := r.str("endpointConfiguration", "types"); st == present && types != "REGIONAL" {
			out = append(out, fmt.Sprintf("domain %s is %s: use a REGIONAL endpoint (types: REGIONAL) so its TLS policy and certificate are the ones you set", r.Name, types))
		}
		if _, st := r.get("certificateBody"); st != absent {
			out = append(out, fmt.Sprintf("domain %s uses an uploaded certificate: use an ACM certificate (regionalCertificateArn) that renews itself", r.Name))
		}
		arn, st := r.str("regionalCertificateArn")
		if st == absent {
			arn, st = r.str("certificateArn")
		}
		return appendIf(out, acmCertificateFinding(r.Name, "regionalCertificateArn", arn, st))
	case TypeDomainNameV2:
		var out []string
		sp, st := r.str("domainNameConfiguration", "securityPolicy")
		out = appendIf(out, securityPolicyFinding(r.Name, "domainNameConfiguration.securityPolicy", sp, st, c,
			fmt.Sprintf("domain %s sets no securityPolicy: set domainNameConfiguration.securityPolicy: TLS_1_2", r.Name)))
		if et, st := r.str("domainNameConfiguration", "endpointType"); st == present && et != "REGIONAL" {
			out = append(out, fmt.Sprintf("domain %s is %s: use endpointType REGIONAL", r.Name, et))
		}
		arn, st := r.str("domainNameConfiguration", "certificateArn")
		return appendIf(out, acmCertificateFinding(r.Name, "domainNameConfiguration.certificateArn", arn, st))
	case TypeListener:
		return listenerTLS(r)
	case TypeQueuePolicy:
		if m := denyInsecure(r, "policy"); m != "" {
			return []string{m}
		}
	case TypeQueue:
		if _, st := r.get("policy"); st == present {
			if m := denyInsecure(r, "policy"); m != "" {
				return []string{m}
			}
		}
	}
	return nil
}

// tls12Policies are the name parts of the Elastic Load Balancing security
// policies that accept nothing older than TLS 1.2 ("Security policies for
// your Application Load Balancer": the TLS13-1-2/1-3, TLS-1-2 and FS-1-2
// families); a listener without one gets ELBSecurityPolicy-2016-08, which
// accepts TLS 1.0.
var tls12Policies = []string{"-TLS13-1-2-", "-TLS13-1-3-", "-TLS-1-2-", "-FS-1-2-"}

// listenerTLS judges an Application Load Balancer listener: HTTPS with a
// TLS 1.2+ policy and an ACM certificate, or HTTP whose every default
// action redirects to HTTPS.
func listenerTLS(r Resource) []string {
	proto, st := r.str("protocol")
	if st != present {
		return nil
	}
	switch proto {
	case "HTTPS":
		var out []string
		sp, st := r.str("sslPolicy")
		ok := false
		for _, part := range tls12Policies {
			ok = ok || strings.Contains(sp, part)
		}
		switch {
		case st == absent:
			out = append(out, fmt.Sprintf("listener %s sets no sslPolicy, and the load balancer then uses ELBSecurityPolicy-2016-08, which accepts TLS 1.0: set sslPolicy: ELBSecurityPolicy-TLS13-1-2-2021-06", r.Name))
		case st == present && !ok:
			out = append(out, fmt.Sprintf("listener %s uses %s, which accepts TLS older than 1.2: set sslPolicy: ELBSecurityPolicy-TLS13-1-2-2021-06", r.Name, sp))
		}
		if arn, st := r.str("certificateArn"); st == present && !strings.Contains(arn, ":acm:") {
			out = append(out, fmt.Sprintf("listener %s certificate %s is not an ACM certificate: use one from ACM, which renews itself", r.Name, arn))
		}
		return out
	case "HTTP":
		acts, st := r.get("defaultActions")
		if st != present {
			return nil
		}
		list, _ := acts.([]any)
		for _, a := range list {
			act := Resource{Props: map[string]any{"a": a}}
			typ, tst := act.str("a", "type")
			p, pst := act.str("a", "redirect", "protocol")
			if tst == unknown || pst == unknown {
				continue
			}
			if typ != "redirect" || p != "HTTPS" {
				return []string{fmt.Sprintf("listener %s serves plain HTTP (%s): make its default action a redirect to HTTPS (type redirect, redirect {protocol: HTTPS, port: 443, statusCode: HTTP_301})", r.Name, typ)}
			}
		}
	}
	return nil
}

// securityPolicyFinding judges a domain's TLS security policy read from
// field (st its state): whenAbsent when it is not set, a finding naming the
// allowed policies when it is another, "" when allowed or unknown.
func securityPolicyFinding(domain, field, sp string, st state, c Config, whenAbsent string) string {
	switch {
	case st == absent:
		return whenAbsent
	case st == present && !slices.Contains(c.AllowedSecurityPolicies, sp):
		return fmt.Sprintf("domain %s uses security policy %s: set %s to one of %s", domain, sp, field, strings.Join(c.AllowedSecurityPolicies, ", "))
	}
	return ""
}

// acmCertificateFinding judges a domain's certificate ARN read from field:
// it must be set and name an ACM certificate.
func acmCertificateFinding(domain, field, arn string, st state) string {
	switch {
	case st == absent:
		return fmt.Sprintf("domain %s has no ACM certificate: set %s", domain, field)
	case st == present && !strings.Contains(arn, ":acm:"):
		return fmt.Sprintf("domain %s certificate %s is not an ACM certificate", domain, arn)
	}
	return ""
}

// appendIf appends msg unless it is empty.
func appendIf(out []string, msg string) []string {
	if msg == "" {
		return out
	}
	return append(out, msg)
}

// denyInsecure checks that the policy document at prop denies requests
// without TLS; "" when it does or cannot be known yet.
func denyInsecure(r Resource, prop string) string {
	doc, st := r.jsonDoc(prop)
	switch st {
	case unknown:
		return ""
	case absent:
		return fmt.Sprintf("%s %s has no readable policy document: add a statement that denies sqs:* when aws:SecureTransport is false", r.Type, r.Name)
	}
	if deniesInsecure(doc) {
		return ""
	}
	return fmt.Sprintf("policy %s does not deny non-TLS access: add {\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"sqs:*\",\"Condition\":{\"Bool\":{\"aws:SecureTransport\":\"false\"}}}", r.Name)
}

func deniesInsecure(doc map[string]any) bool {
	var stmts []any
	switch s := doc["Statement"].(type) {
	case []any:
		stmts = s
	case map[string]any:
		stmts = []any{s}
	}
	for _, s := range stmts {
		st, ok := s.(map[string]any)
		if !ok || st["Effect"] != "Deny" {
			continue
		}
		cond, _ := st["Condition"].(map[string]any)
		b, _ := cond["Bool"].(map[string]any)
		if v, ok := b["aws:SecureTransport"]; ok && (v == "false" || v == false) {
			return true
		}
	}
	return false
}

func partialBatch(r Resource, _ Config) []string {
	if r.Type != TypeMapping {
		return nil
	}
	arn, st := r.str("eventSourceArn")
	switch st {
	case present:
		if !isSQSArn(arn) {
			return nil
		}
	case unknown:
		// A stream or broker mapping says where to start or what to read;
		// an SQS mapping does not. Without those it is SQS for sure.
		for _, p := range []string{"startingPosition", "topics", "queues", "selfManagedEventSource"} {
			if _, st := r.get(p); st != absent {
				return nil
			}
		}
	default:
		return nil
	}
	types, st := r.strings("functionResponseTypes")
	if st == unknown || slices.Contains(types, "ReportBatchItemFailures") {
		return nil
	}
	return []string{fmt.Sprintf("mapping %s does not report batch item failures: set functionResponseTypes: [ReportBatchItemFailures] so one failed record does not redeliver (and reorder) the whole batch", r.Name)}
}

func authorizedMethods(r Resource, c Config) []string {
	switch r.Type {
	case TypeMethod:
		auth, st := r.str("authorization")
		if st != present || auth != "NONE" {
			return nil
		}
		if m, st := r.str("httpMethod"); st == present && slices.Contains(c.ExemptHTTPMethods, m) {
			return nil
		}
		key, st := r.boolean("apiKeyRequired")
		if st == unknown || key {
			return nil
		}
	case TypeRouteV2:
		// An HTTP API route without authorizationType is open (NONE).
		auth, st := r.str("authorizationType")
		if st == unknown || (st == present && auth != "NONE") {
			return nil
		}
		if key, st := r.str("routeKey"); st == present && slices.Contains(c.ExemptHTTPMethods, strings.SplitN(key, " ", 2)[0]) {
			return nil
		}
	default:
		return nil
	}
	op, st := r.str("operationName")
	if st == unknown {
		return nil
	}
	if scheme, declared := contract.ParseSignatureOnlyOperation(op); declared && st == present {
		if scheme.SignsBody() {
			return nil
		}
		return []string{fmt.Sprintf("method %s is open and declares signature-only auth with scheme %q, which signs no body: anyone could post; use a scheme that signs the body (%s) or an edge credential", r.Name, scheme, bodySigningSchemes())}
	}
	return []string{fmt.Sprintf("method %s is open to anyone: set authorization (COGNITO_USER_POOLS, AWS_IAM, CUSTOM) or apiKeyRequired: true, or, for a sender that signs its bodies, hookline's auth type signature", r.Name)}
}

func bodySigningSchemes() string {
	var names []string
	for _, s := range contract.Schemes {
		if s.SignsBody() {
			names = append(names, string(s))
		}
	}
	return strings.Join(names, ", ")
}

func encryptionAtRest(r Resource, _ Config) []string {
	if r.Type != TypeQueue {
		return nil
	}
	if _, st := r.get("kmsMasterKeyId"); st != absent {
		return nil
	}
	sse, st := r.boolean("sqsManagedSseEnabled")
	if st == present && !sse {
		return []string{fmt.Sprintf("queue %s is not encrypted at rest: set sqsManagedSseEnabled: true or a kmsMasterKeyId", r.Name)}
	}
	return nil
}

func logRetention(r Resource, _ Config) []string {
	if r.Type != TypeLogGroup {
		return nil
	}
	n, st := r.number("retentionInDays")
	if st == unknown || (st == present && n > 0) {
		return nil
	}
	return []string{fmt.Sprintf("log group %s keeps logs forever: set retentionInDays", r.Name)}
}

var receiveActions = []string{"receivemessage", "deletemessage", "purgequeue", "changemessagevisibility"}

func noReceiveRoute(r Resource, _ Config) []string {
	if r.Type == TypeIntegrationV2 {
		sub, st := r.str("integrationSubtype")
		if st == present && strings.HasPrefix(sub, "SQS-") && sub != "SQS-SendMessage" {
			return []string{fmt.Sprintf("integration %s lets callers %s on a queue: webhook routes may only SendMessage", r.Name, strings.TrimPrefix(sub, "SQS-"))}
		}
		return nil
	}
	if r.Type != TypeIntegration {
		return nil
	}
	uri, st := r.str("uri")
	if st == present && !strings.Contains(uri, ":sqs:") {
		return nil
	}
	texts := []string{strings.ToLower(uri)}
	if v, st := r.get("requestTemplates"); st == present {
		if m, ok := v.(map[string]any); ok {
			for _, t := range m {
				if s, ok := unwrap(t).(string); ok {
					texts = append(texts, strings.ToLower(s))
				}
			}
		}
	}
	if v, st := r.get("requestParameters"); st == present {
		if m, ok := v.(map[string]any); ok {
			for _, t := range m {
				if s, ok := unwrap(t).(string); ok {
					texts = append(texts, strings.ToLower(s))
				}
			}
		}
	}
	for _, t := range texts {
		for _, a := range receiveActions {
			if strings.Contains(t, "action="+a) || strings.Contains(t, "action/"+a) || strings.Contains(t, "amazonsqs."+a) {
				return []string{fmt.Sprintf("integration %s lets callers %s on a queue: webhook routes may only SendMessage", r.Name, a)}
			}
		}
	}
	return nil
}

// accessLogs: a stage that writes no access logs leaves no trace of who
// posted what (advisory: hookline:accessLogs: false turns them off on purpose).
func accessLogs(r Resource, _ Config) []string {
	if r.Type != TypeStage && r.Type != TypeStageV2 {
		return nil
	}
	if _, st := r.get("accessLogSettings", "destinationArn"); st != absent {
		return nil
	}
	return []string{fmt.Sprintf("stage %s writes no access logs: set accessLogSettings with a log group (hookline:accessLogs: true)", r.Name)}
}
