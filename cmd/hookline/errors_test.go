package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestErrorsSayWhatToDo: each wrong input is answered with what there is
// or what to add.
func TestErrorsSayWhatToDo(t *testing.T) {
	body := filepath.Join(t.TempDir(), "body.json")
	_ = os.WriteFile(body, []byte(`{"id":"evt_1"}`), 0o644)
	t.Setenv("HOOKLINE_PORTAL_DATA", t.TempDir()) // no portal state
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown stack (cost)", []string{"cost", "--stack", "prdo"}, "no stack prdo: no "},
		{"unknown stack lists the stacks", []string{"cost", "--stack", "prdo"}, "stacks with a Pulumi.<stack>.yaml: dev, prod"},
		{"unknown stack (plan)", []string{"plan", "--stack", "prdo"}, "stacks with a Pulumi.<stack>.yaml: dev, prod"},
		{"unknown source lists the sources", []string{"invoke", "--stack", "dev", "--source", "paymnts", "--body", body}, `stack dev has no source "paymnts" (it has payments, github)`},
		{"malformed secret", []string{"send", "--stack", "prod", "--source", "partners", "--body", body, "--secret", "not base64!", "--url", "https://example.invalid/partners", "--bearer", "t"},
			"the signing secret is malformed for scheme standard-webhooks: a Standard Webhooks secret is whsec_ followed by base64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runCLI(append(tc.args, "--dir", "../..")...)
			if code != 2 || !strings.Contains(errOut, tc.want) || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
				t.Errorf("exit %d, stderr %q; want 2 and one line with %q", code, errOut, tc.want)
			}
		})
	}
}

// TestInvokeNamesTheMissingGroupHeader: without the groupBy header, invoke
// gives the --header to add (an HTTP API refuses the request; a REST API
// queues it in the fallback group).
func TestInvokeNamesTheMissingGroupHeader(t *testing.T) {
	if _, err := os.Stat("../../bin/aws-lambda-rie"); err != nil {
		t.Skip("bin/aws-lambda-rie missing: run make tools (make test does)")
	}
	body := filepath.Join(t.TempDir(), "body.json")
	_ = os.WriteFile(body, []byte(`{"id":"evt_1"}`), 0o644)
	code, _, errOut := runCLI("invoke", "--stack", "dev", "--source", "github", "--body", body, "--dir", "../..")
	if code != 1 || !strings.Contains(errOut, "add --header X-GitHub-Hook-ID=<value>") {
		t.Errorf("http: exit %d %s", code, errOut)
	}
	code, out, errOut := runCLI("invoke", "--stack", "prod", "--source", "vendors", "--body", body, "--dir", "../..")
	if code != 0 || !strings.Contains(out, "header X-Vendor-Account (the source's groupBy) is missing") || !strings.Contains(out, "add --header X-Vendor-Account=<value>") {
		t.Errorf("rest: exit %d\n%s%s", code, out, errOut)
	}
}

// noAWSEnvironment leaves the SDK no credentials and no region.
func noAWSEnvironment(t *testing.T) {
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// TestAWSErrors: no credentials is one sentence saying what to set, not the
// credential chain's paragraph; with no region in the environment the
// stack's aws:region is used.
func TestAWSErrors(t *testing.T) {
	srv, dlq, queue := redriveFake(t)
	noAWSEnvironment(t)
	args := []string{"redrive", "--source", "payments", "--queue-url", queue, "--queue-arn", "arn:queue", "--dlq-url", dlq, "--dlq-arn", "arn:dlq",
		"--dry-run", "--dir", "../.."}
	code, _, errOut := runCLI(args...)
	if code != 2 || errOut != "hookline redrive: "+errNoCredentials.Error()+"\n" {
		t.Errorf("no credentials: exit %d %q", code, errOut)
	}
	for _, kv := range srv.Env() { // credentials, and still no region
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	code, out, errOut := runCLI(args...)
	if code != 0 || !strings.Contains(out, "holds about 3 message(s)") {
		t.Errorf("region from the stack: exit %d\n%s%s", code, out, errOut)
	}
}
