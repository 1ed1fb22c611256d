package infra

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/dynamodb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lambda"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sqs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/stackconfig"
	"github.com/hookline/hookline/stackoutputs"
)

// Lambda settings every consumer uses.
const (
	LambdaRuntime      = "provided.al2023"
	LambdaArchitecture = "arm64"
	// BatchSize is the largest batch a FIFO event source mapping allows.
	BatchSize = 10
)

// SourceArgs configures one source.
type SourceArgs struct {
	Spec SourceSpec
	// Router is the ingress the source's route is added to.
	Router Router
	// Code is the handler archive (bootstrap at its root).
	Code pulumi.Archive
	// AuthorizerID is the edge authorizer guarding the route, when the
	// source's requests pass it (Spec.Auth.ThroughAuthorizer).
	AuthorizerID pulumi.IDInput
	Tags         map[string]string
}

func (a *SourceArgs) validate() []string {
	var p []string
	p = append(p, required("Spec.Name", a.Spec.Name, "Spec.SendRoleName", a.Spec.SendRoleName, "Spec.SendPolicyName", a.Spec.SendPolicyName)...)
	if err := a.Spec.Contract.Validate(); err != nil {
		p = append(p, err.Error())
	}
	if a.Router == nil {
		p = append(p, "Router is required")
	}
	if a.Code == nil {
		p = append(p, "Code is required")
	}
	if a.Spec.Auth.ThroughAuthorizer && a.AuthorizerID == nil {
		p = append(p, "its route needs the edge authorizer (AuthorizerID)")
	}
	return p
}

// Source is everything one sending system gets: a FIFO queue with a FIFO
// dead-letter queue, the role API Gateway sends to it with and its route on
// the ingress (created by the ingress, under this component), the consumer
// function with its event source mapping, and the optional idempotency table.
type Source struct {
	pulumi.ResourceState

	// Name is the source's name, the key of its outputs; Auth its auth kind.
	Name string
	Auth string

	Queue    *sqs.Queue
	DLQ      *sqs.Queue
	Function *lambda.Function
	Mapping  *lambda.EventSourceMapping
	Table    *dynamodb.Table
	SendRole *iam.Role

	QueueURL     pulumi.StringOutput `pulumi:"queueUrl"`
	QueueArn     pulumi.StringOutput `pulumi:"queueArn"`
	DLQURL       pulumi.StringOutput `pulumi:"dlqUrl"`
	DLQArn       pulumi.StringOutput `pulumi:"dlqArn"`
	FunctionName pulumi.StringOutput `pulumi:"functionName"`
	FunctionArn  pulumi.StringOutput `pulumi:"functionArn"`
}

// NewSource creates a source's resources and its route.
func NewSource(ctx *pulumi.Context, name string, args *SourceArgs, opts ...pulumi.ResourceOption) (*Source, error) {
	if args == nil {
		return nil, fmt.Errorf("source %s: args are required", name)
	}
	if err := argsError("source", name, args.validate()); err != nil {
		return nil, err
	}
	spec := args.Spec
	src := &Source{Name: spec.Name, Auth: spec.Auth.Type}
	if err := ctx.RegisterComponentResource(TypeSource, name, src, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(src)

	if err := src.queues(ctx, name, spec.Queues, args.Tags); err != nil {
		return nil, err
	}
	policy, err := src.sendRole(ctx, name, spec, args.Tags)
	if err != nil {
		return nil, err
	}
	if err := args.Router.AddRoute(ctx, name, &RouteArgs{
		Source: spec, QueueURL: src.Queue.Url, SendRoleArn: src.SendRole.Arn, SendPolicy: policy, AuthorizerID: args.AuthorizerID,
	}, parent); err != nil {
		return nil, fmt.Errorf("route of %s: %w", spec.Name, err)
	}
	if err := src.consumer(ctx, name, spec.Consumer, args.Code, args.Tags); err != nil {
		return nil, err
	}

	src.QueueURL, src.QueueArn = src.Queue.Url, src.Queue.Arn
	src.DLQURL, src.DLQArn = src.DLQ.Url, src.DLQ.Arn
	src.FunctionName, src.FunctionArn = src.Function.Name, src.Function.Arn
	if err := ctx.RegisterResourceOutputs(src, pulumi.Map{
		"queueUrl": src.QueueURL, "queueArn": src.QueueArn,
		"dlqUrl": src.DLQURL, "dlqArn": src.DLQArn,
		"functionName": src.FunctionName, "functionArn": src.FunctionArn,
	}); err != nil {
		return nil, err
	}
	return src, nil
}

// queues creates the FIFO DLQ, the FIFO source queue that redrives to it,
// the DLQ's allow policy and TLS-only policies on both.
func (src *Source) queues(ctx *pulumi.Context, name string, s QueueSpec, tagsIn map[string]string) error {
	parent, tags := pulumi.Parent(src), pulumi.ToStringMap(tagsIn)
	var err error
	src.DLQ, err = sqs.NewQueue(ctx, name+"-dlq", &sqs.QueueArgs{
		Name:                      pulumi.String(s.DLQName),
		FifoQueue:                 pulumi.Bool(true),
		ContentBasedDeduplication: pulumi.Bool(true),
		MessageRetentionSeconds:   pulumi.Int(stackconfig.DLQRetentionSeconds),
		MaxMessageSize:            pulumi.Int(contract.MaxMessageBytes),
		SqsManagedSseEnabled:      pulumi.Bool(true),
		Tags:                      tags,
	}, parent)
	if err != nil {
		return fmt.Errorf("create dlq %s: %w", s.DLQName, err)
	}

	qa := &sqs.QueueArgs{
		Name:                      pulumi.String(s.QueueName),
		FifoQueue:                 pulumi.Bool(true),
		ContentBasedDeduplication: pulumi.Bool(true),
		VisibilityTimeoutSeconds:  pulumi.Int(s.VisibilityTimeoutSeconds),
		MessageRetentionSeconds:   pulumi.Int(s.RetentionSeconds),
		// Set, not left to the provider's default: the ingest contract's
		// limit (the README, the 413 response) is this one constant.
		MaxMessageSize:       pulumi.Int(contract.MaxMessageBytes),
		SqsManagedSseEnabled: pulumi.Bool(true),
		// Written from known parts, not from the DLQ's arn output, so the
		// policy pack judges it on the first preview too; the DependsOn below
		// keeps the DLQ created first, as SQS requires.
		RedrivePolicy: pulumi.String(RedrivePolicy(s.DLQARN, s.MaxReceiveCount)),
		Tags:          tags,
	}
	if s.HighThroughput {
		// Throughput then scales with the number of active message groups.
		qa.DeduplicationScope = pulumi.String("messageGroup")
		qa.FifoThroughputLimit = pulumi.String("perMessageGroupId")
	}
	src.Queue, err = sqs.NewQueue(ctx, name+"-queue", qa, parent, pulumi.DependsOn([]pulumi.Resource{src.DLQ}))
	if err != nil {
		return fmt.Errorf("create queue %s: %w", s.QueueName, err)
	}

	if _, err := sqs.NewRedriveAllowPolicy(ctx, name+"-dlq-allow", &sqs.RedriveAllowPolicyArgs{
		QueueUrl:           src.DLQ.Url,
		RedriveAllowPolicy: src.Queue.Arn.ApplyT(RedriveAllowPolicy).(pulumi.StringOutput),
	}, parent); err != nil {
		return fmt.Errorf("create redrive allow policy of %s: %w", s.DLQName, err)
	}
	// The policy documents name their queue by an ARN written from known
	// parts, so the policy pack reads them on the first preview too.
	for _, p := range []struct {
		suffix, arn string
		queue       *sqs.Queue
	}{{"-queue-tls", s.QueueARN, src.Queue}, {"-dlq-tls", s.DLQARN, src.DLQ}} {
		if _, err := sqs.NewQueuePolicy(ctx, name+p.suffix, &sqs.QueuePolicyArgs{
			QueueUrl: p.queue.Url,
			Policy:   pulumi.String(TLSOnlyQueuePolicy(p.arn)),
		}, parent); err != nil {
			return fmt.Errorf("create tls-only policy of %s: %w", p.arn, err)
		}
	}

	return nil
}

// consumer creates the function, its log group, role, policies and
// secrets, the event source mapping, and the idempotency table.
func (src *Source) consumer(ctx *pulumi.Context, name string, s ConsumerSpec, code pulumi.Archive, tagsIn map[string]string) error {
	parent, tags := pulumi.Parent(src), pulumi.ToStringMap(tagsIn)
	logs, err := cloudwatch.NewLogGroup(ctx, name+"-logs", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(s.LogGroup.Name),
		RetentionInDays: pulumi.Int(s.LogGroup.RetentionDays),
		Tags:            tags,
	}, parent)
	if err != nil {
		return fmt.Errorf("create log group %s: %w", s.LogGroup.Name, err)
	}

	tableArn := ""
	if s.Table != nil {
		src.Table, err = dynamodb.NewTable(ctx, name+"-idempotency", &dynamodb.TableArgs{
			Name:        pulumi.String(s.Table.Name),
			BillingMode: pulumi.String("PAY_PER_REQUEST"),
			HashKey:     pulumi.String(contract.IdempotencyKey),
			Attributes: dynamodb.TableAttributeArray{
				dynamodb.TableAttributeArgs{Name: pulumi.String(contract.IdempotencyKey), Type: pulumi.String("S")},
			},
			Ttl: &dynamodb.TableTtlArgs{
				AttributeName: pulumi.String(contract.IdempotencyExpires),
				Enabled:       pulumi.Bool(true),
			},
			ServerSideEncryption: &dynamodb.TableServerSideEncryptionArgs{Enabled: pulumi.Bool(true)},
			PointInTimeRecovery:  &dynamodb.TablePointInTimeRecoveryArgs{Enabled: pulumi.Bool(true)},
			Tags:                 tags,
		}, parent)
		if err != nil {
			return fmt.Errorf("create idempotency table %s: %w", s.Table.Name, err)
		}
		tableArn = s.Table.ARN
	}

	role, err := iam.NewRole(ctx, name+"-function", &iam.RoleArgs{
		Name:             pulumi.String(s.RoleName),
		AssumeRolePolicy: pulumi.String(AssumeRolePolicy("lambda.amazonaws.com")),
		Tags:             tags,
	}, parent)
	if err != nil {
		return fmt.Errorf("create function role %s: %w", s.RoleName, err)
	}
	// Secrets given in the stack config (pulumi config set --secret) become
	// SecureString parameters; otherwise the parameters must already exist.
	var secretDeps []pulumi.Resource
	for _, sec := range s.Secrets {
		p, err := secureParameter(ctx, name+"-"+sec.Kind, tagsIn, sec.Parameter, pulumi.String(sec.Value), sec.Description, parent)
		if err != nil {
			return fmt.Errorf("store %s in %s: %w", sec.Kind, sec.Parameter, err)
		}
		secretDeps = append(secretDeps, p)
	}
	policy, err := iam.NewRolePolicy(ctx, name+"-function", &iam.RolePolicyArgs{
		Role: role.ID(),
		Name: pulumi.String(s.PolicyName),
		// Every ARN written from known parts: the pack judges the policy
		// on the first preview.
		Policy: pulumi.String(ConsumerPolicy(ConsumerPolicyArgs{
			QueueArn:    s.QueueARN,
			DLQArn:      s.DLQARN,
			LogGroupArn: s.LogGroupARN,
			TableArn:    tableArn,
		})),
	}, parent)
	if err != nil {
		return fmt.Errorf("create function policy %s: %w", s.PolicyName, err)
	}
	secrets, err := secretsPolicy(ctx, name+"-function-secrets", s.SecretsPolicyName, role, s.SecretARNs, parent)
	if err != nil {
		return fmt.Errorf("create secrets policy %s: %w", s.SecretsPolicyName, err)
	}
	if secrets != nil {
		secretDeps = append(secretDeps, secrets)
	}

	src.Function, err = lambda.NewFunction(ctx, name+"-function", &lambda.FunctionArgs{
		Name:          pulumi.String(s.FunctionName),
		Description:   pulumi.String(s.Description),
		Role:          role.Arn,
		Runtime:       pulumi.String(LambdaRuntime),
		Architectures: pulumi.StringArray{pulumi.String(LambdaArchitecture)},
		Handler:       pulumi.String("bootstrap"),
		Code:          code,
		MemorySize:    pulumi.Int(s.MemoryMB),
		Timeout:       pulumi.Int(s.TimeoutSeconds),
		Environment:   &lambda.FunctionEnvironmentArgs{Variables: handlerEnv(s.Handler, src.DLQ.Url)},
		LoggingConfig: &lambda.FunctionLoggingConfigArgs{
			LogFormat:           pulumi.String("JSON"),
			LogGroup:            logs.Name,
			ApplicationLogLevel: pulumi.String("INFO"),
			SystemLogLevel:      pulumi.String("WARN"),
		},
		TracingConfig: &lambda.FunctionTracingConfigArgs{Mode: pulumi.String("Active")},
		Tags:          tags,
	}, parent, pulumi.DependsOn(append([]pulumi.Resource{policy, logs}, secretDeps...)))
	if err != nil {
		return fmt.Errorf("create function %s: %w", s.FunctionName, err)
	}

	// Creating the mapping checks the role's SQS permissions and that the
	// function timeout fits the queue's visibility timeout.
	src.Mapping, err = lambda.NewEventSourceMapping(ctx, name+"-mapping", &lambda.EventSourceMappingArgs{
		EventSourceArn:        src.Queue.Arn,
		FunctionName:          src.Function.Arn,
		BatchSize:             pulumi.Int(BatchSize),
		FunctionResponseTypes: pulumi.StringArray{pulumi.String("ReportBatchItemFailures")},
		ScalingConfig: &lambda.EventSourceMappingScalingConfigArgs{
			MaximumConcurrency: pulumi.Int(s.MaxConcurrency),
		},
		Tags: tags,
	}, parent, pulumi.DependsOn([]pulumi.Resource{policy}))
	if err != nil {
		return fmt.Errorf("create event source mapping of %s: %w", s.FunctionName, err)
	}

	return nil
}

// handlerEnv is the function's environment: the handler config plus the DLQ
// URL, which is only known once the queue exists.
func handlerEnv(hc contract.HandlerConfig, dlqURL pulumi.StringInput) pulumi.StringMap {
	env := pulumi.ToStringMap(hc.Env())
	env[contract.EnvDLQURL] = dlqURL
	return env
}

// sendRole is the role API Gateway assumes to send to the source's queue,
// sqs:SendMessage on that queue only (either ingress); it returns the
// role's policy, which the route's integration must follow.
func (src *Source) sendRole(ctx *pulumi.Context, name string, spec SourceSpec, tags map[string]string) (*iam.RolePolicy, error) {
	parent := pulumi.Parent(src)
	var err error
	src.SendRole, err = iam.NewRole(ctx, name+"-apigw", &iam.RoleArgs{
		Name:             pulumi.String(spec.SendRoleName),
		AssumeRolePolicy: pulumi.String(AssumeRolePolicy("apigateway.amazonaws.com")),
		Tags:             pulumi.ToStringMap(tags),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create api gateway role for %s: %w", spec.Name, err)
	}
	policy, err := iam.NewRolePolicy(ctx, name+"-apigw-send", &iam.RolePolicyArgs{
		Role: src.SendRole.ID(),
		Name: pulumi.String(spec.SendPolicyName),
		// Written from known parts, so the pack judges it at preview.
		Policy: pulumi.String(SendOnlyPolicy(spec.Queues.QueueARN)),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create send policy for %s: %w", spec.Name, err)
	}
	return policy, nil
}

// Outputs are the source's stack outputs (stackoutputs.Source): where its
// sender posts (endpoint/<name>), its queues, its function and auth kind.
func (src *Source) Outputs(endpoint pulumi.StringOutput) pulumi.Map {
	return pulumi.Map{
		stackoutputs.KeyURL:          pulumi.Sprintf("%s/%s", endpoint, src.Name),
		stackoutputs.KeyQueueURL:     src.QueueURL,
		stackoutputs.KeyQueueArn:     src.QueueArn,
		stackoutputs.KeyDLQURL:       src.DLQURL,
		stackoutputs.KeyDLQArn:       src.DLQArn,
		stackoutputs.KeyFunctionName: src.FunctionName,
		stackoutputs.KeyAuth:         pulumi.String(src.Auth),
	}
}
