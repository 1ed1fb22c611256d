package infra

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hookline/hookline/stackoutputs"
)

// SourceArgs configures one source.
type SourceArgs struct {
	Spec SourceSpec
	// Router is the ingress the source's route is added to.
	Router Router
	// Code is the handler archive (bootstrap at its root).
	Code pulumi.Archive
	// AuthorizerID is the edge authorizer guarding the route, when the
	// source's requests pass it (Spec.Auth.ThroughAuthorizer).
	AuthorizerID pulumi.IDInput
	Tags         map[string]string
	// SealKey is the stack's seal key (its alias), created before the
	// consumer that names it.
	SealKey pulumi.Resource
	// ArchiveStream is the name of the source's archive stream (the
	// ArchiveStream beside the Source), nil when the stack archives nothing.
	ArchiveStream pulumi.StringInput
}

func (a *SourceArgs) validate() []string {
	var p []string
	p = append(p, required("Spec.Name", a.Spec.Name, "Spec.SendRoleName", a.Spec.SendRoleName, "Spec.SendPolicyName", a.Spec.SendPolicyName)...)
	if err := a.Spec.Contract.Validate(); err != nil {
		p = append(p, err.Error())
	}
	if a.Router == nil {
		p = append(p, "Router is required")
	}
	if a.Code == nil {
		p = append(p, "Code is required")
	}
	if a.SealKey == nil {
		p = append(p, "SealKey is required")
	}
	if a.Spec.Auth.ThroughAuthorizer && a.AuthorizerID == nil {
		p = append(p, "its route needs the edge authorizer (AuthorizerID)")
	}
	return p
}

// Source is everything one sending system gets: its queues (SourceQueues),
// the role API Gateway sends to them with and its route on the ingress
// (created by the ingress, under this component), and its consumer
// (Consumer). Its archive stream (ArchiveStream) sits beside it, under the
// Webhook: the consumer only names it.
type Source struct {
	pulumi.ResourceState

	// Name is the source's name, the key of its outputs; Auth its auth kind.
	Name string
	Auth string

	Queues   *SourceQueues
	Consumer *Consumer
	SendRole *iam.Role

	QueueURL     pulumi.StringOutput `pulumi:"queueUrl"`
	QueueArn     pulumi.StringOutput `pulumi:"queueArn"`
	DLQURL       pulumi.StringOutput `pulumi:"dlqUrl"`
	DLQArn       pulumi.StringOutput `pulumi:"dlqArn"`
	FunctionName pulumi.StringOutput `pulumi:"functionName"`
	FunctionArn  pulumi.StringOutput `pulumi:"functionArn"`
}

// NewSource creates a source's components and route. The queues and the
// consumer were the Source's own children before they had components of
// their own: they carry aliases to the Source, so deployed stacks keep them.
func NewSource(ctx *pulumi.Context, name string, args *SourceArgs, opts ...pulumi.ResourceOption) (*Source, error) {
	if args == nil {
		return nil, fmt.Errorf("source %s: args are required", name)
	}
	if err := argsError("source", name, args.validate()); err != nil {
		return nil, err
	}
	spec := args.Spec
	src := &Source{Name: spec.Name, Auth: spec.Auth.Type}
	if err := ctx.RegisterComponentResource(TypeSource, name, src, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(src)

	var err error
	if src.Queues, err = NewSourceQueues(ctx, name, &SourceQueuesArgs{Spec: spec.Queues, Tags: args.Tags, MovedFrom: src}, parent); err != nil {
		return nil, fmt.Errorf("queues of %s: %w", spec.Name, err)
	}
	policy, err := src.sendRole(ctx, name, spec, args.Tags)
	if err != nil {
		return nil, err
	}
	if err := args.Router.AddRoute(ctx, name, &RouteArgs{
		Source: spec, QueueURL: src.Queues.QueueURL, SendRoleArn: src.SendRole.Arn, SendPolicy: policy, AuthorizerID: args.AuthorizerID,
	}, parent); err != nil {
		return nil, fmt.Errorf("route of %s: %w", spec.Name, err)
	}
	if src.Consumer, err = NewConsumer(ctx, name, &ConsumerArgs{
		Spec: spec.Consumer, QueueArn: src.Queues.QueueArn, QueueURL: src.Queues.QueueURL, DLQURL: src.Queues.DLQURL, SealKey: args.SealKey,
		ArchiveStream: args.ArchiveStream, Code: args.Code, Tags: args.Tags, MovedFrom: src,
	}, parent); err != nil {
		return nil, fmt.Errorf("consumer of %s: %w", spec.Name, err)
	}

	src.QueueURL, src.QueueArn = src.Queues.QueueURL, src.Queues.QueueArn
	src.DLQURL, src.DLQArn = src.Queues.DLQURL, src.Queues.DLQArn
	src.FunctionName, src.FunctionArn = src.Consumer.FunctionName, src.Consumer.FunctionArn
	if err := ctx.RegisterResourceOutputs(src, pulumi.Map{
		"queueUrl": src.QueueURL, "queueArn": src.QueueArn,
		"dlqUrl": src.DLQURL, "dlqArn": src.DLQArn,
		"functionName": src.FunctionName, "functionArn": src.FunctionArn,
	}); err != nil {
		return nil, err
	}
	return src, nil
}

// sendRole is the role API Gateway assumes to send to the source's queue,
// sqs:SendMessage on that queue only (either ingress); it returns the
// role's policy, which the route's integration must follow.
func (src *Source) sendRole(ctx *pulumi.Context, name string, spec SourceSpec, tags map[string]string) (*iam.RolePolicy, error) {
	parent := pulumi.Parent(src)
	var err error
	src.SendRole, err = iam.NewRole(ctx, name+"-apigw", &iam.RoleArgs{
		Name:             pulumi.String(spec.SendRoleName),
		AssumeRolePolicy: pulumi.String(AssumeRolePolicy("apigateway.amazonaws.com")),
		Tags:             pulumi.ToStringMap(tags),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create api gateway role for %s: %w", spec.Name, err)
	}
	policy, err := iam.NewRolePolicy(ctx, name+"-apigw-send", &iam.RolePolicyArgs{
		Role: src.SendRole.ID(),
		Name: pulumi.String(spec.SendPolicyName),
		// Written from known parts, so the pack judges it at preview.
		Policy: pulumi.String(SendOnlyPolicy(spec.Queues.QueueARN)),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create send policy for %s: %w", spec.Name, err)
	}
	return policy, nil
}

// Outputs are the source's stack outputs (stackoutputs.Source): where its
// sender posts (endpoint/<name>), its queues, its function and auth kind.
func (src *Source) Outputs(endpoint pulumi.StringOutput) pulumi.Map {
	return pulumi.Map{
		stackoutputs.KeyURL:          pulumi.Sprintf("%s/%s", endpoint, src.Name),
		stackoutputs.KeyQueueURL:     src.QueueURL,
		stackoutputs.KeyQueueArn:     src.QueueArn,
		stackoutputs.KeyDLQURL:       src.DLQURL,
		stackoutputs.KeyDLQArn:       src.DLQArn,
		stackoutputs.KeyFunctionName: src.FunctionName,
		stackoutputs.KeyAuth:         pulumi.String(src.Auth),
	}
}
