package portal

import (
	"context"
	"fmt"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/handler/seal"
)

// DefaultSealer is the seal key keyArn through the default AWS credentials
// of the portal, in region. It lives here rather than in handler/seal so the
// consumer, which links seal, never links the SDK's config package.
func DefaultSealer(ctx context.Context, region, keyArn string) (contract.Sealer, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region))
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	return seal.KMS{API: kms.NewFromConfig(cfg), KeyID: keyArn}, nil
}
