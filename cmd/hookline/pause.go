package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/spf13/cobra"

	"github.com/hookline/hookline/ops/pause"
	"github.com/hookline/hookline/stackoutputs"
)

// pauseOptions are hookline pause's and resume's flags.
type pauseOptions struct {
	stack, source, dir, output string
}

// newPauseCmd is hookline pause (enabled false) or resume (true).
func newPauseCmd(enabled bool) *cobra.Command {
	o := &pauseOptions{}
	verb := map[bool]string{true: "resume", false: "pause"}[enabled]
	cmd := &cobra.Command{
		Use: verb,
		Short: map[bool]string{
			true:  "Resume a paused source's processing: its consumer takes the waiting webhooks, in order",
			false: "Pause a source's processing: webhooks keep arriving and wait, in order, in its queue",
		}[enabled],
		Long: `pause disables the Lambda event source mapping between a source's queue and its
consumer; resume enables it again. While a source is paused, its senders are
still answered and their webhooks wait in the queue in order (14 days by
default; the queue-age alarm fires meanwhile); nothing is lost or reordered.
A later pulumi up keeps the pause: the program ignores changes to the
mapping's enabled flag, which pause and resume own.

` + stackHelp + ` pause and resume read the outputs (the function and the queue).

Exit codes: 0 done (or already so); 2 any error.`,
		Example: "  hookline " + verb + " --stack prod --source payments",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return codeOf(pauseRun(o, enabled, cmd.OutOrStdout(), cmd.ErrOrStderr()))
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.stack, "stack", "dev", "stack whose outputs name the source's function and queue")
	fs.StringVar(&o.source, "source", "", "source name (required)")
	outputFlag(fs, &o.output, "json: the mapping's state")
	dirFlag(fs, &o.dir)
	return cmd
}

func pauseRun(o *pauseOptions, enabled bool, stdout, stderr io.Writer) int {
	verb := map[bool]string{true: "resume", false: "pause"}[enabled]
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "hookline "+verb+": "+format+"\n", a...)
		return 2
	}
	if o.source == "" {
		return fail("--source is required")
	}
	if o.output != "table" && o.output != "json" {
		return fail("--output must be table or json, got %q", o.output)
	}
	projectDir, err := projectDirOrFind(o.dir)
	if err != nil {
		return fail("%v", err)
	}
	outs, err := stackOutputs(projectDir, o.stack)
	if err != nil {
		return fail("%v", err)
	}
	src, err := outs.Source(o.source)
	if err != nil {
		return fail("%v", err)
	}
	t := pause.Target{FunctionName: src.FunctionName, QueueArn: src.QueueArn}
	for key, v := range map[string]string{stackoutputs.KeyFunctionName: t.FunctionName, stackoutputs.KeyQueueArn: t.QueueArn} {
		if _, err := requiredOutput(o.source, key, v); err != nil {
			return fail("%v", err)
		}
	}
	ctx := context.Background()
	cfg, err := awsConfig(ctx, outs.Region)
	if err != nil {
		return fail("%v", err)
	}
	st, err := pause.Set(ctx, lambda.NewFromConfig(cfg), t, enabled)
	if err != nil {
		return fail("%v", err)
	}
	if o.output == "json" {
		b, _ := json.Marshal(map[string]any{"source": o.source, "stack": o.stack, "mapping": st.UUID, "state": st.State, "changed": st.Changed})
		fmt.Fprintln(stdout, string(b))
		return 0
	}
	switch {
	case !st.Changed:
		fmt.Fprintf(stdout, "source %s of stack %s is already %s (mapping %s: %s)\n", o.source, o.stack, map[bool]string{true: "running", false: "paused"}[enabled], st.UUID, st.State)
	case enabled:
		fmt.Fprintf(stdout, "source %s of stack %s resumes (mapping %s: %s): its consumer takes the waiting webhooks, in order\n", o.source, o.stack, st.UUID, st.State)
	default:
		fmt.Fprintf(stdout, "source %s of stack %s is pausing (mapping %s: %s): webhooks wait in its queue, in order, until hookline resume\n", o.source, o.stack, st.UUID, st.State)
	}
	return 0
}
