package jobs

import (
	"slices"
	"sort"
	"strings"

	"github.com/hookline/hookline/policy/rules"
)

// Step is one resource a job creates, updates, replaces or deletes.
type Step struct {
	Op   string `json:"op"`
	Type string `json:"type"`
	Name string `json:"name"`
	URN  string `json:"urn"`
	// Findings are the policy findings about this resource.
	Findings []rules.Violation `json:"findings,omitempty"`
}

// SourcePlan is the steps of one source (or of the stack's shared
// resources, Source ""), with their findings beside them.
type SourcePlan struct {
	Source string `json:"source"`
	Steps  []Step `json:"steps"`
	// Replacements counts the steps that replace a resource (a new
	// endpoint, an emptied queue): they deserve a second look.
	Replacements int `json:"replacements"`
	// Findings are findings about resources without a step here.
	Findings []rules.Violation `json:"findings,omitempty"`
	// Deleted is what an apply deletes of this source with the messages
	// it holds: the whole source, or its queues.
	Deleted *Deletion `json:"deleted,omitempty"`
}

// isReplace reports whether an engine operation is a replacement (the
// engine's "replace" step; its create-replacement and delete-replaced
// halves follow it).
func isReplace(op string) bool { return op == "replace" }

// groupBySource sorts steps and findings under the source whose resources
// they concern. A resource belongs to source s when its URN's name is, or
// starts with, one of the names the components give a source's resources:
// "hookline-<s>" (its queues, route, function), "hookline-<environment>-<s>"
// (its alarms), "hookline-stage-<s>" (its usage plan and key) or
// "hookline-authorizer-<s>" (its authorizer and token); the longest source
// name wins, the rest is the stack's own.
func groupBySource(environment string, sources []string, steps []Step, findings []rules.Violation, deletes []Deletion) []SourcePlan {
	sources = slices.Clone(sources)
	for _, d := range deletes {
		if d.Whole && !slices.Contains(sources, d.Source) {
			sources = append(sources, d.Source)
		}
	}
	owner := func(urn string) string { return ownerOf(environment, sources, urn) }
	groups := map[string]*SourcePlan{"": {Source: ""}}
	for _, s := range sources {
		groups[s] = &SourcePlan{Source: s}
	}
	byURN := map[string]*Step{}
	for _, st := range steps {
		g := groups[owner(st.URN)]
		g.Steps = append(g.Steps, st)
		if isReplace(st.Op) {
			g.Replacements++
		}
	}
	for _, g := range groups {
		for i := range g.Steps {
			byURN[g.Steps[i].URN] = &g.Steps[i]
		}
	}
	for _, f := range findings {
		if st, ok := byURN[f.URN]; ok {
			st.Findings = append(st.Findings, f)
			continue
		}
		g := groups[owner(f.URN)]
		g.Findings = append(g.Findings, f)
	}
	for i := range deletes {
		if g := groups[deletes[i].Source]; g != nil {
			g.Deleted = &deletes[i]
		}
	}
	out := make([]SourcePlan, 0, len(groups))
	for _, s := range sources {
		out = append(out, *groups[s])
	}
	if g := groups[""]; len(g.Steps) > 0 || len(g.Findings) > 0 {
		out = append(out, *g)
	}
	return out
}

// ownerOf is the source of sources whose resource urn is (see
// groupBySource), "" for the stack's own.
func ownerOf(environment string, sources []string, urn string) string {
	sorted := append([]string(nil), sources...)
	sort.Slice(sorted, func(i, j int) bool { return len(sorted[i]) > len(sorted[j]) })
	name := ResourceName(urn)
	for _, s := range sorted {
		for _, p := range []string{"hookline-" + s, "hookline-" + environment + "-" + s, "hookline-stage-" + s, "hookline-authorizer-" + s} {
			if name == p || strings.HasPrefix(name, p+"-") {
				return s
			}
		}
	}
	return ""
}
