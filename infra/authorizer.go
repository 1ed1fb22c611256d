package infra

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lambda"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hookline/hookline/contract"
)

// EdgeAuthorizerArgs configures the edge authorizer.
type EdgeAuthorizerArgs struct {
	Spec AuthorizerSpec
	// Sources are the sources whose requests pass the authorizer.
	Sources []EdgeSource
	// Host is the ingress the authorizer guards.
	Host AuthorizerHost
	// Code is the authorizer archive (bootstrap at its root).
	Code pulumi.Archive
	Tags map[string]string
}

func (a *EdgeAuthorizerArgs) validate() []string {
	s := a.Spec
	p := required("Spec.FunctionName", s.FunctionName, "Spec.RoleName", s.RoleName, "Spec.LogGroup.Name", s.LogGroup.Name, "Spec.LogGroupARN", s.LogGroupARN)
	p = append(p, checkTracingMode(s.TracingMode)...)
	if a.Host == nil {
		p = append(p, "Host is required")
	}
	if a.Code == nil {
		p = append(p, "Code is required")
	}
	tokens := 0
	for _, src := range a.Sources {
		switch src.Check {
		case contract.EdgeToken:
			tokens++
			if src.TokenParameter == "" || src.TokenParameterARN == "" {
				p = append(p, fmt.Sprintf("token source %s needs its TokenParameter and its ARN", src.Source))
			}
		case contract.EdgeAPIKey:
		default:
			p = append(p, fmt.Sprintf("source %s: %q is not an edge check", src.Source, src.Check))
		}
	}
	if tokens == 0 {
		p = append(p, "no token source: the stack needs no edge authorizer")
	}
	return p
}

// EdgeAuthorizer is the stack's REQUEST authorizer: one small function
// (arm64, provided.al2023, its own least-privilege role and log group) and
// the ingress's authorizers of it: on a REST API one per token source
// (identity source: the ?token= query parameter, cached for the source's
// TTL) plus one pass-through for the apiKey sources, whose key API Gateway
// then reads from the authorizer (apiKeySource AUTHORIZER); on an HTTP API
// one for every token source, cached per token and route
// (HTTPTokenIdentitySources), so 25 sources stay within the 10 authorizers
// an HTTP API allows.
type EdgeAuthorizer struct {
	pulumi.ResourceState

	Function *lambda.Function
	// IDs maps source names to the authorizer guarding their route.
	IDs map[string]pulumi.IDOutput
}

// AuthorizerRoutes is the authorizer's route table: what it checks for each
// source, and where an ingress with usage plans (usageKeys) keeps a token
// source's API key for it to hand to API Gateway.
func AuthorizerRoutes(sources []EdgeSource, usageKeys bool) contract.AuthorizerRoutes {
	routes := contract.AuthorizerRoutes{}
	for _, s := range sources {
		switch s.Check {
		case contract.EdgeToken:
			rt := contract.AuthorizerRoute{Kind: contract.EdgeToken, TokenParameter: s.TokenParameter}
			if usageKeys {
				rt.UsageKeyParameter = s.UsageKeyParameter
			}
			routes[s.Source] = rt
		case contract.EdgeAPIKey:
			routes[s.Source] = contract.AuthorizerRoute{Kind: contract.EdgeAPIKey}
		}
	}
	return routes
}

// NewEdgeAuthorizer creates the authorizer function and its authorizers.
func NewEdgeAuthorizer(ctx *pulumi.Context, name string, args *EdgeAuthorizerArgs, opts ...pulumi.ResourceOption) (*EdgeAuthorizer, error) {
	if args == nil {
		return nil, fmt.Errorf("edge authorizer %s: args are required", name)
	}
	if err := argsError("edge authorizer", name, args.validate()); err != nil {
		return nil, err
	}
	spec, tags, usageKeys := args.Spec, pulumi.ToStringMap(args.Tags), args.Host.UsageKeys()
	a := &EdgeAuthorizer{}
	if err := ctx.RegisterComponentResource(TypeEdgeAuthorizer, name, a, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(a)
	routes := AuthorizerRoutes(args.Sources, usageKeys)

	logs, err := cloudwatch.NewLogGroup(ctx, name+"-logs", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(spec.LogGroup.Name),
		RetentionInDays: pulumi.Int(spec.LogGroup.RetentionDays),
		Tags:            tags,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create authorizer log group: %w", err)
	}
	// Tokens given in the stack config become SecureString parameters;
	// otherwise the parameters must already exist.
	var deps []pulumi.Resource
	var params []string
	for _, s := range args.Sources {
		if s.Check != contract.EdgeToken {
			continue
		}
		params = append(params, s.TokenParameterARN)
		if usageKeys {
			params = append(params, s.UsageKeyParameterARN)
		}
		if s.Token == "" {
			continue
		}
		p, err := secureParameter(ctx, name+"-"+s.Source+"-token", args.Tags, s.TokenParameter, pulumi.String(s.Token),
			"hookline URL token of source "+s.Source, parent)
		if err != nil {
			return nil, fmt.Errorf("store the token of %s: %w", s.Source, err)
		}
		deps = append(deps, p)
	}
	role, err := iam.NewRole(ctx, name+"-function", &iam.RoleArgs{
		Name:             pulumi.String(spec.RoleName),
		AssumeRolePolicy: pulumi.String(AssumeRolePolicy("lambda.amazonaws.com")),
		Tags:             tags,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create authorizer role: %w", err)
	}
	policy, err := iam.NewRolePolicy(ctx, name+"-function", &iam.RolePolicyArgs{
		Role:   role.ID(),
		Name:   pulumi.String("authorize"),
		Policy: pulumi.String(AuthorizerPolicy(spec.LogGroupARN, spec.TracingMode == LambdaTracingActive)),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create authorizer policy: %w", err)
	}
	secrets, err := secretsPolicy(ctx, name+"-function-secrets", "read-tokens", role, params, parent)
	if err != nil {
		return nil, fmt.Errorf("create authorizer secrets policy: %w", err)
	}
	if secrets != nil {
		deps = append(deps, secrets)
	}
	a.Function, err = lambda.NewFunction(ctx, name+"-function", &lambda.FunctionArgs{
		Name:          pulumi.String(spec.FunctionName),
		Description:   pulumi.String(spec.Description),
		Role:          role.Arn,
		Runtime:       pulumi.String(LambdaRuntime),
		Architectures: pulumi.StringArray{pulumi.String(LambdaArchitecture)},
		Handler:       pulumi.String("bootstrap"),
		Code:          args.Code,
		MemorySize:    pulumi.Int(128),
		Timeout:       pulumi.Int(5),
		Environment: &lambda.FunctionEnvironmentArgs{Variables: pulumi.StringMap{
			contract.EnvAuthorizerRoutes: pulumi.String(routes.Env()),
		}},
		LoggingConfig: lambdaLogging(logs.Name),
		TracingConfig: lambdaTracing(spec.TracingMode),
		Tags:          tags,
	}, parent, pulumi.DependsOn(append([]pulumi.Resource{policy, logs}, deps...)))
	if err != nil {
		return nil, fmt.Errorf("create authorizer function: %w", err)
	}
	if _, err := lambda.NewPermission(ctx, name+"-invoke", &lambda.PermissionArgs{
		Action:    pulumi.String("lambda:InvokeFunction"),
		Function:  a.Function.Name,
		Principal: pulumi.String("apigateway.amazonaws.com"),
		SourceArn: args.Host.AuthorizerSourceArn(),
	}, parent); err != nil {
		return nil, fmt.Errorf("let api gateway invoke the authorizer: %w", err)
	}
	if a.IDs, err = args.Host.AddEdgeAuthorizers(ctx, name, a.Function.InvokeArn, args.Sources, parent); err != nil {
		return nil, err
	}
	if err := ctx.RegisterResourceOutputs(a, pulumi.Map{"functionName": a.Function.Name}); err != nil {
		return nil, err
	}
	return a, nil
}
