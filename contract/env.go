package contract

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Environment variables through which the infra code configures the handler.
const (
	EnvSource                 = "HOOKLINE_SOURCE"
	EnvScheme                 = "HOOKLINE_SIGNATURE_SCHEME"
	EnvSignatureHeader        = "HOOKLINE_SIGNATURE_HEADER"
	EnvSignatureEncoding      = "HOOKLINE_SIGNATURE_ENCODING"
	EnvSecretParameter        = "HOOKLINE_SECRET_PARAMETER"
	EnvTolerance              = "HOOKLINE_TIMESTAMP_TOLERANCE_SECONDS"
	EnvSecretTTL              = "HOOKLINE_SECRET_TTL_SECONDS"
	EnvOpenEdge               = "HOOKLINE_OPEN_EDGE"
	EnvProcessor              = "HOOKLINE_PROCESSOR"
	EnvForwardURL             = "HOOKLINE_FORWARD_URL"
	EnvForwardSecretParameter = "HOOKLINE_FORWARD_SECRET_PARAMETER"
	EnvForwardTimeout         = "HOOKLINE_FORWARD_TIMEOUT_SECONDS"
	EnvForwardRetryOn         = "HOOKLINE_FORWARD_RETRY_ON"
	EnvIdempotencyTable       = "HOOKLINE_IDEMPOTENCY_TABLE"
	EnvIdempotencyTTL         = "HOOKLINE_IDEMPOTENCY_TTL_HOURS"
	// EnvContentTypes lists, comma-separated, the content types the
	// consumer accepts. Set on HTTP API stacks only: a REST API refuses the
	// others with 415 before they reach SQS, an HTTP API cannot.
	EnvContentTypes = "HOOKLINE_CONTENT_TYPES"
	// EnvDLQURL is the source's dead-letter queue, where the handler moves
	// rejected messages. It comes from a resource output, so the infra code
	// sets it next to Env().
	EnvDLQURL = "HOOKLINE_DLQ_URL"
	// EnvAttributes lists, comma-separated, the message attribute names the
	// edge writes for the source (Spec.Attributes): a record carrying any
	// other is a forgery (CheckAttributes).
	EnvAttributes = "HOOKLINE_ATTRIBUTES"
	// EnvSealKey is the stack's seal key (a KMS HMAC key's ARN), with which
	// the handler verifies a re-sent message's receipt time (OpenSeal). It
	// comes from a resource output, so the infra code sets it next to Env().
	EnvSealKey = "HOOKLINE_SEAL_KEY"
	// EnvQueueURL is the source queue, on which the handler hides a failed
	// record for its retry delay (ChangeMessageVisibility). A resource
	// output, set by the infra code next to Env().
	EnvQueueURL = "HOOKLINE_QUEUE_URL"
)

// HandlerConfig is what one source's function needs to know at run time.
type HandlerConfig struct {
	Source            string
	Scheme            Scheme
	SignatureHeader   string // hmac-sha256 only
	SignatureEncoding string // hmac-sha256 only: hex or base64
	SecretParameter   string // SSM parameter name; empty for scheme none
	Tolerance         time.Duration
	// SecretTTL is how long read secrets are used before they are read
	// again (0: the handler's default).
	SecretTTL time.Duration
	// OpenEdge is set for sources open at the edge (auth kind signature):
	// anyone can post, so a record that fails verification is counted and
	// dropped, never dead-lettered.
	OpenEdge       bool
	Processor      ProcessorKind
	ForwardURL     string
	ForwardSecret  string // SSM parameter name of the re-signing secret
	ForwardTimeout time.Duration
	// ForwardRetryOn are further 4xx statuses the forward processor retries.
	ForwardRetryOn   []int
	IdempotencyTable string // empty: long-window dedup off
	IdempotencyTTL   time.Duration
	// ContentTypes, when set, are the only content types the consumer
	// accepts (others are dead-lettered): the ingress did not check them.
	ContentTypes []string
	// Attributes are the message attribute names the edge writes for the
	// source (Spec.Attributes).
	Attributes []string
	// Retry is how failed records are retried; zero: on the queue's
	// visibility timeout, as SQS delivers them again.
	Retry    RetryPolicy
	DLQURL   string // set from the environment only (see EnvDLQURL)
	SealKey  string // set from the environment only (see EnvSealKey)
	QueueURL string // set from the environment only (see EnvQueueURL)
	// ArchiveStream is the source's Firehose stream; empty: not archived.
	ArchiveStream string // set from the environment only (see EnvArchiveStream)
}

// Env renders the configuration as the function's environment variables.
func (c HandlerConfig) Env() map[string]string {
	env := map[string]string{
		EnvSource:    c.Source,
		EnvScheme:    string(c.Scheme),
		EnvTolerance: strconv.Itoa(int(c.Tolerance / time.Second)),
		EnvProcessor: string(c.Processor),
	}
	set := func(k, v string) {
		if v != "" {
			env[k] = v
		}
	}
	set(EnvSignatureHeader, c.SignatureHeader)
	set(EnvSignatureEncoding, c.SignatureEncoding)
	set(EnvSecretParameter, c.SecretParameter)
	set(EnvForwardURL, c.ForwardURL)
	set(EnvForwardSecretParameter, c.ForwardSecret)
	if c.SecretTTL > 0 {
		env[EnvSecretTTL] = strconv.Itoa(int(c.SecretTTL / time.Second))
	}
	if c.OpenEdge {
		env[EnvOpenEdge] = "true"
	}
	if c.ForwardTimeout > 0 {
		env[EnvForwardTimeout] = strconv.Itoa(int(c.ForwardTimeout / time.Second))
	}
	if len(c.ForwardRetryOn) > 0 {
		codes := make([]string, len(c.ForwardRetryOn))
		for i, n := range c.ForwardRetryOn {
			codes[i] = strconv.Itoa(n)
		}
		env[EnvForwardRetryOn] = strings.Join(codes, ",")
	}
	if len(c.ContentTypes) > 0 {
		env[EnvContentTypes] = strings.Join(c.ContentTypes, ",")
	}
	if len(c.Attributes) > 0 {
		env[EnvAttributes] = strings.Join(c.Attributes, ",")
	}
	c.Retry.env(env)
	if c.IdempotencyTable != "" {
		env[EnvIdempotencyTable] = c.IdempotencyTable
		env[EnvIdempotencyTTL] = strconv.Itoa(int(c.IdempotencyTTL / time.Hour))
	}
	return env
}

// ParseHandlerConfig reads the configuration back from the environment. An
// unknown scheme is an error: the handler fails closed rather than guess.
func ParseHandlerConfig(getenv func(string) string) (HandlerConfig, error) {
	c := HandlerConfig{
		Source:            getenv(EnvSource),
		SignatureHeader:   getenv(EnvSignatureHeader),
		SignatureEncoding: getenv(EnvSignatureEncoding),
		SecretParameter:   getenv(EnvSecretParameter),
		Processor:         ProcessorKind(getenv(EnvProcessor)),
		ForwardURL:        getenv(EnvForwardURL),
		ForwardSecret:     getenv(EnvForwardSecretParameter),
		IdempotencyTable:  getenv(EnvIdempotencyTable),
		DLQURL:            getenv(EnvDLQURL),
		SealKey:           getenv(EnvSealKey),
		QueueURL:          getenv(EnvQueueURL),
		ArchiveStream:     getenv(EnvArchiveStream),
		OpenEdge:          getenv(EnvOpenEdge) == "true",
	}
	if v := getenv(EnvContentTypes); v != "" {
		c.ContentTypes = strings.Split(v, ",")
	}
	if v := getenv(EnvForwardRetryOn); v != "" {
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(f)
			if err != nil || n < 400 || n > 499 {
				return c, fmt.Errorf("%s=%q: want 4xx status codes, comma-separated", EnvForwardRetryOn, v)
			}
			c.ForwardRetryOn = append(c.ForwardRetryOn, n)
		}
	}
	if c.Source == "" {
		return c, fmt.Errorf("%s is not set", EnvSource)
	}
	if v := getenv(EnvAttributes); v != "" {
		c.Attributes = strings.Split(v, ",")
	} else {
		// Without the set, a record's attributes cannot be judged.
		return c, fmt.Errorf("%s is not set", EnvAttributes)
	}
	s, err := ParseScheme(getenv(EnvScheme))
	if err != nil {
		return c, fmt.Errorf("%s: %w", EnvScheme, err)
	}
	c.Scheme = s
	if s != SchemeNone && c.SecretParameter == "" {
		return c, fmt.Errorf("%s is required for scheme %s", EnvSecretParameter, s)
	}
	secs := func(key string, unit time.Duration) (time.Duration, error) {
		v := getenv(key)
		if v == "" {
			return 0, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%s=%q: want a whole number >= 0", key, v)
		}
		return time.Duration(n) * unit, nil
	}
	if c.Tolerance, err = secs(EnvTolerance, time.Second); err != nil {
		return c, err
	}
	if c.SecretTTL, err = secs(EnvSecretTTL, time.Second); err != nil {
		return c, err
	}
	if c.OpenEdge && !c.Scheme.SignsBody() {
		return c, fmt.Errorf("%s is set but scheme %s signs nothing: an open source must verify a body signature", EnvOpenEdge, c.Scheme)
	}
	if c.ForwardTimeout, err = secs(EnvForwardTimeout, time.Second); err != nil {
		return c, err
	}
	if c.IdempotencyTTL, err = secs(EnvIdempotencyTTL, time.Hour); err != nil {
		return c, err
	}
	if c.Retry, err = parseRetry(getenv); err != nil {
		return c, err
	}
	if c.Processor == "" {
		c.Processor = ProcessorLog
	}
	if c.Processor == ProcessorForward && c.ForwardURL == "" {
		return c, fmt.Errorf("%s is required for the forward processor", EnvForwardURL)
	}
	return c, nil
}

// Attributes of the long-window idempotency table (DynamoDB), which the infra
// code creates and the handler writes.
const (
	// IdempotencyKey is the table's partition key: "<source>#<eventId>".
	IdempotencyKey = "pk"
	// IdempotencyExpires is the TTL attribute (epoch seconds).
	IdempotencyExpires = "expiresAt"
)
