package infra

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hookline/hookline/stackoutputs"
)

// WebhookArgs configures a whole stack.
type WebhookArgs struct {
	Spec StackSpec
	// Code is the handler archive of every source's function, or, when
	// LeanCode is set, of the sources with idempotency.
	Code pulumi.Archive
	// LeanCode, when set, is the handler built without the DynamoDB client
	// (build.Features{}), which the functions of sources without idempotency
	// get instead of Code: they never pay for DynamoDB's package init.
	LeanCode pulumi.Archive
	// AuthorizerCode is the edge authorizer's archive, needed when a
	// source uses token auth (Spec.Authorizer is set).
	AuthorizerCode pulumi.Archive
}

func (a *WebhookArgs) validate() []string {
	var p []string
	for _, s := range a.Spec.Sources {
		if (s.Archive != nil) != (a.Spec.Archive != nil) {
			p = append(p, "source "+s.Name+": a stream into the archive needs the stack's archive, and the archive a stream per source")
		}
	}
	p = append(p, required("Spec.Environment", a.Spec.Environment, "Spec.Region", a.Spec.Region)...)
	if a.Code == nil {
		p = append(p, "Code is required")
	}
	if a.Spec.Authorizer != nil && a.AuthorizerCode == nil {
		p = append(p, "AuthorizerCode is required when a source uses token auth")
	}
	if len(a.Spec.Sources) == 0 {
		p = append(p, "a stack needs at least one source")
	}
	if _, err := IngressTraitsOf(a.Spec.Ingress.Kind); err != nil {
		p = append(p, "Spec.Ingress.Kind: "+err.Error())
	}
	return p
}

// Webhook is one environment's complete data path.
type Webhook struct {
	pulumi.ResourceState

	// Ingress is the API senders post to (a RestAPI or an HttpAPI).
	Ingress    Ingress
	Authorizer *EdgeAuthorizer // nil without token sources
	Sources    []*Source
	Domain     *Domain // nil without a custom domain
	Monitoring *Monitoring
	// SealKey is the stack's seal key and SealAlias its alias (see
	// NewSealKey).
	SealKey   *kms.Key
	SealAlias *kms.Alias
	// Archive is the stack's archive store and ArchiveStreams each
	// source's stream into it, by source name; nil when archiving is off.
	Archive        *ArchiveStore
	ArchiveStreams map[string]*ArchiveStream

	// Endpoint is the base URL senders use: the custom domain when there is
	// one, else the stage's execute-api URL.
	Endpoint pulumi.StringOutput `pulumi:"endpoint"`

	spec StackSpec
}

// NewWebhook creates every component of the stack, in dependency order:
// the ingress's API, the edge authorizer, the archive store, each source's
// archive stream and the source (its route added to the ingress), the
// ingress's stage, the domain and the monitoring.
func NewWebhook(ctx *pulumi.Context, name string, args *WebhookArgs, opts ...pulumi.ResourceOption) (*Webhook, error) {
	if args == nil {
		return nil, fmt.Errorf("webhook %s: args are required", name)
	}
	if err := argsError("webhook", name, args.validate()); err != nil {
		return nil, err
	}
	spec := args.Spec
	w := &Webhook{spec: spec}
	if err := ctx.RegisterComponentResource(TypeWebhook, name, w, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(w)

	var err error
	if w.Ingress, err = NewIngress(ctx, name+"-api", &spec.Ingress, parent); err != nil {
		return nil, err
	}
	authorizers := map[string]pulumi.IDOutput{}
	if spec.Authorizer != nil {
		var edge []EdgeSource
		for _, s := range spec.Sources {
			if s.Edge != nil {
				edge = append(edge, *s.Edge)
			}
		}
		if w.Authorizer, err = NewEdgeAuthorizer(ctx, name+"-authorizer", &EdgeAuthorizerArgs{
			Spec: *spec.Authorizer, Sources: edge, Host: w.Ingress, Code: args.AuthorizerCode, Tags: spec.Tags,
		}, parent); err != nil {
			return nil, err
		}
		authorizers = w.Authorizer.IDs
	}
	if w.SealKey, w.SealAlias, err = NewSealKey(ctx, name+"-seal", spec, parent); err != nil {
		return nil, err
	}
	if spec.Archive != nil {
		if w.Archive, err = NewArchiveStore(ctx, name+"-archive", &ArchiveStoreArgs{Spec: *spec.Archive, Tags: spec.Tags}, parent); err != nil {
			return nil, err
		}
		w.ArchiveStreams = map[string]*ArchiveStream{}
	}
	var watched []pulumi.Resource
	for _, s := range spec.Sources {
		code := args.Code
		if s.Consumer.Table == nil && args.LeanCode != nil {
			code = args.LeanCode
		}
		sa := &SourceArgs{Spec: s, Router: w.Ingress, Code: code, Tags: spec.Tags, SealKey: w.SealAlias}
		if id, ok := authorizers[s.Name]; ok {
			sa.AuthorizerID = id
		}
		if s.Archive != nil && w.Archive != nil {
			stream, err := NewArchiveStream(ctx, name+"-"+s.Name+"-archive", &ArchiveStreamArgs{
				Spec: *s.Archive, BucketArn: w.Archive.BucketArn, KeyArn: w.Archive.KeyArn,
				DependsOn: []pulumi.Resource{w.Archive.Encryption, w.Archive.Policy}, Tags: spec.Tags,
			}, parent)
			if err != nil {
				return nil, fmt.Errorf("archive stream of %s: %w", s.Name, err)
			}
			w.ArchiveStreams[s.Name] = stream
			sa.ArchiveStream = stream.StreamName
		}
		src, err := NewSource(ctx, name+"-"+s.Name, sa, parent)
		if err != nil {
			return nil, err
		}
		w.Sources = append(w.Sources, src)
		watched = append(watched, src)
	}
	stage, err := w.Ingress.Publish(ctx, name+"-stage", parent)
	if err != nil {
		return nil, err
	}
	w.Endpoint = stage.InvokeURL
	if spec.Domain != nil {
		if w.Domain, err = NewDomain(ctx, name+"-domain", &DomainArgs{Spec: *spec.Domain, Mapper: w.Ingress, Tags: spec.Tags}, parent); err != nil {
			return nil, err
		}
		w.Endpoint = w.Domain.URL
	}
	if w.Monitoring, err = NewMonitoring(ctx, name+"-monitoring", &MonitoringArgs{
		Spec: spec.Monitoring, API: w.Ingress.Metrics(), DependsOn: append(watched, stage.Component), Tags: spec.Tags,
	}, parent); err != nil {
		return nil, err
	}
	if err := ctx.RegisterResourceOutputs(w, pulumi.Map{"endpoint": w.Endpoint}); err != nil {
		return nil, err
	}
	return w, nil
}

// Outputs are the stack outputs (stackoutputs.Stack): what senders,
// operators and the portal need, each source's under its own name.
func (w *Webhook) Outputs() pulumi.Map {
	sources := pulumi.Map{}
	for _, s := range w.Sources {
		out := s.Outputs(w.Endpoint)
		if stream, ok := w.ArchiveStreams[s.Name]; ok {
			out[stackoutputs.KeyArchiveStream] = stream.StreamName
		}
		sources[s.Name] = out
	}
	out := pulumi.Map{
		stackoutputs.KeyEnvironment:   pulumi.String(w.spec.Environment),
		stackoutputs.KeyRegion:        pulumi.String(w.spec.Region),
		stackoutputs.KeyIngress:       pulumi.String(w.Ingress.Kind()),
		stackoutputs.KeyEndpoint:      w.Endpoint,
		stackoutputs.KeySealKey:       pulumi.String(w.spec.SealKey.AliasARN),
		stackoutputs.KeySources:       sources,
		stackoutputs.KeyAlarmTopicArn: w.Monitoring.TopicArn,
		stackoutputs.KeyDashboardName: w.Monitoring.DashboardName,
	}
	for k, v := range w.Ingress.Outputs() {
		out[k] = v
	}
	if w.Archive != nil {
		out[stackoutputs.KeyArchiveBucket] = w.Archive.BucketName
		out[stackoutputs.KeyArchiveTable] = w.Archive.TableName
		out[stackoutputs.KeyArchiveWG] = w.Archive.Workgroup
	}
	return out
}

// SealKeyKeySpec and SealKeyUsage make the seal key a KMS HMAC key: its MACs
// bind a re-sent message's original receipt time to the message
// (contract.Seal). AWS KMS does not rotate HMAC keys automatically (only
// symmetric encryption keys), so rotation is left off.
const (
	SealKeyKeySpec = "HMAC_256"
	SealKeyUsage   = "GENERATE_VERIFY_MAC"
)

// NewSealKey creates the stack's seal key and its alias (the name the
// consumers' environment and policy use). The consumers may verify MACs
// with it; redrive, run by operators or the portal, needs kms:GenerateMac on
// it.
func NewSealKey(ctx *pulumi.Context, name string, spec StackSpec, opts ...pulumi.ResourceOption) (*kms.Key, *kms.Alias, error) {
	k, err := kms.NewKey(ctx, name, &kms.KeyArgs{
		Description:           pulumi.String("hookline " + spec.Environment + ": seals the receipt time of re-sent webhooks (redrive); consumers verify"),
		CustomerMasterKeySpec: pulumi.String(SealKeyKeySpec),
		KeyUsage:              pulumi.String(SealKeyUsage),
		DeletionWindowInDays:  pulumi.Int(30),
		Tags:                  pulumi.ToStringMap(spec.Tags),
	}, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("create seal key: %w", err)
	}
	a, err := kms.NewAlias(ctx, name, &kms.AliasArgs{Name: pulumi.String(spec.SealKey.Alias), TargetKeyId: k.KeyId}, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("create seal key alias %s: %w", spec.SealKey.Alias, err)
	}
	return k, a, nil
}
