package engine_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/hookline/hookline/engine"
)

// cmdlineWatch polls the command line of every process until stopped: it
// reports whether one held any of needles and whether it saw a `pulumi
// config set` at all (else it watched nothing).
type cmdlineWatch struct {
	stop    chan struct{}
	done    chan struct{}
	mu      sync.Mutex
	leaked  []string
	sawSet  bool
	needles [][]byte
}

func watchCmdlines(needles ...string) *cmdlineWatch {
	w := &cmdlineWatch{stop: make(chan struct{}), done: make(chan struct{})}
	for _, n := range needles {
		w.needles = append(w.needles, []byte(n))
	}
	go func() {
		defer close(w.done)
		for {
			select {
			case <-w.stop:
				return
			default:
			}
			files, _ := filepath.Glob("/proc/[0-9]*/cmdline")
			for _, f := range files {
				b, err := os.ReadFile(f)
				if err != nil || len(b) == 0 {
					continue // gone, or a kernel thread
				}
				w.mu.Lock()
				if bytes.Contains(b, []byte("config\x00set")) {
					w.sawSet = true
				}
				for _, n := range w.needles {
					if bytes.Contains(b, n) {
						w.leaked = append(w.leaked, f+": "+string(bytes.ReplaceAll(b, []byte{0}, []byte(" "))))
					}
				}
				w.mu.Unlock()
			}
		}
	}()
	return w
}

func (w *cmdlineWatch) end() (leaked []string, sawSet bool) {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.leaked, w.sawSet
}

func distinctive(t *testing.T, prefix string) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return prefix + hex.EncodeToString(b)
}

// TestSetSecretKeepsTheValueOffCommandLines: while SetSecret runs, no
// process's command line (/proc/<pid>/cmdline, readable by every local
// user) holds the value — the Automation API's SetConfig passed it to
// `pulumi config set` as an argument — and the value reads back exactly,
// a two-line one (a rotation: new secret, then the previous) and one
// ending in a newline included.
func TestSetSecretKeepsTheValueOffCommandLines(t *testing.T) {
	if _, err := os.Stat("/proc/self/cmdline"); err != nil {
		t.Skip("no /proc to watch")
	}
	o := bare(t, "dev")
	c := shortCtx(t)
	st, err := engine.Open(c, o)
	if err != nil {
		t.Fatal(err)
	}
	first, second := distinctive(t, "whsec_first"), distinctive(t, "whsec_second")
	tests := []struct {
		name, key, value string
		needles          []string
	}{
		{"one line", "hookline:one", first, []string{first}},
		{"two lines", "hookline:two", second + "\n" + first, []string{second, first}},
		{"trailing newline", "hookline:trail", first + "\n", []string{first}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := watchCmdlines(tt.needles...)
			err := st.SetSecret(c, tt.key, tt.value)
			leaked, sawSet := w.end()
			if err != nil {
				t.Fatal(err)
			}
			if !sawSet {
				t.Fatal("the watcher never saw `pulumi config set` running: it proves nothing")
			}
			if len(leaked) > 0 {
				t.Errorf("the secret was on a command line:\n%s", leaked[0])
			}
			raw, secret, err := st.Config(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got := raw[tt.key]; got != tt.value {
				t.Errorf("reads back %q, want %q", got, tt.value)
			}
			isSecret := false
			for _, k := range secret {
				isSecret = isSecret || k == tt.key
			}
			if !isSecret {
				t.Errorf("%s is not secret (secret keys %v)", tt.key, secret)
			}
		})
	}
}
