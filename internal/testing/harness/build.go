package harness

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hookline/hookline/handler/build"
)

// BuildLimit bounds one build of a binary a test runs. It is the build's own
// limit, generous for cold caches on two cores: a test's deadline starts only
// after the binaries it runs are built, so a slow first compile can never
// fail a test that is correct.
const BuildLimit = 20 * time.Minute

var (
	projectOnce sync.Once
	projectRoot string
	projectErr  error
)

// ProjectDir is the root of the hookline module the tests run in.
func ProjectDir(t testing.TB) string {
	t.Helper()
	projectOnce.Do(func() { projectRoot, projectErr = build.ProjectDir(".") })
	if projectErr != nil {
		t.Fatal(projectErr)
	}
	return projectRoot
}

// Binary builds a package of the module for the tests into .build/test-bin/
// and returns its path. Call it before starting any timed context: through
// build's cache and lock, one `go test` run compiles each binary once, however
// many test packages ask for it, and later calls return at once.
func Binary(t testing.TB, name string, spec build.Spec) string {
	t.Helper()
	root := ProjectDir(t)
	if spec.Target == (build.Target{}) {
		spec.Target = build.Host
	}
	out := filepath.Join(root, build.Dir, "test-bin", spec.Target.String(), name)
	return run(t, name, func(ctx context.Context) (string, error) { return build.Binary(ctx, root, spec, out) })
}

// Bootstrap builds the handler for target exactly where the program keeps
// it, so a program run by a test afterwards finds it built.
func Bootstrap(t testing.TB, target build.Target) string {
	t.Helper()
	root := ProjectDir(t)
	return run(t, "handler "+target.String(), func(ctx context.Context) (string, error) {
		return build.Bootstrap(ctx, root, target)
	})
}

// LeanBootstrap builds the handler without the DynamoDB client (what the
// program ships to sources without idempotency) for target, where the
// program keeps it.
func LeanBootstrap(t testing.TB, target build.Target) string {
	t.Helper()
	root := ProjectDir(t)
	return run(t, "lean handler "+target.String(), func(ctx context.Context) (string, error) {
		return build.BootstrapWith(ctx, root, target, build.Features{})
	})
}

// AuthorizerBootstrap builds the edge authorizer for target, as the program
// would (once per source tree), before any timed part of a test.
func AuthorizerBootstrap(t testing.TB, target build.Target) string {
	t.Helper()
	root := ProjectDir(t)
	return run(t, "authorizer "+target.String(), func(ctx context.Context) (string, error) {
		return build.AuthorizerBootstrap(ctx, root, target)
	})
}

func run(t testing.TB, what string, f func(context.Context) (string, error)) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), BuildLimit)
	defer cancel()
	start := time.Now()
	path, err := f(ctx)
	if err != nil {
		t.Fatalf("build %s (limit %v): %v", what, BuildLimit, err)
	}
	if d := time.Since(start); d > time.Second {
		t.Logf("built %s in %v", what, d.Round(100*time.Millisecond))
	}
	return path
}

// StubHandler stands in for the handler archive in tests that plan a stack
// without building the handler (a real build is proven in handler/build).
func StubHandler(string) (pulumi.Archive, error) {
	return pulumi.NewAssetArchive(map[string]any{"bootstrap": pulumi.NewStringAsset("stub")}), nil
}
