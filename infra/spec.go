package infra

import (
	"errors"
	"fmt"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/stackconfig"
)

// The spec is everything the components are built from, derived once from
// the stack config and the caller (the account the stack deploys into):
// names, ARNs written from known parts, sizes, the handler's config. It is
// pure (no resources, no Pulumi values), so it is tested without mocks, and
// each component's Args take the part of it they build from, never the
// whole config.

// StackSpec is one stack, as its components build it.
type StackSpec struct {
	Environment string
	Region      string
	// Tags are every taggable resource's tags (Tags).
	Tags map[string]string
	// Ingress is the API the senders post to; its Kind picks REST or HTTP.
	Ingress IngressArgs
	// Sources are the stack's sources, in config order.
	Sources []SourceSpec
	// Authorizer is the edge authorizer's function, nil when no source
	// uses token auth.
	Authorizer *AuthorizerSpec
	// Domain is the custom domain, nil without one.
	Domain     *DomainSpec
	Monitoring MonitoringSpec
	// SealKey is the stack's seal key (a KMS HMAC key and its alias).
	SealKey SealKeySpec
	// Archive is the stack's archive store (key, bucket, Glue table,
	// Athena workgroup), nil when hookline:archive is off; each source's
	// stream is its SourceSpec.Archive.
	Archive *ArchiveSpec
}

func sealKeySpec(c *stackconfig.Config, caller Caller) SealKeySpec {
	return SealKeySpec{
		Alias:    c.SealKeyAlias(),
		AliasARN: caller.ARN("kms", c.Region, c.SealKeyAlias()),
		KeysARN:  caller.ARN("kms", c.Region, "key/*"),
	}
}

// SealKeySpec names the stack's seal key, written from known parts so the
// consumers' policy is judged on a stack's first preview.
type SealKeySpec struct {
	// Alias is alias/hookline-<env>-seal; AliasARN its ARN, which KMS
	// accepts as the KeyId of GenerateMac and VerifyMac.
	Alias, AliasARN string
	// KeysARN is arn:…:kms:<region>:<account>:key/*: a policy grants on the
	// keys carrying Alias (kms:ResourceAliases), the key's own id being
	// unknown before it exists.
	KeysARN string
}

// LogGroupSpec is a CloudWatch log group hookline names and keeps.
type LogGroupSpec struct {
	Name          string
	RetentionDays int
}

// SourceSpec is one source as its components build it.
type SourceSpec struct {
	// Name is the source's name: its route's path and the key of its
	// outputs.
	Name string
	Auth AuthSpec
	// Contract is the source's ingest contract (group, event id, signature
	// headers, content types), which both ingresses render.
	Contract contract.Spec
	Queues   QueueSpec
	Consumer ConsumerSpec
	// SendRoleName and SendPolicyName are the role API Gateway assumes to
	// send to the queue, and its policy's name.
	SendRoleName   string
	SendPolicyName string
	// Throttle is the source's own route throttle, nil for the stack's.
	Throttle *stackconfig.Throttle
	// UsagePlan is the API key and plan of an apiKey or token source
	// (used where the ingress has usage plans), nil for other sources.
	UsagePlan *UsagePlanSpec
	// Edge is what the edge authorizer checks for the source, nil when its
	// requests do not pass it.
	Edge *EdgeSource
	// Archive is the source's Firehose stream into the archive, nil when
	// the stack archives nothing.
	Archive *ArchiveStreamSpec
}

// AuthSpec is how a source's senders are admitted at the edge.
type AuthSpec struct {
	// Type is stackconfig's auth.type (apiKey, token, signature, cognito, iam).
	Type string
	// ThroughAuthorizer: the source's requests pass the edge authorizer
	// (token sources, and apiKey sources of a stack that has token ones).
	ThroughAuthorizer bool
	// Signature is the scheme the consumer verifies; a signature source's
	// route is open at the edge for it.
	Signature   contract.Scheme
	UserPoolARN string
	Scopes      []string
	Audiences   []string
}

// QueueSpec is a source's FIFO queue and FIFO dead-letter queue.
type QueueSpec struct {
	QueueName string
	DLQName   string
	// QueueARN and DLQARN are written from known parts (AWS's ARN form),
	// so the policies that name them are known on a first preview.
	QueueARN                 string
	DLQARN                   string
	VisibilityTimeoutSeconds int
	RetentionSeconds         int
	MaxReceiveCount          int
	// HighThroughput turns on FIFO high-throughput mode.
	HighThroughput bool
}

// ConsumerSpec is a source's consumer: its function and what it may touch.
type ConsumerSpec struct {
	FunctionName string
	Description  string
	RoleName     string
	// PolicyName and SecretsPolicyName name the role's two policies.
	PolicyName        string
	SecretsPolicyName string
	LogGroup          LogGroupSpec
	LogGroupARN       string
	MemoryMB          int
	TimeoutSeconds    int
	MaxConcurrency    int
	// Handler is the function's run-time configuration (its environment).
	Handler contract.HandlerConfig
	// Table is the idempotency table, nil when the source wants none.
	Table *TableSpec
	// Secrets are the secrets the stack config gives, stored as SSM
	// SecureString parameters; sources without them read parameters that
	// already exist.
	Secrets []SecretSpec
	// SecretARNs are the parameters the function may read.
	SecretARNs []string
	// QueueARN and DLQARN: the queue it consumes and the DLQ it moves
	// rejected messages to.
	QueueARN string
	DLQARN   string
	// SealKey is the stack's seal key, whose MACs it verifies.
	SealKey SealKeySpec
	// ArchiveStreamARN is the Firehose stream it archives every delivery
	// to (firehose:PutRecordBatch on it alone); empty when archiving is off.
	ArchiveStreamARN string
	// TracingMode is the function's X-Ray tracing (LambdaTracingMode); its
	// role may send traces only when it is Active.
	TracingMode string
}

// TableSpec is a DynamoDB table of the stack's account.
type TableSpec struct {
	Name string
	ARN  string
}

// SecretSpec is a secret value the program stores as an SSM SecureString.
type SecretSpec struct {
	// Kind names it among the owner's parameters (signing-secret,
	// forward-secret): its resource is <owner>-<Kind>.
	Kind        string
	Parameter   string
	Value       string
	Description string
}

// UsagePlanSpec is a source's API key and the usage plan throttling it.
type UsagePlanSpec struct {
	Name       string
	KeyName    string
	RateLimit  float64
	BurstLimit int
	// QuotaLimit is 0 without a quota.
	QuotaLimit  int
	QuotaPeriod string
	// KeyParameter is where a token source's key is stored for the edge
	// authorizer; empty for an apiKey source, whose sender is given the key
	// (the apiKeys output).
	KeyParameter string
}

// EdgeSource is a source as the edge authorizer sees it.
type EdgeSource struct {
	Source string
	// Check is contract.EdgeToken or contract.EdgeAPIKey.
	Check string
	// CacheTTL is how long API Gateway caches the authorizer's answer.
	CacheTTL int
	// TokenParameter holds a token source's token(s); Token, when the
	// stack config sets it, is stored there.
	TokenParameter    string
	TokenParameterARN string
	Token             string
	// UsageKeyParameter holds a token source's API key value, which the
	// authorizer hands to API Gateway where the ingress has usage plans.
	UsageKeyParameter    string
	UsageKeyParameterARN string
}

// AuthorizerSpec is the edge authorizer's function.
type AuthorizerSpec struct {
	FunctionName string
	Description  string
	RoleName     string
	LogGroup     LogGroupSpec
	LogGroupARN  string
	// TracingMode is the function's X-Ray tracing (LambdaTracingMode).
	TracingMode string
}

// DomainSpec is the custom domain in front of the API.
type DomainSpec struct {
	Name         string
	HostedZoneID string
}

// MonitoringSpec is what the alarms and the dashboard watch.
type MonitoringSpec struct {
	Region        string
	TopicName     string
	AlarmEmails   []string
	DashboardName string
	// APIAlarmName is the API's 5xx alarm.
	APIAlarmName            string
	OldestMessageAgeSeconds int
	Sources                 []WatchedSource
}

// WatchedSource is a source as its alarms and dashboard widgets see it.
type WatchedSource struct {
	Name         string
	QueueName    string
	DLQName      string
	FunctionName string
	// Open: a signature source, open at the edge, also gets a forgeries alarm.
	Open   bool
	Alarms SourceAlarmNames
}

// SourceAlarmNames are a source's alarms.
type SourceAlarmNames struct {
	DLQNotEmpty       string
	OldestMessage     string
	FunctionErrors    string
	FunctionThrottles string
	Forgeries         string
}

// NewStackSpec derives a stack's spec from its validated config and the
// account it deploys into.
func NewStackSpec(c *stackconfig.Config, caller Caller) (StackSpec, error) {
	if caller.Partition == "" || caller.Account == "" {
		return StackSpec{}, errors.New("stack spec: the caller's partition and account are required")
	}
	sp := StackSpec{
		Environment: c.Environment,
		Region:      c.Region,
		Tags:        Tags(c),
		Ingress: IngressArgs{
			Kind:                      c.Ingress,
			Name:                      c.APIName(),
			Description:               "hookline inbound webhooks (" + c.Environment + ")",
			DeploymentDescription:     "hookline " + c.Environment,
			Region:                    c.Region,
			DisableExecuteAPIEndpoint: c.Domain != nil,
			EdgeAuthorizer:            c.EdgeAuthorizer(),
			Tracing:                   c.TracingOn(),
			Throttle:                  c.Throttle,
			Tags:                      Tags(c),
		},
		Monitoring: MonitoringSpec{
			Region:                  c.Region,
			TopicName:               c.AlarmTopicName(),
			AlarmEmails:             c.AlarmEmails,
			DashboardName:           c.DashboardName(),
			APIAlarmName:            c.StackAlarmName("api-5xx"),
			OldestMessageAgeSeconds: c.Alarms.OldestMessageAgeSeconds,
		},
	}
	sp.SealKey = sealKeySpec(c, caller)
	if c.Archive.On() {
		sp.Archive = archiveSpec(c, caller)
	}
	if c.AccessLogsOn() {
		sp.Ingress.AccessLog = &LogGroupSpec{Name: c.AccessLogGroup(), RetentionDays: c.LogRetentionDays}
	}
	if c.ManageAPIGatewayAccount {
		sp.Ingress.CloudWatchRoleName = c.CloudWatchRoleName()
	}
	if c.Domain != nil {
		sp.Domain = &DomainSpec{Name: c.Domain.Name, HostedZoneID: c.Domain.HostedZoneID}
	}
	if c.EdgeAuthorizer() {
		sp.Authorizer = &AuthorizerSpec{
			FunctionName: c.AuthorizerName(),
			Description:  "hookline edge authorizer (" + c.Environment + ")",
			RoleName:     c.AuthorizerRoleName(),
			LogGroup:     LogGroupSpec{Name: c.AuthorizerLogGroup(), RetentionDays: c.LogRetentionDays},
			LogGroupARN:  caller.ARN("logs", c.Region, "log-group:"+c.AuthorizerLogGroup()),
			TracingMode:  LambdaTracingMode(c),
		}
	}
	var errs []error
	for _, s := range c.Sources {
		src, err := NewSourceSpec(c, s, caller)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		sp.Sources = append(sp.Sources, src)
		sp.Monitoring.Sources = append(sp.Monitoring.Sources, WatchedSource{
			Name:         s.Name,
			QueueName:    src.Queues.QueueName,
			DLQName:      src.Queues.DLQName,
			FunctionName: src.Consumer.FunctionName,
			Open:         s.Auth.Type == stackconfig.AuthSignature,
			Alarms: SourceAlarmNames{
				DLQNotEmpty:       c.SourceAlarmName(s, "dlq-not-empty"),
				OldestMessage:     c.SourceAlarmName(s, "oldest-message"),
				FunctionErrors:    c.SourceAlarmName(s, "function-errors"),
				FunctionThrottles: c.SourceAlarmName(s, "function-throttles"),
				Forgeries:         c.SourceAlarmName(s, "forgeries"),
			},
		})
	}
	if err := errors.Join(errs...); err != nil {
		return StackSpec{}, err
	}
	return sp, nil
}

// NewSourceSpec derives one source's spec: every name and ARN of its
// resources, computed here once.
func NewSourceSpec(c *stackconfig.Config, s stackconfig.Source, caller Caller) (SourceSpec, error) {
	contractSpec := s.Spec()
	if err := contractSpec.Validate(); err != nil {
		return SourceSpec{}, fmt.Errorf("derive the spec of source %s: %w", s.Name, err)
	}
	queue, dlq := c.QueueName(s), c.DLQName(s)
	queueARN := c.QueueARN(caller.Partition, caller.Account, queue)
	dlqARN := c.QueueARN(caller.Partition, caller.Account, dlq)
	hc := c.HandlerConfig(s)

	sp := SourceSpec{
		Name: s.Name,
		Auth: AuthSpec{
			Type:              s.Auth.Type,
			ThroughAuthorizer: c.ThroughAuthorizer(s),
			Signature:         s.Signature.Scheme,
			UserPoolARN:       s.Auth.UserPoolARN,
			Scopes:            s.Auth.Scopes,
			Audiences:         s.Auth.Audiences,
		},
		Contract: contractSpec,
		Queues: QueueSpec{
			QueueName:                queue,
			DLQName:                  dlq,
			QueueARN:                 queueARN,
			DLQARN:                   dlqARN,
			VisibilityTimeoutSeconds: s.VisibilityTimeout(),
			RetentionSeconds:         s.RetentionDays * 24 * 3600,
			MaxReceiveCount:          s.MaxReceiveCount,
			HighThroughput:           s.HighThroughputMode(),
		},
		Consumer: ConsumerSpec{
			FunctionName:      c.FunctionName(s),
			Description:       "hookline consumer for source " + s.Name + " (" + c.Environment + ")",
			RoleName:          c.FunctionRoleName(s),
			PolicyName:        "consume-" + s.Name,
			SecretsPolicyName: "read-secrets-" + s.Name,
			LogGroup:          LogGroupSpec{Name: c.FunctionLogGroup(s), RetentionDays: c.LogRetentionDays},
			LogGroupARN:       caller.ARN("logs", c.Region, "log-group:"+c.FunctionLogGroup(s)),
			MemoryMB:          s.Function.MemoryMB,
			TimeoutSeconds:    s.Function.TimeoutSeconds,
			MaxConcurrency:    s.Function.MaxConcurrency,
			Handler:           hc,
			QueueARN:          queueARN,
			DLQARN:            dlqARN,
			SealKey:           sealKeySpec(c, caller),
			TracingMode:       LambdaTracingMode(c),
		},
		SendRoleName:   c.IntegrationRoleName(s),
		SendPolicyName: "send-to-" + s.Name,
		Throttle:       s.Throttle,
	}
	if c.Archive.On() {
		sp.Archive = archiveStreamSpec(c, s, caller)
		sp.Consumer.ArchiveStreamARN = sp.Archive.StreamARN
	}
	if s.Idempotency.Enabled {
		sp.Consumer.Table = &TableSpec{Name: hc.IdempotencyTable, ARN: caller.ARN("dynamodb", c.Region, "table/"+hc.IdempotencyTable)}
	}
	var params []string
	for _, p := range []string{hc.SecretParameter, hc.ForwardSecret} {
		if p != "" {
			params = append(params, p)
		}
	}
	sp.Consumer.SecretARNs = ParameterARNs(caller, c.Region, params)
	for _, sec := range []struct{ kind, param, value string }{
		{"signing-secret", hc.SecretParameter, c.SigningSecrets[s.Name]},
		{"forward-secret", hc.ForwardSecret, c.ForwardSecrets[s.Name]},
	} {
		if sec.value == "" || sec.param == "" {
			continue
		}
		sp.Consumer.Secrets = append(sp.Consumer.Secrets, SecretSpec{
			Kind: sec.kind, Parameter: sec.param, Value: sec.value,
			Description: "hookline " + sec.kind + " of source " + s.Name,
		})
	}
	if s.Auth.HasUsagePlan() {
		plan := s.Auth.UsagePlan
		if plan == nil {
			plan = &stackconfig.UsagePlan{RateLimit: c.Throttle.RateLimit, BurstLimit: c.Throttle.BurstLimit}
		}
		sp.UsagePlan = &UsagePlanSpec{
			Name: c.UsagePlanName(s), KeyName: c.APIKeyName(s),
			RateLimit: plan.RateLimit, BurstLimit: plan.BurstLimit,
			QuotaLimit: plan.QuotaLimit, QuotaPeriod: plan.QuotaPeriod,
		}
		if s.Auth.Type == stackconfig.AuthToken {
			sp.UsagePlan.KeyParameter = c.UsageKeyParameter(s)
		}
	}
	switch {
	case s.Auth.Type == stackconfig.AuthToken:
		sp.Edge = &EdgeSource{
			Source: s.Name, Check: contract.EdgeToken, CacheTTL: s.AuthorizerCacheTTL(),
			TokenParameter:       s.Auth.TokenParameter,
			TokenParameterARN:    ParameterARNs(caller, c.Region, []string{s.Auth.TokenParameter})[0],
			Token:                c.Tokens[s.Name],
			UsageKeyParameter:    c.UsageKeyParameter(s),
			UsageKeyParameterARN: ParameterARNs(caller, c.Region, []string{c.UsageKeyParameter(s)})[0],
		}
	case c.ThroughAuthorizer(s):
		sp.Edge = &EdgeSource{Source: s.Name, Check: contract.EdgeAPIKey, CacheTTL: s.AuthorizerCacheTTL()}
	}
	return sp, nil
}
