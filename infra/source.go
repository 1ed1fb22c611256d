package infra

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/apigateway"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/dynamodb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lambda"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sqs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/stackconfig"
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
	Config *stackconfig.Config
	Source stackconfig.Source
	// API is the REST API the source's route is added to; HTTP the HTTP
	// API (ingress http). One of them is set.
	API  *RestAPI
	HTTP *HttpAPI
	// Code is the handler archive (bootstrap at its root).
	Code pulumi.Archive
	// Caller is the account the stack deploys into (the DLQ's ARN is written
	// from it, so the redrive policy is known at preview).
	Caller Caller
	// AuthorizerID is the edge authorizer of a CUSTOM route (token, or
	// apiKey behind an AUTHORIZER key source).
	AuthorizerID pulumi.IDInput
}

// Source is everything one sending system gets: its route and SQS
// integration, a FIFO queue with a FIFO dead-letter queue, the consumer
// function with its event source mapping, and the optional idempotency table.
type Source struct {
	pulumi.ResourceState

	// Route is the REST route; HTTPRoute the HTTP API's (one is used).
	Route     RouteSpec
	HTTPRoute HTTPRouteSpec
	// RouteResources are the method, integration and responses: the
	// Deployment depends on them.
	RouteResources []pulumi.Resource

	Queue    *sqs.Queue
	DLQ      *sqs.Queue
	Function *lambda.Function
	Mapping  *lambda.EventSourceMapping
	Table    *dynamodb.Table

	QueueURL     pulumi.StringOutput `pulumi:"queueUrl"`
	QueueArn     pulumi.StringOutput `pulumi:"queueArn"`
	DLQURL       pulumi.StringOutput `pulumi:"dlqUrl"`
	DLQArn       pulumi.StringOutput `pulumi:"dlqArn"`
	FunctionName pulumi.StringOutput `pulumi:"functionName"`
	FunctionArn  pulumi.StringOutput `pulumi:"functionArn"`
}

// NewSource creates a source's resources under the component.
func NewSource(ctx *pulumi.Context, name string, args *SourceArgs, opts ...pulumi.ResourceOption) (*Source, error) {
	if args == nil || args.Config == nil || (args.API == nil) == (args.HTTP == nil) || args.Code == nil || args.Caller.Account == "" {
		return nil, fmt.Errorf("source %s: Config, one of API and HTTP, Code and Caller are required", name)
	}
	c, s := args.Config, args.Source
	if err := s.Spec().Validate(); err != nil {
		return nil, fmt.Errorf("source %s: %w", name, err)
	}
	src := &Source{}
	if args.HTTP != nil {
		src.HTTPRoute = NewHTTPRouteSpec(c, s)
	} else {
		src.Route = NewRouteSpec(c, s)
	}
	if err := ctx.RegisterComponentResource(TypeSource, name, src, opts...); err != nil {
		return nil, err
	}
	if err := src.queues(ctx, name, c, s, args.Caller); err != nil {
		return nil, err
	}
	if args.HTTP != nil {
		if err := src.httpRoute(ctx, name, c, s, args.HTTP, args.AuthorizerID, args.Caller); err != nil {
			return nil, err
		}
	} else {
		if src.Route.Authorization == AuthorizationCustom && args.AuthorizerID == nil {
			return nil, fmt.Errorf("source %s: its route needs the edge authorizer (AuthorizerID)", name)
		}
		if err := src.route(ctx, name, c, s, args.API, args.AuthorizerID, args.Caller); err != nil {
			return nil, err
		}
	}
	if err := src.consumer(ctx, name, c, s, args.Code, args.Caller); err != nil {
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

// queues creates the FIFO DLQ, the FIFO source queue that redrives to it, the
// DLQ's allow policy and TLS-only policies on both.
func (src *Source) queues(ctx *pulumi.Context, name string, c *stackconfig.Config, s stackconfig.Source, caller Caller) error {
	parent := pulumi.Parent(src)
	var err error
	src.DLQ, err = sqs.NewQueue(ctx, name+"-dlq", &sqs.QueueArgs{
		Name:                      pulumi.String(c.DLQName(s)),
		FifoQueue:                 pulumi.Bool(true),
		ContentBasedDeduplication: pulumi.Bool(true),
		MessageRetentionSeconds:   pulumi.Int(stackconfig.DLQRetentionSeconds),
		MaxMessageSize:            pulumi.Int(contract.MaxMessageBytes),
		SqsManagedSseEnabled:      pulumi.Bool(true),
		Tags:                      tagMap(c),
	}, parent)
	if err != nil {
		return fmt.Errorf("create dlq for %s: %w", s.Name, err)
	}

	qa := &sqs.QueueArgs{
		Name:                      pulumi.String(c.QueueName(s)),
		FifoQueue:                 pulumi.Bool(true),
		ContentBasedDeduplication: pulumi.Bool(true),
		VisibilityTimeoutSeconds:  pulumi.Int(s.VisibilityTimeout()),
		MessageRetentionSeconds:   pulumi.Int(s.RetentionDays * 24 * 3600),
		// Set, not left to the provider's default: the ingest contract's
		// limit (the README, the 413 response) is this one constant.
		MaxMessageSize:       pulumi.Int(contract.MaxMessageBytes),
		SqsManagedSseEnabled: pulumi.Bool(true),
		// Written from known parts, not from the DLQ's arn output, so the
		// policy pack judges it on the first preview too; the DependsOn below
		// keeps the DLQ created first, as SQS requires.
		RedrivePolicy: pulumi.String(RedrivePolicy(c.QueueARN(caller.Partition, caller.Account, c.DLQName(s)), s.MaxReceiveCount)),
		Tags:          tagMap(c),
	}
	if s.HighThroughputMode() {
		// Throughput then scales with the number of active message groups.
		qa.DeduplicationScope = pulumi.String("messageGroup")
		qa.FifoThroughputLimit = pulumi.String("perMessageGroupId")
	}
	src.Queue, err = sqs.NewQueue(ctx, name+"-queue", qa, parent, pulumi.DependsOn([]pulumi.Resource{src.DLQ}))
	if err != nil {
		return fmt.Errorf("create queue for %s: %w", s.Name, err)
	}

	if _, err := sqs.NewRedriveAllowPolicy(ctx, name+"-dlq-allow", &sqs.RedriveAllowPolicyArgs{
		QueueUrl:           src.DLQ.Url,
		RedriveAllowPolicy: src.Queue.Arn.ApplyT(RedriveAllowPolicy).(pulumi.StringOutput),
	}, parent); err != nil {
		return fmt.Errorf("create redrive allow policy for %s: %w", s.Name, err)
	}
	// The policy documents name their queue by an ARN written from known
	// parts, so the policy pack reads them on the first preview too.
	for _, q := range []struct {
		suffix, name string
		queue        *sqs.Queue
	}{{"-queue-tls", c.QueueName(s), src.Queue}, {"-dlq-tls", c.DLQName(s), src.DLQ}} {
		if _, err := sqs.NewQueuePolicy(ctx, name+q.suffix, &sqs.QueuePolicyArgs{
			QueueUrl: q.queue.Url,
			Policy:   pulumi.String(TLSOnlyQueuePolicy(c.QueueARN(caller.Partition, caller.Account, q.name))),
		}, parent); err != nil {
			return fmt.Errorf("create tls-only policy for %s: %w", s.Name, err)
		}
	}
	return nil
}

// sendRole is the role API Gateway assumes to send to the source's queue:
// sqs:SendMessage on that queue only, on either ingress.
func (src *Source) sendRole(ctx *pulumi.Context, name string, c *stackconfig.Config, s stackconfig.Source, caller Caller) (*iam.Role, *iam.RolePolicy, error) {
	parent := pulumi.Parent(src)
	role, err := iam.NewRole(ctx, name+"-apigw", &iam.RoleArgs{
		Name:             pulumi.String(c.IntegrationRoleName(s)),
		AssumeRolePolicy: pulumi.String(AssumeRolePolicy("apigateway.amazonaws.com")),
		Tags:             tagMap(c),
	}, parent)
	if err != nil {
		return nil, nil, fmt.Errorf("create api gateway role for %s: %w", s.Name, err)
	}
	policy, err := iam.NewRolePolicy(ctx, name+"-apigw-send", &iam.RolePolicyArgs{
		Role: role.ID(),
		Name: pulumi.String("send-to-" + s.Name),
		// Written from known parts, so the pack judges it at preview.
		Policy: pulumi.String(SendOnlyPolicy(c.QueueARN(caller.Partition, caller.Account, c.QueueName(s)))),
	}, parent)
	if err != nil {
		return nil, nil, fmt.Errorf("create send policy for %s: %w", s.Name, err)
	}
	return role, policy, nil
}

// route adds POST /<source> with its AWS integration into SQS SendMessage.
func (src *Source) route(ctx *pulumi.Context, name string, c *stackconfig.Config, s stackconfig.Source, api *RestAPI, authorizer pulumi.IDInput, caller Caller) error {
	parent := pulumi.Parent(src)
	r := src.Route

	role, sendPolicy, err := src.sendRole(ctx, name, c, s, caller)
	if err != nil {
		return err
	}

	res, err := apigateway.NewResource(ctx, name+"-resource", &apigateway.ResourceArgs{
		RestApi:  api.ID,
		ParentId: api.RootResourceID,
		PathPart: pulumi.String(s.Name),
	}, parent)
	if err != nil {
		return fmt.Errorf("create resource /%s: %w", s.Name, err)
	}

	ma := &apigateway.MethodArgs{
		RestApi:            api.ID,
		ResourceId:         res.ID(),
		HttpMethod:         pulumi.String(r.HTTPMethod),
		Authorization:      pulumi.String(r.Authorization),
		ApiKeyRequired:     pulumi.Bool(r.APIKeyRequired),
		RequestParameters:  pulumi.ToBoolMap(r.RequestParameters),
		RequestValidatorId: api.Validator.ID(),
	}
	if r.Authorization == AuthorizationCognito {
		authz, err := apigateway.NewAuthorizer(ctx, name+"-authorizer", &apigateway.AuthorizerArgs{
			RestApi:        api.ID,
			Name:           pulumi.String(s.Name + "-cognito"),
			Type:           pulumi.String("COGNITO_USER_POOLS"),
			ProviderArns:   pulumi.StringArray{pulumi.String(r.UserPoolARN)},
			IdentitySource: pulumi.String("method.request.header.Authorization"),
		}, parent)
		if err != nil {
			return fmt.Errorf("create cognito authorizer for %s: %w", s.Name, err)
		}
		ma.AuthorizerId = authz.ID()
		ma.AuthorizationScopes = pulumi.ToStringArray(r.Scopes)
	}
	if r.Authorization == AuthorizationCustom {
		ma.AuthorizerId = authorizer
	}
	if r.SignatureOnly != "" {
		ma.OperationName = pulumi.String(contract.SignatureOnlyOperation(r.SignatureOnly))
	}
	method, err := apigateway.NewMethod(ctx, name+"-method", ma, parent)
	if err != nil {
		return fmt.Errorf("create method POST /%s: %w", s.Name, err)
	}

	integ, err := apigateway.NewIntegration(ctx, name+"-integration", &apigateway.IntegrationArgs{
		RestApi:               api.ID,
		ResourceId:            res.ID(),
		HttpMethod:            method.HttpMethod,
		Type:                  pulumi.String("AWS"),
		IntegrationHttpMethod: pulumi.String("POST"),
		Uri: src.Queue.Url.ApplyT(func(u string) (string, error) {
			return SQSIntegrationURI(c.Region, u)
		}).(pulumi.StringOutput),
		Credentials:         role.Arn,
		PassthroughBehavior: pulumi.String("NEVER"),
		RequestParameters:   pulumi.ToStringMap(r.IntegrationRequest),
		RequestTemplates:    pulumi.ToStringMap(r.RequestTemplates),
	}, parent, pulumi.DependsOn([]pulumi.Resource{sendPolicy}))
	if err != nil {
		return fmt.Errorf("create sqs integration for %s: %w", s.Name, err)
	}
	src.RouteResources = append(src.RouteResources, res, method, integ)

	methodResponses := map[string]pulumi.Resource{}
	for _, code := range r.MethodStatusCodes {
		mr, err := apigateway.NewMethodResponse(ctx, name+"-response-"+code, &apigateway.MethodResponseArgs{
			RestApi:        api.ID,
			ResourceId:     res.ID(),
			HttpMethod:     method.HttpMethod,
			StatusCode:     pulumi.String(code),
			ResponseModels: pulumi.StringMap{contract.ResponseContentType: pulumi.String("Empty")},
		}, parent)
		if err != nil {
			return fmt.Errorf("create method response %s for %s: %w", code, s.Name, err)
		}
		methodResponses[code] = mr
		src.RouteResources = append(src.RouteResources, mr)
	}
	for _, ir := range r.IntegrationResponse {
		args := &apigateway.IntegrationResponseArgs{
			RestApi:           api.ID,
			ResourceId:        res.ID(),
			HttpMethod:        method.HttpMethod,
			StatusCode:        pulumi.String(ir.StatusCode),
			ResponseTemplates: pulumi.StringMap{contract.ResponseContentType: pulumi.String(ir.Template)},
		}
		if ir.SelectionPattern != "" {
			args.SelectionPattern = pulumi.String(ir.SelectionPattern)
		}
		resp, err := apigateway.NewIntegrationResponse(ctx, name+"-integration-"+ir.StatusCode, args, parent,
			pulumi.DependsOn([]pulumi.Resource{integ, methodResponses[ir.StatusCode]}))
		if err != nil {
			return fmt.Errorf("create integration response %s for %s: %w", ir.StatusCode, s.Name, err)
		}
		src.RouteResources = append(src.RouteResources, resp)
	}
	return nil
}

// consumer creates the function, its log group, role and event source mapping,
// and the idempotency table when the source asks for one.
func (src *Source) consumer(ctx *pulumi.Context, name string, c *stackconfig.Config, s stackconfig.Source, code pulumi.Archive, caller Caller) error {
	parent := pulumi.Parent(src)
	hc := c.HandlerConfig(s)

	logs, err := cloudwatch.NewLogGroup(ctx, name+"-logs", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(c.FunctionLogGroup(s)),
		RetentionInDays: pulumi.Int(c.LogRetentionDays),
		Tags:            tagMap(c),
	}, parent)
	if err != nil {
		return fmt.Errorf("create log group for %s: %w", s.Name, err)
	}

	tableArn := ""
	if s.Idempotency.Enabled {
		src.Table, err = dynamodb.NewTable(ctx, name+"-idempotency", &dynamodb.TableArgs{
			Name:        pulumi.String(hc.IdempotencyTable),
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
			Tags:                 tagMap(c),
		}, parent)
		if err != nil {
			return fmt.Errorf("create idempotency table for %s: %w", s.Name, err)
		}
		tableArn = caller.ARN("dynamodb", c.Region, "table/"+hc.IdempotencyTable)
	}

	role, err := iam.NewRole(ctx, name+"-function", &iam.RoleArgs{
		Name:             pulumi.String(c.FunctionRoleName(s)),
		AssumeRolePolicy: pulumi.String(AssumeRolePolicy("lambda.amazonaws.com")),
		Tags:             tagMap(c),
	}, parent)
	if err != nil {
		return fmt.Errorf("create function role for %s: %w", s.Name, err)
	}
	var params []string
	for _, p := range []string{hc.SecretParameter, hc.ForwardSecret} {
		if p != "" {
			params = append(params, p)
		}
	}
	// Secrets given in the stack config (pulumi config set --secret) become
	// SecureString parameters; otherwise the parameters must already exist.
	var secretDeps []pulumi.Resource
	for _, sec := range []struct{ suffix, param, value string }{
		{"-signing-secret", hc.SecretParameter, c.SigningSecrets[s.Name]},
		{"-forward-secret", hc.ForwardSecret, c.ForwardSecrets[s.Name]},
	} {
		if sec.value == "" || sec.param == "" {
			continue
		}
		p, err := secureParameter(ctx, name+sec.suffix, c, sec.param, pulumi.String(sec.value),
			"hookline "+strings.TrimPrefix(sec.suffix, "-")+" of source "+s.Name, parent)
		if err != nil {
			return fmt.Errorf("store %s for %s: %w", strings.TrimPrefix(sec.suffix, "-"), s.Name, err)
		}
		secretDeps = append(secretDeps, p)
	}
	policy, err := iam.NewRolePolicy(ctx, name+"-function", &iam.RolePolicyArgs{
		Role: role.ID(),
		Name: pulumi.String("consume-" + s.Name),
		// Every ARN written from known parts: the pack judges the policy
		// on the first preview.
		Policy: pulumi.String(ConsumerPolicy(ConsumerPolicyArgs{
			QueueArn:    c.QueueARN(caller.Partition, caller.Account, c.QueueName(s)),
			DLQArn:      c.QueueARN(caller.Partition, caller.Account, c.DLQName(s)),
			LogGroupArn: caller.ARN("logs", c.Region, "log-group:"+c.FunctionLogGroup(s)),
			TableArn:    tableArn,
		})),
	}, parent)
	if err != nil {
		return fmt.Errorf("create function policy for %s: %w", s.Name, err)
	}
	secrets, err := secretsPolicy(ctx, name+"-function-secrets", "read-secrets-"+s.Name, role, caller, c.Region, params, parent)
	if err != nil {
		return fmt.Errorf("create secrets policy for %s: %w", s.Name, err)
	}
	if secrets != nil {
		secretDeps = append(secretDeps, secrets)
	}

	src.Function, err = lambda.NewFunction(ctx, name+"-function", &lambda.FunctionArgs{
		Name:          pulumi.String(c.FunctionName(s)),
		Description:   pulumi.String("hookline consumer for source " + s.Name + " (" + c.Environment + ")"),
		Role:          role.Arn,
		Runtime:       pulumi.String(LambdaRuntime),
		Architectures: pulumi.StringArray{pulumi.String(LambdaArchitecture)},
		Handler:       pulumi.String("bootstrap"),
		Code:          code,
		MemorySize:    pulumi.Int(s.Function.MemoryMB),
		Timeout:       pulumi.Int(s.Function.TimeoutSeconds),
		Environment:   &lambda.FunctionEnvironmentArgs{Variables: handlerEnv(hc, src.DLQ.Url)},
		LoggingConfig: &lambda.FunctionLoggingConfigArgs{
			LogFormat:           pulumi.String("JSON"),
			LogGroup:            logs.Name,
			ApplicationLogLevel: pulumi.String("INFO"),
			SystemLogLevel:      pulumi.String("WARN"),
		},
		TracingConfig: &lambda.FunctionTracingConfigArgs{Mode: pulumi.String("Active")},
		Tags:          tagMap(c),
	}, parent, pulumi.DependsOn(append([]pulumi.Resource{policy, logs}, secretDeps...)))
	if err != nil {
		return fmt.Errorf("create function for %s: %w", s.Name, err)
	}

	// Creating the mapping checks the role's SQS permissions and that the
	// function timeout fits the queue's visibility timeout.
	src.Mapping, err = lambda.NewEventSourceMapping(ctx, name+"-mapping", &lambda.EventSourceMappingArgs{
		EventSourceArn:        src.Queue.Arn,
		FunctionName:          src.Function.Arn,
		BatchSize:             pulumi.Int(BatchSize),
		FunctionResponseTypes: pulumi.StringArray{pulumi.String("ReportBatchItemFailures")},
		ScalingConfig: &lambda.EventSourceMappingScalingConfigArgs{
			MaximumConcurrency: pulumi.Int(s.Function.MaxConcurrency),
		},
		Tags: tagMap(c),
	}, parent, pulumi.DependsOn([]pulumi.Resource{policy}))
	if err != nil {
		return fmt.Errorf("create event source mapping for %s: %w", s.Name, err)
	}
	return nil
}

// handlerEnv is the function's environment: the handler config plus the DLQ
// URL, which is only known once the queue exists.
func handlerEnv(hc contract.HandlerConfig, dlqURL pulumi.StringOutput) pulumi.StringMap {
	env := pulumi.ToStringMap(hc.Env())
	env[contract.EnvDLQURL] = dlqURL
	return env
}
