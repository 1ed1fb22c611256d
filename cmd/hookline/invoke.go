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
	if cfg.HTTP() {
		// What the REST template would fall back from, an HTTP API refuses.
		if why := src.Spec().HTTPRefusal(req); why != "" {
			fmt.Fprintf(stderr, "hookline invoke: the HTTP API would not queue this request: %s\n", why)
			return 1
		}
	}
	record := src.Spec().Simulate(req, "local-"+randHex(8))
	payload, err := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{record}})
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

	emu.WaitForLog(`"msg":"record"`, 1, 5*time.Second) // output arrives asynchronously
	outcome, reason := "unknown", "the handler wrote no outcome line"
	for _, line := range jsonLines(emu.Logs()) {
		if line["msg"] == "record" {
			outcome, _ = line["outcome"].(string)
			reason, _ = line["reason"].(string)
		}
	}
	fmt.Fprintf(stdout, "source:   %s (%s, group %s)\n", src.Name, scheme, record.Attributes["MessageGroupId"])
	fmt.Fprintf(stdout, "outcome:  %s", outcome)
	if reason != "" {
		fmt.Fprintf(stdout, " (%s)", reason)
	}
	fmt.Fprintln(stdout)
	fmt.Fprintf(stdout, "response: %s\n", strings.TrimSpace(string(out)))
	for _, s := range aws.Sent() {
		fmt.Fprintf(stdout, "moved to the DLQ: %s\n", s.Attributes[contract.AttrFailureReason])
	}
	if d, ok := emu.InitDuration(); ok {
		fmt.Fprintf(stdout, "init:     %.1f ms\n", float64(d.Microseconds())/1000)
	}
	if outcome != "ok" || len(resp.BatchItemFailures) > 0 {
		return 1
	}
	return 0
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
