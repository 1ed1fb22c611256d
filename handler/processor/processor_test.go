package processor_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/handler/processor"
	"github.com/hookline/hookline/handler/signature"
)

const forwardSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

type staticSecrets map[string][]string

func (s staticSecrets) Get(_ context.Context, name string) ([]string, error) {
	if v, ok := s[name]; ok {
		return v, nil
	}
	return nil, errors.New("no such parameter")
}

type header http.Header

func (h header) Header(name string) string { return http.Header(h).Get(name) }

func TestForward(t *testing.T) {
	var status = 200
	var delay time.Duration
	var verifyErr error
	var gotBody string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		v, _ := signature.New(contract.SchemeStandardWebhooks, signature.Options{})
		verifyErr = v.Verify(header(r.Header), b, []string{forwardSecret}, time.Now())
		time.Sleep(delay)
		w.WriteHeader(status)
	}))
	defer srv.Close()
	client := srv.Client()
	client.Transport.(*http.Transport).TLSClientConfig.MinVersion = tls.VersionTLS12

	p, err := processor.New(contract.HandlerConfig{
		Processor: "forward", ForwardURL: srv.URL + "/hook", ForwardSecret: "/fwd", ForwardTimeout: time.Second,
	}, processor.Deps{Secrets: staticSecrets{"/fwd": {forwardSecret}}, HTTP: client})
	if err != nil {
		t.Fatal(err)
	}
	msg := contract.Message{Source: "payments", EventID: "evt_1", GroupID: "g", ContentType: "application/json", Body: []byte(`{"a":1}`)}

	cases := []struct {
		name      string
		status    int
		delay     time.Duration
		want      string // "", "permanent", "retry"
		permanent string
	}{
		{"2xx is done", 204, 0, "", ""},
		{"404 is permanent", 404, 0, "permanent", "forward-404"},
		{"429 is retried", 429, 0, "retry", ""},
		{"500 is retried", 500, 0, "retry", ""},
		{"timeout is retried", 200, 1500 * time.Millisecond, "retry", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, delay = tc.status, tc.delay
			err := p.Process(context.Background(), msg)
			var perm *processor.PermanentError
			switch tc.want {
			case "":
				if err != nil {
					t.Fatal(err)
				}
			case "permanent":
				if !errors.As(err, &perm) || perm.Reason != tc.permanent {
					t.Fatalf("want permanent %s, got %v", tc.permanent, err)
				}
			case "retry":
				if err == nil || errors.As(err, &perm) {
					t.Fatalf("want a retryable error, got %v", err)
				}
			}
			if tc.delay == 0 {
				if verifyErr != nil {
					t.Errorf("the receiver could not verify the re-signed payload: %v", verifyErr)
				}
				if gotBody != `{"a":1}` {
					t.Errorf("body %q", gotBody)
				}
			}
		})
	}
}

func TestForwardConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  contract.HandlerConfig
		want string
	}{
		{"http url", contract.HandlerConfig{Processor: "forward", ForwardURL: "http://x", ForwardSecret: "/s"}, "https"},
		{"no secret", contract.HandlerConfig{Processor: "forward", ForwardURL: "https://x"}, "secret"},
		{"unknown processor", contract.HandlerConfig{Processor: "kafka"}, "unknown processor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := processor.New(tc.cfg, processor.Deps{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestRegisterCustomProcessor(t *testing.T) {
	processor.Register("test-custom", func(contract.HandlerConfig, processor.Deps) (processor.Processor, error) {
		return processor.Log{}, nil
	})
	if _, err := processor.New(contract.HandlerConfig{Processor: "test-custom"}, processor.Deps{}); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Error("registering a name twice must panic")
		}
	}()
	processor.Register("test-custom", nil)
}

// TestForwardRetryAfter: a retried answer's Retry-After (delay-seconds or
// an HTTP-date, RFC 9110) reaches the consumer as the time to wait; a
// status in retryOn retries, another 4xx does not.
func TestForwardRetryAfter(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	var status int
	var retryAfter string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()
	p, err := processor.New(contract.HandlerConfig{Processor: contract.ProcessorForward, ForwardURL: srv.URL, ForwardSecret: "/s", ForwardRetryOn: []int{409}},
		processor.Deps{Secrets: staticSecrets{"/s": {forwardSecret}}, HTTP: srv.Client(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		status     int
		retryAfter string
		want       time.Duration // -1: no Retry-After; -2: permanent
	}{
		{429, "120", 2 * time.Minute},
		{503, now.Add(10 * time.Minute).UTC().Format(http.TimeFormat), 10 * time.Minute},
		{503, now.Add(-time.Minute).UTC().Format(http.TimeFormat), 0},
		{503, "soon", -1},
		{500, "", -1},
		{409, "30", 30 * time.Second},
		{404, "30", -2},
	} {
		status, retryAfter = tc.status, tc.retryAfter
		err := p.Process(context.Background(), contract.Message{Body: []byte(`{}`), EventID: "e"})
		var ra *processor.RetryError
		var perm *processor.PermanentError
		switch {
		case tc.want == -2:
			if !errors.As(err, &perm) {
				t.Errorf("%d: %v, want permanent", tc.status, err)
			}
		case tc.want == -1:
			if err == nil || errors.As(err, &ra) || errors.As(err, &perm) {
				t.Errorf("%d %q: %v, want a plain retry", tc.status, tc.retryAfter, err)
			}
		default:
			if !errors.As(err, &ra) || ra.After != tc.want {
				t.Errorf("%d %q: %v, want retry after %s", tc.status, tc.retryAfter, err, tc.want)
			}
		}
	}
}
