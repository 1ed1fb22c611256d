package portal

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/hookline/hookline/ops/redrive"
	"github.com/hookline/hookline/portal/jobs"
)

// SQSAPI is what the portal asks of SQS: redrive's calls and the queue's
// counts.
type SQSAPI interface {
	redrive.API
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// DefaultSQS is an SQS client of region with the portal's own AWS
// credentials (the default chain).
func DefaultSQS(ctx context.Context, region string) (SQSAPI, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region))
	if err != nil {
		return nil, err
	}
	return sqs.NewFromConfig(cfg), nil
}

// DLQView is a source's dead-letter queue: its depth and its oldest messages,
// never their bodies.
type DLQView struct {
	Source   string       `json:"source"`
	Depth    int          `json:"depth"`
	InFlight int          `json:"inFlight"`
	Oldest   []DLQMessage `json:"oldest"`
}

// DLQMessage is one dead-lettered message, without its body.
type DLQMessage struct {
	MessageID    string `json:"messageId"`
	Group        string `json:"group"`
	EventID      string `json:"eventId,omitempty"`
	Reason       string `json:"reason,omitempty"`
	AgeSeconds   int64  `json:"ageSeconds"`
	ReceiveCount int    `json:"receiveCount"`
}

// maxListed is how many of the oldest messages the DLQ view lists.
const maxListed = 10

// dlq is a source's DLQ: depth, in-flight count and the oldest messages
// (group, event id, age, receive count, failure reason). Listing looks at
// no more messages than it shows and hides none (redrive's dry run receives
// with VisibilityTimeout 0), so a redrive started right after moves them
// all; each look still raises the shown messages' receive count, as every
// SQS receive does.
func (s *Server) dlq(ctx context.Context, team, stack, source string) (DLQView, error) {
	src, err := s.jobs.Source(ctx, team, stack, source)
	if err != nil {
		return DLQView{}, err
	}
	api, err := s.opts.SQS(ctx, src.Region)
	if err != nil {
		return DLQView{}, fmt.Errorf("an SQS client of %s: %w", src.Region, err)
	}
	return viewDLQ(ctx, api, src.Queues, source)
}

// viewDLQ reads a DLQ's counts and lists its oldest messages.
func viewDLQ(ctx context.Context, api SQSAPI, q redrive.Queues, source string) (DLQView, error) {
	attrs, err := api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(q.DLQURL),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		return DLQView{}, &jobs.UpstreamError{What: "read the DLQ", Err: err}
	}
	v := DLQView{Source: source, Oldest: []DLQMessage{}}
	v.Depth, _ = strconv.Atoi(attrs.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)])
	v.InFlight, _ = strconv.Atoi(attrs.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)])
	if v.Depth > 0 {
		res, err := redrive.Run(ctx, api, q, redrive.Options{DryRun: true, Max: maxListed, Wait: time.Millisecond})
		if err != nil {
			return DLQView{}, &jobs.UpstreamError{What: "list the DLQ", Err: err}
		}
		for _, e := range res.Listed {
			v.Oldest = append(v.Oldest, DLQMessage{MessageID: e.MessageID, Group: e.Group, EventID: e.EventID, Reason: e.Reason,
				AgeSeconds: int64(e.Age / time.Second), ReceiveCount: e.ReceiveCount})
		}
	}
	return v, nil
}

// queueDepth counts the messages a queue holds: visible and in flight.
func queueDepth(ctx context.Context, api SQSAPI, url string) (int, error) {
	attrs, err := api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, k := range []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible} {
		v, err := strconv.Atoi(attrs.Attributes[string(k)])
		if err != nil {
			return 0, fmt.Errorf("%s of %s: %q", k, url, attrs.Attributes[string(k)])
		}
		n += v
	}
	return n, nil
}
