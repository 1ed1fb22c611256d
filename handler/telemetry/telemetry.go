// Package telemetry writes the handler's per-record outcome lines (slog,
// JSON) and its metrics in CloudWatch Embedded Metric Format. Neither ever
// holds a secret, a signature or a body.
package telemetry

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sort"
	"time"
)

// Outcome is what happened to a record.
type Outcome string

// The three outcomes (DESIGN §4).
const (
	OK     Outcome = "ok"
	Retry  Outcome = "retry"
	Reject Outcome = "reject"
)

// Record is one record's outcome.
type Record struct {
	Source, Group, MessageID, EventID string
	Outcome                           Outcome
	// Reason is a short, bounded name (also a metric dimension); Detail is
	// the error text, logged only.
	Reason, Detail string
	Duplicate      bool
	Latency        time.Duration
}

// Namespace is the CloudWatch namespace of hookline's metrics.
const Namespace = "hookline"

// Batch collects one invocation's records and writes its metrics once.
type Batch struct {
	log     *slog.Logger
	source  string
	counts  map[string]float64
	rejects map[string]float64
	latency []float64
}

// NewBatch starts the telemetry of one invocation.
func NewBatch(log *slog.Logger, source string) *Batch {
	return &Batch{log: log, source: source, counts: map[string]float64{}, rejects: map[string]float64{}}
}

// Record logs one outcome line and counts it.
func (b *Batch) Record(ctx context.Context, r Record) {
	level := slog.LevelInfo
	if r.Outcome != OK {
		level = slog.LevelWarn
	}
	b.log.LogAttrs(ctx, level, "record",
		slog.String("source", r.Source), slog.String("group", r.Group),
		slog.String("messageId", r.MessageID), slog.String("eventId", r.EventID),
		slog.String("outcome", string(r.Outcome)), slog.String("reason", r.Reason), slog.String("detail", r.Detail),
		slog.Bool("duplicate", r.Duplicate),
		slog.Float64("latencyMs", float64(r.Latency.Microseconds())/1000))

	b.counts["Received"]++
	switch r.Outcome {
	case OK:
		b.counts["OK"]++
		if r.Duplicate {
			b.counts["Duplicates"]++
		} else {
			b.latency = append(b.latency, float64(r.Latency.Microseconds())/1000)
		}
	case Retry:
		b.counts["Retried"]++
	case Reject:
		b.counts["Rejected"]++
		b.rejects[r.Reason]++
	}
}

type metric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

type directive struct {
	Namespace  string     `json:"Namespace"`
	Dimensions [][]string `json:"Dimensions"`
	Metrics    []metric   `json:"Metrics"`
}

// Flush writes the invocation's metrics as EMF documents: one with the
// counts and latencies by source, one per rejection reason.
func (b *Batch) Flush(w io.Writer, now time.Time) error {
	if b.counts["Received"] == 0 {
		return nil
	}
	ts := now.UnixMilli()
	doc := map[string]any{"Source": b.source}
	var metrics []metric
	for _, name := range []string{"Received", "OK", "Retried", "Rejected", "Duplicates"} {
		metrics = append(metrics, metric{name, "Count"})
		doc[name] = b.counts[name]
	}
	if len(b.latency) > 0 {
		metrics = append(metrics, metric{"ProcessingLatency", "Milliseconds"})
		doc["ProcessingLatency"] = b.latency
	}
	doc["_aws"] = map[string]any{"Timestamp": ts, "CloudWatchMetrics": []directive{{Namespace, [][]string{{"Source"}}, metrics}}}
	if err := writeLine(w, doc); err != nil {
		return err
	}
	reasons := make([]string, 0, len(b.rejects))
	for r := range b.rejects {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		if err := writeLine(w, map[string]any{
			"Source": b.source, "Reason": r, "Rejected": b.rejects[r],
			"_aws": map[string]any{"Timestamp": ts, "CloudWatchMetrics": []directive{{Namespace, [][]string{{"Source", "Reason"}}, []metric{{"Rejected", "Count"}}}}},
		}); err != nil {
			return err
		}
	}
	return nil
}

func writeLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
