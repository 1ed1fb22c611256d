package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/hookline/hookline/infra"
	"github.com/hookline/hookline/internal/awsfake"
	"github.com/hookline/hookline/internal/contract"
	"github.com/hookline/hookline/internal/lambdaemu"
)

// build compiles pkg with the Lambda flags for goarch and returns the binary.
func build(b *testing.B, pkg, goarch string) string {
	out := filepath.Join(b.TempDir(), "bootstrap")
	args := append([]string{"build"}, infra.HandlerBuildFlags...)
	cmd := exec.Command("go", append(args, "-o", out, pkg)...)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
	if o, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build %s: %v\n%s", pkg, err, o)
	}
	return out
}

func size(b *testing.B, path string) (int64, int64) {
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	z, err := infra.HandlerZip(path)
	if err != nil {
		b.Fatal(err)
	}
	return st.Size(), int64(len(z))
}

// medianInit starts bootstrap under the emulator runs times and returns the
// median init duration the emulator reports.
func medianInit(b *testing.B, rie, bootstrap string, env []string, payload []byte, runs int) time.Duration {
	var inits []time.Duration
	for i := 0; i < runs; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		e, err := lambdaemu.Start(ctx, rie, bootstrap, env)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.Invoke(ctx, payload); err != nil {
			b.Fatalf("%v\n%s", err, e.Logs())
		}
		d, ok := e.InitDuration()
		e.Stop()
		cancel()
		if !ok {
			b.Fatalf("no init report:\n%s", e.Logs())
		}
		inits = append(inits, d)
	}
	sort.Slice(inits, func(i, j int) bool { return inits[i] < inits[j] })
	return inits[len(inits)/2]
}

// BenchmarkColdStart: the stripped arm64 bootstrap (and its zip) and the init
// time under the Lambda emulator, each next to an aws-lambda-go hello world
// built with the same flags and measured in the same run.
func BenchmarkColdStart(b *testing.B) {
	rie, err := lambdaemu.FindRIE("..")
	if err != nil {
		b.Skip(err)
	}
	handlerArm, helloArm := build(b, infra.HandlerPackage, "arm64"), build(b, "./internal/lambdaemu/testdata/hello", "arm64")
	hs, hz := size(b, handlerArm)
	ws, wz := size(b, helloArm)

	// Init is measured on this machine's architecture, which the emulator runs.
	host := hostArch()
	handlerHost, helloHost := build(b, infra.HandlerPackage, host), build(b, "./internal/lambdaemu/testdata/hello", host)
	aws := awsfake.New(nil)
	defer aws.Close()
	env := append(aws.Env(), contract.EnvSource+"=bench", contract.EnvScheme+"=none")
	const runs = 9
	for i := 0; i < b.N; i++ {
		helloInit := medianInit(b, rie, helloHost, nil, []byte(`{"name":"x"}`), runs)
		handlerInit := medianInit(b, rie, handlerHost, env, []byte(`{"Records":[]}`), runs)
		b.ReportMetric(float64(hs)/1e6, "bootstrap-MB")
		b.ReportMetric(float64(ws)/1e6, "hello-MB")
		b.ReportMetric(float64(hz)/1e6, "zip-MB")
		b.ReportMetric(float64(wz)/1e6, "hello-zip-MB")
		b.ReportMetric(float64(handlerInit.Microseconds())/1000, "init-ms")
		b.ReportMetric(float64(helloInit.Microseconds())/1000, "hello-init-ms")
		b.ReportMetric(float64(handlerInit-helloInit)/float64(time.Millisecond), "init-extra-ms")
	}
}

func hostArch() string {
	out, err := exec.Command("go", "env", "GOARCH").Output()
	if err != nil {
		return "amd64"
	}
	return string(out[:len(out)-1])
}
