// Package ops holds the arithmetic of operating a webhook endpoint: what it
// costs per month at a given traffic, and how much traffic it sustains and
// which limit binds first. Pure functions, table-tested against hand-computed
// cases.
package ops

import (
	"encoding/json"
	"math"
	"sort"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/handler/telemetry"
	"github.com/hookline/hookline/stackconfig"
)

// Prices is the price table the estimate uses (us-east-1, USD). Every field
// is documented in the README with its unit; change them for other regions.
type Prices struct {
	APIRequestsPerMillion     float64 // REST API requests
	HTTPAPIRequestsPerMillion float64 // HTTP API requests (each up to 512 KB: one per webhook)
	SQSRequestsPerMillion     float64 // FIFO requests, per 64 KB chunk of payload
	LambdaRequestsPerMillion  float64
	LambdaGBSecond            float64 // arm64
	LogsIngestionPerGB        float64
	DynamoDBWriteUnitsPerMill float64 // on-demand write request units (1 KB each)
	// The archive's.
	FirehoseIngestionPerGB float64 // Direct PUT ingestion, each record rounded up to 5 KB
	S3StandardGBMonth      float64 // S3 Standard storage
	S3PutsPerThousand      float64 // S3 PUT, COPY, POST, LIST requests
	KMSRequestsPer10K      float64 // symmetric key requests
	// X-Ray, where the stack traces (hookline:tracing active).
	XRayTracesPerMillion float64 // traces recorded
}

// DefaultPrices are us-east-1 list prices, each from AWS's price page named
// in docs/cost.md ("Where each price comes from"): API Gateway (REST $3.50,
// HTTP $1.00 per million, first tier), SQS (FIFO $0.50 per million requests,
// each 64 KB chunk of a payload billed as one), Lambda ($0.20 per million
// requests, arm64 $0.0000133334 per GB-second, first tier), CloudWatch Logs
// (standard class ingestion $0.50 per GB) and DynamoDB (on-demand $0.625 per
// million write request units since the November 2024 price cut); for the
// archive, Amazon Data Firehose (Direct PUT ingestion $0.029 per GB, first
// 500 TB a month, each record rounded up to 5 KB), Amazon S3 (Standard
// storage $0.023 per GB-month, first 50 TB; PUT requests $0.005 per 1,000)
// and AWS KMS ($0.03 per 10,000 symmetric requests); AWS X-Ray ($5.00 per
// million traces recorded).
var DefaultPrices = Prices{
	APIRequestsPerMillion:     3.50,
	HTTPAPIRequestsPerMillion: 1.00,
	SQSRequestsPerMillion:     0.50,
	LambdaRequestsPerMillion:  0.20,
	LambdaGBSecond:            0.0000133334,
	LogsIngestionPerGB:        0.50,
	DynamoDBWriteUnitsPerMill: 0.625,
	FirehoseIngestionPerGB:    0.029,
	S3StandardGBMonth:         0.023,
	S3PutsPerThousand:         0.005,
	KMSRequestsPer10K:         0.03,
	XRayTracesPerMillion:      5.00,
}

// SecondsPerMonth is a 30-day month.
const SecondsPerMonth = 30 * 24 * 3600

// Log volume, in bytes, measured from what hookline writes rather than
// typed in. The consumer writes, at its default level, one metrics document
// per invocation and no line for an ok delivery: telemetry.OKBatchBytes
// encodes that document, and the handler's emulator test
// (TestLogBytesPerWebhook) checks the real binary writes exactly those bytes
// for batches of 1, 5 and 10. Lambda's own START/END/REPORT lines are not
// written: hookline's functions log in Lambda's JSON format with
// systemLogLevel WARN, at which a successful invocation's platform events
// (start and report at INFO, runtimeDone at DEBUG) are filtered out. The
// stage writes one access log line per request: contract.AccessLogSample,
// its fields at their usual lengths.

// ConsumerLogBytes is what one invocation of batch ok deliveries of source
// writes.
func ConsumerLogBytes(source string, batch float64) float64 {
	return float64(telemetry.OKBatchBytes(source, int(math.Max(1, batch))))
}

// AccessLogBytes is one access log line of a request to source's route.
func AccessLogBytes(ingress, source string) float64 {
	return float64(len(contract.AccessLogSample(ingress, source)))
}

// LogBytes is what a source writes to CloudWatch Logs per webhook: its
// share of the consumer's invocation and its access log line.
type LogBytes struct {
	Consumer float64 `json:"consumer"`
	Access   float64 `json:"access"`
}

// X-Ray's sampling of a traced function or stage: "1 request per second
// and 5 percent of additional requests" (Lambda Developer Guide,
// services-xray: "You can't configure the X-Ray sampling rate for your
// functions"; the same default rule for a REST stage). AWS does not say
// whether the reservoir is per function or per execution environment: this
// takes it per function (the lower count).
const (
	XRayReservoirPerSecond = 1
	XRayFixedRate          = 0.05
)

// TracedPerSecond is how many of rate requests a second X-Ray records.
func TracedPerSecond(rate float64) float64 {
	if rate <= 0 {
		return 0
	}
	return math.Min(rate, XRayReservoirPerSecond+XRayFixedRate*math.Max(0, rate-XRayReservoirPerSecond))
}

// TracingCost is the monthly X-Ray cost of a source whose functions trace
// (Active): the consumer's sampled invocations, the REST stage's sampled
// requests (an HTTP API does not trace) and the edge authorizer's runs.
func TracingCost(ingress string, rps, batch, authorizerRuns float64, p Prices) float64 {
	traces := TracedPerSecond(rps/math.Max(1, batch)) * SecondsPerMonth
	if ingress == contract.IngressREST {
		traces += TracedPerSecond(rps) * SecondsPerMonth
	}
	traces += TracedPerSecond(authorizerRuns/SecondsPerMonth) * SecondsPerMonth
	return traces / 1e6 * p.XRayTracesPerMillion
}

// Poller assumptions: what a source's event source mapping costs with no
// traffic at all. AWS documents the SQS mapping's pollers for standard queues
// only ("Lambda uses long polling to poll a queue until it becomes active ...
// When traffic is low, Lambda scales back the processing to five concurrent
// batches, and can optimize to as few as 2 ... this optimization is not
// available when you enable the maximum concurrency setting", Lambda
// Developer Guide, services-sqs-scaling). hookline's mappings always set
// maximum concurrency, and AWS says nothing more for FIFO queues, so we assume
// five pollers per mapping, each a ReceiveMessage long poll that returns empty
// after SQS's maximum wait of 20 seconds: 5 x 2,592,000 s / 20 s = 648,000
// empty receives a month per source, $0.324 at the FIFO price. With traffic
// some of those polls return messages (counted as receives already), so the
// line is an upper bound, short of it by at most its own $0.32 a month.
const (
	IdlePollers     = 5
	LongPollSeconds = 20
)

// PollerCost is the monthly cost of one mapping's pollers' empty long-poll
// receives, paid with no traffic at all.
func PollerCost(p Prices) float64 {
	return IdlePollers * SecondsPerMonth / LongPollSeconds / 1e6 * p.SQSRequestsPerMillion
}

// FloorRates are the rates (webhooks/s) hookline cost prints the floor at.
var FloorRates = []float64{1, 10, 100}

// Floor is what a source's unavoidable requests cost a month at list price:
// one API Gateway request, one SQS send per webhook and one receive and one
// delete per batch (FIFO: no batching window, a poll returns what arrived),
// one Lambda invocation per batch and the compute of its records, and the
// mapping's pollers. Nothing in hookline's code can go below it.
type Floor struct {
	APIGateway     float64 `json:"apiGateway"`
	SQS            float64 `json:"sqs"`
	LambdaRequests float64 `json:"lambdaRequests"`
	LambdaCompute  float64 `json:"lambdaCompute"`
	Pollers        float64 `json:"pollers"`
	Total          float64 `json:"total"`
	PerMillion     float64 `json:"perMillion"`
}

// MarshalJSON shows the money to the cent, as Costs does.
func (f Floor) MarshalJSON() ([]byte, error) {
	type plain Floor
	r := plain(f)
	for _, v := range []*float64{&r.APIGateway, &r.SQS, &r.LambdaRequests, &r.LambdaCompute, &r.Pollers, &r.Total, &r.PerMillion} {
		*v = Cents(*v)
	}
	return json.Marshal(r)
}

// Traffic describes a source's load.
type Traffic struct {
	RPS      float64 `json:"rps"`      // webhooks per second
	BodyKB   float64 `json:"bodyKb"`   // average body size
	Groups   int     `json:"groups"`   // active message groups
	RecordMS float64 `json:"recordMs"` // processing time per record
}

// Costs is one source's monthly estimate in USD.
type Costs struct {
	Source string `json:"source"`
	// Ingress is the API Gateway flavour priced: rest or http.
	Ingress        string  `json:"ingress"`
	BatchSize      float64 `json:"batchSize"`
	APIGateway     float64 `json:"apiGateway"`
	SQS            float64 `json:"sqs"`
	LambdaRequests float64 `json:"lambdaRequests"`
	LambdaCompute  float64 `json:"lambdaCompute"`
	Logs           float64 `json:"logs"`
	// LogBytes are the bytes per webhook Logs prices.
	LogBytes LogBytes `json:"logBytes"`
	// Tracing is X-Ray's traces, when the stack traces.
	Tracing float64 `json:"tracing"`
	// Pollers is the mapping's empty long-poll receives: a fixed monthly
	// line, paid with no traffic (see IdlePollers).
	Pollers  float64 `json:"pollers"`
	DynamoDB float64 `json:"dynamodb"`
	// Archive is the archive's share (ArchiveDetail, when the stack
	// archives). Like DynamoDB it is priced as a separate line, outside the
	// ratio to the floor.
	Archive       float64      `json:"archive"`
	ArchiveDetail *ArchiveCost `json:"archiveDetail,omitempty"`
	// Authorizer is the edge authorizer's share: API Gateway caches its
	// answer per token for the TTL, so it runs about once per TTL for a
	// source's one token (128 MB, billed 1 ms granularity, ~10 ms).
	Authorizer float64 `json:"authorizer"`
	Total      float64 `json:"total"`
	// PerMillion is Total per million webhooks: what one more million costs
	// at this traffic.
	PerMillion float64 `json:"perMillion"`
	Dominant   string  `json:"dominant"`
	// Floor is what the path's unavoidable requests cost at this traffic.
	Floor Floor `json:"floor"`
	// Estimate is Total less the separate lines (DynamoDB, archive): what
	// Ratio compares with the floor.
	Estimate float64 `json:"estimate"`
	// Ratio is Estimate / Floor.Total.
	Ratio float64 `json:"ratio"`
	// AboveFloor names the largest part of the estimate above the floor.
	AboveFloor string `json:"aboveFloor"`
}

// RateEstimate is every source's estimate at one rate of FloorRates.
type RateEstimate struct {
	RPS     float64 `json:"rps"`
	Sources []Costs `json:"sources"`
}

// Estimate is a stack's monthly estimate.
type Estimate struct {
	Traffic  Traffic `json:"traffic"`
	Sources  []Costs `json:"sources"`
	Total    float64 `json:"total"`
	Dominant string  `json:"dominant"`
	Note     string  `json:"note"`
}

// Cents rounds an amount of USD to whole cents, as the JSON shows money.
func Cents(usd float64) float64 { return math.Round(usd*100) / 100 }

// MarshalJSON shows the money to the cent: the model is not more exact.
func (c Costs) MarshalJSON() ([]byte, error) {
	type plain Costs
	r := plain(c)
	for _, f := range []*float64{&r.APIGateway, &r.SQS, &r.LambdaRequests, &r.LambdaCompute, &r.Logs, &r.Tracing, &r.Pollers, &r.DynamoDB, &r.Archive, &r.Authorizer, &r.Total, &r.PerMillion, &r.Estimate} {
		*f = Cents(*f)
	}
	r.Ratio = math.Round(r.Ratio*1000) / 1000 // a ratio, not money: three decimals
	return json.Marshal(r)
}

// MarshalJSON shows the total to the cent, like each source's Costs.
func (e Estimate) MarshalJSON() ([]byte, error) {
	type plain Estimate
	r := plain(e)
	r.Total = Cents(r.Total)
	return json.Marshal(r)
}

// BatchSize is the records per invocation the traffic allows: a FIFO
// mapping runs min(groups, maxConcurrency) invocations at once, each
// receiving what arrived for it in about a second, at most 10.
func BatchSize(rps float64, groups, maxConcurrency int) float64 {
	conc := float64(min(max(groups, 1), max(maxConcurrency, 1)))
	return math.Min(10, math.Max(1, math.Floor(rps/conc)))
}

func chunks(kb float64) float64 { return math.Max(1, math.Ceil(kb/64)) }

// Authorizer run assumptions: the function's size and a warm run's billed time.
const (
	AuthorizerMemoryMB = 128
	AuthorizerBilledMS = 10
)

// AuthorizerCost is the monthly cost of the edge authorizer for one source
// with one credential: one run per cache TTL while traffic flows (at most
// one per request; every request with a TTL of 0).
func AuthorizerCost(rps float64, ttlSeconds int, p Prices) float64 {
	runs := AuthorizerRuns(rps, ttlSeconds)
	return runs/1e6*p.LambdaRequestsPerMillion + runs*AuthorizerBilledMS/1000*AuthorizerMemoryMB/1024*p.LambdaGBSecond
}

// AuthorizerRuns is how often the edge authorizer runs a month for one
// source with one credential.
func AuthorizerRuns(rps float64, ttlSeconds int) float64 {
	if rps <= 0 {
		return 0
	}
	runs := rps * SecondsPerMonth
	if ttlSeconds > 0 {
		runs = math.Min(runs, SecondsPerMonth/float64(ttlSeconds))
	}
	return runs
}

// SourceCost estimates one source's monthly cost behind ingress (rest or http).
func SourceCost(s stackconfig.Source, ingress string, t Traffic, p Prices) Costs {
	msgs := t.RPS * SecondsPerMonth
	b := BatchSize(t.RPS, t.Groups, s.Function.MaxConcurrency)
	invocations := msgs / b
	c := Costs{Source: s.Name, Ingress: ingress, BatchSize: b}
	perRequest := p.APIRequestsPerMillion
	if ingress == contract.IngressHTTP {
		perRequest = p.HTTPAPIRequestsPerMillion
	}
	c.APIGateway = msgs / 1e6 * perRequest
	sends := msgs * chunks(t.BodyKB)
	receives := invocations * chunks(b*t.BodyKB)
	deletes := invocations * chunks(b*t.BodyKB/64) // DeleteMessageBatch carries receipt handles, not bodies
	c.SQS = (sends + receives + deletes) / 1e6 * p.SQSRequestsPerMillion
	c.LambdaRequests = invocations / 1e6 * p.LambdaRequestsPerMillion
	billedSeconds := math.Max(1, math.Ceil(b*t.RecordMS)) / 1000
	c.LambdaCompute = invocations * billedSeconds * float64(s.Function.MemoryMB) / 1024 * p.LambdaGBSecond
	c.LogBytes = LogBytes{Consumer: ConsumerLogBytes(s.Name, b) / b, Access: AccessLogBytes(ingress, s.Name)}
	c.priceLogs(msgs, p)
	if s.Idempotency.Enabled {
		c.DynamoDB = 2 * msgs / 1e6 * p.DynamoDBWriteUnitsPerMill // take the marker, make it final
	}
	c.Pollers = PollerCost(p)
	// The floor counts the same requests at the same batch size, and the
	// compute of the measured per-record time: what no code of ours can cut.
	c.Floor = Floor{APIGateway: c.APIGateway, SQS: c.SQS, LambdaRequests: c.LambdaRequests, LambdaCompute: c.LambdaCompute, Pollers: c.Pollers}
	c.Floor.Total = c.Floor.APIGateway + c.Floor.SQS + c.Floor.LambdaRequests + c.Floor.LambdaCompute + c.Floor.Pollers
	c.Floor.PerMillion = perMillion(c.Floor.Total, msgs)
	c.finish(msgs)
	return c
}

// priceLogs prices LogBytes for msgs webhooks at CloudWatch Logs' standard
// ingestion price (per GB of 2^30 bytes).
func (c *Costs) priceLogs(msgs float64, p Prices) {
	c.Logs = msgs * (c.LogBytes.Consumer + c.LogBytes.Access) / (1 << 30) * p.LogsIngestionPerGB
}

// finish sums the lines, and compares the estimate with the floor.
func (c *Costs) finish(msgs float64) {
	c.Total = c.APIGateway + c.SQS + c.LambdaRequests + c.LambdaCompute + c.Logs + c.Tracing + c.Pollers + c.DynamoDB + c.Archive + c.Authorizer
	c.PerMillion = perMillion(c.Total, msgs)
	c.Dominant = dominant(map[string]float64{"apiGateway": c.APIGateway, "sqs": c.SQS, "lambdaRequests": c.LambdaRequests,
		"lambdaCompute": c.LambdaCompute, "logs": c.Logs, "tracing": c.Tracing, "pollers": c.Pollers, "dynamodb": c.DynamoDB, "archive": c.Archive, "authorizer": c.Authorizer})
	c.Estimate = c.Total - c.DynamoDB - c.Archive
	c.Ratio = 0
	if c.Floor.Total > 0 {
		c.Ratio = c.Estimate / c.Floor.Total
	}
	// Above the floor: what our code decides (the floor's lines are equal
	// in both, so only these differ).
	c.AboveFloor = dominant(map[string]float64{"logs": c.Logs, "tracing": c.Tracing, "authorizer": c.Authorizer})
}

func perMillion(total, msgs float64) float64 {
	if msgs <= 0 {
		return 0
	}
	return total / (msgs / 1e6)
}

func dominant(parts map[string]float64) string {
	keys := make([]string, 0, len(parts))
	for k := range parts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	best := ""
	for _, k := range keys {
		if best == "" || parts[k] > parts[best] {
			best = k
		}
	}
	return best
}

// StackCost estimates every source of a stack, each receiving t.
func StackCost(c *stackconfig.Config, t Traffic, p Prices) Estimate {
	note := "monthly USD at list prices, each source receiving the traffic; excludes free tiers, data transfer, alarms, the dashboard and the seal key (one KMS key a stack, about $1 a month; its MACs are made and checked only for re-sent messages)"
	if c.Archive.On() {
		note += "; the archive (each source's line) excludes its KMS key (one a stack, $1 a month, more once rotated) and Athena queries ($5 per TB scanned)"
	}
	e := Estimate{Traffic: t, Note: note}
	parts := map[string]float64{}
	for _, s := range c.Sources {
		sc := SourceCost(s, c.Ingress, t, p)
		msgs := t.RPS * SecondsPerMonth
		if !c.AccessLogsOn() {
			sc.LogBytes.Access = 0
			sc.priceLogs(msgs, p)
		}
		authorizerRuns := 0.0
		if c.ThroughAuthorizer(s) {
			sc.Authorizer = AuthorizerCost(t.RPS, s.AuthorizerCacheTTL(), p)
			authorizerRuns = AuthorizerRuns(t.RPS, s.AuthorizerCacheTTL())
		}
		if c.TracingOn() {
			sc.Tracing = TracingCost(c.Ingress, t.RPS, sc.BatchSize, authorizerRuns, p)
		}
		if c.Archive.On() {
			a := ArchiveCostOf(t, c.Archive.RetentionDays, p)
			sc.Archive, sc.ArchiveDetail = a.Total, &a
		}
		sc.finish(msgs)
		e.Sources = append(e.Sources, sc)
		e.Total += sc.Total
		parts["apiGateway"] += sc.APIGateway
		parts["sqs"] += sc.SQS
		parts["lambdaRequests"] += sc.LambdaRequests
		parts["lambdaCompute"] += sc.LambdaCompute
		parts["logs"] += sc.Logs
		parts["tracing"] += sc.Tracing
		parts["pollers"] += sc.Pollers
		parts["dynamodb"] += sc.DynamoDB
		parts["archive"] += sc.Archive
		parts["authorizer"] += sc.Authorizer
	}
	e.Dominant = dominant(parts)
	return e
}

// StackFloors estimates every source at each of FloorRates, the rest of t
// (body size, groups, time per record) unchanged.
func StackFloors(c *stackconfig.Config, t Traffic, p Prices) []RateEstimate {
	var out []RateEstimate
	for _, rps := range FloorRates {
		at := t
		at.RPS = rps
		out = append(out, RateEstimate{RPS: rps, Sources: StackCost(c, at, p).Sources})
	}
	return out
}

// The archive's record sizes, measured on hookline's own entries
// (contract.ArchiveEntry.Line): a delivery entry is the body in base64
// (4 bytes per 3) plus 690-730 bytes of ids, timestamps and eight
// attributes (signature included). Outcome lines are not priced: the
// consumer writes them only for a batch in which something was not ok (a
// retry, a rejection), as retries are not priced.
const ArchiveDeliveryOverheadBytes = 750

// FirehoseRecordIncrement is Firehose's billing unit: "ingestion pricing is
// based on the number of data records you send to the service, times the
// size of each record rounded up to the nearest 5KB (5120 bytes)"
// (Amazon Data Firehose Developer Guide, quotas).
const FirehoseRecordIncrement = 5120

// ArchiveGzipRatio is the GZIP objects' size over the lines they hold,
// assumed. Measured with compress/gzip (default level) on objects of
// delivery and outcome lines: 0.087-0.113 for the 273 GitHub payload
// examples of octokit/webhooks (mean body 12 KB), 0.10 for the shipped
// examples/ bodies; 0.15 leaves room for bodies less alike.
const ArchiveGzipRatio = 0.15

// ArchiveCost is what a source's archive costs a month: the Firehose
// ingestion, the S3 storage of the GZIP objects held for the retention,
// the S3 PUTs of the objects and the KMS requests of their encryption.
type ArchiveCost struct {
	// Records are the Firehose records: one delivery entry per webhook (a
	// batch whose records were all ok writes no outcome record).
	Records float64 `json:"records"`
	// IngestedGB is what Firehose bills (each record rounded up to 5 KB).
	IngestedGB float64 `json:"ingestedGb"`
	// StoredGB is the archive held at steady state: a month's GZIP objects
	// times the retention in months.
	StoredGB float64 `json:"storedGb"`
	// Objects are the objects Firehose writes: one per buffer interval
	// with traffic, more when 64 MiB fill sooner.
	Objects    float64 `json:"objects"`
	Firehose   float64 `json:"firehose"`
	Storage    float64 `json:"storage"`
	Puts       float64 `json:"puts"`
	KMS        float64 `json:"kms"`
	Total      float64 `json:"total"`
	PerMillion float64 `json:"perMillion"`
}

// MarshalJSON shows the money to the cent, sizes to the MB.
func (a ArchiveCost) MarshalJSON() ([]byte, error) {
	type plain ArchiveCost
	r := plain(a)
	for _, v := range []*float64{&r.Firehose, &r.Storage, &r.Puts, &r.KMS, &r.Total, &r.PerMillion} {
		*v = Cents(*v)
	}
	r.IngestedGB, r.StoredGB = math.Round(r.IngestedGB*1000)/1000, math.Round(r.StoredGB*1000)/1000
	r.Records, r.Objects = math.Round(r.Records), math.Round(r.Objects)
	return json.Marshal(r)
}

func roundUp(n, unit float64) float64 { return math.Ceil(n/unit) * unit }

// ArchiveCostOf prices a source's archive at traffic t, kept retentionDays. An object is written per buffer interval
// (contract.ArchiveBufferInterval) while traffic flows, or sooner when
// contract.ArchiveBufferMiB of lines gather; the bucket's S3 Bucket Key
// makes S3 ask KMS for far fewer keys than objects, so one KMS request per
// object is an upper bound.
func ArchiveCostOf(t Traffic, retentionDays int, p Prices) ArchiveCost {
	msgs := t.RPS * SecondsPerMonth
	if msgs <= 0 {
		return ArchiveCost{}
	}
	bodyBytes := t.BodyKB * 1024
	delivery := 4*math.Ceil(bodyBytes/3) + ArchiveDeliveryOverheadBytes
	a := ArchiveCost{Records: msgs}
	billed := msgs * roundUp(delivery, FirehoseRecordIncrement)
	a.IngestedGB = billed / (1 << 30)
	raw := msgs * delivery
	a.StoredGB = raw * ArchiveGzipRatio / (1 << 30) * float64(retentionDays) / 30
	intervals := SecondsPerMonth / contract.ArchiveBufferInterval.Seconds()
	a.Objects = math.Min(msgs, math.Max(intervals, math.Ceil(raw/(contract.ArchiveBufferMiB<<20))))
	a.Firehose = a.IngestedGB * p.FirehoseIngestionPerGB
	a.Storage = a.StoredGB * p.S3StandardGBMonth
	a.Puts = a.Objects / 1000 * p.S3PutsPerThousand
	a.KMS = a.Objects / 10000 * p.KMSRequestsPer10K
	a.Total = a.Firehose + a.Storage + a.Puts + a.KMS
	a.PerMillion = perMillion(a.Total, msgs)
	return a
}
