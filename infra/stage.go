package infra

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/apigateway"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hookline/hookline/stackconfig"
)

// ApiStageArgs configures the published stage.
type ApiStageArgs struct {
	Config  *stackconfig.Config
	API     *RestAPI
	Sources []*Source
}

// ApiStage publishes the REST API: a Deployment whose triggers hash every
// route (so changed methods redeploy), a separate Stage with JSON access logs,
// X-Ray and throttling, and one usage plan with an API key per apiKey source.
type ApiStage struct {
	pulumi.ResourceState

	Deployment *apigateway.Deployment
	Stage      *apigateway.Stage

	InvokeURL pulumi.StringOutput `pulumi:"invokeUrl"`
	StageName pulumi.StringOutput `pulumi:"stageName"`
	// APIKeys maps apiKey source names to their key values (secret).
	APIKeys pulumi.StringMapOutput `pulumi:"apiKeys"`
}

// AccessLogFormat is the stage's JSON access log line.
func AccessLogFormat() string {
	fields := map[string]string{
		"requestId":          "$context.requestId",
		"extendedRequestId":  "$context.extendedRequestId",
		"ip":                 "$context.identity.sourceIp",
		"requestTime":        "$context.requestTimeEpoch",
		"httpMethod":         "$context.httpMethod",
		"resourcePath":       "$context.resourcePath",
		"status":             "$context.status",
		"protocol":           "$context.protocol",
		"responseLength":     "$context.responseLength",
		"integrationStatus":  "$context.integration.status",
		"integrationLatency": "$context.integration.latency",
		"errorMessage":       "$context.error.message",
		"apiKeyId":           "$context.identity.apiKeyId",
	}
	b, _ := json.Marshal(fields)
	return string(b)
}

// NewApiStage creates the deployment, stage and usage plans.
func NewApiStage(ctx *pulumi.Context, name string, args *ApiStageArgs, opts ...pulumi.ResourceOption) (*ApiStage, error) {
	if args == nil || args.Config == nil || args.API == nil {
		return nil, fmt.Errorf("api stage %s: Config and API are required", name)
	}
	c := args.Config
	st := &ApiStage{}
	if err := ctx.RegisterComponentResource(TypeAPIStage, name, st, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(st)

	var routes []RouteSpec
	deps := append([]pulumi.Resource(nil), args.API.GatewayResponses...)
	for _, s := range args.Sources {
		routes = append(routes, s.Route)
		deps = append(deps, s.RouteResources...)
	}
	var err error
	st.Deployment, err = apigateway.NewDeployment(ctx, name+"-deployment", &apigateway.DeploymentArgs{
		RestApi:     args.API.ID,
		Description: pulumi.String("hookline " + c.Environment),
		Triggers:    pulumi.ToStringMap(DeploymentTriggers(routes)),
	}, parent, pulumi.DependsOn(deps))
	if err != nil {
		return nil, fmt.Errorf("create deployment: %w", err)
	}

	var stageDeps []pulumi.Resource
	if args.API.Account != nil {
		stageDeps = append(stageDeps, args.API.Account)
	}
	stageArgs := &apigateway.StageArgs{
		RestApi:            args.API.ID,
		Deployment:         st.Deployment.ID(),
		StageName:          pulumi.String(StageName),
		XrayTracingEnabled: pulumi.Bool(true),
		Tags:               tagMap(c),
	}
	if args.API.AccessLog != nil { // off only where hookline:accessLogs is false
		stageArgs.AccessLogSettings = &apigateway.StageAccessLogSettingsArgs{
			DestinationArn: args.API.AccessLog.Arn,
			Format:         pulumi.String(AccessLogFormat()),
		}
	}
	st.Stage, err = apigateway.NewStage(ctx, name, stageArgs, parent, pulumi.DependsOn(stageDeps))
	if err != nil {
		return nil, fmt.Errorf("create stage: %w", err)
	}

	// Execution logs need the region's CloudWatch role, which only a stack
	// that manages apigateway.Account is sure exists.
	logging := "OFF"
	if c.ManageAPIGatewayAccount {
		logging = "ERROR"
	}
	if _, err := apigateway.NewMethodSettings(ctx, name+"-all", &apigateway.MethodSettingsArgs{
		RestApi:    args.API.ID,
		StageName:  st.Stage.StageName,
		MethodPath: pulumi.String("*/*"),
		Settings: &apigateway.MethodSettingsSettingsArgs{
			MetricsEnabled:       pulumi.Bool(true),
			LoggingLevel:         pulumi.String(logging),
			DataTraceEnabled:     pulumi.Bool(false),
			ThrottlingRateLimit:  pulumi.Float64(c.Throttle.RateLimit),
			ThrottlingBurstLimit: pulumi.Int(c.Throttle.BurstLimit),
		},
	}, parent); err != nil {
		return nil, fmt.Errorf("create stage method settings: %w", err)
	}

	keys := pulumi.StringMap{}
	for _, s := range c.Sources {
		if s.Throttle != nil {
			if _, err := apigateway.NewMethodSettings(ctx, name+"-"+s.Name, &apigateway.MethodSettingsArgs{
				RestApi:    args.API.ID,
				StageName:  st.Stage.StageName,
				MethodPath: pulumi.String(s.Name + "/POST"),
				Settings: &apigateway.MethodSettingsSettingsArgs{
					MetricsEnabled:       pulumi.Bool(true),
					LoggingLevel:         pulumi.String(logging),
					ThrottlingRateLimit:  pulumi.Float64(s.Throttle.RateLimit),
					ThrottlingBurstLimit: pulumi.Int(s.Throttle.BurstLimit),
				},
			}, parent); err != nil {
				return nil, fmt.Errorf("create method settings for %s: %w", s.Name, err)
			}
		}
		if !s.Auth.HasUsagePlan() {
			continue
		}
		key, err := st.usagePlan(ctx, name, c, s, args.API)
		if err != nil {
			return nil, err
		}
		if s.Auth.Type == stackconfig.AuthAPIKey {
			keys[s.Name] = key.Value
			continue
		}
		// A token source's sender never sees its API key: the edge
		// authorizer reads it from here and hands it to API Gateway.
		if _, err := secureParameter(ctx, name+"-"+s.Name+"-usage-key", c, c.UsageKeyParameter(s), key.Value,
			"hookline API key value of token source "+s.Name+" (read by the edge authorizer)", parent); err != nil {
			return nil, fmt.Errorf("store the usage key of %s: %w", s.Name, err)
		}
	}

	st.InvokeURL = st.Stage.InvokeUrl
	st.StageName = st.Stage.StageName
	st.APIKeys = pulumi.ToSecret(keys.ToStringMapOutput()).(pulumi.StringMapOutput)
	if err := ctx.RegisterResourceOutputs(st, pulumi.Map{
		"invokeUrl": st.InvokeURL, "stageName": st.StageName, "apiKeys": st.APIKeys,
	}); err != nil {
		return nil, err
	}
	return st, nil
}

// usagePlan creates an apiKey source's usage plan, key and their association.
// The plan throttles the source's own route; an API key admits to the stage,
// so it is the source's signature that binds a message to its sender.
func (st *ApiStage) usagePlan(ctx *pulumi.Context, name string, c *stackconfig.Config, s stackconfig.Source, api *RestAPI) (*apigateway.ApiKey, error) {
	parent := pulumi.Parent(st)
	plan := s.Auth.UsagePlan
	if plan == nil {
		plan = &stackconfig.UsagePlan{RateLimit: c.Throttle.RateLimit, BurstLimit: c.Throttle.BurstLimit}
	}
	upa := &apigateway.UsagePlanArgs{
		Name:        pulumi.String(c.UsagePlanName(s)),
		Description: pulumi.String("API key plan of source " + s.Name),
		ApiStages: apigateway.UsagePlanApiStageArray{apigateway.UsagePlanApiStageArgs{
			ApiId: api.ID,
			Stage: st.Stage.StageName,
			Throttles: apigateway.UsagePlanApiStageThrottleArray{apigateway.UsagePlanApiStageThrottleArgs{
				Path:       pulumi.String("/" + s.Name + "/POST"),
				RateLimit:  pulumi.Float64(plan.RateLimit),
				BurstLimit: pulumi.Int(plan.BurstLimit),
			}},
		}},
		ThrottleSettings: &apigateway.UsagePlanThrottleSettingsArgs{
			RateLimit:  pulumi.Float64(plan.RateLimit),
			BurstLimit: pulumi.Int(plan.BurstLimit),
		},
		Tags: tagMap(c),
	}
	if plan.QuotaLimit > 0 {
		upa.QuotaSettings = &apigateway.UsagePlanQuotaSettingsArgs{
			Limit: pulumi.Int(plan.QuotaLimit), Period: pulumi.String(plan.QuotaPeriod),
		}
	}
	up, err := apigateway.NewUsagePlan(ctx, name+"-"+s.Name+"-plan", upa, parent)
	if err != nil {
		return nil, fmt.Errorf("create usage plan for %s: %w", s.Name, err)
	}
	key, err := apigateway.NewApiKey(ctx, name+"-"+s.Name+"-key", &apigateway.ApiKeyArgs{
		Name:        pulumi.String(c.APIKeyName(s)),
		Description: pulumi.String("API key of source " + s.Name),
		Enabled:     pulumi.Bool(true),
		Tags:        tagMap(c),
	}, parent, pulumi.AdditionalSecretOutputs([]string{"value"}))
	if err != nil {
		return nil, fmt.Errorf("create api key for %s: %w", s.Name, err)
	}
	if _, err := apigateway.NewUsagePlanKey(ctx, name+"-"+s.Name+"-plan-key", &apigateway.UsagePlanKeyArgs{
		KeyId:       key.ID(),
		KeyType:     pulumi.String("API_KEY"),
		UsagePlanId: up.ID(),
	}, parent); err != nil {
		return nil, fmt.Errorf("associate api key for %s: %w", s.Name, err)
	}
	return key, nil
}
