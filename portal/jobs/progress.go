package jobs

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Progress is how far a job is: done of total units (resources for engine
// jobs, messages for redrives), the counts by operation, and the step
// running now. The counts by operation add up to Total once the job ends.
type Progress struct {
	Unit           string    `json:"unit"`
	Done           int       `json:"done"`
	Total          int       `json:"total"`
	Percent        int       `json:"percent"`
	Ops            []OpCount `json:"ops"`
	Current        string    `json:"current,omitempty"`
	ElapsedSeconds int       `json:"elapsedSeconds"`
	// Estimated is set while Total is an expectation (the offline plan's
	// resources, the preview's count) rather than what the engine reported.
	Estimated bool `json:"estimated,omitempty"`
}

// OpCount is how many units an operation has done of those it will do.
type OpCount struct {
	Op    string `json:"op"`
	Label string `json:"label"`
	Done  int    `json:"done"`
	Total int    `json:"total"`
}

// opOrder is the order operations are shown in, with their labels.
var opOrder = []struct{ op, label string }{
	{"create", "create"}, {"update", "update"}, {"replace", "replace"}, {"delete", "delete"},
	{"same", "unchanged"}, {"read", "read"}, {"moved", "moved"}, {"sent", "sent"},
}

// opClass folds an engine step operation into what a person counts: the
// three steps of a replacement (replace, create-replacement,
// delete-replaced) are one replacement of one resource.
func opClass(op string) string {
	switch op {
	case "create", "update", "delete", "same", "read":
		return op
	case "replace", "create-replacement", "delete-replaced", "discard-replaced":
		return "replace"
	case "discard":
		return "delete"
	default:
		return op
	}
}

// tracked is one resource a job touches.
type tracked struct {
	typ        string
	class      string
	pre, posts int
	failed     bool
}

// tracker follows a job's engine steps (or a redrive's messages) and
// answers its Progress. It is guarded by its job's mu.
type tracker struct {
	unit     string
	expected int // what the job expects to touch (0: unknown)
	// expectedOps is the same by operation, when known (an apply expects
	// what its preview counted).
	expectedOps map[string]int
	order       []string
	res         map[string]*tracked
	running     []string // resources with a step in flight, in the order they started
	ended       bool
	failed      bool

	// a redrive's counts
	moved, toMove int
	// verb is what a messages job does to a message: moved (redrive) or
	// sent (replay).
	verb string
}

func newTracker(unit string) *tracker {
	return &tracker{unit: unit, verb: "moved", res: map[string]*tracked{}}
}

// counted reports whether a resource type is one a person counts: AWS
// resources, not the stack, its providers or hookline's components.
func counted(typ string) bool {
	return !strings.HasPrefix(typ, "pulumi:") && !strings.HasPrefix(typ, "hookline:")
}

// pre records a step starting on urn.
func (t *tracker) pre(op, typ, urn string) {
	if !counted(typ) {
		return
	}
	r, ok := t.res[urn]
	if !ok {
		r = &tracked{typ: typ}
		t.res[urn] = r
		t.order = append(t.order, urn)
	}
	// A replacement's steps fold into one; an unchanged resource that
	// later gets a real step takes that step's class.
	if c := opClass(op); r.class == "" || r.class == "same" || c == "replace" {
		r.class = c
	}
	if op == "same" {
		r.posts = r.pre // nothing to wait for
		return
	}
	r.pre++
	t.running = append(slices.DeleteFunc(t.running, func(u string) bool { return u == urn }), urn)
}

// post records a step of urn finishing (failed: it failed).
func (t *tracker) post(urn string, failed bool) {
	r, ok := t.res[urn]
	if !ok {
		return
	}
	r.posts++
	r.failed = r.failed || failed
	if r.posts >= r.pre {
		t.running = slices.DeleteFunc(t.running, func(u string) bool { return u == urn })
	}
}

// current is the step running now: the last one started that has not
// finished ("" when none is in flight).
func (t *tracker) current() string {
	if t.ended || len(t.running) == 0 {
		return ""
	}
	urn := t.running[len(t.running)-1]
	r := t.res[urn]
	return fmt.Sprintf("%s %s %s", verbing(r.class), r.typ, ResourceName(urn))
}

func verbing(class string) string {
	switch class {
	case "create":
		return "creating"
	case "update":
		return "updating"
	case "replace":
		return "replacing"
	case "delete":
		return "deleting"
	case "read":
		return "reading"
	}
	return class
}

// steps are the resources the job changes (one per resource, a
// replacement's three steps folded into one), in the order they started.
func (t *tracker) steps() []Step {
	var out []Step
	for _, urn := range t.order {
		if r := t.res[urn]; r.class != "same" {
			out = append(out, Step{Op: r.class, Type: r.typ, Name: ResourceName(urn), URN: urn})
		}
	}
	return out
}

// classes counts the resources the job touched by operation (class).
func (t *tracker) classes() map[string]int {
	out := map[string]int{}
	for _, r := range t.res {
		out[r.class]++
	}
	return out
}

// remaining counts the resources the stack has once the job's steps are
// done: every one it touched but those it deleted.
func (t *tracker) remaining() int {
	n := 0
	for _, r := range t.res {
		if r.class != "delete" {
			n++
		}
	}
	return n
}

// redrive records a redrive's counts: moved of toMove (toMove 0: unknown).
func (t *tracker) redrive(moved, toMove int) {
	t.moved = moved
	if toMove > t.toMove {
		t.toMove = toMove
	}
}

// end marks the job ended; succeeded: every step it started finished.
func (t *tracker) end(succeeded bool) {
	t.ended, t.failed = true, !succeeded
	if succeeded {
		for _, r := range t.res {
			if r.posts < r.pre {
				r.posts = r.pre
			}
		}
		if t.unit == "messages" {
			t.toMove = t.moved
		}
	}
}

// progress is the tracker's Progress after elapsed.
func (t *tracker) progress(elapsed time.Duration) Progress {
	p := Progress{Unit: t.unit, Current: t.current(), ElapsedSeconds: int(elapsed / time.Second), Ops: []OpCount{}}
	if t.unit == "messages" {
		p.Done, p.Total = t.moved, max(t.toMove, t.moved)
		if p.Total > 0 {
			p.Ops = append(p.Ops, OpCount{Op: t.verb, Label: t.verb, Done: t.moved, Total: p.Total})
		}
	} else {
		by := map[string]*OpCount{}
		count := func(op string) *OpCount {
			if by[op] == nil {
				by[op] = &OpCount{Op: op}
			}
			return by[op]
		}
		for _, urn := range t.order {
			r := t.res[urn]
			c := count(r.class)
			c.Total++
			if r.posts >= r.pre && !r.failed {
				c.Done++
				p.Done++
			}
		}
		if !t.ended { // while running, what the job expects of each operation
			for op, n := range t.expectedOps {
				if c := count(op); c.Total < n {
					c.Total = n
				}
			}
		}
		for _, c := range by {
			p.Total += c.Total
		}
		for _, o := range opOrder {
			if c := by[o.op]; c != nil {
				c.Label = o.label
				p.Ops = append(p.Ops, *c)
				delete(by, o.op)
			}
		}
		rest := slices.Sorted(maps.Keys(by)) // operations opOrder does not name
		for _, op := range rest {
			by[op].Label = op
			p.Ops = append(p.Ops, *by[op])
		}
	}
	if !t.ended {
		p.Estimated = t.expected > 0 || len(t.expectedOps) > 0
		p.Total = max(p.Total, t.expected)
	}
	if p.Total > 0 {
		p.Percent = p.Done * 100 / p.Total
	} else if t.ended && !t.failed {
		p.Percent = 100 // nothing to do, done
	}
	return p
}
