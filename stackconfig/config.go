// Package stackconfig is hookline's typed stack configuration: what a
// Pulumi.<stack>.yaml may say, its defaults (all in Defaults), and its
// validation. Loading is a pure function of the raw config values, so the
// program, the offline plan and the tests share it.
package stackconfig

import (
	"time"

	"github.com/hookline/hookline/contract"
)

// Namespace is the Pulumi config namespace of hookline's keys (the project name).
const Namespace = "hookline"

// RegionKey is the provider's region key, which hookline reads too.
const RegionKey = "aws:region"

// Config is one stack's validated configuration with every default applied.
type Config struct {
	// Stack is the Pulumi stack name; File is the stack file it came from.
	Stack string `json:"-"`
	File  string `json:"-"`

	Environment string `json:"environment"`
	// Ingress is the API Gateway flavour senders post to: contract.IngressREST
	// (default) or contract.IngressHTTP.
	Ingress                 string            `json:"ingress"`
	Region                  string            `json:"-"`
	Domain                  *Domain           `json:"domain,omitempty"`
	Throttle                Throttle          `json:"throttle"`
	LogRetentionDays        int               `json:"logRetentionDays"`
	AlarmEmails             []string          `json:"alarmEmails"`
	Alarms                  Alarms            `json:"alarms"`
	Tags                    map[string]string `json:"tags"`
	ManageAPIGatewayAccount bool              `json:"manageApiGatewayAccount"`
	// AccessLogs turns the stage's access logs off when false (default on).
	// They need the region's API Gateway CloudWatch role: a stack that does
	// not manage it checks at preview that it is set (see AccessLogsOn).
	AccessLogs *bool `json:"accessLogs,omitempty"`
	// Tracing is the stack's X-Ray tracing: TracingActive (default: every
	// function Active, a REST stage traced) or TracingOff (functions
	// PassThrough, no stage tracing). See TracingOn.
	Tracing string `json:"tracing"`
	// Archive keeps every delivery in the stack's archive bucket (default on).
	Archive Archive  `json:"archive"`
	Sources []Source `json:"sources"`
	// Traffic is the default load of the cost estimate in the offline plan.
	Traffic Traffic `json:"traffic"`

	// SigningSecrets and ForwardSecrets map source names to secrets the
	// program stores as SSM SecureString parameters (set them with
	// pulumi config set --secret --path). Sources without an entry read a
	// parameter that already exists.
	SigningSecrets map[string]string `json:"signingSecrets,omitempty"`
	ForwardSecrets map[string]string `json:"forwardSecrets,omitempty"`
	// Tokens maps token sources to the URL token their sender presents,
	// stored like the secrets above (parameter auth.tokenParameter).
	Tokens map[string]string `json:"tokens,omitempty"`
}

// Archive is the stack's archive of deliveries: an encrypted S3 bucket fed
// by one Firehose stream per source (see contract/archive.go).
type Archive struct {
	// Enabled (default true) archives every delivery before it is
	// acknowledged.
	Enabled *bool `json:"enabled,omitempty"`
	// RetentionDays is how long archived deliveries are kept (the bucket's
	// lifecycle expiry).
	RetentionDays int `json:"retentionDays"`
}

// On reports whether the stack archives its deliveries.
func (a Archive) On() bool { return a.Enabled == nil || *a.Enabled }

// Domain is the optional custom domain in front of the API.
type Domain struct {
	Name         string `json:"name"`
	HostedZoneID string `json:"hostedZoneId"`
}

// Throttle is an API Gateway rate (requests per second) and burst.
type Throttle struct {
	RateLimit  float64 `json:"rateLimit"`
	BurstLimit int     `json:"burstLimit"`
}

// Traffic is a source's expected load, for estimates.
type Traffic struct {
	RPS      float64 `json:"rps"`
	BodyKB   float64 `json:"bodyKb"`
	Groups   int     `json:"groups"`
	RecordMS float64 `json:"recordMs"`
}

// Alarms tunes the CloudWatch alarms.
type Alarms struct {
	// OldestMessageAgeSeconds alarms when a source queue's oldest message is older.
	OldestMessageAgeSeconds int `json:"oldestMessageAgeSeconds"`
}

// Source is one sending system: its route, queue pair, function and alarms.
type Source struct {
	Name      string    `json:"name"`
	Auth      Auth      `json:"auth"`
	Signature Signature `json:"signature"`
	// GroupBy selects the message group: source, header:<Name> or body:<JSONPath>.
	GroupBy contract.Selector `json:"groupBy"`
	// EventID selects the sender's event id, the deduplication id.
	EventID                  contract.Selector `json:"eventId"`
	ContentTypes             []string          `json:"contentTypes"`
	MaxReceiveCount          int               `json:"maxReceiveCount"`
	RetentionDays            int               `json:"retentionDays"`
	VisibilityTimeoutSeconds int               `json:"visibilityTimeoutSeconds"`
	HighThroughput           *bool             `json:"highThroughput,omitempty"`
	Function                 Function          `json:"function"`
	Processor                Processor         `json:"processor"`
	Idempotency              Idempotency       `json:"idempotency"`
	Throttle                 *Throttle         `json:"throttle,omitempty"`
	// Retry paces the retries of records that fail transiently.
	Retry Retry `json:"retry"`
}

// Retry is how the consumer retries a record that failed transiently: it
// hides it for the next delay of the schedule (its FIFO group waits, the
// others go on) and moves it to the DLQ itself once maxAgeSeconds (or
// maxAttempts) is spent. maxReceiveCount stays above the budget as a
// safety net.
type Retry struct {
	// Schedule is exponential (baseSeconds × 2^(n−1)) or linear
	// (baseSeconds × n).
	Schedule        string `json:"schedule"`
	BaseSeconds     int    `json:"baseSeconds"`
	MaxDelaySeconds int    `json:"maxDelaySeconds"`
	MaxAgeSeconds   int    `json:"maxAgeSeconds"`
	// MaxAttempts, when set, also bounds the attempts.
	MaxAttempts int `json:"maxAttempts,omitempty"`
	// Jitter (default true) spreads each delay over its upper half.
	Jitter *bool `json:"jitter,omitempty"`
}

// Policy is the retry block as the handler applies it.
func (r Retry) Policy() contract.RetryPolicy {
	return contract.RetryPolicy{
		Schedule: r.Schedule, Base: time.Duration(r.BaseSeconds) * time.Second,
		MaxDelay: time.Duration(r.MaxDelaySeconds) * time.Second, MaxAge: time.Duration(r.MaxAgeSeconds) * time.Second,
		MaxAttempts: r.MaxAttempts, Jitter: r.Jitter == nil || *r.Jitter,
	}
}

// Auth kinds.
const (
	AuthAPIKey  = "apiKey"
	AuthCognito = "cognito"
	AuthIAM     = "iam"
	// AuthToken: a secret token in the URL (?token=...), checked at the
	// edge by hookline's REQUEST authorizer, for senders that can only be
	// given a URL and a signing secret (GitHub, Stripe, Shopify, Slack).
	AuthToken = "token"
	// AuthSignature: no edge credential; the consumer verifies the body's
	// signature and drops forgeries without dead-lettering them.
	AuthSignature = "signature"
)

// AuthKinds lists every auth kind, in documentation order.
var AuthKinds = []string{AuthAPIKey, AuthToken, AuthSignature, AuthCognito, AuthIAM}

// Auth says how senders authenticate to API Gateway.
type Auth struct {
	Type string `json:"type"`
	// UsagePlan throttles an apiKey or token source's key.
	UsagePlan   *UsagePlan `json:"usagePlan,omitempty"`
	UserPoolARN string     `json:"userPoolArn,omitempty"`
	Scopes      []string   `json:"scopes,omitempty"`
	// Audiences are the user pool's app client ids whose access tokens may
	// post: an HTTP API's JWT authorizer checks the token's client_id
	// against them (cognito sources on ingress http).
	Audiences []string `json:"audiences,omitempty"`
	// TokenParameter is the SSM SecureString holding a token source's
	// token(s) (several, one per line, during a rotation: contract.SecretValues).
	TokenParameter string `json:"tokenParameter,omitempty"`
	// CacheTTLSeconds is how long API Gateway caches the authorizer's
	// answer for a token (token sources; 0 to 3600).
	CacheTTLSeconds *int `json:"cacheTtlSeconds,omitempty"`
}

// HasUsagePlan reports whether the source gets an API key with a usage plan.
func (a Auth) HasUsagePlan() bool { return a.Type == AuthAPIKey || a.Type == AuthToken }

// CacheTTL is the authorizer cache TTL of a token source in seconds.
func (a Auth) CacheTTL() int {
	if a.CacheTTLSeconds == nil {
		return DefaultAuthorizerCacheTTLSeconds
	}
	return *a.CacheTTLSeconds
}

// UsagePlan is the throttle and quota of an apiKey source's key.
type UsagePlan struct {
	RateLimit   float64 `json:"rateLimit"`
	BurstLimit  int     `json:"burstLimit"`
	QuotaLimit  int     `json:"quotaLimit"`
	QuotaPeriod string  `json:"quotaPeriod"`
}

// Signature says how the handler verifies the sender's signature.
type Signature struct {
	Scheme           contract.Scheme `json:"scheme"`
	SecretParameter  string          `json:"secretParameter"`
	Header           string          `json:"header,omitempty"`
	Encoding         string          `json:"encoding,omitempty"`
	ToleranceSeconds int             `json:"toleranceSeconds"`
	// SecretTTLSeconds is how long the consumer caches the secrets before
	// reading them again (rotation takes effect within it).
	SecretTTLSeconds int `json:"secretTtlSeconds"`
}

// Function sizes the consumer Lambda.
type Function struct {
	MemoryMB       int `json:"memoryMb"`
	TimeoutSeconds int `json:"timeoutSeconds"`
	MaxConcurrency int `json:"maxConcurrency"`
}

// Processor is the business logic a source's verified messages go to.
type Processor struct {
	Type            contract.ProcessorKind `json:"type"`
	URL             string                 `json:"url,omitempty"`
	SecretParameter string                 `json:"secretParameter,omitempty"`
	TimeoutSeconds  int                    `json:"timeoutSeconds,omitempty"`
	// RetryOn are 4xx statuses the forward processor retries besides 408
	// and 429 (5xx and timeouts always retry).
	RetryOn []int `json:"retryOn,omitempty"`
}

// Idempotency is the optional long-window dedup table.
type Idempotency struct {
	Enabled  bool `json:"enabled"`
	TTLHours int  `json:"ttlHours"`
}

// HTTP reports whether the stack's ingress is an HTTP API.
func (c *Config) HTTP() bool { return c.Ingress == contract.IngressHTTP }

// AccessLogsOn reports whether the stage writes access logs: unless
// hookline:accessLogs is false.
func (c *Config) AccessLogsOn() bool { return c.AccessLogs == nil || *c.AccessLogs }

// Values of hookline:tracing.
const (
	// TracingActive: every function's TracingConfig is Active (Lambda
	// samples 1 request a second and 5% of the rest, not configurable) and
	// a REST stage has X-Ray tracing on. Each sampled request is a trace
	// X-Ray bills.
	TracingActive = "active"
	// TracingOff: every function is PassThrough (Lambda forwards the
	// tracing header but sends no trace of the function) and a REST
	// stage does not trace: the stack records no traces.
	TracingOff = "off"
)

// TracingModes lists the values of hookline:tracing, default first.
var TracingModes = []string{TracingActive, TracingOff}

// TracingOn reports whether the stack records X-Ray traces: its functions
// are Active and a REST stage traces (hookline:tracing: active, the
// default). When false it records none.
func (c *Config) TracingOn() bool { return c.Tracing != TracingOff }

// EdgeAuthorizer reports whether the stack needs hookline's edge authorizer:
// when a source uses token auth. The REST API's API key source is then
// AUTHORIZER, so apiKey sources pass through it too.
func (c *Config) EdgeAuthorizer() bool {
	for _, s := range c.Sources {
		if s.Auth.Type == AuthToken {
			return true
		}
	}
	return false
}

// ThroughAuthorizer reports whether a source's requests pass the edge
// authorizer: token sources, and apiKey sources of a stack whose API key
// source is AUTHORIZER (EdgeAuthorizer).
func (c *Config) ThroughAuthorizer(s Source) bool {
	return s.Auth.Type == AuthToken || (s.Auth.Type == AuthAPIKey && c.EdgeAuthorizer())
}

// MaxAuthorizersPerAPI is API Gateway's default quota of authorizers per
// API, the same for REST and HTTP APIs (AWS, "Quotas for configuring and
// running a REST API": "Authorizers per API (AWS Lambda and Amazon
// Cognito) 10"; "Quotas for configuring and running an HTTP API":
// "Authorizers per API 10"; raised per API only through AWS Support). A
// stack past it would fail halfway through an update, so the config
// refuses it.
const MaxAuthorizersPerAPI = 10

// Authorizers is how many authorizers the stack's API has (infra creates
// exactly these): on a REST API one per token source (each cached on its
// own token for its own TTL), one x-api-key pass-through when apiKey
// sources pass the edge authorizer, and one Cognito authorizer per
// cognito source; on an HTTP API one for every token source (cached per
// token and route) and one JWT authorizer per cognito source.
func (c *Config) Authorizers() int {
	n, tokens, apiKeys := 0, 0, 0
	for _, s := range c.Sources {
		switch s.Auth.Type {
		case AuthToken:
			tokens++
		case AuthAPIKey:
			apiKeys++
		case AuthCognito:
			n++
		}
	}
	switch {
	case c.HTTP():
		n += min(tokens, 1)
	default:
		n += tokens
		if tokens > 0 && apiKeys > 0 {
			n++
		}
	}
	return n
}

// AuthorizerCacheTTL is how long API Gateway caches the edge authorizer's
// answer for a source that passes it: the token source's own TTL, else
// the x-api-key pass-through's.
func (s Source) AuthorizerCacheTTL() int {
	if s.Auth.Type == AuthToken {
		return s.Auth.CacheTTL()
	}
	return APIKeyAuthorizerCacheTTLSeconds
}

// Spec is the ingest contract of the source.
func (s Source) Spec() contract.Spec {
	return contract.Spec{
		Source:           s.Name,
		GroupBy:          s.GroupBy,
		EventID:          s.EventID,
		SignatureHeaders: s.Signature.Scheme.SignatureHeaders(s.Signature.Header),
		DeliveryHeaders:  s.Signature.Scheme.DeliveryHeaders(),
		ContentTypes:     s.ContentTypes,
	}
}

// VisibilityTimeout is the source queue's visibility timeout in seconds.
func (s Source) VisibilityTimeout() int { return s.VisibilityTimeoutSeconds }

// HighThroughputMode reports whether the queue uses FIFO high-throughput mode.
func (s Source) HighThroughputMode() bool { return s.HighThroughput == nil || *s.HighThroughput }

// HandlerConfig is the run-time configuration of the source's function.
func (c *Config) HandlerConfig(s Source) contract.HandlerConfig {
	h := contract.HandlerConfig{
		Source:            s.Name,
		Scheme:            s.Signature.Scheme,
		SignatureHeader:   s.Signature.Header,
		SignatureEncoding: s.Signature.Encoding,
		SecretParameter:   s.Signature.SecretParameter,
		Tolerance:         time.Duration(s.Signature.ToleranceSeconds) * time.Second,
		SecretTTL:         time.Duration(s.Signature.SecretTTLSeconds) * time.Second,
		OpenEdge:          s.Auth.Type == AuthSignature,
		Processor:         s.Processor.Type,
		ForwardURL:        s.Processor.URL,
		ForwardSecret:     s.Processor.SecretParameter,
		ForwardTimeout:    time.Duration(s.Processor.TimeoutSeconds) * time.Second,
		Attributes:        s.Spec().Attributes(),
		Retry:             s.Retry.Policy(),
		ForwardRetryOn:    s.Processor.RetryOn,
	}
	if c.HTTP() {
		// An HTTP API does not refuse other content types: the consumer does.
		h.ContentTypes = append([]string(nil), s.ContentTypes...)
	}
	if s.Idempotency.Enabled {
		h.IdempotencyTable = c.IdempotencyTable(s)
		h.IdempotencyTTL = time.Duration(s.Idempotency.TTLHours) * time.Hour
	}
	return h
}
