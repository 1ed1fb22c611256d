package main

import (
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/internal/local/awsfake"
)

// withOutputs gives the project a bin/pulumi that prints outputs as
// `pulumi stack output --json --show-secrets` does.
func withOutputs(t *testing.T, dir string, outputs map[string]any) {
	t.Helper()
	raw, err := json.Marshal(outputs)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "outputs.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\n[ \"$*\" = \"stack output --json --show-secrets --stack dev\" ] || { echo \"unexpected: $*\" >&2; exit 1; }\ncat \"$(dirname \"$0\")/../outputs.json\"\n"
	if err := os.WriteFile(filepath.Join(dir, "bin", "pulumi"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestCommandsReadTypedOutputs: send and redrive read a deployed stack's
// outputs as stackoutputs.Stack: a source's URL, API key and queues; an
// unknown source lists the sources the stack has; an output the struct does
// not know is named.
func TestCommandsReadTypedOutputs(t *testing.T) {
	var gotKey, gotPath string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		gotKey, gotPath = r.Header.Get("x-api-key"), r.URL.Path
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"status":"accepted","messageId":"m-1","requestId":"r-1"}`)
	}))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	_ = os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)
	body := filepath.Join(t.TempDir(), "body.json")
	_ = os.WriteFile(body, []byte(webhookBody), 0o644)

	fake := awsfake.New(nil)
	defer fake.Close()
	const queue, dlq = "https://sqs.eu-west-1.amazonaws.com/123456789012/hookline-dev-open.fifo", "https://sqs.eu-west-1.amazonaws.com/123456789012/hookline-dev-open-dlq.fifo"
	fake.AddQueue(queue, "arn:queue")
	fake.AddQueue(dlq, "arn:dlq", awsfake.Message{Body: "{}", GroupID: "g", DeduplicationID: "d",
		Attributes: map[string]string{contract.AttrEventID: "evt_9", contract.AttrFailureReason: "processor"}})
	for _, kv := range fake.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("AWS_REGION", "eu-west-1")

	source := func(name string) map[string]any {
		return map[string]any{"url": srv.URL + "/" + name, "queueUrl": queue, "queueArn": "arn:queue", "dlqUrl": dlq, "dlqArn": "arn:dlq",
			"functionName": "hookline-dev-" + name, "auth": "apiKey"}
	}
	outputs := map[string]any{"environment": "dev", "region": "eu-west-1", "ingress": "rest", "endpoint": srv.URL,
		"apiId": "abc", "restApiId": "abc", "invokeUrl": srv.URL, "stage": "dev", "apiKeys": map[string]any{"open": "key-from-outputs"},
		"alarmTopicArn": "arn:topic", "dashboardName": "hookline-dev",
		"sources": map[string]any{"open": source("open"), "slack": source("slack")}}
	dir := schemesProject(t)
	withOutputs(t, dir, outputs)

	cases := []struct {
		name    string
		args    []string
		code    int
		stdout  string
		stderr  string
		outputs map[string]any // the stack's outputs for this case only
	}{
		{name: "send reads the url and the api key", args: []string{"send", "--source", "open", "--body", body, "--ca-file", ca},
			stdout: "message id: m-1"},
		{name: "send reads the url of a signed source", args: []string{"send", "--source", "slack", "--body", body, "--secret", "s", "--ca-file", ca},
			stdout: "202 Accepted"},
		{name: "send to a source the stack lacks", args: []string{"send", "--source", "github", "--body", body, "--secret", "s"},
			code: 2, stderr: `the deployed stack has no source "github" (it has open, slack) (or pass --url)`},
		{name: "redrive reads the queues", args: []string{"redrive", "--source", "open", "--peek"},
			stdout: "1 message(s) would move"},
		{name: "redrive of a source the stack lacks", args: []string{"redrive", "--source", "stripe"},
			code: 2, stderr: `no source "stripe" (it has open, slack)`},
		{name: "a stack without the source's queue", args: []string{"redrive", "--source", "slack"},
			code: 2, stderr: "no output sources.slack.dlqUrl",
			outputs: map[string]any{"sources": map[string]any{"slack": map[string]any{"queueUrl": queue, "queueArn": "arn:queue"}}}},
		{name: "an output the CLI does not know", args: []string{"redrive", "--source", "open"},
			code: 2, stderr: `unknown field "sourcez"`, outputs: map[string]any{"sourcez": map[string]any{}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.outputs != nil {
				withOutputs(t, dir, tc.outputs)
				defer withOutputs(t, dir, outputs)
			}
			gotKey, gotPath = "", ""
			code, out, stderr := runCLI(append(tc.args, "--stack", "dev", "--dir", dir)...)
			if code != tc.code || !strings.Contains(out, tc.stdout) || !strings.Contains(stderr, tc.stderr) {
				t.Fatalf("exit %d, want %d\nstdout %s\nstderr %s", code, tc.code, out, stderr)
			}
		})
	}
	// A source deployed but missing from the local stack file is not
	// reported missing: the error says the file differs from the deployed
	// stack; redrive, which needs only the outputs, works.
	deployed := map[string]any{}
	for k, v := range outputs {
		deployed[k] = v
	}
	deployed["sources"] = map[string]any{"open": source("open"), "slack": source("slack"), "refunds": source("refunds")}
	withOutputs(t, dir, deployed)
	code, _, errOut := runCLI("send", "--source", "refunds", "--body", body, "--secret", "s", "--stack", "dev", "--dir", dir)
	if code != 2 || !strings.Contains(errOut, `source "refunds" is deployed in stack dev, but Pulumi.dev.yaml does not describe it`) {
		t.Errorf("deployed source missing from the file: exit %d %q", code, errOut)
	}
	if code, out, errOut := runCLI("redrive", "--source", "refunds", "--peek", "--stack", "dev", "--dir", dir); code != 0 || !strings.Contains(out, "would move") {
		t.Errorf("redrive of a deployed source missing from the file: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := runCLI("redrive", "--source", "refunds", "--dry-run", "--queue-url", queue, "--queue-arn", "arn:queue", "--dlq-url", dlq, "--dlq-arn", "arn:dlq",
		"--stack", "dev", "--dir", dir); code != 0 || !strings.Contains(out, "holds about") {
		t.Errorf("--source checked against the deployed stack: exit %d\n%s%s", code, out, errOut)
	}
	withOutputs(t, dir, outputs)

	// The first case posted to the source's URL with its API key.
	if code, _, errOut := runCLI("send", "--source", "open", "--body", body, "--ca-file", ca, "--stack", "dev", "--dir", dir); code != 0 ||
		gotKey != "key-from-outputs" || gotPath != "/open" {
		t.Errorf("exit %d, api key %q, path %q: %s", code, gotKey, gotPath, errOut)
	}
}
