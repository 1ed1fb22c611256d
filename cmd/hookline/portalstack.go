package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hookline/hookline/engine"
	"github.com/hookline/hookline/stackconfig"
)

// A stack made in the self-service portal has no Pulumi.<stack>.yaml: its
// config and outputs live in the portal's backend. The commands find it
// there by name, in HOOKLINE_PORTAL_BACKEND (the portal's --backend, e.g.
// s3://…) or else the portal's local state (HOOKLINE_PORTAL_DATA, default
// .build/portal under the project), opened with HOOKLINE_PORTAL_PASSPHRASE
// or the local passphrase file the portal keeps there.

// portalStack opens a portal-made stack, or reports why it cannot.
func portalStack(projectDir, stack string) (*engine.Stack, error) {
	data := os.Getenv("HOOKLINE_PORTAL_DATA")
	if data == "" {
		data = filepath.Join(projectDir, ".build", "portal")
	}
	backend := os.Getenv("HOOKLINE_PORTAL_BACKEND")
	if backend == "" {
		if _, err := os.Stat(filepath.Join(data, "state")); err != nil {
			return nil, fmt.Errorf("no stack %s: no %s, and no portal state in %s (set HOOKLINE_PORTAL_DATA or HOOKLINE_PORTAL_BACKEND to find a portal-made stack); %s",
				stack, filepath.Join(projectDir, stackconfig.StackFile(stack)), data, stackList(localStacks(projectDir), nil))
		}
	}
	pass := os.Getenv("HOOKLINE_PORTAL_PASSPHRASE")
	if pass == "" {
		b, err := os.ReadFile(filepath.Join(data, "passphrase"))
		if err != nil {
			return nil, errors.New("the portal's stacks need its passphrase: set HOOKLINE_PORTAL_PASSPHRASE")
		}
		pass = strings.TrimSpace(string(b))
	}
	o := engine.Options{ProjectDir: projectDir, Stack: stack, StateDir: filepath.Join(data, "state"), BackendURL: backend, Passphrase: pass}
	// Look before opening: opening creates a stack that does not exist.
	sums, err := engine.List(context.Background(), o)
	if err != nil {
		return nil, fmt.Errorf("list the portal's stacks: %w", err)
	}
	var portal []string
	for _, s := range sums {
		portal = append(portal, s.Name)
	}
	if !slices.Contains(portal, stack) {
		return nil, fmt.Errorf("no %s, and no stack %s in the portal's backend (%s); %s", stackconfig.StackFile(stack), stack, orDefault(backend, "file://"+o.StateDir),
			stackList(localStacks(projectDir), portal))
	}
	st, err := engine.Open(context.Background(), o)
	if err != nil {
		return nil, fmt.Errorf("portal stack %s: %w", stack, err)
	}
	return st, nil
}

// stackList names the stacks there are, for an error about one that is not.
func stackList(local, portal []string) string {
	slices.Sort(portal)
	var parts []string
	if len(local) > 0 {
		parts = append(parts, "stacks with a Pulumi.<stack>.yaml: "+strings.Join(local, ", "))
	}
	if len(portal) > 0 {
		parts = append(parts, "stacks in the portal: "+strings.Join(portal, ", "))
	}
	if len(parts) == 0 {
		return "there are no stacks (pulumi stack init, or create one in the portal)"
	}
	return strings.Join(parts, "; ")
}

// portalConfig is a portal-made stack's config and its secret keys.
func portalConfig(projectDir, stack string) (map[string]string, []string, error) {
	st, err := portalStack(projectDir, stack)
	if err != nil {
		return nil, nil, err
	}
	return st.Config(context.Background())
}

// portalOutputs is a portal-made stack's outputs (secrets shown).
func portalOutputs(projectDir, stack string) (map[string]any, error) {
	st, err := portalStack(projectDir, stack)
	if err != nil {
		return nil, err
	}
	outs, err := st.Outputs(context.Background())
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	for k, v := range outs {
		m[k] = v.Value
	}
	return m, nil
}
