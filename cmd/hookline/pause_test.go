package main

import (
	"strings"
	"testing"

	"github.com/hookline/hookline/internal/local/awsfake"
)

// TestPauseResumeCommands: hookline pause disables the source's event
// source mapping (found from the stack's outputs: its function and queue),
// resume enables it, a repeat says it already is so, and an unknown source
// lists the stack's sources.
func TestPauseResumeCommands(t *testing.T) {
	fake := awsfake.New(nil)
	defer fake.Close()
	fake.AddMapping(awsfake.Mapping{UUID: "m-open", FunctionName: "hookline-dev-open", EventSourceArn: "arn:queue-open", State: "Enabled"})
	for _, kv := range fake.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("AWS_REGION", "eu-west-1")
	dir := schemesProject(t)
	withOutputs(t, dir, map[string]any{"environment": "dev", "region": "eu-west-1", "ingress": "rest", "endpoint": "https://x",
		"apiId": "abc", "invokeUrl": "https://x", "stage": "dev", "alarmTopicArn": "arn:topic", "dashboardName": "hookline-dev",
		"sources": map[string]any{"open": map[string]any{"url": "https://x/open", "queueUrl": "https://q", "queueArn": "arn:queue-open",
			"dlqUrl": "https://d", "dlqArn": "arn:dlq", "functionName": "hookline-dev-open", "auth": "apiKey"}}})

	code, out, errOut := runCLI("pause", "--stack", "dev", "--source", "open", "--dir", dir)
	if code != 0 || !strings.Contains(out, "is pausing") || fake.Mappings()[0].State != "Disabled" {
		t.Fatalf("pause: exit %d %s%s %+v", code, out, errOut, fake.Mappings())
	}
	if code, out, _ := runCLI("pause", "--stack", "dev", "--source", "open", "--dir", dir); code != 0 || !strings.Contains(out, "already paused") {
		t.Errorf("pause again: exit %d %s", code, out)
	}
	code, out, _ = runCLI("resume", "--stack", "dev", "--source", "open", "--dir", dir, "--output", "json")
	if code != 0 || !strings.Contains(out, `"state":"Enabling"`) || fake.Mappings()[0].State != "Enabled" {
		t.Errorf("resume: exit %d %s", code, out)
	}
	if code, _, errOut := runCLI("pause", "--stack", "dev", "--source", "nope", "--dir", dir); code != 2 || !strings.Contains(errOut, "open") {
		t.Errorf("unknown source: exit %d %s", code, errOut)
	}
}
