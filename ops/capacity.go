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
// smallest of the API Gateway rate (the stack's default per-route
// throttle, the source's own, its usage plan, the account default), the FIFO send rate, what the active groups can drain
// (each group is handled by one invocation at a time) and what the
// function's maximum concurrency can drain.
func SourceCapacity(c *stackconfig.Config, s stackconfig.Source, groups int, recordMS float64) Capacity {
	perRecord := math.Max(recordMS, 0.1) / 1000 // seconds
	api := math.Min(AccountAPIRate, c.Throttle.RateLimit)
	why := "hookline:throttle, the default of each route (not a cap on the stage) / account default"
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

// StackAPIRate is what all of a stack's routes together may take from API
// Gateway. hookline:throttle is a default applied to each route (method)
// on its own, not a cap on the stage: AWS's REST throttling applies
// "default per-method limits and individual per-method limits" set in the
// stage settings, and an HTTP API's default route settings are "default
// route throttling" likewise. So N routes at the default reach N times it,
// and only the account's regional rate, shared by every API of the
// account in the region, bounds their sum.
func StackAPIRate(c *stackconfig.Config) Limit {
	sum := 0.0
	for _, s := range c.Sources {
		r := c.Throttle.RateLimit
		if s.Throttle != nil {
			r = s.Throttle.RateLimit
		}
		if s.Auth.UsagePlan != nil && s.Auth.UsagePlan.RateLimit < r {
			r = s.Auth.UsagePlan.RateLimit
		}
		sum += r
	}
	if sum >= AccountAPIRate {
		return Limit{Name: "api-gateway-stack", Rate: AccountAPIRate, Why: "the account's regional rate, shared with every other API of the account in the region"}
	}
	return Limit{Name: "api-gateway-stack", Rate: sum, Why: "the sum of every route's throttle: hookline:throttle applies to each route, not to the stage"}
}
