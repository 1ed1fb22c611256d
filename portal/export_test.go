package portal

// StartTestJob registers a running job of team on stack, as an operation
// would, and returns its id and the function that ends it.
func (s *Server) StartTestJob(team, stack string) (string, func(error)) {
	j, _ := s.startJob(nil, team, stack, "preview", nil)
	return j.ID, func(err error) { s.done(j, err) }
}
