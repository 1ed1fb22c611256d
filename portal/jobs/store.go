package jobs

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Limits bound the jobs running at once: Jobs in all, TeamJobs per team.
type Limits struct {
	Jobs, TeamJobs int
}

// Store keeps the jobs' records, the leases running jobs hold, their logs
// and the audit log, and answers the look-ups the service needs.
// MemoryStore keeps them in this process; DynamoStore in a DynamoDB table,
// with Start, Lease, Renew, Claim and Finish as conditional writes, so
// several portal processes share leases and limits, and any of them reads
// any job.
type Store interface {
	// Start records rec as a running job that holds rec.Lock, owned by
	// rec.Owner until rec.Lease (zero: for ever) unless renewed, in one
	// atomic step: unless a running job holds the lock (a *BusyError
	// naming it) or rec's team, or everyone, runs as many jobs as limits
	// allow (a *LimitError).
	Start(ctx context.Context, rec Record, limits Limits) error
	// Abandon forgets a job Start recorded that never ran (a check after
	// its reservation failed): its record goes and its lease and slot are
	// free, as if it had never started.
	Abandon(ctx context.Context, id string) error
	// Finish stores the ended record of a job Start recorded and releases
	// its lease; ErrLeaseLost (wrapped) when rec.Owner no longer owns it.
	Finish(ctx context.Context, rec Record) error
	// Get returns the record of job id, or a *NotFoundError.
	Get(ctx context.Context, id string) (Record, error)
	// Holder returns the id of the running job that holds lock ("" when
	// none does).
	Holder(ctx context.Context, lock string) (string, error)
	// LatestPreview returns the preview of stack for the request hash
	// started last, whatever its status (false when there is none).
	LatestPreview(ctx context.Context, stack, hash string) (Record, bool, error)
	// Running counts the running jobs by team.
	Running(ctx context.Context) (map[string]int, error)
	// Expire forgets the jobs that ended before cutoff and returns their
	// ids.
	Expire(ctx context.Context, cutoff time.Time) ([]string, error)
	// Lease takes lock for holder, a short change made outside a job (a
	// secret written to the stack's config), in one atomic step: unless a
	// running job holds it (a *BusyError naming the job) or another change
	// does (a *BusyError with no Job). While it is held no job starts on
	// lock. The lease lapses after ttl, so a process that dies holding it
	// does not hold it for ever; a durable store writes it conditionally
	// with that expiry.
	Lease(ctx context.Context, lock, holder string, ttl time.Duration) error
	// Release gives back the lease holder took on lock (nothing when it
	// lapsed or another holds it now).
	Release(ctx context.Context, lock, holder string) error

	// Renew moves the lease of running job id, held by owner, to until;
	// ErrLeaseLost when owner no longer holds it (another process claimed
	// it, or it ended).
	Renew(ctx context.Context, id, owner string, until time.Time) error
	// Claim takes over, for claimer until until, every job whose lease
	// lapsed before now while it held its lock, in one conditional step
	// each (of several processes claiming at once, one gets each job): a
	// running one is marked StatusInterrupted (ended now) and returned,
	// still holding its lock and slot, for the claimer to clear what it
	// left (the stack's engine lock) and Finish; one whose owner stored
	// its end but died before releasing is released. A claimer that dies
	// in turn lets its claim lapse, and the job is claimed again.
	Claim(ctx context.Context, claimer string, now, until time.Time) ([]Record, error)
	// Append stores what job id shows, for readers in other processes:
	// its log lines from line from on, and its view (nil: unchanged);
	// ErrLeaseLost when owner no longer owns the job.
	Append(ctx context.Context, id, owner string, from int, lines []string, shown *View) error
	// Lines returns job id's log lines after the first n (a *NotFoundError
	// when there is no such job).
	Lines(ctx context.Context, id string, n int) ([]string, error)
	// Audit appends an entry to the audit log.
	Audit(ctx context.Context, e AuditEntry) error
	// AuditLog returns the newest limit entries of stack's audit log,
	// newest first.
	AuditLog(ctx context.Context, stack string, limit int) ([]AuditEntry, error)
}

// ErrLeaseLost is a job whose lease its owner no longer holds: another
// process claimed it once it lapsed (and marks it interrupted), or it
// ended. The owner must stop running it.
var ErrLeaseLost = errors.New("the job's lease is lost: another portal process took it over")

// claimedError is what a claimed job says until its claimer finishes it.
const claimedError = "interrupted: the portal process running this job stopped before it ended; another is clearing the stack's lock"

// MemoryStore is a Store in this process's memory: a restart forgets every
// job and lease.
type MemoryStore struct {
	mu      sync.Mutex
	jobs    map[string]Record
	leases  map[string]string   // lock → the running job holding it
	changes map[string]external // lock → the change outside a job holding it
	lines   map[string][]string // job → its log
	audit   []AuditEntry
}

// external is a lease taken by Lease.
type external struct {
	holder string
	until  time.Time
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{jobs: map[string]Record{}, leases: map[string]string{}, changes: map[string]external{}, lines: map[string][]string{}}
}

// changingLocked reports whether a change outside a job holds lock.
func (m *MemoryStore) changingLocked(lock string) bool {
	c, ok := m.changes[lock]
	if ok && time.Now().After(c.until) {
		delete(m.changes, lock)
		return false
	}
	return ok
}

// Lease implements Store.
func (m *MemoryStore) Lease(_ context.Context, lock, holder string, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if jid, held := m.leases[lock]; held {
		return &BusyError{Stack: lock, What: "job " + jid, Job: jid}
	}
	if m.changingLocked(lock) {
		return &BusyError{Stack: lock, What: "another change"}
	}
	m.changes[lock] = external{holder: holder, until: time.Now().Add(ttl)}
	return nil
}

// Release implements Store.
func (m *MemoryStore) Release(_ context.Context, lock, holder string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.changes[lock].holder == holder {
		delete(m.changes, lock)
	}
	return nil
}

// Start implements Store.
func (m *MemoryStore) Start(_ context.Context, rec Record, limits Limits) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if jid, held := m.leases[rec.Lock]; held {
		return &BusyError{Stack: rec.Stack, What: "job " + jid, Job: jid}
	}
	if m.changingLocked(rec.Lock) {
		return &BusyError{Stack: rec.Stack, What: "a change being written (a secret); retry in a moment"}
	}
	if _, dup := m.jobs[rec.ID]; dup {
		return fmt.Errorf("job %s is already recorded", rec.ID)
	}
	if err := m.admitLocked(rec.Team, limits); err != nil {
		return err
	}
	rec.Status = StatusRunning
	m.jobs[rec.ID] = rec
	m.leases[rec.Lock] = rec.ID
	return nil
}

// Abandon implements Store.
func (m *MemoryStore) Abandon(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, ok := m.jobs[id]
	if !ok {
		return fmt.Errorf("abandon job %s: not recorded", id)
	}
	delete(m.jobs, id)
	delete(m.lines, id)
	if m.leases[rec.Lock] == id {
		delete(m.leases, rec.Lock)
	}
	return nil
}

func (m *MemoryStore) admitLocked(team string, limits Limits) error {
	teamJobs := 0
	for _, jid := range m.leases {
		if m.jobs[jid].Team == team {
			teamJobs++
		}
	}
	switch {
	case teamJobs >= limits.TeamJobs:
		return &LimitError{What: fmt.Sprintf("team %s runs %d jobs, its limit", team, teamJobs)}
	case len(m.leases) >= limits.Jobs:
		return &LimitError{What: fmt.Sprintf("the portal runs %d jobs, its limit", len(m.leases))}
	}
	return nil
}

// Finish implements Store.
func (m *MemoryStore) Finish(_ context.Context, rec Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.jobs[rec.ID]
	if !ok {
		return fmt.Errorf("finish job %s: not recorded (expired?)", rec.ID)
	}
	if old.Owner != rec.Owner {
		return fmt.Errorf("finish job %s: %w", rec.ID, ErrLeaseLost)
	}
	m.jobs[rec.ID] = rec
	if m.leases[old.Lock] == rec.ID {
		delete(m.leases, old.Lock)
	}
	return nil
}

// Get implements Store.
func (m *MemoryStore) Get(_ context.Context, id string) (Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, ok := m.jobs[id]
	if !ok {
		return Record{}, &NotFoundError{Message: "no such job"}
	}
	return rec, nil
}

// Holder implements Store.
func (m *MemoryStore) Holder(_ context.Context, lock string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.leases[lock], nil
}

// LatestPreview implements Store.
func (m *MemoryStore) LatestPreview(_ context.Context, stack, hash string) (Record, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var best *Record
	for _, r := range m.jobs {
		if r.Op == OpPreview && r.Stack == stack && r.Request != nil && r.Request.Hash == hash && (best == nil || r.Started.After(best.Started)) {
			best = &r
		}
	}
	if best == nil {
		return Record{}, false, nil
	}
	return *best, true, nil
}

// Running implements Store.
func (m *MemoryStore) Running(context.Context) (map[string]int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]int{}
	for _, jid := range m.leases {
		out[m.jobs[jid].Team]++
	}
	return out, nil
}

// Expire implements Store.
func (m *MemoryStore) Expire(_ context.Context, cutoff time.Time) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var gone []string
	for id, r := range m.jobs {
		if r.Ended != nil && r.Ended.Before(cutoff) {
			delete(m.jobs, id)
			delete(m.lines, id)
			gone = append(gone, id)
		}
	}
	sort.Strings(gone)
	return gone, nil
}

// Renew implements Store.
func (m *MemoryStore) Renew(_ context.Context, id, owner string, until time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, ok := m.jobs[id]
	if !ok || m.leases[rec.Lock] != id || rec.Owner != owner {
		return fmt.Errorf("renew job %s: %w", id, ErrLeaseLost)
	}
	rec.Lease = until
	m.jobs[id] = rec
	return nil
}

// Claim implements Store.
func (m *MemoryStore) Claim(_ context.Context, claimer string, now, until time.Time) ([]Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Record
	for lock, id := range m.leases {
		rec := m.jobs[id]
		if rec.Lease.IsZero() || !rec.Lease.Before(now) {
			continue
		}
		if rec.Status != StatusRunning && rec.Status != StatusInterrupted {
			delete(m.leases, lock) // its end is stored: only the release was missing
			continue
		}
		if rec.Status == StatusRunning {
			ended := now
			rec.Status, rec.Ended, rec.Error = StatusInterrupted, &ended, claimedError
		}
		rec.Owner, rec.Lease = claimer, until
		m.jobs[id] = rec
		out = append(out, rec)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Append implements Store.
func (m *MemoryStore) Append(_ context.Context, id, owner string, from int, lines []string, shown *View) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, ok := m.jobs[id]
	switch {
	case !ok:
		return &NotFoundError{Message: "no such job"}
	case rec.Owner != owner:
		return fmt.Errorf("store the progress of job %s: %w", id, ErrLeaseLost)
	case from > len(m.lines[id]):
		return fmt.Errorf("store the log of job %s: lines from %d, but %d stored", id, from, len(m.lines[id]))
	}
	m.lines[id] = append(m.lines[id][:from], lines...)
	if shown != nil {
		rec.Shown = shown
		m.jobs[id] = rec
	}
	return nil
}

// Lines implements Store.
func (m *MemoryStore) Lines(_ context.Context, id string, n int) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.jobs[id]; !ok {
		return nil, &NotFoundError{Message: "no such job"}
	}
	if l := m.lines[id]; n < len(l) {
		return append([]string(nil), l[n:]...), nil
	}
	return nil, nil
}

// Audit implements Store.
func (m *MemoryStore) Audit(_ context.Context, e AuditEntry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.audit = append(m.audit, e)
	return nil
}

// AuditLog implements Store.
func (m *MemoryStore) AuditLog(_ context.Context, stack string, limit int) ([]AuditEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []AuditEntry
	for i := len(m.audit) - 1; i >= 0; i-- {
		if e := m.audit[i]; e.Stack == stack {
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.After(out[j].Time) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
