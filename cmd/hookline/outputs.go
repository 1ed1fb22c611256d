package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/hookline/hookline/stackconfig"
)

// stackOutputs reads a deployed stack's outputs (secrets shown) with the
// Pulumi CLI: bin/pulumi when the project built one, else pulumi on PATH;
// a portal-made stack (no stack file) from the portal's backend.
func stackOutputs(projectDir, stack string) (map[string]any, error) {
	if _, err := os.Stat(filepath.Join(projectDir, stackconfig.StackFile(stack))); err != nil {
		return portalOutputs(projectDir, stack)
	}
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

// stackSource loads the stack's validated config and one of its sources.
func stackSource(dir, stack, source string) (string, *stackconfig.Config, *stackconfig.Source, error) {
	projectDir, cfg, err := loadStack(dir, stack)
	if err != nil {
		return "", nil, nil, err
	}
	for i := range cfg.Sources {
		if cfg.Sources[i].Name == source {
			return projectDir, cfg, &cfg.Sources[i], nil
		}
	}
	return "", nil, nil, fmt.Errorf("stack %s has no source %q", stack, source)
}

// loadStack finds the project and loads a stack's validated config.
func loadStack(dir, stack string) (string, *stackconfig.Config, error) {
	projectDir, err := projectDirOrFind(dir)
	if err != nil {
		return "", nil, err
	}
	raw, secretKeys, err := stackconfig.ReadStackFile(projectDir, stack)
	if err != nil {
		if _, statErr := os.Stat(filepath.Join(projectDir, stackconfig.StackFile(stack))); statErr == nil {
			return "", nil, err
		}
		// No stack file: a stack made in the portal, found by its name.
		if raw, secretKeys, err = portalConfig(projectDir, stack); err != nil {
			return "", nil, err
		}
	}
	cfg, err := stackconfig.Load(stack, raw, true, secretKeys)
	if err != nil {
		return "", nil, errors.New(oneLine(err))
	}
	return projectDir, cfg, nil
}
