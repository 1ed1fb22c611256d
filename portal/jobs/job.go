package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/hookline/hookline/policy/rules"
	"github.com/hookline/hookline/stackoutputs"
)

// Op is what a job does.
type Op string

// The operations a job runs.
const (
	// OpPreview previews a request through the engine with the policy pack.
	OpPreview Op = "preview"
	// OpApply updates the stack to a request a preview passed.
	OpApply Op = "apply"
	// OpDestroy deletes every resource of the stack, then the stack.
	OpDestroy Op = "destroy"
	// OpRedrive moves a source's dead-lettered messages back to its queue.
	OpRedrive Op = "redrive"
	// OpReplay re-sends a source's archived deliveries to its queue.
	OpReplay Op = "replay"
)

// unit is what the op's progress counts.
func (o Op) unit() string {
	if o == OpRedrive || o == OpReplay {
		return "messages"
	}
	return "resources"
}

// Status is where a job is.
type Status string

// A job runs, then succeeds or fails; or the process running it stops
// before it ends (it is killed, its machine is gone) and another portal
// process marks it interrupted once its lease lapses.
const (
	StatusRunning     Status = "running"
	StatusSucceeded   Status = "succeeded"
	StatusFailed      Status = "failed"
	StatusInterrupted Status = "interrupted"
)

// Request is a team's validated request as an engine job runs it: the
// stack's raw config, the request's hash (an apply needs a passed preview
// of the same hash) and its sources' names (the plan is grouped by them).
// It holds no secret: secrets are set on the stack apart from requests.
type Request struct {
	Config  map[string]string
	Hash    string
	Sources []string
}

// Record is what the Store keeps of a job: enough to find it, to lease
// what it holds, to count it against the limits, and to apply what a
// preview ran.
type Record struct {
	ID     string
	Team   string
	Stack  string
	Op     Op
	Status Status
	// Error is why it failed.
	Error   string
	Started time.Time
	Ended   *time.Time
	// Lock is the lease a running job holds: its stack, or a source's
	// redrive (RedriveLock).
	Lock string
	// Request is what an engine job with a request (preview, apply) ran.
	Request *Request
	// Steps counts, by operation (create, same, replace…), the resources
	// the job touched, once it ended: what an apply of a preview expects.
	Steps map[string]int
	// Deletes are what an apply of a preview's request deletes with the
	// messages it holds: each needs a confirmation naming its source.
	Deletes []Deletion
	// Offline is a job of the offline plan (the portal runs without AWS).
	Offline bool
	// Owner is the portal process that holds the job's lease: the one
	// running it, or the one that claimed it once the lease lapsed
	// (Store.Claim) to mark it interrupted.
	Owner string
	// Lease is when the job's lease lapses unless Owner renews it (as of
	// Start; Store.Renew moves it); zero: never.
	Lease time.Time
	// Shown is what the job showed when it last stored its progress (its
	// view without API keys), for readers in other processes.
	Shown *View
}

// View is what the API shows of a job.
type View struct {
	ID         string            `json:"id"`
	Team       string            `json:"team"`
	Stack      string            `json:"stack"`
	Op         Op                `json:"op"`
	Status     Status            `json:"status"`
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
	// Deletes are what an apply of a preview's request deletes with the
	// messages it holds; an apply names each source in confirmDeletes.
	Deletes []Deletion `json:"deletes,omitempty"`
	// Offline is a preview of the offline plan (no AWS, no engine): every
	// resource as it would be created, nothing to apply.
	Offline bool `json:"offline,omitempty"`
	// Progress is how far the job is, by operation.
	Progress Progress `json:"progress"`
}

// Job is one long operation on a stack: its record and its log, progress,
// findings and outputs. A job this process runs is live: it changes as the
// job runs and stores its progress for the others (Service.Go). A job read
// from the store (another process runs or ran it, or this one forgot it) is
// remote: its record and log as last stored, read again as it is watched.
type Job struct {
	mu         sync.Mutex
	rec        Record
	changes    map[string]int
	violations []rules.Violation
	outputs    *stackoutputs.Stack
	track      *tracker
	lines      []string
	notify     chan struct{} // closed on the next change
	done       chan struct{} // closed once the job ended and released its lease
	ended      bool          // done is closed
	// dirty: the job changed since it last stored its progress; flushed
	// lines are stored.
	dirty   bool
	flushed int
	// flushing serialises storing the job's progress.
	flushing sync.Mutex
	// remote is set on a job read from the store.
	remote *remote
}

// remote is where a remote job is read again from, and how often.
type remote struct {
	store   Store
	poll    time.Duration
	fetched time.Time
}

func newJobID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newJob is the live job of rec.
func newJob(rec Record) *Job {
	j := &Job{rec: rec, track: newTracker(rec.Op.unit()), notify: make(chan struct{}), done: make(chan struct{})}
	if rec.Op == OpReplay {
		j.track.verb = "sent"
	}
	if rec.Status != StatusRunning {
		j.track.end(rec.Status == StatusSucceeded)
		j.closeDone()
	}
	return j
}

// remoteJob is the job of rec with its log lines as stored, read again
// from store at most every poll while it is watched.
func remoteJob(rec Record, lines []string, store Store, poll time.Duration) *Job {
	j := newJob(rec)
	j.lines = lines
	j.remote = &remote{store: store, poll: poll, fetched: time.Now()}
	return j
}

// closeDone closes done once (caller holds j.mu, or owns j).
func (j *Job) closeDone() {
	if !j.ended {
		j.ended = true
		close(j.done)
	}
}

// ID is the job's id.
func (j *Job) ID() string { return j.rec.ID }

// Team is the team the job runs for.
func (j *Job) Team() string { return j.rec.Team }

// Stack is the stack the job runs on.
func (j *Job) Stack() string { return j.rec.Stack }

// Op is what the job does.
func (j *Job) Op() Op { return j.rec.Op }

// Request is what an engine job with a request ran (nil for the others).
func (j *Job) Request() *Request { return j.rec.Request }

// Status is where the job is now.
func (j *Job) Status() Status {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.rec.Status
}

// Done is closed once the job has ended and released what it held (for a
// remote job: once a read of the store found it ended).
func (j *Job) Done() <-chan struct{} { return j.done }

// Lines is the job's log so far.
func (j *Job) Lines() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.lines...)
}

// Since returns the log lines after the first n, whether the job ended,
// and a channel closed on the next change (for a remote job: when it is
// time to read the store again).
func (j *Job) Since(n int) ([]string, bool, <-chan struct{}) {
	if j.remote != nil {
		j.refresh()
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []string
	if n < len(j.lines) {
		out = append(out, j.lines[n:]...)
	}
	next := j.notify
	if j.remote != nil {
		ch := make(chan struct{})
		time.AfterFunc(j.remote.poll, func() { close(ch) })
		next = ch
	}
	return out, j.rec.Status != StatusRunning, next
}

// refresh reads a remote job's record and new log lines from the store,
// unless it did less than half a poll ago. A failed read keeps what it has.
func (j *Job) refresh() {
	j.mu.Lock()
	r := j.remote
	if time.Since(r.fetched) < r.poll/2 {
		j.mu.Unlock()
		return
	}
	have := len(j.lines)
	j.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), refreshLimit)
	defer cancel()
	rec, err := r.store.Get(ctx, j.rec.ID)
	if err != nil {
		return
	}
	lines, err := r.store.Lines(ctx, rec.ID, have)
	if err != nil {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	r.fetched = time.Now()
	j.rec = rec
	if len(j.lines) == have {
		j.lines = append(j.lines, lines...)
	}
	if rec.Status != StatusRunning {
		j.track.end(rec.Status == StatusSucceeded)
		j.closeDone()
	}
}

// refreshLimit bounds one read of a remote job.
const refreshLimit = 10 * time.Second

// Progress is how far the job is now.
func (j *Job) Progress() Progress {
	if j.remote != nil {
		return j.View(false).Progress
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.track.progress(elapsed(j.rec.Started, j.rec.Ended))
}

// View is a copy of the job safe to serialise; withKeys shows an apply's
// API keys (for the owning team only). A remote job's view is what it
// last stored, which never holds API keys (read them from the stack).
func (j *Job) View(withKeys bool) View {
	j.mu.Lock()
	defer j.mu.Unlock()
	r := j.rec
	if j.remote != nil {
		return j.storedView()
	}
	v := View{ID: r.ID, Team: r.Team, Stack: r.Stack, Op: r.Op, Status: r.Status, Error: r.Error, Started: r.Started, Ended: r.Ended,
		Changes: j.changes, Violations: append([]rules.Violation{}, j.violations...), Outputs: VisibleOutputs(j.outputs, withKeys),
		Deletes: r.Deletes, Offline: r.Offline}
	if steps := j.track.steps(); len(steps) > 0 || len(v.Violations) > 0 {
		var sources []string
		if r.Request != nil {
			sources = r.Request.Sources
		}
		v.Plan = groupBySource(r.Stack, sources, steps, v.Violations, r.Deletes)
	}
	v.Progress = j.track.progress(elapsed(r.Started, r.Ended))
	return v
}

// storedView is a remote job's view: what it last stored, under its record
// as it is now (caller holds j.mu).
func (j *Job) storedView() View {
	r := j.rec
	var v View
	if r.Shown != nil {
		v = *r.Shown
	} else {
		v.Progress = j.track.progress(0)
	}
	v.ID, v.Team, v.Stack, v.Op, v.Status, v.Error, v.Started, v.Ended = r.ID, r.Team, r.Stack, r.Op, r.Status, r.Error, r.Started, r.Ended
	v.Deletes, v.Offline = r.Deletes, r.Offline
	if v.Violations == nil {
		v.Violations = []rules.Violation{}
	}
	v.Outputs = VisibleOutputs(v.Outputs, false)
	v.Progress.ElapsedSeconds = int(elapsed(r.Started, r.Ended) / time.Second)
	if r.Status != StatusRunning {
		v.Progress.Current, v.Progress.Estimated = "", false
	}
	return v
}

// unflushed is what a live job has not stored yet: the log lines after
// the first from, and its view; dirty is false when nothing changed since.
func (j *Job) unflushed() (from int, lines []string, shown *View, dirty bool) {
	v := j.View(false)
	j.mu.Lock()
	defer j.mu.Unlock()
	from, dirty = j.flushed, j.dirty
	lines = append(lines, j.lines[from:]...)
	j.dirty = false
	return from, lines, &v, dirty
}

// flushedTo records that the store has the first n log lines; ok false
// puts the job back as changed, to store again.
func (j *Job) flushedTo(n int, ok bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if ok {
		j.flushed = n
	} else {
		j.dirty = true
	}
}

// VisibleOutputs is what a caller sees of a stack's outputs: the API keys,
// a secret output, only when the caller is the owning team.
func VisibleOutputs(o *stackoutputs.Stack, owner bool) *stackoutputs.Stack {
	if o == nil {
		return nil
	}
	c := *o
	if !owner {
		c.APIKeys = nil
	}
	return &c
}

// elapsed is how long a job has run (until ended, when it has).
func elapsed(started time.Time, ended *time.Time) time.Duration {
	if ended != nil {
		return ended.Sub(started)
	}
	return time.Since(started)
}

// logf adds a line to the job's log.
func (j *Job) logf(format string, a ...any) {
	j.mu.Lock()
	j.lines = append(j.lines, fmt.Sprintf(format, a...))
	j.changed()
	j.mu.Unlock()
}

// update changes the job's tracker and tells its watchers.
func (j *Job) update(f func(*tracker)) {
	j.mu.Lock()
	f(j.track)
	j.changed()
	j.mu.Unlock()
}

// addViolation records a policy finding.
func (j *Job) addViolation(v rules.Violation) {
	j.mu.Lock()
	j.violations = append(j.violations, v)
	j.dirty = true
	j.mu.Unlock()
}

// setDeletes records what an apply of a preview's request deletes.
func (j *Job) setDeletes(d []Deletion) {
	j.mu.Lock()
	j.rec.Deletes = d
	j.changed()
	j.mu.Unlock()
}

// setOutputs records an apply's outputs.
func (j *Job) setOutputs(o *stackoutputs.Stack) {
	j.mu.Lock()
	j.outputs = o
	j.dirty = true
	j.mu.Unlock()
}

// changed tells the job's watchers that something changed (caller holds
// j.mu).
func (j *Job) changed() {
	j.dirty = true
	close(j.notify)
	j.notify = make(chan struct{})
}

// end marks the job ended with err and returns its record (caller then
// stores it and closes done).
func (j *Job) end(err error) Record {
	j.mu.Lock()
	defer j.mu.Unlock()
	now := time.Now()
	j.rec.Ended = &now
	j.track.end(err == nil)
	if err != nil {
		j.rec.Status, j.rec.Error = StatusFailed, err.Error()
		j.lines = append(j.lines, "failed: "+err.Error())
	} else {
		j.rec.Status = StatusSucceeded
		j.lines = append(j.lines, "succeeded")
	}
	j.rec.Steps = j.track.classes()
	j.changed()
	return j.rec
}
