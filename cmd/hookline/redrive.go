package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"syscall"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/spf13/cobra"

	"github.com/hookline/hookline/handler/seal"
	"github.com/hookline/hookline/ops/redrive"
	"github.com/hookline/hookline/stackoutputs"
)

// redriveOptions are hookline redrive's flags.
type redriveOptions struct {
	stack, source, dir, sealKey, output string
	groups                              []string
	max                                 int
	rate                                float64
	dryRun                              bool
	q                                   redrive.Queues
}

func newRedriveCmd() *cobra.Command {
	o := &redriveOptions{}
	cmd := &cobra.Command{
		Use:   "redrive",
		Short: "Move dead-lettered messages back to the source queue, in order",
		Long: `redrive re-sends a source's dead-lettered messages to its queue, group by group
in order, each with its receipt time sealed by the stack's seal key, and deletes
each from the DLQ only after its send succeeded. --group (repeatable) and --max
make it selective; --dry-run lists what would move and moves nothing.

` + stackHelp + ` redrive reads the outputs (the queues and the seal key)
unless --queue-url, --queue-arn, --dlq-url, --dlq-arn and --seal-key give them.

Exit codes: 0 everything asked for moved; 1 a message was not moved (it stays in
the DLQ, in order); 2 any other error.`,
		Example: `  hookline redrive --stack prod --source payments --dry-run
  hookline redrive --stack prod --source payments --group cus_1 --group cus_2
  hookline redrive --stack prod --source payments --output json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return codeOf(redriveRun(o, cmd.OutOrStdout(), cmd.ErrOrStderr()))
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.stack, "stack", "dev", "stack whose outputs name the queues")
	fs.StringVar(&o.source, "source", "", "source name (required)")
	fs.StringArrayVar(&o.groups, "group", nil, "move only this message group (repeat for several: one scan of the DLQ moves them all)")
	fs.IntVar(&o.max, "max", 0, "move at most this many messages; with --dry-run list at most this many (default 10)")
	fs.Float64Var(&o.rate, "rate", 0, "messages per second for a selective redrive (0: as fast as SQS allows)")
	fs.BoolVar(&o.dryRun, "dry-run", false, "list the first messages that would move, move nothing and hide nothing")
	outputFlag(fs, &o.output, "json: what moved, or what would")
	dirFlag(fs, &o.dir)
	fs.StringVar(&o.q.QueueURL, "queue-url", "", "source queue URL (default: stack output sources.<source>.queueUrl)")
	fs.StringVar(&o.q.QueueArn, "queue-arn", "", "source queue ARN (default: stack output)")
	fs.StringVar(&o.q.DLQURL, "dlq-url", "", "DLQ URL (default: stack output sources.<source>.dlqUrl)")
	fs.StringVar(&o.q.DLQArn, "dlq-arn", "", "DLQ ARN (default: stack output)")
	fs.StringVar(&o.sealKey, "seal-key", "", "the stack's seal key ARN, which seals each re-send's receipt time (default: stack output sealKey)")
	return cmd
}

// redriveListed is one listed message in redrive's JSON.
type redriveListed struct {
	MessageID    string  `json:"messageId"`
	Group        string  `json:"group"`
	EventID      string  `json:"eventId"`
	Reason       string  `json:"reason"`
	AgeSeconds   float64 `json:"ageSeconds"`
	ReceiveCount int     `json:"receiveCount"`
}

// redriveReport is redrive's JSON.
type redriveReport struct {
	Source   string          `json:"source"`
	DLQURL   string          `json:"dlqUrl"`
	QueueURL string          `json:"queueUrl"`
	DryRun   bool            `json:"dryRun"`
	Listed   []redriveListed `json:"listed,omitempty"`
	More     bool            `json:"more,omitempty"`
	Moved    int             `json:"moved"`
	Failed   []string        `json:"failed,omitempty"`
	Warnings []string        `json:"warnings,omitempty"`
}

// redriveRun moves dead-lettered messages of a source back to its queue.
func redriveRun(o *redriveOptions, stdout, stderr io.Writer) int {
	stack, source, max, rate, dryRun, dir, sealKey, groups := &o.stack, &o.source, &o.max, &o.rate, &o.dryRun, &o.dir, &o.sealKey, o.groups
	q := o.q
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "hookline redrive: "+format+"\n", a...)
		return 2
	}
	if *source == "" {
		return fail("--source is required")
	}
	if o.output != "table" && o.output != "json" {
		return fail("--output must be table or json, got %q", o.output)
	}
	if slices.Contains(groups, "") {
		return fail("--group: an empty group")
	}
	if *max < 0 || *rate < 0 {
		return fail("--max and --rate must not be negative")
	}
	q.Source = *source
	if q.QueueURL == "" || q.QueueArn == "" || q.DLQURL == "" || q.DLQArn == "" || (*sealKey == "" && !*dryRun) {
		projectDir, err := projectDirOrFind(*dir)
		if err != nil {
			return fail("%v", err)
		}
		outs, err := stackOutputs(projectDir, *stack)
		if err != nil {
			return fail("%v (or pass --queue-url, --queue-arn, --dlq-url, --dlq-arn and --seal-key)", err)
		}
		src, err := outs.Source(*source)
		if err != nil {
			return fail("%v", err)
		}
		for _, f := range []struct {
			dst        *string
			key, value string
		}{
			{&q.QueueURL, stackoutputs.KeyQueueURL, src.QueueURL}, {&q.QueueArn, stackoutputs.KeyQueueArn, src.QueueArn},
			{&q.DLQURL, stackoutputs.KeyDLQURL, src.DLQURL}, {&q.DLQArn, stackoutputs.KeyDLQArn, src.DLQArn},
		} {
			if *f.dst == "" {
				if *f.dst, err = requiredOutput(*source, f.key, f.value); err != nil {
					return fail("%v", err)
				}
			}
		}
		if *sealKey == "" && !*dryRun {
			if outs.SealKey == "" {
				return fail("stack %s has no output %s: apply it with this version of hookline first (a redrive seals each re-send's receipt time with the stack's seal key), or pass --seal-key", *stack, stackoutputs.KeySealKey)
			}
			*sealKey = outs.SealKey
		}
	}

	// Interrupting stops after the message in hand: nothing is lost.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return fail("AWS configuration: %v", err)
	}
	asJSON := o.output == "json"
	opts := redrive.Options{Groups: groups, Max: *max, Rate: *rate, DryRun: *dryRun}
	if !asJSON {
		opts.Progress = func(s string) { fmt.Fprintln(stdout, s) }
	}
	if !*dryRun {
		opts.Sealer = seal.KMS{API: kms.NewFromConfig(cfg), KeyID: *sealKey}
	}
	res, err := redrive.Run(ctx, sqs.NewFromConfig(cfg), q, opts)
	if err != nil {
		fmt.Fprintf(stderr, "hookline redrive: %v\n", err)
		return 1
	}
	code := 0
	if len(res.Failed) > 0 {
		code = 1
	}
	if asJSON {
		rep := redriveReport{Source: *source, DLQURL: q.DLQURL, QueueURL: q.QueueURL, DryRun: *dryRun, More: res.More,
			Moved: res.Moved, Failed: res.Failed, Warnings: res.Warning}
		for _, e := range res.Listed {
			rep.Listed = append(rep.Listed, redriveListed{MessageID: e.MessageID, Group: e.Group, EventID: e.EventID, Reason: e.Reason,
				AgeSeconds: e.Age.Seconds(), ReceiveCount: e.ReceiveCount})
		}
		if err := writeJSON(stdout, rep); err != nil {
			return fail("write output: %v", err)
		}
		return code
	}
	if *dryRun {
		fmt.Fprintf(stdout, "%d message(s) would move:\n", len(res.Listed))
		fmt.Fprintf(stdout, "  %-20s %-28s %-10s %-8s %s\n", "GROUP", "EVENT ID", "AGE", "RECEIVES", "FAILURE")
		for _, e := range res.Listed {
			fmt.Fprintf(stdout, "  %-20s %-28s %-10s %-8d %s\n", e.Group, e.EventID, e.Age, e.ReceiveCount, e.Reason)
		}
		if res.More {
			fmt.Fprintf(stdout, "(the first %d: more may follow — a dry run hides nothing, so it cannot look behind the messages SQS returns first; each look raises their receive count)\n", len(res.Listed))
		}
		return 0
	}
	fmt.Fprintf(stdout, "moved %d message(s) from %s to %s\n", res.Moved, q.DLQURL, q.QueueURL)
	for _, w := range res.Warning {
		fmt.Fprintf(stdout, "warning: %s\n", w)
	}
	for _, f := range res.Failed {
		fmt.Fprintf(stderr, "hookline redrive: not moved, left in the DLQ in order: %s\n", f)
	}
	return code
}
