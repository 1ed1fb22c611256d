package infra_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/infra"
	"github.com/hookline/hookline/internal/testing/harness"
	"github.com/hookline/hookline/plan"
	"github.com/hookline/hookline/plan/awsmodel"
	"github.com/hookline/hookline/stackconfig"
)

// harness.StubHandler stands in for the built handler: these tests are about the
// graph, and TestHandlerBuild covers the build.
func runPlan(t *testing.T, dir, stack string) *plan.Result {
	t.Helper()
	res, err := plan.Run(plan.Options{Dir: dir, Stack: stack, Handler: harness.StubHandler})
	if err != nil {
		t.Fatalf("plan %s: %v", stack, err)
	}
	return res
}

// path reads a nested input ("redrivePolicy", "loggingConfig.logFormat").
func path(m map[string]any, p string) any {
	var cur any = m
	for _, k := range strings.Split(p, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = obj[k]
	}
	return cur
}

func num(v any) int {
	f, _ := v.(float64)
	return int(f)
}

func TestStacksUnderMocks(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			res := runPlan(t, "..", stack)
			c := res.Config
			checkQueues(t, res, c)
			checkAPI(t, res, c)
			checkFunctions(t, res, c)
			checkMonitoring(t, res, c)
			checkOutputs(t, res, c)
		})
	}
}

func checkQueues(t *testing.T, res *plan.Result, c *stackconfig.Config) {
	queues := map[string]plan.Resource{}
	for _, q := range res.Find("aws:sqs/queue:Queue") {
		queues[q.Inputs["name"].(string)] = q
		if q.Inputs["fifoQueue"] != true || q.Inputs["contentBasedDeduplication"] != true {
			t.Errorf("%s is not FIFO with a dedup strategy", q.Name)
		}
		if q.Inputs["sqsManagedSseEnabled"] != true {
			t.Errorf("%s is not encrypted at rest", q.Name)
		}
		if fmt.Sprint(q.Inputs["maxMessageSize"]) != fmt.Sprint(contract.MaxMessageBytes) {
			t.Errorf("%s: maxMessageSize %v, want the contract's %d set explicitly", q.Name, q.Inputs["maxMessageSize"], contract.MaxMessageBytes)
		}
		if path(q.Inputs, "tags.hookline:environment") != c.Environment {
			t.Errorf("%s lacks the environment tag", q.Name)
		}
	}
	if len(queues) != 2*len(c.Sources) {
		t.Fatalf("got %d queues for %d sources", len(queues), len(c.Sources))
	}
	model := awsmodel.New(c.Region)
	for _, s := range c.Sources {
		q, ok := queues[c.QueueName(s)]
		if !ok {
			t.Fatalf("no queue for %s", s.Name)
		}
		dlq := queues[c.DLQName(s)]
		redrive := decode(t, q.Inputs["redrivePolicy"].(string))
		wantDLQ := fmt.Sprintf("arn:aws:sqs:%s:%s:%s", c.Region, model.Account, c.DLQName(s))
		if redrive["deadLetterTargetArn"] != wantDLQ || num(redrive["maxReceiveCount"]) != s.MaxReceiveCount {
			t.Errorf("%s redrive: %v", s.Name, redrive)
		}
		if vt := num(q.Inputs["visibilityTimeoutSeconds"]); vt < 6*s.Function.TimeoutSeconds {
			t.Errorf("%s visibility %d < 6 x %d", s.Name, vt, s.Function.TimeoutSeconds)
		}
		if num(dlq.Inputs["messageRetentionSeconds"]) != 1209600 || num(dlq.Inputs["messageRetentionSeconds"]) < num(q.Inputs["messageRetentionSeconds"]) {
			t.Errorf("%s DLQ retention: %v", s.Name, dlq.Inputs["messageRetentionSeconds"])
		}
		if _, ok := dlq.Inputs["redrivePolicy"]; ok {
			t.Errorf("%s DLQ redrives somewhere", s.Name)
		}
		if s.HighThroughputMode() && (q.Inputs["deduplicationScope"] != "messageGroup" || q.Inputs["fifoThroughputLimit"] != "perMessageGroupId") {
			t.Errorf("%s is not in high-throughput mode", s.Name)
		}
	}
	allows := res.Find("aws:sqs/redriveAllowPolicy:RedriveAllowPolicy")
	if len(allows) != len(c.Sources) {
		t.Errorf("got %d redrive allow policies", len(allows))
	}
	for _, a := range allows {
		p := decode(t, a.Inputs["redriveAllowPolicy"].(string))
		if p["redrivePermission"] != "byQueue" || !strings.HasSuffix(a.Inputs["queueUrl"].(string), "-dlq.fifo") {
			t.Errorf("%s: %v on %v", a.Name, p, a.Inputs["queueUrl"])
		}
	}
	policies := res.Find("aws:sqs/queuePolicy:QueuePolicy")
	if len(policies) != len(queues) {
		t.Errorf("got %d queue policies for %d queues", len(policies), len(queues))
	}
	for _, p := range policies {
		if !strings.Contains(p.Inputs["policy"].(string), `"aws:SecureTransport":"false"`) {
			t.Errorf("%s does not deny insecure transport", p.Name)
		}
	}
}

func checkAPI(t *testing.T, res *plan.Result, c *stackconfig.Config) {
	if c.HTTP() {
		if n := len(res.Find("aws:apigateway/restApi:RestApi")); n != 0 {
			t.Errorf("an http stack has %d REST APIs", n)
		}
		checkHTTPAPI(t, res, c)
		return
	}
	apis := res.Find("aws:apigateway/restApi:RestApi")
	if len(apis) != 1 {
		t.Fatalf("got %d REST APIs", len(apis))
	}
	if got := apis[0].Inputs["disableExecuteApiEndpoint"]; got != (c.Domain != nil) {
		t.Errorf("disableExecuteApiEndpoint = %v with domain %v", got, c.Domain != nil)
	}
	if _, ok := apis[0].Inputs["binaryMediaTypes"]; ok {
		t.Error("binaryMediaTypes would base64 JSON bodies")
	}

	methods := res.Find("aws:apigateway/method:Method")
	integrations := res.Find("aws:apigateway/integration:Integration")
	if len(methods) != len(c.Sources) || len(integrations) != len(c.Sources) {
		t.Fatalf("got %d methods, %d integrations", len(methods), len(integrations))
	}
	for _, s := range c.Sources {
		name := infra.ComponentName + "-" + s.Name
		m := find(t, methods, name+"-method")
		wantAuth := map[string]string{"apiKey": "NONE", "token": "CUSTOM", "signature": "NONE", "cognito": "COGNITO_USER_POOLS", "iam": "AWS_IAM"}[s.Auth.Type]
		if s.Auth.Type == "apiKey" && c.EdgeAuthorizer() {
			wantAuth = "CUSTOM" // the key source is AUTHORIZER: the key passes through it
		}
		wantKey := s.Auth.Type == "apiKey" || s.Auth.Type == "token"
		if m.Inputs["authorization"] != wantAuth || m.Inputs["apiKeyRequired"] != wantKey {
			t.Errorf("%s method auth: %v / %v, want %s / %v", s.Name, m.Inputs["authorization"], m.Inputs["apiKeyRequired"], wantAuth, wantKey)
		}
		if (wantAuth == "CUSTOM" || wantAuth == "COGNITO_USER_POOLS") != (m.Inputs["authorizerId"] != nil) {
			t.Errorf("%s method authorizer %v with authorization %s", s.Name, m.Inputs["authorizerId"], wantAuth)
		}
		if rp, _ := m.Inputs["requestParameters"].(map[string]any); s.Auth.Type == "token" && rp["method.request.querystring.token"] != true {
			t.Errorf("%s: the token query parameter is not required: %v", s.Name, m.Inputs["requestParameters"])
		}
		if op, _ := m.Inputs["operationName"].(string); (s.Auth.Type == "signature") != (op == "hookline:signature-only:"+string(s.Signature.Scheme)) {
			t.Errorf("%s (auth %s) operationName %q", s.Name, s.Auth.Type, op)
		}
		if m.Inputs["requestValidatorId"] == nil {
			t.Errorf("%s method has no request validator", s.Name)
		}
		in := find(t, integrations, name+"-integration")
		if in.Inputs["type"] != "AWS" || in.Inputs["passthroughBehavior"] != "NEVER" {
			t.Errorf("%s integration: %v %v", s.Name, in.Inputs["type"], in.Inputs["passthroughBehavior"])
		}
		wantURI := fmt.Sprintf("arn:aws:apigateway:%s:sqs:path/%s/%s", c.Region, awsmodel.DefaultAccount, c.QueueName(s))
		if in.Inputs["uri"] != wantURI {
			t.Errorf("%s uri = %v, want %s", s.Name, in.Inputs["uri"], wantURI)
		}
		tpls := in.Inputs["requestTemplates"].(map[string]any)
		if len(tpls) != len(s.ContentTypes) {
			t.Errorf("%s has templates for %d content types, accepts %d", s.Name, len(tpls), len(s.ContentTypes))
		}
		for _, ct := range s.ContentTypes {
			if tpls[ct] != s.Spec().RequestTemplate() {
				t.Errorf("%s template for %s is not the contract's", s.Name, ct)
			}
		}
	}
	if n := len(res.Find("aws:apigateway/integrationResponse:IntegrationResponse")); n != 3*len(c.Sources) {
		t.Errorf("got %d integration responses", n)
	}

	deps := res.Find("aws:apigateway/deployment:Deployment")
	stages := res.Find("aws:apigateway/stage:Stage")
	if len(deps) != 1 || len(stages) != 1 {
		t.Fatalf("got %d deployments, %d stages", len(deps), len(stages))
	}
	if path(deps[0].Inputs, "triggers."+infra.TriggerServed) == nil {
		t.Error("the deployment has no route trigger")
	}
	if _, ok := deps[0].Inputs["stageName"]; ok {
		t.Error("the deployment creates its own stage; the Stage must be separate")
	}
	st := stages[0]
	if st.Inputs["xrayTracingEnabled"] != c.TracingOn() || path(st.Inputs, "accessLogSettings.format") == nil {
		t.Errorf("stage: %v", st.Inputs)
	}
	settings := find(t, res.Find("aws:apigateway/methodSettings:MethodSettings"), "hookline-stage-all")
	if path(settings.Inputs, "settings.throttlingRateLimit") != c.Throttle.RateLimit ||
		num(path(settings.Inputs, "settings.throttlingBurstLimit")) != c.Throttle.BurstLimit {
		t.Errorf("stage throttling: %v", settings.Inputs["settings"])
	}
	accounts := res.Find("aws:apigateway/account:Account")
	wantLogging := "OFF"
	if c.ManageAPIGatewayAccount {
		wantLogging = "ERROR"
	}
	if (len(accounts) == 1) != c.ManageAPIGatewayAccount || path(settings.Inputs, "settings.loggingLevel") != wantLogging {
		t.Errorf("account managed = %v, %d accounts, logging %v", c.ManageAPIGatewayAccount, len(accounts), path(settings.Inputs, "settings.loggingLevel"))
	}

	apiKeySources := 0 // apiKey and token sources: both have a key and a usage plan
	for _, s := range c.Sources {
		if s.Auth.Type == "apiKey" || s.Auth.Type == "token" {
			apiKeySources++
		}
	}
	if n := len(res.Find("aws:apigateway/usagePlan:UsagePlan")); n != apiKeySources {
		t.Errorf("got %d usage plans for %d apiKey sources", n, apiKeySources)
	}
	if n := len(res.Find("aws:apigateway/apiKey:ApiKey")); n != apiKeySources {
		t.Errorf("got %d api keys", n)
	}

	domains := res.Find("aws:apigateway/domainName:DomainName")
	if c.Domain == nil {
		if len(domains) != 0 || len(res.Find("aws:acm/certificate:Certificate")) != 0 {
			t.Error("a stack without a domain got one")
		}
		return
	}
	if len(domains) != 1 {
		t.Fatalf("got %d domains", len(domains))
	}
	d := domains[0]
	if d.Inputs["securityPolicy"] != "TLS_1_2" || path(d.Inputs, "endpointConfiguration.types") != "REGIONAL" {
		t.Errorf("domain: %v", d.Inputs)
	}
	if d.Inputs["regionalCertificateArn"] == nil || len(res.Find("aws:acm/certificateValidation:CertificateValidation")) != 1 {
		t.Error("the domain's certificate is not validated")
	}
	var types []string
	for _, r := range res.Find("aws:route53/record:Record") {
		types = append(types, r.Inputs["type"].(string))
		if r.Inputs["zoneId"] != c.Domain.HostedZoneID {
			t.Errorf("record %s in zone %v", r.Name, r.Inputs["zoneId"])
		}
		if r.Inputs["type"] == "A" || r.Inputs["type"] == "AAAA" {
			alias := r.Inputs["aliases"].([]any)[0].(map[string]any)
			if !strings.HasSuffix(alias["name"].(string), ".execute-api."+c.Region+".amazonaws.com") {
				t.Errorf("alias target %v", alias["name"])
			}
		}
	}
	slices.Sort(types)
	if strings.Join(types, ",") != "A,AAAA,CNAME" {
		t.Errorf("records: %v", types)
	}
	if len(res.Find("aws:apigateway/basePathMapping:BasePathMapping")) != 1 {
		t.Error("no base path mapping")
	}
}

func checkFunctions(t *testing.T, res *plan.Result, c *stackconfig.Config) {
	logGroups := map[string]plan.Resource{}
	for _, lg := range res.Find("aws:cloudwatch/logGroup:LogGroup") {
		logGroups[lg.Inputs["name"].(string)] = lg
		if num(lg.Inputs["retentionInDays"]) != c.LogRetentionDays {
			t.Errorf("log group %s retention %v", lg.Name, lg.Inputs["retentionInDays"])
		}
	}
	fns := res.Find("aws:lambda/function:Function")
	maps := res.Find("aws:lambda/eventSourceMapping:EventSourceMapping")
	wantFns := len(c.Sources)
	if c.EdgeAuthorizer() {
		wantFns++
	}
	if len(fns) != wantFns || len(maps) != len(c.Sources) {
		t.Fatalf("got %d functions, %d mappings", len(fns), len(maps))
	}
	for _, s := range c.Sources {
		fn := find(t, fns, infra.ComponentName+"-"+s.Name+"-function")
		if fn.Inputs["runtime"] != "provided.al2023" || fmt.Sprint(fn.Inputs["architectures"]) != "[arm64]" || fn.Inputs["handler"] != "bootstrap" {
			t.Errorf("%s: %v %v", s.Name, fn.Inputs["runtime"], fn.Inputs["architectures"])
		}
		if path(fn.Inputs, "loggingConfig.logFormat") != "JSON" || path(fn.Inputs, "tracingConfig.mode") != infra.LambdaTracingMode(c) {
			t.Errorf("%s logging/tracing: %v %v", s.Name, fn.Inputs["loggingConfig"], fn.Inputs["tracingConfig"])
		}
		if _, ok := logGroups[path(fn.Inputs, "loggingConfig.logGroup").(string)]; !ok {
			t.Errorf("%s logs to a log group the stack does not manage", s.Name)
		}
		if num(fn.Inputs["timeout"]) != s.Function.TimeoutSeconds || num(fn.Inputs["memorySize"]) != s.Function.MemoryMB {
			t.Errorf("%s sizing", s.Name)
		}
		env := path(fn.Inputs, "environment.variables").(map[string]any)
		if env["HOOKLINE_SOURCE"] != s.Name || env["HOOKLINE_SIGNATURE_SCHEME"] != string(s.Signature.Scheme) ||
			!strings.HasSuffix(fmt.Sprint(env["HOOKLINE_DLQ_URL"]), c.DLQName(s)) {
			t.Errorf("%s environment: %v", s.Name, env)
		}
		m := find(t, maps, infra.ComponentName+"-"+s.Name+"-mapping")
		if num(m.Inputs["batchSize"]) > 10 || fmt.Sprint(m.Inputs["functionResponseTypes"]) != "[ReportBatchItemFailures]" ||
			num(path(m.Inputs, "scalingConfig.maximumConcurrency")) != s.Function.MaxConcurrency {
			t.Errorf("%s mapping: %v", s.Name, m.Inputs)
		}
		wantQueue := fmt.Sprintf("arn:aws:sqs:%s:%s:%s", c.Region, awsmodel.DefaultAccount, c.QueueName(s))
		if m.Inputs["eventSourceArn"] != wantQueue {
			t.Errorf("%s mapping reads %v", s.Name, m.Inputs["eventSourceArn"])
		}
	}
	idem := 0
	for _, s := range c.Sources {
		if s.Idempotency.Enabled {
			idem++
		}
	}
	tables := res.Find("aws:dynamodb/table:Table")
	if len(tables) != idem {
		t.Errorf("got %d idempotency tables for %d sources that want one", len(tables), idem)
	}
	for _, tb := range tables {
		if path(tb.Inputs, "ttl.enabled") != true || path(tb.Inputs, "ttl.attributeName") != "expiresAt" {
			t.Errorf("table %s ttl: %v", tb.Name, tb.Inputs["ttl"])
		}
	}
}

func checkMonitoring(t *testing.T, res *plan.Result, c *stackconfig.Config) {
	alarms := res.Find("aws:cloudwatch/metricAlarm:MetricAlarm")
	open := 0 // signature sources also get a forgeries alarm on the handler's Forged metric
	for _, s := range c.Sources {
		if s.Auth.Type == "signature" {
			open++
			a := find(t, alarms, c.SourceAlarmName(s, "forgeries"))
			if a.Inputs["metricName"] != "Forged" || a.Inputs["namespace"] != "hookline" || path(a.Inputs, "dimensions.Source") != s.Name {
				t.Errorf("forgeries alarm of %s: %v", s.Name, a.Inputs)
			}
		}
	}
	if open == 0 {
		t.Errorf("stack %s has no signature source to check the forgeries alarm on", c.Stack)
	}
	if len(alarms) != 4*len(c.Sources)+1+open {
		t.Errorf("got %d alarms", len(alarms))
	}
	for _, a := range alarms {
		if len(a.Inputs["alarmActions"].([]any)) != 1 {
			t.Errorf("alarm %s has no action", a.Name)
		}
	}
	if n := len(res.Find("aws:sns/topicSubscription:TopicSubscription")); n != len(c.AlarmEmails) {
		t.Errorf("got %d subscriptions for %d e-mails", n, len(c.AlarmEmails))
	}
	if n := len(res.Find("aws:cloudwatch/dashboard:Dashboard")); n != 1 {
		t.Errorf("got %d dashboards", n)
	}
}

func checkOutputs(t *testing.T, res *plan.Result, c *stackconfig.Config) {
	o := res.Outputs
	if c.Domain != nil {
		if o["endpoint"] != "https://"+c.Domain.Name {
			t.Errorf("endpoint = %v", o["endpoint"])
		}
	} else if !strings.HasPrefix(o["endpoint"].(string), "https://") || !strings.HasSuffix(o["endpoint"].(string), ".execute-api."+c.Region+".amazonaws.com/v1") {
		t.Errorf("endpoint = %v", o["endpoint"])
	}
	if o["ingress"] != c.Ingress || o["apiId"] == nil {
		t.Errorf("ingress %v, apiId %v", o["ingress"], o["apiId"])
	}
	if c.HTTP() {
		if _, has := o["apiKeys"]; has {
			t.Errorf("an http stack outputs api keys: %v", o["apiKeys"])
		}
	} else if o["apiKeys"] != plan.Secret {
		t.Errorf("api keys are not secret: %v", o["apiKeys"])
	}
	sources := o["sources"].(map[string]any)
	for _, s := range c.Sources {
		src := sources[s.Name].(map[string]any)
		if src["url"] != o["endpoint"].(string)+"/"+s.Name || !strings.HasSuffix(src["queueUrl"].(string), c.QueueName(s)) {
			t.Errorf("%s outputs: %v", s.Name, src)
		}
	}
}

func find(t *testing.T, rs []plan.Resource, name string) plan.Resource {
	t.Helper()
	for _, r := range rs {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no resource named %s", name)
	return plan.Resource{}
}

// TestEveryResourceHasAParentComponent: the graph reads as the architecture.
func TestEveryResourceHasAParentComponent(t *testing.T) {
	res := runPlan(t, "..", "prod")
	for _, r := range res.Resources {
		if r.Type == infra.TypeWebhook {
			if r.Parent != "" {
				t.Errorf("the root component has parent %s", r.Parent)
			}
			continue
		}
		if !strings.Contains(r.Parent, "hookline:infra:") {
			t.Errorf("%s (%s) is not inside a hookline component", r.Name, r.Type)
		}
	}
}

// writeStack copies the project's stack file for stack into a fresh dir,
// applying edit to its text.
func writeStack(t *testing.T, stack string, edit func(string) string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", stackconfig.StackFile(stack)))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, stackconfig.StackFile(stack)), []byte(edit(string(b))), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// asREST turns the dev stack file (ingress http) into a REST stack.
func asREST(s string) string {
	return strings.Replace(s, "hookline:ingress: http", "hookline:ingress: rest", 1)
}

// TestDeploymentRedeploysWhenAMethodChanges: the Deployment's trigger
// changes with a route and only then, on either ingress.
func TestDeploymentRedeploysWhenAMethodChanges(t *testing.T) {
	for _, tc := range []struct {
		ingress, deployment string
		edit                func(string) string
	}{
		{"http", "aws:apigatewayv2/deployment:Deployment", func(s string) string { return s }},
		{"rest", "aws:apigateway/deployment:Deployment", asREST},
	} {
		t.Run(tc.ingress, func(t *testing.T) {
			trigger := func(res *plan.Result) any {
				deps := res.Find(tc.deployment)
				if len(deps) != 1 {
					t.Fatalf("%d deployments of type %s", len(deps), tc.deployment)
				}
				return path(deps[0].Inputs, "triggers."+infra.TriggerServed)
			}
			same := trigger(runPlan(t, writeStack(t, "dev", tc.edit), "dev"))
			if again := trigger(runPlan(t, writeStack(t, "dev", tc.edit), "dev")); again != same || same == nil {
				t.Fatalf("unchanged config, different trigger: %v vs %v", same, again)
			}
			changed := trigger(runPlan(t, writeStack(t, "dev", func(s string) string {
				return tc.edit(strings.Replace(s, "groupBy: header:X-GitHub-Hook-ID", "groupBy: header:X-GitHub-Hook-Installation-Target-ID", 1))
			}), "dev"))
			if changed == same {
				t.Error("changing a route's mapping does not change the deployment trigger")
			}
			// A change that touches no route keeps the trigger.
			unrelated := trigger(runPlan(t, writeStack(t, "dev", func(s string) string {
				return tc.edit(strings.Replace(s, "logRetentionDays: 7", "logRetentionDays: 14", 1))
			}), "dev"))
			if unrelated != same {
				t.Error("a change outside the routes redeploys the API")
			}
		})
	}
}

// TestSecretsBecomeSecureStringParameters: secrets set with
// pulumi config set --secret are stored in SSM and never shown.
func TestSecretsBecomeSecureStringParameters(t *testing.T) {
	dir := writeStack(t, "dev", func(s string) string {
		return s + "  hookline:signingSecrets:\n    github:\n      secure: v1:c2VjcmV0\n"
	})
	res := runPlan(t, dir, "dev")
	var params []plan.Resource
	for _, p := range res.Find("aws:ssm/parameter:Parameter") {
		if !strings.HasSuffix(p.Inputs["name"].(string), "/usage-key") {
			params = append(params, p)
		}
	}
	if len(params) != 1 {
		t.Fatalf("got %d parameters", len(params))
	}
	p := params[0].Inputs
	if p["name"] != "/hookline/dev/github/signing-secret" || p["type"] != "SecureString" || p["value"] != plan.Secret {
		t.Errorf("parameter: %v", p)
	}
	for _, p := range runPlan(t, "..", "dev").Find("aws:ssm/parameter:Parameter") {
		t.Errorf("an http stack without secrets manages parameter %s", p.Inputs["name"])
	}
	for _, p := range runPlan(t, writeStack(t, "dev", asREST), "dev").Find("aws:ssm/parameter:Parameter") {
		if n := p.Inputs["name"].(string); n != "/hookline/dev/payments/usage-key" {
			t.Errorf("a rest stack without secrets manages parameter %s", n)
		}
	}
}

// TestInvalidConfigRegistersNothing: the program fails on bad config before
// the first resource is registered, naming the key and the stack file.
func TestInvalidConfigRegistersNothing(t *testing.T) {
	raw, _, err := stackconfig.ReadStackFile("..", "dev")
	if err != nil {
		t.Fatal(err)
	}
	raw["hookline:logRetentionDays"] = "10"
	mocks := awsmodel.NewMocks("hookline", "dev", "eu-west-1")
	err = pulumi.RunErr(infra.Program(infra.ProgramOptions{Handler: harness.StubHandler}),
		pulumi.WithMocks("hookline", "dev", mocks), func(info *pulumi.RunInfo) { info.Config = raw })
	var cfgErr *stackconfig.Error
	if !errors.As(err, &cfgErr) || !strings.Contains(err.Error(), "Pulumi.dev.yaml") || !strings.Contains(err.Error(), "hookline:logRetentionDays") {
		t.Fatalf("got %v", err)
	}
	if n := len(mocks.Registered()); n != 0 {
		t.Errorf("%d resources were registered before the config error", n)
	}
}

// TestHandlerBuildFailureStopsTheProgram: a compile error is the program's error.
func TestHandlerBuildFailureStopsTheProgram(t *testing.T) {
	broken := func(string) (pulumi.Archive, error) {
		return nil, errors.New("handler/main.go:3:1: syntax error")
	}
	_, err := plan.Run(plan.Options{Dir: "..", Stack: "dev", Handler: broken})
	if err == nil || !strings.Contains(err.Error(), "build the handler") || !strings.Contains(err.Error(), "syntax error") {
		t.Fatalf("got %v", err)
	}
}

// TestEdgeAuthorizer: a stack with a token source gets the REQUEST
// authorizer as AWS needs it: the REST API reads API keys from the
// authorizer, each token route is cached on its ?token= for the source's
// TTL, apiKey routes pass x-api-key through, the function is arm64 on
// provided.al2023 with its own role (a trust policy without Resource) and
// log group, API Gateway may invoke it, and the token source's API key is
// stored for it as a SecureString.
func TestEdgeAuthorizer(t *testing.T) {
	dir := writeStack(t, "prod", func(s string) string {
		return s + "  hookline:tokens:\n    payments:\n      secure: v1:dG9rZW4=\n"
	})
	res := runPlan(t, dir, "prod")
	c := res.Config
	api := res.Find("aws:apigateway/restApi:RestApi")[0]
	if api.Inputs["apiKeySource"] != "AUTHORIZER" {
		t.Errorf("apiKeySource %v: API Gateway would not take the usage key from the authorizer", api.Inputs["apiKeySource"])
	}
	authz := map[string]plan.Resource{}
	for _, a := range res.Find("aws:apigateway/authorizer:Authorizer") {
		authz[a.Inputs["name"].(string)] = a
	}
	tok, ok := authz["payments-token"]
	if !ok {
		t.Fatalf("no token authorizer for payments: %v", authz)
	}
	if tok.Inputs["type"] != "REQUEST" || tok.Inputs["identitySource"] != "method.request.querystring.token" ||
		num(tok.Inputs["authorizerResultTtlInSeconds"]) != 300 || !strings.Contains(fmt.Sprint(tok.Inputs["authorizerUri"]), ":lambda:path/2015-03-31/functions/") {
		t.Errorf("token authorizer: %v", tok.Inputs)
	}
	if k := authz["api-key"]; k.Inputs["identitySource"] != "method.request.header.x-api-key" {
		t.Errorf("api key pass-through: %v", k.Inputs)
	}
	fn := find(t, res.Find("aws:lambda/function:Function"), "hookline-authorizer-function")
	if fn.Inputs["runtime"] != "provided.al2023" || fmt.Sprint(fn.Inputs["architectures"]) != "[arm64]" || fn.Inputs["name"] != c.AuthorizerName() {
		t.Errorf("authorizer function: %v", fn.Inputs)
	}
	env, _ := path(fn.Inputs, "environment.variables").(map[string]any)
	routes, err := contract.ParseAuthorizerRoutes(fmt.Sprint(env[contract.EnvAuthorizerRoutes]))
	if err != nil || routes["payments"].Kind != contract.EdgeToken || routes["vendors"].Kind != contract.EdgeAPIKey || len(routes) != 2 {
		t.Errorf("authorizer routes %v, %v", routes, err)
	}
	role := find(t, res.Find("aws:iam/role:Role"), "hookline-authorizer-function")
	if strings.Contains(role.Inputs["assumeRolePolicy"].(string), "Resource") {
		t.Errorf("trust policy with a Resource field, which IAM refuses: %s", role.Inputs["assumeRolePolicy"])
	}
	pol := find(t, res.Find("aws:iam/rolePolicy:RolePolicy"), "hookline-authorizer-function").Inputs["policy"].(string)
	if !strings.Contains(pol, c.AuthorizerLogGroup()) || strings.Contains(pol, "ssm:") {
		t.Errorf("authorizer policy: %s", pol)
	}
	tokens := find(t, res.Find("aws:iam/rolePolicy:RolePolicy"), "hookline-authorizer-function-secrets").Inputs["policy"].(string)
	for _, want := range []string{"parameter/hookline/prod/payments/token-secret", "parameter/hookline/prod/payments/usage-key", "ssm:GetParameter"} {
		if !strings.Contains(tokens, want) {
			t.Errorf("authorizer secrets policy lacks %s: %s", want, tokens)
		}
	}
	perm := res.Find("aws:lambda/permission:Permission")
	if len(perm) != 1 || perm[0].Inputs["principal"] != "apigateway.amazonaws.com" || !strings.HasSuffix(fmt.Sprint(perm[0].Inputs["sourceArn"]), "/authorizers/*") {
		t.Errorf("invoke permission: %v", perm)
	}
	params := map[string]map[string]any{}
	for _, p := range res.Find("aws:ssm/parameter:Parameter") {
		params[p.Inputs["name"].(string)] = p.Inputs
	}
	if p := params["/hookline/prod/payments/token-secret"]; p["type"] != "SecureString" || p["value"] != plan.Secret {
		t.Errorf("token parameter: %v", p)
	}
	if p := params["/hookline/prod/payments/usage-key"]; p["type"] != "SecureString" {
		t.Errorf("usage key parameter: %v", p)
	}
}

// checkHTTPAPI checks an http stack's ingress: one HTTP API, a route and an
// SQS-SendMessage integration per source carrying the contract, each
// source's authorizer, the stage's throttles and access logs, and the
// domain (a v2 domain name, TLS 1.2, REGIONAL) when there is one.
func checkHTTPAPI(t *testing.T, res *plan.Result, c *stackconfig.Config) {
	apis := res.Find("aws:apigatewayv2/api:Api")
	if len(apis) != 1 {
		t.Fatalf("got %d HTTP APIs", len(apis))
	}
	if apis[0].Inputs["protocolType"] != "HTTP" || apis[0].Inputs["disableExecuteApiEndpoint"] != (c.Domain != nil) {
		t.Errorf("api: %v", apis[0].Inputs)
	}
	routes := res.Find("aws:apigatewayv2/route:Route")
	integrations := res.Find("aws:apigatewayv2/integration:Integration")
	if len(routes) != len(c.Sources) || len(integrations) != len(c.Sources) {
		t.Fatalf("got %d routes, %d integrations", len(routes), len(integrations))
	}
	authorizers := res.Find("aws:apigatewayv2/authorizer:Authorizer")
	for _, s := range c.Sources {
		name := infra.ComponentName + "-" + s.Name
		r := find(t, routes, name+"-route")
		want := map[string]string{"token": "CUSTOM", "signature": "NONE", "cognito": "JWT", "iam": "AWS_IAM"}[s.Auth.Type]
		if r.Inputs["routeKey"] != "POST /"+s.Name || r.Inputs["authorizationType"] != want {
			t.Errorf("%s route: %v %v, want POST /%s %s", s.Name, r.Inputs["routeKey"], r.Inputs["authorizationType"], s.Name, want)
		}
		if (want == "CUSTOM" || want == "JWT") != (r.Inputs["authorizerId"] != nil) {
			t.Errorf("%s route authorizer %v with %s", s.Name, r.Inputs["authorizerId"], want)
		}
		if op, _ := r.Inputs["operationName"].(string); (s.Auth.Type == "signature") != (op == "hookline:signature-only:"+string(s.Signature.Scheme)) {
			t.Errorf("%s (auth %s) operationName %q", s.Name, s.Auth.Type, op)
		}
		in := find(t, integrations, name+"-integration")
		if in.Inputs["integrationType"] != "AWS_PROXY" || in.Inputs["integrationSubtype"] != "SQS-SendMessage" || in.Inputs["credentialsArn"] == nil {
			t.Errorf("%s integration: %v", s.Name, in.Inputs)
		}
		params, _ := in.Inputs["requestParameters"].(map[string]any)
		wantParams := s.Spec().HTTPRequestParameters(fmt.Sprintf("https://sqs.%s.amazonaws.com/%s/%s", c.Region, awsmodel.DefaultAccount, c.QueueName(s)))
		if len(params) != len(wantParams) {
			t.Errorf("%s integration parameters %v, want %v", s.Name, params, wantParams)
		}
		for k, v := range wantParams {
			if params[k] != v {
				t.Errorf("%s integration %s = %v, want %q", s.Name, k, params[k], v)
			}
		}
		role := find(t, res.Find("aws:iam/rolePolicy:RolePolicy"), name+"-apigw-send")
		if pol, _ := role.Inputs["policy"].(string); !strings.Contains(pol, `"sqs:SendMessage"`) || !strings.Contains(pol, c.QueueName(s)) {
			t.Errorf("%s send policy: %s", s.Name, pol)
		}
		if s.Auth.Type == "token" {
			// One authorizer for every token source, cached per token and
			// route, for the shortest TTL (one token source here).
			a := find(t, authorizers, "hookline-authorizer-token")
			if a.Inputs["authorizerType"] != "REQUEST" || a.Inputs["enableSimpleResponses"] != true || a.Inputs["authorizerPayloadFormatVersion"] != "2.0" ||
				num(a.Inputs["authorizerResultTtlInSeconds"]) != s.Auth.CacheTTL() || fmt.Sprint(a.Inputs["identitySources"]) != "[$request.querystring.token $context.routeKey]" {
				t.Errorf("%s token authorizer: %v", s.Name, a.Inputs)
			}
		}
	}
	deps := res.Find("aws:apigatewayv2/deployment:Deployment")
	stages := res.Find("aws:apigatewayv2/stage:Stage")
	if len(deps) != 1 || len(stages) != 1 {
		t.Fatalf("got %d deployments, %d stages", len(deps), len(stages))
	}
	st := stages[0].Inputs
	if st["autoDeploy"] != false || st["deploymentId"] == nil || path(deps[0].Inputs, "triggers."+infra.TriggerServed) == nil {
		t.Errorf("stage deploys on its own or without a triggered deployment: %v / %v", st, deps[0].Inputs)
	}
	if path(st, "defaultRouteSettings.throttlingRateLimit") != c.Throttle.RateLimit || num(path(st, "defaultRouteSettings.throttlingBurstLimit")) != c.Throttle.BurstLimit {
		t.Errorf("stage throttling: %v", st["defaultRouteSettings"])
	}
	perRoute, _ := st["routeSettings"].([]any)
	for _, s := range c.Sources {
		if s.Throttle == nil {
			continue
		}
		found := false
		for _, rs := range perRoute {
			m, _ := rs.(map[string]any)
			if m["routeKey"] == "POST /"+s.Name && m["throttlingRateLimit"] == s.Throttle.RateLimit && num(m["throttlingBurstLimit"]) == s.Throttle.BurstLimit {
				found = true
			}
		}
		if !found {
			t.Errorf("%s's throttle is not on its route: %v", s.Name, perRoute)
		}
	}
	if c.AccessLogsOn() && path(st, "accessLogSettings.format") == nil {
		t.Error("the stage writes no access logs")
	}
	if n := len(res.Find("aws:apigateway/usagePlan:UsagePlan")) + len(res.Find("aws:apigateway/account:Account")); n != 0 {
		t.Errorf("an http stack has %d REST usage plans or account settings", n)
	}
	domains := res.Find("aws:apigatewayv2/domainName:DomainName")
	if c.Domain == nil {
		if len(domains) != 0 {
			t.Error("a stack without a domain got one")
		}
		return
	}
	if len(domains) != 1 || path(domains[0].Inputs, "domainNameConfiguration.securityPolicy") != "TLS_1_2" ||
		path(domains[0].Inputs, "domainNameConfiguration.endpointType") != "REGIONAL" || len(res.Find("aws:apigatewayv2/apiMapping:ApiMapping")) != 1 {
		t.Errorf("domain: %v", domains)
	}
}

// TestHTTPAPIMetrics: an HTTP API publishes 4xx/5xx keyed by ApiId (not a
// REST API's 4XXError/5XXError keyed by ApiName); the 5xx alarm and the
// dashboard of an http stack watch those, with the API's id.
func TestHTTPAPIMetrics(t *testing.T) {
	res := runPlan(t, "..", "dev")
	apiID, _ := res.Find("aws:apigatewayv2/stage:Stage")[0].Inputs["apiId"].(string) // the API's id
	alarm := find(t, res.Find("aws:cloudwatch/metricAlarm:MetricAlarm"), "hookline-dev-api-5xx")
	if alarm.Inputs["metricName"] != "5xx" || path(alarm.Inputs, "dimensions.ApiId") != apiID || path(alarm.Inputs, "dimensions.Stage") != infra.StageName {
		t.Errorf("5xx alarm of an http stack: %v %v (api id %s)", alarm.Inputs["metricName"], alarm.Inputs["dimensions"], apiID)
	}
	body, _ := res.Find("aws:cloudwatch/dashboard:Dashboard")[0].Inputs["dashboardBody"].(string)
	if !strings.Contains(body, `"ApiId","`+apiID+`"`) || !strings.Contains(body, `"5xx"`) || strings.Contains(body, "5XXError") {
		t.Errorf("dashboard of an http stack: %s", body)
	}
	rest := runPlan(t, writeStack(t, "dev", asREST), "dev")
	alarm = find(t, rest.Find("aws:cloudwatch/metricAlarm:MetricAlarm"), "hookline-dev-api-5xx")
	if alarm.Inputs["metricName"] != "5XXError" || path(alarm.Inputs, "dimensions.ApiName") != "hookline-dev-api" {
		t.Errorf("5xx alarm of a rest stack: %v %v", alarm.Inputs["metricName"], alarm.Inputs["dimensions"])
	}
}

// TestHTTPStackWithEveryAuthKind: prod's sources behind an HTTP API, as a
// team would move them (vendors' apiKey dropped, payments without a usage
// plan or body group, partners with its app client ids): JWT, IAM, token
// and signature routes, and a v2 custom domain with TLS 1.2.
func TestHTTPStackWithEveryAuthKind(t *testing.T) {
	raw, _, err := stackconfig.ReadStackFile("..", "prod")
	if err != nil {
		t.Fatal(err)
	}
	raw["hookline:ingress"] = "http"
	delete(raw, "hookline:manageApiGatewayAccount")
	var sources []map[string]any
	if err := json.Unmarshal([]byte(raw["hookline:sources"]), &sources); err != nil {
		t.Fatal(err)
	}
	var kept []map[string]any
	for _, s := range sources {
		auth, _ := s["auth"].(map[string]any)
		switch s["name"] {
		case "vendors":
			continue
		case "payments":
			delete(auth, "usagePlan")
			s["groupBy"] = "source"
			s["throttle"] = map[string]any{"rateLimit": 500, "burstLimit": 250}
		case "partners":
			auth["audiences"] = []string{"4h3k2j1l0abcdefghij"}
		}
		kept = append(kept, s)
	}
	b, _ := json.Marshal(kept)
	raw["hookline:sources"] = string(b)
	res, err := plan.Run(plan.Options{Dir: "..", Stack: "prod", Config: raw, Handler: harness.StubHandler})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Policies) != 0 {
		t.Errorf("findings: %v", res.Policies)
	}
	checkAPI(t, res, res.Config)
	checkOutputs(t, res, res.Config)
	jwt := find(t, res.Find("aws:apigatewayv2/authorizer:Authorizer"), "hookline-partners-authorizer")
	if jwt.Inputs["authorizerType"] != "JWT" ||
		path(jwt.Inputs, "jwtConfiguration.issuer") != "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf123" ||
		fmt.Sprint(path(jwt.Inputs, "jwtConfiguration.audiences")) != "[4h3k2j1l0abcdefghij]" {
		t.Errorf("jwt authorizer: %v", jwt.Inputs)
	}
	r := find(t, res.Find("aws:apigatewayv2/route:Route"), "hookline-partners-route")
	if fmt.Sprint(r.Inputs["authorizationScopes"]) != "[webhooks/write]" {
		t.Errorf("partners route scopes: %v", r.Inputs["authorizationScopes"])
	}
	aliases := 0
	for _, rec := range res.Find("aws:route53/record:Record") {
		if a, ok := path(rec.Inputs, "aliases").([]any); ok && len(a) == 1 {
			aliases++
			if name, _ := a[0].(map[string]any)["name"].(string); !strings.HasPrefix(name, "d-") {
				t.Errorf("alias %s targets %v, not the v2 domain's target", rec.Name, a)
			}
		}
	}
	if aliases != 2 {
		t.Errorf("%d alias records, want A and AAAA", aliases)
	}
}
