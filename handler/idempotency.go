//go:build !hookline.nodynamodb

package main

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/handler/consumer"
	"github.com/hookline/hookline/handler/dedup"
	"github.com/hookline/hookline/handler/lambdaenv"
)

// idempotencyStore is the source's idempotency table (DynamoDB).
func idempotencyStore(cfg contract.HandlerConfig, awsCfg aws.Config, getenv func(string) string) (consumer.Dedup, error) {
	db := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { o.BaseEndpoint = lambdaenv.Endpoint(getenv, "DYNAMODB") })
	return &dedup.Store{API: db, Table: cfg.IdempotencyTable, TTL: cfg.IdempotencyTTL, Now: time.Now}, nil
}
