package infra

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/apigateway"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/stackconfig"
)

// ApiStageArgs configures the published stage of a REST API.
type ApiStageArgs struct {
	RestAPI     pulumi.IDInput
	Description string
	// Routes are every route of the API, Served what else a deployment
	// snapshots: the deployment's trigger hashes them.
	Routes []RouteSpec
	Served RESTServed
	// AuthorizerFunction is the edge authorizer's invoke ARN, nil without
	// one: the deployment's trigger holds it.
	AuthorizerFunction pulumi.StringInput
	// DependsOn are the gateway responses and every route's resources,
	// which the deployment must follow.
	DependsOn []pulumi.Resource
	// Account is the region's account settings when the stack manages
	// them (the stage follows them), else nil.
	Account pulumi.Resource
	// AccessLogArn is the access log group, nil for no access logs.
	AccessLogArn pulumi.StringInput
	// Throttle is the stage's default for every method.
	Throttle stackconfig.Throttle
	// ExecutionLogs turns on execution logs (errors), which need the
	// region's CloudWatch role: only a stack managing Account is sure of it.
	ExecutionLogs bool
	// Tracing turns on the stage's X-Ray tracing (API Gateway samples 1
	// request a second and 5% of the rest by default).
	Tracing bool
	// Sources are the routes' sources: their own throttles and usage plans.
	Sources []StageSource
	Tags    map[string]string
}

// StageSource is a source as a stage sees it.
type StageSource struct {
	Name string
	// Throttle is the source's own route throttle, nil for the stage's.
	Throttle *stackconfig.Throttle
	// UsagePlan is the source's key and usage plan, nil for none (used
	// where the ingress has usage plans).
	UsagePlan *UsagePlanSpec
}

func (a *ApiStageArgs) validate() []string {
	var p []string
	if a.RestAPI == nil {
		p = append(p, "RestAPI is required")
	}
	if len(a.Routes) == 0 {
		p = append(p, "a stage needs at least one route")
	}
	if a.Throttle.RateLimit <= 0 || a.Throttle.BurstLimit <= 0 {
		p = append(p, fmt.Sprintf("Throttle %+v must be positive", a.Throttle))
	}
	for _, s := range a.Sources {
		if u := s.UsagePlan; u != nil && (u.Name == "" || u.KeyName == "") {
			p = append(p, fmt.Sprintf("the usage plan of %s needs a Name and a KeyName", s.Name))
		}
	}
	return p
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

// AccessLogFormat is the REST stage's JSON access log line (the fields the
// documented log queries read: contract.AccessLogFields).
func AccessLogFormat() string { return contract.AccessLogFormat(contract.IngressREST) }

// deploymentTriggers are a deployment's triggers: the hash of what it
// serves, and the edge authorizer function's invoke ARN when there is one.
func deploymentTriggers(hashes map[string]string, authorizerFunction pulumi.StringInput) pulumi.StringMap {
	t := pulumi.ToStringMap(hashes)
	if authorizerFunction != nil {
		t[TriggerAuthorizerFunction] = authorizerFunction
	}
	return t
}

// NewApiStage creates the deployment, stage and usage plans.
func NewApiStage(ctx *pulumi.Context, name string, args *ApiStageArgs, opts ...pulumi.ResourceOption) (*ApiStage, error) {
	if args == nil {
		return nil, fmt.Errorf("api stage %s: args are required", name)
	}
	if err := argsError("api stage", name, args.validate()); err != nil {
		return nil, err
	}
	st := &ApiStage{}
	if err := ctx.RegisterComponentResource(TypeAPIStage, name, st, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(st)

	var err error
	st.Deployment, err = apigateway.NewDeployment(ctx, name+"-deployment", &apigateway.DeploymentArgs{
		RestApi:     args.RestAPI,
		Description: pulumi.String(args.Description),
		Triggers:    deploymentTriggers(DeploymentTriggers(args.Routes, args.Served), args.AuthorizerFunction),
	}, parent, pulumi.DependsOn(args.DependsOn))
	if err != nil {
		return nil, fmt.Errorf("create deployment: %w", err)
	}

	var stageDeps []pulumi.Resource
	if args.Account != nil {
		stageDeps = append(stageDeps, args.Account)
	}
	stageArgs := &apigateway.StageArgs{
		RestApi:            args.RestAPI,
		Deployment:         st.Deployment.ID(),
		StageName:          pulumi.String(StageName),
		XrayTracingEnabled: pulumi.Bool(args.Tracing),
		Tags:               pulumi.ToStringMap(args.Tags),
	}
	if args.AccessLogArn != nil { // off only where hookline:accessLogs is false
		stageArgs.AccessLogSettings = &apigateway.StageAccessLogSettingsArgs{
			DestinationArn: args.AccessLogArn,
			Format:         pulumi.String(AccessLogFormat()),
		}
	}
	st.Stage, err = apigateway.NewStage(ctx, name, stageArgs, parent, pulumi.DependsOn(stageDeps))
	if err != nil {
		return nil, fmt.Errorf("create stage: %w", err)
	}

	logging := "OFF"
	if args.ExecutionLogs {
		logging = "ERROR"
	}
	if _, err := apigateway.NewMethodSettings(ctx, name+"-all", &apigateway.MethodSettingsArgs{
		RestApi:    args.RestAPI,
		StageName:  st.Stage.StageName,
		MethodPath: pulumi.String("*/*"),
		Settings: &apigateway.MethodSettingsSettingsArgs{
			MetricsEnabled:       pulumi.Bool(true),
			LoggingLevel:         pulumi.String(logging),
			DataTraceEnabled:     pulumi.Bool(false),
			ThrottlingRateLimit:  pulumi.Float64(args.Throttle.RateLimit),
			ThrottlingBurstLimit: pulumi.Int(args.Throttle.BurstLimit),
		},
	}, parent); err != nil {
		return nil, fmt.Errorf("create stage method settings: %w", err)
	}

	keys := pulumi.StringMap{}
	for _, s := range args.Sources {
		if s.Throttle != nil {
			if _, err := apigateway.NewMethodSettings(ctx, name+"-"+s.Name, &apigateway.MethodSettingsArgs{
				RestApi:    args.RestAPI,
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
		if s.UsagePlan == nil {
			continue
		}
		key, err := st.usagePlan(ctx, name, s.Name, s.UsagePlan, args)
		if err != nil {
			return nil, err
		}
		if s.UsagePlan.KeyParameter == "" {
			keys[s.Name] = key.Value
			continue
		}
		// A token source's sender never sees its API key: the edge
		// authorizer reads it from here and hands it to API Gateway.
		if _, err := secureParameter(ctx, name+"-"+s.Name+"-usage-key", args.Tags, s.UsagePlan.KeyParameter, key.Value,
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

// usagePlan creates a source's usage plan, key and their association.
// The plan throttles the source's own route; an API key admits to the stage,
// so it is the source's signature that binds a message to its sender.
func (st *ApiStage) usagePlan(ctx *pulumi.Context, name, source string, plan *UsagePlanSpec, args *ApiStageArgs) (*apigateway.ApiKey, error) {
	parent := pulumi.Parent(st)
	upa := &apigateway.UsagePlanArgs{
		Name:        pulumi.String(plan.Name),
		Description: pulumi.String("API key plan of source " + source),
		ApiStages: apigateway.UsagePlanApiStageArray{apigateway.UsagePlanApiStageArgs{
			ApiId: args.RestAPI,
			Stage: st.Stage.StageName,
			Throttles: apigateway.UsagePlanApiStageThrottleArray{apigateway.UsagePlanApiStageThrottleArgs{
				Path:       pulumi.String("/" + source + "/POST"),
				RateLimit:  pulumi.Float64(plan.RateLimit),
				BurstLimit: pulumi.Int(plan.BurstLimit),
			}},
		}},
		ThrottleSettings: &apigateway.UsagePlanThrottleSettingsArgs{
			RateLimit:  pulumi.Float64(plan.RateLimit),
			BurstLimit: pulumi.Int(plan.BurstLimit),
		},
		Tags: pulumi.ToStringMap(args.Tags),
	}
	if plan.QuotaLimit > 0 {
		upa.QuotaSettings = &apigateway.UsagePlanQuotaSettingsArgs{
			Limit: pulumi.Int(plan.QuotaLimit), Period: pulumi.String(plan.QuotaPeriod),
		}
	}
	up, err := apigateway.NewUsagePlan(ctx, name+"-"+source+"-plan", upa, parent)
	if err != nil {
		return nil, fmt.Errorf("create usage plan for %s: %w", source, err)
	}
	key, err := apigateway.NewApiKey(ctx, name+"-"+source+"-key", &apigateway.ApiKeyArgs{
		Name:        pulumi.String(plan.KeyName),
		Description: pulumi.String("API key of source " + source),
		Enabled:     pulumi.Bool(true),
		Tags:        pulumi.ToStringMap(args.Tags),
	}, parent, pulumi.AdditionalSecretOutputs([]string{"value"}))
	if err != nil {
		return nil, fmt.Errorf("create api key for %s: %w", source, err)
	}
	if _, err := apigateway.NewUsagePlanKey(ctx, name+"-"+source+"-plan-key", &apigateway.UsagePlanKeyArgs{
		KeyId:       key.ID(),
		KeyType:     pulumi.String("API_KEY"),
		UsagePlanId: up.ID(),
	}, parent); err != nil {
		return nil, fmt.Errorf("associate api key for %s: %w", source, err)
	}
	return key, nil
}
