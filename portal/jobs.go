package portal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"

	"github.com/hookline/hookline/engine"
	"github.com/hookline/hookline/ops"
	"github.com/hookline/hookline/plan"
	"github.com/hookline/hookline/policy/rules"
	"github.com/hookline/hookline/stackconfig"
	"github.com/hookline/hookline/stackoutputs"
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
	// Outputs are an apply's stack outputs (its API keys for the owning
	// team only).
	Outputs *stackoutputs.Stack `json:"outputs,omitempty"`
	// Plan is the job's steps and findings grouped by source.
	Plan []SourcePlan `json:"plan,omitempty"`
	// Progress is how far the job is, by operation.
	Progress Progress `json:"progress"`
}

// Job is one long operation (preview, apply, destroy, redrive) on a stack. The
// embedded view is guarded by mu.
type Job struct {
	JobView

	request *Request
	hash    string // the request's hash (engine jobs with a request)
	lock    string // the busy key it holds: its stack, or a source's redrive
	track   *tracker
	mu      sync.Mutex
	lines   []string
	notify  chan struct{}
}

func newJobID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (j *Job) logf(format string, a ...any) {
	j.mu.Lock()
	j.lines = append(j.lines, fmt.Sprintf(format, a...))
	j.changed()
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
	j.track.end(err == nil)
	if err != nil {
		j.Status, j.Error = "failed", err.Error()
		j.lines = append(j.lines, "failed: "+err.Error())
	} else {
		j.Status = "succeeded"
		j.lines = append(j.lines, "succeeded")
	}
	j.changed()
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
	if steps := j.track.steps(); len(steps) > 0 || len(c.Violations) > 0 {
		c.Plan = groupBySource(j.Stack, j.sourceNames(), steps, c.Violations)
	}
	c.Progress = j.track.progress(elapsed(c.Started, c.Ended))
	c.Outputs = visibleOutputs(j.Outputs, withKeys)
	return c
}

// elapsed is how long a job has run (until ended, when it has).
func elapsed(started time.Time, ended *time.Time) time.Duration {
	if ended != nil {
		return ended.Sub(started)
	}
	return time.Since(started)
}

// progressNow is the job's Progress now.
func (j *Job) progressNow() Progress {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.track.progress(elapsed(j.Started, j.Ended))
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

// changed tells the job's watchers that something changed (caller holds
// j.mu).
func (j *Job) changed() {
	close(j.notify)
	j.notify = make(chan struct{})
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
		return "summary: " + changeText(ev.SummaryEvent.ResourceChanges)
	}
	return ""
}

// changeText says what an operation's counts are, in opOrder's order:
// "3 create, 1 update, 40 unchanged" ("no changes" for none).
func changeText[K ~string](counts map[K]int) string {
	var parts []string
	seen := map[string]bool{}
	add := func(op, label string) {
		if n := counts[K(op)]; n > 0 && !seen[op] {
			parts = append(parts, fmt.Sprintf("%d %s", n, label))
		}
		seen[op] = true
	}
	for _, o := range opOrder {
		add(o.op, o.label)
	}
	rest := make([]string, 0, len(counts))
	for op := range counts {
		rest = append(rest, string(op))
	}
	sort.Strings(rest)
	for _, op := range rest {
		add(op, op)
	}
	if len(parts) == 0 {
		return "no changes"
	}
	return strings.Join(parts, ", ")
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
		line := eventLine(ev)
		if line == "" && ev.ResourcePreEvent == nil && ev.ResOutputsEvent == nil && ev.ResOpFailedEvent == nil {
			return // nothing a watcher shows changed
		}
		j.mu.Lock()
		switch {
		case ev.ResourcePreEvent != nil:
			m := ev.ResourcePreEvent.Metadata
			j.track.pre(string(m.Op), m.Type, m.URN)
		case ev.ResOutputsEvent != nil:
			j.track.post(ev.ResOutputsEvent.Metadata.URN, false)
		case ev.ResOpFailedEvent != nil:
			j.track.post(ev.ResOpFailedEvent.Metadata.URN, true)
		}
		if line != "" {
			j.lines = append(j.lines, line)
		}
		j.changed()
		j.mu.Unlock()
	}
	return o
}

// startJob registers a job on stack unless the stack is busy (409) or the
// portal or the team runs as many jobs as its limits allow (429).
func (s *Server) startJob(w http.ResponseWriter, team, stack, op string, req *Request) (*Job, bool) {
	j, ok := s.startLocked(w, team, stack, op, stack, "another operation")
	if ok && req != nil {
		j.request, j.hash = req, req.Hash(team)
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
	unit := "resources"
	if op == "redrive" {
		unit = "messages"
	}
	j := &Job{JobView: JobView{ID: newJobID(), Team: team, Stack: stack, Op: op, Status: "running", Started: time.Now()},
		lock: lock, notify: make(chan struct{}), track: newTracker(unit)}
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
	// The stack remembers its last job for the overview (a destroyed
	// stack is gone, and a job that could not open its stack leaves none).
	last := LastJob{ID: j.ID, Op: j.Op, Status: "succeeded", Ended: time.Now().UTC()}
	if err != nil {
		last.Status = "failed"
	}
	if !(j.Op == "destroy" && err == nil) {
		b, _ := json.Marshal(last)
		if terr := engine.SetStackTag(context.Background(), s.engineOptions(j.Stack, nil), tagLastJob, string(b)); terr != nil {
			s.opts.Log.Info("the stack keeps no record of its last job", "stack", j.Stack, "error", terr.Error())
		}
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
	switch {
	case errors.Is(err, engine.ErrNoStack):
		owner = "" // a new stack: the first job's team will own it
	case err != nil:
		// Fail closed: an unreadable owner is never "no owner".
		writeError(w, http.StatusInternalServerError, "", "read the owner of stack "+stack+": "+err.Error())
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
			previewed, err := st.Tag(ctx, tagPreviewed)
			if err != nil {
				s.done(j, err)
				return
			}
			if previewed != hash {
				s.done(j, errors.New("apply needs a passed preview of this same request first"))
				return
			}
			j.update(func(t *tracker) { t.expectedOps = s.previewed(stack, hash) })
			res, err := st.Up(ctx)
			j.record(res)
			if err == nil {
				// The overview's summary; the stack is deployed either way.
				if terr := s.recordDeployed(ctx, st, j, raw); terr != nil {
					j.logf("warning: the stack keeps no summary of this apply for the overview: %v", terr)
				}
			}
			if res != nil && err == nil {
				var outs *stackoutputs.Stack
				if outs, err = readOutputs(res.Outputs); err != nil {
					err = fmt.Errorf("the stack is applied, but its outputs do not read: %w", err)
				}
				j.mu.Lock()
				j.Outputs = outs
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
	n := 0
	for _, r := range res.Resources {
		if counted(r.Type) {
			n++
		}
	}
	j.update(func(t *tracker) { t.expected = n })
	var blocked []string
	for _, v := range res.Policies {
		j.logf("policy %s %s on %s: %s", v.Level, v.Policy, urnName(v.URN), v.Message)
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

// update changes the job's tracker and tells its watchers.
func (j *Job) update(f func(*tracker)) {
	j.mu.Lock()
	f(j.track)
	j.changed()
	j.mu.Unlock()
}

// previewed counts, by operation, the resources the last passed preview of
// the request hash on stack touched (nil when no such preview is
// remembered): what an apply of it expects.
func (s *Server) previewed(stack, hash string) map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var best *Job
	for _, p := range s.jobs {
		if p.Op == "preview" && p.Stack == stack && p.hash == hash && (best == nil || p.Started.After(best.Started)) {
			best = p
		}
	}
	if best == nil {
		return nil
	}
	best.mu.Lock()
	defer best.mu.Unlock()
	if best.Status != "succeeded" {
		return nil
	}
	out := map[string]int{}
	for _, r := range best.track.res {
		out[r.class]++
	}
	return out
}

// recordDeployed keeps, as a stack tag, what a successful apply left: the
// number of sources and resources and the estimated monthly cost at the
// stack's expected traffic (the cost model of hookline cost).
func (s *Server) recordDeployed(ctx context.Context, st *engine.Stack, j *Job, raw map[string]string) error {
	cfg, err := stackconfig.Load(j.Stack, raw, true, nil)
	if err != nil {
		return err
	}
	est := ops.StackCost(cfg, ops.Traffic(cfg.Traffic), ops.DefaultPrices)
	j.mu.Lock()
	d := Deployed{Sources: len(cfg.Sources), Resources: j.track.remaining(), MonthlyUSD: est.Total, WebhooksPerSecond: cfg.Traffic.RPS}
	j.mu.Unlock()
	b, _ := json.Marshal(d)
	return st.SetTag(ctx, tagDeployed, string(b))
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
