package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// stackOutputs reads a deployed stack's outputs (secrets shown) with the
// Pulumi CLI: bin/pulumi when the project built one, else pulumi on PATH.
func stackOutputs(projectDir, stack string) (map[string]any, error) {
	cli := filepath.Join(projectDir, "bin", "pulumi")
	if _, err := os.Stat(cli); err != nil {
		p, err := exec.LookPath("pulumi")
		if err != nil {
			return nil, errors.New("no Pulumi CLI to read the stack outputs with (install pulumi, or pass the values as flags)")
		}
		cli = p
	}
	cmd := exec.Command(cli, "stack", "output", "--json", "--show-secrets", "--stack", stack)
	cmd.Dir = projectDir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("read the outputs of stack %s: %v: %s", stack, err, oneLine(errors.New(stderr.String())))
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		return nil, fmt.Errorf("read the outputs of stack %s: %w", stack, err)
	}
	return m, nil
}

// sourceOutput reads outputs["sources"][source][key].
func sourceOutput(outs map[string]any, source, key string) (string, error) {
	srcs, _ := outs["sources"].(map[string]any)
	s, _ := srcs[source].(map[string]any)
	v, _ := s[key].(string)
	if v == "" {
		return "", fmt.Errorf("the stack has no output sources.%s.%s: is the source deployed (pulumi up)?", source, key)
	}
	return v, nil
}
