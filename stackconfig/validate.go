package stackconfig

import (
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hookline/hookline/contract"
)

var (
	envNameRE    = regexp.MustCompile(`^[a-z][a-z0-9-]{0,15}$`)
	domainNameRE = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
	zoneIDRE     = regexp.MustCompile(`^Z[A-Z0-9]{1,32}$`)
	regionRE     = regexp.MustCompile(`^[a-z]{2}(-gov)?-[a-z]+-[0-9]$`)
	ssmNameRE    = regexp.MustCompile(`^/[A-Za-z0-9_.\-/]{1,1000}$`)
	// tokenRE: a token travels in a URL, so only unreserved characters, and
	// long enough not to be guessed.
	tokenRE    = regexp.MustCompile(`^[A-Za-z0-9_\-.~]{32,512}$`)
	userPoolRE = regexp.MustCompile(`^arn:aws[a-z-]*:cognito-idp:[a-z0-9-]+:[0-9]{12}:userpool/[a-z0-9-]+_[A-Za-z0-9]+$`)
	clientIDRE = regexp.MustCompile(`^[\w+]{1,128}$`)
	scopeRE    = regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]{1,256}$`)
)

// LogRetentionValues are the retention periods CloudWatch Logs accepts.
var LogRetentionValues = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// tracingSuggestion is the hookline:tracing value a wrong one most likely
// meant: a boolean word by its sense (edit distance alone would take "on"
// for off), else the closest value.
func tracingSuggestion(s string) string {
	switch strings.ToLower(s) {
	case "true", "on", "yes", "enabled", "1":
		return TracingActive
	case "false", "no", "none", "disabled", "0", "passthrough":
		return TracingOff
	}
	return suggest(s, TracingModes)
}

func (c *Config) validate(v *validator) {
	ns := Namespace + ":"
	if c.Region != "" && !regionRE.MatchString(c.Region) {
		v.add(RegionKey, "%q is not an AWS region name", c.Region)
	}
	if !envNameRE.MatchString(c.Environment) {
		v.add(ns+"environment", "%q must be 1-16 lower-case letters, digits or '-', starting with a letter (it prefixes every resource name)", c.Environment)
	}
	if !slices.Contains(contract.Ingresses, c.Ingress) {
		v.add(ns+"ingress", "%q is not an ingress: want rest (a REST API, the default) or http (an HTTP API)", c.Ingress)
	}
	if !slices.Contains(TracingModes, c.Tracing) {
		hint := ""
		if sg := tracingSuggestion(c.Tracing); sg != "" {
			hint = fmt.Sprintf("did you mean %s? ", sg)
		}
		v.add(ns+"tracing", "%q is not a tracing mode: %swant active (every function's X-Ray tracing Active and a REST stage traced, the default) or off (functions PassThrough, no stage tracing: no traces recorded)", c.Tracing, hint)
	}
	if c.HTTP() && c.ManageAPIGatewayAccount {
		v.add(ns+"manageApiGatewayAccount", "an HTTP API writes access logs without the region's API Gateway CloudWatch role: remove the key (it serves ingress rest)")
	}
	if d := c.Domain; d != nil {
		if !domainNameRE.MatchString(d.Name) {
			v.add(ns+"domain.name", "%q is not a lower-case DNS name", d.Name)
		}
		if d.HostedZoneID == "" {
			v.add(ns+"domain.hostedZoneId", "required with a domain: the Route 53 hosted zone that holds %s", d.Name)
		} else if !zoneIDRE.MatchString(d.HostedZoneID) {
			v.add(ns+"domain.hostedZoneId", "%q is not a Route 53 hosted zone id (Z...)", d.HostedZoneID)
		}
	}
	checkThrottle(v, ns+"throttle", c.Throttle)
	if !slices.Contains(LogRetentionValues, c.LogRetentionDays) {
		v.add(ns+"logRetentionDays", "%d is not a CloudWatch retention period (one of %v)", c.LogRetentionDays, LogRetentionValues)
	}
	if n := c.Archive.RetentionDays; n < 1 || n > 3650 {
		v.add(ns+"archive.retentionDays", "want 1 to 3650 days, got %d", n)
	}
	for i, e := range c.AlarmEmails {
		if a, err := mail.ParseAddress(e); err != nil || a.Address != e {
			v.add(fmt.Sprintf("%salarmEmails[%d]", ns, i), "%q is not a plain e-mail address", e)
		}
	}
	if c.Alarms.OldestMessageAgeSeconds < 60 {
		v.add(ns+"alarms.oldestMessageAgeSeconds", "must be at least 60, got %d", c.Alarms.OldestMessageAgeSeconds)
	}
	for k, val := range c.Tags {
		if k == "" || len(k) > 128 || strings.HasPrefix(strings.ToLower(k), "aws:") {
			v.add(ns+"tags", "tag key %q must be 1-128 characters and not start with aws:", k)
		}
		if len(val) > 256 {
			v.add(ns+"tags."+k, "tag value longer than 256 characters")
		}
	}
	if t := c.Traffic; t.RPS < 0 || t.BodyKB < 0 || t.BodyKB > 1024 || t.Groups < 0 || t.RecordMS < 0 {
		v.add(ns+"traffic", "rps, bodyKb (at most 1024), groups and recordMs must be positive")
	}
	byName := map[string]Source{}
	for _, s := range c.Sources {
		byName[s.Name] = s
	}
	for _, name := range sortedKeys(c.SigningSecrets) {
		key := ns + "signingSecrets." + name
		s, ok := byName[name]
		switch {
		case !ok:
			v.add(key, "no source is named %q", name)
		case s.Signature.Scheme == contract.SchemeNone:
			v.add(key, "source %s verifies no signature (scheme none)", name)
		default:
			secretProblems(v, key, c.SigningSecrets[name], func(sec string) string {
				if s.Signature.Scheme == contract.SchemeStandardWebhooks && !strings.HasPrefix(sec, "whsec_") {
					return "a Standard Webhooks secret starts with whsec_"
				}
				return ""
			})
		}
	}
	for _, name := range sortedKeys(c.Tokens) {
		key := ns + "tokens." + name
		tok := c.Tokens[name]
		if s, ok := byName[name]; !ok || s.Auth.Type != AuthToken {
			v.add(key, "no token source is named %q", name)
		} else {
			secretProblems(v, key, tok, func(t string) string {
				if !tokenRE.MatchString(t) {
					return "a token is 32 to 512 URL-safe characters (A-Z a-z 0-9 - _ . ~), several during a rotation one per line (newest first); generate one with: openssl rand -hex 32"
				}
				return ""
			})
		}
	}
	for _, name := range sortedKeys(c.ForwardSecrets) {
		key := ns + "forwardSecrets." + name
		if s, ok := byName[name]; !ok || s.Processor.Type != contract.ProcessorForward {
			v.add(key, "no forward source is named %q", name)
		} else {
			secretProblems(v, key, c.ForwardSecrets[name], nil)
		}
	}
	if len(c.Sources) == 0 {
		v.add(ns+"sources", "at least one source is required")
	}
	if len(c.Sources) > MaxSources {
		v.add(ns+"sources", "%d sources, at most %d per stack (each adds about %d resources and its own function, queues and alarms; split the sources over several stacks)",
			len(c.Sources), MaxSources, ResourcesPerSource)
	}
	if n := c.Authorizers(); n > MaxAuthorizersPerAPI && c.Ingress != "" && slices.Contains(contract.Ingresses, c.Ingress) {
		hint := "ingress http shares one authorizer among all token sources"
		if c.HTTP() {
			hint = "each cognito source has its own JWT authorizer"
		}
		v.add(ns+"sources", "the sources need %d API Gateway authorizers, more than the %d per API AWS allows by default (quota \"Authorizers per API\", raised per API only through AWS Support; %s): split the sources over several stacks (an update past the quota would fail halfway)",
			n, MaxAuthorizersPerAPI, hint)
	}
	seen := map[string]int{}
	for i := range c.Sources {
		key := fmt.Sprintf("%ssources[%d]", ns, i)
		s := &c.Sources[i]
		if j, dup := seen[s.Name]; dup {
			v.add(key+".name", "duplicate source name %q (also sources[%d])", s.Name, j)
		}
		seen[s.Name] = i
		s.validate(v, key)
		if c.HTTP() {
			s.validateHTTP(v, key)
		}
	}
}

// validateHTTP refuses what an HTTP API cannot honour of a source's config.
func (s *Source) validateHTTP(v *validator, key string) {
	for _, p := range s.HTTPProblems() {
		v.add(key+"."+p.Key, "%s", p.Message)
	}
}

// HTTPProblems is what an HTTP API (hookline:ingress: http) cannot honour
// of the source's config, with keys relative to the source ("auth.type").
// The config validation refuses them; hookline cost --ingress http names them.
func (s *Source) HTTPProblems() []Problem {
	ns := Namespace + ":"
	var out []Problem
	add := func(key, format string, args ...any) {
		out = append(out, Problem{Key: key, Message: fmt.Sprintf(format, args...)})
	}
	if s.Auth.Type == AuthAPIKey {
		add("auth.type", "apiKey (also the default when auth.type is not set) has no meaning with %singress: http: an HTTP API has no API keys or usage plans. Use token, signature, cognito or iam, or %singress: rest", ns, ns)
	}
	if s.Auth.UsagePlan != nil && s.Auth.Type != AuthAPIKey {
		add("auth.usagePlan", "an HTTP API has no usage plans (no per-client quota): set the source's throttle (its route's rate and burst) instead, or %singress: rest", ns)
	}
	if s.Auth.Type == AuthCognito {
		if len(s.Auth.Audiences) == 0 {
			add("auth.audiences", "required for cognito with %singress: http: the user pool's app client ids whose access tokens may post (the HTTP API's JWT authorizer checks the token's client_id against them)", ns)
		}
		// AWS (HTTP API JWT authorizers): "There is no standard mechanism
		// to differentiate JWT access tokens from other types of JWTs, such
		// as OpenID Connect ID tokens. Unless you require ID tokens for API
		// authorization, we recommend that you configure your routes to
		// require authorization scopes." A Cognito ID token carries the app
		// client id as its aud and no scope claim, so without scopes it
		// would post as well as an access token; a REST API's Cognito
		// authorizer with scopes accepts access tokens only, so scopes keep
		// the two ingresses alike.
		if len(s.Auth.Scopes) == 0 {
			add("auth.scopes", "required for cognito with %singress: http: without scopes an HTTP API's JWT authorizer also accepts the user pool's ID tokens (their aud is an app client id, and AWS has no other way to tell them from access tokens); name the resource server scopes an access token must carry (e.g. webhooks/write)", ns)
		}
		for j, a := range s.Auth.Audiences {
			if !clientIDRE.MatchString(a) {
				add(fmt.Sprintf("auth.audiences[%d]", j), "%q is not a Cognito app client id", a)
			}
		}
	}
	for _, p := range s.Spec().CheckHTTP() {
		add(p[0], "%s", p[1])
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func checkThrottle(v *validator, key string, t Throttle) {
	if t.RateLimit <= 0 {
		v.add(key+".rateLimit", "must be > 0 requests per second, got %v", t.RateLimit)
	}
	if t.BurstLimit < 0 {
		v.add(key+".burstLimit", "must be >= 0, got %d", t.BurstLimit)
	}
}

// validate checks one source (key is its config key, sources[i]), part by
// part, reporting every problem.
func (s *Source) validate(v *validator, key string) {
	if !contract.ValidSourceName(s.Name) {
		v.add(key+".name", "%q must be 1-30 lower-case letters, digits or '-', starting with a letter (it is the URL path segment)", s.Name)
	}
	s.validateAuth(v, key)
	s.validateSignature(v, key)
	s.validateContract(v, key)
	s.validateQueueAndFunction(v, key)
	s.validateProcessor(v, key)
	s.validateIdempotency(v, key)
	s.validateRetry(v, key)
	if s.Throttle != nil {
		checkThrottle(v, key+".throttle", *s.Throttle)
	}
}

// validateAuth checks auth: the kind, and that each setting belongs to it.
func (s *Source) validateAuth(v *validator, key string) {
	switch s.Auth.Type {
	case AuthAPIKey, AuthToken:
		if p := s.Auth.UsagePlan; p != nil {
			checkThrottle(v, key+".auth.usagePlan", Throttle{RateLimit: p.RateLimit, BurstLimit: p.BurstLimit})
			if p.QuotaLimit < 0 {
				v.add(key+".auth.usagePlan.quotaLimit", "must be >= 0, got %d", p.QuotaLimit)
			}
			if p.QuotaLimit > 0 && !slices.Contains([]string{"DAY", "WEEK", "MONTH"}, p.QuotaPeriod) {
				v.add(key+".auth.usagePlan.quotaPeriod", "want DAY, WEEK or MONTH with a quotaLimit, got %q", p.QuotaPeriod)
			}
		}
	case AuthCognito:
		if !userPoolRE.MatchString(s.Auth.UserPoolARN) {
			v.add(key+".auth.userPoolArn", "required for cognito: a Cognito user pool ARN, got %q", s.Auth.UserPoolARN)
		}
		for j, sc := range s.Auth.Scopes {
			if !scopeRE.MatchString(sc) {
				v.add(fmt.Sprintf("%s.auth.scopes[%d]", key, j), "%q is not an OAuth scope", sc)
			}
		}
	case AuthSignature:
		if !s.Signature.Scheme.SignsBody() {
			v.add(key+".auth.type", "signature auth leaves the route open and relies on the body's signature, so it needs a signature scheme that signs the body, not %q", s.Signature.Scheme)
		}
	case AuthIAM:
	default:
		v.add(key+".auth.type", "unknown auth %q (want one of %s)", s.Auth.Type, strings.Join(AuthKinds, ", "))
	}
	if !s.Auth.HasUsagePlan() && s.Auth.UsagePlan != nil {
		v.add(key+".auth.usagePlan", "only apiKey and token sources have a usage plan")
	}
	if s.Auth.Type == AuthToken {
		if !ssmNameRE.MatchString(s.Auth.TokenParameter) {
			v.add(key+".auth.tokenParameter", "%q is not an SSM parameter name (/path/name)", s.Auth.TokenParameter)
		}
		if t := s.Auth.CacheTTL(); t < 0 || t > 3600 {
			v.add(key+".auth.cacheTtlSeconds", "must be between 0 (no caching) and 3600, API Gateway's limit, got %d", t)
		}
	} else if s.Auth.TokenParameter != "" || s.Auth.CacheTTLSeconds != nil {
		v.add(key+".auth.tokenParameter", "tokenParameter and cacheTtlSeconds belong to token sources only")
	}
	if s.Auth.Type != AuthCognito && len(s.Auth.Audiences) > 0 {
		v.add(key+".auth.audiences", "audiences belong to cognito sources only")
	}
	if s.Auth.Type != AuthCognito && (s.Auth.UserPoolARN != "" || len(s.Auth.Scopes) > 0) {
		v.add(key+".auth.userPoolArn", "userPoolArn and scopes belong to cognito sources only")
	}
}

// validateSignature checks the signature scheme and its settings.
func (s *Source) validateSignature(v *validator, key string) {
	scheme, err := contract.ParseScheme(string(s.Signature.Scheme))
	if err != nil {
		if s.Signature.Scheme == "" {
			v.add(key+".signature.scheme", "required: one of %s (none must be said explicitly)", schemeNames())
		} else {
			v.add(key+".signature.scheme", "%v", err)
		}
	}
	if scheme != contract.SchemeNone && scheme != "" && !ssmNameRE.MatchString(s.Signature.SecretParameter) {
		v.add(key+".signature.secretParameter", "%q is not an SSM parameter name (/path/name)", s.Signature.SecretParameter)
	}
	if scheme == contract.SchemeHMACSHA256 {
		if s.Signature.Header == "" {
			v.add(key+".signature.header", "required for hmac-sha256: the header that carries the signature")
		} else if _, err := contract.ParseSelector("header:"+s.Signature.Header, false); err != nil {
			v.add(key+".signature.header", "%v", err)
		}
		if s.Signature.Encoding != "hex" && s.Signature.Encoding != "base64" {
			v.add(key+".signature.encoding", "want hex or base64, got %q", s.Signature.Encoding)
		}
	} else if s.Signature.Header != "" || s.Signature.Encoding != "" {
		v.add(key+".signature.header", "header and encoding belong to the hmac-sha256 scheme only")
	}
	if t := s.Signature.SecretTTLSeconds; t < 1 || t > 3600 {
		v.add(key+".signature.secretTtlSeconds", "must be between 1 and 3600, got %d", t)
	}
	if t := s.Signature.ToleranceSeconds; t < 1 || t > 3600 {
		v.add(key+".signature.toleranceSeconds", "must be between 1 and 3600, got %d", t)
	}
}

// schemeNames lists the contract's schemes as a sentence: "a, b or c".
func schemeNames() string {
	names := make([]string, len(contract.Schemes))
	for i, s := range contract.Schemes {
		names[i] = string(s)
	}
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// validateContract checks what the ingest contract needs of the source:
// selectors, content types, and the contract's own limits. The selectors
// were parsed when the source was decoded.
func (s *Source) validateContract(v *validator, key string) {
	if s.EventID.Kind == contract.KindSource {
		v.add(key+".eventId", "%q is not allowed here; use header:<Name> or body:<JSONPath>", s.EventID)
	}
	for j, ct := range s.ContentTypes {
		if ct == "multipart/form-data" || strings.HasPrefix(ct, "image/") || ct == "application/octet-stream" {
			v.add(fmt.Sprintf("%s.contentTypes[%d]", key, j), "%q is binary; webhooks must be text so the body reaches SQS byte for byte", ct)
		}
	}
	bodySelected := s.GroupBy.Kind == contract.KindBody || s.EventID.Kind == contract.KindBody
	if bodySelected {
		for j, ct := range s.ContentTypes {
			if ct != "application/json" && !strings.HasSuffix(ct, "+json") {
				v.add(fmt.Sprintf("%s.contentTypes[%d]", key, j), "%q is not JSON, but groupBy/eventId read the body with a JSONPath", ct)
			}
		}
	}
	if contract.ValidSourceName(s.Name) {
		if err := s.Spec().Validate(); err != nil {
			v.add(key, "%v", err)
		}
	}
}

// validateQueueAndFunction checks the queues' and the function's sizes,
// and that the visibility timeout covers the function's timeout.
func (s *Source) validateQueueAndFunction(v *validator, key string) {
	if n := s.MaxReceiveCount; n < MinReceiveCount || n > MaxReceiveCount {
		v.add(key+".maxReceiveCount", "must be between %d and %d (SQS's limit), got %d: it is the safety net above the retry budget", MinReceiveCount, MaxReceiveCount, n)
	}
	if d := s.RetentionDays; d < 1 || d > 14 {
		v.add(key+".retentionDays", "must be between 1 and 14 (the DLQ keeps 14), got %d", d)
	}
	if m := s.Function.MemoryMB; m < 128 || m > 10240 {
		v.add(key+".function.memoryMb", "must be between 128 and 10240, got %d", m)
	}
	t := s.Function.TimeoutSeconds
	if t < 1 || t > 900 {
		v.add(key+".function.timeoutSeconds", "must be between 1 and 900, got %d", t)
	}
	if c := s.Function.MaxConcurrency; c < 2 || c > 1000 {
		v.add(key+".function.maxConcurrency", "must be between 2 and 1000 (the SQS event source mapping's range), got %d", c)
	}
	vt := s.VisibilityTimeoutSeconds
	switch {
	case vt > 43200:
		v.add(key+".visibilityTimeoutSeconds", "must be at most 43200 (12 h), got %d", vt)
	case vt < VisibilityMultiple*t:
		v.add(key+".visibilityTimeoutSeconds", "%d is less than %d x function.timeoutSeconds (%d): lower the timeout or raise the visibility timeout to at least %d", vt, VisibilityMultiple, t, VisibilityMultiple*t)
	}
}

// validateRetry checks the retry block against SQS's limits and the queue:
// a delay SQS can set (12 h from receipt, the function's time included), a
// budget the queue's retention outlasts, and maxReceiveCount above it.
func (s *Source) validateRetry(v *validator, key string) {
	r, k := s.Retry, key+".retry"
	if !slices.Contains(contract.Schedules, r.Schedule) {
		v.add(k+".schedule", "want one of %s, got %q", strings.Join(contract.Schedules, ", "), r.Schedule)
	}
	maxDelay := int(contract.MaxVisibility/time.Second) - s.Function.TimeoutSeconds
	if r.BaseSeconds < 1 || r.BaseSeconds > r.MaxDelaySeconds {
		v.add(k+".baseSeconds", "must be at least 1 and at most maxDelaySeconds (%d), got %d", r.MaxDelaySeconds, r.BaseSeconds)
	}
	if r.MaxDelaySeconds > maxDelay {
		v.add(k+".maxDelaySeconds", "must be at most %d: SQS hides a message at most 12 h from its receipt, and the function runs up to %d s of that, got %d", maxDelay, s.Function.TimeoutSeconds, r.MaxDelaySeconds)
	}
	retention := s.RetentionDays * 24 * 3600
	if r.MaxAgeSeconds < 1 || r.MaxAgeSeconds >= retention {
		v.add(k+".maxAgeSeconds", "must be at least 1 and below the queue's retention (retentionDays %d = %d s), or SQS deletes a record still being retried; got %d", s.RetentionDays, retention, r.MaxAgeSeconds)
	}
	if r.MaxAttempts < 0 {
		v.add(k+".maxAttempts", "must be >= 0 (0: bounded by maxAgeSeconds only), got %d", r.MaxAttempts)
	}
	if r.BaseSeconds < 1 || r.MaxDelaySeconds < r.BaseSeconds || r.MaxAgeSeconds < 1 || r.MaxAttempts < 0 || s.MaxReceiveCount < MinReceiveCount {
		return
	}
	if n := r.Policy().Attempts(); s.MaxReceiveCount <= n {
		v.add(key+".maxReceiveCount", "%d is not above the retry budget's %d attempts (retry.maxAgeSeconds %d, retry.maxAttempts %d): SQS would dead-letter records the consumer still retries; raise it above %d (default %d) or shorten the budget",
			s.MaxReceiveCount, n, r.MaxAgeSeconds, r.MaxAttempts, n, DefaultMaxReceiveCount(r))
	}
}

// DefaultMaxReceiveCount is the safety net a retry budget gets by default:
// twice its attempts plus 5, within SQS's bounds.
func DefaultMaxReceiveCount(r Retry) int {
	return min(MaxReceiveCount, max(MinReceiveCount, 2*r.Policy().Attempts()+5))
}

// validateProcessor checks the processor and that its settings belong to it.
func (s *Source) validateProcessor(v *validator, key string) {
	switch s.Processor.Type {
	case contract.ProcessorForward:
		u, err := url.Parse(s.Processor.URL)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			v.add(key+".processor.url", "forward needs an https:// URL, got %q", s.Processor.URL)
		}
		if !ssmNameRE.MatchString(s.Processor.SecretParameter) {
			v.add(key+".processor.secretParameter", "%q is not an SSM parameter name", s.Processor.SecretParameter)
		}
		t := s.Function.TimeoutSeconds
		if to := s.Processor.TimeoutSeconds; to < 1 || to >= t {
			v.add(key+".processor.timeoutSeconds", "must be at least 1 and below function.timeoutSeconds (%d), got %d", t, to)
		}
	default:
		// log, and any processor a team registered in the handler: they
		// take no settings here.
		if !s.Processor.Type.Ships() {
			v.add(key+".processor.type", "unknown processor %q: the handler ships %v (to add one, see \"Processors\" in docs/handler.md)", s.Processor.Type, contract.Processors)
		}
		if s.Processor.URL != "" || s.Processor.SecretParameter != "" || s.Processor.TimeoutSeconds != 0 {
			v.add(key+".processor", "url, secretParameter and timeoutSeconds belong to the forward processor only")
		}
	}
}

// validateIdempotency checks long-window dedup, when it is on.
func (s *Source) validateIdempotency(v *validator, key string) {
	if !s.Idempotency.Enabled {
		return
	}
	if h := s.Idempotency.TTLHours; h < 1 || h > 8760 {
		v.add(key+".idempotency.ttlHours", "must be between 1 and 8760, got %d", h)
	}
	if s.EventID.IsZero() {
		v.add(key+".idempotency", "long-window dedup needs an eventId to key on")
	}
}

// secretProblems checks a signing secret, token or forward secret value in
// the one rotation format (contract.SecretValues: one per line, newest
// first): each secret must be one the format can hold
// (contract.ValidateSecret), and each must pass check when it is given (an
// empty answer passes). A value the stack could not read offline
// (SecretPlaceholder) is not checked.
func secretProblems(v *validator, key, value string, check func(string) string) {
	if value == SecretPlaceholder {
		return
	}
	if err := contract.ValidateSecrets(key, value); err != nil {
		v.add(key, "%s", strings.TrimPrefix(err.Error(), key+": "))
		return
	}
	if check == nil {
		return
	}
	for _, sec := range contract.SecretValues(value) {
		if msg := check(sec); msg != "" {
			v.add(key, "%s", msg)
			return
		}
	}
}
