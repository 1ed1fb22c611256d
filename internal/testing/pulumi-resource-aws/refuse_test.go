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
		{"bucket", "aws:s3/bucketV2:BucketV2", map[string]any{"bucket": "hookline-prod-archive-123456789012-us-east-1"}, ""},
		{"bucket name 63", "aws:s3/bucketV2:BucketV2", map[string]any{"bucket": strings.Repeat("b", 63)}, ""},
		{"bucket name 64", "aws:s3/bucketV2:BucketV2", map[string]any{"bucket": strings.Repeat("b", 64)}, "InvalidBucketName: The specified bucket is not valid."},
		{"bucket name 2", "aws:s3/bucketV2:BucketV2", map[string]any{"bucket": "bb"}, "InvalidBucketName"},
		{"bucket name upper case", "aws:s3/bucketV2:BucketV2", map[string]any{"bucket": "Hookline-archive"}, "InvalidBucketName"},
		{"bucket name underscore", "aws:s3/bucketV2:BucketV2", map[string]any{"bucket": "hookline_archive"}, "InvalidBucketName"},
		{"bucket name ending in -", "aws:s3/bucketV2:BucketV2", map[string]any{"bucket": "hookline-"}, "InvalidBucketName"},
		{"bucket name with ..", "aws:s3/bucketV2:BucketV2", map[string]any{"bucket": "a..b"}, "InvalidBucketName"},
		{"bucket name an IP", "aws:s3/bucketV2:BucketV2", map[string]any{"bucket": "192.168.5.4"}, "InvalidBucketName"},
		{"bucket name xn--", "aws:s3/bucketV2:BucketV2", map[string]any{"bucket": "xn--bucket"}, "InvalidBucketName"},
		{"bucket name -s3alias", "aws:s3/bucketV2:BucketV2", map[string]any{"bucket": "bucket-s3alias"}, "InvalidBucketName"},
		{"firehose stream", "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream", firehose(nil), ""},
		{"firehose interval 0", "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream", firehose(map[string]any{"bufferingInterval": 0.0}), ""},
		{"firehose interval 900", "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream", firehose(map[string]any{"bufferingInterval": 900.0}), ""},
		{"firehose interval 901", "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream", firehose(map[string]any{"bufferingInterval": 901.0}), "Value '901' at 'extendedS3DestinationConfiguration.bufferingHints.intervalInSeconds' failed to satisfy constraint: Member must have value less than or equal to 900"},
		{"firehose size 128", "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream", firehose(map[string]any{"bufferingSize": 128.0}), ""},
		{"firehose size 129", "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream", firehose(map[string]any{"bufferingSize": 129.0}), "Member must have value less than or equal to 128"},
		{"firehose size 0", "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream", firehose(map[string]any{"bufferingSize": 0.0}), "Member must have value greater than or equal to 1"},
		{"firehose expressions without error prefix", "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream", firehose(map[string]any{"errorOutputPrefix": ""}), "ErrorOutputPrefix can't be null when Prefix contains expressions"},
		{"firehose plain prefix without error prefix", "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream", firehose(map[string]any{"prefix": "archive/", "errorOutputPrefix": ""}), ""},
		{"firehose error prefix without its type", "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream", firehose(map[string]any{"errorOutputPrefix": "errors/!{timestamp:yyyy}/"}), "must include at least one instance of !{firehose:error-output-type}"},
		{"firehose error type in the prefix", "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream", firehose(map[string]any{"prefix": "a/!{firehose:error-output-type}/"}), "Prefix can't contain !{firehose:error-output-type}"},
		{"fargate 512/1024", "aws:ecs/taskDefinition:TaskDefinition", fargateTask("512", "1024"), ""},
		{"fargate 256/2048", "aws:ecs/taskDefinition:TaskDefinition", fargateTask("256", "2048"), ""},
		{"fargate 512/512", "aws:ecs/taskDefinition:TaskDefinition", fargateTask("512", "512"), "No Fargate configuration exists for given values: 512 CPU, 512 memory."},
		{"fargate 1024/9216", "aws:ecs/taskDefinition:TaskDefinition", fargateTask("1024", "9216"), "No Fargate configuration exists"},
		{"fargate bridge", "aws:ecs/taskDefinition:TaskDefinition", map[string]any{"requiresCompatibilities": []any{"FARGATE"}, "networkMode": "bridge", "cpu": "256", "memory": "512"}, "Fargate only supports network mode 'awsvpc'."},
		{"ec2 task of any size", "aws:ecs/taskDefinition:TaskDefinition", map[string]any{"requiresCompatibilities": []any{"EC2"}, "cpu": "300", "memory": "700"}, ""},
		{"fargate service without network", "aws:ecs/service:Service", map[string]any{"launchType": "FARGATE"}, "Network Configuration must be provided"},
		{"ecr name", "aws:ecr/repository:Repository", map[string]any{"name": "hlportal-prod"}, ""},
		{"ecr name upper case", "aws:ecr/repository:Repository", map[string]any{"name": "Portal"}, "at 'repositoryName' failed to satisfy constraint"},
		{"https listener without certificate", "aws:lb/listener:Listener", map[string]any{"protocol": "HTTPS"}, "A certificate must be specified for HTTPS listeners"},
		{"table key not defined", "aws:dynamodb/table:Table", map[string]any{"hashKey": "pk", "rangeKey": "sk", "attributes": []any{map[string]any{"name": "pk", "type": "S"}}}, "Some index key attributes are not defined in AttributeDefinitions. Keys: [sk]"},
		{"table keys defined", "aws:dynamodb/table:Table", map[string]any{"hashKey": "pk", "rangeKey": "sk", "attributes": []any{map[string]any{"name": "pk", "type": "S"}, map[string]any{"name": "sk", "type": "S"}}}, ""},
		{"firehose name 65", "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream", map[string]any{"name": strings.Repeat("f", 65)}, "at 'deliveryStreamName'"},
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
	for _, typ := range []string{"aws:lb/targetGroup:TargetGroup", "aws:lb/loadBalancer:LoadBalancer"} {
		if err := checkSchema(typ, map[string]any{"name": strings.Repeat("t", 32)}); err != nil {
			t.Errorf("%s name of 32: %v", typ, err)
		}
		if err := checkSchema(typ, map[string]any{"name": strings.Repeat("t", 33)}); err == nil || !strings.Contains(err.Error(), "cannot be longer than 32 characters") {
			t.Errorf("%s name of 33: %v", typ, err)
		}
		if err := checkSchema(typ, map[string]any{"name": "portal-"}); err == nil {
			t.Errorf("%s name ending in -: accepted", typ)
		}
	}
	for _, typ := range []string{"aws:glue/catalogDatabase:CatalogDatabase", "aws:glue/catalogTable:CatalogTable"} {
		if err := checkSchema(typ, map[string]any{"name": "Deliveries"}); err == nil || err.Error() != "invalid value for name (uppercase characters cannot be used)" {
			t.Errorf("%s with an upper-case name: %v", typ, err)
		}
		if err := checkSchema(typ, map[string]any{"name": "hookline_dev_archive"}); err != nil {
			t.Errorf("%s: %v", typ, err)
		}
	}
}

// fargateTask is a Fargate task definition of cpu and memory.
func fargateTask(cpu, memory string) map[string]any {
	return map[string]any{"requiresCompatibilities": []any{"FARGATE"}, "networkMode": "awsvpc", "cpu": cpu, "memory": memory}
}

// firehose is an extended_s3 stream as the program makes one, with the
// configuration's edits (a value "" removes the key).
func firehose(edit map[string]any) map[string]any {
	x := map[string]any{"bucketArn": "arn:aws:s3:::b", "roleArn": "arn:aws:iam::1:role/r", "bufferingInterval": 300.0, "bufferingSize": 64.0,
		"prefix": "source=github/dt=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/", "errorOutputPrefix": "errors/source=github/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/"}
	for k, v := range edit {
		if v == "" {
			delete(x, k)
		} else {
			x[k] = v
		}
	}
	return map[string]any{"name": "hookline-dev-github-archive", "destination": "extended_s3", "extendedS3Configuration": x}
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
