package portal

import (
	"encoding/json"
	"net/http"

	"github.com/hookline/hookline/portal/jobs"
)

// The API's handlers parse the request, call the service and render its
// answer as JSON; every refusal goes through fail.

// validateStack is the instant check: the offline plan with policies and
// cost.
func (s *Server) validateStack(w http.ResponseWriter, r *http.Request, id Identity) {
	team, req, raw, err := readRequest(r, id)
	if err == nil {
		var v *validation
		if v, err = s.validate(team, req, raw); err == nil {
			writeJSON(w, http.StatusOK, v)
			return
		}
	}
	s.fail(w, err)
}

// preview runs a preview of the body's request as a job.
func (s *Server) preview(w http.ResponseWriter, r *http.Request, id Identity) {
	team, req, raw, err := readRequest(r, id)
	if err != nil {
		s.fail(w, err)
		return
	}
	uc := &jobs.Preview{Service: s.jobs, Team: team, Stack: StackName(team, req.Env), Request: req.jobRequest(team, raw)}
	j, err := uc.Run(r.Context())
	s.started(w, id, team, j, err)
}

// apply runs an apply of the body's request (previewed before) as a job.
func (s *Server) apply(w http.ResponseWriter, r *http.Request, id Identity) {
	team, req, raw, err := readRequest(r, id)
	if err != nil {
		s.fail(w, err)
		return
	}
	uc := &jobs.Apply{Service: s.jobs, Team: team, Stack: StackName(team, req.Env), Request: req.jobRequest(team, raw), ConfirmDeletes: req.ConfirmDeletes}
	j, err := uc.Run(r.Context())
	s.started(w, id, team, j, err)
}

// destroy destroys the stack as a job; the body's confirm repeats its name.
func (s *Server) destroy(w http.ResponseWriter, r *http.Request, id Identity) {
	team, env, err := pathStack(r, id)
	if err != nil {
		s.fail(w, err)
		return
	}
	var body struct {
		Confirm string `json:"confirm"`
	}
	_ = json.NewDecoder(r.Body).Decode(&body) // a body that does not decode confirms nothing
	uc := &jobs.Destroy{Service: s.jobs, Team: team, Stack: StackName(team, env), Confirm: body.Confirm}
	j, err := uc.Run(r.Context())
	s.started(w, id, team, j, err)
}

// redrive redrives a source's DLQ as a job: {groups: [...]} in order, or
// no body for the whole DLQ.
func (s *Server) redrive(w http.ResponseWriter, r *http.Request, id Identity) {
	var body struct {
		Groups []string `json:"groups"`
	}
	if r.ContentLength != 0 {
		if err := decodeStrict(r, &body); err != nil {
			s.fail(w, &FieldError{Field: "body", Message: "want {groups: [...]} or nothing (the whole DLQ)"})
			return
		}
	}
	team, env, err := pathStack(r, id)
	if err != nil {
		s.fail(w, err)
		return
	}
	uc := &jobs.Redrive{Service: s.jobs, Team: team, Stack: StackName(team, env), Source: r.PathValue("source"), Groups: body.Groups}
	j, err := uc.Run(r.Context())
	s.started(w, id, team, j, err)
}

// started renders a use case's answer: its job, started (202), or its
// refusal. The API keys of an apply show to the owning team only.
func (s *Server) started(w http.ResponseWriter, id Identity, team string, j *jobs.Job, err error) {
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, j.View(id.Team == team))
}

// putSecret sets a source's secret: {kind, value, keepPrevious}.
func (s *Server) putSecret(w http.ResponseWriter, r *http.Request, id Identity) {
	team, env, err := pathStack(r, id)
	if err != nil {
		s.fail(w, err)
		return
	}
	var body SecretInput
	if err := decodeStrict(r, &body); err != nil {
		s.fail(w, &FieldError{Field: "body", Message: "want {kind, value, keepPrevious}"})
		return
	}
	v, err := s.setSecret(r.Context(), team, StackName(team, env), r.PathValue("source"), body)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// getDLQ shows a source's DLQ.
func (s *Server) getDLQ(w http.ResponseWriter, r *http.Request, id Identity) {
	team, env, err := pathStack(r, id)
	if err != nil {
		s.fail(w, err)
		return
	}
	v, err := s.dlq(r.Context(), team, StackName(team, env), r.PathValue("source"))
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// listStacks lists the stacks the caller sees.
func (s *Server) listStacks(w http.ResponseWriter, r *http.Request, id Identity) {
	vs, err := s.stacks(r.Context(), id)
	if err != nil {
		s.fail(w, err)
		return
	}
	if vs == nil {
		vs = []StackView{}
	}
	writeJSON(w, http.StatusOK, vs)
}

// showStack shows one stack with its outputs.
func (s *Server) showStack(w http.ResponseWriter, r *http.Request, id Identity) {
	team, env, err := pathStack(r, id)
	if err != nil {
		s.fail(w, err)
		return
	}
	v, err := s.stack(r.Context(), id, team, env)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// showJob shows a job (the API keys of an apply to the owning team only).
func (s *Server) showJob(w http.ResponseWriter, r *http.Request, id Identity) {
	j, err := s.job(r.Context(), id, r.PathValue("id"))
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, j.View(id.Team == j.Team()))
}
