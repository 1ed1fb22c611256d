package jobs_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookline/hookline/portal/jobs"
)

// TestServiceRunsJobs: Go leases the job's lock and runs its work apart
// from the request; the job's view follows it from running to its end; a
// second job on the lock is a *BusyError that says what holds it; a
// finished job is found until the retention passes. (No engine: the
// stack's last-job tag cannot be written, which a job only logs.)
func TestServiceRunsJobs(t *testing.T) {
	svc := jobs.New(jobs.Config{Limits: jobs.Limits{Jobs: 4, TeamJobs: 2}, Retention: 200 * time.Millisecond})
	release := make(chan error)
	req, cancel := context.WithCancel(context.Background())
	j, err := svc.Go(req, jobs.Spec{Team: "pay", Stack: "pay-dev", Op: jobs.OpPreview, What: "another operation"},
		func(ctx context.Context, j *jobs.Job) error {
			<-ctx.Done() // never: the job is not bound to its request
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	time.Sleep(50 * time.Millisecond)
	if j.Status() != jobs.StatusRunning {
		t.Fatalf("the job ended with the request that started it: %s", j.Status())
	}
	blocked, err := svc.Go(context.Background(), jobs.Spec{Team: "pay", Stack: "pay-dev", Op: jobs.OpApply, What: "another operation"},
		func(context.Context, *jobs.Job) error { return nil })
	var busy *jobs.BusyError
	if blocked != nil || !errors.As(err, &busy) || err.Error() != "stack pay-dev is busy with another operation" || busy.Job != j.ID() {
		t.Fatalf("a second job on the stack: %v", err)
	}

	r, err := svc.Go(context.Background(), jobs.Spec{Team: "pay", Stack: "pay-dev", Op: jobs.OpRedrive, Lock: jobs.RedriveLock("pay-dev", "orders")},
		func(ctx context.Context, j *jobs.Job) error { return <-release })
	if err != nil {
		t.Fatalf("a redrive beside the stack's job: %v", err)
	}
	if v := r.View(true); v.Status != jobs.StatusRunning || v.Progress.Unit != "messages" || v.Op != jobs.OpRedrive {
		t.Errorf("a running redrive: %+v", v)
	}
	var limit *jobs.LimitError
	if _, err := svc.Go(context.Background(), jobs.Spec{Team: "pay", Stack: "pay-prod", Op: jobs.OpPreview},
		func(context.Context, *jobs.Job) error { return nil }); !errors.As(err, &limit) {
		t.Errorf("a team at its limit is admitted: %v", err)
	}
	if got, _ := svc.Running(context.Background()); got["pay"] != 2 {
		t.Errorf("running: %v", got)
	}
	release <- errors.New("the DLQ is gone")
	<-r.Done()
	v := r.View(true)
	if v.Status != jobs.StatusFailed || v.Error != "the DLQ is gone" || v.Ended == nil {
		t.Errorf("the failed redrive: %+v", v)
	}
	if lines, ended, _ := r.Since(0); !ended || lines[len(lines)-1] != "failed: the DLQ is gone" {
		t.Errorf("its log: %v (ended %v)", lines, ended)
	}
	if got, err := svc.Job(context.Background(), r.ID()); err != nil || got != r {
		t.Errorf("the finished job: %v %v", got, err)
	}
	time.Sleep(300 * time.Millisecond)
	var nf *jobs.NotFoundError
	if _, err := svc.Job(context.Background(), r.ID()); !errors.As(err, &nf) || err.Error() != "no such job" {
		t.Errorf("a job past its retention: %v", err)
	}
}

// TestCheckHoldsTheReservation: a job's Check runs holding its slot and
// lock, so a request over the limit meanwhile is refused without its own
// Check running (no engine call spent on it); a Check that fails is Go's
// error and abandons its job, freeing the slot and the lock at once.
func TestCheckHoldsTheReservation(t *testing.T) {
	svc := jobs.New(jobs.Config{Limits: jobs.Limits{Jobs: 1, TeamJobs: 1}, Retention: time.Hour})
	ctx := context.Background()
	nothing := func(context.Context, *jobs.Job) error { return nil }
	checking, verdict := make(chan struct{}), make(chan error)
	first := make(chan error, 1)
	go func() {
		_, err := svc.Go(ctx, jobs.Spec{Team: "pay", Stack: "pay-dev", Op: jobs.OpDestroy,
			Check: func(context.Context) error { close(checking); return <-verdict }}, nothing)
		first <- err
	}()
	<-checking
	checked := 0
	var limit *jobs.LimitError
	if _, err := svc.Go(ctx, jobs.Spec{Team: "pay", Stack: "pay-b", Op: jobs.OpDestroy,
		Check: func(context.Context) error { checked++; return nil }}, nothing); !errors.As(err, &limit) {
		t.Errorf("a job while another's check holds the only slot: %v, want a *LimitError", err)
	}
	if checked != 0 {
		t.Errorf("a refused job's check ran %d time(s)", checked)
	}
	if got, _ := svc.Running(ctx); got["pay"] != 1 {
		t.Errorf("running while the first job checks: %v", got)
	}
	notYours := &jobs.NotYoursError{Stack: "pay-dev", Owner: "ops"}
	verdict <- notYours
	if err := <-first; err != notYours {
		t.Errorf("Go with a failed check: %v, want the check's error", err)
	}
	if got, _ := svc.Running(ctx); len(got) != 0 {
		t.Errorf("an abandoned job still counts: %v", got)
	}
	if h, _ := svc.Holder(ctx, "pay-dev"); h != "" {
		t.Errorf("an abandoned job still holds its stack: %q", h)
	}
	j, err := svc.Go(ctx, jobs.Spec{Team: "pay", Stack: "pay-dev", Op: jobs.OpDestroy,
		Check: func(context.Context) error { return nil }}, nothing)
	if err != nil {
		t.Fatalf("a job after an abandoned one: %v", err)
	}
	<-j.Done()
}

// TestErrors: each error says what a caller can act on, with the field
// named.
func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&jobs.InvalidError{Field: "confirm", Message: "set confirm"}, "confirm: set confirm"},
		{&jobs.NotFoundError{Message: "no such job"}, "no such job"},
		{&jobs.NotYoursError{Stack: "pay-dev", Owner: "ops"}, "stack pay-dev is tagged hookline:team=ops: its name and its owner disagree, so the portal leaves it alone"},
		{&jobs.LimitError{What: "team pay runs 2 jobs, its limit"}, "team pay runs 2 jobs, its limit; retry later"},
		{&jobs.UpstreamError{What: "read the DLQ", Err: errors.New("403")}, "read the DLQ: 403"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("%T: %q, want %q", tc.err, got, tc.want)
		}
	}
}

// mortal is a process's view of a shared store that stops answering once
// the process is dead: its writes fail, as a killed process's would never
// arrive.
type mortal struct {
	jobs.Store
	dead atomic.Bool
}

var errDead = errors.New("the process is dead")

func (m *mortal) Renew(ctx context.Context, id, owner string, until time.Time) error {
	if m.dead.Load() {
		return errDead
	}
	return m.Store.Renew(ctx, id, owner, until)
}

func (m *mortal) Append(ctx context.Context, id, owner string, from int, lines []string, shown *jobs.View) error {
	if m.dead.Load() {
		return errDead
	}
	return m.Store.Append(ctx, id, owner, from, lines, shown)
}

func (m *mortal) Finish(ctx context.Context, rec jobs.Record) error {
	if m.dead.Load() {
		return errDead
	}
	return m.Store.Finish(ctx, rec)
}

// TestJobsAcrossProcesses: two services (processes) share a store. A job
// A runs is read and followed from B, its log and progress as A stores
// them; when A dies mid-job, B's sweep finds the lease lapsed, marks the
// job interrupted (readers see it at once), says what to do, and frees
// the stack for a new job. (A redrive: no engine to unlock.)
func TestJobsAcrossProcesses(t *testing.T) {
	forEachStore(t, func(t *testing.T, shared jobs.Store) {
		ctx := context.Background()
		a := &mortal{Store: shared}
		cfg := jobs.Config{Limits: jobs.Limits{Jobs: 4, TeamJobs: 2}, Retention: time.Hour, Lease: 600 * time.Millisecond,
			Flush: 20 * time.Millisecond, Poll: 20 * time.Millisecond}
		ca, cb := cfg, cfg
		ca.Store, ca.Owner = a, "process-a"
		cb.Store, cb.Owner = shared, "process-b"
		pa, pb := jobs.New(ca), jobs.New(cb)

		stop := make(chan struct{})
		defer close(stop)
		moved := make(chan struct{})
		j, err := pa.Go(ctx, jobs.Spec{Team: "pay", Stack: "pay-dev", Op: jobs.OpRedrive, Lock: jobs.RedriveLock("pay-dev", "orders")},
			func(ctx context.Context, j *jobs.Job) error {
				jobs.LogForTest(j, "redrive the whole DLQ of orders")
				jobs.MovedForTest(j, 3, 10)
				close(moved)
				<-stop // never ends: its process dies first
				return nil
			})
		if err != nil {
			t.Fatal(err)
		}
		<-moved
		// B follows the job A runs.
		rj, err := pb.Job(ctx, j.ID())
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		var lines []string
		for len(lines) == 0 && time.Now().Before(deadline) {
			var changed <-chan struct{}
			lines, _, changed = rj.Since(0)
			<-changed
		}
		if len(lines) == 0 || lines[0] != "redrive the whole DLQ of orders" {
			t.Fatalf("B reads A's job's log: %v", lines)
		}
		for rj.Progress().Done != 3 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			rj, _ = pb.Job(ctx, j.ID())
		}
		if p := rj.Progress(); p.Done != 3 || p.Total != 10 || rj.View(true).Status != jobs.StatusRunning {
			t.Errorf("B reads A's job's progress: %+v", p)
		}
		if n, _ := pb.Sweep(ctx); n != 0 {
			t.Errorf("B's sweep took over a job whose process renews its lease")
		}

		a.dead.Store(true) // A is killed mid-job
		killed := time.Now()
		var v jobs.View
		for time.Now().Before(killed.Add(5 * time.Second)) {
			if _, err := pb.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
			if rj, err := pb.Job(ctx, j.ID()); err == nil {
				if v = rj.View(false); v.Status == jobs.StatusInterrupted && strings.Contains(v.Error, "run the redrive again") {
					break
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		if v.Status != jobs.StatusInterrupted || !strings.Contains(v.Error, "look at the DLQ and run the redrive again") {
			t.Fatalf("the job after its process died: %s %q", v.Status, v.Error)
		}
		if since := time.Since(killed); since < cfg.Lease/2 {
			t.Errorf("interrupted %v after the kill, before its lease could lapse", since)
		}
		rj, _ = pb.Job(ctx, j.ID())
		if all := rj.Lines(); !strings.HasPrefix(all[len(all)-1], "interrupted: the portal process running this job stopped") {
			t.Errorf("the interrupted job's log ends %q", all[len(all)-1])
		}
		if h, _ := pb.Holder(ctx, jobs.RedriveLock("pay-dev", "orders")); h != "" {
			t.Errorf("the interrupted redrive still holds its lock: %s", h)
		}
		if got, _ := pb.Running(ctx); len(got) != 0 {
			t.Errorf("running after the recovery: %v", got)
		}
	})
}
