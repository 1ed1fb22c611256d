// Package pause stops and restarts a source's processing without losing or
// reordering anything: it disables (or enables) the Lambda event source
// mapping between the source's queue and its consumer. While it is
// disabled Lambda stops polling; webhooks keep arriving at the edge and
// wait, in order, in the queue (retention 14 days by default; the queue-age
// alarm says a source is waiting).
//
// Why an API call and not stack config: a pause is an operator's action in
// an incident. It must take effect at once, without a deployment, and a
// later `pulumi up` must not undo it — so the program creates the mapping
// enabled and ignores changes to `enabled` (infra's Consumer), and this
// package, the CLI's pause/resume and the portal own that one field.
package pause

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// API is the part of the Lambda client a pause uses.
type API interface {
	ListEventSourceMappings(ctx context.Context, in *lambda.ListEventSourceMappingsInput, optFns ...func(*lambda.Options)) (*lambda.ListEventSourceMappingsOutput, error)
	UpdateEventSourceMapping(ctx context.Context, in *lambda.UpdateEventSourceMappingInput, optFns ...func(*lambda.Options)) (*lambda.UpdateEventSourceMappingOutput, error)
}

// Target is a source's consumer and the queue it consumes.
type Target struct {
	FunctionName, QueueArn string
}

// ErrNoMapping: the source has no event source mapping (not deployed).
var ErrNoMapping = errors.New("no event source mapping between the queue and the function: is the source deployed?")

// State is a mapping's state after a change: Enabling, Enabled, Disabling
// or Disabled, as Lambda reports it.
type State struct {
	UUID, State string
	// Changed is false when the mapping already was as asked.
	Changed bool
}

// Paused tells whether a mapping in state (as Lambda reports it) is
// paused or on its way there.
func Paused(state string) bool { return state == "Disabled" || state == "Disabling" }

// Get reads the state of the target's event source mapping (Changed is
// false): a source is paused when it is Disabled or Disabling.
func Get(ctx context.Context, api API, t Target) (State, error) {
	m, err := find(ctx, api, t)
	if err != nil {
		return State{}, err
	}
	return State{UUID: aws.ToString(m.UUID), State: aws.ToString(m.State)}, nil
}

// find is the target's event source mapping, or ErrNoMapping.
func find(ctx context.Context, api API, t Target) (types.EventSourceMappingConfiguration, error) {
	out, err := api.ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{
		FunctionName: aws.String(t.FunctionName), EventSourceArn: aws.String(t.QueueArn)})
	if err != nil {
		return types.EventSourceMappingConfiguration{}, fmt.Errorf("find the event source mapping of %s: %w", t.FunctionName, err)
	}
	if len(out.EventSourceMappings) == 0 {
		return types.EventSourceMappingConfiguration{}, fmt.Errorf("%s: %w", t.FunctionName, ErrNoMapping)
	}
	return out.EventSourceMappings[0], nil
}

// Set enables (resume) or disables (pause) the target's event source
// mapping.
func Set(ctx context.Context, api API, t Target, enabled bool) (State, error) {
	m, err := find(ctx, api, t)
	if err != nil {
		return State{}, err
	}
	st := State{UUID: aws.ToString(m.UUID), State: aws.ToString(m.State)}
	want := map[bool]string{true: "Enabled", false: "Disabled"}[enabled]
	going := map[bool]string{true: "Enabling", false: "Disabling"}[enabled]
	if st.State == want || st.State == going {
		return st, nil
	}
	up, err := api.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: m.UUID, Enabled: aws.Bool(enabled)})
	if err != nil {
		return st, fmt.Errorf("%s the event source mapping %s: %w", map[bool]string{true: "enable", false: "disable"}[enabled], st.UUID, err)
	}
	return State{UUID: st.UUID, State: aws.ToString(up.State), Changed: true}, nil
}
