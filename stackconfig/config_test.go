package stackconfig_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/stackconfig"
)

// base is a minimal valid stack: one source with every default.
func base() map[string]any {
	return map[string]any{
		"aws:region": "eu-west-1",
		"hookline:sources": []any{
			map[string]any{"name": "payments", "signature": map[string]any{"scheme": "stripe"}},
		},
	}
}

// raw renders structured values as JSON text, the way Pulumi passes them.
func raw(t *testing.T, m map[string]any) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, v := range m {
		if s, ok := v.(string); ok {
			out[k] = s
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out[k] = string(b)
	}
	return out
}

func source(m map[string]any, mutate func(map[string]any)) {
	mutate(m["hookline:sources"].([]any)[0].(map[string]any))
}

func TestDefaults(t *testing.T) {
	c, err := stackconfig.Load("dev", raw(t, base()), true, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := c.Sources[0]
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"environment defaults to the stack", c.Environment, "dev"},
		{"stage rate is AWS's account default", c.Throttle.RateLimit, float64(10000)},
		{"stage burst is AWS's account default", c.Throttle.BurstLimit, 5000},
		{"log retention", c.LogRetentionDays, stackconfig.DefaultLogRetentionDays},
		{"auth", s.Auth.Type, "apiKey"},
		{"groupBy", s.GroupBy, stackconfig.DefaultGroupBy},
		{"stripe event id from the body", s.EventID.String(), "body:$.id"},
		{"content type", strings.Join(s.ContentTypes, ","), "application/json"},
		{"maxReceiveCount", s.MaxReceiveCount, stackconfig.DefaultMaxReceiveCount(s.Retry)},
		{"retry.schedule", s.Retry.Schedule, "exponential"},
		{"retry.maxAgeSeconds", s.Retry.MaxAgeSeconds, 86400},
		{"retentionDays", s.RetentionDays, 14},
		{"visibility is 6 x timeout", s.VisibilityTimeoutSeconds, 6 * s.Function.TimeoutSeconds},
		{"secret parameter", s.Signature.SecretParameter, "/hookline/dev/payments/signing-secret"},
		{"tolerance", s.Signature.ToleranceSeconds, 300},
		{"processor", s.Processor.Type, contract.ProcessorLog},
		{"high throughput", s.HighThroughputMode(), true},
		{"max concurrency", s.Function.MaxConcurrency, 5},
	}
	for _, tc := range checks {
		if tc.got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

func TestIdempotencyAndForwardDefaults(t *testing.T) {
	m := base()
	source(m, func(s map[string]any) {
		s["idempotency"] = map[string]any{"enabled": true}
		s["processor"] = map[string]any{"type": "forward", "url": "https://example.com/hook"}
	})
	c, err := stackconfig.Load("dev", raw(t, m), true, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := c.Sources[0]
	if s.Idempotency.TTLHours != 72 {
		t.Errorf("ttl: got %d, want 72", s.Idempotency.TTLHours)
	}
	if s.Processor.TimeoutSeconds != 10 || s.Processor.SecretParameter != "/hookline/dev/payments/forward-secret" {
		t.Errorf("forward defaults: %+v", s.Processor)
	}
	hc := c.HandlerConfig(s)
	if hc.IdempotencyTable != "hookline-dev-payments-idempotency" {
		t.Errorf("table: %q", hc.IdempotencyTable)
	}
}

// TestInvalid: every invalid value fails with an error naming the stack file
// and the key.
func TestInvalid(t *testing.T) {
	cases := []struct {
		name    string
		mutate  func(m map[string]any)
		wantKey string
		wantMsg string
	}{
		{"unknown top-level key", func(m map[string]any) { m["hookline:sourcez"] = "x" }, "hookline:sourcez", "unknown key"},
		{"unknown source key", func(m map[string]any) { source(m, func(s map[string]any) { s["colour"] = "red" }) }, "hookline:sources[0].colour", "unknown key (known here: auth, contentTypes,"},
		{"mistyped top-level key", func(m map[string]any) { m["hookline:sourcez"] = "x" }, "hookline:sourcez", "did you mean hookline:sources?"},
		{"mistyped nested key", func(m map[string]any) {
			source(m, func(s map[string]any) { s["signature"] = map[string]any{"shceme": "github"} })
		}, "hookline:sources[0].signature.shceme", "unknown key: did you mean hookline:sources[0].signature.scheme?"},
		{"mistyped key in an object", func(m map[string]any) { m["hookline:traffic"] = map[string]any{"rsp": 3} }, "hookline:traffic.rsp", "did you mean hookline:traffic.rps?"},
		{"wrong kind", func(m map[string]any) { source(m, func(s map[string]any) { s["maxReceiveCount"] = "five" }) }, "hookline:sources[0].maxReceiveCount", `want a whole number, got the string "five"`},
		{"a string for a number", func(m map[string]any) { m["hookline:traffic"] = map[string]any{"rps": "x"} }, "hookline:traffic.rps", `want a number, got the string "x"`},
		{"missing region", func(m map[string]any) { delete(m, "aws:region") }, "aws:region", "required"},
		{"bad region", func(m map[string]any) { m["aws:region"] = "mars-1" }, "aws:region", "not an AWS region"},
		{"bad environment", func(m map[string]any) { m["hookline:environment"] = "Prod_1" }, "hookline:environment", "lower-case"},
		{"no sources", func(m map[string]any) { m["hookline:sources"] = []any{} }, "hookline:sources", "at least one"},
		{"bad source name", func(m map[string]any) { source(m, func(s map[string]any) { s["name"] = "Pay Ments" }) }, "hookline:sources[0].name", "lower-case"},
		{"duplicate source", func(m map[string]any) {
			m["hookline:sources"] = append(m["hookline:sources"].([]any),
				map[string]any{"name": "payments", "signature": map[string]any{"scheme": "none"}})
		}, "hookline:sources[1].name", "duplicate"},
		{"maxReceiveCount below the guard rail", func(m map[string]any) { source(m, func(s map[string]any) { s["maxReceiveCount"] = 2 }) }, "hookline:sources[0].maxReceiveCount", "between 3 and 1000"},
		{"maxReceiveCount above SQS's limit", func(m map[string]any) { source(m, func(s map[string]any) { s["maxReceiveCount"] = 1001 }) }, "hookline:sources[0].maxReceiveCount", "between 3 and 1000"},
		{"maxReceiveCount within the retry budget", func(m map[string]any) { source(m, func(s map[string]any) { s["maxReceiveCount"] = 30 }) }, "hookline:sources[0].maxReceiveCount", "not above the retry budget's 30 attempts"},
		{"retry maxAge beyond the retention", func(m map[string]any) {
			source(m, func(s map[string]any) {
				s["retentionDays"] = 2
				s["retry"] = map[string]any{"maxAgeSeconds": 3 * 86400}
			})
		}, "hookline:sources[0].retry.maxAgeSeconds", "below the queue's retention"},
		{"retry delay beyond 12 h", func(m map[string]any) {
			source(m, func(s map[string]any) { s["retry"] = map[string]any{"maxDelaySeconds": 43200} })
		}, "hookline:sources[0].retry.maxDelaySeconds", "12 h from its receipt"},
		{"retry attempts above the safety net", func(m map[string]any) {
			source(m, func(s map[string]any) { s["maxReceiveCount"] = 10; s["retry"] = map[string]any{"maxAttempts": 12} })
		}, "hookline:sources[0].maxReceiveCount", "not above the retry budget's 12 attempts"},
		{"unknown retry schedule", func(m map[string]any) {
			source(m, func(s map[string]any) { s["retry"] = map[string]any{"schedule": "fibonacci"} })
		}, "hookline:sources[0].retry.schedule", "exponential, linear"},
		{"eventId source", func(m map[string]any) { source(m, func(s map[string]any) { s["eventId"] = "source" }) }, "hookline:sources[0].eventId", "not allowed"},
		{"bad eventId", func(m map[string]any) { source(m, func(s map[string]any) { s["eventId"] = "body:id" }) }, "hookline:sources[0].eventId", "body path"},
		{"visibility below 6x timeout", func(m map[string]any) {
			source(m, func(s map[string]any) {
				s["function"] = map[string]any{"timeoutSeconds": 30}
				s["visibilityTimeoutSeconds"] = 60
			})
		}, "hookline:sources[0].visibilityTimeoutSeconds", "at least 180"},
		{"function timeout over 900", func(m map[string]any) {
			source(m, func(s map[string]any) { s["function"] = map[string]any{"timeoutSeconds": 901} })
		}, "hookline:sources[0].function.timeoutSeconds", "between 1 and 900"},
		{"max concurrency 1", func(m map[string]any) {
			source(m, func(s map[string]any) { s["function"] = map[string]any{"maxConcurrency": 1} })
		}, "hookline:sources[0].function.maxConcurrency", "between 2 and 1000"},
		{"domain without zone", func(m map[string]any) { m["hookline:domain"] = map[string]any{"name": "hooks.example.com"} }, "hookline:domain.hostedZoneId", "required"},
		{"bad domain", func(m map[string]any) {
			m["hookline:domain"] = map[string]any{"name": "not a domain", "hostedZoneId": "Z123"}
		}, "hookline:domain.name", "DNS name"},
		{"unknown auth", func(m map[string]any) {
			source(m, func(s map[string]any) { s["auth"] = map[string]any{"type": "basic"} })
		}, "hookline:sources[0].auth.type", "unknown auth"},
		{"cognito without pool", func(m map[string]any) {
			source(m, func(s map[string]any) { s["auth"] = map[string]any{"type": "cognito"} })
		}, "hookline:sources[0].auth.userPoolArn", "required for cognito"},
		{"usage plan on iam", func(m map[string]any) {
			source(m, func(s map[string]any) {
				s["auth"] = map[string]any{"type": "iam", "usagePlan": map[string]any{"rateLimit": 1}}
			})
		}, "hookline:sources[0].auth.usagePlan", "only apiKey"},
		{"quota without period", func(m map[string]any) {
			source(m, func(s map[string]any) {
				s["auth"] = map[string]any{"type": "apiKey", "usagePlan": map[string]any{"rateLimit": 1, "quotaLimit": 10}}
			})
		}, "hookline:sources[0].auth.usagePlan.quotaPeriod", "DAY, WEEK or MONTH"},
		{"missing scheme", func(m map[string]any) { source(m, func(s map[string]any) { delete(s, "signature") }) }, "hookline:sources[0].signature.scheme", "required"},
		{"unknown scheme", func(m map[string]any) {
			source(m, func(s map[string]any) { s["signature"] = map[string]any{"scheme": "md5"} })
		}, "hookline:sources[0].signature.scheme", "unknown signature scheme"},
		{"hmac without header", func(m map[string]any) {
			source(m, func(s map[string]any) { s["signature"] = map[string]any{"scheme": "hmac-sha256"} })
		}, "hookline:sources[0].signature.header", "required for hmac-sha256"},
		{"bad groupBy", func(m map[string]any) { source(m, func(s map[string]any) { s["groupBy"] = "cookie:x" }) }, "hookline:sources[0].groupBy", "unknown selector kind"},
		{"groupBy header with quote", func(m map[string]any) { source(m, func(s map[string]any) { s["groupBy"] = `header:X"Y` }) }, "hookline:sources[0].groupBy", "header name"},
		{"bad eventId path", func(m map[string]any) { source(m, func(s map[string]any) { s["eventId"] = "body:id" }) }, "hookline:sources[0].eventId", "body path"},
		{"body selector on form content", func(m map[string]any) {
			source(m, func(s map[string]any) { s["contentTypes"] = []any{"application/x-www-form-urlencoded"} })
		}, "hookline:sources[0].contentTypes[0]", "not JSON"},
		{"binary content type", func(m map[string]any) {
			source(m, func(s map[string]any) {
				s["contentTypes"] = []any{"application/octet-stream"}
				s["eventId"] = "header:X-Id"
			})
		}, "hookline:sources[0].contentTypes[0]", "binary"},
		{"forward over http", func(m map[string]any) {
			source(m, func(s map[string]any) {
				s["processor"] = map[string]any{"type": "forward", "url": "http://example.com"}
			})
		}, "hookline:sources[0].processor.url", "https://"},
		{"forward timeout not below function timeout", func(m map[string]any) {
			source(m, func(s map[string]any) {
				s["processor"] = map[string]any{"type": "forward", "url": "https://example.com", "timeoutSeconds": 30}
			})
		}, "hookline:sources[0].processor.timeoutSeconds", "below function.timeoutSeconds"},
		{"unknown processor", func(m map[string]any) {
			source(m, func(s map[string]any) { s["processor"] = map[string]any{"type": "kafka"} })
		}, "hookline:sources[0].processor.type", "unknown processor"},
		{"log processor with forward settings", func(m map[string]any) {
			source(m, func(s map[string]any) { s["processor"] = map[string]any{"type": "log", "url": "https://example.com"} })
		}, "hookline:sources[0].processor", "forward processor only"},
		{"idempotency without event id", func(m map[string]any) {
			source(m, func(s map[string]any) {
				s["signature"] = map[string]any{"scheme": "none"}
				s["idempotency"] = map[string]any{"enabled": true}
			})
		}, "hookline:sources[0].idempotency", "needs an eventId"},
		{"log retention not allowed", func(m map[string]any) { m["hookline:logRetentionDays"] = "10" }, "hookline:logRetentionDays", "not a CloudWatch retention period"},
		{"archive retention negative", func(m map[string]any) { m["hookline:archive"] = map[string]any{"retentionDays": -1} }, "hookline:archive.retentionDays", "want 1 to 3650 days, got -1"},
		{"archive retention over ten years", func(m map[string]any) { m["hookline:archive"] = map[string]any{"retentionDays": 3651} }, "hookline:archive.retentionDays", "want 1 to 3650 days, got 3651"},
		{"archive enabled not a bool", func(m map[string]any) { m["hookline:archive"] = map[string]any{"enabled": "yes"} }, "hookline:archive.enabled", "want true or false"},
		{"bad alarm e-mail", func(m map[string]any) { m["hookline:alarmEmails"] = []any{"oncall"} }, "hookline:alarmEmails[0]", "e-mail"},
		{"bad throttle", func(m map[string]any) { m["hookline:throttle"] = map[string]any{"rateLimit": -5} }, "hookline:throttle.rateLimit", "> 0"},
		{"bad bool", func(m map[string]any) { m["hookline:manageApiGatewayAccount"] = "yes please" }, "hookline:manageApiGatewayAccount", "true or false"},
		{"bad accessLogs", func(m map[string]any) { m["hookline:accessLogs"] = "off" }, "hookline:accessLogs", "true or false"},
		{"tracing not a mode", func(m map[string]any) { m["hookline:tracing"] = "sampled" }, "hookline:tracing", `"sampled" is not a tracing mode: want active (`},
		{"tracing as a boolean", func(m map[string]any) { m["hookline:tracing"] = "false" }, "hookline:tracing", "did you mean off?"},
		{"tracing on", func(m map[string]any) { m["hookline:tracing"] = "on" }, "hookline:tracing", "did you mean active?"},
		{"tracing in capitals", func(m map[string]any) { m["hookline:tracing"] = "Active" }, "hookline:tracing", "did you mean active?"},
		{"tracing passthrough", func(m map[string]any) { m["hookline:tracing"] = "PassThrough" }, "hookline:tracing", "or off ("},
		{"tracing as an object", func(m map[string]any) { m["hookline:tracing"] = map[string]any{"mode": "off"} }, "hookline:tracing", "not a tracing mode"},
		{"too many sources", func(m map[string]any) {
			var ss []any
			for i := 0; i <= stackconfig.MaxSources; i++ {
				ss = append(ss, map[string]any{"name": fmt.Sprintf("s%d", i), "signature": map[string]any{"scheme": "none"}})
			}
			m["hookline:sources"] = ss
		}, "hookline:sources", "at most 25 per stack"},
		{"plain-text secret", func(m map[string]any) { m["hookline:signingSecrets"] = map[string]any{"payments": "s3cret"} }, "hookline:signingSecrets", "pulumi config set --secret"},
		{"aws tag key", func(m map[string]any) { m["hookline:tags"] = map[string]any{"aws:owner": "x"} }, "hookline:tags", "aws:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := base()
			tc.mutate(m)
			_, err := stackconfig.Load("dev", raw(t, m), true, nil)
			if err == nil {
				t.Fatal("want an error, got none")
			}
			var cfgErr *stackconfig.Error
			if !errors.As(err, &cfgErr) {
				t.Fatalf("want *stackconfig.Error, got %T: %v", err, err)
			}
			if cfgErr.File != "Pulumi.dev.yaml" || !strings.HasPrefix(err.Error(), "Pulumi.dev.yaml: ") {
				t.Errorf("error does not name the stack file: %v", err)
			}
			for _, p := range cfgErr.Problems {
				if p.Key == tc.wantKey && strings.Contains(p.Message, tc.wantMsg) {
					return
				}
			}
			t.Errorf("no problem at %s containing %q; got: %v", tc.wantKey, tc.wantMsg, err)
		})
	}
}

func TestSecrets(t *testing.T) {
	secret := []string{"hookline:signingSecrets", "hookline:forwardSecrets"}
	cases := []struct {
		name    string
		signing map[string]any
		forward map[string]any
		want    string
	}{
		{"valid", map[string]any{"payments": "whsec_abc", "partners": "[secret]"}, map[string]any{"payments": "x"}, ""},
		{"unknown source", map[string]any{"nope": "x"}, nil, `hookline:signingSecrets.nope: no source is named "nope"`},
		{"not whsec", map[string]any{"partners": "abc"}, nil, "starts with whsec_"},
		{"scheme none", map[string]any{"open": "abc"}, nil, "scheme none"},
		{"forward to a log source", nil, map[string]any{"partners": "x"}, "no forward source"},
		{"empty", map[string]any{"payments": ""}, nil, "empty secret"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := base()
			source(m, func(s map[string]any) {
				s["processor"] = map[string]any{"type": "forward", "url": "https://example.com/h"}
			})
			m["hookline:sources"] = append(m["hookline:sources"].([]any),
				map[string]any{"name": "partners", "signature": map[string]any{"scheme": "standard-webhooks"}},
				map[string]any{"name": "open", "signature": map[string]any{"scheme": "none"}})
			if tc.signing != nil {
				m["hookline:signingSecrets"] = tc.signing
			}
			if tc.forward != nil {
				m["hookline:forwardSecrets"] = tc.forward
			}
			c, err := stackconfig.Load("dev", raw(t, m), true, secret)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.SigningSecrets["payments"] != "whsec_abc" || c.ForwardSecrets["payments"] != "x" {
					t.Errorf("secrets not loaded: %v %v", c.SigningSecrets, c.ForwardSecrets)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestReadStackFileRedactsSecureValues(t *testing.T) {
	dir := t.TempDir()
	yaml := "config:\n  aws:region: eu-west-1\n  hookline:signingSecrets:\n    payments:\n      secure: v1:AAAA\n  plainKey: 3\n"
	if err := os.WriteFile(filepath.Join(dir, "Pulumi.x.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	raw, secret, err := stackconfig.ReadStackFile(dir, "x")
	if err != nil {
		t.Fatal(err)
	}
	if raw["hookline:signingSecrets"] != `{"payments":"[secret]"}` || raw["hookline:plainKey"] != "3" {
		t.Errorf("raw: %v", raw)
	}
	if strings.Join(secret, ",") != "hookline:signingSecrets" {
		t.Errorf("secret keys: %v", secret)
	}
}

// TestEveryProblemReported: several problems come back together, one per line.
func TestEveryProblemReported(t *testing.T) {
	m := base()
	m["hookline:environment"] = "BAD"
	source(m, func(s map[string]any) { s["maxReceiveCount"] = 0; s["name"] = "x y" })
	_, err := stackconfig.Load("prod", raw(t, m), true, nil)
	var cfgErr *stackconfig.Error
	if !errors.As(err, &cfgErr) {
		t.Fatalf("want *stackconfig.Error, got %v", err)
	}
	if len(cfgErr.Problems) < 2 {
		t.Fatalf("want at least 2 problems, got %v", cfgErr.Problems)
	}
	if !strings.HasPrefix(err.Error(), "Pulumi.prod.yaml: invalid configuration (") {
		t.Errorf("unexpected error text: %v", err)
	}
}

// TestIncompleteConfigIgnoresUnknownKeys: when only known keys were read
// (the program under an engine that does not pass the whole config), unknown
// keys cannot be seen and are not reported.
func TestIncompleteConfigIgnoresUnknownKeys(t *testing.T) {
	m := base()
	m["hookline:other"] = "x"
	if _, err := stackconfig.Load("dev", raw(t, m), false, nil); err != nil {
		t.Fatal(err)
	}
}

// TestStackFiles: the real stack files load, and say what the README says.
func TestStackFiles(t *testing.T) {
	for _, tc := range []struct {
		stack   string
		sources int
		domain  bool
		emails  int
	}{{"dev", 2, false, 0}, {"prod", 5, true, 2}} {
		t.Run(tc.stack, func(t *testing.T) {
			r, secret, err := stackconfig.ReadStackFile("..", tc.stack)
			if err != nil {
				t.Fatal(err)
			}
			c, err := stackconfig.Load(tc.stack, r, true, secret)
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Sources) != tc.sources || (c.Domain != nil) != tc.domain || len(c.AlarmEmails) != tc.emails {
				t.Errorf("got %d sources, domain %v, %d e-mails", len(c.Sources), c.Domain != nil, len(c.AlarmEmails))
			}
			if tc.stack == "prod" {
				auth := map[string]bool{}
				for _, s := range c.Sources {
					auth[s.Auth.Type] = true
				}
				if len(auth) != len(stackconfig.AuthKinds) {
					t.Errorf("prod must have one source per auth kind, got %v", auth)
				}
			}
			if tc.stack == "dev" && c.Throttle.RateLimit >= stackconfig.DefaultRateLimit {
				t.Errorf("dev throttle should be far below the account default, got %v", c.Throttle.RateLimit)
			}
		})
	}
}

func TestReadStackFileErrors(t *testing.T) {
	if _, _, err := stackconfig.ReadStackFile("..", "nope"); err == nil || !strings.Contains(err.Error(), "Pulumi.nope.yaml") {
		t.Errorf("missing stack file: got %v", err)
	}
}

// TestRegisteredProcessorIsAccepted: a processor kind the handler ships
// (declared in contract.Processors next to its registration in the handler)
// is a valid processor.type, with no forward settings.
func TestRegisteredProcessorIsAccepted(t *testing.T) {
	saved := contract.Processors
	t.Cleanup(func() { contract.Processors = saved })
	contract.Processors = append(slices.Clone(saved), "billing")

	m := base()
	source(m, func(s map[string]any) { s["processor"] = map[string]any{"type": "billing"} })
	c, err := stackconfig.Load("dev", raw(t, m), true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.HandlerConfig(c.Sources[0]).Processor; got != "billing" {
		t.Errorf("the function is configured with processor %q, want billing", got)
	}
}

// TestHTTPIngress: ingress http refuses what an HTTP API cannot honour,
// naming the key and the stack file; rest stays the default.
func TestHTTPIngress(t *testing.T) {
	c, err := stackconfig.Load("dev", raw(t, base()), false, nil)
	if err != nil || c.Ingress != contract.IngressREST || c.HTTP() {
		t.Fatalf("default ingress: %v %v", c, err)
	}
	for _, tc := range []struct {
		name   string
		mutate func(map[string]any)
		key    string
		want   string
	}{
		{"unknown ingress", func(m map[string]any) { m["hookline:ingress"] = "grpc" }, "hookline:ingress", "want rest"},
		{"apiKey by default", func(m map[string]any) { m["hookline:ingress"] = "http" }, "hookline:sources[0].auth.type", "apiKey (also the default"},
		{"usage plan", func(m map[string]any) {
			m["hookline:ingress"] = "http"
			source(m, func(s map[string]any) {
				s["auth"] = map[string]any{"type": "token", "tokenParameter": "/hookline/dev/payments/token", "usagePlan": map[string]any{"rateLimit": 5}}
			})
		}, "hookline:sources[0].auth.usagePlan", "no usage plans"},
		{"body groupBy", func(m map[string]any) {
			m["hookline:ingress"] = "http"
			source(m, func(s map[string]any) {
				s["auth"] = map[string]any{"type": "signature"}
				s["groupBy"] = "body:$.data.customer"
			})
		}, "hookline:sources[0].groupBy", "no fallback"},
		{"cognito without audiences", func(m map[string]any) {
			m["hookline:ingress"] = "http"
			source(m, func(s map[string]any) {
				s["auth"] = map[string]any{"type": "cognito", "userPoolArn": "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbC"}
			})
		}, "hookline:sources[0].auth.audiences", "app client ids"},
		// Issue 27 item 7: an HTTP API's JWT authorizer cannot tell an ID
		// token from an access token without scopes.
		{"cognito without scopes", func(m map[string]any) {
			m["hookline:ingress"] = "http"
			source(m, func(s map[string]any) {
				s["auth"] = map[string]any{"type": "cognito", "userPoolArn": "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbC", "audiences": []string{"4h3k2j1l0abc"}}
			})
		}, "hookline:sources[0].auth.scopes", "also accepts the user pool's ID tokens"},
		{"account settings", func(m map[string]any) {
			m["hookline:ingress"] = "http"
			m["hookline:manageApiGatewayAccount"] = "true"
			source(m, func(s map[string]any) { s["auth"] = map[string]any{"type": "signature"} })
		}, "hookline:manageApiGatewayAccount", "without the region's API Gateway CloudWatch role"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := base()
			tc.mutate(m)
			_, err := stackconfig.Load("dev", raw(t, m), false, nil)
			var ce *stackconfig.Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %v", err)
			}
			if !strings.Contains(err.Error(), "Pulumi.dev.yaml") {
				t.Errorf("error does not name the stack file: %v", err)
			}
			found := false
			for _, p := range ce.Problems {
				if p.Key == tc.key && strings.Contains(p.Message, tc.want) {
					found = true
				}
			}
			if !found {
				t.Errorf("no problem at %s containing %q: %v", tc.key, tc.want, err)
			}
		})
	}

	// What an HTTP API can honour loads, and its consumers check content types.
	m := base()
	m["hookline:ingress"] = "http"
	source(m, func(s map[string]any) {
		s["auth"] = map[string]any{"type": "cognito", "userPoolArn": "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbC", "audiences": []string{"4h3k2j1l0abc"}, "scopes": []string{"webhooks/write"}}
		s["groupBy"] = "header:X-Account"
		s["eventId"] = "body:$.id"
		s["throttle"] = map[string]any{"rateLimit": 5, "burstLimit": 2}
	})
	c, err = stackconfig.Load("dev", raw(t, m), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if hc := c.HandlerConfig(c.Sources[0]); !slices.Equal(hc.ContentTypes, []string{"application/json"}) {
		t.Errorf("an http consumer checks content types %v", hc.ContentTypes)
	}
}

// TestTracing: hookline:tracing is active unless set to off; dev sets it
// off (no traces to pay for), prod keeps the default; the key is a known
// one (an unknown-key typo is suggested it).
func TestTracing(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		on          bool
	}{{"unset", "", true}, {"active", "active", true}, {"off", "off", false}} {
		t.Run(tc.name, func(t *testing.T) {
			m := base()
			if tc.value != "" {
				m["hookline:tracing"] = tc.value
			}
			c, err := stackconfig.Load("dev", raw(t, m), true, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.value
			if want == "" {
				want = stackconfig.DefaultTracing
			}
			if c.TracingOn() != tc.on || c.Tracing != want {
				t.Errorf("tracing %q, on %v; want %q, %v", c.Tracing, c.TracingOn(), want, tc.on)
			}
		})
	}
	if stackconfig.DefaultTracing != stackconfig.TracingActive {
		t.Errorf("default tracing %q, want active (issue 27)", stackconfig.DefaultTracing)
	}
	for stack, on := range map[string]bool{"dev": false, "prod": true} {
		r, secret, err := stackconfig.ReadStackFile("..", stack)
		if err != nil {
			t.Fatal(err)
		}
		c, err := stackconfig.Load(stack, r, true, secret)
		if err != nil {
			t.Fatal(err)
		}
		if c.TracingOn() != on {
			t.Errorf("%s: tracing on %v, want %v", stack, c.TracingOn(), on)
		}
	}
	if !slices.Contains(stackconfig.Keys(), "hookline:tracing") {
		t.Error("hookline:tracing is not a known key")
	}
	m := base()
	m["hookline:tracng"] = "off"
	if _, err := stackconfig.Load("dev", raw(t, m), true, nil); err == nil || !strings.Contains(err.Error(), "did you mean hookline:tracing?") {
		t.Errorf("a misspelt tracing key: %v", err)
	}
}

// TestArchiveDefaults: the archive is on unless turned off, keeps 30 days
// unless told otherwise (1 to 3650 accepted), and prod keeps 90.
func TestArchiveDefaults(t *testing.T) {
	for _, tc := range []struct {
		name    string
		archive any
		on      bool
		days    int
	}{
		{"unset", nil, true, stackconfig.DefaultArchiveRetentionDays},
		{"off", map[string]any{"enabled": false}, false, stackconfig.DefaultArchiveRetentionDays},
		{"one day", map[string]any{"retentionDays": 1}, true, 1},
		{"ten years", map[string]any{"enabled": true, "retentionDays": 3650}, true, 3650},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := base()
			if tc.archive != nil {
				m["hookline:archive"] = tc.archive
			}
			c, err := stackconfig.Load("dev", raw(t, m), true, nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.Archive.On() != tc.on || c.Archive.RetentionDays != tc.days {
				t.Errorf("archive on %v, %d days; want %v, %d", c.Archive.On(), c.Archive.RetentionDays, tc.on, tc.days)
			}
		})
	}
	raw, secret, err := stackconfig.ReadStackFile("..", "prod")
	if err != nil {
		t.Fatal(err)
	}
	c, err := stackconfig.Load("prod", raw, true, secret)
	if err != nil || !c.Archive.On() || c.Archive.RetentionDays != 90 {
		t.Errorf("prod archive: %+v %v", c.Archive, err)
	}
}
