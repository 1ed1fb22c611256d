package infra_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/infra"
	"github.com/hookline/hookline/stackconfig"
)

// sourceSpec is the spec of a stack's source named name.
func sourceSpec(t *testing.T, sp infra.StackSpec, name string) infra.SourceSpec {
	t.Helper()
	for _, s := range sp.Sources {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no source %s in the spec", name)
	return infra.SourceSpec{}
}

// TestSourceSpecNamesAndARNs: every name and ARN of a source's resources,
// written once from the config and the caller (partition included).
func TestSourceSpecNamesAndARNs(t *testing.T) {
	cases := []struct {
		name, stack, source string
		caller              infra.Caller
		// want: the spec's names and ARNs, field by field.
		want map[string]string
	}{
		{"dev token source", "dev", "payments", testCaller, map[string]string{
			"queue":       "hookline-dev-payments.fifo",
			"queueArn":    "arn:aws:sqs:eu-west-1:123456789012:hookline-dev-payments.fifo",
			"dlq":         "hookline-dev-payments-dlq.fifo",
			"dlqArn":      "arn:aws:sqs:eu-west-1:123456789012:hookline-dev-payments-dlq.fifo",
			"function":    "hookline-dev-payments",
			"role":        "hookline-dev-payments-fn",
			"logGroup":    "/aws/lambda/hookline-dev-payments",
			"logGroupArn": "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/hookline-dev-payments",
			"table":       "hookline-dev-payments-idempotency",
			"tableArn":    "arn:aws:dynamodb:eu-west-1:123456789012:table/hookline-dev-payments-idempotency",
			"sendRole":    "hookline-dev-payments-apigw",
			"secretArns":  "arn:aws:ssm:eu-west-1:123456789012:parameter/hookline/dev/payments/signing-secret",
		}},
		{"prod signature source", "prod", "github", testCaller, map[string]string{
			"queue":      "hookline-prod-github.fifo",
			"queueArn":   "arn:aws:sqs:us-east-1:123456789012:hookline-prod-github.fifo",
			"dlqArn":     "arn:aws:sqs:us-east-1:123456789012:hookline-prod-github-dlq.fifo",
			"role":       "hookline-prod-github-fn",
			"tableArn":   "arn:aws:dynamodb:us-east-1:123456789012:table/hookline-prod-github-idempotency",
			"secretArns": "arn:aws:ssm:us-east-1:123456789012:parameter/hookline/prod/github/signing-secret",
		}},
		{"another partition", "prod", "internal", infra.Caller{Partition: "aws-cn", Account: "210987654321"}, map[string]string{
			"queueArn":    "arn:aws-cn:sqs:us-east-1:210987654321:hookline-prod-internal.fifo",
			"dlqArn":      "arn:aws-cn:sqs:us-east-1:210987654321:hookline-prod-internal-dlq.fifo",
			"logGroupArn": "arn:aws-cn:logs:us-east-1:210987654321:log-group:/aws/lambda/hookline-prod-internal",
			"table":       "",
			"tableArn":    "",
			"secretArns":  "arn:aws-cn:ssm:us-east-1:210987654321:parameter/hookline/prod/internal/signing-secret",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := loadStack(t, tc.stack)
			sp, err := infra.NewStackSpec(c, tc.caller)
			if err != nil {
				t.Fatal(err)
			}
			s := sourceSpec(t, sp, tc.source)
			table, tableArn := "", ""
			if s.Consumer.Table != nil {
				table, tableArn = s.Consumer.Table.Name, s.Consumer.Table.ARN
			}
			got := map[string]string{
				"queue": s.Queues.QueueName, "queueArn": s.Queues.QueueARN, "dlq": s.Queues.DLQName, "dlqArn": s.Queues.DLQARN,
				"function": s.Consumer.FunctionName, "role": s.Consumer.RoleName,
				"logGroup": s.Consumer.LogGroup.Name, "logGroupArn": s.Consumer.LogGroupARN,
				"table": table, "tableArn": tableArn, "sendRole": s.SendRoleName,
				"secretArns": strings.Join(s.Consumer.SecretARNs, " "),
			}
			for k, want := range tc.want {
				if got[k] != want {
					t.Errorf("%s = %q, want %q", k, got[k], want)
				}
			}
			// The consumer's policy and the queues name the same ARNs.
			if s.Consumer.QueueARN != s.Queues.QueueARN || s.Consumer.DLQARN != s.Queues.DLQARN {
				t.Errorf("consumer reads %s / %s, queues are %s / %s", s.Consumer.QueueARN, s.Consumer.DLQARN, s.Queues.QueueARN, s.Queues.DLQARN)
			}
			// The names are the config's own (stackconfig/names.go).
			cs := c.Sources[slices.IndexFunc(c.Sources, func(x stackconfig.Source) bool { return x.Name == tc.source })]
			if s.Queues.QueueName != c.QueueName(cs) || s.Consumer.FunctionName != c.FunctionName(cs) || s.SendRoleName != c.IntegrationRoleName(cs) {
				t.Errorf("names differ from the config's: %+v", s)
			}
		})
	}
}

// TestSourceSpecAuth: what the edge, the usage plans and the consumer get
// for each auth kind.
func TestSourceSpecAuth(t *testing.T) {
	prod := stackSpec(t, loadStack(t, "prod"))
	noToken := loadStack(t, "prod")
	noToken.Sources = slices.DeleteFunc(noToken.Sources, func(s stackconfig.Source) bool { return s.Auth.Type == stackconfig.AuthToken })
	cases := []struct {
		name string
		spec infra.StackSpec
		src  string
		// edge is the edge check ("" when the source does not pass the authorizer).
		edge string
		// keyParameter: "-" for no usage plan, "" for a key given to the sender.
		keyParameter string
		openEdge     bool
	}{
		{"token", prod, "payments", contract.EdgeToken, "/hookline/prod/payments/usage-key", false},
		{"apiKey beside a token source", prod, "vendors", contract.EdgeAPIKey, "", false},
		{"apiKey alone", stackSpec(t, noToken), "vendors", "", "", false},
		{"signature", prod, "github", "", "-", true},
		{"cognito", prod, "partners", "", "-", false},
		{"iam", prod, "internal", "", "-", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := sourceSpec(t, tc.spec, tc.src)
			edge := ""
			if s.Edge != nil {
				edge = s.Edge.Check
			}
			if edge != tc.edge || s.Auth.ThroughAuthorizer != (tc.edge != "") {
				t.Errorf("edge %q, through the authorizer %v; want %q", edge, s.Auth.ThroughAuthorizer, tc.edge)
			}
			key := "-"
			if s.UsagePlan != nil {
				key = s.UsagePlan.KeyParameter
				if s.UsagePlan.RateLimit <= 0 || s.UsagePlan.Name == "" || s.UsagePlan.KeyName == "" {
					t.Errorf("usage plan %+v", s.UsagePlan)
				}
			}
			if key != tc.keyParameter {
				t.Errorf("usage key parameter %q, want %q", key, tc.keyParameter)
			}
			if s.Consumer.Handler.OpenEdge != tc.openEdge {
				t.Errorf("open edge %v, want %v", s.Consumer.Handler.OpenEdge, tc.openEdge)
			}
			if tc.edge == contract.EdgeToken && (s.Edge.TokenParameterARN != "arn:aws:ssm:us-east-1:123456789012:parameter"+s.Edge.TokenParameter ||
				s.Edge.UsageKeyParameterARN != "arn:aws:ssm:us-east-1:123456789012:parameter"+s.Edge.UsageKeyParameter || s.Edge.CacheTTL != 300) {
				t.Errorf("token edge %+v", s.Edge)
			}
		})
	}
}

// TestStackSpec: the stack-wide parts, each switched by its config key.
func TestStackSpec(t *testing.T) {
	off := false
	cases := []struct {
		name  string
		stack string
		edit  func(c *stackconfig.Config)
		check func(t *testing.T, sp infra.StackSpec)
	}{
		{"prod", "prod", nil, func(t *testing.T, sp infra.StackSpec) {
			in := sp.Ingress
			if in.Kind != contract.IngressREST || in.Name != "hookline-prod-api" || !in.DisableExecuteAPIEndpoint || !in.EdgeAuthorizer ||
				in.CloudWatchRoleName != "hookline-prod-apigw-cloudwatch" || in.AccessLog == nil || in.AccessLog.Name != "/aws/apigateway/hookline-prod-api/access" ||
				in.AccessLog.RetentionDays != 90 || in.Throttle.RateLimit != 2000 {
				t.Errorf("ingress %+v", in)
			}
			if sp.Domain == nil || sp.Domain.Name != "hooks.example.com" {
				t.Errorf("domain %+v", sp.Domain)
			}
			if a := sp.Authorizer; a == nil || a.FunctionName != "hookline-prod-authorizer" ||
				a.LogGroupARN != "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/hookline-prod-authorizer" {
				t.Errorf("authorizer %+v", a)
			}
			m := sp.Monitoring
			if len(m.Sources) != 5 || m.APIAlarmName != "hookline-prod-api-5xx" || m.OldestMessageAgeSeconds != 600 || len(m.AlarmEmails) != 2 {
				t.Errorf("monitoring %+v", m)
			}
			if w := m.Sources[1]; w.Name != "github" || !w.Open || w.Alarms.Forgeries != "hookline-prod-github-forgeries" || w.DLQName != "hookline-prod-github-dlq.fifo" {
				t.Errorf("watched github %+v", w)
			}
			if sp.Tags["managed-by"] != "hookline" || sp.Tags["team"] != "platform" || sp.Ingress.Tags["hookline:environment"] != "prod" {
				t.Errorf("tags %v / %v", sp.Tags, sp.Ingress.Tags)
			}
		}},
		{"dev", "dev", nil, func(t *testing.T, sp infra.StackSpec) {
			if sp.Ingress.Kind != contract.IngressHTTP || sp.Ingress.DisableExecuteAPIEndpoint || sp.Ingress.CloudWatchRoleName != "" || sp.Domain != nil {
				t.Errorf("ingress %+v, domain %+v", sp.Ingress, sp.Domain)
			}
		}},
		{"no token source", "prod", func(c *stackconfig.Config) {
			c.Sources = slices.DeleteFunc(c.Sources, func(s stackconfig.Source) bool { return s.Auth.Type == stackconfig.AuthToken })
		}, func(t *testing.T, sp infra.StackSpec) {
			if sp.Authorizer != nil || sp.Ingress.EdgeAuthorizer {
				t.Errorf("an edge authorizer without token sources: %+v", sp.Authorizer)
			}
		}},
		{"tracing active", "prod", func(c *stackconfig.Config) { c.Tracing = stackconfig.TracingActive }, func(t *testing.T, sp infra.StackSpec) {
			checkSpecTracing(t, sp, true)
		}},
		{"tracing off", "prod", func(c *stackconfig.Config) { c.Tracing = stackconfig.TracingOff }, func(t *testing.T, sp infra.StackSpec) {
			checkSpecTracing(t, sp, false)
		}},
		{"access logs off", "dev", func(c *stackconfig.Config) { c.AccessLogs = &off }, func(t *testing.T, sp infra.StackSpec) {
			if sp.Ingress.AccessLog != nil {
				t.Errorf("access log %+v", sp.Ingress.AccessLog)
			}
		}},
		{"secrets given", "dev", func(c *stackconfig.Config) {
			c.SigningSecrets = map[string]string{"github": "s3cret"}
			c.Tokens = map[string]string{"payments": "t0ken"}
		}, func(t *testing.T, sp infra.StackSpec) {
			gh := sourceSpec(t, sp, "github").Consumer.Secrets
			if len(gh) != 1 || gh[0].Kind != "signing-secret" || gh[0].Parameter != "/hookline/dev/github/signing-secret" || gh[0].Value != "s3cret" ||
				gh[0].Description != "hookline signing-secret of source github" {
				t.Errorf("github secrets %+v", gh)
			}
			if p := sourceSpec(t, sp, "payments"); len(p.Consumer.Secrets) != 0 || p.Edge.Token != "t0ken" {
				t.Errorf("payments secrets %+v, token %q", p.Consumer.Secrets, p.Edge.Token)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := loadStack(t, tc.stack)
			if tc.edit != nil {
				tc.edit(c)
			}
			tc.check(t, stackSpec(t, c))
		})
	}
}

// checkSpecTracing: every function's TracingMode and the stage's tracing
// follow hookline:tracing.
func checkSpecTracing(t *testing.T, sp infra.StackSpec, on bool) {
	t.Helper()
	want := infra.LambdaTracingPassThrough
	if on {
		want = infra.LambdaTracingActive
	}
	if sp.Ingress.Tracing != on {
		t.Errorf("stage tracing %v, want %v", sp.Ingress.Tracing, on)
	}
	if sp.Authorizer == nil || sp.Authorizer.TracingMode != want {
		t.Errorf("authorizer %+v, want tracing %s", sp.Authorizer, want)
	}
	for _, s := range sp.Sources {
		if s.Consumer.TracingMode != want {
			t.Errorf("%s: tracing %q, want %s", s.Name, s.Consumer.TracingMode, want)
		}
	}
}

// TestStackSpecRefuses: a spec without the caller, or with a source whose
// contract is invalid, is an error naming every problem.
func TestStackSpecRefuses(t *testing.T) {
	c := loadStack(t, "prod")
	if _, err := infra.NewStackSpec(c, infra.Caller{}); err == nil || !strings.Contains(err.Error(), "caller") {
		t.Errorf("no caller: %v", err)
	}
	c.Sources[0].ContentTypes = nil
	c.Sources[1].ContentTypes = []string{"application/json; charset=utf-8"}
	_, err := infra.NewStackSpec(c, testCaller)
	if err == nil || !strings.Contains(err.Error(), "spec of source payments") || !strings.Contains(err.Error(), "spec of source github") {
		t.Errorf("invalid contracts: %v", err)
	}
}
