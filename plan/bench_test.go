package plan_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hookline/hookline/plan"
	"github.com/hookline/hookline/plan/awsmodel"
)

const projectDir = ".."

// baselineRun registers n bare components under the same mocks: the cost of
// the Pulumi mock engine alone, to which the plan is compared.
func baselineRun(b *testing.B, n int) {
	mocks := awsmodel.NewMocks("hookline", "prod", "us-east-1")
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		for i := 0; i < n; i++ {
			var r struct{ pulumi.ResourceState }
			if err := ctx.RegisterComponentResource("bench:index:Thing", fmt.Sprintf("r%d", i), &r); err != nil {
				return err
			}
		}
		return nil
	}, pulumi.WithMocks("hookline", "prod", mocks))
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPlanProd: the offline plan of the prod stack after compilation
// (handler already built), next to the mock engine registering as many bare
// resources in the same run.
func BenchmarkPlanProd(b *testing.B) {
	res, err := plan.Run(plan.Options{Dir: projectDir, Stack: "prod"}) // builds the handler once
	if err != nil {
		b.Fatal(err)
	}
	n := len(res.Resources)

	const baselineRuns = 20
	start := time.Now()
	for i := 0; i < baselineRuns; i++ {
		baselineRun(b, n)
	}
	baseline := time.Since(start) / baselineRuns

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := plan.Run(plan.Options{Dir: projectDir, Stack: "prod"}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	perOp := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(n), "resources")
	b.ReportMetric(float64(baseline.Microseconds())/1000, "baseline-ms")
	b.ReportMetric(float64(perOp)/float64(baseline), "x-baseline")
}

// compile builds pkg with a private, empty build cache (cold) or the warm one
// it leaves behind, and returns the wall time and the peak RSS of the build's
// largest process.
func compile(b *testing.B, cache, pkg string) (time.Duration, int64) {
	cmd := exec.Command("go", "build", "-o", os.DevNull, pkg)
	cmd.Dir = projectDir
	cmd.Env = append(os.Environ(), "GOCACHE="+cache, "GOFLAGS=-buildvcs=false")
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("go build %s: %v", pkg, err)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return time.Since(start), ru.Maxrss // KiB on Linux
}

// BenchmarkCompile: cold compile of the program (fresh build cache) and a warm
// rebuild after touching main.go, each next to the same for a Pulumi program
// that imports no provider. Slow (minutes): only with HOOKLINE_BENCH_COMPILE=1.
func BenchmarkCompile(b *testing.B) {
	if os.Getenv("HOOKLINE_BENCH_COMPILE") == "" {
		b.Skip("set HOOKLINE_BENCH_COMPILE=1 (make bench does) to measure compile time and memory")
	}
	for i := 0; i < b.N; i++ {
		type result struct {
			cold, warm time.Duration
			rss        int64
		}
		measure := func(pkg, touch string) result {
			cache := b.TempDir()
			cold, rss := compile(b, cache, pkg)
			now := time.Now()
			if err := os.Chtimes(filepath.Join(projectDir, touch), now, now); err != nil {
				b.Fatal(err)
			}
			warm, _ := compile(b, cache, pkg)
			return result{cold, warm, rss}
		}
		base := measure("./plan/testdata/baseline", "plan/testdata/baseline/main.go")
		prog := measure(".", "main.go")
		b.ReportMetric(float64(prog.rss)/1024, "peak-rss-MiB")
		b.ReportMetric(float64(base.rss)/1024, "baseline-peak-rss-MiB")
		b.ReportMetric(float64(prog.rss)/float64(base.rss), "rss-x-baseline")
		b.ReportMetric(prog.cold.Seconds(), "cold-s")
		b.ReportMetric(base.cold.Seconds(), "baseline-cold-s")
		b.ReportMetric(prog.warm.Seconds(), "warm-s")
		b.ReportMetric(base.warm.Seconds(), "baseline-warm-s")
	}
}
