package lambdaemu_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/handler/build"
	"github.com/hookline/hookline/internal/local/lambdaemu"
	"github.com/hookline/hookline/internal/testing/harness"
)

// TestHelloUnderEmulator: a minimal aws-lambda-go function answers under the
// real emulator and the init time is read from its report.
func TestHelloUnderEmulator(t *testing.T) {
	rie, err := lambdaemu.FindRIE("../../..")
	if err != nil {
		t.Skip(err)
	}
	bootstrap := harness.Binary(t, "hello", build.Spec{Package: "./internal/local/lambdaemu/testdata/hello", Target: build.Emulator, Flags: build.Flags})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e, err := lambdaemu.Start(ctx, rie, bootstrap, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Stop()
	out, err := e.Invoke(ctx, []byte(`{"name":"hookline"}`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(out)) != `"hello hookline"` {
		t.Errorf("response %s", out)
	}
	if d, ok := e.InitDuration(); !ok || d <= 0 {
		t.Errorf("no init duration in:\n%s", e.Logs())
	}
}
