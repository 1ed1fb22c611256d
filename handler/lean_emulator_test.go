package main

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/handler/build"
	"github.com/hookline/hookline/internal/local/awsfake"
	"github.com/hookline/hookline/internal/local/lambdaemu"
	"github.com/hookline/hookline/internal/testing/harness"
)

// TestLeanBootstrapFailsClosedOnIdempotency runs the handler built without
// the DynamoDB client (build.Features{}, the bootstrap of sources without
// idempotency) for a source that has idempotency on: it processes nothing,
// retries every record and logs why, instead of skipping the deduplication.
func TestLeanBootstrapFailsClosedOnIdempotency(t *testing.T) {
	rie, err := lambdaemu.FindRIE("..")
	if err != nil {
		t.Skipf("%v (make test installs it)", err)
	}
	lean := harness.Binary(t, "bootstrap-lean", build.HandlerWith(build.Emulator, build.Features{}))
	aws := awsfake.New(map[string]string{"/hookline/test/partners/signing-secret": testSecret})
	defer aws.Close()
	cfg := contract.HandlerConfig{
		Source: "partners", Scheme: contract.SchemeStandardWebhooks,
		SecretParameter: "/hookline/test/partners/signing-secret", Tolerance: 5 * time.Minute,
		Processor: contract.ProcessorLog, Attributes: partners.Attributes(),
		IdempotencyTable: "hookline-test-partners-idempotency", IdempotencyTTL: 72 * time.Hour,
	}
	ctx, emu, _ := startHandler(t, rie, lean, aws, cfg)

	now := time.Now()
	failed := invokeBatch(t, ctx, emu, []events.SQSMessage{record(t, "A", "a1", now), record(t, "B", "b1", now)})
	if strings.Join(failed, ",") != "m-a1,m-b1" {
		t.Errorf("batchItemFailures = %v, want every record retried\n%s", failed, emu.Logs())
	}
	if logs := emu.Logs(); !strings.Contains(logs, "built without the DynamoDB client") {
		t.Errorf("no log line says why every record is retried:\n%s", logs)
	}
}
