package stackconfig

import "strings"

// Every physical name a stack gives an AWS resource lives in this file.
// Names are explicit (not Pulumi's random suffixes) so that dashboards,
// alarms, operators and the redrive tool can find them; the environment keeps
// stacks in one account apart. AWS's length limits (queue 80, function and
// role 64) bound the environment (16) and source (30) names.

// ResourceName is hookline-<environment>[-<source>][-<suffix>…]; the other
// names below are built from it.
func (c *Config) ResourceName(source string, suffix ...string) string {
	n := "hookline-" + c.Environment
	if source != "" {
		n += "-" + source
	}
	for _, s := range suffix {
		n += "-" + s
	}
	return n
}

// QueueARN is the ARN of a queue of this stack, written from known parts as
// AWS documents its form (arn:<partition>:sqs:<region>:<account>:<name>): the
// account comes from the provider's getCallerIdentity, which a preview
// answers, so an ARN written this way is known on a stack's first preview,
// where the queue's own arn output is not.
func (c *Config) QueueARN(partition, account, name string) string {
	return "arn:" + partition + ":sqs:" + c.Region + ":" + account + ":" + name
}

// SealKeyAlias is the alias of the stack's seal key (a KMS HMAC key): the
// consumers' policy and environment name the key by it, because the key's
// own ARN (a random id) is unknown until it exists.
func (c *Config) SealKeyAlias() string { return "alias/" + c.ResourceName("", "seal") }

// QueueName is a source's FIFO queue.
func (c *Config) QueueName(s Source) string { return c.ResourceName(s.Name) + ".fifo" }

// DLQName is a source's FIFO dead-letter queue.
func (c *Config) DLQName(s Source) string { return c.ResourceName(s.Name, "dlq") + ".fifo" }

// FunctionName is a source's Lambda function.
func (c *Config) FunctionName(s Source) string { return c.ResourceName(s.Name) }

// FunctionLogGroup is the explicit log group of a source's function.
func (c *Config) FunctionLogGroup(s Source) string { return "/aws/lambda/" + c.FunctionName(s) }

// FunctionRoleName is the execution role of a source's function.
func (c *Config) FunctionRoleName(s Source) string { return c.ResourceName(s.Name, "fn") }

// IntegrationRoleName is the role API Gateway assumes to send to a source's queue.
func (c *Config) IntegrationRoleName(s Source) string { return c.ResourceName(s.Name, "apigw") }

// IdempotencyTable is a source's long-window dedup table.
func (c *Config) IdempotencyTable(s Source) string { return c.ResourceName(s.Name, "idempotency") }

// UsagePlanName is an apiKey source's usage plan.
func (c *Config) UsagePlanName(s Source) string { return c.ResourceName(s.Name, "plan") }

// APIKeyName is an apiKey source's API key.
func (c *Config) APIKeyName(s Source) string { return c.ResourceName(s.Name, "key") }

// SourceAlarmName is one of a source's alarms (dlq-not-empty, oldest-message, …).
func (c *Config) SourceAlarmName(s Source, alarm string) string { return c.ResourceName(s.Name, alarm) }

// APIName is the REST API (also the ApiName dimension of its metrics).
func (c *Config) APIName() string { return c.ResourceName("", "api") }

// AccessLogGroup is the API stage's access log group. An HTTP API's sits
// under VendedLogsPrefix: an HTTP API delivers access logs as vended logs,
// through the account's CloudWatch Logs resource policy (AWS: "CloudWatch
// Logs resource policies are limited to 5120 characters. When CloudWatch
// Logs detects that a policy approaches this size limit, it automatically
// enables log groups that start with /aws/vendedlogs/", Step Functions
// developer guide, bp-cwl), so in a busy account only such a group keeps
// receiving them (sst#125, serverless#10469: "Insufficient permissions to
// enable logging"). A REST API writes access logs with the region's API
// Gateway CloudWatch role instead, which no resource policy limits.
func (c *Config) AccessLogGroup() string {
	if c.HTTP() {
		return VendedLogsPrefix + "apigateway/" + c.APIName() + "/access"
	}
	return "/aws/apigateway/" + c.APIName() + "/access"
}

// VendedLogsPrefix is the log group prefix CloudWatch Logs keeps enabled
// for vended logs when the account's resource policy is full.
const VendedLogsPrefix = "/aws/vendedlogs/"

// CloudWatchRoleName is the region's API Gateway CloudWatch role, where the
// stack manages it.
func (c *Config) CloudWatchRoleName() string { return c.ResourceName("", "apigw-cloudwatch") }

// StackAlarmName is one of the stack-wide alarms (api-5xx).
func (c *Config) StackAlarmName(alarm string) string { return c.ResourceName("", alarm) }

// AlarmTopicName is the SNS topic alarms notify.
func (c *Config) AlarmTopicName() string { return c.ResourceName("", "alarms") }

// DashboardName is the stack's CloudWatch dashboard.
func (c *Config) DashboardName() string { return c.ResourceName("", "webhooks") }

// AuthorizerName is the stack's token authorizer function.
func (c *Config) AuthorizerName() string { return c.ResourceName("", "authorizer") }

// AuthorizerLogGroup is the authorizer function's log group.
func (c *Config) AuthorizerLogGroup() string { return "/aws/lambda/" + c.AuthorizerName() }

// AuthorizerRoleName is the authorizer function's execution role.
func (c *Config) AuthorizerRoleName() string { return c.ResourceName("", "authorizer-fn") }

// UsageKeyParameter is the SSM SecureString holding the value of a token
// source's API key, which the authorizer hands to API Gateway.
func (c *Config) UsageKeyParameter(s Source) string {
	return "/hookline/" + c.Environment + "/" + s.Name + "/usage-key"
}

// SecretParameter is the default SSM parameter of a source's secret of kind
// "signing", "forward" or "token": /hookline/<environment>/<source>/<kind>-secret.
func SecretParameter(environment, source, kind string) string {
	return "/hookline/" + environment + "/" + source + "/" + kind + "-secret"
}

// ParameterPrefix is where a stack's SSM parameters live: its functions may
// read parameters under it and nowhere else (the policy pack's secret-scope).
func (c *Config) ParameterPrefix() string { return "/hookline/" + c.Environment + "/" }

// ArchiveKeyAlias is the alias of the stack's archive key (a symmetric KMS
// key): the archive bucket's default encryption, the Firehose streams and
// the Athena results use it, and the policies name it by this alias.
func (c *Config) ArchiveKeyAlias() string { return "alias/" + c.ResourceName("", "archive") }

// ArchiveBucket is the bucket every delivery is archived to. S3 bucket
// names are global across accounts, so it carries the account and region:
// 9 + 16 + 9 + 12 + 1 + 14 = at most 61 characters (S3 allows 3-63), all
// lower case, digits and '-'.
func (c *Config) ArchiveBucket(account string) string {
	return c.ResourceName("", "archive") + "-" + account + "-" + c.Region
}

// ArchiveResultsBucket is the bucket the archive's Athena workgroup writes
// its query results to (at most 60 characters).
func (c *Config) ArchiveResultsBucket(account string) string {
	return c.ResourceName("", "athena") + "-" + account + "-" + c.Region
}

// ArchiveStream is a source's Amazon Data Firehose stream (Firehose allows
// 1-64 characters: 9 + 16 + 1 + 30 + 8 = 64).
func (c *Config) ArchiveStream(s Source) string { return c.ResourceName(s.Name, "archive") }

// ArchiveStreamRole is the role a source's Firehose stream assumes to write
// the archive bucket (IAM allows 64 characters).
func (c *Config) ArchiveStreamRole(s Source) string { return c.ResourceName(s.Name, "archive") }

// ArchiveDatabase is the archive's Glue database: Glue folds names to lower
// case and Athena takes no '-' unquoted, so '-' becomes '_'.
func (c *Config) ArchiveDatabase() string {
	return strings.ReplaceAll(c.ResourceName("", "archive"), "-", "_")
}

// ArchiveTable is the archive's Glue table in ArchiveDatabase.
const ArchiveTable = "deliveries"

// ArchiveWorkgroup is the archive's Athena workgroup.
func (c *Config) ArchiveWorkgroup() string { return c.ResourceName("", "archive") }
