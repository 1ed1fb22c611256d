package portal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/hookline/hookline/engine"
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
	LastJob  *LastJob  `json:"lastJob,omitempty"`
	Deployed *Deployed `json:"deployed,omitempty"`
}

func (s *Server) stacks(ctx context.Context, id Identity) ([]StackView, error) {
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
			// Fail closed: a stack whose owner cannot be read is shown
			// to no one, as an error.
			return nil, fmt.Errorf("read the owner of stack %s: %w", sum.Name, err)
		}
		team := tags[tagTeam]
		if !id.Admin && team != id.Team {
			continue
		}
		v := StackView{Name: sum.Name, Team: team, Env: env, LastUpdate: sum.LastUpdate, Status: "idle"}
		var last LastJob
		if json.Unmarshal([]byte(tags[tagLastJob]), &last) == nil {
			v.LastJob = &last
		}
		var d Deployed
		if json.Unmarshal([]byte(tags[tagDeployed]), &d) == nil {
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
		s.mu.Lock()
		if jid, ok := s.busy[sum.Name]; ok {
			v.Status, v.RunningJob = "busy", jid
		}
		s.mu.Unlock()
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// stackOutputs reads a stack's outputs (nil before an apply).
func (s *Server) stackOutputs(ctx context.Context, stack string) (*stackoutputs.Stack, error) {
	st, err := engine.Open(ctx, s.engineOptions(stack, nil))
	if err != nil {
		return nil, err
	}
	raw, err := st.Outputs(ctx)
	if err != nil {
		return nil, err
	}
	outs, err := readOutputs(raw)
	if err != nil {
		return nil, fmt.Errorf("read the outputs of %s: %w", stack, err)
	}
	return outs, nil
}
