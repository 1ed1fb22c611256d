package ops_test

import (
	"math"
	"strings"
	"testing"

	"github.com/hookline/hookline/ops"
	"github.com/hookline/hookline/stackconfig"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6*math.Max(1, math.Abs(b)) }

// Hand-computed cases. Case "busy": 10 webhooks/s of 1 KB for a month
// (25,920,000 messages); min(10 groups, 5 concurrency) = 5 consumers, so
// batches of floor(10/5) = 2 and 12,960,000 invocations.
//
//	API      25.92 M x $3.50/M                                   = 90.72
//	SQS      (25.92 M sends + 12.96 M receives + 12.96 M deletes) x $0.50/M = 25.92
//	Lambda   12.96 M x $0.20/M                                   = 2.592
//	compute  12.96 M x 0.020 s x 0.25 GB x $0.0000133334         = 0.8640043
//	logs     (12.96 M x 159 B + 25.92 M x 155 B) / 2^30 x $0.50  = 2.8304...
//	         (a metrics document an invocation, an access log line a
//	         request: their lengths for source "busy" are pinned below)
//	DynamoDB 2 x 25.92 M x $0.625/M                              = 32.40
//
// Case "trickle": 0.1 webhook/s of 100 KB (two 64 KB chunks), one group:
// 259,200 messages in batches of 1.
//
//	API      0.2592 M x 3.50                                     = 0.9072
//	SQS      (518,400 sends + 518,400 receives + 259,200 deletes) x 0.50/M = 0.6480
//	Lambda   0.2592 M x 0.20                                     = 0.05184
//	compute  259,200 x 0.050 s x 0.5 GB x 0.0000133334            = 0.0864004
//	logs     259,200 x (162 B + 158 B) / 2^30 x 0.50             = 0.0386238
//
// Both pay the mapping's pollers: 5 x 2,592,000 s / 20 s = 648,000 empty
// receives x $0.50/M = 0.324 a month.
func TestSourceCost(t *testing.T) {
	// The lines' lengths: the consumer's metrics document (measured from
	// the binary by handler.TestLogBytesPerWebhook) and a REST access log
	// line, for these source names.
	for _, l := range []struct {
		what      string
		got, want float64
	}{
		{"busy document", ops.ConsumerLogBytes("busy", 2), 159}, {"busy access line", ops.AccessLogBytes("rest", "busy"), 155},
		{"trickle document", ops.ConsumerLogBytes("trickle", 1), 162}, {"trickle access line", ops.AccessLogBytes("rest", "trickle"), 158},
	} {
		if l.got != l.want {
			t.Errorf("%s: %v bytes, the hand computation below says %v", l.what, l.got, l.want)
		}
	}
	busyLogs := (12960000.0*159 + 25920000.0*155) / (1 << 30) * 0.5
	trickleLogs := 259200.0 * (162 + 158) / (1 << 30) * 0.5
	cases := []struct {
		name    string
		source  stackconfig.Source
		traffic ops.Traffic
		want    ops.Costs
	}{
		{"busy", stackconfig.Source{Name: "busy", Function: stackconfig.Function{MemoryMB: 256, MaxConcurrency: 5}, Idempotency: stackconfig.Idempotency{Enabled: true}},
			ops.Traffic{RPS: 10, BodyKB: 1, Groups: 10, RecordMS: 10},
			ops.Costs{Source: "busy", BatchSize: 2, APIGateway: 90.72, SQS: 25.92, LambdaRequests: 2.592, LambdaCompute: 0.864004320, Logs: busyLogs, DynamoDB: 32.4,
				Total: 90.72 + 25.92 + 2.592 + 0.86400432 + busyLogs + 0.324 + 32.4, Dominant: "apiGateway"}},
		{"trickle", stackconfig.Source{Name: "trickle", Function: stackconfig.Function{MemoryMB: 512, MaxConcurrency: 2}},
			ops.Traffic{RPS: 0.1, BodyKB: 100, Groups: 1, RecordMS: 50},
			ops.Costs{Source: "trickle", BatchSize: 1, APIGateway: 0.9072, SQS: 0.648, LambdaRequests: 0.05184, LambdaCompute: 0.086400432, Logs: trickleLogs,
				Total: 0.9072 + 0.648 + 0.05184 + 0.086400432 + trickleLogs + 0.324, Dominant: "apiGateway"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := ops.SourceCost(tc.source, "rest", tc.traffic, ops.DefaultPrices)
			for _, f := range []struct {
				name      string
				got, want float64
			}{
				{"batch", got.BatchSize, tc.want.BatchSize}, {"api", got.APIGateway, tc.want.APIGateway}, {"sqs", got.SQS, tc.want.SQS},
				{"lambda requests", got.LambdaRequests, tc.want.LambdaRequests}, {"compute", got.LambdaCompute, tc.want.LambdaCompute},
				{"logs", got.Logs, tc.want.Logs}, {"dynamodb", got.DynamoDB, tc.want.DynamoDB}, {"total", got.Total, tc.want.Total},
			} {
				if !near(f.got, f.want) {
					t.Errorf("%s = %.9f, want %.9f", f.name, f.got, f.want)
				}
			}
			if got.Dominant != tc.want.Dominant {
				t.Errorf("dominant = %s", got.Dominant)
			}
		})
	}
}

func TestBatchSize(t *testing.T) {
	for _, tc := range []struct {
		rps          float64
		groups, conc int
		want         float64
	}{{0.01, 1, 5, 1}, {10, 10, 5, 2}, {1000, 3, 50, 10}, {50, 100, 5, 10}, {7, 0, 0, 7}} {
		if got := ops.BatchSize(tc.rps, tc.groups, tc.conc); got != tc.want {
			t.Errorf("BatchSize(%v, %d, %d) = %v, want %v", tc.rps, tc.groups, tc.conc, got, tc.want)
		}
	}
}

func TestCapacity(t *testing.T) {
	c := &stackconfig.Config{Throttle: stackconfig.Throttle{RateLimit: 50, BurstLimit: 25}}
	f := false
	cases := []struct {
		name     string
		source   stackconfig.Source
		groups   int
		recordMS float64
		rate     float64
		binds    string
		problem  bool
	}{
		// usage plan 20/s < stage 50/s; 3 groups x 100/s = 300; 2 x 100 = 200.
		{"usage plan binds", stackconfig.Source{Auth: stackconfig.Auth{UsagePlan: &stackconfig.UsagePlan{RateLimit: 20}}, Function: stackconfig.Function{MaxConcurrency: 2, TimeoutSeconds: 30}}, 3, 10, 20, "api-gateway", false},
		// one group at 50 ms/record: 20/s, below concurrency (10 x 20 = 200) and the stage (50).
		{"one group binds", stackconfig.Source{Function: stackconfig.Function{MaxConcurrency: 10, TimeoutSeconds: 30}}, 1, 50, 20, "group-count", false},
		// 100 groups, 2 concurrent invocations at 50 ms: 40/s.
		{"concurrency binds", stackconfig.Source{Function: stackconfig.Function{MaxConcurrency: 2, TimeoutSeconds: 30}}, 100, 50, 40, "function-concurrency", false},
		// high throughput off: 300 SendMessage/s, under a 10,000/s stage.
		{"FIFO rate binds", stackconfig.Source{HighThroughput: &f, Function: stackconfig.Function{MaxConcurrency: 1000, TimeoutSeconds: 30}}, 10000, 1, 300, "fifo-api-rate", false},
		// 10 records x 5 s > 30 s timeout.
		{"batch exceeds timeout", stackconfig.Source{Function: stackconfig.Function{MaxConcurrency: 2, TimeoutSeconds: 30}}, 1, 5000, 0.2, "group-count", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := *c
			if tc.name == "FIFO rate binds" {
				cfg.Throttle.RateLimit = 10000
			}
			got := ops.SourceCapacity(&cfg, tc.source, tc.groups, tc.recordMS)
			if !near(got.Rate, tc.rate) || got.Binds != tc.binds || (got.Problem != "") != tc.problem {
				t.Errorf("got %.3f/s bound by %s (problem %q), want %.3f by %s", got.Rate, got.Binds, got.Problem, tc.rate, tc.binds)
			}
		})
	}
}

// TestAuthorizerCost: with caching the authorizer runs once per TTL, not per
// request, so a token source costs what an apiKey source does plus a few
// cents; without caching it runs per request.
func TestAuthorizerCost(t *testing.T) {
	p := ops.DefaultPrices
	cached := ops.AuthorizerCost(100, 300, p)
	runs := float64(ops.SecondsPerMonth) / 300 // 8640
	want := runs/1e6*p.LambdaRequestsPerMillion + runs*0.010*128.0/1024*p.LambdaGBSecond
	if math.Abs(cached-want) > 1e-9 {
		t.Errorf("cached: %v, want %v", cached, want)
	}
	uncached := ops.AuthorizerCost(100, 0, p)
	if uncached < 1000*cached {
		t.Errorf("TTL 0 should run per request: %v vs %v", uncached, cached)
	}
	if got := ops.AuthorizerCost(0.001, 300, p); got >= cached {
		t.Errorf("a trickle below one request per TTL runs per request: %v", got)
	}
	if ops.AuthorizerCost(0, 300, p) != 0 {
		t.Error("no traffic, no runs")
	}
}

// TestHTTPIngressCost: an HTTP API request costs $1.00 per million where a
// REST API request costs $3.50; nothing else changes, and at 1 webhook/s a
// source without idempotency costs at least 40% less per million.
func TestHTTPIngressCost(t *testing.T) {
	s := stackconfig.Source{Name: "github", Function: stackconfig.Function{MemoryMB: 256, MaxConcurrency: 2}}
	tr := ops.Traffic{RPS: 1, BodyKB: 1, Groups: 10, RecordMS: 10}
	rest := ops.SourceCost(s, "rest", tr, ops.DefaultPrices)
	http := ops.SourceCost(s, "http", tr, ops.DefaultPrices)
	// The access log lines differ too (a REST request id is a UUID).
	logs := (rest.Logs - http.Logs) / (tr.RPS * ops.SecondsPerMonth / 1e6)
	if d := rest.PerMillion - http.PerMillion; math.Abs(d-2.50-logs) > 1e-9 || logs <= 0 || logs > 0.02 {
		t.Errorf("per million: rest %.4f, http %.4f, differ by %.4f, want 2.50 and the logs' %.4f", rest.PerMillion, http.PerMillion, d, logs)
	}
	if math.Abs(http.APIGateway/(tr.RPS*ops.SecondsPerMonth/1e6)-1.00) > 1e-9 || http.SQS != rest.SQS || http.LogBytes.Consumer != rest.LogBytes.Consumer {
		t.Errorf("http: %+v, rest: %+v", http, rest)
	}
	if http.PerMillion > 0.6*rest.PerMillion {
		t.Errorf("http %.2f is not 40%% below rest %.2f per million", http.PerMillion, rest.PerMillion)
	}
	if http.Ingress != "http" || rest.Ingress != "rest" {
		t.Errorf("ingress %q %q", http.Ingress, rest.Ingress)
	}
}

// TestStackAPIRate: hookline:throttle is each route's default, not a cap on
// the stage: three sources at a default of 50/s reach 150/s together, a
// source's own throttle counts instead of the default, and the account's
// regional rate bounds the sum (issue 27 item 8).
func TestStackAPIRate(t *testing.T) {
	c := &stackconfig.Config{Throttle: stackconfig.Throttle{RateLimit: 50, BurstLimit: 25}, Sources: []stackconfig.Source{{Name: "a"}, {Name: "b"}, {Name: "c"}}}
	if got := ops.StackAPIRate(c); !near(got.Rate, 150) || !strings.Contains(got.Why, "each route") {
		t.Errorf("three routes at 50/s: %+v, want 150/s", got)
	}
	c.Sources[2].Throttle = &stackconfig.Throttle{RateLimit: 5, BurstLimit: 5}
	if got := ops.StackAPIRate(c); !near(got.Rate, 105) {
		t.Errorf("with a route throttle of 5/s: %+v, want 105/s", got)
	}
	c.Throttle.RateLimit = 6000
	if got := ops.StackAPIRate(c); !near(got.Rate, ops.AccountAPIRate) || !strings.Contains(got.Why, "account") {
		t.Errorf("past the account's rate: %+v", got)
	}
	if why := ops.SourceCapacity(c, stackconfig.Source{Function: stackconfig.Function{MaxConcurrency: 1000, TimeoutSeconds: 30}}, 10000, 0.1).Limits[0].Why; !strings.Contains(why, "each route") || strings.Contains(why, "stage throttle") {
		t.Errorf("the capacity model calls hookline:throttle %q", why)
	}
}

// TestFloor: a github source (256 MB, maxConcurrency 2, 10 groups, 1 KB,
// 10 ms per record) on an HTTP API, hand-computed. Two consumers, so batches
// of floor(rps/2), at most 10; each rate's month has rps x 2,592,000 webhooks.
//
//	1/s    2.592 M webhooks, batch 1, 2.592 M invocations
//	  API     2.592 x $1.00                                  = 2.592
//	  SQS     (2.592 + 2.592 + 2.592) M x $0.50              = 3.888
//	  Lambda  2.592 x $0.20                                  = 0.5184
//	  compute 2.592 M x 0.010 s x 0.25 GB x $0.0000133334     = 0.0864004
//	  pollers                                                 = 0.324
//	  floor                                                   = 7.4088004 ($2.8583/M)
//	10/s   25.92 M webhooks, batch 5, 5.184 M invocations
//	  API 25.92; SQS (25.92 + 5.184 + 5.184) x 0.50 = 18.144; Lambda 1.0368;
//	  compute 5.184 M x 0.050 s x 0.25 x 0.0000133334 = 0.8640043; pollers 0.324
//	  floor                                                   = 46.2888043 ($1.7858/M)
//	100/s  259.2 M webhooks, batch 10, 25.92 M invocations
//	  API 259.2; SQS (259.2 + 25.92 + 25.92) x 0.50 = 155.52; Lambda 5.184;
//	  compute 25.92 M x 0.100 s x 0.25 x 0.0000133334 = 8.640043; pollers 0.324
//	  floor                                                   = 428.868043 ($1.6546/M)
//
// The estimate adds the logs (and, through an authorizer, its runs): the
// ratio is the estimate over the floor, DynamoDB outside it.
func TestFloor(t *testing.T) {
	s := stackconfig.Source{Name: "github", Function: stackconfig.Function{MemoryMB: 256, MaxConcurrency: 2}}
	for _, tc := range []struct {
		name                             string
		rps, batch                       float64
		api, sqs, lambda, compute, floor float64
	}{
		{"1/s", 1, 1, 2.592, 3.888, 0.5184, 0.086400432, 7.408800432},
		{"10/s", 10, 5, 25.92, 18.144, 1.0368, 0.86400432, 46.28880432},
		{"100/s", 100, 10, 259.2, 155.52, 5.184, 8.6400432, 428.8680432},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ops.SourceCost(s, "http", ops.Traffic{RPS: tc.rps, BodyKB: 1, Groups: 10, RecordMS: 10}, ops.DefaultPrices)
			msgs := tc.rps * ops.SecondsPerMonth
			for _, f := range []struct {
				name      string
				got, want float64
			}{
				{"batch", got.BatchSize, tc.batch}, {"floor api", got.Floor.APIGateway, tc.api}, {"floor sqs", got.Floor.SQS, tc.sqs},
				{"floor lambda", got.Floor.LambdaRequests, tc.lambda}, {"floor compute", got.Floor.LambdaCompute, tc.compute},
				{"floor pollers", got.Floor.Pollers, 0.324}, {"floor", got.Floor.Total, tc.floor},
				{"floor per million", got.Floor.PerMillion, tc.floor / (msgs / 1e6)},
				{"estimate", got.Estimate, tc.floor + got.Logs}, {"ratio", got.Ratio, (tc.floor + got.Logs) / tc.floor},
			} {
				if !near(f.got, f.want) {
					t.Errorf("%s = %.9f, want %.9f", f.name, f.got, f.want)
				}
			}
			if got.AboveFloor != "logs" {
				t.Errorf("above the floor: %s, want logs", got.AboveFloor)
			}
		})
	}
	// Idempotency is a separate line: in the total, outside the ratio.
	s.Idempotency.Enabled = true
	got := ops.SourceCost(s, "http", ops.Traffic{RPS: 1, BodyKB: 1, Groups: 10, RecordMS: 10}, ops.DefaultPrices)
	if !near(got.DynamoDB, 3.24) || !near(got.Estimate, got.Total-3.24) || !near(got.Ratio, got.Estimate/7.408800432) {
		t.Errorf("with idempotency: %+v", got)
	}
}

// TestPollersWithoutTraffic: with no webhooks at all the mapping's pollers
// still make empty long-poll receives: 5 pollers, one receive each per 20 s,
// 648,000 a month at $0.50/M = $0.324, and that is the whole bill and floor.
func TestPollersWithoutTraffic(t *testing.T) {
	s := stackconfig.Source{Name: "idle", Function: stackconfig.Function{MemoryMB: 256, MaxConcurrency: 2}}
	got := ops.SourceCost(s, "http", ops.Traffic{RPS: 0, BodyKB: 1, Groups: 10, RecordMS: 10}, ops.DefaultPrices)
	if !near(ops.PollerCost(ops.DefaultPrices), 0.324) || !near(got.Pollers, 0.324) || !near(got.Floor.Pollers, 0.324) ||
		!near(got.Floor.Total, 0.324) || !near(got.Total, 0.324) || !near(got.Ratio, 1) || got.PerMillion != 0 {
		t.Errorf("no traffic: %+v", got)
	}
	c := &stackconfig.Config{Ingress: "http", Sources: []stackconfig.Source{s, {Name: "other", Function: s.Function}}}
	if e := ops.StackCost(c, ops.Traffic{}, ops.DefaultPrices); !near(e.Total, 2*0.324) || e.Dominant != "pollers" {
		t.Errorf("a stack of two idle sources: total %.4f (%s), want 0.648 (pollers)", e.Total, e.Dominant)
	}
}

// TestTracing: X-Ray records 1 request a second and 5% of the rest, of the
// consumer's invocations and (REST only: an HTTP API does not trace) of the
// stage's requests, at $5.00 per million traces.
//
//	1/s http, batch 1:   1 invocation/s, all traced: 2.592 M x $5 = 12.96
//	100/s http, batch 10: 10 invocations/s: 1 + 0.05 x 9 = 1.45/s traced:
//	                      3.7584 M x $5 = 18.792
//	100/s rest, batch 10: and the stage's 1 + 0.05 x 99 = 5.95/s:
//	                      (1.45 + 5.95) x 2.592 M x $5 = 95.904
func TestTracing(t *testing.T) {
	p := ops.DefaultPrices
	for _, tc := range []struct {
		ingress    string
		rps, batch float64
		want       float64
	}{
		{"http", 1, 1, 12.96}, {"http", 100, 10, 18.792}, {"rest", 100, 10, 95.904}, {"http", 0, 1, 0},
	} {
		if got := ops.TracingCost(tc.ingress, tc.rps, tc.batch, 0, p); !near(got, tc.want) {
			t.Errorf("%s %g/s batch %g: %.4f, want %.4f", tc.ingress, tc.rps, tc.batch, got, tc.want)
		}
	}
	if got := ops.TracedPerSecond(0.5); got != 0.5 {
		t.Errorf("below the reservoir every request is traced: %v", got)
	}
}

// TestAccessLogsOff: a stack without access logs pays for the consumer's
// lines alone.
func TestAccessLogsOff(t *testing.T) {
	off := false
	s := stackconfig.Source{Name: "github", Function: stackconfig.Function{MemoryMB: 256, MaxConcurrency: 2}}
	c := &stackconfig.Config{Ingress: "http", Sources: []stackconfig.Source{s}}
	tr := ops.Traffic{RPS: 1, BodyKB: 1, Groups: 10, RecordMS: 10}
	on := ops.StackCost(c, tr, ops.DefaultPrices).Sources[0]
	c.AccessLogs = &off
	without := ops.StackCost(c, tr, ops.DefaultPrices).Sources[0]
	if without.LogBytes.Access != 0 || on.LogBytes.Access == 0 || !near(without.Logs, on.Logs*on.LogBytes.Consumer/(on.LogBytes.Consumer+on.LogBytes.Access)) {
		t.Errorf("access logs off: %+v; on: %+v", without.LogBytes, on.LogBytes)
	}
}
