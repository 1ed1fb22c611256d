package main

import (
	"sync"
	"sync/atomic"
	"testing"
)

// TestLazyBuildsOnceOnFirstUse: a lazy client is not built until a record
// needs it, then once, however many records ask at the same time.
func TestLazyBuildsOnceOnFirstUse(t *testing.T) {
	var built atomic.Int32
	l := &lazy[*int]{build: func() *int { built.Add(1); n := 7; return &n }}
	if built.Load() != 0 {
		t.Fatal("built before first use")
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if *l.get() != 7 {
				t.Error("wrong client")
			}
		}()
	}
	wg.Wait()
	if n := built.Load(); n != 1 {
		t.Fatalf("built %d times", n)
	}
}
