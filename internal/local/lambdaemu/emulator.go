// Package lambdaemu runs a Lambda bootstrap under the AWS Lambda Runtime
// Interface Emulator (aws-lambda-rie) on loopback and invokes it: the real
// Lambda runtime API, without AWS.
package lambdaemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Emulator is a running aws-lambda-rie with one function.
type Emulator struct {
	URL  string
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// FindRIE returns the emulator binary: $HOOKLINE_RIE, bin/aws-lambda-rie
// under the project, or aws-lambda-rie on PATH.
func FindRIE(projectDir string) (string, error) {
	if p := os.Getenv("HOOKLINE_RIE"); p != "" {
		return p, nil
	}
	if p := filepath.Join(projectDir, "bin", "aws-lambda-rie"); isFile(p) {
		return filepath.Abs(p)
	}
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		return p, nil
	}
	return "", errors.New("aws-lambda-rie not found: run `make tools` (or set HOOKLINE_RIE)")
}

func isFile(p string) bool { st, err := os.Stat(p); return err == nil && !st.IsDir() }

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// Start runs bootstrap under the emulator with env added to the process
// environment, and waits until the emulator accepts invocations.
func Start(ctx context.Context, rie, bootstrap string, env []string) (*Emulator, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	apiAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(bootstrap)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", addr, "--runtime-api-address", apiAddr, abs)
	cmd.Dir = filepath.Dir(abs)
	cmd.Env = append(append(os.Environ(),
		"AWS_LAMBDA_FUNCTION_NAME=hookline-local", "AWS_LAMBDA_FUNCTION_TIMEOUT=30",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256", "AWS_REGION=us-east-1", "LOG_LEVEL=info"), env...)
	e := &Emulator{URL: "http://" + addr, cmd: cmd, logs: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = e.logs, e.logs
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", rie, err)
	}
	go func() { e.done <- cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			c.Close()
			return e, nil
		}
		select {
		case err := <-e.done:
			return nil, fmt.Errorf("emulator exited: %v\n%s", err, e.logs.String())
		case <-ctx.Done():
			e.Stop()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			e.Stop()
			return nil, fmt.Errorf("emulator did not listen on %s:\n%s", addr, e.logs.String())
		}
	}
}

// Invoke sends one event and returns the function's response.
func (e *Emulator) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL+"/2015-03-31/functions/function/invocations", bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoke: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("invoke: emulator answered %d: %s", resp.StatusCode, body)
	}
	return body, nil
}

// Logs returns everything the emulator and the function printed so far.
func (e *Emulator) Logs() string { return e.logs.String() }

var initRE = regexp.MustCompile(`INIT REPORT.*?durationMs:\s*([0-9.]+)|Init Duration:\s*([0-9.]+)\s*ms`)

// InitDuration is the function's init time from the emulator's report
// (waiting briefly for it: the emulator's output is asynchronous).
func (e *Emulator) InitDuration() (time.Duration, bool) {
	e.WaitForLog("INIT REPORT", 1, 2*time.Second)
	m := initRE.FindStringSubmatch(e.Logs())
	if m == nil {
		return 0, false
	}
	v := m[1]
	if v == "" {
		v = m[2]
	}
	ms, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, false
	}
	return time.Duration(ms * float64(time.Millisecond)), true
}

// Stop ends the emulator and the function.
func (e *Emulator) Stop() {
	if e.cmd.Process != nil {
		_ = e.cmd.Process.Kill()
	}
	select {
	case <-e.done:
	case <-time.After(5 * time.Second):
	}
}

// WaitForLog waits until the function's output holds substr at least n
// times: the emulator forwards the function's output asynchronously, so the
// last lines of an invocation may arrive after its response.
func (e *Emulator) WaitForLog(substr string, n int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if strings.Count(e.Logs(), substr) >= n {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}
