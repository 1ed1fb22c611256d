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
}

// DefaultPrices are us-east-1 list prices.
var DefaultPrices = Prices{
	APIRequestsPerMillion:     3.50,
	HTTPAPIRequestsPerMillion: 1.00,
	SQSRequestsPerMillion:     0.50,
	LambdaRequestsPerMillion:  0.20,
	LambdaGBSecond:            0.0000133334,
	LogsIngestionPerGB:        0.50,
	DynamoDBWriteUnitsPerMill: 0.625,
}

// SecondsPerMonth is a 30-day month.
const SecondsPerMonth = 30 * 24 * 3600

// Log volume per event (bytes), measured from hookline's own lines: one
// outcome line per record, an EMF document and Lambda's START/END/REPORT per
// invocation, one access log line per API request.
const (
	LogBytesPerRecord     = 330
	LogBytesPerInvocation = 900
	LogBytesPerRequest    = 420
)

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
	DynamoDB       float64 `json:"dynamodb"`
	// Authorizer is the edge authorizer's share: API Gateway caches its
	// answer per token for the TTL, so it runs about once per TTL for a
	// source's one token (128 MB, billed 1 ms granularity, ~10 ms).
	Authorizer float64 `json:"authorizer"`
	Total      float64 `json:"total"`
	// PerMillion is Total per million webhooks: what one more million costs
	// at this traffic.
	PerMillion float64 `json:"perMillion"`
	Dominant   string  `json:"dominant"`
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
	for _, f := range []*float64{&r.APIGateway, &r.SQS, &r.LambdaRequests, &r.LambdaCompute, &r.Logs, &r.DynamoDB, &r.Authorizer, &r.Total, &r.PerMillion} {
		*f = Cents(*f)
	}
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
	if rps <= 0 {
		return 0
	}
	runs := rps * SecondsPerMonth
	if ttlSeconds > 0 {
		runs = math.Min(runs, SecondsPerMonth/float64(ttlSeconds))
	}
	return runs/1e6*p.LambdaRequestsPerMillion + runs*AuthorizerBilledMS/1000*AuthorizerMemoryMB/1024*p.LambdaGBSecond
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
	logBytes := msgs*(LogBytesPerRecord+LogBytesPerRequest) + invocations*LogBytesPerInvocation
	c.Logs = logBytes / (1 << 30) * p.LogsIngestionPerGB
	if s.Idempotency.Enabled {
		c.DynamoDB = 2 * msgs / 1e6 * p.DynamoDBWriteUnitsPerMill // take the marker, make it final
	}
	parts := map[string]float64{"apiGateway": c.APIGateway, "sqs": c.SQS, "lambdaRequests": c.LambdaRequests,
		"lambdaCompute": c.LambdaCompute, "logs": c.Logs, "dynamodb": c.DynamoDB}
	c.Total = c.APIGateway + c.SQS + c.LambdaRequests + c.LambdaCompute + c.Logs + c.DynamoDB
	c.Dominant = dominant(parts)
	c.PerMillion = perMillion(c.Total, msgs)
	return c
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
	e := Estimate{Traffic: t, Note: "monthly USD at list prices, each source receiving the traffic; excludes free tiers, data transfer, alarms, the dashboard and the seal key (one KMS key a stack, about $1 a month; its MACs are made and checked only for re-sent messages)"}
	parts := map[string]float64{}
	for _, s := range c.Sources {
		sc := SourceCost(s, c.Ingress, t, p)
		if c.ThroughAuthorizer(s) {
			sc.Authorizer = AuthorizerCost(t.RPS, s.AuthorizerCacheTTL(), p)
			sc.Total += sc.Authorizer
			sc.PerMillion = perMillion(sc.Total, t.RPS*SecondsPerMonth)
		}
		e.Sources = append(e.Sources, sc)
		e.Total += sc.Total
		parts["apiGateway"] += sc.APIGateway
		parts["sqs"] += sc.SQS
		parts["lambdaRequests"] += sc.LambdaRequests
		parts["lambdaCompute"] += sc.LambdaCompute
		parts["logs"] += sc.Logs
		parts["dynamodb"] += sc.DynamoDB
		parts["authorizer"] += sc.Authorizer
	}
	e.Dominant = dominant(parts)
	return e
}
