package infra

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/stackconfig"
)

// IngressTraits are what the program must know of an ingress before it
// builds one (CheckAccessLogs, the edge authorizer's routes).
type IngressTraits interface {
	// Kind is the ingress's name in the config and the stack outputs:
	// contract.IngressREST or contract.IngressHTTP.
	Kind() string
	// AccessLogsNeedAccountRole reports whether the stage's access logs
	// need the region's API Gateway CloudWatch role (account settings).
	AccessLogsNeedAccountRole() bool
	// UsageKeys reports whether the ingress has usage plans, so a token
	// source's requests carry an API key the edge authorizer hands to API
	// Gateway (read from the source's UsageKeyParameter).
	UsageKeys() bool
}

// Router adds a source's route to an ingress.
type Router interface {
	// AddRoute adds POST /<source>, sending each request to the source's
	// queue, named from name and created with opts (the Source component
	// is their parent). Publish takes every route added before it.
	AddRoute(ctx *pulumi.Context, name string, r *RouteArgs, opts ...pulumi.ResourceOption) error
}

// AuthorizerHost attaches the edge authorizer's function to an ingress.
type AuthorizerHost interface {
	IngressTraits
	// AuthorizerSourceArn is the ARN API Gateway invokes the authorizers'
	// function under (<execution arn>/authorizers/*), which the function's
	// invoke permission is scoped to.
	AuthorizerSourceArn() pulumi.StringOutput
	// AddEdgeAuthorizers creates the API's authorizers of the sources
	// that pass the edge authorizer (function: its invoke ARN), named
	// from name and created with opts; it returns each source's
	// authorizer id.
	AddEdgeAuthorizers(ctx *pulumi.Context, name string, function pulumi.StringInput, sources []EdgeSource, opts ...pulumi.ResourceOption) (map[string]pulumi.IDOutput, error)
}

// DomainMapper serves a published ingress under a custom domain.
type DomainMapper interface {
	// MapDomain creates the API Gateway domain name (regional, TLS 1.2,
	// the certificate given) and maps it to the stage, named from name and
	// created with opts; it returns the alias target and its hosted zone.
	MapDomain(ctx *pulumi.Context, name string, d *DomainMapping, opts ...pulumi.ResourceOption) (target, zone pulumi.StringOutput, err error)
}

// Ingress is the API Gateway flavour a stack's senders post to, behind one
// seam: its API (NewIngress), each source's route (AddRoute), the edge
// authorizer's authorizers, the stage and deployment once every route
// exists (Publish), a custom domain (MapDomain), the metrics its alarms
// watch and the outputs it adds. RestAPI and HttpAPI implement it; nothing
// else in the package tells REST from HTTP.
type Ingress interface {
	Router
	AuthorizerHost
	DomainMapper
	// Publish creates the deployment and the stage serving every route
	// added so far, named from name and created with opts.
	Publish(ctx *pulumi.Context, name string, opts ...pulumi.ResourceOption) (*PublishedStage, error)
	// Metrics are the API metrics the alarms and dashboard watch.
	Metrics() APIMetrics
	// Outputs are the ingress's stack outputs (after Publish), named by
	// stackoutputs' keys.
	Outputs() pulumi.Map
}

// IngressArgs configure a stack's API, whichever its kind.
type IngressArgs struct {
	// Kind picks the ingress: contract.IngressREST or contract.IngressHTTP.
	Kind string
	// Name is the API's name (also a REST API's metrics dimension).
	Name        string
	Description string
	// DeploymentDescription describes each deployment of the stage.
	DeploymentDescription string
	// Region is where the API and the queues it sends to are.
	Region string
	// DisableExecuteAPIEndpoint: with a custom domain, the domain is the
	// only way in, so its TLS policy holds for every request.
	DisableExecuteAPIEndpoint bool
	// EdgeAuthorizer: some sources pass the edge authorizer (where the
	// ingress has API keys, it then reads them from the authorizer).
	EdgeAuthorizer bool
	// AccessLog is the stage's access log group, nil for no access logs.
	AccessLog *LogGroupSpec
	// Tracing turns on a REST stage's X-Ray tracing (hookline:tracing);
	// an HTTP API has none.
	Tracing bool
	// CloudWatchRoleName, when set, is the role of the region's API
	// Gateway account settings, which the stack then manages (REST only).
	CloudWatchRoleName string
	// Throttle is the stage's default rate and burst.
	Throttle stackconfig.Throttle
	Tags     map[string]string
}

// validate reports every problem of args shared by both ingresses.
func (a *IngressArgs) validate() []string {
	var p []string
	if a.Name == "" {
		p = append(p, "Name is required")
	}
	if a.Region == "" {
		p = append(p, "Region is required")
	}
	if a.Throttle.RateLimit <= 0 || a.Throttle.BurstLimit <= 0 {
		p = append(p, fmt.Sprintf("Throttle %+v must be positive", a.Throttle))
	}
	if a.AccessLog != nil && a.AccessLog.Name == "" {
		p = append(p, "AccessLog needs a Name")
	}
	return p
}

// RouteArgs are what an ingress needs to add a source's route.
type RouteArgs struct {
	Source SourceSpec
	// QueueURL is the source's queue, where requests are sent.
	QueueURL pulumi.StringOutput
	// SendRoleArn is the role API Gateway assumes to send to the queue;
	// the integration follows SendPolicy, which lets it.
	SendRoleArn pulumi.StringInput
	SendPolicy  pulumi.Resource
	// AuthorizerID is the edge authorizer guarding the route, when the
	// source's requests pass it (Source.Auth.ThroughAuthorizer).
	AuthorizerID pulumi.IDInput
}

// validateRoute reports every problem of a route's args on either ingress.
func validateRoute(r *RouteArgs, needsAuthorizer, published bool) []string {
	if r == nil {
		return []string{"route args are required"}
	}
	var p []string
	if r.Source.Name == "" {
		p = append(p, "Source.Name is required")
	}
	if r.Source.Queues.QueueName == "" {
		p = append(p, "Source.Queues.QueueName is required")
	}
	if r.SendRoleArn == nil {
		p = append(p, "SendRoleArn is required")
	}
	if needsAuthorizer && r.AuthorizerID == nil {
		p = append(p, "its route needs the edge authorizer (AuthorizerID)")
	}
	if published {
		p = append(p, "the stage is already published: add every route before Publish")
	}
	return p
}

// PublishedStage is an ingress's stage, once published.
type PublishedStage struct {
	// Component is the stage's component (ApiStage or HttpStage).
	Component pulumi.Resource
	// InvokeURL is the stage's execute-api URL.
	InvokeURL pulumi.StringOutput
}

// errNotPublished is what an ingress says when asked for what needs its
// stage before Publish.
var errNotPublished = errors.New("the stage is not published yet (Publish)")

// DomainMapping is the custom domain an ingress is served under.
type DomainMapping struct {
	Name string
	// CertificateArn is the domain's validated ACM certificate.
	CertificateArn pulumi.StringOutput
	Tags           map[string]string
}

// APIMetricNames are an ingress's metrics in AWS/ApiGateway, as AWS
// documents them: a REST API's 4XXError and 5XXError keyed by ApiName, an
// HTTP API's 4xx and 5xx keyed by ApiId.
type APIMetricNames struct {
	Metric4xx string
	Metric5xx string
	// Dimension is the dimension keying the API (with Stage).
	Dimension string
}

// APIMetrics are an ingress's metric names and the value of its dimension.
type APIMetrics struct {
	APIMetricNames
	Value pulumi.StringOutput
}

// ingressKinds is the one place that tells REST from HTTP: each kind's
// traits and the constructor of its API.
var ingressKinds = map[string]struct {
	traits IngressTraits
	build  func(ctx *pulumi.Context, name string, args *IngressArgs, opts ...pulumi.ResourceOption) (Ingress, error)
}{
	contract.IngressREST: {restTraits{}, func(ctx *pulumi.Context, name string, args *IngressArgs, opts ...pulumi.ResourceOption) (Ingress, error) {
		return NewRestAPI(ctx, name, args, opts...)
	}},
	contract.IngressHTTP: {httpTraits{}, func(ctx *pulumi.Context, name string, args *IngressArgs, opts ...pulumi.ResourceOption) (Ingress, error) {
		return NewHttpAPI(ctx, name, args, opts...)
	}},
}

func unknownIngress(kind string) error {
	var kinds []string
	for k := range ingressKinds {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	return fmt.Errorf("%q is not an ingress (want %s)", kind, strings.Join(kinds, " or "))
}

// IngressTraitsOf returns the traits of the ingress kind (hookline:ingress).
func IngressTraitsOf(kind string) (IngressTraits, error) {
	k, ok := ingressKinds[kind]
	if !ok {
		return nil, unknownIngress(kind)
	}
	return k.traits, nil
}

// NewIngress creates the API of the ingress args.Kind names.
func NewIngress(ctx *pulumi.Context, name string, args *IngressArgs, opts ...pulumi.ResourceOption) (Ingress, error) {
	if args == nil {
		return nil, fmt.Errorf("ingress %s: args are required", name)
	}
	k, ok := ingressKinds[args.Kind]
	if !ok {
		return nil, fmt.Errorf("ingress %s: %w", name, unknownIngress(args.Kind))
	}
	return k.build(ctx, name, args, opts...)
}
