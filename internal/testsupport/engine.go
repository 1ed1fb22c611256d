package testsupport

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
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

// HaveEngine reports whether a Pulumi CLI is available (bin/pulumi or PATH).
func HaveEngine(projectDir string) bool {
	if _, err := os.Stat(filepath.Join(projectDir, "bin", "pulumi")); err == nil {
		return true
	}
	_, err := exec.LookPath("pulumi")
	return err == nil
}
