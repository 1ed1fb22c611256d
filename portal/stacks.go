package portal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/hookline/hookline/engine"
	"github.com/hookline/hookline/portal/jobs"
	"github.com/hookline/hookline/stackoutputs"
)

// StackView is a stack as the API lists it.
type StackView struct {
	Name       string `json:"name"`
	Team       string `json:"team"`
	Env        string `json:"env"`
	LastUpdate string `json:"lastUpdate,omitempty"`
	Status     string `json:"status"`
	Resources  int    `json:"resources"`
	// Outputs are the stack's outputs (its API keys for the owning team
	// only); none before an apply.
	Outputs    *stackoutputs.Stack `json:"outputs,omitempty"`
	RunningJob string              `json:"runningJob,omitempty"`
	// LastJob is the stack's last job; Deployed what its last successful
	// apply left (sources, resources, estimated monthly cost).
	LastJob  *jobs.LastJob  `json:"lastJob,omitempty"`
	Deployed *jobs.Deployed `json:"deployed,omitempty"`
}

// engineOptions are the engine options of stack with config raw (nil: the
// stack's own).
func (s *Server) engineOptions(stack string, raw map[string]string) engine.Options {
	o := s.opts.Engine
	o.Stack, o.Config = stack, raw
	return o
}

// stacks are the stacks id sees, by name. A stack whose owner cannot be
// read fails the whole listing: it is never shown as no one's.
func (s *Server) stacks(ctx context.Context, id Identity) ([]StackView, error) {
	if s.opts.Offline {
		return nil, nil // no backend: nothing is deployed
	}
	sums, err := engine.List(ctx, s.opts.Engine)
	if err != nil {
		return nil, err
	}
	var out []StackView
	for _, sum := range sums {
		// Ownership is the hookline:team tag the portal writes; the name's
		// prefix only narrows which tags need reading. A stack whose tag
		// and name disagree is shown to no team (admins see it).
		prefix, env, _ := strings.Cut(sum.Name, "-")
		if !id.may(prefix) {
			continue
		}
		tags, err := engine.StackTags(ctx, s.engineOptions(sum.Name, nil))
		if errors.Is(err, engine.ErrNoStack) {
			continue // removed since the listing
		}
		if err != nil {
			return nil, fmt.Errorf("read the owner of stack %s: %w", sum.Name, err)
		}
		team := tags[jobs.TagTeam]
		if !id.Admin && team != id.Team {
			continue
		}
		v := StackView{Name: sum.Name, Team: team, Env: env, LastUpdate: sum.LastUpdate, Status: "idle"}
		var last jobs.LastJob
		if json.Unmarshal([]byte(tags[jobs.TagLastJob]), &last) == nil {
			v.LastJob = &last
		}
		var d jobs.Deployed
		if json.Unmarshal([]byte(tags[jobs.TagDeployed]), &d) == nil {
			v.Deployed = &d
		}
		if team != prefix {
			v.Status = "owner-mismatch"
		}
		if sum.ResourceCount != nil {
			v.Resources = *sum.ResourceCount
		}
		if sum.UpdateInProgress {
			v.Status = "updating"
		}
		jid, err := s.jobs.Holder(ctx, sum.Name)
		if err != nil {
			return nil, fmt.Errorf("look up the jobs of %s: %w", sum.Name, err)
		}
		if jid != "" {
			v.Status, v.RunningJob = "busy", jid
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// stack is team's stack env as id sees it, with its outputs (the API keys
// for the owning team only); a *jobs.NotFoundError when id sees no such
// stack.
func (s *Server) stack(ctx context.Context, id Identity, team, env string) (StackView, error) {
	vs, err := s.stacks(ctx, id)
	if err != nil {
		return StackView{}, err
	}
	for _, v := range vs {
		if v.Name == StackName(team, env) {
			outs, err := s.stackOutputs(ctx, v.Name)
			if err != nil {
				return StackView{}, err
			}
			v.Outputs = jobs.VisibleOutputs(outs, id.Team == team)
			return v, nil
		}
	}
	return StackView{}, &jobs.NotFoundError{Message: "no such stack"}
}

// stackOutputs reads a stack's outputs (nil before an apply); a
// *jobs.NotFoundError when the backend has no such stack (removed since
// the listing): a read never creates a stack.
func (s *Server) stackOutputs(ctx context.Context, stack string) (*stackoutputs.Stack, error) {
	st, err := engine.Select(ctx, s.engineOptions(stack, nil))
	if errors.Is(err, engine.ErrNoStack) {
		return nil, &jobs.NotFoundError{Message: "no such stack"}
	}
	if err != nil {
		return nil, err
	}
	raw, err := st.Outputs(ctx)
	if err != nil {
		return nil, err
	}
	outs, err := jobs.ReadOutputs(raw)
	if err != nil {
		return nil, fmt.Errorf("read the outputs of %s: %w", stack, err)
	}
	return outs, nil
}

// job is job jid as id may see it: another team's job is not found.
func (s *Server) job(ctx context.Context, id Identity, jid string) (*jobs.Job, error) {
	j, err := s.jobs.Job(ctx, jid)
	if err != nil {
		return nil, err
	}
	if !id.may(j.Team()) {
		return nil, &jobs.NotFoundError{Message: "no such job"}
	}
	return j, nil
}
