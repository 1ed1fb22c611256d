package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hookline/hookline/internal/testing/kmspeer"
)

// withTerminal makes the commands see a person at a terminal who answers
// answer (or, with answer "", no terminal at all).
func withTerminal(t *testing.T, answer string) {
	t.Helper()
	oldIn, oldTerm := stdin, stdinIsTerminal
	t.Cleanup(func() { stdin, stdinIsTerminal = oldIn, oldTerm })
	stdin = strings.NewReader(answer)
	stdinIsTerminal = func() bool { return answer != "" }
}

// redriveArgs are a redrive of the fake's payments queues, sealed by the
// KMS peer.
func redriveArgs(t *testing.T, dlq, queue string) []string {
	t.Helper()
	kmsPeer := kmspeer.Start(t)
	for _, kv := range kmsPeer.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	return []string{"redrive", "--source", "payments", "--queue-url", queue, "--queue-arn", "arn:queue", "--dlq-url", dlq, "--dlq-arn", "arn:dlq",
		"--seal-key", kmsPeer.KeyArn, "--dir", "../.."}
}

// TestRedriveDryRunChangesNothing: --dry-run counts the DLQ with
// GetQueueAttributes alone: no message is received, so no receive count
// rises; --peek lists and says that it raised them.
func TestRedriveDryRunChangesNothing(t *testing.T) {
	srv, dlq, queue := redriveFake(t)
	args := redriveArgs(t, dlq, queue)
	code, out, errOut := runCLI(append(args, "--dry-run")...)
	if code != 0 || !strings.Contains(out, "holds about 3 message(s)") || !strings.Contains(out, "nothing was received or changed") {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, errOut)
	}
	for _, call := range srv.Calls() {
		if call != "AmazonSQS.GetQueueAttributes" {
			t.Errorf("a dry run called %s", call)
		}
	}
	code, out, _ = runCLI(append(args, "--dry-run", "--output", "json")...)
	var doc struct {
		DryRun bool
		Depth  struct{ Visible, InFlight int }
		Moved  int
	}
	if code != 0 || json.Unmarshal([]byte(out), &doc) != nil || !doc.DryRun || doc.Depth.Visible != 3 || doc.Moved != 0 {
		t.Errorf("dry run json: exit %d %s", code, out)
	}
	code, out, _ = runCLI(append(args, "--peek")...)
	if code != 0 || !strings.Contains(out, "3 message(s) would move") || !strings.Contains(out, "raised their receive count") {
		t.Errorf("peek: exit %d\n%s", code, out)
	}
	if code, _, errOut := runCLI(append(args, "--peek", "--dry-run")...); code != 2 || !strings.Contains(errOut, "give one") {
		t.Errorf("peek and dry run: exit %d %s", code, errOut)
	}
}

// TestRedriveWholeDLQConfirms: a redrive of the whole DLQ states how many
// messages it moves; without a terminal it needs --yes (exit 2, nothing
// moved), on a terminal it asks and moves only on yes.
func TestRedriveWholeDLQConfirms(t *testing.T) {
	srv, dlq, queue := redriveFake(t)
	args := redriveArgs(t, dlq, queue)

	withTerminal(t, "")
	code, out, errOut := runCLI(args...)
	if code != 2 || out != "" || !strings.Contains(errOut, "this moves all 3 message(s)") || !strings.Contains(errOut, "pass --yes") || len(srv.Queue(dlq)) != 3 {
		t.Fatalf("non-interactive without --yes: exit %d, dlq %d\n%s%s", code, len(srv.Queue(dlq)), out, errOut)
	}
	withTerminal(t, "n\n")
	code, _, errOut = runCLI(args...)
	if code != 2 || !strings.Contains(errOut, "Move them? [y/N]") || !strings.Contains(errOut, "nothing moved") || len(srv.Queue(dlq)) != 3 {
		t.Fatalf("declined: exit %d %s", code, errOut)
	}
	withTerminal(t, "y\n")
	code, out, errOut = runCLI(args...)
	if code != 0 || !strings.Contains(out, "moved 3 message(s)") || len(srv.Queue(dlq)) != 0 || len(srv.Queue(queue)) != 3 {
		t.Fatalf("confirmed: exit %d\n%s%s", code, out, errOut)
	}
	// An empty DLQ needs no confirmation.
	withTerminal(t, "")
	if code, out, errOut := runCLI(args...); code != 0 || !strings.Contains(out, "is empty: nothing to move") {
		t.Errorf("empty: exit %d\n%s%s", code, out, errOut)
	}
}

// TestRedriveMissingGroup: a group asked for that the DLQ does not hold
// is named, and the exit is 1; the groups that are there still move.
func TestRedriveMissingGroup(t *testing.T) {
	srv, dlq, queue := redriveFake(t)
	args := redriveArgs(t, dlq, queue)
	code, out, errOut := runCLI(append(args, "--group", "cus_9", "--group", "cus_2")...)
	if code != 1 || !strings.Contains(out, "moved 1 message(s)") || !strings.Contains(errOut, "group cus_9 is not in the DLQ of payments (its groups are cus_1, cus_2)") || len(srv.Queue(dlq)) != 2 {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
}

// TestRedriveChecksTheSource: with the queues given as flags, --source is
// still checked against the stack's config (it binds each seal).
func TestRedriveChecksTheSource(t *testing.T) {
	_, dlq, queue := redriveFake(t)
	args := redriveArgs(t, dlq, queue)
	args[2] = "paymnts"
	code, _, errOut := runCLI(append(args, "--yes")...)
	if code != 2 || !strings.Contains(errOut, `stack dev has no source "paymnts" (it has payments, github)`) {
		t.Errorf("exit %d %s", code, errOut)
	}
}

// TestCostRefusesNegativeAndWarns: a negative rate is refused (before, the
// default stood in silently); a rate over what a source sustains is
// priced with a warning naming the binding limit.
func TestCostRefusesNegativeAndWarns(t *testing.T) {
	for _, args := range [][]string{{"--rps", "-5"}, {"--groups", "-1"}, {"--body-kb", "-1"}} {
		code, out, errOut := runCLI(append([]string{"cost", "--dir", "../.."}, args...)...)
		if code != 2 || out != "" || !strings.Contains(errOut, args[0]+" must not be negative") {
			t.Errorf("%v: exit %d %q", args, code, errOut)
		}
	}
	code, out, errOut := runCLI("cost", "--stack", "prod", "--rps", "150", "--dir", "../..")
	if code != 0 || !strings.Contains(out, "total: $") || !strings.Contains(errOut, "warning: source vendors sustains about 100.0/s (bound by api-gateway), less than the 150/s priced") ||
		strings.Contains(errOut, "source payments") {
		t.Errorf("exit %d\n%s", code, errOut)
	}
	code, out, _ = runCLI("cost", "--stack", "prod", "--rps", "150", "--output", "json", "--dir", "../..")
	var doc struct{ Warnings []string }
	if code != 0 || json.Unmarshal([]byte(out), &doc) != nil || len(doc.Warnings) == 0 {
		t.Errorf("json warnings: exit %d %s", code, out)
	}
	if _, _, errOut := runCLI("cost", "--stack", "prod", "--rps", "5", "--dir", "../.."); strings.Contains(errOut, "warning") {
		t.Errorf("a rate every source sustains warns: %s", errOut)
	}
}
