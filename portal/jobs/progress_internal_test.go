package jobs

import (
	"strings"
	"testing"
	"time"
)

func urnOf(typ, name string) string {
	return "urn:pulumi:pay-dev::hookline::hookline:infra:Webhook$" + typ + "::" + name
}

// sum is what the counts by operation add up to.
func sum(p Progress) (done, total int) {
	for _, o := range p.Ops {
		done += o.Done
		total += o.Total
	}
	return done, total
}

// TestTrackerCountsResources: a replacement's three steps are one replaced
// resource, unchanged resources count as done at once, the stack, providers
// and components are not counted, the expectation holds the total up while
// the job runs, and once it ends the counts by operation add up to the total.
func TestTrackerCountsResources(t *testing.T) {
	q, fn, role, old := urnOf("aws:sqs/queue:Queue", "hookline-orders-queue"), urnOf("aws:lambda/function:Function", "hookline-orders-function"),
		urnOf("aws:iam/role:Role", "hookline-orders-function"), urnOf("aws:sqs/queue:Queue", "hookline-gone-queue")
	tr := newTracker("resources")
	tr.expected = 6
	tr.expectedOps = map[string]int{"create": 2}
	tr.pre("create", "pulumi:pulumi:Stack", "urn:pulumi:pay-dev::hookline::pulumi:pulumi:Stack::hookline-pay-dev")
	tr.pre("create", "hookline:infra:Source", urnOf("hookline:infra:Source", "hookline-orders"))
	tr.pre("create", "pulumi:providers:aws", "urn:pulumi:pay-dev::hookline::pulumi:providers:aws::default")
	tr.pre("same", "aws:iam/role:Role", role)
	tr.pre("replace", "aws:sqs/queue:Queue", q)
	tr.pre("create-replacement", "aws:sqs/queue:Queue", q)
	tr.post(q, false)
	tr.pre("create", "aws:lambda/function:Function", fn)
	if p := tr.progress(3 * time.Second); p.Total != 6 || !p.Estimated || p.Done != 1 || p.Current != "creating aws:lambda/function:Function hookline-orders-function" || p.Percent != 16 ||
		p.Ops[0].Label != "create" || p.Ops[0].Total != 2 || p.Ops[0].Done != 0 {
		t.Errorf("while running: %+v", p)
	}
	tr.post(fn, false)
	if p := tr.progress(0); p.Current != "replacing aws:sqs/queue:Queue hookline-orders-queue" {
		t.Errorf("when the last step started ends, the one still running is current: %q", p.Current)
	}
	tr.pre("delete", "aws:sqs/queue:Queue", old)
	tr.post(old, false)
	tr.pre("delete-replaced", "aws:sqs/queue:Queue", q)
	if p := tr.progress(time.Second); p.Done != 3 || p.Current != "replacing aws:sqs/queue:Queue hookline-orders-queue" {
		t.Errorf("a replacement is done when all its steps are: %+v", p)
	}
	tr.post(q, false)
	tr.end(true)
	p := tr.progress(61 * time.Second)
	done, total := sum(p)
	if p.Total != 4 || p.Done != 4 || p.Estimated || p.Percent != 100 || done != 4 || total != 4 || p.ElapsedSeconds != 61 || p.Current != "" {
		t.Errorf("ended: %+v", p)
	}
	var ops []string
	for _, o := range p.Ops {
		ops = append(ops, o.Label+"="+string(rune('0'+o.Total)))
	}
	if got := strings.Join(ops, " "); got != "create=1 replace=1 delete=1 unchanged=1" {
		t.Errorf("ops in order: %s", got)
	}
	if n := tr.remaining(); n != 3 {
		t.Errorf("after the job the stack has %d of its resources, want 3 (the deleted queue gone)", n)
	}
	if steps := tr.steps(); len(steps) != 3 || steps[0].Op != "replace" || steps[0].Name != "hookline-orders-queue" {
		t.Errorf("steps (one per changed resource): %+v", steps)
	}
}

// TestTrackerFailedStepIsNotDone: a failed step stays undone when the job
// fails, so the bar never claims what did not happen.
func TestTrackerFailedStepIsNotDone(t *testing.T) {
	a, b := urnOf("aws:sqs/queue:Queue", "a"), urnOf("aws:sqs/queue:Queue", "b")
	tr := newTracker("resources")
	tr.pre("create", "aws:sqs/queue:Queue", a)
	tr.pre("create", "aws:sqs/queue:Queue", b)
	tr.post(a, false)
	tr.post(b, true)
	tr.end(false)
	if p := tr.progress(0); p.Done != 1 || p.Total != 2 || p.Percent != 50 {
		t.Errorf("%+v", p)
	}
}

// TestTrackerCountsMessages: a redrive counts messages moved of those to
// move; a selective redrive, which cannot know its total, ends at what it
// moved.
func TestTrackerCountsMessages(t *testing.T) {
	tr := newTracker("messages")
	tr.redrive(2, 5)
	if p := tr.progress(0); p.Done != 2 || p.Total != 5 || p.Percent != 40 || p.Ops[0].Label != "moved" {
		t.Errorf("move task: %+v", p)
	}
	tr = newTracker("messages")
	tr.redrive(3, 0)
	if p := tr.progress(0); p.Done != 3 || p.Total != 3 {
		t.Errorf("selective while running: %+v", p)
	}
	tr.end(true)
	if p := tr.progress(0); p.Done != 3 || p.Total != 3 || p.Percent != 100 {
		t.Errorf("selective ended: %+v", p)
	}
}

// TestChangeText: counts in words, in the page's order, never a Go map.
func TestChangeText(t *testing.T) {
	for _, c := range []struct {
		in   map[string]int
		want string
	}{
		{map[string]int{"create": 78}, "78 create"},
		{map[string]int{"same": 40, "update": 2, "replace": 1, "import": 1}, "2 update, 1 replace, 40 unchanged, 1 import"},
		{map[string]int{}, "no changes"},
	} {
		if got := ChangeText(c.in); got != c.want {
			t.Errorf("%v: %q, want %q", c.in, got, c.want)
		}
	}
}
