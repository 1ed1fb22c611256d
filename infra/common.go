package infra

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lambda"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hookline/hookline/stackconfig"
)

// Component type tokens. They are part of every child's URN: renaming one
// moves its children, which then need aliases (see TestURNsOfExistingStacksStay).
const (
	TypeWebhook        = "hookline:infra:Webhook"
	TypeRestAPI        = "hookline:infra:RestApi"
	TypeHTTPAPI        = "hookline:infra:HttpApi"
	TypeSource         = "hookline:infra:Source"
	TypeSourceQueues   = "hookline:infra:SourceQueues"
	TypeConsumer       = "hookline:infra:Consumer"
	TypeAPIStage       = "hookline:infra:ApiStage"
	TypeHTTPStage      = "hookline:infra:HttpStage"
	TypeEdgeAuthorizer = "hookline:infra:EdgeAuthorizer"
	TypeDomain         = "hookline:infra:Domain"
	TypeMonitoring     = "hookline:infra:Monitoring"
	TypeArchiveStore   = "hookline:infra:ArchiveStore"
	TypeArchiveStream  = "hookline:infra:ArchiveStream"
)

// Lambda's X-Ray tracing modes (a function's TracingConfig.Mode).
const (
	// LambdaTracingActive: Lambda samples 1 request a second and 5% of
	// the rest (not configurable) and sends their traces; the role needs
	// xray:PutTraceSegments and xray:PutTelemetryRecords (tracingStatement).
	LambdaTracingActive = "Active"
	// LambdaTracingPassThrough: Lambda forwards the tracing header
	// downstream but sends no trace of the function, even when the header
	// says to sample; the role needs no X-Ray permission.
	LambdaTracingPassThrough = "PassThrough"
)

// LambdaTracingMode is the X-Ray tracing of every function the stack
// runs, consumers and the edge authorizer alike: one setting, so a trace
// of a webhook never stops at the edge. Active unless hookline:tracing is
// off.
func LambdaTracingMode(c *stackconfig.Config) string {
	if c.TracingOn() {
		return LambdaTracingActive
	}
	return LambdaTracingPassThrough
}

// lambdaTracing is a function's TracingConfig of the given mode
// (LambdaTracingMode).
func lambdaTracing(mode string) *lambda.FunctionTracingConfigArgs {
	return &lambda.FunctionTracingConfigArgs{Mode: pulumi.String(mode)}
}

// lambdaLogging is every function's logging: Lambda's JSON format, so it
// filters by level; application lines from INFO (the handlers log a line
// only for what is not plainly ok, and their metrics documents are INFO);
// system lines from WARN, which keeps a successful invocation's
// START/END/REPORT out and a failed one's report in. The cost model
// (ops.ConsumerLogBytes) prices exactly that.
func lambdaLogging(group pulumi.StringInput) *lambda.FunctionLoggingConfigArgs {
	return &lambda.FunctionLoggingConfigArgs{
		LogFormat:           pulumi.String("JSON"),
		LogGroup:            group,
		ApplicationLogLevel: pulumi.String("INFO"),
		SystemLogLevel:      pulumi.String("WARN"),
	}
}

// checkTracingMode is the problem of a spec's TracingMode, if any.
func checkTracingMode(mode string) []string {
	if mode != LambdaTracingActive && mode != LambdaTracingPassThrough {
		return []string{fmt.Sprintf("Spec.TracingMode %q is not a Lambda tracing mode (%s or %s)", mode, LambdaTracingActive, LambdaTracingPassThrough)}
	}
	return nil
}

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

// secureParameter stores a secret value as an SSM SecureString parameter
// (the signing, forward and token secrets from the stack config, and a token
// source's API key): the value stays secret in the state and the preview.
func secureParameter(ctx *pulumi.Context, name string, tags map[string]string, param string, value pulumi.StringInput, description string, opts ...pulumi.ResourceOption) (*ssm.Parameter, error) {
	return ssm.NewParameter(ctx, name, &ssm.ParameterArgs{
		Name:        pulumi.String(param),
		Type:        pulumi.String("SecureString"),
		Value:       pulumi.ToSecret(value).(pulumi.StringOutput),
		Description: pulumi.String(description),
		Tags:        pulumi.ToStringMap(tags),
	}, opts...)
}

// Caller is the AWS partition and account a stack deploys into.
type Caller struct{ Partition, Account string }

// lookupCaller asks the provider whom the credentials belong to. The engine
// answers this invoke during a preview too, so ARNs of the stack's own
// resources can be written from known parts (NewStackSpec) and the policy
// pack can judge them on a stack's first preview.
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

// secretsPolicy attaches SecretsPolicy for the parameters arns to role;
// nil when the function reads no parameter.
func secretsPolicy(ctx *pulumi.Context, name, policyName string, role *iam.Role, arns []string, opts ...pulumi.ResourceOption) (pulumi.Resource, error) {
	if len(arns) == 0 {
		return nil, nil
	}
	return iam.NewRolePolicy(ctx, name, &iam.RolePolicyArgs{
		Role:   role.ID(),
		Name:   pulumi.String(policyName),
		Policy: pulumi.String(SecretsPolicy(arns)),
	}, opts...)
}

// argsError is a component's invalid args, every problem named at once;
// nil when there is none.
func argsError(component, name string, problems []string) error {
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%s %s: %s", component, name, strings.Join(problems, "; "))
}

// required names each empty field of fieldValues (field, value, field,
// value, ...) as a problem, in order.
func required(fieldValues ...string) []string {
	var p []string
	for i := 0; i+1 < len(fieldValues); i += 2 {
		if fieldValues[i+1] == "" {
			p = append(p, fieldValues[i]+" is required")
		}
	}
	return p
}

// withOpts is opts and more, in a new slice (opts is the caller's).
func withOpts(opts []pulumi.ResourceOption, more ...pulumi.ResourceOption) []pulumi.ResourceOption {
	return append(append(make([]pulumi.ResourceOption, 0, len(opts)+len(more)), opts...), more...)
}

// movedFrom is the option of a resource that moved into a new component
// from old, its parent before: an alias with that parent, so the engine
// moves the existing resource (same URN as before) instead of deleting it
// and creating a new one. Nothing when old is nil.
func movedFrom(old pulumi.Resource) pulumi.ResourceOption {
	if old == nil {
		return pulumi.Aliases(nil)
	}
	return pulumi.Aliases([]pulumi.Alias{{Parent: old}})
}
