package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/hookline/hookline/handler/seal"
	"github.com/hookline/hookline/ops/redrive"
	"github.com/hookline/hookline/stackoutputs"
)

// redriveCmd moves dead-lettered messages of a source back to its queue.
func redriveCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("redrive", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stack := fs.String("stack", "dev", "stack whose outputs name the queues")
	source := fs.String("source", "", "source name (required)")
	var groups []string
	fs.Func("group", "move only this message group (repeat for several: one scan of the DLQ moves them all)", func(g string) error {
		if g == "" {
			return fmt.Errorf("an empty group")
		}
		groups = append(groups, g)
		return nil
	})
	max := fs.Int("max", 0, "move at most this many messages; with --dry-run list at most this many (default 10)")
	rate := fs.Float64("rate", 0, "messages per second for a selective redrive (0: as fast as SQS allows)")
	dryRun := fs.Bool("dry-run", false, "list the first messages that would move, move nothing and hide nothing")
	dir := fs.String("dir", "", "project directory (default: the nearest directory with Pulumi.yaml)")
	var q redrive.Queues
	fs.StringVar(&q.QueueURL, "queue-url", "", "source queue URL (default: stack output sources.<source>.queueUrl)")
	fs.StringVar(&q.QueueArn, "queue-arn", "", "source queue ARN (default: stack output)")
	fs.StringVar(&q.DLQURL, "dlq-url", "", "DLQ URL (default: stack output sources.<source>.dlqUrl)")
	fs.StringVar(&q.DLQArn, "dlq-arn", "", "DLQ ARN (default: stack output)")
	sealKey := fs.String("seal-key", "", "the stack's seal key ARN, which seals each re-send's receipt time (default: stack output sealKey)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "hookline redrive: "+format+"\n", a...)
		return 2
	}
	if *source == "" {
		return fail("--source is required")
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
	opts := redrive.Options{Groups: groups, Max: *max, Rate: *rate, DryRun: *dryRun,
		Progress: func(s string) { fmt.Fprintln(stdout, s) }}
	if !*dryRun {
		opts.Sealer = seal.KMS{API: kms.NewFromConfig(cfg), KeyID: *sealKey}
	}
	res, err := redrive.Run(ctx, sqs.NewFromConfig(cfg), q, opts)
	if err != nil {
		fmt.Fprintf(stderr, "hookline redrive: %v\n", err)
		return 1
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
	if len(res.Failed) > 0 {
		for _, f := range res.Failed {
			fmt.Fprintf(stderr, "hookline redrive: not moved, left in the DLQ in order: %s\n", f)
		}
		return 1
	}
	return 0
}
