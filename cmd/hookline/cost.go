package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/ops"
)

// costOptions are hookline cost's flags.
type costOptions struct {
	stack, output, ingress, dir string
	rps, bodyKB, recordMS       float64
	groups                      int
	capacity                    bool
	// set reports whether a flag was given (its default stands for the
	// stack's traffic).
	set func(name string) bool
}

func newCostCmd() *cobra.Command {
	o := &costOptions{}
	cmd := &cobra.Command{
		Use:   "cost",
		Short: "Estimate the monthly cost per source (and --capacity: what each sustains)",
		Long: `cost estimates a stack's monthly AWS bill per source at a given traffic (by
default the stack's hookline:traffic), at us-east-1 list prices; --capacity adds
the rate each source sustains and the limit that binds first. Money in the JSON
is rounded to cents.

` + stackHelp + ` cost reads the config only.`,
		Example: `  hookline cost --stack dev
  hookline cost --stack prod --rps 5 --body-kb 2 --groups 20 --capacity
  hookline cost --stack dev --ingress rest --output json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.set = cmd.Flags().Changed
			return codeOf(costRun(o, cmd.OutOrStdout(), cmd.ErrOrStderr()))
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.stack, "stack", "dev", "stack whose config describes the sources")
	fs.Float64Var(&o.rps, "rps", -1, "webhooks per second, per source (default: the stack's traffic.rps)")
	fs.Float64Var(&o.bodyKB, "body-kb", -1, "average body size in KB (default: traffic.bodyKb)")
	fs.IntVar(&o.groups, "groups", -1, "active message groups per source (default: traffic.groups)")
	fs.Float64Var(&o.recordMS, "record-ms", -1, "processing time per record in ms (default: traffic.recordMs)")
	fs.BoolVar(&o.capacity, "capacity", false, "also print the sustainable rate per source and the limit that binds")
	outputFlag(fs, &o.output, "json: cost, capacity")
	fs.StringVar(&o.ingress, "ingress", "", "price the sources behind this ingress, rest or http (default: the stack's hookline:ingress)")
	dirFlag(fs, &o.dir)
	return cmd
}

// costRun estimates a stack's monthly cost, and with --capacity what each
// source sustains and which limit binds first.
func costRun(o *costOptions, stdout, stderr io.Writer) int {
	stack, rps, bodyKB, groups, recordMS, capacity, output, ingress, dir := &o.stack, &o.rps, &o.bodyKB, &o.groups, &o.recordMS, &o.capacity, &o.output, &o.ingress, &o.dir
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "hookline cost: "+format+"\n", a...)
		return 2
	}
	if *output != "table" && *output != "json" {
		return fail("--output must be table or json")
	}
	var bad []string
	for _, f := range []struct {
		name string
		v    float64
	}{{"rps", *rps}, {"body-kb", *bodyKB}, {"record-ms", *recordMS}, {"groups", float64(*groups)}} {
		switch {
		case o.set == nil || !o.set(f.name):
		case math.IsInf(f.v, 0) || math.IsNaN(f.v):
			bad = append(bad, fmt.Sprintf("--%s must be a number, got %v", f.name, f.v))
		case f.v < 0:
			bad = append(bad, fmt.Sprintf("--%s must not be negative, got %v", f.name, f.v))
		}
	}
	if len(bad) > 0 {
		return fail("%s", strings.Join(bad, "; "))
	}
	_, cfg, err := loadStack(*dir, *stack)
	if err != nil {
		return fail("%v", err)
	}
	switch *ingress {
	case "":
	case contract.IngressREST, contract.IngressHTTP:
		if *ingress == contract.IngressHTTP && !cfg.HTTP() {
			for _, s := range cfg.Sources {
				var keys []string
				for _, p := range s.HTTPProblems() {
					keys = append(keys, p.Key)
				}
				if len(keys) > 0 {
					fmt.Fprintf(stderr, "note: source %s: an HTTP API cannot honour its %s: priced as if changed (see \"Choosing an ingress\" in docs/configuration.md)\n", s.Name, strings.Join(keys, ", "))
				}
			}
		}
		cfg.Ingress = *ingress
	default:
		return fail("--ingress must be rest or http, got %q", *ingress)
	}
	t := ops.Traffic(cfg.Traffic)
	for _, f := range []struct {
		name string
		v    float64
		dst  *float64
	}{{"rps", *rps, &t.RPS}, {"body-kb", *bodyKB, &t.BodyKB}, {"record-ms", *recordMS, &t.RecordMS}} {
		if o.set != nil && o.set(f.name) {
			*f.dst = f.v
		}
	}
	if o.set != nil && o.set("groups") {
		t.Groups = *groups
	}
	if t.BodyKB*1024 > contract.MaxMessageBytes {
		return fail("--body-kb %.0f is over the %d KiB limit of an SQS message (body and attributes)", t.BodyKB, contract.MaxMessageBytes/1024)
	}
	est := ops.StackCost(cfg, t, ops.DefaultPrices)
	floors := ops.StackFloors(cfg, t, ops.DefaultPrices)
	var caps, all []ops.Capacity
	var warnings []string
	for _, s := range cfg.Sources {
		c := ops.SourceCapacity(cfg, s, t.Groups, t.RecordMS)
		all = append(all, c)
		for _, r := range ops.FloorRates {
			if r > c.Rate {
				// Not a warning: the floor table prices fixed rates.
				fmt.Fprintf(stderr, "note: source %s sustains about %.1f/s (bound by %s): the floor table prices %g/s as if it could\n", s.Name, c.Rate, c.Binds, r)
				break
			}
		}
		// The estimate prices traffic a source cannot take: say so, with
		// the limit that binds (--capacity prints them all).
		if t.RPS > c.Rate {
			warnings = append(warnings, fmt.Sprintf("source %s sustains about %.1f/s (bound by %s), less than the %.4g/s priced: the rest is throttled or queues up (hookline cost --capacity shows each limit)", s.Name, c.Rate, c.Binds, t.RPS))
		}
	}
	if stackRate := ops.StackAPIRate(cfg); len(cfg.Sources) > 0 && t.RPS*float64(len(cfg.Sources)) > stackRate.Rate {
		warnings = append(warnings, fmt.Sprintf("all %d sources together receive %.4g/s, more than the %.1f/s API Gateway allows the stack (%s)", len(cfg.Sources), t.RPS*float64(len(cfg.Sources)), stackRate.Rate, stackRate.Why))
	}
	for _, w := range warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	if *capacity {
		caps = all
	}
	if *output == "json" {
		_ = writeJSON(stdout, struct {
			Cost     ops.Estimate       `json:"cost"`
			Floors   []ops.RateEstimate `json:"floors"`
			Capacity []ops.Capacity     `json:"capacity,omitempty"`
			Warnings []string           `json:"warnings,omitempty"`
		}{est, floors, caps, warnings})
		return 0
	}
	fmt.Fprintf(stdout, "stack %s (ingress %s): %.4g webhooks/s of %.4g KB per source, %d groups, %.4g ms per record\n\n",
		*stack, cfg.Ingress, t.RPS, t.BodyKB, t.Groups, t.RecordMS)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "SOURCE\tBATCH\tAPI GW\tSQS\tLAMBDA REQ\tLAMBDA GB-S\tPOLLERS\tLOGS\tLOG B/WEBHOOK\tTRACING\tDYNAMODB\tARCHIVE\tAUTHORIZER\tTOTAL/MONTH\tPER MILLION\t")
	for _, c := range est.Sources {
		fmt.Fprintf(tw, "%s\t%.0f\t$%.2f\t$%.2f\t$%.2f\t$%.2f\t$%.2f\t$%.2f\t%.0f\t$%.2f\t$%.2f\t$%.2f\t$%.2f\t$%.2f\t$%.2f\t\n",
			c.Source, c.BatchSize, c.APIGateway, c.SQS, c.LambdaRequests, c.LambdaCompute, c.Pollers, c.Logs, c.LogBytes.Consumer+c.LogBytes.Access, c.Tracing, c.DynamoDB, c.Archive, c.Authorizer, c.Total, c.PerMillion)
	}
	_ = tw.Flush()
	fmt.Fprintf(stdout, "\ntotal: $%.2f/month; the largest part is %s.\n(%s)\n", est.Total, est.Dominant, est.Note)
	writeArchive(stdout, cfg.Archive.RetentionDays, est.Sources)
	writeFloors(stdout, floors)
	if *capacity {
		all := ops.StackAPIRate(cfg)
		fmt.Fprintf(stdout, "\nall routes together: up to %.1f/s at API Gateway (%s)\n", all.Rate, all.Why)
		fmt.Fprintln(stdout, "\ncapacity (messages/s each source sustains):")
		for _, c := range caps {
			fmt.Fprintf(stdout, "  %-12s %10.1f/s  bound by %s\n", c.Source, c.Rate, c.Binds)
			for _, l := range c.Limits {
				fmt.Fprintf(stdout, "      %-22s %10.1f/s  %s\n", l.Name, l.Rate, l.Why)
			}
			if c.Problem != "" {
				fmt.Fprintf(stdout, "      problem: %s\n", c.Problem)
			}
		}
	}
	return 0
}

// writeFloors prints, per source and rate, the floor (what the path's
// unavoidable requests cost), the estimate beside it and their ratio; the
// separate lines (idempotency, archive) are outside the ratio.
func writeFloors(w io.Writer, floors []ops.RateEstimate) {
	if len(floors) == 0 {
		return
	}
	fmt.Fprintf(w, "\nfloor: what the path's unavoidable requests cost (API request, SQS send/receive/delete, invocations, compute, pollers' empty receives $%.2f/month a source)\n\n", ops.PollerCost(ops.DefaultPrices))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "SOURCE\tRATE/S\tBATCH\tFLOOR/MONTH\tFLOOR/MILLION\tESTIMATE/MONTH\tESTIMATE/MILLION\tRATIO\tABOVE FLOOR\tIDEMPOTENCY\tARCHIVE\t")
	for i := range floors[0].Sources { // source by source, each at every rate
		for _, r := range floors {
			c := r.Sources[i]
			fmt.Fprintf(tw, "%s\t%g\t%.0f\t$%.2f\t$%.2f\t$%.2f\t$%.2f\t%.3f\t%s\t$%.2f\t$%.2f\t\n",
				c.Source, r.RPS, c.BatchSize, c.Floor.Total, c.Floor.PerMillion, c.Estimate, c.Estimate/(r.RPS*ops.SecondsPerMonth/1e6), c.Ratio, c.AboveFloor, c.DynamoDB, c.Archive)
		}
	}
	_ = tw.Flush()
}

// writeArchive prints each source's archive line in its parts: Firehose
// ingestion (each record rounded up to 5 KB), the GZIP objects' storage for
// the retention, their PUTs and KMS requests. Nothing when the stack does
// not archive.
func writeArchive(w io.Writer, retentionDays int, sources []ops.Costs) {
	if len(sources) == 0 || sources[0].ArchiveDetail == nil {
		return
	}
	fmt.Fprintf(w, "\narchive: every delivery through Firehose (records rounded up to 5 KB; outcomes only for batches not all ok, not priced), GZIP objects (%.2f of the lines assumed) kept %d days, their PUTs and KMS requests\n\n",
		ops.ArchiveGzipRatio, retentionDays)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "SOURCE\tRECORDS\tFIREHOSE GB\tFIREHOSE\tSTORED GB\tSTORAGE\tOBJECTS\tS3 PUTS\tKMS\tTOTAL/MONTH\tPER MILLION\t")
	for _, c := range sources {
		a := c.ArchiveDetail
		if a == nil {
			continue
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.2f\t$%.2f\t%.2f\t$%.2f\t%.0f\t$%.2f\t$%.2f\t$%.2f\t$%.2f\t\n",
			c.Source, a.Records, a.IngestedGB, a.Firehose, a.StoredGB, a.Storage, a.Objects, a.Puts, a.KMS, a.Total, a.PerMillion)
	}
	_ = tw.Flush()
}
