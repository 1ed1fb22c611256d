package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/engine"
	"github.com/hookline/hookline/ops/redrive"
	"github.com/hookline/hookline/stackconfig"
	"github.com/hookline/hookline/stackoutputs"
)

// Redrive moves a deployed source's dead-lettered messages back to its
// queue with ops/redrive, as a job with live progress: the whole DLQ when
// Groups is empty, else the listed message groups, in one scan, each in
// order, every re-send's receipt time sealed with the stack's seal key. One
// redrive per source at a time.
type Redrive struct {
	Service *Service
	Team    string
	Stack   string
	Source  string
	Groups  []string
}

// Run starts the redrive and returns its job, running.
func (r *Redrive) Run(ctx context.Context) (*Job, error) {
	s := r.Service
	for i, g := range r.Groups {
		if !contract.ValidID(g) {
			return nil, &InvalidError{Field: fmt.Sprintf("groups[%d]", i), Message: "not a message group id"}
		}
	}
	if err := checkSourceName(r.Source); err != nil {
		return nil, err
	}
	if s.cfg.SQS == nil {
		return nil, fmt.Errorf("redrive %s: the portal has no SQS client", r.Source)
	}
	if s.cfg.Sealer == nil {
		return nil, fmt.Errorf("redrive %s: the portal has no KMS client for the seal key", r.Source)
	}
	// The source's queues and seal key are read from the stack (engine
	// calls) once the job's slot is reserved: a redrive over the limits
	// costs none.
	var (
		src    DeployedSource
		api    redrive.API
		sealer contract.Sealer
	)
	spec := Spec{Team: r.Team, Stack: r.Stack, Op: OpRedrive, Lock: RedriveLock(r.Stack, r.Source), What: "a redrive of source " + r.Source,
		Check: func(ctx context.Context) error {
			var err error
			if src, err = s.Source(ctx, r.Team, r.Stack, r.Source); err != nil {
				return err
			}
			if api, err = s.cfg.SQS(ctx, src.Region); err != nil {
				return fmt.Errorf("an SQS client of %s: %w", src.Region, err)
			}
			if src.SealKey == "" {
				return &NotFoundError{Field: "source", Message: fmt.Sprintf("stack %s has no seal key yet: apply it with this version of hookline before a redrive", r.Stack)}
			}
			if sealer, err = s.cfg.Sealer(ctx, src.Region, src.SealKey); err != nil {
				return fmt.Errorf("the seal key of %s: %w", r.Stack, err)
			}
			return nil
		}}
	return s.Go(ctx, spec, func(ctx context.Context, j *Job) error {
		moved := 0
		o := redrive.Options{Sealer: sealer, Progress: func(line string) { j.logf("%s", line) }, Wait: time.Second,
			Moved: func(n, toMove int) {
				j.update(func(t *tracker) {
					if toMove > 0 {
						toMove += moved
					}
					t.redrive(moved+n, toMove)
				})
			}}
		// The listed groups in one scan of the DLQ, each in order; none:
		// every group.
		o.Groups = r.Groups
		if len(r.Groups) > 0 {
			j.logf("redrive group(s) %s of %s", strings.Join(r.Groups, ", "), r.Source)
		} else {
			j.logf("redrive the whole DLQ of %s", r.Source)
		}
		res, err := redrive.Run(ctx, api, src.Queues, o)
		if res != nil {
			moved += res.Moved
			for _, f := range res.Failed {
				j.logf("failed: %s", f)
			}
			for _, warn := range res.Warning {
				j.logf("warning: %s", warn)
			}
		}
		j.logf("moved %d message(s)", moved)
		return err
	})
}

// DeployedSource is a deployed source of a stack: its queues, the stack's
// region and its seal key (empty on a stack applied before hookline sealed
// re-sends).
type DeployedSource struct {
	Queues  redrive.Queues
	Region  string
	SealKey string
	// FunctionName is the source's consumer (empty on a stack applied
	// before the program wrote it).
	FunctionName string
	// ArchiveBucket is the stack's archive (empty: archiving is off, or
	// the stack was applied before hookline archived).
	ArchiveBucket string
}

// Source looks up a deployed source of team's stack: the source's name is
// checked, then the stack's owner, then its outputs. A source the stack
// has not deployed is a *NotFoundError.
func (s *Service) Source(ctx context.Context, team, stack, source string) (DeployedSource, error) {
	if err := checkSourceName(source); err != nil {
		return DeployedSource{}, err
	}
	if err := s.CheckOwner(ctx, team, stack); err != nil {
		return DeployedSource{}, err
	}
	// Select, not Open: a read of a stack that does not exist must not
	// leave a new, untagged one behind.
	st, err := engine.Select(ctx, s.engine(stack, nil))
	if errors.Is(err, engine.ErrNoStack) {
		return DeployedSource{}, &NotFoundError{Field: "source", Message: fmt.Sprintf("stack %s has no deployed source %s (apply it first)", stack, source)}
	}
	if err != nil {
		return DeployedSource{}, err
	}
	cfg, _, err := st.Config(ctx)
	if err != nil {
		return DeployedSource{}, err
	}
	raw, err := st.Outputs(ctx)
	if err != nil {
		return DeployedSource{}, err
	}
	outs, err := ReadOutputs(raw)
	if err != nil {
		return DeployedSource{}, fmt.Errorf("read the outputs of %s: %w", stack, err)
	}
	var o stackoutputs.Source
	if outs != nil {
		o = outs.Sources[source]
	}
	q := redrive.Queues{QueueURL: o.QueueURL, QueueArn: o.QueueArn, DLQURL: o.DLQURL, DLQArn: o.DLQArn, Source: source}
	if q.QueueURL == "" || q.DLQURL == "" || q.QueueArn == "" || q.DLQArn == "" {
		return DeployedSource{}, &NotFoundError{Field: "source", Message: fmt.Sprintf("stack %s has no deployed source %s (apply it first)", stack, source)}
	}
	return DeployedSource{Queues: q, Region: cfg[stackconfig.RegionKey], SealKey: outs.SealKey, FunctionName: o.FunctionName,
		ArchiveBucket: outs.ArchiveBucket}, nil
}

// checkSourceName refuses a source name no source can have.
func checkSourceName(source string) error {
	if !contract.ValidSourceName(source) {
		return &InvalidError{Field: "source", Message: fmt.Sprintf("%q is not a source name", source)}
	}
	return nil
}

// ReadOutputs decodes a stack's outputs as the engine returns them (each
// value wrapped with whether it is secret) into the one struct of a stack's
// outputs; nil for a stack without outputs (never applied, or destroyed).
// An output the struct does not know is an error: the program and the
// portal disagree.
func ReadOutputs(outs auto.OutputMap) (*stackoutputs.Stack, error) {
	if len(outs) == 0 {
		return nil, nil
	}
	plain := make(map[string]any, len(outs))
	for k, v := range outs {
		plain[k] = v.Value
	}
	return stackoutputs.Decode(plain)
}
