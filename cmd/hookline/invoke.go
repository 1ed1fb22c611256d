package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/spf13/cobra"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/handler/build"
	"github.com/hookline/hookline/internal/local/awsfake"
	"github.com/hookline/hookline/internal/local/lambdaemu"
)

// invokeOptions are hookline invoke's flags.
type invokeOptions struct {
	stack, source, bodyPath, secret, dir, output string
	headers                                      headerFlags
}

func newInvokeCmd() *cobra.Command {
	o := &invokeOptions{}
	cmd := &cobra.Command{
		Use:   "invoke",
		Short: "Run a source's handler under the Lambda emulator with one signed webhook",
		Long: `invoke runs the source's real handler under the Lambda Runtime Interface
Emulator with one signed webhook, wrapped the way the stack's ingress would queue
it (on an HTTP API stack, what the HTTP API would refuse is refused first). SSM
and the DLQ are served locally; forward processors and long-window dedup need AWS
and are replaced by the log processor and switched off, which it says. No AWS
account is needed.

` + stackHelp + ` invoke reads the config only.

Exit codes: 0 the handler accepted the webhook; 1 it did not (or the ingress
would not queue it); 2 any other error.`,
		Example: `  hookline invoke --stack dev --source payments --body examples/stripe-event.json
  hookline invoke --stack prod --source partners --body examples/partner-event.json --header X-Partner-Account=acme
  hookline invoke --stack dev --source github --body examples/partner-event.json --header X-GitHub-Hook-ID=1 --output json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return codeOf(invokeRun(o, cmd.OutOrStdout(), cmd.ErrOrStderr()))
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.stack, "stack", "dev", "stack whose config describes the source")
	fs.StringVar(&o.source, "source", "", "source name (required)")
	fs.StringVar(&o.bodyPath, "body", "", "file with the request body, or - for stdin (required)")
	fs.StringVar(&o.secret, "secret", "", "signing secret (default: a fresh one for this run)")
	fs.Var(&o.headers, "header", "extra request header Name=Value (repeatable), e.g. the groupBy header")
	outputFlag(fs, &o.output, "json: source, group, outcomes, response, movedToDlq, initMs")
	dirFlag(fs, &o.dir)
	return cmd
}

// invokeOutcome is one record's verdict in invoke's JSON.
type invokeOutcome struct {
	Outcome string `json:"outcome"`
	Reason  string `json:"reason,omitempty"`
}

// invokeReport is invoke's JSON.
type invokeReport struct {
	Source     string          `json:"source"`
	Scheme     string          `json:"scheme"`
	Group      string          `json:"group"`
	Refused    string          `json:"refused,omitempty"`
	Outcomes   []invokeOutcome `json:"outcomes"`
	Response   json.RawMessage `json:"response,omitempty"`
	MovedToDLQ []string        `json:"movedToDlq"`
	InitMS     *float64        `json:"initMs,omitempty"`
	Notes      []string        `json:"notes,omitempty"`
}

// invokeRun runs the source's real handler under the Lambda Runtime
// Interface Emulator with one signed webhook wrapped the way the ingest
// contract would wrap it. SSM and the DLQ are served locally (awsfake);
// forward processors and long-window dedup need AWS and are replaced by the
// log processor and switched off, which it says.
func invokeRun(o *invokeOptions, stdout, stderr io.Writer) int {
	stack, source, bodyPath, secret, dir, headers := &o.stack, &o.source, &o.bodyPath, &o.secret, &o.dir, o.headers
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "hookline invoke: "+format+"\n", a...)
		return 2
	}
	if o.output != "table" && o.output != "json" {
		return fail("--output must be table or json, got %q", o.output)
	}
	asJSON := o.output == "json"
	rep := invokeReport{Source: *source, Outcomes: []invokeOutcome{}, MovedToDLQ: []string{}}
	// Notes go to stdout, or into the JSON and onto stderr.
	note := func(format string, a ...any) {
		s := fmt.Sprintf(format, a...)
		if asJSON {
			rep.Notes = append(rep.Notes, s)
			fmt.Fprintln(stderr, "note: "+s)
			return
		}
		fmt.Fprintln(stdout, "note: "+s)
	}
	info := stdout
	if asJSON {
		info = stderr
	}
	if *source == "" || *bodyPath == "" {
		return fail("--source and --body are required")
	}
	projectDir, cfg, src, err := stackSource(*dir, *stack, *source)
	if err != nil {
		return fail("%v", err)
	}
	body, err := readBody(*bodyPath)
	if err != nil {
		return fail("%v", err)
	}
	rie, err := lambdaemu.FindRIE(projectDir)
	if err != nil {
		return fail("%v", err)
	}

	hc := cfg.HandlerConfig(*src)
	if hc.Processor == contract.ProcessorForward {
		note("source %s forwards to %s; locally the log processor stands in", src.Name, hc.ForwardURL)
		hc.Processor, hc.ForwardURL, hc.ForwardSecret = contract.ProcessorLog, "", ""
	}
	if hc.IdempotencyTable != "" {
		note("long-window dedup needs DynamoDB; it is off for this local run")
		hc.IdempotencyTable = ""
	}
	scheme := src.Signature.Scheme
	if *secret == "" {
		if *secret, err = freshSecret(src.Signature); err != nil {
			return fail("%v", err)
		}
	}

	now := time.Now()
	req, err := webhookRequest(src, headers, *secret, body, now, func() string { return "evt_local_" + randHex(8) })
	if err != nil {
		return fail("%v", err)
	}
	req.RequestID, req.SourceIP, req.ReceivedAt = "local-"+randHex(8), "127.0.0.1", now
	records := []events.SQSMessage{src.Spec().Simulate(req, "local-"+randHex(8))}
	missing := "" // the groupBy header, when the request lacks it
	if g := src.GroupBy; g.Kind == contract.KindHeader && req.Select(g) == "" {
		missing = g.Name
	}
	if cfg.HTTP() {
		var refused string
		if records, refused = httpRecords(src.Spec(), req, note); refused != "" {
			// What the REST template would fall back from or escape, an
			// HTTP API refuses.
			if missing != "" {
				refused += "; add --header " + missing + "=<value> (the source's groupBy)"
			}
			fmt.Fprintf(stderr, "hookline invoke: the HTTP API would not queue this request: %s\n", refused)
			if asJSON {
				rep.Scheme, rep.Refused = string(src.Signature.Scheme), refused
				_ = writeJSON(stdout, rep)
			}
			return 1
		}
	}
	record := records[0]
	if missing != "" && !cfg.HTTP() {
		note("header %s (the source's groupBy) is missing: the REST API queues this webhook in group %s; add --header %s=<value> to group it as its sender would",
			missing, record.Attributes["MessageGroupId"], missing)
	}
	payload, err := json.Marshal(events.SQSEvent{Records: records})
	if err != nil {
		return fail("%v", err)
	}

	fmt.Fprintf(info, "building the handler for this machine …\n")
	bootstrap, err := build.Bootstrap(context.Background(), projectDir, build.Emulator)
	if err != nil {
		return fail("%v", err)
	}
	params := map[string]string{}
	if hc.SecretParameter != "" {
		params[hc.SecretParameter] = *secret
	}
	aws := awsfake.New(params)
	defer aws.Close()
	dlq := "https://sqs." + cfg.Region + ".amazonaws.com/" + "000000000000/" + cfg.DLQName(*src)
	// At DEBUG every record writes its outcome line, ok ones too: that is
	// what invoke reports.
	env := append(aws.Env(), contract.EnvDLQURL+"="+dlq, "AWS_REGION="+cfg.Region, "AWS_LAMBDA_LOG_LEVEL=DEBUG")
	for k, v := range hc.Env() {
		env = append(env, k+"="+v)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	emu, err := lambdaemu.Start(ctx, rie, bootstrap, env)
	if err != nil {
		return fail("%v", err)
	}
	defer emu.Stop()
	out, err := emu.Invoke(ctx, payload)
	if err != nil {
		return fail("%v", err)
	}
	var resp events.SQSEventResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		return fail("unexpected response %s", out)
	}

	emu.WaitForLog(`"outcome":`, len(records), 5*time.Second) // output arrives asynchronously
	rep.Scheme, rep.Group = string(scheme), record.Attributes["MessageGroupId"]
	allOK := true
	for _, line := range jsonLines(emu.Logs()) {
		if _, ok := line["outcome"]; !ok {
			continue
		}
		outcome, _ := line["outcome"].(string)
		reason, _ := line["reason"].(string)
		allOK = allOK && outcome == "ok"
		rep.Outcomes = append(rep.Outcomes, invokeOutcome{Outcome: outcome, Reason: reason})
	}
	if len(rep.Outcomes) == 0 {
		allOK = false
	}
	if json.Valid(out) {
		rep.Response = json.RawMessage(out)
	}
	for _, s := range aws.Sent() {
		rep.MovedToDLQ = append(rep.MovedToDLQ, s.Attributes[contract.AttrFailureReason])
	}
	if d, ok := emu.InitDuration(); ok {
		ms := float64(d.Microseconds()) / 1000
		rep.InitMS = &ms
	}
	code := 0
	if !allOK || len(resp.BatchItemFailures) > 0 {
		code = 1
	}
	if asJSON {
		if err := writeJSON(stdout, rep); err != nil {
			return fail("write output: %v", err)
		}
		return code
	}
	fmt.Fprintf(stdout, "source:   %s (%s, group %s)\n", src.Name, scheme, rep.Group)
	for i, oc := range rep.Outcomes {
		label := "outcome: "
		if len(records) > 1 {
			label = fmt.Sprintf("outcome %d:", i+1)
		}
		fmt.Fprintf(stdout, "%s %s", label, oc.Outcome)
		if oc.Reason != "" {
			fmt.Fprintf(stdout, " (%s)", oc.Reason)
		}
		fmt.Fprintln(stdout)
	}
	if len(rep.Outcomes) == 0 {
		fmt.Fprintln(stdout, "outcome:  unknown (the handler wrote no outcome line)")
	}
	fmt.Fprintf(stdout, "response: %s\n", strings.TrimSpace(string(out)))
	for _, r := range rep.MovedToDLQ {
		fmt.Fprintf(stdout, "moved to the DLQ: %s\n", r)
	}
	if rep.InitMS != nil {
		fmt.Fprintf(stdout, "init:     %.1f ms\n", *rep.InitMS)
	}
	return code
}

// httpRecords is what an HTTP API would queue for req (refused: why it
// would not). API Gateway places header and body values in the message
// attributes' JSON unescaped, so a value can add attributes, or a key twice;
// AWS does not document which duplicate SQS keeps, so then both readings
// are returned, and the handler runs on each.
func httpRecords(spec contract.Spec, req contract.Request, note func(string, ...any)) (records []events.SQSMessage, refused string) {
	id := "local-" + randHex(8)
	first, refused := spec.SimulateHTTP(req, id, contract.FirstKeyWins)
	if refused != "" {
		return nil, refused
	}
	last, _ := spec.SimulateHTTP(req, id+"-last", contract.LastKeyWins)
	var extra []string
	edge := spec.Attributes()
	for name := range first.MessageAttributes {
		if !slices.Contains(edge, name) {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		slices.Sort(extra)
		note("a value in this request adds message attributes the edge does not write: %s", strings.Join(extra, ", "))
	}
	records = []events.SQSMessage{first}
	for name, a := range first.MessageAttributes {
		if b := last.MessageAttributes[name]; a.StringValue == nil || b.StringValue == nil || *a.StringValue != *b.StringValue {
			note("a value in this request writes attribute %s twice; AWS does not document which SQS keeps: the handler runs on both (1: the first, 2: the last)", name)
			records = append(records, last)
			break
		}
	}
	return records, ""
}

func projectDirOrFind(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	return findProject()
}

func readBody(path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(stdin)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if len(b) == 0 {
		return nil, errors.New("the body is empty (SQS refuses empty messages)")
	}
	return b, nil
}

func jsonLines(s string) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}
