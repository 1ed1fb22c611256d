// Package jobs is the portal's jobs service: the long operations a team
// runs on its stack — preview, apply, destroy, redrive — each a use case
// with a Run method (Preview, Apply, Destroy, Redrive) that reserves a job
// slot and the stack's lease, checks the stack's owner holding them, and
// starts the job, then returns it running. A job's record,
// the lease it holds and the limits on running jobs live behind Store
// (MemoryStore in this process); its log and progress live with the job
// while this process keeps it. Failures are typed (InvalidError,
// NotFoundError, BusyError, LimitError, NotYoursError, UpstreamError) so the
// portal's HTTP side maps each to a status in one place; nothing here knows
// HTTP.
package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/engine"
	"github.com/hookline/hookline/ops/archive"
	"github.com/hookline/hookline/ops/pause"
	"github.com/hookline/hookline/ops/redrive"
	"github.com/hookline/hookline/policy/rules"
)

// Tag keys the service keeps on a stack in the backend (it keeps no state
// of its own there).
const (
	// TagTeam is the team that owns the stack (set by its first job).
	TagTeam = "hookline:team"
	// TagPreviewed is the hash of the request the last passed preview ran.
	TagPreviewed = "hookline:previewed"
	// TagLastJob is the stack's last job (LastJob as JSON).
	TagLastJob = "hookline:last-job"
	// TagDeployed is what the last successful apply left (Deployed as JSON).
	TagDeployed = "hookline:deployed"
)

// LastJob is what a stack remembers of its last job (tag TagLastJob).
type LastJob struct {
	ID     string    `json:"id"`
	Op     Op        `json:"op"`
	Status Status    `json:"status"`
	Ended  time.Time `json:"ended"`
}

// Deployed is what a stack's last successful apply left (tag TagDeployed):
// its sources and resources, and the estimated monthly cost at the stack's
// expected traffic per source.
type Deployed struct {
	Sources           int     `json:"sources"`
	Resources         int     `json:"resources"`
	MonthlyUSD        float64 `json:"monthlyUsd"`
	WebhooksPerSecond float64 `json:"webhooksPerSecond"`
}

// Config configures the service.
type Config struct {
	// Store keeps the jobs' records, leases and limits. Default: a
	// MemoryStore.
	Store Store
	// Limits bound the jobs running at once.
	Limits Limits
	// Retention is how long a finished job stays readable.
	Retention time.Duration
	// Engine is the engine template: Stack and Config are set per job.
	Engine engine.Options
	// Policy is the policy pack's config, for the offline check before a
	// preview.
	Policy rules.Config
	// SQS returns the SQS client of a region, for redrives.
	SQS func(ctx context.Context, region string) (redrive.API, error)
	// Archive returns the S3 client of a region, for archive searches and
	// replays.
	Archive func(ctx context.Context, region string) (archive.StoreAPI, error)
	// Sealer returns the stack's seal key (its output sealKey) in a region,
	// with which a redrive seals each re-send's receipt time.
	Sealer func(ctx context.Context, region, keyArn string) (contract.Sealer, error)
	// Lambda returns the Lambda client of a region, for a source's pause
	// and resume (its event source mapping).
	Lambda func(ctx context.Context, region string) (pause.API, error)
	// Depth counts the messages a queue holds (visible and in flight), for
	// what an apply would delete; nil: unknown.
	Depth func(ctx context.Context, region, queueURL string) (int, error)
	// Offline runs without AWS and without the Pulumi CLI: a preview is
	// the offline plan alone, and what needs the engine (apply, destroy,
	// redrive, a stack's reads) is refused with an *UnavailableError.
	Offline bool
	// Log receives a line per finished job.
	Log *slog.Logger
	// Owner names this process among those sharing Store (default: its
	// host name and pid with a random suffix).
	Owner string
	// Lease is how long a running job's lease lasts unless its process
	// renews it (default DefaultLease). The process running a job renews
	// it every Lease/3 and stops the job when it could not for 2/3 of
	// Lease; once it lapses, any process's Watch marks the job
	// interrupted and clears what it left.
	Lease time.Duration
	// Flush is how often a running job stores its progress and new log
	// lines (default 500 ms); Poll how often a reader of a job another
	// process runs reads them (default 500 ms).
	Flush, Poll time.Duration
}

// DefaultLease is how long a running job's lease lasts unless renewed.
const DefaultLease = 30 * time.Second

// Service runs jobs: it reserves and leases them through its Store and keeps
// the live part (log, progress) of those this process runs.
type Service struct {
	cfg   Config
	store Store

	mu         sync.Mutex
	live       map[string]*Job
	lastExpire time.Time
}

// New returns a service.
func New(cfg Config) *Service {
	if cfg.Store == nil {
		cfg.Store = NewMemoryStore()
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	if cfg.Owner == "" {
		host, _ := os.Hostname()
		cfg.Owner = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), newJobID()[:6])
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.Flush <= 0 {
		cfg.Flush = 500 * time.Millisecond
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 500 * time.Millisecond
	}
	return &Service{cfg: cfg, store: cfg.Store, live: map[string]*Job{}}
}

// Spec is a job to start: who runs what on which stack, holding which lock.
type Spec struct {
	Team, Stack string
	Op          Op
	// Lock is what the job holds while it runs: its stack (Stack when
	// empty), or a source's redrive (RedriveLock).
	Lock string
	// What names, in a *BusyError, what holds the lock: "another operation".
	What string
	// Request is what an engine job with a request runs.
	Request *Request
	// Check, when set, runs once the job's slot and lock are reserved and
	// before its work starts: the checks that cost an engine call (the
	// stack's owner, its outputs). Checked after the limits, a request
	// they refuse costs no engine call, and a burst of them queues none
	// behind the engine's gate. Its error abandons the job, which leaves
	// no record and frees its slot and lock.
	Check func(ctx context.Context) error
	// Offline marks a job of the offline plan (no engine, no stack).
	Offline bool
}

// RedriveLock is what a redrive of source on stack holds: one redrive per
// source at a time, beside the stack's own jobs.
func RedriveLock(stack, source string) string { return stack + "/redrive/" + source }

// Go starts a job: it records it as running and holding spec's lock, unless
// the lock is held (*BusyError) or a limit is reached (*LimitError), runs
// spec.Check holding that reservation (abandoning the job if it fails),
// then runs work in its own goroutine, not bound to ctx (a job outlives the
// request that started it), and finishes the job with work's error.
func (s *Service) Go(ctx context.Context, spec Spec, work func(ctx context.Context, j *Job) error) (*Job, error) {
	if spec.Lock == "" {
		spec.Lock = spec.Stack
	}
	s.expire(ctx)
	now := time.Now()
	rec := Record{ID: newJobID(), Team: spec.Team, Stack: spec.Stack, Op: spec.Op, Status: StatusRunning, Started: now,
		Lock: spec.Lock, Request: spec.Request, Offline: spec.Offline, Owner: s.cfg.Owner, Lease: now.Add(s.cfg.Lease)}
	if err := s.store.Start(ctx, rec, s.cfg.Limits); err != nil {
		var busy *BusyError
		if errors.As(err, &busy) && spec.What != "" {
			busy.What = spec.What
		}
		return nil, err
	}
	// The lease is renewed from now on: a check that waits for the engine
	// must not let it lapse. The job outlives the request that started it;
	// it stops early only when this process loses its lease (keep).
	j := newJob(rec)
	jobCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	finishing, kept := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(kept)
		s.keep(jobCtx, j, stop, finishing)
	}()
	if spec.Check != nil {
		if err := spec.Check(ctx); err != nil {
			close(finishing)
			<-kept
			stop()
			if aerr := s.store.Abandon(context.WithoutCancel(ctx), rec.ID); aerr != nil {
				s.cfg.Log.Error("abandon a job whose check failed", "job", rec.ID, "stack", rec.Stack, "error", aerr.Error())
			}
			return nil, err
		}
	}
	s.mu.Lock()
	s.live[rec.ID] = j
	s.mu.Unlock()
	go func() {
		err := work(jobCtx, j)
		close(finishing)
		<-kept
		s.finish(context.WithoutCancel(jobCtx), j, err)
		stop()
	}()
	return j, nil
}

// keep renews a running job's lease every Lease/3 and stores its progress
// every Flush, until finishing closes. When the lease is lost (another
// process claimed it) or could not be renewed for 2/3 of Lease (it may
// lapse any moment, and another process then clears the stack's lock), it
// stops the job: a job this process no longer holds must not go on.
func (s *Service) keep(ctx context.Context, j *Job, stop context.CancelFunc, finishing <-chan struct{}) {
	store := context.WithoutCancel(ctx)
	flush := time.NewTicker(s.cfg.Flush)
	defer flush.Stop()
	renew := time.NewTicker(s.cfg.Lease / 3)
	defer renew.Stop()
	renewed := time.Now()
	for {
		select {
		case <-finishing:
			return
		case <-flush.C:
			s.flush(store, j)
		case now := <-renew.C:
			err := s.store.Renew(store, j.ID(), s.cfg.Owner, now.Add(s.cfg.Lease))
			switch {
			case err == nil:
				renewed = now
			case errors.Is(err, ErrLeaseLost):
				j.logf("stopped: another portal process found this job's lease lapsed and took it over")
				s.cfg.Log.Error("job lease lost", "job", j.ID(), "stack", j.Stack())
				stop()
				return
			case now.Sub(renewed) > s.cfg.Lease*2/3:
				j.logf("stopped: this portal process could not renew the job's lease for %s", now.Sub(renewed).Round(time.Second))
				s.cfg.Log.Error("job lease not renewed: stopping the job", "job", j.ID(), "stack", j.Stack(), "error", err.Error())
				stop()
				return
			default:
				s.cfg.Log.Error("renew a job's lease", "job", j.ID(), "error", err.Error())
			}
		}
	}
}

// flush stores what j shows that the store does not have yet.
func (s *Service) flush(ctx context.Context, j *Job) {
	j.flushing.Lock()
	defer j.flushing.Unlock()
	from, lines, shown, dirty := j.unflushed()
	if !dirty && len(lines) == 0 {
		return
	}
	err := s.store.Append(ctx, j.ID(), s.cfg.Owner, from, lines, shown)
	if err != nil {
		s.cfg.Log.Error("store a job's progress", "job", j.ID(), "error", err.Error())
	}
	j.flushedTo(from+len(lines), err == nil)
}

// finish ends j with err: the stack remembers it as its last job (a
// destroyed stack is gone, and a job that could not open its stack leaves
// none), then the store keeps its record and releases its lease.
func (s *Service) finish(ctx context.Context, j *Job, err error) {
	if errors.Is(err, engine.ErrConcurrentUpdate) {
		err = fmt.Errorf("busy: %w", err)
	}
	if pub := Explain(err); pub != err {
		// The engine's own text (its CLI's output, AWS's credential chain)
		// goes to the portal's log; the job says what is missing.
		s.cfg.Log.Error("job failed", "job", j.ID(), "stack", j.Stack(), "error", err.Error())
		err = pub
	}
	last := LastJob{ID: j.ID(), Op: j.Op(), Status: StatusSucceeded, Ended: time.Now().UTC()}
	if err != nil {
		last.Status = StatusFailed
	}
	if !(j.Op() == OpDestroy && err == nil) && !s.cfg.Offline {
		b, _ := json.Marshal(last)
		if terr := engine.SetStackTag(ctx, s.engine(j.Stack(), nil), TagLastJob, string(b)); terr != nil {
			s.cfg.Log.Info("the stack keeps no record of its last job", "stack", j.Stack(), "error", terr.Error())
		}
	}
	rec := j.end(err)
	s.flush(ctx, j)
	shown := j.View(false)
	rec.Shown = &shown
	if serr := s.store.Finish(ctx, rec); serr != nil {
		s.cfg.Log.Error("the job's end is not stored", "job", rec.ID, "error", serr.Error())
		if errors.Is(serr, ErrLeaseLost) {
			// Another process owns its record now: read that.
			s.mu.Lock()
			delete(s.live, rec.ID)
			s.mu.Unlock()
		}
	}
	j.mu.Lock()
	j.closeDone()
	j.mu.Unlock()
	s.cfg.Log.Info("job finished", "job", rec.ID, "stack", rec.Stack, "op", string(rec.Op), "status", string(rec.Status))
}

// Job returns job id: the live one this process runs or keeps, else the
// one the store has (another process runs or ran it), which reads the
// store again as it is watched; a *NotFoundError when the store has none.
func (s *Service) Job(ctx context.Context, id string) (*Job, error) {
	s.expire(ctx)
	rec, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	j, ok := s.live[id]
	s.mu.Unlock()
	if ok {
		return j, nil
	}
	lines, err := s.store.Lines(ctx, id, 0)
	if err != nil {
		return nil, err
	}
	return remoteJob(rec, lines, s.store, s.cfg.Poll), nil
}

// Holder returns the running job that holds lock: a stack, or
// RedriveLock(stack, source) ("" when none does).
func (s *Service) Holder(ctx context.Context, lock string) (string, error) {
	return s.store.Holder(ctx, lock)
}

// Exclusive runs change holding stack's lease, as a job would: no job
// starts on stack and no other Exclusive change of it runs meanwhile, in
// this process or (with a durable Store) in any other. It waits while
// another change holds the lease, up to ctx's end or changeWait; a running
// job is a *BusyError at once. A change reads and writes stack config
// outside a job (a secret): unserialised, two at once each write back what
// they read, and one is lost.
func (s *Service) Exclusive(ctx context.Context, stack string, change func(ctx context.Context) error) error {
	holder := "change-" + newJobID()
	deadline := time.Now().Add(changeWait)
	for {
		err := s.store.Lease(ctx, stack, holder, changeTTL)
		var busy *BusyError
		if err == nil {
			break
		}
		if !errors.As(err, &busy) || busy.Job != "" || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(changePoll):
		}
	}
	defer func() {
		if err := s.store.Release(context.WithoutCancel(ctx), stack, holder); err != nil {
			s.cfg.Log.Error("release a change's lease", "stack", stack, "error", err.Error())
		}
	}()
	return change(ctx)
}

// A change waits up to changeWait for the changes before it, polling every
// changePoll; its lease lapses after changeTTL should its process die.
const (
	changeWait = 2 * time.Minute
	changePoll = 100 * time.Millisecond
	changeTTL  = 2 * time.Minute
)

// Running counts the running jobs by team.
func (s *Service) Running(ctx context.Context) (map[string]int, error) {
	return s.store.Running(ctx)
}

// expire forgets the jobs that ended more than the retention ago, at most
// every tenth of the retention (up to 30 s): with a durable store it is a
// query. A store that cannot expire now keeps them a little longer:
// nothing to refuse.
func (s *Service) expire(ctx context.Context) {
	now := time.Now()
	s.mu.Lock()
	if now.Sub(s.lastExpire) < min(s.cfg.Retention/10, 30*time.Second) {
		s.mu.Unlock()
		return
	}
	s.lastExpire = now
	s.mu.Unlock()
	cutoff := now.Add(-s.cfg.Retention)
	gone, err := s.store.Expire(ctx, cutoff)
	if err != nil {
		s.cfg.Log.Error("expire jobs", "error", err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range gone {
		delete(s.live, id)
	}
	// Another process may have expired the jobs this one ran.
	for id, j := range s.live {
		if v := j.Status(); v != StatusRunning {
			j.mu.Lock()
			old := j.rec.Ended != nil && j.rec.Ended.Before(cutoff)
			j.mu.Unlock()
			if old {
				delete(s.live, id)
			}
		}
	}
}

// engine is the engine options of stack with config raw (nil: the stack's
// own).
func (s *Service) engine(stack string, raw map[string]string) engine.Options {
	o := s.cfg.Engine
	o.Stack, o.Config = stack, raw
	return o
}

// CheckOwner answers whether team may operate on stack: its TagTeam tag
// (a stack's first job writes it) names team, or the backend has no such
// stack yet. A tag naming another team is a *NotYoursError; a backend that
// cannot be read is an error, never "no owner".
func (s *Service) CheckOwner(ctx context.Context, team, stack string) error {
	if s.cfg.Offline {
		return offlineRefusal("a deployed stack")
	}
	owner, err := engine.StackTag(ctx, s.engine(stack, nil), TagTeam)
	switch {
	case errors.Is(err, engine.ErrNoStack):
		return nil // a new stack: its first job tags it
	case err != nil:
		return fmt.Errorf("read the owner of stack %s: %w", stack, err)
	case owner != "" && owner != team:
		return &NotYoursError{Stack: stack, Owner: owner}
	}
	return nil
}
