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
// SourceArn (the API's execution ARN, which holds the account). Firehose
// documents a key of its own instead: FirehoseAssumeRolePolicy.
func AssumeRolePolicy(service string) string {
	return render(policyDoc{Version: "2012-10-17", Statement: []statement{{
		Effect: "Allow", Principal: map[string]string{"Service": service},
		Action: []string{"sts:AssumeRole"},
	}}})
}

// FirehoseAssumeRolePolicy lets Amazon Data Firehose assume a role on the
// account's own behalf only. AWS documents, for every Firehose destination
// role, the condition sts:ExternalId equal to the account id ("This ensures
// that only you can request Firehose to assume the IAM role", Amazon Data
// Firehose Developer Guide, "Controlling access with Amazon Data Firehose",
// Grant Firehose access to an Amazon S3 destination); it documents no
// aws:SourceAccount or aws:SourceArn for it, so none is added (see
// AssumeRolePolicy).
func FirehoseAssumeRolePolicy(account string) string {
	return render(policyDoc{Version: "2012-10-17", Statement: []statement{{
		Effect: "Allow", Principal: map[string]string{"Service": "firehose.amazonaws.com"},
		Action:    []string{"sts:AssumeRole"},
		Condition: map[string]any{"StringEquals": map[string]string{"sts:ExternalId": account}},
	}}})
}

// TLSOnlyBucketPolicy denies every S3 action on a bucket and its objects
// over plain HTTP.
func TLSOnlyBucketPolicy(bucketArn string) string {
	return render(policyDoc{Version: "2012-10-17", Statement: []statement{{
		Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*",
		Action: []string{"s3:*"}, Resource: []string{bucketArn, bucketArn + "/*"},
		Condition: map[string]any{"Bool": map[string]string{"aws:SecureTransport": "false"}},
	}}})
}

// ArchiveDeliveryPolicy is a source's Firehose role policy: the S3 actions
// AWS lists for a Firehose S3 destination, on the archive bucket and only
// under the source's own prefixes (its deliveries and its errors), and the
// archive key through S3 alone (kms:ViaService s3.<region>.amazonaws.com)
// for objects of that bucket (kms:EncryptionContext:aws:s3:arn: with an S3
// Bucket Key the context is the bucket's ARN, else the object's), as the
// same guide writes it. The key is named by its alias (kms:ResourceAliases),
// its id being unknown before it exists.
func ArchiveDeliveryPolicy(s ArchiveStreamSpec) string {
	objects := []string{}
	for _, p := range s.ObjectPrefixes() {
		objects = append(objects, s.BucketARN+"/"+p+"*")
	}
	return render(policyDoc{Version: "2012-10-17", Statement: []statement{
		{Sid: "ListArchiveBucket", Effect: "Allow", Resource: s.BucketARN, Action: []string{
			"s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"}},
		{Sid: "WriteOwnArchivePrefixes", Effect: "Allow", Resource: objects, Action: []string{
			"s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"}},
		{Sid: "EncryptArchiveObjects", Effect: "Allow", Resource: s.KeysARN, Action: []string{
			"kms:Decrypt", "kms:GenerateDataKey"},
			Condition: map[string]any{
				"StringEquals":             map[string]string{"kms:ViaService": "s3." + s.Region + ".amazonaws.com"},
				"StringLike":               map[string][]string{"kms:EncryptionContext:aws:s3:arn": {s.BucketARN, s.BucketARN + "/*"}},
				"ForAnyValue:StringEquals": map[string]string{"kms:ResourceAliases": s.KeyAlias},
			}},
	}})
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
	// ArchiveStreamArn is the source's Firehose stream, empty when the
	// stack archives nothing.
	ArchiveStreamArn string
	// Tracing: the function is Active, so it may send its traces
	// (tracingStatement).
	Tracing bool
}

// ConsumerPolicy is the function's least-privilege policy: consume its own
// queue, write its own log group, archive to its own stream, use its own
// table. Its secrets are read
// through SecretsPolicy.
func ConsumerPolicy(a ConsumerPolicyArgs) string {
	st := []statement{
		{Sid: "ConsumeSourceQueue", Effect: "Allow", Resource: a.QueueArn, Action: []string{
			"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"}},
		{Sid: "MoveRejectedToDLQ", Effect: "Allow", Resource: a.DLQArn, Action: []string{"sqs:SendMessage"}},
		{Sid: "WriteOwnLogs", Effect: "Allow", Resource: a.LogGroupArn + ":*", Action: []string{
			"logs:CreateLogStream", "logs:PutLogEvents"}},
	}
	if a.Tracing {
		st = append(st, tracingStatement)
	}
	if a.SealKey.Alias != "" {
		// kms:ResourceAliases (AWS KMS ABAC) grants on the key that carries
		// the alias, whose own id is unknown before it exists; AWS names it
		// for HMAC keys ("Controlling access to HMAC KMS keys").
		st = append(st, statement{Sid: "VerifySealedReceiptTimes", Effect: "Allow", Resource: a.SealKey.KeysARN,
			Action:    []string{"kms:VerifyMac"},
			Condition: map[string]any{"ForAnyValue:StringEquals": map[string]string{"kms:ResourceAliases": a.SealKey.Alias}}})
	}
	if a.ArchiveStreamArn != "" {
		// Its own stream only: the delivery entries before processing,
		// the outcome lines after (contract/archive.go).
		st = append(st, statement{Sid: "ArchiveDeliveries", Effect: "Allow", Resource: a.ArchiveStreamArn,
			Action: []string{"firehose:PutRecord", "firehose:PutRecordBatch"}})
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

// tracingStatement lets a function with Active tracing (lambdaTracing)
// send its traces: X-Ray's PutTraceSegments and PutTelemetryRecords take
// no resource ARN, hence "*". A PassThrough function sends none (Lambda
// only forwards the header, and the handlers use no X-Ray SDK), so its
// role is not given it.
var tracingStatement = statement{Sid: "Tracing", Effect: "Allow", Resource: "*", Action: []string{
	"xray:PutTraceSegments", "xray:PutTelemetryRecords"}}

// AuthorizerPolicy is the edge authorizer's least-privilege policy: write
// its own log group and, when it is traced (Active), send its traces. The
// token and usage-key parameters it guards are read through SecretsPolicy.
func AuthorizerPolicy(logGroupArn string, tracing bool) string {
	st := []statement{
		{Sid: "WriteOwnLogs", Effect: "Allow", Resource: logGroupArn + ":*", Action: []string{"logs:CreateLogStream", "logs:PutLogEvents"}},
	}
	if tracing {
		st = append(st, tracingStatement)
	}
	return render(policyDoc{Version: "2012-10-17", Statement: st})
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
