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
	"strconv"
	"time"

	"github.com/hookline/hookline/contract"
)

// Outcome is what happened to a record.
type Outcome string

// The outcomes (DESIGN §4), plus Dropped: a record of an open source
// (auth signature) that failed verification, acknowledged without being
// processed or dead-lettered, and counted as Forged.
const (
	OK      Outcome = "ok"
	Retry   Outcome = "retry"
	Reject  Outcome = "reject"
	Dropped Outcome = "dropped"
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
	// Attempt is SQS's receive count of the record; NextDelay, on a retry
	// the consumer paces, how long it waits before the next one.
	Attempt   int
	NextDelay time.Duration
}

// Namespace is the CloudWatch namespace of hookline's metrics.
const Namespace = contract.MetricNamespace

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
	attrs := [12]slog.Attr{
		slog.String("source", r.Source), slog.String("group", r.Group),
		slog.String("messageId", r.MessageID), slog.String("eventId", r.EventID),
		slog.String("outcome", string(r.Outcome)), slog.String("reason", r.Reason),
		slog.Float64("latencyMs", float64(r.Latency.Microseconds())/1000),
	}
	n := 7
	if r.Detail != "" {
		attrs[n] = slog.String("detail", r.Detail)
		n++
	}
	if r.Duplicate {
		attrs[n] = slog.Bool("duplicate", true)
		n++
	}
	if r.Outcome == Retry || r.Reason == GaveUpReason {
		attrs[n] = slog.Int("attempt", r.Attempt)
		n++
	}
	if r.NextDelay > 0 {
		attrs[n] = slog.Float64("nextDelaySeconds", r.NextDelay.Seconds())
		n++
	}
	b.log.LogAttrs(ctx, level, "record", attrs[:n]...)

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
		if r.Reason == contract.ReasonArchiveUnavailable {
			b.counts[ArchiveFailed]++
		}
	case Reject:
		b.counts["Rejected"]++
		b.rejects[r.Reason]++
		if r.Reason == GaveUpReason {
			b.counts[GaveUp]++
		}
	case Dropped:
		b.counts[Forged]++
	}
}

// Flush writes the invocation's metrics as EMF documents: one with the
// counts and latencies by source, one per rejection reason. The documents
// are written by hand: this runs on every invocation.
func (b *Batch) Flush(w io.Writer, now time.Time) error {
	if b.counts[received] == 0 {
		return nil
	}
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	buf := make([]byte, 0, 512)
	buf = append(buf, `{"_aws":{"Timestamp":`...)
	buf = append(buf, ts...)
	buf = append(buf, `,"CloudWatchMetrics":[{"Namespace":"`+Namespace+`","Dimensions":[["Source"]],"Metrics":[`...)
	for i, name := range countNames {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"Name":"`+name+`","Unit":"Count"}`...)
	}
	if len(b.latency) > 0 {
		buf = append(buf, `,{"Name":"ProcessingLatency","Unit":"Milliseconds"}`...)
	}
	buf = append(buf, `]}]},"Source":`...)
	buf = appendString(buf, b.source)
	for _, name := range countNames {
		buf = append(buf, `,"`+name+`":`...)
		buf = strconv.AppendFloat(buf, b.counts[name], 'f', -1, 64)
	}
	if len(b.latency) > 0 {
		buf = append(buf, `,"ProcessingLatency":[`...)
		for i, l := range b.latency {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = strconv.AppendFloat(buf, l, 'f', -1, 64)
		}
		buf = append(buf, ']')
	}
	buf = append(buf, "}\n"...)

	reasons := make([]string, 0, len(b.rejects))
	for r := range b.rejects {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		buf = append(buf, `{"_aws":{"Timestamp":`...)
		buf = append(buf, ts...)
		buf = append(buf, `,"CloudWatchMetrics":[{"Namespace":"`+Namespace+`","Dimensions":[["Source","Reason"]],"Metrics":[{"Name":"Rejected","Unit":"Count"}]}]},"Source":`...)
		buf = appendString(buf, b.source)
		buf = append(buf, `,"Reason":`...)
		buf = appendString(buf, r)
		buf = append(buf, `,"Rejected":`...)
		buf = strconv.AppendFloat(buf, b.rejects[r], 'f', -1, 64)
		buf = append(buf, "}\n"...)
	}
	_, err := w.Write(buf)
	return err
}

const received = "Received"

// Forged is the metric of records dropped as forgeries on open sources.
const Forged = contract.MetricForged

// GaveUp counts records whose retry budget was spent (moved to the DLQ with
// reason GaveUpReason).
const (
	GaveUp       = "GaveUp"
	GaveUpReason = "retries-exhausted"
)

// countNames are the count metrics of the main document, in order.
var countNames = []string{received, "OK", "Retried", "Rejected", "Duplicates", Forged, GaveUp, ArchiveFailed}

// ArchiveFailed counts what the consumer could not archive (see
// contract.MetricArchiveFailed).
const ArchiveFailed = contract.MetricArchiveFailed

// ArchiveFailed counts a batch whose outcomes were not archived.
func (b *Batch) ArchiveFailed() { b.counts[ArchiveFailed]++ }

func appendString(buf []byte, s string) []byte {
	q, _ := json.Marshal(s)
	return append(buf, q...)
}
