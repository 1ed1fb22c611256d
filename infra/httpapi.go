package infra

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/apigatewayv2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/stackconfig"
)

// Component types of the HTTP API ingress.
const (
	TypeHTTPAPI   = "hookline:infra:HttpApi"
	TypeHTTPStage = "hookline:infra:HttpStage"
)

// HTTPIntegrationTimeoutMS is the integration's timeout: SQS answers in
// milliseconds; a sender is told of a stuck call well before its own
// timeout (GitHub waits 10 s, Stripe 20 s).
const HTTPIntegrationTimeoutMS = 10000

// HttpAPIArgs configures the HTTP API.
type HttpAPIArgs struct {
	Config *stackconfig.Config
}

// HttpAPI is the HTTP API every source's route hangs off, with its access
// log group (HTTP APIs write access logs without the account's API Gateway
// CloudWatch role).
type HttpAPI struct {
	pulumi.ResourceState

	API *apigatewayv2.Api
	// AccessLog is nil when the stack turns access logs off.
	AccessLog *cloudwatch.LogGroup

	ID           pulumi.IDOutput     `pulumi:"id"`
	Endpoint     pulumi.StringOutput `pulumi:"apiEndpoint"`
	ExecutionArn pulumi.StringOutput `pulumi:"executionArn"`
}

// NewHttpAPI creates the HTTP API component.
func NewHttpAPI(ctx *pulumi.Context, name string, args *HttpAPIArgs, opts ...pulumi.ResourceOption) (*HttpAPI, error) {
	if args == nil || args.Config == nil {
		return nil, fmt.Errorf("http api %s: Config is required", name)
	}
	c := args.Config
	h := &HttpAPI{}
	if err := ctx.RegisterComponentResource(TypeHTTPAPI, name, h, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(h)
	var err error
	h.API, err = apigatewayv2.NewApi(ctx, name, &apigatewayv2.ApiArgs{
		Name:         pulumi.String(c.APIName()),
		Description:  pulumi.String("hookline inbound webhooks (" + c.Environment + ")"),
		ProtocolType: pulumi.String("HTTP"),
		// With a custom domain, the domain is the only way in: its TLS
		// policy then holds for every request.
		DisableExecuteApiEndpoint: pulumi.Bool(c.Domain != nil),
		Tags:                      tagMap(c),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create http api: %w", err)
	}
	if h.AccessLog, err = accessLogGroup(ctx, name, c, parent); err != nil {
		return nil, err
	}
	h.ID, h.Endpoint, h.ExecutionArn = h.API.ID(), h.API.ApiEndpoint, h.API.ExecutionArn
	if err := ctx.RegisterResourceOutputs(h, pulumi.Map{
		"id": h.ID, "apiEndpoint": h.Endpoint, "executionArn": h.ExecutionArn,
	}); err != nil {
		return nil, err
	}
	return h, nil
}

// httpRoute adds POST /<source> to the HTTP API: its SQS-SendMessage
// integration under a role that may send to this source's queue only, its
// authorizer (JWT for cognito; the edge authorizer's, given as authorizer,
// for token), and the route.
func (src *Source) httpRoute(ctx *pulumi.Context, name string, c *stackconfig.Config, s stackconfig.Source, api *HttpAPI, authorizer pulumi.IDInput, caller Caller) error {
	parent := pulumi.Parent(src)
	r := src.HTTPRoute
	role, sendPolicy, err := src.sendRole(ctx, name, c, s, caller)
	if err != nil {
		return err
	}
	params := pulumi.ToStringMap(r.RequestParameters)
	params["QueueUrl"] = src.Queue.Url
	integ, err := apigatewayv2.NewIntegration(ctx, name+"-integration", &apigatewayv2.IntegrationArgs{
		ApiId:                api.ID,
		Description:          pulumi.String("hookline ingest contract: source " + s.Name),
		IntegrationType:      pulumi.String("AWS_PROXY"),
		IntegrationSubtype:   pulumi.String(contract.HTTPIntegrationSubtype),
		CredentialsArn:       role.Arn,
		PayloadFormatVersion: pulumi.String("1.0"),
		TimeoutMilliseconds:  pulumi.Int(HTTPIntegrationTimeoutMS),
		RequestParameters:    params,
	}, parent, pulumi.DependsOn([]pulumi.Resource{sendPolicy}))
	if err != nil {
		return fmt.Errorf("create sqs integration for %s: %w", s.Name, err)
	}

	ra := &apigatewayv2.RouteArgs{
		ApiId:             api.ID,
		RouteKey:          pulumi.String(r.RouteKey),
		Target:            pulumi.Sprintf("integrations/%s", integ.ID()),
		AuthorizationType: pulumi.String(r.AuthorizationType),
	}
	switch r.AuthorizationType {
	case HTTPAuthorizationJWT:
		authz, err := apigatewayv2.NewAuthorizer(ctx, name+"-authorizer", &apigatewayv2.AuthorizerArgs{
			ApiId:           api.ID,
			Name:            pulumi.String(s.Name + "-cognito"),
			AuthorizerType:  pulumi.String("JWT"),
			IdentitySources: pulumi.StringArray{pulumi.String("$request.header.Authorization")},
			JwtConfiguration: &apigatewayv2.AuthorizerJwtConfigurationArgs{
				Issuer:    pulumi.String(r.Issuer),
				Audiences: pulumi.ToStringArray(r.Audiences),
			},
		}, parent)
		if err != nil {
			return fmt.Errorf("create jwt authorizer for %s: %w", s.Name, err)
		}
		ra.AuthorizerId = authz.ID()
		ra.AuthorizationScopes = pulumi.ToStringArray(r.Scopes)
	case HTTPAuthorizationCustom:
		if authorizer == nil {
			return fmt.Errorf("source %s: its route needs the edge authorizer (AuthorizerID)", s.Name)
		}
		ra.AuthorizerId = authorizer
	}
	if r.SignatureOnly != "" {
		ra.OperationName = pulumi.String(contract.SignatureOnlyOperation(r.SignatureOnly))
	}
	route, err := apigatewayv2.NewRoute(ctx, name+"-route", ra, parent)
	if err != nil {
		return fmt.Errorf("create route POST /%s: %w", s.Name, err)
	}
	src.RouteResources = append(src.RouteResources, integ, route)
	return nil
}

// HttpStageArgs configures the HTTP API's stage.
type HttpStageArgs struct {
	Config  *stackconfig.Config
	API     *HttpAPI
	Sources []*Source
}

// HttpStage is the HTTP API's stage and the deployment it serves. Auto-deploy
// is off: like the REST stage, the stage changes only when a deployment
// triggered by a route or integration change is made, after every route
// exists, so a half-built API is never live.
type HttpStage struct {
	pulumi.ResourceState

	Deployment *apigatewayv2.Deployment
	Stage      *apigatewayv2.Stage

	InvokeURL pulumi.StringOutput `pulumi:"invokeUrl"`
	StageName pulumi.StringOutput `pulumi:"stageName"`
}

// HTTPAccessLogFormat is the HTTP API stage's JSON access log line.
func HTTPAccessLogFormat() string {
	fields := map[string]string{
		"requestId":               "$context.requestId",
		"ip":                      "$context.identity.sourceIp",
		"requestTime":             "$context.requestTimeEpoch",
		"httpMethod":              "$context.httpMethod",
		"routeKey":                "$context.routeKey",
		"status":                  "$context.status",
		"protocol":                "$context.protocol",
		"responseLength":          "$context.responseLength",
		"integrationStatus":       "$context.integrationStatus",
		"integrationLatency":      "$context.integrationLatency",
		"integrationErrorMessage": "$context.integrationErrorMessage",
		"errorMessage":            "$context.error.message",
		"authorizerError":         "$context.authorizer.error",
	}
	b, _ := json.Marshal(fields)
	return string(b)
}

// NewHttpStage creates the deployment and the stage, with the stack's
// throttle as the default route settings and each source's throttle on its
// route.
func NewHttpStage(ctx *pulumi.Context, name string, args *HttpStageArgs, opts ...pulumi.ResourceOption) (*HttpStage, error) {
	if args == nil || args.Config == nil || args.API == nil {
		return nil, fmt.Errorf("http stage %s: Config and API are required", name)
	}
	c := args.Config
	st := &HttpStage{}
	if err := ctx.RegisterComponentResource(TypeHTTPStage, name, st, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(st)
	var routes []HTTPRouteSpec
	var deps []pulumi.Resource
	for _, s := range args.Sources {
		routes = append(routes, s.HTTPRoute)
		deps = append(deps, s.RouteResources...)
	}
	var err error
	st.Deployment, err = apigatewayv2.NewDeployment(ctx, name+"-deployment", &apigatewayv2.DeploymentArgs{
		ApiId:       args.API.ID,
		Description: pulumi.String("hookline " + c.Environment),
		Triggers:    pulumi.ToStringMap(HTTPDeploymentTriggers(routes)),
	}, parent, pulumi.DependsOn(deps))
	if err != nil {
		return nil, fmt.Errorf("create deployment: %w", err)
	}
	var perRoute apigatewayv2.StageRouteSettingArray
	for _, s := range c.Sources {
		if s.Throttle == nil {
			continue
		}
		perRoute = append(perRoute, apigatewayv2.StageRouteSettingArgs{
			RouteKey:             pulumi.String("POST /" + s.Name),
			ThrottlingRateLimit:  pulumi.Float64(s.Throttle.RateLimit),
			ThrottlingBurstLimit: pulumi.Int(s.Throttle.BurstLimit),
		})
	}
	sa := &apigatewayv2.StageArgs{
		ApiId:        args.API.ID,
		Name:         pulumi.String(StageName),
		AutoDeploy:   pulumi.Bool(false),
		DeploymentId: st.Deployment.ID(),
		DefaultRouteSettings: &apigatewayv2.StageDefaultRouteSettingsArgs{
			ThrottlingRateLimit:    pulumi.Float64(c.Throttle.RateLimit),
			ThrottlingBurstLimit:   pulumi.Int(c.Throttle.BurstLimit),
			DetailedMetricsEnabled: pulumi.Bool(true),
		},
		RouteSettings: perRoute,
		Tags:          tagMap(c),
	}
	if args.API.AccessLog != nil {
		sa.AccessLogSettings = &apigatewayv2.StageAccessLogSettingsArgs{
			DestinationArn: args.API.AccessLog.Arn,
			Format:         pulumi.String(HTTPAccessLogFormat()),
		}
	}
	st.Stage, err = apigatewayv2.NewStage(ctx, name, sa, parent)
	if err != nil {
		return nil, fmt.Errorf("create stage: %w", err)
	}
	st.InvokeURL = st.Stage.InvokeUrl
	st.StageName = st.Stage.Name
	if err := ctx.RegisterResourceOutputs(st, pulumi.Map{"invokeUrl": st.InvokeURL, "stageName": st.StageName}); err != nil {
		return nil, err
	}
	return st, nil
}
