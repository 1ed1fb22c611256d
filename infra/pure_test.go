package infra_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hookline/hookline/infra"
	"github.com/hookline/hookline/stackconfig"
)

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
	return m
}

func TestTLSOnlyQueuePolicy(t *testing.T) {
	p := decode(t, infra.TLSOnlyQueuePolicy("arn:aws:sqs:eu-west-1:123456789012:q.fifo"))
	st := p["Statement"].([]any)[0].(map[string]any)
	if st["Effect"] != "Deny" || st["Principal"] != "*" || st["Resource"] != "arn:aws:sqs:eu-west-1:123456789012:q.fifo" {
		t.Errorf("statement: %v", st)
	}
	cond := st["Condition"].(map[string]any)["Bool"].(map[string]any)
	if cond["aws:SecureTransport"] != "false" {
		t.Errorf("condition: %v", cond)
	}
}

func TestConsumerPolicyIsLeastPrivilege(t *testing.T) {
	p := infra.ConsumerPolicy(infra.ConsumerPolicyArgs{
		QueueArn:    "arn:aws:sqs:eu-west-1:123456789012:hookline-dev-a.fifo",
		DLQArn:      "arn:aws:sqs:eu-west-1:123456789012:hookline-dev-a-dlq.fifo",
		LogGroupArn: "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/hookline-dev-a",
		TableArn:    "arn:aws:dynamodb:eu-west-1:123456789012:table/t",
		Tracing:     true,
	})
	for _, want := range []string{
		`"sqs:ReceiveMessage"`, `"sqs:DeleteMessage"`, `"sqs:ChangeMessageVisibility"`,
		`"arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/hookline-dev-a:*"`,
		`"dynamodb:PutItem"`, `"xray:PutTraceSegments"`, `"Sid":"MoveRejectedToDLQ","Effect":"Allow","Action":["sqs:SendMessage"],"Resource":"arn:aws:sqs:eu-west-1:123456789012:hookline-dev-a-dlq.fifo"`, `"arn:aws:dynamodb:eu-west-1:123456789012:table/t"`,
	} {
		if !strings.Contains(p, want) {
			t.Errorf("policy lacks %s:\n%s", want, p)
		}
	}
	if strings.Count(p, `"sqs:SendMessage"`) != 1 {
		t.Error("the function may send only to its DLQ")
	}
	for _, never := range []string{`"sqs:*"`, `"ssm:*"`, `"dynamodb:*"`, `"logs:*"`} {
		if strings.Contains(p, never) {
			t.Errorf("policy grants %s", never)
		}
	}
	noTable := infra.ConsumerPolicy(infra.ConsumerPolicyArgs{QueueArn: "arn:aws:sqs:r:1:q", LogGroupArn: "arn:aws:logs:r:1:log-group:g"})
	if strings.Contains(noTable, "dynamodb") || strings.Contains(p, "ssm") {
		t.Errorf("the consumer policy grants a table it has not, or secrets (SecretsPolicy's job): %s", noTable)
	}
	if strings.Contains(noTable, "xray") {
		t.Errorf("an untraced (PassThrough) consumer may send traces: %s", noTable)
	}
	secrets := infra.SecretsPolicy(infra.ParameterARNs(infra.Caller{Partition: "aws", Account: "123456789012"}, "eu-west-1", []string{"/hookline/dev/a/signing-secret"}))
	if want := `"Action":["ssm:GetParameter"],"Resource":["arn:aws:ssm:eu-west-1:123456789012:parameter/hookline/dev/a/signing-secret"]`; !strings.Contains(secrets, want) {
		t.Errorf("secrets policy lacks %s:\n%s", want, secrets)
	}
}

// TestAuthorizerPolicyTracing: the edge authorizer's role may send traces
// only when it is traced (Active).
func TestAuthorizerPolicyTracing(t *testing.T) {
	const lg = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/hookline-dev-authorizer"
	for _, tracing := range []bool{true, false} {
		p := infra.AuthorizerPolicy(lg, tracing)
		if !strings.Contains(p, `"Resource":"`+lg+`:*"`) {
			t.Errorf("tracing %v: the authorizer cannot write its logs: %s", tracing, p)
		}
		if got := strings.Contains(p, `"xray:PutTraceSegments","xray:PutTelemetryRecords"`); got != tracing {
			t.Errorf("tracing %v: X-Ray statement %v: %s", tracing, got, p)
		}
	}
}

func TestSQSIntegrationURI(t *testing.T) {
	got, err := infra.SQSIntegrationURI("eu-west-1", "https://sqs.eu-west-1.amazonaws.com/123456789012/hookline-dev-a.fifo")
	if err != nil || got != "arn:aws:apigateway:eu-west-1:sqs:path/123456789012/hookline-dev-a.fifo" {
		t.Errorf("got %q, %v", got, err)
	}
	if _, err := infra.SQSIntegrationURI("eu-west-1", "not a url"); err == nil {
		t.Error("want an error for a malformed queue URL")
	}
}

func TestRedrivePolicies(t *testing.T) {
	r := decode(t, infra.RedrivePolicy("arn:dlq", 7))
	if r["deadLetterTargetArn"] != "arn:dlq" || r["maxReceiveCount"] != float64(7) {
		t.Errorf("redrive: %v", r)
	}
	a := decode(t, infra.RedriveAllowPolicy("arn:q"))
	if a["redrivePermission"] != "byQueue" || a["sourceQueueArns"].([]any)[0] != "arn:q" {
		t.Errorf("allow: %v", a)
	}
}

func loadStack(t *testing.T, stack string) *stackconfig.Config {
	t.Helper()
	raw, secret, err := stackconfig.ReadStackFile("..", stack)
	if err != nil {
		t.Fatal(err)
	}
	c, err := stackconfig.Load(stack, raw, true, secret)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// testCaller is the account the pure tests deploy into.
var testCaller = infra.Caller{Partition: "aws", Account: "123456789012"}

func stackSpec(t *testing.T, c *stackconfig.Config) infra.StackSpec {
	t.Helper()
	sp, err := infra.NewStackSpec(c, testCaller)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func TestDeploymentTriggers(t *testing.T) {
	c := loadStack(t, "dev")
	routes := func(c *stackconfig.Config) []infra.RouteSpec {
		var out []infra.RouteSpec
		for _, s := range stackSpec(t, c).Sources {
			out = append(out, infra.NewRouteSpec(s))
		}
		return out
	}
	a := infra.DeploymentTriggers(routes(c), infra.RESTServed{})
	if b := infra.DeploymentTriggers(routes(loadStack(t, "dev")), infra.RESTServed{}); a[infra.TriggerServed] != b[infra.TriggerServed] {
		t.Fatal("equal configs give different triggers: every preview would redeploy")
	}
	rev := routes(c)
	rev[0], rev[1] = rev[1], rev[0]
	if infra.DeploymentTriggers(rev, infra.RESTServed{})[infra.TriggerServed] != a[infra.TriggerServed] {
		t.Error("the trigger depends on source order")
	}
	changes := map[string]func(c *stackconfig.Config){
		"auth":          func(c *stackconfig.Config) { c.Sources[1].Auth.Type = stackconfig.AuthIAM },
		"group by":      func(c *stackconfig.Config) { c.Sources[1].GroupBy.Name = "X-Other" },
		"content types": func(c *stackconfig.Config) { c.Sources[1].ContentTypes = []string{"application/json"} },
		"source name":   func(c *stackconfig.Config) { c.Sources[1].Name = "gh" },
	}
	for name, change := range changes {
		c := loadStack(t, "dev")
		change(c)
		if infra.DeploymentTriggers(routes(c), infra.RESTServed{})[infra.TriggerServed] == a[infra.TriggerServed] {
			t.Errorf("changing the %s does not change the deployment trigger", name)
		}
	}
}

func TestAlarmSpecsAndDashboard(t *testing.T) {
	c := loadStack(t, "prod")
	m := stackSpec(t, c).Monitoring
	rest := infra.APIMetricNames{Metric4xx: "4XXError", Metric5xx: "5XXError", Dimension: "ApiName"}
	specs := infra.AlarmSpecs(m, rest)
	if len(specs) != 4*len(c.Sources)+1+1 { // prod has one signature source: its forgeries alarm
		t.Errorf("got %d alarms", len(specs))
	}
	names := map[string]bool{}
	for _, a := range specs {
		if names[a.Name] {
			t.Errorf("duplicate alarm %s", a.Name)
		}
		names[a.Name] = true
		if a.Description == "" || len(a.Dimensions) == 0 {
			t.Errorf("alarm %s lacks a description or dimensions", a.Name)
		}
	}
	body := infra.DashboardBody(m, rest, c.APIName())
	d := decode(t, body)
	if n := len(d["widgets"].([]any)); n != 2+4*len(c.Sources) {
		t.Errorf("dashboard has %d widgets", n)
	}
	if !strings.Contains(body, "hookline-prod-payments-dlq.fifo") {
		t.Error("dashboard does not show the DLQ")
	}
	if !strings.Contains(body, `"ApiName","hookline-prod-api"`) || !strings.Contains(body, `"5XXError"`) {
		t.Errorf("dashboard does not watch the API by its dimension: %s", body)
	}
}

func TestResourceNamesFitAWSLimits(t *testing.T) {
	c := &stackconfig.Config{Environment: strings.Repeat("e", 16)}
	s := stackconfig.Source{Name: "s" + strings.Repeat("x", 29)}
	if n := c.DLQName(s); len(n) > 80 {
		t.Errorf("queue name %q is %d > 80", n, len(n))
	}
	if n := c.FunctionName(s); len(n) > 64 {
		t.Errorf("function name %q is %d > 64", n, len(n))
	}
	if n := c.IntegrationRoleName(s); len(n) > 64 {
		t.Errorf("role name %q is %d > 64", n, len(n))
	}
	if n := c.SourceAlarmName(s, "idempotency"); len(n) > 255 {
		t.Errorf("table name too long: %q", n)
	}
}
