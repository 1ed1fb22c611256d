//go:build hookline.nodynamodb

package main

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/handler/consumer"
)

// idempotencyStore fails: this bootstrap was built for sources without
// idempotency (build tag hookline.nodynamodb) and links no DynamoDB client.
// The handler fails closed on it (every record retried, the reason logged):
// it never processes a record it cannot deduplicate.
func idempotencyStore(cfg contract.HandlerConfig, _ aws.Config, _ func(string) string) (consumer.Dedup, error) {
	return nil, fmt.Errorf("idempotency is on (%s=%s) but this bootstrap was built without the DynamoDB client (build tag hookline.nodynamodb): deploy the handler built with idempotency",
		contract.EnvIdempotencyTable, cfg.IdempotencyTable)
}
