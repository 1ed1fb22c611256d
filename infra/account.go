package infra

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"

	"github.com/hookline/hookline/stackconfig"
)

// AccountLookup reads the region's API Gateway account settings and returns
// the CloudWatch Logs role ARN set there, "" when none is.
type AccountLookup func(ctx context.Context, region string) (string, error)

// LookupAPIGatewayAccount reads the setting from AWS (apigateway:GET on
// /account) with the default credential chain — the credentials `pulumi
// preview` runs with.
func LookupAPIGatewayAccount(ctx context.Context, region string) (string, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
	if err != nil {
		return "", err
	}
	out, err := apigateway.NewFromConfig(cfg).GetAccount(ctx, &apigateway.GetAccountInput{})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.CloudwatchRoleArn), nil
}

// CheckAccessLogs makes sure the stage's access logs can be created. API
// Gateway refuses a stage with access logs ("CloudWatch Logs role ARN must
// be set in account settings to enable logging") in a region whose account
// settings name no CloudWatch role — every fresh account. A stack that
// manages the setting (manageApiGatewayAccount) creates the role; any other
// stack with access logs on looks the setting up, at preview as at update,
// and stops with what to set instead of failing halfway through a deploy.
func CheckAccessLogs(ctx context.Context, c *stackconfig.Config, lookup AccountLookup) error {
	ingress, err := IngressTraitsOf(c.Ingress)
	if err != nil {
		return fmt.Errorf("hookline:ingress in %s: %w", stackconfig.StackFile(c.Stack), err)
	}
	if !c.AccessLogsOn() || c.ManageAPIGatewayAccount || !ingress.AccessLogsNeedAccountRole() {
		// An HTTP API delivers access logs with the deployer's own
		// permissions (logs:CreateLogDelivery and friends), not the role.
		return nil
	}
	if lookup == nil {
		lookup = LookupAPIGatewayAccount
	}
	fix := fmt.Sprintf("set hookline:manageApiGatewayAccount: true in the one stack of this account and region that should own the setting, "+
		"or set hookline:accessLogs: false in %s to deploy without access logs", stackconfig.StackFile(c.Stack))
	role, err := lookup(ctx, c.Region)
	if err != nil {
		return fmt.Errorf("the stage's access logs need API Gateway's CloudWatch Logs role in %s, and its account settings could not be read (%v): "+
			"allow apigateway:GET on arn:aws:apigateway:%s::/account, or %s", c.Region, err, c.Region, fix)
	}
	if role == "" {
		return fmt.Errorf("API Gateway in %s has no CloudWatch Logs role in its account settings, so the stage's access logs would be refused at deploy "+
			"(\"CloudWatch Logs role ARN must be set in account settings to enable logging\"): %s", c.Region, fix)
	}
	return nil
}
