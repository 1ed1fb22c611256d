package testsupport

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	pluginDir string
	packBin   string
	buildErr  error
)

// EngineTools builds, once per test binary, the test-double AWS provider
// (pulumi-resource-aws, in a directory to put first on PATH) and the policy
// pack binary, from the project at projectDir.
func EngineTools(projectDir string) (plugins, pack string, err error) {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hookline-engine-bin")
		if err != nil {
			buildErr = err
			return
		}
		pluginDir, packBin = dir, filepath.Join(dir, "hookline-policy")
		for pkg, out := range map[string]string{
			"./internal/testsupport/pulumi-resource-aws": filepath.Join(dir, "pulumi-resource-aws"),
			"./policy": packBin,
		} {
			cmd := exec.Command("go", "build", "-o", out, pkg)
			cmd.Dir = projectDir
			if b, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("build %s: %v\n%s", pkg, err, b)
				return
			}
		}
	})
	return pluginDir, packBin, buildErr
}

// RequireEngine skips the test when no Pulumi CLI is available — or fails
// it when HOOKLINE_REQUIRE_ENGINE is set (make test sets it, so CI never
// skips) — and returns the test-double provider's directory and the pack.
func RequireEngine(t testing.TB, projectDir string) (plugins, pack string) {
	t.Helper()
	if !haveEngine(projectDir) {
		if os.Getenv("HOOKLINE_REQUIRE_ENGINE") != "" {
			t.Fatal("no Pulumi CLI: make tools builds bin/pulumi")
		}
		t.Skip("no Pulumi CLI: run `make tools` to build bin/pulumi (make test does)")
	}
	plugins, pack, err := EngineTools(projectDir)
	if err != nil {
		t.Fatal(err)
	}
	return plugins, pack
}

// haveEngine reports whether a Pulumi CLI is available (bin/pulumi or PATH).
func haveEngine(projectDir string) bool {
	if _, err := os.Stat(filepath.Join(projectDir, "bin", "pulumi")); err == nil {
		return true
	}
	_, err := exec.LookPath("pulumi")
	return err == nil
}
