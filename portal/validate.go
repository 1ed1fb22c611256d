package portal

import (
	"fmt"

	"github.com/hookline/hookline/ops"
	"github.com/hookline/hookline/plan"
	"github.com/hookline/hookline/portal/jobs"
)

// validation is the instant check of a request: the resources of its
// offline plan by type, the policy findings and the estimated cost.
type validation struct {
	Stack     string           `json:"stack"`
	Resources map[string]int   `json:"resources"`
	Policies  []plan.Violation `json:"policies"`
	Cost      *ops.Estimate    `json:"cost"`
}

// validate runs the offline plan of a team's validated request (raw is its
// stack's config) with the policies and the cost model, in one of the
// portal's plan slots (a *jobs.LimitError when none is free).
func (s *Server) validate(team string, req *Request, raw map[string]string) (*validation, error) {
	select {
	case s.plans <- struct{}{}:
		defer func() { <-s.plans }()
	default:
		return nil, &jobs.LimitError{What: fmt.Sprintf("%d plans are running, the portal's limit", cap(s.plans))}
	}
	stack := StackName(team, req.Env)
	res, err := plan.Run(plan.Options{Dir: s.opts.Engine.ProjectDir, Stack: stack, Config: raw, Policy: s.policy})
	if err != nil {
		return nil, &FieldError{Field: "body", Message: err.Error()}
	}
	counts := map[string]int{}
	for _, r := range res.Resources {
		counts[r.Type]++
	}
	return &validation{Stack: stack, Resources: counts, Policies: res.Policies, Cost: res.Cost}, nil
}
