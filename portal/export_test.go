package portal

import (
	"context"

	"github.com/hookline/hookline/portal/jobs"
)

// StartTestJob registers a running job of team on stack, as an operation
// would, and returns its id and the function that ends it (once it
// returns, the job has ended and released the stack); or the status a
// refusal answers with.
func (s *Server) StartTestJob(team, stack string) (string, func(error), int) {
	return s.hold(jobs.Spec{Team: team, Stack: stack, Op: jobs.OpPreview, What: "another operation"})
}

// HoldPlanSlot takes one offline-plan slot until the returned function runs.
func (s *Server) HoldPlanSlot() func() {
	s.plans <- struct{}{}
	return func() { <-s.plans }
}

// HoldRedrive registers a running redrive of source on stack, as a
// redrive would, and returns the function that ends it.
func (s *Server) HoldRedrive(team, stack, source string) func() {
	_, end, code := s.hold(jobs.Spec{Team: team, Stack: stack, Op: jobs.OpRedrive, Lock: jobs.RedriveLock(stack, source), What: "a redrive of source " + source})
	if code != 0 {
		panic("portal: could not hold the redrive")
	}
	return func() { end(nil) }
}

// hold starts a job of spec that runs until the returned function ends it.
func (s *Server) hold(spec jobs.Spec) (string, func(error), int) {
	end := make(chan error)
	j, err := s.jobs.Go(context.Background(), spec, func(context.Context, *jobs.Job) error { return <-end })
	if err != nil {
		code, _, _ := status(err)
		return "", nil, code
	}
	return j.ID(), func(err error) { end <- err; <-j.Done() }, 0
}

// RunningJobs counts the jobs running, per team and in all.
func (s *Server) RunningJobs() (map[string]int, int) {
	per, err := s.jobs.Running(context.Background())
	if err != nil {
		panic(err)
	}
	all := 0
	for _, n := range per {
		all += n
	}
	return per, all
}
