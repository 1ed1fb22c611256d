package infra

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/apigateway"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/apigatewayv2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lambda"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/stackconfig"
)

// TypeEdgeAuthorizer is the edge authorizer component's type token.
const TypeEdgeAuthorizer = "hookline:infra:EdgeAuthorizer"

// EdgeAuthorizerArgs configures the edge authorizer.
type EdgeAuthorizerArgs struct {
	Config *stackconfig.Config
	// API is the REST API, HTTP the HTTP API (ingress http): one is set.
	API  *RestAPI
	HTTP *HttpAPI
	// Code is the authorizer archive (bootstrap at its root).
	Code   pulumi.Archive
	Caller Caller
}

// EdgeAuthorizer is the stack's REQUEST authorizer: one small function
// (arm64, provided.al2023, its own least-privilege role and log group) and
// one API Gateway authorizer per token source (identity source: the ?token=
// query parameter, cached for the source's TTL), plus one pass-through for
// the apiKey sources, whose key API Gateway then reads from the authorizer
// (the REST API's apiKeySource is AUTHORIZER).
type EdgeAuthorizer struct {
	pulumi.ResourceState

	Function *lambda.Function
	// IDs maps source names to the authorizer guarding their route.
	IDs map[string]pulumi.IDOutput
}

// AuthorizerRoutes is the authorizer's route table for a stack.
func AuthorizerRoutes(c *stackconfig.Config) contract.AuthorizerRoutes {
	routes := contract.AuthorizerRoutes{}
	for _, s := range c.Sources {
		switch s.Auth.Type {
		case stackconfig.AuthToken:
			rt := contract.AuthorizerRoute{Kind: contract.EdgeToken, TokenParameter: s.Auth.TokenParameter}
			if !c.HTTP() { // an HTTP API has no usage plans to hand a key to
				rt.UsageKeyParameter = c.UsageKeyParameter(s)
			}
			routes[s.Name] = rt
		case stackconfig.AuthAPIKey:
			routes[s.Name] = contract.AuthorizerRoute{Kind: contract.EdgeAPIKey}
		}
	}
	return routes
}

// NewEdgeAuthorizer creates the authorizer function and its authorizers.
func NewEdgeAuthorizer(ctx *pulumi.Context, name string, args *EdgeAuthorizerArgs, opts ...pulumi.ResourceOption) (*EdgeAuthorizer, error) {
	if args == nil || args.Config == nil || (args.API == nil) == (args.HTTP == nil) || args.Code == nil || args.Caller.Account == "" {
		return nil, fmt.Errorf("edge authorizer %s: Config, one of API and HTTP, Code and Caller are required", name)
	}
	c := args.Config
	a := &EdgeAuthorizer{IDs: map[string]pulumi.IDOutput{}}
	if err := ctx.RegisterComponentResource(TypeEdgeAuthorizer, name, a, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(a)
	routes := AuthorizerRoutes(c)

	logs, err := cloudwatch.NewLogGroup(ctx, name+"-logs", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(c.AuthorizerLogGroup()),
		RetentionInDays: pulumi.Int(c.LogRetentionDays),
		Tags:            tagMap(c),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create authorizer log group: %w", err)
	}
	// Tokens given in the stack config become SecureString parameters;
	// otherwise the parameters must already exist.
	var deps []pulumi.Resource
	var params []string
	for _, s := range c.Sources {
		if s.Auth.Type != stackconfig.AuthToken {
			continue
		}
		params = append(params, s.Auth.TokenParameter)
		if routes[s.Name].UsageKeyParameter != "" {
			params = append(params, routes[s.Name].UsageKeyParameter)
		}
		tok := c.Tokens[s.Name]
		if tok == "" {
			continue
		}
		p, err := secureParameter(ctx, name+"-"+s.Name+"-token", c, s.Auth.TokenParameter, pulumi.String(tok),
			"hookline URL token of source "+s.Name, parent)
		if err != nil {
			return nil, fmt.Errorf("store the token of %s: %w", s.Name, err)
		}
		deps = append(deps, p)
	}
	role, err := iam.NewRole(ctx, name+"-function", &iam.RoleArgs{
		Name:             pulumi.String(c.AuthorizerRoleName()),
		AssumeRolePolicy: pulumi.String(AssumeRolePolicy("lambda.amazonaws.com")),
		Tags:             tagMap(c),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create authorizer role: %w", err)
	}
	policy, err := iam.NewRolePolicy(ctx, name+"-function", &iam.RolePolicyArgs{
		Role:   role.ID(),
		Name:   pulumi.String("authorize"),
		Policy: pulumi.String(AuthorizerPolicy(args.Caller.ARN("logs", c.Region, "log-group:"+c.AuthorizerLogGroup()))),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create authorizer policy: %w", err)
	}
	secrets, err := secretsPolicy(ctx, name+"-function-secrets", "read-tokens", role, args.Caller, c.Region, params, parent)
	if err != nil {
		return nil, fmt.Errorf("create authorizer secrets policy: %w", err)
	}
	if secrets != nil {
		deps = append(deps, secrets)
	}
	a.Function, err = lambda.NewFunction(ctx, name+"-function", &lambda.FunctionArgs{
		Name:          pulumi.String(c.AuthorizerName()),
		Description:   pulumi.String("hookline edge authorizer (" + c.Environment + ")"),
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
		LoggingConfig: &lambda.FunctionLoggingConfigArgs{
			LogFormat: pulumi.String("JSON"), LogGroup: logs.Name,
			ApplicationLogLevel: pulumi.String("INFO"), SystemLogLevel: pulumi.String("WARN"),
		},
		Tags: tagMap(c),
	}, parent, pulumi.DependsOn(append([]pulumi.Resource{policy, logs}, deps...)))
	if err != nil {
		return nil, fmt.Errorf("create authorizer function: %w", err)
	}
	var executionArn pulumi.StringOutput
	if args.HTTP != nil {
		executionArn = args.HTTP.ExecutionArn
	} else {
		executionArn = args.API.ExecutionArn
	}
	if _, err := lambda.NewPermission(ctx, name+"-invoke", &lambda.PermissionArgs{
		Action:    pulumi.String("lambda:InvokeFunction"),
		Function:  a.Function.Name,
		Principal: pulumi.String("apigateway.amazonaws.com"),
		SourceArn: pulumi.Sprintf("%s/authorizers/*", executionArn),
	}, parent); err != nil {
		return nil, fmt.Errorf("let api gateway invoke the authorizer: %w", err)
	}
	if args.HTTP != nil {
		err = a.httpAuthorizers(ctx, name, c, args.HTTP, parent)
	} else {
		err = a.restAuthorizers(ctx, name, c, args.API, parent)
	}
	if err != nil {
		return nil, err
	}
	if err := ctx.RegisterResourceOutputs(a, pulumi.Map{"functionName": a.Function.Name}); err != nil {
		return nil, err
	}
	return a, nil
}

// restAuthorizers gives a REST API's token sources each a REQUEST
// authorizer on its ?token=, and its apiKey sources one shared pass-through
// of x-api-key.
func (a *EdgeAuthorizer) restAuthorizers(ctx *pulumi.Context, name string, c *stackconfig.Config, api *RestAPI, parent pulumi.ResourceOption) error {
	var passThrough *apigateway.Authorizer
	for _, s := range c.Sources {
		var authz *apigateway.Authorizer
		var err error
		switch s.Auth.Type {
		case stackconfig.AuthToken:
			authz, err = apigateway.NewAuthorizer(ctx, name+"-"+s.Name, &apigateway.AuthorizerArgs{
				RestApi:                      api.ID,
				Name:                         pulumi.String(s.Name + "-token"),
				Type:                         pulumi.String("REQUEST"),
				AuthorizerUri:                a.Function.InvokeArn,
				IdentitySource:               pulumi.String("method.request.querystring." + contract.TokenQueryParameter),
				AuthorizerResultTtlInSeconds: pulumi.Int(s.AuthorizerCacheTTL()),
			}, parent)
		case stackconfig.AuthAPIKey:
			if passThrough == nil {
				passThrough, err = apigateway.NewAuthorizer(ctx, name+"-api-key", &apigateway.AuthorizerArgs{
					RestApi:                      api.ID,
					Name:                         pulumi.String("api-key"),
					Type:                         pulumi.String("REQUEST"),
					AuthorizerUri:                a.Function.InvokeArn,
					IdentitySource:               pulumi.String("method.request.header.x-api-key"),
					AuthorizerResultTtlInSeconds: pulumi.Int(s.AuthorizerCacheTTL()),
				}, parent)
			}
			authz = passThrough
		default:
			continue
		}
		if err != nil {
			return fmt.Errorf("create the authorizer of %s: %w", s.Name, err)
		}
		a.IDs[s.Name] = authz.ID()
	}
	return nil
}

// httpAuthorizers gives each token source of an HTTP API its own REQUEST
// authorizer: payload 2.0 with simple responses ({"isAuthorized": ...}),
// the answer cached per token for the source's TTL. One per source, because
// an HTTP API caches a simple response per identity source for the whole
// authorizer: shared, a token of one source would open another's route.
func (a *EdgeAuthorizer) httpAuthorizers(ctx *pulumi.Context, name string, c *stackconfig.Config, api *HttpAPI, parent pulumi.ResourceOption) error {
	for _, s := range c.Sources {
		if s.Auth.Type != stackconfig.AuthToken {
			continue
		}
		authz, err := apigatewayv2.NewAuthorizer(ctx, name+"-"+s.Name, &apigatewayv2.AuthorizerArgs{
			ApiId:                          api.ID,
			Name:                           pulumi.String(s.Name + "-token"),
			AuthorizerType:                 pulumi.String("REQUEST"),
			AuthorizerUri:                  a.Function.InvokeArn,
			AuthorizerPayloadFormatVersion: pulumi.String("2.0"),
			EnableSimpleResponses:          pulumi.Bool(true),
			IdentitySources:                pulumi.StringArray{pulumi.String("$request.querystring." + contract.TokenQueryParameter)},
			AuthorizerResultTtlInSeconds:   pulumi.Int(s.AuthorizerCacheTTL()),
		}, parent)
		if err != nil {
			return fmt.Errorf("create the authorizer of %s: %w", s.Name, err)
		}
		a.IDs[s.Name] = authz.ID()
	}
	return nil
}
