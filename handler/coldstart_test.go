package main

import (
	"context"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/handler/build"
	"github.com/hookline/hookline/internal/local/awsfake"
	"github.com/hookline/hookline/internal/local/lambdaemu"
	"github.com/hookline/hookline/internal/testing/harness"
)

func size(b *testing.B, path string) (int64, int64) {
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	z, err := build.Zip(path)
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
// built with the same flags and measured in the same run. The bootstrap is
// the one the benchmark's source gets (lean: no idempotency); full-* are the
// full handler's.
func BenchmarkColdStart(b *testing.B) {
	rie, err := lambdaemu.FindRIE("..")
	if err != nil {
		b.Skip(err)
	}
	hello := func(t build.Target) build.Spec {
		return build.Spec{Package: "./internal/local/lambdaemu/testdata/hello", Target: t, Flags: build.Flags}
	}
	// The benchmark's source has no idempotency: its function gets the lean
	// handler (build.Features{}, no DynamoDB client), as the program deploys
	// it. The full handler (sources with idempotency) is reported beside it.
	lean := func(t build.Target) string {
		return harness.Binary(b, "bootstrap-lean", build.HandlerWith(t, build.Features{}))
	}
	handlerArm := lean(build.Lambda)
	fullArm := harness.Bootstrap(b, build.Lambda)
	helloArm := harness.Binary(b, "hello", hello(build.Lambda))
	hs, hz := size(b, handlerArm)
	_, fz := size(b, fullArm)
	ws, wz := size(b, helloArm)

	// Init is measured on this machine's architecture, which the emulator runs.
	handlerHost := lean(build.Emulator)
	fullHost := harness.Bootstrap(b, build.Emulator)
	helloHost := harness.Binary(b, "hello", hello(build.Emulator))
	aws := awsfake.New(nil)
	defer aws.Close()
	env := append(aws.Env(), contract.EnvSource+"=bench", contract.EnvScheme+"=none")
	const runs = 9
	for i := 0; i < b.N; i++ {
		helloInit := medianInit(b, rie, helloHost, nil, []byte(`{"name":"x"}`), runs)
		handlerInit := medianInit(b, rie, handlerHost, env, []byte(`{"Records":[]}`), runs)
		fullInit := medianInit(b, rie, fullHost, env, []byte(`{"Records":[]}`), runs)
		b.ReportMetric(float64(hs)/1e6, "bootstrap-MB")
		b.ReportMetric(float64(ws)/1e6, "hello-MB")
		b.ReportMetric(float64(hz)/1e6, "zip-MB")
		b.ReportMetric(float64(wz)/1e6, "hello-zip-MB")
		b.ReportMetric(float64(handlerInit.Microseconds())/1000, "init-ms")
		b.ReportMetric(float64(helloInit.Microseconds())/1000, "hello-init-ms")
		b.ReportMetric(float64(handlerInit-helloInit)/float64(time.Millisecond), "init-extra-ms")
		b.ReportMetric(float64(fz)/1e6, "full-zip-MB")
		b.ReportMetric(float64(fullInit.Microseconds())/1000, "full-init-ms")
		b.ReportMetric(float64(fullInit-helloInit)/float64(time.Millisecond), "full-init-extra-ms")
	}
}
