package jobs_test

import (
	"context"
	"errors"
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
