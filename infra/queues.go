package infra

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sqs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/stackconfig"
)

// SourceQueuesArgs configures a source's queues.
type SourceQueuesArgs struct {
	Spec QueueSpec
	Tags map[string]string
	// MovedFrom is the component these resources were children of before
	// SourceQueues existed (the Source): each carries an alias with it as
	// parent, so a deployed stack keeps its queues and their messages.
	MovedFrom pulumi.Resource
}

func (a *SourceQueuesArgs) validate() []string {
	var p []string
	s := a.Spec
	p = append(p, required("QueueName", s.QueueName, "DLQName", s.DLQName, "QueueARN", s.QueueARN, "DLQARN", s.DLQARN)...)
	if s.VisibilityTimeoutSeconds <= 0 || s.RetentionSeconds <= 0 || s.MaxReceiveCount <= 0 {
		p = append(p, fmt.Sprintf("the visibility timeout (%d s), retention (%d s) and maxReceiveCount (%d) must be positive",
			s.VisibilityTimeoutSeconds, s.RetentionSeconds, s.MaxReceiveCount))
	}
	if s.RetentionSeconds > stackconfig.DLQRetentionSeconds {
		p = append(p, fmt.Sprintf("the queue keeps messages %d s, longer than its DLQ (%d s)", s.RetentionSeconds, stackconfig.DLQRetentionSeconds))
	}
	return p
}

// SourceQueues is a source's FIFO queue, its FIFO dead-letter queue, the
// DLQ's redrive allow policy and a TLS-only policy on each.
type SourceQueues struct {
	pulumi.ResourceState

	Queue *sqs.Queue
	DLQ   *sqs.Queue

	QueueURL pulumi.StringOutput `pulumi:"queueUrl"`
	QueueArn pulumi.StringOutput `pulumi:"queueArn"`
	DLQURL   pulumi.StringOutput `pulumi:"dlqUrl"`
	DLQArn   pulumi.StringOutput `pulumi:"dlqArn"`
}

// NewSourceQueues creates the FIFO DLQ, the FIFO source queue that
// redrives to it, the DLQ's allow policy and TLS-only policies on both.
// The Source names it as itself, so its children keep the names they had
// as the Source's (name+"-queue", name+"-dlq", ...).
func NewSourceQueues(ctx *pulumi.Context, name string, args *SourceQueuesArgs, opts ...pulumi.ResourceOption) (*SourceQueues, error) {
	if args == nil {
		return nil, fmt.Errorf("source queues %s: args are required", name)
	}
	if err := argsError("source queues", name, args.validate()); err != nil {
		return nil, err
	}
	s, tags := args.Spec, pulumi.ToStringMap(args.Tags)
	q := &SourceQueues{}
	if err := ctx.RegisterComponentResource(TypeSourceQueues, name, q, opts...); err != nil {
		return nil, err
	}
	parent, moved := pulumi.Parent(q), movedFrom(args.MovedFrom)

	var err error
	q.DLQ, err = sqs.NewQueue(ctx, name+"-dlq", &sqs.QueueArgs{
		Name:                      pulumi.String(s.DLQName),
		FifoQueue:                 pulumi.Bool(true),
		ContentBasedDeduplication: pulumi.Bool(true),
		MessageRetentionSeconds:   pulumi.Int(stackconfig.DLQRetentionSeconds),
		MaxMessageSize:            pulumi.Int(contract.MaxMessageBytes),
		SqsManagedSseEnabled:      pulumi.Bool(true),
		Tags:                      tags,
	}, parent, moved)
	if err != nil {
		return nil, fmt.Errorf("create dlq %s: %w", s.DLQName, err)
	}

	qa := &sqs.QueueArgs{
		Name:                      pulumi.String(s.QueueName),
		FifoQueue:                 pulumi.Bool(true),
		ContentBasedDeduplication: pulumi.Bool(true),
		VisibilityTimeoutSeconds:  pulumi.Int(s.VisibilityTimeoutSeconds),
		MessageRetentionSeconds:   pulumi.Int(s.RetentionSeconds),
		// Set, not left to the provider's default: the ingest contract's
		// limit (the README, the 413 response) is this one constant.
		MaxMessageSize:       pulumi.Int(contract.MaxMessageBytes),
		SqsManagedSseEnabled: pulumi.Bool(true),
		// Written from known parts, not from the DLQ's arn output, so the
		// policy pack judges it on the first preview too; the DependsOn below
		// keeps the DLQ created first, as SQS requires.
		RedrivePolicy: pulumi.String(RedrivePolicy(s.DLQARN, s.MaxReceiveCount)),
		Tags:          tags,
	}
	if s.HighThroughput {
		// Throughput then scales with the number of active message groups.
		qa.DeduplicationScope = pulumi.String("messageGroup")
		qa.FifoThroughputLimit = pulumi.String("perMessageGroupId")
	}
	q.Queue, err = sqs.NewQueue(ctx, name+"-queue", qa, parent, moved, pulumi.DependsOn([]pulumi.Resource{q.DLQ}))
	if err != nil {
		return nil, fmt.Errorf("create queue %s: %w", s.QueueName, err)
	}

	if _, err := sqs.NewRedriveAllowPolicy(ctx, name+"-dlq-allow", &sqs.RedriveAllowPolicyArgs{
		QueueUrl:           q.DLQ.Url,
		RedriveAllowPolicy: q.Queue.Arn.ApplyT(RedriveAllowPolicy).(pulumi.StringOutput),
	}, parent, moved); err != nil {
		return nil, fmt.Errorf("create redrive allow policy of %s: %w", s.DLQName, err)
	}
	// The policy documents name their queue by an ARN written from known
	// parts, so the policy pack reads them on the first preview too.
	for _, p := range []struct {
		suffix, arn string
		queue       *sqs.Queue
	}{{"-queue-tls", s.QueueARN, q.Queue}, {"-dlq-tls", s.DLQARN, q.DLQ}} {
		if _, err := sqs.NewQueuePolicy(ctx, name+p.suffix, &sqs.QueuePolicyArgs{
			QueueUrl: p.queue.Url,
			Policy:   pulumi.String(TLSOnlyQueuePolicy(p.arn)),
		}, parent, moved); err != nil {
			return nil, fmt.Errorf("create tls-only policy of %s: %w", p.arn, err)
		}
	}

	q.QueueURL, q.QueueArn = q.Queue.Url, q.Queue.Arn
	q.DLQURL, q.DLQArn = q.DLQ.Url, q.DLQ.Arn
	if err := ctx.RegisterResourceOutputs(q, pulumi.Map{
		"queueUrl": q.QueueURL, "queueArn": q.QueueArn, "dlqUrl": q.DLQURL, "dlqArn": q.DLQArn,
	}); err != nil {
		return nil, err
	}
	return q, nil
}
