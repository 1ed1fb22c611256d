package infra

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// policyDoc is an IAM policy document.
type policyDoc struct {
	Version   string      `json:"Version"`
	Statement []statement `json:"Statement"`
}

type statement struct {
	Sid       string   `json:"Sid,omitempty"`
	Effect    string   `json:"Effect"`
	Principal any      `json:"Principal,omitempty"`
	Action    []string `json:"Action"`
	// Resource is omitted when empty: IAM refuses a trust policy with a
	// Resource field (MalformedPolicyDocument: Has prohibited field Resource).
	Resource  any            `json:"Resource,omitempty"`
	Condition map[string]any `json:"Condition,omitempty"`
}

func render(d policyDoc) string {
	b, err := json.Marshal(d)
	if err != nil { // only plain strings and maps: cannot happen
		panic(fmt.Sprintf("render policy: %v", err))
	}
	return string(b)
}

// AssumeRolePolicy lets an AWS service (lambda.amazonaws.com, …) assume a role.
//
// It carries no aws:SourceAccount / aws:SourceArn condition (AWS's
// confused-deputy guidance), deliberately: AWS documents those keys in role
// trust policies per service, on a "Cross-service confused deputy
// prevention" page, and neither Lambda (execution roles; its guide only
// requires lambda.amazonaws.com as the trusted service) nor API Gateway
// (the SQS integration's credentials role, the CloudWatch role of the
// account settings) documents that it sends them when it assumes a role.
// A condition the service does not satisfy makes every assumption fail,
// so none is added until AWS documents one. Where AWS does document the
// keys — a Lambda function's resource policy for an AWS service principal
// (AddPermission: "If you specify a service, use SourceArn or
// SourceAccount") — the edge authorizer's invoke permission names its
// SourceArn (the API's execution ARN, which holds the account).
func AssumeRolePolicy(service string) string {
	return render(policyDoc{Version: "2012-10-17", Statement: []statement{{
		Effect: "Allow", Principal: map[string]string{"Service": service},
		Action: []string{"sts:AssumeRole"},
	}}})
}

// TLSOnlyQueuePolicy denies every SQS action on the queue over plain HTTP.
func TLSOnlyQueuePolicy(queueArn string) string {
	return render(policyDoc{Version: "2012-10-17", Statement: []statement{{
		Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*",
		Action: []string{"sqs:*"}, Resource: queueArn,
		Condition: map[string]any{"Bool": map[string]string{"aws:SecureTransport": "false"}},
	}}})
}

// SendOnlyPolicy lets API Gateway send to one queue and nothing else.
func SendOnlyPolicy(queueArn string) string {
	return render(policyDoc{Version: "2012-10-17", Statement: []statement{{
		Sid: "SendToSourceQueue", Effect: "Allow", Action: []string{"sqs:SendMessage"}, Resource: queueArn,
	}}})
}

// ConsumerPolicyArgs are the resources a source's function may touch.
type ConsumerPolicyArgs struct {
	QueueArn string
	// DLQArn is where the function moves rejected messages.
	DLQArn      string
	LogGroupArn string
	// TableArn is the idempotency table, empty when there is none.
	TableArn string
	// SealKey is the stack's seal key, whose MACs the function verifies
	// (never generates: it checks a re-send's sealed receipt time, it
	// cannot mint one).
	SealKey SealKeySpec
}

// ConsumerPolicy is the function's least-privilege policy: consume its own
// queue, write its own log group, use its own table. Its secrets are read
// through SecretsPolicy.
func ConsumerPolicy(a ConsumerPolicyArgs) string {
	st := []statement{
		{Sid: "ConsumeSourceQueue", Effect: "Allow", Resource: a.QueueArn, Action: []string{
			"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"}},
		{Sid: "MoveRejectedToDLQ", Effect: "Allow", Resource: a.DLQArn, Action: []string{"sqs:SendMessage"}},
		{Sid: "WriteOwnLogs", Effect: "Allow", Resource: a.LogGroupArn + ":*", Action: []string{
			"logs:CreateLogStream", "logs:PutLogEvents"}},
		tracingStatement,
	}
	if a.SealKey.Alias != "" {
		// kms:ResourceAliases (AWS KMS ABAC) grants on the key that carries
		// the alias, whose own id is unknown before it exists; AWS names it
		// for HMAC keys ("Controlling access to HMAC KMS keys").
		st = append(st, statement{Sid: "VerifySealedReceiptTimes", Effect: "Allow", Resource: a.SealKey.KeysARN,
			Action:    []string{"kms:VerifyMac"},
			Condition: map[string]any{"ForAnyValue:StringEquals": map[string]string{"kms:ResourceAliases": a.SealKey.Alias}}})
	}
	if a.TableArn != "" {
		st = append(st, statement{Sid: "IdempotencyTable", Effect: "Allow", Resource: a.TableArn, Action: []string{
			"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}})
	}
	return render(policyDoc{Version: "2012-10-17", Statement: st})
}

// ParameterARNs are the ARNs of SSM parameters (/a/b) of the stack's
// account and region.
func ParameterARNs(caller Caller, region string, names []string) []string {
	var out []string
	for _, p := range names {
		out = append(out, fmt.Sprintf("arn:%s:ssm:%s:%s:parameter%s", caller.Partition, region, caller.Account, p))
	}
	return out
}

// tracingStatement lets a function with active tracing (lambdaTracing)
// send its traces: X-Ray's PutTraceSegments and PutTelemetryRecords take
// no resource ARN, hence "*".
var tracingStatement = statement{Sid: "Tracing", Effect: "Allow", Resource: "*", Action: []string{
	"xray:PutTraceSegments", "xray:PutTelemetryRecords"}}

// AuthorizerPolicy is the edge authorizer's least-privilege policy: write
// its own log group and send its traces. The token and usage-key parameters it guards are read
// through SecretsPolicy.
func AuthorizerPolicy(logGroupArn string) string {
	return render(policyDoc{Version: "2012-10-17", Statement: []statement{
		{Sid: "WriteOwnLogs", Effect: "Allow", Resource: logGroupArn + ":*", Action: []string{"logs:CreateLogStream", "logs:PutLogEvents"}},
		tracingStatement,
	}})
}

// SecretsPolicy lets a function read exactly the SSM parameters it needs
// (ParameterARNs). It is a role policy of its own, written from known parts,
// so the policy pack's secret-scope rule judges it on the first preview.
func SecretsPolicy(parameterARNs []string) string {
	return render(policyDoc{Version: "2012-10-17", Statement: []statement{
		{Sid: "ReadSecrets", Effect: "Allow", Resource: parameterARNs, Action: []string{"ssm:GetParameter"}},
	}})
}

// RedrivePolicy is a source queue's redrive policy to its DLQ.
func RedrivePolicy(dlqArn string, maxReceiveCount int) string {
	b, _ := json.Marshal(map[string]any{"deadLetterTargetArn": dlqArn, "maxReceiveCount": maxReceiveCount})
	return string(b)
}

// RedriveAllowPolicy lets only the named source queue use a DLQ.
func RedriveAllowPolicy(sourceQueueArn string) string {
	b, _ := json.Marshal(map[string]any{"redrivePermission": "byQueue", "sourceQueueArns": []string{sourceQueueArn}})
	return string(b)
}

// SQSIntegrationURI is the API Gateway AWS-integration URI that posts to a
// queue, given the queue's URL (https://sqs.<region>.amazonaws.com/<account>/<name>).
func SQSIntegrationURI(region, queueURL string) (string, error) {
	u, err := url.Parse(queueURL)
	if err != nil || u.Path == "" || strings.Count(u.Path, "/") != 2 {
		return "", fmt.Errorf("queue URL %q is not https://sqs.<region>.amazonaws.com/<account>/<name>", queueURL)
	}
	return "arn:aws:apigateway:" + region + ":sqs:path" + u.Path, nil
}

func arnParts(arn string) []string { return strings.SplitN(arn, ":", 6) }

func arnPartition(arn string) string {
	if p := arnParts(arn); len(p) == 6 {
		return p[1]
	}
	return "aws"
}

func arnRegionAccount(arn string) (string, string) {
	if p := arnParts(arn); len(p) == 6 {
		return p[3], p[4]
	}
	return "*", "*"
}
