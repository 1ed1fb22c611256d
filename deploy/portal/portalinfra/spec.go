package portalinfra

import (
	"encoding/json"
	"fmt"
)

// Names are the physical names of the portal's resources, derived from the
// stack name alone (pure, tested without mocks).
//
// They start with "hlportal-", not "hookline-": the task role may change
// "hookline-*" resources (the webhook stacks it deploys), and must not be
// able to change its own role, repository or bucket.
type Names struct{ Prefix string }

// NamesFor returns the names of stack's resources.
func NamesFor(stack string) Names { return Names{Prefix: "hlportal-" + stack} }

// LoadBalancer is the ALB's name (at most 32 characters).
func (n Names) LoadBalancer() string { return n.Prefix }

// TargetGroup is the target group's name (at most 32 characters).
func (n Names) TargetGroup() string { return n.Prefix + "-tg" }

// Cluster, Service and Family name the ECS cluster, service and task family.
func (n Names) Cluster() string { return n.Prefix }

// Service is the ECS service's name.
func (n Names) Service() string { return n.Prefix }

// Family is the task definition's family.
func (n Names) Family() string { return n.Prefix }

// Repository is the ECR repository's name.
func (n Names) Repository() string { return n.Prefix }

// LogGroup is the tasks' CloudWatch log group.
func (n Names) LogGroup() string { return "/ecs/" + n.Prefix }

// TaskRole and ExecutionRole name the tasks' two IAM roles.
func (n Names) TaskRole() string { return n.Prefix + "-task" }

// ExecutionRole is the role ECS pulls the image and writes logs with.
func (n Names) ExecutionRole() string { return n.Prefix + "-exec" }

// JobsTable is the DynamoDB jobs table (hookline portal --jobs-table).
func (n Names) JobsTable() string { return n.Prefix + "-jobs" }

// KeyAlias is the KMS key's alias (the awskms:// secrets provider).
func (n Names) KeyAlias() string { return "alias/" + n.Prefix }

// StateBucket is the s3:// backend's bucket; the account keeps it unique.
func (n Names) StateBucket(account string) string { return n.Prefix + "-state-" + account }

// ContainerName is the portal's container in the task definition.
const ContainerName = "portal"

// OIDCConfigPath is where the image holds the team mapping (--oidc-config).
const OIDCConfigPath = "/etc/hookline/oidc.json"

// Problems returns the names AWS would refuse: ALB and target group names
// are at most 32 characters (Elastic Load Balancing API Reference,
// CreateLoadBalancer/CreateTargetGroup Name).
func (n Names) Problems() []string {
	var p []string
	for _, x := range []struct{ what, name string }{{"load balancer", n.LoadBalancer()}, {"target group", n.TargetGroup()}} {
		if len(x.name) > 32 {
			p = append(p, fmt.Sprintf("%s name %q is %d characters; AWS allows 32", x.what, x.name, len(x.name)))
		}
	}
	return p
}

// Statement is one IAM policy statement.
type Statement struct {
	Sid       string         `json:"Sid,omitempty"`
	Effect    string         `json:"Effect"`
	Action    []string       `json:"Action"`
	Resource  []string       `json:"Resource"`
	Condition map[string]any `json:"Condition,omitempty"`
}

// Document is an IAM policy document.
type Document struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// JSON renders d.
func (d Document) JSON() string {
	b, _ := json.Marshal(d)
	return string(b)
}

// Scope is what the task role's policy is about: where, and the ARNs of
// the portal's own state bucket, key and table.
type Scope struct {
	Partition, Region, Account string
	StateBucketArn             string
	KeyArn                     string
	JobsTableArn               string
	// HostedZoneIDs are the zones the webhook stacks' domains live in.
	HostedZoneIDs []string
}

// DeployPrefix is the name prefix of everything the portal may deploy
// (stackconfig's ResourceName: "hookline-<environment>-…").
const DeployPrefix = "hookline-"

// TaskPolicy is the portal tasks' policy: deploy and inspect only
// "hookline-*" resources, read only /hookline/* SSM parameters, use the
// state bucket, the secrets key and the jobs table.
//
// Where a service's ARNs carry no name the policy cannot scope by name,
// and the statement's Sid says so (docs/portal-service.md lists them):
// API Gateway ids, KMS keys (key ids) and ACM certificates (ids), and
// the calls that take no resource at all (kms:CreateKey,
// acm:RequestCertificate, tag:GetResources, sts:GetCallerIdentity,
// lambda:CreateEventSourceMapping, which is scoped by its
// lambda:FunctionArn condition instead).
func TaskPolicy(s Scope) Document {
	p, r, a := s.Partition, s.Region, s.Account
	arn := func(service, region, rest string) string {
		return fmt.Sprintf("arn:%s:%s:%s:%s:%s", p, service, region, a, rest)
	}
	h := DeployPrefix + "*"
	zones := make([]string, 0, len(s.HostedZoneIDs))
	for _, z := range s.HostedZoneIDs {
		zones = append(zones, fmt.Sprintf("arn:%s:route53:::hostedzone/%s", p, z))
	}
	st := []Statement{
		{Sid: "StateBucketList", Effect: "Allow", Action: []string{"s3:ListBucket", "s3:GetBucketLocation", "s3:GetBucketVersioning"}, Resource: []string{s.StateBucketArn}},
		{Sid: "StateBucketObjects", Effect: "Allow", Action: []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}, Resource: []string{s.StateBucketArn + "/*"}},
		{Sid: "SecretsKey", Effect: "Allow", Action: []string{"kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"}, Resource: []string{s.KeyArn}},
		{Sid: "JobsTable", Effect: "Allow", Action: []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
			"dynamodb:Query", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable"}, Resource: []string{s.JobsTableArn, s.JobsTableArn + "/index/*"}},
		{Sid: "ReadHooklineParameters", Effect: "Allow", Action: []string{"ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"},
			Resource: []string{arn("ssm", r, "parameter/hookline/*")}},
		{Sid: "DeployQueues", Effect: "Allow", Action: []string{"sqs:*"}, Resource: []string{arn("sqs", r, h)}},
		{Sid: "DeployFunctions", Effect: "Allow", Action: []string{"lambda:*"}, Resource: []string{arn("lambda", r, "function:"+h), arn("lambda", r, "event-source-mapping:*")}},
		{Sid: "EventSourceMappingsByFunctionArnNoResourceLevel", Effect: "Allow",
			Action:    []string{"lambda:CreateEventSourceMapping", "lambda:ListEventSourceMappings", "lambda:GetEventSourceMapping"},
			Resource:  []string{"*"},
			Condition: map[string]any{"ArnLike": map[string]any{"lambda:FunctionArn": arn("lambda", r, "function:"+h)}}},
		{Sid: "DeployRoles", Effect: "Allow", Action: []string{"iam:CreateRole", "iam:DeleteRole", "iam:GetRole", "iam:UpdateRole",
			"iam:UpdateAssumeRolePolicy", "iam:TagRole", "iam:UntagRole", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies",
			"iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy",
			"iam:ListInstanceProfilesForRole"}, Resource: []string{fmt.Sprintf("arn:%s:iam::%s:role/%s", p, a, h)}},
		{Sid: "PassRolesToServices", Effect: "Allow", Action: []string{"iam:PassRole"}, Resource: []string{fmt.Sprintf("arn:%s:iam::%s:role/%s", p, a, h)},
			Condition: map[string]any{"StringEquals": map[string]any{"iam:PassedToService": []string{"lambda.amazonaws.com", "apigateway.amazonaws.com", "firehose.amazonaws.com"}}}},
		{Sid: "DeployLogs", Effect: "Allow", Action: []string{"logs:*"}, Resource: []string{
			arn("logs", r, "log-group:/aws/lambda/"+h), arn("logs", r, "log-group:/aws/lambda/"+h+":*"),
			arn("logs", r, "log-group:/aws/apigateway/"+h), arn("logs", r, "log-group:/aws/apigateway/"+h+":*"),
			arn("logs", r, "log-group:"+h), arn("logs", r, "log-group:"+h+":*")}},
		{Sid: "DeployAlarmsAndDashboards", Effect: "Allow", Action: []string{"cloudwatch:*"}, Resource: []string{
			arn("cloudwatch", r, "alarm:"+h), fmt.Sprintf("arn:%s:cloudwatch::%s:dashboard/%s", p, a, h)}},
		{Sid: "DeployTopics", Effect: "Allow", Action: []string{"sns:*"}, Resource: []string{arn("sns", r, h)}},
		{Sid: "DeployArchiveBuckets", Effect: "Allow", Action: []string{"s3:*"}, Resource: []string{
			fmt.Sprintf("arn:%s:s3:::%s", p, h), fmt.Sprintf("arn:%s:s3:::%s/*", p, h)}},
		{Sid: "DeployArchiveStreams", Effect: "Allow", Action: []string{"firehose:*"}, Resource: []string{arn("firehose", r, "deliverystream/"+h)}},
		{Sid: "DeployArchiveCatalog", Effect: "Allow", Action: []string{"glue:*"}, Resource: []string{
			arn("glue", r, "catalog"), arn("glue", r, "database/hookline_*"), arn("glue", r, "table/hookline_*/*")}},
		{Sid: "DeployArchiveWorkgroups", Effect: "Allow", Action: []string{"athena:*"}, Resource: []string{arn("athena", r, "workgroup/"+h)}},
		{Sid: "DeployTables", Effect: "Allow", Action: []string{"dynamodb:*"}, Resource: []string{arn("dynamodb", r, "table/"+h)}},
		{Sid: "DeployKeyAliases", Effect: "Allow", Action: []string{"kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"}, Resource: []string{arn("kms", r, "alias/"+h)}},
		{Sid: "ApiGatewayIdsNoNames", Effect: "Allow", Action: []string{"apigateway:*"}, Resource: []string{fmt.Sprintf("arn:%s:apigateway:%s::/*", p, r)}},
		{Sid: "KmsKeysByIdNoNames", Effect: "Allow", Action: []string{"kms:CreateKey", "kms:DescribeKey", "kms:GetKeyPolicy", "kms:PutKeyPolicy",
			"kms:GetKeyRotationStatus", "kms:EnableKeyRotation", "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:ListResourceTags", "kms:ListAliases"}, Resource: []string{"*"}},
		{Sid: "AcmCertificatesByIdNoNames", Effect: "Allow", Action: []string{"acm:RequestCertificate", "acm:DescribeCertificate", "acm:DeleteCertificate",
			"acm:ListTagsForCertificate", "acm:AddTagsToCertificate"}, Resource: []string{"*"}},
		{Sid: "NoResourceLevelCalls", Effect: "Allow", Action: []string{"tag:GetResources", "sts:GetCallerIdentity", "ssm:DescribeParameters"}, Resource: []string{"*"}},
	}
	if len(zones) > 0 {
		st = append(st, Statement{Sid: "WebhookDomainRecords", Effect: "Allow", Action: []string{"route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets", "route53:GetHostedZone"}, Resource: zones},
			Statement{Sid: "Route53ChangesNoNames", Effect: "Allow", Action: []string{"route53:GetChange"}, Resource: []string{fmt.Sprintf("arn:%s:route53:::change/*", p)}})
	}
	return Document{Version: "2012-10-17", Statement: st}
}

// ExecutionPolicy is the execution role's policy: pull the portal's image
// (ecr:GetAuthorizationToken has no resource level, AWS documents "*") and
// write the tasks' logs.
func ExecutionPolicy(partition, repositoryArn, logGroupArn string) Document {
	return Document{Version: "2012-10-17", Statement: []Statement{
		{Sid: "PullImage", Effect: "Allow", Action: []string{"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"}, Resource: []string{repositoryArn}},
		{Sid: "EcrTokenNoResourceLevel", Effect: "Allow", Action: []string{"ecr:GetAuthorizationToken"}, Resource: []string{"*"}},
		{Sid: "WriteLogs", Effect: "Allow", Action: []string{"logs:CreateLogStream", "logs:PutLogEvents"}, Resource: []string{logGroupArn + ":*"}},
	}}
}

// AssumeRole is the trust policy of both task roles.
func AssumeRole(account string) string {
	b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": map[string]any{"Service": "ecs-tasks.amazonaws.com"},
		"Condition": map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": account}},
	}}})
	return string(b)
}

// DenyInsecureTransport is the state bucket's policy: TLS only.
func DenyInsecureTransport(bucketArn string) string {
	b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
		"Resource":  []string{bucketArn, bucketArn + "/*"},
		"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
	}}})
	return string(b)
}

// Command is the portal container's command line.
func Command(backendURL, secretsProvider, jobsTable, albArn string, port int) []string {
	return []string{"portal", "--addr", fmt.Sprintf(":%d", port), "--backend", backendURL,
		"--jobs-table", jobsTable, "--alb-arn", albArn, "--oidc-config", OIDCConfigPath,
		"--trust-forwarded-proto", "--data", "/var/lib/hookline", "--secrets-provider", secretsProvider,
		"--policy-pack", "/usr/local/bin/hookline-policy", "--dir", SourceDir}
}

// KeepImages is how many images the repository keeps (rollback targets).
const KeepImages = 10

// LifecyclePolicy is the ECR lifecycle policy that keeps the newest keep
// images, tagged or not.
func LifecyclePolicy(keep int) string {
	b, _ := json.Marshal(map[string]any{"rules": []any{map[string]any{
		"rulePriority": 1, "description": fmt.Sprintf("keep the newest %d images", keep),
		"selection": map[string]any{"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep},
		"action":    map[string]any{"type": "expire"},
	}}})
	return string(b)
}
