package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/handler/telemetry"
)

// consumerFields are the keys of the consumer's real outcome lines, for
// every kind of outcome (at DEBUG, so an ok one is there too).
func consumerFields(t *testing.T) map[string]bool {
	var logs bytes.Buffer
	b := telemetry.NewBatch(telemetry.NewLogger(&logs, slog.LevelDebug), "github")
	ctx := context.Background()
	for _, r := range []telemetry.Record{
		{Source: "github", Group: "g", MessageID: "m1", EventID: "e1", Outcome: telemetry.OK},
		{Source: "github", Group: "g", MessageID: "m2", EventID: "e2", Outcome: telemetry.Retry, Reason: "processor", Detail: "503", Attempt: 2, NextDelay: time.Minute},
		{Source: "github", Group: "g", MessageID: "m3", EventID: "e3", Outcome: telemetry.Reject, Reason: "signature-mismatch", Detail: "no match"},
		{Source: "github", Group: "g", MessageID: "m4", Outcome: telemetry.Dropped, Reason: "forged-seal", Duplicate: true},
	} {
		b.Record(ctx, r)
	}
	out := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		for k := range m {
			out[k] = true
		}
	}
	return out
}

var (
	queryBlock  = regexp.MustCompile("(?s)```logs (consumer|access)\n(.*?)```")
	quoted      = regexp.MustCompile(`"[^"]*"`)
	identifier  = regexp.MustCompile(`@?[A-Za-z_][A-Za-z0-9_]*`)
	aliasRE     = regexp.MustCompile(`\bas\s+([A-Za-z_][A-Za-z0-9_]*)`)
	queryWords  = map[string]bool{"fields": true, "filter": true, "stats": true, "count": true, "by": true, "sort": true, "desc": true, "asc": true, "limit": true, "as": true, "ispresent": true, "and": true, "or": true, "not": true, "like": true, "in": true}
	accessNames = func() map[string]bool {
		out := map[string]bool{}
		for _, ingress := range contract.Ingresses {
			for _, f := range contract.AccessLogFields(ingress) {
				out[f.Name] = true
			}
		}
		return out
	}()
)

// TestLogQueriesReadRealFields: every field the log queries of README.md
// and docs/operations.md name is in the consumer's real lines (consumer
// queries) or in the stage's access log format (access queries), so the
// queries still work against the log shape the code writes; and every
// field of the access log is read by one of them.
func TestLogQueriesReadRealFields(t *testing.T) {
	var blocks [][]string
	for _, f := range []string{"../../README.md", "../../docs/operations.md"} {
		doc, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		found := queryBlock.FindAllStringSubmatch(string(doc), -1)
		if len(found) < 2 {
			t.Fatalf("found %d log queries in %s", len(found), f)
		}
		blocks = append(blocks, found...)
	}
	consumer := consumerFields(t)
	used := map[string]bool{}
	for _, b := range blocks {
		kind, query := b[1], b[2]
		have := consumer
		if kind == "access" {
			have = accessNames
		}
		aliases := map[string]bool{}
		for _, a := range aliasRE.FindAllStringSubmatch(query, -1) {
			aliases[a[1]] = true
		}
		for _, id := range identifier.FindAllString(quoted.ReplaceAllString(query, `""`), -1) {
			if strings.HasPrefix(id, "@") || queryWords[id] || aliases[id] {
				continue
			}
			if !have[id] {
				t.Errorf("a %s query names %q, which the %s lines do not have:\n%s", kind, id, kind, query)
			}
			if kind == "access" {
				used[id] = true
			}
		}
	}
	// And the access log holds nothing the queries do not read: each of its
	// fields is paid for on every request.
	for name := range accessNames {
		if !used[name] {
			t.Errorf("the access log writes %q, which no documented query reads", name)
		}
	}
}
