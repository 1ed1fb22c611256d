package contract

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Retry schedules: how the delay between a record's attempts grows.
const (
	ScheduleExponential = "exponential"
	ScheduleLinear      = "linear"
)

// Schedules lists the retry schedules, the default first.
var Schedules = []string{ScheduleExponential, ScheduleLinear}

// MaxVisibility is SQS's longest visibility timeout, counted from a
// message's receipt: ChangeMessageVisibility refuses to extend it further.
const MaxVisibility = 12 * time.Hour

// RetryPolicy is how the consumer retries a record that failed transiently:
// it hides the record (ChangeMessageVisibility) for the next delay of the
// schedule — the record's FIFO group waits behind it, other groups go on —
// and moves it to the DLQ itself once the budget (MaxAge since SQS received
// it, or MaxAttempts receives) is spent. The queue's maxReceiveCount is a
// safety net above the budget.
type RetryPolicy struct {
	// Schedule is ScheduleExponential (Base × 2^(n−1)) or ScheduleLinear
	// (Base × n) for attempt n.
	Schedule string
	Base     time.Duration
	// MaxDelay caps a delay (and a destination's Retry-After).
	MaxDelay time.Duration
	// MaxAge is how long after SQS received it a record is retried.
	MaxAge time.Duration
	// MaxAttempts, when positive, also bounds the receives.
	MaxAttempts int
	// Jitter spreads each delay over [delay/2, delay], so groups failing
	// together do not come back together.
	Jitter bool
}

// Delay is the delay after attempt n (n ≥ 1) before jitter: the schedule's,
// capped at MaxDelay.
func (p RetryPolicy) Delay(n int) time.Duration {
	n = max(n, 1)
	var d float64
	switch p.Schedule {
	case ScheduleLinear:
		d = float64(p.Base) * float64(n)
	default:
		d = float64(p.Base) * math.Pow(2, float64(n-1))
	}
	if d > float64(p.MaxDelay) || math.IsInf(d, 0) {
		return p.MaxDelay
	}
	return time.Duration(d)
}

// Jittered is d spread over [d/2, d] by r in [0, 1) when Jitter is on.
func (p RetryPolicy) Jittered(d time.Duration, r float64) time.Duration {
	if !p.Jitter {
		return d
	}
	return d/2 + time.Duration(float64(d/2)*r)
}

// Spent reports whether a record at attempt n, received age ago, may not
// wait next more: its next attempt would come after MaxAge, or n reached
// MaxAttempts.
func (p RetryPolicy) Spent(n int, age, next time.Duration) bool {
	if p.MaxAttempts > 0 && n >= p.MaxAttempts {
		return true
	}
	return age+next > p.MaxAge
}

// Attempts is how many attempts the budget allows a record that fails every
// time (the schedule without jitter, whose delays are the longest): what the
// queue's maxReceiveCount must stay above.
func (p RetryPolicy) Attempts() int {
	n, age := 1, time.Duration(0)
	for !p.Spent(n, age, p.Delay(n)) {
		age += p.Delay(n)
		n++
		if n > 100000 {
			break
		}
	}
	return n
}

// Validate names what SQS or the schedule cannot honour.
func (p RetryPolicy) Validate() error {
	var probs []string
	if p.Schedule != ScheduleExponential && p.Schedule != ScheduleLinear {
		probs = append(probs, fmt.Sprintf("schedule %q is not one of %s", p.Schedule, strings.Join(Schedules, ", ")))
	}
	if p.Base <= 0 || p.MaxDelay < p.Base {
		probs = append(probs, fmt.Sprintf("base delay %s must be positive and at most the maximum delay %s", p.Base, p.MaxDelay))
	}
	if p.MaxDelay > MaxVisibility {
		probs = append(probs, fmt.Sprintf("maximum delay %s is beyond SQS's 12 h visibility limit", p.MaxDelay))
	}
	if p.MaxAge <= 0 || p.MaxAttempts < 0 {
		probs = append(probs, "the budget (maximum age, attempts) must be positive")
	}
	if len(probs) > 0 {
		return fmt.Errorf("retry policy: %s", strings.Join(probs, "; "))
	}
	return nil
}

// Environment variables of the retry policy (HandlerConfig.Retry).
const (
	EnvRetrySchedule    = "HOOKLINE_RETRY_SCHEDULE"
	EnvRetryBase        = "HOOKLINE_RETRY_BASE_SECONDS"
	EnvRetryMaxDelay    = "HOOKLINE_RETRY_MAX_DELAY_SECONDS"
	EnvRetryMaxAge      = "HOOKLINE_RETRY_MAX_AGE_SECONDS"
	EnvRetryMaxAttempts = "HOOKLINE_RETRY_MAX_ATTEMPTS"
	EnvRetryJitter      = "HOOKLINE_RETRY_JITTER"
)

// env renders the policy as environment variables (none when zero).
func (p RetryPolicy) env(env map[string]string) {
	if p.Schedule == "" {
		return
	}
	env[EnvRetrySchedule] = p.Schedule
	env[EnvRetryBase] = strconv.Itoa(int(p.Base / time.Second))
	env[EnvRetryMaxDelay] = strconv.Itoa(int(p.MaxDelay / time.Second))
	env[EnvRetryMaxAge] = strconv.Itoa(int(p.MaxAge / time.Second))
	env[EnvRetryMaxAttempts] = strconv.Itoa(p.MaxAttempts)
	env[EnvRetryJitter] = strconv.FormatBool(p.Jitter)
}

// parseRetry reads the policy back; no schedule: the zero policy.
func parseRetry(getenv func(string) string) (RetryPolicy, error) {
	p := RetryPolicy{Schedule: getenv(EnvRetrySchedule)}
	if p.Schedule == "" {
		return p, nil
	}
	num := func(key string) (int, error) {
		n, err := strconv.Atoi(getenv(key))
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%s=%q: want a whole number >= 0", key, getenv(key))
		}
		return n, nil
	}
	var err error
	var n int
	if n, err = num(EnvRetryBase); err != nil {
		return p, err
	}
	p.Base = time.Duration(n) * time.Second
	if n, err = num(EnvRetryMaxDelay); err != nil {
		return p, err
	}
	p.MaxDelay = time.Duration(n) * time.Second
	if n, err = num(EnvRetryMaxAge); err != nil {
		return p, err
	}
	p.MaxAge = time.Duration(n) * time.Second
	if p.MaxAttempts, err = num(EnvRetryMaxAttempts); err != nil {
		return p, err
	}
	p.Jitter = getenv(EnvRetryJitter) == "true"
	return p, p.Validate()
}
