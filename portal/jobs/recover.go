package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hookline/hookline/engine"
)

// Watch, until ctx ends, claims every Lease/3 the jobs whose leases lapsed
// (the process running them died or lost the store) and recovers each
// (Sweep). Every process sharing a durable Store runs it; with a
// MemoryStore there is no other process whose jobs could lapse.
func (s *Service) Watch(ctx context.Context) {
	t := time.NewTicker(s.cfg.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := s.Sweep(ctx); err != nil {
				s.cfg.Log.Error("look for interrupted jobs", "error", err.Error())
			}
		}
	}
}

// Sweep claims the jobs whose leases lapsed and recovers each: it marks it
// interrupted at once (Store.Claim), clears what it left on its stack
// (engine.Unlock: the backend's lock and the pending operations), says so
// in its log and what to do next, and finishes it, which frees its slot
// and lock. It returns how many it finished. A recovery that fails (the
// backend cannot be reached) keeps the job's lock and slot: its claim
// lapses and the next sweep, here or in another process, tries again.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	now := time.Now()
	recs, err := s.store.Claim(ctx, s.cfg.Owner, now, now.Add(s.cfg.Lease))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, rec := range recs {
		if err := s.recover(ctx, rec); err != nil {
			s.cfg.Log.Error("recover an interrupted job", "job", rec.ID, "stack", rec.Stack, "error", err.Error())
			continue
		}
		n++
	}
	return n, nil
}

// recover clears what the interrupted job rec left and finishes it,
// renewing its claim meanwhile.
func (s *Service) recover(ctx context.Context, rec Record) error {
	s.cfg.Log.Info("job interrupted: recovering", "job", rec.ID, "stack", rec.Stack, "op", string(rec.Op), "owner", rec.Owner)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // the claim lasts while the engine clears the stack
		t := time.NewTicker(s.cfg.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				if err := s.store.Renew(ctx, rec.ID, s.cfg.Owner, now.Add(s.cfg.Lease)); errors.Is(err, ErrLeaseLost) {
					cancel()
					return
				}
			}
		}
	}()
	lines, err := s.store.Lines(ctx, rec.ID, 0)
	if err != nil {
		return err
	}
	from := len(lines)
	say := func(format string, a ...any) error {
		line := fmt.Sprintf(format, a...)
		err := s.store.Append(ctx, rec.ID, s.cfg.Owner, from, []string{line}, nil)
		if err == nil {
			from++
		}
		return err
	}
	if err := say("interrupted: the portal process running this job stopped before it ended (its lease lapsed); %s takes it over", s.cfg.Owner); err != nil {
		return err
	}
	next := "Run a preview to see where the stack stands, then apply it again"
	var done []string
	switch {
	case rec.Op == OpRedrive:
		next = "Some messages may have moved: look at the DLQ and run the redrive again"
	case rec.Offline || s.cfg.Offline:
		next = "Run the preview again"
	default:
		pending, err := engine.Unlock(ctx, s.engine(rec.Stack, nil))
		switch {
		case errors.Is(err, engine.ErrNoStack):
			done = append(done, "the stack was never created")
		case err != nil:
			_ = say("the stack's lock could not be cleared yet (%v); retrying", err)
			return fmt.Errorf("clear the lock of %s: %w", rec.Stack, err)
		default:
			done = append(done, "the stack's lock is cleared")
			if len(pending) > 0 {
				var ops []string
				for _, p := range pending {
					ops = append(ops, p.Type+" "+ResourceName(p.URN))
				}
				done = append(done, fmt.Sprintf("%d operation(s) it had begun were dropped from the state (%s): each may or may not have happened in AWS",
					len(pending), strings.Join(ops, ", ")))
			}
		}
		if rec.Op == OpPreview {
			next = "Run the preview again"
		}
	}
	for _, d := range done {
		if err := say("%s", d); err != nil {
			return err
		}
	}
	msg := "interrupted: the portal process running this job stopped before it ended"
	if len(done) > 0 {
		msg += "; " + strings.Join(done, "; ")
	}
	rec.Error = msg + ". " + next + "."
	if err := say("%s", rec.Error); err != nil {
		return err
	}
	now := time.Now()
	rec.Status, rec.Ended = StatusInterrupted, &now
	if rec.Shown != nil {
		v := *rec.Shown
		v.Status, v.Error, v.Ended = rec.Status, rec.Error, rec.Ended
		v.Progress.Current = ""
		rec.Shown = &v
	}
	if !rec.Offline && !s.cfg.Offline && rec.Op != OpRedrive {
		b, _ := json.Marshal(LastJob{ID: rec.ID, Op: rec.Op, Status: StatusInterrupted, Ended: now.UTC()})
		if terr := engine.SetStackTag(ctx, s.engine(rec.Stack, nil), TagLastJob, string(b)); terr != nil && !errors.Is(terr, engine.ErrNoStack) {
			s.cfg.Log.Info("the stack keeps no record of its last job", "stack", rec.Stack, "error", terr.Error())
		}
	}
	if err := s.store.Finish(ctx, rec); err != nil {
		return err
	}
	s.cfg.Log.Info("job interrupted: recovered", "job", rec.ID, "stack", rec.Stack, "error", rec.Error)
	return nil
}
