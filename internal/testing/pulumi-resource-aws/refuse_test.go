package main

import (
	"strings"
	"testing"

	"github.com/hookline/hookline/internal/testing/harness"
	"github.com/hookline/hookline/plan"
)

// TestRefusals: each rule refuses what AWS refuses, with AWS's text, and
// lets the compliant value through.
func TestRefusals(t *testing.T) {
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	cases := []struct {
		name, typ string
		in        map[string]any
		want      string // "" : accepted
	}{
		{"trust policy", "aws:iam/role:Role", map[string]any{"name": "r", "assumeRolePolicy": trust}, ""},
		{"trust policy with Resource", "aws:iam/role:Role", map[string]any{"name": "r", "assumeRolePolicy": strings.Replace(trust, `"Action"`, `"Resource":"*","Action"`, 1)}, "Has prohibited field Resource"},
		{"trust policy with Resource null", "aws:iam/role:Role", map[string]any{"name": "r", "assumeRolePolicy": strings.Replace(trust, `"Action"`, `"Resource":null,"Action"`, 1)}, "Has prohibited field Resource"},
		{"role name 64", "aws:iam/role:Role", map[string]any{"name": strings.Repeat("r", 64), "assumeRolePolicy": trust}, ""},
		{"role name 65", "aws:iam/role:Role", map[string]any{"name": strings.Repeat("r", 65), "assumeRolePolicy": trust}, "Member must have length less than or equal to 64"},
		{"identity policy", "aws:iam/rolePolicy:RolePolicy", map[string]any{"policy": `{"Statement":[{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"arn:x"}]}`}, ""},
		{"identity policy without Resource", "aws:iam/rolePolicy:RolePolicy", map[string]any{"policy": `{"Statement":[{"Effect":"Allow","Action":"sqs:SendMessage"}]}`}, "Policy statement must contain resources."},
		{"fifo queue", "aws:sqs/queue:Queue", map[string]any{"name": "a.fifo", "fifoQueue": true}, ""},
		{"fifo queue without .fifo", "aws:sqs/queue:Queue", map[string]any{"name": "a", "fifoQueue": true}, "must end with .fifo suffix"},
		{"standard queue named .fifo", "aws:sqs/queue:Queue", map[string]any{"name": "a.fifo"}, "1 to 80 in length"},
		{"queue name 80", "aws:sqs/queue:Queue", map[string]any{"name": strings.Repeat("q", 75) + ".fifo", "fifoQueue": true}, ""},
		{"queue name 81", "aws:sqs/queue:Queue", map[string]any{"name": strings.Repeat("q", 76) + ".fifo", "fifoQueue": true}, "1 to 80 in length"},
		{"standard DLQ of a FIFO queue", "aws:sqs/queue:Queue", map[string]any{"name": "a.fifo", "fifoQueue": true,
			"redrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:eu-west-1:1:a-dlq","maxReceiveCount":5}`}, "must also be a FIFO queue"},
		{"function name 65", "aws:lambda/function:Function", map[string]any{"name": strings.Repeat("f", 65)}, "at 'functionName'"},
		{"FIFO batch 10", "aws:lambda/eventSourceMapping:EventSourceMapping", map[string]any{"eventSourceArn": "arn:aws:sqs:eu-west-1:1:a.fifo", "batchSize": 10.0}, ""},
		{"FIFO batch 11", "aws:lambda/eventSourceMapping:EventSourceMapping", map[string]any{"eventSourceArn": "arn:aws:sqs:eu-west-1:1:a.fifo", "batchSize": 11.0}, "Maximum batch size must be between 1 and 10 inclusive"},
		{"visibility below timeout", "aws:lambda/eventSourceMapping:EventSourceMapping", map[string]any{"eventSourceArn": "arn:aws:sqs:eu-west-1:1:slow.fifo", "functionName": "f"}, "Queue visibility timeout: 10 seconds is less than Function timeout: 20 seconds"},
		{"access logs without the role", "aws:apigateway/stage:Stage", map[string]any{"accessLogSettings": map[string]any{"destinationArn": "arn:logs"}}, "CloudWatch Logs role ARN must be set in account settings to enable logging"},
		{"stage without access logs", "aws:apigateway/stage:Stage", map[string]any{}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := &account{Queues: map[string]int{"arn:aws:sqs:eu-west-1:1:slow.fifo": 10}, Functions: map[string]int{"f": 20}}
			err := a.refuse(tc.typ, tc.in, true)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
	if err := checkSchema("aws:sqs/queue:Queue", map[string]any{"maxMessageSize": 1048576.0}); err == nil || !strings.Contains(err.Error(), "(1024 - 262144)") {
		t.Errorf("maxMessageSize 1 MiB: %v", err)
	}
}

// TestCompliantStacksPass: every resource of the dev and prod plans, in the
// order the program registers them, passes every refusal (the stacks AWS
// would accept are not refused by the double).
func TestCompliantStacksPass(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		res, err := plan.Run(plan.Options{Dir: harness.ProjectDir(t), Stack: stack, Handler: harness.StubHandler})
		if err != nil {
			t.Fatal(err)
		}
		a := &account{Queues: map[string]int{}, Functions: map[string]int{}, APIGatewayCloudWatchRole: "arn:role"}
		for _, r := range res.Resources {
			if err := checkSchema(r.Type, r.Inputs); err != nil {
				t.Errorf("%s %s: %v", stack, r.Name, err)
			}
			if err := a.refuse(r.Type, r.Inputs, true); err != nil {
				t.Errorf("%s %s: %v", stack, r.Name, err)
			}
		}
	}
}
