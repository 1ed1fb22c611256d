package jobs

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
)

// engineEvents is the engine's event sink of a job: each event a watcher
// sees becomes a line of its log and a step of its progress.
func (j *Job) engineEvents(ev events.EngineEvent) {
	line := eventLine(ev)
	if line == "" && ev.ResourcePreEvent == nil && ev.ResOutputsEvent == nil && ev.ResOpFailedEvent == nil {
		return // nothing a watcher shows changed
	}
	j.mu.Lock()
	defer j.mu.Unlock()
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
		return fmt.Sprintf("%s %s %s", m.Op, m.Type, ResourceName(m.URN))
	case ev.ResOutputsEvent != nil:
		m := ev.ResOutputsEvent.Metadata
		if m.Op == "same" {
			return ""
		}
		return fmt.Sprintf("done %s %s", m.Op, ResourceName(m.URN))
	case ev.PolicyEvent != nil:
		p := ev.PolicyEvent
		msg, _, _ := strings.Cut(p.Message, "\n")
		return fmt.Sprintf("policy %s %s on %s: %s", p.EnforcementLevel, p.PolicyName, ResourceName(p.ResourceURN), msg)
	case ev.DiagnosticEvent != nil && (ev.DiagnosticEvent.Severity == "error" || ev.DiagnosticEvent.Severity == "warning"):
		return ev.DiagnosticEvent.Severity + ": " + strings.TrimSpace(ev.DiagnosticEvent.Message)
	case ev.SummaryEvent != nil:
		return "summary: " + ChangeText(ev.SummaryEvent.ResourceChanges)
	}
	return ""
}

// ChangeText says what an operation's counts are, in the order operations
// are shown: "3 create, 1 update, 40 unchanged" ("no changes" for none).
func ChangeText[K ~string](counts map[K]int) string {
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

// ResourceName is the name part of a resource's URN.
func ResourceName(urn string) string {
	if i := strings.LastIndex(urn, "::"); i >= 0 {
		return urn[i+2:]
	}
	return urn
}
