package infra

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hookline/hookline/stackconfig"
)

// ComponentName is the name of the stack's root component.
const ComponentName = "hookline"

// ProgramOptions adjust the program for where it runs.
type ProgramOptions struct {
	// ProjectDir holds Pulumi.yaml and handler/. Default: the project root
	// the engine reports, else the working directory.
	ProjectDir string
	// Handler returns the handler archive, which every source's function
	// gets. Default: HandlerArchives (build handler/ once per feature set
	// the sources need, each source's function getting its own).
	Handler func(projectDir string) (pulumi.Archive, error)
	// Authorizer returns the edge authorizer's archive, built only when a
	// source uses token auth. Default: build handler/authorizer; when only
	// Handler is set (tests with a stub), Handler's archive serves for both.
	Authorizer func(projectDir string) (pulumi.Archive, error)
	// Transformations are registered as stack transformations before any
	// resource: each sees every resource's type, name and typed args as the
	// components register them and may rewrite them, the way a user's
	// program would (organisation-wide tags, say). The policy pack's
	// fixtures use them to build misconfigured stacks from outside.
	Transformations []pulumi.ResourceTransformation
	// APIGatewayAccount looks up the region's API Gateway CloudWatch role
	// for CheckAccessLogs. Default: LookupAPIGatewayAccount (AWS itself).
	APIGatewayAccount AccountLookup
	// OnOutputs, when set, receives the stack outputs once they are exported
	// (the offline plan reads them from here).
	OnOutputs func(ctx *pulumi.Context, outputs pulumi.Map) error
}

// LoadConfig reads and validates the stack's configuration from the Pulumi
// context. When the engine passes the whole config in PULUMI_CONFIG, unknown
// hookline keys are errors too.
func LoadConfig(ctx *pulumi.Context) (*stackconfig.Config, error) {
	raw := map[string]string{}
	complete := false
	if env := os.Getenv(pulumi.EnvConfig); env != "" {
		if err := json.Unmarshal([]byte(env), &raw); err == nil {
			complete = true
		}
	}
	for _, k := range stackconfig.Keys() {
		if v, ok := ctx.GetConfig(k); ok {
			raw[k] = v
		}
	}
	var secret []string
	for k := range raw {
		if ctx.IsConfigSecret(k) {
			secret = append(secret, k)
		}
	}
	return stackconfig.Load(ctx.Stack(), raw, complete, secret)
}

// Program is hookline's Pulumi program: load the stack config (failing before
// any resource is registered), build the handler, create the Webhook
// component and export its outputs.
func Program(opts ProgramOptions) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		for _, t := range opts.Transformations {
			if err := ctx.RegisterStackTransformation(t); err != nil {
				return fmt.Errorf("register a stack transformation: %w", err)
			}
		}
		cfg, err := LoadConfig(ctx)
		if err != nil {
			return err
		}
		if err := CheckAccessLogs(ctx.Context(), cfg, opts.APIGatewayAccount); err != nil {
			return err
		}
		w, err := Build(ctx, cfg, opts)
		if err != nil {
			return err
		}
		outputs := w.Outputs()
		for k, v := range outputs {
			ctx.Export(k, v)
		}
		if opts.OnOutputs != nil {
			return opts.OnOutputs(ctx, outputs)
		}
		return nil
	}
}

// Build builds the handler, looks up the account the stack deploys into,
// derives the stack's spec from cfg and creates the Webhook component.
func Build(ctx *pulumi.Context, cfg *stackconfig.Config, opts ProgramOptions) (*Webhook, error) {
	dir := opts.ProjectDir
	if dir == "" {
		dir = ctx.RootDirectory()
	}
	if dir == "" {
		dir = "."
	}
	// The default builds one handler per feature set the sources need (a
	// source without idempotency gets the handler without DynamoDB); a
	// Handler option's archive serves every source.
	var code, lean pulumi.Archive
	var err error
	if opts.Handler == nil {
		code, lean, err = HandlerArchives(dir, cfg)
	} else {
		code, err = opts.Handler(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("build the handler: %w", err)
	}
	caller, err := lookupCaller(ctx)
	if err != nil {
		return nil, err
	}
	spec, err := NewStackSpec(cfg, caller)
	if err != nil {
		return nil, fmt.Errorf("derive the stack's spec: %w", err)
	}
	args := &WebhookArgs{Spec: spec, Code: code, LeanCode: lean}
	if spec.Authorizer != nil {
		authorizer := opts.Authorizer
		switch {
		case authorizer == nil && opts.Handler != nil:
			authorizer = opts.Handler
		case authorizer == nil:
			authorizer = AuthorizerArchive
		}
		if args.AuthorizerCode, err = authorizer(dir); err != nil {
			return nil, fmt.Errorf("build the edge authorizer: %w", err)
		}
	}
	return NewWebhook(ctx, ComponentName, args)
}
