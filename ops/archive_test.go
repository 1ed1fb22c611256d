package ops_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/ops"
	"github.com/hookline/hookline/stackconfig"
)

// TestArchiveCost: hand-computed cases.
//
// "github": 1 webhook/s of 1 KB, kept 30 days: 2,592,000 deliveries of
// 4 x 342 + 750 = 2,118 bytes, each billed as 5,120 bytes (an all-ok batch
// writes no outcome record).
//
//	Firehose 2,592,000 x 5,120 B / 2^30 = 12.360 GB x $0.029       = 0.358429
//	storage  2,592,000 x 2,118 B x 0.15 / 2^30 = 0.7669 GB x 30/30 x $0.023 = 0.017639
//	PUTs     one object per 300 s: 8,640 x $0.005 / 1,000             = 0.0432
//	KMS      8,640 x $0.03 / 10,000                                   = 0.02592
//
// "busy": 100 webhooks/s of 8 KB, kept 90 days: a delivery is
// 4 x 2,731 + 750 = 11,674 bytes, billed 15,360; the lines fill 64 MiB
// sooner than 300 s (259.2 M x 11,674 B / 64 MiB = 45,090 objects).
func TestArchiveCost(t *testing.T) {
	gib := float64(1 << 30)
	cases := []struct {
		name string
		t    ops.Traffic
		days int
		want ops.ArchiveCost
	}{
		{"github", ops.Traffic{RPS: 1, BodyKB: 1}, 30, ops.ArchiveCost{
			Records: 2592000, IngestedGB: 2592000 * 5120 / gib, StoredGB: 2592000 * 2118 * 0.15 / gib, Objects: 8640,
			Firehose: 2592000 * 5120 / gib * 0.029, Storage: 2592000 * 2118 * 0.15 / gib * 0.023, Puts: 0.0432, KMS: 0.02592}},
		{"busy", ops.Traffic{RPS: 100, BodyKB: 8}, 90, ops.ArchiveCost{
			Records: 259200000, IngestedGB: 259200000 * 15360 / gib,
			StoredGB: 259200000 * 11674 * 0.15 / gib * 3, Objects: 45090,
			Firehose: 259200000 * 15360 / gib * 0.029, Storage: 259200000 * 11674 * 0.15 / gib * 3 * 0.023,
			Puts: 45090 * 0.005 / 1000, KMS: 45090 * 0.03 / 10000}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := ops.ArchiveCostOf(tc.t, tc.days, ops.DefaultPrices)
			w := tc.want
			w.Total = w.Firehose + w.Storage + w.Puts + w.KMS
			w.PerMillion = w.Total / (tc.t.RPS * ops.SecondsPerMonth / 1e6)
			for _, f := range []struct {
				name      string
				got, want float64
			}{
				{"records", got.Records, w.Records}, {"ingested", got.IngestedGB, w.IngestedGB}, {"stored", got.StoredGB, w.StoredGB},
				{"objects", got.Objects, w.Objects}, {"firehose", got.Firehose, w.Firehose}, {"storage", got.Storage, w.Storage},
				{"puts", got.Puts, w.Puts}, {"kms", got.KMS, w.KMS}, {"total", got.Total, w.Total}, {"per million", got.PerMillion, w.PerMillion},
			} {
				if !near(f.got, f.want) {
					t.Errorf("%s = %.6f, want %.6f", f.name, f.got, f.want)
				}
			}
		})
	}
	if got := ops.ArchiveCostOf(ops.Traffic{RPS: 0, BodyKB: 1}, 30, ops.DefaultPrices); got != (ops.ArchiveCost{}) {
		t.Errorf("no traffic archives nothing: %+v", got)
	}
	// A trickle writes an object per webhook, not one per interval.
	if got := ops.ArchiveCostOf(ops.Traffic{RPS: 0.001, BodyKB: 1}, 30, ops.DefaultPrices); !near(got.Objects, 2592) {
		t.Errorf("0.001/s: %.0f objects, want 2,592", got.Objects)
	}
}

// TestArchiveIsOutsideTheRatio: the archive is its own line of each source,
// in the total and beside the estimate; the estimate, the floor and their
// ratio are what they are without it, and turning the archive off removes
// the line.
func TestArchiveIsOutsideTheRatio(t *testing.T) {
	s := stackconfig.Source{Name: "github", Function: stackconfig.Function{MemoryMB: 128, MaxConcurrency: 2}}
	on := &stackconfig.Config{Ingress: "http", Archive: stackconfig.Archive{RetentionDays: 30}, Sources: []stackconfig.Source{s}}
	off := false
	offCfg := &stackconfig.Config{Ingress: "http", Archive: stackconfig.Archive{Enabled: &off, RetentionDays: 30}, Sources: []stackconfig.Source{s}}
	tr := ops.Traffic{RPS: 1, BodyKB: 1, Groups: 10, RecordMS: 10}
	a, b := ops.StackCost(on, tr, ops.DefaultPrices).Sources[0], ops.StackCost(offCfg, tr, ops.DefaultPrices).Sources[0]
	want := ops.ArchiveCostOf(tr, 30, ops.DefaultPrices)
	if a.ArchiveDetail == nil || !near(a.Archive, want.Total) || a.Archive <= 0 {
		t.Fatalf("archive line %v %+v, want %+v", a.Archive, a.ArchiveDetail, want)
	}
	if b.Archive != 0 || b.ArchiveDetail != nil {
		t.Errorf("archive off: %v %+v", b.Archive, b.ArchiveDetail)
	}
	if !near(a.Total, b.Total+a.Archive) || !near(a.Estimate, b.Estimate) || !near(a.Ratio, b.Ratio) || !near(a.Floor.Total, b.Floor.Total) {
		t.Errorf("on: total %.4f estimate %.4f ratio %.4f; off: total %.4f estimate %.4f ratio %.4f", a.Total, a.Estimate, a.Ratio, b.Total, b.Estimate, b.Ratio)
	}
	raw, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	_ = json.Unmarshal(raw, &doc)
	detail, _ := doc["archiveDetail"].(map[string]any)
	for _, k := range []string{"records", "ingestedGb", "storedGb", "objects", "firehose", "storage", "puts", "kms", "total", "perMillion"} {
		if _, ok := detail[k]; !ok {
			t.Errorf("archiveDetail lacks %s: %s", k, raw)
		}
	}
}

// TestArchiveSizesAreMeasured: the model's record sizes and GZIP ratio
// hold for hookline's own entries of the shipped example bodies: the
// delivery overhead is within its constant, and
// an object of such lines compresses to no more than ArchiveGzipRatio.
func TestArchiveSizesAreMeasured(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "examples", "*-event.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no example bodies: %v", err)
	}
	var bodies [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, b)
	}
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	record := func(i int, body []byte) *contract.Record {
		id := fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", i*2654435761%(1<<32), i%65536, i%4096, (i*7)%4096, i*48271)
		return &contract.Record{MessageID: id, GroupID: fmt.Sprint(100000 + i%20), DeduplicationID: id, SequenceNumber: fmt.Sprintf("18%018d", i*7919),
			ReceiveCount: 1, SentAt: at.Add(time.Duration(i) * time.Second).UnixMilli(), Body: body, Attrs: []contract.Attr{
				{Name: contract.AttrSource, Value: "github"}, {Name: contract.AttrRequestID, Value: id},
				{Name: contract.AttrReceivedAt, Value: fmt.Sprint(at.Add(time.Duration(i) * time.Second).UnixMilli())},
				{Name: contract.AttrSourceIP, Value: fmt.Sprintf("140.82.115.%d", i%255)}, {Name: contract.AttrContentType, Value: "application/json"},
				{Name: contract.AttrEventID, Value: id}, {Name: "x-hub-signature-256", Value: fmt.Sprintf("sha256=%064x", i*104729)},
				{Name: "x-github-hook-id", Value: "123456789"}}}
	}
	empty := contract.ArchiveDeliveryEntry("github", record(1, nil), at).Line()
	if len(empty) > ops.ArchiveDeliveryOverheadBytes {
		t.Errorf("a delivery entry without body is %d bytes, over the model's %d", len(empty), ops.ArchiveDeliveryOverheadBytes)
	}
	// Five minutes at 1 webhook/s: 300 deliveries (all ok: no outcome
	// lines).
	var lines bytes.Buffer
	for i := 0; i < 300; i++ {
		r := record(i, bodies[i%len(bodies)])
		lines.Write(contract.ArchiveDeliveryEntry("github", r, at).Line())
	}
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	_, _ = w.Write(lines.Bytes())
	_ = w.Close()
	ratio := float64(gz.Len()) / float64(lines.Len())
	t.Logf("300 deliveries of %d example bodies: %d bytes of lines, %d GZIP: ratio %.3f (the model assumes %.2f)", len(bodies), lines.Len(), gz.Len(), ratio, ops.ArchiveGzipRatio)
	if ratio > ops.ArchiveGzipRatio {
		t.Errorf("GZIP ratio %.3f is above the model's %.2f", ratio, ops.ArchiveGzipRatio)
	}
}
