package portal

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"

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
}

// Job is one long operation (preview, apply, destroy) on a stack. The
// embedded view is guarded by mu.
type Job struct {
	JobView

	request *Request
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
