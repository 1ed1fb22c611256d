package infra_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/handler/telemetry"
)

// readMetric is one metric an alarm or a widget reads.
type readMetric struct {
	Namespace, Metric string
	Dimensions        string // the dimension names, sorted, comma-separated
	By                string
}

// metricsRead lists what every alarm and dashboard widget of a plan reads.
func metricsRead(t *testing.T, dir, stack string) []readMetric {
	res := runPlan(t, dir, stack)
	var out []readMetric
	for _, a := range res.Find("aws:cloudwatch/metricAlarm:MetricAlarm") {
		dims, _ := a.Inputs["dimensions"].(map[string]any)
		var names []string
		for k := range dims {
			names = append(names, k)
		}
		sort.Strings(names)
		out = append(out, readMetric{fmt.Sprint(a.Inputs["namespace"]), fmt.Sprint(a.Inputs["metricName"]), strings.Join(names, ","), "alarm " + a.Name})
	}
	body, _ := res.Find("aws:cloudwatch/dashboard:Dashboard")[0].Inputs["dashboardBody"].(string)
	var d struct {
		Widgets []struct {
			Properties struct {
				Title   string  `json:"title"`
				Metrics [][]any `json:"metrics"`
			} `json:"properties"`
		} `json:"widgets"`
	}
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		t.Fatal(err)
	}
	for _, w := range d.Widgets {
		var prev []any
		for _, m := range w.Properties.Metrics {
			// A metric is [namespace, name, dim, value, ..., {options}];
			// "." repeats the previous row's entry.
			var row []any
			for i, v := range m {
				if _, opts := v.(map[string]any); opts {
					break
				}
				if v == "." && i < len(prev) {
					v = prev[i]
				}
				row = append(row, v)
			}
			prev = row
			var names []string
			for i := 2; i+1 < len(row); i += 2 {
				names = append(names, fmt.Sprint(row[i]))
			}
			sort.Strings(names)
			out = append(out, readMetric{fmt.Sprint(row[0]), fmt.Sprint(row[1]), strings.Join(names, ","), "widget " + w.Properties.Title})
		}
	}
	return out
}

// declaredMetrics are the metrics (name and dimension names) the consumer's
// real metrics documents declare, for a batch with every kind of outcome.
func declaredMetrics(t *testing.T) map[string]bool {
	var docs bytes.Buffer
	b := telemetry.NewBatch(telemetry.NewLogger(&bytes.Buffer{}, slog.LevelInfo), "s")
	ctx := context.Background()
	for _, r := range []telemetry.Record{
		{Outcome: telemetry.OK}, {Outcome: telemetry.OK, Duplicate: true, Reason: "duplicate"},
		{Outcome: telemetry.Retry, Reason: contract.ReasonArchiveUnavailable},
		{Outcome: telemetry.Reject, Reason: telemetry.GaveUpReason}, {Outcome: telemetry.Dropped, Reason: "signature-mismatch"},
	} {
		b.Record(ctx, r)
	}
	if err := b.Flush(&docs, time.Now()); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(docs.String()), "\n") {
		var doc struct {
			AWS struct {
				CloudWatchMetrics []struct {
					Namespace  string
					Dimensions [][]string
					Metrics    []struct{ Name string }
				}
			} `json:"_aws"`
		}
		if err := json.Unmarshal([]byte(line), &doc); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		for _, d := range doc.AWS.CloudWatchMetrics {
			for _, dims := range d.Dimensions {
				dims = append([]string(nil), dims...)
				sort.Strings(dims)
				for _, m := range d.Metrics {
					out[d.Namespace+" "+m.Name+" "+strings.Join(dims, ",")] = true
				}
			}
		}
	}
	return out
}

// TestAlarmsAndWidgetsReadWrittenMetrics: every metric an alarm or a
// dashboard widget of the dev and prod plans reads is listed in
// docs/operations.md's table with where it comes from, and every one in
// hookline's namespace is declared, with those dimensions, by the
// consumer's real metrics documents: a change to the log shape that drops
// a metric something reads fails here.
func TestAlarmsAndWidgetsReadWrittenMetrics(t *testing.T) {
	doc, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	table := map[string]bool{} // "namespace metric" of each row
	for _, line := range strings.Split(string(doc), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 6 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		ns := strings.Trim(strings.TrimSpace(cells[1]), "`")
		for _, f := range strings.FieldsFunc(cells[2], func(r rune) bool { return r == '`' || r == ',' || r == '/' || r == ' ' || r == '(' || r == ')' }) {
			table[ns+" "+f] = true
		}
	}
	written := declaredMetrics(t)
	seen := 0
	for _, stack := range []string{"dev", "prod"} {
		for _, m := range metricsRead(t, "..", stack) {
			seen++
			if !table[m.Namespace+" "+m.Metric] {
				t.Errorf("%s (%s) reads %s %s, not in docs/operations.md's table of metrics", m.By, stack, m.Namespace, m.Metric)
			}
			if m.Namespace == contract.MetricNamespace && !written[m.Namespace+" "+m.Metric+" "+m.Dimensions] {
				t.Errorf("%s (%s) reads %s %s by [%s]: the consumer's metrics documents declare no such metric (they declare %v)", m.By, stack, m.Namespace, m.Metric, m.Dimensions, written)
			}
		}
	}
	if seen == 0 {
		t.Fatal("no alarm or widget read")
	}
}
