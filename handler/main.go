// Command handler is the Lambda consumer of a hookline source, built as
// bootstrap for provided.al2023 on arm64 by the Pulumi program.
//
// main only wires: it reads the source's configuration from the environment
// (contract/), builds the AWS clients, the verifier, the idempotency
// store and the processor, and starts the Lambda runtime loop. The batch
// logic is in handler/consumer.
package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/handler/consumer"
	"github.com/hookline/hookline/handler/lambdaenv"
	"github.com/hookline/hookline/handler/processor"
	"github.com/hookline/hookline/handler/seal"
	"github.com/hookline/hookline/handler/secrets"
	"github.com/hookline/hookline/handler/signature"
	"github.com/hookline/hookline/handler/telemetry"
)

func main() {
	log := telemetry.NewLogger(os.Stdout, telemetry.LevelFromEnv(os.Getenv))
	lambda.Start(newHandler(log, os.Getenv))
}

// newHandler builds the consumer. Configuration problems do not stop the
// runtime: they make every record retry with the problem in its log line,
// so nothing is acknowledged that was not verified and processed.
func newHandler(log *slog.Logger, getenv func(string) string) *consumer.Handler {
	h := &consumer.Handler{Log: log, Metrics: os.Stdout, Now: time.Now}
	cfg, err := contract.ParseHandlerConfig(getenv)
	h.Config = cfg
	if err != nil {
		return failClosed(log, h, err)
	}
	awsCfg := lambdaenv.AWSConfig(getenv)
	store := secrets.New(ssm.NewFromConfig(awsCfg, func(o *ssm.Options) { o.BaseEndpoint = lambdaenv.Endpoint(getenv, "SSM") }))
	store.TTL = cfg.SecretTTL
	h.Secrets = store
	// SQS is only called for a record that fails (its DLQ copy, its retry
	// delay) and KMS only for a re-sent record: neither client is built
	// before a record needs it.
	queues := &lazySQS{lazy[*sqs.Client]{build: func() *sqs.Client {
		return sqs.NewFromConfig(awsCfg, func(o *sqs.Options) { o.BaseEndpoint = lambdaenv.Endpoint(getenv, "SQS") })
	}}}
	h.DLQ, h.Visibility = queues, queues
	if cfg.SealKey != "" {
		h.Sealer = seal.KMS{KeyID: cfg.SealKey, API: &lazyKMS{lazy[*kms.Client]{build: func() *kms.Client {
			return kms.NewFromConfig(awsCfg, func(o *kms.Options) { o.BaseEndpoint = lambdaenv.Endpoint(getenv, "KMS") })
		}}}}
	}
	if cfg.ArchiveStream != "" {
		h.Archive = firehose.NewFromConfig(awsCfg, func(o *firehose.Options) { o.BaseEndpoint = lambdaenv.Endpoint(getenv, "FIREHOSE") })
	}
	if cfg.IdempotencyTable != "" {
		if h.Dedup, err = idempotencyStore(cfg, awsCfg, getenv); err != nil {
			return failClosed(log, h, err)
		}
	}
	if h.Verifier, err = signature.New(cfg.Scheme, signature.Options{
		Tolerance: cfg.Tolerance, Header: cfg.SignatureHeader, Encoding: cfg.SignatureEncoding,
	}); err != nil {
		return failClosed(log, h, err)
	}
	if h.Processor, err = processor.New(cfg, processor.Deps{
		Secrets: h.Secrets, HTTP: &http.Client{}, Log: log, Now: time.Now,
	}); err != nil {
		return failClosed(log, h, err)
	}
	h.Reserve = time.Second
	if cfg.Processor == contract.ProcessorForward {
		h.Reserve += cfg.ForwardTimeout
	}
	return h
}

func failClosed(log *slog.Logger, h *consumer.Handler, err error) *consumer.Handler {
	log.Error("handler configuration is invalid: every record will be retried until it is fixed",
		"source", h.Config.Source, "error", err.Error())
	h.ConfigErr = err
	return h
}

// lazy builds a client on its first use, once, for records that need it.
type lazy[C any] struct {
	once   sync.Once
	build  func() C
	client C
}

func (l *lazy[C]) get() C {
	l.once.Do(func() { l.client = l.build() })
	return l.client
}

// lazySQS is the DLQ and the source queue's visibility (consumer.DLQ,
// consumer.Visibility) through an SQS client built on first use.
type lazySQS struct{ lazy[*sqs.Client] }

func (l *lazySQS) SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	return l.get().SendMessage(ctx, in, optFns...)
}

func (l *lazySQS) ChangeMessageVisibilityBatch(ctx context.Context, in *sqs.ChangeMessageVisibilityBatchInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error) {
	return l.get().ChangeMessageVisibilityBatch(ctx, in, optFns...)
}

// lazyKMS is the seal key's API (seal.API) through a KMS client built on
// first use.
type lazyKMS struct{ lazy[*kms.Client] }

func (l *lazyKMS) GenerateMac(ctx context.Context, in *kms.GenerateMacInput, optFns ...func(*kms.Options)) (*kms.GenerateMacOutput, error) {
	return l.get().GenerateMac(ctx, in, optFns...)
}

func (l *lazyKMS) VerifyMac(ctx context.Context, in *kms.VerifyMacInput, optFns ...func(*kms.Options)) (*kms.VerifyMacOutput, error) {
	return l.get().VerifyMac(ctx, in, optFns...)
}
