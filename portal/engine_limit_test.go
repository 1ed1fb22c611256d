package portal_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline/engine"
	"github.com/hookline/hookline/portal"
)

// pulumiWatch polls /proc for the Pulumi CLIs this test process runs
// (its children whose executable is the project's bin/pulumi: other
// tests on the machine run the same binary) and keeps the most seen at
// once, and the stacks their command lines name (--stack).
type pulumiWatch struct {
	stop, done chan struct{}
	peak, seen int
	stacks     map[string]bool
}

func watchPulumi(t *testing.T) *pulumiWatch {
	t.Helper()
	bin, err := filepath.Abs(filepath.Join(projectDir, "bin", "pulumi"))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := filepath.EvalSymlinks(bin); err == nil {
		bin = b
	}
	if _, err := os.Stat("/proc/self/exe"); err != nil {
		t.Skip("no /proc to watch")
	}
	w := &pulumiWatch{stop: make(chan struct{}), done: make(chan struct{}), stacks: map[string]bool{}}
	go func() {
		defer close(w.done)
		for {
			select {
			case <-w.stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			exes, _ := filepath.Glob("/proc/[0-9]*/exe")
			n := 0
			for _, e := range exes {
				if target, err := os.Readlink(e); err == nil && strings.TrimSuffix(target, " (deleted)") == bin && childOfThis(filepath.Dir(e)) {
					n++
					cmd, _ := os.ReadFile(filepath.Join(filepath.Dir(e), "cmdline"))
					args := strings.Split(string(cmd), "\x00")
					for i, a := range args {
						if (a == "--stack" || a == "-s") && i+1 < len(args) {
							w.stacks[args[i+1]] = true
						}
					}
				}
			}
			w.seen += n
			w.peak = max(w.peak, n)
		}
	}()
	return w
}

// childOfThis reports whether the process of /proc directory proc is a
// child of this one: its stat's fourth field, after the command in
// parentheses, is its parent's pid.
func childOfThis(proc string) bool {
	stat, err := os.ReadFile(filepath.Join(proc, "stat"))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return false
	}
	f := strings.Fields(string(stat[i+1:]))
	return len(f) > 1 && f[1] == strconv.Itoa(os.Getpid())
}

// end stops the watch and returns the most CLIs seen at once and the sum
// of the CLIs seen at each poll (0: none ever ran while it watched); the
// stacks they named are in w.stacks.
func (w *pulumiWatch) end() (peak, seen int) {
	close(w.stop)
	<-w.done
	return w.peak, w.seen
}

// TestReadsAreBoundedAndCreateNothing: a burst of reads of stacks that do
// not exist — DLQ views, stack views, secret PUTs (each reads the stack
// before it writes) — answers 404 (or 429 when no engine slot frees in
// time), leaves no stack in the backend, and never runs more Pulumi CLIs
// at once than the portal's Engine limit. Open created every stack read
// (24 untagged stacks, owner-mismatch to the admins), and nothing bounded
// the CLIs of a read.
func TestReadsAreBoundedAndCreateNothing(t *testing.T) {
	const limit, burst = 2, 24
	state := t.TempDir()
	hs, o, _ := newPortalIn(t, "", state, func(po *portal.Options) {
		po.Limits.Engine, po.Limits.EngineWait = limit, 5*time.Minute
	})
	secret := map[string]any{"kind": "signing", "value": strings.Repeat("k", 40)}
	w := watchPulumi(t)
	var wg sync.WaitGroup
	codes := make([]int, burst)
	answers := make([]map[string]any, burst)
	for i := range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			env := fmt.Sprintf("gh%c", 'a'+i) // made up: gha…ghx
			switch i % 3 {
			case 0:
				codes[i], answers[i] = call(t, hs, "pay", http.MethodGet, "/api/stacks/pay/"+env+"/sources/s1/dlq", nil)
			case 1:
				codes[i], answers[i] = call(t, hs, "pay", http.MethodPut, "/api/stacks/pay/"+env+"/secrets/s1", secret)
			default:
				codes[i], answers[i] = call(t, hs, "pay", http.MethodGet, "/api/stacks/pay/"+env, nil)
			}
		}()
	}
	wg.Wait()
	peak, seen := w.end()
	for i, c := range codes {
		if c != http.StatusNotFound && c != http.StatusTooManyRequests {
			t.Errorf("request %d answered %d %v, want 404 (or 429)", i, c, answers[i])
		}
	}
	if seen == 0 {
		t.Fatal("the watcher never saw a Pulumi CLI running: it proves nothing")
	}
	if peak > limit {
		t.Errorf("%d Pulumi CLIs ran at once, the limit is %d", peak, limit)
	}
	t.Logf("at most %d Pulumi CLIs at once (limit %d)", peak, limit)
	o.Gate = nil
	sums, err := engine.List(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range sums {
		names = append(names, s.Name)
	}
	if len(names) > 0 {
		t.Errorf("reads left %d stacks in the backend: %v", len(names), names)
	}
}

// TestJobBurstIsRefusedBeforeTheEngine: a burst of 50 destroys and applies
// from one team, each on a stack of its own, with 2 job slots and 2 engine
// slots. The requests over the job limit answer 429 naming the team's
// limit, with Retry-After, without a Pulumi CLI ever naming their stack:
// the job slot is reserved before the owner check reads the stack's tag,
// so a refusal costs no engine call and queues nothing behind the engine's
// gate. No more Pulumi CLIs run at once than the engine limit, and every
// admitted job ends on its own terms (a destroy succeeds; an apply with no
// preview fails for that), none for want of an engine slot. (The owner
// check ran first, so every request read its stack's tag with a CLI — the
// 48 refusals queued 48 tag reads behind the gate, and the admitted jobs'
// steps waited behind them.)
func TestJobBurstIsRefusedBeforeTheEngine(t *testing.T) {
	const slots, limit, burst = 2, 2, 50
	hs, _, _ := newPortalIn(t, "", t.TempDir(), func(po *portal.Options) {
		po.Limits.Jobs, po.Limits.TeamJobs = slots, slots
		po.Limits.Engine, po.Limits.EngineWait = limit, 5*time.Minute
	})
	type answer struct {
		env, op    string
		code       int
		retryAfter string
		body       map[string]any
	}
	answers := make([]answer, burst)
	w := watchPulumi(t)
	var wg sync.WaitGroup
	for i := range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := answer{env: fmt.Sprintf("b%02d", i), op: "destroy"}
			var body any = map[string]string{"confirm": portal.StackName("pay", a.env)}
			if i%2 == 1 {
				a.op, body = "apply", request(a.env, nil)
			}
			j, _ := json.Marshal(body)
			req, _ := http.NewRequest(http.MethodPost, hs.URL+"/api/stacks/pay/"+a.env+"/"+a.op, bytes.NewReader(j))
			req.Header.Set("Authorization", "Bearer "+tokens["pay"])
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			a.code, a.retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
			_ = json.NewDecoder(resp.Body).Decode(&a.body)
			answers[i] = a
		}()
	}
	wg.Wait()

	var admitted, refused []answer
	for _, a := range answers {
		switch a.code {
		case http.StatusAccepted:
			admitted = append(admitted, a)
		case http.StatusTooManyRequests:
			refused = append(refused, a)
			if msg := fmt.Sprint(a.body["error"]); msg != "team pay runs 2 jobs, its limit; retry later" || a.retryAfter != "30" {
				t.Errorf("%s %s refused with %q, Retry-After %q: want the team's job limit named, Retry-After 30", a.op, a.env, msg, a.retryAfter)
			}
		default:
			t.Errorf("%s %s answered %d %v, want 202 or 429", a.op, a.env, a.code, a.body)
		}
	}
	if len(admitted) == 0 || len(refused) == 0 {
		t.Fatalf("%d admitted, %d refused: a burst of %d over %d job slots admits some and refuses some", len(admitted), len(refused), burst, slots)
	}
	for _, a := range admitted {
		j := wait(t, hs, "pay", a.body)
		switch {
		case a.op == "destroy" && j["status"] != "succeeded":
			t.Errorf("admitted destroy of %s: %v", a.env, j)
		case a.op == "apply" && (j["status"] != "failed" || !strings.Contains(fmt.Sprint(j["error"]), "needs a passed preview")):
			t.Errorf("admitted apply of %s ended otherwise than for its missing preview: %v", a.env, j)
		}
	}
	peak, seen := w.end()
	if seen == 0 {
		t.Fatal("the watcher never saw a Pulumi CLI running: it proves nothing")
	}
	if peak > limit {
		t.Errorf("%d Pulumi CLIs ran at once, the engine limit is %d", peak, limit)
	}
	var spent []string
	for _, a := range refused {
		if w.stacks[portal.StackName("pay", a.env)] {
			spent = append(spent, a.op+" "+a.env)
		}
	}
	if len(spent) > 0 {
		t.Errorf("%d of %d refused requests ran a Pulumi CLI on their stack before the job limit refused them: %v", len(spent), len(refused), spent)
	}
	t.Logf("%d admitted, %d refused; at most %d Pulumi CLIs at once (limit %d)", len(admitted), len(refused), peak, limit)
}
