package ops

import (
	"math"

	"github.com/hookline/hookline/stackconfig"
)

// AWS limits the capacity model uses.
const (
	// AccountAPIRate is API Gateway's default account-level rate (requests/s).
	AccountAPIRate = 10000
	// FIFOSendRate is SendMessage calls/s on a FIFO queue without high
	// throughput (API Gateway sends one message per call).
	FIFOSendRate = 300
	// FIFOHighThroughputSendRate is the largest regions' high-throughput limit.
	FIFOHighThroughputSendRate = 70000
)

// Limit is one ceiling on a source's sustainable rate.
type Limit struct {
	Name string  `json:"name"`
	Rate float64 `json:"rate"` // messages per second
	Why  string  `json:"why"`
}

// Capacity is what a source sustains and what binds it.
type Capacity struct {
	Source string  `json:"source"`
	Rate   float64 `json:"rate"`
	Binds  string  `json:"binds"`
	Limits []Limit `json:"limits"`
	// Problem is set when a batch cannot finish within the function timeout.
	Problem string `json:"problem,omitempty"`
}

// SourceCapacity computes the sustainable messages/s of a source: the
// smallest of the API Gateway rate (stage, method and usage-plan throttles,
// account default), the FIFO send rate, what the active groups can drain
// (each group is handled by one invocation at a time) and what the
// function's maximum concurrency can drain.
func SourceCapacity(c *stackconfig.Config, s stackconfig.Source, groups int, recordMS float64) Capacity {
	perRecord := math.Max(recordMS, 0.1) / 1000 // seconds
	api := math.Min(AccountAPIRate, c.Throttle.RateLimit)
	why := "stage throttle / account default"
	if s.Throttle != nil && s.Throttle.RateLimit < api {
		api, why = s.Throttle.RateLimit, "method throttle"
		if c.HTTP() {
			why = "route throttle"
		}
	}
	if s.Auth.UsagePlan != nil && s.Auth.UsagePlan.RateLimit < api {
		api, why = s.Auth.UsagePlan.RateLimit, "usage plan throttle"
	}
	sqs, sqsWhy := float64(FIFOSendRate), "FIFO SendMessage rate (high throughput off)"
	if s.HighThroughputMode() {
		sqs, sqsWhy = FIFOHighThroughputSendRate, "FIFO high-throughput SendMessage rate"
	}
	g := math.Max(1, float64(groups))
	limits := []Limit{
		{"api-gateway", api, why},
		{"fifo-api-rate", sqs, sqsWhy},
		{"group-count", g / perRecord, "each active group is processed in order by one invocation at a time"},
		{"function-concurrency", float64(s.Function.MaxConcurrency) / perRecord, "maxConcurrency invocations, records one after another"},
	}
	out := Capacity{Source: s.Name, Limits: limits, Rate: math.Inf(1)}
	for _, l := range limits {
		if l.Rate < out.Rate {
			out.Rate, out.Binds = l.Rate, l.Name
		}
	}
	if batch := 10 * recordMS / 1000; batch > float64(s.Function.TimeoutSeconds) {
		out.Problem = "a batch of 10 records needs longer than the function timeout: raise timeoutSeconds or speed up the processor"
	}
	return out
}
