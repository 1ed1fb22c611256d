package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/hookline/hookline/ops/pause"
)

// Pause pauses (Enabled false) or resumes (Enabled true) a deployed
// source's processing with ops/pause: its event source mapping is disabled
// or enabled at once, without a deployment, and a later apply leaves it as
// it is (the program ignores changes to it). Webhooks keep arriving and
// wait, in order, in the queue. team must own the stack.
type Pause struct {
	Service *Service
	Team    string
	Stack   string
	Source  string
	Enabled bool
}

// SourceState is whether a source processes its queue: the mapping's state
// as Lambda reports it (Enabled, Enabling, Disabled, Disabling) and
// whether that is a pause.
type SourceState struct {
	Source string `json:"source"`
	State  string `json:"state"`
	Paused bool   `json:"paused"`
	// Changed is false when the source already was as asked.
	Changed bool `json:"changed"`
}

// Run pauses or resumes the source and returns its state after.
func (p *Pause) Run(ctx context.Context) (SourceState, error) {
	what := map[bool]string{true: "resume", false: "pause"}[p.Enabled]
	api, t, err := p.Service.pauseTarget(ctx, p.Team, p.Stack, p.Source, what)
	if err != nil {
		return SourceState{}, err
	}
	st, err := pause.Set(ctx, api, t, p.Enabled)
	if err != nil {
		return SourceState{}, pauseError(p.Stack, p.Source, what+" the source", err)
	}
	p.Service.cfg.Log.Info("source "+what+"d", "stack", p.Stack, "source", p.Source, "state", st.State, "changed", st.Changed)
	return SourceState{Source: p.Source, State: st.State, Paused: pause.Paused(st.State), Changed: st.Changed}, nil
}

// PauseState reads whether team's deployed source of stack is paused.
func (s *Service) PauseState(ctx context.Context, team, stack, source string) (SourceState, error) {
	api, t, err := s.pauseTarget(ctx, team, stack, source, "the pause state")
	if err != nil {
		return SourceState{}, err
	}
	st, err := pause.Get(ctx, api, t)
	if err != nil {
		return SourceState{}, pauseError(stack, source, "read the pause state", err)
	}
	return SourceState{Source: source, State: st.State, Paused: pause.Paused(st.State)}, nil
}

// pauseTarget is the Lambda client and the event source mapping's target
// of team's deployed source (the name, then the owner, then the outputs
// checked); refused in the no-AWS mode.
func (s *Service) pauseTarget(ctx context.Context, team, stack, source, what string) (pause.API, pause.Target, error) {
	if s.cfg.Offline {
		return nil, pause.Target{}, offlineRefusal(what + " of a source")
	}
	if err := checkSourceName(source); err != nil {
		return nil, pause.Target{}, err
	}
	if s.cfg.Lambda == nil {
		return nil, pause.Target{}, fmt.Errorf("%s %s: the portal has no Lambda client", what, source)
	}
	src, err := s.Source(ctx, team, stack, source)
	if err != nil {
		return nil, pause.Target{}, err
	}
	if src.FunctionName == "" {
		return nil, pause.Target{}, &NotFoundError{Field: "source", Message: fmt.Sprintf("stack %s names no consumer of %s: apply it with this version of hookline first", stack, source)}
	}
	api, err := s.cfg.Lambda(ctx, src.Region)
	if err != nil {
		return nil, pause.Target{}, fmt.Errorf("a Lambda client of %s: %w", src.Region, err)
	}
	return api, pause.Target{FunctionName: src.FunctionName, QueueArn: src.Queues.QueueArn}, nil
}

// pauseError types a failure of ops/pause: no mapping is a
// *NotFoundError, a failed call to Lambda an *UpstreamError.
func pauseError(stack, source, what string, err error) error {
	if errors.Is(err, pause.ErrNoMapping) {
		return &NotFoundError{Field: "source", Message: fmt.Sprintf("source %s of stack %s has no event source mapping: is it deployed?", source, stack)}
	}
	return &UpstreamError{What: what, Err: err}
}
