package harness

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/hookline/hookline/handler/build"
)

// RequireEngine skips the test when no Pulumi CLI is available — or fails
// it when HOOKLINE_REQUIRE_ENGINE is set (make test sets it, so CI never
// skips) — and builds what the engine runs before the test starts a
// deadline: the test-double AWS provider (pulumi-resource-aws, in a directory
// to put first on PATH), the policy pack binary, and the handler the program
// ships (both its builds). It returns the provider's directory and the pack.
func RequireEngine(t testing.TB) (plugins, pack string) {
	t.Helper()
	root := ProjectDir(t)
	if !haveEngine(root) {
		if os.Getenv("HOOKLINE_REQUIRE_ENGINE") != "" {
			t.Fatal("no Pulumi CLI: make tools builds bin/pulumi")
		}
		t.Skip("no Pulumi CLI: run `make tools` to build bin/pulumi (make test does)")
	}
	provider := Binary(t, "pulumi-resource-aws", build.Spec{Package: "./internal/testing/pulumi-resource-aws"})
	pack = Binary(t, "hookline-policy", build.Spec{Package: "./policy"})
	Bootstrap(t, build.Lambda)
	LeanBootstrap(t, build.Lambda) // sources without idempotency get it
	AuthorizerBootstrap(t, build.Lambda)
	return filepath.Dir(provider), pack
}

// haveEngine reports whether a Pulumi CLI is available (bin/pulumi or PATH).
func haveEngine(projectDir string) bool {
	if _, err := os.Stat(filepath.Join(projectDir, "bin", "pulumi")); err == nil {
		return true
	}
	_, err := exec.LookPath("pulumi")
	return err == nil
}
