package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

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
	dryRun, peek, yes                   bool
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
make it selective. A redrive of the whole DLQ (no --group, no --max) states how
many messages it will move and asks on a terminal; elsewhere it needs --yes.
--dry-run counts the DLQ's messages and changes nothing at all; --peek lists
the first messages (receiving them, which raises their receive counts).

` + stackHelp + ` redrive reads the outputs (the queues and the seal key)
unless --queue-url, --queue-arn, --dlq-url, --dlq-arn and --seal-key give them.

Exit codes: 0 everything asked for moved; 1 a message was not moved (it stays in
the DLQ, in order) or an asked-for --group is not in the DLQ; 2 any other error,
a whole-DLQ redrive not confirmed among them.`,
		Example: `  hookline redrive --stack prod --source payments --dry-run
  hookline redrive --stack prod --source payments --peek --max 20
  hookline redrive --stack prod --source payments --group cus_1 --group cus_2
  hookline redrive --stack prod --source payments --yes --output json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return codeOf(redriveRun(o, cmd.OutOrStdout(), cmd.ErrOrStderr()))
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.stack, "stack", "dev", "stack whose outputs name the queues")
	fs.StringVar(&o.source, "source", "", "source name (required)")
	fs.StringArrayVar(&o.groups, "group", nil, "move only this message group (repeat for several: one scan of the DLQ moves them all)")
	fs.IntVar(&o.max, "max", 0, "move at most this many messages; with --peek list at most this many (default 10)")
	fs.Float64Var(&o.rate, "rate", 0, "messages per second for a selective redrive (0: as fast as SQS allows)")
	fs.BoolVar(&o.dryRun, "dry-run", false, "count the DLQ's messages (GetQueueAttributes) and change nothing at all: no message is received")
	fs.BoolVar(&o.peek, "peek", false, "list the first messages that would move (at most --max, default 10), moving and hiding nothing; receiving them raises each one's receive count")
	fs.BoolVarP(&o.yes, "yes", "y", false, "move the whole DLQ without asking (required when no terminal can ask)")
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

// redriveDepth is the DLQ's message count in redrive's JSON.
type redriveDepth struct {
	Visible  int `json:"visible"`
	InFlight int `json:"inFlight"`
}

// redriveReport is redrive's JSON.
type redriveReport struct {
	Source   string          `json:"source"`
	DLQURL   string          `json:"dlqUrl"`
	QueueURL string          `json:"queueUrl"`
	DryRun   bool            `json:"dryRun"`
	Depth    *redriveDepth   `json:"depth,omitempty"`
	Listed   []redriveListed `json:"listed,omitempty"`
	More     bool            `json:"more,omitempty"`
	Moved    int             `json:"moved"`
	Failed   []string        `json:"failed,omitempty"`
	Missing  []string        `json:"missingGroups,omitempty"`
	Warnings []string        `json:"warnings,omitempty"`
}

// redriveRun moves dead-lettered messages of a source back to its queue:
// --dry-run counts (changes nothing), --peek lists, a whole-DLQ redrive
// states its count and asks (or takes --yes), a selective one says which
// asked-for group was not there.
func redriveRun(o *redriveOptions, stdout, stderr io.Writer) int {
	q := o.q
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "hookline redrive: "+format+"\n", a...)
		return 2
	}
	if o.source == "" {
		return fail("--source is required")
	}
	if o.output != "table" && o.output != "json" {
		return fail("--output must be table or json, got %q", o.output)
	}
	if slices.Contains(o.groups, "") {
		return fail("--group: an empty group")
	}
	if o.max < 0 || o.rate < 0 {
		return fail("--max and --rate must not be negative")
	}
	if o.dryRun && o.peek {
		return fail("--dry-run counts and --peek lists: give one")
	}
	moves := !o.dryRun && !o.peek
	q.Source = o.source
	projectDir, err := projectDirOrFind(o.dir)
	if err != nil {
		return fail("%v", err)
	}
	region := ""
	if q.QueueURL == "" || q.QueueArn == "" || q.DLQURL == "" || q.DLQArn == "" || (o.sealKey == "" && moves) {
		outs, err := stackOutputs(projectDir, o.stack)
		if err != nil {
			return fail("%v (or pass --queue-url, --queue-arn, --dlq-url, --dlq-arn and --seal-key)", err)
		}
		// The deployed stack decides which sources exist: a local file
		// that differs does not hide one.
		src, err := outs.Source(o.source)
		if err != nil {
			return fail("%v", err)
		}
		region = outs.Region
		for _, f := range []struct {
			dst        *string
			key, value string
		}{
			{&q.QueueURL, stackoutputs.KeyQueueURL, src.QueueURL}, {&q.QueueArn, stackoutputs.KeyQueueArn, src.QueueArn},
			{&q.DLQURL, stackoutputs.KeyDLQURL, src.DLQURL}, {&q.DLQArn, stackoutputs.KeyDLQArn, src.DLQArn},
		} {
			if *f.dst == "" {
				if *f.dst, err = requiredOutput(o.source, f.key, f.value); err != nil {
					return fail("%v", err)
				}
			}
		}
		if o.sealKey == "" && moves {
			if outs.SealKey == "" {
				return fail("stack %s has no output %s: apply it with this version of hookline first (a redrive seals each re-send's receipt time with the stack's seal key), or pass --seal-key", o.stack, stackoutputs.KeySealKey)
			}
			o.sealKey = outs.SealKey
		}
	} else {
		// The queues are given: the source still names the seal's binding,
		// so a mistyped one would seal every re-send for another source.
		ref, err := checkSource(projectDir, o.stack, o.source)
		if err != nil {
			return fail("%v", err)
		}
		region = ref
	}

	// Interrupting stops after the message in hand: nothing is lost.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := awsConfig(ctx, region)
	if err != nil {
		return fail("%v", err)
	}
	client := sqs.NewFromConfig(cfg)
	asJSON := o.output == "json"
	rep := redriveReport{Source: o.source, DLQURL: q.DLQURL, QueueURL: q.QueueURL, DryRun: !moves}
	report := func(code int) int {
		if asJSON {
			if err := writeJSON(stdout, rep); err != nil {
				return fail("write output: %v", err)
			}
		}
		return code
	}
	whole := len(o.groups) == 0 && o.max == 0

	if o.dryRun || (moves && whole) {
		depth, err := redrive.Depth(ctx, client, q.DLQURL)
		if err != nil {
			return fail("%v", err)
		}
		rep.Depth = &redriveDepth{Visible: depth.Visible, InFlight: depth.InFlight}
		held := ""
		if depth.InFlight > 0 {
			held = fmt.Sprintf(", and %d more received by someone else and hidden for now", depth.InFlight)
		}
		if o.dryRun {
			if !asJSON {
				fmt.Fprintf(stdout, "the DLQ of %s holds about %d message(s)%s.\n", o.source, depth.Visible, held)
				switch {
				case len(o.groups) > 0:
					fmt.Fprintln(stdout, "a dry run counts without receiving, so it cannot tell groups apart: --peek lists the first messages and their groups (each look raises their receive count)")
				case o.max > 0:
					fmt.Fprintf(stdout, "a redrive with --max %d would move up to %d of them; nothing was received or changed.\n", o.max, min(o.max, depth.Total()))
				default:
					fmt.Fprintf(stdout, "a redrive would move them all to %s; nothing was received or changed (--peek lists them).\n", q.QueueURL)
				}
			}
			return report(0)
		}
		if depth.Total() == 0 {
			if !asJSON {
				fmt.Fprintf(stdout, "the DLQ of %s is empty: nothing to move\n", o.source)
			}
			return report(0)
		}
		what := fmt.Sprintf("this moves all %d message(s) of the DLQ of %s (%s) to %s%s", depth.Visible, o.source, q.DLQURL, q.QueueURL, held)
		if !o.yes {
			if !stdinIsTerminal() {
				return fail("%s: pass --yes to confirm (or --dry-run to count, --peek to list, --group or --max to move part of it)", what)
			}
			fmt.Fprintf(stderr, "%s.\nMove them? [y/N] ", what)
			answer, _ := bufio.NewReader(stdin).ReadString('\n')
			if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
				return fail("not confirmed: nothing moved")
			}
		} else if !asJSON {
			fmt.Fprintf(stdout, "%s.\n", what)
		}
	}

	opts := redrive.Options{Groups: o.groups, Max: o.max, Rate: o.rate, DryRun: o.peek}
	if !asJSON {
		opts.Progress = func(s string) { fmt.Fprintln(stdout, s) }
	}
	if moves {
		opts.Sealer = seal.KMS{API: kms.NewFromConfig(cfg), KeyID: o.sealKey}
	}
	res, err := redrive.Run(ctx, client, q, opts)
	if err != nil {
		fmt.Fprintf(stderr, "hookline redrive: %v\n", err)
		return 1
	}
	rep.More, rep.Moved, rep.Failed, rep.Warnings = res.More, res.Moved, res.Failed, res.Warning
	for _, e := range res.Listed {
		rep.Listed = append(rep.Listed, redriveListed{MessageID: e.MessageID, Group: e.Group, EventID: e.EventID, Reason: e.Reason,
			AgeSeconds: e.Age.Seconds(), ReceiveCount: e.ReceiveCount})
	}
	if o.peek {
		if !asJSON {
			fmt.Fprintf(stdout, "%d message(s) would move:\n", len(res.Listed))
			fmt.Fprintf(stdout, "  %-20s %-28s %-10s %-8s %s\n", "GROUP", "EVENT ID", "AGE", "RECEIVES", "FAILURE")
			for _, e := range res.Listed {
				fmt.Fprintf(stdout, "  %-20s %-28s %-10s %-8d %s\n", e.Group, e.EventID, e.Age, e.ReceiveCount, e.Reason)
			}
			if res.More {
				fmt.Fprintf(stdout, "(the first %d: more may follow — a peek hides nothing, so it cannot look behind the messages SQS returns first)\n", len(res.Listed))
			}
			fmt.Fprintln(stdout, "(peeking received these messages: each look raised their receive count by one; --dry-run counts without receiving)")
		}
		return report(0)
	}
	code := 0
	if len(res.Failed) > 0 {
		code = 1
	}
	if res.Complete {
		for _, g := range o.groups {
			if res.Seen[g] == 0 {
				rep.Missing = append(rep.Missing, g)
			}
		}
	}
	if !asJSON {
		fmt.Fprintf(stdout, "moved %d message(s) from %s to %s\n", res.Moved, q.DLQURL, q.QueueURL)
		for _, w := range res.Warning {
			fmt.Fprintf(stdout, "warning: %s\n", w)
		}
	}
	for _, f := range res.Failed {
		fmt.Fprintf(stderr, "hookline redrive: not moved, left in the DLQ in order: %s\n", f)
	}
	if len(rep.Missing) > 0 {
		code = 1
		var present []string
		for g := range res.Seen {
			present = append(present, g)
		}
		slices.Sort(present)
		has := "it is empty"
		if len(present) > 0 {
			has = "its groups are " + strings.Join(present, ", ")
		}
		for _, g := range rep.Missing {
			fmt.Fprintf(stderr, "hookline redrive: group %s is not in the DLQ of %s (%s)\n", g, o.source, has)
		}
	}
	return report(code)
}
