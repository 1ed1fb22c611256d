// Command hookline is the operator's tool for a hookline project:
//
//	hookline plan    [--stack dev] [--output table|json] [--policy-config f] [--dir .]
//	hookline invoke  --stack dev --source <name> --body <file|-> [--secret s] [--header K=V] [--output json]
//	hookline cost    --stack dev [--rps n] [--body-kb n] [--groups n] [--capacity] [--output json]
//	hookline send    --stack dev --source <name> --body <file|-> [--header K=V] [--output json]
//	hookline redrive --stack dev --source <name> [--group g] [--max n] [--dry-run|--peek] [--yes] [--output json]
//	hookline archive search --stack dev --source <name> --from -3h [--to t] [--group g] [--event-id e] [--where c] [--outcome o] [--output json]
//	hookline replay  --stack dev --source <name> --from -3h [--to t] [--group g] [--where c] [--only-failed] [--reprocess] [--dry-run] [--yes] [--id id]
//	hookline portal  [--addr 127.0.0.1:8080] [--data .build/portal]
//	hookline version | help <command> | completion bash|zsh|fish|powershell
//
// plan runs the real Pulumi program offline, under mocks backed by the
// offline AWS model, and prints every resource it would create with the
// policy pack's findings; invoke runs a source's handler under the Lambda
// emulator; cost estimates the monthly bill; send posts a signed webhook to
// a deployed endpoint; redrive moves dead letters back in order; archive
// search lists archived deliveries and replay re-sends them in order; portal
// serves the self-service portal. Exit codes: 0 success, 1 a mandatory policy
// is violated (plan) or the request failed (invoke, send, redrive, replay), 2 any
// error or wrong usage (one line on stderr).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/hookline/hookline/plan"
	"github.com/hookline/hookline/policy/rules"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// exitCode ends a command whose outcome it has already reported.
type exitCode int

// Error is the code; run prints nothing more for it.
func (e exitCode) Error() string { return fmt.Sprintf("exit %d", int(e)) }

// codeOf turns a command's int result into RunE's error.
func codeOf(code int) error {
	if code == 0 {
		return nil
	}
	return exitCode(code)
}

// usageError is wrong usage (an unknown flag, a stray argument): exit 2
// with a pointer to the command's help.
type usageError struct{ err error }

// Error is the underlying complaint.
func (e *usageError) Error() string { return e.err.Error() }

// stackHelp is the rule every command follows to find a stack, for its help.
const stackHelp = `Stacks: a stack with a Pulumi.<stack>.yaml in the project is read from that
file (config) and from the Pulumi CLI's current backend (outputs: pulumi stack
output); any other stack is looked up by name in the portal's backend
(HOOKLINE_PORTAL_BACKEND, else the portal's local state in HOOKLINE_PORTAL_DATA,
default .build/portal), config and outputs alike.`

// run runs the command line args and returns the exit code: 0 success, 1 a
// failed request or a mandatory policy violated, 2 an error or wrong usage.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRoot()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetIn(stdin)
	cmd, err := root.ExecuteC()
	if err == nil {
		return 0
	}
	var code exitCode
	if errors.As(err, &code) {
		return int(code)
	}
	if cmd == nil {
		cmd = root
	}
	msg := strings.TrimRight(err.Error(), "\n")
	if first, rest, ok := strings.Cut(msg, "\n"); ok && strings.Contains(rest, "Did you mean") {
		// cobra's suggestion: keep it, on the lines after the complaint.
		fmt.Fprintf(stderr, "%s: %s (see %s --help)\n%s\n", cmd.CommandPath(), first, cmd.CommandPath(), strings.TrimSpace(rest))
		return 2
	}
	fmt.Fprintf(stderr, "%s: %s (see %s --help)\n", cmd.CommandPath(), oneLine(err), cmd.CommandPath())
	return 2
}

// newRoot is the hookline command with every subcommand.
func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "hookline",
		Short: "Operate a hookline project: plan, invoke, send, redrive, archive, replay, cost, portal",
		Long: `hookline is the operator's tool for a hookline project (AWS inbound webhooks,
deployed with Pulumi).

` + stackHelp + `

Exit codes: 0 success; 1 a mandatory policy is violated (plan) or the request
failed (invoke, send, redrive, replay); 2 any other error or wrong usage (one line on
stderr).`,
		Example: `  hookline plan --stack dev
  hookline invoke --stack dev --source payments --body examples/stripe-event.json
  hookline redrive --stack prod --source payments --dry-run
  hookline help redrive`,
		SilenceErrors:              true,
		SilenceUsage:               true,
		SuggestionsMinimumDistance: 2,
		Version:                    versionString(),
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintln(cmd.ErrOrStderr(), "hookline: a command is required (usage: hookline <command> [flags]; hookline --help lists the commands)")
			return exitCode(2)
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	root.SetVersionTemplate("{{.Version}}\n")
	root.AddCommand(newPlanCmd(), newInvokeCmd(), newCostCmd(), newSendCmd(), newRedriveCmd(), newArchiveCmd(), newReplayCmd(), newPauseCmd(false), newPauseCmd(true), newPortalCmd(), newVersionCmd())
	return root
}

// noArgs refuses positional arguments: every input is a flag.
func noArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return &usageError{fmt.Errorf("unexpected argument %q", args[0])}
	}
	return nil
}

// outputFlag adds --output (table or json) to fs.
func outputFlag(fs *pflag.FlagSet, dst *string, what string) {
	fs.StringVarP(dst, "output", "o", "table", "output format: table or json ("+what+")")
}

// dirFlag adds --dir to fs.
func dirFlag(fs *pflag.FlagSet, dst *string) {
	fs.StringVar(dst, "dir", "", "project directory (default: the nearest directory with Pulumi.yaml)")
}

// planOptions are hookline plan's flags.
type planOptions struct{ stack, output, dir, policyConfig string }

func newPlanCmd() *cobra.Command {
	o := &planOptions{}
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Run the program offline and print the resources it would create",
		Long: `plan runs the real Pulumi program offline, under mocks backed by the offline AWS
model, and prints every resource it would create, its outputs, the policy pack's
findings and the cost estimate. Nothing is deployed and no AWS account is needed.

` + stackHelp + ` plan reads the config only.

Exit codes: 0 no mandatory violation; 1 a mandatory policy is violated (named on
stderr); 2 any other error.`,
		Example: `  hookline plan --stack dev
  hookline plan --stack prod --output json
  hookline plan --stack prod --policy-config policy-config.json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return codeOf(planRun(o, cmd.OutOrStdout(), cmd.ErrOrStderr()))
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.stack, "stack", "dev", "stack to plan")
	outputFlag(fs, &o.output, "json: the plan's machine-readable shape")
	dirFlag(fs, &o.dir)
	fs.StringVar(&o.policyConfig, "policy-config", "", "the policy pack's config file, as pulumi preview --policy-pack-config takes it (levels and bounds)")
	return cmd
}

func planRun(o *planOptions, stdout, stderr io.Writer) int {
	policy, err := rules.LoadConfigFile(o.policyConfig)
	if err != nil {
		fmt.Fprintf(stderr, "hookline plan: %v\n", err)
		return 2
	}
	if o.output != "table" && o.output != "json" {
		fmt.Fprintf(stderr, "hookline plan: --output must be table or json, got %q\n", o.output)
		return 2
	}
	projectDir, err := projectDirOrFind(o.dir)
	if err != nil {
		fmt.Fprintf(stderr, "hookline plan: %v\n", err)
		return 2
	}
	opts := plan.Options{Dir: projectDir, Stack: o.stack, Policy: policy}
	if !hasStackFile(projectDir, o.stack) {
		// Not a file of the project: a portal-made stack, or none.
		if opts.Config, opts.SecretKeys, err = portalConfig(projectDir, o.stack); err != nil {
			fmt.Fprintf(stderr, "hookline plan: %v\n", oneLine(err))
			return 2
		}
	}
	res, err := plan.Run(opts)
	if err != nil {
		var cfgErr *plan.ConfigError
		if errors.As(err, &cfgErr) {
			fmt.Fprintf(stderr, "hookline plan: %v\n", oneLine(err))
		} else {
			fmt.Fprintf(stderr, "hookline plan: stack %s: %v\n", o.stack, oneLine(err))
		}
		return 2
	}
	if o.output == "json" {
		err = res.WriteJSON(stdout)
	} else {
		err = res.WriteTable(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "hookline plan: write output: %v\n", err)
		return 2
	}
	for _, v := range res.Policies {
		if v.Level == rules.Mandatory {
			fmt.Fprintf(stderr, "hookline plan: stack %s violates mandatory policy %s\n", o.stack, v.Policy)
			return 1
		}
	}
	return 0
}

// findProject walks up from the working directory to the nearest Pulumi.yaml.
func findProject() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "Pulumi.yaml")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no Pulumi.yaml here or in any parent directory (use --dir)")
		}
		dir = parent
	}
}

// oneLine folds a multi-line error (one problem per line) into one line.
func oneLine(err error) string {
	lines := strings.Split(err.Error(), "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(lines, "; ")
}
