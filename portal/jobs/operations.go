package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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

// Run starts the preview and returns its job, running. A service without
// AWS (Config.Offline) previews the offline plan only.
func (p *Preview) Run(ctx context.Context) (*Job, error) {
	s := p.Service
	if s.cfg.Offline {
		return s.offlinePreview(ctx, p)
	}
	return s.launch(ctx, p.Team, p.Stack, OpPreview, p.Request, func(ctx context.Context, j *Job, st *engine.Stack) error {
		if blocked := s.offlinePolicies(j, p.Stack, p.Request.Config); blocked != nil {
			return blocked
		}
		// What the stack has deployed now: the sources the request drops
		// and the queues it replaces are deleted with their messages.
		outs, err := deployed(ctx, st)
		if err != nil {
			return fmt.Errorf("read the outputs of %s: %w", p.Stack, err)
		}
		res, err := st.Preview(ctx)
		j.record(res)
		if err != nil {
			return err
		}
		j.mu.Lock()
		steps := j.track.steps()
		j.mu.Unlock()
		if dels := s.deletions(ctx, p.Stack, requestRegion(p.Request.Config), outs, p.Request.Sources, steps); len(dels) > 0 {
			for _, d := range dels {
				j.logf("deletes %s", d.Text)
			}
			j.setDeletes(dels)
		}
		return st.SetTag(ctx, TagPreviewed, p.Request.Hash)
	})
}

// offlinePreview previews a request through the offline plan alone (the
// program under mocks, the policy rules, no engine and no AWS): every
// resource as the engine would create it on a new stack.
func (s *Service) offlinePreview(ctx context.Context, p *Preview) (*Job, error) {
	spec := Spec{Team: p.Team, Stack: p.Stack, Op: OpPreview, What: "another operation", Request: &p.Request, Offline: true}
	return s.Go(ctx, spec, func(ctx context.Context, j *Job) error {
		j.logf("preview %s through the offline plan: the program under mocks, no AWS account", p.Stack)
		res, err := plan.Run(plan.Options{Dir: s.cfg.Engine.ProjectDir, Stack: p.Stack, Config: p.Request.Config, Policy: s.cfg.Policy})
		if err != nil {
			return err
		}
		j.update(func(t *tracker) {
			for _, r := range res.Resources {
				t.pre("create", r.Type, r.URN)
				t.post(r.URN, false)
			}
		})
		return s.findings(j, res)
	})
}

// Apply updates a team's stack to a request a preview passed (the stack's
// TagPreviewed is the request's hash) as a job, and keeps the apply's
// outputs and, for the overview, what it deployed.
//
// An apply that deletes a deployed source, or a queue, deletes the messages
// they hold: it is refused (*ConfirmError) unless ConfirmDeletes names
// each such source.
type Apply struct {
	Service *Service
	Team    string
	Stack   string
	Request Request
	// ConfirmDeletes names the sources whose deletion (whole, or of their
	// queues) the caller confirms.
	ConfirmDeletes []string
}

// Run starts the apply and returns its job, running.
func (a *Apply) Run(ctx context.Context) (*Job, error) {
	s := a.Service
	if s.cfg.Offline {
		return nil, offlineRefusal("apply")
	}
	check := func(ctx context.Context) error {
		names, dels, err := s.toConfirm(ctx, a.Stack, a.Request)
		if err != nil {
			return err
		}
		var missing []string
		for _, n := range names {
			if !slices.Contains(a.ConfirmDeletes, n) {
				missing = append(missing, n)
			}
		}
		if len(missing) > 0 {
			return &ConfirmError{Stack: a.Stack, Sources: missing, Deletes: dels}
		}
		return nil
	}
	return s.launchChecked(ctx, a.Team, a.Stack, OpApply, a.Request, check, func(ctx context.Context, j *Job, st *engine.Stack) error {
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
	if s.cfg.Offline {
		return nil, offlineRefusal("destroy")
	}
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
	return s.launchChecked(ctx, team, stack, op, req, nil, run)
}

// launchChecked is launch with a check of its own after the owner's
// (holding the job's slot and lease, before the job starts).
func (s *Service) launchChecked(ctx context.Context, team, stack string, op Op, req Request, check func(context.Context) error,
	run func(context.Context, *Job, *engine.Stack) error,
) (*Job, error) {
	spec := Spec{Team: team, Stack: stack, Op: op, What: "another operation", Request: &req,
		Check: func(ctx context.Context) error {
			if err := s.CheckOwner(ctx, team, stack); err != nil || check == nil {
				return err
			}
			return check(ctx)
		}}
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
	return s.findings(j, res)
}

// findings records the offline plan's policy findings on j; mandatory
// ones are its error.
func (s *Service) findings(j *Job, res *plan.Result) error {
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
	j.dirty = true
}
