package portal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"

	"github.com/hookline/hookline/engine"
	"github.com/hookline/hookline/plan"
	"github.com/hookline/hookline/policy/rules"
)

// JobView is what the API shows of a job.
type JobView struct {
	ID         string            `json:"id"`
	Team       string            `json:"team"`
	Stack      string            `json:"stack"`
	Op         string            `json:"op"`
	Status     string            `json:"status"`
	Error      string            `json:"error,omitempty"`
	Started    time.Time         `json:"started"`
	Ended      *time.Time        `json:"ended,omitempty"`
	Changes    map[string]int    `json:"changes,omitempty"`
	Violations []rules.Violation `json:"violations"`
	Outputs    map[string]any    `json:"outputs,omitempty"`
	// Plan is the job's steps and findings grouped by source.
	Plan []SourcePlan `json:"plan,omitempty"`
}

// Job is one long operation (preview, apply, destroy) on a stack. The
// embedded view is guarded by mu.
type Job struct {
	JobView

	request *Request
	lock    string // the busy key it holds: its stack, or a source's redrive
	steps   []Step
	mu      sync.Mutex
	lines   []string
	notify  chan struct{}
	apiKeys any
}

func newJobID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (j *Job) logf(format string, a ...any) {
	j.mu.Lock()
	j.lines = append(j.lines, fmt.Sprintf(format, a...))
	close(j.notify)
	j.notify = make(chan struct{})
	j.mu.Unlock()
}

// since returns the lines after n, whether the job ended, and a channel
// closed on the next change.
func (j *Job) since(n int) ([]string, bool, <-chan struct{}) {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []string
	if n < len(j.lines) {
		out = append(out, j.lines[n:]...)
	}
	return out, j.Status != "running", j.notify
}

func (j *Job) finish(err error) {
	j.mu.Lock()
	now := time.Now()
	j.Ended = &now
	if err != nil {
		j.Status, j.Error = "failed", err.Error()
		j.lines = append(j.lines, "failed: "+err.Error())
	} else {
		j.Status = "succeeded"
		j.lines = append(j.lines, "succeeded")
	}
	close(j.notify)
	j.notify = make(chan struct{})
	j.mu.Unlock()
}

// snapshot is a copy safe to serialise.
func (j *Job) snapshot(withKeys bool) JobView {
	j.mu.Lock()
	defer j.mu.Unlock()
	c := j.JobView
	if c.Violations == nil {
		c.Violations = []rules.Violation{}
	}
	if len(j.steps) > 0 || len(c.Violations) > 0 {
		c.Plan = groupBySource(j.sourceNames(), j.steps, c.Violations)
	}
	if j.Outputs != nil {
		c.Outputs = map[string]any{}
		for k, v := range j.Outputs {
			c.Outputs[k] = v
		}
		if withKeys && j.apiKeys != nil {
			c.Outputs["apiKeys"] = j.apiKeys
		}
	}
	return c
}

// sourceNames are the sources of the job's request.
func (j *Job) sourceNames() []string {
	var out []string
	if j.request == nil {
		return out
	}
	for _, raw := range j.request.Sources {
		var s struct {
			Name string `json:"name"`
		}
		if json.Unmarshal(raw, &s) == nil && s.Name != "" {
			out = append(out, s.Name)
		}
	}
	return out
}

// step records a resource's operation (caller holds nothing).
func (j *Job) step(op, typ, urn string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.steps = append(j.steps, Step{Op: op, Type: typ, Name: urnName(urn), URN: urn})
}

// eventLine renders an engine event for the progress stream. Values never
// appear, only what happens to which resource: no secret can leak.
func eventLine(ev events.EngineEvent) string {
	switch {
	case ev.ResourcePreEvent != nil:
		m := ev.ResourcePreEvent.Metadata
		if m.Op == "same" {
			return ""
		}
		return fmt.Sprintf("%s %s %s", m.Op, m.Type, urnName(m.URN))
	case ev.ResOutputsEvent != nil:
		m := ev.ResOutputsEvent.Metadata
		if m.Op == "same" {
			return ""
		}
		return fmt.Sprintf("done %s %s", m.Op, urnName(m.URN))
	case ev.PolicyEvent != nil:
		p := ev.PolicyEvent
		msg, _, _ := strings.Cut(p.Message, "\n")
		return fmt.Sprintf("policy %s %s on %s: %s", p.EnforcementLevel, p.PolicyName, urnName(p.ResourceURN), msg)
	case ev.DiagnosticEvent != nil && (ev.DiagnosticEvent.Severity == "error" || ev.DiagnosticEvent.Severity == "warning"):
		return ev.DiagnosticEvent.Severity + ": " + strings.TrimSpace(ev.DiagnosticEvent.Message)
	case ev.SummaryEvent != nil:
		return fmt.Sprintf("summary: %v", ev.SummaryEvent.ResourceChanges)
	}
	return ""
}

func urnName(urn string) string {
	if i := strings.LastIndex(urn, "::"); i >= 0 {
		return urn[i+2:]
	}
	return urn
}

func (s *Server) engineOptions(stack string, raw map[string]string) engine.Options {
	o := s.opts.Engine
	o.Stack, o.Config = stack, raw
	return o
}

// jobEngine is the engine options of a job: its stack, the request's
// config, and the engine's events as the job's progress lines.
func (s *Server) jobEngine(j *Job, raw map[string]string) engine.Options {
	o := s.engineOptions(j.Stack, raw)
	o.Events = func(ev events.EngineEvent) {
		if ev.ResourcePreEvent != nil {
			if m := ev.ResourcePreEvent.Metadata; m.Op != "same" && m.Type != "pulumi:pulumi:Stack" && !strings.HasPrefix(m.Type, "hookline:") {
				j.step(string(m.Op), m.Type, m.URN)
			}
		}
		if line := eventLine(ev); line != "" {
			j.logf("%s", line)
		}
	}
	return o
}

// startJob registers a job on stack unless the stack is busy (409) or the
// portal or the team runs as many jobs as its limits allow (429).
func (s *Server) startJob(w http.ResponseWriter, team, stack, op string, req *Request) (*Job, bool) {
	j, ok := s.startLocked(w, team, stack, op, stack, "another operation")
	if ok {
		j.request = req
	}
	return j, ok
}

// startLocked registers a job holding lock (the stack for engine jobs, a
// source's redrive for redrives) unless lock is held (409, naming what
// holds it) or a limit is reached (429).
func (s *Server) startLocked(w http.ResponseWriter, team, stack, op, lock, what string) (*Job, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire()
	if jid, busy := s.busy[lock]; busy {
		writeJSON(w, http.StatusConflict, struct {
			apiError
			Job string `json:"job"`
		}{apiError{Error: "stack " + stack + " is busy with " + what}, jid})
		return nil, false
	}
	if !s.admitLocked(w, team) {
		return nil, false
	}
	j := &Job{JobView: JobView{ID: newJobID(), Team: team, Stack: stack, Op: op, Status: "running", Started: time.Now()},
		lock: lock, notify: make(chan struct{})}
	s.jobs[j.ID] = j
	s.busy[lock] = j.ID
	return j, true
}

// admit answers 429 when team, or the portal, runs as many jobs as its
// limits allow. launch asks before the stack's tag is read, so a refused
// request costs nothing; startJob asks again when it registers the job.
func (s *Server) admit(w http.ResponseWriter, team string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.admitLocked(w, team)
}

func (s *Server) admitLocked(w http.ResponseWriter, team string) bool {
	teamJobs := 0
	for _, jid := range s.busy {
		if s.jobs[jid].Team == team {
			teamJobs++
		}
	}
	switch {
	case teamJobs >= s.opts.Limits.TeamJobs:
		s.tooMany(w, fmt.Sprintf("team %s runs %d jobs, its limit", team, teamJobs))
		return false
	case len(s.busy) >= s.opts.Limits.Jobs:
		s.tooMany(w, fmt.Sprintf("the portal runs %d jobs, its limit", len(s.busy)))
		return false
	}
	return true
}

// expire forgets the jobs that ended more than JobRetention ago (caller
// holds s.mu).
func (s *Server) expire() {
	cutoff := time.Now().Add(-s.opts.Limits.JobRetention)
	for id, j := range s.jobs {
		j.mu.Lock()
		old := j.Ended != nil && j.Ended.Before(cutoff)
		j.mu.Unlock()
		if old {
			delete(s.jobs, id)
		}
	}
}

func (s *Server) done(j *Job, err error) {
	if errors.Is(err, engine.ErrConcurrentUpdate) {
		err = fmt.Errorf("busy: %w", err)
	}
	j.finish(err)
	s.mu.Lock()
	delete(s.busy, j.lock)
	s.mu.Unlock()
	s.opts.Log.Info("job finished", "job", j.ID, "stack", j.Stack, "op", j.Op, "status", j.Status)
}

// owned reports whether team may operate on stack: its hookline:team tag
// (the portal writes it when it first opens a stack) names team, or it has
// none yet (a new stack). A stack whose tag names another team is refused
// with 409: its name and its tag disagree.
func (s *Server) owned(w http.ResponseWriter, ctx context.Context, team, stack string) bool {
	o := s.engineOptions(stack, nil)
	owner, err := engine.StackTag(ctx, o, tagTeam)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "", err.Error())
		return false
	}
	if owner != "" && owner != team {
		writeError(w, http.StatusConflict, "", fmt.Sprintf("stack %s is tagged %s=%s: its name and its owner disagree, so the portal leaves it alone", stack, tagTeam, owner))
		return false
	}
	return true
}

// launch starts the job of op for a validated request.
func (s *Server) launch(w http.ResponseWriter, ctx context.Context, team string, req *Request, raw map[string]string, op string, accepted func(*Job)) {
	stack := StackName(team, req.Env)
	if !s.admit(w, team) || !s.owned(w, ctx, team, stack) {
		return
	}
	j, ok := s.startJob(w, team, stack, op, req)
	if !ok {
		return
	}
	accepted(j)
	go func() {
		ctx := context.Background()
		o := s.jobEngine(j, raw)
		j.logf("%s %s: opening the stack", op, stack)
		st, err := engine.Open(ctx, o)
		if err != nil {
			s.done(j, err)
			return
		}
		_ = st.SetTag(ctx, tagTeam, team)
		hash := req.Hash(team)
		switch op {
		case "preview":
			// The offline plan runs the pack's rules with every value known
			// (a new stack's preview cannot see ARNs yet), then the engine
			// previews with the pack itself.
			if blocked := s.offlinePolicies(j, stack, raw); blocked != nil {
				s.done(j, blocked)
				return
			}
			res, err := st.Preview(ctx)
			j.record(res)
			if err == nil {
				err = st.SetTag(ctx, tagPreviewed, hash)
			}
			s.done(j, err)
		case "apply":
			if st.Tag(ctx, tagPreviewed) != hash {
				s.done(j, errors.New("apply needs a passed preview of this same request first"))
				return
			}
			res, err := st.Up(ctx)
			j.record(res)
			if res != nil && err == nil {
				j.mu.Lock()
				j.Outputs = map[string]any{}
				for k, v := range res.Outputs {
					if k == "apiKeys" {
						j.apiKeys = v.Value
						continue
					}
					j.Outputs[k] = v.Value
				}
				j.mu.Unlock()
			}
			s.done(j, err)
		}
	}()
}

// offlinePolicies runs the policy rules over the offline plan of the
// request; mandatory findings block the preview.
func (s *Server) offlinePolicies(j *Job, stack string, raw map[string]string) error {
	res, err := plan.Run(plan.Options{Dir: s.opts.Engine.ProjectDir, Stack: stack, Config: raw, Policy: s.policy})
	if err != nil {
		return err
	}
	var blocked []string
	for _, v := range res.Policies {
		j.logf("policy %s %s on %s: %s", v.Level, v.Policy, v.URN, v.Message)
		j.mu.Lock()
		j.Violations = append(j.Violations, v)
		j.mu.Unlock()
		if v.Level == rules.Mandatory {
			blocked = append(blocked, v.Policy)
		}
	}
	if len(blocked) > 0 {
		return fmt.Errorf("blocked by mandatory policies: %s", strings.Join(blocked, ", "))
	}
	return nil
}

func (j *Job) record(res *engine.Result) {
	if res == nil {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.Changes = res.Changes
	for _, v := range res.Violations {
		j.Violations = append(j.Violations, v)
	}
}
