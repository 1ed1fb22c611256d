//go:build linux || darwin || freebsd || netbsd || openbsd

package build

import (
	"fmt"
	"os"
	"syscall"
)

// lock takes an exclusive advisory lock on path, waiting for it: builds of
// one binary from several processes (test packages run in parallel) then
// compile once, the others finding the result.
func lock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open build lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("take build lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
