package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func lines(t *testing.T, b *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not JSON: %q", l)
		}
		out = append(out, m)
	}
	return out
}

// TestOnlyWhatSomeoneReadsIsLogged: at the default level an ok delivery
// writes no line; every other outcome (and an ok one with a detail) writes
// one compact WARN line Lambda's JSON log format can filter and date.
func TestOnlyWhatSomeoneReadsIsLogged(t *testing.T) {
	var logs, metrics bytes.Buffer
	b := NewBatch(NewLogger(&logs, slog.LevelInfo), "github")
	ctx := context.Background()
	b.Record(ctx, Record{Source: "github", Group: "g", MessageID: "m1", EventID: "e1", Outcome: OK, Latency: time.Millisecond})
	b.Record(ctx, Record{Source: "github", Group: "g", MessageID: "m2", EventID: "e2", Outcome: OK, Reason: "duplicate", Duplicate: true})
	if logs.Len() != 0 {
		t.Fatalf("ok deliveries wrote lines at INFO: %s", logs.String())
	}
	b.Record(ctx, Record{Source: "github", Group: "g", MessageID: "m3", Outcome: Retry, Reason: "processor", Detail: "503", Attempt: 2, NextDelay: 30 * time.Second})
	b.Record(ctx, Record{Source: "github", Group: "g", MessageID: "m4", EventID: "e4", Outcome: Reject, Reason: "signature-mismatch", Detail: "no match"})
	b.Record(ctx, Record{Source: "github", Group: "g", MessageID: "m5", Outcome: Dropped, Reason: "forged-seal"})
	b.Record(ctx, Record{Source: "github", Group: "g", MessageID: "m6", EventID: "e6", Outcome: OK, Reason: "marker-not-final", Detail: "table throttled"})
	got := lines(t, &logs)
	if len(got) != 4 {
		t.Fatalf("%d lines, want one per outcome that is not plain ok:\n%s", len(got), logs.String())
	}
	for _, l := range got {
		if l["level"] != "WARN" {
			t.Errorf("level %v, want WARN: %v", l["level"], l)
		}
		if _, err := time.Parse(time.RFC3339, l["timestamp"].(string)); err != nil {
			t.Errorf("timestamp %v is not RFC 3339: %v", l["timestamp"], err)
		}
		for _, k := range []string{"msg", "time"} {
			if _, ok := l[k]; ok {
				t.Errorf("line has %q: %v", k, l)
			}
		}
	}
	if got[0]["attempt"] != 2.0 || got[0]["nextDelaySeconds"] != 30.0 || got[0]["detail"] != "503" {
		t.Errorf("retry line: %v", got[0])
	}
	if _, ok := got[0]["eventId"]; ok {
		t.Errorf("empty eventId written: %v", got[0])
	}

	if err := b.Flush(&metrics, time.UnixMilli(1_765_000_000_000)); err != nil {
		t.Fatal(err)
	}
	docs := lines(t, &metrics)
	if len(docs) != 2 { // the counts, and one for the reject reason
		t.Fatalf("%d documents:\n%s", len(docs), metrics.String())
	}
	want := map[string]float64{"OK": 3, "Duplicates": 1, "Retried": 1, "Rejected": 1, "Forged": 1}
	for k, v := range want {
		if docs[0][k] != v {
			t.Errorf("%s = %v, want %v", k, docs[0][k], v)
		}
	}
	for _, k := range []string{"GaveUp", "ArchiveFailed", "Received"} {
		if _, ok := docs[0][k]; ok {
			t.Errorf("zero count %s written", k)
		}
	}
}

// TestDebugLogsEveryDelivery: at DEBUG (AWS_LAMBDA_LOG_LEVEL=DEBUG) every
// delivery, ok ones too, gets its line.
func TestDebugLogsEveryDelivery(t *testing.T) {
	var logs bytes.Buffer
	b := NewBatch(NewLogger(&logs, LevelFromEnv(func(string) string { return "DEBUG" })), "github")
	b.Record(context.Background(), Record{Source: "github", Group: "g", MessageID: "m1", EventID: "e1", Outcome: OK})
	got := lines(t, &logs)
	if len(got) != 1 || got[0]["level"] != "DEBUG" || got[0]["outcome"] != "ok" || got[0]["eventId"] != "e1" {
		t.Fatalf("lines %v", got)
	}
}

func TestLevelFromEnv(t *testing.T) {
	for in, want := range map[string]slog.Level{"": slog.LevelInfo, "TRACE": slog.LevelDebug, "debug": slog.LevelDebug,
		"INFO": slog.LevelInfo, "WARN": slog.LevelWarn, "ERROR": slog.LevelError, "FATAL": slog.LevelError, "LOUD": slog.LevelInfo} {
		if got := LevelFromEnv(func(string) string { return in }); got != want {
			t.Errorf("%q: %v, want %v", in, got, want)
		}
	}
}

// TestOKBatchBytesIsTheDocument: what the cost model prices is the
// document Flush writes for a batch of plain ok deliveries.
func TestOKBatchBytesIsTheDocument(t *testing.T) {
	for _, n := range []int{1, 5, 10} {
		var logs, metrics bytes.Buffer
		b := NewBatch(NewLogger(&logs, slog.LevelInfo), "github")
		for i := 0; i < n; i++ {
			b.Record(context.Background(), Record{Source: "github", Outcome: OK})
		}
		if err := b.Flush(&metrics, time.Now()); err != nil {
			t.Fatal(err)
		}
		if got := logs.Len() + metrics.Len(); got != OKBatchBytes("github", n) {
			t.Errorf("batch of %d wrote %d bytes, OKBatchBytes says %d:\n%s", n, got, OKBatchBytes("github", n), metrics.String())
		}
	}
}
