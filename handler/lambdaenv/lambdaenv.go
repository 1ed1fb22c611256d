// Package lambdaenv is what hookline's functions (the consumer and the edge
// authorizer) read from the environment Lambda sets: the AWS SDK
// configuration and the endpoint overrides local runs use.
package lambdaenv

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// AWSConfig is the SDK configuration inside Lambda: the region and the
// execution role's credentials come from the environment Lambda sets. It
// skips config.LoadDefaultConfig, whose shared-file, SSO and STS providers
// a function never uses and whose packages would lengthen every cold start.
func AWSConfig(getenv func(string) string) aws.Config {
	return aws.Config{
		Region: getenv("AWS_REGION"),
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(
			getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SESSION_TOKEN"))),
		RetryMaxAttempts: 3,
	}
}

// Endpoint honours the SDK's endpoint overrides (AWS_ENDPOINT_URL_<SERVICE>,
// then AWS_ENDPOINT_URL), which local runs use to reach stand-ins for AWS.
func Endpoint(getenv func(string) string, service string) *string {
	if u := getenv("AWS_ENDPOINT_URL_" + service); u != "" {
		return aws.String(u)
	}
	if u := getenv("AWS_ENDPOINT_URL"); u != "" {
		return aws.String(u)
	}
	return nil
}
