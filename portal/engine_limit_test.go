package portal_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline/engine"
	"github.com/hookline/hookline/portal"
)

// pulumiWatch polls /proc for running Pulumi CLIs (processes whose
// executable is the project's bin/pulumi) and keeps the most seen at once.
type pulumiWatch struct {
	stop, done chan struct{}
	peak, seen int
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
	w := &pulumiWatch{stop: make(chan struct{}), done: make(chan struct{})}
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
				if target, err := os.Readlink(e); err == nil && strings.TrimSuffix(target, " (deleted)") == bin {
					n++
				}
			}
			w.seen += n
			w.peak = max(w.peak, n)
		}
	}()
	return w
}

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
