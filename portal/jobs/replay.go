package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/ops/archive"
)

// Replay re-sends a deployed source's archived deliveries of a window to its
// queue with ops/archive, as a job with live progress: per group in their
// original order, sealed with the stack's seal key, each under the replay's
// own deduplication id. The same selection is the same replay (its id and
// checkpoint), so a replay started again sends nothing twice. One replay
// per source at a time.
type Replay struct {
	Service *Service
	Team    string
	Stack   string
	Source  string
	// Query selects the deliveries (its Source is set from Source).
	Query      archive.Query
	OnlyFailed bool
	Reprocess  bool
}

// ReplayLock is what a replay of source on stack holds: one replay per
// source at a time.
func ReplayLock(stack, source string) string { return stack + "/replay/" + source }

// Run starts the replay and returns its job, running.
func (r *Replay) Run(ctx context.Context) (*Job, error) {
	s := r.Service
	if err := checkSourceName(r.Source); err != nil {
		return nil, err
	}
	q := r.Query
	q.Source = r.Source
	if err := q.Validate(); err != nil {
		return nil, &InvalidError{Field: "window", Message: err.Error()}
	}
	if s.cfg.SQS == nil || s.cfg.Archive == nil || s.cfg.Sealer == nil {
		return nil, fmt.Errorf("replay %s: the portal has no SQS, S3 or KMS client", r.Source)
	}
	var (
		src    DeployedSource
		store  archive.StoreAPI
		queue  archive.QueueAPI
		sealer contract.Sealer
	)
	spec := Spec{Team: r.Team, Stack: r.Stack, Op: OpReplay, Lock: ReplayLock(r.Stack, r.Source), What: "a replay of source " + r.Source,
		Check: func(ctx context.Context) error {
			var err error
			if src, err = s.ArchivedSource(ctx, r.Team, r.Stack, r.Source); err != nil {
				return err
			}
			if src.SealKey == "" {
				return &NotFoundError{Field: "source", Message: fmt.Sprintf("stack %s has no seal key yet: apply it with this version of hookline before a replay", r.Stack)}
			}
			api, err := s.cfg.SQS(ctx, src.Region)
			if err != nil {
				return fmt.Errorf("an SQS client of %s: %w", src.Region, err)
			}
			var ok bool
			if queue, ok = api.(archive.QueueAPI); !ok {
				return errors.New("the portal's SQS client cannot send batches")
			}
			if store, err = s.cfg.Archive(ctx, src.Region); err != nil {
				return fmt.Errorf("an S3 client of %s: %w", src.Region, err)
			}
			if sealer, err = s.cfg.Sealer(ctx, src.Region, src.SealKey); err != nil {
				return fmt.Errorf("the seal key of %s: %w", r.Stack, err)
			}
			return nil
		}}
	return s.Go(ctx, spec, func(ctx context.Context, j *Job) error {
		j.logf("replay %s's deliveries received %s to %s%s", r.Source, q.From.UTC().Format("2006-01-02 15:04:05"), q.To.UTC().Format("2006-01-02 15:04:05 UTC"), replayScope(q, r.OnlyFailed, r.Reprocess))
		res, err := archive.Replay(ctx, store, queue, archive.Target{Bucket: src.ArchiveBucket, QueueURL: src.Queues.QueueURL}, archive.Options{
			Query: q, OnlyFailed: r.OnlyFailed, Reprocess: r.Reprocess, Sealer: sealer,
			Progress: func(line string) { j.logf("%s", line) },
			Sent:     func(n, toSend int) { j.update(func(t *tracker) { t.redrive(n, toSend) }) },
		})
		if res != nil {
			j.logf("replay %s: %d matched in %d group(s); sent %d, already sent by an earlier run %d, re-sends skipped %d",
				res.ID, res.Matched, res.Groups, res.Sent, res.AlreadySent, res.SkippedResends)
			if res.PreviouslyOK > 0 && !r.Reprocess {
				j.logf("%d of them were processed ok before: a source with idempotency on skips their copies as duplicates (replay with reprocess to process them again)", res.PreviouslyOK)
			}
			for _, f := range res.Failed {
				j.logf("failed: %s", f)
			}
			for _, w := range res.Warnings {
				j.logf("warning: %s", w)
			}
		}
		return err
	})
}

// replayScope says in words what a replay selects beyond its window.
func replayScope(q archive.Query, onlyFailed, reprocess bool) string {
	s := ""
	if len(q.Groups) > 0 {
		s += fmt.Sprintf(", group(s) %v", q.Groups)
	}
	for _, w := range q.Where {
		s += ", where " + w.String()
	}
	if onlyFailed {
		s += ", only those not processed ok"
	}
	if reprocess {
		s += ", marked to be processed again"
	}
	return s
}

// ArchivedSource is Source for the archive: the source deployed, and its
// stack's archive bucket (a *NotFoundError saying how to turn it on when
// the stack has none).
func (s *Service) ArchivedSource(ctx context.Context, team, stack, source string) (DeployedSource, error) {
	src, err := s.Source(ctx, team, stack, source)
	if err != nil {
		return src, err
	}
	if src.ArchiveBucket == "" {
		return src, &NotFoundError{Field: "source", Message: fmt.Sprintf("stack %s keeps no archive: archiving is on unless hookline:archive has enabled: false; apply the stack with this version of hookline", stack)}
	}
	return src, nil
}
