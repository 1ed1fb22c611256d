// Command handler is the Lambda consumer of a hookline source (built as
// bootstrap for provided.al2023 on arm64).
//
// This is the minimal handler the core stands on: it decodes every record
// through the ingest contract and, because signature verification lands with
// the handler issue, it acknowledges only records of sources configured with
// scheme "none". Every other record is reported as a batch item failure — it
// fails closed, so nothing unverified is ever acknowledged, and SQS keeps it
// (and finally moves it to the DLQ) until a verifying handler is deployed.
package main

import (
	"context"
	"errors"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/hookline/hookline/internal/contract"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := contract.ParseHandlerConfig(os.Getenv)
	if err != nil {
		log.Error("invalid handler configuration", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		return handle(log, cfg, ev), nil
	})
}

var errUnverified = errors.New("signature verification is not available in this handler build")

func handle(log *slog.Logger, cfg contract.HandlerConfig, ev events.SQSEvent) events.SQSEventResponse {
	var resp events.SQSEventResponse
	failedGroups := map[string]bool{}
	for _, r := range ev.Records {
		m, err := contract.Decode(r)
		switch {
		case failedGroups[r.Attributes["MessageGroupId"]]:
			err = errors.New("an earlier message of the group failed")
		case err == nil && cfg.Scheme != contract.SchemeNone:
			err = errUnverified
		}
		if err != nil {
			failedGroups[r.Attributes["MessageGroupId"]] = true
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
			log.Warn("record not processed", "source", cfg.Source, "messageId", r.MessageId, "outcome", "retry", "reason", err.Error())
			continue
		}
		log.Info("record processed", "source", m.Source, "group", m.GroupID, "messageId", m.MessageID,
			"eventId", m.EventID, "outcome", "ok", "bytes", len(m.Body))
	}
	return resp
}
