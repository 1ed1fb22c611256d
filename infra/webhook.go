package infra

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hookline/hookline/stackconfig"
)

// WebhookArgs configures a whole stack.
type WebhookArgs struct {
	Config *stackconfig.Config
	// Code is the handler archive shared by every source's function.
	Code pulumi.Archive
	// AuthorizerCode is the edge authorizer's archive, needed when a
	// source uses token auth (Config.EdgeAuthorizer).
	AuthorizerCode pulumi.Archive
}

// Webhook is one environment's complete data path.
type Webhook struct {
	pulumi.ResourceState

	// API and Stage are the REST ingress; HTTP and HTTPStage the HTTP API
	// (ingress http). The other pair is nil.
	API        *RestAPI
	HTTP       *HttpAPI
	Authorizer *EdgeAuthorizer // nil without token sources
	Sources    []*Source
	Stage      *ApiStage
	HTTPStage  *HttpStage
	Domain     *Domain // nil without a custom domain
	Monitoring *Monitoring

	// Endpoint is the base URL senders use: the custom domain when there is
	// one, else the stage's execute-api URL.
	Endpoint pulumi.StringOutput `pulumi:"endpoint"`
}

// NewWebhook creates every component of the stack, in dependency order.
func NewWebhook(ctx *pulumi.Context, name string, args *WebhookArgs, opts ...pulumi.ResourceOption) (*Webhook, error) {
	if args == nil || args.Config == nil || args.Code == nil {
		return nil, fmt.Errorf("webhook %s: Config and Code are required", name)
	}
	c := args.Config
	w := &Webhook{}
	if err := ctx.RegisterComponentResource(TypeWebhook, name, w, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(w)

	caller, err := lookupCaller(ctx, pulumi.Parent(w))
	if err != nil {
		return nil, err
	}
	if c.HTTP() {
		w.HTTP, err = NewHttpAPI(ctx, name+"-api", &HttpAPIArgs{Config: c}, parent)
	} else {
		w.API, err = NewRestAPI(ctx, name+"-api", &RestAPIArgs{Config: c}, parent)
	}
	if err != nil {
		return nil, err
	}
	authorizers := map[string]pulumi.IDOutput{}
	if c.EdgeAuthorizer() {
		if args.AuthorizerCode == nil {
			return nil, fmt.Errorf("webhook %s: AuthorizerCode is required when a source uses token auth", name)
		}
		if w.Authorizer, err = NewEdgeAuthorizer(ctx, name+"-authorizer", &EdgeAuthorizerArgs{
			Config: c, API: w.API, HTTP: w.HTTP, Code: args.AuthorizerCode, Caller: caller,
		}, parent); err != nil {
			return nil, err
		}
		authorizers = w.Authorizer.IDs
	}
	var watched []pulumi.Resource
	for _, s := range c.Sources {
		sa := &SourceArgs{Config: c, Source: s, API: w.API, HTTP: w.HTTP, Code: args.Code, Caller: caller}
		if id, ok := authorizers[s.Name]; ok {
			sa.AuthorizerID = id
		}
		src, err := NewSource(ctx, name+"-"+s.Name, sa, parent)
		if err != nil {
			return nil, err
		}
		w.Sources = append(w.Sources, src)
		watched = append(watched, src)
	}
	var stage pulumi.Resource
	if c.HTTP() {
		if w.HTTPStage, err = NewHttpStage(ctx, name+"-stage", &HttpStageArgs{Config: c, API: w.HTTP, Sources: w.Sources}, parent); err != nil {
			return nil, err
		}
		w.Endpoint, stage = w.HTTPStage.InvokeURL, w.HTTPStage
	} else {
		if w.Stage, err = NewApiStage(ctx, name+"-stage", &ApiStageArgs{Config: c, API: w.API, Sources: w.Sources}, parent); err != nil {
			return nil, err
		}
		w.Endpoint, stage = w.Stage.InvokeURL, w.Stage
	}
	if c.Domain != nil {
		if w.Domain, err = NewDomain(ctx, name+"-domain", &DomainArgs{
			Config: c, API: w.API, Stage: w.Stage, HTTP: w.HTTP, HTTPStage: w.HTTPStage,
		}, parent); err != nil {
			return nil, err
		}
		w.Endpoint = w.Domain.URL
	}
	ma := &MonitoringArgs{Config: c, DependsOn: append(watched, stage)}
	if w.HTTP != nil {
		ma.APIID = w.HTTP.ID.ToStringOutput()
	}
	if w.Monitoring, err = NewMonitoring(ctx, name+"-monitoring", ma, parent); err != nil {
		return nil, err
	}
	if err := ctx.RegisterResourceOutputs(w, pulumi.Map{"endpoint": w.Endpoint}); err != nil {
		return nil, err
	}
	return w, nil
}

// Outputs are the stack outputs: what senders, operators and the portal need.
func (w *Webhook) Outputs(c *stackconfig.Config) pulumi.Map {
	sources := pulumi.Map{}
	for i, s := range w.Sources {
		name := c.Sources[i].Name
		sources[name] = pulumi.Map{
			"url":          pulumi.Sprintf("%s/%s", w.Endpoint, name),
			"queueUrl":     s.QueueURL,
			"queueArn":     s.QueueArn,
			"dlqUrl":       s.DLQURL,
			"dlqArn":       s.DLQArn,
			"functionName": s.FunctionName,
			"auth":         pulumi.String(c.Sources[i].Auth.Type),
		}
	}
	out := pulumi.Map{
		"environment":   pulumi.String(c.Environment),
		"region":        pulumi.String(c.Region),
		"ingress":       pulumi.String(c.Ingress),
		"endpoint":      w.Endpoint,
		"sources":       sources,
		"alarmTopicArn": w.Monitoring.TopicArn,
		"dashboardName": w.Monitoring.DashboardName,
	}
	if c.HTTP() {
		out["apiId"] = w.HTTP.ID
		out["invokeUrl"] = w.HTTPStage.InvokeURL
		out["stage"] = w.HTTPStage.StageName
		return out
	}
	out["apiId"] = w.API.ID
	out["restApiId"] = w.API.ID
	out["invokeUrl"] = w.Stage.InvokeURL
	out["stage"] = w.Stage.StageName
	out["apiKeys"] = w.Stage.APIKeys
	return out
}
