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
	"strings"
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
}

// NewBatch starts the telemetry of one invocation.
func NewBatch(log *slog.Logger, source string) *Batch {
	return &Batch{log: log, source: source, counts: map[string]float64{}, rejects: map[string]float64{}}
}

// Record counts one outcome, and logs it when someone will read it: one
// compact line (LevelWarn) for every outcome that is not ok, or that is ok
// with something to say (Detail); a plain ok delivery is counted by the
// metrics (and kept by the archive where it is on), and gets a line only
// at LevelDebug (AWS_LAMBDA_LOG_LEVEL=DEBUG), never formatted otherwise.
func (b *Batch) Record(ctx context.Context, r Record) {
	level := slog.LevelWarn
	if r.Outcome == OK && r.Detail == "" {
		level = slog.LevelDebug
	}
	if b.log.Enabled(ctx, level) {
		b.line(ctx, level, r)
	}

	switch r.Outcome {
	case OK:
		b.counts[okCount]++
		if r.Duplicate {
			b.counts["Duplicates"]++
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

// line writes r's outcome line; empty fields are left out.
func (b *Batch) line(ctx context.Context, level slog.Level, r Record) {
	var attrs [12]slog.Attr
	n := 0
	add := func(a slog.Attr) { attrs[n] = a; n++ }
	add(slog.String("source", r.Source))
	add(slog.String("group", r.Group))
	add(slog.String("messageId", r.MessageID))
	if r.EventID != "" {
		add(slog.String("eventId", r.EventID))
	}
	add(slog.String("outcome", string(r.Outcome)))
	if r.Reason != "" {
		add(slog.String("reason", r.Reason))
	}
	if r.Detail != "" {
		add(slog.String("detail", r.Detail))
	}
	if r.Duplicate {
		add(slog.Bool("duplicate", true))
	}
	if r.Outcome == Retry || r.Reason == GaveUpReason {
		add(slog.Int("attempt", r.Attempt))
	}
	if r.NextDelay > 0 {
		add(slog.Float64("nextDelaySeconds", r.NextDelay.Seconds()))
	}
	add(slog.Float64("latencyMs", float64(r.Latency.Microseconds())/1000))
	b.log.LogAttrs(ctx, level, "", attrs[:n]...)
}

// Flush writes the invocation's metrics as EMF documents: one with the
// counts by source, one per rejection reason. Only the counts that are not
// zero are in it (a metric with no data point is what CloudWatch alarms
// and graphs read as zero: TreatMissingData notBreaching), so a batch of
// plain ok deliveries writes one short document. The documents are written
// by hand: this runs on every invocation.
func (b *Batch) Flush(w io.Writer, now time.Time) error {
	buf := b.appendDocuments(make([]byte, 0, 256), now)
	if len(buf) == 0 {
		return nil
	}
	_, err := w.Write(buf)
	return err
}

func (b *Batch) appendDocuments(buf []byte, now time.Time) []byte {
	names := make([]string, 0, len(countNames))
	for _, name := range countNames {
		if b.counts[name] != 0 {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return buf
	}
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	buf = append(buf, `{"_aws":{"Timestamp":`...)
	buf = append(buf, ts...)
	buf = append(buf, `,"CloudWatchMetrics":[{"Namespace":"`+Namespace+`","Dimensions":[["Source"]],"Metrics":[`...)
	for i, name := range names {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"Name":"`+name+`"}`...)
	}
	buf = append(buf, `]}]},"Source":`...)
	buf = appendString(buf, b.source)
	for _, name := range names {
		buf = append(buf, `,"`+name+`":`...)
		buf = strconv.AppendFloat(buf, b.counts[name], 'f', -1, 64)
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
		buf = append(buf, `,"CloudWatchMetrics":[{"Namespace":"`+Namespace+`","Dimensions":[["Source","Reason"]],"Metrics":[{"Name":"Rejected"}]}]},"Source":`...)
		buf = appendString(buf, b.source)
		buf = append(buf, `,"Reason":`...)
		buf = appendString(buf, r)
		buf = append(buf, `,"Rejected":`...)
		buf = strconv.AppendFloat(buf, b.rejects[r], 'f', -1, 64)
		buf = append(buf, "}\n"...)
	}
	return buf
}

// OKBatchBytes is what an invocation of n plain ok deliveries of source
// writes at the default level (LevelInfo): its one metrics document, with a
// timestamp of today's 13 digits. The cost model prices the logs with it;
// the handler's emulator test checks the real binary writes exactly this.
func OKBatchBytes(source string, n int) int {
	b := NewBatch(slog.New(slog.DiscardHandler), source)
	b.counts[okCount] = float64(n)
	return len(b.appendDocuments(nil, time.UnixMilli(1_765_000_000_000)))
}

const okCount = contract.MetricOK

// Forged is the metric of records dropped as forgeries on open sources.
const Forged = contract.MetricForged

// GaveUp counts records whose retry budget was spent (moved to the DLQ with
// reason GaveUpReason).
const (
	GaveUp       = "GaveUp"
	GaveUpReason = "retries-exhausted"
)

// countNames are the count metrics of the main document, in order.
var countNames = contract.MetricCounts

// ArchiveFailed counts what the consumer could not archive (see
// contract.MetricArchiveFailed).
const ArchiveFailed = contract.MetricArchiveFailed

// ArchiveFailed counts a batch whose outcomes were not archived.
func (b *Batch) ArchiveFailed() { b.counts[ArchiveFailed]++ }

func appendString(buf []byte, s string) []byte {
	q, _ := json.Marshal(s)
	return append(buf, q...)
}

// NewLogger is the JSON logger of hookline's functions. Lambda's JSON log
// format filters application lines by their "level" (DEBUG, INFO, WARN,
// ERROR; a line without one counts as INFO) and reads their time from
// "timestamp" (RFC 3339), so the lines carry those two and no empty
// message.
func NewLogger(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) > 0 {
			return a
		}
		switch a.Key {
		case slog.TimeKey:
			return slog.String("timestamp", a.Value.Time().UTC().Format("2006-01-02T15:04:05.000Z07:00"))
		case slog.MessageKey:
			if a.Value.String() == "" {
				return slog.Attr{}
			}
		}
		return a
	}}))
}

// LevelFromEnv is the application log level Lambda passes to a custom
// runtime in AWS_LAMBDA_LOG_LEVEL (the function's applicationLogLevel:
// TRACE, DEBUG, INFO, WARN, ERROR or FATAL); INFO when unset or unknown.
func LevelFromEnv(getenv func(string) string) slog.Level {
	switch strings.ToUpper(getenv("AWS_LAMBDA_LOG_LEVEL")) {
	case "TRACE", "DEBUG":
		return slog.LevelDebug
	case "WARN":
		return slog.LevelWarn
	case "ERROR", "FATAL":
		return slog.LevelError
	}
	return slog.LevelInfo
}
