// Command authorizer is hookline's edge authorizer: an API Gateway REQUEST
// authorizer for sources whose senders can only be given a URL (auth kind
// token) and, in a REST API whose API key source is AUTHORIZER, the
// pass-through of apiKey sources' x-api-key header. Built as bootstrap for
// provided.al2023 on arm64 by the Pulumi program, like the consumer.
package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/handler/lambdaenv"
	"github.com/hookline/hookline/handler/secrets"
	"github.com/hookline/hookline/handler/telemetry"
)

func main() {
	log := telemetry.NewLogger(os.Stdout, telemetry.LevelFromEnv(os.Getenv))
	a, err := newAuthorizer(log, os.Getenv)
	if err != nil {
		// Fail closed: every request gets 500 until the configuration is fixed.
		log.Error("authorizer configuration is invalid: every request will fail", "error", err.Error())
		lambda.Start(func(context.Context, json.RawMessage) (any, error) { return nil, err })
		return
	}
	lambda.Start(a.Handle)
}

func newAuthorizer(log *slog.Logger, getenv func(string) string) (*Authorizer, error) {
	routes, err := contract.ParseAuthorizerRoutes(getenv(contract.EnvAuthorizerRoutes))
	if err != nil {
		return nil, err
	}
	client := ssm.NewFromConfig(lambdaenv.AWSConfig(getenv), func(o *ssm.Options) { o.BaseEndpoint = lambdaenv.Endpoint(getenv, "SSM") })
	return &Authorizer{Routes: routes, Secrets: secrets.New(client), Log: log}, nil
}
