package contract_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/contract"
)

func TestRetrySchedule(t *testing.T) {
	exp := contract.RetryPolicy{Schedule: contract.ScheduleExponential, Base: 30 * time.Second, MaxDelay: time.Hour, MaxAge: 24 * time.Hour}
	for n, want := range map[int]time.Duration{1: 30 * time.Second, 2: time.Minute, 4: 4 * time.Minute, 8: time.Hour, 200: time.Hour} {
		if got := exp.Delay(n); got != want {
			t.Errorf("exponential attempt %d: %s, want %s", n, got, want)
		}
	}
	lin := exp
	lin.Schedule = contract.ScheduleLinear
	if got := lin.Delay(3); got != 90*time.Second {
		t.Errorf("linear attempt 3: %s", got)
	}
	// 30 s … 32 min is 7 attempts (63.5 min), then hourly: 30 in a day.
	if n := exp.Attempts(); n != 30 {
		t.Errorf("attempts in a day: %d, want 30", n)
	}
	capped := exp
	capped.MaxAttempts = 5
	if n := capped.Attempts(); n != 5 || !capped.Spent(5, 0, time.Second) || capped.Spent(4, 0, time.Second) {
		t.Errorf("maxAttempts 5: %d attempts", n)
	}
	if !exp.Spent(3, 24*time.Hour-time.Minute, 2*time.Minute) || exp.Spent(3, time.Hour, 2*time.Minute) {
		t.Error("the age budget")
	}
	if exp.Jittered(time.Minute, 0.5) != time.Minute || (contract.RetryPolicy{Jitter: true}).Jittered(time.Minute, 0.5) != 45*time.Second {
		t.Error("jitter")
	}
}

func TestRetryPolicyValidate(t *testing.T) {
	good := contract.RetryPolicy{Schedule: contract.ScheduleLinear, Base: time.Second, MaxDelay: time.Minute, MaxAge: time.Hour}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]contract.RetryPolicy{
		"schedule": {Schedule: "fib", Base: time.Second, MaxDelay: time.Minute, MaxAge: time.Hour},
		"12 h":     {Schedule: contract.ScheduleLinear, Base: time.Second, MaxDelay: 13 * time.Hour, MaxAge: time.Hour},
		"base":     {Schedule: contract.ScheduleLinear, Base: 2 * time.Minute, MaxDelay: time.Minute, MaxAge: time.Hour},
		"age":      {Schedule: contract.ScheduleLinear, Base: time.Second, MaxDelay: time.Minute},
	} {
		if err := p.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestRetryEnvRoundTrip(t *testing.T) {
	in := contract.HandlerConfig{Source: "a", Scheme: contract.SchemeNone, Attributes: []string{contract.AttrSource},
		Retry: contract.RetryPolicy{Schedule: contract.ScheduleExponential, Base: 30 * time.Second, MaxDelay: time.Hour, MaxAge: 24 * time.Hour, MaxAttempts: 12, Jitter: true}}
	env := in.Env()
	out, err := contract.ParseHandlerConfig(func(k string) string { return env[k] })
	if err != nil || out.Retry != in.Retry {
		t.Fatalf("%+v %v", out.Retry, err)
	}
	env[contract.EnvRetryMaxDelay] = "50000"
	if _, err := contract.ParseHandlerConfig(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "12 h") {
		t.Errorf("a 50,000 s delay: %v", err)
	}
}
