package portal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/hookline/hookline/engine"
	"github.com/hookline/hookline/ops"
	"github.com/hookline/hookline/plan"
)

// validate is the instant check: the offline plan with policies and cost.
func (s *Server) validate(w http.ResponseWriter, r *http.Request, id Identity) {
	team, req, raw, ok := s.readRequest(w, r, id)
	if !ok {
		return
	}
	select {
	case s.plans <- struct{}{}:
		defer func() { <-s.plans }()
	default:
		s.tooMany(w, fmt.Sprintf("%d plans are running, the portal's limit", cap(s.plans)))
		return
	}
	res, err := plan.Run(plan.Options{Dir: s.opts.Engine.ProjectDir, Stack: StackName(team, req.Env), Config: raw, Policy: s.policy})
	if err != nil {
		writeError(w, http.StatusBadRequest, "body", err.Error())
		return
	}
	counts := map[string]int{}
	for _, r := range res.Resources {
		counts[r.Type]++
	}
	writeJSON(w, http.StatusOK, struct {
		Stack     string           `json:"stack"`
		Resources map[string]int   `json:"resources"`
		Policies  []plan.Violation `json:"policies"`
		Cost      *ops.Estimate    `json:"cost"`
	}{StackName(team, req.Env), counts, res.Policies, res.Cost})
}

// operate runs a preview or an apply as a job.
func (s *Server) operate(w http.ResponseWriter, r *http.Request, id Identity, op string) {
	team, req, raw, ok := s.readRequest(w, r, id)
	if !ok {
		return
	}
	s.launch(w, r.Context(), team, req, raw, op, func(j *Job) { writeJSON(w, http.StatusAccepted, j.snapshot(id.Team == team)) })
}

func (s *Server) destroy(w http.ResponseWriter, r *http.Request, id Identity) {
	team, env, ok := pathStack(w, r, id)
	if !ok {
		return
	}
	stack := StackName(team, env)
	var body struct {
		Confirm string `json:"confirm"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Confirm != stack {
		writeError(w, http.StatusBadRequest, "confirm", "set confirm to the stack name "+stack+" to destroy it")
		return
	}
	if !s.admit(w, team) || !s.owned(w, r.Context(), team, stack) {
		return
	}
	j, ok := s.startJob(w, team, stack, "destroy", nil)
	if !ok {
		return
	}
	writeJSON(w, http.StatusAccepted, j.snapshot(id.Team == team))
	go func() {
		ctx := context.Background()
		o := s.jobEngine(j, nil)
		tags, err := engine.StackTags(ctx, o)
		if err != nil && !errors.Is(err, engine.ErrNoStack) {
			s.done(j, err)
			return
		}
		var d Deployed
		if json.Unmarshal([]byte(tags[tagDeployed]), &d) == nil {
			j.update(func(t *tracker) { t.expectedOps = map[string]int{"delete": d.Resources} })
		}
		st, err := engine.Open(ctx, o)
		if err == nil {
			var res *engine.Result
			res, err = st.Destroy(ctx)
			j.record(res)
			if err == nil {
				err = st.Remove(ctx)
			}
		}
		s.done(j, err)
	}()
}

func (s *Server) listStacks(w http.ResponseWriter, r *http.Request, id Identity) {
	vs, err := s.stacks(r.Context(), id)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "", err.Error())
		return
	}
	if vs == nil {
		vs = []StackView{}
	}
	writeJSON(w, http.StatusOK, vs)
}

func (s *Server) showStack(w http.ResponseWriter, r *http.Request, id Identity) {
	team, env, ok := pathStack(w, r, id)
	if !ok {
		return
	}
	vs, err := s.stacks(r.Context(), id)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "", err.Error())
		return
	}
	for _, v := range vs {
		if v.Name == StackName(team, env) {
			outs, err := s.stackOutputs(r.Context(), v.Name)
			if err != nil {
				writeError(w, http.StatusInternalServerError, "", err.Error())
				return
			}
			v.Outputs = visibleOutputs(outs, id.Team == team)
			writeJSON(w, http.StatusOK, v)
			return
		}
	}
	writeError(w, http.StatusNotFound, "", "no such stack")
}

func (s *Server) job(id Identity, jid string) (*Job, bool) {
	s.mu.Lock()
	s.expire()
	j, ok := s.jobs[jid]
	s.mu.Unlock()
	if !ok || !id.may(j.Team) {
		return nil, false
	}
	return j, true
}

func (s *Server) showJob(w http.ResponseWriter, r *http.Request, id Identity) {
	j, ok := s.job(id, r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "", "no such job")
		return
	}
	writeJSON(w, http.StatusOK, j.snapshot(id.Team == j.Team))
}
