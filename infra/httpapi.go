package infra

import (
	"fmt"
	"maps"
	"slices"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/apigatewayv2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/stackconfig"
	"github.com/hookline/hookline/stackoutputs"
)

// HTTPIntegrationTimeoutMS is the integration's timeout: SQS answers in
// milliseconds; a sender is told of a stuck call well before its own
// timeout (GitHub waits 10 s, Stripe 20 s).
const HTTPIntegrationTimeoutMS = 10000

// httpTraits are the HTTP API's: access logs are delivered with the
// deployer's own permissions (no account role), and there are no API keys
// or usage plans.
type httpTraits struct{}

// Kind is contract.IngressHTTP.
func (httpTraits) Kind() string { return contract.IngressHTTP }

// AccessLogsNeedAccountRole: an HTTP API delivers access logs with the
// deployer's own permissions (logs:CreateLogDelivery), not the role.
func (httpTraits) AccessLogsNeedAccountRole() bool { return false }

// UsageKeys: an HTTP API has no API keys or usage plans.
func (httpTraits) UsageKeys() bool { return false }

// HttpAPI is the HTTP ingress. The component holds the HTTP API every
// source's route hangs off, with its access log group (HTTP APIs write
// access logs without the account's API Gateway CloudWatch role). Each
// source's route (SQS-SendMessage integration, authorizer, route) sits in
// its Source component, the deployment and stage in an HttpStage, the
// domain name in the Domain.
type HttpAPI struct {
	pulumi.ResourceState
	httpTraits

	API *apigatewayv2.Api
	// AccessLog is nil when the stack turns access logs off.
	AccessLog *cloudwatch.LogGroup
	// Stage is the published stage, nil before Publish.
	Stage *HttpStage

	ID           pulumi.IDOutput     `pulumi:"id"`
	Endpoint     pulumi.StringOutput `pulumi:"apiEndpoint"`
	ExecutionArn pulumi.StringOutput `pulumi:"executionArn"`

	args   IngressArgs
	routes []HTTPRouteSpec
	// tokenAuthorizer is the token sources' authorizer (nil without one)
	// and tokenAuthorizerFunction the invoke ARN it calls: the stage's
	// deployment hashes both.
	tokenAuthorizer         *HTTPAuthorizerSpec
	tokenAuthorizerFunction pulumi.StringInput
	routeResources          []pulumi.Resource
	stageSources            []StageSource
}

var _ Ingress = (*HttpAPI)(nil)

// NewHttpAPI creates the HTTP API component.
func NewHttpAPI(ctx *pulumi.Context, name string, args *IngressArgs, opts ...pulumi.ResourceOption) (*HttpAPI, error) {
	if args == nil {
		return nil, fmt.Errorf("http api %s: args are required", name)
	}
	problems := args.validate()
	if args.CloudWatchRoleName != "" {
		problems = append(problems, "an HTTP API has no account settings to manage (CloudWatchRoleName)")
	}
	if err := argsError("http api", name, problems); err != nil {
		return nil, err
	}
	h := &HttpAPI{args: *args}
	if err := ctx.RegisterComponentResource(TypeHTTPAPI, name, h, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(h)
	var err error
	h.API, err = apigatewayv2.NewApi(ctx, name, &apigatewayv2.ApiArgs{
		Name:                      pulumi.String(args.Name),
		Description:               pulumi.String(args.Description),
		ProtocolType:              pulumi.String("HTTP"),
		DisableExecuteApiEndpoint: pulumi.Bool(args.DisableExecuteAPIEndpoint),
		Tags:                      pulumi.ToStringMap(args.Tags),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create http api: %w", err)
	}
	if h.AccessLog, err = accessLogGroup(ctx, name, args.AccessLog, args.Tags, parent); err != nil {
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

// AddRoute adds POST /<source> to the HTTP API: its SQS-SendMessage
// integration under the source's send role, its authorizer (JWT for
// cognito; the edge authorizer's for token), and the route.
func (h *HttpAPI) AddRoute(ctx *pulumi.Context, name string, ra *RouteArgs, opts ...pulumi.ResourceOption) error {
	var r HTTPRouteSpec
	if ra != nil {
		r = NewHTTPRouteSpec(ra.Source)
	}
	if err := argsError("route", name, validateRoute(ra, r.AuthorizationType == HTTPAuthorizationCustom, h.Stage != nil)); err != nil {
		return err
	}
	src := ra.Source.Name
	params := pulumi.ToStringMap(r.RequestParameters)
	params["QueueUrl"] = ra.QueueURL
	var responses apigatewayv2.IntegrationResponseParameterArray
	for _, code := range slices.Sorted(maps.Keys(r.ResponseParameters)) {
		responses = append(responses, apigatewayv2.IntegrationResponseParameterArgs{
			StatusCode: pulumi.String(code), Mappings: pulumi.ToStringMap(r.ResponseParameters[code]),
		})
	}
	integ, err := apigatewayv2.NewIntegration(ctx, name+"-integration", &apigatewayv2.IntegrationArgs{
		ApiId:                h.ID,
		Description:          pulumi.String("hookline ingest contract: source " + src),
		IntegrationType:      pulumi.String("AWS_PROXY"),
		IntegrationSubtype:   pulumi.String(contract.HTTPIntegrationSubtype),
		CredentialsArn:       ra.SendRoleArn,
		PayloadFormatVersion: pulumi.String("1.0"),
		TimeoutMilliseconds:  pulumi.Int(HTTPIntegrationTimeoutMS),
		RequestParameters:    params,
		ResponseParameters:   responses,
	}, withOpts(opts, pulumi.DependsOn([]pulumi.Resource{ra.SendPolicy}))...)
	if err != nil {
		return fmt.Errorf("create sqs integration for %s: %w", src, err)
	}

	rta := &apigatewayv2.RouteArgs{
		ApiId:             h.ID,
		RouteKey:          pulumi.String(r.RouteKey),
		Target:            pulumi.Sprintf("integrations/%s", integ.ID()),
		AuthorizationType: pulumi.String(r.AuthorizationType),
	}
	switch r.AuthorizationType {
	case HTTPAuthorizationJWT:
		authz, err := apigatewayv2.NewAuthorizer(ctx, name+"-authorizer", &apigatewayv2.AuthorizerArgs{
			ApiId:           h.ID,
			Name:            pulumi.String(src + "-cognito"),
			AuthorizerType:  pulumi.String("JWT"),
			IdentitySources: pulumi.ToStringArray(r.AuthorizerIdentitySources),
			JwtConfiguration: &apigatewayv2.AuthorizerJwtConfigurationArgs{
				Issuer:    pulumi.String(r.Issuer),
				Audiences: pulumi.ToStringArray(r.Audiences),
			},
		}, opts...)
		if err != nil {
			return fmt.Errorf("create jwt authorizer for %s: %w", src, err)
		}
		rta.AuthorizerId = authz.ID()
		rta.AuthorizationScopes = pulumi.ToStringArray(r.Scopes)
	case HTTPAuthorizationCustom:
		rta.AuthorizerId = ra.AuthorizerID
	}
	if r.SignatureOnly != "" {
		rta.OperationName = pulumi.String(contract.SignatureOnlyOperation(r.SignatureOnly))
	}
	route, err := apigatewayv2.NewRoute(ctx, name+"-route", rta, opts...)
	if err != nil {
		return fmt.Errorf("create route POST /%s: %w", src, err)
	}
	h.routes = append(h.routes, r)
	h.routeResources = append(h.routeResources, integ, route)
	h.stageSources = append(h.stageSources, StageSource{Name: src, Throttle: ra.Source.Throttle})
	return nil
}

// AuthorizerSourceArn is <execution arn>/authorizers/*.
func (h *HttpAPI) AuthorizerSourceArn() pulumi.StringOutput {
	return pulumi.Sprintf("%s/authorizers/*", h.ExecutionArn)
}

// HTTPTokenIdentitySources are the identity sources of an HTTP API's one
// token authorizer: the token, and the route. AWS (HTTP API Lambda
// authorizers, "Caching authorizer responses"): "When caching is enabled
// for an authorizer, API Gateway uses the authorizer's identity sources as
// the cache key" and "By default, API Gateway uses the cached authorizer
// response for all routes of an API that use the authorizer. To cache
// responses per route, add $context.routeKey to your authorizer's identity
// sources." With the route in the key, a simple response cached for one
// source's token never answers for another source's route, and the
// function judges each (token, route) pair against that route's own token
// (handler/authorizer: AuthorizeHTTP reads the source from the route key).
var HTTPTokenIdentitySources = []string{"$request.querystring." + contract.TokenQueryParameter, "$context.routeKey"}

// HTTPTokenCacheTTL is the cache TTL of an HTTP API's one token
// authorizer: the shortest of the token sources' (a TTL is the
// authorizer's, not a route's), so no source's answer is kept longer than
// it asked for.
func HTTPTokenCacheTTL(sources []EdgeSource) int {
	ttl := -1
	for _, s := range sources {
		if s.Check == contract.EdgeToken && (ttl < 0 || s.CacheTTL < ttl) {
			ttl = s.CacheTTL
		}
	}
	return ttl
}

// AddEdgeAuthorizers gives every token source one shared REQUEST
// authorizer: payload 2.0 with simple responses ({"isAuthorized": ...}),
// cached per token and route (HTTPTokenIdentitySources) for the shortest
// TTL of the token sources. One, not one per source: an HTTP API allows 10
// authorizers by default (AWS, "Quotas for configuring and running an
// HTTP API": Authorizers per API, 10) and a stack up to 25 sources.
func (h *HttpAPI) AddEdgeAuthorizers(ctx *pulumi.Context, name string, function pulumi.StringInput, sources []EdgeSource, opts ...pulumi.ResourceOption) (map[string]pulumi.IDOutput, error) {
	ids := map[string]pulumi.IDOutput{}
	ttl := HTTPTokenCacheTTL(sources)
	if ttl < 0 {
		return ids, nil
	}
	h.tokenAuthorizer = &HTTPAuthorizerSpec{
		Name: "token-sources", Type: "REQUEST", IdentitySources: HTTPTokenIdentitySources, TTL: ttl,
		PayloadFormatVersion: "2.0", SimpleResponses: true,
	}
	// The authorizer was once its first token source's own (name-<source>):
	// the alias turns that one into the shared one, updated in place, and
	// deletes the other sources' once no route names them.
	var first string
	for _, s := range sources {
		if s.Check == contract.EdgeToken {
			first = s.Source
			break
		}
	}
	opts = withOpts(opts, pulumi.Aliases([]pulumi.Alias{{Name: pulumi.String(name + "-" + first)}}))
	authz, err := apigatewayv2.NewAuthorizer(ctx, name+"-token", &apigatewayv2.AuthorizerArgs{
		ApiId:                          h.ID,
		Name:                           pulumi.String(h.tokenAuthorizer.Name),
		AuthorizerType:                 pulumi.String(h.tokenAuthorizer.Type),
		AuthorizerUri:                  function,
		AuthorizerPayloadFormatVersion: pulumi.String(h.tokenAuthorizer.PayloadFormatVersion),
		EnableSimpleResponses:          pulumi.Bool(h.tokenAuthorizer.SimpleResponses),
		IdentitySources:                pulumi.ToStringArray(h.tokenAuthorizer.IdentitySources),
		AuthorizerResultTtlInSeconds:   pulumi.Int(ttl),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("create the token sources' authorizer: %w", err)
	}
	h.tokenAuthorizerFunction = function
	for _, s := range sources {
		if s.Check == contract.EdgeToken {
			ids[s.Source] = authz.ID()
		}
	}
	return ids, nil
}

// Publish creates the HttpStage: the deployment of every route added and
// the stage serving it.
func (h *HttpAPI) Publish(ctx *pulumi.Context, name string, opts ...pulumi.ResourceOption) (*PublishedStage, error) {
	if h.Stage != nil {
		return nil, fmt.Errorf("http stage %s: the HTTP API is already published", name)
	}
	sa := &HttpStageArgs{
		APIID:       h.ID,
		Description: h.args.DeploymentDescription,
		Routes:      h.routes,
		Served: HTTPServed{
			DisableExecuteAPIEndpoint: h.args.DisableExecuteAPIEndpoint,
			TokenAuthorizer:           h.tokenAuthorizer,
		},
		AuthorizerFunction: h.tokenAuthorizerFunction,
		DependsOn:          h.routeResources,
		Throttle:           h.args.Throttle,
		Sources:            h.stageSources,
		Tags:               h.args.Tags,
	}
	if h.AccessLog != nil {
		sa.AccessLogArn = h.AccessLog.Arn
	}
	st, err := NewHttpStage(ctx, name, sa, opts...)
	if err != nil {
		return nil, err
	}
	h.Stage = st
	return &PublishedStage{Component: st, InvokeURL: st.InvokeURL}, nil
}

// MapDomain creates an HTTP API's regional domain name (TLS 1.2) and its
// API mapping to the stage.
func (h *HttpAPI) MapDomain(ctx *pulumi.Context, name string, d *DomainMapping, opts ...pulumi.ResourceOption) (pulumi.StringOutput, pulumi.StringOutput, error) {
	if h.Stage == nil {
		return pulumi.StringOutput{}, pulumi.StringOutput{}, fmt.Errorf("map %s: %w", d.Name, errNotPublished)
	}
	dn, err := apigatewayv2.NewDomainName(ctx, name, &apigatewayv2.DomainNameArgs{
		DomainName: pulumi.String(d.Name),
		DomainNameConfiguration: &apigatewayv2.DomainNameDomainNameConfigurationArgs{
			CertificateArn: d.CertificateArn,
			EndpointType:   pulumi.String("REGIONAL"),
			SecurityPolicy: pulumi.String(SecurityPolicy),
		},
		Tags: pulumi.ToStringMap(d.Tags),
	}, opts...)
	if err != nil {
		return pulumi.StringOutput{}, pulumi.StringOutput{}, fmt.Errorf("create domain name %s: %w", d.Name, err)
	}
	if _, err := apigatewayv2.NewApiMapping(ctx, name+"-mapping", &apigatewayv2.ApiMappingArgs{
		ApiId:      h.ID,
		Stage:      h.Stage.StageName,
		DomainName: dn.DomainName,
	}, opts...); err != nil {
		return pulumi.StringOutput{}, pulumi.StringOutput{}, fmt.Errorf("map %s to the stage: %w", d.Name, err)
	}
	conf := dn.DomainNameConfiguration
	return conf.TargetDomainName().Elem(), conf.HostedZoneId().Elem(), nil
}

// Metrics: an HTTP API's 4xx and 5xx, keyed by the API's id.
func (h *HttpAPI) Metrics() APIMetrics {
	return APIMetrics{
		APIMetricNames: APIMetricNames{Metric4xx: "4xx", Metric5xx: "5xx", Dimension: "ApiId"},
		Value:          h.ID.ToStringOutput(),
	}
}

// Outputs are the HTTP API's id, the stage and its URL.
func (h *HttpAPI) Outputs() pulumi.Map {
	out := pulumi.Map{stackoutputs.KeyAPIID: h.ID}
	if h.Stage != nil {
		out[stackoutputs.KeyInvokeURL] = h.Stage.InvokeURL
		out[stackoutputs.KeyStage] = h.Stage.StageName
	}
	return out
}

// HttpStageArgs configures the HTTP API's stage.
type HttpStageArgs struct {
	APIID       pulumi.IDInput
	Description string
	// Routes are every route of the API, Served what else the stage
	// serves: the deployment's trigger hashes them.
	Routes []HTTPRouteSpec
	Served HTTPServed
	// AuthorizerFunction is the token authorizer's invoke ARN, nil without
	// one: the deployment's trigger holds it.
	AuthorizerFunction pulumi.StringInput
	// DependsOn are every route's resources, which the deployment follows.
	DependsOn []pulumi.Resource
	// AccessLogArn is the access log group, nil for no access logs.
	AccessLogArn pulumi.StringInput
	// Throttle is the default route settings' throttle.
	Throttle stackconfig.Throttle
	// Sources are the routes' sources: their own throttles.
	Sources []StageSource
	Tags    map[string]string
}

func (a *HttpStageArgs) validate() []string {
	var p []string
	if a.APIID == nil {
		p = append(p, "APIID is required")
	}
	if len(a.Routes) == 0 {
		p = append(p, "a stage needs at least one route")
	}
	if a.Throttle.RateLimit <= 0 || a.Throttle.BurstLimit <= 0 {
		p = append(p, fmt.Sprintf("Throttle %+v must be positive", a.Throttle))
	}
	return p
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

// HTTPAccessLogFormat is the HTTP API stage's JSON access log line (the
// fields the documented log queries read: contract.AccessLogFields).
func HTTPAccessLogFormat() string { return contract.AccessLogFormat(contract.IngressHTTP) }

// NewHttpStage creates the deployment and the stage, with the stack's
// throttle as the default route settings and each source's throttle on its
// route.
func NewHttpStage(ctx *pulumi.Context, name string, args *HttpStageArgs, opts ...pulumi.ResourceOption) (*HttpStage, error) {
	if args == nil {
		return nil, fmt.Errorf("http stage %s: args are required", name)
	}
	if err := argsError("http stage", name, args.validate()); err != nil {
		return nil, err
	}
	st := &HttpStage{}
	if err := ctx.RegisterComponentResource(TypeHTTPStage, name, st, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(st)
	var err error
	st.Deployment, err = apigatewayv2.NewDeployment(ctx, name+"-deployment", &apigatewayv2.DeploymentArgs{
		ApiId:       args.APIID,
		Description: pulumi.String(args.Description),
		Triggers:    deploymentTriggers(HTTPDeploymentTriggers(args.Routes, args.Served), args.AuthorizerFunction),
	}, parent, pulumi.DependsOn(args.DependsOn))
	if err != nil {
		return nil, fmt.Errorf("create deployment: %w", err)
	}
	var perRoute apigatewayv2.StageRouteSettingArray
	for _, s := range args.Sources {
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
		ApiId:        args.APIID,
		Name:         pulumi.String(StageName),
		AutoDeploy:   pulumi.Bool(false),
		DeploymentId: st.Deployment.ID(),
		DefaultRouteSettings: &apigatewayv2.StageDefaultRouteSettingsArgs{
			ThrottlingRateLimit:    pulumi.Float64(args.Throttle.RateLimit),
			ThrottlingBurstLimit:   pulumi.Int(args.Throttle.BurstLimit),
			DetailedMetricsEnabled: pulumi.Bool(true),
		},
		RouteSettings: perRoute,
		Tags:          pulumi.ToStringMap(args.Tags),
	}
	if args.AccessLogArn != nil {
		sa.AccessLogSettings = &apigatewayv2.StageAccessLogSettingsArgs{
			DestinationArn: args.AccessLogArn,
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
