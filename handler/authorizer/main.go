// Command authorizer is hookline's edge authorizer: an API Gateway REQUEST
// authorizer for sources whose senders can only be given a URL (auth kind
// token) and, in a REST API whose API key source is AUTHORIZER, the
// pass-through of apiKey sources' x-api-key header. Built as bootstrap for
// provided.al2023 on arm64 by the Pulumi program, like the consumer.
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/handler/secrets"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	a, err := newAuthorizer(log, os.Getenv)
	if err != nil {
		// Fail closed: every request gets 500 until the configuration is fixed.
		log.Error("authorizer configuration is invalid: every request will fail", "error", err.Error())
		lambda.Start(func(context.Context, events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
			return events.APIGatewayCustomAuthorizerResponse{}, err
		})
		return
	}
	lambda.Start(a.Authorize)
}

func newAuthorizer(log *slog.Logger, getenv func(string) string) (*Authorizer, error) {
	routes, err := contract.ParseAuthorizerRoutes(getenv(contract.EnvAuthorizerRoutes))
	if err != nil {
		return nil, err
	}
	cfg := aws.Config{
		Region: getenv("AWS_REGION"),
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(
			getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SESSION_TOKEN"))),
		RetryMaxAttempts: 3,
	}
	client := ssm.NewFromConfig(cfg, func(o *ssm.Options) {
		if u := getenv("AWS_ENDPOINT_URL_SSM"); u != "" {
			o.BaseEndpoint = aws.String(u)
		}
	})
	store := secrets.New(client)
	store.TTL = 5 * time.Minute
	return &Authorizer{Routes: routes, Secrets: store, Log: log}, nil
}
