package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hookline/hookline/stackconfig"
	"github.com/hookline/hookline/stackoutputs"
)

// stackOutputs reads a deployed stack's outputs (secrets shown) with the
// Pulumi CLI: bin/pulumi when the project built one, else pulumi on PATH;
// a portal-made stack's (no stack file) from the portal's backend.
func stackOutputs(projectDir, stack string) (*stackoutputs.Stack, error) {
	if _, err := os.Stat(filepath.Join(projectDir, stackconfig.StackFile(stack))); err != nil {
		m, err := portalOutputs(projectDir, stack)
		if err != nil {
			return nil, err
		}
		outs, err := stackoutputs.Decode(m)
		if err != nil {
			return nil, fmt.Errorf("portal stack %s: %w", stack, err)
		}
		return outs, nil
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
	outs, err := stackoutputs.DecodeJSON(out)
	if err != nil {
		return nil, fmt.Errorf("stack %s: %w", stack, err)
	}
	return outs, nil
}

// missingOutputError: a deployed source lacks an output a command needs.
type missingOutputError struct{ source, key string }

// Error names the missing output and what most likely explains it.
func (e *missingOutputError) Error() string {
	return fmt.Sprintf("the stack has no output sources.%s.%s: is the source deployed (pulumi up)?", e.source, e.key)
}

// requiredOutput is the value of a deployed source's output key, or a
// *missingOutputError when the stack holds none.
func requiredOutput(source, key, value string) (string, error) {
	if value == "" {
		return "", &missingOutputError{source: source, key: key}
	}
	return value, nil
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
	return "", nil, nil, noSourceError(projectDir, stack, source, cfg)
}

// sourceNames lists the sources of a stack's config.
func sourceNames(cfg *stackconfig.Config) []string {
	var names []string
	for _, s := range cfg.Sources {
		names = append(names, s.Name)
	}
	return names
}

// noSourceError says that the stack's config has no such source, listing
// the sources it has; when the deployed stack has the source, it says that
// the config read differs from what is deployed instead.
func noSourceError(projectDir, stack, source string, cfg *stackconfig.Config) error {
	has := "it has " + strings.Join(sourceNames(cfg), ", ")
	if len(cfg.Sources) == 0 {
		has = "it has none"
	}
	if outs, err := stackOutputs(projectDir, stack); err == nil {
		if _, err := outs.Source(source); err == nil {
			return fmt.Errorf("source %q is deployed in stack %s, but %s does not describe it (%s): it differs from what was deployed; update it (git pull, or the branch that deployed) before using the source's config", source, stack, configPlace(projectDir, stack), has)
		}
	}
	return fmt.Errorf("stack %s has no source %q (%s)", stack, source, has)
}

// configPlace says where a stack's config was read from.
func configPlace(projectDir, stack string) string {
	if hasStackFile(projectDir, stack) {
		return stackconfig.StackFile(stack)
	}
	return "the portal's config of " + stack
}

// hasStackFile reports whether the project has Pulumi.<stack>.yaml.
func hasStackFile(projectDir, stack string) bool {
	_, err := os.Stat(filepath.Join(projectDir, stackconfig.StackFile(stack)))
	return err == nil
}

// checkSource checks that the stack has the source, in its config or, when
// the config differs, in its deployed outputs; it returns the stack's
// region.
func checkSource(projectDir, stack, source string) (string, error) {
	_, cfg, err := loadStack(projectDir, stack)
	if err != nil {
		return "", fmt.Errorf("check --source against stack %s: %w", stack, err)
	}
	if slices.Contains(sourceNames(cfg), source) {
		return cfg.Region, nil
	}
	if outs, err := stackOutputs(projectDir, stack); err == nil {
		if _, err := outs.Source(source); err == nil {
			return cfg.Region, nil
		}
	}
	return "", fmt.Errorf("stack %s has no source %q (it has %s)", stack, source, strings.Join(sourceNames(cfg), ", "))
}

// loadStack finds the project and loads a stack's validated config.
func loadStack(dir, stack string) (string, *stackconfig.Config, error) {
	projectDir, err := projectDirOrFind(dir)
	if err != nil {
		return "", nil, err
	}
	raw, secretKeys, err := stackConfig(projectDir, stack)
	if err != nil {
		return "", nil, err
	}
	cfg, err := stackconfig.Load(stack, raw, true, secretKeys)
	if err != nil {
		return "", nil, errors.New(oneLine(err))
	}
	return projectDir, cfg, nil
}

// stackConfig is a stack's raw config and its secret keys, found by the
// one rule every command follows (stackHelp): Pulumi.<stack>.yaml when the
// project has it, else the portal's backend.
func stackConfig(projectDir, stack string) (map[string]string, []string, error) {
	if hasStackFile(projectDir, stack) {
		return stackconfig.ReadStackFile(projectDir, stack)
	}
	return portalConfig(projectDir, stack)
}

// localStacks lists the stacks with a Pulumi.<stack>.yaml in the project.
func localStacks(projectDir string) []string {
	files, _ := filepath.Glob(filepath.Join(projectDir, "Pulumi.*.yaml"))
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "Pulumi."), ".yaml"))
	}
	slices.Sort(names)
	return names
}
