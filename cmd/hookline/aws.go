package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/logging"
)

// errNoCredentials: the default credential chain found nothing to sign
// with. The chain's own error lists every provider it tried (environment,
// files, SSO, IMDS…): a paragraph that says nothing about what to do.
var errNoCredentials = errors.New("no AWS credentials found (set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run aws sso login)")

// awsConfig is the AWS configuration the commands call AWS with: the
// default chain, with the SDK's own log lines off (a failure is reported
// once, as this command's error), the region of the environment or profile
// and else stackRegion (the stack's aws:region), and credentials checked
// before any call so a missing one is one sentence.
func awsConfig(ctx context.Context, stackRegion string) (aws.Config, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithLogger(logging.Nop{}), awsconfig.WithClientLogMode(0))
	if err != nil {
		return aws.Config{}, fmt.Errorf("AWS configuration (AWS_PROFILE %q): %w", os.Getenv("AWS_PROFILE"), err)
	}
	if cfg.Region == "" {
		cfg.Region = stackRegion
	}
	if cfg.Region == "" {
		return aws.Config{}, errors.New("no AWS region: set AWS_REGION (the stack names none)")
	}
	if cfg.Credentials == nil {
		return aws.Config{}, errNoCredentials
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return aws.Config{}, errNoCredentials
	}
	return cfg, nil
}
