package portal

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/engine"
	"github.com/hookline/hookline/ops/redrive"
	"github.com/hookline/hookline/stackconfig"
	"github.com/hookline/hookline/stackoutputs"
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

// sourceQueues reads a deployed source's queues from the stack's outputs,
// and the stack's region.
func (s *Server) sourceQueues(ctx context.Context, stack, source string) (redrive.Queues, string, error) {
	st, err := engine.Open(ctx, s.engineOptions(stack, nil))
	if err != nil {
		return redrive.Queues{}, "", err
	}
	cfg, _, err := st.Config(ctx)
	if err != nil {
		return redrive.Queues{}, "", err
	}
	raw, err := st.Outputs(ctx)
	if err != nil {
		return redrive.Queues{}, "", err
	}
	outs, err := readOutputs(raw)
	if err != nil {
		return redrive.Queues{}, "", fmt.Errorf("read the outputs of %s: %w", stack, err)
	}
	var o stackoutputs.Source
	if outs != nil {
		o = outs.Sources[source]
	}
	q := redrive.Queues{QueueURL: o.QueueURL, QueueArn: o.QueueArn, DLQURL: o.DLQURL, DLQArn: o.DLQArn}
	if q.QueueURL == "" || q.DLQURL == "" || q.QueueArn == "" || q.DLQArn == "" {
		return q, "", &notDeployedError{stack, source}
	}
	return q, cfg[stackconfig.RegionKey], nil
}

// notDeployedError is a source without outputs: not applied yet.
type notDeployedError struct{ stack, source string }

func (e *notDeployedError) Error() string {
	return fmt.Sprintf("stack %s has no deployed source %s (apply it first)", e.stack, e.source)
}

// sourcePath reads {team}/{env}/{source} and the source's queues and SQS
// client; it has answered when ok is false.
func (s *Server) sourcePath(w http.ResponseWriter, r *http.Request, id Identity) (team, stack, source string, q redrive.Queues, api SQSAPI, ok bool) {
	team, env, ok := pathStack(w, r, id)
	if !ok {
		return
	}
	ok = false
	source = r.PathValue("source")
	if !contract.ValidSourceName(source) {
		writeError(w, http.StatusBadRequest, "source", fmt.Sprintf("%q is not a source name", source))
		return
	}
	stack = StackName(team, env)
	if !s.owned(w, r.Context(), team, stack) {
		return
	}
	q, region, err := s.sourceQueues(r.Context(), stack, source)
	var notDeployed *notDeployedError
	if errors.As(err, &notDeployed) {
		writeError(w, http.StatusNotFound, "source", err.Error())
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, "", err.Error())
		return
	}
	if api, err = s.opts.SQS(r.Context(), region); err != nil {
		writeError(w, http.StatusInternalServerError, "", err.Error())
		return
	}
	return team, stack, source, q, api, true
}

// showDLQ lists a source's DLQ: depth, in-flight count and the oldest
// messages (group, event id, age, receive count, failure reason). Listing
// receives them for a moment and makes them visible again at once.
func (s *Server) showDLQ(w http.ResponseWriter, r *http.Request, id Identity) {
	_, _, source, q, api, ok := s.sourcePath(w, r, id)
	if !ok {
		return
	}
	attrs, err := api.GetQueueAttributes(r.Context(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(q.DLQURL),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		writeError(w, http.StatusBadGateway, "", "read the DLQ: "+err.Error())
		return
	}
	v := DLQView{Source: source, Oldest: []DLQMessage{}}
	v.Depth, _ = strconv.Atoi(attrs.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)])
	v.InFlight, _ = strconv.Atoi(attrs.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)])
	if v.Depth > 0 {
		res, err := redrive.Run(r.Context(), api, q, redrive.Options{DryRun: true, Max: maxListed, Wait: time.Millisecond})
		if err != nil {
			writeError(w, http.StatusBadGateway, "", "list the DLQ: "+err.Error())
			return
		}
		for _, e := range res.Listed {
			v.Oldest = append(v.Oldest, DLQMessage{MessageID: e.MessageID, Group: e.Group, EventID: e.EventID, Reason: e.Reason,
				AgeSeconds: int64(e.Age / time.Second), ReceiveCount: e.ReceiveCount})
		}
	}
	writeJSON(w, http.StatusOK, v)
}

// startRedrive runs ops/redrive on a source as a job with live progress:
// the whole DLQ (SQS's move task), or the listed groups in order. One
// redrive per source at a time (409 for a second).
func (s *Server) startRedrive(w http.ResponseWriter, r *http.Request, id Identity) {
	var body struct {
		Groups []string `json:"groups"`
	}
	if r.ContentLength != 0 {
		if err := decodeStrict(r, &body); err != nil {
			writeError(w, http.StatusBadRequest, "body", "want {groups: [...]} or nothing (the whole DLQ)")
			return
		}
	}
	for i, g := range body.Groups {
		if !contract.ValidID(g) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("groups[%d]", i), "not a message group id")
			return
		}
	}
	team, stack, source, q, api, ok := s.sourcePath(w, r, id)
	if !ok || !s.admit(w, team) {
		return
	}
	j, ok := s.startLocked(w, team, stack, "redrive", stack+"/redrive/"+source, "a redrive of source "+source)
	if !ok {
		return
	}
	writeJSON(w, http.StatusAccepted, j.snapshot(id.Team == team))
	go func() {
		ctx := context.Background()
		moved := 0
		o := redrive.Options{Progress: func(line string) { j.logf("%s", line) }, Wait: time.Second,
			Moved: func(n, toMove int) {
				j.update(func(t *tracker) {
					if toMove > 0 {
						toMove += moved
					}
					t.redrive(moved+n, toMove)
				})
			}}
		groups := body.Groups
		if len(groups) == 0 {
			groups = []string{""} // the whole DLQ
		}
		var err error
		for _, g := range groups {
			o.Group = g
			if g != "" {
				j.logf("redrive group %s of %s", g, source)
			} else {
				j.logf("redrive the whole DLQ of %s", source)
			}
			var res *redrive.Result
			res, err = redrive.Run(ctx, api, q, o)
			if res != nil {
				moved += res.Moved
				for _, f := range res.Failed {
					j.logf("failed: %s", f)
				}
				for _, warn := range res.Warning {
					j.logf("warning: %s", warn)
				}
			}
			if err != nil {
				break
			}
		}
		j.logf("moved %d message(s)", moved)
		s.done(j, err)
	}()
}
