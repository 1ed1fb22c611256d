package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/handler/build"
	"github.com/hookline/hookline/internal/local/awsfake"
	"github.com/hookline/hookline/internal/local/lambdaemu"
)

// invokeCmd runs the source's real handler under the Lambda Runtime
// Interface Emulator with one signed webhook wrapped the way the ingest
// contract would wrap it. SSM and the DLQ are served locally (awsfake);
// forward processors and long-window dedup need AWS and are replaced by the
// log processor and switched off, which it says.
func invokeCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("invoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stack := fs.String("stack", "dev", "stack whose config describes the source")
	source := fs.String("source", "", "source name (required)")
	bodyPath := fs.String("body", "", "file with the request body, or - for stdin (required)")
	secret := fs.String("secret", "", "signing secret (default: a fresh one for this run)")
	dir := fs.String("dir", "", "project directory (default: the nearest directory with Pulumi.yaml)")
	var headers headerFlags
	fs.Var(&headers, "header", "extra request header Name=Value (repeatable), e.g. the groupBy header")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "hookline invoke: "+format+"\n", a...)
		return 2
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
		fmt.Fprintf(stdout, "note: source %s forwards to %s; locally the log processor stands in\n", src.Name, hc.ForwardURL)
		hc.Processor, hc.ForwardURL, hc.ForwardSecret = contract.ProcessorLog, "", ""
	}
	if hc.IdempotencyTable != "" {
		fmt.Fprintln(stdout, "note: long-window dedup needs DynamoDB; it is off for this local run")
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
	if cfg.HTTP() {
		var refused string
		if records, refused = httpRecords(src.Spec(), req, stdout); refused != "" {
			// What the REST template would fall back from or escape, an
			// HTTP API refuses.
			fmt.Fprintf(stderr, "hookline invoke: the HTTP API would not queue this request: %s\n", refused)
			return 1
		}
	}
	record := records[0]
	payload, err := json.Marshal(events.SQSEvent{Records: records})
	if err != nil {
		return fail("%v", err)
	}

	fmt.Fprintf(stdout, "building the handler for this machine …\n")
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
	env := append(aws.Env(), contract.EnvDLQURL+"="+dlq, "AWS_REGION="+cfg.Region)
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

	emu.WaitForLog(`"msg":"record"`, len(records), 5*time.Second) // output arrives asynchronously
	fmt.Fprintf(stdout, "source:   %s (%s, group %s)\n", src.Name, scheme, record.Attributes["MessageGroupId"])
	allOK := true
	n := 0
	for _, line := range jsonLines(emu.Logs()) {
		if line["msg"] != "record" {
			continue
		}
		n++
		outcome, _ := line["outcome"].(string)
		reason, _ := line["reason"].(string)
		allOK = allOK && outcome == "ok"
		label := "outcome: "
		if len(records) > 1 {
			label = fmt.Sprintf("outcome %d:", n)
		}
		fmt.Fprintf(stdout, "%s %s", label, outcome)
		if reason != "" {
			fmt.Fprintf(stdout, " (%s)", reason)
		}
		fmt.Fprintln(stdout)
	}
	if n == 0 {
		allOK = false
		fmt.Fprintln(stdout, "outcome:  unknown (the handler wrote no outcome line)")
	}
	fmt.Fprintf(stdout, "response: %s\n", strings.TrimSpace(string(out)))
	for _, s := range aws.Sent() {
		fmt.Fprintf(stdout, "moved to the DLQ: %s\n", s.Attributes[contract.AttrFailureReason])
	}
	if d, ok := emu.InitDuration(); ok {
		fmt.Fprintf(stdout, "init:     %.1f ms\n", float64(d.Microseconds())/1000)
	}
	if !allOK || len(resp.BatchItemFailures) > 0 {
		return 1
	}
	return 0
}

// httpRecords is what an HTTP API would queue for req (refused: why it
// would not). API Gateway places header and body values in the message
// attributes' JSON unescaped, so a value can add attributes, or a key twice;
// AWS does not document which duplicate SQS keeps, so then both readings
// are returned, and the handler runs on each.
func httpRecords(spec contract.Spec, req contract.Request, stdout io.Writer) (records []events.SQSMessage, refused string) {
	id := "local-" + randHex(8)
	first, refused := spec.SimulateHTTP(req, id, contract.FirstKeyWins)
	if refused != "" {
		return nil, refused
	}
	last, _ := spec.SimulateHTTP(req, id+"-last", contract.LastKeyWins)
	var extra []string
	for name := range first.MessageAttributes {
		if !slices.Contains(spec.Attributes(), name) {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		slices.Sort(extra)
		fmt.Fprintf(stdout, "note: a value in this request adds message attributes the edge does not write: %s\n", strings.Join(extra, ", "))
	}
	records = []events.SQSMessage{first}
	for name, a := range first.MessageAttributes {
		if b := last.MessageAttributes[name]; a.StringValue == nil || b.StringValue == nil || *a.StringValue != *b.StringValue {
			fmt.Fprintf(stdout, "note: a value in this request writes attribute %s twice; AWS does not document which SQS keeps: the handler runs on both (1: the first, 2: the last)\n", name)
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
		return io.ReadAll(os.Stdin)
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
