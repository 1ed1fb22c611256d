package infra

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hookline/hookline/stackconfig"
)

// Component type tokens.
const (
	TypeWebhook    = "hookline:infra:Webhook"
	TypeRestAPI    = "hookline:infra:RestApi"
	TypeSource     = "hookline:infra:Source"
	TypeAPIStage   = "hookline:infra:ApiStage"
	TypeDomain     = "hookline:infra:Domain"
	TypeMonitoring = "hookline:infra:Monitoring"
)

// StageName is the API Gateway stage every stack publishes.
const StageName = "v1"

// Tags are the tags of every taggable resource: the stack's configured tags
// plus hookline's own, which say where a resource came from.
func Tags(c *stackconfig.Config) map[string]string {
	t := map[string]string{}
	for k, v := range c.Tags {
		t[k] = v
	}
	t["hookline:environment"] = c.Environment
	t["hookline:stack"] = c.Stack
	t["managed-by"] = "hookline"
	return t
}

func tagMap(c *stackconfig.Config) pulumi.StringMap { return pulumi.ToStringMap(Tags(c)) }

// secureParameter stores a secret value as an SSM SecureString parameter
// (the signing, forward and token secrets from the stack config, and a token
// source's API key): the value stays secret in the state and the preview.
func secureParameter(ctx *pulumi.Context, name string, c *stackconfig.Config, param string, value pulumi.StringInput, description string, opts ...pulumi.ResourceOption) (*ssm.Parameter, error) {
	return ssm.NewParameter(ctx, name, &ssm.ParameterArgs{
		Name:        pulumi.String(param),
		Type:        pulumi.String("SecureString"),
		Value:       pulumi.ToSecret(value).(pulumi.StringOutput),
		Description: pulumi.String(description),
		Tags:        tagMap(c),
	}, opts...)
}

// Caller is the AWS partition and account a stack deploys into.
type Caller struct{ Partition, Account string }

// lookupCaller asks the provider whom the credentials belong to. The engine
// answers this invoke during a preview too, so ARNs of the stack's own
// resources can be written from known parts (stackconfig's QueueARN) and the
// policy pack can judge them on a stack's first preview.
func lookupCaller(ctx *pulumi.Context, opts ...pulumi.InvokeOption) (Caller, error) {
	id, err := aws.GetCallerIdentity(ctx, nil, opts...)
	if err != nil {
		return Caller{}, fmt.Errorf("look up the AWS account (sts:GetCallerIdentity; are AWS credentials set?): %w", err)
	}
	parts := strings.SplitN(id.Arn, ":", 3)
	if len(parts) < 3 || parts[0] != "arn" || parts[1] == "" || id.AccountId == "" {
		return Caller{}, fmt.Errorf("unexpected caller identity: arn %q, account %q", id.Arn, id.AccountId)
	}
	return Caller{Partition: parts[1], Account: id.AccountId}, nil
}

// ARN is the ARN of a resource of the stack's account in region, written
// from known parts (AWS's ARN format), so a policy that names it is known at
// preview.
func (c Caller) ARN(service, region, resource string) string {
	return fmt.Sprintf("arn:%s:%s:%s:%s:%s", c.Partition, service, region, c.Account, resource)
}

// secretsPolicy attaches SecretsPolicy for params to role; nil when the
// function reads no parameter.
func secretsPolicy(ctx *pulumi.Context, name, policyName string, role *iam.Role, caller Caller, region string, params []string, opts ...pulumi.ResourceOption) (pulumi.Resource, error) {
	if len(params) == 0 {
		return nil, nil
	}
	return iam.NewRolePolicy(ctx, name, &iam.RolePolicyArgs{
		Role:   role.ID(),
		Name:   pulumi.String(policyName),
		Policy: pulumi.String(SecretsPolicy(ParameterARNs(caller, region, params))),
	}, opts...)
}
