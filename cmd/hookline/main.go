// Command hookline is the operator's tool for a hookline project:
//
//	hookline plan    [--stack dev] [--output table|json] [--policy-config f] [--dir .]
//	hookline invoke  --stack dev --source <name> --body <file|-> [--secret s] [--header K=V]
//	hookline cost    --stack dev [--rps n] [--body-kb n] [--groups n] [--capacity]
//	hookline send    --stack dev --source <name> --body <file|-> [--header K=V]
//	hookline redrive --stack dev --source <name> [--group g] [--max n] [--dry-run]
//	hookline portal  [--addr 127.0.0.1:8080] [--data .build/portal]
//
// plan runs the real Pulumi program offline, under mocks backed by the
// offline AWS model, and prints every resource it would create with the
// policy pack's findings; invoke runs a source's handler under the Lambda
// emulator; cost estimates the monthly bill; send posts a signed webhook to
// a deployed endpoint; redrive moves dead letters back in order; portal
// serves the self-service portal. Exit codes: 0 success, 1 a mandatory policy
// is violated (plan) or the request failed (invoke, send), 2 any error (one
// line on stderr).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/hookline/hookline/plan"
	"github.com/hookline/hookline/policy/rules"
)

const usage = `usage: hookline <command> [flags]

commands:
  plan    run the program offline and print the resources it would create
  invoke  run a source's handler under the Lambda emulator with one signed webhook
  cost    estimate the monthly cost per source (and --capacity: what each sustains)
  send    sign a body with a source's scheme and POST it to the endpoint
  redrive move dead-lettered messages back to the source queue, in order
  portal  serve the self-service portal (teams provision their own endpoints)
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "plan":
		return planCmd(args[1:], stdout, stderr)
	case "invoke":
		return invokeCmd(args[1:], stdout, stderr)
	case "cost":
		return costCmd(args[1:], stdout, stderr)
	case "send":
		return sendCmd(args[1:], stdout, stderr)
	case "redrive":
		return redriveCmd(args[1:], stdout, stderr)
	case "portal":
		return portalCmd(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "hookline: unknown command %q\n%s", args[0], usage)
		return 2
	}
}

func planCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stack := fs.String("stack", "dev", "stack to plan (reads Pulumi.<stack>.yaml)")
	output := fs.String("output", "table", "output format: table or json")
	dir := fs.String("dir", "", "project directory (default: the nearest directory with Pulumi.yaml)")
	policyConfig := fs.String("policy-config", "", "the policy pack's config file, as pulumi preview --policy-pack-config takes it (levels and bounds)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	policy, err := rules.LoadConfigFile(*policyConfig)
	if err != nil {
		fmt.Fprintf(stderr, "hookline plan: %v\n", err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "hookline plan: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *output != "table" && *output != "json" {
		fmt.Fprintf(stderr, "hookline plan: --output must be table or json, got %q\n", *output)
		return 2
	}
	projectDir := *dir
	if projectDir == "" {
		d, err := findProject()
		if err != nil {
			fmt.Fprintf(stderr, "hookline plan: %v\n", err)
			return 2
		}
		projectDir = d
	}

	res, err := plan.Run(plan.Options{Dir: projectDir, Stack: *stack, Policy: policy})
	if err != nil {
		var cfgErr *plan.ConfigError
		if errors.As(err, &cfgErr) {
			fmt.Fprintf(stderr, "hookline plan: %v\n", oneLine(err))
		} else {
			fmt.Fprintf(stderr, "hookline plan: stack %s: %v\n", *stack, oneLine(err))
		}
		return 2
	}
	if *output == "json" {
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
			fmt.Fprintf(stderr, "hookline plan: stack %s violates mandatory policy %s\n", *stack, v.Policy)
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
