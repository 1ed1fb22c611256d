package infra

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/dynamodb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lambda"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hookline/hookline/contract"
)

// Lambda settings every consumer uses.
const (
	LambdaRuntime      = "provided.al2023"
	LambdaArchitecture = "arm64"
	// BatchSize is the largest batch a FIFO event source mapping allows.
	BatchSize = 10
)

// ConsumerArgs configures a source's consumer.
type ConsumerArgs struct {
	Spec ConsumerSpec
	// QueueArn is the queue the function consumes (the mapping's source).
	QueueArn pulumi.StringInput
	// QueueURL is that queue's URL, on which the function hides a failed
	// record for its retry delay (its environment).
	QueueURL pulumi.StringInput
	// DLQURL is where the function moves rejected messages (its environment).
	DLQURL pulumi.StringInput
	// SealKey is the stack's seal key (its alias), which the function
	// names in its environment: created before the function.
	SealKey pulumi.Resource
	// ArchiveStream is the name of the source's Firehose stream (its
	// environment; the function waits for the stream), nil when the stack
	// archives nothing.
	ArchiveStream pulumi.StringInput
	// Code is the handler archive (bootstrap at its root).
	Code pulumi.Archive
	Tags map[string]string
	// MovedFrom is the component these resources were children of before
	// Consumer existed (the Source): each carries an alias with it as parent.
	MovedFrom pulumi.Resource
}

func (a *ConsumerArgs) validate() []string {
	var p []string
	s := a.Spec
	p = append(p, required("FunctionName", s.FunctionName, "RoleName", s.RoleName, "PolicyName", s.PolicyName,
		"LogGroup.Name", s.LogGroup.Name, "LogGroupARN", s.LogGroupARN, "QueueARN", s.QueueARN, "DLQARN", s.DLQARN)...)
	if s.MemoryMB <= 0 || s.TimeoutSeconds <= 0 || s.MaxConcurrency <= 0 {
		p = append(p, fmt.Sprintf("memory (%d MB), timeout (%d s) and maximum concurrency (%d) must be positive", s.MemoryMB, s.TimeoutSeconds, s.MaxConcurrency))
	}
	if len(s.SecretARNs) > 0 && s.SecretsPolicyName == "" {
		p = append(p, "SecretsPolicyName is required with SecretARNs")
	}
	p = append(p, checkTracingMode(s.TracingMode)...)
	if s.Table != nil && (s.Table.Name == "" || s.Table.ARN == "") {
		p = append(p, "Table needs a Name and an ARN")
	}
	if a.QueueArn == nil || a.QueueURL == nil {
		p = append(p, "QueueArn and QueueURL are required")
	}
	if a.DLQURL == nil {
		p = append(p, "DLQURL is required")
	}
	if a.SealKey == nil {
		p = append(p, "SealKey is required")
	}
	if (s.ArchiveStreamARN != "") != (a.ArchiveStream != nil) {
		p = append(p, "Spec.ArchiveStreamARN (the policy) and ArchiveStream (the environment) go together")
	}
	if a.Code == nil {
		p = append(p, "Code is required")
	}
	return p
}

// Consumer is a source's consumer: its function with its log group, its
// least-privilege role and policies, its secrets, the event source mapping
// from the queue, and the idempotency table when the source wants one.
type Consumer struct {
	pulumi.ResourceState

	Function *lambda.Function
	Mapping  *lambda.EventSourceMapping
	// Table is nil when the source wants no idempotency table.
	Table *dynamodb.Table

	FunctionName pulumi.StringOutput `pulumi:"functionName"`
	FunctionArn  pulumi.StringOutput `pulumi:"functionArn"`
}

// NewConsumer creates the function, its log group, role, policies and
// secrets, the event source mapping, and the idempotency table. The Source
// names it as itself, so its children keep the names they had as the
// Source's (name+"-function", name+"-mapping", ...).
func NewConsumer(ctx *pulumi.Context, name string, args *ConsumerArgs, opts ...pulumi.ResourceOption) (*Consumer, error) {
	if args == nil {
		return nil, fmt.Errorf("consumer %s: args are required", name)
	}
	if err := argsError("consumer", name, args.validate()); err != nil {
		return nil, err
	}
	s, tags := args.Spec, pulumi.ToStringMap(args.Tags)
	c := &Consumer{}
	if err := ctx.RegisterComponentResource(TypeConsumer, name, c, opts...); err != nil {
		return nil, err
	}
	parent, moved := pulumi.Parent(c), movedFrom(args.MovedFrom)

	logs, err := cloudwatch.NewLogGroup(ctx, name+"-logs", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(s.LogGroup.Name),
		RetentionInDays: pulumi.Int(s.LogGroup.RetentionDays),
		Tags:            tags,
	}, parent, moved)
	if err != nil {
		return nil, fmt.Errorf("create log group %s: %w", s.LogGroup.Name, err)
	}

	tableArn := ""
	if s.Table != nil {
		c.Table, err = dynamodb.NewTable(ctx, name+"-idempotency", &dynamodb.TableArgs{
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
		}, parent, moved)
		if err != nil {
			return nil, fmt.Errorf("create idempotency table %s: %w", s.Table.Name, err)
		}
		tableArn = s.Table.ARN
	}

	role, err := iam.NewRole(ctx, name+"-function", &iam.RoleArgs{
		Name:             pulumi.String(s.RoleName),
		AssumeRolePolicy: pulumi.String(AssumeRolePolicy("lambda.amazonaws.com")),
		Tags:             tags,
	}, parent, moved)
	if err != nil {
		return nil, fmt.Errorf("create function role %s: %w", s.RoleName, err)
	}
	// Secrets given in the stack config (pulumi config set --secret) become
	// SecureString parameters; otherwise the parameters must already exist.
	var secretDeps []pulumi.Resource
	for _, sec := range s.Secrets {
		p, err := secureParameter(ctx, name+"-"+sec.Kind, args.Tags, sec.Parameter, pulumi.String(sec.Value), sec.Description, parent, moved)
		if err != nil {
			return nil, fmt.Errorf("store %s in %s: %w", sec.Kind, sec.Parameter, err)
		}
		secretDeps = append(secretDeps, p)
	}
	policy, err := iam.NewRolePolicy(ctx, name+"-function", &iam.RolePolicyArgs{
		Role: role.ID(),
		Name: pulumi.String(s.PolicyName),
		// Every ARN written from known parts: the pack judges the policy
		// on the first preview.
		Policy: pulumi.String(ConsumerPolicy(ConsumerPolicyArgs{
			QueueArn:         s.QueueARN,
			DLQArn:           s.DLQARN,
			LogGroupArn:      s.LogGroupARN,
			TableArn:         tableArn,
			SealKey:          s.SealKey,
			ArchiveStreamArn: s.ArchiveStreamARN,
			Tracing:          s.TracingMode == LambdaTracingActive,
		})),
	}, parent, moved)
	if err != nil {
		return nil, fmt.Errorf("create function policy %s: %w", s.PolicyName, err)
	}
	secrets, err := secretsPolicy(ctx, name+"-function-secrets", s.SecretsPolicyName, role, s.SecretARNs, parent, moved)
	if err != nil {
		return nil, fmt.Errorf("create secrets policy %s: %w", s.SecretsPolicyName, err)
	}
	if secrets != nil {
		secretDeps = append(secretDeps, secrets)
	}

	c.Function, err = lambda.NewFunction(ctx, name+"-function", &lambda.FunctionArgs{
		Name:          pulumi.String(s.FunctionName),
		Description:   pulumi.String(s.Description),
		Role:          role.Arn,
		Runtime:       pulumi.String(LambdaRuntime),
		Architectures: pulumi.StringArray{pulumi.String(LambdaArchitecture)},
		Handler:       pulumi.String("bootstrap"),
		Code:          args.Code,
		MemorySize:    pulumi.Int(s.MemoryMB),
		Timeout:       pulumi.Int(s.TimeoutSeconds),
		Environment:   &lambda.FunctionEnvironmentArgs{Variables: handlerEnv(s.Handler, args.QueueURL, args.DLQURL, s.SealKey.AliasARN, args.ArchiveStream)},
		LoggingConfig: lambdaLogging(logs.Name),
		TracingConfig: lambdaTracing(s.TracingMode),
		Tags:          tags,
	}, parent, moved, pulumi.DependsOn(append([]pulumi.Resource{policy, logs, args.SealKey}, secretDeps...)))
	if err != nil {
		return nil, fmt.Errorf("create function %s: %w", s.FunctionName, err)
	}

	// Creating the mapping checks the role's SQS permissions and that the
	// function timeout fits the queue's visibility timeout.
	c.Mapping, err = lambda.NewEventSourceMapping(ctx, name+"-mapping", &lambda.EventSourceMappingArgs{
		EventSourceArn:        args.QueueArn,
		FunctionName:          c.Function.Arn,
		BatchSize:             pulumi.Int(BatchSize),
		FunctionResponseTypes: pulumi.StringArray{pulumi.String("ReportBatchItemFailures")},
		Enabled:               pulumi.Bool(true),
		ScalingConfig: &lambda.EventSourceMappingScalingConfigArgs{
			MaximumConcurrency: pulumi.Int(s.MaxConcurrency),
		},
		Tags: tags,
	}, parent, moved, pulumi.DependsOn([]pulumi.Resource{policy}),
		// hookline pause/resume (ops/pause) own enabled: a pause must not
		// wait for a deployment, and a later update must not undo it.
		pulumi.IgnoreChanges([]string{"enabled"}))
	if err != nil {
		return nil, fmt.Errorf("create event source mapping of %s: %w", s.FunctionName, err)
	}

	c.FunctionName, c.FunctionArn = c.Function.Name, c.Function.Arn
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{"functionName": c.FunctionName, "functionArn": c.FunctionArn}); err != nil {
		return nil, err
	}
	return c, nil
}

// handlerEnv is the function's environment: the handler config plus the DLQ
// URL, the seal key and the archive stream (when the stack archives), which
// are only known once they exist.
func handlerEnv(hc contract.HandlerConfig, queueURL, dlqURL pulumi.StringInput, sealKey string, archiveStream pulumi.StringInput) pulumi.StringMap {
	env := pulumi.ToStringMap(hc.Env())
	env[contract.EnvQueueURL] = queueURL
	env[contract.EnvDLQURL] = dlqURL
	env[contract.EnvSealKey] = pulumi.String(sealKey)
	if archiveStream != nil {
		env[contract.EnvArchiveStream] = archiveStream
	}
	return env
}
