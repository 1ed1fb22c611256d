package main

import (
	"encoding/json"
	"encoding/pem"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/internal/local/awsfake"
	"github.com/hookline/hookline/internal/testing/kmspeer"
)

// commands are every command hookline has, with a flag each one documents.
var commands = map[string]string{
	"plan": "--policy-config", "invoke": "--header", "cost": "--capacity", "send": "--api-key",
	"redrive": "--group", "portal": "--addr", "version": "--output",
}

// TestHelp: every command's --help and `hookline help <cmd>` print a
// description, the flags and examples on stdout, and exit 0.
func TestHelp(t *testing.T) {
	for name, flag := range commands {
		for _, args := range [][]string{{name, "--help"}, {name, "-h"}, {"help", name}} {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				code, out, errOut := runCLI(args...)
				if code != 0 || errOut != "" {
					t.Fatalf("exit %d, stderr %q", code, errOut)
				}
				for _, want := range []string{"Usage:\n  hookline " + name, "Examples:\n  hookline " + name, flag} {
					if !strings.Contains(out, want) {
						t.Errorf("help lacks %q:\n%s", want, out)
					}
				}
			})
		}
	}
	code, out, _ := runCLI("--help")
	if code != 0 || !strings.Contains(out, "Exit codes") || !strings.Contains(out, "completion") {
		t.Errorf("hookline --help: exit %d\n%s", code, out)
	}
}

// TestUsageErrors: wrong usage exits 2 with one line that names the
// command and where its help is; a mistyped command gets a suggestion.
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"plna"}, "unknown command \"plna\" for \"hookline\" (see hookline --help)\nDid you mean this?\n\tplan"},
		{[]string{"redirve"}, "Did you mean this?\n\tredrive"},
		{[]string{"cost", "--rsp", "3"}, "hookline cost: unknown flag: --rsp (see hookline cost --help)"},
		{[]string{"send", "extra"}, `hookline send: unexpected argument "extra"`},
		{[]string{"version", "--output", "xml"}, "--output must be table or json"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := runCLI(tc.args...)
			if code != 2 || out != "" || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2 and %q", code, out, errOut, tc.want)
			}
		})
	}
}

// TestVersion: hookline version prints the build's version and Go's.
func TestVersion(t *testing.T) {
	code, out, _ := runCLI("version")
	if code != 0 || !strings.HasPrefix(out, "hookline ") || !strings.Contains(out, runtime.Version()) {
		t.Errorf("version: exit %d %q", code, out)
	}
	code, out, _ = runCLI("version", "--output", "json")
	var v map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v["goVersion"] != runtime.Version() || v["version"] == "" {
		t.Errorf("version json: exit %d %s", code, out)
	}
	if code, out, _ := runCLI("--version"); code != 0 || !strings.HasPrefix(out, "hookline ") {
		t.Errorf("--version: exit %d %q", code, out)
	}
}

// TestCompletion: a completion script for each shell, on stdout.
func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{"bash": "__start_hookline", "zsh": "#compdef hookline", "fish": "complete -c hookline"} {
		code, out, errOut := runCLI("completion", shell)
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("%s: exit %d, %q lacks %q (%s)", shell, code, firstLine(out), want, errOut)
		}
	}
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\n"); return l }

// camelCase is a JSON key as every command's JSON spells them.
var camelCase = regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)

// checkKeys fails on any key of doc, at any depth, that is not camelCase
// (map keys that are names, like source names, are listed in skip).
func checkKeys(t *testing.T, doc any, path string, skip map[string]bool) {
	t.Helper()
	switch v := doc.(type) {
	case map[string]any:
		for k, e := range v {
			if !skip[path] && !camelCase.MatchString(k) {
				t.Errorf("%s: key %q is not camelCase", path, k)
			}
			checkKeys(t, e, path+"."+k, skip)
		}
	case []any:
		for _, e := range v {
			checkKeys(t, e, path+"[]", skip)
		}
	}
}

// TestCostJSON: cost's JSON has camelCase keys and money in whole cents.
func TestCostJSON(t *testing.T) {
	code, out, errOut := runCLI("cost", "--stack", "prod", "--capacity", "--output", "json", "--dir", "../..")
	if code != 0 {
		t.Fatalf("exit %d %s", code, errOut)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	checkKeys(t, doc, "", nil)
	cost := doc["cost"].(map[string]any)
	money := []float64{cost["total"].(float64)}
	for _, s := range cost["sources"].([]any) {
		for _, k := range []string{"apiGateway", "sqs", "lambdaRequests", "lambdaCompute", "logs", "pollers", "dynamodb", "archive", "authorizer", "total", "perMillion", "estimate"} {
			money = append(money, s.(map[string]any)[k].(float64))
		}
	}
	// The floor at each rate, with the same keys, beside the estimate.
	floors, _ := doc["floors"].([]any)
	if len(floors) != 3 {
		t.Fatalf("floors: %v", doc["floors"])
	}
	for i, f := range floors {
		r := f.(map[string]any)
		if r["rps"] != []float64{1, 10, 100}[i] {
			t.Errorf("floors[%d].rps = %v", i, r["rps"])
		}
		for _, s := range r["sources"].([]any) {
			c := s.(map[string]any)
			floor := c["floor"].(map[string]any)
			for _, k := range []string{"apiGateway", "sqs", "lambdaRequests", "lambdaCompute", "pollers", "total", "perMillion"} {
				money = append(money, floor[k].(float64))
			}
			money = append(money, c["estimate"].(float64), c["dynamodb"].(float64), c["archive"].(float64))
			if ratio, _ := c["ratio"].(float64); ratio < 1 || c["aboveFloor"] == "" || floor["pollers"] != 0.32 {
				t.Errorf("floors[%d] %v: ratio %v, aboveFloor %v, pollers %v", i, c["source"], c["ratio"], c["aboveFloor"], floor["pollers"])
			}
		}
	}
	for _, m := range money {
		if math.Abs(m*100-math.Round(m*100)) > 1e-6 {
			t.Errorf("%v is not in whole cents", m)
		}
	}
}

// TestSendJSON: send --output json reports the answer as JSON (camelCase),
// and a failed answer's hint too, with the same exit codes.
func TestSendJSON(t *testing.T) {
	status := http.StatusAccepted
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"status":"accepted","messageId":"m-1","requestId":"r-1"}`)
	}))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	_ = os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)
	body := filepath.Join(t.TempDir(), "body.json")
	_ = os.WriteFile(body, []byte(`{"action":"opened"}`), 0o644)
	args := []string{"send", "--stack", "dev", "--source", "github", "--body", body, "--secret", "s", "--url", srv.URL + "/github",
		"--header", "X-GitHub-Hook-ID=1", "--ca-file", ca, "--dir", "../..", "--output", "json"}
	for _, tc := range []struct {
		status, code int
		want         map[string]any
	}{
		{http.StatusAccepted, 0, map[string]any{"status": "202 Accepted", "statusCode": 202.0, "requestId": "r-1", "messageId": "m-1"}},
		{http.StatusForbidden, 1, map[string]any{"statusCode": 403.0, "hint": "forbidden: the API key, IAM identity or token is not allowed on this route"}},
	} {
		status = tc.status
		code, out, errOut := runCLI(args...)
		var doc map[string]any
		if code != tc.code || json.Unmarshal([]byte(out), &doc) != nil {
			t.Fatalf("%d: exit %d, stdout %q, stderr %q", tc.status, code, out, errOut)
		}
		checkKeys(t, doc, "", nil)
		for k, v := range tc.want {
			if doc[k] != v {
				t.Errorf("%d: %s = %v, want %v", tc.status, k, doc[k], v)
			}
		}
	}
}

// redriveFake serves a DLQ of three messages (groups cus_1, cus_2, cus_1)
// and an empty source queue, with the environment pointing at it.
func redriveFake(t *testing.T) (*awsfake.Server, string, string) {
	t.Helper()
	srv := awsfake.New(nil)
	t.Cleanup(srv.Close)
	dlq, queue := "https://sqs.eu-west-1.amazonaws.com/123456789012/hookline-dev-payments-dlq.fifo", "https://sqs.eu-west-1.amazonaws.com/123456789012/hookline-dev-payments.fifo"
	msg := func(g, id string) awsfake.Message {
		return awsfake.Message{Body: `{}`, GroupID: g, DeduplicationID: id, Attributes: map[string]string{
			contract.AttrEventID: id, contract.AttrFailureReason: "signature-mismatch"}}
	}
	srv.AddQueue(dlq, "arn:dlq", msg("cus_1", "evt_1"), msg("cus_2", "evt_2"), msg("cus_1", "evt_3"))
	srv.AddQueue(queue, "arn:queue")
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("AWS_REGION", "eu-west-1")
	return srv, dlq, queue
}

// TestRedriveJSON: redrive --output json reports what moved as JSON, and
// prints no progress lines.
func TestRedriveJSON(t *testing.T) {
	srv, dlq, queue := redriveFake(t)
	kmsPeer := kmspeer.Start(t)
	for _, kv := range kmsPeer.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	code, out, errOut := runCLI("redrive", "--source", "payments", "--queue-url", queue, "--queue-arn", "arn:queue", "--dlq-url", dlq, "--dlq-arn", "arn:dlq",
		"--seal-key", kmsPeer.KeyArn, "--group", "cus_1", "--output", "json", "--dir", "../..")
	var doc map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &doc) != nil {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	checkKeys(t, doc, "", nil)
	if doc["moved"] != 2.0 || doc["dlqUrl"] != dlq || doc["queueUrl"] != queue || len(srv.Queue(dlq)) != 1 {
		t.Errorf("json %s", out)
	}
}

// TestInvokeJSON: invoke --output json reports the handler's verdict as
// JSON; the notes and the build line go to stderr.
func TestInvokeJSON(t *testing.T) {
	if _, err := os.Stat("../../bin/aws-lambda-rie"); err != nil {
		t.Skip("bin/aws-lambda-rie missing: run make tools (make test does)")
	}
	good := filepath.Join(t.TempDir(), "good.json")
	_ = os.WriteFile(good, []byte(`{"id":"evt_1","data":{"object":{"customer":"cus_1"}}}`), 0o644)
	code, out, errOut := runCLI("invoke", "--stack", "dev", "--source", "payments", "--body", good, "--output", "json", "--dir", "../..")
	var doc struct {
		Source, Group string
		Outcomes      []struct{ Outcome string }
		MovedToDlq    []string
		InitMs        float64
	}
	if code != 0 || json.Unmarshal([]byte(out), &doc) != nil {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	var raw map[string]any
	_ = json.Unmarshal([]byte(out), &raw)
	checkKeys(t, raw, "", map[string]bool{".response": true})
	if doc.Source != "payments" || doc.Group != "payments" || len(doc.Outcomes) != 1 || doc.Outcomes[0].Outcome != "ok" || len(doc.MovedToDlq) != 0 || doc.InitMs <= 0 {
		t.Errorf("json %s", out)
	}
	if !strings.Contains(errOut, "building the handler") {
		t.Errorf("stderr %q", errOut)
	}
}
