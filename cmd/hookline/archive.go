package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/hookline/hookline/handler/seal"
	"github.com/hookline/hookline/ops/archive"
	"github.com/hookline/hookline/stackoutputs"
)

// timeHelp says what --from and --to take.
const timeHelp = `Times are RFC 3339 (2026-03-01T14:00:00Z, 2026-03-01T15:00:00+01:00), "now",
or relative to now: -90m, -3h, -2d, -1d12h (Go durations, and d for days).`

// windowFlags are the selection flags search and replay share.
type windowFlags struct {
	stack, source, dir, output, from, to, lag string
	groups, where                             []string
}

func (w *windowFlags) add(fs *pflag.FlagSet, what string) {
	fs.StringVar(&w.stack, "stack", "dev", "stack whose outputs name the archive bucket")
	fs.StringVar(&w.source, "source", "", "source name (required)")
	fs.StringVar(&w.from, "from", "", "start of the window: when hookline received the deliveries (required; RFC 3339, now, or relative: -3h)")
	fs.StringVar(&w.to, "to", "now", "end of the window (RFC 3339, now, or relative: -1h)")
	fs.StringArrayVar(&w.groups, "group", nil, what+" only this message group (repeat for several)")
	fs.StringArrayVar(&w.where, "where", nil, what+" only deliveries where header:<Name>=<value> or body:<JSONPath>=<value> holds (repeat: all must hold)")
	fs.StringVar(&w.lag, "lag", archive.DefaultLag.String(), "how long after receipt a delivery may first have reached the consumer (a source paused or failing for longer needs more): the archive's hours read end at --to plus this")
	dirFlag(fs, &w.dir)
}

// relativeRE is a relative time: a sign, then days and/or a Go duration.
var relativeRE = regexp.MustCompile(`^([+-])(?:(\d+)d)?(.*)$`)

// parseTime reads an RFC 3339 time, "now", or a time relative to now.
func parseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "now" {
		return now, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if m := relativeRE.FindStringSubmatch(s); m != nil && (m[2] != "" || m[3] != "") {
		var d time.Duration
		if m[2] != "" {
			days, err := strconv.Atoi(m[2])
			if err != nil {
				return time.Time{}, fmt.Errorf("%q: %v", s, err)
			}
			d = time.Duration(days) * 24 * time.Hour
		}
		if m[3] != "" {
			rest, err := time.ParseDuration(m[3])
			if err != nil || rest < 0 {
				return time.Time{}, fmt.Errorf("%q is not a time (%s)", s, strings.ReplaceAll(timeHelp, "\n", " "))
			}
			d += rest
		}
		if m[1] == "-" {
			d = -d
		}
		return now.Add(d), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time (%s)", s, strings.ReplaceAll(timeHelp, "\n", " "))
}

// query builds and checks the selection the flags describe.
func (w *windowFlags) query(now time.Time) (archive.Query, error) {
	q := archive.Query{Source: w.source, Groups: w.groups}
	if w.source == "" {
		return q, errors.New("--source is required")
	}
	if w.output != "table" && w.output != "json" {
		return q, fmt.Errorf("--output must be table or json, got %q", w.output)
	}
	if w.from == "" {
		return q, errors.New("--from is required (RFC 3339, or relative: -3h)")
	}
	var err error
	if q.From, err = parseTime(w.from, now); err != nil {
		return q, fmt.Errorf("--from: %w", err)
	}
	if q.To, err = parseTime(w.to, now); err != nil {
		return q, fmt.Errorf("--to: %w", err)
	}
	if q.From.After(q.To) {
		return q, fmt.Errorf("--from (%s) is after --to (%s)", q.From.UTC().Format(time.RFC3339), q.To.UTC().Format(time.RFC3339))
	}
	if q.Lag, err = time.ParseDuration(w.lag); err != nil || q.Lag < 0 {
		return q, fmt.Errorf("--lag: %q is not a duration (e.g. 30m, 6h)", w.lag)
	}
	if q.Lag == 0 {
		// --lag 0 reads no hour past --to's; a zero Query.Lag would mean
		// archive.DefaultLag.
		q.Lag = time.Nanosecond
	}
	if slices.Contains(w.groups, "") {
		return q, errors.New("--group: an empty group")
	}
	for _, s := range w.where {
		c, err := archive.ParseCondition(s)
		if err != nil {
			return q, fmt.Errorf("--where: %w", err)
		}
		q.Where = append(q.Where, c)
	}
	return q, nil
}

// archiveStack reads what search and replay need of the stack's outputs:
// the region, the archive bucket, the source's queue and the seal key.
func archiveStack(w *windowFlags) (*stackoutputs.Stack, stackoutputs.Source, error) {
	projectDir, err := projectDirOrFind(w.dir)
	if err != nil {
		return nil, stackoutputs.Source{}, err
	}
	outs, err := stackOutputs(projectDir, w.stack)
	if err != nil {
		return nil, stackoutputs.Source{}, err
	}
	src, err := outs.Source(w.source)
	if err != nil {
		return nil, stackoutputs.Source{}, err
	}
	if outs.ArchiveBucket == "" {
		return nil, stackoutputs.Source{}, fmt.Errorf("stack %s has no archive (its output %s is empty): archiving is on unless hookline:archive sets enabled: false in %s; turn it on there if it is off, and apply the stack with this version of hookline (pulumi up). Deliveries before that were not archived",
			w.stack, stackoutputs.KeyArchiveBucket, configPlace(projectDir, w.stack))
	}
	return outs, src, nil
}

// s3Client is the S3 client of the archive: path-style addressing when an
// endpoint override points the SDK elsewhere than AWS (AWS_ENDPOINT_URL_S3
// or AWS_ENDPOINT_URL: a local S3 implementation serves buckets by path).
func s3Client(cfg aws.Config) *s3.Client {
	local := cfg.BaseEndpoint != nil || os.Getenv("AWS_ENDPOINT_URL_S3") != "" || os.Getenv("AWS_ENDPOINT_URL") != ""
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = local })
}

// archiveOptions are hookline archive search's flags.
type archiveOptions struct {
	windowFlags
	eventID, outcome string
}

func newArchiveCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "archive",
		Short: "Search a source's archived deliveries",
		Long: `archive works on the stack's archive: every delivery each source's consumer
received, kept in the stack's archive bucket (stack output archiveBucket) as
GZIP JSON lines, one object per Firehose delivery, under
source=<name>/dt=YYYY-MM-DD/hour=HH/. hookline replay re-sends what it holds.`,
		Example: `  hookline archive search --stack prod --source payments --from -3h
  hookline help archive search`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.ErrOrStderr(), "hookline archive: a command is required (hookline archive search)")
			return exitCode(2)
		},
	}
	cmd.AddCommand(newArchiveSearchCmd())
	return cmd
}

func newArchiveSearchCmd() *cobra.Command {
	o := &archiveOptions{}
	cmd := &cobra.Command{
		Use:   "search",
		Short: "List a source's archived deliveries received in a window, with their outcomes",
		Long: `search lists the deliveries of a source that hookline received between --from
and --to, with each one's last outcome (ok, rejected, dead-lettered, retry, or
none yet), reading only the archive's hours that can hold them: from the hour
before --from (Firehose files an object under its oldest record's arrival) to
--to plus --lag (a delivery is archived when the consumer first receives it).
Objects or lines it cannot read are skipped and counted, never fatal.

` + timeHelp + `

--where header:<Name>=<value> matches a header the edge carries for the source
(its signature headers; Content-Type); body:<JSONPath>=<value> a value of the
JSON body ($.type, $.data.id, $.items[0]). --outcome takes ok, rejected,
dead-lettered, retry, none (no outcome archived) or failed (anything but ok).

` + stackHelp + ` search reads the outputs (the archive bucket).

Exit codes: 0 searched (whatever it found); 2 any error.`,
		Example: `  hookline archive search --stack prod --source payments --from -3h
  hookline archive search --stack prod --source payments --from 2026-03-01T14:00:00Z --to 2026-03-01T15:00:00Z --group cus_1
  hookline archive search --stack prod --source payments --from -1d --where 'body:$.type=invoice.paid' --outcome failed
  hookline archive search --stack prod --source github --from -6h --event-id 1f2e3d4c --output json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return codeOf(archiveSearchRun(o, cmd.OutOrStdout(), cmd.ErrOrStderr()))
		},
	}
	fs := cmd.Flags()
	o.add(fs, "list")
	fs.StringVar(&o.eventID, "event-id", "", "list only the deliveries of this event id")
	fs.StringVar(&o.outcome, "outcome", "", "list only deliveries whose last outcome is this: "+strings.Join(archive.Outcomes, ", "))
	outputFlag(fs, &o.output, "json: every delivery found, with its message id and sequence number")
	return cmd
}

// searchDelivery is one delivery in search's JSON.
type searchDelivery struct {
	Time           time.Time `json:"time"`
	Group          string    `json:"group"`
	EventID        string    `json:"eventId"`
	MessageID      string    `json:"messageId"`
	SequenceNumber string    `json:"sequenceNumber"`
	Outcome        string    `json:"outcome"`
	Reason         string    `json:"reason,omitempty"`
	Size           int       `json:"size"`
	Receives       int       `json:"receives"`
	Resend         string    `json:"resend,omitempty"`
}

// searchReport is search's JSON.
type searchReport struct {
	Stack          string           `json:"stack"`
	Source         string           `json:"source"`
	Bucket         string           `json:"bucket"`
	From           time.Time        `json:"from"`
	To             time.Time        `json:"to"`
	LagSeconds     float64          `json:"lagSeconds"`
	Deliveries     []searchDelivery `json:"deliveries"`
	Prefixes       []string         `json:"prefixes"`
	Objects        int              `json:"objects"`
	SkippedObjects int              `json:"skippedObjects"`
	SkippedLines   int              `json:"skippedLines"`
}

func archiveSearchRun(o *archiveOptions, stdout, stderr io.Writer) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "hookline archive search: "+format+"\n", a...)
		return 2
	}
	q, err := o.query(time.Now())
	if err != nil {
		return fail("%v", err)
	}
	q.EventID = o.eventID
	if o.outcome != "" && !slices.Contains(archive.Outcomes, o.outcome) {
		return fail("--outcome %q: want one of %s", o.outcome, strings.Join(archive.Outcomes, ", "))
	}
	q.Outcome = o.outcome
	outs, _, err := archiveStack(&o.windowFlags)
	if err != nil {
		return fail("%v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := awsConfig(ctx, outs.Region)
	if err != nil {
		return fail("%v", err)
	}
	res, err := archive.Search(ctx, s3Client(cfg), outs.ArchiveBucket, q)
	if err != nil {
		return fail("%v", err)
	}
	if o.output == "json" {
		rep := searchReport{Stack: o.stack, Source: o.source, Bucket: outs.ArchiveBucket, From: q.From.UTC(), To: q.To.UTC(),
			LagSeconds: q.Lag.Round(time.Second).Seconds(), Deliveries: []searchDelivery{}, Prefixes: res.Prefixes,
			Objects: res.Objects, SkippedObjects: res.SkippedObjects, SkippedLines: res.SkippedLines}
		for _, d := range res.Deliveries {
			outcome := d.Outcome
			rep.Deliveries = append(rep.Deliveries, searchDelivery{Time: d.Time(), Group: d.Entry.Group, EventID: d.Entry.EventID,
				MessageID: d.Entry.MessageID, SequenceNumber: d.Entry.SequenceNumber, Outcome: outcome, Reason: d.Reason,
				Size: d.Entry.Size, Receives: d.Receives, Resend: d.Resend()})
		}
		if err := writeJSON(stdout, rep); err != nil {
			return fail("write output: %v", err)
		}
		return 0
	}
	if len(res.Deliveries) > 0 {
		fmt.Fprintf(stdout, "%-24s  %-20s  %-28s  %-32s  %s\n", "TIME", "GROUP", "EVENT ID", "OUTCOME", "SIZE")
	}
	for _, d := range res.Deliveries {
		outcome := d.Outcome
		switch {
		case outcome == "":
			outcome = "none yet"
		case d.Reason != "":
			outcome += " (" + d.Reason + ")"
		}
		event := d.Entry.EventID
		if r := d.Resend(); r != "" {
			event += " [" + r + " copy]"
		}
		fmt.Fprintf(stdout, "%-24s  %-20s  %-28s  %-32s  %d\n", d.Time().Format("2006-01-02T15:04:05.000Z"), d.Entry.Group, event, outcome, d.Entry.Size)
	}
	fmt.Fprintf(stdout, "%d deliveries of %s received %s to %s (read %d object(s) in %d hour(s) of s3://%s)\n", len(res.Deliveries), o.source,
		q.From.UTC().Format(time.RFC3339), q.To.UTC().Format(time.RFC3339), res.Objects, len(res.Prefixes), outs.ArchiveBucket)
	if res.SkippedObjects+res.SkippedLines > 0 {
		fmt.Fprintf(stdout, "skipped what could not be read: %d object(s), %d line(s)\n", res.SkippedObjects, res.SkippedLines)
	}
	return 0
}

// replayOptions are hookline replay's flags.
type replayOptions struct {
	windowFlags
	id                                 string
	onlyFailed, reprocess, dryRun, yes bool
}

func newReplayCmd() *cobra.Command {
	o := &replayOptions{}
	cmd := &cobra.Command{
		Use:   "replay",
		Short: "Re-send archived deliveries to their source queue, in order",
		Long: `replay re-sends the deliveries of a source that hookline received between
--from and --to (as hookline archive search selects them) to the source's
queue, group by group in their original order. Each copy keeps the original
body and attributes and carries the original receipt time sealed with the
stack's seal key, so signatures still verify; re-sends already in the archive
(redrives, earlier replays) are not sent again. --only-failed keeps the
deliveries whose last outcome was not ok.

A replay has an id (printed; by default derived from the selection: source,
window, groups, --where, --only-failed) and a checkpoint in the archive bucket
(replays/<id>.json) recording what it sent: running the same replay again —
after an interruption, or by mistake — sends nothing twice. A relative window
(-3h) moves with the clock: resume with --id. A source with idempotency on
skips copies of events it processed before, unless --reprocess marks them to
be processed again.

` + timeHelp + `

It states what it will send and asks on a terminal; elsewhere it needs --yes.
--dry-run selects and counts, and sends nothing.

` + stackHelp + ` replay reads the outputs (the archive bucket, the source's
queue, the seal key).

Exit codes: 0 everything selected was sent (or had been); 1 a group stopped on
a failed send, or the replay was interrupted (run it again); 2 any other
error, a replay not confirmed among them.`,
		Example: `  hookline replay --stack prod --source payments --from -3h --dry-run
  hookline replay --stack prod --source payments --from 2026-03-01T14:00:00Z --to 2026-03-01T15:00:00Z --only-failed --yes
  hookline replay --stack prod --source payments --from -1d --group cus_1 --where 'body:$.type=invoice.paid' --reprocess
  hookline replay --stack prod --source payments --from -3h --id 4be1c0ffee0123456789 --yes --output json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return codeOf(replayRun(o, cmd.OutOrStdout(), cmd.ErrOrStderr()))
		},
	}
	fs := cmd.Flags()
	o.add(fs, "replay")
	fs.BoolVar(&o.onlyFailed, "only-failed", false, "replay only deliveries whose last outcome was not ok (rejected, dead-lettered, retry, or none)")
	fs.BoolVar(&o.reprocess, "reprocess", false, "mark each copy to be processed again even if its event id was processed before (a source with idempotency skips it otherwise)")
	fs.BoolVar(&o.dryRun, "dry-run", false, "select and count what would be sent; send and write nothing")
	fs.BoolVarP(&o.yes, "yes", "y", false, "send without asking (required when no terminal can ask)")
	fs.StringVar(&o.id, "id", "", "the replay's id (default: derived from the selection); the same id resumes a replay")
	outputFlag(fs, &o.output, "json: what was sent, or would be")
	return cmd
}

// replayReport is replay's JSON.
type replayReport struct {
	ID             string    `json:"id"`
	Stack          string    `json:"stack"`
	Source         string    `json:"source"`
	QueueURL       string    `json:"queueUrl"`
	Checkpoint     string    `json:"checkpoint"`
	From           time.Time `json:"from"`
	To             time.Time `json:"to"`
	DryRun         bool      `json:"dryRun"`
	Reprocess      bool      `json:"reprocess"`
	Matched        int       `json:"matched"`
	Groups         int       `json:"groups"`
	Sent           int       `json:"sent"`
	AlreadySent    int       `json:"alreadySent"`
	ToSend         int       `json:"toSend"`
	SkippedResends int       `json:"skippedResends"`
	PreviouslyOK   int       `json:"previouslyOk"`
	Failed         []string  `json:"failed,omitempty"`
	Warnings       []string  `json:"warnings,omitempty"`
	Interrupted    bool      `json:"interrupted,omitempty"`
}

func replayRun(o *replayOptions, stdout, stderr io.Writer) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "hookline replay: "+format+"\n", a...)
		return 2
	}
	q, err := o.query(time.Now())
	if err != nil {
		return fail("%v", err)
	}
	if o.id != "" {
		if err := archive.CheckID(o.id); err != nil {
			return fail("--id: %v", err)
		}
	}
	outs, src, err := archiveStack(&o.windowFlags)
	if err != nil {
		return fail("%v", err)
	}
	if src.QueueURL == "" {
		return fail("%v", &missingOutputError{source: o.source, key: stackoutputs.KeyQueueURL})
	}
	if !o.dryRun && outs.SealKey == "" {
		return fail("stack %s has no output %s: apply it with this version of hookline first (a replay seals each copy's receipt time with the stack's seal key)", o.stack, stackoutputs.KeySealKey)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := awsConfig(ctx, outs.Region)
	if err != nil {
		return fail("%v", err)
	}
	store, target := s3Client(cfg), archive.Target{Bucket: outs.ArchiveBucket, QueueURL: src.QueueURL}
	opts := archive.Options{Query: q, OnlyFailed: o.onlyFailed, Reprocess: o.reprocess, ID: o.id}
	asJSON := o.output == "json"
	rep := replayReport{Stack: o.stack, Source: o.source, QueueURL: src.QueueURL, From: q.From.UTC(), To: q.To.UTC(), DryRun: o.dryRun, Reprocess: o.reprocess}
	fill := func(res *archive.Result) {
		rep.ID, rep.Checkpoint, rep.Matched, rep.Groups = res.ID, res.Checkpoint, res.Matched, res.Groups
		rep.Sent, rep.AlreadySent, rep.ToSend, rep.SkippedResends, rep.PreviouslyOK = res.Sent, res.AlreadySent, res.ToSend, res.SkippedResends, res.PreviouslyOK
		rep.Failed, rep.Warnings, rep.Interrupted = res.Failed, res.Warnings, res.Interrupted
	}
	report := func(code int) int {
		if asJSON {
			if err := writeJSON(stdout, rep); err != nil {
				return fail("write output: %v", err)
			}
		}
		return code
	}

	// What it would send: counted first, stated, confirmed.
	dryOpts := opts
	dryOpts.DryRun = true
	plan, err := archive.Replay(ctx, store, nil, target, dryOpts)
	if err != nil {
		return fail("%v", err)
	}
	fill(plan)
	what := fmt.Sprintf("replay %s sends %d delivery(ies) of %s in %d group(s), received %s to %s, to %s", plan.ID, plan.ToSend, o.source, plan.Groups,
		q.From.UTC().Format(time.RFC3339), q.To.UTC().Format(time.RFC3339), src.QueueURL)
	notes := replayNotes(plan, o.reprocess)
	if o.dryRun || plan.ToSend == 0 {
		if !asJSON {
			switch {
			case o.dryRun:
				what = strings.Replace(what, " sends ", " would send ", 1)
			case plan.Matched == 0:
				what = fmt.Sprintf("replay %s: no delivery of %s received %s to %s matches", plan.ID, o.source, q.From.UTC().Format(time.RFC3339), q.To.UTC().Format(time.RFC3339))
			default:
				what = fmt.Sprintf("replay %s has sent all %d selected delivery(ies) of %s already", plan.ID, plan.Matched, o.source)
			}
			fmt.Fprintf(stdout, "%s.\n", what)
			for _, n := range notes {
				fmt.Fprintln(stdout, n)
			}
			if o.dryRun {
				fmt.Fprintln(stdout, "a dry run: nothing was sent or written.")
			} else {
				fmt.Fprintln(stdout, "nothing to send.")
			}
		}
		return report(0)
	}
	if !o.yes {
		if !stdinIsTerminal() {
			return fail("%s: pass --yes to confirm (or --dry-run to count)", what)
		}
		fmt.Fprintf(stderr, "%s.\n", what)
		for _, n := range notes {
			fmt.Fprintln(stderr, n)
		}
		fmt.Fprint(stderr, "Send them? [y/N] ")
		answer, _ := bufio.NewReader(stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			return fail("not confirmed: nothing sent")
		}
	} else if !asJSON {
		fmt.Fprintf(stdout, "%s.\n", what)
		for _, n := range notes {
			fmt.Fprintln(stdout, n)
		}
	}

	opts.ID = plan.ID // the window of a relative --from moved since: keep the id stated
	opts.Sealer = seal.KMS{API: kms.NewFromConfig(cfg), KeyID: outs.SealKey}
	if !asJSON {
		opts.Progress = func(s string) { fmt.Fprintln(stdout, s) }
		printed := 0
		opts.Sent = func(sent, toSend int) {
			if sent == 0 || (sent < toSend && sent-printed < max(10, toSend/20)) {
				return
			}
			printed = sent
			fmt.Fprintf(stdout, "sent %d of %d\n", sent, toSend)
		}
	}
	res, err := archive.Replay(ctx, store, sqs.NewFromConfig(cfg), target, opts)
	if err != nil {
		if res != nil {
			fill(res)
		}
		fmt.Fprintf(stderr, "hookline replay: %v\n", err)
		return report(1)
	}
	fill(res)
	code := 0
	if len(res.Failed) > 0 || res.Interrupted {
		code = 1
	}
	if !asJSON {
		fmt.Fprintf(stdout, "replay %s sent %d delivery(ies) to %s", res.ID, res.Sent, src.QueueURL)
		if res.AlreadySent > 0 {
			fmt.Fprintf(stdout, " (%d already sent by an earlier run)", res.AlreadySent)
		}
		fmt.Fprintln(stdout)
		for _, w := range res.Warnings {
			fmt.Fprintf(stdout, "warning: %s\n", w)
		}
	}
	for _, f := range res.Failed {
		fmt.Fprintf(stderr, "hookline replay: not sent, the rest of the group waits (run the replay again): %s\n", f)
	}
	if res.Interrupted {
		fmt.Fprintf(stderr, "hookline replay: interrupted after %d: run it again with --id %s to send the rest (nothing is sent twice)\n", res.Sent, res.ID)
	}
	return report(code)
}

// replayNotes say what the counts mean before a replay sends.
func replayNotes(r *archive.Result, reprocess bool) []string {
	var notes []string
	if r.AlreadySent > 0 {
		notes = append(notes, fmt.Sprintf("%d of the %d selected were already sent by this replay (checkpoint %s): not sent again (--id gives a new replay)", r.AlreadySent, r.Matched, r.Checkpoint))
	}
	if r.SkippedResends > 0 {
		notes = append(notes, fmt.Sprintf("%d re-send(s) in the window (redrives, DLQ moves, earlier replays) are copies of deliveries and are not replayed", r.SkippedResends))
	}
	if r.PreviouslyOK > 0 && !reprocess {
		notes = append(notes, fmt.Sprintf("%d of them were processed ok before: if the source has idempotency on, its consumer skips their copies as duplicates (--reprocess processes them again)", r.PreviouslyOK))
	}
	if r.Search != nil && r.Search.SkippedObjects+r.Search.SkippedLines > 0 {
		notes = append(notes, fmt.Sprintf("the archive had %d unreadable object(s) and %d unreadable line(s), skipped", r.Search.SkippedObjects, r.Search.SkippedLines))
	}
	return notes
}
