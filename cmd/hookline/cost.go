package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/ops"
)

// costCmd estimates a stack's monthly cost, and with --capacity what each
// source sustains and which limit binds first.
func costCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cost", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stack := fs.String("stack", "dev", "stack whose config describes the sources")
	rps := fs.Float64("rps", -1, "webhooks per second, per source (default: the stack's traffic.rps)")
	bodyKB := fs.Float64("body-kb", -1, "average body size in KB (default: traffic.bodyKb)")
	groups := fs.Int("groups", -1, "active message groups per source (default: traffic.groups)")
	recordMS := fs.Float64("record-ms", -1, "processing time per record in ms (default: traffic.recordMs)")
	capacity := fs.Bool("capacity", false, "also print the sustainable rate per source and the limit that binds")
	output := fs.String("output", "table", "table or json")
	ingress := fs.String("ingress", "", "price the sources behind this ingress, rest or http (default: the stack's hookline:ingress)")
	dir := fs.String("dir", "", "project directory (default: the nearest directory with Pulumi.yaml)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "hookline cost: "+format+"\n", a...)
		return 2
	}
	if *output != "table" && *output != "json" {
		return fail("--output must be table or json")
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
					fmt.Fprintf(stderr, "note: source %s: an HTTP API cannot honour its %s: priced as if changed (see \"Choosing an ingress\" in the README)\n", s.Name, strings.Join(keys, ", "))
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
	}{{"--rps", *rps, &t.RPS}, {"--body-kb", *bodyKB, &t.BodyKB}, {"--record-ms", *recordMS, &t.RecordMS}} {
		if f.v >= 0 {
			if math.IsInf(f.v, 0) || math.IsNaN(f.v) {
				return fail("%s must be a number", f.name)
			}
			*f.dst = f.v
		}
	}
	if *groups >= 0 {
		t.Groups = *groups
	}
	if t.BodyKB*1024 > contract.MaxMessageBytes {
		return fail("--body-kb %.0f is over the %d KiB limit of an SQS message (body and attributes)", t.BodyKB, contract.MaxMessageBytes/1024)
	}
	est := ops.StackCost(cfg, t, ops.DefaultPrices)
	var caps []ops.Capacity
	if *capacity {
		for _, s := range cfg.Sources {
			caps = append(caps, ops.SourceCapacity(cfg, s, t.Groups, t.RecordMS))
		}
	}
	if *output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(struct {
			Cost     ops.Estimate   `json:"cost"`
			Capacity []ops.Capacity `json:"capacity,omitempty"`
		}{est, caps})
		return 0
	}
	fmt.Fprintf(stdout, "stack %s (ingress %s): %.4g webhooks/s of %.4g KB per source, %d groups, %.4g ms per record\n\n",
		*stack, cfg.Ingress, t.RPS, t.BodyKB, t.Groups, t.RecordMS)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "SOURCE\tBATCH\tAPI GW\tSQS\tLAMBDA REQ\tLAMBDA GB-S\tLOGS\tDYNAMODB\tAUTHORIZER\tTOTAL/MONTH\tPER MILLION\t")
	for _, c := range est.Sources {
		fmt.Fprintf(tw, "%s\t%.0f\t$%.2f\t$%.2f\t$%.2f\t$%.2f\t$%.2f\t$%.2f\t$%.2f\t$%.2f\t$%.2f\t\n",
			c.Source, c.BatchSize, c.APIGateway, c.SQS, c.LambdaRequests, c.LambdaCompute, c.Logs, c.DynamoDB, c.Authorizer, c.Total, c.PerMillion)
	}
	_ = tw.Flush()
	fmt.Fprintf(stdout, "\ntotal: $%.2f/month; the largest part is %s.\n(%s)\n", est.Total, est.Dominant, est.Note)
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
