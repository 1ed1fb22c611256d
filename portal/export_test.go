package portal

import "net/http/httptest"

// StartTestJob registers a running job of team on stack, as an operation
// would, and returns its id and the function that ends it; or the status a
// refusal answered with.
func (s *Server) StartTestJob(team, stack string) (string, func(error), int) {
	rec := httptest.NewRecorder()
	j, ok := s.startJob(rec, team, stack, "preview", nil)
	if !ok {
		return "", nil, rec.Code
	}
	return j.ID, func(err error) { s.done(j, err) }, 0
}

// HoldPlanSlot takes one offline-plan slot until the returned function runs.
func (s *Server) HoldPlanSlot() func() {
	s.plans <- struct{}{}
	return func() { <-s.plans }
}

// HoldRedrive registers a running redrive of source on stack, as
// startRedrive would, and returns the function that ends it.
func (s *Server) HoldRedrive(team, stack, source string) func() {
	j, ok := s.startLocked(httptest.NewRecorder(), team, stack, "redrive", stack+"/redrive/"+source, "a redrive")
	if !ok {
		panic("portal: could not hold the redrive")
	}
	return func() { s.done(j, nil) }
}

// RunningJobs counts the jobs running, per team and in all.
func (s *Server) RunningJobs() (map[string]int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	per := map[string]int{}
	for _, jid := range s.busy {
		per[s.jobs[jid].Team]++
	}
	return per, len(s.busy)
}
