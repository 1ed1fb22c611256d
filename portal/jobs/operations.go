package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/hookline/hookline/engine"
	"github.com/hookline/hookline/ops"
	"github.com/hookline/hookline/plan"
	"github.com/hookline/hookline/policy/rules"
	"github.com/hookline/hookline/stackconfig"
)

// Preview previews a team's request on its stack as a job: the policy
// rules over the offline plan (every value known, where a new stack's
// preview cannot see ARNs yet), then the engine's preview with the pack. A
// passed preview tags the stack with the request's hash, which Apply
// requires.
type Preview struct {
	Service *Service
	Team    string
	Stack   string
	Request Request
}

// Run starts the preview and returns its job, running.
func (p *Preview) Run(ctx context.Context) (*Job, error) {
	s := p.Service
	return s.launch(ctx, p.Team, p.Stack, OpPreview, p.Request, func(ctx context.Context, j *Job, st *engine.Stack) error {
		if blocked := s.offlinePolicies(j, p.Stack, p.Request.Config); blocked != nil {
			return blocked
		}
		res, err := st.Preview(ctx)
		j.record(res)
		if err != nil {
			return err
		}
		return st.SetTag(ctx, TagPreviewed, p.Request.Hash)
	})
}

// Apply updates a team's stack to a request a preview passed (the stack's
// TagPreviewed is the request's hash) as a job, and keeps the apply's
// outputs and, for the overview, what it deployed.
type Apply struct {
	Service *Service
	Team    string
	Stack   string
	Request Request
}

// Run starts the apply and returns its job, running.
func (a *Apply) Run(ctx context.Context) (*Job, error) {
	s := a.Service
	return s.launch(ctx, a.Team, a.Stack, OpApply, a.Request, func(ctx context.Context, j *Job, st *engine.Stack) error {
		previewed, err := st.Tag(ctx, TagPreviewed)
		if err != nil {
			return err
		}
		if previewed != a.Request.Hash {
			return errors.New("apply needs a passed preview of this same request first")
		}
		expected, err := s.previewed(ctx, a.Stack, a.Request.Hash)
		if err != nil {
			return err
		}
		j.update(func(t *tracker) { t.expectedOps = expected })
		res, err := st.Up(ctx)
		j.record(res)
		if err != nil {
			return err
		}
		// The overview's summary; the stack is deployed either way.
		if terr := s.recordDeployed(ctx, st, j, a.Request.Config); terr != nil {
			j.logf("warning: the stack keeps no summary of this apply for the overview: %v", terr)
		}
		outs, err := ReadOutputs(res.Outputs)
		if err != nil {
			return fmt.Errorf("the stack is applied, but its outputs do not read: %w", err)
		}
		j.setOutputs(outs)
		return nil
	})
}

// Destroy deletes every resource of a team's stack, then the stack, as a
// job. Confirm must repeat the stack's name.
type Destroy struct {
	Service *Service
	Team    string
	Stack   string
	Confirm string
}

// Run starts the destroy and returns its job, running.
func (d *Destroy) Run(ctx context.Context) (*Job, error) {
	s := d.Service
	if d.Confirm != d.Stack {
		return nil, &InvalidError{Field: "confirm", Message: "set confirm to the stack name " + d.Stack + " to destroy it"}
	}
	spec := Spec{Team: d.Team, Stack: d.Stack, Op: OpDestroy, What: "another operation",
		Check: func(ctx context.Context) error { return s.CheckOwner(ctx, d.Team, d.Stack) }}
	return s.Go(ctx, spec, func(ctx context.Context, j *Job) error {
		o := s.jobEngine(j, nil)
		tags, err := engine.StackTags(ctx, o)
		if err != nil && !errors.Is(err, engine.ErrNoStack) {
			return err
		}
		var dep Deployed
		if json.Unmarshal([]byte(tags[TagDeployed]), &dep) == nil {
			j.update(func(t *tracker) { t.expectedOps = map[string]int{"delete": dep.Resources} })
		}
		st, err := engine.Open(ctx, o)
		if err != nil {
			return err
		}
		res, err := st.Destroy(ctx)
		j.record(res)
		if err != nil {
			return err
		}
		return st.Remove(ctx)
	})
}

// launch checks and starts an engine job with a request: the job's slot and
// the stack's lease first (a request over the limits or on a busy stack is
// refused without an engine call), then, holding them, the stack's owner;
// the job opens the stack with the request's config, tags it with its team
// and runs run.
func (s *Service) launch(ctx context.Context, team, stack string, op Op, req Request, run func(context.Context, *Job, *engine.Stack) error) (*Job, error) {
	spec := Spec{Team: team, Stack: stack, Op: op, What: "another operation", Request: &req,
		Check: func(ctx context.Context) error { return s.CheckOwner(ctx, team, stack) }}
	return s.Go(ctx, spec, func(ctx context.Context, j *Job) error {
		j.logf("%s %s: opening the stack", op, stack)
		st, err := engine.Open(ctx, s.jobEngine(j, req.Config))
		if err != nil {
			return err
		}
		if err := st.SetTag(ctx, TagTeam, team); err != nil {
			return fmt.Errorf("tag the stack with its team: %w", err)
		}
		return run(ctx, j, st)
	})
}

// jobEngine is the engine options of a job: its stack, config raw, and the
// engine's events as the job's log and progress.
func (s *Service) jobEngine(j *Job, raw map[string]string) engine.Options {
	o := s.engine(j.Stack(), raw)
	o.Events = j.engineEvents
	return o
}

// offlinePolicies runs the policy rules over the offline plan of config
// raw; mandatory findings block the preview.
func (s *Service) offlinePolicies(j *Job, stack string, raw map[string]string) error {
	res, err := plan.Run(plan.Options{Dir: s.cfg.Engine.ProjectDir, Stack: stack, Config: raw, Policy: s.cfg.Policy})
	if err != nil {
		return err
	}
	n := 0
	for _, r := range res.Resources {
		if counted(r.Type) {
			n++
		}
	}
	j.update(func(t *tracker) { t.expected = n })
	var blocked []string
	for _, v := range res.Policies {
		j.logf("policy %s %s on %s: %s", v.Level, v.Policy, ResourceName(v.URN), v.Message)
		j.addViolation(v)
		if v.Level == rules.Mandatory {
			blocked = append(blocked, v.Policy)
		}
	}
	if len(blocked) > 0 {
		return fmt.Errorf("blocked by mandatory policies: %s", strings.Join(blocked, ", "))
	}
	return nil
}

// previewed counts, by operation, the resources the last preview of the
// request hash on stack touched when it passed (nil when it did not, or
// none is remembered): what an apply of it expects.
func (s *Service) previewed(ctx context.Context, stack, hash string) (map[string]int, error) {
	rec, ok, err := s.store.LatestPreview(ctx, stack, hash)
	if err != nil {
		return nil, fmt.Errorf("look up the preview of %s: %w", stack, err)
	}
	if !ok || rec.Status != StatusSucceeded {
		return nil, nil
	}
	return rec.Steps, nil
}

// recordDeployed keeps, as a stack tag, what a successful apply left: the
// number of sources and resources and the estimated monthly cost at the
// stack's expected traffic (the cost model of hookline cost).
func (s *Service) recordDeployed(ctx context.Context, st *engine.Stack, j *Job, raw map[string]string) error {
	cfg, err := stackconfig.Load(j.Stack(), raw, true, nil)
	if err != nil {
		return err
	}
	est := ops.StackCost(cfg, ops.Traffic(cfg.Traffic), ops.DefaultPrices)
	j.mu.Lock()
	d := Deployed{Sources: len(cfg.Sources), Resources: j.track.remaining(), MonthlyUSD: est.Total, WebhooksPerSecond: cfg.Traffic.RPS}
	j.mu.Unlock()
	b, _ := json.Marshal(d)
	return st.SetTag(ctx, TagDeployed, string(b))
}

// record keeps an engine operation's changes and findings.
func (j *Job) record(res *engine.Result) {
	if res == nil {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.changes = res.Changes
	j.violations = append(j.violations, res.Violations...)
}
