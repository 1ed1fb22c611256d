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
	"github.com/hookline/hookline/stackconfig"
)

// RestAPIArgs configures the REST API.
type RestAPIArgs struct {
	Config *stackconfig.Config
}

// RestAPI is the REST API shell every source's route hangs off: the API
// itself, its request validator, JSON gateway responses, the access log group
// and, when the stack manages it, the region's API Gateway account settings.
type RestAPI struct {
	pulumi.ResourceState

	API       *apigateway.RestApi
	Validator *apigateway.RequestValidator
	// AccessLog is nil when the stack turns access logs off.
	AccessLog *cloudwatch.LogGroup
	// Account is set only when the stack manages apigateway.Account.
	Account *apigateway.Account
	// GatewayResponses must exist before the stage is deployed.
	GatewayResponses []pulumi.Resource

	ID             pulumi.IDOutput     `pulumi:"id"`
	RootResourceID pulumi.StringOutput `pulumi:"rootResourceId"`
	ExecutionArn   pulumi.StringOutput `pulumi:"executionArn"`
}

// APIKeySource is where API Gateway reads API keys: the x-api-key header,
// or, with token sources, the edge authorizer's usageIdentifierKey (so a
// token source's usage plan throttles it too).
func APIKeySource(c *stackconfig.Config) string {
	if c.EdgeAuthorizer() {
		return "AUTHORIZER"
	}
	return "HEADER"
}

// NewRestAPI creates the REST API component.
func NewRestAPI(ctx *pulumi.Context, name string, args *RestAPIArgs, opts ...pulumi.ResourceOption) (*RestAPI, error) {
	if args == nil || args.Config == nil {
		return nil, fmt.Errorf("rest api %s: Config is required", name)
	}
	c := args.Config
	r := &RestAPI{}
	if err := ctx.RegisterComponentResource(TypeRestAPI, name, r, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(r)

	api, err := apigateway.NewRestApi(ctx, name, &apigateway.RestApiArgs{
		Name:        pulumi.String(c.APIName()),
		Description: pulumi.String("hookline inbound webhooks (" + c.Environment + ")"),
		EndpointConfiguration: &apigateway.RestApiEndpointConfigurationArgs{
			Types: pulumi.String("REGIONAL"),
		},
		// With a custom domain, the domain is the only way in: its TLS policy
		// then holds for every request.
		DisableExecuteApiEndpoint: pulumi.Bool(c.Domain != nil),
		// No binaryMediaTypes: a JSON body must reach the template as text,
		// or signatures would be checked over base64.
		ApiKeySource: pulumi.String(APIKeySource(c)),
		Tags:         tagMap(c),
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

	if r.AccessLog, err = accessLogGroup(ctx, name, c, parent); err != nil {
		return nil, err
	}

	if c.ManageAPIGatewayAccount {
		role, err := iam.NewRole(ctx, name+"-cloudwatch", &iam.RoleArgs{
			Name:             pulumi.String(c.CloudWatchRoleName()),
			AssumeRolePolicy: pulumi.String(AssumeRolePolicy("apigateway.amazonaws.com")),
			Tags:             tagMap(c),
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
func accessLogGroup(ctx *pulumi.Context, name string, c *stackconfig.Config, parent pulumi.ResourceOption) (*cloudwatch.LogGroup, error) {
	if !c.AccessLogsOn() {
		return nil, nil
	}
	lg, err := cloudwatch.NewLogGroup(ctx, name+"-access", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(c.AccessLogGroup()),
		RetentionInDays: pulumi.Int(c.LogRetentionDays),
		Tags:            tagMap(c),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create access log group: %w", err)
	}
	return lg, nil
}
