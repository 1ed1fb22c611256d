package stackconfig

import "github.com/hookline/hookline/contract"

// DefaultGroupBy puts all of a source's messages in one group: strict order.
var DefaultGroupBy = contract.Selector{Kind: contract.KindSource}

// Defaults: every default of the stack config lives here, nowhere else.
const (
	// DefaultRateLimit and DefaultBurstLimit are AWS's account-level defaults
	// for a REST API stage (10,000 requests/s, burst 5,000).
	DefaultRateLimit  = 10000
	DefaultBurstLimit = 5000

	DefaultLogRetentionDays = 30
	// DefaultArchiveRetentionDays is how long the archive keeps deliveries.
	DefaultArchiveRetentionDays    = 30
	DefaultOldestMessageAgeSeconds = 900

	// DefaultTracing keeps X-Ray on (issue 27: a trace of a webhook never
	// stops at the edge); hookline:tracing: off saves its traces.
	DefaultTracing = TracingActive

	DefaultAuth        = AuthAPIKey
	DefaultContentType = "application/json"

	// MinReceiveCount and MaxReceiveCount bound a source's maxReceiveCount,
	// the deliveries before SQS moves a message to the DLQ. They are the one
	// definition that the config validation, the policy rule
	// max-receive-count (its default bounds) and the pack's config schema
	// (how far a pack config may move them) all use. The consumer paces
	// retries itself (retry) and dead-letters a record when its budget is
	// spent, so maxReceiveCount is a safety net above that budget (the
	// validation requires it): at least 3, at most SQS's 1,000. By default
	// it is twice the budget's attempts plus 5: a record waiting behind a
	// failing one in its group is received with it, and must not reach the
	// net first.
	MinReceiveCount = 3
	MaxReceiveCount = 1000

	// The default retry: exponential from 30 s, at most an hour apart, for
	// a day (about 30 attempts), jittered. A destination down for hours
	// costs one call per group per delay, not a dead letter per delivery.
	DefaultRetrySchedule        = contract.ScheduleExponential
	DefaultRetryBaseSeconds     = 30
	DefaultRetryMaxDelaySeconds = 3600
	DefaultRetryMaxAgeSeconds   = 24 * 3600

	// MaxSources bounds the sources of one stack. Each source adds about
	// ResourcesPerSource resources (queue, DLQ and their policies, function,
	// roles, mapping, route, alarms), so 25 sources are ~800 resources: one
	// preview or update the engine finishes in minutes, and one stack's
	// failure or lock holds at most 25 senders. The offline plan's time and
	// memory grow linearly with it (README, "Limits"). More senders belong in
	// more stacks.
	MaxSources = 25
	// ResourcesPerSource is about how many resources a source adds: AWS
	// resources and hookline's components (prod: 5 sources, 203 resources
	// in the offline plan, stack-wide ones included).
	ResourcesPerSource = 32
	// DefaultRetentionDays is SQS's longest: a source's messages outlast a
	// long pause or a day of retries (SQS charges nothing for keeping them).
	DefaultRetentionDays    = 14
	DefaultToleranceSeconds = 300
	// DefaultSecretTTLSeconds: a rotated secret takes effect within 5
	// minutes in every warm container (sooner on a mismatch, see
	// handler/secrets).
	DefaultSecretTTLSeconds = 300
	// DefaultAuthorizerCacheTTLSeconds: the token authorizer runs once per
	// token per 5 minutes, not per request.
	DefaultAuthorizerCacheTTLSeconds = 300
	// APIKeyAuthorizerCacheTTLSeconds: the x-api-key pass-through runs once
	// per key per 5 minutes.
	APIKeyAuthorizerCacheTTLSeconds = 300
	DefaultEncoding                 = "hex"

	DefaultMemoryMB       = 256
	DefaultTimeoutSeconds = 30
	DefaultMaxConcurrency = 5

	DefaultProcessor             = contract.ProcessorLog
	DefaultForwardTimeoutSeconds = 10
	DefaultIdempotencyTTLHours   = 72

	// The default traffic of the plan's cost estimate, per source.
	DefaultTrafficRPS      = 1
	DefaultTrafficBodyKB   = 1
	DefaultTrafficGroups   = 10
	DefaultTrafficRecordMS = 10

	// VisibilityMultiple is AWS's guidance: a queue's visibility timeout is at
	// least six times the timeout of the function that consumes it.
	VisibilityMultiple = 6
	// DLQRetentionSeconds is SQS's maximum retention (14 days), used for DLQs.
	DLQRetentionSeconds = 14 * 24 * 3600
)

// applyDefaults fills every zero value with its default. It runs before
// validation, so validation sees the values that will be deployed.
func (c *Config) applyDefaults() {
	if c.Environment == "" {
		c.Environment = c.Stack
	}
	if c.Ingress == "" {
		c.Ingress = contract.IngressREST
	}
	if c.Tracing == "" {
		c.Tracing = DefaultTracing
	}
	if c.Throttle.RateLimit == 0 {
		c.Throttle.RateLimit = DefaultRateLimit
	}
	if c.Throttle.BurstLimit == 0 {
		c.Throttle.BurstLimit = DefaultBurstLimit
	}
	if c.LogRetentionDays == 0 {
		c.LogRetentionDays = DefaultLogRetentionDays
	}
	if c.Archive.RetentionDays == 0 {
		c.Archive.RetentionDays = DefaultArchiveRetentionDays
	}
	if c.Alarms.OldestMessageAgeSeconds == 0 {
		c.Alarms.OldestMessageAgeSeconds = DefaultOldestMessageAgeSeconds
	}
	if c.Traffic.RPS == 0 {
		c.Traffic.RPS = DefaultTrafficRPS
	}
	if c.Traffic.BodyKB == 0 {
		c.Traffic.BodyKB = DefaultTrafficBodyKB
	}
	if c.Traffic.Groups == 0 {
		c.Traffic.Groups = DefaultTrafficGroups
	}
	if c.Traffic.RecordMS == 0 {
		c.Traffic.RecordMS = DefaultTrafficRecordMS
	}
	if c.Tags == nil {
		c.Tags = map[string]string{}
	}
	for i := range c.Sources {
		c.Sources[i].applyDefaults(c.Environment)
	}
}

func (s *Source) applyDefaults(env string) {
	if s.Auth.Type == "" {
		s.Auth.Type = DefaultAuth
	}
	if s.GroupBy.IsZero() {
		s.GroupBy = DefaultGroupBy
	}
	if s.EventID.IsZero() {
		s.EventID = s.Signature.Scheme.DefaultEventID()
	}
	if len(s.ContentTypes) == 0 {
		s.ContentTypes = []string{DefaultContentType}
	}
	if s.Retry.Schedule == "" {
		s.Retry.Schedule = DefaultRetrySchedule
	}
	if s.Retry.BaseSeconds == 0 {
		s.Retry.BaseSeconds = DefaultRetryBaseSeconds
	}
	if s.Retry.MaxDelaySeconds == 0 {
		s.Retry.MaxDelaySeconds = DefaultRetryMaxDelaySeconds
	}
	if s.Retry.MaxAgeSeconds == 0 {
		s.Retry.MaxAgeSeconds = DefaultRetryMaxAgeSeconds
	}
	if s.MaxReceiveCount == 0 {
		s.MaxReceiveCount = DefaultMaxReceiveCount(s.Retry)
	}
	if s.RetentionDays == 0 {
		s.RetentionDays = DefaultRetentionDays
	}
	if s.Signature.ToleranceSeconds == 0 {
		s.Signature.ToleranceSeconds = DefaultToleranceSeconds
	}
	if s.Signature.SecretTTLSeconds == 0 {
		s.Signature.SecretTTLSeconds = DefaultSecretTTLSeconds
	}
	if s.Auth.Type == AuthToken && s.Auth.TokenParameter == "" {
		s.Auth.TokenParameter = SecretParameter(env, s.Name, "token")
	}
	if s.Signature.Scheme != contract.SchemeNone && s.Signature.SecretParameter == "" {
		s.Signature.SecretParameter = SecretParameter(env, s.Name, "signing")
	}
	if s.Signature.Scheme == contract.SchemeHMACSHA256 && s.Signature.Encoding == "" {
		s.Signature.Encoding = DefaultEncoding
	}
	if s.Function.MemoryMB == 0 {
		s.Function.MemoryMB = DefaultMemoryMB
	}
	if s.Function.TimeoutSeconds == 0 {
		s.Function.TimeoutSeconds = DefaultTimeoutSeconds
	}
	if s.Function.MaxConcurrency == 0 {
		s.Function.MaxConcurrency = DefaultMaxConcurrency
	}
	if s.VisibilityTimeoutSeconds == 0 {
		s.VisibilityTimeoutSeconds = VisibilityMultiple * s.Function.TimeoutSeconds
	}
	if s.Processor.Type == "" {
		s.Processor.Type = DefaultProcessor
	}
	if s.Processor.Type == contract.ProcessorForward {
		if s.Processor.TimeoutSeconds == 0 {
			s.Processor.TimeoutSeconds = DefaultForwardTimeoutSeconds
		}
		if s.Processor.SecretParameter == "" {
			s.Processor.SecretParameter = SecretParameter(env, s.Name, "forward")
		}
	}
	if s.Idempotency.Enabled && s.Idempotency.TTLHours == 0 {
		s.Idempotency.TTLHours = DefaultIdempotencyTTLHours
	}
}
