package infra

import (
	"fmt"
	"maps"
	"slices"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/apigateway"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/stackoutputs"
)

// restTraits are the REST API's: access logs need the region's CloudWatch
// role, and API keys with usage plans exist.
type restTraits struct{}

// Kind is contract.IngressREST.
func (restTraits) Kind() string { return contract.IngressREST }

// AccessLogsNeedAccountRole: a REST stage's access logs are refused in a
// region whose API Gateway account settings name no CloudWatch role.
func (restTraits) AccessLogsNeedAccountRole() bool { return true }

// UsageKeys: a REST API has API keys and usage plans.
func (restTraits) UsageKeys() bool { return true }

// RestAPI is the REST ingress. The component holds the API shell every
// source's route hangs off: the API itself, its request validator, JSON
// gateway responses, the access log group and, when the stack manages it,
// the region's API Gateway account settings. Each source's route (resource,
// method, SQS integration and responses) sits in its Source component, the
// deployment and stage in an ApiStage, the domain name in the Domain.
type RestAPI struct {
	pulumi.ResourceState
	restTraits

	API       *apigateway.RestApi
	Validator *apigateway.RequestValidator
	// AccessLog is nil when the stack turns access logs off.
	AccessLog *cloudwatch.LogGroup
	// Account is set only when the stack manages apigateway.Account.
	Account *apigateway.Account
	// GatewayResponses must exist before the stage is deployed.
	GatewayResponses []pulumi.Resource
	// Stage is the published stage, nil before Publish.
	Stage *ApiStage

	ID             pulumi.IDOutput     `pulumi:"id"`
	RootResourceID pulumi.StringOutput `pulumi:"rootResourceId"`
	ExecutionArn   pulumi.StringOutput `pulumi:"executionArn"`

	args IngressArgs
	// routes and routeResources are every route added, for Publish.
	routes         []RouteSpec
	routeResources []pulumi.Resource
	// authorizers and authorizerFunction are the edge authorizers and the
	// invoke ARN they call: the deployment's trigger hashes them.
	authorizers        []RESTAuthorizerSpec
	authorizerFunction pulumi.StringInput
	stageSources       []StageSource
}

var _ Ingress = (*RestAPI)(nil)

// APIKeySource is where API Gateway reads API keys: the x-api-key header,
// or, with token sources (edgeAuthorizer), the edge authorizer's
// usageIdentifierKey (so a token source's usage plan throttles it too).
func APIKeySource(edgeAuthorizer bool) string {
	if edgeAuthorizer {
		return "AUTHORIZER"
	}
	return "HEADER"
}

// NewRestAPI creates the REST API component.
func NewRestAPI(ctx *pulumi.Context, name string, args *IngressArgs, opts ...pulumi.ResourceOption) (*RestAPI, error) {
	if args == nil {
		return nil, fmt.Errorf("rest api %s: args are required", name)
	}
	if err := argsError("rest api", name, args.validate()); err != nil {
		return nil, err
	}
	r := &RestAPI{args: *args}
	if err := ctx.RegisterComponentResource(TypeRestAPI, name, r, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(r)

	api, err := apigateway.NewRestApi(ctx, name, &apigateway.RestApiArgs{
		Name:        pulumi.String(args.Name),
		Description: pulumi.String(args.Description),
		EndpointConfiguration: &apigateway.RestApiEndpointConfigurationArgs{
			Types: pulumi.String("REGIONAL"),
		},
		DisableExecuteApiEndpoint: pulumi.Bool(args.DisableExecuteAPIEndpoint),
		// No binaryMediaTypes: a JSON body must reach the template as text,
		// or signatures would be checked over base64.
		ApiKeySource: pulumi.String(APIKeySource(args.EdgeAuthorizer)),
		Tags:         pulumi.ToStringMap(args.Tags),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create rest api: %w", err)
	}
	r.API = api

	r.Validator, err = apigateway.NewRequestValidator(ctx, name+"-validator", &apigateway.RequestValidatorArgs{
		RestApi:                   api.ID(),
		Name:                      pulumi.String("signature-headers"),
		ValidateRequestParameters: pulumi.Bool(true),
		ValidateRequestBody:       pulumi.Bool(false),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create request validator: %w", err)
	}

	for _, typ := range slices.Sorted(maps.Keys(contract.GatewayResponses())) {
		resp, err := apigateway.NewResponse(ctx, name+"-"+typ, &apigateway.ResponseArgs{
			RestApiId:         api.ID(),
			ResponseType:      pulumi.String(typ),
			ResponseTemplates: pulumi.StringMap{contract.ResponseContentType: pulumi.String(contract.GatewayResponses()[typ])},
		}, parent)
		if err != nil {
			return nil, fmt.Errorf("create gateway response %s: %w", typ, err)
		}
		r.GatewayResponses = append(r.GatewayResponses, resp)
	}

	if r.AccessLog, err = accessLogGroup(ctx, name, args.AccessLog, args.Tags, parent); err != nil {
		return nil, err
	}

	if args.CloudWatchRoleName != "" {
		role, err := iam.NewRole(ctx, name+"-cloudwatch", &iam.RoleArgs{
			Name:             pulumi.String(args.CloudWatchRoleName),
			AssumeRolePolicy: pulumi.String(AssumeRolePolicy("apigateway.amazonaws.com")),
			Tags:             pulumi.ToStringMap(args.Tags),
		}, parent)
		if err != nil {
			return nil, fmt.Errorf("create api gateway cloudwatch role: %w", err)
		}
		attach, err := iam.NewRolePolicyAttachment(ctx, name+"-cloudwatch", &iam.RolePolicyAttachmentArgs{
			Role:      role.Name,
			PolicyArn: pulumi.String("arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"),
		}, parent)
		if err != nil {
			return nil, fmt.Errorf("attach api gateway cloudwatch policy: %w", err)
		}
		r.Account, err = apigateway.NewAccount(ctx, name+"-account", &apigateway.AccountArgs{
			CloudwatchRoleArn: role.Arn,
		}, parent, pulumi.DependsOn([]pulumi.Resource{attach}))
		if err != nil {
			return nil, fmt.Errorf("manage api gateway account: %w", err)
		}
	}

	r.ID = api.ID()
	r.RootResourceID = api.RootResourceId
	r.ExecutionArn = api.ExecutionArn
	if err := ctx.RegisterResourceOutputs(r, pulumi.Map{
		"id": r.ID, "rootResourceId": r.RootResourceID, "executionArn": r.ExecutionArn,
	}); err != nil {
		return nil, err
	}
	return r, nil
}

// accessLogGroup is the stage's access log group, with the stack's
// retention; nil when the stack turns access logs off. Either ingress.
func accessLogGroup(ctx *pulumi.Context, name string, spec *LogGroupSpec, tags map[string]string, parent pulumi.ResourceOption) (*cloudwatch.LogGroup, error) {
	if spec == nil {
		return nil, nil
	}
	lg, err := cloudwatch.NewLogGroup(ctx, name+"-access", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(spec.Name),
		RetentionInDays: pulumi.Int(spec.RetentionDays),
		Tags:            pulumi.ToStringMap(tags),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create access log group: %w", err)
	}
	return lg, nil
}

// AddRoute adds POST /<source> with its AWS integration into SQS
// SendMessage: the resource, the method (with its Cognito authorizer or the
// edge authorizer), the integration and its method and integration responses.
func (a *RestAPI) AddRoute(ctx *pulumi.Context, name string, ra *RouteArgs, opts ...pulumi.ResourceOption) error {
	var r RouteSpec
	if ra != nil {
		r = NewRouteSpec(ra.Source)
	}
	if err := argsError("route", name, validateRoute(ra, r.Authorization == AuthorizationCustom, a.Stage != nil)); err != nil {
		return err
	}
	src := ra.Source.Name
	res, err := apigateway.NewResource(ctx, name+"-resource", &apigateway.ResourceArgs{
		RestApi:  a.ID,
		ParentId: a.RootResourceID,
		PathPart: pulumi.String(src),
	}, opts...)
	if err != nil {
		return fmt.Errorf("create resource /%s: %w", src, err)
	}

	ma := &apigateway.MethodArgs{
		RestApi:            a.ID,
		ResourceId:         res.ID(),
		HttpMethod:         pulumi.String(r.HTTPMethod),
		Authorization:      pulumi.String(r.Authorization),
		ApiKeyRequired:     pulumi.Bool(r.APIKeyRequired),
		RequestParameters:  pulumi.ToBoolMap(r.RequestParameters),
		RequestValidatorId: a.Validator.ID(),
	}
	if r.Authorization == AuthorizationCognito {
		authz, err := apigateway.NewAuthorizer(ctx, name+"-authorizer", &apigateway.AuthorizerArgs{
			RestApi:        a.ID,
			Name:           pulumi.String(src + "-cognito"),
			Type:           pulumi.String("COGNITO_USER_POOLS"),
			ProviderArns:   pulumi.StringArray{pulumi.String(r.UserPoolARN)},
			IdentitySource: pulumi.String("method.request.header.Authorization"),
		}, opts...)
		if err != nil {
			return fmt.Errorf("create cognito authorizer for %s: %w", src, err)
		}
		ma.AuthorizerId = authz.ID()
		ma.AuthorizationScopes = pulumi.ToStringArray(r.Scopes)
	}
	if r.Authorization == AuthorizationCustom {
		ma.AuthorizerId = ra.AuthorizerID
	}
	if r.SignatureOnly != "" {
		ma.OperationName = pulumi.String(contract.SignatureOnlyOperation(r.SignatureOnly))
	}
	method, err := apigateway.NewMethod(ctx, name+"-method", ma, opts...)
	if err != nil {
		return fmt.Errorf("create method POST /%s: %w", src, err)
	}

	region := a.args.Region
	integ, err := apigateway.NewIntegration(ctx, name+"-integration", &apigateway.IntegrationArgs{
		RestApi:               a.ID,
		ResourceId:            res.ID(),
		HttpMethod:            method.HttpMethod,
		Type:                  pulumi.String("AWS"),
		IntegrationHttpMethod: pulumi.String("POST"),
		Uri: ra.QueueURL.ApplyT(func(u string) (string, error) {
			return SQSIntegrationURI(region, u)
		}).(pulumi.StringOutput),
		Credentials:         ra.SendRoleArn,
		PassthroughBehavior: pulumi.String("NEVER"),
		RequestParameters:   pulumi.ToStringMap(r.IntegrationRequest),
		RequestTemplates:    pulumi.ToStringMap(r.RequestTemplates),
	}, withOpts(opts, pulumi.DependsOn([]pulumi.Resource{ra.SendPolicy}))...)
	if err != nil {
		return fmt.Errorf("create sqs integration for %s: %w", src, err)
	}
	resources := []pulumi.Resource{res, method, integ}

	methodResponses := map[string]pulumi.Resource{}
	for _, code := range r.MethodStatusCodes {
		mr, err := apigateway.NewMethodResponse(ctx, name+"-response-"+code, &apigateway.MethodResponseArgs{
			RestApi:        a.ID,
			ResourceId:     res.ID(),
			HttpMethod:     method.HttpMethod,
			StatusCode:     pulumi.String(code),
			ResponseModels: pulumi.StringMap{contract.ResponseContentType: pulumi.String("Empty")},
		}, opts...)
		if err != nil {
			return fmt.Errorf("create method response %s for %s: %w", code, src, err)
		}
		methodResponses[code] = mr
		resources = append(resources, mr)
	}
	for _, ir := range r.IntegrationResponse {
		args := &apigateway.IntegrationResponseArgs{
			RestApi:           a.ID,
			ResourceId:        res.ID(),
			HttpMethod:        method.HttpMethod,
			StatusCode:        pulumi.String(ir.StatusCode),
			ResponseTemplates: pulumi.StringMap{contract.ResponseContentType: pulumi.String(ir.Template)},
		}
		if ir.SelectionPattern != "" {
			args.SelectionPattern = pulumi.String(ir.SelectionPattern)
		}
		resp, err := apigateway.NewIntegrationResponse(ctx, name+"-integration-"+ir.StatusCode, args,
			withOpts(opts, pulumi.DependsOn([]pulumi.Resource{integ, methodResponses[ir.StatusCode]}))...)
		if err != nil {
			return fmt.Errorf("create integration response %s for %s: %w", ir.StatusCode, src, err)
		}
		resources = append(resources, resp)
	}
	a.routes = append(a.routes, r)
	a.routeResources = append(a.routeResources, resources...)
	a.stageSources = append(a.stageSources, StageSource{Name: src, Throttle: ra.Source.Throttle, UsagePlan: ra.Source.UsagePlan})
	return nil
}

// AuthorizerSourceArn is <execution arn>/authorizers/*.
func (a *RestAPI) AuthorizerSourceArn() pulumi.StringOutput {
	return pulumi.Sprintf("%s/authorizers/*", a.ExecutionArn)
}

// AddEdgeAuthorizers gives each token source a REQUEST authorizer on its
// ?token=, and the apiKey sources one shared pass-through of x-api-key
// (the API's key source is then AUTHORIZER).
func (a *RestAPI) AddEdgeAuthorizers(ctx *pulumi.Context, name string, function pulumi.StringInput, sources []EdgeSource, opts ...pulumi.ResourceOption) (map[string]pulumi.IDOutput, error) {
	ids := map[string]pulumi.IDOutput{}
	a.authorizerFunction = function
	create := func(resName string, spec RESTAuthorizerSpec) (*apigateway.Authorizer, error) {
		a.authorizers = append(a.authorizers, spec)
		return apigateway.NewAuthorizer(ctx, resName, &apigateway.AuthorizerArgs{
			RestApi:                      a.ID,
			Name:                         pulumi.String(spec.Name),
			Type:                         pulumi.String(spec.Type),
			AuthorizerUri:                function,
			IdentitySource:               pulumi.String(spec.IdentitySource),
			AuthorizerResultTtlInSeconds: pulumi.Int(spec.TTL),
		}, opts...)
	}
	var passThrough *apigateway.Authorizer
	for _, s := range sources {
		var authz *apigateway.Authorizer
		var err error
		switch s.Check {
		case contract.EdgeToken:
			authz, err = create(name+"-"+s.Source, RESTAuthorizerSpec{
				Name: s.Source + "-token", Type: "REQUEST",
				IdentitySource: "method.request.querystring." + contract.TokenQueryParameter, TTL: s.CacheTTL,
			})
		case contract.EdgeAPIKey:
			if passThrough == nil {
				passThrough, err = create(name+"-api-key", RESTAuthorizerSpec{
					Name: "api-key", Type: "REQUEST", IdentitySource: "method.request.header.x-api-key", TTL: s.CacheTTL,
				})
			}
			authz = passThrough
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("create the authorizer of %s: %w", s.Source, err)
		}
		ids[s.Source] = authz.ID()
	}
	return ids, nil
}

// Publish creates the ApiStage: the deployment of every route added, the
// stage, its method settings and the usage plans.
func (a *RestAPI) Publish(ctx *pulumi.Context, name string, opts ...pulumi.ResourceOption) (*PublishedStage, error) {
	if a.Stage != nil {
		return nil, fmt.Errorf("api stage %s: the REST API is already published", name)
	}
	sa := &ApiStageArgs{
		RestAPI:     a.ID,
		Description: a.args.DeploymentDescription,
		Routes:      a.routes,
		Served: RESTServed{
			DisableExecuteAPIEndpoint: a.args.DisableExecuteAPIEndpoint,
			Authorizers:               a.authorizers,
		},
		AuthorizerFunction: a.authorizerFunction,
		DependsOn:          append(append([]pulumi.Resource(nil), a.GatewayResponses...), a.routeResources...),
		Throttle:           a.args.Throttle,
		ExecutionLogs:      a.Account != nil,
		Tracing:            a.args.Tracing,
		Sources:            a.stageSources,
		Tags:               a.args.Tags,
	}
	if a.Account != nil {
		sa.Account = a.Account
	}
	if a.AccessLog != nil {
		sa.AccessLogArn = a.AccessLog.Arn
	}
	st, err := NewApiStage(ctx, name, sa, opts...)
	if err != nil {
		return nil, err
	}
	a.Stage = st
	return &PublishedStage{Component: st, InvokeURL: st.InvokeURL}, nil
}

// MapDomain creates a REST API's regional domain name (TLS 1.2) and its
// base path mapping to the stage.
func (a *RestAPI) MapDomain(ctx *pulumi.Context, name string, d *DomainMapping, opts ...pulumi.ResourceOption) (pulumi.StringOutput, pulumi.StringOutput, error) {
	if a.Stage == nil {
		return pulumi.StringOutput{}, pulumi.StringOutput{}, fmt.Errorf("map %s: %w", d.Name, errNotPublished)
	}
	dn, err := apigateway.NewDomainName(ctx, name, &apigateway.DomainNameArgs{
		DomainName:             pulumi.String(d.Name),
		RegionalCertificateArn: d.CertificateArn,
		EndpointConfiguration:  &apigateway.DomainNameEndpointConfigurationArgs{Types: pulumi.String("REGIONAL")},
		SecurityPolicy:         pulumi.String(SecurityPolicy),
		Tags:                   pulumi.ToStringMap(d.Tags),
	}, opts...)
	if err != nil {
		return pulumi.StringOutput{}, pulumi.StringOutput{}, fmt.Errorf("create domain name %s: %w", d.Name, err)
	}
	if _, err := apigateway.NewBasePathMapping(ctx, name+"-mapping", &apigateway.BasePathMappingArgs{
		RestApi:    a.ID,
		StageName:  a.Stage.StageName,
		DomainName: dn.DomainName,
	}, opts...); err != nil {
		return pulumi.StringOutput{}, pulumi.StringOutput{}, fmt.Errorf("map %s to the stage: %w", d.Name, err)
	}
	return dn.RegionalDomainName, dn.RegionalZoneId, nil
}

// Metrics: a REST API's 4XXError and 5XXError, keyed by the API's name.
func (a *RestAPI) Metrics() APIMetrics {
	return APIMetrics{
		APIMetricNames: APIMetricNames{Metric4xx: "4XXError", Metric5xx: "5XXError", Dimension: "ApiName"},
		Value:          pulumi.String(a.args.Name).ToStringOutput(),
	}
}

// Outputs are the REST API's id (apiId, restApiId), the stage and its URL,
// and the apiKey sources' keys (secret).
func (a *RestAPI) Outputs() pulumi.Map {
	out := pulumi.Map{stackoutputs.KeyAPIID: a.ID, stackoutputs.KeyRestAPIID: a.ID}
	if a.Stage != nil {
		out[stackoutputs.KeyInvokeURL] = a.Stage.InvokeURL
		out[stackoutputs.KeyStage] = a.Stage.StageName
		out[stackoutputs.KeyAPIKeys] = a.Stage.APIKeys
	}
	return out
}
