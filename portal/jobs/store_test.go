package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline/internal/testing/nodepeer"
	"github.com/hookline/hookline/portal/jobs"
)

// stores are every Store implementation; each test runs against all of
// them through the interface.
var stores = []struct {
	name string
	new  func(t *testing.T) jobs.Store
}{
	{"memory", func(*testing.T) jobs.Store { return jobs.NewMemoryStore() }},
	{"dynamodb", newDynamoStore},
}

// newDynamoStore is a DynamoStore in a new jobs table of dynalite (npm: a
// DynamoDB that evaluates condition and update expressions), started for
// the test.
func newDynamoStore(t *testing.T) jobs.Store {
	t.Helper()
	_, client := nodepeer.DynamoDB(t)
	if _, err := client.CreateTable(context.Background(), jobs.TableInput("jobs")); err != nil {
		t.Fatalf("create the jobs table in dynalite: %v", err)
	}
	return jobs.NewDynamoStore(client, "jobs")
}

func forEachStore(t *testing.T, test func(t *testing.T, s jobs.Store)) {
	for _, impl := range stores {
		t.Run(impl.name, func(t *testing.T) { test(t, impl.new(t)) })
	}
}

var (
	ctx   = context.Background()
	t0    = time.Date(2026, 12, 1, 4, 0, 0, 0, time.UTC)
	ample = jobs.Limits{Jobs: 10, TeamJobs: 10}
)

func running(id, team, stack string, op jobs.Op, started time.Time) jobs.Record {
	return jobs.Record{ID: id, Team: team, Stack: stack, Op: op, Status: jobs.StatusRunning, Started: started, Lock: stack}
}

// ended is rec finished with status at ended.
func ended(rec jobs.Record, status jobs.Status, at time.Time) jobs.Record {
	rec.Status, rec.Ended = status, &at
	return rec
}

func mustStart(t *testing.T, s jobs.Store, rec jobs.Record) {
	t.Helper()
	if err := s.Start(ctx, rec, ample); err != nil {
		t.Fatalf("start %s: %v", rec.ID, err)
	}
}

// TestStoreLeases: a running job holds its lock; a second job on it is a
// *BusyError naming the holder, until the first finishes; a redrive's lock
// is apart from its stack's.
func TestStoreLeases(t *testing.T) {
	forEachStore(t, func(t *testing.T, s jobs.Store) {
		a := running("a", "pay", "pay-dev", jobs.OpPreview, t0)
		mustStart(t, s, a)
		if h, err := s.Holder(ctx, "pay-dev"); err != nil || h != "a" {
			t.Errorf("holder of pay-dev: %q %v", h, err)
		}
		err := s.Start(ctx, running("b", "pay", "pay-dev", jobs.OpApply, t0), ample)
		var busy *jobs.BusyError
		if !errors.As(err, &busy) || busy.Job != "a" || busy.Stack != "pay-dev" {
			t.Fatalf("a second job on a held stack: %v", err)
		}
		rd := running("r", "pay", "pay-dev", jobs.OpRedrive, t0)
		rd.Lock = jobs.RedriveLock("pay-dev", "orders")
		mustStart(t, s, rd)
		if err := s.Finish(ctx, ended(a, jobs.StatusSucceeded, t0.Add(time.Minute))); err != nil {
			t.Fatal(err)
		}
		if h, err := s.Holder(ctx, "pay-dev"); err != nil || h != "" {
			t.Errorf("holder after the job finished: %q %v", h, err)
		}
		mustStart(t, s, running("b", "pay", "pay-dev", jobs.OpApply, t0))
		if err := s.Finish(ctx, ended(running("nope", "pay", "pay-x", jobs.OpApply, t0), jobs.StatusFailed, t0)); err == nil {
			t.Error("finishing a job never started: no error")
		}
	})
}

// TestStoreLimits: a team runs at most TeamJobs and everyone at most Jobs;
// a team at its own limit does not stop another; a finished job frees its
// slot, and so does an abandoned one, which leaves no record.
func TestStoreLimits(t *testing.T) {
	limits := jobs.Limits{Jobs: 3, TeamJobs: 2}
	forEachStore(t, func(t *testing.T, s jobs.Store) {
		start := func(id, team string) error {
			return s.Start(ctx, running(id, team, team+"-"+id, jobs.OpPreview, t0), limits)
		}
		for _, id := range []string{"a", "b"} {
			if err := start(id, "pay"); err != nil {
				t.Fatal(err)
			}
		}
		var limit *jobs.LimitError
		for _, tc := range []struct {
			name string
			err  error
			want string
		}{
			{"a team's third job", start("c", "pay"), "team pay runs 2 jobs, its limit; retry later"},
			{"another team", start("d", "ops"), ""},
			{"over the portal's limit", start("e", "ops"), "the portal runs 3 jobs, its limit; retry later"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if tc.want == "" && tc.err != nil || tc.want != "" && (!errors.As(tc.err, &limit) || tc.err.Error() != tc.want) {
					t.Errorf("got %v, want %q", tc.err, tc.want)
				}
			})
		}
		if got, err := s.Running(ctx); err != nil || !reflect.DeepEqual(got, map[string]int{"pay": 2, "ops": 1}) {
			t.Errorf("running: %v %v", got, err)
		}
		if err := s.Finish(ctx, ended(running("a", "pay", "pay-a", jobs.OpPreview, t0), jobs.StatusSucceeded, t0)); err != nil {
			t.Fatal(err)
		}
		if err := start("e", "ops"); err != nil {
			t.Errorf("a finished job freed no slot: %v", err)
		}
		if err := s.Abandon(ctx, "e"); err != nil {
			t.Fatal(err)
		}
		var nf *jobs.NotFoundError
		if _, err := s.Get(ctx, "e"); !errors.As(err, &nf) {
			t.Errorf("an abandoned job is still recorded: %v", err)
		}
		if h, err := s.Holder(ctx, "ops-e"); err != nil || h != "" {
			t.Errorf("an abandoned job still holds its lock: %q %v", h, err)
		}
		if err := start("f", "ops"); err != nil {
			t.Errorf("an abandoned job freed no slot: %v", err)
		}
		if err := s.Abandon(ctx, "nope"); err == nil {
			t.Error("abandoning a job never started: no error")
		}
	})
}

// TestStoreLookups: a record reads back as stored, an unknown id is a
// *NotFoundError, the latest preview of a request is found by stack and
// hash whatever its status, and expiry forgets only what ended before the
// cutoff.
func TestStoreLookups(t *testing.T) {
	forEachStore(t, func(t *testing.T, s jobs.Store) {
		req := &jobs.Request{Config: map[string]string{"aws:region": "eu-west-1"}, Hash: "h1", Sources: []string{"orders"}}
		old := running("old", "pay", "pay-dev", jobs.OpPreview, t0)
		old.Request = req
		mustStart(t, s, old)
		old = ended(old, jobs.StatusSucceeded, t0.Add(time.Minute))
		old.Steps = map[string]int{"create": 40}
		if err := s.Finish(ctx, old); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Get(ctx, "old"); err != nil || !reflect.DeepEqual(got, old) {
			t.Errorf("get: %+v %v, want %+v", got, err, old)
		}
		var nf *jobs.NotFoundError
		if _, err := s.Get(ctx, "nope"); !errors.As(err, &nf) {
			t.Errorf("get of an unknown job: %v", err)
		}

		other := running("other", "pay", "pay-dev", jobs.OpPreview, t0.Add(2*time.Minute))
		other.Request = &jobs.Request{Hash: "h2"}
		mustStart(t, s, other)
		if err := s.Finish(ctx, ended(other, jobs.StatusSucceeded, t0.Add(3*time.Minute))); err != nil {
			t.Fatal(err)
		}
		if got, ok, err := s.LatestPreview(ctx, "pay-dev", "h1"); err != nil || !ok || got.ID != "old" || got.Steps["create"] != 40 {
			t.Errorf("latest preview of h1: %+v %v %v", got, ok, err)
		}
		again := running("again", "pay", "pay-dev", jobs.OpPreview, t0.Add(4*time.Minute))
		again.Request = req
		mustStart(t, s, again)
		if got, ok, err := s.LatestPreview(ctx, "pay-dev", "h1"); err != nil || !ok || got.ID != "again" || got.Status != jobs.StatusRunning {
			t.Errorf("latest preview of h1 while another runs: %+v %v %v", got, ok, err)
		}
		for _, q := range [][2]string{{"pay-dev", "h3"}, {"pay-prd", "h1"}} {
			if _, ok, err := s.LatestPreview(ctx, q[0], q[1]); ok || err != nil {
				t.Errorf("latest preview of %v: %v %v", q, ok, err)
			}
		}

		gone, err := s.Expire(ctx, t0.Add(150*time.Second))
		if err != nil || !reflect.DeepEqual(gone, []string{"old"}) {
			t.Errorf("expired %v %v, want [old]", gone, err)
		}
		for id, want := range map[string]bool{"old": false, "other": true, "again": true} {
			if _, err := s.Get(ctx, id); (err == nil) != want {
				t.Errorf("%s after expiry: %v", id, err)
			}
		}
	})
}

// TestStoreChangeLeases: a change outside a job (a secret being written)
// leases its stack: a second change, or a job, is a *BusyError with no job
// until it releases; a running job refuses a change naming itself; a
// lease lapses after its ttl.
func TestStoreChangeLeases(t *testing.T) {
	forEachStore(t, func(t *testing.T, s jobs.Store) {
		if err := s.Lease(ctx, "pay-dev", "c1", time.Minute); err != nil {
			t.Fatal(err)
		}
		var busy *jobs.BusyError
		if err := s.Lease(ctx, "pay-dev", "c2", time.Minute); !errors.As(err, &busy) || busy.Job != "" {
			t.Errorf("a second change: %v", err)
		}
		if err := s.Start(ctx, running("a", "pay", "pay-dev", jobs.OpPreview, t0), ample); !errors.As(err, &busy) || busy.Job != "" {
			t.Errorf("a job during a change: %v", err)
		}
		if err := s.Release(ctx, "pay-dev", "c2"); err != nil { // not its holder: nothing
			t.Fatal(err)
		}
		if err := s.Lease(ctx, "pay-dev", "c2", time.Minute); err == nil {
			t.Error("another holder's release freed the lease")
		}
		if err := s.Release(ctx, "pay-dev", "c1"); err != nil {
			t.Fatal(err)
		}
		mustStart(t, s, running("a", "pay", "pay-dev", jobs.OpPreview, t0))
		if err := s.Lease(ctx, "pay-dev", "c3", time.Minute); !errors.As(err, &busy) || busy.Job != "a" {
			t.Errorf("a change during a job: %v", err)
		}
		if err := s.Lease(ctx, "pay-prod", "c4", time.Millisecond); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
		if err := s.Lease(ctx, "pay-prod", "c5", time.Minute); err != nil {
			t.Errorf("a lapsed lease still held: %v", err)
		}
	})
}

// TestStoreClaims: a job whose lease lapsed is claimed once, marked
// interrupted and still holding its lock and slot; its owner can neither
// renew it nor store its end any more; the claimer finishes it, which
// frees both. A lease renewed in time, or one that never lapses, is not
// claimed; a claim that lapses in turn is claimed again.
func TestStoreClaims(t *testing.T) {
	forEachStore(t, func(t *testing.T, s jobs.Store) {
		now := time.Now()
		a := running("a", "pay", "pay-dev", jobs.OpApply, t0)
		a.Owner, a.Lease = "p1", now.Add(-time.Second)
		b := running("b", "pay", "pay-prd", jobs.OpApply, t0)
		b.Owner, b.Lease = "p1", now.Add(-time.Second)
		c := running("c", "ops", "ops-dev", jobs.OpPreview, t0)
		c.Owner = "p1" // a lease that never lapses
		for _, r := range []jobs.Record{a, b, c} {
			mustStart(t, s, r)
		}
		if err := s.Renew(ctx, "b", "p1", now.Add(time.Hour)); err != nil {
			t.Fatalf("renew b: %v", err)
		}
		// Two processes claim at once: each job goes to one.
		var (
			mu     sync.Mutex
			claims = map[string][]jobs.Record{}
			wg     sync.WaitGroup
		)
		for _, p := range []string{"p2", "p3"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := s.Claim(ctx, p, now, now.Add(time.Minute))
				if err != nil {
					t.Errorf("claim by %s: %v", p, err)
				}
				mu.Lock()
				claims[p] = got
				mu.Unlock()
			}()
		}
		wg.Wait()
		all := append(claims["p2"], claims["p3"]...)
		if len(all) != 1 || all[0].ID != "a" || all[0].Status != jobs.StatusInterrupted || all[0].Ended == nil {
			t.Fatalf("claims: %+v, want a alone, interrupted", claims)
		}
		claimer := all[0].Owner
		if got, err := s.Get(ctx, "a"); err != nil || got.Status != jobs.StatusInterrupted || !strings.HasPrefix(got.Error, "interrupted") {
			t.Errorf("a once claimed reads %+v %v", got, err)
		}
		if h, _ := s.Holder(ctx, "pay-dev"); h != "a" {
			t.Errorf("a claimed job gave up its lock before its claimer finished it: holder %q", h)
		}
		if err := s.Renew(ctx, "a", "p1", now.Add(time.Minute)); !errors.Is(err, jobs.ErrLeaseLost) {
			t.Errorf("its owner renews a claimed job: %v", err)
		}
		if err := s.Append(ctx, "a", "p1", 0, []string{"late"}, nil); !errors.Is(err, jobs.ErrLeaseLost) {
			t.Errorf("its owner stores progress of a claimed job: %v", err)
		}
		if err := s.Finish(ctx, ended(a, jobs.StatusSucceeded, now)); !errors.Is(err, jobs.ErrLeaseLost) {
			t.Errorf("its owner finishes a claimed job: %v", err)
		}
		if err := s.Start(ctx, running("a2", "pay", "pay-dev", jobs.OpPreview, t0), ample); err == nil {
			t.Error("a job started on the stack of a claimed job not yet finished")
		}
		// The claim lapses: another process claims it again.
		if got, err := s.Claim(ctx, "p4", now.Add(2*time.Minute), now.Add(3*time.Minute)); err != nil || len(got) != 1 || got[0].ID != "a" || got[0].Owner != "p4" {
			t.Fatalf("a lapsed claim claimed again: %+v %v (first claimer %s)", got, err, claimer)
		}
		done := all[0]
		done.Owner, done.Error = "p4", "interrupted: recovered"
		if err := s.Finish(ctx, done); err != nil {
			t.Fatalf("the claimer finishes: %v", err)
		}
		if h, _ := s.Holder(ctx, "pay-dev"); h != "" {
			t.Errorf("holder after the claimer finished: %q", h)
		}
		if got, _ := s.Running(ctx); !reflect.DeepEqual(got, map[string]int{"pay": 1, "ops": 1}) {
			t.Errorf("running after the recovery: %v", got)
		}
		if got, err := s.Get(ctx, "a"); err != nil || got.Status != jobs.StatusInterrupted || got.Error != "interrupted: recovered" {
			t.Errorf("the recovered job reads %+v %v", got, err)
		}
	})
}

// TestStoreLog: a job's log is stored in pieces and read back from any
// line, across chunk boundaries; its view reads back with its record;
// only its owner stores them.
func TestStoreLog(t *testing.T) {
	forEachStore(t, func(t *testing.T, s jobs.Store) {
		rec := running("a", "pay", "pay-dev", jobs.OpApply, t0)
		rec.Owner = "p1"
		mustStart(t, s, rec)
		var want []string
		for i := range 450 {
			want = append(want, fmt.Sprintf("line %d", i))
		}
		view := &jobs.View{ID: "a", Progress: jobs.Progress{Unit: "resources", Done: 3, Total: 47, Ops: []jobs.OpCount{}}}
		for _, cut := range [][2]int{{0, 5}, {5, 260}, {260, 450}} {
			if err := s.Append(ctx, "a", "p1", cut[0], want[cut[0]:cut[1]], view); err != nil {
				t.Fatalf("append %v: %v", cut, err)
			}
		}
		for _, n := range []int{0, 4, 5, 199, 200, 201, 259, 449, 450, 500} {
			got, err := s.Lines(ctx, "a", n)
			if w := want[min(n, len(want)):]; err != nil || len(got) != len(w) || len(got) > 0 && (got[0] != w[0] || got[len(got)-1] != w[len(w)-1]) {
				t.Errorf("lines after %d: %d lines %v, want %d", n, len(got), err, len(w))
			}
		}
		if got, err := s.Get(ctx, "a"); err != nil || got.Shown == nil || got.Shown.Progress.Done != 3 {
			t.Errorf("the stored view: %+v %v", got.Shown, err)
		}
		if err := s.Append(ctx, "a", "p2", 450, []string{"x"}, nil); !errors.Is(err, jobs.ErrLeaseLost) {
			t.Errorf("another process stores the job's log: %v", err)
		}
		var nf *jobs.NotFoundError
		if _, err := s.Lines(ctx, "nope", 0); !errors.As(err, &nf) {
			t.Errorf("lines of an unknown job: %v", err)
		}
	})
}

// TestStoreAudit: entries read back by stack, newest first, at most the
// limit asked.
func TestStoreAudit(t *testing.T) {
	forEachStore(t, func(t *testing.T, s jobs.Store) {
		for i := range 5 {
			e := jobs.AuditEntry{Time: t0.Add(time.Duration(i) * time.Second), Subject: "token:0123456789ab", Via: "bearer", Team: "pay",
				Stack: "pay-dev", Action: fmt.Sprintf("a%d", i), Status: 202, Result: "job x"}
			if i == 2 {
				e.Stack = "pay-prd"
			}
			if err := s.Audit(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.AuditLog(ctx, "pay-dev", 3)
		var actions []string
		for _, e := range got {
			actions = append(actions, e.Action)
		}
		if err != nil || !reflect.DeepEqual(actions, []string{"a4", "a3", "a1"}) || got[0].Subject != "token:0123456789ab" || !got[0].Time.Equal(t0.Add(4*time.Second)) {
			t.Errorf("audit of pay-dev: %v %v (%+v)", actions, err, got)
		}
	})
}

// TestStoreAdmissionIsAtomic: 24 jobs started at once on distinct stacks,
// from as many goroutines (for DynamoDB: as many conditional writes racing
// on the table), never run more than the limits allow, and every refusal
// is a limit.
func TestStoreAdmissionIsAtomic(t *testing.T) {
	limits := jobs.Limits{Jobs: 4, TeamJobs: 2}
	forEachStore(t, func(t *testing.T, s jobs.Store) {
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			started = map[string]int{}
			total   int
		)
		for i := range 24 {
			team := []string{"pay", "ops", "web"}[i%3]
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := s.Start(ctx, running(fmt.Sprintf("j%02d", i), team, fmt.Sprintf("%s-s%d", team, i), jobs.OpPreview, t0), limits)
				var limit *jobs.LimitError
				switch {
				case err == nil:
					mu.Lock()
					started[team]++
					total++
					mu.Unlock()
				case !errors.As(err, &limit):
					t.Errorf("start %d: %v, want a *LimitError", i, err)
				}
			}()
		}
		wg.Wait()
		if total != limits.Jobs {
			t.Errorf("%d jobs started of 24, want the limit %d exactly", total, limits.Jobs)
		}
		for team, n := range started {
			if n > limits.TeamJobs {
				t.Errorf("team %s started %d jobs, over its limit %d", team, n, limits.TeamJobs)
			}
		}
		if got, err := s.Running(ctx); err != nil || !reflect.DeepEqual(got, started) {
			t.Errorf("running %v %v, started %v", got, err, started)
		}
	})
}
